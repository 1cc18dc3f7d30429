//! Images: the sample types, the plain `imkit_image_view` struct, the owned `imkit_image`
//! handle, whole-image file read/write and the `imkit_write_options` builder.

use std::ffi::{c_char, c_void};

use super::common::{arg_enum, arg_out, arg_path, arg_ref, c_enum};
use super::{
    boundary, free_handle, handle_mut, handle_ref, imkit_status, new_handle, FfiResult, Handle,
};
use crate::codec::ExrCompression;
use crate::codec::{self, Format, WriteOptions};
use crate::error::Error;
use crate::image::{ImageView, ImageViewMut};
use crate::io::Data;
use crate::pixel::{PixelFormat, PixelType};

/// The numeric type of one sample (values of the `dtype` fields and arguments). Values are
/// stable and only ever appended.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_dtype {
    /// Unsigned 8-bit integer.
    U8 = 1,
    /// Unsigned 16-bit integer.
    U16 = 2,
    /// IEEE half float.
    F16 = 3,
    /// IEEE single float.
    F32 = 4,
    /// IEEE double float.
    F64 = 5,
    /// Signed 8-bit integer.
    I8 = 6,
    /// Signed 16-bit integer.
    I16 = 7,
    /// Unsigned 32-bit integer.
    U32 = 8,
    /// Signed 32-bit integer.
    I32 = 9,
    /// Unsigned 64-bit integer.
    U64 = 10,
    /// Signed 64-bit integer.
    I64 = 11,
}

/// Reads a C `imkit_dtype` value as a core pixel type: the values are the positions in
/// [`PixelType::ALL`] plus one (a test keeps the two enums in step).
pub(crate) fn arg_dtype(code: i32, arg: &'static str) -> crate::Result<PixelType> {
    usize::try_from(code)
        .ok()
        .and_then(|c| c.checked_sub(1))
        .and_then(|i| PixelType::ALL.get(i).copied())
        .ok_or_else(|| Error::invalid(format!("`{arg}`: {code} is not an imkit_dtype value")))
}

/// The C `imkit_dtype` value of a core pixel type.
pub(crate) fn dtype_code(t: PixelType) -> i32 {
    t as i32 + 1
}

/// File formats (values of `imkit_image_info.file_format`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_file_format {
    /// PNG.
    Png = 1,
    /// JPEG.
    Jpeg = 2,
    /// TIFF or BigTIFF.
    Tiff = 3,
    /// OpenEXR.
    Exr = 4,
    /// NumPy .npy.
    Npy = 5,
}

impl From<Format> for imkit_file_format {
    fn from(f: Format) -> Self {
        match f {
            Format::Png => imkit_file_format::Png,
            Format::Jpeg => imkit_file_format::Jpeg,
            Format::Tiff => imkit_file_format::Tiff,
            Format::Exr => imkit_file_format::Exr,
            Format::Npy => imkit_file_format::Npy,
        }
    }
}

/// A pixel buffer the caller owns: `height` rows of `width` pixels, each `channels` samples of
/// `dtype` (an `imkit_dtype` value), interleaved, native byte order. Row `y` starts at
/// `data + y * row_stride_bytes`; a `row_stride_bytes` of 0 means packed rows
/// (`width * channels * sample size`). imkit never keeps `data` past the call.
/// Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct imkit_image_view {
    /// First sample of the first row. Read-only for inputs, written for outputs.
    pub data: *mut c_void,
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Bytes from the start of one row to the next (0 = packed).
    pub row_stride_bytes: usize,
    /// Samples per pixel (at least 1).
    pub channels: u32,
    /// Sample type, an `imkit_dtype` value.
    pub dtype: i32,
}

/// Image size and layout read from a file's header (see `imkit_image_info_read`).
/// Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct imkit_image_info {
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Samples per pixel.
    pub channels: u32,
    /// Sample type, an `imkit_dtype` value.
    pub dtype: i32,
    /// File format, an `imkit_file_format` value.
    pub file_format: i32,
}

impl imkit_image_view {
    fn layout(&self, arg: &'static str) -> FfiResult<(usize, usize, PixelFormat, usize, usize)> {
        let dtype = arg_dtype(self.dtype, arg)?;
        let format = PixelFormat::new(dtype, self.channels as usize)
            .map_err(|e| Error::invalid(format!("`{arg}`: {e}")))?;
        let (w, h) = match (usize::try_from(self.width), usize::try_from(self.height)) {
            (Ok(w), Ok(h)) => (w, h),
            _ => {
                return Err(Error::invalid(format!("`{arg}`: size does not fit in memory")).into())
            }
        };
        let row = w
            .checked_mul(format.bytes_per_pixel())
            .ok_or_else(|| Error::invalid(format!("`{arg}`: row size overflows")))?;
        let stride = if self.row_stride_bytes == 0 {
            row
        } else {
            self.row_stride_bytes
        };
        if stride < row {
            return Err(Error::invalid(format!(
                "`{arg}`: row_stride_bytes {stride} is smaller than one row ({row} bytes)"
            ))
            .into());
        }
        let len = if h == 0 {
            0
        } else {
            (h - 1)
                .checked_mul(stride)
                .and_then(|n| n.checked_add(row))
                .ok_or_else(|| Error::invalid(format!("`{arg}`: buffer size overflows")))?
        };
        if len > 0 && self.data.is_null() {
            return Err(super::FfiError::Null(arg));
        }
        Ok((w, h, format, stride, len))
    }

