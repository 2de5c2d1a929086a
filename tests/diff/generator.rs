//! The program generator of the differential test, and the in-memory ELF
//! writer. Self-contained: a program is a pure function of (seed, index).
//!
//! A generated program loads its 31 x registers and its 32 f registers from
//! tables in the data segment (edge-case values: 0, -1, INT_MIN, shift
//! amounts 31/32/63/64...; for f: signed zeros, infinities, quiet and
//! signaling NaNs, subnormals, the normal limits, rounding ties, the limits
//! of conversions to integers, singles that are or are not NaN-boxed),
//! clears fcsr and sets a random rounding mode, runs a random body of
//! RV64IMAFDC instructions (all of OP, OP-IMM, OP-32, OP-IMM-32, LUI/AUIPC,
//! M, loads/stores with misaligned addresses, LR/SC, AMOs, the C forms,
//! forward branches and jumps, small counted loops, fences, counter reads
//! into x0; about `FP_PERCENT`% of the blocks are F and D: every
//! instruction of both, with all static rounding modes and the dynamic one,
//! and reads and writes of fflags, frm and fcsr), stores its x and f
//! registers and fcsr next to its data area and writes them to stdout with
//! one `write` system call. Many
//! programs are placed one after another in one ELF (a batch), which then
//! exits with status 0.
//!
//! Each program reserves two registers it picks at random: `base` holds the
//! address of its data area (every load, store and AMO address is `base` +
//! a masked offset, so stores stay inside the area) and `count` is the loop
//! counter. No instruction of the body writes them; all others, sp, gp, tp
//! and ra included, are fair game (a program never returns, and each
//! program reloads every register).

use rvmsmp::asm::{self, reg::*};
use rvmsmp::cpu::decode::{decode, Op};

/// Where the code of a batch is loaded, and its entry point.
pub const CODE_BASE: u64 = 0x1_0000;
/// Where the data segment of a batch is loaded.
pub const DATA_BASE: u64 = 0x10_0000;
/// Bytes of the data segment per program: initial registers, the dump and
/// the data area, which ends 128 bytes into the next slot, so that every
/// other program's area straddles a page boundary (and so does its output
/// buffer).
const SLOT: u64 = 2048;
/// Where the data area starts in a slot.
const AREA_AT: u64 = SLOT - 128;
/// Bytes of a program's data area.
pub const AREA: usize = 256;
/// Bytes each program writes: its index, x1..x31, f0..f31 (raw 64 bits),
/// fcsr, then its data area.
pub const RECORD: usize = DUMP_LEN + AREA;
/// The words of a record holding f0 and fcsr.
pub const F_WORD: usize = 32;
pub const FCSR_WORD: usize = 64;
/// Bytes of the dump: index, x1..x31, f0..f31, fcsr.
const DUMP_LEN: usize = 8 * (FCSR_WORD + 1);
/// Offsets from `base` (the data area) of the dump (just before the area,
/// so that one write sends both) and of the x and f register tables.
const DUMP_OFF: i32 = -(DUMP_LEN as i32);
const INIT_OFF: i32 = DUMP_OFF - 256;
const INIT_F_OFF: i32 = INIT_OFF - 256;
/// Bodies stop growing past this many bytes, so that every jump reaches
/// (c.j and the auipc-relative jalr reach +-2 KiB).
const BODY_LIMIT: usize = 1300;
/// A c.beqz/c.bnez reaches +254 bytes; open ones are closed before that.
const SHORT_REACH: usize = 250;

const ABI: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2",
    "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

/// The ABI name of register `x`.
pub fn reg_name(x: u32) -> &'static str {
    ABI[x as usize]
}

const FABI: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
    "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// The ABI name of register `f`.
pub fn freg_name(f: u32) -> &'static str {
    FABI[f as usize]
}

/// splitmix64: small, fast and good enough; the whole test is a function of its seed.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Register values worth testing: around 0, the signed and unsigned limits
/// of 64 and 32 bits, shift amounts, immediates' limits, bit patterns.
const EDGES: &[u64] = &[
    0,
    1,
    2,
    u64::MAX,
    u64::MAX - 1,
    1 << 63,
    (1 << 63) - 1,
    (1 << 63) + 1,
    0xffff_ffff_8000_0000, // i32::MIN
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0xffff_ffff_0000_0000,
    0xffff_ffff_7fff_ffff,
    0x0000_0001_8000_0000,
    0x8000_0000_7fff_ffff,
    31,
    32,
    33,
    63,
    64,
    65,
    127,
    0x7ff,
    0x800,
    0xffff_ffff_ffff_f800, // -2048
    0xfff,
    0x8000,
    0xffff,
    0x80,
    0xff,
    0x5555_5555_5555_5555,
    0xaaaa_aaaa_aaaa_aaaa,
    0x0123_4567_89ab_cdef,
];

fn value(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0..=4 => rng.pick(EDGES),
        5 => rng.range(-40, 40) as u64,
        6 => rng.next() as i32 as i64 as u64,
        7 => rng.pick(EDGES).wrapping_add(rng.range(-2, 2) as u64),
        _ => rng.next(),
    }
}

/// Single-precision bit patterns worth testing: signed zeros, infinities,
/// quiet and signaling NaNs (with payloads), subnormals, the normal limits,
/// ties for rounding to integers, and the limits of conversions to 32- and
/// 64-bit integers.
const F32_EDGES: &[u32] = &[
    0x0000_0000, // +0
    0x8000_0000, // -0
    0x7f80_0000, // +inf
    0xff80_0000, // -inf
    0x7fc0_0000, // canonical qNaN
    0xffc0_0001, // -qNaN with a payload
    0x7f80_0001, // sNaN
    0xffa0_0000, // -sNaN
    0x0000_0001, // min subnormal
    0x807f_ffff, // -max subnormal
    0x0080_0000, // min normal
    0x7f7f_ffff, // max normal
    0xff7f_ffff,
    0x3f80_0000, // 1
    0xbf80_0000, // -1
    0x3f00_0000, // 0.5
    0x3fc0_0000, // 1.5
    0x4020_0000, // 2.5
    0xbf00_0000, // -0.5
    0xbfc0_0000, // -1.5
    0xc020_0000, // -2.5
    0x3eff_ffff, // just below 0.5
    0x4b00_0001, // 2^23 + 1
    0x4b80_0000, // 2^24
    0x4eff_ffff, // just below 2^31
    0x4f00_0000, // 2^31
    0xcf00_0000, // -2^31
    0xcf00_0001, // just below -2^31
    0x4f7f_ffff, // just below 2^32
    0x4f80_0000, // 2^32
    0x5eff_ffff, // just below 2^63
    0x5f00_0000, // 2^63
    0xdf00_0000, // -2^63
    0xdf00_0001, // just below -2^63
    0x5f80_0000, // 2^64
    0x4049_0fdb, // pi
    0x3eaa_aaab, // 1/3
];

/// Double-precision bit patterns worth testing (as for [`F32_EDGES`]).
const F64_EDGES: &[u64] = &[
    0x0000_0000_0000_0000, // +0
    0x8000_0000_0000_0000, // -0
    0x7ff0_0000_0000_0000, // +inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // canonical qNaN
    0xfff8_0000_0000_0001, // -qNaN with a payload
    0x7ff0_0000_0000_0001, // sNaN
    0xfff4_0000_0000_0000, // -sNaN
    0x0000_0000_0000_0001, // min subnormal
    0x800f_ffff_ffff_ffff, // -max subnormal
    0x0010_0000_0000_0000, // min normal
    0x7fef_ffff_ffff_ffff, // max normal
    0xffef_ffff_ffff_ffff,
    0x3ff0_0000_0000_0000, // 1
    0xbff0_0000_0000_0000, // -1
    0x3fe0_0000_0000_0000, // 0.5
    0x3ff8_0000_0000_0000, // 1.5
    0x4004_0000_0000_0000, // 2.5
    0xbfe0_0000_0000_0000, // -0.5
    0xbff8_0000_0000_0000, // -1.5
    0xc004_0000_0000_0000, // -2.5
    0x3fdf_ffff_ffff_ffff, // just below 0.5
    0x41df_ffff_ffc0_0000, // 2^31 - 1
    0x41df_ffff_ffe0_0000, // 2^31 - 0.5
    0x41e0_0000_0000_0000, // 2^31
    0xc1e0_0000_0000_0000, // -2^31
    0xc1e0_0000_0010_0000, // -2^31 - 0.5
    0xc1e0_0000_0020_0000, // -2^31 - 1
    0x41ef_ffff_ffe0_0000, // 2^32 - 1
    0x41ef_ffff_fff0_0000, // 2^32 - 0.5
    0x41f0_0000_0000_0000, // 2^32
    0x43df_ffff_ffff_ffff, // just below 2^63
    0x43e0_0000_0000_0000, // 2^63
    0xc3e0_0000_0000_0000, // -2^63
    0xc3e0_0000_0000_0001, // just below -2^63 (-2^63 - 2048)
    0x43ef_ffff_ffff_ffff, // just below 2^64
    0x43f0_0000_0000_0000, // 2^64
    0x4340_0000_0000_0001, // 2^53 + 2
    0x47ef_ffff_e000_0000, // f32::MAX
    0x47ef_ffff_f000_0000, // f32::MAX + half an ulp: rounds to inf or max
    0x47f0_0000_0000_0000, // 2^128: overflows a single
    0x3810_0000_0000_0000, // f32 min normal
    0x380f_ffff_f000_0000, // rounds to the f32 min normal or below
    0x36a0_0000_0000_0000, // f32 min subnormal
    0x3690_0000_0000_0000, // half the f32 min subnormal
    0x36a8_0000_0000_0000, // 1.5 f32 min subnormals
    0x3fd5_5555_5555_5555, // 1/3
    0x4009_21fb_5444_2d18, // pi
];

