//! Fragment → stitch: exact recomposition for every blend mode and stride <= 1, deterministic
//! bytes across thread counts, manifests (hashes, selections, templates, validation),
//! cancellation, and transformed tiles.

use std::path::Path;
use std::sync::Arc;

use imkit::codec::{self, WriteOptions};
use imkit::partition::{EdgePolicy, GridSpec, Partition, Stride};
use imkit::pixel::{PixelFormat, PixelType};
use imkit::progress::Progress;
use imkit::source::{PngStream, RegionSource};
use imkit::tiling::{fragment, stitch, Blend, FragmentOptions, Manifest, StitchOptions};
use imkit::Image;
use sha2::{Digest, Sha256};

fn pattern(w: usize, h: usize, c: usize, dtype: PixelType) -> Image {
    let f = PixelFormat::new(dtype, c).unwrap();
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            for b in 0..c {
                let v = 7 * x + 13 * y + 85 * b + x * y / 16;
                match dtype {
                    PixelType::U8 => data.push(v as u8),
                    _ => data.extend_from_slice(&((v * 263) as u16).to_ne_bytes()),
                }
            }
        }
    }
    Image::from_vec(w, h, f, data).unwrap()
}

fn write_png(dir: &Path, name: &str, img: &Image) -> std::path::PathBuf {
    let path = dir.join(name);
    codec::write_image(&path, &img.view(), &WriteOptions::default()).unwrap();
    path
}

fn digest(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn streamed(path: &Path, spec: &GridSpec) -> Partition {
    let s: Arc<dyn RegionSource> = Arc::new(PngStream::open(path).unwrap());
    Partition::new(s, spec, None).unwrap()
}

#[test]
fn exact_recomposition_every_blend_and_stride() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (img, spec)) in [
        (
            pattern(300, 200, 3, PixelType::U8),
            GridSpec::square(64, Stride::Fraction(1.0)),
        ),
        (
            pattern(300, 200, 3, PixelType::U8),
            GridSpec::square(64, Stride::Fraction(0.5)),
        ),
        (
            pattern(257, 131, 1, PixelType::U16),
            GridSpec::new(40, 50, Stride::Fraction(0.3), Stride::Fraction(0.75)),
        ),
        (
            pattern(200, 100, 4, PixelType::U8),
            GridSpec::square(48, Stride::Pixels(40)).with_edge(EdgePolicy::Shift),
        ),
        (
            pattern(200, 100, 2, PixelType::U8),
            GridSpec::square(48, Stride::Pixels(32)).with_edge(EdgePolicy::Pad),
        ),
        (
            pattern(300, 200, 3, PixelType::U8),
            GridSpec::square(100, Stride::Fraction(0.07)),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let src = write_png(dir.path(), &format!("src{i}.png"), &img);
        let out = dir.path().join(format!("tiles{i}"));
        std::fs::create_dir(&out).unwrap();
        let p = streamed(&src, &spec).with_fill(9.0);
        let m = fragment(&p, &out, &FragmentOptions::default(), &mut Progress::none()).unwrap();
        assert_eq!(m.tiles.len() as u64, p.grid().len());
        // Every hash in the manifest is the file's.
        for t in &m.tiles {
            let bytes = std::fs::read(out.join(&t.file)).unwrap();
            let hex: String = digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, t.sha256);
        }
        for blend in Blend::ALL {
            let result = dir.path().join(format!("out{i}_{blend:?}.png"));
            let opts = StitchOptions {
                blend,
                band_rows: 37,
                ..Default::default()
            };
            stitch(
                &out.join("manifest.json"),
                &result,
                &opts,
                &mut Progress::none(),
            )
            .unwrap();
            let back = codec::read_image(&result).unwrap();
            assert_eq!(back.format(), img.format());
            assert!(
                digest(back.data()) == digest(img.data()),
                "case {i} blend {blend:?} differs"
            );
        }
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn deterministic_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let src = write_png(dir.path(), "src.png", &pattern(333, 222, 3, PixelType::U8));
    let spec = GridSpec::square(70, Stride::Fraction(0.6));
    let mut outputs = Vec::new();
    for threads in [1, 3] {
        imkit::threads::set_num_threads(threads).unwrap();
        let out = dir.path().join(format!("t{threads}"));
        std::fs::create_dir(&out).unwrap();
        let opts = FragmentOptions {
            source_label: "src.png".into(),
            ..Default::default()
        };
        fragment(&streamed(&src, &spec), &out, &opts, &mut Progress::none()).unwrap();
        let result = dir.path().join(format!("stitched{threads}.png"));
        let sopts = StitchOptions {
            blend: Blend::Gaussian,
            ..Default::default()
        };
        stitch(
            &out.join("manifest.json"),
            &result,
            &sopts,
            &mut Progress::none(),
        )
        .unwrap();
        outputs.push((files(&out), std::fs::read(&result).unwrap()));
    }
    imkit::threads::set_num_threads(0).unwrap();
    assert!(outputs[0] == outputs[1], "bytes depend on the thread count");
}

