//! The `rvmsmp` command. Arguments are parsed by clap, checked into a
//! machine configuration, and the exit status is decided here alone.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use cli_disk::{report_disk, run_fs, run_mkfs, DiskArgs, FsArgs, MkfsArgs};
use rvmsmp::fdt::FdtOptions;
use rvmsmp::kernel::{self, Workload};
use rvmsmp::loader::ElfImage;
use rvmsmp::machine::{exit_status, EXIT_DEADLOCK, EXIT_KERNEL_PANIC, EXIT_MAX_CYCLES};
use rvmsmp::report::Report;
use rvmsmp::{sweep, trace};
use rvmsmp::{EmuError, ExitReason, Machine, MachineConfig};
// Debugging and tracing (docs/debugging.md).
use rvmsmp::debug::symbols::{SymbolTable, Symbols};

/// Status for bad input: unusable files or options.
const EXIT_BAD_INPUT: u8 = 2;

// The disk: --disk and its options, `rvmsmp mkfs` and `rvmsmp fs`.
mod cli_disk;

#[derive(Parser)]
#[command(
    name = "rvmsmp",
    version,
    about = "A deterministic many-hart RISC-V RV64 machine for studying master-slave multiprocessor kernels",
    long_about = "rvmsmp emulates a RISC-V RV64IMAC machine with up to 512 harts, compatible with QEMU's \
`virt` board (memory map, CLINT, PLIC, NS16550A UART, test finisher). Time is simulated: every counter \
comes from a documented cycle model, so the same program and flags give the same output and the same \
cycle counts on any host.",
    after_help = "Exit status: the guest's own exit status when it powers off (test finisher or HTIF); \
2 for bad input; 123 when the kernel panics (run); 124 when --max-cycles stops the run; 125 when every hart waits for an interrupt that \
can never come; 126 when the debugger's `quit` (or gdb's `kill`) ends the run."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a bare-metal ELF program directly on the machine, every hart starting at its entry in M-mode
    #[command(
        long_about = "Load PROG's PT_LOAD segments into RAM and start every hart at the ELF entry point in \
machine mode, with a0 = the hart id and a1 = the address of a flattened device tree describing the machine \
(as QEMU does with `-machine virt -bios none -kernel PROG`). The run ends when the guest powers off through \
the test finisher at 0x100000, or writes an exit code to the HTIF `tohost` symbol (the riscv-tests and Spike \
convention). The guest console (UART at 0x10000000) is standard output and standard input."
    )]
    Bare(BareArgs),
    /// Run a static Linux RISC-V program on the built-in master-slave kernel: the OS on hart 0, user processes on the others
    #[command(
        long_about = "Boot the built-in master-slave kernel and run P copies of PROG on it. Hart 0 is the \
master: it alone runs the kernel, and every system call, fault and timer preemption on the other harts (the \
slaves) is posted to it through shared memory and an inter-processor interrupt, served there, and answered. \
PROG is a static RV64 Linux executable (the same file runs under qemu-riscv64); it reaches the kernel in a cpio \
initramfs with its ARGS and environment byte for byte (docs/kernel-interface.md), as with QEMU's -initrd. In \
the guest, / is the --disk image (without one, a file system in RAM with a writable /tmp), PROG is /bin/NAME, \
and /dev has null, zero, full, random and urandom. The guest's standard output is rvmsmp's, its standard error and the kernel's messages rvmsmp's standard error, its \
standard input rvmsmp's. The exit status is the first non-zero exit status among the processes, else 0."
    )]
    Run(RunArgs),
    /// Run PROG on the kernel once per hart count and plot how throughput scales as the master saturates
    #[command(
        long_about = "Run PROG on the built-in master-slave kernel once for each number of harts in a range, \
with K processes per slave hart, as independent runs spread over the host's cores. Prints a table (harts, \
useful work per million cycles, speedup over one slave hart, master utilisation, mean waiting time) and \
writes sweep.csv, sweep.json and sweep.svg to --out: speedup and master utilisation against the number of \
slave harts, beside the analytic bound min(slaves, 1/s), where s is the measured share of a process's time \
that the master spends serving it."
    )]
    Sweep(SweepArgs),
    /// Build a file system image from a host directory, for --disk (format: docs/fs-format.md)
    #[command(
        long_about = "Write IMG, a disk image holding an rvmsmp file system (docs/fs-format.md) with a copy of \
the directory tree DIR: its directories and regular files, names sorted, contents byte for byte, permission \
bits kept (symbolic links, devices, sockets and pipes are refused; a file may be up to 4299210752 bytes). \
Owners and times are stored as 0, so the same tree and options always give the same image. IMG is created or \
overwritten, SIZE MiB long (up to 16 TiB), and sparse: blocks of zeros are not written. Then `rvmsmp run --disk IMG` boots the kernel with it, and \
`rvmsmp fs` reads it back.",
        after_help = "Example: rvmsmp mkfs disk.img rootfs/ --size 32 && rvmsmp fs ls disk.img /"
    )]
    Mkfs(MkfsArgs),
    /// Read a file system image: list a directory, copy a file out, check consistency
    #[command(
        long_about = "Read an rvmsmp file system image (docs/fs-format.md) without changing it. A committed \
log left by a run that stopped mid-operation is applied in memory first, as the kernel applies it at boot, so \
what these commands show is what the kernel would see."
    )]
    Fs(FsArgs),
}

