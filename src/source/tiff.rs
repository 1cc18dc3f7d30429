//! Tiled and striped TIFF (classic and BigTIFF) as a region source: a read decodes only the
//! chunks (tiles or strips) its rectangle touches, in parallel on the library pool, and copies
//! their overlap into the output. Multi-page files are volumes: page `z` is slice `z` (every
//! page must have the same size and pixel layout). Chunky (interleaved) samples only.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use tiff::decoder::{ChunkType, Decoder, Limits};
use tiff::tags::Tag;

use super::{Channels, RegionSource};
use crate::error::{Error, Result};
use crate::geom::Rect;
use crate::image::ImageViewMut;
use crate::pixel::{PixelFormat, PixelType};

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
}

fn tiff_error(path: &Path, e: tiff::TiffError) -> Error {
    match e {
        tiff::TiffError::IoError(io) => Error::io(path, io),
        tiff::TiffError::UnsupportedError(u) => {
            Error::unsupported(format!("{}: unsupported TIFF: {u}", path.display()))
        }
        other => Error::format(format!("{}: invalid TIFF: {other}", path.display())),
    }
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
    let dtype = match (kind, bits) {
        (1, 8) => PixelType::U8,
        (1, 16) => PixelType::U16,
        (1, 32) => PixelType::U32,
        (1, 64) => PixelType::U64,
        (2, 8) => PixelType::I8,
        (2, 16) => PixelType::I16,
        (2, 32) => PixelType::I32,
        (2, 64) => PixelType::I64,
        (3, 16) => PixelType::F16,
        (3, 32) => PixelType::F32,
        (3, 64) => PixelType::F64,
        _ => {
            return Err(Error::unsupported(format!(
                "{}: TIFF samples of {bits} bits with sample format {kind} are not supported",
                path.display()
            )))
        }
    };
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
        let mut pages = 1;
        while d.more_images() {
            d.next_image().map_err(|e| tiff_error(path, e))?;
            let (w, h, f, _, _) = describe(path, &mut d)?;
            if (w, h, f) != (width, height, format) {
                return Err(Error::unsupported(format!(
                    "{}: page {pages} is {w}x{h} {f}, page 0 is {width}x{height} {format}; \
                     a volume needs equal pages",
                    path.display()
                )));
            }
            pages += 1;
        }
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
        })
    }

    fn new_decoder(path: &Path) -> Result<TiffDecoder> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Decoder::new(BufReader::with_capacity(1 << 16, file))
            .map(|d| d.with_limits(Limits::unlimited()))
            .map_err(|e| tiff_error(path, e))
    }

    /// Chunk (tile or strip) size in pixels, as (width, height).
    pub fn chunk_size(&self) -> (u64, u64) {
        self.chunk
    }

    /// True for tiled files, false for striped ones.
    pub fn is_tiled(&self) -> bool {
        self.tiled
    }

    /// Number of chunks decoded so far by this source (for tests and diagnostics).
    pub fn chunks_decoded(&self) -> u64 {
        self.chunks_decoded.load(Ordering::Relaxed)
    }

    /// Decodes chunk `index` of page `page` into packed bytes.
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
        let mut data = d.read_chunk(index).map_err(e)?;
        self.chunks_decoded.fetch_add(1, Ordering::Relaxed);
        let bytes = data.as_buffer(0).as_bytes().to_vec();
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
        let decoded: Vec<Vec<u8>> = crate::threads::install(|| {
            wanted
                .par_iter()
                .map(|&(_, _, index)| self.decode_chunk(z, index))
                .collect::<Result<Vec<_>>>()
        })??;
        let bpp = self.format.bytes_per_pixel();
        let sample = self.format.dtype.size();
        let out_bpp = channels.len() * sample;
        for (&(tx, ty, _), bytes) in wanted.iter().zip(&decoded) {
            let chunk_rect = Rect {
                left: tx * cw,
                top: ty * ch,
                right: ((tx + 1) * cw).min(self.width),
                bottom: ((ty + 1) * ch).min(self.height),
            };
            let chunk_row = chunk_rect.width() as usize * bpp;
            if bytes.len() < chunk_row * chunk_rect.height() as usize {
                return Err(Error::format(format!(
                    "{}: chunk {tx},{ty} decoded to {} bytes, expected {}",
                    self.path.display(),
                    bytes.len(),
                    chunk_row * chunk_rect.height() as usize
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
                let src = &bytes[(y - chunk_rect.top) as usize * chunk_row..][x0 * bpp..x1 * bpp];
                let dst = &mut out.row_mut((y - rect.top) as usize)[out_x..out_x + out_w];
                channels.copy_row(src, dst, sample);
            }
        }
        Ok(())
    }
}
