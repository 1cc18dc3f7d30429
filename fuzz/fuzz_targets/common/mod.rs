//! Helpers shared by the fuzz targets (included with `#[path]`).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Once;

/// Samples a fuzzed file may make imkit hold: small, so bombs are refused fast and the
/// process stays far below libFuzzer's RSS limit.
pub const MAX_SAMPLES: u64 = 1 << 22;

/// A scratch directory for this fuzzing process (files are rewritten every run), with the
/// size limit set once.
pub fn scratch() -> PathBuf {
    static INIT: Once = Once::new();
    let dir = std::env::temp_dir().join(format!("imkit-fuzz-{}", std::process::id()));
    INIT.call_once(|| {
        std::fs::create_dir_all(&dir).expect("scratch directory");
        imkit::limits::set_max_pixels(MAX_SAMPLES);
        imkit::threads::set_num_threads(1).expect("one thread");
    });
    dir
}

/// Writes `bytes` to `name` in the scratch directory and returns its path.
pub fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, bytes).expect("scratch write");
    path
}

/// Splits `data` at a length given by its first two bytes (little-endian) into two parts.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (data, &[]);
    }
    let n = u16::from_le_bytes([data[0], data[1]]) as usize;
    let rest = &data[2..];
    rest.split_at(n.min(rest.len()))
}