#[derive(Args)]
struct SweepArgs {
    /// Hart counts to run: A..B or A..B:STEP, both ends included (hart 0 is the master, so 2..21 is 1 to 20 slaves)
    #[arg(long, value_name = "A..B[:STEP]")]
    harts: String,

    /// Processes per slave hart in each run
    #[arg(long, default_value_t = 1, value_name = "K")]
    procs_per_slave: usize,

    /// Directory for sweep.csv, sweep.json and sweep.svg
    #[arg(long, default_value = "sweep-out", value_name = "DIR")]
    out: PathBuf,

    /// Runs at once [default: the host's cores]
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,

    /// RAM size in MiB for each run
    #[arg(long, default_value_t = 128, value_name = "MiB")]
    mem: u64,

    /// Cycles each hart runs before the next hart takes its turn
    #[arg(long, default_value_t = rvmsmp::machine::DEFAULT_QUANTUM, value_name = "Q")]
    quantum: u64,

    /// Stop each run after C cycles (a run that hits it is reported as failed)
    #[arg(long, value_name = "C")]
    max_cycles: Option<u64>,

    /// Seed of the kernel's deterministic getrandom
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,

    /// Round-robin time slice in mtime ticks of 100 ns, 1 to 10^15
    #[arg(long, value_name = "TICKS")]
    slice: Option<u64>,

    /// Give every run the file system image IMG as its disk (docs/disk.md), in snapshot mode: each run
    /// starts from the image as it is, its writes stay in its own memory, and IMG is left unchanged
    #[arg(long, value_name = "IMG")]
    disk: Option<PathBuf>,

    /// Cycles the disk takes to serve one request (it serves them one at a time, in order)
    #[arg(long, default_value_t = rvmsmp::devices::virtio_blk::DEFAULT_LATENCY, value_name = "CYCLES", requires = "disk")]
    disk_latency: u64,

    #[command(flatten)]
    jit: JitArgs,

    /// The static RV64 Linux executable to run
    #[arg(value_name = "PROG.elf")]
    prog: PathBuf,

    /// Set NAME to VALUE in PROG's environment (repeatable; the default environment is empty, as with
    /// `env -i`)
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<OsString>,

