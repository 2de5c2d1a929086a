//! The traces: `--trace traps FILE`, every trap, interrupt and
//! inter-processor interrupt, one line each; and `--trace insns FILE`, every
//! retired instruction in the format of Spike's `--log-commits`, so a trace
//! can be compared with Spike's line for line (docs/debugging.md).
//!
//! Both are [`Observer`]s and never stop the run.

use std::io::Write;

use super::access::{self, AccessKind};
use super::mem::{self, View};
use super::observer::{HartEvent, Observer};
use crate::bus::Bus;
use crate::cpu::csr::{addr, FFLAGS_MASK};
use crate::cpu::decode::{Insn, Op};
use crate::cpu::trap::cause_name;
use crate::cpu::Hart;
use crate::memmap::CLINT;

/// Which harts and which cycles a trace covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The harts traced, as inclusive ranges (all when `None`): kept as
    /// given, never expanded, so that any range costs the same.
    pub harts: Option<Vec<(usize, usize)>>,
    /// The cycles traced, `[start, end)` on each hart's clock.
    pub start: u64,
    pub end: Option<u64>,
}

impl Filter {
    /// Parses `--trace-harts` (`0,3,5-7`) and `--trace-cycles` (`START..END`,
    /// either end may be left out).
    pub fn parse(harts: Option<&str>, cycles: Option<&str>) -> Result<Filter, String> {
        let mut filter = Filter::default();
        if let Some(list) = harts {
            let bad = || format!("--trace-harts {list}: expected hart numbers and ranges, e.g. 0,3,5-7");
            let mut set = Vec::new();
            for part in list.split(',') {
                let part = part.trim();
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                let a: usize = a.trim().parse().map_err(|_| bad())?;
                let b: usize = b.trim().parse().map_err(|_| bad())?;
                if a > b {
                    return Err(bad());
                }
                set.push((a, b));
            }
            filter.harts = Some(set);
        }
        if let Some(window) = cycles {
            let bad = || format!("--trace-cycles {window}: expected START..END in cycles, e.g. 1000..50000");
            let (a, b) = window.split_once("..").ok_or_else(bad)?;
            if !a.is_empty() {
                filter.start = a.parse().map_err(|_| bad())?;
            }
            if !b.is_empty() {
                filter.end = Some(b.parse().map_err(|_| bad())?);
            }
            if filter.end.is_some_and(|e| e <= filter.start) {
                return Err(format!("--trace-cycles {window}: the window is empty"));
            }
        }
        Ok(filter)
    }

    /// Whether hart `hart` at cycle `cycle` is traced.
    pub fn wants(&self, hart: usize, cycle: u64) -> bool {
        cycle >= self.start
            && self.end.is_none_or(|e| cycle < e)
            && self
                .harts
                .as_ref()
                .is_none_or(|ranges| ranges.iter().any(|&(a, b)| (a..=b).contains(&hart)))
    }
}

/// `--trace traps`: one line per trap, interrupt and IPI.
pub struct TrapTrace {
    out: Box<dyn Write>,
    filter: Filter,
    /// The bus's count of CLINT writes before the current instruction.
    epoch: u64,
    /// The first write error, reported at the end.
    pub error: Option<std::io::Error>,
}

impl TrapTrace {
    pub fn new(mut out: Box<dyn Write>, filter: Filter) -> TrapTrace {
        let error = writeln!(
            out,
            "# rvmsmp trap trace: cycle hart from->to kind cause (name) epc tval | cycle hart ipi -> target"
        )
        .err();
        TrapTrace {
            out,
            filter,
            epoch: 0,
            error,
        }
    }

    fn line(&mut self, text: std::fmt::Arguments) {
        if self.error.is_none() {
            self.error = writeln!(self.out, "{text}").err();
        }
    }

    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

/// The CLINT's msip registers: a 4-byte word per hart from its base.
const MSIP_END: u64 = 0x4000;

impl Observer for TrapTrace {
    fn before(&mut self, _hart: &mut Hart, bus: &Bus) -> bool {
        // Every write to the CLINT moves the bus's epoch: an instruction
        // that leaves it alone sent no IPI, and needs no closer look.
        self.epoch = bus.clint_writes;
        false
    }

