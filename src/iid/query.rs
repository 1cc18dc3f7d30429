//! Queries over an open file: key selection and fetch, look-up by label, filters, exact
//! spatial queries through the index, and the overlap graph. Every answer lists keys in
//! ascending order.

use rayon::prelude::*;

use super::format::IidRecord;
use super::index::SpatialIndex;
use super::reader::{IidFile, Segment};
use crate::error::Result;

/// Which entries a [`IidFile::fetch`] concerns.
#[derive(Clone, Copy, Debug)]
pub enum Select<'s> {
    /// Every entry.
    All,
    /// These keys (duplicates collapse; a key that does not exist is an error).
    Keys(&'s [u64]),
    /// The union of these groups (an unknown name is an error; no name selects nothing).
    Groups(&'s [&'s str]),
}

/// What [`IidFile::fetch`] decodes for each selected entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// Decode the label (domain, address).
    pub iids: bool,
    /// Decode and check the segment.
    pub segments: bool,
}

impl Parts {
    /// Labels and segments.
    pub const ALL: Parts = Parts {
        iids: true,
        segments: true,
    };
}

/// One fetched entry.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The key.
    pub key: u32,
    /// The label, if asked for.
    pub iid: Option<IidRecord<'a>>,
    /// The segment, if asked for.
    pub segment: Option<Segment<'a>>,
}

/// Bounds on the stored area for [`IidFile::filter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AreaRange {
    /// Lower bound; `None` = 0.
    pub min: Option<u64>,
    /// Upper bound; `None` = no upper bound.
    pub max: Option<u64>,
    /// `false` (imkit's default): `min <= area <= max`, both bounds inclusive.
    /// `true` (the reference's semantics): `min < area < max`, both exclusive, so an
    /// area of 0 never passes and `(a, a)` matches nothing.
    pub exclusive: bool,
}

impl AreaRange {
    /// True when `area` is within the bounds.
    pub fn contains(&self, area: u64) -> bool {
        let min = self.min.unwrap_or(0);
        if self.exclusive {
            area > min && self.max.map_or(true, |m| area < m)
        } else {
            area >= min && self.max.map_or(true, |m| area <= m)
        }
    }
}

/// Arguments of [`IidFile::filter`]; `None` (or an empty list) means "no condition".
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter<'s> {
    /// Keep only entries in at least one of these groups.
    pub groups: Option<&'s [&'s str]>,
    /// Keep only entries whose domain equals one of these (an empty domain matches an entry
    /// whose domain is empty or absent — the reference calls that `None`).
    pub domains: Option<&'s [&'s [u8]]>,
    /// Keep only entries whose stored area is within these bounds.
    pub area: Option<AreaRange>,
}

/// The overlap graph: nodes and the edges between entries sharing true pixels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OverlapGraph {
    /// Node keys, ascending.
    pub nodes: Vec<u32>,
    /// `(a, b, pixels)` with `a < b` and `pixels` > 0 true pixels in both masks, sorted by
    /// `(a, b)`.
    pub edges: Vec<(u32, u32, u64)>,
}

impl IidFile {
    /// The keys a selection names, ascending and without duplicates.
    pub fn select(&self, sel: Select<'_>) -> Result<Vec<u32>> {
        match sel {
            Select::All => Ok((0..self.len() as u32).collect()),
            Select::Keys(keys) => {
                let mut out = keys
                    .iter()
                    .map(|&k| self.check_key(k))
                    .collect::<Result<Vec<u32>>>()?;
                out.sort_unstable();
                out.dedup();
                Ok(out)
            }
            Select::Groups(names) => {
                let mut out = Vec::new();
                for name in names {
                    out.extend_from_slice(&self.group(name)?.keys);
                }
                out.sort_unstable();
                out.dedup();
                Ok(out)
            }
        }
    }

