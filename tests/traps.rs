//! Traps: every exception cause with its mcause, mtval and mepc (including
//! the Sv39 page faults), delegation to S-mode, each interrupt with its
//! cause and their priority, WFI, and the mstatus stack on trap entry and
//! return.

use crate::common::csr::*;
use crate::common::*;
use rvmsmp::asm::{self, reg::*};
use rvmsmp::cpu::csr::mstatus;
use rvmsmp::cpu::Priv;
use rvmsmp::memmap::{CLINT, DRAM_BASE, PLIC, UART0};
use rvmsmp::Machine;

/// The interrupt bit of mcause/scause.
const INTERRUPT: u64 = 1 << 63;
const MAX: u64 = u64::MAX;

const MSIP: u64 = CLINT.base;
const MTIMECMP: u64 = CLINT.base + 0x4000;
const MTIME: u64 = CLINT.base + 0xbff8;
const PLIC_CLAIM: u64 = PLIC.base + 0x20_0004;

/// One past the last byte of the harness's 4 MiB of RAM.
const RAM_END: u64 = DRAM_BASE + (4 << 20);

/// Where the S-mode trap handler goes.
const S_HANDLER: u64 = HANDLER + 0x1000;

fn li(rd: u32, value: u64) -> Vec<u32> {
    asm::li(rd, value as i64)
}

/// The address the next instruction pushed onto `code` will have.
fn here(code: &[u32]) -> u64 {
    CODE + 4 * code.len() as u64
}

/// M-mode code that drops to `mode` with mret and goes on with the next
/// instruction, at virtual address `pc + va_offset` (0 unless it runs
/// through the user alias of RAM, [`USER_RAM`]).
fn enter(mode: Priv, va_offset: u64) -> Vec<u32> {
    let mut w = li(T0, mstatus::MPP);
    w.push(asm::csrc(MSTATUS, T0));
    w.extend(li(T0, (mode as u64) << mstatus::MPP_SHIFT));
    w.push(asm::csrs(MSTATUS, T0));
    w.extend(li(T1, va_offset));
    w.extend([
        asm::auipc(T0, 0),
        asm::add(T0, T0, T1),
        asm::addi(T0, T0, 20), // the first instruction after mret
        asm::csrw(MEPC, T0),
        asm::mret(),
    ]);
    w
}

/// (mcause, mtval, mepc) as the default M-mode handler recorded them.
fn m_trap(m: &Machine) -> (u64, u64, u64) {
    let h = &m.harts[0];
    assert_eq!(h.last_trap.map(|t| t.to), Some(Priv::M), "expected a trap into M-mode");
    let x = |r: u32| h.x[r as usize];
    (x(TRAP_CAUSE), x(TRAP_TVAL), x(TRAP_EPC))
}

/// A setup that replaces the default M-mode handler by `prefix` followed by it.
fn m_handler_with(prefix: Vec<u32>) -> impl FnOnce(&mut Machine) {
    move |m| {
        let mut handler = prefix;
        handler.extend(trap_handler());
        place(m, HANDLER, &handler);
    }
}

/// The S-mode handler: s10 = scause, s11 = stval, s9 = sepc, s8 = sstatus,
/// s7 = sip, then power off.
fn place_s_handler(m: &mut Machine) {
    let mut handler = vec![
        asm::csrr(S10, SCAUSE),
        asm::csrr(S11, STVAL),
        asm::csrr(S9, SEPC),
        asm::csrr(S8, SSTATUS),
        asm::csrr(S7, SIP),
    ];
    handler.extend(power_off());
    place(m, S_HANDLER, &handler);
}

/// (scause, stval, sepc) as the S-mode handler recorded them.
fn s_trap(m: &Machine) -> (u64, u64, u64) {
    let h = &m.harts[0];
    assert_eq!(h.last_trap.map(|t| t.to), Some(Priv::S), "expected a trap into S-mode");
    let x = |r: u32| h.x[r as usize];
    (x(S10), x(S11), x(S9))
}

/// `csrw stvec, S_HANDLER`.
fn set_stvec() -> Vec<u32> {
    let mut w = li(T0, S_HANDLER);
    w.push(asm::csrw(STVEC, T0));
    w
}

// ------------------------------------------------------------------ Sv39

const ROOT: u64 = DRAM_BASE + 0x10_0000;
const L1: u64 = ROOT + 0x1000;
const L0: u64 = ROOT + 0x2000;
/// 4 KiB test pages start here: page i is mapped by `L0[i]`.
const TEST_VA: u64 = 0x4000_0000;
/// RAM mapped a second time, as user pages (a 1 GiB superpage).
const USER_RAM: u64 = 0xc000_0000;
const USER_OFFSET: u64 = USER_RAM - DRAM_BASE;
const SATP_SV39: u64 = (8 << 60) | (ROOT >> 12);

const V: u64 = 1 << 0;
const R: u64 = 1 << 1;
const W: u64 = 1 << 2;
const X: u64 = 1 << 3;
const U: u64 = 1 << 4;
const A: u64 = 1 << 6;
const D: u64 = 1 << 7;

fn pte(pa: u64, flags: u64) -> u64 {
    ((pa >> 12) << 10) | flags
}

fn test_va(page: u64) -> u64 {
    TEST_VA + page * 0x1000
}

/// The physical frame test page `page` maps by default.
fn test_pa(page: u64) -> u64 {
    DATA + page * 0x1000
}

/// Builds the page table: VA 0-1 GiB maps the devices (S, RW), 2-3 GiB is
/// RAM at its own address (S, RWX), 3-4 GiB is RAM again as user pages,
/// and 1-2 GiB holds the 4 KiB test pages: (page, physical address, flags).
fn page_table(m: &mut Machine, pages: &[(u64, u64, u64)]) {
    let mut w = |addr: u64, v: u64| m.bus.write_ram(addr, 8, v).unwrap();
    w(ROOT, pte(0, V | R | W | A | D));
    w(ROOT + 8, pte(L1, V));
    w(ROOT + 16, pte(DRAM_BASE, V | R | W | X | A | D));
    w(ROOT + 24, pte(DRAM_BASE, V | R | W | X | U | A | D));
    w(L1, pte(L0, V));
    for &(page, pa, flags) in pages {
        w(L0 + 8 * page, pte(pa, flags));
    }
}

/// M-mode code that turns Sv39 on and drops to S-mode.
fn sv39_in_s_mode() -> Vec<u32> {
    let mut w = li(T0, SATP_SV39);
    w.push(asm::csrw(SATP, T0));
    w.extend(enter(Priv::S, 0));
    w
}

/// Runs `code` (built on [`sv39_in_s_mode`] or similar) with the page table
/// holding `pages` and `data` written at the given physical addresses.
fn run_sv39(code: &[u32], pages: &[(u64, u64, u64)], data: &[(u64, u64)]) -> Machine {
    run_with(code, |m| {
        page_table(m, pages);
        for &(pa, value) in data {
            m.bus.write_ram(pa, 8, value).unwrap();
        }
    })
}

