//! Comparisons with QEMU: every program whose output names no pid or hart
//! prints the same and exits the same under qemu-riscv64 (Linux user mode)
//! as under `rvmsmp run`, and the kernel boots and runs on
//! qemu-system-riscv64's virt machine. CI installs both QEMUs; elsewhere a
//! missing QEMU skips these tests with a message.

use std::process::Command;
use std::time::Duration;

use crate::common::{have, run_with_timeout};
use crate::kernel::{program_path, run, Spec};
use rvmsmp::ExitReason;

#[test]
fn programs_behave_as_under_qemu_user() {
    if !have("qemu-riscv64") {
        return;
    }
    let cases: &[(&str, &[&str])] = &[
        ("compute", &["50000"]),
        ("syscall_mix", &["-k", "20", "-r", "20"]),
        ("syscall_mix", &["-x"]), // usage error: status 2
        ("alloc", &[]),
        ("syscall_errors", &[]),
        ("exit_code", &["0"]),
        ("exit_code", &["7"]),
        ("exit_code", &["300"]),
        ("sleep", &["2"]),
    ];
    for (program, args) in cases {
        let (qemu_out, qemu_code) = run_with_timeout(
            Command::new("qemu-riscv64").arg(program_path(program)).args(*args),
            Duration::from_secs(60),
        );
        let mut spec = Spec::new(2, program);
        spec.args = args;
        let r = run(&spec);
        let code = match r.reason {
            ExitReason::Finisher(c) => c as i32,
            other => panic!("{program} {args:?}: stopped by {other:?}"),
        };
        assert_eq!(
            r.output, qemu_out,
            "{program} {args:?}: stdout differs from qemu-riscv64's"
        );
        assert_eq!(
            Some(code),
            qemu_code,
            "{program} {args:?}: exit status differs from qemu-riscv64's"
        );
    }
}

#[test]
fn the_kernel_boots_and_runs_hello_on_qemu_system_virt() {
    if !have("qemu-system-riscv64") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rvmsmp-qemu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let initrd = dir.join("hello.cpio");
    let program = std::fs::read(program_path("hello")).unwrap();
    std::fs::write(&initrd, rvmsmp::kernel::initramfs("hello.elf", &program)).unwrap();
    let kernel = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("guest-os/build/kernel.elf");
    let mut cmd = Command::new("qemu-system-riscv64");
    cmd.args([
        "-machine",
        "virt",
        "-bios",
        "none",
        "-smp",
        "4",
        "-m",
        "128M",
        "-nographic",
        "-monitor",
        "none",
    ])
    .arg("-kernel")
    .arg(&kernel)
    .arg("-initrd")
    .arg(&initrd)
    .args(["-append", "procs=3 -- hello.elf"]);
    let (out, code) = run_with_timeout(&mut cmd, Duration::from_secs(120));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(0), "qemu-system-riscv64 exit status; output:\n{out}");
    let greetings: Vec<&str> = out.lines().filter(|l| l.starts_with("hello from pid ")).collect();
    assert_eq!(greetings.len(), 3, "{out}");
    for line in greetings {
        let hart: u32 = line.rsplit(' ').next().unwrap().trim().parse().unwrap();
        assert!((1..=3).contains(&hart), "a slave hart must run each process: {line}");
    }
}
