//! OpenEXR files read by block: a region read decodes only the scan-line blocks or tiles it
//! touches (the `exr` crate's block reader, filtered on each block's pixel rectangle), in
//! parallel on the library pool. Samples are float16, float32 (half and float mixed read as
//! float32) or uint32, any channel count, channels in [`crate::codec::exr`]'s order.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Channels, RegionSource};
use crate::codec::exr;
use crate::error::Result;
use crate::image::ImageViewMut;
use crate::pixel::PixelFormat;
use crate::rect::Rect;

/// An EXR file (first layer, full resolution) read block by block.
pub struct ExrSource {
    path: PathBuf,
    width: u64,
    height: u64,
    format: PixelFormat,
    block: (u64, u64),
    blocks_decoded: AtomicU64,
}

impl ExrSource {
    /// Reads the header of `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<ExrSource> {
        let path = path.as_ref();
        let layout = exr::probe_layout(path)?;
        Ok(ExrSource {
            path: path.to_path_buf(),
            width: layout.width as u64,
            height: layout.height as u64,
            format: layout.format,
            block: (layout.block.0 as u64, layout.block.1 as u64),
            blocks_decoded: AtomicU64::new(0),
        })
    }

    /// Blocks (scan-line blocks or tiles) decoded so far by every read.
    pub fn blocks_decoded(&self) -> u64 {
        self.blocks_decoded.load(Ordering::Relaxed)
    }
}

impl RegionSource for ExrSource {
    fn width(&self) -> u64 {
        self.width
    }
    fn height(&self) -> u64 {
        self.height
    }
    fn format(&self) -> PixelFormat {
        self.format
    }
    fn chunk_shape(&self) -> Option<(u64, u64)> {
        Some(self.block)
    }
    fn read_slice_region(
        &self,
        _z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        let mut slots = None;
        exr::read_blocks(
            &self.path,
            |block| {
                let (x, y) = (block.pixel_position.0 as u64, block.pixel_position.1 as u64);
                let (w, h) = (block.pixel_size.0 as u64, block.pixel_size.1 as u64);
                x < rect.right && rect.left < x + w && y < rect.bottom && rect.top < y + h
            },
            |layout, block| {
                if (layout.width as u64, layout.height as u64, layout.format)
                    != (self.width, self.height, self.format)
                {
                    return Err(crate::Error::format(format!(
                        "{}: the EXR file changed since it was opened",
                        self.path.display()
                    )));
                }
                // Output channels fed by each file channel.
                let slots = slots.get_or_insert_with(|| {
                    layout
                        .dest
                        .iter()
                        .map(|&band| {
                            let bands = channels.bands().iter().enumerate();
                            bands.filter(|(_, &b)| b == band).map(|(o, _)| o).collect()
                        })
                        .collect::<Vec<Vec<usize>>>()
                });
                self.blocks_decoded.fetch_add(1, Ordering::Relaxed);
                exr::scatter(block, layout, rect, slots, out)
            },
        )
    }
}
