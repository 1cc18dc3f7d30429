//! A deflater that compresses independent segments of one zlib stream, so that a single image
//! can be compressed on every core: each segment is one dynamic-Huffman block of literals and
//! matches found greedily (runs of the previous byte first, zlib's `Z_RLE` idea, which suits
//! filtered PNG rows; otherwise the last earlier position with the same four bytes, through a
//! one-entry hash table, zlib's level-1 idea), closed by an empty stored block so it ends on a
//! byte boundary; the last segment's block is final. Only matches are kept as tokens: the
//! literals between them are read back from the input when the block is written. Concatenated after [`ZLIB_HEADER`] and
//! followed by the big-endian Adler-32 of the whole input (per-segment checksums joined with
//! [`adler32_combine`]) they form one valid zlib stream. The bytes depend only on the segment
//! contents, never on the thread count.

/// The zlib header imkit writes (deflate, 32 KiB window, "fastest" level hint).
pub const ZLIB_HEADER: [u8; 2] = [0x78, 0x01];

/// An empty final stored block: ends a stream whose segments were all non-final.
pub const EMPTY_FINAL_BLOCK: [u8; 5] = [0x01, 0x00, 0x00, 0xff, 0xff];

/// Longest match deflate allows.
pub(super) const MAX_MATCH: usize = 258;
/// Shortest match deflate allows.
const MIN_MATCH: usize = 3;
/// Shortest match taken from the hash table. Shorter ones made photo-like filtered rows
/// larger in measurements (at 4 bytes: +19% on a 4K frame; at 16: the same bytes as runs
/// alone), while repeated patterns give matches of the full 258 bytes.
const MIN_HASH_MATCH: usize = 16;
/// Longest stride between hash probes while they keep missing.
const MAX_PROBE_STEP: usize = 32;
/// Farthest match deflate allows.
const MAX_DISTANCE: usize = 32768;
/// log2 of the hash table's entries.
const HASH_BITS: u32 = 15;
/// Distance codes.
const DIST_CODES: usize = 30;
/// End-of-block symbol.
const END: usize = 256;
/// Literal/length alphabet size.
const LIT_CODES: usize = 286;
/// Longest code length of the literal/length and distance codes.
const MAX_BITS: u8 = 15;
/// Longest code length of the code-length code.
const MAX_CL_BITS: u8 = 7;
/// Order in which code-length code lengths are stored.
pub(super) const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];
/// Base and extra bits of length symbols 257..=285.
pub(super) const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
pub(super) const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base and extra bits of distance symbols 0..=29.
pub(super) const DIST_BASE: [u16; DIST_CODES] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
pub(super) const DIST_EXTRA: [u8; DIST_CODES] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Distance code of `distance` (1..=32768): zlib's two-part table, indexed by `distance - 1`
/// below 257 and by `(distance - 1) >> 7` (offset 256) above.
const DIST_INDEX: [u8; 512] = {
    let mut table = [0u8; 512];
    let mut code = 0;
    while code < DIST_CODES {
        let start = DIST_BASE[code] as usize - 1;
        let end = start + (1 << DIST_EXTRA[code]);
        let mut d = start;
        while d < end {
            if d < 256 {
                table[d] = code as u8;
            } else {
                table[256 + (d >> 7)] = code as u8;
            }
            d += 1;
        }
        code += 1;
    }
    table
};

/// The distance code of `distance` (1..=32768).
#[inline(always)]
fn dist_code(distance: usize) -> usize {
    let d = distance - 1;
    if d < 256 {
        DIST_INDEX[d] as usize
    } else {
        DIST_INDEX[256 + (d >> 7)] as usize
    }
}

/// Length symbol index (0..29, i.e. symbol 257 + index) of each match length 0..=258.
const LENGTH_INDEX: [u8; 259] = {
    let mut table = [0u8; 259];
    let mut i = 0;
    while i < 29 {
        let end = if i == 28 {
            259
        } else {
            LENGTH_BASE[i + 1] as usize
        };
        let mut len = LENGTH_BASE[i] as usize;
        while len < end {
            table[len] = i as u8;
            len += 1;
        }
        i += 1;
    }
    table
};

/// Little-endian bit writer into a buffer sized in advance: bits gather in a 64-bit word that
/// is stored whole at each flush, after which the position advances by the whole bytes it
/// held. At most 56 bits may be added between two flushes.
struct Bits {
    out: Vec<u8>,
    pos: usize,
    buffer: u64,
    count: u32,
}

