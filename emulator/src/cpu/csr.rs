//! Control and status registers: their numbers, their fields, and the rules
//! for reading and writing them (privileged spec v1.12, chapters 2-4).
//!
//! Each CSR is one arm in [`Hart::csr_read`] and [`Hart::csr_write`]; access
//! checks (privilege, read-only, counter enables) happen first in
//! [`Hart::csr_accessible`], so reads have no side effects.

use bitflags::bitflags;

use super::{Hart, Priv};
use crate::bus::Bus;

/// CSR numbers.
pub mod addr {
    pub const FFLAGS: u16 = 0x001;
    pub const FRM: u16 = 0x002;
    pub const FCSR: u16 = 0x003;
    pub const CYCLE: u16 = 0xc00;
    pub const TIME: u16 = 0xc01;
    pub const INSTRET: u16 = 0xc02;
    pub const HPMCOUNTER3: u16 = 0xc03;
    pub const HPMCOUNTER31: u16 = 0xc1f;
    pub const SSTATUS: u16 = 0x100;
    pub const SIE: u16 = 0x104;
    pub const STVEC: u16 = 0x105;
    pub const SCOUNTEREN: u16 = 0x106;
    pub const SENVCFG: u16 = 0x10a;
    pub const SSCRATCH: u16 = 0x140;
    pub const SEPC: u16 = 0x141;
    pub const SCAUSE: u16 = 0x142;
    pub const STVAL: u16 = 0x143;
    pub const SIP: u16 = 0x144;
    pub const STIMECMP: u16 = 0x14d;
    pub const SATP: u16 = 0x180;
    pub const MVENDORID: u16 = 0xf11;
    pub const MARCHID: u16 = 0xf12;
    pub const MIMPID: u16 = 0xf13;
    pub const MHARTID: u16 = 0xf14;
    pub const MCONFIGPTR: u16 = 0xf15;
    pub const MSTATUS: u16 = 0x300;
    pub const MISA: u16 = 0x301;
    pub const MEDELEG: u16 = 0x302;
    pub const MIDELEG: u16 = 0x303;
    pub const MIE: u16 = 0x304;
    pub const MTVEC: u16 = 0x305;
    pub const MCOUNTEREN: u16 = 0x306;
    pub const MENVCFG: u16 = 0x30a;
    pub const MCOUNTINHIBIT: u16 = 0x320;
    pub const MHPMEVENT3: u16 = 0x323;
    pub const MHPMEVENT31: u16 = 0x33f;
    pub const MSCRATCH: u16 = 0x340;
    pub const MEPC: u16 = 0x341;
    pub const MCAUSE: u16 = 0x342;
    pub const MTVAL: u16 = 0x343;
    pub const MIP: u16 = 0x344;
    pub const PMPCFG0: u16 = 0x3a0;
    pub const PMPCFG15: u16 = 0x3af;
    pub const PMPADDR0: u16 = 0x3b0;
    pub const PMPADDR63: u16 = 0x3ef;
    pub const TSELECT: u16 = 0x7a0;
    pub const TDATA1: u16 = 0x7a1;
    pub const TDATA2: u16 = 0x7a2;
    pub const TDATA3: u16 = 0x7a3;
    pub const MCYCLE: u16 = 0xb00;
    pub const MINSTRET: u16 = 0xb02;
    pub const MHPMCOUNTER3: u16 = 0xb03;
    pub const MHPMCOUNTER31: u16 = 0xb1f;
}

/// Fields of mstatus (and of its sstatus view).
pub mod mstatus {
    pub const SIE: u64 = 1 << 1;
    pub const MIE: u64 = 1 << 3;
    pub const SPIE: u64 = 1 << 5;
    pub const MPIE: u64 = 1 << 7;
    pub const SPP: u64 = 1 << 8;
    pub const MPP_SHIFT: u64 = 11;
    pub const MPP: u64 = 3 << MPP_SHIFT;
    /// The floating-point state: Off (0), Initial, Clean or Dirty (all ones).
    pub const FS: u64 = 3 << 13;
    pub const FS_INITIAL: u64 = 1 << 13;
    pub const FS_CLEAN: u64 = 2 << 13;
    pub const FS_DIRTY: u64 = 3 << 13;
    pub const XS: u64 = 3 << 15;
    pub const MPRV: u64 = 1 << 17;
    pub const SUM: u64 = 1 << 18;
    pub const MXR: u64 = 1 << 19;
    pub const TVM: u64 = 1 << 20;
    pub const TW: u64 = 1 << 21;
    pub const TSR: u64 = 1 << 22;
    /// UXL = SXL = 2: U and S are 64-bit, fixed.
    pub const UXL_SXL_64: u64 = (2 << 32) | (2 << 34);
    pub const UXL: u64 = 3 << 32;
    pub const SD: u64 = 1 << 63;

