//! Timelines of a run in the Chrome trace-event format, for ui.perfetto.dev
//! and chrome://tracing (docs/trace.md).
//!
//! The file is the "JSON Object Format": `{"displayTimeUnit": "ns",
//! "traceEvents": [...], "otherData": {...}}`. One process (pid 1, "rvmsmp")
//! holds one thread track per hart, with a complete event (`"ph": "X"`) for
//! every interval of the hart's state timeline (user, kernel, waiting,
//! idle), and one more track, "master: requests", with a slice for every
//! request the master served. A flow arrow leads from each request's
//! posting, a tiny "post" slice on the requesting hart's track, to the start
//! of its service.
//!
//! Time: the core clock is 1 GHz, so a cycle is a nanosecond; `ts` and `dur`
//! are in microseconds, written as cycles / 1000 with three decimals (exact).
//!
//! The file is streamed, in time order over all tracks, so that a trace cut
//! short by the event cap covers every hart up to the same cycle. The same
//! run always gives the same bytes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::accounting::{HartState, RequestRecord};
use crate::cpu::Exception;
use crate::error::EmuError;
use crate::machine::Machine;
use crate::syscall_names::SYSCALL_NAMES;

/// At most this many trace events (slices and flow events, metadata aside)
/// go into a file; past it the trace stops and says so.
pub const MAX_EVENTS: u64 = 2_000_000;

/// The process every track belongs to.
pub const PID: u64 = 1;

/// Hart `h` is thread `HART_TID_BASE + h`. (Perfetto's JSON importer takes
/// a tid of 0 to mean "the process's main thread", tid = pid, which would
/// put hart 0 on hart 1's track; hence the offset.)
pub const HART_TID_BASE: u64 = 1000;

/// The thread that holds the master's service slices.
pub const REQUESTS_TID: u64 = 100_000;

/// Process `pid`'s waits for the disk are on thread `IO_TID_BASE + pid`.
pub const IO_TID_BASE: u64 = 200_000;

/// The thread id of a hart's track.
pub fn hart_tid(hart: usize) -> u64 {
    HART_TID_BASE + hart as u64
}

/// A window of simulated time, in cycles: `START..END`, either end open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub start: Option<u64>,
    pub end: Option<u64>,
}

impl Window {
    pub fn parse(text: &str) -> Result<Window, EmuError> {
        let bad = || {
            EmuError::Config(format!(
                "--trace-window {text}: expected START..END in cycles, e.g. 1000..50000"
            ))
        };
        let (start, end) = text.split_once("..").ok_or_else(bad)?;
        let number = |s: &str| {
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse().map(Some).map_err(|_| bad())
            }
        };
        let window = Window {
            start: number(start)?,
            end: number(end)?,
        };
        if let (Some(start), Some(end)) = (window.start, window.end) {
            if start >= end {
                return Err(EmuError::Config(format!(
                    "--trace-window {text}: the window is empty (START must be below END)"
                )));
            }
        }
        Ok(window)
    }

    /// The window as a half-open range of cycles `[start, end)`.
    pub fn bounds(&self) -> (u64, u64) {
        (self.start.unwrap_or(0), self.end.unwrap_or(u64::MAX))
    }

    /// `[start, end)` clipped to the window, if anything of it is left.
    fn clip(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        let (lo, hi) = self.bounds();
        let (start, end) = (start.max(lo), end.min(hi));
        (start < end).then_some((start, end))
    }
}

/// What [`write_json`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Trace events written, metadata aside.
    pub events: u64,
    /// Whether the event cap stopped the trace early.
    pub truncated: bool,
    /// When truncated: the trace is complete up to this cycle only.
    pub complete_until: u64,
}