/// An f register value: a NaN-boxed single or a double from the tables,
/// one of them nudged by an ulp or two, a single that is not (or not
/// quite) NaN-boxed, or random bits.
fn fvalue(rng: &mut Rng) -> u64 {
    let boxed = |s: u32| 0xffff_ffff_0000_0000 | s as u64;
    match rng.below(12) {
        0..=2 => boxed(rng.pick(F32_EDGES)),
        3..=5 => rng.pick(F64_EDGES),
        6 => boxed(rng.pick(F32_EDGES).wrapping_add(rng.range(-2, 2) as u32)),
        7 => rng.pick(F64_EDGES).wrapping_add(rng.range(-2, 2) as u64),
        // Not NaN-boxed: single-precision operations read the canonical NaN.
        8 => {
            let upper = rng.pick(&[0u64, 0xffff_fffe, 0x7fff_ffff, 0x8000_0000]);
            upper << 32 | rng.pick(F32_EDGES) as u64
        }
        9 => boxed(rng.next() as u32),
        10 => {
            // A random finite double of moderate magnitude.
            let exp = rng.range(0x3f0, 0x40f) as u64;
            (rng.next() & 0x800f_ffff_ffff_ffff) | exp << 52
        }
        _ => rng.next(),
    }
}

/// An integer to convert to floating point: the integer edges, and values
/// that are not exact in a single or a double.
fn ivalue(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => rng.pick(&[
            0x100_0001,            // 2^24 + 1
            0x100_0003,            // 2^24 + 3
            0xffff_ffff_feff_ffff, // -(2^24 + 1)
            (1 << 53) + 1,
            (1 << 53) + 3,
            0x7fff_ffff_ffff_fdff, // near 2^63 in a double
            0xffff_ff80,
            0x7fff_ffc0,
        ]),
        _ => value(rng),
    }
}

fn imm12(rng: &mut Rng) -> i32 {
    match rng.below(8) {
        0 => 0,
        1 => -1,
        2 => 2047,
        3 => -2048,
        4 => rng.range(-16, 16) as i32,
        5 => rng.pick(&[1, 31, 32, 63, 64, 0x7f, -0x80, 0x400, -0x400]),
        _ => rng.range(-2048, 2047) as i32,
    }
}

fn shamt(rng: &mut Rng, bits: u32) -> u32 {
    if rng.percent(50) {
        rng.pick(&[0, 1, 31, 32, 33, 63]) & (bits - 1)
    } else {
        rng.below(bits as u64) as u32
    }
}

fn upper_imm(rng: &mut Rng) -> i32 {
    let v = match rng.below(6) {
        0 => 0,
        1 => 0x8000_0000u32 as i32,
        2 => 0x7fff_f000,
        3 => -0x1000,
        4 => 0x1000,
        _ => rng.next() as i32,
    };
    v & !0xfff
}

/// The share (percent) of a body's blocks that are F and D instructions.
const FP_PERCENT: u64 = 30;

/// How a jump's displacement is encoded once the labels are placed.
#[derive(Clone, Copy, Debug)]
enum Rel {
    /// A B-type branch: funct3, rs1, rs2.
    Branch(u32, u32, u32),
    Jal(u32),
    CJ,
    CBeqz(u32),
    CBnez(u32),
    /// `jalr rd, rs1, target - anchor + extra` (rs1 was set by an auipc at anchor).
    Jalr {
        rd: u32,
        rs1: u32,
        anchor: usize,
        extra: i32,
    },
    /// `addi rd, rs1, target - anchor + extra` (rs1 was set by an auipc at anchor).
    Addi {
        rd: u32,
        rs1: u32,
        anchor: usize,
        extra: i32,
    },
}

impl Rel {
    fn size(self) -> usize {
        match self {
            Rel::CJ | Rel::CBeqz(_) | Rel::CBnez(_) => 2,
            _ => 4,
        }
    }
    fn is_short(self) -> bool {
        matches!(self, Rel::CBeqz(_) | Rel::CBnez(_))
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Label(usize),
    Word(u32),
    Half(u16),
    /// A displacement to the label (and from the pc, or from the anchor label).
    Rel(Rel, usize),
}

/// One instruction (or label) of a program, with its mnemonic and the text
/// the listing shows.
#[derive(Clone, Debug)]
struct Item {
    kind: Kind,
    name: &'static str,
    text: String,
}

impl Item {
    fn size(&self) -> usize {
        match &self.kind {
            Kind::Label(_) => 0,
            Kind::Word(_) => 4,
            Kind::Half(_) => 2,
            Kind::Rel(rel, _) => rel.size(),
        }
    }
}

/// A generated program.
#[derive(Clone, Debug)]
pub struct Program {
    pub index: u64,
    /// Initial register values (x0's is unused).
    pub regs: [u64; 32],
    /// Initial f register values (raw 64 bits).
    pub fregs: [u64; 32],
    /// The rounding mode in fcsr.frm at the start (fflags are clear).
    pub frm: u32,
    /// Initial contents of the data area.
    pub area: Vec<u8>,
    /// The register holding the data area's address.
    pub base: u32,
    /// The loop counter register.
    pub count: u32,
    body: Vec<Item>,
    labels: usize,
}

/// A forward jump whose target is not placed yet.
struct Open {
    label: usize,
    from: usize,
    short: bool,
}

struct Gen<'r> {
    rng: &'r mut Rng,
    base: u32,
    count: u32,
    /// The body so far, and its size in bytes.
    items: Vec<Item>,
    bytes: usize,
    /// The block being generated (a block is never split by a label).
    cur: Vec<Item>,
    labels: usize,
    open: Vec<Open>,
}

/// Encoders: registers (and a shift amount), registers and an immediate,
/// two registers, two registers to a compressed instruction.
type EncR = fn(u32, u32, u32) -> u32;
type EncI = fn(u32, u32, i32) -> u32;
type Enc2 = fn(u32, u32) -> u32;
type EncC = fn(u32, u32) -> u16;

