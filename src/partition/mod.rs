//! impart-compatible partitions: a virtual grid of cells with stride over an image or volume,
//! indexed like NumPy, with pixels read lazily through a [`crate::source::RegionSource`].

pub mod geometry;
pub mod grid;
pub mod index;

pub use geometry::{Axis, EdgePolicy, Stride};
pub use grid::{Box3, Grid, GridSpec, Selection};
pub use index::{parse_key, AxisKey};
