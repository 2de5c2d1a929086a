//! An NS16550A UART, as on QEMU virt: transmitted bytes go to the console
//! sink (stdout by default) and received bytes come from the console source.
//!
//! Input comes in two kinds. Input read on demand (a file or a pipe: see
//! [`ConsoleInput::on_demand`]) enters the receive FIFO when the guest looks
//! for it (reads LSR, RBR or the annotation device's console status), and at
//! quantum boundaries only while the guest has the receive interrupt
//! enabled; so the guest sees the same bytes at the same simulated times on
//! every run, whenever the host's producer writes them. Input that arrives
//! by itself (a terminal) is offered at quantum boundaries (see
//! [`crate::machine`]), never in the middle of a hart's slice.

use std::collections::VecDeque;
use std::io::Write;

const RBR_THR_DLL: u64 = 0;
const IER_DLM: u64 = 1;
const IIR_FCR: u64 = 2;
const LCR: u64 = 3;
const MCR: u64 = 4;
const LSR: u64 = 5;
const MSR: u64 = 6;
const SCR: u64 = 7;

const IER_RX_AVAILABLE: u8 = 1;
const IER_THR_EMPTY: u8 = 2;
const IIR_NO_INTERRUPT: u8 = 0x01;
const IIR_THR_EMPTY: u8 = 0x02;
const IIR_RX_AVAILABLE: u8 = 0x04;
const IIR_FIFO_ENABLED: u8 = 0xc0;
const LCR_DLAB: u8 = 0x80;
const LSR_DATA_READY: u8 = 0x01;
const LSR_THR_EMPTY: u8 = 0x20;
const LSR_TRANSMITTER_EMPTY: u8 = 0x40;
/// Modem status: CTS, DSR and DCD asserted, as a connected terminal would.
const MSR_CONNECTED: u8 = 0xb0;
const RX_FIFO_DEPTH: usize = 16;

/// Where the UART gets its input bytes.
pub trait ConsoleInput {
    /// The next byte if one is available now; `None` otherwise. An input
    /// read on demand waits here for its next byte or its end.
    fn poll(&mut self) -> Option<u8>;
    /// Whether more bytes may still arrive.
    fn open(&self) -> bool;
    /// Whether the input is read when the guest asks for it (a file or a
    /// pipe) rather than offered as it arrives (a terminal).
    fn on_demand(&self) -> bool {
        false
    }
}

/// No input at all.
pub struct NoInput;

impl ConsoleInput for NoInput {
    fn poll(&mut self) -> Option<u8> {
        None
    }
    fn open(&self) -> bool {
        false
    }
}

/// Input known in full in advance (a file, a test's bytes).
pub struct BufferedInput(pub VecDeque<u8>);

impl ConsoleInput for BufferedInput {
    fn poll(&mut self) -> Option<u8> {
        self.0.pop_front()
    }
    fn open(&self) -> bool {
        !self.0.is_empty()
    }
    fn on_demand(&self) -> bool {
        true
    }
}

pub struct Uart {
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    fcr: u8,
    dll: u8,
    dlm: u8,
    rx: VecDeque<u8>,
    /// A THR-empty interrupt is owed until IIR reports it or THR is written.
    thr_empty_pending: bool,
    output: Box<dyn Write>,
    /// The guest's standard error (the annotation device's second channel);
    /// `None`: it shares `output`.
    err_output: Option<Box<dyn Write>>,
    /// Set once a write to the host's stream failed (a closed pipe): the
    /// kernel reads it to fail the guest's writes with EPIPE.
    pub out_closed: bool,
    pub err_closed: bool,
    /// Bytes written since the last flush.
    unflushed: bool,
    input: Box<dyn ConsoleInput>,
}

impl Uart {
    pub fn new(output: Box<dyn Write>, input: Box<dyn ConsoleInput>) -> Uart {
        Uart {
            ier: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            fcr: 0,
            dll: 0,
            dlm: 0,
            rx: VecDeque::new(),
            thr_empty_pending: false,
            output,
            err_output: None,
            out_closed: false,
            err_closed: false,
            unflushed: false,
            input,
        }
    }

    /// The interrupt line to the PLIC.
    pub fn irq(&self) -> bool {
        (self.ier & IER_RX_AVAILABLE != 0 && !self.rx.is_empty())
            || (self.ier & IER_THR_EMPTY != 0 && self.thr_empty_pending)
    }

    /// Moves a byte of console input into the receive FIFO, if there is room
    /// and a byte. Returns whether one moved.
    pub fn poll_input(&mut self) -> bool {
        if self.rx.len() >= RX_FIFO_DEPTH {
            return false;
        }
        if self.input.on_demand() && self.ier & IER_RX_AVAILABLE == 0 {
            return false; // it is read when the guest looks for it
        }
        self.take_input()
    }

    /// Moves the next byte of input into the FIFO if there is one.
    fn take_input(&mut self) -> bool {
        match self.input.poll() {
            Some(byte) => {
                self.rx.push_back(byte);
                true
            }
            None => false,
        }
    }

