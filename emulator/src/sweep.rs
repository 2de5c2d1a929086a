//! `rvmsmp sweep`: one run of a program on the master-slave kernel per hart
//! count, as independent runs spread over host threads; then a table on
//! standard output and sweep.csv, sweep.json and sweep.svg (docs/sweep.md).
//!
//! Each run is a fresh machine with N harts and (N - 1) × K processes (K
//! with one hart, where the master runs them itself). Throughput is useful
//! work per simulated time: user-mode instructions per million cycles, from
//! the moment the first process starts (the boot, in which the master
//! loads every process one after the other, grows with N and is left out;
//! the whole-run figures are kept beside). Speedup is throughput over the
//! run with one slave hart (2 harts), the baseline, which also gives the
//! measured share s of a process's time that the master spends on it; the
//! analytic bound is min(slaves, 1/s).
//!
//! The outputs depend only on the options (not on the number of host
//! threads, the host or the time), so the same sweep writes the same bytes.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::accounting::HartState;
use crate::devices::uart::NoInput;
use crate::devices::virtio_blk::{DiskImage, VirtioBlk};
use crate::error::EmuError;
use crate::kernel::{self, Workload};
use crate::machine::{Machine, MachineConfig};
use crate::report::Report;
use crate::ExitReason;

/// The schema name and version written in sweep.json.
pub const SCHEMA: &str = "rvmsmp-sweep";
pub const SCHEMA_VERSION: u32 = 1;

/// The hart count of the baseline run: one slave.
pub const BASELINE_HARTS: usize = 2;

/// Hart counts: A..B (inclusive) by STEP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HartRange {
    pub first: usize,
    pub last: usize,
    pub step: usize,
}

impl HartRange {
    pub fn parse(text: &str) -> Result<HartRange, EmuError> {
        let bad = || EmuError::Config(format!("--harts {text}: expected A..B or A..B:STEP, e.g. 2..21"));
        let (range, step) = match text.split_once(':') {
            Some((r, s)) => (r, s.parse().map_err(|_| bad())?),
            None => (text, 1),
        };
        let (a, b) = range.split_once("..").ok_or_else(bad)?;
        let (first, last): (usize, usize) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if first == 0 || last < first || step == 0 {
            return Err(bad());
        }
        Ok(HartRange { first, last, step })
    }

    pub fn counts(&self) -> Vec<usize> {
        (self.first..=self.last).step_by(self.step).collect()
    }
}

impl std::fmt::Display for HartRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.first, self.last)?;
        if self.step != 1 {
            write!(f, ":{}", self.step)?;
        }
        Ok(())
    }
}

pub struct SweepOptions {
    pub harts: HartRange,
    pub procs_per_slave: usize,
    pub out: PathBuf,
    pub jobs: usize,
    pub mem_mib: u64,
    pub quantum: u64,
    pub max_cycles: Option<u64>,
    pub seed: u64,
    pub slice_ticks: Option<u64>,
    pub program_name: String,
    /// The program's argv[0], as the user gave its path (None: program_name).
    pub argv0: Option<Vec<u8>>,
    pub program: Vec<u8>,
    /// argv[1..] and the environment, byte for byte.
    pub args: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    /// How the host runs the guest (`--no-jit`, `--jit-hot-runs`); the
    /// results are the same either way, so sweep.json does not record it.
    pub jit: bool,
    pub jit_hot_runs: u8,
    /// A file system image every run gets as its disk, in snapshot mode:
    /// each starts from the image as it is, and its writes stay in its own
    /// memory (the image is left unchanged). With the disk's latency in
    /// cycles per request.
    pub disk: Option<PathBuf>,
    pub disk_latency: u64,
}

/// The options as recorded in sweep.json: those that decide the results
/// (not --jobs or --out).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecordedOptions {
    pub harts: String,
    pub procs_per_slave: usize,
    pub mem_mib: u64,
    pub quantum: u64,
    pub max_cycles: Option<u64>,
    pub seed: u64,
    pub slice_ticks: Option<u64>,
    pub program: String,
    pub args: Vec<String>,
    /// The environment, when it is not empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// The disk image's file name and latency, when the runs had a disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_latency: Option<u64>,
}

