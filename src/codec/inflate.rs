//! A streaming zlib inflater for the PNG decoder's one serial stage: a foreign PNG's image data
//! is a single zlib stream, so its inflate speed bounds every route that reads the file.
//!
//! The hot loop uses libdeflate's methods: a 64-bit bit buffer refilled a whole word at a time;
//! Huffman tables whose entries carry all a symbol needs (its kind, the bits to consume, the
//! base of a length or distance and its count of extra bits), with second-level tables for codes
//! longer than the first level; up to three literals decoded per refill; matches copied a word
//! at a time. Near the ends of the input or the output, symbols are decoded one at a time with
//! every bound checked, and a match that does not fit waits for the next call.
//!
//! It checks what zlib checks: the header, over-subscribed and (but for a single one-bit code)
//! incomplete Huffman codes, a missing end-of-block code, repeat codes past the lengths,
//! distances before the start of the output, stored-block lengths, the Adler-32.
//! [`Decompressor::read`] has `fdeflate`'s calling convention (history before `out_pos`, output
//! after it).

use std::fmt;

use super::deflate::{
    adler32_combine, CL_ORDER, DIST_BASE, DIST_EXTRA, LENGTH_BASE, LENGTH_EXTRA, MAX_MATCH,
};

/// Why a zlib stream does not inflate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflateError(&'static str);

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for InflateError {}

type Result<T> = std::result::Result<T, InflateError>;

/// Index bits of the literal/length table's first level.
const LITLEN_BITS: u32 = 11;
/// Index bits of the distance table's first level.
const DIST_BITS: u32 = 8;
/// Index bits of the code-length table (its codes are at most 7 bits: one level).
const CODELEN_BITS: u32 = 7;
/// Entries of the literal/length table: the first level and room for every second-level table
/// a valid code can need (zlib's `enough` gives 2342 for 288 symbols, 11 bits, 15 at most). A
/// power of two, so masked indexes need no bounds check.
const LITLEN_SIZE: usize = 4096;
/// Entries of the distance table (`enough`: 402 for 32 symbols, 8 bits, 15 at most).
const DIST_SIZE: usize = 512;
/// Entries of the code-length table.
const CODELEN_SIZE: usize = 1 << CODELEN_BITS;

// A table entry (u32): bits 0..8 the bits to consume, the code's and its extra bits (none for
// a pointer to a second-level table, whose entries hold the whole code), 8..12 the code's
// length (for a pointer: the second-level table's index bits), one flag of 12..16, 16..32 the
// value (literal, length or distance base, second-level table offset). No flag: an invalid
// code.
/// Entry flag: a literal byte (for the code-length table: a code-length symbol). With [`BASE`]
/// also set, two literals: the value holds the first in its low byte, the second above it, and
/// bits 8..12 the first's code length, so it can be taken alone.
const LITERAL: u32 = 1 << 12;
/// Entry flag: a match length (in the distance table: a distance; with [`LITERAL`]: two
/// literals).
const BASE: u32 = 1 << 13;
/// Entry flag: the end of the block.
const END: u32 = 1 << 14;
/// Entry flag: the code continues in the second-level table the value points at.
const SUBTABLE: u32 = 1 << 15;

/// Longest code deflate allows.
const MAX_CODE_LEN: usize = 15;
/// Bits a match takes at most: length code and extra bits, distance code and extra bits.
const MATCH_BITS: u32 = 15 + 5 + 15 + 13;
/// Output room the fast loop keeps: a whole match and a word of overshoot.
const FAST_OUT_ROOM: usize = MAX_MATCH + 8;
/// Input bytes a block header can take at most (a dynamic header is at most 563 bytes); a
/// header is started only with this much input at hand, or at the end of the input.
const MAX_HEADER_BYTES: usize = 600;

/// The low `n` bits set (`n` < 64).
#[inline(always)]
fn mask(n: u32) -> u64 {
    (1u64 << n) - 1
}

/// Bits an entry consumes: its code and the extra bits after it.
#[inline(always)]
fn entry_bits(e: u32) -> u32 {
    e & 0xff
}

/// The extra bits after an entry's code, from `bits` as they were before the entry's were
/// consumed.
#[inline(always)]
fn extra_value(bits: u64, e: u32) -> usize {
    ((bits & mask(entry_bits(e))) >> ((e >> 8) & 15)) as usize
}

/// An entry's value.
#[inline(always)]
fn entry_value(e: u32) -> usize {
    (e >> 16) as usize
}

/// A two-level Huffman decoding table of `N` entries, `BITS` index bits at the first level.
struct Table<const N: usize, const BITS: u32> {
    entries: Box<[u32; N]>,
}

impl<const N: usize, const BITS: u32> Table<N, BITS> {
    fn new() -> Self {
        Table {
            entries: Box::new([0; N]),
        }
    }

