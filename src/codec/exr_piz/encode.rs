//! PIZ encoding of one scan-line block ([`compress`]): renumbering, wavelet, Huffman coding.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::wavelet::wavelet_encode;
use super::{
    first_codes, split_planes, Plane, BITMAP_SIZE, HUF_ENCSIZE, LONGEST_LONG_RUN,
    LONG_ZEROCODE_RUN, MAX_CODE_BITS, SHORTEST_LONG_RUN, SHORT_ZEROCODE_RUN,
};

/// Compresses `data` — the planes one after the other, each line of a plane holding its
/// samples' words in file (little-endian) order — as a PIZ block. `data` is consumed as
/// scratch. `None` when the block cannot be coded (a Huffman code beyond PIZ's 58 bits, only
/// for blocks of terabytes); the caller then stores it uncompressed.
pub(crate) fn compress(data: &mut [u16], planes: &[Plane]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let max_value = renumber(data, &mut out);
    for (plane, words) in split_planes(data, planes) {
        wavelet_encode(words, plane.width, plane.height, plane.words, max_value);
    }
    let length_at = out.len();
    out.extend_from_slice(&[0; 4]);
    huffman(data, &mut out)?;
    let length = u32::try_from(out.len() - length_at - 4).ok()?;
    out[length_at..length_at + 4].copy_from_slice(&length.to_le_bytes());
    Some(out)
}

/// Replaces every word by its rank among the values that occur (0 always ranks 0), writes the
/// range and the bitmap of those values to `out`, and returns the highest rank.
fn renumber(data: &mut [u16], out: &mut Vec<u8>) -> u16 {
    // A byte per value (plain stores, no read-modify-write chain), folded into the bitmap.
    let mut seen = vec![0u8; 1 << 16];
    for &w in data.iter() {
        seen[w as usize] = 1;
    }
    let mut bitmap: Vec<u8> = seen
        .chunks_exact(8)
        .map(|b| (0..8).fold(0, |acc, k| acc | (b[k] << k)))
        .collect();
    bitmap[0] &= !1;
    let min = bitmap
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(BITMAP_SIZE - 1);
    let max = bitmap.iter().rposition(|&b| b != 0).unwrap_or(0);
    out.extend_from_slice(&(min as u16).to_le_bytes());
    out.extend_from_slice(&(max as u16).to_le_bytes());
    if min <= max {
        out.extend_from_slice(&bitmap[min..=max]);
    }
    let mut lut = vec![0u16; 1 << 16];
    let mut k = 0u32;
    for (i, slot) in lut.iter_mut().enumerate() {
        if i == 0 || bitmap[i >> 3] & (1 << (i & 7)) != 0 {
            *slot = k as u16;
            k += 1;
        }
    }
    for w in data.iter_mut() {
        *w = lut[*w as usize];
    }
    (k - 1) as u16
}

/// MSB-first bit packing, as OpenEXR's Huffman coder writes.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u128,
    len: u32,
    total: u64,
}

impl<'a> Bits<'a> {
    /// A writer appending to `out`.
    fn new(out: &'a mut Vec<u8>) -> Self {
        Bits {
            out,
            acc: 0,
            len: 0,
            total: 0,
        }
    }

    /// Appends the low `n` (≤ 58) bits of `bits`.
    #[inline(always)]
    fn put(&mut self, n: u32, bits: u64) {
        self.total += n as u64;
        self.acc = (self.acc << n) | bits as u128;
        self.len += n;
        if self.len >= 64 {
            self.len -= 64;
            let word = (self.acc >> self.len) as u64;
            self.out.extend_from_slice(&word.to_be_bytes());
        }
    }

    /// Writes the last bits, padded with zeros to a byte; returns the number of bits.
    fn finish(mut self) -> u64 {
        while self.len >= 8 {
            self.len -= 8;
            self.out.push((self.acc >> self.len) as u8);
        }
        if self.len > 0 {
            self.out.push((self.acc << (8 - self.len)) as u8);
        }
        self.total
    }
}

