//! Image + metadata I/O: `imkit_save` / `imkit_load` with JSON sidecars, arrays,
//! metadata-only calls, sequences and directories (the save queue is in `save_queue.rs`).
//!
//! Metadata crosses the ABI as UTF-8 JSON text (an object; key order kept). Input accepts
//! Python's `NaN`/`Infinity`; files are standard JSON unless Python tokens are allowed in the
//! save options. Strings returned to the caller are Owned: free them with `imkit_string_free`.

use std::ffi::{c_char, c_void, CString};
use std::path::PathBuf;

use super::common::{arg_out, arg_path, arg_paths, arg_ref, arg_slice, arg_str, fill, write_opt};
use super::image::{
    arg_dtype, dtype_code, image_from_path, imkit_image, imkit_image_view, imkit_write_options,
    write_options,
};
use super::{
    boundary, free_handle, handle_mut, handle_ref, imkit_status, new_handle, FfiError, FfiResult,
    Handle,
};
use crate::array::ArrayView;
use crate::error::Error;
use crate::io::{self, metadata, sequence, Data, DataRef, Metadata, SaveOptions};

/// Options for `imkit_save` and friends. Create with `imkit_save_options_new`, free with
/// `imkit_save_options_free`; every function taking options accepts NULL for the defaults.
/// Thread safety: setters must not race with other uses of the same options.
pub struct imkit_save_options {
    options: SaveOptions,
}

impl Handle for imkit_save_options {
    const KIND: &'static str = "imkit_save_options";
}

/// Images (or arrays) loaded from a list of paths or a directory, each with its metadata and
/// path. Create with `imkit_load_list` / `imkit_load_dir`, free with `imkit_image_list_free`.
/// Thread safety: read-only after creation; any thread.
pub struct imkit_image_list {
    items: Vec<(CString, *mut imkit_image, CString)>,
}

impl Handle for imkit_image_list {
    const KIND: &'static str = "imkit_image_list";
}

impl Drop for imkit_image_list {
    fn drop(&mut self) {
        for (_, image, _) in self.items.drain(..) {
            let _ = unsafe { free_handle(image, "image") };
        }
    }
}

/// Reads save options, NULL meaning the defaults.
pub(crate) unsafe fn save_options(ptr: *const imkit_save_options) -> FfiResult<SaveOptions> {
    if ptr.is_null() {
        return Ok(SaveOptions::default());
    }
    Ok(unsafe { handle_ref(ptr, "options") }?.options.clone())
}

/// Parses optional metadata text (NULL or "" = no metadata).
pub(crate) unsafe fn arg_metadata(ptr: *const c_char, arg: &'static str) -> FfiResult<Metadata> {
    if ptr.is_null() {
        return Ok(Metadata::new());
    }
    let text = unsafe { arg_str(ptr, arg) }?;
    if text.trim().is_empty() {
        return Ok(Metadata::new());
    }
    metadata::parse(text).map_err(|e| Error::invalid(format!("`{arg}`: {e}")).into())
}

fn owned_string(text: &str) -> FfiResult<*mut c_char> {
    CString::new(text)
        .map(CString::into_raw)
        .map_err(|_| Error::Internal("string holds a NUL byte".into()).into())
}

fn path_string(path: &std::path::Path) -> FfiResult<CString> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("{} is not valid UTF-8", path.display())))?;
    CString::new(text).map_err(|_| Error::invalid("path holds a NUL byte").into())
}

/// Metadata as JSON text for the caller (Python tokens for non-finite numbers read from a
/// sidecar, so nothing is lost).
fn metadata_text(m: &Metadata) -> FfiResult<CString> {
    let text = metadata::to_text(m, true)?;
    CString::new(text).map_err(|_| Error::Internal("metadata holds a NUL byte".into()).into())
}

/// Frees a string imkit returned (Owned strings). NULL is ignored; do not free twice and do
/// not use libc `free`.
/// Requires: `text` must be NULL or a string an imkit function returned as Owned.
#[no_mangle]
pub unsafe extern "C" fn imkit_string_free(text: *mut c_char) {
    if !text.is_null() {
        drop(unsafe { CString::from_raw(text) });
    }
}

