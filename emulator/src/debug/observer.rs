//! The one hook between the emulator and its debugging tools: an
//! [`Observer`] that [`crate::cpu::Hart::run_slice_observed`] calls before
//! every instruction and after every instruction, trap and interrupt, and
//! that may stop the run at any of those instruction boundaries.
//!
//! The fast loop ([`crate::cpu::Hart::run_slice`], [`crate::Machine::run`])
//! has no hook at all: the debugger, the GDB server and the traces run the
//! machine through [`crate::Machine::run_observed`] instead, which schedules
//! the harts exactly as `run` does. So an observer that never stops the run
//! changes nothing the guest can see: not its output, not one cycle count.

use crate::bus::Bus;
use crate::cpu::decode::Insn;
use crate::cpu::{Hart, Priv, TakenTrap};

/// What a hart just did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HartEvent {
    /// The instruction at `pc` (fetched as `bits`: 16 bits for a compressed
    /// one) retired; `prv` is the privilege it ran at.
    Retired { pc: u64, prv: Priv, bits: u32, insn: Insn },
    /// The instruction at `pc` raised an exception, now taken (`bits` is
    /// `None` when the fetch itself faulted).
    Exception {
        pc: u64,
        prv: Priv,
        bits: Option<u32>,
        trap: TakenTrap,
    },
    /// An interrupt was taken before the instruction at `trap.epc`.
    Interrupt { prv: Priv, trap: TakenTrap },
}

impl HartEvent {
    /// The trap taken, if the event is one.
    pub fn trap(&self) -> Option<(Priv, TakenTrap)> {
        match *self {
            HartEvent::Exception { prv, trap, .. } | HartEvent::Interrupt { prv, trap } => Some((prv, trap)),
            HartEvent::Retired { .. } => None,
        }
    }
}

/// Watches harts run, one instruction boundary at a time. Returning `true`
/// from either method stops the run at that boundary; running on resumes it
/// exactly where it stopped (see [`crate::Machine::run_observed`]).
///
/// The hart is lent mutably so that an observer can look at state the
/// instruction hides (the trace of instructions clears `fflags` before a
/// floating-point instruction to see which flags it raises, and restores
/// them after): an observer must leave the hart as the guest would have it.
pub trait Observer {
    /// The hart is about to execute the instruction at its pc (interrupts
    /// were checked and none is taken).
    fn before(&mut self, hart: &mut Hart, bus: &Bus) -> bool;
    /// The hart retired an instruction or took a trap.
    fn after(&mut self, hart: &mut Hart, bus: &Bus, event: &HartEvent) -> bool;
}

/// An observer that watches nothing and never stops.
pub struct NullObserver;

impl Observer for NullObserver {
    fn before(&mut self, _: &mut Hart, _: &Bus) -> bool {
        false
    }
    fn after(&mut self, _: &mut Hart, _: &Bus, _: &HartEvent) -> bool {
        false
    }
}
