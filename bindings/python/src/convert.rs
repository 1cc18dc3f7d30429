//! Conversions at the Python boundary: numpy arrays in (read in place) and out (allocated
//! once, or the caller's `out=`), dtypes, and metadata dicts.

use imkit::array::{image_format_of, image_shape};
use imkit::io::{Data, Metadata};
use imkit::{Image, ImageView, PixelFormat, PixelType};
use numpy::npyffi::flags::{NPY_ARRAY_C_CONTIGUOUS, NPY_ARRAY_WRITEABLE};
use numpy::{PyArray1, PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;

use crate::errors::invalid;

/// The `numpy` module (imported once).
pub fn numpy(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static NUMPY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    NUMPY
        .get_or_try_init(py, || py.import("numpy").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// The imkit sample type of a numpy dtype (native byte order assumed).
pub fn pixel_type(py: Python<'_>, descr: &Bound<'_, PyArrayDescr>) -> PyResult<PixelType> {
    let found = match (descr.kind(), descr.itemsize()) {
        (b'u', 1) => Some(PixelType::U8),
        (b'u', 2) => Some(PixelType::U16),
        (b'u', 4) => Some(PixelType::U32),
        (b'u', 8) => Some(PixelType::U64),
        (b'i', 1) => Some(PixelType::I8),
        (b'i', 2) => Some(PixelType::I16),
        (b'i', 4) => Some(PixelType::I32),
        (b'i', 8) => Some(PixelType::I64),
        (b'f', 2) => Some(PixelType::F16),
        (b'f', 4) => Some(PixelType::F32),
        (b'f', 8) => Some(PixelType::F64),
        _ => None,
    };
    found.ok_or_else(|| {
        let name = descr.str().map(|s| s.to_string()).unwrap_or_default();
        imkit_unsupported(
            py,
            format!("dtype {name} is not supported (uint8-64, int8-64, float16/32/64)"),
        )
    })
}

fn imkit_unsupported(py: Python<'_>, msg: String) -> PyErr {
    crate::errors::to_pyerr(py, imkit::Error::unsupported(msg))
}

/// A dtype argument (`None` = `default`): anything `numpy.dtype()` accepts.
pub fn dtype_arg(
    py: Python<'_>,
    dtype: Option<&Bound<'_, PyAny>>,
    default: PixelType,
) -> PyResult<PixelType> {
    match dtype {
        None => Ok(default),
        Some(d) if d.is_none() => Ok(default),
        Some(d) => {
            let descr = numpy(py)?.getattr("dtype")?.call1((d,))?;
            pixel_type(py, descr.cast::<PyArrayDescr>()?)
        }
    }
}

/// How much of an input's layout the core needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Packed pixel rows at any (positive) row stride: every axis but the first contiguous.
    Rows,
    /// The whole array contiguous in C order.
    Contiguous,
}

/// An input array read in place. Arrays that are not numpy arrays, not in native byte order
/// or not laid out as [`Need`] asks are converted once with `numpy.ascontiguousarray` (the
/// one documented copy).
pub struct InArray<'py> {
    array: Bound<'py, PyUntypedArray>,
    dtype: PixelType,
}

impl<'py> InArray<'py> {
    /// Borrows `obj`, converting it once if it is not usable in place.
    pub fn new(obj: &Bound<'py, PyAny>, need: Need) -> PyResult<InArray<'py>> {
        let py = obj.py();
        let np = numpy(py)?;
        let mut array = match obj.cast::<PyUntypedArray>() {
            Ok(a) => a.clone(),
            Err(_) => np
                .call_method1("asarray", (obj,))?
                .cast_into::<PyUntypedArray>()?,
        };
        if array.dtype().is_native_byteorder() == Some(false) {
            let native = array.dtype().call_method1("newbyteorder", ("=",))?;
            array = array
                .call_method1("astype", (native,))?
                .cast_into::<PyUntypedArray>()?;
        }
        let usable = match need {
            Need::Rows => rows_packed(&array),
            Need::Contiguous => array.is_c_contiguous(),
        };
        if !usable {
            array = np
                .call_method1("ascontiguousarray", (array,))?
                .cast_into::<PyUntypedArray>()?;
        }
        let dtype = pixel_type(py, &array.dtype())?;
        Ok(InArray { array, dtype })
    }

    /// `array` read in place as `dtype` samples, when the caller checked that it is
    /// C-contiguous with samples of that size (bool arrays read as uint8, say).
    pub fn in_place_as(array: Bound<'py, PyUntypedArray>, dtype: PixelType) -> InArray<'py> {
        InArray { array, dtype }
    }

    /// The numpy array read (the caller's, or its one converted copy).
    pub fn array(&self) -> &Bound<'py, PyUntypedArray> {
        &self.array
    }

    /// Sample type.
    pub fn dtype(&self) -> PixelType {
        self.dtype
    }

    /// Shape.
    pub fn shape(&self) -> &[usize] {
        self.array.shape()
    }

    /// Bytes from one row to the next (first axis), or the packed row size for 0/1 rows.
    pub fn row_stride(&self) -> usize {
        let row = self.shape().iter().skip(1).product::<usize>() * self.dtype.size();
        match (self.shape().first(), self.array.strides().first()) {
            (Some(&n), Some(&s)) if n > 1 => s as usize,
            _ => row,
        }
    }

    /// The bytes the array spans (rows at their stride; the last row packed).
    pub fn bytes(&self) -> &[u8] {
        let shape = self.shape();
        let row = shape.iter().skip(1).product::<usize>() * self.dtype.size();
        let len = match shape.first() {
            None => self.dtype.size(),
            Some(0) => 0,
            Some(&n) if shape.len() == 1 => n * self.dtype.size(),
            Some(&n) => (n - 1) * self.row_stride() + row,
        };
        if len == 0 {
            return &[];
        }
        // SAFETY: the array is alive as long as `self`, its data spans `len` bytes from
        // `data` (rows checked packed at a positive stride in `new`), and nothing here writes.
        unsafe {
            std::slice::from_raw_parts((*self.array.as_array_ptr()).fields.data as *const u8, len)
        }
    }

    /// The array as an image view: `(h, w)` is one channel, `(h, w, c)` has `c` channels.
    pub fn image_view(&self) -> PyResult<ImageView<'_>> {
        let py = self.array.py();
        let (h, w, c) = match *self.shape() {
            [h, w] => (h, w, 1),
            [h, w, c] => (h, w, c),
            ref s => {
                return Err(invalid(
                    py,
                    format!("expected an image array of shape (h, w) or (h, w, c), got {s:?}"),
                ))
            }
        };
        let format = PixelFormat::new(self.dtype, c).map_err(|e| crate::errors::to_pyerr(py, e))?;
        ImageView::new(self.bytes(), w, h, format, self.row_stride())
            .map_err(|e| crate::errors::to_pyerr(py, e))
    }

    /// True when the shape is an image's in imkit's sense (`(h, w)` or `(h, w, c >= 2)`).
    pub fn is_image(&self) -> bool {
        image_format_of(self.dtype, self.shape()).is_some()
    }
}

/// Whether every axis after the first is C-contiguous and rows advance by a positive stride.
fn rows_packed(array: &Bound<'_, PyUntypedArray>) -> bool {
    let (shape, strides) = (array.shape(), array.strides());
    if shape.len() < 2 {
        return array.is_c_contiguous();
    }
    let item = array.dtype().itemsize() as isize;
    let mut expect = item;
    for k in (1..shape.len()).rev() {
        if shape[k] > 1 && strides[k] != expect {
            return false;
        }
        expect *= shape[k] as isize;
    }
    shape[0] <= 1 || strides[0] >= expect
}

/// A new, uninitialised C-order array of `dtype` and `shape` (`numpy.empty`).
pub fn empty<'py>(
    py: Python<'py>,
    dtype: PixelType,
    shape: &[usize],
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let shape = PyTuple::new(py, shape)?;
    Ok(numpy(py)?
        .call_method1("empty", (shape, dtype.name()))?
        .cast_into::<PyUntypedArray>()?)
}

