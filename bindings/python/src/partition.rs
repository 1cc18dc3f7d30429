//! `Partition` (a lazy grid of cells over a file or an array, indexed like NumPy) and its
//! `Region`s; in-memory arrays are read in place through [`ArraySource`].

use std::path::PathBuf;
use std::sync::Arc;

use imkit::partition::{
    AxisKey, EdgePolicy, GridSpec, Layout, Partition as CorePartition, Selection, Stride,
};
use imkit::rect::Rect;
use imkit::source::{OpenOptions, PackedLayout, PackedSource, RegionSource};
use imkit::{PixelFormat, PixelType};
use numpy::PyUntypedArrayMethods;
use pyo3::conversion::FromPyObjectOwned;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyEllipsis, PySlice, PyTuple, PyType};

use crate::convert::{bytes_mut, check_out, dtype_arg, empty, InArray, Need};
use crate::errors::{invalid, CoreResult};

/// A `Rect(left, top, right, bottom)` of `imkit._types`.
pub fn rect_to_py(py: Python<'_>, r: Rect) -> PyResult<Bound<'_, PyAny>> {
    static RECT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    RECT.import(py, "imkit._types", "Rect")?
        .call1((r.left, r.top, r.right, r.bottom))
}

/// The memory of a numpy array, kept alive by `owner`. Python code that writes the array while
/// a read runs gets undefined pixels in that read (as with any buffer shared between threads),
/// never a crash.
struct ArrayBytes {
    _owner: Py<PyAny>,
    data: usize,
    len: usize,
}

impl AsRef<[u8]> for ArrayBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `data..data + len` is the array's memory, kept alive by `_owner`.
        unsafe { std::slice::from_raw_parts(self.data as *const u8, self.len) }
    }
}

/// Pixels of a numpy array, read in place: `(h, w[, c])` images or, as volumes,
/// `(d, h, w[, c])`. Rows are packed (checked by [`InArray`]).
type ArraySource = PackedSource<ArrayBytes>;

/// Wraps a numpy array as a region source (the core's packed-row reader does the copying).
fn array_source(array: &InArray<'_>, volume: bool) -> PyResult<ArraySource> {
    let py = array.array().py();
    let shape = array.shape();
    let strides = array.array().strides();
    let (depth, dims) = match (volume, shape.len()) {
        (false, 2 | 3) => (1, shape),
        (true, 3 | 4) => (shape[0], &shape[1..]),
        _ => {
            return Err(invalid(
                py,
                format!(
                    "a partition needs an image array (h, w[, c]) or, with volume=True, \
                     (d, h, w[, c]); got shape {shape:?}"
                ),
            ))
        }
    };
    let channels = dims.get(2).copied().unwrap_or(1);
    let format = PixelFormat::new(array.dtype(), channels).py(py)?;
    let row_bytes = dims[1] * format.bytes_per_pixel();
    let (row_stride, slice_stride) = if volume {
        (row_bytes, array.row_stride())
    } else {
        (array.row_stride(), 0)
    };
    if volume && dims[0] > 1 && strides[1] as usize != row_bytes {
        return Err(invalid(py, "volume slices must have packed rows"));
    }
    let bytes = array.bytes();
    let memory = ArrayBytes {
        _owner: array.array().clone().into_any().unbind(),
        data: bytes.as_ptr() as usize,
        len: bytes.len(),
    };
    let layout = PackedLayout {
        offset: 0,
        width: dims[1] as u64,
        height: dims[0] as u64,
        depth: depth as u64,
        format,
        row_stride,
        slice_stride,
    };
    PackedSource::with_layout(memory, layout).py(py)
}

/// One to three values of a per-axis argument (`cell`, `stride`, `step`), as given.
fn per_axis<'py, T: FromPyObjectOwned<'py>>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<T>> {
    if let Ok(v) = obj.extract::<T>() {
        return Ok(vec![v]);
    }
    obj.try_iter()?
        .map(|v| v?.extract::<T>().map_err(Into::into))
        .collect()
}

