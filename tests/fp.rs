//! The F and D extensions: every instruction, NaN boxing and canonical NaNs,
//! rounding modes (static and dynamic), exact exception flags, conversions'
//! saturation, fmin/fmax and comparisons with NaNs and signed zeros, fcsr,
//! and mstatus.FS (Off traps, Dirty tracking). Written with the
//! `rvmsmp::asm` encoder; f registers are given by number (fa0 = f10).

use crate::common::csr::*;
use crate::common::*;
use rvmsmp::asm::{self, reg::*, rm};
use rvmsmp::cpu::csr::mstatus;
use rvmsmp::cpu::decode::{decode, Op};
use rvmsmp::Machine;

/// f registers.
const FA0: u32 = 10;
const FA1: u32 = 11;
const FA2: u32 = 12;
const FA3: u32 = 13;
const FS0: u32 = 8;
const FS1: u32 = 9;

/// Rounding modes used most.
const DYN: u32 = rm::DYN;
const RTZ: u32 = rm::RTZ;

/// The floating-point CSRs.
const FFLAGS: u32 = 0x001;
const FRM: u32 = 0x002;
const FCSR: u32 = 0x003;

/// fflags bits.
const NV: u64 = 0x10;
const DZ: u64 = 0x08;
const OF: u64 = 0x04;
const UF: u64 = 0x02;
const NX: u64 = 0x01;

const BOX: u64 = 0xffff_ffff_0000_0000;
const CANON_S: u64 = BOX | 0x7fc0_0000;
const CANON_D: u64 = 0x7ff8_0000_0000_0000;
/// Singles: a quiet NaN with a payload, a signalling NaN, a negative quiet NaN.
const QNAN_S: u32 = 0x7fc1_2345;
const SNAN_S: u32 = 0x7f80_0001;
const NEG_QNAN_S: u32 = 0xffc0_0000;
const QNAN_D: u64 = 0x7ff8_0000_0001_2345;
const SNAN_D: u64 = 0x7ff0_0000_0000_0001;
const NEG_QNAN_D: u64 = 0xfff8_0000_0000_0000;
const INF_S: u32 = 0x7f80_0000;
const NEG_INF_S: u32 = 0xff80_0000;
const INF_D: u64 = 0x7ff0_0000_0000_0000;
/// 2^63 and 2^64 as doubles.
const TWO63_D: u64 = 0x43e0_0000_0000_0000;
const TWO64_D: u64 = 0x43f0_0000_0000_0000;

/// A single, NaN-boxed as the registers hold it.
fn s(x: f32) -> u64 {
    sb(x.to_bits())
}
fn sb(bits: u32) -> u64 {
    BOX | bits as u64
}
fn d(x: f64) -> u64 {
    x.to_bits()
}

/// Runs `code` with mstatus.FS = Initial, fcsr = `fcsr`, and the f
/// registers in `f` preset.
fn run_fp(code: &[u32], f: &[(u32, u64)], fcsr: u64) -> Machine {
    run_with(code, |m| {
        let h = &mut m.harts[0];
        h.csr.mstatus |= mstatus::FS_INITIAL;
        h.csr.fcsr = fcsr;
        for &(r, v) in f {
            h.f[r as usize] = v;
        }
    })
}

/// Runs one instruction with fa1, fa2, fa3 = a, b, c and fcsr = `fcsr`;
/// returns (fa0, a0, fflags).
fn exec(insn: u32, a: u64, b: u64, c: u64, fcsr: u64) -> (u64, u64, u64) {
    let m = run_fp(&[insn], &[(FA1, a), (FA2, b), (FA3, c)], fcsr);
    let h = &m.harts[0];
    assert!(h.last_trap.is_none(), "{insn:#010x} trapped");
    (h.f[FA0 as usize], h.x[A0 as usize], h.csr.fcsr & 0x1f)
}

/// (fa0, fflags) after `insn` reads fa1, fa2, fa3.
fn f3(insn: u32, a: u64, b: u64, c: u64) -> (u64, u64) {
    let (f, _, flags) = exec(insn, a, b, c, 0);
    (f, flags)
}

/// (a0, fflags) after `insn` reads fa1, fa2.
fn to_x(insn: u32, a: u64, b: u64) -> (u64, u64) {
    let (_, x, flags) = exec(insn, a, b, 0, 0);
    (x, flags)
}

/// (fa0, fflags) after `insn` reads a1 = `x`.
fn from_x(insn: u32, x: u64) -> (u64, u64) {
    let m = run_with(&[insn], |m| {
        m.harts[0].csr.mstatus |= mstatus::FS_INITIAL;
        m.harts[0].x[A1 as usize] = x;
    });
    let h = &m.harts[0];
    (h.f[FA0 as usize], h.csr.fcsr & 0x1f)
}

