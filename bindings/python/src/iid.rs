//! `.iid` segmentation files: `IidFile` (mmap'd reader with indexed queries answering numpy
//! key arrays, masks as bool arrays, meta as a dict) and `IidWriter`.

use std::path::PathBuf;

use imkit::iid::{
    AreaRange, Filter, IidFile as CoreFile, IidWriter as CoreWriter, MaskData, NewEntry, Parts,
    Select, StagedWriter,
};
use numpy::{
    PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyRange, PyRangeMethods, PyString, PyTuple, PyType};

use crate::convert::{numpy, InArray, Need};
use crate::errors::{invalid, CoreResult};

/// The `json` module (imported once): meta is Python's own JSON dialect.
fn json(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static JSON: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    JSON.get_or_try_init(py, || py.import("json").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// A label part (address or domain): `bytes`, or `str` (UTF-8).
fn label(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    obj.extract::<Vec<u8>>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err("addresses and domains are bytes or str")
    })
}

/// One label or a list of labels (`None` = no condition).
fn labels(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<Vec<u8>>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.is_instance_of::<PyString>() || o.is_instance_of::<PyBytes>() => {
            Ok(Some(vec![label(o)?]))
        }
        Some(o) => o
            .try_iter()?
            .map(|l| label(&l?))
            .collect::<PyResult<_>>()
            .map(Some),
    }
}

/// One group name or a list of them.
fn names(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<String>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.is_instance_of::<PyString>() => Ok(Some(vec![o.extract()?])),
        Some(o) => o.extract().map(Some),
    }
}

fn keys_array(py: Python<'_>, keys: Vec<u32>) -> Bound<'_, PyArray1<u32>> {
    PyArray1::from_vec(py, keys)
}

/// A mask as a contiguous byte view (bool arrays are viewed as uint8, not copied).
fn mask_array<'py>(obj: &Bound<'py, PyAny>) -> PyResult<InArray<'py>> {
    let py = obj.py();
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        let d = a.dtype();
        if a.ndim() == 2
            && a.is_c_contiguous()
            && d.itemsize() == 1
            && matches!(d.kind(), b'b' | b'u')
        {
            return Ok(InArray::in_place_as(a.clone(), imkit::PixelType::U8));
        }
    }
    let array = numpy(py)?.call_method1("asarray", (obj,))?;
    let array = if array
        .getattr("dtype")?
        .getattr("kind")?
        .extract::<String>()?
        == "b"
    {
        array.call_method1("view", ("uint8",))?
    } else {
        array
    };
    let mask = InArray::new(&array, Need::Contiguous)?;
    if mask.dtype() != imkit::PixelType::U8 || mask.shape().len() != 2 {
        return Err(invalid(
            py,
            "a mask is a 2-D bool or uint8 array (non-zero = true)",
        ));
    }
    Ok(mask)
}

/// An open `.iid` file (read-only memory map, validated at open). Queries answer numpy
/// ``uint32`` arrays of keys in ascending order and release the GIL; spatial queries use a
/// packed R-tree built on first use. ``f[key]`` is an :class:`IidEntry`. Picklable (reopens
/// the path; files made from bytes travel as bytes).
#[pyclass(module = "imkit", frozen)]
pub struct IidFile {
    file: CoreFile,
    path: Option<PathBuf>,
}

impl IidFile {
    fn select<'a>(
        &self,
        keys: &'a Option<Vec<u64>>,
        groups: &'a [&'a str],
        by_group: bool,
    ) -> Select<'a> {
        match (keys, by_group) {
            (Some(k), _) => Select::Keys(k),
            (None, true) => Select::Groups(groups),
            (None, false) => Select::All,
        }
    }
}

#[pymethods]
impl IidFile {
    /// Opens ``path`` (memory-mapped; the file must not be truncated while open).
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<IidFile> {
        let file = py.detach(|| CoreFile::open(&path)).py(py)?;
        Ok(IidFile {
            file,
            path: Some(path),
        })
    }

