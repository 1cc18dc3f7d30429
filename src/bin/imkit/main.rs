//! The `imkit` command-line tool: one subcommand per job, each in its own module.

mod iid;
mod io;
mod map;
mod partition;
mod progress_bar;
mod tiles;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tile-based processing of images of any size.
#[derive(Parser)]
#[command(name = "imkit", version, about)]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imkit: error: {e}");
            ExitCode::FAILURE
        }
    }
}
