//! Pictures of segmentations: every segment of an `.iid` file painted in its own colour over
//! an image, or over a black canvas reaching the segments' last pixels.
//!
//! The picture is made top to bottom, one band of rows at a time: the base image is read band
//! by band (a PNG is streamed once) and each band goes to the encoder as soon as it is
//! painted, so memory is one band plus the segments that cross it, whatever the image size.
//! Segments are painted in ascending key order (a later key covers an earlier one): the
//! inside of a segment is its colour mixed half and half with the pixel below, its outline
//! (pixels with a 4-neighbour outside the segment) the pure colour.

use std::path::Path;

use super::format::BBox;
use super::mask;
use super::reader::{IidFile, Segment};
use crate::codec::row_writer::RowWriter;
use crate::codec::WriteOptions;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::pixel::{PixelFormat, PixelType};
use crate::progress::Progress;
use crate::rect::Rect;
use crate::source::{self, Channels, OpenOptions, RegionSource};

/// Rows painted and encoded at a time.
const BAND: u64 = 64;

/// What [`render`] drew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Width of the picture in pixels.
    pub width: u64,
    /// Height of the picture in pixels.
    pub height: u64,
    /// Segments with at least one pixel on the picture.
    pub segments: u64,
}

/// The colour of the segment with key `key`: hues a golden angle apart, so neighbouring keys
/// differ clearly, at three alternating brightness levels. Depends on the key alone.
pub fn segment_colour(key: u32) -> [u8; 3] {
    let hue = (f64::from(key) * 0.618_033_988_749_895).fract() * 6.0;
    let value = [1.0, 0.85, 0.7][key as usize % 3];
    let saturation = 0.85;
    let sector = hue.floor();
    let f = hue - sector;
    let (p, q, t) = (
        value * (1.0 - saturation),
        value * (1.0 - saturation * f),
        value * (1.0 - saturation * (1.0 - f)),
    );
    let (r, g, b) = match sector as u8 {
        0 => (value, t, p),
        1 => (q, value, p),
        2 => (p, value, t),
        3 => (p, q, value),
        4 => (t, p, value),
        _ => (value, p, q),
    };
    [r, g, b].map(|c| (c * 255.0).round() as u8)
}

/// Paints the segments of `file` over `base` (any image imkit reads by region: PNG, TIFF,
/// NPY, EXR with uint8 or uint16 samples; grey is shown as grey, alpha is dropped) or, without
/// a base, over a black canvas reaching the last row and column of any segment, and writes the RGB uint8
/// picture to `output` (format from the extension), atomically. Segments outside the base
/// image are clipped.
pub fn render(
    file: &IidFile,
    base: Option<&Path>,
    output: &Path,
    write: &WriteOptions,
    progress: &mut Progress<'_>,
) -> Result<Rendered> {
    let base = base
        .map(|path| source::open(path, &OpenOptions::default()))
        .transpose()?;
    let (width, height) = match &base {
        Some(src) => (src.width(), src.height()),
        None => extent(file)?,
    };
    let mut pending = segments_by_top(file, width, height)?;
    let segments = pending.len() as u64;
    pending.reverse();
    let rgb = PixelFormat::new(PixelType::U8, 3)?;
    let mut writer = RowWriter::create(output, width, height, rgb, write)?;
    let mut active: Vec<Segment<'_>> = Vec::new();
    let mut rows = RowScratch::default();
    let mut top = 0;
    while top < height {
        let bottom = (top + BAND).min(height);
        while pending
            .last()
            .is_some_and(|&(minr, _)| u64::from(minr) < bottom)
        {
            let (_, key) = pending.pop().expect("checked by last()");
            active.push(file.segment(key)?);
        }
        active.retain(|s| u64::from(s.bbox.maxr) > top);
        active.sort_unstable_by_key(|s| s.key);
        let mut band = match &base {
            Some(src) => base_band(&**src, top, bottom)?,
            None => Image::new(width as usize, (bottom - top) as usize, rgb)?,
        };
        for segment in &active {
            paint(segment, top, &mut band, &mut rows);
        }
        writer.write_rows(band.data())?;
        progress.report(bottom, height)?;
        top = bottom;
    }
    writer.finish()?;
    Ok(Rendered {
        width,
        height,
        segments,
    })
}

/// The canvas of a file drawn without a base image: up to the last row and column of any
/// region (boxes of segments need not be tight; region boxes hold the pixels, so a few bytes
/// cannot claim a huge canvas).
fn extent(file: &IidFile) -> Result<(u64, u64)> {
    let (mut width, mut height) = (0, 0);
    for key in 0..file.len() as u32 {
        for region in file.segment(key)?.regions() {
            let b = region.bbox;
            if b.height() > 0 && b.width() > 0 {
                width = width.max(u64::from(b.maxc));
                height = height.max(u64::from(b.maxr));
            }
        }
    }
    if width == 0 || height == 0 {
        return Err(Error::invalid(
            "the .iid file has no segment with pixels to draw; give a base image for a blank \
             picture of its size",
        ));
    }
    Ok((width, height))
}

