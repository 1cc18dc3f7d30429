//! Blending overlapping tiles into rows of an output image: the weights and the weighted mean
//! shared by [`super::stitch`] (tiles from files) and [`crate::pipeline`] (tiles from a
//! function), so both give the same bytes for the same tiles.
//!
//! Every pixel is accumulated over its tiles in the caller's order (grid order: row, then
//! column), whatever the thread count. With equal contributions every blend mode gives back
//! the value exactly (integer samples are rounded to nearest after normalising by the sum of
//! weights, which is exact when all contributions are equal).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::image::Image;
use crate::partition::Stride;
use crate::pixel::{PixelFormat, PixelType};
use crate::rect::Rect;

/// How overlapping tiles combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Blend {
    /// Later tiles (grid order) replace earlier ones.
    #[default]
    Overwrite,
    /// Plain mean of the overlapping tiles.
    Average,
    /// Linear feather: weights ramp from the tile's inner edges over the overlap width
    /// (cell - step); edges on the image border are not ramped.
    Linear,
    /// Gaussian weights centred on each tile, sigma = a quarter of the tile size per axis.
    Gaussian,
}

impl Blend {
    /// Parses `overwrite`, `average`, `linear` or `gaussian`.
    pub fn parse(text: &str) -> Result<Blend> {
        match text.to_ascii_lowercase().as_str() {
            "overwrite" => Ok(Blend::Overwrite),
            "average" | "mean" => Ok(Blend::Average),
            "linear" | "feather" => Ok(Blend::Linear),
            "gaussian" => Ok(Blend::Gaussian),
            _ => Err(Error::invalid(format!(
                "blend mode must be overwrite, average, linear or gaussian (got {text:?})"
            ))),
        }
    }

    /// Every mode.
    pub const ALL: [Blend; 4] = [
        Blend::Overwrite,
        Blend::Average,
        Blend::Linear,
        Blend::Gaussian,
    ];

    /// Checks that tiles of `dtype` can be blended in this mode (overwrite takes any type;
    /// the weighted modes take uint8, uint16 and float32).
    pub fn check_dtype(self, dtype: PixelType) -> Result<()> {
        if self != Blend::Overwrite
            && !matches!(dtype, PixelType::U8 | PixelType::U16 | PixelType::F32)
        {
            return Err(Error::unsupported(format!(
                "blending {dtype} tiles is not supported (uint8, uint16, float32; or use overwrite)"
            )));
        }
        Ok(())
    }
}

/// The overlap in pixels of consecutive cells of `cell` pixels at `stride` (0 with gaps).
pub fn overlap(cell: u64, stride: Stride) -> f64 {
    (cell as f64 - stride.step(cell)).max(0.0)
}

/// Weights along one axis for a tile covering `start..end` of an image of `extent` pixels.
pub(super) fn axis_weights(
    blend: Blend,
    start: u64,
    end: u64,
    extent: u64,
    overlap: f64,
) -> Vec<f32> {
    let n = (end - start) as usize;
    match blend {
        Blend::Overwrite | Blend::Average => vec![1.0; n],
        Blend::Linear => (0..n)
            .map(|i| {
                let mut w = 1.0f64;
                if overlap > 0.0 {
                    if start > 0 {
                        w = w.min((i as f64 + 0.5) / overlap);
                    }
                    if end < extent {
                        w = w.min(((n - 1 - i) as f64 + 0.5) / overlap);
                    }
                }
                w as f32
            })
            .collect(),
        Blend::Gaussian => {
            let mid = (n as f64 - 1.0) / 2.0;
            let sigma = (n as f64 / 4.0).max(0.5);
            (0..n)
                .map(|i| (-((i as f64 - mid).powi(2)) / (2.0 * sigma * sigma)).exp() as f32)
                .collect()
        }
    }
}

