//! File formats: detection, whole-image read/write, and atomic writes.
//! Each format lives in its own file; streaming access (row by row) is offered by the
//! formats that support it (see [`png::PngReader`] and [`png::PngWriter`]).

pub mod atomic;
pub mod deflate;
pub mod exr;
mod exr_piz;
pub(crate) mod inflate;
pub mod jpeg;
pub mod npy;
pub mod png;
mod png_bands;
mod png_idat;
pub mod png_part;
mod png_staged;
mod png_unfilter;
pub mod row_writer;
pub mod tiff;

use std::io::Read;
use std::path::Path;

use crate::array::{ArrayView, NdArray};
use crate::error::{Error, Result};
use crate::image::{Image, ImageView, ImageViewMut};
use crate::pixel::PixelFormat;

pub use self::exr::ExrCompression;

/// A file format imkit knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Portable Network Graphics.
    Png,
    /// JPEG.
    Jpeg,
    /// TIFF (and BigTIFF).
    Tiff,
    /// OpenEXR.
    Exr,
    /// NumPy `.npy`.
    Npy,
}

impl Format {
    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Tiff => "TIFF",
            Format::Exr => "EXR",
            Format::Npy => "NPY",
        }
    }

    /// The extension imkit gives files of this format (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpg",
            Format::Tiff => "tif",
            Format::Exr => "exr",
            Format::Npy => "npy",
        }
    }

    /// Checks that this format can store `format` exactly, naming the problem if not.
    pub fn check_lossless(self, format: PixelFormat) -> Result<()> {
        match self {
            Format::Png => png::check_format(format),
            Format::Exr => exr::check_format(format),
            Format::Tiff => tiff::check_format(format),
            Format::Npy => Ok(()),
            Format::Jpeg => Err(Error::unsupported(
                "imkit does not write JPEG: it is lossy (use .png, .tif, .exr or .npy)",
            )),
        }
    }

    /// The format a file name's extension names, if it is a known one (case-insensitive).
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "png" => Format::Png,
            "jpg" | "jpeg" => Format::Jpeg,
            "tif" | "tiff" => Format::Tiff,
            "exr" => Format::Exr,
            "npy" => Format::Npy,
            _ => return None,
        })
    }

    /// The format of a file, from its first bytes.
    pub fn detect(path: &Path) -> Result<Format> {
        let mut head = [0u8; 8];
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut got = 0;
        while got < head.len() {
            match file.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        let head = &head[..got];
        let format = if head.starts_with(&png::SIGNATURE) {
            Format::Png
        } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
            Format::Jpeg
        } else if head.starts_with(b"II*\0")
            || head.starts_with(b"MM\0*")
            || head.starts_with(b"II+\0")
            || head.starts_with(b"MM\0+")
        {
            Format::Tiff
        } else if head.starts_with(&[0x76, 0x2f, 0x31, 0x01]) {
            Format::Exr
        } else if head.starts_with(b"\x93NUMPY") {
            Format::Npy
        } else if got == 0 {
            return Err(Error::format(format!("{}: file is empty", path.display())));
        } else {
            return Err(Error::format(format!(
                "{}: not an image file imkit recognises",
                path.display()
            )));
        };
        Ok(format)
    }
}

/// Options for writing image files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// PNG compression: 0 = none, 1 = fast (imkit's parallel deflater, the default), 2–9 = zlib
    /// levels.
    /// On camera-like frames level 1 is 3–4x faster than zlib level 3 at the same size; on
    /// smooth synthetic gradients it compresses poorly, and levels 2–9 are much smaller there.
    pub png_compression: u8,
    /// EXR compression (default ZIP, 16 lines per block).
    pub exr_compression: ExrCompression,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            png_compression: 1,
            exr_compression: ExrCompression::default(),
        }
    }
}

/// Size and pixel layout of an image file, read from its header only.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageInfo {
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Pixel layout as imkit decodes it.
    pub format: PixelFormat,
    /// File format.
    pub file_format: Format,
}

/// Shape and sample type of an array file (an image's shape is `(h, w)` or `(h, w, c)`).
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayInfo {
    /// Sample type.
    pub dtype: crate::pixel::PixelType,
    /// Length of each axis.
    pub shape: Vec<usize>,
    /// File format.
    pub file_format: Format,
}

/// Reads a file's array shape and sample type without decoding its data (any format).
pub fn probe_array(path: impl AsRef<Path>) -> Result<ArrayInfo> {
    let path = path.as_ref();
    let format = Format::detect(path)?;
    if format == Format::Npy {
        let header = npy::probe(path)?;
        return Ok(ArrayInfo {
            dtype: header.dtype,
            shape: header.shape,
            file_format: format,
        });
    }
    let (w, h, pixel) = probe_pixels(path, format)?;
    Ok(ArrayInfo {
        dtype: pixel.dtype,
        shape: crate::array::image_shape(w, h, pixel.channels),
        file_format: format,
    })
}

