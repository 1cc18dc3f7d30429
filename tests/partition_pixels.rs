//! Lazy region reads: the impart pixel vectors (SHA-256 of every recorded read, through the
//! PNG decode-once cache, the PNG row stream and the tiled TIFF source), chunk counts proving
//! that TIFF reads decode only the chunks they touch, striped / BigTIFF / multi-page TIFF,
//! padding, planar output and concurrent reads.

use std::sync::Arc;

use imkit::partition::{AxisKey, EdgePolicy, GridSpec, Layout, Partition, Stride};
use imkit::pixel::{PixelFormat, PixelType};
use imkit::source::{self, Channels, OpenOptions, PngCache, PngStream, RegionSource, TiffSource};
use imkit::{Image, Rect};
use serde_json::Value;
use sha2::{Digest, Sha256};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/partition");

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn cases() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/cases.json")).unwrap())
        .unwrap()
}

fn spec_of(case: &Value) -> GridSpec {
    let pair = |v: &Value| match v {
        Value::Array(a) => (a[0].clone(), a[1].clone()),
        o => (o.clone(), o.clone()),
    };
    let (ch, cw) = pair(&case["args"]["cell_shape"]);
    let (sy, sx) = pair(case["args"].get("stride").unwrap_or(&Value::from(1.0)));
    GridSpec::new(
        ch.as_u64().unwrap(),
        cw.as_u64().unwrap(),
        Stride::Fraction(sy.as_f64().unwrap()),
        Stride::Fraction(sx.as_f64().unwrap()),
    )
}

fn key(v: &Value) -> AxisKey {
    match v {
        Value::Null => AxisKey::All,
        Value::Number(n) => AxisKey::Index(n.as_i64().unwrap()),
        Value::Object(o) => {
            let s = o["slice"].as_array().unwrap();
            AxisKey::Slice(s[0].as_i64(), s[1].as_i64())
        }
        other => panic!("unexpected key {other}"),
    }
}

/// Runs every pixel entry of every pattern case against a partition built by `open`.
fn check_pixels(open: impl Fn(&Value, &str) -> Option<Partition>) -> usize {
    let mut checked = 0;
    for case in cases()["cases"].as_array().unwrap() {
        if case["image"]["source"] != "pattern" {
            continue;
        }
        let file = format!("{FIXTURES}/{}", case["image"]["file"].as_str().unwrap());
        let Some(p) = open(case, &file) else { continue };
        // Whole image, every band: the generator's pattern digest.
        let all = Partition::new(p.source().clone(), &spec_of(case), None).unwrap();
        let whole = all.read(&all.select(&[AxisKey::All]).unwrap()).unwrap();
        assert_eq!(
            hex(whole.data()),
            case["image_sha256"].as_str().unwrap(),
            "{file}"
        );
        let selected = p.read(&p.select(&[AxisKey::All]).unwrap()).unwrap();
        assert_eq!(
            hex(selected.data()),
            case["selected_sha256"].as_str().unwrap(),
            "{file}"
        );
        for e in case["pixels"].as_array().unwrap() {
            let mut keys = vec![key(&e["y"])];
            if e.get("form").is_none() {
                keys.push(key(&e["x"]));
            }
            let sel = p.select(&keys).unwrap();
            if e.get("numpy_dtype").and_then(Value::as_str) == Some("float32") {
                let mut buf = vec![0u8; p.buffer_len(&sel).unwrap() / p.format().dtype.size() * 4];
                p.read_into_as(&sel, Layout::Interleaved, PixelType::F32, &mut buf)
                    .unwrap();
                assert_eq!(hex(&buf), e["sha256"].as_str().unwrap(), "{file} float32");
                checked += 1;
                continue;
            }
            let img = p.read(&sel).unwrap();
            let r: Vec<u64> = e["rect"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(
                vec![0, 0, img.width() as u64, img.height() as u64][2..],
                r[2..]
            );
            assert_eq!(
                hex(img.data()),
                e["sha256"].as_str().unwrap(),
                "{file} {}",
                e["expr"]
            );
            checked += 1;
        }
    }
    checked
}

fn channels_of(case: &Value) -> Vec<i64> {
    case["args"]
        .get("channels")
        .map(|c| {
            c.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect()
        })
        .unwrap_or(vec![0, 1, 2])
}

#[test]
fn pixel_vectors_through_the_png_cache_and_tiff() {
    let cache = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..OpenOptions::default()
    };
    let n = check_pixels(|case, file| {
        Some(Partition::open(file, &spec_of(case), Some(&channels_of(case)), &options).unwrap())
    });
    assert!(n >= 40, "{n}");
}

