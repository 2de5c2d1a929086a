//! The statistics report of a run: per hart, where its cycles went and the
//! requests it raised and served; for the machine, how busy the master was
//! and how long requests waited. Printed as a table (`--stats`) or written
//! as JSON (`--stats-json`), whose schema is documented in
//! docs/stats-json.md and docs/stats.schema.json.

use serde::Serialize;

use crate::machine::Machine;
use crate::syscall_names::SYSCALL_NAMES;

/// The schema name and version written in every JSON report.
pub const SCHEMA: &str = "rvmsmp-stats";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub schema: &'static str,
    pub version: u32,
    pub harts: usize,
    /// Simulated time of the whole run, in cycles (1 GHz core clock).
    pub cycles: u64,
    pub per_hart: Vec<HartReport>,
    pub summary: Summary,
    /// Each thread the kernel ran, by tid (docs/stats-json.md).
    pub per_thread: Vec<ThreadReport>,
    /// System calls answered, by number.
    pub syscalls_by_number: Vec<SyscallReport>,
    /// The disk, when the run had one (`--disk`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskReport>,
}

/// What the disk did (docs/disk.md).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DiskReport {
    /// Capacity in 512-byte sectors.
    pub sectors: u64,
    /// Whether the guest's writes were kept in memory (`--snapshot`).
    pub snapshot: bool,
    /// Cycles per request (`--disk-latency`).
    pub latency: u64,
    pub reads: u64,
    pub writes: u64,
    pub flushes: u64,
    /// Other requests (GET_ID, unsupported types).
    pub other: u64,
    pub sectors_read: u64,
    pub sectors_written: u64,
    /// Requests completed with an error status.
    pub errors: u64,
    /// Cycles the device spent serving requests.
    pub busy_cycles: u64,
    /// Requests taken and not completed when the run ended.
    pub in_flight: u64,
}

/// Time processes spent blocked on the disk, from the kernel's `IO_WAIT`
/// and `IO_DONE` events (docs/kernel-interface.md).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct IoBlocked {
    /// Waits for the disk.
    pub waits: u64,
    /// Cycles blocked, summed over every wait (one still open at the end
    /// counts up to the end of the run).
    pub total_cycles: u64,
    /// Processes of the run (every pid the kernel named), and the mean of
    /// their blocked cycles.
    pub processes: u64,
    pub mean_per_process: f64,
    /// The length of each wait.
    pub wait: Distribution,
    /// Each process's waits and blocked cycles, by pid.
    pub per_process: Vec<ProcessIo>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProcessIo {
    pub pid: u64,
    pub waits: u64,
    pub cycles: u64,
}

/// Where one thread's time went. `user`, `kernel` and `waiting` are the
/// cycles of the harts it was on (on hart 0 only its user cycles);
/// `blocked` is the time it could not run (a futex, a child, a sleep, the
/// disk); `served` the master's cycles on its requests.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ThreadReport {
    pub tid: u64,
    pub pid: u64,
    pub name: String,
    pub user: u64,
    pub kernel: u64,
    pub waiting: u64,
    pub blocked: u64,
    pub served: u64,
    pub syscalls: u64,
    pub blocks: u64,
    pub signals: u64,
}

/// The system calls of one number.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SyscallReport {
    pub number: u64,
    /// Linux's name, or "unknown" for one the kernel does not serve.
    pub name: &'static str,
    pub count: u64,
    /// The master's cycles on them, in all and per call.
    pub service_cycles: u64,
    pub mean_service: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HartReport {
    pub hart: usize,
    pub instructions: u64,
    pub user_instructions: u64,
    pub cycles: u64,
    /// Cycles in each state; they add up to `cycles`.
    pub user: u64,
    pub kernel: u64,
    pub waiting: u64,
    pub idle: u64,
    /// Requests to the master (system calls, preemptions, faults) this hart posted.
    pub requests_raised: u64,
    /// Requests this hart served.
    pub requests_served: u64,
    /// System calls (ecalls from user mode) this hart raised.
    pub syscalls_raised: u64,
    pub syscalls_served: u64,
}