/// Rows of (name, instruction on fa0 <- fa1, fa2, fa3, a, b, c, fa0, fflags).
type FRow = (&'static str, u32, u64, u64, u64, u64, u64);

fn check_f(rows: &[FRow]) {
    for &(name, insn, a, b, c, want, flags) in rows {
        assert_eq!(
            f3(insn, a, b, c),
            (want, flags),
            "{name}({a:#x}, {b:#x}, {c:#x}): want {want:#x}, flags {flags:#x}"
        );
    }
}

/// Rows of (name, instruction a0 <- fa1, fa2, a, b, a0, fflags).
type XRow = (&'static str, u32, u64, u64, u64, u64);

fn check_x(rows: &[XRow]) {
    for &(name, insn, a, b, want, flags) in rows {
        assert_eq!(
            to_x(insn, a, b),
            (want, flags),
            "{name}({a:#x}, {b:#x}): want {want:#x}, flags {flags:#x}"
        );
    }
}

// ------------------------------------------------------ loads and stores

#[test]
fn loads_box_singles_and_stores_write_the_bits_unchanged() {
    let mut code = asm::li(A0, DATA as i64);
    code.extend([
        asm::flw(FA0, A0, 0),
        asm::fld(FA1, A0, 8),
        asm::fsw(FA0, A0, 16),
        asm::fsd(FA1, A0, 24),
        asm::fsw(FA2, A0, 32), // not a boxed single: its low half is stored as is
        asm::fsd(FA0, A0, 40), // the boxed single, all 64 bits
        asm::ld(A2, A0, 16),
        asm::ld(A3, A0, 24),
        asm::ld(A4, A0, 32),
        asm::ld(A5, A0, 40),
    ]);
    let m = run_with(&code, |m| {
        m.harts[0].csr.mstatus |= mstatus::FS_INITIAL;
        m.harts[0].f[FA2 as usize] = 0x1234_5678_9abc_def0;
        m.bus.write_ram(DATA, 8, 0xdead_beef_3f80_0000).unwrap();
        m.bus.write_ram(DATA + 8, 8, d(-2.5)).unwrap();
        m.bus.write_ram(DATA + 16, 8, u64::MAX).unwrap();
        m.bus.write_ram(DATA + 32, 8, u64::MAX).unwrap();
    });
    let h = &m.harts[0];
    assert_eq!(h.f[FA0 as usize], s(1.0), "flw boxes the word");
    assert_eq!(h.f[FA1 as usize], d(-2.5));
    let x = |r: u32| h.x[r as usize];
    assert_eq!(x(A2), 0xffff_ffff_3f80_0000, "fsw writes 4 bytes");
    assert_eq!(x(A3), d(-2.5));
    assert_eq!(x(A4), 0xffff_ffff_9abc_def0);
    assert_eq!(x(A5), s(1.0));
}

#[test]
fn compressed_fp_loads_and_stores_expand_to_fld_and_fsd() {
    let mut code = asm::li(A1, DATA as i64);
    code.extend(asm::li(SP, (DATA + 0x100) as i64));
    // c.fld fa0,8(a1); c.fsd fa0,16(a1); c.fldsp fs0,24(sp); c.fsdsp fs1,32(sp)
    code.extend(rvc(&[0x2588, 0xa988, 0x2462, 0xb026]));
    code.extend([asm::ld(A2, A1, 16), asm::ld(A3, SP, 32)]);
    let m = run_with(&code, |m| {
        let h = &mut m.harts[0];
        h.csr.mstatus |= mstatus::FS_INITIAL;
        h.f[FS1 as usize] = d(6.25);
        m.bus.write_ram(DATA + 8, 8, d(1.5)).unwrap();
        m.bus.write_ram(DATA + 0x100 + 24, 8, d(-3.0)).unwrap();
    });
    let h = &m.harts[0];
    assert_eq!(h.f[FA0 as usize], d(1.5));
    assert_eq!(h.x[A2 as usize], d(1.5));
    assert_eq!(h.f[FS0 as usize], d(-3.0));
    assert_eq!(h.x[A3 as usize], d(6.25));
}

#[test]
fn fp_loads_and_stores_fault_like_integer_ones() {
    // An access outside RAM is an access fault, and the target is not written.
    let mut code = asm::li(A0, 0x4000_0000);
    code.push(asm::fld(FA0, A0, 0));
    let m = run_fp(&code, &[(FA0, d(1.0))], 0);
    let h = &m.harts[0];
    assert_eq!((h.x[TRAP_CAUSE as usize], h.x[TRAP_TVAL as usize]), (5, 0x4000_0000));
    assert_eq!(h.f[FA0 as usize], d(1.0));
    let mut code = asm::li(A0, 0x4000_0000);
    code.push(asm::fsw(FA0, A0, 4));
    let m = run_fp(&code, &[], 0);
    assert_eq!(m.harts[0].x[TRAP_CAUSE as usize], 7);
}

// ------------------------------------------------------------ arithmetic

#[test]
fn single_precision_arithmetic() {
    let [add, sub, mul, div] = [asm::fadd_s, asm::fsub_s, asm::fmul_s, asm::fdiv_s].map(|op| op(FA0, FA1, FA2, DYN));
    let sqrt = asm::fsqrt_s(FA0, FA1, DYN);
    let third = sb((1.0f32 / 3.0).to_bits());
    check_f(&[
        ("fadd.s", add, s(1.0), s(2.0), 0, s(3.0), 0),
        ("fsub.s", sub, s(1.0), s(3.0), 0, s(-2.0), 0),
        ("fmul.s", mul, s(3.0), s(-2.0), 0, s(-6.0), 0),
        ("fdiv.s", div, s(1.0), s(3.0), 0, third, NX),
        ("fdiv.s by 0", div, s(-1.0), s(0.0), 0, sb(NEG_INF_S), DZ),
        ("fdiv.s 0/0", div, s(0.0), s(0.0), 0, CANON_S, NV),
        ("fsqrt.s", sqrt, s(4.0), 0, 0, s(2.0), 0),
        ("fsqrt.s 2", sqrt, s(2.0), 0, 0, sb(0x3fb5_04f3), NX),
        ("fsqrt.s -1", sqrt, s(-1.0), 0, 0, CANON_S, NV),
        ("fsqrt.s -0", sqrt, s(-0.0), 0, 0, s(-0.0), 0),
        ("inf - inf", add, sb(INF_S), sb(NEG_INF_S), 0, CANON_S, NV),
        ("overflow", mul, s(f32::MAX), s(2.0), 0, sb(INF_S), OF | NX),
        // An exact subnormal result is not an underflow; an inexact tiny one is.
        ("exact tiny", mul, sb(0x0080_0000), s(0.5), 0, sb(0x0040_0000), 0),
        ("underflow", mul, sb(1), s(0.5), 0, s(0.0), UF | NX),
        ("x + -x = +0", add, s(1.5), s(-1.5), 0, s(0.0), 0),
    ]);
}

#[test]
fn double_precision_arithmetic() {
    let [add, sub, mul, div] = [asm::fadd_d, asm::fsub_d, asm::fmul_d, asm::fdiv_d].map(|op| op(FA0, FA1, FA2, DYN));
    let sqrt = asm::fsqrt_d(FA0, FA1, DYN);
    let neg_inf = d(f64::NEG_INFINITY);
    check_f(&[
        ("fadd.d", add, d(1.0), d(2.0), 0, d(3.0), 0),
        ("fsub.d", sub, d(1.0), d(3.0), 0, d(-2.0), 0),
        ("fmul.d", mul, d(3.0), d(-2.0), 0, d(-6.0), 0),
        ("fdiv.d", div, d(1.0), d(3.0), 0, 0x3fd5_5555_5555_5555, NX),
        ("fdiv.d by 0", div, d(1.0), d(-0.0), 0, neg_inf, DZ),
        ("fdiv.d inf/inf", div, INF_D, INF_D, 0, CANON_D, NV),
        ("fsqrt.d", sqrt, d(2.0), 0, 0, 0x3ff6_a09e_667f_3bcd, NX),
        ("fsqrt.d -inf", sqrt, neg_inf, 0, 0, CANON_D, NV),
        ("0 * inf", mul, d(0.0), INF_D, 0, CANON_D, NV),
        ("overflow", add, d(f64::MAX), d(f64::MAX), 0, INF_D, OF | NX),
        ("underflow", mul, d(1e-200), d(1e-200), 0, d(0.0), UF | NX),
        ("tiny", mul, 3, d(0.5), 0, 2, UF | NX),
    ]);
}

#[test]
fn fused_multiply_adds_round_once() {
    let [madd_s, msub_s, nmsub_s, nmadd_s, madd_d, msub_d, nmsub_d, nmadd_d] = [
        asm::fmadd_s,
        asm::fmsub_s,
        asm::fnmsub_s,
        asm::fnmadd_s,
        asm::fmadd_d,
        asm::fmsub_d,
        asm::fnmsub_d,
        asm::fnmadd_d,
    ]
    .map(|op| op(FA0, FA1, FA2, FA3, DYN));
    check_f(&[
        ("fmadd.s", madd_s, s(2.0), s(3.0), s(1.0), s(7.0), 0),
        ("fmsub.s", msub_s, s(2.0), s(3.0), s(1.0), s(5.0), 0),
        ("fnmsub.s", nmsub_s, s(2.0), s(3.0), s(1.0), s(-5.0), 0),
        ("fnmadd.s", nmadd_s, s(2.0), s(3.0), s(1.0), s(-7.0), 0),
        ("fmadd.d", madd_d, d(2.0), d(3.0), d(1.0), d(7.0), 0),
        ("fmsub.d", msub_d, d(2.0), d(3.0), d(1.0), d(5.0), 0),
        ("fnmsub.d", nmsub_d, d(2.0), d(3.0), d(1.0), d(-5.0), 0),
        ("fnmadd.d", nmadd_d, d(2.0), d(3.0), d(1.0), d(-7.0), 0),
        // inf * 0 + qNaN is invalid (RISC-V requires NV here).
        ("inf*0+qNaN", madd_s, sb(INF_S), s(0.0), sb(QNAN_S), CANON_S, NV),
        ("inf*0+qNaN .d", madd_d, INF_D, d(0.0), QNAN_D, CANON_D, NV),
        ("qNaN*1+1", madd_d, QNAN_D, d(1.0), d(1.0), CANON_D, 0),
        ("1*1+sNaN", madd_s, s(1.0), s(1.0), sb(SNAN_S), CANON_S, NV),
        // Signs of exact zeros: -(0*1) - 0 = -0; 0*1 + -0 = +0 (to nearest).
        ("fnmadd 0", nmadd_s, s(0.0), s(1.0), s(0.0), s(-0.0), 0),
        ("fmadd 0", madd_d, d(0.0), d(1.0), d(-0.0), d(0.0), 0),
    ]);
    // (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46 exactly; fmul then fsub would give 0.
    let (a, b) = (sb(0x3f80_0001), sb(0x3f7f_fffe));
    assert_eq!(f3(msub_s, a, b, s(1.0)), (sb(0xa880_0000), 0));
    let (a, b) = (0x3ff0_0000_0000_0001, 0x3fef_ffff_ffff_fffe);
    assert_eq!(f3(msub_d, a, b, d(1.0)), (0xb970_0000_0000_0000, 0));
    // Tininess is detected after rounding: -2^-75 * 2^-76 + 2^-126 =
    // 2^-126 - 2^-151 rounds to the smallest normal, so it is inexact but
    // not an underflow.
    let (a, b, c) = (sb(0x9a00_0000), sb(0x1980_0000), sb(0x0080_0000));
    assert_eq!(f3(madd_s, a, b, c), (c, NX));
    // Rounding down, an exact zero sum is -0.
    let madd_rdn = asm::fmadd_d(FA0, FA1, FA2, FA3, rm::RDN);
    assert_eq!(f3(madd_rdn, d(0.0), d(1.0), d(-0.0)), (d(-0.0), 0));
}

// -------------------------------------------------------- rounding modes

/// 1 + 2^-24 (single) and 1 + 2^-53 (double) lie halfway between 1 and the
/// next value up; each mode resolves the tie (and its negation) its own way.
#[test]
fn each_rounding_mode_static_and_dynamic() {
    // (mode, rounding of 1 + half an ulp up?, of -(1 + half an ulp) away from 0?)
    let modes = [
        (rm::RNE, false, false),
        (rm::RTZ, false, false),
        (rm::RDN, false, true),
        (rm::RUP, true, false),
        (rm::RMM, true, true),
    ];
    for (mode, up, neg_away) in modes {
        for dynamic in [false, true] {
            let (field, fcsr) = if dynamic {
                (rm::DYN, (mode as u64) << 5)
            } else {
                (mode, 0)
            };
            let single = |a: u64, b: u64| exec(asm::fadd_s(FA0, FA1, FA2, field), a, b, 0, fcsr);
            let double = |a: u64, b: u64| exec(asm::fadd_d(FA0, FA1, FA2, field), a, b, 0, fcsr);
            let (want, nwant) = (sb(0x3f80_0000 + up as u32), sb(0xbf80_0000 + neg_away as u32));
            let tag = format!("rm {mode} dynamic {dynamic}");
            assert_eq!(single(s(1.0), sb(0x3380_0000)), (want, 0, NX), "{tag}");
            assert_eq!(single(s(-1.0), sb(0xb380_0000)), (nwant, 0, NX), "{tag}");
            let (want, nwant) = (d(1.0) + up as u64, d(-1.0) + neg_away as u64);
            assert_eq!(double(d(1.0), 0x3ca0_0000_0000_0000), (want, 0, NX), "{tag}");
            assert_eq!(double(d(-1.0), 0xbca0_0000_0000_0000), (nwant, 0, NX), "{tag}");
        }
    }
}

#[test]
fn conversions_to_integers_honour_every_rounding_mode() {
    // (mode, 2.5 ->, -2.5 ->, 0.5 ->)
    let rows: [(u32, i64, i64, i64); 5] = [
        (rm::RNE, 2, -2, 0),
        (rm::RTZ, 2, -2, 0),
        (rm::RDN, 2, -3, 0),
        (rm::RUP, 3, -2, 1),
        (rm::RMM, 3, -3, 1),
    ];
    for (mode, pos, neg, half) in rows {
        for (v, want) in [(2.5, pos), (-2.5, neg), (0.5, half)] {
            let convs = [
                ("fcvt.w.s", asm::fcvt_w_s(A0, FA1, mode), s(v as f32)),
                ("fcvt.l.s", asm::fcvt_l_s(A0, FA1, mode), s(v as f32)),
                ("fcvt.w.d", asm::fcvt_w_d(A0, FA1, mode), d(v)),
                ("fcvt.l.d", asm::fcvt_l_d(A0, FA1, mode), d(v)),
            ];
            for (name, insn, a) in convs {
                assert_eq!(to_x(insn, a, 0), (want as u64, NX), "{name} rm {mode} of {v}");
                // The same through frm.
                let dyn_insn = (insn & !(7 << 12)) | (rm::DYN << 12);
                let (_, x, flags) = exec(dyn_insn, a, 0, 0, (mode as u64) << 5);
                assert_eq!((x, flags), (want as u64, NX), "{name} dynamic rm {mode} of {v}");
            }
        }
    }
}

#[test]
fn reserved_rounding_modes_are_illegal() {
    // rm = 5 and 6 in the instruction: illegal whatever frm holds.
    for rm_field in [5, 6] {
        for insn in [
            asm::fadd_s(FA0, FA1, FA2, rm_field),
            asm::fmadd_d(FA0, FA1, FA2, FA3, rm_field),
            asm::fcvt_w_s(A0, FA1, rm_field),
            asm::fcvt_d_s(FA0, FA1, rm_field),
            asm::fcvt_d_w(FA0, A1, rm_field),
        ] {
            let (cause, tval, epc) = trap_of_with(&[insn], |m| m.harts[0].csr.mstatus |= mstatus::FS_INITIAL);
            assert_eq!((cause, tval, epc), (2, insn as u64, CODE), "{insn:#010x}");
        }
    }
    // rm = 7 (dynamic) with frm = 5, 6 or 7: illegal when it executes.
    for frm in [5u64, 6, 7] {
        for insn in [
            asm::fsqrt_d(FA0, FA1, rm::DYN),
            asm::fnmsub_s(FA0, FA1, FA2, FA3, rm::DYN),
            asm::fcvt_lu_d(A0, FA1, rm::DYN),
            asm::fcvt_s_d(FA0, FA1, rm::DYN),
        ] {
            let (cause, tval, epc) = trap_of_with(&[insn], |m| {
                m.harts[0].csr.mstatus |= mstatus::FS_INITIAL;
                m.harts[0].csr.fcsr = frm << 5;
            });
            assert_eq!((cause, tval, epc), (2, insn as u64, CODE), "frm {frm}: {insn:#010x}");
        }
        // Instructions that do not round ignore frm, and a static rm overrides it.
        let (_, _, flags) = exec(asm::fsgnj_d(FA0, FA1, FA2), d(1.0), d(2.0), 0, frm << 5);
        assert_eq!(flags, 0);
        let (f, _, _) = exec(asm::fadd_d(FA0, FA1, FA2, rm::RNE), d(1.0), d(2.0), 0, frm << 5);
        assert_eq!(f, d(3.0));
    }
}

// ------------------------------------------------------------ conversions

/// Float-to-integer conversions of every width, from both formats: NaN and
/// positive overflow give the largest integer, negative overflow the
/// smallest, with NV; in-range inexact results give NX only.
#[test]
fn float_to_integer_conversions_saturate() {
    const I32_MAX: u64 = i32::MAX as u64;
    const I32_MIN: u64 = i32::MIN as i64 as u64;
    const I64_MAX: u64 = i64::MAX as u64;
    const I64_MIN: u64 = i64::MIN as u64;
    const ONES: u64 = u64::MAX;
    type Conv = fn(u32, u32, u32) -> u32;
    let widths: [(&str, Conv, Conv, u64); 4] = [
        ("w", asm::fcvt_w_s, asm::fcvt_w_d, I32_MAX),
        ("wu", asm::fcvt_wu_s, asm::fcvt_wu_d, ONES),
        ("l", asm::fcvt_l_s, asm::fcvt_l_d, I64_MAX),
        ("lu", asm::fcvt_lu_s, asm::fcvt_lu_d, ONES),
    ];
    // Every NaN, whatever its sign, converts to the largest integer; an
    // unboxed single is a NaN.
    let nans_s = [sb(QNAN_S), sb(SNAN_S), sb(NEG_QNAN_S), 0x0000_0000_3f80_0000];
    let nans_d = [QNAN_D, SNAN_D, NEG_QNAN_D];
    for (name, op_s, op_d, nan_result) in widths {
        for nan in nans_s {
            assert_eq!(
                to_x(op_s(A0, FA1, RTZ), nan, 0),
                (nan_result, NV),
                "fcvt.{name}.s {nan:#x}"
            );
        }
        for nan in nans_d {
            assert_eq!(
                to_x(op_d(A0, FA1, RTZ), nan, 0),
                (nan_result, NV),
                "fcvt.{name}.d {nan:#x}"
            );
        }
    }
    let [w_s, wu_s, l_s, lu_s] =
        [asm::fcvt_w_s, asm::fcvt_wu_s, asm::fcvt_l_s, asm::fcvt_lu_s].map(|op| op(A0, FA1, RTZ));
    let [w_d, wu_d, l_d, lu_d] =
        [asm::fcvt_w_d, asm::fcvt_wu_d, asm::fcvt_l_d, asm::fcvt_lu_d].map(|op| op(A0, FA1, RTZ));
    let (inf_s, neg_inf_s, neg_inf_d) = (sb(INF_S), sb(NEG_INF_S), d(f64::NEG_INFINITY));
    check_x(&[
        ("w.s 1.9", w_s, s(1.9), 0, 1, NX),
        ("w.s -1.9", w_s, s(-1.9), 0, (-1i64) as u64, NX),
        ("w.s inf", w_s, inf_s, 0, I32_MAX, NV),
        ("w.s -inf", w_s, neg_inf_s, 0, I32_MIN, NV),
        ("w.s 2^31", w_s, s(2147483648.0), 0, I32_MAX, NV),
        ("w.s -2^31", w_s, s(-2147483648.0), 0, I32_MIN, 0),
        ("wu.s -1", wu_s, s(-1.0), 0, 0, NV),
        ("wu.s -0.5", wu_s, s(-0.5), 0, 0, NX),
        ("wu.s -0", wu_s, s(-0.0), 0, 0, 0),
        ("wu.s 3e9", wu_s, s(3e9), 0, 0xffff_ffff_b2d0_5e00, 0),
        ("wu.s 2^32", wu_s, s(4294967296.0), 0, ONES, NV),
        ("wu.s inf", wu_s, inf_s, 0, ONES, NV),
        ("wu.s -inf", wu_s, neg_inf_s, 0, 0, NV),
        ("l.s 2^63", l_s, sb(0x5f00_0000), 0, I64_MAX, NV),
        ("l.s -2^63", l_s, sb(0xdf00_0000), 0, I64_MIN, 0),
        ("l.s -inf", l_s, neg_inf_s, 0, I64_MIN, NV),
        ("l.s -1e19", l_s, s(-1e19), 0, I64_MIN, NV),
        ("lu.s -1", lu_s, s(-1.0), 0, 0, NV),
        ("lu.s 2^63", lu_s, sb(0x5f00_0000), 0, 1 << 63, 0),
        ("lu.s 2^64", lu_s, sb(0x5f80_0000), 0, ONES, NV),
        ("w.d 2^31-0.5", w_d, d(2147483647.5), 0, I32_MAX, NX),
        ("w.d 2^31", w_d, d(2147483648.0), 0, I32_MAX, NV),
        ("w.d -2^31-0.5", w_d, d(-2147483648.5), 0, I32_MIN, NX),
        ("w.d -2^31-1", w_d, d(-2147483649.0), 0, I32_MIN, NV),
        ("wu.d 2^32-1", wu_d, d(4294967295.0), 0, ONES, 0),
        ("wu.d 2^32", wu_d, d(4294967296.0), 0, ONES, NV),
        ("wu.d -0.9", wu_d, d(-0.9), 0, 0, NX),
        ("wu.d -1", wu_d, d(-1.0), 0, 0, NV),
        ("wu.d 1", wu_d, d(1.0), 0, 1, 0),
        ("l.d 2^63", l_d, TWO63_D, 0, I64_MAX, NV),
        ("l.d -2^63", l_d, TWO63_D | 1 << 63, 0, I64_MIN, 0),
        ("l.d inf", l_d, INF_D, 0, I64_MAX, NV),
        ("lu.d -1", lu_d, d(-1.0), 0, 0, NV),
        ("lu.d 2^64", lu_d, TWO64_D, 0, ONES, NV),
        ("lu.d 2^64-2^11", lu_d, 0x43ef_ffff_ffff_ffff, 0, !0x7ff, 0),
        ("lu.d -inf", lu_d, neg_inf_d, 0, 0, NV),
    ]);
}

#[test]
fn integer_to_float_conversions() {
    let [s_w, s_wu, s_l, s_lu] =
        [asm::fcvt_s_w, asm::fcvt_s_wu, asm::fcvt_s_l, asm::fcvt_s_lu].map(|op| op(FA0, A1, DYN));
    let [d_w, d_wu, d_l, d_lu] =
        [asm::fcvt_d_w, asm::fcvt_d_wu, asm::fcvt_d_l, asm::fcvt_d_lu].map(|op| op(FA0, A1, DYN));
    let rows: [(&str, u32, u64, u64, u64); 13] = [
        ("s.w -1", s_w, u64::MAX, s(-1.0), 0),
        // Only the low 32 bits are read.
        ("s.w low word", s_w, 0x1234_5678_0000_0003, s(3.0), 0),
        ("s.wu", s_wu, 0xffff_ffff, sb(0x4f80_0000), NX),
        ("s.l min", s_l, i64::MIN as u64, sb(0xdf00_0000), 0),
        ("s.l 2^24+1", s_l, (1 << 24) + 1, sb(0x4b80_0000), NX),
        ("s.lu max", s_lu, u64::MAX, sb(0x5f80_0000), NX),
        ("d.w", d_w, (-5i64) as u64, d(-5.0), 0),
        ("d.w low word", d_w, 0x0000_0001_8000_0000, d(-2147483648.0), 0),
        ("d.wu", d_wu, u64::MAX, d(4294967295.0), 0),
        ("d.l max", d_l, i64::MAX as u64, TWO63_D, NX),
        ("d.l -1", d_l, u64::MAX, d(-1.0), 0),
        ("d.lu max", d_lu, u64::MAX, TWO64_D, NX),
        ("d.lu 0", d_lu, 0, d(0.0), 0),
    ];
    for (name, insn, x, want, flags) in rows {
        assert_eq!(from_x(insn, x), (want, flags), "fcvt.{name}");
    }
    // Rounding up, and towards zero.
    let s_l_up = asm::fcvt_s_l(FA0, A1, rm::RUP);
    assert_eq!(from_x(s_l_up, (1 << 24) + 1), (sb(0x4b80_0001), NX));
    let s_wu_rtz = asm::fcvt_s_wu(FA0, A1, RTZ);
    assert_eq!(from_x(s_wu_rtz, 0xffff_ffff), (sb(0x4f7f_ffff), NX));
}

#[test]
fn conversions_between_single_and_double() {
    let s_d = asm::fcvt_s_d(FA0, FA1, DYN);
    let d_s = asm::fcvt_d_s(FA0, FA1, DYN);
    let third = (1.0f64 / 3.0).to_bits();
    let tiny = d(f32::from_bits(1) as f64);
    check_f(&[
        ("s.d", s_d, third, 0, 0, s(1.0 / 3.0), NX),
        ("s.d exact", s_d, d(-0.75), 0, 0, s(-0.75), 0),
        ("s.d overflow", s_d, d(1e300), 0, 0, sb(INF_S), OF | NX),
        ("s.d underflow", s_d, d(-1e-50), 0, 0, s(-0.0), UF | NX),
        ("s.d sNaN", s_d, SNAN_D, 0, 0, CANON_S, NV),
        ("s.d qNaN", s_d, NEG_QNAN_D, 0, 0, CANON_S, 0),
        ("s.d inf", s_d, INF_D, 0, 0, sb(INF_S), 0),
        ("d.s", d_s, s(1.5), 0, 0, d(1.5), 0),
        ("d.s subnormal", d_s, sb(1), 0, 0, tiny, 0),
        ("d.s sNaN", d_s, sb(SNAN_S), 0, 0, CANON_D, NV),
        ("d.s qNaN", d_s, sb(QNAN_S), 0, 0, CANON_D, 0),
        ("d.s unboxed", d_s, d(1.5), 0, 0, CANON_D, 0),
    ]);
    // Rounding towards zero, an overflow gives the largest finite single.
    let s_d_rtz = asm::fcvt_s_d(FA0, FA1, RTZ);
    assert_eq!(f3(s_d_rtz, d(1e300), 0, 0), (s(f32::MAX), OF | NX));
}

// ------------------------------------------------ min, max, comparisons

#[test]
fn fmin_and_fmax_follow_minimum_number() {
    let rows: [(u64, u64, u64, u64, u64); 9] = [
        // (a, b, min, max, fflags), as singles
        (s(1.0), s(2.0), s(1.0), s(2.0), 0),
        (s(-0.0), s(0.0), s(-0.0), s(0.0), 0),
        (s(0.0), s(-0.0), s(-0.0), s(0.0), 0),
        (sb(QNAN_S), s(1.0), s(1.0), s(1.0), 0),
        (s(1.0), sb(QNAN_S), s(1.0), s(1.0), 0),
        (sb(SNAN_S), s(-1.0), s(-1.0), s(-1.0), NV),
        (sb(QNAN_S), sb(NEG_QNAN_S), CANON_S, CANON_S, 0),
        (sb(SNAN_S), sb(QNAN_S), CANON_S, CANON_S, NV),
        // An unboxed operand is the canonical NaN.
        (d(1.0), s(-3.0), s(-3.0), s(-3.0), 0),
    ];
    for (a, b, min, max, flags) in rows {
        assert_eq!(
            f3(asm::fmin_s(FA0, FA1, FA2), a, b, 0),
            (min, flags),
            "fmin.s {a:#x} {b:#x}"
        );
        assert_eq!(
            f3(asm::fmax_s(FA0, FA1, FA2), a, b, 0),
            (max, flags),
            "fmax.s {a:#x} {b:#x}"
        );
    }
    let rows: [(u64, u64, u64, u64, u64); 8] = [
        (d(1.0), d(-2.0), d(-2.0), d(1.0), 0),
        (d(-0.0), d(0.0), d(-0.0), d(0.0), 0),
        (d(0.0), d(-0.0), d(-0.0), d(0.0), 0),
        (QNAN_D, d(1.0), d(1.0), d(1.0), 0),
        (d(1.0), SNAN_D, d(1.0), d(1.0), NV),
        (QNAN_D, QNAN_D, CANON_D, CANON_D, 0),
        (SNAN_D, SNAN_D, CANON_D, CANON_D, NV),
        (d(f64::NEG_INFINITY), INF_D, d(f64::NEG_INFINITY), INF_D, 0),
    ];
    for (a, b, min, max, flags) in rows {
        assert_eq!(
            f3(asm::fmin_d(FA0, FA1, FA2), a, b, 0),
            (min, flags),
            "fmin.d {a:#x} {b:#x}"
        );
        assert_eq!(
            f3(asm::fmax_d(FA0, FA1, FA2), a, b, 0),
            (max, flags),
            "fmax.d {a:#x} {b:#x}"
        );
    }
}

#[test]
fn comparisons_are_quiet_for_feq_and_signalling_for_flt_and_fle() {
    // (a, b, feq, flt, fle, feq flags, flt/fle flags), as singles and doubles
    let rows: [(f64, f64, u64, u64, u64); 5] = [
        (1.0, 2.0, 0, 1, 1),
        (2.0, 1.0, 0, 0, 0),
        (1.0, 1.0, 1, 0, 1),
        (-0.0, 0.0, 1, 0, 1),
        (f64::NEG_INFINITY, -1.0, 0, 1, 1),
    ];
    for (a, b, eq, lt, le) in rows {
        let (sa, sb_) = (s(a as f32), s(b as f32));
        assert_eq!(to_x(asm::feq_s(A0, FA1, FA2), sa, sb_), (eq, 0), "feq.s {a} {b}");
        assert_eq!(to_x(asm::flt_s(A0, FA1, FA2), sa, sb_), (lt, 0), "flt.s {a} {b}");
        assert_eq!(to_x(asm::fle_s(A0, FA1, FA2), sa, sb_), (le, 0), "fle.s {a} {b}");
        assert_eq!(to_x(asm::feq_d(A0, FA1, FA2), d(a), d(b)), (eq, 0), "feq.d {a} {b}");
        assert_eq!(to_x(asm::flt_d(A0, FA1, FA2), d(a), d(b)), (lt, 0), "flt.d {a} {b}");
        assert_eq!(to_x(asm::fle_d(A0, FA1, FA2), d(a), d(b)), (le, 0), "fle.d {a} {b}");
    }
    // NaN operands: the result is 0; feq raises NV only for a signalling NaN.
    for (nan_s, nan_d, signalling) in [(QNAN_S, QNAN_D, false), (SNAN_S, SNAN_D, true)] {
        let feq_flags = if signalling { NV } else { 0 };
        for (a, b) in [(sb(nan_s), s(1.0)), (s(1.0), sb(nan_s)), (sb(nan_s), sb(nan_s))] {
            assert_eq!(to_x(asm::feq_s(A0, FA1, FA2), a, b), (0, feq_flags));
            assert_eq!(to_x(asm::flt_s(A0, FA1, FA2), a, b), (0, NV));
            assert_eq!(to_x(asm::fle_s(A0, FA1, FA2), a, b), (0, NV));
        }
        for (a, b) in [(nan_d, d(1.0)), (d(1.0), nan_d), (nan_d, nan_d)] {
            assert_eq!(to_x(asm::feq_d(A0, FA1, FA2), a, b), (0, feq_flags));
            assert_eq!(to_x(asm::flt_d(A0, FA1, FA2), a, b), (0, NV));
            assert_eq!(to_x(asm::fle_d(A0, FA1, FA2), a, b), (0, NV));
        }
    }
    // An unboxed single compares as the canonical (quiet) NaN.
    assert_eq!(to_x(asm::feq_s(A0, FA1, FA2), d(1.0), d(1.0)), (0, 0));
}

#[test]
fn fclass_reports_each_of_the_ten_classes() {
    let singles: [(u64, u64); 11] = [
        (s(f32::NEG_INFINITY), 1 << 0),
        (s(-1.0), 1 << 1),
        (sb(0x8000_0001), 1 << 2),
        (s(-0.0), 1 << 3),
        (s(0.0), 1 << 4),
        (sb(0x007f_ffff), 1 << 5),
        (s(1.0), 1 << 6),
        (sb(INF_S), 1 << 7),
        (sb(SNAN_S), 1 << 8),
        (sb(QNAN_S), 1 << 9),
        (d(1.0), 1 << 9), // unboxed: the canonical NaN
    ];
    for (v, class) in singles {
        assert_eq!(to_x(asm::fclass_s(A0, FA1), v, 0), (class, 0), "fclass.s {v:#x}");
    }
    let doubles: [(u64, u64); 10] = [
        (d(f64::NEG_INFINITY), 1 << 0),
        (d(-1e300), 1 << 1),
        (0x800f_ffff_ffff_ffff, 1 << 2),
        (d(-0.0), 1 << 3),
        (d(0.0), 1 << 4),
        (1, 1 << 5),
        (d(f64::MIN_POSITIVE), 1 << 6),
        (INF_D, 1 << 7),
        (SNAN_D, 1 << 8),
        (NEG_QNAN_D, 1 << 9),
    ];
    for (v, class) in doubles {
        assert_eq!(to_x(asm::fclass_d(A0, FA1), v, 0), (class, 0), "fclass.d {v:#x}");
    }
}

// ------------------------------------- sign injection, moves, NaN boxing

#[test]
fn sign_injection() {
    let [j_s, jn_s, jx_s] = [asm::fsgnj_s, asm::fsgnjn_s, asm::fsgnjx_s].map(|op| op(FA0, FA1, FA2));
    let [j_d, jn_d, jx_d] = [asm::fsgnj_d, asm::fsgnjn_d, asm::fsgnjx_d].map(|op| op(FA0, FA1, FA2));
    let (fneg, fabs) = (asm::fsgnjn_s(FA0, FA1, FA1), asm::fsgnjx_s(FA0, FA1, FA1));
    check_f(&[
        ("fsgnj.s", j_s, s(1.5), s(-2.0), 0, s(-1.5), 0),
        ("fsgnjn.s", jn_s, s(1.5), s(-2.0), 0, s(1.5), 0),
        ("fsgnjx.s", jx_s, s(-1.5), s(-2.0), 0, s(1.5), 0),
        ("fneg.s", fneg, s(3.0), 0, 0, s(-3.0), 0),
        ("fabs.s", fabs, s(-3.0), 0, 0, s(3.0), 0),
        // NaNs are not canonicalised, and signalling ones raise nothing.
        ("fsgnjn.s sNaN", jn_s, sb(SNAN_S), s(1.0), 0, sb(SNAN_S | 1 << 31), 0),
        // An unboxed operand is the canonical NaN.
        ("fsgnjn.s unboxed", jn_s, d(1.0), s(1.0), 0, sb(NEG_QNAN_S), 0),
        ("fsgnj.s unboxed rs2", j_s, s(1.0), 5, 0, s(1.0), 0),
        ("fsgnj.d", j_d, d(1.5), d(-2.0), 0, d(-1.5), 0),
        ("fsgnjn.d", jn_d, d(1.5), d(-2.0), 0, d(1.5), 0),
        ("fsgnjx.d", jx_d, d(-1.5), d(-2.0), 0, d(1.5), 0),
        ("fmv.d", asm::fmv_d(FA0, FA1), QNAN_D, 0, 0, QNAN_D, 0),
        // The double operations see a boxed single as a NaN's bits.
        ("fsgnj.d boxed", j_d, s(1.0), d(1.0), 0, s(1.0) & !(1 << 63), 0),
    ]);
}

#[test]
fn moves_copy_bits_and_box_singles() {
    let code = [
        asm::fmv_w_x(FA0, A1),
        asm::fmv_x_w(A2, FA1), // low word of an unboxed register, sign-extended
        asm::fmv_x_w(A3, FA2),
        asm::fmv_d_x(FA3, A1),
        asm::fmv_x_d(A4, FA1),
    ];
    let m = run_with(&code, |m| {
        let h = &mut m.harts[0];
        h.csr.mstatus |= mstatus::FS_INITIAL;
        h.x[A1 as usize] = 0x0123_4567_89ab_cdef;
        h.f[FA1 as usize] = 0x0000_0000_8000_0001;
        h.f[FA2 as usize] = s(2.0);
    });
    let h = &m.harts[0];
    assert_eq!(h.f[FA0 as usize], 0xffff_ffff_89ab_cdef);
    assert_eq!(h.x[A2 as usize], 0xffff_ffff_8000_0001);
    assert_eq!(h.x[A3 as usize], 0x4000_0000);
    assert_eq!(h.f[FA3 as usize], 0x0123_4567_89ab_cdef);
    assert_eq!(h.x[A4 as usize], 0x0000_0000_8000_0001);
    assert_eq!(h.csr.fcsr, 0, "moves raise no flags");
}

#[test]
fn single_operands_that_are_not_boxed_read_as_the_canonical_nan() {
    // A double in the register, or a single with a partly set upper half.
    for unboxed in [d(2.0), 0x7fff_ffff_3f80_0000, 0xffff_fffe_3f80_0000] {
        let (f, flags) = f3(asm::fadd_s(FA0, FA1, FA2, rm::DYN), unboxed, s(1.0), 0);
        assert_eq!((f, flags), (CANON_S, 0), "{unboxed:#x}");
        let (f, flags) = f3(asm::fmul_s(FA0, FA2, FA1, rm::DYN), unboxed, s(1.0), 0);
        assert_eq!((f, flags), (CANON_S, 0), "{unboxed:#x}");
    }
    // fcvt.d.w then an fadd.s on the result: the double is not a single.
    let code = [
        asm::addi(A1, ZERO, 1),
        asm::fcvt_d_w(FA1, A1, rm::DYN),
        asm::fadd_s(FA0, FA1, FA1, rm::DYN),
    ];
    assert_eq!(run_fp(&code, &[], 0).harts[0].f[FA0 as usize], CANON_S);
}

#[test]
fn nan_results_are_canonical_whatever_the_inputs() {
    let (add_s, mul_s, sqrt_s) = (
        asm::fadd_s(FA0, FA1, FA2, DYN),
        asm::fmul_s(FA0, FA1, FA2, DYN),
        asm::fsqrt_s(FA0, FA1, DYN),
    );
    let (div_d, sub_d, sqrt_d) = (
        asm::fdiv_d(FA0, FA1, FA2, DYN),
        asm::fsub_d(FA0, FA1, FA2, DYN),
        asm::fsqrt_d(FA0, FA1, DYN),
    );
    let nmadd_d = asm::fnmadd_d(FA0, FA1, FA2, FA3, DYN);
    check_f(&[
        ("fadd.s qNaN", add_s, sb(QNAN_S), s(1.0), 0, CANON_S, 0),
        ("fadd.s -qNaN", add_s, s(1.0), sb(NEG_QNAN_S), 0, CANON_S, 0),
        ("fmul.s sNaN", mul_s, sb(SNAN_S), s(1.0), 0, CANON_S, NV),
        ("fsqrt.s qNaN", sqrt_s, sb(QNAN_S), 0, 0, CANON_S, 0),
        ("fdiv.d qNaN", div_d, QNAN_D, d(1.0), 0, CANON_D, 0),
        ("fsub.d -qNaN", sub_d, d(1.0), NEG_QNAN_D, 0, CANON_D, 0),
        ("fsqrt.d sNaN", sqrt_d, SNAN_D, 0, 0, CANON_D, NV),
        ("fnmadd.d qNaN", nmadd_d, d(1.0), d(1.0), QNAN_D, CANON_D, 0),
    ]);
}

// ----------------------------------------------------- fflags, frm, fcsr

#[test]
fn flags_accrue_exactly() {
    let code = [
        asm::fdiv_s(FA0, FA1, FA2, rm::DYN), // 1/3: NX
        asm::csrr(A1, FFLAGS),
        asm::fdiv_d(FA0, FA3, FS0, rm::DYN), // 1/0: DZ
        asm::csrr(A2, FFLAGS),
        asm::fadd_s(FA0, FA1, FA1, rm::DYN), // exact: nothing
        asm::csrrw(A3, FFLAGS, ZERO),        // read and clear
        asm::fle_d(A5, FA3, FA3),            // no flags
        asm::csrr(A4, FCSR),
    ];
    let m = run_fp(&code, &[(FA1, s(1.0)), (FA2, s(3.0)), (FA3, d(1.0)), (FS0, d(0.0))], 0);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A1), x(A2), x(A3), x(A4)), (NX, NX | DZ, NX | DZ, 0));
}

