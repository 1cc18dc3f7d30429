//! A 2-D or 3-D grid of cells over an image (height x width) or a volume (depth x height x
//! width), built from the shape alone: no pixels are involved.

use std::ops::Range;

use super::geometry::{Axis, EdgePolicy, Stride};
use super::index::AxisKey;
use crate::error::{Error, Result};
use crate::rect::Rect;

/// Grid parameters, per axis in (depth, height, width) order. For 2-D grids the depth entries
/// are ignored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridSpec {
    /// Cell size (depth, height, width) in pixels.
    pub cell: [u64; 3],
    /// Stride (depth, height, width).
    pub stride: [Stride; 3],
    /// What happens at the far edges.
    pub edge: EdgePolicy,
}

impl GridSpec {
    /// Square cells of `cell` pixels with one stride for both axes (2-D).
    pub fn square(cell: u64, stride: Stride) -> GridSpec {
        GridSpec::new(cell, cell, stride, stride)
    }

    /// `cell_h` x `cell_w` cells with per-axis strides (2-D), edge policy clip.
    pub fn new(cell_h: u64, cell_w: u64, stride_y: Stride, stride_x: Stride) -> GridSpec {
        GridSpec {
            cell: [1, cell_h, cell_w],
            stride: [Stride::Pixels(1), stride_y, stride_x],
            edge: EdgePolicy::Clip,
        }
    }

    /// The same spec with another edge policy.
    pub fn with_edge(mut self, edge: EdgePolicy) -> GridSpec {
        self.edge = edge;
        self
    }

    /// The same spec with a depth axis (cell size and stride along depth).
    pub fn with_depth(mut self, cell_d: u64, stride_z: Stride) -> GridSpec {
        self.cell[0] = cell_d;
        self.stride[0] = stride_z;
        self
    }
}

/// A grid of cells. Axes are (depth, rows, columns); a 2-D grid has one depth cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    axes: [Axis; 3],
    volume: bool,
}

/// A resolved selection: non-empty ranges of cell indices per axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Depth cells (0..1 for 2-D grids).
    pub depth: Range<u64>,
    /// Row cells.
    pub rows: Range<u64>,
    /// Column cells.
    pub cols: Range<u64>,
}

/// A 3-D box of pixels: depth range plus a rectangle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Box3 {
    /// Slices (pages) covered, half-open.
    pub depth: Range<u64>,
    /// Pixels covered in each slice.
    pub rect: Rect,
}

impl Grid {
    /// A 2-D grid over a `height` x `width` image.
    pub fn new(height: u64, width: u64, spec: &GridSpec) -> Result<Grid> {
        Ok(Grid {
            axes: [
                Axis::new(1, 1, Stride::Pixels(1), EdgePolicy::Clip)?,
                Axis::new(height, spec.cell[1], spec.stride[1], spec.edge)?,
                Axis::new(width, spec.cell[2], spec.stride[2], spec.edge)?,
            ],
            volume: false,
        })
    }

    /// A 3-D grid over a `depth` x `height` x `width` volume.
    pub fn new_volume(depth: u64, height: u64, width: u64, spec: &GridSpec) -> Result<Grid> {
        Ok(Grid {
            axes: [
                Axis::new(depth, spec.cell[0], spec.stride[0], spec.edge)?,
                Axis::new(height, spec.cell[1], spec.stride[1], spec.edge)?,
                Axis::new(width, spec.cell[2], spec.stride[2], spec.edge)?,
            ],
            volume: true,
        })
    }

    /// True for 3-D grids.
    pub fn is_volume(&self) -> bool {
        self.volume
    }

    /// The depth axis (one cell of one slice for 2-D grids).
    pub fn depth(&self) -> &Axis {
        &self.axes[0]
    }

    /// The row axis (height).
    pub fn rows(&self) -> &Axis {
        &self.axes[1]
    }

    /// The column axis (width).
    pub fn cols(&self) -> &Axis {
        &self.axes[2]
    }

    /// Cells as (rows, cols).
    pub fn shape(&self) -> (u64, u64) {
        (self.rows().count(), self.cols().count())
    }

    /// Total number of cells (all axes).
    pub fn len(&self) -> u64 {
        self.axes.iter().map(Axis::count).product()
    }

    /// True when the grid has no cell (never, for a successfully built grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Image size as (width, height).
    pub fn image_size(&self) -> (u64, u64) {
        (self.cols().extent(), self.rows().extent())
    }

