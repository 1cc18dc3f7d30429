//! Pixels already in memory (an owned copy of a caller's buffer, or a decoded image).

use super::{Channels, RegionSource};
use crate::error::Result;
use crate::geom::Rect;
use crate::image::{Image, ImageViewMut};
use crate::pixel::PixelFormat;

/// An image (or a stack of equal-size slices) held in memory, packed rows.
pub struct MemorySource {
    slices: Vec<Image>,
}

impl MemorySource {
    /// A source over one image.
    pub fn new(image: Image) -> MemorySource {
        MemorySource {
            slices: vec![image],
        }
    }

    /// A volume from equal-size slices (at least one).
    pub fn volume(slices: Vec<Image>) -> Result<MemorySource> {
        let first = slices
            .first()
            .ok_or_else(|| crate::Error::invalid("a volume needs at least one slice"))?;
        let (w, h, f) = (first.width(), first.height(), first.format());
        if let Some(bad) = slices
            .iter()
            .position(|s| (s.width(), s.height(), s.format()) != (w, h, f))
        {
            return Err(crate::Error::Mismatch(format!(
                "slice {bad} differs in size or pixel format from slice 0"
            )));
        }
        Ok(MemorySource { slices })
    }
}

/// Copies `rect` out of packed rows `bytes` (`width` pixels of `format` per row).
pub(crate) fn read_packed(
    bytes: &[u8],
    width: u64,
    format: PixelFormat,
    rect: Rect,
    channels: &Channels,
    out: &mut ImageViewMut<'_>,
) {
    let bpp = format.bytes_per_pixel();
    let row_bytes = width as usize * bpp;
    let sample = format.dtype.size();
    let (left, w) = (rect.left as usize * bpp, rect.width() as usize * bpp);
    for (i, y) in (rect.top..rect.bottom).enumerate() {
        let start = y as usize * row_bytes + left;
        channels.copy_row(&bytes[start..start + w], out.row_mut(i), sample);
    }
}

impl RegionSource for MemorySource {
    fn width(&self) -> u64 {
        self.slices[0].width() as u64
    }
    fn height(&self) -> u64 {
        self.slices[0].height() as u64
    }
    fn depth(&self) -> u64 {
        self.slices.len() as u64
    }
    fn format(&self) -> PixelFormat {
        self.slices[0].format()
    }
    fn read_slice_region(
        &self,
        z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        let image = &self.slices[z as usize];
        read_packed(
            image.data(),
            self.width(),
            self.format(),
            rect,
            channels,
            out,
        );
        Ok(())
    }
}
