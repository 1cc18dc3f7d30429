//! PNG image data on every core (the fast level, compression 1): rows are collected in
//! batches, each batch is cut into segments of a fixed number of rows (from the row size
//! only), and the segments are filtered and deflated in parallel on the library pool
//! ([`super::deflate`]), then written in order as IDAT chunks of one zlib stream. The bytes
//! depend only on the pixels, never on the thread count.
//!
//! Filters: per row the one of None, Sub, Up, Average and Paeth with the least sum of absolute
//! signed bytes (libpng's heuristic), not counting bytes that repeat the previous pixel's,
//! measured on evenly spread stretches covering a quarter of the row. The first row of every
//! segment is None or Sub (the cheaper), which do not look at the row above, so each segment
//! inflates and unfilters on its own: the segment index written after the image data
//! ([`super::png_bands`]) lets readers decode the segments in parallel.

use std::io::Write;
use std::ops::Range;

use rayon::prelude::*;

use super::deflate::{self, adler32_combine, ZLIB_HEADER};
use super::png_bands::SegmentIndex;

/// Filtered bytes per segment (rounded to whole rows): large enough that the Huffman tables
/// cost nothing, small enough that a 4K frame gives every core many segments.
const SEGMENT_BYTES: usize = 256 << 10;

/// Bytes of each stretch of a row the filter choice looks at, and the stride between
/// stretches: the choice is made on a quarter of a long row and applied to all of it (four
/// times fewer candidate bytes computed and costed, for files 0.1% larger on photographs).
const SAMPLE_BYTES: usize = 512;
/// See [`SAMPLE_BYTES`].
const SAMPLE_STRIDE: usize = 2048;

/// The filter heuristic's cost of filtered bytes: the sum of absolute signed bytes (libpng's
/// measure) over the bytes that differ from the byte one pixel (`bpp` bytes) before; the
/// first `bpp` bytes only serve as that context unless `head` (the row's start, where they
/// count in full). Bytes that repeat the previous pixel's cost nothing, since runs of
/// repeated pixels become long matches: on repeating patterns (gradients, synthetic images)
/// this picks the filter that makes the row periodic, where the plain sum picked Paeth and
/// left the output 4x larger.
fn cost(filtered: &[u8], bpp: usize, head: bool) -> u64 {
    let lead = bpp.min(filtered.len());
    let first: u64 = if head {
        filtered[..lead]
            .iter()
            .map(|&b| (b as i8).unsigned_abs() as u64)
            .sum()
    } else {
        0
    };
    // Partial sums of 256 bytes (at most 128 each) fit in u16, so the vectorised loop widens
    // the bytes only to 16 bits (a u32 sum took three times the instructions). `|b as i8|` is
    // `min(b, -b)` on the unsigned byte.
    let rest: u64 = filtered[lead..]
        .chunks(256)
        .zip(filtered.chunks(256))
        .map(|(part, before)| {
            part.iter()
                .zip(before)
                .map(|(&b, &p)| {
                    let magnitude = b.min(b.wrapping_neg());
                    u16::from(if b == p { 0 } else { magnitude })
                })
                .fold(0u16, u16::wrapping_add) as u64
        })
        .sum();
    first + rest
}

/// Paeth's predictor, branch-free so the row loop vectorises.
#[inline(always)]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (a as i16, b as i16, c as i16);
    let pa = (ib - ic).abs();
    let pb = (ia - ic).abs();
    let pc = (ia + ib - 2 * ic).abs();
    let bc = if pb <= pc { b } else { c };
    if pa <= pb && pa <= pc {
        a
    } else {
        bc
    }
}

/// Writes bytes `range` of row `raw` (whose row above is `prev`) filtered with PNG filter
/// `filter` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) to `out`.
fn apply(filter: u8, raw: &[u8], prev: &[u8], bpp: usize, range: Range<usize>, out: &mut [u8]) {
    let out = &mut out[..range.len()];
    // The first pixel has no left neighbour (zeros); after it every byte depends on the raw
    // rows only, so each filter's loop has no carried dependency and vectorises.
    let split = range.end.min(range.start.max(bpp));
    for (o, j) in out.iter_mut().zip(range.start..split) {
        let (x, b) = (raw[j], prev[j]);
        *o = match filter {
            0 | 1 => x,
            3 => x.wrapping_sub(b / 2),
            _ => x.wrapping_sub(b),
        };
    }
    if split == range.end {
        return;
    }
    let (x, a) = (&raw[split..range.end], &raw[split - bpp..range.end - bpp]);
    let (b, c) = (&prev[split..range.end], &prev[split - bpp..range.end - bpp]);
    let out = &mut out[split - range.start..];
    match filter {
        0 => out.copy_from_slice(x),
        1 => out
            .iter_mut()
            .zip(x.iter().zip(a))
            .for_each(|(o, (&x, &a))| *o = x.wrapping_sub(a)),
        2 => out
            .iter_mut()
            .zip(x.iter().zip(b))
            .for_each(|(o, (&x, &b))| *o = x.wrapping_sub(b)),
        3 => out
            .iter_mut()
            .zip(x.iter().zip(a.iter().zip(b)))
            .for_each(|(o, (&x, (&a, &b)))| {
                *o = x.wrapping_sub(((a as u16 + b as u16) >> 1) as u8)
            }),
        _ => out
            .iter_mut()
            .zip(x.iter().zip(a).zip(b.iter().zip(c)))
            .for_each(|(o, ((&x, &a), (&b, &c)))| *o = x.wrapping_sub(paeth(a, b, c))),
    }
}

