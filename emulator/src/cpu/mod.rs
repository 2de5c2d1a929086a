//! One RISC-V hart: RV64IMAFDC with Zicsr, Zifencei and Zicntr, machine,
//! supervisor and user modes, Sv39 and Sstc.
//!
//! A hart owns its architectural state and nothing else; memory and devices
//! are reached through the [`Bus`] it is handed, so any number of harts can
//! share one machine.

pub(crate) mod blocks;
pub mod csr;
pub mod decode;
mod execute;
mod fpu;
mod icache;
#[cfg(all(target_arch = "x86_64", unix))]
mod jit;
pub mod mmu;
mod observed; // the debugger's twin of run_slice (crate::debug)
pub mod rvc;
pub mod trap;

use crate::accounting::Transition;
use crate::bus::Bus;
use crate::cost::CycleModel;
use csr::{Csrs, Interrupts, MENVCFG_STCE};
use icache::DecodeCache;
use mmu::Tlb;
pub use trap::{Exception, Interrupt, TakenTrap, Trap};

/// Runs a block needs before it is translated to host code: code that runs
/// once (boot, a program's start-up) is not worth translating.
pub const JIT_HOT_RUNS: u8 = 8;

/// Privilege levels, ordered so that `U < S < M`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Priv {
    U = 0,
    S = 1,
    M = 3,
}

impl Priv {
    /// The privilege encoded in an MPP-style field (2, reserved, reads as U).
    pub fn from_bits(bits: u64) -> Priv {
        match bits & 3 {
            3 => Priv::M,
            1 => Priv::S,
            _ => Priv::U,
        }
    }

    pub fn letter(self) -> char {
        match self {
            Priv::U => 'U',
            Priv::S => 'S',
            Priv::M => 'M',
        }
    }
}

/// Counters kept for the statistics report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HartStats {
    /// Cycles spent parked in WFI.
    pub wfi_cycles: u64,
    /// Traps taken (exceptions and interrupts).
    pub traps: u64,
    /// Environment calls from U-mode: the system calls this hart raised.
    pub ecalls_from_user: u64,
    /// Cycles spent at each privilege, indexed by `Priv as usize`, up to the
    /// last privilege change (WFI included); see [`Hart::cycles_by_priv`].
    pub priv_cycles: [u64; 4],
    /// The cycle of the last privilege change.
    pub priv_since: u64,
    /// Instructions retired in U-mode.
    pub user_instret: u64,
    /// instret when the hart last entered U-mode.
    user_instret_mark: u64,
}

/// The architectural state of one hart.
#[derive(Clone, Debug)]
pub struct Hart {
    pub id: usize,
    /// Integer registers; `x[0]` is always zero.
    pub x: [u64; 32],
    /// Floating-point registers, 64 bits wide; a single is held NaN-boxed
    /// (upper 32 bits all ones).
    pub f: [u64; 32],
    pub pc: u64,
    pub prv: Priv,
    pub csr: Csrs,
    /// Cycles since reset (the hart's local clock).
    pub cycle: u64,
    /// Instructions retired since reset.
    pub instret: u64,
    /// Parked in WFI until an interrupt is pending.
    pub waiting: bool,
    pub stats: HartStats,
    pub last_trap: Option<TakenTrap>,
    pub(crate) tlb: Tlb,
    decoded: DecodeCache,
    /// Interrupt lines driven by devices: MSIP, MTIP, MEIP, SEIP and, with
    /// Sstc, STIP.
    mip_hw: u64,
    /// mip as software reads it, kept current whenever either half changes.
    mip_cached: u64,
    pub(crate) cost: CycleModel,
    /// State changes for cycle accounting, drained by the machine each round.
    pub transitions: Vec<(u64, Transition)>,
    /// `Bus::irq_epoch_of` this hart when the lines were last read, and the next timer
    /// event then: while neither changes, a parked hart has nothing to check.
    seen_epoch: u64,
    seen_timer: Option<u64>,
    /// The inner loop runs while `cycle < slice_limit`; setting it to zero
    /// makes the hart re-read its interrupt lines at once.
    slice_limit: u64,
    /// Set by `resync`: the interrupt lines must be read again.
    lines_stale: bool,
    /// Set by `resync` and WFI: the hart did something that the work
    /// between rounds may answer (see `Machine::run_merged_rounds`).
    pub(crate) round_event: bool,
    /// Where the slice being run ends (see [`Hart::run_slice`]).
    slice_until: u64,
    /// In a run of merged rounds: the quantum, and the last end a slice may
    /// be moved on to.
    merge: Option<(u64, u64)>,
    /// `merge.is_some()`, where translated code can read it.
    merging: bool,
}

