//! OpenEXR's 2-D Haar wavelet of a plane of 16-bit words (`wav2Encode` / `wav2Decode`), level
//! by level over the plane's smaller side. Blocks whose renumbered values all lie below 2^14
//! use the 14-bit steps (signed mean and difference), others the 16-bit ones (modulo 2^16);
//! both are exact inverses on their domain.

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

/// OpenEXR's `wav2Dencode`: the 2-D wavelet of the `nx` × `ny` words at `data[0]`, `ox`
/// apart along a line and `oy` apart between lines, level by level over the smaller side;
/// 14-bit steps when every value is below 2^14, else 16-bit ones.
pub(super) fn wavelet_encode(
    data: &mut [u16],
    nx: usize,
    ox: usize,
    ny: usize,
    oy: usize,
    max: u16,
) {
    if max < (1 << 14) {
        wavelet_levels(data, nx, ox, ny, oy, wenc14);
    } else {
        wavelet_levels(data, nx, ox, ny, oy, wenc16);
    }
}

/// The levels of [`wavelet_encode`] with one kind of step (inlined).
#[inline(always)]
fn wavelet_levels(
    data: &mut [u16],
    nx: usize,
    ox: usize,
    ny: usize,
    oy: usize,
    step: impl Fn(u16, u16) -> (u16, u16),
) {
    let n = nx.min(ny);
    let (mut p, mut p2) = (1, 2);
    while p2 <= n {
        let (ox1, ox2, oy1, oy2) = (ox * p, ox * p2, oy * p, oy * p2);
        let mut py = 0;
        let ey = oy * (ny - p2);
        while py <= ey {
            let mut px = py;
            let ex = py + ox * (nx - p2);
            while px <= ex {
                let (p01, p10) = (px + ox1, px + oy1);
                let p11 = p10 + ox1;
                let (i00, i01) = step(data[px], data[p01]);
                let (i10, i11) = step(data[p10], data[p11]);
                (data[px], data[p10]) = step(i00, i10);
                (data[p01], data[p11]) = step(i01, i11);
                px += ox2;
            }
            if nx & p != 0 {
                let p10 = px + oy1;
                (data[px], data[p10]) = step(data[px], data[p10]);
            }
            py += oy2;
        }
        if ny & p != 0 {
            let mut px = py;
            let ex = py + ox * (nx - p2);
            while px <= ex {
                let p01 = px + ox1;
                (data[px], data[p01]) = step(data[px], data[p01]);
                px += ox2;
            }
        }
        p = p2;
        p2 <<= 1;
    }
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

/// OpenEXR's `wav2Decode`, the inverse of [`wavelet_encode`] with the same arguments. Every
/// index it touches is below `ox * (nx - 1) + oy * (ny - 1) + 1`, which the caller's slice
/// covers.
pub(super) fn wavelet_decode(
    data: &mut [u16],
    nx: usize,
    ox: usize,
    ny: usize,
    oy: usize,
    max: u16,
) {
    if max < (1 << 14) {
        inverse_levels(data, nx, ox, ny, oy, wdec14);
    } else {
        inverse_levels(data, nx, ox, ny, oy, wdec16);
    }
}

/// The levels of [`wavelet_decode`], coarsest first, with one kind of step (inlined).
#[inline(always)]
fn inverse_levels(
    data: &mut [u16],
    nx: usize,
    ox: usize,
    ny: usize,
    oy: usize,
    step: impl Fn(u16, u16) -> (u16, u16),
) {
    let n = nx.min(ny);
    // The coarsest level the encoder reached: the largest power of two p2 <= n.
    let mut p2 = 1;
    while p2 <= n {
        p2 <<= 1;
    }
    p2 >>= 1;
    let mut p = p2 >> 1;
    while p >= 1 {
        let (ox1, ox2, oy1, oy2) = (ox * p, ox * p2, oy * p, oy * p2);
        let mut py = 0;
        let ey = oy * (ny - p2);
        while py <= ey {
            let mut px = py;
            let ex = py + ox * (nx - p2);
            while px <= ex {
                let (p01, p10) = (px + ox1, px + oy1);
                let p11 = p10 + ox1;
                let (i00, i10) = step(data[px], data[p10]);
                let (i01, i11) = step(data[p01], data[p11]);
                (data[px], data[p01]) = step(i00, i01);
                (data[p10], data[p11]) = step(i10, i11);
                px += ox2;
            }
            if nx & p != 0 {
                let p10 = px + oy1;
                (data[px], data[p10]) = step(data[px], data[p10]);
            }
            py += oy2;
        }
        if ny & p != 0 {
            let mut px = py;
            let ex = py + ox * (nx - p2);
            while px <= ex {
                let p01 = px + ox1;
                (data[px], data[p01]) = step(data[px], data[p01]);
                px += ox2;
            }
        }
        p2 = p;
        p >>= 1;
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
            for j in 0..words {
                wavelet_encode(&mut data[j..], nx, words, ny, nx * words, max);
            }
            if nx.min(ny) > 1 {
                assert_ne!(data, original, "{nx}x{ny}: the transform changed nothing");
            }
            for j in 0..words {
                wavelet_decode(&mut data[j..], nx, words, ny, nx * words, max);
            }
            assert_eq!(data, original, "{nx}x{ny}x{words}, max {max}");
        }
    }
}
