//! Fragmenting: every cell of a partition (or a selection) written as its own file, plus a
//! JSON [`Manifest`].
//!
//! The source is read once, top to bottom, one band of rows (a row of cells) at a time: rows
//! shared by overlapping bands are copied from the previous band, never read twice, so a PNG
//! through [`crate::source::PngStream`] is decoded in a single pass with memory bounded by two
//! bands. While the cells of one band are encoded in parallel on the library pool, the next band
//! is read. Files are written atomically and their bytes do not depend on the thread count.

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;

use super::manifest::{check_relative, Manifest, TileEntry};
use crate::codec::{self, WriteOptions};
use crate::error::{Error, Result};
use crate::geom::Rect;
use crate::image::{Image, ImageViewMut};
use crate::partition::{EdgePolicy, Partition};
use crate::progress::Progress;
use crate::source;

/// Rows read from the source per request while filling a band (bounds a streaming source's
/// own buffer).
const READ_ROWS: u64 = 64;

/// What to write and how.
#[derive(Clone, Debug)]
pub struct FragmentOptions {
    /// File name template: `{row}`, `{col}` (cell indices), `{y}`, `{x}` (pixel position of the
    /// cell), `{z}` (slice), each optionally zero-padded as `{row:04}`. Volumes are written
    /// slice by slice (one 2-D file per slice and cell; `{z}` is required, the grid's depth
    /// cells are not used). The extension picks
    /// the format (PNG; TIFF, NPY and EXR once those codecs are built in).
    pub template: String,
    /// Encoder options.
    pub write: WriteOptions,
    /// Only these (row, col) cells; `None` = every cell.
    pub cells: Option<Vec<(u64, u64)>>,
    /// Manifest file name inside the output directory.
    pub manifest_name: String,
    /// Source label recorded in the manifest.
    pub source_label: String,
}

impl Default for FragmentOptions {
    fn default() -> Self {
        FragmentOptions {
            template: "tile_{row:04}_{col:04}.png".into(),
            write: WriteOptions::default(),
            cells: None,
            manifest_name: "manifest.json".into(),
            source_label: String::new(),
        }
    }
}

/// Expands a name template for one cell.
pub fn render_template(
    template: &str,
    z: u64,
    row: u64,
    col: u64,
    y: u64,
    x: u64,
) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| Error::invalid(format!("template {template:?}: unclosed '{{'")))?
            + open;
        let inner = &rest[open + 1..close];
        let (name, width) = match inner.split_once(':') {
            Some((n, w)) => {
                let w = w.strip_prefix('0').unwrap_or(w);
                let w: usize = w.parse().ok().filter(|w| *w <= 20).ok_or_else(|| {
                    Error::invalid(format!("template {template:?}: bad width in {{{inner}}}"))
                })?;
                (n, w)
            }
            None => (inner, 0),
        };
        let value = match name {
            "row" => row,
            "col" => col,
            "y" => y,
            "x" => x,
            "z" => z,
            _ => {
                return Err(Error::invalid(format!(
                    "template {template:?}: unknown placeholder {{{name}}} (use row, col, y, x, z)"
                )))
            }
        };
        out.push_str(&format!("{value:0width$}"));
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(Error::invalid(format!("template {template:?}: stray '}}'")));
    }
    out.push_str(rest);
    Ok(out)
}

/// A band of rows covering one row of cells: `rect` in image coordinates (extent, may reach
/// past the image when padding) and its pixels.
struct Band {
    rect: Rect,
    image: Image,
}

/// Builds the band for `rows` (extent rows), reusing rows from `prev` where they overlap.
fn read_band(
    p: &Partition,
    z: u64,
    rows: std::ops::Range<u64>,
    width: u64,
    prev: Option<&Band>,
    spare: Option<Image>,
) -> Result<Band> {
    let format = p.format();
    let (w, h) = (width as usize, (rows.end - rows.start) as usize);
    // Reuse the buffer of a band already written when it has the same size (every band but
    // possibly the last), sparing the page faults of a fresh allocation.
    let mut image = match spare {
        Some(img) if (img.width(), img.height(), img.format()) == (w, h, format) => img,
        _ => Image::new(w, h, format)?,
    };
    let (img_w, img_h) = p.grid().image_size();
    if rows.end > img_h || width > img_w {
        let mut fill = Vec::new();
        for _ in 0..format.channels {
            format.dtype.encode_fill(p.fill(), &mut fill)?;
        }
        image.view_mut().fill(&fill);
    }
    let row_bytes = w * format.bytes_per_pixel();
    let mut next = rows.start;
    if let Some(prev) = prev {
        if prev.rect.top <= rows.start
            && rows.start < prev.rect.bottom
            && prev.rect.width() == width
        {
            let from = (rows.start - prev.rect.top) as usize;
            let n = ((prev.rect.bottom.min(rows.end)) - rows.start) as usize;
            image.data_mut()[..n * row_bytes]
                .copy_from_slice(&prev.image.data()[from * row_bytes..(from + n) * row_bytes]);
            next = rows.start + n as u64;
        }
    }
    let stop = rows.end.min(img_h);
    let inside_w = width.min(img_w);
    while next < stop {
        let end = (next + READ_ROWS).min(stop);
        let rect = Rect::from_xywh(0, next, inside_w, end - next);
        let start = ((next - rows.start) as usize) * row_bytes;
        let mut view = ImageViewMut::new(
            &mut image.data_mut()[start..],
            inside_w as usize,
            (end - next) as usize,
            format,
            row_bytes,
        )?;
        source::read_region(&**p.source(), z, rect, p.channels(), &mut view)?;
        next = end;
    }
    Ok(Band {
        rect: Rect::from_xywh(0, rows.start, width, rows.end - rows.start),
        image,
    })
}

