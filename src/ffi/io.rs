//! Image + metadata I/O across the ABI: `imkit_save` / `imkit_load` with JSON sidecars,
//! arrays, metadata-only calls, sequences and directories, and the `imkit_save_queue`.
//!
//! Metadata crosses the ABI as UTF-8 JSON text (an object; key order kept). Input accepts
//! Python's `NaN`/`Infinity`; files are standard JSON unless Python tokens are allowed in the
//! save options. Strings returned to the caller are Owned: free them with `imkit_string_free`.

use std::ffi::{c_char, c_void, CString};
use std::path::PathBuf;

use super::image::{imkit_image, imkit_image_view, imkit_write_options, write_options};
use super::{
    arg_out, arg_path, arg_ref, arg_str, boundary, free_handle, handle_mut, handle_ref,
    imkit_status, new_handle, write_opt, FfiError, FfiResult, Handle,
};
use crate::array::NdArray;
use crate::error::Error;
use crate::io::queue::{QueueOptions, SaveQueue};
use crate::io::{self, metadata, sequence, Data, DataRef, Metadata, SaveOptions};
use crate::pixel::PixelType;

/// Options for `imkit_save` and friends. Create with `imkit_save_options_new`, free with
/// `imkit_save_options_free`; every function taking options accepts NULL for the defaults.
/// Thread safety: setters must not race with other uses of the same options.
pub struct imkit_save_options {
    options: SaveOptions,
}

impl Handle for imkit_save_options {
    const KIND: &'static str = "imkit_save_options";
}

/// Settings for a save queue. Create with `imkit_save_queue_options_new`, free with
/// `imkit_save_queue_options_free`. Thread safety: as `imkit_save_options`.
pub struct imkit_save_queue_options {
    options: QueueOptions,
}

impl Handle for imkit_save_queue_options {
    const KIND: &'static str = "imkit_save_queue_options";
}

/// A bounded background save queue (see `imkit_save_queue_new`).
/// Thread safety: every function may be called from any thread concurrently, except
/// `imkit_save_queue_close` and `imkit_save_queue_free`, which must not race with any other
/// use of the queue.
pub struct imkit_save_queue {
    queue: SaveQueue,
}

