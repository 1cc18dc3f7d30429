//! Fuzzes image decoding from bytes: PNG, TIFF, EXR and NPY through `Partition` (cell and
//! region reads, random access through the PNG cache and in-order streaming), and every
//! format (JPEG included) through the whole-image reader and the header probe.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use imkit::codec;
use imkit::partition::{GridSpec, Partition, Stride};
use imkit::source::OpenOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::file("in.img", data);
    let probed = codec::probe(&path);
    if let Ok(image) = codec::read_image(&path) {
        let info = probed.expect("a readable image probes");
        assert_eq!(
            (info.width, info.height, info.format),
            (image.width() as u64, image.height() as u64, image.format()),
            "probe and read disagree"
        );
    }
    let cache = common::scratch().join("cache");
    for cache_dir in [Some(cache), None] {
        let options = OpenOptions { cache_dir, volume: false };
        let spec = GridSpec::square(16, Stride::Pixels(12));
        let Ok(p) = Partition::open(&path, &spec, None, &options) else {
            continue;
        };
        let (rows, cols) = p.shape();
        for r in 0..rows.min(3) as i64 {
            for c in 0..cols.min(3) as i64 {
                let _ = p.read_cell(r, c);
            }
        }
        let _ = p.read_cell(-1, -1);
    }
});
