//! The C ABI: a thin skin over the Rust core. Nothing outside this module knows it exists.
//!
//! Every `extern "C"` function runs its body through [`boundary`] (or [`boundary_or`]), the one
//! place where panics are caught and errors become an [`imkit_status`] plus a thread-local
//! message. Handles are registered in a live-handle table on creation and removed on free, so a
//! freed or wrong-type handle is reported as `IMKIT_STATUS_INVALID_HANDLE` without imkit ever
//! reading the memory behind it.

//!
//! Safety contract shared by every `unsafe extern "C"` function (stated once here rather than
//! on each): pointer arguments are NULL or valid for the access the function's doc describes,
//! strings are NUL-terminated, and buffers are as large as their length arguments say.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub mod iid;
pub mod image;
pub mod io;
pub mod library;
pub mod partition;
pub mod pipeline;
pub mod tiling;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{LazyLock, RwLock};

use crate::error::Error;

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
    /// The object is in a state that does not allow the operation.
    BadState = 300,
    /// A non-blocking call would have had to wait.
    WouldBlock = 301,
    /// A progress callback asked to stop; nothing was written.
    Cancelled = 302,
    /// A bug in imkit: an internal invariant broke.
    Internal = 900,
    /// A panic inside imkit was caught at the API boundary; the message holds its text.
    Panic = 901,
}

impl imkit_status {
    /// Every status, in code order.
    pub const ALL: [imkit_status; 15] = [
        imkit_status::Ok,
        imkit_status::InvalidArg,
        imkit_status::NullArg,
        imkit_status::InvalidHandle,
        imkit_status::OutOfBounds,
        imkit_status::BufferTooSmall,
        imkit_status::Mismatch,
        imkit_status::Io,
        imkit_status::Format,
        imkit_status::Unsupported,
        imkit_status::BadState,
        imkit_status::WouldBlock,
        imkit_status::Cancelled,
        imkit_status::Internal,
        imkit_status::Panic,
    ];

    /// The status for a C integer, if it is a known code.
    pub fn from_code(code: i32) -> Option<imkit_status> {
        imkit_status::ALL.into_iter().find(|s| *s as i32 == code)
    }

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
            imkit_status::Internal => c"IMKIT_STATUS_INTERNAL: an internal error (a bug in imkit)",
            imkit_status::Panic => c"IMKIT_STATUS_PANIC: a panic was caught at the API boundary",
        }
    }
}

/// An error at the C boundary: a core error, or one that only C callers can make.
#[derive(Debug)]
pub(crate) enum FfiError {
    /// An error from the Rust core.
    Core(Error),
    /// A required pointer was NULL; holds the parameter name.
    Null(&'static str),
    /// A handle failed the live-handle check.
    Handle(String),
}

impl From<Error> for FfiError {
    fn from(e: Error) -> FfiError {
        FfiError::Core(e)
    }
}

impl FfiError {
    fn status(&self) -> imkit_status {
        match self {
            FfiError::Null(_) => imkit_status::NullArg,
            FfiError::Handle(_) => imkit_status::InvalidHandle,
            FfiError::Core(e) => match e {
                Error::InvalidArgument(_) => imkit_status::InvalidArg,
                Error::OutOfBounds(_) => imkit_status::OutOfBounds,
                Error::Mismatch(_) => imkit_status::Mismatch,
                Error::BufferTooSmall(_) => imkit_status::BufferTooSmall,
                Error::Io { .. } => imkit_status::Io,
                Error::Format(_) => imkit_status::Format,
                Error::Unsupported(_) => imkit_status::Unsupported,
                Error::BadState(_) => imkit_status::BadState,
                Error::WouldBlock(_) => imkit_status::WouldBlock,
                Error::Cancelled => imkit_status::Cancelled,
                Error::Internal(_) => imkit_status::Internal,
            },
        }
    }

    fn message(&self) -> String {
        match self {
            FfiError::Null(name) => format!("argument `{name}` is NULL"),
            FfiError::Handle(msg) => msg.clone(),
            FfiError::Core(e) => e.to_string(),
        }
    }
}

/// Result type of FFI bodies.
pub(crate) type FfiResult<T> = Result<T, FfiError>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Replaces this thread's last-error message.
pub(crate) fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

/// Runs `f` with this thread's last-error message.
pub(crate) fn with_last_error<T>(f: impl FnOnce(&CStr) -> T) -> T {
    LAST_ERROR.with(|slot| f(slot.borrow().as_c_str()))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string());
    format!("panic inside imkit: {text}")
}

/// The panic boundary for functions returning a status: runs `f`, turns its error or panic
/// into a status and sets the thread's last-error message.
pub(crate) fn boundary(f: impl FnOnce() -> FfiResult<()>) -> imkit_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => imkit_status::Ok,
        Ok(Err(e)) => {
            set_last_error(&e.message());
            e.status()
        }
        Err(payload) => {
            set_last_error(&panic_message(payload.as_ref()));
            imkit_status::Panic
        }
    }
}