    /// Resolves per-axis keys: 2 keys (rows, cols) for 2-D grids, 3 (depth, rows, cols) for
    /// volumes; fewer keys leave the trailing axes whole.
    pub fn select(&self, keys: &[AxisKey]) -> Result<Selection> {
        let dims = if self.volume { 3 } else { 2 };
        if keys.is_empty() || keys.len() > dims {
            return Err(Error::invalid(format!(
                "a {dims}-D grid takes 1 to {dims} keys, got {}",
                keys.len()
            )));
        }
        let key = |i: usize| keys.get(i).copied().unwrap_or(AxisKey::All);
        let (d, r, c) = if self.volume {
            (key(0), key(1), key(2))
        } else {
            (AxisKey::All, key(0), key(1))
        };
        Ok(Selection {
            depth: d.resolve(self.depth().count(), "depth")?,
            rows: r.resolve(self.rows().count(), "row")?,
            cols: c.resolve(self.cols().count(), "column")?,
        })
    }

    /// The image rectangle of cell (row, col); negative indices count from the end.
    pub fn cell_rect(&self, row: i64, col: i64) -> Result<Rect> {
        let sel = self.select(&[AxisKey::Index(row), AxisKey::Index(col)])?;
        Ok(self.selection_rect(&sel))
    }

    /// The union rectangle (inside the image) of a resolved selection.
    pub fn selection_rect(&self, sel: &Selection) -> Rect {
        let y = self.rows().union(sel.rows.clone());
        let x = self.cols().union(sel.cols.clone());
        Rect {
            left: x.start,
            top: y.start,
            right: x.end,
            bottom: y.end,
        }
    }

    /// The rectangle a selection stands for, padded cells at full size (may reach past the
    /// image with [`EdgePolicy::Pad`]; otherwise equal to [`Grid::selection_rect`]).
    pub fn selection_extent(&self, sel: &Selection) -> Rect {
        let y = self.rows().cell_union(sel.rows.clone());
        let x = self.cols().cell_union(sel.cols.clone());
        Rect {
            left: x.start,
            top: y.start,
            right: x.end,
            bottom: y.end,
        }
    }

    /// The 3-D box (inside the volume) of a resolved selection.
    pub fn selection_box(&self, sel: &Selection) -> Box3 {
        Box3 {
            depth: self.depth().union(sel.depth.clone()),
            rect: self.selection_rect(sel),
        }
    }

    /// The cells containing pixel (x, y), as (row range, column range); empty ranges when no
    /// cell does (gaps with stride > 1, or dropped edges).
    pub fn cells_containing(&self, x: u64, y: u64) -> (Range<u64>, Range<u64>) {
        (
            self.rows().cells_containing(y),
            self.cols().cells_containing(x),
        )
    }

    /// Every (row, col) in row-major order (the order fragments and manifests use).
    pub fn cells(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let cols = self.cols().count();
        (0..self.rows().count() * cols).map(move |i| (i / cols, i % cols))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quickstart() {
        // impart quickstart: 1920x1080, cell 128, stride 0.5, grid 16x29.
        let g = Grid::new(1080, 1920, &GridSpec::square(128, Stride::Fraction(0.5))).unwrap();
        assert_eq!(g.shape(), (16, 29));
        assert_eq!(
            g.cell_rect(10, -1).unwrap(),
            Rect::from_xywh(1792, 640, 128, 128)
        );
        let sel = g
            .select(&[
                AxisKey::Slice(None, Some(3)),
                AxisKey::Slice(Some(15), Some(21)),
            ])
            .unwrap();
        let r = g.selection_rect(&sel);
        assert_eq!((r.width(), r.height()), (448, 256));
        let sel = g.select(&[AxisKey::All, AxisKey::Index(0)]).unwrap();
        let r = g.selection_rect(&sel);
        assert_eq!((r.width(), r.height()), (128, 1080));
        assert!(g.cell_rect(16, 0).is_err());
        assert!(g.cell_rect(-17, 0).is_err());
        assert_eq!(g.cells_containing(70, 10), (0..1, 0..2));
    }

    #[test]
    fn volume() {
        let spec = GridSpec::new(32, 32, Stride::Pixels(16), Stride::Pixels(32))
            .with_depth(4, Stride::Pixels(2));
        let g = Grid::new_volume(9, 64, 80, &spec).unwrap();
        assert_eq!(g.depth().count(), 4);
        assert_eq!(g.len(), 4 * 3 * 3);
        let sel = g
            .select(&[
                AxisKey::Index(-1),
                AxisKey::Index(1),
                AxisKey::Slice(Some(1), None),
            ])
            .unwrap();
        let b = g.selection_box(&sel);
        assert_eq!(b.depth, 6..9);
        assert_eq!(b.rect, Rect::from_xywh(32, 16, 48, 32));
        assert!(g.select(&[AxisKey::Index(4)]).is_err());
    }
}