/// One run of the sweep.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Row {
    pub harts: usize,
    /// Harts running processes: N - 1, or 1 when N is 1 (the master itself).
    pub slaves: usize,
    /// True for the one-hart run, where the master runs the processes itself.
    pub master_runs_processes: bool,
    pub processes: usize,
    /// Simulated time of the whole run, in cycles.
    pub cycles: u64,
    /// The cycle at which the first process started (the end of the boot,
    /// in which the master loads every process): the workload runs from
    /// here to the end of the run.
    pub workload_start: u64,
    pub user_instructions: u64,
    /// Useful work: user instructions per million cycles of the workload.
    pub throughput: f64,
    /// The same over the whole run, boot included (the report's figure).
    pub throughput_whole_run: f64,
    /// Throughput over the baseline's (one slave hart).
    pub speedup: f64,
    /// The analytic bound on the speedup, min(slaves, 1/s).
    pub bound: f64,
    /// Share of the master's cycles in the kernel while the workload runs (0 to 1).
    pub master_utilisation: f64,
    /// The same over the whole run, boot included (the report's figure).
    pub master_utilisation_whole_run: f64,
    pub syscalls: u64,
    /// Cycles from posting a system call to the master taking it.
    pub syscall_waiting_mean: f64,
    pub syscall_waiting_p99: u64,
    /// Cycles between the start and the end of a system call's service.
    pub syscall_service_mean: f64,
}

/// The share s, measured on the baseline run (one slave hart), and what it
/// is made of. The slave's process starts at `start`, when the slave first
/// enters user mode; every count is over the run from there on.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Share {
    /// s = master_busy_cycles / slave_busy_cycles.
    pub s: f64,
    /// 1 / s: the number of slave harts that saturate the master.
    pub knee: f64,
    /// The master's cycles in the kernel: all it did for the slave's
    /// process (taking, serving and answering its requests).
    pub master_busy_cycles: u64,
    /// The slave's cycles in user mode, in the kernel and waiting for the master.
    pub slave_busy_cycles: u64,
    /// The narrower count: cycles between SERVICE_START and SERVICE_END of
    /// the slave's requests (the system call handlers alone).
    pub service_cycles: u64,
    /// service_cycles / slave_busy_cycles.
    pub s_service: f64,
    /// The cycle at which the slave first entered user mode.
    pub start: u64,
    /// Whether the baseline run is one of the swept hart counts (else it
    /// was run in addition).
    pub baseline_in_range: bool,
}

/// Everything a sweep measured: what sweep.json holds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SweepResult {
    pub schema: &'static str,
    pub version: u32,
    pub options: RecordedOptions,
    pub share: Share,
    pub baseline: Row,
    pub rows: Vec<Row>,
}

/// What one run gives.
struct Measured {
    harts: usize,
    processes: usize,
    report: Report,
    /// The first entry to user mode on any hart.
    start: u64,
    /// The master's kernel cycles from `start` on.
    master_busy: u64,
    share: Option<ShareCycles>,
}

struct ShareCycles {
    master_busy: u64,
    slave_busy: u64,
    service: u64,
    start: u64,
}

/// Cycles by state between `from` and `to` on a state timeline (as
/// `crate::accounting` records it: the state from each cycle on).
fn cycles_between(timeline: &[(u64, HartState)], from: u64, to: u64) -> [u64; 4] {
    let mut out = [0; 4];
    for (i, &(at, state)) in timeline.iter().enumerate() {
        let end = timeline.get(i + 1).map_or(to, |&(next, _)| next).min(to);
        let begin = at.max(from);
        if end > begin {
            out[state as usize] += end - begin;
        }
    }
    out
}

fn timeline(machine: &Machine, hart: usize) -> &[(u64, HartState)] {
    machine.accounting.harts[hart]
        .timeline
        .as_deref()
        .expect("sweep runs record timelines")
}

