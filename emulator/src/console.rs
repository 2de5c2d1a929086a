//! The host side of the guest console: where UART input comes from.
//!
//! Standard input that is a regular file (or a device such as /dev/null) is
//! read as the guest takes it, so the guest sees the same bytes at the same
//! simulated times on every run, in bounded memory. A terminal or a pipe is read by a background thread,
//! and its bytes reach the guest at the first quantum boundary after they
//! arrive: interactive use is, by nature, not reproducible.

use std::collections::VecDeque;
use std::io::{IsTerminal, Read};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::devices::uart::{ConsoleInput, NoInput};

/// How many chunks of input the reader thread may have read ahead of the
/// guest: with [`CHUNK`] bytes each, at most 4 KiB wait in host memory; past
/// that the thread stops reading, so a fast producer is held back by its
/// pipe (back-pressure) and nothing read is lost.
const CHUNKS_AHEAD: usize = 16;
const CHUNK: usize = 256;

/// Bytes arriving from a reader thread, through a bounded channel.
pub struct StreamInput {
    rx: Receiver<Vec<u8>>,
    pending: VecDeque<u8>,
    open: bool,
}

impl ConsoleInput for StreamInput {
    fn poll(&mut self) -> Option<u8> {
        if self.pending.is_empty() && self.open {
            match self.rx.try_recv() {
                Ok(chunk) => self.pending.extend(chunk),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.open = false,
            }
        }
        self.pending.pop_front()
    }

    fn open(&self) -> bool {
        self.open || !self.pending.is_empty()
    }
}

/// A regular file (or /dev/null, /dev/zero...) read as the guest takes it:
/// one byte ahead, so whether more input follows is known at once and the
/// run is the same every time, whatever the file's size.
pub struct FileInput {
    reader: std::io::BufReader<std::io::Stdin>,
    next: Option<u8>,
}

impl FileInput {
    fn read_ahead(&mut self) {
        let mut byte = [0u8; 1];
        self.next = match self.reader.read(&mut byte) {
            Ok(1) => Some(byte[0]),
            _ => None,
        };
    }
}

impl ConsoleInput for FileInput {
    fn poll(&mut self) -> Option<u8> {
        let byte = self.next?;
        self.read_ahead();
        Some(byte)
    }

    fn open(&self) -> bool {
        self.next.is_some()
    }
}

/// The console input source for the process's standard input.
pub fn stdin_input() -> Box<dyn ConsoleInput> {
    let stdin = std::io::stdin();
    if is_regular_file_or_null() && !stdin.is_terminal() {
        let mut input = FileInput {
            reader: std::io::BufReader::new(stdin),
            next: None,
        };
        input.read_ahead();
        if input.next.is_none() {
            return Box::new(NoInput);
        }
        return Box::new(input);
    }
    let (tx, rx) = mpsc::sync_channel(CHUNKS_AHEAD);
    std::thread::spawn(move || {
        let mut buf = [0u8; CHUNK];
        let mut stdin = std::io::stdin();
        #[cfg(unix)]
        let mut escape = crate::terminal::Escape::default();
        while let Ok(n) = stdin.read(&mut buf) {
            #[allow(unused_mut)]
            let mut bytes = buf[..n].to_vec();
            #[cfg(unix)]
            if crate::terminal::is_raw() {
                match escape.filter(&bytes) {
                    Some(typed) => bytes = typed,
                    None => crate::terminal::quit(),
                }
            }
            if n == 0 || tx.send(bytes).is_err() {
                break;
            }
        }
    });
    Box::new(StreamInput {
        rx,
        pending: VecDeque::new(),
        open: true,
    })
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
