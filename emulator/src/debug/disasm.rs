//! A small disassembler built on the hart's own decoder: what the debugger
//! shows is what the hart executes (a compressed instruction is shown in
//! the form it expands to). Common pseudo-instructions are used (li, mv,
//! j, ret, beqz, csrr, ...), as objdump does.

use crate::cpu::decode::{Insn, Op};

/// The integer registers' ABI names.
pub const ABI: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2",
    "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

/// The floating-point registers' ABI names.
pub const FABI: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
    "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// The register numbered by an ABI name, `xN`, or `fp` (= s0).
pub fn register_number(name: &str) -> Option<usize> {
    if name == "fp" {
        return Some(8);
    }
    if let Some(i) = ABI.iter().position(|&n| n == name) {
        return Some(i);
    }
    name.strip_prefix('x')
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n < 32)
}

/// The mnemonic of an operation: `AmoswapW` is `amoswap.w`, `FcvtWuS` is `fcvt.wu.s`.
pub fn mnemonic(op: Op) -> String {
    if op == Op::Illegal {
        return "unimp".into();
    }
    let name = format!("{op:?}");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('.');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn x(r: u8) -> &'static str {
    ABI[r as usize & 31]
}

fn f(r: u8) -> &'static str {
    FABI[r as usize & 31]
}

/// The rounding-mode suffix of a floating-point operation (none for dyn).
fn rm_suffix(rm: i32) -> &'static str {
    match rm & 7 {
        0 => ", rne",
        1 => ", rtz",
        2 => ", rdn",
        3 => ", rup",
        4 => ", rmm",
        _ => "",
    }
}

