//! `imkit map`: the tile pipeline with an external program per tile, the way shell users wire
//! a model script: each cell is written to a temporary file, the command runs with `{in}` and
//! `{out}` replaced by the tile paths, and the file it writes is blended into the output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use clap::Args;
use imkit::codec::{self, WriteOptions};
use imkit::partition::EdgePolicy;
use imkit::pipeline::{self, Margins, PipelineOptions, TileIn, TileOut};
use imkit::progress::Progress;
use imkit::tiling::Blend;
use imkit::{Error, Result};

use crate::progress_bar::with_bar;

/// Arguments of `imkit map`.
#[derive(Args)]
pub struct MapArgs {
    /// Input image (PNG is streamed top to bottom; TIFF, NPY, EXR read by region).
    input: PathBuf,
    /// Output image (format from the extension; PNG and NPY are streamed).
    output: PathBuf,
    /// Cell size in input pixels.
    #[arg(long, default_value_t = 1024)]
    cell: u64,
    /// Overlap of neighbouring cells in input pixels (smaller than the cell).
    #[arg(long, default_value_t = 0)]
    overlap: u64,
    /// Blending of overlaps: overwrite, average, linear or gaussian.
    #[arg(long, default_value = "overwrite")]
    blend: String,
    /// Edge policy at the far edges: clip, pad, shift or drop.
    #[arg(long, default_value = "clip")]
    edge: String,
    /// The command's tiles are this many times larger than the cells (upscalers).
    #[arg(long, default_value_t = 1)]
    scale: u64,
    /// Grow the canvas by T,R,B,L input pixels (outpainting); margins read as --fill.
    #[arg(long, value_name = "T,R,B,L")]
    grow: Option<String>,
    /// Value of pixels outside the input (margins, padded cells).
    #[arg(long, default_value_t = 0.0)]
    fill: f64,
    /// Commands running at once.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// File format of the temporary tiles: png, tif, npy or exr.
    #[arg(long, default_value = "png")]
    tile_format: String,
    /// PNG compression of the output (0 none, 1 fast, 2-9 zlib).
    #[arg(long, default_value_t = 1)]
    compression: u8,
    /// The command and its arguments, after `--`; `{in}` and `{out}` are replaced by the
    /// tile paths.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// A counting semaphore bounding the commands running at once.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        drop(free);
        let result = f();
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.freed.notify_one();
        result
    }
}

/// A private directory for the temporary tiles, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "imkit-map-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the command on one tile: writes the cell, runs, reads the command's tile back.
fn run_command(args: &MapArgs, dir: &Path, t: &TileIn<'_>, out: &mut TileOut<'_>) -> Result<()> {
    let ext = &args.tile_format;
    let tile_in = dir.join(format!("in_{}_{}.{ext}", t.row, t.col));
    let tile_out = dir.join(format!("out_{}_{}.{ext}", t.row, t.col));
    codec::write_image(&tile_in, &t.image, &WriteOptions::default())?;
    let fill = |a: &String| {
        a.replace("{in}", &tile_in.to_string_lossy())
            .replace("{out}", &tile_out.to_string_lossy())
    };
    let program = fill(&args.command[0]);
    let result = Command::new(&program)
        .args(args.command[1..].iter().map(fill))
        .output()
        .map_err(|e| Error::io(&program, e))?;
    let _ = std::fs::remove_file(&tile_in);
    if !result.status.success() {
        let stderr = String::from_utf8_lossy(&result.stderr);
        return Err(Error::BadState(format!(
            "`{program}` failed ({}): {}",
            result.status,
            stderr.trim()
        )));
    }
    let image = codec::read_image(&tile_out).map_err(|e| match e {
        Error::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            Error::BadState(format!(
                "`{program}` did not write {} (use {{out}} in the command)",
                path.display()
            ))
        }
        other => other,
    })?;
    let _ = std::fs::remove_file(&tile_out);
    out.image.copy_from(&image.view()).map_err(|_| {
        Error::Mismatch(format!(
            "`{program}` wrote a {}x{} {} tile, expected {}x{} {}",
            image.width(),
            image.height(),
            image.format(),
            out.image.width(),
            out.image.height(),
            out.image.format()
        ))
    })
}

