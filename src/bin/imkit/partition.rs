//! `fragment`, `stitch`, `verify` and `grid` (with `--preview`), and the partition steps of `demo`.

use std::path::{Path, PathBuf};

use clap::Args;
use imkit::codec::{self, WriteOptions};
use imkit::partition::{parse_key, preview, EdgePolicy, GridSpec, Partition, Stride};
use imkit::progress::Progress;
use imkit::source::OpenOptions;
use imkit::tiling::{self, Blend, FragmentOptions, StitchOptions, TileState};
use imkit::{Image, Rect};
use sha2::{Digest, Sha256};

use crate::progress_bar::{with_bar, ProgressBar};

/// The grid over an image (shared by fragment and grid).
#[derive(Args)]
pub struct GridArgs {
    /// The image (PNG, TIFF, NPY or EXR; multi-page TIFF and 4-D NPY are volumes).
    image: PathBuf,
    /// Cell size in pixels: N (square), HxW, or DxHxW for cells of D slices of a volume.
    #[arg(long, default_value = "1024")]
    cell: String,
    /// Stride as a fraction of the cell (impart's form): S, SYxSX or SZxSYxSX [default: 1.0].
    #[arg(long, conflicts_with = "step")]
    stride: Option<String>,
    /// Step in whole pixels (exact mode): N, NYxNX or NZxNYxNX.
    #[arg(long)]
    step: Option<String>,
    /// Slices per cell of a volume (same as the D of --cell DxHxW) [default: 1].
    #[arg(long)]
    depth: Option<u64>,
    /// Step between depth cells in slices [default: the cell depth, no overlap].
    #[arg(long)]
    depth_step: Option<u64>,
    /// Edge policy: clip (impart), drop, pad or shift.
    #[arg(long, default_value = "clip")]
    edge: String,
    /// Fill value of padded cells.
    #[arg(long, default_value_t = 0.0)]
    fill: f64,
    /// Channels to keep, in order, e.g. 2,1,0 (negative from the end) [default: all].
    #[arg(long, allow_hyphen_values = true)]
    channels: Option<String>,
    /// Cache directory for random access to PNG (decoded once into a raw file there).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Read a 3-D NPY array as a (depth, height, width) volume, not an (h, w, c) image.
    #[arg(long)]
    volume: bool,
}

/// Parses `N`, `AxB` or `AxBxC` into (depth, y, x) values: a single value applies to y and x,
/// and the depth entry is `None` unless three are given.
fn axes<T: std::str::FromStr + Copy>(text: &str, what: &str) -> imkit::Result<(Option<T>, T, T)> {
    let parts = text
        .split(['x', 'X'])
        .map(|s| s.trim().parse::<T>().ok())
        .collect::<Option<Vec<T>>>();
    match parts.as_deref() {
        Some(&[v]) => Ok((None, v, v)),
        Some(&[y, x]) => Ok((None, y, x)),
        Some(&[z, y, x]) => Ok((Some(z), y, x)),
        _ => Err(imkit::Error::invalid(format!(
            "--{what}: {text:?} is not N, AxB or AxBxC"
        ))),
    }
}

impl GridArgs {
    fn spec(&self) -> imkit::Result<GridSpec> {
        let (cd, ch, cw) = axes::<u64>(&self.cell, "cell")?;
        let (sz, sy, sx) = match (&self.stride, &self.step) {
            (_, Some(step)) => {
                let (z, y, x) = axes::<u64>(step, "step")?;
                (z.map(Stride::Pixels), Stride::Pixels(y), Stride::Pixels(x))
            }
            (Some(stride), None) => {
                let (z, y, x) = axes::<f64>(stride, "stride")?;
                (
                    z.map(Stride::Fraction),
                    Stride::Fraction(y),
                    Stride::Fraction(x),
                )
            }
            (None, None) => (None, Stride::Fraction(1.0), Stride::Fraction(1.0)),
        };
        let depth = match (cd, self.depth) {
            (Some(a), Some(b)) if a != b => {
                return Err(imkit::Error::invalid(format!(
                    "--cell gives cells of {a} slices and --depth {b}: give one"
                )))
            }
            (a, b) => a.or(b).unwrap_or(1),
        };
        let depth_stride = match (self.depth_step, sz) {
            (Some(step), _) => Stride::Pixels(step),
            (None, Some(stride)) => stride,
            (None, None) => Stride::Pixels(depth),
        };
        Ok(GridSpec::new(ch, cw, sy, sx)
            .with_depth(depth, depth_stride)
            .with_edge(EdgePolicy::parse(&self.edge)?))
    }

