//! The F and D extensions (unprivileged spec 20191213, chapters 11-12).
//!
//! Arithmetic, conversions and their rounding and exception flags come from
//! Berkeley SoftFloat 3e (the library Spike uses), so results are bit-exact
//! and flags exact in every rounding mode. SoftFloat is built with its x86
//! specialisation, whose NaN and invalid-conversion results differ from
//! RISC-V's; this file applies RISC-V's: every NaN an operation produces is
//! the canonical NaN, and a float-to-integer conversion that raises NV gives
//! the largest integer for NaN and positive inputs and the smallest for
//! negative ones. Sign injection, min/max, comparisons and classification
//! need no rounding and are done here on the bits.
//!
//! Singles live NaN-boxed in the 64-bit registers: a single-precision operand
//! whose upper 32 bits are not all ones reads as the canonical NaN, and every
//! single result is written boxed. Writing an f register or accruing a flag
//! makes mstatus.FS Dirty; with FS Off every instruction here is illegal.

use sf::{float32_t as F32, float64_t as F64};
use softfloat_rs as sf;

use super::csr::{mstatus, FRM_SHIFT};
use super::decode::{Insn, Op};
use super::trap::Trap;
use super::Hart;
use crate::bus::Bus;

/// The invalid-operation flag (fflags.NV); the other flags are only accrued.
const NV: u8 = 0x10;

/// The canonical NaNs.
pub const CANONICAL_NAN_S: u32 = 0x7fc0_0000;
pub const CANONICAL_NAN_D: u64 = 0x7ff8_0000_0000_0000;

/// The upper half of a NaN-boxed single.
const BOX: u64 = 0xffff_ffff_0000_0000;

/// A binary floating-point format: field masks over its bits (in a u64).
struct Format {
    sign: u64,
    exponent: u64,
    fraction: u64,
    /// The most significant fraction bit: set in a quiet NaN.
    quiet: u64,
}

const S: Format = Format {
    sign: 1 << 31,
    exponent: 0xff << 23,
    fraction: (1 << 23) - 1,
    quiet: 1 << 22,
};

const D: Format = Format {
    sign: 1 << 63,
    exponent: 0x7ff << 52,
    fraction: (1 << 52) - 1,
    quiet: 1 << 51,
};

impl Format {
    fn is_nan(&self, x: u64) -> bool {
        x & self.exponent == self.exponent && x & self.fraction != 0
    }

    fn is_snan(&self, x: u64) -> bool {
        self.is_nan(x) && x & self.quiet == 0
    }

    /// The value zero, either sign.
    fn is_zero(&self, x: u64) -> bool {
        x & !self.sign == 0
    }

    /// A key that orders non-NaN values as unsigned integers, -0 below +0.
    fn order_key(&self, x: u64) -> u64 {
        if x & self.sign != 0 {
            !x & (self.sign | (self.sign - 1))
        } else {
            x | self.sign
        }
    }

    /// fclass: a one-hot mask of the ten classes.
    fn classify(&self, x: u64) -> u64 {
        let negative = x & self.sign != 0;
        let (exponent, fraction) = (x & self.exponent, x & self.fraction);
        let class = if exponent == self.exponent {
            match (fraction, fraction & self.quiet) {
                (0, _) if negative => 0, // -inf
                (0, _) => 7,             // +inf
                (_, 0) => 8,             // signalling NaN
                _ => 9,                  // quiet NaN
            }
        } else if exponent == 0 {
            match (fraction, negative) {
                (0, true) => 3,  // -0
                (0, false) => 4, // +0
                (_, true) => 2,  // negative subnormal
                (_, false) => 5, // positive subnormal
            }
        } else if negative {
            1
        } else {
            6
        };
        1 << class
    }

    /// fsgnj, fsgnjn and fsgnjx: `a` with a sign taken from `b`.
    fn inject_sign(&self, op: Op, a: u64, b: u64) -> u64 {
        use Op::*;
        let sign = match op {
            FsgnjS | FsgnjD => b,
            FsgnjnS | FsgnjnD => !b,
            _ => a ^ b,
        } & self.sign;
        (a & !self.sign) | sign
    }

    /// fmin and fmax (the 2019 spec's minimumNumber and maximumNumber): a
    /// NaN operand gives way to a number, two NaNs give the canonical NaN,
    /// -0 is below +0, and a signalling NaN raises NV.
    fn min_max(&self, max: bool, a: u64, b: u64, canonical_nan: u64) -> (u64, u8) {
        let flags = if self.is_snan(a) || self.is_snan(b) { NV } else { 0 };
        let value = match (self.is_nan(a), self.is_nan(b)) {
            (true, true) => canonical_nan,
            (true, false) => b,
            (false, true) => a,
            _ if (self.order_key(a) < self.order_key(b)) != max => a,
            _ => b,
        };
        (value, flags)
    }

