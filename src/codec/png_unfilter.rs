//! Reversing PNG's per-row filters on blocks of filtered scanlines.
//!
//! Paeth and Avg are the slow filters: each pixel needs the one to its left, so a row is one
//! long chain of dependent operations and the CPU idles waiting on it. Two measures shorten it:
//! - on x86_64, pixels of 3, 4, 6 or 8 bytes (u8 and u16 RGB/RGBA) are predicted with SSE2 (every
//!   x86_64 CPU has it), all channels of a pixel at once in 16-bit lanes and without branches
//!   ([`sse2`]), about a third of the instructions of the scalar Paeth;
//! - two consecutive rows of the same of these filters are independent chains once the upper
//!   one's pixel is known, so they are unfiltered together: pixels of up to 4 bytes as a
//!   wavefront in one register (pixel `t` of the upper row beside pixel `t - 1` of the lower,
//!   one prediction for both: 1.34 -> 1.0 ns a byte for RGB Paeth against two chains side by
//!   side), larger ones as two chains the CPU overlaps (about 1.5x faster than one row at a
//!   time).
//!
//! Every other filter, and Paeth or Avg on other pixel sizes or targets when not paired, goes
//! through the `png` crate's own unfilter (vectorised per pixel size), exported by its
//! `benchmarks` feature.

/// PNG's filter type byte for Avg.
const AVG: u8 = 3;
/// PNG's filter type byte for Paeth.
const PAETH: u8 = 4;

/// Reverses PNG filter `kind` on `row` in place, `prev` being the unfiltered row above (empty:
/// zeros); `false` for an unknown filter.
pub(crate) fn unfilter(kind: u8, row: &mut [u8], prev: &[u8], bpp: usize) -> bool {
    let filter = match kind {
        0 => return true,
        1 => png::Filter::Sub,
        2 => png::Filter::Up,
        AVG | PAETH if vector_row(kind, bpp, prev, row) => return true,
        AVG => png::Filter::Avg,
        PAETH => png::Filter::Paeth,
        _ => return false,
    };
    png::benchable_apis::unfilter(filter, bpp as u8, prev, row);
    true
}

/// Unfilters `lines`, whole filtered scanlines of `row_len + 1` bytes (filter byte first), in
/// place; `above` holds the unfiltered row above the first line (zeros at the top of the image)
/// and is left holding the last line's. `Err(i)` names the first line with an unknown filter.
pub(crate) fn unfilter_lines(
    lines: &mut [u8],
    above: &mut [u8],
    bpp: usize,
) -> std::result::Result<(), usize> {
    let row_len = above.len();
    let stride = row_len + 1;
    debug_assert_eq!(lines.len() % stride, 0);
    let count = lines.len() / stride;
    let mut y = 0;
    while y < count {
        let (done, rest) = lines.split_at_mut(y * stride);
        let prev: &[u8] = match y {
            0 => above,
            _ => &done[done.len() - row_len..],
        };
        let kind = rest[0];
        let paired = (kind == PAETH || kind == AVG) && rest.get(stride) == Some(&kind);
        if paired && unfilter_pair(kind, bpp, prev, &mut rest[..2 * stride]) {
            y += 2;
            continue;
        }
        let (kind, row) = (rest[0], &mut rest[1..stride]);
        if !unfilter(kind, row, prev, bpp) {
            return Err(y);
        }
        y += 1;
    }
    if count > 0 {
        above.copy_from_slice(&lines[lines.len() - row_len..]);
    }
    Ok(())
}

