//! Grid geometry from an image shape alone: per-axis cell size, step and edge policy, cell
//! ranges, unions of cells and "which cells contain this pixel".
//!
//! Two step forms exist:
//! - [`Stride::Fraction`] is impart's: `step = cell * stride` in IEEE-754 binary64, cell `k`
//!   starts at `ceil(k * step)` and stops at `ceil(cell + k * step)`, the axis has
//!   `1 + ceil(max(0, extent - cell) / step)` cells. With [`EdgePolicy::Clip`] this reproduces
//!   impart 0.0.5 bit for bit, rounding artefacts included (e.g. `100 * 0.07` gives a step
//!   of `7.000000000000001` and spans of 99 or 100).
//! - [`Stride::Pixels`] is the exact mode: an integer step, so every cell starts at `k * step`
//!   and spans exactly `cell` pixels (before the edge policy).
//!
//! Whatever the form, a cell never has a zero or negative span: where impart's arithmetic
//! would place a cell at or past the far edge (stride > 1, or artefacts such as stride 0.99),
//! that cell is not part of the grid.

use std::ops::Range;

use crate::error::{Error, Result};

/// How far apart consecutive cells start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stride {
    /// A fraction of the cell size (impart's form, binary64 arithmetic; must be finite, > 0).
    Fraction(f64),
    /// A whole number of pixels (exact mode; at least 1).
    Pixels(u64),
}

impl Stride {
    /// The step in pixels for a cell of `cell` pixels (binary64 for fractions).
    pub fn step(self, cell: u64) -> f64 {
        match self {
            Stride::Fraction(f) => cell as f64 * f,
            Stride::Pixels(p) => p as f64,
        }
    }

    /// The stride itself when it is usable on its own: a finite fraction greater than 0, or
    /// a step of at least one pixel.
    pub fn checked(self) -> Result<Stride> {
        match self {
            Stride::Fraction(f) if !(f.is_finite() && f > 0.0) => Err(Error::invalid(format!(
                "stride must be a finite fraction greater than 0 (got {f})"
            ))),
            Stride::Pixels(0) => Err(Error::invalid("step must be at least 1 pixel")),
            _ => Ok(self),
        }
    }
}

/// What happens to cells that reach past the far edge of the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EdgePolicy {
    /// The last cell is clipped to the image (impart's behaviour).
    #[default]
    Clip,
    /// Only cells that fit entirely inside the image are kept (pixels at the far edge may
    /// belong to no cell).
    Drop,
    /// Cells keep their full size; the part outside the image reads as a fill value.
    Pad,
    /// The last cell is moved back inside the image, so every cell has full size and the
    /// grid still covers the whole image (the last two cells overlap more).
    Shift,
}

impl EdgePolicy {
    /// Parses `clip`, `drop`, `pad` or `shift`.
    pub fn parse(text: &str) -> Result<EdgePolicy> {
        match text.to_ascii_lowercase().as_str() {
            "clip" => Ok(EdgePolicy::Clip),
            "drop" => Ok(EdgePolicy::Drop),
            "pad" => Ok(EdgePolicy::Pad),
            "shift" => Ok(EdgePolicy::Shift),
            _ => Err(Error::invalid(format!(
                "edge policy must be clip, drop, pad or shift (got {text:?})"
            ))),
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            EdgePolicy::Clip => "clip",
            EdgePolicy::Drop => "drop",
            EdgePolicy::Pad => "pad",
            EdgePolicy::Shift => "shift",
        }
    }
}

/// Largest extent accepted, so every start and stop stays exact in binary64 and in `i64`.
const MAX_EXTENT: u64 = 1 << 52;

/// One axis of a grid: its extent, cell size, step and edge policy, resolved into a cell count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Axis {
    extent: u64,
    cell: u64,
    stride: Stride,
    edge: EdgePolicy,
    count: u64,
    /// For `Shift`: the index of the cell moved back inside (the last one), if any.
    shifted: Option<u64>,
}

