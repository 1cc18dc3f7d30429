//! PNG files without imkit's segment index are decoded in two stages (inflate, then unfilter,
//! overlapped on two threads). Their rows must equal the `png` crate's decode for every kind of
//! file, at any thread count and through every reader (rows, whole loads, streaming regions),
//! and damaged image data must give a clear error, never a panic.

mod common;

use std::path::PathBuf;

use imkit::codec::{self, png::PngReader};
use imkit::source::png::PngStream;
use imkit::source::{read_region, Channels};
use imkit::{Image, PixelFormat, PixelType, Rect};

fn tmp(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-png-staged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Pseudo-random bytes (fixed seed: deterministic).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = common::Rng(seed | 1);
    (0..len).map(|_| (rng.next() >> 56) as u8).collect()
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = libdeflater::crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Chunks written between IHDR and the image data: (type, data).
type Extra<'a> = Vec<(&'a [u8; 4], Vec<u8>)>;

/// The kind of PNG: IHDR colour type and bit depth.
#[derive(Clone, Copy, Debug)]
struct Kind {
    color: u8,
    depth: u8,
}

impl Kind {
    fn bits_per_pixel(self) -> usize {
        let samples = match self.color {
            0 | 3 => 1,
            4 => 2,
            2 => 3,
            _ => 4,
        };
        samples * self.depth as usize
    }
}

/// Filtered scanlines of a `w` x `h` image: noise and flat runs, filter type of row `y` from
/// `filters` (cycled).
fn scanlines(kind: Kind, w: usize, h: usize, filters: &[u8], seed: u64) -> Vec<u8> {
    let row = (w * kind.bits_per_pixel()).div_ceil(8);
    let mut data = noise((row + 1) * h, seed);
    for y in 0..h {
        let line = &mut data[y * (row + 1)..(y + 1) * (row + 1)];
        line[0] = filters[y % filters.len()];
        if y % 5 == 2 {
            line[1..].fill(0);
        }
        if kind.color == 3 {
            // Palette indices must exist: unfiltered rows of small indices.
            line[0] = 0;
            line[1..].iter_mut().for_each(|b| *b &= 0x11);
        }
    }
    data
}

/// A PNG file: header, `extra` chunks, the zlib stream of `lines` split into IDAT chunks of
/// `idat_len` bytes, IEND.
fn png_file(
    kind: Kind,
    w: usize,
    h: usize,
    lines: &[u8],
    level: i32,
    idat_len: usize,
    extra: &[(&[u8; 4], Vec<u8>)],
) -> Vec<u8> {
    let mut file = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[kind.depth, kind.color, 0, 0, 0]);
    chunk(&mut file, b"IHDR", &ihdr);
    for (k, data) in extra {
        chunk(&mut file, k, data);
    }
    let level = libdeflater::CompressionLvl::new(level).unwrap();
    let mut deflater = libdeflater::Compressor::new(level);
    let mut z = vec![0u8; deflater.zlib_compress_bound(lines.len())];
    let n = deflater.zlib_compress(lines, &mut z).unwrap();
    let packed = &z[..n];
    for part in packed.chunks(idat_len) {
        chunk(&mut file, b"IDAT", part);
    }
    chunk(&mut file, b"IEND", &[]);
    file
}

/// The `png` crate's decode (expanded as imkit expands), in native byte order.
fn reference(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut out = vec![0u8; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut out).unwrap();
    out.truncate(frame.buffer_size());
    if frame.bit_depth == png::BitDepth::Sixteen {
        for pair in out.chunks_exact_mut(2) {
            let v = u16::from_be_bytes([pair[0], pair[1]]);
            pair.copy_from_slice(&v.to_ne_bytes());
        }
    }
    (out, frame.line_size)
}

/// Every row through [`PngReader`].
fn rows(path: &PathBuf) -> imkit::Result<Vec<u8>> {
    let mut reader = PngReader::open(path)?;
    let mut all = Vec::new();
    for _ in 0..reader.height() {
        all.extend_from_slice(reader.next_row()?);
    }
    Ok(all)
}

/// Runs `f` with `n` library threads (one test at a time: the count is global).
/// Writes `bytes` as `name` and checks that its rows, decoded at 1 and 2 threads, equal the
/// png crate's (`what` names the case in a failure); returns the file and those rows.
fn assert_rows_like_png_crate(bytes: &[u8], name: &str, what: &str) -> (PathBuf, Vec<u8>) {
    let path = tmp(name);
    std::fs::write(&path, bytes).unwrap();
    let (expected, _) = reference(bytes);
    for threads in [1, 2] {
        let got = with_threads(threads, || rows(&path)).unwrap();
        assert!(got == expected, "{what} threads {threads}");
    }
    (path, expected)
}

