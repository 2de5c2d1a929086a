//! The privileged architecture against an executable model.
//!
//! [`Model`] is a small, pure-Rust statement of the rules of the RISC-V
//! privileged spec (v1.12) that the kernel relies on: which interrupt is
//! taken and where (priorities, delegation, global enables), trap entry
//! (xepc, xcause, xtval, the mstatus stack, vectored tvec), mret and sret,
//! the instructions that are illegal at a privilege or under TSR, TW and
//! TVM, and Sv39 translation with its permission checks (U, SUM, MXR,
//! MPRV, reserved encodings, superpage alignment, A and D). Proptest draws
//! random CSR states, privilege levels, programs and page-table entries; a
//! real hart (driven through the library, one instruction at a time with
//! `run_slice`, or through `translate`) must agree with the model.
//!
//! Proptest keeps failing cases in tests/privileged_model.proptest-regressions.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;

use rvmsmp::asm::{self, reg::*};
use rvmsmp::bus::Bus;
use rvmsmp::cost::CycleModel;
use rvmsmp::cpu::mmu::Access;
use rvmsmp::cpu::{Hart, Priv};
use rvmsmp::devices::uart::NoInput;
use rvmsmp::memmap::DRAM_BASE;

const RAM_SIZE: u64 = 1 << 20;

// mstatus fields.
const SIE: u64 = 1 << 1;
const MIE: u64 = 1 << 3;
const SPIE: u64 = 1 << 5;
const MPIE: u64 = 1 << 7;
const SPP: u64 = 1 << 8;
const MPP_SHIFT: u64 = 11;
const MPP: u64 = 3 << MPP_SHIFT;
const MPRV: u64 = 1 << 17;
const SUM: u64 = 1 << 18;
const MXR: u64 = 1 << 19;
const TVM: u64 = 1 << 20;
const TW: u64 = 1 << 21;
const TSR: u64 = 1 << 22;
/// UXL = SXL = 2 (64-bit), read-only.
const XLEN_FIELDS: u64 = (2 << 32) | (2 << 34);
/// What sstatus shows of mstatus (FS, XS and SD are zero here).
const SSTATUS_VIEW: u64 = SIE | SPIE | SPP | SUM | MXR | (3 << 32);

/// Interrupts in decreasing priority (§3.1.9): MEI, MSI, MTI, SEI, SSI, STI.
const PRIORITY: [u64; 6] = [11, 3, 7, 9, 1, 5];
/// mideleg can delegate only the supervisor interrupts; medeleg every
/// exception but ecall from M (and the reserved 10 and 14).
const S_INTERRUPTS: u64 = (1 << 1) | (1 << 5) | (1 << 9);
const DELEGABLE: u64 = 0xb3ff;
const INTERRUPT: u64 = 1 << 63;

// Exception causes.
const ILLEGAL: u64 = 2;
const BREAKPOINT: u64 = 3;
const LOAD_MISALIGNED: u64 = 4;
const LOAD_ACCESS: u64 = 5;
const STORE_MISALIGNED: u64 = 6;
const STORE_ACCESS: u64 = 7;
const ECALL_U: u64 = 8;
const FETCH_PAGE: u64 = 12;
const LOAD_PAGE: u64 = 13;
const STORE_PAGE: u64 = 15;

fn prv_bits(p: Priv) -> u64 {
    p as u64
}

fn prv_of(bits: u64) -> Priv {
    match bits & 3 {
        3 => Priv::M,
        1 => Priv::S,
        _ => Priv::U,
    }
}

fn new_hart() -> (Hart, Bus) {
    let bus = Bus::new(1, RAM_SIZE, Box::new(std::io::sink()), Box::new(NoInput)).expect("a bus");
    (Hart::new(0, CycleModel::default()), bus)
}

// ---------------------------------------------------------------------------
// Traps, interrupts and xRET.

/// rvmsmp picks among pending interrupts by one fixed order, M's and S's
/// mixed, where the spec (and QEMU) take every interrupt for M before any
/// for S; `an_interrupt_for_m_is_taken_before_a_higher_priority_one_for_s`
/// fails on it. Until that is fixed the random properties stop (or skip
/// the case) at a state where the two rules disagree, so that they keep
/// checking everything else. Set to false once it is fixed.
const SKIP_KNOWN_PRIORITY_BUG: bool = false;