/// Creates save options with the defaults (PNG fast, EXR ZIP, standard JSON only, no
/// overwrite of numbered directories). Owned: free with `imkit_save_options_free`.
/// Requires: `out` must be NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_options_new(out: *mut *mut imkit_save_options) -> imkit_status {
    boundary(|| {
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_save_options {
            options: SaveOptions::default(),
        });
        Ok(())
    })
}

/// Sets the codec settings (PNG and EXR compression) from write options (copied; NULL means
/// the defaults).
/// Requires: `options` must be a live handle; `write` NULL or a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_options_set_write_options(
    options: *mut imkit_save_options,
    write: *const imkit_write_options,
) -> imkit_status {
    boundary(|| {
        let write = unsafe { write_options(write) }?;
        unsafe { handle_mut(options, "options") }?.options.write = write;
        Ok(())
    })
}

/// Allows (true) writing non-finite metadata numbers as Python's `NaN` / `Infinity` /
/// `-Infinity` tokens (not standard JSON). Default false: such metadata is an
/// `IMKIT_STATUS_INVALID_ARG` error and nothing is written.
/// Requires: `options` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_options_set_python_tokens(
    options: *mut imkit_save_options,
    allow: bool,
) -> imkit_status {
    boundary(|| {
        unsafe { handle_mut(options, "options") }?
            .options
            .python_tokens = allow;
        Ok(())
    })
}

/// Directory saves: replace numbered files already in the directory and remove stale ones
/// beyond the new count (true), or fail when any exist (false, the default).
/// Requires: `options` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_options_set_overwrite(
    options: *mut imkit_save_options,
    overwrite: bool,
) -> imkit_status {
    boundary(|| {
        unsafe { handle_mut(options, "options") }?.options.overwrite = overwrite;
        Ok(())
    })
}

/// Frees save options. NULL is ignored; do not free twice.
/// Requires: `options` must be NULL or a live handle not in use elsewhere.
#[no_mangle]
pub unsafe extern "C" fn imkit_save_options_free(options: *mut imkit_save_options) {
    boundary(|| unsafe { free_handle(options, "options") });
}

/// Saves pixels and their metadata. The format comes from the extension of `path`, or — when
/// it has no known extension (.png .tif .tiff .exr .npy .jpg .jpeg, any case) — from the data,
/// with the extension appended: uint8/uint16 with 1–4 channels → PNG; float16/float32 → EXR;
/// every other type → NPY. An extension that cannot hold the pixels exactly is
/// `IMKIT_STATUS_UNSUPPORTED` and nothing is written. `metadata_json` (NULL or "" for none) is a
/// JSON object written to `<stem>.json` after the image; saving without metadata removes a
/// stale sidecar. Both files are written atomically. `*out_path` (may be NULL) receives the
/// image path written. Owned: free `*out_path` with `imkit_string_free`.
/// Thread safety: any thread.
/// Requires: Pointers must be NULL or valid as documented; `image->data` must hold the described
/// pixels.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save(
    path: *const c_char,
    image: *const imkit_image_view,
    metadata_json: *const c_char,
    options: *const imkit_save_options,
    out_path: *mut *mut c_char,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let view = unsafe { arg_ref(image, "image")?.as_view("image") }?;
        let meta = unsafe { arg_metadata(metadata_json, "metadata_json") }?;
        let options = unsafe { save_options(options) }?;
        let written = io::save(&path, view, &meta, &options)?;
        if !out_path.is_null() {
            let text = owned_string(&written.to_string_lossy())?;
            unsafe { write_opt(out_path, text) };
        }
        Ok(())
    })
}

/// Borrows an array from C arguments (no copy: it is written from the caller's memory).
unsafe fn arg_array<'a>(
    data: *const c_void,
    len: usize,
    dtype: i32,
    shape: *const usize,
    ndim: usize,
) -> FfiResult<ArrayView<'a>> {
    let dtype = arg_dtype(dtype, "dtype")?;
    if ndim > 64 {
        return Err(Error::invalid(format!("`ndim` {ndim} is more than 64")).into());
    }
    let dims = unsafe { arg_slice(shape, ndim, "shape") }?;
    let need = crate::array::byte_len(dtype, dims)?;
    if len != need {
        return Err(Error::Mismatch(format!(
            "`len` is {len} bytes, an array of shape {dims:?} and type {dtype} has {need}"
        ))
        .into());
    }
    let bytes = unsafe { arg_slice(data.cast::<u8>(), need, "data") }?;
    Ok(ArrayView::new(dtype, dims, bytes)?)
}