/// Checks that `out` is a writeable C-contiguous array of exactly `dtype` and `shape`.
pub fn check_out<'py>(
    out: &Bound<'py, PyAny>,
    dtype: PixelType,
    shape: &[usize],
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let py = out.py();
    let array = out
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err("out= must be a numpy.ndarray"))?;
    let flags = unsafe { (*array.as_array_ptr()).fields.flags };
    let mismatch = |what: String| {
        crate::errors::to_pyerr(py, imkit::Error::Mismatch(format!("out= array {what}")))
    };
    let got = pixel_type(py, &array.dtype())?;
    if got != dtype || array.dtype().is_native_byteorder() == Some(false) {
        return Err(mismatch(format!("is {got}, the read gives {dtype}")));
    }
    if array.shape() != shape {
        return Err(mismatch(format!(
            "has shape {:?}, the read gives {shape:?}",
            array.shape()
        )));
    }
    if flags & NPY_ARRAY_C_CONTIGUOUS == 0 || flags & NPY_ARRAY_WRITEABLE == 0 {
        return Err(mismatch("must be C-contiguous and writeable".into()));
    }
    Ok(array.clone())
}

/// The bytes of a C-contiguous array, for writing.
///
/// # Safety
/// `array` must be C-contiguous and writeable (as [`empty`] and [`check_out`] guarantee), and
/// no other reference to its data may be used while the slice lives.
#[allow(clippy::mut_from_ref)] // the data belongs to the Python object, not to the borrow
pub unsafe fn bytes_mut<'a>(
    array: &'a Bound<'_, PyUntypedArray>,
    dtype: PixelType,
) -> &'a mut [u8] {
    let len = array.shape().iter().product::<usize>() * dtype.size();
    if len == 0 {
        return &mut [];
    }
    unsafe { std::slice::from_raw_parts_mut((*array.as_array_ptr()).fields.data as *mut u8, len) }
}

