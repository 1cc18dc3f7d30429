//! impart-compatible partitions: a virtual grid of cells with stride over an image or volume,
//! indexed like NumPy, with pixels read lazily through a [`crate::source::RegionSource`].

pub mod geometry;
pub mod grid;
pub mod index;
pub mod preview;

pub use geometry::{Axis, EdgePolicy, Stride};
pub use grid::{Box3, Grid, GridSpec, Selection};
pub use index::{parse_key, AxisKey};

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::image::{Image, ImageViewMut};
use crate::pixel::{PixelFormat, PixelType};
use crate::rect::Rect;
use crate::source::{self, Channels, MemorySource, OpenOptions, RegionSource};

/// How pixels are laid out in a caller buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// Height x width x channels, channels interleaved (NumPy's `HxWxC`).
    #[default]
    Interleaved,
    /// Channels x height x width: one plane per channel.
    Planar,
}

/// Everything that shapes a partition besides its source: the grid, the fill value of padded
/// cells, the channel selection and how files open. The default is 1024 x 1024 cells, stride
/// 1.0, edge clip, fill 0, all channels, no cache directory.
#[derive(Clone, Debug)]
pub struct PartitionOptions {
    /// Cell size, stride and edge policy.
    pub grid: GridSpec,
    /// Value of the pixels of padded cells outside the image (every channel).
    pub fill: f64,
    /// Band indices (negative from the end, repeats allowed); `None` for all bands.
    pub channels: Option<Vec<i64>>,
    /// How files are opened (PNG cache directory, 3-D NPY as volume).
    pub open: OpenOptions,
}

/// Cell size of [`PartitionOptions::default`], in pixels.
pub const DEFAULT_CELL: u64 = 1024;

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions {
            grid: GridSpec::square(DEFAULT_CELL, Stride::Fraction(1.0)),
            fill: 0.0,
            channels: None,
            open: OpenOptions::default(),
        }
    }
}

/// A grid of cells over a source, read lazily: building one reads headers only, and each
/// read decodes no more of the file than the source needs. Thread-safe: reads through `&self`
/// may run concurrently.
pub struct Partition {
    source: Arc<dyn RegionSource>,
    grid: Grid,
    channels: Channels,
    fill: f64,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("grid", &self.grid)
            .field("channels", &self.channels)
            .finish()
    }
}

impl Partition {
    /// A partition over `source`: a volume grid when the source has several slices.
    /// `channels`: band indices (negative from the end) or `None` for all bands.
    pub fn new(
        source: Arc<dyn RegionSource>,
        spec: &GridSpec,
        channels: Option<&[i64]>,
    ) -> Result<Partition> {
        let bands = source.format().channels;
        let channels = match channels {
            Some(c) => Channels::select(c, bands)?,
            None => Channels::all(bands),
        };
        let grid = if source.depth() > 1 {
            Grid::new_volume(source.depth(), source.height(), source.width(), spec)?
        } else {
            Grid::new(source.height(), source.width(), spec)?
        };
        Ok(Partition {
            source,
            grid,
            channels,
            fill: 0.0,
        })
    }

    /// Opens a file (PNG, TIFF, NPY, EXR) as a partition; see [`source::open`] for the options.
    pub fn open(
        path: impl AsRef<Path>,
        spec: &GridSpec,
        channels: Option<&[i64]>,
        options: &OpenOptions,
    ) -> Result<Partition> {
        Partition::new(Arc::from(source::open(path, options)?), spec, channels)
    }

    /// Opens a file as a partition shaped by `options`.
    pub fn open_with(path: impl AsRef<Path>, options: &PartitionOptions) -> Result<Partition> {
        let source = Arc::from(source::open(path, &options.open)?);
        Partition::with_options(source, options)
    }

    /// A partition over `source` shaped by `options` (`options.open` is not used).
    pub fn with_options(
        source: Arc<dyn RegionSource>,
        options: &PartitionOptions,
    ) -> Result<Partition> {
        Ok(
            Partition::new(source, &options.grid, options.channels.as_deref())?
                .with_fill(options.fill),
        )
    }

    /// A partition over an image in memory.
    pub fn from_image(
        image: Image,
        spec: &GridSpec,
        channels: Option<&[i64]>,
    ) -> Result<Partition> {
        Partition::new(Arc::new(MemorySource::new(image)), spec, channels)
    }

