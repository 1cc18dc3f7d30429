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

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// Lets the previous timing's background work end before the next one: `sync` writes back
/// its dirty pages, and the pause covers the release of a replaced file on imkit's closing
/// thread (tens of milliseconds for a 4K f32 NPY). codec_peers.py settles the same way, so no
/// timing pays for the one before it.
fn settle() {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(std::time::Duration::from_millis(200));
}

/// CPU seconds the process has used so far, every thread, user and system.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Wall and CPU seconds (see [`cpu_seconds`]) taken by one call of `f` (its result dropped
/// after the clocks stop).
fn once<T>(f: impl FnOnce() -> T) -> (f64, f64) {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let result = f();
    let t = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    drop(result);
    t
}

/// The bare system calls of an NPY save: create the file, allocate its blocks (ext4 then takes
/// a big write in one extent, as numpy.save's fallocate does), one gathered write of the
/// header and the samples from the caller's memory.
fn floor_save(path: &Path, header: &[u8], data: &[u8]) {
    let mut file = std::fs::File::create(path).unwrap();
    let len = (header.len() + data.len()) as libc::off_t;
    // SAFETY: fallocate only reads its integer arguments; `file` owns the open descriptor.
    unsafe { libc::fallocate(std::os::unix::io::AsRawFd::as_raw_fd(&file), 0, 0, len) };
    let parts = [std::io::IoSlice::new(header), std::io::IoSlice::new(data)];
    let n = file.write_vectored(&parts).unwrap();
    match n.checked_sub(header.len()) {
        Some(done) => file.write_all(&data[done..]).unwrap(),
        None => {
            file.write_all(&header[n..]).unwrap();
            file.write_all(data).unwrap();
        }
    }
}

/// The bare system calls of an NPY load: open, one read into fresh memory allocated as imkit
/// allocates a decode buffer (zero pages, huge pages advised).
fn floor_load(path: &Path, len: usize) -> Vec<u8> {
    let mut out = imkit::buffer::zeroed(len, "floor").unwrap();
    std::fs::File::open(path)
        .unwrap()
        .read_exact(&mut out)
        .unwrap();
    out
}

/// NPY save (new file, overwrite) and load of `image` as an f32 array, imkit against the bare
/// system calls (the floor), alternating: each round times both sides once (in turns first),
/// each new-file save after the destination was removed, each load from the page cache into
/// fresh memory freed before the next timing. Prints the best of `runs` rounds.
fn npy_rows(runs: usize, path: &Path, image: &Image) {
    imkit::threads::set_num_threads(0).unwrap();
    let arr = NdArray::from_image(&image.view());
    let header = npy::NpyHeader::encode(arr.dtype(), arr.shape());
    let len = header.len() + arr.data().len();
    let save = |side: &str| match side {
        "imkit" => npy::write_file(path, &arr).unwrap(),
        _ => floor_save(path, &header, arr.data()),
    };
    let load = |side: &str| match side {
        "imkit" => once(|| npy::read_file(path).unwrap()),
        _ => once(|| floor_load(path, len)),
    };
    // Row names: `imkit_npy_*` and `floor_rs_npy_*` (codec_peers.py prints `floor_py_npy_*`).
    let key = |side: &str| if side == "imkit" { "imkit" } else { "floor_rs" };
    let mut best = std::collections::BTreeMap::<String, f64>::new();
    // The best wall time as `key`, the best CPU time (less disturbed by load) as `key_cpu`.
    let mut keep = |key: String, (wall, cpu): (f64, f64)| {
        for (key, t) in [(format!("{key}_cpu"), cpu), (key, wall)] {
            let b = best.entry(key).or_insert(f64::INFINITY);
            *b = b.min(t);
        }
    };
    for round in 0..runs {
        let order = if round % 2 == 0 {
            ["imkit", "floor"]
        } else {
            ["floor", "imkit"]
        };
        for side in order {
            let _ = std::fs::remove_file(path);
            settle();
            keep(format!("{}_npy_write", key(side)), once(|| save(side)));
        }
        for side in order {
            settle();
            keep(format!("{}_npy_overwrite", key(side)), once(|| save(side)));
        }
        for side in order {
            settle();
            keep(format!("{}_npy_read", key(side)), load(side));
        }
    }
    for (key, t) in best {
        println!("{key} {t:.4} {len}");
    }
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
        npy_rows(runs, &dir.join("imkit.npy"), &f32img);
    }
}
