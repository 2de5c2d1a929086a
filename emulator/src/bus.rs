//! The system bus: RAM and the devices at their addresses from
//! [`crate::memmap`]. RAM is reached through direct slice accesses; device
//! registers through `read_mmio` and `write_mmio`, which route by address.

use std::io::Write;

use crate::devices::annotate::{self, Annotate};
use crate::devices::clint::Clint;
use crate::devices::plic::Plic;
use crate::devices::test_finisher::{self, FinisherRequest};
use crate::devices::uart::{ConsoleInput, Uart};
use crate::devices::virtio_blk::{self, VirtioBlk};
use crate::memmap::{self, Region};
use crate::zeroed::Zeroed;

/// Why the machine stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// The guest powered off through the test finisher with this status.
    Finisher(u32),
    /// The guest asked the test finisher for a reset.
    Reset,
    /// The guest wrote an exit code to HTIF tohost.
    Htif(u64),
    /// `--max-cycles` was reached.
    MaxCycles,
    /// Every hart waits for an interrupt that nothing can raise.
    Deadlock,
}

/// RAM, mapped zeroed and untouched (crate::zeroed): the host commits its
/// pages only when the guest first touches them, so a large `--mem` costs
/// nothing up front.
pub struct Ram {
    bytes: Zeroed<u8>,
    /// One bit per 64-byte line: set when instructions were decoded from
    /// the line into the block cache (cpu/blocks.rs), cleared when the line
    /// is written. Lines, not pages, so that data kept next to code (a
    /// kernel's .data after its .text) does not make the code look modified.
    code_lines: Zeroed<u64>,
    /// The words of `code_lines` set nonzero since the last
    /// [`Bus::forget_code`], which then costs what was marked rather than
    /// RAM's size.
    marked_words: Vec<usize>,
    /// Bumped by every write to a line whose bit was set: the decoded
    /// blocks are stale from then on.
    code_generation: u64,
    /// A line whose bit stays set though it holds no code, so that every
    /// store to it takes the slow paths, which note it in `watch_hit`
    /// (HTIF's tohost; see [`Bus::watch`]).
    watched_line: Option<usize>,
    watch_hit: bool,
}

/// Asks the host to back RAM with transparent huge pages where it can, as
/// QEMU does: a guest that ranges over much memory then misses in the
/// host's TLB far less. Still only the parts the guest touches are mapped
/// (in 2 MiB pieces rather than 4 KiB ones). A host that declines is fine.
fn back_with_huge_pages(bytes: &mut [u8]) {
    #[cfg(target_os = "linux")]
    // SAFETY: advice about the mapping under our own allocation, whose
    // contents it does not change.
    unsafe {
        let start = bytes.as_mut_ptr() as usize;
        let aligned = start.next_multiple_of(4096);
        let end = start + bytes.len();
        if end > aligned {
            libc::madvise(aligned as *mut libc::c_void, end - aligned, libc::MADV_HUGEPAGE);
        }
    }
}

/// log2 of the size of a line of [`Ram::code_lines`].
const CODE_LINE_SHIFT: usize = 6;

impl Ram {
    fn new(size: usize) -> Result<Ram, String> {
        let too_big = |e: String| format!("--mem {} MiB: {e}", size >> 20);
        let mut bytes = Zeroed::new(size).map_err(too_big)?;
        back_with_huge_pages(&mut bytes);
        Ok(Ram {
            bytes,
            code_lines: Zeroed::new((size >> CODE_LINE_SHIFT).div_ceil(64) + 1).map_err(too_big)?,
            marked_words: Vec::new(),
            code_generation: 0,
            watched_line: None,
            watch_hit: false,
        })
    }

    /// Notes a write to RAM bytes [off, off + len): if it touches a line
    /// that holds decoded code, the decoded blocks are stale.
    #[inline]
    fn written(&mut self, off: usize, len: usize) {
        let (first, last) = (off >> CODE_LINE_SHIFT, (off + len.max(1) - 1) >> CODE_LINE_SHIFT);
        if (first..=last).any(|line| self.code_lines[line >> 6] >> (line & 63) & 1 != 0) {
            self.code_written(first, last);
        }
    }

    #[cold]
    fn code_written(&mut self, first: usize, last: usize) {
        let mut code = false;
        for line in first..=last {
            if self.watched_line == Some(line) {
                self.watch_hit = true;
            } else if self.code_lines[line >> 6] >> (line & 63) & 1 != 0 {
                self.code_lines[line >> 6] &= !(1 << (line & 63));
                code = true;
            }
        }
        if code {
            self.code_generation += 1;
        }
    }

