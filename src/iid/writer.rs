//! The `.iid` writer: entries are encoded as they are added (labels and segment records in
//! two growing buffers, masks split into 8-connected regions in the reference's order), and
//! `save` writes header, LUT, iids, meta, groups and segments back to back — the reference's
//! layout, byte for byte — through a temporary file renamed over the target.

use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use super::format::{BBox, Header, Loc, HEADER_LEN, IID_RECORD_HEAD, LUT_ENTRY_LEN, REGION_HEAD};
use super::mask::{pack_bytes, Labeler, MaskData};
use super::pyjson;
use super::reader::IidFile;
use crate::codec::atomic::AtomicFile;
use crate::error::{Error, Result};

/// Largest value a box coordinate can take in the format.
pub const MAX_COORD: u64 = u16::MAX as u64;

/// Builds a new `.iid` file in memory. Not shared between threads while mutated.
#[derive(Debug)]
pub struct IidWriter {
    iids: Vec<u8>,
    iid_locs: Vec<Loc>,
    segs: Vec<u8>,
    seg_locs: Vec<Loc>,
    group_index: HashMap<String, usize>,
    groups: Vec<(String, Vec<u32>)>,
    meta: String,
    labeler: Labeler,
}

impl Default for IidWriter {
    fn default() -> Self {
        IidWriter::new()
    }
}

fn fits_u32(what: &str, n: u64) -> Result<u32> {
    u32::try_from(n).map_err(|_| {
        Error::unsupported(format!(
            "{what} would be {n} bytes; the .iid format holds at most 4 GiB - 1 there"
        ))
    })
}

/// Checks a box given as `[minr, minc, maxr, maxc]` against the format's u16 range.
pub fn check_bbox(bbox: [u64; 4]) -> Result<BBox> {
    if let Some(v) = bbox.iter().find(|&&v| v > MAX_COORD) {
        return Err(Error::unsupported(format!(
            "box {bbox:?}: coordinate {v} exceeds {MAX_COORD}, the largest the .iid format can \
             store (images wider or taller than 65535 px cannot be represented)"
        )));
    }
    if bbox[0] > bbox[2] || bbox[1] > bbox[3] {
        return Err(Error::invalid(format!(
            "box {bbox:?} is inverted (min must not exceed max)"
        )));
    }
    Ok(BBox::new(
        bbox[0] as u16,
        bbox[1] as u16,
        bbox[2] as u16,
        bbox[3] as u16,
    ))
}

/// One entry for [`IidWriter::add_many`] (the arguments of [`IidWriter::add`]).
#[derive(Clone, Copy, Debug)]
pub struct NewEntry<'a> {
    /// The label's name.
    pub address: &'a [u8],
    /// Its namespace (empty = absent).
    pub domain: &'a [u8],
    /// `[minr, minc, maxr, maxc]`.
    pub bbox: [u64; 4],
    /// The mask over the box.
    pub mask: MaskData<'a>,
}

/// Entries checked and copied for a later [`IidWriter::add_batch`]: labels and packed masks
/// each in one growing buffer, so collecting many small entries costs one pass over each
/// mask and no allocation per entry.
#[derive(Debug, Default)]
pub struct EntryBatch {
    labels: Vec<u8>,
    /// The masks, packed ([`MaskData::Packed`]) back to back.
    masks: Vec<u8>,
    /// Mask pixels held.
    pixels: usize,
    items: Vec<BatchItem>,
}

/// Where one batched entry's parts are in the batch's buffers, and its checked box.
#[derive(Debug)]
struct BatchItem {
    address: Range<usize>,
    domain: Range<usize>,
    mask: Range<usize>,
    bbox: BBox,
}

impl EntryBatch {
    /// An empty batch.
    pub fn new() -> EntryBatch {
        EntryBatch::default()
    }

    /// An empty batch with room for `mask_bytes` mask pixels and `entries` entries.
    pub fn with_capacity(mask_bytes: usize, entries: usize) -> EntryBatch {
        EntryBatch {
            labels: Vec::with_capacity(entries * 16),
            // Each mask packs to whole bytes: at most one more byte per entry.
            masks: Vec::with_capacity(mask_bytes / 8 + entries),
            pixels: 0,
            items: Vec::with_capacity(entries),
        }
    }

