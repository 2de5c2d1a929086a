//! Multi-hart memory semantics: litmus tests and atomics under contention,
//! at several quanta.
//!
//! rvmsmp runs harts one after another in turns of `quantum` cycles, so
//! every execution is sequentially consistent: a store is visible to every
//! hart as soon as it is done. RVWMO allows more outcomes than SC; an
//! outcome outside SC's would therefore be a bug of the emulator even when
//! RVWMO allows it (and one outside RVWMO's a worse bug). Each litmus test
//! is checked against [`sc_outcomes`], an executable model that enumerates
//! every interleaving of the threads' memory operations. Start delays and
//! the quantum vary which interleaving a run takes; the named tests also
//! check that several allowed outcomes do show up.
//!
//! Atomics: LR/SC and AMO increments count exactly, and an amoswap lock
//! excludes, whatever the quantum.
//!
//! Proptest keeps failing cases in tests/litmus.proptest-regressions.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::select;

use crate::common::{place, power_off, Captured};
use rvmsmp::asm::{self, reg::*};
use rvmsmp::devices::uart::NoInput;
use rvmsmp::memmap::DRAM_BASE;
use rvmsmp::{ExitReason, Machine, MachineConfig};

/// Hart h's code starts at CODE + h * CODE_STRIDE.
const CODE: u64 = DRAM_BASE;
const CODE_STRIDE: u64 = 0x1000;
/// Shared variables, 8 bytes each (each on its own 64-byte line).
const VARS: u64 = DRAM_BASE + 0x4_0000;
const VAR_STRIDE: u64 = 64;
/// Per-hart results, 8 bytes each.
const RESULTS: u64 = DRAM_BASE + 0x5_0000;
const RESULT_STRIDE: u64 = 0x100;
/// Harts that have finished, counted with amoadd.
const DONE: u64 = DRAM_BASE + 0x6_0000;

const QUANTA: [u64; 4] = [1, 7, 100, 1000];

fn machine(harts: usize, quantum: u64, max_cycles: u64) -> Machine {
    let config = MachineConfig {
        harts,
        ram_size: 1 << 20,
        quantum,
        max_cycles: Some(max_cycles),
        ..MachineConfig::default()
    };
    Machine::new(config, Box::new(Captured::default()), Box::new(NoInput)).expect("valid machine")
}

/// `delay` iterations of a two-instruction loop (two cycles each) in t0.
fn delay_loop(delay: u64) -> Vec<u32> {
    if delay == 0 {
        return vec![];
    }
    let mut w = asm::li(T0, delay as i64);
    w.push(asm::addi(T0, T0, -1));
    w.push(asm::bne(T0, ZERO, -4));
    w
}

/// The end of every thread: count itself done; hart 0 then waits for all
/// and powers off, the others park in WFI.
fn epilogue(hart: usize, harts: usize) -> Vec<u32> {
    let mut w = asm::li(T1, DONE as i64);
    w.extend(asm::li(T2, 1));
    w.push(asm::amoadd_d(ZERO, T1, T2));
    if hart == 0 {
        w.extend(asm::li(T3, harts as i64));
        w.push(asm::ld(T2, T1, 0));
        w.push(asm::bne(T2, T3, -4));
        w.extend(power_off());
    } else {
        w.push(asm::wfi());
        w.push(asm::jal(ZERO, -4));
    }
    w
}

/// Places each hart's body (after its delay and before the epilogue) and runs.
fn run_threads(bodies: &[Vec<u32>], delays: &[u64], quantum: u64, max_cycles: u64) -> (Machine, ExitReason) {
    let harts = bodies.len();
    let mut m = machine(harts, quantum, max_cycles);
    for (h, body) in bodies.iter().enumerate() {
        let mut code = delay_loop(delays[h]);
        code.extend(asm::li(S0, VARS as i64));
        code.extend(asm::li(S1, (RESULTS + h as u64 * RESULT_STRIDE) as i64));
        code.extend_from_slice(body);
        code.extend(epilogue(h, harts));
        assert!((code.len() * 4) as u64 <= CODE_STRIDE);
        let at = CODE + h as u64 * CODE_STRIDE;
        place(&mut m, at, &code);
        m.harts[h].pc = at;
    }
    let reason = m.run();
    (m, reason)
}

// ---------------------------------------------------------------------------
// Litmus tests and the SC model.

