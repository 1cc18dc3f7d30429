//! Round trips for every dtype x channel count x format cell of the format table, NPY bytes
//! against files numpy wrote, EXR determinism, JPEG reading and the explicit-extension checks.

mod common;

use std::path::{Path, PathBuf};

use imkit::codec::{self, npy, Format, WriteOptions};
use imkit::io::{self, Data, Metadata, SaveOptions};
use imkit::{Error, Image, NdArray, PixelFormat, PixelType};

fn tmp(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-io-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/io")
}

/// Element `i` of a test pattern, spread over the type's range, native bytes.
fn sample(dtype: PixelType, i: usize) -> Vec<u8> {
    let k = (i as u64).wrapping_mul(2_654_435_761) >> 7;
    match dtype {
        PixelType::U8 => vec![k as u8],
        PixelType::I8 => (k as i8).to_ne_bytes().to_vec(),
        PixelType::U16 => (k as u16).to_ne_bytes().to_vec(),
        PixelType::I16 => (k as i16).to_ne_bytes().to_vec(),
        PixelType::U32 => (k as u32).to_ne_bytes().to_vec(),
        PixelType::I32 => (k as i32).to_ne_bytes().to_vec(),
        PixelType::U64 => k.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_ne_bytes().to_vec(),
        PixelType::I64 => (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) as i64)
            .to_ne_bytes()
            .to_vec(),
        PixelType::F16 => half::f16::from_f32((k % 4000) as f32 * 0.25 - 500.0)
            .to_ne_bytes()
            .to_vec(),
        PixelType::F32 => ((k % 100_000) as f32 * 0.37 - 1.0e4).to_ne_bytes().to_vec(),
        PixelType::F64 => ((k % 1_000_000) as f64 * 1e-3 - 7.25)
            .to_ne_bytes()
            .to_vec(),
    }
}

fn pattern(dtype: PixelType, count: usize) -> Vec<u8> {
    (0..count).flat_map(|i| sample(dtype, i)).collect()
}

fn image(dtype: PixelType, channels: usize, w: usize, h: usize) -> Image {
    let format = PixelFormat::new(dtype, channels).unwrap();
    Image::from_vec(w, h, format, pattern(dtype, w * h * channels)).unwrap()
}

fn round_trip(format: Format, dtype: PixelType, channels: usize) {
    let img = image(dtype, channels, 37, 21);
    let path = tmp(&format!(
        "rt_{}_{}_{}.{}",
        format.name(),
        dtype,
        channels,
        format.extension()
    ));
    codec::write_image(&path, &img.view(), &WriteOptions::default()).unwrap();
    assert_eq!(codec::probe(&path).unwrap().format, img.format());
    let back = codec::read_image(&path).unwrap();
    assert_eq!(back, img, "{} {dtype} x{channels}", format.name());
}

#[test]
fn png_cells() {
    for dtype in [PixelType::U8, PixelType::U16] {
        for channels in 1..=4 {
            round_trip(Format::Png, dtype, channels);
        }
    }
}

#[test]
fn exr_cells() {
    for dtype in [PixelType::F16, PixelType::F32, PixelType::U32] {
        for channels in [1, 2, 3, 4, 5, 7, 12] {
            round_trip(Format::Exr, dtype, channels);
        }
    }
}

#[test]
fn tiff_cells() {
    for dtype in [PixelType::U8, PixelType::U16, PixelType::F32] {
        for channels in [1, 3, 4] {
            round_trip(Format::Tiff, dtype, channels);
        }
    }
}

#[test]
fn npy_cells() {
    for dtype in PixelType::ALL {
        for shape in [
            vec![],
            vec![9],
            vec![4, 6],
            vec![4, 6, 1],
            vec![4, 6, 3],
            vec![4, 6, 5],
            vec![2, 3, 4, 5],
            vec![0, 3],
        ] {
            let count: usize = shape.iter().product();
            let arr = NdArray::from_vec(dtype, &shape, pattern(dtype, count)).unwrap();
            let path = tmp(&format!("rt_{dtype}_{}.npy", shape.len()));
            npy::write_file(&path, &arr).unwrap();
            assert_eq!(npy::read_file(&path).unwrap(), arr, "{dtype} {shape:?}");
            assert_eq!(codec::read_array(&path).unwrap(), arr);
        }
    }
}

