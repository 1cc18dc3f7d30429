//! PNG, read and written row by row so images of any height stream through a band of rows.
//!
//! Reading: 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA; palette images come out as RGB, or RGBA
//! when they carry transparency; bit depths below 8 are expanded to 8. 16-bit samples are
//! returned in native byte order. Interlaced (Adam7) files are decoded whole on open, since
//! their rows do not arrive in order.
//!
//! Writing: u8/u16 with 1–4 channels, deterministic bytes for the same pixels and options.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::Path;

use super::png_bands::{first_idat, BandDecoder, Decoded, INDEX_CHUNK};
use super::png_idat::{write_idat, ParallelIdat};
use super::png_staged::StagedDecoder;
use crate::error::{Error, Result};
use crate::pixel::{PixelFormat, PixelType};

/// The eight bytes every PNG file starts with.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// Ancillary data carried from a decoded PNG into one written from it (ICC profile, pixel
/// density), so editing a file does not silently drop them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PngMetadata {
    /// The embedded ICC profile, uncompressed.
    pub icc_profile: Option<Vec<u8>>,
    /// Pixel density from `pHYs`: (x, y, unit is metre).
    pub pixel_dims: Option<(u32, u32, bool)>,
}

fn decode_error(name: &str, e: png::DecodingError) -> Error {
    match e {
        png::DecodingError::IoError(io) if io.kind() != std::io::ErrorKind::UnexpectedEof => {
            Error::io(name, io)
        }
        png::DecodingError::IoError(_) => Error::format(format!(
            "{name}: PNG data is truncated (unexpected end of file)"
        )),
        other => Error::format(format!("{name}: invalid PNG: {other}")),
    }
}

fn encode_error(name: &str, e: png::EncodingError) -> Error {
    match e {
        png::EncodingError::IoError(io) => Error::io(name, io),
        other => Error::Internal(format!("{name}: PNG encoder: {other}")),
    }
}

/// The most the `png` crate may allocate for a file's metadata chunks (ICC profile, text;
/// libpng's cap is 8 MB), beside one row: a compressed ICC bomb stops there.
const METADATA_BYTES: usize = 64 << 20;

/// A PNG decoder that hands out one row at a time, top to bottom.
pub struct PngReader<R: BufRead + Seek> {
    name: String,
    reader: png::Reader<R>,
    width: usize,
    height: usize,
    format: PixelFormat,
    metadata: PngMetadata,
    next_row: usize,
    row: Vec<u8>,
    /// The whole decoded image, for interlaced files only.
    whole: Option<Vec<u8>>,
    /// Segments decoded in parallel, for files with a valid segment index (imkit's own).
    bands: Option<BandDecoder>,
    /// Inflate and unfilter overlapped, for other files with 8- or 16-bit samples stored as
    /// they are handed out (otherwise the `png` crate decodes the rows).
    staged: Option<StagedDecoder>,
}

impl PngReader<BufReader<File>> {
    /// Opens a PNG file and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        let own_file = file.try_clone().map_err(|e| Error::io(path, e))?;
        let mut reader = PngReader::new(BufReader::with_capacity(1 << 16, file), &name)?;
        let info = reader.reader.info();
        let (color, depth) = (info.color_type, info.bit_depth);
        let plain = !matches!(color, png::ColorType::Indexed)
            && matches!(depth, png::BitDepth::Eight | png::BitDepth::Sixteen);
        let bpp = reader.format.bytes_per_pixel();
        // Without expansion (a tRNS chunk makes the crate add an alpha channel).
        let as_stored = plain && color.samples() * (depth as usize / 8) == bpp;
        if as_stored && reader.whole.is_none() {
            let row_bytes = reader.row.len();
            let file = own_file.try_clone().map_err(|e| Error::io(path, e))?;
            reader.bands = BandDecoder::open(file, &name, reader.height, row_bytes, bpp)?;
            if reader.bands.is_none() {
                let start = first_idat(&own_file)
                    .map_err(|e| Error::io(path, e))?
                    .ok_or_else(|| Error::format(format!("{name}: PNG has no image data")))?;
                let staged =
                    StagedDecoder::new(own_file, &name, start, reader.height, row_bytes, bpp);
                reader.staged = Some(staged?);
            }
        }
        Ok(reader)
    }
}

