//! Pixel buffers: [`Image`] owns its samples; [`ImageView`] and [`ImageViewMut`] borrow
//! them with an explicit row stride, so a crop is a view, never a copy.

use crate::error::{Error, Result};
use crate::pixel::{PixelFormat, PixelType};
use crate::rect::Rect;

/// Checks that `len` bytes hold `height` rows of `width` pixels at `row_stride` bytes per row
/// and returns the row length in bytes.
fn check_layout(
    len: usize,
    width: usize,
    height: usize,
    format: PixelFormat,
    row_stride: usize,
) -> Result<usize> {
    let row_bytes = width
        .checked_mul(format.bytes_per_pixel())
        .ok_or_else(|| Error::invalid("image row size overflows"))?;
    if row_stride < row_bytes {
        return Err(Error::invalid(format!(
            "row stride {row_stride} is smaller than a row of {width} pixels ({row_bytes} bytes)"
        )));
    }
    if height > 0 {
        let need = (height - 1)
            .checked_mul(row_stride)
            .and_then(|n| n.checked_add(row_bytes))
            .ok_or_else(|| Error::invalid("image size overflows"))?;
        if len < need {
            return Err(Error::BufferTooSmall(format!(
                "buffer holds {len} bytes, a {width}x{height} {format} image with row stride \
                 {row_stride} needs {need}"
            )));
        }
    }
    Ok(row_bytes)
}

/// The size and pixel-layout getters of every pixel container here (fields `width`,
/// `height`, `format`).
macro_rules! pixel_getters {
    () => {
        /// Width in pixels.
        pub fn width(&self) -> usize {
            self.width
        }
        /// Height in pixels.
        pub fn height(&self) -> usize {
            self.height
        }
        /// Pixel layout.
        pub fn format(&self) -> PixelFormat {
            self.format
        }
        /// Sample type.
        pub fn dtype(&self) -> PixelType {
            self.format.dtype
        }
        /// Samples per pixel.
        pub fn channels(&self) -> usize {
            self.format.channels
        }
    };
}

/// An owned image with tightly packed rows (`row_stride == width * bytes_per_pixel`).
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    width: usize,
    height: usize,
    format: PixelFormat,
    data: Vec<u8>,
}

impl Image {
    /// A zero-filled image. Fails with [`Error::TooLarge`] past [`crate::limits::max_pixels`]
    /// and with [`Error::NoMemory`] when the allocation fails (never aborts).
    pub fn new(width: usize, height: usize, format: PixelFormat) -> Result<Image> {
        let what = format!("a {format} image");
        crate::limits::check_image(&what, width as u64, height as u64, format.channels as u64)?;
        let len = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(format.bytes_per_pixel()))
            .ok_or_else(|| Error::invalid("image size overflows"))?;
        Ok(Image {
            width,
            height,
            format,
            data: crate::buffer::zeroed(len, &what)?,
        })
    }

    /// Wraps packed samples; `data.len()` must be exactly `width * height * bytes_per_pixel`.
    pub fn from_vec(
        width: usize,
        height: usize,
        format: PixelFormat,
        data: Vec<u8>,
    ) -> Result<Image> {
        let row = check_layout(
            data.len(),
            width,
            height,
            format,
            width * format.bytes_per_pixel(),
        )?;
        if data.len() != row * height {
            return Err(Error::Mismatch(format!(
                "expected {} bytes for a {width}x{height} {format} image, got {}",
                row * height,
                data.len()
            )));
        }
        Ok(Image {
            width,
            height,
            format,
            data,
        })
    }

    pixel_getters!();
    /// All samples, row after row, native byte order.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    /// All samples, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
    /// Gives up the sample buffer.
    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }
    /// A borrowed view of the whole image.
    pub fn view(&self) -> ImageView<'_> {
        ImageView {
            data: &self.data,
            width: self.width,
            height: self.height,
            format: self.format,
            row_stride: self.width * self.format.bytes_per_pixel(),
        }
    }
    /// A mutable view of the whole image.
    pub fn view_mut(&mut self) -> ImageViewMut<'_> {
        let row_stride = self.width * self.format.bytes_per_pixel();
        ImageViewMut {
            data: &mut self.data,
            width: self.width,
            height: self.height,
            format: self.format,
            row_stride,
        }
    }
}

/// A borrowed, read-only, strided image.
#[derive(Clone, Copy, Debug)]
pub struct ImageView<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    format: PixelFormat,
    row_stride: usize,
}

