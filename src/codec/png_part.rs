//! One PNG file encoded in parts by separate processes (the fast level, compression 1), then
//! joined: a part holds the IDAT chunks of a run of whole deflate segments
//! ([`super::png_idat`]), so the joined file has exactly the bytes [`super::png::PngWriter`]
//! writes for the same rows. The joiner writes the header, copies the chunks in order and
//! closes the zlib stream with the Adler-32 combined from the parts' own.
//!
//! A part file: [`MAGIC`], an `ikHd` chunk (width, height, bit depth, channels, first row,
//! end row), the IDAT chunks (one per segment), an `ikCk` chunk (Adler-32 and length of the
//! part's filtered bytes, then the Adler-32 of each segment's, for the joined file's `imSG`
//! segment index); every chunk is PNG-framed with its CRC, so a damaged part is refused at the
//! join.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::atomic::AtomicFile;
use super::deflate::adler32_combine;
use super::png::{check_format, PngMetadata, PngWriter};
use super::png_bands::{SegmentIndex, INDEX_CHUNK};
use super::png_idat::{segment_rows, ParallelIdat};
use crate::error::{Error, Result};
use crate::pixel::{PixelFormat, PixelType};

/// The first bytes of a part file.
const MAGIC: [u8; 8] = *b"\x89IKPART\n";
const HEADER: [u8; 4] = *b"ikHd";
const CHECKSUM: [u8; 4] = *b"ikCk";
const IDAT: [u8; 4] = *b"IDAT";
/// Largest chunk payload a part file may hold (PNG's own limit).
const MAX_CHUNK: u32 = 1 << 31;

/// The rows a part covers when asked for `rows` of a `width` x `height` image of `format`:
/// both ends moved down to a segment boundary (an end at or past the image stays at its
/// height), so the parts of any increasing list of boundaries cover the image once.
pub fn part_rows(width: u64, height: u64, format: PixelFormat, rows: Range<u64>) -> Range<u64> {
    let per = segment_rows(width as usize * format.bytes_per_pixel()) as u64;
    let snap = |y: u64| if y >= height { height } else { y - y % per };
    snap(rows.start)..snap(rows.end).max(snap(rows.start))
}

/// The geometry a part file records.
#[derive(Clone, Debug, PartialEq)]
struct PartHeader {
    width: u32,
    height: u32,
    format: PixelFormat,
    rows: Range<u32>,
}

impl PartHeader {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(18);
        b.extend_from_slice(&self.width.to_be_bytes());
        b.extend_from_slice(&self.height.to_be_bytes());
        b.push(self.format.dtype.size() as u8 * 8);
        b.push(self.format.channels as u8);
        b.extend_from_slice(&self.rows.start.to_be_bytes());
        b.extend_from_slice(&self.rows.end.to_be_bytes());
        b
    }

    fn decode(b: &[u8], name: &Path) -> Result<PartHeader> {
        let bad = || Error::format(format!("{}: bad PNG part header", name.display()));
        if b.len() != 18 {
            return Err(bad());
        }
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let dtype = match b[8] {
            8 => PixelType::U8,
            16 => PixelType::U16,
            _ => return Err(bad()),
        };
        let format = PixelFormat::new(dtype, b[9] as usize).map_err(|_| bad())?;
        let header = PartHeader {
            width: u32_at(0),
            height: u32_at(4),
            format,
            rows: u32_at(10)..u32_at(14),
        };
        if check_format(format).is_err()
            || header.width == 0
            || header.rows.start > header.rows.end
            || header.rows.end > header.height
        {
            return Err(bad());
        }
        Ok(header)
    }
}

/// Writes one PNG-framed chunk.
fn write_chunk(out: &mut impl Write, kind: [u8; 4], data: &[u8]) -> std::io::Result<()> {
    let mut crc = libdeflater::Crc::new();
    crc.update(&kind);
    crc.update(data);
    out.write_all(&(data.len() as u32).to_be_bytes())?;
    out.write_all(&kind)?;
    out.write_all(data)?;
    out.write_all(&crc.sum().to_be_bytes())
}