    /// feq (quiet: NV only for a signalling NaN), flt and fle (signalling:
    /// NV for any NaN). A NaN operand makes the result 0.
    fn compare(&self, op: Op, a: u64, b: u64) -> (u64, u8) {
        use Op::*;
        let equal = a == b || (self.is_zero(a) && self.is_zero(b));
        let less = !equal && self.order_key(a) < self.order_key(b);
        let quiet = matches!(op, FeqS | FeqD);
        if self.is_nan(a) || self.is_nan(b) {
            let raise = !quiet || self.is_snan(a) || self.is_snan(b);
            return (0, if raise { NV } else { 0 });
        }
        let result = match op {
            FeqS | FeqD => equal,
            FltS | FltD => less,
            _ => less || equal,
        };
        (result as u64, 0)
    }
}

fn canonical_s(x: F32) -> u32 {
    if S.is_nan(x.v as u64) {
        CANONICAL_NAN_S
    } else {
        x.v
    }
}

fn canonical_d(x: F64) -> u64 {
    if D.is_nan(x.v) {
        CANONICAL_NAN_D
    } else {
        x.v
    }
}

/// A single NaN-boxed into a 64-bit register.
fn boxed(x: u32) -> u64 {
    BOX | x as u64
}

fn negate_s(x: F32) -> F32 {
    F32 { v: x.v ^ S.sign as u32 }
}

fn negate_d(x: F64) -> F64 {
    F64 { v: x.v ^ D.sign }
}

/// Whether `op` reads and writes only f registers and fcsr: no x register
/// and no memory.
pub(super) fn in_place(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        FaddS
            | FsubS
            | FmulS
            | FdivS
            | FsqrtS
            | FmaddS
            | FmsubS
            | FnmsubS
            | FnmaddS
            | FsgnjS
            | FsgnjnS
            | FsgnjxS
            | FminS
            | FmaxS
            | FaddD
            | FsubD
            | FmulD
            | FdivD
            | FsqrtD
            | FmaddD
            | FmsubD
            | FnmsubD
            | FnmaddD
            | FsgnjD
            | FsgnjnD
            | FsgnjxD
            | FminD
            | FmaxD
            | FcvtSD
            | FcvtDS
    )
}

/// Round to nearest, ties to even: rm 0.
const RNE: u8 = 0;
/// The inexact flag.
const NX: u8 = 0x01;

/// A double-precision add, subtract, multiply, divide or square root done
/// by the host, when it gives exactly SoftFloat's result and raises at most
/// the inexact flag: the operands are normal numbers or zeros, and the
/// result is a finite normal number or an exact zero. The host rounds to
/// nearest-even, as IEEE 754 requires of it (Rust never changes the host's
/// rounding or flushes subnormals), so the caller may use this only with
/// rm = RNE, and only when inexact is already set, since whether the host's
/// result was inexact is not known. Anything else (NaNs, infinities,
/// subnormals, overflow, underflow, invalid operations, division by zero)
/// gives `None` and goes to SoftFloat.
#[inline]
fn host_f64(op: Op, a: u64, b: u64, c: u64) -> Option<u64> {
    let normal_or_zero = |v: u64| {
        let exponent = (v >> 52) & 0x7ff;
        exponent != 0x7ff && (exponent != 0 || v << 1 == 0)
    };
    let fused = matches!(op, Op::FmaddD | Op::FmsubD | Op::FnmsubD | Op::FnmaddD);
    if !normal_or_zero(a) || (op != Op::FsqrtD && !normal_or_zero(b)) || (fused && !normal_or_zero(c)) {
        return None;
    }
    let (x, y, z) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
    let r = match op {
        Op::FaddD => x + y,
        Op::FsubD => x - y,
        Op::FmulD => x * y,
        Op::FdivD => x / y,
        Op::FsqrtD => x.sqrt(),
        // One rounding, as IEEE 754's fusedMultiplyAdd.
        Op::FmaddD => x.mul_add(y, z),
        Op::FmsubD => x.mul_add(y, -z),
        Op::FnmsubD => (-x).mul_add(y, z),
        Op::FnmaddD => (-x).mul_add(y, -z),
        _ => return None,
    };
    // A zero result is exact for a sum or difference (cancellation) and for
    // a square root; a product or quotient of non-zero numbers that rounds
    // to zero has underflowed, and a fused zero is left to SoftFloat.
    let exact_zero = r == 0.0
        && match op {
            Op::FmulD => x == 0.0 || y == 0.0,
            Op::FdivD => x == 0.0,
            _ => !fused,
        };
    // Above the smallest normal, not at it: a result that rounds up to it
    // can be tiny before rounding, which RISC-V reports as underflow.
    (r.is_finite() && (r.abs() > f64::MIN_POSITIVE || exact_zero)).then(|| r.to_bits())
}

