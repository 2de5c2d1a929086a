//! The debugger's observer: breakpoints, watchpoints, stepping, and the
//! route of every request from a slave to the master and back, followed
//! from the kernel's annotation events (docs/kernel-interface.md).
//!
//! It decides where the run stops; the session (session.rs) runs commands.

use super::access::{self, AccessKind};
use super::command::TrapCause;
use super::mem::{self, View};
use super::observer::{HartEvent, Observer};
use crate::bus::Bus;
use crate::cpu::{Hart, Priv, TakenTrap};
use crate::devices::annotate::{EventKind, REQUEST_IDLE};

/// Who set a breakpoint: the prompt (and gdb's `monitor`), or gdb itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    User,
    GdbSoftware,
    GdbHardware,
}

/// What a watchpoint watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    Write,
    Read,
    Access,
}

/// One breakpoint or watchpoint, as the debugger keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    At(u64),
    Trap {
        cause: Option<TrapCause>,
        hart: Option<usize>,
    },
    Ecall {
        nr: Option<u64>,
        hart: Option<usize>,
    },
    Serve {
        hart: Option<usize>,
    },
    Answer {
        hart: Option<usize>,
    },
    Watch {
        addr: u64,
        len: u64,
        kind: WatchKind,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breakpoint {
    pub id: u64,
    pub kind: Kind,
    pub origin: Origin,
}

/// Why the run stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Before the instruction at `pc` on `hart`.
    Breakpoint { id: u64, hart: usize, pc: u64 },
    /// After an access to a watched range.
    Watch {
        id: u64,
        hart: usize,
        pc: u64,
        va: u64,
        size: u64,
        kind: AccessKind,
        old: u64,
        new: u64,
    },
    /// A trap taken on `hart` from privilege `from` at `cycle`.
    Trap {
        id: u64,
        hart: usize,
        from: Priv,
        trap: TakenTrap,
        cycle: u64,
        /// For an ecall: a7, the system call number.
        nr: Option<u64>,
    },
    /// The master took (`answered` false) or answered a request from `origin`.
    Request {
        id: u64,
        hart: usize,
        origin: usize,
        answered: bool,
    },
    /// A step or `next` on `hart` is done.
    Step { hart: usize },
}

impl Stop {
    pub fn hart(&self) -> usize {
        match *self {
            Stop::Breakpoint { hart, .. }
            | Stop::Watch { hart, .. }
            | Stop::Trap { hart, .. }
            | Stop::Request { hart, .. }
            | Stop::Step { hart } => hart,
        }
    }
}

/// A request from a hart to the master, as far as it has gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Route {
    pub origin: usize,
    /// 1 system call, 2 timer, 3 fault, 4 idle.
    pub kind: u64,
    pub pid: u64,
    /// The system call number, or the trap cause.
    pub number: u64,
    /// The trap that raised it (the cycle it was taken at), if one did.
    pub raised: Option<u64>,
    pub posted: u64,
    /// The hart that took it and when.
    pub taken: Option<(usize, u64)>,
    /// When it was answered, and the result.
    pub answered: Option<(u64, u64)>,
    /// When the origin hart resumed.
    pub resumed: Option<u64>,
}

impl Route {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            1 => "system call",
            2 => "preemption",
            3 => "fault",
            4 => "idle",
            _ => "request",
        }
    }
}

/// What `step` or `next` is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// `left` more events (retired instructions or traps) on `hart`.
    Steps { hart: usize, left: u64 },
    /// `hart` back at `pc` with its stack pointer at or above `sp`.
    Return { hart: usize, pc: u64, sp: u64 },
}

/// A watched access found before an instruction, reported after it.
#[derive(Clone, Copy, Debug)]
struct PendingWatch {
    id: u64,
    hart: usize,
    pc: u64,
    va: u64,
    size: u64,
    kind: AccessKind,
    old: u64,
}