#[test]
fn fcsr_frm_and_fflags_are_views_of_one_register() {
    let code = [
        asm::addi(T0, ZERO, 0x1ff),
        asm::csrrw(A1, FCSR, T0), // old fcsr
        asm::csrr(A2, FCSR),      // bits above 7 are dropped
        asm::csrr(A3, FRM),
        asm::csrr(A4, FFLAGS),
        asm::csrrwi(A5, FRM, 2), // frm = RDN, flags kept
        asm::csrr(A6, FCSR),
        asm::csrrci(ZERO, FFLAGS, 0x15), // clear NV, OF, NX
        asm::csrr(A7, FCSR),
        asm::csrrsi(ZERO, FFLAGS, 0x1f),
        asm::addi(T0, ZERO, 0xe5),
        asm::csrw(FFLAGS, T0), // only bits 4:0
        asm::csrr(S2, FCSR),
        asm::csrw(FRM, T0), // only bits 2:0
        asm::csrr(S3, FCSR),
    ];
    let m = run_fp(&code, &[], 0x61);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!(x(A1), 0x61);
    assert_eq!((x(A2), x(A3), x(A4)), (0xff, 7, 0x1f));
    assert_eq!((x(A5), x(A6)), (7, 0x5f));
    assert_eq!(x(A7), 0x4a);
    assert_eq!(x(S2), 0x45);
    assert_eq!(x(S3), 0xa5);
}