    /// Checks an entry as [`IidWriter::add`] does (the mask one byte per pixel, non-zero =
    /// true) and copies it, packing the mask in the same pass; nothing is kept on error.
    pub fn push(
        &mut self,
        address: &[u8],
        domain: &[u8],
        bbox: [u64; 4],
        mask: &[u8],
    ) -> Result<()> {
        let bbox = check_entry(address, domain, bbox, &MaskData::Bytes(mask))?;
        let take = |buf: &mut Vec<u8>, part: &[u8]| {
            let start = buf.len();
            buf.extend_from_slice(part);
            start..buf.len()
        };
        let address = take(&mut self.labels, address);
        let domain = take(&mut self.labels, domain);
        let start = self.masks.len();
        pack_bytes(mask, &mut self.masks);
        self.pixels += mask.len();
        self.items.push(BatchItem {
            address,
            domain,
            mask: start..self.masks.len(),
            bbox,
        });
        Ok(())
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the batch holds no entry.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes every entry (keeping the memory).
    pub fn clear(&mut self) {
        self.labels.clear();
        self.masks.clear();
        self.pixels = 0;
        self.items.clear();
    }

    /// Mask pixels held (the bytes the masks were given as, one per pixel).
    pub fn mask_bytes(&self) -> usize {
        self.pixels
    }

    /// Encodes the records of the batch's entries for keys from `first` on.
    pub(crate) fn encode(&self, labeler: &mut Labeler, first: u32) -> Encoded {
        let mut enc =
            Encoded::with_capacity(first, self.len(), self.labels.len(), self.masks.len());
        for it in &self.items {
            let (address, domain) = (
                &self.labels[it.address.clone()],
                &self.labels[it.domain.clone()],
            );
            let mask = MaskData::Packed(&self.masks[it.mask.clone()]);
            enc.push(labeler, address, domain, &it.bbox, mask);
        }
        enc
    }

    fn entries(&self) -> Vec<NewEntry<'_>> {
        self.items
            .iter()
            .map(|it| NewEntry {
                address: &self.labels[it.address.clone()],
                domain: &self.labels[it.domain.clone()],
                bbox: it.bbox.to_array().map(u64::from),
                mask: MaskData::Packed(&self.masks[it.mask.clone()]),
            })
            .collect()
    }
}

/// Checks an entry: its box, that its mask covers the box exactly and that its iid record
/// fits the format.
pub(crate) fn check_entry(
    address: &[u8],
    domain: &[u8],
    bbox: [u64; 4],
    mask: &MaskData<'_>,
) -> Result<BBox> {
    fits_u32(
        "an iid record",
        IID_RECORD_HEAD as u64 + domain.len() as u64 + address.len() as u64,
    )?;
    let b = check_bbox(bbox)?;
    let need = mask.required_len(b.pixels());
    if mask.len() as u64 != need {
        return Err(Error::Mismatch(format!(
            "mask has {} bytes, a {}x{} box needs {need}",
            mask.len(),
            b.height(),
            b.width()
        )));
    }
    Ok(b)
}

/// Appends the iid record of entry `key` (key, lengths, domain, address) to `out`; the
/// caller checked that its length fits the format.
fn write_iid_record(key: u32, domain: &[u8], address: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&key.to_le_bytes());
    out.extend_from_slice(&(domain.len() as u32).to_le_bytes());
    out.extend_from_slice(&(address.len() as u32).to_le_bytes());
    out.extend_from_slice(domain);
    out.extend_from_slice(address);
}

/// Appends the segment record of entry `key` (head, then its regions) to `out`.
fn encode_segment(
    labeler: &mut Labeler,
    key: u32,
    b: &BBox,
    mask: MaskData<'_>,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.extend_from_slice(&key.to_le_bytes());
    b.write(out);
    out.extend_from_slice(&0u32.to_le_bytes());
    let area = labeler.encode_regions(mask, b.height(), b.width(), (b.minr, b.minc), out);
    // At most 65535 x 65535 pixels: fits in u32.
    out[start + 12..start + 16].copy_from_slice(&(area as u32).to_le_bytes());
}