/// Values of the numpy fixtures: element i is (i % 100) - 50 for signed and float types.
fn fixture_values(dtype: PixelType, shape: &[usize]) -> NdArray {
    let n: usize = shape.iter().product();
    let signed = !matches!(
        dtype,
        PixelType::U8 | PixelType::U16 | PixelType::U32 | PixelType::U64
    );
    let mut data = Vec::new();
    for i in 0..n {
        let v = (i % 100) as i64 - if signed { 50 } else { 0 };
        match dtype {
            PixelType::U8 => data.push(v as u8),
            PixelType::I8 => data.extend((v as i8).to_ne_bytes()),
            PixelType::U16 => data.extend((v as u16).to_ne_bytes()),
            PixelType::I16 => data.extend((v as i16).to_ne_bytes()),
            PixelType::U32 => data.extend((v as u32).to_ne_bytes()),
            PixelType::I32 => data.extend((v as i32).to_ne_bytes()),
            PixelType::U64 => data.extend((v as u64).to_ne_bytes()),
            PixelType::I64 => data.extend(v.to_ne_bytes()),
            PixelType::F16 => data.extend(half::f16::from_f64(v as f64).to_ne_bytes()),
            PixelType::F32 => data.extend((v as f32).to_ne_bytes()),
            PixelType::F64 => data.extend((v as f64).to_ne_bytes()),
        }
    }
    NdArray::from_vec(dtype, shape, data).unwrap()
}

fn shape_name(shape: &[usize]) -> String {
    if shape.is_empty() {
        "scalar".into()
    } else {
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x")
    }
}

#[test]
fn npy_bytes_equal_numpy_fixtures() {
    let dir = fixtures().join("npy");
    let mut checked = 0;
    for dtype in PixelType::ALL {
        for shape in [vec![], vec![7], vec![3, 4], vec![2, 3, 5], vec![2, 2, 2, 3]] {
            let file = dir.join(format!("{}_{}.npy", dtype.name(), shape_name(&shape)));
            let numpy_bytes = std::fs::read(&file).unwrap();
            let expected = fixture_values(dtype, &shape);
            let mut ours = Vec::new();
            npy::write_to(&mut ours, &expected).unwrap();
            assert_eq!(
                ours,
                numpy_bytes,
                "bytes differ from numpy for {}",
                file.display()
            );
            assert_eq!(npy::read_file(&file).unwrap(), expected);
            checked += 1;
        }
    }
    assert_eq!(checked, 55);
    for (name, dtype, shape) in [
        ("float32_3x4_F.npy", PixelType::F32, vec![3, 4]),
        ("uint16_2x3x5_F.npy", PixelType::U16, vec![2, 3, 5]),
        ("int32_3x4_BE.npy", PixelType::I32, vec![3, 4]),
        ("float64_2x3x5_BE.npy", PixelType::F64, vec![2, 3, 5]),
    ] {
        let got = npy::read_file(&dir.join(name)).unwrap();
        assert_eq!(got, fixture_values(dtype, &shape), "{name}");
    }
}

#[test]
fn npy_header_is_public_for_mapping() {
    let file = fixtures().join("npy/float64_2x3x5_BE.npy");
    let header = npy::probe(&file).unwrap();
    assert_eq!(header.shape, vec![2, 3, 5]);
    assert!(header.big_endian && !header.fortran_order);
    assert_eq!(header.data_offset, 128);
    assert_eq!(header.data_len().unwrap(), 240);
}

