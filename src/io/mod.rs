//! Image + metadata I/O (the immetaio part): `save`/`load` of pixel buffers and arrays with a
//! JSON metadata sidecar, the file format chosen from the data, sequences and directories of
//! images, and a bounded background [`queue::SaveQueue`].
//!
//! # Format choice
//! When the path has no known extension (`.png`, `.tif`/`.tiff`, `.exr`, `.npy`, `.jpg`/
//! `.jpeg`, any case), the format follows the data, and its extension is *appended* (so
//! `scan_1.5mm` becomes `scan_1.5mm.png`):
//!
//! | data | format |
//! |---|---|
//! | uint8 / uint16 image with 1–4 channels | PNG |
//! | float16 / float32 image, any channel count | EXR |
//! | every other type (float64, int*, uint32/64), 1-D, N-D and (h, w, 1) arrays, empty images | NPY |
//!
//! An image is `(h, w)` (one channel) or `(h, w, c)` with `c >= 2`. An explicit extension that
//! cannot hold the data exactly (float32 into `.png`, 5 channels into `.png`, a 1-D array into
//! `.exr`, anything into `.jpg`) is an [`Error::Unsupported`] naming the problem; nothing is ever
//! converted silently. Pixels are stored in RGB(A) order, as they are in memory.
//!
//! # Sidecar
//! Metadata goes to `<stem>.json` beside the image (see [`metadata`]). The metadata text is
//! checked first, then the image is written atomically, then the sidecar atomically. Saving with
//! empty metadata removes a sidecar left by an earlier save of the same stem, so stale metadata
//! never comes back. Loading an image without a sidecar gives empty metadata.

pub mod metadata;
pub mod queue;
pub mod sequence;

use std::path::{Path, PathBuf};

use crate::array::{image_format_of, image_shape, ArrayView, NdArray};
use crate::codec::{self, Format, WriteOptions};
use crate::error::{Error, Result};
use crate::image::{Image, ImageView};
use crate::pixel::PixelType;

pub use metadata::Metadata;

/// Data as loaded: an image, or an array (NPY files always load as arrays).
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Pixels from an image file.
    Image(Image),
    /// An N-dimensional array from an NPY file.
    Array(NdArray),
}

impl Data {
    /// A borrowed view of the data.
    pub fn as_ref(&self) -> DataRef<'_> {
        match self {
            Data::Image(img) => DataRef::Image(img.view()),
            Data::Array(arr) => DataRef::Array(arr.view()),
        }
    }
    /// The data as an array (images become `(h, w)` or `(h, w, c)`).
    pub fn into_array(self) -> NdArray {
        match self {
            Data::Image(img) => NdArray::from_image(&img.view()),
            Data::Array(arr) => arr,
        }
    }
    /// The data as an image; arrays must have an image's shape.
    pub fn into_image(self) -> Result<Image> {
        match self {
            Data::Image(img) => Ok(img),
            Data::Array(arr) => arr.into_image().map_err(|a| {
                Error::unsupported(format!(
                    "an array of shape {:?} is not an image ((h, w) or (h, w, c) with c >= 2)",
                    a.shape()
                ))
            }),
        }
    }
}

/// Borrowed data to save: an image view (any row stride) or an array view, both written from
/// the caller's memory.
#[derive(Clone, Copy, Debug)]
pub enum DataRef<'a> {
    /// An image.
    Image(ImageView<'a>),
    /// An N-dimensional array.
    Array(ArrayView<'a>),
}

impl<'a> From<ImageView<'a>> for DataRef<'a> {
    fn from(v: ImageView<'a>) -> Self {
        DataRef::Image(v)
    }
}
impl<'a> From<&'a Image> for DataRef<'a> {
    fn from(v: &'a Image) -> Self {
        DataRef::Image(v.view())
    }
}
impl<'a> From<&'a NdArray> for DataRef<'a> {
    fn from(v: &'a NdArray) -> Self {
        DataRef::Array(v.view())
    }
}
impl<'a> From<ArrayView<'a>> for DataRef<'a> {
    fn from(v: ArrayView<'a>) -> Self {
        DataRef::Array(v)
    }
}

impl DataRef<'_> {
    /// Sample type.
    pub fn dtype(&self) -> PixelType {
        match self {
            DataRef::Image(v) => v.dtype(),
            DataRef::Array(a) => a.dtype(),
        }
    }
    /// Array shape (`(h, w)` / `(h, w, c)` for images).
    pub fn shape(&self) -> Vec<usize> {
        match self {
            DataRef::Image(v) => image_shape(v.width(), v.height(), v.channels()),
            DataRef::Array(a) => a.shape().to_vec(),
        }
    }
    /// Bytes of sample data (without row padding).
    pub fn byte_len(&self) -> usize {
        match self {
            DataRef::Image(v) => v.row_bytes() * v.height(),
            DataRef::Array(a) => a.data().len(),
        }
    }
    /// An owned copy, packed.
    pub fn to_owned(&self) -> Data {
        match self {
            DataRef::Image(v) => Data::Image(v.to_image()),
            DataRef::Array(a) => Data::Array(a.to_owned()),
        }
    }
}

