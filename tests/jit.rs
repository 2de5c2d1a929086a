//! The block translator (emulator/src/cpu/jit.rs) against the interpreter.
//!
//! Translation promises to change nothing but host time: the same results
//! and the same counts (cycle, instret, per-hart statistics, every trap's
//! cause, tval and epc, memory) as the interpreter alone. Each test runs
//! the same guest code with translation off and on and compares everything
//! the guest or a report can see:
//!
//! 1. random programs on one to three harts: integer ALU instructions
//!    (every one the translator emits natively and some it leaves to the
//!    interpreter), F and D instructions (arithmetic, fused multiply-adds,
//!    sign injection, min/max, compares, conversions, moves, fcsr accesses;
//!    with random rounding modes, fflags and mstatus.FS, on zeros,
//!    subnormals, values near underflow and overflow, infinities, NaNs and
//!    badly boxed singles), loads and stores of every width, integer and
//!    FP, 32- and 16-bit, aligned and misaligned, across a page boundary,
//!    to addresses where nothing is, to devices, LR/SC (with stores into
//!    the reserved granule between them) and AMOs, counter reads, mstatus
//!    reads right after an FP instruction (did it make FS dirty?), forward
//!    branches and jumps of every kind, traps taken mid-block, WFI and
//!    timer interrupts, with registers drawn from all 32 (x0, those the
//!    translator holds in host registers, and the rest) and extreme values
//!    and immediates. The body runs up to twelve times in a loop, with
//!    blocks translated at their first run or later, so that translated
//!    blocks run and chain into each other; quanta as short as one cycle
//!    make slices end inside blocks;
//! 2. code that rewrites itself after it was translated, with and without
//!    `fence.i`, from the same block and from another;
//! 3. more blocks than the block cache holds, in a scrambled order, so that
//!    blocks are evicted while their translations live on;
//! 4. the committed guest programs through the `rvmsmp` binary, with
//!    `--stats`: the output (cycle counts included) and the exit status
//!    must be the same with `--no-jit`, with the default and with
//!    `--jit-hot-runs 0`.
//! 5. harts running copies of one program's text, page for page, with
//!    paging on (the translator shares one translation between copies
//!    that are the same): copies that differ in one instruction, and
//!    rewrites of a copy, by its own hart or another, through a writable
//!    mapping while the copies run.
//!
//! Proptest keeps failing cases in tests/jit.proptest-regressions.

use std::process::Command;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

use crate::common::csr::{MCAUSE, MEPC, MHARTID, MSCRATCH, MSTATUS, MTVAL};
use crate::common::{place, power_off, proptest_config, rvmsmp_bin, CODE, DATA, HANDLER};
use rvmsmp::asm::{self, reg::*};
use rvmsmp::cpu::{HartStats, Priv, TakenTrap};
use rvmsmp::devices::uart::NoInput;
use rvmsmp::memmap::{CLINT, DRAM_BASE, UART0};
use rvmsmp::{ExitReason, Machine, MachineConfig};

// ---------------------------------------------------------------------------
// Machines, runs and what is compared.

const RAM_SIZE: u64 = 4 << 20;
const RAM_END: u64 = DRAM_BASE + RAM_SIZE;

/// The bytes random loads and stores touch: 512 across a page boundary.
const AREA: u64 = DATA + 0x1000 - 0x100;
const AREA_LEN: u64 = 0x200;
/// Per hart: the loop's remaining iterations (8 bytes).
const COUNTERS: u64 = DATA + 0x3000;
/// Per hart, 64 bytes: the trap handler's save area (see [`handler`]).
const SAVE: u64 = DATA + 0x3100;
/// Per hart: the trap handler's log, a ring of 32-byte records.
const LOG: u64 = DATA + 0x4000;
const LOG_SIZE: u64 = 0x2000;

const MTIME: u64 = CLINT.base + 0xbff8;
const MTIMECMP: u64 = CLINT.base + 0x4000;
const MIE_MTIE: u64 = 1 << 7;
const MSTATUS_MIE: u64 = 1 << 3;

/// How a run is made.
#[derive(Clone, Copy, Debug)]
struct Mode {
    jit: bool,
    hot_runs: u8,
    quantum: u64,
}

const INTERPRETER: Mode = Mode {
    jit: false,
    hot_runs: 0,
    quantum: 100,
};

fn new_machine(harts: usize, mode: Mode) -> Machine {
    let config = MachineConfig {
        harts,
        ram_size: RAM_SIZE,
        quantum: mode.quantum,
        // Far beyond any test program (random ones take under 20,000
        // cycles), and short enough that a translated run that went astray
        // stops soon, which keeps shrinking a failing case quick.
        max_cycles: Some(1_000_000),
        jit: mode.jit,
        jit_hot_runs: mode.hot_runs,
        ..MachineConfig::default()
    };
    Machine::new(config, Box::new(std::io::sink()), Box::new(NoInput)).expect("valid machine")
}

/// Everything of one hart that the guest, a trap or a report can see.
#[derive(Debug, PartialEq)]
struct HartState {
    pc: u64,
    x: [u64; 32],
    f: [u64; 32],
    prv: Priv,
    cycle: u64,
    instret: u64,
    waiting: bool,
    stats: HartStats,
    last_trap: Option<TakenTrap>,
    mip: u64,
    /// `Csrs` has no `PartialEq`; its debug form shows every field.
    csrs: String,
}

/// The end of a run, but memory (compared apart, see [`ram_differences`]).
#[derive(Debug, PartialEq)]
struct EndState {
    exit: ExitReason,
    now: u64,
    harts: Vec<HartState>,
    cycles_by_state: Vec<[u64; 4]>,
    mtimecmp: Vec<u64>,
}

fn end_state(m: &Machine, exit: ExitReason) -> EndState {
    EndState {
        exit,
        now: m.now,
        harts: m
            .harts
            .iter()
            .map(|h| HartState {
                pc: h.pc,
                x: h.x,
                f: h.f,
                prv: h.prv,
                cycle: h.cycle,
                instret: h.instret,
                waiting: h.waiting,
                stats: h.stats,
                last_trap: h.last_trap,
                mip: h.mip(),
                csrs: format!("{:?}", h.csr),
            })
            .collect(),
        cycles_by_state: m.cycles_by_state(),
        mtimecmp: (0..m.harts.len()).map(|i| m.bus.clint.mtimecmp(i)).collect(),
    }
}

fn ram(m: &Machine) -> &[u8] {
    m.bus.ram_slice(DRAM_BASE, RAM_SIZE).expect("all of RAM")
}

/// The first few addresses where two machines' RAM differs, with both bytes.
fn ram_differences(a: &Machine, b: &Machine) -> Vec<String> {
    ram(a)
        .iter()
        .zip(ram(b))
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .take(8)
        .map(|(i, (x, y))| format!("{:#x}: {x:#04x} vs {y:#04x}", DRAM_BASE + i as u64))
        .collect()
}

/// Places 16-bit parcels at `addr`.
fn place_parcels(m: &mut Machine, addr: u64, parcels: &[u16]) {
    let bytes: Vec<u8> = parcels.iter().flat_map(|p| p.to_le_bytes()).collect();
    m.bus.write_ram_bytes(addr, &bytes).expect("code fits in RAM");
}

fn push32(code: &mut Vec<u16>, word: u32) {
    code.push(word as u16);
    code.push((word >> 16) as u16);
}

fn push_all(code: &mut Vec<u16>, words: &[u32]) {
    for &w in words {
        push32(code, w);
    }
}

/// Bytes from `at` (a parcel index) to the end of `code`.
fn bytes_since(code: &[u16], at: usize) -> i32 {
    2 * (code.len() - at) as i32
}

// ---------------------------------------------------------------------------
// 1. Random programs.

type Enc3 = fn(u32, u32, u32) -> u32;
type EncI = fn(u32, u32, i32) -> u32;
type EncC = fn(u32, u32, i32) -> u16;

/// An encoder with its mnemonic, which is all a failing case prints of it.
#[derive(Clone, Copy)]
struct Named<F> {
    name: &'static str,
    enc: F,
}

impl<F> std::fmt::Debug for Named<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! named {
    ($ty:ty: $($op:ident),* $(,)?) => {
        vec![$(Named { name: stringify!($op), enc: asm::$op as $ty }),*]
    };
}

/// A load or store: its encoder takes (rd or rs2, rs1, imm).
#[derive(Clone, Copy, Debug)]
struct Mem {
    op: Named<EncI>,
    size: u64,
}

/// flw, fld, fsw and fsd (the register is an f register).
fn fp_loads_and_stores() -> Vec<Mem> {
    named!(EncI: flw, fld, fsw, fsd)
        .into_iter()
        .zip([4, 8, 4, 8])
        .map(|(op, size)| Mem { op, size })
        .collect()
}