impl Axis {
    /// Resolves an axis of `extent` pixels into cells of `cell` pixels.
    pub fn new(extent: u64, cell: u64, stride: Stride, edge: EdgePolicy) -> Result<Axis> {
        if extent == 0 {
            return Err(Error::invalid("image extent must be at least 1 pixel"));
        }
        if extent > MAX_EXTENT || cell > MAX_EXTENT {
            return Err(Error::invalid(format!(
                "extent {extent} or cell size {cell} is too large (at most 2^52)"
            )));
        }
        if cell == 0 {
            return Err(Error::invalid("cell size must be at least 1 pixel"));
        }
        match stride.checked()? {
            Stride::Fraction(f)
                if cell as f64 * f < 1e-9 || cell as f64 * f > MAX_EXTENT as f64 =>
            {
                return Err(Error::invalid(format!(
                    "stride {f} on a {cell}-pixel cell gives an unusable step of {} pixels",
                    cell as f64 * f
                )))
            }
            Stride::Pixels(p) if p > MAX_EXTENT => {
                return Err(Error::invalid(format!(
                    "step {p} is too large (at most 2^52)"
                )))
            }
            _ => {}
        }
        let mut axis = Axis {
            extent,
            cell,
            stride,
            edge,
            count: 0,
            shifted: None,
        };
        // impart's count: the first cell plus the steps needed to reach the far edge.
        let raw = match stride {
            Stride::Fraction(_) => {
                let s = stride.step(cell);
                1 + (extent.saturating_sub(cell) as f64 / s).ceil() as u64
            }
            Stride::Pixels(p) => 1 + extent.saturating_sub(cell).div_ceil(p),
        };
        // Never a zero or negative span: cells starting at or past the edge are not cells.
        let mut count = raw;
        while count > 0 && axis.raw_start(count - 1) >= extent {
            count -= 1;
        }
        match edge {
            EdgePolicy::Clip | EdgePolicy::Pad => axis.count = count,
            EdgePolicy::Drop | EdgePolicy::Shift => {
                if cell > extent {
                    return Err(Error::invalid(format!(
                        "a {cell}-pixel cell does not fit in {extent} pixels: edge policy {} \
                         needs cells no larger than the image (use clip or pad)",
                        edge.name()
                    )));
                }
                let full = (0..count)
                    .take_while(|&k| axis.raw_stop(k) <= extent)
                    .count() as u64;
                axis.count = full;
                if edge == EdgePolicy::Shift && axis.raw_stop(full - 1) < extent {
                    axis.count = full + 1;
                    axis.shifted = Some(full);
                }
            }
        }
        Ok(axis)
    }

    /// Start of cell `k` by the grid arithmetic (before any edge policy).
    fn raw_start(&self, k: u64) -> u64 {
        match self.stride {
            Stride::Fraction(_) => (k as f64 * self.stride.step(self.cell)).ceil() as u64,
            Stride::Pixels(p) => k * p,
        }
    }

    /// Stop (exclusive) of cell `k` by the grid arithmetic, unclipped.
    fn raw_stop(&self, k: u64) -> u64 {
        match self.stride {
            Stride::Fraction(_) => {
                (self.cell as f64 + k as f64 * self.stride.step(self.cell)).ceil() as u64
            }
            Stride::Pixels(p) => k * p + self.cell,
        }
    }

    /// Image extent along this axis.
    pub fn extent(&self) -> u64 {
        self.extent
    }

    /// Cell size along this axis.
    pub fn cell(&self) -> u64 {
        self.cell
    }

    /// The stride as given.
    pub fn stride(&self) -> Stride {
        self.stride
    }

    /// The step in pixels (binary64, as impart reports `step_size`).
    pub fn step(&self) -> f64 {
        self.stride.step(self.cell)
    }

    /// The edge policy.
    pub fn edge(&self) -> EdgePolicy {
        self.edge
    }

    /// Number of cells.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The pixel range of cell `k` inside the image (always non-empty); `k < count()`.
    pub fn range(&self, k: u64) -> Range<u64> {
        let cell = self.cell_range(k);
        cell.start..cell.end.min(self.extent)
    }

