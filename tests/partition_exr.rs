//! EXR region sources: only the blocks a region touches are decoded (scan-line blocks and
//! tiles), any channel count, float16 and float32, channel selection at read time.

use std::path::Path;

use imkit::codec::exr::{self as exr_codec, ExrCompression};
use imkit::partition::{GridSpec, Partition, Stride};
use imkit::source::{self, Channels, ExrSource, OpenOptions, RegionSource};
use imkit::{Image, PixelFormat, PixelType, Rect};

/// An image whose samples are all distinct small floats (exact in float16).
fn pattern(w: usize, h: usize, format: PixelFormat) -> Image {
    let mut img = Image::new(w, h, format).unwrap();
    let size = format.dtype.size();
    for (i, sample) in img.data_mut().chunks_exact_mut(size).enumerate() {
        let v = (i % 2000) as f32 * 0.5;
        match format.dtype {
            PixelType::F16 => sample.copy_from_slice(&half::f16::from_f32(v).to_ne_bytes()),
            _ => sample.copy_from_slice(&v.to_ne_bytes()),
        }
    }
    img
}

/// `rect` of `full` with output channel `o` taken from band `bands[o]`.
fn crop(full: &Image, rect: Rect, bands: &[usize]) -> Vec<u8> {
    let f = full.format();
    let (size, bpp) = (f.dtype.size(), f.bytes_per_pixel());
    let mut out = Vec::new();
    for y in rect.top as usize..rect.bottom as usize {
        let row = full.view().row(y).to_vec();
        for x in rect.left as usize..rect.right as usize {
            for &b in bands {
                out.extend_from_slice(&row[x * bpp + b * size..][..size]);
            }
        }
    }
    out
}

fn read(src: &dyn RegionSource, rect: Rect, bands: &[i64]) -> Vec<u8> {
    let ch = Channels::select(bands, src.format().channels).unwrap();
    let f = PixelFormat::new(src.format().dtype, ch.len()).unwrap();
    let mut img = Image::new(rect.width() as usize, rect.height() as usize, f).unwrap();
    source::read_region(src, 0, rect, &ch, &mut img.view_mut()).unwrap();
    img.into_vec()
}

#[test]
fn scanline_reads_decode_only_touched_blocks() {
    let dir = tempfile::tempdir().unwrap();
    for (dtype, channels, compression, lines) in [
        (PixelType::F16, 4, ExrCompression::Zip, 16),
        (PixelType::F32, 7, ExrCompression::None, 1),
        (PixelType::F32, 1, ExrCompression::Piz, 32),
    ] {
        let format = PixelFormat::new(dtype, channels).unwrap();
        let full = pattern(70, 200, format);
        let path = dir.path().join(format!("{dtype:?}_{channels}.exr"));
        exr_codec::write_file(&path, &full.view(), compression).unwrap();
        let src = ExrSource::open(&path).unwrap();
        assert_eq!((src.width(), src.height(), src.format()), (70, 200, format));
        let rect = Rect::from_xywh(5, 40, 30, 20); // rows 40..60
        let bands: Vec<usize> = (0..channels).rev().collect();
        let keys: Vec<i64> = bands.iter().map(|&b| b as i64).collect();
        assert_eq!(read(&src, rect, &keys), crop(&full, rect, &bands));
        let touched = (59 / lines - 40 / lines + 1) as u64;
        let total = 200u64.div_ceil(lines as u64);
        assert_eq!(src.blocks_decoded(), touched, "{dtype:?} {channels}");
        assert!(touched < total);
        // Repeated and dropped channels.
        let rect = Rect::from_xywh(69, 199, 1, 1);
        let keys = [0, 0, -1];
        let bands = [0, 0, channels - 1];
        assert_eq!(read(&src, rect, &keys), crop(&full, rect, &bands));
        assert_eq!(src.blocks_decoded(), touched + 1);
    }
}

fn write_tiled(path: &Path, w: usize, h: usize) {
    use exr::prelude::*;
    let channels = SpecificChannels::rgb(|Vec2(x, y): Vec2<usize>| {
        let v = (y * w + x) as f32;
        (v, v + 0.25, v + 0.5)
    });
    let encoding = Encoding {
        compression: Compression::ZIP16,
        blocks: Blocks::Tiles(Vec2(16, 16)),
        line_order: LineOrder::Increasing,
    };
    let layer = Layer::new((w, h), LayerAttributes::named("main"), encoding, channels);
    exr::image::Image::from_layer(layer)
        .write()
        .non_parallel()
        .to_file(path)
        .unwrap();
}

#[test]
fn tiled_reads_decode_only_touched_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiled.exr");
    write_tiled(&path, 100, 90);
    let full = exr_codec::read_file(&path).unwrap();
    let src = ExrSource::open(&path).unwrap();
    assert_eq!(src.format(), PixelFormat::new(PixelType::F32, 3).unwrap());
    // x 20..40 and y 30..50 touch tile columns 1, 2 and tile rows 1, 2, 3: 6 of 7 x 6 tiles.
    let rect = Rect::from_xywh(20, 30, 20, 20);
    assert_eq!(read(&src, rect, &[2, 1, 0]), crop(&full, rect, &[2, 1, 0]));
    assert_eq!(src.blocks_decoded(), 6);
    let v = |x: usize, y: usize| (y * 100 + x) as f32;
    let px = read(&src, Rect::from_xywh(99, 89, 1, 1), &[0]);
    assert_eq!(px, v(99, 89).to_ne_bytes());
    assert_eq!(src.blocks_decoded(), 7);

    // Through a partition opened by format detection.
    let p = Partition::open(
        &path,
        &GridSpec::square(32, Stride::Fraction(0.5)),
        Some(&[1]),
        &OpenOptions::default(),
    )
    .unwrap();
    let cell = p.read_cell(-1, -1).unwrap();
    let rect = p.cell_rect(-1, -1).unwrap();
    assert_eq!(cell.data(), &crop(&full, rect, &[1])[..]);
}
