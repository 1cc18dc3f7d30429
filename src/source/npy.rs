//! NumPy `.npy` arrays mapped with mmap: a region read touches only the samples it returns.
//!
//! Shapes: `(h, w)` and `(h, w, c)` are images; `(d, h, w, c)` is a volume of `d` slices, and
//! so is `(d, h, w)` when [`super::OpenOptions::volume`] asks for it (a 3-D array is otherwise
//! ambiguous). C-order native-endian files (what `numpy.save` writes on little-endian
//! machines) are copied row by row straight from the map; Fortran-order and byte-swapped files
//! are converted on read, a sample at a time. The header is parsed by
//! [`crate::codec::npy::NpyHeader`].
//!
//! Truncating a file while it is mapped can crash the process (SIGBUS): the length is checked
//! at open, but files must not be shrunk while a source is open.

use std::fs::File;
use std::path::Path;

use super::packed::PackedLayout;
use super::{Channels, RegionSource};
use crate::codec::npy;
use crate::error::{Error, Result};
use crate::image::ImageViewMut;
use crate::pixel::PixelFormat;
use crate::rect::Rect;

/// A memory-mapped NPY image or volume.
pub struct NpySource {
    map: memmap2::Mmap,
    /// The same file and its path, for narrow reads by `pread` (see [`NARROW`]).
    file: File,
    path: std::path::PathBuf,
    offset: usize,
    width: u64,
    height: u64,
    depth: u64,
    format: PixelFormat,
    /// Byte strides of the (slice, row, column, band) axes in the file.
    strides: [usize; 4],
    /// Samples are stored in the other byte order.
    swap: bool,
    /// C order and native byte order: rows are packed pixels.
    packed: bool,
}

impl NpySource {
    /// Maps `path`. `volume` reads a 3-D array as `(depth, height, width)` rather than
    /// `(height, width, channels)`; 4-D arrays are always `(depth, height, width, channels)`.
    pub fn open(path: impl AsRef<Path>, volume: bool) -> Result<NpySource> {
        let path = path.as_ref();
        let header = npy::probe(path)?;
        let named = |msg: String| Error::format(format!("{}: {msg}", path.display()));
        // (depth, height, width, channels) and, for each, the array axis it comes from.
        let (dims, axes): ([usize; 4], [Option<usize>; 4]) = match (&header.shape[..], volume) {
            (&[h, w], _) => ([1, h, w, 1], [None, Some(0), Some(1), None]),
            (&[h, w, c], false) => ([1, h, w, c], [None, Some(0), Some(1), Some(2)]),
            (&[d, h, w], true) => ([d, h, w, 1], [Some(0), Some(1), Some(2), None]),
            (&[d, h, w, c], _) => ([d, h, w, c], [Some(0), Some(1), Some(2), Some(3)]),
            _ => {
                return Err(Error::unsupported(format!(
                    "{}: an array of shape {:?} is neither an image ((h, w) or (h, w, c)) nor \
                     a volume ((d, h, w) or (d, h, w, c))",
                    path.display(),
                    header.shape
                )))
            }
        };
        if dims.contains(&0) {
            return Err(Error::unsupported(format!(
                "{}: an array of shape {:?} has no pixels",
                path.display(),
                header.shape
            )));
        }
        let format = PixelFormat::new(header.dtype, dims[3])?;
        let need = header
            .data_len()?
            .checked_add(header.data_offset)
            .ok_or_else(|| named("the array is too large".into()))?;
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len != need as u64 {
            return Err(named(format!(
                "invalid NPY file: shape {:?} of {} needs {need} bytes with the header, the \
                 file has {len}",
                header.shape, header.dtype
            )));
        }
        // SAFETY: the map is read-only and private to this source; the size was checked above
        // (a file truncated later by someone else is the documented hazard of mmap).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        // Element strides of the array axes, then bytes per role.
        let rank = header.shape.len();
        let mut element = vec![1usize; rank];
        if header.fortran_order {
            for i in 1..rank {
                element[i] = element[i - 1] * header.shape[i - 1];
            }
        } else {
            for i in (0..rank - 1).rev() {
                element[i] = element[i + 1] * header.shape[i + 1];
            }
        }
        let size = header.dtype.size();
        let strides = axes.map(|a| a.map_or(0, |a| element[a] * size));
        let swap = size > 1 && header.big_endian == cfg!(target_endian = "little");
        Ok(NpySource {
            map,
            file,
            path: path.to_path_buf(),
            offset: header.data_offset,
            width: dims[2] as u64,
            height: dims[1] as u64,
            depth: dims[0] as u64,
            format,
            strides,
            swap,
            packed: !swap && !header.fortran_order,
        })
    }
}

