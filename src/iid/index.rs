//! The spatial index: a static packed R-tree (Hilbert-ordered leaves, fan-out 16) over the
//! boxes of every region of every segment. Built once per open file, on the first spatial
//! query, from segments that are checked on the way (so a leaf's bits can be read without
//! walking its segment again); a box query costs O(log n + candidates).

use super::format::{packed_len, BBox};
use super::reader::IidFile;
use crate::error::Result;

const NODE_SIZE: usize = 16;

/// A region as indexed: its entry and where its (checked) mask bits start in the file.
#[derive(Clone, Copy, Debug)]
pub struct IndexedRegion {
    /// The entry the region belongs to.
    pub key: u32,
    /// Absolute offset of the region's packed bits in the file.
    pub bits_at: usize,
}

/// A packed R-tree over region boxes.
pub struct SpatialIndex {
    /// Leaf boxes (Hilbert order), then each upper level's boxes.
    boxes: Vec<BBox>,
    /// For a leaf: the index into `regions`; for an inner node: the index of its first child.
    ids: Vec<u32>,
    /// End (exclusive) of each level in `boxes`, leaves first.
    level_ends: Vec<usize>,
    /// The indexed regions.
    regions: Vec<IndexedRegion>,
}

/// Position of a point along a Hilbert curve over the 65536 × 65536 grid.
fn hilbert(mut x: u32, mut y: u32) -> u64 {
    let n: u32 = 1 << 16;
    let mut d: u64 = 0;
    let mut s = n / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += s as u64 * s as u64 * ((3 * rx) ^ ry) as u64;
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// True when `b` and the half-open query box share at least one pixel.
#[inline]
pub(crate) fn overlaps(b: &BBox, q: &[i64; 4]) -> bool {
    (b.minr as i64) < q[2] && q[0] < b.maxr as i64 && (b.minc as i64) < q[3] && q[1] < b.maxc as i64
}

impl SpatialIndex {
    /// Builds the index, checking every segment's structure on the way (an error names the
    /// first damaged segment).
    pub fn build(file: &IidFile) -> Result<SpatialIndex> {
        let base = file.bytes().as_ptr() as usize;
        let mut items: Vec<(u64, BBox, u32)> = Vec::with_capacity(file.len());
        let mut regions: Vec<IndexedRegion> = Vec::with_capacity(file.len());
        for key in 0..file.len() as u32 {
            let seg = file.segment_for_pixels(key)?;
            for r in seg.regions() {
                let b = r.bbox;
                if b.is_empty() {
                    continue;
                }
                let cx = (b.minc as u32 + b.maxc as u32) / 2;
                let cy = (b.minr as u32 + b.maxr as u32) / 2;
                items.push((hilbert(cx, cy), b, regions.len() as u32));
                regions.push(IndexedRegion {
                    key,
                    bits_at: r.bits.as_ptr() as usize - base,
                });
            }
        }
        items.sort_unstable_by_key(|&(h, _, id)| (h, id));
        let mut boxes: Vec<BBox> = items.iter().map(|i| i.1).collect();
        let mut ids: Vec<u32> = items.iter().map(|i| i.2).collect();
        let mut level_ends = vec![boxes.len()];
        let mut start = 0usize;
        while level_ends.last().copied().unwrap_or(0) - start > 1 {
            let end = boxes.len();
            let mut child = start;
            while child < end {
                let stop = (child + NODE_SIZE).min(end);
                let mut u = boxes[child];
                for b in &boxes[child + 1..stop] {
                    u.minr = u.minr.min(b.minr);
                    u.minc = u.minc.min(b.minc);
                    u.maxr = u.maxr.max(b.maxr);
                    u.maxc = u.maxc.max(b.maxc);
                }
                boxes.push(u);
                ids.push(child as u32);
                child = stop;
            }
            start = end;
            level_ends.push(boxes.len());
        }
        Ok(SpatialIndex {
            boxes,
            ids,
            level_ends,
            regions,
        })
    }

    /// Calls `hit` with every indexed region whose box strictly overlaps the half-open box
    /// `q` = (minr, minc, maxr, maxc), in no particular order.
    pub fn search(&self, q: &[i64; 4], mut hit: impl FnMut(&BBox, &IndexedRegion)) {
        if self.boxes.is_empty() || q[0] >= q[2] || q[1] >= q[3] {
            return;
        }
        let top = self.level_ends.len() - 1;
        let root = self.boxes.len() - 1;
        if !overlaps(&self.boxes[root], q) {
            return;
        }
        if top == 0 {
            // A single leaf and no inner node.
            hit(&self.boxes[root], &self.regions[self.ids[root] as usize]);
            return;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, top)];
        while let Some((node, level)) = stack.pop() {
            let first = self.ids[node] as usize;
            let end = (first + NODE_SIZE).min(self.level_ends[level - 1]);
            for child in first..end {
                if !overlaps(&self.boxes[child], q) {
                    continue;
                }
                if level == 1 {
                    hit(&self.boxes[child], &self.regions[self.ids[child] as usize]);
                } else {
                    stack.push((child, level - 1));
                }
            }
        }
    }

    /// True when the region has a true pixel inside `q` (which overlaps its box `b`).
    pub fn region_hits(file_bytes: &[u8], b: &BBox, region: &IndexedRegion, q: &[i64; 4]) -> bool {
        let len = packed_len(b.pixels()) as usize;
        let Some(bits) = file_bytes.get(region.bits_at..region.bits_at + len) else {
            return false;
        };
        let r0 = (b.minr as i64).max(q[0]);
        let r1 = (b.maxr as i64).min(q[2]);
        let c0 = (b.minc as i64).max(q[1]);
        let c1 = (b.maxc as i64).min(q[3]);
        let w = b.width() as u64;
        let off = (c0 - b.minc as i64) as u64;
        (r0..r1).any(|row| {
            let bit = (row - b.minr as i64) as u64 * w + off;
            super::mask::any_ones(bits, bit, (c1 - c0) as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::hilbert;

    #[test]
    fn hilbert_is_a_bijection_on_a_small_grid() {
        let mut seen: Vec<u64> = (0..4u32)
            .flat_map(|x| (0..4u32).map(move |y| hilbert(x << 14, y << 14)))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 16);
    }
}