/// OpenEXR's `hufCompress` of `data` appended to `out`: the 20-byte header (lowest and
/// highest symbol, table length, bit count, 0), the packed code lengths, the coded words.
fn huffman(data: &[u16], out: &mut Vec<u8>) -> Option<()> {
    if data.is_empty() {
        return Some(());
    }
    // Counted in u32 (half the cache of u64 counts), a piece of fewer than 2^32 words at a time.
    let mut freq = vec![0u64; HUF_ENCSIZE];
    let mut counts = vec![0u32; HUF_ENCSIZE];
    for piece in data.chunks(u32::MAX as usize) {
        counts.fill(0);
        for &w in piece {
            counts[w as usize] += 1;
        }
        freq.iter_mut()
            .zip(&counts)
            .for_each(|(f, &c)| *f += c as u64);
    }
    let im = freq.iter().position(|&f| f != 0)?;
    // The run-length pseudo-symbol follows the highest symbol used.
    let rlc = freq.iter().rposition(|&f| f != 0)? + 1;
    freq[rlc] = 1;
    let lengths = code_lengths(&freq[im..=rlc])?;
    let codes = canonical_codes(&lengths);
    let header_at = out.len();
    out.extend_from_slice(&[0; 20]);
    pack_lengths(&lengths, out);
    let table_len = out.len() - header_at - 20;
    let run_code = codes[rlc - im];
    let mut bits = Bits::new(out);
    // Groups of up to 256 equal words: one code, or the code, the run code and the repeat
    // count when that is shorter (OpenEXR's `sendCode`).
    let mut i = 0;
    while i < data.len() {
        let symbol = data[i];
        let mut j = i + 1;
        while j < data.len() && j - i <= 255 && data[j] == symbol {
            j += 1;
        }
        let run = (j - i - 1) as u32;
        let (c, l) = codes[symbol as usize - im];
        let l = l as u32;
        if run == 0 {
            bits.put(l, c);
        } else if l + run_code.1 as u32 + 8 < l * run {
            bits.put(l, c);
            bits.put(run_code.1 as u32, run_code.0);
            bits.put(8, run as u64);
        } else {
            for _ in 0..=run {
                bits.put(l, c);
            }
        }
        i = j;
    }
    let n_bits = u32::try_from(bits.finish()).ok()?;
    let header = [
        im as u32,
        rlc as u32,
        u32::try_from(table_len).ok()?,
        n_bits,
        0,
    ];
    for (k, v) in header.iter().enumerate() {
        out[header_at + 4 * k..header_at + 4 * k + 4].copy_from_slice(&v.to_le_bytes());
    }
    Some(())
}

/// Huffman code lengths for `freq` (zero for unused symbols); ties go to the lower symbol, so
/// the lengths depend only on the counts. `None` beyond PIZ's longest code.
fn code_lengths(freq: &[u64]) -> Option<Vec<u8>> {
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = freq
        .iter()
        .enumerate()
        .filter(|(_, &f)| f != 0)
        .map(|(i, &f)| Reverse((f, i)))
        .collect();
    // Nodes: leaves are 0..freq.len(), merged nodes follow; parent links give the depths.
    let mut parent = vec![usize::MAX; freq.len()];
    while heap.len() > 1 {
        let Reverse((fa, a)) = heap.pop()?;
        let Reverse((fb, b)) = heap.pop()?;
        let node = parent.len();
        parent.push(usize::MAX);
        parent[a] = node;
        parent[b] = node;
        heap.push(Reverse((fa + fb, node)));
    }
    let mut depth = vec![0u8; parent.len()];
    let mut lengths = vec![0u8; freq.len()];
    // Parents come after their children, so one backward pass gives every depth.
    for node in (0..parent.len()).rev() {
        if parent[node] != usize::MAX {
            depth[node] = depth[parent[node]].checked_add(1)?;
        }
    }
    for (i, l) in lengths.iter_mut().enumerate() {
        if freq[i] != 0 {
            *l = depth[i].max(1);
            if *l as usize > MAX_CODE_BITS {
                return None;
            }
        }
    }
    Some(lengths)
}

/// `(code, length)` of every symbol in OpenEXR's canonical code ([`first_codes`]).
fn canonical_codes(lengths: &[u8]) -> Vec<(u64, u8)> {
    let mut counts = [0u64; MAX_CODE_BITS + 1];
    for &l in lengths {
        counts[l as usize] += 1;
    }
    let mut next = first_codes(&counts);
    lengths
        .iter()
        .map(|&l| {
            if l == 0 {
                return (0, 0);
            }
            let code = next[l as usize];
            next[l as usize] += 1;
            (code, l)
        })
        .collect()
}

/// OpenEXR's `hufPackEncTable`: each length in 6 bits, runs of zero lengths as escapes.
fn pack_lengths(lengths: &[u8], out: &mut Vec<u8>) {
    let mut bits = Bits::new(out);
    let mut i = 0;
    while i < lengths.len() {
        let l = lengths[i];
        if l == 0 {
            let mut run = 1;
            while i + 1 < lengths.len() && run < LONGEST_LONG_RUN && lengths[i + 1] == 0 {
                i += 1;
                run += 1;
            }
            if run >= SHORTEST_LONG_RUN {
                bits.put(6, LONG_ZEROCODE_RUN);
                bits.put(8, (run - SHORTEST_LONG_RUN) as u64);
                i += 1;
                continue;
            }
            if run >= 2 {
                bits.put(6, SHORT_ZEROCODE_RUN + run as u64 - 2);
                i += 1;
                continue;
            }
        }
        bits.put(6, l as u64);
        i += 1;
    }
    bits.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_codes_are_prefix_free() {
        let freq = [5u64, 0, 1, 1, 9, 0, 0, 2, 1];
        let lengths = code_lengths(&freq).unwrap();
        let codes = canonical_codes(&lengths);
        let used: Vec<_> = codes.iter().filter(|c| c.1 > 0).collect();
        for (i, a) in used.iter().enumerate() {
            for b in &used[i + 1..] {
                let (short, long) = if a.1 <= b.1 { (a, b) } else { (b, a) };
                assert_ne!(
                    long.0 >> (long.1 - short.1),
                    short.0,
                    "{a:?} prefixes {b:?}"
                );
            }
        }
        // Kraft equality: a complete code.
        let kraft: f64 = used.iter().map(|c| 0.5f64.powi(c.1 as i32)).sum();
        assert!((kraft - 1.0).abs() < 1e-12);
    }
}
