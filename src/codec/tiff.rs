//! TIFF through the `tiff` crate.
//!
//! Writing: uint8, uint16 or float32 with 1 (grey), 3 (RGB) or 4 (RGBA) channels, chunky
//! (interleaved) layout, Deflate compression at the fast level; deterministic bytes. Several
//! pages make a multi-page file (a volume, page `z` = slice `z`), see [`TiffPages`].
//! Reading: the first image of the file, grey / grey+alpha / RGB / RGBA / multi-band, any
//! sample type imkit has (8-64 bits); palette, CMYK, YCbCr, Lab, bit depths below 8 and planar
//! (separate-plane) files are rejected with a clear error.

use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Seek, Write};
use std::path::Path;

use tiff::decoder::{ChunkType, Decoder, DecodingSampleType, Limits};
use tiff::encoder::{colortype, compression::DeflateLevel, Compression, TiffEncoder};
use tiff::tags::Tag;

use crate::error::{Error, Result};
use crate::image::{Image, ImageView};
use crate::pixel::{PixelFormat, PixelType};

/// The imkit error for a `tiff` crate error on the file `name`.
pub(crate) fn tiff_error(name: &str, e: tiff::TiffError) -> Error {
    match e {
        tiff::TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::format(format!("{name}: TIFF data is truncated"))
        }
        tiff::TiffError::IoError(io) => Error::io(name, io),
        tiff::TiffError::UnsupportedError(m) => {
            Error::unsupported(format!("{name}: TIFF feature not supported: {m}"))
        }
        tiff::TiffError::LimitsExceeded => Error::format(format!(
            "{name}: a TIFF chunk or tag value is larger than the file or the size limit allows"
        )),
        other => Error::format(format!("{name}: invalid TIFF: {other}")),
    }
}

/// Checks that imkit's TIFF writer can hold `format` exactly.
pub fn check_format(format: PixelFormat) -> Result<()> {
    if !matches!(
        format.dtype,
        PixelType::U8 | PixelType::U16 | PixelType::F32
    ) || !matches!(format.channels, 1 | 3 | 4)
    {
        return Err(Error::unsupported(format!(
            "TIFF (as imkit writes it) cannot store {format}: it holds uint8, uint16 or float32 \
             with 1, 3 or 4 channels"
        )));
    }
    Ok(())
}

fn typed<T: Copy, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| from(c.try_into().expect("chunks_exact gives N bytes")))
        .collect()
}

/// TIFF pages written one after the other into `W` (several pages make a multi-page file:
/// page `z` holds slice `z` of a volume). Bytes are deterministic.
pub struct TiffPages<W: Write + Seek> {
    encoder: TiffEncoder<W>,
    name: String,
}

impl<W: Write + Seek> TiffPages<W> {
    /// Starts a TIFF file in `out`; `name` names it in errors.
    pub fn new(out: W, name: &str) -> Result<Self> {
        let encoder = TiffEncoder::new(out)
            .map_err(|e| tiff_error(name, e))?
            .with_compression(Compression::Deflate(DeflateLevel::Fast));
        Ok(TiffPages {
            encoder,
            name: name.to_string(),
        })
    }