// ------------------------------------------------- cause 0 (unreachable)

// Cause 0, instruction address misaligned, cannot be raised by this hart:
// the C extension is always enabled (misa.C is read-only 1), so IALIGN is 16
// and every possible target is 2-byte aligned. jal and branch offsets are
// multiples of 2, jalr clears bit 0 of its target, and mepc/sepc drop bit 0.

#[test]
fn misa_c_cannot_be_cleared() {
    let code = [asm::addi(T0, ZERO, 1 << 2), asm::csrc(MISA, T0), asm::csrr(A0, MISA)];
    let misa = reg_after(&code, A0);
    assert_eq!(misa & (1 << 2), 1 << 2, "misa.C");
    assert_eq!(misa >> 62, 2, "MXL = 64");
}

#[test]
fn jumps_and_branches_to_2_byte_aligned_targets_do_not_trap() {
    let mut code = vec![asm::jal(ZERO, 6)]; // CODE+0: to CODE+6
    code.extend(rvc(&[
        0x4505, // CODE+4: c.li a0, 1 (skipped)
        0x4589, // CODE+6: c.li a1, 2
    ]));
    code.push(asm::beq(ZERO, ZERO, 6)); // CODE+8: to CODE+14
    code.extend(rvc(&[
        0x4605, // CODE+12: c.li a2, 1 (skipped)
        0x4689, // CODE+14: c.li a3, 2
    ]));
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!((x(A0), x(A1), x(A2), x(A3)), (0, 2, 0, 2));
    assert!(m.harts[0].last_trap.is_none());
}

#[test]
fn jalr_to_an_odd_target_clears_bit_0_instead_of_trapping() {
    let code = [
        asm::auipc(T0, 0),      // CODE+0
        asm::addi(T0, T0, 17),  // t0 = CODE+17
        asm::jalr(RA, T0, 0),   // CODE+8: to CODE+16
        asm::addi(A0, ZERO, 1), // CODE+12: skipped
        asm::addi(A1, ZERO, 2), // CODE+16
    ];
    let m = run(&code);
    assert_eq!((m.harts[0].x[A0 as usize], m.harts[0].x[A1 as usize]), (0, 2));
    assert!(m.harts[0].last_trap.is_none());
}

#[test]
fn mepc_and_sepc_drop_bit_0() {
    let mut code = li(T0, CODE + 13);
    code.extend([
        asm::csrw(MEPC, T0),
        asm::csrw(SEPC, T0),
        asm::csrr(A0, MEPC),
        asm::csrr(A1, SEPC),
    ]);
    let m = run(&code);
    assert_eq!(m.harts[0].x[A0 as usize], CODE + 12);
    assert_eq!(m.harts[0].x[A1 as usize], CODE + 12);
}

// ------------------------------------------------- 1: instruction access fault

#[test]
fn jumping_to_unmapped_physical_memory_is_an_instruction_access_fault() {
    assert_eq!(trap_of(&[asm::jalr(ZERO, ZERO, 0)]), (1, 0, 0));
    let mut code = li(T0, 0x1000);
    code.push(asm::jalr(ZERO, T0, 0));
    assert_eq!(trap_of(&code), (1, 0x1000, 0x1000));
    // Device registers cannot be executed either.
    let mut code = li(T0, UART0.base);
    code.push(asm::jalr(ZERO, T0, 0));
    assert_eq!(trap_of(&code), (1, UART0.base, UART0.base));
}

#[test]
fn an_instruction_running_off_the_end_of_ram_faults_on_its_second_half() {
    // The low half of a 32-bit instruction (0x0013, nop) is the last
    // halfword of RAM: mtval is the part that faulted, mepc the instruction.
    let mut code = li(T0, RAM_END - 2);
    code.push(asm::jalr(ZERO, T0, 0));
    let got = trap_of_with(&code, |m| m.bus.write_ram(RAM_END - 2, 2, 0x0013).unwrap());
    assert_eq!(got, (1, RAM_END, RAM_END - 2));
}

// ------------------------------------------------- 2: illegal instruction

#[test]
fn an_illegal_32_bit_instruction_reports_its_bits() {
    // SYSTEM with funct3 = 4 is reserved.
    assert_eq!(trap_of(&[asm::addi(A0, ZERO, 1), 0x0000_4073]), (2, 0x4073, CODE + 4));
}

#[test]
fn an_illegal_compressed_instruction_reports_only_its_16_bits() {
    // 0x0004 is c.addi4spn with a zero immediate (reserved); 0x2588 is
    // c.fld, illegal while mstatus.FS is Off (as it is at reset). The
    // halfword after each is a valid instruction that must not show in mtval.
    assert_eq!(trap_of(&rvc(&[0x0004, 0x4505])), (2, 0x0004, CODE));
    assert_eq!(trap_of(&rvc(&[0x2588, 0x4505])), (2, 0x2588, CODE));
    assert_eq!(trap_of(&rvc(&[0x0001, 0x0004])), (2, 0x0004, CODE + 2)); // after c.nop
}

#[test]
fn csr_access_from_too_low_a_privilege_is_illegal() {
    // (mode, instruction): M-level CSRs from S, S-level ones from U,
    // counters below M without mcounteren, stimecmp without menvcfg.STCE.
    let rows = [
        (Priv::S, asm::csrr(A0, MSTATUS)),
        (Priv::S, asm::csrw(MSCRATCH, ZERO)),
        (Priv::U, asm::csrr(A0, SSTATUS)),
        (Priv::U, asm::csrr(A0, MHARTID)),
        (Priv::U, asm::csrr(A0, CYCLE)),
        (Priv::S, asm::csrr(A0, TIME)),
        (Priv::S, asm::csrr(A0, STIMECMP)),
    ];
    for (mode, insn) in rows {
        let mut code = enter(mode, 0);
        let at = here(&code);
        code.push(insn);
        assert_eq!(trap_of(&code), (2, insn as u64, at), "{mode:?} {insn:#010x}");
    }
}

#[test]
fn privileged_instructions_from_too_low_a_privilege_are_illegal() {
    // (mode, mstatus bits set first, instruction)
    let rows = [
        (Priv::S, 0, asm::mret()),
        (Priv::U, 0, asm::mret()),
        (Priv::U, 0, asm::sret()),
        (Priv::S, mstatus::TSR, asm::sret()),
        (Priv::U, 0, asm::wfi()),
        (Priv::S, mstatus::TW, asm::wfi()),
        (Priv::U, 0, asm::sfence_vma(ZERO, ZERO)),
        (Priv::S, mstatus::TVM, asm::sfence_vma(ZERO, ZERO)),
        (Priv::S, mstatus::TVM, asm::csrr(A0, SATP)),
    ];
    for (mode, bits, insn) in rows {
        let mut code = li(T0, bits);
        code.push(asm::csrs(MSTATUS, T0));
        code.extend(enter(mode, 0));
        let at = here(&code);
        code.push(insn);
        assert_eq!(trap_of(&code), (2, insn as u64, at), "{mode:?} {insn:#010x}");
    }
}

