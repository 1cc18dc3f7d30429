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

/// SHA-256 of `data` as lowercase hex (FIPS 180-4).
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
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
        ("sha256", s(&sha256_hex(file.bytes()))),
        ("header", header),
        ("meta", meta),
        ("meta_raw", s(file.meta_json())),
        ("groups", Value::Array(groups)),
        ("entries", Value::Array(entries)),
    ]);
    Ok(super::pyjson::dumps(&out))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_known_answers() {
        assert_eq!(
            super::sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
