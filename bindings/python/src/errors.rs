//! The one table from the core's `Error` to the exception classes of `imkit._errors`, each
//! raised with the same message the C layer reports.

use imkit::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The `imkit._errors` class name for a core error.
fn class_name(e: &Error) -> &'static str {
    match e {
        Error::InvalidArgument(_) => "InvalidArgumentError",
        Error::OutOfBounds(_) => "OutOfBoundsError",
        Error::Mismatch(_) => "MismatchError",
        Error::BufferTooSmall(_) => "BufferTooSmallError",
        Error::Io { .. } => "IoError",
        Error::Format(_) => "FormatError",
        Error::Unsupported(_) => "UnsupportedError",
        Error::BadState(_) => "BadStateError",
        Error::WouldBlock(_) => "WouldBlockError",
        Error::Cancelled => "CancelledError",
        Error::Internal(_) => "InternalError",
        Error::TooLarge(_) => "TooLargeError",
        Error::NoMemory(_) => "NoMemoryError",
    }
}

/// The exception class `name` of `imkit._errors` (imported once).
pub fn error_class<'py>(py: Python<'py>, name: &'static str) -> PyResult<&'py Bound<'py, PyType>> {
    static CLASSES: [PyOnceLock<Py<PyType>>; 13] = [const { PyOnceLock::new() }; 13];
    const NAMES: [&str; 13] = [
        "InvalidArgumentError",
        "OutOfBoundsError",
        "MismatchError",
        "BufferTooSmallError",
        "IoError",
        "FormatError",
        "UnsupportedError",
        "BadStateError",
        "WouldBlockError",
        "CancelledError",
        "InternalError",
        "TooLargeError",
        "NoMemoryError",
    ];
    let i = NAMES.iter().position(|n| *n == name).unwrap_or(10);
    CLASSES[i].import(py, "imkit._errors", NAMES[i])
}

/// Converts a core error into the matching Python exception.
pub fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    let make = || -> PyResult<PyErr> {
        let class = error_class(py, class_name(&e))?;
        let value = class.call1((e.to_string(),))?;
        if let Error::Io { path, source } = &e {
            if let Some(code) = source.raw_os_error() {
                value.setattr("errno", code)?;
            }
            value.setattr("strerror", source.to_string())?;
            value.setattr("filename", path.to_string_lossy().into_owned())?;
        }
        Ok(PyErr::from_value(value))
    };
    make().unwrap_or_else(|import_failed| import_failed)
}

/// `imkit::Result` into `PyResult`, mapping the error with [`to_pyerr`].
pub trait CoreResult<T> {
    /// Maps the error (if any) to its Python exception.
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> CoreResult<T> for imkit::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}

/// An `imkit.InvalidArgumentError` for a wrong argument caught in the binding itself.
pub fn invalid(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    to_pyerr(py, Error::invalid(msg))
}