/// Filters `raw` (whose row above is `prev`) into `out` (filter byte + row) with the filter
/// of least cost on the sampled stretches of the row; `scratch` holds one candidate stretch.
/// With `prev` `None` (the first row of a segment) the choice is between None and Sub, which
/// do not read the row above, so the segment decodes on its own.
fn filter_row(raw: &[u8], prev: Option<&[u8]>, bpp: usize, out: &mut [u8], scratch: &mut Vec<u8>) {
    let n = raw.len();
    // None and Sub never read the row above: any row of the right length stands in for it.
    let (prev, filters) = match prev {
        Some(prev) => (prev, 0..5),
        None => (raw, 0..2),
    };
    let mut best = (u64::MAX, 0);
    for filter in filters {
        let mut total = 0;
        for start in (0..n).step_by(SAMPLE_STRIDE) {
            // From one pixel earlier, so the stretch's first bytes have their context.
            let range = start.saturating_sub(bpp)..(start + SAMPLE_BYTES).min(n);
            scratch.resize(range.len(), 0);
            apply(filter, raw, prev, bpp, range, scratch);
            total += cost(scratch, bpp, start == 0);
        }
        if total < best.0 {
            best = (total, filter);
        }
    }
    out[0] = best.1;
    apply(best.1, raw, prev, bpp, 0..n, &mut out[1..]);
}

/// One compressed segment: its deflate bytes, the Adler-32 of its filtered bytes and their
/// count.
struct Segment {
    deflated: Vec<u8>,
    adler: u32,
    len: u64,
}

/// Filters and compresses `rows` (packed big-endian rows of `row_len` bytes); the first row
/// does not look above.
fn segment(rows: &[u8], row_len: usize, bpp: usize, last: bool) -> Segment {
    // The filtered rows and the candidate stretch live with the worker thread: every byte of
    // `filtered` is written below, so reusing it saves zeroing (and fresh pages) per segment.
    thread_local!(static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = Default::default());
    BUFFERS.with_borrow_mut(|(filtered, scratch)| {
        let count = rows.len() / row_len;
        filtered.resize(count * (row_len + 1), 0);
        for (y, out) in filtered.chunks_exact_mut(row_len + 1).enumerate() {
            let raw = &rows[y * row_len..(y + 1) * row_len];
            let prev = y.checked_sub(1).map(|p| &rows[p * row_len..y * row_len]);
            filter_row(raw, prev, bpp, out, scratch);
        }
        Segment {
            adler: libdeflater::adler32(filtered),
            len: filtered.len() as u64,
            deflated: deflate::compress_segment(filtered, last),
        }
    })
}

/// The IDAT stream of one image (or of a part of it), fed a row at a time.
pub(crate) struct ParallelIdat {
    row_len: usize,
    bpp: usize,
    rows_per_segment: usize,
    rows_per_batch: usize,
    rows_left: usize,
    /// Big-endian rows waiting to be compressed.
    batch: Vec<u8>,
    /// Adler-32 and length of the filtered bytes compressed so far.
    adler: u32,
    len: u64,
    started: bool,
    /// The rows end the image: the last segment's block is final.
    ends: bool,
    /// The stream is the whole image's (not a part): it closes with its Adler-32.
    whole: bool,
    /// The segment index so far: where each segment's IDAT chunk starts (counted from the
    /// stream's first IDAT chunk) and the Adler-32 of its filtered bytes.
    index: SegmentIndex,
    /// Bytes of the IDAT chunks handed out so far (headers and CRCs included).
    idat_bytes: u64,
}

/// Rows per segment for rows of `row_len` bytes: a part of an image ([`ParallelIdat::part`])
/// starts on a multiple of it.
pub(crate) fn segment_rows(row_len: usize) -> usize {
    (SEGMENT_BYTES / (row_len + 1)).max(1)
}

impl ParallelIdat {
    /// A stream for `height` rows of `row_len` bytes with `bpp` bytes per pixel.
    pub(crate) fn new(row_len: usize, bpp: usize, height: usize) -> ParallelIdat {
        ParallelIdat {
            whole: true,
            ..ParallelIdat::part(row_len, bpp, height, 0..height)
        }
    }

