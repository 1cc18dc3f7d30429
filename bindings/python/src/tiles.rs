//! Tiles: extract and paste (file to file, array to array), fragment a partition into tile
//! files and stitch them back.

use std::path::PathBuf;

use imkit::tiling::{self, Blend, Corner, EdgePolicy, FragmentOptions, StitchOptions, TileSpec};
use imkit::ImageViewMut;
use numpy::npyffi::flags::NPY_ARRAY_WRITEABLE;
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::convert::{bytes_mut, check_out, empty, numpy, InArray, Need};
use crate::errors::{invalid, CoreResult};
use crate::io::write_options;
use crate::partition::{rect_to_py, Partition};
use crate::progress::run_with_progress;

/// The tile placement from the keyword arguments.
fn tile_spec(
    py: Python<'_>,
    (x, y): (i64, i64),
    (width, height): (u64, Option<u64>),
    corner: &str,
    edge: &str,
    fill: f64,
) -> PyResult<TileSpec> {
    Ok(TileSpec {
        x,
        y,
        corner: Corner::parse(corner).py(py)?,
        width,
        height: height.unwrap_or(width),
        edge: EdgePolicy::parse(edge, fill).py(py)?,
    })
}

/// Extracts a tile: from an image file into another file (returns the image :class:`Rect`
/// the tile covers), or from an array into a new array (or ``out``), which is returned.
///
/// ``(x, y)`` is the anchor, ``corner`` which tile pixel sits on it (``tl``, ``tr``, ``bl``,
/// ``br``, ``center``); ``width`` x ``height`` (default square) the tile size; ``edge``
/// decides tiles crossing the border: ``"error"`` (default), ``"clip"`` or ``"pad"`` with
/// ``fill``. PNG files stream (rows decoded only down to the tile). Arrays are read in place.
#[pyfunction]
#[pyo3(signature = (source, output=None, *, x, y, width=1024, height=None, corner="tl", edge="error", fill=0.0, out=None, png_compression=1, exr_compression="zip", progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn extract_tile<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    output: Option<PathBuf>,
    x: i64,
    y: i64,
    width: u64,
    height: Option<u64>,
    corner: &str,
    edge: &str,
    fill: f64,
    out: Option<&Bound<'py, PyAny>>,
    png_compression: u8,
    exr_compression: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = tile_spec(py, (x, y), (width, height), corner, edge, fill)?;
    if let Ok(input) = source.extract::<PathBuf>() {
        let output = output.ok_or_else(|| invalid(py, "extracting from a file needs output="))?;
        let options = write_options(py, png_compression, exr_compression)?;
        let placement = run_with_progress(py, progress, |p| {
            tiling::extract_file(&input, &output, &spec, &options, p)
        })?;
        return rect_to_py(py, placement.image_rect);
    }
    if output.is_some() {
        return Err(invalid(
            py,
            "output= is for files; arrays give the tile back (or use out=)",
        ));
    }
    let src = InArray::new(source, Need::Rows)?;
    let view = src.image_view()?;
    let placement = spec
        .place(view.width() as u64, view.height() as u64)
        .py(py)?;
    let (w, h) = placement.extracted_size(spec.edge);
    let mut shape = vec![h as usize, w as usize];
    if src.shape().len() == 3 {
        shape.push(view.channels());
    }
    let tile = match out {
        Some(o) if !o.is_none() => {
            let tile = check_out(o, src.dtype(), &shape)?;
            let np = numpy(py)?;
            if np
                .call_method1("may_share_memory", (src.array(), &tile))?
                .is_truthy()?
            {
                return Err(invalid(
                    py,
                    "out= must not share memory with the source array",
                ));
            }
            tile
        }
        _ => empty(py, src.dtype(), &shape)?,
    };
    // SAFETY: `tile` is new, or a checked C-contiguous writeable array apart from `source`.
    let bytes = unsafe { bytes_mut(&tile, src.dtype()) };
    let format = view.format();
    py.detach(|| {
        let mut dst = ImageViewMut::new(
            bytes,
            w as usize,
            h as usize,
            format,
            w as usize * format.bytes_per_pixel(),
        )?;
        tiling::extract_into(&view, &spec, &mut dst)
    })
    .py(py)?;
    Ok(tile.into_any())
}

