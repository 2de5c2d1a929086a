//! `fdt_initramfs`: arbitrary machine configurations and workloads through
//! everything `rvmsmp run` builds before the first instruction: the
//! configuration check, the kernel command line, the cpio initramfs, the
//! device tree, and their placement in RAM by `kernel::boot`.
//!
//! The device tree is parsed back with the `fdt` crate (a parser rvmsmp
//! does not use) and must describe the machine asked for: one `cpu@N` per
//! hart, the RAM, the command line, the initramfs and the disk's
//! virtio-mmio slot when there is one. The archive is parsed
//! back with [`crate::newc`] and must hold exactly the program, under its
//! name. A configuration the machine refuses must be one it documents as
//! out of range.

use arbitrary::{Result, Unstructured};
use rvmsmp::devices::uart::NoInput;
use rvmsmp::fdt::{self, FdtOptions, ISA};
use rvmsmp::kernel::{self, Workload};
use rvmsmp::memmap::{self, Region, MAX_HARTS};
use rvmsmp::{Machine, MachineConfig};

use crate::newc;

/// Machines actually built (and booted) stay this small, to keep runs fast
/// and allocations below libFuzzer's limits.
const BOOT_MAX_HARTS: usize = 8;
const BOOT_MAX_RAM: u64 = 64 << 20;

pub fn fdt_initramfs(data: &[u8]) {
    let _ = check(&mut Unstructured::new(data));
}

fn check(u: &mut Unstructured) -> Result<()> {
    // Trees for hundreds of harts are slow to build and check under the
    // fuzzer's instrumentation: most cases are small machines.
    let harts = if u.ratio(1, 16)? {
        u.int_in_range(0..=MAX_HARTS + 8)?
    } else {
        u.int_in_range(1..=2 * BOOT_MAX_HARTS)?
    };
    let mem_mib: u64 = match u.int_in_range(0..=3)? {
        0 => u.arbitrary()?,
        1 => u.int_in_range(0..=1 << 20)?,
        _ => u.int_in_range(1..=512)?,
    };
    let config = MachineConfig {
        harts,
        ram_size: mem_mib.saturating_mul(1 << 20), // as `--mem` is turned into bytes
        quantum: u.int_in_range(0..=1000)?,
        ..MachineConfig::default()
    };
    let in_range =
        (1..=MAX_HARTS).contains(&harts) && (1 << 20..=1 << 40).contains(&config.ram_size) && config.quantum > 0;
    assert_eq!(config.validate().is_ok(), in_range, "{config:?}");
    if !in_range {
        return Ok(());
    }
    let workload = Workload {
        argv0: None,
        name: u.arbitrary()?,
        args: u.arbitrary()?,
        env: u.arbitrary()?,
        procs: u.int_in_range(1..=2 * MAX_HARTS)?,
        seed: u.arbitrary()?,
        master_runs_user: u.arbitrary()?,
        slice_ticks: u.arbitrary()?,
        program: u.arbitrary()?,
    };
    check_bootargs(&workload);
    let archive = kernel::initramfs(&workload.name, &workload.program);
    check_archive(&archive, &workload);

    let ram = memmap::dram(config.ram_size);
    let initrd_start = kernel::initrd_address(ram.base, ram.size);
    assert!(ram.base <= initrd_start && initrd_start < ram.end());
    let options = FdtOptions {
        bootargs: match u.int_in_range(0..=2)? {
            0 => None,
            1 => Some(u.arbitrary()?),
            _ => Some(kernel::bootargs(&workload)),
        },
        initrd: if u.arbitrary()? {
            Some((initrd_start, initrd_start + archive.len() as u64))
        } else {
            None
        },
        virtio_blk: u.arbitrary()?,
    };
    match fdt::build(harts, ram, &options) {
        Ok(blob) => check_tree(&blob, harts, ram, &options),
        Err(e) => assert!(
            options.bootargs.as_ref().is_some_and(|a| a.contains('\0')),
            "the device tree failed to build: {e}"
        ),
    }

    if harts <= BOOT_MAX_HARTS && config.ram_size <= BOOT_MAX_RAM {
        boot(config, &workload, &archive);
    }
    Ok(())
}

/// `procs=P seed=S [slice=T] [master_runs_user=1]`, and argv and envp in
/// the args file, counted and NUL-terminated.
fn check_bootargs(w: &Workload) {
    let line = kernel::bootargs(w);
    let mut expected = format!("procs={} seed={}", w.procs, w.seed);
    if let Some(slice) = w.slice_ticks {
        expected += &format!(" slice={slice}");
    }
    if w.master_runs_user {
        expected += " master_runs_user=1";
    }
    assert_eq!(line, expected);
    let file = kernel::args_file(w);
    let mut expected = format!("{}\0{}\0", w.args.len() + 1, w.name).into_bytes();
    for arg in &w.args {
        expected.extend_from_slice(arg);
        expected.push(0);
    }
    expected.extend_from_slice(format!("{}\0", w.env.len()).as_bytes());
    for entry in &w.env {
        expected.extend_from_slice(entry);
        expected.push(0);
    }
    assert_eq!(file, expected);
}