impl Handle for imkit_save_queue {
    const KIND: &'static str = "imkit_save_queue";
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

unsafe fn save_options(ptr: *const imkit_save_options) -> FfiResult<SaveOptions> {
    if ptr.is_null() {
        return Ok(SaveOptions::default());
    }
    Ok(unsafe { handle_ref(ptr, "options") }?.options.clone())
}

/// Parses optional metadata text (NULL or "" = no metadata).
unsafe fn arg_metadata(ptr: *const c_char, arg: &'static str) -> FfiResult<Metadata> {
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
///
/// # Safety
/// `text` must be NULL or a string an imkit function returned as Owned.
#[no_mangle]
pub unsafe extern "C" fn imkit_string_free(text: *mut c_char) {
    if !text.is_null() {
        drop(unsafe { CString::from_raw(text) });
    }
}

/// Creates save options with the defaults (PNG fast, EXR ZIP, standard JSON only, no
/// overwrite of numbered directories). Owned: free with `imkit_save_options_free`.
///
/// # Safety
/// `out` must be NULL or writable.
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
///
/// # Safety
/// `options` must be a live handle; `write` NULL or a live handle.
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
///
/// # Safety
/// `options` must be a live handle.
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
///
/// # Safety
/// `options` must be a live handle.
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
///
/// # Safety
/// `options` must be NULL or a live handle not in use elsewhere.
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
///
/// # Safety
/// Pointers must be NULL or valid as documented; `image->data` must hold the described pixels.
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

/// Builds an array from C arguments (copies the bytes).
unsafe fn arg_array(
    data: *const c_void,
    len: usize,
    dtype: i32,
    shape: *const usize,
    ndim: usize,
) -> FfiResult<NdArray> {
    let dtype = PixelType::from_code(dtype).map_err(|e| Error::invalid(format!("`dtype`: {e}")))?;
    if ndim > 64 {
        return Err(Error::invalid(format!("`ndim` {ndim} is more than 64")).into());
    }
    let dims: Vec<usize> = if ndim == 0 {
        Vec::new()
    } else if shape.is_null() {
        return Err(FfiError::Null("shape"));
    } else {
        unsafe { std::slice::from_raw_parts(shape, ndim) }.to_vec()
    };
    let need = crate::array::byte_len(dtype, &dims)?;
    if len != need {
        return Err(Error::Mismatch(format!(
            "`len` is {len} bytes, an array of shape {dims:?} and type {dtype} has {need}"
        ))
        .into());
    }
    let bytes = if need == 0 {
        Vec::new()
    } else if data.is_null() {
        return Err(FfiError::Null("data"));
    } else {
        unsafe { std::slice::from_raw_parts(data as *const u8, need) }.to_vec()
    };
    Ok(NdArray::from_vec(dtype, &dims, bytes)?)
}

/// Saves an N-dimensional array (`ndim` axes of `shape`, C order, native byte order, `len`
/// bytes of `dtype` samples at `data`) with its metadata. Format rules as `imkit_save`: arrays
/// shaped `(h, w)` or `(h, w, c>=2)` follow the image table, all others go to NPY. `shape` may be
/// NULL when `ndim` is 0 (a scalar). Owned: free `*out_path` (may be NULL) with
/// `imkit_string_free`. Thread safety: any thread.
///
/// # Safety
/// `data` must hold `len` readable bytes; `shape` must hold `ndim` values.
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
        let written = io::save(&path, &array, &meta, &options)?;
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
///
/// # Safety
/// Pointers must be NULL or valid as documented.
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
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let out = unsafe { arg_out(out, "out") }?;
        let options = io::LoadOptions { metadata: false };
        let (data, _) = io::load_with(&path, &options)?;
        *out = new_handle(imkit_image { data });
        Ok(())
    })
}

/// The shape of a loaded image or array: writes up to `capacity` axis lengths to `dims`
/// (outermost first) and the number of axes to `*ndim`. Images are `(h, w)` or `(h, w, c)`.
/// Returns `IMKIT_STATUS_BUFFER_TOO_SMALL` (with `*ndim` set) when `capacity` is too small;
/// `dims` may be NULL when `capacity` is 0. Thread safety: any thread.
///
/// # Safety
/// `dims` must hold `capacity` writable values.
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
        let ndim = unsafe { arg_out(ndim, "ndim") }?;
        let shape = image.data.as_ref().shape();
        *ndim = shape.len();
        if capacity < shape.len() {
            return Err(Error::BufferTooSmall(format!(
                "`dims` holds {capacity} values, the shape has {} axes",
                shape.len()
            ))
            .into());
        }
        if !shape.is_empty() {
            if dims.is_null() {
                return Err(FfiError::Null("dims"));
            }
            unsafe { std::ptr::copy_nonoverlapping(shape.as_ptr(), dims, shape.len()) };
        }
        Ok(())
    })
}

/// The samples of a loaded image or array: packed, C order, native byte order. `*data`
/// receives a pointer, `*len` the byte count and `*dtype` (may be NULL) an `imkit_dtype` value.
/// Borrowed: `*data` is valid until the image is freed.
/// Thread safety: any thread.
///
/// # Safety
/// Out pointers must be writable.
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
        unsafe { write_opt(dtype, ty as i32) };
        Ok(())
    })
}