    /// Appends one page.
    pub fn write_page(&mut self, image: &ImageView<'_>) -> Result<()> {
        check_format(image.format())?;
        let name = &self.name;
        let (w, h) = match (u32::try_from(image.width()), u32::try_from(image.height())) {
            (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
            _ => {
                return Err(Error::unsupported(format!(
                    "{name}: TIFF cannot store a {}x{} image",
                    image.width(),
                    image.height()
                )))
            }
        };
        let packed = image.to_image();
        let encoder = &mut self.encoder;
        let bytes = packed.data();
        let result = match (image.dtype(), image.channels()) {
            (PixelType::U8, 1) => encoder.write_image::<colortype::Gray8>(w, h, bytes),
            (PixelType::U8, 3) => encoder.write_image::<colortype::RGB8>(w, h, bytes),
            (PixelType::U8, 4) => encoder.write_image::<colortype::RGBA8>(w, h, bytes),
            (PixelType::U16, c) => {
                let v = typed(bytes, u16::from_ne_bytes);
                match c {
                    1 => encoder.write_image::<colortype::Gray16>(w, h, &v),
                    3 => encoder.write_image::<colortype::RGB16>(w, h, &v),
                    _ => encoder.write_image::<colortype::RGBA16>(w, h, &v),
                }
            }
            (_, c) => {
                let v = typed(bytes, f32::from_ne_bytes);
                match c {
                    1 => encoder.write_image::<colortype::Gray32Float>(w, h, &v),
                    3 => encoder.write_image::<colortype::RGB32Float>(w, h, &v),
                    _ => encoder.write_image::<colortype::RGBA32Float>(w, h, &v),
                }
            }
        };
        result.map_err(|e| tiff_error(name, e))
    }
}

/// Encodes `pages` (one for an image, several for a volume) as TIFF bytes in memory.
pub fn encode(pages: &[ImageView<'_>]) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    let mut writer = TiffPages::new(&mut out, "TIFF")?;
    for page in pages {
        writer.write_page(page)?;
    }
    drop(writer);
    Ok(out.into_inner())
}

/// Writes an image as a TIFF file, atomically.
pub fn write_file(path: &Path, image: &ImageView<'_>) -> Result<()> {
    check_format(image.format())?;
    let file = super::atomic::AtomicFile::create(path)?;
    let out = BufWriter::with_capacity(1 << 20, file.unbuffered()?);
    let mut pages = TiffPages::new(out, &path.display().to_string())?;
    pages.write_page(image)?;
    drop(pages);
    file.commit()
}

/// Samples per pixel of the decoder's current page (colour types imkit reads).
fn page_channels(name: &str, decoder: &mut Decoder<BufReader<File>>) -> Result<usize> {
    Ok(
        match decoder.colortype().map_err(|e| tiff_error(name, e))? {
            tiff::ColorType::Gray(d) if d >= 8 => 1,
            tiff::ColorType::GrayA(d) if d >= 8 => 2,
            tiff::ColorType::RGB(d) if d >= 8 => 3,
            tiff::ColorType::RGBA(d) if d >= 8 => 4,
            tiff::ColorType::Multiband {
                bit_depth,
                num_samples,
            } if bit_depth >= 8 && num_samples > 0 => num_samples as usize,
            other => {
                return Err(Error::unsupported(format!(
                    "{name}: TIFF colour type {other:?} is not supported (grey, grey+alpha, RGB, \
                 RGBA or multi-band with 8-64 bit samples are)"
                )))
            }
        },
    )
}

/// The `tiff` crate's limits for a file of `file_len` bytes. No compressed chunk can be longer
/// than the file; IFD values (which the crate holds as 32-byte enum values, up to 32 per file
/// byte) are bounded by 32 times the file and by the sample limit, with a 1 MiB floor. Decoded
/// pixels never come from the crate's own buffers: imkit decodes into buffers it allocated
/// fallibly ([`read_file`], the region source).
pub(crate) fn decoder_limits(file_len: u64) -> Limits {
    let file = usize::try_from(file_len).unwrap_or(usize::MAX);
    let values = file
        .saturating_mul(32)
        .min(usize::try_from(crate::limits::max_pixels()).unwrap_or(usize::MAX))
        .max(1 << 20);
    let mut limits = Limits::default();
    limits.decoding_buffer_size = values;
    limits.ifd_value_size = values;
    limits.intermediate_buffer_size = file;
    limits
}

/// A decoder over the TIFF at `path`, with [`decoder_limits`] for its size.
pub(crate) fn open_decoder(path: &Path) -> Result<Decoder<BufReader<File>>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    Decoder::new(BufReader::with_capacity(1 << 16, file))
        .map(|d| d.with_limits(decoder_limits(len)))
        .map_err(|e| tiff_error(&path.display().to_string(), e))
}

fn open(path: &Path) -> Result<(Decoder<BufReader<File>>, usize, usize, usize)> {
    let name = path.display().to_string();
    let mut decoder = open_decoder(path)?;
    let (w, h) = decoder.dimensions().map_err(|e| tiff_error(&name, e))?;
    let channels = page_channels(&name, &mut decoder)?;
    Ok((decoder, w as usize, h as usize, channels))
}

/// Bytes of a chunk read to find its JPEG frame header (tables normally live in the
/// JPEGTables tag, so the frame comes within the first few bytes).
const JPEG_HEAD: u64 = 4096;

/// For a JPEG-compressed page (the decoder's current one), refuses every chunk whose JPEG
/// frame is larger than the chunk or has more than 4 components: the `tiff` crate decodes a
/// chunk into a buffer of its frame's size (every coefficient, for a progressive one), which
/// only this check ties to the chunk's size and so to the limit. Reads the head of each chunk.
pub(crate) fn check_jpeg_chunks(path: &Path, d: &mut Decoder<BufReader<File>>) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let name = path.display().to_string();
    let e = |err| tiff_error(&name, err);
    if d.find_tag_unsigned::<u64>(Tag::Compression).map_err(e)? != Some(7) {
        return Ok(());
    }
    let (offsets, counts) = match d.get_chunk_type() {
        ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
        ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
    };
    let offsets = d.get_tag_u64_vec(offsets).map_err(e)?;
    let counts = d.get_tag_u64_vec(counts).map_err(e)?;
    let (cw, ch) = d.chunk_dimensions();
    let file = File::open(path).map_err(|err| Error::io(path, err))?;
    let file_len = file.metadata().map_err(|err| Error::io(path, err))?.len();
    for (index, (&offset, &len)) in offsets.iter().zip(&counts).enumerate() {
        if offset.checked_add(len).map_or(true, |end| end > file_len) {
            return Err(Error::format(format!(
                "{name}: chunk {index} lies beyond the end of the file"
            )));
        }
        let mut frame = None;
        for take in [len.min(JPEG_HEAD), len] {
            let what = format!("{name}: JPEG chunk {index}");
            let mut head = crate::limits::zeroed(take as usize, &what)?;
            file.read_exact_at(&mut head, offset)
                .map_err(|err| Error::io(path, err))?;
            frame = super::jpeg::frame(&head);
            if frame.is_some() || take == len {
                break;
            }
        }
        let fits = frame.as_ref().is_some_and(|f| {
            f.width <= u64::from(cw) && f.height <= u64::from(ch) && f.sampling.len() <= 4
        });
        if !fits {
            return Err(Error::format(format!(
                "{name}: the JPEG data of chunk {index} ({}) does not fit the {cw}x{ch} chunk",
                frame.map_or("no frame header".to_string(), |f| format!(
                    "a {}x{} frame of {} components",
                    f.width,
                    f.height,
                    f.sampling.len()
                ))
            )));
        }
    }
    Ok(())
}