/// The first cycle at which `hart` ran in user mode.
fn first_user_entry(machine: &Machine, hart: usize) -> Option<u64> {
    timeline(machine, hart)
        .iter()
        .find(|&&(_, state)| state == HartState::User)
        .map(|&(at, _)| at)
}

/// Cycles by state of `hart` from `from` to the end of its clock.
fn cycles_from(machine: &Machine, hart: usize, from: u64) -> [u64; 4] {
    cycles_between(timeline(machine, hart), from, machine.harts[hart].cycle)
}

/// The baseline's share: the master's time for the slave over the slave's
/// busy time, both from the slave's first entry to user mode.
fn share_cycles(machine: &Machine) -> Result<ShareCycles, EmuError> {
    let start = first_user_entry(machine, 1)
        .ok_or_else(|| EmuError::Config("sweep: in the baseline run the slave never ran a process".into()))?;
    let master_cycles = cycles_from(machine, 0, start);
    let slave_cycles = cycles_from(machine, 1, start);
    let service = machine.bus.annotate.request_stats.service_by_hart[1];
    Ok(ShareCycles {
        master_busy: master_cycles[HartState::Kernel as usize],
        slave_busy: slave_cycles[HartState::User as usize]
            + slave_cycles[HartState::Kernel as usize]
            + slave_cycles[HartState::Waiting as usize],
        service,
        start,
    })
}

/// One independent run on `harts` harts.
fn run_one(options: &SweepOptions, harts: usize) -> Result<Measured, EmuError> {
    let config = MachineConfig {
        harts,
        ram_size: options.mem_mib.saturating_mul(1 << 20),
        quantum: options.quantum,
        max_cycles: options.max_cycles,
        jit: options.jit,
        jit_hot_runs: options.jit_hot_runs,
        ..MachineConfig::default()
    };
    let processes = processes(options, harts);
    let workload = workload(options, processes);
    let mut machine = Machine::new(config, Box::new(std::io::sink()), Box::new(NoInput))?;
    machine.record_timelines();
    if let Some(path) = &options.disk {
        let image = DiskImage::open(path, true)?;
        machine.bus.virtio_blk = Some(VirtioBlk::new(image, options.disk_latency));
    }
    kernel::boot(&mut machine, &workload)?;
    let reason = machine.run();
    if reason != ExitReason::Finisher(0) {
        let why = match reason {
            ExitReason::Finisher(255) if machine.bus.annotate.panicked => "the kernel panicked".to_string(),
            ExitReason::Finisher(status) => format!("a process exited with status {status}"),
            ExitReason::MaxCycles => format!("--max-cycles stopped it after {} cycles", machine.now),
            ExitReason::Deadlock => "every hart waited for an interrupt that could not come".to_string(),
            other => format!("it stopped with {other:?}"),
        };
        let disk = options
            .disk
            .as_ref()
            .map_or(String::new(), |path| format!(" --disk {} --snapshot", path.display()));
        return Err(EmuError::Config(format!(
            "sweep: the run on {harts} harts failed: {why} (`rvmsmp run --harts {harts} --procs {processes}{disk} \
             ...` shows its output)"
        )));
    }
    let share = if harts == BASELINE_HARTS {
        Some(share_cycles(&machine)?)
    } else {
        None
    };
    let start = (0..harts)
        .filter_map(|hart| first_user_entry(&machine, hart))
        .min()
        .ok_or_else(|| EmuError::Config(format!("sweep: in the run on {harts} harts no process ever ran")))?;
    Ok(Measured {
        harts,
        processes,
        report: Report::of(&machine),
        start,
        master_busy: cycles_from(&machine, 0, start)[HartState::Kernel as usize],
        share,
    })
}