    /// The entry of the code at the bottom of `bits` (enough bits present for the longest code).
    #[inline(always)]
    fn lookup(&self, bits: u64) -> u32 {
        let e = self.entries[(bits & mask(BITS)) as usize & (N - 1)];
        if e & SUBTABLE == 0 {
            return e;
        }
        let sub = (bits >> BITS) & mask((e >> 8) & 15);
        self.entries[(entry_value(e) + sub as usize) & (N - 1)]
    }

    /// Builds the table of the canonical code with code `lengths` (0: unused symbol), `entry`
    /// giving a symbol's flag and value, and its count of extra bits. zlib's rules: an
    /// over-subscribed code is an error; so is an incomplete one, but for a single code of
    /// length 1 when `incomplete_ok` (an empty code is accepted: its every entry is invalid).
    fn build(
        &mut self,
        lengths: &[u8],
        entry: impl Fn(usize) -> (u32, u32),
        incomplete_ok: bool,
    ) -> Result<()> {
        let mut count = [0u32; MAX_CODE_LEN + 1];
        for &l in lengths {
            count[l as usize] += 1;
        }
        count[0] = 0;
        let mut left: i64 = 1;
        for &c in &count[1..] {
            left = (left << 1) - c as i64;
            if left < 0 {
                return Err(InflateError("over-subscribed Huffman code"));
            }
        }
        let longest = (1..=MAX_CODE_LEN)
            .rev()
            .find(|&l| count[l] > 0)
            .unwrap_or(0);
        if left > 0 && longest > 0 && !(incomplete_ok && longest == 1) {
            return Err(InflateError("incomplete Huffman code"));
        }
        // The first canonical code of each length.
        let mut next = [0u32; MAX_CODE_LEN + 2];
        for l in 1..=MAX_CODE_LEN {
            next[l + 1] = (next[l] + count[l]) << 1;
        }
        let codes: Vec<(usize, u32, u32)> = lengths
            .iter()
            .enumerate()
            .filter(|&(_, &l)| l > 0)
            .map(|(symbol, &l)| {
                let l = l as usize;
                let code = next[l];
                next[l] += 1;
                // Deflate sends codes from their top bit: the table is indexed by the reversal.
                (symbol, code.reverse_bits() >> (32 - l as u32), l as u32)
            })
            .collect();
        let table = &mut *self.entries;
        let first = 1usize << BITS;
        table[..first].fill(0);
        // Second-level tables, sized by the longest code under each first-level prefix.
        let mut longest_under = vec![0u32; first];
        for &(_, rev, l) in &codes {
            if l > BITS {
                let p = (rev as usize) & (first - 1);
                longest_under[p] = longest_under[p].max(l);
            }
        }
        let mut free = first;
        for (p, &l) in longest_under.iter().enumerate() {
            if l > 0 {
                let sub_bits = l - BITS;
                let size = 1usize << sub_bits;
                if free + size > N {
                    return Err(InflateError("Huffman table overflow"));
                }
                table[p] = SUBTABLE | sub_bits << 8 | (free as u32) << 16;
                table[free..free + size].fill(0);
                free += size;
            }
        }
        for &(symbol, rev, l) in &codes {
            let (flag_value, extra) = entry(symbol);
            let e = flag_value | l << 8 | (l + extra);
            if l <= BITS {
                let mut i = rev as usize;
                while i < first {
                    table[i] = e;
                    i += 1 << l;
                }
            } else {
                let p = table[(rev as usize) & (first - 1)];
                let (base, size) = (entry_value(p), 1usize << ((p >> 8) & 15));
                let mut i = (rev >> BITS) as usize;
                while i < size {
                    table[base + i] = e;
                    i += 1 << (l - BITS);
                }
            }
        }
        Ok(())
    }
}

impl Table<LITLEN_SIZE, LITLEN_BITS> {
    /// Turns every first-level literal entry whose index bits also hold the whole code of a
    /// second literal into a two-literal entry (fdeflate's and libdeflate's idea: the short codes
    /// of photographs' filtered bytes decode two per lookup).
    fn pair_literals(&mut self) {
        let first = 1usize << LITLEN_BITS;
        for i in 0..first {
            let e = self.entries[i];
            // Singles only: `e`'s first literal and length survive pairing, so entries already
            // paired still read as their first literal.
            let len = (e >> 8) & 15;
            if e & (LITERAL | BASE | SUBTABLE) != LITERAL || len >= LITLEN_BITS {
                continue;
            }
            let next = self.entries[i >> len];
            let next_len = (next >> 8) & 15;
            if next & (LITERAL | SUBTABLE) == LITERAL && len + next_len <= LITLEN_BITS {
                let second = (next >> 16) & 0xff;
                self.entries[i] = e + (BASE | next_len | second << 24);
            }
        }
    }
}