#[derive(Default)]
pub struct Debugger {
    pub breakpoints: Vec<Breakpoint>,
    next_id: u64,
    pub goal: Option<Goal>,
    /// Why the run last stopped.
    pub stop: Option<Stop>,
    /// Address breakpoints are skipped once for this hart at this pc: where
    /// the run was resumed, so `continue` leaves a breakpoint it stopped at.
    pub skip: Option<(usize, u64)>,
    /// The latest request of each hart.
    pub routes: Vec<Option<Route>>,
    /// The cycle of each hart's latest trap from U-mode, not yet posted.
    raised: Vec<Option<u64>>,
    /// How many annotation events have been read.
    events_seen: usize,
    watch: Option<PendingWatch>,
    /// Whether any breakpoint of each kind exists (cheap checks per instruction).
    any_at: bool,
    any_watch: bool,
}

impl Debugger {
    pub fn new(harts: usize) -> Debugger {
        Debugger {
            routes: vec![None; harts],
            raised: vec![None; harts],
            next_id: 1,
            ..Debugger::default()
        }
    }

    pub fn add(&mut self, kind: Kind, origin: Origin) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.breakpoints.push(Breakpoint { id, kind, origin });
        self.refresh();
        id
    }

    /// Removes the breakpoints that `keep` refuses; returns how many went.
    pub fn remove_where(&mut self, mut gone: impl FnMut(&Breakpoint) -> bool) -> usize {
        let before = self.breakpoints.len();
        self.breakpoints.retain(|b| !gone(b));
        self.refresh();
        before - self.breakpoints.len()
    }

    fn refresh(&mut self) {
        self.any_at = self.breakpoints.iter().any(|b| matches!(b.kind, Kind::At(_)));
        self.any_watch = self.breakpoints.iter().any(|b| matches!(b.kind, Kind::Watch { .. }));
    }

    fn halt(&mut self, stop: Stop) -> bool {
        if self.stop.is_none() {
            self.stop = Some(stop);
        }
        self.goal = None;
        true
    }

    /// Follows the kernel's annotation events written since the last look.
    fn read_events(&mut self, bus: &Bus) -> Option<Stop> {
        let mut stop = None;
        let events = &bus.annotate.events;
        while self.events_seen < events.len() {
            let e = events[self.events_seen];
            self.events_seen += 1;
            let origin = e.args[0] as usize;
            match e.kind {
                EventKind::RequestPosted => {
                    if let Some(slot) = self.routes.get_mut(e.hart) {
                        let raised = self.raised.get_mut(e.hart).and_then(Option::take);
                        *slot = Some(Route {
                            origin: e.hart,
                            kind: e.args[0],
                            pid: e.args[1],
                            number: e.args[2],
                            raised,
                            posted: e.cycle,
                            ..Route::default()
                        });
                    }
                }
                EventKind::ServiceStart | EventKind::ServiceEnd => {
                    let answered = e.kind == EventKind::ServiceEnd;
                    let Some(Some(route)) = self.routes.get_mut(origin) else {
                        continue;
                    };
                    if answered {
                        route.answered = Some((e.cycle, e.args[2]));
                    } else {
                        route.taken = Some((e.hart, e.cycle));
                    }
                    if route.kind == REQUEST_IDLE {
                        continue;
                    }
                    let hit = self.breakpoints.iter().find(|b| match b.kind {
                        Kind::Serve { hart } if !answered => hart.is_none_or(|h| h == origin),
                        Kind::Answer { hart } if answered => hart.is_none_or(|h| h == origin),
                        _ => false,
                    });
                    if let (Some(b), None) = (hit, &stop) {
                        stop = Some(Stop::Request {
                            id: b.id,
                            hart: e.hart,
                            origin,
                            answered,
                        });
                    }
                }
                EventKind::Resumed => {
                    if let Some(Some(route)) = self.routes.get_mut(e.hart) {
                        route.resumed.get_or_insert(e.cycle);
                    }
                }
                _ => {}
            }
        }
        stop
    }
}

