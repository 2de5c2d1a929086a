//! Where the cycles go: every simulated cycle of every hart is attributed to
//! exactly one of four states, and every request a hart makes to the
//! master is recorded with its timing.
//!
//! | state   | a hart is...                                                         |
//! |---------|----------------------------------------------------------------------|
//! | user    | in U-mode, running a process                                         |
//! | kernel  | in S- or M-mode doing work: the master serving, scheduling, handling interrupts; a slave in its trap stub |
//! | waiting | a slave whose request is posted and not yet answered                 |
//! | idle    | without a process: a slave waiting for work, or any hart in WFI with nothing posted |
//!
//! The state follows from three things: the privilege (U is always user),
//! whether the hart is in WFI, and the OS-level state the kernel reports
//! through the annotation device (docs/kernel-interface.md): a posted
//! request makes its hart *waiting*, the master declaring a hart idle makes
//! it *idle*, and the hart's own `RESUMED` makes it *kernel* again. Without
//! annotations (`rvmsmp bare`) the rule falls back to privilege and WFI.
//!
//! The same cycles are also charged to the thread the kernel gave the
//! hart (its `PROCESS_ASSIGNED`, until the hart is idled or given another):
//! on a slave its user, kernel (trap stub) and waiting cycles, on the
//! master only its user cycles (the master's kernel time is everyone's).
//!
//! Harts record transitions as they happen (a few per trap, none per
//! instruction); the machine applies them in cycle order at each round
//! boundary, so a transition one hart causes on another (the master idling
//! a slave) lands at the right cycle of that hart's timeline.

/// The four states, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HartState {
    User = 0,
    Kernel = 1,
    Waiting = 2,
    Idle = 3,
}

pub const STATES: [HartState; 4] = [HartState::User, HartState::Kernel, HartState::Waiting, HartState::Idle];

impl HartState {
    pub fn name(self) -> &'static str {
        match self {
            HartState::User => "user",
            HartState::Kernel => "kernel",
            HartState::Waiting => "waiting",
            HartState::Idle => "idle",
        }
    }
}

/// The OS-level state of a hart outside user mode, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsState {
    Kernel,
    Waiting,
    Idle,
}

/// One change in what a hart is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    EnterUser,
    LeaveUser,
    WfiStart,
    WfiEnd,
    Os(OsState),
    /// The kernel gave the hart this thread (tid), or took it away ([`NO_THREAD`]).
    Thread(u64),
}

/// No thread on the hart (tids start at 1).
pub const NO_THREAD: u64 = 0;

/// The cycles of one hart, by state, and its user-mode instructions.
#[derive(Clone, Debug)]
pub struct HartAccount {
    /// Cycles in each state, indexed by `HartState as usize`.
    pub cycles: [u64; 4],
    in_user: bool,
    in_wfi: bool,
    os: OsState,
    since: u64,
    /// The thread the kernel gave the hart, or NO_THREAD.
    thread: u64,
    /// A timeline of state changes, kept only when a trace is asked for.
    pub timeline: Option<Vec<(u64, HartState)>>,
}

impl HartAccount {
    fn new(record_timeline: bool) -> HartAccount {
        HartAccount {
            cycles: [0; 4],
            in_user: false,
            in_wfi: false,
            os: OsState::Kernel,
            since: 0,
            thread: NO_THREAD,
            timeline: record_timeline.then(|| vec![(0, HartState::Kernel)]),
        }
    }

    /// The state the hart is in now.
    pub fn state(&self) -> HartState {
        match (self.in_user, self.os, self.in_wfi) {
            (true, _, _) => HartState::User,
            (false, OsState::Waiting, _) => HartState::Waiting,
            (false, OsState::Idle, _) => HartState::Idle,
            (false, OsState::Kernel, true) => HartState::Idle,
            (false, OsState::Kernel, false) => HartState::Kernel,
        }
    }

