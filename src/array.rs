//! N-dimensional arrays: a shape, a sample type and packed samples in C (row-major) order,
//! native byte order. This is what an NPY file holds; an image is the special case of shape
//! `(height, width)` (one channel) or `(height, width, channels)`.

use crate::error::{Error, Result};
use crate::image::{Image, ImageView};
use crate::pixel::{PixelFormat, PixelType};

/// An owned N-dimensional array (0-D scalars and 1-D vectors included).
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray {
    dtype: PixelType,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// A borrowed N-dimensional array: the caller's packed C-order samples, written from where
/// they are (saving one needs no copy).
#[derive(Clone, Copy, Debug)]
pub struct ArrayView<'a> {
    dtype: PixelType,
    shape: &'a [usize],
    data: &'a [u8],
}

impl<'a> ArrayView<'a> {
    /// Borrows packed C-order samples; `data.len()` must match the shape exactly.
    pub fn new(dtype: PixelType, shape: &'a [usize], data: &'a [u8]) -> Result<ArrayView<'a>> {
        let len = byte_len(dtype, shape)?;
        if data.len() != len {
            return Err(Error::Mismatch(format!(
                "an array of shape {shape:?} and type {dtype} needs {len} bytes, got {}",
                data.len()
            )));
        }
        Ok(ArrayView { dtype, shape, data })
    }
    /// Sample type.
    pub fn dtype(&self) -> PixelType {
        self.dtype
    }
    /// Axis lengths, outermost first.
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }
    /// Packed samples, native byte order.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// The image this array describes, if it has the shape of one (see [`image_format_of`]).
    pub fn as_image_view(&self) -> Option<ImageView<'a>> {
        let (w, h, format) = image_format_of(self.dtype, self.shape)?;
        ImageView::new(self.data, w, h, format, w * format.bytes_per_pixel()).ok()
    }
    /// An owned copy.
    pub fn to_owned(&self) -> NdArray {
        NdArray {
            dtype: self.dtype,
            shape: self.shape.to_vec(),
            data: self.data.to_vec(),
        }
    }
}

impl<'a> From<&'a NdArray> for ArrayView<'a> {
    fn from(array: &'a NdArray) -> Self {
        array.view()
    }
}

/// Number of bytes an array of `shape` and `dtype` holds, checked for overflow.
pub fn byte_len(dtype: PixelType, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::invalid(format!("array of shape {shape:?} is too large")))
}

impl NdArray {
    /// A zero-filled array.
    pub fn zeros(dtype: PixelType, shape: &[usize]) -> Result<NdArray> {
        let len = byte_len(dtype, shape)?;
        let what = format!("a {dtype} array of shape {shape:?}");
        crate::limits::check_samples(&what, (len / dtype.size()) as u64)?;
        Ok(NdArray {
            dtype,
            shape: shape.to_vec(),
            data: crate::limits::zeroed(len, &what)?,
        })
    }

    /// Wraps packed C-order samples; `data.len()` must match the shape exactly.
    pub fn from_vec(dtype: PixelType, shape: &[usize], data: Vec<u8>) -> Result<NdArray> {
        let len = byte_len(dtype, shape)?;
        if data.len() != len {
            return Err(Error::Mismatch(format!(
                "an array of shape {shape:?} and type {dtype} needs {len} bytes, got {}",
                data.len()
            )));
        }
        Ok(NdArray {
            dtype,
            shape: shape.to_vec(),
            data,
        })
    }

    /// The array form of an image: `(height, width)` for one channel, else
    /// `(height, width, channels)`.
    pub fn from_image(image: &ImageView<'_>) -> NdArray {
        let image = image.to_image();
        let shape = image_shape(image.width(), image.height(), image.format().channels);
        NdArray {
            dtype: image.format().dtype,
            shape,
            data: image.into_vec(),
        }
    }

    /// Sample type.
    pub fn dtype(&self) -> PixelType {
        self.dtype
    }
    /// Length of each axis, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// All samples, C order, native byte order.
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

    /// A borrowed view of the array.
    pub fn view(&self) -> ArrayView<'_> {
        ArrayView {
            dtype: self.dtype,
            shape: &self.shape,
            data: &self.data,
        }
    }

    /// The image this array describes, if it has the shape of one (see [`image_format_of`]).
    pub fn as_image_view(&self) -> Option<ImageView<'_>> {
        self.view().as_image_view()
    }

    /// Converts into an image if the array has the shape of one; gives the array back if not.
    pub fn into_image(self) -> std::result::Result<Image, NdArray> {
        match image_format_of(self.dtype, &self.shape) {
            Some((w, h, format)) => {
                Ok(Image::from_vec(w, h, format, self.data)
                    .expect("image_format_of checked the size"))
            }
            None => Err(self),
        }
    }
}

/// The array shape of a `width` x `height` image with `channels` samples per pixel.
pub fn image_shape(width: usize, height: usize, channels: usize) -> Vec<usize> {
    if channels == 1 {
        vec![height, width]
    } else {
        vec![height, width, channels]
    }
}

/// Whether an array shape is an image: `(h, w)` is a one-channel image, `(h, w, c)` with
/// `c >= 2` an image of `c` channels. `(h, w, 1)` is *not* (it would come back as `(h, w)`),
/// nor is any other rank. Returns (width, height, pixel format).
pub fn image_format_of(dtype: PixelType, shape: &[usize]) -> Option<(usize, usize, PixelFormat)> {
    match *shape {
        [h, w] => Some((w, h, PixelFormat { dtype, channels: 1 })),
        [h, w, c] if c >= 2 => Some((w, h, PixelFormat { dtype, channels: c })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_shapes_round_trip() {
        let img = Image::new(3, 2, PixelFormat::new(PixelType::U16, 4).unwrap()).unwrap();
        let arr = NdArray::from_image(&img.view());
        assert_eq!(arr.shape(), &[2, 3, 4]);
        assert_eq!(arr.into_image().unwrap(), img);
        let grey = NdArray::zeros(PixelType::F32, &[5, 7]).unwrap();
        assert_eq!(grey.as_image_view().unwrap().channels(), 1);
        let column = NdArray::zeros(PixelType::F32, &[5, 7, 1]).unwrap();
        assert!(column.into_image().is_err());
    }

    #[test]
    fn sizes_are_checked() {
        assert!(NdArray::zeros(PixelType::F64, &[usize::MAX, 2]).is_err());
        assert!(NdArray::from_vec(PixelType::U8, &[2, 2], vec![0; 3]).is_err());
        assert_eq!(NdArray::zeros(PixelType::U8, &[]).unwrap().data().len(), 1);
    }
}
