//! The C header reads as C: every identifier it declares starts with `imkit_` or `IMKIT_`,
//! and no Rust-only notation (rustdoc links, `# Safety` headings, `::` paths) reaches it.

const HEADER: &str = include_str!("../include/imkit.h");

/// Removes `/* */` and `//` comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
            out.push(' ');
        } else if rest.starts_with("//") {
            rest = rest.find('\n').map_or("", |end| &rest[end..]);
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

/// Every name a C header declares: macros, struct and enum tags, enum constants, typedef
/// names and functions (not fields or parameters).
fn declared_names(header: &str) -> Vec<String> {
    let text = strip_comments(header);
    let mut names = Vec::new();
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(directive) = trimmed.strip_prefix('#') {
            let t = tokens(directive);
            if t.first().is_some_and(|d| d == "define") {
                names.extend(t.get(1).cloned());
            }
        } else if trimmed.starts_with("extern \"C\"") {
            // The C++ linkage block; its closing brace is on a `}  // extern "C"` line.
        } else {
            code.push_str(line);
            code.push('\n');
        }
    }
    let extern_closers = header
        .lines()
        .filter(|l| l.trim_start().starts_with("}  // extern \"C\""))
        .count();
    let t = tokens(&code);
    let mut depth = 0i32;
    let mut in_enum_body = false;
    let mut typedef_start: Option<usize> = None;
    let mut closers_left = extern_closers;
    for i in 0..t.len() {
        let tok = t[i].as_str();
        match tok {
            "{" => {
                depth += 1;
                in_enum_body = (0..i)
                    .rev()
                    .take(12)
                    .map(|j| t[j].as_str())
                    .take_while(|s| *s != ";" && *s != "}")
                    .any(|s| s == "enum");
            }
            "}" => {
                if depth == 0 && closers_left > 0 {
                    closers_left -= 1;
                } else {
                    depth -= 1;
                    in_enum_body = false;
                }
            }
            "struct" | "enum" => {
                if let Some(n) = t.get(i + 1).filter(|n| is_ident(n)) {
                    names.push(n.clone());
                }
            }
            "typedef" if depth == 0 => typedef_start = Some(i),
            ";" if depth == 0 => {
                if let Some(start) = typedef_start.take() {
                    let stmt = &t[start..i];
                    let fn_ptr = stmt.windows(3).find(|w| w[0] == "(" && w[1] == "*");
                    match fn_ptr {
                        Some(w) => names.push(w[2].clone()),
                        None => names.extend(stmt.last().filter(|n| is_ident(n)).cloned()),
                    }
                }
            }
            _ if is_ident(tok) => {
                let next = t.get(i + 1).map(String::as_str);
                if in_enum_body && depth == 1 && matches!(next, Some("=" | "," | "}")) {
                    let prev = t[i - 1].as_str();
                    if prev == "{" || prev == "," {
                        names.push(tok.to_string());
                    }
                }
                if depth == 0 && typedef_start.is_none() && next == Some("(") {
                    names.push(tok.to_string());
                }
            }
            _ => {}
        }
    }
    names.sort();
    names.dedup();
    names
}

fn foreign(names: &[String]) -> Vec<&String> {
    names
        .iter()
        .filter(|n| !n.starts_with("imkit_") && !n.starts_with("IMKIT_"))
        .collect()
}

#[test]
fn every_header_identifier_has_the_imkit_prefix() {
    let names = declared_names(HEADER);
    for expected in [
        "imkit_status_str",
        "imkit_rect",
        "imkit_progress_fn",
        "IMKIT_STATUS_OK",
        "IMKIT_ABI_VERSION",
        "imkit_partition",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "scanner missed {expected}"
        );
    }
    let bad = foreign(&names);
    assert!(
        bad.is_empty(),
        "header identifiers without the imkit prefix: {bad:?}"
    );
}

#[test]
fn the_scanner_catches_foreign_names() {
    let snippet =
        "#define LIMIT 3\ntypedef struct Blend Blend;\nenum imkit_x { GOOD_X = 0, IMKIT_X_B };\n\
                   typedef int (*cb)(void *user_data);\nint parse(const char *text);\n";
    let names = declared_names(snippet);
    let bad: Vec<&str> = foreign(&names).into_iter().map(String::as_str).collect();
    assert_eq!(bad, ["Blend", "GOOD_X", "LIMIT", "cb", "parse"]);
}

#[test]
fn header_docs_use_c_words() {
    for (needle, what) in [
        ("[`", "a rustdoc link"),
        ("# Safety", "a rustdoc `# Safety` heading"),
        ("::", "a Rust path"),
        ("module doc", "a pointer to Rust module docs"),
    ] {
        let hits: Vec<&str> = HEADER.lines().filter(|l| l.contains(needle)).collect();
        assert!(hits.is_empty(), "the header holds {what}: {hits:#?}");
    }
}
