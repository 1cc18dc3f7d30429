//! The Julia binding (`bindings/julia/Imkit`) checked statically, since no Julia runtime can
//! be installed here: every `@ccall` in its sources must name a function `include/imkit.h`
//! declares, with the same number of arguments and Julia types matching the C types
//! (`uint64_t` → `UInt64`, `size_t` → `Csize_t`, `int32_t`/enums → `Int32`/`Cint`, `T *` →
//! `Ptr{T}`/`Ref{T}`, handles → `Ptr{Cvoid}`, `char *` → `Cstring`, ...). The raw structs
//! must have the header's fields in order with matching types, and the `IMKIT_*` constants
//! the header's values. Header functions the binding does not call yet are listed (not a
//! failure, so a family landing in the C ABI never breaks the build before it is bound).
//! The README's Julia example may only call names the module exports (or Base's).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A C type: base name without `const`/`struct`, and the number of `*`.
#[derive(Clone, Debug, PartialEq)]
struct CType {
    base: String,
    ptr: usize,
}

impl CType {
    fn parse(text: &str) -> CType {
        let spaced = text.replace('*', " * ");
        let mut ptr = 0;
        let mut base = Vec::new();
        for tok in spaced.split_whitespace() {
            match tok {
                "*" => ptr += 1,
                "const" | "struct" | "enum" => {}
                t => base.push(t),
            }
        }
        CType {
            base: base.join(" "),
            ptr,
        }
    }

    fn show(&self) -> String {
        format!("{}{}", self.base, " *".repeat(self.ptr))
    }
}

/// One C parameter or struct field.
#[derive(Debug)]
struct CItem {
    name: String,
    ty: CType,
}

/// What the header declares.
#[derive(Default, Debug)]
struct Header {
    functions: BTreeMap<String, (CType, Vec<CItem>)>,
    structs: BTreeMap<String, Vec<CItem>>,
    opaque: BTreeSet<String>,
    enums: BTreeSet<String>,
    fn_pointers: BTreeSet<String>,
    constants: BTreeMap<String, i64>,
}

fn strip_c_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn last_ident(text: &str) -> &str {
    text.trim_end()
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("")
}

/// Splits `name type...` items (`type name`, comma or semicolon separated) into CItems.
fn c_items(text: &str, sep: char) -> Vec<CItem> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "void")
        .map(|s| {
            let name = last_ident(s).to_string();
            let ty = CType::parse(&s[..s.len() - name.len()]);
            CItem { name, ty }
        })
        .collect()
}

fn parse_header(text: &str) -> Header {
    let mut h = Header::default();
    let clean = strip_c_comments(text);
    let mut body = String::new();
    for line in clean.lines() {
        let t = line.trim();
        if let Some(def) = t.strip_prefix("#define ") {
            let mut parts = def.split_whitespace();
            if let (Some(name), Some(value)) = (parts.next(), parts.next()) {
                if let Ok(v) = value.parse::<i64>() {
                    h.constants.insert(name.to_string(), v);
                }
            }
        } else if !t.starts_with('#') {
            body.push_str(line);
            body.push('\n');
        }
    }
    let body = body
        .replace("extern \"C\" {", "")
        .replace("IMKIT_NODISCARD", "");
    let mut depth = 0i32;
    let mut stmt = String::new();
    let mut statements = Vec::new();
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ';' && depth <= 0 {
            statements.push(std::mem::take(&mut stmt));
        } else {
            stmt.push(c);
        }
    }
    for s in statements {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let s = s.trim_start_matches('}').trim();
        if let Some(rest) = s.strip_prefix("enum ") {
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            h.enums.insert(name);
            if let (Some(a), Some(b)) = (rest.find('{'), rest.rfind('}')) {
                for item in rest[a + 1..b].split(',') {
                    if let Some((k, v)) = item.split_once('=') {
                        if let Ok(v) = v.trim().parse::<i64>() {
                            h.constants.insert(k.trim().to_string(), v);
                        }
                    }
                }
            }
        } else if let Some(rest) = s.strip_prefix("typedef struct ") {
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            if let (Some(a), Some(b)) = (rest.find('{'), rest.rfind('}')) {
                h.structs.insert(name, c_items(&rest[a + 1..b], ';'));
            } else {
                h.opaque.insert(name);
            }
        } else if s.starts_with("typedef") {
            if let Some(i) = s.find("(*") {
                let name = s[i + 2..].split(')').next().unwrap_or("").trim();
                h.fn_pointers.insert(name.to_string());
            }
        } else if let (Some(open), Some(close)) = (s.find('('), s.rfind(')')) {
            let name = last_ident(&s[..open]).to_string();
            if !name.starts_with("imkit_") {
                continue;
            }
            let ret = CType::parse(&s[..open - name.len()]);
            let params = c_items(&s[open + 1..close], ',');
            h.functions.insert(name, (ret, params));
        }
    }
    h
}

