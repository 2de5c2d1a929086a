//! The machine: N harts and one bus, run deterministically on one host
//! thread.
//!
//! Scheduling: simulated time advances in rounds of `quantum` cycles. In each
//! round every hart, in hart-id order, runs until its clock reaches the end
//! of the round, so all clocks agree at round boundaries. A hart in WFI just
//! advances its clock. Effects between harts (IPIs, stores seen by others,
//! broken LR reservations) therefore happen at well-defined points, and the
//! same program and flags give the same run on any host.
//!
//! Between rounds the machine polls HTIF, offers console input to the UART,
//! and, when every hart waits for an interrupt, jumps time straight to the
//! next timer event.

use std::io::Write;

use crate::accounting::{Accounting, PendingTransitions};
use crate::bus::{Bus, ExitReason};
use crate::cost::CycleModel;
use crate::cpu::Hart;
use crate::devices::htif::Htif;
use crate::devices::uart::ConsoleInput;
use crate::error::EmuError;
use crate::fdt::{self, FdtOptions};
use crate::loader::ElfImage;
use crate::memmap::MAX_HARTS;

// The observed run loop of the debugger and the traces (crate::debug).
mod observed;
pub use observed::{RunCursor, RunOutcome};

/// The default quantum: cycles a hart runs before the next takes its turn.
/// It bounds how late a hart notices another hart's interrupt, so it is
/// kept near a real inter-processor interrupt's latency.
pub const DEFAULT_QUANTUM: u64 = 100;

/// Exit status when the guest kernel reports a panic.
pub const EXIT_KERNEL_PANIC: u8 = 123;
/// Exit status for a run stopped by `--max-cycles`.
pub const EXIT_MAX_CYCLES: u8 = 124;
/// Exit status when every hart waits for an interrupt that cannot come.
pub const EXIT_DEADLOCK: u8 = 125;

#[derive(Clone, Debug)]
pub struct MachineConfig {
    pub harts: usize,
    /// RAM size in bytes.
    pub ram_size: u64,
    /// Cycles each hart runs before the next one takes its turn.
    pub quantum: u64,
    /// Stop after this many cycles of simulated time.
    pub max_cycles: Option<u64>,
    pub cost: CycleModel,
    /// Run hot blocks as host code where the host allows (cpu/jit.rs); off,
    /// the interpreter runs everything. Results are the same either way.
    pub jit: bool,
    /// Runs of a block before it is translated (0: at its first run, which
    /// tests use to put every block through the translator).
    pub jit_hot_runs: u8,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            harts: 1,
            ram_size: 128 << 20,
            quantum: DEFAULT_QUANTUM,
            max_cycles: None,
            cost: CycleModel::default(),
            jit: true,
            jit_hot_runs: crate::cpu::JIT_HOT_RUNS,
        }
    }
}

impl MachineConfig {
    pub fn validate(&self) -> Result<(), EmuError> {
        if self.harts == 0 || self.harts > MAX_HARTS {
            return Err(EmuError::Config(format!(
                "--harts {}: the machine supports 1 to {MAX_HARTS} harts",
                self.harts
            )));
        }
        if self.ram_size < (1 << 20) || self.ram_size > (1 << 40) {
            return Err(EmuError::Config(format!(
                "--mem {}: RAM must be between 1 MiB and 1 TiB",
                self.ram_size >> 20
            )));
        }
        if self.quantum == 0 {
            return Err(EmuError::Config(
                "--quantum 0: the quantum must be at least one cycle".into(),
            ));
        }
        Ok(())
    }
}

pub struct Machine {
    pub harts: Vec<Hart>,
    pub bus: Bus,
    pub htif: Option<Htif>,
    pub config: MachineConfig,
    /// Simulated time: the start of the current round, in cycles.
    pub now: u64,
    /// Where the device tree was placed, and its size in bytes.
    pub fdt_addr: u64,
    pub fdt_size: u64,
    /// Where an initramfs was placed, [start, end) (empty without one).
    pub initrd: (u64, u64),
    /// Where every hart's cycles went (user, kernel, waiting, idle).
    pub accounting: Accounting,
    pending: PendingTransitions,
    clocks: Vec<u64>,
}

