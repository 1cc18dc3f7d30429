//! NumPy `.npy` files, by hand.
//!
//! Writing produces the same bytes as `numpy.save` for the same array: format version 1.0
//! (2.0 only when the header would not fit in 64 KiB), the header dict with sorted keys, the
//! spare spaces numpy leaves for the first axis to grow, and padding so the data starts at a
//! multiple of 64 bytes. Data is C order, little-endian.
//!
//! Reading accepts versions 1.0, 2.0 and 3.0, every numeric dtype imkit has, either byte order
//! (big-endian data is swapped to native) and Fortran order (transposed to C order). The header
//! is validated strictly, and the file length must equal the data offset plus the data size.
//! [`NpyHeader`] is public so that callers can map the data of a file themselves.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use crate::array::{byte_len, ArrayView, NdArray};
use crate::error::{Error, Result};
use crate::image::ImageView;
use crate::pixel::PixelType;

/// The six bytes every NPY file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy aligns the start of the data to this many bytes.
const ALIGN: usize = 64;
/// NumPy's room for the first axis to grow (`GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_DIGITS: usize = 21;
/// Largest header imkit reads (numpy itself caps it at 10 000 bytes by default).
const MAX_HEADER: usize = 1 << 20;

/// The parsed header of an NPY file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// Sample type.
    pub dtype: PixelType,
    /// Whether the samples on disk are big-endian.
    pub big_endian: bool,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Length of each axis.
    pub shape: Vec<usize>,
    /// Byte offset of the first sample in the file.
    pub data_offset: usize,
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::format(format!("invalid NPY file: {msg}"))
}

/// The dtype descriptor numpy writes for a native little-endian `dtype` (`<f4`, `|u1`, ...).
pub fn descr(dtype: PixelType) -> &'static str {
    match dtype {
        PixelType::U8 => "|u1",
        PixelType::I8 => "|i1",
        PixelType::U16 => "<u2",
        PixelType::I16 => "<i2",
        PixelType::F16 => "<f2",
        PixelType::U32 => "<u4",
        PixelType::I32 => "<i4",
        PixelType::F32 => "<f4",
        PixelType::U64 => "<u8",
        PixelType::I64 => "<i8",
        PixelType::F64 => "<f8",
    }
}

/// Parses a dtype descriptor into (type, big-endian).
fn parse_descr(text: &str) -> Result<(PixelType, bool)> {
    let mut chars = text.chars();
    let order = chars.next().ok_or_else(|| bad("empty dtype descriptor"))?;
    let kind = chars.as_str();
    let dtype = match kind {
        "u1" | "B" => PixelType::U8,
        "i1" | "b" => PixelType::I8,
        "u2" => PixelType::U16,
        "i2" => PixelType::I16,
        "f2" => PixelType::F16,
        "u4" => PixelType::U32,
        "i4" => PixelType::I32,
        "f4" => PixelType::F32,
        "u8" => PixelType::U64,
        "i8" => PixelType::I64,
        "f8" => PixelType::F64,
        _ => {
            return Err(Error::unsupported(format!(
                "NPY dtype '{text}' is not supported (imkit reads unsigned/signed integers of \
                 8-64 bits and float16/32/64)"
            )))
        }
    };
    let big_endian = match order {
        '<' | '|' => false,
        '>' => true,
        '=' => cfg!(target_endian = "big"),
        _ => {
            return Err(bad(format!(
                "dtype descriptor '{text}' has no byte-order mark"
            )))
        }
    };
    // Single-byte types have no byte order.
    Ok((dtype, big_endian && dtype.size() > 1))
}

