//! Instruction semantics, one test (or a few) per instruction, written with
//! the `rvmsmp::asm` encoder so they read like assembly. Every `Op` the hart
//! decodes (except `Illegal`, see traps.rs) is exercised here.

use crate::common::csr::*;
use crate::common::*;
use rvmsmp::asm::{self, reg::*};
use rvmsmp::cpu::csr::mstatus;
use rvmsmp::cpu::Priv;

const MIN: u64 = i64::MIN as u64;
const MAX: u64 = u64::MAX;
const IMAX: u64 = i64::MAX as u64;

/// `li` for a u64, as the tables hold unsigned values.
fn li(rd: u32, value: u64) -> Vec<u32> {
    asm::li(rd, value as i64)
}

type RType = fn(u32, u32, u32) -> u32;
type IType = fn(u32, u32, i32) -> u32;
type Shift = fn(u32, u32, u32) -> u32;

/// Runs `op a2, a0, a1` with a0 = a and a1 = b; returns a2.
fn rr(op: RType, a: u64, b: u64) -> u64 {
    let mut code = li(A0, a);
    code.extend(li(A1, b));
    code.push(op(A2, A0, A1));
    reg_after(&code, A2)
}

/// Rows of (name, op, a, b, expected a2) for [`rr`].
fn check_rr(rows: &[(&str, RType, u64, u64, u64)]) {
    for &(name, op, a, b, want) in rows {
        assert_eq!(rr(op, a, b), want, "{name} {a:#x}, {b:#x}");
    }
}

/// Rows of (name, op, a, imm, expected) for `op a2, a0, imm` with a0 = a.
fn check_ri(rows: &[(&str, IType, u64, i32, u64)]) {
    for &(name, op, a, imm, want) in rows {
        let mut code = li(A0, a);
        code.push(op(A2, A0, imm));
        assert_eq!(reg_after(&code, A2), want, "{name} {a:#x}, {imm}");
    }
}

/// Rows of (name, op, a, shamt, expected) for `op a2, a0, shamt` with a0 = a.
fn check_shift_imm(rows: &[(&str, Shift, u64, u32, u64)]) {
    for &(name, op, a, sh, want) in rows {
        let mut code = li(A0, a);
        code.push(op(A2, A0, sh));
        assert_eq!(reg_after(&code, A2), want, "{name} {a:#x}, {sh}");
    }
}

// ---------------------------------------------------------------- RV64I

#[test]
fn addi_adds_a_sign_extended_immediate() {
    assert_eq!(reg_after(&[asm::addi(A0, ZERO, -5)], A0), (-5i64) as u64);
}

#[test]
fn x0_ignores_writes() {
    let code = [asm::addi(ZERO, ZERO, 5), asm::add(A0, ZERO, ZERO)];
    assert_eq!(reg_after(&code, A0), 0);
}

#[test]
fn lui_loads_the_upper_20_bits_sign_extended() {
    let m = run(&[asm::lui(A0, 0x1234_5000), asm::lui(A1, 0x8000_0000u32 as i32)]);
    assert_eq!(m.harts[0].x[A0 as usize], 0x1234_5000);
    assert_eq!(m.harts[0].x[A1 as usize], 0xffff_ffff_8000_0000);
}

#[test]
fn auipc_adds_the_upper_immediate_to_its_own_pc() {
    let m = run(&[asm::auipc(A0, 0x1000), asm::auipc(A1, -0x1000)]);
    assert_eq!(m.harts[0].x[A0 as usize], CODE + 0x1000);
    assert_eq!(m.harts[0].x[A1 as usize], CODE + 4 - 0x1000);
}

#[test]
fn jal_links_the_next_pc_and_jumps_both_ways() {
    let m = run(&[
        asm::jal(ZERO, 12),     // CODE+0: to CODE+12
        asm::addi(A0, ZERO, 1), // CODE+4: reached from CODE+12
        asm::jal(ZERO, 8),      // CODE+8: to CODE+16
        asm::jal(RA, -8),       // CODE+12: to CODE+4, ra = CODE+16
        asm::addi(A1, ZERO, 2), // CODE+16
    ]);
    let h = &m.harts[0];
    assert_eq!((h.x[A0 as usize], h.x[A1 as usize]), (1, 2));
    assert_eq!(h.x[RA as usize], CODE + 16);
}

#[test]
fn jalr_clears_bit_0_of_the_target() {
    let m = run(&[
        asm::auipc(T0, 0),      // CODE+0
        asm::addi(T0, T0, 15),  // CODE+4: t0 = CODE+15
        asm::jalr(RA, T0, 2),   // CODE+8: target CODE+17 & !1 = CODE+16
        asm::addi(A0, ZERO, 1), // CODE+12: skipped
        asm::addi(A1, ZERO, 2), // CODE+16
    ]);
    let h = &m.harts[0];
    assert_eq!((h.x[A0 as usize], h.x[A1 as usize]), (0, 2));
    assert_eq!(h.x[RA as usize], CODE + 12);
}

#[test]
fn jalr_with_rd_equal_to_rs1_uses_the_old_value() {
    let m = run(&[
        asm::auipc(T0, 0),      // CODE+0
        asm::addi(T0, T0, 20),  // CODE+4: t0 = CODE+20
        asm::jalr(T0, T0, -4),  // CODE+8: to CODE+16, t0 = CODE+12
        asm::addi(A0, ZERO, 1), // CODE+12: skipped
        asm::addi(A1, ZERO, 2), // CODE+16
    ]);
    let h = &m.harts[0];
    assert_eq!((h.x[A0 as usize], h.x[A1 as usize]), (0, 2));
    assert_eq!(h.x[T0 as usize], CODE + 12);
}

type Branch = fn(u32, u32, i32) -> u32;

/// Whether `branch a0, a1, +8` is taken with a0 = a and a1 = b.
fn taken(branch: Branch, a: u64, b: u64) -> bool {
    let mut code = li(A0, a);
    code.extend(li(A1, b));
    code.extend([
        asm::addi(A2, ZERO, 1),
        branch(A0, A1, 8),
        asm::addi(A2, ZERO, 0), // skipped when taken
    ]);
    reg_after(&code, A2) == 1
}