/// Runs SoftFloat code under rounding mode `rm` (RISC-V's encoding, which is
/// SoftFloat's) and returns its result with the flags it raised (fflags'
/// layout, which is SoftFloat's too).
#[inline]
fn soft<T>(rm: u8, f: impl FnOnce() -> T) -> (T, u8) {
    // SAFETY: the helpers only access SoftFloat's thread-local rounding mode
    // and exception flags.
    unsafe {
        sf::softfloat_roundingMode_write_helper(rm);
        sf::softfloat_exceptionFlags_write_helper(0);
    }
    let value = f();
    // SAFETY: as above.
    let flags = unsafe { sf::softfloat_exceptionFlags_read_helper() };
    (value, flags)
}

/// The result of a float-to-integer conversion that raised NV (the input was
/// NaN or out of range): the format's largest integer for NaN and positive
/// inputs, its smallest for negative ones, as written to the x register.
fn invalid_conversion(op: Op, nan_or_positive: bool) -> u64 {
    use Op::*;
    match (op, nan_or_positive) {
        (FcvtWS | FcvtWD, true) => i32::MAX as u64,
        (FcvtWS | FcvtWD, false) => i32::MIN as i64 as u64,
        (FcvtLS | FcvtLD, true) => i64::MAX as u64,
        (FcvtLS | FcvtLD, false) => i64::MIN as u64,
        // The unsigned word results are sign-extended too: u32::MAX becomes all ones.
        (_, true) => u64::MAX,
        (_, false) => 0,
    }
}

impl Hart {
    /// Rs as a single: its low 32 bits if properly NaN-boxed, else the canonical NaN.
    fn f32_reg(&self, r: usize) -> u32 {
        let v = self.f[r];
        if v & BOX == BOX {
            v as u32
        } else {
            CANONICAL_NAN_S
        }
    }

    fn write_f(&mut self, rd: usize, value: u64) {
        self.f[rd] = value;
        self.csr.mstatus |= mstatus::FS_DIRTY;
    }

    /// ORs exception flags into fflags; raising any makes the state Dirty.
    fn accrue(&mut self, flags: u8) {
        if flags != 0 {
            self.csr.fcsr |= flags as u64;
            self.csr.mstatus |= mstatus::FS_DIRTY;
        }
    }

    /// The rounding mode of an instruction that rounds: its rm field, or
    /// frm when rm is 7 (dynamic). A reserved frm (5-7) makes it illegal
    /// (rm 5 and 6 already decode as illegal).
    fn rounding_mode(&self, insn: &Insn) -> Result<u8, Trap> {
        let rm = match insn.imm as u64 & 7 {
            7 => self.csr.fcsr >> FRM_SHIFT,
            rm => rm,
        };
        if rm > 4 {
            return Err(self.illegal(insn));
        }
        Ok(rm as u8)
    }

