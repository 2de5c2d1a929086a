//! `debug_command`: any text through the debugger's command language
//! (`rvmsmp::debug::command`), then through the debugger's prompt against a
//! live machine.
//!
//! The parser must take any line without panicking; a command it accepts
//! must respect the documented bounds (counts and lengths 1 to `MAX_LEN`),
//! and numbers must read back as written. Then the whole input, as a
//! script, drives `--debug`'s prompt on a four-hart machine running a
//! bare-metal test program (tests/guest/bin/smp_counter.elf, with its
//! symbols): stepping, breakpoints, watchpoints, memory and register
//! dumps, disassembly and backtraces on whatever the input names. The run
//! is bounded in cycles, so `continue` ends. The first two bytes of the
//! input also name a CSR (0 to 0xfff) that the script reads first.

use std::io::Cursor;
use std::path::Path;

use rvmsmp::debug::command::{self, BreakSpec, Command, MAX_LEN};
use rvmsmp::debug::repl;
use rvmsmp::debug::session::Session;
use rvmsmp::debug::symbols::{SymbolTable, Symbols};
use rvmsmp::devices::uart::NoInput;
use rvmsmp::fdt::FdtOptions;
use rvmsmp::loader::ElfImage;
use rvmsmp::{Machine, MachineConfig};

const PROGRAM: &[u8] = include_bytes!("../../tests/guest/bin/smp_counter.elf");
/// Cycles before the program is stopped, so that every session ends.
const MAX_CYCLES: u64 = 5_000;

pub fn debug_command(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        check_line(line);
    }
    if let Some(value) = data.get(..8) {
        let n = u64::from_le_bytes(value.try_into().expect("8 bytes"));
        for written in [n.to_string(), format!("{n:#x}"), format!("{n:#X}"), format!(" {n} ")] {
            assert_eq!(command::parse_number(&written), Some(n), "{written:?}");
        }
    }
    // Every CSR number is one short input away: the first two bytes pick
    // one for a `csr` command ahead of the script (random text alone
    // seldom spells out a number that reaches an unchecked CSR).
    let csr = data.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]) & 0xfff);
    let script = match csr {
        Some(n) => format!("csr {n:#x}\n{text}"),
        None => text.into_owned(),
    };
    session(&script);
}

fn check_line(line: &str) {
    let count_ok = |n: u64| (1..=MAX_LEN).contains(&n);
    match command::parse(line) {
        Ok(Command::Step(n)) => assert!(count_ok(n), "{line:?}: step {n}"),
        Ok(Command::Watch { len, .. } | Command::Examine { len, .. }) => {
            assert!(count_ok(len), "{line:?}: length {len}")
        }
        Ok(Command::Disasm { count, .. }) => assert!(count_ok(count), "{line:?}: count {count}"),
        Ok(Command::Break(BreakSpec::Trap { cause: Some(c), .. })) => {
            let n = match c {
                command::TrapCause::Exception(n) | command::TrapCause::Interrupt(n) => n,
            };
            assert!(n < 64, "{line:?}: cause {n}");
        }
        Ok(Command::Nothing) => {
            let t = line.trim();
            assert!(t.is_empty() || t.starts_with('#'), "{line:?} parses to nothing");
        }
        Ok(_) | Err(_) => {}
    }
}

fn session(script: &str) {
    let path = Path::new("smp_counter.elf");
    let image = ElfImage::parse(path, PROGRAM).expect("the test program parses");
    let config = MachineConfig {
        harts: 4,
        ram_size: 4 << 20,
        max_cycles: Some(MAX_CYCLES),
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, crate::console(), Box::new(NoInput)).expect("a valid configuration");
    machine
        .boot_bare(path, &image, &FdtOptions::default())
        .expect("the test program boots");
    let symbols = Symbols {
        tables: vec![SymbolTable::from_elf("prog", PROGRAM)],
    };
    let mut session = Session::new(&mut machine, symbols, Vec::new(), true);
    let mut out: Box<dyn std::io::Write> = crate::console();
    repl::run(&mut session, &mut Cursor::new(script.as_bytes()), &mut out, true);
}
