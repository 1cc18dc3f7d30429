//! PIZ decoding of one block ([`decompress`]), the inverse of [`super::encode`] and of any PIZ
//! writer, in OpenEXR's `PizCompressor::uncompress` order: the bitmap gives the table back
//! from renumbered words to values, the Huffman data gives the renumbered words (a table
//! lookup per code up to [`TABLE_BITS`] bits, a canonical search for longer ones), each
//! channel goes through the inverse wavelet, and the words go back through the table into the
//! block's lines.
//!
//! The data is hostile until checked: every count, offset and length is checked before use,
//! the code table must be prefix-free, and a run or a code may not reach past the block's
//! words. Buffers are sized from the block's dimensions (which the caller bounds), never from
//! the data. A bad block is an [`Invalid`] error, never a panic.

use std::cell::RefCell;

use super::wavelet::wavelet_decode;
use super::{
    first_codes, split_planes, Plane, BITMAP_SIZE, HUF_ENCSIZE, LONG_ZEROCODE_RUN, MAX_CODE_BITS,
    SHORTEST_LONG_RUN, SHORT_ZEROCODE_RUN,
};

/// Why a block is not valid PIZ data.
pub(crate) type Invalid = &'static str;

/// Index bits of the fast Huffman table: codes up to this long decode in one lookup.
const TABLE_BITS: usize = 12;
/// Bytes one decoding step may read from its byte position on (a 128-bit window).
const SLACK: usize = 16;
/// Literal codes decoded from one 64-bit window (57 valid bits hold four of up to
/// [`TABLE_BITS`] bits).
const LITERALS: usize = 4;
/// Fast table entries: `symbol | length << 24`, and this flag when the entry is not a plain
/// literal (the run symbol, or no code of up to [`TABLE_BITS`] bits: length 0).
const SPECIAL: u32 = 1 << 31;
const SYMBOL_MASK: u32 = 0x1_ffff;

const TRUNCATED: Invalid = "PIZ block is truncated";
const BAD_TABLE: Invalid = "PIZ Huffman code table is not a prefix code";
const BAD_CODE: Invalid = "PIZ Huffman data holds a code not in its table";
const SHORT_DATA: Invalid = "PIZ Huffman data ends before the block's samples";
const LONG_RUN: Invalid = "PIZ Huffman run reaches past the block's samples";