/// Reads one PNG-framed chunk, checking its CRC; `None` at the end of the file.
fn read_chunk(input: &mut impl Read, name: &Path) -> Result<Option<([u8; 4], Vec<u8>)>> {
    let mut head = [0u8; 8];
    match input.read_exact(&mut head[..1]) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other.map_err(|e| Error::io(name, e))?,
    }
    let truncated = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            Error::format(format!("{}: PNG part is truncated", name.display()))
        }
        _ => Error::io(name, e),
    };
    input.read_exact(&mut head[1..]).map_err(truncated)?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if len > MAX_CHUNK {
        return Err(Error::format(format!(
            "{}: PNG part chunk of {len} bytes",
            name.display()
        )));
    }
    let kind = [head[4], head[5], head[6], head[7]];
    let mut data = Vec::new();
    input
        .take(len as u64)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(name, e))?;
    let mut crc = [0u8; 4];
    if data.len() != len as usize {
        return Err(truncated(std::io::ErrorKind::UnexpectedEof.into()));
    }
    input.read_exact(&mut crc).map_err(truncated)?;
    let mut sum = libdeflater::Crc::new();
    sum.update(&kind);
    sum.update(&data);
    if sum.sum() != u32::from_be_bytes(crc) {
        return Err(Error::format(format!(
            "{}: PNG part chunk fails its CRC",
            name.display()
        )));
    }
    Ok(Some((kind, data)))
}

/// A part file being written: rows [`part_rows`] of a PNG, fed one row at a time (native
/// byte order). The file appears atomically at [`PngPartWriter::finish`].
pub struct PngPartWriter {
    file: AtomicFile,
    idat: ParallelIdat,
    format: PixelFormat,
    row_bytes: usize,
    /// Rows still expected.
    rows_left: u64,
}

impl PngPartWriter {
    /// Starts the part file `path` for rows `rows` (which must be [`part_rows`] of
    /// themselves) of a `width` x `height` image of `format`.
    pub fn create(
        path: &Path,
        width: u64,
        height: u64,
        format: PixelFormat,
        rows: Range<u64>,
    ) -> Result<PngPartWriter> {
        check_format(format)?;
        let too_big = || Error::unsupported(format!("PNG cannot store a {width}x{height} image"));
        let (w, h) = (
            u32::try_from(width).map_err(|_| too_big())?,
            u32::try_from(height).map_err(|_| too_big())?,
        );
        if w == 0 || h == 0 || w > i32::MAX as u32 || h > i32::MAX as u32 {
            return Err(too_big());
        }
        if part_rows(width, height, format, rows.clone()) != rows {
            return Err(Error::invalid(format!(
                "rows {}..{} do not start on a PNG segment boundary",
                rows.start, rows.end
            )));
        }
        let header = PartHeader {
            width: w,
            height: h,
            format,
            rows: rows.start as u32..rows.end as u32,
        };
        let mut file = AtomicFile::create(path)?;
        file.write_all(&MAGIC)
            .and_then(|_| write_chunk(&mut file, HEADER, &header.encode()))
            .map_err(|e| Error::io(path, e))?;
        let row_bytes = width as usize * format.bytes_per_pixel();
        let idat = ParallelIdat::part(
            row_bytes,
            format.bytes_per_pixel(),
            height as usize,
            rows.start as usize..rows.end as usize,
        );
        Ok(PngPartWriter {
            file,
            idat,
            format,
            row_bytes,
            rows_left: rows.end - rows.start,
        })
    }

    /// Appends rows (native byte order, whole rows).
    pub fn write_rows(&mut self, rows: &[u8]) -> Result<()> {
        let name = self.file.target().to_path_buf();
        if rows.len() % self.row_bytes != 0 || (rows.len() / self.row_bytes) as u64 > self.rows_left
        {
            return Err(Error::Internal(format!(
                "{}: {} bytes do not fit the rows left",
                name.display(),
                rows.len()
            )));
        }
        let wide = self.format.dtype == PixelType::U16;
        self.rows_left -= (rows.len() / self.row_bytes) as u64;
        let file = &mut self.file;
        self.idat.push_rows(rows, wide, |chunks| {
            (chunks.iter())
                .try_for_each(|chunk| write_chunk(file, IDAT, chunk))
                .map_err(|e| Error::io(&name, e))
        })?;
        Ok(())
    }

    /// Writes the part's checksum and commits the file; every row must have been written.
    pub fn finish(mut self) -> Result<()> {
        let name = self.file.target().to_path_buf();
        if self.rows_left != 0 {
            return Err(Error::Internal(format!(
                "{}: {} rows missing",
                name.display(),
                self.rows_left
            )));
        }
        let (adler, len) = self.idat.checksum();
        let mut sum = adler.to_be_bytes().to_vec();
        sum.extend_from_slice(&len.to_be_bytes());
        sum.extend(self.idat.segment_checksums().flat_map(u32::to_be_bytes));
        write_chunk(&mut self.file, CHECKSUM, &sum).map_err(|e| Error::io(&name, e))?;
        self.file.commit()
    }
}

