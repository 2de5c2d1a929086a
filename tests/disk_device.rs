//! The disk from a guest's side: tests/guest/virtio_blk.S, a bare-metal
//! driver written against the virtio 1.1 specification, runs on `rvmsmp
//! bare --disk` and reads and writes an image; the image is checked
//! afterwards, `--snapshot` must leave it byte-identical, completion times
//! must be exact, a run stopped at any cycle must hold every write the
//! guest saw complete, and the same program on qemu-system-riscv64 must
//! print the same and leave the same image.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{have, run_with_timeout, rvmsmp_bin, Captured};
use rvmsmp::devices::annotate::IoWaitRecord;
use rvmsmp::devices::uart::NoInput;
use rvmsmp::devices::virtio_blk::{DiskImage, VirtioBlk, DEFAULT_LATENCY};
use rvmsmp::fdt::FdtOptions;
use rvmsmp::loader::ElfImage;
use rvmsmp::report::Report;
use rvmsmp::{ExitReason, Machine, MachineConfig};

const SECTORS: usize = 128;

/// What the driver prints on a 128-sector image whose sector 0 starts with
/// "rvmsmp disk test: sector 0".
const EXPECTED: &str = "\
virtio-blk: magic 0x74726976 version 0x2 device 0x2 vendor 0x554d4551
features: VERSION_1 and FLUSH negotiated
capacity: 0x80
sector 0: rvmsmp disk test: sector 0
write sector 1: status 0x0
flush: status 0x0
sector 1: written by the guest
read past the end: status 0x1
get id: status 0x0
done
";

/// Requests the driver makes, each waited for before the next.
const REQUESTS: u64 = 6;

fn program() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest/bin/virtio_blk.elf")
}

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rvmsmp-disk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// A fresh copy of the test image.
    fn image(&self, name: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, original()).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The test image: a line of text in sector 0, a pattern in the others.
fn original() -> Vec<u8> {
    let mut bytes = vec![0u8; SECTORS * 512];
    let text = b"rvmsmp disk test: sector 0\n";
    bytes[..text.len()].copy_from_slice(text);
    for (i, b) in bytes.iter_mut().enumerate().skip(1024) {
        *b = (i * 7 + i / 512) as u8;
    }
    bytes
}

/// The image as the driver leaves it: sector 1 holds its line, zero-padded.
fn expected_image() -> Vec<u8> {
    let mut bytes = original();
    let text = b"written by the guest\n";
    bytes[512..1024].fill(0);
    bytes[512..512 + text.len()].copy_from_slice(text);
    bytes
}

/// FNV-1a, 64 bits: a checksum to name an image by.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs the driver in-process on `image`; returns the machine and its console.
fn run(image: &Path, snapshot: bool, latency: u64, harts: usize, max_cycles: Option<u64>) -> (Machine, String) {
    run_with(image, snapshot, latency, harts, max_cycles, |_| {})
}

fn run_with(
    image: &Path,
    snapshot: bool,
    latency: u64,
    harts: usize,
    max_cycles: Option<u64>,
    setup: impl FnOnce(&mut Machine),
) -> (Machine, String) {
    let out = Captured::default();
    let config = MachineConfig {
        harts,
        ram_size: 16 << 20,
        max_cycles,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).unwrap();
    m.bus.virtio_blk = Some(VirtioBlk::new(DiskImage::open(image, snapshot).unwrap(), latency));
    let bytes = std::fs::read(program()).unwrap();
    let elf = ElfImage::parse(&program(), &bytes).unwrap();
    m.boot_bare(&program(), &elf, &FdtOptions::default()).unwrap();
    setup(&mut m);
    m.run();
    (m, out.text())
}

#[test]
fn the_driver_reads_and_writes_the_image() {
    let scratch = Scratch::new("rw");
    let image = scratch.image("disk.img");
    let (m, console) = run(&image, false, DEFAULT_LATENCY, 2, Some(100_000_000));
    assert_eq!(m.bus.exit, Some(ExitReason::Finisher(0)), "console:\n{console}");
    assert_eq!(console, EXPECTED);
    assert_eq!(std::fs::read(&image).unwrap(), expected_image());
    let stats = m.bus.virtio_blk.as_ref().unwrap().stats;
    assert_eq!((stats.reads, stats.writes, stats.flushes, stats.other), (3, 1, 1, 1));
    assert_eq!((stats.sectors_read, stats.sectors_written, stats.errors), (2, 1, 1));
    assert_eq!(stats.busy_cycles, REQUESTS * DEFAULT_LATENCY);
}

