//! The `.iid` reader: a read-only memory map (or a caller's bytes) validated on open
//! (header, every LUT entry, meta, groups), with iid records and segments decoded and
//! checked lazily, when first asked for. An [`IidFile`] is immutable and `Send + Sync`.

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use super::format::{
    u32_at, BBox, Header, IidRecord, LutEntry, Region, RegionWalk, SegmentHead, LUT_ENTRY_LEN,
    SEGMENT_HEAD,
};
use super::index::SpatialIndex;
use super::mask::{self, Raster};
use super::pyjson;
use crate::error::{Error, Result};

/// The bytes of an open file.
enum Storage {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Storage {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned(v) => v,
        }
    }
}

/// A named set of keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The group's name (may be empty).
    pub name: String,
    /// Its keys, ascending, without duplicates.
    pub keys: Vec<u32>,
    /// Its keys in the order stored in the file (the reference writes a CPython set order).
    pub stored_keys: Vec<u32>,
}

/// An open `.iid` file. Immutable; every method may be called from any number of threads
/// at once. Results are always in ascending key order.
///
/// When opened by path the file is memory-mapped read-only: truncating or rewriting it
/// while it is open can make the process fault (replace files by renaming, as imkit's
/// writer does).
pub struct IidFile {
    data: Storage,
    header: Header,
    len: usize,
    meta: Range<usize>,
    groups: Vec<Group>,
    index: OnceLock<std::result::Result<SpatialIndex, String>>,
}

/// A segment: the box given when the entry was added, the stored area and the regions.
/// Obtained from [`IidFile::segment`], which has checked every region.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// The entry's key.
    pub key: u32,
    /// The segment's box (need not be tight around its pixels).
    pub bbox: BBox,
    /// Number of true pixels (checked against the region bits).
    pub area: u32,
    body: &'a [u8],
}

impl<'a> Segment<'a> {
    /// The regions (8-connected components) in file order.
    pub fn regions(&self) -> impl Iterator<Item = Region<'a>> + 'a {
        let mut walk = RegionWalk::new(self.body);
        std::iter::from_fn(move || walk.next_trusted())
    }

    /// Number of bytes of a packed mask of the segment box: `ceil(h * w / 8)`.
    pub fn packed_len(&self) -> u64 {
        self.bbox.pixels().div_ceil(8)
    }

    fn check_out(&self, have: usize, need: u64) -> Result<()> {
        if (have as u64) < need {
            return Err(Error::BufferTooSmall(format!(
                "segment {}: mask needs {need} bytes, the buffer has {have}",
                self.key
            )));
        }
        Ok(())
    }

    /// Writes the full mask, one byte per pixel (1 = true, 0 = false), row-major over the
    /// segment box, into `out` (at least `h * w` bytes; the rest is left untouched).
    pub fn mask_bytes(&self, out: &mut [u8]) -> Result<()> {
        let (h, w) = (self.bbox.height(), self.bbox.width());
        self.check_out(out.len(), self.bbox.pixels())?;
        out[..h * w].fill(0);
        for r in self.regions() {
            let (rw, rh) = (r.bbox.width(), r.bbox.height());
            for i in 0..rh {
                let row = (r.bbox.minr - self.bbox.minr) as usize + i;
                let dst = row * w + (r.bbox.minc - self.bbox.minc) as usize;
                mask::unpack_bits(r.bits, (i * rw) as u64, &mut out[dst..dst + rw]);
            }
        }
        Ok(())
    }

    /// Writes the full mask as packed bits (row-major, MSB first, rows not byte-aligned,
    /// last byte zero-padded) into `out` (at least [`Segment::packed_len`] bytes).
    pub fn mask_packed(&self, out: &mut [u8]) -> Result<()> {
        let need = self.packed_len();
        self.check_out(out.len(), need)?;
        out[..need as usize].fill(0);
        let w = self.bbox.width() as u64;
        for r in self.regions() {
            let rw = r.bbox.width() as u64;
            for i in 0..r.bbox.height() as u64 {
                let row = (r.bbox.minr - self.bbox.minr) as u64 + i;
                let dst = row * w + (r.bbox.minc - self.bbox.minc) as u64;
                mask::or_bits(out, dst, r.bits, i * rw, rw);
            }
        }
        Ok(())
    }

