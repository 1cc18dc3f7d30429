//! IID segmentation files: the immutable `imkit_iid_file` reader of `.iid` files, its overlap
//! graphs and the `imkit_iid_writer` builder.
//!
//! Queries that return keys use the two-call protocol (`keys`/`cap`/`count`, see
//! `common.rs`); keys come out ascending. No allocation is made per result.

use std::ffi::c_char;

use super::common::{
    arg_enum, arg_out, arg_path, arg_ref, arg_slice, arg_str, arg_strs, c_enum, fill, fill_text,
    fill_with, write_opt,
};
use super::{
    boundary, free_handle, handle_mut, handle_ref, imkit_status, new_handle, FfiResult, Handle,
};
use crate::error::Error;
use crate::iid::{AreaRange, Filter, IidFile, IidWriter, MaskData, OverlapGraph, Parts, Select};

/// An open `.iid` file. Immutable: every function taking a `const imkit_iid_file *` may be
/// called concurrently from any thread; only `imkit_iid_file_free` must not race with them.
/// A file opened by path is memory-mapped read-only: do not truncate or rewrite it while it
/// is open (replace it by renaming, as `imkit_iid_writer_save` does).
pub struct imkit_iid_file {
    file: IidFile,
}

impl Handle for imkit_iid_file {
    const KIND: &'static str = "imkit_iid_file";
}

/// A `.iid` file being built. Thread safety: not to be used from two threads at once.
pub struct imkit_iid_writer {
    writer: IidWriter,
}

impl Handle for imkit_iid_writer {
    const KIND: &'static str = "imkit_iid_writer";
}

/// The result of `imkit_iid_file_overlap_graph`. Immutable; const functions may run
/// concurrently.
pub struct imkit_iid_graph {
    graph: OverlapGraph,
}

impl Handle for imkit_iid_graph {
    const KIND: &'static str = "imkit_iid_graph";
}

/// A box: rows [minr, maxr), columns [minc, maxc). Query boxes may hold any values
/// (parts outside 0..65535 hold no pixel); boxes given to the writer must lie in 0..65535.
/// Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct imkit_iid_bbox {
    /// First row.
    pub minr: i64,
    /// First column.
    pub minc: i64,
    /// One past the last row.
    pub maxr: i64,
    /// One past the last column.
    pub maxc: i64,
}

impl From<crate::iid::BBox> for imkit_iid_bbox {
    fn from(b: crate::iid::BBox) -> Self {
        imkit_iid_bbox {
            minr: b.minr as i64,
            minc: b.minc as i64,
            maxr: b.maxr as i64,
            maxc: b.maxc as i64,
        }
    }
}

/// A byte string the caller owns (an address or a domain); `data` may be NULL when `len`
/// is 0. Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct imkit_iid_bytes {
    /// First byte.
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// A segment's summary (see `imkit_iid_file_segment_info`).
/// Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct imkit_iid_segment_info {
    /// The box given when the entry was added (need not be tight).
    pub bbox: imkit_iid_bbox,
    /// Number of true pixels.
    pub area: u64,
    /// Number of regions (8-connected components).
    pub region_count: u64,
    /// Bytes of a one-byte-per-pixel mask: height * width.
    pub mask_bytes: u64,
    /// Bytes of a packed mask: ceil(height * width / 8).
    pub mask_packed_bytes: u64,
}

/// Area bounds for `imkit_iid_file_filter`.
/// Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct imkit_iid_area_range {
    /// Lower bound.
    pub min: u64,
    /// Upper bound; `UINT64_MAX` means none.
    pub max: u64,
    /// false: min <= area <= max (imkit's default). true: min < area < max, the reference's
    /// exclusive bounds (an area of 0 never passes).
    pub exclusive: bool,
}

/// One edge of an overlap graph: keys `a < b` share `pixels` true pixels.
/// Frozen: this struct's layout will not change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct imkit_iid_overlap {
    /// The smaller key.
    pub a: u32,
    /// The larger key.
    pub b: u32,
    /// Number of pixels true in both masks (> 0).
    pub pixels: u64,
}

