//! Pasting into a TIFF chunk by chunk: the tiles (or strips) the pasted rectangle touches are
//! decoded through [`TiffSource`], patched and re-encoded with the file's own compression
//! (none, deflate, LZW, PackBits) and predictor (none, horizontal, floating point); every other byte of the file is copied as it is, so untouched chunks keep their
//! compressed bytes and every tag, page and metadata block survives unchanged.
//!
//! Layout of the result (libtiff's rule for rewritten chunks): the output starts as a copy of
//! the base; a re-encoded chunk goes back into its old slot when it fits (the rest of the slot
//! is zeroed), or extends the slot when it is the last thing in the file, and otherwise goes
//! to the end of the file with its old slot zeroed, so no byte of the pasted-over pixels stays
//! behind. The page's offset and byte-count arrays are rewritten in place (moved to the end
//! when they must widen). A slot that shares bytes with anything else (deduplicated tiles, an
//! IFD) is never overwritten. Memory: the touched chunks and the chunk tables, not the image.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use rayon::prelude::*;

use super::{Placement, TileSpec};
use crate::codec::atomic::AtomicFile;
use crate::error::{Error, Result};
use crate::image::{Image, ImageView};
use crate::pixel::{PixelFormat, PixelType};
use crate::progress::Progress;
use crate::rect::Rect;
use crate::source::{self, Channels, RegionSource, TiffSource};

/// TIFF tags this module reads.
mod tag {
    pub const COMPRESSION: u64 = 259;
    pub const STRIP_OFFSETS: u64 = 273;
    pub const STRIP_BYTE_COUNTS: u64 = 279;
    pub const PREDICTOR: u64 = 317;
    pub const TILE_OFFSETS: u64 = 324;
    pub const TILE_BYTE_COUNTS: u64 = 325;
}

/// Most pages followed along a file's IFD chain.
const MAX_PAGES: usize = 1 << 16;

/// Byte order and offset width of a TIFF file.
#[derive(Clone, Copy)]
struct Header {
    big_endian: bool,
    bigtiff: bool,
}

impl Header {
    /// Reads the header; returns it with the offset of the first IFD.
    fn read(map: &[u8], name: &str) -> Result<(Header, u64)> {
        let big_endian = match map.get(..2) {
            Some(b"II") => false,
            Some(b"MM") => true,
            _ => return Err(Error::format(format!("{name}: not a TIFF file"))),
        };
        let probe = Header {
            big_endian,
            bigtiff: false,
        };
        match probe.uint(slice(map, 2, 2, name)?) {
            42 => Ok((probe, probe.uint(slice(map, 4, 4, name)?))),
            43 => {
                let h = Header {
                    bigtiff: true,
                    ..probe
                };
                Ok((h, h.uint(slice(map, 8, 8, name)?)))
            }
            v => Err(Error::format(format!("{name}: TIFF version {v}"))),
        }
    }

    /// An unsigned integer of 1 to 8 bytes in the file's byte order.
    fn uint(self, bytes: &[u8]) -> u64 {
        let fold = |v: u64, &b: &u8| (v << 8) | u64::from(b);
        if self.big_endian {
            bytes.iter().fold(0, fold)
        } else {
            bytes.iter().rev().fold(0, fold)
        }
    }

    /// `value` as `size` bytes in the file's byte order.
    fn bytes(self, value: u64, size: usize) -> Vec<u8> {
        let le = &value.to_le_bytes()[..size];
        if self.big_endian {
            le.iter().rev().copied().collect()
        } else {
            le.to_vec()
        }
    }

    /// Bytes of an offset (and of an entry's count and value field).
    fn word(self) -> usize {
        if self.bigtiff {
            8
        } else {
            4
        }
    }
}

/// `len` bytes of the file at `at`, checked.
fn slice<'a>(map: &'a [u8], at: u64, len: u64, name: &str) -> Result<&'a [u8]> {
    at.checked_add(len)
        .filter(|&end| end <= map.len() as u64)
        .map(|end| &map[at as usize..end as usize])
        .ok_or_else(|| Error::format(format!("{name}: TIFF structure at {at} runs past the end")))
}

