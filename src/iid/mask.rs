//! Packed bit masks (row-major, most significant bit first, rows not byte-aligned: the
//! layout of region bits in the file and of packed masks across the API) and the
//! 8-connected component split the writer uses, in the reference's order.

use super::format::{BBox, REGION_HEAD};

/// Loads up to 8 bytes at `byte` as a big-endian word, zero-padded past the end of `bits`.
fn load_be(bits: &[u8], byte: usize) -> u64 {
    let mut buf = [0u8; 8];
    if let Some(src) = bits.get(byte..) {
        let n = src.len().min(8);
        buf[..n].copy_from_slice(&src[..n]);
    }
    u64::from_be_bytes(buf)
}

/// The `n` (≤ 57) bits starting at bit `bit`, right-aligned, first bit most significant.
/// Bits past the end of `bits` read as 0.
pub fn read_bits(bits: &[u8], bit: u64, n: u32) -> u64 {
    debug_assert!(n <= 57);
    if n == 0 {
        return 0;
    }
    let word = load_be(bits, (bit / 8) as usize);
    (word << (bit % 8)) >> (64 - n)
}

/// ORs `out.len()` bits of `bits`, from bit `bit` on, into `out`, one byte (0 or 1) per bit.
pub fn unpack_bits(bits: &[u8], bit: u64, out: &mut [u8]) {
    for (k, chunk) in out.chunks_mut(56).enumerate() {
        let n = chunk.len() as u32;
        let v = read_bits(bits, bit + 56 * k as u64, n);
        for (j, px) in chunk.iter_mut().enumerate() {
            *px |= ((v >> (n - 1 - j as u32)) & 1) as u8;
        }
    }
}

/// The bit at index `i` (false past the end).
pub fn get_bit(bits: &[u8], i: u64) -> bool {
    bits.get((i / 8) as usize)
        .is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
}

/// Number of set bits among `n` bits starting at `bit`.
pub fn count_ones(bits: &[u8], bit: u64, n: u64) -> u64 {
    if bit % 8 == 0 {
        // Byte-aligned (a whole region): count whole bytes, then the partial last one.
        let start = ((bit / 8) as usize).min(bits.len());
        let full = ((n / 8) as usize).min(bits.len() - start);
        let whole: u64 = bits[start..start + full]
            .iter()
            .map(|b| b.count_ones() as u64)
            .sum();
        return whole + read_bits(bits, bit + full as u64 * 8, (n % 8) as u32).count_ones() as u64;
    }
    let mut total = 0u64;
    let mut done = 0u64;
    while done < n {
        let k = (n - done).min(56) as u32;
        total += read_bits(bits, bit + done, k).count_ones() as u64;
        done += k as u64;
    }
    total
}

/// True if any of the `n` bits starting at `bit` is set.
pub fn any_ones(bits: &[u8], bit: u64, n: u64) -> bool {
    let mut done = 0u64;
    while done < n {
        let k = (n - done).min(56) as u32;
        if read_bits(bits, bit + done, k) != 0 {
            return true;
        }
        done += k as u64;
    }
    false
}

/// ORs `n` bits of `src` starting at `src_bit` into `dst` starting at `dst_bit`.
/// `dst` must hold `dst_bit + n` bits.
pub fn or_bits(dst: &mut [u8], dst_bit: u64, src: &[u8], src_bit: u64, n: u64) {
    let mut done = 0u64;
    while done < n {
        let d = dst_bit + done;
        let off = (d % 8) as u32;
        let k = ((n - done) as u32).min(8 - off);
        let v = read_bits(src, src_bit + done, k) as u8;
        dst[(d / 8) as usize] |= v << (8 - off - k);
        done += k as u64;
    }
}

/// Sets the `n` bits of `dst` starting at `bit`.
pub fn set_bits(dst: &mut [u8], bit: u64, n: u64) {
    let mut done = 0u64;
    while done < n {
        let d = bit + done;
        let off = (d % 8) as u32;
        let k = ((n - done) as u32).min(8 - off);
        let ones = ((1u16 << k) - 1) as u8;
        dst[(d / 8) as usize] |= ones << (8 - off - k);
        done += k as u64;
    }
}