/// The 16-bit instructions rd = rd op rs2 on x8-x15, with their names.
pub(crate) const COMPRESSED_REG_OPS: &[(&str, EncC)] = &[
    ("c.sub", asm::c_sub),
    ("c.xor", asm::c_xor),
    ("c.or", asm::c_or),
    ("c.and", asm::c_and),
    ("c.subw", asm::c_subw),
    ("c.addw", asm::c_addw),
];
type R3 = (&'static str, EncR);
type I3 = (&'static str, EncI);

const OP_REG: &[R3] = &[
    ("add", asm::add),
    ("sub", asm::sub),
    ("sll", asm::sll),
    ("slt", asm::slt),
    ("sltu", asm::sltu),
    ("xor", asm::xor),
    ("srl", asm::srl),
    ("sra", asm::sra),
    ("or", asm::or),
    ("and", asm::and),
    ("addw", asm::addw),
    ("subw", asm::subw),
    ("sllw", asm::sllw),
    ("srlw", asm::srlw),
    ("sraw", asm::sraw),
];
const OP_MUL: &[R3] = &[
    ("mul", asm::mul),
    ("mulh", asm::mulh),
    ("mulhsu", asm::mulhsu),
    ("mulhu", asm::mulhu),
    ("div", asm::div),
    ("divu", asm::divu),
    ("rem", asm::rem),
    ("remu", asm::remu),
    ("mulw", asm::mulw),
    ("divw", asm::divw),
    ("divuw", asm::divuw),
    ("remw", asm::remw),
    ("remuw", asm::remuw),
];
const OP_IMM: &[I3] = &[
    ("addi", asm::addi),
    ("slti", asm::slti),
    ("sltiu", asm::sltiu),
    ("xori", asm::xori),
    ("ori", asm::ori),
    ("andi", asm::andi),
    ("addiw", asm::addiw),
];
const SHIFT_IMM: &[(&str, EncR, u32)] = &[
    ("slli", asm::slli, 64),
    ("srli", asm::srli, 64),
    ("srai", asm::srai, 64),
    ("slliw", asm::slliw, 32),
    ("srliw", asm::srliw, 32),
    ("sraiw", asm::sraiw, 32),
];
/// Loads: name, encoder, size.
const LOADS: &[(&str, EncI, i32)] = &[
    ("lb", asm::lb, 1),
    ("lh", asm::lh, 2),
    ("lw", asm::lw, 4),
    ("ld", asm::ld, 8),
    ("lbu", asm::lbu, 1),
    ("lhu", asm::lhu, 2),
    ("lwu", asm::lwu, 4),
];
const STORES: &[(&str, EncI, i32)] = &[
    ("sb", asm::sb, 1),
    ("sh", asm::sh, 2),
    ("sw", asm::sw, 4),
    ("sd", asm::sd, 8),
];
/// AMOs: (.w name, .w encoder, .d name, .d encoder).
const AMOS: &[(&str, R3, R3)] = &[
    ("swap", ("amoswap.w", asm::amoswap_w), ("amoswap.d", asm::amoswap_d)),
    ("add", ("amoadd.w", asm::amoadd_w), ("amoadd.d", asm::amoadd_d)),
    ("xor", ("amoxor.w", asm::amoxor_w), ("amoxor.d", asm::amoxor_d)),
    ("and", ("amoand.w", asm::amoand_w), ("amoand.d", asm::amoand_d)),
    ("or", ("amoor.w", asm::amoor_w), ("amoor.d", asm::amoor_d)),
    ("min", ("amomin.w", asm::amomin_w), ("amomin.d", asm::amomin_d)),
    ("max", ("amomax.w", asm::amomax_w), ("amomax.d", asm::amomax_d)),
    ("minu", ("amominu.w", asm::amominu_w), ("amominu.d", asm::amominu_d)),
    ("maxu", ("amomaxu.w", asm::amomaxu_w), ("amomaxu.d", asm::amomaxu_d)),
];
const BRANCHES: &[(&str, u32)] = &[("beq", 0), ("bne", 1), ("blt", 4), ("bge", 5), ("bltu", 6), ("bgeu", 7)];
const COUNTERS: &[(&str, u32)] = &[("cycle", 0xc00), ("time", 0xc01), ("instret", 0xc02)];

fn suffix(aq: bool, rl: bool) -> &'static str {
    match (aq, rl) {
        (false, false) => "",
        (true, false) => ".aq",
        (false, true) => ".rl",
        (true, true) => ".aqrl",
    }
}

impl Gen<'_> {
    fn writable(&self, x: u32) -> bool {
        x != 0 && x != self.base && x != self.count
    }
    /// A destination: any register but the reserved ones, now and then x0.
    fn dst(&mut self) -> u32 {
        if self.rng.percent(3) {
            return ZERO;
        }
        self.wr()
    }
    /// A writable register other than x0.
    fn wr(&mut self) -> u32 {
        loop {
            let x = 1 + self.rng.below(31) as u32;
            if self.writable(x) {
                return x;
            }
        }
    }
    /// A writable register among x8..x15 (the 3-bit register fields of C).
    fn cwr(&mut self) -> u32 {
        loop {
            let x = 8 + self.rng.below(8) as u32;
            if self.writable(x) {
                return x;
            }
        }
    }
    fn src(&mut self) -> u32 {
        if self.rng.percent(8) {
            ZERO
        } else {
            self.rng.below(32) as u32
        }
    }
    fn csrc(&mut self) -> u32 {
        8 + self.rng.below(8) as u32
    }
    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels - 1
    }

    fn word(&mut self, name: &'static str, bits: u32, text: String) {
        self.cur.push(Item {
            kind: Kind::Word(bits),
            name,
            text,
        });
    }
    fn half(&mut self, name: &'static str, bits: u16, text: String) {
        self.cur.push(Item {
            kind: Kind::Half(bits),
            name,
            text,
        });
    }
    fn place(&mut self, label: usize) {
        self.cur.push(Item {
            kind: Kind::Label(label),
            name: "",
            text: String::new(),
        });
    }
    /// A forward jump to a label placed later in the same region.
    fn jump(&mut self, name: &'static str, rel: Rel, text: String) {
        let target = self.label();
        self.cur.push(Item {
            kind: Kind::Rel(rel, target),
            name,
            text,
        });
    }
    fn li(&mut self, rd: u32, v: u64) {
        let words = asm::li(rd, v as i64);
        let n = words.len();
        for (i, w) in words.into_iter().enumerate() {
            let text = format!("li {}, {:#x}  [{}/{}]", reg_name(rd), v, i + 1, n);
            self.word("li", w, text);
        }
    }

    /// Appends the block in `cur` to the body, first placing the targets
    /// of open short branches the block would put out of their reach.
    fn push_block(&mut self) {
        let block = std::mem::take(&mut self.cur);
        let size: usize = block.iter().map(Item::size).sum();
        let bytes = self.bytes;
        let (late, open): (Vec<Open>, Vec<Open>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|o| o.short && bytes + size - o.from > SHORT_REACH);
        self.open = open;
        for o in late {
            self.place_now(o.label);
        }
        let placed: Vec<usize> = block
            .iter()
            .filter_map(|i| match i.kind {
                Kind::Label(l) => Some(l),
                _ => None,
            })
            .collect();
        for item in block {
            // A jump is forward unless it goes back inside its block (the
            // SC's retry). For auipc+addi+c.jr the jump is 4 bytes after
            // the addi, whose reach is the larger.
            if let Kind::Rel(rel, target) = item.kind.clone() {
                if placed.contains(&target) {
                    self.bytes += item.size();
                    self.items.push(item);
                    continue;
                }
                self.open.push(Open {
                    label: target,
                    from: self.bytes,
                    short: rel.is_short(),
                });
            }
            self.bytes += item.size();
            self.items.push(item);
        }
    }
    fn place_now(&mut self, label: usize) {
        self.items.push(Item {
            kind: Kind::Label(label),
            name: "",
            text: String::new(),
        });
    }
    /// Places the targets of some of the open jumps here.
    fn boundary(&mut self) {
        let open = std::mem::take(&mut self.open);
        for o in open {
            if self.rng.percent(35) {
                self.place_now(o.label);
            } else {
                self.open.push(o);
            }
        }
    }
    fn close(&mut self, short_only: bool) {
        let open = std::mem::take(&mut self.open);
        for o in open {
            if o.short || !short_only {
                self.place_now(o.label);
            } else {
                self.open.push(o);
            }
        }
    }

    /// A region: `blocks` blocks whose forward jumps all land inside it.
    fn region(&mut self, blocks: usize, in_loop: bool) {
        let outer = std::mem::take(&mut self.open);
        for _ in 0..blocks {
            if self.bytes > BODY_LIMIT {
                break;
            }
            self.boundary();
            if !in_loop && self.rng.percent(6) {
                self.looped();
            } else {
                self.block();
                self.push_block();
            }
        }
        self.close(false);
        self.open = outer;
    }

    fn block(&mut self) {
        if self.rng.percent(FP_PERCENT) {
            return self.fp_block();
        }
        match self.rng.below(100) {
            0..=13 => self.op_reg(),
            14..=23 => self.op_mul(),
            24..=35 => self.op_imm(),
            36..=38 => self.upper(),
            39..=50 => self.mem(),
            51..=56 => self.amo(),
            57 | 58 => self.lr_sc(),
            59 => self.lone_sc(),
            60..=72 => self.c_alu(),
            73..=78 => self.c_mem(),
            79..=81 => self.misc(),
            _ => self.jumps(),
        }
    }

    /// Sets register `x` to an edge value first, if it may be written.
    fn maybe_edge(&mut self, x: u32, percent: u64) {
        if self.writable(x) && self.rng.percent(percent) {
            let v = value(self.rng);
            self.li(x, v);
        }
    }

    fn r3(&mut self, (name, f): R3, rd: u32, rs1: u32, rs2: u32) {
        let text = format!("{name} {}, {}, {}", reg_name(rd), reg_name(rs1), reg_name(rs2));
        self.word(name, f(rd, rs1, rs2), text);
    }

    fn op_reg(&mut self) {
        let op = self.rng.pick(OP_REG);
        let (rs1, rs2) = (self.src(), self.src());
        let which = if self.rng.percent(50) { rs1 } else { rs2 };
        self.maybe_edge(which, 30);
        let rd = self.dst();
        self.r3(op, rd, rs1, rs2);
    }

    fn op_mul(&mut self) {
        let op = self.rng.pick(OP_MUL);
        let (mut rs1, mut rs2) = (self.src(), self.src());
        let word = op.0.ends_with('w');
        match self.rng.below(10) {
            // Division by zero: x0 itself or a register set to 0.
            0 => rs2 = ZERO,
            1 if self.writable(rs2) => self.li(rs2, 0),
            // Signed overflow: MIN / -1.
            2 | 3 => {
                rs1 = self.wr();
                rs2 = self.wr();
                let min = if word { 0xffff_ffff_8000_0000 } else { 1 << 63 };
                self.li(rs1, min);
                if rs2 != rs1 {
                    self.li(rs2, u64::MAX);
                }
            }
            4..=6 => {
                let which = if self.rng.percent(50) { rs1 } else { rs2 };
                self.maybe_edge(which, 100);
            }
            _ => {}
        }
        let rd = self.dst();
        self.r3(op, rd, rs1, rs2);
    }

    fn op_imm(&mut self) {
        let rs1 = self.src();
        self.maybe_edge(rs1, 25);
        let rd = self.dst();
        if self.rng.percent(40) {
            let (name, f, bits) = self.rng.pick(SHIFT_IMM);
            let sh = shamt(self.rng, bits);
            let text = format!("{name} {}, {}, {sh}", reg_name(rd), reg_name(rs1));
            self.word(name, f(rd, rs1, sh), text);
        } else {
            let (name, f) = self.rng.pick(OP_IMM);
            let imm = imm12(self.rng);
            let text = format!("{name} {}, {}, {imm}", reg_name(rd), reg_name(rs1));
            self.word(name, f(rd, rs1, imm), text);
        }
    }

    fn upper(&mut self) {
        let rd = self.dst();
        let imm = upper_imm(self.rng);
        let shown = (imm as u32) >> 12;
        if self.rng.percent(50) {
            self.word("lui", asm::lui(rd, imm), format!("lui {}, {shown:#x}", reg_name(rd)));
        } else {
            self.word(
                "auipc",
                asm::auipc(rd, imm),
                format!("auipc {}, {shown:#x}", reg_name(rd)),
            );
        }
    }

    /// `t = base + (s & mask)` (+ `plus`), t a writable register; returns t.
    fn address_into(&mut self, t: u32, mask: i32, plus: i32) {
        let s = self.src();
        let (rt, rs) = (reg_name(t), reg_name(s));
        self.word("andi", asm::andi(t, s, mask), format!("andi {rt}, {rs}, {mask:#x}"));
        let b = self.base;
        if self.rng.percent(50) {
            self.word("add", asm::add(t, t, b), format!("add {rt}, {rt}, {}", reg_name(b)));
        } else {
            self.word("add", asm::add(t, b, t), format!("add {rt}, {}, {rt}", reg_name(b)));
        }
        let mut plus = plus;
        while plus != 0 {
            let step = plus.clamp(-2048, 2047);
            self.word("addi", asm::addi(t, t, step), format!("addi {rt}, {rt}, {step}"));
            plus -= step;
        }
    }

    /// Sets `t` so that `t + off` is a random place for an access of
    /// `size` bytes in the data area.
    fn address_for(&mut self, t: u32, off: i32, size: i32) {
        let p = self.rng.range(0, (128 - size) as i64) as i32;
        self.address_into(t, 127, p - off);
    }

    /// An address register and offset such that [reg+off, reg+off+size)
    /// lies in the data area; misaligned as often as not.
    fn mem_address(&mut self, size: i32) -> (u32, i32) {
        let off = match self.rng.below(10) {
            0 | 1 => return (self.base, self.rng.range(0, (AREA as i32 - size) as i64) as i32),
            2 => self.rng.pick(&[-2048, 2047, -2047, 2040, -1, 1]),
            3 | 4 => self.rng.range(-2048, 2047) as i32,
            _ => self.rng.range(-64, 127) as i32,
        };
        let t = self.wr();
        self.address_for(t, off, size);
        (t, off)
    }

    fn mem(&mut self) {
        if self.rng.percent(55) {
            let (name, f, size) = self.rng.pick(LOADS);
            let (t, off) = self.mem_address(size);
            let rd = self.dst();
            let text = format!("{name} {}, {off}({})", reg_name(rd), reg_name(t));
            self.word(name, f(rd, t, off), text);
        } else {
            let (name, f, size) = self.rng.pick(STORES);
            let rs2 = self.src();
            self.maybe_edge(rs2, 20);
            let (t, off) = self.mem_address(size);
            let text = format!("{name} {}, {off}({})", reg_name(rs2), reg_name(t));
            self.word(name, f(rs2, t, off), text);
        }
    }

    /// An aligned address for an AMO or LR/SC of `double` or word size.
    fn aligned_address(&mut self, double: bool) -> u32 {
        let t = self.wr();
        self.address_into(t, if double { 0xf8 } else { 0xfc }, 0);
        t
    }

    fn amo(&mut self) {
        let (_, w, d) = self.rng.pick(AMOS);
        let double = self.rng.percent(50);
        let (name, f) = if double { d } else { w };
        let rs2 = self.src();
        self.maybe_edge(rs2, 25);
        let t = self.aligned_address(double);
        let rd = self.dst();
        let (aq, rl) = (self.rng.percent(30), self.rng.percent(30));
        let text = format!(
            "{name}{} {}, {}, ({})",
            suffix(aq, rl),
            reg_name(rd),
            reg_name(rs2),
            reg_name(t)
        );
        self.word(name, asm::aqrl(f(rd, t, rs2), aq, rl), text);
    }

    /// `R: lr rd, (t); up to two ALU instructions; sc rd2, rs2, (t); bnez rd2, R`.
    ///
    /// rvmsmp drops reservations between quanta (and on traps), so an SC
    /// may fail where QEMU's succeeds: both are allowed, an SC may fail
    /// spuriously. Hence the retry loop, in the form the ISA guarantees to
    /// succeed eventually (base ALU instructions only, no memory access),
    /// and written so that every iteration computes the same values: no
    /// register read in the loop is written in it (but the LR's rd, which
    /// every iteration rewrites first with the same value). No store comes
    /// between the LR and the SC, and they have the same address and size:
    /// otherwise whether the SC succeeds is not specified either.
    fn lr_sc(&mut self) {
        let double = self.rng.percent(50);
        let t = self.aligned_address(double);
        let mut lr_rd = self.dst();
        while lr_rd == t {
            lr_rd = self.dst();
        }
        let ops: Vec<(R3, u32, u32)> = (0..self.rng.below(3))
            .map(|_| (self.rng.pick(OP_REG), self.src(), self.src()))
            .collect();
        let sc_rs2 = self.src();
        let mut reads: Vec<u32> = ops.iter().flat_map(|&(_, a, b)| [a, b]).collect();
        reads.extend([t, sc_rs2]);
        reads.retain(|&r| r != lr_rd);
        let (lr_name, lr, sc_name, sc): (_, Enc2, _, EncR) = if double {
            ("lr.d", asm::lr_d, "sc.d", asm::sc_d)
        } else {
            ("lr.w", asm::lr_w, "sc.w", asm::sc_w)
        };
        let retry = self.label();
        self.place(retry);
        let (aq, rl) = (self.rng.percent(30), self.rng.percent(30));
        let text = format!("{lr_name}{} {}, ({})", suffix(aq, rl), reg_name(lr_rd), reg_name(t));
        self.word(lr_name, asm::aqrl(lr(lr_rd, t), aq, rl), text);
        for (op, rs1, rs2) in ops {
            let mut rd = self.dst();
            while reads.contains(&rd) && rd != ZERO {
                rd = self.dst();
            }
            self.r3(op, rd, rs1, rs2);
        }
        let mut rd = self.wr();
        while reads.contains(&rd) {
            rd = self.wr();
        }
        let (aq, rl) = (self.rng.percent(30), self.rng.percent(30));
        let text = format!(
            "{sc_name}{} {}, {}, ({})",
            suffix(aq, rl),
            reg_name(rd),
            reg_name(sc_rs2),
            reg_name(t)
        );
        self.word(sc_name, asm::aqrl(sc(rd, t, sc_rs2), aq, rl), text);
        let (name, rel) = if (8..16).contains(&rd) && self.rng.percent(50) {
            ("c.bnez", Rel::CBnez(rd))
        } else {
            ("bne", Rel::Branch(1, rd, ZERO))
        };
        self.cur.push(Item {
            kind: Kind::Rel(rel, retry),
            name,
            text: format!("{name} {}, zero  # retry the SC", reg_name(rd)),
        });
    }

    /// An SC with no LR before it (every LR/SC pair ends with a successful
    /// SC, which drops the reservation): it must fail, storing nothing.
    fn lone_sc(&mut self) {
        let double = self.rng.percent(50);
        let t = self.aligned_address(double);
        let (rd, rs2) = (self.dst(), self.src());
        let (name, f): (_, EncR) = if double {
            ("sc.d", asm::sc_d)
        } else {
            ("sc.w", asm::sc_w)
        };
        let text = format!(
            "{name} {}, {}, ({})  # no reservation",
            reg_name(rd),
            reg_name(rs2),
            reg_name(t)
        );
        self.word(name, f(rd, t, rs2), text);
    }

    fn nz6(&mut self) -> i32 {
        loop {
            let v = self.rng.range(-32, 31) as i32;
            if v != 0 {
                return v;
            }
        }
    }

    fn c_alu(&mut self) {
        let sp_free = self.writable(SP);
        match self.rng.below(19) {
            0 => {
                let (rd, imm) = (self.wr(), self.nz6());
                self.half(
                    "c.addi",
                    asm::c_addi(rd, imm),
                    format!("c.addi {}, {imm}", reg_name(rd)),
                );
            }
            1 => {
                let (rd, imm) = (self.wr(), self.rng.range(-32, 31) as i32);
                self.half(
                    "c.addiw",
                    asm::c_addiw(rd, imm),
                    format!("c.addiw {}, {imm}", reg_name(rd)),
                );
            }
            2 => {
                let (rd, imm) = (self.wr(), self.rng.range(-32, 31) as i32);
                self.half("c.li", asm::c_li(rd, imm), format!("c.li {}, {imm}", reg_name(rd)));
            }
            3 => {
                let mut rd = self.wr();
                while rd == SP {
                    rd = self.wr();
                }
                let imm = self.nz6() << 12;
                let text = format!("c.lui {}, {:#x}", reg_name(rd), (imm >> 12) & 0xfffff);
                self.half("c.lui", asm::c_lui(rd, imm), text);
            }
            4 | 5 => {
                let rd = self.cwr();
                self.maybe_edge(rd, 30);
                let sh = 1 + shamt(self.rng, 64).clamp(0, 62);
                let (name, bits) = if self.rng.percent(50) {
                    ("c.srli", asm::c_srli(rd, sh))
                } else {
                    ("c.srai", asm::c_srai(rd, sh))
                };
                self.half(name, bits, format!("{name} {}, {sh}", reg_name(rd)));
            }
            6 => {
                let (rd, imm) = (self.cwr(), self.rng.range(-32, 31) as i32);
                self.half(
                    "c.andi",
                    asm::c_andi(rd, imm),
                    format!("c.andi {}, {imm}", reg_name(rd)),
                );
            }
            7..=10 => {
                let (rd, rs2) = (self.cwr(), self.csrc());
                self.maybe_edge(rd, 20);
                let (name, f) = self.rng.pick(COMPRESSED_REG_OPS);
                self.half(name, f(rd, rs2), format!("{name} {}, {}", reg_name(rd), reg_name(rs2)));
            }
            11 => {
                let rd = self.wr();
                let sh = 1 + shamt(self.rng, 64).clamp(0, 62);
                self.half("c.slli", asm::c_slli(rd, sh), format!("c.slli {}, {sh}", reg_name(rd)));
            }
            12 | 13 => {
                let rd = self.wr();
                let mut rs2 = self.src();
                while rs2 == 0 {
                    rs2 = self.src();
                }
                if self.rng.percent(50) {
                    self.half(
                        "c.mv",
                        asm::c_mv(rd, rs2),
                        format!("c.mv {}, {}", reg_name(rd), reg_name(rs2)),
                    );
                } else {
                    self.half(
                        "c.add",
                        asm::c_add(rd, rs2),
                        format!("c.add {}, {}", reg_name(rd), reg_name(rs2)),
                    );
                }
            }
            14 => self.half("c.nop", asm::c_nop(), "c.nop".into()),
            15 | 16 => {
                let (rd, imm) = (self.cwr(), 4 * self.rng.range(1, 255) as i32);
                let text = format!("c.addi4spn {}, sp, {imm}", reg_name(rd));
                self.half("c.addi4spn", asm::c_addi4spn(rd, imm), text);
            }
            _ if sp_free => {
                let imm = 16 * self.nz6();
                self.half("c.addi16sp", asm::c_addi16sp(imm), format!("c.addi16sp sp, {imm}"));
            }
            _ => self.half("c.nop", asm::c_nop(), "c.nop".into()),
        }
    }

    fn c_mem(&mut self) {
        let sp_form = self.writable(SP) && self.rng.percent(40);
        let double = self.rng.percent(50);
        let size = if double { 8 } else { 4 };
        // The offset fields reach 124 (c.lw), 248 (c.ld), 252 (c.lwsp), 504 (c.ldsp).
        let max = if sp_form { 63 } else { 31 };
        let n = if self.rng.percent(20) {
            max
        } else {
            self.rng.range(0, max)
        };
        let off = size * n as i32;
        let load = self.rng.percent(50);
        if sp_form {
            self.address_for(SP, off, size);
            if load {
                let rd = self.wr();
                let (name, bits) = if double {
                    ("c.ldsp", asm::c_ldsp(rd, off))
                } else {
                    ("c.lwsp", asm::c_lwsp(rd, off))
                };
                self.half(name, bits, format!("{name} {}, {off}(sp)", reg_name(rd)));
            } else {
                let rs2 = self.src();
                let (name, bits) = if double {
                    ("c.sdsp", asm::c_sdsp(rs2, off))
                } else {
                    ("c.swsp", asm::c_swsp(rs2, off))
                };
                self.half(name, bits, format!("{name} {}, {off}(sp)", reg_name(rs2)));
            }
        } else {
            let t = self.cwr();
            self.address_for(t, off, size);
            if load {
                let rd = self.cwr();
                let (name, bits) = if double {
                    ("c.ld", asm::c_ld(rd, t, off))
                } else {
                    ("c.lw", asm::c_lw(rd, t, off))
                };
                self.half(name, bits, format!("{name} {}, {off}({})", reg_name(rd), reg_name(t)));
            } else {
                let rs2 = self.csrc();
                let (name, bits) = if double {
                    ("c.sd", asm::c_sd(rs2, t, off))
                } else {
                    ("c.sw", asm::c_sw(rs2, t, off))
                };
                self.half(name, bits, format!("{name} {}, {off}({})", reg_name(rs2), reg_name(t)));
            }
        }
    }

    fn misc(&mut self) {
        match self.rng.below(8) {
            0 => {
                let (p, s) = (self.rng.below(16) as u32, self.rng.below(16) as u32);
                self.word("fence", asm::fence_sets(p, s), format!("fence {p:#06b}, {s:#06b}"));
            }
            1 => self.word("fence.tso", asm::fence_tso(), "fence.tso".into()),
            2 => self.word("fence.i", asm::fence_i(), "fence.i".into()),
            // The fields FENCE and FENCE.I do not use yet (rd, rs1, fm; the
            // immediate of FENCE.I) must be ignored.
            3 => {
                let fi = self.rng.percent(50);
                let random = self.rng.next() as u32;
                // Everything but funct3 and the opcode: fm, pred, succ, rs1, rd; imm, rs1, rd.
                let bits = (random & 0xffff_8f80) | if fi { 0x100f } else { 0x000f };
                let name = if fi { "fence.i" } else { "fence" };
                self.word(name, bits, format!("{name} (reserved fields set: {bits:#010x})"));
            }
            4 => self.hint(),
            // Counters differ between the two, so they are read into x0 only.
            5 => {
                let (name, csr) = self.rng.pick(COUNTERS);
                if self.rng.percent(50) {
                    self.word(
                        "csrrs",
                        asm::csrrs(ZERO, csr, ZERO),
                        format!("csrrs zero, {name}, zero"),
                    );
                } else {
                    self.word(
                        "csrrc",
                        asm::csrrc(ZERO, csr, ZERO),
                        format!("csrrc zero, {name}, zero"),
                    );
                }
            }
            6 => {
                let (name, csr) = self.rng.pick(COUNTERS);
                if self.rng.percent(50) {
                    self.word("csrrsi", asm::csrrsi(ZERO, csr, 0), format!("csrrsi zero, {name}, 0"));
                } else {
                    self.word("csrrci", asm::csrrci(ZERO, csr, 0), format!("csrrci zero, {name}, 0"));
                }
            }
            _ => {
                let (rd, v) = (self.wr(), value(self.rng));
                self.li(rd, v);
            }
        }
    }

    /// Encodings the ISA reserves as HINTs, which execute as no-ops.
    fn hint(&mut self) {
        let rs = self.src();
        let imm = self.nz6();
        let (name, bits, text): (&'static str, u16, String) = match self.rng.below(8) {
            0 => ("c.nop", asm::c_addi(ZERO, imm), format!("c.nop {imm}")),
            1 => ("c.li", asm::c_li(ZERO, imm), format!("c.li zero, {imm}")),
            2 => ("c.lui", asm::c_lui(ZERO, imm << 12), format!("c.lui zero, {imm}")),
            3 if rs != 0 => ("c.mv", asm::c_mv(ZERO, rs), format!("c.mv zero, {}", reg_name(rs))),
            4 if rs != 0 => ("c.add", asm::c_add(ZERO, rs), format!("c.add zero, {}", reg_name(rs))),
            5 => {
                let rd = self.wr();
                ("c.addi", asm::c_addi(rd, 0), format!("c.addi {}, 0", reg_name(rd)))
            }
            6 => {
                let rd = self.wr();
                ("c.slli", asm::c_slli(rd, 0), format!("c.slli {}, 0", reg_name(rd)))
            }
            _ => {
                let rd = self.cwr();
                if self.rng.percent(50) {
                    ("c.srli", asm::c_srli(rd, 0), format!("c.srli {}, 0", reg_name(rd)))
                } else {
                    ("c.srai", asm::c_srai(rd, 0), format!("c.srai {}, 0", reg_name(rd)))
                }
            }
        };
        self.half(name, bits, format!("{text}  # HINT"));
    }

    fn jumps(&mut self) {
        match self.rng.below(9) {
            0..=2 => {
                let (name, f3) = self.rng.pick(BRANCHES);
                let (rs1, rs2) = (self.src(), self.src());
                self.maybe_edge(rs1, 25);
                if rs2 != rs1 {
                    self.maybe_edge(rs2, 25);
                }
                let text = format!("{name} {}, {}", reg_name(rs1), reg_name(rs2));
                self.jump(name, Rel::Branch(f3, rs1, rs2), text);
            }
            3 => {
                let rs1 = self.csrc();
                if self.rng.percent(50) {
                    self.jump("c.beqz", Rel::CBeqz(rs1), format!("c.beqz {}", reg_name(rs1)));
                } else {
                    self.jump("c.bnez", Rel::CBnez(rs1), format!("c.bnez {}", reg_name(rs1)));
                }
            }
            4 => {
                let rd = self.dst();
                self.jump("jal", Rel::Jal(rd), format!("jal {}", reg_name(rd)));
            }
            5 => self.jump("c.j", Rel::CJ, "c.j".into()),
            6 | 7 => {
                // auipc t, 0; jalr rd, t, target - anchor (+1: jalr clears bit 0)
                let t = self.wr();
                let rd = self.dst();
                let anchor = self.label();
                self.place(anchor);
                self.word("auipc", asm::auipc(t, 0), format!("auipc {}, 0", reg_name(t)));
                // Moving t forward first makes jalr's offset negative.
                let bias = if self.rng.percent(40) {
                    let b = self.rng.range(1, 1024) as i32;
                    let rt = reg_name(t);
                    self.word("addi", asm::addi(t, t, b), format!("addi {rt}, {rt}, {b}"));
                    b
                } else {
                    0
                };
                let extra = self.rng.below(2) as i32 - bias;
                let rel = Rel::Jalr {
                    rd,
                    rs1: t,
                    anchor,
                    extra,
                };
                let text = format!("jalr {}, {}, L{anchor}{extra:+}", reg_name(rd), reg_name(t));
                self.jump("jalr", rel, text);
            }
            _ => {
                // auipc t, 0; addi t, t, target - anchor (+1); c.jr t / c.jalr t
                let t = self.wr();
                let anchor = self.label();
                self.place(anchor);
                self.word("auipc", asm::auipc(t, 0), format!("auipc {}, 0", reg_name(t)));
                let extra = self.rng.below(2) as i32;
                let target = self.label();
                let rel = Rel::Addi {
                    rd: t,
                    rs1: t,
                    anchor,
                    extra,
                };
                let rt = reg_name(t);
                self.cur.push(Item {
                    kind: Kind::Rel(rel, target),
                    name: "addi",
                    text: format!("addi {rt}, {rt}, L{anchor}+{extra}"),
                });
                if self.writable(RA) && self.rng.percent(50) {
                    self.half("c.jalr", asm::c_jalr(t), format!("c.jalr {rt} -> L{target}"));
                } else {
                    self.half("c.jr", asm::c_jr(t), format!("c.jr {rt} -> L{target}"));
                }
            }
        }
    }

    /// `count = n; L: region; count -= 1; bnez count, L`.
    fn looped(&mut self) {
        self.close(true);
        self.push_block();
        let n = self.rng.range(1, 4) as i32;
        let c = self.count;
        let rc = reg_name(c);
        if self.rng.percent(50) {
            self.half("c.li", asm::c_li(c, n), format!("c.li {rc}, {n}  # loop count"));
        } else {
            self.word(
                "addi",
                asm::addi(c, ZERO, n),
                format!("addi {rc}, zero, {n}  # loop count"),
            );
        }
        let top = self.label();
        self.place(top);
        self.push_block();
        let start = self.bytes;
        let blocks = self.rng.range(1, 8) as usize;
        self.region(blocks, true);
        if self.rng.percent(50) {
            self.half("c.addi", asm::c_addi(c, -1), format!("c.addi {rc}, -1"));
        } else {
            self.word("addi", asm::addi(c, c, -1), format!("addi {rc}, {rc}, -1"));
        }
        let size_so_far = self.bytes - start + 4;
        let (name, rel, text) = match self.rng.below(4) {
            0 | 1 if (8..16).contains(&c) && size_so_far < SHORT_REACH => {
                ("c.bnez", Rel::CBnez(c), format!("c.bnez {rc}"))
            }
            0 => ("bne", Rel::Branch(1, c, ZERO), format!("bne {rc}, zero")),
            1 => ("bne", Rel::Branch(1, ZERO, c), format!("bne zero, {rc}")),
            2 => ("blt", Rel::Branch(4, ZERO, c), format!("blt zero, {rc}")),
            _ => ("bltu", Rel::Branch(6, ZERO, c), format!("bltu zero, {rc}")),
        };
        self.cur.push(Item {
            kind: Kind::Rel(rel, top),
            name,
            text: format!("{text}  # loop"),
        });
        // A backward branch: append without registering it as open.
        let block = std::mem::take(&mut self.cur);
        for item in block {
            self.bytes += item.size();
            self.items.push(item);
        }
    }
}

