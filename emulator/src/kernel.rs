//! Booting the built-in master-slave kernel (guest-os/) with a program, the
//! way `qemu-system-riscv64 -machine virt -bios none -kernel kernel.elf
//! -initrd progs.cpio -append ARGS` would: the program goes into a cpio
//! (newc) initramfs placed in RAM, and the device tree's /chosen node names
//! it and carries the command line (docs/kernel-interface.md).

use std::path::Path;

use crate::error::EmuError;
use crate::fdt::FdtOptions;
use crate::loader::ElfImage;
use crate::machine::Machine;
use crate::user_elf::UserElf;

/// The kernel image, built from guest-os/ by `cargo xtask guest` and committed.
pub const KERNEL_ELF: &[u8] = include_bytes!("../../guest-os/build/kernel.elf");

/// What to run on the kernel.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The program's file name inside the initramfs (and its `argv[0]`).
    pub name: String,
    pub program: Vec<u8>,
    pub args: Vec<String>,
    pub procs: usize,
    pub seed: u64,
    pub master_runs_user: bool,
    /// Round-robin time slice in mtime ticks (None: the kernel's default).
    pub slice_ticks: Option<u64>,
}

/// Checks that `bytes` is a static RV64 executable the kernel can run: it
/// refuses every file the kernel would refuse (user_elf.rs has the
/// kernel's rules), and also object files and dynamically linked programs,
/// which the kernel would start and which could not run.
pub fn check_program(path: &Path, bytes: &[u8]) -> Result<UserElf, EmuError> {
    let elf = UserElf::parse(bytes).map_err(|problem| EmuError::bad_input(path, problem))?;
    if !elf.is_executable() {
        return Err(EmuError::bad_input(
            path,
            "is not an executable (an object file or a core dump?)",
        ));
    }
    if elf.interpreter {
        return Err(EmuError::bad_input(
            path,
            "is dynamically linked; rvmsmp runs static executables (link with -static)",
        ));
    }
    Ok(elf)
}

/// The most processes the kernel runs at once: its NPROC (guest-os/param.h).
pub const MAX_PROCS: usize = 1024;
/// The longest time slice the host lets the kernel use, in mtime ticks
/// (about three years): the kernel adds the slice to the time, and a
/// longer one could wrap around and end every slice at once.
pub const MAX_SLICE: u64 = 1_000_000_000_000_000;

/// Refuses a workload the kernel cannot carry out (it would panic or spin
/// instead): more processes than its process table holds, a time slice it
/// cannot use, or more processes than the memory left after the kernel,
/// the initramfs and the device tree can hold. `program_path` names the
/// program in messages.
pub fn check_limits(machine: &Machine, w: &Workload, program_path: &Path, kernel_end: u64) -> Result<(), EmuError> {
    if w.procs > MAX_PROCS {
        return Err(EmuError::Config(format!(
            "--procs {}: the kernel runs at most {MAX_PROCS} processes (NPROC in guest-os/param.h)",
            w.procs
        )));
    }
    if let Some(slice) = w.slice_ticks {
        if slice == 0 || slice > MAX_SLICE {
            return Err(EmuError::Config(format!(
                "--slice {slice}: the time slice must be 1 to {MAX_SLICE} ticks"
            )));
        }
    }
    // A program the kernel refuses is check_program's to report.
    let Ok(elf) = UserElf::parse(&w.program) else {
        return Ok(());
    };
    let ram = machine.bus.ram_region();
    let per_process = elf.pages_per_process();
    let needed =
        kernel_pages(ram, machine.bus.virtio_blk.is_some()).saturating_add(per_process.saturating_mul(w.procs as u64));
    let free = free_pages(machine, kernel_end);
    if needed > free {
        let fit = free.saturating_sub(kernel_pages(ram, machine.bus.virtio_blk.is_some())) / per_process;
        return Err(EmuError::Config(format!(
            "--mem {} MiB cannot hold {} process(es) of {}: each takes {} KiB and the kernel has {} KiB \
             to give them (room for {fit}); raise --mem or lower --procs",
            ram.size >> 20,
            w.procs,
            program_path.display(),
            per_process * 4,
            free.saturating_sub(kernel_pages(ram, machine.bus.virtio_blk.is_some())) * 4
        )));
    }
    Ok(())
}

/// Pages the kernel takes from its pool for itself before it creates the
/// processes (vm.c kvminit; virtio_blk.c and the file system with a
/// disk): its page table's root and tables for the devices and the
/// trampoline, one table per GiB of RAM, and the disk's rings and buffers.
fn kernel_pages(ram: crate::memmap::Region, disk: bool) -> u64 {
    let ram_tables = (ram.end() - 1) / (1 << 30) - ram.base / (1 << 30) + 1;
    let with_disk = if disk { 16 } else { 0 };
    7 + ram_tables + with_disk
}

