//! The integration test binary. Each module says what belongs in it.

mod common;

mod compat;
mod debugger;
mod diff;
mod disk;
mod disk_device;
mod fp;
mod fsprops;
mod gdb;
mod gen;
mod insn_trace;
mod isa;
mod jit;
mod kernel;
mod litmus;
mod privileged_model;
mod props;
mod qemu;
mod report;
mod smp;
mod sweep;
mod threads;
mod trace;
mod traps;