/// F and D encoders: (rd, rs1, rs2, rm), (rd, rs1, rs2, rs3, rm), (rd, rs1, rm).
type EncF3 = fn(u32, u32, u32, u32) -> u32;
type EncF4 = fn(u32, u32, u32, u32, u32) -> u32;
type EncF2 = fn(u32, u32, u32) -> u32;
/// A pair of mnemonics and encoders: the single- and double-precision forms.
type SD<E> = ((&'static str, E), (&'static str, E));

/// Arithmetic: (single, double) for each operation.
const F_ARITH: &[SD<EncF3>] = &[
    (("fadd.s", asm::fadd_s), ("fadd.d", asm::fadd_d)),
    (("fsub.s", asm::fsub_s), ("fsub.d", asm::fsub_d)),
    (("fmul.s", asm::fmul_s), ("fmul.d", asm::fmul_d)),
    (("fdiv.s", asm::fdiv_s), ("fdiv.d", asm::fdiv_d)),
];
const F_FMA: &[SD<EncF4>] = &[
    (("fmadd.s", asm::fmadd_s), ("fmadd.d", asm::fmadd_d)),
    (("fmsub.s", asm::fmsub_s), ("fmsub.d", asm::fmsub_d)),
    (("fnmsub.s", asm::fnmsub_s), ("fnmsub.d", asm::fnmsub_d)),
    (("fnmadd.s", asm::fnmadd_s), ("fnmadd.d", asm::fnmadd_d)),
];
/// f, f -> f, no rounding mode.
const F_SIGN_MINMAX: &[SD<EncR>] = &[
    (("fsgnj.s", asm::fsgnj_s), ("fsgnj.d", asm::fsgnj_d)),
    (("fsgnjn.s", asm::fsgnjn_s), ("fsgnjn.d", asm::fsgnjn_d)),
    (("fsgnjx.s", asm::fsgnjx_s), ("fsgnjx.d", asm::fsgnjx_d)),
    (("fmin.s", asm::fmin_s), ("fmin.d", asm::fmin_d)),
    (("fmax.s", asm::fmax_s), ("fmax.d", asm::fmax_d)),
];
/// f, f -> x.
const F_CMP: &[SD<EncR>] = &[
    (("feq.s", asm::feq_s), ("feq.d", asm::feq_d)),
    (("flt.s", asm::flt_s), ("flt.d", asm::flt_d)),
    (("fle.s", asm::fle_s), ("fle.d", asm::fle_d)),
];
/// f -> x with a rounding mode.
const F_TO_INT: &[SD<EncF2>] = &[
    (("fcvt.w.s", asm::fcvt_w_s), ("fcvt.w.d", asm::fcvt_w_d)),
    (("fcvt.wu.s", asm::fcvt_wu_s), ("fcvt.wu.d", asm::fcvt_wu_d)),
    (("fcvt.l.s", asm::fcvt_l_s), ("fcvt.l.d", asm::fcvt_l_d)),
    (("fcvt.lu.s", asm::fcvt_lu_s), ("fcvt.lu.d", asm::fcvt_lu_d)),
];
/// x -> f with a rounding mode.
const F_FROM_INT: &[SD<EncF2>] = &[
    (("fcvt.s.w", asm::fcvt_s_w), ("fcvt.d.w", asm::fcvt_d_w)),
    (("fcvt.s.wu", asm::fcvt_s_wu), ("fcvt.d.wu", asm::fcvt_d_wu)),
    (("fcvt.s.l", asm::fcvt_s_l), ("fcvt.d.l", asm::fcvt_d_l)),
    (("fcvt.s.lu", asm::fcvt_s_lu), ("fcvt.d.lu", asm::fcvt_d_lu)),
];
/// The floating-point CSRs.
const FFLAGS: u32 = 0x001;
const FRM: u32 = 0x002;
const FCSR: u32 = 0x003;
const F_CSRS: &[(&str, u32)] = &[("fflags", FFLAGS), ("frm", FRM), ("fcsr", FCSR)];
const RM_NAMES: [&str; 8] = ["rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"];