    /// A file from its bytes (validated; kept in memory).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: Vec<u8>) -> PyResult<IidFile> {
        let file = py.detach(|| CoreFile::from_bytes(data)).py(py)?;
        Ok(IidFile { file, path: None })
    }

    /// The path the file was opened from (None for files made from bytes).
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    fn __len__(&self) -> usize {
        self.file.len()
    }

    /// The entry ``key`` (its label and segment head; the mask is decoded on demand).
    fn __getitem__(slf: &Bound<'_, Self>, key: u64) -> PyResult<IidEntry> {
        let py = slf.py();
        let f = &slf.get().file;
        let k = f.check_key(key).py(py)?;
        let iid = f.iid(k).py(py)?;
        let seg = f.segment(k).py(py)?;
        Ok(IidEntry {
            file: slf.clone().unbind(),
            key: k,
            address: iid.address.to_vec(),
            domain: iid.domain.to_vec(),
            bbox: (seg.bbox.minr, seg.bbox.minc, seg.bbox.maxr, seg.bbox.maxc),
            area: seg.area,
        })
    }

    /// The entries of ``keys`` (default: all), or of the union of ``groups``, each decoded
    /// and checked, in ascending key order.
    #[pyo3(signature = (keys=None, *, groups=None))]
    fn fetch(
        slf: &Bound<'_, Self>,
        keys: Option<Vec<u64>>,
        groups: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<IidEntry>> {
        let py = slf.py();
        let this = slf.get();
        let group_names = names(groups)?;
        let refs: Vec<&str> = group_names.iter().flatten().map(String::as_str).collect();
        let sel = this.select(&keys, &refs, group_names.is_some());
        let entries = py
            .detach(|| {
                this.file.fetch(sel, Parts::ALL).map(|entries| {
                    entries
                        .into_iter()
                        .filter_map(|e| Some((e.key, e.iid?, e.segment?)))
                        .map(|(key, iid, seg)| {
                            (
                                key,
                                iid.address.to_vec(),
                                iid.domain.to_vec(),
                                seg.bbox,
                                seg.area,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .py(py)?;
        Ok(entries
            .into_iter()
            .map(|(key, address, domain, b, area)| IidEntry {
                file: slf.clone().unbind(),
                key,
                address,
                domain,
                bbox: (b.minr, b.minc, b.maxr, b.maxc),
                area,
            })
            .collect())
    }

    /// Keys whose address is one of ``addresses`` (bytes or str, one or a list), optionally
    /// restricted to ``domains`` and to the union of ``groups``.
    #[pyo3(signature = (addresses, *, domains=None, groups=None))]
    fn look_for<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        domains: Option<&Bound<'py, PyAny>>,
        groups: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let addresses = labels(Some(addresses))?.unwrap_or_default();
        let domains = labels(domains)?;
        let groups = names(groups)?;
        let a: Vec<&[u8]> = addresses.iter().map(Vec::as_slice).collect();
        let d: Option<Vec<&[u8]>> = domains
            .as_ref()
            .map(|d| d.iter().map(Vec::as_slice).collect());
        let g: Option<Vec<&str>> = groups
            .as_ref()
            .map(|g| g.iter().map(String::as_str).collect());
        let keys = py
            .detach(|| self.file.look_for(&a, d.as_deref(), g.as_deref()))
            .py(py)?;
        Ok(keys_array(py, keys))
    }

    /// Keys passing every condition: in one of ``groups``, with one of ``domains``, stored
    /// area within ``min_area``..``max_area`` (inclusive; ``exclusive=True`` for the
    /// reference's strict bounds).
    #[pyo3(signature = (*, groups=None, domains=None, min_area=None, max_area=None, exclusive=false))]
    fn filter<'py>(
        &self,
        py: Python<'py>,
        groups: Option<&Bound<'py, PyAny>>,
        domains: Option<&Bound<'py, PyAny>>,
        min_area: Option<u64>,
        max_area: Option<u64>,
        exclusive: bool,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let domains = labels(domains)?;
        let groups = names(groups)?;
        let d: Option<Vec<&[u8]>> = domains
            .as_ref()
            .map(|d| d.iter().map(Vec::as_slice).collect());
        let g: Option<Vec<&str>> = groups
            .as_ref()
            .map(|g| g.iter().map(String::as_str).collect());
        let area = (min_area.is_some() || max_area.is_some()).then_some(AreaRange {
            min: min_area,
            max: max_area,
            exclusive,
        });
        let filter = Filter {
            groups: g.as_deref(),
            domains: d.as_deref(),
            area,
        };
        let keys = py.detach(|| self.file.filter(&filter)).py(py)?;
        Ok(keys_array(py, keys))
    }

    /// Keys with at least one true pixel in rows ``minr..maxr``, columns ``minc..maxc``
    /// (half-open).
    fn region<'py>(
        &self,
        py: Python<'py>,
        minr: i64,
        minc: i64,
        maxr: i64,
        maxc: i64,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let keys = py
            .detach(|| self.file.region([minr, minc, maxr, maxc]))
            .py(py)?;
        Ok(keys_array(py, keys))
    }

    /// Keys whose mask has pixel (``row``, ``col``) set.
    fn at<'py>(&self, py: Python<'py>, row: i64, col: i64) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let keys = py.detach(|| self.file.at(row, col)).py(py)?;
        Ok(keys_array(py, keys))
    }

    /// The overlap graph over every entry (or ``keys``) as ``OverlapGraph(nodes, edges,
    /// weights)``: ``nodes`` keys (uint32), ``edges`` an ``(n, 2)`` uint32 array of key pairs
    /// ``a < b``, ``weights`` the pixels true in both masks (uint64). Parallel; the result
    /// does not depend on the thread count.
    #[pyo3(signature = (keys=None))]
    fn overlap_graph<'py>(
        &self,
        py: Python<'py>,
        keys: Option<Vec<u64>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        static GRAPH: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let graph = py
            .detach(|| self.file.overlap_graph(keys.as_deref()))
            .py(py)?;
        let pairs: Vec<Vec<u32>> = graph.edges.iter().map(|&(a, b, _)| vec![a, b]).collect();
        let edges = if pairs.is_empty() {
            numpy(py)?.call_method1("zeros", ((0, 2), "uint32"))?
        } else {
            PyArray2::from_vec2(py, &pairs)
                .map_err(|e| invalid(py, e.to_string()))?
                .into_any()
        };
        let weights = PyArray1::from_vec(py, graph.edges.iter().map(|e| e.2).collect());
        GRAPH.import(py, "imkit._types", "OverlapGraph")?.call1((
            keys_array(py, graph.nodes),
            edges,
            weights,
        ))
    }

    /// The reference's ``at(x, y)`` (iidfile 0.2.0): keys with a true pixel in rows
    /// ``y-1..y`` and columns ``x-1..x`` (x is the column). :meth:`at` tests one pixel.
    fn at_compat<'py>(
        &self,
        py: Python<'py>,
        x: i64,
        y: i64,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let keys = py.detach(|| self.file.at_compat(x, y)).py(py)?;
        Ok(keys_array(py, keys))
    }

    /// The stored 8-connected regions of entry ``key``, in file order, as
    /// ``[((minr, minc, maxr, maxc), mask)]`` with absolute boxes and 2-D bool masks.
    fn regions<'py>(
        &self,
        py: Python<'py>,
        key: u64,
    ) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        let k = self.file.check_key(key).py(py)?;
        let seg = self.file.segment(k).py(py)?;
        seg.regions()
            .map(|r| {
                let (h, w) = (r.bbox.height(), r.bbox.width());
                let bits: Vec<bool> = (0..(h * w) as u64)
                    .map(|i| imkit::iid::mask::get_bit(r.bits, i))
                    .collect();
                let mask = PyArray1::from_vec(py, bits).reshape([h, w])?.into_any();
                let b = r.bbox;
                let bbox = (b.minr, b.minc, b.maxr, b.maxc)
                    .into_pyobject(py)?
                    .into_any();
                Ok((bbox, mask))
            })
            .collect()
    }

    /// Groups as ``{name: [keys]}`` with each list in the order stored in the file (the
    /// reference writes a CPython set order), in file order.
    #[getter]
    fn stored_groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for g in self.file.groups() {
            dict.set_item(&g.name, g.stored_keys.clone())?;
        }
        Ok(dict)
    }

    /// The meta section's JSON text, exactly as stored.
    #[getter]
    fn meta_json(&self) -> &str {
        self.file.meta_json()
    }

    /// The mask of entry ``key`` over its box, as a 2-D bool array.
    fn mask<'py>(&self, py: Python<'py>, key: u64) -> PyResult<Bound<'py, PyAny>> {
        let k = self.file.check_key(key).py(py)?;
        let seg = self.file.segment(k).py(py)?;
        let (h, w) = (seg.bbox.height(), seg.bbox.width());
        let out = PyArray2::<bool>::zeros(py, [h, w], false);
        {
            let mut rw = out.readwrite();
            let bools = rw.as_slice_mut().map_err(|e| invalid(py, e.to_string()))?;
            // SAFETY: `bool` and `u8` have the same layout, and the core writes only 0 or 1.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(bools.as_mut_ptr().cast::<u8>(), bools.len())
            };
            py.detach(|| seg.mask_bytes(bytes)).py(py)?;
        }
        Ok(out.into_any())
    }

    /// The file's meta (any JSON value, normally a dict).
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json(py)?.call_method1("loads", (self.file.meta_json(),))
    }

    /// Groups as ``{name: keys}`` (uint32 arrays, ascending), in file order.
    #[getter]
    fn groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for g in self.file.groups() {
            dict.set_item(&g.name, keys_array(py, g.keys.clone()))?;
        }
        Ok(dict)
    }

    /// Names of the groups holding ``key``.
    fn groups_of(&self, py: Python<'_>, key: u64) -> PyResult<Vec<String>> {
        let k = self.file.check_key(key).py(py)?;
        Ok(self
            .file
            .groups_of(k)
            .into_iter()
            .map(str::to_owned)
            .collect())
    }

    /// Decodes and checks every record (raises :class:`imkit.FormatError` on damage).
    fn validate(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.file.validate()).py(py)
    }

    /// The whole file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.file.bytes())
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyAny>,))> {
        let py = slf.py();
        let this = slf.get();
        match &this.path {
            Some(p) => Ok((
                slf.get_type().into_any(),
                (p.clone().into_pyobject(py)?.into_any(),),
            )),
            None => Ok((
                slf.get_type().getattr("from_bytes")?,
                (PyBytes::new(py, this.file.bytes()).into_any(),),
            )),
        }
    }

    fn __repr__(&self) -> String {
        match &self.path {
            Some(p) => format!(
                "imkit.IidFile({:?}, entries={})",
                p.display().to_string(),
                self.file.len()
            ),
            None => format!("imkit.IidFile(<bytes>, entries={})", self.file.len()),
        }
    }
}

