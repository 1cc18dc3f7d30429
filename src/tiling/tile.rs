//! Extract and paste, in memory and file to file.
//!
//! File paths stream: extracting from a PNG decodes rows only down to the tile's last row;
//! from a TIFF, EXR or NPY file it reads only the chunks (tiles, strips, blocks, rows) the tile
//! touches, through [`crate::source`];
//! pasting into a PNG streams every row through decode → (replace the tile's span) → encode,
//! so memory stays at a few rows plus the tile, whatever the image size; pasting into a TIFF
//! re-encodes only the chunks the tile touches ([`super::tiff_paste`]).

use std::path::Path;

use super::{EdgePolicy, Placement, TileSpec};
use crate::codec::{self, atomic::AtomicFile, png, Format, WriteOptions};
use crate::error::{Error, Result};
use crate::image::{Image, ImageView, ImageViewMut};
use crate::pixel::PixelFormat;
use crate::progress::Progress;
use crate::rect::Rect;

/// Rows between two progress reports.
const PROGRESS_EVERY: usize = 256;

fn fill_pixel(format: PixelFormat, edge: EdgePolicy) -> Result<Option<Vec<u8>>> {
    match edge {
        EdgePolicy::Pad(value) => {
            let mut one = Vec::new();
            format.dtype.encode_fill(value, &mut one)?;
            Ok(Some(one.repeat(format.channels)))
        }
        _ => Ok(None),
    }
}

/// A zero-or-fill-initialised tile of the size extraction produces.
fn blank_tile(format: PixelFormat, spec: &TileSpec, placement: &Placement) -> Result<Image> {
    let (w, h) = placement.extracted_size(spec.edge);
    crate::limits::check_image("the tile", w, h, format.channels as u64)?;
    let mut tile = Image::new(w as usize, h as usize, format)?;
    if let Some(pixel) = fill_pixel(format, spec.edge)? {
        tile.view_mut().fill(&pixel);
    }
    Ok(tile)
}

/// Copies the tile's pixels out of `src` into `dst`, which must have the extracted size and
/// the same pixel format. Pixels outside the image are left as they are in `dst`, except
/// under `Pad`, where they are set to the fill value.
pub fn extract_into(
    src: &ImageView<'_>,
    spec: &TileSpec,
    dst: &mut ImageViewMut<'_>,
) -> Result<Placement> {
    let placement = spec.place(src.width() as u64, src.height() as u64)?;
    let (w, h) = placement.extracted_size(spec.edge);
    if dst.format() != src.format() {
        return Err(Error::Mismatch(format!(
            "destination is {}, the image is {}",
            dst.format(),
            src.format()
        )));
    }
    if (dst.width() as u64, dst.height() as u64) != (w, h) {
        return Err(Error::Mismatch(format!(
            "destination is {}x{}, the extracted tile is {w}x{h}",
            dst.width(),
            dst.height()
        )));
    }
    if let Some(pixel) = fill_pixel(src.format(), spec.edge)? {
        dst.fill(&pixel);
    }
    let (ox, oy) = placement.extracted_offset(spec.edge);
    let rect = placement.image_rect;
    dst.crop_mut(Rect::from_xywh(ox, oy, rect.width(), rect.height()))?
        .copy_from(&src.crop(rect)?)?;
    Ok(placement)
}

/// Extracts a tile from an image in memory.
pub fn extract(src: &ImageView<'_>, spec: &TileSpec) -> Result<(Image, Placement)> {
    let placement = spec.place(src.width() as u64, src.height() as u64)?;
    let mut tile = blank_tile(src.format(), spec, &placement)?;
    extract_into(src, spec, &mut tile.view_mut())?;
    Ok((tile, placement))
}

/// Checks that `tile` can be pasted into a base of pixel format `base` under `spec`.
pub(super) fn check_tile(base: PixelFormat, tile: &ImageView<'_>, spec: &TileSpec) -> Result<()> {
    if tile.format() != base {
        return Err(Error::Mismatch(format!(
            "tile pixels are {}, the base image is {}: imkit never converts pixels on paste \
             (convert the tile first)",
            tile.format(),
            base
        )));
    }
    if (tile.width() as u64, tile.height() as u64) != (spec.width, spec.height) {
        return Err(Error::Mismatch(format!(
            "tile must be exactly {}x{}, got {}x{}",
            spec.width,
            spec.height,
            tile.width(),
            tile.height()
        )));
    }
    Ok(())
}

/// Pastes `tile` into `base` in memory: the tile's pixels replace the base's inside the
/// tile rectangle (no blending, alpha copied as is); every other pixel stays untouched.
/// The tile must be `spec.width` x `spec.height` with the base's exact pixel format.
pub fn paste(
    base: &mut ImageViewMut<'_>,
    tile: &ImageView<'_>,
    spec: &TileSpec,
) -> Result<Placement> {
    check_tile(base.format(), tile, spec)?;
    let placement = spec.place(base.width() as u64, base.height() as u64)?;
    let rect = placement.image_rect;
    let part = tile.crop(Rect::from_xywh(
        placement.offset_x,
        placement.offset_y,
        rect.width(),
        rect.height(),
    ))?;
    base.crop_mut(rect)?.copy_from(&part)?;
    Ok(placement)
}