/// Joins part files (in row order, together covering the image once) into the PNG `out`,
/// atomically: the bytes [`PngWriter`] writes at the fast level for the same rows.
pub fn join_parts(parts: &[PathBuf], out: &Path) -> Result<()> {
    let first = parts
        .first()
        .ok_or_else(|| Error::invalid("no PNG parts to join"))?;
    let mut input = open_part(first)?;
    let header = read_header(&mut input, first)?;
    let file = AtomicFile::create(out)?;
    let name = out.display().to_string();
    let writer = PngWriter::new(
        file.unbuffered()?,
        &name,
        header.width as usize,
        header.height as usize,
        header.format,
        1,
        &PngMetadata::default(),
    )?;
    let mut writer = writer.into_chunk_writer()?;
    let encode = |e: png::EncodingError| Error::Internal(format!("{name}: PNG encoder: {e}"));
    let (mut adler, mut next_row) = (1u32, 0u32);
    // The joined file's segment index: one segment per IDAT chunk.
    let mut index = SegmentIndex {
        rows_per_segment: segment_rows(header.width as usize * header.format.bytes_per_pixel()),
        segments: Vec::new(),
    };
    let (mut idat_bytes, mut segment_adlers) = (0u64, Vec::new());
    // The last IDAT chunk seen: the stream's Adler-32 goes at the end of the very last one.
    let mut held: Option<Vec<u8>> = None;
    for (i, path) in parts.iter().enumerate() {
        let mut part_header = header.clone();
        if i > 0 {
            input = open_part(path)?;
            part_header = read_header(&mut input, path)?;
        }
        let expected = PartHeader {
            rows: next_row..part_header.rows.end,
            ..header.clone()
        };
        if part_header != expected {
            return Err(Error::Mismatch(format!(
                "{}: PNG part of rows {}..{} of a {}x{} image, expected rows from {} of {}x{}",
                path.display(),
                part_header.rows.start,
                part_header.rows.end,
                part_header.width,
                part_header.height,
                next_row,
                header.width,
                header.height
            )));
        }
        let mut checksum = None;
        while let Some((kind, data)) = read_chunk(&mut input, path)? {
            match kind {
                IDAT if checksum.is_none() => {
                    index.segments.push((idat_bytes, 0));
                    idat_bytes += data.len() as u64 + 12;
                    if let Some(chunk) = held.replace(data) {
                        writer
                            .write_chunk(png::chunk::IDAT, &chunk)
                            .map_err(encode)?;
                    }
                }
                CHECKSUM if checksum.is_none() && data.len() >= 12 && data.len() % 4 == 0 => {
                    let a = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                    let mut n = [0u8; 8];
                    n.copy_from_slice(&data[4..12]);
                    checksum = Some((a, u64::from_be_bytes(n)));
                    segment_adlers.extend(
                        data[12..]
                            .chunks_exact(4)
                            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                    );
                }
                _ => {
                    return Err(Error::format(format!(
                        "{}: unexpected chunk in a PNG part",
                        path.display()
                    )))
                }
            }
        }
        let (a, n) = checksum.ok_or_else(|| {
            Error::format(format!("{}: PNG part without its checksum", path.display()))
        })?;
        adler = adler32_combine(adler, a, n);
        next_row = part_header.rows.end;
    }
    let mut last = match held {
        Some(last) if next_row == header.height => last,
        _ => {
            return Err(Error::Mismatch(format!(
                "the PNG parts cover rows 0..{next_row} of {}",
                header.height
            )))
        }
    };
    last.extend_from_slice(&adler.to_be_bytes());
    writer
        .write_chunk(png::chunk::IDAT, &last)
        .map_err(encode)?;
    if segment_adlers.len() != index.segments.len() {
        return Err(Error::format(format!(
            "the PNG parts hold {} segments but checksums of {}",
            index.segments.len(),
            segment_adlers.len()
        )));
    }
    for (segment, adler) in index.segments.iter_mut().zip(segment_adlers) {
        segment.1 = adler;
    }
    writer
        .write_chunk(png::chunk::ChunkType(INDEX_CHUNK), &index.encode())
        .and_then(|()| writer.finish())
        .map_err(encode)?;
    file.commit()
}

/// Opens a part file and checks its magic bytes.
fn open_part(path: &Path) -> Result<BufReader<File>> {
    let mut input =
        BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| Error::io(path, e))?);
    let mut magic = [0u8; 8];
    if input.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(Error::format(format!(
            "{}: not an imkit PNG part",
            path.display()
        )));
    }
    Ok(input)
}

/// Reads the header chunk of a part file.
fn read_header(input: &mut impl Read, path: &Path) -> Result<PartHeader> {
    match read_chunk(input, path)? {
        Some((HEADER, data)) => PartHeader::decode(&data, path),
        _ => Err(Error::format(format!(
            "{}: PNG part without its header",
            path.display()
        ))),
    }
}
