//! Threads on the master-slave kernel, as properties over random
//! interleavings: the harts, the quantum (how far each hart runs before
//! the next takes its turn), the time slice and the program's own seed all
//! vary, and `programs/futex_check` checks from the inside that
//!
//! - every FUTEX_WAIT released returns 0 because of exactly one FUTEX_WAKE
//!   (the wakes' counts add up to the released waits), and no wake-up is
//!   lost (a lost one leaves a consumer blocked for ever: a deadlock);
//! - a thread's exit clears its tid word and wakes the one joiner waiting
//!   on it (else the joiner never returns);
//! - once munmap has returned, no thread on another hart reads the page
//!   through a stale TLB entry (the master shoots the TLBs down by IPI
//!   before it answers);
//! - a signal handler that clobbers every register returns to the
//!   interrupted instruction with all of them (integer and floating-point)
//!   as they were.
//!
//! Glibc's threads (pthread_create, mutexes, condition variables, join)
//! are compared with qemu-riscv64 in `compat`.

use proptest::prelude::*;

use crate::common::{proptest_config, Captured};
use crate::kernel::program_path;
use rvmsmp::devices::uart::NoInput;
use rvmsmp::kernel::{self, Workload};
use rvmsmp::{ExitReason, Machine, MachineConfig};

/// How the machine interleaves the threads.
#[derive(Clone, Debug)]
struct Interleaving {
    harts: usize,
    quantum: u64,
    slice_ticks: Option<u64>,
    master_runs_user: bool,
}

fn interleaving() -> impl Strategy<Value = Interleaving> {
    (
        2usize..=6,
        prop_oneof![Just(1u64), 1u64..64, 64u64..4000],
        prop_oneof![Just(None), (200u64..5000).prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(|(harts, quantum, slice_ticks, master_runs_user)| Interleaving {
            harts,
            quantum,
            slice_ticks,
            master_runs_user,
        })
}

/// Runs futex_check with `args` as one process; its output and how it ended.
fn futex_check(i: &Interleaving, args: &[String]) -> (String, ExitReason) {
    let out = Captured::default();
    let config = MachineConfig {
        harts: i.harts,
        quantum: i.quantum,
        max_cycles: Some(400_000_000),
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).unwrap();
    let workload = Workload {
        argv0: None,
        name: "futex_check".into(),
        program: std::fs::read(program_path("futex_check")).unwrap(),
        args: args.iter().map(|a| a.clone().into_bytes()).collect(),
        env: Vec::new(),
        procs: 1,
        seed: 0,
        master_runs_user: i.master_runs_user,
        slice_ticks: i.slice_ticks,
    };
    kernel::boot(&mut machine, &workload).unwrap();
    let reason = machine.run();
    (out.text(), reason)
}

fn check(i: &Interleaving, args: &[String]) -> Result<(), TestCaseError> {
    let (output, reason) = futex_check(i, args);
    prop_assert_eq!(
        reason,
        ExitReason::Finisher(0),
        "futex_check {:?} on {:?}:\n{}",
        args,
        i,
        output
    );
    prop_assert!(
        output.contains(": ok"),
        "futex_check {:?} on {:?}:\n{}",
        args,
        i,
        output
    );
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config(256))]

    #[test]
    fn every_futex_wake_releases_exactly_one_waiter_and_none_is_lost(
        i in interleaving(),
        pairs in 1usize..=4,
        tokens in 1u64..40,
        seed in any::<u32>(),
    ) {
        let args = ["sem".to_string(), (2 * pairs).to_string(), tokens.to_string(), seed.to_string()];
        check(&i, &args)?;
    }

    #[test]
    fn a_threads_exit_clears_and_wakes_its_tid_word(
        i in interleaving(),
        threads in 1usize..=12,
        seed in any::<u32>(),
    ) {
        let args = ["join".to_string(), threads.to_string(), seed.to_string()];
        check(&i, &args)?;
    }

    // At least two slaves (or a master that runs threads too), so that the
    // sender runs while the spinner spins.
    #[test]
    fn a_signal_handler_returns_to_the_interrupted_instruction_with_every_register(
        i in interleaving().prop_filter("two harts for threads", |i| i.harts >= 3 || i.master_runs_user),
        signals in 1u64..12,
        seed in any::<u32>(),
    ) {
        let args = ["signal".to_string(), signals.to_string(), seed.to_string()];
        check(&i, &args)?;
    }
}

proptest! {
    #![proptest_config(proptest_config(256))]

    #[test]
    fn no_read_succeeds_after_munmap_returns(
        i in interleaving().prop_filter("two harts for threads", |i| i.harts >= 3 || i.master_runs_user),
    ) {
        check(&i, &["shootdown".to_string()])?;
    }

    #[test]
    fn sigsuspend_takes_a_pending_signal_under_its_mask_and_restores_the_old(i in interleaving()) {
        check(&i, &["sigsuspend".to_string()])?;
    }
}

/// The same run twice gives the same output and the same cycle count.
#[test]
fn threaded_runs_repeat_exactly() {
    let i = Interleaving {
        harts: 4,
        quantum: 37,
        slice_ticks: Some(700),
        master_runs_user: true,
    };
    let args: Vec<String> = ["sem", "6", "30", "7"].iter().map(|s| s.to_string()).collect();
    let run = || {
        let out = Captured::default();
        let config = MachineConfig {
            harts: i.harts,
            quantum: i.quantum,
            ..MachineConfig::default()
        };
        let mut machine = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).unwrap();
        let workload = Workload {
            argv0: None,
            name: "futex_check".into(),
            program: std::fs::read(program_path("futex_check")).unwrap(),
            args: args.iter().map(|a| a.clone().into_bytes()).collect(),
            env: Vec::new(),
            procs: 1,
            seed: 0,
            master_runs_user: true,
            slice_ticks: i.slice_ticks,
        };
        kernel::boot(&mut machine, &workload).unwrap();
        let reason = machine.run();
        (out.text(), reason, rvmsmp::report::Report::of(&machine))
    };
    assert_eq!(run(), run());
}

/// Threads that all wait for ever are reported by the kernel, each with
/// what it waits on, and the run ends with status 125.
#[test]
fn a_deadlock_names_every_blocked_thread() {
    let i = Interleaving {
        harts: 3,
        quantum: 1000,
        slice_ticks: None,
        master_runs_user: false,
    };
    let (output, reason) = futex_check(&i, &["deadlock".to_string()]);
    assert_eq!(reason, ExitReason::Finisher(125), "{output}");
    assert!(output.contains("deadlock: every thread is blocked"), "{output}");
    let waiters: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("waits on a futex at 0x"))
        .collect();
    assert_eq!(waiters.len(), 2, "{output}");
    assert!(waiters.iter().all(|l| l.contains("(pid 1, futex_check)")), "{output}");
}
