//! rvmsmp: a deterministic RISC-V RV64 machine with many harts, built to
//! study how a master-slave multiprocessor kernel spends its time.
//!
//! The crate is organised as the hardware is: [`cpu`] is one hart, [`bus`]
//! and [`devices`] the platform (laid out by [`memmap`]), and [`machine`]
//! puts N harts and one bus together and schedules them. [`cost`] is the
//! cycle model every counter derives from.

pub mod accounting;
pub mod asm;
pub mod bus;
pub mod console;
pub mod cost;
pub mod cpu;
pub mod debug;
pub mod devices;
pub mod error;
pub mod fdt;
pub mod fs;
pub mod kernel;
pub mod loader;
pub mod machine;
pub mod memmap;
pub mod quantiles;
pub mod report;
pub mod sweep;
pub mod syscall_names;
#[cfg(unix)]
pub mod terminal;
pub mod trace;
pub mod user_elf;
pub mod zeroed;

pub use bus::ExitReason;
pub use error::EmuError;
pub use machine::{Machine, MachineConfig};