/// Which entries `imkit_iid_file_fetch` selects (values of its `select` argument).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_iid_select {
    /// Every entry.
    All = 0,
    /// The keys given.
    Keys = 1,
    /// The union of the groups given.
    Groups = 2,
}

/// Layout of a mask given to `imkit_iid_writer_add` (values of its `mask_format` argument).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum imkit_iid_mask_format {
    /// One byte per pixel, row-major; non-zero is true. height * width bytes.
    Bytes = 0,
    /// Packed bits, row-major, first pixel in the most significant bit, rows not
    /// byte-aligned; ceil(height * width / 8) bytes.
    Packed = 1,
}

c_enum!(imkit_iid_select { All, Keys, Groups });

c_enum!(imkit_iid_mask_format { Bytes, Packed });

unsafe fn arg_byte_strings<'a>(
    ptr: *const imkit_iid_bytes,
    n: usize,
    arg: &'static str,
) -> FfiResult<Vec<&'a [u8]>> {
    unsafe { arg_slice(ptr, n, arg) }?
        .iter()
        .map(|b| unsafe { arg_slice(b.data, b.len, arg) })
        .collect()
}

unsafe fn file<'a>(f: *const imkit_iid_file) -> FfiResult<&'a IidFile> {
    Ok(&unsafe { handle_ref(f, "file") }?.file)
}

/// Opens and validates a `.iid` file (memory-mapped read-only; no write permission needed).
/// Damaged files give `IMKIT_STATUS_FORMAT` with a message naming the damaged structure.
/// Owned: `*out` is freed with `imkit_iid_file_free`. Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_open(
    path: *const c_char,
    out: *mut *mut imkit_iid_file,
) -> imkit_status {
    boundary(|| {
        let path = unsafe { arg_path(path, "path") }?;
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_iid_file {
            file: IidFile::open(&path)?,
        });
        Ok(())
    })
}

/// Opens a `.iid` file held in memory: the `len` bytes at `data` are copied during the call.
/// Owned: `*out` is freed with `imkit_iid_file_free`. Thread safety: any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_open_buffer(
    data: *const u8,
    len: usize,
    out: *mut *mut imkit_iid_file,
) -> imkit_status {
    boundary(|| {
        let bytes = unsafe { arg_slice(data, len, "data") }?;
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_iid_file {
            file: IidFile::from_bytes(bytes.to_vec())?,
        });
        Ok(())
    })
}

/// Frees a file. NULL is ignored; do not free twice, and not while another thread uses it.
#[no_mangle]
pub unsafe extern "C" fn imkit_iid_file_free(file: *mut imkit_iid_file) {
    boundary(|| unsafe { free_handle(file, "file") });
}

/// Stores the number of entries in `*out` (keys are 0 .. count-1).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_count(
    file: *const imkit_iid_file,
    out: *mut usize,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        *unsafe { arg_out(out, "out") }? = f.len();
        Ok(())
    })
}

/// Checks every record of the file (open checks the header, LUT, meta and groups; records
/// are otherwise checked when first used). Returns `IMKIT_STATUS_FORMAT` on the first problem.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_validate(file: *const imkit_iid_file) -> imkit_status {
    boundary(|| Ok(unsafe { self::file(file) }?.validate()?))
}

/// Stores a borrowed byte field of entry `key` (address or domain) in `*data`/`*len`.
unsafe fn entry_bytes(
    file: *const imkit_iid_file,
    key: u32,
    data: *mut *const u8,
    len: *mut usize,
    field: for<'a> fn(crate::iid::IidRecord<'a>) -> &'a [u8],
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let (data, len) = (unsafe { arg_out(data, "data") }?, unsafe {
            arg_out(len, "len")
        }?);
        let bytes = field(f.iid(key)?);
        (*data, *len) = (bytes.as_ptr(), bytes.len());
        Ok(())
    })
}