/// The literal/length symbol `symbol`'s flag and value, and its extra bits.
fn litlen_entry(symbol: usize) -> (u32, u32) {
    match symbol {
        0..=255 => (LITERAL | (symbol as u32) << 16, 0),
        256 => (END, 0),
        257..=285 => {
            let i = symbol - 257;
            (BASE | (LENGTH_BASE[i] as u32) << 16, LENGTH_EXTRA[i] as u32)
        }
        _ => (0, 0),
    }
}

/// The distance symbol `symbol`'s flag and value, and its extra bits.
fn dist_entry(symbol: usize) -> (u32, u32) {
    match symbol {
        0..=29 => (
            BASE | (DIST_BASE[symbol] as u32) << 16,
            DIST_EXTRA[symbol] as u32,
        ),
        _ => (0, 0),
    }
}

/// The bits read from the input and not yet used. Bytes move into the buffer whole, and count
/// as consumed once they do; above the `left` valid bits the buffer holds zeros or, after a
/// word refill, the bits of the bytes that come next (the next refill ORs in the same bits).
#[derive(Clone, Copy, Default)]
struct BitBuffer {
    bits: u64,
    left: u32,
    /// Zero bits appended past the end of the input (at its end only); consuming any of them
    /// means the stream was truncated.
    padding: u32,
}

impl BitBuffer {
    /// Moves whole bytes of `input` from `at` into the buffer until it holds at least `want`
    /// bits (at most 56); past the end, appends zero bytes when `end` (the input is all there
    /// is). `false` when the input ran out first and more may come.
    #[inline]
    fn fill(&mut self, input: &[u8], at: &mut usize, want: u32, end: bool) -> bool {
        self.bits &= mask(self.left);
        while self.left < want {
            match input.get(*at) {
                Some(&b) => {
                    self.bits |= (b as u64) << self.left;
                    *at += 1;
                }
                None if end => self.padding += 8,
                None => return false,
            }
            self.left += 8;
        }
        true
    }

    /// Refills to at least 56 bits from the eight bytes at `at` (which must exist).
    #[inline(always)]
    fn refill_word(&mut self, input: &[u8], at: &mut usize) {
        let word = u64::from_le_bytes(input[*at..*at + 8].try_into().unwrap_or_default());
        self.bits |= word << self.left;
        *at += (63 - self.left as usize) >> 3;
        self.left |= 56;
    }

    /// Drops `n` bits (no more than are held).
    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.bits >>= n;
        self.left -= n;
    }

    /// Takes the next `n` bits (at most 32, held).
    #[inline(always)]
    fn take(&mut self, n: u32) -> u32 {
        let v = (self.bits & mask(n)) as u32;
        self.consume(n);
        v
    }

    /// Errs if the bits used so far reach into the zero padding past the input's end.
    #[inline]
    fn check_padding(&self) -> Result<()> {
        if self.left < self.padding {
            return Err(InflateError("the stream is truncated"));
        }
        Ok(())
    }
}

/// Where the decoder is in the stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// The two-byte zlib header.
    Header,
    /// A block header, or the checksum after the final block.
    Block,
    /// A stored block with `left` bytes to copy.
    Stored { left: u16 },
    /// A Huffman block (the tables are built).
    Huffman,
    /// The big-endian Adler-32 after the final block.
    Checksum,
    /// The stream has ended (its checksum is compared as the call that read it returns).
    Done,
    /// An error stopped the stream.
    Failed,
}

/// A match of `left` more bytes from `distance` back, cut short by the output's end.
#[derive(Clone, Copy, Default)]
struct Pending {
    left: usize,
    distance: usize,
}

/// A streaming zlib decompressor.
pub struct Decompressor {
    state: State,
    buffer: BitBuffer,
    /// The current block is the stream's last.
    last_block: bool,
    pending: Pending,
    litlen: Table<LITLEN_SIZE, LITLEN_BITS>,
    dist: Table<DIST_SIZE, DIST_BITS>,
    /// Adler-32 of the output so far.
    adler: u32,
    /// The stream's stored Adler-32, once read and until compared.
    stored_adler: Option<u32>,
}

