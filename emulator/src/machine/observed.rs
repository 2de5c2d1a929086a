//! The observed twin of [`Machine::run`]: the same rounds, the same order
//! of harts, the same work between rounds, but every hart runs through
//! [`crate::cpu::Hart::run_slice_observed`], and the run can stop at any
//! instruction boundary and go on later as if it never had. Used only by
//! the debugger, the GDB server and the traces (crate::debug), so the fast
//! loop carries no hook at all.

use super::Machine;
use crate::bus::ExitReason;
use crate::debug::observer::Observer;

/// Where an observed run is: between rounds, or inside one (its end and the
/// next hart to run). Kept by the caller between calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCursor {
    round: Option<(u64, usize)>,
}

impl RunCursor {
    /// Whether the run is between rounds.
    pub fn between_rounds(&self) -> bool {
        self.round.is_none()
    }
}

/// Why [`Machine::run_observed`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The run is over (as [`Machine::run`] would have returned).
    Exited(ExitReason),
    /// The observer stopped it on this hart.
    Stopped { hart: usize },
    /// `max_rounds` rounds ran with no stop.
    Paused,
}

impl Machine {
    /// Runs as [`Machine::run`] does, calling `observer` around every
    /// instruction, until the observer stops the run, the run ends, or
    /// `max_rounds` rounds have been completed. Call it again with the same
    /// cursor to go on. Once it has returned `Exited`, the machine is in the
    /// state `run` leaves it in.
    pub fn run_observed(
        &mut self,
        observer: &mut dyn Observer,
        cursor: &mut RunCursor,
        max_rounds: Option<u64>,
    ) -> RunOutcome {
        let mut rounds = 0u64;
        loop {
            let (until, first) = match cursor.round {
                Some(round) => round,
                None => {
                    if max_rounds.is_some_and(|max| rounds >= max) {
                        return RunOutcome::Paused;
                    }
                    if let Some(reason) = self.before_round() {
                        return RunOutcome::Exited(self.end_run(reason));
                    }
                    (self.next_round_end(), 0)
                }
            };
            // run_round, one hart at a time.
            for i in first..self.harts.len() {
                if self.harts[i].run_slice_observed(&mut self.bus, until, observer) {
                    cursor.round = Some((until, i));
                    return RunOutcome::Stopped { hart: i };
                }
                if self.bus.exit.is_some() {
                    break;
                }
            }
            cursor.round = None;
            rounds += 1;
            self.close_round(until);
            if let Some(reason) = self.after_round() {
                return RunOutcome::Exited(self.end_run(reason));
            }
        }
    }
}
