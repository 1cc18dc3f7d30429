//! The tile pipeline: image → cells → the caller's function → blended output, in one
//! streaming pass with no file per tile.
//!
//! The cells of a grid (cell size, stride, edge policy: [`GridSpec`]) are read from any
//! [`RegionSource`] one row of cells at a time, top to bottom, so a PNG is decoded once as a
//! stream. Each cell goes to the function ([`TileFn`]), which fills an output tile imkit owns.
//! A row of output is final once every cell touching it has returned; it is then blended with
//! the same weights and the same arithmetic as [`crate::tiling::stitch`] (one implementation:
//! [`crate::tiling::compose_rows`]) and handed to the encoder a few rows at a time, while the
//! next row of cells is being read and processed. Memory: the output tiles of one row of cells
//! (plus the overlap strips of the previous one), the input tiles in flight and the source's
//! own band; never the whole image.
//!
//! Output bytes never depend on the thread count or on the order in which cells finish:
//! tiles are accumulated in grid order (row, then column). An identity function reproduces the
//! input bit for bit under every blend mode.
//!
//! - The function runs in parallel on the library pool when [`PipelineOptions::thread_safe`]
//!   says it may; otherwise calls are serialized (reads, blending and encoding stay parallel).
//! - Output tiles may be `scale` times larger than the cells (upscalers): the output canvas
//!   is `scale` times the input. Their pixel format may differ (declared up front).
//! - Canvas growth ([`Margins`]): the grid is laid over the input extended by margins; cells
//!   over a margin receive the fill value there plus whatever input they cover, and what they
//!   return fills the margin, seams blended like everywhere else.
//! - An error in the function (or a cancellation through the progress callback) stops the run
//!   and leaves no output file; the error names the cell ([`PipelineError::cell`]).

use std::path::Path;
use std::sync::Mutex;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;

use crate::codec::row_writer::RowWriter;
use crate::codec::WriteOptions;
use crate::error::{Error, Result};
use crate::image::{Image, ImageView, ImageViewMut};
use crate::partition::{Grid, GridSpec, Stride};
use crate::pixel::PixelFormat;
use crate::progress::Progress;
use crate::rect::Rect;
use crate::source::packed::PackedLayout;
use crate::source::{self, Channels, OpenOptions, RegionSource};
use crate::tiling::{compose_rows, overlap, Blend, BlendTile};

/// Largest scale factor accepted.
pub const MAX_SCALE: u64 = 64;

/// Margins in input pixels by which the output canvas extends the input (outpainting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Margins {
    /// Rows added above the input.
    pub top: u64,
    /// Columns added right of the input.
    pub right: u64,
    /// Rows added below the input.
    pub bottom: u64,
    /// Columns added left of the input.
    pub left: u64,
}

impl Margins {
    /// Parses `T,R,B,L` (four non-negative integers, as the CLI's `--grow`).
    pub fn parse(text: &str) -> Result<Margins> {
        let parts: Vec<u64> = text
            .split(',')
            .map(|p| p.trim().parse::<u64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::invalid(format!("margins must be T,R,B,L integers (got {text:?})"))
            })?;
        match parts[..] {
            [top, right, bottom, left] => Ok(Margins {
                top,
                right,
                bottom,
                left,
            }),
            _ => Err(Error::invalid(format!(
                "margins must be four integers T,R,B,L (got {text:?})"
            ))),
        }
    }
}

/// How the pipeline runs.
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    /// The grid over the (grown) canvas: cell size, stride, edge policy (2-D; depth ignored).
    pub grid: GridSpec,
    /// How overlapping output tiles combine (the stitch weights).
    pub blend: Blend,
    /// Output tiles are `scale` times the cell size on each axis (1 to [`MAX_SCALE`]).
    pub scale: u64,
    /// Pixel format of the output tiles and image; `None` = the input's.
    pub output_format: Option<PixelFormat>,
    /// Canvas growth around the input.
    pub grow: Margins,
    /// Value of every channel of input pixels outside the image (margins, padded cells) and
    /// of output pixels no tile covers.
    pub fill: f64,
    /// True when the function may run on several threads at once.
    pub thread_safe: bool,
    /// Run the function on the thread that called the pipeline, one cell at a time (for
    /// runtimes whose callbacks must not run on foreign threads, such as Julia); a row's
    /// inputs are then read in parallel ahead of it, so memory holds them too.
    pub calling_thread: bool,
    /// Which slice of a volume source to process.
    pub slice: u64,
    /// Encoder options of the output file.
    pub write: WriteOptions,
    /// Output rows blended and handed to the encoder at a time.
    pub band_rows: u64,
    /// The function writes every byte of the output tile (as a binding that copies a
    /// returned array does): the tile then starts with unspecified contents (stale bytes of
    /// earlier tiles of the run) instead of a copy of the input or zeros, saving a pass over
    /// the pixels per tile.
    pub output_overwritten: bool,
}