#[test]
fn the_fp_csrs_are_accessible_from_user_mode() {
    let mut code = li_u64(T0, mstatus::FS_INITIAL);
    code.push(asm::csrs(MSTATUS, T0));
    code.extend(enter_user());
    code.extend([
        asm::csrrwi(ZERO, FRM, 3),
        asm::csrr(A0, FCSR),
        asm::fadd_d(FA0, FA1, FA1, rm::DYN),
        asm::fmv_x_d(A1, FA0),
    ]);
    let m = run_with(&code, |m| m.harts[0].f[FA1 as usize] = d(0.5));
    let h = &m.harts[0];
    assert!(h.last_trap.is_none());
    assert_eq!((h.x[A0 as usize], h.x[A1 as usize]), (0x60, d(1.0)));
}

// ------------------------------------------------------------- mstatus.FS

/// One encoding of every F and D operation.
fn every_fp_instruction() -> Vec<u32> {
    let r = rm::RNE;
    vec![
        asm::flw(FA0, A0, 0),
        asm::fsw(FA0, A0, 0),
        asm::fld(FA0, A0, 0),
        asm::fsd(FA0, A0, 0),
        asm::fmadd_s(FA0, FA1, FA2, FA3, r),
        asm::fmsub_s(FA0, FA1, FA2, FA3, r),
        asm::fnmsub_s(FA0, FA1, FA2, FA3, r),
        asm::fnmadd_s(FA0, FA1, FA2, FA3, r),
        asm::fmadd_d(FA0, FA1, FA2, FA3, r),
        asm::fmsub_d(FA0, FA1, FA2, FA3, r),
        asm::fnmsub_d(FA0, FA1, FA2, FA3, r),
        asm::fnmadd_d(FA0, FA1, FA2, FA3, r),
        asm::fadd_s(FA0, FA1, FA2, r),
        asm::fsub_s(FA0, FA1, FA2, r),
        asm::fmul_s(FA0, FA1, FA2, r),
        asm::fdiv_s(FA0, FA1, FA2, r),
        asm::fsqrt_s(FA0, FA1, r),
        asm::fadd_d(FA0, FA1, FA2, r),
        asm::fsub_d(FA0, FA1, FA2, r),
        asm::fmul_d(FA0, FA1, FA2, r),
        asm::fdiv_d(FA0, FA1, FA2, r),
        asm::fsqrt_d(FA0, FA1, r),
        asm::fsgnj_s(FA0, FA1, FA2),
        asm::fsgnjn_s(FA0, FA1, FA2),
        asm::fsgnjx_s(FA0, FA1, FA2),
        asm::fsgnj_d(FA0, FA1, FA2),
        asm::fsgnjn_d(FA0, FA1, FA2),
        asm::fsgnjx_d(FA0, FA1, FA2),
        asm::fmin_s(FA0, FA1, FA2),
        asm::fmax_s(FA0, FA1, FA2),
        asm::fmin_d(FA0, FA1, FA2),
        asm::fmax_d(FA0, FA1, FA2),
        asm::fcvt_s_d(FA0, FA1, r),
        asm::fcvt_d_s(FA0, FA1, r),
        asm::feq_s(A0, FA1, FA2),
        asm::flt_s(A0, FA1, FA2),
        asm::fle_s(A0, FA1, FA2),
        asm::feq_d(A0, FA1, FA2),
        asm::flt_d(A0, FA1, FA2),
        asm::fle_d(A0, FA1, FA2),
        asm::fcvt_w_s(A0, FA1, r),
        asm::fcvt_wu_s(A0, FA1, r),
        asm::fcvt_l_s(A0, FA1, r),
        asm::fcvt_lu_s(A0, FA1, r),
        asm::fcvt_w_d(A0, FA1, r),
        asm::fcvt_wu_d(A0, FA1, r),
        asm::fcvt_l_d(A0, FA1, r),
        asm::fcvt_lu_d(A0, FA1, r),
        asm::fcvt_s_w(FA0, A1, r),
        asm::fcvt_s_wu(FA0, A1, r),
        asm::fcvt_s_l(FA0, A1, r),
        asm::fcvt_s_lu(FA0, A1, r),
        asm::fcvt_d_w(FA0, A1, r),
        asm::fcvt_d_wu(FA0, A1, r),
        asm::fcvt_d_l(FA0, A1, r),
        asm::fcvt_d_lu(FA0, A1, r),
        asm::fmv_x_w(A0, FA1),
        asm::fclass_s(A0, FA1),
        asm::fmv_x_d(A0, FA1),
        asm::fclass_d(A0, FA1),
        asm::fmv_w_x(FA0, A1),
        asm::fmv_d_x(FA0, A1),
    ]
}

