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
    for args in whole_and_region_reads(&tif) {
        assert_refused(&imkit(&dir, &args), &["flipped.tif", "33554509x61x4"]);
    }
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
    assert_refused(&out, &["a fragment of 1200 cells", "limit of 1000"]);
    assert!(listing(&dir.join("t")).is_empty());
}

/// The address-space limit of the mutation run (fuzz/mutate.py).
const GB_2_5: u64 = 2_500_000_000;

/// Runs the CLI under an address-space limit of `bytes`, so an allocation past it fails.
fn imkit_limited(cwd: &Path, args: &[&str], bytes: u64) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imkit"));
    cmd.current_dir(cwd).args(args);
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &lim) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    cmd.output().unwrap()
}

/// Found by fuzz/mutate.py: a JPEG whose size words became 65535 x 65535 made the decoder
/// allocate 4 GB itself, an abort under a 2.5 GB address-space limit. imkit now allocates the
/// output (fallibly) and decodes into it: a clean out-of-memory error.
#[test]
fn jpeg_of_65535_squared_under_an_address_space_limit_is_a_clean_error() {
    let dir = temp_dir("jpeg");
    let out = imkit_limited(
        &dir,
        &["convert", &fixture("jpeg_65535.jpg"), "out.npy"],
        GB_2_5,
    );
    assert_refused(
        &out,
        &[
            "out of memory allocating 4294836225 bytes",
            "jpeg_65535.jpg",
        ],
    );
    assert!(listing(&dir).is_empty());
}

/// A little-endian TIFF: one grey uint8 strip of `width` x `height` pixels, compressed with
/// `compression`, whose StripOffsets tag holds `offsets` values (all but the first past the
/// file); the strip holds `data`.
fn crafted_tiff(width: u32, height: u32, compression: u32, offsets: u32, data: &[u8]) -> Vec<u8> {
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    let data_at = 8 + 2 + 9 * 12 + 4;
    let entries: [(u16, u16, u32, u32); 9] = [
        (256, LONG, 1, width),
        (257, LONG, 1, height),
        (258, SHORT, 1, 8),
        (259, SHORT, 1, compression),
        (262, SHORT, 1, 1),
        (273, LONG, offsets, data_at),
        (277, SHORT, 1, 1),
        (278, LONG, 1, height),
        (279, LONG, 1, data.len() as u32),
    ];
    let mut v = b"II*\0".to_vec();
    v.extend(8u32.to_le_bytes());
    v.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        v.extend(tag.to_le_bytes());
        v.extend(kind.to_le_bytes());
        v.extend(count.to_le_bytes());
        v.extend(value.to_le_bytes());
    }
    v.extend(0u32.to_le_bytes());
    v.extend(data);
    v
}

const LZW: u32 = 5;

/// The two ways a file is read: whole (`convert`) and by region (`extract-tile`).
fn whole_and_region_reads(name: &str) -> [Vec<&str>; 2] {
    [
        vec!["convert", name, "out.npy"],
        vec![
            "extract-tile",
            name,
            "t.png",
            "--x",
            "0",
            "--y",
            "0",
            "--tile",
            "8",
        ],
    ]
}

/// A TIFF inside the sample limit (65536 x 65535 = 2^32 - 2^16 samples) whose strip the
/// `tiff` crate used to decode into a 4 GB buffer of its own: an abort when memory ran out.
/// The whole-file read and the region source now decode into imkit's fallible buffers.
#[test]
fn tiff_inside_the_limit_without_the_memory_is_a_clean_error() {
    let tiff = crafted_tiff(65536, 65535, LZW, 1, &[0x80; 16]);
    assert_tiff_refused(
        "tiff-mem",
        tiff,
        "out of memory allocating 4294901760 bytes",
    );
}

/// Writes `tiff` to a fresh directory and asserts that reading it whole and by region, under
/// the mutation run's address-space limit, fails cleanly naming `cause`, leaving nothing.
fn assert_tiff_refused(test: &str, tiff: Vec<u8>, cause: &str) {
    let dir = temp_dir(test);
    std::fs::write(dir.join("in.tif"), tiff).unwrap();
    for args in whole_and_region_reads("in.tif") {
        let out = imkit_limited(&dir, &args, GB_2_5);
        assert_refused(&out, &["in.tif", cause]);
    }
    assert_eq!(listing(&dir), ["in.tif"]);
}

/// A TIFF tag claiming 200 million values in a 150-byte file is refused before anything is
/// reserved: the `tiff` crate's limits come from the file's size (they were unlimited).
#[test]
fn tiff_tag_longer_than_the_file_is_refused_before_allocating() {
    let tiff = crafted_tiff(16, 16, LZW, 200_000_000, &[0x80; 16]);
    assert_tiff_refused(
        "tiff-tag",
        tiff,
        "larger than the file or the size limit allows",
    );
}