impl Default for PipelineOptions {
    /// 1024-pixel cells, no overlap, overwrite, scale 1, same format, no growth, fill 0,
    /// function not thread-safe, output tiles starting as the input.
    fn default() -> Self {
        PipelineOptions {
            grid: GridSpec::square(crate::tiling::DEFAULT_TILE_SIZE, Stride::Pixels(1024)),
            blend: Blend::Overwrite,
            scale: 1,
            output_format: None,
            grow: Margins::default(),
            fill: 0.0,
            thread_safe: false,
            calling_thread: false,
            slice: 0,
            write: WriteOptions::default(),
            band_rows: 64,
            output_overwritten: false,
        }
    }
}

impl PipelineOptions {
    /// Square cells of `cell` pixels overlapping by `overlap` pixels (step `cell - overlap`),
    /// clipped at the far edges, other options at their defaults.
    pub fn with_overlap(cell: u64, overlap: u64) -> Result<PipelineOptions> {
        if overlap >= cell {
            return Err(Error::invalid(format!(
                "overlap {overlap} must be smaller than the cell size {cell}"
            )));
        }
        Ok(PipelineOptions {
            grid: GridSpec::square(cell, Stride::Pixels(cell - overlap)),
            ..PipelineOptions::default()
        })
    }
}

/// One cell handed to the function.
pub struct TileIn<'a> {
    /// Cell row in the grid.
    pub row: u64,
    /// Cell column in the grid.
    pub col: u64,
    /// The cell on the canvas (input coordinates shifted by the left and top margins); with
    /// edge policy pad it may reach past the canvas.
    pub rect: Rect,
    /// The part of the input image the cell covers (input coordinates), if any.
    pub input_rect: Option<Rect>,
    /// Where the returned tile goes on the output canvas (`rect` times the scale).
    pub out_rect: Rect,
    /// The cell's pixels (the input's format; fill outside the input).
    pub image: ImageView<'a>,
}

/// The output tile the function fills: `out_rect`'s size, the output format. It starts as a
/// copy of the input when the scale is 1 and the formats agree (so an in-place edit only
/// touches what it changes), zeros otherwise, unspecified with
/// [`PipelineOptions::output_overwritten`].
pub struct TileOut<'a> {
    /// The pixels to fill.
    pub image: ImageViewMut<'a>,
}

/// The function a pipeline runs on every cell.
pub trait TileFn: Fn(&TileIn<'_>, &mut TileOut<'_>) -> Result<()> + Sync {}
impl<F: Fn(&TileIn<'_>, &mut TileOut<'_>) -> Result<()> + Sync> TileFn for F {}

/// A failed run: the error and, when a cell caused it, the cell's (row, col).
#[derive(Debug)]
pub struct PipelineError {
    /// The cell whose read or function failed; `None` for errors of the run itself.
    pub cell: Option<(u64, u64)>,
    /// What went wrong.
    pub error: Error,
}

