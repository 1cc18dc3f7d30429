//! Image + metadata I/O: `load`/`save` (one file, lists, directories), metadata only, and the
//! bounded background `SaveQueue`.

use std::path::PathBuf;

use imkit::codec::npy::NpyFile;
use imkit::codec::{ExrCompression, Format, WriteOptions};
use imkit::io::queue::{QueueOptions, SaveQueue as CoreQueue};
use imkit::io::{self, DataRef, LoadOptions, Metadata, SaveOptions};
use imkit::ArrayView;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert::{
    bytes_mut, data_to_array, empty, metadata_arg, metadata_to_py, InArray, Need,
};
use crate::errors::{invalid, CoreResult};

/// Codec settings from the keyword arguments every writer takes.
pub fn write_options(
    py: Python<'_>,
    png_compression: u8,
    exr_compression: &str,
) -> PyResult<WriteOptions> {
    let exr = match exr_compression.to_ascii_lowercase().as_str() {
        "none" => ExrCompression::None,
        "rle" => ExrCompression::Rle,
        "zips" => ExrCompression::Zips,
        "zip" => ExrCompression::Zip,
        "piz" => ExrCompression::Piz,
        _ => {
            return Err(invalid(
                py,
                format!(
                    "exr_compression must be none, rle, zips, zip or piz (got {exr_compression:?})"
                ),
            ))
        }
    };
    if png_compression > 9 {
        return Err(invalid(
            py,
            format!("png_compression must be 0 to 9 (got {png_compression})"),
        ));
    }
    Ok(WriteOptions {
        png_compression,
        exr_compression: exr,
    })
}

