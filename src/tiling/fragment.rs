//! Fragmenting: every cell of a partition (or a selection) written as its own file, plus a
//! JSON [`Manifest`].
//!
//! The source is read once, top to bottom, one band of rows (a row of cells) at a time: rows
//! shared by overlapping bands are copied from the previous band, never read twice, so a PNG
//! through [`crate::source::PngStream`] is decoded in a single pass with memory bounded by two
//! bands. While the cells of one band are encoded in parallel on the library pool, the next band
//! is read. Each tile is encoded in memory, hashed from those bytes and written atomically;
//! bytes do not depend on the thread count.
//!
//! Volumes: a grid whose depth cells hold one slice (the default) writes one image per slice
//! and cell; deeper cells (a [`crate::partition::GridSpec`] with a depth axis) write one
//! volume file per cell (multi-page TIFF or `(d, h, w[, c])` NPY), a band then holding the
//! rows of every slice of its depth cell.
//!
//! While a run is in progress a hidden state file (`.<manifest>.partial`, the manifest without
//! its tiles) marks the directory as unfinished; it is replaced by the manifest at the end.
//! [`FragmentOptions::resume`] continues such a run.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use super::manifest::{check_relative, DepthAxis, Manifest, TileEntry};
use crate::codec::{self, Format, WriteOptions};
use crate::error::{Error, Result};
use crate::image::{Image, ImageViewMut};
use crate::partition::{EdgePolicy, Grid, Partition, Selection};
use crate::progress::Progress;
use crate::rect::Rect;
use crate::source;

/// Rows read from the source per request while filling a band (bounds a streaming source's
/// own buffer).
const READ_ROWS: u64 = 64;

/// What to write and how.
#[derive(Clone, Debug)]
pub struct FragmentOptions {
    /// File name template: `{row}`, `{col}` (cell indices), `{y}`, `{x}` (pixel position of the
    /// cell), `{z}` (first slice of the cell), each optionally zero-padded as `{row:04}`. The
    /// extension picks the format (PNG, TIFF, NPY, EXR; cells deeper than one slice need TIFF
    /// or NPY). A grid with several depth cells needs `{z}`. `None`: [`default_template`].
    pub template: Option<String>,
    /// Encoder options.
    pub write: WriteOptions,
    /// Only these (row, col) cells (of every depth cell); `None` = every cell.
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
            template: None,
            write: WriteOptions::default(),
            cells: None,
            manifest_name: "manifest.json".into(),
            source_label: String::new(),
            resume: false,
        }
    }
}

/// True when the cells of `grid` are deeper than one slice (each tile is a volume file).
pub fn has_deep_cells(grid: &Grid) -> bool {
    grid.is_volume() && grid.depth().cell() > 1
}

/// The default name template without its extension: `tile_{row:04}_{col:04}`, with
/// `{z:04}_` in front when the grid has several depth cells.
pub fn default_template_stem(grid: &Grid) -> &'static str {
    if grid.depth().count() > 1 {
        "tile_{z:04}_{row:04}_{col:04}"
    } else {
        "tile_{row:04}_{col:04}"
    }
}

/// The template a run uses when none is given: [`default_template_stem`] with `.png`, or
/// `.npy` when the cells are deeper than one slice.
pub fn default_template(grid: &Grid) -> String {
    let ext = if has_deep_cells(grid) { "npy" } else { "png" };
    format!("{}.{ext}", default_template_stem(grid))
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
    render_with(template, "row, col, y, x, z", |name| match name {
        "row" => Some(row),
        "col" => Some(col),
        "y" => Some(y),
        "x" => Some(x),
        "z" => Some(z),
        _ => None,
    })
}

/// Expands a template whose only placeholder is `{z}` (per-slice output names).
pub fn render_slice_name(template: &str, z: u64) -> Result<String> {
    render_with(template, "z", |name| (name == "z").then_some(z))
}

/// Expands `{name}` / `{name:0N}` placeholders with `value`; `known` lists the names for the
/// error message.
fn render_with(template: &str, known: &str, value: impl Fn(&str) -> Option<u64>) -> Result<String> {
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
        let value = value(name).ok_or_else(|| {
            Error::invalid(format!(
                "template {template:?}: unknown placeholder {{{name}}} (use {known})"
            ))
        })?;
        out.push_str(&format!("{value:0width$}"));
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(Error::invalid(format!("template {template:?}: stray '}}'")));
    }
    out.push_str(rest);
    Ok(out)
}

