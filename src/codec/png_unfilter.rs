//! Reversing PNG's per-row filters on blocks of filtered scanlines.
//!
//! Paeth is the slow filter: each pixel needs the one to its left, so a row is one long chain
//! of dependent operations and the CPU idles waiting on it. Two consecutive Paeth rows are
//! independent chains once the upper one's pixel is known, so they are unfiltered together,
//! pixel by pixel, which lets the CPU overlap them (about 1.5x faster than one row at a time).
//! Every other filter, and a Paeth row not followed by one, goes through the `png` crate's own
//! unfilter (vectorised per pixel size), exported by its `benchmarks` feature.

/// PNG's filter type byte for Paeth.
const PAETH: u8 = 4;

/// Reverses PNG filter `kind` on `row` in place, `prev` being the unfiltered row above (empty:
/// zeros); `false` for an unknown filter.
pub(crate) fn unfilter(kind: u8, row: &mut [u8], prev: &[u8], bpp: usize) -> bool {
    let filter = match kind {
        0 => return true,
        1 => png::Filter::Sub,
        2 => png::Filter::Up,
        3 => png::Filter::Avg,
        4 => png::Filter::Paeth,
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
        let paired = rest[0] == PAETH && rest.get(stride) == Some(&PAETH);
        if paired && paeth_pair(bpp, prev, &mut rest[..2 * stride]) {
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

/// Unfilters two Paeth lines (`pair`: both scanlines, filter bytes included) below `prev`;
/// `false` (nothing done) for a pixel size without a paired version.
fn paeth_pair(bpp: usize, prev: &[u8], pair: &mut [u8]) -> bool {
    let (upper, lower) = pair.split_at_mut(pair.len() / 2);
    let (upper, lower) = (&mut upper[1..], &mut lower[1..]);
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

    #[test]
    fn lines_match_row_by_row_unfiltering() {
        for bpp in [1, 2, 3, 4, 6, 8] {
            let row_len = bpp * 37;
            let stride = row_len + 1;
            // Runs of Paeth of odd and even length between other filters.
            let kinds = [4u8, 4, 4, 1, 4, 4, 2, 3, 4, 0, 4, 4, 4, 4, 4];
            let mut lines = noise(kinds.len() * stride, bpp as u32);
            for (y, &k) in kinds.iter().enumerate() {
                lines[y * stride] = k;
            }
            let top = noise(row_len, 99);
            let mut expected = Vec::new();
            let mut prev = top.clone();
            for line in lines.chunks_exact(stride) {
                let mut row = line[1..].to_vec();
                assert!(unfilter(line[0], &mut row, &prev, bpp));
                expected.extend_from_slice(&row);
                prev = row;
            }
            let mut above = top.clone();
            unfilter_lines(&mut lines, &mut above, bpp).unwrap();
            let got: Vec<u8> = lines
                .chunks_exact(stride)
                .flat_map(|l| l[1..].to_vec())
                .collect();
            assert_eq!(got, expected, "bpp {bpp}");
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