#[test]
fn the_same_instructions_are_legal_with_enough_privilege() {
    // sfence.vma and sret in S without TVM and TSR; counters with
    // mcounteren. sret goes on at sepc, in U-mode as SPP is 0.
    let mut code = li(T0, 0b111);
    code.push(asm::csrw(MCOUNTEREN, T0));
    code.extend(enter(Priv::S, 0));
    code.extend([
        asm::csrr(A0, CYCLE),
        asm::sfence_vma(ZERO, ZERO),
        asm::csrr(A1, SSTATUS),
        asm::auipc(T0, 0),
        asm::addi(T0, T0, 16),
        asm::csrw(SEPC, T0),
        asm::sret(),
        asm::addi(A2, ZERO, 1),
    ]);
    let m = run(&code);
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].prv, Priv::U);
    assert_ne!(m.harts[0].x[A0 as usize], 0);
    assert_eq!(m.harts[0].x[A2 as usize], 1);
}

// ------------------------------------------------- 3: breakpoint

#[test]
fn ebreak_reports_its_address() {
    let code = [asm::addi(A0, ZERO, 1), asm::addi(A0, ZERO, 2), asm::ebreak()];
    assert_eq!(trap_of(&code), (3, CODE + 8, CODE + 8));
}

#[test]
fn c_ebreak_reports_its_address() {
    let code = rvc(&[
        0x0001, // c.nop
        0x9002, // c.ebreak
    ]);
    assert_eq!(trap_of(&code), (3, CODE + 2, CODE + 2));
}

// ------------------------------------------------- 4, 6: misaligned atomics

#[test]
fn misaligned_lr_is_a_load_address_misaligned_exception() {
    for (insn, offset) in [(asm::lr_w(A1, A0), 1), (asm::lr_w(A1, A0), 2), (asm::lr_d(A1, A0), 4)] {
        let mut code = li(A0, DATA + offset);
        let at = here(&code);
        code.push(insn);
        assert_eq!(trap_of(&code), (4, DATA + offset, at), "{insn:#010x} at DATA+{offset}");
    }
}

#[test]
fn misaligned_sc_and_amo_are_store_address_misaligned_exceptions() {
    let rows = [
        (asm::amoadd_w(A1, A0, A2), 2),
        (asm::amoswap_w(A1, A0, A2), 1),
        (asm::amoswap_d(A1, A0, A2), 4),
        (asm::amomaxu_d(A1, A0, A2), 7),
        (asm::sc_w(A1, A0, A2), 1),
        (asm::sc_d(A1, A0, A2), 4),
    ];
    for (insn, offset) in rows {
        let mut code = li(A0, DATA + offset);
        let at = here(&code);
        code.push(insn);
        assert_eq!(trap_of(&code), (6, DATA + offset, at), "{insn:#010x} at DATA+{offset}");
    }
}

#[test]
fn misaligned_accesses_that_leave_ram_raise_address_misaligned() {
    // Misaligned accesses are performed only when every byte is RAM;
    // otherwise the hart raises address-misaligned (the spec also allows an
    // access fault) and writes nothing.
    let addr = RAM_END - 4;
    let mut load = li(A0, addr);
    let at = here(&load);
    load.push(asm::ld(A1, A0, 0));
    assert_eq!(trap_of(&load), (4, addr, at));

    let mut store = li(A0, addr);
    store.extend(li(A1, MAX));
    let at = here(&store);
    store.push(asm::sd(A1, A0, 0));
    let m = run(&store);
    assert_eq!(m_trap(&m), (6, addr, at));
    assert_eq!(m.bus.read_ram(addr, 4), Some(0), "no partial store");
}

// ------------------------------------------------- 5, 7: access faults

#[test]
fn loads_from_unmapped_physical_memory_are_load_access_faults() {
    for (insn, addr) in [
        (asm::ld(A1, A0, 0), 0),
        (asm::lw(A1, A0, 0), 0x1234),
        (asm::lbu(A1, A0, 0), 0x1000_1000), // the virtio slot: nothing there
        (asm::lr_d(A1, A0), 0x1000),
        (asm::lb(A1, A0, 0), MSIP), // the CLINT takes 4- and 8-byte accesses only
    ] {
        let mut code = li(A0, addr);
        let at = here(&code);
        code.push(insn);
        assert_eq!(trap_of(&code), (5, addr, at), "{insn:#010x} at {addr:#x}");
    }
}

#[test]
fn stores_and_amos_to_unmapped_physical_memory_are_store_access_faults() {
    for (insn, addr) in [
        (asm::sd(A2, A0, 0), 0),
        (asm::sw(A2, A0, 0), 0x1234),
        (asm::amoadd_w(A1, A0, A2), 0x1234), // an AMO faults as a store
        (asm::amoor_d(A1, A0, A2), 0x1000),
    ] {
        let mut code = li(A0, addr);
        let at = here(&code);
        code.push(insn);
        assert_eq!(trap_of(&code), (7, addr, at), "{insn:#010x} at {addr:#x}");
    }
}

// ------------------------------------------------- 8, 9, 11: ecall

#[test]
fn ecall_cause_depends_on_the_privilege() {
    for (mode, cause) in [(Priv::U, 8), (Priv::S, 9), (Priv::M, 11)] {
        let mut code = enter(mode, 0);
        let at = here(&code);
        code.push(asm::ecall());
        assert_eq!(trap_of(&code), (cause, 0, at), "ecall from {mode:?}");
    }
}

// ------------------------------------------------- 12, 13, 15: page faults

#[test]
fn an_unmapped_page_faults_for_each_kind_of_access() {
    let va = test_va(1) + 8;
    let pages = [(0, test_pa(0), V | R | W | A | D)]; // page 1 stays invalid

    let mut load = sv39_in_s_mode();
    load.extend(li(A0, va));
    let at = here(&load);
    load.push(asm::ld(A1, A0, 0));
    assert_eq!(m_trap(&run_sv39(&load, &pages, &[])), (13, va, at));

    let mut store = sv39_in_s_mode();
    store.extend(li(A0, va));
    let at = here(&store);
    store.push(asm::sd(A1, A0, 0));
    assert_eq!(m_trap(&run_sv39(&store, &pages, &[])), (15, va, at));

    let mut amo = sv39_in_s_mode();
    amo.extend(li(A0, va));
    let at = here(&amo);
    amo.push(asm::amoadd_d(A1, A0, A1));
    assert_eq!(m_trap(&run_sv39(&amo, &pages, &[])), (15, va, at));

    let mut fetch = sv39_in_s_mode();
    fetch.extend(li(A0, va));
    fetch.push(asm::jalr(ZERO, A0, 0));
    assert_eq!(m_trap(&run_sv39(&fetch, &pages, &[])), (12, va, va));

    // A whole gigapage with no entry in the root table.
    let mut far = sv39_in_s_mode();
    far.extend(li(A0, 0x1_0000_0000));
    let at = here(&far);
    far.push(asm::lw(A1, A0, 0));
    assert_eq!(m_trap(&run_sv39(&far, &pages, &[])), (13, 0x1_0000_0000, at));
}

