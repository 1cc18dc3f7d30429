//! Packed pixel slices in a byte buffer: the one row-copy loop behind every source whose rows
//! sit in memory as packed pixels (a mapped raw or NPY file, a decoded image, a band of
//! streamed rows, a caller's array), and [`PackedSource`], a region source over any such
//! buffer.

use std::sync::Mutex;

use super::{Channels, RegionSource};
use crate::error::{Error, Result};
use crate::image::ImageViewMut;
use crate::pixel::PixelFormat;
use crate::rect::Rect;

/// Regions of at least this many output bytes are copied on several threads: one core's copy
/// leaves memory bandwidth unused, and a 1024² RGB cell (3 MiB) from a mapped file is a
/// memory-bound copy.
const PARALLEL_BYTES: usize = 1 << 20;

/// Output bytes per piece of a parallel copy: small enough that the threads share the work
/// evenly whenever each starts, large enough that handing out pieces costs nothing.
const PIECE_BYTES: usize = 1 << 18;

/// Where packed slices sit in a byte buffer: `depth` slices of `height` rows of `width`
/// pixels of `format`; row `y` of slice `z` starts at byte
/// `offset + z * slice_stride + y * row_stride` and holds `width` packed pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PackedLayout {
    /// Bytes before the first row of slice 0.
    pub offset: usize,
    /// Pixels per row.
    pub width: u64,
    /// Rows per slice.
    pub height: u64,
    /// Slices.
    pub depth: u64,
    /// Pixel layout (all bands).
    pub format: PixelFormat,
    /// Bytes from one row to the next.
    pub row_stride: usize,
    /// Bytes from one slice to the next.
    pub slice_stride: usize,
}

impl PackedLayout {
    /// Slices of rows packed one after the other, starting `offset` bytes in.
    pub fn contiguous(
        offset: usize,
        (width, height, depth): (u64, u64, u64),
        format: PixelFormat,
    ) -> PackedLayout {
        let row_stride = width as usize * format.bytes_per_pixel();
        PackedLayout {
            offset,
            width,
            height,
            depth,
            format,
            row_stride,
            slice_stride: row_stride * height as usize,
        }
    }

    /// Bytes a buffer needs to hold every slice (None when that overflows).
    pub fn required_len(&self) -> Option<usize> {
        if self.width == 0 || self.height == 0 || self.depth == 0 {
            return Some(self.offset);
        }
        let last_row = (self.depth as usize - 1)
            .checked_mul(self.slice_stride)?
            .checked_add((self.height as usize - 1).checked_mul(self.row_stride)?)?;
        let row = (self.width as usize).checked_mul(self.format.bytes_per_pixel())?;
        self.offset.checked_add(last_row)?.checked_add(row)
    }

    /// Copies `rect` of slice `z` of `bytes` (laid out as `self`) with `channels` into `out`
    /// (arguments checked by [`super::read_region`]). A buffer shorter than the layout is an
    /// `Error::Internal`, never a panic. Regions of [`PARALLEL_BYTES`] or more, read from
    /// outside a pool thread, are copied in row pieces by the calling thread and pool threads
    /// together (see [`PackedLayout::read_shared`]).
    pub fn read(
        &self,
        bytes: &[u8],
        z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        let row_bytes = out.width() * out.format().bytes_per_pixel();
        let threads =
            (row_bytes * out.height() / PARALLEL_BYTES).min(crate::threads::num_threads());
        // On a pool thread the work is parallel already, and a caller there may hold a lock
        // (a streamed PNG's band) that a job stolen while waiting for the pieces would take.
        if threads < 2 || rayon::current_thread_index().is_some() {
            return self.read_rows(bytes, z, rect, channels, out);
        }
        self.read_shared(bytes, (z, rect), channels, out, threads)
    }

    /// Copies `rect` of slice `z` in pieces of [`PIECE_BYTES`] taken in turn from one queue
    /// by the calling thread, which starts at once, and `threads - 1` pool threads, which
    /// join when they wake: a slow wake-up delays nothing but its own share.
    fn read_shared(
        &self,
        bytes: &[u8],
        (z, rect): (u64, Rect),
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
        threads: usize,
    ) -> Result<()> {
        let row_bytes = out.width() * out.format().bytes_per_pixel();
        let piece_rows = (PIECE_BYTES / row_bytes.max(1)).max(1);
        let pieces = Mutex::new(out.row_bands(piece_rows).into_iter().enumerate());
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        let work = || loop {
            let next = pieces.lock().ok().and_then(|mut q| q.next());
            let Some((i, mut piece)) = next else { return };
            let top = rect.top + (i * piece_rows) as u64;
            let part = Rect::from_xywh(rect.left, top, rect.width(), piece.height() as u64);
            if let Err(e) = self.read_rows(bytes, z, part, channels, &mut piece) {
                if let Ok(mut f) = failed.lock() {
                    f.get_or_insert(e);
                }
                return;
            }
        };
        crate::threads::pool()?.in_place_scope(|scope| {
            for _ in 1..threads {
                scope.spawn(|_| work());
            }
            work();
        });
        match failed.into_inner() {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(e),
            Err(_) => Err(Error::Internal("a region copy thread panicked".into())),
        }
    }

    /// [`PackedLayout::read`] on the calling thread, one row after the other.
    fn read_rows(
        &self,
        bytes: &[u8],
        z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        let bpp = self.format.bytes_per_pixel();
        let (left, span) = (rect.left as usize * bpp, rect.width() as usize * bpp);
        let slice = self.offset + z as usize * self.slice_stride;
        for (i, y) in (rect.top..rect.bottom).enumerate() {
            let start = slice + y as usize * self.row_stride + left;
            let row = bytes
                .get(start..start + span)
                .ok_or_else(|| Error::Internal("packed region outside its buffer".into()))?;
            channels.copy_row(row, out.row_mut(i), self.format.dtype.size());
        }
        Ok(())
    }
}

/// A region source over packed slices in any byte buffer `B` that keeps its bytes alive (a
/// memory map, a vector, a wrapper around a caller's array).
pub struct PackedSource<B> {
    pub(super) bytes: B,
    pub(super) layout: PackedLayout,
}

impl<B: AsRef<[u8]>> PackedSource<B> {
    /// A source over `bytes` laid out as `layout`; refuses a buffer too short for the layout.
    pub fn with_layout(bytes: B, layout: PackedLayout) -> Result<PackedSource<B>> {
        let need = layout
            .required_len()
            .ok_or_else(|| Error::invalid("packed image size overflows"))?;
        let have = bytes.as_ref().len();
        if have < need {
            return Err(Error::Mismatch(format!(
                "a {}x{}x{} {} layout needs {need} bytes, the buffer holds {have}",
                layout.width, layout.height, layout.depth, layout.format
            )));
        }
        Ok(PackedSource { bytes, layout })
    }

    /// The layout of the pixels in the buffer.
    pub fn layout(&self) -> &PackedLayout {
        &self.layout
    }
}

impl<B: AsRef<[u8]> + Send + Sync> RegionSource for PackedSource<B> {
    fn width(&self) -> u64 {
        self.layout.width
    }
    fn height(&self) -> u64 {
        self.layout.height
    }
    fn depth(&self) -> u64 {
        self.layout.depth
    }
    fn format(&self) -> PixelFormat {
        self.layout.format
    }
    fn read_slice_region(
        &self,
        z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        self.layout
            .read(self.bytes.as_ref(), z, rect, channels, out)
    }
}