/// The panic boundary for functions that return a value: on error or panic, sets the
/// last-error message and returns `fallback`.
pub(crate) fn boundary_or<T>(fallback: T, f: impl FnOnce() -> FfiResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => {
            set_last_error(&e.message());
            fallback
        }
        Err(payload) => {
            set_last_error(&panic_message(payload.as_ref()));
            fallback
        }
    }
}

/// A type handed to C as an opaque handle.
pub(crate) trait Handle: Sized {
    /// The C type name, used in messages and as the handle's type tag.
    const KIND: &'static str;
}

/// Live handles: address → type tag.
static LIVE: LazyLock<RwLock<HashMap<usize, &'static str>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// Boxes `value` and registers it as a live handle.
pub(crate) fn new_handle<T: Handle>(value: T) -> *mut T {
    let ptr = Box::into_raw(Box::new(value));
    LIVE.write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(ptr as usize, T::KIND);
    ptr
}

fn check_live<T: Handle>(ptr: *const T, arg: &'static str) -> FfiResult<()> {
    if ptr.is_null() {
        return Err(FfiError::Null(arg));
    }
    match LIVE
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(ptr as usize))
    {
        Some(kind) if *kind == T::KIND => Ok(()),
        Some(kind) => Err(FfiError::Handle(format!(
            "argument `{arg}` is an {kind}, expected an {}",
            T::KIND
        ))),
        None => Err(FfiError::Handle(format!(
            "argument `{arg}` is not a live {} (already freed, or not made by imkit)",
            T::KIND
        ))),
    }
}

/// Borrows a live handle.
///
/// # Safety
/// `ptr` must be NULL or a pointer imkit returned (the live check rejects freed ones).
pub(crate) unsafe fn handle_ref<'a, T: Handle>(
    ptr: *const T,
    arg: &'static str,
) -> FfiResult<&'a T> {
    check_live(ptr, arg)?;
    Ok(unsafe { &*ptr })
}

/// Borrows a live handle mutably (the caller must not use it from two threads at once).
///
/// # Safety
/// As [`handle_ref`].
pub(crate) unsafe fn handle_mut<'a, T: Handle>(
    ptr: *mut T,
    arg: &'static str,
) -> FfiResult<&'a mut T> {
    check_live(ptr, arg)?;
    Ok(unsafe { &mut *ptr })
}

/// Unregisters and drops a handle; NULL is accepted and ignored.
///
/// # Safety
/// As [`handle_ref`]; the handle must not be in use on another thread.
pub(crate) unsafe fn free_handle<T: Handle>(ptr: *mut T, arg: &'static str) -> FfiResult<()> {
    if ptr.is_null() {
        return Ok(());
    }
    {
        let mut live = LIVE.write().unwrap_or_else(|e| e.into_inner());
        match live.get(&(ptr as usize)) {
            Some(kind) if *kind == T::KIND => {
                live.remove(&(ptr as usize));
            }
            _ => {
                drop(live);
                check_live(ptr, arg)?;
            }
        }
    }
    drop(unsafe { Box::from_raw(ptr) });
    Ok(())
}

/// Reads a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, arg: &'static str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(FfiError::Null(arg));
    }
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Error::invalid(format!("argument `{arg}` is not valid UTF-8")).into())
}

/// Reads a path argument (NUL-terminated UTF-8, not empty).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_path(ptr: *const c_char, arg: &'static str) -> FfiResult<PathBuf> {
    let text = unsafe { arg_str(ptr, arg) }?;
    if text.is_empty() {
        return Err(Error::invalid(format!("argument `{arg}` is an empty path")).into());
    }
    Ok(PathBuf::from(text))
}

/// Borrows a required input struct.
///
/// # Safety
/// `ptr` must be NULL or point to a valid `T`.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T, arg: &'static str) -> FfiResult<&'a T> {
    unsafe { ptr.as_ref() }.ok_or(FfiError::Null(arg))
}

/// Checks a required out-parameter; write it only after the operation succeeded.
///
/// # Safety
/// `ptr` must be NULL or point to writable memory for a `T`.
pub(crate) unsafe fn arg_out<'a, T>(ptr: *mut T, arg: &'static str) -> FfiResult<&'a mut T> {
    unsafe { ptr.as_mut() }.ok_or(FfiError::Null(arg))
}

/// Writes an optional out-parameter (NULL means the caller does not want it).
///
/// # Safety
/// `ptr` must be NULL or point to writable memory for a `T`.
pub(crate) unsafe fn write_opt<T>(ptr: *mut T, value: T) {
    if let Some(slot) = unsafe { ptr.as_mut() } {
        *slot = value;
    }
}