/// Unfilters two lines of filter `kind` (Paeth or Avg; `pair`: both scanlines, filter bytes
/// included) below `prev`; `false` (nothing done) for a filter or pixel size without a paired
/// version.
fn unfilter_pair(kind: u8, bpp: usize, prev: &[u8], pair: &mut [u8]) -> bool {
    let (upper, lower) = pair.split_at_mut(pair.len() / 2);
    let (upper, lower) = (&mut upper[1..], &mut lower[1..]);
    #[cfg(target_arch = "x86_64")]
    if sse2::pair(sse2::has_avx(), kind == AVG, bpp, prev, upper, lower) {
        return true;
    }
    if kind != PAETH {
        return false;
    }
    match bpp {
        1 => paeth_pair_n::<1>(prev, upper, lower),
        2 => paeth_pair_n::<2>(prev, upper, lower),
        3 => paeth_pair_n::<3>(prev, upper, lower),
        4 => paeth_pair_n::<4>(prev, upper, lower),
        6 => paeth_pair_n::<6>(prev, upper, lower),
        8 => paeth_pair_n::<8>(prev, upper, lower),
        _ => return false,
    }
    true
}

/// Unfilters one `row` of filter `kind` (Paeth or Avg) below `prev` where a vector version
/// exists for `bpp` (x86_64, 3, 4, 6 or 8 bytes a pixel, `prev` as long as `row`); `false`
/// (nothing done) otherwise.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn vector_row(kind: u8, bpp: usize, prev: &[u8], row: &mut [u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if prev.len() == row.len() {
        return sse2::row(sse2::has_avx(), kind == AVG, bpp, prev, row);
    }
    false
}

/// Paeth-unfilters `upper` (below `prev`) and `lower` (below `upper`) together, one pixel of
/// each in turn, `BPP` bytes a pixel.
#[inline(always)]
fn paeth_pair_n<const BPP: usize>(prev: &[u8], upper: &mut [u8], lower: &mut [u8]) {
    // Left (a) and upper-left (c) neighbours of the current pixel, per row.
    let (mut a0, mut c0) = ([0i16; BPP], [0i16; BPP]);
    let (mut a1, mut c1) = ([0i16; BPP], [0i16; BPP]);
    let pixels = prev
        .chunks_exact(BPP)
        .zip(upper.chunks_exact_mut(BPP))
        .zip(lower.chunks_exact_mut(BPP));
    for ((p, x0), x1) in pixels {
        for i in 0..BPP {
            let b0 = i16::from(p[i]);
            let v0 = x0[i].wrapping_add(paeth_predictor(a0[i], b0, c0[i]));
            x0[i] = v0;
            let b1 = i16::from(v0);
            let v1 = x1[i].wrapping_add(paeth_predictor(a1[i], b1, c1[i]));
            x1[i] = v1;
            (a0[i], c0[i]) = (b1, b0);
            (a1[i], c1[i]) = (i16::from(v1), b1);
        }
    }
}

/// PNG's Paeth predictor of left `a`, above `b` and upper-left `c`, in a branch-free form
/// equivalent to the specification's (stb_image's formulation).
#[inline(always)]
fn paeth_predictor(a: i16, b: i16, c: i16) -> u8 {
    let thresh = c * 3 - (a + b);
    let (lo, hi) = (a.min(b), a.max(b));
    let t0 = if hi <= thresh { lo } else { c };
    let t1 = if thresh <= lo { hi } else { t0 };
    t1 as u8
}