impl Hart {
    pub fn new(id: usize, cost: CycleModel) -> Hart {
        Hart {
            id,
            x: [0; 32],
            f: [0; 32],
            pc: 0,
            prv: Priv::M,
            csr: Csrs::default(),
            cycle: 0,
            instret: 0,
            waiting: false,
            stats: HartStats::default(),
            last_trap: None,
            tlb: Tlb::default(),
            decoded: DecodeCache::default(),
            mip_hw: 0,
            mip_cached: 0,
            cost,
            transitions: Vec::new(),
            seen_epoch: u64::MAX,
            seen_timer: None,
            slice_limit: 0,
            lines_stale: true,
            round_event: false,
            slice_until: 0,
            merge: None,
            merging: false,
        }
    }

    /// mip as software reads it: software-written bits and device lines.
    pub fn mip(&self) -> u64 {
        self.mip_cached
    }

    pub(crate) fn update_mip(&mut self) {
        let mut sw = self.csr.mip_sw;
        if self.csr.menvcfg & MENVCFG_STCE != 0 {
            sw &= !Interrupts::STI.bits(); // STIP follows stimecmp
        }
        self.mip_cached = sw | self.mip_hw;
    }

    #[inline(never)] // rare: kept out of the instruction loop
    pub(crate) fn set_priv(&mut self, prv: Priv) {
        self.tlb.flush_fast(); // trap entries and returns: privilege and MPRV may change
        self.stats.priv_cycles[self.prv as usize] += self.cycle - self.stats.priv_since;
        self.stats.priv_since = self.cycle;
        if prv == Priv::U && self.prv != Priv::U {
            // Only an xRET enters U-mode, and it retires just after this.
            self.stats.user_instret_mark = self.instret + 1;
            self.transitions.push((self.cycle, Transition::EnterUser));
        } else if prv != Priv::U && self.prv == Priv::U {
            // Only a trap leaves U-mode; the trapping instruction does not retire.
            self.stats.user_instret += self.instret - self.stats.user_instret_mark;
            self.transitions.push((self.cycle, Transition::LeaveUser));
        }
        self.prv = prv;
    }

    /// Instructions retired in U-mode so far.
    pub fn user_instructions(&self) -> u64 {
        let running = if self.prv == Priv::U {
            self.instret - self.stats.user_instret_mark
        } else {
            0
        };
        self.stats.user_instret + running
    }

    /// Parks the hart in WFI.
    #[inline(never)] // rare: kept out of the instruction loop
    pub(crate) fn start_waiting(&mut self) {
        self.waiting = true;
        self.round_event = true;
        self.transitions.push((self.cycle, Transition::WfiStart));
    }

    /// Ends a WFI.
    #[inline(never)] // rare: kept out of the instruction loop
    pub(crate) fn stop_waiting(&mut self) {
        if self.waiting {
            self.waiting = false;
            self.transitions.push((self.cycle, Transition::WfiEnd));
        }
    }

    /// Cycles spent at each privilege level (U, S, _, M) up to now, WFI
    /// included in the level the hart waited at.
    pub fn cycles_by_priv(&self) -> [u64; 4] {
        let mut c = self.stats.priv_cycles;
        c[self.prv as usize] += self.cycle - self.stats.priv_since;
        c
    }

