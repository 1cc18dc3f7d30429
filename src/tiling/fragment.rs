//! Fragmenting: every cell of a partition (or a selection) written as its own file, plus a
//! JSON [`Manifest`].
//!
//! The source is read once, top to bottom, one band of rows (a row of cells) at a time: rows
//! shared by overlapping bands are copied from the previous band, never read twice, so a PNG
//! through [`crate::source::PngStream`] is decoded in a single pass with memory bounded by two
//! bands. While the cells of one band are encoded in parallel on the library pool, the next band
//! is read. Files are written atomically and their bytes do not depend on the thread count.
//!
//! While a run is in progress a hidden state file (`.<manifest>.partial`, the manifest without
//! its tiles) marks the directory as unfinished; it is replaced by the manifest at the end.
//! [`FragmentOptions::resume`] continues such a run.

use std::collections::{HashMap, HashSet};
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
    /// Continue an interrupted run into the same directory with the same options: tiles it
    /// already wrote are kept (files are written atomically, so each one is complete) and
    /// only the others are read and written. The result is byte for byte what an
    /// uninterrupted run writes. Fails when the directory holds no interrupted run of this
    /// grid and these options.
    pub resume: bool,
}

impl Default for FragmentOptions {
    fn default() -> Self {
        FragmentOptions {
            template: "tile_{row:04}_{col:04}.png".into(),
            write: WriteOptions::default(),
            cells: None,
            manifest_name: "manifest.json".into(),
            source_label: String::new(),
            resume: false,
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
    // Which cells, grouped by row, in row-major order. The plan holds one entry per file:
    // bounded like any buffer sized from input.
    let files = crate::limits::product("the grid", &[rows, cols, depth])?;
    crate::limits::check_samples(&format!("a fragment into {files} files"), files)?;
    let mut wanted: Vec<Vec<u64>> =
        crate::limits::filled(rows as usize, Vec::new(), "the grid rows")?;
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
    let planned = options
        .cells
        .as_ref()
        .map_or(files, |c| c.len() as u64 * depth);
    crate::limits::reserve(&mut plan, planned as usize, "the list of tiles")?;
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
    let mut manifest = manifest_header(p, options, depth);
    let manifest_path = out_dir.join(&options.manifest_name);
    let state_path = state_path(&manifest_path);
    let mut kept = if options.resume {
        resumed_tiles(&manifest, &state_path, out_dir, &plan)?
    } else {
        codec::atomic::write_bytes(&state_path, manifest.to_json().as_bytes())?;
        HashMap::new()
    };
    let total = plan.len() as u64;
    let band_width = grid.cols().cell_range(cols - 1).end;
    // Bands in order: (z, row) with their cells still to write.
    let mut bands: Vec<(u64, u64, Vec<&Planned>)> = Vec::new();
    for item in plan.iter().filter(|item| !kept.contains_key(&item.4)) {
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
    progress.report(kept.len() as u64, total)?;
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
            progress.report((kept.len() + tiles.len()) as u64, total)?;
            match next? {
                Some(band) => spare = Some(std::mem::replace(&mut current, band).image),
                None => break,
            }
        }
    }
    // Manifest order is plan order, whichever run wrote each tile.
    kept.extend(tiles.into_iter().map(|t| (t.file.clone(), t)));
    manifest.tiles = plan
        .iter()
        .map(|item| {
            kept.remove(&item.4)
                .ok_or_else(|| Error::Internal(format!("tile {} was not written", item.4)))
        })
        .collect::<Result<_>>()?;
    codec::atomic::write_bytes(&manifest_path, manifest.to_json().as_bytes())?;
    std::fs::remove_file(&state_path).map_err(|e| Error::io(&state_path, e))?;
    Ok(manifest)
}

/// The manifest of a run, without its tiles.
fn manifest_header(p: &Partition, options: &FragmentOptions, depth: u64) -> Manifest {
    let grid = p.grid();
    let (sy, sx) = (grid.rows().stride(), grid.cols().stride());
    Manifest {
        source: options.source_label.clone(),
        width: grid.cols().extent(),
        height: grid.rows().extent(),
        depth,
        format: p.format(),
        channels: p.channels().bands().to_vec(),
        shape: grid.shape(),
        cell: (grid.rows().cell(), grid.cols().cell()),
        stride: (sy, sx),
        edge: grid.rows().edge(),
        fill: if grid.rows().edge() == EdgePolicy::Pad {
            p.fill()
        } else {
            0.0
        },
        template: options.template.clone(),
        tiles: Vec::new(),
    }
}

/// The hidden file that marks a run in progress: `.<manifest name>.partial` beside it.
fn state_path(manifest_path: &Path) -> std::path::PathBuf {
    let name = manifest_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    manifest_path.with_file_name(format!(".{name}.partial"))
}

/// Removes the temporary files a killed run left for planned tiles (`.<name>.<pid>.<n>.imkit-tmp`,
/// see [`codec::atomic`]); nothing else is touched.
fn remove_stale_temp_files(out_dir: &Path, plan: &[Planned]) -> Result<()> {
    let mut by_dir: HashMap<std::path::PathBuf, HashSet<String>> = HashMap::new();
    for item in plan {
        let path = out_dir.join(&item.4);
        if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
            let names = by_dir.entry(dir.to_path_buf()).or_default();
            names.insert(name.to_string_lossy().into_owned());
        }
    }
    for (dir, names) in by_dir {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let tile = file
                .strip_prefix('.')
                .and_then(|f| f.strip_suffix(".imkit-tmp"))
                .and_then(|f| f.rsplitn(3, '.').nth(2));
            if tile.is_some_and(|t| names.contains(t)) {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    Ok(())
}

/// For a resumed run: checks that `state` records this run's header and returns the entries
/// of the planned tiles already on disk (their checksums read from the files).
fn resumed_tiles(
    header: &Manifest,
    state: &Path,
    out_dir: &Path,
    plan: &[Planned],
) -> Result<HashMap<String, TileEntry>> {
    let recorded = match std::fs::read_to_string(state) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::BadState(format!(
                "nothing to resume in {}: no interrupted fragment run there (run without \
                 resume)",
                out_dir.display()
            )))
        }
        Err(e) => return Err(Error::io(state, e)),
    };
    if recorded != header.to_json() {
        return Err(Error::BadState(format!(
            "cannot resume in {}: the interrupted run had another source, grid or template \
             (run without resume to start over)",
            out_dir.display()
        )));
    }
    remove_stale_temp_files(out_dir, plan)?;
    let mut kept = HashMap::new();
    for &(z, row, col, rect, ref name) in plan {
        let path = out_dir.join(name);
        if path.is_file() {
            let entry = TileEntry {
                z,
                row,
                col,
                rect,
                file: name.clone(),
                sha256: super::manifest::sha256_file(&path)?,
            };
            kept.insert(name.clone(), entry);
        }
    }
    Ok(kept)
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