#[test]
fn every_fp_operation_decodes() {
    let ops: std::collections::BTreeSet<String> = every_fp_instruction()
        .into_iter()
        .map(|w| format!("{:?}", decode(w).op))
        .collect();
    assert_eq!(ops.len(), 62, "{ops:?}");
    assert!(!ops.contains(&format!("{:?}", Op::Illegal)));
}

#[test]
fn with_fs_off_every_fp_instruction_and_csr_is_illegal() {
    let mut insns = every_fp_instruction();
    insns.extend([asm::csrr(A0, FFLAGS), asm::csrw(FRM, ZERO), asm::csrrwi(A0, FCSR, 0)]);
    for insn in insns {
        let mut code = asm::li(A0, DATA as i64);
        let at = CODE + 4 * code.len() as u64;
        code.push(insn);
        let m = run_with(&code, |m| m.harts[0].f[FA0 as usize] = 0x1234);
        let h = &m.harts[0];
        let trap = (
            h.x[TRAP_CAUSE as usize],
            h.x[TRAP_TVAL as usize],
            h.x[TRAP_EPC as usize],
        );
        assert_eq!(trap, (2, insn as u64, at), "{insn:#010x}");
        assert_eq!(h.f[FA0 as usize], 0x1234);
        assert_eq!(h.csr.mstatus & mstatus::FS, 0, "FS stays Off");
    }
    // Compressed: mtval holds the 16 bits.
    for half in [0x2588u16, 0xa988, 0x2462, 0xb026] {
        assert_eq!(trap_of(&rvc(&[half, 0x0001])), (2, half as u64, CODE), "{half:#06x}");
    }
}

