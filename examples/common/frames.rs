//! Shared by the benchmark drivers (`#[path]`-included): the 4096x2160 photo-like frames both
//! benches/io.sh and benches/all.sh time, and the timing helpers.

use std::path::Path;
use std::time::Instant;

use imkit::{Image, PixelFormat, PixelType};

pub const W: usize = 4096;
pub const H: usize = 2160;

/// A photo-like frame: smooth gradients and waves plus a little deterministic noise.
pub fn frame_f32() -> Image {
    let mut img = Image::new(W, H, PixelFormat::new(PixelType::F32, 3).unwrap()).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for (i, px) in img.data_mut().chunks_exact_mut(12).enumerate() {
        let (x, y) = ((i % W) as f32, (i / W) as f32);
        for c in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 * 0.03;
            let v = 0.5
                + 0.3 * ((x * (0.002 + 0.001 * c as f32)).sin() * (y * 0.003).cos())
                + 0.15 * (x / W as f32)
                + noise;
            px[c * 4..c * 4 + 4].copy_from_slice(&v.to_ne_bytes());
        }
    }
    img
}

/// The frame quantised to `dtype` (u8 or u16).
pub fn quantised(src: &Image, dtype: PixelType) -> Image {
    let mut img = Image::new(W, H, PixelFormat::new(dtype, 3).unwrap()).unwrap();
    let max = if dtype == PixelType::U8 {
        255.0
    } else {
        65535.0
    };
    let size = dtype.size();
    for (d, s) in img
        .data_mut()
        .chunks_exact_mut(size)
        .zip(src.data().chunks_exact(4))
    {
        let v = f32::from_ne_bytes([s[0], s[1], s[2], s[3]]);
        let q = (v.clamp(0.0, 1.0) * max).round() as u16;
        d.copy_from_slice(&q.to_ne_bytes()[..size]);
    }
    img
}

pub fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

pub fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}