#[test]
fn a_mapped_page_is_reached_through_the_page_table() {
    // Test page 0 maps to frame 3: the load reads what is there.
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, test_va(0)));
    code.extend([asm::ld(A1, A0, 16), asm::sd(A1, A0, 24)]);
    let m = run_sv39(
        &code,
        &[(0, test_pa(3), V | R | W | A | D)],
        &[(test_pa(3) + 16, 0x1234)],
    );
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].x[A1 as usize], 0x1234);
    assert_eq!(m.bus.read_ram(test_pa(3) + 24, 8), Some(0x1234));
}

#[test]
fn a_store_to_a_page_without_w_is_a_store_page_fault() {
    let va = test_va(2);
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, va));
    code.push(asm::ld(A1, A0, 0)); // reading is allowed
    let at = here(&code);
    code.push(asm::sd(A1, A0, 8));
    let m = run_sv39(&code, &[(2, test_pa(2), V | R | A)], &[(test_pa(2), 77)]);
    assert_eq!(m_trap(&m), (15, va + 8, at));
    assert_eq!(m.harts[0].x[A1 as usize], 77);
    assert_eq!(m.bus.read_ram(test_pa(2) + 8, 8), Some(0));
}

#[test]
fn fetching_from_a_page_without_x_is_an_instruction_page_fault() {
    let va = test_va(2);
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, va));
    code.push(asm::jalr(ZERO, A0, 0));
    let m = run_sv39(&code, &[(2, test_pa(2), V | R | W | A | D)], &[]);
    assert_eq!(m_trap(&m), (12, va, va));
}

#[test]
fn an_instruction_straddling_into_an_unmapped_page_faults_on_its_second_half() {
    // Page 4 is executable, page 5 is not mapped; the last halfword of page
    // 4 is the low half of a 32-bit instruction.
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, test_va(5) - 2));
    code.push(asm::jalr(ZERO, A0, 0));
    let m = run_with(&code, |m| {
        page_table(m, &[(4, test_pa(4), V | R | X | A)]);
        m.bus.write_ram(test_pa(5) - 2, 2, 0x0013).unwrap();
    });
    assert_eq!(m_trap(&m), (12, test_va(5), test_va(5) - 2));
}

#[test]
fn supervisor_access_to_user_pages_needs_sum() {
    let va = USER_RAM + (DATA - DRAM_BASE);
    let data = [(DATA, 0x5a5a)];

    // Without SUM: load and store page faults.
    let mut load = sv39_in_s_mode();
    load.extend(li(A0, va));
    let at = here(&load);
    load.push(asm::ld(A1, A0, 0));
    assert_eq!(m_trap(&run_sv39(&load, &[], &data)), (13, va, at));

    let mut store = sv39_in_s_mode();
    store.extend(li(A0, va));
    let at = here(&store);
    store.push(asm::sd(ZERO, A0, 8));
    assert_eq!(m_trap(&run_sv39(&store, &[], &data)), (15, va + 8, at));

    // With SUM: both work.
    let mut sum = sv39_in_s_mode();
    sum.extend(li(T0, mstatus::SUM));
    sum.push(asm::csrs(SSTATUS, T0));
    sum.extend(li(A0, va));
    sum.extend(li(A2, 0x77));
    sum.extend([asm::ld(A1, A0, 0), asm::sd(A2, A0, 8)]);
    let m = run_sv39(&sum, &[], &data);
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].x[A1 as usize], 0x5a5a);
    assert_eq!(m.bus.read_ram(DATA + 8, 8), Some(0x77));

    // SUM never allows S-mode to execute from a user page.
    let target = USER_RAM + 0x100;
    let mut fetch = sv39_in_s_mode();
    fetch.extend(li(T0, mstatus::SUM));
    fetch.push(asm::csrs(SSTATUS, T0));
    fetch.extend(li(A0, target));
    fetch.push(asm::jalr(ZERO, A0, 0));
    assert_eq!(m_trap(&run_sv39(&fetch, &[], &data)), (12, target, target));
}

#[test]
fn mxr_makes_execute_only_pages_readable() {
    let va = test_va(3);
    let pages = [(3, test_pa(3), V | X | A)];
    let data = [(test_pa(3), 0xabcd)];

    let mut without = sv39_in_s_mode();
    without.extend(li(A0, va));
    let at = here(&without);
    without.push(asm::ld(A1, A0, 0));
    assert_eq!(m_trap(&run_sv39(&without, &pages, &data)), (13, va, at));

    let mut with = sv39_in_s_mode();
    with.extend(li(T0, mstatus::MXR));
    with.push(asm::csrs(SSTATUS, T0));
    with.extend(li(A0, va));
    with.push(asm::ld(A1, A0, 0));
    let m = run_sv39(&with, &pages, &data);
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].x[A1 as usize], 0xabcd);
}

#[test]
fn user_mode_cannot_touch_supervisor_pages() {
    // Running from the user alias of RAM, a load from RAM's own (supervisor)
    // addresses faults.
    let mut code = li(T0, SATP_SV39);
    code.push(asm::csrw(SATP, T0));
    code.extend(enter(Priv::U, USER_OFFSET));
    code.extend(li(A0, DATA));
    let at = here(&code) + USER_OFFSET;
    code.push(asm::ld(A1, A0, 0));
    assert_eq!(m_trap(&run_sv39(&code, &[], &[])), (13, DATA, at));

    // Returning to U-mode at a supervisor page faults on the fetch.
    let mut fetch = li(T0, SATP_SV39);
    fetch.push(asm::csrw(SATP, T0));
    fetch.extend(enter(Priv::U, 0));
    let first = here(&fetch);
    fetch.push(asm::addi(A0, ZERO, 1));
    assert_eq!(m_trap(&run_sv39(&fetch, &[], &[])), (12, first, first));
}

#[test]
fn user_mode_reaches_user_pages() {
    let mut code = li(T0, SATP_SV39);
    code.push(asm::csrw(SATP, T0));
    code.extend(enter(Priv::U, USER_OFFSET));
    code.extend(li(A0, USER_RAM + (DATA - DRAM_BASE)));
    code.extend([asm::ld(A1, A0, 0), asm::ecall()]);
    let m = run_sv39(&code, &[], &[(DATA, 0x600d)]);
    assert_eq!(m_trap(&m).0, 8);
    assert_eq!(m.harts[0].x[A1 as usize], 0x600d);
}