/// The compressed double-precision loads and stores: c.ld, c.sd, c.ldsp and
/// c.sdsp with funct3 1 (loads) or 5 (stores) instead of 3 or 7.
fn c_fp(bits: u16, f3: u16) -> u16 {
    (bits & !0xe000) | f3 << 13
}

impl Gen<'_> {
    fn fsrc(&mut self) -> u32 {
        self.rng.below(32) as u32
    }
    /// A rounding mode: static ones (all five) or dynamic (fcsr.frm).
    fn rm(&mut self) -> u32 {
        if self.rng.percent(40) {
            asm::rm::DYN
        } else {
            self.rng.below(5) as u32
        }
    }
    /// Sets f register `f` to an edge value (through an x register and
    /// fmv.w.x or fmv.d.x), now and then.
    fn maybe_fedge(&mut self, f: u32, single: bool, percent: u64) {
        if !self.rng.percent(percent) {
            return;
        }
        let t = self.wr();
        let rt = reg_name(t);
        if single && self.rng.percent(85) {
            let v = if self.rng.percent(80) {
                self.rng.pick(F32_EDGES)
            } else {
                self.rng.next() as u32
            };
            self.li(t, v as i32 as i64 as u64);
            let text = format!("fmv.w.x {}, {rt}  # {v:#010x}", freg_name(f));
            self.word("fmv.w.x", asm::fmv_w_x(f, t), text);
        } else {
            // For a single-precision operation: a value that is not NaN-boxed.
            let v = fvalue(self.rng);
            self.li(t, v);
            let text = format!("fmv.d.x {}, {rt}  # {v:#018x}", freg_name(f));
            self.word("fmv.d.x", asm::fmv_d_x(f, t), text);
        }
    }

    fn fp_block(&mut self) {
        match self.rng.below(100) {
            0..=8 => self.fp_mem(),
            9..=13 => self.c_fp_mem(),
            14..=23 => self.fp_fma(),
            24..=39 => self.fp_arith(),
            40..=47 => self.fp_sign_minmax(),
            48..=59 => self.fp_to_int(),
            60..=67 => self.fp_from_int(),
            68..=72 => self.fp_convert(),
            73..=79 => self.fp_move_class(),
            80..=86 => self.fp_compare(),
            87..=95 => self.fp_csr(),
            _ => {
                let f = self.fsrc();
                let single = self.rng.percent(50);
                self.maybe_fedge(f, single, 100);
            }
        }
    }

    fn fp_mem(&mut self) {
        let double = self.rng.percent(50);
        let size = if double { 8 } else { 4 };
        let (t, off) = self.mem_address(size);
        let f = self.fsrc();
        let (name, bits) = match (self.rng.percent(50), double) {
            (true, false) => ("flw", asm::flw(f, t, off)),
            (true, true) => ("fld", asm::fld(f, t, off)),
            (false, false) => ("fsw", asm::fsw(f, t, off)),
            (false, true) => ("fsd", asm::fsd(f, t, off)),
        };
        self.word(name, bits, format!("{name} {}, {off}({})", freg_name(f), reg_name(t)));
    }

    fn c_fp_mem(&mut self) {
        let sp_form = self.writable(SP) && self.rng.percent(40);
        let max = if sp_form { 63 } else { 31 };
        let n = if self.rng.percent(20) {
            max
        } else {
            self.rng.range(0, max)
        };
        let off = 8 * n as i32;
        let load = self.rng.percent(50);
        if sp_form {
            self.address_for(SP, off, 8);
            let f = self.fsrc();
            let (name, bits) = if load {
                ("c.fldsp", c_fp(asm::c_ldsp(f, off), 1))
            } else {
                ("c.fsdsp", c_fp(asm::c_sdsp(f, off), 5))
            };
            self.half(name, bits, format!("{name} {}, {off}(sp)", freg_name(f)));
        } else {
            let t = self.cwr();
            self.address_for(t, off, 8);
            let f = 8 + self.rng.below(8) as u32;
            let (name, bits) = if load {
                ("c.fld", c_fp(asm::c_ld(f, t, off), 1))
            } else {
                ("c.fsd", c_fp(asm::c_sd(f, t, off), 5))
            };
            self.half(name, bits, format!("{name} {}, {off}({})", freg_name(f), reg_name(t)));
        }
    }

    fn fp_fma(&mut self) {
        let double = self.rng.percent(50);
        let (s, d) = self.rng.pick(F_FMA);
        let (name, f) = if double { d } else { s };
        let (rs1, rs2, rs3) = (self.fsrc(), self.fsrc(), self.fsrc());
        if self.rng.percent(15) {
            // inf * 0 + c, c a NaN now and then.
            let (a, b) = if self.rng.percent(50) { (rs1, rs2) } else { (rs2, rs1) };
            self.fset(a, double, if double { 0x7ff0_0000_0000_0000 } else { 0x7f80_0000 });
            if b != a {
                self.fset(b, double, 0);
            }
        } else {
            for r in [rs1, rs2, rs3] {
                self.maybe_fedge(r, !double, 20);
            }
        }
        let (rd, rm) = (self.fsrc(), self.rm());
        let text = format!(
            "{name} {}, {}, {}, {}, {}",
            freg_name(rd),
            freg_name(rs1),
            freg_name(rs2),
            freg_name(rs3),
            RM_NAMES[rm as usize]
        );
        self.word(name, f(rd, rs1, rs2, rs3, rm), text);
    }

    /// `li t, bits; fmv.d.x f, t` (or fmv.w.x for a single).
    fn fset(&mut self, f: u32, double: bool, bits: u64) {
        let t = self.wr();
        self.li(t, if double { bits } else { bits as u32 as i32 as i64 as u64 });
        let (name, w) = if double {
            ("fmv.d.x", asm::fmv_d_x(f, t))
        } else {
            ("fmv.w.x", asm::fmv_w_x(f, t))
        };
        self.word(
            name,
            w,
            format!("{name} {}, {}  # {bits:#x}", freg_name(f), reg_name(t)),
        );
    }

    fn fp_arith(&mut self) {
        let double = self.rng.percent(50);
        let (rs1, rs2) = (self.fsrc(), self.fsrc());
        self.maybe_fedge(rs1, !double, 25);
        let (rd, rm) = (self.fsrc(), self.rm());
        let r = RM_NAMES[rm as usize];
        if self.rng.percent(20) {
            let (name, f): (_, EncF2) = if double {
                ("fsqrt.d", asm::fsqrt_d)
            } else {
                ("fsqrt.s", asm::fsqrt_s)
            };
            let text = format!("{name} {}, {}, {r}", freg_name(rd), freg_name(rs1));
            self.word(name, f(rd, rs1, rm), text);
            return;
        }
        self.maybe_fedge(rs2, !double, 25);
        let (s, d) = self.rng.pick(F_ARITH);
        let (name, f) = if double { d } else { s };
        let text = format!("{name} {}, {}, {}, {r}", freg_name(rd), freg_name(rs1), freg_name(rs2));
        self.word(name, f(rd, rs1, rs2, rm), text);
    }

    fn fp_sign_minmax(&mut self) {
        let double = self.rng.percent(50);
        let (s, d) = self.rng.pick(F_SIGN_MINMAX);
        let (name, f) = if double { d } else { s };
        let rs1 = self.fsrc();
        let rs2 = if self.rng.percent(15) { rs1 } else { self.fsrc() };
        self.maybe_fedge(rs1, !double, 25);
        self.maybe_fedge(rs2, !double, 25);
        let rd = self.fsrc();
        let text = format!("{name} {}, {}, {}", freg_name(rd), freg_name(rs1), freg_name(rs2));
        self.word(name, f(rd, rs1, rs2), text);
    }

    fn fp_compare(&mut self) {
        let double = self.rng.percent(50);
        let (s, d) = self.rng.pick(F_CMP);
        let (name, f) = if double { d } else { s };
        let rs1 = self.fsrc();
        let rs2 = if self.rng.percent(10) { rs1 } else { self.fsrc() };
        self.maybe_fedge(rs1, !double, 25);
        self.maybe_fedge(rs2, !double, 25);
        let rd = self.dst();
        let text = format!("{name} {}, {}, {}", reg_name(rd), freg_name(rs1), freg_name(rs2));
        self.word(name, f(rd, rs1, rs2), text);
    }

    fn fp_to_int(&mut self) {
        let double = self.rng.percent(50);
        let (s, d) = self.rng.pick(F_TO_INT);
        let (name, f) = if double { d } else { s };
        let rs1 = self.fsrc();
        self.maybe_fedge(rs1, !double, 40);
        let (rd, rm) = (self.dst(), self.rm());
        let text = format!("{name} {}, {}, {}", reg_name(rd), freg_name(rs1), RM_NAMES[rm as usize]);
        self.word(name, f(rd, rs1, rm), text);
    }

    fn fp_from_int(&mut self) {
        let double = self.rng.percent(50);
        let (s, d) = self.rng.pick(F_FROM_INT);
        let (name, f) = if double { d } else { s };
        let rs1 = self.src();
        if self.writable(rs1) && self.rng.percent(40) {
            let v = ivalue(self.rng);
            self.li(rs1, v);
        }
        let (rd, rm) = (self.fsrc(), self.rm());
        let text = format!("{name} {}, {}, {}", freg_name(rd), reg_name(rs1), RM_NAMES[rm as usize]);
        self.word(name, f(rd, rs1, rm), text);
    }

    /// fcvt.s.d and fcvt.d.s.
    fn fp_convert(&mut self) {
        let to_single = self.rng.percent(50);
        let rs1 = self.fsrc();
        self.maybe_fedge(rs1, !to_single, 40);
        let (rd, rm) = (self.fsrc(), self.rm());
        let (name, f): (_, EncF2) = if to_single {
            ("fcvt.s.d", asm::fcvt_s_d)
        } else {
            ("fcvt.d.s", asm::fcvt_d_s)
        };
        let text = format!(
            "{name} {}, {}, {}",
            freg_name(rd),
            freg_name(rs1),
            RM_NAMES[rm as usize]
        );
        self.word(name, f(rd, rs1, rm), text);
    }

    /// fmv.x.w, fmv.x.d, fmv.w.x, fmv.d.x, fclass.s, fclass.d.
    fn fp_move_class(&mut self) {
        match self.rng.below(6) {
            0..=3 => {
                let double = self.rng.percent(50);
                let class = self.rng.percent(50);
                let rs1 = self.fsrc();
                self.maybe_fedge(rs1, !double, 30);
                let rd = self.dst();
                let (name, f): (_, Enc2) = match (class, double) {
                    (false, false) => ("fmv.x.w", asm::fmv_x_w),
                    (false, true) => ("fmv.x.d", asm::fmv_x_d),
                    (true, false) => ("fclass.s", asm::fclass_s),
                    (true, true) => ("fclass.d", asm::fclass_d),
                };
                self.word(name, f(rd, rs1), format!("{name} {}, {}", reg_name(rd), freg_name(rs1)));
            }
            _ => {
                let rs1 = self.src();
                self.maybe_edge(rs1, 20);
                let rd = self.fsrc();
                let (name, f): (_, Enc2) = if self.rng.percent(50) {
                    ("fmv.w.x", asm::fmv_w_x)
                } else {
                    ("fmv.d.x", asm::fmv_d_x)
                };
                self.word(name, f(rd, rs1), format!("{name} {}, {}", freg_name(rd), reg_name(rs1)));
            }
        }
    }

    /// Reads and writes of fflags, frm and fcsr. frm always holds a valid
    /// rounding mode when a dynamic-mode instruction runs.
    fn fp_csr(&mut self) {
        let rd = self.dst();
        let valid = self.rng.below(5);
        match self.rng.below(9) {
            // fsrm, fscsr with a register (bits above the field are ignored).
            0 | 1 => {
                let t = self.wr();
                let (name, csr) = self.rng.pick(&[("frm", FRM), ("fcsr", FCSR)]);
                let shift = if csr == FRM { 0 } else { 5 };
                let mut v = (self.rng.next() & !(7 << shift)) | valid << shift;
                if self.rng.percent(50) {
                    v &= 0xff;
                }
                self.li(t, v);
                let text = format!("csrrw {}, {name}, {}", reg_name(rd), reg_name(t));
                self.word("csrrw", asm::csrrw(rd, csr, t), text);
            }
            // fsrmi.
            2 => {
                let text = format!("csrrwi {}, frm, {valid}", reg_name(rd));
                self.word("csrrwi", asm::csrrwi(rd, FRM, valid as u32), text);
            }
            // fsflags with any register.
            3 => {
                let rs = self.src();
                let text = format!("csrrw {}, fflags, {}", reg_name(rd), reg_name(rs));
                self.word("csrrw", asm::csrrw(rd, FFLAGS, rs), text);
            }
            // Setting or clearing fflags bits; clearing frm or fcsr bits
            // (which leaves a valid rounding mode valid).
            4 | 5 => {
                let (cname, csr) = self.rng.pick(F_CSRS);
                let set = csr == FFLAGS && self.rng.percent(50);
                if self.rng.percent(50) {
                    let imm = self.rng.below(32) as u32;
                    let (name, bits) = if set {
                        ("csrrsi", asm::csrrsi(rd, csr, imm))
                    } else {
                        ("csrrci", asm::csrrci(rd, csr, imm))
                    };
                    self.word(name, bits, format!("{name} {}, {cname}, {imm}", reg_name(rd)));
                } else {
                    let rs = self.src();
                    let (name, bits) = if set {
                        ("csrrs", asm::csrrs(rd, csr, rs))
                    } else {
                        ("csrrc", asm::csrrc(rd, csr, rs))
                    };
                    self.word(
                        name,
                        bits,
                        format!("{name} {}, {cname}, {}", reg_name(rd), reg_name(rs)),
                    );
                }
            }
            // frflags, frrm, frcsr.
            6 | 7 => {
                let (cname, csr) = self.rng.pick(F_CSRS);
                let text = format!("csrrs {}, {cname}, zero", reg_name(rd));
                self.word("csrrs", asm::csrrs(rd, csr, ZERO), text);
            }
            // frm holds an invalid mode for a moment: it reads back as written.
            _ => {
                let bad = self.rng.range(5, 7) as u32;
                let text = format!("csrrwi {}, frm, {bad}  # invalid mode", reg_name(rd));
                self.word("csrrwi", asm::csrrwi(rd, FRM, bad), text);
                let rd2 = self.dst();
                let (cname, csr) = self.rng.pick(&[("frm", FRM), ("fcsr", FCSR)]);
                let text = format!("csrrs {}, {cname}, zero", reg_name(rd2));
                self.word("csrrs", asm::csrrs(rd2, csr, ZERO), text);
                let text = format!("csrrwi zero, frm, {valid}");
                self.word("csrrwi", asm::csrrwi(ZERO, FRM, valid as u32), text);
            }
        }
    }
}