/// The instructions programs are drawn from, each with its semantics in
/// [`Model::step`]. Memory the program does not fill holds zeros: the
/// 16-bit encoding 0x0000, which is illegal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ins {
    Ecall,
    Ebreak,
    /// csrr t0, 0x7c0: a CSR that does not exist.
    IllegalCsr,
    Mret,
    Sret,
    Wfi,
    SfenceVma,
    ReadMstatus,
    ReadSstatus,
    /// csrrsi zero, mstatus, MIE
    SetMie,
    /// csrrci zero, mstatus, MIE
    ClearMie,
    /// csrrsi zero, sstatus, SIE
    SetSie,
    /// addi t1, t1, 1
    Addi,
    /// ld t2, 0(zero): nothing answers at address 0.
    LoadFault,
    /// sd t2, 0(zero)
    StoreFault,
    /// lr.w t2, (t3), t3 misaligned
    LrMisaligned,
    /// amoadd.w t2, t2, (t3)
    AmoMisaligned,
}

/// A misaligned RAM address, kept in t3.
const MISALIGNED: u64 = DRAM_BASE + 0x802;

impl Ins {
    fn word(self) -> u32 {
        match self {
            Ins::Ecall => asm::ecall(),
            Ins::Ebreak => asm::ebreak(),
            Ins::IllegalCsr => asm::csrr(T0, 0x7c0),
            Ins::Mret => asm::mret(),
            Ins::Sret => asm::sret(),
            Ins::Wfi => asm::wfi(),
            Ins::SfenceVma => asm::sfence_vma(0, 0),
            Ins::ReadMstatus => asm::csrr(T0, 0x300),
            Ins::ReadSstatus => asm::csrr(T0, 0x100),
            Ins::SetMie => asm::csrrsi(0, 0x300, 8),
            Ins::ClearMie => asm::csrrci(0, 0x300, 8),
            Ins::SetSie => asm::csrrsi(0, 0x100, 2),
            Ins::Addi => asm::addi(T1, T1, 1),
            Ins::LoadFault => asm::ld(T2, ZERO, 0),
            Ins::StoreFault => asm::sd(T2, ZERO, 0),
            Ins::LrMisaligned => asm::lr_w(T2, T3),
            Ins::AmoMisaligned => asm::amoadd_w(T2, T3, T2),
        }
    }
}

/// The architectural state the model follows.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    prv: Priv,
    pc: u64,
    mstatus: u64,
    mepc: u64,
    mcause: u64,
    mtval: u64,
    sepc: u64,
    scause: u64,
    stval: u64,
    waiting: bool,
    t0: u64,
    t1: u64,
}

/// What stays fixed while a program runs.
#[derive(Clone, Debug)]
struct Env {
    medeleg: u64,
    mideleg: u64,
    mie: u64,
    /// Pending interrupts: MSIP, MTIP and MEIP come from the CLINT and the
    /// PLIC, SSIP, STIP and SEIP are written in mip.
    mip: u64,
    mtvec: u64,
    stvec: u64,
    program: BTreeMap<u64, Ins>,
}

struct Model<'a> {
    env: &'a Env,
}