#[test]
fn pixel_vectors_through_the_png_stream() {
    // The stream reads top to bottom; each read opens its own stream so order never matters.
    let n = check_pixels(|case, file| {
        if !file.ends_with(".png") {
            return None;
        }
        struct Fresh(String, PixelFormat, u64, u64);
        impl RegionSource for Fresh {
            fn width(&self) -> u64 {
                self.2
            }
            fn height(&self) -> u64 {
                self.3
            }
            fn format(&self) -> PixelFormat {
                self.1
            }
            fn read_slice_region(
                &self,
                z: u64,
                rect: Rect,
                ch: &Channels,
                out: &mut imkit::ImageViewMut<'_>,
            ) -> imkit::Result<()> {
                PngStream::open(&self.0)?.read_slice_region(z, rect, ch, out)
            }
        }
        let s = PngStream::open(file).unwrap();
        let fresh = Fresh(file.to_string(), s.format(), s.width(), s.height());
        Some(Partition::new(Arc::new(fresh), &spec_of(case), Some(&channels_of(case))).unwrap())
    });
    assert!(n >= 35, "{n}");
}

#[test]
fn bad_channel_selections_are_errors() {
    assert!(Channels::select(&[3], 3).is_err());
    assert!(Channels::select(&[], 3).is_err());
    assert!(Channels::select(&[0, 1, 2], 1).is_err());
    assert!(Channels::select(&[-4], 3).is_err());
    assert_eq!(
        Channels::select(&[-1, 0, 0], 3).unwrap().bands(),
        &[2, 0, 0]
    );
}

#[test]
fn tiff_reads_decode_only_touched_chunks() {
    let t = TiffSource::open(format!("{FIXTURES}/images/px_rgb8_tiled_tiff.tif")).unwrap();
    assert!(t.is_tiled());
    assert_eq!(t.chunk_size(), (64, 64));
    let all = Channels::all(3);
    let read = |rect: Rect| {
        let before = t.chunks_decoded();
        let mut img =
            Image::new(rect.width() as usize, rect.height() as usize, t.format()).unwrap();
        source::read_region(&t, 0, rect, &all, &mut img.view_mut()).unwrap();
        t.chunks_decoded() - before
    };
    assert_eq!(read(Rect::from_xywh(0, 0, 64, 64)), 1);
    assert_eq!(read(Rect::from_xywh(10, 10, 5, 5)), 1);
    assert_eq!(read(Rect::from_xywh(60, 60, 10, 10)), 4);
    assert_eq!(read(Rect::from_xywh(192, 140, 8, 10)), 1);
    assert_eq!(read(Rect::from_xywh(190, 140, 10, 10)), 2);
    assert_eq!(read(Rect::from_xywh(0, 0, 200, 150)), 12);
    assert_eq!(read(Rect::from_xywh(64, 0, 65, 1)), 2);
}

fn pattern(w: u32, h: u32, c: u32, page: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for y in 0..h {
        for x in 0..w {
            for b in 0..c {
                v.push((7 * x + 13 * y + 85 * b + x * y / 16 + 31 * page) as u8);
            }
        }
    }
    v
}