    /// Decodes the selected entries (labels and/or segments, each checked).
    pub fn fetch(&self, sel: Select<'_>, parts: Parts) -> Result<Vec<Entry<'_>>> {
        let keys = self.select(sel)?;
        self.par_map(&keys, |key| {
            Ok(Some(Entry {
                key,
                iid: parts.iids.then(|| self.iid(key)).transpose()?,
                segment: parts.segments.then(|| self.segment(key)).transpose()?,
            }))
        })
    }

    /// Keys whose address equals one of `addresses` (byte-exact), optionally restricted to
    /// `domains` and to the union of `groups` (`None` or an empty list: no restriction).
    pub fn look_for(
        &self,
        addresses: &[&[u8]],
        domains: Option<&[&[u8]]>,
        groups: Option<&[&str]>,
    ) -> Result<Vec<u32>> {
        let keys = self.candidates(groups)?;
        let domains = domains.filter(|d| !d.is_empty());
        self.par_map(&keys, |key| {
            let iid = self.iid(key)?;
            let ok = addresses.contains(&iid.address)
                && domains.map_or(true, |d| d.contains(&iid.domain));
            Ok(ok.then_some(key))
        })
    }

    /// Keys passing every condition of `f`.
    pub fn filter(&self, f: &Filter<'_>) -> Result<Vec<u32>> {
        let keys = self.candidates(f.groups)?;
        let domains = f.domains.filter(|d| !d.is_empty());
        self.par_map(&keys, |key| {
            if let Some(d) = domains {
                if !d.contains(&self.iid(key)?.domain) {
                    return Ok(None);
                }
            }
            if let Some(range) = f.area {
                if !range.contains(self.segment(key)?.area as u64) {
                    return Ok(None);
                }
            }
            Ok(Some(key))
        })
    }

    /// Keys with at least one true pixel in the half-open box rows `minr..maxr`, columns
    /// `minc..maxc` (any values: parts outside 0..65535 simply hold no pixel).
    pub fn region(&self, bbox: [i64; 4]) -> Result<Vec<u32>> {
        let bytes = self.bytes();
        let mut out = Vec::new();
        self.index()?.search(&bbox, |b, r| {
            if SpatialIndex::region_hits(bytes, b, r, &bbox) {
                out.push(r.key);
            }
        });
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Keys whose mask has pixel (`row`, `col`) set.
    pub fn at(&self, row: i64, col: i64) -> Result<Vec<u32>> {
        self.region([row, col, row.saturating_add(1), col.saturating_add(1)])
    }

    /// The reference's `at(x, y)`: x is the column, y the row, and it matches any true pixel
    /// of the 2×2 block rows `y-1..=y`, columns `x-1..=x` (quirk Q1). For compatibility only;
    /// [`IidFile::at`] tests the single pixel.
    pub fn at_compat(&self, x: i64, y: i64) -> Result<Vec<u32>> {
        self.region([
            y.saturating_sub(1),
            x.saturating_sub(1),
            y.saturating_add(1),
            x.saturating_add(1),
        ])
    }

    /// The overlap graph over every entry (`keys` = `None`) or over the given keys. Edge
    /// weights are the number of pixels true in both masks; candidate pairs come from the
    /// spatial index, weights from AND-popcounts of the masks on the boxes' intersection.
    /// Runs on the library's thread pool; the result does not depend on the thread count.
    pub fn overlap_graph(&self, keys: Option<&[u64]>) -> Result<OverlapGraph> {
        let nodes = match keys {
            None => self.select(Select::All)?,
            Some(k) => self.select(Select::Keys(k))?,
        };
        let member: Option<Vec<bool>> = keys.map(|_| {
            let mut m = vec![false; self.len()];
            for &k in &nodes {
                m[k as usize] = true;
            }
            m
        });
        let index = self.index()?;
        let per_node = crate::threads::install(|| {
            nodes
                .par_iter()
                .map(|&a| -> Result<Vec<(u32, u32, u64)>> {
                    let head = self.segment_head(a)?;
                    let q = [
                        head.bbox.minr as i64,
                        head.bbox.minc as i64,
                        head.bbox.maxr as i64,
                        head.bbox.maxc as i64,
                    ];
                    let mut cands = Vec::new();
                    index.search(&q, |_, r| {
                        let b = r.key;
                        if b > a && member.as_ref().map_or(true, |m| m[b as usize]) {
                            cands.push(b);
                        }
                    });
                    if cands.is_empty() {
                        return Ok(Vec::new());
                    }
                    cands.sort_unstable();
                    cands.dedup();
                    let sa = self.segment_for_pixels(a)?;
                    let mut edges = Vec::new();
                    for b in cands {
                        let sb = self.segment_for_pixels(b)?;
                        let Some(common) = sa.bbox.intersect(&sb.bbox) else {
                            continue;
                        };
                        let w = sa.raster(&common).and_count(&sb.raster(&common));
                        if w > 0 {
                            edges.push((a, b, w));
                        }
                    }
                    Ok(edges)
                })
                .collect::<Vec<_>>()
        })?;
        let mut edges = Vec::new();
        for part in per_node {
            edges.extend(part?);
        }
        Ok(OverlapGraph { nodes, edges })
    }

    fn candidates(&self, groups: Option<&[&str]>) -> Result<Vec<u32>> {
        match groups {
            Some(g) if !g.is_empty() => self.select(Select::Groups(g)),
            _ => self.select(Select::All),
        }
    }

    /// Maps keys (ascending) on the library pool, keeping order and the first error.
    fn par_map<T: Send>(
        &self,
        keys: &[u32],
        f: impl Fn(u32) -> Result<Option<T>> + Sync,
    ) -> Result<Vec<T>> {
        if keys.len() < 4096 {
            return keys.iter().filter_map(|&k| f(k).transpose()).collect();
        }
        crate::threads::install(|| {
            keys.par_iter()
                .filter_map(|&k| f(k).transpose())
                .collect::<Result<Vec<T>>>()
        })?
    }
}