#[test]
fn branches_compare_signed_and_unsigned() {
    let rows: &[(&str, Branch, u64, u64, bool)] = &[
        ("beq", asm::beq, 5, 5, true),
        ("beq", asm::beq, 5, 6, false),
        ("beq", asm::beq, 0, 1 << 32, false),
        ("bne", asm::bne, 5, 6, true),
        ("bne", asm::bne, 5, 5, false),
        ("blt", asm::blt, MAX, 0, true),
        ("blt", asm::blt, 0, MAX, false),
        ("blt", asm::blt, MIN, IMAX, true),
        ("blt", asm::blt, 5, 5, false),
        ("bge", asm::bge, 0, MAX, true),
        ("bge", asm::bge, MAX, 0, false),
        ("bge", asm::bge, 5, 5, true),
        ("bge", asm::bge, IMAX, MIN, true),
        ("bltu", asm::bltu, 0, MAX, true),
        ("bltu", asm::bltu, MAX, 0, false),
        ("bltu", asm::bltu, 5, 5, false),
        ("bgeu", asm::bgeu, MAX, 0, true),
        ("bgeu", asm::bgeu, 0, MAX, false),
        ("bgeu", asm::bgeu, 5, 5, true),
    ];
    for &(name, op, a, b, want) in rows {
        assert_eq!(taken(op, a, b), want, "{name} {a:#x}, {b:#x}");
    }
}

#[test]
fn a_backward_branch_loops() {
    let code = [
        asm::addi(A0, ZERO, 5),
        asm::addi(A1, ZERO, 0),
        asm::addi(A1, A1, 1), // loop:
        asm::addi(A0, A0, -1),
        asm::bne(A0, ZERO, -8), // bne a0, zero, loop
    ];
    assert_eq!(reg_after(&code, A1), 5);
}

/// Runs `op a2, offset(a0)` with a0 = DATA + 8 and DATA holding
/// 11 22 33 44 55 66 77 88 f1 f2 ...; returns a2.
fn load(op: IType, offset: i32) -> u64 {
    let mut code = li(A0, DATA + 8);
    code.push(op(A2, A0, offset));
    run_with(&code, |m| {
        m.bus.write_ram(DATA, 8, 0x8877_6655_4433_2211).unwrap();
        m.bus.write_ram(DATA + 8, 8, 0x0102_0304_f4f3_f2f1).unwrap();
    })
    .harts[0]
        .x[A2 as usize]
}

#[test]
fn loads_sign_or_zero_extend() {
    let rows: &[(&str, IType, i32, u64)] = &[
        ("lb", asm::lb, -8, 0x11),
        ("lb", asm::lb, -1, 0xffff_ffff_ffff_ff88),
        ("lbu", asm::lbu, -1, 0x88),
        ("lh", asm::lh, -8, 0x2211),
        ("lh", asm::lh, -2, 0xffff_ffff_ffff_8877),
        ("lhu", asm::lhu, -2, 0x8877),
        ("lw", asm::lw, -8, 0x4433_2211),
        ("lw", asm::lw, -4, 0xffff_ffff_8877_6655),
        ("lwu", asm::lwu, -4, 0x8877_6655),
        ("lwu", asm::lwu, 0, 0xf4f3_f2f1),
        ("ld", asm::ld, -8, 0x8877_6655_4433_2211),
        ("ld", asm::ld, 0, 0x0102_0304_f4f3_f2f1),
    ];
    for &(name, op, offset, want) in rows {
        assert_eq!(load(op, offset), want, "{name} {offset}(DATA+8)");
    }
}

type Store = fn(u32, u32, i32) -> u32;

#[test]
fn stores_write_only_their_width() {
    let rows: &[(&str, Store, i32, u64)] = &[
        ("sb", asm::sb, -7, 0xffff_ffff_ffff_88ff),
        ("sh", asm::sh, -6, 0xffff_ffff_7788_ffff),
        ("sw", asm::sw, -4, 0x5566_7788_ffff_ffff),
        ("sd", asm::sd, -8, 0x1122_3344_5566_7788),
    ];
    for &(name, op, offset, want) in rows {
        let mut code = li(A0, DATA + 8);
        code.extend(li(A1, 0x1122_3344_5566_7788));
        code.push(op(A1, A0, offset));
        let m = run_with(&code, |m| m.bus.write_ram(DATA, 8, MAX).unwrap());
        assert_eq!(m.bus.read_ram(DATA, 8), Some(want), "{name} {offset}(DATA+8)");
        assert_eq!(m.bus.read_ram(DATA + 8, 8), Some(0), "{name} wrote past its width");
    }
}

#[test]
fn op_imm_instructions() {
    check_ri(&[
        ("addi", asm::addi, 1, -1, 0),
        ("addi", asm::addi, MAX, 1, 0),
        ("addi", asm::addi, 0, 2047, 2047),
        ("addi", asm::addi, 0, -2048, 0xffff_ffff_ffff_f800),
        ("slti", asm::slti, MAX, 0, 1),
        ("slti", asm::slti, 0, -1, 0),
        ("slti", asm::slti, MIN, -2048, 1),
        ("slti", asm::slti, 7, 7, 0),
        // sltiu compares with the sign-extended immediate as unsigned.
        ("sltiu", asm::sltiu, 0, -1, 1),
        ("sltiu", asm::sltiu, MAX, -1, 0),
        ("sltiu", asm::sltiu, 5, 6, 1),
        ("sltiu", asm::sltiu, 6, 5, 0),
        ("xori", asm::xori, 0xff, -1, 0xffff_ffff_ffff_ff00),
        ("xori", asm::xori, 0x0f, 0xf0, 0xff),
        ("ori", asm::ori, 0x100, -2048, 0xffff_ffff_ffff_f900),
        ("ori", asm::ori, 0x0f, 0x30, 0x3f),
        ("andi", asm::andi, MAX, 0x7ff, 0x7ff),
        ("andi", asm::andi, 0x1234, -16, 0x1230),
    ]);
}

