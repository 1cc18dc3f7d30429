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
