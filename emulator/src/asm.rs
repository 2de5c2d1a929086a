//! A tiny assembler: one function per instruction, returning its 32-bit
//! encoding. The RVC expander builds its results with these, and tests use
//! them so that hand-written guest code reads like assembly:
//! `asm::addi(A0, ZERO, 5)`.
//!
//! Register arguments are register numbers (`u32`, 0..=31); immediates are
//! given as the signed value the instruction adds, already scaled (a branch
//! offset is in bytes). Bits of an immediate that do not fit are dropped, as
//! an assembler with no range check would.

#![allow(clippy::too_many_arguments)]

/// ABI register names, for readable tests.
pub mod reg {
    pub const ZERO: u32 = 0;
    pub const RA: u32 = 1;
    pub const SP: u32 = 2;
    pub const GP: u32 = 3;
    pub const TP: u32 = 4;
    pub const T0: u32 = 5;
    pub const T1: u32 = 6;
    pub const T2: u32 = 7;
    pub const S0: u32 = 8;
    pub const S1: u32 = 9;
    pub const A0: u32 = 10;
    pub const A1: u32 = 11;
    pub const A2: u32 = 12;
    pub const A3: u32 = 13;
    pub const A4: u32 = 14;
    pub const A5: u32 = 15;
    pub const A6: u32 = 16;
    pub const A7: u32 = 17;
    pub const S2: u32 = 18;
    pub const S3: u32 = 19;
    pub const S4: u32 = 20;
    pub const S5: u32 = 21;
    pub const S6: u32 = 22;
    pub const S7: u32 = 23;
    pub const S8: u32 = 24;
    pub const S9: u32 = 25;
    pub const S10: u32 = 26;
    pub const S11: u32 = 27;
    pub const T3: u32 = 28;
    pub const T4: u32 = 29;
    pub const T5: u32 = 30;
    pub const T6: u32 = 31;
}

/// Major opcodes (bits 6:0).
pub mod opcode {
    pub const LOAD: u32 = 0x03;
    pub const LOAD_FP: u32 = 0x07;
    pub const MISC_MEM: u32 = 0x0f;
    pub const OP_IMM: u32 = 0x13;
    pub const AUIPC: u32 = 0x17;
    pub const OP_IMM_32: u32 = 0x1b;
    pub const STORE: u32 = 0x23;
    pub const STORE_FP: u32 = 0x27;
    pub const AMO: u32 = 0x2f;
    pub const OP: u32 = 0x33;
    pub const LUI: u32 = 0x37;
    pub const OP_32: u32 = 0x3b;
    pub const MADD: u32 = 0x43;
    pub const MSUB: u32 = 0x47;
    pub const NMSUB: u32 = 0x4b;
    pub const NMADD: u32 = 0x4f;
    pub const OP_FP: u32 = 0x53;
    pub const BRANCH: u32 = 0x63;
    pub const JALR: u32 = 0x67;
    pub const JAL: u32 = 0x6f;
    pub const SYSTEM: u32 = 0x73;
}

use opcode::*;

pub const fn r_type(op: u32, rd: u32, f3: u32, rs1: u32, rs2: u32, f7: u32) -> u32 {
    (f7 << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) | (f3 << 12) | ((rd & 31) << 7) | op
}

pub const fn i_type(op: u32, rd: u32, f3: u32, rs1: u32, imm: i32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | ((rs1 & 31) << 15) | (f3 << 12) | ((rd & 31) << 7) | op
}

pub const fn s_type(op: u32, f3: u32, rs1: u32, rs2: u32, imm: i32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op
}

pub const fn b_type(f3: u32, rs1: u32, rs2: u32, offset: i32) -> u32 {
    let o = offset as u32;
    (((o >> 12) & 1) << 31)
        | (((o >> 5) & 0x3f) << 25)
        | ((rs2 & 31) << 20)
        | ((rs1 & 31) << 15)
        | (f3 << 12)
        | (((o >> 1) & 0xf) << 8)
        | (((o >> 11) & 1) << 7)
        | BRANCH
}

pub const fn u_type(op: u32, rd: u32, imm: i32) -> u32 {
    ((imm as u32) & 0xffff_f000) | ((rd & 31) << 7) | op
}

pub const fn j_type(rd: u32, offset: i32) -> u32 {
    let o = offset as u32;
    (((o >> 20) & 1) << 31)
        | (((o >> 1) & 0x3ff) << 21)
        | (((o >> 11) & 1) << 20)
        | (((o >> 12) & 0xff) << 12)
        | ((rd & 31) << 7)
        | JAL
}

