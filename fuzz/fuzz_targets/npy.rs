//! Fuzzes NPY parsing: the header parser, the in-memory decoder, the file reader and the
//! mmap'd region source behind `Partition` must fail cleanly or agree with each other.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use imkit::codec::npy;
use imkit::partition::{GridSpec, Partition, Stride};
use imkit::source::OpenOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::file("in.npy", data);
    let _ = npy::NpyHeader::parse(data);
    let decoded = npy::decode(data);
    let read = npy::read_file(&path);
    match (&decoded, &read) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "decode and read_file disagree"),
        (Err(_), Err(_)) => {}
        // decode refuses what the file reader refuses, except for the size limit (decode
        // copies from bytes the caller already holds).
        (Ok(_), Err(imkit::Error::TooLarge(_))) => {}
        (a, b) => panic!("decode {:?} vs read_file {:?}", a.is_ok(), b.is_ok()),
    }
    for volume in [false, true] {
        let options = OpenOptions { cache_dir: None, volume };
        let spec = GridSpec::square(7, Stride::Pixels(5));
        if let Ok(p) = Partition::open(&path, &spec, None, &options) {
            let (rows, cols) = p.shape();
            for (r, c) in [(0, 0), (rows as i64 - 1, cols as i64 - 1), (-1, -1)] {
                let _ = p.read_cell(r, c);
            }
        }
    }
});