#[test]
fn snapshot_leaves_the_image_byte_identical() {
    let scratch = Scratch::new("snapshot");
    let image = scratch.image("disk.img");
    let before = checksum(&std::fs::read(&image).unwrap());
    let out = Command::new(rvmsmp_bin())
        .args(["bare", "--disk"])
        .arg(&image)
        .arg("--snapshot")
        .arg(program())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // The guest read its own write back (from memory)...
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED);
    // ...and the file is untouched.
    let after = checksum(&std::fs::read(&image).unwrap());
    assert_eq!(before, after, "checksum before {before:016x}, after {after:016x}");
    assert_eq!(std::fs::read(&image).unwrap(), original());

    // Without --snapshot, the same command line writes the file.
    let out = Command::new(rvmsmp_bin())
        .args(["bare", "--disk"])
        .arg(&image)
        .arg(program())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read(&image).unwrap(), expected_image());
}

#[test]
fn completion_comes_at_an_exact_cycle() {
    let scratch = Scratch::new("exact");
    // The driver waits for each request in WFI, so every extra cycle of
    // latency adds exactly one cycle to the run, request by request,
    // whatever the quantum (the rounds are cut at each completion).
    let cycles = |latency: u64| {
        let image = scratch.image("disk.img");
        let (m, console) = run(&image, false, latency, 1, Some(100_000_000));
        assert_eq!(console, EXPECTED, "latency {latency}");
        m.harts[0].cycle
    };
    let base = cycles(10_000);
    assert_eq!(cycles(10_000), base, "the same run gives the same cycles");
    assert_eq!(cycles(10_001), base + REQUESTS);
    assert_eq!(cycles(12_345), base + REQUESTS * 2_345);
    assert_eq!(cycles(1_000_000), base + REQUESTS * 990_000);
}

#[test]
fn a_run_stopped_at_any_cycle_keeps_every_completed_write() {
    let scratch = Scratch::new("stop");
    let image = scratch.image("full.img");
    let (full, _) = run(&image, false, 20_000, 1, None);
    let end = full.harts[0].cycle;
    // Stop the run at many points; whenever the guest has seen its write
    // complete (and printed so), the file has it; sector 1 is never torn.
    let mut seen_both = [false, false];
    for i in 1..40 {
        let stop = end * i / 40;
        let image = scratch.image("stopped.img");
        let (m, console) = run(&image, false, 20_000, 1, Some(stop));
        assert_eq!(m.bus.exit, Some(ExitReason::MaxCycles));
        let bytes = std::fs::read(&image).unwrap();
        let written = bytes == expected_image();
        assert!(written || bytes == original(), "stopped at {stop}: sector 1 torn");
        if console.contains("write sector 1: status 0x0") {
            assert!(
                written,
                "stopped at {stop}: the guest saw its write complete, the file lacks it"
            );
        }
        seen_both[written as usize] = true;
    }
    assert_eq!(seen_both, [true, true], "stops fell both before and after the write");
}

