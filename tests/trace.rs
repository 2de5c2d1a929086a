//! The Chrome trace-event file of `--trace-json` (docs/trace.md), checked
//! structurally: valid JSON, the fields each phase needs, state slices that
//! tile every hart's cycles, an arrow for every request, windows, the event
//! cap, byte-identical output. `import_like_perfetto` replays the file the
//! way Perfetto's JSON importer does (sort, slice stacks, flow binding), as
//! Perfetto's own trace processor is not available here.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::Value;

use crate::common::Captured;
use crate::kernel::program_path;
use rvmsmp::accounting::STATES;
use rvmsmp::devices::uart::NoInput;
use rvmsmp::kernel::{self, Workload};
use rvmsmp::trace::{self, hart_tid, Window, REQUESTS_TID};
use rvmsmp::{EmuError, ExitReason, Machine, MachineConfig};

/// Runs `program` on the kernel with timelines and annotations recorded.
fn traced_run(harts: usize, program: &str, args: &[&str], setup: impl FnOnce(&mut Workload)) -> Machine {
    let config = MachineConfig {
        harts,
        max_cycles: Some(2_000_000_000),
        ..MachineConfig::default()
    };
    let out = Captured::default();
    let mut machine = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).unwrap();
    machine.record_timelines();
    machine.bus.annotate.record = true;
    let mut workload = Workload {
        argv0: None,
        name: format!("{program}.elf"),
        program: std::fs::read(program_path(program)).unwrap(),
        args: args.iter().map(|s| s.as_bytes().to_vec()).collect(),
        env: vec![],
        procs: if harts > 1 { harts - 1 } else { 1 },
        seed: 0,
        master_runs_user: false,
        slice_ticks: None,
    };
    setup(&mut workload);
    kernel::boot(&mut machine, &workload).unwrap();
    let reason = machine.run();
    assert!(
        matches!(reason, ExitReason::Finisher(_)),
        "{program}: {reason:?}\n{}",
        out.text()
    );
    machine
}

fn syscall_mix(harts: usize) -> Machine {
    traced_run(harts, "syscall_mix", &["-k", "5", "-r", "10"], |_| {})
}

fn trace_bytes(m: &Machine, window: Window, cap: u64) -> (Vec<u8>, trace::Written) {
    let mut bytes = Vec::new();
    let written = trace::write_json(m, &mut bytes, window, cap).unwrap();
    (bytes, written)
}

fn trace_of(m: &Machine, window: Window) -> Value {
    let (bytes, written) = trace_bytes(m, window, trace::MAX_EVENTS);
    assert!(!written.truncated);
    serde_json::from_slice(&bytes).expect("the trace is valid JSON")
}

fn events(trace: &Value) -> &Vec<Value> {
    trace["traceEvents"].as_array().expect("traceEvents is an array")
}

/// Cycles from a `ts` or `dur` in microseconds (Perfetto rounds the same way).
fn cycles(v: &Value) -> u64 {
    let us = v.as_f64().expect("a number");
    (us * 1000.0).round() as u64
}

fn ph(e: &Value) -> &str {
    e["ph"].as_str().expect("every event has a phase")
}

fn tid(e: &Value) -> u64 {
    e["tid"].as_u64().expect("a numeric tid")
}

