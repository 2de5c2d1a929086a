//! The master-slave kernel, driven through the library: every system call
//! is served on hart 0, the ready queue is FIFO, faults kill only their
//! process, runs are reproducible. (Comparisons with QEMU are in `qemu`.)

use std::path::PathBuf;

use crate::common::Captured;
use rvmsmp::devices::annotate::{EventKind, REQUEST_SYSCALL};
use rvmsmp::devices::uart::NoInput;
use rvmsmp::kernel::{self, Workload};
use rvmsmp::report::Report;
use rvmsmp::{ExitReason, Machine, MachineConfig};

pub fn program_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("programs/bin")
        .join(format!("{name}.elf"))
}

pub struct Run {
    pub machine: Machine,
    pub output: String,
    pub reason: ExitReason,
}

/// Options for a kernel run; `run` fills in the rest.
pub struct Spec<'a> {
    pub harts: usize,
    pub procs: usize,
    pub program: &'a str,
    pub args: &'a [&'a str],
    pub master_runs_user: bool,
    pub slice_ticks: Option<u64>,
    pub mem_mib: u64,
}

impl<'a> Spec<'a> {
    pub fn new(harts: usize, program: &'a str) -> Spec<'a> {
        Spec {
            harts,
            procs: if harts > 1 { harts - 1 } else { 1 },
            program,
            args: &[],
            master_runs_user: false,
            slice_ticks: None,
            mem_mib: 128,
        }
    }
}

pub fn run(spec: &Spec) -> Run {
    let program = std::fs::read(program_path(spec.program)).unwrap();
    run_bytes(spec, &format!("{}.elf", spec.program), program)
}

/// Runs a program given as bytes, named `name` in the initramfs.
pub fn run_bytes(spec: &Spec, name: &str, program: Vec<u8>) -> Run {
    let out = Captured::default();
    let config = MachineConfig {
        harts: spec.harts,
        ram_size: spec.mem_mib << 20,
        max_cycles: Some(2_000_000_000),
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).unwrap();
    machine.bus.annotate.record = true;
    let workload = Workload {
        name: name.to_string(),
        program,
        args: spec.args.iter().map(|s| s.as_bytes().to_vec()).collect(),
        env: vec![],
        procs: spec.procs,
        seed: 0,
        master_runs_user: spec.master_runs_user,
        slice_ticks: spec.slice_ticks,
    };
    kernel::boot(&mut machine, &workload).unwrap();
    let reason = machine.run();
    Run {
        output: out.text(),
        reason,
        machine,
    }
}

#[test]
fn hello_on_8_harts_greets_from_harts_1_to_7() {
    let r = run(&Spec::new(8, "hello"));
    assert_eq!(r.reason, ExitReason::Finisher(0), "{}", r.output);
    let lines: Vec<&str> = r.output.lines().collect();
    assert_eq!(lines.len(), 7, "{}", r.output);
    for hart in 1..=7 {
        let greeting = format!("hello from pid {hart} on hart {hart}");
        assert!(
            lines.contains(&greeting.as_str()),
            "missing {greeting:?} in:\n{}",
            r.output
        );
    }
}

#[test]
fn repeated_runs_give_identical_output_and_stats() {
    let a = run(&Spec::new(8, "hello"));
    let b = run(&Spec::new(8, "hello"));
    assert_eq!(a.output, b.output);
    assert_eq!(Report::of(&a.machine), Report::of(&b.machine));
    let mut spec = Spec::new(4, "syscall_mix");
    spec.args = &["-r", "20"];
    let (a, b) = (run(&spec), run(&spec));
    assert_eq!(Report::of(&a.machine), Report::of(&b.machine));
    assert_eq!(a.machine.bus.annotate.events, b.machine.bus.annotate.events);
}

/// Per hart: system calls raised (ecalls from U-mode, seen by the
/// emulator) and served (service started, reported by the kernel).
fn raised_and_served(m: &Machine) -> (Vec<u64>, Vec<u64>) {
    let raised = m.harts.iter().map(|h| h.stats.ecalls_from_user).collect();
    (raised, m.bus.annotate.syscalls_served.clone())
}

#[test]
fn every_system_call_is_served_on_hart_0() {
    for harts in [2, 8, 32] {
        let mut spec = Spec::new(harts, "syscall_mix");
        spec.args = &["-k", "10", "-r", "10"];
        let r = run(&spec);
        assert_eq!(r.reason, ExitReason::Finisher(0), "{harts} harts: {}", r.output);
        let (raised, served) = raised_and_served(&r.machine);
        assert_eq!(raised[0], 0, "the master runs no process");
        for hart in 1..harts {
            assert!(raised[hart] > 10, "hart {hart} raised only {}", raised[hart]);
            assert_eq!(served[hart], 0, "hart {hart} served a system call");
        }
        assert_eq!(
            served[0],
            raised.iter().sum::<u64>(),
            "{harts} harts: served {served:?}, raised {raised:?}"
        );
    }
}

#[test]
fn with_one_hart_the_master_runs_the_process_itself() {
    let r = run(&Spec::new(1, "hello"));
    assert_eq!(r.reason, ExitReason::Finisher(0));
    assert_eq!(r.output, "hello from pid 1 on hart 0\n");
    let (raised, served) = raised_and_served(&r.machine);
    assert_eq!(raised[0], served[0]);
}

#[test]
fn the_master_runs_user_processes_only_when_asked() {
    let assigned_harts = |r: &Run| -> Vec<u64> {
        let events = &r.machine.bus.annotate.events;
        events
            .iter()
            .filter(|e| e.kind == EventKind::ProcessAssigned)
            .map(|e| e.args[0])
            .collect()
    };
    let mut spec = Spec::new(2, "compute");
    spec.procs = 4;
    spec.args = &["20000"];
    spec.slice_ticks = Some(500);
    let off = run(&spec);
    assert_eq!(off.reason, ExitReason::Finisher(0), "{}", off.output);
    assert!(
        !assigned_harts(&off).contains(&0),
        "hart 0 ran a process without --master-runs-user"
    );
    spec.master_runs_user = true;
    let on = run(&spec);
    assert_eq!(on.reason, ExitReason::Finisher(0), "{}", on.output);
    assert!(
        assigned_harts(&on).contains(&0),
        "hart 0 never ran a process with --master-runs-user"
    );
    assert!(
        on.machine.now < off.machine.now,
        "two harts running processes should finish sooner"
    );
}

#[test]
fn sixty_four_processes_on_four_harts_finish_in_fifo_order() {
    let mut spec = Spec::new(4, "compute");
    spec.procs = 64;
    spec.args = &["100000"];
    spec.slice_ticks = Some(500); // short slices: every process is preempted
    let r = run(&spec);
    assert_eq!(r.reason, ExitReason::Finisher(0), "{}", r.output);
    assert_eq!(r.output.lines().count(), 64);
    let events = &r.machine.bus.annotate.events;
    let moved = |way: u64| -> Vec<u64> {
        events
            .iter()
            .filter(|e| e.kind == EventKind::QueueLength && e.args[2] == way)
            .map(|e| e.args[1])
            .collect()
    };
    let (entered, left) = (moved(1), moved(2));
    assert!(
        entered.len() > 64,
        "expected preemptions to requeue processes, {} entries",
        entered.len()
    );
    assert_eq!(
        entered, left,
        "the ready queue must hand out processes in the order they entered"
    );
    let exits = events.iter().filter(|e| e.kind == EventKind::ProcessExit).count();
    assert_eq!(exits, 64);
}

#[test]
fn a_faulting_process_is_killed_and_the_others_go_on() {
    let mut spec = Spec::new(4, "fault");
    spec.args = &["2"];
    let r = run(&spec);
    assert_eq!(r.reason, ExitReason::Finisher(139), "{}", r.output);
    let kill = r
        .output
        .lines()
        .find(|l| l.starts_with("rvmsmp: killed pid 2 on hart 2: store page fault at pc 0x"));
    let kill = kill.unwrap_or_else(|| panic!("no kill line in:\n{}", r.output));
    assert!(kill.ends_with("tval 0x10"), "{kill}");
    assert!(
        r.output.contains("fault: pid 1 goes on") && r.output.contains("fault: pid 3 goes on"),
        "{}",
        r.output
    );
}

#[test]
fn exit_status_is_the_first_non_zero_one() {
    let mut spec = Spec::new(3, "exit_code");
    spec.args = &["7"];
    assert_eq!(run(&spec).reason, ExitReason::Finisher(7));
}

#[test]
fn a_kernel_panic_reports_itself() {
    // Far more processes than 8 MiB can hold: the kernel runs out of pages.
    let mut spec = Spec::new(2, "hello");
    spec.procs = 1000;
    spec.mem_mib = 8;
    let r = run(&spec);
    assert!(r.machine.bus.annotate.panicked, "{}", r.output);
    assert!(r.output.contains("kernel panic on hart 0 at pc 0x"), "{}", r.output);
    assert!(r.output.contains("out of memory"), "{}", r.output);
    assert!(r.output.contains("backtrace:\n  0x"), "{}", r.output);
}

#[test]
fn unknown_and_bad_system_calls_get_linux_errors() {
    let r = run(&Spec::new(2, "syscall_errors"));
    assert_eq!(r.reason, ExitReason::Finisher(0), "{}", r.output);
    assert!(r.output.lines().all(|l| l.ends_with(": ok")), "{}", r.output);
}

#[test]
fn memory_calls_work_on_every_hart() {
    let r = run(&Spec::new(4, "alloc"));
    assert_eq!(r.reason, ExitReason::Finisher(0), "{}", r.output);
    assert_eq!(r.output, "alloc: ok\nalloc: ok\nalloc: ok\n");
}

#[test]
fn service_start_events_carry_the_syscall_kind() {
    let r = run(&Spec::new(2, "hello"));
    let starts = r
        .machine
        .bus
        .annotate
        .events
        .iter()
        .filter(|e| e.kind == EventKind::ServiceStart);
    assert!(starts.clone().all(|e| e.hart == 0), "only hart 0 serves");
    assert!(starts.filter(|e| e.args[3] == REQUEST_SYSCALL).count() >= 3);
}

#[test]
fn a_sleeping_process_leaves_its_hart_to_others() {
    // Three processes sleep 5 ms each on a single slave: since the hart
    // takes other work while one sleeps, the sleeps overlap and the run
    // takes about 5 ms of simulated time, not 15 (1 ms = 1,000,000 cycles).
    let mut spec = Spec::new(2, "sleep");
    spec.procs = 3;
    spec.args = &["5"];
    let r = run(&spec);
    assert_eq!(r.reason, ExitReason::Finisher(0), "{}", r.output);
    assert_eq!(r.output.matches("sleep: slept 5 ms").count(), 3);
    assert!(
        r.machine.now > 5_000_000,
        "finished before the sleep was over: {}",
        r.machine.now
    );
    assert!(
        r.machine.now < 7_000_000,
        "the sleeps did not overlap: {} cycles",
        r.machine.now
    );
}

/// Cycles by state: user, kernel, waiting, idle.
fn states(r: &Run) -> Vec<[u64; 4]> {
    r.machine.cycles_by_state()
}

#[test]
fn the_four_states_add_up_to_every_harts_cycles() {
    let cases: &[(usize, &str, &[&str])] = &[
        (1, "hello", &[]),
        (2, "syscall_mix", &["-k", "10", "-r", "20"]),
        (4, "sleep", &["1"]),
        (8, "alloc", &[]),
        (16, "syscall_mix", &["-k", "5", "-r", "10"]),
    ];
    for (harts, program, args) in cases {
        let mut spec = Spec::new(*harts, program);
        spec.args = args;
        let r = run(&spec);
        assert_eq!(r.reason, ExitReason::Finisher(0), "{program}: {}", r.output);
        for (hart, by_state) in states(&r).iter().enumerate() {
            let total = r.machine.harts[hart].cycle;
            assert_eq!(
                by_state.iter().sum::<u64>(),
                total,
                "{program} on {harts} harts, hart {hart}: {by_state:?}"
            );
        }
    }
}

#[test]
fn slaves_wait_while_the_master_serves_them() {
    let mut spec = Spec::new(4, "syscall_mix");
    spec.args = &["-k", "2", "-r", "50"];
    let r = run(&spec);
    let s = states(&r);
    for (hart, [user, kernel, waiting, _idle]) in s.iter().enumerate().skip(1) {
        assert!(*user > 0 && *kernel > 0 && *waiting > 0, "hart {hart}: {:?}", s[hart]);
    }
    let [master_user, master_kernel, master_waiting, _] = s[0];
    assert_eq!(
        (master_user, master_waiting),
        (0, 0),
        "the master neither runs user code nor waits: {:?}",
        s[0]
    );
    assert!(master_kernel > 0);
    let requests = &r.machine.bus.annotate.requests;
    let syscalls = requests.iter().filter(|q| q.kind == 1).count() as u64;
    assert_eq!(
        syscalls,
        r.machine.harts.iter().map(|h| h.stats.ecalls_from_user).sum::<u64>()
    );
    assert!(requests
        .iter()
        .all(|q| q.posted <= q.started && q.started <= q.finished && q.hart > 0));
}
