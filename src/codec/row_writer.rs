//! Writing an image top to bottom, a few rows at a time, for work that produces its output
//! in bands (stitching, the tile pipeline).
//!
//! PNG and NPY stream: rows go straight to the encoder or the file, so memory stays at a band
//! whatever the image size. TIFF and EXR are assembled in memory and encoded at the end (their
//! encoders here take whole images). Every file is written atomically: nothing appears at the
//! path unless [`RowWriter::finish`] succeeds.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::atomic::AtomicFile;
use super::npy::NpyHeader;
use super::png::{PngMetadata, PngWriter};
use super::{output_format, write_image_as, Format, WriteOptions};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::pixel::PixelFormat;

enum Target {
    Png(Box<PngWriter<File>>, AtomicFile),
    Npy(AtomicFile, usize),
    Whole(Image, Format, PathBuf, WriteOptions),
}

/// An image file being written row by row (format from the path's extension).
pub struct RowWriter {
    target: Target,
    row_bytes: usize,
    rows_done: usize,
    height: usize,
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
        let file_format = output_format(path)?;
        file_format
            .check_lossless(format)
            .map_err(|e| Error::unsupported(format!("{}: {e}", path.display())))?;
        let too_big = || Error::invalid(format!("{width}x{height} is too large for memory"));
        let (w, h) = (
            usize::try_from(width).map_err(|_| too_big())?,
            usize::try_from(height).map_err(|_| too_big())?,
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
                let shape = crate::array::image_shape(w, h, format.channels);
                file.write_all(&NpyHeader::encode(format.dtype, &shape))
                    .map_err(|e| Error::io(path, e))?;
                Target::Npy(file, format.dtype.size())
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
        })
    }

    /// True when rows go to the file as they come (PNG, NPY), false when the image is
    /// assembled in memory first.
    pub fn streams(&self) -> bool {
        !matches!(self.target, Target::Whole(..))
    }

    /// Appends whole packed rows (native byte order).
    pub fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        if rows.len() % self.row_bytes.max(1) != 0
            || self.rows_done + rows.len() / self.row_bytes.max(1) > self.height
        {
            return Err(Error::Internal(format!(
                "row writer: {} bytes do not make whole rows within the image",
                rows.len()
            )));
        }
        match &mut self.target {
            Target::Png(writer, _) => {
                for row in rows.chunks_exact(self.row_bytes) {
                    writer.write_row(row)?;
                }
            }
            Target::Npy(file, sample) => write_little_endian(file, rows, *sample)?,
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
        if self.rows_done != self.height {
            return Err(Error::Internal(format!(
                "row writer: {} of {} rows written",
                self.rows_done, self.height
            )));
        }
        match self.target {
            Target::Png(writer, file) => {
                writer.finish()?;
                file.commit()
            }
            Target::Npy(file, _) => file.commit(),
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