#[test]
fn shift_immediate_instructions() {
    check_shift_imm(&[
        ("slli", asm::slli, 1, 63, MIN),
        ("slli", asm::slli, 3, 0, 3),
        ("slli", asm::slli, 0xff, 60, 0xf000_0000_0000_0000),
        ("srli", asm::srli, MIN, 63, 1),
        ("srli", asm::srli, MAX, 1, IMAX),
        ("srai", asm::srai, MIN, 63, MAX),
        ("srai", asm::srai, MIN, 1, 0xc000_0000_0000_0000),
        ("srai", asm::srai, IMAX, 62, 1),
    ]);
}

#[test]
fn op_instructions() {
    check_rr(&[
        ("add", asm::add, 1, 2, 3),
        ("add", asm::add, MAX, 1, 0),
        ("add", asm::add, IMAX, 1, MIN),
        ("sub", asm::sub, 0, 1, MAX),
        ("sub", asm::sub, 5, 3, 2),
        ("sub", asm::sub, MIN, 1, IMAX),
        // Register shifts use the low 6 bits of rs2.
        ("sll", asm::sll, 1, 63, MIN),
        ("sll", asm::sll, 1, 64, 1),
        ("sll", asm::sll, 3, 65, 6),
        ("slt", asm::slt, MAX, 0, 1),
        ("slt", asm::slt, 0, MAX, 0),
        ("slt", asm::slt, MIN, IMAX, 1),
        ("slt", asm::slt, 5, 5, 0),
        ("sltu", asm::sltu, 0, MAX, 1),
        ("sltu", asm::sltu, MAX, 0, 0),
        ("sltu", asm::sltu, 5, 5, 0),
        ("xor", asm::xor, 0xff00, 0x0ff0, 0xf0f0),
        ("srl", asm::srl, MIN, 63, 1),
        ("srl", asm::srl, MIN, 1, 0x4000_0000_0000_0000),
        ("srl", asm::srl, 0x1234, 64, 0x1234),
        ("sra", asm::sra, MIN, 63, MAX),
        ("sra", asm::sra, MIN, 1, 0xc000_0000_0000_0000),
        ("sra", asm::sra, IMAX, 62, 1),
        ("sra", asm::sra, MIN, 64, MIN),
        ("or", asm::or, 0xf0, 0x0f, 0xff),
        ("and", asm::and, 0xff0, 0x0ff, 0x0f0),
    ]);
}

#[test]
fn op_imm_32_instructions_sign_extend_their_result() {
    check_ri(&[
        ("addiw", asm::addiw, 0x7fff_ffff, 1, 0xffff_ffff_8000_0000),
        ("addiw", asm::addiw, 0x1_ffff_ffff, 0, MAX), // sext.w
        ("addiw", asm::addiw, 0, -1, MAX),
        ("addiw", asm::addiw, 0xffff_ffff_0000_0001, 1, 2),
    ]);
    check_shift_imm(&[
        ("slliw", asm::slliw, 1, 31, 0xffff_ffff_8000_0000),
        ("slliw", asm::slliw, 0xffff_ffff_0000_0001, 1, 2),
        ("srliw", asm::srliw, 0xffff_ffff_8000_0000, 31, 1),
        ("srliw", asm::srliw, 0x8000_0000, 0, 0xffff_ffff_8000_0000),
        ("srliw", asm::srliw, 0xffff_ffff_8000_0000, 1, 0x4000_0000),
        ("sraiw", asm::sraiw, 0x8000_0000, 31, MAX),
        ("sraiw", asm::sraiw, 0x7fff_ffff, 31, 0),
        ("sraiw", asm::sraiw, 0x8000_0000, 4, 0xffff_ffff_f800_0000),
    ]);
}

#[test]
fn op_32_instructions_sign_extend_their_result() {
    check_rr(&[
        ("addw", asm::addw, 0x7fff_ffff, 1, 0xffff_ffff_8000_0000),
        ("addw", asm::addw, 0x1_0000_0001, 0x1_0000_0001, 2),
        ("subw", asm::subw, 0, 1, MAX),
        ("subw", asm::subw, 0x8000_0000, 1, 0x7fff_ffff),
        ("sllw", asm::sllw, 1, 31, 0xffff_ffff_8000_0000),
        ("sllw", asm::sllw, 1, 32, 1), // low 5 bits of rs2
        ("sllw", asm::sllw, 0xffff_ffff_0000_0001, 4, 0x10),
        ("srlw", asm::srlw, 0x8000_0000, 31, 1),
        ("srlw", asm::srlw, 0xffff_ffff_8000_0000, 0, 0xffff_ffff_8000_0000),
        ("srlw", asm::srlw, 0xffff_ffff_8000_0000, 33, 0x4000_0000),
        ("sraw", asm::sraw, 0x8000_0000, 31, MAX),
        ("sraw", asm::sraw, 0x8000_0000, 4, 0xffff_ffff_f800_0000),
        ("sraw", asm::sraw, 0x1_7fff_ffff, 30, 1),
    ]);
}

#[test]
fn fence_and_fence_i_just_execute() {
    let code = [asm::fence(), asm::fence_i(), asm::addi(A0, ZERO, 1)];
    assert_eq!(reg_after(&code, A0), 1);
}

#[test]
fn fence_i_makes_a_patched_instruction_visible() {
    // The target runs once as `addi a2, a2, 1`, is then overwritten with
    // `addi a2, a2, 10`, and after fence.i runs again: a2 = 1 + 10.
    let mut code = vec![asm::auipc(S0, 0)];
    code.extend(li(A1, asm::addi(A2, A2, 10) as u64));
    code.push(asm::addi(S1, ZERO, 0));
    let target = code.len() as i32 * 4;
    code.extend([
        asm::addi(A2, A2, 1),   // target:
        asm::bne(S1, ZERO, 20), // second time round: done
        asm::addi(S1, ZERO, 1),
        asm::sw(A1, S0, target),
        asm::fence_i(),
        asm::jal(ZERO, -20), // j target
    ]);
    assert_eq!(reg_after(&code, A2), 11);
}