    /// The pixel range cell `k` stands for: equal to [`Axis::range`] except with
    /// [`EdgePolicy::Pad`], where it keeps the full cell size and may reach past the image.
    pub fn cell_range(&self, k: u64) -> Range<u64> {
        debug_assert!(k < self.count);
        if self.shifted == Some(k) {
            return self.extent - self.cell..self.extent;
        }
        let start = self.raw_start(k);
        let stop = self.raw_stop(k);
        match self.edge {
            EdgePolicy::Pad => start..stop,
            _ => start..stop.min(self.extent),
        }
    }

    /// The union of cells `cells` (a non-empty range of valid indices) inside the image: from
    /// the first cell's start to the last cell's stop (with gaps when the step exceeds the
    /// cell).
    pub fn union(&self, cells: Range<u64>) -> Range<u64> {
        debug_assert!(cells.start < cells.end && cells.end <= self.count);
        self.range(cells.start).start..self.range(cells.end - 1).end
    }

    /// Like [`Axis::union`], but with padded cells' full extent.
    pub fn cell_union(&self, cells: Range<u64>) -> Range<u64> {
        self.cell_range(cells.start).start..self.cell_range(cells.end - 1).end
    }

    /// The cells whose image range contains pixel `p` (an empty range when none does, e.g.
    /// in a gap between cells or past the last kept cell).
    pub fn cells_containing(&self, p: u64) -> Range<u64> {
        if p >= self.extent || self.count == 0 {
            return 0..0;
        }
        // Starts and stops grow with k, so the cells containing p are contiguous: those with
        // start <= p (a prefix) minus those with stop <= p (a shorter prefix).
        let first_after = partition_point(self.count, |k| self.range(k).start <= p);
        let first_containing = partition_point(first_after, |k| self.range(k).end <= p);
        first_containing..first_after
    }
}

