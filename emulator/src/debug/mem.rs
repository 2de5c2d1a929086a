//! Memory as a debugger sees it: virtual addresses translated through a
//! hart's page table without side effects (no TLB fill, no accessed or
//! dirty bit set, no permission check), and RAM read and written directly.
//! Device registers are never touched: reading one could change it.

use crate::bus::Bus;
use crate::cpu::csr::mstatus;
use crate::cpu::decode::{decode, Insn};
use crate::cpu::{Hart, Priv};

const PAGE_SHIFT: u64 = 12;
const PPN_MASK: u64 = (1 << 44) - 1;
const SATP_SV39: u64 = 8;

/// Whether instruction fetches or data accesses are meant: they differ
/// under mstatus.MPRV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Code,
    Data,
}

/// The physical address of `va` as `hart` sees it now, or `None` if it is
/// not mapped.
pub fn translate(hart: &Hart, bus: &Bus, va: u64, view: View) -> Option<u64> {
    let prv = if view == View::Data && hart.prv == Priv::M && hart.csr.mstatus & mstatus::MPRV != 0 {
        Priv::from_bits((hart.csr.mstatus & mstatus::MPP) >> mstatus::MPP_SHIFT)
    } else {
        hart.prv
    };
    if prv == Priv::M || hart.csr.satp >> 60 != SATP_SV39 {
        return Some(va);
    }
    if ((va as i64) << 25 >> 25) as u64 != va {
        return None;
    }
    let mut table = (hart.csr.satp & PPN_MASK) << PAGE_SHIFT;
    for level in (0..3).rev() {
        let index = (va >> (PAGE_SHIFT + 9 * level)) & 0x1ff;
        let pte = bus.read_ram_u64(table + index * 8)?;
        if pte & 1 == 0 {
            return None;
        }
        let ppn = (pte >> 10) & PPN_MASK;
        if pte & 0b1010 == 0 {
            table = ppn << PAGE_SHIFT;
            continue;
        }
        let span = PAGE_SHIFT + 9 * level;
        let page = (ppn << PAGE_SHIFT) & !((1 << span) - 1);
        return Some(page | (va & ((1 << span) - 1)));
    }
    None
}

/// Reads `len` bytes of RAM at virtual address `va`; `None` if any byte is
/// unmapped or not RAM.
pub fn read_virt(hart: &Hart, bus: &Bus, va: u64, len: usize, view: View) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    for i in 0..len as u64 {
        let pa = translate(hart, bus, va.wrapping_add(i), view)?;
        out.push(bus.read_ram_u8(pa)?);
    }
    Some(out)
}

/// Writes bytes to RAM at virtual address `va`: all or nothing.
pub fn write_virt(hart: &Hart, bus: &mut Bus, va: u64, data: &[u8]) -> Option<()> {
    let mut pas = Vec::with_capacity(data.len());
    for i in 0..data.len() as u64 {
        let pa = translate(hart, bus, va.wrapping_add(i), View::Data)?;
        bus.is_ram(pa, 1).then_some(())?;
        pas.push(pa);
    }
    for (pa, &b) in pas.into_iter().zip(data) {
        bus.write_ram_u8(pa, b)?;
    }
    Some(())
}

/// A little-endian value of 1 to 8 bytes at `va`.
pub fn read_value(hart: &Hart, bus: &Bus, va: u64, size: usize, view: View) -> Option<u64> {
    let bytes = read_virt(hart, bus, va, size, view)?;
    Some(bytes.iter().rev().fold(0, |v, &b| v << 8 | b as u64))
}

/// The instruction at `va` as `hart` would fetch it: its bits (16 for a
/// compressed one) and decoded form.
pub fn fetch(hart: &Hart, bus: &Bus, va: u64) -> Option<(u32, Insn)> {
    let low = read_value(hart, bus, va, 2, View::Code)? as u32;
    let bits = if low & 3 == 3 {
        low | (read_value(hart, bus, va.wrapping_add(2), 2, View::Code)? as u32) << 16
    } else {
        low
    };
    Some((bits, decode(bits)))
}
