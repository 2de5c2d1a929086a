//! `kernel_syscalls`: the built-in kernel under random system-call streams.
//!
//! The input becomes a static user program (encoded with `rvmsmp::asm`,
//! written by [`crate::elf`]): a sequence of `ecall`s, each with a system
//! call number (mostly ones the kernel serves, sometimes any number) and
//! six arguments drawn from values that matter to a kernel: valid buffers
//! and strings, NULL, unmapped, read-only, kernel and trampoline addresses,
//! non-canonical ones, descriptors, small and huge lengths, and any 64-bit
//! value; then an exit with a status from the input. One to three copies
//! run on two or three harts, with short time slices so that processes are
//! preempted and migrate, for a bounded number of cycles.
//!
//! Neither the host nor the guest kernel may panic, and the machine must
//! not deadlock (every way a process can wait, it waits on a timer) unless
//! the timer it waits on lies beyond the end of simulated time.

use arbitrary::{Result, Unstructured};
use rvmsmp::asm::{self, reg::*};
use rvmsmp::cpu::csr::MENVCFG_STCE;
use rvmsmp::devices::uart::BufferedInput;
use rvmsmp::kernel::{self, Workload};
use rvmsmp::{ExitReason, Machine, MachineConfig};

use crate::elf::{self, Segment, PF_R, PF_W, PF_X};

/// The program's code (R+X) and its data (R+W) in the user address space.
const CODE: u64 = 0x1_0000;
const DATA: u64 = 0x2_0000;
const DATA_SIZE: u64 = 2 * PAGE;
const PAGE: u64 = 4096;
/// Strings in the data segment: a path, and the file name in the initramfs.
const PATH: &[u8] = b"/proc/self/exe\0";
const NAME: &str = "prog";
/// The user address space's top (guest-os/memlayout.h).
const MAXVA: u64 = 1 << 38;
const TRAMPOLINE: u64 = MAXVA - PAGE;
const TRAPFRAME: u64 = TRAMPOLINE - PAGE;

/// The most system calls in one program.
const MAX_CALLS: usize = 24;
/// Simulated cycles per run: the kernel's boot and the program's calls.
const MAX_CYCLES: u64 = 2_000_000;

/// Linux's numbers for the calls the kernel serves (guest-os/syscall.tbl).
const SYSCALLS: &[u64] = &[
    23, 24, 29, 34, 35, 56, 57, 61, 62, 63, 64, 66, 78, 79, 80, 81, 82, 83, 93, 94, 96, 99, 101, 113, 124, 129, 131,
    134, 135, 160, 168, 169, 172, 173, 174, 175, 176, 177, 178, 214, 215, 222, 226, 233, 260, 261, 278,
];

pub fn kernel_syscalls(data: &[u8]) {
    let Ok((workload, config, input)) = build(&mut Unstructured::new(data)) else {
        return;
    };
    let mut machine =
        Machine::new(config, crate::console(), Box::new(BufferedInput(input.into()))).expect("a valid configuration");
    kernel::boot(&mut machine, &workload).expect("the kernel boots with a small program");
    let reason = machine.run();
    if crate::verbose() {
        eprintln!(
            "\nkernel_syscalls: {reason:?} after {} cycles; {} processes on {} harts",
            machine.now,
            workload.procs,
            machine.harts.len()
        );
    }
    assert!(!machine.bus.annotate.panicked, "the kernel panicked");
    if reason == ExitReason::Deadlock {
        assert!(
            timer_out_of_reach(&machine),
            "the machine deadlocked with no timer armed"
        );
    }
}

/// Whether a hart has a timer armed so far ahead that simulated time (a
/// 64-bit count of cycles) never reaches it: the machine then stops with
/// `Deadlock`, rightly, when a process asks to sleep for centuries (a
/// `nanosleep` of 2^40 seconds is valid).
fn timer_out_of_reach(machine: &Machine) -> bool {
    let clint = &machine.bus.clint;
    machine.harts.iter().any(|h| {
        let far = |cmp: u64| cmp != u64::MAX && clint.cycle_of_tick(cmp).is_none();
        far(clint.mtimecmp(h.id)) || (h.csr.menvcfg & MENVCFG_STCE != 0 && far(h.csr.stimecmp))
    })
}

