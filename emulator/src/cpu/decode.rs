//! Instruction decoding: a 32-bit word (or a 16-bit compressed one, expanded
//! first by [`super::rvc`]) becomes an [`Insn`], a small plain struct that the
//! executor matches on. Decoding is total: every word decodes, and words that
//! are not a supported instruction decode to [`Op::Illegal`], which raises an
//! illegal-instruction trap whose tval is the original bits.

use super::rvc;

/// Every operation the hart implements, plus `Illegal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum Op {
    Illegal,
    // RV64I
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    Sb,
    Sh,
    Sw,
    Sd,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    Fence,
    FenceI,
    Ecall,
    Ebreak,
    // M
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    // A
    LrW,
    ScW,
    AmoswapW,
    AmoaddW,
    AmoxorW,
    AmoandW,
    AmoorW,
    AmominW,
    AmomaxW,
    AmominuW,
    AmomaxuW,
    LrD,
    ScD,
    AmoswapD,
    AmoaddD,
    AmoxorD,
    AmoandD,
    AmoorD,
    AmominD,
    AmomaxD,
    AmominuD,
    AmomaxuD,
    // Zicsr
    Csrrw,
    Csrrs,
    Csrrc,
    Csrrwi,
    Csrrsi,
    Csrrci,
    // Privileged
    Mret,
    Sret,
    Wfi,
    SfenceVma,
    // F and D: executed by `fpu.rs`. For the operations with a rounding-mode
    // field, `imm` holds rm (bits 2:0) and, for the fused multiply-adds, rs3
    // (bits 7:3); loads and stores hold their offset.
    Flw,
    Fsw,
    FmaddS,
    FmsubS,
    FnmsubS,
    FnmaddS,
    FaddS,
    FsubS,
    FmulS,
    FdivS,
    FsqrtS,
    FsgnjS,
    FsgnjnS,
    FsgnjxS,
    FminS,
    FmaxS,
    FcvtWS,
    FcvtWuS,
    FcvtLS,
    FcvtLuS,
    FcvtSW,
    FcvtSWu,
    FcvtSL,
    FcvtSLu,
    FmvXW,
    FmvWX,
    FeqS,
    FltS,
    FleS,
    FclassS,
    Fld,
    Fsd,
    FmaddD,
    FmsubD,
    FnmsubD,
    FnmaddD,
    FaddD,
    FsubD,
    FmulD,
    FdivD,
    FsqrtD,
    FsgnjD,
    FsgnjnD,
    FsgnjxD,
    FminD,
    FmaxD,
    FcvtWD,
    FcvtWuD,
    FcvtLD,
    FcvtLuD,
    FcvtDW,
    FcvtDWu,
    FcvtDL,
    FcvtDLu,
    FmvXD,
    FmvDX,
    FeqD,
    FltD,
    FleD,
    FclassD,
    FcvtSD,
    FcvtDS,
}

/// A decoded instruction. `imm` holds the immediate already sign-extended and
/// scaled, the shift amount for shifts, the CSR number for CSR instructions
/// (whose `rs1` field is the zimm for the immediate forms), or the rounding
/// mode (and rs3) for floating-point operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub op: Op,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    /// 2 for a compressed instruction, else 4.
    pub len: u8,
    pub imm: i32,
    /// The instruction as fetched (16 bits for a compressed one): the tval of
    /// an illegal-instruction trap.
    pub raw: u32,
}

impl Insn {
    const fn illegal(raw: u32, len: u8) -> Insn {
        Insn {
            op: Op::Illegal,
            rd: 0,
            rs1: 0,
            rs2: 0,
            len,
            imm: 0,
            raw,
        }
    }
}

/// Decodes the instruction whose low bits are in `bits`. If the low two bits
/// are not `11` only the low 16 bits are used (a compressed instruction).
pub fn decode(bits: u32) -> Insn {
    if bits & 3 != 3 {
        let half = bits & 0xffff;
        return match rvc::expand(half as u16) {
            Some(word) => Insn {
                len: 2,
                raw: half,
                ..decode32(word)
            },
            None => Insn::illegal(half, 2),
        };
    }
    decode32(bits)
}

/// Length in bytes of the instruction whose first 16 bits are `low`.
pub const fn insn_len(low: u16) -> u64 {
    if low & 3 == 3 {
        4
    } else {
        2
    }
}

const fn sext(value: u32, bits: u32) -> i32 {
    let shift = 32 - bits;
    ((value << shift) as i32) >> shift
}