#[test]
fn selection_template_transform_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let img = pattern(128, 96, 3, PixelType::U8);
    let src = write_png(dir.path(), "src.png", &img);
    let spec = GridSpec::square(32, Stride::Pixels(32));
    // A selection with a pixel-position template.
    let out = dir.path().join("sel");
    std::fs::create_dir(&out).unwrap();
    let opts = FragmentOptions {
        template: Some("y{y}_x{x:05}.png".into()),
        cells: Some(vec![(2, 3), (0, 1), (2, 3)]),
        ..Default::default()
    };
    let m = fragment(&streamed(&src, &spec), &out, &opts, &mut Progress::none()).unwrap();
    let names: Vec<_> = m.tiles.iter().map(|t| t.file.as_str()).collect();
    assert_eq!(names, ["y0_x00032.png", "y64_x00096.png"]);
    // Colliding names, unknown cells and bad templates are refused before writing.
    for bad in [
        FragmentOptions {
            template: Some("same.png".into()),
            ..Default::default()
        },
        FragmentOptions {
            template: Some("../up_{row}_{col}.png".into()),
            ..Default::default()
        },
        FragmentOptions {
            cells: Some(vec![(3, 0)]),
            ..Default::default()
        },
    ] {
        let empty = dir.path().join("bad");
        let _ = std::fs::create_dir(&empty);
        assert!(fragment(&streamed(&src, &spec), &empty, &bad, &mut Progress::none()).is_err());
        assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    }
    // Cancellation from the progress callback.
    let cancel = dir.path().join("cancel");
    std::fs::create_dir(&cancel).unwrap();
    let mut stop = |_: u64, _: u64| false;
    let r = fragment(
        &streamed(&src, &spec),
        &cancel,
        &FragmentOptions::default(),
        &mut Progress::new(&mut stop),
    );
    assert!(matches!(r, Err(imkit::Error::Cancelled)));
    assert!(!cancel.join("manifest.json").exists());
    // Transform one tile: only its pixels change after stitching.
    let all = dir.path().join("all");
    std::fs::create_dir(&all).unwrap();
    let m = fragment(
        &streamed(&src, &spec),
        &all,
        &FragmentOptions::default(),
        &mut Progress::none(),
    )
    .unwrap();
    let t = &m.tiles[5];
    let path = all.join(&t.file);
    let mut tile = codec::read_image(&path).unwrap();
    tile.data_mut().iter_mut().for_each(|v| *v = 255 - *v);
    codec::write_image(&path, &tile.view(), &WriteOptions::default()).unwrap();
    let result = dir.path().join("edited.png");
    stitch(
        &all.join("manifest.json"),
        &result,
        &StitchOptions::default(),
        &mut Progress::none(),
    )
    .unwrap();
    let back = codec::read_image(&result).unwrap();
    for y in 0..96u64 {
        for x in 0..128u64 {
            let at = ((y * 128 + x) * 3) as usize;
            let inside =
                t.rect.left <= x && x < t.rect.right && t.rect.top <= y && y < t.rect.bottom;
            let want = if inside {
                255 - img.data()[at]
            } else {
                img.data()[at]
            };
            assert_eq!(back.data()[at], want);
        }
    }
}