/// The seed of program `index` of a run: programs are independent of how
/// they are batched.
fn program_seed(seed: u64, index: u64) -> u64 {
    Rng::new(seed ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03)).next()
}

impl Program {
    pub fn generate(seed: u64, index: u64) -> Program {
        let mut rng = Rng::new(program_seed(seed, index));
        let base = 1 + rng.below(31) as u32;
        let count = loop {
            let c = 1 + rng.below(31) as u32;
            if c != base {
                break c;
            }
        };
        let mut regs = [0u64; 32];
        for r in regs.iter_mut().skip(1) {
            *r = value(&mut rng);
        }
        let mut fregs = [0u64; 32];
        for f in fregs.iter_mut() {
            *f = fvalue(&mut rng);
        }
        let frm = rng.below(5) as u32;
        let mut area = vec![0u8; AREA];
        for chunk in area.chunks_mut(8) {
            let v = if rng.percent(30) { value(&mut rng) } else { rng.next() };
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        let blocks = rng.range(8, 50) as usize;
        let mut g = Gen {
            rng: &mut rng,
            base,
            count,
            items: Vec::new(),
            bytes: 0,
            cur: Vec::new(),
            labels: 0,
            open: Vec::new(),
        };
        g.region(blocks, false);
        assert!(g.cur.is_empty());
        Program {
            index,
            regs,
            fregs,
            frm,
            area,
            base,
            count,
            labels: g.labels,
            body: g.items,
        }
    }

    /// The mnemonics of the body, one per instruction.
    pub fn mnemonics(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.body.iter().filter(|i| !i.name.is_empty()).map(|i| i.name)
    }

    /// The whole program: load the registers, the body, dump and write.
    fn items(&self, slot: u64) -> Vec<Item> {
        let b = self.base;
        let rb = reg_name(b);
        let word = |name: &'static str, bits: u32, text: String| Item {
            kind: Kind::Word(bits),
            name,
            text,
        };
        let area = slot + AREA_AT;
        let mut out: Vec<Item> = asm::li(b, area as i64)
            .into_iter()
            .map(|w| word("li", w, format!("li {rb}, {area:#x}  # the data area")))
            .collect();
        for f in 0..32 {
            let off = INIT_F_OFF + 8 * f as i32;
            out.push(word(
                "fld",
                asm::fld(f, b, off),
                format!("fld {}, {off}({rb})  # = {:#x}", freg_name(f), self.fregs[f as usize]),
            ));
        }
        // fscsr zero: this program's flags are its own; then its rounding mode.
        out.push(word(
            "csrrw",
            asm::csrrw(ZERO, FCSR, ZERO),
            "csrrw zero, fcsr, zero".into(),
        ));
        if self.frm != 0 {
            let text = format!("csrrwi zero, frm, {}  # {}", self.frm, RM_NAMES[self.frm as usize]);
            out.push(word("csrrwi", asm::csrrwi(ZERO, FRM, self.frm), text));
        }
        for r in (1..32).filter(|&r| r != b) {
            let off = INIT_OFF + 8 * r as i32;
            out.push(word(
                "ld",
                asm::ld(r, b, off),
                format!("ld {}, {off}({rb})  # = {:#x}", reg_name(r), self.regs[r as usize]),
            ));
        }
        out.extend(self.body.iter().cloned());
        for r in 1..32 {
            let off = DUMP_OFF + 8 * r as i32;
            out.push(word(
                "sd",
                asm::sd(r, b, off),
                format!("sd {}, {off}({rb})", reg_name(r)),
            ));
        }
        for f in 0..32 {
            let off = DUMP_OFF + 8 * (F_WORD as i32 + f as i32);
            out.push(word(
                "fsd",
                asm::fsd(f, b, off),
                format!("fsd {}, {off}({rb})", freg_name(f)),
            ));
        }
        let t = if b == A0 { A1 } else { A0 };
        let rt = reg_name(t);
        out.push(word("csrrs", asm::csrr(t, FCSR), format!("csrrs {rt}, fcsr, zero")));
        let off = DUMP_OFF + 8 * FCSR_WORD as i32;
        out.push(word("sd", asm::sd(t, b, off), format!("sd {rt}, {off}({rb})  # fcsr")));
        out.push(word(
            "addi",
            asm::addi(A1, b, DUMP_OFF),
            format!("addi a1, {rb}, {DUMP_OFF}"),
        ));
        let len = RECORD as i32;
        out.push(word("addi", asm::addi(A2, ZERO, len), format!("addi a2, zero, {len}")));
        out.push(word(
            "addi",
            asm::addi(A7, ZERO, 64),
            "addi a7, zero, 64  # write".into(),
        ));
        out.push(word("addi", asm::addi(A0, ZERO, 1), "addi a0, zero, 1".into()));
        out.push(word("ecall", asm::ecall(), "ecall".into()));
        out
    }

