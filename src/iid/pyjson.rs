//! JSON in the dialect of Python's `json` module, which wrote (and reads) the `.iid` meta and
//! groups sections: parsing accepts what `json.loads` accepts (`NaN`, `Infinity`,
//! `-Infinity`, integers of any size, lone surrogate escapes, any top-level value), and
//! serialising reproduces `json.dumps` with its defaults byte for byte (`", "` and `": "`
//! separators, ASCII only with `\uXXXX` escapes, Python `repr` floats).

use crate::error::{Error, Result};

/// Nesting deeper than this is rejected (Python itself stops near its recursion limit).
const MAX_DEPTH: usize = 512;

/// A JSON value as Python's `json` module models it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null` (Python `None`).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer of any size, kept as its canonical decimal text (`-` and digits).
    Int(String),
    /// A float (Python `float`), including the non-finite values.
    Float(f64),
    /// A string as UTF-16 code units (lone surrogates are representable, as in Python).
    Str(Vec<u16>),
    /// An array.
    Array(Vec<Value>),
    /// An object with keys in insertion order (a repeated key keeps its first position and
    /// takes the last value, like a Python `dict`).
    Object(Vec<(Vec<u16>, Value)>),
}

impl Value {
    /// The string value as Rust text, if it is a string of valid Unicode.
    pub fn as_string(&self) -> Option<String> {
        match self {
            Value::Str(units) => String::from_utf16(units).ok(),
            _ => None,
        }
    }

    /// The value as a non-negative integer that fits in `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// Looks up a key of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(items) => {
                let key: Vec<u16> = key.encode_utf16().collect();
                items.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }
}

