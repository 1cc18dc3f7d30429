//! PNG image data on every core (the fast level, compression 1): rows are collected in
//! batches, each batch is cut into segments of a fixed number of rows (from the row size
//! only), and the segments are filtered and deflated in parallel on the library pool
//! ([`super::deflate`]), then written in order as IDAT chunks of one zlib stream. The bytes
//! depend only on the pixels, never on the thread count.
//!
//! Filters: per row the one of None, Sub, Up, Average and Paeth with the least sum of absolute
//! signed bytes (libpng's heuristic), not counting bytes that repeat the previous pixel's.

use std::io::Write;

use rayon::prelude::*;

use super::deflate::{self, adler32_combine, ZLIB_HEADER};

/// Filtered bytes per segment (rounded to whole rows): large enough that the Huffman tables
/// cost nothing, small enough that a 4K frame gives every core many segments.
const SEGMENT_BYTES: usize = 256 << 10;

/// The filter heuristic's cost of a filtered row: the sum of absolute signed bytes (libpng's
/// measure) over the bytes that differ from the byte one pixel (`bpp` bytes) before. Bytes
/// that repeat the previous pixel's cost nothing, since runs of repeated pixels become long
/// matches: on repeating patterns (gradients, synthetic images) this picks the filter that
/// makes the row periodic, where the plain sum picked Paeth and left the output 4x larger.
fn cost(row: &[u8], bpp: usize) -> u64 {
    let head: u64 = row[..bpp.min(row.len())]
        .iter()
        .map(|&b| (b as i8).unsigned_abs() as u64)
        .sum();
    let rest = row.get(bpp..).unwrap_or_default();
    let tail: u64 = rest
        .chunks(4096)
        .zip(row.chunks(4096))
        .map(|(part, before)| {
            part.iter()
                .zip(before)
                .map(|(&b, &p)| {
                    if b == p {
                        0
                    } else {
                        (b as i8).unsigned_abs() as u32
                    }
                })
                .sum::<u32>() as u64
        })
        .sum();
    head + tail
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

/// Filters `raw` (whose row above is `prev`) into `out` (filter byte + row) with the filter
/// of least cost; `scratch` holds the four candidate rows.
fn filter_row(raw: &[u8], prev: &[u8], bpp: usize, out: &mut [u8], scratch: &mut [Vec<u8>; 4]) {
    let n = raw.len();
    for s in scratch.iter_mut() {
        s.resize(n, 0);
    }
    let [sub, up, avg, pth] = scratch;
    let head = bpp.min(n);
    for i in 0..head {
        let (x, b) = (raw[i], prev[i]);
        sub[i] = x;
        up[i] = x.wrapping_sub(b);
        avg[i] = x.wrapping_sub(b / 2);
        pth[i] = x.wrapping_sub(b);
    }
    // Each output byte depends on the raw rows only, so the loop has no carried dependency.
    let inputs = raw[head..]
        .iter()
        .zip(&raw[..n - head])
        .zip(prev[head..].iter().zip(&prev[..n - head]));
    let outputs = sub[head..]
        .iter_mut()
        .zip(up[head..].iter_mut())
        .zip(avg[head..].iter_mut().zip(pth[head..].iter_mut()));
    for (((&x, &a), (&b, &c)), ((s, u), (v, p))) in inputs.zip(outputs) {
        *s = x.wrapping_sub(a);
        *u = x.wrapping_sub(b);
        *v = x.wrapping_sub(((a as u16 + b as u16) >> 1) as u8);
        *p = x.wrapping_sub(paeth(a, b, c));
    }
    let candidates: [&[u8]; 5] = [raw, sub, up, avg, pth];
    let mut best = (u64::MAX, 0);
    for (k, row) in candidates.iter().enumerate() {
        let c = cost(row, bpp);
        if c < best.0 {
            best = (c, k);
        }
    }
    out[0] = best.1 as u8;
    out[1..].copy_from_slice(candidates[best.1]);
}

/// One compressed segment: its deflate bytes, the Adler-32 of its filtered bytes and their
/// count.
struct Segment {
    deflated: Vec<u8>,
    adler: u32,
    len: u64,
}

/// Filters and compresses `rows` (packed big-endian rows of `row_len` bytes) whose row above
/// is `prev`.
fn segment(rows: &[u8], prev: &[u8], row_len: usize, bpp: usize, last: bool) -> Segment {
    let count = rows.len() / row_len;
    let mut filtered = vec![0u8; count * (row_len + 1)];
    let mut scratch: [Vec<u8>; 4] = Default::default();
    for (y, out) in filtered.chunks_exact_mut(row_len + 1).enumerate() {
        let above = if y == 0 {
            prev
        } else {
            &rows[(y - 1) * row_len..y * row_len]
        };
        filter_row(
            &rows[y * row_len..(y + 1) * row_len],
            above,
            bpp,
            out,
            &mut scratch,
        );
    }
    Segment {
        adler: libdeflater::adler32(&filtered),
        len: filtered.len() as u64,
        deflated: deflate::compress_segment(&filtered, last),
    }
}

/// The IDAT stream of one image, fed a row at a time.
pub(crate) struct ParallelIdat {
    row_len: usize,
    bpp: usize,
    rows_per_segment: usize,
    rows_per_batch: usize,
    rows_left: usize,
    /// The last row of the previous batch (zeros above the first row).
    prev: Vec<u8>,
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
            ..ParallelIdat::part(row_len, bpp, height, 0..height, vec![0; row_len])
        }
    }

    /// The chunks of rows `rows` of a `height`-row image (`rows.start` a multiple of
    /// [`segment_rows`]) whose row above is `above` (zeros for the first row): the same
    /// chunks the whole image's stream has for those rows, except that the Adler-32 closing
    /// the stream is left to whoever joins the parts (see [`ParallelIdat::checksum`]).
    pub(crate) fn part(
        row_len: usize,
        bpp: usize,
        height: usize,
        rows: std::ops::Range<usize>,
        above: Vec<u8>,
    ) -> ParallelIdat {
        let rows_per_segment = segment_rows(row_len);
        debug_assert!(rows.start % rows_per_segment == 0 && above.len() == row_len);
        // Batch size only schedules work (it never changes the bytes); capped so one IDAT chunk
        // stays far below PNG's 2^31 limit.
        let rows_per_batch = rows_per_segment * 4 * crate::threads::num_threads().clamp(1, 64);
        ParallelIdat {
            row_len,
            bpp,
            rows_per_segment,
            rows_per_batch,
            rows_left: rows.len(),
            prev: above,
            batch: Vec::new(),
            adler: 1,
            len: 0,
            started: rows.start > 0,
            ends: rows.end == height,
            whole: false,
        }
    }

    /// The row above the stream's first row, to be filled by the caller before any row.
    pub(crate) fn above_mut(&mut self) -> &mut [u8] {
        &mut self.prev
    }

    /// The Adler-32 and length of the filtered bytes compressed so far.
    pub(crate) fn checksum(&self) -> (u32, u64) {
        (self.adler, self.len)
    }

    /// The buffer the next row goes into (big-endian samples), to be filled by the caller.
    pub(crate) fn next_row(&mut self) -> &mut [u8] {
        let at = self.batch.len();
        self.batch.resize(at + self.row_len, 0);
        self.rows_left = self.rows_left.saturating_sub(1);
        &mut self.batch[at..]
    }

    /// Compresses the pending rows when a batch is full or the image is complete and
    /// returns the IDAT chunks to write, in order (none when nothing is due yet).
    pub(crate) fn take_chunks(&mut self) -> std::io::Result<Vec<Vec<u8>>> {
        let pending = self.batch.len() / self.row_len;
        let done = self.rows_left == 0;
        if pending < self.rows_per_batch && !done {
            return Ok(Vec::new());
        }
        let (row_len, bpp, prev) = (self.row_len, self.bpp, &self.prev);
        let ends = done && self.ends;
        let pieces: Vec<&[u8]> = self.batch.chunks(self.rows_per_segment * row_len).collect();
        let last_piece = pieces.len().saturating_sub(1);
        let segments = crate::threads::install(|| {
            pieces
                .par_iter()
                .enumerate()
                .map(|(i, rows)| {
                    let above = if i == 0 {
                        &prev[..]
                    } else {
                        &pieces[i - 1][pieces[i - 1].len() - row_len..]
                    };
                    segment(rows, above, row_len, bpp, ends && i == last_piece)
                })
                .collect::<Vec<Segment>>()
        })
        .map_err(std::io::Error::other)?;
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
            chunks.push(chunk);
        }
        if done && self.whole {
            if chunks.is_empty() {
                chunks.push(deflate::EMPTY_FINAL_BLOCK.to_vec());
            }
            if let Some(last) = chunks.last_mut() {
                last.extend_from_slice(&self.adler.to_be_bytes());
            }
        }
        if pending > 0 {
            let start = self.batch.len() - row_len;
            self.prev.copy_from_slice(&self.batch[start..]);
        }
        self.batch.clear();
        Ok(chunks)
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