impl Machine {
    pub fn new(
        config: MachineConfig,
        console: Box<dyn Write>,
        input: Box<dyn ConsoleInput>,
    ) -> Result<Machine, EmuError> {
        config.validate()?;
        let mut bus = Bus::new(config.harts, config.ram_size, console, input).map_err(EmuError::Config)?;
        if let Some(blocks) = &mut bus.blocks {
            blocks.set_translation(config.jit, config.jit_hot_runs);
        }
        let harts = (0..config.harts).map(|id| Hart::new(id, config.cost)).collect();
        let accounting = Accounting::new(config.harts, false);
        Ok(Machine {
            harts,
            bus,
            htif: None,
            config,
            now: 0,
            fdt_addr: 0,
            fdt_size: 0,
            initrd: (0, 0),
            accounting,
            pending: Vec::new(),
            clocks: Vec::new(),
        })
    }

    /// Loads a bare-metal ELF and sets every hart at its entry in M-mode
    /// with a0 = hart id and a1 = the device tree, as QEMU virt boots
    /// `-bios none -kernel`.
    pub fn boot_bare(
        &mut self,
        path: &std::path::Path,
        image: &ElfImage,
        options: &FdtOptions,
    ) -> Result<(), EmuError> {
        let ram = self.bus.ram_region();
        image.check_fits(path, ram)?;
        image.load(&mut self.bus);
        self.fdt_addr = self.place_fdt(image.end(), options)?;
        if let Some(tohost) = image.symbol("tohost") {
            self.htif = Some(Htif {
                tohost,
                fromhost: image.symbol("fromhost"),
            });
            // A request can then end a run of merged rounds.
            self.bus.watch(tohost);
        }
        for hart in &mut self.harts {
            hart.pc = image.entry;
            hart.x[10] = hart.id as u64;
            hart.x[11] = self.fdt_addr;
        }
        Ok(())
    }

    /// Writes the device tree near the top of RAM, 2 MiB aligned as QEMU
    /// places it, or just below the top if that would overlap the image.
    fn place_fdt(&mut self, image_end: u64, options: &FdtOptions) -> Result<u64, EmuError> {
        let ram = self.bus.ram_region();
        let options = FdtOptions {
            virtio_blk: self.bus.virtio_blk.is_some(),
            ..options.clone()
        };
        let blob = fdt::build(self.config.harts, ram, &options)
            .map_err(|e| EmuError::Config(format!("cannot build the device tree: {e}")))?;
        let size = blob.len() as u64;
        self.fdt_size = size;
        let top = ram.end() - size;
        let candidates = [top & !((2 << 20) - 1), top & !7];
        let addr = candidates
            .into_iter()
            .find(|&a| a >= image_end && a >= ram.base)
            .ok_or_else(|| {
                EmuError::Config(format!(
                    "--mem is too small: no room for the device tree ({size} bytes) above the program"
                ))
            })?;
        self.bus
            .write_ram_bytes(addr, &blob)
            .expect("device tree placed inside RAM");
        Ok(addr)
    }

    /// Runs until the guest stops, `max_cycles` is reached or no hart can
    /// ever run again.
    pub fn run(&mut self) -> ExitReason {
        let reason = loop {
            if let Some(reason) = self.before_round() {
                break reason;
            }
            self.run_round();
            if let Some(reason) = self.after_round() {
                break reason;
            }
        };
        self.end_run(reason)
    }

    // The steps of `run` around each round, shared with the debugger's
    // observed loop (machine/observed.rs), which must do exactly the same.

    /// Before a round: a reason to stop if the run is over, else the work
    /// due before the round starts.
    fn before_round(&mut self) -> Option<ExitReason> {
        if let Some(reason) = self.bus.exit {
            return Some(reason);
        }
        if self.config.max_cycles.is_some_and(|max| self.now >= max) {
            return Some(ExitReason::MaxCycles);
        }
        self.advance_devices();
        None
    }