impl Model<'_> {
    /// The interrupt taken before the next instruction, if any, and whether
    /// it goes to S. Interrupts for M come before those for S, each in the
    /// fixed priority order; an interrupt is enabled for M when below M or
    /// MIE is set, for S (when delegated) when below S or in S with SIE.
    fn interrupt(&self, s: &State) -> Option<(u64, bool)> {
        let pending = self.env.mip & self.env.mie;
        let deleg = self.env.mideleg & S_INTERRUPTS;
        let m_enabled = s.prv < Priv::M || s.mstatus & MIE != 0;
        let s_enabled = s.prv < Priv::S || (s.prv == Priv::S && s.mstatus & SIE != 0);
        if m_enabled {
            if let Some(&i) = PRIORITY.iter().find(|&&i| pending & !deleg & (1 << i) != 0) {
                return Some((i, false));
            }
        }
        if s_enabled {
            if let Some(&i) = PRIORITY.iter().find(|&&i| pending & deleg & (1 << i) != 0) {
                return Some((i, true));
            }
        }
        None
    }

    /// The rule rvmsmp follows today: one fixed priority order over the
    /// interrupts enabled for either level, M's and S's mixed.
    fn interrupt_fixed_order(&self, s: &State) -> Option<(u64, bool)> {
        let pending = self.env.mip & self.env.mie;
        let deleg = self.env.mideleg & S_INTERRUPTS;
        let m_enabled = s.prv < Priv::M || s.mstatus & MIE != 0;
        let s_enabled = s.prv < Priv::S || (s.prv == Priv::S && s.mstatus & SIE != 0);
        let takeable = if m_enabled { pending & !deleg } else { 0 } | if s_enabled { pending & deleg } else { 0 };
        let i = *PRIORITY.iter().find(|&&i| takeable & (1 << i) != 0)?;
        Some((i, deleg & (1 << i) != 0))
    }

    /// Whether `s` is a state where rvmsmp's known priority bug shows (see
    /// [`SKIP_KNOWN_PRIORITY_BUG`]).
    fn disputed(&self, s: &State) -> bool {
        SKIP_KNOWN_PRIORITY_BUG && self.interrupt(s) != self.interrupt_fixed_order(s)
    }

    /// Trap entry (§3.1.6, §4.1.1).
    fn trap(&self, s: &mut State, cause: u64, tval: u64, interrupt: bool, to_s: bool) {
        let xcause = cause | if interrupt { INTERRUPT } else { 0 };
        let target = |tvec: u64| {
            let base = tvec & !3;
            if interrupt && tvec & 3 == 1 {
                base + 4 * cause
            } else {
                base
            }
        };
        if to_s {
            s.sepc = s.pc;
            s.scause = xcause;
            s.stval = tval;
            let spie = if s.mstatus & SIE != 0 { SPIE } else { 0 };
            let spp = if s.prv == Priv::S { SPP } else { 0 };
            s.mstatus = (s.mstatus & !(SIE | SPIE | SPP)) | spie | spp;
            s.prv = Priv::S;
            s.pc = target(self.env.stvec);
        } else {
            s.mepc = s.pc;
            s.mcause = xcause;
            s.mtval = tval;
            let mpie = if s.mstatus & MIE != 0 { MPIE } else { 0 };
            s.mstatus = (s.mstatus & !(MIE | MPIE | MPP)) | mpie | (prv_bits(s.prv) << MPP_SHIFT);
            s.prv = Priv::M;
            s.pc = target(self.env.mtvec);
        }
        s.waiting = false;
    }

    fn exception(&self, s: &mut State, cause: u64, tval: u64) {
        let to_s = s.prv <= Priv::S && self.env.medeleg & DELEGABLE & (1 << cause) != 0;
        self.trap(s, cause, tval, false, to_s);
    }

    /// One step: an interrupt, or the instruction at pc.
    fn step(&self, s: &mut State) {
        if let Some((cause, to_s)) = self.interrupt(s) {
            self.trap(s, cause, 0, true, to_s);
            return;
        }
        if s.waiting {
            return;
        }
        let Some(&ins) = self.env.program.get(&s.pc) else {
            // Zeros: the illegal 16-bit encoding 0x0000.
            self.exception(s, ILLEGAL, 0);
            return;
        };
        let illegal = |m: &Self, s: &mut State| m.exception(s, ILLEGAL, ins.word() as u64);
        let (pc, next) = (s.pc, s.pc + 4);
        match ins {
            Ins::Ecall => {
                let cause = ECALL_U + prv_bits(s.prv);
                self.exception(s, cause, 0)
            }
            Ins::Ebreak => self.exception(s, BREAKPOINT, pc),
            Ins::IllegalCsr => illegal(self, s),
            Ins::Mret => {
                if s.prv != Priv::M {
                    return illegal(self, s);
                }
                let to = prv_of(s.mstatus >> MPP_SHIFT);
                let mie = if s.mstatus & MPIE != 0 { MIE } else { 0 };
                s.mstatus = (s.mstatus & !(MIE | MPP)) | mie | MPIE;
                if to != Priv::M {
                    s.mstatus &= !MPRV;
                }
                s.prv = to;
                s.pc = s.mepc;
            }
            Ins::Sret => {
                if s.prv == Priv::U || (s.prv == Priv::S && s.mstatus & TSR != 0) {
                    return illegal(self, s);
                }
                let to = if s.mstatus & SPP != 0 { Priv::S } else { Priv::U };
                let sie = if s.mstatus & SPIE != 0 { SIE } else { 0 };
                s.mstatus = (s.mstatus & !(SIE | SPP | MPRV)) | sie | SPIE;
                s.prv = to;
                s.pc = s.sepc;
            }
            Ins::Wfi => {
                if s.prv == Priv::U || (s.prv == Priv::S && s.mstatus & TW != 0) {
                    return illegal(self, s);
                }
                s.pc = next;
                // WFI ends on any interrupt pending and enabled in mie,
                // whatever the global enables.
                s.waiting = self.env.mip & self.env.mie == 0;
            }
            Ins::SfenceVma => {
                if s.prv == Priv::U || (s.prv == Priv::S && s.mstatus & TVM != 0) {
                    return illegal(self, s);
                }
                s.pc = next;
            }
            Ins::ReadMstatus | Ins::SetMie | Ins::ClearMie => {
                if s.prv != Priv::M {
                    return illegal(self, s);
                }
                match ins {
                    Ins::ReadMstatus => s.t0 = s.mstatus,
                    Ins::SetMie => s.mstatus |= MIE,
                    _ => s.mstatus &= !MIE,
                }
                s.pc = next;
            }
            Ins::ReadSstatus | Ins::SetSie => {
                if s.prv == Priv::U {
                    return illegal(self, s);
                }
                if ins == Ins::ReadSstatus {
                    s.t0 = s.mstatus & SSTATUS_VIEW;
                } else {
                    s.mstatus |= SIE;
                }
                s.pc = next;
            }
            Ins::Addi => {
                s.t1 = s.t1.wrapping_add(1);
                s.pc = next;
            }
            Ins::LoadFault => self.exception(s, LOAD_ACCESS, 0),
            Ins::StoreFault => self.exception(s, STORE_ACCESS, 0),
            Ins::LrMisaligned => self.exception(s, LOAD_MISALIGNED, MISALIGNED),
            Ins::AmoMisaligned => self.exception(s, STORE_MISALIGNED, MISALIGNED),
        }
    }
}