    /// Machine code for the program placed at `pc` with its data at `slot`,
    /// and, if asked, a listing.
    pub fn assemble(&self, pc: u64, slot: u64, mut listing: Option<&mut Vec<String>>) -> Vec<u8> {
        let items = self.items(slot);
        let mut at = vec![usize::MAX; self.labels];
        let mut off = 0;
        for item in &items {
            if let Kind::Label(l) = item.kind {
                at[l] = off;
            }
            off += item.size();
        }
        let mut code = Vec::with_capacity(off);
        for item in &items {
            let here = code.len();
            let addr = pc + here as u64;
            let (bits, size) = match item.kind {
                Kind::Label(l) => {
                    if let Some(lines) = listing.as_deref_mut() {
                        lines.push(format!("L{l}:"));
                    }
                    continue;
                }
                Kind::Word(w) => (w, 4),
                Kind::Half(h) => (h as u32, 2),
                Kind::Rel(rel, target) => {
                    assert_ne!(at[target], usize::MAX, "program {}: L{target} never placed", self.index);
                    let to = at[target] as i64;
                    let disp = (to - here as i64) as i32;
                    let fits = |lo: i32, hi: i32| {
                        assert!(
                            (lo..=hi).contains(&disp),
                            "program {}: {rel:?}: {disp} out of reach",
                            self.index
                        )
                    };
                    let bits = match rel {
                        Rel::Branch(f3, rs1, rs2) => {
                            fits(-4096, 4094);
                            asm::b_type(f3, rs1, rs2, disp)
                        }
                        Rel::Jal(rd) => asm::jal(rd, disp),
                        Rel::CJ => {
                            fits(-2048, 2046);
                            asm::c_j(disp) as u32
                        }
                        Rel::CBeqz(rs1) => {
                            fits(-256, 254);
                            asm::c_beqz(rs1, disp) as u32
                        }
                        Rel::CBnez(rs1) => {
                            fits(-256, 254);
                            asm::c_bnez(rs1, disp) as u32
                        }
                        Rel::Jalr { rd, rs1, anchor, extra } | Rel::Addi { rd, rs1, anchor, extra } => {
                            let imm = (to - at[anchor] as i64) as i32 + extra;
                            assert!(
                                (-2048..2048).contains(&imm),
                                "program {}: {rel:?}: {imm} out of reach",
                                self.index
                            );
                            if matches!(rel, Rel::Jalr { .. }) {
                                asm::jalr(rd, rs1, imm)
                            } else {
                                asm::addi(rd, rs1, imm)
                            }
                        }
                    };
                    (bits, rel.size())
                }
            };
            if let Some(lines) = listing.as_deref_mut() {
                let mut line = if size == 4 {
                    format!("{addr:#07x}: {bits:08x}      {}", item.text)
                } else {
                    format!("{addr:#07x}: {bits:04x}          {}", item.text)
                };
                if let Kind::Rel(_, target) = item.kind {
                    line += &format!(" -> L{target} ({:#x})", pc + at[target] as u64);
                }
                lines.push(line);
            }
            code.extend_from_slice(&bits.to_le_bytes()[..size]);
        }
        code
    }

