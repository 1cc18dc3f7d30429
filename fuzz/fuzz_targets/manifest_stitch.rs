//! Fuzzes fragment manifests: parsing never panics, and a manifest that parses stitches (or
//! fails cleanly) over a fixed set of real tile files written once at start-up.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use imkit::progress::Progress;
use imkit::tiling::{self, Blend, Manifest, StitchOptions};
use libfuzzer_sys::fuzz_target;

/// A 20x14 RGB image fragmented into 8x8 cells with stride 6: the tiles the fuzzed
/// manifests point at (their names are the seeds' names).
fn tiles() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::scratch().join("tiles");
        std::fs::create_dir_all(&dir).unwrap();
        let format = imkit::PixelFormat::new(imkit::PixelType::U8, 3).unwrap();
        let mut img = imkit::Image::new(20, 14, format).unwrap();
        for (i, b) in img.data_mut().iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        let spec = imkit::partition::GridSpec::square(8, imkit::partition::Stride::Pixels(6));
        let p = imkit::partition::Partition::from_image(img, &spec, None).unwrap();
        tiling::fragment(&p, &dir, &Default::default(), &mut Progress::none()).unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = tiles();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::from_json(text) else {
        return;
    };
    assert_eq!(
        Manifest::from_json(&manifest.to_json()).expect("a parsed manifest round-trips"),
        manifest
    );
    // Bound the work: a valid manifest may describe a huge (streamed) image.
    if manifest.width.saturating_mul(manifest.height) > 1 << 16 {
        return;
    }
    let out = common::scratch().join("stitched.png");
    for blend in [Blend::Overwrite, Blend::Linear] {
        let options = StitchOptions { blend, ..Default::default() };
        let _ = tiling::stitch_manifest(&manifest, dir, &out, &options, &mut Progress::none());
    }
});