#[test]
fn ecall_and_ebreak_trap_to_machine_mode() {
    assert_eq!(trap_of(&[asm::ecall()]), (11, 0, CODE));
    // ebreak reports its own address in mtval.
    assert_eq!(
        trap_of(&[asm::addi(A0, ZERO, 1), asm::ebreak()]),
        (3, CODE + 4, CODE + 4)
    );
}

#[test]
fn illegal_instruction_traps_with_the_bits_in_mtval() {
    let (cause, tval, epc) = trap_of(&[0xffff_ffff]);
    assert_eq!((cause, tval, epc), (2, 0xffff_ffff, CODE));
}

// -------------------------------------------------------- misaligned access

/// Bytes 00 01 02 ... at DATA, and 0x80 0x81 ... at DATA+0x1000-8.
fn fill_ramps(m: &mut rvmsmp::Machine) {
    let ramp: Vec<u8> = (0..16).collect();
    m.bus.write_ram_bytes(DATA, &ramp).unwrap();
    let high: Vec<u8> = (0x80..0x90).collect();
    m.bus.write_ram_bytes(DATA + 0x1000 - 8, &high).unwrap();
}

#[test]
fn misaligned_loads_from_ram_are_performed() {
    let mut code = li(A0, DATA);
    code.extend(li(A1, DATA + 0x1000));
    code.extend([
        asm::lw(A2, A0, 1),
        asm::ld(A3, A0, 3),
        asm::lh(A4, A0, 7),
        asm::lw(A5, A1, -2), // across the 4 KiB page boundary, sign-extended
        asm::ld(A6, A1, -3), // across the page boundary
        asm::lhu(A7, A1, -1),
    ]);
    let m = run_with(&code, fill_ramps);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!(x(A2), 0x0403_0201);
    assert_eq!(x(A3), 0x0a09_0807_0605_0403);
    assert_eq!(x(A4), 0x0807);
    assert_eq!(x(A5), 0xffff_ffff_8988_8786);
    assert_eq!(x(A6), 0x8c8b_8a89_8887_8685);
    assert_eq!(x(A7), 0x8887);
    assert!(m.harts[0].last_trap.is_none());
}

#[test]
fn misaligned_stores_to_ram_are_performed() {
    let mut code = li(A0, DATA);
    code.extend(li(A1, DATA + 0x1000));
    code.extend(li(A2, 0x1122_3344_5566_7788));
    code.extend([
        asm::sw(A2, A0, 1),
        asm::sd(A2, A0, 11),
        asm::sd(A2, A1, -5), // across the 4 KiB page boundary
        asm::sh(A2, A1, 7),
    ]);
    let m = run_with(&code, |_| {});
    let bytes = |addr: u64, n: usize| -> Vec<u8> {
        (0..n as u64)
            .map(|i| m.bus.read_ram(addr + i, 1).unwrap() as u8)
            .collect()
    };
    assert_eq!(bytes(DATA, 6), [0, 0x88, 0x77, 0x66, 0x55, 0]);
    assert_eq!(
        bytes(DATA + 10, 10),
        [0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0]
    );
    assert_eq!(
        bytes(DATA + 0x1000 - 6, 10),
        [0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0]
    );
    assert_eq!(bytes(DATA + 0x1006, 4), [0, 0x88, 0x77, 0]);
    assert!(m.harts[0].last_trap.is_none());
}

// --------------------------------------------------------------------- M

#[test]
fn multiplications() {
    check_rr(&[
        ("mul", asm::mul, 3, (-4i64) as u64, (-12i64) as u64),
        ("mul", asm::mul, 1 << 32, 1 << 32, 0),
        ("mul", asm::mul, MAX, MAX, 1),
        ("mulh", asm::mulh, MIN, MIN, 0x4000_0000_0000_0000),
        ("mulh", asm::mulh, MAX, 1, MAX),
        ("mulh", asm::mulh, 1 << 32, 1 << 32, 1),
        ("mulh", asm::mulh, MAX, MAX, 0),
        // mulhsu: rs1 signed, rs2 unsigned.
        ("mulhsu", asm::mulhsu, MAX, MAX, MAX),
        ("mulhsu", asm::mulhsu, MIN, 2, MAX),
        ("mulhsu", asm::mulhsu, 2, MAX, 1),
        ("mulhu", asm::mulhu, MAX, MAX, 0xffff_ffff_ffff_fffe),
        ("mulhu", asm::mulhu, 1 << 32, 1 << 32, 1),
        ("mulhu", asm::mulhu, MIN, 2, 1),
        ("mulw", asm::mulw, 0x7fff_ffff, 2, 0xffff_ffff_ffff_fffe),
        ("mulw", asm::mulw, 0x1_0000_0003, 5, 15),
        ("mulw", asm::mulw, 0x10000, 0x8000, 0xffff_ffff_8000_0000),
    ]);
}

