"""Exceptions raised by imkit.

Every failure of the Rust core arrives as a subclass of :class:`Error` that also derives from
the builtin exception a Python user would catch for it (``ValueError``, ``IndexError``,
``OSError``, ...). Messages are the same text the C layer reports through
``imkit_last_error_copy``. ``status`` names the matching C status code.
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every error imkit raises."""

    #: The C status code name (``IMKIT_STATUS_...``) of this kind of error.
    status: str = "IMKIT_STATUS_INTERNAL"


class InvalidArgumentError(Error, ValueError):
    """An argument has a value the operation cannot accept."""

    status = "IMKIT_STATUS_INVALID_ARG"


class OutOfBoundsError(Error, IndexError):
    """A rectangle, index or coordinate lies outside the image or grid."""

    status = "IMKIT_STATUS_OUT_OF_BOUNDS"


class MismatchError(Error, ValueError):
    """Two images (or an image and a buffer) disagree on pixel type, channels or size."""

    status = "IMKIT_STATUS_MISMATCH"


class BufferTooSmallError(Error, ValueError):
    """An output array is smaller than the operation needs."""

    status = "IMKIT_STATUS_BUFFER_TOO_SMALL"


class IoError(Error, OSError):
    """Reading or writing a file failed at the operating-system level.

    ``errno``, ``strerror`` and ``filename`` are set as the operating system reported them;
    ``str()`` is imkit's message (the path, then the system's reason).
    """

    status = "IMKIT_STATUS_IO"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else super().__str__()


class FormatError(Error, ValueError):
    """Input data is malformed, truncated or corrupt."""

    status = "IMKIT_STATUS_FORMAT"


class UnsupportedError(Error, ValueError):
    """Valid data, but the feature or combination is not supported (or not storable exactly)."""

    status = "IMKIT_STATUS_UNSUPPORTED"


class BadStateError(Error, RuntimeError):
    """An object is in a state where the operation is not allowed (e.g. a closed queue)."""

    status = "IMKIT_STATUS_BAD_STATE"


class WouldBlockError(Error, BlockingIOError):
    """A non-blocking operation (``SaveQueue.try_push``) would have had to wait."""

    status = "IMKIT_STATUS_WOULD_BLOCK"


class CancelledError(Error):
    """A progress callback returned ``False``. (Ctrl-C raises ``KeyboardInterrupt`` itself.)"""

    status = "IMKIT_STATUS_CANCELLED"


class InternalError(Error, RuntimeError):
    """A bug inside imkit (a broken internal invariant)."""

    status = "IMKIT_STATUS_INTERNAL"


class TooLargeError(Error, MemoryError):
    """The input asks for more than the size limit (see ``imkit.set_max_pixels``)."""

    status = "IMKIT_STATUS_TOO_LARGE"


class NoMemoryError(Error, MemoryError):
    """Allocating memory failed."""

    status = "IMKIT_STATUS_NO_MEMORY"

__all__ = [
    "Error",
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
]