/// A tiny reader for the Python-literal dict numpy writes.
struct Lit<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lit<'a> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(bad(format!(
                "header: expected '{}' at byte {}",
                c as char, self.pos
            )))
        }
    }
    fn string(&mut self) -> Result<&'a str> {
        let quote = self.peek().ok_or_else(|| bad("header ends early"))?;
        if quote != b'\'' && quote != b'"' {
            return Err(bad(format!(
                "header: expected a string at byte {}",
                self.pos
            )));
        }
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos] != quote {
            if self.s[self.pos] == b'\\' {
                return Err(bad("header: escapes in strings are not supported"));
            }
            self.pos += 1;
        }
        if self.pos >= self.s.len() {
            return Err(bad("header: unterminated string"));
        }
        let text = std::str::from_utf8(&self.s[start..self.pos])
            .map_err(|_| bad("header: string is not UTF-8"))?;
        self.pos += 1;
        Ok(text)
    }
    fn word(&mut self) -> &'a [u8] {
        self.ws();
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_alphanumeric() {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }
    fn boolean(&mut self) -> Result<bool> {
        match self.word() {
            b"True" => Ok(true),
            b"False" => Ok(false),
            _ => Err(bad("header: fortran_order must be True or False")),
        }
    }
    fn shape(&mut self) -> Result<Vec<usize>> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        let mut comma_after_last = false;
        loop {
            if self.eat(b')') {
                break;
            }
            let digits = self.word();
            let text = std::str::from_utf8(digits).unwrap_or("");
            let text = text.strip_suffix('L').unwrap_or(text);
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(
                    "header: shape must be a tuple of non-negative integers",
                ));
            }
            dims.push(
                text.parse::<usize>()
                    .map_err(|_| bad(format!("header: axis length {text} is too large")))?,
            );
            comma_after_last = self.eat(b',');
            if !comma_after_last {
                self.expect(b')')?;
                break;
            }
        }
        if dims.len() == 1 && !comma_after_last {
            // `(5)` is not a tuple in Python; numpy never writes it.
            return Err(bad(
                "header: a one-axis shape needs a trailing comma, as in (5,)",
            ));
        }
        Ok(dims)
    }
}

impl NpyHeader {
    /// Parses the header at the start of `bytes`, which must hold at least the whole header
    /// (the first [`NpyHeader::MIN_PREFIX`] bytes tell its length).
    pub fn parse(bytes: &[u8]) -> Result<NpyHeader> {
        if bytes.len() < 10 || &bytes[..6] != MAGIC {
            return Err(bad("missing the \\x93NUMPY magic"));
        }
        let version = (bytes[6], bytes[7]);
        let (len, start) = match version.0 {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 => {
                if bytes.len() < 12 {
                    return Err(bad("file ends inside the header length"));
                }
                let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
                (usize::try_from(n).map_err(|_| bad("header too large"))?, 12)
            }
            v => {
                return Err(Error::unsupported(format!(
                    "NPY format version {v}.{} is not supported (1.0-3.0 are)",
                    version.1
                )))
            }
        };
        if len > MAX_HEADER {
            return Err(bad(format!("header of {len} bytes is implausibly large")));
        }
        let end = start + len;
        if bytes.len() < end {
            return Err(bad(format!(
                "file ends inside the header ({} of {end} bytes)",
                bytes.len()
            )));
        }
        let text = &bytes[start..end];
        if version.0 < 3 && !text.is_ascii() {
            return Err(bad("header is not ASCII"));
        }
        if text.last() != Some(&b'\n') {
            return Err(bad("header does not end with a newline"));
        }
        let mut lit = Lit { s: text, pos: 0 };
        lit.expect(b'{')?;
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        loop {
            if lit.eat(b'}') {
                break;
            }
            let key = lit.string()?;
            lit.expect(b':')?;
            let duplicate = match key {
                "descr" => descr.replace(lit.string()?).is_some(),
                "fortran_order" => fortran.replace(lit.boolean()?).is_some(),
                "shape" => shape.replace(lit.shape()?).is_some(),
                other => return Err(bad(format!("header has an unknown key '{other}'"))),
            };
            if duplicate {
                return Err(bad(format!("header repeats the key '{key}'")));
            }
            if !lit.eat(b',') {
                lit.expect(b'}')?;
                break;
            }
        }
        if lit.peek().is_some() {
            return Err(bad("header has text after the closing brace"));
        }
        let descr = descr.ok_or_else(|| bad("header lacks 'descr'"))?;
        let (dtype, big_endian) = parse_descr(descr)?;
        let header = NpyHeader {
            version,
            dtype,
            big_endian,
            fortran_order: fortran.ok_or_else(|| bad("header lacks 'fortran_order'"))?,
            shape: shape.ok_or_else(|| bad("header lacks 'shape'"))?,
            data_offset: end,
        };
        header.data_len()?;
        Ok(header)
    }

    /// Bytes needed to learn the header's length (magic, version and length field).
    pub const MIN_PREFIX: usize = 12;