/// Runs `counts` over `jobs` threads; results in the order of `counts`.
fn run_all(options: &SweepOptions, counts: &[usize]) -> Result<Vec<Measured>, EmuError> {
    let progress = indicatif::ProgressBar::new(counts.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("rvmsmp sweep: {bar:40} {pos}/{len} runs, {elapsed} {msg}")
            .expect("a valid template"),
    );
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<Measured, EmuError>)>> = Mutex::new(Vec::new());
    let threads = options.jobs.clamp(1, counts.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= counts.len() || failed.load(Ordering::Relaxed) {
                    break;
                }
                let result = run_one(options, counts[i]);
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                results.lock().expect("no thread panics holding it").push((i, result));
                progress.inc(1);
            });
        }
    });
    progress.finish_and_clear();
    let mut results = results.into_inner().expect("no thread panics holding it");
    results.sort_by_key(|&(i, _)| i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The workload's throughput: user instructions per million cycles from its start.
fn throughput(m: &Measured) -> f64 {
    let cycles = m.report.cycles.saturating_sub(m.start);
    if cycles == 0 {
        0.0
    } else {
        m.report.summary.user_instructions as f64 * 1e6 / cycles as f64
    }
}

fn row(m: &Measured, baseline_throughput: f64, s: f64) -> Row {
    let summary = &m.report.summary;
    let slaves = if m.harts == 1 { 1 } else { m.harts - 1 };
    let throughput = throughput(m);
    let window = m.report.cycles.saturating_sub(m.start);
    Row {
        harts: m.harts,
        slaves,
        master_runs_processes: m.harts == 1,
        processes: m.processes,
        cycles: m.report.cycles,
        workload_start: m.start,
        user_instructions: summary.user_instructions,
        throughput,
        throughput_whole_run: summary.user_instructions_per_million_cycles,
        speedup: if baseline_throughput > 0.0 {
            throughput / baseline_throughput
        } else {
            0.0
        },
        bound: bound(slaves as f64, s),
        master_utilisation: if window == 0 {
            0.0
        } else {
            m.master_busy as f64 / window as f64
        },
        master_utilisation_whole_run: summary.master_utilisation,
        syscalls: summary.syscalls,
        syscall_waiting_mean: summary.syscall_waiting.mean,
        syscall_waiting_p99: summary.syscall_waiting.p99,
        syscall_service_mean: summary.syscall_service.mean,
    }
}

/// The analytic bound on the speedup with `slaves` slave harts: min(slaves, 1/s).
pub fn bound(slaves: f64, s: f64) -> f64 {
    if s > 0.0 {
        slaves.min(1.0 / s)
    } else {
        slaves
    }
}

/// The processes of the run on `harts` harts: `--procs-per-slave` per
/// slave, or as many on the master alone.
fn processes(options: &SweepOptions, harts: usize) -> usize {
    harts.saturating_sub(1).max(1) * options.procs_per_slave
}

/// What the kernel runs in each run: `processes` copies of the program.
fn workload(options: &SweepOptions, processes: usize) -> Workload {
    Workload {
        name: options.program_name.clone(),
        argv0: options.argv0.clone(),
        program: options.program.clone(),
        args: options.args.clone(),
        env: options.env.clone(),
        procs: processes,
        seed: options.seed,
        master_runs_user: false,
        slice_ticks: options.slice_ticks,
    }
}

/// Runs the sweep and measures it, without printing or writing anything.
pub fn measure(options: &SweepOptions) -> Result<SweepResult, EmuError> {
    if options.procs_per_slave == 0 {
        return Err(EmuError::Config(
            "--procs-per-slave 0: each slave needs at least one process".into(),
        ));
    }
    let mut counts = options.harts.counts();
    let baseline_in_range = counts.contains(&BASELINE_HARTS);
    if !baseline_in_range {
        counts.push(BASELINE_HARTS);
    }
    for &harts in &counts {
        MachineConfig {
            harts,
            ram_size: options.mem_mib.saturating_mul(1 << 20),
            quantum: options.quantum,
            ..MachineConfig::default()
        }
        .validate()?;
    }
    // The longest command line is the one with the most processes.
    let most = counts.iter().map(|&harts| processes(options, harts)).max().unwrap_or(1);
    kernel::check_command_line(&workload(options, most))?;
    if let Some(path) = &options.disk {
        // Refused before any run, with the image named, as `run --disk` does.
        DiskImage::open(path, true)?;
        crate::fs::check_formatted(path).map_err(|e| EmuError::bad_input(path, e.0))?;
    }
    let measured = run_all(options, &counts)?;
    let base = measured
        .iter()
        .find(|m| m.harts == BASELINE_HARTS)
        .expect("the baseline is always run");
    let cycles = base.share.as_ref().expect("the baseline measures the share");
    let ratio = |part: u64| {
        if cycles.slave_busy == 0 {
            0.0
        } else {
            part as f64 / cycles.slave_busy as f64
        }
    };
    let s = ratio(cycles.master_busy);
    let share = Share {
        s,
        knee: if s > 0.0 { 1.0 / s } else { f64::INFINITY },
        master_busy_cycles: cycles.master_busy,
        slave_busy_cycles: cycles.slave_busy,
        service_cycles: cycles.service,
        s_service: ratio(cycles.service),
        start: cycles.start,
        baseline_in_range,
    };
    let base_throughput = throughput(base);
    let baseline = row(base, base_throughput, s);
    let mut rows: Vec<Row> = measured
        .iter()
        .filter(|m| baseline_in_range || m.harts != BASELINE_HARTS)
        .map(|m| row(m, base_throughput, s))
        .collect();
    rows.sort_by_key(|r| r.harts);
    Ok(SweepResult {
        schema: SCHEMA,
        version: SCHEMA_VERSION,
        options: RecordedOptions {
            harts: options.harts.to_string(),
            procs_per_slave: options.procs_per_slave,
            mem_mib: options.mem_mib,
            quantum: options.quantum,
            max_cycles: options.max_cycles,
            seed: options.seed,
            slice_ticks: options.slice_ticks,
            program: options.program_name.clone(),
            args: options
                .args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
            env: options
                .env
                .iter()
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect(),
            disk: options.disk.as_ref().map(|path| {
                path.file_name()
                    .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
            }),
            disk_latency: options.disk.as_ref().map(|_| options.disk_latency),
        },
        share,
        baseline,
        rows,
    })
}

impl SweepResult {
    /// The program and its arguments, as a title.
    pub fn command(&self) -> String {
        std::iter::once(self.options.program.as_str())
            .chain(self.options.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The table printed on standard output.
    pub fn to_table(&self) -> String {
        let sh = &self.share;
        let mut out = format!(
            "{}: s = {:.2}% (the master's busy time per busy time of the slave on {} harts; the system call \
             handlers alone: {:.2}%), 1/s = {:.1} slaves\n",
            self.command(),
            100.0 * sh.s,
            BASELINE_HARTS,
            100.0 * sh.s_service,
            sh.knee
        );
        out += &format!(
            "{:>5} {:>6} {:>14} {:>8} {:>7} {:>12} {:>13}\n",
            "harts", "slaves", "work/Mcycle", "speedup", "bound", "master util%", "mean waiting"
        );
        for r in &self.rows {
            out += &format!(
                "{:>5} {:>6} {:>14.1} {:>8.3} {:>7.3} {:>12.2} {:>13.1}\n",
                r.harts,
                if r.master_runs_processes {
                    "1*".to_string()
                } else {
                    r.slaves.to_string()
                },
                r.throughput,
                r.speedup,
                r.bound,
                100.0 * r.master_utilisation,
                r.syscall_waiting_mean
            );
        }
        out += "work/Mcycle: user instructions per million cycles from the first process's start; \
                mean waiting: cycles from posting a system call to the master taking it\n";
        if self.rows.iter().any(|r| r.master_runs_processes) {
            out += "* with 1 hart the master runs the processes itself\n";
        }
        if !sh.baseline_in_range {
            out += &format!(
                "speedup is over the baseline run on {BASELINE_HARTS} harts, run in addition to the range: \
                 {:.1} per Mcycle\n",
                self.baseline.throughput
            );
        }
        out
    }

    /// sweep.csv: a header and one row per run.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "harts,slaves,master_runs_processes,processes,cycles,workload_start,user_instructions,throughput,\
             throughput_whole_run,speedup,bound,master_utilisation,master_utilisation_whole_run,syscalls,\
             syscall_waiting_mean,syscall_waiting_p99,syscall_service_mean\n",
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{:.3},{:.3},{:.6},{:.6},{:.6},{:.6},{},{:.3},{},{:.3}",
                r.harts,
                r.slaves,
                r.master_runs_processes,
                r.processes,
                r.cycles,
                r.workload_start,
                r.user_instructions,
                r.throughput,
                r.throughput_whole_run,
                r.speedup,
                r.bound,
                r.master_utilisation,
                r.master_utilisation_whole_run,
                r.syscalls,
                r.syscall_waiting_mean,
                r.syscall_waiting_p99,
                r.syscall_service_mean
            );
        }
        out
    }

    /// sweep.json.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a sweep always serialises") + "\n"
    }

    /// sweep.svg: speedup and the bound against slave harts, master
    /// utilisation on the right-hand axis.
    pub fn to_svg(&self) -> Result<String, EmuError> {
        plot::svg(self).map_err(|e| EmuError::Config(format!("sweep: cannot draw the plot: {e}")))
    }

    /// Writes sweep.csv, sweep.json and sweep.svg into `dir` (created if need be).
    pub fn write(&self, dir: &std::path::Path) -> Result<(), EmuError> {
        let fail = |e: std::io::Error| EmuError::bad_input(dir, format!("cannot write the sweep's results: {e}"));
        std::fs::create_dir_all(dir).map_err(fail)?;
        std::fs::write(dir.join("sweep.csv"), self.to_csv()).map_err(fail)?;
        std::fs::write(dir.join("sweep.json"), self.to_json()).map_err(fail)?;
        std::fs::write(dir.join("sweep.svg"), self.to_svg()?).map_err(fail)?;
        Ok(())
    }
}