// RV64I
pub const fn lui(rd: u32, imm: i32) -> u32 {
    u_type(LUI, rd, imm)
}
pub const fn auipc(rd: u32, imm: i32) -> u32 {
    u_type(AUIPC, rd, imm)
}
pub const fn jal(rd: u32, offset: i32) -> u32 {
    j_type(rd, offset)
}
pub const fn jalr(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(JALR, rd, 0, rs1, imm)
}
pub const fn beq(rs1: u32, rs2: u32, o: i32) -> u32 {
    b_type(0, rs1, rs2, o)
}
pub const fn bne(rs1: u32, rs2: u32, o: i32) -> u32 {
    b_type(1, rs1, rs2, o)
}
pub const fn blt(rs1: u32, rs2: u32, o: i32) -> u32 {
    b_type(4, rs1, rs2, o)
}
pub const fn bge(rs1: u32, rs2: u32, o: i32) -> u32 {
    b_type(5, rs1, rs2, o)
}
pub const fn bltu(rs1: u32, rs2: u32, o: i32) -> u32 {
    b_type(6, rs1, rs2, o)
}
pub const fn bgeu(rs1: u32, rs2: u32, o: i32) -> u32 {
    b_type(7, rs1, rs2, o)
}
pub const fn lb(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD, rd, 0, rs1, imm)
}
pub const fn lh(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD, rd, 1, rs1, imm)
}
pub const fn lw(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD, rd, 2, rs1, imm)
}
pub const fn ld(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD, rd, 3, rs1, imm)
}
pub const fn lbu(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD, rd, 4, rs1, imm)
}
pub const fn lhu(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD, rd, 5, rs1, imm)
}
pub const fn lwu(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD, rd, 6, rs1, imm)
}
pub const fn sb(rs2: u32, rs1: u32, imm: i32) -> u32 {
    s_type(STORE, 0, rs1, rs2, imm)
}
pub const fn sh(rs2: u32, rs1: u32, imm: i32) -> u32 {
    s_type(STORE, 1, rs1, rs2, imm)
}
pub const fn sw(rs2: u32, rs1: u32, imm: i32) -> u32 {
    s_type(STORE, 2, rs1, rs2, imm)
}
pub const fn sd(rs2: u32, rs1: u32, imm: i32) -> u32 {
    s_type(STORE, 3, rs1, rs2, imm)
}
pub const fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(OP_IMM, rd, 0, rs1, imm)
}
pub const fn slti(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(OP_IMM, rd, 2, rs1, imm)
}
pub const fn sltiu(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(OP_IMM, rd, 3, rs1, imm)
}
pub const fn xori(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(OP_IMM, rd, 4, rs1, imm)
}
pub const fn ori(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(OP_IMM, rd, 6, rs1, imm)
}
pub const fn andi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(OP_IMM, rd, 7, rs1, imm)
}
pub const fn slli(rd: u32, rs1: u32, sh: u32) -> u32 {
    i_type(OP_IMM, rd, 1, rs1, (sh & 63) as i32)
}
pub const fn srli(rd: u32, rs1: u32, sh: u32) -> u32 {
    i_type(OP_IMM, rd, 5, rs1, (sh & 63) as i32)
}
pub const fn srai(rd: u32, rs1: u32, sh: u32) -> u32 {
    i_type(OP_IMM, rd, 5, rs1, ((sh & 63) | 0x400) as i32)
}
pub const fn add(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 0, rs1, rs2, 0)
}
pub const fn sub(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 0, rs1, rs2, 0x20)
}
pub const fn sll(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 1, rs1, rs2, 0)
}
pub const fn slt(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 2, rs1, rs2, 0)
}
pub const fn sltu(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 3, rs1, rs2, 0)
}
pub const fn xor(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 4, rs1, rs2, 0)
}
pub const fn srl(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 5, rs1, rs2, 0)
}
pub const fn sra(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 5, rs1, rs2, 0x20)
}
pub const fn or(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 6, rs1, rs2, 0)
}
pub const fn and(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP, rd, 7, rs1, rs2, 0)
}
pub const fn addiw(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(OP_IMM_32, rd, 0, rs1, imm)
}
pub const fn slliw(rd: u32, rs1: u32, sh: u32) -> u32 {
    i_type(OP_IMM_32, rd, 1, rs1, (sh & 31) as i32)
}
pub const fn srliw(rd: u32, rs1: u32, sh: u32) -> u32 {
    i_type(OP_IMM_32, rd, 5, rs1, (sh & 31) as i32)
}
pub const fn sraiw(rd: u32, rs1: u32, sh: u32) -> u32 {
    i_type(OP_IMM_32, rd, 5, rs1, ((sh & 31) | 0x400) as i32)
}
pub const fn addw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP_32, rd, 0, rs1, rs2, 0)
}
pub const fn subw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP_32, rd, 0, rs1, rs2, 0x20)
}
pub const fn sllw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP_32, rd, 1, rs1, rs2, 0)
}
pub const fn srlw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP_32, rd, 5, rs1, rs2, 0)
}
pub const fn sraw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP_32, rd, 5, rs1, rs2, 0x20)
}
pub const fn fence() -> u32 {
    i_type(MISC_MEM, 0, 0, 0, 0x0ff)
}
pub const fn fence_i() -> u32 {
    i_type(MISC_MEM, 0, 1, 0, 0)
}
pub const fn ecall() -> u32 {
    SYSTEM
}
pub const fn ebreak() -> u32 {
    i_type(SYSTEM, 0, 0, 0, 1)
}
/// `fence pred, succ`: each set is 4 bits, I O R W from bit 3 down.
pub const fn fence_sets(pred: u32, succ: u32) -> u32 {
    i_type(MISC_MEM, 0, 0, 0, (((pred & 15) << 4) | (succ & 15)) as i32)
}
pub const fn fence_tso() -> u32 {
    0x8330_000f
}