/// `imkit map`.
pub fn map(args: MapArgs) -> Result<()> {
    if args.jobs == 0 {
        return Err(Error::invalid("--jobs must be at least 1"));
    }
    let mut options = PipelineOptions::with_overlap(args.cell, args.overlap)?;
    options.grid = options.grid.with_edge(EdgePolicy::parse(&args.edge)?);
    options.blend = Blend::parse(&args.blend)?;
    options.scale = args.scale;
    options.fill = args.fill;
    options.thread_safe = args.jobs > 1;
    options.write.png_compression = args.compression;
    if let Some(grow) = &args.grow {
        options.grow = Margins::parse(grow)?;
    }
    // External commands mostly wait: give the pool at least one thread per job.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    imkit::threads::set_num_threads(args.jobs.max(cores))?;
    let dir = TempDir::new()?;
    let slots = Slots {
        free: Mutex::new(args.jobs),
        freed: Condvar::new(),
    };
    let function =
        |t: &TileIn<'_>, out: &mut TileOut<'_>| slots.run(|| run_command(&args, &dir.0, t, out));
    with_bar("map", |progress| {
        pipeline::map_tiles(&args.input, &args.output, &options, &function, progress)
    })?;
    println!("wrote {}", args.output.display());
    Ok(())
}

/// The demo's pipeline step: a visible per-tile edit (a checkerboard of warm and cool tints)
/// streamed through `map_source` with feathered seams, and a before/after picture.
pub fn demo_step(dir: &Path, sample: &Path, original: &imkit::Image, step: u32) -> Result<()> {
    let mut options = PipelineOptions::with_overlap(512, 128)?;
    options.blend = Blend::Linear;
    options.thread_safe = true;
    let tint = |t: &TileIn<'_>, out: &mut TileOut<'_>| {
        let (warm, shift) = ((t.row + t.col) % 2 == 0, 70u8);
        for y in 0..out.image.height() {
            for px in out.image.row_mut(y).chunks_exact_mut(3) {
                let (up, down) = if warm { (0, 2) } else { (2, 0) };
                px[up] = px[up].saturating_add(shift);
                px[down] = px[down].saturating_sub(shift);
            }
        }
        Ok(())
    };
    let edited = dir.join("sample__pipeline.png");
    pipeline::map_tiles(sample, &edited, &options, &tint, &mut Progress::none())?;
    // Both sides at half size, through the streaming thumbnail.
    let half = |path: &Path, name: &str| -> Result<imkit::Image> {
        let small = dir.join(name);
        let width = original.width() as u64 / 2;
        imkit::thumbnail::thumbnail(
            path,
            &small,
            width,
            &WriteOptions::default(),
            &mut Progress::none(),
        )?;
        codec::read_image(&small)
    };
    let (before, after) = (
        half(sample, "before_half.png")?,
        half(&edited, "after_half.png")?,
    );
    let (w, h, gap) = (before.width(), before.height(), 16);
    let mut picture = imkit::Image::new(2 * w + gap, h, before.format())?;
    let mut view = picture.view_mut();
    view.fill(&[255, 255, 255]);
    for (img, left) in [(&before, 0), (&after, w + gap)] {
        view.crop_mut(imkit::Rect::from_xywh(left as u64, 0, w as u64, h as u64))?
            .copy_from(&img.view())?;
    }
    let picture_path = dir.join("before_after.png");
    codec::write_image(&picture_path, &picture.view(), &WriteOptions::default())?;
    println!(
        "{step}. streamed the sample through a per-tile edit (512x512 cells, overlap 128, linear \
         seams, no tile files): {}",
        edited.display()
    );
    println!(
        "{}. before (left) / after (right), half size: {}",
        step + 1,
        picture_path.display()
    );
    Ok(())
}
