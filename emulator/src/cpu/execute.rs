//! Instruction semantics. Each arm computes the result of one operation; the
//! next pc is `pc + len` unless the instruction transfers control. A guest
//! error is returned as a [`Trap`] and taken by the caller, never a panic.

use super::csr::mstatus;
use super::decode::{Insn, Op};
use super::mmu::Access;
use super::trap::{Exception, Trap};
use super::{Hart, Priv};
use crate::bus::Bus;

fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

impl Hart {
    pub(super) fn illegal(&self, insn: &Insn) -> Trap {
        Trap::new(Exception::IllegalInstruction, insn.raw as u64)
    }

    #[inline]
    pub(super) fn set_x(&mut self, rd: u8, value: u64) {
        if rd != 0 {
            self.x[rd as usize & 31] = value; // decode gives 0..=31; the mask spares a bounds check
        }
    }

    /// Executes one decoded instruction at `self.pc`.
    #[inline(always)] // into the block loop: no call per instruction
    pub(crate) fn execute(&mut self, insn: &Insn, bus: &mut Bus) -> Result<(), Trap> {
        let pc = self.pc;
        let next = pc.wrapping_add(insn.len as u64);
        let a = self.x[insn.rs1 as usize & 31];
        let b = self.x[insn.rs2 as usize & 31];
        let imm = insn.imm as i64 as u64;
        let rd = insn.rd;
        let branch = |taken: bool| if taken { pc.wrapping_add(imm) } else { next };
        let mut new_pc = next;
        use Op::*;
        match insn.op {
            Illegal => return Err(self.illegal(insn)),
            Lui => self.set_x(rd, imm),
            Auipc => self.set_x(rd, pc.wrapping_add(imm)),
            Jal => {
                self.set_x(rd, next);
                new_pc = pc.wrapping_add(imm);
            }
            Jalr => {
                new_pc = a.wrapping_add(imm) & !1;
                self.set_x(rd, next);
            }
            Beq => new_pc = branch(a == b),
            Bne => new_pc = branch(a != b),
            Blt => new_pc = branch((a as i64) < (b as i64)),
            Bge => new_pc = branch((a as i64) >= (b as i64)),
            Bltu => new_pc = branch(a < b),
            Bgeu => new_pc = branch(a >= b),
            Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => {
                let (size, signed) = match insn.op {
                    Lb => (1, true),
                    Lh => (2, true),
                    Lw => (4, true),
                    Ld => (8, false),
                    Lbu => (1, false),
                    Lhu => (2, false),
                    _ => (4, false),
                };
                let raw = self.load(bus, a.wrapping_add(imm), size)?;
                let value = if signed {
                    let shift = 64 - 8 * size;
                    (((raw << shift) as i64) >> shift) as u64
                } else {
                    raw
                };
                self.set_x(rd, value);
            }
            Sb => self.store(bus, a.wrapping_add(imm), 1, b)?,
            Sh => self.store(bus, a.wrapping_add(imm), 2, b)?,
            Sw => self.store(bus, a.wrapping_add(imm), 4, b)?,
            Sd => self.store(bus, a.wrapping_add(imm), 8, b)?,
            Addi => self.set_x(rd, a.wrapping_add(imm)),
            Slti => self.set_x(rd, ((a as i64) < (imm as i64)) as u64),
            Sltiu => self.set_x(rd, (a < imm) as u64),
            Xori => self.set_x(rd, a ^ imm),
            Ori => self.set_x(rd, a | imm),
            Andi => self.set_x(rd, a & imm),
            Slli => self.set_x(rd, a << (imm & 63)),
            Srli => self.set_x(rd, a >> (imm & 63)),
            Srai => self.set_x(rd, ((a as i64) >> (imm & 63)) as u64),
            Add => self.set_x(rd, a.wrapping_add(b)),
            Sub => self.set_x(rd, a.wrapping_sub(b)),
            Sll => self.set_x(rd, a << (b & 63)),
            Slt => self.set_x(rd, ((a as i64) < (b as i64)) as u64),
            Sltu => self.set_x(rd, (a < b) as u64),
            Xor => self.set_x(rd, a ^ b),
            Srl => self.set_x(rd, a >> (b & 63)),
            Sra => self.set_x(rd, ((a as i64) >> (b & 63)) as u64),
            Or => self.set_x(rd, a | b),
            And => self.set_x(rd, a & b),
            Addiw => self.set_x(rd, sext32(a.wrapping_add(imm))),
            Slliw => self.set_x(rd, sext32(((a as u32) << (imm & 31)) as u64)),
            Srliw => self.set_x(rd, sext32(((a as u32) >> (imm & 31)) as u64)),
            Sraiw => self.set_x(rd, ((a as i32) >> (imm & 31)) as i64 as u64),
            Addw => self.set_x(rd, sext32(a.wrapping_add(b))),
            Subw => self.set_x(rd, sext32(a.wrapping_sub(b))),
            Sllw => self.set_x(rd, sext32(((a as u32) << (b & 31)) as u64)),
            Srlw => self.set_x(rd, sext32(((a as u32) >> (b & 31)) as u64)),
            Sraw => self.set_x(rd, ((a as i32) >> (b & 31)) as i64 as u64),
            // No instruction cache yet, so both fences only order memory,
            // which a sequentially consistent machine already does.
            Fence | FenceI => {}
            Ecall => {
                let cause = match self.prv {
                    Priv::U => Exception::EcallFromU,
                    Priv::S => Exception::EcallFromS,
                    Priv::M => Exception::EcallFromM,
                };
                return Err(Trap::new(cause, 0));
            }
            Ebreak => return Err(Trap::new(Exception::Breakpoint, pc)),
            Mul | Mulh | Mulhsu | Mulhu | Div | Divu | Rem | Remu | Mulw | Divw | Divuw | Remw | Remuw => {
                self.set_x(rd, muldiv(insn.op, a, b))
            }
            LrW | LrD => {
                let size = if insn.op == LrW { 4 } else { 8 };
                self.check_atomic_alignment(a, size, Access::Load)?;
                let pa = self.translate(bus, a, Access::Load)?;
                let raw = self.load_phys(bus, pa, size, a)?;
                bus.reserve(self.id, pa);
                self.set_x(rd, if size == 4 { sext32(raw) } else { raw });
            }
            ScW | ScD => {
                let size = if insn.op == ScW { 4 } else { 8 };
                self.check_atomic_alignment(a, size, Access::Store)?;
                let pa = self.translate(bus, a, Access::Store)?;
                let success = bus.take_reservation(self.id, pa);
                if success {
                    self.store_phys(bus, pa, size, b, a)?;
                }
                self.set_x(rd, (!success) as u64);
            }
            AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmominW | AmomaxW | AmominuW | AmomaxuW | AmoswapD
            | AmoaddD | AmoxorD | AmoandD | AmoorD | AmominD | AmomaxD | AmominuD | AmomaxuD => {
                let old = self.amo(insn.op, bus, a, b)?;
                self.set_x(rd, old);
            }
            Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci => self.csr_insn(insn, bus, a)?,
            Mret => {
                if self.prv != Priv::M {
                    return Err(self.illegal(insn));
                }
                self.do_mret();
                return Ok(());
            }
            Sret => {
                if self.prv < Priv::S || (self.prv == Priv::S && self.csr.mstatus & mstatus::TSR != 0) {
                    return Err(self.illegal(insn));
                }
                self.do_sret();
                return Ok(());
            }
            Wfi => {
                // WFI traps in U-mode, and in S-mode when mstatus.TW is set.
                if self.prv == Priv::U || (self.prv == Priv::S && self.csr.mstatus & mstatus::TW != 0) {
                    return Err(self.illegal(insn));
                }
                if !self.wakeup_pending() {
                    self.start_waiting();
                }
            }
            SfenceVma => {
                if self.prv == Priv::U || (self.prv == Priv::S && self.csr.mstatus & mstatus::TVM != 0) {
                    return Err(self.illegal(insn));
                }
                self.tlb.flush();
            }
            // F and D, in fpu.rs.
            Flw | Fsw | FmaddS | FmsubS | FnmsubS | FnmaddS | FaddS | FsubS | FmulS | FdivS | FsqrtS | FsgnjS
            | FsgnjnS | FsgnjxS | FminS | FmaxS | FcvtWS | FcvtWuS | FcvtLS | FcvtLuS | FcvtSW | FcvtSWu | FcvtSL
            | FcvtSLu | FmvXW | FmvWX | FeqS | FltS | FleS | FclassS | Fld | Fsd | FmaddD | FmsubD | FnmsubD
            | FnmaddD | FaddD | FsubD | FmulD | FdivD | FsqrtD | FsgnjD | FsgnjnD | FsgnjxD | FminD | FmaxD
            | FcvtWD | FcvtWuD | FcvtLD | FcvtLuD | FcvtDW | FcvtDWu | FcvtDL | FcvtDLu | FmvXD | FmvDX | FeqD
            | FltD | FleD | FclassD | FcvtSD | FcvtDS => self.execute_fp(insn, bus)?,
        }
        self.pc = new_pc;
        Ok(())
    }