impl<'a> ImageView<'a> {
    /// A view over `data`; checks that the buffer is large enough for the layout.
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        format: PixelFormat,
        row_stride: usize,
    ) -> Result<ImageView<'a>> {
        check_layout(data.len(), width, height, format, row_stride)?;
        Ok(ImageView {
            data,
            width,
            height,
            format,
            row_stride,
        })
    }

    pixel_getters!();
    /// Bytes from one row to the next.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }
    /// Bytes of pixel data in one row (without stride padding).
    pub fn row_bytes(&self) -> usize {
        self.width * self.format.bytes_per_pixel()
    }
    /// Every pixel as one slice, when the rows are packed (no stride padding between them).
    pub fn packed_data(&self) -> Option<&'a [u8]> {
        let len = self.row_bytes() * self.height;
        (self.row_stride == self.row_bytes() || self.height <= 1).then(|| &self.data[..len])
    }
    /// The samples of row `y`.
    pub fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.row_stride;
        &self.data[start..start + self.row_bytes()]
    }
    /// A view of the part inside `rect`, which must lie inside the image.
    pub fn crop(&self, rect: Rect) -> Result<ImageView<'a>> {
        rect.check_inside(self.width as u64, self.height as u64)?;
        let bpp = self.format.bytes_per_pixel();
        let start = rect.top as usize * self.row_stride + rect.left as usize * bpp;
        ImageView::new(
            &self.data[start..],
            rect.width() as usize,
            rect.height() as usize,
            self.format,
            self.row_stride,
        )
    }
    /// Copies into a packed owned image.
    pub fn to_image(&self) -> Image {
        let mut data = Vec::with_capacity(self.row_bytes() * self.height);
        for y in 0..self.height {
            data.extend_from_slice(self.row(y));
        }
        Image {
            width: self.width,
            height: self.height,
            format: self.format,
            data,
        }
    }
}

/// A borrowed, writable, strided image.
#[derive(Debug)]
pub struct ImageViewMut<'a> {
    data: &'a mut [u8],
    width: usize,
    height: usize,
    format: PixelFormat,
    row_stride: usize,
}

impl<'a> ImageViewMut<'a> {
    /// A writable view over `data`; checks that the buffer is large enough for the layout.
    pub fn new(
        data: &'a mut [u8],
        width: usize,
        height: usize,
        format: PixelFormat,
        row_stride: usize,
    ) -> Result<ImageViewMut<'a>> {
        check_layout(data.len(), width, height, format, row_stride)?;
        Ok(ImageViewMut {
            data,
            width,
            height,
            format,
            row_stride,
        })
    }

    pixel_getters!();
    /// A read-only view of the same pixels.
    pub fn as_view(&self) -> ImageView<'_> {
        ImageView {
            data: self.data,
            width: self.width,
            height: self.height,
            format: self.format,
            row_stride: self.row_stride,
        }
    }
    /// The samples of row `y`, writable.
    pub fn row_mut(&mut self, y: usize) -> &mut [u8] {
        let start = y * self.row_stride;
        let len = self.width * self.format.bytes_per_pixel();
        &mut self.data[start..start + len]
    }
    /// The view cut into horizontal bands of `rows` rows each (the last may be shorter), to
    /// be filled from several threads.
    pub fn row_bands(&mut self, rows: usize) -> Vec<ImageViewMut<'_>> {
        let rows = rows.max(1);
        let mut bands = Vec::with_capacity(self.height.div_ceil(rows));
        let mut data: &mut [u8] = self.data;
        let mut top = 0;
        while top < self.height {
            let height = rows.min(self.height - top);
            let cut = if top + height < self.height {
                height * self.row_stride
            } else {
                data.len()
            };
            let (band, rest) = std::mem::take(&mut data).split_at_mut(cut);
            bands.push(ImageViewMut {
                data: band,
                width: self.width,
                height,
                format: self.format,
                row_stride: self.row_stride,
            });
            data = rest;
            top += height;
        }
        bands
    }
    /// A writable view of the part inside `rect`, which must lie inside the image.
    pub fn crop_mut(&mut self, rect: Rect) -> Result<ImageViewMut<'_>> {
        rect.check_inside(self.width as u64, self.height as u64)?;
        let bpp = self.format.bytes_per_pixel();
        let start = rect.top as usize * self.row_stride + rect.left as usize * bpp;
        ImageViewMut::new(
            &mut self.data[start..],
            rect.width() as usize,
            rect.height() as usize,
            self.format,
            self.row_stride,
        )
    }
    /// Copies `src` into this view; sizes and pixel formats must match exactly.
    pub fn copy_from(&mut self, src: &ImageView<'_>) -> Result<()> {
        if src.format() != self.format {
            return Err(Error::Mismatch(format!(
                "pixel format differs: source is {}, destination is {}",
                src.format(),
                self.format
            )));
        }
        if src.width() != self.width || src.height() != self.height {
            return Err(Error::Mismatch(format!(
                "size differs: source is {}x{}, destination is {}x{}",
                src.width(),
                src.height(),
                self.width,
                self.height
            )));
        }
        for y in 0..self.height {
            self.row_mut(y).copy_from_slice(src.row(y));
        }
        Ok(())
    }
    /// Sets every pixel to the same bytes (`pixel.len()` must equal the bytes per pixel).
    pub fn fill(&mut self, pixel: &[u8]) {
        for y in 0..self.height {
            for px in self.row_mut(y).chunks_exact_mut(pixel.len()) {
                px.copy_from_slice(pixel);
            }
        }
    }
}