/// The pages of the kernel's pool (kalloc.c): from the kernel's end to
/// RAM's, less those the initramfs and the device tree hold.
fn free_pages(machine: &Machine, kernel_end: u64) -> u64 {
    const PAGE: u64 = 4096;
    let ram = machine.bus.ram_region();
    let start = kernel_end.next_multiple_of(PAGE);
    let end = ram.end() & !(PAGE - 1);
    let pages_of = |(a, b): (u64, u64)| -> u64 {
        let (a, b) = (a.max(start) & !(PAGE - 1), b.min(end).next_multiple_of(PAGE));
        b.saturating_sub(a) / PAGE
    };
    let holes = [machine.initrd, (machine.fdt_addr, machine.fdt_addr + machine.fdt_size)];
    (end.saturating_sub(start) / PAGE).saturating_sub(holes.into_iter().map(pages_of).sum())
}

/// The kernel command line for a workload.
pub fn bootargs(w: &Workload) -> String {
    let mut line = format!("procs={} seed={}", w.procs, w.seed);
    if let Some(slice) = w.slice_ticks {
        line += &format!(" slice={slice}");
    }
    if w.master_runs_user {
        line += " master_runs_user=1";
    }
    line += " -- ";
    line += &w.name;
    for arg in &w.args {
        line.push(' ');
        line += arg;
    }
    line
}

/// The most entries a program's argv holds, its name included: the
/// kernel's MAXARG (guest-os/param.h), past which it drops arguments.
pub const MAX_ARGV: usize = 32;
/// The longest command line the kernel takes, in bytes (its buffer in
/// guest-os/main.c, less the terminating NUL); a longer one is a panic.
pub const MAX_COMMAND_LINE: usize = 1023;

/// Refuses a workload whose command line the kernel would not pass on as
/// given: it splits the line at spaces, drops arguments past [`MAX_ARGV`]
/// and stops on a line longer than [`MAX_COMMAND_LINE`].
pub fn check_command_line(w: &Workload) -> Result<(), EmuError> {
    let refuse = |problem: String| Err(EmuError::Config(format!("{problem} (docs/kernel-interface.md)")));
    if w.name == CPIO_TRAILER {
        return refuse(format!(
            "a program file named {CPIO_TRAILER} cannot go into the initramfs, where that name ends the \
             archive: rename the file"
        ));
    }
    if let Some(arg) = w.args.iter().find(|a| a.is_empty() || a.contains(' ')) {
        return refuse(format!(
            "the program argument {arg:?} cannot be passed: the kernel's command line separates \
             arguments with spaces, so each must be one non-empty word"
        ));
    }
    if w.args.len() >= MAX_ARGV {
        return refuse(format!(
            "{} program arguments: the kernel passes at most {} (argv holds {MAX_ARGV} entries with the \
             program's name)",
            w.args.len(),
            MAX_ARGV - 1
        ));
    }
    let line = bootargs(w);
    if line.len() > MAX_COMMAND_LINE {
        return refuse(format!(
            "the kernel command line would be {} bytes, and the kernel takes at most {MAX_COMMAND_LINE}: \
             shorten the program's arguments",
            line.len()
        ));
    }
    Ok(())
}

/// The name of the entry that ends a "newc" cpio archive.
const CPIO_TRAILER: &str = "TRAILER!!!";

/// A cpio archive in the "newc" format holding one executable file.
pub fn initramfs(name: &str, contents: &[u8]) -> Vec<u8> {
    let entry = cpio::newc::Builder::new(name).mode(0o100_755).nlink(1);
    let inputs = std::iter::once((entry, std::io::Cursor::new(contents)));
    cpio::write_cpio(inputs, Vec::new()).expect("writing to memory cannot fail")
}

/// Where QEMU puts the initrd: half-way into RAM, or 128 MiB in when RAM is larger.
pub fn initrd_address(ram_base: u64, ram_size: u64) -> u64 {
    ram_base + (ram_size / 2).min(128 << 20)
}

/// Loads the kernel and the workload into `machine`, ready to run.
pub fn boot(machine: &mut Machine, w: &Workload) -> Result<(), EmuError> {
    boot_kernel(machine, w, Path::new("<built-in kernel>"), KERNEL_ELF)
}

/// Boots `w` on the kernel image `kernel_elf` (read from `kernel_path`)
/// instead of the built-in one: a kernel under development, or one built
/// from the same sources with other options. Refuses a workload beyond the
/// kernel's limits ([`check_limits`]).
pub fn boot_kernel(machine: &mut Machine, w: &Workload, kernel_path: &Path, kernel_elf: &[u8]) -> Result<(), EmuError> {
    let kernel_end = load_kernel(machine, w, kernel_path, kernel_elf)?;
    check_limits(machine, w, Path::new(&w.name), kernel_end)
}