/// One entry of an :class:`IidFile`: key, label (``address``, ``domain`` as bytes), ``bbox``
/// ``(minr, minc, maxr, maxc)`` and stored ``area``; ``mask`` decodes the mask.
#[pyclass(module = "imkit", frozen, get_all)]
pub struct IidEntry {
    file: Py<IidFile>,
    key: u32,
    address: Vec<u8>,
    domain: Vec<u8>,
    bbox: (u16, u16, u16, u16),
    area: u32,
}

#[pymethods]
impl IidEntry {
    /// The mask over :attr:`bbox` as a 2-D bool array.
    #[getter]
    fn mask<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.file.get().mask(py, self.key as u64)
    }

    fn __repr__(&self) -> String {
        format!(
            "imkit.IidEntry(key={}, address={:?}, domain={:?}, bbox={:?}, area={})",
            self.key,
            String::from_utf8_lossy(&self.address),
            String::from_utf8_lossy(&self.domain),
            self.bbox,
            self.area
        )
    }
}

/// Builds an ``.iid`` file (byte-compatible with iidfile 0.2.0) and writes it atomically.
#[pyclass(module = "imkit")]
pub struct IidWriter {
    /// The core writer; entries of :meth:`IidWriter.stage` are encoded in the background.
    staged: StagedWriter,
}