#[test]
fn corrupt_npy_files_are_errors() {
    let good = std::fs::read(fixtures().join("npy/uint8_3x4.npy")).unwrap();
    for cut in [0, 5, 9, 50, good.len() - 1] {
        let path = tmp(&format!("cut{cut}.npy"));
        std::fs::write(&path, &good[..cut]).unwrap();
        let err = codec::read_array(&path).unwrap_err();
        assert!(matches!(err, Error::Format(_)), "cut at {cut}: {err:?}");
    }
}

#[test]
fn exr_bytes_are_deterministic_for_any_thread_count() {
    let img = image(PixelType::F32, 3, 300, 200);
    let write = |name: &str| {
        let path = tmp(name);
        codec::write_image(&path, &img.view(), &WriteOptions::default()).unwrap();
        std::fs::read(path).unwrap()
    };
    imkit::threads::set_num_threads(1).unwrap();
    let one = write("det1.exr");
    imkit::threads::set_num_threads(2).unwrap();
    let two = write("det2.exr");
    let again = write("det3.exr");
    imkit::threads::set_num_threads(0).unwrap();
    assert_eq!(one, two);
    assert_eq!(two, again);
    for compression in [
        codec::ExrCompression::None,
        codec::ExrCompression::Rle,
        codec::ExrCompression::Zips,
        codec::ExrCompression::Piz,
    ] {
        let path = tmp(&format!("comp_{compression:?}.exr"));
        let options = WriteOptions {
            exr_compression: compression,
            ..WriteOptions::default()
        };
        codec::write_image(&path, &img.view(), &options).unwrap();
        assert_eq!(codec::read_image(&path).unwrap(), img, "{compression:?}");
    }
}

#[test]
fn jpeg_reads_like_pillow() {
    for (jpg, npy_file, channels) in [
        ("rgb.jpg", "rgb_jpg_pillow.npy", 3),
        ("grey.jpg", "grey_jpg_pillow.npy", 1),
    ] {
        let img = codec::read_image(fixtures().join(jpg)).unwrap();
        let pillow = npy::read_file(&fixtures().join(npy_file)).unwrap();
        assert_eq!((img.width(), img.height()), (64, 48));
        assert_eq!(img.format().channels, channels);
        // Decoders may differ by rounding in the inverse DCT; allow a small difference.
        let worst = img
            .data()
            .iter()
            .zip(pillow.data())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 3, "{jpg}: largest difference to Pillow is {worst}");
        assert_eq!(
            codec::probe(fixtures().join(jpg)).unwrap().file_format,
            Format::Jpeg
        );
    }
}

#[test]
fn lossy_explicit_extensions_are_refused() {
    let f32img = image(PixelType::F32, 1, 4, 4);
    let five = image(PixelType::U8, 5, 4, 4);
    let i16img = image(PixelType::I16, 3, 4, 4);
    let u8img = image(PixelType::U8, 3, 4, 4);
    let vector = NdArray::zeros(PixelType::U8, &[10]).unwrap();
    let cases: Vec<(&str, io::DataRef)> = vec![
        ("f.png", (&f32img).into()),
        ("five.png", (&five).into()),
        ("i16.tif", (&i16img).into()),
        ("u8.exr", (&u8img).into()),
        ("u8.jpg", (&u8img).into()),
        ("vec.png", (&vector).into()),
    ];
    for (name, data) in cases {
        let path = tmp(&format!("refused_{name}"));
        let err = io::save(&path, data, &Metadata::new(), &SaveOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Unsupported(_)), "{name}: {err:?}");
        assert!(!path.exists(), "{name} was written");
    }
}

#[test]
fn auto_format_and_load_for_every_cell() {
    for dtype in PixelType::ALL {
        for channels in 1..=5 {
            let img = image(dtype, channels, 6, 5);
            let stem = tmp(&format!("auto_{dtype}_{channels}"));
            let path = io::save(&stem, &img, &Metadata::new(), &SaveOptions::default()).unwrap();
            let expected = io::choose_format(dtype, &imkit::array::image_shape(6, 5, channels));
            assert_eq!(
                path.extension().unwrap(),
                expected.extension(),
                "{dtype} x{channels}"
            );
            let (data, meta) = io::load(&path).unwrap();
            assert!(meta.is_empty());
            assert_eq!(data.into_image().unwrap(), img, "{dtype} x{channels}");
            // Loading by stem finds the single file.
            let (by_stem, _) = io::load(&stem).unwrap();
            assert_eq!(by_stem.into_image().unwrap(), img);
        }
    }
}

