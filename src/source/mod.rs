//! Random-access pixel sources: the one way partitions and fragmenting get pixels from a file
//! or buffer. A [`RegionSource`] reads any rectangle (of any page, for stacks) with any
//! channel selection into a caller view, reading no more of the file than the format needs.
//!
//! - [`PackedSource`]: packed slices in any byte buffer (a map, a vector, a caller's array);
//!   [`MemorySource`] (an image in memory) and [`RawSource`] are two of them.
//! - [`RawSource`]: packed raw samples in a file, mapped with mmap (no copy beyond the region).
//! - [`TiffSource`]: tiled or striped TIFF / BigTIFF, decoding only the chunks a region touches,
//!   in parallel on the library pool; multi-page files are volumes (one page per slice).
//! - [`png::PngCache`]: PNG through a decode-once cache (a raw file in an explicit cache
//!   directory, then mmap) for random access; [`png::PngStream`] streams row bands for work
//!   done top to bottom with memory bounded by a band.
//!
//! - [`NpySource`]: NumPy arrays mapped with mmap, images and volumes, any byte or axis order.
//! - [`ExrSource`]: OpenEXR, decoding only the scan-line blocks or tiles a region touches.

pub mod exr;
pub mod memory;
pub mod npy;
pub mod packed;
pub mod png;
pub mod raw;
pub mod tiff;

use std::path::Path;

pub use self::png::{PngCache, PngStream};
pub use self::tiff::TiffSource;
pub use exr::ExrSource;
pub use memory::MemorySource;
pub use npy::NpySource;
pub use packed::{PackedLayout, PackedSource};
pub use raw::RawSource;

use crate::codec::Format;
use crate::error::{Error, Result};
use crate::image::ImageViewMut;
use crate::pixel::PixelFormat;
use crate::rect::Rect;

/// A channel selection resolved against a band count: output channel `i` is source band
/// `bands[i]`. Reordering and repeats are allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channels {
    bands: Vec<usize>,
    source_bands: usize,
}

impl Channels {
    /// Every band in file order.
    pub fn all(source_bands: usize) -> Channels {
        Channels {
            bands: (0..source_bands).collect(),
            source_bands,
        }
    }