/// Mean, median, 99th percentile and maximum of a set of cycle counts.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Distribution {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl Distribution {
    pub fn of(mut values: Vec<u64>) -> Distribution {
        if values.is_empty() {
            return Distribution::default();
        }
        values.sort_unstable();
        let n = values.len();
        // Nearest-rank percentiles.
        let rank = |p: f64| values[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        Distribution {
            count: n as u64,
            mean: values.iter().sum::<u64>() as f64 / n as f64,
            p50: rank(0.50),
            p99: rank(0.99),
            max: values[n - 1],
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// Share of hart 0's cycles spent in the kernel (serving, scheduling, interrupts).
    pub master_utilisation: f64,
    /// Requests answered (all kinds but idle) and system calls among them.
    pub requests: u64,
    pub syscalls: u64,
    /// System calls whose number the kernel does not serve (answered -ENOSYS).
    pub unknown_syscalls: u64,
    pub requests_per_million_cycles: f64,
    /// Cycles from posting a system call to the master taking it.
    pub syscall_waiting: Distribution,
    /// Cycles the master spent serving a system call.
    pub syscall_service: Distribution,
    /// The most requests posted and not yet taken by the master at once.
    pub longest_request_queue: u64,
    /// The longest the ready queue has been.
    pub longest_ready_queue: u64,
    /// Useful work: user-mode instructions on all harts.
    pub user_instructions: u64,
    pub user_instructions_per_million_cycles: f64,
    /// Time blocked on I/O (all zero without a disk).
    pub io_blocked: IoBlocked,
}

fn per_million(count: u64, cycles: u64) -> f64 {
    if cycles == 0 {
        0.0
    } else {
        count as f64 * 1e6 / cycles as f64
    }
}

impl Report {
    pub fn of(machine: &Machine) -> Report {
        let a = &machine.bus.annotate;
        let states = machine.cycles_by_state();
        let cycles = machine.harts.iter().map(|h| h.cycle).max().unwrap_or(0);
        let per_hart: Vec<HartReport> = machine
            .harts
            .iter()
            .map(|h| {
                let [user, kernel, waiting, idle] = states[h.id];
                HartReport {
                    hart: h.id,
                    instructions: h.instret,
                    user_instructions: h.user_instructions(),
                    cycles: h.cycle,
                    user,
                    kernel,
                    waiting,
                    idle,
                    requests_raised: a.requests_raised[h.id],
                    requests_served: a.requests_served[h.id],
                    syscalls_raised: h.stats.ecalls_from_user,
                    syscalls_served: a.syscalls_served[h.id],
                }
            })
            .collect();
        let stats = &a.request_stats;
        let user_instructions = per_hart.iter().map(|h| h.user_instructions).sum();
        let master = &per_hart[0];
        let summary = Summary {
            master_utilisation: if master.cycles == 0 {
                0.0
            } else {
                master.kernel as f64 / master.cycles as f64
            },
            requests: stats.requests,
            syscalls: stats.syscalls,
            unknown_syscalls: stats.unknown_syscalls,
            requests_per_million_cycles: per_million(stats.requests, cycles),
            syscall_waiting: stats.syscall_waiting.distribution(),
            syscall_service: stats.syscall_service.distribution(),
            longest_request_queue: a.max_queued,
            longest_ready_queue: a.max_ready_queue,
            user_instructions,
            user_instructions_per_million_cycles: per_million(user_instructions, cycles),
            io_blocked: io_blocked(a, cycles),
        };
        let disk = machine.bus.virtio_blk.as_ref().map(|d| DiskReport {
            sectors: d.capacity(),
            snapshot: d.disk().is_snapshot(),
            latency: d.latency(),
            reads: d.stats.reads,
            writes: d.stats.writes,
            flushes: d.stats.flushes,
            other: d.stats.other,
            sectors_read: d.stats.sectors_read,
            sectors_written: d.stats.sectors_written,
            errors: d.stats.errors,
            busy_cycles: d.stats.busy_cycles,
            in_flight: d.in_flight() as u64,
        });
        let thread_cycles = machine.thread_cycles();
        let per_thread = a
            .threads
            .iter()
            .map(|(&tid, t)| {
                let [user, kernel, waiting, _] = thread_cycles.get(&tid).copied().unwrap_or_default();
                ThreadReport {
                    tid,
                    pid: if t.pid == 0 { tid } else { t.pid },
                    name: t.name.clone(),
                    user,
                    kernel,
                    waiting,
                    blocked: t.blocked_until(cycles),
                    served: t.service,
                    syscalls: t.syscalls,
                    blocks: t.blocks,
                    signals: t.signals,
                }
            })
            .collect();
        let syscalls_by_number = a
            .syscalls_by_number
            .iter()
            .map(|(&number, c)| SyscallReport {
                number,
                name: SYSCALL_NAMES
                    .iter()
                    .find(|&&(n, _)| n == number)
                    .map_or("unknown", |&(_, name)| name),
                count: c.count,
                service_cycles: c.service,
                mean_service: if c.count == 0 {
                    0.0
                } else {
                    c.service as f64 / c.count as f64
                },
            })
            .collect();
        Report {
            schema: SCHEMA,
            version: SCHEMA_VERSION,
            harts: machine.harts.len(),
            cycles,
            per_hart,
            per_thread,
            syscalls_by_number,
            summary,
            disk,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// The human-readable form: a table per hart, then the summary.
    pub fn to_table(&self) -> String {
        let pct = |part: u64, whole: u64| {
            if whole == 0 {
                0.0
            } else {
                100.0 * part as f64 / whole as f64
            }
        };
        let mut out = format!(
            "{:>4} {:>14} {:>14} {:>7} {:>7} {:>8} {:>7} {:>9} {:>9}\n",
            "hart", "instructions", "cycles", "user%", "kernel%", "waiting%", "idle%", "raised", "served"
        );
        for h in &self.per_hart {
            out += &format!(
                "{:>4} {:>14} {:>14} {:>7.2} {:>7.2} {:>8.2} {:>7.2} {:>9} {:>9}\n",
                h.hart,
                h.instructions,
                h.cycles,
                pct(h.user, h.cycles),
                pct(h.kernel, h.cycles),
                pct(h.waiting, h.cycles),
                pct(h.idle, h.cycles),
                h.requests_raised,
                h.requests_served
            );
        }
        let s = &self.summary;
        let dist = |d: &Distribution| format!("mean {:.1}, p50 {}, p99 {}, max {}", d.mean, d.p50, d.p99, d.max);
        out += &format!("run: {} cycles on {} harts\n", self.cycles, self.harts);
        out += &format!("master utilisation: {:.2}%\n", 100.0 * s.master_utilisation);
        out += &format!(
            "requests: {} ({} system calls, {} of them unknown), {:.2} per million cycles\n",
            s.requests, s.syscalls, s.unknown_syscalls, s.requests_per_million_cycles
        );
        out += &format!("system call waiting time (cycles): {}\n", dist(&s.syscall_waiting));
        out += &format!("system call service time (cycles): {}\n", dist(&s.syscall_service));
        out += &format!(
            "longest queue: {} requests for the master, {} ready processes\n",
            s.longest_request_queue, s.longest_ready_queue
        );
        out += &format!(
            "useful work: {} user instructions, {:.1} per million cycles\n",
            s.user_instructions, s.user_instructions_per_million_cycles
        );
        let io = &s.io_blocked;
        if io.waits > 0 || self.disk.is_some() {
            out += &format!(
                "time blocked on I/O: {} cycles in {} waits ({}), per process mean {:.1} over {} processes\n",
                io.total_cycles,
                io.waits,
                dist(&io.wait),
                io.mean_per_process,
                io.processes
            );
        }
        if !self.per_thread.is_empty() {
            out += &format!(
                "{:>6} {:>6} {:<16} {:>12} {:>10} {:>10} {:>12} {:>10} {:>8}\n",
                "tid", "pid", "name", "user", "kernel", "waiting", "blocked", "served", "syscalls"
            );
            for t in &self.per_thread {
                out += &format!(
                    "{:>6} {:>6} {:<16} {:>12} {:>10} {:>10} {:>12} {:>10} {:>8}\n",
                    t.tid, t.pid, t.name, t.user, t.kernel, t.waiting, t.blocked, t.served, t.syscalls
                );
            }
        }
        if !self.syscalls_by_number.is_empty() {
            let calls: Vec<String> = self
                .syscalls_by_number
                .iter()
                .map(|c| format!("{} {} ({:.0})", c.name, c.count, c.mean_service))
                .collect();
            out += &format!("system calls (count, mean service cycles): {}\n", calls.join(", "));
        }
        if let Some(d) = &self.disk {
            out += &format!(
                "disk: {} reads ({} sectors), {} writes ({} sectors), {} flushes, {} errors; busy {} cycles ({:.2}%)\n",
                d.reads,
                d.sectors_read,
                d.writes,
                d.sectors_written,
                d.flushes,
                d.errors,
                d.busy_cycles,
                pct(d.busy_cycles, self.cycles)
            );
        }
        out
    }
}

/// Time blocked on I/O, from the kernel's events, up to `run_end`.
fn io_blocked(a: &crate::devices::annotate::Annotate, run_end: u64) -> IoBlocked {
    let mut per: std::collections::BTreeMap<u64, (u64, u64)> = a.pids.iter().map(|&p| (p, (0, 0))).collect();
    for w in &a.io_waits {
        let entry = per.entry(w.pid).or_default();
        entry.0 += 1;
        entry.1 += w.cycles(run_end);
    }
    let total: u64 = a.io_waits.iter().map(|w| w.cycles(run_end)).sum();
    IoBlocked {
        waits: a.io_waits.len() as u64,
        total_cycles: total,
        processes: per.len() as u64,
        mean_per_process: if per.is_empty() {
            0.0
        } else {
            total as f64 / per.len() as f64
        },
        wait: Distribution::of(a.io_waits.iter().map(|w| w.cycles(run_end)).collect()),
        per_process: per
            .into_iter()
            .map(|(pid, (waits, cycles))| ProcessIo { pid, waits, cycles })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let d = Distribution::of((1..=100).collect());
        assert_eq!((d.p50, d.p99, d.max, d.count), (50, 99, 100, 100));
        assert_eq!(d.mean, 50.5);
        assert_eq!(Distribution::of(vec![7]).p99, 7);
        assert_eq!(Distribution::of(vec![]), Distribution::default());
    }

    #[test]
    fn io_blocked_time_is_per_wait_and_per_process() {
        use crate::devices::annotate::{Annotate, IoWaitRecord};
        let mut a = Annotate::new(1);
        a.pids.extend([1, 2, 3]);
        let wait = |pid, start, end| IoWaitRecord {
            pid,
            block: 0,
            start,
            end,
        };
        a.io_waits = vec![wait(1, 100, Some(300)), wait(1, 400, Some(500)), wait(2, 900, None)];
        let io = io_blocked(&a, 1000);
        assert_eq!((io.waits, io.total_cycles, io.processes), (3, 400, 3));
        assert_eq!(io.mean_per_process, 400.0 / 3.0);
        assert_eq!((io.wait.p50, io.wait.max), (100, 200));
        assert_eq!(
            io.per_process,
            [
                ProcessIo {
                    pid: 1,
                    waits: 2,
                    cycles: 300
                },
                ProcessIo {
                    pid: 2,
                    waits: 1,
                    cycles: 100
                },
                ProcessIo {
                    pid: 3,
                    waits: 0,
                    cycles: 0
                }
            ]
        );
    }
}