    /// Marks RAM bytes [off, off + len) as decoded code.
    fn mark_code(&mut self, off: usize, len: usize) {
        for line in off >> CODE_LINE_SHIFT..=(off + len.max(1) - 1) >> CODE_LINE_SHIFT {
            self.mark_line(line);
        }
    }

    fn mark_line(&mut self, line: usize) {
        let word = &mut self.code_lines[line >> 6];
        if *word == 0 {
            self.marked_words.push(line >> 6);
        }
        *word |= 1 << (line & 63);
    }

    #[inline]
    fn offset(&self, pa: u64, size: u64) -> Option<usize> {
        let off = pa.wrapping_sub(memmap::DRAM_BASE);
        (off < self.bytes.len() as u64 && size <= self.bytes.len() as u64 - off).then_some(off as usize)
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// All of RAM, for writing: whatever the caller writes, decoded blocks
    /// are dropped.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.code_generation += 1;
        &mut self.bytes
    }
}

pub struct Bus {
    pub ram: Ram,
    pub clint: Clint,
    pub plic: Plic,
    pub uart: Uart,
    pub annotate: Annotate,
    /// The disk, in the first virtio-mmio slot (`--disk`); without one the
    /// virtio-mmio slots are not mapped.
    pub virtio_blk: Option<VirtioBlk>,
    /// Decoded instructions, shared by all harts (cpu/blocks.rs). A hart
    /// takes it out while it runs a slice, so that it holds the bus and the
    /// cache at once; boxed, so that moving it costs one pointer.
    pub(crate) blocks: Option<Box<crate::cpu::blocks::BlockCache>>,
    /// Set when the machine must stop; harts check it between slices.
    pub exit: Option<ExitReason>,
    /// Counts device accesses that may have changed any hart's interrupt
    /// lines, so a hart parked in WFI can tell, cheaply, that nothing
    /// changed for it (see [`Bus::irq_epoch_of`]).
    pub irq_epoch: u64,
    /// Per hart, counts CLINT writes to its own msip or mtimecmp: an IPI
    /// sent to one hart leaves the others' lines alone.
    hart_epochs: Vec<u64>,
    /// Counts writes to the CLINT (the trap trace looks for IPIs there).
    pub clint_writes: u64,
    /// LR reservations: the reserved 8-byte granule of each hart, if any.
    /// Any store to a reserved granule, by any hart, breaks the reservation.
    reservations: Vec<Option<u64>>,
    /// How many harts hold a reservation: while none does, stores skip the check.
    reserved: usize,
}

/// LR/SC reservations cover an aligned 8-byte granule.
const GRANULE: u64 = 8;

impl Bus {
    /// Where translated code (cpu/jit.rs) finds the count of LR
    /// reservations held.
    pub(crate) const RESERVED: usize = std::mem::offset_of!(Bus, reserved);

    /// RAM's first byte and the code-line bitmap, for translated code. Both
    /// stay where they are for the bus's life; writes through them must do
    /// what [`Bus::ram_store_at`] does.
    pub(crate) fn ram_pointers(&mut self) -> (*mut u8, *const u64) {
        (self.ram.bytes.as_mut_ptr(), self.ram.code_lines.as_ptr())
    }

    /// Builds the platform for `harts` harts and `ram_size` bytes of RAM,
    /// refusing overlapping regions.
    pub fn new(
        harts: usize,
        ram_size: u64,
        console: Box<dyn Write>,
        input: Box<dyn ConsoleInput>,
    ) -> Result<Bus, String> {
        let mut regions: Vec<Region> = memmap::DEVICES.to_vec();
        regions.push(memmap::dram(ram_size));
        memmap::check_no_overlap(&regions)?;
        Ok(Bus {
            ram: Ram::new(ram_size as usize)?,
            clint: Clint::new(harts),
            plic: Plic::new(harts),
            uart: Uart::new(console, input),
            annotate: Annotate::new(harts),
            virtio_blk: None,
            blocks: Some(Box::default()),
            exit: None,
            irq_epoch: 0,
            hart_epochs: vec![0; harts],
            clint_writes: 0,
            reservations: vec![None; harts],
            reserved: 0,
        })
    }

    pub fn ram_region(&self) -> Region {
        memmap::dram(self.ram.bytes.len() as u64)
    }

    pub fn is_ram(&self, pa: u64, size: u64) -> bool {
        self.ram.offset(pa, size).is_some()
    }