/// The pixel type the decoder delivers its samples in.
fn decoded_type(t: DecodingSampleType) -> PixelType {
    match t {
        DecodingSampleType::U8 => PixelType::U8,
        DecodingSampleType::U16 => PixelType::U16,
        DecodingSampleType::U32 => PixelType::U32,
        DecodingSampleType::U64 => PixelType::U64,
        DecodingSampleType::F16 => PixelType::F16,
        DecodingSampleType::F32 => PixelType::F32,
        DecodingSampleType::F64 => PixelType::F64,
        DecodingSampleType::I8 => PixelType::I8,
        DecodingSampleType::I16 => PixelType::I16,
        DecodingSampleType::I32 => PixelType::I32,
        DecodingSampleType::I64 => PixelType::I64,
    }
}

/// Reads the size and pixel layout of a TIFF file's first image.
pub fn probe(path: &Path) -> Result<(usize, usize, PixelFormat)> {
    let (mut decoder, w, h, channels) = open(path)?;
    Ok((w, h, page_format(path, &mut decoder, channels)?))
}

/// The size and pixel layout of every page (image file directory) of a TIFF file, in order.
pub fn probe_pages(path: &Path) -> Result<Vec<(usize, usize, PixelFormat)>> {
    let (mut decoder, w, h, channels) = open(path)?;
    let mut pages = vec![(w, h, page_format(path, &mut decoder, channels)?)];
    while decoder.more_images() {
        let name = path.display().to_string();
        decoder.next_image().map_err(|e| tiff_error(&name, e))?;
        let (w, h) = decoder.dimensions().map_err(|e| tiff_error(&name, e))?;
        let channels = page_channels(&name, &mut decoder)?;
        let format = page_format(path, &mut decoder, channels)?;
        pages.push((w as usize, h as usize, format));
    }
    Ok(pages)
}

