//! The `imkit` command-line tool, run as a user would.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn imkit(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imkit"))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sample(dir: &Path, w: usize, h: usize) -> PathBuf {
    let format = imkit::PixelFormat::new(imkit::PixelType::U8, 3).unwrap();
    let mut img = imkit::Image::new(w, h, format).unwrap();
    for (i, b) in img.data_mut().iter_mut().enumerate() {
        *b = (i % 249) as u8;
    }
    let path = dir.join("input.png");
    imkit::codec::write_image(&path, &img.view(), &Default::default()).unwrap();
    path
}

#[test]
fn extract_and_paste_with_imkerutils_default_names() {
    let dir = temp_dir("names");
    sample(&dir, 2100, 1100);
    let out = imkit(
        &dir,
        &[
            "extract-tile",
            "input.png",
            "--x",
            "2099",
            "--y",
            "1099",
            "--corner",
            "BR",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("outputs/tiles/input__BR__2099_1099.png"),
        "{stdout}"
    );
    assert!(stdout.contains("(1076, 76, 2100, 1100)"), "{stdout}");
    assert!(dir.join("outputs/tiles/input__BR__2099_1099.png").exists());

    let out = imkit(
        &dir,
        &[
            "paste-tile",
            "input.png",
            "outputs/tiles/input__BR__2099_1099.png",
            "--x",
            "0",
            "--y",
            "0",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("outputs/images/input__patched.png").exists());

    let out = imkit(&dir, &["info", "outputs/images/input__patched.png"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2100 x 1100") && stdout.contains("uint8"),
        "{stdout}"
    );
}

#[test]
fn rectangular_tiles_edges_and_explicit_outputs() {
    let dir = temp_dir("rect");
    sample(&dir, 300, 200);
    let out = imkit(
        &dir,
        &[
            "extract-tile",
            "input.png",
            "t.png",
            "--x",
            "-10",
            "--y",
            "190",
            "--width",
            "50",
            "--height",
            "30",
            "--edge",
            "clip",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = imkit::codec::probe(dir.join("t.png")).unwrap();
    assert_eq!((info.width, info.height), (40, 10));
    assert!(
        !dir.join("outputs").exists(),
        "explicit outputs must not create outputs/"
    );
}

#[test]
fn errors_are_one_line_with_non_zero_exit() {
    let dir = temp_dir("errors");
    sample(&dir, 100, 100);
    for args in [
        vec![
            "extract-tile",
            "input.png",
            "t.png",
            "--x",
            "90",
            "--y",
            "0",
            "--tile",
            "20",
        ],
        vec![
            "extract-tile",
            "missing.png",
            "t.png",
            "--x",
            "0",
            "--y",
            "0",
        ],
        vec![
            "extract-tile",
            "input.png",
            "t.png",
            "--x",
            "0",
            "--y",
            "0",
            "--corner",
            "middle",
        ],
        vec!["info", "Cargo.toml"],
    ] {
        let out = imkit(&dir, &args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("imkit: error: "), "{stderr}");
    }
}

#[test]
fn demo_runs_end_to_end() {
    let dir = temp_dir("demo");
    let out = imkit(&dir, &["demo", "--dir", "d"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo OK"));
}
