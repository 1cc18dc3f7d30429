//! Library-wide C functions: status names, the last-error message, versions, thread count,
//! size limit.

use std::ffi::{c_char, CStr};

use super::{arg_out, boundary, boundary_or, imkit_status, with_last_error};

/// Parses a decimal number at compile time (version parts from Cargo).
const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// The version as MAJOR*10000 + MINOR*100 + PATCH (`IMKIT_VERSION_NUMBER` in the header).
const VERSION_NUMBER: u32 = parse_u32(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
    + parse_u32(env!("CARGO_PKG_VERSION_MINOR")) * 100
    + parse_u32(env!("CARGO_PKG_VERSION_PATCH"));

/// The ABI version this library implements (`IMKIT_ABI_VERSION` in the header).
pub const ABI_VERSION: u32 = parse_u32(env!("IMKIT_ABI_VERSION"));

const VERSION_STRING: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => panic!("version string has an interior NUL"),
    };

/// Describes a status code: its macro name and a one-line description, e.g.
/// `"IMKIT_STATUS_IO: an operating-system I/O error"`. Unknown codes give
/// `"IMKIT_STATUS_UNKNOWN: ..."`. Borrowed: a static string, never free it.
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn imkit_status_str(code: i32) -> *const c_char {
    match imkit_status::from_code(code) {
        Some(status) => status.describe().as_ptr(),
        None => c"IMKIT_STATUS_UNKNOWN: not a status code of this imkit version".as_ptr(),
    }
}

/// The message of the last failed imkit call on this thread ("" if none failed yet).
/// Check the status first: the message explains a failure, it never signals one by itself.
/// Borrowed: valid until the next imkit call on this thread; never NULL.
/// Thread safety: each thread has its own message.
#[no_mangle]
pub extern "C" fn imkit_last_error_message() -> *const c_char {
    boundary_or(c"".as_ptr(), || Ok(with_last_error(|m| m.as_ptr())))
}

/// Copies this thread's last-error message, NUL-terminated, into `buf` of `len` bytes and
/// stores the bytes needed (including the NUL) in `*needed` (may be NULL). Returns
/// `IMKIT_STATUS_BUFFER_TOO_SMALL` and copies nothing when `len` is too small; `buf` may be
/// NULL when `len` is 0 (a size query). This call never changes the message itself.
/// Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_last_error_copy(
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> imkit_status {
    let result = std::panic::catch_unwind(|| {
        with_last_error(|message| {
            let bytes = message.to_bytes_with_nul();
            unsafe { super::write_opt(needed, bytes.len()) };
            if len < bytes.len() {
                return imkit_status::BufferTooSmall;
            }
            if buf.is_null() {
                return imkit_status::NullArg;
            }
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().cast(), buf, bytes.len()) };
            imkit_status::Ok
        })
    });
    result.unwrap_or(imkit_status::Panic)
}

/// The library version as MAJOR*10000 + MINOR*100 + PATCH; equals `IMKIT_VERSION_NUMBER`
/// when header and library agree. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn imkit_version() -> u32 {
    VERSION_NUMBER
}

/// The library version as text, e.g. "0.1.0". Borrowed: a static string.
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn imkit_version_string() -> *const c_char {
    VERSION_STRING.as_ptr()
}

/// The ABI version of the library; bindings compare it with `IMKIT_ABI_VERSION` from the
/// header they were built against and refuse to run on a mismatch. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn imkit_abi_version() -> u32 {
    ABI_VERSION
}

/// Sets the number of threads of imkit's own worker pool (0 = one per core, the default).
/// imkit never uses a process-global pool; output bytes never depend on this number.
/// Takes effect for operations started afterwards. Thread safety: any thread.
#[no_mangle]
#[must_use]
pub extern "C" fn imkit_set_num_threads(threads: usize) -> imkit_status {
    boundary(|| Ok(crate::threads::set_num_threads(threads)?))
}

/// Stores in `*out` the number of threads imkit's pool uses.
/// Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_get_num_threads(out: *mut usize) -> imkit_status {
    boundary(|| {
        let out = unsafe { arg_out(out, "out") }?;
        *out = crate::threads::num_threads();
        Ok(())
    })
}

/// Sets the size limit for buffers sized from input: the most samples (pixels × channels)
/// one decoded image, tile or array may hold (0 = the default, 2^32). Past it, calls fail with
/// `IMKIT_STATUS_TOO_LARGE` and a message naming the size and the limit, before allocating.
/// Streaming operations (extract/paste on PNG, fragment, stitch) hold only rows and tiles and
/// are not bounded by the image's size. Takes effect for operations started afterwards.
/// Thread safety: any thread (process-wide setting).
#[no_mangle]
pub extern "C" fn imkit_set_max_pixels(samples: u64) {
    crate::limits::set_max_pixels(samples);
}

/// The size limit in samples set by `imkit_set_max_pixels` (the default is 2^32).
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn imkit_get_max_pixels() -> u64 {
    crate::limits::max_pixels()
}

/// Test hook (feature `test-hooks` only, not in the header): panics inside the boundary,
/// so tests can prove the process survives with `IMKIT_STATUS_PANIC`.
#[cfg(feature = "test-hooks")]
#[no_mangle]
pub extern "C" fn imkit__test_panic() -> imkit_status {
    boundary(|| -> super::FfiResult<()> { panic!("test hook panic") })
}
