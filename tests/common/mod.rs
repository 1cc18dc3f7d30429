//! Helpers shared by the integration tests (`mod common;` in each file that needs them).

use std::io::Write;

/// Announces a skipped test on the real stderr, past libtest's output capture, so the line is
/// seen in every `cargo test` run (and collected by `.ci/run`'s summary).
pub fn skipped(reason: &str, test: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED ({reason}): {test}");
}
