//! Writing an image top to bottom, a few rows at a time, for work that produces its output
//! in bands (stitching, the tile pipeline).
//!
//! PNG and NPY stream: rows go straight to the encoder or the file, so memory stays at a band
//! whatever the image size. TIFF pages and EXR images are assembled in memory and encoded when
//! complete (their encoders here take whole images). Volumes (several slices, rows of slice 0
//! first) go to a multi-page TIFF (one page in memory at a time) or a `(d, h, w[, c])` NPY
//! (streamed). Every file is written atomically: nothing appears at the path unless
//! [`RowWriter::finish`] succeeds.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::atomic::AtomicFile;
use super::npy::NpyHeader;
use super::png::{PngMetadata, PngWriter};
use super::tiff::TiffPages;
use super::{output_format, write_image_as, Format, WriteOptions};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::pixel::PixelFormat;

enum Target {
    Png(Box<PngWriter<File>>, AtomicFile),
    Npy(AtomicFile, usize),
    /// TIFF: the page being filled, the pages written so far.
    Pages(Image, TiffPages<BufWriter<File>>, AtomicFile),
    Whole(Image, Format, PathBuf, WriteOptions),
}

/// An image or volume file being written row by row (format from the path's extension).
pub struct RowWriter {
    target: Target,
    row_bytes: usize,
    rows_done: usize,
    /// Rows of one slice.
    height: usize,
    /// Slices.
    depth: usize,
}

impl RowWriter {
    /// Starts `path` for a `width` x `height` image of `format`; refuses formats that cannot
    /// hold the pixels exactly before anything is written.
    pub fn create(
        path: &Path,
        width: u64,
        height: u64,
        format: PixelFormat,
        options: &WriteOptions,
    ) -> Result<RowWriter> {
        RowWriter::create_volume(path, width, height, 1, format, options)
    }

    /// Starts `path` for a volume of `depth` slices of `width` x `height` (one slice is an
    /// image); rows come slice after slice. Volumes go to TIFF (pages) or NPY only.
    pub fn create_volume(
        path: &Path,
        width: u64,
        height: u64,
        depth: u64,
        format: PixelFormat,
        options: &WriteOptions,
    ) -> Result<RowWriter> {
        let file_format = output_format(path)?;
        let named = |e: Error| Error::unsupported(format!("{}: {e}", path.display()));
        file_format.check_lossless(format).map_err(named)?;
        if depth > 1 && !matches!(file_format, Format::Tiff | Format::Npy) {
            return Err(named(super::one_image_format(file_format, depth)));
        }
        let too_big = || Error::invalid(format!("{width}x{height} is too large for memory"));
        let (w, h, d) = (
            usize::try_from(width).map_err(|_| too_big())?,
            usize::try_from(height).map_err(|_| too_big())?,
            usize::try_from(depth).map_err(|_| too_big())?,
        );
        let row_bytes = w
            .checked_mul(format.bytes_per_pixel())
            .ok_or_else(too_big)?;
        let target = match file_format {
            Format::Png => {
                let file = AtomicFile::create(path)?;
                let name = path.display().to_string();
                let writer = PngWriter::new(
                    file.unbuffered()?,
                    &name,
                    w,
                    h,
                    format,
                    options.png_compression,
                    &PngMetadata::default(),
                )?;
                Target::Png(Box::new(writer), file)
            }
            Format::Npy => {
                let mut file = AtomicFile::create(path)?;
                let mut shape = crate::array::image_shape(w, h, format.channels);
                if d > 1 {
                    shape.insert(0, d);
                }
                file.write_all(&NpyHeader::encode(format.dtype, &shape))
                    .map_err(|e| Error::io(path, e))?;
                Target::Npy(file, format.dtype.size())
            }
            Format::Tiff => {
                let file = AtomicFile::create(path)?;
                let out = BufWriter::with_capacity(1 << 20, file.unbuffered()?);
                let pages = TiffPages::new(out, &path.display().to_string())?;
                Target::Pages(Image::new(w, h, format)?, pages, file)
            }
            other => Target::Whole(
                Image::new(w, h, format)?,
                other,
                path.to_path_buf(),
                options.clone(),
            ),
        };
        Ok(RowWriter {
            target,
            row_bytes,
            rows_done: 0,
            height: h,
            depth: d,
        })
    }

    /// True when rows go to the file as they come (PNG, NPY), false when the image is
    /// assembled in memory first.
    pub fn streams(&self) -> bool {
        !matches!(self.target, Target::Whole(..) | Target::Pages(..))
    }

    /// Appends whole packed rows (native byte order).
    pub fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        if rows.len() % self.row_bytes.max(1) != 0
            || self.rows_done + rows.len() / self.row_bytes.max(1) > self.height * self.depth
        {
            return Err(Error::Internal(format!(
                "row writer: {} bytes do not make whole rows within the image",
                rows.len()
            )));
        }
        match &mut self.target {
            Target::Png(writer, _) => writer.write_rows(rows)?,
            Target::Npy(file, sample) => write_little_endian(file, rows, *sample)?,
            Target::Pages(page, pages, _) => {
                // Rows may end one page and start the next.
                let mut rest = rows;
                let mut at = self.rows_done % self.height;
                while !rest.is_empty() {
                    let n = rest.len().min((self.height - at) * self.row_bytes);
                    let start = at * self.row_bytes;
                    page.data_mut()[start..start + n].copy_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    at += n / self.row_bytes;
                    if at == self.height {
                        pages.write_page(&page.view())?;
                        at = 0;
                    }
                }
            }
            Target::Whole(image, ..) => {
                let start = self.rows_done * self.row_bytes;
                image.data_mut()[start..start + rows.len()].copy_from_slice(rows);
            }
        }
        self.rows_done += rows.len() / self.row_bytes.max(1);
        Ok(())
    }

    /// Completes the file and moves it into place; every row must have been written.
    pub fn finish(self) -> Result<()> {
        if self.rows_done != self.height * self.depth {
            return Err(Error::Internal(format!(
                "row writer: {} of {} rows written",
                self.rows_done,
                self.height * self.depth
            )));
        }
        match self.target {
            Target::Png(writer, file) => {
                writer.finish()?;
                file.commit()
            }
            Target::Npy(file, _) => file.commit(),
            Target::Pages(_, pages, file) => {
                drop(pages);
                file.commit()
            }
            Target::Whole(image, format, path, options) => {
                write_image_as(&path, format, &image.view(), &options)
            }
        }
    }
}

/// NPY data is little-endian: native rows are written as they are on little-endian hosts and
/// byte-swapped per sample of `sample` bytes elsewhere.
fn write_little_endian(file: &mut AtomicFile, rows: &[u8], sample: usize) -> Result<()> {
    let result = if cfg!(target_endian = "little") || sample == 1 {
        file.write_all(rows)
    } else {
        let mut swapped = rows.to_vec();
        for s in swapped.chunks_exact_mut(sample) {
            s.reverse();
        }
        file.write_all(&swapped)
    };
    result.map_err(|e| Error::io(file.target(), e))
}
