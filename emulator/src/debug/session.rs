//! A debugging session: the machine, the debugger's observer, the traces,
//! and the commands of the prompt (which gdb's `monitor` also takes). Every
//! command answers with text; a bad address, an unknown symbol or a hart
//! out of range is a one-line error, never a panic.

use std::fmt::Write as _;

use super::command::{BreakSpec, Command, Location, HELP};
use super::debugger::{Debugger, Goal, Kind, Origin, Route, Stop, WatchKind};
use super::disasm::{self, ABI};
use super::mem::{self, View};
use super::observer::Observer;
use super::symbols::Symbols;
use super::trace::{Hooks, InsnTrace, TrapTrace};
use crate::bus::ExitReason;
use crate::cpu::decode::Op;
use crate::cpu::trap::cause_name;
use crate::cpu::{Hart, Priv};
use crate::machine::{exit_status, Machine, RunCursor, RunOutcome};
use crate::syscall_names::SYSCALL_NAMES;

/// A trace the session writes.
pub enum Trace {
    Traps(TrapTrace),
    Insns(Box<InsnTrace>),
}

impl Trace {
    fn observer(&mut self) -> &mut dyn Observer {
        match self {
            Trace::Traps(t) => t,
            Trace::Insns(t) => &mut **t,
        }
    }

    pub fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Trace::Traps(t) => t.finish(),
            Trace::Insns(t) => t.finish(),
        }
    }
}

/// What a command asks of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// The command answered; the run stays stopped.
    Stay,
    /// Run on (with the goal the command set, if any).
    Resume,
    Quit,
}

pub struct Session<'m> {
    pub machine: &'m mut Machine,
    pub debugger: Debugger,
    /// Whether the debugger's stops are on (off: only the traces watch).
    pub attached: bool,
    pub traces: Vec<Trace>,
    pub cursor: RunCursor,
    pub symbols: Symbols,
    /// The hart commands apply to.
    pub selected: usize,
    /// The hart the run last stopped on, until it runs on.
    stopped_on: Option<usize>,
    /// How the run ended, once it has.
    pub exited: Option<ExitReason>,
}

/// A one-line error for the prompt.
pub type CmdResult = Result<String, String>;

fn syscall_name(nr: u64) -> Option<&'static str> {
    SYSCALL_NAMES.iter().find(|(n, _)| *n == nr).map(|(_, s)| *s)
}