fn loads_and_stores() -> Vec<Mem> {
    let sizes = [1, 2, 4, 8, 1, 2, 4, 1, 2, 4, 8];
    named!(EncI: lb, lh, lw, ld, lbu, lhu, lwu, sb, sh, sw, sd)
        .into_iter()
        .zip(sizes)
        .map(|(op, size)| Mem { op, size })
        .collect()
}

/// A compressed load or store: (rd or rs2, rs1, offset); the sp-based
/// forms ignore rs1 (the base is sp).
#[derive(Clone, Copy, Debug)]
struct CMem {
    op: Named<EncC>,
    size: u64,
    sp: bool,
}

fn compressed_loads_and_stores() -> Vec<CMem> {
    let c = |name, enc: EncC, size, sp| CMem {
        op: Named { name, enc },
        size,
        sp,
    };
    vec![
        c("c.lw", asm::c_lw, 4, false),
        c("c.ld", asm::c_ld, 8, false),
        c("c.sw", asm::c_sw, 4, false),
        c("c.sd", asm::c_sd, 8, false),
        c("c.lwsp", |r, _, o| asm::c_lwsp(r, o), 4, true),
        c("c.ldsp", |r, _, o| asm::c_ldsp(r, o), 8, true),
        c("c.swsp", |r, _, o| asm::c_swsp(r, o), 4, true),
        c("c.sdsp", |r, _, o| asm::c_sdsp(r, o), 8, true),
    ]
}

impl CMem {
    fn is_store(&self) -> bool {
        self.op.name.starts_with("c.s")
    }
}

/// Device registers a program may touch without stopping the machine.
#[derive(Clone, Copy, Debug)]
enum Device {
    /// `ld rd, mtime`
    Mtime,
    /// `lw rd, mtime + 4`
    MtimeHigh,
    /// `lbu rd, uart LSR`
    UartStatus,
    /// `sw rs2, msip of hart 0`: sets or clears a software interrupt no
    /// one enables.
    Msip,
}

#[derive(Clone, Copy, Debug)]
enum Atomic {
    LrD,
    LrW,
    ScD,
    ScW,
    AmoaddD,
    AmoswapW,
    AmomaxuD,
}

/// An encoded instruction, shown as its assembly.
#[derive(Clone)]
struct Shown<Bits> {
    text: String,
    bits: Bits,
}

impl<Bits> std::fmt::Debug for Shown<Bits> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A 16-bit instruction.
type Parcel = Shown<u16>;
/// A 32-bit instruction.
type Word = Shown<u32>;

/// One piece of a random program.
#[derive(Clone, Debug)]
enum Item {
    /// rd = rs1 op rs2.
    Reg(Named<Enc3>, u32, u32, u32),
    /// rd = rs1 op imm.
    Imm(Named<EncI>, u32, u32, i32),
    /// rd = rs1 op shamt.
    Shift(Named<Enc3>, u32, u32, u32),
    Lui(u32, i32),
    Auipc(u32, i32),
    /// A 16-bit integer instruction.
    Compressed(Parcel),
    /// An F or D instruction (but loads and stores), or an access to fcsr.
    Float(Word),
    /// `li base, AREA + offset - imm`, then the load or store `reg, imm(base)`.
    Access {
        mem: Mem,
        reg: u32,
        base: u32,
        offset: u64,
        imm: i32,
    },
    /// The same with a 16-bit load or store (base x8-x15 or sp).
    CAccess {
        mem: CMem,
        reg: u32,
        base: u32,
        offset: u64,
        imm: i32,
    },
    /// A load or store at `addr`, where there is no RAM (or not all of the
    /// access is): `base` is set to `addr - imm` first, unless it is x0
    /// (then the address is `imm`).
    Fault {
        mem: Mem,
        reg: u32,
        base: u32,
        addr: u64,
        imm: i32,
    },
    Device(Device, u32, u32),
    /// An LR, SC or AMO on `AREA + offset`.
    Atomic(Atomic, u32, u32, u32, u64),
    /// `lr.d` (or `lr.w` when not `double`) of `AREA + offset` into rd, the
    /// items, and `sc` of rs2 there into rd again: the SC fails if one of
    /// the items stored into the reserved granule (or trapped).
    Reserved {
        double: bool,
        rd: u32,
        rs2: u32,
        base: u32,
        offset: u64,
        between: Vec<Item>,
    },
    /// `csrr rd, csr` of a counter, or of mstatus or sstatus (which show
    /// whether an FP instruction made FS dirty).
    Counter(u32, u32),
    /// mstatus.FS = the value (0-3), through the register: so that the
    /// next FP instruction's effect on FS shows.
    SetFs(u64, u32),
    /// `SetFs`, one FP instruction, and `csrr rd, mstatus`: whether (and
    /// when) it makes FS dirty. An FP load or store comes after a byte load
    /// of the same address (`lbu x0`), which puts the page back in the
    /// fast-path table (writing mstatus empties it), so that translated
    /// code does the access itself.
    FsProbe(u64, u32, Box<Item>, u32),
    /// A forward branch over the items.
    Branch(Named<EncI>, u32, u32, Vec<Item>),
    /// `jal rd` over the items.
    Jal(u32, Vec<Item>),
    /// `auipc rs1, 0; jalr rd, rs1, ...` over the items (with bit 0 of the
    /// offset set when `odd`, which jalr clears).
    Jalr(u32, u32, bool, Vec<Item>),
    /// An instruction that traps: ecall, ebreak, c.ebreak or an illegal one.
    Trap(&'static str),
    Fence,
    FenceI,
    /// WFI (with no timer armed, a fence instead: nothing would wake it).
    Wfi,
}

impl Item {
    fn emit(&self, code: &mut Vec<u16>, timer: bool) {
        match self {
            Item::Reg(op, rd, rs1, rs2) => push32(code, (op.enc)(*rd, *rs1, *rs2)),
            Item::Imm(op, rd, rs1, imm) => push32(code, (op.enc)(*rd, *rs1, *imm)),
            Item::Shift(op, rd, rs1, shamt) => push32(code, (op.enc)(*rd, *rs1, *shamt)),
            Item::Lui(rd, imm) => push32(code, asm::lui(*rd, *imm)),
            Item::Auipc(rd, imm) => push32(code, asm::auipc(*rd, *imm)),
            Item::Compressed(parcel) => code.push(parcel.bits),
            Item::Float(word) => push32(code, word.bits),
            Item::Access {
                mem,
                reg,
                base,
                offset,
                imm,
            } => {
                push_all(code, &asm::li(*base, (AREA + offset).wrapping_sub(*imm as u64) as i64));
                push32(code, (mem.op.enc)(*reg, *base, *imm));
            }
            Item::CAccess {
                mem,
                reg,
                base,
                offset,
                imm,
            } => {
                push_all(code, &asm::li(*base, (AREA + offset - *imm as u64) as i64));
                code.push((mem.op.enc)(*reg, *base, *imm));
            }
            Item::Fault {
                mem,
                reg,
                base,
                addr,
                imm,
            } => {
                if *base != ZERO {
                    push_all(code, &asm::li(*base, addr.wrapping_sub(*imm as u64) as i64));
                }
                push32(code, (mem.op.enc)(*reg, *base, *imm));
            }
            Item::Device(device, reg, base) => {
                let (addr, word) = match device {
                    Device::Mtime => (MTIME, asm::ld(*reg, *base, 0)),
                    Device::MtimeHigh => (MTIME, asm::lw(*reg, *base, 4)),
                    Device::UartStatus => (UART0.base, asm::lbu(*reg, *base, 5)),
                    Device::Msip => (CLINT.base, asm::sw(*reg, *base, 0)),
                };
                push_all(code, &asm::li(*base, addr as i64));
                push32(code, word);
            }
            Item::Atomic(kind, rd, rs2, base, offset) => {
                push_all(code, &asm::li(*base, (AREA + offset) as i64));
                push32(
                    code,
                    match kind {
                        Atomic::LrD => asm::lr_d(*rd, *base),
                        Atomic::LrW => asm::lr_w(*rd, *base),
                        Atomic::ScD => asm::sc_d(*rd, *base, *rs2),
                        Atomic::ScW => asm::sc_w(*rd, *base, *rs2),
                        Atomic::AmoaddD => asm::amoadd_d(*rd, *base, *rs2),
                        Atomic::AmoswapW => asm::amoswap_w(*rd, *base, *rs2),
                        Atomic::AmomaxuD => asm::amomaxu_d(*rd, *base, *rs2),
                    },
                );
            }
            Item::Reserved {
                double,
                rd,
                rs2,
                base,
                offset,
                between,
            } => {
                let (lr, sc): (fn(u32, u32) -> u32, Enc3) = if *double {
                    (asm::lr_d, asm::sc_d)
                } else {
                    (asm::lr_w, asm::sc_w)
                };
                push_all(code, &asm::li(*base, (AREA + offset) as i64));
                push32(code, lr(*rd, *base));
                emit_all(between, code, timer);
                push_all(code, &asm::li(*base, (AREA + offset) as i64));
                push32(code, sc(*rd, *base, *rs2));
            }
            Item::Counter(rd, csr) => push32(code, asm::csrr(*rd, *csr)),
            Item::SetFs(fs, reg) => {
                push_all(code, &asm::li(*reg, 3 << 13));
                push32(code, asm::csrc(MSTATUS, *reg));
                push_all(code, &asm::li(*reg, (fs << 13) as i64));
                push32(code, asm::csrs(MSTATUS, *reg));
            }
            Item::FsProbe(fs, reg, inner, rd) => {
                Item::SetFs(*fs, *reg).emit(code, timer);
                match **inner {
                    Item::Access {
                        mem,
                        reg,
                        base,
                        offset,
                        imm,
                    } => {
                        push_all(code, &asm::li(base, (AREA + offset).wrapping_sub(imm as u64) as i64));
                        push32(code, asm::lbu(ZERO, base, imm));
                        push32(code, (mem.op.enc)(reg, base, imm));
                    }
                    _ => inner.emit(code, timer),
                }
                push32(code, asm::csrr(*rd, MSTATUS));
            }
            Item::Branch(op, rs1, rs2, over) => {
                let mut skipped = Vec::new();
                emit_all(over, &mut skipped, timer);
                push32(code, (op.enc)(*rs1, *rs2, 4 + 2 * skipped.len() as i32));
                code.extend(skipped);
            }
            Item::Jal(rd, over) => {
                let mut skipped = Vec::new();
                emit_all(over, &mut skipped, timer);
                push32(code, asm::jal(*rd, 4 + 2 * skipped.len() as i32));
                code.extend(skipped);
            }
            Item::Jalr(rd, rs1, odd, over) => {
                let mut skipped = Vec::new();
                emit_all(over, &mut skipped, timer);
                push32(code, asm::auipc(*rs1, 0));
                let offset = 8 + 2 * skipped.len() as i32 + *odd as i32;
                push32(code, asm::jalr(*rd, *rs1, offset));
                code.extend(skipped);
            }
            Item::Trap(name) => match *name {
                "ecall" => push32(code, asm::ecall()),
                "ebreak" => push32(code, asm::ebreak()),
                "c.ebreak" => code.push(asm::c_ebreak()),
                _ => code.push(0), // the all-zero parcel is illegal
            },
            Item::Fence => push32(code, asm::fence()),
            Item::FenceI => push32(code, asm::fence_i()),
            Item::Wfi => push32(code, if timer { asm::wfi() } else { asm::fence() }),
        }
    }
}

fn emit_all(items: &[Item], code: &mut Vec<u16>, timer: bool) {
    for item in items {
        item.emit(code, timer);
    }
}

/// A random program: its body runs `iterations` times on every hart.
#[derive(Clone, Debug)]
struct Program {
    harts: usize,
    /// Where the code starts: parcels past the start of a page (so that it
    /// may cross into the next page, even with a 4-byte instruction).
    start: u64,
    /// x1..x31 at reset.
    regs: Vec<u64>,
    /// f0..f31 at reset.
    fregs: Vec<u64>,
    /// mstatus.FS (0: F and D instructions trap) and fcsr at reset.
    fs: u64,
    fcsr: u64,
    iterations: u64,
    /// The registers the loop's end uses to count iterations.
    counter: (u32, u32),
    /// A machine timer interrupt at this tick, and every `period` ticks after.
    timer: Option<(u64, u64)>,
    /// Seeds the data area's bytes.
    fill: u64,
    body: Vec<Item>,
}

impl Program {
    /// The body, the loop's end (a per-hart counter in memory, so the body
    /// may write any register) and a power-off.
    fn code(&self) -> Vec<u16> {
        let mut code = Vec::new();
        emit_all(&self.body, &mut code, self.timer.is_some());
        let (a, b) = self.counter;
        push_all(&mut code, &[asm::csrr(b, MHARTID), asm::slli(b, b, 3)]);
        push_all(&mut code, &asm::li(a, COUNTERS as i64));
        push_all(
            &mut code,
            &[
                asm::add(a, a, b),
                asm::ld(b, a, 0),
                asm::addi(b, b, -1),
                asm::sd(b, a, 0),
            ],
        );
        let back = -bytes_since(&code, 0);
        assert!(back >= -4096, "the loop fits a branch");
        push32(&mut code, asm::bne(b, ZERO, back));
        push_all(&mut code, &power_off());
        code
    }