/// What [`Decompressor::step`] asks of [`Decompressor::read`].
enum Step {
    /// Go on in the new state.
    Continue,
    /// More input or more output room is needed.
    Return,
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Decompressor {
    /// A decompressor at the start of a zlib stream.
    pub fn new() -> Self {
        Decompressor {
            state: State::Header,
            buffer: BitBuffer::default(),
            last_block: false,
            pending: Pending::default(),
            litlen: Table::new(),
            dist: Table::new(),
            adler: 1,
            stored_adler: None,
        }
    }

    /// True once the whole stream, checksum included, has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Inflates from `input` into `out[out_pos..]`, `out[..out_pos]` being the output so far
    /// (back-references read it: at least the last 32 KiB of the stream's output, or all of
    /// it). `end`: `input` holds the rest of the stream. Returns (input bytes consumed, output
    /// bytes written); both are 0 only when more input or output room is needed, or the stream
    /// has ended. Not thread-safe: one stream per decompressor, used by one thread at a time.
    pub fn read(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        out_pos: usize,
        end: bool,
    ) -> Result<(usize, usize)> {
        let (mut at, mut pos) = (0, out_pos);
        let result = loop {
            match self.step(input, &mut at, out, &mut pos, end) {
                Ok(Step::Continue) => {}
                Ok(Step::Return) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        // The checksum covers every byte written, this call's included.
        self.adler = adler32_combine(
            self.adler,
            libdeflater::adler32(&out[out_pos..pos]),
            (pos - out_pos) as u64,
        );
        if let Some(stored) = self.stored_adler.take() {
            if stored != self.adler {
                self.state = State::Failed;
                return Err(InflateError("Adler-32 mismatch: the data is corrupt"));
            }
        }
        if result.is_err() {
            self.state = State::Failed;
        }
        result.map(|()| (at, pos - out_pos))
    }

    /// Takes one step in the current state.
    fn step(
        &mut self,
        input: &[u8],
        at: &mut usize,
        out: &mut [u8],
        pos: &mut usize,
        end: bool,
    ) -> Result<Step> {
        match self.state {
            State::Header => {
                if !self.buffer.fill(input, at, 16, end) {
                    return Ok(Step::Return);
                }
                let (cmf, flg) = (self.buffer.take(8), self.buffer.take(8));
                self.buffer.check_padding()?;
                if cmf & 15 != 8 || cmf >> 4 > 7 {
                    return Err(InflateError("not a zlib stream of deflate data"));
                }
                if (cmf << 8 | flg) % 31 != 0 {
                    return Err(InflateError("bad zlib header check bits"));
                }
                if flg & 32 != 0 {
                    return Err(InflateError("a preset dictionary is not supported"));
                }
                self.state = State::Block;
            }
            State::Block => {
                if self.last_block {
                    self.state = State::Checksum;
                    return Ok(Step::Continue);
                }
                if input.len() - *at < MAX_HEADER_BYTES && !end {
                    return Ok(Step::Return);
                }
                self.block_header(input, at)?;
            }
            State::Stored { left } => {
                if left == 0 {
                    self.state = State::Block;
                    return Ok(Step::Continue);
                }
                let room = out.len() - *pos;
                if room == 0 {
                    return Ok(Step::Return);
                }
                let mut n = (left as usize).min(room);
                // Whole bytes still in the bit buffer come first.
                if self.buffer.left >= 8 {
                    n = n.min(self.buffer.left as usize / 8);
                    for b in &mut out[*pos..*pos + n] {
                        *b = self.buffer.take(8) as u8;
                    }
                    self.buffer.check_padding()?;
                } else {
                    n = n.min(input.len() - *at);
                    if n == 0 {
                        if end {
                            return Err(InflateError("the stream is truncated"));
                        }
                        return Ok(Step::Return);
                    }
                    out[*pos..*pos + n].copy_from_slice(&input[*at..*at + n]);
                    *at += n;
                }
                *pos += n;
                self.state = State::Stored {
                    left: left - n as u16,
                };
            }
            State::Huffman => {
                if self.pending.left > 0 && !self.finish_match(out, pos) {
                    return Ok(Step::Return);
                }
                self.fast_loop(input, at, out, pos)?;
                if self.state == State::Huffman {
                    return self.slow_symbol(input, at, out, pos, end);
                }
            }
            State::Checksum => {
                // Skip to a byte boundary; the four bytes may be in the buffer already.
                self.buffer.consume(self.buffer.left % 8);
                if !self.buffer.fill(input, at, 32, end) {
                    return Ok(Step::Return);
                }
                let stored = self.buffer.take(32).swap_bytes();
                self.buffer.check_padding()?;
                self.stored_adler = Some(stored);
                self.state = State::Done;
            }
            State::Done => return Ok(Step::Return),
            State::Failed => return Err(InflateError("an earlier error stopped the stream")),
        }
        Ok(Step::Continue)
    }

    /// Reads a block header: a stored block's lengths, or a Huffman block's tables.
    fn block_header(&mut self, input: &[u8], at: &mut usize) -> Result<()> {
        let b = &mut self.buffer;
        b.fill(input, at, 3, true);
        let header = b.take(3);
        self.last_block = header & 1 == 1;
        match header >> 1 {
            0 => {
                b.consume(b.left % 8);
                b.fill(input, at, 32, true);
                let (len, nlen) = (b.take(16), b.take(16));
                b.check_padding()?;
                if len != !nlen & 0xffff {
                    return Err(InflateError("stored block length check failed"));
                }
                self.state = State::Stored { left: len as u16 };
            }
            1 => {
                let mut lengths = [0u8; 288 + 32];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..288].fill(8);
                lengths[288..].fill(5);
                b.check_padding()?;
                self.build_tables(&lengths[..288], &lengths[288..])?;
            }
            2 => {
                self.dynamic_header(input, at)?;
                self.buffer.check_padding()?;
            }
            _ => return Err(InflateError("invalid block type")),
        }
        Ok(())
    }

    /// Reads a dynamic Huffman block's code lengths and builds its tables.
    fn dynamic_header(&mut self, input: &[u8], at: &mut usize) -> Result<()> {
        let b = &mut self.buffer;
        b.fill(input, at, 14, true);
        let nlit = b.take(5) as usize + 257;
        let ndist = b.take(5) as usize + 1;
        let ncodelen = b.take(4) as usize + 4;
        if nlit > 286 || ndist > 30 {
            return Err(InflateError("too many length or distance symbols"));
        }
        let mut codelen_lengths = [0u8; 19];
        for &symbol in &CL_ORDER[..ncodelen] {
            b.fill(input, at, 3, true);
            codelen_lengths[symbol] = b.take(3) as u8;
        }
        let mut codelen: Table<CODELEN_SIZE, CODELEN_BITS> = Table::new();
        codelen.build(&codelen_lengths, |s| (LITERAL | (s as u32) << 16, 0), false)?;
        let mut lengths = [0u8; 286 + 30];
        let mut i = 0;
        while i < nlit + ndist {
            // A code-length code (at most 7 bits) and its repeat count (at most 7 bits).
            b.fill(input, at, 14, true);
            let e = codelen.lookup(b.bits);
            if e & LITERAL == 0 {
                return Err(InflateError("invalid code-length code"));
            }
            b.consume(entry_bits(e));
            let (value, repeat) = match entry_value(e) {
                symbol @ 0..=15 => (symbol as u8, 1),
                16 => {
                    if i == 0 {
                        return Err(InflateError("a repeat code with no length before it"));
                    }
                    (lengths[i - 1], 3 + b.take(2) as usize)
                }
                17 => (0, 3 + b.take(3) as usize),
                _ => (0, 11 + b.take(7) as usize),
            };
            if i + repeat > nlit + ndist {
                return Err(InflateError("code lengths repeat past their end"));
            }
            lengths[i..i + repeat].fill(value);
            i += repeat;
        }
        if lengths[256] == 0 {
            return Err(InflateError("the block has no end-of-block code"));
        }
        self.build_tables(&lengths[..nlit], &lengths[nlit..nlit + ndist])
    }

    /// Builds the literal/length and distance tables and enters the Huffman block.
    fn build_tables(&mut self, litlen: &[u8], dist: &[u8]) -> Result<()> {
        self.litlen.build(litlen, litlen_entry, true)?;
        self.litlen.pair_literals();
        self.dist.build(dist, dist_entry, true)?;
        self.state = State::Huffman;
        Ok(())
    }

    /// Decodes symbols while the input and the output have room for the longest one (with
    /// BMI2's variable shifts where the CPU has them, as libdeflate does).
    fn fast_loop(
        &mut self,
        input: &[u8],
        at: &mut usize,
        out: &mut [u8],
        pos: &mut usize,
    ) -> Result<()> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("bmi2") {
            // SAFETY: the CPU has BMI2.
            return unsafe { self.fast_loop_bmi2(input, at, out, pos) };
        }
        self.fast_loop_body(input, at, out, pos)
    }

    /// [`Self::fast_loop_body`] compiled for BMI2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi2")]
    unsafe fn fast_loop_bmi2(
        &mut self,
        input: &[u8],
        at: &mut usize,
        out: &mut [u8],
        pos: &mut usize,
    ) -> Result<()> {
        self.fast_loop_body(input, at, out, pos)
    }

    /// Decodes symbols while the input and the output have room for the longest one, refilling
    /// the bit buffer a word at a time; leaves the state `Block` at the block's end.
    #[inline(always)]
    fn fast_loop_body(
        &mut self,
        input: &[u8],
        at: &mut usize,
        out: &mut [u8],
        pos: &mut usize,
    ) -> Result<()> {
        let mut b = self.buffer;
        let (mut i, mut p) = (*at, *pos);
        let result = loop {
            if i + 8 > input.len() || p + FAST_OUT_ROOM > out.len() {
                break Ok(());
            }
            b.refill_word(input, &mut i);
            let mut e = self.litlen.lookup(b.bits);
            if e & LITERAL != 0 {
                // At least 56 bits are held and an entry's literals take at most 15: three
                // entries fit. Two bytes are stored either way; the second counts if paired.
                for _ in 0..3 {
                    b.consume(entry_bits(e));
                    out[p..p + 2].copy_from_slice(&((e >> 16) as u16).to_le_bytes());
                    p += 1 + ((e >> 13) & 1) as usize;
                    e = self.litlen.lookup(b.bits);
                    if e & LITERAL == 0 {
                        break;
                    }
                }
                continue;
            }
            if e & BASE != 0 {
                let (length, distance) = match self.decode_match(&mut b, e, p) {
                    Ok(m) => m,
                    Err(err) => break Err(err),
                };
                // SAFETY: `distance` is 1 or more (every distance base is) and at most `p`
                // (checked by `decode_match`), `length` at most 258 (every length base and its extra bits), and the loop
                // runs only with FAST_OUT_ROOM bytes of output from `p`.
                unsafe { copy_match(out, p, distance, length) };
                p += length;
                continue;
            }
            if e & END != 0 {
                b.consume(entry_bits(e));
                self.state = State::Block;
                break Ok(());
            }
            break Err(InflateError("invalid literal/length code"));
        };
        self.buffer = b;
        self.buffer.bits &= mask(self.buffer.left);
        (*at, *pos) = (i, p);
        result
    }

    /// The length and distance of a match whose length entry is `e`, at output position `pos`
    /// (the distance checked against it); consumes its bits (which must be held:
    /// [`MATCH_BITS`]).
    #[inline(always)]
    fn decode_match(&self, b: &mut BitBuffer, e: u32, pos: usize) -> Result<(usize, usize)> {
        let length = entry_value(e) + extra_value(b.bits, e);
        b.consume(entry_bits(e));
        let d = self.dist.lookup(b.bits);
        if d & BASE == 0 {
            return Err(InflateError("invalid distance code"));
        }
        let distance = entry_value(d) + extra_value(b.bits, d);
        b.consume(entry_bits(d));
        if distance > pos {
            return Err(InflateError("a distance reaches before the output's start"));
        }
        Ok((length, distance))
    }

    /// Decodes one symbol with every bound checked (near the end of the input or the output).
    fn slow_symbol(
        &mut self,
        input: &[u8],
        at: &mut usize,
        out: &mut [u8],
        pos: &mut usize,
        end: bool,
    ) -> Result<Step> {
        if !self.buffer.fill(input, at, MATCH_BITS, end) {
            return Ok(Step::Return);
        }
        let e = self.litlen.lookup(self.buffer.bits);
        if e & LITERAL != 0 {
            let room = out.len() - *pos;
            if room == 0 {
                return Ok(Step::Return);
            }
            // A pair's second literal waits when there is room for one byte only.
            let (bits, n) = match e & BASE != 0 && room >= 2 {
                true => (entry_bits(e), 2),
                false => ((e >> 8) & 15, 1),
            };
            self.buffer.consume(bits);
            self.buffer.check_padding()?;
            out[*pos..*pos + n].copy_from_slice(&((e >> 16) as u16).to_le_bytes()[..n]);
            *pos += n;
        } else if e & BASE != 0 {
            let mut b = self.buffer;
            let (length, distance) = self.decode_match(&mut b, e, *pos)?;
            self.buffer = b;
            self.buffer.check_padding()?;
            self.pending = Pending {
                left: length,
                distance,
            };
            self.finish_match(out, pos);
        } else if e & END != 0 {
            self.buffer.consume(entry_bits(e));
            self.buffer.check_padding()?;
            self.state = State::Block;
        } else {
            return Err(InflateError("invalid literal/length code"));
        }
        Ok(Step::Continue)
    }

    /// Copies what fits of the pending match, byte by byte; true when it is all copied.
    fn finish_match(&mut self, out: &mut [u8], pos: &mut usize) -> bool {
        let Pending { left, distance } = self.pending;
        let n = left.min(out.len() - *pos);
        for k in *pos..*pos + n {
            out[k] = out[k - distance];
        }
        *pos += n;
        self.pending.left -= n;
        self.pending.left == 0
    }
}

/// Copies the `length`-byte match at `distance` back to `out[pos..]`, overlapping as deflate
/// means (a byte may repeat bytes the same match wrote), a word at a time. May write up to 7
/// bytes past the match.
///
/// # Safety
/// `distance` is in `1..=pos`, `length` at most [`MAX_MATCH`], and `out` has [`FAST_OUT_ROOM`]
/// bytes from `pos` (the fast loop's bounds). Every word written then starts before
/// `pos + length` and ends by `pos + length + 7 < pos + FAST_OUT_ROOM`; every word read starts
/// at or after `pos - distance` and before the word written.
#[inline(always)]
unsafe fn copy_match(out: &mut [u8], pos: usize, distance: usize, length: usize) {
    debug_assert!(distance >= 1 && distance <= pos && length <= MAX_MATCH);
    debug_assert!(pos + FAST_OUT_ROOM <= out.len());
    let word = |p: *const u8| p.cast::<u64>().read_unaligned();
    let mut to = out.as_mut_ptr().add(pos);
    let end = to.add(length);
    if distance >= 8 {
        // Each word read lies wholly before the word written, in bytes already final. Most
        // matches take one word: the loop is for the rest.
        let mut from = to.sub(distance);
        to.cast::<u64>().write_unaligned(word(from));
        to = to.add(8);
        while to < end {
            from = from.add(8);
            to.cast::<u64>().write_unaligned(word(from));
            to = to.add(8);
        }
    } else {
        // A period shorter than a word: a word of the period's bytes, repeated (doubled in a
        // register, not copied byte by byte), written every whole number of periods.
        let bits = 8 * distance as u32;
        let mut pattern = u64::from_le(word(to.sub(distance))) & mask(bits);
        let mut filled = bits;
        while filled < 64 {
            pattern |= pattern << filled;
            filled *= 2;
        }
        let step = 8 - 8 % distance;
        loop {
            to.cast::<u64>().write_unaligned(pattern.to_le());
            to = to.add(step);
            if to >= end {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How far back deflate may refer.
    const WINDOW: usize = 32 << 10;

    /// Inflates `z` the way the PNG decoder does: input handed over `in_step` bytes at a time,
    /// output asked for `out_step` bytes at a time into a buffer that keeps the last 32 KiB.
    fn inflate(z: &[u8], in_step: usize, out_step: usize) -> Result<Vec<u8>> {
        let mut d = Decompressor::new();
        let mut buf = vec![0u8; WINDOW + 3 * out_step.max(300)];
        let (mut out_at, mut given, mut used) = (0, 0, 0);
        let mut result = Vec::new();
        while !d.is_done() {
            if out_at + out_step > buf.len() {
                buf.copy_within(out_at - WINDOW..out_at, 0);
                out_at = WINDOW;
            }
            given = given.max(used).min(z.len());
            let end = given == z.len();
            let (u, p) = d.read(&z[used..given], &mut buf[..out_at + out_step], out_at, end)?;
            result.extend_from_slice(&buf[out_at..out_at + p]);
            (used, out_at) = (used + u, out_at + p);
            if u == 0 && p == 0 {
                if end {
                    return Err(InflateError("no progress at the end of the input"));
                }
                given += in_step;
            }
        }
        Ok(result)
    }

    /// Bytes with runs, repeats near and far, small differences and noise.
    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        let mut data = Vec::with_capacity(len);
        while data.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = (state % 300) as usize + 1;
            match (state >> 20) % 5 {
                0 => data.extend(std::iter::repeat((state >> 40) as u8).take(n)),
                1 if data.len() > 40_000 => {
                    let from = data.len() - 1 - (state >> 30) as usize % 33_000;
                    for k in 0..n {
                        let b = data[from + k % (data.len() - from)];
                        data.push(b);
                    }
                }
                2 => data.extend((0..n).map(|k| (k as u64 * (state >> 50)) as u8 % 7)),
                _ => data.extend((0..n).map(|k| (state >> (k % 56)) as u8)),
            }
        }
        data.truncate(len);
        data
    }

    fn zlib(data: &[u8], level: i32) -> Vec<u8> {
        let level = libdeflater::CompressionLvl::new(level).unwrap();
        let mut c = libdeflater::Compressor::new(level);
        let mut z = vec![0; c.zlib_compress_bound(data.len())];
        let n = c.zlib_compress(data, &mut z).unwrap();
        z.truncate(n);
        z
    }

    /// Streams of every block type: libdeflate's at levels 0 (stored) to 12, imkit's own
    /// segmented deflater (empty stored blocks between segments), and zlib's fixed-Huffman
    /// block for a short text (made with Python's zlib.compress(..., 9)).
    fn streams() -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut all = Vec::new();
        for (len, seed) in [(0, 1), (1, 2), (100, 3), (70_000, 4), (300_000, 5)] {
            let data = sample(len, seed);
            for level in [0, 1, 6, 12] {
                all.push((zlib(&data, level), data.clone()));
            }
            let mut z = crate::codec::deflate::ZLIB_HEADER.to_vec();
            let half = data.len() / 2;
            z.extend(crate::codec::deflate::compress_segment(
                &data[..half],
                false,
            ));
            z.extend(crate::codec::deflate::compress_segment(&data[half..], true));
            z.extend(libdeflater::adler32(&data).to_be_bytes());
            all.push((z, data));
        }
        let fixed = [
            0x78, 0xda, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x27, 0x01, 0x68, 0x03,
            0x08, 0xb1,
        ];
        all.push((fixed.to_vec(), b"hello hello hello hello".to_vec()));
        all
    }

    #[test]
    fn inflates_every_block_type_whatever_the_steps() {
        let all = streams();
        let block_type = |z: &[u8]| z.get(2).map(|b| (b >> 1) & 3);
        for kind in 0..3 {
            assert!(
                all.iter().any(|(z, _)| block_type(z) == Some(kind)),
                "no block of type {kind}"
            );
        }
        for (z, data) in &all {
            for (in_step, out_step) in [
                (1 << 20, 1 << 20),
                (1, 1),
                (7, 300),
                (600, 13),
                (4096, 65_536),
            ] {
                let got = inflate(z, in_step, out_step).unwrap();
                assert!(
                    got == *data,
                    "{} bytes, steps {in_step}/{out_step}",
                    data.len()
                );
            }
        }
    }

    #[test]
    fn a_truncated_stream_is_an_error_never_a_panic() {
        let data = sample(5000, 9);
        for z in [zlib(&data, 6), zlib(&data, 0)] {
            for cut in 0..z.len() {
                assert!(
                    inflate(&z[..cut], 1 << 20, 1 << 20).is_err(),
                    "cut at {cut}"
                );
            }
        }
    }

    /// Flipped bits: never a panic, and whatever inflates is what libdeflate makes of it too
    /// (the Adler-32 catches most damage, not all: another copy can give the same sums).
    #[test]
    fn corrupt_streams_are_errors_or_what_libdeflate_reads() {
        let data = sample(20_000, 11);
        let z = zlib(&data, 6);
        let mut reference = libdeflater::Decompressor::new();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let (mut failed, mut tries) = (0, 0);
        while tries < 3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bad = z.clone();
            let at = 2 + (state as usize) % (bad.len() - 2);
            bad[at] ^= 1 << ((state >> 32) % 8);
            tries += 1;
            match inflate(&bad, 1 << 20, 1 << 20) {
                Ok(got) => {
                    let mut theirs = vec![0; got.len()];
                    let n = reference.zlib_decompress(&bad, &mut theirs);
                    assert!(n == Ok(got.len()) && theirs == got, "a flipped bit at {at}");
                }
                Err(_) => failed += 1,
            }
        }
        assert!(
            failed > tries * 9 / 10,
            "only {failed} of {tries} flips were caught"
        );
    }

