//! NPY region sources: images and volumes by mmap, Fortran-order and big-endian files
//! converted on read, and partitions opened from `.npy` files.

use std::path::Path;

use imkit::codec::npy;
use imkit::partition::{AxisKey, GridSpec, Layout, Partition, Stride};
use imkit::source::{self, Channels, NpySource, OpenOptions, RegionSource};
use imkit::{Image, NdArray, PixelFormat, PixelType, Rect};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/io/npy");

/// Bytes counting up, so that every sample differs from its neighbours.
fn counting(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn write(
    dir: &Path,
    name: &str,
    dtype: PixelType,
    shape: &[usize],
) -> (std::path::PathBuf, Vec<u8>) {
    let len = shape.iter().product::<usize>() * dtype.size();
    let data = counting(len);
    let path = dir.join(name);
    npy::write_file(
        &path,
        &NdArray::from_vec(dtype, shape, data.clone()).unwrap(),
    )
    .unwrap();
    (path, data)
}

/// Reads `rect` of slice `z` with `bands` through `read_region`.
fn read(src: &dyn RegionSource, z: u64, rect: Rect, bands: &[i64]) -> Image {
    let ch = Channels::select(bands, src.format().channels).unwrap();
    let format = PixelFormat::new(src.format().dtype, ch.len()).unwrap();
    let mut img = Image::new(rect.width() as usize, rect.height() as usize, format).unwrap();
    source::read_region(src, z, rect, &ch, &mut img.view_mut()).unwrap();
    img
}

/// What `read` should give, computed from a C-order array `data` of (d, h, w, c) samples.
fn expected(
    data: &[u8],
    dims: [usize; 4],
    size: usize,
    z: usize,
    rect: Rect,
    bands: &[usize],
) -> Vec<u8> {
    let [_, h, w, c] = dims;
    let mut out = Vec::new();
    for y in rect.top as usize..rect.bottom as usize {
        for x in rect.left as usize..rect.right as usize {
            for &b in bands {
                let at = (((z * h + y) * w + x) * c + b) * size;
                out.extend_from_slice(&data[at..at + size]);
            }
        }
    }
    out
}

#[test]
fn images_and_volumes_written_by_imkit() {
    let dir = tempfile::tempdir().unwrap();
    let rect = Rect::from_xywh(3, 5, 17, 11);

    let (path, data) = write(dir.path(), "grey.npy", PixelType::U16, &[40, 30]);
    let src = NpySource::open(&path, false).unwrap();
    assert_eq!((src.width(), src.height(), src.depth()), (30, 40, 1));
    assert_eq!(
        read(&src, 0, rect, &[0]).data(),
        &expected(&data, [1, 40, 30, 1], 2, 0, rect, &[0])[..]
    );

    let (path, data) = write(dir.path(), "rgb.npy", PixelType::U8, &[40, 30, 3]);
    let src = NpySource::open(&path, false).unwrap();
    assert_eq!(src.format(), PixelFormat::new(PixelType::U8, 3).unwrap());
    assert_eq!(
        read(&src, 0, rect, &[2, 0]).data(),
        &expected(&data, [1, 40, 30, 3], 1, 0, rect, &[2, 0])[..]
    );

    // The same 3-D file as a volume of 40 slices of 30 x 3.
    let vol = NpySource::open(&path, true).unwrap();
    assert_eq!((vol.width(), vol.height(), vol.depth()), (3, 30, 40));
    let r = Rect::from_xywh(1, 4, 2, 9);
    assert_eq!(
        read(&vol, 21, r, &[0]).data(),
        &expected(&data, [40, 30, 3, 1], 1, 21, r, &[0])[..]
    );

    let (path, data) = write(dir.path(), "vol.npy", PixelType::F32, &[6, 40, 30, 2]);
    let src = NpySource::open(&path, false).unwrap();
    assert_eq!((src.width(), src.height(), src.depth()), (30, 40, 6));
    for z in 0..6 {
        assert_eq!(
            read(&src, z as u64, rect, &[-1, 0, 1]).data(),
            &expected(&data, [6, 40, 30, 2], 4, z, rect, &[1, 0, 1])[..]
        );
    }
}

#[test]
fn numpy_fixtures_in_any_order_read_like_the_codec() {
    let mut checked = 0;
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        let array = npy::read_file(&path).unwrap();
        let shape = array.shape().to_vec();
        for volume in [false, true] {
            let dims = match (&shape[..], volume) {
                ([h, w], _) => [1, *h, *w, 1],
                ([h, w, c], false) => [1, *h, *w, *c],
                ([d, h, w], true) => [*d, *h, *w, 1],
                ([d, h, w, c], _) => [*d, *h, *w, *c],
                _ => {
                    let err = NpySource::open(&path, volume).err().unwrap();
                    assert!(matches!(err, imkit::Error::Unsupported(_)), "{err}");
                    continue;
                }
            };
            let src = NpySource::open(&path, volume).unwrap();
            let size = array.dtype().size();
            let bands: Vec<usize> = (0..dims[3]).rev().collect();
            let keys: Vec<i64> = bands.iter().map(|&b| b as i64).collect();
            for z in 0..dims[0] {
                for rect in [
                    Rect::from_xywh(0, 0, dims[2] as u64, dims[1] as u64),
                    Rect::from_xywh(
                        dims[2] as u64 - 1,
                        dims[1] as u64 / 2,
                        1,
                        dims[1] as u64 / 2,
                    ),
                ] {
                    if rect.width() == 0 || rect.height() == 0 {
                        continue;
                    }
                    let got = read(&src, z as u64, rect, &keys);
                    let want = expected(array.data(), dims, size, z, rect, &bands);
                    assert_eq!(got.data(), &want[..], "{} z={z} {rect:?}", path.display());
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked}");
}

#[test]
fn fortran_and_big_endian_fixtures_are_converted() {
    for name in [
        "float32_3x4_F.npy",
        "uint16_2x3x5_F.npy",
        "float64_2x3x5_BE.npy",
        "int32_3x4_BE.npy",
    ] {
        let path = Path::new(FIXTURES).join(name);
        let array = npy::read_file(&path).unwrap();
        let src = NpySource::open(&path, false).unwrap();
        let f = src.format();
        let mut img = Image::new(src.width() as usize, src.height() as usize, f).unwrap();
        let rect = Rect::from_xywh(0, 0, src.width(), src.height());
        source::read_region(
            &src,
            0,
            rect,
            &Channels::all(f.channels),
            &mut img.view_mut(),
        )
        .unwrap();
        assert_eq!(img.data(), array.data(), "{name}");
    }
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write(dir.path(), "line.npy", PixelType::U8, &[10]);
    let err = NpySource::open(&path, false).err().unwrap().to_string();
    assert!(err.contains("neither an image"), "{err}");
    let (path, _) = write(dir.path(), "five.npy", PixelType::U8, &[2, 2, 2, 2, 2]);
    assert!(NpySource::open(&path, true).is_err());
    let (path, _) = write(dir.path(), "empty.npy", PixelType::U8, &[0, 4]);
    assert!(NpySource::open(&path, false)
        .err()
        .unwrap()
        .to_string()
        .contains("no pixels"));
    let (path, _) = write(dir.path(), "cut.npy", PixelType::U16, &[8, 8]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let err = NpySource::open(&path, false).err().unwrap().to_string();
    assert!(err.contains("needs"), "{err}");
    std::fs::write(&path, b"\x93NUMPY garbage").unwrap();
    assert!(matches!(
        NpySource::open(&path, false),
        Err(imkit::Error::Format(_))
    ));
}

#[test]
fn partitions_over_npy_images_and_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = write(dir.path(), "img.npy", PixelType::U8, &[100, 90, 3]);
    let spec = GridSpec::square(32, Stride::Fraction(0.5));
    let p = Partition::open(&path, &spec, Some(&[1]), &OpenOptions::default()).unwrap();
    assert!(!p.grid().is_volume());
    let cell = p.read_cell(-1, 2).unwrap();
    let rect = p.cell_rect(-1, 2).unwrap();
    assert_eq!(
        cell.data(),
        &expected(&data, [1, 100, 90, 3], 1, 0, rect, &[1])[..]
    );

    // A 3-D array opened as a volume, with 3-D keys and a slice over depth.
    let (path, data) = write(dir.path(), "vol.npy", PixelType::U16, &[7, 50, 40]);
    let options = OpenOptions {
        volume: true,
        ..OpenOptions::default()
    };
    let spec = GridSpec::square(16, Stride::Pixels(16)).with_depth(3, Stride::Pixels(2));
    let p = Partition::open(&path, &spec, None, &options).unwrap();
    assert!(p.grid().is_volume());
    assert_eq!(p.grid().depth().count(), 3);
    let sel = p
        .select(&[
            AxisKey::Slice(Some(1), None),
            AxisKey::Index(1),
            AxisKey::Index(-1),
        ])
        .unwrap();
    let mut buf = vec![0; p.buffer_len(&sel).unwrap()];
    p.read_into(&sel, Layout::Interleaved, &mut buf).unwrap();
    // Depth cells 1 and 2 cover slices 2..7; row 1 is y 16..32; the last column x 32..40.
    let rect = Rect {
        left: 32,
        top: 16,
        right: 40,
        bottom: 32,
    };
    let want: Vec<u8> = (2..7)
        .flat_map(|z| expected(&data, [7, 50, 40, 1], 2, z, rect, &[0]))
        .collect();
    assert_eq!(buf, want);

    // Without the option the same file is a (h, w, c) = (7, 50, 40) image.
    let spec = GridSpec::square(4, Stride::Fraction(1.0));
    let p = Partition::open(&path, &spec, None, &OpenOptions::default()).unwrap();
    assert_eq!(
        (p.source().height(), p.source().width(), p.format().channels),
        (7, 50, 40)
    );
}