/// A zlib stream of `bytes` zero bytes (rounded up to 258) in fixed-Huffman deflate: one
/// literal, then "copy 258 from distance 1" in 13 bits a time (adler32 left zero).
fn zlib_zeros(bytes: u64) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let (mut acc, mut n) = (0u64, 0u32);
    let mut put = |out: &mut Vec<u8>, value: u64, bits: u32, msb_first: bool| {
        for i in 0..bits {
            let bit = if msb_first {
                (value >> (bits - 1 - i)) & 1
            } else {
                (value >> i) & 1
            };
            acc |= bit << n;
            n += 1;
            if n == 8 {
                out.push(acc as u8);
                (acc, n) = (0, 0);
            }
        }
    };
    put(&mut out, 0b011, 3, false); // BFINAL, fixed Huffman
    put(&mut out, 0x30, 8, true); // literal 0
    for _ in 0..bytes.div_ceil(258) {
        put(&mut out, 0xC5, 8, true); // length 258
        put(&mut out, 0, 5, true); // distance 1
    }
    put(&mut out, 0, 7, true); // end of block
    put(&mut out, 0, 7, false);
    out.extend([0; 4]);
    out
}

/// A 1x1 PNG whose ICC profile inflates to 1.2 GB: the `png` crate had no bound on it and
/// aborted under a 1 GB address-space limit; it may now spend 64 MiB on metadata, drops the
/// profile there and the pixels read.
#[test]
fn png_icc_bomb_stops_at_the_metadata_cap() {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc = libdeflater::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    }
    let mut iccp = b"bomb\0\0".to_vec();
    iccp.extend(zlib_zeros(1_200_000_000));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    chunk(&mut png, b"iCCP", &iccp);
    let mut z = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
    let mut pixels = vec![0; 64];
    let n = z.zlib_compress(&[0, 7], &mut pixels).unwrap();
    chunk(&mut png, b"IDAT", &pixels[..n]);
    chunk(&mut png, b"IEND", &[]);
    let dir = temp_dir("iccp");
    std::fs::write(dir.join("icc.png"), png).unwrap();
    let out = imkit_limited(&dir, &["convert", "icc.png", "out.npy"], 1 << 30);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pixels = imkit::codec::read_image(dir.join("out.npy")).unwrap();
    assert_eq!(pixels.data(), [7]);
    std::fs::remove_file(dir.join("icc.png")).unwrap();
}

/// A progressive JPEG holds a coefficient for every sample while it decodes: a 30000^2 grey
/// one needs 9e8 output samples and 9e8 coefficients, refused under a limit of 1e9 before the
/// decoder allocates them (a baseline one of that size would pass).
#[test]
fn progressive_jpeg_counts_its_coefficients_against_the_limit() {
    let mut jpeg = std::fs::read(fixture("jpeg_65535.jpg")).unwrap();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 1] = 0xC2;
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x75, 0x30, 0x75, 0x30]);
    let dir = temp_dir("progressive");
    std::fs::write(dir.join("p.jpg"), &jpeg).unwrap();
    let args = ["--max-pixels", "1000000000", "convert", "p.jpg", "out.npy"];
    let out = imkit(&dir, &args);
    assert_refused(
        &out,
        &[
            "p.jpg",
            "900000000 coefficients held while decoding",
            "1800000000",
        ],
    );
    assert_eq!(listing(&dir), ["p.jpg"]);
}

/// JPEG-compressed TIFF strips: the `tiff` crate decodes each into a buffer of its JPEG frame's
/// size, so a frame larger than its strip (here 16000 x 16000 in a 64 x 48 file) is refused
/// before decoding; a strip whose frame fits reads like the JPEG itself.
#[test]
fn jpeg_tiff_strips_must_fit_their_frames() {
    let mut jpeg = std::fs::read(fixture("jpeg_65535.jpg")).unwrap();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let dir = temp_dir("jpeg-tiff");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0, 48, 0, 64]);
    std::fs::write(dir.join("ok.jpg"), &jpeg).unwrap();
    std::fs::write(dir.join("ok.tif"), crafted_tiff(64, 48, 7, 1, &jpeg)).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x3E, 0x80, 0x3E, 0x80]);
    assert_tiff_refused(
        "jpeg-tiff-big",
        crafted_tiff(64, 48, 7, 1, &jpeg),
        "a 16000x16000 frame of 1 components) does not fit the 64x48 chunk",
    );
    for name in ["ok.jpg", "ok.tif"] {
        let out = imkit(&dir, &["convert", name, &format!("{name}.npy")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (a, b) = (
        imkit::codec::read_image(dir.join("ok.jpg.npy")).unwrap(),
        imkit::codec::read_image(dir.join("ok.tif.npy")).unwrap(),
    );
    assert_eq!(a.data(), b.data());
}
