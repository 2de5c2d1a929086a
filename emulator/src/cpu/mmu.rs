//! Virtual memory (Sv39, privileged spec §4.3-§4.4), the per-hart TLB, and
//! the hart's view of memory: loads, stores and instruction fetch, with
//! misaligned accesses split into bytes.
//!
//! Accessed and dirty bits are set by the hardware walk, as QEMU does, so
//! kernels written for QEMU that never set them (xv6, for one) run unchanged.
//! PMP registers exist but are not enforced (every access is allowed).

use bitflags::bitflags;

use super::csr::{mstatus, SATP_MODE_SV39};
use super::trap::{Exception, Trap};
use super::{Hart, Priv};
use crate::bus::Bus;

bitflags! {
    /// Page-table entry flag bits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Pte: u64 {
        const V = 1 << 0;
        const R = 1 << 1;
        const W = 1 << 2;
        const X = 1 << 3;
        const U = 1 << 4;
        const G = 1 << 5;
        const A = 1 << 6;
        const D = 1 << 7;
    }
}

pub(super) const PAGE_SHIFT: u64 = 12;
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
const PTE_PPN_SHIFT: u64 = 10;
const PTE_PPN_MASK: u64 = (1 << 44) - 1;
/// Bits 63:54 of a PTE are reserved (no Svpbmt or Svnapot) and must be zero.
const PTE_RESERVED: u64 = 0x3ff << 54;

/// The kind of memory access, which decides the permission checked and the
/// exception raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Fetch,
    Load,
    Store,
}

impl Access {
    fn page_fault(self) -> Exception {
        match self {
            Access::Fetch => Exception::InstructionPageFault,
            Access::Load => Exception::LoadPageFault,
            Access::Store => Exception::StorePageFault,
        }
    }

    pub fn access_fault(self) -> Exception {
        match self {
            Access::Fetch => Exception::InstructionAccessFault,
            Access::Load => Exception::LoadAccessFault,
            Access::Store => Exception::StoreAccessFault,
        }
    }

    fn misaligned(self) -> Exception {
        match self {
            Access::Fetch => Exception::InstructionAddressMisaligned,
            Access::Load => Exception::LoadAddressMisaligned,
            Access::Store => Exception::StoreAddressMisaligned,
        }
    }
}

/// Translations kept: enough for a 32 MiB working set of 4 KiB pages.
const TLB_ENTRIES: usize = 8192;
/// Fast-path entries for loads, and as many for stores: as many as the
/// TLB has, since a load or store the fast path misses costs a call into
/// the interpreter in translated code.
pub(super) const FAST_ENTRIES: usize = 8192;
/// A fast-path table: (tag, RAM offset of the page) per entry.
type FastTable = [u64; 2 * FAST_ENTRIES];

fn empty_fast_table() -> Box<FastTable> {
    // Built as a zeroed Vec (memory the host maps only when touched), not
    // on the stack.
    vec![0; 2 * FAST_ENTRIES]
        .into_boxed_slice()
        .try_into()
        .unwrap_or_else(|_| unreachable!())
}
/// An entry's tag holds the generation it was filled in above the page
/// number (at most 52 bits of a virtual address's page number).
pub(super) const GEN_SHIFT: u32 = 52;
const GEN_LIMIT: u64 = 1 << (64 - GEN_SHIFT);