    fn after(&mut self, hart: &mut Hart, bus: &Bus, event: &HartEvent) -> bool {
        if let HartEvent::Retired { insn, .. } = event {
            if bus.clint_writes != self.epoch && self.filter.wants(hart.id, hart.cycle) {
                // An IPI is a store of an odd value to a hart's msip. A store
                // writes no register, so the registers are still its own.
                if let Some(a) = access::of(insn, &hart.x, &hart.f) {
                    let pa = mem::translate(hart, bus, a.va, View::Data);
                    let to_msip = pa.is_some_and(|pa| (CLINT.base..CLINT.base + MSIP_END).contains(&pa));
                    if a.kind == AccessKind::Store && to_msip && a.value & 1 == 1 {
                        let target = (pa.unwrap_or(CLINT.base) - CLINT.base) / 4;
                        self.line(format_args!("{} hart {} ipi -> hart {}", hart.cycle, hart.id, target));
                    }
                }
            }
        }
        if let Some((from, trap)) = event.trap() {
            let cycle = hart.cycle - hart.cost.trap_entry;
            if !self.filter.wants(hart.id, cycle) {
                return false;
            }
            let interrupt = trap.cause >> 63 == 1;
            self.line(format_args!(
                "{} hart {} {}->{} {} {} ({}) epc {:#x} tval {:#x}",
                cycle,
                hart.id,
                from.letter(),
                trap.to.letter(),
                if interrupt { "interrupt" } else { "exception" },
                trap.cause & !(1 << 63),
                cause_name(trap.cause),
                trap.epc,
                trap.tval
            ));
        }
        false
    }
}

/// The state an instruction may change, kept before it runs.
#[derive(Clone, Copy)]
struct Before {
    traced: bool,
    x: [u64; 32],
    f: [u64; 32],
    mstatus: u64,
    /// fcsr before a floating-point instruction whose flags are probed.
    probed_fcsr: Option<u64>,
}

/// `--trace insns`: Spike's `--log-commits` format.
///
/// A line per retired instruction: `core   H: P 0xPC (0xBITS)`, then every
/// register written, in Spike's order (by `number << 4 | class`: x is 0, f
/// is 1, a CSR is 4; so `f3` comes before `x5`, and `fflags` between `x1`
/// and `x2`), each as ` x5  0x...`, ` f3  0x...` or ` c768_mstatus 0x...`,
/// then ` mem 0xADDR` for a load and ` mem 0xADDR 0xVALUE` for a store.
/// Writes to x0 are not shown. A trapping instruction has no line.
pub struct InsnTrace {
    out: Box<dyn Write>,
    filter: Filter,
    before: Before,
    pub error: Option<std::io::Error>,
}

impl InsnTrace {
    pub fn new(out: Box<dyn Write>, filter: Filter) -> InsnTrace {
        InsnTrace {
            out,
            filter,
            before: Before {
                traced: false,
                x: [0; 32],
                f: [0; 32],
                mstatus: 0,
                probed_fcsr: None,
            },
            error: None,
        }
    }

    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

/// A value as Spike prints it: `width` bits, zero-padded hex.
fn value(width: u64, v: u64) -> String {
    match width {
        8 => format!("0x{:02x}", v as u8),
        16 => format!("0x{:04x}", v as u16),
        32 => format!("0x{:08x}", v as u32),
        _ => format!("0x{v:016x}"),
    }
}

/// The CSRs Spike logs for a write to `csr`: the CSRs behind a view are
/// logged in its place.
fn logged_csrs(csr: u16) -> &'static [u16] {
    match csr {
        addr::SSTATUS => &[addr::MSTATUS],
        addr::SIE => &[addr::MIE],
        addr::SIP => &[addr::MIP],
        addr::FCSR => &[addr::FFLAGS, addr::FRM],
        addr::FFLAGS => &[addr::FFLAGS],
        addr::FRM => &[addr::FRM],
        addr::MSTATUS => &[addr::MSTATUS],
        _ => &[],
    }
}

impl InsnTrace {
    #[allow(clippy::too_many_arguments)]
    fn line(&self, hart: &Hart, bus: &Bus, pc: u64, prv: u8, bits: u32, insn: &Insn, raised_flags: bool) -> String {
        let b = &self.before;
        let mut regs: Vec<(u32, String)> = Vec::new();
        let csr = |regs: &mut Vec<(u32, String)>, c: u16| {
            let key = (c as u32) << 4 | 4;
            if !regs.iter().any(|(k, _)| *k == key) {
                let name = super::csr_names::name(c).unwrap_or_else(|| "unknown".into());
                regs.push((key, format!(" c{c}_{name} {}", value(64, hart.csr_read(bus, c)))));
            }
        };
        if access::writes_x(insn.op) && insn.rd != 0 {
            regs.push((
                (insn.rd as u32) << 4,
                format!(" x{:<2} {}", insn.rd, value(64, hart.x[insn.rd as usize])),
            ));
        }
        if access::writes_f(insn.op) {
            regs.push((
                (insn.rd as u32) << 4 | 1,
                format!(" f{:<2} {}", insn.rd, value(64, hart.f[insn.rd as usize])),
            ));
        }
        use Op::*;
        match insn.op {
            Csrrw | Csrrwi | Csrrs | Csrrsi | Csrrc | Csrrci => {
                let writes = matches!(insn.op, Csrrw | Csrrwi) || insn.rs1 != 0;
                if writes {
                    let number = (insn.imm as u32 & 0xfff) as u16;
                    let list = logged_csrs(number);
                    if list.is_empty() {
                        csr(&mut regs, number);
                    }
                    for &c in list {
                        csr(&mut regs, c);
                    }
                }
            }
            Mret | Sret => csr(&mut regs, addr::MSTATUS),
            _ => {}
        }
        if raised_flags {
            csr(&mut regs, addr::FFLAGS);
        }
        if hart.csr_read(bus, addr::MSTATUS) != b.mstatus {
            csr(&mut regs, addr::MSTATUS);
        }
        regs.sort_by_key(|(k, _)| *k);
        let mut line = format!(
            "core{:>4}: {} 0x{pc:016x} ({})",
            hart.id,
            prv,
            value(if insn.len == 2 { 16 } else { 32 }, bits as u64)
        );
        for (_, r) in regs {
            line += &r;
        }
        if let Some(a) = access::of(insn, &b.x, &b.f) {
            let sc_failed = matches!(insn.op, ScW | ScD) && insn.rd != 0 && hart.x[insn.rd as usize] != 0;
            if matches!(a.kind, AccessKind::Load | AccessKind::ReadWrite) {
                line += &format!(" mem {}", value(64, a.va));
            }
            if a.kind == AccessKind::Store && !sc_failed {
                line += &format!(" mem {} {}", value(64, a.va), value(8 * a.size, a.value));
            }
            if a.kind == AccessKind::ReadWrite {
                let new = mem::read_value(hart, bus, a.va, a.size as usize, View::Data).unwrap_or(0);
                line += &format!(" mem {} {}", value(64, a.va), value(8 * a.size, new));
            }
        }
        line
    }
}

impl Observer for InsnTrace {
    fn before(&mut self, hart: &mut Hart, bus: &Bus) -> bool {
        let b = &mut self.before;
        b.traced = self.filter.wants(hart.id, hart.cycle);
        b.probed_fcsr = None;
        if !b.traced {
            return false;
        }
        b.x = hart.x;
        b.f = hart.f;
        b.mstatus = hart.csr_read(bus, addr::MSTATUS);
        // Spike logs fflags when an instruction raises a flag, even one
        // already set: clear the flags so the raised ones show, and put the
        // old ones back after (no instruction of the kind reads them).
        if let Some((_, insn)) = mem::fetch(hart, bus, hart.pc) {
            if access::may_raise_fp_flags(insn.op) {
                b.probed_fcsr = Some(hart.csr.fcsr);
                hart.csr.fcsr &= !FFLAGS_MASK;
            }
        }
        false
    }

