//! PNG as a region source. PNG can only be decoded from the top, so two strategies exist:
//!
//! - [`PngCache`] (random access): the first read decodes the whole file once, streaming,
//!   into a raw file in an explicit cache directory, which is then mapped with mmap; later
//!   reads (from any thread, and from later processes: the cache file is reused while the
//!   PNG's path, size and modification time are unchanged) cost a copy of the region only.
//!   Processes that open the same PNG at once decode it once: the decode runs under an
//!   exclusive `flock` on `<cache file>.lock`, and the others wait, then map its result.
//! - [`PngStream`] (in-order work): decodes rows as reads move down the image and keeps only
//!   the rows of the current region, so memory is bounded by a band of rows. Reading above the
//!   retained band is an error (use the cache for random access).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::packed::PackedLayout;
use super::raw::RawSource;
use super::{Channels, RegionSource};
use crate::codec::atomic::AtomicFile;
use crate::codec::png::PngReader;
use crate::error::{Error, Result};
use crate::image::ImageViewMut;
use crate::pixel::PixelFormat;
use crate::rect::Rect;

/// Size (and file alignment) of the cache file's writes: one transparent huge page.
const CACHE_CHUNK: usize = 2 << 20;

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::BadState("a previous read panicked; the source is unusable".into()))
}

/// A PNG read through a decode-once raw cache file, mapped with mmap.
pub struct PngCache {
    path: PathBuf,
    cache_file: PathBuf,
    width: u64,
    height: u64,
    format: PixelFormat,
    raw: Mutex<Option<Arc<RawSource>>>,
    decodes: AtomicU64,
}

impl PngCache {
    /// Reads the PNG header; no pixel is decoded until the first read. `cache_dir` must exist.
    pub fn open(path: impl AsRef<Path>, cache_dir: impl AsRef<Path>) -> Result<PngCache> {
        let path = path.as_ref();
        let cache_dir = cache_dir.as_ref();
        if !cache_dir.is_dir() {
            return Err(Error::invalid(format!(
                "cache directory {} does not exist",
                cache_dir.display()
            )));
        }
        let reader = PngReader::open(path)?;
        let (width, height, format) = (
            reader.width() as u64,
            reader.height() as u64,
            reader.format(),
        );
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let canonical = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let mut h = Sha256::new();
        h.update(canonical.as_os_str().as_encoded_bytes());
        h.update(meta.len().to_le_bytes());
        h.update(mtime.to_le_bytes());
        let key: String = h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let cache_file = cache_dir.join(format!(
            "imkit-png-{key}-{width}x{height}-{}x{}.raw",
            format.dtype, format.channels
        ));
        Ok(PngCache {
            path: path.to_path_buf(),
            cache_file,
            width,
            height,
            format,
            raw: Mutex::new(None),
            decodes: AtomicU64::new(0),
        })
    }

    /// The cache file this source uses (it may not exist yet).
    pub fn cache_file(&self) -> &Path {
        &self.cache_file
    }

    /// How many full decodes of the PNG this source has done (0 or 1).
    pub fn decodes(&self) -> u64 {
        self.decodes.load(Ordering::Relaxed)
    }

    /// Makes sure the cache file exists and is mapped, decoding the PNG if needed.
    pub fn prepare(&self) -> Result<Arc<RawSource>> {
        let mut slot = lock(&self.raw)?;
        if let Some(raw) = slot.as_ref() {
            return Ok(raw.clone());
        }
        let dims = (self.width, self.height, 1);
        let raw = match RawSource::open(&self.cache_file, 0, dims, self.format) {
            Ok(raw) => raw,
            Err(_) => {
                let _lock = DecodeLock::acquire(&self.cache_file)?;
                match RawSource::open(&self.cache_file, 0, dims, self.format) {
                    Ok(raw) => raw,
                    Err(_) => {
                        self.decode()?;
                        RawSource::open(&self.cache_file, 0, dims, self.format)?
                    }
                }
            }
        };
        let raw = Arc::new(raw);
        *slot = Some(raw.clone());
        Ok(raw)
    }

    /// Decodes the PNG into the cache file in [`CACHE_CHUNK`]-aligned writes of whole chunks:
    /// the page cache then holds the file in 2 MiB folios, which the map later faults in one
    /// per 2 MiB instead of one per 64 KiB (measured: a 1024^2 RGB region read costs 0.44 ms
    /// of CPU from such a file, 0.86 ms from one written in 1 MiB unaligned pieces).
    fn decode(&self) -> Result<()> {
        self.decodes.fetch_add(1, Ordering::Relaxed);
        let mut reader = PngReader::open(&self.path)?;
        let file = AtomicFile::create(&self.cache_file)?;
        let row_bytes = self.width as usize * self.format.bytes_per_pixel();
        file.reserve(row_bytes as u64 * self.height);
        let mut out = file.unbuffered()?;
        let mut chunk = crate::buffer::zeroed(CACHE_CHUNK + row_bytes, "PNG cache chunk")?;
        let mut filled = 0;
        for _ in 0..reader.height() {
            reader.next_row_into(&mut chunk[filled..filled + row_bytes])?;
            filled += row_bytes;
            if filled >= CACHE_CHUNK {
                out.write_all(&chunk[..CACHE_CHUNK])
                    .map_err(|e| Error::io(&self.cache_file, e))?;
                chunk.copy_within(CACHE_CHUNK..filled, 0);
                filled -= CACHE_CHUNK;
            }
        }
        out.write_all(&chunk[..filled])
            .map_err(|e| Error::io(&self.cache_file, e))?;
        drop(out);
        file.commit()
    }
}

