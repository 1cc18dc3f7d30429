//! File-to-file extract/paste: exactness for every PNG kind, streaming, determinism, bad input.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use imkit::codec::{self, png::PngReader, WriteOptions};
use imkit::progress::Progress;
use imkit::tiling::{self, Corner, EdgePolicy, TileSpec};
use imkit::{Error, Image, PixelFormat, PixelType};

fn temp_dir(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pattern(w: usize, h: usize, format: PixelFormat, seed: usize) -> Image {
    let mut img = Image::new(w, h, format).unwrap();
    for (i, b) in img.data_mut().iter_mut().enumerate() {
        *b = ((i * 131 + seed * 7) % 253) as u8;
    }
    img
}

/// Writes a PNG with the `png` crate directly (palette, low bit depth, tRNS...).
fn write_raw_png(
    path: &Path,
    w: u32,
    h: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    palette: Option<(&[u8], Option<&[u8]>)>,
    data: &[u8],
) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(color);
    enc.set_depth(depth);
    if let Some((plte, trns)) = palette {
        enc.set_palette(plte.to_vec());
        if let Some(t) = trns {
            enc.set_trns(t.to_vec());
        }
    }
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(data).unwrap();
}

fn decode(path: &Path) -> Image {
    codec::read_image(path).unwrap()
}

/// Asserts every pixel outside `rect` equal between a and b, and inside equal to the tile.
fn assert_exact_paste(before: &Image, after: &Image, tile: &Image, spec: &TileSpec) {
    let placement = spec
        .place(before.width() as u64, before.height() as u64)
        .unwrap();
    let r = placement.image_rect;
    let bpp = before.format().bytes_per_pixel();
    assert_eq!(before.format(), after.format());
    for y in 0..before.height() {
        let (a, b) = (before.view().row(y), after.view().row(y));
        for x in 0..before.width() {
            let inside = (r.left as usize..r.right as usize).contains(&x)
                && (r.top as usize..r.bottom as usize).contains(&y);
            let pb = &b[x * bpp..(x + 1) * bpp];
            if inside {
                let tx = x - r.left as usize + placement.offset_x as usize;
                let ty = y - r.top as usize + placement.offset_y as usize;
                assert_eq!(
                    pb,
                    &tile.view().row(ty)[tx * bpp..(tx + 1) * bpp],
                    "inside {x},{y}"
                );
            } else {
                assert_eq!(pb, &a[x * bpp..(x + 1) * bpp], "outside {x},{y}");
            }
        }
    }
}

#[test]
fn paste_into_16bit_rgba_keeps_everything_outside_bit_identical() {
    let dir = temp_dir("rgba16");
    let format = PixelFormat::new(PixelType::U16, 4).unwrap();
    let base = pattern(300, 200, format, 1);
    let tile = pattern(64, 48, format, 2);
    let (bp, tp, op) = (
        dir.join("base.png"),
        dir.join("tile.png"),
        dir.join("out.png"),
    );
    codec::write_image(&bp, &base.view(), &WriteOptions::default()).unwrap();
    codec::write_image(&tp, &tile.view(), &WriteOptions::default()).unwrap();
    let mut spec = TileSpec::square(299, 10, Corner::TopRight, 0);
    spec.width = 64;
    spec.height = 48;
    tiling::paste_file(
        &bp,
        &tp,
        &op,
        &spec,
        &WriteOptions::default(),
        &mut Progress::none(),
    )
    .unwrap();
    let after = decode(&op);
    assert_eq!(after.format(), format);
    assert_exact_paste(&base, &after, &tile, &spec);
    // Extract gives the tile back bit for bit.
    let xp = dir.join("x.png");
    tiling::extract_file(
        &op,
        &xp,
        &spec,
        &WriteOptions::default(),
        &mut Progress::none(),
    )
    .unwrap();
    assert_eq!(decode(&xp), tile);
}

