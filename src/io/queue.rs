//! A bounded background save queue.
//!
//! [`SaveQueue::push`] copies the pixels (the caller may reuse its buffer at once) and hands
//! the job to the queue's own worker threads (plain OS threads, not imkit's compute pool), which
//! write the image and then its sidecar with [`super::save`]. Memory is bounded: a job is
//! admitted only while the bytes and the number of jobs queued or being written stay within
//! the limits, so `push` blocks and [`SaveQueue::try_push`] returns [`Error::WouldBlock`]. A
//! single job larger than the byte limit is admitted once the queue is empty, so it can never
//! wait forever.
//!
//! Every job has an id. A failed job's error (id, path, message) is kept until drained with
//! [`SaveQueue::next_error`], none is dropped; [`SaveQueue::flush`] waits for all jobs and
//! returns the first error since the previous flush. A panic inside a job becomes that job's
//! error. [`SaveQueue::close`] flushes and joins the workers; dropping an open queue does the
//! same (its errors are then lost, so prefer `close`).
//!
//! Deadlock hazard: `push` waits for workers to finish earlier jobs. Do not call it while
//! holding a lock that something the workers need (a filesystem lock, a callback of yours)
//! also takes, and never from inside a job.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::{resolve_path, save, Data, DataRef, Metadata, SaveOptions};
use crate::error::{Error, Result};

/// Settings of a [`SaveQueue`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueOptions {
    /// Worker threads (at least 1; default 2).
    pub threads: usize,
    /// Most bytes of pixel data queued or being written at once (default 512 MiB).
    pub max_pending_bytes: usize,
    /// Most jobs queued or being written at once (default 64).
    pub max_pending_jobs: usize,
    /// How each job is saved.
    pub save: SaveOptions,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            threads: 2,
            max_pending_bytes: 512 << 20,
            max_pending_jobs: 64,
            save: SaveOptions::default(),
        }
    }
}

/// A failed save job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobError {
    /// The id `push` returned.
    pub id: u64,
    /// The path the job was writing.
    pub path: PathBuf,
    /// What went wrong, as `"<path>: <reason>"`.
    pub message: String,
}

/// A job accepted by the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// The job's id (ids count up from 1 per queue).
    pub id: u64,
    /// The image path the job will write (extension appended when the given path had none).
    pub path: PathBuf,
}

struct Job {
    id: u64,
    path: PathBuf,
    data: Data,
    metadata: Metadata,
    bytes: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Jobs admitted and not finished (queued, being copied in, or being written).
    pending_jobs: usize,
    pending_bytes: usize,
    peak_bytes: usize,
    next_id: u64,
    errors: VecDeque<JobError>,
    first_unflushed: Option<Error>,
    closing: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a job finishes (room for producers, progress for flush).
    done: Condvar,
    /// Signalled when a job is queued or the queue closes.
    work: Condvar,
    options: QueueOptions,
}

impl Shared {
    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::BadState("save queue is broken (a lock was poisoned)".into()))
    }
}

/// The bounded background save queue; see the module docs.
pub struct SaveQueue {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into())
}

fn worker(shared: Arc<Shared>) {
    loop {
        let job = {
            let Ok(mut state) = shared.state.lock() else {
                return;
            };
            loop {
                if let Some(job) = state.queue.pop_front() {
                    break job;
                }
                if state.closing {
                    return;
                }
                state = match shared.work.wait(state) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            }
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            save(
                &job.path,
                job.data.as_ref(),
                &job.metadata,
                &shared.options.save,
            )
        }));
        let error = match result {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e),
            Err(payload) => Some(Error::Internal(format!(
                "panic while saving: {}",
                panic_text(payload.as_ref())
            ))),
        };
        drop(job.data);
        let Ok(mut state) = shared.state.lock() else {
            return;
        };
        state.pending_jobs -= 1;
        state.pending_bytes -= job.bytes;
        if let Some(e) = error {
            let reason = e.to_string();
            let path = job.path.display().to_string();
            let message = if reason.starts_with(&path) {
                reason
            } else {
                format!("{path}: {reason}")
            };
            state.errors.push_back(JobError {
                id: job.id,
                path: job.path,
                message,
            });
            if state.first_unflushed.is_none() {
                state.first_unflushed = Some(e);
            }
        }
        drop(state);
        shared.done.notify_all();
    }
}