/// A bit raster whose rows start on 64-bit word boundaries (MSB first in each word), used
/// to AND two masks row by row.
pub struct Raster {
    words_per_row: usize,
    words: Vec<u64>,
}

impl Raster {
    /// An all-zero raster of `height` rows of `width` bits.
    pub fn new(height: usize, width: usize) -> Raster {
        let words_per_row = width.div_ceil(64);
        Raster {
            words_per_row,
            words: vec![0; words_per_row * height],
        }
    }

    /// ORs `n` bits of `src` (from `src_bit`) into row `row` at column `col`.
    pub fn or_run(&mut self, row: usize, col: usize, src: &[u8], src_bit: u64, n: usize) {
        let base = row * self.words_per_row;
        let mut done = 0usize;
        while done < n {
            let k = (n - done).min(57) as u32;
            let v = read_bits(src, src_bit + done as u64, k);
            if v != 0 {
                let c = col + done;
                let (w, off) = (base + c / 64, (c % 64) as u32);
                let top = v << (64 - k);
                self.words[w] |= top >> off;
                if off + k > 64 {
                    self.words[w + 1] |= top << (64 - off);
                }
            }
            done += k as usize;
        }
    }

    /// Number of bits set in both rasters (same shape).
    pub fn and_count(&self, other: &Raster) -> u64 {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a & b).count_ones() as u64)
            .sum()
    }
}

/// One horizontal run of true pixels: row `row`, columns `c0..c1`.
#[derive(Clone, Copy, Debug)]
struct Run {
    row: u32,
    c0: u32,
    c1: u32,
}

/// A connected component found by [`components`]: its tight box relative to the mask and
/// its own pixels packed (other components' pixels inside its box are 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// Tight box relative to the mask's origin.
    pub bbox: BBox,
    /// Number of pixels.
    pub area: u32,
    /// Packed bits of the box, `ceil(h * w / 8)` bytes.
    pub bits: Vec<u8>,
}

/// Where the pixels of a mask come from.
#[derive(Clone, Copy, Debug)]
pub enum MaskData<'a> {
    /// One byte per pixel, row-major, non-zero = true.
    Bytes(&'a [u8]),
    /// Packed bits, row-major, MSB first, rows not byte-aligned.
    Packed(&'a [u8]),
}

impl MaskData<'_> {
    /// Bytes the mask needs for `pixels` pixels.
    pub fn required_len(&self, pixels: u64) -> u64 {
        match self {
            MaskData::Bytes(_) => pixels,
            MaskData::Packed(_) => pixels.div_ceil(8),
        }
    }

    /// Bytes the caller gave.
    pub fn len(&self) -> usize {
        match self {
            MaskData::Bytes(b) | MaskData::Packed(b) => b.len(),
        }
    }

    /// True when no byte was given.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the mask's `pixels` pixels into `out` as packed bits (the `Packed` layout)
    /// followed by 8 zero bytes, so that [`bits_at`] may read 8 bytes at any pixel.
    fn pack_into(&self, pixels: usize, out: &mut Vec<u8>) {
        out.clear();
        match self {
            MaskData::Bytes(b) => pack_bytes(&b[..pixels], out),
            MaskData::Packed(b) => out.extend_from_slice(&b[..pixels.div_ceil(8)]),
        }
        out.extend_from_slice(&[0; 8]);
    }
}