/// One memory operation of a litmus thread. Loads and AMOs record the value
/// they read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Store(usize, u64),
    Load(usize),
    /// `fence rw,rw` (no effect on SC outcomes).
    Fence,
    Swap(usize, u64),
    Add(usize, u64),
}

/// What a run shows: each thread's read values, then the final memory.
type Outcome = (Vec<Vec<u64>>, Vec<u64>);

fn vars_of(threads: &[Vec<Op>]) -> usize {
    threads
        .iter()
        .flatten()
        .filter_map(|op| match *op {
            Op::Store(v, _) | Op::Load(v) | Op::Swap(v, _) | Op::Add(v, _) => Some(v + 1),
            Op::Fence => None,
        })
        .max()
        .unwrap_or(0)
}

/// Every outcome some interleaving of the threads gives (sequential
/// consistency: one memory, operations atomic and in program order).
fn sc_outcomes(threads: &[Vec<Op>]) -> BTreeSet<Outcome> {
    fn explore(
        threads: &[Vec<Op>],
        pos: &mut Vec<usize>,
        mem: &mut Vec<u64>,
        reads: &mut Vec<Vec<u64>>,
        out: &mut BTreeSet<Outcome>,
    ) {
        let mut any = false;
        for t in 0..threads.len() {
            let Some(&op) = threads[t].get(pos[t]) else { continue };
            any = true;
            let saved = mem.clone();
            let mut read = None;
            match op {
                Op::Store(v, x) => mem[v] = x,
                Op::Load(v) => read = Some(mem[v]),
                Op::Fence => {}
                Op::Swap(v, x) => read = Some(std::mem::replace(&mut mem[v], x)),
                Op::Add(v, x) => {
                    read = Some(mem[v]);
                    mem[v] = mem[v].wrapping_add(x);
                }
            }
            if let Some(r) = read {
                reads[t].push(r);
            }
            pos[t] += 1;
            explore(threads, pos, mem, reads, out);
            pos[t] -= 1;
            if read.is_some() {
                reads[t].pop();
            }
            *mem = saved;
        }
        if !any {
            out.insert((reads.clone(), mem.clone()));
        }
    }
    let mut out = BTreeSet::new();
    let mut mem = vec![0; vars_of(threads)];
    let mut reads = vec![Vec::new(); threads.len()];
    explore(threads, &mut vec![0; threads.len()], &mut mem, &mut reads, &mut out);
    out
}

/// The thread as code: s0 holds the variables' base, s1 the results'.
fn thread_code(ops: &[Op]) -> Vec<u32> {
    let mut w = Vec::new();
    let mut k = 0;
    for &op in ops {
        match op {
            Op::Store(v, x) => {
                w.extend(asm::li(T0, x as i64));
                w.push(asm::sd(T0, S0, (v as u64 * VAR_STRIDE) as i32));
            }
            Op::Load(v) => {
                w.push(asm::ld(T0, S0, (v as u64 * VAR_STRIDE) as i32));
                w.push(asm::sd(T0, S1, 8 * k));
                k += 1;
            }
            Op::Fence => w.push(asm::fence()),
            Op::Swap(v, x) | Op::Add(v, x) => {
                w.extend(asm::li(T0, x as i64));
                w.push(asm::addi(T1, S0, (v as u64 * VAR_STRIDE) as i32));
                w.push(if matches!(op, Op::Swap(..)) {
                    asm::amoswap_d(T2, T1, T0)
                } else {
                    asm::amoadd_d(T2, T1, T0)
                });
                w.push(asm::sd(T2, S1, 8 * k));
                k += 1;
            }
        }
    }
    w
}

/// Runs a litmus test once and reads its outcome.
fn run_litmus(threads: &[Vec<Op>], delays: &[u64], quantum: u64) -> Outcome {
    let bodies: Vec<Vec<u32>> = threads.iter().map(|t| thread_code(t)).collect();
    let (m, reason) = run_threads(&bodies, delays, quantum, 1_000_000);
    assert_eq!(reason, ExitReason::Finisher(0), "the litmus run did not finish");
    let reads = threads
        .iter()
        .enumerate()
        .map(|(h, ops)| {
            let n = ops.iter().filter(|op| !matches!(op, Op::Store(..) | Op::Fence)).count();
            (0..n)
                .map(|k| {
                    m.bus
                        .read_ram_u64(RESULTS + h as u64 * RESULT_STRIDE + 8 * k as u64)
                        .unwrap()
                })
                .collect()
        })
        .collect();
    let mem = (0..vars_of(threads))
        .map(|v| m.bus.read_ram_u64(VARS + v as u64 * VAR_STRIDE).unwrap())
        .collect();
    (reads, mem)
}