/// One tile file to write: its cell, the slices and pixels it holds, its name.
#[derive(Clone, Debug)]
struct PlannedTile {
    slices: Range<u64>,
    row: u64,
    col: u64,
    /// Extent rectangle (may reach past the image when padding).
    extent: Rect,
    file: String,
}

impl PlannedTile {
    /// The manifest entry of this tile, whose file's bytes hash to `sha256`.
    fn entry(&self, sha256: String) -> TileEntry {
        TileEntry {
            z: self.slices.start,
            slices: self.slices.end - self.slices.start,
            row: self.row,
            col: self.col,
            rect: self.extent,
            file: self.file.clone(),
            sha256,
        }
    }
}

/// What a run writes: the template, the tile format and every tile in manifest order (depth
/// cell, row, column).
struct Plan {
    template: String,
    manifest_name: String,
    format: Format,
    /// Tiles are volume files (cells deeper than one slice).
    deep: bool,
    tiles: Vec<PlannedTile>,
}

impl Plan {
    /// Checks the request and names every tile (a template that maps two cells to one file
    /// is an error before any write).
    fn new(p: &Partition, options: &FragmentOptions) -> Result<Plan> {
        let grid = p.grid();
        let template = options
            .template
            .clone()
            .unwrap_or_else(|| default_template(grid));
        let manifest_name = options.manifest_name.clone();
        check_relative(&manifest_name)?;
        let layers = grid.depth().count();
        if layers > 1 && !template.contains("{z") {
            return Err(Error::invalid(format!(
                "the grid has {layers} depth cells (slices of a volume): the name template \
                 {template:?} needs {{z}}"
            )));
        }
        let deep = has_deep_cells(grid);
        let format = Format::from_extension(Path::new(&template))
            .ok_or_else(|| codec::unwritable_extension(Path::new(&template)))?;
        format
            .check_lossless(p.format())
            .map_err(|e| Error::unsupported(format!("tiles {template:?}: {e}")))?;
        if deep && !matches!(format, Format::Tiff | Format::Npy) {
            return Err(Error::unsupported(format!(
                "tiles {template:?}: cells of {} slices are volumes and {} holds one image \
                 (use .npy or .tif tiles, or cells of one slice)",
                grid.depth().cell(),
                format.name()
            )));
        }
        let wanted = wanted_cells(grid, options.cells.as_deref())?;
        let files = crate::limits::product("the grid", &[wanted.len() as u64, layers])?;
        crate::limits::check_samples(&format!("a fragment into {files} files"), files)?;
        let mut tiles = Vec::new();
        crate::limits::reserve(&mut tiles, files as usize, "the list of tiles")?;
        let mut names = HashSet::new();
        for layer in 0..layers {
            let slices = grid.depth().range(layer);
            for &(row, col) in &wanted {
                let extent = grid.selection_extent(&Selection {
                    depth: layer..layer + 1,
                    rows: row..row + 1,
                    cols: col..col + 1,
                });
                let file =
                    render_template(&template, slices.start, row, col, extent.top, extent.left)?;
                check_relative(&file)?;
                if file == manifest_name || !names.insert(file.clone()) {
                    return Err(Error::invalid(format!(
                        "template {template:?} gives the name {file:?} to two files"
                    )));
                }
                tiles.push(PlannedTile {
                    slices: slices.clone(),
                    row,
                    col,
                    extent,
                    file,
                });
            }
        }
        Ok(Plan {
            template,
            manifest_name,
            format,
            deep,
            tiles,
        })
    }

    /// The bands to read, in order, each with its tiles not in `kept`.
    fn bands<'a>(&'a self, kept: &HashMap<String, TileEntry>) -> Vec<BandJob<'a>> {
        let mut bands: Vec<BandJob<'a>> = Vec::new();
        for tile in self.tiles.iter().filter(|t| !kept.contains_key(&t.file)) {
            match bands.last_mut() {
                Some(b) if b.slices == tile.slices && b.row == tile.row => b.tiles.push(tile),
                _ => bands.push(BandJob {
                    slices: tile.slices.clone(),
                    row: tile.row,
                    tiles: vec![tile],
                }),
            }
        }
        bands
    }
}

