//! Partitions: the options builder, opening from a path or a caller buffer, grid queries and
//! lazy cell/selection reads into caller buffers (fragment and stitch are in `stitch.rs`).

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::common::{
    arg_enum, arg_out, arg_path, arg_ref, arg_slice, arg_slice_mut, c_enum, imkit_rect, write_opt,
};
use super::image::{dtype_code, imkit_image_view};
use super::{
    boundary, free_handle, handle_mut, handle_ref, imkit_status, new_handle, FfiResult, Handle,
};
use crate::error::Error;
use crate::partition::{
    AxisKey, EdgePolicy, Layout, Partition, PartitionOptions, Selection, Stride,
};
use crate::source::MemorySource;

/// Edge policy of a partition grid (values for `imkit_partition_options_set_edge`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_partition_edge {
    /// The last cell is clipped to the image (impart's behaviour).
    Clip = 0,
    /// Only full cells are kept.
    Drop = 1,
    /// Cells keep full size; outside pixels read as the fill value.
    Pad = 2,
    /// The last cell is moved back inside the image.
    Shift = 3,
}

/// Buffer layout of partition reads (values of the `layout` arguments).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_layout {
    /// Height x width x channels, interleaved.
    Interleaved = 0,
    /// Channels x height x width (one plane per channel).
    Planar = 1,
}

/// Kind of an `imkit_axis_key`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_key_kind {
    /// One cell: `start` is the index (negative counts from the end).
    Index = 0,
    /// Cells `start:stop` with Python semantics (negative bounds from the end, clamped;
    /// `has_start`/`has_stop` false = omitted bound).
    Slice = 1,
    /// The whole axis.
    All = 2,
}

/// A selection along one grid axis, NumPy style. Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct imkit_axis_key {
    /// An `imkit_key_kind` value.
    pub kind: i32,
    /// Whether `start` is given (slices only; indices always use `start`).
    pub has_start: bool,
    /// Whether `stop` is given (slices only).
    pub has_stop: bool,
    /// Index, or the slice start.
    pub start: i64,
    /// Slice stop (exclusive).
    pub stop: i64,
}

c_enum!(imkit_partition_edge {
    Clip,
    Drop,
    Pad,
    Shift
});

impl From<imkit_partition_edge> for EdgePolicy {
    fn from(e: imkit_partition_edge) -> Self {
        match e {
            imkit_partition_edge::Clip => EdgePolicy::Clip,
            imkit_partition_edge::Drop => EdgePolicy::Drop,
            imkit_partition_edge::Pad => EdgePolicy::Pad,
            imkit_partition_edge::Shift => EdgePolicy::Shift,
        }
    }
}

c_enum!(imkit_layout {
    Interleaved,
    Planar
});

impl From<imkit_layout> for Layout {
    fn from(l: imkit_layout) -> Self {
        match l {
            imkit_layout::Interleaved => Layout::Interleaved,
            imkit_layout::Planar => Layout::Planar,
        }
    }
}

c_enum!(imkit_key_kind { Index, Slice, All });

impl imkit_axis_key {
    fn to_key(self) -> FfiResult<AxisKey> {
        Ok(
            match arg_enum::<imkit_key_kind>(self.kind, "keys[i].kind")? {
                imkit_key_kind::Index => AxisKey::Index(self.start),
                imkit_key_kind::Slice => AxisKey::Slice(
                    self.has_start.then_some(self.start),
                    self.has_stop.then_some(self.stop),
                ),
                imkit_key_kind::All => AxisKey::All,
            },
        )
    }
}

/// Partition parameters. Create with `imkit_partition_options_new` (cell 1024 x 1024,
/// stride 1.0, edge clip, all channels, no cache directory), change with the setters, free
/// with `imkit_partition_options_free`. Thread safety: setters must not race with other uses.
pub struct imkit_partition_options {
    options: PartitionOptions,
}

impl Handle for imkit_partition_options {
    const KIND: &'static str = "imkit_partition_options";
}

/// A grid of cells over an image or volume with lazy pixel reads. Owned: free with
/// `imkit_partition_free`. Thread safety: every function taking a const pointer may be called
/// concurrently from any thread (the PNG decode cache is synchronised); only `_free` must not
/// race.
pub struct imkit_partition {
    pub(crate) partition: Partition,
}

impl Handle for imkit_partition {
    const KIND: &'static str = "imkit_partition";
}