    /// Bits software may change through mstatus (SD is computed from FS; XS
    /// stays 0, as there is no other extension state).
    pub const WRITABLE: u64 = SIE | MIE | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR;
    /// Bits visible through sstatus.
    pub const SSTATUS_VIEW: u64 = SIE | SPIE | SPP | FS | XS | SUM | MXR | UXL | SD;
    /// Bits software may change through sstatus.
    pub const SSTATUS_WRITABLE: u64 = SIE | SPIE | SPP | FS | SUM | MXR;
}

bitflags! {
    /// The interrupt bits shared by mip, mie, mideleg, sip and sie.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Interrupts: u64 {
        const SSI = 1 << 1;
        const MSI = 1 << 3;
        const STI = 1 << 5;
        const MTI = 1 << 7;
        const SEI = 1 << 9;
        const MEI = 1 << 11;
    }
}

/// The supervisor-level interrupts: the only ones mideleg can delegate.
const S_INTERRUPTS: u64 = Interrupts::SSI.bits() | Interrupts::STI.bits() | Interrupts::SEI.bits();
/// Exceptions that medeleg can delegate: all but ecall from M (11) and the reserved 10 and 14.
const DELEGABLE_EXCEPTIONS: u64 = 0xb3ff;
/// menvcfg.STCE: enables the Sstc extension (stimecmp).
pub const MENVCFG_STCE: u64 = 1 << 63;
/// menvcfg/senvcfg.FIOM, the only other field implemented.
const ENVCFG_FIOM: u64 = 1;
/// satp.MODE values.
pub const SATP_MODE_BARE: u64 = 0;
pub const SATP_MODE_SV39: u64 = 8;
/// misa: MXL = 64, extensions A, C, D, F, I, M, S, U.
pub const MISA_VALUE: u64 =
    (2 << 62) | ext(b'A') | ext(b'C') | ext(b'D') | ext(b'F') | ext(b'I') | ext(b'M') | ext(b'S') | ext(b'U');
/// fcsr: fflags in bits 4:0 (NV DZ OF UF NX), frm in bits 7:5.
pub const FCSR_MASK: u64 = 0xff;
pub const FFLAGS_MASK: u64 = 0x1f;
pub const FRM_SHIFT: u64 = 5;

const fn ext(letter: u8) -> u64 {
    1 << (letter - b'A')
}

/// PMP configuration bits: R, W, X, A (2 bits) and L; bits 5 and 6 are reserved.
const PMPCFG_WRITABLE: u8 = 0x9f;
const PMPCFG_LOCK: u8 = 0x80;
/// pmpaddr holds bits 55:2 of an address.
const PMPADDR_MASK: u64 = (1 << 54) - 1;

/// The CSR state of one hart (counters live in [`Hart`]).
#[derive(Clone, Debug)]
pub struct Csrs {
    pub mstatus: u64,
    pub medeleg: u64,
    pub mideleg: u64,
    pub mie: u64,
    /// The bits of mip that software writes (SSIP, STIP, SEIP); the lines
    /// driven by devices are kept apart in the hart.
    pub mip_sw: u64,
    pub mtvec: u64,
    pub mscratch: u64,
    pub mepc: u64,
    pub mcause: u64,
    pub mtval: u64,
    pub mcounteren: u64,
    pub menvcfg: u64,
    pub mcountinhibit: u64,
    pub stvec: u64,
    pub sscratch: u64,
    pub sepc: u64,
    pub scause: u64,
    pub stval: u64,
    pub scounteren: u64,
    pub senvcfg: u64,
    pub satp: u64,
    pub stimecmp: u64,
    /// The floating-point control and status register (fflags and frm).
    pub fcsr: u64,
    pub pmpcfg: [u8; 64],
    pub pmpaddr: [u64; 64],
    pub tdata2: u64,
    /// mcycle = cycle + mcycle_offset (mcycle is writable).
    pub mcycle_offset: u64,
    /// minstret = instret + minstret_offset.
    pub minstret_offset: u64,
    /// Values held while mcountinhibit stops the counter.
    pub mcycle_frozen: u64,
    pub minstret_frozen: u64,
}

