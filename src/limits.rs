//! Limits on what untrusted input can make imkit allocate, and fallible allocation.
//!
//! Every buffer whose size comes from input (an image header, an NPY shape, a manifest, a tile
//! spec, an iid record) is sized through this module: [`check_samples`] refuses anything past
//! the process-wide limit with [`Error::TooLarge`], and [`zeroed`] / [`filled`] / [`reserve`]
//! turn a failed allocation into [`Error::NoMemory`] instead of aborting the process.
//!
//! The limit counts *samples* (pixels × channels), so a header claiming 200000 × 200000
//! pixels, or a tile of 60000² RGB pixels, is refused before a byte is allocated. Streaming
//! paths (extract and paste on PNG, fragment, stitch) only hold rows and tiles, so they are
//! bounded by memory, not by the image's size.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The default limit: 2^32 samples (4 GiB of uint8, 16 GiB of float32).
pub const DEFAULT_MAX_PIXELS: u64 = 1 << 32;

static MAX_PIXELS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_PIXELS);

/// The largest number of samples (pixels × channels) one buffer sized from input may hold.
pub fn max_pixels() -> u64 {
    MAX_PIXELS.load(Ordering::Relaxed)
}

/// Sets the limit returned by [`max_pixels`] for the whole process; 0 restores the default.
pub fn set_max_pixels(samples: u64) {
    let value = if samples == 0 {
        DEFAULT_MAX_PIXELS
    } else {
        samples
    };
    MAX_PIXELS.store(value, Ordering::Relaxed);
}

/// The product of `dims` (e.g. width, height, channels), or [`Error::TooLarge`] if it
/// overflows 64 bits.
pub fn product(what: &str, dims: &[u64]) -> Result<u64> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::TooLarge(format!("{what} of {dims:?} overflows 64 bits")))
}

/// Refuses a buffer of `samples` samples past [`max_pixels`]; `what` names it in the message
/// (e.g. "a 200000x200000 PNG").
pub fn check_samples(what: &str, samples: u64) -> Result<()> {
    let limit = max_pixels();
    if samples > limit {
        return Err(Error::TooLarge(format!(
            "{what} needs {samples} samples, more than the limit of {limit} (raise it with \
             --max-pixels / imkit_set_max_pixels / imkit::limits::set_max_pixels)"
        )));
    }
    Ok(())
}

/// Checks a `width` × `height` × `channels` image against the limit.
pub fn check_image(what: &str, width: u64, height: u64, channels: u64) -> Result<()> {
    let samples = product(what, &[width, height, channels])?;
    check_samples(&format!("{what} of {width}x{height}x{channels}"), samples)
}

fn no_memory(what: &str, count: usize, size: usize) -> Error {
    Error::NoMemory(format!(
        "out of memory allocating {} bytes for {what}",
        (count as u128) * (size as u128)
    ))
}

/// Reserves room for exactly `additional` more elements, or [`Error::NoMemory`].
pub fn reserve<T>(v: &mut Vec<T>, additional: usize, what: &str) -> Result<()> {
    v.try_reserve_exact(additional)
        .map_err(|_| no_memory(what, additional, std::mem::size_of::<T>()))
}

/// Checks that `bytes` can be allocated now, by reserving and freeing them (the pages are
/// never touched), before a dependency allocates that much with no way to fail: running out
/// of memory is then [`Error::NoMemory`] instead of an abort.
pub fn ensure_available(bytes: usize, what: &str) -> Result<()> {
    reserve(&mut Vec::<u8>::with_capacity(0), bytes, what)
}

/// A vector of `count` copies of `value`, or [`Error::NoMemory`] if it cannot be allocated.
pub fn filled<T: Clone>(count: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, count, what)?;
    v.resize(count, value);
    Ok(v)
}

/// `len` zero bytes, or [`Error::NoMemory`]. Uses the allocator's zeroed pages (no memset),
/// so a large buffer costs nothing until it is written.
pub fn zeroed(len: usize, what: &str) -> Result<Vec<u8>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(len).map_err(|_| no_memory(what, len, 1))?;
    // SAFETY: the layout has a non-zero size; on success the block holds `len` initialised
    // (zero) bytes allocated by the global allocator with `u8`'s alignment, which is exactly
    // what `Vec::from_raw_parts` requires.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout);
        if ptr.is_null() {
            return Err(no_memory(what, len, 1));
        }
        Ok(Vec::from_raw_parts(ptr, len, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_is_too_large_and_names_size_and_limit() {
        let err = check_image("a PNG", 200_000, 200_000, 3).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err}");
        let text = err.to_string();
        assert!(text.contains("120000000000") && text.contains(&max_pixels().to_string()));
        assert!(check_image("a PNG", 1000, 1000, 4).is_ok());
        assert!(matches!(
            product("x", &[u64::MAX, 2]),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn failed_allocation_is_no_memory_not_an_abort() {
        assert!(matches!(
            zeroed(usize::MAX / 2, "a test buffer"),
            Err(Error::NoMemory(_))
        ));
        assert!(matches!(
            filled(usize::MAX / 8, 0u64, "a test buffer"),
            Err(Error::NoMemory(_))
        ));
        assert_eq!(zeroed(5, "small").unwrap(), vec![0; 5]);
    }
}
