//! The committed header must equal the one build.rs just generated.

#[test]
fn committed_header_matches_a_fresh_generation() {
    let fresh = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/imkit.h"))
        .expect("build.rs did not generate imkit.h");
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/imkit.h"))
            .unwrap_or_default();
    assert!(
        fresh == committed,
        "include/imkit.h is out of date with the Rust sources.\n\
         Regenerate it with:  IMKIT_BLESS_HEADER=1 cargo build\n\
         then review and commit include/imkit.h."
    );
}
