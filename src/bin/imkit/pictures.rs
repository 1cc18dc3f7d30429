//! Pictures of big data: `imkit thumbnail` (a streaming box-filter downscale).

use std::path::PathBuf;

use clap::Args;
use imkit::codec::WriteOptions;

use crate::progress_bar::with_bar;

/// Arguments of `imkit thumbnail`.
#[derive(Args)]
pub struct ThumbnailArgs {
    /// Input image of any size (PNG is streamed once; TIFF, NPY, EXR read by region).
    input: PathBuf,
    /// Output image (format from the extension).
    output: PathBuf,
    /// Width of the thumbnail in pixels (the height keeps the aspect ratio).
    #[arg(long, default_value_t = 512)]
    width: u64,
}

/// `imkit thumbnail`.
pub fn thumbnail(args: ThumbnailArgs) -> imkit::Result<()> {
    let (w, h) = with_bar("thumbnail", |progress| {
        imkit::thumbnail::thumbnail(
            &args.input,
            &args.output,
            args.width,
            &WriteOptions::default(),
            progress,
        )
    })?;
    println!("wrote {} ({w}x{h})", args.output.display());
    Ok(())
}