/// Options for [`save`] and the sequence functions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaveOptions {
    /// Codec settings (PNG and EXR compression).
    pub write: WriteOptions,
    /// Write non-finite metadata numbers as Python's `NaN`/`Infinity` tokens (not standard
    /// JSON) instead of failing.
    pub python_tokens: bool,
    /// Directory saves: replace numbered files already there and remove stale ones beyond the
    /// new count, instead of failing.
    pub overwrite: bool,
}

/// The format imkit writes for data of this type and shape when the path does not name one
/// (the table in the module docs).
pub fn choose_format(dtype: PixelType, shape: &[usize]) -> Format {
    match image_format_of(dtype, shape) {
        Some((w, h, pf)) if w > 0 && h > 0 => match pf.dtype {
            PixelType::U8 | PixelType::U16 if pf.channels <= 4 => Format::Png,
            PixelType::F16 | PixelType::F32 => Format::Exr,
            _ => Format::Npy,
        },
        _ => Format::Npy,
    }
}

/// Checks that `format` can hold the data exactly.
fn check_storable(path: &Path, format: Format, data: &DataRef<'_>) -> Result<()> {
    if format == Format::Npy {
        return Ok(());
    }
    let shape = data.shape();
    let Some((_, _, pf)) = image_format_of(data.dtype(), &shape) else {
        return Err(Error::unsupported(format!(
            "{}: {} cannot store an array of shape {shape:?} (only .npy holds arrays that are \
             not (h, w) or (h, w, c>=2) images)",
            path.display(),
            format.name()
        )));
    };
    format.check_lossless(pf).map_err(|e| match e {
        Error::Unsupported(m) => Error::Unsupported(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// The path and format a save would use: the path's known extension (checked against the
/// data), or, for a path without extension, the format from [`choose_format`] with its
/// extension appended (`scan_1.5mm` → `scan_1.5mm.png`). The extension of an image format
/// imkit does not write (`.webp`, `.bmp`, ...), or a directory, is an error.
pub fn resolve_path(path: &Path, data: &DataRef<'_>) -> Result<(PathBuf, Format)> {
    if path.file_name().is_none() {
        return Err(Error::invalid(format!(
            "{} does not name a file",
            path.display()
        )));
    }
    codec::check_output_path(path)?;
    if let Some(format) = Format::from_extension(path) {
        check_storable(path, format, data)?;
        return Ok((path.to_path_buf(), format));
    }
    if codec::has_foreign_extension(path) {
        return Err(codec::unwritable_extension(path));
    }
    let format = choose_format(data.dtype(), &data.shape());
    let mut name = path.as_os_str().to_os_string();
    name.push(".");
    name.push(format.extension());
    Ok((PathBuf::from(name), format))
}

/// Writes the sidecar of `image_path`, or removes a stale one when `text` is `None`.
fn write_sidecar(image_path: &Path, text: Option<&str>) -> Result<()> {
    let sidecar = metadata::sidecar_path(image_path);
    match text {
        Some(text) => codec::atomic::write_bytes(&sidecar, text.as_bytes()),
        None => match std::fs::remove_file(&sidecar) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&sidecar, e)),
        },
    }
}

/// Writes the pixels of `data` to `path` in `format` (no sidecar).
fn write_data(
    path: &Path,
    format: Format,
    data: &DataRef<'_>,
    options: &WriteOptions,
) -> Result<()> {
    match data {
        DataRef::Image(view) => codec::write_image_as(path, format, view, options),
        DataRef::Array(array) => codec::write_array_as(path, format, *array, options),
    }
}

/// Saves data and its metadata; returns the path of the image file written (with the
/// extension appended when `path` had none). See the module docs for the rules.
pub fn save<'a>(
    path: impl AsRef<Path>,
    data: impl Into<DataRef<'a>>,
    metadata: &Metadata,
    options: &SaveOptions,
) -> Result<PathBuf> {
    let data = data.into();
    let (path, format) = resolve_path(path.as_ref(), &data)?;
    let text = if metadata.is_empty() {
        None
    } else {
        Some(metadata::to_text(metadata, options.python_tokens)?)
    };
    write_data(&path, format, &data, &options.write)?;
    write_sidecar(&path, text.as_deref())?;
    Ok(path)
}

