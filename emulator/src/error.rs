//! Host-side failures: bad input files and bad configuration. Guest
//! misbehaviour is never an error here; it is a trap for the guest.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum EmuError {
    /// An input file that cannot be used, named with what is wrong with it.
    #[error("{path}: {problem}")]
    BadInput { path: String, problem: String },
    /// Options that cannot work together or out of range.
    #[error("{0}")]
    Config(String),
}

impl EmuError {
    pub fn bad_input(path: &Path, problem: impl Into<String>) -> EmuError {
        EmuError::BadInput {
            path: path.display().to_string(),
            problem: problem.into(),
        }
    }
}