    /// Reads `size` (1, 2, 4 or 8) bytes of RAM, little-endian; `None` if
    /// the range is not RAM.
    #[inline]
    pub fn read_ram(&self, pa: u64, size: u64) -> Option<u64> {
        let off = self.ram.offset(pa, size)?;
        Some(self.ram_load_at(off, size))
    }

    #[inline]
    pub fn write_ram(&mut self, pa: u64, size: u64, value: u64) -> Option<()> {
        let off = self.ram.offset(pa, size)?;
        self.ram_store_at(off, size, value);
        Some(())
    }

    /// The RAM offset of the 4 KiB page holding `pa`, if all of it is RAM.
    #[inline]
    pub fn ram_page_offset(&self, pa: u64) -> Option<usize> {
        self.ram.offset(pa & !0xfff, 0x1000)
    }

    /// Reads `size` (1, 2, 4 or 8) bytes at RAM offset `off`, little-endian.
    #[inline]
    pub fn ram_load_at(&self, off: usize, size: u64) -> u64 {
        let b = &self.ram.bytes;
        match size {
            1 => b[off] as u64,
            2 => u16::from_le_bytes([b[off], b[off + 1]]) as u64,
            4 => u32::from_le_bytes(b[off..off + 4].try_into().unwrap_or_default()) as u64,
            _ => u64::from_le_bytes(b[off..off + 8].try_into().unwrap_or_default()),
        }
    }

    /// Writes the low `size` (1, 2, 4 or 8) bytes of `value` at RAM offset
    /// `off`, breaking the reservations and the decoded blocks it touches.
    #[inline]
    pub fn ram_store_at(&mut self, off: usize, size: u64, value: u64) {
        if self.reserved > 0 {
            self.break_reservations(memmap::DRAM_BASE + off as u64, size);
        }
        self.ram.written(off, size as usize);
        self.ram.bytes[off..off + size as usize].copy_from_slice(&value.to_le_bytes()[..size as usize]);
    }

    pub fn read_ram_u8(&self, pa: u64) -> Option<u8> {
        self.read_ram(pa, 1).map(|v| v as u8)
    }

    pub fn write_ram_u8(&mut self, pa: u64, value: u8) -> Option<()> {
        self.write_ram(pa, 1, value as u64)
    }

    pub fn read_ram_u64(&self, pa: u64) -> Option<u64> {
        self.read_ram(pa, 8)
    }

    pub fn write_ram_u64(&mut self, pa: u64, value: u64) -> Option<()> {
        self.write_ram(pa, 8, value)
    }

    /// The RAM bytes `[pa, pa + len)`; `None` if any of them is not RAM.
    pub fn ram_slice(&self, pa: u64, len: u64) -> Option<&[u8]> {
        let off = self.ram.offset(pa, len)?;
        Some(&self.ram.bytes[off..off + len as usize])
    }

    /// Copies bytes into RAM (for loaders); `None` if any byte is not RAM.
    pub fn write_ram_bytes(&mut self, pa: u64, data: &[u8]) -> Option<()> {
        let off = self.ram.offset(pa, data.len() as u64)?;
        if self.reserved > 0 {
            self.break_reservations(pa, data.len() as u64);
        }
        self.ram.written(off, data.len());
        self.ram.bytes[off..off + data.len()].copy_from_slice(data);
        Some(())
    }

    /// Marks RAM [pa, pa + len) as holding decoded instructions, so that a
    /// write there makes the block cache start afresh.
    pub fn mark_code(&mut self, pa: u64, len: u64) {
        if let Some(off) = self.ram.offset(pa, len) {
            self.ram.mark_code(off, len as usize);
        }
    }

    /// Watches the RAM line holding `pa`: stores to it are noted (and
    /// taken by the slow paths, translated code's included), for
    /// [`Bus::take_watch_hit`]. One line at a time; `pa` outside RAM
    /// watches nothing.
    pub fn watch(&mut self, pa: u64) {
        if let Some(off) = self.ram.offset(pa, 1) {
            let line = off >> CODE_LINE_SHIFT;
            self.ram.watched_line = Some(line);
            self.ram.mark_line(line);
        }
    }

    /// Whether the line holding `pa` is watched.
    pub fn watches(&self, pa: u64) -> bool {
        self.ram
            .offset(pa, 1)
            .is_some_and(|off| self.ram.watched_line == Some(off >> CODE_LINE_SHIFT))
    }

    /// Whether the watched line was stored to since last asked.
    pub fn take_watch_hit(&mut self) -> bool {
        std::mem::take(&mut self.ram.watch_hit)
    }