#[test]
fn divisions_including_by_zero_and_overflow() {
    let neg = |v: i64| v as u64;
    check_rr(&[
        ("div", asm::div, 7, 2, 3),
        ("div", asm::div, neg(-7), 2, neg(-3)), // rounds towards zero
        ("div", asm::div, 7, 0, MAX),
        ("div", asm::div, MIN, MAX, MIN), // INT_MIN / -1 overflows to INT_MIN
        ("divu", asm::divu, 7, 2, 3),
        ("divu", asm::divu, MAX, 2, IMAX),
        ("divu", asm::divu, 7, 0, MAX),
        ("rem", asm::rem, neg(-7), 2, neg(-1)), // sign of the dividend
        ("rem", asm::rem, 7, neg(-2), 1),
        ("rem", asm::rem, 7, 0, 7),
        ("rem", asm::rem, MIN, MAX, 0),
        ("remu", asm::remu, 7, 2, 1),
        ("remu", asm::remu, 7, 0, 7),
        ("remu", asm::remu, MAX, 10, 5),
        ("divw", asm::divw, neg(-7), 2, neg(-3)),
        ("divw", asm::divw, 7, 0, MAX),
        ("divw", asm::divw, 0x8000_0000, MAX, 0xffff_ffff_8000_0000),
        ("divw", asm::divw, 0x1_0000_0006, 3, 2), // upper bits ignored
        ("divuw", asm::divuw, 0xffff_fffe, 2, 0x7fff_ffff),
        ("divuw", asm::divuw, 0x8000_0000, 1, 0xffff_ffff_8000_0000),
        ("divuw", asm::divuw, 7, 0, MAX),
        ("remw", asm::remw, neg(-7), 2, neg(-1)),
        ("remw", asm::remw, 0x8000_0000, MAX, 0),
        ("remw", asm::remw, 0x8000_0001, 0, 0xffff_ffff_8000_0001),
        ("remuw", asm::remuw, 7, 2, 1),
        ("remuw", asm::remuw, 0x8000_0001, 0, 0xffff_ffff_8000_0001),
        ("remuw", asm::remuw, 0xffff_ffff, 0x10, 0xf),
    ]);
}

// --------------------------------------------------------------------- A

#[test]
fn lr_and_sc_succeed_on_the_reserved_address() {
    let mut code = li(A0, DATA);
    code.extend(li(A1, 0x1234_5678_9abc_def0));
    code.extend([
        asm::lr_w(A2, A0), // a2 = sign-extended word
        asm::sc_w(A3, A0, A1),
        asm::lr_d(A4, A0),
        asm::sc_d(A5, A0, A1),
    ]);
    let m = run_with(&code, |m| m.bus.write_ram(DATA, 8, 0x5555_5555_8000_0000).unwrap());
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!(x(A2), 0xffff_ffff_8000_0000);
    assert_eq!(x(A3), 0, "sc.w succeeds");
    assert_eq!(x(A4), 0x5555_5555_9abc_def0, "sc.w wrote its word only");
    assert_eq!(x(A5), 0, "sc.d succeeds");
    assert_eq!(m.bus.read_ram(DATA, 8), Some(0x1234_5678_9abc_def0));
}

#[test]
fn sc_fails_without_a_reservation() {
    let mut code = li(A0, DATA);
    code.extend(li(A1, 7));
    code.extend([asm::sc_w(A2, A0, A1), asm::sc_d(A3, A0, A1)]);
    let m = run_with(&code, |m| m.bus.write_ram(DATA, 8, 99).unwrap());
    assert_eq!(m.harts[0].x[A2 as usize], 1);
    assert_eq!(m.harts[0].x[A3 as usize], 1);
    assert_eq!(m.bus.read_ram(DATA, 8), Some(99));
}

#[test]
fn sc_to_another_address_fails_and_ends_the_reservation() {
    let mut code = li(A0, DATA);
    code.extend(li(A1, 7));
    code.extend([
        asm::lr_w(A2, A0),
        asm::addi(A3, A0, 8),
        asm::sc_w(A4, A3, A1), // other address: fails
        asm::sc_w(A5, A0, A1), // the reservation is gone: fails too
        asm::lr_d(A2, A0),
        asm::sc_d(A6, A0, A1), // succeeds
        asm::sc_d(A7, A0, A1), // a second sc without lr fails
    ]);
    let m = run_with(&code, |m| m.bus.write_ram(DATA + 8, 8, 99).unwrap());
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A4), x(A5), x(A6), x(A7)), (1, 1, 0, 1));
    assert_eq!(m.bus.read_ram(DATA + 8, 8), Some(99));
    assert_eq!(m.bus.read_ram(DATA, 8), Some(7));
}

type Amo = fn(u32, u32, u32) -> u32;

/// Runs `op a2, a1, (a0)` on DATA holding `mem`, with a1 = `src`;
/// returns (a2, the doubleword at DATA afterwards).
fn amo(op: Amo, mem: u64, src: u64) -> (u64, u64) {
    let mut code = li(A0, DATA);
    code.extend(li(A1, src));
    code.push(op(A2, A0, A1));
    let m = run_with(&code, |m| m.bus.write_ram(DATA, 8, mem).unwrap());
    (m.harts[0].x[A2 as usize], m.bus.read_ram(DATA, 8).unwrap())
}

#[test]
fn word_amos_return_the_sign_extended_old_value() {
    // The upper word of the doubleword (0x5555_5555) must never change.
    const HI: u64 = 0x5555_5555 << 32;
    let rows: &[(&str, Amo, u32, u64, u64, u32)] = &[
        // (name, op, old word, rs2, rd, new word)
        (
            "amoswap.w",
            asm::amoswap_w,
            0x8000_0000,
            0x1234,
            0xffff_ffff_8000_0000,
            0x1234,
        ),
        ("amoadd.w", asm::amoadd_w, 0xffff_ffff, 2, MAX, 1),
        (
            "amoxor.w",
            asm::amoxor_w,
            0xff00_ff00,
            0x0ff0_0ff0,
            0xffff_ffff_ff00_ff00,
            0xf0f0_f0f0,
        ),
        (
            "amoand.w",
            asm::amoand_w,
            0xff00_ff00,
            0x0ff0_0ff0,
            0xffff_ffff_ff00_ff00,
            0x0f00_0f00,
        ),
        (
            "amoor.w",
            asm::amoor_w,
            0xff00_ff00,
            0x0ff0_0ff0,
            0xffff_ffff_ff00_ff00,
            0xfff0_fff0,
        ),
        (
            "amomin.w",
            asm::amomin_w,
            0xffff_fffe,
            1,
            0xffff_ffff_ffff_fffe,
            0xffff_fffe,
        ),
        // rs2 is compared as the signed word -16, not as a positive doubleword.
        ("amomin.w", asm::amomin_w, 5, 0xffff_fff0, 5, 0xffff_fff0),
        ("amomax.w", asm::amomax_w, 0xffff_fffe, 1, 0xffff_ffff_ffff_fffe, 1),
        ("amomax.w", asm::amomax_w, 5, 0x1_0000_0003, 5, 5),
        ("amominu.w", asm::amominu_w, 0xffff_fffe, 1, 0xffff_ffff_ffff_fffe, 1),
        ("amominu.w", asm::amominu_w, 6, 0x1_0000_0005, 6, 5),
        (
            "amomaxu.w",
            asm::amomaxu_w,
            0xffff_fffe,
            1,
            0xffff_ffff_ffff_fffe,
            0xffff_fffe,
        ),
        ("amomaxu.w", asm::amomaxu_w, 6, 0xffff_ffff_0000_0005, 6, 6),
    ];
    for &(name, op, old, src, rd, new) in rows {
        let (got_rd, got_mem) = amo(op, HI | old as u64, src);
        assert_eq!(got_rd, rd, "{name}: old value returned");
        assert_eq!(got_mem, HI | new as u64, "{name}: memory");
    }
}

