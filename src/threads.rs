//! The library-owned thread pool. imkit never uses rayon's global pool, so it does not fight
//! the host application's own rayon use, and the thread count is set explicitly.
//! Results never depend on the thread count: parallel work is always assembled in a fixed order.

use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};

static POOL: RwLock<Option<Arc<rayon::ThreadPool>>> = RwLock::new(None);
static REQUESTED: RwLock<usize> = RwLock::new(0);

/// The largest thread count accepted.
const MAX_THREADS: usize = 4096;

fn build(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("imkit-worker-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::Internal(format!("cannot start the thread pool: {e}")))
}

/// Sets the number of worker threads; 0 means one per available core. The pool is rebuilt
/// lazily on next use; work already running keeps the old pool until it finishes.
pub fn set_num_threads(threads: usize) -> Result<()> {
    if threads > MAX_THREADS {
        return Err(Error::invalid(format!(
            "thread count {threads} is unreasonably large (at most {MAX_THREADS})"
        )));
    }
    *REQUESTED.write().unwrap_or_else(|e| e.into_inner()) = threads;
    *POOL.write().unwrap_or_else(|e| e.into_inner()) = None;
    Ok(())
}

/// Environment variable giving the thread count when none was set (a positive integer; unset,
/// empty, 0 or unparsable means one per available core).
pub const THREADS_ENV: &str = "IMKIT_THREADS";

/// The number of worker threads the pool has (or will have when first used): the count set by
/// [`set_num_threads`], else `IMKIT_THREADS`, else one per available core.
pub fn num_threads() -> usize {
    let requested = *REQUESTED.read().unwrap_or_else(|e| e.into_inner());
    if requested != 0 {
        return requested;
    }
    match std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        Some(n) if (1..=MAX_THREADS).contains(&n) => n,
        _ => available_cores(),
    }
}

/// The cores this process may use, asked once: `available_parallelism` reads the cgroup
/// quota files and the affinity mask on every call (tens of microseconds), and per-read
/// callers (a region copy deciding how to split) ask often.
fn available_cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The current pool, started on first use.
pub fn pool() -> Result<Arc<rayon::ThreadPool>> {
    if let Some(pool) = POOL.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return Ok(pool.clone());
    }
    let mut slot = POOL.write().unwrap_or_else(|e| e.into_inner());
    if let Some(pool) = slot.as_ref() {
        return Ok(pool.clone());
    }
    let pool = build(num_threads())?;
    *slot = Some(pool.clone());
    Ok(pool)
}

/// Runs `f` inside the library pool, so rayon calls in it use imkit's threads.
pub fn install<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T> {
    Ok(pool()?.install(f))
}
