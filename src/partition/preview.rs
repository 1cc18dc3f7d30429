//! A picture of a grid: the cells' outlines and a selection drawn over a thumbnail of the
//! image (slice 0 of a volume), streamed row by row from the thumbnail's box-filter downscale,
//! so memory stays a band of input rows plus one output row whatever the image size.

use std::ops::Range;
use std::path::Path;

use super::{Partition, Selection};
use crate::codec::row_writer::RowWriter;
use crate::codec::WriteOptions;
use crate::error::Result;
use crate::pixel::{PixelFormat, PixelType};
use crate::progress::Progress;
use crate::thumbnail::{downscale_rows, thumbnail_size};

/// Colour of cell outlines.
pub const GRID_RGB: [u8; 3] = [255, 255, 0];
/// Colour of the outlines of selected cells.
pub const SELECTED_RGB: [u8; 3] = [255, 0, 0];
/// Colour blended (half and half) into the pixels of selected cells.
pub const TINT_RGB: [u8; 3] = [255, 64, 64];

/// Cell `k`'s pixel range along one axis scaled to `n_out` thumbnail pixels (at least one).
fn scaled(range: Range<u64>, n_in: u64, n_out: u64) -> Range<u64> {
    let at = |v: u64| (v as u128 * n_out as u128 / n_in as u128) as u64;
    let start = at(range.start).min(n_out - 1);
    start..at(range.end).clamp(start + 1, n_out)
}

/// One axis of the grid in thumbnail pixels: each cell's scaled range.
fn scaled_axis(axis: &super::Axis, n_in: u64, n_out: u64) -> Vec<Range<u64>> {
    (0..axis.count())
        .map(|k| scaled(axis.range(k), n_in, n_out))
        .collect()
}

/// The first three samples of a pixel as 8-bit RGB (grey repeated; alpha and extra bands
/// dropped; 16-bit samples keep their high byte).
fn to_rgb(pixel: &[u8], format: PixelFormat) -> [u8; 3] {
    let sample = |ch: usize| match format.dtype {
        PixelType::U16 => (u16::from_ne_bytes([pixel[2 * ch], pixel[2 * ch + 1]]) >> 8) as u8,
        _ => pixel[ch],
    };
    if format.channels < 3 {
        [sample(0); 3]
    } else {
        [sample(0), sample(1), sample(2)]
    }
}

/// Writes `output` (an 8-bit RGB PNG, or any format [`RowWriter`] takes, from its extension)
/// `width` pixels wide: a thumbnail of the partition's source with every cell outlined in
/// [`GRID_RGB`] and the cells of `selection` tinted with [`TINT_RGB`] and outlined in
/// [`SELECTED_RGB`]. Volumes show slice 0 with the grid's rows and columns. Returns the
/// picture's size.
pub fn write_preview(
    partition: &Partition,
    selection: Option<&Selection>,
    output: &Path,
    width: u64,
    progress: &mut Progress<'_>,
) -> Result<(u64, u64)> {
    let src = &**partition.source();
    let (w, h) = (src.width(), src.height());
    let (tw, th) = thumbnail_size(w, h, width.max(1));
    let grid = partition.grid();
    let rows = scaled_axis(grid.rows(), h, th);
    let cols = scaled_axis(grid.cols(), w, tw);
    let rgb = PixelFormat::new(PixelType::U8, 3)?;
    let mut writer = RowWriter::create(output, tw, th, rgb, &WriteOptions::default())?;
    let format = src.format();
    let mut out = vec![0u8; tw as usize * 3];
    downscale_rows(src, width, progress, |y, row| {
        let pixels = row.chunks_exact(format.bytes_per_pixel());
        for (o, p) in out.chunks_exact_mut(3).zip(pixels) {
            o.copy_from_slice(&to_rgb(p, format));
        }
        draw_row(y, &rows, &cols, selection, &mut out);
        writer.write_rows(&out)
    })?;
    writer.finish()?;
    Ok((tw, th))
}

/// Draws the cells crossing thumbnail row `y` onto `out` (RGB): tints first, outlines over
/// them, selected outlines last so they stay visible where cells overlap.
fn draw_row(
    y: u64,
    rows: &[Range<u64>],
    cols: &[Range<u64>],
    selection: Option<&Selection>,
    out: &mut [u8],
) {
    let put = |out: &mut [u8], x: u64, rgb: [u8; 3]| {
        out[x as usize * 3..x as usize * 3 + 3].copy_from_slice(&rgb);
    };
    let crossing: Vec<(u64, &Range<u64>)> =
        (0u64..).zip(rows).filter(|(_, r)| r.contains(&y)).collect();
    let selected =
        |r: u64, c: u64| selection.is_some_and(|s| s.rows.contains(&r) && s.cols.contains(&c));
    let mut tinted = vec![false; out.len() / 3];
    for &(r, _) in &crossing {
        for (c, span) in (0u64..).zip(cols) {
            if selected(r, c) {
                span.clone().for_each(|x| tinted[x as usize] = true);
            }
        }
    }
    for (px, _) in out.chunks_exact_mut(3).zip(&tinted).filter(|(_, &t)| t) {
        for (v, t) in px.iter_mut().zip(TINT_RGB) {
            *v = ((*v as u16 + t as u16) / 2) as u8;
        }
    }
    for pass_selected in [false, true] {
        let colour = if pass_selected {
            SELECTED_RGB
        } else {
            GRID_RGB
        };
        for &(r, rspan) in &crossing {
            let edge_row = y == rspan.start || y + 1 == rspan.end;
            for (c, span) in (0u64..).zip(cols) {
                if selected(r, c) != pass_selected {
                    continue;
                }
                if edge_row {
                    span.clone().for_each(|x| put(out, x, colour));
                } else {
                    put(out, span.start, colour);
                    put(out, span.end - 1, colour);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_ranges_are_never_empty_and_stay_inside() {
        assert_eq!(scaled(0..100, 1000, 10), 0..1);
        assert_eq!(scaled(995..1000, 1000, 10), 9..10);
        assert_eq!(scaled(500..1000, 1000, 10), 5..10);
        assert_eq!(scaled(0..1, 1, 1), 0..1);
    }
}
