//! Traps: synchronous exceptions (typed, with their tval) and interrupts, and
//! the one place where either is taken (privileged spec v1.12, §3.1.6-§3.1.9
//! and §3.3.1 for M-mode, §4.1.1 for S-mode).

use super::csr::{mstatus, Interrupts};
use super::{Hart, Priv};

/// Synchronous exception causes (mcause with the interrupt bit clear).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Exception {
    InstructionAddressMisaligned = 0,
    InstructionAccessFault = 1,
    IllegalInstruction = 2,
    Breakpoint = 3,
    LoadAddressMisaligned = 4,
    LoadAccessFault = 5,
    StoreAddressMisaligned = 6,
    StoreAccessFault = 7,
    EcallFromU = 8,
    EcallFromS = 9,
    EcallFromM = 11,
    InstructionPageFault = 12,
    LoadPageFault = 13,
    StorePageFault = 15,
}

impl Exception {
    pub fn name(self) -> &'static str {
        match self {
            Exception::InstructionAddressMisaligned => "instruction address misaligned",
            Exception::InstructionAccessFault => "instruction access fault",
            Exception::IllegalInstruction => "illegal instruction",
            Exception::Breakpoint => "breakpoint",
            Exception::LoadAddressMisaligned => "load address misaligned",
            Exception::LoadAccessFault => "load access fault",
            Exception::StoreAddressMisaligned => "store/AMO address misaligned",
            Exception::StoreAccessFault => "store/AMO access fault",
            Exception::EcallFromU => "environment call from U-mode",
            Exception::EcallFromS => "environment call from S-mode",
            Exception::EcallFromM => "environment call from M-mode",
            Exception::InstructionPageFault => "instruction page fault",
            Exception::LoadPageFault => "load page fault",
            Exception::StorePageFault => "store/AMO page fault",
        }
    }
}

/// An exception raised by an instruction, with the value for xtval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trap {
    pub cause: Exception,
    pub tval: u64,
}

impl Trap {
    pub const fn new(cause: Exception, tval: u64) -> Trap {
        Trap { cause, tval }
    }
}

/// Interrupt causes (mcause with the interrupt bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Interrupt {
    SupervisorSoftware = 1,
    MachineSoftware = 3,
    SupervisorTimer = 5,
    MachineTimer = 7,
    SupervisorExternal = 9,
    MachineExternal = 11,
}

/// Interrupts in decreasing priority (§3.1.9): MEI, MSI, MTI, SEI, SSI, STI.
const PRIORITY: [Interrupt; 6] = [
    Interrupt::MachineExternal,
    Interrupt::MachineSoftware,
    Interrupt::MachineTimer,
    Interrupt::SupervisorExternal,
    Interrupt::SupervisorSoftware,
    Interrupt::SupervisorTimer,
];

const INTERRUPT_BIT: u64 = 1 << 63;

impl Hart {
    /// The highest-priority interrupt that is pending, enabled and not masked
    /// at the current privilege level, if any.
    pub fn pending_interrupt(&self) -> Option<Interrupt> {
        let pending = self.mip() & self.csr.mie;
        if pending == 0 {
            return None;
        }
        let mie = self.csr.mstatus & mstatus::MIE != 0;
        let sie = self.csr.mstatus & mstatus::SIE != 0;
        // Interrupts for M are enabled below M, or in M with MIE set; those
        // delegated to S are enabled below S, or in S with SIE set.
        let m_enabled = self.prv < Priv::M || mie;
        let s_enabled = self.prv < Priv::S || (self.prv == Priv::S && sie);
        let m_level = pending & !self.csr.mideleg;
        let s_level = pending & self.csr.mideleg;
        // Any interrupt for M-mode is taken before any for S-mode; within a
        // level, the fixed order MEI, MSI, MTI, SEI, SSI, STI applies.
        let for_m = if m_enabled { m_level } else { 0 };
        let for_s = if s_enabled { s_level } else { 0 };
        let takeable = if for_m != 0 { for_m } else { for_s };
        if takeable == 0 {
            return None;
        }
        PRIORITY.into_iter().find(|&i| takeable & (1 << i as u64) != 0)
    }

    /// Whether an interrupt is pending and locally enabled, ignoring the
    /// global enables: the condition that ends a WFI.
    pub fn wakeup_pending(&self) -> bool {
        self.mip() & self.csr.mie & Interrupts::all().bits() != 0
    }

    /// Takes an exception raised by the instruction at `epc`.
    pub fn take_exception(&mut self, trap: Trap, epc: u64) {
        let cause = trap.cause as u64;
        if trap.cause == Exception::EcallFromU {
            self.stats.ecalls_from_user += 1;
        }
        let delegated = self.prv <= Priv::S && (self.csr.medeleg >> cause) & 1 != 0;
        self.enter_trap(cause, trap.tval, epc, delegated, false);
    }