    /// An AMO: read, combine, write back, atomically (no other hart runs
    /// in between). Returns the old value, sign-extended for the W forms.
    #[inline(never)] // rare: kept out of the instruction loop
    fn amo(&mut self, op: Op, bus: &mut Bus, va: u64, src: u64) -> Result<u64, Trap> {
        use Op::*;
        let word = matches!(
            op,
            AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmominW | AmomaxW | AmominuW | AmomaxuW
        );
        let size = if word { 4 } else { 8 };
        self.check_atomic_alignment(va, size, Access::Store)?;
        let pa = self.translate(bus, va, Access::Store)?;
        let raw = self
            .load_phys(bus, pa, size, va)
            .map_err(|t| Trap::new(Exception::StoreAccessFault, t.tval))?;
        let (old, src) = if word { (sext32(raw), sext32(src)) } else { (raw, src) };
        let new = match op {
            AmoswapW | AmoswapD => src,
            AmoaddW | AmoaddD => old.wrapping_add(src),
            AmoxorW | AmoxorD => old ^ src,
            AmoandW | AmoandD => old & src,
            AmoorW | AmoorD => old | src,
            AmominW | AmominD => (old as i64).min(src as i64) as u64,
            AmomaxW | AmomaxD => (old as i64).max(src as i64) as u64,
            AmominuW => (old as u32).min(src as u32) as u64,
            AmomaxuW => (old as u32).max(src as u32) as u64,
            AmominuD => old.min(src),
            _ => old.max(src),
        };
        self.store_phys(bus, pa, size, new, va)?;
        Ok(old)
    }