impl Bits {
    /// A writer of at most `bytes` bytes.
    fn with_capacity(bytes: usize) -> Bits {
        Bits {
            out: vec![0; bytes + 8],
            pos: 0,
            buffer: 0,
            count: 0,
        }
    }

    /// Adds the low `n` bits of `bits` (no higher bit set) without flushing.
    #[inline(always)]
    fn add(&mut self, bits: u64, n: u32) {
        self.buffer |= bits << self.count;
        self.count += n;
    }

    /// Stores the gathered bits; fewer than 8 stay in the word.
    #[inline(always)]
    fn flush(&mut self) {
        self.out[self.pos..self.pos + 8].copy_from_slice(&self.buffer.to_le_bytes());
        let bytes = self.count >> 3;
        self.pos += bytes as usize;
        self.buffer >>= bytes * 8;
        self.count &= 7;
    }

    /// Adds `n` bits (at most 56) and flushes.
    #[inline(always)]
    fn put(&mut self, bits: u64, n: u32) {
        self.add(bits, n);
        self.flush();
    }

    /// Pads with zero bits to a byte boundary.
    fn align(&mut self) {
        self.flush();
        self.pos += (self.count > 0) as usize;
        self.buffer = 0;
        self.count = 0;
    }

    /// The bytes written, padded to a byte boundary.
    fn finish(mut self) -> Vec<u8> {
        self.align();
        self.out.truncate(self.pos);
        self.out
    }
}

/// Huffman code lengths for `freqs`, at most `limit` bits, forming a complete code (at least
/// two symbols get a code, so every inflater accepts it). Ties break on the symbol index.
fn code_lengths(freqs: &[u32], limit: u8) -> Vec<u8> {
    let mut used: Vec<usize> = (0..freqs.len()).filter(|&s| freqs[s] > 0).collect();
    for dummy in 0..freqs.len() {
        if used.len() >= 2 {
            break;
        }
        if !used.contains(&dummy) {
            used.push(dummy);
        }
    }
    let weight = |s: usize| freqs[s].max(1) as u64;
    used.sort_by_key(|&s| (weight(s), s));
    let n = used.len();
    // Two-queue Huffman construction: leaves 0..n (sorted), internal nodes n.. in creation
    // order (non-decreasing weight); `parent` links every node but the root.
    let mut node_weight: Vec<u64> = used.iter().map(|&s| weight(s)).collect();
    let mut parent = vec![0usize; 2 * n - 1];
    let (mut leaf, mut inner) = (0, n);
    for created in n..2 * n - 1 {
        let mut take = || {
            let pick_leaf =
                leaf < n && (inner >= created || node_weight[leaf] <= node_weight[inner]);
            if pick_leaf {
                leaf += 1;
                leaf - 1
            } else {
                inner += 1;
                inner - 1
            }
        };
        let (a, b) = (take(), take());
        node_weight.push(node_weight[a] + node_weight[b]);
        parent[a] = created;
        parent[b] = created;
    }
    let mut depth = vec![0u32; 2 * n - 1];
    for node in (0..2 * n - 2).rev() {
        depth[node] = depth[parent[node]] + 1;
    }
    // Count codes per length, clamp to the limit and restore the Kraft sum (miniz's method),
    // then hand the shortest lengths to the most frequent symbols.
    let limit = limit as usize;
    let mut per_length = vec![0u32; limit + 1];
    for &d in &depth[..n] {
        per_length[(d as usize).min(limit)] += 1;
    }
    let mut kraft: u64 = (1..=limit)
        .map(|l| (per_length[l] as u64) << (limit - l))
        .sum();
    while kraft > 1 << limit {
        per_length[limit] -= 1;
        if let Some(l) = (1..limit).rev().find(|&l| per_length[l] > 0) {
            per_length[l] -= 1;
            per_length[l + 1] += 2;
        }
        kraft -= 1;
    }
    let mut lengths = vec![0u8; freqs.len()];
    let mut by_frequency = used.iter().rev();
    for (l, &count) in per_length.iter().enumerate().skip(1) {
        for _ in 0..count {
            if let Some(&s) = by_frequency.next() {
                lengths[s] = l as u8;
            }
        }
    }
    lengths
}