#[test]
fn paste_into_palette_png_keeps_everything_outside_bit_identical() {
    let dir = temp_dir("palette");
    let (w, h) = (97u32, 61u32);
    let plte: Vec<u8> = (0..16u8)
        .flat_map(|i| [i * 16, 255 - i * 16, i * 5])
        .collect();
    let trns: Vec<u8> = (0..16u8).map(|i| i * 17).collect();
    // 4-bit indices, two pixels per byte, rows padded to whole bytes.
    let row_bytes = w.div_ceil(2) as usize;
    let mut data = vec![0u8; row_bytes * h as usize];
    for y in 0..h as usize {
        for x in 0..w as usize {
            let idx = ((x * 3 + y * 5) % 16) as u8;
            data[y * row_bytes + x / 2] |= if x % 2 == 0 { idx << 4 } else { idx };
        }
    }
    let bp = dir.join("pal.png");
    write_raw_png(
        &bp,
        w,
        h,
        png::ColorType::Indexed,
        png::BitDepth::Four,
        Some((&plte, Some(&trns))),
        &data,
    );
    let before = decode(&bp);
    assert_eq!(before.format(), PixelFormat::new(PixelType::U8, 4).unwrap());
    // Palette entry 7 at pixel (x, y) with (3x + 5y) % 16 == 7, e.g. (6, 1).
    let px = &before.view().row(1)[6 * 4..6 * 4 + 4];
    assert_eq!(px, &[7 * 16, 255 - 7 * 16, 35, 7 * 17]);
    let tile = pattern(20, 10, before.format(), 3);
    let tp = dir.join("tile.png");
    codec::write_image(&tp, &tile.view(), &WriteOptions::default()).unwrap();
    let mut spec = TileSpec::square(90, 55, Corner::TopLeft, 0);
    spec.width = 20;
    spec.height = 10;
    spec.edge = EdgePolicy::Clip;
    let op = dir.join("out.png");
    let placed = tiling::paste_file(
        &bp,
        &tp,
        &op,
        &spec,
        &WriteOptions::default(),
        &mut Progress::none(),
    )
    .unwrap();
    assert_eq!(placed.image_rect, imkit::Rect::from_xywh(90, 55, 7, 6));
    assert_exact_paste(&before, &decode(&op), &tile, &spec);
}

#[test]
fn grey_and_grey_alpha_and_low_bit_depths_round_trip() {
    let dir = temp_dir("grey");
    for channels in [1, 2, 3] {
        for dtype in [PixelType::U8, PixelType::U16] {
            let format = PixelFormat::new(dtype, channels).unwrap();
            let base = pattern(40, 30, format, channels);
            let bp = dir.join(format!("b{channels}{dtype}.png"));
            codec::write_image(&bp, &base.view(), &WriteOptions::default()).unwrap();
            let spec = TileSpec::square(5, 6, Corner::Center, 9);
            let xp = dir.join(format!("x{channels}{dtype}.png"));
            tiling::extract_file(
                &bp,
                &xp,
                &spec,
                &WriteOptions::default(),
                &mut Progress::none(),
            )
            .unwrap();
            let (expected, _) = tiling::extract(&base.view(), &spec).unwrap();
            assert_eq!(decode(&xp), expected);
        }
    }
    // 1-bit grey expands to 8-bit 0/255.
    let p = dir.join("bits.png");
    write_raw_png(
        &p,
        8,
        1,
        png::ColorType::Grayscale,
        png::BitDepth::One,
        None,
        &[0b1010_0000],
    );
    assert_eq!(decode(&p).data(), &[255, 0, 255, 0, 0, 0, 0, 0]);
}