/// Writes `image` to `path`: PNG keeps `metadata` (ICC profile, density); other formats go
/// through [`codec::write_image`].
fn write_output(
    path: &Path,
    image: &ImageView<'_>,
    options: &WriteOptions,
    metadata: &png::PngMetadata,
) -> Result<()> {
    match codec::output_format(path)? {
        Format::Png => png::write_file(path, image, options.png_compression, metadata),
        _ => codec::write_image(path, image, options),
    }
}

/// True when both paths name one existing file (links and `./` spellings included).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Extracts a tile from an image file into a new file (format from the output's extension).
/// PNG input is streamed: rows are decoded only down to the tile's bottom edge, so memory is
/// one row plus the tile. Returns where the tile sat on the image.
pub fn extract_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    spec: &TileSpec,
    options: &WriteOptions,
    progress: &mut Progress<'_>,
) -> Result<Placement> {
    let (input, output) = (input.as_ref(), output.as_ref());
    codec::output_format(output)?;
    if same_file(input, output) {
        return Err(Error::invalid(format!(
            "{} is the input image: extract-tile would replace it with the tile (choose \
             another output)",
            output.display()
        )));
    }
    match Format::detect(input)? {
        Format::Png => {}
        Format::Tiff | Format::Npy | Format::Exr => {
            if let Some(placement) = extract_from_source(input, output, spec, options)? {
                return Ok(placement);
            }
            return extract_decoded(input, output, spec, options);
        }
        _ => return extract_decoded(input, output, spec, options),
    }
    let mut reader = png::PngReader::open(input)?;
    let placement = spec.place(reader.width() as u64, reader.height() as u64)?;
    let mut tile = blank_tile(reader.format(), spec, &placement)?;
    let rect = placement.image_rect;
    let (ox, oy) = placement.extracted_offset(spec.edge);
    let bpp = reader.format().bytes_per_pixel();
    let (left, right) = (rect.left as usize * bpp, rect.right as usize * bpp);
    let (top, bottom) = (rect.top as usize, rect.bottom as usize);
    let total = bottom as u64;
    let mut out = tile.view_mut();
    for y in 0..bottom {
        let row = reader.next_row()?;
        if y >= top {
            let dst = out.row_mut(oy as usize + y - top);
            let start = ox as usize * bpp;
            dst[start..start + right - left].copy_from_slice(&row[left..right]);
        }
        if y % PROGRESS_EVERY == 0 {
            progress.report(y as u64, total)?;
        }
    }
    write_output(output, &tile.view(), options, reader.metadata())?;
    progress.report(total, total)?;
    Ok(placement)
}

/// Extracts from a file decoded whole (JPEG, and TIFF layouts no source reads).
fn extract_decoded(
    input: &Path,
    output: &Path,
    spec: &TileSpec,
    options: &WriteOptions,
) -> Result<Placement> {
    let image = codec::read_image(input)?;
    let (tile, placement) = extract(&image.view(), spec)?;
    write_output(output, &tile.view(), options, &png::PngMetadata::default())?;
    Ok(placement)
}