/// A Julia type: `Name` or `Name{Params...}`.
#[derive(Debug, PartialEq)]
struct JlType {
    name: String,
    params: Vec<JlType>,
}

impl JlType {
    fn parse(text: &str) -> JlType {
        let t = text.trim();
        match t.find('{') {
            Some(i) if t.ends_with('}') => JlType {
                name: t[..i].trim().to_string(),
                params: split_top(&t[i + 1..t.len() - 1], ',')
                    .iter()
                    .map(|p| JlType::parse(p))
                    .collect(),
            },
            _ => JlType {
                name: t.to_string(),
                params: Vec::new(),
            },
        }
    }

    fn show(&self) -> String {
        if self.params.is_empty() {
            self.name.clone()
        } else {
            let inner: Vec<String> = self.params.iter().map(JlType::show).collect();
            format!("{}{{{}}}", self.name, inner.join(", "))
        }
    }

    fn is(&self, name: &str) -> bool {
        self.params.is_empty() && self.name == name
    }
}

/// Splits at `sep` outside (), {}, [] and string literals.
fn split_top(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut cur = String::new();
    let mut prev = ' ';
    for c in text.chars() {
        if c == '"' && prev != '\\' {
            in_str = !in_str;
        }
        if !in_str {
            match c {
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' => depth -= 1,
                _ => {}
            }
        }
        if c == sep && depth == 0 && !in_str {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
        prev = c;
    }
    if !cur.trim().is_empty() {
        parts.push(cur);
    }
    parts
}

/// The Julia types a C type may be written as; Err explains the expectation.
fn check_type(h: &Header, c: &CType, j: &JlType) -> Result<(), String> {
    let fail = |want: &str| Err(format!("C `{}` needs {want}", c.show()));
    if c.ptr == 0 {
        let ok: &[&str] = match c.base.as_str() {
            "uint64_t" => &["UInt64"],
            "int64_t" => &["Int64"],
            "uint32_t" => &["UInt32", "Cuint"],
            "int32_t" => &["Int32", "Cint"],
            "uint16_t" => &["UInt16"],
            "int16_t" => &["Int16"],
            "uint8_t" => &["UInt8"],
            "int8_t" => &["Int8"],
            "size_t" => &["Csize_t"],
            "bool" => &["Bool"],
            "double" => &["Cdouble", "Float64"],
            "float" => &["Cfloat", "Float32"],
            "char" => &["Cchar", "UInt8"],
            "void" => &["Cvoid"],
            b if h.enums.contains(b) => &["Int32", "Cint"],
            b if h.fn_pointers.contains(b) => {
                return if j.name == "Ptr" && j.params.len() == 1 && j.params[0].is("Cvoid") {
                    Ok(())
                } else {
                    fail("Ptr{Cvoid} (a @cfunction pointer)")
                };
            }
            b if h.structs.contains_key(b) => {
                return if j.is(b) {
                    Ok(())
                } else {
                    fail(&format!("the Julia struct `{b}`"))
                };
            }
            b => return Err(format!("C type `{b}` has no known Julia mapping")),
        };
        return if ok.iter().any(|n| j.is(n)) {
            Ok(())
        } else {
            fail(&ok.join(" or "))
        };
    }
    if c.ptr == 1 && c.base == "char" && j.is("Cstring") {
        return Ok(());
    }
    if !(j.name == "Ptr" || j.name == "Ref") || j.params.len() != 1 {
        return fail("Ptr{...} or Ref{...}");
    }
    let inner = CType {
        base: c.base.clone(),
        ptr: c.ptr - 1,
    };
    if inner.ptr == 0 && h.opaque.contains(&inner.base) {
        return if j.params[0].is("Cvoid") {
            Ok(())
        } else {
            fail("Ptr{Cvoid} / Ref{Ptr{Cvoid}} for an opaque handle")
        };
    }
    check_type(h, &inner, &j.params[0]).map_err(|e| format!("{e} (inside {})", c.show()))
}

/// One `@ccall libimkit.NAME(arg::T, ...)::R` found in a Julia file.
#[derive(Debug)]
struct JlCall {
    at: String,
    name: String,
    args: Vec<JlType>,
    ret: JlType,
}

/// Julia source without comments (`# ...` and `#= ... =#`), string literals kept.
fn strip_julia_comments(text: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut chars = text.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if c == '"' && prev != '\\' {
            in_str = !in_str;
        }
        if c == '#' && !in_str {
            if chars.peek() == Some(&'=') {
                let mut last = ' ';
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                    }
                    if last == '=' && d == '#' {
                        break;
                    }
                    last = d;
                }
            } else {
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            prev = '\n';
            continue;
        }
        out.push(c);
        prev = c;
    }
    out
}