    /// The same, without forgetting it.
    pub fn watch_hit(&self) -> bool {
        self.ram.watch_hit
    }

    /// Unmarks every line marked as code (but the watched one), for when
    /// every decoded block and translation has been dropped: a line holds
    /// decoded code only once decoded from again, and writes to lines
    /// that held code before need not drop what was decoded since.
    pub(crate) fn forget_code(&mut self) {
        let ram = &mut self.ram;
        for word in ram.marked_words.drain(..) {
            ram.code_lines[word] = 0;
        }
        if let Some(line) = ram.watched_line {
            ram.mark_line(line);
        }
    }

    /// Counts writes to pages holding decoded instructions (see `mark_code`).
    #[inline]
    pub fn code_generation(&self) -> u64 {
        self.ram.code_generation
    }

    /// Changes whenever a device access may have changed hart `hart`'s
    /// interrupt lines (both counts only grow, so their sum moves when
    /// either does).
    #[inline]
    pub fn irq_epoch_of(&self, hart: usize) -> u64 {
        self.irq_epoch
            .wrapping_add(self.hart_epochs.get(hart).copied().unwrap_or(0))
    }

    /// Hart `hart` reserves the granule holding `pa` (LR).
    pub fn reserve(&mut self, hart: usize, pa: u64) {
        if let Some(slot) = self.reservations.get_mut(hart) {
            if slot.is_none() {
                self.reserved += 1;
            }
            *slot = Some(pa & !(GRANULE - 1));
        }
    }

    /// Takes hart `hart`'s reservation: whether it still covered `pa` (SC).
    pub fn take_reservation(&mut self, hart: usize, pa: u64) -> bool {
        match self.reservations.get_mut(hart).and_then(Option::take) {
            Some(granule) => {
                self.reserved -= 1;
                granule == pa & !(GRANULE - 1)
            }
            None => false,
        }
    }

    /// Drops hart `hart`'s reservation, if it holds one.
    pub fn drop_reservation(&mut self, hart: usize) {
        if let Some(Some(_)) = self.reservations.get_mut(hart).map(Option::take) {
            self.reserved -= 1;
        }
    }

    /// A store to [pa, pa + size) breaks every reservation on a granule it touches.
    #[cold]
    fn break_reservations(&mut self, pa: u64, size: u64) {
        let first = pa & !(GRANULE - 1);
        let last = (pa + size - 1) & !(GRANULE - 1);
        for slot in &mut self.reservations {
            if slot.is_some_and(|g| g >= first && g <= last) {
                *slot = None;
                self.reserved -= 1;
            }
        }
    }

    /// A device register read by hart `hart` at cycle `now`; `None` is an
    /// access fault (no device there, or a size the device refuses).
    ///
    /// Accesses that may change an interrupt line bump `irq_epoch`; the
    /// others (the annotation device, the test finisher, CLINT and virtio
    /// reads) leave parked harts alone.
    pub fn read_mmio(&mut self, pa: u64, size: u64, _hart: usize, now: u64) -> Option<u64> {
        if memmap::CLINT.contains(pa, size) {
            self.clint.read(pa - memmap::CLINT.base, size, now)
        } else if memmap::PLIC.contains(pa, size) {
            self.irq_epoch += 1; // a claim lowers the line
            self.plic.read(pa - memmap::PLIC.base, size)
        } else if memmap::UART0.contains(pa, size) {
            self.irq_epoch += 1; // reading a byte or IIR may lower the line
            let v = self.uart.read(pa - memmap::UART0.base, size);
            self.update_uart_irq();
            v
        } else if memmap::TEST_FINISHER.contains(pa, size) {
            Some(0)
        } else if memmap::ANNOTATE.contains(pa, size) {
            let offset = pa - memmap::ANNOTATE.base;
            if offset == annotate::CONSOLE_STATUS && size == 8 {
                return Some(self.console_status());
            }
            self.annotate.read(offset, size)
        } else if memmap::VIRTIO_SLOTS.contains(pa, size) {
            self.virtio_read(pa - memmap::VIRTIO_SLOTS.base, size)
        } else {
            None
        }
    }