#[test]
fn non_canonical_addresses_page_fault() {
    // Bits 63:39 must all equal bit 38.
    let load_va = 0x80_0000_0000;
    let mut load = sv39_in_s_mode();
    load.extend(li(A0, load_va));
    let at = here(&load);
    load.push(asm::ld(A1, A0, 0));
    assert_eq!(m_trap(&run_sv39(&load, &[], &[])), (13, load_va, at));

    let store_va = 0xffff_0000_0000_0000;
    let mut store = sv39_in_s_mode();
    store.extend(li(A0, store_va));
    let at = here(&store);
    store.push(asm::sd(A1, A0, 0));
    assert_eq!(m_trap(&run_sv39(&store, &[], &[])), (15, store_va, at));

    let fetch_va = 0x4000_0000_0000_0000;
    let mut fetch = sv39_in_s_mode();
    fetch.extend(li(A0, fetch_va));
    fetch.push(asm::jalr(ZERO, A0, 0));
    assert_eq!(m_trap(&run_sv39(&fetch, &[], &[])), (12, fetch_va, fetch_va));
}

#[test]
fn a_misaligned_store_into_a_read_only_page_writes_nothing() {
    // Page 6 is writable, page 7 read-only; the doubleword straddles them.
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, test_va(7) - 4));
    code.extend(li(A1, 0x1122_3344_5566_7788));
    let at = here(&code);
    code.push(asm::sd(A1, A0, 0));
    let pages = [(6, test_pa(6), V | R | W | A | D), (7, test_pa(7), V | R | A)];
    let m = run_sv39(&code, &pages, &[(test_pa(7) - 8, MAX), (test_pa(7), MAX)]);
    // mtval is the address of the part of the access that faulted.
    assert_eq!(m_trap(&m), (15, test_va(7), at));
    assert_eq!(m.bus.read_ram(test_pa(7) - 8, 8), Some(MAX), "no partial store");
}

#[test]
fn a_misaligned_access_spans_two_unrelated_frames() {
    // Pages 10 and 11 are adjacent virtually but not physically.
    let (frame_a, frame_b) = (test_pa(13), test_pa(11));
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, test_va(11) - 4));
    code.extend(li(A2, 0x1122_3344_5566_7788));
    code.extend([asm::ld(A1, A0, 0), asm::sd(A2, A0, 2)]);
    let pages = [(10, frame_a, V | R | W | A | D), (11, frame_b, V | R | W | A | D)];
    let m = run_sv39(
        &code,
        &pages,
        &[(frame_a + 0xff8, 0x0403_0201_0000_0000), (frame_b, 0x0807_0605)],
    );
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].x[A1 as usize], 0x0807_0605_0403_0201);
    // The store covers the last 2 bytes of page 10 and the first 6 of page 11.
    assert_eq!(m.bus.read_ram(frame_a + 0xff8, 8), Some(0x7788_0201_0000_0000));
    assert_eq!(m.bus.read_ram(frame_b, 8), Some(0x0000_1122_3344_5566));
}

#[test]
fn an_instruction_spans_two_unrelated_frames() {
    // `addi a0, zero, 42` starts on the last halfword of page 10 (frame 13)
    // and ends on page 11 (frame 11), followed by an ecall.
    let addi = asm::addi(A0, ZERO, 42);
    let (frame_a, frame_b) = (test_pa(13), test_pa(11));
    let mut code = sv39_in_s_mode();
    code.extend(li(T0, test_va(11) - 2));
    code.push(asm::jalr(ZERO, T0, 0));
    let m = run_with(&code, |m| {
        let x = V | R | X | A;
        page_table(m, &[(10, frame_a, x), (11, frame_b, x)]);
        m.bus.write_ram(frame_a + 0xffe, 2, (addi & 0xffff) as u64).unwrap();
        m.bus.write_ram(frame_b, 2, (addi >> 16) as u64).unwrap();
        m.bus.write_ram(frame_b + 2, 4, asm::ecall() as u64).unwrap();
    });
    assert_eq!(m_trap(&m), (9, 0, test_va(11) + 2));
    assert_eq!(m.harts[0].x[A0 as usize], 42);
}

#[test]
fn malformed_page_table_entries_page_fault() {
    // Each row sets one more entry and loads from `va` in S-mode.
    let not_2m_aligned = pte(DATA, V | R | A); // a 2 MiB leaf needs PPN[0] = 0
    let rows = [
        ("W without R", L0 + 8, pte(test_pa(1), V | W | A | D), test_va(1)),
        (
            "reserved bit 54",
            L0 + 8,
            pte(test_pa(1), V | R | A) | (1 << 54),
            test_va(1),
        ),
        ("misaligned superpage", L1 + 8, not_2m_aligned, TEST_VA + (2 << 20)),
        ("pointer at level 0", L0 + 8, pte(test_pa(1), V), test_va(1)),
    ];
    for (what, entry, value, va) in rows {
        let mut code = sv39_in_s_mode();
        code.extend(li(A0, va));
        let at = here(&code);
        code.push(asm::ld(A1, A0, 0));
        let m = run_with(&code, |m| {
            page_table(m, &[]);
            m.bus.write_ram(entry, 8, value).unwrap();
        });
        assert_eq!(m_trap(&m), (13, va, at), "{what}");
    }
}

#[test]
fn a_2_mib_superpage_maps_a_whole_range() {
    let frame = DRAM_BASE + (2 << 20);
    let va = TEST_VA + (2 << 20) + 0x1_2340;
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, va));
    code.push(asm::ld(A1, A0, 0));
    let m = run_with(&code, |m| {
        page_table(m, &[]);
        m.bus.write_ram(L1 + 8, 8, pte(frame, V | R | A)).unwrap();
        m.bus.write_ram(frame + 0x1_2340, 8, 0x5e).unwrap();
    });
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].x[A1 as usize], 0x5e);
}

#[test]
fn sfence_vma_makes_a_changed_mapping_visible() {
    // Test page 12 first maps frame 12, then the kernel points it at frame
    // 14 and flushes.
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, test_va(12)));
    code.push(asm::ld(A1, A0, 0));
    code.extend(li(T2, L0 + 8 * 12));
    code.extend(li(T3, pte(test_pa(14), V | R | A)));
    code.extend([asm::sd(T3, T2, 0), asm::sfence_vma(ZERO, ZERO), asm::ld(A2, A0, 0)]);
    let m = run_sv39(
        &code,
        &[(12, test_pa(12), V | R | A)],
        &[(test_pa(12), 111), (test_pa(14), 222)],
    );
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!((m.harts[0].x[A1 as usize], m.harts[0].x[A2 as usize]), (111, 222));
}