    /// Takes an interrupt; `epc` is the instruction that has not yet run.
    pub fn take_interrupt(&mut self, irq: Interrupt, epc: u64) {
        let cause = irq as u64;
        let delegated = self.prv <= Priv::S && (self.csr.mideleg >> cause) & 1 != 0;
        self.enter_trap(cause, 0, epc, delegated, true);
    }

    #[inline(never)] // rare: kept out of the instruction loop
    fn enter_trap(&mut self, cause: u64, tval: u64, epc: u64, to_s: bool, interrupt: bool) {
        self.stats.traps += 1;
        self.cycle += self.cost.trap_entry;
        let mcause = cause | if interrupt { INTERRUPT_BIT } else { 0 };
        let vector = |tvec: u64| {
            let base = tvec & !3;
            if interrupt && tvec & 3 == 1 {
                base.wrapping_add(4 * cause)
            } else {
                base
            }
        };
        let s = &mut self.csr;
        if to_s {
            s.sepc = epc;
            s.scause = mcause;
            s.stval = tval;
            let sie = s.mstatus & mstatus::SIE != 0;
            s.mstatus = set_bit(s.mstatus, mstatus::SPIE, sie);
            s.mstatus &= !mstatus::SIE;
            s.mstatus = set_bit(s.mstatus, mstatus::SPP, self.prv == Priv::S);
            self.pc = vector(s.stvec);
            self.set_priv(Priv::S);
        } else {
            s.mepc = epc;
            s.mcause = mcause;
            s.mtval = tval;
            let mie = s.mstatus & mstatus::MIE != 0;
            s.mstatus = set_bit(s.mstatus, mstatus::MPIE, mie);
            s.mstatus &= !mstatus::MIE;
            s.mstatus = (s.mstatus & !mstatus::MPP) | ((self.prv as u64) << mstatus::MPP_SHIFT);
            self.pc = vector(s.mtvec);
            self.set_priv(Priv::M);
        }
        self.last_trap = Some(TakenTrap {
            cause: mcause,
            tval,
            epc,
            to: self.prv,
        });
    }

    /// `mret`: return to the privilege in MPP (§3.3.2).
    #[inline(never)] // rare: kept out of the instruction loop
    pub fn do_mret(&mut self) {
        let s = &mut self.csr;
        let mpp = Priv::from_bits((s.mstatus & mstatus::MPP) >> mstatus::MPP_SHIFT);
        let mpie = s.mstatus & mstatus::MPIE != 0;
        s.mstatus = set_bit(s.mstatus, mstatus::MIE, mpie);
        s.mstatus |= mstatus::MPIE;
        s.mstatus &= !mstatus::MPP; // least-privileged mode, U
        if mpp != Priv::M {
            s.mstatus &= !mstatus::MPRV;
        }
        self.pc = s.mepc;
        self.set_priv(mpp);
    }

    /// `sret`: return to the privilege in SPP.
    #[inline(never)] // rare: kept out of the instruction loop
    pub fn do_sret(&mut self) {
        let s = &mut self.csr;
        let spp = if s.mstatus & mstatus::SPP != 0 {
            Priv::S
        } else {
            Priv::U
        };
        let spie = s.mstatus & mstatus::SPIE != 0;
        s.mstatus = set_bit(s.mstatus, mstatus::SIE, spie);
        s.mstatus |= mstatus::SPIE;
        s.mstatus &= !mstatus::SPP;
        s.mstatus &= !mstatus::MPRV; // SPP is never M
        self.pc = s.sepc;
        self.set_priv(spp);
    }
}

/// The last trap a hart took, for diagnostics and the debugger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakenTrap {
    /// mcause/scause as written, interrupt bit included.
    pub cause: u64,
    pub tval: u64,
    pub epc: u64,
    /// The privilege the trap was taken into.
    pub to: Priv,
}

fn set_bit(word: u64, mask: u64, on: bool) -> u64 {
    if on {
        word | mask
    } else {
        word & !mask
    }
}

/// A readable name for an mcause value.
pub fn cause_name(mcause: u64) -> String {
    if mcause & INTERRUPT_BIT != 0 {
        let name = match mcause & !INTERRUPT_BIT {
            1 => "supervisor software interrupt",
            3 => "machine software interrupt",
            5 => "supervisor timer interrupt",
            7 => "machine timer interrupt",
            9 => "supervisor external interrupt",
            11 => "machine external interrupt",
            _ => "unknown interrupt",
        };
        return name.to_string();
    }
    let known = [
        Exception::InstructionAddressMisaligned,
        Exception::InstructionAccessFault,
        Exception::IllegalInstruction,
        Exception::Breakpoint,
        Exception::LoadAddressMisaligned,
        Exception::LoadAccessFault,
        Exception::StoreAddressMisaligned,
        Exception::StoreAccessFault,
        Exception::EcallFromU,
        Exception::EcallFromS,
        Exception::EcallFromM,
        Exception::InstructionPageFault,
        Exception::LoadPageFault,
        Exception::StorePageFault,
    ];
    known
        .into_iter()
        .find(|&e| e as u64 == mcause)
        .map_or_else(|| format!("unknown exception {mcause}"), |e| e.name().to_string())
}