/// One instruction at `pc` as text. `symbolize` names a target address
/// (for jumps and branches), if it can.
pub fn format(insn: &Insn, pc: u64, symbolize: &dyn Fn(u64) -> Option<String>) -> String {
    use Op::*;
    let (rd, rs1, rs2, imm) = (insn.rd, insn.rs1, insn.rs2, insn.imm as i64);
    let m = mnemonic(insn.op);
    let target = |off: i64| {
        let t = pc.wrapping_add(off as u64);
        match symbolize(t) {
            Some(s) => format!("{t:#x} <{s}>"),
            None => format!("{t:#x}"),
        }
    };
    let csr = || {
        let n = (insn.imm as u32 & 0xfff) as u16;
        super::csr_names::name(n).unwrap_or_else(|| format!("{n:#x}"))
    };
    match insn.op {
        Illegal => format!("unimp ({:#x})", insn.raw),
        Lui => format!("lui {}, {:#x}", x(rd), (imm as u64 >> 12) & 0xfffff),
        Auipc => format!("auipc {}, {:#x}", x(rd), (imm as u64 >> 12) & 0xfffff),
        Jal if rd == 0 => format!("j {}", target(imm)),
        Jal if rd == 1 => format!("jal {}", target(imm)),
        Jal => format!("jal {}, {}", x(rd), target(imm)),
        Jalr if rd == 0 && rs1 == 1 && imm == 0 => "ret".into(),
        Jalr if rd == 0 && imm == 0 => format!("jr {}", x(rs1)),
        Jalr if rd == 1 && imm == 0 => format!("jalr {}", x(rs1)),
        Jalr => format!("jalr {}, {imm}({})", x(rd), x(rs1)),
        Beq | Bne | Blt | Bge | Bltu | Bgeu if rs2 == 0 && matches!(insn.op, Beq | Bne | Blt | Bge) => {
            format!("{m}z {}, {}", x(rs1), target(imm))
        }
        Beq | Bne | Blt | Bge | Bltu | Bgeu => format!("{m} {}, {}, {}", x(rs1), x(rs2), target(imm)),
        Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => format!("{m} {}, {imm}({})", x(rd), x(rs1)),
        Sb | Sh | Sw | Sd => format!("{m} {}, {imm}({})", x(rs2), x(rs1)),
        Flw | Fld => format!("{m} {}, {imm}({})", f(rd), x(rs1)),
        Fsw | Fsd => format!("{m} {}, {imm}({})", f(rs2), x(rs1)),
        Addi if rd == 0 && rs1 == 0 && imm == 0 => "nop".into(),
        Addi if rs1 == 0 => format!("li {}, {imm}", x(rd)),
        Addi if imm == 0 => format!("mv {}, {}", x(rd), x(rs1)),
        Addiw if imm == 0 => format!("sext.w {}, {}", x(rd), x(rs1)),
        Xori if imm == -1 => format!("not {}, {}", x(rd), x(rs1)),
        Sltiu if imm == 1 => format!("seqz {}, {}", x(rd), x(rs1)),
        Addi | Slti | Sltiu | Xori | Ori | Andi | Addiw => format!("{m} {}, {}, {imm}", x(rd), x(rs1)),
        Slli | Srli | Srai | Slliw | Srliw | Sraiw => format!("{m} {}, {}, {imm}", x(rd), x(rs1)),
        Sub if rs1 == 0 => format!("neg {}, {}", x(rd), x(rs2)),
        Sltu if rs1 == 0 => format!("snez {}, {}", x(rd), x(rs2)),
        Fence => "fence".into(),
        FenceI | Ecall | Ebreak | Mret | Sret | Wfi => m,
        SfenceVma => format!("sfence.vma {}, {}", x(rs1), x(rs2)),
        LrW | LrD => format!("{m} {}, ({})", x(rd), x(rs1)),
        ScW | ScD | AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmominW | AmomaxW | AmominuW | AmomaxuW
        | AmoswapD | AmoaddD | AmoxorD | AmoandD | AmoorD | AmominD | AmomaxD | AmominuD | AmomaxuD => {
            format!("{m} {}, {}, ({})", x(rd), x(rs2), x(rs1))
        }
        Csrrs if rs1 == 0 => format!("csrr {}, {}", x(rd), csr()),
        Csrrw if rd == 0 => format!("csrw {}, {}", csr(), x(rs1)),
        Csrrs if rd == 0 => format!("csrs {}, {}", csr(), x(rs1)),
        Csrrc if rd == 0 => format!("csrc {}, {}", csr(), x(rs1)),
        Csrrw | Csrrs | Csrrc => format!("{m} {}, {}, {}", x(rd), csr(), x(rs1)),
        Csrrwi | Csrrsi | Csrrci => format!("{m} {}, {}, {rs1}", x(rd), csr()),
        FmaddS | FmsubS | FnmsubS | FnmaddS | FmaddD | FmsubD | FnmsubD | FnmaddD => format!(
            "{m} {}, {}, {}, {}{}",
            f(rd),
            f(rs1),
            f(rs2),
            f((imm >> 3) as u8),
            rm_suffix(insn.imm)
        ),
        FaddS | FsubS | FmulS | FdivS | FaddD | FsubD | FmulD | FdivD => {
            format!("{m} {}, {}, {}{}", f(rd), f(rs1), f(rs2), rm_suffix(insn.imm))
        }
        FsqrtS | FsqrtD | FcvtSD | FcvtDS => format!("{m} {}, {}{}", f(rd), f(rs1), rm_suffix(insn.imm)),
        FsgnjS | FsgnjD if rs1 == rs2 => format!("fmv.{} {}, {}", &m[m.len() - 1..], f(rd), f(rs1)),
        FsgnjS | FsgnjnS | FsgnjxS | FminS | FmaxS | FsgnjD | FsgnjnD | FsgnjxD | FminD | FmaxD => {
            format!("{m} {}, {}, {}", f(rd), f(rs1), f(rs2))
        }
        FeqS | FltS | FleS | FeqD | FltD | FleD => format!("{m} {}, {}, {}", x(rd), f(rs1), f(rs2)),
        FcvtWS | FcvtWuS | FcvtLS | FcvtLuS | FcvtWD | FcvtWuD | FcvtLD | FcvtLuD => {
            format!("{m} {}, {}{}", x(rd), f(rs1), rm_suffix(insn.imm))
        }
        FcvtSW | FcvtSWu | FcvtSL | FcvtSLu | FcvtDW | FcvtDWu | FcvtDL | FcvtDLu => {
            format!("{m} {}, {}{}", f(rd), x(rs1), rm_suffix(insn.imm))
        }
        FmvXW | FmvXD | FclassS | FclassD => format!("{m} {}, {}", x(rd), f(rs1)),
        FmvWX | FmvDX => format!("{m} {}, {}", f(rd), x(rs1)),
        _ => format!("{m} {}, {}, {}", x(rd), x(rs1), x(rs2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm;
    use crate::cpu::decode::decode;

    fn show(word: u32) -> String {
        format(&decode(word), 0x8000_0000, &|_| None)
    }

    #[test]
    fn common_forms() {
        assert_eq!(show(asm::addi(10, 0, 5)), "li a0, 5");
        assert_eq!(show(asm::addi(10, 11, 0)), "mv a0, a1");
        assert_eq!(show(asm::addi(10, 11, -3)), "addi a0, a1, -3");
        assert_eq!(show(asm::sd(1, 2, 8)), "sd ra, 8(sp)");
        assert_eq!(show(asm::jal(0, 8)), "j 0x80000008");
        assert_eq!(show(0x0000_8067), "ret");
        assert_eq!(show(asm::ecall()), "ecall");
        assert_eq!(show(0x3420_2573), "csrr a0, mcause");
        assert_eq!(mnemonic(Op::FcvtWuS), "fcvt.wu.s");
        assert_eq!(mnemonic(Op::AmoswapD), "amoswap.d");
    }
}
