//! JSON metadata and its sidecar file (`<stem>.json` beside the image, immetaio's layout).
//!
//! Metadata is a JSON object whose key order is kept. Reading accepts standard JSON plus
//! Python's `NaN`, `Infinity` and `-Infinity` tokens (what `json.dump` writes by default).
//! A JSON value cannot hold a non-finite number, so such a token is kept as a marker string
//! (see [`non_finite`] and [`as_f64`]). Writing produces standard JSON: a marker is an error
//! unless the caller allows Python's tokens, in which case they are written back as tokens.
//! Output is UTF-8, four-space indented, with a final newline.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Metadata: a JSON object with its key order preserved.
pub type Metadata = Map<String, Value>;

/// Marker strings standing for the non-finite numbers, in the order NaN, +inf, -inf.
const MARKERS: [(&str, &str); 3] = [
    ("\u{0}NaN", "NaN"),
    ("\u{0}Infinity", "Infinity"),
    ("\u{0}-Infinity", "-Infinity"),
];

/// The value imkit uses for a non-finite number (NaN, +inf or -inf); finite numbers give a
/// plain JSON number.
pub fn non_finite(v: f64) -> Value {
    if v.is_nan() {
        Value::String(MARKERS[0].0.into())
    } else if v == f64::INFINITY {
        Value::String(MARKERS[1].0.into())
    } else if v == f64::NEG_INFINITY {
        Value::String(MARKERS[2].0.into())
    } else {
        Value::from(v)
    }
}

/// The number a value holds, including the non-finite markers; `None` for non-numbers.
pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == MARKERS[0].0 => Some(f64::NAN),
        Value::String(s) if s == MARKERS[1].0 => Some(f64::INFINITY),
        Value::String(s) if s == MARKERS[2].0 => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Replaces Python's non-finite tokens outside strings by marker strings.
fn replace_python_tokens(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    let mut plain_from = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        // Byte-wise: `i` may sit inside a multi-byte character outside strings (invalid
        // JSON, which serde then reports), so `text[i..]` could panic.
        let rest = &bytes[i..];
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t.as_bytes()));
        if let Some(token) = token {
            out.push_str(&text[plain_from..i]);
            let marker = MARKERS.iter().find(|(_, t)| *t == token).expect("known").0;
            out.push_str(&serde_json::to_string(marker).expect("string serialises"));
            i += token.len();
            plain_from = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[plain_from..]);
    out
}