#[test]
fn reserved_fp_encodings_are_illegal() {
    let r = rm::RNE;
    let reserved = [
        asm::fadd_s(FA0, FA1, FA2, r) | (2 << 25),       // fmt = H
        asm::fmadd_s(FA0, FA1, FA2, FA3, r) | (3 << 25), // fmt = Q
        asm::fsqrt_s(FA0, FA1, r) | (1 << 20),           // rs2 != 0
        asm::fcvt_w_s(A0, FA1, r) | (4 << 20),           // no such integer type
        asm::fcvt_s_d(FA0, FA1, r) & !(1 << 20),         // fcvt.s.s
        asm::fsgnj_s(FA0, FA1, FA2) | (3 << 12),         // funct3 = 3
        asm::fmin_d(FA0, FA1, FA2) | (2 << 12),          // funct3 = 2
        asm::feq_s(A0, FA1, FA2) | (3 << 12),            // funct3 = 3
        asm::fmv_x_w(A0, FA1) | (1 << 20),               // rs2 != 0
        asm::fclass_d(A0, FA1) | (2 << 12),              // funct3 = 2
        asm::fmv_w_x(FA0, A1) | (1 << 12),               // funct3 = 1
        (asm::flw(FA0, A0, 0) & !(7 << 12)) | (1 << 12), // flh
        (asm::fsd(FA0, A0, 0) & !(7 << 12)) | (4 << 12), // fsq
    ];
    for insn in reserved {
        let got = trap_of_with(&[insn], |m| m.harts[0].csr.mstatus |= mstatus::FS_INITIAL);
        assert_eq!(got, (2, insn as u64, CODE), "{insn:#010x}");
    }
}