impl IidWriter {
    fn wrap(writer: CoreWriter) -> IidWriter {
        IidWriter {
            staged: StagedWriter::new(writer),
        }
    }

    /// Adds the staged entries to the writer (waiting for their background encode); every
    /// method but `stage`, `__len__` and the meta's starts with it, so entries keep their order.
    fn flush(&mut self, py: Python<'_>) -> PyResult<&mut CoreWriter> {
        let staged = &mut self.staged;
        py.detach(|| staged.flush()).py(py)
    }
}

/// iidfile's label rule: bytes, or None for empty.
fn compat_label<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<&'a [u8]> {
    if obj.is_none() {
        return Ok(&[]);
    }
    obj.cast::<PyBytes>().map(|b| b.as_bytes()).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!("'{what}' must be encoded as bytes"))
    })
}

/// iidfile's box: four integers within 0..65535 (as ``int()`` reads them).
fn compat_box(bbox: &Bound<'_, PyAny>) -> PyResult<[i64; 4]> {
    let py = bbox.py();
    let bad = |why: &str| -> PyResult<[i64; 4]> {
        Err(pyo3::exceptions::PyValueError::new_err(format!(
            "bbox must be (minr, minc, maxr, maxc){why}, got {}",
            bbox.str()?
        )))
    };
    // Fast path: a tuple of four ints in range (what callers pass).
    if let Ok(t) = bbox.cast::<PyTuple>() {
        if t.len() == 4 {
            let mut b = [0i64; 4];
            let all = b.iter_mut().enumerate().all(|(i, v)| {
                t.get_borrowed_item(i)
                    .ok()
                    .and_then(|item| item.extract::<i64>().ok())
                    .filter(|x| (0..=imkit::iid::writer::MAX_COORD as i64).contains(x))
                    .map(|x| *v = x)
                    .is_some()
            });
            if all {
                return Ok(b);
            }
        }
    }
    if bbox.len()? != 4 {
        return bad("");
    }
    let mut b = [0i64; 4];
    for (i, v) in b.iter_mut().enumerate() {
        let item = bbox.get_item(i)?;
        *v = match item.extract::<i64>() {
            Ok(v) => v,
            Err(_) => py
                .get_type::<pyo3::types::PyInt>()
                .call1((item,))?
                .extract()?,
        };
    }
    if b.iter()
        .any(|&v| !(0..=imkit::iid::writer::MAX_COORD as i64).contains(&v))
    {
        return bad(" within 0..65535");
    }
    Ok(b)
}