/// (first row, key) of every segment whose box reaches into the canvas, top first.
fn segments_by_top(file: &IidFile, width: u64, height: u64) -> Result<Vec<(u16, u32)>> {
    let mut order = Vec::new();
    crate::limits::reserve(&mut order, file.len(), "the segments to draw")?;
    for key in 0..file.len() as u32 {
        let b = file.segment_head(key)?.bbox;
        if b.height() > 0
            && b.width() > 0
            && u64::from(b.minr) < height
            && u64::from(b.minc) < width
        {
            order.push((b.minr, key));
        }
    }
    order.sort_unstable();
    Ok(order)
}

/// Rows `top..bottom` of the base image as RGB uint8.
fn base_band(src: &dyn RegionSource, top: u64, bottom: u64) -> Result<Image> {
    let format = src.format();
    let sample = match format.dtype {
        PixelType::U8 => 1,
        PixelType::U16 => 2,
        other => {
            return Err(Error::unsupported(format!(
                "segments are drawn over uint8 or uint16 images, not {other}"
            )))
        }
    };
    let width = src.width();
    let mut band = Image::new(width as usize, (bottom - top) as usize, format)?;
    let rect = Rect::from_xywh(0, top, width, bottom - top);
    source::read_region(
        src,
        0,
        rect,
        &Channels::all(format.channels),
        &mut band.view_mut(),
    )?;
    let mut rgb = Image::new(
        band.width(),
        band.height(),
        PixelFormat::new(PixelType::U8, 3)?,
    )?;
    let channels = format.channels;
    // The most significant byte of each sample (native byte order for uint16).
    let high = if sample == 2 && cfg!(target_endian = "little") {
        1
    } else {
        0
    };
    for (out, px) in rgb
        .data_mut()
        .chunks_exact_mut(3)
        .zip(band.data().chunks_exact(channels * sample))
    {
        let s = |c: usize| px[c * sample + high];
        out.copy_from_slice(&if channels < 3 {
            [s(0); 3]
        } else {
            [s(0), s(1), s(2)]
        });
    }
    Ok(rgb)
}

/// One region row and its two neighbours, unpacked to one byte per pixel.
#[derive(Default)]
struct RowScratch {
    above: Vec<u8>,
    row: Vec<u8>,
    below: Vec<u8>,
}

/// Unpacks row `i` of a region box `b` (0 past either end) into `out`.
fn region_row(bits: &[u8], b: &BBox, i: i64, out: &mut Vec<u8>) {
    let w = b.width();
    out.clear();
    out.resize(w, 0);
    if (0..b.height() as i64).contains(&i) {
        mask::unpack_bits(bits, i as u64 * w as u64, out);
    }
}

/// Paints `segment` onto `band`, whose first row is image row `top`.
fn paint(segment: &Segment<'_>, top: u64, band: &mut Image, rows: &mut RowScratch) {
    let colour = segment_colour(segment.key);
    let (width, bottom) = (band.width() as u64, top + band.height() as u64);
    let stride = band.width() * 3;
    let pixels = band.data_mut();
    for region in segment.regions() {
        let b = region.bbox;
        let (first, last) = (u64::from(b.minr).max(top), u64::from(b.maxr).min(bottom));
        for y in first..last {
            let i = (y - u64::from(b.minr)) as i64;
            region_row(region.bits, &b, i - 1, &mut rows.above);
            region_row(region.bits, &b, i, &mut rows.row);
            region_row(region.bits, &b, i + 1, &mut rows.below);
            let line = &mut pixels[(y - top) as usize * stride..][..stride];
            let w = rows.row.len();
            for x in (0..w).filter(|&x| rows.row[x] != 0) {
                let column = u64::from(b.minc) + x as u64;
                if column >= width {
                    break;
                }
                let outline = x == 0
                    || x + 1 == w
                    || rows.row[x - 1] == 0
                    || rows.row[x + 1] == 0
                    || rows.above[x] == 0
                    || rows.below[x] == 0;
                let px = &mut line[column as usize * 3..][..3];
                for (p, c) in px.iter_mut().zip(colour) {
                    *p = if outline {
                        c
                    } else {
                        ((u16::from(*p) + u16::from(c)) / 2) as u8
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_fixed_and_neighbours_differ() {
        assert_eq!(segment_colour(0), [255, 38, 38]);
        for key in 0..1000 {
            assert_ne!(segment_colour(key), segment_colour(key + 1), "key {key}");
        }
    }
}
