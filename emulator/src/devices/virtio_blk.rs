//! The disk: a virtio block device on the virtio-mmio transport, version 2
//! ("modern", virtio 1.1 §4.2.2) with one split virtqueue (§2.6), in the
//! first virtio-mmio slot of QEMU virt, and its backing store, a host image
//! file. docs/disk.md is the reference; in short:
//!
//! * The registers, identity values and feature bits are those of QEMU's
//!   `virtio-blk-device` with `-global virtio-mmio.force-legacy=false`, and
//!   the device is as tolerant as QEMU's: a driver may negotiate no feature
//!   at all (not even VIRTIO_F_VERSION_1), and feature bits the device does
//!   not offer are dropped rather than refused.
//! * Time: a notified request is taken from the available ring at once and
//!   completes `latency` cycles after the device is free to serve it (the
//!   device serves one request at a time, in ring order). Completion happens
//!   at a round boundary that the machine places at that exact cycle, so the
//!   whole run stays deterministic.
//! * Data moves at completion: a read (`VIRTIO_BLK_T_IN`) fills the guest's
//!   buffers then, a write (`VIRTIO_BLK_T_OUT`) reaches the image file then
//!   (write-through, before the used ring says it is done), so a completed
//!   write is in the file however the run ends.
//! * A request the driver got wrong in its structure (a descriptor outside
//!   RAM or the table, a chain longer than its table, a missing header or
//!   status byte) breaks the device: status NEEDS_RESET and a configuration
//!   interrupt, as QEMU's `virtio_error` does. A well-formed request that
//!   cannot be served (sectors past the end, a length that is not whole
//!   sectors, a host I/O error) completes with VIRTIO_BLK_S_IOERR.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::bus::Bus;
use crate::error::EmuError;

/// Default request latency in cycles: 50 µs at the 1 GHz core clock, about
/// a fast solid-state disk's.
pub const DEFAULT_LATENCY: u64 = 50_000;

/// Bytes per sector: the unit of `capacity` and of request offsets.
pub const SECTOR: u64 = 512;

// Register offsets (virtio 1.1 §4.2.2).
const MAGIC_VALUE: u64 = 0x000;
const VERSION: u64 = 0x004;
const DEVICE_ID: u64 = 0x008;
const VENDOR_ID: u64 = 0x00c;
const DEVICE_FEATURES: u64 = 0x010;
const DEVICE_FEATURES_SEL: u64 = 0x014;
const DRIVER_FEATURES: u64 = 0x020;
const DRIVER_FEATURES_SEL: u64 = 0x024;
const QUEUE_SEL: u64 = 0x030;
const QUEUE_NUM_MAX: u64 = 0x034;
const QUEUE_NUM: u64 = 0x038;
const QUEUE_READY: u64 = 0x044;
const QUEUE_NOTIFY: u64 = 0x050;
const INTERRUPT_STATUS: u64 = 0x060;
const INTERRUPT_ACK: u64 = 0x064;
const STATUS: u64 = 0x070;
const QUEUE_DESC_LOW: u64 = 0x080;
const QUEUE_DESC_HIGH: u64 = 0x084;
const QUEUE_DRIVER_LOW: u64 = 0x090;
const QUEUE_DRIVER_HIGH: u64 = 0x094;
const QUEUE_DEVICE_LOW: u64 = 0x0a0;
const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
const CONFIG_GENERATION: u64 = 0x0fc;
const CONFIG: u64 = 0x100;

/// "virt", little-endian.
pub const MAGIC: u32 = 0x7472_6976;
/// The transport version of a modern (non-legacy) device.
pub const TRANSPORT_VERSION: u32 = 2;
/// Virtio device id of a block device.
pub const DEVICE_ID_BLOCK: u32 = 2;
/// QEMU's vendor id ("QEMU", little-endian).
pub const VENDOR_QEMU: u32 = 0x554d_4551;

/// Device status bits (virtio 1.1 §2.1).
pub const STATUS_ACKNOWLEDGE: u32 = 1;
pub const STATUS_DRIVER: u32 = 2;
pub const STATUS_DRIVER_OK: u32 = 4;
pub const STATUS_FEATURES_OK: u32 = 8;
pub const STATUS_NEEDS_RESET: u32 = 64;
pub const STATUS_FAILED: u32 = 128;

/// Feature bits offered (virtio 1.1 §5.2.3 and §6).
pub const F_SEG_MAX: u64 = 1 << 2;
pub const F_BLK_SIZE: u64 = 1 << 6;
pub const F_FLUSH: u64 = 1 << 9;
pub const F_INDIRECT_DESC: u64 = 1 << 28;
pub const F_VERSION_1: u64 = 1 << 32;
pub const FEATURES: u64 = F_SEG_MAX | F_BLK_SIZE | F_FLUSH | F_INDIRECT_DESC | F_VERSION_1;

/// The largest queue the device accepts (QEMU's virtio-blk default).
pub const QUEUE_SIZE_MAX: u32 = 256;

/// Interrupt status bits.
pub const INT_USED_BUFFER: u32 = 1;
pub const INT_CONFIG_CHANGE: u32 = 2;

// Descriptor and ring flags (virtio 1.1 §2.6).
const DESC_F_NEXT: u16 = 1;
const DESC_F_WRITE: u16 = 2;
const DESC_F_INDIRECT: u16 = 4;
const AVAIL_F_NO_INTERRUPT: u16 = 1;
const DESC_SIZE: u64 = 16;
/// The most descriptors an indirect table may hold (QEMU's VIRTQUEUE_MAX_SIZE).
const INDIRECT_MAX: u64 = 1024;

/// Request types and status values (virtio 1.1 §5.2.6).
pub const T_IN: u32 = 0;
pub const T_OUT: u32 = 1;
pub const T_FLUSH: u32 = 4;
pub const T_GET_ID: u32 = 8;
pub const S_OK: u8 = 0;
pub const S_IOERR: u8 = 1;
pub const S_UNSUPP: u8 = 2;

/// Bytes of a request header: type, reserved, sector.
const HEADER: u64 = 16;
/// The length of the identification string GET_ID returns.
const ID_BYTES: usize = 20;
/// The identification string (the drive's serial number).
pub const DEVICE_SERIAL: &[u8] = b"rvmsmp-disk0";
/// Bytes of configuration space: `struct virtio_blk_config` up to and
/// including `writeback` and its padding (QEMU's length with the features
/// offered here). Reads past it return all ones, as QEMU's do.
const CONFIG_LEN: u64 = 36;

/// The host file behind the disk. Read-write images are written through:
/// every write goes to the file before the request completes. Snapshot
/// images are opened read-only and the guest's writes are kept in memory,
/// sector by sector.
#[derive(Debug)]
pub struct DiskImage {
    file: File,
    path: String,
    bytes: u64,
    /// Written sectors (sector number → contents), with `--snapshot`.
    overlay: Option<HashMap<u64, Box<[u8; SECTOR as usize]>>>,
}

