//! Stitching: rebuilding an image from the tiles a [`Manifest`] lists, blending overlaps.
//!
//! The output is produced in bands of rows: only the tiles touching the current band are held
//! (decoded in parallel on the library pool when the band first reaches them, dropped once it
//! has passed them), and each finished band goes straight to the encoder (PNG streams), so a
//! 16384² image needs memory for a couple of rows of tiles, not the whole image.
//!
//! Every pixel is accumulated over its tiles in the manifest's order, whatever the thread
//! count, so the bytes never depend on it. With unmodified tiles every blend mode gives back
//! the source exactly (integer samples are rounded to nearest after normalising by the sum of
//! weights, which is exact when all contributions are equal).

use std::path::Path;

use rayon::prelude::*;

use super::manifest::Manifest;
use crate::codec::{self, png::PngWriter, Format, WriteOptions};
use crate::error::{Error, Result};
use crate::geom::Rect;
use crate::image::Image;
use crate::partition::Stride;
use crate::pixel::{PixelFormat, PixelType};
use crate::progress::Progress;

/// How overlapping tiles combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Blend {
    /// Later tiles (manifest order) replace earlier ones.
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
}

/// Stitching options.
#[derive(Clone, Debug)]
pub struct StitchOptions {
    /// Blend mode.
    pub blend: Blend,
    /// Encoder options of the output.
    pub write: WriteOptions,
    /// Which slice of a volume manifest to rebuild (0 for images).
    pub slice: u64,
    /// Output rows per band.
    pub band_rows: u64,
}

impl Default for StitchOptions {
    fn default() -> Self {
        StitchOptions {
            blend: Blend::Overwrite,
            write: WriteOptions::default(),
            slice: 0,
            band_rows: 256,
        }
    }
}

/// A decoded tile with its per-axis weights.
struct Tile {
    rect: Rect,
    image: Image,
    wx: Vec<f32>,
    wy: Vec<f32>,
}

fn overlap(cell: u64, stride: Stride) -> f64 {
    (cell as f64 - stride.step(cell)).max(0.0)
}

