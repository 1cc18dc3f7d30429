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

pub use super::blend::Blend;
use super::blend::{compose_rows, overlap, BlendTile};
use super::manifest::Manifest;
use crate::codec::{self, row_writer::RowWriter, WriteOptions};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::progress::Progress;

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
    options.blend.check_dtype(format.dtype)?;
    if options.slice >= manifest.depth {
        return Err(Error::OutOfBounds(format!(
            "slice {} does not exist (the manifest has {})",
            options.slice, manifest.depth
        )));
    }
    let (width, height) = (manifest.width, manifest.height);
    let band_rows = options.band_rows.max(1);
    let overlaps = (
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
    let mut active: Vec<(usize, BlendTile)> = Vec::new();
    let load = |i: usize| -> Result<(usize, BlendTile)> {
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
        let tile = BlendTile::new(image, e.rect, options.blend, (width, height), overlaps);
        Ok((i, tile))
    };
    let mut writer = RowWriter::create(out, width, height, format, &options.write)?;
    let fill = vec![0u8; format.bytes_per_pixel()];
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
        active.retain(|(_, t)| t.rect().bottom > y0);
        let loaded: Vec<_> =
            crate::threads::install(|| newly.par_iter().map(|&i| load(i)).collect::<Result<_>>())??;
        active.extend(loaded);
        active.sort_by_key(|(i, _)| *i);
        let tiles: Vec<&BlendTile> = active.iter().map(|(_, t)| t).collect();
        let compute = |y0: u64, y1: u64| -> Result<Option<Image>> {
            if y0 >= height {
                return Ok(None);
            }
            let mut band = Image::new(width as usize, (y1 - y0) as usize, format)?;
            compose_rows(
                &tiles,
                options.blend,
                format,
                width,
                y0,
                &fill,
                band.data_mut(),
            );
            Ok(Some(band))
        };
        // Encode the previous band while this one is computed.
        let emit = |band: Option<Image>, w: &mut RowWriter| match band {
            Some(band) => w.write_rows(band.data()),
            None => Ok(()),
        };
        let (done, next) = crate::threads::install(|| {
            rayon::join(|| emit(pending.take(), &mut writer), || compute(y0, y1))
        })?;
        done?;
        pending = next?;
        progress.report(y0.min(height), height)?;
        y0 = y1.max(y0 + band_rows);
    }
    writer.finish()
}
