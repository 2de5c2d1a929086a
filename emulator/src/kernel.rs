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
    /// The program's file name inside the initramfs (`/bin/NAME` in the guest).
    pub name: String,
    /// Its `argv[0]`: the program's path as the user gave it, so that a
    /// program that prints its own name prints what it does under
    /// qemu-riscv64 (None: `name`).
    pub argv0: Option<Vec<u8>>,
    pub program: Vec<u8>,
    /// `argv[1..]`, byte for byte.
    pub args: Vec<Vec<u8>>,
    /// The environment, `NAME=VALUE` entries byte for byte (empty by default,
    /// as `env -i` gives).
    pub env: Vec<Vec<u8>>,
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
    // argv (the name first) and envp on the stack: strings, NULs and
    // pointers (exec.c exec_load).
    let argv = std::iter::once(w.name.len()).chain(w.args.iter().map(Vec::len));
    let strings: usize = argv.chain(w.env.iter().map(Vec::len)).map(|n| n + 1).sum();
    let arg_bytes = strings + 8 * (w.args.len() + 1 + w.env.len() + 2);
    let per_process = elf.pages_per_process(arg_bytes.div_ceil(4096) as u64);
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

/// The kernel command line for a workload: the options only. The program's
/// argv and envp travel in the initramfs ([`ARGS_FILE`]), where any byte
/// but NUL survives.
pub fn bootargs(w: &Workload) -> String {
    let mut line = format!("procs={} seed={}", w.procs, w.seed);
    if let Some(slice) = w.slice_ticks {
        line += &format!(" slice={slice}");
    }
    if w.master_runs_user {
        line += " master_runs_user=1";
    }
    line
}

/// The initramfs file holding argv and envp (docs/kernel-interface.md),
/// in the directory [`ARGS_DIR`].
pub const ARGS_FILE: &str = ".rvmsmp/args";
const ARGS_DIR: &str = ".rvmsmp";
/// The longest argument or environment entry, its NUL included: Linux's
/// MAX_ARG_STRLEN (32 pages).
pub const MAX_ARG_STRLEN: usize = 128 << 10;
/// The most bytes argv and envp take in all, counting each string's NUL and
/// its 8-byte pointer, as Linux counts them against its 2 MiB limit
/// (a quarter of an 8 MiB stack).
pub const MAX_ARG_TOTAL: usize = 2 << 20;
/// The most entries argv and envp hold together: the kernel's MAXARG
/// (guest-os/param.h), the size of its table of pointers.
pub const MAX_ARGV: usize = 32768;

/// argv (the program's name first) and envp as the kernel reads them from
/// [`ARGS_FILE`]: the decimal count of argv entries and a NUL, each entry
/// and a NUL; then the same for envp.
pub fn args_file(w: &Workload) -> Vec<u8> {
    let mut out = Vec::new();
    let argv0 = w.argv0.as_deref().unwrap_or(w.name.as_bytes());
    let argv = std::iter::once(argv0).chain(w.args.iter().map(Vec::as_slice));
    for list in [argv.collect::<Vec<_>>(), w.env.iter().map(Vec::as_slice).collect()] {
        out.extend_from_slice(list.len().to_string().as_bytes());
        out.push(0);
        for entry in list {
            out.extend_from_slice(entry);
            out.push(0);
        }
    }
    out
}

