//! Whole guest programs on many harts: the bare-metal ELF files in
//! tests/guest/bin (sources beside them, rebuilt with `cargo xtask guest`),
//! booted as `rvmsmp bare` boots them, through the library so that the
//! tests need neither the cross toolchain nor the CLI binary.

use std::path::PathBuf;
use std::time::Instant;

use crate::common::Captured;
use rvmsmp::devices::uart::NoInput;
use rvmsmp::fdt::FdtOptions;
use rvmsmp::loader::ElfImage;
use rvmsmp::machine::exit_status;
use rvmsmp::{ExitReason, Machine, MachineConfig};

/// Increments per hart in smp_counter (K in the chain + KC concurrently).
const SMP_COUNTER_PER_HART: u64 = 100 + 1000;

/// A bound on every run, so a broken program fails instead of hanging.
const CYCLE_LIMIT: u64 = 50_000_000;

fn guest(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guest/bin")
        .join(format!("{name}.elf"))
}

/// What a run leaves behind.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    reason: ExitReason,
    console: String,
    /// Simulated time at the end.
    now: u64,
    /// Per hart: (instret, cycle, wfi cycles).
    counters: Vec<(u64, u64, u64)>,
    stats: String,
}

fn run_guest(name: &str, harts: usize, quantum: u64, max_cycles: Option<u64>) -> Run {
    let path = guest(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (build it with `cargo xtask guest`)",
            path.display()
        )
    });
    let image = ElfImage::parse(&path, &bytes).expect("a valid guest ELF");
    let out = Captured::default();
    let config = MachineConfig {
        harts,
        ram_size: 16 << 20,
        quantum,
        max_cycles,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).expect("valid machine");
    m.boot_bare(&path, &image, &FdtOptions::default())
        .expect("the guest boots");
    let reason = m.run();
    Run {
        reason,
        console: out.text(),
        now: m.now,
        counters: m
            .harts
            .iter()
            .map(|h| (h.instret, h.cycle, h.stats.wfi_cycles))
            .collect(),
        stats: m.stats_report(),
    }
}

/// Checks smp_counter's report for `harts` harts and returns the number of
/// failed SCs it reports.
fn check_smp_counter(run: &Run, harts: usize) -> u64 {
    assert_eq!(
        run.reason,
        ExitReason::Finisher(0),
        "smp_counter on {harts} harts did not pass; console:\n{}",
        run.console
    );
    let expected = harts as u64 * SMP_COUNTER_PER_HART;
    let prefix = format!("smp_counter: harts={harts} amo={expected} lrsc={expected} sc-retries=");
    let retries = run
        .console
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(" ok\n"))
        .unwrap_or_else(|| panic!("unexpected output: {:?}", run.console));
    retries.parse().expect("a decimal retry count")
}

fn smp_counter(harts: usize) -> Run {
    run_guest("smp_counter", harts, 1000, Some(CYCLE_LIMIT))
}

#[test]
fn smp_counter_on_1_hart_ipis_itself() {
    check_smp_counter(&smp_counter(1), 1);
}

#[test]
fn smp_counter_on_4_harts_counts_exactly() {
    check_smp_counter(&smp_counter(4), 4);
}

#[test]
fn smp_counter_on_64_harts_counts_exactly() {
    let start = Instant::now();
    let run = smp_counter(64);
    // Should be far below a second in release mode; reported, not asserted.
    eprintln!(
        "smp_counter on 64 harts: {} simulated cycles in {:?}",
        run.now,
        start.elapsed()
    );
    check_smp_counter(&run, 64);
}

#[test]
fn smp_counter_runs_twice_identically() {
    for harts in [4, 64] {
        let first = smp_counter(harts);
        let second = smp_counter(harts);
        check_smp_counter(&first, harts);
        assert_eq!(
            first.counters, second.counters,
            "{harts} harts: per-hart counters differ"
        );
        assert_eq!(first.stats, second.stats, "{harts} harts: --stats reports differ");
        assert_eq!(first, second, "{harts} harts: runs differ");
    }
}

#[test]
fn smp_counter_under_fine_interleaving_retries_sc_and_stays_exact() {
    // A small quantum switches harts often, so another hart often runs
    // between an LR and its SC; those SCs must fail and be retried.
    let run = run_guest("smp_counter", 4, 50, Some(CYCLE_LIMIT));
    let retries = check_smp_counter(&run, 4);
    assert!(retries > 0, "no SC ever failed: {}", run.console);
}

#[test]
fn hello_uart_prints_from_hart_0() {
    let run = run_guest("hello_uart", 4, 1000, Some(CYCLE_LIMIT));
    assert_eq!(run.reason, ExitReason::Finisher(0));
    assert_eq!(run.console, "hello from hart 0\n");
}

#[test]
fn finisher_fail_status_becomes_the_exit_status() {
    let run = run_guest("finisher_fail", 2, 1000, Some(CYCLE_LIMIT));
    assert_eq!(run.reason, ExitReason::Finisher(3));
    assert_eq!(exit_status(run.reason), 3);
    assert_eq!(run.console, "");
}

#[test]
fn spin_is_stopped_by_max_cycles() {
    let run = run_guest("spin", 2, 1000, Some(123_456));
    assert_eq!(run.reason, ExitReason::MaxCycles);
    assert_eq!(exit_status(run.reason), 124);
    assert_eq!(run.now, 123_456);
    for &(instret, cycle, wfi) in &run.counters {
        assert_eq!((cycle, wfi), (123_456, 0), "every hart spins until the limit");
        assert!(instret > 0);
    }
}