    /// The full mask as a vector of bytes (see [`Segment::mask_bytes`]).
    pub fn mask_vec(&self) -> Result<Vec<u8>> {
        let what = "an iid segment mask";
        crate::limits::check_samples(what, self.bbox.pixels())?;
        let n = usize::try_from(self.bbox.pixels())
            .map_err(|_| Error::unsupported("mask does not fit in memory"))?;
        let mut v = crate::limits::zeroed(n, what)?;
        self.mask_bytes(&mut v)?;
        Ok(v)
    }

    /// True when pixel (`row`, `col`) is set.
    pub fn contains_pixel(&self, row: i64, col: i64) -> bool {
        self.intersects(row, col, row + 1, col + 1)
    }

    /// True when at least one true pixel lies in the half-open box
    /// rows `minr..maxr`, columns `minc..maxc`.
    pub fn intersects(&self, minr: i64, minc: i64, maxr: i64, maxc: i64) -> bool {
        let b = &self.bbox;
        if (b.minr as i64) >= maxr
            || (b.maxr as i64) <= minr
            || (b.minc as i64) >= maxc
            || (b.maxc as i64) <= minc
        {
            return false;
        }
        self.regions().any(|r| {
            let rb = r.bbox;
            let r0 = (rb.minr as i64).max(minr);
            let r1 = (rb.maxr as i64).min(maxr);
            let c0 = (rb.minc as i64).max(minc);
            let c1 = (rb.maxc as i64).min(maxc);
            if r0 >= r1 || c0 >= c1 {
                return false;
            }
            let rw = rb.width() as u64;
            let off = (c0 - rb.minc as i64) as u64;
            (r0..r1).any(|row| {
                let bit = (row - rb.minr as i64) as u64 * rw + off;
                mask::any_ones(r.bits, bit, (c1 - c0) as u64)
            })
        })
    }

    /// The mask cropped to `crop` as a word-aligned raster (pixels of `crop` outside the
    /// segment are 0).
    pub(crate) fn raster(&self, crop: &BBox) -> Raster {
        let mut raster = Raster::new(crop.height(), crop.width());
        for r in self.regions() {
            let Some(ov) = r.bbox.intersect(crop) else {
                continue;
            };
            let rw = r.bbox.width() as u64;
            let n = ov.width();
            for row in ov.minr..ov.maxr {
                let bit = (row - r.bbox.minr) as u64 * rw + (ov.minc - r.bbox.minc) as u64;
                raster.or_run(
                    (row - crop.minr) as usize,
                    (ov.minc - crop.minc) as usize,
                    r.bits,
                    bit,
                    n,
                );
            }
        }
        raster
    }
}