/// Saves an N-dimensional array (`ndim` axes of `shape`, C order, native byte order, `len`
/// bytes of `dtype` samples at `data`) with its metadata. Format rules as `imkit_save`: arrays
/// shaped `(h, w)` or `(h, w, c>=2)` follow the image table, all others go to NPY. `shape` may be
/// NULL when `ndim` is 0 (a scalar). The samples are written from `data` itself (no copy).
/// Owned: free `*out_path` (may be NULL) with `imkit_string_free`. Thread safety: any thread.
/// Requires: `data` must hold `len` readable bytes; `shape` must hold `ndim` values.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_array(
    path: *const c_char,
    data: *const c_void,
    len: usize,
    dtype: i32,
    shape: *const usize,
    ndim: usize,
    metadata_json: *const c_char,
    options: *const imkit_save_options,
    out_path: *mut *mut c_char,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let array = unsafe { arg_array(data, len, dtype, shape, ndim) }?;
        let meta = unsafe { arg_metadata(metadata_json, "metadata_json") }?;
        let options = unsafe { save_options(options) }?;
        let written = io::save(&path, array, &meta, &options)?;
        if !out_path.is_null() {
            let text = owned_string(&written.to_string_lossy())?;
            unsafe { write_opt(out_path, text) };
        }
        Ok(())
    })
}

/// Loads a file (PNG, JPEG, TIFF, EXR, NPY; detected from its content) and its sidecar
/// metadata. `path` may omit the extension when exactly one file with a known extension
/// matches. `*out_metadata_json` (may be NULL) receives the metadata as JSON text, `{}` when
/// there is no sidecar. Owned: free `*out` with `imkit_image_free` and `*out_metadata_json`
/// with `imkit_string_free`. Thread safety: any thread.
/// Requires: Pointers must be NULL or valid as documented.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_load(
    path: *const c_char,
    out: *mut *mut imkit_image,
    out_metadata_json: *mut *mut c_char,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let out = unsafe { arg_out(out, "out") }?;
        let (data, meta) = io::load(&path)?;
        let text = if out_metadata_json.is_null() {
            None
        } else {
            Some(metadata_text(&meta)?)
        };
        *out = new_handle(imkit_image { data });
        if let Some(text) = text {
            unsafe { write_opt(out_metadata_json, text.into_raw()) };
        }
        Ok(())
    })
}

/// Loads a file as `imkit_load` does, without reading its sidecar (so a broken sidecar does
/// not stop it). Owned: free `*out` with `imkit_image_free`. Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_load_without_metadata(
    path: *const c_char,
    out: *mut *mut imkit_image,
) -> imkit_status {
    let options = io::LoadOptions { metadata: false };
    unsafe { image_from_path(path, out, |path| Ok(io::load_with(path, &options)?.0)) }
}

/// Decodes the image file at `path` into the caller's buffer `out` (libspng's pattern: read
/// the size and pixel layout with `imkit_image_info_read`, allocate, then call this; no second
/// copy). `out->data` is written, never read: it must hold `out->height` rows of
/// `out->row_stride_bytes` bytes, with exactly the image's width, height, channels and dtype,
/// else `IMKIT_STATUS_MISMATCH`. The sidecar metadata is not read (see `imkit_metadata_load`).
/// On failure the buffer's contents are unspecified. Thread safety: any thread; the buffer
/// must not be used by anyone else during the call.
///
/// Requires: `path` is NUL-terminated; `out` describes writable memory as stated.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_load_into(
    path: *const c_char,
    out: *const imkit_image_view,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let mut view = unsafe { arg_ref(out, "out")?.as_view_mut("out") }?;
        Ok(crate::codec::read_image_into(&path, &mut view)?)
    })
}

/// The shape of a loaded image or array, with the two-call protocol: `*ndim` (may be NULL)
/// receives the number of axes, and when `capacity` suffices `dims` receives the axis lengths
/// (outermost first). Images are `(h, w)` or `(h, w, c)`. Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_image_get_shape(
    image: *const imkit_image,
    dims: *mut usize,
    capacity: usize,
    ndim: *mut usize,
) -> imkit_status {
    boundary(|| {
        let image = unsafe { handle_ref(image, "image") }?;
        unsafe { fill(&image.data.as_ref().shape(), dims, capacity, ndim) }
    })
}