/// Per-thread buffers, reused block after block.
struct Scratch {
    /// The block's renumbered words, channel by channel.
    words: Vec<u16>,
    /// Renumbered word -> value (0 past the used values).
    lut: Box<[u16; 1 << 16]>,
    code: Code,
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

/// Decodes a PIZ block of `planes` (the file's channels in order, all of one height) into the
/// block's uncompressed bytes: for each line, each channel's samples of that line, each
/// 16-bit word little-endian (the layout of every EXR block after decompression).
pub(crate) fn decompress(input: &[u8], planes: &[Plane]) -> Result<Vec<u8>, Invalid> {
    let total: usize = planes.iter().map(Plane::len).sum();
    SCRATCH.with(|slot| {
        let mut slot = slot.borrow_mut();
        let s = slot.get_or_insert_with(|| Scratch {
            words: Vec::new(),
            lut: Box::new([0; 1 << 16]),
            code: Code::new(),
        });
        if s.words.len() < total {
            s.words.resize(total, 0);
        }
        let words = &mut s.words[..total];
        let mut input = Bytes(input);
        let max_value = read_bitmap(&mut input, &mut s.lut)?;
        let length = usize::try_from(input.u32()? as i32)
            .map_err(|_| "PIZ Huffman data length is negative")?;
        huffman_decode(input.take(length)?, words, &mut s.code)?;
        for (plane, channel) in split_planes(words, planes) {
            wavelet_decode(channel, plane.width, plane.height, plane.words, max_value);
        }
        Ok(interleave(words, planes, &s.lut))
    })
}

/// The unread rest of a block.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8], Invalid> {
        if n > self.0.len() {
            return Err(TRUNCATED);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, Invalid> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Invalid> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Reads the range and bitmap of used values, fills `lut` (OpenEXR's `reverseLutFromBitmap`:
/// the k-th used value, 0 first, at k; 0 past the last) and returns the highest renumbered
/// value.
fn read_bitmap(input: &mut Bytes<'_>, lut: &mut [u16; 1 << 16]) -> Result<u16, Invalid> {
    let min = input.u16()? as usize;
    let max = input.u16()? as usize;
    if min >= BITMAP_SIZE || max >= BITMAP_SIZE {
        return Err("PIZ bitmap range lies outside the bitmap");
    }
    let bitmap = if min <= max {
        input.take(max - min + 1)?
    } else {
        &[]
    };
    lut[0] = 0;
    let mut k = 1;
    for (i, &byte) in bitmap.iter().enumerate() {
        for bit in 0..8 {
            let value = (min + i) * 8 + bit;
            if byte & (1 << bit) != 0 && value != 0 {
                lut[k] = value as u16;
                k += 1;
            }
        }
    }
    lut[k..].fill(0);
    Ok((k - 1) as u16)
}

/// OpenEXR's `hufUncompress`: the 20-byte header (lowest and highest symbol, table length,
/// bit count, 0), the packed code lengths, then the codes of exactly `out.len()` words.
fn huffman_decode(input: &[u8], out: &mut [u16], code: &mut Code) -> Result<(), Invalid> {
    if out.is_empty() {
        return Ok(());
    }
    let mut input = Bytes(input);
    let low = input.u32()? as usize;
    let high = input.u32()? as usize;
    let _table_length = input.u32()?;
    let n_bits = input.u32()? as usize;
    input.take(4)?;
    if low >= HUF_ENCSIZE || high >= HUF_ENCSIZE || low > high {
        return Err("PIZ Huffman symbol range is out of bounds");
    }
    // As OpenEXR, the codes start after the bytes the length table used.
    let used = code.unpack_lengths(input.0, low, high)?;
    input.take(used)?;
    let data = input
        .take(n_bits.div_ceil(8))
        .map_err(|_| "PIZ Huffman bit count reaches past the block")?;
    code.build(low, high)?;
    code.decode_words(data, n_bits, high as u32, out)
}

/// A code length of at most [`MAX_CODE_BITS`] that the fast table does not cover: its first
/// code, how many codes it has, and where its symbols start in [`Code::long_symbols`].
#[derive(Clone, Copy)]
struct LongLength {
    len: u32,
    first: u64,
    count: u64,
    offset: usize,
}

/// A block's Huffman code, ready to decode.
struct Code {
    /// Code length of every symbol (only the block's symbol range is meaningful).
    lengths: Vec<u8>,
    /// Indexed by the next [`TABLE_BITS`] bits: the entry ([`SPECIAL`]) of the code they
    /// start with.
    fast: Box<[u32; 1 << TABLE_BITS]>,
    /// The lengths beyond [`TABLE_BITS`] that have codes, shortest first.
    long: Vec<LongLength>,
    /// Symbols of the long codes, by length, then in code order.
    long_symbols: Vec<u32>,
}

impl Code {
    fn new() -> Code {
        Code {
            lengths: vec![0; HUF_ENCSIZE],
            fast: Box::new([SPECIAL; 1 << TABLE_BITS]),
            long: Vec::new(),
            long_symbols: Vec::new(),
        }
    }

    /// OpenEXR's `hufUnpackEncTable`: the 6-bit lengths of symbols `low..=high` (MSB first),
    /// with escapes for runs of zero lengths. Returns the bytes used.
    fn unpack_lengths(&mut self, input: &[u8], low: usize, high: usize) -> Result<usize, Invalid> {
        let mut bits = TableBits {
            input,
            used: 0,
            acc: 0,
            len: 0,
        };
        let mut i = low;
        while i <= high {
            let l = bits.get(6)?;
            let zeros = if l == LONG_ZEROCODE_RUN {
                bits.get(8)? as usize + SHORTEST_LONG_RUN
            } else if l >= SHORT_ZEROCODE_RUN {
                (l - SHORT_ZEROCODE_RUN) as usize + 2
            } else {
                self.lengths[i] = l as u8;
                i += 1;
                continue;
            };
            if i + zeros > high + 1 {
                return Err("PIZ Huffman length table runs past its symbols");
            }
            self.lengths[i..i + zeros].fill(0);
            i += zeros;
        }
        Ok(bits.used)
    }

    /// Builds the decoding tables of the lengths of `low..=high` after checking that they
    /// form a prefix code (the canonical codes of each length fit in that length and do not
    /// overlap the codes of any other length). `high` is the run symbol.
    fn build(&mut self, low: usize, high: usize) -> Result<(), Invalid> {
        let lengths = &self.lengths[low..=high];
        let mut counts = [0u64; MAX_CODE_BITS + 1];
        for &l in lengths {
            counts[l as usize] += 1;
        }
        counts[0] = 0;
        let first = first_codes(&counts);
        // Left-justified in MAX_CODE_BITS bits, the codes of each length form an interval;
        // longer codes lie lower.
        let mut end = 0u64;
        for l in (1..=MAX_CODE_BITS).rev().filter(|&l| counts[l] != 0) {
            let stop = first[l] + counts[l];
            if stop > 1 << l || first[l] << (MAX_CODE_BITS - l) < end {
                return Err(BAD_TABLE);
            }
            end = stop << (MAX_CODE_BITS - l);
        }
        let longest = (1..=MAX_CODE_BITS)
            .rev()
            .find(|&l| counts[l] != 0)
            .ok_or("PIZ Huffman table has no codes")?;
        self.fast.fill(SPECIAL);
        self.long.clear();
        let mut slot = [0usize; MAX_CODE_BITS + 1];
        let mut offset = 0;
        for l in TABLE_BITS + 1..=longest {
            if counts[l] != 0 {
                self.long.push(LongLength {
                    len: l as u32,
                    first: first[l],
                    count: counts[l],
                    offset,
                });
                slot[l] = offset;
                offset += counts[l] as usize;
            }
        }
        self.long_symbols.resize(offset, 0);
        let mut next = first;
        for (k, &l) in lengths.iter().enumerate() {
            let l = l as usize;
            if l == 0 {
                continue;
            }
            let symbol = (low + k) as u32;
            let code = next[l];
            next[l] += 1;
            if l <= TABLE_BITS {
                let shift = TABLE_BITS - l;
                let start = (code as usize) << shift;
                let flag = if low + k == high { SPECIAL } else { 0 };
                self.fast[start..start + (1 << shift)].fill(symbol | (l as u32) << 24 | flag);
            } else {
                self.long_symbols[slot[l]] = symbol;
                slot[l] += 1;
            }
        }
        Ok(())
    }

    /// Decodes exactly `out.len()` words from the first `n_bits` bits of `data` (which holds
    /// those bits and no more); `run` is the run-length pseudo-symbol: 8 bits follow it, the
    /// number of further copies of the word before it.
    fn decode_words(
        &self,
        data: &[u8],
        n_bits: usize,
        run: u32,
        out: &mut [u16],
    ) -> Result<(), Invalid> {
        let mut state = (0, 0);
        // Straight from `data` while a whole window lies inside it, then from a zero-padded
        // copy of the rest.
        if data.len() >= SLACK {
            state = self.decode_span(data, data.len() - SLACK, n_bits, run, out, state)?;
        }
        let (bit, filled) = state;
        if filled < out.len() {
            let start = bit >> 3;
            let mut tail = [0u8; 2 * SLACK];
            let rest = &data[start.min(data.len())..];
            tail[..rest.len()].copy_from_slice(rest);
            let limit = n_bits.checked_sub(start * 8).ok_or(SHORT_DATA)?;
            let (tail_bit, filled) =
                self.decode_span(&tail, SLACK, limit, run, out, (bit & 7, filled))?;
            if filled < out.len() || tail_bit > limit {
                return Err(SHORT_DATA);
            }
        } else if bit > n_bits {
            return Err(SHORT_DATA);
        }
        Ok(())
    }

    /// Decodes words into `out` from `state` = (bit position in `src`, words written) while
    /// words are missing, the position's byte is at most `last_byte` (so that a 16-byte
    /// window from it lies inside `src`) and at most `n_bits` bits are used. Returns the new
    /// state.
    #[inline(always)]
    fn decode_span(
        &self,
        src: &[u8],
        last_byte: usize,
        n_bits: usize,
        run: u32,
        out: &mut [u16],
        (mut bit, mut filled): (usize, usize),
    ) -> Result<(usize, usize), Invalid> {
        while filled < out.len() && bit >> 3 <= last_byte {
            if bit > n_bits {
                return Err(SHORT_DATA);
            }
            let at = bit >> 3;
            // At least 57 valid bits, MSB first.
            let window =
                u64::from_be_bytes(src[at..at + 8].try_into().expect("8 bytes")) << (bit & 7);
            let entry = self.fast[(window >> (64 - TABLE_BITS)) as usize];
            if entry & SPECIAL == 0 {
                if let Some(dst) = out.get_mut(filled..filled + LITERALS) {
                    // Literals while they last, up to four from this window.
                    let (mut used, mut entry, mut k) = (0, entry, 0);
                    loop {
                        dst[k] = entry as u16;
                        used += entry >> 24;
                        k += 1;
                        if k == LITERALS {
                            break;
                        }
                        entry = self.fast[((window << used) >> (64 - TABLE_BITS)) as usize];
                        if entry & SPECIAL != 0 {
                            break;
                        }
                    }
                    filled += k;
                    bit += used as usize;
                    continue;
                }
            }
            let len = (entry >> 24) & 0x3f;
            let (symbol, len, after) = if len != 0 {
                (entry & SYMBOL_MASK, len, window << len)
            } else {
                // 121 valid bits: a code of up to 58 and the 8-bit run count after it.
                let wide = u128::from_be_bytes(src[at..at + 16].try_into().expect("16 bytes"))
                    << (bit & 7);
                let (symbol, len) = self.long_code((wide >> 64) as u64)?;
                (symbol, len, ((wide << len) >> 64) as u64)
            };
            bit += len as usize;
            if symbol == run {
                let copies = (after >> 56) as usize;
                bit += 8;
                let last = *filled
                    .checked_sub(1)
                    .and_then(|i| out.get(i))
                    .ok_or("PIZ Huffman run comes before any word")?;
                let end = filled + copies;
                out.get_mut(filled..end).ok_or(LONG_RUN)?.fill(last);
                filled = end;
            } else {
                out[filled] = symbol as u16;
                filled += 1;
            }
        }
        Ok((bit, filled))
    }

    /// The symbol and length of the code longer than the fast table at the top of `window`
    /// (64 valid bits): at the shortest length whose first code is not above the window's
    /// leading bits (shorter codes extend to higher values, longer ones lie lower).
    fn long_code(&self, window: u64) -> Result<(u32, u32), Invalid> {
        for length in &self.long {
            let value = window >> (64 - length.len);
            if value >= length.first {
                let rank = value - length.first;
                if rank >= length.count {
                    return Err(BAD_CODE);
                }
                return Ok((self.long_symbols[length.offset + rank as usize], length.len));
            }
        }
        Err(BAD_CODE)
    }
}

/// MSB-first bits of the packed length table.
struct TableBits<'a> {
    input: &'a [u8],
    used: usize,
    acc: u64,
    len: u32,
}

impl TableBits<'_> {
    /// The next `n` (≤ 8) bits.
    fn get(&mut self, n: u32) -> Result<u64, Invalid> {
        while self.len < n {
            let byte = *self.input.get(self.used).ok_or(TRUNCATED)?;
            self.acc = (self.acc << 8) | byte as u64;
            self.used += 1;
            self.len += 8;
        }
        self.len -= n;
        Ok((self.acc >> self.len) & ((1 << n) - 1))
    }
}

/// The block's bytes from its renumbered words: line by line, each plane's line, each word
/// through `lut`, little-endian.
fn interleave(words: &[u16], planes: &[Plane], lut: &[u16; 1 << 16]) -> Vec<u8> {
    let mut starts = Vec::with_capacity(planes.len());
    let mut start = 0;
    for plane in planes {
        starts.push(start);
        start += plane.len();
    }
    let height = planes.first().map_or(0, |p| p.height);
    let mut out = Vec::with_capacity(2 * words.len());
    for y in 0..height {
        for (plane, &start) in planes.iter().zip(&starts) {
            let line = plane.width * plane.words;
            let src = &words[start + y * line..start + (y + 1) * line];
            out.extend(src.iter().flat_map(|&w| lut[w as usize].to_le_bytes()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::compress;
    use super::*;

    /// xorshift64: fixed-seed test data.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Kinds of block content: every 16-bit value (16-bit wavelet, long codes), few values
    /// (14-bit wavelet), and a stepped ramp (long runs of equal words).
    #[derive(Clone, Copy, Debug)]
    enum Content {
        Noise,
        FewValues,
        Ramp,
    }

    /// The planar words (channel by channel) of a block, and the bytes the decoder must give.
    fn block(planes: &[Plane], content: Content, rng: &mut Rng) -> (Vec<u16>, Vec<u8>) {
        let mut words = Vec::new();
        for plane in planes {
            for i in 0..plane.len() {
                words.push(match content {
                    Content::Noise => rng.next() as u16,
                    Content::FewValues => [0u16, 7, 300, 0x3c00, 0xbc00][rng.next() as usize % 5],
                    Content::Ramp => ((i / plane.words) % plane.width / 9) as u16 * 257,
                });
            }
        }
        let mut bytes = Vec::new();
        let mut starts = vec![0];
        for plane in planes {
            starts.push(starts.last().unwrap() + plane.len());
        }
        for y in 0..planes[0].height {
            for (plane, start) in planes.iter().zip(&starts) {
                let line = plane.width * plane.words;
                for w in &words[start + y * line..start + (y + 1) * line] {
                    bytes.extend_from_slice(&w.to_le_bytes());
                }
            }
        }
        (words, bytes)
    }

    fn planes(width: usize, height: usize, words: &[usize]) -> Vec<Plane> {
        words
            .iter()
            .map(|&words| Plane {
                width,
                height,
                words,
            })
            .collect()
    }

    /// Blocks of odd and even sizes, 1 to 4 channels of half and 32-bit samples (mixed too),
    /// every kind of content: decoded exactly.
    #[test]
    fn decodes_what_the_encoder_wrote() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for (width, height) in [(1, 1), (2, 3), (7, 32), (33, 17), (301, 32), (64, 1)] {
            for words in [
                &[1][..],
                &[2],
                &[1, 2],
                &[2, 2, 2],
                &[1, 1, 1, 1],
                &[2, 1, 2, 1],
            ] {
                for content in [Content::Noise, Content::FewValues, Content::Ramp] {
                    let planes = planes(width, height, words);
                    let (mut data, want) = block(&planes, content, &mut rng);
                    let packed = compress(&mut data, &planes).unwrap();
                    let got = decompress(&packed, &planes).unwrap();
                    assert!(got == want, "{width}x{height} {words:?} {content:?}");
                }
            }
        }
    }

    /// Valid blocks for the corruption tests.
    fn samples() -> Vec<(Vec<Plane>, Vec<u8>, usize)> {
        let mut rng = Rng(77);
        [
            (37, 5, &[2, 2][..], Content::FewValues),
            (20, 8, &[1, 2, 1], Content::Noise),
            (150, 4, &[2], Content::Ramp),
        ]
        .into_iter()
        .map(|(width, height, words, content)| {
            let planes = planes(width, height, words);
            let (mut data, want) = block(&planes, content, &mut rng);
            let packed = compress(&mut data, &planes).unwrap();
            (planes, packed, want.len())
        })
        .collect()
    }

    /// Every prefix of a valid block is an error (the data length is stored, and every part
    /// is checked against what is there).
    #[test]
    fn truncated_blocks_are_errors() {
        for (planes, packed, _) in samples() {
            for len in 0..packed.len() {
                assert!(
                    decompress(&packed[..len], &planes).is_err(),
                    "{len} of {} bytes",
                    packed.len()
                );
            }
        }
    }

    /// Random byte changes (fixed seed) anywhere in a block: an error or a block of the right
    /// size, never a panic.
    #[test]
    fn corrupted_blocks_do_not_panic() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let mut errors = 0;
        for (planes, packed, expected) in samples() {
            for _ in 0..3000 {
                let mut bad = packed.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let at = rng.next() as usize % bad.len();
                    bad[at] ^= 1 << (rng.next() % 8);
                }
                match decompress(&bad, &planes) {
                    Ok(bytes) => assert_eq!(bytes.len(), expected),
                    Err(_) => errors += 1,
                }
            }
        }
        assert!(errors > 1000, "only {errors} corrupted blocks were refused");
    }

    /// MSB-first bits for hand-made blocks.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        bits: usize,
    }

    impl BitWriter {
        fn put(&mut self, n: usize, value: u64) {
            for k in (0..n).rev() {
                if self.bits % 8 == 0 {
                    self.bytes.push(0);
                }
                if value >> k & 1 != 0 {
                    *self.bytes.last_mut().unwrap() |= 0x80 >> (self.bits % 8);
                }
                self.bits += 1;
            }
        }
    }

    /// A PIZ block with no bitmap (every word renumbered to itself up to `max_value`...
    /// values past the used ones map to 0), symbols `low..=high`, the given 6-bit length
    /// entries and `n_bits` bits of `codes`.
    fn crafted(
        bitmap: &[u8],
        low: u32,
        high: u32,
        lengths: &[(usize, u64)],
        n_bits: Option<u32>,
        codes: &BitWriter,
    ) -> Vec<u8> {
        let mut table = BitWriter::default();
        for &(n, v) in lengths {
            table.put(n, v);
        }
        let mut huffman = Vec::new();
        for v in [
            low,
            high,
            table.bytes.len() as u32,
            n_bits.unwrap_or(codes.bits as u32),
            0,
        ] {
            huffman.extend_from_slice(&v.to_le_bytes());
        }
        huffman.extend_from_slice(&table.bytes);
        huffman.extend_from_slice(&codes.bytes);
        let mut block = Vec::new();
        if bitmap.is_empty() {
            block.extend_from_slice(&(BITMAP_SIZE as u16 - 1).to_le_bytes());
            block.extend_from_slice(&0u16.to_le_bytes());
        } else {
            block.extend_from_slice(&0u16.to_le_bytes());
            block.extend_from_slice(&(bitmap.len() as u16 - 1).to_le_bytes());
            block.extend_from_slice(bitmap);
        }
        block.extend_from_slice(&(huffman.len() as u32).to_le_bytes());
        block.extend_from_slice(&huffman);
        block
    }

    fn bits(parts: &[(usize, u64)]) -> BitWriter {
        let mut w = BitWriter::default();
        for &(n, v) in parts {
            w.put(n, v);
        }
        w
    }

    /// Four words of one 4x1 half plane; symbols 0 (code 0) and the run symbol 1 (code 1).
    #[test]
    fn hand_made_blocks_decode_or_fail_as_they_should() {
        let plane = [Plane {
            width: 4,
            height: 1,
            words: 1,
        }];
        let two = [(6, 1), (6, 1)];
        // 0, then a run of 3 more: four zeros.
        let ok = crafted(&[], 0, 1, &two, None, &bits(&[(1, 0), (1, 1), (8, 3)]));
        assert_eq!(decompress(&ok, &plane).unwrap(), vec![0; 8]);
        let cases: [(&str, Vec<u8>); 9] = [
            (
                "run first",
                crafted(&[], 0, 1, &two, None, &bits(&[(1, 1), (8, 3)])),
            ),
            (
                "run past the end",
                crafted(&[], 0, 1, &two, None, &bits(&[(1, 0), (1, 1), (8, 4)])),
            ),
            (
                "too few bits",
                crafted(&[], 0, 1, &two, Some(2), &bits(&[(1, 0), (1, 1), (8, 3)])),
            ),
            (
                "bit count past the data",
                crafted(&[], 0, 1, &two, Some(80), &bits(&[(1, 0), (1, 1), (8, 3)])),
            ),
            (
                "over-subscribed lengths",
                crafted(
                    &[],
                    0,
                    2,
                    &[(6, 1); 3],
                    None,
                    &bits(&[(1, 0), (1, 1), (8, 3)]),
                ),
            ),
            (
                "overlapping lengths",
                crafted(&[], 0, 1, &[(6, 1), (6, 2)], None, &bits(&[(8, 0)])),
            ),
            (
                "code not in the table",
                crafted(&[], 0, 1, &[(6, 2), (6, 2)], None, &bits(&[(2, 3); 4])),
            ),
            (
                "zero run past the symbols",
                crafted(&[], 0, 1, &[(6, 59 + 3)], None, &bits(&[(8, 0)])),
            ),
            (
                "symbol range out of bounds",
                crafted(
                    &[],
                    0,
                    1 << 16 | 1,
                    &two,
                    None,
                    &bits(&[(1, 0), (1, 1), (8, 3)]),
                ),
            ),
        ];
        for (what, block) in cases {
            assert!(decompress(&block, &plane).is_err(), "{what}");
        }
        let mut negative = ok.clone();
        negative[4..8].copy_from_slice(&(-1i32).to_le_bytes());
        assert!(decompress(&negative, &plane).is_err(), "negative length");
        let mut bad_bitmap = ok.clone();
        bad_bitmap[2..4].copy_from_slice(&(BITMAP_SIZE as u16).to_le_bytes());
        assert!(decompress(&bad_bitmap, &plane).is_err(), "bitmap range");
    }

    /// Codes of every length up to 58 bits (symbol s has length s + 1; 57 and 58 both have
    /// 58), decoded through the long-code search from the data and from the padded tail.
    #[test]
    fn longest_codes_decode() {
        let lengths: Vec<u64> = (1..=58).chain([58]).collect();
        let mut counts = [0u64; MAX_CODE_BITS + 1];
        for &l in &lengths {
            counts[l as usize] += 1;
        }
        let mut next = first_codes(&counts);
        let codes: Vec<(u64, u64)> = lengths
            .iter()
            .map(|&l| {
                let c = next[l as usize];
                next[l as usize] += 1;
                (c, l)
            })
            .collect();
        // Symbols 0..=58, the run symbol 59 unused (length 0).
        let table: Vec<(usize, u64)> = lengths.iter().map(|&l| (6, l)).chain([(6, 0)]).collect();
        let bitmap = [0xffu8; 8]; // values 1..=63 used: renumbering is the identity
        let mut rng = Rng(5);
        for n in [4usize, 40] {
            let symbols: Vec<u64> = (0..n).map(|_| rng.next() % 59).collect();
            let mut w = BitWriter::default();
            for &s in &symbols {
                w.put(codes[s as usize].1 as usize, codes[s as usize].0);
            }
            let plane = [Plane {
                width: n,
                height: 1,
                words: 1,
            }];
            let block = crafted(&bitmap, 0, 59, &table, None, &w);
            let want: Vec<u8> = symbols
                .iter()
                .flat_map(|&s| (s as u16).to_le_bytes())
                .collect();
            assert_eq!(decompress(&block, &plane).unwrap(), want, "{n} words");
        }
    }
}