impl std::fmt::Display for PipelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cell {
            Some((r, c)) => write!(f, "cell (row {r}, col {c}): {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

impl std::error::Error for PipelineError {}

impl From<Error> for PipelineError {
    fn from(error: Error) -> Self {
        PipelineError { cell: None, error }
    }
}

impl From<PipelineError> for Error {
    /// The same error kind, its message prefixed with the cell.
    fn from(e: PipelineError) -> Error {
        let Some((r, c)) = e.cell else {
            return e.error;
        };
        let at = |m: String| format!("cell (row {r}, col {c}): {m}");
        match e.error {
            Error::InvalidArgument(m) => Error::InvalidArgument(at(m)),
            Error::OutOfBounds(m) => Error::OutOfBounds(at(m)),
            Error::Mismatch(m) => Error::Mismatch(at(m)),
            Error::BufferTooSmall(m) => Error::BufferTooSmall(at(m)),
            Error::Io { path, source } => Error::Io {
                path,
                source: std::io::Error::new(source.kind(), at(source.to_string())),
            },
            Error::Format(m) => Error::Format(at(m)),
            Error::Unsupported(m) => Error::Unsupported(at(m)),
            Error::TooLarge(m) => Error::TooLarge(at(m)),
            Error::NoMemory(m) => Error::NoMemory(at(m)),
            Error::BadState(m) => Error::BadState(at(m)),
            Error::WouldBlock(m) => Error::WouldBlock(at(m)),
            Error::Cancelled => Error::Cancelled,
            Error::Internal(m) => Error::Internal(at(m)),
        }
    }
}

/// The geometry of a run, from the input's size and the options alone.
#[derive(Clone, Debug)]
pub struct Plan {
    grid: Grid,
    input: (u64, u64),
    input_format: PixelFormat,
    output_format: PixelFormat,
    grow: Margins,
    scale: u64,
}

fn checked(v: Option<u64>, what: &str) -> Result<u64> {
    v.ok_or_else(|| Error::invalid(format!("{what} overflows 64-bit pixel coordinates")))
}

impl Plan {
    /// Resolves the grid over the grown canvas of a `width` x `height` input of `format`.
    pub fn new(
        width: u64,
        height: u64,
        format: PixelFormat,
        options: &PipelineOptions,
    ) -> Result<Plan> {
        if !(1..=MAX_SCALE).contains(&options.scale) {
            return Err(Error::invalid(format!(
                "scale must be 1 to {MAX_SCALE} (got {})",
                options.scale
            )));
        }
        let g = options.grow;
        let cw = checked(
            width
                .checked_add(g.left)
                .and_then(|v| v.checked_add(g.right)),
            "canvas width",
        )?;
        let ch = checked(
            height
                .checked_add(g.top)
                .and_then(|v| v.checked_add(g.bottom)),
            "canvas height",
        )?;
        checked(cw.checked_mul(options.scale), "output width")?;
        checked(ch.checked_mul(options.scale), "output height")?;
        let output_format = options.output_format.unwrap_or(format);
        options.blend.check_dtype(output_format.dtype)?;
        Ok(Plan {
            grid: Grid::new(ch, cw, &options.grid)?,
            input: (width, height),
            input_format: format,
            output_format,
            grow: g,
            scale: options.scale,
        })
    }

    /// The grid over the canvas.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Number of cells (calls of the function).
    pub fn cell_count(&self) -> u64 {
        self.grid.len()
    }

    /// Output image size (width, height): the canvas times the scale.
    pub fn output_size(&self) -> (u64, u64) {
        let (w, h) = self.grid.image_size();
        (w * self.scale, h * self.scale)
    }

    /// Pixel format of the output.
    pub fn output_format(&self) -> PixelFormat {
        self.output_format
    }

    /// Bytes of one row of output tiles (saturating).
    fn tile_row_bytes(&self) -> u64 {
        let (rows, cols) = (self.grid.rows(), self.grid.cols());
        [
            cols.count(),
            cols.cell() * self.scale,
            rows.cell() * self.scale,
        ]
        .into_iter()
        .fold(
            self.output_format.bytes_per_pixel() as u64,
            u64::saturating_mul,
        )
    }

    /// Cell (row, col) as the function sees it: its canvas rectangle at full cell size, where
    /// its output tile goes, and the part of the input it covers (input coordinates), if any.
    pub fn cell_rects(&self, row: u64, col: u64) -> (Rect, Rect, Option<Rect>) {
        let y = self.grid.rows().cell_range(row);
        let x = self.grid.cols().cell_range(col);
        let extent = Rect {
            left: x.start,
            top: y.start,
            right: x.end,
            bottom: y.end,
        };
        let on_canvas = self.input_on_canvas();
        let inside = extent.intersect(&on_canvas);
        let input = (!inside.is_empty()).then(|| {
            Rect::from_xywh(
                inside.left - on_canvas.left,
                inside.top - on_canvas.top,
                inside.width(),
                inside.height(),
            )
        });
        (extent, self.scaled(extent), input)
    }

    /// Where the input sits on the canvas.
    fn input_on_canvas(&self) -> Rect {
        Rect::from_xywh(self.grow.left, self.grow.top, self.input.0, self.input.1)
    }

    fn scaled(&self, r: Rect) -> Rect {
        let k = self.scale;
        Rect {
            left: r.left * k,
            top: r.top * k,
            right: r.right * k,
            bottom: r.bottom * k,
        }
    }
}

/// One pixel of `value` in every channel; a value the type cannot hold is an error.
fn fill_pixel(format: PixelFormat, value: f64) -> Result<Vec<u8>> {
    let mut pixel = Vec::with_capacity(format.bytes_per_pixel());
    for _ in 0..format.channels {
        format.dtype.encode_fill(value, &mut pixel)?;
    }
    Ok(pixel)
}

fn to_usize(v: u64) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::invalid(format!("{v} pixels do not fit in memory")))
}