    /// The same partition with another fill value for padded cells (every channel).
    pub fn with_fill(mut self, fill: f64) -> Partition {
        self.fill = fill;
        self
    }

    /// Fill value of padded cells.
    pub fn fill(&self) -> f64 {
        self.fill
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The source.
    pub fn source(&self) -> &Arc<dyn RegionSource> {
        &self.source
    }

    /// Cells as (rows, cols).
    pub fn shape(&self) -> (u64, u64) {
        self.grid.shape()
    }

    /// Step in pixels as (y, x), binary64 like impart's `step_size`.
    pub fn step(&self) -> (f64, f64) {
        (self.grid.rows().step(), self.grid.cols().step())
    }

    /// Pixel layout of what reads return (after channel selection).
    pub fn format(&self) -> PixelFormat {
        PixelFormat {
            dtype: self.source.format().dtype,
            channels: self.channels.len(),
        }
    }

    /// The selected channels.
    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// Resolves keys (see [`Grid::select`]).
    pub fn select(&self, keys: &[AxisKey]) -> Result<Selection> {
        self.grid.select(keys)
    }

    /// The image rectangle of cell (row, col), negative indices from the end.
    pub fn cell_rect(&self, row: i64, col: i64) -> Result<Rect> {
        self.grid.cell_rect(row, col)
    }

    /// The output size of a selection as (width, height, slices): the union rectangle, at
    /// full cell size when padding.
    pub fn output_size(&self, sel: &Selection) -> (u64, u64, u64) {
        let r = self.grid.selection_extent(sel);
        let depth = self.grid.depth().union(sel.depth.clone());
        (r.width(), r.height(), depth.end - depth.start)
    }

    /// Bytes a read of `sel` needs.
    pub fn buffer_len(&self, sel: &Selection) -> Result<usize> {
        let (w, h, d) = self.output_size(sel);
        w.checked_mul(h)
            .and_then(|n| n.checked_mul(d))
            .and_then(|n| n.checked_mul(self.format().bytes_per_pixel() as u64))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| Error::invalid("selection too large for memory"))
    }

    /// Reads a selection into `out` (slices one after the other, each in `layout`); `out`
    /// must hold at least [`Partition::buffer_len`] bytes.
    pub fn read_into(&self, sel: &Selection, layout: Layout, out: &mut [u8]) -> Result<()> {
        let need = self.buffer_len(sel)?;
        if out.len() < need {
            return Err(Error::BufferTooSmall(format!(
                "buffer holds {} bytes, the selection needs {need}",
                out.len()
            )));
        }
        let (w, h, _) = self.output_size(sel);
        let format = self.format();
        let slice_len = need / self.output_size(sel).2 as usize;
        let extent = self.grid.selection_extent(sel);
        let inside = self.grid.selection_rect(sel);
        let depth = self.grid.depth().union(sel.depth.clone());
        let mut scratch = Vec::new();
        for (i, z) in depth.enumerate() {
            let dst = &mut out[i * slice_len..(i + 1) * slice_len];
            let target: &mut [u8] = match layout {
                Layout::Interleaved => dst,
                Layout::Planar => {
                    scratch.resize(slice_len, 0);
                    &mut scratch[..]
                }
            };
            let row = w as usize * format.bytes_per_pixel();
            let mut view = ImageViewMut::new(target, w as usize, h as usize, format, row)?;
            if inside != extent {
                let mut fill = Vec::new();
                for _ in 0..format.channels {
                    format.dtype.encode_fill(self.fill, &mut fill)?;
                }
                view.fill(&fill);
            }
            let local = Rect::from_xywh(
                inside.left - extent.left,
                inside.top - extent.top,
                inside.width(),
                inside.height(),
            );
            let mut part = view.crop_mut(local)?;
            source::read_region(&*self.source, z, inside, &self.channels, &mut part)?;
            if layout == Layout::Planar {
                to_planar(&scratch, dst, (w * h) as usize, format);
            }
        }
        Ok(())
    }