    /// Random bytes after a valid header: random block types, code lengths and symbols.
    #[test]
    fn random_streams_are_errors_or_what_libdeflate_reads() {
        let mut reference = libdeflater::Decompressor::new();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 400) as usize;
            let mut z = vec![0x78, 0x9c];
            let mut word = state;
            z.extend((0..len).map(|_| {
                word = word
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (word >> 56) as u8
            }));
            for (in_step, out_step) in [(1 << 20, 1 << 20), (3, 5)] {
                if let Ok(got) = inflate(&z, in_step, out_step) {
                    let mut theirs = vec![0; got.len() + 1];
                    let n = reference.zlib_decompress(&z, &mut theirs);
                    assert!(n == Ok(got.len()) && theirs[..got.len()] == got[..]);
                }
            }
        }
    }

    #[test]
    fn names_what_is_wrong() {
        let err = |z: &[u8]| inflate(z, 1 << 20, 1 << 20).unwrap_err().to_string();
        assert!(err(&[0x78, 0x9d, 0x03, 0x00]).contains("header check"));
        assert!(err(&[0x79, 0x9c, 0x03, 0x00]).contains("not a zlib stream"));
        assert!(err(&[0x78, 0xbb, 0, 0, 0, 1]).contains("preset dictionary"));
        // Block type 3.
        assert!(err(&[0x78, 0x9c, 0x07, 0, 0, 0, 0]).contains("invalid block type"));
        // A stored block whose length check is wrong.
        assert!(
            err(&[0x78, 0x9c, 0x01, 0x05, 0x00, 0xfa, 0xfe, 1, 2, 3, 4, 5])
                .contains("length check")
        );
        // A fixed block whose first symbol is a match: nothing before it to copy.
        assert!(err(&[0x78, 0x9c, 0x03, 0x02, 0x00, 0, 0, 0, 0]).contains("before the output"));
        let data = sample(1000, 3);
        let mut z = zlib(&data, 6);
        let last = z.len() - 1;
        z[last] ^= 1;
        assert!(err(&z).contains("Adler-32"));
    }

    #[test]
    fn agrees_with_libdeflate_on_a_large_stream() {
        let data = sample(3 << 20, 21);
        let z = zlib(&data, 3);
        assert!(inflate(&z, 256 << 10, 512 << 10).unwrap() == data);
    }
}