/// Every `@ccall` of a Julia file; Err for calls the checker cannot read or plain `ccall`.
fn julia_calls(file: &str, text: &str) -> Result<Vec<JlCall>, Vec<String>> {
    let src = strip_julia_comments(text);
    let line_of = |pos: usize| format!("{file}:{}", src[..pos].matches('\n').count() + 1);
    let mut calls = Vec::new();
    let mut errors = Vec::new();
    for (pos, _) in src.match_indices("ccall") {
        let is_macro = pos > 0 && &src[pos - 1..pos] == "@";
        let word_before = pos > 0 && {
            let b = src[..pos].chars().next_back().unwrap();
            b.is_alphanumeric() || b == '_'
        };
        if word_before {
            continue;
        }
        if !is_macro {
            errors.push(format!(
                "{}: plain `ccall`; use `@ccall libimkit.name(arg::Type, ...)::Ret` so it can be checked",
                line_of(pos)
            ));
            continue;
        }
        let rest = src[pos + 5..].trim_start();
        let Some(rest) = rest.strip_prefix("libimkit.") else {
            errors.push(format!("{}: @ccall not through `libimkit.`", line_of(pos)));
            continue;
        };
        let Some(open) = rest.find('(') else {
            errors.push(format!("{}: cannot read @ccall", line_of(pos)));
            continue;
        };
        let name = rest[..open].trim().to_string();
        let mut depth = 0;
        let mut close = None;
        for (i, c) in rest[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            errors.push(format!("{}: unbalanced @ccall {name}", line_of(pos)));
            continue;
        };
        let mut args = Vec::new();
        for arg in split_top(&rest[open + 1..close], ',') {
            match arg.rfind("::") {
                Some(i) => args.push(JlType::parse(&arg[i + 2..])),
                None => errors.push(format!(
                    "{}: {name}: argument `{}` has no ::Type",
                    line_of(pos),
                    arg.trim()
                )),
            }
        }
        let after = &rest[close + 1..];
        let Some(ret_text) = after.strip_prefix("::") else {
            errors.push(format!("{}: {name}: no ::ReturnType", line_of(pos)));
            continue;
        };
        let mut depth = 0;
        let end = ret_text
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                depth == 0 && !(c.is_alphanumeric() || c == '_' || c == '}' || c == '{')
            })
            .map_or(ret_text.len(), |(i, _)| i);
        calls.push(JlCall {
            at: line_of(pos),
            name,
            args,
            ret: JlType::parse(&ret_text[..end]),
        });
    }
    if errors.is_empty() {
        Ok(calls)
    } else {
        Err(errors)
    }
}

/// `struct NAME` blocks of a Julia file: name → [(field, type)].
fn julia_structs(text: &str) -> BTreeMap<String, Vec<(String, JlType)>> {
    let src = strip_julia_comments(text);
    let mut out = BTreeMap::new();
    let mut lines = src.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.trim().strip_prefix("struct ") else {
            continue;
        };
        let mut fields = Vec::new();
        for l in lines.by_ref() {
            let l = l.trim();
            if l == "end" {
                break;
            }
            if let Some((f, t)) = l.split_once("::") {
                fields.push((f.trim().to_string(), JlType::parse(t)));
            }
        }
        out.insert(name.trim().to_string(), fields);
    }
    out
}