/// The box of a mask: given, or the mask's own size at the origin.
fn entry_box(mask: &InArray<'_>, bbox: Option<(u64, u64, u64, u64)>) -> [u64; 4] {
    match bbox {
        Some((a, b, c, d)) => [a, b, c, d],
        None => [0, 0, mask.shape()[0] as u64, mask.shape()[1] as u64],
    }
}

#[pymethods]
impl IidWriter {
    /// An empty file (no entry, no group, meta ``{}``).
    #[new]
    fn new() -> IidWriter {
        IidWriter::wrap(CoreWriter::new())
    }

    /// A writer holding a copy of every entry, group and the meta of ``file``.
    #[staticmethod]
    fn from_file(py: Python<'_>, file: &Bound<'_, IidFile>) -> PyResult<IidWriter> {
        let f = &file.get().file;
        let writer = py.detach(|| CoreWriter::from_file(f)).py(py)?;
        Ok(IidWriter::wrap(writer))
    }

    fn __len__(&self) -> usize {
        self.staged.len()
    }

    /// Adds an entry as iidfile 0.2.0's ``add(address, domain, bbox, mask)`` takes it and
    /// returns its key: labels bytes or None, ``bbox`` four ints within 0..65535, ``mask``
    /// an array of exactly the box's shape, no side zero (non-zero = true); ValueError
    /// otherwise. The mask is copied now and split, in parallel with the other staged
    /// entries, when the writer is next used.
    fn stage(
        &mut self,
        address: &Bound<'_, PyAny>,
        domain: &Bound<'_, PyAny>,
        bbox: &Bound<'_, PyAny>,
        mask: &Bound<'_, PyAny>,
    ) -> PyResult<u32> {
        let py = mask.py();
        let address = compat_label(address, "iid")?;
        let domain = compat_label(domain, "domain")?;
        let [minr, minc, maxr, maxc] = compat_box(bbox)?;
        let bbox = [minr, minc, maxr, maxc].map(|v| v as u64);
        let (h, w) = ((maxr - minr) as usize, (maxc - minc) as usize);
        // Fast path: a C-contiguous bool/uint8 array of the box's shape is copied as it is.
        if let Ok(a) = mask.cast::<PyUntypedArray>() {
            let d = a.dtype();
            if a.shape() == [h, w]
                && h > 0
                && w > 0
                && d.itemsize() == 1
                && matches!(d.kind(), b'b' | b'u')
                && a.is_c_contiguous()
            {
                // SAFETY: a C-contiguous array of h x w one-byte items spans h * w bytes from
                // its data pointer; it stays alive (borrowed) and is only read here.
                let bytes = unsafe {
                    std::slice::from_raw_parts((*a.as_array_ptr()).fields.data as *const u8, h * w)
                };
                return self.staged.stage(address, domain, bbox, bytes).py(py);
            }
        }
        let mask = match mask.cast::<PyUntypedArray>() {
            Ok(a) => a.clone().into_any(),
            Err(_) => numpy(py)?.call_method1("asarray", (mask,))?,
        };
        let array = mask.cast::<PyUntypedArray>()?;
        if array.shape() != [h, w] || h == 0 || w == 0 {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "Mask shape must match bounding box: mask {}, box ({minr}, {minc}, {maxr}, {maxc})",
                array.getattr("shape")?.str()?
            )));
        }
        let d = array.dtype();
        let mask = if d.itemsize() == 1 && matches!(d.kind(), b'b' | b'u') {
            mask
        } else {
            mask.call_method1("__ne__", (0,))?
        };
        let bits = mask_array(&mask)?;
        self.staged
            .stage(address, domain, bbox, bits.bytes())
            .py(py)
    }

    /// Adds an entry; returns its key. ``mask``: 2-D bool/uint8 array (non-zero = true) over
    /// ``bbox = (minr, minc, maxr, maxc)`` (default: the mask's size at the origin; each value
    /// at most 65535). ``address`` and ``domain``: bytes or str.
    #[pyo3(signature = (address, mask, bbox=None, domain=None))]
    fn add(
        &mut self,
        py: Python<'_>,
        address: &Bound<'_, PyAny>,
        mask: &Bound<'_, PyAny>,
        bbox: Option<(u64, u64, u64, u64)>,
        domain: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u32> {
        let address = label(address)?;
        let domain = domain
            .filter(|d| !d.is_none())
            .map(label)
            .transpose()?
            .unwrap_or_default();
        let mask = mask_array(mask)?;
        let b = entry_box(&mask, bbox);
        let bits = mask.bytes();
        let writer = self.flush(py)?;
        py.detach(|| writer.add(&address, &domain, b, MaskData::Bytes(bits)))
            .py(py)
    }

    /// Adds many entries at once (masks split in parallel), each ``(address, mask)``,
    /// ``(address, mask, bbox)`` or ``(address, mask, bbox, domain)``; returns their keys.
    /// Nothing is added if any entry is wrong.
    fn add_many<'py>(
        &mut self,
        py: Python<'py>,
        entries: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        type Parsed<'py> = (Vec<u8>, InArray<'py>, [u64; 4], Vec<u8>);
        let mut parsed: Vec<Parsed<'py>> = Vec::new();
        for item in entries.try_iter()? {
            let item = item?;
            let fields: Vec<Bound<'py, PyAny>> = match item.cast::<PyTuple>() {
                Ok(t) => t.iter().collect(),
                Err(_) => item.try_iter()?.collect::<PyResult<_>>()?,
            };
            if !(2..=4).contains(&fields.len()) {
                return Err(invalid(py, "an entry is (address, mask[, bbox[, domain]])"));
            }
            let mask = mask_array(&fields[1])?;
            let bbox = match fields.get(2) {
                Some(b) => b.extract::<Option<(u64, u64, u64, u64)>>()?,
                None => None,
            };
            let b = entry_box(&mask, bbox);
            let domain = fields.get(3).map(label).transpose()?.unwrap_or_default();
            parsed.push((label(&fields[0])?, mask, b, domain));
        }
        let new: Vec<NewEntry<'_>> = parsed
            .iter()
            .map(|(address, mask, bbox, domain)| NewEntry {
                address,
                domain,
                bbox: *bbox,
                mask: MaskData::Bytes(mask.bytes()),
            })
            .collect();
        let writer = self.flush(py)?;
        let keys = py.detach(|| writer.add_many(&new)).py(py)?;
        Ok(keys_array(py, keys.collect()))
    }

    /// Sets group ``name`` to exactly ``keys`` in this order (creating it after the existing
    /// groups if needed); :meth:`add_to_group` keeps lists ascending instead.
    fn set_group(&mut self, py: Python<'_>, name: &str, keys: Vec<u32>) -> PyResult<()> {
        self.flush(py)?.set_group(name, &keys).py(py)
    }

    /// Sets the meta from JSON text (Python's dialect), stored as ``json.dumps`` writes it.
    fn set_meta_json(&mut self, py: Python<'_>, text: &str) -> PyResult<()> {
        self.staged.set_meta_json(text).py(py)
    }

    /// Adds an existing key to group ``name`` (created after the existing groups if new).
    fn add_to_group(&mut self, py: Python<'_>, name: &str, key: u32) -> PyResult<()> {
        self.flush(py)?.add_to_group(name, key).py(py)
    }

    /// The meta to write (any JSON value; stored as Python's ``json.dumps`` writes it).
    #[getter]
    fn get_meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json(py)?.call_method1("loads", (self.staged.writer().meta_json(),))
    }

    #[setter]
    fn set_meta(&mut self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let text: String = json(py)?.call_method1("dumps", (value,))?.extract()?;
        self.staged.set_meta_json(&text).py(py)
    }

    /// The file's bytes.
    // `&mut`: staged entries are handed to the writer first.
    #[allow(clippy::wrong_self_convention)]
    fn to_bytes<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let writer = self.flush(py)?;
        let bytes = py.detach(|| writer.to_bytes()).py(py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes the file to ``path`` atomically; returns ``path``.
    fn save(&mut self, py: Python<'_>, path: PathBuf) -> PyResult<PathBuf> {
        let writer = self.flush(py)?;
        py.detach(|| writer.save(&path)).py(py)?;
        Ok(path)
    }
}