    /// Reads and parses the header from the start of `input`, leaving it at the data.
    pub fn read_from(input: &mut impl Read) -> Result<NpyHeader> {
        let mut prefix = [0u8; 10];
        read_exact(input, &mut prefix)?;
        if &prefix[..6] != MAGIC {
            return Err(bad("missing the \\x93NUMPY magic"));
        }
        let mut bytes = prefix.to_vec();
        let len = if prefix[6] == 1 {
            u16::from_le_bytes([prefix[8], prefix[9]]) as usize
        } else {
            let mut more = [0u8; 2];
            read_exact(input, &mut more)?;
            bytes.extend_from_slice(&more);
            u32::from_le_bytes([prefix[8], prefix[9], more[0], more[1]]) as usize
        };
        if len > MAX_HEADER {
            return Err(bad(format!("header of {len} bytes is implausibly large")));
        }
        let start = bytes.len();
        bytes.resize(start + len, 0);
        read_exact(input, &mut bytes[start..])?;
        NpyHeader::parse(&bytes)
    }

    /// Size of the data in bytes, checked for overflow.
    pub fn data_len(&self) -> Result<usize> {
        byte_len(self.dtype, &self.shape).map_err(|_| bad("shape is too large"))
    }

    /// The header bytes `numpy.save` writes for a C-order little-endian array.
    pub fn encode(dtype: PixelType, shape: &[usize]) -> Vec<u8> {
        let shape_text = match shape {
            [] => "()".to_string(),
            [n] => format!("({n},)"),
            dims => format!(
                "({})",
                dims.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut dict = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
            descr(dtype)
        );
        if let Some(first) = shape.first() {
            let digits = first.to_string().len();
            dict.push_str(&" ".repeat(GROWTH_DIGITS.saturating_sub(digits)));
        }
        let hlen = dict.len() + 1;
        let wrap = |field: usize| {
            let pad = ALIGN - (MAGIC.len() + 2 + field + hlen) % ALIGN;
            (pad, hlen + pad)
        };
        let (version, pad, total) = match wrap(2) {
            (pad, total) if total <= u16::MAX as usize => (1u8, pad, total),
            _ => {
                let (pad, total) = wrap(4);
                (2u8, pad, total)
            }
        };
        let mut out = Vec::with_capacity(MAGIC.len() + 6 + total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(total as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(total as u32).to_le_bytes());
        }
        out.extend_from_slice(dict.as_bytes());
        out.resize(out.len() + pad, b' ');
        out.push(b'\n');
        out
    }
}

fn read_exact(input: &mut impl Read, buf: &mut [u8]) -> Result<()> {
    input.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            bad("file ends inside the header")
        } else {
            Error::io("NPY file", e)
        }
    })
}

/// Swaps the bytes of every sample in place when the file's byte order is not the machine's.
fn swap_to_native(header: &NpyHeader, data: &mut [u8]) {
    let size = header.dtype.size();
    if header.big_endian == cfg!(target_endian = "little") && size > 1 {
        for sample in data.chunks_exact_mut(size) {
            sample.reverse();
        }
    }
}

/// Converts samples as stored (byte order, axis order) into a C-order native array.
fn normalise(header: &NpyHeader, mut data: Vec<u8>) -> Result<NdArray> {
    let size = header.dtype.size();
    swap_to_native(header, &mut data);
    if header.fortran_order && header.shape.len() > 1 {
        data = fortran_to_c(&data, &header.shape, size)?;
    }
    NdArray::from_vec(header.dtype, &header.shape, data)
}

/// Reorders Fortran-order samples (first axis fastest) into C order (last axis fastest).
fn fortran_to_c(data: &[u8], shape: &[usize], size: usize) -> Result<Vec<u8>> {
    let mut out = crate::limits::zeroed(data.len(), "the C-order copy of a Fortran array")?;
    let count = data.len() / size.max(1);
    // Fortran strides in elements.
    let mut f_strides = vec![1usize; shape.len()];
    for i in 1..shape.len() {
        f_strides[i] = f_strides[i - 1] * shape[i - 1];
    }
    let mut index = vec![0usize; shape.len()];
    for c in 0..count {
        let f: usize = index.iter().zip(&f_strides).map(|(i, s)| i * s).sum();
        out[c * size..(c + 1) * size].copy_from_slice(&data[f * size..(f + 1) * size]);
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(out)
}

/// Decodes a whole NPY file held in memory.
pub fn decode(bytes: &[u8]) -> Result<NdArray> {
    let header = NpyHeader::parse(bytes)?;
    let len = header.data_len()?;
    let have = bytes.len() - header.data_offset;
    if have != len {
        return Err(bad(format!(
            "shape {:?} of {} needs {len} data bytes, the file has {have}",
            header.shape, header.dtype
        )));
    }
    normalise(&header, bytes[header.data_offset..].to_vec())
}

/// Reads the header of an NPY file.
pub fn probe(path: &Path) -> Result<NpyHeader> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    NpyHeader::read_from(&mut file).map_err(|e| name_error(path, e))
}

