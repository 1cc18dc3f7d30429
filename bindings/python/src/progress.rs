//! Progress for long core calls: the GIL is released for the call and taken back only to
//! report, where pending signals are checked too, so Ctrl-C stops the work with
//! `KeyboardInterrupt` (the core then removes its temporary files).

use imkit::progress::Progress;
use pyo3::prelude::*;

use crate::errors::CoreResult;

/// Runs `work` with the GIL released, reporting to `callback(done, total)` when given (a
/// return value of `False` cancels; `None` or `True` continue). An exception raised by the
/// callback, or by a signal handler, stops the work and is raised in its place.
pub fn run_with_progress<T: Send>(
    py: Python<'_>,
    callback: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&mut Progress<'_>) -> imkit::Result<T> + Send,
) -> PyResult<T> {
    let callback: Option<Py<PyAny>> = callback
        .filter(|c| !c.is_none())
        .map(|c| c.clone().unbind());
    let mut raised: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut report = |done: u64, total: u64| -> bool {
            Python::attach(|py| {
                let outcome = py.check_signals().and_then(|()| match &callback {
                    None => Ok(true),
                    Some(cb) => {
                        let answer = cb.call1(py, (done, total))?;
                        Ok(answer.is_none(py) || answer.is_truthy(py)?)
                    }
                });
                outcome.unwrap_or_else(|e| {
                    raised = Some(e);
                    false
                })
            })
        };
        let mut progress = Progress::new(&mut report);
        work(&mut progress)
    });
    match raised {
        Some(e) => Err(e),
        None => result.py(py),
    }
}