/// Appends `bytes` (one per pixel, non-zero = true) to `out` as packed bits, the
/// [`MaskData::Packed`] layout: `ceil(len / 8)` bytes, the last one zero-padded.
pub fn pack_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(8), 0);
    let dst = &mut out[start..];
    let (whole, tail) = bytes.split_at(bytes.len() / 64 * 64);
    for (src, d) in whole.chunks_exact(64).zip(dst.chunks_exact_mut(8)) {
        d.copy_from_slice(&pack64(src.try_into().expect("64 bytes")));
    }
    if !tail.is_empty() {
        // The last pixels, zero-padded to a whole chunk.
        let mut last = [0u8; 64];
        last[..tail.len()].copy_from_slice(tail);
        let rest = &mut dst[whole.len() / 8..];
        let n = rest.len();
        rest.copy_from_slice(&pack64(&last)[..n]);
    }
}

/// Packs 64 mask bytes into 8 bytes (the first byte in the most significant bit): four SSE2 compares and byte-mask
/// extractions give the bits first pixel lowest, then each byte's bits are reversed.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn pack64(src: &[u8; 64]) -> [u8; 8] {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_setzero_si128,
    };
    let mut zero = 0u64;
    for (i, part) in src.chunks_exact(16).enumerate() {
        // SAFETY: the intrinsics only need SSE2, which this build enables (the cfg above);
        // the load reads the 16 bytes of `part` (unaligned loads are allowed).
        let z = unsafe {
            let v = _mm_loadu_si128(part.as_ptr().cast());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) as u16
        };
        zero |= (z as u64) << (16 * i);
    }
    // Bit i is pixel i; the file wants pixel 8k in the top bit of byte k.
    (!zero).reverse_bits().swap_bytes().to_le_bytes()
}

/// Packs 64 mask bytes into 8 bytes (the first byte in the most significant bit).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn pack64(src: &[u8; 64]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (d, s) in out.iter_mut().zip(src.chunks_exact(8)) {
        *d = pack8(u64::from_le_bytes(s.try_into().expect("8 bytes")));
    }
    out
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
const HIGHS: u64 = 0x8080_8080_8080_8080;
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
/// Packs 8 mask bytes (little-endian in `v`, non-zero = true) into one byte, the first
/// byte in the most significant bit.
fn pack8(v: u64) -> u8 {
    // The high bit of each byte is set iff the byte is non-zero (no carry crosses bytes).
    let flags = (((v & LOWS) + LOWS) | v) & HIGHS;
    // Moves byte i's flag to bit 63 - i; the eight products land on distinct bits.
    ((flags >> 7).wrapping_mul(0x8040_2010_0804_0201) >> 56) as u8
}

/// The `n` (1..=56) bits of `padded` starting at bit `bit`, right-aligned, first bit most
/// significant; `padded` holds at least 8 bytes from byte `bit / 8` on.
fn bits_at(padded: &[u8], bit: usize, n: u32) -> u64 {
    let b = bit / 8;
    let word = u64::from_be_bytes(padded[b..b + 8].try_into().expect("8 bytes"));
    (word << (bit % 8)) >> (64 - n)
}

/// Appends the runs of true pixels of a `height × width` packed mask (padded as
/// [`MaskData::pack_into`] leaves it) to `runs`, row by row, left to right.
fn find_runs(padded: &[u8], height: usize, width: usize, runs: &mut Vec<Run>) {
    runs.clear();
    for r in 0..height {
        let base = r * width;
        // Start column of a run still open at the end of the previous chunk.
        let mut open: Option<usize> = None;
        let mut c = 0usize;
        while c < width {
            let n = (width - c).min(56) as u32;
            // Left-aligned: the chunk's first pixel is bit 63; bits past the chunk are 0.
            let mut x = bits_at(padded, base + c, n) << (64 - n);
            let mut pos = 0u32;
            loop {
                let start = match open {
                    Some(s) => s,
                    None if x == 0 => break,
                    None => {
                        let z = x.leading_zeros();
                        pos += z;
                        x <<= z;
                        c + pos as usize
                    }
                };
                // Leading ones; they stop at the chunk's end, whose bits are 0.
                let ones = (!x).leading_zeros();
                pos += ones;
                if pos == n {
                    open = Some(start);
                    break;
                }
                x <<= ones;
                runs.push(Run {
                    row: r as u32,
                    c0: start as u32,
                    c1: (c + pos as usize) as u32,
                });
                open = None;
            }
            c += n as usize;
        }
        if let Some(start) = open {
            runs.push(Run {
                row: r as u32,
                c0: start as u32,
                c1: width as u32,
            });
        }
    }
}