fn name_error(path: &Path, e: Error) -> Error {
    match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        Error::Unsupported(m) => Error::Unsupported(format!("{}: {m}", path.display())),
        Error::Io { source, .. } => Error::io(path, source),
        other => other,
    }
}

/// An NPY file whose header was read and checked against the file's size (and the pixel
/// limit), ready to read its samples into a buffer the caller allocated (a numpy array, say).
pub struct NpyFile {
    file: File,
    path: std::path::PathBuf,
    header: NpyHeader,
}

impl NpyFile {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<NpyFile> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let header = NpyHeader::read_from(&mut file).map_err(|e| name_error(path, e))?;
        let len = header.data_len()?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let have = file_len.saturating_sub(header.data_offset as u64);
        if have != len as u64 {
            return Err(name_error(
                path,
                bad(format!(
                    "shape {:?} of {} needs {len} data bytes, the file has {have}",
                    header.shape, header.dtype
                )),
            ));
        }
        let what = format!(
            "{}: the NPY array of shape {:?}",
            path.display(),
            header.shape
        );
        crate::limits::check_samples(&what, (len / header.dtype.size()) as u64)?;
        Ok(NpyFile {
            file,
            path: path.to_path_buf(),
            header,
        })
    }

    /// The header: sample type, shape, byte and axis order.
    pub fn header(&self) -> &NpyHeader {
        &self.header
    }

    /// Reads the samples into `out` (exactly [`NpyHeader::data_len`] bytes) in C order and
    /// native byte order: one read straight into `out` (plus an in-place byte swap for
    /// foreign byte order, a reordering copy for Fortran order).
    pub fn read_into(mut self, out: &mut [u8]) -> Result<()> {
        let len = self.header.data_len()?;
        if out.len() != len {
            return Err(Error::BufferTooSmall(format!(
                "{}: the samples take {len} bytes, the buffer holds {}",
                self.path.display(),
                out.len()
            )));
        }
        if self.header.fortran_order && self.header.shape.len() > 1 {
            let array = self.read()?;
            out.copy_from_slice(array.data());
            return Ok(());
        }
        self.read_samples(out)?;
        swap_to_native(&self.header, out);
        Ok(())
    }

    /// Reads the samples as stored into `out`: big arrays in parallel pieces on the library
    /// pool (the kernel's copies and the first touch of fresh pages then run on every core).
    #[cfg(unix)]
    fn read_samples(&mut self, out: &mut [u8]) -> Result<()> {
        use rayon::prelude::*;
        use std::os::unix::fs::FileExt;
        const PIECE: usize = 4 << 20;
        let (file, offset) = (&self.file, self.header.data_offset as u64);
        crate::threads::install(|| {
            out.par_chunks_mut(PIECE)
                .enumerate()
                .try_for_each(|(i, piece)| file.read_exact_at(piece, offset + (i * PIECE) as u64))
        })?
        .map_err(|e| self.read_error(e))
    }

    #[cfg(not(unix))]
    fn read_samples(&mut self, out: &mut [u8]) -> Result<()> {
        self.file.read_exact(out).map_err(|e| self.read_error(e))
    }

    fn read_error(&self, e: std::io::Error) -> Error {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                name_error(&self.path, bad("the file shrank while being read"))
            }
            _ => Error::io(&self.path, e),
        }
    }

    /// Reads the samples into a new array, the way [`NpyFile::read_into`] fills a caller's
    /// buffer: the allocator's zero pages (nothing written before the read) filled by
    /// parallel pieces, so the kernel's copies and the first touch of the pages run on every
    /// core.
    pub fn read(mut self) -> Result<NdArray> {
        let len = self.header.data_len()?;
        let what = format!("{}: the NPY array", self.path.display());
        let mut data = crate::buffer::zeroed(len, &what)?;
        self.read_samples(&mut data)?;
        normalise(&self.header, data).map_err(|e| name_error(&self.path, e))
    }
}

/// Reads a whole NPY file.
pub fn read_file(path: &Path) -> Result<NdArray> {
    NpyFile::open(path)?.read()
}