/// A hart's translation caches.
///
/// The TLB proper is direct-mapped and caches each leaf's physical page and
/// flags; permissions are checked on every access against the current
/// privilege, SUM and MXR, so a hit needs no walk whatever those are. It is
/// flushed on satp writes and sfence.vma.
///
/// In front of it, two smaller caches for aligned loads and stores map a
/// virtual page straight to its offset in RAM, permission already checked:
/// they hold only while nothing that decides the outcome changes, so every
/// privilege change, CSR write and TLB flush empties them.
///
/// Flushing is O(1): entries carry the generation they were filled in, and
/// a flush starts a new one. The tables are allocated zeroed and untouched
/// (generation 0 never matches), so a hart pays in memory only for the
/// entries it uses.
#[derive(Clone, Debug)]
pub struct Tlb {
    /// Virtual page number (27 bits) and generation; its physical page and
    /// leaf flags beside it.
    tags: Vec<u64>,
    pages: Vec<u64>,
    flags: Vec<u8>,
    generation: u64,
    /// Per entry, a tag (as `tags`, with the fast generation) and the RAM
    /// offset of its page, side by side; boxed arrays, so that translated
    /// code (cpu/jit.rs) finds them through one pointer in the hart.
    fast_loads: Box<FastTable>,
    fast_stores: Box<FastTable>,
    /// The last page instructions were fetched from: its virtual page (with
    /// the fast generation, as above) and its physical page. Kept in the
    /// hart itself, so that running block after block from one page needs
    /// no lookup in the tables.
    fetch_tag: u64,
    fetch_page: u64,
    fast_generation: u64,
}

impl Default for Tlb {
    fn default() -> Self {
        Tlb {
            tags: vec![0; TLB_ENTRIES],
            pages: vec![0; TLB_ENTRIES],
            flags: vec![0; TLB_ENTRIES],
            generation: 1,
            fast_loads: empty_fast_table(),
            fast_stores: empty_fast_table(),
            fetch_tag: 0,
            fetch_page: 0,
            fast_generation: 1,
        }
    }
}

impl Tlb {
    /// Where translated code (cpu/jit.rs) finds the fast paths in a `Tlb`.
    pub(super) const FAST_LOADS: usize = std::mem::offset_of!(Tlb, fast_loads);
    pub(super) const FAST_STORES: usize = std::mem::offset_of!(Tlb, fast_stores);
    pub(super) const FAST_GENERATION: usize = std::mem::offset_of!(Tlb, fast_generation);

    pub fn flush(&mut self) {
        self.generation += 1;
        if self.generation == GEN_LIMIT {
            self.tags.fill(0);
            self.generation = 1;
        }
        self.flush_fast();
    }

    /// Empties the load and store fast paths.
    #[inline]
    pub fn flush_fast(&mut self) {
        self.fast_generation += 1;
        if self.fast_generation == GEN_LIMIT {
            self.fast_loads.fill(0);
            self.fast_stores.fill(0);
            self.fast_generation = 1;
        }
    }

    #[inline]
    fn lookup(&self, vpn: u64) -> Option<(u64, u64)> {
        let i = vpn as usize % TLB_ENTRIES;
        (self.tags[i] == vpn | self.generation << GEN_SHIFT).then(|| (self.pages[i], self.flags[i] as u64))
    }

    fn insert(&mut self, vpn: u64, page: u64, flags: u64) {
        let i = vpn as usize % TLB_ENTRIES;
        self.tags[i] = vpn | self.generation << GEN_SHIFT;
        self.pages[i] = page;
        self.flags[i] = flags as u8;
    }

    #[inline]
    fn fast_tag(&self, va: u64) -> u64 {
        (va >> PAGE_SHIFT) | self.fast_generation << GEN_SHIFT
    }

    /// The RAM offset of the byte at `va`, if loads from its page may skip
    /// translation.
    #[inline]
    fn fast_load(&self, va: u64) -> Option<usize> {
        let i = (va >> PAGE_SHIFT) as usize % FAST_ENTRIES;
        (self.fast_loads[2 * i] == self.fast_tag(va))
            .then(|| self.fast_loads[2 * i + 1] as usize + (va & (PAGE_SIZE - 1)) as usize)
    }

    /// The same for stores.
    #[inline]
    fn fast_store(&self, va: u64) -> Option<usize> {
        let i = (va >> PAGE_SHIFT) as usize % FAST_ENTRIES;
        (self.fast_stores[2 * i] == self.fast_tag(va))
            .then(|| self.fast_stores[2 * i + 1] as usize + (va & (PAGE_SIZE - 1)) as usize)
    }

