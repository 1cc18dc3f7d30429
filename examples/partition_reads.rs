//! Random cell reads for benches/partition.sh: opens a partition over a file (PNG through the
//! decode-once cache, TIFF by chunks, or raw/NPY samples by mmap), reads N distinct random
//! cells (fixed seed) into one reused buffer and prints timings as JSON.
//!
//! Usage: partition_reads FILE CELL STRIDE N [--cache-dir DIR] [--raw W H C OFFSET]
//! (`IMKIT_THREADS=n` sets the library pool size.)

use std::sync::Arc;
use std::time::Instant;

use imkit::partition::{AxisKey, GridSpec, Layout, Partition, Stride};
use imkit::pixel::{PixelFormat, PixelType};
use imkit::source::{OpenOptions, RawSource, RegionSource};

fn main() -> imkit::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: partition_reads FILE CELL STRIDE N [--cache-dir DIR] [--raw W H C OFFSET]"
        );
        std::process::exit(2);
    }
    let num = |s: &str| s.parse::<u64>().expect("a number");
    let (file, cell, stride, n) = (
        &args[1],
        num(&args[2]),
        args[3].parse::<f64>().expect("stride"),
        num(&args[4]),
    );
    let mut options = OpenOptions::default();
    let mut raw = None;
    let mut i = 5;
    while i < args.len() {
        match args[i].as_str() {
            "--cache-dir" => {
                options.cache_dir = Some(args[i + 1].clone().into());
                i += 2;
            }
            "--raw" => {
                raw = Some((
                    num(&args[i + 1]),
                    num(&args[i + 2]),
                    num(&args[i + 3]),
                    num(&args[i + 4]),
                ));
                i += 5;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    if let Ok(n) = std::env::var("IMKIT_THREADS") {
        imkit::threads::set_num_threads(n.parse().expect("IMKIT_THREADS must be a number"))?;
    }
    let spec = GridSpec::square(cell, Stride::Fraction(stride));
    let t0 = Instant::now();
    let p = match raw {
        Some((w, h, c, offset)) => {
            let f = PixelFormat::new(PixelType::U8, c as usize)?;
            let s: Arc<dyn RegionSource> = Arc::new(RawSource::open(file, offset, (w, h, 1), f)?);
            Partition::new(s, &spec, None)?
        }
        None => Partition::open(file, &spec, None, &options)?,
    };
    let open = t0.elapsed().as_secs_f64();
    let (rows, cols) = p.shape();
    // Distinct random cells, SplitMix64 with a fixed seed.
    let mut seed = 12345u64;
    let mut next = || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut seen = std::collections::HashSet::new();
    let mut cells = Vec::new();
    while (cells.len() as u64) < n.min(rows * cols) {
        let c = (next() % rows, next() % cols);
        if seen.insert(c) {
            cells.push(c);
        }
    }
    let mut buf = vec![0u8; (cell * cell) as usize * p.format().bytes_per_pixel()];
    let mut times = Vec::new();
    let all = Instant::now();
    for &(r, c) in &cells {
        let t = Instant::now();
        let sel = p.select(&[AxisKey::Index(r as i64), AxisKey::Index(c as i64)])?;
        let len = p.buffer_len(&sel)?;
        p.read_into(&sel, Layout::Interleaved, &mut buf[..len])?;
        times.push(t.elapsed().as_secs_f64());
    }
    let total = all.elapsed().as_secs_f64();
    let first = times[0];
    let mut rest = times[1..].to_vec();
    rest.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = rest.get(rest.len() / 2).copied().unwrap_or(first);
    println!(
        "{{\"open_s\": {open:.4}, \"first_s\": {first:.4}, \"median_s\": {median:.5}, \"rest_total_s\": {:.4}, \"total_s\": {total:.4}, \"cells\": {}}}",
        total - first,
        cells.len()
    );
    Ok(())
}