/// The file `path` names: itself if it exists, else — when it has no known extension — the
/// one existing `path.<ext>` for a known extension (an error if several exist).
pub fn find_file(path: &Path) -> Result<PathBuf> {
    if path.exists() || Format::from_extension(path).is_some() {
        return Ok(path.to_path_buf());
    }
    let found: Vec<PathBuf> = ["png", "exr", "npy", "tif", "tiff", "jpg", "jpeg"]
        .iter()
        .map(|ext| {
            let mut name = path.as_os_str().to_os_string();
            name.push(".");
            name.push(ext);
            PathBuf::from(name)
        })
        .filter(|p| p.is_file())
        .collect();
    match found.len() {
        0 => Ok(path.to_path_buf()),
        1 => Ok(found.into_iter().next().expect("one")),
        _ => Err(Error::invalid(format!(
            "{} is ambiguous: {} all exist",
            path.display(),
            found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Loads a file and its sidecar metadata (empty when there is none). `path` may omit the
/// extension if exactly one file with a known extension matches. NPY files load as
/// [`Data::Array`], every other format as [`Data::Image`].
/// A broken sidecar fails the load with a message saying how to skip it.
pub fn load(path: impl AsRef<Path>) -> Result<(Data, Metadata)> {
    load_with(path, &LoadOptions::default())
}

/// Options of [`load_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Read the `<stem>.json` sidecar (the default). `false` skips it, even a broken one, and
    /// returns empty metadata (the CLI's `--no-metadata`, C's `imkit_load_without_metadata`).
    pub metadata: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { metadata: true }
    }
}

/// [`load`] with options.
pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<(Data, Metadata)> {
    let path = find_file(path.as_ref())?;
    let meta = load_sidecar(&path, options)?;
    let data = match Format::detect(&path)? {
        Format::Npy => Data::Array(codec::npy::read_file(&path)?),
        _ => Data::Image(codec::read_image(&path)?),
    };
    Ok((data, meta))
}

/// Adds to a sidecar parse error how to load the image without it.
/// The metadata [`load_with`] returns for the image file `path` (found by [`find_file`]):
/// its sidecar, or empty metadata when it has none or `options` skip it.
pub fn load_sidecar(path: &Path, options: &LoadOptions) -> Result<Metadata> {
    if options.metadata {
        metadata::read_sidecar(path).map_err(explain_broken_sidecar)
    } else {
        Ok(Metadata::new())
    }
}

fn explain_broken_sidecar(e: Error) -> Error {
    match e {
        Error::Format(m) => Error::Format(format!(
            "broken metadata sidecar {m} (fix or remove it, or skip it: --no-metadata in \
             the CLI, imkit_load_without_metadata in C, io::LoadOptions {{ metadata: false }} \
             in Rust)"
        )),
        other => other,
    }
}

/// Writes only the metadata of an image (its `<stem>.json` sidecar), atomically; `path` is
/// the image path or the sidecar path itself.
pub fn save_metadata(
    path: impl AsRef<Path>,
    metadata: &Metadata,
    python_tokens: bool,
) -> Result<PathBuf> {
    let sidecar = metadata::sidecar_path(path.as_ref());
    metadata::write_file(&sidecar, metadata, python_tokens)?;
    Ok(sidecar)
}

/// Reads only the metadata of an image (empty when it has no sidecar); `path` is the image
/// path or the sidecar path.
pub fn load_metadata(path: impl AsRef<Path>) -> Result<Metadata> {
    metadata::read_sidecar(path.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_table() {
        use PixelType::*;
        assert_eq!(choose_format(U8, &[4, 5]), Format::Png);
        assert_eq!(choose_format(U16, &[4, 5, 4]), Format::Png);
        assert_eq!(choose_format(U8, &[4, 5, 5]), Format::Npy);
        assert_eq!(choose_format(U8, &[4, 5, 1]), Format::Npy);
        assert_eq!(choose_format(F16, &[4, 5, 7]), Format::Exr);
        assert_eq!(choose_format(F32, &[4, 5]), Format::Exr);
        assert_eq!(choose_format(F64, &[4, 5]), Format::Npy);
        assert_eq!(choose_format(I16, &[4, 5]), Format::Npy);
        assert_eq!(choose_format(U8, &[20]), Format::Npy);
        assert_eq!(choose_format(U8, &[2, 3, 4, 5]), Format::Npy);
        assert_eq!(choose_format(U8, &[0, 5]), Format::Npy);
    }

    #[test]
    fn dotted_stems_get_an_extension() {
        let img = Image::new(2, 2, crate::PixelFormat::new(U8, 3).unwrap()).unwrap();
        use PixelType::U8;
        let (p, f) = resolve_path(Path::new("d/scan_1.5mm"), &(&img).into()).unwrap();
        assert_eq!((p, f), (PathBuf::from("d/scan_1.5mm.png"), Format::Png));
        let (p, _) = resolve_path(Path::new("d/x.PNG"), &(&img).into()).unwrap();
        assert_eq!(p, PathBuf::from("d/x.PNG"));
        let f32img = Image::new(2, 2, crate::PixelFormat::new(PixelType::F32, 1).unwrap()).unwrap();
        let err = resolve_path(Path::new("x.png"), &(&f32img).into()).unwrap_err();
        assert!(matches!(err, Error::Unsupported(_)), "{err}");
        let vec = NdArray::zeros(PixelType::F32, &[7]).unwrap();
        assert!(resolve_path(Path::new("x.exr"), &(&vec).into()).is_err());
        assert!(resolve_path(Path::new("x.jpg"), &(&img).into()).is_err());
    }
}