/// Writes the trace of a finished run to `path`. The run must have been
/// made with `Machine::record_timelines()` called before it.
pub fn write(machine: &Machine, path: &Path, window: Window) -> Result<(), EmuError> {
    let fail = |e: io::Error| EmuError::bad_input(path, format!("cannot write the trace: {e}"));
    let file = std::fs::File::create(path).map_err(fail)?;
    let mut out = BufWriter::new(file);
    let written = write_json(machine, &mut out, window, MAX_EVENTS).map_err(fail)?;
    out.flush().map_err(fail)?;
    if written.truncated {
        eprintln!(
            "rvmsmp: warning: the trace stops at cycle {} after {} events (the limit); narrow it with \
             --trace-window START..END in cycles, e.g. --trace-window {}..",
            written.complete_until, written.events, written.complete_until
        );
    }
    Ok(())
}

/// Writes the trace to `out`, at most `max_events` trace events of it.
pub fn write_json<W: Write>(machine: &Machine, out: W, window: Window, max_events: u64) -> io::Result<Written> {
    if let Some(h) = machine.accounting.harts.iter().position(|a| a.timeline.is_none()) {
        return Err(io::Error::other(format!(
            "hart {h} kept no timeline (call Machine::record_timelines before the run)"
        )));
    }
    Writer::new(machine, out, window).write(max_events)
}

/// One item of a track, in time order. A request is one item, written at
/// the start of its service: the service slice and, when the arrow is
/// drawn, the post slice and both flow events, so a cut trace never holds
/// half an arrow.
#[derive(Clone, Copy, Debug)]
enum Item {
    State {
        hart: usize,
        start: u64,
        end: u64,
        state: HartState,
    },
    Request {
        index: usize,
        start: u64,
        end: u64,
        flow: bool,
    },
    /// A process blocked on the disk (`IO_WAIT` to `IO_DONE`).
    IoWait { index: usize, start: u64, end: u64 },
}

impl Item {
    fn ts(&self) -> u64 {
        match *self {
            Item::State { start, .. } | Item::Request { start, .. } | Item::IoWait { start, .. } => start,
        }
    }

    fn events(&self) -> u64 {
        match *self {
            Item::State { .. } | Item::IoWait { .. } => 1,
            Item::Request { flow, .. } => {
                if flow {
                    4
                } else {
                    1
                }
            }
        }
    }
}

/// The state intervals of one hart within the window, in time order.
struct StateTrack<'a> {
    hart: usize,
    timeline: &'a [(u64, HartState)],
    next: usize,
    end_cycle: u64,
    window: Window,
}

impl<'a> StateTrack<'a> {
    fn new(hart: usize, timeline: &'a [(u64, HartState)], end_cycle: u64, window: Window) -> StateTrack<'a> {
        // Start at the last change at or before the window's start.
        let (lo, _) = window.bounds();
        let next = timeline.partition_point(|&(cycle, _)| cycle <= lo).saturating_sub(1);
        StateTrack {
            hart,
            timeline,
            next,
            end_cycle,
            window,
        }
    }
}

impl Iterator for StateTrack<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        let (_, hi) = self.window.bounds();
        while let Some(&(start, state)) = self.timeline.get(self.next) {
            self.next += 1;
            if start >= hi || start >= self.end_cycle {
                self.next = self.timeline.len();
                return None;
            }
            let end = self
                .timeline
                .get(self.next)
                .map_or(self.end_cycle, |&(c, _)| c)
                .min(self.end_cycle);
            if let Some((start, end)) = self.window.clip(start, end) {
                return Some(Item::State {
                    hart: self.hart,
                    start,
                    end,
                    state,
                });
            }
        }
        None
    }
}

/// The requests whose service overlaps the window, in order of service.
struct RequestTrack<'a> {
    requests: &'a [RequestRecord],
    order: std::vec::IntoIter<usize>,
    window: Window,
    /// Each hart's final cycle: a posting after it has no slice to bind to.
    hart_cycles: Vec<u64>,
}

impl Iterator for RequestTrack<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        let index = self.order.next()?;
        let r = &self.requests[index];
        let (lo, hi) = self.window.bounds();
        let start = r.started.max(lo);
        let end = r.finished.max(r.started).min(hi);
        let posted_inside =
            r.posted >= lo && r.posted < hi && self.hart_cycles.get(r.hart as usize).is_some_and(|&c| r.posted < c);
        Some(Item::Request {
            index,
            start,
            end,
            flow: posted_inside && r.posted <= r.started,
        })
    }
}

