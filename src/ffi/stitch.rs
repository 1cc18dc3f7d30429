//! Fragment and stitch: every cell of a partition written as its own file plus a manifest,
//! and an image rebuilt from such a manifest with blended overlaps.

use std::ffi::{c_char, c_void};

use super::common::{arg_enum, arg_path, arg_str, c_enum, imkit_progress_fn, with_progress};
use super::image::{imkit_write_options, write_options};
use super::partition::imkit_partition;
use super::{boundary, handle_ref, imkit_status};
use crate::tiling::{self, Blend, FragmentOptions, StitchOptions};

/// Overlap blending for `imkit_stitch`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_blend {
    /// Later tiles (manifest order) replace earlier ones.
    Overwrite = 0,
    /// Mean of the overlapping tiles.
    Average = 1,
    /// Linear feather over the overlap.
    Linear = 2,
    /// Gaussian weights centred on each tile.
    Gaussian = 3,
}

c_enum!(imkit_blend {
    Overwrite,
    Average,
    Linear,
    Gaussian
});

impl From<imkit_blend> for Blend {
    fn from(b: imkit_blend) -> Self {
        match b {
            imkit_blend::Overwrite => Blend::Overwrite,
            imkit_blend::Average => Blend::Average,
            imkit_blend::Linear => Blend::Linear,
            imkit_blend::Gaussian => Blend::Gaussian,
        }
    }
}

/// Writes every cell of `partition` into the existing directory `out_dir` as files named by
/// `name_template` (NULL = "tile_{row:04}_{col:04}.png", for volumes
/// "tile_{z:04}_{row:04}_{col:04}.png", ".npy" when cells are deeper than one slice;
/// placeholders {row} {col} {y} {x} {z} (first slice), optional zero padding as {row:04}; the
/// extension picks the format), plus `manifest.json`. A partition with a depth axis
/// (`imkit_partition_options_set_depth`) writes one volume file (TIFF pages or NPY) per cell.
/// One top-to-bottom pass over the source; files are written atomically; bytes do not depend
/// on the thread count. `options`, `progress` may be NULL; `progress` runs on the calling
/// thread with (cells done, total) and cancels when it returns non-zero.
/// Requires: `partition` a handle; strings NUL-terminated UTF-8 (or NULL where allowed).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_fragment(
    partition: *const imkit_partition,
    out_dir: *const c_char,
    name_template: *const c_char,
    options: *const imkit_write_options,
    progress: imkit_progress_fn,
    user_data: *mut c_void,
) -> imkit_status {
    boundary(|| {
        let p = &unsafe { handle_ref(partition, "partition") }?.partition;
        let dir = unsafe { arg_path(out_dir, "out_dir") }?;
        let mut opts = FragmentOptions {
            write: unsafe { write_options(options) }?,
            ..Default::default()
        };
        if !name_template.is_null() {
            opts.template = Some(unsafe { arg_str(name_template, "name_template") }?.to_string());
        }
        with_progress(progress, user_data, |pr| {
            tiling::fragment(p, &dir, &opts, pr)
        })?;
        Ok(())
    })
}

/// Rebuilds an image from a fragment manifest into `output` (format from its extension; PNG is
/// streamed in row bands), blending overlaps with `blend` (an `imkit_blend` value) in a fixed
/// order. A volume manifest rebuilds every slice: into a multi-page TIFF or a (d, h, w[, c])
/// NPY, or one file per slice when `output` holds {z} (e.g. "slice_{z:03}.png"); a format
/// that holds one image (PNG, EXR) without {z} is an error. `options`, `progress` may be
/// NULL; `progress` gets (rows done, height x slices) on the calling thread and cancels when
/// it returns non-zero (nothing is written then, except slices already complete in per-slice
/// output).
/// Requires: Strings NUL-terminated UTF-8; `options` NULL or a handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_stitch(
    manifest: *const c_char,
    output: *const c_char,
    blend: i32,
    options: *const imkit_write_options,
    progress: imkit_progress_fn,
    user_data: *mut c_void,
) -> imkit_status {
    boundary(|| {
        let manifest = unsafe { arg_path(manifest, "manifest") }?;
        let output = unsafe { arg_path(output, "output") }?;
        let opts = StitchOptions {
            blend: arg_enum::<imkit_blend>(blend, "blend")?.into(),
            write: unsafe { write_options(options) }?,
            ..Default::default()
        };
        with_progress(progress, user_data, |pr| {
            tiling::stitch(&manifest, &output, &opts, pr)
        })?;
        Ok(())
    })
}