    /// Charges the cycles up to `cycle` to the current state, then applies
    /// `t`. Returns what was charged: the state, the cycles and the thread.
    fn apply(&mut self, cycle: u64, t: Transition) -> (HartState, u64, u64) {
        let cycle = cycle.max(self.since);
        let before = self.state();
        let charged = (before, cycle - self.since, self.thread);
        self.cycles[before as usize] += cycle - self.since;
        self.since = cycle;
        match t {
            Transition::EnterUser => self.in_user = true,
            Transition::LeaveUser => self.in_user = false,
            Transition::WfiStart => self.in_wfi = true,
            Transition::WfiEnd => self.in_wfi = false,
            Transition::Os(os) => self.os = os,
            Transition::Thread(tid) => self.thread = tid,
        }
        let after = self.state();
        if after != before {
            if let Some(timeline) = &mut self.timeline {
                timeline.push((cycle, after));
            }
        }
        charged
    }

    /// The cycles by state up to `now`, without changing anything.
    pub fn cycles_until(&self, now: u64) -> [u64; 4] {
        let mut c = self.cycles;
        c[self.state() as usize] += now.saturating_sub(self.since);
        c
    }
}

/// Transitions waiting to be applied: (hart, cycle, transition).
pub type PendingTransitions = Vec<(usize, u64, Transition)>;

/// The accounts of every hart.
#[derive(Clone, Debug)]
pub struct Accounting {
    pub harts: Vec<HartAccount>,
    /// Cycles by hart state of each thread (tid), as the module comment says.
    pub threads: std::collections::BTreeMap<u64, [u64; 4]>,
    scratch: PendingTransitions,
}

impl Accounting {
    pub fn new(harts: usize, record_timeline: bool) -> Accounting {
        Accounting {
            harts: (0..harts).map(|_| HartAccount::new(record_timeline)).collect(),
            threads: std::collections::BTreeMap::new(),
            scratch: Vec::new(),
        }
    }

    /// Applies the pending transitions that lie within each hart's clock
    /// (`clocks[hart]`), in cycle order (stable, so transitions at the same
    /// cycle keep the order they were made in). Later ones, which another
    /// hart made ahead of this hart's clock (the run may stop mid-round),
    /// stay pending.
    pub fn apply_until(&mut self, pending: &mut PendingTransitions, clocks: &[u64]) {
        if pending.is_empty() {
            return;
        }
        std::mem::swap(&mut self.scratch, pending);
        self.scratch.sort_by_key(|&(hart, cycle, _)| (hart, cycle));
        for &(hart, cycle, t) in &self.scratch {
            match (self.harts.get_mut(hart), clocks.get(hart)) {
                (Some(account), Some(&clock)) if cycle <= clock => {
                    let (state, cycles, thread) = account.apply(cycle, t);
                    if thread != NO_THREAD && cycles > 0 && (hart != 0 || state == HartState::User) {
                        self.threads.entry(thread).or_insert([0; 4])[state as usize] += cycles;
                    }
                }
                (Some(_), Some(_)) => pending.push((hart, cycle, t)),
                _ => {}
            }
        }
        self.scratch.clear();
    }
}

impl Accounting {
    /// Each thread's cycles by state up to each hart's clock (`clocks`),
    /// the time since the last transition included.
    pub fn thread_cycles_until(&self, clocks: &[u64]) -> std::collections::BTreeMap<u64, [u64; 4]> {
        let mut threads = self.threads.clone();
        for (hart, account) in self.harts.iter().enumerate() {
            let state = account.state();
            let now = clocks.get(hart).copied().unwrap_or(account.since);
            if account.thread != NO_THREAD && (hart != 0 || state == HartState::User) {
                threads.entry(account.thread).or_insert([0; 4])[state as usize] += now.saturating_sub(account.since);
            }
        }
        threads
    }
}

/// A request a hart made to the master, with its timing in cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub hart: u32,
    /// 1 = system call, 2 = timer, 3 = fault (docs/kernel-interface.md).
    pub kind: u32,
    pub pid: u64,
    /// The system call number, or the trap cause for other kinds.
    pub number: u64,
    pub posted: u64,
    pub started: u64,
    pub finished: u64,
}