/// The pixel layout of the decoder's current page, which has `channels` samples per pixel.
fn page_format(
    path: &Path,
    decoder: &mut Decoder<BufReader<File>>,
    channels: usize,
) -> Result<PixelFormat> {
    let name = path.display().to_string();
    let bits = match decoder.colortype().map_err(|e| tiff_error(&name, e))? {
        tiff::ColorType::Gray(d)
        | tiff::ColorType::GrayA(d)
        | tiff::ColorType::RGB(d)
        | tiff::ColorType::RGBA(d) => d,
        tiff::ColorType::Multiband { bit_depth, .. } => bit_depth,
        _ => 0,
    };
    // SampleFormat is optional (default 1 = unsigned) and holds one value per sample.
    let format = decoder
        .get_tag_u16_vec(tiff::tags::Tag::SampleFormat)
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(1);
    let (format, bits) = (u64::from(format), u64::from(bits));
    let dtype =
        sample_type(format, bits).ok_or_else(|| unsupported_samples(&name, format, bits))?;
    PixelFormat::new(dtype, channels)
}

/// The pixel type of TIFF samples: `SampleFormat` (1 unsigned, 2 signed, 3 IEEE float) and
/// `BitsPerSample`. The one table for the whole-file codec and the region source.
pub(crate) fn sample_type(sample_format: u64, bits: u64) -> Option<PixelType> {
    Some(match (sample_format, bits) {
        (1, 8) => PixelType::U8,
        (1, 16) => PixelType::U16,
        (1, 32) => PixelType::U32,
        (1, 64) => PixelType::U64,
        (2, 8) => PixelType::I8,
        (2, 16) => PixelType::I16,
        (2, 32) => PixelType::I32,
        (2, 64) => PixelType::I64,
        (3, 16) => PixelType::F16,
        (3, 32) => PixelType::F32,
        (3, 64) => PixelType::F64,
        _ => return None,
    })
}

/// The error for samples [`sample_type`] does not know.
pub(crate) fn unsupported_samples(name: &str, sample_format: u64, bits: u64) -> Error {
    Error::unsupported(format!(
        "{name}: TIFF sample format {sample_format} with {bits} bits is not supported"
    ))
}

/// Reads the first image of a TIFF file into a buffer allocated here, fallibly, after the
/// size check (the decoder's own result buffer would abort when memory runs out).
pub fn read_file(path: &Path) -> Result<Image> {
    let name = path.display().to_string();
    let (mut decoder, w, h, channels) = open(path)?;
    let what = format!("{name}: the TIFF");
    crate::limits::check_image(&what, w as u64, h as u64, channels as u64)?;
    check_jpeg_chunks(path, &mut decoder)?;
    let layout = decoder
        .image_buffer_layout()
        .map_err(|e| tiff_error(&name, e))?;
    let dtype = layout
        .sample_type
        .map(decoded_type)
        .ok_or_else(|| Error::unsupported(format!("{name}: TIFF sample type not supported")))?;
    let format = PixelFormat::new(dtype, channels)?;
    let expected = w
        .checked_mul(h)
        .and_then(|n| n.checked_mul(format.bytes_per_pixel()))
        .ok_or_else(|| Error::format(format!("{name}: TIFF size overflows")))?;
    if layout.len != expected {
        return Err(Error::unsupported(format!(
            "{name}: TIFF decodes to {} bytes, expected {expected} for {w}x{h} {format} \
             (planar / separate-plane TIFFs are not supported)",
            layout.len
        )));
    }
    let mut bytes = crate::buffer::zeroed(expected, &what)?;
    decoder
        .read_image_bytes(&mut bytes)
        .map_err(|e| tiff_error(&name, e))?;
    Image::from_vec(w, h, format, bytes)
}