/// Values for a grid of `dims` axes from one value (every axis) or `dims` values (a volume's
/// three values over a one-slice volume, a 2-D grid, drop the depth value).
fn expand<T: Copy>(py: Python<'_>, v: Vec<T>, dims: usize, name: &str) -> PyResult<Vec<T>> {
    match v.len() {
        1 => Ok(vec![v[0]; dims]),
        n if n == dims => Ok(v),
        3 if dims == 2 => Ok(v[1..].to_vec()),
        n => Err(invalid(
            py,
            format!("{name} takes 1 or {dims} values for this grid, got {n}"),
        )),
    }
}

/// A lazy grid of cells over an image or volume (a file, or a numpy array read in place).
///
/// ``Partition(source, cell=1024, stride=None, step=None, edge="clip", channels=None,
/// fill=0.0, cache_dir=None, volume=False)``
///
/// - ``source``: a path (PNG, TIFF, NPY, EXR) or a numpy array ``(h, w[, c])`` (with
///   ``volume=True``: ``(d, h, w[, c])``, or a 3-D/4-D NPY file as a volume).
/// - ``cell``: cell size in pixels, one value or ``(h, w)`` (volumes ``(d, h, w)``).
/// - ``stride``: step as a fraction of the cell (impart's form, default 1.0), one value or
///   per axis; ``step``: the step in whole pixels instead (exact mode). Not both.
/// - ``edge``: ``"clip"`` (default), ``"drop"``, ``"pad"`` (full-size cells, ``fill`` outside)
///   or ``"shift"``.
/// - ``channels``: band indices to keep (negative from the end), default all.
/// - ``cache_dir``: where PNG files are decoded once for random access (required for PNG).
///
/// ``p[key]`` takes NumPy keys (ints, negative ints, slices, ``...``, tuples) over
/// (rows, cols) — or (depth, rows, cols) for volumes — and returns a lazy :class:`Region`;
/// ``len(p)`` is the number of cells, iterating visits every cell's region in row-major
/// order. Reads release the GIL and may run from several threads at once. Picklable: files
/// reopen on unpickle, arrays travel with their pixels.
#[pyclass(module = "imkit", frozen)]
pub struct Partition {
    inner: Arc<CorePartition>,
    source: Py<PyAny>,
    cell: Vec<u64>,
    stride: Option<Vec<f64>>,
    step: Option<Vec<u64>>,
    edge: EdgePolicy,
    channels: Option<Vec<i64>>,
    fill: f64,
    cache_dir: Option<PathBuf>,
    volume: bool,
}

impl Partition {
    /// Grid shape in cells per axis.
    fn shape(&self) -> Vec<u64> {
        let g = self.inner.grid();
        let (r, c) = g.shape();
        if g.is_volume() {
            vec![g.depth().count(), r, c]
        } else {
            vec![r, c]
        }
    }

    /// Step per axis in pixels.
    fn step(&self) -> Vec<f64> {
        let g = self.inner.grid();
        let (y, x) = self.inner.step();
        if g.is_volume() {
            vec![g.depth().step(), y, x]
        } else {
            vec![y, x]
        }
    }

    /// Cell size per axis.
    fn cell(&self) -> Vec<u64> {
        let g = self.inner.grid();
        if g.is_volume() {
            vec![g.depth().cell(), g.rows().cell(), g.cols().cell()]
        } else {
            vec![g.rows().cell(), g.cols().cell()]
        }
    }

    /// Image size per axis.
    fn image_shape(&self) -> Vec<u64> {
        let g = self.inner.grid();
        let (w, h) = g.image_size();
        if g.is_volume() {
            vec![g.depth().extent(), h, w]
        } else {
            vec![h, w]
        }
    }

    /// The core partition.
    pub fn core(&self) -> &CorePartition {
        &self.inner
    }

    fn dims(&self) -> usize {
        if self.inner.grid().is_volume() {
            3
        } else {
            2
        }
    }