// M
const fn muldiv(op: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(op, rd, f3, rs1, rs2, 1)
}
pub const fn mul(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP, 0, rd, rs1, rs2)
}
pub const fn mulh(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP, 1, rd, rs1, rs2)
}
pub const fn mulhsu(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP, 2, rd, rs1, rs2)
}
pub const fn mulhu(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP, 3, rd, rs1, rs2)
}
pub const fn div(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP, 4, rd, rs1, rs2)
}
pub const fn divu(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP, 5, rd, rs1, rs2)
}
pub const fn rem(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP, 6, rd, rs1, rs2)
}
pub const fn remu(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP, 7, rd, rs1, rs2)
}
pub const fn mulw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP_32, 0, rd, rs1, rs2)
}
pub const fn divw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP_32, 4, rd, rs1, rs2)
}
pub const fn divuw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP_32, 5, rd, rs1, rs2)
}
pub const fn remw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP_32, 6, rd, rs1, rs2)
}
pub const fn remuw(rd: u32, rs1: u32, rs2: u32) -> u32 {
    muldiv(OP_32, 7, rd, rs1, rs2)
}

// A: `f3` is 2 for .w and 3 for .d; aq and rl are left clear.
pub const fn amo(funct5: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(AMO, rd, f3, rs1, rs2, funct5 << 2)
}
pub const fn lr_w(rd: u32, rs1: u32) -> u32 {
    amo(0b00010, 2, rd, rs1, 0)
}
pub const fn lr_d(rd: u32, rs1: u32) -> u32 {
    amo(0b00010, 3, rd, rs1, 0)
}
pub const fn sc_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00011, 2, rd, rs1, rs2)
}
pub const fn sc_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00011, 3, rd, rs1, rs2)
}
pub const fn amoswap_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00001, 2, rd, rs1, rs2)
}
pub const fn amoadd_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00000, 2, rd, rs1, rs2)
}
pub const fn amoadd_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00000, 3, rd, rs1, rs2)
}
pub const fn amoswap_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00001, 3, rd, rs1, rs2)
}
pub const fn amoxor_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00100, 2, rd, rs1, rs2)
}
pub const fn amoxor_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00100, 3, rd, rs1, rs2)
}
pub const fn amoand_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b01100, 2, rd, rs1, rs2)
}
pub const fn amoand_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b01100, 3, rd, rs1, rs2)
}
pub const fn amoor_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b01000, 2, rd, rs1, rs2)
}
pub const fn amoor_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b01000, 3, rd, rs1, rs2)
}
pub const fn amomin_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b10000, 2, rd, rs1, rs2)
}
pub const fn amomin_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b10000, 3, rd, rs1, rs2)
}
pub const fn amomax_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b10100, 2, rd, rs1, rs2)
}
pub const fn amomax_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b10100, 3, rd, rs1, rs2)
}
pub const fn amominu_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b11000, 2, rd, rs1, rs2)
}
pub const fn amominu_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b11000, 3, rd, rs1, rs2)
}
pub const fn amomaxu_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b11100, 2, rd, rs1, rs2)
}
pub const fn amomaxu_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b11100, 3, rd, rs1, rs2)
}
/// `word` (an LR, SC or AMO) with its aq and rl ordering bits set as given.
pub const fn aqrl(word: u32, aq: bool, rl: bool) -> u32 {
    (word & !(3 << 25)) | ((aq as u32) << 26) | ((rl as u32) << 25)
}

// Zicsr and privileged
pub const fn csrrw(rd: u32, csr: u32, rs1: u32) -> u32 {
    i_type(SYSTEM, rd, 1, rs1, csr as i32)
}
pub const fn csrrs(rd: u32, csr: u32, rs1: u32) -> u32 {
    i_type(SYSTEM, rd, 2, rs1, csr as i32)
}
pub const fn csrrc(rd: u32, csr: u32, rs1: u32) -> u32 {
    i_type(SYSTEM, rd, 3, rs1, csr as i32)
}
pub const fn csrrwi(rd: u32, csr: u32, uimm: u32) -> u32 {
    i_type(SYSTEM, rd, 5, uimm, csr as i32)
}
pub const fn csrrsi(rd: u32, csr: u32, uimm: u32) -> u32 {
    i_type(SYSTEM, rd, 6, uimm, csr as i32)
}
pub const fn csrrci(rd: u32, csr: u32, uimm: u32) -> u32 {
    i_type(SYSTEM, rd, 7, uimm, csr as i32)
}
pub const fn csrr(rd: u32, csr: u32) -> u32 {
    csrrs(rd, csr, 0)
}
pub const fn csrw(csr: u32, rs1: u32) -> u32 {
    csrrw(0, csr, rs1)
}
pub const fn csrs(csr: u32, rs1: u32) -> u32 {
    csrrs(0, csr, rs1)
}
pub const fn csrc(csr: u32, rs1: u32) -> u32 {
    csrrc(0, csr, rs1)
}
pub const fn mret() -> u32 {
    0x3020_0073
}
pub const fn sret() -> u32 {
    0x1020_0073
}
pub const fn wfi() -> u32 {
    0x1050_0073
}
pub const fn sfence_vma(rs1: u32, rs2: u32) -> u32 {
    r_type(SYSTEM, 0, 0, rs1, rs2, 0b000_1001)
}

