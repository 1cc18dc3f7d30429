//! Thumbnails of images of any size: a box-filter downscale that reads the source one band of
//! rows at a time (a PNG is streamed once), so memory is a band of input rows plus one output
//! row, whatever the image size.

use std::path::Path;

use crate::codec::row_writer::RowWriter;
use crate::codec::WriteOptions;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::pixel::PixelType;
use crate::progress::Progress;
use crate::rect::Rect;
use crate::source::{self, Channels, OpenOptions, RegionSource};

/// The thumbnail size for a `width` x `height` image scaled to `target_width` columns (the
/// height keeps the aspect ratio, at least 1 row). A target wider than the image keeps it.
pub fn thumbnail_size(width: u64, height: u64, target_width: u64) -> (u64, u64) {
    let w = target_width.clamp(1, width);
    let h = ((height as u128 * w as u128 + width as u128 / 2) / width as u128).max(1) as u64;
    (w, h.min(height))
}

/// First input pixel of output pixel `i` when `n_in` pixels shrink to `n_out`.
fn edge(i: u64, n_in: u64, n_out: u64) -> u64 {
    (i as u128 * n_in as u128 / n_out as u128) as u64
}

/// Writes a box-filtered thumbnail of `input` (PNG, TIFF, NPY, EXR; uint8 or uint16) that is
/// `target_width` pixels wide to `output` (format from the extension), atomically. Each output
/// pixel is the rounded mean of the input pixels it covers.
pub fn thumbnail(
    input: &Path,
    output: &Path,
    target_width: u64,
    write: &WriteOptions,
    progress: &mut Progress<'_>,
) -> Result<(u64, u64)> {
    if target_width == 0 {
        return Err(Error::invalid("thumbnail width must be at least 1"));
    }
    let src = source::open(input, &OpenOptions::default())?;
    let (tw, th) = thumbnail_size(src.width(), src.height(), target_width);
    let mut writer = RowWriter::create(output, tw, th, src.format(), write)?;
    downscale_rows(&*src, target_width, progress, |_, row| {
        writer.write_rows(row)
    })?;
    writer.finish()?;
    Ok((tw, th))
}

/// Box-filters slice 0 of `src` (uint8 or uint16) down to `target_width` columns (see
/// [`thumbnail_size`]) and hands each output row, top to bottom, to `sink` as
/// `(y, packed row in the source's pixel format)`. Reads the source one band of rows at a
/// time, in order: memory is a band of input rows plus one output row.
pub fn downscale_rows(
    src: &dyn RegionSource,
    target_width: u64,
    progress: &mut Progress<'_>,
    mut sink: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<()> {
    if target_width == 0 {
        return Err(Error::invalid("thumbnail width must be at least 1"));
    }
    let format = src.format();
    if !matches!(format.dtype, PixelType::U8 | PixelType::U16) {
        return Err(Error::unsupported(format!(
            "thumbnails of {} images are not supported (uint8, uint16)",
            format.dtype
        )));
    }
    let (width, height) = (src.width(), src.height());
    let (tw, th) = thumbnail_size(width, height, target_width);
    let channels = Channels::all(format.channels);
    let c = format.channels;
    let sample = format.dtype.size();
    let mut row = vec![0u8; tw as usize * format.bytes_per_pixel()];
    let mut sums = vec![0u64; tw as usize * c];
    for y in 0..th {
        let (y0, y1) = (edge(y, height, th), edge(y + 1, height, th));
        let mut band = Image::new(width as usize, (y1 - y0) as usize, format)?;
        let rect = Rect::from_xywh(0, y0, width, y1 - y0);
        source::read_region(src, 0, rect, &channels, &mut band.view_mut())?;
        sums.fill(0);
        for line in band
            .data()
            .chunks_exact(width as usize * format.bytes_per_pixel())
        {
            for x in 0..tw {
                let (x0, x1) = (edge(x, width, tw), edge(x + 1, width, tw));
                for px in x0..x1 {
                    for ch in 0..c {
                        let at = (px as usize * c + ch) * sample;
                        let v = match format.dtype {
                            PixelType::U8 => line[at] as u64,
                            _ => u16::from_ne_bytes([line[at], line[at + 1]]) as u64,
                        };
                        sums[x as usize * c + ch] += v;
                    }
                }
            }
        }
        for x in 0..tw {
            let n = (edge(x + 1, width, tw) - edge(x, width, tw)) * (y1 - y0);
            for ch in 0..c {
                let i = x as usize * c + ch;
                let v = (sums[i] + n / 2) / n;
                match format.dtype {
                    PixelType::U8 => row[i] = v as u8,
                    _ => row[i * 2..i * 2 + 2].copy_from_slice(&(v as u16).to_ne_bytes()),
                }
            }
        }
        sink(y, &row)?;
        progress.report(y + 1, th)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_keep_the_aspect_ratio() {
        assert_eq!(thumbnail_size(4000, 3000, 400), (400, 300));
        assert_eq!(thumbnail_size(100, 1, 10), (10, 1));
        assert_eq!(thumbnail_size(10, 10, 50), (10, 10));
        assert_eq!(edge(3, 10, 3), 10);
    }
}