/// A hart (and its bus) in the state `s` with the environment `env`.
fn setup(s: &State, env: &Env) -> (Hart, Bus) {
    let (mut h, mut bus) = new_hart();
    for (&addr, &ins) in &env.program {
        bus.write_ram(addr, 4, ins.word() as u64).expect("program in RAM");
    }
    h.prv = s.prv;
    h.pc = s.pc;
    h.csr.mstatus = s.mstatus;
    h.csr.mepc = s.mepc;
    h.csr.mcause = s.mcause;
    h.csr.mtval = s.mtval;
    h.csr.sepc = s.sepc;
    h.csr.scause = s.scause;
    h.csr.stval = s.stval;
    h.x[T0 as usize] = s.t0;
    h.x[T1 as usize] = s.t1;
    h.x[T2 as usize] = 0x1234;
    h.x[T3 as usize] = MISALIGNED;
    // Through csr_write, so that the WARL masks apply.
    h.csr_write(0x302, env.medeleg);
    h.csr_write(0x303, env.mideleg);
    h.csr_write(0x304, env.mie);
    h.csr_write(0x305, env.mtvec);
    h.csr_write(0x105, env.stvec);
    h.csr_write(0x344, env.mip & S_INTERRUPTS);
    if env.mip & (1 << 3) != 0 {
        bus.clint.write(0, 4, 1, 0).unwrap(); // msip
    }
    if env.mip & (1 << 7) != 0 {
        bus.clint.write(0x4000, 8, 0, 0).unwrap(); // mtimecmp = 0: due at once
    }
    if env.mip & (1 << 11) != 0 {
        // PLIC source 1, priority 1, enabled for context 0 (hart 0, M).
        bus.plic.write(4, 4, 1).unwrap();
        bus.plic.write(0x2000, 4, 1 << 1).unwrap();
        bus.plic.set_source_level(1, true);
    }
    (h, bus)
}

fn observe(h: &Hart) -> State {
    State {
        prv: h.prv,
        pc: h.pc,
        mstatus: h.csr.mstatus,
        mepc: h.csr.mepc,
        mcause: h.csr.mcause,
        mtval: h.csr.mtval,
        sepc: h.csr.sepc,
        scause: h.csr.scause,
        stval: h.csr.stval,
        waiting: h.waiting,
        t0: h.x[T0 as usize],
        t1: h.x[T1 as usize],
    }
}

/// Runs `steps` steps on a hart and in the model, comparing after each.
fn run_and_compare(start: &State, env: &Env, steps: usize) -> Result<(), TestCaseError> {
    let (mut h, mut bus) = setup(start, env);
    prop_assert_eq!(observe(&h), start.clone(), "the hart did not take the initial state");
    let model = Model { env };
    let mut s = start.clone();
    for k in 0..steps {
        if model.disputed(&s) {
            prop_assume!(k > 0, "the known priority bug shows at once");
            return Ok(());
        }
        let before = s.clone();
        model.step(&mut s);
        let until = h.cycle + 1;
        h.run_slice(&mut bus, until);
        prop_assert_eq!(
            observe(&h),
            s.clone(),
            "step {} from {:x?} (instruction {:?})",
            k,
            before,
            env.program.get(&before.pc)
        );
    }
    Ok(())
}

/// Code lives in slots 4 KiB apart; handlers' vector entries are inside.
const SLOT: u64 = 0x1000;
const SLOTS: u64 = 6;

fn slot(k: u64) -> u64 {
    DRAM_BASE + 0x1_0000 + SLOT * k
}