impl RequestRecord {
    /// Cycles between posting and the master taking it (queueing).
    pub fn waiting(&self) -> u64 {
        self.started.saturating_sub(self.posted)
    }

    /// Cycles the master spent serving it.
    pub fn service(&self) -> u64 {
        self.finished.saturating_sub(self.started)
    }
}

/// What the statistics need of the answered requests, in space that does
/// not grow with their number (the records themselves are kept only for
/// traces and tests, `Annotate::record`).
#[derive(Clone, Debug, Default)]
pub struct RequestStats {
    /// Requests answered, of every kind but idle, and system calls among them.
    pub requests: u64,
    pub syscalls: u64,
    /// System calls whose number the kernel does not serve.
    pub unknown_syscalls: u64,
    /// Cycles from posting to the master taking it, and serving it, for system calls.
    pub syscall_waiting: crate::quantiles::Quantiles,
    pub syscall_service: crate::quantiles::Quantiles,
    /// Service cycles of every answered request, summed by the hart that posted it.
    pub service_by_hart: Vec<u64>,
}

impl RequestStats {
    pub fn new(harts: usize) -> RequestStats {
        RequestStats {
            service_by_hart: vec![0; harts],
            ..RequestStats::default()
        }
    }

    /// Counts an answered request.
    pub fn add(&mut self, r: &RequestRecord) {
        self.requests += 1;
        if let Some(sum) = self.service_by_hart.get_mut(r.hart as usize) {
            *sum += r.service();
        }
        if u64::from(r.kind) == crate::devices::annotate::REQUEST_SYSCALL {
            self.syscalls += 1;
            if !crate::syscall_names::SYSCALL_NAMES.iter().any(|&(n, _)| n == r.number) {
                self.unknown_syscalls += 1;
            }
            self.syscall_waiting.add(r.waiting());
            self.syscall_service.add(r.service());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_partition_the_cycles() {
        let mut a = Accounting::new(1, true);
        let mut p: PendingTransitions = vec![
            (0, 100, Transition::EnterUser),
            (0, 300, Transition::LeaveUser),
            (0, 310, Transition::Os(OsState::Waiting)),
            (0, 400, Transition::WfiStart),
            (0, 500, Transition::Os(OsState::Idle)),
            (0, 700, Transition::WfiEnd),
            (0, 705, Transition::Os(OsState::Kernel)),
            (0, 720, Transition::EnterUser),
        ];
        a.apply_until(&mut p, &[1000]);
        let c = a.harts[0].cycles_until(1000);
        assert_eq!(c, [200 + 280, 100 + 10 + 15, 190, 205]);
        assert_eq!(c.iter().sum::<u64>(), 1000);
    }

    #[test]
    fn wfi_in_the_kernel_is_idle() {
        let mut a = Accounting::new(1, false);
        a.apply_until(
            &mut vec![(0, 10, Transition::WfiStart), (0, 50, Transition::WfiEnd)],
            &[60],
        );
        assert_eq!(a.harts[0].cycles_until(60), [0, 20, 0, 40]);
    }

    #[test]
    fn transitions_from_other_harts_are_put_in_cycle_order() {
        let mut a = Accounting::new(2, false);
        // Hart 1's own transitions arrive after one the master made later in time.
        a.apply_until(
            &mut vec![
                (1, 900, Transition::Os(OsState::Idle)),
                (1, 100, Transition::Os(OsState::Waiting)),
            ],
            &[0, 1000],
        );
        assert_eq!(a.harts[1].cycles_until(1000), [0, 100, 800, 100]);
    }

    #[test]
    fn transitions_ahead_of_a_harts_clock_wait() {
        let mut a = Accounting::new(1, false);
        let mut p = vec![(0, 50, Transition::WfiStart), (0, 150, Transition::WfiEnd)];
        a.apply_until(&mut p, &[100]);
        assert_eq!(p, vec![(0, 150, Transition::WfiEnd)]);
        assert_eq!(a.harts[0].cycles_until(100), [0, 50, 0, 50]);
    }
}