    /// After a round: a reason to stop, or the work between rounds (HTIF,
    /// console input, skipping time when every hart waits).
    fn after_round(&mut self) -> Option<ExitReason> {
        if let Some(reason) = self.bus.exit {
            return Some(reason);
        }
        let htif = self.htif.and_then(|h| h.poll(&mut self.bus));
        self.bus.take_watch_hit(); // the guest's request, and the poll's own reset of tohost
        if let Some(code) = htif {
            return Some(ExitReason::Htif(code));
        }
        self.bus.uart.flush(); // what the guest wrote this round, as transmitted
        self.bus.poll_console_input();
        if self.harts.iter().all(|h| h.waiting) {
            return self.skip_idle_time();
        }
        None
    }

    /// The end of a round that ran to `until`.
    fn close_round(&mut self, until: u64) {
        self.now = until;
        self.settle_accounts();
    }

    fn end_run(&mut self, reason: ExitReason) -> ExitReason {
        self.bus.exit = Some(reason);
        self.bus.uart.flush();
        self.settle_accounts();
        reason
    }

    /// Keeps a timeline of every hart's state changes (for traces); call
    /// before running.
    pub fn record_timelines(&mut self) {
        self.accounting = Accounting::new(self.config.harts, true);
    }

    /// Applies the state changes recorded since the last call.
    fn settle_accounts(&mut self) {
        for hart in &mut self.harts {
            if !hart.transitions.is_empty() {
                self.pending
                    .extend(hart.transitions.drain(..).map(|(cycle, t)| (hart.id, cycle, t)));
            }
        }
        self.pending.append(&mut self.bus.annotate.transitions);
        if !self.pending.is_empty() {
            self.clocks.clear();
            self.clocks.extend(self.harts.iter().map(|h| h.cycle));
            self.accounting.apply_until(&mut self.pending, &self.clocks);
        }
    }

    /// Cycles by state (indexed by `HartState as usize`) for each hart, up
    /// to the hart's clock. They add up to the hart's cycles exactly.
    pub fn cycles_by_state(&self) -> Vec<[u64; 4]> {
        self.harts
            .iter()
            .map(|h| self.accounting.harts[h.id].cycles_until(h.cycle))
            .collect()
    }

    /// Each thread's cycles by hart state so far (crate::accounting).
    pub fn thread_cycles(&self) -> std::collections::BTreeMap<u64, [u64; 4]> {
        let clocks: Vec<u64> = self.harts.iter().map(|h| h.cycle).collect();
        self.accounting.thread_cycles_until(&clocks)
    }

    /// One round: every hart runs to the end of the quantum, in id order.
    pub fn run_round(&mut self) {
        let mut until = self.next_round_end();
        if self.rounds_can_merge() {
            until = self.run_merged_rounds(until);
        } else {
            for hart in &mut self.harts {
                hart.run_slice(&mut self.bus, until);
                if self.bus.exit.is_some() {
                    break;
                }
            }
        }
        self.close_round(until);
    }

    /// Whether the work between rounds can only matter after a round in
    /// which the hart touched a device, wrote a CSR, began to wait or wrote
    /// HTIF's tohost: one hart, tohost watched if there is HTIF, and no
    /// console input to come.
    fn rounds_can_merge(&self) -> bool {
        self.harts.len() == 1
            && self.htif.is_none_or(|htif| self.bus.watches(htif.tohost))
            && !self.bus.uart.input_open()
    }

    /// Runs the rounds from the one ending at `until` on, one after another
    /// without the work between them, while that work would do nothing (see
    /// [`Machine::rounds_can_merge`]); returns the end of the last. The
    /// hart's slices end at the same cycles as round by round, so what it
    /// does is unchanged; only host time is saved.
    fn run_merged_rounds(&mut self, mut until: u64) -> u64 {
        /// Rounds at most, so that the loop around comes by now and then.
        const MAX_MERGED: u64 = 10_000;
        let quantum = self.config.quantum;
        let last = (until + MAX_MERGED * quantum).min(self.config.max_cycles.unwrap_or(u64::MAX));
        let hart = &mut self.harts[0];
        // Translated code moves the slice's end on by itself, on the same
        // terms as this loop (Hart::extend_merged_slice).
        let merge = self.bus.next_device_event().is_none().then_some((quantum, last));
        hart.merge_rounds(merge);
        loop {
            hart.round_event = false;
            hart.run_slice(&mut self.bus, until);
            until = hart.slice_until();
            let next = until + quantum;
            if hart.round_event
                || self.bus.watch_hit()
                || hart.waiting
                || self.bus.exit.is_some()
                || self.bus.next_device_event().is_some()
                || next > last
            {
                break;
            }
            until = next;
        }
        hart.merge_rounds(None);
        until
    }