/// A packed region narrower than 1/`NARROW` of the image is read row by row with `pread`:
/// through the map, each touched row would fault in (and count in the resident set) the
/// kernel's fault-around window of 64 KiB, 64 MB for a 1024-row tile of a wide image.
const NARROW: u64 = 4;

#[cfg(unix)]
impl NpySource {
    /// Reads a packed (C-order, native) region one row span at a time with `pread`, straight
    /// into the output rows when every band is kept.
    fn read_narrow(
        &self,
        base: usize,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        let bpp = self.format.bytes_per_pixel();
        let row_bytes = self.width as usize * bpp;
        let direct = channels.is_identity();
        let span_len = if direct {
            0
        } else {
            rect.width() as usize * bpp
        };
        let mut span = vec![0u8; span_len];
        for (i, y) in (rect.top..rect.bottom).enumerate() {
            let at = base + y as usize * row_bytes + rect.left as usize * bpp;
            let dst = out.row_mut(i);
            let target = if direct { &mut *dst } else { &mut span[..] };
            pread_exact(&self.file, target, at as u64).map_err(|e| Error::io(&self.path, e))?;
            if !direct {
                channels.copy_row(&span, dst, self.format.dtype.size());
            }
        }
        Ok(())
    }
}

/// Fills `buf` from `file` at `offset` with the `pread64` system call itself. glibc's `pread`
/// is a thread-cancellation point: in a process with more than one thread (any process that
/// has used imkit's worker pool, every Python program that saved an image) its cancellation
/// bookkeeping cost 14 % of a narrow 1024² read, which makes 1,024 calls. imkit never cancels
/// threads, so the raw call loses nothing.
#[cfg(target_os = "linux")]
fn pread_exact(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    while !buf.is_empty() {
        let at = libc::off_t::try_from(offset)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: `buf` is writable memory of `buf.len()` bytes and the descriptor stays open
        // (borrowed from `file`) for the duration of the call.
        let n = unsafe {
            libc::syscall(
                libc::SYS_pread64,
                file.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
                at,
            )
        };
        match n {
            n if n < 0 => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                let n = n as usize;
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Fills `buf` from `file` at `offset` (`pread`).
#[cfg(all(unix, not(target_os = "linux")))]
fn pread_exact(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

impl RegionSource for NpySource {
    fn width(&self) -> u64 {
        self.width
    }
    fn height(&self) -> u64 {
        self.height
    }
    fn depth(&self) -> u64 {
        self.depth
    }
    fn format(&self) -> PixelFormat {
        self.format
    }
    fn chunk_shape(&self) -> Option<(u64, u64)> {
        self.packed.then_some((self.width, 1))
    }
    fn read_slice_region(
        &self,
        z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        let [sz, sy, sx, sc] = self.strides;
        let base = self.offset + z as usize * sz;
        if self.packed {
            #[cfg(unix)]
            if rect.width() * NARROW < self.width {
                return self.read_narrow(base, rect, channels, out);
            }
            let size = (self.width, self.height, 1);
            let layout = PackedLayout::contiguous(base, size, self.format);
            return layout.read(&self.map, 0, rect, channels, out);
        }
        let size = self.format.dtype.size();
        let bands = channels.bands();
        for (i, y) in (rect.top..rect.bottom).enumerate() {
            let row = base + y as usize * sy;
            let dst = out.row_mut(i);
            let pixels = dst.chunks_exact_mut(bands.len() * size);
            for (x, pixel) in (rect.left..rect.right).zip(pixels) {
                let at = row + x as usize * sx;
                for (&b, sample) in bands.iter().zip(pixel.chunks_exact_mut(size)) {
                    let from = at + b * sc;
                    sample.copy_from_slice(&self.map[from..from + size]);
                    if self.swap {
                        sample.reverse();
                    }
                }
            }
        }
        Ok(())
    }
}
