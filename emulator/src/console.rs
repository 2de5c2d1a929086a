//! The host side of the guest console: where UART input comes from.
//!
//! Standard input that is a regular file (or /dev/null) is read in full
//! before the run, so the guest sees the same bytes at the same simulated
//! times on every run. A terminal or a pipe is read by a background thread,
//! and its bytes reach the guest at the first quantum boundary after they
//! arrive: interactive use is, by nature, not reproducible.

use std::collections::VecDeque;
use std::io::{IsTerminal, Read};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::devices::uart::{BufferedInput, ConsoleInput, NoInput};

/// Bytes arriving from a reader thread.
pub struct StreamInput {
    rx: Receiver<u8>,
    open: bool,
}

impl ConsoleInput for StreamInput {
    fn poll(&mut self) -> Option<u8> {
        match self.rx.try_recv() {
            Ok(b) => Some(b),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.open = false;
                None
            }
        }
    }

    fn open(&self) -> bool {
        self.open
    }
}

/// The console input source for the process's standard input.
pub fn stdin_input() -> Box<dyn ConsoleInput> {
    let stdin = std::io::stdin();
    let is_file = is_regular_file_or_null();
    if is_file && !stdin.is_terminal() {
        let mut bytes = Vec::new();
        if stdin.lock().read_to_end(&mut bytes).is_err() || bytes.is_empty() {
            return Box::new(NoInput);
        }
        return Box::new(BufferedInput(VecDeque::from(bytes)));
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 || buf[..n].iter().any(|&b| tx.send(b).is_err()) {
                break;
            }
        }
    });
    Box::new(StreamInput { rx, open: true })
}

#[cfg(unix)]
fn is_regular_file_or_null() -> bool {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata("/proc/self/fd/0").or_else(|_| std::fs::metadata("/dev/stdin")) {
        Ok(m) => m.is_file() || m.file_type().is_char_device() && !std::io::stdin().is_terminal(),
        Err(_) => true, // stdin closed: treat as empty
    }
}

#[cfg(not(unix))]
fn is_regular_file_or_null() -> bool {
    false
}
