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
//! | access to a device register (extra)     | +10    |
//! | taking a trap or interrupt (extra)      | +4     |
//! | a hart parked in WFI                    | 1 per cycle of simulated time |
//!
//! Loads and stores to RAM, taken branches and fences cost the base cycle
//! only. The core clock is 1 GHz and mtime ticks at 10 MHz (QEMU virt's
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
    pub mmio_access: u64,
    pub trap_entry: u64,
}

impl Default for CycleModel {
    fn default() -> Self {
        CycleModel {
            base: 1,
            multiply: 2,
            divide: 19,
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
                _ => 0,
            }
    }
}
