//! The bodies of rvmsmp's fuzz targets (docs/fuzzing.md).
//!
//! Each target is a plain function from bytes to nothing that panics exactly
//! when it finds a bug. `fuzz_targets/*.rs` hand them to libFuzzer
//! (`cargo +nightly fuzz run TARGET`); `tests/regressions.rs` replays every
//! saved input in `regressions/TARGET/` through them with a plain
//! `cargo test`, on stable.

mod debug_command;
pub mod elf;
mod elf_loader;
mod execute;
mod fdt_initramfs;
mod kernel_syscalls;
pub mod newc;

pub use debug_command::debug_command;
pub use elf_loader::elf_loader;
pub use execute::execute;
pub use fdt_initramfs::fdt_initramfs;
pub use kernel_syscalls::kernel_syscalls;

/// A target's body: it panics when the input shows a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name of its binary and its regressions directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("debug_command", debug_command),
    ("elf_loader", elf_loader),
    ("execute", execute),
    ("fdt_initramfs", fdt_initramfs),
    ("kernel_syscalls", kernel_syscalls),
];

/// Whether `RVMSMP_FUZZ_VERBOSE` is set: then the targets print their
/// machines' console output and how each run ended, to triage an input.
fn verbose() -> bool {
    static VERBOSE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("RVMSMP_FUZZ_VERBOSE").is_some())
}

/// A machine's console: discarded, as the targets judge a run by the
/// machine's state and printing would only slow the fuzzer down, unless
/// [`verbose`].
fn console() -> Box<dyn std::io::Write> {
    if verbose() {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::sink())
    }
}