impl Default for Csrs {
    fn default() -> Self {
        Csrs {
            mstatus: mstatus::UXL_SXL_64,
            medeleg: 0,
            mideleg: 0,
            mie: 0,
            mip_sw: 0,
            mtvec: 0,
            mscratch: 0,
            mepc: 0,
            mcause: 0,
            mtval: 0,
            mcounteren: 0,
            menvcfg: 0,
            mcountinhibit: 0,
            stvec: 0,
            sscratch: 0,
            sepc: 0,
            scause: 0,
            stval: 0,
            scounteren: 0,
            senvcfg: 0,
            satp: 0,
            stimecmp: u64::MAX,
            fcsr: 0,
            pmpcfg: [0; 64],
            pmpaddr: [0; 64],
            tdata2: 0,
            mcycle_offset: 0,
            minstret_offset: 0,
            mcycle_frozen: 0,
            minstret_frozen: 0,
        }
    }
}

const COUNTINHIBIT_CY: u64 = 1;
const COUNTINHIBIT_IR: u64 = 1 << 2;

impl Hart {
    /// Whether the CSR exists and the current privilege may access it
    /// (writing, if `write`). A `false` means an illegal-instruction trap.
    pub fn csr_accessible(&self, csr: u16, write: bool) -> bool {
        let min_priv = (csr >> 8) & 3;
        if (self.prv as u16) < min_priv {
            return false;
        }
        if write && csr >> 10 == 3 {
            return false; // read-only CSR
        }
        match csr {
            addr::CYCLE..=addr::HPMCOUNTER31 => self.counter_enabled(csr - addr::CYCLE),
            addr::STIMECMP => {
                self.prv == Priv::M || (self.csr.menvcfg & MENVCFG_STCE != 0 && self.csr.mcounteren & 2 != 0)
            }
            addr::SATP => !(self.prv == Priv::S && self.csr.mstatus & mstatus::TVM != 0),
            // The floating-point CSRs exist for every privilege while FS is not Off.
            addr::FFLAGS..=addr::FCSR => self.csr.mstatus & mstatus::FS != 0,
            // On RV64 only the even pmpcfg registers exist.
            addr::PMPCFG0..=addr::PMPCFG15 => csr & 1 == 0,
            _ => self.csr_exists(csr),
        }
    }

    /// Whether the hart has CSR `csr` at all, at any privilege and in any
    /// state (the debugger's view: it may show what the guest may not read).
    pub fn csr_implemented(&self, csr: u16) -> bool {
        match csr {
            addr::CYCLE..=addr::HPMCOUNTER31 | addr::STIMECMP | addr::SATP | addr::FFLAGS..=addr::FCSR => true,
            addr::PMPCFG0..=addr::PMPCFG15 => csr & 1 == 0,
            _ => self.csr_exists(csr),
        }
    }

    fn csr_exists(&self, csr: u16) -> bool {
        use addr::*;
        matches!(
            csr,
            SSTATUS
                | SIE
                | STVEC
                | SCOUNTEREN
                | SENVCFG
                | SSCRATCH
                | SEPC
                | SCAUSE
                | STVAL
                | SIP
                | MVENDORID
                | MARCHID
                | MIMPID
                | MHARTID
                | MCONFIGPTR
                | MSTATUS
                | MISA
                | MEDELEG
                | MIDELEG
                | MIE
                | MTVEC
                | MCOUNTEREN
                | MENVCFG
                | MCOUNTINHIBIT
                | MSCRATCH
                | MEPC
                | MCAUSE
                | MTVAL
                | MIP
                | TSELECT
                | TDATA1
                | TDATA2
                | TDATA3
                | MCYCLE
                | MINSTRET
        ) || (MHPMEVENT3..=MHPMEVENT31).contains(&csr)
            || (PMPADDR0..=PMPADDR63).contains(&csr)
            || (MHPMCOUNTER3..=MHPMCOUNTER31).contains(&csr)
    }

    /// Counter `n` (0 = cycle, 1 = time, 2 = instret, 3.. = hpm) is readable
    /// below M only when mcounteren (and, for U, scounteren) enables it.
    fn counter_enabled(&self, n: u16) -> bool {
        let bit = 1u64 << n;
        match self.prv {
            Priv::M => true,
            Priv::S => self.csr.mcounteren & bit != 0,
            Priv::U => self.csr.mcounteren & bit != 0 && self.csr.scounteren & bit != 0,
        }
    }

