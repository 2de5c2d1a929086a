//! Debugging the machine: an interactive debugger (`--debug`), traces of
//! traps and of instructions (`--trace traps|insns FILE`) and a GDB remote
//! server (`--gdb PORT`), all built on one hook, [`observer::Observer`],
//! called by the observed run loop ([`crate::Machine::run_observed`]). A run
//! without any of them takes the fast loop, which has no hook at all; a run
//! with them, and no stop taken, does exactly what the fast loop does
//! (docs/debugging.md).

pub mod access;
pub mod command;
pub mod csr_names;
pub mod debugger;
pub mod disasm;
pub mod mem;
pub mod observer;
pub mod repl;
pub mod session;
pub mod symbols;
pub mod trace;

use std::io::IsTerminal;
use std::path::PathBuf;

pub use repl::Ending;
use session::{Session, Trace};
use symbols::Symbols;
use trace::{Filter, InsnTrace, TrapTrace};

use crate::error::EmuError;
use crate::machine::Machine;

/// What to debug and trace, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The prompt on standard input.
    pub prompt: bool,
    /// The GDB server: a TCP port on 127.0.0.1, or a Unix socket path.
    pub gdb: Option<String>,
    /// `(kind, file)`: kind `traps` or `insns`.
    pub traces: Vec<(String, PathBuf)>,
    pub trace_harts: Option<String>,
    pub trace_cycles: Option<String>,
}

impl Options {
    /// Whether anything asks for the observed run loop.
    pub fn active(&self) -> bool {
        self.prompt || self.gdb.is_some() || !self.traces.is_empty()
    }

    /// Checks the options and opens the trace files (before the run, so a
    /// bad path fails at once).
    pub fn open_traces(&self) -> Result<Vec<Trace>, EmuError> {
        let filter =
            Filter::parse(self.trace_harts.as_deref(), self.trace_cycles.as_deref()).map_err(EmuError::Config)?;
        let mut traces = Vec::new();
        for (kind, path) in &self.traces {
            let file = std::fs::File::create(path)
                .map_err(|e| EmuError::bad_input(path, format!("cannot write the trace: {e}")))?;
            let out = Box::new(std::io::BufWriter::with_capacity(1 << 20, file));
            traces.push(match kind.as_str() {
                "traps" => Trace::Traps(TrapTrace::new(out, filter.clone())),
                "insns" => Trace::Insns(Box::new(InsnTrace::new(out, filter.clone()))),
                _ => {
                    return Err(EmuError::Config(format!(
                        "--trace {kind}: the traces are `traps` and `insns`"
                    )))
                }
            });
        }
        Ok(traces)
    }
}

/// Runs `machine` under the debugger, the GDB server and the traces that
/// `options` ask for, to its end or until the debugger quits.
pub fn run(machine: &mut Machine, symbols: Symbols, options: &Options) -> Result<Ending, EmuError> {
    let traces = options.open_traces()?;
    let attached = options.prompt || options.gdb.is_some();
    let mut session = Session::new(machine, symbols, traces, attached);
    let ending = if let Some(address) = &options.gdb {
        gdb::serve(&mut session, address)?
    } else if options.prompt {
        let stdin = std::io::stdin();
        let echo = !stdin.is_terminal();
        let mut input = stdin.lock();
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        repl::run(&mut session, &mut input, &mut out, echo)
    } else {
        Ending::Exited(session.run_to_end())
    };
    session
        .finish_traces()
        .map_err(|e| EmuError::Config(format!("cannot write a trace: {e}")))?;
    Ok(ending)
}
pub mod gdb;