fn imm_i(w: u32) -> i32 {
    (w as i32) >> 20
}
fn imm_s(w: u32) -> i32 {
    (((w as i32) >> 25) << 5) | ((w >> 7) & 0x1f) as i32
}
fn imm_b(w: u32) -> i32 {
    let v = ((w >> 31) & 1) << 12 | ((w >> 7) & 1) << 11 | ((w >> 25) & 0x3f) << 5 | ((w >> 8) & 0xf) << 1;
    sext(v, 13)
}
fn imm_u(w: u32) -> i32 {
    (w & 0xffff_f000) as i32
}
fn imm_j(w: u32) -> i32 {
    let v = ((w >> 31) & 1) << 20 | ((w >> 12) & 0xff) << 12 | ((w >> 20) & 1) << 11 | ((w >> 21) & 0x3ff) << 1;
    sext(v, 21)
}

/// Decodes a full-width (32-bit) instruction.
pub fn decode32(w: u32) -> Insn {
    use super::super::asm::opcode::*;
    let rd = ((w >> 7) & 31) as u8;
    let rs1 = ((w >> 15) & 31) as u8;
    let rs2 = ((w >> 20) & 31) as u8;
    let f3 = (w >> 12) & 7;
    let f7 = w >> 25;
    let mk = |op: Op, imm: i32| Insn {
        op,
        rd,
        rs1,
        rs2,
        len: 4,
        imm,
        raw: w,
    };
    let illegal = Insn::illegal(w, 4);
    match w & 0x7f {
        LUI => mk(Op::Lui, imm_u(w)),
        AUIPC => mk(Op::Auipc, imm_u(w)),
        JAL => mk(Op::Jal, imm_j(w)),
        JALR if f3 == 0 => mk(Op::Jalr, imm_i(w)),
        BRANCH => {
            let op = match f3 {
                0 => Op::Beq,
                1 => Op::Bne,
                4 => Op::Blt,
                5 => Op::Bge,
                6 => Op::Bltu,
                7 => Op::Bgeu,
                _ => return illegal,
            };
            mk(op, imm_b(w))
        }
        LOAD => {
            let op = match f3 {
                0 => Op::Lb,
                1 => Op::Lh,
                2 => Op::Lw,
                3 => Op::Ld,
                4 => Op::Lbu,
                5 => Op::Lhu,
                6 => Op::Lwu,
                _ => return illegal,
            };
            mk(op, imm_i(w))
        }
        STORE => {
            let op = match f3 {
                0 => Op::Sb,
                1 => Op::Sh,
                2 => Op::Sw,
                3 => Op::Sd,
                _ => return illegal,
            };
            mk(op, imm_s(w))
        }
        OP_IMM => {
            let shamt = ((w >> 20) & 63) as i32;
            let f6 = w >> 26;
            match f3 {
                0 => mk(Op::Addi, imm_i(w)),
                2 => mk(Op::Slti, imm_i(w)),
                3 => mk(Op::Sltiu, imm_i(w)),
                4 => mk(Op::Xori, imm_i(w)),
                6 => mk(Op::Ori, imm_i(w)),
                7 => mk(Op::Andi, imm_i(w)),
                1 if f6 == 0 => mk(Op::Slli, shamt),
                5 if f6 == 0 => mk(Op::Srli, shamt),
                5 if f6 == 0b010000 => mk(Op::Srai, shamt),
                _ => illegal,
            }
        }
        OP_IMM_32 => {
            let shamt = ((w >> 20) & 31) as i32;
            match (f3, f7) {
                (0, _) => mk(Op::Addiw, imm_i(w)),
                (1, 0) => mk(Op::Slliw, shamt),
                (5, 0) => mk(Op::Srliw, shamt),
                (5, 0b0100000) => mk(Op::Sraiw, shamt),
                _ => illegal,
            }
        }
        OP => {
            let op = match (f7, f3) {
                (0, 0) => Op::Add,
                (0x20, 0) => Op::Sub,
                (0, 1) => Op::Sll,
                (0, 2) => Op::Slt,
                (0, 3) => Op::Sltu,
                (0, 4) => Op::Xor,
                (0, 5) => Op::Srl,
                (0x20, 5) => Op::Sra,
                (0, 6) => Op::Or,
                (0, 7) => Op::And,
                (1, 0) => Op::Mul,
                (1, 1) => Op::Mulh,
                (1, 2) => Op::Mulhsu,
                (1, 3) => Op::Mulhu,
                (1, 4) => Op::Div,
                (1, 5) => Op::Divu,
                (1, 6) => Op::Rem,
                (1, 7) => Op::Remu,
                _ => return illegal,
            };
            mk(op, 0)
        }
        OP_32 => {
            let op = match (f7, f3) {
                (0, 0) => Op::Addw,
                (0x20, 0) => Op::Subw,
                (0, 1) => Op::Sllw,
                (0, 5) => Op::Srlw,
                (0x20, 5) => Op::Sraw,
                (1, 0) => Op::Mulw,
                (1, 4) => Op::Divw,
                (1, 5) => Op::Divuw,
                (1, 6) => Op::Remw,
                (1, 7) => Op::Remuw,
                _ => return illegal,
            };
            mk(op, 0)
        }
        // Reserved fence fields must be ignored (treated as a normal fence).
        MISC_MEM if f3 == 0 => mk(Op::Fence, 0),
        MISC_MEM if f3 == 1 => mk(Op::FenceI, 0),
        AMO => decode_amo(w, f3, mk).unwrap_or(illegal),
        SYSTEM => decode_system(w, f3, mk).unwrap_or(illegal),
        LOAD_FP => match f3 {
            2 => mk(Op::Flw, imm_i(w)),
            3 => mk(Op::Fld, imm_i(w)),
            _ => illegal,
        },
        STORE_FP => match f3 {
            2 => mk(Op::Fsw, imm_s(w)),
            3 => mk(Op::Fsd, imm_s(w)),
            _ => illegal,
        },
        MADD | MSUB | NMSUB | NMADD => decode_fma(w, f3, mk).unwrap_or(illegal),
        OP_FP => decode_op_fp(w, f3, mk).unwrap_or(illegal),
        _ => illegal,
    }
}

