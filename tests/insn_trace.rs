//! `--trace insns` against Spike: the instruction trace of
//! tests/guest/spike_trace.S must match, line for line, what Spike's
//! `--log-commits` prints for the same ELF. Spike's output is kept as a
//! golden file (tests/golden/spike_trace.log), so this runs without Spike;
//! docs/debugging.md says how it was made and how the traces are aligned:
//! Spike's boot ROM lines (pc below RAM) are dropped, and both traces end at
//! the store to `tohost` (after it, each machine spins until its host
//! notices, for a number of instructions that depends on the host).

use std::path::PathBuf;
use std::process::Command;

use crate::common::rvmsmp_bin;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The lines up to and including the first store to `tohost`.
fn until_tohost(trace: &str, tohost: u64) -> Vec<String> {
    let store = format!(" mem 0x{tohost:016x} ");
    let mut out = Vec::new();
    for line in trace.lines() {
        out.push(line.to_string());
        if line.contains(&store) {
            break;
        }
    }
    out
}

fn tohost_of(elf: &std::path::Path) -> u64 {
    let bytes = std::fs::read(elf).unwrap();
    let image = rvmsmp::loader::ElfImage::parse(elf, &bytes).unwrap();
    image.symbol("tohost").expect("the program defines tohost")
}

fn rvmsmp_trace(elf: &std::path::Path, extra: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("rvmsmp-insn-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("trace-{}.log", extra.len()));
    let out = Command::new(rvmsmp_bin())
        .arg("bare")
        .arg("--trace")
        .arg("insns")
        .arg(&path)
        .args(extra)
        .arg(elf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rvmsmp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    text
}

#[test]
fn the_instruction_trace_matches_spikes_log_commits() {
    let elf = root().join("tests/guest/bin/spike_trace.elf");
    let tohost = tohost_of(&elf);
    let golden = std::fs::read_to_string(root().join("tests/golden/spike_trace.log")).unwrap();
    let golden: Vec<&str> = golden.lines().collect();
    let ours = until_tohost(&rvmsmp_trace(&elf, &[]), tohost);
    assert!(golden.len() > 100, "the golden file is cut short");
    for (i, (a, b)) in golden.iter().zip(&ours).enumerate() {
        assert_eq!(*a, b, "line {} differs (Spike first, rvmsmp second)", i + 1);
    }
    assert_eq!(golden.len(), ours.len(), "the traces have different lengths");
}

/// With Spike installed (SPIKE=path or `spike` on PATH), the golden file is
/// checked against a fresh run of Spike too.
#[test]
fn the_golden_file_is_what_spike_prints() {
    let spike = std::env::var("SPIKE").unwrap_or_else(|_| "spike".into());
    let Ok(out) = Command::new(&spike)
        .args(["--isa=rv64gc", "--log-commits"])
        .arg(root().join("tests/guest/bin/spike_trace.elf"))
        .output()
    else {
        eprintln!("skipping: Spike is not installed (set SPIKE=/path/to/spike)");
        return;
    };
    let elf = root().join("tests/guest/bin/spike_trace.elf");
    let log = String::from_utf8_lossy(&out.stderr);
    // Spike's boot ROM runs first, below RAM.
    let program: String = log
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(3)
                .and_then(|pc| u64::from_str_radix(pc.trim_start_matches("0x"), 16).ok())
                .is_some_and(|pc| pc >= 0x8000_0000)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let fresh = until_tohost(&program, tohost_of(&elf));
    let golden = std::fs::read_to_string(root().join("tests/golden/spike_trace.log")).unwrap();
    assert_eq!(fresh, golden.lines().map(String::from).collect::<Vec<_>>());
}

#[test]
fn the_trace_can_be_limited_to_harts_and_cycles() {
    let elf = root().join("tests/guest/bin/spike_trace.elf");
    let all = rvmsmp_trace(&elf, &[]);
    let none = rvmsmp_trace(&elf, &["--trace-harts", "1-3"]);
    assert!(none.is_empty(), "hart 0 was traced: {none:.200}");
    // One cycle per instruction at the start: cycles 10..20 are 10 lines.
    let window = rvmsmp_trace(&elf, &["--trace-cycles", "10..20", "--harts", "1"]);
    let lines: Vec<&str> = window.lines().collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0], all.lines().nth(10).unwrap());
}
