//! Tiles: where a tile sits on an image ([`TileSpec`] → [`Placement`]), and extracting or
//! pasting one, in memory or file to file (streaming rows, see [`tile`]).
//!
//! Semantics follow imkerutils: `(x, y)` is a pixel anchor, `corner` says which tile pixel sits
//! on it, rectangles are half-open. imkit adds rectangular tiles, a `center` anchor and edge
//! policies for tiles that cross the image border.

mod blend;
pub mod fragment;
pub mod manifest;
pub mod stitch;
mod tiff_paste;
mod tile;

pub use blend::{compose_rows, overlap, Blend, BlendTile};
pub use fragment::{fragment, FragmentOptions};
pub use manifest::{Manifest, TileChange, TileEntry, TileState};
pub use stitch::{stitch, stitch_manifest, stitch_png_part, StitchOptions};
pub use tile::{extract, extract_file, extract_into, paste, paste_file};

use crate::error::{Error, Result};
use crate::rect::Rect;

/// The tile side imkerutils uses when none is given.
pub const DEFAULT_TILE_SIZE: u64 = 1024;

/// Which pixel of the tile sits on the anchor `(x, y)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    /// Top-left pixel: the tile starts at `(x, y)`.
    TopLeft,
    /// Top-right pixel: `left = x - (width - 1)`.
    TopRight,
    /// Bottom-left pixel: `top = y - (height - 1)`.
    BottomLeft,
    /// Bottom-right pixel.
    BottomRight,
    /// Centre: `left = x - floor(width / 2)`, `top = y - floor(height / 2)`, so for even sizes
    /// the anchor is the lower-right of the four central pixels.
    Center,
}

impl Corner {
    /// Parses `tl`, `tr`, `bl`, `br` or `center` (case-insensitive, as imkerutils).
    pub fn parse(text: &str) -> Result<Corner> {
        match text.to_ascii_lowercase().as_str() {
            "tl" => Ok(Corner::TopLeft),
            "tr" => Ok(Corner::TopRight),
            "bl" => Ok(Corner::BottomLeft),
            "br" => Ok(Corner::BottomRight),
            "center" | "c" => Ok(Corner::Center),
            _ => Err(Error::invalid(format!(
                "corner must be one of tl, tr, bl, br, center (got {text:?})"
            ))),
        }
    }

    /// The short code (`tl`, ..., `center`).
    pub fn code(self) -> &'static str {
        match self {
            Corner::TopLeft => "tl",
            Corner::TopRight => "tr",
            Corner::BottomLeft => "bl",
            Corner::BottomRight => "br",
            Corner::Center => "center",
        }
    }
}

/// What to do when a tile crosses the image border.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EdgePolicy {
    /// Refuse (imkerutils' behaviour).
    Error,
    /// Keep only the part inside the image: extracted tiles are smaller, pastes are partial.
    Clip,
    /// Extracted tiles keep their full size, pixels outside the image get this fill value
    /// (every channel); pastes write only the part inside the image.
    Pad(f64),
}

impl EdgePolicy {
    /// Parses `error`, `clip` or `pad` (the fill value is given separately).
    pub fn parse(text: &str, fill: f64) -> Result<EdgePolicy> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Ok(EdgePolicy::Error),
            "clip" => Ok(EdgePolicy::Clip),
            "pad" => Ok(EdgePolicy::Pad(fill)),
            _ => Err(Error::invalid(format!(
                "edge policy must be error, clip or pad (got {text:?})"
            ))),
        }
    }
}

/// Where a tile goes: anchor, anchor corner, size and edge policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileSpec {
    /// Anchor column (may be negative or past the image; the edge policy decides).
    pub x: i64,
    /// Anchor row.
    pub y: i64,
    /// Which tile pixel sits on the anchor.
    pub corner: Corner,
    /// Tile width in pixels (at least 1).
    pub width: u64,
    /// Tile height in pixels (at least 1).
    pub height: u64,
    /// Behaviour at the image border.
    pub edge: EdgePolicy,
}

impl TileSpec {
    /// A square tile with imkerutils' defaults for the rest (edge policy `Error`).
    pub fn square(x: i64, y: i64, corner: Corner, size: u64) -> TileSpec {
        TileSpec {
            x,
            y,
            corner,
            width: size,
            height: size,
            edge: EdgePolicy::Error,
        }
    }

    /// The tile's top-left pixel, which may lie outside the image.
    pub fn top_left(&self) -> Result<(i64, i64)> {
        if self.width == 0 || self.height == 0 {
            return Err(Error::invalid(format!(
                "tile size must be at least 1x1 (got {}x{})",
                self.width, self.height
            )));
        }
        let (w, h) = (self.width as i128, self.height as i128);
        let (dx, dy) = match self.corner {
            Corner::TopLeft => (0, 0),
            Corner::TopRight => (w - 1, 0),
            Corner::BottomLeft => (0, h - 1),
            Corner::BottomRight => (w - 1, h - 1),
            Corner::Center => (w / 2, h / 2),
        };
        let left = self.x as i128 - dx;
        let top = self.y as i128 - dy;
        let fits = |v: i128, size: i128| v >= i64::MIN as i128 && v + size <= i64::MAX as i128;
        if !fits(left, w) || !fits(top, h) {
            return Err(Error::invalid("tile position overflows 64-bit coordinates"));
        }
        Ok((left as i64, top as i64))
    }