#[test]
fn striped_big_and_multipage_tiff() {
    use tiff::encoder::{colortype, TiffEncoder};
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (97u32, 203u32);
    for big in [false, true] {
        let path = dir.path().join(if big { "big.tif" } else { "stack.tif" });
        let file = std::fs::File::create(&path).unwrap();
        let pages = if big { 1 } else { 3 };
        let write = |enc: &mut dyn FnMut(&[u8])| {
            for p in 0..pages {
                enc(&pattern(w, h, 3, p));
            }
        };
        if big {
            let mut e = TiffEncoder::new_big(file).unwrap();
            write(&mut |d| {
                let mut im = e.new_image::<colortype::RGB8>(w, h).unwrap();
                im.rows_per_strip(16).unwrap();
                im.write_data(d).unwrap();
            });
        } else {
            let mut e = TiffEncoder::new(file).unwrap();
            write(&mut |d| {
                let mut im = e.new_image::<colortype::RGB8>(w, h).unwrap();
                im.rows_per_strip(16).unwrap();
                im.write_data(d).unwrap();
            });
        }
        let t = TiffSource::open(&path).unwrap();
        assert!(!t.is_tiled());
        assert_eq!(t.depth(), pages as u64);
        let rect = Rect::from_xywh(5, 30, 40, 20); // rows 30..50: strips 1, 2, 3
        let ch = Channels::select(&[2, 0], 3).unwrap();
        for z in 0..pages {
            let before = t.chunks_decoded();
            let mut img = Image::new(40, 20, PixelFormat::new(PixelType::U8, 2).unwrap()).unwrap();
            source::read_region(&t, z as u64, rect, &ch, &mut img.view_mut()).unwrap();
            assert_eq!(t.chunks_decoded() - before, 3);
            let full = pattern(w, h, 3, z);
            for y in 0..20usize {
                for x in 0..40usize {
                    let at = ((30 + y) * w as usize + 5 + x) * 3;
                    assert_eq!(
                        &img.data()[(y * 40 + x) * 2..][..2],
                        &[full[at + 2], full[at]]
                    );
                }
            }
        }
        if !big {
            // A 3-D partition over the stack: depth cells of 2 slices with step 1.
            let spec = GridSpec::square(64, Stride::Pixels(64)).with_depth(2, Stride::Pixels(1));
            let p = Partition::new(Arc::new(t), &spec, None).unwrap();
            assert_eq!(p.grid().depth().count(), 2);
            let sel = p
                .select(&[AxisKey::Index(-1), AxisKey::Index(1), AxisKey::Index(0)])
                .unwrap();
            let mut buf = vec![0; p.buffer_len(&sel).unwrap()];
            p.read_into(&sel, Layout::Interleaved, &mut buf).unwrap();
            assert_eq!(buf.len(), 2 * 64 * 64 * 3);
            let slice1 = pattern(w, h, 3, 2);
            assert_eq!(
                &buf[64 * 64 * 3..][..3],
                &slice1[(64 * w as usize) * 3..][..3]
            );
        }
    }
}

fn test_image(w: usize, h: usize, c: usize) -> Image {
    let data = pattern(w as u32, h as u32, c as u32, 0);
    Image::from_vec(w, h, PixelFormat::new(PixelType::U8, c).unwrap(), data).unwrap()
}

#[test]
fn pad_planar_and_concurrent_reads() {
    let img = test_image(50, 30, 3);
    let spec = GridSpec::square(20, Stride::Pixels(20)).with_edge(EdgePolicy::Pad);
    let p = Partition::from_image(img.clone(), &spec, Some(&[2, 1]))
        .unwrap()
        .with_fill(7.0);
    assert_eq!(p.shape(), (2, 3));
    let cell = p.read_cell(-1, -1).unwrap();
    assert_eq!((cell.width(), cell.height()), (20, 20));
    // Inside part (10x10 from (40, 20)) then fill.
    assert_eq!(cell.data()[0], img.data()[(20 * 50 + 40) * 3 + 2]);
    assert_eq!(cell.data()[(10 * 2) + 1], 7);
    assert_eq!(cell.data()[(19 * 20 + 19) * 2], 7);
    // Planar = transposed interleaved.
    let sel = p.select(&[AxisKey::Index(0), AxisKey::Index(1)]).unwrap();
    let mut planar = vec![0; p.buffer_len(&sel).unwrap()];
    p.read_into(&sel, Layout::Planar, &mut planar).unwrap();
    let inter = p.read(&sel).unwrap();
    for i in 0..400 {
        assert_eq!(planar[i], inter.data()[i * 2]);
        assert_eq!(planar[400 + i], inter.data()[i * 2 + 1]);
    }
    // Concurrent reads agree with sequential ones.
    let p = Arc::new(p);
    let want: Vec<Image> = p
        .grid()
        .cells()
        .map(|(r, c)| p.read_cell(r as i64, c as i64).unwrap())
        .collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for (i, (r, c)) in p.grid().cells().enumerate() {
                    assert_eq!(p.read_cell(r as i64, c as i64).unwrap(), want[i]);
                }
            });
        }
    });
    let mut small = vec![0; 10];
    assert!(p.read_into(&sel, Layout::Interleaved, &mut small).is_err());
}

