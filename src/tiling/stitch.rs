//! Stitching: rebuilding an image or a volume from the tiles a [`Manifest`] lists, blending
//! overlaps (along depth too, for 3-D cells with a depth stride).
//!
//! The output is produced in bands of rows: only the tiles touching the current band are held
//! (decoded in parallel on the library pool when the band first reaches them, dropped once it
//! has passed them), and each finished band goes straight to the encoder (PNG streams), so a
//! 16384² image needs memory for a couple of rows of tiles, not the whole image. Volumes are
//! rebuilt slice after slice the same way (a 3-D tile file is read one slice at a time).
//!
//! Every pixel is accumulated over its tiles in the manifest's order, whatever the thread
//! count, so the bytes never depend on it. With unmodified tiles every blend mode gives back
//! the source exactly (integer samples are rounded to nearest after normalising by the sum of
//! weights, which is exact when all contributions are equal).

use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use super::blend::Blend;
use super::blend::{axis_weights, compose_rows, overlap, BlendTile};
use super::fragment::render_slice_name;
use super::manifest::{Manifest, TileEntry};
use crate::codec::{self, png_part, row_writer::RowWriter, Format, WriteOptions};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::progress::Progress;
use crate::rect::Rect;
use crate::source::{self, Channels, OpenOptions};

/// Stitching options.
#[derive(Clone, Debug)]
pub struct StitchOptions {
    /// Blend mode.
    pub blend: Blend,
    /// Encoder options of the output.
    pub write: WriteOptions,
    /// `None`: every slice of the manifest (a volume goes to a multi-page TIFF or a
    /// `(d, h, w[, c])` NPY, or to one file per slice when the output name holds `{z}`);
    /// `Some(z)`: slice `z` only, as an image.
    pub slice: Option<u64>,
    /// Output rows per band.
    pub band_rows: u64,
}

impl Default for StitchOptions {
    fn default() -> Self {
        StitchOptions {
            blend: Blend::Overwrite,
            write: WriteOptions::default(),
            slice: None,
            band_rows: 256,
        }
    }
}

/// Rebuilds the image or volume of the manifest at `manifest_path` into `out` (format from
/// its extension; PNG and NPY output is streamed in bands).
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

/// Rebuilds the image or volume of `manifest` (tile files relative to `tile_dir`) into `out`.
pub fn stitch_manifest(
    manifest: &Manifest,
    tile_dir: &Path,
    out: &Path,
    options: &StitchOptions,
    progress: &mut Progress<'_>,
) -> Result<()> {
    let plan = StitchPlan::new(manifest, tile_dir, options)?;
    let mut output = Output::create(out, &plan)?;
    let total = manifest.height * (plan.slices.end - plan.slices.start);
    for (i, z) in plan.slices.clone().enumerate() {
        let done = i as u64 * manifest.height;
        let writer = output.start_slice(z)?;
        let mut sink = |rows: &[u8]| writer.write_rows(rows);
        plan.stitch_rows(z, 0..manifest.height, &mut sink, |rows| {
            progress.report(done + rows, total)
        })?;
        output.end_slice()?;
    }
    progress.report(total, total)?;
    output.finish()
}

/// Stitches rows `rows` of the image of `manifest` (tile files relative to `tile_dir`), moved
/// to PNG segment boundaries ([`png_part::part_rows`]), into the PNG part file `part`; the
/// output is PNG at the fast level (`options.write.png_compression` 1). The parts of any
/// increasing list of boundaries, joined by [`png_part::join_parts`], are the file
/// [`stitch_manifest`] writes. Only the tiles touching the part are read. Returns the rows
/// the part covers.
pub fn stitch_png_part(
    manifest: &Manifest,
    tile_dir: &Path,
    rows: Range<u64>,
    part: &Path,
    options: &StitchOptions,
) -> Result<Range<u64>> {
    let plan = StitchPlan::new(manifest, tile_dir, options)?;
    if plan.slices.end - plan.slices.start != 1 || options.write.png_compression != 1 {
        return Err(Error::unsupported(
            "PNG parts hold one image at compression 1: stitch one slice, or the whole file",
        ));
    }
    let (w, h, format) = (manifest.width, manifest.height, manifest.format);
    let rows = png_part::part_rows(w, h, format, rows);
    let mut writer = png_part::PngPartWriter::create(part, w, h, format, rows.clone())?;
    let mut sink = |band: &[u8]| writer.write_rows(band);
    plan.stitch_rows(plan.slices.start, rows.clone(), &mut sink, |_| Ok(()))?;
    writer.finish()?;
    Ok(rows)
}

/// What a stitch does: the manifest, where its tiles are, the slices to rebuild, the overlaps
/// of consecutive cells per axis.
struct StitchPlan<'a> {
    manifest: &'a Manifest,
    tile_dir: &'a Path,
    options: &'a StitchOptions,
    slices: Range<u64>,
    /// Overlap in pixels along (depth, rows, columns).
    overlaps: (f64, f64, f64),
}

