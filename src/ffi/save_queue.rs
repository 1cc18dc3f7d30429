//! The save queue: a bounded background queue of saves (`imkit_save_queue`) and its
//! settings (`imkit_save_queue_options`).

use std::ffi::c_char;

use super::common::{arg_out, arg_path, arg_ref, fill_text, write_opt};
use super::image::imkit_image_view;
use super::io::{arg_metadata, imkit_save_options, save_options};
use super::{
    boundary, free_handle, handle_mut, handle_ref, imkit_status, new_handle, take_handle,
    FfiResult, Handle,
};
use crate::error::Error;
use crate::io::queue::{QueueOptions, SaveQueue};

/// Settings for a save queue. Create with `imkit_save_queue_options_new`, free with
/// `imkit_save_queue_options_free`. Thread safety: as `imkit_save_options`.
pub struct imkit_save_queue_options {
    options: QueueOptions,
}

impl Handle for imkit_save_queue_options {
    const KIND: &'static str = "imkit_save_queue_options";
}

/// A bounded background save queue (see `imkit_save_queue_new`).
/// Thread safety: every function may be called from any thread concurrently, except
/// `imkit_save_queue_close` and `imkit_save_queue_free`, which must not race with any other
/// use of the queue.
pub struct imkit_save_queue {
    queue: SaveQueue,
}

impl Handle for imkit_save_queue {
    const KIND: &'static str = "imkit_save_queue";
}

/// Creates queue settings: 2 worker threads, at most 512 MiB and 64 jobs pending, default
/// save options. Owned: free with `imkit_save_queue_options_free`.
/// Requires: `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_new(
    out: *mut *mut imkit_save_queue_options,
) -> imkit_status {
    boundary(|| {
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_save_queue_options {
            options: QueueOptions::default(),
        });
        Ok(())
    })
}

/// Sets the number of worker threads (1–256). The queue's workers are its own threads, not
/// imkit's compute pool.
/// Requires: `options` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_set_threads(
    options: *mut imkit_save_queue_options,
    threads: usize,
) -> imkit_status {
    boundary(|| {
        if threads == 0 || threads > 256 {
            return Err(Error::invalid(format!("`threads` must be 1-256, got {threads}")).into());
        }
        unsafe { handle_mut(options, "options") }?.options.threads = threads;
        Ok(())
    })
}

/// Sets the most bytes of pixel data queued or being written at once. A single job larger than
/// this is admitted once the queue is empty.
/// Requires: `options` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_set_max_pending_bytes(
    options: *mut imkit_save_queue_options,
    bytes: usize,
) -> imkit_status {
    boundary(|| {
        unsafe { handle_mut(options, "options") }?
            .options
            .max_pending_bytes = bytes;
        Ok(())
    })
}

/// Sets the most jobs queued or being written at once (at least 1).
/// Requires: `options` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_set_max_pending_jobs(
    options: *mut imkit_save_queue_options,
    jobs: usize,
) -> imkit_status {
    boundary(|| {
        if jobs == 0 {
            return Err(Error::invalid("`jobs` must be at least 1").into());
        }
        unsafe { handle_mut(options, "options") }?
            .options
            .max_pending_jobs = jobs;
        Ok(())
    })
}

/// Sets how each job is saved (copied; NULL means the defaults).
/// Requires: `options` must be a live handle; `save` NULL or a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_set_save_options(
    options: *mut imkit_save_queue_options,
    save: *const imkit_save_options,
) -> imkit_status {
    boundary(|| {
        let save = unsafe { save_options(save) }?;
        unsafe { handle_mut(options, "options") }?.options.save = save;
        Ok(())
    })
}

/// Frees queue settings. NULL is ignored; do not free twice.
/// Requires: `options` must be NULL or a live handle not in use elsewhere.
#[no_mangle]
pub unsafe extern "C" fn imkit_save_queue_options_free(options: *mut imkit_save_queue_options) {
    boundary(|| unsafe { free_handle(options, "options") });
}

/// Starts a save queue with `options` (NULL for the defaults; the settings are copied).
/// Owned: finish with `imkit_save_queue_close` (which reports errors) or
/// `imkit_save_queue_free`. Thread safety: see `imkit_save_queue`.
/// Requires: `options` must be NULL or a live handle; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_new(
    options: *const imkit_save_queue_options,
    out: *mut *mut imkit_save_queue,
) -> imkit_status {
    boundary(|| {
        let options = if options.is_null() {
            QueueOptions::default()
        } else {
            unsafe { handle_ref(options, "options") }?.options.clone()
        };
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_save_queue {
            queue: SaveQueue::new(options)?,
        });
        Ok(())
    })
}