    /// Makes the hart stop its inner loop and re-read its interrupt lines:
    /// called after anything that may change them (device accesses, CSR writes).
    pub(crate) fn resync(&mut self) {
        self.slice_limit = 0;
        self.lines_stale = true;
        self.round_event = true;
    }

    /// Reads the interrupt lines that devices drive into mip.
    pub fn refresh_interrupt_lines(&mut self, bus: &Bus) {
        let now = self.cycle;
        let mut hw = 0;
        if bus.clint.msip(self.id) {
            hw |= Interrupts::MSI.bits();
        }
        let mtime = bus.clint.mtime(now);
        if mtime >= bus.clint.mtimecmp(self.id) {
            hw |= Interrupts::MTI.bits();
        }
        if bus.plic.context_line(2 * self.id) {
            hw |= Interrupts::MEI.bits();
        }
        if bus.plic.context_line(2 * self.id + 1) {
            hw |= Interrupts::SEI.bits();
        }
        if self.csr.menvcfg & MENVCFG_STCE != 0 && mtime >= self.csr.stimecmp {
            hw |= Interrupts::STI.bits();
        }
        self.mip_hw = hw;
        self.update_mip();
    }

    /// The first cycle after now at which one of this hart's timers fires,
    /// if one is armed and not yet firing.
    pub fn next_timer_event(&self, bus: &Bus) -> Option<u64> {
        let stimecmp = (self.csr.menvcfg & MENVCFG_STCE != 0).then_some(self.csr.stimecmp);
        [Some(bus.clint.mtimecmp(self.id)), stimecmp]
            .into_iter()
            .flatten()
            .filter_map(|cmp| bus.clint.cycle_of_tick(cmp))
            .filter(|&c| c > self.cycle)
            .min()
    }

    /// Lets the slices run from now on move their end on by `quantum` at a
    /// time, up to `last`, while nothing happens that the work between
    /// rounds would answer (`None`: they end where they are told to). See
    /// `Machine::run_merged_rounds`.
    pub(crate) fn merge_rounds(&mut self, merge: Option<(u64, u64)>) {
        self.merge = merge;
        self.merging = merge.is_some();
    }

    /// Where the last slice ended (see [`Hart::run_slice`]).
    pub(crate) fn slice_until(&self) -> u64 {
        self.slice_until
    }

    /// At the end of a slice that is one of merged rounds: moves it on by a
    /// quantum when the hart got there with nothing done that the work
    /// between rounds would answer, as `Machine::run_merged_rounds` would
    /// have. Translated code calls this where it would leave at the end of
    /// the slice, with the hart's `cycle` not yet written back (so it is
    /// not read here). Returns how far `slice_limit` moved (0: not at all,
    /// and the slice ends).
    pub(crate) fn extend_merged_slice(&mut self, bus: &Bus) -> u64 {
        let Some((quantum, last)) = self.merge else {
            return 0;
        };
        // Ended by a timer, or after something the rounds' work answers.
        if self.slice_limit != self.slice_until || self.round_event || self.waiting || bus.watch_hit() {
            return 0;
        }
        let next = self.slice_until + quantum;
        if next > last {
            return 0;
        }
        // What a new stretch would find: the lines unchanged (nothing but a
        // timer, which bounds the slice, can have changed them), so no
        // interrupt to take, and the same next timer event.
        let limit = self.seen_timer.map_or(next, |t| t.min(next));
        self.slice_until = next;
        let moved = limit - self.slice_limit;
        self.slice_limit = limit;
        moved
    }

