//! Differential ISA testing against QEMU: generated RV64IMAFDC user programs
//! (see `diff/generator.rs`) are built into static Linux ELFs that write their
//! x and f registers, fcsr and their data area to stdout; each ELF runs under
//! qemu-riscv64 and under rvmsmp's kernel, and the two outputs must be
//! equal, program by program.
//!
//! Every run is a function of a seed. `RVMSMP_DIFF_SEED` (default
//! `DEFAULT_SEED`), `RVMSMP_DIFF_PROGRAMS` (default `DEFAULT_PROGRAMS`) and
//! `RVMSMP_DIFF_FIRST` (the index of the first program, default 0) choose
//! the programs, so a failure is reproduced with the values it prints. CI
//! installs qemu-riscv64; elsewhere a missing QEMU skips the test.

pub(crate) mod generator;

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::Captured;
use generator::{freg_name, reg_name, Batch, Program, AREA, FCSR_WORD, F_WORD, RECORD};
use rvmsmp::cpu::decode::Op;
use rvmsmp::devices::uart::NoInput;
use rvmsmp::kernel::{self, Workload};
use rvmsmp::{ExitReason, Machine, MachineConfig};

const DEFAULT_SEED: u64 = 0x5eed_d1ff_0001;
const DEFAULT_PROGRAMS: u64 = 6000;
/// Programs per ELF: one qemu-riscv64 process and one rvmsmp run each.
const BATCH: u64 = 50;
/// Mismatches shown in full (with listings) when the test fails.
const SHOWN: usize = 3;

/// Every instruction a run must contain (as rvmsmp decodes it): RV64IMAFDC,
/// Zifencei, the counter CSRs read into x0, and fflags, frm and fcsr.
const USER_OPS: &[Op] = &[
    Op::Lui,
    Op::Auipc,
    Op::Jal,
    Op::Jalr,
    Op::Beq,
    Op::Bne,
    Op::Blt,
    Op::Bge,
    Op::Bltu,
    Op::Bgeu,
    Op::Lb,
    Op::Lh,
    Op::Lw,
    Op::Ld,
    Op::Lbu,
    Op::Lhu,
    Op::Lwu,
    Op::Sb,
    Op::Sh,
    Op::Sw,
    Op::Sd,
    Op::Addi,
    Op::Slti,
    Op::Sltiu,
    Op::Xori,
    Op::Ori,
    Op::Andi,
    Op::Slli,
    Op::Srli,
    Op::Srai,
    Op::Add,
    Op::Sub,
    Op::Sll,
    Op::Slt,
    Op::Sltu,
    Op::Xor,
    Op::Srl,
    Op::Sra,
    Op::Or,
    Op::And,
    Op::Addiw,
    Op::Slliw,
    Op::Srliw,
    Op::Sraiw,
    Op::Addw,
    Op::Subw,
    Op::Sllw,
    Op::Srlw,
    Op::Sraw,
    Op::Fence,
    Op::FenceI,
    Op::Ecall,
    Op::Mul,
    Op::Mulh,
    Op::Mulhsu,
    Op::Mulhu,
    Op::Div,
    Op::Divu,
    Op::Rem,
    Op::Remu,
    Op::Mulw,
    Op::Divw,
    Op::Divuw,
    Op::Remw,
    Op::Remuw,
    Op::LrW,
    Op::ScW,
    Op::AmoswapW,
    Op::AmoaddW,
    Op::AmoxorW,
    Op::AmoandW,
    Op::AmoorW,
    Op::AmominW,
    Op::AmomaxW,
    Op::AmominuW,
    Op::AmomaxuW,
    Op::LrD,
    Op::ScD,
    Op::AmoswapD,
    Op::AmoaddD,
    Op::AmoxorD,
    Op::AmoandD,
    Op::AmoorD,
    Op::AmominD,
    Op::AmomaxD,
    Op::AmominuD,
    Op::AmomaxuD,
    Op::Csrrw,
    Op::Csrrs,
    Op::Csrrc,
    Op::Csrrwi,
    Op::Csrrsi,
    Op::Csrrci,
    Op::Flw,
    Op::Fsw,
    Op::FmaddS,
    Op::FmsubS,
    Op::FnmsubS,
    Op::FnmaddS,
    Op::FaddS,
    Op::FsubS,
    Op::FmulS,
    Op::FdivS,
    Op::FsqrtS,
    Op::FsgnjS,
    Op::FsgnjnS,
    Op::FsgnjxS,
    Op::FminS,
    Op::FmaxS,
    Op::FcvtWS,
    Op::FcvtWuS,
    Op::FcvtLS,
    Op::FcvtLuS,
    Op::FcvtSW,
    Op::FcvtSWu,
    Op::FcvtSL,
    Op::FcvtSLu,
    Op::FmvXW,
    Op::FmvWX,
    Op::FeqS,
    Op::FltS,
    Op::FleS,
    Op::FclassS,
    Op::Fld,
    Op::Fsd,
    Op::FmaddD,
    Op::FmsubD,
    Op::FnmsubD,
    Op::FnmaddD,
    Op::FaddD,
    Op::FsubD,
    Op::FmulD,
    Op::FdivD,
    Op::FsqrtD,
    Op::FsgnjD,
    Op::FsgnjnD,
    Op::FsgnjxD,
    Op::FminD,
    Op::FmaxD,
    Op::FcvtWD,
    Op::FcvtWuD,
    Op::FcvtLD,
    Op::FcvtLuD,
    Op::FcvtDW,
    Op::FcvtDWu,
    Op::FcvtDL,
    Op::FcvtDLu,
    Op::FmvXD,
    Op::FmvDX,
    Op::FeqD,
    Op::FltD,
    Op::FleD,
    Op::FclassD,
    Op::FcvtSD,
    Op::FcvtDS,
];