/// A static rounding mode (0-4) or dynamic (7); 5 and 6 are reserved.
fn valid_rm(rm: u32) -> bool {
    rm <= 4 || rm == 7
}

fn decode_fma(w: u32, rm: u32, mk: impl Fn(Op, i32) -> Insn) -> Option<Insn> {
    use super::super::asm::opcode::*;
    let single = match (w >> 25) & 3 {
        0 => true,
        1 => false,
        _ => return None, // H and Q
    };
    if !valid_rm(rm) {
        return None;
    }
    let op = match (w & 0x7f, single) {
        (MADD, true) => Op::FmaddS,
        (MSUB, true) => Op::FmsubS,
        (NMSUB, true) => Op::FnmsubS,
        (NMADD, true) => Op::FnmaddS,
        (MADD, false) => Op::FmaddD,
        (MSUB, false) => Op::FmsubD,
        (NMSUB, false) => Op::FnmsubD,
        _ => Op::FnmaddD,
    };
    Some(mk(op, (rm | (w >> 27) << 3) as i32))
}

fn decode_op_fp(w: u32, f3: u32, mk: impl Fn(Op, i32) -> Insn) -> Option<Insn> {
    use Op::*;
    let rs2 = (w >> 20) & 31;
    let f7 = w >> 25;
    // Operations that round take rm in funct3; the others use it as a minor opcode.
    let rounded = |op: Op| valid_rm(f3).then(|| mk(op, f3 as i32));
    let plain = |op: Op| Some(mk(op, 0));
    match (f7, rs2, f3) {
        (0x00, _, _) => rounded(FaddS),
        (0x01, _, _) => rounded(FaddD),
        (0x04, _, _) => rounded(FsubS),
        (0x05, _, _) => rounded(FsubD),
        (0x08, _, _) => rounded(FmulS),
        (0x09, _, _) => rounded(FmulD),
        (0x0c, _, _) => rounded(FdivS),
        (0x0d, _, _) => rounded(FdivD),
        (0x2c, 0, _) => rounded(FsqrtS),
        (0x2d, 0, _) => rounded(FsqrtD),
        (0x10, _, 0) => plain(FsgnjS),
        (0x10, _, 1) => plain(FsgnjnS),
        (0x10, _, 2) => plain(FsgnjxS),
        (0x11, _, 0) => plain(FsgnjD),
        (0x11, _, 1) => plain(FsgnjnD),
        (0x11, _, 2) => plain(FsgnjxD),
        (0x14, _, 0) => plain(FminS),
        (0x14, _, 1) => plain(FmaxS),
        (0x15, _, 0) => plain(FminD),
        (0x15, _, 1) => plain(FmaxD),
        (0x20, 1, _) => rounded(FcvtSD),
        (0x21, 0, _) => rounded(FcvtDS),
        (0x50, _, 0) => plain(FleS),
        (0x50, _, 1) => plain(FltS),
        (0x50, _, 2) => plain(FeqS),
        (0x51, _, 0) => plain(FleD),
        (0x51, _, 1) => plain(FltD),
        (0x51, _, 2) => plain(FeqD),
        (0x60, 0, _) => rounded(FcvtWS),
        (0x60, 1, _) => rounded(FcvtWuS),
        (0x60, 2, _) => rounded(FcvtLS),
        (0x60, 3, _) => rounded(FcvtLuS),
        (0x61, 0, _) => rounded(FcvtWD),
        (0x61, 1, _) => rounded(FcvtWuD),
        (0x61, 2, _) => rounded(FcvtLD),
        (0x61, 3, _) => rounded(FcvtLuD),
        (0x68, 0, _) => rounded(FcvtSW),
        (0x68, 1, _) => rounded(FcvtSWu),
        (0x68, 2, _) => rounded(FcvtSL),
        (0x68, 3, _) => rounded(FcvtSLu),
        (0x69, 0, _) => rounded(FcvtDW),
        (0x69, 1, _) => rounded(FcvtDWu),
        (0x69, 2, _) => rounded(FcvtDL),
        (0x69, 3, _) => rounded(FcvtDLu),
        (0x70, 0, 0) => plain(FmvXW),
        (0x70, 0, 1) => plain(FclassS),
        (0x71, 0, 0) => plain(FmvXD),
        (0x71, 0, 1) => plain(FclassD),
        (0x78, 0, 0) => plain(FmvWX),
        (0x79, 0, 0) => plain(FmvDX),
        _ => None,
    }
}