    /// mcycle as software sees it.
    pub fn mcycle(&self) -> u64 {
        if self.csr.mcountinhibit & COUNTINHIBIT_CY != 0 {
            self.csr.mcycle_frozen
        } else {
            self.cycle.wrapping_add(self.csr.mcycle_offset)
        }
    }

    /// minstret as software sees it: instructions retired before this one.
    pub fn minstret(&self) -> u64 {
        if self.csr.mcountinhibit & COUNTINHIBIT_IR != 0 {
            self.csr.minstret_frozen
        } else {
            self.instret.wrapping_add(self.csr.minstret_offset)
        }
    }

    /// Reads a CSR whose access was already checked.
    pub fn csr_read(&self, bus: &Bus, csr: u16) -> u64 {
        use addr::*;
        let c = &self.csr;
        match csr {
            CYCLE | MCYCLE => self.mcycle(),
            TIME => bus.clint.mtime(self.cycle),
            INSTRET | MINSTRET => self.minstret(),
            SSTATUS => sstatus_of(c.mstatus),
            SIE => c.mie & c.mideleg,
            STVEC => c.stvec,
            SCOUNTEREN => c.scounteren,
            SENVCFG => c.senvcfg,
            SSCRATCH => c.sscratch,
            SEPC => c.sepc,
            SCAUSE => c.scause,
            STVAL => c.stval,
            SIP => self.mip() & c.mideleg,
            STIMECMP => c.stimecmp,
            SATP => c.satp,
            FFLAGS => c.fcsr & FFLAGS_MASK,
            FRM => c.fcsr >> FRM_SHIFT,
            FCSR => c.fcsr,
            MHARTID => self.id as u64,
            MSTATUS => with_sd(c.mstatus),
            MISA => MISA_VALUE,
            MEDELEG => c.medeleg,
            MIDELEG => c.mideleg,
            MIE => c.mie,
            MTVEC => c.mtvec,
            MCOUNTEREN => c.mcounteren,
            MENVCFG => c.menvcfg,
            MCOUNTINHIBIT => c.mcountinhibit,
            MSCRATCH => c.mscratch,
            MEPC => c.mepc,
            MCAUSE => c.mcause,
            MTVAL => c.mtval,
            MIP => self.mip(),
            PMPCFG0..=PMPCFG15 => {
                let first = (csr - PMPCFG0) as usize * 4;
                u64::from_le_bytes(c.pmpcfg[first..first + 8].try_into().expect("8 bytes"))
            }
            PMPADDR0..=PMPADDR63 => c.pmpaddr[(csr - PMPADDR0) as usize],
            TDATA2 => c.tdata2,
            // mvendorid, marchid, mimpid, mconfigptr, tselect, tdata1/3 and
            // the hpm counters and events read as zero.
            _ => 0,
        }
    }