#[test]
fn manifests_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let img = pattern(64, 64, 1, PixelType::U8);
    let src = write_png(dir.path(), "src.png", &img);
    let out = dir.path().join("m");
    std::fs::create_dir(&out).unwrap();
    let spec = GridSpec::square(32, Stride::Pixels(32));
    let m = fragment(
        &streamed(&src, &spec),
        &out,
        &FragmentOptions::default(),
        &mut Progress::none(),
    )
    .unwrap();
    let text = m.to_json();
    assert_eq!(Manifest::from_json(&text).unwrap(), m);
    for (from, to) in [
        ("tile_0000_0000.png", "../escape.png"),
        ("tile_0000_0000.png", "/abs.png"),
        ("\"imkit_manifest\": 1", "\"imkit_manifest\": 7"),
        ("\"dtype\": \"uint8\"", "\"dtype\": \"uint9\""),
        ("\"edge\": \"clip\"", "\"edge\": \"wrap\""),
    ] {
        assert!(
            Manifest::from_json(&text.replacen(from, to, 1)).is_err(),
            "{to}"
        );
    }
    assert!(Manifest::from_json("{").is_err());
    // A tile of the wrong size is a clear error.
    let small = Image::new(10, 10, img.format()).unwrap();
    codec::write_image(
        out.join(&m.tiles[0].file),
        &small.view(),
        &WriteOptions::default(),
    )
    .unwrap();
    let err = stitch(
        &out.join("manifest.json"),
        &dir.path().join("x.png"),
        &StitchOptions::default(),
        &mut Progress::none(),
    );
    assert!(matches!(err, Err(imkit::Error::Mismatch(_))));
    assert!(!dir.path().join("x.png").exists());
}

/// Float samples that are exact in float16 and distinct across the image.
fn float_pattern(w: usize, h: usize, c: usize) -> Image {
    let f = PixelFormat::new(PixelType::F32, c).unwrap();
    let data = (0..w * h * c)
        .flat_map(|i| (((i * 37) % 1024) as f32 * 0.25).to_ne_bytes())
        .collect();
    Image::from_vec(w, h, f, data).unwrap()
}

#[test]
fn tiff_npy_and_exr_tiles_recompose_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("tif", pattern(150, 90, 3, PixelType::U8)),
        ("tif", pattern(150, 90, 1, PixelType::U16)),
        ("tif", float_pattern(150, 90, 1)),
        ("npy", pattern(150, 90, 4, PixelType::U16)),
        ("npy", float_pattern(150, 90, 2)),
        ("exr", float_pattern(150, 90, 3)),
        ("exr", float_pattern(150, 90, 5)),
    ];
    for (i, (ext, img)) in cases.into_iter().enumerate() {
        let spec = GridSpec::square(40, Stride::Fraction(0.5));
        let p = Partition::from_image(img.clone(), &spec, None).unwrap();
        let out = dir.path().join(format!("tiles{i}"));
        std::fs::create_dir(&out).unwrap();
        let options = FragmentOptions {
            template: Some(format!("t_{{row:02}}_{{col:02}}.{ext}")),
            ..FragmentOptions::default()
        };
        let m = fragment(&p, &out, &options, &mut Progress::none()).unwrap();
        assert_eq!(m.tiles.len() as u64, p.grid().len());
        // Each tile holds its cell's pixels, in the requested format.
        let t = &m.tiles[m.tiles.len() / 2];
        assert!(t.file.ends_with(ext), "{}", t.file);
        let tile = codec::read_image(out.join(&t.file)).unwrap();
        assert_eq!(tile, img.view().crop(t.rect).unwrap().to_image());
        for blend in Blend::ALL {
            let result = dir.path().join(format!("out{i}_{blend:?}.{ext}"));
            let opts = StitchOptions {
                blend,
                band_rows: 23,
                ..Default::default()
            };
            stitch(
                &out.join("manifest.json"),
                &result,
                &opts,
                &mut Progress::none(),
            )
            .unwrap();
            let back = codec::read_image(&result).unwrap();
            assert_eq!(back.format(), img.format());
            assert!(
                back.data() == img.data(),
                "{ext} case {i} blend {blend:?} differs"
            );
        }
    }
}
