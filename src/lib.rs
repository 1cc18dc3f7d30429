//! imkit: tile-based processing of images of any size.
//!
//! The Rust API lives in the modules below; the C ABI (`ffi`) is a thin layer over them.
//! Data flows one way: file → codec/source → view → operation → encoder → file.

pub mod array;
pub mod buffer;
pub mod codec;
pub mod digest;
pub mod error;
pub mod ffi;
pub mod iid;
pub mod image;
pub mod io;
pub mod limits;
pub mod partition;
pub mod pipeline;
pub mod pixel;
pub mod progress;
pub mod rect;
pub mod source;
pub mod threads;
pub mod thumbnail;
pub mod tiling;

pub use array::{ArrayView, NdArray};
pub use error::{Error, Result};
pub use image::{Image, ImageView, ImageViewMut};
pub use pixel::{PixelFormat, PixelType};
pub use rect::Rect;
