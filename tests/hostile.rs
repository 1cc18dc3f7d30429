//! Hostile input: the cases of issue 13 each give a one-line error and a plain failure exit
//! (never 101 = panic, never 134 = abort), and nothing is left behind.
//! Fixtures in tests/fixtures/hostile/ come from tests/python/make_hostile_fixtures.py.

mod common;

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
    let dir = common::scratch_root().join(format!("imkit-hostile-{name}-{}", std::process::id()));
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

#[test]
fn extract_refuses_to_overwrite_its_input() {
    let dir = temp_dir("self");
    let input = sample(&dir, "z.png");
    let before = std::fs::read(&input).unwrap();
    for out in ["z.png", "./z.png"] {
        let args = [
            "extract-tile",
            "z.png",
            out,
            "--x",
            "0",
            "--y",
            "0",
            "--tile",
            "8",
        ];
        assert_refused(&imkit(&dir, &args), &["is the input image"]);
    }
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert_eq!(listing(&dir), ["z.png"]);
}

#[test]
fn unwritable_extension_and_directory_outputs_are_named() {
    let dir = temp_dir("ext");
    sample(&dir, "s.png");
    std::fs::create_dir(dir.join("somedir")).unwrap();
    let out = imkit(&dir, &["convert", "s.png", "s.webp"]);
    assert_refused(
        &out,
        &[
            "s.webp",
            "cannot write .webp",
            ".png, .tif, .tiff, .exr and .npy",
        ],
    );
    let args = [
        "extract-tile",
        "s.png",
        "o.webp",
        "--x",
        "0",
        "--y",
        "0",
        "--tile",
        "8",
    ];
    assert_refused(&imkit(&dir, &args), &["cannot write .webp"]);
    let args = [
        "extract-tile",
        "s.png",
        "somedir",
        "--x",
        "0",
        "--y",
        "0",
        "--tile",
        "8",
    ];
    assert_refused(&imkit(&dir, &args), &["somedir is a directory"]);
    assert_refused(
        &imkit(&dir, &["convert", "s.png", "somedir"]),
        &["is a directory"],
    );
    assert_eq!(listing(&dir), ["s.png", "somedir"]);
}

#[test]
fn fill_outside_the_pixel_range_is_an_error() {
    let dir = temp_dir("fill");
    sample(&dir, "x.png");
    let extract = |fill: &str| {
        let args = [
            "extract-tile",
            "x.png",
            "o.png",
            "--x",
            "-4",
            "--y",
            "0",
            "--tile",
            "8",
        ];
        imkit(
            &dir,
            &[&args[..], &["--edge", "pad", "--fill", fill]].concat(),
        )
    };
    for fill in ["300", "-1", "nan"] {
        assert_refused(&extract(fill), &["fill value", "uint8 (0 to 255)"]);
    }
    assert!(extract("255").status.success());
    let mut v = Vec::new();
    assert!(imkit::PixelType::U16.encode_fill(65536.0, &mut v).is_err());
    assert!(imkit::PixelType::F32.encode_fill(f64::NAN, &mut v).is_ok());
    assert!(imkit::PixelType::F16.encode_fill(1e6, &mut v).is_err());
}