/// The selected (row, col) cells in row-major order, checked against the grid.
fn wanted_cells(grid: &Grid, cells: Option<&[(u64, u64)]>) -> Result<Vec<(u64, u64)>> {
    let (rows, cols) = grid.shape();
    let Some(list) = cells else {
        let all = crate::limits::product("the grid", &[rows, cols])?;
        crate::limits::check_samples(&format!("a fragment of {all} cells"), all)?;
        return Ok(grid.cells().collect());
    };
    if let Some(&(r, c)) = list.iter().find(|&&(r, c)| r >= rows || c >= cols) {
        return Err(Error::OutOfBounds(format!(
            "cell ({r}, {c}) is outside the {rows}x{cols} grid"
        )));
    }
    let mut wanted = list.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    Ok(wanted)
}

/// One row of cells of one depth cell, with the tiles of it still to write.
struct BandJob<'a> {
    slices: Range<u64>,
    row: u64,
    tiles: Vec<&'a PlannedTile>,
}

/// A band of rows covering one row of cells: `rect` in image coordinates (extent, may reach
/// past the image when padding) and its pixels, one image per slice of the depth cell.
struct Band {
    slices: Range<u64>,
    rect: Rect,
    images: Vec<Image>,
}

/// Builds the band of `rows` (extent rows) over `slices`, reusing rows from `prev` where it
/// covers the same slices and overlaps, and the buffers of `spare` where their size fits.
fn read_band(
    p: &Partition,
    slices: Range<u64>,
    rows: Range<u64>,
    width: u64,
    prev: Option<&Band>,
    mut spare: Vec<Image>,
) -> Result<Band> {
    let prev = prev.filter(|b| b.slices == slices && b.rect.width() == width);
    let images = slices
        .clone()
        .enumerate()
        .map(|(i, z)| {
            let above = prev.map(|b| (b.rect, &b.images[i]));
            read_slice_rows(p, z, rows.clone(), width, above, spare.pop())
        })
        .collect::<Result<_>>()?;
    Ok(Band {
        slices,
        rect: Rect::from_xywh(0, rows.start, width, rows.end - rows.start),
        images,
    })
}

