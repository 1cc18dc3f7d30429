//! Hostile input: the cases of issue 13 each give a one-line error and a plain failure exit
//! (never 101 = panic, never 134 = abort), and nothing is left behind.
//! Fixtures in tests/fixtures/hostile/ come from tests/python/make_hostile_fixtures.py.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::ptr;

use imkit::ffi::imkit_status;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hostile");

fn imkit(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imkit"))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imkit-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn sample(dir: &Path, name: &str) -> PathBuf {
    let format = imkit::PixelFormat::new(imkit::PixelType::U8, 3).unwrap();
    let mut img = imkit::Image::new(40, 30, format).unwrap();
    for (i, b) in img.data_mut().iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let path = dir.join(name);
    imkit::codec::write_image(&path, &img.view(), &Default::default()).unwrap();
    path
}

/// Asserts a clean failure: exit 1, one line on stderr containing every `needles`.
fn assert_refused(out: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from: {err}");
    }
    err
}

/// Files in `dir` (names), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn png_bomb_is_refused_before_allocating() {
    let dir = temp_dir("bomb");
    let out = imkit(&dir, &["convert", &fixture("bomb.png"), "out.npy"]);
    assert_refused(
        &out,
        &["bomb.png", "200000x200000x3", "120000000000", "4294967296"],
    );
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));
    // The header alone is fine: info reads no pixel.
    let out = imkit(&dir, &["info", &fixture("bomb.png")]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("200000 x 200000"));
}

#[test]
fn bit_flipped_tiff_is_refused_by_convert_and_extract() {
    let dir = temp_dir("tiff");
    let tif = fixture("flipped.tif");
    let out = imkit(&dir, &["convert", &tif, "out.npy"]);
    assert_refused(&out, &["flipped.tif", "33554509x61x4", "4294967296"]);
    let out = imkit(
        &dir,
        &[
            "extract-tile",
            &tif,
            "t.png",
            "--x",
            "0",
            "--y",
            "0",
            "--tile",
            "16",
        ],
    );
    assert_refused(&out, &["flipped.tif", "33554509x61x4"]);
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));
}

#[test]
fn huge_padded_tiles_are_refused() {
    let dir = temp_dir("tile");
    sample(&dir, "x.png");
    for (tile, samples) in [
        ("2000000000", "12000000000000000000"),
        ("60000", "10800000000"),
    ] {
        let out = imkit(
            &dir,
            &[
                "extract-tile",
                "x.png",
                "o.png",
                "--x",
                "0",
                "--y",
                "0",
                "--tile",
                tile,
                "--edge",
                "pad",
            ],
        );
        assert_refused(&out, &["tile", samples, "4294967296"]);
    }
    assert_eq!(listing(&dir), ["x.png"]);
}

#[test]
fn max_pixels_flag_lowers_and_raises_the_limit() {
    let dir = temp_dir("flag");
    sample(&dir, "x.png");
    let out = imkit(&dir, &["--max-pixels", "1000", "convert", "x.png", "y.npy"]);
    assert_refused(&out, &["3600", "limit of 1000"]);
    let out = imkit(&dir, &["convert", "x.png", "y.npy", "--max-pixels", "3600"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn c_abi_reports_too_large_and_the_limit_is_settable() {
    use imkit::ffi::library::{
        imkit_get_max_pixels, imkit_last_error_message, imkit_set_max_pixels,
    };
    let last = || {
        unsafe { CStr::from_ptr(imkit_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    };
    let bomb = CString::new(fixture("bomb.png")).unwrap();
    let mut image = ptr::null_mut();
    let status = unsafe { imkit::ffi::io::imkit_load(bomb.as_ptr(), &mut image, ptr::null_mut()) };
    assert_eq!(status, imkit_status::TooLarge);
    assert!(image.is_null());
    assert!(last().contains("120000000000"), "{}", last());

    assert_eq!(imkit_get_max_pixels(), 1 << 32);
    let dir = temp_dir("ffi");
    let small = CString::new(sample(&dir, "s.png").to_str().unwrap()).unwrap();
    imkit_set_max_pixels(100);
    let status = unsafe { imkit::ffi::io::imkit_load(small.as_ptr(), &mut image, ptr::null_mut()) };
    imkit_set_max_pixels(0);
    assert_eq!(status, imkit_status::TooLarge, "{}", last());
    assert!(last().contains("limit of 100"), "{}", last());
    assert_eq!(imkit_get_max_pixels(), 1 << 32);
}