/// Writes bit strings, most significant bit first, into consecutive bytes of a zeroed slice
/// that has 8 bytes of room past the last bit written.
struct BitSink<'a> {
    out: &'a mut [u8],
    /// The byte the next bit goes to.
    at: usize,
    /// The bits of byte `at` written so far, left-aligned.
    acc: u64,
    held: u32,
}

impl<'a> BitSink<'a> {
    fn new(out: &'a mut [u8]) -> BitSink<'a> {
        BitSink {
            out,
            at: 0,
            acc: 0,
            held: 0,
        }
    }

    /// Appends the low `n` (1..=56) bits of `v` (higher bits 0): one 8-byte store, which
    /// also writes the partial last byte (and zeros after it).
    fn put(&mut self, v: u64, n: u32) {
        // Fewer than 8 bits are held, so the 64-bit accumulator keeps every new bit.
        self.acc |= v << (64 - self.held - n);
        self.held += n;
        self.out[self.at..self.at + 8].copy_from_slice(&self.acc.to_be_bytes());
        // At most 63 bits are held here: at most 7 whole bytes move out.
        let bytes = self.held / 8;
        self.at += bytes as usize;
        self.acc <<= bytes * 8;
        self.held -= bytes * 8;
    }
}

/// The box and area of a mask at most 56 pixels wide (packed and padded) whose true pixels
/// form one component in the simplest way: one run on each of consecutive rows, each
/// touching the one above (8-connected). `None` for any other mask.
fn narrow_chain(padded: &[u8], height: usize, width: usize) -> Option<(BBox, u32)> {
    if width == 0 || width > 56 {
        return None;
    }
    let n = width as u32;
    // (first row, rows after the last non-empty one seen, previous run, column span, area)
    let (mut first, mut end) = (None, 0usize);
    let (mut prev, mut span, mut area) = ((0u32, 0u32), (u32::MAX, 0u32), 0u32);
    for r in 0..height {
        // Left-aligned: column 0 is bit 63.
        let x = bits_at(padded, r * width, n) << (64 - n);
        if x == 0 {
            continue;
        }
        let c0 = x.leading_zeros();
        let c1 = c0 + (!(x << c0)).leading_zeros();
        let touches = c0 <= prev.1 && prev.0 <= c1;
        match first {
            None => first = Some(r),
            // Not one run, a gap above, or no contact with the run above.
            Some(_) if r != end || !touches => return None,
            Some(_) => {}
        }
        if x != (u64::MAX >> c0) ^ (u64::MAX >> c1) {
            return None;
        }
        prev = (c0, c1);
        span = (span.0.min(c0), span.1.max(c1));
        area += c1 - c0;
        end = r + 1;
    }
    let first = first?;
    Some((
        BBox::new(first as u16, span.0 as u16, end as u16, span.1 as u16),
        area,
    ))
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[i as usize];
        parent[i as usize] = parent[p as usize];
        i = p;
    }
    i
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        // The root is the earlier run, so a component's root is its first run.
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi as usize] = lo;
    }
}

/// Reusable working memory for splitting masks into components (keeps repeated splits
/// free of allocations).
#[derive(Debug, Default)]
pub struct Labeler {
    runs: Vec<Run>,
    parent: Vec<u32>,
    comp_of: Vec<u32>,
    offsets: Vec<usize>,
    run_comp: Vec<u32>,
    acc: Vec<[u32; 5]>,
    comps: Vec<(BBox, u32)>,
    /// The mask being labeled, packed and padded ([`MaskData::pack_into`]).
    packed: Vec<u8>,
    width: usize,
}