// F and D. Register arguments of these name f registers where the
// instruction reads or writes one, x registers otherwise; `rm` is a rounding
// mode from [`rm`] (`rm::DYN` uses fcsr.frm, as an assembler's default).

/// Rounding modes (the rm field and fcsr.frm).
pub mod rm {
    /// Round to nearest, ties to even.
    pub const RNE: u32 = 0;
    /// Round towards zero.
    pub const RTZ: u32 = 1;
    /// Round down (towards -inf).
    pub const RDN: u32 = 2;
    /// Round up (towards +inf).
    pub const RUP: u32 = 3;
    /// Round to nearest, ties to max magnitude.
    pub const RMM: u32 = 4;
    /// Dynamic: the mode in fcsr.frm.
    pub const DYN: u32 = 7;
}

/// An OP-FP instruction: `funct5` and `fmt` (0 = S, 1 = D) make funct7.
const fn fp_op(funct5: u32, fmt: u32, rd: u32, f3: u32, rs1: u32, rs2: u32) -> u32 {
    r_type(OP_FP, rd, f3 & 7, rs1, rs2, (funct5 << 2) | fmt)
}
const fn r4_type(op: u32, fmt: u32, rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r_type(op, rd, rm & 7, rs1, rs2, ((rs3 & 31) << 2) | fmt)
}
pub const fn flw(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD_FP, rd, 2, rs1, imm)
}
pub const fn fld(rd: u32, rs1: u32, imm: i32) -> u32 {
    i_type(LOAD_FP, rd, 3, rs1, imm)
}
pub const fn fsw(rs2: u32, rs1: u32, imm: i32) -> u32 {
    s_type(STORE_FP, 2, rs1, rs2, imm)
}
pub const fn fsd(rs2: u32, rs1: u32, imm: i32) -> u32 {
    s_type(STORE_FP, 3, rs1, rs2, imm)
}
pub const fn fmadd_s(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r4_type(MADD, 0, rd, rs1, rs2, rs3, rm)
}
pub const fn fmsub_s(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r4_type(MSUB, 0, rd, rs1, rs2, rs3, rm)
}
pub const fn fnmsub_s(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r4_type(NMSUB, 0, rd, rs1, rs2, rs3, rm)
}
pub const fn fnmadd_s(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r4_type(NMADD, 0, rd, rs1, rs2, rs3, rm)
}
pub const fn fmadd_d(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r4_type(MADD, 1, rd, rs1, rs2, rs3, rm)
}
pub const fn fmsub_d(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r4_type(MSUB, 1, rd, rs1, rs2, rs3, rm)
}
pub const fn fnmsub_d(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r4_type(NMSUB, 1, rd, rs1, rs2, rs3, rm)
}
pub const fn fnmadd_d(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    r4_type(NMADD, 1, rd, rs1, rs2, rs3, rm)
}
pub const fn fadd_s(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    fp_op(0x00, 0, rd, rm, rs1, rs2)
}
pub const fn fsub_s(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    fp_op(0x01, 0, rd, rm, rs1, rs2)
}
pub const fn fmul_s(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    fp_op(0x02, 0, rd, rm, rs1, rs2)
}
pub const fn fdiv_s(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    fp_op(0x03, 0, rd, rm, rs1, rs2)
}
pub const fn fsqrt_s(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x0b, 0, rd, rm, rs1, 0)
}
pub const fn fadd_d(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    fp_op(0x00, 1, rd, rm, rs1, rs2)
}
pub const fn fsub_d(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    fp_op(0x01, 1, rd, rm, rs1, rs2)
}
pub const fn fmul_d(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    fp_op(0x02, 1, rd, rm, rs1, rs2)
}
pub const fn fdiv_d(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    fp_op(0x03, 1, rd, rm, rs1, rs2)
}
pub const fn fsqrt_d(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x0b, 1, rd, rm, rs1, 0)
}
pub const fn fsgnj_s(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x04, 0, rd, 0, rs1, rs2)
}
pub const fn fsgnjn_s(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x04, 0, rd, 1, rs1, rs2)
}
pub const fn fsgnjx_s(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x04, 0, rd, 2, rs1, rs2)
}
pub const fn fsgnj_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x04, 1, rd, 0, rs1, rs2)
}
pub const fn fsgnjn_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x04, 1, rd, 1, rs1, rs2)
}
pub const fn fsgnjx_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x04, 1, rd, 2, rs1, rs2)
}
/// `fmv.s rd, rs` (fsgnj.s rd, rs, rs).
pub const fn fmv_s(rd: u32, rs: u32) -> u32 {
    fsgnj_s(rd, rs, rs)
}
/// `fmv.d rd, rs` (fsgnj.d rd, rs, rs).
pub const fn fmv_d(rd: u32, rs: u32) -> u32 {
    fsgnj_d(rd, rs, rs)
}
pub const fn fmin_s(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x05, 0, rd, 0, rs1, rs2)
}
pub const fn fmax_s(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x05, 0, rd, 1, rs1, rs2)
}
pub const fn fmin_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x05, 1, rd, 0, rs1, rs2)
}
pub const fn fmax_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x05, 1, rd, 1, rs1, rs2)
}
/// `fcvt.s.d rd, rs1` (double to single).
pub const fn fcvt_s_d(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x08, 0, rd, rm, rs1, 1)
}
/// `fcvt.d.s rd, rs1` (single to double).
pub const fn fcvt_d_s(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x08, 1, rd, rm, rs1, 0)
}
pub const fn fle_s(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x14, 0, rd, 0, rs1, rs2)
}
pub const fn flt_s(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x14, 0, rd, 1, rs1, rs2)
}
pub const fn feq_s(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x14, 0, rd, 2, rs1, rs2)
}
pub const fn fle_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x14, 1, rd, 0, rs1, rs2)
}
pub const fn flt_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x14, 1, rd, 1, rs1, rs2)
}
pub const fn feq_d(rd: u32, rs1: u32, rs2: u32) -> u32 {
    fp_op(0x14, 1, rd, 2, rs1, rs2)
}
pub const fn fcvt_w_s(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x18, 0, rd, rm, rs1, 0)
}
pub const fn fcvt_wu_s(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x18, 0, rd, rm, rs1, 1)
}
pub const fn fcvt_l_s(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x18, 0, rd, rm, rs1, 2)
}
pub const fn fcvt_lu_s(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x18, 0, rd, rm, rs1, 3)
}
pub const fn fcvt_w_d(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x18, 1, rd, rm, rs1, 0)
}
pub const fn fcvt_wu_d(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x18, 1, rd, rm, rs1, 1)
}
pub const fn fcvt_l_d(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x18, 1, rd, rm, rs1, 2)
}
pub const fn fcvt_lu_d(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x18, 1, rd, rm, rs1, 3)
}
pub const fn fcvt_s_w(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x1a, 0, rd, rm, rs1, 0)
}
pub const fn fcvt_s_wu(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x1a, 0, rd, rm, rs1, 1)
}
pub const fn fcvt_s_l(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x1a, 0, rd, rm, rs1, 2)
}
pub const fn fcvt_s_lu(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x1a, 0, rd, rm, rs1, 3)
}
pub const fn fcvt_d_w(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x1a, 1, rd, rm, rs1, 0)
}
pub const fn fcvt_d_wu(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x1a, 1, rd, rm, rs1, 1)
}
pub const fn fcvt_d_l(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x1a, 1, rd, rm, rs1, 2)
}
pub const fn fcvt_d_lu(rd: u32, rs1: u32, rm: u32) -> u32 {
    fp_op(0x1a, 1, rd, rm, rs1, 3)
}
pub const fn fmv_x_w(rd: u32, rs1: u32) -> u32 {
    fp_op(0x1c, 0, rd, 0, rs1, 0)
}
pub const fn fclass_s(rd: u32, rs1: u32) -> u32 {
    fp_op(0x1c, 0, rd, 1, rs1, 0)
}
pub const fn fmv_x_d(rd: u32, rs1: u32) -> u32 {
    fp_op(0x1c, 1, rd, 0, rs1, 0)
}
pub const fn fclass_d(rd: u32, rs1: u32) -> u32 {
    fp_op(0x1c, 1, rd, 1, rs1, 0)
}
pub const fn fmv_w_x(rd: u32, rs1: u32) -> u32 {
    fp_op(0x1e, 0, rd, 0, rs1, 0)
}
pub const fn fmv_d_x(rd: u32, rs1: u32) -> u32 {
    fp_op(0x1e, 1, rd, 0, rs1, 0)
}