/// Rows `rows` of slice `z` (`width` pixels, fill outside the image), copying the rows that
/// `prev` (the previous band of the same slice) holds.
fn read_slice_rows(
    p: &Partition,
    z: u64,
    rows: Range<u64>,
    width: u64,
    prev: Option<(Rect, &Image)>,
    spare: Option<Image>,
) -> Result<Image> {
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
    if let Some((rect, prev)) = prev {
        if rect.top <= rows.start && rows.start < rect.bottom {
            let from = (rows.start - rect.top) as usize;
            let n = ((rect.bottom.min(rows.end)) - rows.start) as usize;
            image.data_mut()[..n * row_bytes]
                .copy_from_slice(&prev.data()[from * row_bytes..(from + n) * row_bytes]);
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
    Ok(image)
}

/// Encodes one tile from its band in memory, writes it atomically and returns its entry
/// (hashed from the bytes written).
fn write_tile(
    band: &Band,
    tile: &PlannedTile,
    plan: &Plan,
    out_dir: &Path,
    write: &WriteOptions,
) -> Result<TileEntry> {
    let e = tile.extent;
    let local = Rect::from_xywh(e.left, 0, e.width(), e.height());
    let views = band
        .images
        .iter()
        .map(|image| image.view().crop(local))
        .collect::<Result<Vec<_>>>()?;
    let bytes = if plan.deep {
        codec::encode_volume(plan.format, &views)?
    } else {
        codec::encode_image(plan.format, &views[0], write)?
    };
    codec::atomic::write_bytes(out_dir.join(&tile.file), &bytes)?;
    Ok(tile.entry(crate::digest::sha256_hex(&bytes)))
}

/// Reads the bands in order and writes their tiles: the tiles of one band are encoded in
/// parallel while the next band is read. Returns the entries in band order.
fn write_bands(
    p: &Partition,
    plan: &Plan,
    bands: &[BandJob<'_>],
    out_dir: &Path,
    write: &WriteOptions,
    mut report: impl FnMut(usize) -> Result<()>,
) -> Result<Vec<TileEntry>> {
    let grid = p.grid();
    let (_, cols) = grid.shape();
    let band_width = grid.cols().cell_range(cols - 1).end;
    let band_rows = |r: u64| grid.rows().cell_range(r);
    let encode = |band: &Band, tiles: &[&PlannedTile]| -> Result<Vec<TileEntry>> {
        tiles
            .par_iter()
            .map(|tile| write_tile(band, tile, plan, out_dir, write))
            .collect()
    };
    let mut entries = Vec::new();
    let Some(first) = bands.first() else {
        return Ok(entries);
    };
    let mut current = crate::threads::install(|| {
        read_band(
            p,
            first.slices.clone(),
            band_rows(first.row),
            band_width,
            None,
            Vec::new(),
        )
    })??;
    let mut spare = Vec::new();
    for (i, job) in bands.iter().enumerate() {
        let reuse = std::mem::take(&mut spare);
        let (written, next) = crate::threads::install(|| {
            rayon::join(
                || encode(&current, &job.tiles),
                || match bands.get(i + 1) {
                    Some(next) => read_band(
                        p,
                        next.slices.clone(),
                        band_rows(next.row),
                        band_width,
                        Some(&current),
                        reuse,
                    )
                    .map(Some),
                    None => Ok(None),
                },
            )
        })?;
        entries.extend(written?);
        report(entries.len())?;
        match next? {
            Some(band) => spare = std::mem::replace(&mut current, band).images,
            None => break,
        }
    }
    Ok(entries)
}

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
    let plan = Plan::new(p, options)?;
    let mut manifest = manifest_header(p, options, &plan.template);
    let manifest_path = out_dir.join(&plan.manifest_name);
    let state_path = state_path(&manifest_path);
    let mut kept = if options.resume {
        resumed_tiles(&manifest, &state_path, out_dir, &plan.tiles)?
    } else {
        codec::atomic::write_bytes(&state_path, manifest.to_json().as_bytes())?;
        HashMap::new()
    };
    let total = plan.tiles.len() as u64;
    progress.report(kept.len() as u64, total)?;
    let bands = plan.bands(&kept);
    let done_before = kept.len();
    let written = write_bands(p, &plan, &bands, out_dir, &options.write, |n| {
        progress.report((done_before + n) as u64, total)
    })?;
    // Manifest order is plan order, whichever run wrote each tile.
    kept.extend(written.into_iter().map(|t| (t.file.clone(), t)));
    manifest.tiles = plan
        .tiles
        .iter()
        .map(|tile| {
            kept.remove(&tile.file)
                .ok_or_else(|| Error::Internal(format!("tile {} was not written", tile.file)))
        })
        .collect::<Result<_>>()?;
    codec::atomic::write_bytes(&manifest_path, manifest.to_json().as_bytes())?;
    std::fs::remove_file(&state_path).map_err(|e| Error::io(&state_path, e))?;
    Ok(manifest)
}

/// The manifest of a run, without its tiles.
fn manifest_header(p: &Partition, options: &FragmentOptions, template: &str) -> Manifest {
    let grid = p.grid();
    let (sy, sx) = (grid.rows().stride(), grid.cols().stride());
    let depth = grid.depth();
    Manifest {
        source: options.source_label.clone(),
        width: grid.cols().extent(),
        height: grid.rows().extent(),
        depth: depth.extent(),
        depth_axis: DepthAxis {
            cells: depth.count(),
            cell: depth.cell(),
            stride: depth.stride(),
        },
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
        template: template.to_string(),
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
fn remove_stale_temp_files(out_dir: &Path, plan: &[PlannedTile]) -> Result<()> {
    let mut by_dir: HashMap<std::path::PathBuf, HashSet<String>> = HashMap::new();
    for tile in plan {
        let path = out_dir.join(&tile.file);
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
    plan: &[PlannedTile],
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
    for tile in plan {
        let path = out_dir.join(&tile.file);
        if path.is_file() {
            let entry = tile.entry(super::manifest::sha256_file(&path)?);
            kept.insert(tile.file.clone(), entry);
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
        assert_eq!(render_slice_name("s_{z:03}.png", 7).unwrap(), "s_007.png");
        assert!(render_slice_name("s_{row}.png", 7).is_err());
    }
}
