//! The HTIF tohost/fromhost convention used by Spike and the riscv-tests
//! suite. The ELF names two doublewords, `tohost` and `fromhost`; the
//! machine polls tohost at quantum boundaries.
//!
//! A value with bit 0 set ends the run with exit code `value >> 1`. Device 1
//! command 1 writes the low byte to the console. Otherwise (device 0,
//! command 0) the value points at a `magic_mem` block of eight doublewords
//! describing a system call: only write (64) to fd 1 or 2 and exit (93) are
//! served; others return -ENOSYS (-38).

use crate::bus::Bus;

const SYS_WRITE: u64 = 64;
const SYS_EXIT: u64 = 93;
const ENOSYS: i64 = 38;

/// Addresses of the two doublewords, from the ELF symbol table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Htif {
    pub tohost: u64,
    pub fromhost: Option<u64>,
}

impl Htif {
    /// Serves a pending tohost request; returns the exit code if the guest
    /// asked to stop.
    pub fn poll(&self, bus: &mut Bus) -> Option<u64> {
        let request = bus.read_ram_u64(self.tohost)?;
        if request == 0 {
            return None;
        }
        bus.write_ram_u64(self.tohost, 0);
        if request & 1 != 0 && request >> 48 == 0 {
            return Some(request >> 1);
        }
        let device = request >> 56;
        let command = (request >> 48) & 0xff;
        let payload = request & ((1 << 48) - 1);
        match (device, command) {
            (1, 1) => {
                bus.console_write(&[payload as u8]);
                self.reply(bus, (1 << 56) | (1 << 48));
            }
            (0, 0) => {
                let exit = self.syscall(bus, payload);
                if exit.is_some() {
                    return exit;
                }
                self.reply(bus, 1);
            }
            _ => {}
        }
        None
    }

    fn reply(&self, bus: &mut Bus, value: u64) {
        if let Some(fromhost) = self.fromhost {
            bus.write_ram_u64(fromhost, value);
        }
    }

    fn syscall(&self, bus: &mut Bus, magic: u64) -> Option<u64> {
        let arg = |bus: &Bus, i: u64| bus.read_ram_u64(magic + 8 * i).unwrap_or(0);
        let number = arg(bus, 0);
        let result: i64 = match number {
            SYS_EXIT => return Some(arg(bus, 1)),
            SYS_WRITE => {
                let (fd, buf, len) = (arg(bus, 1), arg(bus, 2), arg(bus, 3));
                let bytes: Option<Vec<u8>> = (0..len).map(|i| bus.read_ram_u8(buf + i)).collect();
                match bytes {
                    Some(bytes) if fd == 1 || fd == 2 => {
                        bus.console_write(&bytes);
                        len as i64
                    }
                    _ => -14, // EFAULT or a bad descriptor
                }
            }
            _ => -ENOSYS,
        };
        bus.write_ram_u64(magic, result as u64);
        None
    }
}