fn probe_pixels(path: &Path, format: Format) -> Result<(usize, usize, PixelFormat)> {
    match format {
        Format::Png => {
            let reader = png::PngReader::open(path)?;
            Ok((reader.width(), reader.height(), reader.format()))
        }
        Format::Jpeg => jpeg::probe(path),
        Format::Tiff => tiff::probe(path),
        Format::Exr => exr::probe(path),
        Format::Npy => {
            let header = npy::probe(path)?;
            crate::array::image_format_of(header.dtype, &header.shape)
                .ok_or_else(|| not_an_image(path, &header.shape))
        }
    }
}

fn not_an_image(path: &Path, shape: &[usize]) -> Error {
    Error::unsupported(format!(
        "{}: the array of shape {shape:?} is not an image (images are (h, w) or (h, w, c) \
         with c >= 2); read it as an array",
        path.display()
    ))
}

/// Reads an image file's size and pixel layout without decoding its pixels. NPY files count
/// as images when their shape is `(h, w)` or `(h, w, c)` with `c >= 2`.
pub fn probe(path: impl AsRef<Path>) -> Result<ImageInfo> {
    let path = path.as_ref();
    let format = Format::detect(path)?;
    let (w, h, pixel) = probe_pixels(path, format)?;
    Ok(ImageInfo {
        width: w as u64,
        height: h as u64,
        format: pixel,
        file_format: format,
    })
}

/// Reads a whole image file into memory; the format is detected from the file's content.
pub fn read_image(path: impl AsRef<Path>) -> Result<Image> {
    let path = path.as_ref();
    match Format::detect(path)? {
        Format::Png => {
            let mut reader = png::PngReader::open(path)?;
            let (w, h, c) = (reader.width(), reader.height(), reader.format().channels);
            let what = format!("{}: the PNG", path.display());
            crate::limits::check_image(&what, w as u64, h as u64, c as u64)?;
            let mut image = Image::new(w, h, reader.format())?;
            let mut out = image.view_mut();
            for y in 0..reader.height() {
                out.row_mut(y).copy_from_slice(reader.next_row()?);
            }
            Ok(image)
        }
        Format::Jpeg => jpeg::read_file(path),
        Format::Tiff => tiff::read_file(path),
        Format::Exr => exr::read_file(path),
        Format::Npy => npy::read_file(path)?
            .into_image()
            .map_err(|a| not_an_image(path, a.shape())),
    }
}

/// Decodes an image file straight into the caller's buffer (libspng's pattern: learn the size
/// and pixel layout with [`probe`], allocate, then call this). `out` must have the image's
/// size and exact pixel layout; it may be strided. PNG rows, TIFF chunks, EXR blocks and NPY
/// rows land in `out` without a whole-image buffer in between; JPEG and TIFF layouts no
/// region source reads (planar, palette) are decoded whole, then copied.
pub fn read_image_into(path: impl AsRef<Path>, out: &mut ImageViewMut<'_>) -> Result<()> {
    let path = path.as_ref();
    let info = probe(path)?;
    let (w, h) = (out.width() as u64, out.height() as u64);
    if (w, h, out.format()) != (info.width, info.height, info.format) {
        return Err(Error::Mismatch(format!(
            "{}: the buffer is {w}x{h} {}, the image is {}x{} {}",
            path.display(),
            out.format(),
            info.width,
            info.height,
            info.format
        )));
    }
    match info.file_format {
        Format::Png => {
            let mut reader = png::PngReader::open(path)?;
            for y in 0..reader.height() {
                out.row_mut(y).copy_from_slice(reader.next_row()?);
            }
            return Ok(());
        }
        Format::Tiff | Format::Npy | Format::Exr => {
            match crate::source::open(path, &Default::default()) {
                Ok(source) => {
                    let channels = crate::source::Channels::all(info.format.channels);
                    let all = crate::rect::Rect::from_xywh(0, 0, w, h);
                    return crate::source::read_region(&*source, 0, all, &channels, out);
                }
                Err(Error::Unsupported(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Format::Jpeg => {}
    }
    out.copy_from(&read_image(path)?.view())
}

/// Reads any supported file as an array: NPY as stored, images as `(h, w)` / `(h, w, c)`.
pub fn read_array(path: impl AsRef<Path>) -> Result<NdArray> {
    let path = path.as_ref();
    match Format::detect(path)? {
        Format::Npy => npy::read_file(path),
        _ => Ok(NdArray::from_image(&read_image(path)?.view())),
    }
}

/// The extensions imkit can write, for messages.
pub const WRITABLE_EXTENSIONS: &str = ".png, .tif, .tiff, .exr and .npy";

/// Extensions of image and array formats imkit does not write: saving to them is an error,
/// where any other unknown extension (`scan_1.5mm`) is part of the name.
const FOREIGN_EXTENSIONS: [&str; 24] = [
    "webp", "bmp", "gif", "jp2", "j2k", "jxl", "heic", "heif", "avif", "tga", "ppm", "pgm", "pbm",
    "pnm", "ico", "psd", "svg", "dds", "hdr", "qoi", "fits", "npz", "h5", "raw",
];

/// True when `path` ends in the extension of an image format imkit does not write.
pub fn has_foreign_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| FOREIGN_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Refuses an output path that is an existing directory.
pub fn check_output_path(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{} is a directory: give an output file name",
            path.display()
        )));
    }
    Ok(())
}

