//! The core-local interruptor (SiFive CLINT, as on QEMU virt): per-hart
//! software-interrupt bits (msip), timer compares (mtimecmp) and the shared
//! mtime, which counts simulated cycles divided by the tick length.

use crate::cost::CYCLES_PER_TICK;

const MSIP_BASE: u64 = 0x0000;
const MTIMECMP_BASE: u64 = 0x4000;
const MTIME: u64 = 0xbff8;

#[derive(Clone, Debug)]
pub struct Clint {
    msip: Vec<bool>,
    mtimecmp: Vec<u64>,
    /// Added to the cycle-derived time, so that software can write mtime.
    mtime_offset: u64,
}

impl Clint {
    pub fn new(harts: usize) -> Clint {
        // mtimecmp resets to all ones on QEMU, so no timer fires until armed.
        Clint {
            msip: vec![false; harts],
            mtimecmp: vec![u64::MAX; harts],
            mtime_offset: 0,
        }
    }

    /// mtime at simulated cycle `now`.
    pub fn mtime(&self, now: u64) -> u64 {
        (now / CYCLES_PER_TICK).wrapping_add(self.mtime_offset)
    }

    /// The first cycle at which mtime reaches `tick`, if it ever does.
    pub fn cycle_of_tick(&self, tick: u64) -> Option<u64> {
        match tick.checked_sub(self.mtime_offset) {
            None | Some(0) => Some(0),
            Some(t) => t.checked_mul(CYCLES_PER_TICK),
        }
    }

    pub fn msip(&self, hart: usize) -> bool {
        self.msip.get(hart).copied().unwrap_or(false)
    }

    pub fn mtimecmp(&self, hart: usize) -> u64 {
        self.mtimecmp.get(hart).copied().unwrap_or(u64::MAX)
    }

    /// Accepts 4- and 8-byte accesses; 8-byte registers may also be accessed
    /// as two 4-byte halves.
    pub fn read(&self, offset: u64, size: u64, now: u64) -> Option<u64> {
        if size != 4 && size != 8 {
            return None;
        }
        let (reg, value) = self.register(offset, now)?;
        if size == 8 && offset != reg {
            return None;
        }
        Some(extract(value, offset - reg, size))
    }

    pub fn write(&mut self, offset: u64, size: u64, value: u64, now: u64) -> Option<()> {
        if size != 4 && size != 8 {
            return None;
        }
        let (reg, old) = self.register(offset, now)?;
        if size == 8 && offset != reg {
            return None;
        }
        let new = insert(old, offset - reg, size, value);
        if reg < MTIMECMP_BASE {
            let hart = (reg / 4) as usize;
            if let Some(bit) = self.msip.get_mut(hart) {
                *bit = new & 1 != 0;
            }
        } else if reg == MTIME {
            self.mtime_offset = new.wrapping_sub(now / CYCLES_PER_TICK);
        } else {
            let hart = ((reg - MTIMECMP_BASE) / 8) as usize;
            if let Some(cmp) = self.mtimecmp.get_mut(hart) {
                *cmp = new;
            }
        }
        Some(())
    }

    /// The hart whose interrupt lines a write at `offset` may change (its
    /// msip or mtimecmp); `None` for mtime, which every hart's timer reads.
    pub fn hart_written(offset: u64) -> Option<usize> {
        if offset < MTIMECMP_BASE {
            Some(((offset - MSIP_BASE) / 4) as usize)
        } else if offset < MTIME {
            Some(((offset - MTIMECMP_BASE) / 8) as usize)
        } else {
            None
        }
    }

    /// The register containing `offset`: its start and its value at cycle
    /// `now`. An 8-byte access must be aligned to its register.
    fn register(&self, offset: u64, now: u64) -> Option<(u64, u64)> {
        if (MTIME..MTIME + 8).contains(&offset) {
            return Some((MTIME, self.mtime(now)));
        }
        if offset < MTIMECMP_BASE {
            let reg = offset & !3;
            return Some((reg, self.msip(((reg - MSIP_BASE) / 4) as usize) as u64));
        }
        if offset < MTIME {
            let reg = offset & !7;
            return Some((reg, self.mtimecmp(((reg - MTIMECMP_BASE) / 8) as usize)));
        }
        None
    }
}

fn extract(value: u64, byte: u64, size: u64) -> u64 {
    let v = value >> (8 * byte);
    if size == 8 {
        v
    } else {
        v & 0xffff_ffff
    }
}

fn insert(old: u64, byte: u64, size: u64, value: u64) -> u64 {
    if size == 8 {
        return value;
    }
    let shift = 8 * byte;
    (old & !(0xffff_ffffu64 << shift)) | ((value & 0xffff_ffff) << shift)
}