    /// The physical address of `va` for a fetch, if it lies in the page
    /// last fetched from and nothing has changed since.
    #[inline]
    pub(super) fn fast_fetch(&self, va: u64) -> Option<u64> {
        (self.fetch_tag == self.fast_tag(va)).then_some(self.fetch_page | (va & (PAGE_SIZE - 1)))
    }

    /// Notes a successful fetch translation of `va` to `pa`.
    #[inline]
    pub(super) fn fill_fetch(&mut self, va: u64, pa: u64) {
        self.fetch_tag = self.fast_tag(va);
        self.fetch_page = pa & !(PAGE_SIZE - 1);
    }

    fn fill_fast(&mut self, access: Access, va: u64, page_offset: usize) {
        let i = (va >> PAGE_SHIFT) as usize % FAST_ENTRIES;
        let tag = self.fast_tag(va);
        match access {
            Access::Load => (self.fast_loads[2 * i], self.fast_loads[2 * i + 1]) = (tag, page_offset as u64),
            Access::Store => (self.fast_stores[2 * i], self.fast_stores[2 * i + 1]) = (tag, page_offset as u64),
            Access::Fetch => {}
        }
    }
}

impl Hart {
    /// The privilege that loads and stores are checked against (MPRV).
    fn data_priv(&self) -> Priv {
        if self.prv == Priv::M && self.csr.mstatus & mstatus::MPRV != 0 {
            Priv::from_bits((self.csr.mstatus & mstatus::MPP) >> mstatus::MPP_SHIFT)
        } else {
            self.prv
        }
    }

    /// Whether this hart fetches the instructions at `va` from a page it
    /// cannot write: paging is on and the page's leaf, as the TLB holds
    /// it, lacks W (program text, as opposed to data or a kernel's own
    /// pages). False when the TLB does not say.
    pub(super) fn fetches_from_read_only_page(&self, va: u64) -> bool {
        if self.prv == Priv::M || self.csr.satp >> 60 != SATP_MODE_SV39 {
            return false;
        }
        let vpn = (va >> PAGE_SHIFT) & ((1 << 27) - 1);
        self.tlb
            .lookup(vpn)
            .is_some_and(|(_, flags)| flags & Pte::W.bits() == 0)
    }

    /// Translates a virtual address to a physical one.
    #[inline]
    pub fn translate(&mut self, bus: &mut Bus, va: u64, access: Access) -> Result<u64, Trap> {
        let prv = if access == Access::Fetch {
            self.prv
        } else {
            self.data_priv()
        };
        if prv == Priv::M || self.csr.satp >> 60 != SATP_MODE_SV39 {
            return Ok(va);
        }
        // Bits 63:39 must all equal bit 38.
        if ((va as i64) << 25 >> 25) as u64 != va {
            return Err(Trap::new(access.page_fault(), va));
        }
        let vpn = (va >> PAGE_SHIFT) & ((1 << 27) - 1);
        let offset = va & (PAGE_SIZE - 1);
        if let Some((page, flags)) = self.tlb.lookup(vpn) {
            let dirty_needed = access == Access::Store && flags & Pte::D.bits() == 0;
            if !dirty_needed {
                if !self.permits(flags, access, prv) {
                    return Err(Trap::new(access.page_fault(), va));
                }
                return Ok(page | offset);
            }
        }
        let (page, flags) = self.walk(bus, va, access, prv)?;
        self.tlb.insert(vpn, page, flags);
        Ok(page | offset)
    }

    /// Whether a leaf with these flags allows the access at privilege `prv`.
    fn permits(&self, flags: u64, access: Access, prv: Priv) -> bool {
        let pte = Pte::from_bits_truncate(flags);
        let user_page = pte.contains(Pte::U);
        match prv {
            Priv::U if !user_page => return false,
            // S may touch user pages only for loads and stores, and only with SUM.
            Priv::S if user_page && (access == Access::Fetch || self.csr.mstatus & mstatus::SUM == 0) => return false,
            _ => {}
        }
        match access {
            Access::Fetch => pte.contains(Pte::X),
            Access::Load => pte.contains(Pte::R) || (self.csr.mstatus & mstatus::MXR != 0 && pte.contains(Pte::X)),
            Access::Store => pte.contains(Pte::W),
        }
    }