/// `const IMKIT_NAME = N` or `= Int32(N)` definitions of a Julia file.
fn julia_constants(text: &str) -> Vec<(String, i64)> {
    strip_julia_comments(text)
        .lines()
        .filter_map(|l| {
            let (name, value) = l.trim().strip_prefix("const ")?.split_once('=')?;
            let name = name.trim();
            if !name.starts_with("IMKIT_") {
                return None;
            }
            let v = value.trim();
            let v = v
                .strip_prefix("Int32(")
                .and_then(|s| s.strip_suffix(')'))
                .unwrap_or(v);
            Some((name.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Checks Julia sources (file name → text) against a header; returns the problems and the
/// set of functions called.
fn check_julia(header: &Header, files: &[(String, String)]) -> (Vec<String>, BTreeSet<String>) {
    let mut problems = Vec::new();
    let mut called = BTreeSet::new();
    for (file, text) in files {
        let calls = match julia_calls(file, text) {
            Ok(c) => c,
            Err(e) => {
                problems.extend(e);
                continue;
            }
        };
        for call in calls {
            called.insert(call.name.clone());
            let Some((ret, params)) = header.functions.get(&call.name) else {
                problems.push(format!(
                    "{}: {} is not declared in include/imkit.h",
                    call.at, call.name
                ));
                continue;
            };
            if params.len() != call.args.len() {
                problems.push(format!(
                    "{}: {} takes {} arguments in C ({}), the Julia call passes {}",
                    call.at,
                    call.name,
                    params.len(),
                    params
                        .iter()
                        .map(|p| format!("{} {}", p.ty.show(), p.name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    call.args.len()
                ));
                continue;
            }
            for (i, (p, j)) in params.iter().zip(&call.args).enumerate() {
                if let Err(e) = check_type(header, &p.ty, j) {
                    problems.push(format!(
                        "{}: {} argument {} (`{}`): {e}, Julia has `{}`",
                        call.at,
                        call.name,
                        i + 1,
                        p.name,
                        j.show()
                    ));
                }
            }
            if let Err(e) = check_type(header, ret, &call.ret) {
                problems.push(format!(
                    "{}: {} return: {e}, Julia has `{}`",
                    call.at,
                    call.name,
                    call.ret.show()
                ));
            }
        }
        for (name, fields) in julia_structs(text) {
            if !name.starts_with("imkit_") {
                continue;
            }
            let Some(cfields) = header.structs.get(&name) else {
                problems.push(format!("{file}: struct {name} is not in include/imkit.h"));
                continue;
            };
            let cnames: Vec<&str> = cfields.iter().map(|f| f.name.as_str()).collect();
            let jnames: Vec<&str> = fields.iter().map(|f| f.0.as_str()).collect();
            if cnames != jnames {
                problems.push(format!(
                    "{file}: struct {name} fields are {jnames:?}, the header has {cnames:?}"
                ));
                continue;
            }
            for (c, (f, j)) in cfields.iter().zip(&fields) {
                if let Err(e) = check_type(header, &c.ty, j) {
                    problems.push(format!(
                        "{file}: struct {name} field {f}: {e}, Julia has `{}`",
                        j.show()
                    ));
                }
            }
        }
        for (name, value) in julia_constants(text) {
            match header.constants.get(&name) {
                Some(v) if *v == value => {}
                Some(v) => problems.push(format!(
                    "{file}: {name} = {value} in Julia, {v} in include/imkit.h"
                )),
                None => problems.push(format!("{file}: {name} is not in include/imkit.h")),
            }
        }
    }
    (problems, called)
}

fn julia_sources() -> Vec<(String, String)> {
    let dir = Path::new(ROOT).join("bindings/julia/Imkit/src");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jl"))
        .map(|p| {
            (
                p.strip_prefix(ROOT).unwrap().display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn julia_ccalls_match_the_header() {
    let header =
        parse_header(&std::fs::read_to_string(Path::new(ROOT).join("include/imkit.h")).unwrap());
    assert!(
        header.functions.len() > 20 && header.structs.contains_key("imkit_image_view"),
        "header parse found too little: {:?}",
        header.functions.keys()
    );
    let files = julia_sources();
    let (problems, called) = check_julia(&header, &files);
    assert!(
        problems.is_empty(),
        "the Julia binding does not match include/imkit.h:\n  {}",
        problems.join("\n  ")
    );
    assert!(called.len() > 20, "only {} functions called", called.len());
    let unbound: Vec<&String> = header
        .functions
        .keys()
        .filter(|f| !called.contains(*f) && !f.starts_with("imkit__"))
        .collect();
    if !unbound.is_empty() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOTE: header functions not bound in Julia yet: {unbound:?}"
        );
    }
}

#[test]
fn julia_checker_reports_mismatches() {
    let header = parse_header(
        r#"
#define IMKIT_ABI_VERSION 1
enum imkit_status : int32_t { IMKIT_STATUS_OK = 0, IMKIT_STATUS_IO = 200, };
typedef struct imkit_thing imkit_thing;
typedef struct imkit_pair { uint64_t a; const uint8_t *b; } imkit_pair;
typedef int32_t (*imkit_cb)(void *user_data, uint64_t done);
#ifdef __cplusplus
extern "C" {
#endif
/** Doc (with parentheses). */
IMKIT_NODISCARD imkit_status imkit_thing_open(const char *path, struct imkit_thing **out);
IMKIT_NODISCARD imkit_status imkit_thing_len(const struct imkit_thing *t, size_t *out, imkit_cb cb);
void imkit_thing_free(struct imkit_thing *t);
#ifdef __cplusplus
}
#endif
"#,
    );
    let good = r#"
const IMKIT_STATUS_IO = Int32(200)
struct imkit_pair
    a::UInt64
    b::Ptr{UInt8}
end
# a comment with ccall( inside is ignored
f(p) = @ccall libimkit.imkit_thing_open(p::Cstring, out::Ref{Ptr{Cvoid}})::Int32
g(t, n) = @ccall libimkit.imkit_thing_len(t::Ptr{Cvoid}, n::Ref{Csize_t}, C_NULL::Ptr{Cvoid})::Cint
h(t) = @ccall libimkit.imkit_thing_free(t::Ptr{Cvoid})::Cvoid
"#;
    let (problems, called) = check_julia(&header, &[("good.jl".into(), good.into())]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(called.len(), 3);

    let cases = [
        (
            "n::Ref{UInt32}",
            "imkit_thing_len(t::Ptr{Cvoid}, n::Ref{UInt32}, C_NULL::Ptr{Cvoid})::Int32",
            "argument 2 (`out`)",
        ),
        (
            "arity",
            "imkit_thing_len(t::Ptr{Cvoid}, n::Ref{Csize_t})::Int32",
            "takes 3 arguments",
        ),
        (
            "unknown",
            "imkit_thing_close(t::Ptr{Cvoid})::Int32",
            "not declared",
        ),
        ("return", "imkit_thing_free(t::Ptr{Cvoid})::Int32", "return"),
        (
            "handle",
            "imkit_thing_open(p::Cstring, out::Ref{Ptr{UInt8}})::Int32",
            "opaque handle",
        ),
    ];
    for (what, call, expect) in cases {
        let src = format!("x = @ccall libimkit.{call}\n");
        let (problems, _) = check_julia(&header, &[("bad.jl".into(), src)]);
        assert!(
            problems.iter().any(|p| p.contains(expect)),
            "{what}: expected a problem containing {expect:?}, got {problems:?}"
        );
    }
    let bad_rest = r#"
const IMKIT_STATUS_IO = Int32(201)
struct imkit_pair
    a::UInt32
    b::Ptr{UInt8}
end
y = ccall((:imkit_thing_free, libimkit), Cvoid, (Ptr{Cvoid},), C_NULL)
"#;
    let (problems, _) = check_julia(&header, &[("bad.jl".into(), bad_rest.into())]);
    let all = problems.join("\n");
    assert!(all.contains("plain `ccall`"), "{all}");
    let (problems, _) = check_julia(
        &header,
        &[("bad.jl".into(), bad_rest.replace("y = ccall", "#"))],
    );
    let all = problems.join("\n");
    assert!(all.contains("IMKIT_STATUS_IO = 201"), "{all}");
    assert!(all.contains("struct imkit_pair field a"), "{all}");
}

#[test]
fn readme_julia_example_uses_exported_names() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let start = readme
        .find("\n### Julia\n")
        .expect("README has a Julia section");
    let from = start + readme[start..].find("```julia\n").unwrap() + 9;
    let example = &readme[from..from + readme[from..].find("```").unwrap()];
    let module =
        std::fs::read_to_string(Path::new(ROOT).join("bindings/julia/Imkit/src/Imkit.jl")).unwrap();
    let exports: BTreeSet<&str> = module
        .split("export ")
        .nth(1)
        .and_then(|e| e.split("\n\n").next())
        .expect("Imkit.jl has an export list")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    const BASE: [&str; 6] = ["println", "joinpath", "length", "push!", "close", "String"];
    let mut unknown = Vec::new();
    for (i, _) in example.match_indices('(') {
        let before = &example[..i];
        let name_start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '!'))
            .map_or(0, |p| p + 1);
        let name = &before[name_start..];
        let qualified = before[..name_start].ends_with('.');
        if name.is_empty() || qualified || exports.contains(name) || BASE.contains(&name) {
            continue;
        }
        unknown.push(name.to_string());
    }
    assert!(
        unknown.is_empty(),
        "the README's Julia example calls names Imkit does not export: {unknown:?}"
    );
}