/// An entry of `imkit.compat.iidfile` (its ``LookupTableEntry``): ``key``, and ``iid`` /
/// ``seg`` made on first use by the table's ``describe(file, key)``.
#[pyclass(module = "imkit.compat.iidfile", name = "LookupTableEntry", frozen)]
pub struct CompatEntry {
    key: u32,
    table: Py<EntryTable>,
    parts: PyOnceLock<(Py<PyAny>, Py<PyAny>)>,
}

impl CompatEntry {
    /// `(iid, seg)`, described once.
    fn parts(&self, py: Python<'_>) -> PyResult<&(Py<PyAny>, Py<PyAny>)> {
        self.parts.get_or_try_init(py, || {
            let t = self.table.get();
            t.describe
                .call1(py, (t.file.clone_ref(py), self.key))?
                .extract(py)
        })
    }
}

#[pymethods]
impl CompatEntry {
    /// The entry's key.
    #[getter]
    fn key(&self) -> u32 {
        self.key
    }

    /// The label: ``address`` and ``domain``.
    #[getter]
    fn iid(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.parts(py)?.0.clone_ref(py))
    }

    /// The segment: ``bbox``, ``area``, ``mask()``, ``regions()``.
    #[getter]
    fn seg(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.parts(py)?.1.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        format!("LookupTableEntry(key={})", self.key)
    }
}

