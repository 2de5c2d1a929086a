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
    let hi = (imm - lo) >> 12;
    let shift = hi.trailing_zeros().min(52);
    let mut out = li(rd, hi >> shift);
    out.push(slli(rd, rd, shift + 12));
    if lo != 0 {
        out.push(addi(rd, rd, lo as i32));
    }
    out
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
    }
}
