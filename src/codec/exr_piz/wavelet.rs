//! OpenEXR's 2-D Haar wavelet of a channel's plane of 16-bit words (`wav2Encode` /
//! `wav2Decode`), level by level over the plane's smaller side. Blocks whose renumbered values
//! all lie below 2^14 use the 14-bit steps (signed mean and difference), others the 16-bit ones
//! (modulo 2^16); both are exact inverses on their domain. A 32-bit sample is two words, each
//! transformed on its own as OpenEXR does (a plane per word), here both in one pass.

/// OpenEXR's 14-bit wavelet step: the mean and the difference of `a` and `b` as signed values.
#[inline(always)]
fn wenc14(a: u16, b: u16) -> (u16, u16) {
    let (a, b) = (a as i16 as i32, b as i16 as i32);
    (((a + b) >> 1) as u16, (a - b) as u16)
}

/// OpenEXR's 16-bit wavelet step, modulo 2^16.
#[inline(always)]
fn wenc16(a: u16, b: u16) -> (u16, u16) {
    let ao = (a as i32 + 0x8000) & 0xffff;
    let mut m = (ao + b as i32) >> 1;
    let d = ao - b as i32;
    if d < 0 {
        m = (m + 0x8000) & 0xffff;
    }
    (m as u16, (d & 0xffff) as u16)
}

/// OpenEXR's 14-bit inverse step: `a` and `b` back from their mean `l` and difference `h`.
#[inline(always)]
fn wdec14(l: u16, h: u16) -> (u16, u16) {
    let (ls, hi) = (l as i16 as i32, h as i16 as i32);
    let ai = ls + (hi & 1) + (hi >> 1);
    (ai as u16, (ai - hi) as u16)
}

/// OpenEXR's 16-bit inverse step, modulo 2^16.
#[inline(always)]
fn wdec16(l: u16, h: u16) -> (u16, u16) {
    let (m, d) = (l as i32, h as i32);
    let b = (m - (d >> 1)) & 0xffff;
    let a = (d + b - 0x8000) & 0xffff;
    (a as u16, b as u16)
}

/// OpenEXR's `wav2Encode` of a `nx` x `ny` plane of samples of `words` words (each word of a
/// sample transformed as its own plane), finest level first.
pub(super) fn wavelet_encode(data: &mut [u16], nx: usize, ny: usize, words: usize, max: u16) {
    let mut p = 1;
    while 2 * p <= nx.min(ny) {
        if max < (1 << 14) {
            level_for(data, nx, ny, words, p, encode_quad(wenc14), wenc14);
        } else {
            level_for(data, nx, ny, words, p, encode_quad(wenc16), wenc16);
        }
        p *= 2;
    }
}

/// OpenEXR's `wav2Decode`, the inverse of [`wavelet_encode`] with the same arguments: the
/// levels coarsest first.
pub(super) fn wavelet_decode(data: &mut [u16], nx: usize, ny: usize, words: usize, max: u16) {
    let mut p = 1;
    while 4 * p <= nx.min(ny) {
        p *= 2;
    }
    while p >= 1 && 2 * p <= nx.min(ny) {
        if max < (1 << 14) {
            level_for(data, nx, ny, words, p, decode_quad(wdec14), wdec14);
        } else {
            level_for(data, nx, ny, words, p, decode_quad(wdec16), wdec16);
        }
        p /= 2;
    }
}

/// The forward step of a 2x2 group `[a, b, c, d]` (`b` right of `a`, `c` below): along the
/// lines, then down the columns.
#[inline(always)]
fn encode_quad(step: impl Fn(u16, u16) -> (u16, u16)) -> impl Fn([u16; 4]) -> [u16; 4] {
    move |[a, b, c, d]| {
        let (i00, i01) = step(a, b);
        let (i10, i11) = step(c, d);
        let (a, c) = step(i00, i10);
        let (b, d) = step(i01, i11);
        [a, b, c, d]
    }
}

