//! Files imkit writes, read back by numpy, Pillow and the OpenEXR Python package (and EXR files
//! that package writes, read by imkit). Uses the interpreter in `IMKIT_PYTHON` (default
//! `python3`); a test whose Python packages are missing prints `SKIPPED (...)` and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use imkit::codec::{self, npy, WriteOptions};
use imkit::{Image, NdArray, PixelFormat, PixelType};

fn python() -> String {
    std::env::var("IMKIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// True when `import <modules>` works; otherwise prints the loud skip line.
fn have(modules: &str, test: &str) -> bool {
    have_with(modules, "", test)
}

/// [`have`], also requiring the Python statement `check` to succeed after the imports.
fn have_with(modules: &str, check: &str, test: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", &format!("import {modules}\n{check}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let lacking = if check.is_empty() {
            String::new()
        } else {
            format!(" (or lacking: {check})")
        };
        common::skipped(
            &format!(
                "python modules {modules} not importable with {}{lacking}",
                python()
            ),
            test,
        );
    }
    ok
}

fn run(check: &str, dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_io.py");
    let out = Command::new(python())
        .arg(script)
        .arg(check)
        .arg(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{check} check failed:\n{text}");
    assert!(text.contains("ok"), "{check} checked nothing:\n{text}");
}

fn dir(name: &str) -> PathBuf {
    let d = common::scratch_root().join(format!("imkit-io-python-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pattern(dtype: PixelType, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            let k = (i as u64).wrapping_mul(2_654_435_761) >> 9;
            match dtype {
                PixelType::U8 => vec![k as u8],
                PixelType::I8 => (k as i8).to_ne_bytes().to_vec(),
                PixelType::U16 => (k as u16).to_ne_bytes().to_vec(),
                PixelType::I16 => (k as i16).to_ne_bytes().to_vec(),
                PixelType::U32 => (k as u32).to_ne_bytes().to_vec(),
                PixelType::I32 => (k as i32).to_ne_bytes().to_vec(),
                PixelType::U64 => (k << 20).to_ne_bytes().to_vec(),
                PixelType::I64 => ((k << 20) as i64).wrapping_neg().to_ne_bytes().to_vec(),
                PixelType::F16 => half::f16::from_f32((k % 2000) as f32 * 0.125 - 100.0)
                    .to_ne_bytes()
                    .to_vec(),
                PixelType::F32 => ((k % 100_000) as f32 * 0.37 - 1.0e4).to_ne_bytes().to_vec(),
                PixelType::F64 => ((k % 1_000_000) as f64 * 1e-3 - 7.25)
                    .to_ne_bytes()
                    .to_vec(),
            }
        })
        .collect()
}

fn image(dtype: PixelType, channels: usize) -> Image {
    let (w, h) = (23, 17);
    let format = PixelFormat::new(dtype, channels).unwrap();
    Image::from_vec(w, h, format, pattern(dtype, w * h * channels)).unwrap()
}

/// Writes `img` as `<name>.<ext>` with imkit and the reference `<name>.ref.npy`.
fn write_pair(d: &Path, name: &str, ext: &str, img: &Image) {
    write_pair_with(d, name, ext, img, &WriteOptions::default());
}

/// [`write_pair`] with write options.
fn write_pair_with(d: &Path, name: &str, ext: &str, img: &Image, options: &WriteOptions) {
    codec::write_image(d.join(format!("{name}.{ext}")), &img.view(), options).unwrap();
    npy::write_file(
        &d.join(format!("{name}.ref.npy")),
        &NdArray::from_image(&img.view()),
    )
    .unwrap();
}

#[test]
fn numpy_reads_our_npy_and_writes_the_same_bytes() {
    if !have("numpy", "numpy_reads_our_npy_and_writes_the_same_bytes") {
        return;
    }
    let d = dir("numpy");
    for dtype in PixelType::ALL {
        for shape in [
            vec![],
            vec![5],
            vec![4, 3],
            vec![4, 3, 2],
            vec![2, 3, 4, 5],
            vec![1000, 2],
        ] {
            let n = shape.iter().product();
            let arr = NdArray::from_vec(dtype, &shape, pattern(dtype, n)).unwrap();
            let name = format!("{}_{}", dtype.name(), shape.len());
            npy::write_file(&d.join(format!("{name}.npy")), &arr).unwrap();
            npy::write_file(&d.join(format!("{name}.ref.npy")), &arr).unwrap();
        }
    }
    run("numpy", &d);
}

#[test]
fn pillow_reads_our_png_and_tiff() {
    if !have("numpy, PIL", "pillow_reads_our_png_and_tiff") {
        return;
    }
    let d = dir("pillow");
    // Pillow keeps 8-bit data in every mode, 16-bit only for grey.
    for channels in 1..=4 {
        write_pair(
            &d,
            &format!("u8_{channels}"),
            "png",
            &image(PixelType::U8, channels),
        );
    }
    write_pair(&d, "u16_1", "png", &image(PixelType::U16, 1));
    for channels in [1, 3, 4] {
        write_pair(
            &d,
            &format!("u8_{channels}"),
            "tif",
            &image(PixelType::U8, channels),
        );
    }
    write_pair(&d, "u16_1", "tif", &image(PixelType::U16, 1));
    write_pair(&d, "f32_1", "tif", &image(PixelType::F32, 1));
    run("pillow", &d);
}

#[test]
fn openexr_reads_our_exr() {
    if !have("numpy, OpenEXR", "openexr_reads_our_exr") {
        return;
    }
    let d = dir("openexr");
    for dtype in [PixelType::F16, PixelType::F32] {
        for channels in [1, 2, 3, 4, 5, 11] {
            write_pair(
                &d,
                &format!("{}_{channels}", dtype.name()),
                "exr",
                &image(dtype, channels),
            );
        }
    }
    run("openexr", &d);
}

/// PIZ files of several blocks: pseudo-random samples (many distinct values: the 16-bit
/// wavelet), float16 ones (few: the 14-bit wavelet), and a stepped ramp with long runs of
/// equal words (the run-length code), at odd sizes.
fn write_piz_files(d: &Path) {
    let options = WriteOptions {
        exr_compression: codec::ExrCompression::Piz,
        ..WriteOptions::default()
    };
    let (w, h) = (301, 77);
    for (dtype, channels) in [
        (PixelType::F32, 3),
        (PixelType::F16, 1),
        (PixelType::F16, 4),
    ] {
        let format = PixelFormat::new(dtype, channels).unwrap();
        let img = Image::from_vec(w, h, format, pattern(dtype, w * h * channels)).unwrap();
        let name = format!("piz_{}_{channels}", dtype.name());
        write_pair_with(d, &name, "exr", &img, &options);
    }
    let ramp: Vec<u8> = (0..w * h * 3)
        .flat_map(|i| (((i / 3) % w / 40) as f32 / 255.0).to_ne_bytes())
        .collect();
    let format = PixelFormat::new(PixelType::F32, 3).unwrap();
    let img = Image::from_vec(w, h, format, ramp).unwrap();
    write_pair_with(d, "piz_ramp_3", "exr", &img, &options);
}

#[test]
fn openexr_reads_our_piz_exr() {
    if !have("numpy, OpenEXR", "openexr_reads_our_piz_exr") {
        return;
    }
    let d = dir("openexr-piz");
    write_piz_files(&d);
    run("openexr", &d);
}

#[test]
fn opencv_reads_our_piz_exr() {
    // OpenCV reads EXR only when built with OpenEXR and asked to by the environment.
    let exr = "os.environ['OPENCV_IO_ENABLE_OPENEXR'] = '1'; import cv2\nassert cv2.haveImageWriter('x.exr')";
    if !have_with("os, numpy", exr, "opencv_reads_our_piz_exr") {
        return;
    }
    let d = dir("opencv-piz");
    write_piz_files(&d);
    run("cv2", &d);
}

#[test]
fn we_read_exr_written_by_openexr() {
    if !have("numpy, OpenEXR", "we_read_exr_written_by_openexr") {
        return;
    }
    let d = dir("from-openexr");
    run("make-exr", &d);
    let piz = ["float16", "float32", "uint32"]
        .iter()
        .flat_map(|t| (1..=4).map(move |c| format!("py_piz_{t}_{c}")));
    for name in ["py_rgb".to_string(), "py_y".to_string()]
        .into_iter()
        .chain(piz)
    {
        let ours = NdArray::from_image(
            &codec::read_image(d.join(format!("{name}.exr")))
                .unwrap()
                .view(),
        );
        let reference = npy::read_file(&d.join(format!("{name}.ref.npy"))).unwrap();
        assert_eq!(ours, reference, "{name}");
    }
}

#[test]
fn npy_bytes_match_numpy_run_now() {
    if !have("numpy", "npy_bytes_match_numpy_run_now") {
        return;
    }
    // numpy builds the arrays itself here (the committed fixtures cover the no-numpy case).
    let d = dir("numpy-now");
    let script = format!(
        "import numpy as np\nfor dt in ['u1','i1','u2','i2','f2','u4','i4','f4','u8','i8','f8']:\n    \
         for shape in [(), (7,), (3, 4), (12345, 2), (2, 3, 5)]:\n        \
         n = int(np.prod(shape)) if shape else 1\n        \
         v = (np.arange(n) % 100).astype(dt).reshape(shape)\n        \
         np.save(r'{}/' + np.dtype(dt).name + '_' + str(len(shape)) + '_' + str(n) + '.npy', v)\n",
        d.display()
    );
    let out = Command::new(python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut checked = 0;
    for entry in std::fs::read_dir(&d).unwrap() {
        let path = entry.unwrap().path();
        let numpy_bytes = std::fs::read(&path).unwrap();
        let arr = npy::read_file(&path).unwrap();
        let mut ours = Vec::new();
        npy::write_to(&mut ours, &arr).unwrap();
        assert_eq!(ours, numpy_bytes, "{}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 55);
}