/// A writeable view of `base`'s own memory (no copy: pasting changes the caller's array).
fn base_view<'a>(
    py: Python<'_>,
    base: &'a InArray<'_>,
    original: &Bound<'_, PyAny>,
) -> PyResult<ImageViewMut<'a>> {
    let array: &Bound<'_, PyUntypedArray> = base.array();
    let writeable = unsafe { (*array.as_array_ptr()).fields.flags } & NPY_ARRAY_WRITEABLE != 0;
    if !array.is(original) || !writeable {
        return Err(invalid(
            py,
            "the base array must be a writeable numpy array with packed rows (pasting writes into it)",
        ));
    }
    let view = base.image_view()?;
    let (w, h, format, stride) = (
        view.width(),
        view.height(),
        view.format(),
        view.row_stride(),
    );
    let len = base.bytes().len();
    // SAFETY: the array is writeable and spans `len` bytes; the caller keeps it alive and
    // the tile never aliases it (checked by `paste_tile`).
    let data = unsafe { std::slice::from_raw_parts_mut(base.bytes().as_ptr() as *mut u8, len) };
    ImageViewMut::new(data, w, h, format, stride).py(py)
}

/// Pastes a tile: file onto file into ``output`` (PNG streams row by row), or array onto
/// array in place (``base`` is changed). Returns the image :class:`Rect` written. Pixels
/// outside the tile are preserved exactly. Placement arguments as :func:`extract_tile`
/// (the tile's size is its own; ``edge="clip"`` or ``"pad"`` allow partial pastes).
#[pyfunction]
#[pyo3(signature = (base, tile, output=None, *, x, y, corner="tl", edge="error", png_compression=1, exr_compression="zip", progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn paste_tile<'py>(
    py: Python<'py>,
    base: &Bound<'py, PyAny>,
    tile: &Bound<'py, PyAny>,
    output: Option<PathBuf>,
    x: i64,
    y: i64,
    corner: &str,
    edge: &str,
    png_compression: u8,
    exr_compression: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    if let (Ok(base_path), Ok(tile_path)) = (base.extract::<PathBuf>(), tile.extract::<PathBuf>()) {
        let output = output.ok_or_else(|| invalid(py, "pasting files needs output="))?;
        let info = py.detach(|| imkit::codec::probe(&tile_path)).py(py)?;
        let spec = tile_spec(
            py,
            (x, y),
            (info.width, Some(info.height)),
            corner,
            edge,
            0.0,
        )?;
        let options = write_options(py, png_compression, exr_compression)?;
        let placement = run_with_progress(py, progress, |p| {
            tiling::paste_file(&base_path, &tile_path, &output, &spec, &options, p)
        })?;
        return rect_to_py(py, placement.image_rect);
    }
    if output.is_some() {
        return Err(invalid(
            py,
            "output= is for files; arrays are pasted in place",
        ));
    }
    let np = numpy(py)?;
    let tile = if np
        .call_method1("may_share_memory", (base, tile))?
        .is_truthy()?
    {
        np.call_method1("array", (tile,))?
    } else {
        tile.clone()
    };
    let tile = InArray::new(&tile, Need::Rows)?;
    let tile_view = tile.image_view()?;
    let spec = tile_spec(
        py,
        (x, y),
        (tile_view.width() as u64, Some(tile_view.height() as u64)),
        corner,
        edge,
        0.0,
    )?;
    let base_in = InArray::new(base, Need::Rows)?;
    let mut view = base_view(py, &base_in, base)?;
    let placement = py
        .detach(|| tiling::paste(&mut view, &tile_view, &spec))
        .py(py)?;
    rect_to_py(py, placement.image_rect)
}