    /// The per-axis keys of a NumPy-style key.
    fn keys(&self, key: &Bound<'_, PyAny>) -> PyResult<Vec<AxisKey>> {
        let py = key.py();
        let items: Vec<Bound<'_, PyAny>> = match key.cast::<PyTuple>() {
            Ok(t) => t.iter().collect(),
            Err(_) => vec![key.clone()],
        };
        let dims = self.dims();
        let ellipses = items
            .iter()
            .filter(|i| i.is_instance_of::<PyEllipsis>())
            .count();
        if ellipses > 1 {
            return Err(crate::errors::to_pyerr(
                py,
                imkit::Error::OutOfBounds(
                    "an index can only have a single ellipsis ('...')".into(),
                ),
            ));
        }
        let given = items.len() - ellipses;
        if given > dims {
            return Err(crate::errors::to_pyerr(
                py,
                imkit::Error::OutOfBounds(format!(
                    "too many indices: the grid is {dims}-dimensional, {given} were indexed"
                )),
            ));
        }
        let mut keys = Vec::with_capacity(dims);
        for item in &items {
            if item.is_instance_of::<PyEllipsis>() {
                keys.extend(std::iter::repeat_n(AxisKey::All, dims - given));
            } else {
                keys.push(axis_key(item)?);
            }
        }
        keys.resize(dims, AxisKey::All);
        Ok(keys)
    }

    fn region(slf: &Bound<'_, Self>, sel: Selection) -> Region {
        Region {
            partition: slf.clone().unbind(),
            sel,
        }
    }
}

