//! The `imkit` command-line tool: one subcommand per job, each in its own module.

mod iid;
mod interrupt;
mod io;
mod map;
mod partition;
mod pictures;
mod progress_bar;
mod tiles;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tile-based processing of images of any size.
#[derive(Parser)]
#[command(name = "imkit", version, about)]
struct Cli {
    /// Worker threads for every command (0 = one per core) [default: $IMKIT_THREADS, else 0].
    /// Output bytes never depend on it.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// Largest image, tile or array imkit may hold in memory, in samples (pixels x channels)
    /// [default: 4294967296]; bigger input is refused before anything is allocated.
    #[arg(long, global = true, value_name = "SAMPLES")]
    max_pixels: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Extract a tile from an image.
    ExtractTile(tiles::ExtractArgs),
    /// Paste a tile into an image (everything outside the tile stays bit-identical).
    PasteTile(tiles::PasteArgs),
    /// Show a file's size (or array shape), pixel type, channels, format and metadata.
    Info(io::InfoArgs),
    /// Convert between PNG, TIFF, EXR and NPY (JPEG input too), carrying the metadata along.
    Convert(io::ConvertArgs),
    /// Run the main job end to end on a built-in synthetic sample.
    Demo(tiles::DemoArgs),
    /// Inspect and query .iid segmentation files.
    #[command(subcommand)]
    Iid(iid::IidCommand),
    /// Write every cell of a grid over an image as its own file, plus a JSON manifest.
    Fragment(partition::FragmentArgs),
    /// Rebuild an image from a fragment manifest, blending overlaps.
    Stitch(partition::StitchArgs),
    /// Print the grid over an image from its header alone (no pixel is read).
    Grid(partition::GridCmdArgs),
    /// Stream an image through an external command tile by tile ({in}/{out} replaced by
    /// temporary tile paths) into one blended output, no tile directory needed.
    Map(map::MapArgs),
    /// Downscale an image of any size with a box filter, streaming (bounded memory).
    Thumbnail(pictures::ThumbnailArgs),
    /// List the tiles of a fragment manifest that changed since fragment wrote them.
    Verify(partition::VerifyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    interrupt::install();
    if let Some(samples) = cli.max_pixels {
        imkit::limits::set_max_pixels(samples);
    }
    let result = match cli.threads.map_or(Ok(()), imkit::threads::set_num_threads) {
        Err(e) => Err(e),
        Ok(()) => run(cli.command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(imkit::Error::Cancelled) if interrupt::interrupted() => {
            eprintln!("imkit: interrupted (nothing half-written was left behind)");
            ExitCode::from(interrupt::EXIT_CODE)
        }
        Err(e) => {
            eprintln!("imkit: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one subcommand.
fn run(command: Command) -> imkit::Result<()> {
    match command {
        Command::ExtractTile(args) => tiles::extract(args),
        Command::PasteTile(args) => tiles::paste(args),
        Command::Info(args) => io::info(args),
        Command::Convert(args) => io::convert(args),
        Command::Demo(args) => tiles::demo(args),
        Command::Iid(cmd) => iid::run(cmd),
        Command::Fragment(args) => partition::fragment(args),
        Command::Stitch(args) => partition::stitch(args),
        Command::Grid(args) => partition::grid(args),
        Command::Map(args) => map::map(args),
        Command::Thumbnail(args) => pictures::thumbnail(args),
        Command::Verify(args) => partition::verify(args),
    }
}