use Op::*;

/// A named litmus test: its threads, and the reads SC forbids.
type Classic = (&'static str, Vec<Vec<Op>>, Vec<Vec<u64>>);

/// The classic shapes, with the outcome SC forbids (reads only).
fn classics() -> Vec<Classic> {
    let (x, y) = (0, 1);
    vec![
        // Store buffering: both loads read 0 only if a store was buffered.
        (
            "SB",
            vec![vec![Store(x, 1), Load(y)], vec![Store(y, 1), Load(x)]],
            vec![vec![0], vec![0]],
        ),
        (
            "SB+fences",
            vec![vec![Store(x, 1), Fence, Load(y)], vec![Store(y, 1), Fence, Load(x)]],
            vec![vec![0], vec![0]],
        ),
        (
            "SB+amoswaps",
            vec![vec![Swap(x, 1), Load(y)], vec![Swap(y, 1), Load(x)]],
            vec![vec![0, 0], vec![0, 0]],
        ),
        // Message passing: the flag seen, the data not.
        (
            "MP",
            vec![vec![Store(x, 1), Store(y, 1)], vec![Load(y), Load(x)]],
            vec![vec![], vec![1, 0]],
        ),
        (
            "MP+fences",
            vec![vec![Store(x, 1), Fence, Store(y, 1)], vec![Load(y), Fence, Load(x)]],
            vec![vec![], vec![1, 0]],
        ),
        // Load buffering: each load sees the other thread's later store.
        (
            "LB",
            vec![vec![Load(x), Store(y, 1)], vec![Load(y), Store(x, 1)]],
            vec![vec![1], vec![1]],
        ),
        // Coherence of read-read on one location.
        (
            "CoRR",
            vec![vec![Store(x, 1)], vec![Load(x), Load(x)]],
            vec![vec![], vec![1, 0]],
        ),
        // Independent reads of independent writes: the readers disagree on
        // the order of the writes (forbidden under RVWMO too: it is
        // multi-copy atomic).
        (
            "IRIW",
            vec![
                vec![Store(x, 1)],
                vec![Store(y, 1)],
                vec![Load(x), Load(y)],
                vec![Load(y), Load(x)],
            ],
            vec![vec![], vec![], vec![1, 0], vec![1, 0]],
        ),
        // Write-to-read causality.
        (
            "WRC",
            vec![vec![Store(x, 1)], vec![Load(x), Store(y, 1)], vec![Load(y), Load(x)]],
            vec![vec![], vec![1], vec![1, 0]],
        ),
    ]
}

/// Delays that make the threads' bodies overlap in many ways at `quantum`.
fn delay_grid(threads: usize, quantum: u64) -> Vec<Vec<u64>> {
    let scale = quantum.max(4);
    let steps: Vec<u64> = (0..6).map(|k| k * scale / 4).collect();
    let mut grid = vec![vec![]];
    for _ in 0..threads {
        grid = grid
            .into_iter()
            .flat_map(|d: Vec<u64>| {
                steps.iter().map(move |&s| {
                    let mut d = d.clone();
                    d.push(s);
                    d
                })
            })
            .collect();
    }
    // Four threads: 6^4 combinations is more than needed; thin them out.
    grid.into_iter().step_by(if threads > 3 { 7 } else { 1 }).collect()
}

#[test]
fn the_sc_model_allows_the_interleavings_and_forbids_the_classic_outcomes() {
    for (name, threads, forbidden) in classics() {
        let allowed = sc_outcomes(&threads);
        assert!(!allowed.is_empty());
        assert!(
            allowed.iter().all(|(reads, _)| reads != &forbidden),
            "{name}: the model allows the forbidden outcome"
        );
    }
    // SB: the three SC outcomes.
    let sb = &classics()[0].1;
    let reads: BTreeSet<_> = sc_outcomes(sb).into_iter().map(|o| o.0).collect();
    let expect: BTreeSet<Vec<Vec<u64>>> = [vec![vec![0], vec![1]], vec![vec![1], vec![0]], vec![vec![1], vec![1]]]
        .into_iter()
        .collect();
    assert_eq!(reads, expect);
}

#[test]
fn classic_litmus_tests_show_only_sc_outcomes_and_several_of_them() {
    for (name, threads, forbidden) in classics() {
        let allowed = sc_outcomes(&threads);
        let mut seen = BTreeSet::new();
        for quantum in QUANTA {
            for delays in delay_grid(threads.len(), quantum) {
                let outcome = run_litmus(&threads, &delays, quantum);
                assert_ne!(
                    outcome.0, forbidden,
                    "{name}: forbidden outcome, quantum {quantum}, delays {delays:?}"
                );
                assert!(
                    allowed.contains(&outcome),
                    "{name}: outcome {outcome:?} is not sequentially consistent (quantum {quantum}, delays {delays:?})"
                );
                seen.insert(outcome);
            }
        }
        // The sweep must actually interleave the threads.
        assert!(
            seen.len() >= 2.min(allowed.len()),
            "{name}: only {seen:?} seen of {} allowed outcomes",
            allowed.len()
        );
        if threads.len() == 2 {
            assert_eq!(seen, allowed, "{name}: not every SC outcome was produced");
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    let var = 0usize..3;
    let val = 1u64..=3;
    prop_oneof![
        3 => (var.clone(), val.clone()).prop_map(|(v, x)| Store(v, x)),
        3 => var.clone().prop_map(Load),
        1 => Just(Fence),
        1 => (var.clone(), val.clone()).prop_map(|(v, x)| Swap(v, x)),
        1 => (var, val).prop_map(|(v, x)| Add(v, x)),
    ]
}

fn config() -> ProptestConfig {
    crate::common::proptest_config(256)
}

proptest! {
    #![proptest_config(config())]

    /// Random litmus tests (2 or 3 threads of up to 4 operations on 3
    /// variables), random start delays and quantum: the outcome is one an
    /// SC interleaving gives.
    #[test]
    fn random_litmus_tests_are_sequentially_consistent(
        threads in prop::collection::vec(prop::collection::vec(op(), 1..=4), 2..=3),
        delays in prop::collection::vec(0u64..300, 3),
        quantum in select(QUANTA.to_vec()),
    ) {
        let outcome = run_litmus(&threads, &delays[..threads.len()], quantum);
        let allowed = sc_outcomes(&threads);
        prop_assert!(allowed.contains(&outcome), "outcome {:?} not among SC's {:?}", outcome, allowed);
    }

    /// Every hart adds to one counter with LR/SC retry loops (and another
    /// with amoadd): both counts are exact.
    #[test]
    fn lr_sc_and_amo_increments_count_exactly(
        harts in 1usize..=4,
        per_hart in 1u64..=40,
        quantum in select(vec![7u64, 13, 100, 1000]),
        delays in prop::collection::vec(0u64..200, 4),
    ) {
        let (lrsc, amo, _) = counters(harts, per_hart, quantum, &delays);
        prop_assert_eq!(lrsc, harts as u64 * per_hart);
        prop_assert_eq!(amo, harts as u64 * per_hart);
    }

    /// A spinlock taken with amoswap.w.aq and released with amoswap.w.rl:
    /// never two harts inside, and the plain increments made inside count
    /// exactly.
    #[test]
    fn amoswap_lock_excludes(
        harts in 2usize..=4,
        per_hart in 1u64..=20,
        quantum in select(QUANTA.to_vec()),
        delays in prop::collection::vec(0u64..200, 4),
    ) {
        let (count, overlaps) = spinlock(harts, per_hart, quantum, &delays);
        prop_assert_eq!(overlaps, 0);
        prop_assert_eq!(count, harts as u64 * per_hart);
    }
}

/// Per hart: `n` LR/SC increments of var 0 (retrying failed SCs, counting
/// the failures in var 2), then `n` amoadd increments of var 1. Returns the
/// two counts and the failed SCs.
fn counters(harts: usize, n: u64, quantum: u64, delays: &[u64]) -> (u64, u64, u64) {
    let mut body = asm::li(S2, n as i64);
    // lrsc: lr.d t0,(s0); addi t0,t0,1; sc.d t1,t0,(s0); bnez t1 -> count failure, retry
    body.extend([
        asm::lr_d(T0, S0),
        asm::addi(T0, T0, 1),
        asm::sc_d(T1, S0, T0),
        asm::beq(T1, ZERO, 20),
        // failed: count it with an AMO on var 2, retry
        asm::addi(T2, S0, 2 * VAR_STRIDE as i32),
        asm::addi(T3, ZERO, 1),
        asm::amoadd_d(ZERO, T2, T3),
        asm::jal(ZERO, -28),
        asm::addi(S2, S2, -1),
        asm::bne(S2, ZERO, -36),
    ]);
    body.extend(asm::li(S2, n as i64));
    body.extend([
        asm::addi(T2, S0, VAR_STRIDE as i32),
        asm::addi(T3, ZERO, 1),
        asm::amoadd_d(ZERO, T2, T3),
        asm::addi(S2, S2, -1),
        asm::bne(S2, ZERO, -16),
    ]);
    let bodies = vec![body; harts];
    let (m, reason) = run_threads(&bodies, &delays[..harts], quantum, 5_000_000);
    assert_eq!(
        reason,
        ExitReason::Finisher(0),
        "the counters did not finish ({harts} harts, quantum {quantum}): {}",
        m.hart_positions()
    );
    let var = |v: u64| m.bus.read_ram_u64(VARS + v * VAR_STRIDE).unwrap();
    (var(0), var(1), var(2))
}

/// Per hart, `n` times: take the lock (var 0) with amoswap.w.aq, bump the
/// occupancy (var 2) with amoadd and record in var 3 if someone else was
/// inside, increment var 1 with a plain load and store, leave, release
/// with amoswap.w.rl. Returns (var 1, var 3).
fn spinlock(harts: usize, n: u64, quantum: u64, delays: &[u64]) -> (u64, u64) {
    let lock = asm::aqrl(asm::amoswap_w(T1, S0, T0), true, false);
    let unlock = asm::aqrl(asm::amoswap_w(ZERO, S0, ZERO), false, true);
    let mut body = asm::li(S2, n as i64);
    body.extend([
        asm::addi(T0, ZERO, 1),
        asm::addi(S3, S0, 2 * VAR_STRIDE as i32),
        asm::addi(S4, S0, 3 * VAR_STRIDE as i32),
        asm::addi(T3, ZERO, 1),
        asm::addi(T4, ZERO, -1),
        // acquire:
        lock,
        asm::bne(T1, ZERO, -4),
        asm::amoadd_d(T5, S3, T3),   // occupancy += 1; t5 = before
        asm::beq(T5, ZERO, 8),       // alone?
        asm::amoadd_d(ZERO, S4, T3), // no: count an overlap
        asm::ld(T2, S0, VAR_STRIDE as i32),
        asm::addi(T2, T2, 1),
        asm::sd(T2, S0, VAR_STRIDE as i32),
        asm::amoadd_d(ZERO, S3, T4), // occupancy -= 1
        unlock,
        asm::addi(S2, S2, -1),
        asm::bne(S2, ZERO, -44),
    ]);
    let bodies = vec![body; harts];
    let (m, reason) = run_threads(&bodies, &delays[..harts], quantum, 5_000_000);
    assert_eq!(
        reason,
        ExitReason::Finisher(0),
        "the lock test did not finish ({harts} harts, quantum {quantum}): {}",
        m.hart_positions()
    );
    let var = |v: u64| m.bus.read_ram_u64(VARS + v * VAR_STRIDE).unwrap();
    (var(1), var(3))
}

#[test]
fn lr_sc_under_contention_fails_some_scs_and_still_counts_exactly() {
    let (lrsc, amo, failures) = counters(4, 200, 7, &[0, 3, 5, 11]);
    assert_eq!((lrsc, amo), (800, 800));
    assert!(failures > 0, "a quantum of 7 cycles should break some reservations");
}

/// The A extension's forward-progress guarantee (constrained LR/SC loops
/// eventually succeed) holds at every quantum, the smallest included.
#[test]
fn lr_sc_loops_make_progress_at_every_quantum() {
    for quantum in QUANTA {
        for harts in [1, 2] {
            let (lrsc, amo, _) = counters(harts, 5, quantum, &[0, 0]);
            assert_eq!((lrsc, amo), (5 * harts as u64, 5 * harts as u64), "quantum {quantum}");
        }
    }
}
