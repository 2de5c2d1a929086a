//! The file-calls property test (issue 16, acceptance 4): random scripts
//! of open, pwrite, pread, ftruncate, rename, unlink, close and stat, run
//! by several processes at once on several harts (programs/fsprops.c, on
//! a `--disk` image), give exactly the results a model of the files
//! predicts; afterwards `rvmsmp fs check` is clean and every file the
//! model says exists holds what it says.
//!
//! Each process works in its own directory, so its results do not depend
//! on how the processes interleave, while the kernel serves their calls
//! side by side: transactions from several processes, the buffer cache
//! under several files, blocks freed by one and taken by another. Offsets
//! cluster around the ends of the direct and indirect ranges, and reach
//! past the start of the double-indirect one (4 MiB and a bit).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use proptest::prelude::*;

use crate::common::rvmsmp_bin;
use crate::kernel::program_path;

const NAMES: u8 = 4;
const BSIZE: u64 = 4096;
const DIRECT_END: u64 = 12 * BSIZE;
const INDIRECT_END: u64 = (12 + 1024) * BSIZE;

#[derive(Clone, Debug)]
enum Op {
    Open { name: u8, slot: u8 },
    Write { slot: u8, off: u64, len: u64, seed: u64 },
    Read { slot: u8, off: u64, len: u64 },
    Truncate { slot: u8, len: u64 },
    Rename { from: u8, to: u8 },
    Unlink { name: u8 },
    Close { slot: u8 },
    Stat { name: u8 },
}

impl Op {
    /// The op as fsprops takes it on its command line.
    fn arg(&self) -> String {
        match *self {
            Op::Open { name, slot } => format!("O,{name},{slot}"),
            Op::Write { slot, off, len, seed } => format!("W,{slot},{off},{len},{seed}"),
            Op::Read { slot, off, len } => format!("R,{slot},{off},{len}"),
            Op::Truncate { slot, len } => format!("T,{slot},{len}"),
            Op::Rename { from, to } => format!("N,{from},{to}"),
            Op::Unlink { name } => format!("U,{name}"),
            Op::Close { slot } => format!("C,{slot}"),
            Op::Stat { name } => format!("S,{name}"),
        }
    }
}

/// Offsets and sizes: within the first blocks (where writes, truncations
/// and reads meet most), small ones, and ones near the ends of the direct and
/// indirect ranges (where a file's map changes shape), up to 5 MiB.
fn position() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0u64..(3 * BSIZE),
        2 => 0u64..100_000,
        2 => (DIRECT_END - 10_000)..(DIRECT_END + 10_000),
        3 => (INDIRECT_END - 100_000)..(INDIRECT_END + 100_000),
        1 => 0u64..5_000_000,
    ]
}

/// Offsets and sizes within the first four blocks: dense meetings of
/// writes, truncations and reads around block boundaries.
fn near_position() -> impl Strategy<Value = u64> {
    0u64..(4 * BSIZE)
}

fn op(position: BoxedStrategy<u64>, max_len: u64) -> impl Strategy<Value = Op> {
    // Few names and slots, so that most calls meet a file.
    let name = 0..NAMES;
    let slot = 0..2u8;
    prop_oneof![
        3 => (name.clone(), slot.clone()).prop_map(|(name, slot)| Op::Open { name, slot }),
        4 => (slot.clone(), position.clone(), 0..=max_len, 0u64..251)
            .prop_map(|(slot, off, len, seed)| Op::Write { slot, off, len, seed }),
        3 => (slot.clone(), position.clone(), 0..=max_len).prop_map(|(slot, off, len)| Op::Read { slot, off, len }),
        2 => (slot.clone(), position).prop_map(|(slot, len)| Op::Truncate { slot, len }),
        2 => (name.clone(), name.clone()).prop_map(|(from, to)| Op::Rename { from, to }),
        1 => name.clone().prop_map(|name| Op::Unlink { name }),
        1 => slot.prop_map(|slot| Op::Close { slot }),
        1 => name.prop_map(|name| Op::Stat { name }),
    ]
}

/// One process's files: names and open slots refer to files by number;
/// a file outlives its names while a slot holds it, as on Linux.
#[derive(Default)]
struct Model {
    files: Vec<Vec<u8>>,
    names: HashMap<u8, usize>,
    slots: HashMap<u8, usize>,
}