    /// The six Zicsr instructions. A CSR is not written when rs1 is x0 (or
    /// the immediate is 0) for the set and clear forms, and not read for
    /// csrrw/csrrwi with rd = x0, so neither side effect happens then.
    #[inline(never)] // rare: kept out of the instruction loop
    fn csr_insn(&mut self, insn: &Insn, bus: &mut Bus, rs1_value: u64) -> Result<(), Trap> {
        use Op::*;
        let csr = (insn.imm as u32 & 0xfff) as u16;
        let operand = match insn.op {
            Csrrwi | Csrrsi | Csrrci => insn.rs1 as u64,
            _ => rs1_value,
        };
        let writes = match insn.op {
            Csrrw | Csrrwi => true,
            _ => insn.rs1 != 0,
        };
        if !self.csr_accessible(csr, writes) {
            return Err(self.illegal(insn));
        }
        let reads = !matches!(insn.op, Csrrw | Csrrwi) || insn.rd != 0;
        let old = if reads { self.csr_read(bus, csr) } else { 0 };
        if writes {
            // mip.SEIP reads as the PLIC's line OR the software bit, but only
            // the software bit takes part in a read-modify-write (§3.1.9).
            let base = if csr == super::csr::addr::MIP {
                let seip = super::csr::Interrupts::SEI.bits();
                (old & !seip) | (self.csr.mip_sw & seip)
            } else {
                old
            };
            let new = match insn.op {
                Csrrw | Csrrwi => operand,
                Csrrs | Csrrsi => base | operand,
                _ => base & !operand,
            };
            self.csr_write(csr, new);
            // A CSR write may unmask an interrupt or move a timer.
            self.resync();
        }
        self.set_x(insn.rd, old);
        Ok(())
    }
}

/// The M extension. Division by zero and overflow give the results the spec
/// defines (§13.2) rather than trapping.
fn muldiv(op: Op, a: u64, b: u64) -> u64 {
    use Op::*;
    let (sa, sb) = (a as i64, b as i64);
    match op {
        Mul => a.wrapping_mul(b),
        Mulh => ((sa as i128 * sb as i128) >> 64) as u64,
        Mulhsu => ((sa as i128 * b as u128 as i128) >> 64) as u64,
        Mulhu => ((a as u128 * b as u128) >> 64) as u64,
        Div => match (sa, sb) {
            (_, 0) => u64::MAX,
            (i64::MIN, -1) => a,
            _ => (sa / sb) as u64,
        },
        Divu => a.checked_div(b).unwrap_or(u64::MAX),
        Rem => match (sa, sb) {
            (_, 0) => a,
            (i64::MIN, -1) => 0,
            _ => (sa % sb) as u64,
        },
        Remu => a.checked_rem(b).unwrap_or(a),
        Mulw => sext32(a.wrapping_mul(b)),
        Divw => {
            let (x, y) = (a as i32, b as i32);
            match (x, y) {
                (_, 0) => u64::MAX,
                (i32::MIN, -1) => x as i64 as u64,
                _ => (x / y) as i64 as u64,
            }
        }
        Divuw => {
            let (x, y) = (a as u32, b as u32);
            sext32(x.checked_div(y).unwrap_or(u32::MAX) as u64)
        }
        Remw => {
            let (x, y) = (a as i32, b as i32);
            match (x, y) {
                (_, 0) => x as i64 as u64,
                (i32::MIN, -1) => 0,
                _ => (x % y) as i64 as u64,
            }
        }
        Remuw => {
            let (x, y) = (a as u32, b as u32);
            sext32(x.checked_rem(y).unwrap_or(x) as u64)
        }
        _ => unreachable!("muldiv called with {op:?}"),
    }
}