impl IidFile {
    /// Opens and validates a file by memory-mapping it read-only (no write permission is
    /// needed).
    pub fn open(path: impl AsRef<Path>) -> Result<IidFile> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let data = if size == 0 {
            Storage::Owned(Vec::new())
        } else {
            // SAFETY: the mapping is read-only; the docs warn that the file must not be
            // truncated while open (every read is bounds-checked against the size we map).
            Storage::Mapped(unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?)
        };
        IidFile::from_storage(data).map_err(|e| match e {
            Error::Format(msg) => Error::Format(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Validates a file held in memory (the bytes are taken over, not copied).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<IidFile> {
        IidFile::from_storage(Storage::Owned(bytes))
    }

    fn from_storage(data: Storage) -> Result<IidFile> {
        let header = Header::parse(&data)?;
        let len = header.lut.len as usize / LUT_ENTRY_LEN;
        let lut = &data[header.lut.range_within(0, data.len()).unwrap_or(0..0)];
        LutEntry::check_all(lut, header.iids.len, header.segs.len)?;
        let meta = header.meta.range_within(0, data.len()).unwrap_or(0..0);
        let text = std::str::from_utf8(&data[meta.clone()])
            .map_err(|e| Error::format(format!("meta: not valid UTF-8 ({e})")))?;
        pyjson::parse(text).map_err(|e| Error::format(format!("meta: {e}")))?;
        let groups = parse_groups(&data, &header, len)?;
        Ok(IidFile {
            data,
            header,
            len,
            meta,
            groups,
            index: OnceLock::new(),
        })
    }

    /// The whole file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The header (version, rformat and section locations).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the file has no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks that `key` names an entry.
    pub fn check_key(&self, key: u64) -> Result<u32> {
        if key < self.len as u64 {
            Ok(key as u32)
        } else {
            Err(Error::OutOfBounds(format!(
                "key {key} does not exist (the file has {} entries)",
                self.len
            )))
        }
    }

    /// The LUT entry of a key already checked (locations were validated at open).
    pub(crate) fn lut(&self, key: u32) -> LutEntry {
        let at = self.header.lut.offset as usize + key as usize * LUT_ENTRY_LEN;
        let loc = |o: usize| super::format::Loc {
            offset: u32_at(&self.data, at + o),
            len: u32_at(&self.data, at + o + 4),
        };
        LutEntry {
            iid: loc(4),
            seg: loc(12),
        }
    }

    fn section_slice(&self, base: super::format::Loc, loc: super::format::Loc) -> &[u8] {
        // Validated at open: base lies in the file and loc inside base.
        let start = base.offset as usize + loc.offset as usize;
        &self.data[start..start + loc.len as usize]
    }

    /// The label of entry `key`: its domain (empty when absent) and address.
    pub fn iid(&self, key: u32) -> Result<IidRecord<'_>> {
        let key = self.check_key(key as u64)?;
        let rec = self.section_slice(self.header.iids, self.lut(key).iid);
        IidRecord::parse(rec, key as usize)
    }

    fn segment_record(&self, key: u32) -> &[u8] {
        self.section_slice(self.header.segs, self.lut(key).seg)
    }

    /// The box and stored area of entry `key`, reading only the 16-byte segment head.
    pub fn segment_head(&self, key: u32) -> Result<SegmentHead> {
        let key = self.check_key(key as u64)?;
        SegmentHead::parse(self.segment_record(key), key as usize)
    }

    /// The segment of entry `key`, with every region checked (lengths, boxes inside the
    /// segment box, bit counts) and the stored area verified against the bits.
    pub fn segment(&self, key: u32) -> Result<Segment<'_>> {
        self.checked_segment(key, true)
    }

    /// Like [`IidFile::segment`] without comparing the stored area with the bits (every
    /// bound is still checked): for queries that only test pixels.
    pub(crate) fn segment_for_pixels(&self, key: u32) -> Result<Segment<'_>> {
        self.checked_segment(key, false)
    }