/// Bytes per value of a TIFF field type (unknown types: `None`).
fn type_size(kind: u64) -> Option<u64> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 | 16..=18 => Some(8),
        _ => None,
    }
}

/// One IFD entry: where it sits in the file and what it holds.
#[derive(Clone)]
struct Entry {
    tag: u64,
    kind: u64,
    count: u64,
    /// File position of the entry.
    at: u64,
}

impl Entry {
    /// File position of the entry's value field.
    fn field_at(&self, h: Header) -> u64 {
        self.at + 4 + h.word() as u64
    }

    /// Where the values are: `(position, byte length)`, inline in the value field or not.
    fn values_at(&self, h: Header, map: &[u8], name: &str) -> Result<Option<(u64, u64)>> {
        let Some(len) = type_size(self.kind).and_then(|s| s.checked_mul(self.count)) else {
            return Ok(None);
        };
        if len <= h.word() as u64 {
            return Ok(Some((self.field_at(h), len)));
        }
        let field = slice(map, self.field_at(h), h.word() as u64, name)?;
        Ok(Some((h.uint(field), len)))
    }

    /// The values of an unsigned-integer entry (SHORT, LONG, LONG8, IFD, IFD8).
    fn uints(&self, h: Header, map: &[u8], name: &str) -> Result<Vec<u64>> {
        let size = match self.kind {
            3 => 2,
            4 | 13 => 4,
            16 | 18 => 8,
            k => {
                return Err(Error::format(format!(
                    "{name}: TIFF tag {} has field type {k}, an unsigned integer type expected",
                    self.tag
                )))
            }
        };
        let (at, len) = self
            .values_at(h, map, name)?
            .ok_or_else(|| Error::format(format!("{name}: TIFF tag {} overflows", self.tag)))?;
        Ok(slice(map, at, len, name)?
            .chunks_exact(size)
            .map(|c| h.uint(c))
            .collect())
    }
}

/// One image file directory.
struct Ifd {
    /// Byte range of the directory itself.
    range: (u64, u64),
    entries: Vec<Entry>,
    next: u64,
}

impl Ifd {
    fn read(map: &[u8], h: Header, at: u64, name: &str) -> Result<Ifd> {
        let word = h.word() as u64;
        let count_size = if h.bigtiff { 8 } else { 2 };
        let count = h.uint(slice(map, at, count_size, name)?);
        let entry_size = 4 + 2 * word;
        let table = count
            .checked_mul(entry_size)
            .and_then(|t| t.checked_add(count_size + word))
            .ok_or_else(|| Error::format(format!("{name}: TIFF directory at {at} overflows")))?;
        let bytes = slice(map, at, table, name)?;
        let entries = (0..count)
            .map(|i| {
                let e = &bytes[(count_size + i * entry_size) as usize..];
                Entry {
                    tag: h.uint(&e[..2]),
                    kind: h.uint(&e[2..4]),
                    count: h.uint(&e[4..4 + word as usize]),
                    at: at + count_size + i * entry_size,
                }
            })
            .collect();
        let next = h.uint(&bytes[(table - word) as usize..]);
        Ok(Ifd {
            range: (at, table),
            entries,
            next,
        })
    }

    fn find(&self, tag: u64) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// The first value of an unsigned tag, or `default` when the tag is absent.
    fn value(&self, h: Header, map: &[u8], name: &str, tag: u64, default: u64) -> Result<u64> {
        match self.find(tag) {
            Some(e) => Ok(e.uints(h, map, name)?.first().copied().unwrap_or(default)),
            None => Ok(default),
        }
    }

    /// The (offsets, byte counts) entries of the page's chunks.
    fn chunk_entries(&self, name: &str) -> Result<(&Entry, &Entry)> {
        let pair = |o, c| Some((self.find(o)?, self.find(c)?));
        pair(tag::TILE_OFFSETS, tag::TILE_BYTE_COUNTS)
            .or_else(|| pair(tag::STRIP_OFFSETS, tag::STRIP_BYTE_COUNTS))
            .ok_or_else(|| Error::format(format!("{name}: TIFF page without chunk offsets")))
    }
}

/// How a chunk's samples are compressed.
#[derive(Clone, Copy)]
enum Compression {
    None,
    Deflate,
    Lzw,
    PackBits,
}

