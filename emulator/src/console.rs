//! The host side of the guest console: where UART input comes from.
//!
//! Standard input that is not a terminal (a regular file, /dev/null, a pipe,
//! a FIFO, a socket) is read on demand, as the guest takes it: the UART
//! reads the next byte when the guest looks for one, waiting for the host's
//! producer if need be. So the guest sees the same bytes at the same
//! simulated times on every run, in bounded memory, and a program that
//! never reads its input never waits for it. A terminal is read by a
//! background thread, and its bytes reach the guest at the first quantum
//! boundary after they arrive: interactive use is, by nature, not
//! reproducible.

use std::collections::VecDeque;
use std::io::{IsTerminal, Read};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::devices::uart::ConsoleInput;

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

/// Input that is not a terminal, read as the guest takes it. Whether a
/// byte follows is learnt only when the guest asks (the read may wait for a
/// pipe's producer), so an input that is never read is never waited for.
pub struct FileInput {
    reader: std::io::BufReader<std::io::Stdin>,
    /// The next byte, once read ahead: `Some(None)` at the end.
    next: Option<Option<u8>>,
}

impl FileInput {
    fn read_ahead(&mut self) -> Option<u8> {
        let mut byte = [0u8; 1];
        loop {
            return match self.reader.read(&mut byte) {
                Ok(1) => Some(byte[0]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                _ => None,
            };
        }
    }
}

impl ConsoleInput for FileInput {
    fn poll(&mut self) -> Option<u8> {
        let byte = match self.next.take() {
            Some(known) => known,
            None => self.read_ahead(),
        };
        if byte.is_none() {
            self.next = Some(None); // the end stays the end
        }
        byte
    }

    fn open(&self) -> bool {
        self.next != Some(None)
    }

    fn on_demand(&self) -> bool {
        true
    }
}

/// The console input source for the process's standard input.
pub fn stdin_input() -> Box<dyn ConsoleInput> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Box::new(FileInput {
            reader: std::io::BufReader::new(stdin),
            next: None,
        });
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
