//! The C ABI: a thin skin over the Rust core. Nothing outside this module knows it exists.
//!
//! Every `extern "C"` function runs its body through [`boundary`] (or [`boundary_or`]), the one
//! place where panics are caught and errors become an [`imkit_status`] plus a thread-local
//! message. Handles are registered in a live-handle table on creation and removed on free, so a
//! freed or wrong-type handle is reported as `IMKIT_STATUS_INVALID_HANDLE` without imkit ever
//! reading the memory behind it.
//!
//! Layout: this file holds the boundary and the handle table; `common.rs` what every family
//! uses (`imkit_rect`, progress callbacks, argument checks, the two-call size protocol, C enum
//! conversions); then one file per C handle family, in the header's reading order (the header
//! is generated section by section from these files, see build.rs).
//!
//! Safety contract shared by every `unsafe extern "C"` function (stated once in the header's
//! overview rather than on each): pointer arguments are NULL or valid for the access the
//! function's doc describes, strings are NUL-terminated, and buffers are as large as their
//! length arguments say.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub mod common;
pub mod iid;
pub mod image;
pub mod io;
pub mod library;
pub mod partition;
pub mod pipeline;
pub mod save_queue;
pub mod stitch;
pub mod tiling;

pub use common::*;
pub use iid::*;
pub use image::*;
pub use io::*;
pub use library::*;
pub use partition::*;
pub use save_queue::*;
pub use stitch::*;
pub use tiling::*;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{LazyLock, RwLock};

use crate::error::Error;

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
    /// The C status for this error.
    pub(crate) fn status(&self) -> imkit_status {
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
                Error::TooLarge(_) => imkit_status::TooLarge,
                Error::NoMemory(_) => imkit_status::NoMemory,
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

/// Removes a live handle of type `T` from the table (the caller then owns its box).
fn unregister<T: Handle>(ptr: *mut T, arg: &'static str) -> FfiResult<()> {
    let mut live = LIVE.write().unwrap_or_else(|e| e.into_inner());
    match live.get(&(ptr as usize)) {
        Some(kind) if *kind == T::KIND => {
            live.remove(&(ptr as usize));
            Ok(())
        }
        _ => {
            drop(live);
            check_live(ptr as *const T, arg)?;
            Err(FfiError::Handle(format!(
                "argument `{arg}` was freed by another thread during the call"
            )))
        }
    }
}

/// Unregisters a live handle and hands its value back (for `_close` functions that consume
/// the object).
///
/// # Safety
/// As [`handle_ref`]; the handle must not be in use on another thread.
pub(crate) unsafe fn take_handle<T: Handle>(ptr: *mut T, arg: &'static str) -> FfiResult<T> {
    if ptr.is_null() {
        return Err(FfiError::Null(arg));
    }
    unregister(ptr, arg)?;
    Ok(*unsafe { Box::from_raw(ptr) })
}

/// Unregisters and drops a handle; NULL is accepted and ignored.
///
/// # Safety
/// As [`handle_ref`]; the handle must not be in use on another thread.
pub(crate) unsafe fn free_handle<T: Handle>(ptr: *mut T, arg: &'static str) -> FfiResult<()> {
    if ptr.is_null() {
        return Ok(());
    }
    unregister(ptr, arg)?;
    drop(unsafe { Box::from_raw(ptr) });
    Ok(())
}
