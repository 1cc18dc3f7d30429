//! Blending overlapping tiles into rows of an output image: the weights and the weighted mean
//! shared by [`super::stitch`] (tiles from files) and [`crate::pipeline`] (tiles from a
//! function), so both give the same bytes for the same tiles.
//!
//! Every pixel is accumulated over its tiles in the caller's order (grid order: row, then
//! column), whatever the thread count. With equal contributions every blend mode gives back
//! the value exactly (integer samples are rounded to nearest after normalising by the sum of
//! weights, which is exact when all contributions are equal).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::image::Image;
use crate::partition::Stride;
use crate::pixel::{PixelFormat, PixelType};
use crate::rect::Rect;

/// How overlapping tiles combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Blend {
    /// Later tiles (grid order) replace earlier ones.
    #[default]
    Overwrite,
    /// Plain mean of the overlapping tiles.
    Average,
    /// Linear feather: weights ramp from the tile's inner edges over the overlap width
    /// (cell - step); edges on the image border are not ramped.
    Linear,
    /// Gaussian weights centred on each tile, sigma = a quarter of the tile size per axis.
    Gaussian,
}

impl Blend {
    /// Parses `overwrite`, `average`, `linear` or `gaussian`.
    pub fn parse(text: &str) -> Result<Blend> {
        match text.to_ascii_lowercase().as_str() {
            "overwrite" => Ok(Blend::Overwrite),
            "average" | "mean" => Ok(Blend::Average),
            "linear" | "feather" => Ok(Blend::Linear),
            "gaussian" => Ok(Blend::Gaussian),
            _ => Err(Error::invalid(format!(
                "blend mode must be overwrite, average, linear or gaussian (got {text:?})"
            ))),
        }
    }

    /// Every mode.
    pub const ALL: [Blend; 4] = [
        Blend::Overwrite,
        Blend::Average,
        Blend::Linear,
        Blend::Gaussian,
    ];

    /// Checks that tiles of `dtype` can be blended in this mode (overwrite takes any type;
    /// the weighted modes take uint8, uint16 and float32).
    pub fn check_dtype(self, dtype: PixelType) -> Result<()> {
        if self != Blend::Overwrite
            && !matches!(dtype, PixelType::U8 | PixelType::U16 | PixelType::F32)
        {
            return Err(Error::unsupported(format!(
                "blending {dtype} tiles is not supported (uint8, uint16, float32; or use overwrite)"
            )));
        }
        Ok(())
    }
}

/// The overlap in pixels of consecutive cells of `cell` pixels at `stride` (0 with gaps).
pub fn overlap(cell: u64, stride: Stride) -> f64 {
    (cell as f64 - stride.step(cell)).max(0.0)
}

/// Weights along one axis for a tile covering `start..end` of an image of `extent` pixels.
pub(super) fn axis_weights(
    blend: Blend,
    start: u64,
    end: u64,
    extent: u64,
    overlap: f64,
) -> Vec<f32> {
    let n = (end - start) as usize;
    match blend {
        Blend::Overwrite | Blend::Average => vec![1.0; n],
        Blend::Linear => (0..n)
            .map(|i| {
                let mut w = 1.0f64;
                if overlap > 0.0 {
                    if start > 0 {
                        w = w.min((i as f64 + 0.5) / overlap);
                    }
                    if end < extent {
                        w = w.min(((n - 1 - i) as f64 + 0.5) / overlap);
                    }
                }
                w as f32
            })
            .collect(),
        Blend::Gaussian => {
            let mid = (n as f64 - 1.0) / 2.0;
            let sigma = (n as f64 / 4.0).max(0.5);
            (0..n)
                .map(|i| (-((i as f64 - mid).powi(2)) / (2.0 * sigma * sigma)).exp() as f32)
                .collect()
        }
    }
}

/// A tile placed on the output with its per-axis weights. `rect` may reach past the output
/// (padded cells); only the part inside is used.
pub struct BlendTile {
    rect: Rect,
    image: Image,
    wx: Vec<f32>,
    wy: Vec<f32>,
}

impl BlendTile {
    /// Places `image` (of `rect`'s size) at `rect` on a `width` x `height` output whose cells
    /// overlap by `overlap` = (rows, columns) pixels, with the weights of `blend`.
    pub fn new(
        image: Image,
        rect: Rect,
        blend: Blend,
        (width, height): (u64, u64),
        overlap: (f64, f64),
    ) -> BlendTile {
        BlendTile {
            wx: axis_weights(blend, rect.left, rect.right, width, overlap.1),
            wy: axis_weights(blend, rect.top, rect.bottom, height, overlap.0),
            rect,
            image,
        }
    }

    /// The same tile with every weight multiplied by `weight` (its weight along the depth
    /// axis, for one slice of a 3-D tile).
    pub fn with_depth_weight(mut self, weight: f32) -> BlendTile {
        if weight != 1.0 {
            self.wy.iter_mut().for_each(|w| *w *= weight);
        }
        self
    }

    /// The rectangle the tile's remaining rows cover.
    pub fn rect(&self) -> Rect {
        self.rect
    }