    /// Walks the Sv39 page table (§4.3.2), setting A and D in the leaf.
    /// Returns the physical page and the leaf's flags.
    fn walk(&mut self, bus: &mut Bus, va: u64, access: Access, prv: Priv) -> Result<(u64, u64), Trap> {
        let fault = Trap::new(access.page_fault(), va);
        let mut table = (self.csr.satp & PTE_PPN_MASK) << PAGE_SHIFT;
        for level in (0..3).rev() {
            let index = (va >> (PAGE_SHIFT + 9 * level)) & 0x1ff;
            let pte_addr = table + index * 8;
            let pte = bus.read_ram_u64(pte_addr).ok_or(Trap::new(access.access_fault(), va))?;
            let flags = Pte::from_bits_truncate(pte);
            if !flags.contains(Pte::V) || (!flags.contains(Pte::R) && flags.contains(Pte::W)) || pte & PTE_RESERVED != 0
            {
                return Err(fault);
            }
            let ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
            if !flags.intersects(Pte::R | Pte::X) {
                // A pointer to the next level; at level 0 there is none.
                if level == 0 || flags.intersects(Pte::A | Pte::D | Pte::U) {
                    return Err(fault);
                }
                table = ppn << PAGE_SHIFT;
                continue;
            }
            // A superpage's low PPN fields must be zero.
            let low_ppn_mask = (1u64 << (9 * level)) - 1;
            if ppn & low_ppn_mask != 0 || !self.permits(pte, access, prv) {
                return Err(fault);
            }
            let mut new_pte = pte | Pte::A.bits();
            if access == Access::Store {
                new_pte |= Pte::D.bits();
            }
            if new_pte != pte {
                bus.write_ram_u64(pte_addr, new_pte)
                    .ok_or(Trap::new(access.access_fault(), va))?;
            }
            let vpn_low = (va >> PAGE_SHIFT) & low_ppn_mask;
            let page = (ppn | vpn_low) << PAGE_SHIFT;
            return Ok((page, new_pte & 0xff));
        }
        Err(fault)
    }

    /// Loads `size` bytes (1, 2, 4 or 8) from virtual address `va`, zero-extended.
    pub fn load(&mut self, bus: &mut Bus, va: u64, size: u64) -> Result<u64, Trap> {
        if va & (size - 1) == 0 {
            if let Some(off) = self.tlb.fast_load(va) {
                return Ok(bus.ram_load_at(off, size));
            }
            let pa = self.translate(bus, va, Access::Load)?;
            if let Some(page) = bus.ram_page_offset(pa) {
                self.tlb.fill_fast(Access::Load, va, page);
            }
            return self.load_phys(bus, pa, size, va);
        }
        // Misaligned: translate every page it touches first, then read bytes.
        let pas = self.translate_span(bus, va, size, Access::Load)?;
        let mut value = 0u64;
        for (i, pa) in pas.iter().take(size as usize).enumerate() {
            let byte = bus
                .read_ram_u8(*pa)
                .ok_or(Trap::new(Exception::LoadAddressMisaligned, va))?;
            value |= (byte as u64) << (8 * i);
        }
        Ok(value)
    }

    /// Stores the low `size` bytes of `value` at virtual address `va`.
    pub fn store(&mut self, bus: &mut Bus, va: u64, size: u64, value: u64) -> Result<(), Trap> {
        if va & (size - 1) == 0 {
            if let Some(off) = self.tlb.fast_store(va) {
                bus.ram_store_at(off, size, value);
                return Ok(());
            }
            let pa = self.translate(bus, va, Access::Store)?;
            if let Some(page) = bus.ram_page_offset(pa) {
                self.tlb.fill_fast(Access::Store, va, page);
            }
            return self.store_phys(bus, pa, size, value, va);
        }
        let pas = self.translate_span(bus, va, size, Access::Store)?;
        // Misaligned accesses are performed only on RAM; check all bytes first.
        if pas.iter().take(size as usize).any(|&pa| !bus.is_ram(pa, 1)) {
            return Err(Trap::new(Exception::StoreAddressMisaligned, va));
        }
        for (i, pa) in pas.iter().take(size as usize).enumerate() {
            bus.write_ram_u8(*pa, (value >> (8 * i)) as u8);
        }
        Ok(())
    }