/// Fails at once, before any run, if the results could not be written to
/// `dir`: it is created if need be, and each file opened for writing (an
/// existing one is left as it is until the results replace it).
pub fn check_output(dir: &std::path::Path) -> Result<(), EmuError> {
    let fail = |e: std::io::Error| EmuError::bad_input(dir, format!("cannot write the sweep's results: {e}"));
    std::fs::create_dir_all(dir).map_err(fail)?;
    for name in ["sweep.csv", "sweep.json", "sweep.svg"] {
        let path = dir.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| EmuError::bad_input(&path, format!("cannot write the sweep's results: {e}")))?;
    }
    Ok(())
}

/// `rvmsmp sweep`: runs, prints the table, writes the files.
pub fn run(options: &SweepOptions) -> Result<(), EmuError> {
    check_output(&options.out)?;
    let result = measure(options)?;
    print!("{}", result.to_table());
    result.write(&options.out)?;
    println!(
        "wrote {}, sweep.json and sweep.svg",
        options.out.join("sweep.csv").display()
    );
    Ok(())
}

mod plot {
    use plotters::prelude::*;

    use super::SweepResult;

    const WIDTH: u32 = 960;
    const HEIGHT: u32 = 600;
    const SPEEDUP: RGBColor = RGBColor(31, 119, 180);
    const UTILISATION: RGBColor = RGBColor(214, 39, 40);
    const BOUND: RGBColor = RGBColor(90, 90, 90);