impl SaveQueue {
    /// Starts a queue and its worker threads.
    pub fn new(options: QueueOptions) -> Result<SaveQueue> {
        if options.threads == 0 || options.threads > 256 {
            return Err(Error::invalid(format!(
                "save queue threads must be 1-256, got {}",
                options.threads
            )));
        }
        if options.max_pending_jobs == 0 {
            return Err(Error::invalid("max_pending_jobs must be at least 1"));
        }
        let threads = options.threads;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_id: 1,
                ..State::default()
            }),
            done: Condvar::new(),
            work: Condvar::new(),
            options,
        });
        let mut queue = SaveQueue {
            shared: shared.clone(),
            workers: Vec::with_capacity(threads),
        };
        for i in 0..threads {
            let shared = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("imkit-save-{i}"))
                .spawn(move || worker(shared))
                .map_err(|e| Error::Internal(format!("cannot start a save thread: {e}")))?;
            queue.workers.push(handle);
        }
        Ok(queue)
    }

    /// The queue's settings.
    pub fn options(&self) -> &QueueOptions {
        &self.shared.options
    }

    fn fits(&self, state: &State, bytes: usize) -> bool {
        let o = &self.shared.options;
        if state.pending_jobs == 0 {
            return true;
        }
        state.pending_jobs < o.max_pending_jobs
            && state.pending_bytes.saturating_add(bytes) <= o.max_pending_bytes
    }

    fn submit(
        &self,
        path: &Path,
        data: DataRef<'_>,
        metadata: &Metadata,
        block: bool,
    ) -> Result<Ticket> {
        let (path, _) = resolve_path(path, &data)?;
        if !metadata.is_empty() {
            // Reject unwritable metadata now, not later in a worker.
            super::metadata::to_text(metadata, self.shared.options.save.python_tokens)?;
        }
        let bytes = data.byte_len();
        let id = {
            let mut state = self.shared.lock()?;
            loop {
                if state.closing {
                    return Err(Error::BadState("the save queue is closed".into()));
                }
                if self.fits(&state, bytes) {
                    break;
                }
                if !block {
                    return Err(Error::WouldBlock(format!(
                        "the save queue is full ({} jobs, {} bytes pending)",
                        state.pending_jobs, state.pending_bytes
                    )));
                }
                state = self
                    .shared
                    .done
                    .wait(state)
                    .map_err(|_| Error::BadState("save queue is broken".into()))?;
            }
            state.pending_jobs += 1;
            state.pending_bytes += bytes;
            state.peak_bytes = state.peak_bytes.max(state.pending_bytes);
            let id = state.next_id;
            state.next_id += 1;
            id
        };
        // Copy outside the lock; the space is already reserved.
        let job = Job {
            id,
            path: path.clone(),
            data: data.to_owned(),
            metadata: metadata.clone(),
            bytes,
        };
        self.shared.lock()?.queue.push_back(job);
        self.shared.work.notify_one();
        Ok(Ticket { id, path })
    }

    /// Queues a save of a copy of `data` (image then sidecar), blocking while the queue is
    /// full. Path and metadata problems that can be seen now are returned now.
    pub fn push<'a>(
        &self,
        path: impl AsRef<Path>,
        data: impl Into<DataRef<'a>>,
        metadata: &Metadata,
    ) -> Result<Ticket> {
        self.submit(path.as_ref(), data.into(), metadata, true)
    }

    /// As [`push`](Self::push), but returns [`Error::WouldBlock`] instead of waiting.
    pub fn try_push<'a>(
        &self,
        path: impl AsRef<Path>,
        data: impl Into<DataRef<'a>>,
        metadata: &Metadata,
    ) -> Result<Ticket> {
        self.submit(path.as_ref(), data.into(), metadata, false)
    }

    /// Waits until every job pushed so far has finished; returns the first error of a job that
    /// failed since the previous flush. All errors stay readable with
    /// [`next_error`](Self::next_error).
    pub fn flush(&self) -> Result<()> {
        let mut state = self.shared.lock()?;
        while state.pending_jobs > 0 {
            state = self
                .shared
                .done
                .wait(state)
                .map_err(|_| Error::BadState("save queue is broken".into()))?;
        }
        match state.first_unflushed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Takes the oldest error not yet drained.
    pub fn next_error(&self) -> Result<Option<JobError>> {
        Ok(self.shared.lock()?.errors.pop_front())
    }

    /// Calls `f` with the oldest error not yet drained (or `None`) and drains it only if `f`
    /// succeeds, so a caller whose buffer is too small can retry without losing it.
    pub fn next_error_with<T, E: From<Error>>(
        &self,
        f: impl FnOnce(Option<&JobError>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut state = self.shared.lock()?;
        let value = f(state.errors.front())?;
        state.errors.pop_front();
        Ok(value)
    }

    /// Number of errors waiting to be drained.
    pub fn error_count(&self) -> Result<usize> {
        Ok(self.shared.lock()?.errors.len())
    }

    /// Jobs and bytes pending now (queued or being written).
    pub fn pending(&self) -> Result<(usize, usize)> {
        let state = self.shared.lock()?;
        Ok((state.pending_jobs, state.pending_bytes))
    }

    /// The most bytes that were ever pending at once.
    pub fn peak_pending_bytes(&self) -> Result<usize> {
        Ok(self.shared.lock()?.peak_bytes)
    }

    fn shutdown(&mut self) -> Result<()> {
        let flushed = self.flush();
        if let Ok(mut state) = self.shared.state.lock() {
            state.closing = true;
        }
        self.shared.work.notify_all();
        self.shared.done.notify_all();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
        flushed
    }

    /// Flushes, stops the workers and returns the flush's result: the first job failure not
    /// yet reported by a flush. Errors not yet drained are dropped with the queue.
    pub fn finish(mut self) -> Result<()> {
        self.shutdown()
    }

    /// Flushes, stops the workers and returns every error not yet drained (empty when all
    /// jobs succeeded), so none is lost. Fails only if the queue is broken.
    pub fn close(mut self) -> Result<Vec<JobError>> {
        if let Err(Error::BadState(m)) = self.shutdown() {
            return Err(Error::BadState(m));
        }
        Ok(self.shared.lock()?.errors.drain(..).collect())
    }
}

impl Drop for SaveQueue {
    fn drop(&mut self) {
        if !self.workers.is_empty() {
            let _ = self.shutdown();
        }
    }
}
