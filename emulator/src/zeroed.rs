//! Large zero-filled buffers that cost host memory only where they are
//! written: RAM and its code-line bitmap. They are anonymous mappings made
//! with MAP_NORESERVE, so the host commits a page only when the guest first
//! touches it, as QEMU's `-m` does; any `--mem` the machine accepts can be
//! mapped on a host with less memory. When the host cannot map even the
//! address space (a `ulimit -v`, say) the caller gets an error to report,
//! never an abort.

use std::ops::{Deref, DerefMut};

/// `len` zeroed elements of a plain integer type, mapped lazily.
pub struct Zeroed<T: Copy + Default + 'static> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: the buffer is owned memory, like a Vec<T>.
unsafe impl<T: Copy + Default + Send> Send for Zeroed<T> {}
// SAFETY: shared access only reads, like &[T].
unsafe impl<T: Copy + Default + Sync> Sync for Zeroed<T> {}

impl<T: Copy + Default + 'static> Zeroed<T> {
    /// Maps `len` zeroed elements; an error naming the size if the host
    /// refuses the mapping.
    pub fn new(len: usize) -> Result<Zeroed<T>, String> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| format!("{len} elements do not fit in the host's address space"))?;
        if bytes == 0 {
            return Ok(Zeroed {
                ptr: std::ptr::NonNull::dangling().as_ptr(),
                len: 0,
            });
        }
        // SAFETY: a fresh private anonymous mapping, owned by the result
        // and unmapped in Drop; anonymous pages read as zero, which is a
        // valid value of the integer types this is used with.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(format!(
                "the host cannot map {} MiB: {}",
                bytes >> 20,
                std::io::Error::last_os_error()
            ));
        }
        Ok(Zeroed { ptr: ptr.cast(), len })
    }
}

impl<T: Copy + Default + 'static> Drop for Zeroed<T> {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: the mapping made in `new`, of this size, unmapped once.
            unsafe {
                libc::munmap(self.ptr.cast(), self.len * std::mem::size_of::<T>());
            }
        }
    }
}

impl<T: Copy + Default + 'static> Deref for Zeroed<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised (zeroed) elements at `ptr`, owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T: Copy + Default + 'static> DerefMut for Zeroed<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in deref, and &mut self makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zero_and_keeps_writes() {
        let mut z: Zeroed<u64> = Zeroed::new(1000).unwrap();
        assert!(z.iter().all(|&w| w == 0));
        z[999] = 7;
        assert_eq!(z[999], 7);
        assert_eq!(Zeroed::<u8>::new(0).unwrap().len(), 0);
    }

    #[test]
    fn a_terabyte_costs_nothing_until_touched() {
        // Only the address space is taken: this passes on a host with far
        // less memory (unless `ulimit -v` forbids the mapping itself).
        if let Ok(mut z) = Zeroed::<u8>::new(1 << 40) {
            z[(1 << 40) - 1] = 1;
            assert_eq!(z[(1 << 40) - 1], 1);
        }
    }
}