impl Labeler {
    /// Labels a mask: fills `comps` (tight box relative to the mask, pixel count) in scan
    /// order of each component's first pixel, and `runs` and `run_comp` unless the mask is
    /// one narrow chain (then `paint` needs no runs).
    fn label(&mut self, mask: MaskData<'_>, height: usize, width: usize) {
        mask.pack_into(height * width, &mut self.packed);
        self.width = width;
        self.comps.clear();
        if let Some(one) = narrow_chain(&self.packed, height, width) {
            // The common shape needs neither runs nor union-find: `paint` copies its bits.
            self.comps.push(one);
            return;
        }
        find_runs(&self.packed, height, width, &mut self.runs);
        let runs = &self.runs;
        let parent = &mut self.parent;
        parent.clear();
        parent.extend(0..runs.len() as u32);
        // The previous row's runs are prev..cur_start; both rows are sorted by column, so
        // one forward pointer into the previous row suffices.
        let (mut prev, mut cur_start) = (0usize, 0usize);
        for i in 0..runs.len() {
            if i == 0 || runs[i].row != runs[i - 1].row {
                let row_before = runs[i].row.checked_sub(1);
                prev = if i > 0 && Some(runs[i - 1].row) == row_before {
                    cur_start
                } else {
                    i
                };
                cur_start = i;
            }
            let r = runs[i];
            // Previous-row runs ending left of this run's reach cannot touch later runs.
            while prev < cur_start && runs[prev].c1 < r.c0 {
                prev += 1;
            }
            let mut j = prev;
            // 8-connected: touching by an edge or a corner.
            while j < cur_start && runs[j].c0 <= r.c1 {
                union(parent, i as u32, j as u32);
                j += 1;
            }
        }
        // Roots are first runs; number components in order of their first run.
        self.comp_of.clear();
        self.comp_of.resize(runs.len(), u32::MAX);
        self.run_comp.clear();
        // Boxes accumulate as whole u32 words ([minr, minc, maxr, maxc, area]): narrow
        // field updates would stall store forwarding in this loop.
        let acc = &mut self.acc;
        acc.clear();
        for (i, run) in runs.iter().enumerate() {
            let root = find(parent, i as u32) as usize;
            if self.comp_of[root] == u32::MAX {
                self.comp_of[root] = acc.len() as u32;
                acc.push([run.row, run.c0, run.row + 1, run.c1, 0]);
            }
            let c = self.comp_of[root];
            self.run_comp.push(c);
            let a = &mut acc[c as usize];
            a[1] = a[1].min(run.c0);
            a[3] = a[3].max(run.c1);
            a[2] = a[2].max(run.row + 1);
            a[4] += run.c1 - run.c0;
        }
        self.comps.extend(acc.iter().map(|a| {
            (
                BBox::new(a[0] as u16, a[1] as u16, a[2] as u16, a[3] as u16),
                a[4],
            )
        }));
    }

    /// Writes the packed bits of every component of the last labeled mask into `out`,
    /// component `c` at byte `starts[c]` (zeroed, exactly its box's size, the last
    /// component ending at the end of `out`).
    fn paint(&self, out: &mut Vec<u8>, starts: &[usize]) {
        if let [(b, _)] = self.comps[..] {
            // The only component: its bits are the mask's bits inside its box, copied row by
            // row in pieces of up to 56 bits (the sink's stores need 8 bytes of room).
            let end = out.len();
            out.resize(end + 8, 0);
            let mut sink = BitSink::new(&mut out[starts[0]..]);
            for r in b.minr as usize..b.maxr as usize {
                let mut col = b.minc as usize;
                while col < b.maxc as usize {
                    let n = (b.maxc as usize - col).min(56) as u32;
                    sink.put(bits_at(&self.packed, r * self.width + col, n), n);
                    col += n as usize;
                }
            }
            out.truncate(end);
            return;
        }
        for (run, &c) in self.runs.iter().zip(&self.run_comp) {
            let (b, _) = self.comps[c as usize];
            let (bit, n) = run_bits(run, &b);
            set_bits(&mut out[starts[c as usize]..], bit, n);
        }
    }