    /// A device register write by hart `hart` at cycle `now`.
    /// (`irq_epoch` as for reads.)
    pub fn write_mmio(&mut self, pa: u64, size: u64, value: u64, hart: usize, now: u64) -> Option<()> {
        if memmap::CLINT.contains(pa, size) {
            let offset = pa - memmap::CLINT.base;
            match Clint::hart_written(offset).and_then(|h| self.hart_epochs.get_mut(h)) {
                Some(epoch) => *epoch += 1,
                None => self.irq_epoch += 1,
            }
            self.clint_writes += 1;
            self.clint.write(offset, size, value, now)
        } else if memmap::PLIC.contains(pa, size) {
            self.irq_epoch += 1;
            self.plic.write(pa - memmap::PLIC.base, size, value)
        } else if memmap::UART0.contains(pa, size) {
            self.irq_epoch += 1;
            let r = self.uart.write(pa - memmap::UART0.base, size, value);
            self.update_uart_irq();
            r
        } else if memmap::TEST_FINISHER.contains(pa, size) {
            let request = test_finisher::write(pa - memmap::TEST_FINISHER.base, size, value)?;
            match request {
                Some(FinisherRequest::Pass) => self.exit = Some(ExitReason::Finisher(0)),
                Some(FinisherRequest::Fail(code)) => self.exit = Some(ExitReason::Finisher(code)),
                Some(FinisherRequest::Reset) => self.exit = Some(ExitReason::Reset),
                None => {}
            }
            Some(())
        } else if memmap::ANNOTATE.contains(pa, size) {
            let offset = pa - memmap::ANNOTATE.base;
            if offset == annotate::CONSOLE_ERR && size == 8 {
                self.uart.transmit_err(&[value as u8]);
                return Some(());
            }
            self.annotate.write(offset, size, value, hart, now)
        } else if memmap::VIRTIO_SLOTS.contains(pa, size) {
            self.irq_epoch += 1;
            self.virtio_write(pa - memmap::VIRTIO_SLOTS.base, size, value, now)
        } else {
            None
        }
    }

    /// The virtio-mmio slots: the disk in slot 0, empty transports in the
    /// others; nothing at all (an access fault) without a disk.
    fn virtio_read(&mut self, offset: u64, size: u64) -> Option<u64> {
        let disk = self.virtio_blk.as_ref()?;
        if offset >= memmap::VIRTIO0.size {
            return virtio_blk::empty_slot_read(offset % memmap::VIRTIO0.size, size);
        }
        disk.read(offset, size)
    }

    fn virtio_write(&mut self, offset: u64, size: u64, value: u64, now: u64) -> Option<()> {
        let mut disk = self.virtio_blk.take()?;
        let done = if offset >= memmap::VIRTIO0.size {
            virtio_blk::empty_slot_read(offset % memmap::VIRTIO0.size, size).map(drop)
        } else {
            disk.write(offset, size, value, now, self)
        };
        self.plic.set_source_level(memmap::VIRTIO0_IRQ, disk.irq());
        self.virtio_blk = Some(disk);
        done
    }

    /// The cycle of the next device event that must happen between rounds
    /// (a disk request completing), if any.
    pub fn next_device_event(&self) -> Option<u64> {
        self.virtio_blk.as_ref().and_then(VirtioBlk::next_event)
    }

    /// Does the device work due by cycle `now` (between rounds): the disk
    /// completes its requests and raises its interrupt.
    pub fn advance_devices(&mut self, now: u64) {
        if self.next_device_event().is_none_or(|t| t > now) {
            return;
        }
        let mut disk = self.virtio_blk.take().expect("a device event comes from the disk");
        disk.complete_due(now, self);
        self.plic.set_source_level(memmap::VIRTIO0_IRQ, disk.irq());
        self.virtio_blk = Some(disk);
        self.irq_epoch += 1;
    }

    fn update_uart_irq(&mut self) {
        let level = self.uart.irq();
        self.plic.set_source_level(memmap::UART0_IRQ, level);
    }

    /// Offers one byte of console input to the UART (at quantum boundaries).
    pub fn poll_console_input(&mut self) {
        if self.uart.poll_input() {
            self.update_uart_irq();
            self.irq_epoch += 1;
        }
    }

    /// The annotation device's console status register.
    fn console_status(&mut self) -> u64 {
        let mut status = 0;
        if self.uart.out_closed {
            status |= annotate::STATUS_OUT_CLOSED;
        }
        if self.uart.err_closed {
            status |= annotate::STATUS_ERR_CLOSED;
        }
        if self.uart.input_at_end() {
            status |= annotate::STATUS_INPUT_EOF;
        }
        status
    }

    /// Writes bytes to the console, for HTIF.
    pub fn console_write(&mut self, bytes: &[u8]) {
        self.uart.transmit(bytes);
    }
}