/// Parses one JSON text (surrounding whitespace allowed) in Python's dialect.
pub fn parse(text: &str) -> Result<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    p.ws();
    let value = p.value(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.err("extra data after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> Error {
        Error::format(format!("invalid JSON at byte {}: {what}", self.pos))
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.s.get(self.pos) {
            None => Err(self.err("unexpected end of text")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b'n') if self.eat("null") => Ok(Value::Null),
            Some(b't') if self.eat("true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Value::Bool(false)),
            Some(b'N') if self.eat("NaN") => Ok(Value::Float(f64::NAN)),
            Some(b'I') if self.eat("Infinity") => Ok(Value::Float(f64::INFINITY)),
            Some(b'-') if self.eat("-Infinity") => Ok(Value::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value> {
        self.pos += 1;
        let mut items: Vec<(Vec<u16>, Value)> = Vec::new();
        self.ws();
        if self.eat("}") {
            return Ok(Value::Object(items));
        }
        loop {
            self.ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(":") {
                return Err(self.err("expected ':'"));
            }
            self.ws();
            let value = self.value(depth + 1)?;
            match items.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => items.push((key, value)),
            }
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                return Ok(Value::Object(items));
            }
            return Err(self.err("expected ',' or '}'"));
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value> {
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat("]") {
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(Value::Array(items));
            }
            return Err(self.err("expected ',' or ']'"));
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("truncated \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        let unit = u16::from_str_radix(text, 16).map_err(|_| self.err("bad \\u escape"))?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(self.err("bad \\u escape"));
        }
        self.pos += 4;
        Ok(unit)
    }

    fn string(&mut self) -> Result<Vec<u16>> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let start = self.pos;
            while let Some(&b) = self.s.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The input is a &str, and the run stops only at ASCII bytes: valid UTF-8.
            let run = std::str::from_utf8(&self.s[start..self.pos])
                .map_err(|_| self.err("invalid UTF-8 in string"))?;
            out.extend(run.encode_utf16());
            match self.s.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = *self
                        .s
                        .get(self.pos)
                        .ok_or_else(|| self.err("unterminated string"))?;
                    self.pos += 1;
                    let unit = match c {
                        b'"' => b'"' as u16,
                        b'\\' => b'\\' as u16,
                        b'/' => b'/' as u16,
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => 10,
                        b'r' => 13,
                        b't' => 9,
                        b'u' => self.hex4()?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    };
                    out.push(unit);
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        self.eat("-");
        match self.s.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.s.get(self.pos) {
                    self.pos += 1;
                }
            }
            _ => return Err(self.err("expected digits")),
        }
        let mut float = false;
        if self.s.get(self.pos) == Some(&b'.')
            && matches!(self.s.get(self.pos + 1), Some(b'0'..=b'9'))
        {
            float = true;
            self.pos += 1;
            while let Some(b'0'..=b'9') = self.s.get(self.pos) {
                self.pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.pos) {
            let save = self.pos;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.s.get(self.pos) {
                self.pos += 1;
            }
            if matches!(self.s.get(self.pos), Some(b'0'..=b'9')) {
                float = true;
                while let Some(b'0'..=b'9') = self.s.get(self.pos) {
                    self.pos += 1;
                }
            } else {
                self.pos = save;
            }
        }
        // Only ASCII digits, signs, '.', 'e' were consumed.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("0");
        if float {
            let v: f64 = text.parse().map_err(|_| self.err("bad number"))?;
            Ok(Value::Float(v))
        } else if text.bytes().skip_while(|&b| b == b'-').all(|b| b == b'0') {
            Ok(Value::Int("0".to_string()))
        } else {
            Ok(Value::Int(text.to_string()))
        }
    }
}

/// Serialises `value` exactly as Python's `json.dumps(value)` does with default arguments.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(text) => out.push_str(text),
        Value::Float(f) => out.push_str(&float_repr(*f)),
        Value::Str(units) => write_str_units(out, units),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(items) => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_units(out, k);
                out.push_str(": ");
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Writes a Rust string as a Python `json.dumps` string literal (ASCII only).
pub fn write_str(out: &mut String, s: &str) {
    let units: Vec<u16> = s.encode_utf16().collect();
    write_str_units(out, &units);
}

fn write_str_units(out: &mut String, units: &[u16]) {
    out.push('"');
    for &u in units {
        match u {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(u as u8 as char),
            _ => out.push_str(&format!("\\u{u:04x}")),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation when the decimal
/// exponent is in -4..16, else scientific with a signed exponent of at least two digits.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    let decpt = exp + 1;
    let body = if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            format!("0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt < n {
            format!(
                "{}.{}",
                &digits[..decpt as usize],
                &digits[decpt as usize..]
            )
        } else {
            format!("{digits}{}.0", "0".repeat((decpt - n) as usize))
        }
    } else {
        let rest = if n > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{}{rest}e{esign}{:02}", &digits[..1], exp.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python_repr() {
        for (f, s) in [
            (2.0, "2.0"),
            (1.8, "1.8"),
            (1e-7, "1e-07"),
            (1.5e300, "1.5e+300"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-1.25, "-1.25"),
            (0.1, "0.1"),
        ] {
            assert_eq!(float_repr(f), s, "{f}");
        }
    }

    #[test]
    fn round_trips_python_text() {
        let text = r#"{"a": [1, 2.5, null, true, false, "x\u00e9\ud83d\ude00\u0000"], "big": 1180591620717411303424, "n": NaN, "i": -Infinity, "e": {}, "l": [], "lone": "\udc00"}"#;
        assert_eq!(dumps(&parse(text).unwrap()), text);
        assert_eq!(
            dumps(&parse(" [1,2 , {\"k\":\"\\/\"}] ").unwrap()),
            r#"[1, 2, {"k": "/"}]"#
        );
        assert_eq!(dumps(&parse("\"é\"").unwrap()), r#""\u00e9""#);
        assert_eq!(dumps(&parse("-0").unwrap()), "0");
        assert_eq!(
            dumps(&parse(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap()),
            r#"{"a": 3, "b": 2}"#
        );
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "", "{", "[1,]", "01", "1 2", "\"a\nb\"", "{'a': 1}", "\"\\x\"", "nul", "-", "[1.]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }
}