/// The entries of one file view of `imkit.compat.iidfile`, each made once (on first
/// request, in Rust: no Python object per entry until it is asked for) and then returned as
/// the same object. ``EntryTable(file, describe, count)``.
#[pyclass(module = "imkit", frozen)]
pub struct EntryTable {
    file: Py<PyAny>,
    describe: Py<PyAny>,
    slots: std::sync::Mutex<Vec<Option<Py<CompatEntry>>>>,
}

#[pymethods]
impl EntryTable {
    #[new]
    fn new(file: Py<PyAny>, describe: Py<PyAny>, count: usize) -> EntryTable {
        EntryTable {
            file,
            describe,
            slots: std::sync::Mutex::new(std::iter::repeat_with(|| None).take(count).collect()),
        }
    }

    /// The entries of ``keys`` (valid keys, any iterable of ints), in that order.
    fn entries<'py>(
        slf: &Bound<'py, Self>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        let py = slf.py();
        // The new entries form no reference cycles: the cycle collector pauses meanwhile
        // (otherwise its passes over the young objects cost more than making them).
        let gc = py.import("gc")?;
        let was_enabled = gc.call_method0("isenabled")?.is_truthy()?;
        gc.call_method0("disable")?;
        let made = Self::make(slf, keys);
        if was_enabled {
            gc.call_method0("enable")?;
        }
        made
    }
}