/// The address (label name) of entry `key`. Borrowed: `*data` (not NUL-terminated, may hold
/// NUL bytes; never NULL, even when `*len` is 0) is valid until the file is freed.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_address(
    file: *const imkit_iid_file,
    key: u32,
    data: *mut *const u8,
    len: *mut usize,
) -> imkit_status {
    unsafe { entry_bytes(file, key, data, len, |iid| iid.address) }
}

/// The domain of entry `key` (length 0 when absent). Borrowed like `imkit_iid_file_address`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_domain(
    file: *const imkit_iid_file,
    key: u32,
    data: *mut *const u8,
    len: *mut usize,
) -> imkit_status {
    unsafe { entry_bytes(file, key, data, len, |iid| iid.domain) }
}

/// Box, area, region count and mask sizes of entry `key`'s segment (checked first).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_segment_info(
    file: *const imkit_iid_file,
    key: u32,
    out: *mut imkit_iid_segment_info,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let out = unsafe { arg_out(out, "out") }?;
        let s = f.segment(key)?;
        *out = imkit_iid_segment_info {
            bbox: s.bbox.into(),
            area: s.area as u64,
            region_count: s.regions().count() as u64,
            mask_bytes: s.bbox.pixels(),
            mask_packed_bytes: s.packed_len(),
        };
        Ok(())
    })
}

/// Region `index` (file order) of entry `key`: its box in image coordinates and its number
/// of pixels (either out-parameter may be NULL).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_region_info(
    file: *const imkit_iid_file,
    key: u32,
    index: usize,
    bbox: *mut imkit_iid_bbox,
    area: *mut u64,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let s = f.segment(key)?;
        let r = s
            .regions()
            .nth(index)
            .ok_or_else(|| Error::OutOfBounds(format!("segment {key} has no region {index}")))?;
        unsafe { write_opt(bbox, r.bbox.into()) };
        let pixels = crate::iid::mask::count_ones(r.bits, 0, r.bbox.pixels());
        unsafe { write_opt(area, pixels) };
        Ok(())
    })
}

/// Writes entry `key`'s mask into `buf` (`len` bytes) with the two-call protocol: one byte
/// per pixel (1/0) over the segment box, row-major, when `packed` is false; packed bits (MSB
/// first, rows not byte-aligned, last byte zero-padded) when true.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_mask(
    file: *const imkit_iid_file,
    key: u32,
    packed: bool,
    buf: *mut u8,
    len: usize,
    needed: *mut usize,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let s = f.segment(key)?;
        let need = if packed {
            s.packed_len()
        } else {
            s.bbox.pixels()
        };
        let need = usize::try_from(need)
            .map_err(|_| Error::invalid(format!("mask of segment {key} does not fit in memory")))?;
        let what = format!("the mask of segment {key}");
        unsafe {
            fill_with(need, buf, len, needed, &what, |out| match packed {
                true => s.mask_packed(out),
                false => s.mask_bytes(out),
            })
        }
    })
}

/// Copies the meta JSON text (as stored; Python's dialect, may contain `NaN`) NUL-terminated
/// into `buf` of `len` bytes, with the two-call protocol.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_meta_json(
    file: *const imkit_iid_file,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> imkit_status {
    boundary(|| {
        let text = unsafe { self::file(file) }?.meta_json();
        unsafe { fill_text(text, buf, len, needed) }
    })
}

/// Stores the number of groups in `*out`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_group_count(
    file: *const imkit_iid_file,
    out: *mut usize,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        *unsafe { arg_out(out, "out") }? = f.groups().len();
        Ok(())
    })
}

/// Copies the name of group `index` (file order = creation order) NUL-terminated into `buf`,
/// with the two-call protocol.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_group_name(
    file: *const imkit_iid_file,
    index: usize,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let g = f.groups().get(index).ok_or_else(|| {
            Error::OutOfBounds(format!(
                "no group {index} (the file has {})",
                f.groups().len()
            ))
        })?;
        unsafe { fill_text(&g.name, buf, len, needed) }
    })
}