    /// Splits a `height × width` mask into its 8-connected components, ordered by the
    /// position where a row-by-row, left-to-right scan first meets each one
    /// (scikit-image's `label` order, which the reference writes). The caller checks that
    /// `mask` holds `height × width` pixels.
    pub fn components(
        &mut self,
        mask: MaskData<'_>,
        height: usize,
        width: usize,
    ) -> Vec<Component> {
        self.label(mask, height, width);
        let mut starts = Vec::with_capacity(self.comps.len());
        let mut total = 0usize;
        for (bbox, _) in &self.comps {
            starts.push(total);
            total += bbox.pixels().div_ceil(8) as usize;
        }
        let mut bits = vec![0u8; total];
        self.paint(&mut bits, &starts);
        let comps = self
            .comps
            .iter()
            .zip(&starts)
            .map(|(&(bbox, area), &at)| Component {
                bbox,
                area,
                bits: bits[at..at + bbox.pixels().div_ceil(8) as usize].to_vec(),
            })
            .collect();
        comps
    }

    /// Appends the regions of a mask placed at (`minr`, `minc`) to `out` in the file's
    /// layout (length, absolute box, packed bits) and returns the total pixel count.
    pub fn encode_regions(
        &mut self,
        mask: MaskData<'_>,
        height: usize,
        width: usize,
        (minr, minc): (u16, u16),
        out: &mut Vec<u8>,
    ) -> u64 {
        self.label(mask, height, width);
        // Where each component's bits start in `out`.
        self.offsets.clear();
        let mut area = 0u64;
        for &(b, a) in &self.comps {
            let bytes = b.pixels().div_ceil(8) as usize;
            out.extend_from_slice(&((REGION_HEAD + bytes) as u32).to_le_bytes());
            BBox::new(b.minr + minr, b.minc + minc, b.maxr + minr, b.maxc + minc).write(out);
            self.offsets.push(out.len());
            out.resize(out.len() + bytes, 0);
            area += a as u64;
        }
        self.paint(out, &self.offsets);
        area
    }
}

/// The bit position and length of `run` inside the packed mask of box `b`.
fn run_bits(run: &Run, b: &BBox) -> (u64, u64) {
    let bit = (run.row - b.minr as u32) as u64 * b.width() as u64 + (run.c0 - b.minc as u32) as u64;
    (bit, (run.c1 - run.c0) as u64)
}

