//! PNG files imkit writes carry a segment index (`imSG`) that lets its reader decode the
//! segments in parallel. Other decoders (the `png` crate here) must read them identically, and
//! a damaged index must fall back to the serial decoder: never a wrong pixel.

mod common;

use std::path::PathBuf;

use imkit::codec::{self, png::PngReader};
use imkit::{Image, PixelFormat, PixelType};

fn tmp(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-png-segments-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Gradients, flat stretches and noise, so every filter gets chosen somewhere.
fn image(dtype: PixelType, channels: usize, w: usize, h: usize) -> Image {
    let format = PixelFormat::new(dtype, channels).unwrap();
    let mut img = Image::new(w, h, format).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let row = w * format.bytes_per_pixel();
    for (i, b) in img.data_mut().iter_mut().enumerate() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (x, y) = (i % row, i / row);
        *b = match (y / 37) % 4 {
            0 => (x / 5 + y) as u8,
            1 => 200,
            2 => (state >> 58) as u8 + (x as u8 / 3),
            _ => (state >> 56) as u8,
        };
    }
    img
}

/// The chunks of a PNG file: (offset, type, data).
fn chunks(file: &[u8]) -> Vec<(usize, [u8; 4], Vec<u8>)> {
    let mut at = 8;
    let mut out = Vec::new();
    while at + 12 <= file.len() {
        let len = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = file[at + 4..at + 8].try_into().unwrap();
        out.push((at, kind, file[at + 8..at + 8 + len].to_vec()));
        at += 12 + len;
    }
    out
}

/// Replaces the data of the chunk at `offset` (same length) and fixes its CRC.
fn patch_chunk(file: &mut [u8], offset: usize, data: &[u8]) {
    file[offset + 8..offset + 8 + data.len()].copy_from_slice(data);
    let crc = libdeflater::crc32(&file[offset + 4..offset + 8 + data.len()]);
    file[offset + 8 + data.len()..offset + 12 + data.len()].copy_from_slice(&crc.to_be_bytes());
}

/// Every row through imkit's reader.
fn read_rows(path: &std::path::Path) -> imkit::Result<Vec<u8>> {
    let mut reader = PngReader::open(path)?;
    let mut all = Vec::new();
    for _ in 0..reader.height() {
        all.extend_from_slice(reader.next_row()?);
    }
    Ok(all)
}

/// The `png` crate's decoding of the file (native byte order), `None` if it fails.
fn reference(path: &std::path::Path, dtype: PixelType) -> Option<Vec<u8>> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buf).ok()?;
    buf.truncate(info.buffer_size());
    if dtype == PixelType::U16 {
        for pair in buf.chunks_exact_mut(2) {
            let v = u16::from_be_bytes([pair[0], pair[1]]);
            pair.copy_from_slice(&v.to_ne_bytes());
        }
    }
    Some(buf)
}

#[test]
fn written_files_carry_an_index_and_decode_alike_everywhere() {
    for (dtype, channels, w, h) in [
        (PixelType::U8, 3, 300, 1000),
        (PixelType::U16, 4, 170, 900),
        (PixelType::U8, 1, 64, 5000),
        (PixelType::U8, 2, 3, 7),
    ] {
        let img = image(dtype, channels, w, h);
        let path = tmp(&format!("w{dtype}_{channels}_{w}x{h}.png"));
        codec::write_image(&path, &img.view(), &Default::default()).unwrap();
        let file = std::fs::read(&path).unwrap();
        let kinds: Vec<[u8; 4]> = chunks(&file).into_iter().map(|c| c.1).collect();
        assert_eq!(kinds[kinds.len() - 2], *b"imSG", "{dtype} x{channels}");
        assert!(
            reference(&path, dtype).unwrap() == img.data(),
            "png crate, {dtype} x{channels}"
        );
        for threads in [1, 2, 3] {
            imkit::threads::set_num_threads(threads).unwrap();
            assert!(
                read_rows(&path).unwrap() == img.data(),
                "{dtype} x{channels} at {threads} threads"
            );
        }
        imkit::threads::set_num_threads(0).unwrap();
    }
}