    /// Forgets the rows above `y` (already composed), keeping the weights of the others.
    /// Returns false when no row is left.
    pub fn drop_rows_above(&mut self, y: u64) -> Result<bool> {
        if y >= self.rect.bottom {
            return Ok(false);
        }
        if y <= self.rect.top {
            return Ok(true);
        }
        let skip = (y - self.rect.top) as usize;
        let (w, h) = (self.image.width(), self.image.height());
        let row_bytes = w * self.image.format().bytes_per_pixel();
        let mut rest = self.image.data()[skip * row_bytes..].to_vec();
        rest.shrink_to_fit();
        self.image = Image::from_vec(w, h - skip, self.image.format(), rest)?;
        self.wy.drain(..skip);
        self.rect.top = y;
        Ok(true)
    }
}

fn get(dtype: PixelType, bytes: &[u8]) -> f32 {
    match dtype {
        PixelType::U8 => bytes[0] as f32,
        PixelType::U16 => u16::from_ne_bytes([bytes[0], bytes[1]]) as f32,
        _ => f32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
    }
}

fn put(dtype: PixelType, v: f32, out: &mut [u8]) {
    match dtype {
        PixelType::U8 => out[0] = v.round().clamp(0.0, 255.0) as u8,
        PixelType::U16 => {
            out.copy_from_slice(&(v.round().clamp(0.0, 65535.0) as u16).to_ne_bytes())
        }
        _ => out.copy_from_slice(&v.to_ne_bytes()),
    }
}

/// Computes output rows `y0..` (as many as `out` holds, packed rows of `width` pixels of
/// `format`) from `tiles`, accumulated in slice order. Pixels no tile covers get `fill` (one
/// encoded pixel). Rows are computed in parallel on the current pool.
pub fn compose_rows(
    tiles: &[&BlendTile],
    blend: Blend,
    format: PixelFormat,
    width: u64,
    y0: u64,
    fill: &[u8],
    out: &mut [u8],
) {
    let bpp = format.bytes_per_pixel();
    let row_bytes = width as usize * bpp;
    out.par_chunks_mut(row_bytes)
        .enumerate()
        .for_each(|(i, row)| {
            let y = y0 + i as u64;
            let over: Vec<&BlendTile> = tiles
                .iter()
                .copied()
                .filter(|t| t.rect.top <= y && y < t.rect.bottom)
                .collect();
            for px in row.chunks_exact_mut(bpp) {
                px.copy_from_slice(fill);
            }
            if blend == Blend::Overwrite {
                for t in over {
                    let (l, r) = (t.rect.left, t.rect.right.min(width));
                    let src = t.image.view().row((y - t.rect.top) as usize);
                    row[l as usize * bpp..r as usize * bpp]
                        .copy_from_slice(&src[..(r - l) as usize * bpp]);
                }
                return;
            }
            weighted_row(&over, format, width, y, row);
        });
}

/// One row of the weighted mean, as `base + sum(w * (v - base)) / sum(w)`, `base` being the
/// first tile's sample: where every tile holds the same value the result is that value
/// exactly, for float samples too (a plain `sum(w * v) / sum(w)` can be off by an ulp).
/// Runs covered by a single tile are that tile's pixels (the formula gives them exactly).
fn weighted_row(over: &[&BlendTile], format: PixelFormat, width: u64, y: u64, row: &mut [u8]) {
    let bpp = format.bytes_per_pixel();
    let sample = format.dtype.size();
    let c = format.channels;
    let w = width as usize;
    let mut count = vec![0u16; w];
    for t in over {
        for n in &mut count[t.rect.left as usize..t.rect.right.min(width) as usize] {
            *n = n.saturating_add(1);
        }
    }
    // Single-contributor runs: plain copies.
    for t in over {
        let src = t.image.view().row((y - t.rect.top) as usize);
        let (l, r) = (t.rect.left as usize, t.rect.right.min(width) as usize);
        let mut x = l;
        while x < r {
            if count[x] != 1 {
                x += 1;
                continue;
            }
            let start = x;
            while x < r && count[x] == 1 {
                x += 1;
            }
            row[start * bpp..x * bpp].copy_from_slice(&src[(start - l) * bpp..(x - l) * bpp]);
        }
    }
    let mut base = vec![0f32; w * c];
    let mut acc = vec![0f32; w * c];
    let mut wsum = vec![0f32; w];
    let mut seen = vec![false; w];
    for t in over {
        let wy = t.wy[(y - t.rect.top) as usize];
        let src = t.image.view().row((y - t.rect.top) as usize);
        for x in t.rect.left as usize..t.rect.right.min(width) as usize {
            if count[x] < 2 {
                continue;
            }
            let k = x - t.rect.left as usize;
            let wt = t.wx[k] * wy;
            wsum[x] += wt;
            let first = !std::mem::replace(&mut seen[x], true);
            for ch in 0..c {
                let at = (k * c + ch) * sample;
                let v = get(format.dtype, &src[at..at + sample]);
                if first {
                    base[x * c + ch] = v;
                }
                acc[x * c + ch] += wt * (v - base[x * c + ch]);
            }
        }
    }
    for x in (0..w).filter(|&x| count[x] >= 2) {
        let wt = wsum[x];
        for ch in 0..c {
            let i = x * c + ch;
            let at = i * sample;
            // Weights are positive, so wt > 0; the guard only keeps the fill otherwise.
            if wt > 0.0 {
                put(
                    format.dtype,
                    base[i] + acc[i] / wt,
                    &mut row[at..at + sample],
                );
            }
        }
    }
}