/// Keys selected by `select` (an `imkit_iid_select`): all, the `nkeys` keys at `keys_in`
/// (duplicates collapse; a missing key is `IMKIT_STATUS_OUT_OF_BOUNDS`), or the union of the
/// `ngroups` groups named at `groups` (unknown name: `IMKIT_STATUS_INVALID_ARG`). With
/// `iids`/`segments` true the labels/segments of those entries are checked (decoded), so a
/// damaged one is reported here. Keys out with the two-call protocol.
#[no_mangle]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn imkit_iid_file_fetch(
    file: *const imkit_iid_file,
    select: i32,
    keys_in: *const u64,
    nkeys: usize,
    groups: *const *const c_char,
    ngroups: usize,
    iids: bool,
    segments: bool,
    keys: *mut u32,
    cap: usize,
    count: *mut usize,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let wanted = unsafe { arg_slice(keys_in, nkeys, "keys_in") }?;
        let names = unsafe { arg_strs(groups, ngroups, "groups") }?;
        let sel = match arg_enum::<imkit_iid_select>(select, "select")? {
            imkit_iid_select::All => Select::All,
            imkit_iid_select::Keys => Select::Keys(wanted),
            imkit_iid_select::Groups => Select::Groups(&names),
        };
        let found: Vec<u32> = f
            .fetch(sel, Parts { iids, segments })?
            .iter()
            .map(|e| e.key)
            .collect();
        unsafe { fill(&found, keys, cap, count) }
    })
}

/// Keys whose address equals one of the `naddresses` byte strings, restricted (when
/// `ndomains` > 0) to entries whose domain equals one of `domains` (an empty one matches an
/// absent domain) and (when `ngroups` > 0) to the union of `groups`. Two-call protocol.
#[no_mangle]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn imkit_iid_file_look_for(
    file: *const imkit_iid_file,
    addresses: *const imkit_iid_bytes,
    naddresses: usize,
    domains: *const imkit_iid_bytes,
    ndomains: usize,
    groups: *const *const c_char,
    ngroups: usize,
    keys: *mut u32,
    cap: usize,
    count: *mut usize,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let addresses = unsafe { arg_byte_strings(addresses, naddresses, "addresses") }?;
        let domains = unsafe { arg_byte_strings(domains, ndomains, "domains") }?;
        let names = unsafe { arg_strs(groups, ngroups, "groups") }?;
        let found = f.look_for(&addresses, Some(&domains), Some(&names))?;
        unsafe { fill(&found, keys, cap, count) }
    })
}

/// Keys in the union of `groups` (all when `ngroups` is 0), with a domain among `domains`
/// (any when `ndomains` is 0) and an area within `*area` (any when `area` is NULL).
/// Two-call protocol.
#[no_mangle]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn imkit_iid_file_filter(
    file: *const imkit_iid_file,
    groups: *const *const c_char,
    ngroups: usize,
    domains: *const imkit_iid_bytes,
    ndomains: usize,
    area: *const imkit_iid_area_range,
    keys: *mut u32,
    cap: usize,
    count: *mut usize,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let domains = unsafe { arg_byte_strings(domains, ndomains, "domains") }?;
        let names = unsafe { arg_strs(groups, ngroups, "groups") }?;
        let area = unsafe { area.as_ref() }.map(|a| AreaRange {
            min: Some(a.min),
            max: (a.max != u64::MAX).then_some(a.max),
            exclusive: a.exclusive,
        });
        let found = f.filter(&Filter {
            groups: Some(&names),
            domains: Some(&domains),
            area,
        })?;
        unsafe { fill(&found, keys, cap, count) }
    })
}

/// Keys with at least one true pixel inside `*bbox` (exact test, through the spatial index).
/// Two-call protocol.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_region(
    file: *const imkit_iid_file,
    bbox: *const imkit_iid_bbox,
    keys: *mut u32,
    cap: usize,
    count: *mut usize,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let b = unsafe { arg_ref(bbox, "bbox") }?;
        let found = f.region([b.minr, b.minc, b.maxr, b.maxc])?;
        unsafe { fill(&found, keys, cap, count) }
    })
}

