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
    /// Boot past the host's checks of the kernel's limits, to see what the
    /// kernel itself does there.
    pub past_host_checks: bool,
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
            past_host_checks: false,
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
        argv0: None,
        name: name.to_string(),
        program,
        args: spec.args.iter().map(|s| s.as_bytes().to_vec()).collect(),
        env: vec![],
        procs: spec.procs,
        seed: 0,
        master_runs_user: spec.master_runs_user,
        slice_ticks: spec.slice_ticks,
    };
    if spec.past_host_checks {
        kernel::load_kernel(
            &mut machine,
            &workload,
            std::path::Path::new("kernel"),
            kernel::KERNEL_ELF,
        )
        .unwrap();
    } else {
        kernel::boot(&mut machine, &workload).unwrap();
    }
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
    spec.past_host_checks = true; // which refuse this workload
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

/// The kernel's verdict on a program file, with no host check in the way:
/// `Some(message)` if it refuses to run it (as not an executable, or out
/// of memory for it), `None` if it starts it.
fn kernel_refuses(bytes: &[u8], mem_mib: u64, procs: usize) -> Option<String> {
    // The kernel reads the program at boot, within a few million cycles,
    // unless it is mapping a huge segment: then it is given longer.
    kernel_refuses_within(bytes, mem_mib, procs, 3_000_000).or_else(|| {
        kernel_refuses_within(bytes, mem_mib, procs, 1_000_000_000)
            .filter(|_| host_refuses(bytes, mem_mib, procs).is_some())
    })
}

fn kernel_refuses_within(bytes: &[u8], mem_mib: u64, procs: usize, cycles: u64) -> Option<String> {
    let out = Captured::default();
    let config = MachineConfig {
        harts: 2,
        ram_size: mem_mib << 20,
        max_cycles: Some(cycles),
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).unwrap();
    let workload = Workload {
        argv0: None,
        name: "prog.elf".into(),
        program: bytes.to_vec(),
        args: Vec::new(),
        env: Vec::new(),
        procs,
        seed: 0,
        master_runs_user: false,
        slice_ticks: None,
    };
    let end = kernel::load_kernel(
        &mut machine,
        &workload,
        std::path::Path::new("kernel"),
        kernel::KERNEL_ELF,
    )
    .unwrap();
    let reason = machine.run();
    let text = out.text();
    let refused = (reason == ExitReason::Finisher(126) && text.contains("not a RISC-V RV64 executable"))
        || (machine.bus.annotate.panicked && text.contains("out of memory"));
    // The host's check of the same workload must agree (kernel.rs).
    let host = kernel::check_limits(&machine, &workload, std::path::Path::new("prog.elf"), end);
    if refused {
        return Some(text);
    }
    if reason != ExitReason::MaxCycles {
        assert!(host.is_ok(), "the kernel ran the program: {host:?}");
    }
    None
}

/// The host's verdict: an error if `rvmsmp run` refuses the file before boot.
fn host_refuses(bytes: &[u8], mem_mib: u64, procs: usize) -> Option<String> {
    let path = std::path::Path::new("prog.elf");
    if let Err(e) = kernel::check_program(path, bytes) {
        return Some(e.to_string());
    }
    let config = MachineConfig {
        harts: 2,
        ram_size: mem_mib << 20,
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, Box::new(std::io::sink()), Box::new(NoInput)).unwrap();
    let workload = Workload {
        argv0: None,
        name: "prog.elf".into(),
        program: bytes.to_vec(),
        args: Vec::new(),
        env: Vec::new(),
        procs,
        seed: 0,
        master_runs_user: false,
        slice_ticks: None,
    };
    kernel::boot(&mut machine, &workload).err().map(|e| e.to_string())
}

/// Refusals the host makes on its own, for files the kernel would start
/// and that could not run: object files and dynamically linked programs.
fn host_only_rule(message: &str) -> bool {
    message.contains("is not an executable") || message.contains("is dynamically linked")
}