#[test]
fn the_page_walk_sets_accessed_and_dirty() {
    let mut code = sv39_in_s_mode();
    code.extend(li(A0, test_va(9)));
    code.extend(li(T2, L0 + 8 * 9));
    code.extend([
        asm::ld(A1, A0, 0),
        asm::ld(A2, T2, 0), // the PTE after a load
        asm::sd(A1, A0, 8),
    ]);
    let m = run_sv39(&code, &[(9, test_pa(9), V | R | W)], &[]);
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].x[A2 as usize] & (A | D), A);
    assert_eq!(m.bus.read_ram(L0 + 8 * 9, 8).unwrap() & (A | D), A | D);
}

#[test]
fn mprv_translates_machine_mode_loads_and_stores() {
    // M-mode with MPRV = 1 and MPP = S accesses memory as S-mode would.
    let mut code = li(T0, SATP_SV39);
    code.push(asm::csrw(SATP, T0));
    code.extend(li(T0, mstatus::MPRV | (1 << mstatus::MPP_SHIFT)));
    code.push(asm::csrs(MSTATUS, T0));
    code.extend(li(A0, test_va(0)));
    code.extend(li(A3, test_va(1)));
    code.push(asm::ld(A1, A0, 0)); // page 0: works
    let at = here(&code);
    code.push(asm::ld(A2, A3, 0)); // page 1: not mapped
    let m = run_sv39(&code, &[(0, test_pa(0), V | R | A)], &[(test_pa(0), 42)]);
    assert_eq!(m_trap(&m), (13, test_va(1), at));
    assert_eq!(m.harts[0].x[A1 as usize], 42);
}

// ------------------------------------------------------------ delegation

#[test]
fn a_delegated_ecall_from_u_goes_to_s() {
    let mut code = set_stvec();
    code.extend(li(T0, 1 << 8));
    code.push(asm::csrw(MEDELEG, T0));
    code.extend(li(T0, mstatus::SIE));
    code.push(asm::csrs(MSTATUS, T0));
    code.extend(enter(Priv::U, 0));
    let at = here(&code);
    code.push(asm::ecall());
    let m = run_with(&code, place_s_handler);
    assert_eq!(s_trap(&m), (8, 0, at));
    let h = &m.harts[0];
    let sstatus = h.x[S8 as usize];
    assert_eq!(sstatus & mstatus::SPP, 0, "SPP = U");
    assert_eq!(sstatus & mstatus::SPIE, mstatus::SPIE, "SPIE = old SIE");
    assert_eq!(sstatus & mstatus::SIE, 0, "SIE cleared");
    assert_eq!(h.csr.mcause, 0, "M-mode saw nothing");
}

#[test]
fn a_delegated_ecall_from_s_stays_in_s() {
    let mut code = set_stvec();
    code.extend(li(T0, 1 << 9));
    code.push(asm::csrw(MEDELEG, T0));
    code.extend(enter(Priv::S, 0));
    let at = here(&code);
    code.push(asm::ecall());
    let m = run_with(&code, place_s_handler);
    assert_eq!(s_trap(&m), (9, 0, at));
    assert_eq!(m.harts[0].x[S8 as usize] & mstatus::SPP, mstatus::SPP, "SPP = S");
}

#[test]
fn an_ecall_from_s_goes_to_m_when_only_u_ecalls_are_delegated() {
    let mut code = set_stvec();
    code.extend(li(T0, 1 << 8));
    code.push(asm::csrw(MEDELEG, T0));
    code.extend(enter(Priv::S, 0));
    let at = here(&code);
    code.push(asm::ecall());
    assert_eq!(m_trap(&run_with(&code, place_s_handler)), (9, 0, at));
}

#[test]
fn exceptions_in_m_mode_are_never_delegated() {
    let mut code = set_stvec();
    code.extend(li(T0, MAX));
    code.extend([asm::csrw(MEDELEG, T0), asm::csrr(A0, MEDELEG)]);
    let at = here(&code);
    code.push(asm::ebreak());
    let m = run_with(&code, place_s_handler);
    assert_eq!(m_trap(&m), (3, at, at));
    let medeleg = m.harts[0].x[A0 as usize];
    assert_eq!(medeleg & (1 << 11), 0, "ecall from M cannot be delegated");
    assert_eq!(medeleg & ((1 << 3) | (1 << 8)), (1 << 3) | (1 << 8));
}

#[test]
fn a_delegated_interrupt_goes_to_s() {
    // SSIP delegated with mideleg, taken in S-mode with SIE set.
    let mut code = set_stvec();
    code.extend(li(T0, 1 << 1));
    code.extend([asm::csrs(MIDELEG, T0), asm::csrs(MIE, T0)]);
    code.extend(li(T0, mstatus::SIE));
    code.push(asm::csrs(MSTATUS, T0));
    code.extend(enter(Priv::S, 0));
    code.extend([asm::addi(T0, ZERO, 1 << 1), asm::csrs(SIP, T0)]);
    let at = here(&code);
    code.push(asm::jal(ZERO, 0));
    let m = run_with(&code, place_s_handler);
    assert_eq!(s_trap(&m), (INTERRUPT | 1, 0, at));
    assert_eq!(m.harts[0].csr.mcause, 0);
}

#[test]
fn a_delegated_interrupt_is_not_taken_in_m_mode() {
    let code = [
        asm::addi(T0, ZERO, 1 << 1),
        asm::csrs(MIDELEG, T0),
        asm::csrs(MIE, T0),
        asm::csrs(MIP, T0),
        asm::csrrsi(ZERO, MSTATUS, 8), // MIE
        asm::addi(A0, ZERO, 1),
    ];
    let m = run(&code);
    assert!(m.harts[0].last_trap.is_none());
    assert_eq!(m.harts[0].x[A0 as usize], 1);
}

#[test]
fn an_undelegated_supervisor_interrupt_in_s_mode_goes_to_m() {
    // Below M-mode, M-level interrupts are enabled whatever mstatus.MIE says.
    let mut code = vec![asm::addi(T0, ZERO, 1 << 1), asm::csrs(MIE, T0), asm::csrs(MIP, T0)];
    code.extend(enter(Priv::S, 0));
    let at = here(&code);
    code.push(asm::jal(ZERO, 0));
    let m = run(&code);
    assert_eq!(m_trap(&m), (INTERRUPT | 1, 0, at));
    assert_eq!(
        (m.harts[0].csr.mstatus & mstatus::MPP) >> mstatus::MPP_SHIFT,
        1,
        "MPP = S"
    );
}

// ------------------------------------------------------------ interrupts

/// Words that make the UART raise its THR-empty interrupt through the PLIC
/// to `context` (0: hart 0 M-mode, 1: hart 0 S-mode).
fn uart_interrupt_via_plic(context: u64) -> Vec<u32> {
    let mut w = li(T0, PLIC.base);
    w.extend([asm::addi(T1, ZERO, 1), asm::sw(T1, T0, 0x28)]); // priority[10] = 1
    w.extend(li(T2, PLIC.base + 0x2000 + 0x80 * context));
    w.extend([asm::addi(T1, ZERO, 1 << 10), asm::sw(T1, T2, 0)]); // enable source 10
    w.extend(li(T2, PLIC.base + 0x20_0000 + 0x1000 * context));
    w.push(asm::sw(ZERO, T2, 0)); // threshold 0
    w.extend(li(T0, UART0.base));
    w.extend([asm::addi(T1, ZERO, 2), asm::sb(T1, T0, 1)]); // IER = THR empty
    w
}