/// Pixels to save: images are read in place, other arrays (1-D, N-D, `(h, w, 1)`) are
/// copied once into the core's array type.
enum Saved<'py> {
    Image(InArray<'py>),
    Array(InArray<'py>),
}

impl<'py> Saved<'py> {
    fn new(obj: &Bound<'py, PyAny>) -> PyResult<Saved<'py>> {
        let array = InArray::new(obj, Need::Rows)?;
        if array.is_image() {
            return Ok(Saved::Image(array));
        }
        Ok(Saved::Array(InArray::new(
            array.array().as_any(),
            Need::Contiguous,
        )?))
    }

    fn data(&self) -> PyResult<DataRef<'_>> {
        Ok(match self {
            Saved::Image(a) => DataRef::Image(a.image_view()?),
            Saved::Array(a) => {
                DataRef::Array(ArrayView::new(a.dtype(), a.shape(), a.bytes()).py(a.array().py())?)
            }
        })
    }
}

/// Loads an image or NPY array and its sidecar metadata.
///
/// Returns ``(array, metadata)``: images as ``(h, w)`` or ``(h, w, c)`` arrays in their own
/// dtype, NPY files with their own shape; ``metadata`` is the ``<stem>.json`` sidecar as a dict
/// (empty without one). ``path`` may omit the extension when exactly one file with a known
/// extension matches. The pixels are decoded once, straight into the returned array's memory.
#[pyfunction]
pub fn load<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyTuple>> {
    let npy = py
        .detach(|| -> imkit::Result<_> {
            let path = io::find_file(&path)?;
            if Format::detect(&path)? != Format::Npy {
                return Ok(None);
            }
            let meta = io::load_sidecar(&path, &LoadOptions::default())?;
            Ok(Some((NpyFile::open(&path)?, meta)))
        })
        .py(py)?;
    let (array, meta) = match npy {
        Some((file, meta)) => (load_npy(py, file)?, meta),
        None => {
            let (data, meta) = py.detach(|| io::load(&path)).py(py)?;
            (data_to_array(py, data)?, meta)
        }
    };
    PyTuple::new(py, [array, metadata_to_py(py, &meta)?.into_any()])
}

/// The samples of an opened NPY file, read with one read (GIL released) straight into a
/// numpy array allocated for them (numpy's allocator: huge pages for big arrays, as
/// ``numpy.load``).
fn load_npy(py: Python<'_>, file: NpyFile) -> PyResult<Bound<'_, PyAny>> {
    let (dtype, shape) = (file.header().dtype, file.header().shape.clone());
    let array = empty(py, dtype, &shape)?;
    // SAFETY: `array` is new, C-contiguous and referenced only here during the read.
    let buffer = unsafe { bytes_mut(&array, dtype) };
    py.detach(|| file.read_into(buffer)).py(py)?;
    Ok(array.into_any())
}

/// Saves an array and its metadata; returns the path of the image file written.
///
/// The format follows the extension, or the data when the path has none (uint8/uint16 images
/// with 1-4 channels: PNG, float16/float32 images: EXR, everything else: NPY; the extension
/// is appended). ``metadata`` (a dict, or None) goes to the ``<stem>.json`` sidecar; saving
/// without metadata removes a stale sidecar. Image arrays whose rows are packed are read in
/// place (any row stride); other layouts are copied once. Writes are atomic.
#[pyfunction]
#[pyo3(signature = (path, array, metadata=None, *, png_compression=1, exr_compression="zip", python_tokens=false))]
pub fn save(
    py: Python<'_>,
    path: PathBuf,
    array: &Bound<'_, PyAny>,
    metadata: Option<&Bound<'_, PyAny>>,
    png_compression: u8,
    exr_compression: &str,
    python_tokens: bool,
) -> PyResult<PathBuf> {
    let options = SaveOptions {
        write: write_options(py, png_compression, exr_compression)?,
        python_tokens,
        overwrite: false,
    };
    let meta = metadata_arg(metadata)?;
    let saved = Saved::new(array)?;
    let data = saved.data()?;
    py.detach(|| io::save(&path, data, &meta, &options)).py(py)
}

/// Metadata list argument: None (none), one dict (shared) or one per item.
fn metadata_list(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Metadata>> {
    match obj {
        None => Ok(Vec::new()),
        Some(o) if o.is_none() => Ok(Vec::new()),
        Some(o) if o.is_instance_of::<PyDict>() => Ok(vec![metadata_arg(Some(o))?]),
        Some(o) => o.try_iter()?.map(|m| metadata_arg(Some(&m?))).collect(),
    }
}

/// Saves many arrays, in parallel, to the given paths; returns the paths written.
///
/// ``metadata`` is None, one dict for every file, or one dict per array. Same rules as
/// :func:`save` for each file.
#[pyfunction]
#[pyo3(signature = (paths, arrays, metadata=None, *, png_compression=1, exr_compression="zip", python_tokens=false))]
pub fn save_list(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    arrays: &Bound<'_, PyAny>,
    metadata: Option<&Bound<'_, PyAny>>,
    png_compression: u8,
    exr_compression: &str,
    python_tokens: bool,
) -> PyResult<Vec<PathBuf>> {
    let options = SaveOptions {
        write: write_options(py, png_compression, exr_compression)?,
        python_tokens,
        overwrite: false,
    };
    let meta = metadata_list(metadata)?;
    let saved = saved_arrays(arrays)?;
    let data = saved
        .iter()
        .map(Saved::data)
        .collect::<PyResult<Vec<_>>>()?;
    if paths.len() != data.len() {
        return Err(invalid(
            py,
            format!("{} paths for {} arrays", paths.len(), data.len()),
        ));
    }
    py.detach(|| io::sequence::save_list(&paths, &data, &meta, &options))
        .py(py)
}

/// Every array of the iterable `arrays`, held for saving.
fn saved_arrays<'py>(arrays: &Bound<'py, PyAny>) -> PyResult<Vec<Saved<'py>>> {
    arrays.try_iter()?.map(|a| Saved::new(&a?)).collect()
}

/// Saves arrays into a directory as ``0.<ext>``, ``1.<ext>``, ... (created when missing);
/// returns the paths written.
///
/// A directory already holding numbered files is an error unless ``overwrite=True``, which
/// replaces them and removes numbered files beyond the new count.
#[pyfunction]
#[pyo3(signature = (directory, arrays, metadata=None, *, overwrite=false, png_compression=1, exr_compression="zip", python_tokens=false))]
#[allow(clippy::too_many_arguments)]
pub fn save_dir(
    py: Python<'_>,
    directory: PathBuf,
    arrays: &Bound<'_, PyAny>,
    metadata: Option<&Bound<'_, PyAny>>,
    overwrite: bool,
    png_compression: u8,
    exr_compression: &str,
    python_tokens: bool,
) -> PyResult<Vec<PathBuf>> {
    let options = SaveOptions {
        write: write_options(py, png_compression, exr_compression)?,
        python_tokens,
        overwrite,
    };
    let meta = metadata_list(metadata)?;
    let saved = saved_arrays(arrays)?;
    let data = saved
        .iter()
        .map(Saved::data)
        .collect::<PyResult<Vec<_>>>()?;
    py.detach(|| io::sequence::save_dir(&directory, &data, &meta, &options))
        .py(py)
}

/// Loads many files in parallel; returns a list of ``(array, metadata)``.
#[pyfunction]
pub fn load_list<'py>(py: Python<'py>, paths: Vec<PathBuf>) -> PyResult<Bound<'py, PyList>> {
    let loaded = py.detach(|| io::sequence::load_list(&paths)).py(py)?;
    let list = PyList::empty(py);
    for (data, meta) in loaded {
        let array = data_to_array(py, data)?;
        list.append((array, metadata_to_py(py, &meta)?))?;
    }
    Ok(list)
}