/// A permit for one input in flight; handed back when dropped (also when a function panics).
struct Token(SyncSender<()>);

impl Drop for Token {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

/// Everything the workers share during a run.
struct Run<'a, F: ?Sized> {
    plan: Plan,
    options: &'a PipelineOptions,
    source: &'a dyn RegionSource,
    channels: Channels,
    function: &'a F,
    serial: Option<Mutex<()>>,
    input_fill: Vec<u8>,
    output_fill: Vec<u8>,
    overlaps: (f64, f64),
    spare: Spare,
    /// Output tiles are held in the function's buffers (else copied into chunks).
    in_place: bool,
    /// Band buffers left from the previous call of `emit`.
    band_buffers: Spare,
}

/// A row of output tiles up to this many bytes is held in the function's buffers (the blend
/// reads them without a copy; once composed down to the overlap strip, the strip is moved out).
/// Larger rows are copied into chunks of `band_rows` rows, which emitting frees band by band:
/// holding a whole row of tiles until its rows are composed, while the next row fills, took
/// the 32768² identity run (37 tiles of 3 MiB a row) from 314 to 414 MB (measured under load).
const IN_PLACE_BYTES: u64 = 96 << 20;

/// Bytes of a packed `width` x `height` tile of `format`.
fn tile_bytes(width: usize, height: usize, format: PixelFormat) -> Result<usize> {
    (width.checked_mul(height))
        .and_then(|n| n.checked_mul(format.bytes_per_pixel()))
        .ok_or_else(|| Error::invalid("cell size overflows"))
}

/// Buffers handed back after use (cells, output tiles, their overlap strips), so that later
/// ones need neither fresh pages nor zeroing (their contents are stale: takers overwrite every
/// byte). A taker gets the smallest buffer large enough: strips and cells of the edges never
/// displace the cell-sized buffers.
struct Spare {
    buffers: Mutex<Vec<Vec<u8>>>,
    /// Most buffers kept; past it, the smallest is dropped.
    keep: usize,
}

impl Spare {
    fn new(keep: usize) -> Spare {
        Spare {
            buffers: Mutex::new(Vec::new()),
            keep,
        }
    }

    /// A buffer of `width` x `height` pixels of `format`, recycled when one is spare.
    fn take(&self, width: usize, height: usize, format: PixelFormat) -> Result<Vec<u8>> {
        self.take_bytes(tile_bytes(width, height, format)?, "a pipeline cell")
    }

    /// A buffer of `len` bytes: the smallest spare one large enough, else a new one (`what`
    /// names it in an allocation error).
    fn take_bytes(&self, len: usize, what: &str) -> Result<Vec<u8>> {
        match self.fit(len) {
            Some(mut buf) => {
                buf.resize(len, 0);
                Ok(buf)
            }
            None => crate::buffer::zeroed(len, what),
        }
    }

    /// A packed copy of `view`, in the smallest spare buffer large enough (emptied first, so
    /// nothing is zeroed: the copy writes every byte) or a new one.
    fn copy_of(&self, view: &ImageView<'_>) -> Result<Image> {
        let (w, h, format) = (view.width(), view.height(), view.format());
        let len = tile_bytes(w, h, format)?;
        let mut buf = match self.fit(len) {
            Some(mut buf) => {
                buf.clear();
                buf
            }
            None => crate::buffer::with_capacity(len, "a pipeline tile")?,
        };
        (0..h).for_each(|y| buf.extend_from_slice(view.row(y)));
        Image::from_vec(w, h, format, buf)
    }

    /// The smallest spare buffer of capacity `len` or more, taken out.
    fn fit(&self, len: usize) -> Option<Vec<u8>> {
        let mut buffers = self.lock();
        let best = (buffers.iter().enumerate())
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        best.map(|i| buffers.swap_remove(i))
    }

    /// A spare buffer, whatever its size.
    fn pop(&self) -> Option<Vec<u8>> {
        self.lock().pop()
    }

