//! The one error type of the Rust core. Every variant maps to exactly one C status code
//! (see `ffi::status`), so a message never has to be parsed to learn what went wrong.

use std::path::{Path, PathBuf};

/// Result alias used throughout imkit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside imkit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument has a value the operation cannot accept.
    #[error("{0}")]
    InvalidArgument(String),
    /// A rectangle, index or coordinate lies outside the image or grid.
    #[error("{0}")]
    OutOfBounds(String),
    /// Two images (or an image and a buffer) disagree on pixel type, channels or size.
    #[error("{0}")]
    Mismatch(String),
    /// A caller buffer is smaller than the operation needs.
    #[error("{0}")]
    BufferTooSmall(String),
    /// Reading or writing a file failed at the operating-system level.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Input data is malformed, truncated or corrupt.
    #[error("{0}")]
    Format(String),
    /// The data is valid but this feature or combination is not supported
    /// (or cannot be stored without loss).
    #[error("{0}")]
    Unsupported(String),
    /// An object is in a state where the operation is not allowed.
    #[error("{0}")]
    BadState(String),
    /// A non-blocking operation would have had to wait.
    #[error("{0}")]
    WouldBlock(String),
    /// A progress callback asked to stop.
    #[error("cancelled by the progress callback")]
    Cancelled,
    /// Input asks for a buffer past the size limit (see [`crate::limits`]); the message names
    /// the size and the limit.
    #[error("{0}")]
    TooLarge(String),
    /// Allocating a buffer failed (the system is out of memory).
    #[error("{0}")]
    NoMemory(String),
    /// A bug inside imkit (a broken internal invariant).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }

    /// Shorthand for [`Error::Format`].
    pub fn format(msg: impl Into<String>) -> Error {
        Error::Format(msg.into())
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(msg: impl Into<String>) -> Error {
        Error::Unsupported(msg.into())
    }
}
