//! Title: Tile pipeline
//!
//! The tile pipeline across the ABI: an options builder and `imkit_map_tiles`, which streams
//! an image file through a caller function cell by cell into a blended output file.

use std::ffi::{c_char, c_void};

use super::common::{imkit_progress_fn, imkit_rect, with_progress};
use super::image::{arg_dtype, dtype_code, imkit_image_view, imkit_write_options, write_options};
use super::partition::imkit_partition_edge;
use super::stitch::imkit_blend;
use super::{
    arg_out, arg_path, boundary, free_handle, handle_mut, handle_ref, imkit_status, new_handle,
    write_opt, FfiResult, Handle,
};
use crate::error::Error;
use crate::image::ImageView;
use crate::partition::Stride;
use crate::pipeline::{self, Margins, PipelineOptions, Plan, TileIn, TileOut};
use crate::pixel::PixelFormat;
use crate::rect::Rect;
use crate::source::OpenOptions;

/// Where a cell sits, as the tile function receives it. Frozen: this struct's layout will not
/// change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct imkit_tile_info {
    /// Cell row in the grid.
    pub row: u64,
    /// Cell column in the grid.
    pub col: u64,
    /// The cell on the canvas: input coordinates shifted by the left and top growth margins
    /// (with edge policy pad it may reach past the canvas).
    pub rect: imkit_rect,
    /// Where the returned tile goes on the output (`rect` times the scale).
    pub out_rect: imkit_rect,
    /// The part of the input image the cell covers, in input coordinates; all zero when the
    /// cell lies entirely in a growth margin.
    pub input_rect: imkit_rect,
}

/// The function `imkit_map_tiles` calls once per cell. `input` holds the cell's pixels (the
/// input's type and channels; the fill value outside the image) and is read-only; `output` is
/// a buffer imkit owns, `out_rect`'s size in the output type, which the function fills (it
/// starts as a copy of the input when the scale is 1 and the types agree, zeros otherwise,
/// unspecified bytes when the options say `imkit_pipeline_options_set_output_overwritten`).
/// Borrowed: `info`, `input`, `output` and their pixels are valid during the call only.
/// Return 0 on success; any other value stops the run: an `imkit_status` value is returned by
/// `imkit_map_tiles` as that status, other values as `IMKIT_STATUS_BAD_STATE`.
/// Thread safety: called on imkit's worker threads, several at once only when the options
/// declare the function thread-safe (or on the calling thread, see
/// `imkit_pipeline_options_set_calling_thread`). It must not unwind (catch C++ exceptions,
/// Go panics and Julia errors inside it and return a non-zero value).
pub type imkit_tile_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        info: *const imkit_tile_info,
        input: *const imkit_image_view,
        output: *const imkit_image_view,
    ) -> i32,
>;

/// Tile pipeline parameters. Create with `imkit_pipeline_options_new` (cell 1024 x 1024, step
/// 1024, edge clip, blend overwrite, scale 1, output type of the input, no growth, fill 0,
/// function not thread-safe, output tiles starting as the input), change with the setters,
/// free with `imkit_pipeline_options_free`. Thread safety: setters must not race with other
/// uses.
pub struct imkit_pipeline_options {
    options: PipelineOptions,
}

impl Handle for imkit_pipeline_options {
    const KIND: &'static str = "imkit_pipeline_options";
}

/// Creates pipeline options with the defaults. Owned: free with `imkit_pipeline_options_free`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_new(
    out: *mut *mut imkit_pipeline_options,
) -> imkit_status {
    boundary(|| {
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_pipeline_options {
            options: PipelineOptions::default(),
        });
        Ok(())
    })
}

/// Runs `f` on the options behind `ptr`.
unsafe fn update(
    ptr: *mut imkit_pipeline_options,
    f: impl FnOnce(&mut PipelineOptions) -> crate::Result<()>,
) -> imkit_status {
    boundary(|| {
        let o = unsafe { handle_mut(ptr, "options") }?;
        Ok(f(&mut o.options)?)
    })
}

/// Sets the cell size in pixels (both at least 1).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_cell(
    options: *mut imkit_pipeline_options,
    height: u64,
    width: u64,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            if height == 0 || width == 0 {
                return Err(Error::invalid("cell size must be at least 1 pixel"));
            }
            o.grid.cell[1] = height;
            o.grid.cell[2] = width;
            Ok(())
        })
    }
}

/// Sets the step between cells in whole pixels (both at least 1); cells overlap by
/// cell - step.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_step(
    options: *mut imkit_pipeline_options,
    step_y: u64,
    step_x: u64,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            if step_y == 0 || step_x == 0 {
                return Err(Error::invalid("step must be at least 1 pixel"));
            }
            o.grid.stride[1] = Stride::Pixels(step_y);
            o.grid.stride[2] = Stride::Pixels(step_x);
            Ok(())
        })
    }
}

