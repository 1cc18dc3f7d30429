//! `info` and `convert`: image + metadata files.

use std::path::PathBuf;

use clap::Args;
use imkit::codec::{self, ExrCompression, WriteOptions};
use imkit::io::{self, SaveOptions};

/// Arguments of `imkit info`.
#[derive(Args)]
pub struct InfoArgs {
    /// Image or array file (PNG, JPEG, TIFF, EXR, NPY); the extension may be omitted.
    file: PathBuf,
}

/// Arguments of `imkit convert`.
#[derive(Args)]
pub struct ConvertArgs {
    /// Input file (PNG, JPEG, TIFF, EXR, NPY); its `<stem>.json` sidecar is carried along.
    input: PathBuf,
    /// Output file; its extension picks the format (without one, the format follows the data:
    /// uint8/uint16 1-4 channels PNG, float16/float32 EXR, anything else NPY).
    output: PathBuf,
    /// PNG compression: 0 none, 1 fast, 2-9 zlib levels.
    #[arg(long, default_value_t = 1)]
    png_compression: u8,
    /// EXR compression: none, rle, zips, zip or piz.
    #[arg(long, default_value = "zip")]
    exr_compression: String,
    /// Write non-finite metadata numbers as Python's NaN/Infinity tokens instead of failing.
    #[arg(long)]
    python_tokens: bool,
    /// Ignore the input's sidecar (even a broken one) and write none.
    #[arg(long)]
    no_metadata: bool,
}

fn exr_compression(name: &str) -> imkit::Result<ExrCompression> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "none" => ExrCompression::None,
        "rle" => ExrCompression::Rle,
        "zips" => ExrCompression::Zips,
        "zip" => ExrCompression::Zip,
        "piz" => ExrCompression::Piz,
        other => {
            return Err(imkit::Error::invalid(format!(
                "unknown EXR compression '{other}' (none, rle, zips, zip, piz)"
            )))
        }
    })
}

/// `imkit info FILE`.
pub fn info(args: InfoArgs) -> imkit::Result<()> {
    let file = io::find_file(&args.file)?;
    let info = codec::probe_array(&file)?;
    println!("file:     {}", file.display());
    println!("format:   {}", info.file_format.name());
    match (
        info.shape.as_slice(),
        imkit::array::image_format_of(info.dtype, &info.shape),
    ) {
        (&[d, h, w, c], _) => {
            println!(
                "volume:   {d} slices of {w} x {h} (depth x width x height), shape (d, h, w, c)"
            );
            println!("type:     {}", info.dtype);
            println!("channels: {c}");
        }
        (_, Some((w, h, format))) => {
            println!("size:     {w} x {h} (width x height)");
            println!("type:     {}", format.dtype);
            println!("channels: {}", format.channels);
        }
        (_, None) => {
            println!("shape:    {:?} (not an image)", info.shape);
            println!("type:     {}", info.dtype);
        }
    }
    if let (codec::Format::Npy, &[d, h, w]) = (info.file_format, info.shape.as_slice()) {
        println!("volume:   with --volume, {d} slices of {w} x {h} (shape read as (d, h, w))");
    }
    if info.file_format == codec::Format::Tiff {
        print_pages(&codec::tiff::probe_pages(&file)?);
    }
    let sidecar = io::metadata::sidecar_path(&file);
    let metadata = match io::load_metadata(&file) {
        Ok(metadata) => metadata,
        Err(imkit::Error::Format(m)) => {
            println!("metadata: {} (broken)", sidecar.display());
            return Err(imkit::Error::Format(format!(
                "broken metadata sidecar {m} (the image itself is fine; convert \
                 --no-metadata skips the sidecar)"
            )));
        }
        Err(e) => return Err(e),
    };
    if metadata.is_empty() {
        println!("metadata: (none)");
    } else {
        println!("metadata: {}", io::metadata::sidecar_path(&file).display());
        for line in io::metadata::to_text(&metadata, true)?.lines() {
            println!("  {line}");
        }
    }
    Ok(())
}

/// Lists the pages of a multi-page TIFF: a volume when they all match, else how they differ.
fn print_pages(pages: &[(usize, usize, imkit::PixelFormat)]) {
    let [first, rest @ ..] = pages else { return };
    if rest.is_empty() {
        return;
    }
    let text = |(w, h, f): &(usize, usize, imkit::PixelFormat)| format!("{w} x {h} {f}");
    if rest.iter().all(|p| p == first) {
        println!(
            "pages:    {}, all {} (a volume of {} slices)",
            pages.len(),
            text(first),
            pages.len()
        );
    } else {
        println!(
            "pages:    {}, which differ in size or type (not a volume: a volume needs equal pages)",
            pages.len()
        );
    }
    for (i, page) in pages.iter().enumerate() {
        println!("  page {i}: {}", text(page));
    }
}

/// `imkit convert IN OUT`.
pub fn convert(args: ConvertArgs) -> imkit::Result<()> {
    let options = SaveOptions {
        write: WriteOptions {
            png_compression: args.png_compression,
            exr_compression: exr_compression(&args.exr_compression)?,
        },
        python_tokens: args.python_tokens,
        overwrite: false,
    };
    let load = io::LoadOptions {
        metadata: !args.no_metadata,
    };
    let (data, metadata) = io::load_with(&args.input, &load)?;
    let sidecar = io::metadata::sidecar_path(&io::find_file(&args.input)?);
    let (target, _) = io::resolve_path(&args.output, &data.as_ref())?;
    if args.no_metadata && io::metadata::sidecar_path(&target) == sidecar && sidecar.exists() {
        return Err(imkit::Error::invalid(format!(
            "{} shares its sidecar {} with the input: writing it without metadata would \
             delete that sidecar (choose another output name)",
            target.display(),
            sidecar.display()
        )));
    }
    let written = io::save(&args.output, data.as_ref(), &metadata, &options)?;
    println!("wrote {}", written.display());
    if !metadata.is_empty() {
        println!("wrote {}", io::metadata::sidecar_path(&written).display());
    }
    Ok(())
}