unsafe fn queue_push(
    queue: *const imkit_save_queue,
    path: *const c_char,
    image: *const imkit_image_view,
    metadata_json: *const c_char,
    job_id: *mut u64,
    block: bool,
) -> imkit_status {
    boundary(|| {
        let queue = unsafe { handle_ref(queue, "queue") }?;
        let path = unsafe { arg_path(path, "path") }?;
        let view = unsafe { arg_ref(image, "image")?.as_view("image") }?;
        let meta = unsafe { arg_metadata(metadata_json, "metadata_json") }?;
        let ticket = if block {
            queue.queue.push(&path, view, &meta)?
        } else {
            queue.queue.try_push(&path, view, &meta)?
        };
        unsafe { write_opt(job_id, ticket.id) };
        Ok(())
    })
}

/// Queues a save (as `imkit_save`) of a copy of the pixels: the caller may reuse or free its
/// buffer as soon as this returns. Blocks while the queue's byte or job bound is reached.
/// Deadlock hazard: do not call it while holding a lock a worker needs (workers only write
/// files, so this concerns your own locks around filesystem work) and never from a thread the
/// queue waits on. Problems visible now (bad extension for the data, invalid metadata) are
/// returned now; write failures later become job errors (`imkit_save_queue_next_error`).
/// `*job_id` (may be NULL) receives the job's id (ids start at 1).
/// Thread safety: any thread, concurrently.
/// Requires: Pointers must be valid as documented.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_push(
    queue: *const imkit_save_queue,
    path: *const c_char,
    image: *const imkit_image_view,
    metadata_json: *const c_char,
    job_id: *mut u64,
) -> imkit_status {
    unsafe { queue_push(queue, path, image, metadata_json, job_id, true) }
}

/// As `imkit_save_queue_push`, but returns `IMKIT_STATUS_WOULD_BLOCK` instead of waiting when
/// the queue is full. Thread safety: any thread, concurrently.
/// Requires: As `imkit_save_queue_push`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_try_push(
    queue: *const imkit_save_queue,
    path: *const c_char,
    image: *const imkit_image_view,
    metadata_json: *const c_char,
    job_id: *mut u64,
) -> imkit_status {
    unsafe { queue_push(queue, path, image, metadata_json, job_id, false) }
}

/// Waits until every job queued so far has finished and returns the status of the first job
/// that failed since the previous flush (its message in the last error). Every failed job stays
/// readable with `imkit_save_queue_next_error`. Thread safety: any thread, concurrently.
/// Requires: `queue` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_flush(queue: *const imkit_save_queue) -> imkit_status {
    boundary(|| {
        let queue = unsafe { handle_ref(queue, "queue") }?;
        Ok(queue.queue.flush()?)
    })
}

/// Takes the oldest failed job not yet drained: `*job_id` receives its id (0 when no error is
/// waiting — then `*needed` is 0 and nothing else is written) and `buf` of `len` bytes its
/// message (`"<path>: <reason>"`, NUL-terminated), with the two-call protocol (`*needed` may
/// be NULL). When `len` is too small the error stays queued. Errors are never dropped.
/// Thread safety: any thread, concurrently.
/// Requires: `buf` must hold `len` writable bytes; `job_id` and `needed` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_next_error(
    queue: *const imkit_save_queue,
    job_id: *mut u64,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> imkit_status {
    boundary(|| {
        let queue = unsafe { handle_ref(queue, "queue") }?;
        let job_id = unsafe { arg_out(job_id, "job_id") }?;
        queue.queue.next_error_with(|e| -> FfiResult<()> {
            let Some(e) = e else {
                *job_id = 0;
                unsafe { write_opt(needed, 0) };
                return Ok(());
            };
            unsafe { fill_text(&e.message, buf, len, needed) }?;
            *job_id = e.id;
            Ok(())
        })
    })
}

/// Flushes, stops the workers and frees the queue; returns the flush's status (the first job
/// failure not yet reported by a flush). Call `imkit_save_queue_next_error` before closing to
/// read every failure: errors still queued are freed with the queue. The handle is invalid
/// afterwards, whatever the status (unless it is `IMKIT_STATUS_NULL_ARG` or
/// `IMKIT_STATUS_INVALID_HANDLE`). Thread safety: must not race with any other use of `queue`.
/// Requires: `queue` must be a live handle not in use on another thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_close(queue: *mut imkit_save_queue) -> imkit_status {
    boundary(|| {
        let queue = unsafe { take_handle(queue, "queue") }?;
        Ok(queue.queue.finish()?)
    })
}

/// Frees a queue; an open queue is flushed first (every job is written), its errors are
/// discarded — prefer `imkit_save_queue_close`. NULL is ignored; do not free twice.
/// Thread safety: must not race with any other use of `queue`.
/// Requires: `queue` must be NULL or a live handle not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn imkit_save_queue_free(queue: *mut imkit_save_queue) {
    boundary(|| unsafe { free_handle(queue, "queue") });
}