    /// The chunks of rows `rows` of a `height`-row image (`rows.start` a multiple of
    /// [`segment_rows`]): the same chunks the whole image's stream has for those rows (a
    /// segment never looks above its first row), except that the Adler-32 closing the stream
    /// is left to whoever joins the parts (see [`ParallelIdat::checksum`]).
    pub(crate) fn part(
        row_len: usize,
        bpp: usize,
        height: usize,
        rows: std::ops::Range<usize>,
    ) -> ParallelIdat {
        let rows_per_segment = segment_rows(row_len);
        debug_assert!(rows.start % rows_per_segment == 0);
        // Batch size only schedules work (it never changes the bytes); capped so one IDAT chunk
        // stays far below PNG's 2^31 limit.
        let rows_per_batch = rows_per_segment * 4 * crate::threads::num_threads().clamp(1, 64);
        ParallelIdat {
            row_len,
            bpp,
            rows_per_segment,
            rows_per_batch,
            rows_left: rows.len(),
            batch: Vec::new(),
            adler: 1,
            len: 0,
            started: rows.start > 0,
            ends: rows.end == height,
            whole: false,
            index: SegmentIndex {
                rows_per_segment,
                segments: Vec::new(),
            },
            idat_bytes: 0,
        }
    }

    /// The Adler-32 and length of the filtered bytes compressed so far.
    pub(crate) fn checksum(&self) -> (u32, u64) {
        (self.adler, self.len)
    }

    /// The Adler-32 of each segment's filtered bytes compressed so far, in order.
    pub(crate) fn segment_checksums(&self) -> impl Iterator<Item = u32> + '_ {
        self.index.segments.iter().map(|&(_, adler)| adler)
    }

    /// Appends whole rows (`row_len` bytes each, native byte order; `wide`: u16 samples,
    /// stored big-endian as PNG wants them) and hands the IDAT chunks that become due to
    /// `emit`, in order, a batch at a time (none until a batch is full or the image is
    /// complete). Whole segments of 8-bit rows are compressed straight from `rows`; the rest
    /// (a partial segment, u16 rows) waits in the batch. Where batches are cut never changes
    /// the bytes; memory stays at one batch of compressed data however many rows come.
    pub(crate) fn push_rows(
        &mut self,
        rows: &[u8],
        wide: bool,
        mut emit: impl FnMut(&[Vec<u8>]) -> crate::Result<()>,
    ) -> crate::Result<()> {
        let row_len = self.row_len.max(1);
        debug_assert_eq!(rows.len() % row_len, 0);
        self.rows_left = self.rows_left.saturating_sub(rows.len() / row_len);
        let done = self.rows_left == 0;
        let segment_bytes = self.segment_bytes();
        let batch_bytes = self.rows_per_batch * row_len;
        // u16 rows are compressed from a byte-swapped copy.
        let mut swapped = Vec::new();
        let rows = if wide {
            swapped.resize(rows.len(), 0);
            super::png::to_big_endian(rows, &mut swapped);
            &swapped[..]
        } else {
            rows
        };
        // Complete the batch's last segment first.
        let short = (segment_bytes - self.batch.len() % segment_bytes) % segment_bytes;
        let (top_up, mut rest) = rows.split_at(short.min(rows.len()));
        self.batch.extend_from_slice(top_up);
        loop {
            let whole = self.batch.len() % segment_bytes == 0;
            let fits = self.batch.len() + rest.len() <= batch_bytes;
            // Rows of `rest` compressed this round: all that are left once they end the image
            // and fit one batch, else whole segments up to a full batch.
            let direct = if done && (fits || !whole) {
                rest.len()
            } else if whole {
                let room = batch_bytes.saturating_sub(self.batch.len());
                room.min(rest.len()) / segment_bytes * segment_bytes
            } else {
                0
            };
            if !done && (!whole || self.batch.len() + direct < batch_bytes) {
                self.batch.extend_from_slice(rest);
                return Ok(());
            }
            let last = done && direct == rest.len();
            let (now, later) = rest.split_at(direct);
            emit(&self.compress(now, last)?)?;
            rest = later;
            if last {
                return Ok(());
            }
        }
    }

    /// Bytes of a segment's rows (never zero).
    fn segment_bytes(&self) -> usize {
        self.rows_per_segment * self.row_len.max(1)
    }

    /// Compresses the batch followed by `rows` (whole segments but at the image's end), empties
    /// the batch and returns the IDAT chunks; `last`: these are the image's last rows.
    fn compress(&mut self, rows: &[u8], last: bool) -> crate::Result<Vec<Vec<u8>>> {
        let (row_len, bpp) = (self.row_len, self.bpp);
        let segment_bytes = self.segment_bytes();
        let ends = last && self.ends;
        let pieces: Vec<&[u8]> = (self.batch.chunks(segment_bytes))
            .chain(rows.chunks(segment_bytes))
            .collect();
        let last_piece = pieces.len().saturating_sub(1);
        let segments = crate::threads::install(|| {
            pieces
                .par_iter()
                .enumerate()
                .map(|(i, rows)| segment(rows, row_len, bpp, ends && i == last_piece))
                .collect::<Vec<Segment>>()
        })?;
        self.batch.clear();
        // One IDAT chunk per segment, so the chunk layout too is independent of batching.
        let mut chunks: Vec<Vec<u8>> = Vec::with_capacity(segments.len() + 1);
        for s in segments {
            let mut chunk = s.deflated;
            if !self.started {
                chunk.splice(0..0, ZLIB_HEADER);
                self.started = true;
            }
            self.adler = adler32_combine(self.adler, s.adler, s.len);
            self.len += s.len;
            self.index.segments.push((self.idat_bytes, s.adler));
            self.idat_bytes += chunk.len() as u64 + 12;
            chunks.push(chunk);
        }
        if last && self.whole {
            if chunks.is_empty() {
                chunks.push(deflate::EMPTY_FINAL_BLOCK.to_vec());
            }
            if let Some(last) = chunks.last_mut() {
                last.extend_from_slice(&self.adler.to_be_bytes());
            }
        }
        Ok(chunks)
    }

    /// The segment index chunk's data, once every row was compressed (`None` for an image
    /// without rows).
    pub(crate) fn index_chunk(&self) -> Option<Vec<u8>> {
        (self.rows_left == 0 && !self.index.segments.is_empty()).then(|| self.index.encode())
    }
}

