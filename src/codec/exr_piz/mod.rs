//! OpenEXR's PIZ compression of one block, both ways, step by step as OpenEXR's own
//! `PizCompressor` does it, so that every PIZ reader decodes what imkit writes and imkit decodes
//! what any PIZ writer wrote. A block's 16-bit words (channel by channel, line by line; a
//! 32-bit sample is two words) are renumbered through a table of the values that occur (a
//! bitmap of them is stored), each channel goes through a 2-D Haar wavelet ([`wavelet`]), and
//! the result is Huffman coded with OpenEXR's canonical code, its packed code-length table and
//! its run-length pseudo-symbol.
//!
//! [`encode`] writes blocks (the output depends only on the block's samples); [`decode`]
//! reads them, checking every count, offset and table entry of the data first.

mod decode;
mod encode;
mod wavelet;

pub(crate) use decode::decompress;
pub(crate) use encode::compress;

/// Bytes of the bitmap of used 16-bit values.
const BITMAP_SIZE: usize = 1 << 13;
/// Huffman alphabet: every 16-bit value and the run-length pseudo-symbol.
const HUF_ENCSIZE: usize = (1 << 16) + 1;
/// Longest Huffman code PIZ allows.
const MAX_CODE_BITS: usize = 58;
/// Code-length table escapes: a short run of zero lengths, and a long one with an 8-bit count.
const SHORT_ZEROCODE_RUN: u64 = 59;
const LONG_ZEROCODE_RUN: u64 = 63;
const SHORTEST_LONG_RUN: usize = 2 + (LONG_ZEROCODE_RUN - SHORT_ZEROCODE_RUN) as usize;
const LONGEST_LONG_RUN: usize = 255 + SHORTEST_LONG_RUN;

/// One channel's words in the block buffer: `width` words per sample row times `words` (the
/// sample size in 16-bit words), `height` lines.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plane {
    /// Samples per line.
    pub(crate) width: usize,
    /// Lines.
    pub(crate) height: usize,
    /// 16-bit words per sample (1 for half, 2 for float and uint).
    pub(crate) words: usize,
}

impl Plane {
    /// Words of the whole plane.
    fn len(&self) -> usize {
        self.width * self.words * self.height
    }
}

/// Each plane with its words, `words` holding the planes one after another (as the wavelet
/// sees them).
fn split_planes<'a>(
    mut words: &'a mut [u16],
    planes: &'a [Plane],
) -> impl Iterator<Item = (&'a Plane, &'a mut [u16])> {
    planes.iter().map(move |plane| {
        let (these, rest) = std::mem::take(&mut words).split_at_mut(plane.len());
        words = rest;
        (plane, these)
    })
}

/// OpenEXR's canonical code numbering (`hufCanonicalCodeTable`): given how many codes have
/// each length, the first code of each length. Longer codes come numerically first; the codes
/// of one length are consecutive, in symbol order.
fn first_codes(counts: &[u64; MAX_CODE_BITS + 1]) -> [u64; MAX_CODE_BITS + 1] {
    let mut first = [0u64; MAX_CODE_BITS + 1];
    let mut c = 0u64;
    for l in (1..=MAX_CODE_BITS).rev() {
        first[l] = c;
        c = (c + counts[l]) >> 1;
    }
    first
}
