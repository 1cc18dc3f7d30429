//! JPEG reading with `zune-jpeg` (the decoder the `tiff` crate already uses for JPEG-in-TIFF,
//! so it adds no new dependency tree; it is maintained, pure Rust and SIMD-accelerated).
//! Greyscale files read as one channel of uint8, everything else as RGB uint8.
//! imkit does not write JPEG: it is lossy, and imkit never writes lossy data silently.

use std::path::Path;

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::error::{Error, Result};
use crate::image::Image;
use crate::pixel::{PixelFormat, PixelType};

fn decoder(bytes: &[u8], grey: bool) -> JpegDecoder<ZCursor<&[u8]>> {
    let options = DecoderOptions::default()
        .set_max_width(1 << 16)
        .set_max_height(1 << 16)
        .jpeg_set_out_colorspace(if grey {
            ColorSpace::Luma
        } else {
            ColorSpace::RGB
        });
    JpegDecoder::new_with_options(ZCursor::new(bytes), options)
}

fn read_header(name: &str, bytes: &[u8]) -> Result<(usize, usize, usize)> {
    let mut dec = decoder(bytes, false);
    dec.decode_headers()
        .map_err(|e| Error::format(format!("{name}: invalid JPEG: {e:?}")))?;
    let info = dec
        .info()
        .ok_or_else(|| Error::format(format!("{name}: JPEG header missing")))?;
    let channels = if info.components == 1 { 1 } else { 3 };
    Ok((info.width as usize, info.height as usize, channels))
}

fn load(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Reads the size and pixel layout of a JPEG file.
pub fn probe(path: &Path) -> Result<(usize, usize, PixelFormat)> {
    let bytes = load(path)?;
    let (w, h, c) = read_header(&path.display().to_string(), &bytes)?;
    Ok((w, h, PixelFormat::new(PixelType::U8, c)?))
}

/// Decodes a whole JPEG file.
pub fn read_file(path: &Path) -> Result<Image> {
    let name = path.display().to_string();
    let bytes = load(path)?;
    let (w, h, channels) = read_header(&name, &bytes)?;
    crate::limits::check_image(
        &format!("{name}: the JPEG"),
        w as u64,
        h as u64,
        channels as u64,
    )?;
    // Decoded into a buffer allocated here, fallibly (the decoder's own would abort).
    let mut dec = decoder(&bytes, channels == 1);
    dec.decode_headers()
        .map_err(|e| Error::format(format!("{name}: invalid JPEG: {e:?}")))?;
    let len = dec
        .output_buffer_size()
        .ok_or_else(|| Error::format(format!("{name}: JPEG size overflows")))?;
    let mut pixels = crate::limits::zeroed(len, &format!("{name}: the JPEG"))?;
    dec.decode_into(&mut pixels)
        .map_err(|e| Error::format(format!("{name}: invalid JPEG: {e:?}")))?;
    Image::from_vec(w, h, PixelFormat::new(PixelType::U8, channels)?, pixels)
        .map_err(|e| Error::format(format!("{name}: JPEG decoder returned bad data: {e}")))
}