/// The waits for the disk within the window, in order of their start.
struct IoTrack {
    items: std::vec::IntoIter<Item>,
}

enum Track<'a> {
    State(StateTrack<'a>),
    Requests(RequestTrack<'a>),
    Io(IoTrack),
}

impl Track<'_> {
    fn next(&mut self) -> Option<Item> {
        match self {
            Track::State(t) => t.next(),
            Track::Requests(t) => t.next(),
            Track::Io(t) => t.items.next(),
        }
    }
}

/// Microseconds from cycles: `cycles / 1000` with three decimals.
struct Us(u64);

impl fmt::Display for Us {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// The name of a request's service slice.
pub fn request_name(r: &RequestRecord) -> String {
    let from = format!("from hart {}", r.hart);
    match r.kind {
        1 => match SYSCALL_NAMES.iter().find(|&&(n, _)| n == r.number) {
            Some((_, name)) => format!("syscall {} ({name}) {from}", r.number),
            None => format!("syscall {} {from}", r.number),
        },
        2 => format!("preemption {from}"),
        3 => match exception_name(r.number) {
            Some(name) => format!("fault ({name}) {from}"),
            None => format!("fault (cause {}) {from}", r.number),
        },
        kind => format!("request of kind {kind} {from}"),
    }
}

fn exception_name(cause: u64) -> Option<&'static str> {
    use Exception::*;
    [
        InstructionAddressMisaligned,
        InstructionAccessFault,
        IllegalInstruction,
        Breakpoint,
        LoadAddressMisaligned,
        LoadAccessFault,
        StoreAddressMisaligned,
        StoreAccessFault,
        EcallFromU,
        EcallFromS,
        EcallFromM,
        InstructionPageFault,
        LoadPageFault,
        StorePageFault,
    ]
    .into_iter()
    .find(|&e| e as u64 == cause)
    .map(Exception::name)
}

struct Writer<'a, W: Write> {
    machine: &'a Machine,
    out: W,
    window: Window,
    /// Whether an event has been written (for the separators).
    any: bool,
}