/// Reads partition options, NULL meaning the defaults.
unsafe fn partition_options(ptr: *const imkit_partition_options) -> FfiResult<PartitionOptions> {
    if ptr.is_null() {
        return Ok(PartitionOptions::default());
    }
    Ok(unsafe { handle_ref(ptr, "options") }?.options.clone())
}

unsafe fn keys(ptr: *const imkit_axis_key, count: usize) -> FfiResult<Vec<AxisKey>> {
    if count == 0 {
        return Err(Error::invalid("`keys`: at least one key is needed").into());
    }
    unsafe { arg_slice(ptr, count, "keys") }?
        .iter()
        .map(|k| k.to_key())
        .collect()
}

/// Creates partition options with the defaults. Owned: free with `imkit_partition_options_free`.
/// Requires: `out` must be NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_new(
    out: *mut *mut imkit_partition_options,
) -> imkit_status {
    boundary(|| {
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_partition_options {
            options: PartitionOptions::default(),
        });
        Ok(())
    })
}

/// Sets the cell size in pixels (both at least 1).
/// Requires: `options` must be an options handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_set_cell(
    options: *mut imkit_partition_options,
    height: u64,
    width: u64,
) -> imkit_status {
    boundary(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        if height == 0 || width == 0 {
            return Err(Error::invalid("cell size must be at least 1 pixel").into());
        }
        o.options.grid.cell[1] = height;
        o.options.grid.cell[2] = width;
        Ok(())
    })
}

/// Sets the stride as a fraction of the cell (impart's form: step = cell * stride in binary64,
/// starts rounded up). Must be finite and greater than 0.
/// Requires: `options` must be an options handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_set_stride(
    options: *mut imkit_partition_options,
    stride_y: f64,
    stride_x: f64,
) -> imkit_status {
    unsafe {
        set_plane_stride(
            options,
            Stride::Fraction(stride_y),
            Stride::Fraction(stride_x),
        )
    }
}

/// Sets the step in whole pixels (exact mode; both at least 1).
/// Requires: `options` must be an options handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_set_step(
    options: *mut imkit_partition_options,
    step_y: u64,
    step_x: u64,
) -> imkit_status {
    unsafe { set_plane_stride(options, Stride::Pixels(step_y), Stride::Pixels(step_x)) }
}

/// Sets the row and column strides after checking them.
///
/// # Safety
/// `options` must be NULL or an options handle.
unsafe fn set_plane_stride(
    options: *mut imkit_partition_options,
    stride_y: Stride,
    stride_x: Stride,
) -> imkit_status {
    boundary(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        let strides = [stride_y.checked()?, stride_x.checked()?];
        o.options.grid.stride[1..].copy_from_slice(&strides);
        Ok(())
    })
}

/// Sets the depth axis of volume grids (multi-page sources): cell depth and step in slices.
/// Requires: `options` must be an options handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_set_depth(
    options: *mut imkit_partition_options,
    cell_depth: u64,
    step_depth: u64,
) -> imkit_status {
    boundary(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        if cell_depth == 0 || step_depth == 0 {
            return Err(Error::invalid("depth cell and step must be at least 1").into());
        }
        o.options.grid = o
            .options
            .grid
            .with_depth(cell_depth, Stride::Pixels(step_depth));
        Ok(())
    })
}

/// Sets the edge policy (an `imkit_partition_edge` value) and the fill value of padded cells.
/// Requires: `options` must be an options handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_set_edge(
    options: *mut imkit_partition_options,
    edge: i32,
    fill: f64,
) -> imkit_status {
    boundary(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        o.options.grid.edge = arg_enum::<imkit_partition_edge>(edge, "edge")?.into();
        o.options.fill = fill;
        Ok(())
    })
}

/// Selects and orders channels: `count` band indices (negative from the end, repeats allowed);
/// `count` 0 restores "all bands". The indices are copied.
/// Requires: `options` must be an options handle; `channels` must point to `count` values.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_set_channels(
    options: *mut imkit_partition_options,
    channels: *const i64,
    count: usize,
) -> imkit_status {
    boundary(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        o.options.channels = match count {
            0 => None,
            _ => Some(unsafe { arg_slice(channels, count, "channels") }?.to_vec()),
        };
        Ok(())
    })
}

