//! The cycle model: what each instruction and event costs in simulated
//! cycles. It is the only source of time in the machine: mcycle, mtime and
//! every timer derive from it, never from the host clock, so a run gives the
//! same counts on any host at any speed.
//!
//! | event                                   | cycles |
//! |-----------------------------------------|--------|
//! | any instruction (base)                  | 1      |
//! | mul, mulh, mulhsu, mulhu, mulw (extra)  | +2     |
//! | div, divu, rem, remu and W forms (extra)| +19    |
//! | fadd, fsub, fmul, fused multiply-adds and fcvt, .s and .d (extra) | +2 |
//! | fdiv, fsqrt, .s and .d (extra)          | +19    |
//! | access to a device register (extra)     | +10    |
//! | taking a trap or interrupt (extra)      | +4     |
//! | a hart parked in WFI                    | 1 per cycle of simulated time |
//!
//! Loads and stores to RAM, taken branches and fences cost the base cycle
//! only, as do the floating-point loads, stores, moves, sign injections,
//! comparisons, min/max and fclass. The core clock is 1 GHz and mtime ticks at 10 MHz (QEMU virt's
//! timebase), so one mtime tick is 100 cycles.

use crate::cpu::decode::Op;

/// Core clock frequency: the rate at which `mcycle` advances.
pub const CORE_HZ: u64 = 1_000_000_000;
/// Cycles per mtime tick.
pub const CYCLES_PER_TICK: u64 = CORE_HZ / crate::memmap::TIMEBASE_HZ;

/// Costs, in cycles, of the events the model charges beyond the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleModel {
    pub base: u64,
    pub multiply: u64,
    pub divide: u64,
    pub fp_arith: u64,
    pub fp_divide: u64,
    pub mmio_access: u64,
    pub trap_entry: u64,
}

impl Default for CycleModel {
    fn default() -> Self {
        CycleModel {
            base: 1,
            multiply: 2,
            divide: 19,
            fp_arith: 2,
            fp_divide: 19,
            mmio_access: 10,
            trap_entry: 4,
        }
    }
}

impl CycleModel {
    /// Cycles charged for executing one instruction of kind `op`.
    pub fn insn(&self, op: Op) -> u64 {
        use Op::*;
        self.base
            + match op {
                Mul | Mulh | Mulhsu | Mulhu | Mulw => self.multiply,
                Div | Divu | Rem | Remu | Divw | Divuw | Remw | Remuw => self.divide,
                FaddS | FsubS | FmulS | FmaddS | FmsubS | FnmsubS | FnmaddS | FaddD | FsubD | FmulD | FmaddD
                | FmsubD | FnmsubD | FnmaddD | FcvtWS | FcvtWuS | FcvtLS | FcvtLuS | FcvtSW | FcvtSWu | FcvtSL
                | FcvtSLu | FcvtWD | FcvtWuD | FcvtLD | FcvtLuD | FcvtDW | FcvtDWu | FcvtDL | FcvtDLu | FcvtSD
                | FcvtDS => self.fp_arith,
                FdivS | FsqrtS | FdivD | FsqrtD => self.fp_divide,
                _ => 0,
            }
    }
}