fn decode_amo(w: u32, f3: u32, mk: impl Fn(Op, i32) -> Insn) -> Option<Insn> {
    let funct5 = w >> 27;
    let rs2 = (w >> 20) & 31;
    let (word, double) = match funct5 {
        0b00010 if rs2 == 0 => (Op::LrW, Op::LrD),
        0b00010 => return None,
        0b00011 => (Op::ScW, Op::ScD),
        0b00001 => (Op::AmoswapW, Op::AmoswapD),
        0b00000 => (Op::AmoaddW, Op::AmoaddD),
        0b00100 => (Op::AmoxorW, Op::AmoxorD),
        0b01100 => (Op::AmoandW, Op::AmoandD),
        0b01000 => (Op::AmoorW, Op::AmoorD),
        0b10000 => (Op::AmominW, Op::AmominD),
        0b10100 => (Op::AmomaxW, Op::AmomaxD),
        0b11000 => (Op::AmominuW, Op::AmominuD),
        0b11100 => (Op::AmomaxuW, Op::AmomaxuD),
        _ => return None,
    };
    match f3 {
        2 => Some(mk(word, 0)),
        3 => Some(mk(double, 0)),
        _ => None,
    }
}

fn decode_system(w: u32, f3: u32, mk: impl Fn(Op, i32) -> Insn) -> Option<Insn> {
    let csr = (w >> 20) as i32;
    let op = match f3 {
        0 => {
            return match w {
                0x0000_0073 => Some(mk(Op::Ecall, 0)),
                0x0010_0073 => Some(mk(Op::Ebreak, 0)),
                0x3020_0073 => Some(mk(Op::Mret, 0)),
                0x1020_0073 => Some(mk(Op::Sret, 0)),
                0x1050_0073 => Some(mk(Op::Wfi, 0)),
                _ if w >> 25 == 0b000_1001 && (w >> 7) & 31 == 0 => Some(mk(Op::SfenceVma, 0)),
                _ => None,
            }
        }
        1 => Op::Csrrw,
        2 => Op::Csrrs,
        3 => Op::Csrrc,
        5 => Op::Csrrwi,
        6 => Op::Csrrsi,
        7 => Op::Csrrci,
        _ => return None,
    };
    Some(mk(op, csr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm;

    #[test]
    fn immediates_round_trip_through_the_assembler() {
        for imm in [-2048, -1, 0, 1, 2047] {
            assert_eq!(decode(asm::addi(1, 2, imm)).imm, imm);
            assert_eq!(decode(asm::sd(1, 2, imm)).imm, imm);
        }
        for off in [-4096, -2, 2, 4094] {
            assert_eq!(decode(asm::beq(1, 2, off)).imm, off);
        }
        for off in [-(1 << 20), -2, 2, (1 << 20) - 2] {
            assert_eq!(decode(asm::jal(1, off)).imm, off);
        }
    }

    #[test]
    fn reserved_encodings_are_illegal() {
        assert_eq!(decode(0).op, Op::Illegal); // all-zero halfword
        assert_eq!(decode(0xffff_ffff).op, Op::Illegal);
        assert_eq!(decode(asm::slliw(1, 1, 31) | (1 << 25)).op, Op::Illegal);
        assert_eq!(decode(asm::lr_w(1, 2) | (3 << 20)).op, Op::Illegal);
        assert_eq!(decode(0x0000_4073).op, Op::Illegal); // SYSTEM funct3 = 4
        assert_eq!(decode(asm::ecall() | (1 << 7)).op, Op::Illegal);
    }
}
