//! The sifive_test finisher (QEMU virt's "test" device): a 32-bit write of
//! 0x5555 powers off with status 0, (code << 16) | 0x3333 powers off with
//! status `code`, and 0x7777 asks for a reset.

/// What the guest asked the finisher for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinisherRequest {
    Pass,
    Fail(u32),
    Reset,
}

const PASS: u64 = 0x5555;
const FAIL: u64 = 0x3333;
const RESET: u64 = 0x7777;

/// Decodes a write to the finisher; other values are ignored, as on QEMU.
pub fn write(offset: u64, size: u64, value: u64) -> Option<Option<FinisherRequest>> {
    if offset != 0 || !(size == 2 || size == 4) {
        return if size <= 4 { Some(None) } else { None };
    }
    Some(match value & 0xffff {
        PASS => Some(FinisherRequest::Pass),
        FAIL => Some(FinisherRequest::Fail(((value >> 16) & 0xffff) as u32)),
        RESET => Some(FinisherRequest::Reset),
        _ => None,
    })
}