/// Sets the stride as a fraction of the cell (impart's form); finite and greater than 0.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_stride(
    options: *mut imkit_pipeline_options,
    stride_y: f64,
    stride_x: f64,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            for s in [stride_y, stride_x] {
                if !(s.is_finite() && s > 0.0) {
                    return Err(Error::invalid(format!(
                        "stride must be finite and > 0 (got {s})"
                    )));
                }
            }
            o.grid.stride[1] = Stride::Fraction(stride_y);
            o.grid.stride[2] = Stride::Fraction(stride_x);
            Ok(())
        })
    }
}

/// Sets the edge policy of the grid, an `imkit_partition_edge` value.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_edge(
    options: *mut imkit_pipeline_options,
    edge: i32,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            o.grid.edge = imkit_partition_edge::try_from(edge)?.into();
            Ok(())
        })
    }
}

/// Sets the blend mode of overlapping output tiles, an `imkit_blend` value (the weights of
/// `imkit_stitch`).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_blend(
    options: *mut imkit_pipeline_options,
    blend: i32,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            o.blend = imkit_blend::try_from(blend)?.into();
            Ok(())
        })
    }
}

/// Sets the scale factor: output tiles are `scale` times the cell on each axis (1 to 64).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_scale(
    options: *mut imkit_pipeline_options,
    scale: u64,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            if !(1..=pipeline::MAX_SCALE).contains(&scale) {
                return Err(Error::invalid(format!(
                    "scale must be 1 to {} (got {scale})",
                    pipeline::MAX_SCALE
                )));
            }
            o.scale = scale;
            Ok(())
        })
    }
}

/// Declares the output tiles' (and image's) sample type, an `imkit_dtype` value, and channel
/// count (at least 1). Without this call the output has the input's.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_output_format(
    options: *mut imkit_pipeline_options,
    dtype: i32,
    channels: u32,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            o.output_format = Some(PixelFormat::new(
                arg_dtype(dtype, "dtype")?,
                channels as usize,
            )?);
            Ok(())
        })
    }
}

/// Grows the output canvas by margins (input pixels) above, right of, below and left of the
/// input. Cells over a margin receive the fill value there plus the input they cover.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_grow(
    options: *mut imkit_pipeline_options,
    top: u64,
    right: u64,
    bottom: u64,
    left: u64,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            o.grow = Margins {
                top,
                right,
                bottom,
                left,
            };
            Ok(())
        })
    }
}

/// Sets the fill value (every channel) of input pixels outside the image (margins, padded
/// cells) and of output pixels no tile covers.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_fill(
    options: *mut imkit_pipeline_options,
    fill: f64,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            o.fill = fill;
            Ok(())
        })
    }
}

/// Declares whether the tile function may run on several threads at once (default false:
/// calls are serialized; reads, blending and encoding stay parallel).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_thread_safe(
    options: *mut imkit_pipeline_options,
    thread_safe: bool,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            o.thread_safe = thread_safe;
            Ok(())
        })
    }
}

/// Runs the tile function on the thread that called `imkit_map_tiles`, one cell at a time
/// (default false). For runtimes whose callbacks must not run on foreign threads (Julia, GUI
/// toolkits, thread-bound GPU contexts); a row's inputs are read in parallel ahead of it.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_calling_thread(
    options: *mut imkit_pipeline_options,
    calling_thread: bool,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            o.calling_thread = calling_thread;
            Ok(())
        })
    }
}

/// Declares that the tile function writes every byte of its output tile (default false). The
/// tile then starts with unspecified contents (stale pixels of earlier cells) instead of a
/// copy of the input or zeros, which saves one pass over each tile's pixels. A function that
/// leaves any byte unwritten must not set this: the output would depend on timing.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_output_overwritten(
    options: *mut imkit_pipeline_options,
    overwritten: bool,
) -> imkit_status {
    unsafe {
        update(options, |o| {
            o.output_overwritten = overwritten;
            Ok(())
        })
    }
}

/// Copies encoder options for the output file (NULL restores the defaults).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_pipeline_options_set_write_options(
    options: *mut imkit_pipeline_options,
    write: *const imkit_write_options,
) -> imkit_status {
    boundary(|| {
        let write = unsafe { write_options(write) }?;
        let o = unsafe { handle_mut(options, "options") }?;
        o.options.write = write;
        Ok(())
    })
}

/// Frees pipeline options. NULL is ignored; do not free twice.
#[no_mangle]
pub unsafe extern "C" fn imkit_pipeline_options_free(options: *mut imkit_pipeline_options) {
    boundary(|| unsafe { free_handle(options, "options") });
}

fn c_rect(r: Option<Rect>) -> imkit_rect {
    r.map(imkit_rect::from).unwrap_or_default()
}

fn c_view(view: &ImageView<'_>, data: *mut c_void) -> imkit_image_view {
    imkit_image_view {
        data,
        width: view.width() as u64,
        height: view.height() as u64,
        row_stride_bytes: view.row_stride(),
        channels: view.channels() as u32,
        dtype: dtype_code(view.dtype()),
    }
}