    /// Hands `buf` back for later use.
    fn give(&self, buf: Vec<u8>) {
        let mut buffers = self.lock();
        buffers.push(buf);
        if buffers.len() > self.keep {
            if let Some((i, _)) = (buffers.iter().enumerate()).min_by_key(|(_, b)| b.capacity()) {
                buffers.swap_remove(i);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.buffers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The input rows of one row of cells, held by the source ([`RegionSource::with_rows`]):
/// cells inside the input are views into them, no copy.
#[derive(Clone, Copy)]
struct Band<'b> {
    /// Input row of the first row of `rows`.
    top: u64,
    /// Packed rows of the whole input width.
    rows: &'b [u8],
}

/// A cell's input pixels: a view into the source's band, or a buffer of their own (cells
/// reaching past the input, sources that do not hold their rows).
enum Input<'b> {
    Band(ImageView<'b>),
    Owned(Image),
}

impl Input<'_> {
    fn view(&self) -> ImageView<'_> {
        match self {
            Input::Band(view) => *view,
            Input::Owned(image) => image.view(),
        }
    }
}

impl<F: TileFn + ?Sized> Run<'_, F> {
    /// The input rows the cells of grid row `row` cover, if any.
    fn input_rows(&self, row: u64) -> Option<std::ops::Range<u64>> {
        let cols = self.plan.grid.cols().count();
        (0..cols)
            .find_map(|col| self.plan.cell_rects(row, col).2)
            .map(|r| r.top..r.bottom)
    }

    /// Copies the part `from` (input coordinates) of the input into `part`, from `band`
    /// when the source holds the rows, else from the source.
    fn read_input(
        &self,
        from: Rect,
        band: Option<Band<'_>>,
        part: &mut ImageViewMut,
    ) -> Result<()> {
        let Some(band) = band else {
            return source::read_region(
                self.source,
                self.options.slice,
                from,
                &self.channels,
                part,
            );
        };
        let (width, format) = (self.source.width(), self.plan.input_format);
        let rows = (band.rows.len() / (width as usize * format.bytes_per_pixel()).max(1)) as u64;
        let layout = PackedLayout::contiguous(0, (width, rows, 1), format);
        let local = Rect {
            top: from.top - band.top,
            bottom: from.bottom - band.top,
            ..from
        };
        layout.read(band.rows, 0, local, &self.channels, part)
    }

    /// Reads a cell's pixels from the canvas: fill outside the input, input pixels inside.
    fn read_cell(
        &self,
        extent: Rect,
        input: Option<Rect>,
        band: Option<Band<'_>>,
    ) -> Result<Image> {
        let format = self.plan.input_format;
        let (w, h) = (to_usize(extent.width())?, to_usize(extent.height())?);
        // A recycled buffer: the fill and the read below write every byte.
        let mut image = Image::from_vec(w, h, format, self.spare.take(w, h, format)?)?;
        let inside = input.map(|r| (r.width(), r.height()));
        if inside != Some((extent.width(), extent.height())) {
            image.view_mut().fill(&self.input_fill);
        }
        let Some(from) = input else {
            return Ok(image);
        };
        let on_canvas = self.plan.input_on_canvas();
        let local = Rect::from_xywh(
            from.left + on_canvas.left - extent.left,
            from.top + on_canvas.top - extent.top,
            from.width(),
            from.height(),
        );
        let mut view = image.view_mut();
        let mut part = view.crop_mut(local)?;
        self.read_input(from, band, &mut part)?;
        Ok(image)
    }