/// (start, end, name) of every X event on `tid`, in time order.
fn slices_on(trace: &Value, tid_: u64, cat: &str) -> Vec<(u64, u64, String)> {
    let mut s: Vec<(u64, u64, String)> = events(trace)
        .iter()
        .filter(|e| ph(e) == "X" && tid(e) == tid_ && e["cat"] == cat)
        .map(|e| {
            let start = cycles(&e["ts"]);
            (
                start,
                start + cycles(&e["dur"]),
                e["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    s.sort();
    s
}

/// A window over the middle half of the requests, that starts just after
/// one request is posted and ends just after another's service started, so
/// that both edges cut through something.
fn middle_window(m: &Machine) -> (u64, u64) {
    let mut r: Vec<_> = m.bus.annotate.requests.clone();
    assert!(r.len() >= 3, "too few requests");
    r.sort_by_key(|r| r.posted);
    (r[r.len() / 4].posted + 1, r[3 * r.len() / 4].started + 1)
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("rvmsmp-trace-test-{}-{name}.json", std::process::id()))
}

#[test]
fn every_event_has_the_fields_of_its_phase() {
    let m = syscall_mix(4);
    let t = trace_of(&m, Window::default());
    assert_eq!(t["displayTimeUnit"], "ns");
    let mut phases = BTreeMap::new();
    for e in events(&t) {
        *phases.entry(ph(e).to_string()).or_insert(0) += 1;
        assert_eq!(e["pid"], 1, "{e}");
        assert!(e["name"].is_string(), "{e}");
        match ph(e) {
            "M" => {
                let args = &e["args"];
                match e["name"].as_str().unwrap() {
                    "process_name" | "thread_name" => assert!(args["name"].is_string(), "{e}"),
                    "thread_sort_index" => assert!(args["sort_index"].is_u64(), "{e}"),
                    other => panic!("unexpected metadata {other}"),
                }
            }
            "X" => {
                for key in ["cat", "ts", "dur", "tid"] {
                    assert!(!e[key].is_null(), "{key} missing in {e}");
                }
                assert!(e["ts"].as_f64().unwrap() >= 0.0 && e["dur"].as_f64().unwrap() >= 0.0);
            }
            "s" | "f" => {
                for key in ["cat", "ts", "tid", "id"] {
                    assert!(!e[key].is_null(), "{key} missing in {e}");
                }
                if ph(e) == "f" {
                    assert_eq!(e["bp"], "e", "{e}");
                }
            }
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
    assert!(phases["X"] > 100 && phases["s"] > 10, "{phases:?}");
    assert_eq!(phases["s"], phases["f"]);
    let other = &t["otherData"];
    assert_eq!(other["harts"], 4);
    assert_eq!(other["truncated"], false);
    assert_eq!(other["rvmsmp_version"], env!("CARGO_PKG_VERSION"));
    let total = m.harts.iter().map(|h| h.cycle).max().unwrap();
    assert_eq!(other["cycles"], total);
    assert_eq!(other["window"]["start"], 0);
    assert!(other["window"]["end"].is_null());
}

#[test]
fn metadata_names_every_hart_and_the_request_track() {
    let m = syscall_mix(5);
    let t = trace_of(&m, Window::default());
    let names: HashMap<u64, &str> = events(&t)
        .iter()
        .filter(|e| ph(e) == "M" && e["name"] == "thread_name")
        .map(|e| (tid(e), e["args"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names[&hart_tid(0)], "hart 0 (master)");
    for hart in 1..5 {
        assert_eq!(names[&hart_tid(hart)], format!("hart {hart}"));
    }
    assert_eq!(names[&REQUESTS_TID], "master: requests");
    assert_eq!(names.len(), 6);
    let sort: BTreeMap<u64, u64> = events(&t)
        .iter()
        .filter(|e| ph(e) == "M" && e["name"] == "thread_sort_index")
        .map(|e| (e["args"]["sort_index"].as_u64().unwrap(), tid(e)))
        .collect();
    let order: Vec<u64> = sort.values().copied().collect();
    let mut expected = vec![hart_tid(0), REQUESTS_TID];
    expected.extend((1..5).map(hart_tid));
    assert_eq!(order, expected, "hart 0, its requests, then the slaves");
    let process = events(&t).iter().find(|e| e["name"] == "process_name").unwrap();
    assert_eq!(process["args"]["name"], "rvmsmp");
}

#[test]
fn state_slices_tile_every_harts_cycles() {
    for (harts, program, args) in [
        (4, "syscall_mix", &["-k", "5", "-r", "10"][..]),
        (1, "hello", &[][..]),
        (3, "sleep", &["1"][..]),
    ] {
        let m = traced_run(harts, program, args, |_| {});
        let t = trace_of(&m, Window::default());
        for (hart, by_state) in m.cycles_by_state().into_iter().enumerate() {
            let slices = slices_on(&t, hart_tid(hart), "state");
            let mut at = 0;
            let mut sums = [0u64; 4];
            for (start, end, name) in &slices {
                assert_eq!(*start, at, "{program}, hart {hart}: a gap or an overlap at {start}");
                assert!(end > start, "{program}, hart {hart}: an empty slice at {start}");
                let state = STATES.iter().position(|s| s.name() == name).expect("a state name");
                sums[state] += end - start;
                at = *end;
            }
            assert_eq!(
                at, m.harts[hart].cycle,
                "{program}, hart {hart}: the slices end at the hart's clock"
            );
            assert_eq!(sums, by_state, "{program}, hart {hart}: cycles by state");
        }
    }
}

#[test]
fn every_request_gets_a_service_slice_and_an_arrow() {
    let m = syscall_mix(4);
    let t = trace_of(&m, Window::default());
    let requests = &m.bus.annotate.requests;
    let services = slices_on(&t, REQUESTS_TID, "service");
    assert_eq!(services.len(), requests.len());
    assert!(services
        .iter()
        .any(|(_, _, n)| n.starts_with("syscall 64 (write) from hart ")));
    for pair in services.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "service slices overlap: {pair:?}");
    }
    let flows = |phase: &str| -> HashMap<u64, &Value> {
        events(&t)
            .iter()
            .filter(|e| ph(e) == phase)
            .map(|e| (e["id"].as_u64().unwrap(), e))
            .collect()
    };
    let (starts, ends) = (flows("s"), flows("f"));
    assert_eq!(starts.len(), requests.len());
    for (id, s) in &starts {
        let f = ends.get(id).unwrap_or_else(|| panic!("flow {id} has no end"));
        let r = &requests[*id as usize];
        assert!(cycles(&f["ts"]) >= cycles(&s["ts"]));
        assert_eq!((cycles(&s["ts"]), cycles(&f["ts"])), (r.posted, r.started));
        assert_eq!(tid(s), hart_tid(r.hart as usize));
        assert_eq!(tid(f), REQUESTS_TID);
        assert!(
            services.iter().any(|(a, b, _)| *a <= r.started && r.started <= *b),
            "flow {id} ends outside every service slice"
        );
        // The tiny post slice the arrow leaves from.
        let post = events(&t)
            .iter()
            .find(|e| e["name"] == "post" && e["args"]["request"] == *id)
            .expect("a post slice");
        assert_eq!(
            (cycles(&post["ts"]), cycles(&post["dur"]), tid(post)),
            (r.posted, 1, tid(s))
        );
    }
    assert_eq!(ends.len(), starts.len());
}

/// What Perfetto's JSON importer would make of a trace: its sort order (by
/// ts; at equal ts, X events longest first, before flow events; then file
/// order), a slice stack per track, v1 flows bound to the topmost open
/// slice. Returns the slices dropped for partial overlap and, per flow id,
/// the (name, args.request) of the slices its ends bound to.
#[allow(clippy::type_complexity)]
fn import_like_perfetto(trace: &Value) -> (usize, BTreeMap<u64, [Option<(String, Option<u64>)>; 2]>) {
    struct Open {
        start: u64,
        end: u64,
        name: String,
        request: Option<u64>,
    }
    let key = |e: &Value| -> i64 {
        match ph(e) {
            "X" => i64::MAX - cycles(&e["dur"]) as i64,
            _ => i64::MAX,
        }
    };
    let mut order: Vec<(u64, i64, usize)> = events(trace)
        .iter()
        .enumerate()
        .filter(|(_, e)| ph(e) != "M")
        .map(|(i, e)| (cycles(&e["ts"]), key(e), i))
        .collect();
    order.sort();
    let mut stacks: HashMap<u64, Vec<Open>> = HashMap::new();
    let mut dropped = 0;
    let mut flows: BTreeMap<u64, [Option<(String, Option<u64>)>; 2]> = BTreeMap::new();
    for (ts, _, i) in order {
        let e = &events(trace)[i];
        let stack = stacks.entry(tid(e)).or_default();
        match ph(e) {
            "X" => {
                let dur = cycles(&e["dur"]);
                let mut ok = true;
                let mut j = stack.len();
                while j > 0 {
                    j -= 1;
                    let s = &stack[j];
                    let (sdur, end) = (s.end - s.start, s.end);
                    if end < ts || (end == ts && !(sdur == 0 && dur == 0)) {
                        stack.truncate(j); // popped (it is the top: everything above went first)
                        continue;
                    }
                    if ts < end && ts + dur > end {
                        ok = false;
                        break;
                    }
                }
                if ok {
                    stack.push(Open {
                        start: ts,
                        end: ts + dur,
                        name: e["name"].as_str().unwrap().to_string(),
                        request: e["args"]["request"].as_u64(),
                    });
                } else {
                    dropped += 1;
                }
            }
            "s" | "f" => {
                let bound = stack.last().map(|s| (s.name.clone(), s.request));
                let end = usize::from(ph(e) == "f");
                flows.entry(e["id"].as_u64().unwrap()).or_default()[end] = bound;
            }
            other => panic!("unexpected phase {other}"),
        }
    }
    (dropped, flows)
}

#[test]
fn perfetto_nests_every_slice_and_binds_every_arrow() {
    let cases = [
        syscall_mix(8),
        traced_run(1, "hello", &[], |_| {}),
        // The master runs processes too, and serves their requests itself;
        // short slices give preemptions.
        traced_run(2, "compute", &["20000"], |w| {
            w.procs = 4;
            w.master_runs_user = true;
            w.slice_ticks = Some(500);
        }),
        traced_run(3, "fault", &["2"], |_| {}),
    ];
    for (case, m) in cases.iter().enumerate() {
        let (lo, hi) = middle_window(m);
        for window in [
            Window::default(),
            Window {
                start: Some(lo),
                end: Some(hi),
            },
        ] {
            let t = trace_of(m, window);
            let (dropped, flows) = import_like_perfetto(&t);
            assert_eq!(dropped, 0, "case {case}: slices overlap partially");
            for (id, [out, into]) in &flows {
                assert_eq!(
                    out,
                    &Some(("post".to_string(), Some(*id))),
                    "case {case}: flow {id} start"
                );
                let (name, request) = into
                    .clone()
                    .unwrap_or_else(|| panic!("case {case}: flow {id} is unbound"));
                assert_eq!(request, Some(*id), "case {case}: flow {id} ends in {name}");
            }
            let (lo, hi) = window.bounds();
            let posted_inside = m
                .bus
                .annotate
                .requests
                .iter()
                .filter(|r| lo <= r.posted && r.started < hi)
                .count();
            assert_eq!(
                flows.len(),
                posted_inside,
                "case {case}: an arrow for every request posted and served in the window"
            );
            assert!(!flows.is_empty(), "case {case}");
        }
        let names: Vec<String> = slices_on(&trace_of(m, Window::default()), REQUESTS_TID, "service")
            .into_iter()
            .map(|s| s.2)
            .collect();
        match case {
            2 => {
                assert!(names.iter().any(|n| n == "preemption from hart 0"), "{names:?}");
                assert!(names.iter().any(|n| n.ends_with("from hart 1")), "{names:?}");
            }
            3 => assert!(
                names
                    .iter()
                    .any(|n| n.starts_with("fault (store/AMO page fault) from hart ")),
                "{names:?}"
            ),
            _ => {}
        }
    }
}

#[test]
fn a_window_keeps_only_what_overlaps_it_clipped() {
    let m = syscall_mix(4);
    let total = m.harts.iter().map(|h| h.cycle).max().unwrap();
    let (lo, hi) = middle_window(&m);
    let t = trace_of(
        &m,
        Window {
            start: Some(lo),
            end: Some(hi),
        },
    );
    assert_eq!(t["otherData"]["window"]["start"], lo);
    assert_eq!(t["otherData"]["window"]["end"], hi);
    let mut slices = 0;
    for e in events(&t).iter().filter(|e| ph(e) != "M") {
        let ts = cycles(&e["ts"]);
        let end = ts + e.get("dur").map_or(0, cycles);
        assert!(lo <= ts && end <= hi, "outside {lo}..{hi}: {e}");
        slices += 1;
    }
    assert!(slices > 10);
    for hart in 0..4 {
        let s = slices_on(&t, hart_tid(hart), "state");
        assert_eq!(s.first().unwrap().0, lo, "hart {hart}");
        assert_eq!(s.last().unwrap().1, hi.min(m.harts[hart].cycle), "hart {hart}");
        assert!(
            s.windows(2).all(|p| p[0].1 == p[1].0),
            "hart {hart}: the window is tiled"
        );
    }
    // Exactly the requests whose service overlaps the window.
    let expected = m
        .bus
        .annotate
        .requests
        .iter()
        .filter(|r| r.started < hi && r.finished > lo)
        .count();
    assert_eq!(slices_on(&t, REQUESTS_TID, "service").len(), expected);
    assert!(expected > 0);
    // An open end and a window past the run.
    let tail = trace_of(
        &m,
        Window {
            start: Some(total - 10),
            end: None,
        },
    );
    assert!(tail["otherData"]["window"]["end"].is_null());
    assert_eq!(
        slices_on(&tail, hart_tid(0), "state").last().unwrap().1,
        m.harts[0].cycle
    );
    let past = trace_of(
        &m,
        Window {
            start: Some(total + 1000),
            end: None,
        },
    );
    assert!(events(&past).iter().all(|e| ph(e) == "M"));
}

#[test]
fn the_same_run_gives_the_same_bytes() {
    let (a, b) = (syscall_mix(4), syscall_mix(4));
    let (bytes_a, _) = trace_bytes(&a, Window::default(), trace::MAX_EVENTS);
    let (bytes_b, _) = trace_bytes(&b, Window::default(), trace::MAX_EVENTS);
    assert!(bytes_a == bytes_b, "two runs gave different traces");
    // `write` writes the same bytes to a file.
    let path = temp_path("same");
    trace::write(&a, &path, Window::default()).unwrap();
    let from_file = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert!(from_file == bytes_a, "write() and write_json() differ");
}

#[test]
fn the_event_cap_cuts_the_trace_cleanly() {
    let m = syscall_mix(4);
    let (_, full) = trace_bytes(&m, Window::default(), trace::MAX_EVENTS);
    assert!(!full.truncated);
    // A cap of exactly the events there are is no cut.
    let (_, exact) = trace_bytes(&m, Window::default(), full.events);
    assert!(!exact.truncated);
    for cap in [0, 1, 50, full.events / 2, full.events - 1] {
        let (bytes, written) = trace_bytes(&m, Window::default(), cap);
        assert!(written.truncated && written.events <= cap, "cap {cap}: {written:?}");
        let t: Value = serde_json::from_slice(&bytes).expect("a cut trace is still valid JSON");
        let slices: Vec<&Value> = events(&t).iter().filter(|e| ph(e) != "M").collect();
        assert_eq!(slices.len() as u64, written.events);
        assert_eq!(t["otherData"]["truncated"], true);
        assert_eq!(t["otherData"]["events"], written.events);
        assert_eq!(t["otherData"]["complete_until_cycle"], written.complete_until);
        // Nothing is cut in half: every arrow has both ends, and every
        // hart's slices reach the cut.
        let count = |p: &str| slices.iter().filter(|e| ph(e) == p).count();
        assert_eq!(count("s"), count("f"), "cap {cap}");
        for e in slices.iter().filter(|e| e["cat"] == "state" || e["cat"] == "service") {
            assert!(cycles(&e["ts"]) <= written.complete_until, "cap {cap}: {e}");
        }
    }
}

#[test]
fn trace_errors_name_the_file() {
    let m = syscall_mix(2);
    let path = std::env::temp_dir().join("rvmsmp-no-such-dir").join("t.json");
    match trace::write(&m, &path, Window::default()) {
        Err(EmuError::BadInput { path: p, problem }) => {
            assert!(p.ends_with("t.json"));
            assert!(problem.starts_with("cannot write the trace: "), "{problem}");
        }
        other => panic!("expected a bad-input error, got {other:?}"),
    }
    // A run made without timelines cannot be traced.
    let config = MachineConfig::default();
    let plain = Machine::new(config, Box::new(Captured::default()), Box::new(NoInput)).unwrap();
    let err = trace::write_json(&plain, Vec::new(), Window::default(), 10).unwrap_err();
    assert!(err.to_string().contains("record_timelines"), "{err}");
}