impl<'a> StitchPlan<'a> {
    /// Checks the options against the manifest.
    fn new(
        manifest: &'a Manifest,
        tile_dir: &'a Path,
        options: &'a StitchOptions,
    ) -> Result<StitchPlan<'a>> {
        options.blend.check_dtype(manifest.format.dtype)?;
        let slices = match options.slice {
            Some(z) if z >= manifest.depth => {
                return Err(Error::OutOfBounds(format!(
                    "slice {z} does not exist (the manifest has {})",
                    manifest.depth
                )))
            }
            Some(z) => z..z + 1,
            None => 0..manifest.depth,
        };
        let d = manifest.depth_axis;
        Ok(StitchPlan {
            manifest,
            tile_dir,
            options,
            slices,
            overlaps: (
                overlap(d.cell, d.stride),
                overlap(manifest.cell.0, manifest.stride.0),
                overlap(manifest.cell.1, manifest.stride.1),
            ),
        })
    }

    /// Rebuilds rows `rows` of slice `z` into `sink` band by band: only the tiles touching
    /// the current band are held (decoded in parallel when the band first reaches them,
    /// dropped once it has passed them), and the previous band is encoded while the next is
    /// computed. `report` gets the rows done.
    fn stitch_rows(
        &self,
        z: u64,
        rows: Range<u64>,
        sink: &mut (dyn FnMut(&[u8]) -> Result<()> + Send),
        mut report: impl FnMut(u64) -> Result<()>,
    ) -> Result<()> {
        let m = self.manifest;
        let (width, height, format) = (m.width, rows.end, m.format);
        let band_rows = self.options.band_rows.max(1);
        // Fixed accumulation order: manifest order. Activation order: by top edge.
        let entries: Vec<&TileEntry> = m
            .tiles
            .iter()
            .filter(|t| (t.z..t.z + t.slices).contains(&z))
            .filter(|t| t.rect.top < rows.end && t.rect.bottom > rows.start)
            .collect();
        let mut by_top: Vec<usize> = (0..entries.len()).collect();
        by_top.sort_by_key(|&i| (entries[i].rect.top, i));
        let mut next_to_load = 0;
        let mut active: Vec<(usize, BlendTile)> = Vec::new();
        let fill = vec![0u8; format.bytes_per_pixel()];
        let mut pending: Option<Image> = None;
        let mut y0 = rows.start;
        while y0 < height || pending.is_some() {
            let y1 = (y0 + band_rows).min(height);
            // Tiles reaching this band, decoded in parallel; tiles above it dropped.
            let mut newly = Vec::new();
            while next_to_load < by_top.len() && entries[by_top[next_to_load]].rect.top < y1 {
                newly.push(by_top[next_to_load]);
                next_to_load += 1;
            }
            active.retain(|(_, t)| t.rect().bottom > y0);
            let loaded: Vec<_> = crate::threads::install(|| {
                newly
                    .par_iter()
                    .map(|&i| Ok((i, self.load_tile(entries[i], z)?)))
                    .collect::<Result<_>>()
            })??;
            active.extend(loaded);
            active.sort_by_key(|(i, _)| *i);
            let tiles: Vec<&BlendTile> = active.iter().map(|(_, t)| t).collect();
            let compute = |y0: u64, y1: u64| -> Result<Option<Image>> {
                if y0 >= height {
                    return Ok(None);
                }
                let mut band = Image::new(width as usize, (y1 - y0) as usize, format)?;
                let blend = self.options.blend;
                compose_rows(&tiles, blend, format, width, y0, &fill, band.data_mut());
                Ok(Some(band))
            };
            // Encode the previous band while this one is computed.
            let emit = |band: Option<Image>, sink: &mut (dyn FnMut(&[u8]) -> Result<()> + Send)| {
                match band {
                    Some(band) => sink(band.data()),
                    None => Ok(()),
                }
            };
            let (done, next) = crate::threads::install(|| {
                rayon::join(|| emit(pending.take(), sink), || compute(y0, y1))
            })?;
            done?;
            pending = next?;
            report(y0.min(height) - rows.start)?;
            y0 = y1.max(y0 + band_rows);
        }
        Ok(())
    }

    /// Slice `z` of tile `e`, checked against the manifest and weighted for the blend.
    fn load_tile(&self, e: &TileEntry, z: u64) -> Result<BlendTile> {
        let m = self.manifest;
        let path = self.tile_dir.join(&e.file);
        let image = if m.depth_axis.cell > 1 {
            read_volume_tile_slice(&path, m, e, z - e.z)?
        } else {
            read_image_tile(&path, m, e)?
        };
        let blend = self.options.blend;
        let (oz, oy, ox) = self.overlaps;
        let wz = axis_weights(blend, e.z, e.z + e.slices, m.depth, oz)[(z - e.z) as usize];
        let tile = BlendTile::new(image, e.rect, blend, (m.width, m.height), (oy, ox));
        Ok(tile.with_depth_weight(wz))
    }
}

