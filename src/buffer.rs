//! Large pixel buffers: the one place where decode buffers are allocated, so that checks on
//! their size (limits, fallible allocation) apply everywhere at once. Buffers of several
//! megabytes ask the kernel for transparent huge pages (as numpy does), which cuts the page
//! faults of filling a fresh buffer by a factor of 512.

use crate::error::Result;

/// Buffers at least this large are advised to use huge pages.
const HUGE: usize = 4 << 20;

/// An empty vector with room for exactly `len` bytes (not initialised, nothing to zero), or
/// `Error::NoMemory` naming `what`.
pub fn with_capacity(len: usize, what: &str) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    crate::limits::reserve(&mut data, len, what)?;
    advise_huge(&data, len);
    Ok(data)
}

/// `len` zero bytes (the allocator's zeroed pages: nothing is written until used), or
/// `Error::NoMemory` naming `what`.
pub fn zeroed(len: usize, what: &str) -> Result<Vec<u8>> {
    let data = crate::limits::zeroed(len, what)?;
    advise_huge(&data, len);
    Ok(data)
}

/// Asks for transparent huge pages over the `len` bytes of capacity of `data`.
fn advise_huge(data: &[u8], len: usize) {
    #[cfg(target_os = "linux")]
    if len >= HUGE {
        let page = 4096;
        let begin = data.as_ptr() as usize;
        let start = (begin + page - 1) & !(page - 1);
        let end = (begin + len) & !(page - 1);
        if end > start {
            // SAFETY: madvise only changes how the kernel backs pages of this allocation
            // (whole pages inside the vector's capacity); it never changes their contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (data, len, HUGE);
}