/// Writes the cells of ``partition`` as tile files into ``directory`` plus a manifest;
/// returns the manifest path. See ``imkit.fragment`` for the arguments.
#[pyfunction]
#[pyo3(signature = (partition, directory, *, template, cells, manifest, source_label, png_compression, exr_compression, resume, progress))]
#[allow(clippy::too_many_arguments)]
pub fn fragment(
    py: Python<'_>,
    partition: &Bound<'_, Partition>,
    directory: PathBuf,
    template: Option<String>,
    cells: Option<Vec<(u64, u64)>>,
    manifest: String,
    source_label: String,
    png_compression: u8,
    exr_compression: &str,
    resume: bool,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<PathBuf> {
    let options = FragmentOptions {
        template,
        write: write_options(py, png_compression, exr_compression)?,
        cells,
        manifest_name: manifest,
        source_label,
        resume,
    };
    let core = partition.get().core();
    run_with_progress(py, progress, |p| {
        tiling::fragment(core, &directory, &options, p)
    })?;
    Ok(directory.join(&options.manifest_name))
}

/// Rebuilds the image of a fragment manifest into ``output``; returns ``output``. See
/// ``imkit.stitch`` for the arguments.
#[pyfunction]
#[pyo3(signature = (manifest, output, *, blend, slice, band_rows, png_compression, exr_compression, progress))]
#[allow(clippy::too_many_arguments)]
pub fn stitch(
    py: Python<'_>,
    manifest: PathBuf,
    output: PathBuf,
    blend: &str,
    slice: Option<u64>,
    band_rows: u64,
    png_compression: u8,
    exr_compression: &str,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<PathBuf> {
    let options = StitchOptions {
        blend: Blend::parse(blend).py(py)?,
        write: write_options(py, png_compression, exr_compression)?,
        slice,
        band_rows,
    };
    run_with_progress(py, progress, |p| {
        tiling::stitch(&manifest, &output, &options, p)
    })?;
    Ok(output)
}

/// Stitches rows ``rows = (start, end)`` of the manifest whose JSON text is ``manifest``
/// (tile files relative to ``tile_dir``), moved down to PNG segment boundaries, into the PNG
/// part file ``part`` (compression 1); returns the rows the part covers. The parts of any
/// increasing list of boundaries, joined by ``join_png_parts``, are the file ``stitch``
/// writes. Only the tiles touching the part are read (``imkit.dask`` runs parts as tasks).
#[pyfunction]
#[pyo3(signature = (manifest, tile_dir, rows, part, *, blend))]
pub fn stitch_png_part(
    py: Python<'_>,
    manifest: &str,
    tile_dir: PathBuf,
    rows: (u64, u64),
    part: PathBuf,
    blend: &str,
) -> PyResult<(u64, u64)> {
    let options = StitchOptions {
        blend: Blend::parse(blend).py(py)?,
        ..StitchOptions::default()
    };
    let done = py.detach(|| {
        let manifest = tiling::Manifest::from_json(manifest)?;
        tiling::stitch_png_part(&manifest, &tile_dir, rows.0..rows.1, &part, &options)
    });
    done.map(|r| (r.start, r.end)).py(py)
}

/// Joins PNG part files written by ``stitch_png_part`` (in row order, covering the image
/// once) into the PNG ``output``, atomically; returns ``output``.
#[pyfunction]
pub fn join_png_parts(py: Python<'_>, parts: Vec<PathBuf>, output: PathBuf) -> PyResult<PathBuf> {
    py.detach(|| imkit::codec::png_part::join_parts(&parts, &output))
        .py(py)?;
    Ok(output)
}

/// The rows ``stitch_png_part`` covers when asked for ``rows = (start, end)`` of the image of
/// the manifest whose JSON text is ``manifest`` (its tiles do not matter).
#[pyfunction]
pub fn png_part_rows(py: Python<'_>, manifest: &str, rows: (u64, u64)) -> PyResult<(u64, u64)> {
    let m = tiling::Manifest::from_json(manifest).py(py)?;
    let r = imkit::codec::png_part::part_rows(m.width, m.height, m.format, rows.0..rows.1);
    Ok((r.start, r.end))
}
