//! `bare`'s console on a terminal, as QEMU's `-nographic` gives it: the
//! terminal in raw mode for the run (no echo, no line editing, every byte
//! to the guest as typed, Ctrl-C to the guest too), restored on every exit
//! path (normal end, error, panic, SIGTERM/SIGHUP/SIGQUIT), and Ctrl-A x to
//! quit, as in QEMU. Ctrl-A Ctrl-A sends one Ctrl-A to the guest.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The terminal's settings before the run, restored at exit.
static SAVED: OnceLock<libc::termios> = OnceLock::new();
static RAW: AtomicBool = AtomicBool::new(false);

/// The escape key: Ctrl-A.
pub const ESCAPE: u8 = 0x01;
/// Exit status after Ctrl-A x (QEMU's is 0 too).
pub const QUIT_STATUS: i32 = 0;

/// Puts standard input, a terminal, in raw mode until [`restore`] (called
/// by the guard's drop, the panic hook and the signal handlers). Does
/// nothing when standard input is not a terminal.
pub fn enter_raw_mode() -> Option<RawModeGuard> {
    // SAFETY: isatty and tcgetattr only read the descriptor's state into
    // a termios we own.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::isatty(0) } != 1 || unsafe { libc::tcgetattr(0, &mut saved) } != 0 {
        return None;
    }
    let _ = SAVED.set(saved);
    let mut raw = saved;
    // SAFETY: cfmakeraw edits our copy; tcsetattr applies it to fd 0.
    unsafe {
        libc::cfmakeraw(&mut raw);
        raw.c_oflag |= libc::OPOST | libc::ONLCR; // the guest's "\n" still starts a new line
        if libc::tcsetattr(0, libc::TCSANOW, &raw) != 0 {
            return None;
        }
    }
    RAW.store(true, Ordering::SeqCst);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGINT] {
        // SAFETY: the handler only calls async-signal-safe functions.
        unsafe {
            libc::signal(signal, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }
    Some(RawModeGuard)
}

/// Whether the terminal is in raw mode (typed input then goes through [`Escape`]).
pub fn is_raw() -> bool {
    RAW.load(Ordering::SeqCst)
}

/// Ends the run on Ctrl-A x: the terminal restored, the output flushed.
pub fn quit() -> ! {
    use std::io::Write;
    restore();
    let _ = std::io::stdout().flush();
    eprintln!("\nrvmsmp: terminated (Ctrl-A x)");
    std::process::exit(QUIT_STATUS);
}

/// Puts the terminal back as it was (idempotent, async-signal-safe).
pub fn restore() {
    if RAW.swap(false, Ordering::SeqCst) {
        if let Some(saved) = SAVED.get() {
            // SAFETY: tcsetattr with the settings read before the run.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, saved);
            }
        }
    }
}

extern "C" fn on_signal(signal: libc::c_int) {
    restore();
    // SAFETY: back to the default action, then the signal again, so the
    // process ends as the signal would have ended it.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Restores the terminal when the run ends.
pub struct RawModeGuard;

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Follows the escape sequence in typed input: returns the bytes for the
/// guest, or `None` when the user typed Ctrl-A x.
#[derive(Default)]
pub struct Escape {
    pending: bool,
}

impl Escape {
    pub fn filter(&mut self, input: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(input.len());
        for &byte in input {
            if self.pending {
                self.pending = false;
                match byte {
                    b'x' | b'X' => return None,
                    ESCAPE => out.push(ESCAPE),
                    other => out.extend([ESCAPE, other]),
                }
            } else if byte == ESCAPE {
                self.pending = true;
            } else {
                out.push(byte);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_a_x_quits_and_ctrl_a_ctrl_a_is_one_ctrl_a() {
        let mut e = Escape::default();
        assert_eq!(e.filter(b"ab\x01"), Some(b"ab".to_vec()));
        assert_eq!(e.filter(b"\x01c"), Some(b"\x01c".to_vec()));
        assert_eq!(e.filter(b"d\x01x"), None);
    }
}
