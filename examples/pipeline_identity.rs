//! The identity tile pipeline, for benchmarks: every cell passed through unchanged and
//! blended back (the pipeline's own cost: decode, cells, blend, encode). The output tile
//! starts as a copy of the input, so the identity function does nothing, as `out = tile`
//! in the pyvips loop of benches/pipeline.sh.
//! Usage: cargo run --release --example pipeline_identity -- IN OUT CELL OVERLAP BLEND

use imkit::pipeline::{self, PipelineOptions, TileIn, TileOut};
use imkit::progress::Progress;
use imkit::tiling::Blend;

fn main() -> imkit::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: pipeline_identity IN OUT CELL OVERLAP BLEND");
        std::process::exit(2);
    }
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|e| imkit::Error::invalid(format!("{s}: {e}")))
    };
    let mut options = PipelineOptions::with_overlap(number(&args[3])?, number(&args[4])?)?;
    options.blend = Blend::parse(&args[5])?;
    options.thread_safe = true;
    let identity = |_: &TileIn<'_>, _: &mut TileOut<'_>| Ok(());
    pipeline::map_tiles(
        args[1].as_ref(),
        args[2].as_ref(),
        &options,
        &identity,
        &mut Progress::none(),
    )?;
    Ok(())
}
