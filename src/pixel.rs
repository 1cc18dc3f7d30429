//! Pixel sample types. A pixel is `channels` samples of one [`PixelType`], interleaved.

use crate::error::{Error, Result};

/// The numeric type of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelType {
    /// Unsigned 8-bit integer.
    U8,
    /// Unsigned 16-bit integer.
    U16,
    /// IEEE half float.
    F16,
    /// IEEE single float.
    F32,
    /// IEEE double float.
    F64,
    /// Signed 8-bit integer.
    I8,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 64-bit integer.
    U64,
    /// Signed 64-bit integer.
    I64,
}

impl PixelType {
    /// Every pixel type.
    pub const ALL: [PixelType; 11] = [
        PixelType::U8,
        PixelType::U16,
        PixelType::F16,
        PixelType::F32,
        PixelType::F64,
        PixelType::I8,
        PixelType::I16,
        PixelType::U32,
        PixelType::I32,
        PixelType::U64,
        PixelType::I64,
    ];

    /// Size of one sample in bytes.
    pub fn size(self) -> usize {
        match self {
            PixelType::U8 | PixelType::I8 => 1,
            PixelType::U16 | PixelType::I16 | PixelType::F16 => 2,
            PixelType::U32 | PixelType::I32 | PixelType::F32 => 4,
            PixelType::U64 | PixelType::I64 | PixelType::F64 => 8,
        }
    }

    /// Lower-case name as NumPy spells it (`uint8`, `float16`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PixelType::U8 => "uint8",
            PixelType::U16 => "uint16",
            PixelType::F16 => "float16",
            PixelType::F32 => "float32",
            PixelType::F64 => "float64",
            PixelType::I8 => "int8",
            PixelType::I16 => "int16",
            PixelType::U32 => "uint32",
            PixelType::I32 => "int32",
            PixelType::U64 => "uint64",
            PixelType::I64 => "int64",
        }
    }

    /// The range of values a sample of this type holds (finite values for float types).
    pub fn value_range(self) -> (f64, f64) {
        match self {
            PixelType::U8 => (0.0, 255.0),
            PixelType::I8 => (-128.0, 127.0),
            PixelType::U16 => (0.0, 65535.0),
            PixelType::I16 => (-32768.0, 32767.0),
            PixelType::U32 => (0.0, u32::MAX as f64),
            PixelType::I32 => (i32::MIN as f64, i32::MAX as f64),
            PixelType::U64 => (0.0, u64::MAX as f64),
            PixelType::I64 => (i64::MIN as f64, i64::MAX as f64),
            PixelType::F16 => (-65504.0, 65504.0),
            PixelType::F32 => (f32::MIN as f64, f32::MAX as f64),
            PixelType::F64 => (f64::MIN, f64::MAX),
        }
    }

    /// Encodes the fill value `value` as one sample of this type in native byte order
    /// (integers rounded to nearest). A value the type cannot hold (outside its range, or NaN
    /// for an integer type) is an error, never silently clamped; float types take NaN and
    /// the infinities as they are.
    pub fn encode_fill(self, value: f64, out: &mut Vec<u8>) -> Result<()> {
        let (lo, hi) = self.value_range();
        let float = matches!(self, PixelType::F16 | PixelType::F32 | PixelType::F64);
        let fits = if float {
            !value.is_finite() || (lo..=hi).contains(&value)
        } else {
            (lo..=hi).contains(&value.round())
        };
        if !fits {
            return Err(Error::invalid(format!(
                "fill value {value} is outside the range of {self} ({lo} to {hi})"
            )));
        }
        let v = value.round();
        match self {
            PixelType::U8 => out.push(v as u8),
            PixelType::I8 => out.extend((v as i8).to_ne_bytes()),
            PixelType::U16 => out.extend((v as u16).to_ne_bytes()),
            PixelType::I16 => out.extend((v as i16).to_ne_bytes()),
            PixelType::U32 => out.extend((v as u32).to_ne_bytes()),
            PixelType::I32 => out.extend((v as i32).to_ne_bytes()),
            PixelType::U64 => out.extend((v as u64).to_ne_bytes()),
            PixelType::I64 => out.extend((v as i64).to_ne_bytes()),
            PixelType::F16 => out.extend(half::f16::from_f64(value).to_ne_bytes()),
            PixelType::F32 => out.extend((value as f32).to_ne_bytes()),
            PixelType::F64 => out.extend(value.to_ne_bytes()),
        }
        Ok(())
    }
}

impl std::fmt::Display for PixelType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The layout of one pixel: sample type and channel count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PixelFormat {
    /// Sample type.
    pub dtype: PixelType,
    /// Samples per pixel (at least 1).
    pub channels: usize,
}

impl PixelFormat {
    /// A pixel format; `channels` must be at least 1.
    pub fn new(dtype: PixelType, channels: usize) -> Result<PixelFormat> {
        if channels == 0 {
            return Err(Error::invalid("channel count must be at least 1"));
        }
        Ok(PixelFormat { dtype, channels })
    }

    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        self.dtype.size() * self.channels
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x {} channel(s)", self.dtype, self.channels)
    }
}