    /// Arguments for PROG (its argv[1..]), passed byte for byte
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

fn run_sweep(args: &SweepArgs) -> Result<ExitCode, EmuError> {
    let bytes = read_input(&args.prog, args.mem.saturating_mul(1 << 20))?;
    kernel::check_program(&args.prog, &bytes)?;
    let name = args
        .prog
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "prog".into());
    let options = sweep::SweepOptions {
        harts: sweep::HartRange::parse(&args.harts)?,
        procs_per_slave: args.procs_per_slave,
        out: args.out.clone(),
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        mem_mib: args.mem,
        quantum: args.quantum,
        max_cycles: args.max_cycles,
        seed: args.seed,
        slice_ticks: args.slice,
        program_name: name.replace(char::is_whitespace, "_"),
        argv0: Some(args.prog.as_os_str().as_bytes().to_vec()),
        program: bytes,
        args: bytes_of(&args.args),
        env: bytes_of(&args.env),
        jit: !args.jit.no_jit,
        jit_hot_runs: args.jit.jit_hot_runs,
        disk: args.disk.clone(),
        disk_latency: args.disk_latency,
    };
    sweep::run(&options)?;
    Ok(ExitCode::SUCCESS)
}

/// Options every machine has.
#[derive(Args)]
struct MachineArgs {
    /// Number of harts (1 to 512)
    #[arg(long, default_value_t = 1, value_name = "N")]
    harts: usize,

    /// RAM size in MiB (1 to 1048576), at 0x80000000; reserved lazily: host memory is used only for pages the guest touches
    #[arg(long, default_value_t = 128, value_name = "MiB")]
    mem: u64,

    /// Stop the run after C cycles of simulated time, printing where each hart was (exit status 124)
    #[arg(long, value_name = "C")]
    max_cycles: Option<u64>,

    /// Cycles each hart runs before the next hart takes its turn; smaller is finer interleaving, larger is faster
    #[arg(long, default_value_t = rvmsmp::machine::DEFAULT_QUANTUM, value_name = "Q")]
    quantum: u64,

    #[command(flatten)]
    jit: JitArgs,
}

/// How the host runs guest code; the results are the same either way.
#[derive(Args)]
struct JitArgs {
    /// Interpret every instruction instead of translating hot code to x86-64; same results, slower
    #[arg(long)]
    no_jit: bool,

    /// Runs of a block of code before it is translated to x86-64 (0: at once)
    #[arg(long, default_value_t = rvmsmp::cpu::JIT_HOT_RUNS, value_name = "N")]
    jit_hot_runs: u8,
}

impl MachineArgs {
    fn config(&self) -> MachineConfig {
        MachineConfig {
            harts: self.harts,
            ram_size: self.mem.saturating_mul(1 << 20),
            quantum: self.quantum,
            max_cycles: self.max_cycles,
            jit: !self.jit.no_jit,
            jit_hot_runs: self.jit.jit_hot_runs,
            ..MachineConfig::default()
        }
    }
}

#[derive(Args)]
struct BareArgs {
    #[command(flatten)]
    machine: MachineArgs,

    #[command(flatten)]
    disk: DiskArgs,

    /// At exit, print per-hart counters to standard error: instructions retired, cycles, cycles in WFI
    #[arg(long)]
    stats: bool,

    /// At exit, write the full statistics report as JSON to FILE (schema: docs/stats-json.md)
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,

    #[command(flatten)]
    debug: DebugArgs,

    /// The RISC-V RV64 ELF executable to run; every hart starts at its entry with its id in a0
    #[arg(value_name = "PROG.elf")]
    prog: PathBuf,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    machine: MachineArgs,

    #[command(flatten)]
    disk: DiskArgs,

    /// Number of copies of PROG to run, at most 1024 and as many as --mem holds [default: one per slave hart, or 1 with --harts 1]
    #[arg(long, value_name = "P")]
    procs: Option<usize>,

    /// Seed of the kernel's deterministic getrandom
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,

    /// Let hart 0 run user processes when it has no requests to serve (with --harts 1 it always does)
    #[arg(long)]
    master_runs_user: bool,

