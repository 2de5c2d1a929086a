//! The `rvmsmp` command. Arguments are parsed by clap, checked into a
//! machine configuration, and the exit status is decided here alone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rvmsmp::fdt::FdtOptions;
use rvmsmp::loader::ElfImage;
use rvmsmp::machine::{exit_status, EXIT_DEADLOCK, EXIT_MAX_CYCLES};
use rvmsmp::{EmuError, ExitReason, Machine, MachineConfig};

/// Status for bad input: unusable files or options.
const EXIT_BAD_INPUT: u8 = 2;

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
2 for bad input; 124 when --max-cycles stops the run; 125 when every hart waits for an interrupt that \
can never come."
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
}

#[derive(Args)]
struct BareArgs {
    /// Number of harts; each starts at the entry point with its id in a0 (1 to 512)
    #[arg(long, default_value_t = 1, value_name = "N")]
    harts: usize,

    /// RAM size in MiB, at 0x80000000; host memory is used only for pages the guest touches
    #[arg(long, default_value_t = 128, value_name = "MiB")]
    mem: u64,

    /// Stop the run after C cycles of simulated time, printing where each hart was (exit status 124)
    #[arg(long, value_name = "C")]
    max_cycles: Option<u64>,

    /// Cycles each hart runs before the next hart takes its turn; smaller is finer interleaving, larger is faster
    #[arg(long, default_value_t = 1000, value_name = "Q")]
    quantum: u64,

    /// At exit, print per-hart counters to standard error: instructions retired, cycles, cycles in WFI
    #[arg(long)]
    stats: bool,

    /// The RISC-V RV64 ELF executable to run
    #[arg(value_name = "PROG.elf")]
    prog: PathBuf,
}

fn read_input(path: &Path) -> Result<Vec<u8>, EmuError> {
    if path.is_dir() {
        return Err(EmuError::bad_input(path, "is a directory, not an ELF file"));
    }
    std::fs::read(path).map_err(|e| EmuError::bad_input(path, format!("cannot read: {e}")))
}

fn run_bare(args: &BareArgs) -> Result<ExitCode, EmuError> {
    let config = MachineConfig {
        harts: args.harts,
        ram_size: args.mem.saturating_mul(1 << 20),
        quantum: args.quantum,
        max_cycles: args.max_cycles,
        ..MachineConfig::default()
    };
    config.validate()?;
    let bytes = read_input(&args.prog)?;
    let image = ElfImage::parse(&args.prog, &bytes)?;
    let console = Box::new(std::io::stdout());
    let mut machine = Machine::new(config, console, rvmsmp::console::stdin_input())?;
    machine.boot_bare(&args.prog, &image, &FdtOptions::default())?;
    let reason = machine.run();
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
    if args.stats {
        eprint!("{}", machine.stats_report());
    }
    Ok(ExitCode::from(exit_status(reason)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Bare(args) => run_bare(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("rvmsmp: error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}