/// Writes only metadata: `<stem>.json` for the image `path` (or `path` itself if it ends in
/// `.json`), atomically. `options` (may be NULL) decides whether Python tokens are allowed.
/// Thread safety: any thread.
///
/// # Safety
/// Strings must be NUL-terminated.
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
///
/// # Safety
/// `path` must be NUL-terminated; `out_json` writable.
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
    let views: Vec<DataRef<'a>> = if count == 0 {
        Vec::new()
    } else if images.is_null() {
        return Err(FfiError::Null("images"));
    } else {
        unsafe { std::slice::from_raw_parts(images, count) }
            .iter()
            .map(|v| unsafe { v.as_view("images") }.map(DataRef::Image))
            .collect::<FfiResult<_>>()?
    };
    let metas = if metadata_count == 0 {
        Vec::new()
    } else if metadata_json.is_null() {
        return Err(FfiError::Null("metadata_json"));
    } else {
        unsafe { std::slice::from_raw_parts(metadata_json, metadata_count) }
            .iter()
            .map(|&p| unsafe { arg_metadata(p, "metadata_json") })
            .collect::<FfiResult<_>>()?
    };
    Ok((views, metas))
}

unsafe fn arg_paths(paths: *const *const c_char, count: usize) -> FfiResult<Vec<PathBuf>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if paths.is_null() {
        return Err(FfiError::Null("paths"));
    }
    unsafe { std::slice::from_raw_parts(paths, count) }
        .iter()
        .map(|&p| unsafe { arg_path(p, "paths") })
        .collect()
}

/// Saves `count` images to `count` paths (each as `imkit_save`; shapes and types may differ).
/// `metadata_json` holds `metadata_count` texts: 0 (no metadata), 1 (shared by all) or `count`.
/// Images are written in parallel; all are attempted, and the first failure in input order
/// is returned. Thread safety: any thread.
///
/// # Safety
/// Arrays must hold `count` / `metadata_count` valid entries.
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
        let paths = unsafe { arg_paths(paths, count) }?;
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
///
/// # Safety
/// As `imkit_save_list`.
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
///
/// # Safety
/// `paths` must hold `count` NUL-terminated strings.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_load_list(
    paths: *const *const c_char,
    count: usize,
    out: *mut *mut imkit_image_list,
) -> imkit_status {
    boundary(|| {
        let paths = unsafe { arg_paths(paths, count) }?;
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
///
/// # Safety
/// `dir` must be NUL-terminated; `out` writable.
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
///
/// # Safety
/// `out` must be writable.
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
///
/// # Safety
/// Out pointers must be NULL or writable.
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
///
/// # Safety
/// `list` must be NULL or a live list not in use elsewhere.
#[no_mangle]
pub unsafe extern "C" fn imkit_image_list_free(list: *mut imkit_image_list) {
    boundary(|| unsafe { free_handle(list, "list") });
}

/// Creates queue settings: 2 worker threads, at most 512 MiB and 64 jobs pending, default
/// save options. Owned: free with `imkit_save_queue_options_free`.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_new(
    out: *mut *mut imkit_save_queue_options,
) -> imkit_status {
    boundary(|| {
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_save_queue_options {
            options: QueueOptions::default(),
        });
        Ok(())
    })
}

/// Sets the number of worker threads (1–256). The queue's workers are its own threads, not
/// imkit's compute pool.
///
/// # Safety
/// `options` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_set_threads(
    options: *mut imkit_save_queue_options,
    threads: usize,
) -> imkit_status {
    boundary(|| {
        if threads == 0 || threads > 256 {
            return Err(Error::invalid(format!("`threads` must be 1-256, got {threads}")).into());
        }
        unsafe { handle_mut(options, "options") }?.options.threads = threads;
        Ok(())
    })
}

/// Sets the most bytes of pixel data queued or being written at once. A single job larger than
/// this is admitted once the queue is empty.
///
/// # Safety
/// `options` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_set_max_pending_bytes(
    options: *mut imkit_save_queue_options,
    bytes: usize,
) -> imkit_status {
    boundary(|| {
        unsafe { handle_mut(options, "options") }?
            .options
            .max_pending_bytes = bytes;
        Ok(())
    })
}