    pub fn svg(result: &SweepResult) -> Result<String, Box<dyn std::error::Error>> {
        let mut text = String::new();
        {
            let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE)?;
            let rows: Vec<_> = result.rows.iter().filter(|r| !r.master_runs_processes).collect();
            let one_hart: Vec<_> = result.rows.iter().filter(|r| r.master_runs_processes).collect();
            let x_max = result.rows.iter().map(|r| r.slaves).max().unwrap_or(1).max(2) as f64;
            let y_max = result.rows.iter().map(|r| r.speedup.max(r.bound)).fold(1.0, f64::max) * 1.1;
            let s = &result.share;
            let title = format!("{}: speedup over 1 slave hart", result.command());
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 22))
                .margin(16)
                .x_label_area_size(48)
                .y_label_area_size(64)
                .right_y_label_area_size(64)
                // Slave counts are whole: ticks only on whole numbers.
                .build_cartesian_2d((0.0..x_max * 1.02).step(1.0), 0.0..y_max)?
                .set_secondary_coord((0.0..x_max * 1.02).step(1.0), 0.0..100.0);
            chart
                .configure_mesh()
                .x_desc("slave harts (hart 0 is the master)")
                .y_desc("speedup (useful work per cycle / 1 slave's)")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.1}"))
                .axis_desc_style(("sans-serif", 16))
                .label_style(("sans-serif", 14))
                .max_light_lines(1)
                .bold_line_style(RGBColor(225, 225, 225))
                .draw()?;
            chart
                .configure_secondary_axes()
                .y_desc("master utilisation (%)")
                .y_label_formatter(&|y| format!("{y:.0}"))
                .axis_desc_style(("sans-serif", 16).into_font().color(&UTILISATION))
                .label_style(("sans-serif", 14).into_font().color(&UTILISATION))
                .draw()?;

            // The bound min(slaves, 1/s): a dashed polyline through its corner.
            let mut corners = vec![(0.0, 0.0)];
            if s.s > 0.0 && s.knee < x_max {
                corners.push((s.knee, s.knee));
            }
            corners.push((x_max, super::bound(x_max, s.s)));
            chart
                .draw_series(DashedLineSeries::new(
                    corners,
                    10,
                    6,
                    ShapeStyle::from(&BOUND).stroke_width(2),
                ))?
                .label(format!(
                    "bound min(slaves, 1/s): s = {:.2}%, 1/s = {:.1}",
                    100.0 * s.s,
                    s.knee
                ))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BOUND.stroke_width(2)));

            let speedup: Vec<(f64, f64)> = rows.iter().map(|r| (r.slaves as f64, r.speedup)).collect();
            chart
                .draw_series(LineSeries::new(speedup.clone(), SPEEDUP.stroke_width(2)))?
                .label("measured speedup")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], SPEEDUP.stroke_width(2)));
            chart.draw_series(speedup.iter().map(|&p| Circle::new(p, 4, SPEEDUP.filled())))?;
            if !one_hart.is_empty() {
                chart
                    .draw_series(
                        one_hart
                            .iter()
                            .map(|r| Circle::new((r.slaves as f64, r.speedup), 5, SPEEDUP.stroke_width(2))),
                    )?
                    .label("1 hart: the master runs the processes")
                    .legend(|(x, y)| Circle::new((x + 10, y), 5, SPEEDUP.stroke_width(2)));
            }

            let utilisation: Vec<(f64, f64)> = rows
                .iter()
                .map(|r| (r.slaves as f64, 100.0 * r.master_utilisation))
                .collect();
            chart
                .draw_secondary_series(LineSeries::new(utilisation.clone(), UTILISATION.stroke_width(2)))?
                .label("master utilisation (right axis)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], UTILISATION.stroke_width(2)));
            chart.draw_secondary_series(
                utilisation
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 5, UTILISATION.filled())),
            )?;

            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .margin(12)
                .label_font(("sans-serif", 14))
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(200, 200, 200))
                .draw()?;
            root.present()?;
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_between_cuts_the_timeline() {
        let t = [
            (0, HartState::Kernel),
            (100, HartState::User),
            (300, HartState::Waiting),
            (400, HartState::User),
        ];
        assert_eq!(cycles_between(&t, 0, 500), [300, 100, 100, 0]);
        assert_eq!(cycles_between(&t, 150, 350), [150, 0, 50, 0]);
        assert_eq!(cycles_between(&t, 450, 450), [0; 4]);
    }

    #[test]
    fn the_bound_is_the_lesser_of_slaves_and_one_over_s() {
        assert_eq!(bound(4.0, 0.1), 4.0);
        assert!((bound(20.0, 0.1) - 10.0).abs() < 1e-12);
        assert_eq!(bound(3.0, 0.0), 3.0);
    }
}