    fn run(&self, mode: Mode) -> (Machine, EndState) {
        let mut m = new_machine(self.harts, mode);
        let start = CODE + 2 * self.start;
        place_parcels(&mut m, start, &self.code());
        place(&mut m, HANDLER, &handler());
        let mut fill = self.fill;
        let area: Vec<u8> = (0..AREA_LEN).map(|_| splitmix(&mut fill) as u8).collect();
        m.bus.write_ram_bytes(AREA, &area).unwrap();
        for id in 0..self.harts {
            let save = SAVE + 64 * id as u64;
            let log = LOG + LOG_SIZE * id as u64;
            let mtimecmp = MTIMECMP + 8 * id as u64;
            m.bus.write_ram_u64(COUNTERS + 8 * id as u64, self.iterations).unwrap();
            m.bus.write_ram_u64(save + 16, log).unwrap();
            m.bus.write_ram_u64(save + 24, log).unwrap();
            m.bus.write_ram_u64(save + 40, mtimecmp).unwrap();
            let h = &mut m.harts[id];
            h.pc = start;
            h.csr.mtvec = HANDLER;
            h.csr.mscratch = save;
            for (r, &value) in self.regs.iter().enumerate() {
                h.x[r + 1] = value;
            }
            h.f.copy_from_slice(&self.fregs);
            h.csr.mstatus |= self.fs << 13;
            h.csr.fcsr = self.fcsr;
            if let Some((first, period)) = self.timer {
                m.bus.write_ram_u64(save + 32, period).unwrap();
                m.bus.clint.write(mtimecmp - CLINT.base, 8, first, 0).unwrap();
                let h = &mut m.harts[id];
                h.csr.mie = MIE_MTIE;
                h.csr.mstatus |= MSTATUS_MIE;
            }
        }
        let exit = m.run();
        let state = end_state(&m, exit);
        (m, state)
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The M-mode trap handler, which keeps every register: with mscratch
/// pointing at the hart's save area (t5, t4, the log cursor, the log's
/// base, the timer period, the hart's mtimecmp address), it logs mcause,
/// mtval and mepc, then skips the trapping instruction (2 or 4 bytes, as
/// its low bits say), or, for the timer interrupt, sets the next one
/// `period` ticks on.
fn handler() -> Vec<u32> {
    let mut head = vec![
        asm::csrrw(T6, MSCRATCH, T6),
        asm::sd(T5, T6, 0),
        asm::sd(T4, T6, 8),
        asm::ld(T4, T6, 16),
        asm::csrr(T5, MCAUSE),
        asm::sd(T5, T4, 0),
        asm::csrr(T5, MTVAL),
        asm::sd(T5, T4, 8),
        asm::csrr(T5, MEPC),
        asm::sd(T5, T4, 16),
        // The next record, wrapping around the (LOG_SIZE-aligned) log.
        asm::addi(T4, T4, 32),
        asm::slli(T4, T4, 64 - LOG_SIZE.trailing_zeros()),
        asm::srli(T4, T4, 64 - LOG_SIZE.trailing_zeros()),
        asm::ld(T5, T6, 24),
        asm::or(T4, T4, T5),
        asm::sd(T4, T6, 16),
        asm::csrr(T5, MCAUSE),
    ];
    let exception = [
        asm::csrr(T5, MEPC),
        asm::lhu(T4, T5, 0),
        asm::andi(T4, T4, 3),
        asm::addi(T5, T5, 2),
        asm::addi(T4, T4, -3),
        asm::bne(T4, ZERO, 8),
        asm::addi(T5, T5, 2),
        asm::csrw(MEPC, T5),
    ];
    let mut interrupt = asm::li(T4, MTIME as i64);
    interrupt.extend([
        asm::ld(T5, T4, 0),
        asm::ld(T4, T6, 32),
        asm::add(T5, T5, T4),
        asm::ld(T4, T6, 40),
        asm::sd(T5, T4, 0),
    ]);
    let restore = [
        asm::ld(T4, T6, 8),
        asm::ld(T5, T6, 0),
        asm::csrrw(T6, MSCRATCH, T6),
        asm::mret(),
    ];
    head.push(asm::blt(T5, ZERO, 4 * (exception.len() as i32 + 2)));
    head.extend(exception);
    head.push(asm::jal(ZERO, 4 * (interrupt.len() as i32 + 1)));
    head.extend(interrupt);
    head.extend(restore);
    head
}

fn any_reg() -> impl Strategy<Value = u32> {
    0..32u32
}

fn nonzero_reg() -> impl Strategy<Value = u32> {
    1..32u32
}

/// x8-x15, the registers of the 16-bit forms with 3-bit fields.
fn compressed_reg() -> impl Strategy<Value = u32> {
    8..16u32
}

fn imm12() -> impl Strategy<Value = i32> {
    prop_oneof![select(vec![-2048, 2047, 0, -1, 1, 0x7ff, -0x800 + 1]), -2048..2048i32,]
}

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        select(vec![
            0,
            1,
            u64::MAX,
            1 << 63,
            i64::MAX as u64,
            0x8000_0000,
            0x7fff_ffff,
            0xffff_ffff,
            0xffff_ffff_8000_0000,
            63,
            64,
            31,
            32,
        ]),
        0..256u64,
        any::<u64>(),
    ]
}

fn simple() -> impl Strategy<Value = Item> {
    let native = named!(Enc3: add, sub, sll, slt, sltu, xor, srl, sra, or, and, addw, subw, sllw, srlw, sraw, mul, mulh, mulhu, mulw);
    let interpreted = named!(Enc3: mulhsu, div, divu, rem, remu, divw, divuw, remw, remuw);
    let imms = named!(EncI: addi, slti, sltiu, xori, ori, andi, addiw);
    let shifts = named!(Enc3: slli, srli, srai);
    let shifts_w = named!(Enc3: slliw, srliw, sraiw);
    let upper = prop_oneof![select(vec![0, -4096, 0x7fff_f000, i32::MIN, 0x1000]), any::<i32>()];
    prop_oneof![
        6 => (select(native), any_reg(), any_reg(), any_reg()).prop_map(|(op, d, a, b)| Item::Reg(op, d, a, b)),
        2 => (select(interpreted), any_reg(), any_reg(), any_reg()).prop_map(|(op, d, a, b)| Item::Reg(op, d, a, b)),
        4 => (select(imms), any_reg(), any_reg(), imm12()).prop_map(|(op, d, a, i)| Item::Imm(op, d, a, i)),
        2 => (select(shifts), any_reg(), any_reg(), prop_oneof![select(vec![0, 1, 31, 32, 63]), 0..64u32])
            .prop_map(|(op, d, a, s)| Item::Shift(op, d, a, s)),
        2 => (select(shifts_w), any_reg(), any_reg(), prop_oneof![select(vec![0, 1, 31]), 0..32u32])
            .prop_map(|(op, d, a, s)| Item::Shift(op, d, a, s)),
        1 => (any_reg(), upper.clone()).prop_map(|(d, i)| Item::Lui(d, i)),
        1 => (any_reg(), upper).prop_map(|(d, i)| Item::Auipc(d, i)),
        2 => compressed_alu(),
    ]
}

fn compressed_alu() -> impl Strategy<Value = Item> {
    let six = -32..32i32;
    let c = |text: String, bits: u16| Item::Compressed(Parcel { text, bits });
    prop_oneof![
        (nonzero_reg(), six.clone().prop_filter("nonzero", |&i| i != 0))
            .prop_map(move |(d, i)| c(format!("c.addi x{d}, {i}"), asm::c_addi(d, i))),
        (nonzero_reg(), six.clone()).prop_map(move |(d, i)| c(format!("c.addiw x{d}, {i}"), asm::c_addiw(d, i))),
        (nonzero_reg(), six.clone()).prop_map(move |(d, i)| c(format!("c.li x{d}, {i}"), asm::c_li(d, i))),
        (nonzero_reg(), 1..64u32).prop_map(move |(d, s)| c(format!("c.slli x{d}, {s}"), asm::c_slli(d, s))),
        (compressed_reg(), 1..64u32).prop_map(move |(d, s)| c(format!("c.srli x{d}, {s}"), asm::c_srli(d, s))),
        (compressed_reg(), 1..64u32).prop_map(move |(d, s)| c(format!("c.srai x{d}, {s}"), asm::c_srai(d, s))),
        (compressed_reg(), six).prop_map(move |(d, i)| c(format!("c.andi x{d}, {i}"), asm::c_andi(d, i))),
        (nonzero_reg(), nonzero_reg()).prop_map(move |(d, s)| c(format!("c.mv x{d}, x{s}"), asm::c_mv(d, s))),
        (nonzero_reg(), nonzero_reg()).prop_map(move |(d, s)| c(format!("c.add x{d}, x{s}"), asm::c_add(d, s))),
        (
            select(crate::diff::generator::COMPRESSED_REG_OPS),
            compressed_reg(),
            compressed_reg()
        )
            .prop_map(move |((name, enc), d, s)| c(format!("{name} x{d}, x{s}"), enc(d, s))),
    ]
}

/// An offset into the data area for an access of `size` bytes: aligned, or
/// anywhere (mostly misaligned), or across the area's page boundary, or in
/// its first 16 bytes, where accesses often meet (a store and a
/// reservation, say).
fn offset(size: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => (0..AREA_LEN / size).prop_map(move |k| k * size),
        2 => 0..=AREA_LEN - 8,
        1 => 0x100 - 7..0x100u64,
        2 => hot_offset(size),
    ]
}