/// An exclusive `flock` on `<cache file>.lock`, held while one process (or source) decodes
/// the PNG into the cache file; released when dropped (the lock file itself is left, empty).
struct DecodeLock(std::fs::File);

impl DecodeLock {
    fn acquire(cache_file: &Path) -> Result<DecodeLock> {
        use std::os::fd::AsRawFd;
        let mut name = cache_file.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        loop {
            // SAFETY: flock on a descriptor this function owns; it touches no memory.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(DecodeLock(file));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::io(&path, e));
            }
        }
    }
}

impl Drop for DecodeLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in acquire; closing the file would release the lock as well.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl RegionSource for PngCache {
    fn width(&self) -> u64 {
        self.width
    }
    fn height(&self) -> u64 {
        self.height
    }
    fn format(&self) -> PixelFormat {
        self.format
    }
    fn chunk_shape(&self) -> Option<(u64, u64)> {
        Some((self.width, 1))
    }
    fn read_slice_region(
        &self,
        z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        self.prepare()?.read_slice_region(z, rect, channels, out)
    }
}

struct StreamState {
    reader: PngReader<std::io::BufReader<std::fs::File>>,
    /// Next row the decoder will hand out.
    next_y: u64,
    /// Rows `band_top..next_y` (packed) are retained in `band[..filled]`; the bytes after it
    /// are room kept from earlier bands (stale), so rows decode into it without clearing.
    band: Vec<u8>,
    filled: usize,
    band_top: u64,
}

impl StreamState {
    /// Decodes up to row `rows.end` and forgets the rows above `rows.start` (an error if
    /// they were forgotten already); returns the rows, packed (`row_bytes` each).
    fn rows(&mut self, rows: std::ops::Range<u64>, row_bytes: usize) -> Result<&[u8]> {
        if rows.start < self.band_top {
            return Err(Error::BadState(format!(
                "streaming PNG source: row {} was already passed (rows from {} are kept); \
                 read in top-to-bottom order or open the PNG with a cache directory",
                rows.start, self.band_top
            )));
        }
        let drop_rows = (rows.start.min(self.next_y) - self.band_top) as usize;
        self.band.copy_within(drop_rows * row_bytes..self.filled, 0);
        self.filled -= drop_rows * row_bytes;
        self.band_top += drop_rows as u64;
        if self.next_y < rows.start {
            self.reader.skip_rows((rows.start - self.next_y) as usize)?;
            self.next_y = rows.start;
            self.band_top = self.next_y;
        }
        let needed = self.filled + (rows.end.saturating_sub(self.next_y)) as usize * row_bytes;
        if self.band.len() < needed {
            let grow = needed - self.band.len();
            crate::limits::reserve(&mut self.band, grow, "a streaming PNG band")?;
            self.band.resize(needed, 0);
        }
        while self.next_y < rows.end {
            let end = self.filled + row_bytes;
            self.reader
                .next_row_into(&mut self.band[self.filled..end])?;
            self.filled = end;
            self.next_y += 1;
        }
        let from = (rows.start - self.band_top) as usize * row_bytes;
        Ok(&self.band[from..from + (rows.end - rows.start) as usize * row_bytes])
    }
}

/// A PNG read top to bottom, keeping only the rows of the current region.
pub struct PngStream {
    width: u64,
    height: u64,
    format: PixelFormat,
    state: Mutex<StreamState>,
}

impl PngStream {
    /// Opens a PNG and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<PngStream> {
        let reader = PngReader::open(path)?;
        Ok(PngStream {
            width: reader.width() as u64,
            height: reader.height() as u64,
            format: reader.format(),
            state: Mutex::new(StreamState {
                reader,
                next_y: 0,
                band: Vec::new(),
                filled: 0,
                band_top: 0,
            }),
        })
    }

    fn row_bytes(&self) -> usize {
        self.width as usize * self.format.bytes_per_pixel()
    }
}

impl RegionSource for PngStream {
    fn width(&self) -> u64 {
        self.width
    }
    fn height(&self) -> u64 {
        self.height
    }
    fn format(&self) -> PixelFormat {
        self.format
    }
    fn chunk_shape(&self) -> Option<(u64, u64)> {
        Some((self.width, 1))
    }
    fn read_slice_region(
        &self,
        _z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        let mut state = lock(&self.state)?;
        let band = state.rows(rect.top..rect.bottom, self.row_bytes())?;
        let local = Rect {
            top: 0,
            bottom: rect.height(),
            ..rect
        };
        let layout = PackedLayout::contiguous(0, (self.width, rect.height(), 1), self.format);
        layout.read(band, 0, local, channels, out)
    }
    /// The rows stay in the band (under its lock) while `f` runs.
    fn with_rows(
        &self,
        z: u64,
        rows: std::ops::Range<u64>,
        f: &mut dyn FnMut(&[u8]),
    ) -> Option<Result<()>> {
        let mut run = || {
            if z != 0 || rows.start > rows.end || rows.end > self.height {
                return Err(Error::OutOfBounds(format!(
                    "rows {rows:?} of slice {z} are outside the {}x{} PNG",
                    self.width, self.height
                )));
            }
            let mut state = lock(&self.state)?;
            f(state.rows(rows.clone(), self.row_bytes())?);
            Ok(())
        };
        Some(run())
    }
}
