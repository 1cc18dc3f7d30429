//! The JSON manifest written by [`super::fragment`] and read by [`super::stitch`]: the
//! source, the grid parameters and, for every tile file, where its pixels sit on the image
//! and the SHA-256 of the file's bytes. Manifests are untrusted input when read back: every
//! field is checked, and tile paths must stay inside the manifest's directory.
//!
//! Volumes record their depth axis as `grid.depth` (`{"cells", "cell", "stride"}`) and each
//! tile's slice count as `slices`; manifests without them (images, and volumes fragmented
//! before 3-D cells existed) read as one slice per cell.

use std::path::{Component, Path};

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::partition::{Axis, EdgePolicy, Grid, GridSpec, Stride};
use crate::pixel::{PixelFormat, PixelType};
use crate::rect::Rect;

/// Version of the manifest layout.
pub const MANIFEST_VERSION: u64 = 1;

/// One tile file.
#[derive(Clone, Debug, PartialEq)]
pub struct TileEntry {
    /// First slice of the source the tile holds (0 for plain images).
    pub z: u64,
    /// Slices the tile holds (1 unless the cells are 3-D; such a tile is a volume file).
    pub slices: u64,
    /// Cell row.
    pub row: u64,
    /// Cell column.
    pub col: u64,
    /// Where the file's pixels sit on the image (its full size; with the pad edge policy
    /// it may reach past the image, and only the part inside is the image's).
    pub rect: Rect,
    /// File name relative to the manifest's directory.
    pub file: String,
    /// SHA-256 of the file's bytes (lower-case hex) when it was written.
    pub sha256: String,
}

/// How a tile file differs from the manifest (see [`Manifest::changed_tiles`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileState {
    /// The file's bytes changed since fragment wrote it.
    Modified,
    /// The file is gone.
    Missing,
}

/// A tile whose file no longer matches its manifest entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileChange<'a> {
    /// The manifest entry.
    pub tile: &'a TileEntry,
    /// What changed.
    pub state: TileState,
}

/// SHA-256 of a file's bytes, lower-case hex (the manifest's checksum).
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(crate::digest::sha256_hex(&bytes))
}

/// The depth axis of a volume grid: how the slices are cut into cells.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthAxis {
    /// Number of depth cells.
    pub cells: u64,
    /// Slices per cell.
    pub cell: u64,
    /// Stride along depth.
    pub stride: Stride,
}

impl DepthAxis {
    /// One cell per slice: images, and the manifests written before 3-D cells.
    pub fn per_slice(depth: u64) -> DepthAxis {
        DepthAxis {
            cells: depth,
            cell: 1,
            stride: Stride::Pixels(1),
        }
    }
}

/// A fragment manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The source the tiles came from, as given (informative).
    pub source: String,
    /// Image width.
    pub width: u64,
    /// Image height.
    pub height: u64,
    /// Slices of the source.
    pub depth: u64,
    /// How the slices are cut into cells ([`DepthAxis::per_slice`] for images).
    pub depth_axis: DepthAxis,
    /// Pixel layout of every tile (after channel selection).
    pub format: PixelFormat,
    /// Source bands the tiles hold, in order.
    pub channels: Vec<usize>,
    /// Grid shape (rows, cols).
    pub shape: (u64, u64),
    /// Cell size (height, width).
    pub cell: (u64, u64),
    /// Stride per axis (y, x).
    pub stride: (Stride, Stride),
    /// Edge policy of the grid.
    pub edge: EdgePolicy,
    /// Fill value of padded cells.
    pub fill: f64,
    /// File name template.
    pub template: String,
    /// Every tile, in the fixed order stitching uses (slice, row, column).
    pub tiles: Vec<TileEntry>,
}