/// One file to write: slice, row, column, extent rectangle, file name.
type Planned = (u64, u64, u64, Rect, String);

/// Writes the cells of `p` into `out_dir` (which must exist) and the manifest beside them.
pub fn fragment(
    p: &Partition,
    out_dir: &Path,
    options: &FragmentOptions,
    progress: &mut Progress<'_>,
) -> Result<Manifest> {
    if !out_dir.is_dir() {
        return Err(Error::invalid(format!(
            "output directory {} does not exist",
            out_dir.display()
        )));
    }
    check_relative(&options.manifest_name)?;
    let grid = p.grid();
    let (rows, cols) = grid.shape();
    let depth = p.source().depth();
    if depth > 1 && !options.template.contains("{z") {
        return Err(Error::invalid(
            "the source has several slices: the name template needs {z}",
        ));
    }
    // Which cells, grouped by row, in row-major order.
    let mut wanted: Vec<Vec<u64>> = vec![Vec::new(); rows as usize];
    match &options.cells {
        None => wanted.iter_mut().for_each(|r| r.extend(0..cols)),
        Some(list) => {
            for &(r, c) in list {
                if r >= rows || c >= cols {
                    return Err(Error::OutOfBounds(format!(
                        "cell ({r}, {c}) is outside the {rows}x{cols} grid"
                    )));
                }
                wanted[r as usize].push(c);
            }
            for r in &mut wanted {
                r.sort_unstable();
                r.dedup();
            }
        }
    }
    // Names first: a template that maps two cells to one file is an error before any write.
    let mut names = HashSet::new();
    let mut plan = Vec::new();
    for z in 0..depth {
        for (r, cs) in wanted.iter().enumerate() {
            for &c in cs {
                let extent = grid.selection_extent(&crate::partition::Selection {
                    depth: 0..1,
                    rows: r as u64..r as u64 + 1,
                    cols: c..c + 1,
                });
                let name =
                    render_template(&options.template, z, r as u64, c, extent.top, extent.left)?;
                check_relative(&name)?;
                if name == options.manifest_name || !names.insert(name.clone()) {
                    return Err(Error::invalid(format!(
                        "template {:?} gives the name {name:?} to two files",
                        options.template
                    )));
                }
                plan.push((z, r as u64, c, extent, name));
            }
        }
    }
    let total = plan.len() as u64;
    let band_width = grid.cols().cell_range(cols - 1).end;
    // Bands in order: (z, row) with their cells.
    let mut bands: Vec<(u64, u64, Vec<&Planned>)> = Vec::new();
    for item in &plan {
        match bands.last_mut() {
            Some((z, r, v)) if *z == item.0 && *r == item.1 => v.push(item),
            _ => bands.push((item.0, item.1, vec![item])),
        }
    }
    let band_rows = |r: u64| grid.rows().cell_range(r);
    let write = |band: &Band, cells: &[&Planned]| -> Result<Vec<TileEntry>> {
        cells
            .par_iter()
            .map(|&&(z, row, col, extent, ref name)| {
                let local = Rect::from_xywh(extent.left, 0, extent.width(), extent.height());
                let view = band.image.view().crop(local)?;
                let path = out_dir.join(name);
                codec::write_image(&path, &view, &options.write)?;
                Ok(TileEntry {
                    z,
                    row,
                    col,
                    rect: extent,
                    file: name.clone(),
                    sha256: super::manifest::sha256_file(&path)?,
                })
            })
            .collect()
    };
    let mut tiles = Vec::with_capacity(plan.len());
    if let Some(first) = bands.first() {
        let mut current = crate::threads::install(|| {
            read_band(p, first.0, band_rows(first.1), band_width, None, None)
        })??;
        let mut spare: Option<Image> = None;
        for i in 0..bands.len() {
            // Encode this band's cells while the next band is read.
            let reuse = spare.take();
            let (written, next) = crate::threads::install(|| {
                rayon::join(
                    || write(&current, &bands[i].2),
                    || match bands.get(i + 1) {
                        Some(&(z, r, _)) => {
                            let prev = (z == bands[i].0).then_some(&current);
                            read_band(p, z, band_rows(r), band_width, prev, reuse).map(Some)
                        }
                        None => Ok(None),
                    },
                )
            })?;
            tiles.extend(written?);
            progress.report(tiles.len() as u64, total)?;
            match next? {
                Some(band) => spare = Some(std::mem::replace(&mut current, band).image),
                None => break,
            }
        }
    }
    let (sy, sx) = (grid.rows().stride(), grid.cols().stride());
    let manifest = Manifest {
        source: options.source_label.clone(),
        width: grid.cols().extent(),
        height: grid.rows().extent(),
        depth,
        format: p.format(),
        channels: p.channels().bands().to_vec(),
        shape: (rows, cols),
        cell: (grid.rows().cell(), grid.cols().cell()),
        stride: (sy, sx),
        edge: grid.rows().edge(),
        fill: if grid.rows().edge() == EdgePolicy::Pad {
            p.fill()
        } else {
            0.0
        },
        template: options.template.clone(),
        tiles,
    };
    codec::atomic::write_bytes(
        out_dir.join(&options.manifest_name),
        manifest.to_json().as_bytes(),
    )?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            render_template("t_{row:03}_{col}_{y}_{x}_{z:02}.png", 1, 2, 3, 40, 50).unwrap(),
            "t_002_3_40_50_01.png"
        );
        assert!(render_template("{row", 0, 0, 0, 0, 0).is_err());
        assert!(render_template("{foo}.png", 0, 0, 0, 0, 0).is_err());
        assert!(render_template("{row:x}.png", 0, 0, 0, 0, 0).is_err());
        assert!(render_template("a}.png", 0, 0, 0, 0, 0).is_err());
    }
}