impl Observer for Debugger {
    fn before(&mut self, hart: &mut Hart, bus: &Bus) -> bool {
        let skip = self.skip == Some((hart.id, hart.pc));
        if self.skip.is_some_and(|(h, _)| h == hart.id) {
            self.skip = None;
        }
        if !skip {
            if self.any_at {
                let hit = self.breakpoints.iter().find(|b| b.kind == Kind::At(hart.pc));
                if let Some(b) = hit {
                    let stop = Stop::Breakpoint {
                        id: b.id,
                        hart: hart.id,
                        pc: hart.pc,
                    };
                    return self.halt(stop);
                }
            }
            if let Some(Goal::Return { hart: h, pc, sp }) = self.goal {
                if h == hart.id && hart.pc == pc && hart.x[2] >= sp {
                    return self.halt(Stop::Step { hart: h });
                }
            }
        }
        self.watch = None;
        if self.any_watch {
            if let Some((_, insn)) = mem::fetch(hart, bus, hart.pc) {
                if let Some(a) = access::of(&insn, &hart.x, &hart.f) {
                    let hit = self.breakpoints.iter().find(|b| match b.kind {
                        Kind::Watch { addr, len, kind } => {
                            let overlaps = a.va < addr.wrapping_add(len) && addr < a.va.wrapping_add(a.size);
                            let wanted = match kind {
                                WatchKind::Write => a.kind != AccessKind::Load,
                                WatchKind::Read => a.kind != AccessKind::Store,
                                WatchKind::Access => true,
                            };
                            overlaps && wanted
                        }
                        _ => false,
                    });
                    if let Some(b) = hit {
                        let old = mem::read_value(hart, bus, a.va, a.size as usize, View::Data).unwrap_or(0);
                        self.watch = Some(PendingWatch {
                            id: b.id,
                            hart: hart.id,
                            pc: hart.pc,
                            va: a.va,
                            size: a.size,
                            kind: a.kind,
                            old,
                        });
                    }
                }
            }
        }
        false
    }

    fn after(&mut self, hart: &mut Hart, bus: &Bus, event: &HartEvent) -> bool {
        let mut stop = None;
        if bus.annotate.events.len() > self.events_seen {
            stop = self.read_events(bus);
        }
        if let Some((from, trap)) = event.trap() {
            let cycle = hart.cycle - hart.cost.trap_entry;
            if from == Priv::U {
                if let Some(slot) = self.raised.get_mut(hart.id) {
                    *slot = Some(cycle);
                }
            }
            let interrupt = trap.cause >> 63 == 1;
            let code = trap.cause & !(1 << 63);
            let is_user_ecall = !interrupt && code == 8;
            // The registers are the trapping instruction's: a trap writes none.
            let nr = is_user_ecall.then_some(hart.x[17]);
            let hit = self.breakpoints.iter().find(|b| match b.kind {
                Kind::Trap { cause, hart: h } => {
                    h.is_none_or(|h| h == hart.id)
                        && cause.is_none_or(|c| match c {
                            TrapCause::Exception(n) => !interrupt && n == code,
                            TrapCause::Interrupt(n) => interrupt && n == code,
                        })
                }
                Kind::Ecall { nr: want, hart: h } => {
                    is_user_ecall && h.is_none_or(|h| h == hart.id) && want.is_none_or(|n| Some(n) == nr)
                }
                _ => false,
            });
            if let (Some(b), None) = (hit, &stop) {
                stop = Some(Stop::Trap {
                    id: b.id,
                    hart: hart.id,
                    from,
                    trap,
                    cycle,
                    nr,
                });
            }
        }
        if let Some(w) = self.watch.take() {
            if matches!(event, HartEvent::Retired { .. }) && stop.is_none() {
                let new = mem::read_value(hart, bus, w.va, w.size as usize, View::Data).unwrap_or(0);
                stop = Some(Stop::Watch {
                    id: w.id,
                    hart: w.hart,
                    pc: w.pc,
                    va: w.va,
                    size: w.size,
                    kind: w.kind,
                    old: w.old,
                    new,
                });
            }
        }
        if let Some(Goal::Steps { hart: h, left }) = self.goal {
            if h == hart.id {
                if left <= 1 {
                    stop.get_or_insert(Stop::Step { hart: h });
                } else {
                    self.goal = Some(Goal::Steps {
                        hart: h,
                        left: left - 1,
                    });
                }
            }
        }
        match stop {
            Some(s) => self.halt(s),
            None => false,
        }
    }
}