/// The records (iid and segment) of consecutive entries, encoded and not yet added to a
/// writer.
#[derive(Debug)]
pub(crate) struct Encoded {
    /// The first entry's key.
    first: u32,
    /// The iid records back to back, and where each ends.
    iids: Vec<u8>,
    iid_ends: Vec<usize>,
    /// The segment records back to back, and where each ends.
    segs: Vec<u8>,
    seg_ends: Vec<usize>,
}

impl Encoded {
    /// No records yet, with room for `entries` entries whose labels take `label_bytes` and
    /// whose masks `mask_bytes` packed (a hint: the buffers grow as needed).
    pub(crate) fn with_capacity(
        first: u32,
        entries: usize,
        label_bytes: usize,
        mask_bytes: usize,
    ) -> Encoded {
        // A one-region record: its head, the region's head, at most the mask's bytes.
        let seg_head = 16 + REGION_HEAD;
        Encoded {
            first,
            iids: Vec::with_capacity(entries * IID_RECORD_HEAD + label_bytes),
            iid_ends: Vec::with_capacity(entries),
            segs: Vec::with_capacity(entries * seg_head + mask_bytes),
            seg_ends: Vec::with_capacity(entries),
        }
    }

    /// Appends the records of the next entry (checked, see [`check_entry`]).
    pub(crate) fn push(
        &mut self,
        labeler: &mut Labeler,
        address: &[u8],
        domain: &[u8],
        b: &BBox,
        mask: MaskData<'_>,
    ) {
        let key = self.first + self.seg_ends.len() as u32;
        write_iid_record(key, domain, address, &mut self.iids);
        self.iid_ends.push(self.iids.len());
        encode_segment(labeler, key, b, mask, &mut self.segs);
        self.seg_ends.push(self.segs.len());
    }
}

/// Appends the locations of records ending at `ends` (relative to `base`) to `locs`.
fn push_locs(locs: &mut Vec<Loc>, base: usize, ends: &[usize]) {
    let mut from = 0;
    locs.extend(ends.iter().map(|&end| {
        // The caller checked that the section, so every record in it, fits in u32.
        let loc = Loc {
            offset: (base + from) as u32,
            len: (end - from) as u32,
        };
        from = end;
        loc
    }));
}

/// A writer's extent (entries and section lengths), to roll back to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    entries: usize,
    iids: usize,
    segs: usize,
}

impl IidWriter {
    /// An empty file: no entry, no group, meta `{}`.
    pub fn new() -> IidWriter {
        IidWriter {
            iids: Vec::new(),
            iid_locs: Vec::new(),
            segs: Vec::new(),
            seg_locs: Vec::new(),
            group_index: HashMap::new(),
            groups: Vec::new(),
            meta: "{}".to_string(),
            labeler: Labeler::default(),
        }
    }

    /// A writer holding a copy of every entry, group and the meta of an open file (every
    /// record is checked first), to which more entries can be added.
    pub fn from_file(file: &IidFile) -> Result<IidWriter> {
        let mut w = IidWriter::new();
        for key in 0..file.len() as u32 {
            let iid = file.iid(key)?;
            let seg = file.segment(key)?;
            w.push_iid(iid.domain, iid.address)?;
            let mut rec = Vec::new();
            rec.extend_from_slice(&key.to_le_bytes());
            seg.bbox.write(&mut rec);
            rec.extend_from_slice(&seg.area.to_le_bytes());
            for r in seg.regions() {
                rec.extend_from_slice(&((12 + r.bits.len()) as u32).to_le_bytes());
                r.bbox.write(&mut rec);
                rec.extend_from_slice(r.bits);
            }
            w.push_seg(&rec)?;
        }
        for g in file.groups() {
            for &k in &g.keys {
                w.add_to_group(&g.name, k)?;
            }
        }
        w.meta = file.meta_json().to_string();
        Ok(w)
    }

