//! The `.iid` byte layout (little-endian, unaligned) and the structural checks that make an
//! untrusted file safe to read: every location is checked in 64-bit arithmetic against the
//! bytes that actually exist before anything is read through it.

use crate::error::{Error, Result};

/// Size of the fixed header at the start of every file.
pub const HEADER_LEN: usize = 48;
/// Size of one lookup-table entry.
pub const LUT_ENTRY_LEN: usize = 20;
/// Size of an iid record without its domain and address bytes.
pub const IID_RECORD_HEAD: usize = 12;
/// Size of a segment record without its regions.
pub const SEGMENT_HEAD: usize = 16;
/// Size of a region without its mask bits.
pub const REGION_HEAD: usize = 12;

/// A box `(minr, minc, maxr, maxc)` in image pixels; min inclusive, max exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BBox {
    /// First row.
    pub minr: u16,
    /// First column.
    pub minc: u16,
    /// One past the last row.
    pub maxr: u16,
    /// One past the last column.
    pub maxc: u16,
}

impl BBox {
    /// A box from its four values (no check).
    pub const fn new(minr: u16, minc: u16, maxr: u16, maxc: u16) -> BBox {
        BBox {
            minr,
            minc,
            maxr,
            maxc,
        }
    }

    /// Rows covered (0 for an empty or inverted box).
    pub fn height(&self) -> usize {
        self.maxr.saturating_sub(self.minr) as usize
    }

    /// Columns covered (0 for an empty or inverted box).
    pub fn width(&self) -> usize {
        self.maxc.saturating_sub(self.minc) as usize
    }

    /// Number of pixels covered.
    pub fn pixels(&self) -> u64 {
        self.height() as u64 * self.width() as u64
    }

    /// True when the box covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.pixels() == 0
    }

    /// True when `other` lies inside this box.
    pub fn contains_box(&self, other: &BBox) -> bool {
        other.minr >= self.minr
            && other.minc >= self.minc
            && other.maxr <= self.maxr
            && other.maxc <= self.maxc
    }

    /// The common part of two boxes, if they share at least one pixel.
    pub fn intersect(&self, other: &BBox) -> Option<BBox> {
        let b = BBox {
            minr: self.minr.max(other.minr),
            minc: self.minc.max(other.minc),
            maxr: self.maxr.min(other.maxr),
            maxc: self.maxc.min(other.maxc),
        };
        (b.minr < b.maxr && b.minc < b.maxc).then_some(b)
    }

    /// The values as `[minr, minc, maxr, maxc]`.
    pub fn to_array(&self) -> [u16; 4] {
        [self.minr, self.minc, self.maxr, self.maxc]
    }

    fn read(bytes: &[u8], at: usize) -> BBox {
        BBox {
            minr: u16_at(bytes, at),
            minc: u16_at(bytes, at + 2),
            maxr: u16_at(bytes, at + 4),
            maxc: u16_at(bytes, at + 6),
        }
    }

    /// Appends the 8 bytes of the box.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        for v in self.to_array() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

impl std::fmt::Display for BBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({}, {}, {}, {})",
            self.minr, self.minc, self.maxr, self.maxc
        )
    }
}

/// Reads a little-endian u16; the caller has checked the bounds.
pub(crate) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Reads a little-endian u32; the caller has checked the bounds.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// An (offset, length) pair as stored in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    /// Offset in bytes (its base depends on the structure).
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Loc {
    fn read(bytes: &[u8], at: usize) -> Loc {
        Loc {
            offset: u32_at(bytes, at),
            len: u32_at(bytes, at + 4),
        }
    }

    /// Appends the 8 bytes of the location.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
    }

    /// The byte range `base + offset .. + len` if it lies within `0..limit` (64-bit math).
    pub fn range_within(&self, base: usize, limit: usize) -> Option<std::ops::Range<usize>> {
        let start = base as u64 + self.offset as u64;
        let end = start + self.len as u64;
        (end <= limit as u64).then_some(start as usize..end as usize)
    }
}

/// The 48-byte file header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Format version (0 in every known file; not interpreted).
    pub version: u32,
    /// Reserved field `rformat` (0 in every known file; not interpreted).
    pub rformat: u32,
    /// Lookup table (absolute).
    pub lut: Loc,
    /// iid records (absolute).
    pub iids: Loc,
    /// meta JSON text (absolute).
    pub meta: Loc,
    /// groups section (absolute).
    pub groups: Loc,
    /// segment records (absolute).
    pub segs: Loc,
}