/// Refuses a workload the kernel could not start as given: a program name
/// the initramfs cannot hold, an argument or environment entry holding a
/// NUL (which ends a C string) or longer than [`MAX_ARG_STRLEN`], an
/// environment entry without `=`, or more than [`MAX_ARG_TOTAL`] bytes or
/// [`MAX_ARGV`] entries in all (execve's E2BIG).
pub fn check_command_line(w: &Workload) -> Result<(), EmuError> {
    let refuse = |problem: String| Err(EmuError::Config(format!("{problem} (docs/kernel-interface.md)")));
    if w.name == CPIO_TRAILER || w.name == ARGS_DIR {
        return refuse(format!(
            "a program file named {} cannot go into the initramfs, where that name is taken: rename the file",
            w.name
        ));
    }
    if let Some(entry) = w.env.iter().find(|e| !e.contains(&b'=')) {
        return refuse(format!(
            "--env {:?}: an environment entry is NAME=VALUE",
            String::from_utf8_lossy(entry)
        ));
    }
    let argv = std::iter::once(w.argv0.as_deref().unwrap_or(w.name.as_bytes())).chain(w.args.iter().map(Vec::as_slice));
    let all: Vec<&[u8]> = argv.chain(w.env.iter().map(Vec::as_slice)).collect();
    if let Some(entry) = all.iter().find(|e| e.contains(&0)) {
        return refuse(format!(
            "the argument {:?} holds a NUL byte, which ends a C string",
            String::from_utf8_lossy(entry)
        ));
    }
    if let Some(entry) = all.iter().find(|e| e.len() >= MAX_ARG_STRLEN) {
        return refuse(format!(
            "an argument or environment entry of {} bytes: the most is {} (Linux's MAX_ARG_STRLEN, its NUL \
             included)",
            entry.len(),
            MAX_ARG_STRLEN - 1
        ));
    }
    if all.len() > MAX_ARGV {
        return refuse(format!(
            "{} arguments and environment entries: the kernel passes at most {MAX_ARGV} in all",
            all.len()
        ));
    }
    let total: usize = all.iter().map(|e| e.len() + 1 + 8).sum();
    if total > MAX_ARG_TOTAL {
        return refuse(format!(
            "the arguments and environment take {total} bytes (each string, its NUL and its pointer): the most \
             is {MAX_ARG_TOTAL}, as execve allows"
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

/// The initramfs for a workload: the program, and its argv and envp in
/// [`ARGS_FILE`].
pub fn workload_initramfs(w: &Workload) -> Vec<u8> {
    let args = args_file(w);
    let empty: &[u8] = &[];
    let inputs = [
        (
            cpio::newc::Builder::new(&w.name).mode(0o100_755).nlink(1),
            &w.program[..],
        ),
        (cpio::newc::Builder::new(ARGS_DIR).mode(0o040_755).nlink(2), empty),
        (cpio::newc::Builder::new(ARGS_FILE).mode(0o100_644).nlink(1), &args[..]),
    ]
    .into_iter()
    .map(|(entry, bytes)| (entry, std::io::Cursor::new(bytes)));
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
    let archive = workload_initramfs(w);
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

    fn workload(args: &[&[u8]]) -> Workload {
        Workload {
            argv0: None,
            name: "prog".into(),
            program: Vec::new(),
            args: args.iter().map(|a| a.to_vec()).collect(),
            env: Vec::new(),
            procs: 1,
            seed: 0,
            master_runs_user: false,
            slice_ticks: None,
        }
    }

    #[test]
    fn the_argument_limits_are_the_kernels() {
        let param = include_str!("../../guest-os/param.h");
        let maxarg = param
            .lines()
            .find_map(|l| l.strip_prefix("#define MAXARG "))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("param.h defines MAXARG");
        assert_eq!(maxarg.parse::<usize>().unwrap(), MAX_ARGV);
    }

    #[test]
    fn arguments_pass_as_given_within_linux_limits() {
        for ok in [
            &[&b"a b"[..], b"", b"\"'", b"\xff\xfe"][..],
            &[&[b'x'; MAX_ARG_STRLEN - 1][..]],
        ] {
            assert!(check_command_line(&workload(ok)).is_ok());
        }
        let trailer = Workload {
            argv0: None,
            name: CPIO_TRAILER.into(),
            ..workload(&[])
        };
        let err = check_command_line(&trailer).unwrap_err().to_string();
        assert!(err.contains("rename the file"), "{err}");
        let long = [b'x'; MAX_ARG_STRLEN];
        let err = check_command_line(&workload(&[&long])).unwrap_err().to_string();
        assert!(err.contains("MAX_ARG_STRLEN"), "{err}");
        let big = vec![b'x'; 100 << 10];
        let many: Vec<&[u8]> = (0..21).map(|_| &big[..]).collect();
        let err = check_command_line(&workload(&many)).unwrap_err().to_string();
        assert!(err.contains("as execve allows"), "{err}");
        let err = check_command_line(&workload(&[b"a\0b"])).unwrap_err().to_string();
        assert!(err.contains("NUL"), "{err}");
        let no_equals = Workload {
            argv0: None,
            env: vec![b"PATH".to_vec()],
            ..workload(&[])
        };
        let err = check_command_line(&no_equals).unwrap_err().to_string();
        assert!(err.contains("NAME=VALUE"), "{err}");
    }

    #[test]
    fn the_args_file_counts_then_lists() {
        let w = Workload {
            argv0: None,
            env: vec![b"A=1".to_vec()],
            ..workload(&[b"x y", b""])
        };
        assert_eq!(args_file(&w), b"3\0prog\0x y\0\0\x31\0A=1\0");
        let archive = workload_initramfs(&w);
        let text = String::from_utf8_lossy(&archive);
        assert!(text.contains(".rvmsmp/args\0"), "{text}");
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
    fn bootargs_hold_only_the_options() {
        let w = Workload {
            argv0: None,
            procs: 7,
            seed: 3,
            ..workload(&[b"a"])
        };
        assert_eq!(bootargs(&w), "procs=7 seed=3");
    }
}