/// The error for an output extension imkit cannot write.
pub fn unwritable_extension(path: &Path) -> Error {
    match path.extension() {
        Some(ext) => Error::unsupported(format!(
            "{}: imkit cannot write .{} files (it writes {WRITABLE_EXTENSIONS})",
            path.display(),
            ext.to_string_lossy()
        )),
        None => Error::invalid(format!(
            "{}: cannot tell the output format without an extension (imkit writes \
             {WRITABLE_EXTENSIONS})",
            path.display()
        )),
    }
}

/// The format an output path asks for, from its extension.
pub fn output_format(path: &Path) -> Result<Format> {
    check_output_path(path)?;
    Format::from_extension(path).ok_or_else(|| unwritable_extension(path))
}

/// Writes an image file atomically in `format`, refusing formats that cannot hold the pixels
/// exactly.
pub fn write_image_as(
    path: &Path,
    format: Format,
    image: &ImageView<'_>,
    options: &WriteOptions,
) -> Result<()> {
    format
        .check_lossless(image.format())
        .map_err(|e| prefix(path, e))?;
    match format {
        Format::Png => png::write_file(
            path,
            image,
            options.png_compression,
            &png::PngMetadata::default(),
        ),
        Format::Exr => exr::write_file(path, image, options.exr_compression),
        Format::Tiff => tiff::write_file(path, image),
        Format::Npy => npy::write_image(path, image),
        Format::Jpeg => Err(Error::Internal("JPEG passed the lossless check".into())),
    }
}

/// Encodes an image in `format` into memory (the bytes [`write_image_as`] writes), refusing
/// formats that cannot hold the pixels exactly.
pub fn encode_image(
    format: Format,
    image: &ImageView<'_>,
    options: &WriteOptions,
) -> Result<Vec<u8>> {
    format.check_lossless(image.format())?;
    match format {
        Format::Png => png::encode(image, options.png_compression),
        Format::Exr => exr::encode(image, options.exr_compression),
        Format::Tiff => tiff::encode(std::slice::from_ref(image)),
        Format::Npy => npy::encode_slices(std::slice::from_ref(image), false),
        Format::Jpeg => Err(Error::Internal("JPEG passed the lossless check".into())),
    }
}

/// Encodes the slices of a volume (equal sizes and layouts, in order) into memory: a
/// multi-page TIFF or a `(d, h, w[, c])` NPY array. Other formats hold one image.
pub fn encode_volume(format: Format, slices: &[ImageView<'_>]) -> Result<Vec<u8>> {
    if let Some(first) = slices.first() {
        format.check_lossless(first.format())?;
    }
    match format {
        Format::Tiff => tiff::encode(slices),
        Format::Npy => npy::encode_slices(slices, true),
        other => Err(one_image_format(other, slices.len() as u64)),
    }
}

/// The error for a volume of `slices` slices sent to a format that holds one image.
pub fn one_image_format(format: Format, slices: u64) -> Error {
    Error::unsupported(format!(
        "{} holds one image, not a volume of {slices} slices (volumes go to .tif or .npy)",
        format.name()
    ))
}

fn prefix(path: &Path, e: Error) -> Error {
    match e {
        Error::Unsupported(m) => Error::Unsupported(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// Writes an image file atomically; the format comes from the path's extension.
pub fn write_image(
    path: impl AsRef<Path>,
    image: &ImageView<'_>,
    options: &WriteOptions,
) -> Result<()> {
    let path = path.as_ref();
    write_image_as(path, output_format(path)?, image, options)
}

/// Writes an array file atomically in `format`. Arrays that are not images (see
/// [`crate::array::image_format_of`]) can only go to NPY.
pub fn write_array_as(
    path: &Path,
    format: Format,
    array: ArrayView<'_>,
    options: &WriteOptions,
) -> Result<()> {
    if format == Format::Npy {
        return npy::write_file(path, array);
    }
    match array.as_image_view() {
        Some(view) => write_image_as(path, format, &view, options),
        None => Err(Error::unsupported(format!(
            "{}: {} cannot store an array of shape {:?} (only NPY holds arrays that are not \
             (h, w) or (h, w, c>=2) images)",
            path.display(),
            format.name(),
            array.shape()
        ))),
    }
}