    /// Resolves band indices (negative ones count from the end, as in NumPy) against a source
    /// with `source_bands` bands. Empty or out-of-range selections are errors.
    pub fn select(indices: &[i64], source_bands: usize) -> Result<Channels> {
        if indices.is_empty() {
            return Err(Error::invalid("channel selection is empty"));
        }
        let n = source_bands as i64;
        let bands = indices
            .iter()
            .map(|&i| {
                let k = if i < 0 { i + n } else { i };
                if (0..n).contains(&k) {
                    Ok(k as usize)
                } else {
                    Err(Error::OutOfBounds(format!(
                        "channel {i} does not exist: the image has {source_bands} band(s)"
                    )))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Channels {
            bands,
            source_bands,
        })
    }

    /// Output channel count.
    pub fn len(&self) -> usize {
        self.bands.len()
    }

    /// True when nothing is selected (never, for a resolved selection).
    pub fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }

    /// Source band of each output channel.
    pub fn bands(&self) -> &[usize] {
        &self.bands
    }

    /// Band count of the source this selection was resolved against.
    pub fn source_bands(&self) -> usize {
        self.source_bands
    }

    /// True when the selection is every band in order (a plain copy).
    pub fn is_identity(&self) -> bool {
        self.bands.len() == self.source_bands && self.bands.iter().enumerate().all(|(i, &b)| i == b)
    }

    /// Copies one row of `src` pixels (all source bands) into `dst` (selected channels);
    /// `sample` is the sample size in bytes.
    pub fn copy_row(&self, src: &[u8], dst: &mut [u8], sample: usize) {
        if self.is_identity() {
            dst.copy_from_slice(&src[..dst.len()]);
            return;
        }
        let in_px = self.source_bands * sample;
        let out_px = self.bands.len() * sample;
        for (s, d) in src.chunks_exact(in_px).zip(dst.chunks_exact_mut(out_px)) {
            for (o, &b) in self.bands.iter().enumerate() {
                d[o * sample..(o + 1) * sample].copy_from_slice(&s[b * sample..(b + 1) * sample]);
            }
        }
    }
}

/// A source of pixels readable by region. Implementations are thread-safe: concurrent reads
/// from several threads are allowed (and give the same pixels as sequential ones).
pub trait RegionSource: Send + Sync {
    /// Width in pixels.
    fn width(&self) -> u64;
    /// Height in pixels.
    fn height(&self) -> u64;
    /// Number of slices (pages) for volumes; 1 for plain images.
    fn depth(&self) -> u64 {
        1
    }
    /// Pixel layout of the source (all bands).
    fn format(&self) -> PixelFormat;
    /// `(width, height)` of the blocks the file stores and decodes as a unit (TIFF tiles or
    /// strips, EXR tiles or scan-line blocks; `(width, 1)` for row-addressable files), so
    /// callers can align their reads with them; `None` when there is no such unit.
    fn chunk_shape(&self) -> Option<(u64, u64)> {
        None
    }
    /// Reads `rect` of slice `z` with `channels` into `out`, whose size must equal the
    /// rectangle's and whose format must be the source's sample type with
    /// `channels.len()` channels. Call through [`read_region`] for the checks.
    fn read_slice_region(
        &self,
        z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()>;
    /// Calls `f` once with rows `rows` of slice `z` (all bands) as packed rows in the
    /// source's own memory, without copying them, when the source holds its rows so (a
    /// streamed PNG's band); `None` when it does not (read regions instead). Out-of-range
    /// rows are an error.
    fn with_rows(
        &self,
        _z: u64,
        _rows: std::ops::Range<u64>,
        _f: &mut dyn FnMut(&[u8]),
    ) -> Option<Result<()>> {
        None
    }
}

/// Reads `rect` of slice `z` from `source` into `out` after checking every argument.
pub fn read_region(
    source: &dyn RegionSource,
    z: u64,
    rect: Rect,
    channels: &Channels,
    out: &mut ImageViewMut<'_>,
) -> Result<()> {
    if z >= source.depth() {
        return Err(Error::OutOfBounds(format!(
            "slice {z} does not exist (the source has {})",
            source.depth()
        )));
    }
    rect.check_inside(source.width(), source.height())?;
    let format = source.format();
    if channels.source_bands() != format.channels {
        return Err(Error::Mismatch(format!(
            "channel selection was made for {} bands, the source has {}",
            channels.source_bands(),
            format.channels
        )));
    }
    let want = PixelFormat {
        dtype: format.dtype,
        channels: channels.len(),
    };
    if out.format() != want {
        return Err(Error::Mismatch(format!(
            "output buffer is {}, the region reads as {want}",
            out.format()
        )));
    }
    if out.width() as u64 != rect.width() || out.height() as u64 != rect.height() {
        return Err(Error::Mismatch(format!(
            "output buffer is {}x{}, the region is {}x{}",
            out.width(),
            out.height(),
            rect.width(),
            rect.height()
        )));
    }
    source.read_slice_region(z, rect, channels, out)
}

/// How to open a file for random access.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Where sequential formats (PNG) keep their decode-once cache. Required for PNG random
    /// access; without it PNG opens as a row-streaming source (in-order reads only).
    pub cache_dir: Option<std::path::PathBuf>,
    /// Read 3-D NPY arrays as `(depth, height, width)` volumes instead of
    /// `(height, width, channels)` images. 4-D arrays are always volumes.
    pub volume: bool,
}

/// Opens the best source for a file: tiled/striped TIFF by chunks, NPY by mmap, EXR by blocks,
/// PNG through the cache (or streaming when no cache directory is given).
pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Box<dyn RegionSource>> {
    let path = path.as_ref();
    match Format::detect(path)? {
        Format::Tiff => Ok(Box::new(TiffSource::open(path)?)),
        Format::Npy => Ok(Box::new(NpySource::open(path, options.volume)?)),
        Format::Exr => Ok(Box::new(ExrSource::open(path)?)),
        Format::Png => match &options.cache_dir {
            Some(dir) => Ok(Box::new(PngCache::open(path, dir)?)),
            None => Ok(Box::new(PngStream::open(path)?)),
        },
        other => Err(Error::unsupported(format!(
            "{}: region reads from {} files are not supported yet (supported: PNG, TIFF, NPY, EXR)",
            path.display(),
            other.name()
        ))),
    }
}