    /// Writes a CSR whose access was already checked. WARL fields keep legal values.
    pub fn csr_write(&mut self, csr: u16, value: u64) {
        use addr::*;
        // Status, translation and privilege CSRs decide what loads and
        // stores may do: start the fast paths afresh after any write.
        self.tlb.flush_fast();
        match csr {
            MSTATUS => {
                let mut v = value;
                // MPP = 2 is reserved; treat it as U.
                if (v & mstatus::MPP) >> mstatus::MPP_SHIFT == 2 {
                    v &= !mstatus::MPP;
                }
                self.csr.mstatus = (self.csr.mstatus & !mstatus::WRITABLE) | (v & mstatus::WRITABLE);
            }
            SSTATUS => {
                let w = mstatus::SSTATUS_WRITABLE;
                self.csr.mstatus = (self.csr.mstatus & !w) | (value & w);
            }
            // Writing any of the three makes the floating-point state Dirty.
            FFLAGS => {
                self.csr.fcsr = (self.csr.fcsr & !FFLAGS_MASK) | (value & FFLAGS_MASK);
                self.csr.mstatus |= mstatus::FS_DIRTY;
            }
            FRM => {
                self.csr.fcsr = (self.csr.fcsr & FFLAGS_MASK) | ((value << FRM_SHIFT) & FCSR_MASK);
                self.csr.mstatus |= mstatus::FS_DIRTY;
            }
            FCSR => {
                self.csr.fcsr = value & FCSR_MASK;
                self.csr.mstatus |= mstatus::FS_DIRTY;
            }
            MEDELEG => self.csr.medeleg = value & DELEGABLE_EXCEPTIONS,
            MIDELEG => self.csr.mideleg = value & S_INTERRUPTS,
            MIE => self.csr.mie = value & Interrupts::all().bits(),
            SIE => {
                let m = self.csr.mideleg;
                self.csr.mie = (self.csr.mie & !m) | (value & m);
            }
            MIP => {
                let w = S_INTERRUPTS;
                self.csr.mip_sw = (self.csr.mip_sw & !w) | (value & w);
            }
            SIP => {
                let w = Interrupts::SSI.bits() & self.csr.mideleg;
                self.csr.mip_sw = (self.csr.mip_sw & !w) | (value & w);
            }
            // Modes 2 and 3 are reserved: keep only direct (0) and vectored (1).
            MTVEC => self.csr.mtvec = value & !2,
            STVEC => self.csr.stvec = value & !2,
            MCOUNTEREN => self.csr.mcounteren = value & 0xffff_ffff,
            SCOUNTEREN => self.csr.scounteren = value & 0xffff_ffff,
            MENVCFG => self.csr.menvcfg = value & (MENVCFG_STCE | ENVCFG_FIOM),
            SENVCFG => self.csr.senvcfg = value & ENVCFG_FIOM,
            MCOUNTINHIBIT => {
                // Freeze or thaw the counters so they resume where they stopped.
                let (cycle, instret) = (self.mcycle(), self.minstret());
                self.csr.mcountinhibit = value & 0xffff_fffd;
                self.csr.mcycle_frozen = cycle;
                self.csr.minstret_frozen = instret;
                self.csr.mcycle_offset = cycle.wrapping_sub(self.cycle);
                self.csr.minstret_offset = instret.wrapping_sub(self.instret);
            }
            MSCRATCH => self.csr.mscratch = value,
            SSCRATCH => self.csr.sscratch = value,
            MEPC => self.csr.mepc = value & !1,
            SEPC => self.csr.sepc = value & !1,
            MCAUSE => self.csr.mcause = value,
            SCAUSE => self.csr.scause = value,
            MTVAL => self.csr.mtval = value,
            STVAL => self.csr.stval = value,
            SATP => {
                let mode = value >> 60;
                if mode == SATP_MODE_BARE || mode == SATP_MODE_SV39 {
                    // ASID is 16 bits, PPN 44 bits; both fully writable.
                    self.csr.satp = value;
                    self.tlb.flush();
                }
            }
            STIMECMP => self.csr.stimecmp = value,
            PMPCFG0..=PMPCFG15 => {
                let first = (csr - PMPCFG0) as usize * 4;
                for (i, byte) in value.to_le_bytes().into_iter().enumerate() {
                    let entry = &mut self.csr.pmpcfg[first + i];
                    if *entry & PMPCFG_LOCK != 0 {
                        continue;
                    }
                    let mut b = byte & PMPCFG_WRITABLE;
                    if b & 1 == 0 {
                        b &= !2; // R = 0, W = 1 is reserved
                    }
                    *entry = b;
                }
            }
            PMPADDR0..=PMPADDR63 => {
                let i = (csr - PMPADDR0) as usize;
                if self.csr.pmpcfg[i] & PMPCFG_LOCK == 0 {
                    self.csr.pmpaddr[i] = value & PMPADDR_MASK;
                }
            }
            TDATA2 => self.csr.tdata2 = value,
            MCYCLE => {
                // The write takes effect once this instruction completes.
                let after = self.cycle + 1;
                self.csr.mcycle_offset = value.wrapping_sub(after);
                self.csr.mcycle_frozen = value;
            }
            MINSTRET => {
                let after = self.instret + 1;
                self.csr.minstret_offset = value.wrapping_sub(after);
                self.csr.minstret_frozen = value;
            }
            // Read-only zero or WARL-zero registers: tselect, tdata1/3, hpm events and counters.
            _ => {}
        }
        self.update_mip();
    }
}

fn sstatus_of(mstatus: u64) -> u64 {
    with_sd(mstatus) & mstatus::SSTATUS_VIEW
}

/// SD summarises FS and XS: set when either is Dirty (XS is always 0 here).
fn with_sd(mstatus: u64) -> u64 {
    let dirty = mstatus & mstatus::FS == mstatus::FS || mstatus & mstatus::XS == mstatus::XS;
    if dirty {
        mstatus | mstatus::SD
    } else {
        mstatus & !mstatus::SD
    }
}
