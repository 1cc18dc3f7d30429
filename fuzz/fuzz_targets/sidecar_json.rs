//! Fuzzes the sidecar metadata parser (JSON with Python's NaN / Infinity tokens): parsing
//! never panics, and what parses writes back (with Python tokens) and parses again equal.
#![no_main]

use imkit::io::metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(meta) = metadata::parse(text) else {
        return;
    };
    let written = metadata::to_text(&meta, true).expect("parsed metadata writes back");
    let again = metadata::parse(&written).expect("written metadata parses");
    let rewritten = metadata::to_text(&again, true).expect("writes again");
    assert_eq!(written, rewritten, "metadata text is not stable");
    let _ = metadata::to_text(&meta, false);
});