/// The pixels of a tile file holding one image; the header is checked before any pixel is
/// decoded (tiles are untrusted input).
fn read_image_tile(path: &Path, m: &Manifest, e: &TileEntry) -> Result<Image> {
    let info = codec::probe(path)?;
    check_tile(path, (info.width, info.height, 1, info.format), m, e)?;
    let image = codec::read_image(path)?;
    if (image.width() as u64, image.height() as u64, image.format())
        != (info.width, info.height, info.format)
    {
        return Err(Error::format(format!(
            "{}: tile changed while being read",
            path.display()
        )));
    }
    Ok(image)
}

/// Slice `k` of a tile file holding a volume (a 3-D cell: TIFF pages or NPY), read alone.
fn read_volume_tile_slice(path: &Path, m: &Manifest, e: &TileEntry, k: u64) -> Result<Image> {
    let options = OpenOptions {
        volume: true,
        ..Default::default()
    };
    let src = source::open(path, &options)?;
    let shape = (src.width(), src.height(), src.depth(), src.format());
    check_tile(path, shape, m, e)?;
    let mut image = Image::new(shape.0 as usize, shape.1 as usize, shape.3)?;
    let all = Rect::from_xywh(0, 0, shape.0, shape.1);
    let channels = Channels::all(shape.3.channels);
    source::read_region(&*src, k, all, &channels, &mut image.view_mut())?;
    Ok(image)
}

/// Checks a tile file's (width, height, slices, pixel format) against its manifest entry.
fn check_tile(
    path: &Path,
    (w, h, d, format): (u64, u64, u64, crate::pixel::PixelFormat),
    m: &Manifest,
    e: &TileEntry,
) -> Result<()> {
    if format != m.format {
        return Err(Error::Mismatch(format!(
            "{}: tile is {format}, the manifest says {}",
            path.display(),
            m.format
        )));
    }
    if (w, h, d) != (e.rect.width(), e.rect.height(), e.slices) {
        return Err(Error::Mismatch(format!(
            "{}: tile is {w}x{h} with {d} slice(s), the manifest says {}x{} with {}",
            path.display(),
            e.rect.width(),
            e.rect.height(),
            e.slices
        )));
    }
    Ok(())
}

/// Where stitched rows go: one file (an image, or a volume receiving its slices in order),
/// or one image file per slice (an output name with `{z}`; each file is complete and atomic
/// on its own).
enum Output {
    Single(RowWriter),
    PerSlice {
        template: String,
        width: u64,
        height: u64,
        format: crate::pixel::PixelFormat,
        write: WriteOptions,
        current: Option<RowWriter>,
    },
}

impl Output {
    /// Checks the output name and format against the plan and starts the file(s).
    fn create(out: &Path, plan: &StitchPlan<'_>) -> Result<Output> {
        let m = plan.manifest;
        let (w, h, format) = (m.width, m.height, m.format);
        let write = plan.options.write.clone();
        let slices = plan.slices.end - plan.slices.start;
        let name = out.to_string_lossy();
        if name.contains("{z") {
            let first = PathBuf::from(render_slice_name(&name, plan.slices.start)?);
            codec::output_format(&first)?
                .check_lossless(format)
                .map_err(|e| Error::unsupported(format!("{}: {e}", first.display())))?;
            return Ok(Output::PerSlice {
                template: name.into_owned(),
                width: w,
                height: h,
                format,
                write,
                current: None,
            });
        }
        let file_format = codec::output_format(out)?;
        if slices > 1 && !matches!(file_format, Format::Tiff | Format::Npy) {
            return Err(Error::unsupported(format!(
                "{}: {} holds one image and the manifest has {slices} slices: write .tif or \
                 .npy, put {{z}} in the output name for one file per slice, or stitch one \
                 slice",
                out.display(),
                file_format.name()
            )));
        }
        Ok(Output::Single(RowWriter::create_volume(
            out, w, h, slices, format, &write,
        )?))
    }

    /// The writer of slice `z`'s rows.
    fn start_slice(&mut self, z: u64) -> Result<&mut RowWriter> {
        match self {
            Output::Single(writer) => Ok(writer),
            Output::PerSlice {
                template,
                width,
                height,
                format,
                write,
                current,
            } => {
                let path = PathBuf::from(render_slice_name(template, z)?);
                let writer = RowWriter::create(&path, *width, *height, *format, write)?;
                Ok(current.insert(writer))
            }
        }
    }

    /// Completes the slice just written (its own file, for per-slice output).
    fn end_slice(&mut self) -> Result<()> {
        match self {
            Output::Single(_) => Ok(()),
            Output::PerSlice { current, .. } => match current.take() {
                Some(writer) => writer.finish(),
                None => Ok(()),
            },
        }
    }

    /// Completes the output.
    fn finish(self) -> Result<()> {
        match self {
            Output::Single(writer) => writer.finish(),
            Output::PerSlice { .. } => Ok(()),
        }
    }
}
