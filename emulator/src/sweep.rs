//! `rvmsmp sweep`: one run per hart count, a table, CSV, JSON and a plot.
//! (Being written: see the open work on this module.)

use std::path::PathBuf;

use crate::error::EmuError;

/// Hart counts: A..B (inclusive) by STEP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HartRange {
    pub first: usize,
    pub last: usize,
    pub step: usize,
}

impl HartRange {
    pub fn parse(text: &str) -> Result<HartRange, EmuError> {
        let bad = || EmuError::Config(format!("--harts {text}: expected A..B or A..B:STEP, e.g. 2..21"));
        let (range, step) = match text.split_once(':') {
            Some((r, s)) => (r, s.parse().map_err(|_| bad())?),
            None => (text, 1),
        };
        let (a, b) = range.split_once("..").ok_or_else(bad)?;
        let (first, last): (usize, usize) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if first == 0 || last < first || step == 0 {
            return Err(bad());
        }
        Ok(HartRange { first, last, step })
    }

    pub fn counts(&self) -> Vec<usize> {
        (self.first..=self.last).step_by(self.step).collect()
    }
}

pub struct SweepOptions {
    pub harts: HartRange,
    pub procs_per_slave: usize,
    pub out: PathBuf,
    pub jobs: usize,
    pub mem_mib: u64,
    pub quantum: u64,
    pub max_cycles: Option<u64>,
    pub seed: u64,
    pub slice_ticks: Option<u64>,
    pub program_name: String,
    pub program: Vec<u8>,
    pub args: Vec<String>,
}

pub fn run(options: &SweepOptions) -> Result<(), EmuError> {
    let _ = options;
    Err(EmuError::Config("rvmsmp sweep is not available yet".into()))
}