impl<R: BufRead + Seek> PngReader<R> {
    /// Starts decoding from `input`; `name` labels error messages.
    pub fn new(input: R, name: &str) -> Result<Self> {
        let mut decoder = png::Decoder::new_with_limits(
            input,
            png::Limits {
                bytes: METADATA_BYTES,
            },
        );
        decoder.set_transformations(png::Transformations::EXPAND);
        // The crate's own allocations: its row buffer (at most 8 bytes a pixel) and metadata.
        let width = decoder
            .read_header_info()
            .map_err(|e| decode_error(name, e))?
            .width as usize;
        decoder.set_limits(png::Limits {
            bytes: METADATA_BYTES.saturating_add(width.saturating_mul(8)),
        });
        let mut reader = decoder.read_info().map_err(|e| decode_error(name, e))?;
        let (color, depth) = reader.output_color_type();
        let channels = match color {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            png::ColorType::Indexed => {
                return Err(Error::format(format!("{name}: palette was not expanded")))
            }
        };
        let dtype = match depth {
            png::BitDepth::Sixteen => PixelType::U16,
            png::BitDepth::Eight => PixelType::U8,
            other => {
                return Err(Error::format(format!(
                    "{name}: unexpected bit depth {other:?} after expansion"
                )))
            }
        };
        let info = reader.info();
        let (width, height) = (info.width as usize, info.height as usize);
        let metadata = PngMetadata {
            icc_profile: info.icc_profile.as_ref().map(|p| p.to_vec()),
            pixel_dims: info
                .pixel_dims
                .map(|d| (d.xppu, d.yppu, d.unit == png::Unit::Meter)),
        };
        let format = PixelFormat { dtype, channels };
        let what = format!("{name}: a row of the PNG");
        crate::limits::check_image(&what, width as u64, 1, channels as u64)?;
        let row_bytes = width * format.bytes_per_pixel();
        // The crate's unfiltering buffer holds about five raw rows and the previous one.
        crate::limits::ensure_available(row_bytes.saturating_mul(6), &what)?;
        let whole = if info.interlaced {
            let what = format!("{name}: the interlaced PNG");
            crate::limits::check_image(&what, width as u64, height as u64, channels as u64)?;
            let size = reader
                .output_buffer_size()
                .ok_or_else(|| Error::unsupported(format!("{name}: interlaced PNG too large")))?;
            let mut buf = crate::limits::zeroed(size, &what)?;
            reader
                .next_frame(&mut buf)
                .map_err(|e| decode_error(name, e))?;
            Some(buf)
        } else {
            None
        };
        Ok(PngReader {
            name: name.to_string(),
            reader,
            width,
            height,
            format,
            metadata,
            next_row: 0,
            row: crate::limits::zeroed(row_bytes, &what)?,
            whole,
            bands: None,
            staged: None,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }
    /// Pixel layout of the rows handed out.
    pub fn format(&self) -> PixelFormat {
        self.format
    }
    /// ICC profile and density of the file.
    pub fn metadata(&self) -> &PngMetadata {
        &self.metadata
    }

    /// Decodes the next row (native byte order). Errors after the last row.
    pub fn next_row(&mut self) -> Result<&[u8]> {
        let mut row = std::mem::take(&mut self.row);
        let decoded = self.next_row_into(&mut row);
        self.row = row;
        decoded?;
        Ok(&self.row)
    }

    /// Decodes the next row (native byte order) straight into `out`, one row of bytes.
    /// Errors after the last row.
    pub fn next_row_into(&mut self, out: &mut [u8]) -> Result<()> {
        if self.next_row >= self.height {
            return Err(Error::Internal(format!(
                "{}: read past the last row",
                self.name
            )));
        }
        let row_bytes = self.width * self.format.bytes_per_pixel();
        if out.len() != row_bytes {
            return Err(Error::Internal(format!(
                "{}: a row takes {row_bytes} bytes, not {}",
                self.name,
                out.len()
            )));
        }
        if let Some(bands) = &mut self.bands {
            if let Decoded::Invalid = bands.next_row(out)? {
                // The index does not fit the file: the serial decoder, still at the first row,
                // skips the rows already handed out.
                self.bands = None;
                for _ in 0..self.next_row {
                    self.serial_row(out)?;
                }
            }
        }
        match &self.whole {
            _ if self.bands.is_some() => {}
            Some(whole) => {
                let start = self.next_row * row_bytes;
                out.copy_from_slice(&whole[start..start + row_bytes]);
            }
            None => self.serial_row(out)?,
        }
        if self.format.dtype == PixelType::U16 {
            for pair in out.chunks_exact_mut(2) {
                let v = u16::from_be_bytes([pair[0], pair[1]]);
                pair.copy_from_slice(&v.to_ne_bytes());
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Decodes the next row serially into `out` (big-endian samples).
    fn serial_row(&mut self, out: &mut [u8]) -> Result<()> {
        if let Some(staged) = &mut self.staged {
            return staged.next_row(out);
        }
        let row_bytes = out.len();
        let row = self
            .reader
            .next_row()
            .map_err(|e| decode_error(&self.name, e))?
            .ok_or_else(|| Error::format(format!("{}: PNG ends before its last row", self.name)))?;
        out.copy_from_slice(&row.data()[..row_bytes]);
        Ok(())
    }

    /// Skips rows without copying them out. They are still decompressed, except in files
    /// with a segment index, where segments skipped whole are not read at all.
    pub fn skip_rows(&mut self, count: usize) -> Result<()> {
        if let Some(bands) = &mut self.bands {
            if count > self.height - self.next_row {
                return Err(Error::Internal(format!(
                    "{}: skip past the last row",
                    self.name
                )));
            }
            bands.skip_rows(count);
            self.next_row += count;
            return Ok(());
        }
        for _ in 0..count {
            self.next_row()?;
        }
        Ok(())
    }
}

/// Where a [`PngWriter`]'s rows go.
enum Output<W: Write + 'static> {
    /// The `png` crate's streaming encoder (levels 0 and 2-9).
    Stream(png::StreamWriter<'static, W>),
    /// Segments filtered and compressed on the library pool (level 1).
    Parallel(png::Writer<W>, ParallelIdat),
}

/// A PNG encoder that takes one row at a time. At the fast level (1) rows are compressed in
/// batches on every core ([`super::png_idat`]); the file is the same for any thread count.
pub struct PngWriter<W: Write + 'static> {
    name: String,
    output: Output<W>,
    format: PixelFormat,
    row_bytes: usize,
    rows_left: usize,
    scratch: Vec<u8>,
}

/// Checks that PNG can hold `format` exactly.
pub fn check_format(format: PixelFormat) -> Result<()> {
    if !matches!(format.dtype, PixelType::U8 | PixelType::U16)
        || !(1..=4).contains(&format.channels)
    {
        return Err(Error::unsupported(format!(
            "PNG cannot store {format} without loss (it holds uint8 or uint16 with 1-4 channels)"
        )));
    }
    Ok(())
}

impl<W: Write + 'static> PngWriter<W> {
    /// Writes the PNG header for a `width` x `height` image. `compression`: 0 = none,
    /// 1 = fast (the default: RLE + Huffman segments compressed on every core), 2–9 = zlib
    /// levels.
    pub fn new(
        out: W,
        name: &str,
        width: usize,
        height: usize,
        format: PixelFormat,
        compression: u8,
        metadata: &PngMetadata,
    ) -> Result<Self> {
        check_format(format)?;
        let (w, h) = match (u32::try_from(width), u32::try_from(height)) {
            (Ok(w), Ok(h)) if w > 0 && h > 0 && w <= i32::MAX as u32 && h <= i32::MAX as u32 => {
                (w, h)
            }
            _ => {
                return Err(Error::unsupported(format!(
                    "PNG cannot store a {width}x{height} image (each side must be 1..2^31-1)"
                )))
            }
        };
        let mut info = png::Info::with_size(w, h);
        info.color_type = match format.channels {
            1 => png::ColorType::Grayscale,
            2 => png::ColorType::GrayscaleAlpha,
            3 => png::ColorType::Rgb,
            _ => png::ColorType::Rgba,
        };
        info.bit_depth = if format.dtype == PixelType::U16 {
            png::BitDepth::Sixteen
        } else {
            png::BitDepth::Eight
        };
        info.icc_profile = metadata.icc_profile.clone().map(Into::into);
        info.pixel_dims = metadata.pixel_dims.map(|(x, y, m)| png::PixelDimensions {
            xppu: x,
            yppu: y,
            unit: if m {
                png::Unit::Meter
            } else {
                png::Unit::Unspecified
            },
        });
        let mut encoder = png::Encoder::with_info(out, info).map_err(|e| encode_error(name, e))?;
        match compression {
            0 => encoder.set_compression(png::Compression::NoCompression),
            1 => encoder.set_compression(png::Compression::Fast),
            2..=9 => {
                encoder.set_compression(png::Compression::Balanced);
                encoder.set_deflate_compression(png::DeflateCompression::Level(compression));
            }
            other => {
                return Err(Error::invalid(format!(
                    "PNG compression level must be 0-9, got {other}"
                )))
            }
        }
        let writer = encoder.write_header().map_err(|e| encode_error(name, e))?;
        let row_bytes = width * format.bytes_per_pixel();
        let output = if compression == 1 {
            let idat = ParallelIdat::new(row_bytes, format.bytes_per_pixel(), height);
            Output::Parallel(writer, idat)
        } else {
            let stream = writer
                .into_stream_writer()
                .map_err(|e| encode_error(name, e))?;
            Output::Stream(stream)
        };
        Ok(PngWriter {
            name: name.to_string(),
            output,
            format,
            row_bytes,
            rows_left: height,
            scratch: Vec::with_capacity(row_bytes),
        })
    }

    /// Appends one row of native-byte-order samples.
    pub fn write_row(&mut self, row: &[u8]) -> Result<()> {
        if row.len() != self.row_bytes {
            return Err(Error::Internal(format!(
                "{}: row of {} bytes, expected {}",
                self.name,
                row.len(),
                self.row_bytes
            )));
        }
        self.write_rows(row)
    }

    /// Appends whole rows of native-byte-order samples (at the fast level, whole segments
    /// are compressed from `rows` without a copy).
    pub fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        let count = rows.len() / self.row_bytes.max(1);
        if rows.len() % self.row_bytes.max(1) != 0 || count > self.rows_left {
            return Err(Error::Internal(format!(
                "{}: {} bytes do not make whole rows within the image",
                self.name,
                rows.len()
            )));
        }
        let wide = self.format.dtype == PixelType::U16;
        match &mut self.output {
            Output::Parallel(writer, idat) => {
                let name = &self.name;
                idat.push_rows(rows, wide, |chunks| {
                    write_idat(writer, chunks).map_err(|e| encode_error(name, e))
                })?;
            }
            Output::Stream(stream) => {
                let bytes = if wide {
                    self.scratch.resize(rows.len(), 0);
                    to_big_endian(rows, &mut self.scratch);
                    &self.scratch[..]
                } else {
                    rows
                };
                stream
                    .write_all(bytes)
                    .map_err(|e| Error::io(&self.name, e))?;
            }
        }
        self.rows_left -= count;
        Ok(())
    }

    /// The `png` crate's writer past the header, for IDAT chunks encoded elsewhere
    /// ([`super::png_part`]); at the fast level (1) only, instead of writing rows.
    pub(crate) fn into_chunk_writer(self) -> Result<png::Writer<W>> {
        match self.output {
            Output::Parallel(writer, _) => Ok(writer),
            Output::Stream(_) => Err(Error::Internal(format!(
                "{}: chunks encoded elsewhere need the fast level",
                self.name
            ))),
        }
    }

    /// Writes the end of the file; every row must have been written.
    pub fn finish(self) -> Result<()> {
        if self.rows_left != 0 {
            return Err(Error::Internal(format!(
                "{}: {} rows missing",
                self.name, self.rows_left
            )));
        }
        match self.output {
            Output::Stream(stream) => stream.finish(),
            Output::Parallel(mut writer, idat) => match idat.index_chunk() {
                Some(index) => writer
                    .write_chunk(png::chunk::ChunkType(INDEX_CHUNK), &index)
                    .and_then(|()| writer.finish()),
                None => writer.finish(),
            },
        }
        .map_err(|e| encode_error(&self.name, e))
    }
}

/// Copies native-endian u16 samples into `dst` as big-endian (PNG's order).
pub(crate) fn to_big_endian(src: &[u8], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(2).zip(src.chunks_exact(2)) {
        d.copy_from_slice(&u16::from_ne_bytes([s[0], s[1]]).to_be_bytes());
    }
}

/// Writes a whole image as a PNG file, atomically.
pub fn write_file(
    path: &Path,
    image: &crate::image::ImageView<'_>,
    compression: u8,
    metadata: &PngMetadata,
) -> Result<()> {
    check_format(image.format())?;
    let file = super::atomic::AtomicFile::create(path)?;
    let name = path.display().to_string();
    write_to(file.unbuffered()?, &name, image, compression, metadata)?;
    file.commit()
}

/// Encodes a whole image as PNG bytes in memory (the bytes [`write_file`] writes).
pub fn encode(image: &crate::image::ImageView<'_>, compression: u8) -> Result<Vec<u8>> {
    let buffer = SharedBuffer::default();
    write_to(
        buffer.clone(),
        "PNG",
        image,
        compression,
        &PngMetadata::default(),
    )?;
    Ok(buffer.0.take())
}

/// A `Write` into a buffer its creator keeps a handle on (the encoder owns its output).
#[derive(Clone, Default)]
struct SharedBuffer(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Encodes `image` into `out` row by row.
fn write_to<W: Write + 'static>(
    out: W,
    name: &str,
    image: &crate::image::ImageView<'_>,
    compression: u8,
    metadata: &PngMetadata,
) -> Result<()> {
    let mut writer = PngWriter::new(
        out,
        name,
        image.width(),
        image.height(),
        image.format(),
        compression,
        metadata,
    )?;
    for y in 0..image.height() {
        writer.write_row(image.row(y))?;
    }
    writer.finish()
}