/// Hands `bytes` (packed, native-endian samples) to numpy without copying, as an array of
/// `dtype` and `shape`.
pub fn vec_to_array<'py>(
    py: Python<'py>,
    bytes: Vec<u8>,
    dtype: PixelType,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let flat = PyArray1::<u8>::from_vec(py, bytes);
    flat.call_method1("view", (dtype.name(),))?
        .call_method1("reshape", (PyTuple::new(py, shape)?,))
}

/// An image as a numpy array (`(h, w)` or `(h, w, c)`), without copying its pixels.
pub fn image_to_array(py: Python<'_>, image: Image) -> PyResult<Bound<'_, PyAny>> {
    let f = image.format();
    let shape = image_shape(image.width(), image.height(), f.channels);
    vec_to_array(py, image.into_vec(), f.dtype, &shape)
}

/// Loaded data as a numpy array, without copying.
pub fn data_to_array(py: Python<'_>, data: Data) -> PyResult<Bound<'_, PyAny>> {
    match data {
        Data::Image(image) => image_to_array(py, image),
        Data::Array(array) => {
            let (dtype, shape) = (array.dtype(), array.shape().to_vec());
            vec_to_array(py, array.into_vec(), dtype, &shape)
        }
    }
}

/// A JSON value as a Python object (the non-finite markers become floats).
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => match imkit::io::metadata::as_f64(v) {
            Some(f) => f.into_pyobject(py)?.into_any(),
            None => PyString::new(py, s).into_any(),
        },
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => metadata_to_py(py, map)?.into_any(),
    })
}

/// Metadata as a dict.
pub fn metadata_to_py<'py>(py: Python<'py>, m: &Metadata) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in m {
        dict.set_item(k, json_to_py(py, v)?)?;
    }
    Ok(dict)
}

/// A Python object as a JSON value: dict (str keys), list/tuple, str, int, float, bool, None;
/// numpy scalars and arrays through `.item()` / `.tolist()`.
pub fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(invalid(
            obj.py(),
            format!("metadata integer {obj} does not fit in 64 bits"),
        ));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(imkit::io::metadata::non_finite(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Ok(Value::Object(dict_to_metadata(d)?));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return obj.try_iter()?.map(|item| py_to_json(&item?)).collect();
    }
    if obj.hasattr("tolist")? {
        return py_to_json(&obj.call_method0("tolist")?);
    }
    Err(PyTypeError::new_err(format!(
        "metadata value of type {} is not JSON (dict, list, str, int, float, bool, None)",
        obj.get_type().name()?
    )))
}

fn dict_to_metadata(d: &Bound<'_, PyDict>) -> PyResult<Metadata> {
    let mut map = Metadata::new();
    for (k, v) in d.iter() {
        let key = k
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("metadata key {k} is not a str")))?;
        map.insert(key.to_cow()?.into_owned(), py_to_json(&v)?);
    }
    Ok(map)
}

/// A metadata argument: `None` (empty) or a dict.
pub fn metadata_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Metadata> {
    match obj {
        None => Ok(Metadata::new()),
        Some(o) if o.is_none() => Ok(Metadata::new()),
        Some(o) => dict_to_metadata(
            o.cast::<PyDict>()
                .map_err(|_| PyTypeError::new_err("metadata must be a dict or None"))?,
        ),
    }
}
