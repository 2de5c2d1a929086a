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
    Resumed = 9,
    IoWait = 10,
    IoDone = 11,
    ThreadCreated = 12,
    Exec = 13,
    Signal = 14,
    Block = 15,
    Wake = 16,
    Shootdown = 17,
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
            9 => Resumed,
            10 => IoWait,
            11 => IoDone,
            12 => ThreadCreated,
            13 => Exec,
            14 => Signal,
            15 => Block,
            16 => Wake,
            17 => Shootdown,
            _ => return None,
        })
    }
}

/// Request kinds, as the kernel reports them (docs/kernel-interface.md).
pub const REQUEST_SYSCALL: u64 = 1;
pub const REQUEST_IDLE: u64 = 4;

use crate::accounting::{OsState, PendingTransitions, RequestRecord, RequestStats, Transition, NO_THREAD};

/// A process blocked on the disk: from its `IO_WAIT` to its `IO_DONE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoWaitRecord {
    pub pid: u64,
    /// The block it waits for, as the kernel reported it.
    pub block: u64,
    pub start: u64,
    /// `None` while the process is still blocked.
    pub end: Option<u64>,
}

impl IoWaitRecord {
    /// Its length, a wait still open counting up to `run_end`.
    pub fn cycles(&self, run_end: u64) -> u64 {
        self.end.unwrap_or(run_end).max(self.start) - self.start
    }
}

/// What the events say of one thread (tids are the kernel's; a
/// single-threaded process's tid is its pid).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadInfo {
    /// The process it belongs to.
    pub pid: u64,
    /// Its program's name (from EXEC, or its creator's).
    pub name: String,
    /// Cycles the master spent serving its requests, and its system calls.
    pub service: u64,
    pub syscalls: u64,
    /// Cycles it was blocked (futex, child, sleep, disk), and how often.
    pub blocked: u64,
    pub blocks: u64,
    blocked_since: Option<u64>,
    /// Signals it took.
    pub signals: u64,
}

impl ThreadInfo {
    /// Its blocked cycles, a wait still open counting up to `run_end`.
    pub fn blocked_until(&self, run_end: u64) -> u64 {
        self.blocked + self.blocked_since.map_or(0, |s| run_end.saturating_sub(s))
    }

    fn block(&mut self, cycle: u64) {
        if self.blocked_since.is_none() {
            self.blocked_since = Some(cycle);
            self.blocks += 1;
        }
    }

    fn wake(&mut self, cycle: u64) {
        if let Some(since) = self.blocked_since.take() {
            self.blocked += cycle.saturating_sub(since);
        }
    }
}

/// System calls of one number: how many, and the master's cycles on them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallCount {
    pub count: u64,
    pub service: u64,
}

/// A request posted and not yet answered.
#[derive(Clone, Copy, Debug)]
struct OpenRequest {
    record: RequestRecord,
    started: bool,
}

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
/// The console's second channel (docs/kernel-interface.md): a byte written
/// here goes to rvmsmp's standard error, the guest's fd 2.
pub const CONSOLE_ERR: u64 = 0x28;
/// Read-only console status, bits [`STATUS_OUT_CLOSED`] and so on.
pub const CONSOLE_STATUS: u64 = 0x30;
/// rvmsmp's standard output is closed (a write failed: EPIPE for the guest).
pub const STATUS_OUT_CLOSED: u64 = 1;
/// rvmsmp's standard error is closed.
pub const STATUS_ERR_CLOSED: u64 = 2;
/// The host's standard input is at its end and the guest has read it all.
pub const STATUS_INPUT_EOF: u64 = 4;