    /// Reads a selection converted to `dtype` (a plain value cast like NumPy's `astype`;
    /// only float32 / float64 targets, or the native type) into `out`, which must hold the
    /// selection's pixel count times the channel count times `dtype`'s size.
    pub fn read_into_as(
        &self,
        sel: &Selection,
        layout: Layout,
        dtype: PixelType,
        out: &mut [u8],
    ) -> Result<()> {
        let native = self.format().dtype;
        if dtype == native {
            return self.read_into(sel, layout, out);
        }
        if !matches!(dtype, PixelType::F32 | PixelType::F64) {
            return Err(Error::unsupported(format!(
                "reading {native} samples as {dtype}: only float32 and float64 casts are offered"
            )));
        }
        let samples = self.buffer_len(sel)? / native.size();
        let need = samples * dtype.size();
        if out.len() < need {
            return Err(Error::BufferTooSmall(format!(
                "buffer holds {} bytes, the selection needs {need} as {dtype}",
                out.len()
            )));
        }
        let mut raw = crate::limits::zeroed(samples * native.size(), "the samples to convert")?;
        self.read_into(sel, layout, &mut raw)?;
        for (src, dst) in raw
            .chunks_exact(native.size())
            .zip(out.chunks_exact_mut(dtype.size()))
        {
            let v = sample_f64(native, src);
            match dtype {
                PixelType::F32 => dst.copy_from_slice(&(v as f32).to_ne_bytes()),
                _ => dst.copy_from_slice(&v.to_ne_bytes()),
            }
        }
        Ok(())
    }

    /// Reads a selection into a new image (2-D grids; for volumes use [`Partition::read_into`]).
    pub fn read(&self, sel: &Selection) -> Result<Image> {
        let (w, h, d) = self.output_size(sel);
        if d != 1 {
            return Err(Error::invalid(
                "a selection over several slices does not fit one image; use read_into",
            ));
        }
        let mut image = Image::new(w as usize, h as usize, self.format())?;
        self.read_into(sel, Layout::Interleaved, image.data_mut())?;
        Ok(image)
    }

    /// The selection of cell (row, col) of a 2-D grid (negative indices count from the end).
    fn cell_selection(&self, row: i64, col: i64) -> Result<Selection> {
        if self.grid.is_volume() {
            return Err(Error::invalid(
                "a cell (row, col) needs a 2-D grid; select (depth, row, col) keys for volumes",
            ));
        }
        self.select(&[AxisKey::Index(row), AxisKey::Index(col)])
    }

    /// Reads cell (row, col) of a 2-D grid.
    pub fn read_cell(&self, row: i64, col: i64) -> Result<Image> {
        self.read(&self.cell_selection(row, col)?)
    }

    /// Reads cell (row, col) of a 2-D grid into `out` in `layout` (see [`Partition::read_into`]).
    pub fn read_cell_into(&self, row: i64, col: i64, layout: Layout, out: &mut [u8]) -> Result<()> {
        self.read_into(&self.cell_selection(row, col)?, layout, out)
    }
}

/// One native-endian sample as f64.
fn sample_f64(dtype: PixelType, b: &[u8]) -> f64 {
    match dtype {
        PixelType::U8 => b[0] as f64,
        PixelType::I8 => b[0] as i8 as f64,
        PixelType::U16 => u16::from_ne_bytes([b[0], b[1]]) as f64,
        PixelType::I16 => i16::from_ne_bytes([b[0], b[1]]) as f64,
        PixelType::F16 => half::f16::from_ne_bytes([b[0], b[1]]).to_f64(),
        PixelType::U32 => u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as f64,
        PixelType::I32 => i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as f64,
        PixelType::F32 => f32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as f64,
        PixelType::U64 => u64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8])) as f64,
        PixelType::I64 => i64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8])) as f64,
        PixelType::F64 => f64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8])),
    }
}

/// Converts `pixels` interleaved pixels into one plane per channel.
fn to_planar(src: &[u8], dst: &mut [u8], pixels: usize, format: PixelFormat) {
    let s = format.dtype.size();
    let c = format.channels;
    for ch in 0..c {
        let plane = &mut dst[ch * pixels * s..(ch + 1) * pixels * s];
        for (p, out) in plane.chunks_exact_mut(s).enumerate() {
            let at = (p * c + ch) * s;
            out.copy_from_slice(&src[at..at + s]);
        }
    }
}