/// Enables the interrupts in `mie_bits` and mstatus.MIE, then spins; returns
/// the code and the address of the spin loop.
fn enable_and_spin(mut code: Vec<u32>, mie_bits: u64) -> (Vec<u32>, u64) {
    code.extend(li(T0, mie_bits));
    code.extend([asm::csrs(MIE, T0), asm::csrrsi(ZERO, MSTATUS, 8)]);
    let at = here(&code);
    code.push(asm::jal(ZERO, 0));
    (code, at)
}

#[test]
fn machine_software_interrupt_from_the_clint() {
    let mut code = li(T0, MSIP);
    code.extend([asm::addi(T1, ZERO, 1), asm::sw(T1, T0, 0)]);
    let (code, at) = enable_and_spin(code, 1 << 3);
    assert_eq!(trap_of(&code), (INTERRUPT | 3, 0, at));
}

#[test]
fn machine_timer_interrupt_from_the_clint() {
    // mtimecmp = mtime + 20, then wait.
    let mut code = li(T0, MTIME);
    code.extend([asm::ld(T1, T0, 0), asm::addi(T1, T1, 20)]);
    code.extend(li(T0, MTIMECMP));
    code.push(asm::sd(T1, T0, 0));
    code.extend(li(T0, 1 << 7));
    code.extend([asm::csrs(MIE, T0), asm::csrrsi(ZERO, MSTATUS, 8)]);
    let at = here(&code);
    code.extend([asm::wfi(), asm::jal(ZERO, -4)]);
    let mut read_mtime = li(T0, MTIME);
    read_mtime.push(asm::ld(A5, T0, 0));
    let m = run_with(&code, m_handler_with(read_mtime));
    assert_eq!(m_trap(&m), (INTERRUPT | 7, 0, at + 4), "taken after the wfi");
    let (now, cmp) = (m.harts[0].x[A5 as usize], m.harts[0].x[T1 as usize]);
    assert!(now >= cmp, "taken at mtime {now}, before mtimecmp {cmp}");
    assert!(now < cmp + 5, "taken at mtime {now}, long after mtimecmp {cmp}");
}

#[test]
fn supervisor_software_interrupt_from_mip_ssip() {
    let code = vec![asm::addi(T0, ZERO, 1 << 1), asm::csrs(MIP, T0)];
    let (code, at) = enable_and_spin(code, 1 << 1);
    assert_eq!(trap_of(&code), (INTERRUPT | 1, 0, at));
}

#[test]
fn supervisor_timer_interrupt_from_stimecmp() {
    // Sstc: menvcfg.STCE on, stimecmp = time + 20, STI delegated to S.
    let mut code = set_stvec();
    code.extend(li(T0, 1 << 63));
    code.push(asm::csrs(MENVCFG, T0));
    code.extend(li(T0, 1 << 5));
    code.extend([asm::csrs(MIDELEG, T0), asm::csrs(MIE, T0)]);
    code.extend([asm::csrr(T1, TIME), asm::addi(T1, T1, 20), asm::csrw(STIMECMP, T1)]);
    code.extend(li(T0, mstatus::SIE));
    code.push(asm::csrs(MSTATUS, T0));
    code.extend(enter(Priv::S, 0));
    let at = here(&code);
    code.extend([asm::wfi(), asm::jal(ZERO, -4)]);
    let m = run_with(&code, place_s_handler);
    assert_eq!(s_trap(&m), (INTERRUPT | 5, 0, at + 4));
    assert_eq!(m.harts[0].x[S7 as usize] & (1 << 5), 1 << 5, "sip.STIP");
}

#[test]
fn machine_external_interrupt_from_the_uart_through_the_plic() {
    let (code, at) = enable_and_spin(uart_interrupt_via_plic(0), 1 << 11);
    let mut claim = li(T0, PLIC_CLAIM);
    claim.push(asm::lw(A5, T0, 0));
    let m = run_with(&code, m_handler_with(claim));
    assert_eq!(m_trap(&m), (INTERRUPT | 11, 0, at));
    assert_eq!(m.harts[0].x[A5 as usize], 10, "the claim names the UART");
}

#[test]
fn supervisor_external_interrupt_from_the_uart_through_the_plic() {
    // PLIC context 1 drives SEIP; SEI is delegated and taken in S-mode.
    let mut code = set_stvec();
    code.extend(li(T0, 1 << 9));
    code.extend([asm::csrs(MIDELEG, T0), asm::csrs(MIE, T0)]);
    code.extend(li(T0, mstatus::SIE));
    code.push(asm::csrs(MSTATUS, T0));
    code.extend(enter(Priv::S, 0));
    code.extend(uart_interrupt_via_plic(1));
    let at = here(&code);
    code.push(asm::jal(ZERO, 0));
    let m = run_with(&code, place_s_handler);
    assert_eq!(s_trap(&m), (INTERRUPT | 9, 0, at));
    assert_eq!(m.harts[0].x[S7 as usize] & (1 << 9), 1 << 9, "sip.SEIP");
}

/// mip.SEIP reads as the PLIC's line OR the software bit, but only the
/// software bit takes part in a csrrs/csrrc of mip (privileged spec §3.1.9):
/// setting SSIP while the line is high must not latch SEIP on.
#[test]
fn csrrs_on_mip_leaves_the_hardware_seip_line_out() {
    let mut code = uart_interrupt_via_plic(1); // the line to S-mode is high
    code.push(asm::csrr(A4, MIP));
    code.push(asm::csrrsi(ZERO, MIP, 2)); // set SSIP: a read-modify-write of mip
    code.extend(li(T0, UART0.base));
    code.push(asm::sb(ZERO, T0, 1)); // IER = 0: the UART stops asking
    code.extend(li(T0, PLIC_CLAIM + 0x1000)); // claim at context 1: nothing pending now
    code.push(asm::lw(A6, T0, 0));
    code.push(asm::csrr(A5, MIP));
    let m = run(&code);
    let x = |r: u32| m.harts[0].x[r as usize];
    assert_eq!(x(A4) & (1 << 9), 1 << 9, "SEIP while the line is high");
    assert_eq!(x(A6), 10, "the claim names the UART");
    assert_eq!(x(A5) & (1 << 1), 1 << 1, "SSIP set");
    assert_eq!(x(A5) & (1 << 9), 0, "SEIP must fall with the line");
}

#[derive(Clone, Copy, Debug)]
enum Source {
    External,
    Software,
    Timer,
    SupervisorSoftware,
}

