//! Timing driver for benches/all.sh: imkit's PNG (u8, u16), EXR and NPY writes and reads on
//! 4096x2160 RGB frames at 1 and all threads. Writes the frames as .npy for the Python peers
//! first (and reads them back from there on later runs). Prints `name seconds bytes` lines
//! (best of RUNS).
//!
//! usage: codec_bench DIR [RUNS [CASE...]]   CASE: png exr npy (default: all); for profilers
//! (callgrind): png_write (one in-memory PNG encode of the top quarter of the u8 and u16
//! frames at 1 thread), exr_read and npy_read (five reads of the file the exr / npy case
//! wrote), exr_write, exr_write_u8 and exr_piz_write_u8 (RUNS writes; the last with PIZ)

#[path = "common/frames.rs"]
mod frames;

use std::path::{Path, PathBuf};

use frames::{best, frame_f32, quantised, size};
use imkit::codec::{self, npy, WriteOptions};
use imkit::{Image, NdArray, PixelFormat, PixelType};

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

/// Best of `runs` timings of `write` creating `path`: the previous file is removed before each
/// run, outside the timing (as codec_peers.py does for numpy), so that freeing its pages is
/// not counted.
fn best_new_file(runs: usize, path: &Path, mut write: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let _ = std::fs::remove_file(path);
            best(1, &mut write)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Lets the previous row's background work end before the next row is timed: `sync` writes
/// back its dirty pages, and the pause covers the release of a replaced file on imkit's
/// closing thread (tens of milliseconds for a 4K f32 NPY). codec_peers.py settles the same way
/// before numpy's rows, so neither side's row pays for the one before it.
fn settle() {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// The u8 frame as float32 samples `v / 255`.
fn u8_as_f32(src: &Image) -> Image {
    let format = PixelFormat::new(PixelType::F32, src.channels()).unwrap();
    let mut img = Image::new(src.width(), src.height(), format).unwrap();
    for (d, s) in img.data_mut().chunks_exact_mut(4).zip(src.data()) {
        d.copy_from_slice(&(*s as f32 / 255.0).to_ne_bytes());
    }
    img
}

/// The f32, u8 and u16 frames: read from DIR's .npy files when a run wrote them, else made
/// and written there.
fn frames(dir: &Path) -> [Image; 3] {
    let paths = ["f32", "u8", "u16"].map(|name| dir.join(format!("frame_{name}.npy")));
    if paths.iter().all(|p| p.exists()) {
        return paths.map(|p| npy::read_file(&p).unwrap().into_image().unwrap());
    }
    let f32img = frame_f32();
    let u8img = quantised(&f32img, PixelType::U8);
    let u16img = quantised(&f32img, PixelType::U16);
    let images = [f32img, u8img, u16img];
    for (path, img) in paths.iter().zip(&images) {
        npy::write_file(path, &NdArray::from_image(&img.view())).unwrap();
    }
    images
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
    let [f32img, u8img, u16img] = frames(&dir);
    if cases.contains(&"png") {
        write_read(runs, "png_u8", &dir.join("imkit_u8.png"), &u8img);
        write_read(runs, "png_u16", &dir.join("imkit_u16.png"), &u16img);
    }
    if cases.contains(&"png_write") {
        imkit::threads::set_num_threads(1).unwrap();
        let quarter = imkit::Rect::from_xywh(0, 0, frames::W as u64, frames::H as u64 / 4);
        for img in [&u8img, &u16img] {
            let bytes = codec::png::encode(&img.view().crop(quarter).unwrap(), 1).unwrap();
            println!("png_encode {} bytes", bytes.len());
        }
    }
    // exr_write_u8: samples that are u8 values / 255, like the frames of benches/compat.sh;
    // exr_piz_write_u8: the same frames with PIZ, as immetaio writes them.
    for case in ["exr_write", "exr_write_u8", "exr_piz_write_u8"] {
        if cases.contains(&case) {
            let image = match case {
                "exr_write" => f32img.clone(),
                _ => u8_as_f32(&u8img),
            };
            let options = WriteOptions {
                exr_compression: match case {
                    "exr_piz_write_u8" => codec::ExrCompression::Piz,
                    _ => codec::ExrCompression::Zip,
                },
                ..WriteOptions::default()
            };
            for _ in 0..runs {
                codec::write_image(dir.join("imkit.exr"), &image.view(), &options).unwrap();
            }
        }
    }
    if cases.contains(&"exr_read") {
        for _ in 0..5 {
            codec::read_image(dir.join("imkit.exr")).unwrap();
        }
    }
    if cases.contains(&"npy_read") {
        for _ in 0..5 {
            npy::read_file(&dir.join("imkit.npy")).unwrap();
        }
    }
    if cases.contains(&"exr") {
        write_read(runs, "exr", &dir.join("imkit.exr"), &f32img);
    }
    if cases.contains(&"npy") {
        imkit::threads::set_num_threads(0).unwrap();
        let arr = NdArray::from_image(&f32img.view());
        let path = dir.join("imkit.npy");
        settle();
        let t = best_new_file(runs, &path, || npy::write_file(&path, &arr).unwrap());
        println!("imkit_npy_write {t:.4} {}", size(&path));
        settle();
        let t = best(runs, || npy::write_file(&path, &arr).unwrap());
        println!("imkit_npy_overwrite {t:.4} {}", size(&path));
        settle();
        let t = best(runs, || {
            npy::read_file(&path).unwrap();
        });
        println!("imkit_npy_read {t:.4} {}", size(&path));
    }
}
