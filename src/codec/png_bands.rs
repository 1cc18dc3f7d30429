//! Parallel PNG decoding through imkit's segment index.
//!
//! imkit's PNG writer ([`super::png_idat`]) compresses the image data in segments of a fixed
//! number of rows, each an independent run of deflate blocks in its own IDAT chunk whose first
//! row is filtered with None or Sub (which do not look at the row above). It records them in a
//! private ancillary chunk, `imSG`, written just before IEND (layout in docs/ARCHITECTURE.md):
//!
//! ```text
//! u8   version (1)
//! u32  rows per segment (every segment but the last holds that many rows)
//! n x  { u64 offset of the segment's first IDAT chunk, counted from the first IDAT chunk;
//!        u32 Adler-32 of the segment's filtered bytes (filter bytes and rows) }
//! u32  n, the segment count (last, so the chunk can be found from the end of the file)
//! ```
//!
//! All integers are big-endian. Other readers ignore the chunk (its name marks it ancillary,
//! private and unsafe to copy, so an editor that rewrites the pixels drops it). A reader that
//! finds a valid index reads, inflates and unfilters a batch of segments at once on the library
//! pool. Every segment is checked before its rows are handed out: its chunks must be IDAT
//! chunks with good CRCs lying exactly between its offset and the next, it must inflate to
//! exactly its rows, its first filter must be None or Sub and its bytes must match the recorded
//! Adler-32. Any failure reports [`Decoded::Invalid`] and the caller goes on with the serial
//! decoder, so a corrupt index costs speed, never a wrong pixel.

use std::fs::File;
use std::os::unix::fs::FileExt;

use rayon::prelude::*;

use super::png_unfilter::unfilter_lines;
use crate::error::{Error, Result};

/// The index chunk's type: ancillary, private, reserved bit clear, unsafe to copy.
pub(crate) const INDEX_CHUNK: [u8; 4] = *b"imSG";

const VERSION: u8 = 1;

/// The largest segment (filtered bytes) a reader accepts from an index: a hostile index cannot
/// make the reader buffer more than a few of these per thread.
const MAX_SEGMENT_BYTES: u64 = 16 << 20;

/// The largest IDAT chunk a segment may be made of (PNG's own limit is 2^31 - 1).
const MAX_CHUNK_BYTES: u32 = 1 << 30;

/// Where each segment of the image data starts, and the checksum of its bytes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SegmentIndex {
    /// Rows in every segment but the last.
    pub(crate) rows_per_segment: usize,
    /// Per segment: offset of its first IDAT chunk from the first IDAT chunk, and the
    /// Adler-32 of its filtered bytes.
    pub(crate) segments: Vec<(u64, u32)>,
}

impl SegmentIndex {
    /// The chunk data (layout in the module doc).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut data = Vec::with_capacity(9 + 12 * self.segments.len());
        data.push(VERSION);
        data.extend_from_slice(&(self.rows_per_segment as u32).to_be_bytes());
        for &(offset, adler) in &self.segments {
            data.extend_from_slice(&offset.to_be_bytes());
            data.extend_from_slice(&adler.to_be_bytes());
        }
        data.extend_from_slice(&(self.segments.len() as u32).to_be_bytes());
        data
    }

    /// Parses chunk data; `None` unless it is a well-formed index of `height` rows.
    fn decode(data: &[u8], height: usize) -> Option<SegmentIndex> {
        let be32 = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap_or_default());
        if data.len() < 13 || data[0] != VERSION || (data.len() - 9) % 12 != 0 {
            return None;
        }
        let rows_per_segment = be32(&data[1..5]) as usize;
        let count = be32(&data[data.len() - 4..]) as usize;
        if rows_per_segment == 0 || count != (data.len() - 9) / 12 {
            return None;
        }
        if count != height.div_ceil(rows_per_segment) {
            return None;
        }
        let segments: Vec<(u64, u32)> = data[5..data.len() - 4]
            .chunks_exact(12)
            .map(|e| {
                let offset = u64::from_be_bytes(e[..8].try_into().unwrap_or_default());
                (offset, be32(&e[8..]))
            })
            .collect();
        let ordered = segments.first().is_some_and(|s| s.0 == 0)
            && segments.windows(2).all(|w| w[0].0 < w[1].0);
        ordered.then_some(SegmentIndex {
            rows_per_segment,
            segments,
        })
    }
}