    /// Round-robin time slice in mtime ticks of 100 ns, 1 to 10^15 [default: 20000, i.e. 2 ms]
    #[arg(long, value_name = "TICKS")]
    slice: Option<u64>,

    /// Boot the kernel image FILE instead of the built-in one (a kernel built from guest-os/ with
    /// `make OUT=DIR`, for instance: no rebuild of rvmsmp needed)
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,

    /// At exit, print to standard error a table per hart (instructions, cycles, % of cycles in user mode, in
    /// the kernel, waiting for the master and idle, requests raised and served) and a summary (master
    /// utilisation, requests per million cycles, waiting and service times, longest queues, useful work)
    #[arg(long)]
    stats: bool,

    /// At exit, write the same statistics as JSON to FILE (schema: docs/stats-json.md)
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,

    /// Write a timeline of the run to FILE in the Chrome trace-event format (open it in ui.perfetto.dev): one
    /// track per hart with its user, kernel, waiting and idle slices, and an arrow from each request to its
    /// service on hart 0
    #[arg(long, value_name = "FILE")]
    trace_json: Option<PathBuf>,

    /// Limit the trace to the cycles START..END (either may be left out: 1000000.., ..5000000), to keep the
    /// file small for long runs
    #[arg(long, value_name = "START..END", requires = "trace_json")]
    trace_window: Option<String>,

    #[command(flatten)]
    debug: DebugArgs,

    /// The static RV64 Linux executable to run
    #[arg(value_name = "PROG.elf")]
    prog: PathBuf,

    /// Set NAME to VALUE in PROG's environment (repeatable; the default environment is empty, as with
    /// `env -i`)
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<OsString>,