/// The prediction applied to a chunk's samples before compression.
#[derive(Clone, Copy)]
enum Predictor {
    None,
    /// Differences of neighbouring samples (integer samples).
    Horizontal,
    /// Byte planes of floating-point samples, then byte differences.
    Float,
}

/// Page 0 of a TIFF as this module patches it.
struct Layout {
    header: Header,
    compression: Compression,
    predictor: Predictor,
    offsets: Entry,
    counts: Entry,
    /// (offset, byte count) of every chunk of page 0.
    slots: Vec<(u64, u64)>,
    /// Every byte range a structure of the file uses: directories, out-of-line tag values,
    /// every page's chunks.
    occupied: Vec<(u64, u64)>,
}

impl Layout {
    /// Reads page 0's structure; `None` when its compression or predictor is one this module
    /// does not encode (JPEG, PackBits, ...).
    fn read(map: &[u8], format: PixelFormat, name: &str) -> Result<Option<Layout>> {
        let (header, first) = Header::read(map, name)?;
        let mut pages = Vec::new();
        let mut at = first;
        while at != 0 {
            if pages.len() == MAX_PAGES || pages.iter().any(|p: &Ifd| p.range.0 == at) {
                return Err(Error::format(format!("{name}: TIFF directory chain loops")));
            }
            let ifd = Ifd::read(map, header, at, name)?;
            at = ifd.next;
            pages.push(ifd);
        }
        let page = pages
            .first()
            .ok_or_else(|| Error::format(format!("{name}: TIFF without pages")))?;
        let value = |tag, default| page.value(header, map, name, tag, default);
        let compression = match value(tag::COMPRESSION, 1)? {
            1 => Compression::None,
            5 => Compression::Lzw,
            8 | 32946 => Compression::Deflate,
            32773 => Compression::PackBits,
            _ => return Ok(None),
        };
        let float = matches!(
            format.dtype,
            PixelType::F16 | PixelType::F32 | PixelType::F64
        );
        let predictor = match (value(tag::PREDICTOR, 1)?, float) {
            (1, _) => Predictor::None,
            (2, false) => Predictor::Horizontal,
            (3, true) => Predictor::Float,
            _ => return Ok(None),
        };
        let mut occupied = Vec::new();
        for ifd in &pages {
            occupied.push(ifd.range);
            for e in &ifd.entries {
                let (at, len) = e.values_at(header, map, name)?.unwrap_or((0, 0));
                if at != e.field_at(header) {
                    occupied.push((at, len));
                }
            }
            let (o, c) = ifd.chunk_entries(name)?;
            let slots = o.uints(header, map, name)?;
            occupied.extend(slots.into_iter().zip(c.uints(header, map, name)?));
        }
        let (offsets, counts) = page.chunk_entries(name)?;
        let slots: Vec<(u64, u64)> = offsets
            .uints(header, map, name)?
            .into_iter()
            .zip(counts.uints(header, map, name)?)
            .collect();
        if offsets.count != counts.count {
            return Err(Error::format(format!(
                "{name}: TIFF has {} chunk offsets and {} byte counts",
                offsets.count, counts.count
            )));
        }
        Ok(Some(Layout {
            header,
            compression,
            predictor,
            offsets: offsets.clone(),
            counts: counts.clone(),
            slots,
            occupied,
        }))
    }

    /// True when no other structure of the file shares a byte with `slot`.
    fn exclusive(&self, slot: (u64, u64)) -> bool {
        let overlaps = |&&(at, len): &&(u64, u64)| {
            at < slot.0.saturating_add(slot.1) && slot.0 < at.saturating_add(len)
        };
        slot.1 > 0 && self.occupied.iter().filter(overlaps).count() == 1
    }
}

/// Where page 0's chunks sit on the image.
struct Grid {
    /// Chunk size in pixels (strips: the image width by rows per strip).
    chunk: (u64, u64),
    across: u64,
    size: (u64, u64),
    tiled: bool,
}

impl Grid {
    fn of(source: &TiffSource) -> Grid {
        let size = (source.width(), source.height());
        let (tiled, (cw, ch)) = (source.is_tiled(), source.chunk_size());
        let chunk = if tiled { (cw, ch) } else { (size.0, ch) };
        Grid {
            chunk,
            across: size.0.div_ceil(chunk.0),
            size,
            tiled,
        }
    }

