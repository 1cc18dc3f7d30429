//! `extract-tile`, `paste-tile` and `demo`.

use std::path::{Path, PathBuf};

use clap::Args;
use imkit::codec::{self, WriteOptions};
use imkit::progress::Progress;
use imkit::tiling::{self, Corner, EdgePolicy, TileSpec, DEFAULT_TILE_SIZE};
use imkit::{Image, PixelFormat, PixelType, Rect};

use crate::progress_bar::with_bar;

/// Where the tile goes (shared by extract-tile and paste-tile).
#[derive(Args)]
pub struct Placement {
    /// Anchor column in pixels (may be negative).
    #[arg(long, allow_hyphen_values = true)]
    x: i64,
    /// Anchor row in pixels (may be negative).
    #[arg(long, allow_hyphen_values = true)]
    y: i64,
    /// Which tile pixel sits on (x, y): tl, tr, bl, br or center.
    #[arg(long, default_value = "tl")]
    corner: String,
    /// Square tile side in pixels [default: 1024, or the tile file's size for paste-tile].
    #[arg(long, conflicts_with_all = ["width", "height"])]
    tile: Option<u64>,
    /// Tile width (with --height) for rectangular tiles.
    #[arg(long, requires = "height")]
    width: Option<u64>,
    /// Tile height (with --width).
    #[arg(long, requires = "width")]
    height: Option<u64>,
    /// What to do when the tile crosses the image border: error, clip or pad.
    #[arg(long, default_value = "error")]
    edge: String,
    /// Fill value for --edge pad (every channel).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    fill: f64,
    /// PNG compression: 0 none, 1 fastest (fdeflate), 2-9 zlib levels.
    #[arg(long, default_value_t = 1)]
    compression: u8,
}

impl Placement {
    fn spec(&self, default_size: (u64, u64)) -> imkit::Result<TileSpec> {
        let (width, height) = match (self.tile, self.width, self.height) {
            (Some(n), _, _) => (n, n),
            (None, Some(w), Some(h)) => (w, h),
            _ => default_size,
        };
        Ok(TileSpec {
            x: self.x,
            y: self.y,
            corner: Corner::parse(&self.corner)?,
            width,
            height,
            edge: EdgePolicy::parse(&self.edge, self.fill)?,
        })
    }

    fn write_options(&self) -> WriteOptions {
        WriteOptions {
            png_compression: self.compression,
            ..WriteOptions::default()
        }
    }
}

/// Arguments of `imkit extract-tile`.
#[derive(Args)]
pub struct ExtractArgs {
    /// Image to read.
    input: PathBuf,
    /// Tile file to write [default: outputs/tiles/<stem>__<corner>__<x>_<y>.png].
    output: Option<PathBuf>,
    #[command(flatten)]
    place: Placement,
}

/// Arguments of `imkit paste-tile`.
#[derive(Args)]
pub struct PasteArgs {
    /// Base image.
    base: PathBuf,
    /// Tile image to paste.
    #[arg(value_name = "TILE")]
    tile_file: PathBuf,
    /// Result file [default: outputs/images/<stem>__patched.png]; may be BASE itself.
    output: Option<PathBuf>,
    #[command(flatten)]
    place: Placement,
}

/// Arguments of `imkit demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Directory for the demo's files [default: a new temporary directory].
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into())
}

/// Creates the parent directory of a default output path (explicit outputs are left alone).
fn default_output(path: PathBuf) -> imkit::Result<PathBuf> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| imkit::Error::io(dir, e))?;
    }
    Ok(path)
}

fn rect_line(rect: &Rect) -> String {
    format!(
        "({}, {}, {}, {}) (left, top, right, bottom; right and bottom exclusive)",
        rect.left, rect.top, rect.right, rect.bottom
    )
}

/// `imkit extract-tile`.
pub fn extract(args: ExtractArgs) -> imkit::Result<()> {
    let spec = args.place.spec((DEFAULT_TILE_SIZE, DEFAULT_TILE_SIZE))?;
    let output = match args.output {
        Some(path) => path,
        None => default_output(PathBuf::from(format!(
            "outputs/tiles/{}__{}__{}_{}.png",
            stem(&args.input),
            args.place.corner,
            args.place.x,
            args.place.y
        )))?,
    };
    let placement = with_bar("extract", |progress| {
        tiling::extract_file(
            &args.input,
            &output,
            &spec,
            &args.place.write_options(),
            progress,
        )
    })?;
    println!("saved {}", output.display());
    println!("rect {}", rect_line(&placement.image_rect));
    Ok(())
}