#[test]
fn the_host_refuses_exactly_the_program_files_the_kernel_refuses() {
    let hello = std::fs::read(program_path("hello")).unwrap();
    let set = |bytes: &[u8], at: usize, value: &[u8]| {
        let mut b = bytes.to_vec();
        b[at..at + value.len()].copy_from_slice(value);
        b
    };
    let (memsz, vaddr) = (64 + 40, 64 + 16);
    let mut files = vec![
        ("hello".to_string(), hello.clone()),
        ("e_phentsize 0".into(), set(&hello, 54, &0u16.to_le_bytes())),
        ("p_memsz 2^40".into(), set(&hello, memsz, &(1u64 << 40).to_le_bytes())),
        ("p_memsz 2^64-1".into(), set(&hello, memsz, &u64::MAX.to_le_bytes())),
        (
            "p_memsz 1 GiB".into(),
            set(&hello, 64 + 56 + 40, &(1u64 << 30).to_le_bytes()),
        ),
    ];
    for va in [0xffff_8000_0000_0000u64, 0x3f_ffff_f000, 0xffff_ffff_ffff_f000] {
        files.push((format!("p_vaddr {va:#x}"), set(&hello, vaddr, &va.to_le_bytes())));
    }
    // Random byte mutations with a fixed seed: half in the headers, where
    // the rules look, half anywhere.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let headers = 64 + 56 * 2;
    for i in 0..400 {
        let mut b = hello.clone();
        for _ in 0..1 + next() % 3 {
            let at = if i % 2 == 0 {
                next() as usize % headers
            } else {
                next() as usize % b.len()
            };
            b[at] = next() as u8;
        }
        files.push((format!("mutation {i}"), b));
    }
    let mut refused = 0;
    for (what, bytes) in &files {
        let kernel = kernel_refuses(bytes, 128, 1);
        let host = host_refuses(bytes, 128, 1);
        match (&kernel, &host) {
            (Some(_), Some(_)) => refused += 1,
            (None, None) => {}
            (None, Some(h)) if host_only_rule(h) => {}
            _ => panic!("{what}: the kernel says {kernel:?}, the host {host:?}"),
        }
    }
    assert!(refused > 20, "only {refused} of the files were refused");
}

#[test]
fn the_host_knows_how_many_processes_fit_in_memory() {
    // With 8 MiB the kernel makes room for some tens of copies of hello and
    // panics at the next; the host must accept exactly as many.
    const MEM: u64 = 8;
    let hello = std::fs::read(program_path("hello")).unwrap();
    let most = (1..200)
        .find(|&p| kernel_refuses(&hello, MEM, p).is_some())
        .expect("a limit")
        - 1;
    assert!(most > 10, "{most}");
    assert_eq!(host_refuses(&hello, MEM, most), None);
    let refusal = host_refuses(&hello, MEM, most + 1).expect("refused");
    assert!(refusal.contains(&format!("room for {most}")), "{refusal}");
}

#[test]
fn statistics_keep_no_record_per_request_unless_recording() {
    let program = std::fs::read(program_path("syscall_mix")).unwrap();
    let config = MachineConfig {
        harts: 2,
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, Box::new(std::io::sink()), Box::new(NoInput)).unwrap();
    let workload = Workload {
        argv0: None,
        name: "syscall_mix.elf".into(),
        program,
        args: vec!["-k".into(), "1".into(), "-r".into(), "300".into()],
        env: Vec::new(),
        procs: 1,
        seed: 0,
        master_runs_user: false,
        slice_ticks: None,
    };
    kernel::boot(&mut machine, &workload).unwrap();
    machine.run();
    assert!(machine.bus.annotate.requests.is_empty(), "no record per request");
    let report = Report::of(&machine);
    assert!(report.summary.syscalls > 300, "{:?}", report.summary);
    assert_eq!(report.summary.syscall_waiting.count, report.summary.syscalls);
}
