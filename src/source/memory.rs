//! Pixels already in memory (an owned copy of a caller's buffer, or a decoded image).

use super::packed::{PackedLayout, PackedSource};
use crate::error::{Error, Result};
use crate::image::Image;

/// An image (or a stack of equal-size slices) held in memory, packed rows.
pub type MemorySource = PackedSource<Vec<u8>>;

impl PackedSource<Vec<u8>> {
    /// A source over one image.
    pub fn new(image: Image) -> MemorySource {
        let size = (image.width() as u64, image.height() as u64, 1);
        let layout = PackedLayout::contiguous(0, size, image.format());
        PackedSource {
            bytes: image.into_vec(),
            layout,
        }
    }

    /// A volume from equal-size slices (at least one).
    pub fn volume(slices: Vec<Image>) -> Result<MemorySource> {
        let first = slices
            .first()
            .ok_or_else(|| Error::invalid("a volume needs at least one slice"))?;
        let (w, h, f) = (first.width(), first.height(), first.format());
        if let Some(bad) = slices
            .iter()
            .position(|s| (s.width(), s.height(), s.format()) != (w, h, f))
        {
            return Err(Error::Mismatch(format!(
                "slice {bad} differs in size or pixel format from slice 0"
            )));
        }
        let layout = PackedLayout::contiguous(0, (w as u64, h as u64, slices.len() as u64), f);
        let mut bytes = Vec::new();
        crate::limits::reserve(&mut bytes, layout.slice_stride * slices.len(), "volume")?;
        slices
            .iter()
            .for_each(|s| bytes.extend_from_slice(s.data()));
        Self::with_layout(bytes, layout)
    }
}
