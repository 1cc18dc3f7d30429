//! Tiled and striped TIFF (classic and BigTIFF) as a region source: a read decodes only the
//! chunks (tiles or strips) its rectangle touches, in parallel on the library pool, and copies
//! their overlap into the output. Multi-page files are volumes: page `z` is slice `z` (every
//! page must have the same size and pixel layout). Chunky (interleaved) samples only.
//!
//! Fast path: the file is mapped with mmap; uncompressed chunks are copied straight from the
//! map, deflate chunks are inflated with libdeflate in one call (imkit's streaming inflater
//! piece by piece when that fails; horizontal predictor undone for 8-bit samples). Other
//! compressions, predictors and big-endian multi-byte samples go through the `tiff` crate's
//! chunk decoder. Either way only the touched chunks are read.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use tiff::decoder::{ChunkType, Decoder};
use tiff::tags::{ByteOrder, Tag};

use super::{Channels, RegionSource};
use crate::error::{Error, Result};
use crate::image::ImageViewMut;
use crate::pixel::PixelFormat;
use crate::rect::Rect;

type TiffDecoder = Decoder<BufReader<File>>;

/// A TIFF file read by chunks.
pub struct TiffSource {
    path: PathBuf,
    width: u64,
    height: u64,
    pages: u64,
    format: PixelFormat,
    chunk: (u64, u64),
    tiled: bool,
    /// Idle decoders (with the page each is positioned on), reused across reads and threads.
    decoders: Mutex<Vec<(u64, TiffDecoder)>>,
    chunks_decoded: AtomicU64,
    /// The mapped file and each page's chunk locations, when the fast path applies.
    fast: Option<Fast>,
    /// Recently decoded (compressed) chunks, so overlapping reads do not inflate twice.
    cache: Mutex<ChunkCache>,
}

/// Default byte budget of the decoded-chunk cache.
pub const DEFAULT_CHUNK_CACHE: usize = 64 << 20;

/// (page, chunk index).
type ChunkKey = (u64, u32);

/// A least-recently-used cache of decoded chunks, keyed by (page, chunk index).
struct ChunkCache {
    capacity: usize,
    bytes: usize,
    clock: u64,
    /// (page, chunk) -> (decoded bytes, last use).
    entries: HashMap<ChunkKey, (Arc<Vec<u8>>, u64)>,
}

impl ChunkCache {
    fn get(&mut self, key: (u64, u32)) -> Option<Arc<Vec<u8>>> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(&key).map(|(data, used)| {
            *used = clock;
            data.clone()
        })
    }

    fn put(&mut self, key: (u64, u32), data: Arc<Vec<u8>>) {
        if data.len() > self.capacity {
            return;
        }
        self.clock += 1;
        self.bytes += data.len();
        if let Some((old, _)) = self.entries.insert(key, (data, self.clock)) {
            self.bytes -= old.len();
        }
        while self.bytes > self.capacity {
            let Some((&oldest, _)) = self.entries.iter().min_by_key(|(_, (_, used))| *used) else {
                break;
            };
            if let Some((gone, _)) = self.entries.remove(&oldest) {
                self.bytes -= gone.len();
            }
        }
    }
}

/// Bytes of one chunk: borrowed from the map, or decoded (and shared with the cache).
enum ChunkData<'a> {
    Mapped(&'a [u8]),
    Decoded(Arc<Vec<u8>>),
}

impl std::ops::Deref for ChunkData<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ChunkData::Mapped(b) => b,
            ChunkData::Decoded(v) => v,
        }
    }
}

/// How the fast path decodes chunks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Codec {
    None,
    Deflate { predictor: bool },
}

/// The fast path: the mapped file and, per page, (offset, byte count) of every chunk.
struct Fast {
    map: memmap2::Mmap,
    codec: Codec,
    chunks: Vec<Vec<(u64, u64)>>,
}