    /// Number of entries added so far (the next entry's key).
    pub fn len(&self) -> usize {
        self.iid_locs.len()
    }

    /// True when no entry was added.
    pub fn is_empty(&self) -> bool {
        self.iid_locs.is_empty()
    }

    fn push_iid(&mut self, domain: &[u8], address: &[u8]) -> Result<()> {
        let key = self.len() as u32;
        let len = fits_u32(
            "an iid record",
            IID_RECORD_HEAD as u64 + domain.len() as u64 + address.len() as u64,
        )?;
        let offset = fits_u32("the iids section", self.iids.len() as u64)?;
        fits_u32("the iids section", offset as u64 + len as u64)?;
        write_iid_record(key, domain, address, &mut self.iids);
        self.iid_locs.push(Loc { offset, len });
        Ok(())
    }

    fn push_seg(&mut self, rec: &[u8]) -> Result<()> {
        let offset = fits_u32("the segments section", self.segs.len() as u64)?;
        let len = fits_u32("a segment record", rec.len() as u64)?;
        fits_u32("the segments section", offset as u64 + len as u64)?;
        self.segs.extend_from_slice(rec);
        self.seg_locs.push(Loc { offset, len });
        Ok(())
    }

    /// Adds an entry and returns its key. `bbox` = `[minr, minc, maxr, maxc]` places the
    /// mask in the image (each value ≤ 65535, min ≤ max); `mask` holds exactly
    /// `(maxr - minr) × (maxc - minc)` pixels, row-major. An empty `domain` is stored as
    /// absent. Nothing is changed when an error is returned.
    pub fn add(
        &mut self,
        address: &[u8],
        domain: &[u8],
        bbox: [u64; 4],
        mask: MaskData<'_>,
    ) -> Result<u32> {
        self.check_capacity(1)?;
        let b = check_entry(address, domain, bbox, &mask)?;
        let key = self.len() as u32;
        // Encode straight into the segments buffer; `commit` rolls back on a size error.
        let start = self.segs.len();
        encode_segment(&mut self.labeler, key, &b, mask, &mut self.segs);
        self.commit(start, domain, address)?;
        Ok(key)
    }