/// Canonical codes for `lengths`, bit-reversed for deflate's LSB-first packing.
fn codes(lengths: &[u8]) -> Vec<u32> {
    let mut count = [0u32; 16];
    for &l in lengths {
        count[l as usize] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 16];
    let mut code = 0;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    lengths
        .iter()
        .map(|&l| {
            if l == 0 {
                return 0;
            }
            let c = next[l as usize];
            next[l as usize] += 1;
            c.reverse_bits() >> (32 - l as u32)
        })
        .collect()
}

/// Run-length codes of the concatenated code lengths: (symbol 0..=18, extra value).
fn encode_lengths(lengths: &[u8]) -> Vec<(u8, u8)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lengths.len() {
        let v = lengths[i];
        let run = lengths[i..].iter().take_while(|&&x| x == v).count();
        if v == 0 && run >= 11 {
            let n = run.min(138);
            out.push((18, (n - 11) as u8));
            i += n;
        } else if v == 0 && run >= MIN_MATCH {
            out.push((17, (run - 3) as u8));
            i += run;
        } else {
            // One literal length, then repeats of it in groups of 3 to 6 (shorter tails are
            // taken by the next turns of the loop).
            out.push((v, 0));
            i += 1;
            let mut left = if v == 0 { 0 } else { run - 1 };
            while left >= 3 {
                let n = left.min(6);
                out.push((16, (n - 3) as u8));
                left -= n;
                i += n;
            }
        }
    }
    out
}

/// A match and the literals before it (the bytes since the previous match or the start).
#[derive(Clone, Copy)]
struct Match {
    literals: u32,
    length: u16,
    distance: u16,
}

/// How many bytes at `a` and `b` (`a < b`) agree, up to `limit` bytes from `b`.
#[inline(always)]
fn match_length(data: &[u8], a: usize, b: usize, limit: usize) -> usize {
    let mut n = 0;
    while n + 8 <= limit {
        let diff = load64(data, a + n) ^ load64(data, b + n);
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < limit && data[a + n] == data[b + n] {
        n += 1;
    }
    n
}

/// The eight bytes at `at`, little-endian.
#[inline(always)]
fn load64(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().unwrap_or_default())
}

/// Offset (0..5) of the first position `i + k` at which a run starts, that is whose byte and
/// the two after it equal the byte before, from the eight bytes `window` at `i - 1`.
#[inline(always)]
fn run_start(window: u64) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Byte k of `same` is zero where byte k + 1 of the window equals byte k; byte k of `run`
    // where bytes k..=k+3 are equal. Bytes 5..8 see past the window and are masked off.
    let same = window ^ (window >> 8);
    let run = same | same >> 8 | same >> 16 | 0xff_ffff << 40;
    // The lowest flagged byte of the classic zero-byte test is exact.
    let zero = run.wrapping_sub(ONES) & !run & (ONES << 7);
    (zero != 0).then(|| (zero.trailing_zeros() / 8) as usize)
}

/// Adds the byte counts of `bytes` to four interleaved histograms (no store waits on the one
/// before when bytes repeat).
fn count_literals(bytes: &[u8], hist: &mut [[u32; 256]; 4]) {
    let mut quads = bytes.chunks_exact(4);
    for q in &mut quads {
        hist[0][q[0] as usize] += 1;
        hist[1][q[1] as usize] += 1;
        hist[2][q[2] as usize] += 1;
        hist[3][q[3] as usize] += 1;
    }
    for &b in quads.remainder() {
        hist[0][b as usize] += 1;
    }
}