fn ins() -> impl Strategy<Value = Ins> {
    select(vec![
        Ins::Ecall,
        Ins::Ebreak,
        Ins::IllegalCsr,
        Ins::Mret,
        Ins::Mret,
        Ins::Sret,
        Ins::Sret,
        Ins::Wfi,
        Ins::SfenceVma,
        Ins::ReadMstatus,
        Ins::ReadSstatus,
        Ins::SetMie,
        Ins::ClearMie,
        Ins::SetSie,
        Ins::Addi,
        Ins::LoadFault,
        Ins::StoreFault,
        Ins::LrMisaligned,
        Ins::AmoMisaligned,
    ])
}

fn prv() -> impl Strategy<Value = Priv> {
    select(vec![Priv::U, Priv::S, Priv::M])
}

/// mstatus with any legal MPP and random enables, previous enables, SPP,
/// MPRV, TVM, TW and TSR.
fn mstatus() -> impl Strategy<Value = u64> {
    (any::<u64>(), select(vec![0u64, 1, 3])).prop_map(|(bits, mpp)| {
        XLEN_FIELDS | (bits & (SIE | MIE | SPIE | MPIE | SPP | MPRV | SUM | MXR | TVM | TW | TSR)) | (mpp << MPP_SHIFT)
    })
}

/// Pending interrupts, each line with probability 1/4.
fn pending() -> impl Strategy<Value = u64> {
    prop::collection::vec(prop::bool::weighted(0.25), 6).prop_map(|v| {
        PRIORITY
            .iter()
            .zip(v)
            .filter(|(_, on)| *on)
            .fold(0, |acc, (&i, _)| acc | (1 << i))
    })
}

/// An environment: a program of instructions at the slots (and the vector
/// entries of the two handler slots), delegation, enables, pending lines.
fn env() -> impl Strategy<Value = (Env, State)> {
    (
        prop::collection::vec(ins(), SLOTS as usize),
        prop::collection::vec(ins(), 12),
        (any::<u64>(), any::<u64>(), any::<u64>(), pending()),
        (any::<bool>(), any::<bool>()),
        (prv(), mstatus(), 0..SLOTS, 0..SLOTS, any::<u64>()),
    )
        .prop_map(
            |(at_slots, at_vectors, (medeleg, mideleg, mie, mip), (mvec, svec), (p, ms, me, se, t))| {
                let mut program = BTreeMap::new();
                for (k, &i) in at_slots.iter().enumerate() {
                    program.insert(slot(k as u64), i);
                }
                // Slot 1 is the M handler, slot 2 the S handler.
                for (n, &i) in at_vectors.iter().enumerate() {
                    let handler = slot(1 + n as u64 / 6);
                    program.insert(handler + 4 * PRIORITY[n % 6], i);
                }
                let env = Env {
                    medeleg,
                    mideleg,
                    mie: mie & 0xaaa,
                    mip,
                    mtvec: slot(1) | mvec as u64,
                    stvec: slot(2) | svec as u64,
                    program,
                };
                let state = State {
                    prv: p,
                    pc: slot(0),
                    mstatus: ms,
                    mepc: slot(me),
                    mcause: 0,
                    mtval: 0,
                    sepc: slot(se),
                    scause: 0,
                    stval: 0,
                    waiting: false,
                    t0: t,
                    t1: t.rotate_left(7),
                };
                (env, state)
            },
        )
}

// ---------------------------------------------------------------------------
// Sv39.

const ROOT: u64 = DRAM_BASE + 0x4_0000;
const L1_TABLE: u64 = DRAM_BASE + 0x4_1000;
const L0_TABLE: u64 = DRAM_BASE + 0x4_2000;
const PTE_V: u64 = 1;
const PTE_R: u64 = 2;
const PTE_W: u64 = 4;
const PTE_X: u64 = 8;
const PTE_U: u64 = 16;
const PTE_A: u64 = 64;
const PTE_D: u64 = 128;

/// A corruption of a non-leaf entry.
#[derive(Clone, Copy, Debug)]
enum Pointer {
    Good,
    Invalid,
    WriteOnly,
    /// A, D or U set: reserved in a pointer (QEMU faults; so does rvmsmp).
    Flags(u64),
    Reserved(u8),
    /// The next table outside RAM: an access fault.
    OutsideRam,
}

/// One translation scenario: a three-level walk to a leaf at `level`.
#[derive(Clone, Copy, Debug)]
struct Walk {
    vpn: [u64; 3],
    offset: u64,
    /// Bits 63:39 of the address; the address is canonical if they copy bit 38.
    canonical: bool,
    level: usize,
    pointers: [Pointer; 2],
    /// The leaf's flags (V R W X U G A D) and a reserved bit (63:54) or none.
    flags: u64,
    reserved: Option<u8>,
    /// The leaf's PPN, and whether its low fields (superpages) are zero.
    ppn: u64,
    aligned: bool,
    bare: bool,
}