    /// One cell's input pixels: a view into `band` when the cell lies inside the input (the
    /// source holding the rows), else read into a buffer.
    fn read<'b>(&self, row: u64, col: u64, band: Option<Band<'b>>) -> Result<Input<'b>> {
        let (extent, _, input_rect) = self.plan.cell_rects(row, col);
        if let (Some(band), Some(from)) = (band, input_rect) {
            if (from.width(), from.height()) == (extent.width(), extent.height()) {
                let bpp = self.plan.input_format.bytes_per_pixel();
                let stride = to_usize(self.source.width())? * bpp;
                let start = (from.top - band.top) as usize * stride + from.left as usize * bpp;
                let view = ImageView::new(
                    band.rows.get(start..).unwrap_or_default(),
                    to_usize(from.width())?,
                    to_usize(from.height())?,
                    self.plan.input_format,
                    stride,
                )?;
                return Ok(Input::Band(view));
            }
        }
        self.read_cell(extent, input_rect, band).map(Input::Owned)
    }

    /// Runs the function on one cell's input and places the result.
    fn apply(&self, row: u64, col: u64, input: Input<'_>) -> Result<BlendTile> {
        let (extent, out_rect, input_rect) = self.plan.cell_rects(row, col);
        let format = self.plan.output_format;
        let view = input.view();
        let (w, h) = (to_usize(out_rect.width())?, to_usize(out_rect.height())?);
        let mut output = if self.options.output_overwritten {
            Image::from_vec(w, h, format, self.spare.take(w, h, format)?)?
        } else if self.plan.scale == 1 && format == self.plan.input_format {
            self.spare.copy_of(&view)?
        } else {
            Image::new(w, h, format)?
        };
        let tile = TileIn {
            row,
            col,
            rect: extent,
            input_rect,
            out_rect,
            image: view,
        };
        let mut out = TileOut {
            image: output.view_mut(),
        };
        {
            let _turn = self
                .serial
                .as_ref()
                .map(|lock| lock.lock().unwrap_or_else(|e| e.into_inner()));
            (self.function)(&tile, &mut out)?;
        }
        if let Input::Owned(image) = input {
            self.spare.give(image.into_vec());
        }
        let (blend, size) = (self.options.blend, self.plan.output_size());
        if self.in_place {
            // The blend reads the output where it is; its buffer comes back once the tile's
            // rows are composed or moved out (see `shed`).
            return Ok(BlendTile::new(output, out_rect, blend, size, self.overlaps));
        }
        // Held in bands of output rows, so that emitting frees it band by band.
        let rows = to_usize(self.options.band_rows.max(1))?;
        let tile = BlendTile::copied_in_chunks(&output, rows, out_rect, blend, size, self.overlaps);
        self.spare.give(output.into_vec());
        Ok(tile)
    }

    /// Every cell of grid row `row`, in column order; the first failing column is reported.
    /// Cells are read on this thread (a streaming source decodes here, never blocking a
    /// pool thread that blending needs) and handed to the pool for the function, at most
    /// `2 x threads` inputs in flight; with [`PipelineOptions::calling_thread`] the function
    /// runs here too, one cell at a time. When the source holds the row's input rows
    /// ([`RegionSource::with_rows`]), they stay with it while the row runs and cells inside
    /// the input are views into them.
    fn cell_row(&self, row: u64) -> Result<Vec<BlendTile>, PipelineError> {
        if let Some(rows) = self.input_rows(row) {
            let top = rows.start;
            let mut tiles = None;
            let mut run = |rows: &[u8]| tiles = Some(self.cells(row, Some(Band { top, rows })));
            if let Some(held) = self.source.with_rows(self.options.slice, rows, &mut run) {
                held?;
                return tiles.unwrap_or_else(|| Err(Error::Internal("no rows".into()).into()));
            }
        }
        self.cells(row, None)
    }

    /// The cells of grid row `row` (see [`Run::cell_row`]), their input read from `band`
    /// when given.
    fn cells(&self, row: u64, band: Option<Band<'_>>) -> Result<Vec<BlendTile>, PipelineError> {
        let cols = self.plan.grid.cols().count();
        let at = |col: u64| {
            move |error| PipelineError {
                cell: Some((row, col)),
                error,
            }
        };
        // On a pool thread already (a nested call), waiting for pool work could starve the
        // pool: process the row here.
        if self.options.calling_thread || rayon::current_thread_index().is_some() {
            return (0..cols)
                .map(|c| {
                    self.read(row, c, band)
                        .and_then(|i| self.apply(row, c, i))
                        .map_err(at(c))
                })
                .collect();
        }
        let pool = crate::threads::pool()?;
        let in_flight = 2 * pool.current_num_threads().max(1);
        let (give_back, tokens) = std::sync::mpsc::sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = give_back.send(());
        }
        let failed = AtomicBool::new(false);
        let slots: Vec<Mutex<Option<Result<BlendTile>>>> =
            (0..cols).map(|_| Mutex::new(None)).collect();
        pool.in_place_scope(|scope| {
            for col in 0..cols {
                if failed.load(Ordering::Relaxed) || tokens.recv().is_err() {
                    break;
                }
                let input = self.read(row, col, band);
                let (slot, token, failed) =
                    (&slots[col as usize], Token(give_back.clone()), &failed);
                scope.spawn(move |_| {
                    let tile = input.and_then(|i| self.apply(row, col, i));
                    if tile.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(tile);
                    drop(token);
                });
            }
        });
        let mut tiles = Vec::with_capacity(cols as usize);
        for (col, slot) in (0..cols).zip(slots) {
            match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
                Some(tile) => tiles.push(tile.map_err(at(col))?),
                None => break,
            }
        }
        Ok(tiles)
    }

    /// Drops the rows above `y` from `tiles`, removing the tiles left without rows (the order
    /// of the others is kept) and handing their buffers back for later cells.
    fn release_rows_above(&self, tiles: &mut Vec<BlendTile>, y: u64) {
        tiles.retain_mut(|tile| {
            if let Some(buf) = tile.drop_rows_above(y) {
                self.spare.give(buf);
            }
            !tile.is_empty()
        });
    }

    /// Releases the rows above `y` and moves each tile's remaining rows (the overlap strip the
    /// next row of cells blends with) into a buffer of their own, handing the cell-sized
    /// buffers back: a tile is copied once, and only its strip.
    fn shed(&self, tiles: &mut Vec<BlendTile>, y: u64) -> Result<()> {
        self.release_rows_above(tiles, y);
        for tile in tiles.iter_mut() {
            if let Some(buf) = tile.compact(|len| self.spare.take_bytes(len, "a tile strip"))? {
                self.spare.give(buf);
            }
        }
        Ok(())
    }

    /// Blends output rows `from..to` from `tiles` (grid order) on the pool, a band at a time,
    /// and hands them to `sink` on a thread of their own, so encoding one band overlaps
    /// blending the next. The rows of each band are released from the tiles once composed
    /// (tiles left without rows are removed), so memory shrinks as the output is written.
    fn emit(
        &self,
        tiles: &mut Vec<BlendTile>,
        from: u64,
        to: u64,
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        if from >= to {
            return Ok(());
        }
        let (width, _) = self.plan.output_size();
        let format = self.plan.output_format;
        let row_bytes = to_usize(width)? * format.bytes_per_pixel();
        let band = self.options.band_rows.max(1);
        std::thread::scope(|scope| {
            let (bands, composed) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
            // Written buffers come back for the next bands, and for the next call (composing
            // writes every byte, so they need no clearing, and no fresh pages are touched).
            let (give_back, written) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
            let writer = scope.spawn(move || -> Result<()> {
                for buf in composed {
                    sink.write_rows(&buf)?;
                    let _ = give_back.try_send(buf);
                }
                Ok(())
            });
            let mut y = from;
            let mut result = Ok(());
            while y < to {
                let n = band.min(to - y);
                let over: Vec<&BlendTile> = tiles
                    .iter()
                    .filter(|t| t.rect().top < y + n && t.rect().bottom > y)
                    .collect();
                let mut buf = written
                    .try_recv()
                    .ok()
                    .or_else(|| self.band_buffers.pop())
                    .unwrap_or_default();
                let composed = to_usize(n).and_then(|n| {
                    buf.resize(n * row_bytes, 0);
                    crate::threads::install(|| {
                        compose_rows(
                            &over,
                            self.options.blend,
                            format,
                            width,
                            y,
                            &self.output_fill,
                            &mut buf,
                        )
                    })
                });
                if let Err(e) = composed {
                    result = Err(e);
                    break;
                }
                if bands.send(buf).is_err() {
                    break; // the writer failed: its error is reported below
                }
                y += n;
                self.release_rows_above(tiles, y);
            }
            drop(bands);
            let encoded = writer
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("encoding thread panicked".into())));
            written
                .try_iter()
                .for_each(|buf| self.band_buffers.give(buf));
            result.and(encoded)
        })
    }
}

