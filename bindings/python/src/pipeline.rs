//! The tile pipeline from Python: `map_tiles` runs a Python function on every cell of a grid
//! and streams the blended result to a file (or an array), with the GIL held only inside the
//! function.

use std::path::PathBuf;
use std::sync::Mutex;

use imkit::partition::{EdgePolicy, GridSpec, Stride};
use imkit::pipeline::{self, Margins, PipelineOptions, TileIn, TileOut};
use imkit::source::{self, OpenOptions};
use imkit::tiling::Blend;
use imkit::{PixelFormat, Rect};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::convert::{dtype_arg, image_to_array, InArray, Need};
use crate::errors::{invalid, CoreResult};
use crate::io::write_options;
use crate::partition::rect_to_py;
use crate::progress::run_with_progress;

/// A `(h, w)` pair from one int or two.
fn pair(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<(u64, u64)> {
    if let Ok(n) = v.extract::<u64>() {
        return Ok((n, n));
    }
    v.extract::<(u64, u64)>()
        .map_err(|_| invalid(py, format!("{name} is an int or a (height, width) pair")))
}

/// The first exception the function raised, and the cell it raised in.
type Raised = Mutex<Option<((u64, u64), PyErr)>>;

/// Calls `function(tile, info)` for one cell and copies what it returns into `out`.
fn call(
    py: Python<'_>,
    function: &Py<PyAny>,
    tin: &TileIn<'_>,
    out: &mut TileOut<'_>,
) -> PyResult<()> {
    static INFO: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let rect = |r: Rect| rect_to_py(py, r);
    let info = INFO.import(py, "imkit._types", "TileInfo")?.call1((
        tin.row,
        tin.col,
        rect(tin.rect)?,
        tin.input_rect.map(rect).transpose()?,
        rect(tin.out_rect)?,
    ))?;
    let tile = image_to_array(py, tin.image.to_image())?;
    let result = function.call1(py, (tile, info))?;
    let result = InArray::new(result.bind(py), Need::Rows)?;
    let view = result.image_view()?;
    let want = out.image.format();
    if view.width() != out.image.width() || view.height() != out.image.height() {
        return Err(crate::errors::to_pyerr(
            py,
            imkit::Error::Mismatch(format!(
                "the function returned a {}x{} tile, the output tile is {}x{} ({})",
                view.width(),
                view.height(),
                out.image.width(),
                out.image.height(),
                want
            )),
        ));
    }
    out.image.copy_from(&view).py(py)
}

/// Runs ``function(tile, info)`` on every cell of a grid over the image file ``source`` and
/// blends what it returns into ``output`` in one streaming pass: no file per tile, memory
/// near one row of cells whatever the image size. Returns ``output`` as a Path, or the
/// result as an array when ``output`` is ``None``.
///
/// ``tile`` is the cell's pixels (a new ``(h, w[, c])`` array, fill value outside the
/// image); ``info`` a :class:`TileInfo` (``row``, ``col``, ``rect`` on the canvas,
/// ``input_rect``, ``out_rect``). The function returns the output tile: ``out_rect``'s size
/// (``scale`` times the cell), ``dtype`` and ``channels`` (default: the input's).
///
/// Grid: ``cell`` pixels (int or ``(h, w)``) with ``overlap`` pixels between neighbours (or
/// an explicit ``step``), ``edge`` ``"clip"`` (default), ``"drop"``, ``"pad"`` or ``"shift"``.
/// ``blend``: ``"overwrite"``, ``"average"``, ``"linear"`` or ``"gaussian"`` (the stitch
/// weights; an identity function reproduces the input bit for bit). ``grow = (top, right,
/// bottom, left)`` extends the canvas (outpainting): cells there receive ``fill`` plus the
/// input they cover. ``threads``: ``None`` or 1 calls the function one cell at a time; a
/// larger number declares it thread-safe, so calls run in parallel on imkit's pool (useful
/// when it releases the GIL, as numpy and torch do). Output bytes never depend on it.
///
/// An exception in the function stops the run, leaves no output file and is raised with
/// the cell in its notes (and as ``exc.imkit_cell = (row, col)``). ``progress`` as in
/// :func:`imkit.fragment`; Ctrl-C raises ``KeyboardInterrupt``.
#[pyfunction]
#[pyo3(signature = (source, function, output, *, cell=None, overlap=0, step=None, edge="clip", blend="overwrite", scale=1, grow=(0, 0, 0, 0), dtype=None, channels=None, fill=0.0, threads=None, png_compression=1, exr_compression="zip", progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn map_tiles<'py>(
    py: Python<'py>,
    source: PathBuf,
    function: Py<PyAny>,
    output: Option<PathBuf>,
    cell: Option<&Bound<'py, PyAny>>,
    overlap: u64,
    step: Option<&Bound<'py, PyAny>>,
    edge: &str,
    blend: &str,
    scale: u64,
    grow: (u64, u64, u64, u64),
    dtype: Option<&Bound<'py, PyAny>>,
    channels: Option<usize>,
    fill: f64,
    threads: Option<usize>,
    png_compression: u8,
    exr_compression: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (ch, cw) = match cell {
        Some(c) if !c.is_none() => pair(py, c, "cell")?,
        _ => (1024, 1024),
    };
    let (sy, sx) = match step {
        Some(s) if !s.is_none() => pair(py, s, "step")?,
        _ if overlap < ch.min(cw) => (ch - overlap, cw - overlap),
        _ => {
            return Err(invalid(
                py,
                format!("overlap {overlap} must be smaller than the cell ({ch}x{cw})"),
            ))
        }
    };
    let src = py
        .detach(|| source::open(&source, &OpenOptions::default()))
        .py(py)?;
    let input = src.format();
    let output_format = PixelFormat::new(
        dtype_arg(py, dtype, input.dtype)?,
        channels.unwrap_or(input.channels),
    )
    .py(py)?;
    let (top, right, bottom, left) = grow;
    let options = PipelineOptions {
        grid: GridSpec::new(ch, cw, Stride::Pixels(sy), Stride::Pixels(sx))
            .with_edge(EdgePolicy::parse(edge).py(py)?),
        blend: Blend::parse(blend).py(py)?,
        scale,
        output_format: Some(output_format),
        grow: Margins {
            top,
            right,
            bottom,
            left,
        },
        fill,
        thread_safe: threads.is_some_and(|n| n > 1),
        write: write_options(py, png_compression, exr_compression)?,
        // `call` copies the returned array over every byte of the output tile.
        output_overwritten: true,
        ..PipelineOptions::default()
    };
    let raised: Raised = Mutex::new(None);
    let tile_fn = |tin: &TileIn<'_>, out: &mut TileOut<'_>| -> imkit::Result<()> {
        Python::attach(|py| match call(py, &function, tin, out) {
            Ok(()) => Ok(()),
            Err(e) => {
                let mut slot = raised.lock().unwrap_or_else(|p| p.into_inner());
                slot.get_or_insert(((tin.row, tin.col), e));
                Err(imkit::Error::Cancelled)
            }
        })
    };
    let result = run_with_progress(py, progress, |report| match &output {
        Some(path) => pipeline::map_source(&*src, path, &options, &tile_fn, report)
            .map(|()| None)
            .map_err(imkit::Error::from),
        None => pipeline::map_to_image(&*src, &options, &tile_fn, report)
            .map(Some)
            .map_err(imkit::Error::from),
    });
    if let Some(((row, col), err)) = raised.into_inner().unwrap_or_else(|p| p.into_inner()) {
        let value = err.value(py);
        let note = format!("raised by the tile function in cell (row {row}, col {col})");
        if value.hasattr("add_note")? {
            value.call_method1("add_note", (note,))?;
        }
        value.setattr("imkit_cell", (row, col))?;
        return Err(err);
    }
    match result? {
        None => Ok(output.into_pyobject(py)?.into_any()),
        Some(image) => image_to_array(py, image),
    }
}