/// [`Labeler::components`] with fresh working memory.
pub fn components(mask: MaskData<'_>, height: usize, width: usize) -> Vec<Component> {
    Labeler::default().components(mask, height, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(rows: &[&str]) -> (Vec<u8>, usize, usize) {
        let w = rows[0].len();
        let data = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| (b == b'1') as u8))
            .collect();
        (data, rows.len(), w)
    }

    #[test]
    fn diagonal_is_one_component_and_scan_order_holds() {
        let (m, h, w) = mask(&["1001", "0100", "0001"]);
        let comps = components(MaskData::Bytes(&m), h, w);
        let boxes: Vec<_> = comps.iter().map(|c| c.bbox.to_array()).collect();
        assert_eq!(boxes, vec![[0, 0, 2, 2], [0, 3, 1, 4], [2, 3, 3, 4]]);
        assert_eq!(comps[0].bits, vec![0x90]);
        assert_eq!(comps.iter().map(|c| c.area).sum::<u32>(), 4);
    }

    #[test]
    fn u_shape_merges_late_and_keeps_first_position() {
        // Two arms joined at the bottom: one component; the island starts later in scan order.
        let (m, h, w) = mask(&["10100", "10101", "11100"]);
        let comps = components(MaskData::Bytes(&m), h, w);
        assert_eq!(comps.len(), 2);
        assert_eq!(comps[0].bbox.to_array(), [0, 0, 3, 3]);
        assert_eq!(comps[1].bbox.to_array(), [1, 4, 2, 5]);
        let packed = [0b1010_0101, 0b0000_0000]; // rows 101001, 010000
        let bits_comps = components(MaskData::Packed(&packed), 2, 6);
        assert_eq!(bits_comps.len(), 2);
    }

    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    #[test]
    fn pack8_sets_one_bit_per_nonzero_byte() {
        for i in 0..8 {
            for v in [1u8, 0x80, 0x7f, 0xff, 0x10] {
                let mut b = [0u8; 8];
                b[i] = v;
                assert_eq!(pack8(u64::from_le_bytes(b)), 0x80 >> i);
                let mut b = [0xffu8; 8];
                b[i] = 0;
                assert_eq!(pack8(u64::from_le_bytes(b)), !(0x80u8 >> i));
            }
        }
    }

    #[test]
    fn pack_bytes_matches_bit_by_bit_packing() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in (0..80usize).chain([255, 256, 257, 1000]) {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    // Zero half the time, else any value (0x80 and 0x01 included).
                    [0, 1, 0x80, 0xff, 0, 0, (seed >> 40) as u8, 0][(seed >> 61) as usize]
                })
                .collect();
            let mut want = vec![0u8; len.div_ceil(8)];
            for (i, &b) in bytes.iter().enumerate() {
                if b != 0 {
                    want[i / 8] |= 0x80 >> (i % 8);
                }
            }
            let mut out = vec![7u8];
            pack_bytes(&bytes, &mut out);
            assert_eq!(out[0], 7, "appends");
            assert_eq!(&out[1..], &want[..], "{len} bytes");
        }
    }

    #[test]
    fn runs_cross_chunk_boundaries() {
        let w = 130;
        let on = |c: usize| (50..60).contains(&c) || (112..113).contains(&c) || c >= 127;
        let row: Vec<u8> = (0..w).map(|c| on(c) as u8 * 3).collect();
        let mut packed = Vec::new();
        MaskData::Bytes(&row).pack_into(w, &mut packed);
        let mut runs = Vec::new();
        find_runs(&packed, 1, w, &mut runs);
        let got: Vec<_> = runs.iter().map(|r| (r.c0, r.c1)).collect();
        assert_eq!(got, vec![(50, 60), (112, 113), (127, 130)]);
        let full = vec![1u8; 112];
        MaskData::Bytes(&full).pack_into(112, &mut packed);
        find_runs(&packed, 2, 56, &mut runs);
        let got: Vec<_> = runs.iter().map(|r| (r.row, r.c0, r.c1)).collect();
        assert_eq!(got, vec![(0, 0, 56), (1, 0, 56)]);
    }

    /// Components by flood fill, in scan order of their first pixel.
    fn naive(m: &[u8], h: usize, w: usize) -> Vec<Component> {
        let mut label = vec![usize::MAX; h * w];
        let mut comps = Vec::new();
        for start in 0..h * w {
            if m[start] == 0 || label[start] != usize::MAX {
                continue;
            }
            let id = comps.len();
            let mut stack = vec![start];
            let mut px = Vec::new();
            label[start] = id;
            while let Some(p) = stack.pop() {
                px.push(p);
                let (r, c) = ((p / w) as i64, (p % w) as i64);
                for (dr, dc) in (-1..=1).flat_map(|a| (-1..=1).map(move |b| (a, b))) {
                    let (nr, nc) = (r + dr, c + dc);
                    if nr < 0 || nc < 0 || nr >= h as i64 || nc >= w as i64 {
                        continue;
                    }
                    let q = nr as usize * w + nc as usize;
                    if m[q] != 0 && label[q] == usize::MAX {
                        label[q] = id;
                        stack.push(q);
                    }
                }
            }
            let rows = px.iter().map(|p| p / w);
            let cols = px.iter().map(|p| p % w);
            let bbox = BBox::new(
                rows.clone().min().unwrap() as u16,
                cols.clone().min().unwrap() as u16,
                rows.max().unwrap() as u16 + 1,
                cols.max().unwrap() as u16 + 1,
            );
            let mut bits = vec![0u8; bbox.pixels().div_ceil(8) as usize];
            for p in &px {
                let i = (p / w - bbox.minr as usize) * bbox.width() + (p % w - bbox.minc as usize);
                bits[i / 8] |= 0x80 >> (i % 8);
            }
            comps.push(Component {
                bbox,
                area: px.len() as u32,
                bits,
            });
        }
        comps
    }

    #[test]
    fn random_masks_match_flood_fill() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut labeler = Labeler::default();
        for case in 0..400 {
            let h = 1 + (next() % 12) as usize;
            let w = [1, 7, 8, 55, 56, 57, 64, 113, 130][case % 9];
            // From sparse noise to one blob (solid rows): one or many components.
            let density = next() % 100;
            let mut m: Vec<u8> = (0..h * w)
                .map(|_| ((next() % 100) < density) as u8 * (1 + (next() % 255) as u8))
                .collect();
            if case % 4 == 0 {
                // Ellipses, whole or cut by a blank row or column: chains and near-chains.
                let (cy, cx) = (h as f64 / 2.0, w as f64 / 2.0);
                let cut = (next() % 3, next() as usize);
                for (i, px) in m.iter_mut().enumerate() {
                    let (dy, dx) = (
                        ((i / w) as f64 + 0.5 - cy) / cy,
                        ((i % w) as f64 + 0.5 - cx) / cx,
                    );
                    let blank = match cut.0 {
                        0 => i / w == cut.1 % h,
                        1 => i % w == cut.1 % w,
                        _ => false,
                    };
                    *px = (dy * dy + dx * dx < 1.0 && !blank) as u8;
                }
            }
            let want = naive(&m, h, w);
            assert_eq!(
                labeler.components(MaskData::Bytes(&m), h, w),
                want,
                "{h}x{w}"
            );
            let mut packed = vec![0u8; (h * w).div_ceil(8)];
            for (i, &v) in m.iter().enumerate() {
                if v != 0 {
                    packed[i / 8] |= 0x80 >> (i % 8);
                }
            }
            assert_eq!(labeler.components(MaskData::Packed(&packed), h, w), want);
            let mut out = Vec::new();
            let area = labeler.encode_regions(MaskData::Bytes(&m), h, w, (3, 5), &mut out);
            assert_eq!(area, want.iter().map(|c| c.area as u64).sum::<u64>());
            let mut expect = Vec::new();
            for c in &want {
                expect.extend_from_slice(&((REGION_HEAD + c.bits.len()) as u32).to_le_bytes());
                let b = c.bbox;
                BBox::new(b.minr + 3, b.minc + 5, b.maxr + 3, b.maxc + 5).write(&mut expect);
                expect.extend_from_slice(&c.bits);
            }
            assert_eq!(out, expect);
        }
    }

    #[test]
    fn bit_helpers() {
        let bits = [0b1011_0000, 0xff, 0x01];
        assert_eq!(read_bits(&bits, 0, 4), 0b1011);
        assert_eq!(count_ones(&bits, 0, 24), 12);
        assert_eq!(count_ones(&bits, 0, 3), 2);
        assert_eq!(count_ones(&bits, 8, 12), 8);
        assert_eq!(count_ones(&bits, 1, 14), 9);
        assert!(!any_ones(&bits, 4, 4));
        let mut dst = [0u8; 3];
        or_bits(&mut dst, 3, &bits, 0, 12);
        assert_eq!(dst, [0b0001_0110, 0b0001_1110, 0]);
        let mut r = Raster::new(1, 130);
        r.or_run(0, 60, &bits, 8, 8);
        let mut s = Raster::new(1, 130);
        s.or_run(0, 62, &bits, 8, 8);
        assert_eq!(r.and_count(&s), 6);
    }
}