#[test]
fn pad_and_clip_from_files() {
    let dir = temp_dir("edges");
    let format = PixelFormat::new(PixelType::U8, 3).unwrap();
    let base = pattern(50, 40, format, 9);
    let bp = dir.join("b.png");
    codec::write_image(&bp, &base.view(), &WriteOptions::default()).unwrap();
    let mut spec = TileSpec::square(45, 35, Corner::TopLeft, 16);
    let err = tiling::extract_file(
        &bp,
        dir.join("e.png"),
        &spec,
        &Default::default(),
        &mut Progress::none(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::OutOfBounds(_)), "{err}");
    assert!(!dir.join("e.png").exists());
    spec.edge = EdgePolicy::Pad(200.0);
    let xp = dir.join("pad.png");
    tiling::extract_file(&bp, &xp, &spec, &Default::default(), &mut Progress::none()).unwrap();
    let tile = decode(&xp);
    assert_eq!((tile.width(), tile.height()), (16, 16));
    assert_eq!(&tile.view().row(15)[45..48], &[200, 200, 200]);
    assert_eq!(
        &tile.view().row(0)[..3],
        &base.view().row(35)[45 * 3..46 * 3]
    );
    spec.edge = EdgePolicy::Clip;
    let cp = dir.join("clip.png");
    tiling::extract_file(&bp, &cp, &spec, &Default::default(), &mut Progress::none()).unwrap();
    let tile = decode(&cp);
    assert_eq!((tile.width(), tile.height()), (5, 5));
}