/// Keys whose mask has pixel (`row`, `col`) set. Two-call protocol.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_at(
    file: *const imkit_iid_file,
    row: i64,
    col: i64,
    keys: *mut u32,
    cap: usize,
    count: *mut usize,
) -> imkit_status {
    boundary(|| {
        let found = unsafe { self::file(file) }?.at(row, col)?;
        unsafe { fill(&found, keys, cap, count) }
    })
}

/// The reference's `at(x, y)` (x = column, y = row), which matches any true pixel of the
/// 2x2 block rows y-1..y, columns x-1..x. For compatibility; `imkit_iid_file_at` tests one
/// pixel. Two-call protocol.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_at_compat(
    file: *const imkit_iid_file,
    x: i64,
    y: i64,
    keys: *mut u32,
    cap: usize,
    count: *mut usize,
) -> imkit_status {
    boundary(|| {
        let found = unsafe { self::file(file) }?.at_compat(x, y)?;
        unsafe { fill(&found, keys, cap, count) }
    })
}

/// Computes the overlap graph over every entry (`all` true; `keys_in` ignored) or over the
/// `nkeys` keys at `keys_in`. Runs on the library's thread pool.
/// Owned: `*out` is freed with `imkit_iid_graph_free`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_file_overlap_graph(
    file: *const imkit_iid_file,
    all: bool,
    keys_in: *const u64,
    nkeys: usize,
    out: *mut *mut imkit_iid_graph,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let out = unsafe { arg_out(out, "out") }?;
        let keys = if all {
            None
        } else {
            Some(unsafe { arg_slice(keys_in, nkeys, "keys_in") }?)
        };
        *out = new_handle(imkit_iid_graph {
            graph: f.overlap_graph(keys)?,
        });
        Ok(())
    })
}

/// Node keys of a graph (ascending), with the two-call protocol.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_graph_nodes(
    graph: *const imkit_iid_graph,
    keys: *mut u32,
    cap: usize,
    count: *mut usize,
) -> imkit_status {
    boundary(|| {
        let g = unsafe { handle_ref(graph, "graph") }?;
        unsafe { fill(&g.graph.nodes, keys, cap, count) }
    })
}

/// Edges of a graph sorted by (a, b), with the two-call protocol (`edges`/`cap`/`count`).
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_graph_edges(
    graph: *const imkit_iid_graph,
    edges: *mut imkit_iid_overlap,
    cap: usize,
    count: *mut usize,
) -> imkit_status {
    boundary(|| {
        let g = unsafe { handle_ref(graph, "graph") }?;
        let list: Vec<imkit_iid_overlap> = g
            .graph
            .edges
            .iter()
            .map(|&(a, b, pixels)| imkit_iid_overlap { a, b, pixels })
            .collect();
        unsafe { fill(&list, edges, cap, count) }
    })
}

/// Frees a graph. NULL is ignored; do not free twice.
#[no_mangle]
pub unsafe extern "C" fn imkit_iid_graph_free(graph: *mut imkit_iid_graph) {
    boundary(|| unsafe { free_handle(graph, "graph") });
}

/// Creates an empty writer (no entry, no group, meta `{}`).
/// Owned: `*out` is freed with `imkit_iid_writer_free`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_writer_new(out: *mut *mut imkit_iid_writer) -> imkit_status {
    boundary(|| {
        *unsafe { arg_out(out, "out") }? = new_handle(imkit_iid_writer {
            writer: IidWriter::new(),
        });
        Ok(())
    })
}

/// Creates a writer holding a copy of every entry, group and the meta of `file` (each
/// record checked), to add more entries and save a new file.
/// Owned: `*out` is freed with `imkit_iid_writer_free`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_writer_from_file(
    file: *const imkit_iid_file,
    out: *mut *mut imkit_iid_writer,
) -> imkit_status {
    boundary(|| {
        let f = unsafe { self::file(file) }?;
        let out = unsafe { arg_out(out, "out") }?;
        *out = new_handle(imkit_iid_writer {
            writer: IidWriter::from_file(f)?,
        });
        Ok(())
    })
}

