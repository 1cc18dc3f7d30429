//! Timing driver for benches/all.sh: imkit's PNG (u8, u16), EXR and NPY writes and reads on
//! 4096x2160 RGB frames at 1 and all threads. Writes the frames as .npy for the Python peers
//! first. Prints `name seconds bytes` lines (best of RUNS).
//!
//! usage: codec_bench DIR [RUNS [CASE...]]   CASE: png exr npy (default: all)

use std::path::{Path, PathBuf};
use std::time::Instant;

use imkit::codec::{self, npy, WriteOptions};
use imkit::{Image, NdArray, PixelFormat, PixelType};

const W: usize = 4096;
const H: usize = 2160;

/// A photo-like frame: smooth gradients and waves plus a little deterministic noise.
fn frame_f32() -> Image {
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
fn quantised(src: &Image, dtype: PixelType) -> Image {
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

fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Times a write and a read of `image` as `path` at 1 thread and at all threads.
fn write_read(runs: usize, label: &str, path: &Path, image: &Image) {
    let opts = WriteOptions::default();
    for (suffix, threads) in [("_1t", 1), ("", 0)] {
        imkit::threads::set_num_threads(threads).unwrap();
        let t = best(runs, || {
            codec::write_image(path, &image.view(), &opts).unwrap()
        });
        println!("imkit_{label}_write{suffix} {t:.4} {}", size(path));
        let t = best(runs, || {
            codec::read_image(path).unwrap();
        });
        println!("imkit_{label}_read{suffix} {t:.4} {}", size(path));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .expect("usage: codec_bench DIR [RUNS [CASE...]]"),
    );
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let cases: Vec<&str> = match args.get(3..) {
        Some(rest) if !rest.is_empty() => rest.iter().map(String::as_str).collect(),
        _ => vec!["png", "exr", "npy"],
    };
    std::fs::create_dir_all(&dir).unwrap();
    let f32img = frame_f32();
    let u8img = quantised(&f32img, PixelType::U8);
    let u16img = quantised(&f32img, PixelType::U16);
    for (name, img) in [("u8", &u8img), ("u16", &u16img), ("f32", &f32img)] {
        let path = dir.join(format!("frame_{name}.npy"));
        if !path.exists() {
            npy::write_file(&path, &NdArray::from_image(&img.view())).unwrap();
        }
    }
    if cases.contains(&"png") {
        write_read(runs, "png_u8", &dir.join("imkit_u8.png"), &u8img);
        write_read(runs, "png_u16", &dir.join("imkit_u16.png"), &u16img);
    }
    if cases.contains(&"png") {
        write_read(runs, "png_u8", &dir.join("imkit_u8.png"), &u8img);
        write_read(runs, "png_u16", &dir.join("imkit_u16.png"), &u16img);
    }
    if cases.contains(&"png_write") {
        imkit::threads::set_num_threads(1).unwrap();
        for _ in 0..5 {
            codec::write_image(
                dir.join("imkit_u8.png"),
                &u8img.view(),
                &WriteOptions::default(),
            )
            .unwrap();
        }
    }
    if cases.contains(&"exr_read") {
        for _ in 0..5 {
            codec::read_image(dir.join("imkit.exr")).unwrap();
        }
    }
    if cases.contains(&"exr") {
        write_read(runs, "exr", &dir.join("imkit.exr"), &f32img);
    }
    if cases.contains(&"npy") {
        imkit::threads::set_num_threads(0).unwrap();
        let arr = NdArray::from_image(&f32img.view());
        let path = dir.join("imkit.npy");
        let t = best(runs, || {
            let _ = std::fs::remove_file(&path);
            npy::write_file(&path, &arr).unwrap()
        });
        println!("imkit_npy_write {t:.4} {}", size(&path));
        let t = best(runs, || npy::write_file(&path, &arr).unwrap());
        println!("imkit_npy_overwrite {t:.4} {}", size(&path));
        let t = best(runs, || {
            npy::read_file(&path).unwrap();
        });
        println!("imkit_npy_read {t:.4} {}", size(&path));
    }
}