const EBADF: i64 = 9;
const ENOENT: i64 = 2;

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl Model {
    /// What fsprops prints for the op (after "K I: ").
    fn apply(&mut self, op: &Op) -> String {
        let ok = |v: u64| format!("= {v}");
        let err = |e: i64| format!("E {e}");
        match *op {
            Op::Open { name, slot } => {
                let next = self.files.len();
                let id = *self.names.entry(name).or_insert(next);
                if id == next {
                    self.files.push(Vec::new());
                }
                self.slots.insert(slot, id);
                ok(0)
            }
            Op::Write { slot, off, len, seed } => match self.slots.get(&slot) {
                None => err(EBADF),
                Some(&id) => {
                    if len > 0 {
                        let f = &mut self.files[id];
                        let end = (off + len) as usize;
                        if f.len() < end {
                            f.resize(end, 0);
                        }
                        for j in 0..len {
                            f[(off + j) as usize] = ((seed + 7 * j) % 251) as u8;
                        }
                    }
                    ok(len)
                }
            },
            Op::Read { slot, off, len } => match self.slots.get(&slot) {
                None => err(EBADF),
                Some(&id) => {
                    let f = &self.files[id];
                    let start = (off as usize).min(f.len());
                    let end = (start + len as usize).min(f.len());
                    format!("= {} h={:x}", end - start, fnv(&f[start..end]))
                }
            },
            Op::Truncate { slot, len } => match self.slots.get(&slot) {
                None => err(EBADF),
                Some(&id) => {
                    self.files[id].resize(len as usize, 0);
                    ok(0)
                }
            },
            Op::Rename { from, to } => match self.names.get(&from) {
                None => err(ENOENT),
                Some(_) if from == to => ok(0),
                Some(&id) => {
                    self.names.remove(&from);
                    self.names.insert(to, id);
                    ok(0)
                }
            },
            Op::Unlink { name } => match self.names.remove(&name) {
                None => err(ENOENT),
                Some(_) => ok(0),
            },
            Op::Close { slot } => match self.slots.remove(&slot) {
                None => err(EBADF),
                Some(_) => ok(0),
            },
            Op::Stat { name } => match self.names.get(&name) {
                None => err(ENOENT),
                Some(&id) => ok(self.files[id].len() as u64),
            },
        }
    }
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rvmsmp(args: &[&str]) -> std::process::Output {
    Command::new(rvmsmp_bin()).args(args).output().unwrap()
}

fn check_scripts(scripts: &[Vec<Op>], harts: usize, case: u64) -> Result<(), TestCaseError> {
    let dir = std::env::temp_dir().join(format!("rvmsmp-fsprops-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("root")).unwrap();
    let scratch = Scratch(dir);
    let img = scratch.0.join("fs.img");
    let (img_s, root_s) = (img.to_str().unwrap(), scratch.0.join("root"));
    let out = rvmsmp(&["mkfs", img_s, root_s.to_str().unwrap(), "--size", "256"]);
    prop_assert!(out.status.success(), "mkfs: {}", String::from_utf8_lossy(&out.stderr));

    let mut args: Vec<String> = vec![
        "run".into(),
        "--harts".into(),
        harts.to_string(),
        "--procs".into(),
        "1".into(),
    ];
    args.extend([
        "--disk".into(),
        img_s.into(),
        program_path("fsprops").to_str().unwrap().into(),
        "/".into(),
    ]);
    let mut expected = Vec::new();
    let mut models = Vec::new();
    for (k, script) in scripts.iter().enumerate() {
        args.push("-p".into());
        let mut model = Model::default();
        for (i, op) in script.iter().enumerate() {
            args.push(op.arg());
            expected.push(format!("{k} {i}: {}", model.apply(op)));
        }
        models.push(model);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rvmsmp(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    prop_assert_eq!(out.status.code(), Some(0), "fsprops failed:\n{}{}", stdout, stderr);
    let mut lines: Vec<&str> = stdout.lines().collect();
    prop_assert_eq!(lines.pop(), Some("fsprops: done"), "{}", stdout);
    // Each process's lines in its order; the processes interleave.
    let key = |l: &str| -> (usize, usize) {
        let (k, rest) = l.split_once(' ').unwrap();
        (k.parse().unwrap(), rest.split(':').next().unwrap().parse().unwrap())
    };
    lines.sort_by_key(|l| key(l));
    prop_assert_eq!(lines.join("\n"), expected.join("\n"));

    let check = rvmsmp(&["fs", "check", img_s]);
    let report = String::from_utf8_lossy(&check.stdout).into_owned() + &String::from_utf8_lossy(&check.stderr);
    prop_assert!(check.status.success() && !report.contains("orphan"), "{}", report);
    for (k, model) in models.iter().enumerate() {
        for name in 0..NAMES {
            let path = format!("/p{k}/n{name}");
            let got = rvmsmp(&["fs", "get", img_s, &path, "-"]);
            match model.names.get(&name) {
                Some(&id) => {
                    prop_assert!(got.status.success(), "{} is missing", path);
                    prop_assert!(got.stdout == model.files[id], "{} differs from the model", path);
                }
                None => prop_assert!(!got.status.success(), "{} exists, the model says not", path),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::common::proptest_config(48))]

    /// Several processes, files up to 5 MiB.
    #[test]
    fn file_calls_from_several_processes_match_the_model(
        scripts in prop::collection::vec(prop::collection::vec(op(position().boxed(), 65_536), 1..40), 1..=3),
        harts in 2usize..=4,
        case in any::<u64>(),
    ) {
        check_scripts(&scripts, harts, case)?;
    }

    /// One process, long scripts in the first few blocks of its files.
    #[test]
    fn file_calls_near_block_boundaries_match_the_model(
        script in prop::collection::vec(op(near_position().boxed(), 2 * BSIZE), 1..80),
        case in any::<u64>(),
    ) {
        check_scripts(&[script], 2, case)?;
    }
}

#[test]
fn bytes_past_a_truncation_read_as_zeros_when_the_file_grows_again() {
    // A truncation to the middle of a block keeps the block; a later write
    // further on must not bring back what the block held past the end.
    let script = vec![
        Op::Open { name: 0, slot: 0 },
        Op::Write {
            slot: 0,
            off: 0,
            len: BSIZE,
            seed: 1,
        },
        Op::Truncate { slot: 0, len: 100 },
        Op::Write {
            slot: 0,
            off: 2 * BSIZE,
            len: 10,
            seed: 2,
        },
        Op::Read {
            slot: 0,
            off: 0,
            len: BSIZE,
        },
        Op::Truncate { slot: 0, len: 50 },
        Op::Truncate {
            slot: 0,
            len: 3 * BSIZE,
        },
        Op::Read {
            slot: 0,
            off: 0,
            len: 3 * BSIZE,
        },
    ];
    check_scripts(&[script], 2, 0).unwrap();
}
