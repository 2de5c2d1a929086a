//! The C extension: each 16-bit instruction is expanded to the 32-bit
//! instruction it stands for, so that there is only one execute path.
//! `expand` returns `None` for reserved encodings, which are illegal.

use crate::asm::{self, opcode};

fn bits(x: u16, hi: u32, lo: u32) -> u32 {
    ((x as u32) >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn bit(x: u16, n: u32) -> u32 {
    ((x as u32) >> n) & 1
}

/// Sign-extends the low `width` bits of `v`.
fn sext(v: u32, width: u32) -> i32 {
    let s = 32 - width;
    ((v << s) as i32) >> s
}

/// The compressed register fields name x8..x15.
fn creg(x: u16, lo: u32) -> u32 {
    bits(x, lo + 2, lo) + 8
}

/// The 6-bit immediate of CI-format instructions: imm[5] = bit 12, imm[4:0] = bits 6:2.
fn ci_imm(x: u16) -> i32 {
    sext(bit(x, 12) << 5 | bits(x, 6, 2), 6)
}

/// Expands a compressed instruction to its 32-bit equivalent.
pub fn expand(x: u16) -> Option<u32> {
    let rd = bits(x, 11, 7);
    let rs2 = bits(x, 6, 2);
    let rdp = creg(x, 2); // rd' / rs2' in bits 4:2
    let rs1p = creg(x, 7); // rs1' / rd' in bits 9:7
    let quadrant = x & 3;
    let funct3 = bits(x, 15, 13);
    let word = match (quadrant, funct3) {
        // C.ADDI4SPN
        (0, 0) => {
            let imm = bits(x, 12, 11) << 4 | bits(x, 10, 7) << 6 | bit(x, 6) << 2 | bit(x, 5) << 3;
            if imm == 0 {
                return None;
            }
            asm::addi(rdp, 2, imm as i32)
        }
        // C.FLD
        (0, 1) => asm::i_type(
            opcode::LOAD_FP,
            rdp,
            3,
            rs1p,
            (bits(x, 12, 10) << 3 | bits(x, 6, 5) << 6) as i32,
        ),
        // C.LW
        (0, 2) => asm::lw(
            rdp,
            rs1p,
            (bits(x, 12, 10) << 3 | bit(x, 6) << 2 | bit(x, 5) << 6) as i32,
        ),
        // C.LD
        (0, 3) => asm::ld(rdp, rs1p, (bits(x, 12, 10) << 3 | bits(x, 6, 5) << 6) as i32),
        // C.FSD
        (0, 5) => asm::s_type(
            opcode::STORE_FP,
            3,
            rs1p,
            rdp,
            (bits(x, 12, 10) << 3 | bits(x, 6, 5) << 6) as i32,
        ),
        // C.SW
        (0, 6) => asm::sw(
            rdp,
            rs1p,
            (bits(x, 12, 10) << 3 | bit(x, 6) << 2 | bit(x, 5) << 6) as i32,
        ),
        // C.SD
        (0, 7) => asm::sd(rdp, rs1p, (bits(x, 12, 10) << 3 | bits(x, 6, 5) << 6) as i32),
        // C.ADDI (C.NOP when rd = 0)
        (1, 0) => asm::addi(rd, rd, ci_imm(x)),
        // C.ADDIW
        (1, 1) => {
            if rd == 0 {
                return None;
            }
            asm::addiw(rd, rd, ci_imm(x))
        }
        // C.LI
        (1, 2) => asm::addi(rd, 0, ci_imm(x)),
        (1, 3) => {
            if rd == 2 {
                // C.ADDI16SP
                let imm = bit(x, 12) << 9 | bit(x, 6) << 4 | bit(x, 5) << 6 | bits(x, 4, 3) << 7 | bit(x, 2) << 5;
                if imm == 0 {
                    return None;
                }
                asm::addi(2, 2, sext(imm, 10))
            } else {
                // C.LUI
                let imm = sext(bit(x, 12) << 17 | bits(x, 6, 2) << 12, 18);
                if imm == 0 {
                    return None;
                }
                asm::lui(rd, imm)
            }
        }
        (1, 4) => {
            let shamt = bit(x, 12) << 5 | bits(x, 6, 2);
            match bits(x, 11, 10) {
                0 => asm::srli(rs1p, rs1p, shamt),
                1 => asm::srai(rs1p, rs1p, shamt),
                2 => asm::andi(rs1p, rs1p, ci_imm(x)),
                _ => match (bit(x, 12), bits(x, 6, 5)) {
                    (0, 0) => asm::sub(rs1p, rs1p, rdp),
                    (0, 1) => asm::xor(rs1p, rs1p, rdp),
                    (0, 2) => asm::or(rs1p, rs1p, rdp),
                    (0, 3) => asm::and(rs1p, rs1p, rdp),
                    (1, 0) => asm::subw(rs1p, rs1p, rdp),
                    (1, 1) => asm::addw(rs1p, rs1p, rdp),
                    _ => return None,
                },
            }
        }
        // C.J
        (1, 5) => asm::jal(0, cj_offset(x)),
        // C.BEQZ, C.BNEZ
        (1, 6) => asm::beq(rs1p, 0, cb_offset(x)),
        (1, 7) => asm::bne(rs1p, 0, cb_offset(x)),
        // C.SLLI
        (2, 0) => asm::slli(rd, rd, bit(x, 12) << 5 | bits(x, 6, 2)),
        // C.FLDSP
        (2, 1) => asm::i_type(
            opcode::LOAD_FP,
            rd,
            3,
            2,
            (bit(x, 12) << 5 | bits(x, 6, 5) << 3 | bits(x, 4, 2) << 6) as i32,
        ),
        // C.LWSP
        (2, 2) => {
            if rd == 0 {
                return None;
            }
            asm::lw(
                rd,
                2,
                (bit(x, 12) << 5 | bits(x, 6, 4) << 2 | bits(x, 3, 2) << 6) as i32,
            )
        }
        // C.LDSP
        (2, 3) => {
            if rd == 0 {
                return None;
            }
            asm::ld(
                rd,
                2,
                (bit(x, 12) << 5 | bits(x, 6, 5) << 3 | bits(x, 4, 2) << 6) as i32,
            )
        }
        (2, 4) => match (bit(x, 12), rd, rs2) {
            (0, 0, 0) => return None, // C.JR with rs1 = 0 is reserved
            (0, _, 0) => asm::jalr(0, rd, 0),
            (0, _, _) => asm::add(rd, 0, rs2), // C.MV
            (1, 0, 0) => asm::ebreak(),
            (1, _, 0) => asm::jalr(1, rd, 0), // C.JALR
            (1, _, _) => asm::add(rd, rd, rs2),
            _ => unreachable!("bit 12 is one bit"),
        },
        // C.FSDSP
        (2, 5) => asm::s_type(
            opcode::STORE_FP,
            3,
            2,
            rs2,
            (bits(x, 12, 10) << 3 | bits(x, 9, 7) << 6) as i32,
        ),
        // C.SWSP
        (2, 6) => asm::sw(rs2, 2, (bits(x, 12, 9) << 2 | bits(x, 8, 7) << 6) as i32),
        // C.SDSP
        (2, 7) => asm::sd(rs2, 2, (bits(x, 12, 10) << 3 | bits(x, 9, 7) << 6) as i32),
        _ => return None,
    };
    Some(word)
}

fn cj_offset(x: u16) -> i32 {
    let v = bit(x, 12) << 11
        | bit(x, 11) << 4
        | bits(x, 10, 9) << 8
        | bit(x, 8) << 10
        | bit(x, 7) << 6
        | bit(x, 6) << 7
        | bits(x, 5, 3) << 1
        | bit(x, 2) << 5;
    sext(v, 12)
}

fn cb_offset(x: u16) -> i32 {
    let v = bit(x, 12) << 8 | bits(x, 11, 10) << 3 | bits(x, 6, 5) << 6 | bits(x, 4, 3) << 1 | bit(x, 2) << 5;
    sext(v, 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_expansions() {
        // Pairs checked against the GNU assembler's compressed and full forms.
        assert_eq!(expand(0x4515), Some(asm::addi(10, 0, 5))); // c.li a0,5
        assert_eq!(expand(0x1141), Some(asm::addi(2, 2, -16))); // c.addi sp,-16
        assert_eq!(expand(0xe406), Some(asm::sd(1, 2, 8))); // c.sdsp ra,8(sp)
        assert_eq!(expand(0x60a2), Some(asm::ld(1, 2, 8))); // c.ldsp ra,8(sp)
        assert_eq!(expand(0x8082), Some(asm::jalr(0, 1, 0))); // ret
        assert_eq!(expand(0x9002), Some(asm::ebreak()));
        assert_eq!(expand(0x0000), None);
        assert_eq!(expand(0x8002), None); // c.jr x0
    }
}