#[derive(Clone, Debug, Default)]
pub struct Annotate {
    args: Vec<[u64; NUM_ARGS]>,
    /// Every event, in the order written, when recording is on.
    pub events: Vec<Event>,
    pub record: bool,
    /// System calls whose service started on each hart.
    pub syscalls_served: Vec<u64>,
    /// Requests of every kind (idle excepted) posted by, and served on, each hart.
    pub requests_raised: Vec<u64>,
    pub requests_served: Vec<u64>,
    /// Set when the kernel reported a panic.
    pub panicked: bool,
    /// State changes the events imply, for the accounting (drained each round).
    pub transitions: PendingTransitions,
    /// Every answered request (all kinds but idle), in the order answered,
    /// when recording is on (for traces: it grows with the run).
    pub requests: Vec<RequestRecord>,
    /// What the statistics need of them, kept always, in bounded space.
    pub request_stats: RequestStats,
    open: Vec<Option<OpenRequest>>,
    /// Requests posted and not yet taken by the master, now and at most.
    pub queued: u64,
    pub max_queued: u64,
    /// The longest the ready queue has been.
    pub max_ready_queue: u64,
    /// Every wait for the disk, in the order they began.
    pub io_waits: Vec<IoWaitRecord>,
    /// The open wait of each blocked process (an index into `io_waits`).
    open_io: std::collections::HashMap<u64, usize>,
    /// Every pid the kernel named in PROCESS_ASSIGNED, PROCESS_EXIT or IO_WAIT.
    pub pids: std::collections::BTreeSet<u64>,
    /// Every thread the kernel named, by tid.
    pub threads: std::collections::BTreeMap<u64, ThreadInfo>,
    /// System calls answered, by number.
    pub syscalls_by_number: std::collections::BTreeMap<u64, SyscallCount>,
}

impl Annotate {
    pub fn new(harts: usize) -> Annotate {
        Annotate {
            args: vec![[0; NUM_ARGS]; harts],
            syscalls_served: vec![0; harts],
            open: vec![None; harts],
            requests_raised: vec![0; harts],
            requests_served: vec![0; harts],
            request_stats: RequestStats::new(harts),
            ..Annotate::default()
        }
    }

    /// 8-byte registers only; reads return zero.
    pub fn read(&self, offset: u64, size: u64) -> Option<u64> {
        (size == 8 && offset % 8 == 0).then_some(0)
    }