impl Walk {
    fn va(&self) -> u64 {
        let low = (self.vpn[2] << 30) | (self.vpn[1] << 21) | (self.vpn[0] << 12) | self.offset;
        let high = !0u64 << 39;
        let extension = if (low >> 38) & 1 == 1 { high } else { 0 };
        if self.canonical {
            low | extension
        } else {
            low | (extension ^ high)
        }
    }

    fn leaf_ppn(&self) -> u64 {
        let mask = (1u64 << (9 * self.level)) - 1;
        if self.aligned || self.level == 0 {
            self.ppn & !mask
        } else {
            (self.ppn & !mask) | 1
        }
    }

    fn leaf(&self) -> u64 {
        let reserved = self.reserved.map_or(0, |b| 1 << (54 + b % 10));
        (self.leaf_ppn() << 10) | self.flags | reserved
    }

    fn pointer(p: Pointer, table: u64) -> u64 {
        let pte = ((table >> 12) << 10) | PTE_V;
        match p {
            Pointer::Good => pte,
            Pointer::Invalid => pte & !PTE_V,
            Pointer::WriteOnly => pte | PTE_W,
            Pointer::Flags(f) => pte | [PTE_A, PTE_D, PTE_U][f as usize % 3],
            Pointer::Reserved(b) => pte | (1 << (54 + b % 10)),
            Pointer::OutsideRam => (0x1000 << 10) | PTE_V,
        }
    }

    /// The page-table entries of this walk: (physical address, value).
    fn entries(&self) -> BTreeMap<u64, u64> {
        let tables = [ROOT, L1_TABLE, L0_TABLE];
        let mut out = BTreeMap::new();
        for depth in 0..3 {
            let level = 2 - depth;
            let at = tables[depth] + 8 * self.vpn[level];
            if level == self.level {
                out.insert(at, self.leaf());
                break;
            }
            out.insert(at, Self::pointer(self.pointers[depth], tables[depth + 1]));
        }
        out
    }
}

/// The privilege and mstatus bits an access is made with.
#[derive(Clone, Copy, Debug)]
struct AccessCtx {
    prv: Priv,
    mprv: bool,
    mpp: u64,
    sum: bool,
    mxr: bool,
    access: Access,
}

impl AccessCtx {
    fn mstatus(&self) -> u64 {
        XLEN_FIELDS
            | if self.mprv { MPRV } else { 0 }
            | (self.mpp << MPP_SHIFT)
            | if self.sum { SUM } else { 0 }
            | if self.mxr { MXR } else { 0 }
    }
}

fn page_fault(access: Access) -> u64 {
    match access {
        Access::Fetch => FETCH_PAGE,
        Access::Load => LOAD_PAGE,
        Access::Store => STORE_PAGE,
    }
}

fn access_fault(access: Access) -> u64 {
    match access {
        Access::Fetch => 1,
        Access::Load => LOAD_ACCESS,
        Access::Store => STORE_ACCESS,
    }
}

/// Sv39 translation (§4.3.2, §4.4) of `va`, walking the model's copy of
/// memory (`mem`: entries written; the rest of RAM reads as zero, outside
/// RAM nothing answers): Ok(physical address) or Err(cause). Sets A, and D
/// for a store, in the leaf, only when the access is allowed.
fn translate_model(mem: &mut BTreeMap<u64, u64>, bare: bool, va: u64, c: &AccessCtx) -> Result<u64, u64> {
    let eff = if c.access != Access::Fetch && c.prv == Priv::M && c.mprv {
        prv_of(c.mpp)
    } else {
        c.prv
    };
    if eff == Priv::M || bare {
        return Ok(va);
    }
    let pf = Err(page_fault(c.access));
    if ((va as i64) << 25 >> 25) as u64 != va {
        return pf;
    }
    let mut table = ROOT;
    for level in (0..3).rev() {
        let at = table + 8 * ((va >> (12 + 9 * level)) & 0x1ff);
        if !(DRAM_BASE..DRAM_BASE + RAM_SIZE).contains(&at) {
            return Err(access_fault(c.access));
        }
        let pte = mem.get(&at).copied().unwrap_or(0);
        let (v, r, w, x) = (pte & PTE_V != 0, pte & PTE_R != 0, pte & PTE_W != 0, pte & PTE_X != 0);
        if !v || (!r && w) || pte >> 54 != 0 {
            return pf;
        }
        let ppn = (pte >> 10) & ((1 << 44) - 1);
        if !r && !x {
            // A pointer; A, D and U are reserved in one (QEMU faults on them).
            if level == 0 || pte & (PTE_A | PTE_D | PTE_U) != 0 {
                return pf;
            }
            table = ppn << 12;
            continue;
        }
        let low = (1u64 << (9 * level)) - 1;
        if ppn & low != 0 {
            return pf; // a misaligned superpage
        }
        let user = pte & PTE_U != 0;
        let allowed_priv = match eff {
            Priv::U => user,
            Priv::S => !user || (c.access != Access::Fetch && c.sum),
            Priv::M => true,
        };
        let allowed_kind = match c.access {
            Access::Fetch => x,
            Access::Load => r || (c.mxr && x),
            Access::Store => w,
        };
        if !allowed_priv || !allowed_kind {
            return pf;
        }
        mem.insert(at, pte | PTE_A | if c.access == Access::Store { PTE_D } else { 0 });
        let vpn_low = (va >> 12) & low;
        return Ok(((ppn | vpn_low) << 12) | (va & 0xfff));
    }
    unreachable!("the loop returns at level 0")
}

