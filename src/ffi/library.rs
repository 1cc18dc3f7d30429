//! Library and errors: the status codes, their names, the last-error message, versions, the
//! thread count and the size limit.

use std::ffi::{c_char, CStr};

use super::common::{arg_out, c_enum, fill_with};
use super::{boundary, boundary_or, with_last_error};

/// Status code returned by every fallible imkit function. 0 is success; errors are grouped:
/// 1xx arguments, 2xx files and formats, 3xx state and concurrency, 9xx internal. Values are
/// stable and only ever appended; `imkit_status_str` names each one.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_status {
    /// Success.
    Ok = 0,
    /// An argument has an invalid value; the message names it.
    InvalidArg = 100,
    /// A required pointer argument is NULL; the message names it.
    NullArg = 101,
    /// A handle is freed, of the wrong type, or not one imkit made.
    InvalidHandle = 102,
    /// A rectangle, index or coordinate lies outside the image or grid.
    OutOfBounds = 103,
    /// A caller buffer is too small; the size query tells how much is needed.
    BufferTooSmall = 104,
    /// Pixel type, channel count or size of two images disagree (imkit never converts silently).
    Mismatch = 105,
    /// An operating-system I/O error (missing file, permission, disk full, ...).
    Io = 200,
    /// Input data is malformed, truncated or corrupt.
    Format = 201,
    /// Valid data that imkit does not support, or that the target format cannot hold losslessly.
    Unsupported = 202,
    /// Input asks for more than the size limit (`imkit_set_max_pixels`); the message names both.
    TooLarge = 203,
    /// The object is in a state that does not allow the operation.
    BadState = 300,
    /// A non-blocking call would have had to wait.
    WouldBlock = 301,
    /// A progress callback asked to stop; nothing was written.
    Cancelled = 302,
    /// Allocating memory failed.
    NoMemory = 303,
    /// A bug in imkit: an internal invariant broke.
    Internal = 900,
    /// A panic inside imkit was caught at the API boundary; the message holds its text.
    Panic = 901,
}

impl imkit_status {
    /// The macro name and a one-line description, as a NUL-terminated static string.
    pub fn describe(self) -> &'static CStr {
        match self {
            imkit_status::Ok => c"IMKIT_STATUS_OK: success",
            imkit_status::InvalidArg => {
                c"IMKIT_STATUS_INVALID_ARG: an argument has an invalid value"
            }
            imkit_status::NullArg => c"IMKIT_STATUS_NULL_ARG: a required pointer argument is NULL",
            imkit_status::InvalidHandle => {
                c"IMKIT_STATUS_INVALID_HANDLE: the handle is freed, of the wrong type or unknown"
            }
            imkit_status::OutOfBounds => {
                c"IMKIT_STATUS_OUT_OF_BOUNDS: a rectangle or index lies outside the image or grid"
            }
            imkit_status::BufferTooSmall => {
                c"IMKIT_STATUS_BUFFER_TOO_SMALL: the caller buffer is too small"
            }
            imkit_status::Mismatch => {
                c"IMKIT_STATUS_MISMATCH: pixel type, channel count or size do not agree"
            }
            imkit_status::Io => c"IMKIT_STATUS_IO: an operating-system I/O error",
            imkit_status::Format => c"IMKIT_STATUS_FORMAT: the data is malformed or corrupt",
            imkit_status::Unsupported => {
                c"IMKIT_STATUS_UNSUPPORTED: not supported, or not storable without loss"
            }
            imkit_status::BadState => {
                c"IMKIT_STATUS_BAD_STATE: the object's state does not allow this operation"
            }
            imkit_status::WouldBlock => c"IMKIT_STATUS_WOULD_BLOCK: the call would have to wait",
            imkit_status::Cancelled => c"IMKIT_STATUS_CANCELLED: cancelled by the callback",
            imkit_status::TooLarge => {
                c"IMKIT_STATUS_TOO_LARGE: the input asks for more than the size limit"
            }
            imkit_status::NoMemory => c"IMKIT_STATUS_NO_MEMORY: out of memory",
            imkit_status::Internal => c"IMKIT_STATUS_INTERNAL: an internal error (a bug in imkit)",
            imkit_status::Panic => c"IMKIT_STATUS_PANIC: a panic was caught at the API boundary",
        }
    }
}

c_enum!(imkit_status {
    Ok,
    InvalidArg,
    NullArg,
    InvalidHandle,
    OutOfBounds,
    BufferTooSmall,
    Mismatch,
    Io,
    Format,
    Unsupported,
    TooLarge,
    BadState,
    WouldBlock,
    Cancelled,
    NoMemory,
    Internal,
    Panic,
});

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
    match imkit_status::try_from(code) {
        Ok(status) => status.describe().as_ptr(),
        Err(_) => c"IMKIT_STATUS_UNKNOWN: not a status code of this imkit version".as_ptr(),
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
/// stores the bytes needed (including the NUL) in `*needed` (may be NULL): the two-call
/// protocol of the overview. This call never changes the message itself.
/// Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_last_error_copy(
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> imkit_status {
    // Not through `boundary`: a failure here must not replace the message being copied.
    let result = std::panic::catch_unwind(|| {
        with_last_error(|message| {
            let bytes = message.to_bytes_with_nul();
            let copied = unsafe {
                fill_with(
                    bytes.len(),
                    buf.cast::<u8>(),
                    len,
                    needed,
                    "the message",
                    |out| {
                        out.copy_from_slice(bytes);
                        Ok(())
                    },
                )
            };
            copied.map_or_else(|e| e.status(), |()| imkit_status::Ok)
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