/// Every compressed form a run must contain (the generator's mnemonics).
const C_FORMS: &[&str] = &[
    "c.nop",
    "c.addi",
    "c.addiw",
    "c.li",
    "c.lui",
    "c.addi16sp",
    "c.addi4spn",
    "c.srli",
    "c.srai",
    "c.andi",
    "c.sub",
    "c.xor",
    "c.or",
    "c.and",
    "c.subw",
    "c.addw",
    "c.slli",
    "c.mv",
    "c.add",
    "c.lw",
    "c.ld",
    "c.sw",
    "c.sd",
    "c.lwsp",
    "c.ldsp",
    "c.swsp",
    "c.sdsp",
    "c.j",
    "c.beqz",
    "c.bnez",
    "c.jr",
    "c.jalr",
    "c.fld",
    "c.fsd",
    "c.fldsp",
    "c.fsdsp",
];

fn env_u64(name: &str, default: u64) -> u64 {
    let Ok(s) = std::env::var(name) else {
        return default;
    };
    let s = s.trim().replace('_', "");
    let v = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    v.unwrap_or_else(|_| panic!("{name}={s} is not a number"))
}

/// qemu-riscv64 running an ELF, its stdout and stderr read on threads.
struct Qemu {
    child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

/// What qemu-riscv64 did: stdout, exit status (None: killed by a signal or
/// by the time limit), stderr.
struct QemuRun {
    stdout: Vec<u8>,
    status: Option<i32>,
    stderr: String,
}

fn read_on_thread(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        out
    })
}

impl Qemu {
    fn start(elf: &Path) -> Qemu {
        let mut child = Command::new("qemu-riscv64")
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("qemu-riscv64 starts");
        let stdout = read_on_thread(child.stdout.take().unwrap());
        let stderr = read_on_thread(child.stderr.take().unwrap());
        Qemu { child, stdout, stderr }
    }

    fn finish(mut self, limit: Duration) -> QemuRun {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        QemuRun {
            stdout: self.stdout.join().unwrap(),
            status,
            stderr: String::from_utf8_lossy(&self.stderr.join().unwrap()).into_owned(),
        }
    }
}

/// Runs an ELF on rvmsmp's kernel (one process on a slave hart).
fn run_rvmsmp(elf: Vec<u8>) -> (Vec<u8>, ExitReason) {
    let out = Captured::default();
    let config = MachineConfig {
        harts: 2,
        ram_size: 32 << 20,
        max_cycles: Some(500_000_000),
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).unwrap();
    let workload = Workload {
        argv0: None,
        name: "diff.elf".into(),
        program: elf,
        args: vec![],
        env: vec![],
        procs: 1,
        seed: 0,
        master_runs_user: false,
        slice_ticks: None,
    };
    kernel::boot(&mut machine, &workload).unwrap();
    let reason = machine.run();
    let bytes = out.0.lock().unwrap().clone();
    (bytes, reason)
}