/// Loads the kernel and the workload without [`check_limits`], so that
/// tests can see what the kernel itself does past them; returns the
/// kernel image's end.
pub fn load_kernel(
    machine: &mut Machine,
    w: &Workload,
    kernel_path: &Path,
    kernel_elf: &[u8],
) -> Result<u64, EmuError> {
    check_command_line(w)?;
    let kernel = ElfImage::parse(kernel_path, kernel_elf)?;
    let archive = initramfs(&w.name, &w.program);
    let ram = machine.bus.ram_region();
    let start = initrd_address(ram.base, ram.size);
    let end = start + archive.len() as u64;
    if start < kernel.end() || !ram.contains(start, archive.len() as u64) {
        return Err(EmuError::Config(format!(
            "--mem {} MiB is too small for the kernel and {} ({} KiB in the initramfs); raise --mem",
            ram.size >> 20,
            w.name,
            archive.len() >> 10
        )));
    }
    machine
        .bus
        .write_ram_bytes(start, &archive)
        .expect("initramfs checked to fit in RAM");
    machine.initrd = (start, end);
    let options = FdtOptions {
        bootargs: Some(bootargs(w)),
        initrd: Some((start, end)),
        ..FdtOptions::default()
    };
    machine.boot_bare(kernel_path, &kernel, &options)?;
    if machine.fdt_addr < end {
        return Err(EmuError::Config(format!(
            "--mem {} MiB leaves no room for the device tree; raise --mem",
            ram.size >> 20
        )));
    }
    Ok(kernel.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_limits_are_the_kernels() {
        let param = include_str!("../../guest-os/param.h");
        let maxarg = param
            .lines()
            .find_map(|l| l.strip_prefix("#define MAXARG "))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("param.h defines MAXARG");
        assert_eq!(maxarg.parse::<usize>().unwrap(), MAX_ARGV);
        let main = include_str!("../../guest-os/main.c");
        let buffer = format!("static char cmdline[{}];", MAX_COMMAND_LINE + 1);
        assert!(main.contains(&buffer), "guest-os/main.c declares {buffer}");
    }

    #[test]
    fn command_lines_the_kernel_would_change_are_refused() {
        let workload = |args: &[&str]| Workload {
            name: "prog".into(),
            program: Vec::new(),
            args: args.iter().map(|a| a.to_string()).collect(),
            procs: 1,
            seed: 0,
            master_runs_user: false,
            slice_ticks: None,
        };
        assert!(check_command_line(&workload(&["-k", "4.65", "a\tb"])).is_ok());
        let trailer = Workload {
            name: CPIO_TRAILER.into(),
            ..workload(&[])
        };
        let err = check_command_line(&trailer).unwrap_err().to_string();
        assert!(err.contains("rename the file"), "{err}");
        for bad in [&["a b"][..], &["x", ""]] {
            let err = check_command_line(&workload(bad)).unwrap_err().to_string();
            assert!(err.contains("one non-empty word"), "{err}");
        }
        let most: Vec<String> = (0..MAX_ARGV - 1).map(|i| i.to_string()).collect();
        let most: Vec<&str> = most.iter().map(String::as_str).collect();
        assert!(check_command_line(&workload(&most)).is_ok());
        let too_many = [most.as_slice(), &["x"]].concat();
        let err = check_command_line(&workload(&too_many)).unwrap_err().to_string();
        assert!(err.contains("at most 31"), "{err}");
        let long = "x".repeat(MAX_COMMAND_LINE);
        let err = check_command_line(&workload(&[&long])).unwrap_err().to_string();
        assert!(err.contains("at most 1023"), "{err}");
        // The longest line that fits.
        let fits = "x".repeat(MAX_COMMAND_LINE - bootargs(&workload(&[])).len() - 1);
        assert_eq!(bootargs(&workload(&[&fits])).len(), MAX_COMMAND_LINE);
        assert!(check_command_line(&workload(&[&fits])).is_ok());
    }

    #[test]
    fn initramfs_is_newc_with_a_trailer() {
        let a = initramfs("hello", b"\x7fELF...");
        assert!(a.starts_with(b"070701"));
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("hello\0"));
        assert!(text.contains("TRAILER!!!"));
        assert_eq!(a.len() % 4, 0);
    }

    #[test]
    fn initrd_goes_where_qemu_puts_it() {
        assert_eq!(initrd_address(0x8000_0000, 128 << 20), 0x8400_0000);
        assert_eq!(initrd_address(0x8000_0000, 1 << 30), 0x8800_0000);
    }

    #[test]
    fn bootargs_name_the_program_after_the_options() {
        let w = Workload {
            name: "hello".into(),
            program: vec![],
            args: vec!["a".into(), "b".into()],
            procs: 7,
            seed: 3,
            master_runs_user: false,
            slice_ticks: None,
        };
        assert_eq!(bootargs(&w), "procs=7 seed=3 -- hello a b");
    }
}
