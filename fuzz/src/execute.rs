//! `execute`: any instruction words, run on one to four harts in M, S or U
//! mode. The input chooses each hart's privilege, registers, trap set-up
//! (mstatus, delegation, vectors, interrupt enables, counters, timers) and
//! address translation (bare, or Sv39 through page tables whose entries it
//! also chooses); the rest of it is the code, which every hart runs from its
//! own entry point for a few thousand cycles (each hart starts with an
//! `mret` into the privilege chosen). Nothing may panic, and after
//! the run x0 is zero, every pc is 2-byte aligned and each hart's cycles by
//! state add up to its clock.
//!
//! Every halfword and word of the code also goes through the decoder alone:
//! a compressed instruction that expands must expand to one that decodes,
//! and every decoded instruction keeps its length and raw bits.

use std::collections::VecDeque;

use arbitrary::{Result, Unstructured};
use rvmsmp::asm;
use rvmsmp::cpu::csr::{addr, mstatus};
use rvmsmp::cpu::decode::{decode, decode32, Op};
use rvmsmp::cpu::{rvc, Priv};
use rvmsmp::devices::uart::BufferedInput;
use rvmsmp::memmap::{ANNOTATE, CLINT, DRAM_BASE, PLIC, TEST_FINISHER, UART0};
use rvmsmp::{Machine, MachineConfig};

const RAM_SIZE: u64 = 1 << 20;
/// The code: every hart's entry point and trap vectors are in it.
const CODE: u64 = DRAM_BASE;
const CODE_MAX: usize = 0x4000;
/// Sv39 tables: the root, one second-level and one third-level table.
const ROOT: u64 = DRAM_BASE + 0x4_0000;
const MID: u64 = ROOT + 0x1000;
const LEAF: u64 = ROOT + 0x2000;
/// Scratch memory the registers point into by default.
const DATA: u64 = DRAM_BASE + 0x5_0000;
/// Where every hart starts, in M-mode: an `mret` to its entry point in the
/// privilege the input chose (so the privilege changes as the hart's own
/// instruction, with its accounting).
const BOOT: u64 = DRAM_BASE + 0x6_0000;
/// Simulated cycles per run.
const MAX_CYCLES: u64 = 3000;

const PTE_V: u64 = 1;
const PTE_R: u64 = 2;
const PTE_W: u64 = 4;
const PTE_X: u64 = 8;
const PTE_U: u64 = 0x10;
const PTE_A: u64 = 0x40;
const PTE_D: u64 = 0x80;

pub fn execute(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(mut machine) = build(&mut u) else { return };
    let code = u.take_rest();
    check_decoder(code);
    machine
        .bus
        .write_ram_bytes(CODE, &code[..code.len().min(CODE_MAX)])
        .expect("the code fits in RAM");
    let reason = machine.run();
    if crate::verbose() {
        eprintln!("\nexecute: {reason:?}; {}", machine.hart_positions());
    }
    let states = machine.cycles_by_state();
    for (hart, by_state) in machine.harts.iter().zip(states) {
        assert_eq!(hart.x[0], 0, "hart {}: x0 is not zero", hart.id);
        assert_eq!(hart.pc & 1, 0, "hart {}: pc {:#x} is odd", hart.id, hart.pc);
        assert_eq!(
            by_state.iter().sum::<u64>(),
            hart.cycle,
            "hart {}: cycles by state {by_state:?} do not add up to its clock",
            hart.id
        );
        assert_eq!(
            hart.cycles_by_priv().iter().sum::<u64>(),
            hart.cycle,
            "hart {}: cycles by privilege do not add up to its clock",
            hart.id
        );
    }
}

/// Decodes every halfword and word of `code` on its own.
fn check_decoder(code: &[u8]) {
    for at in (0..code.len()).step_by(2) {
        let byte = |i: usize| code.get(at + i).copied().unwrap_or(0) as u32;
        let bits = byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
        let half = bits as u16;
        if let Some(word) = rvc::expand(half) {
            assert_eq!(word & 3, 3, "{half:#06x} expands to a compressed encoding {word:#x}");
            assert_ne!(
                decode32(word).op,
                Op::Illegal,
                "{half:#06x} expands to {word:#010x}, which is illegal"
            );
        }
        let insn = decode(bits);
        if bits & 3 == 3 {
            assert_eq!(
                (insn.len, insn.raw),
                (4, bits),
                "{bits:#010x} decodes with the wrong length or bits"
            );
        } else {
            assert_eq!(
                (insn.len, insn.raw),
                (2, half as u32),
                "{half:#06x} decodes with the wrong length or bits"
            );
            assert_eq!(insn.op == Op::Illegal, rvc::expand(half).is_none(), "{half:#06x}");
        }
    }
}

/// The machine and its harts as the input sets them up.
fn build(u: &mut Unstructured) -> Result<Machine> {
    let harts = u.int_in_range(1..=4)?;
    let quantum = u.int_in_range(1..=256)?;
    let input_len = u.int_in_range(0..=8)?;
    let input: VecDeque<u8> = u.bytes(input_len)?.iter().copied().collect();
    let config = MachineConfig {
        harts,
        ram_size: RAM_SIZE,
        quantum,
        max_cycles: Some(MAX_CYCLES),
        ..MachineConfig::default()
    };
    let mut machine =
        Machine::new(config, crate::console(), Box::new(BufferedInput(input))).expect("a valid configuration");
    machine.bus.write_ram(BOOT, 4, asm::mret() as u64);
    let first_priv = page_tables(&mut machine, u)?;
    for id in 0..harts {
        set_up_hart(&mut machine, id, if id == 0 { first_priv } else { choose_priv(u)? }, u)?;
    }
    Ok(machine)
}