/// A tile placed on the output with its per-axis weights. `rect` may reach past the output
/// (padded cells); only the part inside is used. The rows are held either in the buffer they
/// came in ([`BlendTile::new`]: no copy; once the rows left fill at most half of it they can be
/// moved out, [`BlendTile::compact`]) or copied into chunks ([`BlendTile::copied_in_chunks`])
/// so that rows already composed are released without copying the others
/// ([`BlendTile::drop_rows_above`]).
pub struct BlendTile {
    /// The rows still held (the top moves down as rows are dropped).
    rect: Rect,
    /// The tile's first row on the output: row 0 of `wy`.
    top: u64,
    /// The output row of row 0 of the first chunk.
    origin: u64,
    row_bytes: usize,
    chunk_rows: usize,
    /// Consecutive chunks of `chunk_rows` rows (the last may be shorter); dropped chunks are
    /// empty.
    chunks: Vec<Vec<u8>>,
    /// Column weights, one per sample (each pixel's weight repeated for every channel).
    wx: Vec<f32>,
    wy: Vec<f32>,
    /// The smallest of `wx` (infinity when empty).
    wx_min: f32,
}

impl BlendTile {
    /// Places `image` (of `rect`'s size) at `rect` on a `width` x `height` output whose cells
    /// overlap by `overlap` = (rows, columns) pixels, with the weights of `blend`. The tile
    /// keeps `image`'s buffer.
    pub fn new(
        image: Image,
        rect: Rect,
        blend: Blend,
        size: (u64, u64),
        overlap: (f64, f64),
    ) -> BlendTile {
        let (rows, channels) = (image.height().max(1), image.channels());
        let row_bytes = image.width() * image.format().bytes_per_pixel();
        let chunks = vec![image.into_vec()];
        let placed = (rect, blend, size, overlap);
        BlendTile::placed(chunks, rows, row_bytes, channels, placed)
    }

    /// Places a copy of `image` as [`BlendTile::new`] does, its rows held in chunks of `rows`
    /// rows so that [`BlendTile::drop_rows_above`] frees memory `rows` rows at a time (the
    /// caller keeps `image` and its buffer).
    pub fn copied_in_chunks(
        image: &Image,
        rows: usize,
        rect: Rect,
        blend: Blend,
        size: (u64, u64),
        overlap: (f64, f64),
    ) -> BlendTile {
        let row_bytes = image.width() * image.format().bytes_per_pixel();
        let rows = rows.max(1);
        let chunks = image
            .data()
            .chunks(rows * row_bytes.max(1))
            .map(<[u8]>::to_vec)
            .collect();
        let placed = (rect, blend, size, overlap);
        BlendTile::placed(chunks, rows, row_bytes, image.channels(), placed)
    }

    fn placed(
        chunks: Vec<Vec<u8>>,
        chunk_rows: usize,
        row_bytes: usize,
        channels: usize,
        (rect, blend, (width, height), overlap): (Rect, Blend, (u64, u64), (f64, f64)),
    ) -> BlendTile {
        let wx: Vec<f32> = axis_weights(blend, rect.left, rect.right, width, overlap.1)
            .into_iter()
            .flat_map(|w| std::iter::repeat(w).take(channels))
            .collect();
        BlendTile {
            wx_min: wx.iter().copied().fold(f32::INFINITY, f32::min),
            wx,
            wy: axis_weights(blend, rect.top, rect.bottom, height, overlap.0),
            rect,
            top: rect.top,
            origin: rect.top,
            row_bytes,
            chunk_rows,
            chunks,
        }
    }

    /// The same tile with every weight multiplied by `weight` (its weight along the depth
    /// axis, for one slice of a 3-D tile).
    pub fn with_depth_weight(mut self, weight: f32) -> BlendTile {
        if weight != 1.0 {
            self.wy.iter_mut().for_each(|w| *w *= weight);
        }
        self
    }

    /// The rectangle the tile's remaining rows cover.
    pub fn rect(&self) -> Rect {
        self.rect
    }

    /// True once every row was dropped.
    pub fn is_empty(&self) -> bool {
        self.rect.top >= self.rect.bottom
    }

