//! The observed twin of [`Hart::run_slice`] and [`Hart::step`], used only by
//! the debugger and the traces (crate::debug). It must do exactly what the
//! fast loop does, plus call the observer; `tests/debugger.rs` checks that a
//! run through it gives the same output and cycle counts as a plain run.

use super::{Hart, Priv};
use crate::bus::Bus;
use crate::debug::observer::{HartEvent, Observer};

impl Hart {
    /// Runs this hart until its clock reaches `until` (or the machine
    /// stops), as [`Hart::run_slice`] does, calling `observer` around every
    /// instruction and trap. Returns `true` if the observer stopped it: the
    /// hart is then at an instruction boundary, and calling this again with
    /// the same `until` goes on exactly as if it had not stopped (the
    /// interrupt lines it re-reads cannot have changed in between, unless the
    /// debugger changed the hart, which is then what it should see).
    pub fn run_slice_observed(&mut self, bus: &mut Bus, until: u64, observer: &mut dyn Observer) -> bool {
        if self.skip_parked_slice(bus, until) {
            return false;
        }
        while self.cycle < until && bus.exit.is_none() {
            if !self.begin_stretch(bus, until) {
                continue;
            }
            while self.cycle < self.slice_limit {
                let prv = self.prv;
                if self.take_pending_interrupt(bus) {
                    let trap = self.last_trap.expect("an interrupt was just taken");
                    if observer.after(self, bus, &HartEvent::Interrupt { prv, trap }) {
                        return true;
                    }
                    continue;
                }
                if observer.before(self, bus) {
                    return true;
                }
                let event = self.step_observed(bus);
                if observer.after(self, bus, &event) {
                    return true;
                }
                if self.waiting {
                    break;
                }
            }
        }
        false
    }

    /// [`Hart::step`], reporting what happened.
    fn step_observed(&mut self, bus: &mut Bus) -> HartEvent {
        let pc = self.pc;
        let prv: Priv = self.prv;
        let (pa, bits) = match self.fetch(bus) {
            Ok(fetched) => fetched,
            Err(trap) => {
                self.cycle += self.cost.base;
                bus.drop_reservation(self.id);
                self.take_exception(trap, pc);
                let trap = self.last_trap.expect("an exception was just taken");
                return HartEvent::Exception {
                    pc,
                    prv,
                    bits: None,
                    trap,
                };
            }
        };
        let insn = self.decoded.get(pa, bits);
        self.cycle += self.cost.insn(insn.op);
        match self.execute(&insn, bus) {
            Ok(()) => {
                self.instret += 1;
                HartEvent::Retired { pc, prv, bits, insn }
            }
            Err(trap) => {
                bus.drop_reservation(self.id);
                self.take_exception(trap, pc);
                let trap = self.last_trap.expect("an exception was just taken");
                HartEvent::Exception {
                    pc,
                    prv,
                    bits: Some(bits),
                    trap,
                }
            }
        }
    }
}