impl DiskImage {
    /// Opens an image. Refused (one line naming the file): a missing or
    /// unreadable file, a directory or other non-regular file, an empty file,
    /// a size that is not whole sectors, and a read-only file without
    /// `snapshot`.
    pub fn open(path: &Path, snapshot: bool) -> Result<DiskImage, EmuError> {
        let bad = |problem: String| EmuError::bad_input(path, problem);
        let meta =
            std::fs::metadata(path).map_err(|e| bad(format!("cannot open the disk image: {}", io_reason(&e))))?;
        if meta.is_dir() {
            return Err(bad("is a directory, not a disk image".into()));
        }
        if !meta.is_file() {
            return Err(bad("is not a regular file; a disk image must be one".into()));
        }
        let bytes = meta.len();
        if bytes == 0 {
            return Err(bad(
                "is empty; a disk image holds at least one 512-byte sector (make one with `rvmsmp mkfs`)".into(),
            ));
        }
        if bytes % SECTOR != 0 {
            return Err(bad(format!("is {bytes} bytes, not a whole number of 512-byte sectors")));
        }
        let read_only_hint = "is read-only; use --snapshot to run with the guest's writes kept in memory";
        let file = if snapshot {
            File::open(path).map_err(|e| bad(format!("cannot read the disk image: {}", io_reason(&e))))?
        } else {
            // Root may open a file without write permission for writing; the
            // permission bits still say the file is not to be written.
            if meta.permissions().readonly() {
                return Err(bad(read_only_hint.into()));
            }
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => bad(read_only_hint.into()),
                    _ => bad(format!("cannot open the disk image: {}", io_reason(&e))),
                })?
        };
        // Reading the first sector finds an unreadable file now, not at the
        // guest's first request.
        let mut first = [0u8; SECTOR as usize];
        file.read_exact_at(&mut first, 0)
            .map_err(|e| bad(format!("cannot read the disk image: {}", io_reason(&e))))?;
        Ok(DiskImage {
            file,
            path: path.display().to_string(),
            bytes,
            overlay: snapshot.then(HashMap::new),
        })
    }

    /// The image's size in bytes.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Never true: an empty image is refused when opened.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the guest's writes stay in memory.
    pub fn is_snapshot(&self) -> bool {
        self.overlay.is_some()
    }

    /// How many sectors the guest has written (snapshot images only).
    pub fn overlay_sectors(&self) -> usize {
        self.overlay.as_ref().map_or(0, HashMap::len)
    }

    /// Reads `buf.len()` bytes at byte `offset`, which the caller has
    /// checked to lie inside the image.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)?;
        if let Some(overlay) = self.overlay.as_ref().filter(|o| !o.is_empty()) {
            let end = offset + buf.len() as u64;
            for sector in offset / SECTOR..end.div_ceil(SECTOR) {
                let Some(data) = overlay.get(&sector) else { continue };
                let start = (sector * SECTOR).max(offset);
                let stop = ((sector + 1) * SECTOR).min(end);
                buf[(start - offset) as usize..(stop - offset) as usize]
                    .copy_from_slice(&data[(start - sector * SECTOR) as usize..(stop - sector * SECTOR) as usize]);
            }
        }
        Ok(())
    }

    /// Writes `data` at byte `offset` (inside the image): to the file, or to
    /// the overlay of a snapshot image.
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.overlay.is_none() {
            self.check_not_shrunk()?;
            return self.file.write_all_at(data, offset);
        }
        let end = offset + data.len() as u64;
        for sector in offset / SECTOR..end.div_ceil(SECTOR) {
            let base = sector * SECTOR;
            let start = base.max(offset);
            let stop = (base + SECTOR).min(end);
            let whole = start == base && stop == base + SECTOR;
            let present = self.overlay.as_ref().is_some_and(|o| o.contains_key(&sector));
            if !present {
                let mut fresh = Box::new([0u8; SECTOR as usize]);
                if !whole {
                    self.file.read_exact_at(&mut fresh[..], base)?;
                }
                self.overlay.as_mut().expect("snapshot").insert(sector, fresh);
            }
            let slot = self
                .overlay
                .as_mut()
                .expect("snapshot")
                .get_mut(&sector)
                .expect("inserted");
            slot[(start - base) as usize..(stop - base) as usize]
                .copy_from_slice(&data[(start - offset) as usize..(stop - offset) as usize]);
        }
        Ok(())
    }

    /// Fails if the file has become shorter than the disk since it was
    /// opened (truncated on the host mid-run): a write past its new end
    /// would leave a hole, which would then read back as zeros instead of
    /// the I/O error that reading past the end is.
    fn check_not_shrunk(&self) -> io::Result<()> {
        let len = self.file.metadata()?.len();
        if len < self.bytes {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the image file shrank to {len} bytes from {}", self.bytes),
            ));
        }
        Ok(())
    }

    /// Makes the written data durable (FLUSH); nothing to do for a snapshot.
    pub fn sync(&self) -> io::Result<()> {
        if self.overlay.is_some() {
            Ok(())
        } else {
            self.file.sync_data()
        }
    }
}

/// An I/O error as a short reason ("No such file or directory").
fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// The state of the one virtqueue (queue 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Queue {
    num: u32,
    ready: bool,
    desc: u64,
    driver: u64,
    device: u64,
    /// The next available-ring entry the device will take.
    last_avail: u16,
    /// The next used-ring entry the device will fill.
    used_idx: u16,
}

/// A request taken from the available ring and not yet completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlight {
    head: u16,
    done_at: u64,
}

/// What the device did, for the report and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub reads: u64,
    pub writes: u64,
    pub flushes: u64,
    pub other: u64,
    pub sectors_read: u64,
    pub sectors_written: u64,
    /// Requests completed with a status other than OK.
    pub errors: u64,
    /// Cycles the device spent serving requests (`latency` for each).
    pub busy_cycles: u64,
}

/// One segment of a descriptor chain: guest-physical address, length, and
/// whether the device writes it.
#[derive(Clone, Copy, Debug)]
struct Segment {
    addr: u64,
    len: u64,
    write: bool,
}

/// The transport's state: everything a device reset clears.
#[derive(Debug, Default)]
struct Transport {
    status: u32,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    queue: Queue,
    interrupt_status: u32,
    in_flight: VecDeque<InFlight>,
    /// When the device finishes the last request it has taken.
    busy_until: u64,
    /// Set by a structural error until the driver resets the device.
    broken: bool,
}

/// The block device and its transport.
#[derive(Debug)]
pub struct VirtioBlk {
    disk: DiskImage,
    latency: u64,
    t: Transport,
    /// Why the device last broke, and at which cycle.
    pub failure: Option<(u64, String)>,
    pub stats: DiskStats,
}

impl VirtioBlk {
    pub fn new(disk: DiskImage, latency: u64) -> VirtioBlk {
        VirtioBlk {
            disk,
            latency,
            t: Transport::default(),
            failure: None,
            stats: DiskStats::default(),
        }
    }