    fn channels(&self) -> imkit::Result<Option<Vec<i64>>> {
        self.channels
            .as_ref()
            .map(|c| {
                c.split(',')
                    .map(|v| {
                        v.trim().parse().map_err(|_| {
                            imkit::Error::invalid(format!("--channels: bad index {v:?}"))
                        })
                    })
                    .collect()
            })
            .transpose()
    }

    fn open(&self) -> imkit::Result<Partition> {
        let options = OpenOptions {
            cache_dir: self.cache_dir.clone(),
            volume: self.volume,
        };
        Ok(Partition::open(
            &self.image,
            &self.spec()?,
            self.channels()?.as_deref(),
            &options,
        )?
        .with_fill(self.fill))
    }
}

/// Arguments of `imkit fragment`.
#[derive(Args)]
pub struct FragmentArgs {
    #[command(flatten)]
    grid: GridArgs,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Tile format (file extension): png, tif/tiff, npy or exr [default: png; npy for cells
    /// of several slices].
    #[arg(long)]
    format: Option<String>,
    /// File name template without extension: {row} {col} {y} {x} {z} (first slice), padding
    /// as {row:04} [default: tile_{row:04}_{col:04}, tile_{z:04}_{row:04}_{col:04} for
    /// volumes].
    #[arg(long)]
    template: Option<String>,
    /// PNG compression: 0 none, 1 fast, 2-9 zlib levels.
    #[arg(long, default_value_t = 1)]
    compression: u8,
    /// Continue an interrupted run (same image, grid and options) into the same directory.
    #[arg(long)]
    resume: bool,
}

/// Arguments of `imkit stitch`.
#[derive(Args)]
pub struct StitchArgs {
    /// The manifest written by `imkit fragment`.
    manifest: PathBuf,
    /// The output image (format from the extension).
    output: PathBuf,
    /// Overlap blending: overwrite, average, linear or gaussian.
    #[arg(long, default_value = "overwrite")]
    blend: String,
    /// PNG compression: 0 none, 1 fast, 2-9 zlib levels.
    #[arg(long, default_value_t = 1)]
    compression: u8,
    /// Refuse to stitch when a tile changed since fragment (see `imkit verify`).
    #[arg(long)]
    verify: bool,
    /// Rebuild only this slice of a volume [default: every slice: a volume goes to .tif or
    /// .npy, or to one file per slice with {z} in the output name, e.g. 'slice_{z:03}.png'].
    #[arg(long)]
    slice: Option<u64>,
}

/// Arguments of `imkit verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The manifest written by `imkit fragment`.
    manifest: PathBuf,
}

/// Arguments of `imkit grid`.
#[derive(Args)]
pub struct GridCmdArgs {
    #[command(flatten)]
    grid: GridArgs,
    /// Also resolve a NumPy-style key, e.g. "1:-1, 3" (rows, cols).
    #[arg(long, allow_hyphen_values = true)]
    key: Option<String>,
    /// Also list the cells containing pixel X,Y.
    #[arg(long)]
    at: Option<String>,
    /// Also draw the grid (and the --key cells, tinted red) over a thumbnail into OUT.png.
    #[arg(long, value_name = "OUT.png")]
    preview: Option<PathBuf>,
    /// Width of the --preview picture in pixels.
    #[arg(long, default_value_t = 1024)]
    preview_width: u64,
}

fn rect_text(r: &Rect) -> String {
    format!(
        "x {}..{}, y {}..{} ({}x{})",
        r.left,
        r.right,
        r.top,
        r.bottom,
        r.width(),
        r.height()
    )
}

/// `imkit fragment`.
pub fn fragment(args: FragmentArgs) -> imkit::Result<()> {
    let p = args.grid.open()?;
    std::fs::create_dir_all(&args.out).map_err(|e| imkit::Error::io(&args.out, e))?;
    let grid = p.grid();
    let ext = match &args.format {
        Some(f) => f.trim_start_matches('.'),
        None if tiling::fragment::has_deep_cells(grid) => "npy",
        None => "png",
    };
    let stem = match &args.template {
        Some(t) => t.as_str(),
        None => tiling::fragment::default_template_stem(grid),
    };
    let options = FragmentOptions {
        template: Some(format!("{stem}.{ext}")),
        write: WriteOptions {
            png_compression: args.compression,
            ..Default::default()
        },
        source_label: args.grid.image.display().to_string(),
        resume: args.resume,
        ..Default::default()
    };
    let mut bar = ProgressBar::new("fragment");
    let mut report = |d, t| bar.update(d, t);
    let m = tiling::fragment(&p, &args.out, &options, &mut Progress::new(&mut report))?;
    drop(bar);
    let layers = match m.depth_axis.cells {
        1 => String::new(),
        n => format!("{n} depth x "),
    };
    println!(
        "{} tiles ({layers}{}x{} grid) and {} in {}",
        m.tiles.len(),
        m.shape.0,
        m.shape.1,
        options.manifest_name,
        args.out.display()
    );
    Ok(())
}