#[test]
fn doubleword_amos() {
    let rows: &[(&str, Amo, u64, u64, u64)] = &[
        // (name, op, old, rs2, new); rd is always the old value.
        ("amoswap.d", asm::amoswap_d, 0x1122_3344_5566_7788, MAX, MAX),
        ("amoadd.d", asm::amoadd_d, MAX, 2, 1),
        ("amoadd.d", asm::amoadd_d, 0xffff_ffff, 1, 1 << 32),
        (
            "amoxor.d",
            asm::amoxor_d,
            0xff00_ff00_ff00_ff00,
            MAX,
            0x00ff_00ff_00ff_00ff,
        ),
        (
            "amoand.d",
            asm::amoand_d,
            0xff00_ff00_ff00_ff00,
            0x0ff0_0000_0000_0ff0,
            0x0f00_0000_0000_0f00,
        ),
        (
            "amoor.d",
            asm::amoor_d,
            0xff00_0000_0000_0000,
            0xff,
            0xff00_0000_0000_00ff,
        ),
        ("amomin.d", asm::amomin_d, MAX, 1, MAX),
        ("amomin.d", asm::amomin_d, MIN, IMAX, MIN),
        ("amomax.d", asm::amomax_d, MAX, 1, 1),
        ("amomax.d", asm::amomax_d, 0xffff_ffff, 1 << 32, 1 << 32),
        ("amominu.d", asm::amominu_d, MAX, 1, 1),
        ("amomaxu.d", asm::amomaxu_d, MAX, 1, MAX),
        ("amomaxu.d", asm::amomaxu_d, 1 << 32, 0xffff_ffff, 1 << 32),
    ];
    for &(name, op, old, src, new) in rows {
        assert_eq!(amo(op, old, src), (old, new), "{name} {old:#x}, {src:#x}");
    }
}

// ----------------------------------------------------------------- Zicsr

#[test]
fn csrrw_swaps() {
    let mut code = li(A0, 0x1234);
    code.extend(li(A1, 0x5678));
    code.extend([
        asm::csrw(MSCRATCH, A0),
        asm::csrrw(A2, MSCRATCH, A1),
        asm::csrr(A3, MSCRATCH),
    ]);
    let m = run(&code);
    assert_eq!(m.harts[0].x[A2 as usize], 0x1234);
    assert_eq!(m.harts[0].x[A3 as usize], 0x5678);
}

#[test]
fn csrrs_and_csrrc_set_and_clear_bits() {
    let code = [
        asm::addi(A0, ZERO, 0b1010),
        asm::csrw(MSCRATCH, A0),
        asm::addi(A1, ZERO, 0b0110),
        asm::csrrs(A2, MSCRATCH, A1), // old 1010, new 1110
        asm::addi(A1, ZERO, 0b1100),
        asm::csrrc(A3, MSCRATCH, A1), // old 1110, new 0010
        asm::csrr(A4, MSCRATCH),
    ];
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A2), x(A3), x(A4)), (0b1010, 0b1110, 0b0010));
}

#[test]
fn csr_immediate_forms() {
    let code = [
        asm::csrrwi(A2, MSCRATCH, 0b10101), // old 0
        asm::csrrsi(A3, MSCRATCH, 0b01010), // old 10101, new 11111
        asm::csrrci(A4, MSCRATCH, 0b00110), // old 11111, new 11001
        asm::csrr(A5, MSCRATCH),
    ];
    let m = run_with(&code, |m| m.harts[0].csr.mscratch = MAX);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A2), x(A3), x(A4), x(A5)), (MAX, 0b10101, 0b11111, 0b11001));
}

#[test]
fn csrrs_and_csrrc_with_x0_do_not_write() {
    // mhartid is read-only: any write traps, so reading it proves no write
    // was attempted.
    let code = [
        asm::addi(A0, ZERO, 7),
        asm::csrrs(A0, MHARTID, ZERO),
        asm::addi(A1, ZERO, 7),
        asm::csrrc(A1, MHARTID, ZERO),
        asm::addi(A2, ZERO, 7),
        asm::csrrsi(A2, MHARTID, 0),
        asm::addi(A3, ZERO, 7),
        asm::csrrci(A3, MHARTID, 0),
    ];
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A0), x(A1), x(A2), x(A3)), (0, 0, 0, 0));
    assert!(m.harts[0].last_trap.is_none());
}

#[test]
fn writing_a_read_only_csr_traps() {
    // csrrs with a register other than x0 is a write even when its value is 0.
    for insn in [
        asm::csrrw(A0, MHARTID, A1),
        asm::csrw(MHARTID, ZERO),
        asm::csrrs(A0, MHARTID, A1),
        asm::csrrc(A0, MHARTID, A1),
        asm::csrrwi(A0, MHARTID, 0),
        asm::csrrsi(A0, MHARTID, 1),
    ] {
        let code = [asm::addi(A1, ZERO, 0), insn];
        assert_eq!(trap_of(&code), (2, insn as u64, CODE + 4), "{insn:#010x}");
    }
}