/// An offset in the data area's first 16 bytes, mostly aligned.
fn hot_offset(size: u64) -> impl Strategy<Value = u64> {
    prop_oneof![3 => (0..16 / size).prop_map(move |k| k * size), 1 => 0..16u64]
}

fn access() -> impl Strategy<Value = Item> {
    let mem = prop_oneof![3 => select(loads_and_stores()), 1 => select(fp_loads_and_stores())];
    (mem, any_reg(), nonzero_reg(), imm12()).prop_flat_map(|(mem, reg, base, imm)| {
        offset(mem.size).prop_map(move |offset| Item::Access {
            mem,
            reg,
            base,
            offset,
            imm,
        })
    })
}

fn compressed_access() -> impl Strategy<Value = Item> {
    select(compressed_loads_and_stores()).prop_flat_map(|mem| {
        let reg = if mem.sp {
            // rd = x0 is reserved for c.lwsp and c.ldsp.
            if mem.is_store() {
                (0..32u32).boxed()
            } else {
                (1..32u32).boxed()
            }
        } else {
            compressed_reg().boxed()
        };
        let base = if mem.sp {
            Just(SP).boxed()
        } else {
            compressed_reg().boxed()
        };
        let slots: u64 = if mem.sp { 64 } else { 32 };
        (reg, base, 0..slots, offset(mem.size)).prop_map(move |(reg, base, k, offset)| Item::CAccess {
            mem,
            reg,
            base,
            offset,
            imm: (k * mem.size) as i32,
        })
    })
}

fn fault() -> impl Strategy<Value = Item> {
    let nowhere = vec![
        0x3000_0000,
        DRAM_BASE - 4,
        DRAM_BASE - 2,
        RAM_END - 4,
        RAM_END - 1,
        RAM_END,
        1 << 40,
        u64::MAX - 2,
    ];
    let mem = prop_oneof![3 => select(loads_and_stores()), 1 => select(fp_loads_and_stores())];
    (mem, any_reg(), any_reg(), select(nowhere), imm12()).prop_map(|(mem, reg, base, addr, imm)| Item::Fault {
        mem,
        reg,
        base,
        addr: if base == ZERO { imm as i64 as u64 } else { addr },
        imm,
    })
}

fn device() -> impl Strategy<Value = Item> {
    let devices = vec![Device::Mtime, Device::MtimeHigh, Device::UartStatus, Device::Msip];
    (select(devices), any_reg(), nonzero_reg()).prop_map(|(d, reg, base)| Item::Device(d, reg, base))
}

fn atomic() -> impl Strategy<Value = Item> {
    use Atomic::*;
    let kinds = vec![LrD, LrW, ScD, ScW, AmoaddD, AmoswapW, AmomaxuD, LrD, ScD];
    (select(kinds), any_reg(), any_reg(), nonzero_reg(), offset(8))
        .prop_map(|(kind, rd, rs2, base, offset)| Item::Atomic(kind, rd, rs2, base, offset))
}

