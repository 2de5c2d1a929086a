//! The integration test binary. Each module says what belongs in it.

mod common;

mod isa;
mod smp;