/// Where output rows go, top to bottom, whole packed rows at a time.
pub trait RowSink: Send {
    /// Takes the next rows.
    fn write_rows(&mut self, rows: &[u8]) -> Result<()>;
}

impl RowSink for RowWriter {
    fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        RowWriter::write_rows(self, rows)
    }
}

/// Collects rows into an image in memory.
struct ImageSink {
    image: Image,
    filled: usize,
}

impl RowSink for ImageSink {
    fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        let data = self.image.data_mut();
        let end = self.filled + rows.len();
        if end > data.len() {
            return Err(Error::Internal("pipeline produced too many rows".into()));
        }
        data[self.filled..end].copy_from_slice(rows);
        self.filled = end;
        Ok(())
    }
}

/// Runs the pipeline over `source`, sending the output rows to `sink` in order.
pub fn run(
    source: &dyn RegionSource,
    options: &PipelineOptions,
    function: &(impl TileFn + ?Sized),
    sink: &mut dyn RowSink,
    progress: &mut Progress<'_>,
) -> Result<(), PipelineError> {
    let plan = Plan::new(source.width(), source.height(), source.format(), options)?;
    if options.slice >= source.depth() {
        return Err(Error::OutOfBounds(format!(
            "slice {} does not exist (the source has {})",
            options.slice,
            source.depth()
        ))
        .into());
    }
    let grid = plan.grid;
    let k = options.scale as f64;
    let run = Run {
        overlaps: (
            overlap(grid.rows().cell(), grid.rows().stride()) * k,
            overlap(grid.cols().cell(), grid.cols().stride()) * k,
        ),
        input_fill: fill_pixel(plan.input_format, options.fill)?,
        output_fill: fill_pixel(plan.output_format, options.fill)?,
        channels: Channels::all(source.format().channels),
        serial: (!options.thread_safe).then(|| Mutex::new(())),
        // A row of output tiles and their strips, the inputs in flight and one output each.
        spare: Spare::new(
            2 * grid.cols().count() as usize
                + 4 * crate::threads::pool()?.current_num_threads().max(1),
        ),
        in_place: plan.tile_row_bytes() <= IN_PLACE_BYTES,
        band_buffers: Spare::new(2),
        plan,
        options,
        source,
        function,
    };
    let (_, height) = run.plan.output_size();
    let rows = grid.rows().count();
    let total = run.plan.cell_count();
    let mut held: Vec<BlendTile> = Vec::new();
    let mut done_rows = 0u64;
    for row in 0..rows {
        // Rows above this cell row's top are final: blend and encode them while the cells of
        // this row are read and processed.
        let ready = grid.rows().cell_range(row).start * options.scale;
        let (emitted, fresh) = std::thread::scope(|scope| {
            let emitting = scope.spawn(|| run.emit(&mut held, done_rows, ready, sink));
            let fresh = run.cell_row(row);
            let emitted = emitting
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("encoding thread panicked".into())));
            (emitted, fresh)
        });
        emitted?;
        let fresh = fresh?;
        done_rows = done_rows.max(ready);
        run.shed(&mut held, done_rows)?;
        held.extend(fresh);
        progress.report((row + 1) * grid.cols().count(), total)?;
    }
    run.emit(&mut held, done_rows, height, sink)?;
    Ok(())
}