/// A store to the data area's first 16 bytes.
fn hot_store() -> impl Strategy<Value = Item> {
    let stores = loads_and_stores()
        .into_iter()
        .filter(|m| m.op.name.starts_with('s'))
        .collect::<Vec<_>>();
    (select(stores), any_reg(), nonzero_reg(), imm12()).prop_flat_map(|(mem, reg, base, imm)| {
        hot_offset(mem.size).prop_map(move |offset| Item::Access {
            mem,
            reg,
            base,
            offset,
            imm,
        })
    })
}

fn reserved() -> impl Strategy<Value = Item> {
    let between = prop::collection::vec(prop_oneof![simple(), hot_store()], 0..3);
    (
        any::<bool>(),
        any_reg(),
        any_reg(),
        nonzero_reg(),
        hot_offset(8),
        between,
    )
        .prop_map(|(double, rd, rs2, base, offset, between)| Item::Reserved {
            double,
            rd,
            rs2,
            base,
            offset,
            between,
        })
}

fn counter() -> impl Strategy<Value = Item> {
    // cycle, time, instret, mcycle, minstret, mstatus, sstatus
    let csrs = vec![0xc00, 0xc01, 0xc02, 0xb00, 0xb02, 0x300, 0x100];
    prop_oneof![
        3 => (any_reg(), select(csrs)).prop_map(|(rd, csr)| Item::Counter(rd, csr)),
        1 => (0..4u64, nonzero_reg()).prop_map(|(fs, reg)| Item::SetFs(fs, reg)),
    ]
}

fn fs_probe() -> impl Strategy<Value = Item> {
    let fp_access =
        (select(fp_loads_and_stores()), any_reg(), nonzero_reg(), imm12()).prop_flat_map(|(mem, reg, base, imm)| {
            offset(mem.size).prop_map(move |offset| Item::Access {
                mem,
                reg,
                base,
                offset,
                imm,
            })
        });
    let inner = prop_oneof![4 => float(), 1 => fp_access];
    (select(vec![0u64, 1, 2, 2, 2, 3]), nonzero_reg(), inner, any_reg())
        .prop_map(|(fs, reg, inner, rd)| Item::FsProbe(fs, reg, Box::new(inner), rd))
}

fn control() -> impl Strategy<Value = Item> {
    let branches = named!(EncI: beq, bne, blt, bge, bltu, bgeu);
    let over = || prop::collection::vec(simple(), 0..4);
    prop_oneof![
        4 => (select(branches), any_reg(), any_reg(), over()).prop_map(|(op, a, b, over)| Item::Branch(op, a, b, over)),
        1 => (any_reg(), over()).prop_map(|(rd, over)| Item::Jal(rd, over)),
        1 => (any_reg(), nonzero_reg(), any::<bool>(), over()).prop_map(|(rd, rs1, odd, over)| Item::Jalr(rd, rs1, odd, over)),
    ]
}

/// A rounding mode: mostly RNE or dynamic (the ones the translator may do
/// natively), sometimes any, the reserved 5 and 6 included.
fn rm() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(0u32), 3 => Just(7u32), 2 => 0..8u32]
}

fn float() -> impl Strategy<Value = Item> {
    type Enc2 = fn(u32, u32) -> u32;
    type Enc4 = fn(u32, u32, u32, u32) -> u32;
    type Enc5 = fn(u32, u32, u32, u32, u32) -> u32;
    let f = || 0..32u32;
    let w = |text: String, bits: u32| Item::Float(Word { text, bits });
    let arithmetic = named!(Enc4: fadd_d, fsub_d, fmul_d, fdiv_d, fadd_s, fsub_s, fmul_s, fdiv_s);
    let sqrt = named!(Enc3: fsqrt_d, fsqrt_s);
    let fused = named!(Enc5: fmadd_d, fmsub_d, fnmsub_d, fnmadd_d, fmadd_s, fmsub_s, fnmsub_s, fnmadd_s);
    let no_rounding =
        named!(Enc3: fsgnj_d, fsgnjn_d, fsgnjx_d, fsgnj_s, fsgnjn_s, fsgnjx_s, fmin_d, fmax_d, fmin_s, fmax_s);
    let compare = named!(Enc3: feq_d, flt_d, fle_d, feq_s, flt_s, fle_s);
    let to_x = named!(Enc2: fclass_d, fclass_s, fmv_x_d, fmv_x_w);
    let from_x = named!(Enc2: fmv_d_x, fmv_w_x);
    let to_int = named!(Enc3: fcvt_w_d, fcvt_wu_d, fcvt_l_d, fcvt_lu_d, fcvt_w_s, fcvt_wu_s, fcvt_l_s, fcvt_lu_s);
    let from_int = named!(Enc3: fcvt_d_w, fcvt_d_wu, fcvt_d_l, fcvt_d_lu, fcvt_s_w, fcvt_s_wu, fcvt_s_l, fcvt_s_lu);
    let convert = named!(Enc3: fcvt_s_d, fcvt_d_s);
    // fflags, frm, fcsr: written (csrrw, csrrwi) or read.
    let csrs = vec![(0x001u32, "fflags"), (0x002, "frm"), (0x003, "fcsr")];
    prop_oneof![
        6 => (select(arithmetic), f(), f(), f(), rm())
            .prop_map(move |(op, d, a, b, r)| w(format!("{op:?} f{d}, f{a}, f{b}, rm={r}"), (op.enc)(d, a, b, r))),
        2 => (select(sqrt), f(), f(), rm())
            .prop_map(move |(op, d, a, r)| w(format!("{op:?} f{d}, f{a}, rm={r}"), (op.enc)(d, a, r))),
        4 => (select(fused), f(), f(), f(), f(), rm()).prop_map(move |(op, d, a, b, c, r)| {
            w(format!("{op:?} f{d}, f{a}, f{b}, f{c}, rm={r}"), (op.enc)(d, a, b, c, r))
        }),
        3 => (select(no_rounding), f(), f(), f())
            .prop_map(move |(op, d, a, b)| w(format!("{op:?} f{d}, f{a}, f{b}"), (op.enc)(d, a, b))),
        1 => (select(compare), any_reg(), f(), f())
            .prop_map(move |(op, d, a, b)| w(format!("{op:?} x{d}, f{a}, f{b}"), (op.enc)(d, a, b))),
        1 => (select(to_x), any_reg(), f()).prop_map(move |(op, d, a)| w(format!("{op:?} x{d}, f{a}"), (op.enc)(d, a))),
        1 => (select(from_x), f(), any_reg()).prop_map(move |(op, d, a)| w(format!("{op:?} f{d}, x{a}"), (op.enc)(d, a))),
        1 => (select(to_int), any_reg(), f(), rm())
            .prop_map(move |(op, d, a, r)| w(format!("{op:?} x{d}, f{a}, rm={r}"), (op.enc)(d, a, r))),
        1 => (select(from_int), f(), any_reg(), rm())
            .prop_map(move |(op, d, a, r)| w(format!("{op:?} f{d}, x{a}, rm={r}"), (op.enc)(d, a, r))),
        1 => (select(convert), f(), f(), rm())
            .prop_map(move |(op, d, a, r)| w(format!("{op:?} f{d}, f{a}, rm={r}"), (op.enc)(d, a, r))),
        1 => (select(csrs.clone()), any_reg(), any_reg()).prop_map(move |((csr, name), d, a)| {
            w(format!("csrrw x{d}, {name}, x{a}"), asm::csrrw(d, csr, a))
        }),
        1 => (select(csrs.clone()), any_reg(), 0..32u32).prop_map(move |((csr, name), d, i)| {
            w(format!("csrrwi x{d}, {name}, {i}"), asm::csrrwi(d, csr, i))
        }),
        1 => (select(csrs), any_reg()).prop_map(move |((csr, name), d)| w(format!("csrr x{d}, {name}"), asm::csrr(d, csr))),
    ]
}