/// Splits `data` into literals and greedy matches, counting symbol frequencies. Runs (of the
/// byte before, distance 1) are searched eight bytes at a time; the hash table is probed less
/// and less often while probes keep missing (LZ4's acceleration, at most every
/// [`MAX_PROBE_STEP`] bytes), so data without distant repeats (filtered photographs) costs
/// little more than runs alone. The last few bytes are literals.
fn tokenize(data: &[u8], lit_freqs: &mut [u32], dist_freqs: &mut [u32]) -> Vec<Match> {
    let n = data.len();
    let mut matches = Vec::new();
    let mut hist = [[0u32; 256]; 4];
    // Position + 1 of the last place each hash was seen (0: never).
    let mut table = vec![0u32; 1 << HASH_BITS];
    let (mut next_probe, mut misses) = (0, 0);
    // The first byte not yet counted as a literal or covered by a match.
    let mut start = 0;
    let mut i = 1;
    while i + 8 <= n {
        let mut window = run_start(load64(data, i - 1));
        // Windows without a run are skipped up to the next due probe.
        while window.is_none() && i < next_probe && i + 13 <= n {
            i = (i + 5).min(next_probe);
            window = run_start(load64(data, i - 1));
        }
        let limit = |at: usize| (n - at).min(MAX_MATCH);
        let run = window.map(|k| {
            let at = i + k;
            (at, match_length(data, at - 1, at, limit(at)), 1)
        });
        let mut found = run;
        let long_run = run.is_some_and(|(_, length, _)| length >= MIN_HASH_MATCH);
        if !long_run && i >= next_probe && n - i >= MIN_HASH_MATCH {
            let slot = (load64(data, i) as u32).wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS);
            let seen = table[slot as usize] as usize;
            table[slot as usize] = (i + 1) as u32;
            let length = if seen > 0 && i + 1 - seen <= MAX_DISTANCE {
                match_length(data, seen - 1, i, limit(i))
            } else {
                0
            };
            if length >= MIN_HASH_MATCH {
                found = Some((i, length, i + 1 - seen));
                misses = 0;
            } else {
                misses += 1;
            }
            next_probe = i + (1 + (misses >> 4)).min(MAX_PROBE_STEP);
        }
        let Some((at, length, distance)) = found else {
            // The window's run candidates are checked; a due probe is not skipped.
            i = (i + 5).min(next_probe.max(i + 1));
            continue;
        };
        count_literals(&data[start..at], &mut hist);
        matches.push(Match {
            literals: (at - start) as u32,
            length: length as u16,
            distance: distance as u16,
        });
        lit_freqs[257 + LENGTH_INDEX[length] as usize] += 1;
        dist_freqs[dist_code(distance)] += 1;
        i = at + length;
        start = i;
    }
    count_literals(&data[start.min(n)..], &mut hist);
    for (s, f) in lit_freqs[..256].iter_mut().enumerate() {
        *f += hist.iter().map(|h| h[s]).sum::<u32>();
    }
    matches
}