/// `li rd, imm` for a 32-bit immediate: lui + addiw (or a single addi).
pub fn li32(rd: u32, imm: i32) -> Vec<u32> {
    if (-2048..2048).contains(&imm) {
        return vec![addi(rd, 0, imm)];
    }
    let lo = (imm << 20) >> 20;
    let hi = imm.wrapping_sub(lo);
    vec![lui(rd, hi), addiw(rd, rd, lo)]
}

/// `li rd, imm` for any 64-bit immediate, as a sequence of instructions.
pub fn li(rd: u32, imm: i64) -> Vec<u32> {
    if imm == imm as i32 as i64 {
        return li32(rd, imm as i32);
    }
    // Build the upper part, then shift in the low 12 bits at a time.
    let lo = (imm << 52) >> 52;
    let hi = imm.wrapping_sub(lo) >> 12;
    let shift = hi.trailing_zeros().min(52);
    let mut out = li(rd, hi >> shift);
    out.push(slli(rd, rd, shift + 12));
    if lo != 0 {
        out.push(addi(rd, rd, lo as i32));
    }
    out
}

// C: 16-bit encodings. Registers are full register numbers; the forms with
// 3-bit register fields take x8..=x15. Immediates are the value added (an
// offset in bytes; for c.lui the value lui would add, low 12 bits zero).