fn with_threads<T>(n: usize, f: impl FnOnce() -> T) -> T {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    imkit::threads::set_num_threads(n).unwrap();
    let out = f();
    imkit::threads::set_num_threads(0).unwrap();
    out
}

const KINDS: [Kind; 8] = [
    Kind { color: 0, depth: 8 },
    Kind {
        color: 0,
        depth: 16,
    },
    Kind { color: 4, depth: 8 },
    Kind {
        color: 4,
        depth: 16,
    },
    Kind { color: 2, depth: 8 },
    Kind {
        color: 2,
        depth: 16,
    },
    Kind { color: 6, depth: 8 },
    Kind {
        color: 6,
        depth: 16,
    },
];

#[test]
fn rows_equal_the_png_crate_for_every_kind_and_filter() {
    // Single filters, Paeth runs of odd and even length, a mix; several blocks of rows.
    let filter_sets: [&[u8]; 7] = [
        &[0],
        &[1],
        &[2],
        &[3],
        &[4],
        &[4, 4, 4, 1, 4, 4, 2, 4, 3, 0, 4],
        &[0, 1, 2, 3, 4],
    ];
    for (k, kind) in KINDS.iter().enumerate() {
        for (f, filters) in filter_sets.iter().enumerate() {
            let (w, h) = (173 + k, 700 + 3 * f);
            let lines = scanlines(*kind, w, h, filters, (k * 10 + f) as u64 + 1);
            let level = [1, 6, 9][f % 3];
            let bytes = png_file(*kind, w, h, &lines, level, 8192 + 13 * f, &[]);
            let (path, expected) = assert_rows_like_png_crate(
                &bytes,
                &format!("kind{k}-f{f}.png"),
                &format!("{kind:?} filters {filters:?}"),
            );
            let loaded = with_threads(2, || codec::read_image(&path)).unwrap();
            assert!(
                loaded.data() == expected,
                "{kind:?} filters {filters:?} load"
            );
        }
    }
}

#[test]
fn narrow_rows_equal_the_png_crate_for_every_kind() {
    // Rows of 1 to 3 pixels (shorter than a vector load), odd widths and rows whose length is
    // no multiple of 8 or 16, for every pixel size; Paeth pairs, single Paeth rows and others.
    let filters: &[u8] = &[4, 4, 4, 1, 4, 4, 2, 4, 3, 0, 4];
    for (k, kind) in KINDS.iter().enumerate() {
        for w in [1, 2, 3, 5, 11, 16, 33] {
            let h = 40 + w;
            let lines = scanlines(*kind, w, h, filters, (k * 100 + w) as u64);
            let bytes = png_file(*kind, w, h, &lines, 6, 977, &[]);
            let name = format!("narrow-kind{k}-w{w}.png");
            assert_rows_like_png_crate(&bytes, &name, &format!("{kind:?} width {w}"));
        }
    }
}

#[test]
fn other_kinds_still_decode_like_the_png_crate() {
    // Low bit depths, palette, tRNS (the crate adds alpha) and tiny IDAT chunks.
    let plte: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
    let cases: Vec<(Kind, Extra, usize)> = vec![
        (Kind { color: 0, depth: 1 }, vec![], 4096),
        (Kind { color: 0, depth: 4 }, vec![], 4096),
        (
            Kind { color: 3, depth: 8 },
            vec![(b"PLTE", plte.clone())],
            4096,
        ),
        (
            Kind { color: 2, depth: 8 },
            vec![(b"tRNS", vec![0, 0, 0, 0, 0, 0])],
            4096,
        ),
        (Kind { color: 2, depth: 8 }, vec![], 7),
        (
            Kind {
                color: 6,
                depth: 16,
            },
            vec![],
            1,
        ),
    ];
    for (i, (kind, extra, idat_len)) in cases.iter().enumerate() {
        let (w, h) = (61, 90);
        let lines = scanlines(*kind, w, h, &[4, 1, 4, 4, 2, 3], i as u64 + 7);
        let bytes = png_file(*kind, w, h, &lines, 6, *idat_len, extra);
        let name = format!("other{i}.png");
        assert_rows_like_png_crate(&bytes, &name, &format!("case {i} {kind:?}"));
    }
}

#[test]
fn streaming_regions_match_the_whole_decode() {
    let kind = Kind { color: 2, depth: 8 };
    let (w, h) = (301, 2000);
    let lines = scanlines(kind, w, h, &[4, 4, 1, 4], 3);
    let bytes = png_file(kind, w, h, &lines, 6, 1 << 16, &[]);
    let path = tmp("stream.png");
    std::fs::write(&path, &bytes).unwrap();
    let (expected, row) = reference(&bytes);
    let stream = PngStream::open(&path).unwrap();
    let format = PixelFormat::new(PixelType::U8, 3).unwrap();
    // Bands with gaps (skipped rows) and overlaps, top to bottom.
    let mut top = 0u64;
    while top < h as u64 {
        let bottom = (top + 397).min(h as u64);
        let rect = Rect {
            left: 17,
            top,
            right: 250,
            bottom,
        };
        let mut tile = Image::new(233, (bottom - top) as usize, format).unwrap();
        read_region(&stream, 0, rect, &Channels::all(3), &mut tile.view_mut()).unwrap();
        for y in 0..(bottom - top) as usize {
            let src = &expected[(top as usize + y) * row + 17 * 3..][..233 * 3];
            assert_eq!(tile.view().row(y), src, "row {}", top as usize + y);
        }
        top = bottom.saturating_sub(50) + 211;
    }
}