/// Makes every source in `sources` pending with mstatus.MIE clear, then
/// enables them all at once; returns the mcause of the interrupt taken.
fn first_interrupt(sources: &[Source]) -> u64 {
    let mut code = vec![];
    let mut mie = 0;
    for source in sources {
        match source {
            Source::External => {
                code.extend(uart_interrupt_via_plic(0));
                mie |= 1 << 11;
            }
            Source::Software => {
                code.extend(li(T0, MSIP));
                code.extend([asm::addi(T1, ZERO, 1), asm::sw(T1, T0, 0)]);
                mie |= 1 << 3;
            }
            Source::Timer => {
                code.extend(li(T0, MTIMECMP));
                code.push(asm::sd(ZERO, T0, 0)); // mtime >= 0 at once
                mie |= 1 << 7;
            }
            Source::SupervisorSoftware => {
                code.extend([asm::addi(T0, ZERO, 1 << 1), asm::csrs(MIP, T0)]);
                mie |= 1 << 1;
            }
        }
    }
    let (code, _) = enable_and_spin(code, mie);
    trap_of(&code).0
}

#[test]
fn interrupt_priority_is_mei_msi_mti_then_ssi() {
    use Source::*;
    let rows: &[(&[Source], u64)] = &[
        (&[Timer, Software, SupervisorSoftware, External], 11),
        (&[SupervisorSoftware, Timer, Software], 3),
        (&[SupervisorSoftware, Timer], 7),
        (&[SupervisorSoftware], 1),
    ];
    for &(sources, cause) in rows {
        assert_eq!(first_interrupt(sources), INTERRUPT | cause, "{sources:?}");
    }
}

#[test]
fn vectored_mtvec_sends_interrupts_to_base_plus_4_times_cause() {
    // Each of the 16 vector slots is `jal a4, common` so a4 tells which ran.
    const VEC: u64 = HANDLER + 0x100;
    let setup = |m: &mut Machine| {
        let mut table: Vec<u32> = (0..16).map(|i| asm::jal(A4, 0x40 - 4 * i)).collect();
        table.extend(trap_handler());
        place(m, VEC, &table);
    };
    let mut code = li(T0, VEC | 1);
    code.push(asm::csrw(MTVEC, T0));
    code.extend(li(T0, MSIP));
    code.extend([asm::addi(T1, ZERO, 1), asm::sw(T1, T0, 0)]);
    let (msi, at) = enable_and_spin(code, 1 << 3);
    let m = run_with(&msi, setup);
    assert_eq!(m_trap(&m), (INTERRUPT | 3, 0, at));
    assert_eq!(m.harts[0].x[A4 as usize], VEC + 4 * 3 + 4, "slot 3");

    // Exceptions all use the base.
    let mut ecall = li(T0, VEC | 1);
    ecall.extend([asm::csrw(MTVEC, T0), asm::ecall()]);
    let m = run_with(&ecall, setup);
    assert_eq!(m_trap(&m).0, 11);
    assert_eq!(m.harts[0].x[A4 as usize], VEC + 4, "slot 0");
}

#[test]
fn wfi_wakes_on_a_pending_interrupt_even_with_mie_clear() {
    // The timer is enabled in mie but mstatus.MIE is 0: WFI waits for it,
    // then execution goes on after the WFI without a trap.
    let mut code = li(T0, MTIME);
    code.extend([asm::ld(T1, T0, 0), asm::addi(T1, T1, 50)]);
    code.extend(li(T0, MTIMECMP));
    code.push(asm::sd(T1, T0, 0));
    code.extend(li(T0, 1 << 7));
    code.extend([asm::csrs(MIE, T0), asm::wfi(), asm::addi(A0, ZERO, 42)]);
    code.extend(li(T0, MTIME));
    code.extend([asm::ld(A1, T0, 0), asm::csrr(A2, MIP)]);
    let m = run(&code);
    let h = &m.harts[0];
    assert!(h.last_trap.is_none());
    assert_eq!(h.x[A0 as usize], 42);
    assert!(h.x[A1 as usize] >= h.x[T1 as usize], "woke before the timer fired");
    assert_eq!(h.x[A2 as usize] & (1 << 7), 1 << 7, "mip.MTIP");
    assert!(h.stats.wfi_cycles > 0, "WFI did not wait");
}

// ------------------------------------------------------- the mstatus stack

#[test]
fn trap_entry_saves_mie_and_the_privilege() {
    // (mode trapping, MIE while running there, expected MPP)
    for (mode, mie, mpp) in [(Priv::M, true, 3), (Priv::S, true, 1), (Priv::U, false, 0)] {
        // MPIE becomes MIE in the mode entered by mret.
        let mut code = vec![];
        if mie {
            code.extend(li(T0, mstatus::MPIE | mstatus::MIE));
            code.push(asm::csrs(MSTATUS, T0));
        }
        code.extend(enter(mode, 0));
        code.push(asm::ecall());
        let m = run_with(&code, m_handler_with(vec![asm::csrr(A5, MSTATUS)]));
        let s = m.harts[0].x[A5 as usize];
        assert_eq!(s & mstatus::MIE, 0, "{mode:?}: MIE cleared");
        assert_eq!(s & mstatus::MPIE != 0, mie, "{mode:?}: MPIE = old MIE");
        assert_eq!((s & mstatus::MPP) >> mstatus::MPP_SHIFT, mpp, "{mode:?}: MPP");
    }
}

#[test]
fn mret_restores_mie_from_mpie_and_sets_mpp_to_u() {
    // The handler skips the ecall and returns to M-mode.
    for mie in [false, true] {
        let handler = vec![
            asm::csrr(A5, MSTATUS),
            asm::csrr(T0, MEPC),
            asm::addi(T0, T0, 4),
            asm::csrw(MEPC, T0),
            asm::mret(),
        ];
        let code = [
            asm::csrrsi(ZERO, MSTATUS, if mie { 8 } else { 0 }),
            asm::ecall(),
            asm::csrr(A6, MSTATUS),
            asm::addi(A7, ZERO, 1),
        ];
        let m = run_with(&code, move |m| place(m, HANDLER, &handler));
        let h = &m.harts[0];
        let (in_handler, after) = (h.x[A5 as usize], h.x[A6 as usize]);
        let stack = mstatus::MIE | mstatus::MPIE | mstatus::MPP;
        let mpie = if mie { mstatus::MPIE } else { 0 };
        assert_eq!(in_handler & stack, mpie | mstatus::MPP, "MIE = {mie}: in the handler");
        let mie_bit = if mie { mstatus::MIE } else { 0 };
        assert_eq!(
            after & stack,
            mie_bit | mstatus::MPIE,
            "MIE = {mie}: after mret, MPP = U"
        );
        assert_eq!((h.prv, h.x[A7 as usize]), (Priv::M, 1));
    }
}