/// FS after `code` runs from FS = `start`, and mstatus as read at the end.
fn fs_after(code: &[u32], start: u64) -> (u64, u64) {
    let mut code = code.to_vec();
    code.push(asm::csrr(S2, MSTATUS));
    code.push(asm::csrr(S3, SSTATUS));
    let m = run_with(&code, |m| {
        let h = &mut m.harts[0];
        h.csr.mstatus |= start;
        h.f[FA1 as usize] = s(1.0);
        h.f[FA2 as usize] = sb(QNAN_S);
        h.f[FA3 as usize] = sb(SNAN_S);
        h.f[FS0 as usize] = s(1.5);
    });
    let h = &m.harts[0];
    assert!(h.last_trap.is_none());
    let (mstatus_, sstatus) = (h.x[S2 as usize], h.x[S3 as usize]);
    assert_eq!(mstatus_ & mstatus::FS, sstatus & mstatus::FS, "sstatus shows FS");
    assert_eq!(mstatus_ >> 63, sstatus >> 63, "sstatus shows SD");
    let dirty = mstatus_ & mstatus::FS == mstatus::FS_DIRTY;
    assert_eq!(mstatus_ >> 63 == 1, dirty, "SD = (FS == Dirty)");
    (mstatus_ & mstatus::FS, mstatus_)
}

#[test]
fn fs_becomes_dirty_exactly_when_fp_state_is_written() {
    let mut data = asm::li(A0, DATA as i64);
    data.push(asm::fsw(FA1, A0, 0));
    // Nothing here writes an f register or a flag.
    let clean: Vec<(&str, Vec<u32>)> = vec![
        ("fsw", data.clone()),
        ("fmv.x.w", vec![asm::fmv_x_w(A0, FA1)]),
        ("fclass", vec![asm::fclass_s(A0, FA3)]),
        ("feq qNaN", vec![asm::feq_s(A0, FA1, FA2)]),
        ("flt", vec![asm::flt_s(A0, FA1, FA1)]),
        ("exact fcvt.w.s", vec![asm::fcvt_w_s(A0, FA1, rm::RNE)]),
        ("csrr fcsr", vec![asm::csrr(A0, FCSR)]),
        ("csrrs fflags, x0", vec![asm::csrrs(A0, FFLAGS, ZERO)]),
        ("csrrsi frm, 0", vec![asm::csrrsi(A0, FRM, 0)]),
    ];
    let mut flw = data.clone();
    flw.push(asm::flw(FA0, A0, 0));
    let dirty: Vec<(&str, Vec<u32>)> = vec![
        ("flw", flw),
        ("fmv.w.x", vec![asm::fmv_w_x(FA0, ZERO)]),
        ("fadd", vec![asm::fadd_s(FA0, FA1, FA1, rm::RNE)]),
        ("fsgnj", vec![asm::fmv_s(FA0, FA1)]),
        ("fcvt.d.l", vec![asm::fcvt_d_l(FA0, ZERO, rm::RNE)]),
        ("feq sNaN (NV)", vec![asm::feq_s(A0, FA1, FA3)]),
        ("flt qNaN (NV)", vec![asm::flt_s(A0, FA2, FA1)]),
        ("fcvt.w.s of NaN (NV)", vec![asm::fcvt_w_s(A0, FA2, rm::RNE)]),
        ("inexact fcvt.w.s (NX)", vec![asm::fcvt_w_s(A0, FS0, rm::RNE)]),
        ("csrw frm", vec![asm::csrrwi(ZERO, FRM, 0)]),
        ("csrw fflags", vec![asm::csrw(FFLAGS, ZERO)]),
        ("csrrs fcsr, t0", vec![asm::addi(T0, ZERO, 1), asm::csrrs(A0, FCSR, T0)]),
    ];
    for start in [mstatus::FS_INITIAL, mstatus::FS_CLEAN] {
        for (name, code) in &clean {
            assert_eq!(fs_after(code, start).0, start, "{name} keeps FS");
        }
        for (name, code) in &dirty {
            assert_eq!(fs_after(code, start).0, mstatus::FS_DIRTY, "{name} makes FS Dirty");
        }
    }
}

#[test]
fn fs_is_writable_through_mstatus_and_sstatus_and_resets_to_off() {
    assert_eq!(reg_after(&[asm::csrr(A0, MSTATUS)], A0) & mstatus::FS, 0, "reset: Off");
    for fs in [0, mstatus::FS_INITIAL, mstatus::FS_CLEAN, mstatus::FS_DIRTY] {
        let mut code = li_u64(T0, mstatus::FS);
        code.push(asm::csrc(MSTATUS, T0));
        code.extend(li_u64(T0, fs));
        code.push(asm::csrs(MSTATUS, T0));
        let (got, status) = fs_after(&code, 0);
        assert_eq!(got, fs);
        assert_eq!(status & mstatus::XS, 0, "XS stays 0");
        // The same through sstatus (writing SD is ignored).
        let mut code = li_u64(T0, mstatus::FS | mstatus::SD);
        code.push(asm::csrc(SSTATUS, T0));
        code.extend(li_u64(T0, fs | mstatus::SD));
        code.push(asm::csrs(SSTATUS, T0));
        assert_eq!(fs_after(&code, mstatus::FS_DIRTY).0, fs);
    }
    // Turning FP off again makes it illegal again; the registers keep their values.
    let mut code = li_u64(T0, mstatus::FS);
    code.push(asm::csrc(MSTATUS, T0));
    code.push(asm::fmv_x_d(A0, FA1));
    let m = run_fp(&code, &[(FA1, d(1.0))], 0);
    assert_eq!(m.harts[0].x[TRAP_CAUSE as usize], 2);
    assert_eq!(m.harts[0].f[FA1 as usize], d(1.0));
}

// ------------------------------------------------ misa, device tree, cost

#[test]
fn misa_and_the_device_tree_advertise_f_and_d() {
    let misa = reg_after(&[asm::csrr(A0, MISA)], A0);
    let ext = |c: u8| misa >> (c - b'A') & 1;
    assert_eq!((ext(b'F'), ext(b'D')), (1, 1));
    assert_eq!(misa & ((1 << 26) - 1), 0x14112d, "ACDFIMSU");
    assert_eq!(rvmsmp::fdt::ISA, "rv64imafdc_zicntr_zicsr_zifencei_sstc");
    let blob = rvmsmp::fdt::build(1, rvmsmp::memmap::dram(4 << 20), &Default::default()).unwrap();
    let has = |needle: &[u8]| blob.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"rv64imafdc_zicntr_zicsr_zifencei_sstc\0"));
    assert!(has(b"i\0m\0a\0f\0d\0c\0zicntr\0"));
}