impl<'a, W: Write> Writer<'a, W> {
    fn new(machine: &'a Machine, out: W, window: Window) -> Writer<'a, W> {
        Writer {
            machine,
            out,
            window,
            any: false,
        }
    }

    /// Starts the next event of the array.
    fn sep(&mut self) -> io::Result<()> {
        if self.any {
            self.out.write_all(b",\n")?;
        } else {
            self.any = true;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn metadata(&mut self, tid: u64, name: &str, sort_index: usize) -> io::Result<()> {
        self.sep()?;
        write!(
            self.out,
            r#"{{"name":"thread_name","ph":"M","pid":{PID},"tid":{tid},"args":{{"name":"{name}"}}}}"#
        )?;
        self.sep()?;
        write!(
            self.out,
            r#"{{"name":"thread_sort_index","ph":"M","pid":{PID},"tid":{tid},"args":{{"sort_index":{sort_index}}}}}"#
        )
    }

    fn item(&mut self, item: Item) -> io::Result<()> {
        match item {
            Item::State {
                hart,
                start,
                end,
                state,
            } => {
                self.sep()?;
                write!(
                    self.out,
                    r#"{{"name":"{}","cat":"state","ph":"X","pid":{PID},"tid":{},"ts":{},"dur":{}}}"#,
                    state.name(),
                    hart_tid(hart),
                    Us(start),
                    Us(end - start)
                )
            }
            Item::Request {
                index,
                start,
                end,
                flow,
            } => {
                let r = &self.machine.bus.annotate.requests[index];
                self.sep()?;
                write!(
                    self.out,
                    r#"{{"name":"{}","cat":"service","ph":"X","pid":{PID},"tid":{REQUESTS_TID},"ts":{},"dur":{},"args":{{"request":{index},"pid":{},"hart":{},"kind":{},"number":{},"waiting_cycles":{},"service_cycles":{}}}}}"#,
                    request_name(r),
                    Us(start),
                    Us(end - start),
                    r.pid,
                    r.hart,
                    r.kind,
                    r.number,
                    r.waiting(),
                    r.service()
                )?;
                if flow {
                    // The arrow leaves the 1-cycle post slice (nested in the
                    // hart's state slice) and ends inside the service slice.
                    let tid = hart_tid(r.hart as usize);
                    self.sep()?;
                    write!(
                        self.out,
                        r#"{{"name":"post","cat":"request","ph":"X","pid":{PID},"tid":{tid},"ts":{},"dur":0.001,"args":{{"request":{index}}}}}"#,
                        Us(r.posted)
                    )?;
                    self.sep()?;
                    write!(
                        self.out,
                        r#"{{"name":"request","cat":"request","ph":"s","id":{index},"pid":{PID},"tid":{tid},"ts":{}}}"#,
                        Us(r.posted)
                    )?;
                    self.sep()?;
                    write!(
                        self.out,
                        r#"{{"name":"request","cat":"request","ph":"f","bp":"e","id":{index},"pid":{PID},"tid":{REQUESTS_TID},"ts":{}}}"#,
                        Us(r.started)
                    )?;
                }
                Ok(())
            }
            Item::IoWait { index, start, end } => {
                let w = &self.machine.bus.annotate.io_waits[index];
                self.sep()?;
                write!(
                    self.out,
                    r#"{{"name":"blocked on I/O","cat":"io","ph":"X","pid":{PID},"tid":{},"ts":{},"dur":{},"args":{{"pid":{},"block":{}}}}}"#,
                    IO_TID_BASE + w.pid,
                    Us(start),
                    Us(end - start),
                    w.pid,
                    w.block
                )
            }
        }
    }

    fn write(mut self, max_events: u64) -> io::Result<Written> {
        let machine = self.machine;
        let harts = machine.harts.len();
        let requests = &machine.bus.annotate.requests;
        self.out.write_all(br#"{"displayTimeUnit":"ns","traceEvents":["#)?;
        self.sep()?;
        write!(
            self.out,
            r#"{{"name":"process_name","ph":"M","pid":{PID},"args":{{"name":"rvmsmp"}}}}"#
        )?;
        // Sort order: hart 0, the master's requests, then the slaves.
        for hart in 0..harts {
            let name = if hart == 0 {
                "hart 0 (master)".to_string()
            } else {
                format!("hart {hart}")
            };
            self.metadata(hart_tid(hart), &name, if hart == 0 { 0 } else { hart + 1 })?;
        }
        if !requests.is_empty() {
            self.metadata(REQUESTS_TID, "master: requests", 1)?;
        }
        // A track per process that waited for the disk, after the harts.
        let run_end = machine.harts.iter().map(|h| h.cycle).max().unwrap_or(0);
        let waits = &machine.bus.annotate.io_waits;
        let mut io_items: Vec<Item> = waits
            .iter()
            .enumerate()
            .filter_map(|(index, w)| {
                let (start, end) = self.window.clip(w.start, w.end.unwrap_or(run_end))?;
                Some(Item::IoWait { index, start, end })
            })
            .collect();
        io_items.sort_by_key(|item| item.ts());
        let io_pids: std::collections::BTreeSet<u64> = io_items
            .iter()
            .filter_map(|item| match *item {
                Item::IoWait { index, .. } => Some(waits[index].pid),
                _ => None,
            })
            .collect();
        for (i, pid) in io_pids.into_iter().enumerate() {
            self.metadata(IO_TID_BASE + pid, &format!("pid {pid}: blocked on I/O"), harts + 1 + i)?;
        }

        // The tracks: one per hart, then the requests; merged in time order
        // (ties: harts in order, then requests).
        let mut tracks: Vec<Track> = machine
            .harts
            .iter()
            .zip(&machine.accounting.harts)
            .enumerate()
            .map(|(hart, (h, account))| {
                let timeline = account.timeline.as_deref().unwrap_or(&[]);
                Track::State(StateTrack::new(hart, timeline, h.cycle, self.window))
            })
            .collect();
        let (lo, hi) = self.window.bounds();
        let mut order: Vec<usize> = (0..requests.len())
            .filter(|&i| {
                let r = &requests[i];
                // A zero-length service counts as the one cycle it starts in.
                r.started < hi && r.finished.max(r.started + 1) > lo
            })
            .collect();
        order.sort_by_key(|&i| (requests[i].started, i));
        tracks.push(Track::Requests(RequestTrack {
            requests,
            order: order.into_iter(),
            window: self.window,
            hart_cycles: machine.harts.iter().map(|h| h.cycle).collect(),
        }));
        tracks.push(Track::Io(IoTrack {
            items: io_items.into_iter(),
        }));

        let mut heads: Vec<Option<Item>> = tracks.iter_mut().map(Track::next).collect();
        let mut queue: BinaryHeap<Reverse<(u64, usize)>> = heads
            .iter()
            .enumerate()
            .filter_map(|(t, item)| item.map(|item| Reverse((item.ts(), t))))
            .collect();
        let mut events = 0;
        let mut truncated = false;
        let mut complete_until = machine.harts.iter().map(|h| h.cycle).max().unwrap_or(0).min(hi);
        while let Some(Reverse((ts, t))) = queue.pop() {
            let item = heads[t].take().expect("a queued track has an item");
            if events + item.events() > max_events {
                truncated = true;
                complete_until = ts;
                break;
            }
            events += item.events();
            self.item(item)?;
            heads[t] = tracks[t].next();
            if let Some(next) = heads[t] {
                queue.push(Reverse((next.ts(), t)));
            }
        }

        let total = machine.harts.iter().map(|h| h.cycle).max().unwrap_or(0);
        let end = match self.window.end {
            Some(end) => end.to_string(),
            None => "null".into(),
        };
        write!(
            self.out,
            "\n],\n\"otherData\":{{\"rvmsmp_version\":\"{}\",\"clock\":\"1 GHz: 1 cycle = 1 ns\",\"harts\":{harts},\
             \"cycles\":{total},\"window\":{{\"start\":{lo},\"end\":{end}}},\"events\":{events},\
             \"truncated\":{truncated}",
            env!("CARGO_PKG_VERSION")
        )?;
        if truncated {
            write!(self.out, ",\"complete_until_cycle\":{complete_until}")?;
        }
        self.out.write_all(b"}}\n")?;
        self.out.flush()?;
        Ok(Written {
            events,
            truncated,
            complete_until,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_clip() {
        let w = Window::parse("1000..5000").unwrap();
        assert_eq!(w.bounds(), (1000, 5000));
        assert_eq!(w.clip(0, 2000), Some((1000, 2000)));
        assert_eq!(w.clip(4000, 9000), Some((4000, 5000)));
        assert_eq!(w.clip(5000, 9000), None);
        assert_eq!(Window::parse("..").unwrap(), Window::default());
        assert_eq!(Window::parse("7..").unwrap().bounds(), (7, u64::MAX));
        assert!(Window::parse("5..5").is_err());
        assert!(Window::parse("5").is_err());
        assert!(Window::parse("a..b").is_err());
    }

    #[test]
    fn microseconds_are_exact() {
        assert_eq!(Us(0).to_string(), "0.000");
        assert_eq!(Us(1).to_string(), "0.001");
        assert_eq!(Us(1_234_567).to_string(), "1234.567");
    }

    #[test]
    fn requests_are_named() {
        let r = RequestRecord {
            hart: 3,
            kind: 1,
            pid: 4,
            number: 173,
            posted: 0,
            started: 0,
            finished: 0,
        };
        assert_eq!(request_name(&r), "syscall 173 (getppid) from hart 3");
        assert_eq!(
            request_name(&RequestRecord { number: 9999, ..r }),
            "syscall 9999 from hart 3"
        );
        assert_eq!(request_name(&RequestRecord { kind: 2, ..r }), "preemption from hart 3");
        assert_eq!(
            request_name(&RequestRecord {
                kind: 3,
                number: 15,
                ..r
            }),
            "fault (store/AMO page fault) from hart 3"
        );
    }
}