fn build(u: &mut Unstructured) -> Result<(Workload, MachineConfig, Vec<u8>)> {
    let harts = u.int_in_range(2..=3)?;
    let procs = u.int_in_range(1..=3)?;
    let master_runs_user = u.arbitrary()?;
    let slice_ticks = Some(u.int_in_range(5..=500)?);
    let input_len = u.int_in_range(0..=16)?;
    let input = u.bytes(input_len)?.to_vec();
    let config = MachineConfig {
        harts,
        ram_size: 16 << 20,
        max_cycles: Some(MAX_CYCLES),
        ..MachineConfig::default()
    };
    let workload = Workload {
        argv0: None,
        name: NAME.into(),
        program: program(u)?,
        args: vec![],
        env: vec![],
        procs,
        seed: u.arbitrary()?,
        master_runs_user,
        slice_ticks,
    };
    Ok((workload, config, input))
}

/// The executable: the calls, then an exit.
fn program(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut code = Vec::new();
    let calls = u.int_in_range(0..=MAX_CALLS)?;
    for _ in 0..calls {
        if u.ratio(1, 16)? {
            // Sometimes a plain instruction between calls: touch the buffer,
            // or spin a little so that the time slice runs out.
            code.extend(asm::li(T0, (DATA + 8 * u.int_in_range(0..=511)?) as i64));
            code.push(asm::ld(T1, T0, 0));
            code.push(asm::sd(T1, T0, 8));
            code.extend(asm::li(T2, u.int_in_range(1..=2000)?));
            code.push(asm::addi(T2, T2, -1));
            code.push(asm::bne(T2, ZERO, -4));
        }
        let number = if u.ratio(7, 8)? {
            *u.choose(SYSCALLS)?
        } else {
            u.arbitrary()?
        };
        code.extend(asm::li(A7, number as i64));
        for reg in A0..=A5 {
            code.extend(asm::li(reg, argument(u)? as i64));
        }
        code.push(asm::ecall());
    }
    code.extend(asm::li(A0, u.arbitrary::<u8>()? as i64));
    code.extend(asm::li(A7, if u.arbitrary()? { 93 } else { 94 }));
    code.push(asm::ecall());
    code.push(asm::ebreak()); // never reached
    let mut data = PATH.to_vec();
    data.extend_from_slice(NAME.as_bytes());
    data.push(0);
    Ok(elf::write(
        CODE,
        &[
            Segment {
                addr: CODE,
                data: elf::code(&code),
                mem_size: PAGE,
                flags: PF_R | PF_X,
            },
            Segment {
                addr: DATA,
                data,
                mem_size: DATA_SIZE,
                flags: PF_R | PF_W,
            },
        ],
    ))
}

/// One system-call argument.
fn argument(u: &mut Unstructured) -> Result<u64> {
    Ok(match u.int_in_range(0..=11)? {
        // Small numbers: descriptors, flags, signals, counts.
        0 | 1 => u.int_in_range(0..=16)?,
        // Small negative numbers: -1 (AT_FDCWD is -100) and around.
        2 => u.arbitrary::<i8>()? as i64 as u64,
        // Into the data segment (the end of it included).
        3 | 4 => DATA + u.int_in_range(0..=DATA_SIZE)?,
        // The path string, and the program's name.
        5 => *u.choose(&[DATA, DATA + PATH.len() as u64])?,
        // Addresses no system call may use.
        6 => *u.choose(&[
            0,
            1,
            0x1000,
            CODE,
            CODE + PAGE - 1,
            DATA + DATA_SIZE - 1,
            0x8000_0000,
            0x8020_0000,
            TRAPFRAME,
            TRAMPOLINE,
            MAXVA - 1,
            MAXVA,
            1 << 63,
            u64::MAX - 7,
        ])?,
        // Lengths and sizes, huge ones included.
        7 => *u.choose(&[
            PAGE,
            2 * PAGE,
            1 << 20,
            1 << 31,
            1 << 32,
            1 << 40,
            i64::MAX as u64,
            1 << 63,
            u64::MAX,
        ])?,
        8 => u.int_in_range(0..=2 * PAGE)?,
        // Addresses near the top of the user space (the stack, mmap's area).
        9 => TRAPFRAME - PAGE * u.int_in_range(1..=40)? + u.int_in_range(0..=PAGE)?,
        _ => u.arbitrary()?,
    })
}