fn tile_info(t: &TileIn<'_>) -> imkit_tile_info {
    imkit_tile_info {
        row: t.row,
        col: t.col,
        rect: t.rect.into(),
        out_rect: t.out_rect.into(),
        input_rect: c_rect(t.input_rect),
    }
}

/// The error a tile function's non-zero return stands for.
fn callback_error(code: i32) -> Error {
    let msg = format!("the tile function returned {code}");
    match imkit_status::try_from(code).ok() {
        Some(imkit_status::InvalidArg | imkit_status::NullArg | imkit_status::InvalidHandle) => {
            Error::InvalidArgument(msg)
        }
        Some(imkit_status::OutOfBounds) => Error::OutOfBounds(msg),
        Some(imkit_status::BufferTooSmall) => Error::BufferTooSmall(msg),
        Some(imkit_status::Mismatch) => Error::Mismatch(msg),
        Some(imkit_status::Io) => Error::io("tile function", std::io::Error::other(msg)),
        Some(imkit_status::Format) => Error::Format(msg),
        Some(imkit_status::Unsupported) => Error::Unsupported(msg),
        Some(imkit_status::TooLarge) => Error::TooLarge(msg),
        Some(imkit_status::NoMemory) => Error::NoMemory(msg),
        Some(imkit_status::WouldBlock) => Error::WouldBlock(msg),
        Some(imkit_status::Cancelled) => Error::Cancelled,
        Some(imkit_status::Internal | imkit_status::Panic) => Error::Internal(msg),
        Some(imkit_status::BadState | imkit_status::Ok) | None => Error::BadState(msg),
    }
}

/// A C tile function with its user data.
struct CTileFn {
    f: unsafe extern "C" fn(
        *mut c_void,
        *const imkit_tile_info,
        *const imkit_image_view,
        *const imkit_image_view,
    ) -> i32,
    user_data: *mut c_void,
}

// SAFETY: the caller declares whether the function may run concurrently; the pipeline
// serializes the calls otherwise. `user_data` is only handed back to the caller's function.
unsafe impl Sync for CTileFn {}

impl CTileFn {
    fn call(&self, t: &TileIn<'_>, out: &mut TileOut<'_>) -> crate::Result<()> {
        let info = tile_info(t);
        let input = c_view(&t.image, t.image.row(0).as_ptr() as *mut c_void);
        let data = out.image.row_mut(0).as_mut_ptr() as *mut c_void;
        let output = c_view(&out.image.as_view(), data);
        // SAFETY: the views describe live buffers for the duration of the call.
        match unsafe { (self.f)(self.user_data, &info, &input, &output) } {
            0 => Ok(()),
            code => Err(callback_error(code)),
        }
    }
}

/// Streams the image file `input` through `tile_fn` cell by cell and writes the blended result
/// to `output` (format from its extension; PNG and NPY are streamed band by band, TIFF and EXR
/// assembled in memory first): one top-to-bottom pass over the input, no file per tile, memory
/// bounded by a row of cells. Output bytes do not depend on the thread count or on the order in
/// which cells finish. `options` may be NULL for the defaults. `progress` (may be NULL) runs on
/// the calling thread with (cells done, total); non-zero cancels. On any failure (the function,
/// a read, a cancellation) no file is left at `output`; when a cell caused it, its position is
/// stored in `*out_failed` (may be NULL; written only in that case) and the last-error message
/// names it. Thread safety: any thread; `tile_fn` runs on imkit's worker threads.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_map_tiles(
    input: *const c_char,
    output: *const c_char,
    options: *const imkit_pipeline_options,
    tile_fn: imkit_tile_fn,
    user_data: *mut c_void,
    progress: imkit_progress_fn,
    progress_data: *mut c_void,
    out_failed: *mut imkit_tile_info,
) -> imkit_status {
    boundary(|| -> FfiResult<()> {
        let input = unsafe { arg_path(input, "input") }?;
        let output = unsafe { arg_path(output, "output") }?;
        let options = if options.is_null() {
            PipelineOptions::default()
        } else {
            unsafe { handle_ref(options, "options") }?.options.clone()
        };
        let f = CTileFn {
            f: tile_fn.ok_or(super::FfiError::Null("tile_fn"))?,
            user_data,
        };
        let function = |t: &TileIn<'_>, out: &mut TileOut<'_>| f.call(t, out);
        let source = crate::source::open(&input, &OpenOptions::default())?;
        let plan = Plan::new(source.width(), source.height(), source.format(), &options)?;
        let result = with_progress(progress, progress_data, |p| {
            pipeline::map_source(&*source, &output, &options, &function, p).map_err(|e| {
                if let Some((row, col)) = e.cell {
                    let (rect, out_rect, input_rect) = plan.cell_rects(row, col);
                    let info = imkit_tile_info {
                        row,
                        col,
                        rect: rect.into(),
                        out_rect: out_rect.into(),
                        input_rect: c_rect(input_rect),
                    };
                    unsafe { write_opt(out_failed, info) };
                }
                Error::from(e)
            })
        });
        Ok(result?)
    })
}