/// qemu-riscv64, like the kernel's exec, runs only files with an execute bit.
fn write_executable(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn word(record: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(record[8 * i..8 * i + 8].try_into().unwrap())
}

/// fcsr as read at the end of a program, with its fields spelled out.
fn fcsr(v: u64) -> String {
    const FLAGS: [&str; 5] = ["NX", "UF", "OF", "DZ", "NV"];
    let flags: Vec<&str> = (0..5).rev().filter(|&i| v >> i & 1 != 0).map(|i| FLAGS[i]).collect();
    format!("{v:#x} (frm {}, fflags [{}])", v >> 5 & 7, flags.join(" "))
}

/// The differences between two records of a program, first difference first.
fn differences(qemu: &[u8], ours: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if word(qemu, 0) != word(ours, 0) {
        out.push(format!(
            "record header (program index): qemu-riscv64 {}, rvmsmp {}",
            word(qemu, 0),
            word(ours, 0)
        ));
    }
    for r in 1..32 {
        let (q, o) = (word(qemu, r), word(ours, r));
        if q != o {
            out.push(format!(
                "x{r} ({}): qemu-riscv64 {q:#018x}, rvmsmp {o:#018x}",
                reg_name(r as u32)
            ));
        }
    }
    for f in 0..32 {
        let (q, o) = (word(qemu, F_WORD + f), word(ours, F_WORD + f));
        if q != o {
            out.push(format!(
                "f{f} ({}): qemu-riscv64 {q:#018x}, rvmsmp {o:#018x}",
                freg_name(f as u32)
            ));
        }
    }
    let (q, o) = (word(qemu, FCSR_WORD), word(ours, FCSR_WORD));
    if q != o {
        out.push(format!("fcsr: qemu-riscv64 {}, rvmsmp {}", fcsr(q), fcsr(o)));
    }
    let area = RECORD - AREA;
    for i in area / 8..RECORD / 8 {
        let (q, o) = (word(qemu, i), word(ours, i));
        if q != o {
            out.push(format!(
                "data area bytes +{}..+{}: qemu-riscv64 {q:#018x}, rvmsmp {o:#018x} (little-endian words)",
                8 * i - area,
                8 * i - area + 8
            ));
        }
    }
    out
}

fn describe(seed: u64, batch: &Batch, k: usize, problem: &str) -> String {
    let p: &Program = &batch.programs[k];
    let mut s = format!(
        "program {} (seed {seed:#x}): {problem}\n  reproduce alone: RVMSMP_DIFF_SEED={seed:#x} RVMSMP_DIFF_FIRST={} \
         RVMSMP_DIFF_PROGRAMS=1 cargo test --release --test integration diff (addresses shift; auipc/jal values with them)\n  \
         base register {}, loop counter {}; listing (batch of programs {}..{}):\n",
        p.index,
        p.index,
        reg_name(p.base),
        reg_name(p.count),
        batch.programs[0].index,
        batch.programs[0].index + batch.programs.len() as u64,
    );
    for line in batch.listing(k) {
        s += "    ";
        s += &line;
        s += "\n";
    }
    s
}

/// Compares the outputs of one batch; one report per mismatching program.
fn compare(seed: u64, batch: &Batch, qemu: &QemuRun, ours: &(Vec<u8>, ExitReason)) -> Vec<String> {
    let mut reports = Vec::new();
    for k in 0..batch.programs.len() {
        let range = k * RECORD..(k + 1) * RECORD;
        match (qemu.stdout.get(range.clone()), ours.0.get(range)) {
            (Some(q), Some(o)) => {
                let diffs = differences(q, o);
                if !diffs.is_empty() {
                    let problem = format!("{}\n  all differences:\n    {}", diffs[0], diffs.join("\n    "));
                    reports.push(describe(seed, batch, k, &problem));
                }
            }
            (q, o) => {
                let tail = ours.0.get(k * RECORD..).unwrap_or_default();
                let problem = format!(
                    "output ends early: qemu-riscv64 wrote {} of the record's {RECORD} bytes (status {:?}, \
                     stderr {:?}), rvmsmp {} (stop {:?}); rvmsmp's output from here: {:?}",
                    q.map_or(qemu.stdout.len().saturating_sub(k * RECORD), <[u8]>::len),
                    qemu.status,
                    qemu.stderr,
                    o.map_or(ours.0.len().saturating_sub(k * RECORD), <[u8]>::len),
                    ours.1,
                    String::from_utf8_lossy(&tail[..tail.len().min(400)]),
                );
                reports.push(describe(seed, batch, k, &problem));
                return reports;
            }
        }
    }
    let n = batch.programs.len() * RECORD;
    if qemu.stdout.len() != n || ours.0.len() != n || qemu.status != Some(0) || ours.1 != ExitReason::Finisher(0) {
        reports.push(format!(
            "batch of programs {}.. (seed {seed:#x}): qemu-riscv64 wrote {} bytes, status {:?}, stderr {:?}; \
             rvmsmp wrote {} bytes, stop {:?}; expected {n} bytes and status 0",
            batch.programs[0].index,
            qemu.stdout.len(),
            qemu.status,
            qemu.stderr,
            ours.0.len(),
            ours.1
        ));
    }
    reports
}

#[derive(Default)]
struct Tally {
    programs: u64,
    elfs: u64,
    mismatches: u64,
    reports: Vec<String>,
    mnemonics: BTreeMap<&'static str, u64>,
    /// Decoded instructions by `Op as usize`.
    ops: BTreeMap<usize, (Op, u64)>,
    /// F and D instructions by the value of their rounding-mode field.
    rounding: [u64; 8],
}

#[test]
fn generated_programs_match_qemu_user() {
    if !crate::common::have("qemu-riscv64") {
        return;
    }
    let seed = env_u64("RVMSMP_DIFF_SEED", DEFAULT_SEED);
    let programs = env_u64("RVMSMP_DIFF_PROGRAMS", DEFAULT_PROGRAMS);
    let first = env_u64("RVMSMP_DIFF_FIRST", 0);
    let start = Instant::now();
    let dir = std::env::temp_dir().join(format!("rvmsmp-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let batches = programs.div_ceil(BATCH);
    let next = AtomicU64::new(0);
    let tally = Mutex::new(Tally::default());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    break;
                }
                let lo = first + b * BATCH;
                let n = BATCH.min(first + programs - lo);
                let batch = Batch::new(seed, lo, n);
                let path = dir.join(format!("batch-{b}.elf"));
                write_executable(&path, &batch.elf);
                let qemu = Qemu::start(&path);
                let ours = catch_unwind(AssertUnwindSafe(|| run_rvmsmp(batch.elf.clone())));
                let theirs = qemu.finish(Duration::from_secs(60));
                let _ = std::fs::remove_file(&path);
                let mut reports = match ours {
                    Ok(ours) => compare(seed, &batch, &theirs, &ours),
                    Err(_) => vec![format!(
                        "rvmsmp panicked running the batch of programs {lo}..{} (seed {seed:#x})",
                        lo + n
                    )],
                };
                if !reports.is_empty() {
                    // Keep the ELF, to run by hand under qemu-riscv64 and `rvmsmp run`.
                    let kept = std::env::temp_dir().join(format!("rvmsmp-diff-{seed:x}-{lo}.elf"));
                    write_executable(&kept, &batch.elf);
                    for r in &mut reports {
                        *r = format!("{r}\n  the batch's ELF: {}", kept.display());
                    }
                }
                let mut mnemonics = BTreeMap::new();
                for p in &batch.programs {
                    for m in p.mnemonics() {
                        *mnemonics.entry(m).or_insert(0) += 1;
                    }
                }
                let mut ops = BTreeMap::new();
                for op in batch.decoded_ops() {
                    ops.entry(op as usize).or_insert((op, 0)).1 += 1;
                }
                let rounding = batch.rounding_modes();
                let mut t = tally.lock().unwrap();
                for (sum, n) in t.rounding.iter_mut().zip(rounding) {
                    *sum += n;
                }
                t.programs += n;
                t.elfs += 1;
                t.mismatches += reports.len() as u64;
                t.reports.extend(reports);
                for (m, c) in mnemonics {
                    *t.mnemonics.entry(m).or_insert(0) += c;
                }
                for (k, (op, c)) in ops {
                    t.ops.entry(k).or_insert((op, 0)).1 += c;
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    let t = tally.into_inner().unwrap();
    let elapsed = start.elapsed();
    let ops: Vec<String> = t.ops.values().map(|(op, c)| format!("{op:?} {c}")).collect();
    let mnemonics: Vec<String> = t.mnemonics.iter().map(|(m, c)| format!("{m} {c}")).collect();
    eprintln!("diff: instructions as rvmsmp decodes them: {}", ops.join(", "));
    eprintln!("diff: generated mnemonics (bodies only): {}", mnemonics.join(", "));
    eprintln!(
        "diff: F and D rounding-mode fields (rne rtz rdn rup rmm - - dyn): {:?}",
        t.rounding
    );
    eprintln!(
        "diff: {} programs in {} ELFs (seed {seed:#x}, first {first}) compared with qemu-riscv64 in {:.1} s \
         on {workers} threads: {} mismatches",
        t.programs,
        t.elfs,
        elapsed.as_secs_f64(),
        t.mismatches
    );
    assert!(
        t.reports.is_empty(),
        "{} mismatches with qemu-riscv64; the first {}:\n\n{}",
        t.mismatches,
        SHOWN.min(t.reports.len()),
        t.reports[..SHOWN.min(t.reports.len())].join("\n\n")
    );
    assert_eq!(t.programs, programs);
    if programs >= 1000 {
        let missing: Vec<String> = USER_OPS
            .iter()
            .filter(|&&op| !t.ops.contains_key(&(op as usize)))
            .map(|op| format!("{op:?}"))
            .collect();
        assert!(missing.is_empty(), "no generated program contains {missing:?}");
        let missing: Vec<&str> = C_FORMS
            .iter()
            .copied()
            .filter(|m| !t.mnemonics.contains_key(m))
            .collect();
        assert!(missing.is_empty(), "no generated program contains {missing:?}");
        let unused: Vec<usize> = [0, 1, 2, 3, 4, 7].into_iter().filter(|&m| t.rounding[m] == 0).collect();
        assert!(
            unused.is_empty(),
            "no F or D instruction has the rounding mode(s) {unused:?}"
        );
        assert!(
            !t.ops.contains_key(&(Op::Illegal as usize)),
            "the generator emitted an illegal instruction"
        );
    }
}

/// Without QEMU: programs are a function of (seed, index), whatever batch
/// they are in; every jump reaches (assembling asserts it); rvmsmp decodes
/// every generated instruction.
#[test]
fn generated_programs_are_reproducible_and_well_formed() {
    let seed = env_u64("RVMSMP_DIFF_SEED", DEFAULT_SEED);
    assert_eq!(Batch::new(seed, 100, 50).elf, Batch::new(seed, 100, 50).elf);
    let alone = Batch::new(seed, 120, 1);
    let inside = Batch::new(seed, 100, 50);
    assert_eq!(
        alone.programs[0].mnemonics().collect::<Vec<_>>(),
        inside.programs[20].mnemonics().collect::<Vec<_>>()
    );
    for first in (0..5000).step_by(BATCH as usize) {
        let batch = Batch::new(seed, first, BATCH);
        assert!(
            !batch.decoded_ops().contains(&Op::Illegal),
            "programs {first}..: rvmsmp decodes an instruction as illegal"
        );
    }
}

#[test]
fn a_difference_names_the_register_or_the_bytes() {
    let mut a = vec![0u8; RECORD];
    a[..8].copy_from_slice(&7u64.to_le_bytes());
    let mut b = a.clone();
    assert!(differences(&a, &b).is_empty());
    b[8 * 10] = 1; // a0
    b[RECORD - AREA + 17] = 0xff;
    b[8 * (F_WORD + 10) + 7] = 0x7f; // fa0
    b[8 * FCSR_WORD] = 0x91;
    let d = differences(&a, &b);
    assert_eq!(d.len(), 4, "{d:?}");
    assert_eq!(
        d[0],
        "x10 (a0): qemu-riscv64 0x0000000000000000, rvmsmp 0x0000000000000001"
    );
    assert_eq!(
        d[1],
        "f10 (fa0): qemu-riscv64 0x0000000000000000, rvmsmp 0x7f00000000000000"
    );
    assert_eq!(
        d[2],
        "fcsr: qemu-riscv64 0x0 (frm 0, fflags []), rvmsmp 0x91 (frm 4, fflags [NV NX])"
    );
    assert!(d[3].starts_with("data area bytes +16..+24:"), "{d:?}");
}