impl EntryTable {
    /// The entries of `keys`, made where missing.
    fn make<'py>(
        slf: &Bound<'py, Self>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        let py = slf.py();
        // Keys first: iterating may run Python code, which must not run under the lock. A
        // `range` (fetching everything) is read without making an int per key.
        let keys = match keys.cast::<PyRange>() {
            Ok(r) if r.step()? == 1 => {
                let bound = |v: isize| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
                (bound(r.start()?)..bound(r.stop()?)).collect()
            }
            _ => keys
                .try_iter()?
                .map(|k| k?.extract::<u32>())
                .collect::<PyResult<Vec<u32>>>()?,
        };
        let mut slots = slf.get().slots.lock().unwrap_or_else(|e| e.into_inner());
        let list = pyo3::types::PyList::empty(py);
        for key in keys {
            let slot = slots.get_mut(key as usize).ok_or_else(|| {
                pyo3::exceptions::PyIndexError::new_err(format!("key {key} out of range"))
            })?;
            let entry = match slot {
                Some(e) => e.clone_ref(py),
                None => {
                    let e = Py::new(
                        py,
                        CompatEntry {
                            key,
                            table: slf.clone().unbind(),
                            parts: PyOnceLock::new(),
                        },
                    )?;
                    *slot = Some(e.clone_ref(py));
                    e
                }
            };
            list.append(entry)?;
        }
        Ok(list)
    }
}