    fn after(&mut self, hart: &mut Hart, bus: &Bus, event: &HartEvent) -> bool {
        if !self.before.traced {
            return false;
        }
        // Put back the flags hidden before the instruction, keeping those it raised.
        let mut raised = false;
        if let Some(old) = self.before.probed_fcsr.take() {
            raised = hart.csr.fcsr & FFLAGS_MASK != 0;
            hart.csr.fcsr = if matches!(event, HartEvent::Retired { .. }) {
                hart.csr.fcsr | old
            } else {
                old
            };
        }
        if let HartEvent::Retired { pc, prv, bits, insn } = event {
            let text = self.line(hart, bus, *pc, *prv as u8, *bits, insn, raised);
            if self.error.is_none() {
                self.error = writeln!(self.out, "{text}").err();
            }
        }
        false
    }
}

/// The debugger and the traces as one observer. Before an instruction the
/// debugger goes first, and when it stops the run the traces do not see
/// the instruction yet (they will when the run goes on); after it the
/// traces go first, so the debugger stops on the state the guest has.
pub struct Hooks<'a> {
    pub debugger: Option<&'a mut dyn Observer>,
    pub traces: Vec<&'a mut dyn Observer>,
}

impl Observer for Hooks<'_> {
    fn before(&mut self, hart: &mut Hart, bus: &Bus) -> bool {
        if let Some(d) = &mut self.debugger {
            if d.before(hart, bus) {
                return true;
            }
        }
        for t in &mut self.traces {
            t.before(hart, bus);
        }
        false
    }
    fn after(&mut self, hart: &mut Hart, bus: &Bus, event: &HartEvent) -> bool {
        for t in &mut self.traces {
            t.after(hart, bus, event);
        }
        self.debugger.as_mut().is_some_and(|d| d.after(hart, bus, event))
    }
}