    /// Runs this hart until its clock reaches `until` (or the machine stops).
    ///
    /// In a run of merged rounds (`Hart::merge_rounds`) translated code
    /// may move `until` on, quantum by quantum (`Hart::extend_merged_slice`);
    /// the slice then ends at `Hart::slice_until`.
    pub fn run_slice(&mut self, bus: &mut Bus, until: u64) {
        self.slice_until = until;
        if self.skip_parked_slice(bus, until) {
            return;
        }
        let mut blocks = bus.blocks.take().unwrap_or_default();
        while self.cycle < self.slice_until && bus.exit.is_none() {
            if !self.begin_stretch(bus, self.slice_until) {
                continue;
            }
            while self.cycle < self.slice_limit {
                if self.take_pending_interrupt(bus) {
                    continue;
                }
                self.run_block(bus, &mut blocks);
                if self.waiting {
                    break;
                }
            }
        }
        bus.blocks = Some(blocks);
    }

    /// Parked, and neither a device nor a timer can have woken it: the whole
    /// slice to `until` is spent waiting. Returns whether it was.
    #[inline]
    pub(crate) fn skip_parked_slice(&mut self, bus: &Bus, until: u64) -> bool {
        if self.waiting && bus.irq_epoch_of(self.id) == self.seen_epoch && self.seen_timer.is_none_or(|t| t >= until) {
            self.stats.wfi_cycles += until.saturating_sub(self.cycle);
            self.cycle = self.cycle.max(until);
            return true;
        }
        false
    }

    /// Starts a stretch of the slice: re-reads the interrupt lines and sets
    /// `slice_limit` to `until` or the next timer event, whichever is first.
    /// A waiting hart that nothing wakes spends the stretch waiting; returns
    /// whether instructions may run until `slice_limit`.
    #[inline]
    pub(crate) fn begin_stretch(&mut self, bus: &Bus, until: u64) -> bool {
        // The lines change only through a device (which bumps irq_epoch), a
        // timer reaching its compare value (at seen_timer) or the hart's own
        // CSR writes (resync); otherwise they are as last read.
        if self.lines_stale
            || bus.irq_epoch_of(self.id) != self.seen_epoch
            || self.seen_timer.is_some_and(|t| t <= self.cycle)
        {
            self.refresh_interrupt_lines(bus);
            self.seen_epoch = bus.irq_epoch_of(self.id);
            self.seen_timer = self.next_timer_event(bus);
            self.lines_stale = false;
        }
        let limit = self.seen_timer.map_or(until, |t| t.min(until));
        if self.waiting {
            if !self.wakeup_pending() {
                self.stats.wfi_cycles += limit - self.cycle;
                self.cycle = limit;
                return false;
            }
            self.stop_waiting();
        }
        self.slice_limit = limit;
        true
    }

    /// Takes the interrupt that is pending and enabled, if any; returns
    /// whether one was taken.
    #[inline]
    pub(crate) fn take_pending_interrupt(&mut self, bus: &mut Bus) -> bool {
        if self.mip_cached & self.csr.mie == 0 {
            return false;
        }
        let Some(irq) = self.pending_interrupt() else {
            return false;
        };
        self.stop_waiting();
        bus.drop_reservation(self.id); // an SC after a trap fails: allowed, and simpler for kernels
        self.take_interrupt(irq, self.pc);
        true
    }

    /// Fetches, decodes and executes one instruction, or takes the trap it raises.
    pub fn step(&mut self, bus: &mut Bus) {
        let pc = self.pc;
        let (pa, bits) = match self.fetch(bus) {
            Ok(fetched) => fetched,
            Err(trap) => {
                self.cycle += self.cost.base;
                bus.drop_reservation(self.id);
                self.take_exception(trap, pc);
                return;
            }
        };
        let insn = self.decoded.get(pa, bits);
        self.cycle += self.cost.insn(insn.op);
        match self.execute(&insn, bus) {
            Ok(()) => self.instret += 1,
            Err(trap) => {
                bus.drop_reservation(self.id);
                self.take_exception(trap, pc);
            }
        }
    }

    /// The hart's view of mtime: simulated cycles converted to timer ticks.
    pub fn mtime(&self, bus: &Bus) -> u64 {
        bus.clint.mtime(self.cycle)
    }
}