/// Every way `good` can be damaged in its image data, and what the error must say.
fn damaged(good: &[u8]) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let idat = good.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
    let len = u32::from_be_bytes(good[idat..idat + 4].try_into().unwrap()) as usize;
    let data = idat + 8;
    let mut cases = Vec::new();
    for cut in [data + 10, data + len / 2, data + len - 1, data + len + 2] {
        cases.push(("truncated", good[..cut].to_vec(), "truncated"));
    }
    let mut flipped = good.to_vec();
    flipped[data + len / 3] ^= 0x40;
    cases.push(("bit flip", flipped.clone(), "CRC"));
    // The same flip with a CRC that matches it: the deflate data or its checksum is wrong.
    let crc = libdeflater::crc32(&flipped[idat + 4..data + len]);
    flipped[data + len..data + len + 4].copy_from_slice(&crc.to_be_bytes());
    cases.push(("corrupt stream", flipped, "invalid PNG"));
    let mut long = good.to_vec();
    long[idat..idat + 4].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
    cases.push(("chunk length", long, "invalid PNG"));
    cases
}

#[test]
fn damaged_image_data_errors_cleanly() {
    let kind = Kind { color: 2, depth: 8 };
    let (w, h) = (200, 400);
    let lines = scanlines(kind, w, h, &[4, 1, 2], 11);
    let good = png_file(kind, w, h, &lines, 6, 1 << 20, &[]);
    assert_each_errors("damaged", damaged(&good));
}

#[test]
fn bad_checksum_filter_and_short_data_are_errors() {
    let kind = Kind { color: 6, depth: 8 };
    let (w, h) = (50, 300);
    let mut lines = scanlines(kind, w, h, &[4, 3], 5);
    let good = png_file(kind, w, h, &lines, 6, 1 << 20, &[]);
    // The Adler-32 at the end of the zlib stream (the last 4 bytes of the last IDAT data).
    let iend = good.len() - 12;
    let mut bad_adler = good.clone();
    bad_adler[iend - 5] ^= 1;
    let at = good[..iend].windows(4).rposition(|w| w == b"IDAT").unwrap();
    let crc = libdeflater::crc32(&bad_adler[at..iend - 4]);
    bad_adler[iend - 4..iend].copy_from_slice(&crc.to_be_bytes());
    let stride = w * 4 + 1;
    let short = png_file(kind, w, h, &lines[..stride * (h - 3)], 6, 1 << 20, &[]);
    lines[stride * 123] = 9;
    let bad_filter = png_file(kind, w, h, &lines, 6, 1 << 20, &[]);
    let cases = [
        ("adler", bad_adler, "invalid PNG"),
        ("short", short, "before its last row"),
        ("filter", bad_filter, "filter type 9 on row 123"),
    ];
    assert_each_errors("bad", cases);
}

/// Writes each (what, file bytes, expected message part) case to a file and checks that
/// decoding it fails with that message, at 1 and 2 threads.
fn assert_each_errors<'a>(
    prefix: &str,
    cases: impl IntoIterator<Item = (&'a str, Vec<u8>, &'a str)>,
) {
    for (what, bytes, needle) in cases {
        let path = tmp(&format!("{prefix}-{}.png", what.replace(' ', "-")));
        std::fs::write(&path, &bytes).unwrap();
        for threads in [1, 2] {
            let err = with_threads(threads, || rows(&path))
                .err()
                .unwrap_or_else(|| panic!("{what} decoded without an error"));
            let msg = err.to_string();
            assert!(msg.contains(needle), "{what} (threads {threads}): {msg}");
        }
    }
}

#[test]
fn reader_dropped_midway_stops_cleanly() {
    let kind = Kind {
        color: 2,
        depth: 16,
    };
    let (w, h) = (400, 1500);
    let lines = scanlines(kind, w, h, &[4], 9);
    let path = tmp("dropped.png");
    std::fs::write(&path, png_file(kind, w, h, &lines, 1, 1 << 16, &[])).unwrap();
    with_threads(2, || {
        for take in [0, 1, 700] {
            let mut reader = PngReader::open(&path).unwrap();
            for _ in 0..take {
                reader.next_row().unwrap();
            }
        }
    });
}
