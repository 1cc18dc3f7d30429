//! A PNG stitched in parts (by separate processes, e.g. Dask tasks) and joined has the bytes
//! of the one-piece stitch, whatever the part boundaries; damaged or missing parts are refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use imkit::codec::{self, png_part, WriteOptions};
use imkit::partition::{GridSpec, Partition, Stride};
use imkit::pixel::{PixelFormat, PixelType};
use imkit::progress::Progress;
use imkit::source::{PngStream, RegionSource};
use imkit::tiling::StitchOptions;
use imkit::tiling::{fragment, stitch, stitch_png_part, Blend, FragmentOptions, Manifest};
use imkit::Image;

fn pattern(w: usize, h: usize, c: usize, dtype: PixelType) -> Image {
    let f = PixelFormat::new(dtype, c).unwrap();
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            for b in 0..c {
                let v = 7 * x + 13 * y + 85 * b + (x * y / 16) % 97;
                match dtype {
                    PixelType::U8 => data.push(v as u8),
                    _ => data.extend_from_slice(&((v * 263) as u16).to_ne_bytes()),
                }
            }
        }
    }
    Image::from_vec(w, h, f, data).unwrap()
}

/// Fragments `img` into `dir/tiles` and returns the manifest path.
fn tiles(dir: &Path, img: &Image, cell: u64, stride: u64) -> PathBuf {
    let src = dir.join("src.png");
    codec::write_image(&src, &img.view(), &WriteOptions::default()).unwrap();
    let s: Arc<dyn RegionSource> = Arc::new(PngStream::open(&src).unwrap());
    let p = Partition::new(s, &GridSpec::square(cell, Stride::Pixels(stride)), None).unwrap();
    let out = dir.join("tiles");
    std::fs::create_dir(&out).unwrap();
    fragment(&p, &out, &FragmentOptions::default(), &mut Progress::none()).unwrap();
    out.join("manifest.json")
}

/// Stitches the parts between `bounds` and joins them into `out`.
fn in_parts(manifest: &Path, bounds: &[u64], blend: Blend, out: &Path) -> imkit::Result<()> {
    let m = Manifest::read(manifest).unwrap();
    let opts = StitchOptions {
        blend,
        band_rows: 29,
        ..Default::default()
    };
    let dir = manifest.parent().unwrap();
    let mut parts = Vec::new();
    let mut covered = 0;
    for (i, w) in bounds.windows(2).enumerate() {
        let part = dir.join(format!("part{i}"));
        let rows = stitch_png_part(&m, dir, w[0]..w[1], &part, &opts)?;
        assert_eq!(rows.start, covered, "parts are contiguous");
        covered = rows.end;
        parts.push(part);
    }
    png_part::join_parts(&parts, out)
}

#[test]
fn parts_joined_equal_the_whole_stitch() {
    let dir = tempfile::tempdir().unwrap();
    for (k, (img, bounds)) in [
        // 4500-byte rows: 58 rows per segment.
        (
            pattern(1500, 700, 3, PixelType::U8),
            vec![0, 100, 101, 350, 700],
        ),
        (pattern(1500, 700, 3, PixelType::U8), vec![0, 700]),
        (
            pattern(1500, 700, 3, PixelType::U8),
            vec![0, 0, 58, 640, 699, 700],
        ),
        // 16-bit grey, 131 rows per segment.
        (
            pattern(1000, 400, 1, PixelType::U16),
            vec![0, 262, 300, 400],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let case = dir.path().join(format!("case{k}"));
        std::fs::create_dir(&case).unwrap();
        let manifest = tiles(&case, &img, 96, 80);
        for blend in [Blend::Overwrite, Blend::Linear] {
            let whole = case.join(format!("whole_{blend:?}.png"));
            let opts = StitchOptions {
                blend,
                ..Default::default()
            };
            stitch(&manifest, &whole, &opts, &mut Progress::none()).unwrap();
            let joined = case.join(format!("joined_{blend:?}.png"));
            in_parts(&manifest, &bounds, blend, &joined).unwrap();
            let (x, y) = (
                std::fs::read(&whole).unwrap(),
                std::fs::read(&joined).unwrap(),
            );
            if x != y {
                let at = x.iter().zip(&y).position(|(a, b)| a != b);
                eprintln!("lens {} {} first diff {:?}", x.len(), y.len(), at);
            }
            assert!(
                x == y,
                "case {k} blend {blend:?}: joined parts differ from the whole stitch"
            );
        }
    }
}

#[test]
fn missing_reordered_or_damaged_parts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let img = pattern(1500, 300, 3, PixelType::U8);
    let manifest = tiles(dir.path(), &img, 100, 100);
    let m = Manifest::read(&manifest).unwrap();
    let opts = StitchOptions::default();
    let part = |name: &str, rows: std::ops::Range<u64>| {
        let p = dir.path().join(name);
        stitch_png_part(&m, dir.path().join("tiles").as_path(), rows, &p, &opts).unwrap();
        p
    };
    let (a, b) = (part("a", 0..150), part("b", 150..300));
    let out = dir.path().join("out.png");
    assert!(png_part::join_parts(&[a.clone(), b.clone()], &out).is_ok());
    for parts in [
        vec![a.clone()],
        vec![b.clone(), a.clone()],
        vec![a.clone(), a.clone(), b.clone()],
    ] {
        let err = png_part::join_parts(&parts, &dir.path().join("bad.png")).unwrap_err();
        assert!(err.to_string().contains("rows"), "{err}");
    }
    let mut bytes = std::fs::read(&b).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&b, &bytes).unwrap();
    let err = png_part::join_parts(&[a, b], &dir.path().join("bad.png")).unwrap_err();
    assert!(err.to_string().contains("CRC"), "{err}");
    assert!(!dir.path().join("bad.png").exists());
    // Rows not on a segment boundary are refused by the writer itself.
    let f = PixelFormat::new(PixelType::U8, 3).unwrap();
    assert!(png_part::PngPartWriter::create(&dir.path().join("c"), 1500, 300, f, 3..300).is_err());
}