    /// Arguments for PROG (its argv[1..]), passed byte for byte
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// Command-line strings as the bytes the guest gets.
fn bytes_of(strings: &[OsString]) -> Vec<Vec<u8>> {
    strings.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Reads an ELF file of at most `limit` bytes (the machine's RAM: a larger
/// one could not be loaded). Only a regular file is opened, so a device
/// (`/dev/zero`) is not read without end and a FIFO does not block the
/// start of the run.
fn read_input(path: &Path, limit: u64) -> Result<Vec<u8>, EmuError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let bad = |problem: String| EmuError::bad_input(path, problem);
    let meta = std::fs::metadata(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(bad("is a directory, not an ELF file".into()));
    }
    if !meta.is_file() {
        return Err(bad(
            "is not a regular file (a device, a pipe or a socket?), not an ELF file".into(),
        ));
    }
    let too_big = |len: u64| {
        bad(format!(
            "is {len} bytes, more than the machine's RAM ({} MiB) can hold",
            limit >> 20
        ))
    };
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    // Non-blocking, in case the path became a FIFO since it was looked at.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Writes the JSON statistics report, if asked for.
fn write_stats_json(machine: &Machine, path: Option<&Path>) -> Result<(), EmuError> {
    let Some(path) = path else { return Ok(()) };
    std::fs::write(path, Report::of(machine).to_json() + "\n")
        .map_err(|e| EmuError::bad_input(path, format!("cannot write the statistics: {e}")))
}

/// Prints why a run stopped, when the guest did not simply power off.
fn report_stop(machine: &Machine, reason: ExitReason) {
    match reason {
        ExitReason::MaxCycles => eprintln!(
            "rvmsmp: stopped by --max-cycles after {} cycles (exit status {EXIT_MAX_CYCLES}): {}",
            machine.now,
            machine.hart_positions()
        ),
        ExitReason::Deadlock => eprintln!(
            "rvmsmp: every hart is waiting for an interrupt and none can arrive, at cycle {} (exit status {EXIT_DEADLOCK}): {}",
            machine.now,
            machine.hart_positions()
        ),
        ExitReason::Reset => eprintln!("rvmsmp: the guest asked for a reset; stopping the run"),
        _ => {}
    }
}

fn run_bare(args: &BareArgs) -> Result<ExitCode, EmuError> {
    let config = args.machine.config();
    config.validate()?;
    let bytes = read_input(&args.prog, config.ram_size)?;
    let image = ElfImage::parse(&args.prog, &bytes)?;
    // A terminal in raw mode, as QEMU's -nographic (Ctrl-A x quits); put
    // back when this guard drops, on a panic or on a signal.
    let _raw_terminal = if args.debug.debug {
        None
    } else {
        rvmsmp::terminal::enter_raw_mode()
    };
    let console = Box::new(std::io::stdout());
    let mut machine = Machine::new(config, console, args.debug.console_input())?;
    // The guest's fd 2, through the annotation device's second channel.
    machine
        .bus
        .uart
        .set_error_output(Box::new(std::io::BufWriter::new(std::io::stderr())));
    args.disk.attach(&mut machine, false)?;
    machine.boot_bare(&args.prog, &image, &FdtOptions::default())?;
    let symbols = || Symbols {
        tables: vec![SymbolTable::from_elf("program", &bytes)],
    };
    let Some(reason) = run_machine(&mut machine, &args.debug, symbols)? else {
        return Ok(ExitCode::from(EXIT_DEBUGGER_QUIT));
    };
    report_stop(&machine, reason);
    report_disk(&machine);
    if args.stats {
        eprint!("{}", machine.stats_report());
    }
    write_stats_json(&machine, args.stats_json.as_deref())?;
    Ok(ExitCode::from(exit_status(reason)))
}

fn run_kernel(args: &RunArgs) -> Result<ExitCode, EmuError> {
    let config = args.machine.config();
    config.validate()?;
    let bytes = read_input(&args.prog, config.ram_size)?;
    kernel::check_program(&args.prog, &bytes)?;
    let procs = args
        .procs
        .unwrap_or(if config.harts > 1 { config.harts - 1 } else { 1 });
    if procs == 0 {
        return Err(EmuError::Config("--procs 0: there must be at least one process".into()));
    }
    let name = args
        .prog
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "prog".into());
    let workload = Workload {
        name: name.replace(char::is_whitespace, "_"),
        argv0: Some(args.prog.as_os_str().as_bytes().to_vec()),
        program: bytes,
        args: bytes_of(&args.args),
        env: bytes_of(&args.env),
        procs,
        seed: args.seed,
        master_runs_user: args.master_runs_user,
        slice_ticks: args.slice,
    };
    let config_ram = config.ram_size;
    let console = Box::new(std::io::stdout());
    let mut machine = Machine::new(config, console, args.debug.console_input())?;
    // The guest's fd 2, through the annotation device's second channel.
    machine
        .bus
        .uart
        .set_error_output(Box::new(std::io::BufWriter::new(std::io::stderr())));
    let window = args.trace_window.as_deref().map(trace::Window::parse).transpose()?;
    if let Some(path) = &args.trace_json {
        // Fail before the run, not after it, if the trace cannot be written.
        std::fs::File::create(path).map_err(|e| EmuError::bad_input(path, format!("cannot write the trace: {e}")))?;
    }
    if args.trace_json.is_some() {
        machine.record_timelines();
        machine.bus.annotate.record = true;
    }
    args.disk.attach(&mut machine, true)?;
    let kernel_elf = match &args.kernel {
        Some(path) => read_input(path, config_ram)?,
        None => kernel::KERNEL_ELF.to_vec(),
    };
    match &args.kernel {
        Some(path) => kernel::boot_kernel(&mut machine, &workload, path, &kernel_elf)?,
        None => kernel::boot(&mut machine, &workload)?,
    }
    let symbols = || Symbols {
        tables: vec![
            SymbolTable::from_elf("kernel", &kernel_elf),
            SymbolTable::from_elf("user", &workload.program),
        ],
    };
    let Some(reason) = run_machine(&mut machine, &args.debug, symbols)? else {
        return Ok(ExitCode::from(EXIT_DEBUGGER_QUIT));
    };
    report_stop(&machine, reason);
    report_disk(&machine);
    let status = if machine.bus.annotate.panicked {
        eprintln!("rvmsmp: the kernel panicked (exit status {EXIT_KERNEL_PANIC})");
        EXIT_KERNEL_PANIC
    } else {
        exit_status(reason)
    };
    if args.stats {
        eprint!("{}", Report::of(&machine).to_table());
    }
    write_stats_json(&machine, args.stats_json.as_deref())?;
    if let Some(path) = &args.trace_json {
        trace::write(&machine, path, window.unwrap_or_default())?;
    }
    Ok(ExitCode::from(status))
}

// Debugging and tracing: --debug, --gdb and --trace (docs/debugging.md).

/// Status when the debugger ends the run before the guest does.
const EXIT_DEBUGGER_QUIT: u8 = 126;

/// Options for the debugger, the GDB server and the traces.
#[derive(Args)]
struct DebugArgs {
    /// Open the debugger's prompt on standard input, stopped before the first instruction (type `help`); it works
    /// over a pipe, so a file of commands is a script. The guest gets no console input then
    #[arg(long, conflicts_with = "gdb")]
    debug: bool,

    /// Serve gdb on 127.0.0.1:PORT (or on the Unix socket PATH) before the first instruction; each hart is a thread.
    /// When gdb detaches or the connection fails, the run goes on to its end
    #[arg(long, value_name = "PORT|PATH")]
    gdb: Option<String>,

    /// Write a trace: `--trace traps FILE` (every trap, interrupt and IPI) or `--trace insns FILE` (every retired
    /// instruction, in the format of Spike's --log-commits); may be given for both
    #[arg(long, num_args = 2, value_names = ["KIND", "FILE"], action = clap::ArgAction::Append)]
    trace: Vec<String>,

    /// Trace only these harts: a list of numbers and ranges, e.g. 0,3,5-7
    #[arg(long, value_name = "LIST")]
    trace_harts: Option<String>,

    /// Trace only the cycles START..END of each hart's clock (either end may be left out)
    #[arg(long, value_name = "START..END")]
    trace_cycles: Option<String>,
}

impl DebugArgs {
    fn options(&self) -> rvmsmp::debug::Options {
        rvmsmp::debug::Options {
            prompt: self.debug,
            gdb: self.gdb.clone(),
            traces: self
                .trace
                .chunks(2)
                .map(|p| (p[0].clone(), PathBuf::from(&p[1])))
                .collect(),
            trace_harts: self.trace_harts.clone(),
            trace_cycles: self.trace_cycles.clone(),
        }
    }

    /// The guest's console input: none when the prompt reads standard input.
    fn console_input(&self) -> Box<dyn rvmsmp::devices::uart::ConsoleInput> {
        if self.debug {
            Box::new(rvmsmp::devices::uart::NoInput)
        } else {
            rvmsmp::console::stdin_input()
        }
    }
}

/// Runs the machine: the fast loop, or the observed one when debugging or
/// tracing. `None` when the debugger ended the run early.
fn run_machine(
    machine: &mut Machine,
    debug: &DebugArgs,
    symbols: impl FnOnce() -> Symbols,
) -> Result<Option<ExitReason>, EmuError> {
    let options = debug.options();
    if !options.active() {
        return Ok(Some(machine.run()));
    }
    match rvmsmp::debug::run(machine, symbols(), &options)? {
        rvmsmp::debug::Ending::Exited(reason) => Ok(Some(reason)),
        rvmsmp::debug::Ending::Quit => Ok(None),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Bare(args) => run_bare(args),
        Command::Run(args) => run_kernel(args),
        Command::Sweep(args) => run_sweep(args),
        Command::Mkfs(args) => run_mkfs(args),
        Command::Fs(args) => run_fs(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("rvmsmp: error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}