    /// Where the round starting now ends: a quantum later, or earlier at
    /// `--max-cycles` or at the disk's next completion (so that it happens
    /// at its exact cycle, between rounds).
    pub fn next_round_end(&self) -> u64 {
        let mut until = self.now + self.config.quantum;
        if let Some(max) = self.config.max_cycles {
            until = until.min(max);
        }
        if let Some(event) = self.bus.next_device_event() {
            until = until.min(event.max(self.now + 1));
        }
        until
    }

    /// Device work due by now, done between rounds before the next one
    /// starts: the disk completes its requests (devices/virtio_blk.rs).
    pub fn advance_devices(&mut self) {
        self.bus.advance_devices(self.now);
    }

    /// All harts wait: advance time to the next timer event. Returns a
    /// reason to stop if none can ever come.
    fn skip_idle_time(&mut self) -> Option<ExitReason> {
        // An interrupt raised after a hart's turn in this round (an IPI from
        // a hart that ran later) wakes it next round: no time is skipped.
        for hart in &mut self.harts {
            hart.refresh_interrupt_lines(&self.bus);
        }
        if self.harts.iter().any(|h| h.wakeup_pending()) {
            return None;
        }
        let timers = self.harts.iter().filter_map(|h| h.next_timer_event(&self.bus)).min();
        let next = match (timers, self.bus.next_device_event()) {
            (Some(t), Some(d)) => Some(t.min(d)),
            (t, d) => t.or(d),
        };
        let target = match (next, self.config.max_cycles) {
            (Some(t), Some(max)) => t.min(max),
            (Some(t), None) => t,
            (None, _) if self.bus.uart.input_open() => return None, // input may still wake a hart
            (None, _) => return Some(ExitReason::Deadlock),
        };
        if target <= self.now {
            return None;
        }
        for hart in &mut self.harts {
            if target > hart.cycle {
                hart.stats.wfi_cycles += target - hart.cycle;
                hart.cycle = target;
            }
        }
        self.now = target;
        None
    }

    /// One line per hart naming its pc and privilege, for diagnostics.
    pub fn hart_positions(&self) -> String {
        self.harts
            .iter()
            .map(|h| {
                format!(
                    "hart {} at pc {:#x} ({}-mode{})",
                    h.id,
                    h.pc,
                    h.prv.letter(),
                    if h.waiting { ", in WFI" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The per-hart statistics lines printed by `rvmsmp bare --stats`:
    /// instructions retired, cycles, cycles in WFI, and where the cycles
    /// went (without a kernel's annotations: U-mode is user, WFI is idle,
    /// the rest is kernel).
    pub fn stats_report(&self) -> String {
        let mut out = format!(
            "{:>4} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14}\n",
            "hart", "instret", "cycles", "wfi-cycles", "user", "kernel", "idle"
        );
        for (h, [user, kernel, _waiting, idle]) in self.harts.iter().zip(self.cycles_by_state()) {
            out += &format!(
                "{:>4} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14}\n",
                h.id, h.instret, h.cycle, h.stats.wfi_cycles, user, kernel, idle
            );
        }
        out
    }
}

/// The process exit status for a finished run.
pub fn exit_status(reason: ExitReason) -> u8 {
    let code = |c: u64| {
        if c == 0 {
            0
        } else if c & 0xff == 0 {
            1
        } else {
            (c & 0xff) as u8
        }
    };
    match reason {
        ExitReason::Finisher(c) => code(c as u64),
        ExitReason::Htif(c) => code(c),
        ExitReason::Reset => 0,
        ExitReason::MaxCycles => EXIT_MAX_CYCLES,
        ExitReason::Deadlock => EXIT_DEADLOCK,
    }
}
