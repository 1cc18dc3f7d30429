//! A canonical JSON view of a whole file, in the schema of the reference vectors
//! (`iidfile-0.2.0-vectors/1`, without `name`, `description`, `build` and `queries`), so a
//! file can be compared with what the reference reader decodes.

use super::format::Loc;
use super::pyjson::Value;
use super::reader::IidFile;
use crate::error::Result;

/// Masks up to this many pixels also get `mask_rows` (as in the vectors).
const MASK_ROWS_MAX_PIXELS: u64 = 4096;

fn s(text: &str) -> Value {
    Value::Str(text.encode_utf16().collect())
}

fn int(n: u64) -> Value {
    Value::Int(n.to_string())
}

fn hex(bytes: &[u8]) -> Value {
    s(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn obj(items: Vec<(&str, Value)>) -> Value {
    Value::Object(
        items
            .into_iter()
            .map(|(k, v)| (k.encode_utf16().collect(), v))
            .collect(),
    )
}

fn loc(l: Loc) -> Value {
    Value::Array(vec![int(l.offset as u64), int(l.len as u64)])
}

fn ints<T: Copy + Into<u64>>(values: &[T]) -> Value {
    Value::Array(values.iter().map(|&v| int(v.into())).collect())
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let v = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[(v >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// The whole file as JSON text (Python's dialect: the meta is embedded as stored, so it
/// may contain `NaN`). Every record is checked on the way.
pub fn dump_json(file: &IidFile) -> Result<String> {
    let h = file.header();
    let header = obj(vec![
        ("version", int(h.version as u64)),
        ("rformat", int(h.rformat as u64)),
        ("lut", loc(h.lut)),
        ("iids", loc(h.iids)),
        ("meta", loc(h.meta)),
        ("groups", loc(h.groups)),
        ("segs", loc(h.segs)),
    ]);
    let meta = super::pyjson::parse(file.meta_json())?;
    let groups = file
        .groups()
        .iter()
        .map(|g| {
            obj(vec![
                ("name", s(&g.name)),
                ("keys", ints(&g.keys)),
                ("stored_keys", ints(&g.stored_keys)),
            ])
        })
        .collect();
    let mut entries = Vec::with_capacity(file.len());
    for key in 0..file.len() as u32 {
        let iid = file.iid(key)?;
        let seg = file.segment(key)?;
        let lut = file.lut(key);
        let regions = seg
            .regions()
            .map(|r| {
                let mut bits = r.bits.to_vec();
                let pixels = r.bbox.pixels();
                if pixels % 8 != 0 {
                    // Padding bits are not part of the mask.
                    if let Some(last) = bits.last_mut() {
                        *last &= 0xffu8 << (8 - pixels % 8);
                    }
                }
                obj(vec![
                    ("bbox", ints(&r.bbox.to_array())),
                    ("area", int(super::mask::count_ones(r.bits, 0, pixels))),
                    ("mask_b64", s(&base64(&bits))),
                ])
            })
            .collect();
        let mut packed = vec![0u8; seg.packed_len() as usize];
        seg.mask_packed(&mut packed)?;
        let mut item = vec![
            ("key", int(key as u64)),
            ("iid_key", int(key as u64)),
            ("seg_key", int(key as u64)),
            ("address_hex", hex(iid.address)),
            (
                "domain_hex",
                if iid.domain.is_empty() {
                    Value::Null
                } else {
                    hex(iid.domain)
                },
            ),
            ("iid_loc", loc(lut.iid)),
            ("seg_loc", loc(lut.seg)),
            ("bbox", ints(&seg.bbox.to_array())),
            ("area", int(seg.area as u64)),
            (
                "groups",
                Value::Array(file.groups_of(key).into_iter().map(s).collect()),
            ),
            ("regions", Value::Array(regions)),
            ("mask_b64", s(&base64(&packed))),
        ];
        if seg.bbox.pixels() <= MASK_ROWS_MAX_PIXELS {
            let m = seg.mask_vec()?;
            let rows = m
                .chunks(seg.bbox.width().max(1))
                .take(seg.bbox.height())
                .map(|r| {
                    s(&r.iter()
                        .map(|&b| if b != 0 { '1' } else { '0' })
                        .collect::<String>())
                })
                .collect();
            item.push(("mask_rows", Value::Array(rows)));
        }
        entries.push(obj(item));
    }
    let out = obj(vec![
        ("schema", s("iidfile-0.2.0-vectors/1")),
        ("file_size", int(file.bytes().len() as u64)),
        ("sha256", s(&crate::digest::sha256_hex(file.bytes()))),
        ("header", header),
        ("meta", meta),
        ("meta_raw", s(file.meta_json())),
        ("groups", Value::Array(groups)),
        ("entries", Value::Array(entries)),
    ]);
    Ok(super::pyjson::dumps(&out))
}