/// The inverse of [`encode_quad`]: down the columns, then along the lines.
#[inline(always)]
fn decode_quad(step: impl Fn(u16, u16) -> (u16, u16)) -> impl Fn([u16; 4]) -> [u16; 4] {
    move |[a, b, c, d]| {
        let (i00, i10) = step(a, c);
        let (i01, i11) = step(b, d);
        let (a, b) = step(i00, i01);
        let (c, d) = step(i10, i11);
        [a, b, c, d]
    }
}

/// [`level`] with the sample size a constant for the sizes EXR has (1 and 2 words).
#[inline(always)]
fn level_for(
    data: &mut [u16],
    nx: usize,
    ny: usize,
    words: usize,
    p: usize,
    quad: impl Fn([u16; 4]) -> [u16; 4],
    pair: impl Fn(u16, u16) -> (u16, u16),
) {
    match words {
        1 => level(data, nx, ny, 1, p, quad, pair),
        2 => level(data, nx, ny, 2, p, quad, pair),
        w => level(data, nx, ny, w, p, quad, pair),
    }
}

/// One level of OpenEXR's traversal, samples `p` apart: `quad` on every 2x2 group of each
/// word, then `pair` on the pairs of an odd column (vertical) and an odd line (horizontal)
/// that have no group.
#[inline(always)]
fn level(
    data: &mut [u16],
    nx: usize,
    ny: usize,
    words: usize,
    p: usize,
    quad: impl Fn([u16; 4]) -> [u16; 4],
    pair: impl Fn(u16, u16) -> (u16, u16),
) {
    let line = nx * words;
    // Offsets of the right neighbour and of the line below; a group spans twice each.
    let (right, below) = (words * p, line * p);
    let mut bands = data[..line * ny].chunks_exact_mut(2 * below);
    for band in &mut bands {
        let (top, bottom) = band.split_at_mut(below);
        let mut upper = top[..line].chunks_exact_mut(2 * right);
        let mut lower = bottom[..line].chunks_exact_mut(2 * right);
        for (u, l) in (&mut upper).zip(&mut lower) {
            let (a, b) = u.split_at_mut(right);
            let (c, d) = l.split_at_mut(right);
            for j in 0..words {
                [a[j], b[j], c[j], d[j]] = quad([a[j], b[j], c[j], d[j]]);
            }
        }
        if nx & p != 0 {
            let (u, l) = (upper.into_remainder(), lower.into_remainder());
            for j in 0..words {
                (u[j], l[j]) = pair(u[j], l[j]);
            }
        }
    }
    if ny & p != 0 {
        let odd_line = &mut bands.into_remainder()[..line];
        for group in odd_line.chunks_exact_mut(2 * right) {
            let (a, b) = group.split_at_mut(right);
            for j in 0..words {
                (a[j], b[j]) = pair(a[j], b[j]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_invert() {
        for (a, b) in [
            (0u16, 0u16),
            (1, 2),
            (0x3fff, 0),
            (0xffff, 1),
            (12345, 54321),
        ] {
            assert_eq!(wdec16(wenc16(a, b).0, wenc16(a, b).1), (a, b));
        }
        // The 14-bit steps are exact for values below 2^14.
        for (a, b) in [(0u16, 0u16), (1, 2), (0x3fff, 0), (0, 0x3fff), (777, 12000)] {
            let (l, h) = wenc14(a, b);
            assert_eq!(wdec14(l, h), (a, b));
        }
    }

    /// The 2-D transform inverts on odd and even sizes, interleaved words (two per sample)
    /// and both kinds of step.
    #[test]
    fn planes_invert() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for (nx, ny, words, max) in [
            (1, 1, 1, 100u16),
            (7, 3, 1, 0x3fff),
            (33, 32, 2, 0x3fff),
            (64, 5, 1, 0xffff),
            (13, 17, 2, 0xffff),
        ] {
            let len = nx * ny * words;
            let original: Vec<u16> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % (max as u64 + 1)) as u16
                })
                .collect();
            let mut data = original.clone();
            wavelet_encode(&mut data, nx, ny, words, max);
            if nx.min(ny) > 1 {
                assert_ne!(data, original, "{nx}x{ny}: the transform changed nothing");
            }
            wavelet_decode(&mut data, nx, ny, words, max);
            assert_eq!(data, original, "{nx}x{ny}x{words}, max {max}");
        }
    }
}