fn stride_json(s: Stride) -> Value {
    match s {
        Stride::Fraction(f) => json!({ "fraction": f }),
        Stride::Pixels(p) => json!({ "pixels": p }),
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::format(format!("manifest: {}", msg.into()))
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a Value> {
    v.get(key)
        .ok_or_else(|| bad(format!("missing field {key:?}")))
}

fn uint(v: &Value, key: &str) -> Result<u64> {
    field(v, key)?
        .as_u64()
        .ok_or_else(|| bad(format!("{key:?} must be a non-negative integer")))
}

fn string(v: &Value, key: &str) -> Result<String> {
    Ok(field(v, key)?
        .as_str()
        .ok_or_else(|| bad(format!("{key:?} must be a string")))?
        .to_string())
}

fn pair(v: &Value, key: &str) -> Result<(u64, u64)> {
    match field(v, key)?.as_array().map(Vec::as_slice) {
        Some([a, b]) => match (a.as_u64(), b.as_u64()) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(bad(format!("{key:?} must hold two integers"))),
        },
        _ => Err(bad(format!("{key:?} must hold two integers"))),
    }
}

fn parse_stride(v: &Value) -> Result<Stride> {
    if let Some(f) = v.get("fraction").and_then(Value::as_f64) {
        Ok(Stride::Fraction(f))
    } else if let Some(p) = v.get("pixels").and_then(Value::as_u64) {
        Ok(Stride::Pixels(p))
    } else {
        Err(bad("a stride must be {\"fraction\": f} or {\"pixels\": n}"))
    }
}

/// Checks that a tile path is relative and stays inside the manifest's directory.
pub fn check_relative(file: &str) -> Result<()> {
    let path = Path::new(file);
    if file.is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(bad(format!(
            "tile file {file:?} must be a relative path inside the manifest's directory"
        )));
    }
    Ok(())
}