    /// Executes an F or D instruction (see [`Op`] for how it is decoded).
    #[inline(never)] // kept out of the integer instruction loop
    pub(super) fn execute_fp(&mut self, insn: &Insn, bus: &mut Bus) -> Result<(), Trap> {
        use Op::*;
        if self.csr.mstatus & mstatus::FS == 0 {
            return Err(self.illegal(insn));
        }
        let (rd, rs1, rs2) = (insn.rd as usize, insn.rs1 as usize, insn.rs2 as usize);
        let address = self.x[rs1].wrapping_add(insn.imm as i64 as u64);
        match insn.op {
            Flw => {
                let value = self.load(bus, address, 4)?;
                self.write_f(rd, boxed(value as u32));
            }
            Fld => {
                let value = self.load(bus, address, 8)?;
                self.write_f(rd, value);
            }
            // Stores write the register's bits unchanged, boxed or not.
            Fsw => self.store(bus, address, 4, self.f[rs2] & 0xffff_ffff)?,
            Fsd => self.store(bus, address, 8, self.f[rs2])?,
            FsgnjS | FsgnjnS | FsgnjxS => {
                let value = S.inject_sign(insn.op, self.f32_reg(rs1) as u64, self.f32_reg(rs2) as u64);
                self.write_f(rd, boxed(value as u32));
            }
            FsgnjD | FsgnjnD | FsgnjxD => {
                let value = D.inject_sign(insn.op, self.f[rs1], self.f[rs2]);
                self.write_f(rd, value);
            }
            FminS | FmaxS => {
                let (a, b) = (self.f32_reg(rs1) as u64, self.f32_reg(rs2) as u64);
                let (value, flags) = S.min_max(insn.op == FmaxS, a, b, CANONICAL_NAN_S as u64);
                self.write_f(rd, boxed(value as u32));
                self.accrue(flags);
            }
            FminD | FmaxD => {
                let (value, flags) = D.min_max(insn.op == FmaxD, self.f[rs1], self.f[rs2], CANONICAL_NAN_D);
                self.write_f(rd, value);
                self.accrue(flags);
            }
            FeqS | FltS | FleS => {
                let (a, b) = (self.f32_reg(rs1) as u64, self.f32_reg(rs2) as u64);
                let (value, flags) = S.compare(insn.op, a, b);
                self.set_x(insn.rd, value);
                self.accrue(flags);
            }
            FeqD | FltD | FleD => {
                let (value, flags) = D.compare(insn.op, self.f[rs1], self.f[rs2]);
                self.set_x(insn.rd, value);
                self.accrue(flags);
            }
            FclassS => self.set_x(insn.rd, S.classify(self.f32_reg(rs1) as u64)),
            FclassD => self.set_x(insn.rd, D.classify(self.f[rs1])),
            // The moves copy bits: fmv.x.w ignores the boxing and sign-extends.
            FmvXW => self.set_x(insn.rd, self.f[rs1] as u32 as i32 as i64 as u64),
            FmvWX => self.write_f(rd, boxed(self.x[rs1] as u32)),
            FmvXD => self.set_x(insn.rd, self.f[rs1]),
            FmvDX => self.write_f(rd, self.x[rs1]),
            _ => self.execute_rounded(insn)?,
        }
        Ok(())
    }