#[test]
fn broken_sidecar_info_prints_the_image_and_convert_says_how_to_skip_it() {
    let dir = temp_dir("sidecar");
    sample(&dir, "y.png");
    std::fs::write(dir.join("y.json"), "not json {").unwrap();
    let out = imkit(&dir, &["info", "y.png"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("size:     40 x 30") && stdout.contains("channels: 3"),
        "{stdout}"
    );
    assert!(stdout.contains("metadata: y.json (broken)"), "{stdout}");
    assert_refused(&out, &["broken metadata sidecar y.json", "--no-metadata"]);

    let out = imkit(&dir, &["convert", "y.png", "y.npy"]);
    assert_refused(
        &out,
        &["y.json", "--no-metadata", "imkit_load_without_metadata"],
    );
    assert!(!dir.join("y.npy").exists());
    // y.npy would share y.json: skipping metadata must not delete the input's sidecar.
    let out = imkit(&dir, &["convert", "y.png", "y.npy", "--no-metadata"]);
    assert_refused(&out, &["shares its sidecar", "y.json"]);
    assert!(dir.join("y.json").exists());
    let out = imkit(&dir, &["convert", "y.png", "w.npy", "--no-metadata"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("w.npy").exists() && !dir.join("w.json").exists());

    // The same option in Rust and C.
    let options = imkit::io::LoadOptions { metadata: false };
    let (_, meta) = imkit::io::load_with(dir.join("y.png"), &options).unwrap();
    assert!(meta.is_empty());
    assert!(imkit::io::load(dir.join("y.png")).is_err());
    let path = CString::new(dir.join("y.png").to_str().unwrap()).unwrap();
    let mut image = ptr::null_mut();
    unsafe {
        let status = imkit::ffi::io::imkit_load(path.as_ptr(), &mut image, ptr::null_mut());
        assert_eq!(status, imkit_status::Format);
        let status = imkit::ffi::io::imkit_load_without_metadata(path.as_ptr(), &mut image);
        assert_eq!(status, imkit_status::Ok);
        imkit::ffi::image::imkit_image_free(image);
    }
}

#[test]
fn verify_lists_changed_tiles_and_stitch_verify_refuses_them() {
    let dir = temp_dir("verify");
    sample(&dir, "x.png");
    let out = imkit(&dir, &["fragment", "x.png", "--cell", "16", "--out", "t"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = imkit(&dir, &["verify", "t/manifest.json"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 of 6 tiles changed"));
    let out = imkit(&dir, &["stitch", "t/manifest.json", "a.png", "--verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Edit one tile (a normal thing to do): verify lists it, stitch --verify refuses.
    let tile = dir.join("t/tile_0001_0002.png");
    let mut img = imkit::codec::read_image(&tile).unwrap();
    img.data_mut()[0] ^= 0xff;
    imkit::codec::write_image(&tile, &img.view(), &Default::default()).unwrap();
    let out = imkit(&dir, &["verify", "t/manifest.json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("changed tile_0001_0002.png"), "{stdout}");
    assert!(stdout.contains("1 of 6 tiles changed"), "{stdout}");
    let out = imkit(&dir, &["stitch", "t/manifest.json", "b.png", "--verify"]);
    assert_refused(&out, &["1 of 6 tiles changed", "tile_0001_0002.png"]);
    assert!(!dir.join("b.png").exists());
    assert!(imkit(&dir, &["stitch", "t/manifest.json", "b.png"])
        .status
        .success());

    std::fs::remove_file(&tile).unwrap();
    let out = imkit(&dir, &["verify", "t/manifest.json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing tile_0001_0002.png"));
    assert_refused(&out, &["1 tile file(s)", "missing"]);
}

#[test]
fn manifest_whose_size_disagrees_with_its_grid_is_refused() {
    let dir = temp_dir("manifest");
    sample(&dir, "x.png");
    assert!(
        imkit(&dir, &["fragment", "x.png", "--cell", "16", "--out", "t"])
            .status
            .success()
    );
    let path = dir.join("t/manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"height\": 30", "\"height\": 2147483648", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let out = imkit(&dir, &["stitch", "t/manifest.json", "o.png"]);
    assert_refused(&out, &["grid shape (2, 3)", "40x2147483648"]);
}

/// Found by fuzz target region_read: an EXR whose header makes each ZIP block 687865855 x 16
/// pixels; decompressing one block asked for 27 GB inside the EXR decoder.
#[test]
fn exr_with_a_huge_block_is_refused_before_decompressing() {
    let dir = temp_dir("exr");
    let exr = fixture("exr_huge_block.exr");
    let out = imkit(&dir, &["convert", &exr, "out.npy"]);
    assert_refused(&out, &["an EXR block of 687865855x16x5", "limit of"]);
    let out = imkit(&dir, &["grid", &exr, "--cell", "16"]);
    assert_refused(&out, &["an EXR block"]);
    assert!(listing(&dir).is_empty());
}

#[test]
fn a_fragment_into_too_many_files_is_refused_before_planning() {
    let dir = temp_dir("plan");
    sample(&dir, "x.png");
    let out = imkit(
        &dir,
        &[
            "--max-pixels",
            "1000",
            "fragment",
            "x.png",
            "--cell",
            "1",
            "--out",
            "t",
        ],
    );
    assert_refused(&out, &["a fragment into 1200 files", "limit of 1000"]);
    assert!(listing(&dir.join("t")).is_empty());
}

/// Found by fuzz/mutate.py: a JPEG whose size words became 65535 x 65535 made the decoder
/// allocate 4 GB itself, an abort under a 2.5 GB address-space limit. imkit now allocates the
/// output (fallibly) and decodes into it: a clean out-of-memory error.
#[test]
fn jpeg_of_65535_squared_under_an_address_space_limit_is_a_clean_error() {
    use std::os::unix::process::CommandExt;
    let dir = temp_dir("jpeg");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imkit"));
    cmd.current_dir(&dir)
        .args(["convert", &fixture("jpeg_65535.jpg"), "out.npy"]);
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 2_500_000_000,
                rlim_max: 2_500_000_000,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &lim) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let out = cmd.output().unwrap();
    assert_refused(
        &out,
        &[
            "out of memory allocating 4294836225 bytes",
            "jpeg_65535.jpg",
        ],
    );
    assert!(listing(&dir).is_empty());
}