impl Header {
    /// The five sections with their names, in header order.
    pub fn sections(&self) -> [(&'static str, Loc); 5] {
        [
            ("LUT", self.lut),
            ("iids", self.iids),
            ("meta", self.meta),
            ("groups", self.groups),
            ("segments", self.segs),
        ]
    }

    /// Parses and checks the header: every section must lie inside the file and the LUT
    /// length must be a whole number of entries.
    pub fn parse(file: &[u8]) -> Result<Header> {
        if file.len() < HEADER_LEN {
            return Err(Error::format(format!(
                "not an .iid file: {} bytes is shorter than the {HEADER_LEN}-byte header",
                file.len()
            )));
        }
        let h = Header {
            version: u32_at(file, 0),
            rformat: u32_at(file, 4),
            lut: Loc::read(file, 8),
            iids: Loc::read(file, 16),
            meta: Loc::read(file, 24),
            groups: Loc::read(file, 32),
            segs: Loc::read(file, 40),
        };
        for (name, loc) in h.sections() {
            if loc.range_within(0, file.len()).is_none() {
                return Err(Error::format(format!(
                    "header: {name} section (offset {}, length {}) ends at byte {}, past the end \
                     of the {}-byte file",
                    loc.offset,
                    loc.len,
                    loc.offset as u64 + loc.len as u64,
                    file.len()
                )));
            }
        }
        if h.lut.len as usize % LUT_ENTRY_LEN != 0 {
            return Err(Error::format(format!(
                "header: LUT length {} is not a multiple of {LUT_ENTRY_LEN}",
                h.lut.len
            )));
        }
        Ok(h)
    }

    /// Appends the 48 header bytes.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.rformat.to_le_bytes());
        for (_, loc) in self.sections() {
            loc.write(out);
        }
    }
}

/// One lookup-table entry, with locations checked against their sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LutEntry {
    /// Location of the iid record, relative to the iids section.
    pub iid: Loc,
    /// Location of the segment record, relative to the segments section.
    pub seg: Loc,
}

impl LutEntry {
    /// Parses and checks entry `key` of a LUT slice whose bounds are already checked.
    pub fn parse(lut: &[u8], key: usize, iids_len: u32, segs_len: u32) -> Result<LutEntry> {
        let at = key * LUT_ENTRY_LEN;
        let stored = u32_at(lut, at);
        if stored as usize != key {
            return Err(Error::format(format!(
                "LUT entry {key}: stores key {stored} instead of {key}"
            )));
        }
        let e = LutEntry {
            iid: Loc::read(lut, at + 4),
            seg: Loc::read(lut, at + 12),
        };
        check_record("iid record", key, e.iid, iids_len, "iids", IID_RECORD_HEAD)?;
        check_record(
            "segment record",
            key,
            e.seg,
            segs_len,
            "segments",
            SEGMENT_HEAD,
        )?;
        Ok(e)
    }

    /// Checks every entry of a LUT slice (see [`parse`](Self::parse)): one pass over plain
    /// words, the first bad entry reported by `parse`.
    pub fn check_all(lut: &[u8], iids_len: u32, segs_len: u32) -> Result<()> {
        let fits = |offset: u32, len: u32, section_len: u32, min_len: usize| {
            len as usize >= min_len && offset as u64 + len as u64 <= section_len as u64
        };
        for (key, e) in lut.chunks_exact(LUT_ENTRY_LEN).enumerate() {
            let w = |i: usize| u32::from_le_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]]);
            let ok = w(0) as usize == key
                && fits(w(4), w(8), iids_len, IID_RECORD_HEAD)
                && fits(w(12), w(16), segs_len, SEGMENT_HEAD);
            if !ok {
                LutEntry::parse(lut, key, iids_len, segs_len)?;
            }
        }
        Ok(())
    }
}

fn check_record(
    what: &str,
    key: usize,
    loc: Loc,
    section_len: u32,
    section: &str,
    min_len: usize,
) -> Result<()> {
    if loc.range_within(0, section_len as usize).is_none() {
        return Err(Error::format(format!(
            "LUT entry {key}: {what} (offset {}, length {}) runs past the end of the \
             {section_len}-byte {section} section",
            loc.offset, loc.len
        )));
    }
    if (loc.len as usize) < min_len {
        return Err(Error::format(format!(
            "LUT entry {key}: {what} length {} is shorter than the minimum {min_len}",
            loc.len
        )));
    }
    Ok(())
}

/// A decoded iid record: the label's domain and address bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IidRecord<'a> {
    /// The namespace; empty when absent (the reference reads an empty domain as `None`).
    pub domain: &'a [u8],
    /// The label's name (may be empty).
    pub address: &'a [u8],
}

