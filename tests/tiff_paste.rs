//! Pasting into tiled and striped TIFFs re-encodes only the touched chunks: every other chunk
//! keeps its compressed bytes, the image decodes equal to a whole-decode-and-paste reference,
//! other pages and tags survive, in-place pastes are safe, and tifffile opens the result.
//! Fixtures: tests/python/make_tiff_paste_fixtures.py (tifffile + imagecodecs).

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use imkit::codec::{self, WriteOptions};
use imkit::progress::Progress;
use imkit::tiling::{self, Corner, EdgePolicy, TileSpec};
use imkit::{Image, PixelFormat};
use tiff::decoder::Decoder;
use tiff::tags::Tag;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiling");

fn dir(name: &str) -> PathBuf {
    let d = common::scratch_root().join(format!("imkit-tiff-paste-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Per page: (chunk offsets, byte counts, chunk width, chunk height, tiled).
type Chunks = Vec<(Vec<u64>, Vec<u64>, u64, u64, bool)>;

/// Every page's chunk table, read with the `tiff` crate (independent of imkit's parser).
fn chunks(path: &Path) -> Chunks {
    let mut d = Decoder::new(File::open(path).unwrap()).unwrap();
    let mut pages = Vec::new();
    loop {
        let tiled = d.find_tag(Tag::TileOffsets).unwrap().is_some();
        let (o, c) = if tiled {
            (Tag::TileOffsets, Tag::TileByteCounts)
        } else {
            (Tag::StripOffsets, Tag::StripByteCounts)
        };
        let (cw, ch) = d.chunk_dimensions();
        pages.push((
            d.get_tag_u64_vec(o).unwrap(),
            d.get_tag_u64_vec(c).unwrap(),
            u64::from(cw),
            u64::from(ch),
            tiled,
        ));
        if !d.more_images() {
            return pages;
        }
        d.next_image().unwrap();
    }
}

fn chunk_bytes(file: &[u8], offset: u64, len: u64) -> &[u8] {
    &file[offset as usize..(offset + len) as usize]
}

/// `tiling::paste_file` with default options and no progress.
fn paste_files(base: &Path, tile: &Path, out: &Path, spec: &TileSpec) -> imkit::Result<()> {
    let options = WriteOptions::default();
    tiling::paste_file(base, tile, out, spec, &options, &mut Progress::none()).map(|_| ())
}

fn tile_pattern(w: usize, h: usize, format: PixelFormat) -> Image {
    let mut img = Image::new(w, h, format).unwrap();
    for (i, b) in img.data_mut().iter_mut().enumerate() {
        *b = (i * 131 % 241) as u8 ^ 0x5a;
    }
    img
}

/// Pastes a `w` x `h` tile with its top-left at (`x`, `y`) into `base`, writing `out`; checks
/// pixels against a whole-decode reference and chunk bytes against the base. Returns the
/// reference image and the number of re-encoded chunks.
fn paste_and_check(base: &Path, out: &Path, x: i64, y: i64, w: u64, h: u64) -> (Image, usize) {
    let before = std::fs::read(base).unwrap();
    let before_chunks = chunks(base);
    let mut reference = codec::read_image(base).unwrap();
    let tile = tile_pattern(w as usize, h as usize, reference.format());
    let tile_path = out.with_extension("tile.npy");
    codec::write_image(&tile_path, &tile.view(), &WriteOptions::default()).unwrap();
    let mut spec = TileSpec::square(x, y, Corner::TopLeft, w);
    spec.height = h;
    spec.edge = EdgePolicy::Clip;
    let placement = tiling::paste(&mut reference.view_mut(), &tile.view(), &spec).unwrap();
    paste_files(base, &tile_path, out, &spec).unwrap();
    let after = codec::read_image(out).unwrap();
    assert_eq!(after.format(), reference.format());
    assert!(
        after.data() == reference.data(),
        "{}: pixels differ from the reference",
        base.display()
    );

    let written = std::fs::read(out).unwrap();
    let after_chunks = chunks(out);
    assert_eq!(
        after_chunks.len(),
        before_chunks.len(),
        "page count changed"
    );
    let rect = placement.image_rect;
    let mut touched = 0;
    for (page, (old, new)) in before_chunks.iter().zip(&after_chunks).enumerate() {
        let (cw, ch, tiled) = (old.2, old.3, old.4);
        let width = after.width() as u64;
        let cw = if tiled { cw } else { width };
        let across = width.div_ceil(cw);
        assert_eq!(old.0.len(), new.0.len());
        for i in 0..old.0.len() as u64 {
            let (tx, ty) = (i % across, i / across);
            let hit = page == 0
                && tx * cw < rect.right
                && rect.left < (tx + 1) * cw
                && ty * ch < rect.bottom
                && rect.top < (ty + 1) * ch;
            let old_bytes = chunk_bytes(&before, old.0[i as usize], old.1[i as usize]);
            let new_bytes = chunk_bytes(&written, new.0[i as usize], new.1[i as usize]);
            if hit {
                touched += 1;
                // The pasted-over bytes do not stay behind: an abandoned slot is zeroed, a
                // reused one past its new length (unless another chunk still uses the slot).
                let (o, n) = (old.0[i as usize], old.1[i as usize]);
                let keep = if new.0[i as usize] == o {
                    new.1[i as usize]
                } else {
                    0
                };
                let still_used = (0..new.0.len())
                    .filter(|&j| j != i as usize)
                    .any(|j| new.0[j] < o + n && o < new.0[j] + new.1[j]);
                let rest = &written[(o + keep.min(n)) as usize..(o + n) as usize];
                assert!(
                    still_used || rest.iter().all(|&b| b == 0),
                    "page {page} chunk {i}: old bytes left"
                );
            } else {
                assert!(
                    old_bytes == new_bytes,
                    "page {page} chunk {i} was not copied byte for byte"
                );
            }
        }
    }
    assert!(touched > 0);
    (reference, touched)
}

fn copy_fixture(name: &str, d: &Path) -> PathBuf {
    let path = d.join(name);
    std::fs::copy(Path::new(FIXTURES).join(name), &path).unwrap();
    path
}

#[test]
fn every_layout_re_encodes_only_touched_chunks() {
    let d = dir("layouts");
    let cases: &[(&str, i64, i64, u64, u64, usize)] = &[
        // (fixture, x, y, w, h, chunks the tile touches)
        ("rgb8_deflate_pred2.tif", 50, 40, 40, 30, 4),
        ("rgb8_deflate_pred2.tif", 250, 170, 80, 60, 4), // edge tiles, clipped
        ("gray16_lzw_pred2_be.tif", 10, 20, 60, 30, 4),
        ("rgba_f32_deflate_pred3.tif", 0, 0, 64, 64, 4),
        ("gray8_none.tif", 33, 33, 10, 10, 1),
        ("rgb8_packbits.tif", 30, 30, 4, 4, 4),
        ("rgb8_deflate_strips.tif", 5, 20, 30, 20, 2),
        ("pages2_deflate.tif", 20, 20, 20, 20, 4),
    ];
    for &(name, x, y, w, h, expect) in cases {
        let base = copy_fixture(name, &d);
        let out = d.join(format!("out-{x}-{name}"));
        let (_, touched) = paste_and_check(&base, &out, x, y, w, h);
        assert_eq!(touched, expect, "{name}");
    }
}

#[test]
fn other_pages_and_tags_survive() {
    let d = dir("tags");
    for name in [
        "pages2_deflate.tif",
        "rgba_f32_deflate_pred3.tif",
        "rgb8_deflate_pred2.tif",
    ] {
        let base = copy_fixture(name, &d);
        let out = d.join(format!("out-{name}"));
        paste_and_check(&base, &out, 3, 3, 40, 40);
        let (mut a, mut b) = (
            Decoder::new(File::open(&base).unwrap()).unwrap(),
            Decoder::new(File::open(&out).unwrap()).unwrap(),
        );
        loop {
            for tag in [
                Tag::SampleFormat,
                Tag::PhotometricInterpretation,
                Tag::Predictor,
                Tag::ExtraSamples,
                Tag::XResolution,
                Tag::Compression,
                Tag::ImageDescription,
            ] {
                let (x, y) = (a.find_tag(tag).unwrap(), b.find_tag(tag).unwrap());
                assert_eq!(format!("{x:?}"), format!("{y:?}"), "{name}: tag {tag:?}");
            }
            if !a.more_images() {
                break;
            }
            a.next_image().unwrap();
            b.next_image().unwrap();
        }
    }
}

#[test]
fn in_place_pastes_are_safe_and_do_not_grow_the_file() {
    let d = dir("inplace");
    let base = copy_fixture("rgb8_deflate_pred2.tif", &d);
    let (reference, _) = paste_and_check(&base.clone(), &base, 70, 70, 90, 90);
    assert!(codec::read_image(&base).unwrap().data() == reference.data());
    let size = std::fs::metadata(&base).unwrap().len();
    for _ in 0..3 {
        paste_and_check(&base.clone(), &base, 70, 70, 90, 90);
        assert_eq!(
            std::fs::metadata(&base).unwrap().len(),
            size,
            "repeated paste grew the file"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("imkit-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn wrong_tile_format_is_refused_and_the_base_is_untouched() {
    let d = dir("refuse");
    let base = copy_fixture("gray16_lzw_pred2_be.tif", &d);
    let before = std::fs::read(&base).unwrap();
    let tile = tile_pattern(8, 8, PixelFormat::new(imkit::PixelType::U8, 1).unwrap());
    let tile_path = d.join("tile.npy");
    codec::write_image(&tile_path, &tile.view(), &WriteOptions::default()).unwrap();
    let spec = TileSpec::square(0, 0, Corner::TopLeft, 8);
    let err = paste_files(&base, &tile_path, &base, &spec).unwrap_err();
    assert!(err.to_string().contains("never converts"), "{err}");
    assert_eq!(std::fs::read(&base).unwrap(), before);
}

#[test]
fn tifffile_opens_the_pasted_files() {
    let python = std::env::var("IMKIT_PYTHON").unwrap_or_else(|_| "python3".into());
    let test = "tiff_paste::tifffile_opens_the_pasted_files";
    let ok = Command::new(&python)
        .args(["-c", "import tifffile, imagecodecs, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::skipped(
            &format!("tifffile/imagecodecs not importable with {python}"),
            test,
        );
        return;
    }
    let d = dir("tifffile");
    let mut args = Vec::new();
    for name in [
        "rgb8_deflate_pred2.tif",
        "gray16_lzw_pred2_be.tif",
        "rgba_f32_deflate_pred3.tif",
        "rgb8_deflate_strips.tif",
        "pages2_deflate.tif",
        "rgb8_packbits.tif",
    ] {
        let base = copy_fixture(name, &d);
        let out = d.join(format!("out-{name}"));
        let (reference, _) = paste_and_check(&base, &out, 12, 9, 50, 41);
        let npy = d.join(format!("ref-{name}.npy"));
        codec::write_image(&npy, &reference.view(), &WriteOptions::default()).unwrap();
        args.push(out);
        args.push(npy);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_tiff_paste.py");
    let run = Command::new(&python)
        .arg(script)
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "tifffile check failed:\n{stderr}");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "ok 6");
}

#[test]
fn layouts_the_chunk_paste_does_not_encode_are_decoded_whole() {
    let d = dir("jpeg");
    let base = copy_fixture("gray8_jpeg.tif", &d);
    let out = d.join("out.tif");
    let mut reference = codec::read_image(&base).unwrap();
    let tile = tile_pattern(20, 20, reference.format());
    let tile_path = d.join("tile.npy");
    codec::write_image(&tile_path, &tile.view(), &WriteOptions::default()).unwrap();
    let spec = TileSpec::square(40, 10, Corner::TopLeft, 20);
    tiling::paste(&mut reference.view_mut(), &tile.view(), &spec).unwrap();
    paste_files(&base, &tile_path, &out, &spec).unwrap();
    assert!(codec::read_image(&out).unwrap().data() == reference.data());
    let mut written = Decoder::new(File::open(&out).unwrap()).unwrap();
    let compression = written.get_tag_u32(Tag::Compression).unwrap();
    assert_ne!(compression, 7, "JPEG tiles were re-encoded");
}

#[test]
fn a_slot_two_tiles_share_is_never_overwritten() {
    let d = dir("shared");
    let base = copy_fixture("gray8_none.tif", &d);
    // Point tile 1 at tile 0's bytes (uncompressed tiles of one size), as deduplicating
    // writers do.
    let (offsets, counts, ..) = chunks(&base).remove(0);
    assert_eq!(counts[0], counts[1]);
    let mut bytes = std::fs::read(&base).unwrap();
    let table: Vec<u8> = [offsets[0], offsets[1]]
        .iter()
        .flat_map(|&o| (o as u32).to_le_bytes())
        .collect();
    let at = bytes
        .windows(8)
        .position(|w| w == table)
        .expect("offset table");
    bytes[at + 4..at + 8].copy_from_slice(&(offsets[0] as u32).to_le_bytes());
    std::fs::write(&base, &bytes).unwrap();
    let out = d.join("out.tif");
    let (_, touched) = paste_and_check(&base, &out, 2, 2, 8, 8);
    assert_eq!(touched, 1);
    let after = chunks(&out).remove(0);
    assert_eq!(
        after.0[1], offsets[0],
        "the untouched twin keeps the shared slot"
    );
    assert_ne!(
        after.0[0], offsets[0],
        "the pasted tile moved out of the shared slot"
    );
}

#[test]
fn tiffs_imkit_writes_are_patched_too() {
    let d = dir("own");
    for dtype in [imkit::PixelType::U16, imkit::PixelType::F32] {
        let format = PixelFormat::new(dtype, 3).unwrap();
        let base = d.join(format!("own-{}.tif", dtype.name()));
        let image = tile_pattern(400, 900, format);
        codec::write_image(&base, &image.view(), &WriteOptions::default()).unwrap();
        let out = d.join(format!("out-{}.tif", dtype.name()));
        let (_, touched) = paste_and_check(&base, &out, 20, 100, 30, 30);
        assert!(
            touched < chunks(&base)[0].0.len(),
            "every strip was re-encoded"
        );
    }
}