const fn c_bits(v: i32, hi: u32, lo: u32, at: u32) -> u16 {
    ((((v as u32) >> lo) & ((1 << (hi - lo + 1)) - 1)) << at) as u16
}
const fn c_ci(f3: u16, op: u16, rd: u32, imm: i32) -> u16 {
    (f3 << 13) | c_bits(imm, 5, 5, 12) | (((rd & 31) as u16) << 7) | c_bits(imm, 4, 0, 2) | op
}
const fn c_reg(r: u32) -> u16 {
    (r & 7) as u16
}
pub const fn c_nop() -> u16 {
    0x0001
}
pub const fn c_addi(rd: u32, imm: i32) -> u16 {
    c_ci(0, 1, rd, imm)
}
pub const fn c_addiw(rd: u32, imm: i32) -> u16 {
    c_ci(1, 1, rd, imm)
}
pub const fn c_li(rd: u32, imm: i32) -> u16 {
    c_ci(2, 1, rd, imm)
}
pub const fn c_lui(rd: u32, imm: i32) -> u16 {
    c_ci(3, 1, rd, imm >> 12)
}
pub const fn c_addi16sp(imm: i32) -> u16 {
    (3 << 13)
        | c_bits(imm, 9, 9, 12)
        | (2 << 7)
        | c_bits(imm, 4, 4, 6)
        | c_bits(imm, 6, 6, 5)
        | c_bits(imm, 8, 7, 3)
        | c_bits(imm, 5, 5, 2)
        | 1
}
pub const fn c_slli(rd: u32, sh: u32) -> u16 {
    c_ci(0, 2, rd, sh as i32)
}
const fn c_shift_andi(f2: u16, rd: u32, imm: i32) -> u16 {
    (4 << 13) | c_bits(imm, 5, 5, 12) | (f2 << 10) | (c_reg(rd) << 7) | c_bits(imm, 4, 0, 2) | 1
}
pub const fn c_srli(rd: u32, sh: u32) -> u16 {
    c_shift_andi(0, rd, sh as i32)
}
pub const fn c_srai(rd: u32, sh: u32) -> u16 {
    c_shift_andi(1, rd, sh as i32)
}
pub const fn c_andi(rd: u32, imm: i32) -> u16 {
    c_shift_andi(2, rd, imm)
}
const fn c_ca(f6: u16, f2: u16, rd: u32, rs2: u32) -> u16 {
    (f6 << 10) | (c_reg(rd) << 7) | (f2 << 5) | (c_reg(rs2) << 2) | 1
}
pub const fn c_sub(rd: u32, rs2: u32) -> u16 {
    c_ca(0b100011, 0, rd, rs2)
}
pub const fn c_xor(rd: u32, rs2: u32) -> u16 {
    c_ca(0b100011, 1, rd, rs2)
}
pub const fn c_or(rd: u32, rs2: u32) -> u16 {
    c_ca(0b100011, 2, rd, rs2)
}
pub const fn c_and(rd: u32, rs2: u32) -> u16 {
    c_ca(0b100011, 3, rd, rs2)
}
pub const fn c_subw(rd: u32, rs2: u32) -> u16 {
    c_ca(0b100111, 0, rd, rs2)
}
pub const fn c_addw(rd: u32, rs2: u32) -> u16 {
    c_ca(0b100111, 1, rd, rs2)
}
const fn c_cr(f4: u16, rd: u32, rs2: u32) -> u16 {
    (f4 << 12) | (((rd & 31) as u16) << 7) | (((rs2 & 31) as u16) << 2) | 2
}
pub const fn c_mv(rd: u32, rs2: u32) -> u16 {
    c_cr(0b1000, rd, rs2)
}
pub const fn c_add(rd: u32, rs2: u32) -> u16 {
    c_cr(0b1001, rd, rs2)
}
pub const fn c_jr(rs1: u32) -> u16 {
    c_cr(0b1000, rs1, 0)
}
pub const fn c_jalr(rs1: u32) -> u16 {
    c_cr(0b1001, rs1, 0)
}
pub const fn c_ebreak() -> u16 {
    0x9002
}
pub const fn c_j(offset: i32) -> u16 {
    (5 << 13)
        | c_bits(offset, 11, 11, 12)
        | c_bits(offset, 4, 4, 11)
        | c_bits(offset, 9, 8, 9)
        | c_bits(offset, 10, 10, 8)
        | c_bits(offset, 6, 6, 7)
        | c_bits(offset, 7, 7, 6)
        | c_bits(offset, 3, 1, 3)
        | c_bits(offset, 5, 5, 2)
        | 1
}
const fn c_branch(f3: u16, rs1: u32, offset: i32) -> u16 {
    (f3 << 13)
        | c_bits(offset, 8, 8, 12)
        | c_bits(offset, 4, 3, 10)
        | (c_reg(rs1) << 7)
        | c_bits(offset, 7, 6, 5)
        | c_bits(offset, 2, 1, 3)
        | c_bits(offset, 5, 5, 2)
        | 1
}
pub const fn c_beqz(rs1: u32, offset: i32) -> u16 {
    c_branch(6, rs1, offset)
}
pub const fn c_bnez(rs1: u32, offset: i32) -> u16 {
    c_branch(7, rs1, offset)
}
pub const fn c_addi4spn(rd: u32, imm: i32) -> u16 {
    c_bits(imm, 5, 4, 11) | c_bits(imm, 9, 6, 7) | c_bits(imm, 2, 2, 6) | c_bits(imm, 3, 3, 5) | (c_reg(rd) << 2)
}
/// c.lw and c.sw: `rd` is the loaded or stored register.
const fn c_mem_w(f3: u16, rd: u32, rs1: u32, offset: i32) -> u16 {
    (f3 << 13)
        | c_bits(offset, 5, 3, 10)
        | (c_reg(rs1) << 7)
        | c_bits(offset, 2, 2, 6)
        | c_bits(offset, 6, 6, 5)
        | (c_reg(rd) << 2)
}
/// c.ld and c.sd.
const fn c_mem_d(f3: u16, rd: u32, rs1: u32, offset: i32) -> u16 {
    (f3 << 13) | c_bits(offset, 5, 3, 10) | (c_reg(rs1) << 7) | c_bits(offset, 7, 6, 5) | (c_reg(rd) << 2)
}
pub const fn c_lw(rd: u32, rs1: u32, offset: i32) -> u16 {
    c_mem_w(2, rd, rs1, offset)
}
pub const fn c_ld(rd: u32, rs1: u32, offset: i32) -> u16 {
    c_mem_d(3, rd, rs1, offset)
}
pub const fn c_sw(rs2: u32, rs1: u32, offset: i32) -> u16 {
    c_mem_w(6, rs2, rs1, offset)
}
pub const fn c_sd(rs2: u32, rs1: u32, offset: i32) -> u16 {
    c_mem_d(7, rs2, rs1, offset)
}
pub const fn c_lwsp(rd: u32, offset: i32) -> u16 {
    (2 << 13)
        | c_bits(offset, 5, 5, 12)
        | (((rd & 31) as u16) << 7)
        | c_bits(offset, 4, 2, 4)
        | c_bits(offset, 7, 6, 2)
        | 2
}
pub const fn c_ldsp(rd: u32, offset: i32) -> u16 {
    (3 << 13)
        | c_bits(offset, 5, 5, 12)
        | (((rd & 31) as u16) << 7)
        | c_bits(offset, 4, 3, 5)
        | c_bits(offset, 8, 6, 2)
        | 2
}
pub const fn c_swsp(rs2: u32, offset: i32) -> u16 {
    (6 << 13) | c_bits(offset, 5, 2, 9) | c_bits(offset, 7, 6, 7) | (((rs2 & 31) as u16) << 2) | 2
}
pub const fn c_sdsp(rs2: u32, offset: i32) -> u16 {
    (7 << 13) | c_bits(offset, 5, 3, 10) | c_bits(offset, 8, 6, 7) | (((rs2 & 31) as u16) << 2) | 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings() {
        // Reference words from the GNU assembler.
        assert_eq!(addi(10, 0, 5), 0x0050_0513); // li a0,5
        assert_eq!(jal(1, 8), 0x0080_00ef);
        assert_eq!(beq(10, 11, -4), 0xfeb5_0ee3);
        assert_eq!(sd(1, 2, 8), 0x0011_3423);
        assert_eq!(lui(5, 0x12345000), 0x1234_52b7);
        assert_eq!(csrr(10, 0xf14), 0xf140_2573); // csrr a0,mhartid
        assert_eq!(amoadd_w(10, 11, 12), 0x00c5_a52f);
        assert_eq!(srai(10, 10, 63), 0x43f5_5513);
        assert_eq!(sfence_vma(0, 0), 0x1200_0073);
        assert_eq!(amomaxu_d(10, 11, 12), 0xe0c5_b52f); // amomaxu.d a0,a2,(a1)
        assert_eq!(amomin_w(10, 11, 12), 0x80c5_a52f); // amomin.w a0,a2,(a1)
        assert_eq!(csrs(0x300, 5), 0x3002_a073); // csrs mstatus,t0
        assert_eq!(flw(1, 10, 4), 0x0045_2087); // flw ft1,4(a0)
        assert_eq!(fsd(2, 11, -8), 0xfe25_bc27); // fsd ft2,-8(a1)
        assert_eq!(fadd_s(0, 1, 2, rm::DYN), 0x0020_f053); // fadd.s ft0,ft1,ft2
        assert_eq!(fmadd_d(0, 1, 2, 3, rm::RNE), 0x1a20_8043); // fmadd.d ft0,ft1,ft2,ft3,rne
        assert_eq!(fnmadd_s(10, 11, 12, 13, rm::DYN), 0x68c5_f54f); // fnmadd.s fa0,fa1,fa2,fa3
        assert_eq!(fcvt_w_d(10, 11, rm::RTZ), 0xc205_9553); // fcvt.w.d a0,fa1,rtz
        assert_eq!(fcvt_s_d(10, 11, rm::DYN), 0x4015_f553); // fcvt.s.d fa0,fa1
        assert_eq!(fcvt_d_s(10, 11, rm::RNE), 0x4205_8553); // fcvt.d.s fa0,fa1,rne
        assert_eq!(fmv_x_w(10, 11), 0xe005_8553); // fmv.x.w a0,fa1
        assert_eq!(fclass_d(10, 11), 0xe205_9553); // fclass.d a0,fa1
        assert_eq!(fmv_d_x(10, 11), 0xf205_8553); // fmv.d.x fa0,a1
        assert_eq!(feq_s(10, 11, 12), 0xa0c5_a553); // feq.s a0,fa1,fa2
        assert_eq!(fsqrt_d(10, 11, rm::DYN), 0x5a05_f553); // fsqrt.d fa0,fa1
    }

    #[test]
    fn known_compressed_and_ordering_encodings() {
        use super::reg::*;
        // Reference encodings from llvm-mc -triple=riscv64 -mattr=+c,+a -show-encoding.
        let cases: &[(u16, u16)] = &[
            (c_nop(), 0x0001),
            (c_addi(A0, -32), 0x1501),
            (c_addi(T6, 31), 0x0ffd),
            (c_addiw(S1, -1), 0x34fd),
            (c_li(A5, -32), 0x5781),
            (c_li(T0, 17), 0x42c5),
            (c_lui(S2, -0x20000), 0x7901),
            (c_lui(A0, 0x1f000), 0x657d),
            (c_addi16sp(-512), 0x7101),
            (c_addi16sp(496), 0x617d),
            (c_slli(T3, 63), 0x1e7e),
            (c_srli(S1, 33), 0x9085),
            (c_srai(A5, 1), 0x8785),
            (c_andi(A3, -21), 0x9aad),
            (c_sub(S0, A5), 0x8c1d),
            (c_xor(A1, A2), 0x8db1),
            (c_or(A3, A4), 0x8ed9),
            (c_and(S1, S0), 0x8ce1),
            (c_subw(A0, A1), 0x9d0d),
            (c_addw(A5, S0), 0x9fa1),
            (c_mv(T1, S11), 0x836e),
            (c_add(RA, T6), 0x90fe),
            (c_jr(T2), 0x8382),
            (c_jalr(A0), 0x9502),
            (c_ebreak(), 0x9002),
            (c_j(-2048), 0xb001),
            (c_j(1366), 0xab99),
            (c_beqz(S0, -256), 0xd001),
            (c_bnez(A5, 170), 0xe7cd),
            (c_addi4spn(A0, 1020), 0x1fe8),
            (c_addi4spn(S1, 4), 0x0044),
            (c_lw(A0, S1, 124), 0x5ce8),
            (c_lw(A5, A4, 4), 0x435c),
            (c_ld(S0, A5, 248), 0x7fe0),
            (c_ld(A2, A0, 8), 0x6510),
            (c_sw(A0, S1, 64), 0xc0a8),
            (c_sd(S1, A3, 136), 0xe6c4),
            (c_lwsp(T4, 252), 0x5efe),
            (c_lwsp(A0, 4), 0x4512),
            (c_ldsp(RA, 504), 0x70fe),
            (c_ldsp(S3, 16), 0x69c2),
            (c_swsp(T6, 252), 0xdffe),
            (c_swsp(A1, 68), 0xc2ae),
            (c_sdsp(S11, 504), 0xffee),
            (c_sdsp(A2, 200), 0xe5b2),
        ];
        for (i, &(got, want)) in cases.iter().enumerate() {
            assert_eq!(got, want, "case {i}: {got:#06x} != {want:#06x}");
        }
        assert_eq!(fence_tso(), 0x8330_000f);
        assert_eq!(fence_sets(0b0010, 0b0001), 0x0210_000f); // fence r,w
        assert_eq!(fence_sets(0b1111, 0b0100), 0x0f40_000f); // fence iorw,o
        assert_eq!(fence_sets(0b1111, 0b1111), fence());
        assert_eq!(aqrl(amoadd_w(A0, A1, A2), true, true), 0x06c5_a52f);
        assert_eq!(aqrl(lr_d(A0, A1), true, false), 0x1405_b52f);
        assert_eq!(aqrl(sc_w(A0, A1, A2), false, true), 0x1ac5_a52f);
    }
}
