//! Tiling: extract and paste one tile, buffer to buffer and file to file.

use std::ffi::{c_char, c_void};

use super::common::{
    arg_enum, arg_out, arg_path, arg_ref, c_enum, imkit_progress_fn, imkit_rect, with_progress,
    write_opt,
};
use super::image::{imkit_image_view, imkit_write_options, write_options};
use super::{boundary, imkit_status, FfiResult};
use crate::tiling::{self, Corner, EdgePolicy, Placement, TileSpec};

/// Which tile pixel sits on the anchor (values of `imkit_tile_spec.corner`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_corner {
    /// Top-left: the tile starts at (x, y).
    Tl = 0,
    /// Top-right: left = x - (width - 1).
    Tr = 1,
    /// Bottom-left: top = y - (height - 1).
    Bl = 2,
    /// Bottom-right.
    Br = 3,
    /// Centre: left = x - floor(width / 2), top = y - floor(height / 2).
    Center = 4,
}

/// What happens when a tile crosses the image border (values of `imkit_tile_spec.edge`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_tile_edge {
    /// Fail with `IMKIT_STATUS_OUT_OF_BOUNDS` (imkerutils' behaviour).
    Error = 0,
    /// Keep the part inside the image: extracted tiles shrink, pastes are partial.
    Clip = 1,
    /// Extracted tiles keep their size, outside pixels get `fill`; pastes are partial.
    Pad = 2,
}

c_enum!(imkit_corner {
    Tl,
    Tr,
    Bl,
    Br,
    Center
});

impl From<imkit_corner> for Corner {
    fn from(c: imkit_corner) -> Self {
        match c {
            imkit_corner::Tl => Corner::TopLeft,
            imkit_corner::Tr => Corner::TopRight,
            imkit_corner::Bl => Corner::BottomLeft,
            imkit_corner::Br => Corner::BottomRight,
            imkit_corner::Center => Corner::Center,
        }
    }
}

c_enum!(imkit_tile_edge { Error, Clip, Pad });

/// Where a tile goes. Fill it with `imkit_tile_spec_default` and change what you need.
/// Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct imkit_tile_spec {
    /// Anchor column (may be negative or beyond the image; `edge` decides).
    pub x: i64,
    /// Anchor row.
    pub y: i64,
    /// Tile width in pixels. For paste, 0 means "the tile image's width".
    pub width: u64,
    /// Tile height in pixels. For paste, 0 means "the tile image's height".
    pub height: u64,
    /// Fill value for `IMKIT_TILE_EDGE_PAD`, applied to every channel (saturated and rounded for
    /// integer types).
    pub fill: f64,
    /// An `imkit_corner` value.
    pub corner: i32,
    /// An `imkit_tile_edge` value.
    pub edge: i32,
}

impl imkit_tile_spec {
    fn to_spec(self, tile_size: Option<(u64, u64)>) -> FfiResult<TileSpec> {
        let corner = arg_enum::<imkit_corner>(self.corner, "spec->corner")?.into();
        let edge = match arg_enum::<imkit_tile_edge>(self.edge, "spec->edge")? {
            imkit_tile_edge::Error => EdgePolicy::Error,
            imkit_tile_edge::Clip => EdgePolicy::Clip,
            imkit_tile_edge::Pad => EdgePolicy::Pad(self.fill),
        };
        let (mut width, mut height) = (self.width, self.height);
        if let Some((tw, th)) = tile_size {
            if width == 0 {
                width = tw;
            }
            if height == 0 {
                height = th;
            }
        }
        Ok(TileSpec {
            x: self.x,
            y: self.y,
            corner,
            width,
            height,
            edge,
        })
    }
}

/// Fills `*out` with the defaults: anchor (0, 0), corner top-left, 1024 x 1024, edge policy
/// error, fill 0.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_tile_spec_default(out: *mut imkit_tile_spec) -> imkit_status {
    boundary(|| {
        let out = unsafe { arg_out(out, "out") }?;
        *out = imkit_tile_spec {
            x: 0,
            y: 0,
            width: tiling::DEFAULT_TILE_SIZE,
            height: tiling::DEFAULT_TILE_SIZE,
            fill: 0.0,
            corner: imkit_corner::Tl as i32,
            edge: imkit_tile_edge::Error as i32,
        };
        Ok(())
    })
}

/// Size query for `imkit_extract_tile`: resolves `spec` against a `image_width` x
/// `image_height` image and stores the tile's size in `*out_width`/`*out_height` (the clipped
/// size under `IMKIT_TILE_EDGE_CLIP`) and the part of the image it covers in `*out_rect` (may be
/// NULL). Fails with `IMKIT_STATUS_OUT_OF_BOUNDS` as extraction would.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_tile_place(
    spec: *const imkit_tile_spec,
    image_width: u64,
    image_height: u64,
    out_width: *mut u64,
    out_height: *mut u64,
    out_rect: *mut imkit_rect,
) -> imkit_status {
    boundary(|| {
        let spec = unsafe { arg_ref(spec, "spec") }?.to_spec(None)?;
        let out_width = unsafe { arg_out(out_width, "out_width") }?;
        let out_height = unsafe { arg_out(out_height, "out_height") }?;
        let placement = spec.place(image_width, image_height)?;
        let (w, h) = placement.extracted_size(spec.edge);
        *out_width = w;
        *out_height = h;
        unsafe { write_opt(out_rect, placement.image_rect.into()) };
        Ok(())
    })
}