    /// Resolves the tile against a `width` x `height` image under the edge policy.
    pub fn place(&self, width: u64, height: u64) -> Result<Placement> {
        let (left, top) = self.top_left()?;
        let right = left as i128 + self.width as i128;
        let bottom = top as i128 + self.height as i128;
        let clamp = |v: i128, max: u64| v.clamp(0, max as i128) as u64;
        let inside = Rect {
            left: clamp(left as i128, width),
            top: clamp(top as i128, height),
            right: clamp(right, width),
            bottom: clamp(bottom, height),
        };
        let whole = inside.width() == self.width && inside.height() == self.height;
        if !whole && self.edge == EdgePolicy::Error {
            return Err(Error::OutOfBounds(format!(
                "tile (left {left}, top {top}, right {right}, bottom {bottom}) is out of bounds \
                 for image size {width}x{height} (use edge policy clip or pad to allow this)"
            )));
        }
        if inside.is_empty() {
            return Err(Error::OutOfBounds(format!(
                "tile (left {left}, top {top}, right {right}, bottom {bottom}) does not overlap \
                 the {width}x{height} image"
            )));
        }
        let offset_x = (inside.left as i128 - left as i128) as u64;
        let offset_y = (inside.top as i128 - top as i128) as u64;
        Ok(Placement {
            image_rect: inside,
            tile_left: left,
            tile_top: top,
            tile_width: self.width,
            tile_height: self.height,
            offset_x,
            offset_y,
        })
    }
}

/// A tile resolved against an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The part of the image the tile covers (never empty).
    pub image_rect: Rect,
    /// The tile's full top-left, possibly outside the image.
    pub tile_left: i64,
    /// See `tile_left`.
    pub tile_top: i64,
    /// Full tile width.
    pub tile_width: u64,
    /// Full tile height.
    pub tile_height: u64,
    /// Column inside the full tile where `image_rect` starts.
    pub offset_x: u64,
    /// Row inside the full tile where `image_rect` starts.
    pub offset_y: u64,
}

impl Placement {
    /// The size of the tile that extraction produces under `edge`: the clipped part for
    /// `Clip`, the full tile otherwise.
    pub fn extracted_size(&self, edge: EdgePolicy) -> (u64, u64) {
        match edge {
            EdgePolicy::Clip => (self.image_rect.width(), self.image_rect.height()),
            _ => (self.tile_width, self.tile_height),
        }
    }

    /// Where `image_rect` lands inside the extracted tile under `edge`.
    pub fn extracted_offset(&self, edge: EdgePolicy) -> (u64, u64) {
        match edge {
            EdgePolicy::Clip => (0, 0),
            _ => (self.offset_x, self.offset_y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_follow_imkerutils_offsets() {
        let at = |c| TileSpec::square(100, 200, c, 1024).top_left().unwrap();
        assert_eq!(at(Corner::TopLeft), (100, 200));
        assert_eq!(at(Corner::TopRight), (100 - 1023, 200));
        assert_eq!(at(Corner::BottomLeft), (100, 200 - 1023));
        assert_eq!(at(Corner::BottomRight), (100 - 1023, 200 - 1023));
        assert_eq!(at(Corner::Center), (100 - 512, 200 - 512));
        let odd = TileSpec::square(10, 10, Corner::Center, 5)
            .top_left()
            .unwrap();
        assert_eq!(odd, (8, 8));
    }

    #[test]
    fn corner_parsing_is_case_insensitive_and_strict() {
        assert_eq!(Corner::parse("BR").unwrap(), Corner::BottomRight);
        assert!(Corner::parse("middle").is_err());
    }

    #[test]
    fn edge_policies() {
        let mut spec = TileSpec::square(2000, 0, Corner::TopLeft, 1024);
        assert!(matches!(spec.place(2048, 2048), Err(Error::OutOfBounds(_))));
        spec.edge = EdgePolicy::Clip;
        let p = spec.place(2048, 2048).unwrap();
        assert_eq!(p.image_rect, Rect::from_xywh(2000, 0, 48, 1024));
        assert_eq!(p.extracted_size(spec.edge), (48, 1024));
        spec.edge = EdgePolicy::Pad(0.0);
        let p = spec.place(2048, 2048).unwrap();
        assert_eq!(p.extracted_size(spec.edge), (1024, 1024));
        spec.x = -10;
        spec.y = -20;
        let p = spec.place(2048, 2048).unwrap();
        assert_eq!((p.offset_x, p.offset_y), (10, 20));
        assert_eq!(p.image_rect, Rect::from_xywh(0, 0, 1014, 1004));
        spec.x = 5000;
        assert!(matches!(spec.place(2048, 2048), Err(Error::OutOfBounds(_))));
    }

    #[test]
    fn zero_size_is_a_clear_error() {
        let spec = TileSpec::square(0, 0, Corner::TopLeft, 0);
        let err = spec.place(10, 10).unwrap_err().to_string();
        assert!(err.contains("at least 1x1"), "{err}");
    }
}