/// Compresses `data` as one dynamic-Huffman block. `last`: the block is final; otherwise an
/// empty stored block follows so the segment ends byte-aligned and segments concatenate.
pub fn compress_segment(data: &[u8], last: bool) -> Vec<u8> {
    let mut freqs = vec![0u32; LIT_CODES];
    let mut dist_freqs = vec![0u32; DIST_CODES];
    let matches = tokenize(data, &mut freqs, &mut dist_freqs);
    freqs[END] = 1;
    let lit_lengths = code_lengths(&freqs, MAX_BITS);
    let lit_codes = codes(&lit_lengths);
    let dist_lengths = code_lengths(&dist_freqs, MAX_BITS);
    let dist_codes = codes(&dist_lengths);
    let used = |lengths: &[u8], at_least: usize| {
        at_least.max(lengths.iter().rposition(|&l| l > 0).map_or(0, |p| p + 1))
    };
    let nlit = used(&lit_lengths, 257);
    let ndist = used(&dist_lengths, 1);
    let mut all_lengths = lit_lengths[..nlit].to_vec();
    all_lengths.extend_from_slice(&dist_lengths[..ndist]);
    let cl_symbols = encode_lengths(&all_lengths);
    let mut cl_freqs = vec![0u32; 19];
    for &(s, _) in &cl_symbols {
        cl_freqs[s as usize] += 1;
    }
    let cl_lengths = code_lengths(&cl_freqs, MAX_CL_BITS);
    let cl_codes = codes(&cl_lengths);
    let ncl = 4.max(
        CL_ORDER
            .iter()
            .rposition(|&s| cl_lengths[s] > 0)
            .map_or(0, |p| p + 1),
    );

    // Bound of the block's size: header, every symbol's code, the most extra bits a match
    // carries (5 + 13), and the closing stored block.
    let symbol_bits =
        |f: &[u32], l: &[u8]| -> u64 { f.iter().zip(l).map(|(&f, &l)| f as u64 * l as u64).sum() };
    let bound_bits = 17
        + 19 * 3
        + cl_symbols.len() as u64 * 14
        + symbol_bits(&freqs, &lit_lengths)
        + symbol_bits(&dist_freqs, &dist_lengths)
        + matches.len() as u64 * 18
        + 64;
    let mut bits = Bits::with_capacity((bound_bits / 8) as usize + 8);
    bits.put(last as u64 | 2 << 1, 3);
    bits.put((nlit - 257) as u64, 5);
    bits.put((ndist - 1) as u64, 5);
    bits.put((ncl - 4) as u64, 4);
    for &s in &CL_ORDER[..ncl] {
        bits.put(cl_lengths[s] as u64, 3);
    }
    for &(s, extra) in &cl_symbols {
        bits.add(cl_codes[s as usize] as u64, cl_lengths[s as usize] as u32);
        match s {
            16 => bits.add(extra as u64, 2),
            17 => bits.add(extra as u64, 3),
            18 => bits.add(extra as u64, 7),
            _ => {}
        }
        bits.flush();
    }
    // Symbol tables: code in the low 32 bits, bit count above; a length's entry also carries
    // its extra bits.
    let literal: [u64; 256] =
        std::array::from_fn(|s| lit_codes[s] as u64 | (lit_lengths[s] as u64) << 32);
    let length_entry: Vec<u64> = (0..=MAX_MATCH)
        .map(|len| {
            let index = LENGTH_INDEX[len] as usize;
            let symbol = 257 + index;
            let (code, n) = (lit_codes[symbol] as u64, lit_lengths[symbol] as u32);
            let extra = LENGTH_EXTRA[index] as u32;
            let extra_value = len.saturating_sub(LENGTH_BASE[index] as usize) as u64;
            (code | extra_value << n) | ((n + extra) as u64) << 32
        })
        .collect();
    // Four literals fit between flushes when no literal code is longer than 14 bits.
    let put_literals = if lit_lengths[..256].iter().all(|&l| l <= 14) {
        put_literals::<4>
    } else {
        put_literals::<3>
    };
    let mut pos = 0;
    for m in &matches {
        let literals = m.literals as usize;
        put_literals(&mut bits, &data[pos..pos + literals], &literal);
        pos += literals + m.length as usize;
        let entry = length_entry[m.length as usize];
        bits.add(entry & 0xffff_ffff, (entry >> 32) as u32);
        let distance = m.distance as usize;
        let code = dist_code(distance);
        let n = dist_lengths[code] as u32;
        let extra_value = (distance - DIST_BASE[code] as usize) as u64;
        bits.add(
            dist_codes[code] as u64 | extra_value << n,
            n + DIST_EXTRA[code] as u32,
        );
        bits.flush();
    }
    put_literals(&mut bits, &data[pos..], &literal);
    bits.put(lit_codes[END] as u64, lit_lengths[END] as u32);
    if !last {
        bits.put(0, 3);
        bits.align();
        bits.put(0xffff_0000, 32);
    }
    bits.finish()
}

/// Writes the codes of `bytes` as literals, `N` codes between flushes (`N` times the longest
/// literal code must stay within 56 bits).
#[inline(always)]
fn put_literals<const N: usize>(bits: &mut Bits, bytes: &[u8], literal: &[u64; 256]) {
    let mut groups = bytes.chunks_exact(N);
    for group in &mut groups {
        for &b in group {
            let entry = literal[b as usize];
            bits.add(entry & 0xffff_ffff, (entry >> 32) as u32);
        }
        bits.flush();
    }
    for &b in groups.remainder() {
        let entry = literal[b as usize];
        bits.put(entry & 0xffff_ffff, (entry >> 32) as u32);
    }
}

