//! The annotation device: a paravirtual device by which the guest kernel
//! reports what it is doing (as gem5's m5ops do), stamped here with the
//! simulated cycle and the writing hart. Layout and events are in
//! docs/kernel-interface.md.
//!
//! Argument registers are kept per hart, so two harts whose writes
//! interleave (one's turn may end between its argument and event writes)
//! never mix their arguments.

/// Event numbers (docs/kernel-interface.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum EventKind {
    RequestPosted = 1,
    ServiceStart = 2,
    ServiceEnd = 3,
    ProcessAssigned = 4,
    HartIdle = 5,
    QueueLength = 6,
    ProcessExit = 7,
    Panic = 8,
}

impl EventKind {
    fn from_number(n: u64) -> Option<EventKind> {
        use EventKind::*;
        Some(match n {
            1 => RequestPosted,
            2 => ServiceStart,
            3 => ServiceEnd,
            4 => ProcessAssigned,
            5 => HartIdle,
            6 => QueueLength,
            7 => ProcessExit,
            8 => Panic,
            _ => return None,
        })
    }
}

/// Request kinds, as the kernel reports them in ARG3 of SERVICE_START.
pub const REQUEST_SYSCALL: u64 = 1;

/// One event as the kernel reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub cycle: u64,
    /// The hart that wrote the event.
    pub hart: usize,
    pub kind: EventKind,
    pub args: [u64; 4],
}

const EVENT: u64 = 0x00;
const ARGS: u64 = 0x08;
const NUM_ARGS: usize = 4;

#[derive(Clone, Debug, Default)]
pub struct Annotate {
    args: Vec<[u64; NUM_ARGS]>,
    /// Every event, in the order written, when recording is on.
    pub events: Vec<Event>,
    pub record: bool,
    /// System calls whose service started on each hart.
    pub syscalls_served: Vec<u64>,
    /// Set when the kernel reported a panic.
    pub panicked: bool,
}

impl Annotate {
    pub fn new(harts: usize) -> Annotate {
        Annotate {
            args: vec![[0; NUM_ARGS]; harts],
            syscalls_served: vec![0; harts],
            ..Annotate::default()
        }
    }

    /// 8-byte registers only; reads return zero.
    pub fn read(&self, offset: u64, size: u64) -> Option<u64> {
        (size == 8 && offset % 8 == 0).then_some(0)
    }

    pub fn write(
        &mut self,
        offset: u64,
        size: u64,
        value: u64,
        hart: usize,
        cycle: u64,
    ) -> Option<()> {
        if size != 8 || offset % 8 != 0 {
            return None;
        }
        let args = self.args.get_mut(hart)?;
        if offset == EVENT {
            let Some(kind) = EventKind::from_number(value) else {
                return Some(()); // unknown events are ignored
            };
            let args = *args;
            match kind {
                EventKind::ServiceStart if args[3] == REQUEST_SYSCALL => {
                    self.syscalls_served[hart] += 1
                }
                EventKind::Panic => self.panicked = true,
                _ => {}
            }
            if self.record {
                self.events.push(Event {
                    cycle,
                    hart,
                    kind,
                    args,
                });
            }
        } else if let Some(slot) = args.get_mut(((offset - ARGS) / 8) as usize) {
            *slot = value;
        }
        Some(())
    }
}