impl<'a> IidRecord<'a> {
    /// Parses the iid record of entry `key` (the slice is exactly the record).
    pub fn parse(rec: &'a [u8], key: usize) -> Result<IidRecord<'a>> {
        let stored = u32_at(rec, 0);
        if stored as usize != key {
            return Err(Error::format(format!(
                "iid record {key}: stores key {stored} instead of {key}"
            )));
        }
        let dl = u32_at(rec, 4) as u64;
        let al = u32_at(rec, 8) as u64;
        if IID_RECORD_HEAD as u64 + dl + al != rec.len() as u64 {
            return Err(Error::format(format!(
                "iid record {key}: domain length {dl} + address length {al} + 12 does not match \
                 the record length {}",
                rec.len()
            )));
        }
        let d_end = IID_RECORD_HEAD + dl as usize;
        Ok(IidRecord {
            domain: &rec[IID_RECORD_HEAD..d_end],
            address: &rec[d_end..],
        })
    }
}

/// The fixed part of a segment record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHead {
    /// The segment's box as given when the entry was added.
    pub bbox: BBox,
    /// Number of true pixels, as stored.
    pub area: u32,
}

impl SegmentHead {
    /// Parses and checks the head of segment record `key` (the slice is the whole record).
    pub fn parse(rec: &[u8], key: usize) -> Result<SegmentHead> {
        let stored = u32_at(rec, 0);
        if stored as usize != key {
            return Err(Error::format(format!(
                "segment {key}: stores key {stored} instead of {key}"
            )));
        }
        let bbox = BBox::read(rec, 4);
        if bbox.minr > bbox.maxr || bbox.minc > bbox.maxc {
            return Err(Error::format(format!("segment {key}: inverted box {bbox}")));
        }
        Ok(SegmentHead {
            bbox,
            area: u32_at(rec, 12),
        })
    }
}

/// One region of a segment: a connected component with its own box and packed mask bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region<'a> {
    /// The region's box in absolute image coordinates.
    pub bbox: BBox,
    /// Mask bits, row-major, MSB first, rows not byte-aligned: exactly
    /// `ceil(height * width / 8)` bytes (padding bits of the last byte may be set in
    /// foreign files and are ignored).
    pub bits: &'a [u8],
}

/// Number of bytes holding `pixels` packed bits.
pub fn packed_len(pixels: u64) -> u64 {
    pixels.div_ceil(8)
}

/// Walks the regions of a segment body (the record after its 16-byte head), checking each.
pub(crate) struct RegionWalk<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> RegionWalk<'a> {
    pub(crate) fn new(body: &'a [u8]) -> RegionWalk<'a> {
        RegionWalk { body, pos: 0 }
    }

    /// The next region, `Ok(None)` at the end, or an error describing the damage.
    pub(crate) fn next_checked(&mut self, key: usize, seg: &BBox) -> Result<Option<Region<'a>>> {
        let rest = &self.body[self.pos..];
        if rest.is_empty() {
            return Ok(None);
        }
        let index_msg = |msg: String| {
            Error::format(format!(
                "segment {key}, region at byte {}: {msg}",
                SEGMENT_HEAD + self.pos
            ))
        };
        if rest.len() < REGION_HEAD {
            return Err(index_msg(format!(
                "only {} bytes remain, less than a region header",
                rest.len()
            )));
        }
        let len = u32_at(rest, 0) as usize;
        if len < REGION_HEAD || len > rest.len() {
            return Err(index_msg(format!(
                "region length {len} is outside {REGION_HEAD}..={}",
                rest.len()
            )));
        }
        let bbox = BBox::read(rest, 4);
        if bbox.minr > bbox.maxr || bbox.minc > bbox.maxc {
            return Err(index_msg(format!("inverted region box {bbox}")));
        }
        if !seg.contains_box(&bbox) {
            return Err(index_msg(format!(
                "region box {bbox} is not inside the segment box {seg}"
            )));
        }
        let need = REGION_HEAD as u64 + packed_len(bbox.pixels());
        if len as u64 != need {
            return Err(index_msg(format!(
                "region length {len} does not match its {}x{} box (expected {need})",
                bbox.height(),
                bbox.width()
            )));
        }
        self.pos += len;
        Ok(Some(Region {
            bbox,
            bits: &rest[REGION_HEAD..len],
        }))
    }

    /// The next region of a body that was already checked.
    pub(crate) fn next_trusted(&mut self) -> Option<Region<'a>> {
        let rest = self.body.get(self.pos..)?;
        if rest.len() < REGION_HEAD {
            return None;
        }
        let len = (u32_at(rest, 0) as usize).clamp(REGION_HEAD, rest.len());
        self.pos += len;
        Some(Region {
            bbox: BBox::read(rest, 4),
            bits: &rest[REGION_HEAD..len],
        })
    }
}