    /// Adds many entries at once (see [`IidWriter::add`]), splitting their masks on the
    /// library's thread pool; returns their keys. The file is the same as with one `add`
    /// per entry in order. Every entry is checked first; on any error nothing is added.
    pub fn add_many(&mut self, entries: &[NewEntry<'_>]) -> Result<Range<u32>> {
        const CHUNK: usize = 256;
        self.check_capacity(entries.len())?;
        let boxes = entries
            .iter()
            .map(|e| check_entry(e.address, e.domain, e.bbox, &e.mask))
            .collect::<Result<Vec<BBox>>>()?;
        let first = self.len() as u32;
        let encoded: Vec<Encoded> = crate::threads::install(|| {
            entries
                .par_chunks(CHUNK)
                .zip(boxes.par_chunks(CHUNK))
                .enumerate()
                .map_init(Labeler::default, |labeler, (c, (es, bs))| {
                    let mut enc =
                        Encoded::with_capacity(first + (c * CHUNK) as u32, es.len(), 0, 0);
                    for (e, b) in es.iter().zip(bs) {
                        enc.push(labeler, e.address, e.domain, b, e.mask);
                    }
                    enc
                })
                .collect()
        })?;
        let mark = self.mark();
        for enc in &encoded {
            if let Err(e) = self.commit_encoded(enc) {
                self.rollback(mark);
                return Err(e);
            }
        }
        Ok(first..first + entries.len() as u32)
    }

    /// Adds every entry of `batch` as [`add_many`](Self::add_many) does (in order, masks
    /// split in parallel; on any error nothing is added) and returns their keys.
    pub fn add_batch(&mut self, batch: &EntryBatch) -> Result<Range<u32>> {
        self.add_many(&batch.entries())
    }

    pub(crate) fn check_capacity(&self, more: usize) -> Result<()> {
        if self.len() as u64 + more as u64 > (u32::MAX as u64) / LUT_ENTRY_LEN as u64 {
            return Err(Error::unsupported("the LUT cannot hold more entries"));
        }
        Ok(())
    }

    /// Appends the entries whose records `enc` holds (encoded for keys from `self.len()` on)
    /// in order; nothing is added on error.
    pub(crate) fn commit_encoded(&mut self, enc: &Encoded) -> Result<()> {
        if enc.first as usize != self.len() {
            return Err(Error::Internal(format!(
                "records encoded for key {} committed at key {}",
                enc.first,
                self.len()
            )));
        }
        self.check_capacity(enc.seg_ends.len())?;
        // Records only grow their sections: checking the sections' new ends checks every
        // record's offset and length.
        fits_u32(
            "the segments section",
            self.segs.len() as u64 + enc.segs.len() as u64,
        )?;
        fits_u32(
            "the iids section",
            self.iids.len() as u64 + enc.iids.len() as u64,
        )?;
        push_locs(&mut self.seg_locs, self.segs.len(), &enc.seg_ends);
        push_locs(&mut self.iid_locs, self.iids.len(), &enc.iid_ends);
        self.segs.extend_from_slice(&enc.segs);
        self.iids.extend_from_slice(&enc.iids);
        Ok(())
    }

    /// The writer's current extent, to [`rollback`](Self::rollback) to.
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            entries: self.len(),
            iids: self.iids.len(),
            segs: self.segs.len(),
        }
    }

    /// Removes every entry added after `mark` was taken (groups only hold earlier keys).
    pub(crate) fn rollback(&mut self, mark: Mark) {
        self.segs.truncate(mark.segs);
        self.iids.truncate(mark.iids);
        self.iid_locs.truncate(mark.entries);
        self.seg_locs.truncate(mark.entries);
    }

    /// Records the segment encoded at `segs[start..]` and the entry's iid record, after
    /// checking every size against the format; on error removes the segment again.
    fn commit(&mut self, start: usize, domain: &[u8], address: &[u8]) -> Result<()> {
        let checked = (|| {
            let offset = fits_u32("the segments section", start as u64)?;
            let len = fits_u32("a segment record", (self.segs.len() - start) as u64)?;
            fits_u32("the segments section", self.segs.len() as u64)?;
            fits_u32(
                "the iids section",
                self.iids.len() as u64 + (IID_RECORD_HEAD + domain.len() + address.len()) as u64,
            )?;
            Ok(Loc { offset, len })
        })();
        match checked.and_then(|loc| self.push_iid(domain, address).map(|()| loc)) {
            Ok(loc) => {
                self.seg_locs.push(loc);
                Ok(())
            }
            Err(e) => {
                self.segs.truncate(start);
                Err(e)
            }
        }
    }

    /// Adds an existing key to a group, creating the group (after the existing ones) if
    /// needed. The empty string is a valid group name.
    pub fn add_to_group(&mut self, name: &str, key: u32) -> Result<()> {
        if key as usize >= self.len() {
            return Err(Error::OutOfBounds(format!(
                "key {key} does not exist (the writer has {} entries)",
                self.len()
            )));
        }
        let i = self.group_slot(name);
        let keys = &mut self.groups[i].1;
        if let Err(at) = keys.binary_search(&key) {
            keys.insert(at, key);
        }
        Ok(())
    }

    /// Sets a group's key list to exactly `keys`, in this order (creating the group after
    /// the existing ones if needed). [`add_to_group`](Self::add_to_group) keeps lists
    /// ascending; this writes the order given, e.g. the CPython set order the reference
    /// writes. Every key must exist and appear once; on error the group is unchanged.
    pub fn set_group(&mut self, name: &str, keys: &[u32]) -> Result<()> {
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        for &key in keys {
            if key as usize >= self.len() {
                return Err(Error::OutOfBounds(format!(
                    "group {name:?}: key {key} does not exist (the writer has {} entries)",
                    self.len()
                )));
            }
            if !seen.insert(key) {
                return Err(Error::invalid(format!(
                    "group {name:?}: key {key} is listed twice"
                )));
            }
        }
        let i = self.group_slot(name);
        self.groups[i].1 = keys.to_vec();
        Ok(())
    }

    /// The index of group `name`, created empty after the existing groups if needed.
    fn group_slot(&mut self, name: &str) -> usize {
        if let Some(&i) = self.group_index.get(name) {
            return i;
        }
        self.groups.push((name.to_string(), Vec::new()));
        self.group_index
            .insert(name.to_string(), self.groups.len() - 1);
        self.groups.len() - 1
    }

    /// Sets the meta from JSON text (Python's dialect is accepted: `NaN`, `Infinity`, big
    /// integers). It is stored as Python's `json.dumps` would write the parsed value.
    pub fn set_meta_json(&mut self, text: &str) -> Result<()> {
        let value = pyjson::parse(text).map_err(|e| Error::invalid(format!("meta: {e}")))?;
        self.meta = pyjson::dumps(&value);
        Ok(())
    }

    /// The meta text that will be written.
    pub fn meta_json(&self) -> &str {
        &self.meta
    }

    /// The groups section: JSON length, JSON text, key lists (in their stored order).
    fn groups_section(&self) -> Vec<u8> {
        let mut json = String::from("[");
        let mut lists: Vec<u8> = Vec::new();
        for (i, (name, keys)) in self.groups.iter().enumerate() {
            if i > 0 {
                json.push_str(", ");
            }
            json.push_str("{\"name\": ");
            pyjson::write_str(&mut json, name);
            json.push_str(&format!(
                ", \"offset\": {}, \"length\": {}}}",
                lists.len(),
                keys.len() * 4
            ));
            for k in keys {
                lists.extend_from_slice(&k.to_le_bytes());
            }
        }
        json.push(']');
        let mut out = Vec::with_capacity(4 + json.len() + lists.len());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(json.as_bytes());
        out.extend_from_slice(&lists);
        out
    }

    /// Header + LUT and the groups section, after checking every size against the format.
    fn layout(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        let groups = self.groups_section();
        let lut_len = self.len() as u64 * LUT_ENTRY_LEN as u64;
        let mut at = HEADER_LEN as u64;
        let mut place = |what: &str, len: u64| -> Result<Loc> {
            let loc = Loc {
                offset: fits_u32(&format!("the offset of the {what} section"), at)?,
                len: fits_u32(&format!("the {what} section"), len)?,
            };
            at += len;
            Ok(loc)
        };
        let header = Header {
            version: 0,
            rformat: 0,
            lut: place("LUT", lut_len)?,
            iids: place("iids", self.iids.len() as u64)?,
            meta: place("meta", self.meta.len() as u64)?,
            groups: place("groups", groups.len() as u64)?,
            segs: place("segments", self.segs.len() as u64)?,
        };
        let mut head = Vec::with_capacity(HEADER_LEN + lut_len as usize);
        header.write(&mut head);
        for (k, (iid, seg)) in self.iid_locs.iter().zip(&self.seg_locs).enumerate() {
            head.extend_from_slice(&(k as u32).to_le_bytes());
            iid.write(&mut head);
            seg.write(&mut head);
        }
        Ok((head, groups))
    }

    fn write_to(&self, head: &[u8], groups: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(head)?;
        out.write_all(&self.iids)?;
        out.write_all(self.meta.as_bytes())?;
        out.write_all(groups)?;
        out.write_all(&self.segs)
    }

    /// The complete file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let (head, groups) = self.layout()?;
        let mut out = Vec::new();
        self.write_to(&head, &groups, &mut out)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(out)
    }

    /// Writes the file atomically: sizes are checked first, then the bytes go to a temporary
    /// file in the target's directory that is renamed over `path` (an existing file there is
    /// left untouched on any error).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let (head, groups) = self.layout()?;
        let mut file = AtomicFile::create(path)?;
        self.write_to(&head, &groups, &mut file)
            .map_err(|e| Error::io(file.target(), e))?;
        file.commit()
    }
}