#[test]
fn a_damaged_index_falls_back_to_the_serial_decoder() {
    let img = image(PixelType::U8, 3, 300, 1000);
    let path = tmp("damaged_base.png");
    codec::write_image(&path, &img.view(), &Default::default()).unwrap();
    let file = std::fs::read(&path).unwrap();
    let (at, _, index) = chunks(&file).into_iter().find(|c| c.1 == *b"imSG").unwrap();
    let count = (index.len() - 9) / 12;
    assert!(count >= 3, "the test image must span several segments");
    let mut damages: Vec<(&str, Vec<u8>)> = Vec::new();
    // A segment offset moved by one byte, then one pointing at the first segment's chunk.
    let mut moved = index.clone();
    moved[5 + 12 + 7] ^= 1;
    damages.push(("moved offset", moved));
    let mut repeated = index.clone();
    repeated[5 + 24..5 + 32].copy_from_slice(&index[5 + 12..5 + 20]);
    damages.push(("repeated offset", repeated));
    // The last segment's checksum wrong: rows of earlier segments were already handed out.
    let mut checksum = index.clone();
    checksum[5 + 12 * (count - 1) + 8] ^= 0x40;
    damages.push(("last checksum", checksum));
    // Rows per segment off by one.
    let mut rows = index.clone();
    rows[4] = rows[4].wrapping_add(1);
    damages.push(("rows per segment", rows));
    let mut version = index.clone();
    version[0] = 9;
    damages.push(("version", version));
    for (what, data) in damages {
        let mut bad = file.clone();
        patch_chunk(&mut bad, at, &data);
        let bad_path = tmp(&format!("damaged_{}.png", what.replace(' ', "_")));
        std::fs::write(&bad_path, &bad).unwrap();
        assert!(read_rows(&bad_path).unwrap() == img.data(), "{what}");
    }
    // An index chunk whose CRC is wrong is ignored.
    let mut bad = file.clone();
    bad[at + 8 + 3] ^= 1;
    let bad_path = tmp("damaged_crc.png");
    std::fs::write(&bad_path, &bad).unwrap();
    assert!(read_rows(&bad_path).unwrap() == img.data(), "index CRC");
}

#[test]
fn damaged_image_data_is_an_error_not_a_wrong_image() {
    let img = image(PixelType::U8, 3, 300, 1000);
    let path = tmp("data_base.png");
    codec::write_image(&path, &img.view(), &Default::default()).unwrap();
    let file = std::fs::read(&path).unwrap();
    let idats: Vec<_> = chunks(&file)
        .into_iter()
        .filter(|c| c.1 == *b"IDAT")
        .collect();
    let (at, _, data) = &idats[2];
    // A flipped bit inside the third segment with its CRC fixed: the segment's checksum
    // rejects it and the serial decoder takes over, so the result is the `png` crate's.
    let mut flipped = data.clone();
    flipped[data.len() / 2] ^= 0x10;
    let mut bad = file.clone();
    patch_chunk(&mut bad, *at, &flipped);
    let bad_path = tmp("data_flipped.png");
    std::fs::write(&bad_path, &bad).unwrap();
    match (read_rows(&bad_path), reference(&bad_path, PixelType::U8)) {
        (Ok(rows), Some(expected)) => assert!(rows == expected),
        (Err(e), None) => assert!(e.to_string().contains("data_flipped.png"), "{e}"),
        (ours, theirs) => panic!("imkit {:?}, png crate {:?}", ours.err(), theirs.is_some()),
    }
    // Truncated inside the image data.
    let cut_path = tmp("data_cut.png");
    std::fs::write(&cut_path, &file[..at + 100]).unwrap();
    assert!(read_rows(&cut_path).is_err());
}

/// Rows after `skip_rows(skip)`, each skip followed by `take` rows, until the image ends.
fn read_skipping(path: &std::path::Path, skip: usize, take: usize) -> Vec<(usize, Vec<u8>)> {
    let mut reader = PngReader::open(path).unwrap();
    let mut y = 0;
    let mut rows = Vec::new();
    while y + skip < reader.height() {
        reader.skip_rows(skip).unwrap();
        y += skip;
        for _ in 0..take.min(reader.height() - y) {
            rows.push((y, reader.next_row().unwrap().to_vec()));
            y += 1;
        }
    }
    assert!(reader.skip_rows(reader.height() - y + 1).is_err());
    rows
}

#[test]
fn skipped_rows_land_on_the_right_row() {
    let img = image(PixelType::U8, 3, 300, 1000);
    let path = tmp("skip.png");
    codec::write_image(&path, &img.view(), &Default::default()).unwrap();
    let mut file = std::fs::read(&path).unwrap();
    // The same file with a damaged index: the serial fallback after skips.
    let (at, _, mut index) = chunks(&file).into_iter().find(|c| c.1 == *b"imSG").unwrap();
    index[5 + 12 * 2 + 8] ^= 1;
    patch_chunk(&mut file, at, &index);
    let damaged = tmp("skip_damaged.png");
    std::fs::write(&damaged, &file).unwrap();
    let row = 300 * 3;
    for p in [&path, &damaged] {
        for (skip, take) in [(0, 1), (1, 1), (289, 2), (290, 3), (700, 5), (999, 1)] {
            for (y, got) in read_skipping(p, skip, take) {
                assert!(
                    got == img.data()[y * row..(y + 1) * row],
                    "row {y} skip {skip}"
                );
            }
        }
    }
}