    fn count(&self) -> u64 {
        self.across * self.size.1.div_ceil(self.chunk.1)
    }

    /// The chunks `rect` touches, in file order.
    fn touched(&self, rect: Rect) -> Vec<u64> {
        let (cw, ch) = self.chunk;
        let mut out = Vec::new();
        for ty in rect.top / ch..=(rect.bottom - 1) / ch {
            for tx in rect.left / cw..=(rect.right - 1) / cw {
                out.push(ty * self.across + tx);
            }
        }
        out
    }

    /// The image pixels of chunk `index`.
    fn rect(&self, index: u64) -> Rect {
        let (tx, ty) = (index % self.across, index / self.across);
        let (cw, ch) = self.chunk;
        Rect {
            left: tx * cw,
            top: ty * ch,
            right: ((tx + 1) * cw).min(self.size.0),
            bottom: ((ty + 1) * ch).min(self.size.1),
        }
    }

    /// Stored size of chunk `index`: tiles always full size, the last strip only its rows.
    fn stored(&self, index: u64) -> (u64, u64) {
        if self.tiled {
            self.chunk
        } else {
            let r = self.rect(index);
            (self.size.0, r.height())
        }
    }
}

/// Pastes `tile` into the TIFF `base` and writes the result to `output` (which may be `base`)
/// re-encoding only the touched chunks. `None` when the file has a layout the chunk reader or
/// this encoder does not handle (planar, palette, JPEG, ...): the caller decodes it whole.
pub(super) fn paste_into_tiff(
    base: &Path,
    tile: &ImageView<'_>,
    spec: &TileSpec,
    output: &Path,
    progress: &mut Progress<'_>,
) -> Result<Option<Placement>> {
    let name = base.display().to_string();
    let source = match TiffSource::open(base) {
        Ok(source) => source,
        Err(Error::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let file = File::open(base).map_err(|e| Error::io(base, e))?;
    // SAFETY: read-only private map; every read is bounds-checked against its length (a file
    // truncated by someone else while mapped is the documented mmap hazard).
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(base, e))?;
    let Some(layout) = Layout::read(&map, source.format(), &name)? else {
        return Ok(None);
    };
    super::tile::check_tile(source.format(), tile, spec)?;
    let grid = Grid::of(&source);
    if layout.slots.len() as u64 != grid.count() {
        return Err(Error::format(format!(
            "{name}: TIFF page 0 has {} chunks, {} expected for its size",
            layout.slots.len(),
            grid.count()
        )));
    }
    let placement = spec.place(grid.size.0, grid.size.1)?;
    progress.report(0, 2)?;
    let touched = grid.touched(placement.image_rect);
    let encode = |&index: &u64| {
        let pixels = patched_chunk(&source, &grid, index, tile, &placement)?;
        encode_chunk(pixels, &layout, source.format()).map(|bytes| (index, bytes))
    };
    let chunks =
        crate::threads::install(|| touched.par_iter().map(encode).collect::<Result<Vec<_>>>())??;
    progress.report(1, 2)?;
    write_patched(base, output, &map, &layout, &chunks)?;
    progress.report(2, 2)?;
    Ok(Some(placement))
}

/// Chunk `index` decoded, with the tile's pixels pasted over it (padding beyond the image,
/// in edge tiles, is zero).
fn patched_chunk(
    source: &TiffSource,
    grid: &Grid,
    index: u64,
    tile: &ImageView<'_>,
    placement: &Placement,
) -> Result<Image> {
    let format = source.format();
    let (w, h) = grid.stored(index);
    crate::limits::check_image("a TIFF chunk", w, h, format.channels as u64)?;
    let mut pixels = Image::new(w as usize, h as usize, format)?;
    let inside = grid.rect(index);
    let mut view = pixels.view_mut();
    let at = |r: Rect| {
        Rect::from_xywh(
            r.left - inside.left,
            r.top - inside.top,
            r.width(),
            r.height(),
        )
    };
    source::read_region(
        source,
        0,
        inside,
        &Channels::all(format.channels),
        &mut view.crop_mut(at(inside))?,
    )?;
    let rect = placement.image_rect;
    let part = inside.intersect(&rect);
    let from = Rect::from_xywh(
        part.left - rect.left + placement.offset_x,
        part.top - rect.top + placement.offset_y,
        part.width(),
        part.height(),
    );
    view.crop_mut(at(part))?.copy_from(&tile.crop(from)?)?;
    Ok(pixels)
}

/// Encodes chunk pixels (native-endian samples) as the file stores them: predictor, byte
/// order, compression.
fn encode_chunk(pixels: Image, layout: &Layout, format: PixelFormat) -> Result<Vec<u8>> {
    let row = pixels.width() * format.bytes_per_pixel();
    let size = format.dtype.size();
    let mut data = pixels.into_vec();
    let swap = size > 1 && layout.header.big_endian != cfg!(target_endian = "big");
    match layout.predictor {
        Predictor::None | Predictor::Horizontal => {
            if let Predictor::Horizontal = layout.predictor {
                for r in data.chunks_exact_mut(row) {
                    horizontal_difference(r, size, format.channels);
                }
            }
            if swap {
                for sample in data.chunks_exact_mut(size) {
                    sample.reverse();
                }
            }
        }
        Predictor::Float => {
            for r in data.chunks_exact_mut(row) {
                float_difference(r, size, format.channels);
            }
        }
    }
    match layout.compression {
        Compression::None => Ok(data),
        Compression::Deflate => {
            let mut deflater = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
            let mut out =
                crate::limits::zeroed(deflater.zlib_compress_bound(data.len()), "a chunk")?;
            let n = deflater
                .zlib_compress(&data, &mut out)
                .map_err(|e| Error::Internal(format!("deflate of a TIFF chunk: {e}")))?;
            out.truncate(n);
            Ok(out)
        }
        Compression::PackBits => {
            let mut out = Vec::new();
            for r in data.chunks_exact(row) {
                packbits_row(r, &mut out);
            }
            Ok(out)
        }
        Compression::Lzw => weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&data)
            .map_err(|e| Error::Internal(format!("LZW of a TIFF chunk: {e}"))),
    }
}