impl Manifest {
    /// The manifest as pretty-printed JSON (deterministic: fixed key order).
    pub fn to_json(&self) -> String {
        let tiles: Vec<Value> = self
            .tiles
            .iter()
            .map(|t| {
                let mut v = json!({
                    "z": t.z, "row": t.row, "col": t.col,
                    "rect": [t.rect.left, t.rect.top, t.rect.width(), t.rect.height()],
                    "file": t.file, "sha256": t.sha256,
                });
                if self.depth > 1 {
                    v["slices"] = json!(t.slices);
                }
                v
            })
            .collect();
        let mut v = json!({
            "imkit_manifest": MANIFEST_VERSION,
            "source": {
                "path": self.source, "width": self.width, "height": self.height,
                "depth": self.depth, "dtype": self.format.dtype.name(),
                "channels": self.channels,
            },
            "grid": {
                "shape": [self.shape.0, self.shape.1],
                "cell": [self.cell.0, self.cell.1],
                "stride": [stride_json(self.stride.0), stride_json(self.stride.1)],
                "edge": self.edge.name(), "fill": self.fill,
            },
            "template": self.template,
            "tiles": tiles,
        });
        if self.depth > 1 {
            let d = self.depth_axis;
            v["grid"]["depth"] =
                json!({ "cells": d.cells, "cell": d.cell, "stride": stride_json(d.stride) });
        }
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Parses and validates a manifest.
    pub fn from_json(text: &str) -> Result<Manifest> {
        let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let version = uint(&v, "imkit_manifest")?;
        if version != MANIFEST_VERSION {
            return Err(Error::unsupported(format!(
                "manifest version {version} (this imkit reads version {MANIFEST_VERSION})"
            )));
        }
        let src = field(&v, "source")?;
        let (width, height, depth) = (
            uint(src, "width")?,
            uint(src, "height")?,
            uint(src, "depth")?,
        );
        if width == 0 || height == 0 || depth == 0 || width > 1 << 31 || height > 1 << 31 {
            return Err(bad(format!("bad image size {width}x{height}x{depth}")));
        }
        let dtype_name = string(src, "dtype")?;
        let dtype = PixelType::ALL
            .into_iter()
            .find(|t| t.name() == dtype_name)
            .ok_or_else(|| bad(format!("unknown dtype {dtype_name:?}")))?;
        let channels: Vec<usize> = field(src, "channels")?
            .as_array()
            .ok_or_else(|| bad("\"channels\" must be a list"))?
            .iter()
            .map(|c| {
                c.as_u64()
                    .map(|c| c as usize)
                    .ok_or_else(|| bad("bad channel"))
            })
            .collect::<Result<_>>()?;
        if channels.is_empty() || channels.len() > 64 {
            return Err(bad("1 to 64 channels expected"));
        }
        let format = PixelFormat::new(dtype, channels.len())?;
        let grid = field(&v, "grid")?;
        let strides = field(grid, "stride")?
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or_else(|| bad("\"stride\" must hold two strides"))?;
        let edge = EdgePolicy::parse(&string(grid, "edge")?)?;
        let fill = field(grid, "fill")?
            .as_f64()
            .ok_or_else(|| bad("\"fill\" must be a number"))?;
        let tiles = field(&v, "tiles")?
            .as_array()
            .ok_or_else(|| bad("\"tiles\" must be a list"))?
            .iter()
            .map(|t| {
                let rect = match field(t, "rect")?.as_array().map(Vec::as_slice) {
                    Some([l, tp, w, h]) => match (l.as_u64(), tp.as_u64(), w.as_u64(), h.as_u64()) {
                        (Some(l), Some(tp), Some(w), Some(h))
                            if w > 0 && h > 0 && l < width && tp < height && w <= 1 << 31 && h <= 1 << 31 =>
                        {
                            Rect::from_xywh(l, tp, w, h)
                        }
                        _ => return Err(bad("a tile rect must be [left, top, width, height] starting inside the image")),
                    },
                    _ => return Err(bad("a tile rect must be [left, top, width, height]")),
                };
                let file = string(t, "file")?;
                check_relative(&file)?;
                let z = uint(t, "z")?;
                let slices = match t.get("slices") {
                    Some(_) => uint(t, "slices")?,
                    None => 1,
                };
                if slices == 0 || z.checked_add(slices).map_or(true, |end| end > depth) {
                    return Err(bad(format!(
                        "tile slices {z}..{} are not inside the depth {depth}",
                        z.saturating_add(slices)
                    )));
                }
                Ok(TileEntry {
                    z,
                    slices,
                    row: uint(t, "row")?,
                    col: uint(t, "col")?,
                    rect,
                    file,
                    sha256: string(t, "sha256")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let depth_axis = match grid.get("depth") {
            Some(d) => DepthAxis {
                cells: uint(d, "cells")?,
                cell: uint(d, "cell")?,
                stride: parse_stride(field(d, "stride")?)?,
            },
            None => DepthAxis::per_slice(depth),
        };
        let manifest = Manifest {
            source: string(src, "path")?,
            width,
            height,
            depth,
            depth_axis,
            format,
            channels,
            shape: pair(grid, "shape")?,
            cell: pair(grid, "cell")?,
            stride: (parse_stride(&strides[0])?, parse_stride(&strides[1])?),
            edge,
            fill,
            template: string(&v, "template")?,
            tiles,
        };
        manifest.check_grid()?;
        Ok(manifest)
    }

    /// Checks that the grid the manifest names over its image has the shape it records (a
    /// size field changed by hand or by corruption is caught here, not by a stitch of
    /// billions of empty rows).
    fn check_grid(&self) -> Result<()> {
        let (cell, stride) = (self.cell, self.stride);
        let spec = GridSpec::new(cell.0, cell.1, stride.0, stride.1).with_edge(self.edge);
        let grid =
            Grid::new(self.height, self.width, &spec).map_err(|e| bad(format!("bad grid: {e}")))?;
        let d = self.depth_axis;
        let depth = Axis::new(self.depth, d.cell, d.stride, self.edge)
            .map_err(|e| bad(format!("bad depth axis: {e}")))?;
        if depth.count() != d.cells {
            return Err(bad(format!(
                "{} depth cells do not match cells of {} slices over {} slices (which give {})",
                d.cells,
                d.cell,
                self.depth,
                depth.count()
            )));
        }
        if grid.shape() != self.shape {
            return Err(bad(format!(
                "grid shape {:?} does not match its {}x{} cells over a {}x{} image (which \
                 give {:?})",
                self.shape,
                cell.0,
                cell.1,
                self.width,
                self.height,
                grid.shape()
            )));
        }
        Ok(())
    }

    /// The tiles whose files differ from what fragment wrote (edited, or missing), in
    /// manifest order; tile files are relative to `dir`. Edited tiles are normal (that is
    /// what the tiles are for); this tells them apart from untouched ones.
    pub fn changed_tiles(&self, dir: &Path) -> Result<Vec<TileChange<'_>>> {
        let mut changed = Vec::new();
        for tile in &self.tiles {
            let path = dir.join(&tile.file);
            let state = match sha256_file(&path) {
                Ok(sum) if sum == tile.sha256 => continue,
                Ok(_) => TileState::Modified,
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    TileState::Missing
                }
                Err(e) => return Err(e),
            };
            changed.push(TileChange { tile, state });
        }
        Ok(changed)
    }

    /// Reads and validates a manifest file.
    pub fn read(path: impl AsRef<Path>) -> Result<Manifest> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Manifest::from_json(&text).map_err(|e| match e {
            Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}