/// Weights along one axis for a tile covering `start..end` of an image of `extent` pixels.
fn axis_weights(blend: Blend, start: u64, end: u64, extent: u64, overlap: f64) -> Vec<f32> {
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

/// Computes output rows `y0..y0 + rows` into `out` (packed rows of `width` pixels).
fn compose_band(
    tiles: &[&Tile],
    blend: Blend,
    format: PixelFormat,
    width: u64,
    y0: u64,
    out: &mut [u8],
) {
    let bpp = format.bytes_per_pixel();
    let sample = format.dtype.size();
    let c = format.channels;
    let row_bytes = width as usize * bpp;
    out.par_chunks_mut(row_bytes)
        .enumerate()
        .for_each(|(i, row)| {
            let y = y0 + i as u64;
            let over = tiles
                .iter()
                .filter(|t| t.rect.top <= y && y < t.rect.bottom);
            if blend == Blend::Overwrite {
                row.fill(0);
                for t in over {
                    let (l, r) = (t.rect.left, t.rect.right.min(width));
                    let src = t.image.view().row((y - t.rect.top) as usize);
                    row[l as usize * bpp..r as usize * bpp]
                        .copy_from_slice(&src[..(r - l) as usize * bpp]);
                }
                return;
            }
            // Weighted mean as `base + sum(w * (v - base)) / sum(w)`, `base` being the first
            // tile's sample: where every tile holds the same value the result is that value
            // exactly, for float samples too (a plain `sum(w * v) / sum(w)` can be off by an ulp).
            let mut base = vec![0f32; width as usize * c];
            let mut acc = vec![0f32; width as usize * c];
            let mut wsum = vec![0f32; width as usize];
            let mut seen = vec![false; width as usize];
            for t in over {
                let wy = t.wy[(y - t.rect.top) as usize];
                let src = t.image.view().row((y - t.rect.top) as usize);
                for x in t.rect.left..t.rect.right.min(width) {
                    let (k, x) = ((x - t.rect.left) as usize, x as usize);
                    let w = t.wx[k] * wy;
                    wsum[x] += w;
                    let first = !std::mem::replace(&mut seen[x], true);
                    for ch in 0..c {
                        let at = (k * c + ch) * sample;
                        let v = get(format.dtype, &src[at..at + sample]);
                        if first {
                            base[x * c + ch] = v;
                        }
                        acc[x * c + ch] += w * (v - base[x * c + ch]);
                    }
                }
            }
            for (x, &w) in wsum.iter().enumerate() {
                for ch in 0..c {
                    let i = x * c + ch;
                    let v = if w > 0.0 { base[i] + acc[i] / w } else { 0.0 };
                    let at = i * sample;
                    put(format.dtype, v, &mut row[at..at + sample]);
                }
            }
        });
}

/// Rebuilds the image of the manifest at `manifest_path` into `out` (format from its
/// extension; PNG output is streamed in bands).
pub fn stitch(
    manifest_path: &Path,
    out: &Path,
    options: &StitchOptions,
    progress: &mut Progress<'_>,
) -> Result<()> {
    let manifest = Manifest::read(manifest_path)?;
    let dir = manifest_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    stitch_manifest(&manifest, dir, out, options, progress)
}

/// Rebuilds the image of `manifest` (tile files relative to `tile_dir`) into `out`.
pub fn stitch_manifest(
    manifest: &Manifest,
    tile_dir: &Path,
    out: &Path,
    options: &StitchOptions,
    progress: &mut Progress<'_>,
) -> Result<()> {
    let format = manifest.format;
    if options.blend != Blend::Overwrite
        && !matches!(
            format.dtype,
            PixelType::U8 | PixelType::U16 | PixelType::F32
        )
    {
        return Err(Error::unsupported(format!(
            "blending {} tiles is not supported (uint8, uint16, float32; or use overwrite)",
            format.dtype
        )));
    }
    if options.slice >= manifest.depth {
        return Err(Error::OutOfBounds(format!(
            "slice {} does not exist (the manifest has {})",
            options.slice, manifest.depth
        )));
    }
    let (width, height) = (manifest.width, manifest.height);
    let band_rows = options.band_rows.max(1);
    let (oy, ox) = (
        overlap(manifest.cell.0, manifest.stride.0),
        overlap(manifest.cell.1, manifest.stride.1),
    );
    // Fixed accumulation order: manifest order. Activation order: by top edge.
    let entries: Vec<_> = manifest
        .tiles
        .iter()
        .filter(|t| t.z == options.slice)
        .collect();
    let mut by_top: Vec<usize> = (0..entries.len()).collect();
    by_top.sort_by_key(|&i| (entries[i].rect.top, i));
    let mut next_to_load = 0;
    let mut active: Vec<(usize, Tile)> = Vec::new();
    let load = |i: usize| -> Result<(usize, Tile)> {
        let e = entries[i];
        let path = tile_dir.join(&e.file);
        // The header is checked before any pixel is decoded (tiles are untrusted input).
        let info = codec::probe(&path)?;
        if info.format != format {
            return Err(Error::Mismatch(format!(
                "{}: tile is {}, the manifest says {format}",
                path.display(),
                info.format
            )));
        }
        if info.width != e.rect.width() || info.height != e.rect.height() {
            return Err(Error::Mismatch(format!(
                "{}: tile is {}x{}, the manifest says {}x{}",
                path.display(),
                info.width,
                info.height,
                e.rect.width(),
                e.rect.height()
            )));
        }
        let image = codec::read_image(&path)?;
        if (image.width() as u64, image.height() as u64, image.format())
            != (info.width, info.height, info.format)
        {
            return Err(Error::format(format!(
                "{}: tile changed while being read",
                path.display()
            )));
        }
        let r = e.rect;
        Ok((
            i,
            Tile {
                rect: r,
                wx: axis_weights(options.blend, r.left, r.right, width, ox),
                wy: axis_weights(options.blend, r.top, r.bottom, height, oy),
                image,
            },
        ))
    };
    let is_png = codec::output_format(out)? == Format::Png;
    let file = if is_png {
        Some(codec::atomic::AtomicFile::create(out)?)
    } else {
        None
    };
    let mut writer = match &file {
        Some(f) => Some(PngWriter::new(
            f.unbuffered()?,
            &out.display().to_string(),
            width as usize,
            height as usize,
            format,
            options.write.png_compression,
            &codec::png::PngMetadata::default(),
        )?),
        None => None,
    };
    let mut whole = if is_png {
        None
    } else {
        Some(Image::new(width as usize, height as usize, format)?)
    };
    let row_bytes = width as usize * format.bytes_per_pixel();
    {
        let mut pending: Option<Image> = None;
        let mut y0 = 0;
        while y0 < height || pending.is_some() {
            let y1 = (y0 + band_rows).min(height);
            // Tiles reaching this band, decoded in parallel; tiles above it dropped.
            let mut newly = Vec::new();
            while next_to_load < by_top.len() && entries[by_top[next_to_load]].rect.top < y1 {
                newly.push(by_top[next_to_load]);
                next_to_load += 1;
            }
            active.retain(|(_, t)| t.rect.bottom > y0);
            let loaded: Vec<_> = crate::threads::install(|| {
                newly.par_iter().map(|&i| load(i)).collect::<Result<_>>()
            })??;
            active.extend(loaded);
            active.sort_by_key(|(i, _)| *i);
            let tiles: Vec<&Tile> = active.iter().map(|(_, t)| t).collect();
            let compute = |y0: u64, y1: u64| -> Result<Option<Image>> {
                if y0 >= height {
                    return Ok(None);
                }
                let mut band = Image::new(width as usize, (y1 - y0) as usize, format)?;
                compose_band(&tiles, options.blend, format, width, y0, band.data_mut());
                Ok(Some(band))
            };
            // Encode the previous band while this one is computed.
            let emit = |band: Option<Image>,
                        w: &mut Option<PngWriter<std::fs::File>>,
                        whole: &mut Option<Image>,
                        at: u64|
             -> Result<()> {
                let Some(band) = band else { return Ok(()) };
                if let Some(w) = w.as_mut() {
                    for row in band.data().chunks_exact(row_bytes) {
                        w.write_row(row)?;
                    }
                } else if let Some(img) = whole.as_mut() {
                    let start = at as usize * row_bytes;
                    img.data_mut()[start..start + band.data().len()].copy_from_slice(band.data());
                }
                Ok(())
            };
            let prev_at = y0.saturating_sub(band_rows);
            let (done, next) = crate::threads::install(|| {
                rayon::join(
                    || emit(pending.take(), &mut writer, &mut whole, prev_at),
                    || compute(y0, y1),
                )
            })?;
            done?;
            pending = next?;
            progress.report(y0.min(height), height)?;
            y0 = y1.max(y0 + band_rows);
        }
    }
    match (writer, file, whole) {
        (Some(w), Some(f), _) => {
            w.finish()?;
            f.commit()
        }
        (_, _, Some(img)) => codec::write_image(out, &img.view(), &options.write),
        _ => Err(Error::Internal("stitch output lost".into())),
    }
}