/// Reads exactly `buf.len()` bytes at `offset`; `Ok(false)` when the file ends first.
fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> std::io::Result<bool> {
    match file.read_exact_at(buf, offset) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// A chunk header at `offset`: (data length, type); `None` past the end of the file.
fn chunk_header(file: &File, offset: u64) -> std::io::Result<Option<(u32, [u8; 4])>> {
    let mut head = [0u8; 8];
    if !read_at(file, offset, &mut head)? {
        return Ok(None);
    }
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    Ok(Some((len, [head[4], head[5], head[6], head[7]])))
}

/// The file offset of the first IDAT chunk, walking the chunks after the signature.
pub(crate) fn first_idat(file: &File) -> std::io::Result<Option<u64>> {
    let mut at = 8u64;
    while let Some((len, kind)) = chunk_header(file, at)? {
        if kind == *b"IDAT" {
            return Ok(Some(at));
        }
        if kind == *b"IEND" {
            break;
        }
        at += 12 + len as u64;
    }
    Ok(None)
}

/// The segment index of the PNG in `file` (`height` rows), if it ends with a valid one:
/// `... index chunk, IEND`. The offsets in the result are file offsets.
fn find_index(file: &File, height: usize) -> std::io::Result<Option<SegmentIndex>> {
    let file_len = file.metadata()?.len();
    // IEND (12 bytes), then going back: the index's CRC and its last field, the count.
    let Some(count_at) = file_len.checked_sub(12 + 4 + 4) else {
        return Ok(None);
    };
    let mut tail = [0u8; 4];
    if chunk_header(file, file_len - 12)? != Some((0, *b"IEND"))
        || !read_at(file, count_at, &mut tail)?
    {
        return Ok(None);
    }
    let count = u32::from_be_bytes(tail) as u64;
    // At most one segment a row, so a hostile count cannot make the index read large.
    if count == 0 || count > height as u64 {
        return Ok(None);
    }
    let data_len = 9 + 12 * count;
    let Some(start) = (count_at + 4).checked_sub(data_len + 8) else {
        return Ok(None);
    };
    if chunk_header(file, start)? != Some((data_len as u32, INDEX_CHUNK)) {
        return Ok(None);
    }
    let mut chunk = vec![0u8; data_len as usize + 8];
    if !read_at(file, start + 4, &mut chunk)? {
        return Ok(None);
    }
    let (body, crc) = chunk.split_at(chunk.len() - 4);
    if libdeflater::crc32(body) != u32::from_be_bytes(crc.try_into().unwrap_or_default()) {
        return Ok(None);
    }
    let (Some(mut index), Some(base)) =
        (SegmentIndex::decode(&body[4..], height), first_idat(file)?)
    else {
        return Ok(None);
    };
    for segment in &mut index.segments {
        match segment.0.checked_add(base) {
            Some(at) if at < start => segment.0 = at,
            _ => return Ok(None),
        }
    }
    Ok(Some(index))
}

/// What decoding a batch gave.
pub(crate) enum Decoded {
    /// The batch's rows are in the band.
    Rows,
    /// The index does not describe the file: decode serially instead.
    Invalid,
}

/// Decodes the rows of a PNG with a segment index, a batch of segments at a time on the
/// library pool, into a band of unfiltered rows (big-endian samples).
pub(crate) struct BandDecoder {
    file: File,
    name: String,
    index: SegmentIndex,
    height: usize,
    row_len: usize,
    bpp: usize,
    segments_per_batch: usize,
    /// The next segment to decode.
    next_segment: usize,
    /// Unfiltered rows of the last batch.
    band: Vec<u8>,
    /// The next row of the band to hand out.
    band_at: usize,
    /// Rows of the next batch's first segment to skip (set by [`BandDecoder::skip_rows`]).
    skip_next: usize,
}

impl BandDecoder {
    /// A decoder for the PNG in `file` (8- or 16-bit samples, not interlaced, rows of
    /// `row_len` bytes, `bpp` bytes a pixel) when it carries a usable index.
    pub(crate) fn open(
        file: File,
        name: &str,
        height: usize,
        row_len: usize,
        bpp: usize,
    ) -> Result<Option<Self>> {
        let Some(index) = find_index(&file, height).map_err(|e| Error::io(name, e))? else {
            return Ok(None);
        };
        let segment_bytes = index.rows_per_segment.saturating_mul(row_len + 1) as u64;
        if segment_bytes > MAX_SEGMENT_BYTES && index.rows_per_segment > 1 {
            return Ok(None);
        }
        Ok(Some(BandDecoder {
            file,
            name: name.to_string(),
            index,
            height,
            row_len,
            bpp,
            segments_per_batch: 2 * crate::threads::num_threads().clamp(1, 64),
            next_segment: 0,
            band: Vec::new(),
            band_at: 0,
            skip_next: 0,
        }))
    }

    /// Copies the next row into `out`, decoding the next batch when the band is used up.
    /// `Invalid` when the index turned out not to fit the file (no row was copied then).
    pub(crate) fn next_row(&mut self, out: &mut [u8]) -> Result<Decoded> {
        if self.band_at * self.row_len >= self.band.len() {
            if let Decoded::Invalid = self.decode_batch()? {
                return Ok(Decoded::Invalid);
            }
        }
        let start = self.band_at * self.row_len;
        out.copy_from_slice(&self.band[start..start + self.row_len]);
        self.band_at += 1;
        Ok(Decoded::Rows)
    }

    /// Skips `count` rows (the caller checked they exist); segments skipped whole are not
    /// even read.
    pub(crate) fn skip_rows(&mut self, count: usize) {
        let in_band = self.band.len() / self.row_len - self.band_at;
        if count <= in_band {
            self.band_at += count;
            return;
        }
        let rps = self.index.rows_per_segment;
        let target = self.next_segment * rps + self.skip_next + (count - in_band);
        self.next_segment = target / rps;
        self.skip_next = target % rps;
        self.band.clear();
        self.band_at = 0;
    }

    /// Rows in segment `i`.
    fn rows_of(&self, i: usize) -> usize {
        let top = i * self.index.rows_per_segment;
        self.index.rows_per_segment.min(self.height - top)
    }

    /// Reads, inflates and unfilters the next batch of segments in parallel.
    fn decode_batch(&mut self) -> Result<Decoded> {
        let first = self.next_segment;
        let last = (first + self.segments_per_batch).min(self.index.segments.len());
        if first >= last {
            return Err(Error::Internal(format!(
                "{}: read past the last row",
                self.name
            )));
        }
        let rows: usize = (first..last).map(|i| self.rows_of(i)).sum();
        let mut band = std::mem::take(&mut self.band);
        band.resize(rows * self.row_len, 0);
        let this = &*self;
        let mut outputs: Vec<(usize, &mut [u8])> = Vec::with_capacity(last - first);
        let mut rest = &mut band[..];
        for i in first..last {
            let (head, tail) = rest.split_at_mut(this.rows_of(i) * this.row_len);
            outputs.push((i, head));
            rest = tail;
        }
        let results = crate::threads::install(|| {
            outputs
                .into_par_iter()
                .map(|(i, out)| this.decode_segment(i, out))
                .collect::<Vec<std::io::Result<bool>>>()
        })?;
        self.band = band;
        for result in results {
            if !result.map_err(|e| Error::io(&self.name, e))? {
                return Ok(Decoded::Invalid);
            }
        }
        self.next_segment = last;
        self.band_at = std::mem::take(&mut self.skip_next);
        Ok(Decoded::Rows)
    }

    /// The deflate bytes of segment `i`, gathered from its IDAT chunks (CRCs checked); `None`
    /// when the chunks do not match the index.
    fn segment_bytes(&self, i: usize) -> std::io::Result<Option<Vec<u8>>> {
        let segments = &self.index.segments;
        let end = segments.get(i + 1).map(|s| s.0);
        let mut at = segments[i].0;
        let mut bytes = Vec::new();
        loop {
            match chunk_header(&self.file, at)? {
                Some((len, kind)) if kind == *b"IDAT" && len <= MAX_CHUNK_BYTES => {
                    let from = bytes.len();
                    bytes.resize(from + len as usize + 8, 0);
                    if !read_at(&self.file, at + 4, &mut bytes[from..])? {
                        return Ok(None);
                    }
                    let crc =
                        u32::from_be_bytes(bytes[bytes.len() - 4..].try_into().unwrap_or_default());
                    if libdeflater::crc32(&bytes[from..bytes.len() - 4]) != crc {
                        return Ok(None);
                    }
                    // Drop the chunk type and CRC, keep the data.
                    bytes.truncate(bytes.len() - 4);
                    bytes.drain(from..from + 4);
                    at += 12 + len as u64;
                }
                // The last segment ends at the first chunk that is not IDAT.
                Some(_) if end.is_none() && !bytes.is_empty() => return Ok(Some(bytes)),
                _ => return Ok(None),
            }
            match end {
                Some(end) if at == end => return Ok(Some(bytes)),
                Some(end) if at > end => return Ok(None),
                _ => {}
            }
        }
    }

    /// Decodes segment `i` into `out` (its unfiltered rows); `Ok(false)` when it does not
    /// match the index.
    fn decode_segment(&self, i: usize, out: &mut [u8]) -> std::io::Result<bool> {
        let Some(mut bytes) = self.segment_bytes(i)? else {
            return Ok(false);
        };
        let is_last = i + 1 == self.index.segments.len();
        if i == 0 {
            // The zlib header: deflate, no preset dictionary, a valid check value.
            let good = bytes.len() >= 2
                && bytes[0] & 0x0f == 8
                && bytes[1] & 0x20 == 0
                && (u16::from_be_bytes([bytes[0], bytes[1]]) % 31) == 0;
            if !good {
                return Ok(false);
            }
            bytes.drain(..2);
        }
        if is_last {
            // The stream's Adler-32 (each segment's own checksum is checked instead).
            if bytes.len() < 4 {
                return Ok(false);
            }
            bytes.truncate(bytes.len() - 4);
        } else {
            // A segment ends byte-aligned after a non-final block: close it with an empty
            // final stored block so it is a complete deflate stream.
            bytes.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
        }
        let rows = self.rows_of(i);
        let stride = self.row_len + 1;
        let mut filtered = vec![0u8; rows * stride];
        let inflated = libdeflater::Decompressor::new().deflate_decompress(&bytes, &mut filtered);
        if inflated.ok() != Some(filtered.len())
            || libdeflater::adler32(&filtered) != self.index.segments[i].1
        {
            return Ok(false);
        }
        // The first row must not look at the (previous segment's) row above.
        if filtered[0] > 1 {
            return Ok(false);
        }
        let mut above = vec![0u8; self.row_len];
        if unfilter_lines(&mut filtered, &mut above, self.bpp).is_err() {
            return Ok(false);
        }
        for (row, line) in out
            .chunks_exact_mut(self.row_len)
            .zip(filtered.chunks_exact(stride))
        {
            row.copy_from_slice(&line[1..]);
        }
        Ok(true)
    }
}
