//! Timing driver for benches/io.sh: times imkit's PNG/EXR/NPY writes and reads and the save
//! queue on 4096x2160 RGB frames, and writes the frames as .npy for the Python peers.
//! Prints `name seconds bytes` lines (best of `runs`).
//!
//! usage: io_bench DIR [RUNS [QUEUE_DIR]]  (QUEUE_DIR: where the queue writes, default DIR)

#[path = "common/frames.rs"]
mod frames;

use std::path::{Path, PathBuf};
use std::time::Instant;

use frames::{best, frame_f32, quantised, size};

use imkit::codec::{self, npy, WriteOptions};
use imkit::io::queue::{QueueOptions, SaveQueue};
use imkit::io::Metadata;
use imkit::{Image, NdArray, PixelType};

fn queue_run(dir: &Path, img: &Image, threads: usize, frames: usize) -> (f64, usize, usize) {
    let bound = 4 * img.data().len();
    let qdir = dir.join(format!("queue{threads}"));
    let _ = std::fs::remove_dir_all(&qdir);
    std::fs::create_dir_all(&qdir).unwrap();
    let queue = SaveQueue::new(QueueOptions {
        threads,
        max_pending_bytes: bound,
        max_pending_jobs: 64,
        ..QueueOptions::default()
    })
    .unwrap();
    let t = Instant::now();
    for i in 0..frames {
        queue
            .push(qdir.join(format!("{i}.png")), img, &Metadata::new())
            .unwrap();
    }
    queue.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    let peak = queue.peak_pending_bytes().unwrap();
    assert!(queue.close().unwrap().is_empty());
    (frames as f64 / secs, peak, bound)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).expect("usage: io_bench DIR [RUNS]"));
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let queue_dir = args.get(3).map_or_else(|| dir.clone(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let f32img = frame_f32();
    let u8img = quantised(&f32img, PixelType::U8);
    let f32arr = NdArray::from_image(&f32img.view());
    npy::write_file(
        &dir.join("frame_u8.npy"),
        &NdArray::from_image(&u8img.view()),
    )
    .unwrap();
    npy::write_file(&dir.join("frame_f32.npy"), &f32arr).unwrap();
    let opts = WriteOptions::default();

    let png = dir.join("imkit.png");
    let t = best(runs, || {
        codec::write_image(&png, &u8img.view(), &opts).unwrap()
    });
    println!("imkit_png_write {t:.4} {}", size(&png));
    let t = best(runs, || {
        codec::read_image(&png).unwrap();
    });
    println!("imkit_png_read {t:.4} {}", size(&png));
    let exr = dir.join("imkit.exr");
    let t = best(runs, || {
        codec::write_image(&exr, &f32img.view(), &opts).unwrap()
    });
    println!("imkit_exr_write {t:.4} {}", size(&exr));
    let t = best(runs, || {
        codec::read_image(&exr).unwrap();
    });
    println!("imkit_exr_read {t:.4} {}", size(&exr));
    let npy_path = dir.join("imkit.npy");
    let t = best(runs, || npy::write_file(&npy_path, &f32arr).unwrap());
    println!("imkit_npy_write {t:.4} {}", size(&npy_path));
    let t = best(runs, || {
        npy::read_file(&npy_path).unwrap();
    });
    println!("imkit_npy_read {t:.4} {}", size(&npy_path));
    let frames = 12;
    for threads in [1, 2] {
        let (fps, peak, bound) = queue_run(&queue_dir, &u8img, threads, frames);
        println!("imkit_queue_{threads}w_fps {fps:.3} {peak} {bound}");
    }
}