    /// Forgets the rows above `y` (already composed), freeing the chunks wholly above it. When
    /// no row is left, a tile held in one buffer hands it back (`Some`) for reuse.
    pub fn drop_rows_above(&mut self, y: u64) -> Option<Vec<u8>> {
        if y >= self.rect.bottom {
            self.rect.top = self.rect.bottom;
            let whole = self.chunks.len() == 1;
            let buffer = self.chunks.pop().filter(|_| whole);
            self.chunks.clear();
            return buffer;
        }
        if y <= self.rect.top {
            return None;
        }
        let gone = ((y - self.origin) as usize / self.chunk_rows).min(self.chunks.len());
        self.chunks[..gone].iter_mut().for_each(|c| *c = Vec::new());
        self.rect.top = y;
        None
    }

    /// A tile held in one buffer whose remaining rows fill at most half of it moves them into
    /// a buffer of their own, of the length asked of `take`, and hands the old one back
    /// (`Some`) for reuse.
    pub fn compact(
        &mut self,
        take: impl FnOnce(usize) -> Result<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>> {
        let skip = (self.rect.top - self.origin) as usize;
        if self.is_empty() || self.chunks.len() != 1 || skip * 2 < self.chunk_rows {
            return Ok(None);
        }
        let remaining = &self.chunks[0][skip * self.row_bytes..];
        let mut rows = take(remaining.len())?;
        rows.copy_from_slice(remaining);
        self.origin = self.rect.top;
        self.chunk_rows = (self.chunk_rows - skip).max(1);
        Ok(Some(std::mem::replace(&mut self.chunks[0], rows)))
    }

    /// Packed pixels of output row `y` (within the remaining rows).
    fn row(&self, y: u64) -> &[u8] {
        let i = (y - self.origin) as usize;
        let at = (i % self.chunk_rows) * self.row_bytes;
        &self.chunks[i / self.chunk_rows][at..at + self.row_bytes]
    }

    /// Bytes of output columns `a..b` of row `y` (`bpp` bytes a pixel), inside the tile.
    fn pixels(&self, y: u64, (a, b): (usize, usize), bpp: usize) -> &[u8] {
        let l = self.rect.left as usize;
        &self.row(y)[(a - l) * bpp..(b - l) * bpp]
    }

    /// The tile's columns inside an output of `width` pixels, as a range.
    fn span(&self, width: u64) -> (usize, usize) {
        (self.rect.left as usize, self.rect.right.min(width) as usize)
    }
}

/// A sample type the weighted modes blend, read and written in native byte order.
trait Sample {
    const SIZE: usize;
    /// Integer samples: where every tile holds the same value (with a positive weight), the
    /// rounded weighted mean is that value exactly (`base + 0 / wsum`).
    const INTEGER: bool = true;
    fn load(bytes: &[u8]) -> f32;
    fn store(v: f32, out: &mut [u8]);
    /// Converts the packed samples `bytes` into `out`, one value each.
    #[inline(always)]
    fn load_all(bytes: &[u8], out: &mut [f32]) {
        for (v, b) in out.iter_mut().zip(bytes.chunks_exact(Self::SIZE)) {
            *v = Self::load(b);
        }
    }
    /// Stores `base + acc / wsum` of every sample into the packed samples `out`.
    #[inline(always)]
    fn store_all(base: &[f32], acc: &[f32], wsum: &[f32], out: &mut [u8]) {
        let samples = out.chunks_exact_mut(Self::SIZE).zip(wsum);
        for ((out, &wsum), (&base, &acc)) in samples.zip(base.iter().zip(acc)) {
            Self::store(base + acc / wsum, out);
        }
    }
}

/// `v.round().clamp(0.0, max) as u32` (half away from zero) without the `roundf` call: after
/// clamping, `v - trunc(v)` is exact (Sterbenz), and NaN gives 0 as the cast does.
/// The arithmetic is done in `i32` on a value known to be in range (the checked cast would
/// be done sample by sample), which vectorizes.
#[inline(always)]
fn round_clamped(v: f32, max: f32) -> u32 {
    // NaN fails `v > 0.0` and becomes 0.
    let v = if v > 0.0 { v.min(max) } else { 0.0 };
    // SAFETY: `v` is finite and within 0..=max (at most 65535), which i32 holds.
    let whole = unsafe { v.to_int_unchecked::<i32>() };
    (whole + i32::from(v - whole as f32 >= 0.5)) as u32
}

impl Sample for u8 {
    const SIZE: usize = 1;
    fn load(bytes: &[u8]) -> f32 {
        bytes[0] as f32
    }
    fn store(v: f32, out: &mut [u8]) {
        out[0] = round_clamped(v, 255.0) as u8;
    }
    // Byte by byte rather than in chunks of one, which vectorizes.
    #[inline(always)]
    fn load_all(bytes: &[u8], out: &mut [f32]) {
        for (v, &b) in out.iter_mut().zip(bytes) {
            *v = b as f32;
        }
    }
    #[inline(always)]
    fn store_all(base: &[f32], acc: &[f32], wsum: &[f32], out: &mut [u8]) {
        let samples = out.iter_mut().zip(wsum);
        for ((out, &wsum), (&base, &acc)) in samples.zip(base.iter().zip(acc)) {
            *out = round_clamped(base + acc / wsum, 255.0) as u8;
        }
    }
}

impl Sample for u16 {
    const SIZE: usize = 2;
    fn load(bytes: &[u8]) -> f32 {
        u16::from_ne_bytes([bytes[0], bytes[1]]) as f32
    }
    fn store(v: f32, out: &mut [u8]) {
        out.copy_from_slice(&(round_clamped(v, 65535.0) as u16).to_ne_bytes());
    }
}

impl Sample for f32 {
    const SIZE: usize = 4;
    // Equal infinities give NaN (`inf - inf`), equal zeros may change sign: blended always.
    const INTEGER: bool = false;
    fn load(bytes: &[u8]) -> f32 {
        f32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }
    fn store(v: f32, out: &mut [u8]) {
        out.copy_from_slice(&v.to_ne_bytes());
    }
}

/// Sets every pixel of `out` to `fill` (one encoded pixel).
fn fill_pixels(out: &mut [u8], fill: &[u8]) {
    match fill.split_first() {
        Some((&b, rest)) if rest.iter().all(|&r| r == b) => out.fill(b),
        _ => out
            .chunks_exact_mut(fill.len())
            .for_each(|px| px.copy_from_slice(fill)),
    }
}

/// Per-thread buffers of [`weighted_row`], reused from row to row.
#[derive(Default)]
struct Scratch {
    /// Every tile edge in the row, sorted: between two consecutive cuts the set of covering
    /// tiles is constant.
    cuts: Vec<usize>,
    /// Indices of the tiles covering the current segment.
    cover: Vec<usize>,
    base: Vec<f32>,
    acc: Vec<f32>,
    wsum: Vec<f32>,
    value: Vec<f32>,
}

/// Computes output rows `y0..` (as many as `out` holds, packed rows of `width` pixels of
/// `format`) from `tiles`, accumulated in slice order. Pixels no tile covers get `fill` (one
/// encoded pixel); every byte of `out` is written. Rows are computed in parallel on the current
/// pool.
pub fn compose_rows(
    tiles: &[&BlendTile],
    blend: Blend,
    format: PixelFormat,
    width: u64,
    y0: u64,
    fill: &[u8],
    out: &mut [u8],
) {
    let bpp = format.bytes_per_pixel();
    let row_bytes = width as usize * bpp;
    // The scratch buffers live with the worker thread (rayon would build them anew for every
    // split of the rows, and growing fresh buffers zeroes them).
    thread_local!(static SCRATCH: std::cell::RefCell<Scratch> = Default::default());
    out.par_chunks_mut(row_bytes)
        .enumerate()
        .for_each(|(i, row)| {
            SCRATCH.with_borrow_mut(|scratch| {
                let y = y0 + i as u64;
                let over: Vec<&BlendTile> = tiles
                    .iter()
                    .copied()
                    .filter(|t| t.rect.top <= y && y < t.rect.bottom)
                    .collect();
                if blend == Blend::Overwrite {
                    fill_pixels(row, fill);
                    for t in over {
                        let (l, r) = t.span(width);
                        row[l * bpp..r * bpp].copy_from_slice(&t.row(y)[..(r - l) * bpp]);
                    }
                    return;
                }
                let c = format.channels;
                let width = width as usize;
                match format.dtype {
                    PixelType::U8 => weighted_row::<u8>(&over, c, width, y, fill, row, scratch),
                    PixelType::U16 => weighted_row::<u16>(&over, c, width, y, fill, row, scratch),
                    _ => weighted_row::<f32>(&over, c, width, y, fill, row, scratch),
                }
            })
        });
}

/// One row of the weighted mean, as `base + sum(w * (v - base)) / sum(w)`, `base` being the
/// first tile's sample: where every tile holds the same value the result is that value
/// exactly, for float samples too (a plain `sum(w * v) / sum(w)` can be off by an ulp).
/// The row is cut at every tile edge; segments covered by a single tile are that tile's
/// pixels (the formula gives them exactly), segments no tile covers get the fill.
fn weighted_row<S: Sample>(
    over: &[&BlendTile],
    c: usize,
    width: usize,
    y: u64,
    fill: &[u8],
    row: &mut [u8],
    s: &mut Scratch,
) {
    let bpp = c * S::SIZE;
    let Scratch {
        cuts,
        cover,
        base,
        acc,
        wsum,
        value,
    } = s;
    cuts.clear();
    cuts.extend([0, width]);
    for t in over {
        let (l, r) = t.span(width as u64);
        if l < r {
            cuts.extend([l, r]);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    for seg in cuts.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        cover.clear();
        cover.extend((0..over.len()).filter(|&i| {
            let (l, r) = over[i].span(width as u64);
            l <= a && b <= r
        }));
        let out = &mut row[a * bpp..b * bpp];
        match cover[..] {
            [] => fill_pixels(out, fill),
            [first, ..]
                if cover.len() == 1 || (S::INTEGER && agree(over, cover, (a, b), y, bpp)) =>
            {
                out.copy_from_slice(over[first].pixels(y, (a, b), bpp));
            }
            _ => {
                let covering = cover.iter().map(|&i| over[i]);
                let mut mix = Mix {
                    base: &mut *base,
                    acc: &mut *acc,
                    wsum: &mut *wsum,
                    value: &mut *value,
                };
                // Constant channel counts let the compiler unroll the per-pixel loops.
                match c {
                    1 => mix.segment::<S>(covering, 1, a, width, y, fill, out),
                    3 => mix.segment::<S>(covering, 3, a, width, y, fill, out),
                    4 => mix.segment::<S>(covering, 4, a, width, y, fill, out),
                    _ => mix.segment::<S>(covering, c, a, width, y, fill, out),
                }
            }
        }
    }
}

/// True when the tiles `cover` (indices into `over`, all covering columns `a..b` of row `y`,
/// `bpp` bytes a pixel) hold the same bytes there and the first one's weight is positive on
/// every column: every sum of `w * (v - base)` is then zero and every weight sum positive, so
/// the mean of integer samples is the first tile's bytes. Tiles that differ are told apart at
/// their first differing byte, so this costs little where the blend is needed.
fn agree(over: &[&BlendTile], cover: &[usize], (a, b): (usize, usize), y: u64, bpp: usize) -> bool {
    let Some((&first, rest)) = cover.split_first() else {
        return false;
    };
    let (t, pixels) = (over[first], over[first].pixels(y, (a, b), bpp));
    if !rest
        .iter()
        .all(|&i| over[i].pixels(y, (a, b), bpp) == pixels)
    {
        return false;
    }
    // Every weight `wx * wy` of the row is at least `wx_min * wy` (rounding is monotonic);
    // positive weights whose product underflows to zero would make a zero sum.
    t.wx_min * t.wy[(y - t.top) as usize] > 0.0
}

/// The accumulators of one segment covered by several tiles, one entry per sample (every
/// channel of a pixel gets the pixel's weight), so the loops run over plain sample arrays.
struct Mix<'a> {
    base: &'a mut Vec<f32>,
    acc: &'a mut Vec<f32>,
    wsum: &'a mut Vec<f32>,
    /// One tile's samples of the segment, converted.
    value: &'a mut Vec<f32>,
}

/// The first `n` entries of `buf`, grown when shorter (stale contents otherwise: shrinking and
/// growing again with `resize` would zero them each time).
fn first(buf: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if buf.len() < n {
        buf.resize(n, 0.0);
    }
    &mut buf[..n]
}

impl Mix<'_> {
    /// Blends the segment of row `y` starting at column `a` that `out` holds (packed pixels of
    /// `c` channels) from the `tiles` covering all of it, accumulated in their order.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn segment<'t, S: Sample>(
        &mut self,
        tiles: impl Iterator<Item = &'t BlendTile>,
        c: usize,
        a: usize,
        width: usize,
        y: u64,
        fill: &[u8],
        out: &mut [u8],
    ) {
        let n = out.len() / S::SIZE;
        // Stale contents are fine: the first tile writes every entry.
        let base = first(self.base, n);
        let acc = first(self.acc, n);
        let wsum = first(self.wsum, n);
        let value = first(self.value, n);
        for (i, t) in tiles.enumerate() {
            let (l, _) = t.span(width as u64);
            let wy = t.wy[(y - t.top) as usize];
            let wx = &t.wx[(a - l) * c..][..n];
            S::load_all(&t.row(y)[(a - l) * c * S::SIZE..][..n * S::SIZE], value);
            let samples = value.iter().zip(wx).zip(wsum.iter_mut());
            let samples = samples.zip(base.iter_mut().zip(acc.iter_mut()));
            if i == 0 {
                // `0.0 + x`, not `x`: the same operations as accumulating from zero.
                for (((&v, &wx), wsum), (base, acc)) in samples {
                    let wt = wx * wy;
                    *base = v;
                    *wsum = 0.0 + wt;
                    *acc = 0.0 + wt * (v - *base);
                }
            } else {
                for (((&v, &wx), wsum), (&mut base, acc)) in samples {
                    let wt = wx * wy;
                    *wsum += wt;
                    *acc += wt * (v - base);
                }
            }
        }
        // Weights are positive, so wsum > 0; the guard only keeps the fill otherwise.
        let positive = |w: f32| w.partial_cmp(&0.0) == Some(std::cmp::Ordering::Greater);
        // Counted rather than `all` (which stops early and so does not vectorize).
        if wsum.iter().filter(|&&w| !positive(w)).count() == 0 {
            S::store_all(base, acc, wsum, out);
            return;
        }
        let samples = out.chunks_exact_mut(S::SIZE).zip(wsum.iter());
        let samples = samples.zip(base.iter().zip(acc.iter()));
        for (j, ((out, &wsum), (&base, &acc))) in samples.enumerate() {
            if positive(wsum) {
                S::store(base + acc / wsum, out);
            } else {
                let at = j % c * S::SIZE;
                out.copy_from_slice(&fill[at..at + S::SIZE]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weighted mean pixel by pixel, straight from its definition: tiles in order,
    /// `base` the first covering tile's sample, `base + sum(w * (v - base)) / sum(w)`.
    fn reference<S: Sample>(
        tiles: &[&BlendTile],
        c: usize,
        width: usize,
        y: u64,
        fill: &[u8],
    ) -> Vec<u8> {
        let bpp = c * S::SIZE;
        let mut row = vec![0u8; width * bpp];
        for x in 0..width {
            let (mut base, mut acc, mut wsum) = (vec![0f32; c], vec![0f32; c], 0f32);
            let mut n = 0;
            let mut last = None;
            for t in tiles {
                let (l, r) = t.span(width as u64);
                if !(t.rect.top <= y && y < t.rect.bottom && l <= x && x < r) {
                    continue;
                }
                let k = x - l;
                let wt = t.wx[k * c] * t.wy[(y - t.top) as usize];
                wsum += wt;
                let px = &t.row(y)[k * bpp..(k + 1) * bpp];
                for ch in 0..c {
                    let v = S::load(&px[ch * S::SIZE..]);
                    if n == 0 {
                        base[ch] = v;
                    }
                    acc[ch] += wt * (v - base[ch]);
                }
                n += 1;
                last = Some(px);
            }
            let out = &mut row[x * bpp..(x + 1) * bpp];
            match (n, last) {
                (0, _) => out.copy_from_slice(fill),
                (1, Some(px)) => out.copy_from_slice(px),
                _ => {
                    for ch in 0..c {
                        let at = ch * S::SIZE;
                        S::store(base[ch] + acc[ch] / wsum, &mut out[at..at + S::SIZE]);
                    }
                }
            }
        }
        row
    }

    /// Deterministic pseudo-random bytes (xorshift).
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    /// Float samples of moderate size (random bytes would give NaNs and infinities).
    fn float_noise(n: usize, seed: u64) -> Vec<u8> {
        noise(n, seed)
            .chunks(4)
            .flat_map(|b| (f32::from(b[0]) / 7.0 - f32::from(b[1]) / 3.0).to_ne_bytes())
            .collect()
    }

    #[test]
    fn round_clamped_rounds_like_round_then_clamp() {
        let edges = [
            f32::NAN,
            -0.0,
            0.0,
            -1.5,
            0.49999997,
            0.5,
            1.5,
            2.5,
            254.5,
            255.49,
            255.5,
        ];
        let more = [
            65534.5,
            65535.4,
            70000.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e-30,
        ];
        for max in [255.0f32, 65535.0] {
            for v in edges.into_iter().chain(more) {
                let want = v.round().clamp(0.0, max) as u32;
                assert_eq!(round_clamped(v, max), want, "{v} max {max}");
            }
        }
    }

    #[test]
    fn compose_rows_matches_the_per_pixel_definition() {
        let (width, height) = (61u64, 23u64);
        // Overlapping, abutting, padded past the edge, and a gap no tile covers (x 57..61).
        let rects = [
            Rect::from_xywh(0, 0, 20, 12),
            Rect::from_xywh(14, 0, 20, 12),
            Rect::from_xywh(34, 0, 23, 12),
            Rect::from_xywh(0, 8, 20, 15),
            Rect::from_xywh(14, 8, 20, 15),
            Rect::from_xywh(28, 5, 40, 30),
        ];
        for dtype in [PixelType::U8, PixelType::U16, PixelType::F32] {
            for c in [1, 3, 4] {
                let format = PixelFormat::new(dtype, c).unwrap();
                let bpp = format.bytes_per_pixel();
                let fill: Vec<u8> = (1..=bpp as u8).collect();
                for blend in Blend::ALL {
                    let tiles: Vec<BlendTile> = rects
                        .iter()
                        .enumerate()
                        .map(|(i, &r)| {
                            let n = (r.width() * r.height()) as usize * bpp;
                            let bytes = match dtype {
                                PixelType::F32 => float_noise(n, i as u64 + 7),
                                _ => noise(n, i as u64 + 7),
                            };
                            let (w, h) = (r.width() as usize, r.height() as usize);
                            let image = Image::from_vec(w, h, format, bytes).unwrap();
                            let size = (width, height);
                            if i % 2 == 0 {
                                BlendTile::new(image, r, blend, size, (4.0, 6.0))
                            } else {
                                BlendTile::copied_in_chunks(&image, 5, r, blend, size, (4.0, 6.0))
                            }
                        })
                        .collect();
                    let refs: Vec<&BlendTile> = tiles.iter().collect();
                    let row_bytes = width as usize * bpp;
                    let mut out = vec![0u8; row_bytes * height as usize];
                    compose_rows(&refs, blend, format, width, 0, &fill, &mut out);
                    for y in 0..height {
                        let over: Vec<&BlendTile> = refs
                            .iter()
                            .copied()
                            .filter(|t| t.rect.top <= y && y < t.rect.bottom)
                            .collect();
                        let w = width as usize;
                        let want = match (blend, dtype) {
                            (Blend::Overwrite, _) => continue,
                            (_, PixelType::U8) => reference::<u8>(&over, c, w, y, &fill),
                            (_, PixelType::U16) => reference::<u16>(&over, c, w, y, &fill),
                            _ => reference::<f32>(&over, c, w, y, &fill),
                        };
                        let got = &out[y as usize * row_bytes..][..row_bytes];
                        assert!(got == want, "{blend:?} {format:?} row {y}");
                    }
                }
            }
        }
    }
}