/// The archive holds the program under its name, then the trailer.
fn check_archive(archive: &[u8], w: &Workload) {
    assert_eq!(archive.len() % 4, 0, "the archive is not padded to 4 bytes");
    let entries = newc::parse(archive).unwrap_or_else(|e| panic!("the initramfs does not parse: {e}"));
    // A name with a NUL cannot be stored (a file name never has one), and
    // an entry named like the trailer ends the archive early.
    if w.name.contains('\0') || w.name == "TRAILER!!!" {
        return;
    }
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e.name, w.name.as_bytes());
    assert_eq!(e.mode, 0o100_755);
    assert_eq!(e.nlink, 1);
    assert!(e.data == w.program, "the program's bytes changed in the archive");
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |v, &b| v << 8 | b as u64)
}

/// The tree parses and describes `harts` harts, `ram` and `options`.
fn check_tree(blob: &[u8], harts: usize, ram: Region, options: &FdtOptions) {
    let tree = ::fdt::Fdt::new(blob).unwrap_or_else(|e| panic!("the device tree does not parse: {e:?}"));
    assert_eq!(tree.total_size(), blob.len());
    assert!(tree.root().compatible().all().any(|c| c == "riscv-virtio"));
    let mut count = 0;
    for (i, cpu) in tree.cpus().enumerate() {
        assert_eq!(cpu.ids().first(), i, "cpu nodes out of order");
        assert_eq!(cpu.property("riscv,isa").and_then(|p| p.as_str()), Some(ISA));
        assert_eq!(cpu.timebase_frequency(), memmap::TIMEBASE_HZ as usize);
        count += 1;
    }
    assert_eq!(count, harts, "cpu nodes");
    let regions: Vec<_> = tree.memory().regions().collect();
    assert_eq!(regions.len(), 1);
    assert_eq!(regions[0].starting_address as u64, ram.base);
    assert_eq!(regions[0].size, Some(ram.size as usize));
    let chosen = tree.find_node("/chosen").expect("/chosen");
    let bootargs = chosen.property("bootargs").map(|p| p.value);
    let expected = options.bootargs.as_ref().map(|a| [a.as_bytes(), b"\0"].concat());
    assert_eq!(bootargs, expected.as_deref(), "bootargs");
    let initrd = |name| chosen.property(name).map(|p| be(p.value));
    assert_eq!(initrd("linux,initrd-start"), options.initrd.map(|(s, _)| s));
    assert_eq!(initrd("linux,initrd-end"), options.initrd.map(|(_, e)| e));
    let stdout = tree.chosen().stdout().expect("stdout-path names a node");
    assert_eq!(stdout.name, format!("serial@{:x}", memmap::UART0.base));
    assert!(tree.find_compatible(&["rvmsmp,annotate"]).is_some());
    let disk = tree.find_node(&format!("/soc/virtio_mmio@{:x}", memmap::VIRTIO0.base));
    assert_eq!(disk.is_some(), options.virtio_blk, "the disk's node");
    if let Some(disk) = disk {
        assert!(disk.compatible().is_some_and(|c| c.all().any(|c| c == "virtio,mmio")));
        let reg = disk.reg().and_then(|mut r| r.next()).expect("the disk's reg");
        assert_eq!(
            (reg.starting_address as u64, reg.size),
            (memmap::VIRTIO0.base, Some(memmap::VIRTIO0.size as usize))
        );
    }
    for (node, lines) in [("/soc/clint@2000000", 4), ("/soc/plic@c000000", 4)] {
        let irqs = tree.find_node(node).and_then(|n| n.property("interrupts-extended"));
        assert_eq!(irqs.map(|p| p.value.len()), Some(4 * lines * harts), "{node}");
    }
}

/// Boots the kernel with the workload on a real machine: either an error
/// for the user, or the archive and the tree are in RAM where the tree
/// says, intact.
fn boot(config: MachineConfig, w: &Workload, archive: &[u8]) {
    let harts = config.harts;
    let mut machine = Machine::new(config, crate::console(), Box::new(NoInput)).expect("a valid configuration");
    if kernel::boot(&mut machine, w).is_err() {
        return; // RAM too small, or bootargs that cannot be stored
    }
    let ram = machine.bus.ram_region();
    let fdt_at = (machine.fdt_addr - ram.base) as usize;
    let blob = &machine.bus.ram.as_slice()[fdt_at..];
    let tree = ::fdt::Fdt::new(blob).unwrap_or_else(|e| panic!("the device tree in RAM does not parse: {e:?}"));
    let blob = &blob[..tree.total_size()];
    let start = kernel::initrd_address(ram.base, ram.size);
    let options = FdtOptions {
        bootargs: Some(kernel::bootargs(w)),
        initrd: Some((start, start + archive.len() as u64)),
        ..FdtOptions::default() // no disk
    };
    check_tree(blob, harts, ram, &options);
    let at = (start - ram.base) as usize;
    assert!(
        machine.bus.ram.as_slice()[at..at + archive.len()] == *archive,
        "the initramfs in RAM is not the archive"
    );
    for hart in &machine.harts {
        assert_eq!(hart.x[11], machine.fdt_addr, "a1 is not the device tree");
        assert_eq!(hart.x[10], hart.id as u64, "a0 is not the hart id");
    }
}
