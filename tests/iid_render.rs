//! `imkit iid render` and `imkit::iid::render`: segments painted in their colours (outline
//! pure, inside mixed half and half with the pixel below, later keys over earlier ones), over
//! a blank canvas of the segments' extent or over a base image, band by band.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use imkit::iid::{render, segment_colour, IidFile, IidWriter, MaskData};
use imkit::progress::Progress;
use imkit::{Image, PixelFormat, PixelType};

fn temp_dir(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-render-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Two overlapping filled squares: key 0 rows/columns 2..8, key 1 rows 5..12, columns 6..14
/// with a one-pixel hole at (8, 10); key 2 (row 100) and key 3 (rows 60..70, across the
/// first band's end) lie off a small base image.
fn labels(dir: &Path) -> IidFile {
    let mut w = IidWriter::new();
    w.add(b"a", b"", [2, 2, 8, 8], MaskData::Bytes(&[1; 36]))
        .unwrap();
    let mut second = vec![1u8; 7 * 8];
    second[3 * 8 + 4] = 0;
    w.add(b"b", b"", [5, 6, 12, 14], MaskData::Bytes(&second))
        .unwrap();
    w.add(b"c", b"", [100, 0, 101, 1], MaskData::Bytes(&[1]))
        .unwrap();
    w.add(b"d", b"", [60, 0, 70, 3], MaskData::Bytes(&[1; 30]))
        .unwrap();
    let path = dir.join("labels.iid");
    w.save(&path).unwrap();
    IidFile::open(&path).unwrap()
}

fn pixel(img: &Image, row: usize, col: usize) -> [u8; 3] {
    let at = (row * img.width() + col) * 3;
    img.data()[at..at + 3].try_into().unwrap()
}

fn mix(below: [u8; 3], colour: [u8; 3]) -> [u8; 3] {
    [0, 1, 2].map(|i| ((below[i] as u16 + colour[i] as u16) / 2) as u8)
}

#[test]
fn segments_are_drawn_over_a_blank_canvas_of_their_extent() {
    let dir = temp_dir("blank");
    let file = labels(&dir);
    let out = dir.join("seg.png");
    let done = render(
        &file,
        None,
        &out,
        &Default::default(),
        &mut Progress::none(),
    )
    .unwrap();
    assert_eq!((done.width, done.height, done.segments), (14, 101, 4));
    let img = imkit::codec::read_image(&out).unwrap();
    assert_eq!(
        (img.width(), img.height(), img.format().channels),
        (14, 101, 3)
    );
    let (c0, c1, c2) = (segment_colour(0), segment_colour(1), segment_colour(2));
    assert_ne!(c0, c1);
    let black = [0, 0, 0];
    assert_eq!(pixel(&img, 0, 0), black);
    assert_eq!(pixel(&img, 2, 2), c0, "outline of key 0");
    assert_eq!(pixel(&img, 4, 4), mix(black, c0), "inside of key 0");
    assert_eq!(pixel(&img, 5, 6), c1, "key 1's outline over key 0");
    assert_eq!(
        pixel(&img, 6, 7),
        mix(c0, c1),
        "key 1 inside over key 0's outline"
    );
    assert_eq!(pixel(&img, 8, 10), black, "the hole");
    assert_eq!(pixel(&img, 7, 10), c1, "the hole's edge is outline");
    assert_eq!(pixel(&img, 10, 10), mix(black, c1));
    assert_eq!(pixel(&img, 100, 0), c2);
    assert_eq!(pixel(&img, 50, 5), black);
    let c3 = segment_colour(3);
    for row in [61, 63, 64, 68] {
        assert_eq!(pixel(&img, row, 1), mix(black, c3), "row {row}");
    }
    assert_eq!(pixel(&img, 60, 1), c3);
    assert_eq!(pixel(&img, 69, 1), c3);
    // Deterministic: a second run writes the same bytes.
    let again = dir.join("again.png");
    render(
        &file,
        None,
        &again,
        &Default::default(),
        &mut Progress::none(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn segments_are_drawn_over_a_base_image_and_clipped_to_it() {
    let dir = temp_dir("base");
    let file = labels(&dir);
    // A 16-bit grey base 12 wide, 10 high: key 1 is cut at column 12, key 2 is off it.
    let mut base = Image::new(12, 10, PixelFormat::new(PixelType::U16, 1).unwrap()).unwrap();
    for (i, px) in base.data_mut().chunks_exact_mut(2).enumerate() {
        px.copy_from_slice(&((i as u16) << 8).to_ne_bytes());
    }
    let base_path = dir.join("base.png");
    imkit::codec::write_image(&base_path, &base.view(), &Default::default()).unwrap();
    let out = dir.join("over.png");
    let done = render(
        &file,
        Some(&base_path),
        &out,
        &Default::default(),
        &mut Progress::none(),
    )
    .unwrap();
    assert_eq!((done.width, done.height, done.segments), (12, 10, 2));
    let img = imkit::codec::read_image(&out).unwrap();
    let grey = |row: usize, col: usize| [((row * 12 + col) % 256) as u8; 3];
    assert_eq!(pixel(&img, 0, 0), grey(0, 0));
    assert_eq!(pixel(&img, 9, 11), mix(grey(9, 11), segment_colour(1)));
    assert_eq!(pixel(&img, 3, 3), mix(grey(3, 3), segment_colour(0)));
    assert_eq!(pixel(&img, 2, 5), segment_colour(0));
    assert_eq!(pixel(&img, 1, 5), grey(1, 5));
}

#[test]
fn cli_renders_and_refuses_an_empty_file_without_a_base() {
    let dir = temp_dir("cli");
    labels(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_imkit"))
        .current_dir(&dir)
        .args(["iid", "render", "labels.iid", "seg.png"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "wrote seg.png (14x101, 4 segments)"
    );
    assert!(dir.join("seg.png").exists());
    IidWriter::new().save(dir.join("empty.iid")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_imkit"))
        .current_dir(&dir)
        .args(["iid", "render", "empty.iid", "none.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no segment with pixels"));
    assert!(!dir.join("none.png").exists());
}

#[test]
fn the_blank_canvas_reaches_the_pixels_not_the_boxes() {
    let dir = temp_dir("extent");
    let mut w = IidWriter::new();
    let mut mask = vec![0u8; 100 * 200];
    mask[10 * 200 + 20] = 1;
    w.add(b"a", b"", [0, 0, 100, 200], MaskData::Bytes(&mask))
        .unwrap();
    w.save(dir.join("loose.iid")).unwrap();
    let file = IidFile::open(dir.join("loose.iid")).unwrap();
    let out = dir.join("loose.png");
    let done = render(
        &file,
        None,
        &out,
        &Default::default(),
        &mut Progress::none(),
    )
    .unwrap();
    assert_eq!((done.width, done.height), (21, 11));
    let img = imkit::codec::read_image(&out).unwrap();
    assert_eq!(pixel(&img, 10, 20), segment_colour(0));
}