/// Appends one row packed with PackBits (rows are packed separately, as TIFF requires):
/// runs of two or more equal bytes as (1 - n, byte), the rest as literal runs (n - 1, bytes).
fn packbits_row(row: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < row.len() {
        let run = row[i..]
            .iter()
            .take(128)
            .take_while(|&&b| b == row[i])
            .count();
        if run >= 2 {
            out.push((1 - run as i32) as u8);
            out.push(row[i]);
            i += run;
            continue;
        }
        let start = i;
        while i < row.len() && i - start < 128 && !(i + 1 < row.len() && row[i] == row[i + 1]) {
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&row[start..i]);
    }
}

/// TIFF predictor 2 on one row of native-endian samples of `size` bytes, `step` per pixel.
fn horizontal_difference(row: &mut [u8], size: usize, step: usize) {
    let big = cfg!(target_endian = "big");
    let load = |b: &[u8]| {
        let mut x = [0u8; 8];
        if big {
            x[8 - size..].copy_from_slice(b);
            u64::from_be_bytes(x)
        } else {
            x[..size].copy_from_slice(b);
            u64::from_le_bytes(x)
        }
    };
    let samples = row.len() / size;
    for i in (step..samples).rev() {
        let (before, at) = row.split_at_mut(i * size);
        let d = load(&at[..size]).wrapping_sub(load(&before[(i - step) * size..][..size]));
        if big {
            at[..size].copy_from_slice(&d.to_be_bytes()[8 - size..]);
        } else {
            at[..size].copy_from_slice(&d.to_le_bytes()[..size]);
        }
    }
}

/// TIFF predictor 3 on one row of native-endian floats of `size` bytes, `step` per pixel:
/// byte planes, most significant first, then differences of bytes `step` apart.
fn float_difference(row: &mut [u8], size: usize, step: usize) {
    let samples = row.len() / size;
    let mut planes = vec![0u8; row.len()];
    for (i, sample) in row.chunks_exact(size).enumerate() {
        for k in 0..size {
            let byte = if cfg!(target_endian = "big") {
                k
            } else {
                size - 1 - k
            };
            planes[k * samples + i] = sample[byte];
        }
    }
    for i in (step..planes.len()).rev() {
        planes[i] = planes[i].wrapping_sub(planes[i - step]);
    }
    row.copy_from_slice(&planes);
}