    /// The instructions with a rounding mode: arithmetic and conversions.
    fn execute_rounded(&mut self, insn: &Insn) -> Result<(), Trap> {
        use Op::*;
        let rm = self.rounding_mode(insn)?;
        let (rd, rs1, rs2) = (insn.rd as usize, insn.rs1 as usize, insn.rs2 as usize);
        let rs3 = (insn.imm >> 3) as usize & 31;
        let op = insn.op;
        // SAFETY (every block below): SoftFloat's functions are pure apart
        // from its thread-local rounding mode and flags.
        match op {
            FaddS | FsubS | FmulS | FdivS | FsqrtS | FmaddS | FmsubS | FnmsubS | FnmaddS => {
                let a = F32 { v: self.f32_reg(rs1) };
                let b = F32 { v: self.f32_reg(rs2) };
                let c = F32 { v: self.f32_reg(rs3) };
                let (value, flags) = soft(rm, || unsafe {
                    match op {
                        FaddS => sf::f32_add(a, b),
                        FsubS => sf::f32_sub(a, b),
                        FmulS => sf::f32_mul(a, b),
                        FdivS => sf::f32_div(a, b),
                        FsqrtS => sf::f32_sqrt(a),
                        FmaddS => sf::f32_mulAdd(a, b, c),
                        FmsubS => sf::f32_mulAdd(a, b, negate_s(c)),
                        FnmsubS => sf::f32_mulAdd(negate_s(a), b, c),
                        _ => sf::f32_mulAdd(negate_s(a), b, negate_s(c)),
                    }
                });
                self.write_f(rd, boxed(canonical_s(value)));
                self.accrue(flags);
            }
            FaddD | FsubD | FmulD | FdivD | FsqrtD | FmaddD | FmsubD | FnmsubD | FnmaddD => {
                // The host's answer is SoftFloat's (see host_f64), and the
                // only flag it could raise is already set.
                if rm == RNE && self.csr.fcsr & NX as u64 != 0 {
                    if let Some(value) = host_f64(op, self.f[rs1], self.f[rs2], self.f[rs3]) {
                        self.write_f(rd, value);
                        return Ok(());
                    }
                }
                let (a, b, c) = (F64 { v: self.f[rs1] }, F64 { v: self.f[rs2] }, F64 { v: self.f[rs3] });
                let (value, flags) = soft(rm, || unsafe {
                    match op {
                        FaddD => sf::f64_add(a, b),
                        FsubD => sf::f64_sub(a, b),
                        FmulD => sf::f64_mul(a, b),
                        FdivD => sf::f64_div(a, b),
                        FsqrtD => sf::f64_sqrt(a),
                        FmaddD => sf::f64_mulAdd(a, b, c),
                        FmsubD => sf::f64_mulAdd(a, b, negate_d(c)),
                        FnmsubD => sf::f64_mulAdd(negate_d(a), b, c),
                        _ => sf::f64_mulAdd(negate_d(a), b, negate_d(c)),
                    }
                });
                self.write_f(rd, canonical_d(value));
                self.accrue(flags);
            }
            FcvtWS | FcvtWuS | FcvtLS | FcvtLuS => {
                let a = self.f32_reg(rs1);
                let x = F32 { v: a };
                let (value, flags) = soft(rm, || unsafe {
                    match op {
                        FcvtWS => sf::f32_to_i32(x, rm, true) as i64 as u64,
                        FcvtWuS => sf::f32_to_ui32(x, rm, true) as i32 as i64 as u64,
                        FcvtLS => sf::f32_to_i64(x, rm, true) as u64,
                        _ => sf::f32_to_ui64(x, rm, true),
                    }
                });
                let value = if flags & NV != 0 {
                    invalid_conversion(op, S.is_nan(a as u64) || a as u64 & S.sign == 0)
                } else {
                    value
                };
                self.set_x(insn.rd, value);
                self.accrue(flags);
            }
            FcvtWD | FcvtWuD | FcvtLD | FcvtLuD => {
                let a = self.f[rs1];
                let x = F64 { v: a };
                let (value, flags) = soft(rm, || unsafe {
                    match op {
                        FcvtWD => sf::f64_to_i32(x, rm, true) as i64 as u64,
                        FcvtWuD => sf::f64_to_ui32(x, rm, true) as i32 as i64 as u64,
                        FcvtLD => sf::f64_to_i64(x, rm, true) as u64,
                        _ => sf::f64_to_ui64(x, rm, true),
                    }
                });
                let value = if flags & NV != 0 {
                    invalid_conversion(op, D.is_nan(a) || a & D.sign == 0)
                } else {
                    value
                };
                self.set_x(insn.rd, value);
                self.accrue(flags);
            }
            FcvtSW | FcvtSWu | FcvtSL | FcvtSLu => {
                let a = self.x[rs1];
                let (value, flags) = soft(rm, || unsafe {
                    match op {
                        FcvtSW => sf::i32_to_f32(a as i32),
                        FcvtSWu => sf::ui32_to_f32(a as u32),
                        FcvtSL => sf::i64_to_f32(a as i64),
                        _ => sf::ui64_to_f32(a),
                    }
                });
                self.write_f(rd, boxed(value.v));
                self.accrue(flags);
            }
            FcvtDW | FcvtDWu | FcvtDL | FcvtDLu => {
                let a = self.x[rs1];
                let (value, flags) = soft(rm, || unsafe {
                    match op {
                        FcvtDW => sf::i32_to_f64(a as i32),
                        FcvtDWu => sf::ui32_to_f64(a as u32),
                        FcvtDL => sf::i64_to_f64(a as i64),
                        _ => sf::ui64_to_f64(a),
                    }
                });
                self.write_f(rd, value.v);
                self.accrue(flags);
            }
            FcvtSD => {
                let a = F64 { v: self.f[rs1] };
                let (value, flags) = soft(rm, || unsafe { sf::f64_to_f32(a) });
                self.write_f(rd, boxed(canonical_s(value)));
                self.accrue(flags);
            }
            FcvtDS => {
                let a = F32 { v: self.f32_reg(rs1) };
                let (value, flags) = soft(rm, || unsafe { sf::f32_to_f64(a) });
                self.write_f(rd, canonical_d(value));
                self.accrue(flags);
            }
            _ => unreachable!("execute_rounded called with {op:?}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_values_with_negative_zero_first() {
        let values = [
            0xff80_0000u64,
            0xbf80_0000,
            0x8000_0001,
            0x8000_0000,
            0,
            1,
            0x3f80_0000,
            0x7f80_0000,
        ];
        for pair in values.windows(2) {
            assert!(
                S.order_key(pair[0]) < S.order_key(pair[1]),
                "{:#x} < {:#x}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn invalid_conversions_saturate() {
        assert_eq!(invalid_conversion(Op::FcvtWS, true), 0x7fff_ffff);
        assert_eq!(invalid_conversion(Op::FcvtWuD, true), u64::MAX);
        assert_eq!(invalid_conversion(Op::FcvtLuS, false), 0);
        assert_eq!(invalid_conversion(Op::FcvtLD, false), 1 << 63);
    }
}