/// Loads every image file of a directory in natural order (``2`` before ``10``); returns a
/// list of ``(path, array, metadata)``.
#[pyfunction]
pub fn load_dir<'py>(py: Python<'py>, directory: PathBuf) -> PyResult<Bound<'py, PyList>> {
    let loaded = py.detach(|| io::sequence::load_dir(&directory)).py(py)?;
    let list = PyList::empty(py);
    for (path, data, meta) in loaded {
        let array = data_to_array(py, data)?;
        list.append((path, array, metadata_to_py(py, &meta)?))?;
    }
    Ok(list)
}

/// What a file holds, from its header alone (no pixel is decoded): a dict with ``shape``
/// (``(h, w)`` / ``(h, w, c)`` for images, the array's shape for NPY), ``dtype`` (numpy name)
/// and ``format`` (``"png"``, ``"tiff"``, ``"exr"``, ``"npy"``, ``"jpeg"``).
#[pyfunction]
pub fn info<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let probed = py.detach(|| imkit::codec::probe_array(&path)).py(py)?;
    let dict = PyDict::new(py);
    dict.set_item("shape", PyTuple::new(py, &probed.shape)?)?;
    dict.set_item("dtype", probed.dtype.name())?;
    dict.set_item("format", probed.file_format.extension())?;
    Ok(dict)
}

/// Reads only the metadata of an image (its sidecar; empty dict without one). ``path`` is the
/// image path or the sidecar's.
#[pyfunction]
pub fn load_metadata<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let meta = py.detach(|| io::load_metadata(&path)).py(py)?;
    metadata_to_py(py, &meta)
}

/// Writes only the metadata of an image (its ``<stem>.json`` sidecar), atomically; returns
/// the sidecar path. Non-finite numbers need ``python_tokens=True`` (Python's ``NaN`` tokens,
/// not standard JSON).
#[pyfunction]
#[pyo3(signature = (path, metadata, *, python_tokens=false))]
pub fn save_metadata(
    py: Python<'_>,
    path: PathBuf,
    metadata: &Bound<'_, PyAny>,
    python_tokens: bool,
) -> PyResult<PathBuf> {
    let meta = metadata_arg(Some(metadata))?;
    py.detach(|| io::save_metadata(&path, &meta, python_tokens))
        .py(py)
}

/// A bounded background save queue: ``push`` copies the array and returns at once (blocking
/// only while the queue is full), worker threads write the files.
///
/// Use it as a context manager: leaving the ``with`` block waits for every job and raises
/// the first job error, if any::
///
///     with imkit.SaveQueue(workers=2) as q:
///         q.push("out/a.png", a, {"frame": 1})
#[pyclass(module = "imkit", name = "SaveQueue")]
pub struct SaveQueue {
    queue: Option<CoreQueue>,
}

impl SaveQueue {
    fn queue(&self, py: Python<'_>) -> PyResult<&CoreQueue> {
        self.queue.as_ref().ok_or_else(|| {
            crate::errors::to_pyerr(
                py,
                imkit::Error::BadState("the save queue is closed".into()),
            )
        })
    }