#[test]
fn reports_and_traces_show_the_disk_and_time_blocked_on_io() {
    let scratch = Scratch::new("report");
    let image = scratch.image("disk.img");
    let (mut m, _) = run_with(&image, true, DEFAULT_LATENCY, 1, None, |m| m.record_timelines());
    // The bare driver writes no annotations: stand in for a kernel's
    // IO_WAIT / IO_DONE, one wait finished and one still open at the end.
    let end = m.harts[0].cycle;
    let a = &mut m.bus.annotate;
    a.pids.extend([1, 2]);
    a.io_waits = vec![
        IoWaitRecord {
            pid: 1,
            block: 9,
            start: 1000,
            end: Some(6000),
        },
        IoWaitRecord {
            pid: 2,
            block: 0,
            start: end - 500,
            end: None,
        },
    ];
    let report = Report::of(&m);
    let disk = report.disk.as_ref().expect("a disk was attached");
    assert_eq!((disk.reads, disk.writes, disk.flushes, disk.errors), (3, 1, 1, 1));
    assert!(disk.snapshot);
    assert_eq!(disk.busy_cycles, REQUESTS * DEFAULT_LATENCY);
    let io = &report.summary.io_blocked;
    assert_eq!((io.waits, io.total_cycles, io.processes), (2, 5500, 2));

    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/stats.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(json["disk"]["sectors"], SECTORS as u64);
    assert_eq!(json["summary"]["io_blocked"]["per_process"][0]["cycles"], 5000);

    let table = report.to_table();
    assert!(
        table.contains("time blocked on I/O: 5500 cycles in 2 waits")
            && table.contains("per process mean 2750.0 over 2 processes"),
        "{table}"
    );
    assert!(
        table.contains("disk: 3 reads (2 sectors), 1 writes (1 sectors), 1 flushes, 1 errors"),
        "{table}"
    );

    let mut trace = Vec::new();
    rvmsmp::trace::write_json(&m, &mut trace, rvmsmp::trace::Window::default(), 1_000_000).unwrap();
    let trace: serde_json::Value = serde_json::from_slice(&trace).unwrap();
    let waits: Vec<&serde_json::Value> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "io")
        .collect();
    assert_eq!(waits.len(), 2);
    assert_eq!(waits[0]["tid"], rvmsmp::trace::IO_TID_BASE + 1);
    assert_eq!(
        (waits[0]["ts"].as_f64(), waits[0]["dur"].as_f64()),
        (Some(1.0), Some(5.0))
    );
    assert_eq!(waits[1]["args"]["pid"], 2);
}

#[test]
fn the_device_tree_names_the_disk_only_when_there_is_one() {
    let with = rvmsmp::fdt::build(
        1,
        rvmsmp::memmap::dram(16 << 20),
        &FdtOptions {
            virtio_blk: true,
            ..FdtOptions::default()
        },
    )
    .unwrap();
    let without = rvmsmp::fdt::build(1, rvmsmp::memmap::dram(16 << 20), &FdtOptions::default()).unwrap();
    let has = |blob: &[u8], s: &[u8]| blob.windows(s.len()).any(|w| w == s);
    assert!(has(&with, b"virtio_mmio@10001000\0"));
    assert!(has(&with, b"virtio,mmio\0"));
    assert!(!has(&without, b"virtio_mmio"));
}

#[test]
fn the_same_driver_on_qemu_prints_the_same_and_leaves_the_same_image() {
    if !have("qemu-system-riscv64") {
        return;
    }
    let scratch = Scratch::new("qemu");
    let ours = scratch.image("ours.img");
    let (_, console) = run(&ours, false, DEFAULT_LATENCY, 1, Some(100_000_000));
    let theirs = scratch.image("qemu.img");
    // QEMU puts the first virtio device in the last slot unless told
    // otherwise; bus=virtio-mmio-bus.0 is the first slot, where rvmsmp has it.
    let mut cmd = Command::new("qemu-system-riscv64");
    cmd.args(["-machine", "virt", "-bios", "none", "-nographic", "-monitor", "none"])
        .args(["-global", "virtio-mmio.force-legacy=false"])
        .arg("-drive")
        .arg(format!("file={},if=none,format=raw,id=d", theirs.display()))
        .args(["-device", "virtio-blk-device,drive=d,bus=virtio-mmio-bus.0"])
        .arg("-kernel")
        .arg(program());
    let (qemu_console, code) = run_with_timeout(&mut cmd, Duration::from_secs(60));
    assert_eq!(code, Some(0), "qemu-system-riscv64 output:\n{qemu_console}");
    assert_eq!(qemu_console, console);
    assert_eq!(
        checksum(&std::fs::read(&theirs).unwrap()),
        checksum(&std::fs::read(&ours).unwrap())
    );
    assert_eq!(std::fs::read(&theirs).unwrap(), expected_image());
}
