//! The kernel's file system on the disk (issue #5), through the command
//! line as a user runs it: `rvmsmp mkfs` makes an image, `rvmsmp run
//! --disk` runs programs on it, `rvmsmp fs get` and `rvmsmp fs check` look
//! at what they left. Sixteen processes on eight harts write and read back
//! their own files, byte for byte and the same on every run; a run stopped
//! by `--max-cycles` leaves a consistent image holding every file whose
//! fsync returned; `cat`, `wc` and `cp` agree with the host's; the file
//! calls agree with Linux (fscheck, also under qemu-riscv64); a corrupt
//! image gives EIO or a clear stop; without a disk, file calls fail with
//! ENOENT; `rvmsmp sweep --disk` gives every run the image and leaves it
//! unchanged. (The device itself is tested in `disk_device`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{have, rvmsmp_bin};
use crate::kernel::program_path;

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rvmsmp-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rvmsmp(args: &[&str]) -> Output {
    Command::new(rvmsmp_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `rvmsmp mkfs IMG DIR`, with `files` (relative path, contents) in DIR.
fn mkfs(scratch: &Scratch, image: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let root = scratch.path(&format!("{image}.root"));
    std::fs::create_dir_all(&root).unwrap();
    for (name, data) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, data).unwrap();
    }
    let img = scratch.path(image);
    let out = rvmsmp(&["mkfs", s(&img), s(&root)]);
    assert!(out.status.success(), "mkfs: {}", text(&out.stderr));
    img
}

/// `rvmsmp mkfs` of an empty tree into an image of `size_mib` MiB.
fn empty_image(scratch: &Scratch, image: &str, size_mib: u32) -> PathBuf {
    let root = scratch.path(&format!("{image}.root"));
    std::fs::create_dir_all(&root).unwrap();
    let img = scratch.path(image);
    let out = rvmsmp(&["mkfs", s(&img), s(&root), "--size", &size_mib.to_string()]);
    assert!(out.status.success(), "mkfs: {}", text(&out.stderr));
    img
}

/// `rvmsmp run --disk IMG` of a program with its arguments, on `harts`
/// harts with `procs` processes; `extra` options go before the program.
fn run(image: Option<&Path>, harts: usize, procs: usize, extra: &[&str], program: &str, args: &[&str]) -> Output {
    let harts = harts.to_string();
    let procs = procs.to_string();
    let elf = program_path(program);
    let mut cmd: Vec<&str> = vec!["run", "--harts", &harts, "--procs", &procs];
    if let Some(image) = image {
        cmd.extend(["--disk", s(image)]);
    }
    cmd.extend(extra);
    cmd.push(s(&elf));
    cmd.extend(args);
    rvmsmp(&cmd)
}

/// `rvmsmp fs check IMG`: whether it is clean, and what it said.
fn check(image: &Path) -> (bool, String) {
    let out = rvmsmp(&["fs", "check", s(image)]);
    (out.status.success(), text(&out.stdout) + &text(&out.stderr))
}

/// `rvmsmp fs get IMG PATH -`: the file's bytes, or None.
fn get(image: &Path, path: &str) -> Option<Vec<u8>> {
    let out = rvmsmp(&["fs", "get", s(image), path, "-"]);
    out.status.success().then_some(out.stdout)
}

/// The file fswork's process `pid` writes: byte i is byte i % 8 of
/// splitmix64(pid << 32 | i / 8), little-endian.
fn fswork_pattern(pid: u64, size: usize) -> Vec<u8> {
    let splitmix64 = |x: u64| {
        let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..size)
        .map(|i| (splitmix64(pid << 32 | (i / 8) as u64) >> (8 * (i % 8))) as u8)
        .collect()
}

