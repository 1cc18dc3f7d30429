//! Rectangles and sizes in pixel coordinates, shared by tiling and partition.
//! Origin top-left, `x` grows right, `y` grows down; rectangles are half-open.

use crate::error::{Error, Result};

/// A half-open pixel rectangle `[left, right) x [top, bottom)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    /// First column inside.
    pub left: u64,
    /// First row inside.
    pub top: u64,
    /// First column past the right edge.
    pub right: u64,
    /// First row past the bottom edge.
    pub bottom: u64,
}

impl Rect {
    /// A rectangle from its top-left corner and size.
    pub fn from_xywh(left: u64, top: u64, width: u64, height: u64) -> Rect {
        Rect {
            left,
            top,
            right: left + width,
            bottom: top + height,
        }
    }

    /// The whole of a `width` x `height` image.
    pub fn full(width: u64, height: u64) -> Rect {
        Rect::from_xywh(0, 0, width, height)
    }

    /// Columns covered.
    pub fn width(&self) -> u64 {
        self.right.saturating_sub(self.left)
    }

    /// Rows covered.
    pub fn height(&self) -> u64 {
        self.bottom.saturating_sub(self.top)
    }

    /// True when no pixel is inside.
    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }

    /// True when `other` lies entirely inside `self`.
    pub fn contains_rect(&self, other: &Rect) -> bool {
        other.left >= self.left
            && other.top >= self.top
            && other.right <= self.right
            && other.bottom <= self.bottom
    }

    /// The common part of two rectangles (possibly empty).
    pub fn intersect(&self, other: &Rect) -> Rect {
        let left = self.left.max(other.left);
        let top = self.top.max(other.top);
        Rect {
            left,
            top,
            right: self.right.min(other.right).max(left),
            bottom: self.bottom.min(other.bottom).max(top),
        }
    }

    /// The smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        Rect {
            left: self.left.min(other.left),
            top: self.top.min(other.top),
            right: self.right.max(other.right),
            bottom: self.bottom.max(other.bottom),
        }
    }

    /// Checks that the rectangle is non-empty and lies inside a `width` x `height` image.
    pub fn check_inside(&self, width: u64, height: u64) -> Result<()> {
        if self.is_empty() {
            return Err(Error::invalid(format!("rectangle {self} is empty")));
        }
        if !Rect::full(width, height).contains_rect(self) {
            return Err(Error::OutOfBounds(format!(
                "rectangle {self} is outside the {width}x{height} image"
            )));
        }
        Ok(())
    }
}

impl std::fmt::Display for Rect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(left {}, top {}, right {}, bottom {})",
            self.left, self.top, self.right, self.bottom
        )
    }
}
