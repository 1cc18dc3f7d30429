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

/// Decodes a whole JPEG file. The output and the coefficients a progressive decoder keeps for
/// the whole image both count against the sample limit; the output is allocated here and the
/// decoder's own coefficient buffers are pre-reserved, both fallibly.
pub fn read_file(path: &Path) -> Result<Image> {
    let name = path.display().to_string();
    let bytes = load(path)?;
    let (w, h, channels) = read_header(&name, &bytes)?;
    let what = format!("{name}: the JPEG");
    crate::limits::check_image(&what, w as u64, h as u64, channels as u64)?;
    let mut dec = decoder(&bytes, channels == 1);
    dec.decode_headers()
        .map_err(|e| Error::format(format!("{name}: invalid JPEG: {e:?}")))?;
    let coefficients = match frame(&bytes) {
        Some(frame) => frame.buffered_coefficients(),
        None => worst_case_coefficients(&dec),
    };
    let samples = (w as u64 * h as u64 * channels as u64).saturating_add(coefficients);
    crate::limits::check_samples(
        &format!("{what} (its pixels and {coefficients} coefficients held while decoding)"),
        samples,
    )?;
    let coefficient_bytes = usize::try_from(coefficients.saturating_mul(2)).unwrap_or(usize::MAX);
    crate::limits::ensure_available(coefficient_bytes, &format!("{what}'s coefficients"))?;
    let len = dec
        .output_buffer_size()
        .ok_or_else(|| Error::format(format!("{name}: JPEG size overflows")))?;
    let mut pixels = crate::limits::zeroed(len, &what)?;
    dec.decode_into(&mut pixels)
        .map_err(|e| Error::format(format!("{name}: invalid JPEG: {e:?}")))?;
    Image::from_vec(w, h, PixelFormat::new(PixelType::U8, channels)?, pixels)
        .map_err(|e| Error::format(format!("{name}: JPEG decoder returned bad data: {e}")))
}

/// A bound on the coefficients of a file whose markers [`frame`] could not follow (the
/// decoder is more lenient): every component at full size, padded to the largest MCU.
fn worst_case_coefficients(dec: &JpegDecoder<ZCursor<&[u8]>>) -> u64 {
    dec.info().map_or(0, |info| {
        let pad = |n: u16| u64::from(n).div_ceil(32) * 32;
        u64::from(info.components) * pad(info.width) * pad(info.height)
    })
}

/// A JPEG frame as the markers before its first scan describe it.
#[derive(Debug, PartialEq)]
pub(crate) struct Frame {
    /// Width in pixels.
    pub(crate) width: u64,
    /// Height in pixels.
    pub(crate) height: u64,
    /// Horizontal and vertical sampling factors of each component.
    pub(crate) sampling: Vec<(u64, u64)>,
    /// A progressive (SOF2, SOF6, SOF10, SOF14) frame.
    pub(crate) progressive: bool,
    /// Number of components in the first scan.
    pub(crate) first_scan: usize,
}

impl Frame {
    /// Coefficients (one 16-bit value each) the decoder holds for the whole image: every
    /// block of every component when the frame is progressive or its first scan lacks some
    /// components, otherwise none (baseline decodes one row of blocks at a time).
    pub(crate) fn buffered_coefficients(&self) -> u64 {
        if !self.progressive && self.first_scan >= self.sampling.len() {
            return 0;
        }
        // A single component is decoded without subsampling, whatever its factors say.
        let sampling: Vec<(u64, u64)> = if self.sampling.len() == 1 {
            vec![(1, 1)]
        } else {
            self.sampling.clone()
        };
        let h_max = sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1);
        let v_max = sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1);
        let (mcu_x, mcu_y) = (
            self.width.div_ceil(8 * h_max),
            self.height.div_ceil(8 * v_max),
        );
        sampling
            .iter()
            .map(|&(h, v)| (mcu_x * 8 * h).saturating_mul(mcu_y * 8 * v))
            .fold(0, u64::saturating_add)
    }
}

/// The frame header and first scan of a JPEG stream, following its marker segments; `None`
/// when the stream ends or breaks before a frame header and a scan.
pub(crate) fn frame(bytes: &[u8]) -> Option<Frame> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    let mut found: Option<Frame> = None;
    loop {
        while *bytes.get(at)? == 0xFF && *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        at += 2;
        if matches!(marker, 0x01 | 0xD0..=0xD8) {
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        let segment = bytes.get(at + 2..at.checked_add(len)?)?;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let count = usize::from(*segment.get(5)?);
                let sampling = (0..count)
                    .map(|i| {
                        let hv = *segment.get(6 + 3 * i + 1)?;
                        Some((u64::from(hv >> 4), u64::from(hv & 15)))
                    })
                    .collect::<Option<Vec<_>>>()?;
                found = Some(Frame {
                    width: u64::from(u16::from_be_bytes([segment[3], segment[4]])),
                    height: u64::from(u16::from_be_bytes([segment[1], segment[2]])),
                    sampling,
                    progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                    first_scan: 0,
                });
            }
            0xDA => {
                let mut frame = found?;
                frame.first_scan = usize::from(*segment.first()?);
                return Some(frame);
            }
            0xD9 => return None,
            _ => {}
        }
        at += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, an SOF segment of `marker` for `w` x `h` with `sampling`, an SOS with `first`
    /// components.
    fn stream(marker: u8, w: u16, h: u16, sampling: &[u8], first: u8) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, b'J', b'F'];
        let len = 8 + 3 * sampling.len() as u16;
        v.extend([0xFF, marker]);
        v.extend(len.to_be_bytes());
        v.push(8);
        v.extend(h.to_be_bytes());
        v.extend(w.to_be_bytes());
        v.push(sampling.len() as u8);
        for (i, s) in sampling.iter().enumerate() {
            v.extend([i as u8 + 1, *s, 0]);
        }
        v.extend([0xFF, 0xDA, 0, 3, first]);
        v
    }

    #[test]
    fn frames_count_the_coefficients_a_decoder_keeps() {
        let baseline = frame(&stream(0xC0, 100, 50, &[0x22, 0x11, 0x11], 3)).unwrap();
        assert_eq!((baseline.width, baseline.height), (100, 50));
        assert_eq!(baseline.sampling, vec![(2, 2), (1, 1), (1, 1)]);
        assert_eq!(baseline.buffered_coefficients(), 0);
        // 4:2:0, 7 x 4 MCUs of 16 x 16: luma 112 x 64, chroma 56 x 32 each.
        let progressive = frame(&stream(0xC2, 100, 50, &[0x22, 0x11, 0x11], 1)).unwrap();
        assert_eq!(progressive.buffered_coefficients(), 112 * 64 + 2 * 56 * 32);
        // A baseline file that sends its components in separate scans buffers them too.
        let separate = frame(&stream(0xC0, 8, 8, &[0x11, 0x11, 0x11], 1)).unwrap();
        assert_eq!(separate.buffered_coefficients(), 3 * 64);
        let grey = frame(&stream(0xC2, 9, 9, &[0x22], 1)).unwrap();
        assert_eq!(grey.buffered_coefficients(), 16 * 16);
        assert_eq!(frame(&stream(0xC2, 9, 9, &[0x22], 1)[..20]), None);
        assert_eq!(frame(b"not a jpeg"), None);
    }
}