#[test]
fn png_cache_decodes_once_and_is_reused() {
    let cache = tempfile::tempdir().unwrap();
    let file = format!("{FIXTURES}/images/px_rgb8_300x200.png");
    let c = Arc::new(PngCache::open(&file, cache.path()).unwrap());
    assert_eq!(c.decodes(), 0);
    let spec = GridSpec::square(64, Stride::Fraction(0.5));
    let p = Partition::new(c.clone(), &spec, None).unwrap();
    for (r, col) in p.grid().cells() {
        p.read_cell(r as i64, col as i64).unwrap();
    }
    assert_eq!(c.decodes(), 1);
    assert!(c.cache_file().exists());
    let again = PngCache::open(&file, cache.path()).unwrap();
    let mut img = Image::new(10, 10, again.format()).unwrap();
    source::read_region(
        &again,
        0,
        Rect::from_xywh(5, 5, 10, 10),
        &Channels::all(3),
        &mut img.view_mut(),
    )
    .unwrap();
    assert_eq!(again.decodes(), 0, "a second open reuses the cache file");
    assert!(PngCache::open(&file, cache.path().join("missing")).is_err());
}

#[test]
fn png_caches_opened_at_once_decode_once() {
    // Separate sources stand for separate processes (Dask workers) opening the same PNG: the
    // decode runs under a file lock, so one of them decodes and the others map its result.
    let cache = tempfile::tempdir().unwrap();
    let file = format!("{FIXTURES}/images/px_rgb8_300x200.png");
    let start = Arc::new(std::sync::Barrier::new(4));
    let decodes: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let start = start.clone();
                let (file, dir) = (&file, cache.path());
                s.spawn(move || {
                    let c = PngCache::open(file, dir).unwrap();
                    start.wait();
                    c.prepare().unwrap();
                    c.decodes()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(decodes, 1);
}

#[test]
fn png_stream_reads_in_order_only() {
    let file = format!("{FIXTURES}/images/px_rgb8_300x200.png");
    let s = PngStream::open(&file).unwrap();
    let all = Channels::all(3);
    let read = |rect: Rect| {
        let mut img =
            Image::new(rect.width() as usize, rect.height() as usize, s.format()).unwrap();
        source::read_region(&s, 0, rect, &all, &mut img.view_mut()).map(|_| img)
    };
    let a = read(Rect::from_xywh(0, 10, 300, 40)).unwrap();
    let b = read(Rect::from_xywh(20, 30, 50, 40)).unwrap(); // overlaps the kept band
    assert_eq!(&b.data()[..3], &a.data()[(20 * 300 + 20) * 3..][..3]);
    read(Rect::from_xywh(0, 150, 10, 50)).unwrap();
    assert!(read(Rect::from_xywh(0, 100, 10, 10)).is_err());
}

#[test]
fn compressed_tiff_fast_path_and_fallback() {
    use tiff::encoder::{colortype, Compression, DeflateLevel, Predictor, TiffEncoder};
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (150u32, 90u32);
    let rgb = pattern(w, h, 3, 0);
    let gray16: Vec<u16> = (0..w * h).map(|i| (i * 263 % 65536) as u16).collect();
    let cases = [
        (
            "deflate",
            Compression::Deflate(DeflateLevel::Balanced),
            Predictor::None,
            false,
        ),
        (
            "deflate_pred",
            Compression::Deflate(DeflateLevel::Fast),
            Predictor::Horizontal,
            false,
        ),
        ("lzw", Compression::Lzw, Predictor::None, false),
        (
            "deflate_pred16",
            Compression::Deflate(DeflateLevel::Balanced),
            Predictor::Horizontal,
            true,
        ),
    ];
    for (name, compression, predictor, sixteen) in cases {
        let path = dir.path().join(format!("{name}.tif"));
        let mut enc = TiffEncoder::new(std::fs::File::create(&path).unwrap())
            .unwrap()
            .with_compression(compression)
            .with_predictor(predictor);
        if sixteen {
            let mut im = enc.new_image::<colortype::Gray16>(w, h).unwrap();
            im.rows_per_strip(7).unwrap();
            im.write_data(&gray16).unwrap();
        } else {
            let mut im = enc.new_image::<colortype::RGB8>(w, h).unwrap();
            im.rows_per_strip(7).unwrap();
            im.write_data(&rgb).unwrap();
        }
        let t = TiffSource::open(&path).unwrap();
        let rect = Rect::from_xywh(11, 20, 100, 30); // rows 20..50: strips 2..=7
        let ch = Channels::all(t.format().channels);
        let mut img = Image::new(100, 30, t.format()).unwrap();
        let before = t.chunks_decoded();
        source::read_region(&t, 0, rect, &ch, &mut img.view_mut()).unwrap();
        assert_eq!(t.chunks_decoded() - before, 6, "{name}");
        // Decoded chunks are cached: reading again decodes nothing, unless the cache is off.
        let mut again = Image::new(100, 30, t.format()).unwrap();
        source::read_region(&t, 0, rect, &ch, &mut again.view_mut()).unwrap();
        assert_eq!(t.chunks_decoded() - before, 6, "{name}");
        assert_eq!(again, img);
        t.set_chunk_cache(0);
        source::read_region(&t, 0, rect, &ch, &mut again.view_mut()).unwrap();
        assert_eq!(t.chunks_decoded() - before, 12, "{name}");
        for y in 0..30usize {
            for x in 0..100usize {
                let (sx, sy) = (11 + x, 20 + y);
                if sixteen {
                    let v = u16::from_ne_bytes([
                        img.data()[(y * 100 + x) * 2],
                        img.data()[(y * 100 + x) * 2 + 1],
                    ]);
                    assert_eq!(v, gray16[sy * w as usize + sx], "{name}");
                } else {
                    let at = (sy * w as usize + sx) * 3;
                    assert_eq!(
                        &img.data()[(y * 100 + x) * 3..][..3],
                        &rgb[at..at + 3],
                        "{name}"
                    );
                }
            }
        }
    }
}

#[test]
fn big_regions_copied_in_parallel_bands_match_the_pixels() {
    // 1100x500 RGB: cells of 1100x400 are 1.3 MB, over the size copied as parallel row bands.
    imkit::threads::set_num_threads(3).unwrap();
    let img = test_image(1100, 500, 3);
    let spec = GridSpec::new(400, 1100, Stride::Pixels(100), Stride::Pixels(1100));
    for channels in [None, Some(&[2i64, 0][..])] {
        let p = Partition::from_image(img.clone(), &spec, channels).unwrap();
        for row in 0..p.shape().0 as i64 {
            let got = p.read_cell(row, 0).unwrap();
            let bands: Vec<usize> =
                channels.map_or(vec![0, 1, 2], |c| c.iter().map(|&b| b as usize).collect());
            for y in 0..got.height() {
                let src = img.view().row(y + row as usize * 100);
                let want: Vec<u8> = src
                    .chunks_exact(3)
                    .flat_map(|px| bands.iter().map(|&b| px[b]).collect::<Vec<_>>())
                    .collect();
                assert_eq!(
                    got.view().row(y),
                    &want[..],
                    "row {y} of cell {row}, bands {bands:?}"
                );
            }
        }
    }
}