/// Writes `chunks` as IDAT chunks through the `png` crate's writer.
pub(crate) fn write_idat<W: Write>(
    writer: &mut png::Writer<W>,
    chunks: &[Vec<u8>],
) -> Result<(), png::EncodingError> {
    chunks
        .iter()
        .try_for_each(|chunk| writer.write_chunk(png::chunk::IDAT, chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stream's bytes do not depend on how the rows are handed over: one at a time, in
    /// groups that cut segments and batches anywhere, or all at once (compressed from the
    /// caller's rows a batch at a time), for 8-bit and 16-bit rows.
    #[test]
    fn grouping_the_rows_never_changes_the_bytes() {
        let (row_len, bpp, height) = (19_998, 3, 250);
        let rows: Vec<u8> = (0..row_len * height)
            .map(|i| ((i * 31) % 253) as u8 ^ (i / 977) as u8)
            .collect();
        let stream = |groups: &[usize], wide: bool| {
            let mut idat = ParallelIdat::new(row_len, bpp, height);
            let (mut bytes, mut at) = (Vec::new(), 0);
            for &n in groups.iter().cycle() {
                let end = (at + n).min(height);
                let more = &rows[at * row_len..end * row_len];
                idat.push_rows(more, wide, |chunks| {
                    bytes.push(chunks.concat());
                    Ok(())
                })
                .unwrap();
                at = end;
                if at == height {
                    break;
                }
            }
            bytes
        };
        for wide in [false, true] {
            let one_by_one = stream(&[1], wide).concat();
            assert!(one_by_one.len() > 1000);
            for groups in [&[height][..], &[7], &[64], &[3, 150, 1, 90]] {
                let grouped = stream(groups, wide);
                assert_eq!(grouped.concat(), one_by_one, "{groups:?} {wide}");
                // No call hands over more than a batch of rows compressed: all at once
                // still takes a call per batch.
                let batch = ParallelIdat::new(row_len, bpp, height).rows_per_batch;
                assert!(grouped.len() >= height.div_ceil(batch), "{groups:?}");
            }
        }
    }

    /// Filtering a stretch of a row gives the same bytes as filtering the whole row, so the
    /// sampled cost sees what the written row will hold.
    #[test]
    fn a_stretch_filters_like_the_whole_row() {
        let n = 5000;
        let raw: Vec<u8> = (0..n)
            .map(|i| (i * 7 % 251) as u8 ^ (i / 13) as u8)
            .collect();
        let prev: Vec<u8> = (0..n).map(|i| (i * 3 % 241) as u8).collect();
        for bpp in [1, 3, 6] {
            for filter in 0..5 {
                let mut whole = vec![0; n];
                apply(filter, &raw, &prev, bpp, 0..n, &mut whole);
                for range in [0..2, 0..512, 2..515, 2043..2560, 4900..5000] {
                    let mut part = vec![0; range.len()];
                    apply(filter, &raw, &prev, bpp, range.clone(), &mut part);
                    assert_eq!(part, whole[range.clone()], "{filter} {bpp} {range:?}");
                }
            }
        }
    }
}