/// Copies a tile out of `src` into `dst` (caller-allocated; its width, height, channels and
/// dtype must equal what `imkit_tile_place` reports and `src` has). Stores the covered part
/// of the image in `*out_rect` (may be NULL). `src` and `dst` must not overlap.
/// Thread safety: any thread; buffers are only borrowed during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_extract_tile(
    src: *const imkit_image_view,
    spec: *const imkit_tile_spec,
    dst: *const imkit_image_view,
    out_rect: *mut imkit_rect,
) -> imkit_status {
    boundary(|| {
        let src = unsafe { arg_ref(src, "src")?.as_view("src") }?;
        let spec = unsafe { arg_ref(spec, "spec") }?.to_spec(None)?;
        let mut dst = unsafe { arg_ref(dst, "dst")?.as_view_mut("dst") }?;
        let placement = tiling::extract_into(&src, &spec, &mut dst)?;
        unsafe { write_opt(out_rect, placement.image_rect.into()) };
        Ok(())
    })
}

/// Pastes `tile` into `base` in place: inside the tile rectangle the tile's pixels replace the
/// base's (alpha copied, no blending); every other pixel is untouched. Pixel type and channel
/// count must match exactly (`IMKIT_STATUS_MISMATCH` otherwise; imkit never converts).
/// `spec->width/height` of 0 take the tile's size. Under clip/pad only the part inside the
/// base is written. Stores that part in `*out_rect` (may be NULL). The buffers must not overlap.
/// Thread safety: any thread; buffers are only borrowed during the call.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_paste_tile(
    base: *const imkit_image_view,
    tile: *const imkit_image_view,
    spec: *const imkit_tile_spec,
    out_rect: *mut imkit_rect,
) -> imkit_status {
    boundary(|| {
        let mut base = unsafe { arg_ref(base, "base")?.as_view_mut("base") }?;
        let tile = unsafe { arg_ref(tile, "tile")?.as_view("tile") }?;
        let size = (tile.width() as u64, tile.height() as u64);
        let spec = unsafe { arg_ref(spec, "spec") }?.to_spec(Some(size))?;
        let placement = tiling::paste(&mut base, &tile, &spec)?;
        unsafe { write_opt(out_rect, placement.image_rect.into()) };
        Ok(())
    })
}

/// Extracts a tile from the image file `input` into the new file `output` (format from its
/// extension; written atomically). PNG input is streamed and decoded only down to the
/// tile's last row. `options`, `progress` and `out_rect` may be NULL; `user_data` is passed
/// to `progress` untouched. Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_extract_tile_file(
    input: *const c_char,
    output: *const c_char,
    spec: *const imkit_tile_spec,
    options: *const imkit_write_options,
    progress: imkit_progress_fn,
    user_data: *mut c_void,
    out_rect: *mut imkit_rect,
) -> imkit_status {
    boundary(|| {
        let input = unsafe { arg_path(input, "input") }?;
        let output = unsafe { arg_path(output, "output") }?;
        let spec = unsafe { arg_ref(spec, "spec") }?.to_spec(None)?;
        let options = unsafe { write_options(options) }?;
        let placement: Placement = with_progress(progress, user_data, |p| {
            tiling::extract_file(&input, &output, &spec, &options, p)
        })?;
        unsafe { write_opt(out_rect, placement.image_rect.into()) };
        Ok(())
    })
}

/// Pastes the image file `tile` into the image file `base` and writes the result to
/// `output` (may equal `base`; replaced atomically, so a failure leaves it intact). A PNG base
/// written to a PNG output streams row by row: memory stays near a few rows plus the tile,
/// and every pixel outside the tile rectangle is carried over bit for bit (16-bit and alpha
/// included; palette bases come out as RGB/RGBA). A TIFF base written to a TIFF output
/// re-encodes only the tiles or strips the tile touches (same compression and predictor) and
/// copies every other byte of the file. `spec->width/height` of 0 take the tile's
/// size. `options`, `progress` and `out_rect` may be NULL. Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_paste_tile_file(
    base: *const c_char,
    tile: *const c_char,
    output: *const c_char,
    spec: *const imkit_tile_spec,
    options: *const imkit_write_options,
    progress: imkit_progress_fn,
    user_data: *mut c_void,
    out_rect: *mut imkit_rect,
) -> imkit_status {
    boundary(|| {
        let base = unsafe { arg_path(base, "base") }?;
        let tile = unsafe { arg_path(tile, "tile") }?;
        let output = unsafe { arg_path(output, "output") }?;
        let c_spec = *unsafe { arg_ref(spec, "spec") }?;
        let options = unsafe { write_options(options) }?;
        let size = if c_spec.width == 0 || c_spec.height == 0 {
            let info = crate::codec::probe(&tile)?;
            Some((info.width, info.height))
        } else {
            None
        };
        let spec = c_spec.to_spec(size)?;
        let placement = with_progress(progress, user_data, |p| {
            tiling::paste_file(&base, &tile, &output, &spec, &options, p)
        })?;
        unsafe { write_opt(out_rect, placement.image_rect.into()) };
        Ok(())
    })
}