/// Parses metadata text: a JSON object, Python's `NaN`/`Infinity` tokens accepted.
pub fn parse(text: &str) -> Result<Metadata> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(&replace_python_tokens(text))
        .map_err(|e| Error::format(format!("metadata is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Error::format(format!(
            "metadata must be a JSON object, got {}",
            kind(&other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The path of the first non-finite marker inside `v`, if any.
fn find_non_finite(v: &Value, at: &str) -> Option<(String, &'static str)> {
    match v {
        Value::String(s) => MARKERS
            .iter()
            .find(|(m, _)| m == s)
            .map(|(_, t)| (at.to_string(), *t)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_non_finite(x, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            find_non_finite(x, &path)
        }),
        _ => None,
    }
}

/// Serialises metadata as pretty JSON text (four-space indent, final newline). Non-finite
/// numbers are an error unless `python_tokens` is true, which writes `NaN` / `Infinity` /
/// `-Infinity` as Python's `json` module does (not standard JSON).
pub fn to_text(metadata: &Metadata, python_tokens: bool) -> Result<String> {
    let found = find_non_finite(&Value::Object(metadata.clone()), "");
    if let (Some((key, token)), false) = (&found, python_tokens) {
        return Err(Error::invalid(format!(
            "metadata `{key}` is {token}, which standard JSON cannot represent (allow Python's \
             NaN/Infinity tokens to write it anyway)"
        )));
    }
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    metadata
        .serialize(&mut ser)
        .map_err(|e| Error::invalid(format!("metadata cannot be serialised: {e}")))?;
    let mut text = String::from_utf8(out).map_err(|e| Error::Internal(e.to_string()))?;
    if found.is_some() {
        for (marker, token) in MARKERS {
            let quoted = serde_json::to_string(marker).expect("string serialises");
            text = text.replace(&quoted, token);
        }
    }
    text.push('\n');
    Ok(text)
}

/// The sidecar path of an image file: its extension replaced by `.json` (`a/x.png` →
/// `a/x.json`), immetaio's layout.
pub fn sidecar_path(image_path: &Path) -> PathBuf {
    image_path.with_extension("json")
}

/// Reads a metadata file. A missing file is an I/O error (see [`read_sidecar`]).
pub fn read_file(path: &Path) -> Result<Metadata> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::format(format!("{}: metadata is not UTF-8", path.display())))?;
    parse(text).map_err(|e| match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Writes a metadata file atomically.
pub fn write_file(path: &Path, metadata: &Metadata, python_tokens: bool) -> Result<()> {
    crate::codec::atomic::write_bytes(path, to_text(metadata, python_tokens)?.as_bytes())
}

/// The metadata of an image file: its sidecar's content, or empty metadata when it has none.
pub fn read_sidecar(image_path: &Path) -> Result<Metadata> {
    let path = sidecar_path(image_path);
    match std::fs::metadata(&path) {
        Ok(_) => read_file(&path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Metadata::new()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Merges the metadata of several images into one object of lists: every key that any image
/// has (first-seen order) maps to a list with one entry per image, `null` where an image lacks
/// the key, so `merged[key][i]` always belongs to image `i`.
pub fn merge(all: &[Metadata]) -> Metadata {
    let mut merged = Metadata::new();
    for meta in all {
        for key in meta.keys() {
            if !merged.contains_key(key) {
                merged.insert(key.clone(), Value::Array(Vec::with_capacity(all.len())));
            }
        }
    }
    for (key, list) in merged.iter_mut() {
        let list = list.as_array_mut().expect("built as arrays");
        list.extend(
            all.iter()
                .map(|m| m.get(key).cloned().unwrap_or(Value::Null)),
        );
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzz target sidecar_json: a multi-byte character outside a string made the
    /// token scan slice inside it and panic.
    #[test]
    fn non_ascii_outside_strings_is_a_format_error_not_a_panic() {
        let err = parse("{\"a\": NaN, \u{feff}\"b\": Infini").unwrap_err();
        assert!(matches!(err, Error::Format(_)), "{err}");
        assert!(parse("{\"a\": \u{e9}NaN}").is_err());
    }

    /// Found by fuzz target sidecar_json: without exact float parsing a long number read
    /// back from written metadata came out as another float (it was read as 1.8446744073709653e55,
    /// not Python's 1.8446744073709656e55, and read back as 1.844674407370965e55).
    #[test]
    fn numbers_survive_write_and_read_exactly() {
        let text = r#"{"big": 18446744073709655492233720365547758049223372036554775808}"#;
        let once = to_text(&parse(text).unwrap(), true).unwrap();
        let twice = to_text(&parse(&once).unwrap(), true).unwrap();
        assert_eq!(once, twice);
        // As Python reads it: float("1844...808") == 1.8446744073709656e+55.
        assert!(once.contains("1.8446744073709656e+55"), "{once}");
    }

    #[test]
    fn python_tokens_are_read_and_kept_out_of_strings() {
        let m = parse(r#"{"a": NaN, "b": [Infinity, -Infinity], "s": "NaN \" Infinity"}"#).unwrap();
        assert!(as_f64(&m["a"]).unwrap().is_nan());
        assert_eq!(as_f64(&m["b"][1]), Some(f64::NEG_INFINITY));
        assert_eq!(m["s"], "NaN \" Infinity");
        let err = to_text(&m, false).unwrap_err().to_string();
        assert!(err.contains("`a`") && err.contains("NaN"), "{err}");
        let text = to_text(&m, true).unwrap();
        assert!(
            text.contains("\"a\": NaN") && text.contains("-Infinity"),
            "{text}"
        );
        assert_eq!(parse(&text).unwrap(), m);
    }

    #[test]
    fn order_layout_and_errors() {
        let m = parse(r#"{"z": 1, "a": {"k": [1, 2]}, "name": "é"}"#).unwrap();
        let text = to_text(&m, false).unwrap();
        assert!(text.starts_with("{\n    \"z\": 1,\n    \"a\": {"), "{text}");
        assert!(text.contains("\"é\"") && text.ends_with("}\n"));
        assert!(parse("[1, 2]").is_err());
        assert!(parse("{\"a\": }").is_err());
    }

    #[test]
    fn reads_the_immetaio_example() {
        let text = "{\n    \"exposure\": 0.01,\n    \"cube\": [[\n            [1, 2]\n        ], [\n            [3, 4]\n        ]],\n    \"bad\": NaN,\n    \"name\": \"\\u00e9\"\n}\n";
        let m = parse(text).unwrap();
        assert_eq!(m["cube"][1][0][1], 4);
        assert_eq!(m["name"], "é");
    }

    #[test]
    fn merge_aligns_keys() {
        let a = parse(r#"{"x": 1}"#).unwrap();
        let b = parse(r#"{"y": 2}"#).unwrap();
        let m = merge(&[a, b]);
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"x": [1, null], "y": [null, 2]})
        );
    }
}