    fn checked_segment(&self, key: u32, verify_area: bool) -> Result<Segment<'_>> {
        let key = self.check_key(key as u64)?;
        let rec = self.segment_record(key);
        let head = SegmentHead::parse(rec, key as usize)?;
        let body = &rec[SEGMENT_HEAD..];
        let mut walk = RegionWalk::new(body);
        let mut pixels = 0u64;
        while let Some(r) = walk.next_checked(key as usize, &head.bbox)? {
            if verify_area {
                pixels += mask::count_ones(r.bits, 0, r.bbox.pixels());
            }
        }
        if verify_area && pixels != head.area as u64 {
            return Err(Error::format(format!(
                "segment {key}: stored area {} but its regions hold {pixels} pixels",
                head.area
            )));
        }
        Ok(Segment {
            key,
            bbox: head.bbox,
            area: head.area,
            body,
        })
    }

    /// The meta JSON text exactly as stored (validated at open, in Python's JSON dialect:
    /// it may contain `NaN`, `Infinity` and integers of any size).
    pub fn meta_json(&self) -> &str {
        std::str::from_utf8(&self.data[self.meta.clone()]).unwrap_or("{}")
    }

    /// The groups in file order (order of creation).
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The group named `name`.
    pub fn group(&self, name: &str) -> Result<&Group> {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| Error::invalid(format!("no group named {name:?}")))
    }

    /// Names of the groups containing `key`, in file order.
    pub fn groups_of(&self, key: u32) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|g| g.keys.binary_search(&key).is_ok())
            .map(|g| g.name.as_str())
            .collect()
    }

    /// Checks every record of the file (iid records and segments), not only what open
    /// checks; returns the first problem found.
    pub fn validate(&self) -> Result<()> {
        for k in 0..self.len as u32 {
            self.iid(k)?;
            self.segment(k)?;
        }
        Ok(())
    }

    /// The spatial index, built on first use and then shared.
    pub(crate) fn index(&self) -> Result<&SpatialIndex> {
        self.index
            .get_or_init(|| SpatialIndex::build(self).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Format(e.clone()))
    }
}

fn parse_groups(data: &[u8], header: &Header, n: usize) -> Result<Vec<Group>> {
    let sec = &data[header.groups.range_within(0, data.len()).unwrap_or(0..0)];
    let err = |msg: String| Error::format(format!("groups section: {msg}"));
    if sec.len() < 4 {
        return Err(err(format!("{} bytes is too short", sec.len())));
    }
    let jl = u32_at(sec, 0) as u64;
    if 4 + jl > sec.len() as u64 {
        return Err(err(format!(
            "JSON length {jl} runs past the {}-byte section",
            sec.len()
        )));
    }
    let json_end = 4 + jl as usize;
    let text = std::str::from_utf8(&sec[4..json_end])
        .map_err(|e| err(format!("JSON is not valid UTF-8 ({e})")))?;
    let value = pyjson::parse(text).map_err(|e| err(e.to_string()))?;
    let pyjson::Value::Array(items) = value else {
        return Err(err("the JSON is not an array".into()));
    };
    let lists = &sec[json_end..];
    let mut groups: Vec<Group> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let name = item
            .get("name")
            .and_then(|v| v.as_string())
            .ok_or_else(|| err(format!("group {i} has no valid string \"name\"")))?;
        let field = |f: &str| {
            item.get(f)
                .and_then(|v| v.as_u64())
                .ok_or_else(|| err(format!("group {name:?} has no valid \"{f}\"")))
        };
        let (offset, length) = (field("offset")?, field("length")?);
        if length % 4 != 0 {
            return Err(err(format!(
                "group {name:?}: key list length {length} is not a multiple of 4"
            )));
        }
        if offset
            .checked_add(length)
            .map_or(true, |end| end > lists.len() as u64)
        {
            return Err(err(format!(
                "group {name:?}: key list (offset {offset}, length {length}) runs past the \
                 {} bytes of key lists",
                lists.len()
            )));
        }
        let raw = &lists[offset as usize..(offset + length) as usize];
        let stored_keys: Vec<u32> = raw.chunks_exact(4).map(|c| u32_at(c, 0)).collect();
        if let Some(bad) = stored_keys.iter().find(|&&k| k as usize >= n) {
            return Err(err(format!(
                "group {name:?} holds key {bad}, but the file has {n} entries"
            )));
        }
        if groups.iter().any(|g| g.name == name) {
            return Err(err(format!("group name {name:?} appears twice")));
        }
        let mut keys = stored_keys.clone();
        keys.sort_unstable();
        keys.dedup();
        groups.push(Group {
            name,
            keys,
            stored_keys,
        });
    }
    Ok(groups)
}