/// One axis of a key: an int (anything with `__index__`) or a slice with step None or 1.
fn axis_key(item: &Bound<'_, PyAny>) -> PyResult<AxisKey> {
    let py = item.py();
    if let Ok(s) = item.cast::<PySlice>() {
        let bound = |name: &str| -> PyResult<Option<i64>> {
            let v = s.getattr(name)?;
            if v.is_none() {
                Ok(None)
            } else {
                Ok(Some(v.extract::<i64>()?))
            }
        };
        match bound("step")? {
            None | Some(1) => {}
            Some(step) => {
                return Err(invalid(
                    py,
                    format!("slice step {step} is not supported: a region is one rectangle"),
                ))
            }
        }
        return match (bound("start")?, bound("stop")?) {
            (None, None) => Ok(AxisKey::All),
            (a, b) => Ok(AxisKey::Slice(a, b)),
        };
    }
    if item.is_none() {
        return Err(invalid(
            py,
            "None (numpy.newaxis) is not a valid partition index",
        ));
    }
    item.extract::<i64>().map(AxisKey::Index).map_err(|_| {
        PyTypeError::new_err(format!(
            "partition indices must be integers, slices or '...', not {}",
            item.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

#[pymethods]
impl Partition {
    #[new]
    #[pyo3(signature = (source, cell=None, stride=None, step=None, edge="clip", channels=None, fill=0.0, cache_dir=None, volume=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        cell: Option<&Bound<'_, PyAny>>,
        stride: Option<&Bound<'_, PyAny>>,
        step: Option<&Bound<'_, PyAny>>,
        edge: &str,
        channels: Option<Vec<i64>>,
        fill: f64,
        cache_dir: Option<PathBuf>,
        volume: bool,
    ) -> PyResult<Partition> {
        let cell: Vec<u64> = match cell {
            Some(c) if !c.is_none() => per_axis(c)?,
            _ => vec![imkit::tiling::DEFAULT_TILE_SIZE],
        };
        let stride: Option<Vec<f64>> = stride.filter(|s| !s.is_none()).map(per_axis).transpose()?;
        let step: Option<Vec<u64>> = step.filter(|s| !s.is_none()).map(per_axis).transpose()?;
        if stride.is_some() && step.is_some() {
            return Err(invalid(
                py,
                "give stride (a fraction of the cell) or step (pixels), not both",
            ));
        }
        let edge_policy = EdgePolicy::parse(edge).py(py)?;
        let (core_source, source_obj): (Arc<dyn RegionSource>, Py<PyAny>) =
            if let Ok(path) = source.extract::<PathBuf>() {
                let options = OpenOptions {
                    cache_dir: cache_dir.clone(),
                    volume,
                };
                let opened = py.detach(|| imkit::source::open(&path, &options)).py(py)?;
                (
                    Arc::from(opened),
                    path.into_pyobject(py)?.into_any().unbind(),
                )
            } else {
                let array = InArray::new(source, Need::Rows)?;
                let src = array_source(&array, volume)?;
                (Arc::new(src), array.array().clone().into_any().unbind())
            };
        let dims = if core_source.depth() > 1 { 3 } else { 2 };
        let cells = expand(py, cell.clone(), dims, "cell")?;
        let strides: Vec<Stride> = match (&stride, &step) {
            (_, Some(s)) => expand(py, s.clone(), dims, "step")?
                .into_iter()
                .map(Stride::Pixels)
                .collect(),
            (Some(s), None) => expand(py, s.clone(), dims, "stride")?
                .into_iter()
                .map(Stride::Fraction)
                .collect(),
            (None, None) => vec![Stride::Fraction(1.0); dims],
        };
        let (h, w) = (dims - 2, dims - 1);
        let mut spec =
            GridSpec::new(cells[h], cells[w], strides[h], strides[w]).with_edge(edge_policy);
        if dims == 3 {
            spec = spec.with_depth(cells[0], strides[0]);
        }
        let inner = CorePartition::new(core_source, &spec, channels.as_deref())
            .py(py)?
            .with_fill(fill);
        Ok(Partition {
            inner: Arc::new(inner),
            source: source_obj,
            cell,
            stride,
            step,
            edge: edge_policy,
            channels,
            fill,
            cache_dir,
            volume,
        })
    }

    /// Grid shape in cells: ``(rows, cols)``, or ``(depth, rows, cols)`` for volumes.
    #[getter(shape)]
    fn shape_tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.shape())
    }

    /// Step between cells in pixels per axis (binary64, like impart's ``step_size``).
    #[getter(step)]
    fn step_tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.step())
    }

    /// Cell size in pixels per axis.
    #[getter(cell)]
    fn cell_tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.cell())
    }

    /// Image size in pixels: ``(height, width)``, or ``(depth, height, width)``.
    #[getter(image_shape)]
    fn image_shape_tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.image_shape())
    }

    /// The numpy dtype name of the pixels reads return.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.inner.format().dtype.name()
    }

    /// ``(height, width)`` of the blocks the file stores and decodes as a unit (TIFF tiles or
    /// strips, EXR tiles or scan-line blocks; ``(1, width)`` for row-addressable PNG and NPY
    /// files), or None (arrays, formats without such blocks). Reads aligned with them decode
    /// nothing twice.
    #[getter]
    fn source_chunk(&self) -> Option<(u64, u64)> {
        self.inner.source().chunk_shape().map(|(w, h)| (h, w))
    }

    /// Channels per pixel of what reads return (after channel selection).
    #[getter]
    fn channels(&self) -> usize {
        self.inner.format().channels
    }

    /// The source: the path the partition was opened from, or the array it reads.
    #[getter]
    fn source(&self, py: Python<'_>) -> Py<PyAny> {
        self.source.clone_ref(py)
    }

    fn __len__(&self) -> usize {
        self.inner.grid().len() as usize
    }

    fn __getitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Region> {
        let keys = slf.get().keys(key)?;
        let sel = slf.get().inner.select(&keys).py(slf.py())?;
        Ok(Partition::region(slf, sel))
    }

    /// Every cell's region, in row-major order (depth first for volumes).
    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let g = slf.get().inner.grid();
        let depth = if g.is_volume() { g.depth().count() } else { 1 };
        let mut regions = Vec::with_capacity(slf.get().__len__());
        for z in 0..depth {
            for (r, c) in g.cells() {
                let sel = Selection {
                    depth: if g.is_volume() { z..z + 1 } else { 0..1 },
                    rows: r..r + 1,
                    cols: c..c + 1,
                };
                regions.push(Partition::region(slf, sel));
            }
        }
        pyo3::types::PyList::new(py, regions)?
            .into_any()
            .try_iter()
            .map(Bound::into_any)
    }

    /// The image rectangle of cell ``(r, c)`` (negative indices from the end) as a
    /// :class:`Rect`.
    fn cell_rect<'py>(&self, py: Python<'py>, r: i64, c: i64) -> PyResult<Bound<'py, PyAny>> {
        let g = self.inner.grid();
        let sel = Selection {
            depth: 0..1,
            rows: AxisKey::Index(r).resolve(g.rows().count(), "row").py(py)?,
            cols: AxisKey::Index(c)
                .resolve(g.cols().count(), "column")
                .py(py)?,
        };
        rect_to_py(py, g.selection_rect(&sel))
    }

    /// Every cell ``(row, col)`` containing pixel ``(x, y)`` (none in gaps or dropped edges).
    fn cells_at(&self, x: u64, y: u64) -> Vec<(u64, u64)> {
        let (rows, cols) = self.inner.grid().cells_containing(x, y);
        rows.flat_map(|r| cols.clone().map(move |c| (r, c)))
            .collect()
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let p = slf.get();
        let args = (
            p.source.clone_ref(py),
            p.cell.clone(),
            p.stride.clone(),
            p.step.clone(),
            p.edge.name(),
            p.channels.clone(),
            p.fill,
            p.cache_dir.clone(),
            p.volume,
        )
            .into_pyobject(py)?;
        Ok((slf.get_type(), args))
    }

    fn __repr__(&self) -> String {
        format!(
            "imkit.Partition(shape={:?}, cell={:?}, step={:?}, image_shape={:?}, dtype={}, channels={})",
            self.shape(),
            self.cell(),
            self.step(),
            self.image_shape(),
            self.dtype(),
            self.channels()
        )
    }
}