fn choose_priv(u: &mut Unstructured) -> Result<Priv> {
    Ok(*u.choose(&[Priv::M, Priv::S, Priv::U])?)
}

/// A value for a register: by default an address in the scratch area;
/// otherwise any value, a small one, or an address in a device, RAM or the
/// part of the address space the second-level table maps.
fn register_value(u: &mut Unstructured, default: u64) -> Result<u64> {
    let offset = u.int_in_range(0..=0xfff)?;
    Ok(match u.int_in_range(0..=7)? {
        0 => default,
        1 => u.arbitrary()?,
        2 => u.arbitrary::<i8>()? as i64 as u64,
        3 => {
            u.choose(&[
                TEST_FINISHER.base,
                ANNOTATE.base,
                CLINT.base,
                CLINT.base + 0xb000,
                PLIC.base,
                PLIC.base + 0x20_0000,
                UART0.base,
            ])? + offset % 0x100
        }
        4 => DRAM_BASE + u.int_in_range(0..=RAM_SIZE + 0x1000)?,
        5 => 0x4000_0000 + u.int_in_range(0..=0x3ff_ffff)?,
        6 => CODE + 2 * offset,
        _ => DATA + 8 * offset,
    })
}

/// Writes the Sv39 tables. The root maps the first gigabyte (the devices)
/// and RAM's gigabyte with gigapages, and the second through the other two
/// tables; the input chooses the permissions and any other entries. Returns
/// hart 0's privilege, which decides the default permissions.
fn page_tables(machine: &mut Machine, u: &mut Unstructured) -> Result<Priv> {
    let prv = choose_priv(u)?;
    let user = if prv == Priv::U { PTE_U } else { 0 };
    let all = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D | user;
    let bus = &mut machine.bus;
    let devices_flags = (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | user) ^ u.arbitrary::<u8>()? as u64;
    let ram_flags = all ^ u.arbitrary::<u8>()? as u64;
    bus.write_ram_u64(ROOT, devices_flags);
    bus.write_ram_u64(ROOT + 8, (MID >> 12) << 10 | PTE_V);
    bus.write_ram_u64(ROOT + 16, (DRAM_BASE >> 12) << 10 | ram_flags);
    bus.write_ram_u64(MID, (LEAF >> 12) << 10 | PTE_V);
    let entries = u.int_in_range(0..=12)?;
    for _ in 0..entries {
        let table = *u.choose(&[ROOT, MID, LEAF, LEAF, LEAF])?;
        let index: u64 = u.int_in_range(0..=511)?;
        let pte = match u.int_in_range(0..=3)? {
            0 => u.arbitrary()?,
            1 => (MID >> 12) << 10 | PTE_V,
            2 => (LEAF >> 12) << 10 | PTE_V,
            _ => {
                let page = DRAM_BASE / 4096 + u.int_in_range(0..=RAM_SIZE / 4096)?;
                page << 10 | (all ^ u.arbitrary::<u8>()? as u64)
            }
        };
        bus.write_ram_u64(table + 8 * index, pte);
    }
    Ok(prv)
}

/// Sets hart `id` up to enter `prv` at its entry point with the `mret` at [`BOOT`].
fn set_up_hart(machine: &mut Machine, id: usize, prv: Priv, u: &mut Unstructured) -> Result<()> {
    let code_addr =
        |u: &mut Unstructured| -> Result<u64> { Ok(CODE + 2 * u.int_in_range(0..=CODE_MAX as u64 / 2 - 1)?) };
    let entry = if id == 0 { CODE } else { code_addr(u)? };
    if u.arbitrary()? {
        let mtimecmp = u.int_in_range(0..=MAX_CYCLES / 50)?;
        machine.bus.clint.write(0x4000 + 8 * id as u64, 8, mtimecmp, 0);
    }
    let hart = &mut machine.harts[id];
    for r in 1..32 {
        hart.x[r] = DATA + 64 * r as u64;
    }
    for _ in 0..u.int_in_range(0..=8)? {
        let r = u.int_in_range(1..=31)?;
        hart.x[r] = register_value(u, hart.x[r])?;
    }
    for _ in 0..u.int_in_range(0..=4)? {
        let r = u.int_in_range(0..=31)?;
        hart.f[r] = u.arbitrary()?;
    }
    let status: u64 = u.arbitrary()?;
    let status = (status & !mstatus::MPP) | (prv as u64) << mstatus::MPP_SHIFT;
    hart.csr_write(addr::MSTATUS, status);
    let satp = match u.int_in_range(0..=3)? {
        0 => 0,
        1 => u.arbitrary()?,
        _ => 8 << 60 | (u.arbitrary::<u16>()? as u64) << 44 | ROOT >> 12,
    };
    hart.csr_write(addr::SATP, satp);
    let mtvec = code_addr(u)? | u.int_in_range(0..=1)?;
    hart.csr_write(addr::MTVEC, mtvec);
    let stvec = code_addr(u)? | u.int_in_range(0..=1)?;
    hart.csr_write(addr::STVEC, stvec);
    for csr in [
        addr::MEDELEG,
        addr::MIDELEG,
        addr::MIE,
        addr::MIP,
        addr::MENVCFG,
        addr::MCOUNTEREN,
        addr::SCOUNTEREN,
        addr::MCOUNTINHIBIT,
    ] {
        if u.arbitrary()? {
            hart.csr_write(csr, u.arbitrary()?);
        }
    }
    if u.arbitrary()? {
        hart.csr_write(addr::STIMECMP, u.int_in_range(0..=MAX_CYCLES / 50)?);
    }
    hart.csr_write(addr::MEPC, entry);
    hart.pc = BOOT;
    Ok(())
}
