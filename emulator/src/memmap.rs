//! The physical memory map of the machine: one table, from which the bus, the
//! device tree and the documentation are all built.
//!
//! Addresses and sizes follow QEMU's `virt` board (`hw/riscv/virt.c`) so that a
//! kernel built for `qemu-system-riscv64 -machine virt -bios none` runs unchanged.

/// One region of the physical address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub name: &'static str,
    pub base: u64,
    pub size: u64,
}

impl Region {
    /// One past the last byte of the region.
    pub const fn end(&self) -> u64 {
        self.base + self.size
    }

    /// Whether `[addr, addr + len)` lies wholly inside the region.
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.base && len <= self.size && addr - self.base <= self.size - len
    }
}

/// The most harts the platform supports; QEMU virt has the same limit.
pub const MAX_HARTS: usize = 512;

/// sifive_test finisher: power off with an exit status, or reset.
pub const TEST_FINISHER: Region = Region {
    name: "test",
    base: 0x0010_0000,
    size: 0x1000,
};
/// rvmsmp's paravirtual annotation device (docs/kernel-interface.md), in a
/// gap of QEMU virt's map.
pub const ANNOTATE: Region = Region {
    name: "annotate",
    base: 0x0011_0000,
    size: 0x1000,
};
/// Core-local interruptor: msip, mtimecmp and mtime.
pub const CLINT: Region = Region {
    name: "clint",
    base: 0x0200_0000,
    size: 0x1_0000,
};
/// Platform-level interrupt controller, sized for two contexts per hart.
pub const PLIC: Region = Region {
    name: "plic",
    base: 0x0c00_0000,
    size: 0x20_0000 + (MAX_HARTS as u64 * 2) * 0x1000,
};
/// NS16550A UART.
pub const UART0: Region = Region {
    name: "uart0",
    base: 0x1000_0000,
    size: 0x100,
};
/// The first virtio-mmio slot: the disk (`--disk`), a virtio block device.
pub const VIRTIO0: Region = Region {
    name: "virtio_mmio0",
    base: 0x1000_1000,
    size: 0x1000,
};
/// All eight virtio-mmio slots, mapped only when a disk is attached (slots
/// 1 to 7 are then empty transports, as on QEMU); unmapped otherwise.
pub const VIRTIO_SLOTS: Region = Region {
    name: "virtio_mmio",
    base: VIRTIO0.base,
    size: 8 * VIRTIO0.size,
};
/// Main memory starts here; its size is chosen at run time (`--mem`).
pub const DRAM_BASE: u64 = 0x8000_0000;

/// PLIC interrupt source of the UART.
pub const UART0_IRQ: u32 = 10;
/// PLIC interrupt source of the first virtio-mmio slot (the disk).
pub const VIRTIO0_IRQ: u32 = 1;
/// Number of PLIC interrupt sources, source 0 included (as QEMU virt).
pub const PLIC_NUM_SOURCES: u32 = 96;

/// The clock that drives `mtime` (QEMU virt's timebase-frequency).
pub const TIMEBASE_HZ: u64 = 10_000_000;

/// The device regions in address order (RAM is added by the machine, with its size).
pub const DEVICES: [Region; 5] = [TEST_FINISHER, ANNOTATE, CLINT, PLIC, UART0];

/// The RAM region for a given size in bytes.
pub const fn dram(size: u64) -> Region {
    Region {
        name: "dram",
        base: DRAM_BASE,
        size,
    }
}

/// Checks that no two regions overlap; the machine refuses to build otherwise.
pub fn check_no_overlap(regions: &[Region]) -> Result<(), String> {
    for (i, a) in regions.iter().enumerate() {
        for b in &regions[i + 1..] {
            if a.base < b.end() && b.base < a.end() {
                return Err(format!(
                    "devices {} at [{:#x}, {:#x}) and {} at [{:#x}, {:#x}) overlap",
                    a.name,
                    a.base,
                    a.end(),
                    b.name,
                    b.base,
                    b.end()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_regions_do_not_overlap() {
        let mut all = DEVICES.to_vec();
        all.push(VIRTIO_SLOTS);
        all.push(dram(128 << 20));
        check_no_overlap(&all).unwrap();
    }

    #[test]
    fn overlap_is_refused() {
        let a = Region {
            name: "a",
            base: 0x1000,
            size: 0x1000,
        };
        let b = Region {
            name: "b",
            base: 0x1fff,
            size: 0x10,
        };
        assert!(check_no_overlap(&[a, b]).unwrap_err().contains("overlap"));
    }

    #[test]
    fn contains_is_half_open_and_does_not_overflow() {
        let r = dram(0x1000);
        assert!(r.contains(DRAM_BASE, 0x1000));
        assert!(!r.contains(DRAM_BASE + 0x1000, 1));
        assert!(!r.contains(DRAM_BASE + 0xfff, 2));
        assert!(!r.contains(u64::MAX, 8));
    }
}