/// The pids whose fswork process printed `what` ("fsync done", "read back ok").
fn pids_that_said(output: &str, what: &str) -> Vec<u64> {
    output
        .lines()
        .filter(|l| l.starts_with("fswork: pid ") && l.ends_with(what))
        .map(|l| l["fswork: pid ".len()..].split(':').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn sixteen_processes_on_eight_harts_write_and_read_back_their_files() {
    let scratch = Scratch::new("acceptance");
    let mut runs = Vec::new();
    for round in 0..2 {
        let img = mkfs(&scratch, &format!("run{round}.img"), &[]);
        let out = run(Some(&img), 8, 16, &["--stats"], "fswork", &[]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
        let mut done = pids_that_said(&stdout, "read back ok");
        done.sort();
        assert_eq!(done, (1..=16).collect::<Vec<u64>>(), "{stdout}");
        for pid in 1..=16 {
            let file = get(&img, &format!("/f{pid}")).unwrap_or_else(|| panic!("/f{pid} is missing"));
            assert!(
                file == fswork_pattern(pid, 65536),
                "/f{pid} differs from what pid {pid} wrote"
            );
        }
        let (clean, report) = check(&img);
        assert!(clean, "{report}");
        let stats = text(&out.stderr);
        assert!(stats.contains("time blocked on I/O:"), "{stats}");
        runs.push((stdout, stats, std::fs::read(&img).unwrap()));
    }
    assert_eq!(runs[0].0, runs[1].0, "two runs printed different output");
    assert_eq!(runs[0].1, runs[1].1, "two runs gave different statistics");
    assert!(runs[0].2 == runs[1].2, "two runs left different images");
}

#[test]
fn a_run_stopped_mid_workload_keeps_every_fsynced_file_and_a_consistent_image() {
    let scratch = Scratch::new("stopped");
    // Cuts from before the first commit to the last installs: while
    // transactions are logged, committed and installed.
    let mut synced_somewhere = false;
    let mut committed_log_seen: Option<(PathBuf, Vec<u64>)> = None;
    for cut in [
        2_000_000u64,
        9_000_000,
        12_345_678,
        17_000_000,
        25_000_000,
        31_000_000,
        33_000_000,
    ] {
        let img = mkfs(&scratch, &format!("cut{cut}.img"), &[]);
        let max = cut.to_string();
        let out = run(Some(&img), 8, 16, &["--max-cycles", &max], "fswork", &[]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(124),
            "cut at {cut}: {stdout}{}",
            text(&out.stderr)
        );
        let (clean, report) = check(&img);
        assert!(clean, "cut at {cut}: {report}");
        let synced = pids_that_said(&stdout, "fsync done");
        if report.contains("committed log") && !synced.is_empty() {
            committed_log_seen.get_or_insert((img.clone(), synced.clone()));
        }
        for pid in synced {
            synced_somewhere = true;
            let file = get(&img, &format!("/f{pid}"));
            assert!(
                file.as_deref() == Some(&fswork_pattern(pid, 65536)[..]),
                "cut at {cut}: pid {pid}'s fsync returned, but /f{pid} is not what it wrote"
            );
        }
    }
    assert!(synced_somewhere, "no cut came after an fsync: the cuts need moving");
    // The kernel installs a committed log at boot, and then sees the files.
    let (img, synced) = committed_log_seen.expect("no cut left a committed log to install: the cuts need moving");
    let file = format!("/f{}", synced[0]);
    let out = run(Some(&img), 2, 1, &[], "cat", &[&file]);
    let stdout = out.stdout;
    let messages = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{messages}");
    assert!(
        messages.starts_with("rvmsmp kernel: disk: installed a committed transaction of "),
        "{messages}"
    );
    assert!(
        stdout == fswork_pattern(synced[0], 65536),
        "cat {file} after the install"
    );
    let (clean, report) = check(&img);
    assert!(clean, "{report}");
    assert!(
        !report.contains("committed log"),
        "the kernel left the log uninstalled: {report}"
    );
}

/// Host files for cat, wc and cp: text with every kind of white space, an
/// empty file, bytes that are not text, and a file larger than one read.
fn sample_files() -> Vec<(&'static str, Vec<u8>)> {
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| {
            if i % 61 == 60 {
                b'\n'
            } else {
                b"abc de\tf"[(i % 8) as usize]
            }
        })
        .collect();
    vec![
        ("poem.txt", b"Tyger Tyger, burning bright,\nIn the forests of the night;\n\n  What immortal hand or eye,\r\nCould frame thy\tfearful\x0bsymmetry?".to_vec()),
        ("empty", Vec::new()),
        ("binary", (0..=255u8).cycle().take(5000).collect()),
        ("dir/big.txt", big),
    ]
}

#[test]
fn cat_wc_and_cp_agree_with_the_host() {
    let scratch = Scratch::new("tools");
    let files = sample_files();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (*n, &d[..])).collect();
    let img = mkfs(&scratch, "tools.img", &refs);
    let host_root = scratch.path("tools.img.root");

    // cat: the files, in order; a missing one is reported and the rest still copied.
    let out = run(
        Some(&img),
        2,
        1,
        &[],
        "cat",
        &["/poem.txt", "/empty", "/binary", "/dir/big.txt"],
    );
    assert_eq!(out.status.code(), Some(0));
    let expected: Vec<u8> = files.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    assert!(out.stdout == expected, "cat printed something else");
    let out = run(Some(&img), 2, 1, &[], "cat", &["/nosuch", "/poem.txt", "/dir"]);
    assert_eq!(out.status.code(), Some(1));
    let (printed, errors) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        errors,
        "cat: /nosuch: No such file or directory\ncat: /dir: Is a directory\n"
    );
    assert!(printed.contains("Tyger Tyger"), "{printed}");

    // wc: as coreutils' wc in the C locale, columns included.
    if have("wc") {
        for args in [
            &["poem.txt", "empty", "binary", "dir/big.txt"][..],
            &["poem.txt"],
            &["-l", "dir/big.txt"],
            &["-w", "poem.txt", "binary"],
        ] {
            let host = Command::new("wc")
                .args(args)
                .current_dir(&host_root)
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            let guest_args: Vec<String> = args
                .iter()
                .map(|a| {
                    if a.starts_with('-') {
                        a.to_string()
                    } else {
                        format!("/{a}")
                    }
                })
                .collect();
            let guest_args: Vec<&str> = guest_args.iter().map(String::as_str).collect();
            let out = run(Some(&img), 2, 1, &[], "wc", &guest_args);
            assert_eq!(out.status.code(), Some(0));
            // The guest names files from /, the host from its directory.
            assert_eq!(text(&out.stdout).replace(" /", " "), text(&host.stdout), "wc {args:?}");
        }
    }

    // cp: a copy, byte for byte, also into a directory; then the image is clean.
    let out = run(Some(&img), 2, 1, &[], "cp", &["/dir/big.txt", "/copy"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(get(&img, "/copy").unwrap() == files[3].1, "cp's copy differs");
    let out = run(Some(&img), 2, 1, &[], "cp", &["/poem.txt", "/dir"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(get(&img, "/dir/poem.txt").unwrap() == files[0].1, "cp into a directory");
    let out = run(Some(&img), 2, 1, &[], "cp", &["/nosuch", "/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "cp: cannot stat '/nosuch': No such file or directory\n"
    );
    let (clean, report) = check(&img);
    assert!(clean, "{report}");
}

#[test]
fn file_calls_agree_with_linux() {
    let scratch = Scratch::new("fscheck");
    let img = mkfs(&scratch, "fscheck.img", &[]);
    // Once alone, once with the master running processes too (a disk
    // interrupt then arrives while hart 0 is in user mode).
    let mut outputs = Vec::new();
    for extra in [&[][..], &["--master-runs-user"]] {
        let out = run(Some(&img), 3, 1, extra, "fscheck", &[]);
        let printed = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{printed}");
        assert!(printed.lines().all(|l| l.ends_with(": ok")), "{printed}");
        outputs.push(printed);
    }
    assert_eq!(outputs[0], outputs[1]);
    let (clean, report) = check(&img);
    assert!(clean, "{report}");
    if have("qemu-riscv64") {
        let dir = scratch.path("linux");
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("qemu-riscv64")
            .arg(program_path("fscheck"))
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(
            text(&out.stdout),
            outputs[0],
            "fscheck prints something else under Linux"
        );
    }
}

const BLOCK: usize = 4096;

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

/// Where things are in an image (docs/fs-format.md), read from its superblock.
struct Layout {
    logstart: usize,
    inodestart: usize,
}

impl Layout {
    fn of(image: &[u8]) -> Layout {
        Layout {
            logstart: u32_at(image, BLOCK + 24),
            inodestart: u32_at(image, BLOCK + 28),
        }
    }

    /// The byte offset of inode i.
    fn inode(&self, i: usize) -> usize {
        self.inodestart * BLOCK + 128 * i
    }

    /// The byte offset of the root directory's first block.
    fn root_data(&self, image: &[u8]) -> usize {
        u32_at(image, self.inode(1) + 72) * BLOCK
    }
}

/// A change to an image.
type Damage = fn(&mut [u8], &Layout);

/// A fresh image with /a.txt and /sub/b.txt (mkfs numbers inodes depth
/// first in name order: / is 1, a.txt 2, sub 3), damaged.
fn damaged(scratch: &Scratch, damage: Damage) -> PathBuf {
    let files: &[(&str, &[u8])] = &[("a.txt", b"hello world\n"), ("sub/b.txt", b"one two\n")];
    let img = mkfs(scratch, "damaged.img", files);
    let mut bytes = std::fs::read(&img).unwrap();
    let layout = Layout::of(&bytes);
    damage(&mut bytes, &layout);
    std::fs::write(&img, bytes).unwrap();
    img
}

#[test]
fn a_corrupt_image_gives_eio_or_a_clear_stop() {
    let scratch = Scratch::new("corrupt");
    // Damage a call meets: that call fails with EIO, the others go on.
    let eio: [(&str, Damage); 5] = [
        ("block out of range", |b, l| {
            let at = l.inode(2) + 72;
            b[at..at + 4].copy_from_slice(&999_999u32.to_le_bytes());
        }),
        ("unknown inode type", |b, l| {
            let at = l.inode(2);
            b[at..at + 2].copy_from_slice(&7u16.to_le_bytes());
        }),
        ("entry names an inode past the table", |b, l| {
            let at = l.root_data(b) + 2 * 64;
            b[at..at + 4].copy_from_slice(&1_000_000u32.to_le_bytes());
        }),
        ("entry names a free inode", |b, l| {
            let at = l.root_data(b) + 2 * 64;
            b[at..at + 4].copy_from_slice(&900u32.to_le_bytes());
        }),
        ("size past the largest file", |b, l| {
            let at = l.inode(2) + 16;
            b[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        }),
    ];
    for (what, damage) in eio {
        let img = damaged(&scratch, damage);
        let out = run(Some(&img), 2, 1, &[], "cat", &["/a.txt", "/sub/b.txt"]);
        let printed = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{what}: {printed}");
        assert_eq!(printed, "one two\n", "{what}");
        assert_eq!(text(&out.stderr), "cat: /a.txt: Input/output error\n", "{what}");
    }

    // Damage the kernel must refuse at boot: a message and status 74.
    let stops: [(&str, Damage); 4] = [
        (
            "bad superblock: the inode count is not a positive multiple of 32",
            |b, _| {
                b[BLOCK + 16] = 65;
            },
        ),
        ("the log header says 5000 blocks; the log holds 126", |b, l| {
            let at = l.logstart * BLOCK;
            b[at..at + 8].copy_from_slice(&[0x88, 0x13, 0, 0, 2, 0, 0, 0]);
        }),
        (
            "the log names block 1, which is not an inode, bitmap or data block",
            |b, l| {
                let at = l.logstart * BLOCK;
                b[at..at + 8].copy_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
            },
        ),
        ("the root directory (inode 1) is not a directory", |b, l| {
            let at = l.inode(1);
            b[at..at + 2].copy_from_slice(&2u16.to_le_bytes());
        }),
    ];
    for (message, damage) in stops {
        let img = damaged(&scratch, damage);
        let out = run(Some(&img), 2, 1, &[], "cat", &["/a.txt"]);
        let printed = text(&out.stderr);
        assert_eq!(out.status.code(), Some(74), "{message}: {printed}{}", text(&out.stdout));
        assert_eq!(printed, format!("rvmsmp kernel: disk: {message}; stopping\n"));
    }
}

#[test]
fn without_a_disk_files_live_in_ram() {
    // `/` is then the file system in RAM: empty but for bin, dev and tmp.
    let out = run(None, 2, 1, &[], "cat", &["/a.txt"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "cat: /a.txt: No such file or directory\n");
    let out = run(None, 3, 2, &[], "fswork", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "fswork: pid 1: /f1: 65536 bytes written, fsync done\n\
         fswork: pid 2: /f2: 65536 bytes written, fsync done\n\
         fswork: pid 1: /f1: read back ok\n\
         fswork: pid 2: /f2: read back ok\n"
    );
}

#[test]
fn many_processes_share_a_small_cache_and_finish() {
    // 24 processes write and read back 128 KiB each: 3 MiB through a
    // 2 MiB cache, so reads come back from the disk while other calls
    // wait for reads, for a holder's place, for log space and for commits.
    let scratch = Scratch::new("pressure");
    let img = mkfs(&scratch, "pressure.img", &[]);
    let out = run(Some(&img), 8, 24, &[], "fswork", &["-s", "131072", "-c", "10000"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(pids_that_said(&stdout, "read back ok").len(), 24, "{stdout}");
    let (clean, report) = check(&img);
    assert!(clean, "{report}");
}

#[test]
fn the_kernel_uses_the_disk_on_qemu_system_virt() {
    if !have("qemu-system-riscv64") {
        return;
    }
    let scratch = Scratch::new("qemu");
    let img = mkfs(&scratch, "qemu.img", &[]);
    let initrd = scratch.path("fswork.cpio");
    let program = std::fs::read(program_path("fswork")).unwrap();
    std::fs::write(&initrd, rvmsmp::kernel::initramfs("fswork.elf", &program)).unwrap();
    let kernel = Path::new(env!("CARGO_MANIFEST_DIR")).join("guest-os/build/kernel.elf");
    let drive = format!("file={},if=none,format=raw,id=d", s(&img));
    let out = Command::new("timeout")
        .arg("120")
        .arg("qemu-system-riscv64")
        .args([
            "-machine",
            "virt",
            "-bios",
            "none",
            "-smp",
            "4",
            "-m",
            "128M",
            "-nographic",
            "-monitor",
            "none",
        ])
        .args([
            "-global",
            "virtio-mmio.force-legacy=false",
            "-drive",
            &drive,
            "-device",
            "virtio-blk-device,drive=d",
        ])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", "procs=6 -- fswork.elf -s 100000"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(pids_that_said(&stdout, "read back ok").len(), 6, "{stdout}");
    for pid in 1..=6 {
        assert!(
            get(&img, &format!("/f{pid}")).unwrap() == fswork_pattern(pid, 100000),
            "/f{pid}"
        );
    }
    let (clean, report) = check(&img);
    assert!(clean, "{report}");
}

#[test]
fn a_sweep_gives_every_run_the_disk_and_leaves_the_image_unchanged() {
    let scratch = Scratch::new("sweep");
    let img = mkfs(&scratch, "sweep.img", &[("hello.txt", b"hello\n")]);
    let before = std::fs::read(&img).unwrap();
    let out_dir = scratch.path("out");
    let elf = program_path("fswork");
    let sweep = |disk: Option<&Path>| {
        let mut args = vec!["sweep", "--harts", "1..3", "--out", s(&out_dir)];
        if let Some(disk) = disk {
            args.extend(["--disk", s(disk)]);
        }
        args.extend([s(&elf), "-s", "8192"]);
        rvmsmp(&args)
    };

    // fswork writes and reads back a file per process: every run must
    // have had a disk to succeed.
    let out = sweep(Some(&img));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read(&img).unwrap() == before, "the sweep changed the image");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json["options"]["disk"], "sweep.img");
    assert_eq!(json["rows"].as_array().unwrap().len(), 3);

    // Without it, every run has the file system in RAM instead.
    let out = sweep(None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("sweep.json")).unwrap()).unwrap();
    assert!(json["options"]["disk"].is_null(), "{}", json["options"]);

    // An image that is not one is refused before any run, naming it.
    let bad = scratch.path("bad.img");
    std::fs::write(&bad, b"not a disk").unwrap();
    let out = sweep(Some(&bad));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.img") && stderr.lines().count() == 1, "{stderr}");
}

#[test]
fn a_program_that_takes_every_free_page_cannot_starve_the_buffer_cache() {
    // Issue 17, item 9: memfull maps and touches memory until mmap says
    // ENOMEM, then writes 300 files; the cache's pages were set aside at
    // mount, so the kernel does not panic and the files are all there.
    let scratch = Scratch::new("memfull");
    let img = mkfs(&scratch, "memfull.img", &[]);
    let out = run(Some(&img), 2, 1, &[], "memfull", &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout, "memfull: ok\n");
    let (clean, report) = check(&img);
    assert!(clean, "{report}");
    assert_eq!(get(&img, "/m299").map(|d| d.len()), Some(5000));
}

#[test]
fn a_bitmap_that_marks_used_blocks_free_is_refused_at_mount() {
    // Issue 17, item 10: with the bitmap block zeroed, allocating would
    // hand out the root directory's block again (cp once wrote its copy
    // over it). The kernel refuses the image at boot and leaves it as it was.
    let scratch = Scratch::new("zero-bitmap");
    let img = damaged(&scratch, |b, _| {
        let bmapstart = u32_at(b, BLOCK + 32);
        b[bmapstart * BLOCK..(bmapstart + 1) * BLOCK].fill(0);
    });
    let before = std::fs::read(&img).unwrap();
    let root_block = Layout::of(&before).root_data(&before) / BLOCK;
    let out = run(Some(&img), 2, 1, &[], "cp", &["/a.txt", "/copy.txt"]);
    assert_eq!(
        out.status.code(),
        Some(74),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "rvmsmp kernel: disk: the block bitmap marks block {root_block} free, but inode 1 uses it (the image is \
             corrupt: `rvmsmp fs check IMG` lists the damage; remake it with `rvmsmp mkfs`); stopping\n"
        )
    );
    assert!(std::fs::read(&img).unwrap() == before, "the image changed");
}

/// Word k of the file `bigfile PATH MIB` writes (programs/bigfile.c).
fn bigfile_word(k: u64) -> u64 {
    (k + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[test]
fn a_1_gib_file_is_written_read_back_extracted_and_removed() {
    // Issue 16, acceptance 3: a file past the double-indirect boundary
    // (4 MiB and a bit), written through the buffer cache and the log,
    // fsync'd, read back by the guest, checked by `fs check` and extracted
    // by `fs get` byte for byte; then truncated to half and removed, which
    // frees it in many bounded transactions.
    let scratch = Scratch::new("bigfile");
    let img = empty_image(&scratch, "big.img", 1100);
    let out = run(Some(&img), 2, 1, &[], "bigfile", &["/big", "1024"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "bigfile: /big: 1024 MiB written, fsync done\nbigfile: /big: read back ok\n"
    );
    let (clean, report) = check(&img);
    assert!(clean && report.contains("1 files"), "{report}");

    let extracted = scratch.path("big.out");
    let out = rvmsmp(&["fs", "get", s(&img), "/big", s(&extracted)]);
    assert!(out.status.success(), "fs get: {}", text(&out.stderr));
    let mut file = std::fs::File::open(&extracted).unwrap();
    let mut chunk = vec![0u8; 1 << 20];
    for c in 0..1024u64 {
        std::io::Read::read_exact(&mut file, &mut chunk).unwrap();
        for (i, w) in chunk.chunks_exact(8).enumerate() {
            let k = c * (1 << 17) + i as u64;
            assert_eq!(
                u64::from_le_bytes(w.try_into().unwrap()),
                bigfile_word(k),
                "word {k} of /big"
            );
        }
    }
    assert_eq!(
        std::io::Read::read(&mut file, &mut chunk).unwrap(),
        0,
        "fs get wrote more than 1 GiB"
    );
    drop(file);
    std::fs::remove_file(&extracted).unwrap();

    let out = run(Some(&img), 2, 1, &[], "bigfile", &["-x", "/big", "1024"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(text(&out.stdout), "bigfile: /big: truncated to 512 MiB and removed\n");
    let (clean, report) = check(&img);
    assert!(
        clean && report.contains("0 files") && report.contains(" 1 of "),
        "{report}"
    );
}

#[test]
fn writing_until_the_disk_is_full_gives_enospc_and_leaves_it_consistent() {
    // Issue 16, bad input: a program that writes until the disk is full
    // gets ENOSPC (after a short count for the write that filled it); the
    // file system stays consistent, what was written stays readable, and a
    // second program's write fails the same way.
    let scratch = Scratch::new("full");
    let img = empty_image(&scratch, "full.img", 4);
    let out = run(Some(&img), 2, 1, &[], "bigfile", &["/big", "16"]);
    let stdout = text(&out.stdout); // where the runtime's die() reports
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("bigfile: /big: write at MiB 3: "), "{stdout}");
    let (clean, report) = check(&img);
    assert!(clean, "{report}");
    let full = report
        .split(", ")
        .find(|p| p.ends_with("data blocks in use"))
        .unwrap()
        .to_string();
    let used: Vec<&str> = full.split(' ').collect();
    assert_eq!(used[0], used[2], "the disk is not full: {report}");
    let big = get(&img, "/big").unwrap();
    assert!(big.len() > 3 << 20, "{} bytes", big.len());
    for (k, w) in big.chunks_exact(8).enumerate() {
        assert_eq!(
            u64::from_le_bytes(w.try_into().unwrap()),
            bigfile_word(k as u64),
            "word {k}"
        );
    }

    let out = run(Some(&img), 2, 1, &[], "cp", &["/big", "/copy"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "cp: error writing '/copy': No space left on device\n"
    );
    let (clean, report) = check(&img);
    assert!(clean, "{report}");
    assert_eq!(get(&img, "/big").unwrap(), big);
}
