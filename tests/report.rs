//! The statistics report: its JSON validates against the documented schema,
//! and the figures agree with each other.

use crate::kernel::{run, Spec};
use rvmsmp::report::Report;

fn schema() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/stats.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema itself is valid")
}

fn report_json(harts: usize, program: &str, args: &[&str]) -> serde_json::Value {
    let mut spec = Spec::new(harts, program);
    spec.args = args;
    let r = run(&spec);
    serde_json::from_str(&Report::of(&r.machine).to_json()).unwrap()
}

#[test]
fn reports_validate_against_the_documented_schema() {
    let validator = schema();
    for (harts, program, args) in [
        (4, "syscall_mix", &["-k", "10", "-r", "20"][..]),
        (1, "hello", &[]),
        (8, "alloc", &[]),
        (3, "futex_check", &["join", "4", "1"]),
    ] {
        let json = report_json(harts, program, args);
        let errors: Vec<String> = validator.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{program} on {harts} harts: {errors:?}");
    }
}

#[test]
fn the_schema_rejects_what_it_should() {
    let validator = schema();
    let mut json = report_json(2, "hello", &[]);
    assert!(validator.is_valid(&json));
    json["version"] = 2.into();
    assert!(!validator.is_valid(&json), "another version must not validate");
    let mut json = report_json(2, "hello", &[]);
    json["per_hart"][0].as_object_mut().unwrap().remove("waiting");
    assert!(!validator.is_valid(&json), "a missing field must not validate");
}

#[test]
fn report_figures_agree_with_each_other() {
    let mut spec = Spec::new(4, "syscall_mix");
    spec.args = &["-k", "10", "-r", "30"];
    let r = run(&spec);
    let report = Report::of(&r.machine);
    for h in &report.per_hart {
        assert_eq!(h.user + h.kernel + h.waiting + h.idle, h.cycles, "hart {}", h.hart);
    }
    let s = &report.summary;
    assert_eq!(
        s.syscalls,
        report.per_hart.iter().map(|h| h.syscalls_raised).sum::<u64>()
    );
    assert_eq!(s.syscall_waiting.count, s.syscalls);
    assert!(s.syscall_waiting.p50 <= s.syscall_waiting.p99 && s.syscall_waiting.p99 <= s.syscall_waiting.max);
    assert!(s.master_utilisation > 0.0 && s.master_utilisation < 1.0);
    assert_eq!(
        s.user_instructions,
        report.per_hart.iter().map(|h| h.user_instructions).sum::<u64>()
    );
    assert_eq!(report.per_hart[0].user_instructions, 0);
    assert!(s.longest_request_queue >= 1 && s.longest_request_queue <= 3);
}

#[test]
fn unknown_system_calls_are_counted() {
    // syscall_errors makes exactly one call with an unknown number (999).
    let r = run(&Spec::new(2, "syscall_errors"));
    assert_eq!(Report::of(&r.machine).summary.unknown_syscalls, 1);
}

/// Per thread: the cycles its harts spent on it add up to the harts' own,
/// each thread is named after its program, and the calls by number add up.
#[test]
fn thread_figures_add_up_to_the_harts() {
    let mut spec = Spec::new(4, "futex_check");
    spec.procs = 1;
    spec.args = &["sem", "6", "20", "3"];
    let r = run(&spec);
    let report = Report::of(&r.machine);
    let threads = &report.per_thread;
    assert_eq!(threads.len(), 7, "{threads:?}");
    assert!(
        threads.iter().all(|t| t.pid == 1 && t.name == "futex_check.elf"),
        "{threads:?}"
    );
    let sum = |f: fn(&rvmsmp::report::ThreadReport) -> u64| threads.iter().map(f).sum::<u64>();
    let harts = |f: fn(&rvmsmp::report::HartReport) -> u64| report.per_hart.iter().skip(1).map(f).sum::<u64>();
    assert_eq!(
        sum(|t| t.user),
        harts(|h| h.user),
        "user cycles: threads against slaves"
    );
    assert_eq!(sum(|t| t.waiting), harts(|h| h.waiting), "waiting cycles");
    assert_eq!(sum(|t| t.syscalls), report.summary.syscalls);
    assert!(sum(|t| t.served) <= report.per_hart[0].kernel);
    // The main thread blocks in the joins, and some consumer on the semaphore.
    assert!(threads[0].blocked > 0 && threads[0].blocks > 0, "{:?}", threads[0]);
    let calls = &report.syscalls_by_number;
    assert_eq!(calls.iter().map(|c| c.count).sum::<u64>(), report.summary.syscalls);
    let clone = calls.iter().find(|c| c.name == "clone").expect("clone is counted");
    assert_eq!(clone.count, 6);
    assert!(calls.iter().any(|c| c.name == "futex" && c.count > 0));
}