/// `imkit paste-tile`.
pub fn paste(args: PasteArgs) -> imkit::Result<()> {
    let tile_info = codec::probe(&args.tile_file)?;
    let spec = args.place.spec((tile_info.width, tile_info.height))?;
    let output = match args.output {
        Some(path) => path,
        None => default_output(PathBuf::from(format!(
            "outputs/images/{}__patched.png",
            stem(&args.base)
        )))?,
    };
    let placement = with_bar("paste", |progress| {
        tiling::paste_file(
            &args.base,
            &args.tile_file,
            &output,
            &spec,
            &args.place.write_options(),
            progress,
        )
    })?;
    println!("saved {}", output.display());
    println!(
        "pasted at ({}, {}) covering {}",
        placement.image_rect.left,
        placement.image_rect.top,
        rect_line(&placement.image_rect)
    );
    Ok(())
}

/// The built-in sample: imkerutils' test pattern, R = (37x + 17y) mod 256,
/// G = (13x + 53y) mod 256, B = (97x + 19y) mod 256.
fn sample(width: usize, height: usize) -> imkit::Result<Image> {
    let mut image = Image::new(width, height, PixelFormat::new(PixelType::U8, 3)?)?;
    for (i, px) in image.data_mut().chunks_exact_mut(3).enumerate() {
        let (x, y) = (i % width, i / width);
        px[0] = ((37 * x + 17 * y) % 256) as u8;
        px[1] = ((13 * x + 53 * y) % 256) as u8;
        px[2] = ((97 * x + 19 * y) % 256) as u8;
    }
    Ok(image)
}

/// `imkit demo`: make a sample, extract a tile, edit it, paste it back, and verify that every
/// pixel outside the edit is unchanged.
pub fn demo(args: DemoArgs) -> imkit::Result<()> {
    let dir = match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| imkit::Error::io(&dir, e))?;
            dir
        }
        None => {
            let dir = std::env::temp_dir().join(format!("imkit-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| imkit::Error::io(&dir, e))?;
            dir
        }
    };
    let options = WriteOptions::default();
    let (w, h) = (3000, 2000);
    let base_path = dir.join("sample.png");
    let original = sample(w, h)?;
    codec::write_image(&base_path, &original.view(), &options)?;
    println!("1. wrote a {w}x{h} RGB sample: {}", base_path.display());

    let spec = TileSpec::square(2999, 1999, Corner::BottomRight, 1024);
    let tile_path = dir.join("tile.png");
    let placed = tiling::extract_file(
        &base_path,
        &tile_path,
        &spec,
        &options,
        &mut Progress::none(),
    )?;
    println!(
        "2. extracted a 1024x1024 tile anchored bottom-right at (2999, 1999): {}",
        rect_line(&placed.image_rect)
    );

    let mut tile = codec::read_image(&tile_path)?;
    for px in tile.data_mut().chunks_exact_mut(3) {
        px.swap(0, 2);
        px[1] = 255 - px[1];
    }
    codec::write_image(&tile_path, &tile.view(), &options)?;
    println!("3. edited the tile (swapped red and blue, inverted green)");

    let out_path = dir.join("sample__patched.png");
    let pasted = tiling::paste_file(
        &base_path,
        &tile_path,
        &out_path,
        &spec,
        &options,
        &mut Progress::none(),
    )?;
    println!("4. pasted it back (streaming rows): {}", out_path.display());

    let result = codec::read_image(&out_path)?;
    let rect = pasted.image_rect;
    let (mut outside, mut inside_ok) = (0u64, true);
    for y in 0..h {
        let (a, b) = (original.view().row(y), result.view().row(y));
        let t = tile.view();
        for x in 0..w {
            let (pa, pb) = (&a[x * 3..x * 3 + 3], &b[x * 3..x * 3 + 3]);
            let inside = (rect.left as usize..rect.right as usize).contains(&x)
                && (rect.top as usize..rect.bottom as usize).contains(&y);
            if inside {
                let tx = x - rect.left as usize;
                let ty = y - rect.top as usize;
                inside_ok &= pb == &t.row(ty)[tx * 3..tx * 3 + 3];
            } else if pa != pb {
                return Err(imkit::Error::Internal(format!(
                    "demo check failed: pixel ({x}, {y}) outside the tile changed"
                )));
            } else {
                outside += 1;
            }
        }
    }
    if !inside_ok {
        return Err(imkit::Error::Internal(
            "demo check failed: the tile was not pasted exactly".into(),
        ));
    }
    println!("5. verified: {outside} pixels outside the tile are byte-identical, the tile matches");
    crate::partition::demo_steps(&dir, &base_path, &original, 6)?;
    crate::map::demo_step(&dir, &base_path, &original, 10)?;
    println!("demo OK (files in {})", dir.display());
    Ok(())
}