// ------------------------------------------------------------- compressed

#[test]
fn compressed_immediates_moves_and_adds() {
    let mut code = li(SP, DATA);
    code.extend(li(A5, 0x7fff_ffff));
    code.extend(rvc(&[
        0x4515, // c.li a0, 5
        0x1575, // c.addi a0, -3
        0x5581, // c.li a1, -32
        0x7601, // c.lui a2, 0xfffe0
        0x66fd, // c.lui a3, 0x1f
        0x0692, // c.slli a3, 4
        0x872a, // c.mv a4, a0
        0x9736, // c.add a4, a3
        0x2785, // c.addiw a5, 1
        0x7139, // c.addi16sp sp, -64
        0x0020, // c.addi4spn s0, sp, 8
        0x0001, // c.nop
    ]));
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!(x(A0), 2);
    assert_eq!(x(A1), (-32i64) as u64);
    assert_eq!(x(A2), 0xffff_ffff_fffe_0000);
    assert_eq!(x(A3), 0x1f_0000);
    assert_eq!(x(A4), 0x1f_0002);
    assert_eq!(x(A5), 0xffff_ffff_8000_0000);
    assert_eq!(x(SP), DATA - 64);
    assert_eq!(x(S0), DATA - 56);
}

#[test]
fn compressed_register_operations() {
    let mut code = li(S1, 0x3c);
    for r in [S0, A0, A1, A2, A3] {
        code.extend(li(r, 0xf0));
    }
    code.extend(li(A4, 0x7fff_ffff));
    code.extend(li(A5, 1));
    code.extend(rvc(&[
        0x8d05, // c.sub a0, s1
        0x8da5, // c.xor a1, s1
        0x8e45, // c.or a2, s1
        0x8ee5, // c.and a3, s1
        0x8871, // c.andi s0, 28
        0x9f3d, // c.addw a4, a5
    ]));
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A0), x(A1), x(A2), x(A3)), (0xb4, 0xcc, 0xfc, 0x30));
    assert_eq!(x(S0), 0x10);
    assert_eq!(x(A4), 0xffff_ffff_8000_0000);
}

#[test]
fn compressed_shifts_and_subw() {
    let mut code = li(A0, MIN);
    code.extend(li(A1, MIN));
    code.extend(li(A2, 1 << 32));
    code.extend(li(A3, 1));
    code.extend(li(A4, 3));
    code.extend(rvc(&[
        0x917d, // c.srli a0, 63
        0x95fd, // c.srai a1, 63
        0x9e15, // c.subw a2, a3
        0x177e, // c.slli a4, 63
    ]));
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A0), x(A1), x(A2), x(A4)), (1, MAX, MAX, MIN));
}

#[test]
fn compressed_loads_and_stores() {
    let mut code = li(SP, DATA);
    code.extend(li(A1, DATA + 0x100));
    code.extend(li(A0, (-2i64) as u64));
    code.extend(li(A3, 0x1122_3344_5566_7788));
    code.extend(rvc(&[
        0xc62a, // c.swsp a0, 12(sp)
        0x4732, // c.lwsp a4, 12(sp)
        0xec36, // c.sdsp a3, 24(sp)
        0x67e2, // c.ldsp a5, 24(sp)
        0xc588, // c.sw a0, 8(a1)
        0x4580, // c.lw s0, 8(a1)
        0xe994, // c.sd a3, 16(a1)
        0x6984, // c.ld s1, 16(a1)
    ]));
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!(m.bus.read_ram(DATA + 8, 8), Some(0xffff_fffe_0000_0000));
    assert_eq!(m.bus.read_ram(DATA + 24, 8), Some(0x1122_3344_5566_7788));
    assert_eq!(m.bus.read_ram(DATA + 0x108, 8), Some(0xffff_fffe));
    assert_eq!(m.bus.read_ram(DATA + 0x110, 8), Some(0x1122_3344_5566_7788));
    assert_eq!((x(A4), x(S0)), ((-2i64) as u64, (-2i64) as u64));
    assert_eq!((x(A5), x(S1)), (0x1122_3344_5566_7788, 0x1122_3344_5566_7788));
}

#[test]
fn compressed_load_and_store_offsets_are_scaled_and_placed() {
    // The word at DATA + 4k holds 0x8000_0000 + k, so a load from a wrong
    // offset reads a wrong value; stores are checked at their addresses.
    let word = |k: u64| 0x8000_0000 + k;
    let sext = |k: u64| word(k) | 0xffff_ffff_0000_0000;
    let dword = |k: u64| word(k) | (word(k + 1) << 32);
    let mut code = li(SP, DATA);
    code.extend(li(A1, DATA + 0x200));
    code.extend(li(A0, 0x1234_5678));
    code.extend(li(A3, 0x1122_3344_5566_7788));
    code.extend(rvc(&[
        0x471a, // c.lwsp a4, 132(sp)
        0x67b2, // c.ldsp a5, 264(sp)
        0x41e0, // c.lw s0, 68(a1)
        0x65c4, // c.ld s1, 136(a1)
        0xdfaa, // c.swsp a0, 252(sp)
        0xffb6, // c.sdsp a3, 504(sp)
        0xdde8, // c.sw a0, 124(a1)
        0xfdf4, // c.sd a3, 248(a1)
    ]));
    let m = run_with(&code, |m| {
        for k in 0..256 {
            m.bus.write_ram(DATA + 4 * k, 4, word(k)).unwrap();
        }
    });
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!(x(A4), sext(132 / 4));
    assert_eq!(x(A5), dword(264 / 4));
    assert_eq!(x(S0), sext((0x200 + 68) / 4));
    assert_eq!(x(S1), dword((0x200 + 136) / 4));
    assert_eq!(m.bus.read_ram(DATA + 252, 4), Some(0x1234_5678));
    assert_eq!(m.bus.read_ram(DATA + 504, 8), Some(0x1122_3344_5566_7788));
    assert_eq!(m.bus.read_ram(DATA + 0x200 + 124, 4), Some(0x1234_5678));
    assert_eq!(m.bus.read_ram(DATA + 0x200 + 248, 8), Some(0x1122_3344_5566_7788));
}