    /// Borrows the caller's pixels read-only.
    ///
    /// # Safety
    /// `data` must point to the bytes the fields describe, valid for the call.
    pub(crate) unsafe fn as_view<'a>(&self, arg: &'static str) -> FfiResult<ImageView<'a>> {
        let (w, h, format, stride, len) = self.layout(arg)?;
        let bytes: &[u8] = if len == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(self.data as *const u8, len) }
        };
        Ok(ImageView::new(bytes, w, h, format, stride)?)
    }

    /// Borrows the caller's pixels writable.
    ///
    /// # Safety
    /// As [`as_view`](Self::as_view), and the bytes must be writable and not aliased.
    pub(crate) unsafe fn as_view_mut<'a>(&self, arg: &'static str) -> FfiResult<ImageViewMut<'a>> {
        let (w, h, format, stride, len) = self.layout(arg)?;
        let bytes: &mut [u8] = if len == 0 {
            &mut []
        } else {
            unsafe { std::slice::from_raw_parts_mut(self.data as *mut u8, len) }
        };
        Ok(ImageViewMut::new(bytes, w, h, format, stride)?)
    }
}

/// An image (or N-dimensional array) owned by imkit. Create with `imkit_image_read` or
/// `imkit_load`, free with `imkit_image_free`. Arrays loaded from NPY files that do not have an
/// image's shape are read with `imkit_image_get_shape` and `imkit_image_get_data`.
/// Thread safety: functions taking a const pointer may run concurrently.
pub struct imkit_image {
    pub(crate) data: Data,
}

impl Handle for imkit_image {
    const KIND: &'static str = "imkit_image";
}

/// Options for writing files. Create with `imkit_write_options_new`, free with
/// `imkit_write_options_free`; functions that take options accept NULL for the defaults.
/// Thread safety: setters must not race with other uses of the same options.
pub struct imkit_write_options {
    pub(crate) options: WriteOptions,
}

impl Handle for imkit_write_options {
    const KIND: &'static str = "imkit_write_options";
}

/// Reads write options, NULL meaning the defaults.
///
/// # Safety
/// `ptr` must be NULL or an options handle.
pub(crate) unsafe fn write_options(ptr: *const imkit_write_options) -> FfiResult<WriteOptions> {
    if ptr.is_null() {
        return Ok(WriteOptions::default());
    }
    Ok(unsafe { handle_ref(ptr, "options") }?.options.clone())
}

/// Creates write options with the defaults (PNG compression 1 = fast).
/// Owned: free with `imkit_write_options_free`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_write_options_new(
    out: *mut *mut imkit_write_options,
) -> imkit_status {
    boundary(|| {
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_write_options {
            options: WriteOptions::default(),
        });
        Ok(())
    })
}

/// Sets the PNG compression: 0 = none, 1 = fast (imkit's parallel deflater, the default), 2–9 = zlib levels
/// (higher is smaller and slower; much smaller than 1 on smooth synthetic images). Output bytes are deterministic for every level.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_write_options_set_png_compression(
    options: *mut imkit_write_options,
    level: u32,
) -> imkit_status {
    boundary(|| {
        let options = unsafe { handle_mut(options, "options") }?;
        if level > 9 {
            return Err(
                Error::invalid(format!("PNG compression level must be 0-9, got {level}")).into(),
            );
        }
        options.options.png_compression = level as u8;
        Ok(())
    })
}

/// EXR compression methods (for `imkit_write_options_set_exr_compression`); all lossless.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_exr_compression {
    /// No compression.
    None = 0,
    /// Run-length encoding.
    Rle = 1,
    /// zlib, one scan line per block.
    Zips = 2,
    /// zlib, 16 scan lines per block (the default).
    Zip = 3,
    /// Wavelet, 32 scan lines per block.
    Piz = 4,
}

c_enum!(imkit_exr_compression {
    None,
    Rle,
    Zips,
    Zip,
    Piz
});

impl From<imkit_exr_compression> for ExrCompression {
    fn from(c: imkit_exr_compression) -> Self {
        match c {
            imkit_exr_compression::None => ExrCompression::None,
            imkit_exr_compression::Rle => ExrCompression::Rle,
            imkit_exr_compression::Zips => ExrCompression::Zips,
            imkit_exr_compression::Zip => ExrCompression::Zip,
            imkit_exr_compression::Piz => ExrCompression::Piz,
        }
    }
}