    pub fn disk(&self) -> &DiskImage {
        &self.disk
    }

    pub fn latency(&self) -> u64 {
        self.latency
    }

    /// The capacity in 512-byte sectors.
    pub fn capacity(&self) -> u64 {
        self.disk.len() / SECTOR
    }

    /// The device status register.
    pub fn status(&self) -> u32 {
        self.t.status
    }

    /// The features the driver has negotiated (the offered ones it asked for).
    pub fn negotiated_features(&self) -> u64 {
        self.t.driver_features & FEATURES
    }

    /// The level of the device's interrupt line (PLIC source 1).
    pub fn irq(&self) -> bool {
        self.t.interrupt_status != 0
    }

    /// The cycle at which the next request completes, if one is in flight.
    pub fn next_event(&self) -> Option<u64> {
        self.t.in_flight.front().map(|r| r.done_at)
    }

    /// Requests taken and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.t.in_flight.len()
    }

    fn config_space(&self) -> [u8; CONFIG_LEN as usize] {
        let mut c = [0u8; CONFIG_LEN as usize];
        c[0..8].copy_from_slice(&self.capacity().to_le_bytes()); // capacity
                                                                 // size_max (8) is 0: VIRTIO_BLK_F_SIZE_MAX is not offered.
        c[12..16].copy_from_slice(&(QUEUE_SIZE_MAX - 2).to_le_bytes()); // seg_max, as QEMU
                                                                        // geometry (16..20) is 0: VIRTIO_BLK_F_GEOMETRY is not offered.
        c[20..24].copy_from_slice(&(SECTOR as u32).to_le_bytes()); // blk_size
                                                                   // topology (24..32) and writeback (32) are 0.
        c
    }

    /// A register read; `None` is an access fault (8-byte accesses, which
    /// QEMU's transport does not accept either).
    pub fn read(&self, offset: u64, size: u64) -> Option<u64> {
        if !matches!(size, 1 | 2 | 4) {
            return None;
        }
        if offset >= CONFIG {
            let config = self.config_space();
            let at = offset - CONFIG;
            if at + size > CONFIG_LEN {
                return Some(u64::MAX >> (64 - 8 * size));
            }
            let mut bytes = [0u8; 8];
            bytes[..size as usize].copy_from_slice(&config[at as usize..(at + size) as usize]);
            return Some(u64::from_le_bytes(bytes));
        }
        if size != 4 {
            return Some(0); // QEMU logs a guest error and reads zero
        }
        let q = &self.t.queue;
        let selected = self.t.queue_sel == 0;
        let value: u32 = match offset {
            MAGIC_VALUE => MAGIC,
            VERSION => TRANSPORT_VERSION,
            DEVICE_ID => DEVICE_ID_BLOCK,
            VENDOR_ID => VENDOR_QEMU,
            DEVICE_FEATURES => match self.t.device_features_sel {
                0 => FEATURES as u32,
                1 => (FEATURES >> 32) as u32,
                _ => 0,
            },
            QUEUE_NUM_MAX if selected => QUEUE_SIZE_MAX,
            QUEUE_READY if selected => q.ready as u32,
            INTERRUPT_STATUS => self.t.interrupt_status,
            STATUS => self.t.status,
            CONFIG_GENERATION => 0,
            _ => 0, // write-only and unknown registers read zero
        };
        Some(value as u64)
    }

    /// A register write at cycle `now`; RAM is read through `bus` when the
    /// driver notifies the queue.
    pub fn write(&mut self, offset: u64, size: u64, value: u64, now: u64, bus: &Bus) -> Option<()> {
        if !matches!(size, 1 | 2 | 4) {
            return None;
        }
        if offset >= CONFIG || size != 4 {
            return Some(()); // no writable configuration field is offered
        }
        let value = value as u32;
        let selected = self.t.queue_sel == 0;
        let set_low = |r: &mut u64| *r = (*r & !0xffff_ffff) | value as u64;
        let set_high = |r: &mut u64| *r = (*r & 0xffff_ffff) | (value as u64) << 32;
        match offset {
            DEVICE_FEATURES_SEL => self.t.device_features_sel = value,
            DRIVER_FEATURES_SEL => self.t.driver_features_sel = value,
            DRIVER_FEATURES if self.t.status & STATUS_FEATURES_OK == 0 => match self.t.driver_features_sel {
                0 => set_low(&mut self.t.driver_features),
                1 => set_high(&mut self.t.driver_features),
                _ => {}
            },
            QUEUE_SEL => self.t.queue_sel = value,
            QUEUE_NUM if selected => self.t.queue.num = value,
            QUEUE_READY if selected => {
                let num = self.t.queue.num;
                self.t.queue.ready = value & 1 != 0 && num > 0 && num <= QUEUE_SIZE_MAX;
            }
            QUEUE_DESC_LOW if selected => set_low(&mut self.t.queue.desc),
            QUEUE_DESC_HIGH if selected => set_high(&mut self.t.queue.desc),
            QUEUE_DRIVER_LOW if selected => set_low(&mut self.t.queue.driver),
            QUEUE_DRIVER_HIGH if selected => set_high(&mut self.t.queue.driver),
            QUEUE_DEVICE_LOW if selected => set_low(&mut self.t.queue.device),
            QUEUE_DEVICE_HIGH if selected => set_high(&mut self.t.queue.device),
            QUEUE_NOTIFY if value == 0 => self.notify(now, bus),
            INTERRUPT_ACK => self.t.interrupt_status &= !value,
            STATUS => self.write_status(value),
            _ => {}
        }
        Some(())
    }

    fn write_status(&mut self, value: u32) {
        if value == 0 {
            self.reset();
            return;
        }
        // As QEMU: features the device does not offer are dropped, and the
        // driver's FEATURES_OK stands.
        if value & STATUS_FEATURES_OK != 0 && self.t.status & STATUS_FEATURES_OK == 0 {
            self.t.driver_features &= FEATURES;
        }
        self.t.status = (value & 0xff) | (self.t.status & STATUS_NEEDS_RESET);
    }

    /// The device reset: everything but the image goes back to its initial
    /// state; requests in flight are abandoned (never completed).
    pub fn reset(&mut self) {
        self.t = Transport::default();
    }

    /// Marks the device broken: NEEDS_RESET and a configuration-change
    /// interrupt, as QEMU's `virtio_error`; requests in flight are dropped.
    fn fail(&mut self, now: u64, reason: String) {
        self.t.broken = true;
        self.t.status |= STATUS_NEEDS_RESET;
        self.t.interrupt_status |= INT_CONFIG_CHANGE;
        self.t.in_flight.clear();
        self.failure = Some((now, reason));
    }

    /// The driver notified queue 0: take every new available entry.
    fn notify(&mut self, now: u64, bus: &Bus) {
        let q = self.t.queue;
        if !q.ready || self.t.broken {
            return;
        }
        let Some(idx) = bus.read_ram(q.driver.wrapping_add(2), 2) else {
            return self.fail(now, format!("the available ring at {:#x} is outside RAM", q.driver));
        };
        let idx = idx as u16;
        let new = idx.wrapping_sub(q.last_avail);
        if u32::from(new) > q.num {
            return self.fail(
                now,
                format!("the driver moved the available index from {} to {idx}", q.last_avail),
            );
        }
        for _ in 0..new {
            let slot = u64::from(self.t.queue.last_avail) % u64::from(q.num);
            let Some(head) = bus.read_ram(q.driver.wrapping_add(4 + 2 * slot), 2) else {
                return self.fail(now, format!("the available ring at {:#x} is outside RAM", q.driver));
            };
            if head >= u64::from(q.num) {
                return self.fail(now, format!("available ring entry {slot} names descriptor {head}"));
            }
            self.t.queue.last_avail = self.t.queue.last_avail.wrapping_add(1);
            let start = now.max(self.t.busy_until);
            let done_at = start.saturating_add(self.latency);
            self.t.busy_until = done_at;
            self.t.in_flight.push_back(InFlight {
                head: head as u16,
                done_at,
            });
        }
    }

    /// Completes every request due by cycle `now`: moves its data, writes
    /// its status and used-ring entry, and raises the interrupt.
    pub fn complete_due(&mut self, now: u64, bus: &mut Bus) {
        while let Some(&InFlight { head, done_at }) = self.t.in_flight.front() {
            if done_at > now {
                break;
            }
            self.t.in_flight.pop_front();
            self.stats.busy_cycles += self.latency;
            let written = match self.execute(head, bus) {
                Ok(written) => written,
                Err(reason) => return self.fail(done_at, reason),
            };
            let q = self.t.queue;
            let slot = u64::from(q.used_idx) % u64::from(q.num.max(1));
            let elem = q.device.wrapping_add(4 + 8 * slot);
            let ok = bus.write_ram(elem, 4, u64::from(head)).is_some()
                && bus.write_ram(elem + 4, 4, written).is_some()
                && bus
                    .write_ram(q.device.wrapping_add(2), 2, u64::from(q.used_idx.wrapping_add(1)))
                    .is_some();
            if !ok {
                return self.fail(done_at, format!("the used ring at {:#x} is outside RAM", q.device));
            }
            self.t.queue.used_idx = q.used_idx.wrapping_add(1);
            let flags = bus.read_ram(q.driver, 2).unwrap_or(0) as u16;
            if flags & AVAIL_F_NO_INTERRUPT == 0 {
                self.t.interrupt_status |= INT_USED_BUFFER;
            }
        }
    }

    /// Walks the descriptor chain starting at `head`, following one
    /// indirect table if there is one.
    fn chain(&self, head: u16, bus: &Bus) -> Result<Vec<Segment>, String> {
        let q = &self.t.queue;
        let mut table = q.desc;
        let mut table_len = u64::from(q.num);
        let mut index = u64::from(head);
        let mut indirect = false;
        let mut segments = Vec::new();
        // A chain is at most as long as its table: the queue, or the
        // indirect table it moves to (as QEMU counts).
        let mut seen = 0u64;
        loop {
            if index >= table_len {
                return Err(format!(
                    "a descriptor chain names descriptor {index} of a table of {table_len}"
                ));
            }
            seen += 1;
            if seen > table_len {
                return Err(format!(
                    "a descriptor chain is longer than its table ({table_len} descriptors): a loop?"
                ));
            }
            let at = table.wrapping_add(DESC_SIZE * index);
            let (Some(addr), Some(len), Some(flags), Some(next)) = (
                bus.read_ram(at, 8),
                bus.read_ram(at.wrapping_add(8), 4),
                bus.read_ram(at.wrapping_add(12), 2),
                bus.read_ram(at.wrapping_add(14), 2),
            ) else {
                return Err(format!("descriptor {index} at {at:#x} is outside RAM"));
            };
            let flags = flags as u16;
            if flags & DESC_F_INDIRECT != 0 {
                if indirect {
                    return Err("an indirect descriptor inside an indirect table".into());
                }
                if flags & DESC_F_NEXT != 0 {
                    return Err("an indirect descriptor with the NEXT flag".into());
                }
                if len == 0 || len % DESC_SIZE != 0 || len / DESC_SIZE > INDIRECT_MAX {
                    return Err(format!(
                        "an indirect table of {len} bytes (it must be whole descriptors, at most {INDIRECT_MAX})"
                    ));
                }
                indirect = true;
                table = addr;
                table_len = len / DESC_SIZE;
                index = 0;
                seen = 0;
                continue;
            }
            if !bus.is_ram(addr, len) {
                return Err(format!("a buffer at {addr:#x} of {len} bytes is outside RAM"));
            }
            let write = flags & DESC_F_WRITE != 0;
            if !write && segments.last().is_some_and(|s: &Segment| s.write) {
                return Err("a device-readable buffer after a device-writable one".into());
            }
            segments.push(Segment { addr, len, write });
            if flags & DESC_F_NEXT == 0 {
                return Ok(segments);
            }
            index = next;
        }
    }

    /// Serves one request; returns the bytes of device-writable buffers (the
    /// used-ring length, as QEMU reports it), or why the device must break.
    fn execute(&mut self, head: u16, bus: &mut Bus) -> Result<u64, String> {
        let segments = self.chain(head, bus)?;
        let (readable, writable): (Vec<Segment>, Vec<Segment>) = segments.iter().partition(|s| !s.write);
        let header = gather(bus, &readable, 0, HEADER)
            .filter(|h| h.len() as u64 == HEADER)
            .ok_or("a request without its 16-byte header")?;
        let kind = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
        let sector = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        let writable_len: u64 = writable.iter().map(|s| s.len).sum();
        let status_at = match writable.last() {
            Some(last) if last.len > 0 => last.addr + last.len - 1,
            _ => return Err("a request without a status byte".into()),
        };
        let data_in = writable_len - 1; // device-writable bytes before the status
        let readable_len: u64 = readable.iter().map(|s| s.len).sum();
        let status = match kind {
            T_IN => {
                self.stats.reads += 1;
                match self.check_range(sector, data_in) {
                    true => {
                        let mut data = vec![0u8; data_in as usize];
                        match self.disk.read_at(sector * SECTOR, &mut data) {
                            Ok(()) => {
                                scatter(bus, &writable, &data);
                                self.stats.sectors_read += data_in / SECTOR;
                                S_OK
                            }
                            Err(_) => S_IOERR,
                        }
                    }
                    false => S_IOERR,
                }
            }
            T_OUT => {
                self.stats.writes += 1;
                let len = readable_len - HEADER;
                match self.check_range(sector, len) {
                    true => {
                        let data = gather(bus, &readable, HEADER, len).expect("buffers checked to be RAM");
                        match self.disk.write_at(sector * SECTOR, &data) {
                            Ok(()) => {
                                self.stats.sectors_written += len / SECTOR;
                                S_OK
                            }
                            Err(_) => S_IOERR,
                        }
                    }
                    false => S_IOERR,
                }
            }
            T_FLUSH => {
                self.stats.flushes += 1;
                match self.disk.sync() {
                    Ok(()) => S_OK,
                    Err(_) => S_IOERR,
                }
            }
            T_GET_ID => {
                self.stats.other += 1;
                let mut id = [0u8; ID_BYTES];
                id[..DEVICE_SERIAL.len()].copy_from_slice(DEVICE_SERIAL);
                scatter(bus, &writable, &id[..data_in.min(ID_BYTES as u64) as usize]);
                S_OK
            }
            _ => {
                self.stats.other += 1;
                S_UNSUPP
            }
        };
        if status != S_OK {
            self.stats.errors += 1;
        }
        bus.write_ram(status_at, 1, u64::from(status))
            .expect("status byte checked to be RAM");
        Ok(writable_len)
    }

    /// Whether `len` bytes from `sector` are whole sectors inside the disk.
    fn check_range(&self, sector: u64, len: u64) -> bool {
        len % SECTOR == 0
            && sector
                .checked_add(len / SECTOR)
                .is_some_and(|end| end <= self.capacity())
    }
}