#[test]
fn output_bytes_do_not_depend_on_thread_count() {
    let dir = temp_dir("threads");
    let format = PixelFormat::new(PixelType::U8, 3).unwrap();
    let base = pattern(700, 500, format, 4);
    let bp = dir.join("b.png");
    codec::write_image(&bp, &base.view(), &WriteOptions::default()).unwrap();
    let tile = pattern(100, 100, format, 5);
    let tp = dir.join("t.png");
    codec::write_image(&tp, &tile.view(), &WriteOptions::default()).unwrap();
    let spec = TileSpec::square(123, 321, Corner::BottomLeft, 100);
    let mut outputs = Vec::new();
    for threads in [1, 2] {
        imkit::threads::set_num_threads(threads).unwrap();
        let xp = dir.join(format!("x{threads}.png"));
        let pp = dir.join(format!("p{threads}.png"));
        tiling::extract_file(&bp, &xp, &spec, &Default::default(), &mut Progress::none()).unwrap();
        tiling::paste_file(
            &bp,
            &tp,
            &pp,
            &spec,
            &Default::default(),
            &mut Progress::none(),
        )
        .unwrap();
        outputs.push((std::fs::read(&xp).unwrap(), std::fs::read(&pp).unwrap()));
    }
    imkit::threads::set_num_threads(0).unwrap();
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn every_compression_level_is_lossless_and_deterministic() {
    let dir = temp_dir("levels");
    let base = pattern(64, 64, PixelFormat::new(PixelType::U16, 2).unwrap(), 6);
    for level in 0..=9u8 {
        let opts = WriteOptions {
            png_compression: level,
            ..Default::default()
        };
        let (a, b) = (
            dir.join(format!("a{level}.png")),
            dir.join(format!("b{level}.png")),
        );
        codec::write_image(&a, &base.view(), &opts).unwrap();
        codec::write_image(&b, &base.view(), &opts).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert_eq!(decode(&a), base);
    }
    let err = codec::write_image(
        dir.join("c.png"),
        &base.view(),
        &WriteOptions {
            png_compression: 10,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
}

#[test]
fn truncated_and_corrupt_pngs_give_format_errors_and_leave_no_output() {
    let dir = temp_dir("corrupt");
    let base = pattern(200, 150, PixelFormat::new(PixelType::U8, 3).unwrap(), 8);
    let bp = dir.join("b.png");
    codec::write_image(
        &bp,
        &base.view(),
        &WriteOptions {
            png_compression: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let bytes = std::fs::read(&bp).unwrap();
    for cut in [0, 7, 8, 20, 40, bytes.len() / 2, bytes.len() - 200] {
        let tp = dir.join("trunc.png");
        std::fs::write(&tp, &bytes[..cut]).unwrap();
        let out = dir.join("out.png");
        let spec = TileSpec::square(150, 100, Corner::TopLeft, 50);
        let err =
            tiling::extract_file(&tp, &out, &spec, &Default::default(), &mut Progress::none())
                .unwrap_err();
        assert!(matches!(err, Error::Format(_)), "cut {cut}: {err}");
        let err = tiling::paste_file(
            &tp,
            &bp,
            &out,
            &TileSpec::square(0, 0, Corner::TopLeft, 0),
            &Default::default(),
            &mut Progress::none(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Format(_) | Error::Mismatch(_) | Error::InvalidArgument(_)
            ),
            "cut {cut}: {err}"
        );
        assert!(!out.exists(), "cut {cut} left an output file");
    }
    // Bit flips inside the image data: a clear error (CRC) or a decoded image, never a panic.
    for i in (33..bytes.len()).step_by(97) {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x10;
        let _ = PngReader::new(Cursor::new(flipped), "flipped").map(|mut r| {
            for _ in 0..r.height() {
                if r.next_row().is_err() {
                    break;
                }
            }
        });
    }
    // A directory that does not exist is an I/O error naming it.
    let err = codec::write_image(dir.join("missing/x.png"), &base.view(), &Default::default())
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn failed_paste_leaves_existing_output_intact_and_cancel_writes_nothing() {
    let dir = temp_dir("atomic");
    let format = PixelFormat::new(PixelType::U8, 1).unwrap();
    let base = pattern(600, 600, format, 1);
    let bp = dir.join("b.png");
    codec::write_image(&bp, &base.view(), &Default::default()).unwrap();
    let before = std::fs::read(&bp).unwrap();
    let tile = pattern(10, 10, PixelFormat::new(PixelType::U16, 1).unwrap(), 2);
    let tp = dir.join("t.png");
    codec::write_image(&tp, &tile.view(), &Default::default()).unwrap();
    let spec = TileSpec::square(0, 0, Corner::TopLeft, 10);
    let err = tiling::paste_file(
        &bp,
        &tp,
        &bp,
        &spec,
        &Default::default(),
        &mut Progress::none(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Mismatch(_)), "{err}");
    assert_eq!(std::fs::read(&bp).unwrap(), before);
    // Cancel half way through an in-place paste.
    let good = pattern(10, 10, format, 3);
    codec::write_image(&tp, &good.view(), &Default::default()).unwrap();
    let mut calls = 0;
    let mut cb = |done: u64, total: u64| {
        calls += 1;
        done < total / 2
    };
    let err = tiling::paste_file(
        &bp,
        &tp,
        &bp,
        &spec,
        &Default::default(),
        &mut Progress::new(&mut cb),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    assert!(calls >= 2);
    assert_eq!(std::fs::read(&bp).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "temporary files left: {leftovers:?}");
}

#[test]
fn extract_from_tiff_npy_exr_reads_regions_and_matches_memory() {
    let dir = temp_dir("sources");
    let u16 = pattern(300, 200, PixelFormat::new(PixelType::U16, 3).unwrap(), 3);
    let f32 = pattern(300, 200, PixelFormat::new(PixelType::F32, 1).unwrap(), 8);
    let inputs = [
        (dir.join("b.tif"), &u16),
        (dir.join("b.npy"), &u16),
        (dir.join("b.exr"), &f32),
    ];
    let mut spec = TileSpec::square(250, 180, Corner::TopLeft, 64);
    for (path, image) in &inputs {
        codec::write_image(path, &image.view(), &WriteOptions::default()).unwrap();
        for edge in [EdgePolicy::Pad(9.0), EdgePolicy::Clip] {
            spec.edge = edge;
            let out = dir.join("tile.npy");
            let placement = tiling::extract_file(
                path,
                &out,
                &spec,
                &Default::default(),
                &mut Progress::none(),
            )
            .unwrap();
            let (want, want_placement) = tiling::extract(&image.view(), &spec).unwrap();
            assert_eq!(placement, want_placement);
            let got = decode(&out);
            assert_eq!(got.format(), want.format(), "{}", path.display());
            assert!(got.data() == want.data(), "{} {edge:?}", path.display());
        }
    }
}
