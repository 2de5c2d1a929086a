//! Timelines of a run in the Chrome trace-event format, for ui.perfetto.dev.
//! (Being written: see the open work on this module.)

use std::path::Path;

use crate::error::EmuError;
use crate::machine::Machine;

/// A window of simulated time, in cycles: `START..END`, either end open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub start: Option<u64>,
    pub end: Option<u64>,
}

impl Window {
    pub fn parse(text: &str) -> Result<Window, EmuError> {
        let bad = || {
            EmuError::Config(format!(
                "--trace-window {text}: expected START..END in cycles, e.g. 1000..50000"
            ))
        };
        let (start, end) = text.split_once("..").ok_or_else(bad)?;
        let number = |s: &str| {
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse().map(Some).map_err(|_| bad())
            }
        };
        Ok(Window {
            start: number(start)?,
            end: number(end)?,
        })
    }
}

/// Writes the trace of a finished run.
pub fn write(machine: &Machine, path: &Path, window: Window) -> Result<(), EmuError> {
    let _ = (machine, window);
    Err(EmuError::bad_input(path, "--trace-json is not available yet"))
}