    pub fn write(&mut self, offset: u64, size: u64, value: u64, hart: usize, cycle: u64) -> Option<()> {
        if size != 8 || offset % 8 != 0 {
            return None;
        }
        let args = self.args.get_mut(hart)?;
        if offset == EVENT {
            let Some(kind) = EventKind::from_number(value) else {
                return Some(()); // unknown events are ignored
            };
            let args = *args;
            self.track(hart, cycle, kind, args);
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

    /// Follows requests from posting to answer, and the hart states the
    /// events imply (see crate::accounting).
    fn track(&mut self, hart: usize, cycle: u64, kind: EventKind, args: [u64; 4]) {
        let origin = args[0] as usize;
        match kind {
            EventKind::RequestPosted => {
                let state = if args[0] == REQUEST_IDLE {
                    OsState::Idle
                } else {
                    OsState::Waiting
                };
                self.transitions.push((hart, cycle, Transition::Os(state)));
                let record = RequestRecord {
                    hart: hart as u32,
                    kind: args[0] as u32,
                    pid: args[1],
                    number: args[2],
                    posted: cycle,
                    started: cycle,
                    finished: cycle,
                };
                if args[0] != REQUEST_IDLE {
                    if let Some(n) = self.requests_raised.get_mut(hart) {
                        *n += 1;
                    }
                }
                if let Some(slot) = self.open.get_mut(hart) {
                    *slot = Some(OpenRequest { record, started: false });
                    self.queued += 1;
                    self.max_queued = self.max_queued.max(self.queued);
                }
            }
            EventKind::ServiceStart => {
                if args[3] == REQUEST_SYSCALL {
                    if let Some(n) = self.syscalls_served.get_mut(hart) {
                        *n += 1;
                    }
                }
                if args[3] != REQUEST_IDLE {
                    if let Some(n) = self.requests_served.get_mut(hart) {
                        *n += 1;
                    }
                }
                if origin == hart {
                    // The master serving its own process: it is not waiting.
                    self.transitions.push((hart, cycle, Transition::Os(OsState::Kernel)));
                }
                if let Some(Some(open)) = self.open.get_mut(origin) {
                    if !open.started {
                        open.started = true;
                        open.record.started = cycle;
                        self.queued = self.queued.saturating_sub(1);
                    }
                }
            }
            EventKind::ServiceEnd => {
                if let Some(open) = self.open.get_mut(origin).and_then(Option::take) {
                    let service = cycle.saturating_sub(open.record.started);
                    if u64::from(open.record.kind) != REQUEST_IDLE {
                        let thread = self.threads.entry(open.record.pid).or_default();
                        thread.service += service;
                        if u64::from(open.record.kind) == REQUEST_SYSCALL {
                            thread.syscalls += 1;
                            let n = self.syscalls_by_number.entry(open.record.number).or_default();
                            n.count += 1;
                            n.service += service;
                        }
                    }
                    if u64::from(open.record.kind) != REQUEST_IDLE {
                        let record = RequestRecord {
                            finished: cycle,
                            ..open.record
                        };
                        self.request_stats.add(&record);
                        if self.record {
                            self.requests.push(record);
                        }
                    }
                }
            }
            EventKind::HartIdle if origin != hart => {
                self.transitions.push((origin, cycle, Transition::Os(OsState::Idle)));
                self.transitions.push((origin, cycle, Transition::Thread(NO_THREAD)));
            }
            EventKind::Resumed => self.transitions.push((hart, cycle, Transition::Os(OsState::Kernel))),
            EventKind::QueueLength => self.max_ready_queue = self.max_ready_queue.max(args[0]),
            EventKind::ProcessAssigned => {
                self.pids.insert(args[1]);
                self.threads.entry(args[1]).or_default();
                self.transitions.push((origin, cycle, Transition::Thread(args[1])));
            }
            EventKind::ProcessExit => {
                self.pids.insert(args[0]);
                self.threads.entry(args[0]).or_default().wake(cycle);
            }
            EventKind::ThreadCreated => {
                let name = self.threads.get(&args[2]).map(|t| t.name.clone()).unwrap_or_default();
                let t = self.threads.entry(args[0]).or_default();
                t.pid = args[1];
                t.name = name;
            }
            EventKind::Exec => {
                let bytes: Vec<u8> = [args[2], args[3]].iter().flat_map(|w| w.to_le_bytes()).collect();
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                let t = self.threads.entry(args[0]).or_default();
                t.pid = args[1];
                t.name = String::from_utf8_lossy(&bytes[..end]).into_owned();
            }
            EventKind::Signal => self.threads.entry(args[0]).or_default().signals += 1,
            EventKind::Block => self.threads.entry(args[0]).or_default().block(cycle),
            EventKind::Wake => self.threads.entry(args[0]).or_default().wake(cycle),
            EventKind::IoWait => {
                // A second IO_WAIT before IO_DONE continues the same wait.
                let pid = args[0];
                self.pids.insert(pid);
                self.threads.entry(pid).or_default().block(cycle);
                if !self.open_io.contains_key(&pid) {
                    self.open_io.insert(pid, self.io_waits.len());
                    self.io_waits.push(IoWaitRecord {
                        pid,
                        block: args[1],
                        start: cycle,
                        end: None,
                    });
                }
            }
            EventKind::IoDone => {
                self.threads.entry(args[0]).or_default().wake(cycle);
                if let Some(i) = self.open_io.remove(&args[0]) {
                    self.io_waits[i].end = Some(cycle);
                }
            }
            EventKind::Panic => self.panicked = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(a: &mut Annotate, cycle: u64, kind: u64, args: [u64; 2]) {
        a.write(ARGS, 8, args[0], 0, cycle).unwrap();
        a.write(ARGS + 8, 8, args[1], 0, cycle).unwrap();
        a.write(EVENT, 8, kind, 0, cycle).unwrap();
    }

    #[test]
    fn io_waits_run_from_io_wait_to_io_done() {
        let mut a = Annotate::new(1);
        event(&mut a, 10, EventKind::ProcessAssigned as u64, [0, 1]);
        event(&mut a, 100, EventKind::IoWait as u64, [1, 42]);
        event(&mut a, 150, EventKind::IoWait as u64, [1, 43]); // still the same wait
        event(&mut a, 120, EventKind::IoWait as u64, [2, 7]);
        event(&mut a, 400, EventKind::IoDone as u64, [1, 0]);
        event(&mut a, 500, EventKind::IoDone as u64, [9, 0]); // no wait open: ignored
        assert_eq!(
            a.io_waits,
            [
                IoWaitRecord {
                    pid: 1,
                    block: 42,
                    start: 100,
                    end: Some(400)
                },
                IoWaitRecord {
                    pid: 2,
                    block: 7,
                    start: 120,
                    end: None
                },
            ]
        );
        assert_eq!(a.io_waits[1].cycles(1000), 880);
        assert_eq!(a.pids.iter().copied().collect::<Vec<_>>(), [1, 2]);
    }
}
