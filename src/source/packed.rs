//! Packed pixel slices in a byte buffer: the one row-copy loop behind every source whose rows
//! sit in memory as packed pixels (a mapped raw or NPY file, a decoded image, a band of
//! streamed rows, a caller's array), and [`PackedSource`], a region source over any such
//! buffer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};

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
    /// by the calling thread, which starts at once, and `threads - 1` pool jobs, which join
    /// when they wake. The caller waits only for pieces a job has taken, never for a job to
    /// start: a pool thread that wakes late (a loaded machine) delays nothing, and finds the
    /// queue empty.
    fn read_shared(
        &self,
        bytes: &[u8],
        (z, rect): (u64, Rect),
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
        threads: usize,
    ) -> Result<()> {
        let pool = crate::threads::pool()?;
        let row_bytes = out.width() * out.format().bytes_per_pixel();
        let piece_rows = (PIECE_BYTES / row_bytes.max(1)).max(1);
        let pieces = out.row_bands(piece_rows);
        let copy = Arc::new(SharedCopy {
            layout: *self,
            bytes: (bytes.as_ptr(), bytes.len()),
            channels,
            z,
            rect,
            piece_rows,
            total: pieces.len(),
            // SAFETY: the views outlive their use: see `SharedCopy`.
            pieces: Mutex::new(
                unsafe {
                    std::mem::transmute::<Vec<ImageViewMut<'_>>, Vec<ImageViewMut<'static>>>(pieces)
                }
                .into_iter()
                .enumerate(),
            ),
            progress: Mutex::new((0, None)),
            finished: Condvar::new(),
        });
        for _ in 1..threads {
            let job = Arc::clone(&copy);
            pool.spawn(move || job.work());
        }
        copy.work();
        copy.wait()
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

/// One parallel region copy, shared by the calling thread and the pool jobs helping it. The
/// caller's source bytes, channels and output are reached only through a piece taken from
/// `pieces`, and [`SharedCopy::wait`] returns only once every taken piece is finished (its
/// view dropped); since the caller works until the queue is empty, nothing borrowed is
/// reachable after it returns, and a job that starts later only sees an empty queue.
struct SharedCopy {
    layout: PackedLayout,
    bytes: (*const u8, usize),
    channels: *const Channels,
    z: u64,
    rect: Rect,
    piece_rows: usize,
    total: usize,
    pieces: Mutex<std::iter::Enumerate<std::vec::IntoIter<ImageViewMut<'static>>>>,
    /// Pieces finished, and the first error.
    progress: Mutex<(usize, Option<Error>)>,
    finished: Condvar,
}

// SAFETY: the pointers are only followed while the caller that owns their targets waits for
// the piece being copied (see `SharedCopy`); the source bytes and channels are read-only.
unsafe impl Send for SharedCopy {}
// SAFETY: as for Send; the queue and the progress are behind mutexes.
unsafe impl Sync for SharedCopy {}

impl SharedCopy {
    /// Copies pieces until the queue is empty.
    fn work(&self) {
        loop {
            let next = self.pieces.lock().ok().and_then(|mut q| q.next());
            let Some((i, mut piece)) = next else { return };
            // The piece moves into the copy and is dropped with it, before it counts as done.
            let result = catch_unwind(AssertUnwindSafe(move || {
                // SAFETY: a piece is taken, so the caller is waiting and its borrows are live.
                let (bytes, channels) = unsafe {
                    (
                        std::slice::from_raw_parts(self.bytes.0, self.bytes.1),
                        &*self.channels,
                    )
                };
                let top = self.rect.top + (i * self.piece_rows) as u64;
                let part = Rect::from_xywh(
                    self.rect.left,
                    top,
                    self.rect.width(),
                    piece.height() as u64,
                );
                self.layout
                    .read_rows(bytes, self.z, part, channels, &mut piece)
            }));
            let error = match result {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(Error::Internal("a region copy thread panicked".into())),
            };
            let Ok(mut progress) = self.progress.lock() else {
                return;
            };
            progress.0 += 1;
            if progress.1.is_none() {
                progress.1 = error;
            }
            if progress.0 == self.total {
                self.finished.notify_all();
            }
        }
    }

    /// Waits until every piece is finished; the first error of any piece.
    fn wait(&self) -> Result<()> {
        let poisoned = || Error::Internal("a region copy thread panicked".into());
        let mut progress = self.progress.lock().map_err(|_| poisoned())?;
        while progress.0 < self.total {
            progress = self.finished.wait(progress).map_err(|_| poisoned())?;
        }
        progress.1.take().map_or(Ok(()), Err)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixel::PixelType;

    /// A big region read from outside the pool finishes while every pool thread is busy:
    /// the caller copies the pieces itself and never waits for a helper job to start.
    #[test]
    fn big_read_does_not_wait_for_busy_pool_threads() {
        let format = PixelFormat::new(PixelType::U8, 3).unwrap();
        let (w, h) = (1024u64, 1024u64);
        let bytes: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
        let want = bytes.clone();
        let layout = PackedLayout::contiguous(0, (w, h, 1), format);
        let pool = crate::threads::pool().unwrap();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocked = Arc::new(Mutex::new(blocked));
        let (started, wait_started) = std::sync::mpsc::channel();
        for _ in 0..pool.current_num_threads() {
            let (blocked, started) = (Arc::clone(&blocked), started.clone());
            pool.spawn(move || {
                let _ = started.send(());
                let _ = blocked.lock().map(|r| r.recv());
            });
        }
        // One pool thread holds the receiver's lock in recv, the others wait for the lock.
        wait_started.recv().unwrap();
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = vec![0u8; want.len()];
            let mut view =
                ImageViewMut::new(&mut out, w as usize, h as usize, format, w as usize * 3)
                    .unwrap();
            let channels = Channels::all(3);
            let r = layout.read(&bytes, 0, Rect::from_xywh(0, 0, w, h), &channels, &mut view);
            let _ = done.send(r.map(|()| out == want));
        });
        let got = result.recv_timeout(std::time::Duration::from_secs(30));
        for _ in 0..pool.current_num_threads() {
            let _ = release.send(());
        }
        assert!(
            matches!(got, Ok(Ok(true))),
            "read did not finish correctly: {got:?}"
        );
    }
}
