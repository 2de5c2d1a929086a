//! The interactive prompt of `--debug`. It reads commands line by line, so
//! it works the same from a terminal and from a pipe or a file (a script);
//! reading from something other than a terminal, it echoes each command
//! after the prompt, so that the output reads as a transcript.

use std::io::{BufRead, Write};

use super::command;
use super::session::{Flow, Session};
use crate::bus::ExitReason;
use crate::machine::RunOutcome;

/// How a debugging session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The run ended by itself (the debugger may have detached first).
    Exited(ExitReason),
    /// `quit` ended it early.
    Quit,
}

pub const PROMPT: &str = "(rvmsmp) ";

/// Runs the prompt until `quit` or the end of the input. At the end of the
/// input the debugger detaches and the run goes on to its end.
pub fn run(session: &mut Session, input: &mut dyn BufRead, out: &mut dyn Write, echo: bool) -> Ending {
    let harts = session.machine.harts.len();
    let _ = writeln!(
        out,
        "rvmsmp debugger: {harts} hart{}, stopped before the first instruction (`help` lists the commands)",
        if harts == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "{}", session.where_line(0));
    let mut raw = Vec::new();
    loop {
        let _ = write!(out, "{PROMPT}");
        let _ = out.flush();
        raw.clear();
        // Bytes, not a String: a line that is not UTF-8 is an error for that
        // line alone, and the script goes on.
        match input.read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => {
                let _ = writeln!(out);
                return finish(session, out);
            }
            Ok(_) => {}
        }
        let Ok(line) = std::str::from_utf8(&raw) else {
            if echo {
                let _ = writeln!(out, "{}", String::from_utf8_lossy(&raw).trim_end());
            }
            let _ = writeln!(out, "error: the line is not valid UTF-8");
            continue;
        };
        if echo {
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let cmd = match command::parse(line) {
            Ok(cmd) => cmd,
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
                continue;
            }
        };
        let (flow, result) = session.execute(&cmd);
        match result {
            Ok(text) if !text.is_empty() => {
                let _ = writeln!(out, "{text}");
            }
            Ok(_) => {}
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
            }
        }
        match flow {
            Flow::Stay => {}
            Flow::Quit => {
                return match session.exited {
                    Some(reason) => Ending::Exited(reason),
                    None => Ending::Quit,
                };
            }
            Flow::Resume => {
                let _ = out.flush();
                let text = match resume(session) {
                    RunOutcome::Exited(reason) => session.describe_exit(reason),
                    _ => match session.debugger.stop.clone() {
                        Some(stop) => session.describe_stop(&stop),
                        None => session.where_line(session.selected),
                    },
                };
                let _ = writeln!(out, "{text}");
            }
        }
    }
}

/// Runs until a stop or the end.
fn resume(session: &mut Session) -> RunOutcome {
    loop {
        match session.resume(None) {
            RunOutcome::Paused => continue,
            outcome => return outcome,
        }
    }
}

fn finish(session: &mut Session, out: &mut dyn Write) -> Ending {
    if let Some(reason) = session.exited {
        return Ending::Exited(reason);
    }
    let _ = writeln!(out, "end of input: the debugger detaches and the run goes on");
    let _ = out.flush();
    session.detach();
    let reason = session.run_to_end();
    let _ = writeln!(out, "{}", session.describe_exit(reason));
    Ending::Exited(reason)
}