#[test]
fn arrays_of_any_rank_round_trip_through_save_and_load() {
    for shape in [vec![], vec![12], vec![3, 4, 1], vec![2, 3, 4, 2]] {
        let n = shape.iter().product();
        let arr = NdArray::from_vec(PixelType::F32, &shape, pattern(PixelType::F32, n)).unwrap();
        let path = io::save(
            tmp(&format!("rank{}", shape.len())),
            &arr,
            &Metadata::new(),
            &SaveOptions::default(),
        )
        .unwrap();
        assert_eq!(path.extension().unwrap(), "npy");
        let (data, _) = io::load(&path).unwrap();
        assert_eq!(data, Data::Array(arr));
    }
}

/// The fast PNG level compresses segments on every core: the file must not depend on the
/// thread count (batches of 1, 2 and 3 threads cut differently) and must decode exactly.
#[test]
fn fast_png_bytes_do_not_depend_on_thread_count() {
    let dir = common::scratch_root().join(format!("imkit-png-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (dtype, channels) in [(PixelType::U16, 4), (PixelType::U8, 3), (PixelType::U8, 1)] {
        let format = PixelFormat::new(dtype, channels).unwrap();
        let (w, h) = (400, 1500);
        let mut img = Image::new(w, h, format).unwrap();
        let mut state = 0x1234_5678_9abc_def1u64;
        for (i, b) in img.data_mut().iter_mut().enumerate() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Gradients, flat stretches (runs) and noise.
            let x = i % (w * channels);
            *b = match (i / 20_000) % 3 {
                0 => (x / 7) as u8,
                1 => 42,
                _ => (state >> 56) as u8,
            };
        }
        let mut files = Vec::new();
        for threads in [1, 2, 3] {
            imkit::threads::set_num_threads(threads).unwrap();
            let path = dir.join(format!("t{threads}.png"));
            codec::write_image(&path, &img.view(), &Default::default()).unwrap();
            files.push(std::fs::read(&path).unwrap());
            let back = codec::read_image(&path).unwrap();
            assert!(back.data() == img.data(), "{format} at {threads} threads");
        }
        imkit::threads::set_num_threads(0).unwrap();
        assert!(files[0] == files[1] && files[1] == files[2], "{format}");
    }
}

/// `read_image_into` decodes into a caller's (strided) buffer exactly what `read_image` returns.
#[test]
fn read_into_a_callers_buffer_matches_read_image() {
    let dir = common::scratch_root().join(format!("imkit-read-into-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("a.exr", PixelType::F32, 3),
        ("a.exr", PixelType::F16, 1),
        ("a.png", PixelType::U8, 4),
        ("a.tif", PixelType::U8, 1),
        ("a.npy", PixelType::I16, 2),
    ];
    for (name, dtype, channels) in cases {
        let format = PixelFormat::new(dtype, channels).unwrap();
        let mut img = Image::new(61, 35, format).unwrap();
        for (i, b) in img.data_mut().iter_mut().enumerate() {
            *b = (i * 13 % 97) as u8;
        }
        let path = dir.join(name);
        codec::write_image(&path, &img.view(), &Default::default()).unwrap();
        let want = codec::read_image(&path).unwrap();
        let mut wide = Image::new(80, 35, format).unwrap();
        let rect = imkit::Rect::from_xywh(0, 0, 61, 35);
        let mut view = wide.view_mut();
        let mut out = view.crop_mut(rect).unwrap();
        codec::read_image_into(&path, &mut out).unwrap();
        assert!(
            wide.view().crop(rect).unwrap().to_image().data() == want.data(),
            "{name} {format}"
        );
    }
}