/// Sets the directory where PNG sources keep their decode-once cache (random access). NULL
/// clears it: PNG then opens as a row stream (reads must go top to bottom).
/// Requires: `options` must be an options handle; `dir` NULL or a NUL-terminated UTF-8 path.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_set_cache_dir(
    options: *mut imkit_partition_options,
    dir: *const c_char,
) -> imkit_status {
    boundary(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        o.options.open.cache_dir = if dir.is_null() {
            None
        } else {
            Some(unsafe { arg_path(dir, "dir") }?)
        };
        Ok(())
    })
}

/// Chooses how a 3-D NPY array opens: non-zero `volume` reads it as (depth, height, width)
/// slices, zero (the default) as a (height, width, channels) image. 4-D NPY arrays are always
/// (depth, height, width, channels) volumes.
/// Requires: `options` must be an options handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_options_set_volume(
    options: *mut imkit_partition_options,
    volume: i32,
) -> imkit_status {
    boundary(|| {
        let o = unsafe { handle_mut(options, "options") }?;
        o.options.open.volume = volume != 0;
        Ok(())
    })
}

/// Frees partition options (NULL is fine).
/// Requires: `options` must be NULL or an options handle not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn imkit_partition_options_free(options: *mut imkit_partition_options) {
    boundary(|| unsafe { free_handle(options, "options") });
}

/// Opens an image file (PNG, TIFF; multi-page TIFF as a volume) as a partition; only headers
/// are read. `options` may be NULL. Owned: free with `imkit_partition_free`.
/// Requires: `path` a NUL-terminated UTF-8 path; `options` NULL or a handle; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_open(
    path: *const c_char,
    options: *const imkit_partition_options,
    out: *mut *mut imkit_partition,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let options = unsafe { partition_options(options) }?;
        let out = unsafe { arg_out(out, "out") }?;
        let partition = Partition::open_with(&path, &options)?;
        *out = new_handle(imkit_partition { partition });
        Ok(())
    })
}

/// Makes a partition over a copy of the caller's pixels (the buffer may be reused at once).
/// `options` may be NULL. Owned: free with `imkit_partition_free`.
/// Requires: `pixels` must describe a valid buffer; `options` NULL or a handle; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_from_buffer(
    pixels: *const imkit_image_view,
    options: *const imkit_partition_options,
    out: *mut *mut imkit_partition,
) -> imkit_status {
    boundary(|| {
        let view = unsafe { arg_ref(pixels, "pixels")?.as_view("pixels") }?;
        let options = unsafe { partition_options(options) }?;
        let out = unsafe { arg_out(out, "out") }?;
        let source = Arc::new(MemorySource::new(view.to_image()));
        let partition = Partition::with_options(source, &options)?;
        *out = new_handle(imkit_partition { partition });
        Ok(())
    })
}

/// Frees a partition (NULL is fine).
/// Requires: `partition` must be NULL or a partition handle not used afterwards (and not in use).
#[no_mangle]
pub unsafe extern "C" fn imkit_partition_free(partition: *mut imkit_partition) {
    boundary(|| unsafe { free_handle(partition, "partition") });
}

/// Grid shape: cells per axis (`*out_depth` is 1 for plain images). Any out pointer may be NULL.
/// Requires: `partition` must be a handle; out pointers NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_shape(
    partition: *const imkit_partition,
    out_rows: *mut u64,
    out_cols: *mut u64,
    out_depth: *mut u64,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let (r, c) = p.shape();
        unsafe {
            write_opt(out_rows, r);
            write_opt(out_cols, c);
            write_opt(out_depth, p.grid().depth().count());
        }
        Ok(())
    })
}

/// Step in pixels as impart reports it (binary64 `cell * stride`, or the integer step).
/// Requires: `partition` must be a handle; out pointers NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_step(
    partition: *const imkit_partition,
    out_step_y: *mut f64,
    out_step_x: *mut f64,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let (y, x) = p.step();
        unsafe {
            write_opt(out_step_y, y);
            write_opt(out_step_x, x);
        }
        Ok(())
    })
}

