//! Pictures of big data: `imkit thumbnail` (a streaming box-filter downscale).

use std::path::PathBuf;

use clap::Args;
use imkit::codec::WriteOptions;
use imkit::progress::Progress;

use crate::progress_bar::ProgressBar;

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
    let mut bar = ProgressBar::new("thumbnail");
    let mut report = |d, t| bar.update(d, t);
    let (w, h) = imkit::thumbnail::thumbnail(
        &args.input,
        &args.output,
        args.width,
        &WriteOptions::default(),
        &mut Progress::new(&mut report),
    )?;
    drop(bar);
    println!("wrote {} ({w}x{h})", args.output.display());
    Ok(())
}