/// The samples of a loaded image or array: packed, C order, native byte order. `*data`
/// receives a pointer, `*len` the byte count and `*dtype` (may be NULL) an `imkit_dtype` value.
/// Borrowed: `*data` is valid until the image is freed.
/// Thread safety: any thread.
/// Requires: Out pointers must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_image_get_data(
    image: *const imkit_image,
    data: *mut *const c_void,
    len: *mut usize,
    dtype: *mut i32,
) -> imkit_status {
    boundary(|| {
        let image = unsafe { handle_ref(image, "image") }?;
        let data = unsafe { arg_out(data, "data") }?;
        let len = unsafe { arg_out(len, "len") }?;
        let (bytes, ty) = match &image.data {
            Data::Image(img) => (img.data(), img.format().dtype),
            Data::Array(arr) => (arr.data(), arr.dtype()),
        };
        *data = bytes.as_ptr() as *const c_void;
        *len = bytes.len();
        unsafe { write_opt(dtype, dtype_code(ty)) };
        Ok(())
    })
}

/// Writes only metadata: `<stem>.json` for the image `path` (or `path` itself if it ends in
/// `.json`), atomically. `options` (may be NULL) decides whether Python tokens are allowed.
/// Thread safety: any thread.
/// Requires: Strings must be NUL-terminated.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_metadata_save(
    path: *const c_char,
    metadata_json: *const c_char,
    options: *const imkit_save_options,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        if metadata_json.is_null() {
            return Err(FfiError::Null("metadata_json"));
        }
        let meta = unsafe { arg_metadata(metadata_json, "metadata_json") }?;
        let options = unsafe { save_options(options) }?;
        io::save_metadata(&path, &meta, options.python_tokens)?;
        Ok(())
    })
}

/// Reads only the metadata of the image `path` (its `<stem>.json`; `{}` when there is none).
/// Owned: free `*out_json` with `imkit_string_free`. Thread safety: any thread.
/// Requires: `path` must be NUL-terminated; `out_json` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_metadata_load(
    path: *const c_char,
    out_json: *mut *mut c_char,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let out = unsafe { arg_out(out_json, "out_json") }?;
        let meta = io::load_metadata(&path)?;
        *out = metadata_text(&meta)?.into_raw();
        Ok(())
    })
}

/// Reads `count` views and `metadata_count` metadata texts (0 = none, 1 = shared, or one each).
unsafe fn arg_sequence<'a>(
    images: *const imkit_image_view,
    count: usize,
    metadata_json: *const *const c_char,
    metadata_count: usize,
) -> FfiResult<(Vec<DataRef<'a>>, Vec<Metadata>)> {
    let views = unsafe { arg_slice(images, count, "images") }?
        .iter()
        .map(|v| unsafe { v.as_view("images") }.map(DataRef::Image))
        .collect::<FfiResult<_>>()?;
    let metas = unsafe { arg_slice(metadata_json, metadata_count, "metadata_json") }?
        .iter()
        .map(|&p| unsafe { arg_metadata(p, "metadata_json") })
        .collect::<FfiResult<_>>()?;
    Ok((views, metas))
}

/// Saves `count` images to `count` paths (each as `imkit_save`; shapes and types may differ).
/// `metadata_json` holds `metadata_count` texts: 0 (no metadata), 1 (shared by all) or `count`.
/// Images are written in parallel; all are attempted, and the first failure in input order
/// is returned. Thread safety: any thread.
/// Requires: Arrays must hold `count` / `metadata_count` valid entries.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_list(
    paths: *const *const c_char,
    images: *const imkit_image_view,
    count: usize,
    metadata_json: *const *const c_char,
    metadata_count: usize,
    options: *const imkit_save_options,
) -> imkit_status {
    boundary(|| {
        let paths = unsafe { arg_paths(paths, count, "paths") }?;
        let (views, metas) = unsafe { arg_sequence(images, count, metadata_json, metadata_count) }?;
        let options = unsafe { save_options(options) }?;
        sequence::save_list(&paths, &views, &metas, &options)?;
        Ok(())
    })
}