/// f register values: zeros, subnormals, the smallest and largest normals,
/// infinities and NaNs of both widths, NaN-boxed singles and improperly
/// boxed ones, and doubles whose exponents make products and quotients
/// land near underflow and overflow.
fn fp_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        select(vec![
            0u64,
            1 << 63,
            1.0f64.to_bits(),
            (-1.5f64).to_bits(),
            1,
            0x000f_ffff_ffff_ffff,
            0x0010_0000_0000_0000,
            0x0010_0000_0000_0001,
            0x8010_0000_0000_0000,
            0x001f_ffff_ffff_ffff,
            0x7fef_ffff_ffff_ffff,
            0x7ff0_0000_0000_0000,
            0xfff0_0000_0000_0000,
            0x7ff8_0000_0000_0000,
            0x7ff0_0000_0000_0001,
            0xfff8_0000_0000_0000,
            0x3ff0_0000_0000_0001,
            0x1ff0_0000_0000_0000,
            0x5fe0_0000_0000_0000,
            0xffff_ffff_3f80_0000,
            0xffff_ffff_7f80_0000,
            0xffff_ffff_7fc0_0000,
            0xffff_ffff_7f80_0001,
            0xffff_ffff_0000_0001,
            0xffff_ffff_0080_0000,
            0xffff_ffff_7f7f_ffff,
            0xffff_ffff_8000_0000,
            0x0000_0000_3f80_0000,
        ]),
        (
            any::<bool>(),
            prop_oneof![
                0x001..0x040u64,
                0x1f0..0x210u64,
                0x3c0..0x440u64,
                0x5f0..0x610u64,
                0x7c0..0x7ffu64
            ],
            any::<u64>()
        )
            .prop_map(|(sign, exponent, mantissa)| (sign as u64) << 63 | exponent << 52 | mantissa & ((1 << 52) - 1)),
        (any::<bool>(), 0x60..0xa0u64, any::<u32>()).prop_map(|(sign, exponent, mantissa)| {
            0xffff_ffff_0000_0000 | (sign as u64) << 31 | exponent << 23 | mantissa as u64 & 0x7f_ffff
        }),
        any::<u32>().prop_map(|v| 0xffff_ffff_0000_0000 | v as u64),
        any::<u64>(),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        12 => simple(),
        6 => float(),
        6 => access(),
        2 => compressed_access(),
        1 => fault(),
        1 => device(),
        1 => atomic(),
        1 => reserved(),
        2 => counter(),
        2 => fs_probe(),
        3 => control(),
        1 => select(vec!["ecall", "ebreak", "c.ebreak", "illegal"]).prop_map(Item::Trap),
        1 => select(vec![Item::Fence, Item::FenceI, Item::Wfi]),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    (
        select(vec![1usize, 1, 1, 1, 2, 3]),
        prop_oneof![Just(0u64), Just(2048 - 8), 0..2048u64],
        (
            prop::collection::vec(value(), 31),
            prop::collection::vec(fp_value(), 32),
            select(vec![0u64, 1, 2, 3, 3, 3]),
            (
                select(vec![0u64, 0, 0, 1, 2, 3, 4, 5, 7]),
                prop_oneof![Just(1u64), Just(0), 0..32u64],
            )
                .prop_map(|(frm, fflags)| frm << 5 | fflags),
        ),
        1..=12u64,
        (nonzero_reg(), nonzero_reg()).prop_filter("two registers", |(a, b)| a != b),
        prop::option::weighted(0.25, (1..20u64, 1..8u64)),
        any::<u64>(),
        prop::collection::vec(item(), 1..64),
    )
        .prop_map(
            |(harts, start, (regs, fregs, fs, fcsr), iterations, counter, timer, fill, body)| Program {
                harts,
                start,
                regs,
                fregs,
                fs,
                fcsr,
                iterations,
                counter,
                timer,
                fill,
                body,
            },
        )
}

fn translated_mode() -> impl Strategy<Value = Mode> {
    (
        select(vec![0u8, 0, 0, 1, 3, 8]),
        select(vec![1u64, 2, 7, 13, 100, 100, 1000, 100_000]),
    )
        .prop_map(|(hot_runs, quantum)| Mode {
            jit: true,
            hot_runs,
            quantum,
        })
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// The same random program, interpreted and translated, ends in the
    /// same state: registers, pc, counters, statistics, traps, CSRs and all
    /// of memory.
    #[test]
    fn translated_and_interpreted_runs_agree_on_random_programs(program in program(), mode in translated_mode()) {
        // The program must power off.
        agree_with_interpreter(|mode| program.run(mode), mode, ExitReason::Finisher(0))?;
    }
}

/// Runs the same guest code interpreted (with `mode`'s quantum) and as
/// `mode` says: the first must end with `exit`, and the two in the same
/// state and memory. Returns the interpreted run's end state.
fn agree_with_interpreter(
    run: impl Fn(Mode) -> (Machine, EndState),
    mode: Mode,
    exit: ExitReason,
) -> Result<EndState, TestCaseError> {
    let (im, expected) = run(Mode {
        quantum: mode.quantum,
        ..INTERPRETER
    });
    prop_assert_eq!(expected.exit, exit, "how the interpreted run ended");
    let (jm, got) = run(mode);
    prop_assert_eq!(&got, &expected);
    let differences = ram_differences(&im, &jm);
    prop_assert!(
        differences.is_empty(),
        "memory differs (interpreted vs translated): {:?}",
        differences
    );
    Ok(expected)
}

// ---------------------------------------------------------------------------
// 2. Self-modifying code.

/// How a loop rewrites one of its own instructions, `addi a1, a1, imm`,
/// with imm = (i & !mask) & 0x7ff at iteration i.
#[derive(Clone, Copy, Debug)]
struct Rewrite {
    /// Rewrite only when i & mask == 0 (so that, in between, the blocks get
    /// hot and are translated), from a block of its own followed by
    /// `fence.i`; or every iteration, from the block the instruction is in,
    /// a few instructions ahead of it, without `fence.i`.
    separate_block: bool,
    mask: u64,
    /// The register holding the code's address: one the translator holds
    /// in a host register (a2; a0-a7 are) or not (s2).
    base: u32,
    /// `sd` (the rewritten instruction and the unchanged one after it) or `sw`.
    doubleword: bool,
}

const SMC_ITERATIONS: u64 = 100;

impl Rewrite {
    /// a1 at the end: the sum of the immediates in force at each iteration.
    fn expected(&self) -> u64 {
        (0..SMC_ITERATIONS).map(|i| (i & !self.mask) & 0x7ff).sum()
    }

    fn code(&self) -> Vec<u32> {
        let (i, n, base) = (S1, S3, self.base);
        let target_insn = asm::addi(A1, A1, 0);
        let after_target = asm::addi(i, i, 1);
        let mut c = vec![
            asm::addi(i, ZERO, 0),
            asm::addi(n, ZERO, SMC_ITERATIONS as i32),
            asm::auipc(base, 0), // base = CODE (this is the third word)
            asm::addi(base, base, -8),
        ];
        let top = c.len();
        // t1 = the new instruction (and, for sd, the one after it).
        let build = |c: &mut Vec<u32>| {
            c.push(asm::andi(T1, i, !(self.mask as i32) & 0x7ff));
            c.push(asm::slli(T1, T1, 20));
            c.extend(asm::li(T2, target_insn as i64));
            c.push(asm::or(T1, T1, T2));
            if self.doubleword {
                c.extend(asm::li(T2, (after_target as i64) << 32));
                c.push(asm::or(T1, T1, T2));
            }
        };
        // The store's offset from base is patched once the target's place is known.
        let store_at;
        if self.separate_block {
            c.push(asm::andi(T0, i, self.mask as i32));
            let skip_at = c.len();
            c.push(0); // bne t0, zero, run
            build(&mut c);
            store_at = c.len();
            c.push(0);
            c.push(asm::fence_i());
            // run: a block of its own, and one more before the target's
            let run = c.len();
            c[skip_at] = asm::bne(T0, ZERO, 4 * (run - skip_at) as i32);
            c.push(asm::addi(T3, T3, 1));
            c.push(asm::jal(ZERO, 4));
        } else {
            build(&mut c);
            store_at = c.len();
            c.push(0);
            c.push(asm::addi(T3, T3, 1));
            c.push(asm::xor(T4, T3, i));
        }
        if self.doubleword && c.len() % 2 == 1 {
            c.push(asm::addi(ZERO, ZERO, 0)); // sd needs the target 8-aligned
        }
        let target = c.len();
        c.push(target_insn);
        c.push(after_target);
        c.push(asm::bne(i, n, -4 * (c.len() - top) as i32));
        let offset = 4 * target as i32;
        c[store_at] = if self.doubleword {
            asm::sd(T1, base, offset)
        } else {
            asm::sw(T1, base, offset)
        };
        c.extend(power_off());
        c
    }

    fn run(&self, mode: Mode) -> (Machine, EndState) {
        let mut m = new_machine(1, mode);
        place(&mut m, CODE, &self.code());
        place(&mut m, HANDLER, &crate::common::trap_handler());
        m.harts[0].pc = CODE;
        m.harts[0].csr.mtvec = HANDLER;
        let exit = m.run();
        let state = end_state(&m, exit);
        (m, state)
    }
}