impl<'m> Session<'m> {
    pub fn new(machine: &'m mut Machine, symbols: Symbols, traces: Vec<Trace>, attached: bool) -> Session<'m> {
        // The debugger follows requests through the kernel's annotation
        // events; keeping them changes nothing in the run.
        if attached {
            machine.bus.annotate.record = true;
        }
        let harts = machine.harts.len();
        Session {
            machine,
            debugger: Debugger::new(harts),
            attached,
            traces,
            cursor: RunCursor::default(),
            symbols,
            selected: 0,
            stopped_on: None,
            exited: None,
        }
    }

    /// Runs until a stop, the end, or `max_rounds` rounds.
    pub fn resume(&mut self, max_rounds: Option<u64>) -> RunOutcome {
        if let Some(reason) = self.exited {
            return RunOutcome::Exited(reason);
        }
        // `continue` leaves the instruction it stopped at, even if a
        // breakpoint is there (as gdb does).
        if let Some(h) = self.stopped_on.take() {
            self.debugger.skip = Some((h, self.machine.harts[h].pc));
        }
        self.debugger.stop = None;
        let traces: Vec<&mut dyn Observer> = self.traces.iter_mut().map(Trace::observer).collect();
        let outcome = if !self.attached && traces.is_empty() {
            // Nothing watches any more: finish the round the debugger left
            // (the observed loop), then take the fast loop to the end.
            let mut rest = super::observer::NullObserver;
            match self.machine.run_observed(&mut rest, &mut self.cursor, Some(1)) {
                RunOutcome::Paused => RunOutcome::Exited(self.machine.run()),
                outcome => outcome,
            }
        } else {
            let debugger: Option<&mut dyn Observer> = if self.attached { Some(&mut self.debugger) } else { None };
            let mut hooks = Hooks { debugger, traces };
            self.machine.run_observed(&mut hooks, &mut self.cursor, max_rounds)
        };
        match outcome {
            RunOutcome::Stopped { hart } => {
                self.selected = hart;
                self.stopped_on = Some(hart);
            }
            RunOutcome::Exited(reason) => {
                self.exited = Some(reason);
                self.debugger.goal = None;
            }
            RunOutcome::Paused => {}
        }
        outcome
    }

    /// Stops where the run was interrupted from outside (gdb's Ctrl-C),
    /// between rounds or where the cursor is.
    pub fn mark_interrupted(&mut self) {
        self.stopped_on = Some(self.selected);
    }

    /// Drops every breakpoint and goal and stops watching: the run goes on
    /// as if no debugger had been there (traces go on).
    pub fn detach(&mut self) {
        self.debugger.remove_where(|_| true);
        self.debugger.goal = None;
        self.attached = false;
    }

    /// Runs to the end (after a detach).
    pub fn run_to_end(&mut self) -> ExitReason {
        loop {
            if let RunOutcome::Exited(reason) = self.resume(None) {
                return reason;
            }
        }
    }

    /// Writes out the traces; the first error is returned.
    pub fn finish_traces(&mut self) -> std::io::Result<()> {
        let mut first = Ok(());
        for t in &mut self.traces {
            if let Err(e) = t.finish() {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    fn hart(&self, k: usize) -> Result<&Hart, String> {
        self.machine.harts.get(k).ok_or_else(|| {
            format!(
                "no hart {k}: the machine has harts 0 to {}",
                self.machine.harts.len() - 1
            )
        })
    }

    fn check_hart(&self, k: Option<usize>) -> Result<(), String> {
        match k {
            Some(k) => self.hart(k).map(|_| ()),
            None => Ok(()),
        }
    }

    /// An address: a number, or a symbol (with its offset).
    pub fn resolve(&self, at: &Location) -> Result<Vec<(u64, String)>, String> {
        match at {
            Location::Address(a) => Ok(vec![(*a, String::new())]),
            Location::Symbol { name, offset } => {
                // A register of the selected hart: pc, an ABI name, xN.
                let reg = name.trim_start_matches('$');
                let hart = &self.machine.harts[self.selected];
                let value = match reg {
                    "pc" => Some(hart.pc),
                    _ => disasm::register_number(reg).map(|r| hart.x[r]),
                };
                if let Some(v) = value {
                    return Ok(vec![(v.wrapping_add(*offset as u64), String::new())]);
                }
                let found = self.symbols.lookup(name);
                if found.is_empty() {
                    return Err(format!("no symbol `{name}`"));
                }
                Ok(found
                    .into_iter()
                    .map(|(a, table)| (a.wrapping_add(*offset as u64), table.to_string()))
                    .collect())
            }
        }
    }

    fn resolve_one(&self, at: &Location) -> Result<u64, String> {
        Ok(self.resolve(at)?[0].0)
    }

    /// `0x1234 <sym+0x4>`, or just the number.
    pub fn name_of(&self, addr: u64) -> String {
        match self.symbols.describe(addr) {
            Some(s) => format!("{addr:#x} <{s}>"),
            None => format!("{addr:#x}"),
        }
    }

    /// The instruction at `pc` on hart `k`, disassembled.
    fn insn_at(&self, k: usize, pc: u64) -> Option<(u32, String)> {
        let hart = &self.machine.harts[k];
        let (bits, insn) = mem::fetch(hart, &self.machine.bus, pc)?;
        let text = disasm::format(&insn, pc, &|a| self.symbols.describe(a));
        Some((bits, text))
    }

    /// `=> 0x... <sym>:  insn` for hart `k`.
    pub fn where_line(&self, k: usize) -> String {
        let hart = &self.machine.harts[k];
        let text = match self.insn_at(k, hart.pc) {
            Some((_, text)) => text,
            None => "(not mapped)".into(),
        };
        format!(
            "=> hart {k} {}-mode {}:  {text}",
            hart.prv.letter(),
            self.name_of(hart.pc)
        )
    }

    /// A request's route so far, in one line.
    pub fn route_line(&self, r: &Route) -> String {
        let what = match r.kind {
            1 => match syscall_name(r.number) {
                Some(n) => format!("system call {} ({n})", r.number),
                None => format!("system call {}", r.number),
            },
            2 | 3 => format!("{} ({})", r.kind_name(), cause_name(r.number)),
            _ => r.kind_name().to_string(),
        };
        let mut line = format!("{what} from hart {} (pid {}): ", r.origin, r.pid);
        match r.raised {
            Some(c) => line += &format!("raised on hart {} at cycle {c}, posted at cycle {}", r.origin, r.posted),
            None => line += &format!("posted on hart {} at cycle {}", r.origin, r.posted),
        }
        match r.taken {
            Some((h, c)) => line += &format!(", taken by hart {h} at cycle {c}"),
            None => line += ", not yet taken",
        }
        if r.taken.is_some() {
            match r.answered {
                Some((c, result)) => line += &format!(", answered at cycle {c} (result {})", result as i64),
                None => line += ", not yet answered",
            }
        }
        if let Some(c) = r.resumed {
            line += &format!(", resumed at cycle {c}");
        }
        line
    }

    /// What the debugger prints when the run stops.
    pub fn describe_stop(&self, stop: &Stop) -> String {
        let mut out = String::new();
        match stop {
            Stop::Breakpoint { id, hart, pc } => {
                let _ = writeln!(out, "hart {hart}: breakpoint {id} at {}", self.name_of(*pc));
            }
            Stop::Watch {
                id,
                hart,
                pc,
                va,
                size,
                kind,
                old,
                new,
            } => {
                let what = match kind {
                    super::access::AccessKind::Load => "load",
                    super::access::AccessKind::Store => "store",
                    super::access::AccessKind::ReadWrite => "atomic update",
                };
                let _ = writeln!(
                    out,
                    "hart {hart}: watchpoint {id}: {what} of {size} bytes at {} by {}: {old:#x} -> {new:#x}",
                    self.name_of(*va),
                    self.name_of(*pc)
                );
            }
            Stop::Trap {
                id,
                hart,
                from,
                trap,
                cycle,
                nr,
            } => {
                let interrupt = trap.cause >> 63 == 1;
                let _ = writeln!(
                    out,
                    "hart {hart}: breakpoint {id}: {} at cycle {cycle}: {} (cause {}), tval {:#x}, epc {}, {}-mode -> {}-mode",
                    if interrupt { "interrupt" } else { "trap" },
                    cause_name(trap.cause),
                    trap.cause & !(1 << 63),
                    trap.tval,
                    self.name_of(trap.epc),
                    from.letter(),
                    trap.to.letter()
                );
                if let Some(nr) = nr {
                    let name = syscall_name(*nr).map(|n| format!(" ({n})")).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "  system call {nr}{name}: raised on hart {hart} at cycle {cycle}{}",
                        if *hart != 0 { ", to be forwarded to hart 0" } else { "" }
                    );
                }
                // A request of this hart still open, or those waiting for the master.
                if let Some(Some(r)) = self.debugger.routes.get(*hart) {
                    if r.answered.is_none() && r.kind != 4 {
                        let _ = writeln!(out, "  route: {}", self.route_line(r));
                    }
                }
                if *hart == 0 {
                    for r in self.debugger.routes.iter().flatten() {
                        if r.taken.is_none() && r.origin != 0 && r.kind != 4 {
                            let _ = writeln!(out, "  waiting: {}", self.route_line(r));
                        }
                    }
                }
            }
            Stop::Request {
                id,
                hart,
                origin,
                answered,
            } => {
                let route = self.debugger.routes.get(*origin).copied().flatten();
                let cycle = route.and_then(|r| {
                    if *answered {
                        r.answered.map(|a| a.0)
                    } else {
                        r.taken.map(|t| t.1)
                    }
                });
                let _ = writeln!(
                    out,
                    "hart {hart}: breakpoint {id}: {} the request of hart {origin}{}",
                    if *answered { "answers" } else { "takes" },
                    cycle.map(|c| format!(" at cycle {c}")).unwrap_or_default()
                );
                if let Some(r) = route {
                    let _ = writeln!(out, "  route: {}", self.route_line(&r));
                }
            }
            Stop::Step { .. } => {}
        }
        out += &self.where_line(stop.hart());
        out
    }

    /// What the debugger prints when the run ends.
    pub fn describe_exit(&self, reason: ExitReason) -> String {
        let how = match reason {
            ExitReason::Finisher(_) => "the guest powered off",
            ExitReason::Htif(_) => "the guest ended the run through HTIF",
            ExitReason::Reset => "the guest asked for a reset",
            ExitReason::MaxCycles => "--max-cycles stopped the run",
            ExitReason::Deadlock => "every hart waits for an interrupt that cannot come",
        };
        format!(
            "the run has ended at cycle {}: {how} (exit status {})",
            self.machine.now,
            exit_status(reason)
        )
    }

    /// Runs one command. `Resume` means the caller should now run the
    /// machine (the goal for `step` and `next` is set).
    pub fn execute(&mut self, cmd: &Command) -> (Flow, CmdResult) {
        let stay = |r: CmdResult| (Flow::Stay, r);
        match cmd {
            Command::Nothing => stay(Ok(String::new())),
            Command::Help => stay(Ok(HELP.trim_end().to_string())),
            Command::Quit => (Flow::Quit, Ok(String::new())),
            Command::Step(_) | Command::Next | Command::Continue if self.exited.is_some() => {
                stay(Err("the run has ended".into()))
            }
            Command::Step(n) => {
                self.debugger.goal = Some(Goal::Steps {
                    hart: self.selected,
                    left: *n,
                });
                (Flow::Resume, Ok(String::new()))
            }
            Command::Next => {
                let k = self.selected;
                let hart = &self.machine.harts[k];
                let goal = match mem::fetch(hart, &self.machine.bus, hart.pc) {
                    Some((_, insn)) if matches!(insn.op, Op::Jal | Op::Jalr) && insn.rd == 1 => Goal::Return {
                        hart: k,
                        pc: hart.pc.wrapping_add(insn.len as u64),
                        sp: hart.x[2],
                    },
                    _ => Goal::Steps { hart: k, left: 1 },
                };
                self.debugger.goal = Some(goal);
                (Flow::Resume, Ok(String::new()))
            }
            Command::Continue => {
                self.debugger.goal = None;
                (Flow::Resume, Ok(String::new()))
            }
            Command::Hart(k) => {
                if let Err(e) = self.hart(*k) {
                    return stay(Err(e));
                }
                self.selected = *k;
                stay(Ok(self.where_line(*k)))
            }
            Command::Break(spec) => stay(self.add_break(spec)),
            Command::Watch { at, len } => stay(self.resolve_one(at).map(|addr| {
                let id = self.debugger.add(
                    Kind::Watch {
                        addr,
                        len: *len,
                        kind: WatchKind::Write,
                    },
                    Origin::User,
                );
                format!("watchpoint {id}: stores to {} ({len} bytes)", self.name_of(addr))
            })),
            Command::Delete(None) => {
                let n = self.debugger.remove_where(|b| b.origin == Origin::User);
                stay(Ok(format!("deleted {n} breakpoint(s)")))
            }
            Command::Delete(Some(id)) => {
                let n = self.debugger.remove_where(|b| b.id == *id && b.origin == Origin::User);
                stay(if n == 0 {
                    Err(format!("no breakpoint {id}"))
                } else {
                    Ok(format!("deleted breakpoint {id}"))
                })
            }
            Command::Breaks => stay(Ok(self.list_breaks())),
            Command::Regs => stay(Ok(self.regs(self.selected))),
            Command::Csr(name) => stay(self.csr(name)),
            Command::Examine { at, len } => stay(self.resolve_one(at).and_then(|a| self.examine(a, *len))),
            Command::Disasm { at, count } => {
                let start = match at {
                    Some(at) => self.resolve_one(at),
                    None => Ok(self.machine.harts[self.selected].pc),
                };
                stay(start.and_then(|a| self.disassemble(a, *count)))
            }
            Command::Backtrace => stay(Ok(self.backtrace(self.selected))),
            Command::Harts => stay(Ok(self.harts())),
            Command::Route(k) => {
                let k = k.unwrap_or(self.selected);
                stay(self.hart(k).map(|_| ()).and_then(|_| {
                    // On the master, the request it serves.
                    let serving = (0..self.debugger.routes.len()).find_map(|o| {
                        let r = self.debugger.routes[o]?;
                        (r.taken.is_some_and(|(h, _)| h == k) && r.answered.is_none() && o != k).then_some(r)
                    });
                    match (self.debugger.routes[k], serving) {
                        (_, Some(r)) => Ok(format!("hart {k} serves: {}", self.route_line(&r))),
                        (Some(r), None) => Ok(self.route_line(&r)),
                        (None, None) => Err(format!("hart {k} has made no request yet")),
                    }
                }))
            }
        }
    }

    fn add_break(&mut self, spec: &BreakSpec) -> CmdResult {
        let kind = match spec {
            BreakSpec::At(at) => {
                let mut lines = Vec::new();
                for (addr, table) in self.resolve(at)? {
                    let id = self.debugger.add(Kind::At(addr), Origin::User);
                    let from = if table.is_empty() {
                        String::new()
                    } else {
                        format!(" ({table})")
                    };
                    lines.push(format!("breakpoint {id} at {}{from}", self.name_of(addr)));
                }
                return Ok(lines.join("\n"));
            }
            BreakSpec::Trap { cause, hart } => {
                self.check_hart(*hart)?;
                Kind::Trap {
                    cause: *cause,
                    hart: *hart,
                }
            }
            BreakSpec::Ecall { nr, hart } => {
                self.check_hart(*hart)?;
                Kind::Ecall { nr: *nr, hart: *hart }
            }
            BreakSpec::Serve { hart } => {
                self.check_hart(*hart)?;
                Kind::Serve { hart: *hart }
            }
            BreakSpec::Answer { hart } => {
                self.check_hart(*hart)?;
                Kind::Answer { hart: *hart }
            }
        };
        let text = describe_kind(&kind);
        let id = self.debugger.add(kind, Origin::User);
        Ok(format!("breakpoint {id}: {text}"))
    }

    fn list_breaks(&self) -> String {
        let mut out = String::new();
        for b in &self.debugger.breakpoints {
            let text = match b.kind {
                Kind::At(a) => format!("at {}", self.name_of(a)),
                Kind::Watch { addr, len, kind } => {
                    format!("watch {kind:?} {} ({len} bytes)", self.name_of(addr)).to_lowercase()
                }
                ref k => describe_kind(k),
            };
            let by = match b.origin {
                Origin::User => "",
                Origin::GdbSoftware | Origin::GdbHardware => " (gdb)",
            };
            let _ = writeln!(out, "{:>3}  {text}{by}", b.id);
        }
        if out.is_empty() {
            "no breakpoints".into()
        } else {
            out.trim_end().to_string()
        }
    }

    /// The registers of hart `k`, by ABI name.
    pub fn regs(&self, k: usize) -> String {
        let h = &self.machine.harts[k];
        let mut out = format!(
            "hart {k}  pc {}  {}-mode  cycle {}  instret {}{}\n",
            self.name_of(h.pc),
            h.prv.letter(),
            h.cycle,
            h.instret,
            if h.waiting { "  (in WFI)" } else { "" }
        );
        for row in 0..8 {
            for col in 0..4 {
                let r = row * 4 + col;
                let _ = write!(out, "{:>4} {:#018x}  ", ABI[r], h.x[r]);
            }
            out = out.trim_end().to_string() + "\n";
        }
        out.trim_end().to_string()
    }

    fn csr(&self, name: &str) -> CmdResult {
        let number = super::csr_names::number(name).ok_or_else(|| format!("no CSR `{name}`"))?;
        let h = &self.machine.harts[self.selected];
        let shown = super::csr_names::name(number).unwrap_or_else(|| format!("{number:#x}"));
        if !h.csr_implemented(number) {
            return Err(format!("the hart has no CSR {number:#05x}"));
        }
        Ok(format!(
            "hart {} {shown} ({number:#05x}) = {:#018x}",
            self.selected,
            h.csr_read(&self.machine.bus, number)
        ))
    }

    fn examine(&self, addr: u64, len: u64) -> CmdResult {
        let h = &self.machine.harts[self.selected];
        let bus = &self.machine.bus;
        let mut out = String::new();
        // In u128, so that a range reaching the top of the address space
        // is read to its last byte, and one past it is refused.
        let end = addr as u128 + len as u128;
        if end > 1 << 64 {
            return Err(format!(
                "{addr:#x} + {len} bytes runs past the end of the 64-bit address space"
            ));
        }
        let mut a = addr as u128;
        while a < end {
            let n = (end - a).min(16) as usize;
            let at = a as u64;
            let bytes = mem::read_virt(h, bus, at, n, View::Data)
                .ok_or_else(|| format!("cannot read {at:#x}: not mapped to RAM on hart {}", self.selected))?;
            let _ = writeln!(out, "{at:#018x}:  {}", hex_bytes(&bytes));
            a += n as u128;
        }
        if out.is_empty() {
            return Err(format!("nothing to show at {addr:#x}"));
        }
        Ok(out.trim_end().to_string())
    }

    fn disassemble(&self, addr: u64, count: u64) -> CmdResult {
        let mut out = String::new();
        let mut pc = addr;
        let current = self.machine.harts[self.selected].pc;
        for _ in 0..count {
            let Some((bits, text)) = self.insn_at(self.selected, pc) else {
                if out.is_empty() {
                    return Err(format!(
                        "cannot read {pc:#x}: not mapped to RAM on hart {}",
                        self.selected
                    ));
                }
                break;
            };
            let label = self.symbols.describe(pc).map(|s| format!(" <{s}>")).unwrap_or_default();
            let raw = if bits & 3 == 3 {
                format!("{bits:08x}")
            } else {
                format!("{bits:04x}    ")
            };
            let mark = if pc == current { "=>" } else { "  " };
            let _ = writeln!(out, "{mark} {pc:#x}{label}:  {raw}  {text}");
            pc = pc.wrapping_add(if bits & 3 == 3 { 4 } else { 2 });
        }
        Ok(out.trim_end().to_string())
    }

    /// A backtrace by frame pointers: the caller's ra at fp-8 and fp at
    /// fp-16, as GCC lays frames out with -fno-omit-frame-pointer.
    pub fn backtrace(&self, k: usize) -> String {
        let h = &self.machine.harts[k];
        let bus = &self.machine.bus;
        let mut out = format!("#0  {}", self.name_of(h.pc));
        let mut fp = h.x[8];
        for depth in 1..64 {
            if fp == 0 || fp % 8 != 0 {
                break;
            }
            let ra = mem::read_value(h, bus, fp.wrapping_sub(8), 8, View::Data);
            let prev = mem::read_value(h, bus, fp.wrapping_sub(16), 8, View::Data);
            let (Some(ra), Some(prev)) = (ra, prev) else {
                break;
            };
            if ra == 0 {
                break;
            }
            let _ = write!(out, "\n#{depth}  {}", self.name_of(ra));
            if prev <= fp {
                break;
            }
            fp = prev;
        }
        out
    }

    /// Every hart: pc, privilege, state and current request.
    pub fn harts(&self) -> String {
        let mut out = String::new();
        for (k, h) in self.machine.harts.iter().enumerate() {
            let route = self.debugger.routes.get(k).copied().flatten();
            let open = route.filter(|r| r.answered.is_none() && r.kind != 4);
            let state = if h.prv == Priv::U {
                "user"
            } else if open.is_some() {
                "waiting"
            } else if h.waiting {
                "idle (wfi)"
            } else {
                "kernel"
            };
            let mark = if k == self.selected { "*" } else { " " };
            let _ = write!(
                out,
                "{mark}{k:>3}  {}-mode  {:<10}  cycle {:<10}  pc {}",
                h.prv.letter(),
                state,
                h.cycle,
                self.name_of(h.pc)
            );
            if let Some(r) = open {
                let _ = write!(out, "\n       request: {}", self.route_line(&r));
            }
            // The master: the request it serves now.
            for r in self.debugger.routes.iter().flatten() {
                if r.taken.is_some_and(|(t, _)| t == k) && r.answered.is_none() && r.origin != k && r.kind != 4 {
                    let _ = write!(out, "\n       serving: {}", self.route_line(r));
                }
            }
            out.push('\n');
        }
        out.trim_end().to_string()
    }
}

fn describe_kind(kind: &Kind) -> String {
    let on = |h: &Option<usize>| h.map(|h| format!(" on hart {h}")).unwrap_or_default();
    let from = |h: &Option<usize>| {
        h.map(|h| format!(" from hart {h}"))
            .unwrap_or_else(|| " from any hart".into())
    };
    match kind {
        Kind::At(a) => format!("at {a:#x}"),
        Kind::Trap { cause, hart } => {
            let what = match cause {
                None => "any trap".to_string(),
                Some(super::command::TrapCause::Exception(n)) => format!("trap {n} ({})", cause_name(*n)),
                Some(super::command::TrapCause::Interrupt(n)) => {
                    format!("interrupt {n} ({})", cause_name(*n | 1 << 63))
                }
            };
            format!("{what}{}", on(hart))
        }
        Kind::Ecall { nr, hart } => {
            let what = match nr {
                Some(n) => format!(
                    "ecall {n}{}",
                    syscall_name(*n).map(|s| format!(" ({s})")).unwrap_or_default()
                ),
                None => "any ecall from U-mode".into(),
            };
            format!("{what}{}", on(hart))
        }
        Kind::Serve { hart } => format!("the master takes a request{}", from(hart)),
        Kind::Answer { hart } => format!("the master answers a request{}", from(hart)),
        Kind::Watch { addr, len, .. } => format!("watch {addr:#x} ({len} bytes)"),
    }
}

fn hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}