/// Copies `len` bytes from the chain's buffers, starting `skip` bytes in;
/// fewer if the buffers hold fewer.
fn gather(bus: &Bus, segments: &[Segment], skip: u64, len: u64) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len.min(1 << 20) as usize);
    let mut skip = skip;
    for s in segments {
        if out.len() as u64 == len {
            break;
        }
        if skip >= s.len {
            skip -= s.len;
            continue;
        }
        let take = (s.len - skip).min(len - out.len() as u64);
        out.extend_from_slice(bus.ram_slice(s.addr + skip, take)?);
        skip = 0;
    }
    Some(out)
}

/// Copies `data` into the chain's writable buffers, in order.
fn scatter(bus: &mut Bus, segments: &[Segment], data: &[u8]) {
    let mut rest = data;
    for s in segments {
        if rest.is_empty() {
            break;
        }
        let take = (s.len as usize).min(rest.len());
        bus.write_ram_bytes(s.addr, &rest[..take])
            .expect("buffers checked to be RAM");
        rest = &rest[take..];
    }
}

/// A read of an empty virtio-mmio slot (slots 1 to 7 when a disk is
/// attached): a transport with no device behind it, as QEMU's empty slots
/// read (magic, version 2, device id 0, QEMU's vendor id, the rest zero).
pub fn empty_slot_read(offset: u64, size: u64) -> Option<u64> {
    if !matches!(size, 1 | 2 | 4) {
        return None;
    }
    let value = match offset {
        MAGIC_VALUE => MAGIC,
        VERSION => TRANSPORT_VERSION,
        VENDOR_ID => VENDOR_QEMU,
        _ => 0,
    };
    Some(u64::from(value) & (u64::MAX >> (64 - 8 * size)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::uart::NoInput;
    use crate::memmap::{DRAM_BASE, VIRTIO0};

    const DESC: u64 = DRAM_BASE + 0x1000;
    const AVAIL: u64 = DRAM_BASE + 0x2000;
    const USED: u64 = DRAM_BASE + 0x3000;
    const HDR: u64 = DRAM_BASE + 0x4000;
    const DATA: u64 = DRAM_BASE + 0x5000;
    const STATUS_BYTE: u64 = DRAM_BASE + 0x8000;
    const LATENCY: u64 = 1000;
    const QSIZE: u32 = 8;

    /// A scratch image of `sectors` sectors, sector s filled with byte s.
    fn image(name: &str, sectors: u64) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rvmsmp-vblk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let bytes: Vec<u8> = (0..sectors * SECTOR).map(|i| (i / SECTOR) as u8).collect();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A bus with 1 MiB of RAM and the disk attached.
    fn bus(path: &Path, snapshot: bool) -> Bus {
        let mut bus = Bus::new(1, 1 << 20, Box::new(std::io::sink()), Box::new(NoInput)).unwrap();
        bus.virtio_blk = Some(VirtioBlk::new(DiskImage::open(path, snapshot).unwrap(), LATENCY));
        bus
    }

    fn rd(bus: &mut Bus, reg: u64) -> u64 {
        bus.read_mmio(VIRTIO0.base + reg, 4, 0, 0).unwrap()
    }

    fn wr(bus: &mut Bus, reg: u64, value: u64, now: u64) {
        bus.write_mmio(VIRTIO0.base + reg, 4, value, 0, now).unwrap();
    }

    fn dev(bus: &Bus) -> &VirtioBlk {
        bus.virtio_blk.as_ref().unwrap()
    }

    /// The driver's side of initialisation, negotiating `features`.
    fn init(bus: &mut Bus, features: u64) {
        wr(bus, STATUS, 0, 0);
        wr(bus, STATUS, u64::from(STATUS_ACKNOWLEDGE | STATUS_DRIVER), 0);
        wr(bus, DRIVER_FEATURES_SEL, 0, 0);
        wr(bus, DRIVER_FEATURES, features & 0xffff_ffff, 0);
        wr(bus, DRIVER_FEATURES_SEL, 1, 0);
        wr(bus, DRIVER_FEATURES, features >> 32, 0);
        wr(
            bus,
            STATUS,
            u64::from(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK),
            0,
        );
        wr(bus, QUEUE_SEL, 0, 0);
        wr(bus, QUEUE_NUM, u64::from(QSIZE), 0);
        for (lo, addr) in [
            (QUEUE_DESC_LOW, DESC),
            (QUEUE_DRIVER_LOW, AVAIL),
            (QUEUE_DEVICE_LOW, USED),
        ] {
            wr(bus, lo, addr & 0xffff_ffff, 0);
            wr(bus, lo + 4, addr >> 32, 0);
        }
        wr(bus, QUEUE_READY, 1, 0);
        wr(bus, STATUS, 0xf, 0);
    }

    /// Writes descriptor `i`.
    fn desc(bus: &mut Bus, table: u64, i: u64, addr: u64, len: u64, flags: u16, next: u16) {
        let at = table + 16 * i;
        bus.write_ram(at, 8, addr).unwrap();
        bus.write_ram(at + 8, 4, len).unwrap();
        bus.write_ram(at + 12, 2, u64::from(flags)).unwrap();
        bus.write_ram(at + 14, 2, u64::from(next)).unwrap();
    }

    /// Makes the chain at `head` available and notifies at cycle `now`.
    fn submit(bus: &mut Bus, head: u16, now: u64) {
        let idx = bus.read_ram(AVAIL + 2, 2).unwrap();
        bus.write_ram(AVAIL + 4 + 2 * (idx % u64::from(QSIZE)), 2, u64::from(head))
            .unwrap();
        bus.write_ram(AVAIL + 2, 2, (idx + 1) & 0xffff).unwrap();
        wr(bus, QUEUE_NOTIFY, 0, now);
    }

    /// The usual three-descriptor request at descriptors 0-2, submitted.
    fn request(bus: &mut Bus, kind: u32, sector: u64, len: u64, device_writes: bool, now: u64) {
        prepare(bus, kind, sector, len, device_writes);
        submit(bus, 0, now);
    }

    /// The usual three-descriptor request at descriptors 0-2.
    fn prepare(bus: &mut Bus, kind: u32, sector: u64, len: u64, device_writes: bool) {
        bus.write_ram(HDR, 4, u64::from(kind)).unwrap();
        bus.write_ram(HDR + 8, 8, sector).unwrap();
        bus.write_ram(STATUS_BYTE, 1, 0xff).unwrap();
        desc(bus, DESC, 0, HDR, 16, DESC_F_NEXT, 1);
        let flags = DESC_F_NEXT | if device_writes { DESC_F_WRITE } else { 0 };
        desc(bus, DESC, 1, DATA, len, flags, 2);
        desc(bus, DESC, 2, STATUS_BYTE, 1, DESC_F_WRITE, 0);
    }

    fn used_idx(bus: &Bus) -> u64 {
        bus.read_ram(USED + 2, 2).unwrap()
    }

    fn status_byte(bus: &Bus) -> u8 {
        bus.read_ram_u8(STATUS_BYTE).unwrap()
    }

    #[test]
    fn identity_features_and_configuration_are_qemus() {
        let path = image("ident.img", 64);
        let mut bus = bus(&path, false);
        assert_eq!(rd(&mut bus, MAGIC_VALUE), 0x7472_6976);
        assert_eq!(rd(&mut bus, VERSION), 2);
        assert_eq!(rd(&mut bus, DEVICE_ID), 2);
        assert_eq!(rd(&mut bus, VENDOR_ID), 0x554d_4551);
        wr(&mut bus, DEVICE_FEATURES_SEL, 1, 0);
        assert_eq!(rd(&mut bus, DEVICE_FEATURES), 1, "VIRTIO_F_VERSION_1");
        wr(&mut bus, DEVICE_FEATURES_SEL, 0, 0);
        assert_eq!(rd(&mut bus, DEVICE_FEATURES), FEATURES & 0xffff_ffff);
        assert_eq!(rd(&mut bus, QUEUE_NUM_MAX), 256);
        assert_eq!(rd(&mut bus, CONFIG), 64, "capacity in sectors");
        assert_eq!(rd(&mut bus, CONFIG + 4), 0);
        assert_eq!(rd(&mut bus, CONFIG + 20), 512, "blk_size");
        assert_eq!(bus.read_mmio(VIRTIO0.base + CONFIG, 1, 0, 0), Some(64));
        assert_eq!(bus.read_mmio(VIRTIO0.base + CONFIG + 36, 4, 0, 0), Some(0xffff_ffff));
        assert_eq!(
            bus.read_mmio(VIRTIO0.base + CONFIG, 8, 0, 0),
            None,
            "8-byte accesses fault"
        );
        assert_eq!(bus.read_mmio(VIRTIO0.base, 2, 0, 0), Some(0), "registers are 32-bit");
        // Slot 1 is an empty transport; past the eighth slot there is nothing.
        assert_eq!(bus.read_mmio(VIRTIO0.base + 0x1000, 4, 0, 0), Some(0x7472_6976));
        assert_eq!(bus.read_mmio(VIRTIO0.base + 0x1008, 4, 0, 0), Some(0));
        assert_eq!(bus.read_mmio(VIRTIO0.base + 0x8000, 4, 0, 0), None);
    }

    #[test]
    fn no_disk_no_device() {
        let mut bus = Bus::new(1, 1 << 20, Box::new(std::io::sink()), Box::new(NoInput)).unwrap();
        assert_eq!(bus.read_mmio(VIRTIO0.base, 4, 0, 0), None);
        assert_eq!(bus.write_mmio(VIRTIO0.base + STATUS, 4, 1, 0, 0), None);
        assert_eq!(bus.next_device_event(), None);
    }

    #[test]
    fn a_read_completes_exactly_after_the_latency_and_interrupts() {
        let path = image("read.img", 64);
        let mut bus = bus(&path, false);
        init(&mut bus, F_VERSION_1);
        bus.plic.write(4, 4, 1).unwrap(); // source 1 priority 1
        bus.plic.write(0x2000, 4, 2).unwrap(); // enabled for context 0
        request(&mut bus, T_IN, 3, 1024, true, 5000);
        assert_eq!(bus.next_device_event(), Some(5000 + LATENCY));
        bus.advance_devices(5000 + LATENCY - 1);
        assert_eq!(used_idx(&bus), 0);
        assert!(!bus.plic.context_line(0));
        bus.advance_devices(5000 + LATENCY);
        assert_eq!(used_idx(&bus), 1);
        assert_eq!(bus.read_ram(USED + 4, 4), Some(0), "the chain's head");
        assert_eq!(bus.read_ram(USED + 8, 4), Some(1025), "bytes the device may write");
        assert_eq!(status_byte(&bus), S_OK);
        assert_eq!(bus.ram_slice(DATA, 1024).unwrap(), [[3u8; 512], [4u8; 512]].concat());
        assert!(bus.plic.context_line(0));
        assert_eq!(rd(&mut bus, INTERRUPT_STATUS), 1);
        wr(&mut bus, INTERRUPT_ACK, 1, 0);
        assert!(!dev(&bus).irq());
        assert_eq!(dev(&bus).stats.sectors_read, 2);
    }

    #[test]
    fn requests_are_served_one_at_a_time() {
        let path = image("serial.img", 64);
        let mut bus = bus(&path, false);
        init(&mut bus, F_VERSION_1);
        request(&mut bus, T_FLUSH, 0, 0, false, 100);
        desc(&mut bus, DESC, 4, HDR, 16, DESC_F_NEXT, 5);
        desc(&mut bus, DESC, 5, STATUS_BYTE + 1, 1, DESC_F_WRITE, 0);
        submit(&mut bus, 4, 300);
        assert_eq!(bus.next_device_event(), Some(100 + LATENCY));
        bus.advance_devices(100 + LATENCY);
        assert_eq!(used_idx(&bus), 1);
        assert_eq!(
            bus.next_device_event(),
            Some(100 + 2 * LATENCY),
            "the second waits for the first"
        );
        bus.advance_devices(100 + 2 * LATENCY);
        assert_eq!(used_idx(&bus), 2);
        assert_eq!(bus.read_ram(USED + 12, 4), Some(4));
        // Once idle, a request is served from its notification.
        request(&mut bus, T_FLUSH, 0, 0, false, 10 * LATENCY);
        assert_eq!(bus.next_device_event(), Some(11 * LATENCY));
    }

    #[test]
    fn writes_reach_the_file_when_they_complete() {
        let path = image("write.img", 16);
        let mut bus = bus(&path, false);
        init(&mut bus, F_VERSION_1 | F_FLUSH);
        bus.write_ram_bytes(DATA, &[0xab; 512]).unwrap();
        request(&mut bus, T_OUT, 2, 512, false, 0);
        assert_eq!(std::fs::read(&path).unwrap()[1024], 2, "not before completion");
        bus.advance_devices(LATENCY);
        assert_eq!(status_byte(&bus), S_OK);
        let file = std::fs::read(&path).unwrap();
        assert_eq!(&file[1024..1536], &[0xab; 512][..]);
        assert_eq!(file[1536], 3);
        assert_eq!(
            bus.read_ram(USED + 8, 4),
            Some(1),
            "only the status byte is device-writable"
        );
    }

    #[test]
    fn an_image_truncated_mid_run_gives_io_errors_not_zeros() {
        let path = image("shrunk.img", 16);
        let mut bus = bus(&path, false);
        init(&mut bus, F_VERSION_1);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(4 * SECTOR)
            .unwrap();
        // A write past the new end would make a hole, read back as zeros.
        bus.write_ram_bytes(DATA, &[0xab; 512]).unwrap();
        request(&mut bus, T_OUT, 12, 512, false, 0);
        bus.advance_devices(LATENCY);
        assert_eq!(status_byte(&bus), S_IOERR);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            4 * SECTOR,
            "the file did not grow"
        );
        request(&mut bus, T_IN, 8, 512, true, 2 * LATENCY);
        bus.advance_devices(3 * LATENCY);
        assert_eq!(status_byte(&bus), S_IOERR);
    }

    #[test]
    fn a_snapshot_keeps_writes_in_memory() {
        let path = image("snap.img", 16);
        let before = std::fs::read(&path).unwrap();
        let mut bus = bus(&path, true);
        init(&mut bus, F_VERSION_1);
        // A write of sectors 2-3 split unevenly across three buffers.
        bus.write_ram(HDR, 4, u64::from(T_OUT)).unwrap();
        bus.write_ram(HDR + 8, 8, 2).unwrap();
        bus.write_ram_bytes(DATA, &[0xcd; 1024]).unwrap();
        desc(&mut bus, DESC, 0, HDR, 16, DESC_F_NEXT, 1);
        desc(&mut bus, DESC, 1, DATA, 100, DESC_F_NEXT, 2);
        desc(&mut bus, DESC, 2, DATA + 100, 700, DESC_F_NEXT, 3);
        desc(&mut bus, DESC, 3, DATA + 800, 224, DESC_F_NEXT, 4);
        desc(&mut bus, DESC, 4, STATUS_BYTE, 1, DESC_F_WRITE, 0);
        submit(&mut bus, 0, 0);
        bus.advance_devices(LATENCY);
        assert_eq!(status_byte(&bus), S_OK);
        assert_eq!(dev(&bus).disk().overlay_sectors(), 2);
        // Read sectors 1-4 back.
        bus.write_ram_bytes(DATA, &[0; 2048]).unwrap();
        request(&mut bus, T_IN, 1, 2048, true, 2 * LATENCY);
        bus.advance_devices(3 * LATENCY);
        assert_eq!(status_byte(&bus), S_OK);
        let expected = [[1u8; 512], [0xcd; 512], [0xcd; 512], [4; 512]].concat();
        assert_eq!(bus.ram_slice(DATA, 2048).unwrap(), expected);
        // A partial-sector overlay write keeps the rest of the sector.
        let mut disk = DiskImage::open(&path, true).unwrap();
        disk.write_at(5 * 512 + 10, b"xy").unwrap();
        let mut sector = [0u8; 512];
        disk.read_at(5 * 512, &mut sector).unwrap();
        assert_eq!((sector[9], &sector[10..12], sector[12]), (5, &b"xy"[..], 5));
        assert_eq!(std::fs::read(&path).unwrap(), before, "the image is unchanged");
    }

    #[test]
    fn bad_requests_complete_with_errors() {
        let path = image("ioerr.img", 16);
        let mut bus = bus(&path, false);
        init(&mut bus, F_VERSION_1);
        let cases = [
            (T_IN, 16, 512, S_IOERR),  // past the end
            (T_IN, 15, 1024, S_IOERR), // runs past the end
            (T_IN, 0, 100, S_IOERR),   // not whole sectors
            (T_OUT, 16, 512, S_IOERR),
            (T_IN, u64::MAX, 512, S_IOERR), // overflow
            (77, 0, 512, S_UNSUPP),
            (T_GET_ID, 0, 20, S_OK),
            (T_IN, 15, 512, S_OK),
        ];
        for (i, &(kind, sector, len, expected)) in cases.iter().enumerate() {
            let now = 10 * LATENCY * i as u64;
            request(&mut bus, kind, sector, len, kind != T_OUT, now);
            bus.advance_devices(now + LATENCY);
            assert_eq!(status_byte(&bus), expected, "case {i}");
            assert_eq!(dev(&bus).status() & STATUS_NEEDS_RESET, 0);
            if kind == T_GET_ID {
                assert_eq!(bus.ram_slice(DATA, 20).unwrap(), b"rvmsmp-disk0\0\0\0\0\0\0\0\0");
            }
        }
        assert_eq!(dev(&bus).stats.errors, 6);
    }

    #[test]
    fn malformed_chains_need_a_reset_not_a_panic() {
        let path = image("broken.img", 16);
        type Setup = fn(&mut Bus);
        let cases: [(Setup, &str); 7] = [
            (
                |b| {
                    desc(
                        b,
                        DESC,
                        1,
                        DRAM_BASE + (1 << 20) - 8,
                        512,
                        DESC_F_NEXT | DESC_F_WRITE,
                        2,
                    )
                },
                "outside RAM",
            ),
            (
                |b| desc(b, DESC, 2, STATUS_BYTE, 1, DESC_F_WRITE | DESC_F_NEXT, 2),
                "a loop",
            ),
            (
                |b| desc(b, DESC, 2, STATUS_BYTE, 1, DESC_F_WRITE | DESC_F_NEXT, 9),
                "descriptor 9",
            ),
            (|b| desc(b, DESC, 0, HDR, 8, DESC_F_NEXT, 1), "header"),
            (|b| desc(b, DESC, 2, STATUS_BYTE, 1, 0, 0), "readable buffer after"),
            (|b| desc(b, DESC, 0, HDR, 15, DESC_F_INDIRECT, 0), "indirect table"),
            (|b| b.write_ram(AVAIL + 2, 2, 100).unwrap(), "available index"),
        ];
        for (setup, expect) in cases {
            let mut bus = bus(&path, false);
            init(&mut bus, F_VERSION_1);
            prepare(&mut bus, T_IN, 0, 512, true);
            setup(&mut bus);
            if bus.read_ram(AVAIL + 2, 2) == Some(100) {
                wr(&mut bus, QUEUE_NOTIFY, 0, 0);
            } else {
                submit(&mut bus, 0, 0);
            }
            bus.advance_devices(LATENCY);
            let d = dev(&bus);
            assert_ne!(d.status() & STATUS_NEEDS_RESET, 0, "{expect}");
            assert!(
                d.failure.as_ref().unwrap().1.contains(expect),
                "{expect}: {:?}",
                d.failure
            );
            assert_eq!(rd(&mut bus, INTERRUPT_STATUS), u64::from(INT_CONFIG_CHANGE));
            assert_eq!(used_idx(&bus), 0);
            // Broken until reset: notifications are ignored; a reset revives it.
            submit(&mut bus, 0, 2 * LATENCY);
            assert_eq!(bus.next_device_event(), None);
            init(&mut bus, F_VERSION_1);
            bus.write_ram(AVAIL + 2, 2, 0).unwrap();
            bus.write_ram(USED + 2, 2, 0).unwrap();
            request(&mut bus, T_IN, 0, 512, true, 3 * LATENCY);
            bus.advance_devices(4 * LATENCY);
            assert_eq!((used_idx(&bus), status_byte(&bus)), (1, S_OK), "{expect}");
        }
    }

    #[test]
    fn tolerant_of_drivers_that_negotiate_nothing() {
        let path = image("legacyish.img", 16);
        let mut bus = bus(&path, false);
        init(&mut bus, 0);
        assert_eq!(dev(&bus).status(), 0xf);
        request(&mut bus, T_IN, 1, 512, true, 0);
        bus.advance_devices(LATENCY);
        assert_eq!(status_byte(&bus), S_OK);
        // Bits the device does not offer are dropped, FEATURES_OK stands.
        init(&mut bus, F_VERSION_1 | 1 << 40 | 1 << 1);
        assert_eq!(dev(&bus).negotiated_features(), F_VERSION_1);
        assert_ne!(dev(&bus).status() & STATUS_FEATURES_OK, 0);
    }

    #[test]
    fn indirect_tables_and_odd_layouts_work() {
        let path = image("indirect.img", 16);
        let mut bus = bus(&path, false);
        init(&mut bus, F_VERSION_1 | F_INDIRECT_DESC);
        // An indirect table: the header in two pieces, the data and the
        // status in one buffer.
        let table = DRAM_BASE + 0x9000;
        bus.write_ram(HDR, 4, u64::from(T_IN)).unwrap();
        bus.write_ram(HDR + 8, 8, 7).unwrap();
        desc(&mut bus, table, 0, HDR, 5, DESC_F_NEXT, 1);
        desc(&mut bus, table, 1, HDR + 5, 11, DESC_F_NEXT, 2);
        desc(&mut bus, table, 2, DATA, 513, DESC_F_WRITE, 0);
        desc(&mut bus, DESC, 3, table, 48, DESC_F_INDIRECT, 0);
        submit(&mut bus, 3, 0);
        bus.advance_devices(LATENCY);
        assert_eq!(bus.ram_slice(DATA, 512).unwrap(), [7u8; 512]);
        assert_eq!(bus.read_ram_u8(DATA + 512), Some(S_OK));
        assert_eq!(bus.read_ram(USED + 4, 4), Some(3));

        // An indirect chain longer than the queue (8): the header in eight
        // 2-byte pieces, as QEMU allows; its length is bounded by its table.
        bus.write_ram(HDR + 8, 8, 9).unwrap();
        for i in 0..8u16 {
            desc(
                &mut bus,
                table,
                u64::from(i),
                HDR + 2 * u64::from(i),
                2,
                DESC_F_NEXT,
                i + 1,
            );
        }
        desc(&mut bus, table, 8, DATA, 512, DESC_F_WRITE | DESC_F_NEXT, 9);
        desc(&mut bus, table, 9, STATUS_BYTE, 1, DESC_F_WRITE, 0);
        desc(&mut bus, DESC, 3, table, 160, DESC_F_INDIRECT, 0);
        submit(&mut bus, 3, 2 * LATENCY);
        bus.advance_devices(3 * LATENCY);
        assert_eq!(status_byte(&bus), S_OK);
        assert_eq!(bus.ram_slice(DATA, 512).unwrap(), [9u8; 512]);

        // A loop inside the table breaks the device.
        desc(&mut bus, table, 9, STATUS_BYTE, 1, DESC_F_WRITE | DESC_F_NEXT, 8);
        submit(&mut bus, 3, 4 * LATENCY);
        bus.advance_devices(5 * LATENCY);
        assert!(dev(&bus).failure.as_ref().unwrap().1.contains("longer than its table"));
        assert_ne!(dev(&bus).status() & STATUS_NEEDS_RESET, 0);
    }

    #[test]
    fn random_rings_never_panic() {
        let path = image("fuzz.img", 16);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..300 {
            let mut bus = bus(&path, round % 2 == 0);
            init(&mut bus, F_VERSION_1);
            // Random descriptors pointing near the rings and buffers, random flags.
            for i in 0..u64::from(QSIZE) {
                let r = next();
                let addr = match r % 4 {
                    0 => HDR,
                    1 => DATA + (r >> 8) % 4096,
                    2 => STATUS_BYTE,
                    _ => next(),
                };
                let len = match (r >> 4) % 4 {
                    0 => 16,
                    1 => 512,
                    2 => 1,
                    _ => next() % 100_000,
                };
                desc(&mut bus, DESC, i, addr, len, (next() % 8) as u16, (next() % 10) as u16);
            }
            bus.write_ram(HDR, 4, next() % 10).unwrap();
            bus.write_ram(HDR + 8, 8, next() % 20).unwrap();
            for k in 0..4 {
                submit(&mut bus, (next() % 9) as u16, k * 10);
            }
            bus.advance_devices(u64::MAX);
        }
    }

    #[test]
    fn bad_images_are_refused_with_their_reason() {
        let dir = std::env::temp_dir().join(format!("rvmsmp-vblk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let reason = |path: &Path, snapshot: bool| DiskImage::open(path, snapshot).unwrap_err().to_string();
        assert!(reason(&dir.join("missing.img"), false).contains("No such file"));
        assert!(reason(&dir, false).contains("is a directory"));
        let odd = dir.join("odd.img");
        std::fs::write(&odd, [0u8; 1000]).unwrap();
        assert!(reason(&odd, false).contains("not a whole number of 512-byte sectors"));
        let empty = dir.join("empty.img");
        std::fs::write(&empty, []).unwrap();
        assert!(reason(&empty, true).contains("is empty"));
        let ro = image("ro.img", 4);
        let mut perms = std::fs::metadata(&ro).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&ro, perms).unwrap();
        assert!(reason(&ro, false).contains("read-only; use --snapshot"));
        assert!(DiskImage::open(&ro, true).is_ok());
    }
}