/// The Adler-32 of `a ++ b` from the checksums of `a` and `b` and the length of `b` (zlib's
/// `adler32_combine`).
pub fn adler32_combine(adler_a: u32, adler_b: u32, len_b: u64) -> u32 {
    const BASE: u64 = 65521;
    let rem = len_b % BASE;
    let mut sum1 = (adler_a & 0xffff) as u64;
    let mut sum2 = (rem * sum1) % BASE;
    sum1 += (adler_b & 0xffff) as u64 + BASE - 1;
    sum2 += ((adler_a >> 16) & 0xffff) as u64 + ((adler_b >> 16) & 0xffff) as u64 + BASE - rem;
    if sum1 >= BASE {
        sum1 -= BASE;
    }
    if sum1 >= BASE {
        sum1 -= BASE;
    }
    if sum2 >= BASE << 1 {
        sum2 -= BASE << 1;
    }
    if sum2 >= BASE {
        sum2 -= BASE;
    }
    (sum1 | (sum2 << 16)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Runs, small differences (like filtered rows) and some noise.
                match (i / 500) % 3 {
                    0 => 0,
                    1 => (state % 7) as u8,
                    _ => (state >> 32) as u8,
                }
            })
            .collect()
    }

    /// Joins segments of `data` (split at `cut` bytes) into a zlib stream.
    fn stream(data: &[u8], cut: usize, last_empty: bool) -> Vec<u8> {
        let mut out = ZLIB_HEADER.to_vec();
        let mut adler = 1;
        let pieces: Vec<&[u8]> = data.chunks(cut).collect();
        for (i, piece) in pieces.iter().enumerate() {
            let last = !last_empty && i + 1 == pieces.len();
            out.extend(compress_segment(piece, last));
            adler = adler32_combine(adler, libdeflater::adler32(piece), piece.len() as u64);
        }
        if last_empty {
            out.extend_from_slice(&EMPTY_FINAL_BLOCK);
        }
        out.extend_from_slice(&adler.to_be_bytes());
        out
    }

    #[test]
    fn segments_join_into_one_valid_zlib_stream() {
        for (len, cut, last_empty) in [
            (100_000, 7_000, false),
            (100_000, 100_000, true),
            (1, 1, false),
            (3000, 1000, true),
        ] {
            let data = sample(len, len as u64);
            let z = stream(&data, cut, last_empty);
            let mut back = vec![0u8; len];
            let n = libdeflater::Decompressor::new()
                .zlib_decompress(&z, &mut back)
                .unwrap();
            assert_eq!(n, len);
            assert!(back == data, "len {len} cut {cut}");
            let again = fdeflate::decompress_to_vec(&z).unwrap();
            assert!(again == data);
        }
    }

    #[test]
    fn constant_and_tiny_inputs_compress() {
        let zeros = vec![0u8; 50_000];
        let z = stream(&zeros, 20_000, false);
        assert!(z.len() < 2_000, "{}", z.len());
        assert_eq!(fdeflate::decompress_to_vec(&z).unwrap(), zeros);
    }

    #[test]
    fn repeats_at_any_distance_become_matches() {
        // A period-3 pattern (an RGB gradient after PNG's Up filter) and a row repeated
        // 3000 bytes later: runs of one byte cannot catch either.
        let mut data: Vec<u8> = (0..60_000).map(|i| [17u8, 53, 19][i % 3]).collect();
        let row = sample(3000, 9);
        for _ in 0..10 {
            data.extend_from_slice(&row);
        }
        for cut in [data.len(), 10_007] {
            let z = stream(&data, cut, false);
            assert!(z.len() < 6_000, "cut {cut}: {} bytes", z.len());
            assert!(fdeflate::decompress_to_vec(&z).unwrap() == data);
        }
    }

    #[test]
    fn run_start_is_the_first_position_repeating_the_byte_before_thrice() {
        // Bytes from a two-letter alphabet make runs at every offset.
        let data = sample(20_000, 5)
            .iter()
            .map(|&b| b & 1)
            .collect::<Vec<u8>>();
        for w in data.windows(8) {
            let naive = (0..5).find(|&k| w[k + 1..k + 4].iter().all(|&b| b == w[k]));
            let window = u64::from_le_bytes(w.try_into().unwrap());
            assert_eq!(run_start(window), naive, "{w:?}");
        }
    }

    #[test]
    fn adler_combines_like_one_pass() {
        let data = sample(70_001, 3);
        let (a, b) = data.split_at(12_345);
        let joined = adler32_combine(
            libdeflater::adler32(a),
            libdeflater::adler32(b),
            b.len() as u64,
        );
        assert_eq!(joined, libdeflater::adler32(&data));
    }

    #[test]
    fn length_limit_holds_on_skewed_frequencies() {
        let freqs: Vec<u32> = (0..40).map(|i| 1u32 << (i % 31)).collect();
        let lengths = code_lengths(&freqs, 7);
        assert!(lengths.iter().all(|&l| (1..=7).contains(&l)));
        let kraft: u64 = lengths.iter().map(|&l| 1u64 << (7 - l)).sum();
        assert_eq!(kraft, 1 << 7);
    }
}