/// The length of the NPY file of a `dtype` array of `shape`: header and samples.
fn file_len(dtype: PixelType, shape: &[usize]) -> u64 {
    let samples: u64 = shape.iter().map(|&n| n as u64).product();
    NpyHeader::encode(dtype, shape).len() as u64 + samples * dtype.size() as u64
}

/// Writes an image as an NPY file, atomically, straight from the caller's rows (no copy of
/// the pixels on little-endian machines: a packed view is one write, a strided one a write
/// per row). Shape `(h, w)` for one channel, `(h, w, c)` otherwise, as
/// [`NdArray::from_image`].
pub fn write_image(path: &Path, image: &ImageView<'_>) -> Result<()> {
    let mut file = super::atomic::AtomicFile::create(path)?;
    let format = image.format();
    let shape = crate::array::image_shape(image.width(), image.height(), format.channels);
    file.reserve(file_len(format.dtype, &shape));
    write_slices_to(&mut file, std::slice::from_ref(image), false)
        .map_err(|e| Error::io(path, e))?;
    file.commit()
}

/// Encodes images of one size and layout as NPY bytes in memory: one image as `(h, w[, c])`,
/// or with `volume` the slices as `(d, h, w[, c])` (one channel has no channel axis).
pub fn encode_slices(slices: &[ImageView<'_>], volume: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_slices_to(&mut out, slices, volume).map_err(|e| Error::io("NPY", e))?;
    Ok(out)
}

/// Writes the header and the samples (little-endian) of `slices`; see [`encode_slices`].
fn write_slices_to(
    out: &mut impl Write,
    slices: &[ImageView<'_>],
    volume: bool,
) -> std::io::Result<()> {
    let Some(first) = slices.first() else {
        return Err(std::io::Error::other("no slice to write"));
    };
    let format = first.format();
    if slices
        .iter()
        .any(|s| (s.width(), s.height(), s.format()) != (first.width(), first.height(), format))
        || (!volume && slices.len() != 1)
    {
        return Err(std::io::Error::other("the slices differ in size or layout"));
    }
    let mut shape = crate::array::image_shape(first.width(), first.height(), format.channels);
    if volume {
        shape.insert(0, slices.len());
    }
    out.write_all(&NpyHeader::encode(format.dtype, &shape))?;
    let swap = cfg!(target_endian = "big") && format.dtype.size() > 1;
    for image in slices {
        match image.packed_data() {
            Some(data) if !swap => out.write_all(data)?,
            _ if !swap => {
                for y in 0..image.height() {
                    out.write_all(image.row(y))?;
                }
            }
            _ => {
                for y in 0..image.height() {
                    let mut row = image.row(y).to_vec();
                    row.chunks_exact_mut(format.dtype.size())
                        .for_each(<[u8]>::reverse);
                    out.write_all(&row)?;
                }
            }
        }
    }
    Ok(())
}

/// Encodes an array as NPY bytes (header and data), exactly as `numpy.save` would.
pub fn write_to<'a>(out: &mut impl Write, array: impl Into<ArrayView<'a>>) -> std::io::Result<()> {
    let array = array.into();
    out.write_all(&NpyHeader::encode(array.dtype(), array.shape()))?;
    if cfg!(target_endian = "little") || array.dtype().size() == 1 {
        out.write_all(array.data())
    } else {
        let mut swapped = array.data().to_vec();
        for sample in swapped.chunks_exact_mut(array.dtype().size()) {
            sample.reverse();
        }
        out.write_all(&swapped)
    }
}

/// Writes an array as an NPY file, atomically.
pub fn write_file<'a>(path: &Path, array: impl Into<ArrayView<'a>>) -> Result<()> {
    let array = array.into();
    let mut file = super::atomic::AtomicFile::create(path)?;
    file.reserve(file_len(array.dtype(), array.shape()));
    write_to(&mut file, array).map_err(|e| Error::io(path, e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_write_from_the_callers_rows_as_arrays_do() {
        let format = crate::pixel::PixelFormat::new(PixelType::U16, 3).unwrap();
        let mut img = crate::Image::new(9, 7, format).unwrap();
        for (i, b) in img.data_mut().iter_mut().enumerate() {
            *b = (i * 31 % 256) as u8;
        }
        let dir = std::env::temp_dir().join(format!("imkit-npy-view-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let strided = img.view().crop(crate::Rect::from_xywh(2, 1, 5, 4)).unwrap();
        for (name, view) in [("packed", img.view()), ("strided", strided)] {
            let (a, b) = (
                dir.join(format!("{name}_a.npy")),
                dir.join(format!("{name}_b.npy")),
            );
            write_image(&a, &view).unwrap();
            write_file(&b, &NdArray::from_image(&view)).unwrap();
            assert_eq!(
                std::fs::read(&a).unwrap(),
                std::fs::read(&b).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn header_matches_numpy_layout() {
        let h = NpyHeader::encode(PixelType::F64, &[3, 4]);
        assert_eq!(h.len(), 128);
        assert_eq!(&h[..10], b"\x93NUMPY\x01\x00v\x00");
        assert!(h[10..].starts_with(b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"));
        assert_eq!(*h.last().unwrap(), b'\n');
        let scalar = NpyHeader::encode(PixelType::I16, &[]);
        assert!(
            scalar[10..].starts_with(b"{'descr': '<i2', 'fortran_order': False, 'shape': (), }")
        );
        assert_eq!(scalar.len() % 64, 0);
    }

    #[test]
    fn read_into_fills_a_callers_buffer_in_pieces() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/npy-read-into");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.npy");
        // 4.5 MB: more than one parallel piece, the last one short.
        let data: Vec<u8> = (0..1100 * 1024 * 4).map(|i| (i * 7 % 251) as u8).collect();
        let arr = NdArray::from_vec(PixelType::U16, &[1100, 1024, 2], data).unwrap();
        write_file(&path, &arr).unwrap();
        let file = NpyFile::open(&path).unwrap();
        assert_eq!(file.header().shape, vec![1100, 1024, 2]);
        let mut out = vec![0u8; arr.data().len()];
        file.read_into(&mut out).unwrap();
        assert_eq!(out, arr.data());
        let mut short = vec![0u8; 10];
        let err = NpyFile::open(&path).unwrap().read_into(&mut short);
        assert!(matches!(err, Err(Error::BufferTooSmall(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trip_and_parse() {
        let arr = NdArray::from_vec(PixelType::U16, &[2, 3], (0..12).collect()).unwrap();
        let mut bytes = Vec::new();
        write_to(&mut bytes, &arr).unwrap();
        let header = NpyHeader::parse(&bytes).unwrap();
        assert_eq!(header.shape, vec![2, 3]);
        assert_eq!(header.data_offset, 128);
        assert_eq!(decode(&bytes).unwrap(), arr);
    }

    #[test]
    fn big_endian_and_fortran_are_normalised() {
        let text = "{'descr': '>u2', 'fortran_order': True, 'shape': (2, 3), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let mut dict = text.to_string();
        while (10 + dict.len() + 1) % 64 != 0 {
            dict.push(' ');
        }
        dict.push('\n');
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        // Fortran order of [[0,1,2],[3,4,5]] is 0,3,1,4,2,5.
        for v in [0u16, 3, 1, 4, 2, 5] {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        let arr = decode(&bytes).unwrap();
        let values: Vec<u16> = arr
            .data()
            .chunks_exact(2)
            .map(|c| u16::from_ne_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(values, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn bad_headers_are_rejected() {
        let good = NpyHeader::encode(PixelType::U8, &[4]);
        let mut full = good.clone();
        full.extend_from_slice(&[1, 2, 3, 4]);
        assert!(decode(&full).is_ok());
        assert!(decode(&full[..full.len() - 1]).is_err(), "short data");
        let mut long = full.clone();
        long.push(0);
        assert!(decode(&long).is_err(), "trailing data");
        assert!(decode(&full[..20]).is_err(), "truncated header");
        fn replace(hay: &[u8], from: &str, to: &str) -> Vec<u8> {
            let at = hay
                .windows(from.len())
                .position(|w| w == from.as_bytes())
                .expect("pattern present");
            [&hay[..at], to.as_bytes(), &hay[at + from.len()..]].concat()
        }
        for (from, to) in [
            ("'|u1'", "'|b1'"),
            ("(4,)", "(4) "),
            ("False", "Maybe"),
            ("'shape'", "'shapf'"),
            ("}", ","),
        ] {
            assert!(decode(&replace(&full, from, to)).is_err(), "{from} -> {to}");
        }
        let huge = NpyHeader::encode(PixelType::U16, &[usize::MAX / 2, 3]);
        assert!(NpyHeader::parse(&huge).is_err(), "overflowing shape");
    }
}