/// A loop that rewrites one of its own instructions after it was
/// translated gives the interpreter's result, and the right one, whether
/// blocks are translated at once or after the default number of runs.
#[test]
fn code_rewritten_after_translation_runs_as_rewritten() {
    for separate_block in [true, false] {
        for base in [A2, S2] {
            for doubleword in [false, true] {
                let rewrite = Rewrite {
                    separate_block,
                    mask: if separate_block { 15 } else { 7 },
                    base,
                    doubleword,
                };
                let (_, expected) = rewrite.run(INTERPRETER);
                assert_eq!(expected.exit, ExitReason::Finisher(0), "{rewrite:?}: interpreted");
                assert_eq!(
                    expected.harts[0].x[A1 as usize],
                    rewrite.expected(),
                    "{rewrite:?}: the interpreter's a1"
                );
                assert!(expected.harts[0].last_trap.is_none(), "{rewrite:?}: no trap");
                for hot_runs in [0, rvmsmp::cpu::JIT_HOT_RUNS] {
                    for quantum in [100, 7] {
                        let mode = Mode {
                            jit: true,
                            hot_runs,
                            quantum,
                        };
                        let (im2, expected) = rewrite.run(Mode { quantum, ..INTERPRETER });
                        let (jm, got) = rewrite.run(mode);
                        assert_eq!(got, expected, "{rewrite:?}, {mode:?}");
                        assert_eq!(
                            ram_differences(&im2, &jm),
                            Vec::<String>::new(),
                            "{rewrite:?}, {mode:?}"
                        );
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Many blocks.

/// More blocks than the block cache has slots, run in a scrambled order
/// (jumps within a page and across pages), three times over: blocks are
/// evicted and decoded again while their translations are kept, and
/// translated blocks link to each other.
#[test]
fn more_blocks_than_the_cache_holds_run_as_interpreted() {
    const BLOCKS: u64 = 6000;
    const AT: u64 = DRAM_BASE + 0x10_0000;
    let mut seed = 7;
    let mut order: Vec<u64> = (0..BLOCKS).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (splitmix(&mut seed) % (i as u64 + 1)) as usize);
    }
    // Block b, at AT + 16 b: three integer instructions, then a jump to
    // the next block in `order`; the last one jumps to the loop's end.
    let tail = AT + 16 * BLOCKS;
    let mut code = vec![0u32; 4 * BLOCKS as usize];
    for (j, &b) in order.iter().enumerate() {
        let next = order.get(j + 1).map_or(tail, |&n| AT + 16 * n);
        let at = AT + 16 * b;
        let i = b as u32;
        code[4 * b as usize..4 * b as usize + 4].copy_from_slice(&[
            asm::addi(A0, A0, (i % 2047) as i32),
            asm::xor(S2, S2, A0),
            asm::slli(T0, A0, i % 64),
            asm::jal(ZERO, (next as i64 - at as i64 - 12) as i32),
        ]);
    }
    code.extend([
        asm::add(S2, S2, T0),
        asm::addi(S3, S3, -1),
        asm::beq(S3, ZERO, 8),
        asm::jal(ZERO, (AT + 16 * order[0]) as i32 - (tail + 12) as i32),
    ]);
    code.extend(power_off());
    let run = |mode: Mode| {
        let mut m = new_machine(1, mode);
        place(&mut m, AT, &code);
        place(&mut m, HANDLER, &crate::common::trap_handler());
        m.harts[0].pc = AT + 16 * order[0];
        m.harts[0].csr.mtvec = HANDLER;
        m.harts[0].x[S3 as usize] = 3;
        let exit = m.run();
        let state = end_state(&m, exit);
        (m, state)
    };
    for quantum in [100, 7] {
        let (im, expected) = run(Mode { quantum, ..INTERPRETER });
        assert_eq!(expected.exit, ExitReason::Finisher(0), "interpreted");
        // The last time round, the loop's end skips its jump; power_off's
        // last word is never reached.
        let retired = 3 * (4 * BLOCKS + 4) - 1 + power_off().len() as u64 - 1;
        assert_eq!(expected.harts[0].instret, retired, "every block ran three times");
        for hot_runs in [0, 1, rvmsmp::cpu::JIT_HOT_RUNS] {
            let mode = Mode {
                jit: true,
                hot_runs,
                quantum,
            };
            let (jm, got) = run(mode);
            assert_eq!(got, expected, "{mode:?}");
            assert_eq!(ram_differences(&im, &jm), Vec::<String>::new(), "{mode:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// 4. The guest programs, through the binary.

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `rvmsmp ARGS` with `extra` flags inserted after the subcommand;
/// returns stdout and stderr together, and the exit status.
fn rvmsmp(args: &[&str], extra: &[&str]) -> (Vec<u8>, Option<i32>) {
    let out = Command::new(rvmsmp_bin())
        .current_dir(root())
        .arg(args[0])
        .args(extra)
        .args(&args[1..])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("rvmsmp runs");
    let mut text = out.stdout;
    text.extend_from_slice(b"\n--- stderr ---\n");
    text.extend_from_slice(&out.stderr);
    (text, out.status.code())
}

/// A scratch directory, removed at the end of the test, passed or failed.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("rvmsmp-jit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A copy of a bare-metal benchmark with its arguments written in (as
/// `cargo xtask bench` does: `rvmsmp bare` passes none), in `scratch`.
fn bare_with_args(scratch: &Scratch, name: &str, args: &str) -> std::path::PathBuf {
    const MARK: &[u8] = b"rvmsmp-bench-args:";
    const ARRAY: usize = 96;
    let mut image = std::fs::read(root().join("programs/bench/bin").join(name)).expect("the bare benchmark is built");
    let at = image
        .windows(MARK.len())
        .position(|w| w == MARK)
        .expect("the argument marker");
    let field = &mut image[at + MARK.len()..at + ARRAY];
    field.fill(0);
    field[..args.len()].copy_from_slice(args.as_bytes());
    let path = scratch.0.join(name);
    std::fs::write(&path, image).unwrap();
    path
}

/// The committed guest programs print the same, cycle counts included
/// (`--stats`), and exit the same, translated or not, and whenever blocks
/// are translated.
#[test]
fn guest_programs_report_the_same_with_and_without_translation() {
    let scratch = Scratch::new();
    let bare_int = bare_with_args(&scratch, "bench_int.bare.elf", "3000");
    let bare_sha = bare_with_args(&scratch, "bench_sha256.bare.elf", "2");
    let runs: Vec<Vec<&str>> = vec![
        vec!["run", "--stats", "programs/bench/bin/bench_int.elf", "3000"],
        vec!["run", "--stats", "programs/bench/bin/bench_sha256.elf", "3"],
        vec!["run", "--stats", "programs/bench/bin/bench_memwalk.elf", "100000", "32"],
        vec!["run", "--stats", "programs/bench/bin/bench_fp.elf", "300"],
        vec![
            "run",
            "--harts",
            "4",
            "--stats",
            "programs/bin/syscall_mix.elf",
            "-k",
            "4.65",
            "-r",
            "200",
        ],
        vec!["run", "--harts", "8", "--stats", "programs/bin/hello.elf"],
        vec!["bare", "--stats", bare_int.to_str().unwrap()],
        vec!["bare", "--stats", "--quantum", "7", bare_sha.to_str().unwrap()],
    ];
    std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|args| {
                s.spawn(move || {
                    let (interpreted, code) = rvmsmp(args, &["--no-jit"]);
                    let text = String::from_utf8_lossy(&interpreted).into_owned();
                    assert_eq!(code, Some(0), "rvmsmp {args:?} --no-jit:\n{text}");
                    assert!(
                        text.contains("cycles"),
                        "rvmsmp {args:?} --no-jit printed no statistics:\n{text}"
                    );
                    for extra in [&[][..], &["--jit-hot-runs", "0"]] {
                        let (translated, code) = rvmsmp(args, extra);
                        let translated = String::from_utf8_lossy(&translated);
                        assert_eq!(code, Some(0), "rvmsmp {args:?} {extra:?}:\n{translated}");
                        assert!(
                            translated == text,
                            "rvmsmp {args:?} {extra:?} differs from --no-jit:\n--- --no-jit ---\n{text}\n--- \
                             {extra:?} ---\n{translated}"
                        );
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

// ---------------------------------------------------------------------------
// 5. Copies of one program's text, shared between harts.

/// Where the harts of [`SharedText`] find things, virtually: their own
/// copy of the text (read and execute only, as a loader maps text), their
/// own data page, and every copy of the text again, writable, at
/// `WINDOW + 0x1000 j` (as a kernel sees all of memory).
const TEXT_VA: u64 = 0x1000;
const DATA_VA: u64 = 0x2000;
const WINDOW: u64 = 0x4000;
/// Physically: each hart's page tables (three levels, 0x3000 bytes), text
/// copy and data page.
const TABLES: u64 = DRAM_BASE + 0x8_0000;
const TEXTS: u64 = DRAM_BASE + 0x10_0000;
const DATAS: u64 = DRAM_BASE + 0x18_0000;
/// How long the harts of [`SharedText`] run: some hundreds of iterations.
const SHARED_TEXT_CYCLES: u64 = 20_000;

/// A body instruction of [`SharedText`]: an integer instruction that
/// writes neither a1 nor the registers the loop's tail uses, or a jump to
/// the next instruction (which ends a block, so that the body is several
/// blocks that chain into each other).
#[derive(Clone, Debug)]
enum Step {
    Reg(Named<Enc3>, u32, u32, u32),
    Imm(Named<EncI>, u32, u32, i32),
    Next,
}

/// Every hart runs the same program from its own physical copy of it, at
/// the same virtual address, with paging on, in S-mode: copies with the
/// same contents share one translation (cpu/jit.rs, `Translator::home_of`).
/// The copies may differ in one instruction, and harts rewrite an
/// instruction of some copy (their own or another hart's) through a
/// writable mapping while the others run it.
#[derive(Clone, Debug)]
struct SharedText {
    /// x1..x31 at reset.
    regs: Vec<u64>,
    /// The loop's body; `addi a1, a1, 0` is inserted at `site`.
    body: Vec<Step>,
    site: usize,
    /// Copy `.0`, if any, has its site's immediate set to `.1`.
    odd_copy: Option<(usize, i32)>,
    /// Per hart: the copy whose site it rewrites, if any, and when: at
    /// iterations i with i & mask == 0 (to `addi a1, a1, i & 0x7ff`).
    rewrites: Vec<(Option<usize>, i32)>,
}

impl SharedText {
    fn harts(&self) -> usize {
        self.rewrites.len()
    }

    /// The text (the same for every copy but `odd_copy`), and the byte
    /// offset of the rewritten instruction.
    fn code(&self) -> (Vec<u32>, u64) {
        let mut code = Vec::new();
        let mut site = 0;
        for (i, step) in self.body.iter().enumerate() {
            if i == self.site {
                site = 4 * code.len() as u64;
                code.push(asm::addi(A1, A1, 0));
            }
            code.push(match step {
                Step::Reg(op, d, a, b) => (op.enc)(*d, *a, *b),
                Step::Imm(op, d, a, imm) => (op.enc)(*d, *a, *imm),
                Step::Next => asm::jal(ZERO, 4),
            });
        }
        if self.site >= self.body.len() {
            site = 4 * code.len() as u64;
            code.push(asm::addi(A1, A1, 0));
        }
        // The tail: i += 1 in the data page; then, if the data page names
        // a site (t3 != 0) and i & mask == 0, the rewrite.
        code.extend(asm::li(T0, DATA_VA as i64));
        code.extend([
            asm::ld(T1, T0, 0),
            asm::addi(T1, T1, 1),
            asm::sd(T1, T0, 0),
            asm::ld(T3, T0, 8),
            asm::ld(T2, T0, 16),
            asm::and(T2, T1, T2),
        ]);
        let mut rewrite = vec![asm::andi(T2, T1, 0x7ff), asm::slli(T2, T2, 20)];
        rewrite.extend(asm::li(T4, asm::addi(A1, A1, 0) as i64));
        rewrite.extend([asm::or(T2, T2, T4), asm::sw(T2, T3, 0)]);
        let over = 4 * (rewrite.len() as i32 + 1);
        code.extend([asm::beq(T3, ZERO, over + 4), asm::bne(T2, ZERO, over)]);
        code.extend(rewrite);
        let back = -4 * code.len() as i32;
        code.push(asm::jal(ZERO, back));
        (code, site)
    }

    fn run(&self, mode: Mode) -> (Machine, EndState) {
        let harts = self.harts();
        let mut m = new_machine(harts, mode);
        m.config.max_cycles = Some(SHARED_TEXT_CYCLES);
        let (code, site) = self.code();
        for copy in 0..harts {
            let mut text = code.clone();
            if let Some((odd, imm)) = self.odd_copy {
                if odd == copy {
                    text[site as usize / 4] = asm::addi(A1, A1, imm);
                }
            }
            place(&mut m, TEXTS + 0x1000 * copy as u64, &text);
        }
        // Traps are not expected; should one come, the hart stops there.
        place(&mut m, HANDLER, &[asm::jal(ZERO, 0)]);
        const V: u64 = 1;
        const RX: u64 = V | 2 | 8 | 0x40; // R, X, A
        const RW: u64 = V | 2 | 4 | 0x40 | 0x80; // R, W, A, D
        let pte = |pa: u64, flags: u64| (pa >> 12) << 10 | flags;
        for h in 0..harts {
            let root = TABLES + 0x3000 * h as u64;
            let (l1, l0) = (root + 0x1000, root + 0x2000);
            m.bus.write_ram_u64(root, pte(l1, V)).unwrap();
            m.bus.write_ram_u64(l1, pte(l0, V)).unwrap();
            let data = DATAS + 0x1000 * h as u64;
            m.bus
                .write_ram_u64(l0 + 8 * (TEXT_VA >> 12), pte(TEXTS + 0x1000 * h as u64, RX))
                .unwrap();
            m.bus.write_ram_u64(l0 + 8 * (DATA_VA >> 12), pte(data, RW)).unwrap();
            for copy in 0..harts as u64 {
                let va = WINDOW + 0x1000 * copy;
                m.bus
                    .write_ram_u64(l0 + 8 * (va >> 12), pte(TEXTS + 0x1000 * copy, RW))
                    .unwrap();
            }
            let (target, mask) = self.rewrites[h];
            let target = target.map_or(0, |copy| WINDOW + 0x1000 * copy as u64 + site);
            m.bus.write_ram_u64(data + 8, target).unwrap();
            m.bus.write_ram_u64(data + 16, mask as u64).unwrap();
            let hart = &mut m.harts[h];
            hart.pc = TEXT_VA;
            hart.prv = Priv::S;
            hart.csr.satp = 8 << 60 | root >> 12;
            hart.csr.mtvec = HANDLER;
            for (r, &value) in self.regs.iter().enumerate() {
                hart.x[r + 1] = value;
            }
        }
        let exit = m.run();
        let state = end_state(&m, exit);
        (m, state)
    }
}

/// Registers a body instruction may write: all but a1 (the rewritten
/// instruction's) and t0-t4 (the tail's).
fn body_reg() -> impl Strategy<Value = u32> {
    select(vec![
        0, 1, 2, 3, 4, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 30, 31,
    ])
}

fn step() -> impl Strategy<Value = Step> {
    let regs = named!(Enc3: add, sub, sll, xor, srl, sra, or, and, addw, mul, mulh, div, remu);
    let imms = named!(EncI: addi, slti, xori, ori, andi, addiw);
    prop_oneof![
        4 => (select(regs), body_reg(), any_reg(), any_reg()).prop_map(|(op, d, a, b)| Step::Reg(op, d, a, b)),
        4 => (select(imms), body_reg(), any_reg(), imm12()).prop_map(|(op, d, a, i)| Step::Imm(op, d, a, i)),
        2 => Just(Step::Next),
    ]
}

fn shared_text() -> impl Strategy<Value = SharedText> {
    (2..=3usize, prop::collection::vec(step(), 1..40)).prop_flat_map(|(harts, body)| {
        let len = body.len();
        let rewrite = (prop::option::weighted(0.6, 0..harts), select(vec![0, 1, 3, 15, 63]));
        (
            prop::collection::vec(value(), 31),
            Just(body),
            0..=len,
            prop::option::weighted(0.3, (0..harts, 1..2048i32)),
            prop::collection::vec(rewrite, harts),
        )
            .prop_map(|(regs, body, site, odd_copy, rewrites)| SharedText {
                regs,
                body,
                site,
                odd_copy,
                rewrites,
            })
    })
}

proptest! {
    #![proptest_config(proptest_config(128))]

    /// Harts running copies of one text, which translated code shares
    /// between them while the copies are the same, end in the same state
    /// as interpreted: a rewrite of any copy, by its own hart or another,
    /// takes effect on that copy alone and at once, and copies that differ
    /// run their own code.
    #[test]
    fn copies_of_one_text_run_as_interpreted(program in shared_text(), mode in translated_mode()) {
        // The harts loop until stopped.
        let expected = agree_with_interpreter(|mode| program.run(mode), mode, ExitReason::MaxCycles)?;
        prop_assert!(expected.harts.iter().all(|h| h.prv == Priv::S), "no hart trapped: {:?}", expected.harts);
    }
}