    /// Physical addresses of each byte of a misaligned access (at most 8).
    fn translate_span(&mut self, bus: &mut Bus, va: u64, size: u64, access: Access) -> Result<[u64; 8], Trap> {
        let first = self.translate(bus, va, access)?;
        let last_va = va.wrapping_add(size - 1);
        let second = if (va ^ last_va) >> PAGE_SHIFT != 0 {
            let page_start = last_va & !(PAGE_SIZE - 1);
            Some((page_start, self.translate(bus, page_start, access)?))
        } else {
            None
        };
        let mut out = [0u64; 8];
        for (i, slot) in out.iter_mut().enumerate().take(size as usize) {
            let byte_va = va.wrapping_add(i as u64);
            *slot = match second {
                Some((start, pa)) if byte_va >= start || byte_va < va => pa + (byte_va - start),
                _ => first + i as u64,
            };
        }
        Ok(out)
    }

    /// Reads physical memory; device registers are reached through the bus.
    pub fn load_phys(&mut self, bus: &mut Bus, pa: u64, size: u64, va: u64) -> Result<u64, Trap> {
        if let Some(v) = bus.read_ram(pa, size) {
            return Ok(v);
        }
        self.cycle += self.cost.mmio_access;
        let value = bus.read_mmio(pa, size, self.id, self.cycle);
        // A device read may change interrupt lines (reading a UART register, claiming at the PLIC).
        self.resync();
        value.ok_or(Trap::new(Exception::LoadAccessFault, va))
    }

    /// Writes physical memory; device registers are reached through the bus.
    pub fn store_phys(&mut self, bus: &mut Bus, pa: u64, size: u64, value: u64, va: u64) -> Result<(), Trap> {
        if bus.write_ram(pa, size, value).is_some() {
            return Ok(());
        }
        self.cycle += self.cost.mmio_access;
        let ok = bus.write_mmio(pa, size, value, self.id, self.cycle);
        self.resync();
        ok.ok_or(Trap::new(Exception::StoreAccessFault, va))
    }

    /// Fetches the instruction at pc: its physical address and its bits
    /// (16 bits for a compressed instruction, else 32).
    #[inline]
    pub fn fetch(&mut self, bus: &mut Bus) -> Result<(u64, u32), Trap> {
        let pc = self.pc;
        let pa = self.translate(bus, pc, Access::Fetch)?;
        // Fast path: all four bytes in one page of RAM.
        if pa & (PAGE_SIZE - 1) <= PAGE_SIZE - 4 {
            if let Some(word) = bus.read_ram(pa, 4) {
                let word = word as u32;
                return Ok((pa, if word & 3 == 3 { word } else { word & 0xffff }));
            }
        }
        let low = bus
            .read_ram(pa, 2)
            .ok_or(Trap::new(Exception::InstructionAccessFault, pc))? as u32;
        if low & 3 != 3 {
            return Ok((pa, low));
        }
        let next = pc.wrapping_add(2);
        let pa_high = if next & (PAGE_SIZE - 1) == 0 {
            self.translate(bus, next, Access::Fetch)?
        } else {
            pa + 2
        };
        let high = bus
            .read_ram(pa_high, 2)
            .ok_or(Trap::new(Exception::InstructionAccessFault, next))? as u32;
        Ok((pa, low | high << 16))
    }

    /// Checks the natural alignment an atomic access requires.
    pub fn check_atomic_alignment(&self, va: u64, size: u64, access: Access) -> Result<(), Trap> {
        if va & (size - 1) != 0 {
            return Err(Trap::new(access.misaligned(), va));
        }
        Ok(())
    }
}