    fn push_job(
        &self,
        py: Python<'_>,
        path: PathBuf,
        array: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
        block: bool,
    ) -> PyResult<PathBuf> {
        let queue = self.queue(py)?;
        let meta = metadata_arg(metadata)?;
        let saved = Saved::new(array)?;
        let data = saved.data()?;
        let ticket = py
            .detach(|| {
                if block {
                    queue.push(&path, data, &meta)
                } else {
                    queue.try_push(&path, data, &meta)
                }
            })
            .py(py)?;
        Ok(ticket.path)
    }
}

/// One failed job as `(path, message)`.
fn job_error(e: &imkit::io::queue::JobError) -> (PathBuf, String) {
    (e.path.clone(), e.message.clone())
}

#[pymethods]
impl SaveQueue {
    /// Starts ``workers`` writer threads; at most ``max_bytes`` of pixel data and
    /// ``max_jobs`` jobs are pending at once. Keyword arguments as :func:`imkit.save`.
    #[new]
    #[pyo3(signature = (*, workers=2, max_bytes=512 << 20, max_jobs=64, png_compression=1, exr_compression="zip", python_tokens=false))]
    fn new(
        py: Python<'_>,
        workers: usize,
        max_bytes: usize,
        max_jobs: usize,
        png_compression: u8,
        exr_compression: &str,
        python_tokens: bool,
    ) -> PyResult<SaveQueue> {
        let options = QueueOptions {
            threads: workers,
            max_pending_bytes: max_bytes,
            max_pending_jobs: max_jobs,
            save: SaveOptions {
                write: write_options(py, png_compression, exr_compression)?,
                python_tokens,
                overwrite: false,
            },
        };
        let queue = CoreQueue::new(options).py(py)?;
        Ok(SaveQueue { queue: Some(queue) })
    }

    /// Queues a save of a copy of ``array``; blocks while the queue is full. Returns the path
    /// the file will have. Path and metadata errors are raised now, write errors later (see
    /// :meth:`errors`).
    #[pyo3(signature = (path, array, metadata=None))]
    fn push(
        &self,
        py: Python<'_>,
        path: PathBuf,
        array: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PathBuf> {
        self.push_job(py, path, array, metadata, true)
    }

    /// As :meth:`push`, but raises :class:`imkit.WouldBlockError` instead of waiting.
    #[pyo3(signature = (path, array, metadata=None))]
    fn try_push(
        &self,
        py: Python<'_>,
        path: PathBuf,
        array: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PathBuf> {
        self.push_job(py, path, array, metadata, false)
    }

    /// Waits until every job pushed so far has finished; raises the first error of a job
    /// that failed since the previous flush (all stay listed by :meth:`errors`).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let queue = self.queue(py)?;
        py.detach(|| queue.flush()).py(py)
    }

    /// Takes every job error not yet taken, oldest first, as ``(path, message)`` pairs.
    fn errors(&self, py: Python<'_>) -> PyResult<Vec<(PathBuf, String)>> {
        let queue = self.queue(py)?;
        let mut out = Vec::new();
        while let Some(e) = queue.next_error().py(py)? {
            out.push(job_error(&e));
        }
        Ok(out)
    }

    /// ``(jobs, bytes)`` pending now.
    fn pending(&self, py: Python<'_>) -> PyResult<(usize, usize)> {
        self.queue(py)?.pending().py(py)
    }

    /// Waits for every job, stops the workers and returns the errors not yet taken as
    /// ``(path, message)`` pairs. Closing twice is allowed (the second returns ``[]``).
    fn close(&mut self, py: Python<'_>) -> PyResult<Vec<(PathBuf, String)>> {
        match self.queue.take() {
            None => Ok(Vec::new()),
            Some(queue) => {
                let errors = py.detach(|| queue.close()).py(py)?;
                Ok(errors.iter().map(job_error).collect())
            }
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Waits for every job and closes the queue; raises the first job error unless the
    /// block itself raised.
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let flushed = self.flush(py);
        let closed = self.close(py);
        if exc_type.is_none_or(|t| t.is_none()) {
            flushed?;
            closed?;
        }
        Ok(false)
    }
}