/// Sets the most jobs queued or being written at once (at least 1).
///
/// # Safety
/// `options` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_set_max_pending_jobs(
    options: *mut imkit_save_queue_options,
    jobs: usize,
) -> imkit_status {
    boundary(|| {
        if jobs == 0 {
            return Err(Error::invalid("`jobs` must be at least 1").into());
        }
        unsafe { handle_mut(options, "options") }?
            .options
            .max_pending_jobs = jobs;
        Ok(())
    })
}

/// Sets how each job is saved (copied; NULL means the defaults).
///
/// # Safety
/// `options` must be a live handle; `save` NULL or a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_options_set_save_options(
    options: *mut imkit_save_queue_options,
    save: *const imkit_save_options,
) -> imkit_status {
    boundary(|| {
        let save = unsafe { save_options(save) }?;
        unsafe { handle_mut(options, "options") }?.options.save = save;
        Ok(())
    })
}

/// Frees queue settings. NULL is ignored; do not free twice.
///
/// # Safety
/// `options` must be NULL or a live handle not in use elsewhere.
#[no_mangle]
pub unsafe extern "C" fn imkit_save_queue_options_free(options: *mut imkit_save_queue_options) {
    boundary(|| unsafe { free_handle(options, "options") });
}

/// Starts a save queue with `options` (NULL for the defaults; the settings are copied).
/// Owned: finish with `imkit_save_queue_close` (which reports errors) or
/// `imkit_save_queue_free`. Thread safety: see `imkit_save_queue`.
///
/// # Safety
/// `options` must be NULL or a live handle; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_new(
    options: *const imkit_save_queue_options,
    out: *mut *mut imkit_save_queue,
) -> imkit_status {
    boundary(|| {
        let options = if options.is_null() {
            QueueOptions::default()
        } else {
            unsafe { handle_ref(options, "options") }?.options.clone()
        };
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_save_queue {
            queue: SaveQueue::new(options)?,
        });
        Ok(())
    })
}

unsafe fn queue_push(
    queue: *const imkit_save_queue,
    path: *const c_char,
    image: *const imkit_image_view,
    metadata_json: *const c_char,
    job_id: *mut u64,
    block: bool,
) -> imkit_status {
    boundary(|| {
        let queue = unsafe { handle_ref(queue, "queue") }?;
        let path = unsafe { arg_path(path, "path") }?;
        let view = unsafe { arg_ref(image, "image")?.as_view("image") }?;
        let meta = unsafe { arg_metadata(metadata_json, "metadata_json") }?;
        let ticket = if block {
            queue.queue.push(&path, view, &meta)?
        } else {
            queue.queue.try_push(&path, view, &meta)?
        };
        unsafe { write_opt(job_id, ticket.id) };
        Ok(())
    })
}

/// Queues a save (as `imkit_save`) of a copy of the pixels: the caller may reuse or free its
/// buffer as soon as this returns. Blocks while the queue's byte or job bound is reached.
/// Deadlock hazard: do not call it while holding a lock a worker needs (workers only write
/// files, so this concerns your own locks around filesystem work) and never from a thread the
/// queue waits on. Problems visible now (bad extension for the data, invalid metadata) are
/// returned now; write failures later become job errors (`imkit_save_queue_next_error`).
/// `*job_id` (may be NULL) receives the job's id (ids start at 1).
/// Thread safety: any thread, concurrently.
///
/// # Safety
/// Pointers must be valid as documented.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_push(
    queue: *const imkit_save_queue,
    path: *const c_char,
    image: *const imkit_image_view,
    metadata_json: *const c_char,
    job_id: *mut u64,
) -> imkit_status {
    unsafe { queue_push(queue, path, image, metadata_json, job_id, true) }
}

/// As `imkit_save_queue_push`, but returns `IMKIT_STATUS_WOULD_BLOCK` instead of waiting when
/// the queue is full. Thread safety: any thread, concurrently.
///
/// # Safety
/// As `imkit_save_queue_push`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_try_push(
    queue: *const imkit_save_queue,
    path: *const c_char,
    image: *const imkit_image_view,
    metadata_json: *const c_char,
    job_id: *mut u64,
) -> imkit_status {
    unsafe { queue_push(queue, path, image, metadata_json, job_id, false) }
}