/// Writes `bytes` at `at` in `file`.
fn write_at(file: &mut File, at: u64, bytes: &[u8], name: &Path) -> Result<()> {
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.write_all(bytes))
        .map_err(|e| Error::io(name, e))
}

/// The output: a copy of the base with the re-encoded `chunks` placed and the chunk tables
/// of page 0 updated, written atomically.
fn write_patched(
    base: &Path,
    output: &Path,
    map: &[u8],
    layout: &Layout,
    chunks: &[(u64, Vec<u8>)],
) -> Result<()> {
    let atomic = AtomicFile::create(output)?;
    let mut out = atomic.unbuffered()?;
    let mut src = File::open(base).map_err(|e| Error::io(base, e))?;
    std::io::copy(&mut src, &mut out).map_err(|e| Error::io(output, e))?;
    let mut end = map.len() as u64;
    let mut slots = layout.slots.clone();
    for (index, bytes) in chunks {
        let old = slots[*index as usize];
        let len = bytes.len() as u64;
        let exclusive = layout.exclusive(old);
        let at = if exclusive && (len <= old.1 || old.0 + old.1 == end) {
            if len < old.1 {
                write_at(
                    &mut out,
                    old.0 + len,
                    &vec![0; (old.1 - len) as usize],
                    output,
                )?;
            }
            old.0
        } else {
            if exclusive {
                write_at(&mut out, old.0, &vec![0; old.1 as usize], output)?;
            }
            end.next_multiple_of(2)
        };
        write_at(&mut out, at, bytes, output)?;
        end = end.max(at + len);
        slots[*index as usize] = (at, len);
    }
    let (offsets, counts): (Vec<u64>, Vec<u64>) = slots.into_iter().unzip();
    rewrite_array(
        &mut out,
        map,
        layout.header,
        &layout.offsets,
        &offsets,
        &mut end,
        output,
    )?;
    rewrite_array(
        &mut out,
        map,
        layout.header,
        &layout.counts,
        &counts,
        &mut end,
        output,
    )?;
    if !layout.header.bigtiff && end > u64::from(u32::MAX) {
        return Err(Error::unsupported(format!(
            "{}: the pasted TIFF would pass the 4 GiB a classic TIFF can address",
            output.display()
        )));
    }
    drop(out);
    atomic.commit()
}

/// Rewrites the values of `entry` (chunk offsets or byte counts): in place when they keep
/// their field type, else widened and appended at `end`.
fn rewrite_array(
    out: &mut File,
    map: &[u8],
    h: Header,
    entry: &Entry,
    values: &[u64],
    end: &mut u64,
    name: &Path,
) -> Result<()> {
    let max = values.iter().copied().max().unwrap_or(0);
    let (kind, size) = match entry.kind {
        3 if max <= u64::from(u16::MAX) => (3, 2),
        3 | 4 | 13 if max <= u64::from(u32::MAX) => (entry.kind, 4),
        _ if h.bigtiff => (16, 8),
        _ => {
            return Err(Error::unsupported(format!(
                "{}: the pasted TIFF would pass the 4 GiB a classic TIFF can address",
                name.display()
            )))
        }
    };
    let bytes: Vec<u8> = values.iter().flat_map(|&v| h.bytes(v, size)).collect();
    let text = name.display().to_string();
    let at = match entry.values_at(h, map, &text)? {
        Some((at, _)) if kind == entry.kind => at,
        _ if bytes.len() <= h.word() => entry.field_at(h),
        _ => {
            let at = end.next_multiple_of(2);
            *end = at + bytes.len() as u64;
            write_at(out, entry.field_at(h), &h.bytes(at, h.word()), name)?;
            at
        }
    };
    if kind != entry.kind {
        write_at(out, entry.at + 2, &h.bytes(kind, 2), name)?;
    }
    write_at(out, at, &bytes, name)
}