/// `imkit stitch`.
pub fn stitch(args: StitchArgs) -> imkit::Result<()> {
    let options = StitchOptions {
        blend: Blend::parse(&args.blend)?,
        write: WriteOptions {
            png_compression: args.compression,
            ..Default::default()
        },
        slice: args.slice,
        ..Default::default()
    };
    if args.verify {
        let (manifest, changed) = changed_tiles(&args.manifest)?;
        if let Some(first) = changed.first() {
            return Err(imkit::Error::BadState(format!(
                "{} of {} tiles changed since fragment (first: {}); stitch without --verify \
                 to use them (`imkit verify` lists them)",
                changed.len(),
                manifest.tiles.len(),
                first.0
            )));
        }
    }
    let mut bar = ProgressBar::new("stitch");
    let mut report = |d, t| bar.update(d, t);
    tiling::stitch(
        &args.manifest,
        &args.output,
        &options,
        &mut Progress::new(&mut report),
    )?;
    drop(bar);
    println!("wrote {}", args.output.display());
    Ok(())
}

/// The manifest at `path` and its tiles whose files changed since fragment (names only).
fn changed_tiles(path: &Path) -> imkit::Result<(tiling::Manifest, Vec<(String, TileState)>)> {
    let manifest = tiling::Manifest::read(path)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let changed = manifest
        .changed_tiles(dir)?
        .into_iter()
        .map(|c| (c.tile.file.clone(), c.state))
        .collect();
    Ok((manifest, changed))
}

/// `imkit verify`: lists the tiles that changed since fragment (edited tiles are normal);
/// fails only when a tile is missing.
pub fn verify(args: VerifyArgs) -> imkit::Result<()> {
    let (manifest, changed) = changed_tiles(&args.manifest)?;
    let mut missing = 0;
    for (file, state) in &changed {
        let word = match state {
            TileState::Modified => "changed",
            TileState::Missing => {
                missing += 1;
                "missing"
            }
        };
        println!("{word} {file}");
    }
    println!(
        "{} of {} tiles changed since fragment ({missing} missing)",
        changed.len(),
        manifest.tiles.len()
    );
    if missing > 0 {
        return Err(imkit::Error::BadState(format!(
            "{missing} tile file(s) of {} are missing",
            args.manifest.display()
        )));
    }
    Ok(())
}