/// Sets the EXR compression, an `imkit_exr_compression` value (default ZIP). Output bytes are
/// deterministic for every method and thread count.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_write_options_set_exr_compression(
    options: *mut imkit_write_options,
    compression: i32,
) -> imkit_status {
    boundary(|| {
        let options = unsafe { handle_mut(options, "options") }?;
        let compression: imkit_exr_compression = arg_enum(compression, "compression")?;
        options.options.exr_compression = compression.into();
        Ok(())
    })
}

/// Frees write options. NULL is ignored; do not free twice.
#[no_mangle]
pub unsafe extern "C" fn imkit_write_options_free(options: *mut imkit_write_options) {
    boundary(|| unsafe { free_handle(options, "options") });
}

/// Reads a whole image file into a new `imkit_image` (format detected from the content).
/// Owned: `*out` is freed with `imkit_image_free`.
/// Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_image_read(
    path: *const c_char,
    out: *mut *mut imkit_image,
) -> imkit_status {
    unsafe { image_from_path(path, out, |path| Ok(Data::Image(codec::read_image(path)?))) }
}

/// Runs `load` on the path argument and hands its pixels out as a new `imkit_image` in `*out`.
///
/// # Safety
/// `path` must be NULL or NUL-terminated; `out` NULL or writable.
pub(crate) unsafe fn image_from_path(
    path: *const c_char,
    out: *mut *mut imkit_image,
    load: impl FnOnce(&std::path::Path) -> crate::Result<Data>,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let out = unsafe { arg_out(out, "out") }?;
        let data = load(&path)?;
        *out = new_handle(imkit_image { data });
        Ok(())
    })
}

/// Describes the pixels of an `imkit_image`. `out->data` is Borrowed: valid until the image
/// is freed; the caller may write through it. An array that is not an image (not `(h, w)` or
/// `(h, w, c)` with c >= 2) gives `IMKIT_STATUS_UNSUPPORTED`.
/// Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_image_get_view(
    image: *const imkit_image,
    out: *mut imkit_image_view,
) -> imkit_status {
    boundary(|| {
        let image = unsafe { handle_ref(image, "image") }?;
        let out = unsafe { arg_out(out, "out") }?;
        let (ptr, img) = match &image.data {
            Data::Image(img) => (img.data().as_ptr(), img.view()),
            Data::Array(arr) => (
                arr.data().as_ptr(),
                arr.as_image_view().ok_or_else(|| {
                    Error::unsupported(format!(
                        "the array of shape {:?} is not an image; use imkit_image_get_shape and \
                         imkit_image_get_data",
                        arr.shape()
                    ))
                })?,
            ),
        };
        *out = imkit_image_view {
            data: ptr as *mut c_void,
            width: img.width() as u64,
            height: img.height() as u64,
            row_stride_bytes: img.row_stride(),
            channels: img.format().channels as u32,
            dtype: dtype_code(img.format().dtype),
        };
        Ok(())
    })
}

/// Frees an image. NULL is ignored; do not free twice.
#[no_mangle]
pub unsafe extern "C" fn imkit_image_free(image: *mut imkit_image) {
    boundary(|| unsafe { free_handle(image, "image") });
}

/// Writes pixels to a file atomically (temporary file + rename); the format comes from the
/// extension: `.png` uint8/uint16 with 1–4 channels; `.exr` float16/float32/uint32, any channel
/// count; `.tif`/`.tiff` uint8/uint16/float32 with 1, 3 or 4 channels; `.npy` any type. Pixels
/// a format cannot hold exactly give `IMKIT_STATUS_UNSUPPORTED`. `options` may be NULL.
/// Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_image_write(
    path: *const c_char,
    image: *const imkit_image_view,
    options: *const imkit_write_options,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let view = unsafe { arg_ref(image, "image")?.as_view("image") }?;
        let options = unsafe { write_options(options) }?;
        Ok(codec::write_image(&path, &view, &options)?)
    })
}

/// Reads an image file's size, pixel layout and format from its header, without decoding
/// pixels. Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_image_info_read(
    path: *const c_char,
    out: *mut imkit_image_info,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let out = unsafe { arg_out(out, "out") }?;
        let info = codec::probe(&path)?;
        *out = imkit_image_info {
            width: info.width,
            height: info.height,
            channels: info.format.channels as u32,
            dtype: dtype_code(info.format.dtype),
            file_format: imkit_file_format::from(info.file_format) as i32,
        };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_codes_match_the_c_enum() {
        use imkit_dtype as D;
        let c = [
            D::U8,
            D::U16,
            D::F16,
            D::F32,
            D::F64,
            D::I8,
            D::I16,
            D::U32,
            D::I32,
            D::U64,
            D::I64,
        ];
        assert_eq!(c.len(), PixelType::ALL.len());
        for (c, t) in c.into_iter().zip(PixelType::ALL) {
            assert_eq!(format!("{c:?}"), format!("{t:?}"));
            assert_eq!(dtype_code(t), c as i32);
            assert_eq!(arg_dtype(c as i32, "t").ok(), Some(t));
        }
        assert!(arg_dtype(0, "t").is_err() && arg_dtype(12, "t").is_err());
    }
}
