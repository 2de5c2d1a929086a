//! The integration test binary. Each module says what belongs in it.

mod common;

mod compat;
mod diff;
mod disk_device;
mod fp;
mod gen;
mod isa;
mod kernel;
mod litmus;
mod privileged_model;
mod props;
mod qemu;
mod report;
mod smp;
mod sweep;
mod trace;
mod traps;