/// Image size, slices, and the pixel layout reads return (after channel selection; `dtype`
/// is an `imkit_dtype` value). Any out pointer may be NULL.
/// Requires: `partition` must be a handle; out pointers NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_source(
    partition: *const imkit_partition,
    out_width: *mut u64,
    out_height: *mut u64,
    out_slices: *mut u64,
    out_channels: *mut u32,
    out_dtype: *mut i32,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let (w, h) = p.grid().image_size();
        let f = p.format();
        unsafe {
            write_opt(out_width, w);
            write_opt(out_height, h);
            write_opt(out_slices, p.source().depth());
            write_opt(out_channels, f.channels as u32);
            write_opt(out_dtype, dtype_code(f.dtype));
        }
        Ok(())
    })
}

/// The image rectangle of cell (row, col); negative indices count from the end, out of range
/// gives `IMKIT_STATUS_OUT_OF_BOUNDS`.
/// Requires: `partition` must be a handle; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_cell_rect(
    partition: *const imkit_partition,
    row: i64,
    col: i64,
    out: *mut imkit_rect,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let out = unsafe { arg_out(out, "out") }?;
        *out = p.cell_rect(row, col)?.into();
        Ok(())
    })
}

unsafe fn selection(p: &Partition, k: *const imkit_axis_key, n: usize) -> FfiResult<Selection> {
    Ok(p.select(&unsafe { keys(k, n) }?)?)
}

/// Size query for a selection of `key_count` keys (rows, cols for images; depth, rows, cols
/// for volumes; missing trailing keys mean whole axes): the union rectangle inside the image
/// (`out_rect`, may be NULL) and the bytes a read needs (`out_len`). Empty or out-of-range
/// selections give `IMKIT_STATUS_OUT_OF_BOUNDS`.
/// Requires: `partition` a handle; `keys` points to `key_count` keys; out pointers NULL or
/// writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_region(
    partition: *const imkit_partition,
    keys: *const imkit_axis_key,
    key_count: usize,
    out_rect: *mut imkit_rect,
    out_len: *mut usize,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let sel = unsafe { selection(p, keys, key_count) }?;
        let len = p.buffer_len(&sel)?;
        unsafe {
            write_opt(out_rect, p.grid().selection_rect(&sel).into());
            write_opt(out_len, len);
        }
        Ok(())
    })
}

/// Reads a selection into `buffer` (`buffer_len` bytes, at least what `imkit_partition_region`
/// reports) in `layout` (an `imkit_layout` value); volumes write slice after slice. Padded
/// cells outside the image read as the fill value. Thread safety: concurrent reads allowed.
/// Requires: `partition` a handle; `keys` points to `key_count` keys; `buffer` writable for
/// `buffer_len`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_read(
    partition: *const imkit_partition,
    keys: *const imkit_axis_key,
    key_count: usize,
    layout: i32,
    buffer: *mut c_void,
    buffer_len: usize,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let sel = unsafe { selection(p, keys, key_count) }?;
        let layout = arg_enum::<imkit_layout>(layout, "layout")?.into();
        let out = unsafe { arg_slice_mut(buffer.cast::<u8>(), buffer_len, "buffer") }?;
        p.read_into(&sel, layout, out)?;
        Ok(())
    })
}

/// Reads cell (row, col) of a 2-D grid into `buffer` (see `imkit_partition_read`; the size is
/// width x height x channels x sample size of `imkit_partition_cell_rect`, or the full cell
/// when padding).
/// Requires: `partition` a handle; `buffer` writable for `buffer_len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_read_cell(
    partition: *const imkit_partition,
    row: i64,
    col: i64,
    layout: i32,
    buffer: *mut c_void,
    buffer_len: usize,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let layout = arg_enum::<imkit_layout>(layout, "layout")?.into();
        let out = unsafe { arg_slice_mut(buffer.cast::<u8>(), buffer_len, "buffer") }?;
        Ok(p.read_cell_into(row, col, layout, out)?)
    })
}

/// The cells containing pixel (x, y) as half-open index ranges `[row0, row1) x [col0, col1)`
/// (empty when no cell does, e.g. in a gap).
/// Requires: `partition` a handle; out pointers NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_partition_cells_at(
    partition: *const imkit_partition,
    x: u64,
    y: u64,
    out_row0: *mut u64,
    out_row1: *mut u64,
    out_col0: *mut u64,
    out_col1: *mut u64,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let (r, c) = p.grid().cells_containing(x, y);
        unsafe {
            write_opt(out_row0, r.start);
            write_opt(out_row1, r.end);
            write_opt(out_col0, c.start);
            write_opt(out_col1, c.end);
        }
        Ok(())
    })
}
