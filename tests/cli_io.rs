//! `imkit convert` and `imkit info` end to end.

mod common;

use std::process::Command;

use imkit::io::{self, metadata, SaveOptions};
use imkit::{Image, PixelFormat, PixelType};

#[test]
fn convert_carries_metadata_and_info_shows_it() {
    let d = common::scratch_root().join(format!("imkit-cli-io-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let mut img = Image::new(9, 7, PixelFormat::new(PixelType::U16, 3).unwrap()).unwrap();
    for (i, b) in img.data_mut().iter_mut().enumerate() {
        *b = (i * 13) as u8;
    }
    let m = metadata::parse(r#"{"lens": "50mm", "k": [1, 2]}"#).unwrap();
    let src = io::save(d.join("src"), &img, &m, &SaveOptions::default()).unwrap();
    let exe = env!("CARGO_BIN_EXE_imkit");
    for out in ["a.tif", "b.npy", "c"] {
        let status = Command::new(exe)
            .args([
                "convert",
                src.to_str().unwrap(),
                d.join(out).to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(status.success(), "convert to {out}");
        let (data, back) = io::load(d.join(out)).unwrap();
        assert_eq!(data.into_image().unwrap(), img, "{out}");
        assert_eq!(back, m, "{out}");
    }
    let refused = Command::new(exe)
        .args([
            "convert",
            src.to_str().unwrap(),
            d.join("x.exr").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("EXR cannot store"));
    let info = Command::new(exe)
        .args(["info", d.join("b.npy").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success());
    assert!(
        text.contains("NPY") && text.contains("9 x 7") && text.contains("uint16"),
        "{text}"
    );
    assert!(text.contains("\"lens\": \"50mm\""), "{text}");
}