/// Saves `count` images into directory `dir` (created if needed) as `0.<ext>`, `1.<ext>`, …
/// with sidecars `0.json`, …; metadata as `imkit_save_list`. A directory that already holds
/// numbered files is `IMKIT_STATUS_INVALID_ARG` unless the options allow overwrite, which also
/// removes stale numbered files beyond the new count. Thread safety: any thread.
/// Requires: As `imkit_save_list`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_dir(
    dir: *const c_char,
    images: *const imkit_image_view,
    count: usize,
    metadata_json: *const *const c_char,
    metadata_count: usize,
    options: *const imkit_save_options,
) -> imkit_status {
    boundary(|| {
        let dir = unsafe { arg_path(dir, "dir") }?;
        let (views, metas) = unsafe { arg_sequence(images, count, metadata_json, metadata_count) }?;
        let options = unsafe { save_options(options) }?;
        sequence::save_dir(&dir, &views, &metas, &options)?;
        Ok(())
    })
}

fn make_list(items: Vec<(PathBuf, Data, Metadata)>) -> FfiResult<*mut imkit_image_list> {
    let mut list = imkit_image_list {
        items: Vec::with_capacity(items.len()),
    };
    for (path, data, meta) in items {
        let path = path_string(&path)?;
        let meta = metadata_text(&meta)?;
        list.items
            .push((path, new_handle(imkit_image { data }), meta));
    }
    Ok(new_handle(list))
}

/// Loads `count` files (as `imkit_load`) in parallel. Owned: free `*out` with
/// `imkit_image_list_free`. Thread safety: any thread.
/// Requires: `paths` must hold `count` NUL-terminated strings.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_load_list(
    paths: *const *const c_char,
    count: usize,
    out: *mut *mut imkit_image_list,
) -> imkit_status {
    boundary(|| {
        let paths = unsafe { arg_paths(paths, count, "paths") }?;
        let out = unsafe { arg_out(out, "out") }?;
        let loaded = sequence::load_list(&paths)?;
        *out = make_list(
            paths
                .into_iter()
                .zip(loaded)
                .map(|(p, (d, m))| (p, d, m))
                .collect(),
        )?;
        Ok(())
    })
}

/// Loads every image file of directory `dir` (known extensions, any case) in natural order of
/// the names (`2` before `10`). Owned: free `*out` with `imkit_image_list_free`.
/// Thread safety: any thread.
/// Requires: `dir` must be NUL-terminated; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_load_dir(
    dir: *const c_char,
    out: *mut *mut imkit_image_list,
) -> imkit_status {
    boundary(|| {
        let dir = unsafe { arg_path(dir, "dir") }?;
        let out = unsafe { arg_out(out, "out") }?;
        *out = make_list(sequence::load_dir(&dir)?)?;
        Ok(())
    })
}

/// Number of entries in a loaded list. Thread safety: any thread.
/// Requires: `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_image_list_len(
    list: *const imkit_image_list,
    out: *mut usize,
) -> imkit_status {
    boundary(|| {
        let list = unsafe { handle_ref(list, "list") }?;
        *unsafe { arg_out(out, "out") }? = list.items.len();
        Ok(())
    })
}

/// Entry `index` of a loaded list: its image, its metadata JSON text and its path (each out
/// pointer may be NULL). Borrowed: all three are valid until the list is freed; do not free
/// the image. Thread safety: any thread.
/// Requires: Out pointers must be NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_image_list_get(
    list: *const imkit_image_list,
    index: usize,
    image: *mut *const imkit_image,
    metadata_json: *mut *const c_char,
    path: *mut *const c_char,
) -> imkit_status {
    boundary(|| {
        let list = unsafe { handle_ref(list, "list") }?;
        let (p, img, meta) = list.items.get(index).ok_or_else(|| {
            Error::OutOfBounds(format!(
                "index {index} is past the list's {} entries",
                list.items.len()
            ))
        })?;
        unsafe {
            write_opt(image, *img as *const imkit_image);
            write_opt(metadata_json, meta.as_ptr());
            write_opt(path, p.as_ptr());
        }
        Ok(())
    })
}

/// Frees a loaded list and every image in it. NULL is ignored; do not free twice.
/// Requires: `list` must be NULL or a live list not in use elsewhere.
#[no_mangle]
pub unsafe extern "C" fn imkit_image_list_free(list: *mut imkit_image_list) {
    boundary(|| unsafe { free_handle(list, "list") });
}
