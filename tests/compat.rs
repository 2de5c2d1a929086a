//! Unmodified static glibc programs (programs/compat/, built here with
//! Debian's riscv64-linux-gnu-gcc, since their images contain glibc and are
//! not committed) give the same output and exit status under `rvmsmp run`
//! as under qemu-riscv64, and floating-point state survives preemption and
//! migration. CI installs the compiler; elsewhere these tests skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::have;
use crate::kernel::Spec;
use rvmsmp::devices::annotate::EventKind;
use rvmsmp::ExitReason;

const PROGRAMS: [&str; 12] = [
    "printf",
    "malloc",
    "strings",
    "math",
    "setjmp",
    "fpheavy",
    "threads",
    "procs",
    "files",
    "namespace",
    "poll",
    "fileattrs",
];

/// Programs for kernel features still being written (siginfo, demand-paged
/// and shared memory): built and checked to pass under qemu-riscv64, but
/// not yet compared under rvmsmp. An entry moves to `PROGRAMS` when the
/// kernel runs it.
const PENDING: [&str; 2] = ["signals", "memory"];

/// Builds every compat program once per test run; None if the compiler is missing.
fn built() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !have("riscv64-linux-gnu-gcc") {
            return None;
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/compat");
        let out = std::env::temp_dir().join(format!("rvmsmp-compat-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        for name in PROGRAMS.iter().chain(PENDING.iter()) {
            let status = Command::new("riscv64-linux-gnu-gcc")
                .args(["-static", "-O2", "-o"])
                .arg(out.join(name))
                .arg(src.join(format!("{name}.c")))
                .arg("-lm")
                .status()
                .unwrap();
            assert!(status.success(), "riscv64-linux-gnu-gcc failed on {name}.c");
        }
        Some(out)
    })
    .as_deref()
}

fn run_program(path: &Path, harts: usize, procs: usize, args: &[&str], slice: Option<u64>) -> crate::kernel::Run {
    let mut spec = Spec::new(harts, "unused");
    spec.procs = procs;
    spec.args = args;
    spec.slice_ticks = slice;
    crate::kernel::run_bytes(
        &spec,
        path.file_name().unwrap().to_str().unwrap(),
        std::fs::read(path).unwrap(),
    )
}

#[test]
fn glibc_programs_behave_as_under_qemu_user() {
    let Some(dir) = built() else { return };
    if !have("qemu-riscv64") {
        return;
    }
    for name in PROGRAMS {
        let path = dir.join(name);
        let qemu = Command::new("qemu-riscv64").arg(&path).output().unwrap();
        // On one slave, and on four (a threaded program's threads then run
        // on several harts at once).
        for harts in [2, 5] {
            let r = run_program(&path, harts, 1, &[], None);
            let status = match r.reason {
                ExitReason::Finisher(c) => c as i32,
                other => panic!("{name} on {harts} harts: stopped by {other:?}; output:\n{}", r.output),
            };
            assert_eq!(
                r.output,
                String::from_utf8_lossy(&qemu.stdout),
                "{name} on {harts} harts: stdout differs from qemu-riscv64's"
            );
            assert_eq!(Some(status), qemu.status.code(), "{name}: exit status differs");
        }
    }
}

#[test]
fn pending_programs_pass_under_qemu_user() {
    let Some(dir) = built() else { return };
    if !have("qemu-riscv64") {
        return;
    }
    for name in PENDING {
        // As the yardstick runs them: no host environment.
        let qemu = Command::new("qemu-riscv64")
            .env_clear()
            .arg(dir.join(name))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&qemu.stdout);
        assert_eq!(
            qemu.status.code(),
            Some(0),
            "{name} fails under qemu-riscv64:\n{stdout}"
        );
        assert!(
            stdout.ends_with("all checks passed\n") && !stdout.contains("FAIL"),
            "{name}: unexpected output under qemu-riscv64:\n{stdout}"
        );
        eprintln!("note: {name} passes under qemu-riscv64; its rvmsmp comparison is pending (tests/compat.rs PENDING)");
    }
}

#[test]
fn floating_point_state_survives_preemption_and_migration() {
    let Some(dir) = built() else { return };
    let path = dir.join("fpheavy");
    let alone = run_program(&path, 2, 1, &["100000"], None);
    assert_eq!(alone.reason, ExitReason::Finisher(0), "{}", alone.output);
    let expected = alone.output.clone();
    // 8 copies on 8 harts (7 slaves), preempted every 20 us of simulated time.
    let r = run_program(&path, 8, 8, &["100000"], Some(200));
    assert_eq!(r.reason, ExitReason::Finisher(0), "{}", r.output);
    let lines: Vec<&str> = r.output.lines().collect();
    assert_eq!(lines.len(), 8, "{}", r.output);
    assert!(
        lines.iter().all(|l| format!("{l}\n") == expected),
        "results differ:\n{}\nexpected {expected}",
        r.output
    );
    let events = &r.machine.bus.annotate.events;
    let preemptions = r.machine.bus.annotate.requests.iter().filter(|q| q.kind == 2).count();
    assert!(preemptions > 50, "only {preemptions} preemptions");
    // Some process ran on more than one hart.
    let mut harts_of = std::collections::HashMap::<u64, std::collections::BTreeSet<u64>>::new();
    for e in events.iter().filter(|e| e.kind == EventKind::ProcessAssigned) {
        harts_of.entry(e.args[1]).or_default().insert(e.args[0]);
    }
    assert!(
        harts_of.values().any(|h| h.len() > 1),
        "no process migrated: {harts_of:?}"
    );
}
