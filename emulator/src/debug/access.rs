//! The memory accesses an instruction makes, worked out from its decoded
//! form and the registers before it ran (for watchpoints and the
//! instruction trace), so the hart's load and store paths carry no hook.

use crate::cpu::decode::{Insn, Op};

/// What an access does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    Load,
    Store,
    /// Read, then written (AMOs).
    ReadWrite,
}

/// One access of `size` bytes at virtual address `va`. `value` is what a
/// store writes (for an AMO, filled in after the fact by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub kind: AccessKind,
    pub va: u64,
    pub size: u64,
    pub value: u64,
}

/// The access `insn` makes, given the integer and floating-point registers
/// before it ran. A store-conditional is reported as a store; whether it
/// happened shows in its rd afterwards.
pub fn of(insn: &Insn, x: &[u64; 32], f: &[u64; 32]) -> Option<Access> {
    use Op::*;
    let base = x[insn.rs1 as usize];
    let ea = base.wrapping_add(insn.imm as i64 as u64);
    let mask = |size: u64| if size == 8 { u64::MAX } else { (1 << (8 * size)) - 1 };
    let (kind, va, size, value) = match insn.op {
        Lb | Lbu => (AccessKind::Load, ea, 1, 0),
        Lh | Lhu => (AccessKind::Load, ea, 2, 0),
        Lw | Lwu | Flw => (AccessKind::Load, ea, 4, 0),
        Ld | Fld => (AccessKind::Load, ea, 8, 0),
        Sb => (AccessKind::Store, ea, 1, x[insn.rs2 as usize]),
        Sh => (AccessKind::Store, ea, 2, x[insn.rs2 as usize]),
        Sw => (AccessKind::Store, ea, 4, x[insn.rs2 as usize]),
        Sd => (AccessKind::Store, ea, 8, x[insn.rs2 as usize]),
        Fsw => (AccessKind::Store, ea, 4, f[insn.rs2 as usize]),
        Fsd => (AccessKind::Store, ea, 8, f[insn.rs2 as usize]),
        LrW => (AccessKind::Load, base, 4, 0),
        LrD => (AccessKind::Load, base, 8, 0),
        ScW => (AccessKind::Store, base, 4, x[insn.rs2 as usize]),
        ScD => (AccessKind::Store, base, 8, x[insn.rs2 as usize]),
        AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmominW | AmomaxW | AmominuW | AmomaxuW => {
            (AccessKind::ReadWrite, base, 4, 0)
        }
        AmoswapD | AmoaddD | AmoxorD | AmoandD | AmoorD | AmominD | AmomaxD | AmominuD | AmomaxuD => {
            (AccessKind::ReadWrite, base, 8, 0)
        }
        _ => return None,
    };
    Some(Access {
        kind,
        va,
        size,
        value: value & mask(size),
    })
}

/// Whether `op` writes its integer rd.
pub fn writes_x(op: Op) -> bool {
    use Op::*;
    !matches!(
        op,
        Illegal
            | Beq
            | Bne
            | Blt
            | Bge
            | Bltu
            | Bgeu
            | Sb
            | Sh
            | Sw
            | Sd
            | Fence
            | FenceI
            | Ecall
            | Ebreak
            | Mret
            | Sret
            | Wfi
            | SfenceVma
            | Fsw
            | Fsd
    ) && (!is_fp(op)
        || matches!(
            op,
            FcvtWS
                | FcvtWuS
                | FcvtLS
                | FcvtLuS
                | FmvXW
                | FeqS
                | FltS
                | FleS
                | FclassS
                | FcvtWD
                | FcvtWuD
                | FcvtLD
                | FcvtLuD
                | FmvXD
                | FeqD
                | FltD
                | FleD
                | FclassD
        ))
}

/// Whether `op` writes its floating-point rd.
pub fn writes_f(op: Op) -> bool {
    is_fp(op) && !writes_x(op) && !matches!(op, Op::Fsw | Op::Fsd)
}

/// Whether `op` belongs to F or D.
pub fn is_fp(op: Op) -> bool {
    (Op::Flw as usize..=Op::FcvtDS as usize).contains(&(op as usize))
}

/// Whether `op` may raise floating-point exception flags.
pub fn may_raise_fp_flags(op: Op) -> bool {
    use Op::*;
    is_fp(op)
        && !matches!(
            op,
            Flw | Fsw
                | Fld
                | Fsd
                | FmvXW
                | FmvWX
                | FmvXD
                | FmvDX
                | FsgnjS
                | FsgnjnS
                | FsgnjxS
                | FsgnjD
                | FsgnjnD
                | FsgnjxD
                | FclassS
                | FclassD
        )
}