/// Runs the pipeline over `source` into the file `output` (format from its extension; PNG
/// and NPY stream, TIFF and EXR are assembled in memory first). Written atomically: on any
/// error or cancellation no file is left at `output`.
pub fn map_source(
    source: &dyn RegionSource,
    output: &Path,
    options: &PipelineOptions,
    function: &(impl TileFn + ?Sized),
    progress: &mut Progress<'_>,
) -> Result<(), PipelineError> {
    let plan = Plan::new(source.width(), source.height(), source.format(), options)?;
    let (w, h) = plan.output_size();
    let mut writer = RowWriter::create(output, w, h, plan.output_format(), &options.write)?;
    run(source, options, function, &mut writer, progress)?;
    Ok(writer.finish()?)
}

/// Runs the pipeline from the image file `input` (PNG streamed top to bottom; TIFF, NPY and
/// EXR read by region) into the file `output`; see [`map_source`].
pub fn map_tiles(
    input: &Path,
    output: &Path,
    options: &PipelineOptions,
    function: &(impl TileFn + ?Sized),
    progress: &mut Progress<'_>,
) -> Result<(), PipelineError> {
    let source = source::open(input, &OpenOptions::default())?;
    map_source(&*source, output, options, function, progress)
}

/// Runs the pipeline over `source` into an image in memory.
pub fn map_to_image(
    source: &dyn RegionSource,
    options: &PipelineOptions,
    function: &(impl TileFn + ?Sized),
    progress: &mut Progress<'_>,
) -> Result<Image, PipelineError> {
    let plan = Plan::new(source.width(), source.height(), source.format(), options)?;
    let (w, h) = plan.output_size();
    let mut sink = ImageSink {
        image: Image::new(to_usize(w)?, to_usize(h)?, plan.output_format())?,
        filled: 0,
    };
    run(source, options, function, &mut sink, progress)?;
    Ok(sink.image)
}