/// Waits until every job queued so far has finished and returns the status of the first job
/// that failed since the previous flush (its message in the last error). Every failed job stays
/// readable with `imkit_save_queue_next_error`. Thread safety: any thread, concurrently.
///
/// # Safety
/// `queue` must be a live handle.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_flush(queue: *const imkit_save_queue) -> imkit_status {
    boundary(|| {
        let queue = unsafe { handle_ref(queue, "queue") }?;
        Ok(queue.queue.flush()?)
    })
}

/// Takes the oldest failed job not yet drained: `*job_id` receives its id (0 when no error is
/// waiting — then `*needed` is 0 and nothing else is written) and `buf` of `len` bytes its
/// message (`"<path>: <reason>"`, NUL-terminated); `*needed` receives the bytes needed. When
/// `len` is too small the call returns `IMKIT_STATUS_BUFFER_TOO_SMALL` and the error stays
/// queued; `buf` may be NULL for that size query. Errors are never dropped.
/// Thread safety: any thread, concurrently.
///
/// # Safety
/// `buf` must hold `len` writable bytes; `job_id` and `needed` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_next_error(
    queue: *const imkit_save_queue,
    job_id: *mut u64,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> imkit_status {
    boundary(|| {
        let queue = unsafe { handle_ref(queue, "queue") }?;
        let job_id = unsafe { arg_out(job_id, "job_id") }?;
        let needed = unsafe { arg_out(needed, "needed") }?;
        queue.queue.next_error_with(|e| {
            let Some(e) = e else {
                *job_id = 0;
                *needed = 0;
                return Ok(true);
            };
            let path = e.path.display().to_string();
            let text = if e.message.starts_with(&path) {
                e.message.clone()
            } else {
                format!("{path}: {}", e.message)
            };
            let text = text.replace('\0', "\\0");
            *needed = text.len() + 1;
            if len < text.len() + 1 {
                return Err(Error::BufferTooSmall(format!(
                    "the message needs {} bytes, `len` is {len}",
                    text.len() + 1
                )));
            }
            if buf.is_null() {
                return Err(Error::invalid("`buf` is NULL but `len` is not 0"));
            }
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), buf as *mut u8, text.len());
                *buf.add(text.len()) = 0;
            }
            *job_id = e.id;
            Ok(true)
        })?;
        Ok(())
    })
}

/// Flushes, stops the workers and frees the queue; returns the flush's status (the first job
/// failure not yet reported by a flush). Call `imkit_save_queue_next_error` before closing to
/// read every failure: errors still queued are freed with the queue. The handle is invalid
/// afterwards, whatever the status (unless it is `IMKIT_STATUS_NULL_ARG` or
/// `IMKIT_STATUS_INVALID_HANDLE`). Thread safety: must not race with any other use of `queue`.
///
/// # Safety
/// `queue` must be a live handle not in use on another thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_save_queue_close(queue: *mut imkit_save_queue) -> imkit_status {
    let flushed = boundary(|| {
        let q = unsafe { handle_ref(queue, "queue") }?;
        Ok(q.queue.flush()?)
    });
    if matches!(flushed, imkit_status::NullArg | imkit_status::InvalidHandle) {
        return flushed;
    }
    let freed = boundary(|| unsafe { free_handle(queue, "queue") });
    if flushed == imkit_status::Ok {
        freed
    } else {
        flushed
    }
}

/// Frees a queue; an open queue is flushed first (every job is written), its errors are
/// discarded — prefer `imkit_save_queue_close`. NULL is ignored; do not free twice.
/// Thread safety: must not race with any other use of `queue`.
///
/// # Safety
/// `queue` must be NULL or a live handle not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn imkit_save_queue_free(queue: *mut imkit_save_queue) {
    boundary(|| unsafe { free_handle(queue, "queue") });
}