/// Frees a writer (unsaved entries are dropped). NULL is ignored; do not free twice.
#[no_mangle]
pub unsafe extern "C" fn imkit_iid_writer_free(writer: *mut imkit_iid_writer) {
    boundary(|| unsafe { free_handle(writer, "writer") });
}

/// Adds an entry; `*key` (may be NULL) receives its key (0, 1, 2, ... in add order).
/// `*bbox` places the mask (values 0..65535, min <= max; larger values give
/// `IMKIT_STATUS_UNSUPPORTED`); the mask (`mask_len` bytes, `mask_format` an
/// `imkit_iid_mask_format`) covers exactly the box. An empty domain is stored as absent.
/// The caller's bytes are copied during the call; nothing changes on error.
#[no_mangle]
#[must_use]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn imkit_iid_writer_add(
    writer: *mut imkit_iid_writer,
    address: *const u8,
    address_len: usize,
    domain: *const u8,
    domain_len: usize,
    bbox: *const imkit_iid_bbox,
    mask: *const u8,
    mask_len: usize,
    mask_format: i32,
    key: *mut u32,
) -> imkit_status {
    boundary(|| {
        let w = unsafe { handle_mut(writer, "writer") }?;
        let address = unsafe { arg_slice(address, address_len, "address") }?;
        let domain = unsafe { arg_slice(domain, domain_len, "domain") }?;
        let b = unsafe { arg_ref(bbox, "bbox") }?;
        let mask = unsafe { arg_slice(mask, mask_len, "mask") }?;
        let coords = [b.minr, b.minc, b.maxr, b.maxc];
        if coords.iter().any(|&v| v < 0) {
            return Err(
                Error::invalid(format!("bbox {coords:?} has a negative coordinate")).into(),
            );
        }
        let data = match arg_enum::<imkit_iid_mask_format>(mask_format, "mask_format")? {
            imkit_iid_mask_format::Bytes => MaskData::Bytes(mask),
            imkit_iid_mask_format::Packed => MaskData::Packed(mask),
        };
        let k = w
            .writer
            .add(address, domain, coords.map(|v| v as u64), data)?;
        unsafe { write_opt(key, k) };
        Ok(())
    })
}

/// Adds existing entry `key` to group `name` (NUL-terminated UTF-8; may be empty), creating
/// the group after the existing ones if needed.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_writer_add_to_group(
    writer: *mut imkit_iid_writer,
    name: *const c_char,
    key: u32,
) -> imkit_status {
    boundary(|| {
        let w = unsafe { handle_mut(writer, "writer") }?;
        let name = unsafe { arg_str(name, "name") }?;
        Ok(w.writer.add_to_group(name, key)?)
    })
}

/// Sets the meta from NUL-terminated JSON text (Python's dialect accepted); it is stored as
/// Python's `json.dumps` writes it. Invalid JSON gives `IMKIT_STATUS_INVALID_ARG`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_writer_set_meta_json(
    writer: *mut imkit_iid_writer,
    json: *const c_char,
) -> imkit_status {
    boundary(|| {
        let w = unsafe { handle_mut(writer, "writer") }?;
        let text = unsafe { arg_str(json, "json") }?;
        Ok(w.writer.set_meta_json(text)?)
    })
}

/// Stores the number of entries added so far in `*out`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_writer_count(
    writer: *const imkit_iid_writer,
    out: *mut usize,
) -> imkit_status {
    boundary(|| {
        let w = unsafe { handle_ref(writer, "writer") }?;
        *unsafe { arg_out(out, "out") }? = w.writer.len();
        Ok(())
    })
}

/// Writes the file to `path` atomically (temporary file in the same directory, renamed over
/// the target; on any error an existing file is left untouched). The writer stays usable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn imkit_iid_writer_save(
    writer: *const imkit_iid_writer,
    path: *const c_char,
) -> imkit_status {
    boundary(|| {
        let w = unsafe { handle_ref(writer, "writer") }?;
        let path = unsafe { arg_path(path, "path") }?;
        Ok(w.writer.save(path)?)
    })
}
