//! Shared helpers: run hand-assembled code on a small machine and look at
//! the result. Code is a list of words built with `rvmsmp::asm`, so tests
//! read like assembly.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use rvmsmp::asm::{self, reg::*};
use rvmsmp::devices::uart::NoInput;
use rvmsmp::memmap::{DRAM_BASE, TEST_FINISHER};
use rvmsmp::{ExitReason, Machine, MachineConfig};

/// Where test code is placed (the reset pc).
pub const CODE: u64 = DRAM_BASE;
/// Where the default M-mode trap handler is placed.
pub const HANDLER: u64 = DRAM_BASE + 0x1_0000;
/// A scratch data area tests may use.
pub const DATA: u64 = DRAM_BASE + 0x2_0000;

/// Registers the default trap handler fills before powering off.
pub const TRAP_CAUSE: u32 = 26; // s10 = mcause
pub const TRAP_TVAL: u32 = 27; // s11 = mtval
pub const TRAP_EPC: u32 = 25; // s9 = mepc

/// Console output captured for a test.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Words that power the machine off with status 0 through the test finisher.
pub fn power_off() -> Vec<u32> {
    let mut w = asm::li(T6, TEST_FINISHER.base as i64);
    w.extend(asm::li(T5, 0x5555));
    w.push(asm::sw(T5, T6, 0));
    w.push(asm::jal(ZERO, 0)); // never reached: the write stops the machine
    w
}

/// The default trap handler: s10 = mcause, s11 = mtval, s9 = mepc, then power off.
pub fn trap_handler() -> Vec<u32> {
    let mut w = vec![
        asm::csrr(TRAP_CAUSE, 0x342),
        asm::csrr(TRAP_TVAL, 0x343),
        asm::csrr(TRAP_EPC, 0x341),
    ];
    w.extend(power_off());
    w
}

/// A machine with `harts` harts and 4 MiB of RAM, output captured.
pub fn machine(harts: usize) -> (Machine, Captured) {
    let out = Captured::default();
    let config = MachineConfig {
        harts,
        ram_size: 4 << 20,
        max_cycles: Some(10_000_000),
        ..MachineConfig::default()
    };
    let m = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).expect("valid machine");
    (m, out)
}

pub fn place(m: &mut Machine, addr: u64, words: &[u32]) {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    m.bus.write_ram_bytes(addr, &bytes).expect("code fits in RAM");
}

/// Places `code` at CODE followed by a power-off, the default handler at
/// HANDLER with mtvec pointing at it, and runs one hart to completion.
pub fn run(code: &[u32]) -> Machine {
    run_with(code, |_| {})
}

/// Like [`run`], with a chance to set up the machine (registers, CSRs,
/// memory) before it starts.
pub fn run_with(code: &[u32], setup: impl FnOnce(&mut Machine)) -> Machine {
    let (mut m, _) = machine(1);
    let mut program = code.to_vec();
    program.extend(power_off());
    place(&mut m, CODE, &program);
    place(&mut m, HANDLER, &trap_handler());
    m.harts[0].pc = CODE;
    m.harts[0].csr.mtvec = HANDLER;
    setup(&mut m);
    let reason = m.run();
    assert_eq!(
        reason,
        ExitReason::Finisher(0),
        "the test program did not power off cleanly"
    );
    m
}

/// Runs `code` and returns the value of register `r` at the end.
pub fn reg_after(code: &[u32], r: u32) -> u64 {
    run(code).harts[0].x[r as usize]
}

/// Runs `code`, which must trap; returns (mcause, mtval, mepc).
pub fn trap_of(code: &[u32]) -> (u64, u64, u64) {
    trap_of_with(code, |_| {})
}

pub fn trap_of_with(code: &[u32], setup: impl FnOnce(&mut Machine)) -> (u64, u64, u64) {
    let m = run_with(code, setup);
    let h = &m.harts[0];
    let cause = h.x[TRAP_CAUSE as usize];
    assert!(h.last_trap.is_some(), "expected a trap, none was taken");
    (cause, h.x[TRAP_TVAL as usize], h.x[TRAP_EPC as usize])
}

/// The rvmsmp binary built for these tests.
pub fn rvmsmp_bin() -> std::path::PathBuf {
    let mut p = std::env::current_exe().expect("test binary path");
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p.join(format!("rvmsmp{}", std::env::consts::EXE_SUFFIX))
}

/// Packs 16-bit (compressed) instructions two to a word, little-endian, so
/// the first one is at the lower address; an odd count is padded with c.nop.
pub fn rvc(halves: &[u16]) -> Vec<u32> {
    const C_NOP: u16 = 0x0001;
    halves
        .chunks(2)
        .map(|pair| pair[0] as u32 | (*pair.get(1).unwrap_or(&C_NOP) as u32) << 16)
        .collect()
}

/// CSR numbers as the encoder takes them.
pub mod csr {
    pub const SSTATUS: u32 = 0x100;
    pub const SIE: u32 = 0x104;
    pub const STVEC: u32 = 0x105;
    pub const SSCRATCH: u32 = 0x140;
    pub const SEPC: u32 = 0x141;
    pub const SCAUSE: u32 = 0x142;
    pub const STVAL: u32 = 0x143;
    pub const SIP: u32 = 0x144;
    pub const STIMECMP: u32 = 0x14d;
    pub const SATP: u32 = 0x180;
    pub const MSTATUS: u32 = 0x300;
    pub const MISA: u32 = 0x301;
    pub const MEDELEG: u32 = 0x302;
    pub const MIDELEG: u32 = 0x303;
    pub const MIE: u32 = 0x304;
    pub const MTVEC: u32 = 0x305;
    pub const MCOUNTEREN: u32 = 0x306;
    pub const MENVCFG: u32 = 0x30a;
    pub const MSCRATCH: u32 = 0x340;
    pub const MEPC: u32 = 0x341;
    pub const MCAUSE: u32 = 0x342;
    pub const MTVAL: u32 = 0x343;
    pub const MIP: u32 = 0x344;
    pub const CYCLE: u32 = 0xc00;
    pub const TIME: u32 = 0xc01;
    pub const MHARTID: u32 = 0xf14;
}

/// Whether an external tool (QEMU, a cross compiler) can be run. Tests that
/// need one skip with a message when it is missing, except under CI, which
/// installs them all (`cargo xtask ci`): there a missing tool is a failure.
pub fn have(tool: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {tool} (cargo xtask ci does)"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    found
}

/// The proptest configuration of the property tests: `cases` cases, and any
/// failure saved next to the test's source (`*.proptest-regressions`, kept
/// in the repository as regression cases).
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        // A failing case is reported after at most a minute of shrinking
        // (a case that runs to its cycle bound takes seconds, and shrinking
        // may try thousands), rather than when shrinking ends.
        max_shrink_time: 60_000,
        ..proptest::test_runner::Config::default()
    }
}

/// Runs a command with a time limit; returns (stdout, exit code).
pub fn run_with_timeout(cmd: &mut std::process::Command, limit: std::time::Duration) -> (String, Option<i32>) {
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (reader.join().unwrap(), status.code())
}
