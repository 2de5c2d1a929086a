//! The platform's devices. Each keeps its own state (a timer compare lives in
//! the CLINT, not in the hart) and reaches harts only through interrupt
//! lines that harts read back from it.

pub mod annotate;
pub mod clint;
pub mod htif;
pub mod plic;
pub mod test_finisher;
pub mod uart;
pub mod virtio_blk;
