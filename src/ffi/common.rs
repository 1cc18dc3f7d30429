//! Shared types: the `imkit_rect` struct and the progress callback type, used by several
//! sections.
//!
//! On the Rust side this file also holds what every family uses: argument checks, the
//! two-call size-query/fill protocol and the conversion of C enum values.
//!
//! The two-call protocol, written once here ([`fill`], [`fill_text`], [`fill_with`]): the
//! function stores the size it needs in `*needed` / `*count` (that out-parameter may be NULL),
//! then writes the result only when the capacity suffices; a short capacity returns
//! `IMKIT_STATUS_BUFFER_TOO_SMALL` and writes nothing else. The buffer may be NULL exactly when
//! its capacity is 0 (a pure size query); a NULL buffer with a non-zero capacity is
//! `IMKIT_STATUS_NULL_ARG`.

use std::ffi::{c_char, c_void, CStr};
use std::path::PathBuf;

use super::{FfiError, FfiResult};
use crate::error::Error;
use crate::progress::Progress;
use crate::rect::Rect;

/// A half-open pixel rectangle: columns [left, right), rows [top, bottom).
/// Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct imkit_rect {
    /// First column inside.
    pub left: u64,
    /// First row inside.
    pub top: u64,
    /// First column past the right edge.
    pub right: u64,
    /// First row past the bottom edge.
    pub bottom: u64,
}

impl From<Rect> for imkit_rect {
    fn from(r: Rect) -> Self {
        imkit_rect {
            left: r.left,
            top: r.top,
            right: r.right,
            bottom: r.bottom,
        }
    }
}

/// Progress callback: called on the calling thread with units done and total; return
/// non-zero to cancel (the call then returns `IMKIT_STATUS_CANCELLED` and writes nothing).
/// It must not unwind (no C++ exceptions, Go panics or Julia errors may escape it).
pub type imkit_progress_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, done: u64, total: u64) -> i32>;

/// Runs a core operation with the C progress callback wired in.
pub(crate) fn with_progress<T>(
    callback: imkit_progress_fn,
    user_data: *mut c_void,
    f: impl FnOnce(&mut Progress<'_>) -> crate::Result<T>,
) -> crate::Result<T> {
    match callback {
        None => f(&mut Progress::none()),
        Some(cb) => {
            let mut report = |done: u64, total: u64| unsafe { cb(user_data, done, total) } == 0;
            f(&mut Progress::new(&mut report))
        }
    }
}

/// Converts a C enum value (an `i32` field or argument) into its `imkit_*` enum, naming the
/// argument and the enum on failure. Every `imkit_*` enum implements `TryFrom<i32>` through
/// [`c_enum!`](crate::ffi::common::c_enum).
pub(crate) fn arg_enum<E: TryFrom<i32, Error = Error>>(
    code: i32,
    arg: &'static str,
) -> FfiResult<E> {
    E::try_from(code).map_err(|e| Error::invalid(format!("`{arg}`: {e}")).into())
}

/// Implements `TryFrom<i32>` for a C enum whose variants are listed; unknown values are an
/// `Error::InvalidArgument` naming the enum.
macro_rules! c_enum {
    ($name:ident { $($variant:ident),+ $(,)? }) => {
        impl TryFrom<i32> for $name {
            type Error = crate::error::Error;
            fn try_from(code: i32) -> Result<Self, crate::error::Error> {
                $(if code == $name::$variant as i32 {
                    return Ok($name::$variant);
                })+
                Err(crate::error::Error::invalid(format!(
                    "{code} is not an {} value",
                    stringify!($name)
                )))
            }
        }
    };
}
pub(crate) use c_enum;

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

/// Borrows `n` items of a caller array (NULL allowed when `n` is 0).
///
/// # Safety
/// `ptr` must be NULL or point to `n` valid items.
pub(crate) unsafe fn arg_slice<'a, T>(
    ptr: *const T,
    n: usize,
    arg: &'static str,
) -> FfiResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(FfiError::Null(arg));
    }
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// Borrows a caller output buffer of `n` items (NULL allowed when `n` is 0).
///
/// # Safety
/// `ptr` must be NULL or point to `n` writable items not aliased during the call.
pub(crate) unsafe fn arg_slice_mut<'a, T>(
    ptr: *mut T,
    n: usize,
    arg: &'static str,
) -> FfiResult<&'a mut [T]> {
    if n == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(FfiError::Null(arg));
    }
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, n) })
}

/// Borrows `n` NUL-terminated UTF-8 strings of a caller array (NULL allowed when `n` is 0).
///
/// # Safety
/// `ptr` must be NULL or point to `n` NUL-terminated strings.
pub(crate) unsafe fn arg_strs<'a>(
    ptr: *const *const c_char,
    n: usize,
    arg: &'static str,
) -> FfiResult<Vec<&'a str>> {
    unsafe { arg_slice(ptr, n, arg) }?
        .iter()
        .map(|&p| unsafe { arg_str(p, arg) })
        .collect()
}

/// Borrows `n` path arguments of a caller array (NULL allowed when `n` is 0).
///
/// # Safety
/// As [`arg_strs`].
pub(crate) unsafe fn arg_paths(
    ptr: *const *const c_char,
    n: usize,
    arg: &'static str,
) -> FfiResult<Vec<PathBuf>> {
    unsafe { arg_slice(ptr, n, arg) }?
        .iter()
        .map(|&p| unsafe { arg_path(p, arg) })
        .collect()
}

/// The two-call protocol's checks: stores `need` in `*needed` (may be NULL), fails with
/// `BUFFER_TOO_SMALL` when `cap < need`, then hands back the first `need` items of `buf` for
/// `write` to fill.
///
/// # Safety
/// `needed` NULL or writable; `buf` NULL or writable for `cap` items.
pub(crate) unsafe fn fill_with<T>(
    need: usize,
    buf: *mut T,
    cap: usize,
    needed: *mut usize,
    what: &str,
    write: impl FnOnce(&mut [T]) -> crate::Result<()>,
) -> FfiResult<()> {
    unsafe { write_opt(needed, need) };
    if cap < need {
        return Err(
            Error::BufferTooSmall(format!("{what} needs {need}, the buffer holds {cap}")).into(),
        );
    }
    let out = unsafe { arg_slice_mut(buf, need, "buffer") }?;
    Ok(write(out)?)
}

/// The two-call protocol for a list: copies `items` into `buf` (capacity `cap` items) and
/// stores their number in `*count` (may be NULL).
///
/// # Safety
/// As [`fill_with`].
pub(crate) unsafe fn fill<T: Copy>(
    items: &[T],
    buf: *mut T,
    cap: usize,
    count: *mut usize,
) -> FfiResult<()> {
    let what = format!("the result ({} items)", items.len());
    unsafe {
        fill_with(items.len(), buf, cap, count, &what, |out| {
            out.copy_from_slice(items);
            Ok(())
        })
    }
}

/// The two-call protocol for text: copies `text` and a NUL into `buf` of `len` bytes and
/// stores the bytes needed (NUL included) in `*needed` (may be NULL). NUL bytes inside the
/// text are written as `\0`.
///
/// # Safety
/// As [`fill_with`].
pub(crate) unsafe fn fill_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> FfiResult<()> {
    let text = text.replace('\0', "\\0");
    let bytes = text.as_bytes();
    unsafe {
        fill_with(
            bytes.len() + 1,
            buf.cast::<u8>(),
            len,
            needed,
            "the text",
            |out| {
                out[..bytes.len()].copy_from_slice(bytes);
                out[bytes.len()] = 0;
                Ok(())
            },
        )
    }
}