#[test]
fn fp_instructions_cost_what_the_cycle_model_says() {
    let cycles = |insn: u32| run_fp(&[insn], &[(FA1, d(2.0)), (FA2, d(3.0))], 0).harts[0].cycle;
    let base = cycles(asm::fsgnj_d(FA0, FA1, FA2));
    assert_eq!(cycles(asm::fmv_x_d(A0, FA1)), base);
    assert_eq!(cycles(asm::fadd_d(FA0, FA1, FA2, rm::RNE)), base + 2);
    assert_eq!(cycles(asm::fmadd_s(FA0, FA1, FA2, FA3, rm::RNE)), base + 2);
    assert_eq!(cycles(asm::fcvt_w_d(A0, FA1, rm::RNE)), base + 2);
    assert_eq!(cycles(asm::fdiv_d(FA0, FA1, FA2, rm::RNE)), base + 19);
    assert_eq!(cycles(asm::fsqrt_s(FA0, FA1, rm::RNE)), base + 19);
}

// ---------------------------------------------------------------- helpers

fn li_u64(rd: u32, value: u64) -> Vec<u32> {
    asm::li(rd, value as i64)
}

/// Drops to U-mode: MPP = U, mepc = the instruction after the mret.
fn enter_user() -> Vec<u32> {
    let mut w = li_u64(T0, mstatus::MPP);
    w.push(asm::csrc(MSTATUS, T0));
    w.extend([
        asm::auipc(T0, 0),
        asm::addi(T0, T0, 16),
        asm::csrw(MEPC, T0),
        asm::mret(),
    ]);
    w
}

/// Doubles of every kind: random bits, normal numbers of every magnitude
/// and around the overflow and underflow thresholds, both zeros, an
/// infinity and NaNs.
fn interesting_doubles() -> proptest::strategy::BoxedStrategy<u64> {
    use proptest::prelude::*;
    prop_oneof![
        any::<u64>(),
        // Normal numbers of every magnitude, and around the thresholds.
        (any::<bool>(), 0u64..0x7ff, any::<u64>()).prop_map(|(s, e, m)| (s as u64) << 63 | e << 52 | m >> 12),
        (
            any::<bool>(),
            prop_oneof![0u64..4, 0x7fbu64..0x7ff, 0x3fdu64..0x401],
            any::<u64>()
        )
            .prop_map(|(s, e, m)| (s as u64) << 63 | e << 52 | m >> 12),
        Just(0u64),
        Just(1u64 << 63),
        Just(INF_D),
        Just(QNAN_D),
        Just(SNAN_D),
    ]
    .boxed()
}

/// Double-precision add, subtract, multiply, divide, square root and the
/// four fused multiply-adds take a shortcut through the host's arithmetic
/// when inexact is already set and the rounding is to nearest
/// (emulator/src/cpu/fpu.rs, `host_f64`). Whatever the operands (normal,
/// subnormal, zero, infinite, NaN, near the overflow and underflow
/// thresholds), the result must be SoftFloat's, and the flags those
/// SoftFloat raises plus the inexact already set. The run with fflags
/// clear always goes through SoftFloat, so it is the reference.
#[test]
fn the_host_shortcut_for_doubles_gives_softfloats_results_and_flags() {
    use proptest::prelude::*;
    let interesting = interesting_doubles();
    let ops = [asm::fadd_d, asm::fsub_d, asm::fmul_d, asm::fdiv_d];
    let fused = [asm::fmadd_d, asm::fmsub_d, asm::fnmsub_d, asm::fnmadd_d];
    let mut runner = proptest::test_runner::TestRunner::new(crate::common::proptest_config(4000));
    let operands = (interesting.clone(), interesting.clone(), interesting);
    runner
        .run(&(0usize..9, operands), |(op, (a, b, c))| {
            let rm = if a & 1 == 0 { rm::RNE } else { DYN };
            let insn = match op {
                4 => asm::fsqrt_d(FA0, FA1, rm::RNE),
                0..4 => ops[op](FA0, FA1, FA2, rm),
                _ => fused[op - 5](FA0, FA1, FA2, FA3, rm),
            };
            let (soft, _, soft_flags) = exec(insn, a, b, c, 0);
            let (fast, _, fast_flags) = exec(insn, a, b, c, NX);
            prop_assert_eq!(fast, soft, "{:#x} {:#x} {:#x}: result", a, b, c);
            prop_assert_eq!(fast_flags, soft_flags | NX, "{:#x} {:#x} {:#x}: flags", a, b, c);
            Ok(())
        })
        .unwrap();
}

/// Translated code (emulator/src/cpu/jit.rs) does double arithmetic, fused
/// multiply-adds, sign injection and FP loads and stores as host
/// instructions when it can show that is the interpreter's answer, and
/// hands other FP work on f registers to the interpreter's FP code. Random
/// runs of those instructions, on operands of every kind (subnormals, both
/// zeros, infinities, NaNs, values near the overflow and underflow
/// thresholds), under every rounding mode and with fflags clear or not,
/// must leave the f and x registers, fcsr, mstatus, the memory written and
/// every counter exactly as the interpreter alone does.
#[test]
fn translated_fp_code_matches_the_interpreter() {
    use proptest::prelude::*;
    use rvmsmp::devices::uart::NoInput;
    use rvmsmp::MachineConfig;
    // A properly boxed single too, now and then.
    let value = prop_oneof![8 => interesting_doubles(), 1 => Just(BOX | 0x3f80_0000)];
    // (kind, rd, rs1, rs2, rs3, rounding mode) per instruction.
    let insn = (
        0u32..20,
        0u32..8,
        0u32..8,
        0u32..8,
        0u32..8,
        prop_oneof![Just(rm::RNE), Just(DYN), Just(RTZ)],
    );
    let fcsr = prop_oneof![Just(0u64), Just(NX), Just(NX | 1 << 5), Just(NX | UF), Just(0x1f)];
    let program = (
        proptest::collection::vec(insn, 1..24),
        proptest::collection::vec(value, 8),
        fcsr,
    );
    let run = |code: &[u32], regs: &[u64], fcsr: u64, jit: bool| {
        let config = MachineConfig {
            ram_size: 4 << 20,
            max_cycles: Some(1_000_000),
            jit,
            jit_hot_runs: 0,
            ..MachineConfig::default()
        };
        let mut m = Machine::new(config, Box::new(std::io::sink()), Box::new(NoInput)).expect("valid machine");
        let mut words = code.to_vec();
        words.extend(power_off());
        place(&mut m, CODE, &words);
        place(&mut m, HANDLER, &trap_handler());
        let h = &mut m.harts[0];
        h.pc = CODE;
        h.csr.mtvec = HANDLER;
        h.csr.mstatus |= mstatus::FS_INITIAL;
        h.csr.fcsr = fcsr;
        h.x[S1 as usize] = DATA;
        for (r, &v) in regs.iter().enumerate() {
            h.f[r] = v;
        }
        m.run();
        m
    };
    let mut runner = proptest::test_runner::TestRunner::new(crate::common::proptest_config(512));
    runner
        .run(&program, |(insns, regs, fcsr)| {
            let code: Vec<u32> = insns
                .iter()
                .map(|&(kind, rd, a, b, c, rm)| match kind {
                    0 => asm::fadd_d(rd, a, b, rm),
                    1 => asm::fsub_d(rd, a, b, rm),
                    2 => asm::fmul_d(rd, a, b, rm),
                    3 => asm::fdiv_d(rd, a, b, rm),
                    4 => asm::fsqrt_d(rd, a, rm),
                    5 => asm::fmadd_d(rd, a, b, c, rm),
                    6 => asm::fmsub_d(rd, a, b, c, rm),
                    7 => asm::fnmsub_d(rd, a, b, c, rm),
                    8 => asm::fnmadd_d(rd, a, b, c, rm),
                    9 => asm::fsgnj_d(rd, a, b),
                    10 => asm::fsgnjn_d(rd, a, b),
                    11 => asm::fsgnjx_d(rd, a, b),
                    12 => asm::fld(rd, S1, 8 * c as i32),
                    13 => asm::fsd(b, S1, 8 * c as i32),
                    14 => asm::flw(rd, S1, 4 * c as i32),
                    15 => asm::fsw(b, S1, 4 * c as i32),
                    16 => asm::fadd_s(rd, a, b, rm),
                    17 => asm::fcvt_s_d(rd, a, rm),
                    18 => asm::fmin_d(rd, a, b),
                    _ => asm::fmv_x_d(A0 + (rd & 3), a),
                })
                .collect();
            let interpreted = run(&code, &regs, fcsr, false);
            let translated = run(&code, &regs, fcsr, true);
            let (i, t) = (&interpreted.harts[0], &translated.harts[0]);
            prop_assert_eq!(t.f, i.f, "f registers");
            prop_assert_eq!(t.x, i.x, "x registers");
            prop_assert_eq!(t.csr.fcsr, i.csr.fcsr, "fcsr");
            prop_assert_eq!(t.csr.mstatus, i.csr.mstatus, "mstatus");
            prop_assert_eq!(
                (t.pc, t.cycle, t.instret),
                (i.pc, i.cycle, i.instret),
                "pc, cycle, instret"
            );
            prop_assert_eq!(
                translated.bus.ram_slice(DATA, 64),
                interpreted.bus.ram_slice(DATA, 64),
                "memory written"
            );
            Ok(())
        })
        .unwrap();
}