    /// Fills in the program's part of the data segment, whose slot starts
    /// at `slot`: its register table, the dump (its first word is the
    /// program's index) and its data area.
    fn fill_slot(&self, data: &mut [u8], slot: usize) {
        let area = slot + AREA_AT as usize;
        let init = (area as isize + INIT_OFF as isize) as usize;
        let dump = (area as isize + DUMP_OFF as isize) as usize;
        for (r, v) in self.regs.iter().enumerate() {
            data[init + 8 * r..init + 8 * r + 8].copy_from_slice(&v.to_le_bytes());
        }
        let finit = (area as isize + INIT_F_OFF as isize) as usize;
        for (f, v) in self.fregs.iter().enumerate() {
            data[finit + 8 * f..finit + 8 * f + 8].copy_from_slice(&v.to_le_bytes());
        }
        data[dump..dump + 8].copy_from_slice(&self.index.to_le_bytes());
        data[area..area + AREA].copy_from_slice(&self.area);
    }
}

/// Programs placed one after another in one ELF.
pub struct Batch {
    pub programs: Vec<Program>,
    /// Where each program's code starts.
    pub starts: Vec<u64>,
    pub elf: Vec<u8>,
    code_len: usize,
}

impl Batch {
    pub fn new(seed: u64, first: u64, count: u64) -> Batch {
        let programs: Vec<Program> = (first..first + count).map(|i| Program::generate(seed, i)).collect();
        let mut code = Vec::new();
        let mut data = vec![0; programs.len() * SLOT as usize + AREA];
        let mut starts = Vec::new();
        for (k, p) in programs.iter().enumerate() {
            let pc = CODE_BASE + code.len() as u64;
            starts.push(pc);
            code.extend(p.assemble(pc, Batch::slot(k), None));
            p.fill_slot(&mut data, k * SLOT as usize);
        }
        for w in [asm::addi(A0, ZERO, 0), asm::addi(A7, ZERO, 93), asm::ecall()] {
            code.extend_from_slice(&w.to_le_bytes());
        }
        assert!(
            CODE_BASE + (code.len() as u64) < DATA_BASE,
            "too many programs in one batch"
        );
        Batch {
            programs,
            starts,
            elf: elf(&code, &data),
            code_len: code.len(),
        }
    }

    fn slot(k: usize) -> u64 {
        DATA_BASE + k as u64 * SLOT
    }

    /// The listing of the `k`th program, as placed in this batch.
    pub fn listing(&self, k: usize) -> Vec<String> {
        let mut lines = Vec::new();
        self.programs[k].assemble(self.starts[k], Batch::slot(k), Some(&mut lines));
        lines
    }

    /// Every instruction of the batch: its bits as fetched.
    fn instructions(&self) -> Vec<u32> {
        let code = &self.elf[0x1000..0x1000 + self.code_len];
        let mut out = Vec::new();
        let mut at = 0;
        while at + 2 <= code.len() {
            let lo = u16::from_le_bytes([code[at], code[at + 1]]) as u32;
            let bits = if lo & 3 == 3 && at + 4 <= code.len() {
                lo | (u16::from_le_bytes([code[at + 2], code[at + 3]]) as u32) << 16
            } else {
                lo
            };
            out.push(bits);
            at += decode(bits).len as usize;
        }
        out
    }

    /// Every instruction of the batch as rvmsmp decodes it (for coverage).
    pub fn decoded_ops(&self) -> Vec<Op> {
        self.instructions().into_iter().map(|bits| decode(bits).op).collect()
    }

    /// How many of the batch's F and D instructions with a rounding-mode
    /// field have each value of it (7: dynamic).
    pub fn rounding_modes(&self) -> [u64; 8] {
        let mut modes = [0; 8];
        for bits in self.instructions() {
            // FMA opcodes; OP-FP add, sub, mul, div, sqrt, fcvt (f-f, f-x, x-f).
            let rounds = match bits & 0x7f {
                0x43 | 0x47 | 0x4b | 0x4f => true,
                0x53 => matches!(bits >> 27, 0x00..=0x03 | 0x0b | 0x08 | 0x18 | 0x1a),
                _ => false,
            };
            if rounds {
                modes[(bits >> 12 & 7) as usize] += 1;
            }
        }
        modes
    }
}

/// A static RV64 executable: the code at CODE_BASE (read, execute; the
/// entry), the data at DATA_BASE (read, write).
pub fn elf(code: &[u8], data: &[u8]) -> Vec<u8> {
    const PAGE: u64 = 0x1000;
    let code_off = PAGE;
    let data_off = (code_off + code.len() as u64).next_multiple_of(PAGE);
    let mut f = Vec::with_capacity((data_off as usize) + data.len());
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    f.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    f.extend_from_slice(&CODE_BASE.to_le_bytes()); // e_entry
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&1u32.to_le_bytes()); // e_flags: EF_RISCV_RVC, soft-float ABI
    for half in [64u16, 56, 2, 64, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        f.extend_from_slice(&half.to_le_bytes());
    }
    let segments = [
        (5u32, code_off, CODE_BASE, code.len()),
        (6, data_off, DATA_BASE, data.len()),
    ];
    for (flags, offset, vaddr, size) in segments {
        f.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f.extend_from_slice(&flags.to_le_bytes()); // PF_R | PF_X, PF_R | PF_W
        for v in [offset, vaddr, vaddr, size as u64, size as u64, PAGE] {
            f.extend_from_slice(&v.to_le_bytes());
        }
    }
    f.resize(code_off as usize, 0);
    f.extend_from_slice(code);
    f.resize(data_off as usize, 0);
    f.extend_from_slice(data);
    f
}