    /// Whether console input may still arrive.
    pub fn input_open(&self) -> bool {
        self.input.open()
    }

    /// Gives the guest's standard error its own host stream.
    pub fn set_error_output(&mut self, err: Box<dyn Write>) {
        self.err_output = Some(err);
    }

    /// Sends bytes straight to the console, bypassing the registers (for HTIF).
    pub fn transmit(&mut self, bytes: &[u8]) {
        if !self.out_closed && self.output.write_all(bytes).is_err() {
            self.out_closed = true;
        }
        self.unflushed = true;
    }

    /// Sends bytes to the guest's standard error.
    pub fn transmit_err(&mut self, bytes: &[u8]) {
        match &mut self.err_output {
            None => self.transmit(bytes),
            Some(err) => {
                if !self.err_closed && err.write_all(bytes).is_err() {
                    self.err_closed = true;
                }
                self.unflushed = true;
            }
        }
    }

    /// Hands what was written to the host, as transmitted (called when the
    /// guest stops writing: after each round that wrote, and at exit).
    pub fn flush(&mut self) {
        if !self.unflushed {
            return;
        }
        self.unflushed = false;
        if !self.out_closed && self.output.flush().is_err() {
            self.out_closed = true;
        }
        if let Some(err) = &mut self.err_output {
            if !self.err_closed && err.flush().is_err() {
                self.err_closed = true;
            }
        }
    }

    /// Input read on demand: the guest looks for a byte and the FIFO is
    /// empty, so the next byte (or the end) is read now.
    fn fill_on_demand(&mut self) {
        if self.rx.is_empty() && self.input.on_demand() {
            self.take_input();
        }
    }

    /// Whether the host's input is over and the guest has read all of it.
    pub fn input_at_end(&mut self) -> bool {
        self.fill_on_demand();
        self.rx.is_empty() && !self.input.open()
    }

    /// Whether a byte waits in the receive FIFO.
    pub fn input_ready(&self) -> bool {
        !self.rx.is_empty()
    }

    fn iir(&mut self) -> u8 {
        let fifo = if self.fcr & 1 != 0 { IIR_FIFO_ENABLED } else { 0 };
        let id = if self.ier & IER_RX_AVAILABLE != 0 && !self.rx.is_empty() {
            IIR_RX_AVAILABLE
        } else if self.ier & IER_THR_EMPTY != 0 && self.thr_empty_pending {
            // Reading IIR acknowledges the THR-empty interrupt.
            self.thr_empty_pending = false;
            IIR_THR_EMPTY
        } else {
            IIR_NO_INTERRUPT
        };
        id | fifo
    }

    fn read_byte(&mut self, reg: u64) -> u8 {
        let dlab = self.lcr & LCR_DLAB != 0;
        match reg {
            RBR_THR_DLL if dlab => self.dll,
            RBR_THR_DLL => {
                self.fill_on_demand();
                self.rx.pop_front().unwrap_or(0)
            }
            IER_DLM if dlab => self.dlm,
            IER_DLM => self.ier,
            IIR_FCR => self.iir(),
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => {
                self.fill_on_demand();
                let ready = if self.rx.is_empty() { 0 } else { LSR_DATA_READY };
                ready | LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY
            }
            MSR => MSR_CONNECTED,
            SCR => self.scr,
            _ => 0,
        }
    }

    fn write_byte(&mut self, reg: u64, value: u8) {
        let dlab = self.lcr & LCR_DLAB != 0;
        match reg {
            RBR_THR_DLL if dlab => self.dll = value,
            RBR_THR_DLL => {
                self.transmit(&[value]);
                // The byte leaves at once, so THR is empty again.
                self.thr_empty_pending = true;
            }
            IER_DLM if dlab => self.dlm = value,
            IER_DLM => {
                let enabling_thre = value & IER_THR_EMPTY != 0 && self.ier & IER_THR_EMPTY == 0;
                self.ier = value & 0x0f;
                if enabling_thre {
                    self.thr_empty_pending = true;
                }
            }
            IIR_FCR => {
                self.fcr = value;
                if value & 2 != 0 {
                    self.rx.clear();
                }
            }
            LCR => self.lcr = value,
            MCR => self.mcr = value,
            SCR => self.scr = value,
            _ => {}
        }
    }

    /// Accesses of 1 to 8 bytes touch consecutive byte registers, as QEMU's
    /// serial_mm does.
    pub fn read(&mut self, offset: u64, size: u64) -> Option<u64> {
        let mut value = 0;
        for i in 0..size {
            value |= (self.read_byte(offset + i) as u64) << (8 * i);
        }
        Some(value)
    }

    pub fn write(&mut self, offset: u64, size: u64, value: u64) -> Option<()> {
        for i in 0..size {
            self.write_byte(offset + i, (value >> (8 * i)) as u8);
        }
        Some(())
    }
}