/// `imkit grid`: the grid from the header alone (no pixel is read).
pub fn grid(args: GridCmdArgs) -> imkit::Result<()> {
    let p = args.grid.open()?;
    let g = p.grid();
    let (w, h) = g.image_size();
    let (rows, cols) = g.shape();
    let (sy, sx) = p.step();
    println!(
        "image    {w}x{h}, {} slice(s), {}",
        p.source().depth(),
        p.format()
    );
    if g.is_volume() {
        println!(
            "grid     {} deep x {rows} rows x {cols} cols = {} cells; cell {}x{}x{} (d x h x w); \
             step {} x {sy} x {sx}; edge {}",
            g.depth().count(),
            g.len(),
            g.depth().cell(),
            g.rows().cell(),
            g.cols().cell(),
            g.depth().step(),
            g.rows().edge().name()
        );
    } else {
        println!(
            "grid     {rows} rows x {cols} cols = {} cells; cell {}x{} (h x w); step {sy} x {sx}; \
             edge {}",
            g.len(),
            g.rows().cell(),
            g.cols().cell(),
            g.rows().edge().name()
        );
    }
    let axis = |name: &str, a: &imkit::partition::Axis| {
        let n = a.count();
        let mut show: Vec<String> = (0..n)
            .filter(|&k| k < 3 || k + 2 >= n)
            .map(|k| {
                let r = a.range(k);
                format!("{k}:{}..{}", r.start, r.end)
            })
            .collect();
        if n > 5 {
            show.insert(3, "...".into());
        }
        println!("{name}  {}", show.join("  "));
    };
    if g.is_volume() {
        axis("depth   ", g.depth());
    }
    axis("rows    ", g.rows());
    axis("cols    ", g.cols());
    let mut selected = None;
    if let Some(key) = &args.key {
        let sel = p.select(&parse_key(key, if g.is_volume() { 3 } else { 2 })?)?;
        if g.is_volume() {
            let b = g.selection_box(&sel);
            println!(
                "key {key:?} -> depth {:?}, rows {:?}, cols {:?}: z {}..{} ({} slices), {}",
                sel.depth,
                sel.rows,
                sel.cols,
                b.depth.start,
                b.depth.end,
                b.depth.end - b.depth.start,
                rect_text(&b.rect)
            );
        } else {
            println!(
                "key {key:?} -> rows {:?}, cols {:?}: {}",
                sel.rows,
                sel.cols,
                rect_text(&g.selection_rect(&sel))
            );
        }
        selected = Some(sel);
    }
    if let Some(at) = &args.at {
        let (x, y) = match at.split_once(',') {
            Some((x, y)) => (x.trim().parse().ok(), y.trim().parse().ok()),
            None => (None, None),
        };
        let (Some(x), Some(y)) = (x, y) else {
            return Err(imkit::Error::invalid(format!("--at: {at:?} is not X,Y")));
        };
        let (r, c) = g.cells_containing(x, y);
        println!("pixel ({x}, {y}) is in rows {r:?} x cols {c:?}");
    }
    if let Some(out) = &args.preview {
        let (w, h) = with_bar("preview", |progress| {
            preview::write_preview(&p, selected.as_ref(), out, args.preview_width, progress)
        })?;
        println!("preview  {} ({w}x{h})", out.display());
    }
    Ok(())
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The partition steps of `imkit demo`: fragment the sample with overlap, stitch it back
/// exactly, transform one tile, stitch with feathering, and check that pixels covered only by
/// untouched tiles are unchanged.
pub fn demo_steps(
    dir: &Path,
    sample: &Path,
    original: &Image,
    first_step: u32,
) -> imkit::Result<()> {
    let spec = GridSpec::square(512, Stride::Fraction(0.75));
    let tiles = dir.join("tiles");
    std::fs::create_dir_all(&tiles).map_err(|e| imkit::Error::io(&tiles, e))?;
    let p = Partition::open(sample, &spec, None, &OpenOptions::default())?;
    let options = FragmentOptions {
        source_label: sample.display().to_string(),
        ..Default::default()
    };
    let m = tiling::fragment(&p, &tiles, &options, &mut Progress::none())?;
    let mut step = first_step;
    println!(
        "{step}. fragmented it into {} overlapping 512x512 cells (stride 0.75, one decode pass): {}",
        m.tiles.len(),
        tiles.join("manifest.json").display()
    );
    step += 1;
    let manifest = tiles.join("manifest.json");
    let exact = dir.join("sample__stitched.png");
    let feather = StitchOptions {
        blend: Blend::Linear,
        ..Default::default()
    };
    tiling::stitch(&manifest, &exact, &feather, &mut Progress::none())?;
    let back = codec::read_image(&exact)?;
    if back.data() != original.data() {
        return Err(imkit::Error::Internal(
            "demo check failed: stitching untouched tiles is not exact".into(),
        ));
    }
    println!(
        "{step}. stitched the untouched tiles with linear feathering: identical (sha256 {})",
        sha(back.data())
    );
    step += 1;
    let edited = &m.tiles[m.tiles.len() / 2];
    let path = tiles.join(&edited.file);
    let mut tile = codec::read_image(&path)?;
    for px in tile.data_mut().chunks_exact_mut(3) {
        px[0] = 255 - px[0];
    }
    codec::write_image(&path, &tile.view(), &WriteOptions::default())?;
    println!(
        "{step}. transformed tile {} (inverted red) at {}",
        edited.file,
        rect_text(&edited.rect)
    );
    step += 1;
    let blended = dir.join("sample__feathered.png");
    tiling::stitch(&manifest, &blended, &feather, &mut Progress::none())?;
    let result = codec::read_image(&blended)?;
    let r = edited.rect;
    let (w, h) = (original.width(), original.height());
    let (mut same, mut changed) = (0u64, 0u64);
    for y in 0..h {
        let (a, b) = (original.view().row(y), result.view().row(y));
        for x in 0..w {
            let inside =
                (r.left..r.right).contains(&(x as u64)) && (r.top..r.bottom).contains(&(y as u64));
            let equal = a[x * 3..x * 3 + 3] == b[x * 3..x * 3 + 3];
            if !inside && !equal {
                return Err(imkit::Error::Internal(format!(
                    "demo check failed: pixel ({x}, {y}) outside the edited tile changed"
                )));
            }
            same += equal as u64;
            changed += !equal as u64;
        }
    }
    println!(
        "{step}. stitched with feathering: {changed} pixels blended inside the edited tile, {same} \
         pixels covered only by untouched tiles are byte-identical: {}",
        blended.display()
    );
    Ok(())
}