fn pointer() -> impl Strategy<Value = Pointer> {
    prop_oneof![
        12 => Just(Pointer::Good),
        1 => Just(Pointer::Invalid),
        1 => Just(Pointer::WriteOnly),
        1 => any::<u64>().prop_map(Pointer::Flags),
        1 => any::<u8>().prop_map(Pointer::Reserved),
        1 => Just(Pointer::OutsideRam),
    ]
}

fn walk() -> impl Strategy<Value = Walk> {
    (
        (0u64..512, 0u64..512, 0u64..512, 0u64..4096),
        prop::bool::weighted(0.9),
        0usize..3,
        [pointer(), pointer()],
        (any::<u8>(), prop::option::weighted(0.1, any::<u8>())),
        (0x8_0000u64..0x10_0000, prop::bool::weighted(0.85)),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |((v2, v1, v0, offset), canonical, level, pointers, (flags, reserved), (ppn, aligned), bare)| Walk {
                vpn: [v0, v1, v2],
                offset,
                canonical,
                level,
                pointers,
                // Valid most of the time.
                flags: flags as u64 | if flags & 0xe0 != 0xe0 { PTE_V } else { 0 },
                reserved,
                ppn,
                aligned,
                bare,
            },
        )
}

fn access_ctx() -> impl Strategy<Value = AccessCtx> {
    (
        select(vec![Priv::U, Priv::S, Priv::S, Priv::M]),
        any::<bool>(),
        select(vec![0u64, 1, 3]),
        any::<bool>(),
        any::<bool>(),
        select(vec![Access::Fetch, Access::Load, Access::Store]),
    )
        .prop_map(|(prv, mprv, mpp, sum, mxr, access)| AccessCtx {
            prv,
            mprv,
            mpp,
            sum,
            mxr,
            access,
        })
}

/// Translates with the hart in context `c`; Ok(pa) or Err(cause) and the
/// fault's tval.
fn translate_hart(h: &mut Hart, bus: &mut Bus, va: u64, c: &AccessCtx) -> Result<u64, (u64, u64)> {
    h.prv = c.prv;
    h.csr.mstatus = c.mstatus();
    h.translate(bus, va, c.access).map_err(|t| (t.cause as u64, t.tval))
}

/// A hart whose satp points at the walk's tables (or is bare), and the
/// model's copy of the entries.
fn sv39_hart(w: &Walk) -> (Hart, Bus, BTreeMap<u64, u64>) {
    let (mut h, mut bus) = new_hart();
    let mem = w.entries();
    for (&at, &pte) in &mem {
        bus.write_ram_u64(at, pte).unwrap();
    }
    h.prv = Priv::M;
    let satp = if w.bare { 0 } else { (8 << 60) | (ROOT >> 12) };
    h.csr_write(0x180, satp);
    (h, bus, mem)
}