/// Paeth and Avg with SSE2: one pixel (up to 8 bytes) at a time, each byte in a 16-bit lane, the
/// predictor computed branch-free on all lanes at once (Paeth with [`paeth_predictor`]'s
/// formula); `AVG` in the const parameters chooses Avg. The
/// one-row and two-chain loops are also compiled for AVX, chosen at run time where the CPU
/// has it: its three-operand instructions save the register copies SSE2 needs (about a fifth
/// of the loop). The 3- and 4-byte wavefront stays SSE2: compiled for AVX, LLVM turns its
/// selects into `vpblendvb` and it ran slower (0.91 -> 1.14 ns/B, 2.1 GHz Xeon).
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// The `BPP` bytes at `at` of `row` in the low lanes. `WIDE`: 8 bytes are loaded at once
    /// (the row must hold them; the lanes above `BPP` then hold what follows and never reach
    /// the output), else only `BPP` (zeros above).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load<const BPP: usize, const WIDE: bool>(row: &[u8], at: usize) -> __m128i {
        let mut bytes = [0u8; 8];
        if WIDE {
            bytes.copy_from_slice(&row[at..at + 8]);
        } else {
            bytes[..BPP].copy_from_slice(&row[at..at + BPP]);
        }
        let packed = _mm_cvtsi64_si128(i64::from_le_bytes(bytes));
        _mm_unpacklo_epi8(packed, _mm_setzero_si128())
    }

    /// Writes the low `BPP` lanes of `px` (each a byte value) at `at` of `row`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn store<const BPP: usize>(row: &mut [u8], at: usize, px: __m128i) {
        let bytes = _mm_cvtsi128_si64(_mm_packus_epi16(px, px)).to_le_bytes();
        row[at..at + BPP].copy_from_slice(&bytes[..BPP]);
    }

    /// `x` plus the Paeth predictor of left `a`, above `b` and upper-left `c`, modulo 256, in
    /// every lane (all byte values).
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn decode(x: __m128i, a: __m128i, b: __m128i, c: __m128i) -> __m128i {
        let thresh = _mm_sub_epi16(_mm_add_epi16(c, _mm_add_epi16(c, c)), _mm_add_epi16(a, b));
        let (lo, hi) = (_mm_min_epi16(a, b), _mm_max_epi16(a, b));
        // hi <= thresh ? lo : c, then thresh <= lo ? hi : that.
        let take_c = _mm_cmpgt_epi16(hi, thresh);
        let t0 = _mm_or_si128(_mm_and_si128(take_c, c), _mm_andnot_si128(take_c, lo));
        let keep_t0 = _mm_cmpgt_epi16(thresh, lo);
        let t1 = _mm_or_si128(_mm_and_si128(keep_t0, t0), _mm_andnot_si128(keep_t0, hi));
        // Both are bytes in 16-bit lanes: a byte add wraps modulo 256 and leaves the high byte 0.
        _mm_add_epi8(x, t1)
    }

    /// `x` plus Paeth's (or, if `AVG`, Avg's: the mean of `a` and `b`, rounded down) prediction,
    /// modulo 256, in every lane.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn predict<const AVG: bool>(x: __m128i, a: __m128i, b: __m128i, c: __m128i) -> __m128i {
        if AVG {
            _mm_add_epi8(x, _mm_srli_epi16(_mm_add_epi16(a, b), 1))
        } else {
            decode(x, a, b, c)
        }
    }

    /// Whether the CPU has AVX (checked once; the standard library caches the answer).
    pub(super) fn has_avx() -> bool {
        std::is_x86_feature_detected!("avx")
    }

    /// Unfilters `row` below `prev` (as long), Paeth (Avg if `avg`), for 3, 4, 6 or 8 bytes a
    /// pixel, with AVX (which the CPU must have) or SSE2 only; `false` (nothing done) for
    /// other sizes.
    pub(super) fn row(avx: bool, avg: bool, bpp: usize, prev: &[u8], row: &mut [u8]) -> bool {
        match avg {
            true => row_of::<true>(avx, bpp, prev, row),
            false => row_of::<false>(avx, bpp, prev, row),
        }
    }

    /// [`row`] for one filter.
    fn row_of<const AVG: bool>(avx: bool, bpp: usize, prev: &[u8], row: &mut [u8]) -> bool {
        assert!(!avx || has_avx(), "AVX asked for on a CPU without it");
        // SAFETY: SSE2 is part of the x86_64 baseline; AVX only where the CPU reports it.
        unsafe {
            match (bpp, avx) {
                (3, false) => row_n::<AVG, 3>(prev, row),
                (4, false) => row_n::<AVG, 4>(prev, row),
                (6, false) => row_n::<AVG, 6>(prev, row),
                (8, false) => row_n::<AVG, 8>(prev, row),
                (3, true) => row_avx::<AVG, 3>(prev, row),
                (4, true) => row_avx::<AVG, 4>(prev, row),
                (6, true) => row_avx::<AVG, 6>(prev, row),
                (8, true) => row_avx::<AVG, 8>(prev, row),
                _ => return false,
            }
        }
        true
    }

    /// Unfilters `upper` (below `prev`) and `lower` (below `upper`) together, Paeth (Avg if
    /// `avg`): 3 or 4 bytes a pixel as a wavefront in one register ([`packed_n`], SSE2 only),
    /// 6 or 8 as two interleaved chains ([`pair_n`], with AVX where `avx`: the CPU must have
    /// it); `false` (nothing done) for other sizes.
    pub(super) fn pair(
        avx: bool,
        avg: bool,
        bpp: usize,
        prev: &[u8],
        upper: &mut [u8],
        lower: &mut [u8],
    ) -> bool {
        match avg {
            true => pair_of::<true>(avx, bpp, prev, upper, lower),
            false => pair_of::<false>(avx, bpp, prev, upper, lower),
        }
    }

    /// [`pair`] for one filter.
    fn pair_of<const AVG: bool>(
        avx: bool,
        bpp: usize,
        prev: &[u8],
        upper: &mut [u8],
        lower: &mut [u8],
    ) -> bool {
        assert!(!avx || has_avx(), "AVX asked for on a CPU without it");
        // SAFETY: as in `row_of`.
        unsafe {
            match (bpp, avx) {
                (3, _) => packed_n::<AVG, 3>(prev, upper, lower),
                (4, _) => packed_n::<AVG, 4>(prev, upper, lower),
                (6, false) => pair_n::<AVG, 6>(prev, upper, lower),
                (8, false) => pair_n::<AVG, 8>(prev, upper, lower),
                (6, true) => pair_avx::<AVG, 6>(prev, upper, lower),
                (8, true) => pair_avx::<AVG, 8>(prev, upper, lower),
                _ => return false,
            }
        }
        true
    }

    /// [`row_n`] compiled for AVX.
    #[target_feature(enable = "avx")]
    fn row_avx<const AVG: bool, const BPP: usize>(prev: &[u8], row: &mut [u8]) {
        row_n::<AVG, BPP>(prev, row)
    }

    /// [`pair_n`] compiled for AVX.
    #[target_feature(enable = "avx")]
    fn pair_avx<const AVG: bool, const BPP: usize>(
        prev: &[u8],
        upper: &mut [u8],
        lower: &mut [u8],
    ) {
        pair_n::<AVG, BPP>(prev, upper, lower)
    }

    /// The `BPP` (at most 4) bytes of pixel `px` of `row` as the low bytes of a word; zero
    /// past the row's end. `WIDE`: four bytes are read at once (the row must hold them).
    #[inline(always)]
    fn pixel<const BPP: usize, const WIDE: bool>(row: &[u8], px: usize) -> u64 {
        let at = px * BPP;
        let mut bytes = [0u8; 4];
        if WIDE {
            bytes.copy_from_slice(&row[at..at + 4]);
        } else if let Some(tail) = row.get(at..at + BPP) {
            bytes[..BPP].copy_from_slice(tail);
        }
        u32::from_le_bytes(bytes) as u64
    }

    /// Unfilters `upper` (below `prev`) and `lower` (below `upper`) together, `BPP` (3 or 4)
    /// bytes a pixel, as a wavefront in one register: step `t` predicts pixel `t` of `upper`
    /// in the low four lanes and pixel `t - 1` of `lower` in the high four, whose neighbour
    /// above is the upper pixel of the step before. One prediction serves two pixels.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn packed_n<const AVG: bool, const BPP: usize>(
        prev: &[u8],
        upper: &mut [u8],
        lower: &mut [u8],
    ) {
        let n = upper.len() / BPP;
        if n == 0 {
            return;
        }
        let zero = _mm_setzero_si128();
        // Results of the step before (a), and its above neighbours (c).
        let mut state = (zero, zero);
        // Step 0: lower pixel -1 is outside the row; it predicts 0 from zeros (its left
        // neighbour's value) and is not stored.
        let first = packed_step::<AVG, BPP, false>(prev, upper, lower, 0, state);
        state = first.0;
        store_pixel::<BPP>(upper, 0, first.1);
        // Four-byte loads while every row holds them.
        let wide = n.saturating_sub(2).max(1);
        for t in 1..wide {
            let (next, bytes) = packed_step::<AVG, BPP, true>(prev, upper, lower, t, state);
            state = next;
            store_pixel::<BPP>(upper, t, bytes);
            store_pixel::<BPP>(lower, t - 1, bytes >> 32);
        }
        for t in wide..=n {
            let (next, bytes) = packed_step::<AVG, BPP, false>(prev, upper, lower, t, state);
            state = next;
            if t < n {
                store_pixel::<BPP>(upper, t, bytes);
            }
            store_pixel::<BPP>(lower, t - 1, bytes >> 32);
        }
    }

    /// Writes the low `BPP` bytes of `bytes` as pixel `px` of `row`.
    #[inline(always)]
    fn store_pixel<const BPP: usize>(row: &mut [u8], px: usize, bytes: u64) {
        row[px * BPP..px * BPP + BPP].copy_from_slice(&bytes.to_le_bytes()[..BPP]);
    }

    /// Step `t` of [`packed_n`]: `state` is (a, c) before and after; also returns the two
    /// predicted pixels, upper in the low four bytes, lower in the high four.
    #[inline(always)]
    fn packed_step<const AVG: bool, const BPP: usize, const WIDE: bool>(
        prev: &[u8],
        upper: &[u8],
        lower: &[u8],
        t: usize,
        (a, c): (__m128i, __m128i),
    ) -> ((__m128i, __m128i), u64) {
        // SAFETY (of the intrinsics): SSE2 is part of the x86_64 baseline.
        unsafe {
            let zero = _mm_setzero_si128();
            let widen = |word: u64| _mm_unpacklo_epi8(_mm_cvtsi64_si128(word as i64), zero);
            let below = match t {
                0 => 0,
                _ => pixel::<BPP, WIDE>(lower, t - 1),
            };
            let x = widen(pixel::<BPP, WIDE>(upper, t) | below << 32);
            let b = _mm_unpacklo_epi64(widen(pixel::<BPP, WIDE>(prev, t)), a);
            let v = predict::<AVG>(x, a, b, c);
            let bytes = _mm_cvtsi128_si64(_mm_packus_epi16(v, v)) as u64;
            ((v, b), bytes)
        }
    }

    /// Unfilters `row` below `prev`, `BPP` bytes a pixel: 8-byte loads while the row holds
    /// them, then the last pixels one by one.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn row_n<const AVG: bool, const BPP: usize>(prev: &[u8], row: &mut [u8]) {
        let n = row.len() / BPP * BPP;
        let (prev, row) = (&prev[..n], &mut row[..n]);
        let (mut a, mut c) = (_mm_setzero_si128(), _mm_setzero_si128());
        let mut at = 0;
        while at + 8 <= n {
            let b = load::<BPP, true>(prev, at);
            a = predict::<AVG>(load::<BPP, true>(row, at), a, b, c);
            store::<BPP>(row, at, a);
            (c, at) = (b, at + BPP);
        }
        while at < n {
            let b = load::<BPP, false>(prev, at);
            a = predict::<AVG>(load::<BPP, false>(row, at), a, b, c);
            store::<BPP>(row, at, a);
            (c, at) = (b, at + BPP);
        }
    }

    /// Unfilters `upper` (below `prev`) and `lower` (below `upper`) together, `BPP` bytes a
    /// pixel, one pixel of each in turn, the upper pixel passed on in a register: 8-byte loads
    /// while the rows hold them, then the last pixels one by one.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn pair_n<const AVG: bool, const BPP: usize>(prev: &[u8], upper: &mut [u8], lower: &mut [u8]) {
        let n = upper.len() / BPP * BPP;
        let (prev, upper, lower) = (&prev[..n], &mut upper[..n], &mut lower[..n]);
        let zero = _mm_setzero_si128();
        let mut state = (zero, zero, zero, zero);
        let mut at = 0;
        while at + 8 <= n {
            state = pair_step::<AVG, BPP, true>(prev, upper, lower, at, state);
            at += BPP;
        }
        while at < n {
            state = pair_step::<AVG, BPP, false>(prev, upper, lower, at, state);
            at += BPP;
        }
    }

    /// One pixel of each row of [`pair_n`] at `at`; `state` is the left and upper-left
    /// neighbours of both rows, (a0, c0, a1, c1), before and after.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn pair_step<const AVG: bool, const BPP: usize, const WIDE: bool>(
        prev: &[u8],
        upper: &mut [u8],
        lower: &mut [u8],
        at: usize,
        (a0, c0, a1, c1): (__m128i, __m128i, __m128i, __m128i),
    ) -> (__m128i, __m128i, __m128i, __m128i) {
        let b0 = load::<BPP, WIDE>(prev, at);
        let (x0, x1) = (load::<BPP, WIDE>(upper, at), load::<BPP, WIDE>(lower, at));
        let v0 = predict::<AVG>(x0, a0, b0, c0);
        let v1 = predict::<AVG>(x1, a1, v0, c1);
        store::<BPP>(upper, at, v0);
        store::<BPP>(lower, at, v1);
        (v0, b0, v1, v0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's predictor, for checking.
    fn reference(a: u8, b: u8, c: u8) -> u8 {
        let p = i16::from(a) + i16::from(b) - i16::from(c);
        let (pa, pb, pc) = (
            (p - i16::from(a)).abs(),
            (p - i16::from(b)).abs(),
            (p - i16::from(c)).abs(),
        );
        if pa <= pb && pa <= pc {
            a
        } else if pb <= pc {
            b
        } else {
            c
        }
    }

    #[test]
    fn predictor_matches_the_specification() {
        for a in 0..=255u8 {
            for b in (0..=255u8).step_by(3) {
                for c in (0..=255u8).step_by(5) {
                    let got = paeth_predictor(a.into(), b.into(), c.into());
                    assert_eq!(got, reference(a, b, c), "a={a} b={b} c={c}");
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_predictor_matches_the_specification() {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline.
        let decode = |x: [u8; 8], a: [u8; 8], b: [u8; 8], c: [u8; 8]| unsafe {
            let wide = |v: [u8; 8]| {
                let packed = _mm_cvtsi64_si128(i64::from_le_bytes(v));
                _mm_unpacklo_epi8(packed, _mm_setzero_si128())
            };
            let got = sse2::decode(wide(x), wide(a), wide(b), wide(c));
            _mm_cvtsi128_si64(_mm_packus_epi16(got, got)).to_le_bytes()
        };
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for c0 in (0..=255u8).step_by(8) {
                    let c: [u8; 8] = std::array::from_fn(|i| c0 + i as u8);
                    let x = [a.wrapping_mul(7) ^ b; 8];
                    let got = decode(x, [a; 8], [b; 8], c);
                    for i in 0..8 {
                        let want = x[i].wrapping_add(reference(a, b, c[i]));
                        assert_eq!(got[i], want, "a={a} b={b} c={}", c[i]);
                    }
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_and_avx_paeth_and_avg_match_the_png_crate() {
        let avx = [false, true]
            .into_iter()
            .filter(|&on| !on || sse2::has_avx());
        let cases = avx.flat_map(|on| {
            [PAETH, AVG].into_iter().flat_map(move |kind| {
                [3, 4, 6, 8]
                    .into_iter()
                    .flat_map(move |b| [1, 2, 3, 5, 37].map(move |w| (on, kind, b, w)))
            })
        });
        for (avx, kind, bpp, width) in cases {
            let len = bpp * width;
            let (prev, upper, lower) = (noise(len, 1), noise(len, 2), noise(len, 3));
            let mut want = (upper.clone(), lower.clone());
            crate_unfilter(kind, &mut want.0, &prev, bpp);
            crate_unfilter(kind, &mut want.1, &want.0, bpp);
            let what = format!("avx {avx} filter {kind} bpp {bpp} width {width}");
            let mut row = upper.clone();
            assert!(sse2::row(avx, kind == AVG, bpp, &prev, &mut row));
            assert_eq!(row, want.0, "row: {what}");
            let mut pair = (upper.clone(), lower.clone());
            let (upper, lower) = (&mut pair.0, &mut pair.1);
            assert!(sse2::pair(avx, kind == AVG, bpp, &prev, upper, lower));
            assert_eq!(pair, want, "pair: {what}");
        }
    }

    /// Pseudo-random bytes (a fixed LCG, so the test is deterministic).
    fn noise(len: usize, seed: u32) -> Vec<u8> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 24) as u8
            })
            .collect()
    }

    /// The `png` crate's unfilter of one row, for checking.
    fn crate_unfilter(kind: u8, row: &mut [u8], prev: &[u8], bpp: usize) {
        let filter = match kind {
            0 => return,
            1 => png::Filter::Sub,
            2 => png::Filter::Up,
            3 => png::Filter::Avg,
            _ => png::Filter::Paeth,
        };
        png::benchable_apis::unfilter(filter, bpp as u8, prev, row);
    }

    #[test]
    fn lines_match_row_by_row_unfiltering() {
        // Widths of 1 and 2 pixels (rows shorter than a vector load), odd ones, and rows whose
        // length is no multiple of 8 or 16.
        for (bpp, width) in [1, 2, 3, 4, 6, 8]
            .into_iter()
            .flat_map(|b| [1, 2, 3, 5, 16, 37, 100].map(|w| (b, w)))
        {
            let row_len = bpp * width;
            let stride = row_len + 1;
            // Runs of Paeth and of Avg of odd and even length between other filters.
            let kinds = [
                4u8, 4, 4, 1, 4, 4, 2, 3, 4, 0, 4, 4, 4, 4, 4, 3, 3, 3, 1, 3, 3, 4, 3,
            ];
            let mut lines = noise(kinds.len() * stride, bpp as u32);
            for (y, &k) in kinds.iter().enumerate() {
                lines[y * stride] = k;
            }
            let top = noise(row_len, 99);
            let mut expected = Vec::new();
            let mut prev = top.clone();
            for line in lines.chunks_exact(stride) {
                let mut row = line[1..].to_vec();
                crate_unfilter(line[0], &mut row, &prev, bpp);
                expected.extend_from_slice(&row);
                prev = row;
            }
            let mut above = top.clone();
            unfilter_lines(&mut lines, &mut above, bpp).unwrap();
            let got: Vec<u8> = lines
                .chunks_exact(stride)
                .flat_map(|l| l[1..].to_vec())
                .collect();
            assert_eq!(got, expected, "bpp {bpp} width {width}");
            assert_eq!(above, prev);
        }
    }

    #[test]
    fn unknown_filter_names_its_line() {
        let mut lines = vec![0u8, 1, 2, 4, 3, 4, 5, 9, 6];
        let mut above = vec![0u8; 2];
        assert_eq!(unfilter_lines(&mut lines, &mut above, 1), Err(2));
    }
}