/// The first index in `0..n` for which `pred` is false (pred must be true then false).
fn partition_point(n: u64, pred: impl Fn(u64) -> bool) -> u64 {
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(axis: &Axis) -> Vec<(u64, u64)> {
        (0..axis.count())
            .map(|k| {
                let r = axis.range(k);
                (r.start, r.end - r.start)
            })
            .collect()
    }

    #[test]
    fn impart_examples() {
        let a = Axis::new(65, 64, Stride::Fraction(1.0), EdgePolicy::Clip).unwrap();
        assert_eq!(ranges(&a), vec![(0, 64), (64, 1)]);
        let a = Axis::new(50, 64, Stride::Fraction(0.5), EdgePolicy::Clip).unwrap();
        assert_eq!(ranges(&a), vec![(0, 50)]);
        let a = Axis::new(100, 10, Stride::Fraction(0.25), EdgePolicy::Clip).unwrap();
        assert_eq!(a.range(1), 3..13);
        assert_eq!(a.range(2), 5..15);
        // stride 0.99: impart's 4th row starts on the edge (span 0); it is not a cell here.
        let a = Axis::new(30, 10, Stride::Fraction(0.99), EdgePolicy::Clip).unwrap();
        assert_eq!(a.count(), 3);
        // stride 5: impart's last cell starts at 100 with span 0.
        let a = Axis::new(100, 10, Stride::Fraction(5.0), EdgePolicy::Clip).unwrap();
        assert_eq!(ranges(&a), vec![(0, 10), (50, 10)]);
    }

    #[test]
    fn edge_policies() {
        let s = Stride::Pixels(40);
        let clip = Axis::new(130, 50, s, EdgePolicy::Clip).unwrap();
        assert_eq!(ranges(&clip), vec![(0, 50), (40, 50), (80, 50)]);
        let clip = Axis::new(140, 50, s, EdgePolicy::Clip).unwrap();
        assert_eq!(ranges(&clip), vec![(0, 50), (40, 50), (80, 50), (120, 20)]);
        let drop = Axis::new(140, 50, s, EdgePolicy::Drop).unwrap();
        assert_eq!(ranges(&drop), vec![(0, 50), (40, 50), (80, 50)]);
        let shift = Axis::new(130, 50, s, EdgePolicy::Shift).unwrap();
        assert_eq!(ranges(&shift), vec![(0, 50), (40, 50), (80, 50)]);
        let shift = Axis::new(140, 50, s, EdgePolicy::Shift).unwrap();
        assert_eq!(ranges(&shift), vec![(0, 50), (40, 50), (80, 50), (90, 50)]);
        let pad = Axis::new(140, 50, s, EdgePolicy::Pad).unwrap();
        assert_eq!(pad.count(), 4);
        assert_eq!(pad.range(3), 120..140);
        assert_eq!(pad.cell_range(3), 120..170);
        assert!(Axis::new(30, 50, s, EdgePolicy::Drop).is_err());
        assert!(Axis::new(30, 50, s, EdgePolicy::Shift).is_err());
    }

    #[test]
    fn bad_arguments() {
        for stride in [
            Stride::Fraction(0.0),
            Stride::Fraction(-1.0),
            Stride::Fraction(f64::NAN),
            Stride::Fraction(f64::INFINITY),
            Stride::Pixels(0),
        ] {
            assert!(
                Axis::new(100, 10, stride, EdgePolicy::Clip).is_err(),
                "{stride:?}"
            );
        }
        assert!(Axis::new(100, 0, Stride::Pixels(1), EdgePolicy::Clip).is_err());
        assert!(Axis::new(0, 10, Stride::Pixels(1), EdgePolicy::Clip).is_err());
    }

    /// Deterministic pseudo-random numbers for the property tests (SplitMix64).
    fn rng(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn properties_coverage_and_spans() {
        let mut seed = 42;
        for _ in 0..4000 {
            let extent = 1 + rng(&mut seed) % 700;
            let cell = 1 + rng(&mut seed) % 120;
            let stride = if rng(&mut seed) % 2 == 0 {
                Stride::Pixels(1 + rng(&mut seed) % (cell + 5))
            } else {
                Stride::Fraction((1 + rng(&mut seed) % 150) as f64 / 100.0)
            };
            let covers = stride.step(cell) <= cell as f64;
            for edge in [
                EdgePolicy::Clip,
                EdgePolicy::Drop,
                EdgePolicy::Pad,
                EdgePolicy::Shift,
            ] {
                let axis = match Axis::new(extent, cell, stride, edge) {
                    Ok(a) => a,
                    Err(_) => {
                        assert!(matches!(edge, EdgePolicy::Drop | EdgePolicy::Shift));
                        assert!(cell > extent);
                        continue;
                    }
                };
                assert!(axis.count() >= 1);
                let mut covered = vec![0u32; extent as usize];
                let mut prev = (0, 0);
                for k in 0..axis.count() {
                    let r = axis.range(k);
                    assert!(r.start < r.end && r.end <= extent, "{axis:?} cell {k}");
                    assert!(r.start >= prev.0 && r.end >= prev.1, "monotone");
                    prev = (r.start, r.end);
                    if matches!(edge, EdgePolicy::Drop | EdgePolicy::Shift) {
                        assert!(r.end - r.start + 1 >= cell, "full cells: {axis:?} {k}");
                    }
                    if edge == EdgePolicy::Pad {
                        let c = axis.cell_range(k);
                        assert!(c.end - c.start + 1 >= cell);
                    }
                    for p in r.clone() {
                        covered[p as usize] += 1;
                    }
                }
                if covers && edge != EdgePolicy::Drop {
                    assert!(covered.iter().all(|&c| c > 0), "coverage {axis:?}");
                }
                for p in 0..extent {
                    let cells = axis.cells_containing(p);
                    assert_eq!(cells.end - cells.start, covered[p as usize] as u64);
                    for k in cells {
                        assert!(axis.range(k).contains(&p));
                    }
                }
            }
        }
    }
}