/// Extracts through a region source (TIFF tiles or strips, EXR blocks, NPY rows by mmap), so
/// only the chunks the tile touches are read. `None` when the file has a layout the source
/// does not read (planar or palette TIFF, ...): the caller decodes it whole instead.
fn extract_from_source(
    input: &Path,
    output: &Path,
    spec: &TileSpec,
    options: &WriteOptions,
) -> Result<Option<Placement>> {
    let source = match crate::source::open(input, &crate::source::OpenOptions::default()) {
        Ok(source) => source,
        Err(Error::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let placement = spec.place(source.width(), source.height())?;
    let format = source.format();
    let mut tile = blank_tile(format, spec, &placement)?;
    let rect = placement.image_rect;
    let (ox, oy) = placement.extracted_offset(spec.edge);
    let mut view = tile.view_mut();
    let mut inside = view.crop_mut(Rect::from_xywh(ox, oy, rect.width(), rect.height()))?;
    let channels = crate::source::Channels::all(format.channels);
    crate::source::read_region(&*source, 0, rect, &channels, &mut inside)?;
    write_output(output, &tile.view(), options, &png::PngMetadata::default())?;
    Ok(Some(placement))
}

/// Pastes the tile file into the base image file and writes the result to `output` (which
/// may be the base itself: the result replaces it atomically). The tile's size comes from the
/// tile file; `spec.width`/`spec.height` must match it. A PNG base with a PNG output streams
/// row by row; a TIFF base with a TIFF output re-encodes only the tiles or strips the tile
/// touches and copies every other byte (see `tiff_paste`); every pixel outside the tile
/// rectangle is carried over bit for bit.
pub fn paste_file(
    base: impl AsRef<Path>,
    tile: impl AsRef<Path>,
    output: impl AsRef<Path>,
    spec: &TileSpec,
    options: &WriteOptions,
    progress: &mut Progress<'_>,
) -> Result<Placement> {
    let (base, tile, output) = (base.as_ref(), tile.as_ref(), output.as_ref());
    let out_format = codec::output_format(output)?;
    let tile = codec::read_image(tile)?;
    let base_format = Format::detect(base)?;
    if (base_format, out_format) == (Format::Tiff, Format::Tiff) {
        let pasted =
            super::tiff_paste::paste_into_tiff(base, &tile.view(), spec, output, progress)?;
        if let Some(placement) = pasted {
            return Ok(placement);
        }
    }
    if base_format != Format::Png || out_format != Format::Png {
        let mut image = codec::read_image(base)?;
        let placement = paste(&mut image.view_mut(), &tile.view(), spec)?;
        write_output(output, &image.view(), options, &png::PngMetadata::default())?;
        return Ok(placement);
    }
    let mut reader = png::PngReader::open(base)?;
    check_tile(reader.format(), &tile.view(), spec)?;
    let placement = spec.place(reader.width() as u64, reader.height() as u64)?;
    let rect = placement.image_rect;
    let bpp = reader.format().bytes_per_pixel();
    let (left, right) = (rect.left as usize * bpp, rect.right as usize * bpp);
    let tile_x = placement.offset_x as usize * bpp;
    let tile_view = tile.view();
    let (width, height) = (reader.width(), reader.height());
    let file = AtomicFile::create(output)?;
    let name = output.display().to_string();
    let mut writer = png::PngWriter::new(
        file.unbuffered()?,
        &name,
        width,
        height,
        reader.format(),
        options.png_compression,
        &reader.metadata().clone(),
    )?;
    let mut row_buf = vec![0u8; width * bpp];
    for y in 0..height {
        let row = reader.next_row()?;
        if (rect.top as usize..rect.bottom as usize).contains(&y) {
            row_buf.copy_from_slice(row);
            let tile_row = tile_view.row(placement.offset_y as usize + y - rect.top as usize);
            row_buf[left..right].copy_from_slice(&tile_row[tile_x..tile_x + right - left]);
            writer.write_row(&row_buf)?;
        } else {
            writer.write_row(row)?;
        }
        if y % PROGRESS_EVERY == 0 {
            progress.report(y as u64, height as u64)?;
        }
    }
    writer.finish()?;
    file.commit()?;
    progress.report(height as u64, height as u64)?;
    Ok(placement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixel::PixelType;
    use crate::tiling::Corner;

    fn pattern(w: usize, h: usize, format: PixelFormat) -> Image {
        let mut img = Image::new(w, h, format).unwrap();
        for (i, b) in img.data_mut().iter_mut().enumerate() {
            *b = (i * 37 % 251) as u8;
        }
        img
    }

    #[test]
    fn extract_then_paste_is_identity_and_outside_is_untouched() {
        let format = PixelFormat::new(PixelType::U16, 4).unwrap();
        let img = pattern(64, 48, format);
        let spec = TileSpec::square(40, 30, Corner::BottomRight, 16);
        let (mut tile, p) = extract(&img.view(), &spec).unwrap();
        assert_eq!(p.image_rect, Rect::from_xywh(25, 15, 16, 16));
        tile.data_mut()[0] ^= 0xff;
        let mut edited = img.clone();
        paste(&mut edited.view_mut(), &tile.view(), &spec).unwrap();
        for y in 0..48 {
            for x in 0..64 {
                let i = (y * 64 + x) * 8;
                let inside = (25..41).contains(&x) && (15..31).contains(&y);
                let same = edited.data()[i..i + 8] == img.data()[i..i + 8];
                assert_eq!(same, !(inside && x == 25 && y == 15), "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn pad_fills_outside_and_clip_shrinks() {
        let format = PixelFormat::new(PixelType::U8, 1).unwrap();
        let img = pattern(10, 10, format);
        let mut spec = TileSpec::square(-2, -3, Corner::TopLeft, 5);
        spec.edge = EdgePolicy::Pad(7.0);
        let (tile, _) = extract(&img.view(), &spec).unwrap();
        assert_eq!((tile.width(), tile.height()), (5, 5));
        assert_eq!(tile.data()[0], 7);
        assert_eq!(tile.data()[3 * 5 + 2], img.data()[0]);
        spec.edge = EdgePolicy::Clip;
        let (tile, _) = extract(&img.view(), &spec).unwrap();
        assert_eq!((tile.width(), tile.height()), (3, 2));
        assert_eq!(tile.data()[0], img.data()[0]);
    }

    #[test]
    fn paste_refuses_other_pixel_formats() {
        let mut base = pattern(8, 8, PixelFormat::new(PixelType::U16, 3).unwrap());
        let tile = pattern(4, 4, PixelFormat::new(PixelType::U8, 3).unwrap());
        let spec = TileSpec::square(0, 0, Corner::TopLeft, 4);
        let err = paste(&mut base.view_mut(), &tile.view(), &spec).unwrap_err();
        assert!(matches!(err, Error::Mismatch(_)), "{err}");
        assert!(err.to_string().contains("never converts"));
    }
}
