//! Writes a large synthetic RGB PNG row by row (memory: one row), for benchmarks.
//! Usage: cargo run --release --example make_big_png -- OUT.png WIDTH HEIGHT

use imkit::codec::{atomic::AtomicFile, png::PngMetadata, png::PngWriter};
use imkit::{PixelFormat, PixelType};

fn main() -> imkit::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: make_big_png OUT.png WIDTH HEIGHT");
        std::process::exit(2);
    }
    let parse = |s: &str| {
        s.parse::<usize>()
            .map_err(|e| imkit::Error::invalid(format!("{s}: {e}")))
    };
    let (width, height) = (parse(&args[2])?, parse(&args[3])?);
    let file = AtomicFile::create(&args[1])?;
    let format = PixelFormat::new(PixelType::U8, 3)?;
    let mut writer = PngWriter::new(
        file.unbuffered()?,
        &args[1],
        width,
        height,
        format,
        3,
        &PngMetadata::default(),
    )?;
    let mut row = vec![0u8; width * 3];
    for y in 0..height {
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            px[0] = ((37 * x + 17 * y) % 256) as u8;
            px[1] = ((13 * x + 53 * y) % 256) as u8;
            px[2] = ((97 * x + 19 * y) % 256) as u8;
        }
        writer.write_row(&row)?;
    }
    writer.finish()?;
    file.commit()
}
