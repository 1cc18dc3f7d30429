//! Helpers shared by the integration tests (`mod common;` in each file that needs them).
#![allow(dead_code)] // each test crate uses its own subset

use std::io::Write;
use std::path::PathBuf;

/// Where tests put their scratch files: `target/tmp` of this checkout (never the system's
/// /tmp, so a `cargo test` run leaves nothing behind there).
pub fn scratch_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/tmp");
    std::fs::create_dir_all(&dir).expect("cannot create target/tmp");
    dir
}

/// Announces a skipped test on the real stderr, past libtest's output capture, so the line is
/// seen in every `cargo test` run (and collected by `.ci/run`'s summary).
pub fn skipped(reason: &str, test: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED ({reason}): {test}");
}

/// xorshift64*: a tiny deterministic generator, enough for property tests.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Up to `max` random bytes.
    pub fn bytes(&mut self, max: u64) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Standard base64 with padding, written independently of the library's (a test oracle).
pub fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let v = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[(v >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}