/// A lazy selection of cells of a :class:`Partition`: nothing is read until :meth:`numpy`.
#[pyclass(module = "imkit", frozen)]
pub struct Region {
    partition: Py<Partition>,
    sel: Selection,
}

impl Region {
    fn out_shape(&self, p: &CorePartition) -> Vec<usize> {
        let (w, h, d) = p.output_size(&self.sel);
        let mut shape = Vec::with_capacity(4);
        if p.grid().is_volume() {
            shape.push(d as usize);
        }
        shape.extend([h as usize, w as usize]);
        let c = p.format().channels;
        if c > 1 {
            shape.push(c);
        }
        shape
    }
}

#[pymethods]
impl Region {
    /// The image rectangle the selected cells cover (inside the image) as a :class:`Rect`.
    #[getter]
    fn rect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        rect_to_py(
            py,
            self.partition.get().inner.grid().selection_rect(&self.sel),
        )
    }

    /// Slices covered (volumes): ``(start, stop)``.
    #[getter]
    fn depth(&self) -> (u64, u64) {
        let r = self
            .partition
            .get()
            .inner
            .grid()
            .depth()
            .union(self.sel.depth.clone());
        (r.start, r.end)
    }

    /// Shape of the array :meth:`numpy` returns: ``(h, w)`` or ``(h, w, c)`` (volumes with a
    /// leading depth axis); padded cells keep their full size.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.out_shape(&self.partition.get().inner))
    }

    /// Selected cells per axis as ``(start, stop)`` ranges: rows, cols (volumes: depth first).
    #[getter]
    fn cells(&self) -> Vec<(u64, u64)> {
        let s = &self.sel;
        let mut v = vec![(s.rows.start, s.rows.end), (s.cols.start, s.cols.end)];
        if self.partition.get().inner.grid().is_volume() {
            v.insert(0, (s.depth.start, s.depth.end));
        }
        v
    }

    /// Reads the pixels into a new array, or into ``out`` (a C-contiguous writeable array
    /// of exactly :attr:`shape` and the result dtype), which is returned. ``dtype``: None
    /// (the source's) or float32/float64 (a plain cast like ``astype``). The array is
    /// allocated once and filled by the core with the GIL released.
    #[pyo3(signature = (dtype=None, out=None))]
    fn numpy<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        out: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p: &CorePartition = &self.partition.get().inner;
        let dtype: PixelType = dtype_arg(py, dtype, p.format().dtype)?;
        let shape = self.out_shape(p);
        let array = match out {
            Some(o) if !o.is_none() => check_out(o, dtype, &shape)?,
            _ => empty(py, dtype, &shape)?,
        };
        // SAFETY: `array` was checked C-contiguous and writeable (or is new); nothing else
        // touches its data during the read.
        let buffer = unsafe { bytes_mut(&array, dtype) };
        let sel = &self.sel;
        py.detach(|| p.read_into_as(sel, Layout::Interleaved, dtype, buffer))
            .py(py)?;
        Ok(array.into_any())
    }

    /// ``numpy.asarray(region)`` reads the region.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = copy;
        let array = self.numpy(py, None, None)?;
        match dtype {
            Some(d) if !d.is_none() => array.call_method1("astype", (d,)),
            _ => Ok(array),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "imkit.Region(cells={:?}, rect={}, shape={:?})",
            self.cells(),
            self.rect(py)?.repr()?,
            self.out_shape(&self.partition.get().inner)
        ))
    }
}
