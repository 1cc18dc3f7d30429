//! `imkit fragment`, `imkit stitch` and `imkit grid` end to end.

use std::process::Command;

fn imkit(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_imkit"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fragment_stitch_grid() {
    let image = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/partition/images/px_rgb8_300x200.png"
    );
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    let (ok, out, err) = imkit(&[
        "grid", image, "--cell", "64x48", "--stride", "0.5", "--key", "1:-1, -1", "--at", "100,50",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("6 rows x 12 cols"), "{out}");
    assert!(out.contains("x 264..300, y 32..192 (36x160)"), "{out}");
    assert!(out.contains("rows 0..2 x cols 3..5"), "{out}");
    let (ok, out, err) = imkit(&[
        "fragment",
        image,
        "--cell",
        "64",
        "--step",
        "48",
        "--out",
        tiles.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("24 tiles (4x6 grid)"), "{out}");
    let result = dir.path().join("back.png");
    let manifest = tiles.join("manifest.json");
    let (ok, _, err) = imkit(&[
        "stitch",
        manifest.to_str().unwrap(),
        result.to_str().unwrap(),
        "--blend",
        "linear",
    ]);
    assert!(ok, "{err}");
    let a = imkit::codec::read_image(image).unwrap();
    let b = imkit::codec::read_image(&result).unwrap();
    assert_eq!(a, b);
    let (ok, _, err) = imkit(&["grid", image, "--cell", "0"]);
    assert!(!ok && err.contains("cell size must be at least 1"), "{err}");
    let (ok, _, err) = imkit(&[
        "stitch",
        manifest.to_str().unwrap(),
        result.to_str().unwrap(),
        "--blend",
        "nope",
    ]);
    assert!(!ok && err.contains("blend mode"), "{err}");
}