/// Every entry the model knows equals the one in RAM.
fn same_entries(bus: &Bus, mem: &BTreeMap<u64, u64>) -> Result<(), TestCaseError> {
    for (&at, &pte) in mem {
        let got = bus.read_ram_u64(at).unwrap();
        prop_assert_eq!(got, pte, "the entry at {:#x}", at);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The properties.

/// These run in microseconds: more cases than the 256 required.
fn config() -> ProptestConfig {
    crate::common::proptest_config(1024)
}

proptest! {
    #![proptest_config(config())]

    /// From a random state, one step: the interrupt the model picks (or
    /// none) is taken, with the right cause, target mode, vector, xepc and
    /// mstatus; else the instruction runs or raises its exception,
    /// delegated or not, with the right xtval.
    #[test]
    fn one_step_from_a_random_state_matches_the_model((env, start) in env()) {
        run_and_compare(&start, &env, 1)?;
    }

    /// Programs that trap from their handlers (nested traps), return with
    /// mret and sret to random places, change MIE and SIE, and wait:
    /// eight steps, compared after each.
    #[test]
    fn trap_sequences_with_nested_traps_match_the_model((env, start) in env()) {
        run_and_compare(&start, &env, 8)?;
    }

    /// The interrupt chosen for random pending, enabled and delegated sets
    /// at every privilege and global-enable combination.
    #[test]
    fn interrupt_choice_matches_the_model(
        p in prv(),
        ms in mstatus(),
        mip in pending(),
        mie in any::<u64>(),
        mideleg in any::<u64>(),
    ) {
        let env = Env { medeleg: 0, mideleg, mie: mie & 0xaaa, mip, mtvec: 0, stvec: 0, program: BTreeMap::new() };
        let state = State {
            prv: p, pc: slot(0), mstatus: ms, mepc: 0, mcause: 0, mtval: 0, sepc: 0, scause: 0, stval: 0,
            waiting: false, t0: 0, t1: 0,
        };
        let model = Model { env: &env };
        prop_assume!(!model.disputed(&state), "the known priority bug");
        let (mut h, bus) = setup(&state, &env);
        h.refresh_interrupt_lines(&bus);
        let want = model.interrupt(&state).map(|(i, _)| i);
        let got = h.pending_interrupt().map(|i| i as u64);
        prop_assert_eq!(got, want, "mip {:#x} mie {:#x} mideleg {:#x} prv {:?} mstatus {:#x}",
            mip, env.mie, mideleg & S_INTERRUPTS, p, ms);
    }

    /// Sv39: one access through a random walk (leaf level, flags, reserved
    /// bits, superpage alignment, corrupted pointers) at a random
    /// privilege with random SUM, MXR, MPRV and MPP: the same physical
    /// address or fault, and the same A and D written back.
    #[test]
    fn sv39_translation_and_permissions_match_the_model(w in walk(), c in access_ctx()) {
        let (mut h, mut bus, mut mem) = sv39_hart(&w);
        let want = translate_model(&mut mem, w.bare, w.va(), &c).map_err(|cause| (cause, w.va()));
        let got = translate_hart(&mut h, &mut bus, w.va(), &c);
        prop_assert_eq!(got, want, "va {:#x}, leaf {:#x}", w.va(), w.leaf());
        same_entries(&bus, &mem)?;
    }

    /// Sv39 with the TLB in play: a series of accesses to one page, with
    /// privilege, SUM, MXR and MPRV changing in between (which needs no
    /// sfence.vma): every access is checked as if no translation were cached.
    #[test]
    fn sv39_cached_translations_still_check_permissions(
        w in walk(),
        series in prop::collection::vec(access_ctx(), 1..12),
    ) {
        let (mut h, mut bus, mut mem) = sv39_hart(&w);
        for (k, c) in series.iter().enumerate() {
            let want = translate_model(&mut mem, w.bare, w.va(), c).map_err(|cause| (cause, w.va()));
            let got = translate_hart(&mut h, &mut bus, w.va(), c);
            prop_assert_eq!(got, want, "access {} ({:?}), va {:#x}, leaf {:#x}", k, c, w.va(), w.leaf());
            same_entries(&bus, &mem)?;
        }
    }
}

/// The case the priority rule is about: with an S-level interrupt
/// delegated and pending, an M-level one (not delegated) of lower fixed
/// priority is still taken first (interrupts for M before those for S).
#[test]
fn an_interrupt_for_m_is_taken_before_a_higher_priority_one_for_s() {
    // SEI delegated to S, SSI left with M; both pending and enabled; in U.
    let env = Env {
        medeleg: 0,
        mideleg: 1 << 9,
        mie: (1 << 9) | (1 << 1),
        mip: (1 << 9) | (1 << 1),
        mtvec: slot(1),
        stvec: slot(2),
        program: BTreeMap::new(),
    };
    let state = State {
        prv: Priv::U,
        pc: slot(0),
        mstatus: XLEN_FIELDS,
        mepc: 0,
        mcause: 0,
        mtval: 0,
        sepc: 0,
        scause: 0,
        stval: 0,
        waiting: false,
        t0: 0,
        t1: 0,
    };
    assert_eq!(Model { env: &env }.interrupt(&state), Some((1, false)));
    let (mut h, mut bus) = setup(&state, &env);
    let until = h.cycle + 1;
    h.run_slice(&mut bus, until);
    assert_eq!(
        (h.prv, h.csr.mcause),
        (Priv::M, INTERRUPT | 1),
        "took {:?} with scause {:#x} instead of the machine-level SSI",
        h.prv,
        h.csr.scause
    );
}