#[test]
fn compressed_branches_and_jumps() {
    let mut code = li(A0, 0);
    code.extend(li(A1, 1));
    code.extend(rvc(&[
        0x4605, // c.li a2, 1
        0xc111, // c.beqz a0, 1f   (taken)
        0x4609, // c.li a2, 2
        0xe111, // 1: c.bnez a0, 2f (not taken)
        0x0611, // c.addi a2, 4
        0xe191, // 2: c.bnez a1, 3f (taken)
        0x0621, // c.addi a2, 8
        0xc191, // 3: c.beqz a1, 4f (not taken)
        0x0641, // c.addi a2, 16
        0xa011, // 4: c.j 5f
        0x0605, // c.addi a2, 1
        0x0001, // 5: c.nop
    ]));
    assert_eq!(reg_after(&code, A2), 1 + 4 + 16);
}

#[test]
fn compressed_backward_branch_and_jump() {
    let mut code = li(A1, 0);
    code.extend(rvc(&[
        0x450d, // c.li a0, 3
        0x0585, // 6: c.addi a1, 1
        0x157d, // c.addi a0, -1
        0xfd75, // c.bnez a0, 6b
        0xa019, // c.j 8f
        0x4685, // 7: c.li a3, 1
        0xa011, // c.j 9f
        0xbff5, // 8: c.j 7b
        0x0001, // 9: c.nop
    ]));
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A0), x(A1), x(A3)), (0, 3, 1));
}

#[test]
fn compressed_jalr_and_jr() {
    let mut jalr = vec![asm::auipc(A0, 0), asm::addi(A0, A0, 12)]; // a0 = CODE+12
    jalr.extend(rvc(&[
        0x9502, // CODE+8: c.jalr a0
        0x461d, // CODE+10: c.li a2, 7 (skipped)
        0x4685, // CODE+12: c.li a3, 1
        0x8706, // CODE+14: c.mv a4, ra
    ]));
    let m = run(&jalr);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A2), x(A3), x(A4)), (0, 1, CODE + 10));

    let mut jr = vec![asm::auipc(A0, 0), asm::addi(A0, A0, 12)];
    jr.extend(rvc(&[
        0x8502, // CODE+8: c.jr a0
        0x461d, // CODE+10: c.li a2, 7 (skipped)
        0x4685, // CODE+12: c.li a3, 1
    ]));
    let m = run(&jr);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A2), x(A3), x(RA)), (0, 1, 0));
}

// ------------------------------------------------------------ privileged

#[test]
fn mret_returns_to_mepc_in_mpp_and_pops_the_interrupt_enable() {
    for mpie in [0, mstatus::MPIE] {
        let mut code = li(T1, mstatus::MPP | mpie);
        code.extend([
            asm::csrs(MSTATUS, T1), // MPP = M
            asm::auipc(T0, 0),
            asm::addi(T0, T0, 20), // the instruction after the skipped one
            asm::csrw(MEPC, T0),
            asm::mret(),
            asm::addi(A0, ZERO, 1), // skipped
            asm::csrr(A1, MSTATUS),
        ]);
        let m = run(&code);
        let h = &m.harts[0];
        assert_eq!(h.x[A0 as usize], 0);
        assert_eq!(h.prv, Priv::M);
        let s = h.x[A1 as usize];
        assert_eq!(s & mstatus::MIE != 0, mpie != 0, "MIE = old MPIE");
        assert_eq!(s & mstatus::MPIE, mstatus::MPIE, "MPIE = 1");
        assert_eq!(s & mstatus::MPP, 0, "MPP = U");
    }
}

#[test]
fn sret_returns_to_sepc_in_spp_and_pops_the_interrupt_enable() {
    for spie in [0, mstatus::SPIE] {
        let mut code = li(T1, mstatus::SPP | spie);
        code.extend([
            asm::csrs(MSTATUS, T1), // SPP = S
            asm::auipc(T0, 0),
            asm::addi(T0, T0, 20),
            asm::csrw(SEPC, T0),
            asm::sret(),
            asm::addi(A0, ZERO, 1), // skipped
            asm::csrr(A1, SSTATUS), // in S-mode now
        ]);
        let m = run(&code);
        let h = &m.harts[0];
        assert_eq!(h.x[A0 as usize], 0);
        assert_eq!(h.prv, Priv::S);
        let s = h.x[A1 as usize];
        assert_eq!(s & mstatus::SIE != 0, spie != 0, "SIE = old SPIE");
        assert_eq!(s & mstatus::SPIE, mstatus::SPIE, "SPIE = 1");
        assert_eq!(s & mstatus::SPP, 0, "SPP = U");
    }
}

#[test]
fn wfi_with_an_enabled_interrupt_pending_continues() {
    // SSIP pending and enabled in mie, but mstatus.MIE = 0: no trap, and
    // WFI does not wait.
    let code = [
        asm::addi(T0, ZERO, 2),
        asm::csrs(MIE, T0),
        asm::csrs(MIP, T0),
        asm::wfi(),
        asm::addi(A0, ZERO, 1),
    ];
    let m = run(&code);
    assert_eq!(m.harts[0].x[A0 as usize], 1);
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].stats.wfi_cycles, 0);
}

#[test]
fn sfence_vma_executes_in_machine_mode() {
    let code = [
        asm::sfence_vma(ZERO, ZERO),
        asm::sfence_vma(A0, A1),
        asm::addi(A0, ZERO, 1),
    ];
    let m = run(&code);
    assert_eq!(m.harts[0].x[A0 as usize], 1);
    assert!(m.harts[0].last_trap.is_none());
}