/// The page's chunk (offset, length) table, checked against the file size.
fn chunk_table(
    path: &Path,
    d: &mut TiffDecoder,
    tiled: bool,
    file_len: u64,
) -> Result<Vec<(u64, u64)>> {
    let e = |err| tiff_error(path, err);
    let (off_tag, len_tag) = if tiled {
        (Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        (Tag::StripOffsets, Tag::StripByteCounts)
    };
    let offsets = d.get_tag_u64_vec(off_tag).map_err(e)?;
    let counts = d.get_tag_u64_vec(len_tag).map_err(e)?;
    if offsets.len() != counts.len() {
        return Err(Error::format(format!(
            "{}: {} chunk offsets but {} byte counts",
            path.display(),
            offsets.len(),
            counts.len()
        )));
    }
    let table: Vec<(u64, u64)> = offsets.into_iter().zip(counts).collect();
    if let Some(bad) = table
        .iter()
        .position(|&(o, n)| o.checked_add(n).map_or(true, |end| end > file_len))
    {
        return Err(Error::format(format!(
            "{}: chunk {bad} lies beyond the end of the file",
            path.display()
        )));
    }
    Ok(table)
}

/// Inflates the zlib stream `data` into `out[..full]` with imkit's streaming inflater, piece by
/// piece (the fallback when a chunk does not inflate in one libdeflate call, e.g. a padded
/// strip); returns the bytes made.
fn inflate_streaming(
    data: &[u8],
    out: &mut [u8],
    full: usize,
) -> std::result::Result<usize, String> {
    let mut inflater = crate::codec::inflate::Decompressor::new();
    let (mut used, mut made) = (0, 0);
    while made < full && !inflater.is_done() {
        let (c, p) = inflater
            .read(&data[used..], &mut out[..full], made, true)
            .map_err(|e| e.to_string())?;
        if c == 0 && p == 0 {
            break;
        }
        used += c;
        made += p;
    }
    Ok(made)
}

/// Undoes TIFF's horizontal differencing on one row of 8-bit samples (`bpp` per pixel).
fn undo_horizontal_predictor(row: &mut [u8], bpp: usize) {
    /// Running sums kept per channel, one pixel at a time (twice as fast as byte by byte).
    fn pixels<const N: usize>(row: &mut [u8]) {
        let mut sum = [0u8; N];
        for px in row.chunks_exact_mut(N) {
            for (s, v) in sum.iter_mut().zip(px.iter_mut()) {
                *s = s.wrapping_add(*v);
                *v = *s;
            }
        }
    }
    match bpp {
        1 => pixels::<1>(row),
        2 => pixels::<2>(row),
        3 => pixels::<3>(row),
        4 => pixels::<4>(row),
        _ => {
            for i in bpp..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
    }
}

/// The fast-path codec for the current page, if it has one.
fn fast_codec(path: &Path, d: &mut TiffDecoder, format: PixelFormat) -> Result<Option<Codec>> {
    let e = |err| tiff_error(path, err);
    let compression = d
        .find_tag_unsigned::<u64>(Tag::Compression)
        .map_err(e)?
        .unwrap_or(1);
    let predictor = d
        .find_tag_unsigned::<u64>(Tag::Predictor)
        .map_err(e)?
        .unwrap_or(1);
    let native = format.dtype.size() == 1 || d.byte_order() == ByteOrder::LittleEndian;
    if !native || cfg!(target_endian = "big") {
        return Ok(None);
    }
    Ok(match (compression, predictor) {
        (1, _) => Some(Codec::None),
        (8 | 32946, 1) => Some(Codec::Deflate { predictor: false }),
        (8 | 32946, 2) if format.dtype.size() == 1 => Some(Codec::Deflate { predictor: true }),
        _ => None,
    })
}

fn tiff_error(path: &Path, e: tiff::TiffError) -> Error {
    crate::codec::tiff::tiff_error(&path.display().to_string(), e)
}

/// A page's size, pixel layout, chunk size and chunk type (true = tiles).
type PageInfo = (u64, u64, PixelFormat, (u64, u64), bool);

/// Describes the page the decoder is on.
fn describe(path: &Path, d: &mut TiffDecoder) -> Result<PageInfo> {
    let e = |err| tiff_error(path, err);
    let (w, h) = d.dimensions().map_err(e)?;
    let tag = |d: &mut TiffDecoder, t: Tag, default: u64| -> Result<u64> {
        Ok(d.find_tag_unsigned_vec::<u64>(t)
            .map_err(e)?
            .and_then(|v| v.first().copied())
            .unwrap_or(default))
    };
    let bits = tag(d, Tag::BitsPerSample, 1)?;
    let spp = tag(d, Tag::SamplesPerPixel, 1)?;
    let kind = tag(d, Tag::SampleFormat, 1)?;
    let planar = tag(d, Tag::PlanarConfiguration, 1)?;
    let photometric = tag(d, Tag::PhotometricInterpretation, 1)?;
    if planar != 1 {
        return Err(Error::unsupported(format!(
            "{}: planar (separate) TIFF samples are not supported for region reads",
            path.display()
        )));
    }
    if photometric == 3 {
        return Err(Error::unsupported(format!(
            "{}: palette TIFF is not supported for region reads",
            path.display()
        )));
    }
    let dtype = crate::codec::tiff::sample_type(kind, bits).ok_or_else(|| {
        crate::codec::tiff::unsupported_samples(&path.display().to_string(), kind, bits)
    })?;
    if spp == 0 || spp > 64 {
        return Err(Error::format(format!(
            "{}: {spp} samples per pixel",
            path.display()
        )));
    }
    let format = PixelFormat::new(dtype, spp as usize)?;
    let (cw, ch) = d.chunk_dimensions();
    let tiled = d.get_chunk_type() == ChunkType::Tile;
    if cw == 0 || ch == 0 {
        return Err(Error::format(format!(
            "{}: zero-size TIFF chunks",
            path.display()
        )));
    }
    Ok((w as u64, h as u64, format, (cw as u64, ch as u64), tiled))
}

impl TiffSource {
    /// Opens a TIFF and reads the directories of all its pages (no pixel data).
    pub fn open(path: impl AsRef<Path>) -> Result<TiffSource> {
        let path = path.as_ref();
        let mut d = Self::new_decoder(path)?;
        let (width, height, format, chunk, tiled) = describe(path, &mut d)?;
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut codec = fast_codec(path, &mut d, format)?;
        crate::codec::tiff::check_jpeg_chunks(path, &mut d)?;
        let mut tables = vec![chunk_table(path, &mut d, tiled, file_len)?];
        let mut pages = 1;
        while d.more_images() {
            d.next_image().map_err(|e| tiff_error(path, e))?;
            let (w, h, f, c, t) = describe(path, &mut d)?;
            if fast_codec(path, &mut d, format)? != codec || (c, t) != (chunk, tiled) {
                codec = None;
            }
            crate::codec::tiff::check_jpeg_chunks(path, &mut d)?;
            tables.push(chunk_table(path, &mut d, t, file_len)?);
            if (w, h, f) != (width, height, format) {
                return Err(Error::unsupported(format!(
                    "{}: page {pages} is {w}x{h} {f}, page 0 is {width}x{height} {format}; \
                     a volume needs equal pages",
                    path.display()
                )));
            }
            pages += 1;
        }
        let fast = match codec {
            // SAFETY: read-only private map; chunk bounds were checked against the file size
            // (a file truncated by someone else while mapped is the documented mmap hazard).
            Some(codec) => Some(Fast {
                map: unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?,
                codec,
                chunks: tables,
            }),
            None => None,
        };
        Ok(TiffSource {
            path: path.to_path_buf(),
            width,
            height,
            pages,
            format,
            chunk,
            tiled,
            decoders: Mutex::new(vec![(pages - 1, d)]),
            chunks_decoded: AtomicU64::new(0),
            fast,
            cache: Mutex::new(ChunkCache {
                capacity: DEFAULT_CHUNK_CACHE,
                bytes: 0,
                clock: 0,
                entries: HashMap::new(),
            }),
        })
    }

    /// Sets the byte budget of the decoded-chunk cache (0 disables it) and empties it.
    pub fn set_chunk_cache(&self, bytes: usize) {
        if let Ok(mut c) = self.cache.lock() {
            c.capacity = bytes;
            c.bytes = 0;
            c.entries.clear();
        }
    }

    fn new_decoder(path: &Path) -> Result<TiffDecoder> {
        crate::codec::tiff::open_decoder(path)
    }

    /// Chunk (tile or strip) size in pixels, as (width, height).
    pub fn chunk_size(&self) -> (u64, u64) {
        self.chunk
    }

    /// True for tiled files, false for striped ones.
    pub fn is_tiled(&self) -> bool {
        self.tiled
    }

    /// Number of chunks read from the file so far by this source (cache hits not counted; for
    /// tests and diagnostics).
    pub fn chunks_decoded(&self) -> u64 {
        self.chunks_decoded.load(Ordering::Relaxed)
    }

    /// The bytes of chunk `index` of page `page` (`rows` x `width` pixels of data) and their
    /// row stride: borrowed from the map when uncompressed, decoded otherwise.
    fn chunk(
        &self,
        page: u64,
        index: u32,
        width: u64,
        rows: u64,
    ) -> Result<(ChunkData<'_>, usize)> {
        let bpp = self.format.bytes_per_pixel();
        let stride = match &self.fast {
            // Tiles are stored at full tile size; strips at the image width.
            Some(_) if self.tiled => self.chunk.0 as usize * bpp,
            Some(_) => self.width as usize * bpp,
            None => width as usize * bpp,
        };
        let compressed = self.fast.as_ref().map_or(true, |f| f.codec != Codec::None);
        if compressed {
            if let Some(hit) = self
                .cache
                .lock()
                .ok()
                .and_then(|mut c| c.get((page, index)))
            {
                return Ok((ChunkData::Decoded(hit), stride));
            }
        }
        self.chunks_decoded.fetch_add(1, Ordering::Relaxed);
        let data = self.read_chunk(page, index, width, rows, stride)?;
        if let (true, ChunkData::Decoded(d)) = (compressed, &data) {
            if let Ok(mut c) = self.cache.lock() {
                c.put((page, index), d.clone());
            }
        }
        Ok((data, stride))
    }

    /// Reads chunk `index` of page `page` from the file (see [`TiffSource::chunk`]).
    fn read_chunk(
        &self,
        page: u64,
        index: u32,
        width: u64,
        rows: u64,
        stride: usize,
    ) -> Result<ChunkData<'_>> {
        let bpp = self.format.bytes_per_pixel();
        let what = format!("{}: TIFF chunk {index}", self.path.display());
        let channels = self.format.channels as u64;
        crate::limits::check_image(&what, (stride / bpp) as u64, rows, channels)?;
        let Some(fast) = &self.fast else {
            return Ok(ChunkData::Decoded(Arc::new(
                self.decode_chunk(page, index)?,
            )));
        };
        let (offset, len) = *fast.chunks[page as usize]
            .get(index as usize)
            .ok_or_else(|| {
                Error::format(format!("{}: chunk {index} is missing", self.path.display()))
            })?;
        let data = &fast.map[offset as usize..(offset + len) as usize];
        let need = (rows as usize - 1) * stride + width as usize * bpp;
        let short = |got: usize| {
            Error::format(format!(
                "{}: chunk {index} holds {got} bytes, {need} expected",
                self.path.display()
            ))
        };
        match fast.codec {
            Codec::None => {
                if data.len() < need {
                    return Err(short(data.len()));
                }
                Ok(ChunkData::Mapped(data))
            }
            Codec::Deflate { predictor } => {
                let full = rows as usize * stride;
                // A tile holds full tile height even at the bottom edge: room for all of it lets
                // libdeflate inflate the whole stream in one call.
                let held = if self.tiled {
                    full.max(self.chunk.1 as usize * stride)
                } else {
                    full
                };
                let mut out = crate::limits::zeroed(held, &what)?;
                let whole = libdeflater::Decompressor::new().zlib_decompress(data, &mut out);
                let mut made = whole.unwrap_or(0);
                out.truncate(full);
                if made < need {
                    made = inflate_streaming(data, &mut out, full).map_err(|e| {
                        Error::format(format!("{}: chunk {index}: {e}", self.path.display()))
                    })?;
                }
                if made < need {
                    return Err(short(made));
                }
                if predictor {
                    for row in out.chunks_exact_mut(stride) {
                        undo_horizontal_predictor(row, bpp);
                    }
                }
                Ok(ChunkData::Decoded(Arc::new(out)))
            }
        }
    }

    /// Decodes chunk `index` of page `page` with the `tiff` crate into packed bytes.
    fn decode_chunk(&self, page: u64, index: u32) -> Result<Vec<u8>> {
        let taken = self
            .decoders
            .lock()
            .map_err(|_| Error::BadState("TIFF decoder pool poisoned".into()))?
            .pop();
        let (mut at, mut d) = match taken {
            Some(x) => x,
            None => (0, Self::new_decoder(&self.path)?),
        };
        let e = |err| tiff_error(&self.path, err);
        if at != page {
            d.seek_to_image(page as usize).map_err(e)?;
            at = page;
        }
        // Into a buffer allocated here, fallibly (the crate's own would abort).
        let len = d.image_chunk_buffer_layout(index).map_err(e)?.len;
        let what = format!("{}: TIFF chunk {index}", self.path.display());
        let mut bytes = crate::buffer::zeroed(len, &what)?;
        d.read_chunk_bytes(index, &mut bytes).map_err(e)?;
        if let Ok(mut pool) = self.decoders.lock() {
            pool.push((at, d));
        }
        Ok(bytes)
    }
}

impl RegionSource for TiffSource {
    fn width(&self) -> u64 {
        self.width
    }
    fn height(&self) -> u64 {
        self.height
    }
    fn depth(&self) -> u64 {
        self.pages
    }
    fn format(&self) -> PixelFormat {
        self.format
    }
    fn chunk_shape(&self) -> Option<(u64, u64)> {
        Some(self.chunk)
    }
    fn read_slice_region(
        &self,
        z: u64,
        rect: Rect,
        channels: &Channels,
        out: &mut ImageViewMut<'_>,
    ) -> Result<()> {
        let (cw, ch) = self.chunk;
        let across = if self.tiled {
            self.width.div_ceil(cw)
        } else {
            1
        };
        let cw = if self.tiled { cw } else { self.width };
        let mut wanted = Vec::new();
        for ty in rect.top / ch..=(rect.bottom - 1) / ch {
            for tx in rect.left / cw..=(rect.right - 1) / cw {
                let index = u32::try_from(ty * across + tx)
                    .map_err(|_| Error::format("TIFF chunk index overflows"))?;
                wanted.push((tx, ty, index));
            }
        }
        let rect_of = |tx: u64, ty: u64| Rect {
            left: tx * cw,
            top: ty * ch,
            right: ((tx + 1) * cw).min(self.width),
            bottom: ((ty + 1) * ch).min(self.height),
        };
        let fetch = |&(tx, ty, index): &(u64, u64, u32)| {
            let r = rect_of(tx, ty);
            self.chunk(z, index, r.width(), r.height())
        };
        let uncompressed = self.fast.as_ref().is_some_and(|f| f.codec == Codec::None);
        let decoded: Vec<(ChunkData<'_>, usize)> = if uncompressed || wanted.len() == 1 {
            wanted.iter().map(fetch).collect::<Result<_>>()?
        } else {
            crate::threads::install(|| wanted.par_iter().map(fetch).collect::<Result<Vec<_>>>())??
        };
        let bpp = self.format.bytes_per_pixel();
        let sample = self.format.dtype.size();
        let out_bpp = channels.len() * sample;
        for (&(tx, ty, _), (bytes, stride)) in wanted.iter().zip(&decoded) {
            let stride = *stride;
            let chunk_rect = rect_of(tx, ty);
            let need =
                (chunk_rect.height() as usize - 1) * stride + chunk_rect.width() as usize * bpp;
            if bytes.len() < need {
                return Err(Error::format(format!(
                    "{}: chunk {tx},{ty} decoded to {} bytes, expected {need}",
                    self.path.display(),
                    bytes.len(),
                )));
            }
            let part = chunk_rect.intersect(&rect);
            let (x0, x1) = (
                (part.left - chunk_rect.left) as usize,
                (part.right - chunk_rect.left) as usize,
            );
            let out_x = (part.left - rect.left) as usize * out_bpp;
            let out_w = part.width() as usize * out_bpp;
            for y in part.top..part.bottom {
                let src = &bytes[(y - chunk_rect.top) as usize * stride..][x0 * bpp..x1 * bpp];
                let dst = &mut out.row_mut((y - rect.top) as usize)[out_x..out_x + out_w];
                channels.copy_row(src, dst, sample);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// A padded strip: its stream holds more rows than the chunk; the first ones are kept.
    #[test]
    fn a_stream_longer_than_the_chunk_gives_its_first_bytes() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(6).unwrap());
        let mut z = vec![0; c.zlib_compress_bound(data.len())];
        let n = c.zlib_compress(&data, &mut z).unwrap();
        let mut out = vec![0; 6000];
        assert_eq!(super::inflate_streaming(&z[..n], &mut out, 6000), Ok(6000));
        assert!(out == data[..6000]);
        assert!(super::inflate_streaming(&z[..n / 2], &mut vec![0; 10_000], 10_000).is_err());
    }
}
