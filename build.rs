//! Generates include/imkit.h (into OUT_DIR; copied over the committed header when
//! IMKIT_BLESS_HEADER=1) with version and ABI macros taken from Cargo.toml, and sets the
//! shared library's SONAME.

use std::path::{Path, PathBuf};

/// Reads `abi-version` from `[package.metadata.imkit]` in Cargo.toml.
fn abi_version(manifest: &str) -> u32 {
    let section = manifest
        .split("[package.metadata.imkit]")
        .nth(1)
        .expect("Cargo.toml needs a [package.metadata.imkit] section");
    section
        .lines()
        .find_map(|l| l.trim().strip_prefix("abi-version"))
        .and_then(|rest| rest.trim().strip_prefix('='))
        .and_then(|v| v.trim().parse().ok())
        .expect("[package.metadata.imkit] needs abi-version = N")
}

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let abi = abi_version(&manifest);
    let v = |k: &str| std::env::var(k).unwrap();
    let (major, minor, patch) = (
        v("CARGO_PKG_VERSION_MAJOR"),
        v("CARGO_PKG_VERSION_MINOR"),
        v("CARGO_PKG_VERSION_PATCH"),
    );
    let number = major.parse::<u32>().unwrap() * 10000
        + minor.parse::<u32>().unwrap() * 100
        + patch.parse::<u32>().unwrap();
    println!("cargo:rustc-env=IMKIT_ABI_VERSION={abi}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libimkit.so.{abi}");
    }
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-env-changed=IMKIT_BLESS_HEADER");

    let macros = format!(
        "\n#define IMKIT_VERSION_MAJOR {major}\n#define IMKIT_VERSION_MINOR {minor}\n\
         #define IMKIT_VERSION_PATCH {patch}\n#define IMKIT_VERSION_NUMBER {number}\n\
         #define IMKIT_VERSION_STRING \"{major}.{minor}.{patch}\"\n#define IMKIT_ABI_VERSION {abi}\n\n\
         #if defined(__cplusplus) && __cplusplus >= 201703L\n#define IMKIT_NODISCARD [[nodiscard]]\n\
         #elif defined(__GNUC__) || defined(__clang__)\n\
         #define IMKIT_NODISCARD __attribute__((warn_unused_result))\n\
         #else\n#define IMKIT_NODISCARD\n#endif\n"
    );
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let header = assemble_header(&dir, &config, &macros);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("imkit.h");
    std::fs::write(&out, header).expect("cannot write OUT_DIR/imkit.h");
    if std::env::var("IMKIT_BLESS_HEADER").as_deref() == Ok("1") {
        std::fs::copy(&out, dir.join("include/imkit.h")).expect("cannot write include/imkit.h");
    }
}

/// The header's sections in reading order: one file of src/ffi each, titled by the first
/// clause of its module doc. Every file of src/ffi except mod.rs must be listed here.
const SECTIONS: &[&str] = &[
    "library.rs",
    "common.rs",
    "image.rs",
    "tiling.rs",
    "io.rs",
    "save_queue.rs",
    "partition.rs",
    "stitch.rs",
    "pipeline.rs",
    "iid.rs",
];

/// What every C user should know before the first call; placed at the top of the header.
const OVERVIEW: &str = r#"/*
 * imkit: tile-based processing of images of any size.
 *
 * Reading this header: the sections follow the order a program uses them: library and
 * errors, shared types, images, tiling, I/O, the save queue, partitions, fragment/stitch,
 * .iid segmentation files. Every identifier starts with imkit_ or IMKIT_.
 *
 * Errors. Every fallible function returns an imkit_status (IMKIT_STATUS_OK is 0). On failure,
 * imkit_last_error_message() explains it (a per-thread message, valid until the next imkit
 * call on that thread); imkit_status_str(code) names a code. Check the status first: the
 * message explains a failure, it never signals one by itself. Out-parameters are written only
 * on success.
 *
 * Preconditions (every function). Pointer arguments are NULL or valid for what the function's
 * comment describes, for the duration of the call; strings are NUL-terminated UTF-8; a buffer
 * holds at least as many elements as its length argument says. A NULL pointer where a value is
 * required gives IMKIT_STATUS_NULL_ARG, an invalid value IMKIT_STATUS_INVALID_ARG, both with a
 * message naming the parameter. Enum-typed int32_t fields and arguments accept only the
 * listed values.
 *
 * Handles. Opaque imkit_* objects are created through an out-parameter (imkit_x_new,
 * imkit_x_open) and freed with imkit_x_free, which accepts NULL and must be called once.
 * A freed or wrong-type handle gives IMKIT_STATUS_INVALID_HANDLE (best effort: do not rely on
 * it). imkit never keeps a caller pointer past the call.
 *
 * Ownership words. "Owned: free with imkit_x_free" means the caller must release the result
 * with that function (never with libc free). "Borrowed: valid until ..." means imkit keeps
 * the memory and the caller must not free it.
 *
 * The two-call protocol (size query, then fill). Functions that return a list, text or
 * pixels into a caller buffer take (buf, capacity, needed): *needed (may be NULL) always
 * receives the size required; the result is written only when capacity suffices, otherwise
 * the call returns IMKIT_STATUS_BUFFER_TOO_SMALL and writes nothing else. buf may be NULL
 * exactly when capacity is 0, so call once with (NULL, 0, &needed), allocate, call again.
 *
 * Thread safety. Each handle type states its contract: functions taking a const pointer may
 * run concurrently unless said otherwise; _free never races with other uses. Callbacks run on
 * the calling thread unless said otherwise and must not unwind (catch C++ exceptions, Go
 * panics and Julia errors and return non-zero instead).
 *
 * Coordinates and sizes are uint64_t pixels, lengths are size_t, rectangles are half-open.
 */
"#;

/// The C++ linkage block cbindgen writes around each section's functions; the header has one
/// around all sections instead.
const CPP_OPEN: &str = "#ifdef __cplusplus\nextern \"C\" {\n#endif // __cplusplus\n";
const CPP_CLOSE: &str = "#ifdef __cplusplus\n}  // extern \"C\"\n#endif  // __cplusplus\n";

/// Generates each section with cbindgen and joins them under one include guard.
fn assemble_header(dir: &Path, config: &cbindgen::Config, macros: &str) -> String {
    let ffi = dir.join("src/ffi");
    let mut files: Vec<String> = std::fs::read_dir(&ffi)
        .expect("src/ffi")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".rs") && n != "mod.rs")
        .collect();
    files.sort();
    let mut listed: Vec<String> = SECTIONS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "build.rs SECTIONS must list every file of src/ffi except mod.rs"
    );

    let mut section_config = config.clone();
    section_config.header = None;
    section_config.include_guard = None;
    section_config.autogen_warning = None;
    section_config.sys_includes = Vec::new();
    section_config.no_includes = true;

    let mut header = String::new();
    let line = |h: &mut String, s: &str| {
        h.push_str(s);
        h.push('\n');
    };
    line(&mut header, config.header.as_deref().unwrap_or_default());
    line(&mut header, "");
    line(&mut header, "#ifndef IMKIT_H");
    line(&mut header, "#define IMKIT_H");
    line(&mut header, "");
    line(
        &mut header,
        config.autogen_warning.as_deref().unwrap_or_default(),
    );
    line(&mut header, "");
    for include in &config.sys_includes {
        line(&mut header, &format!("#include <{include}>"));
    }
    header.push_str(macros);
    line(&mut header, "");
    header.push_str(OVERVIEW);
    header.push_str(CPP_OPEN);
    for (n, file) in SECTIONS.iter().enumerate() {
        let path = ffi.join(file);
        let source = std::fs::read_to_string(&path).expect("ffi source");
        let doc: Vec<&str> = source
            .lines()
            .map_while(|l| l.strip_prefix("//!"))
            .map(|l| l.trim())
            .collect();
        let intro = doc.join(" ");
        let intro = intro
            .split("  ")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let title = intro
            .split([':', '.'])
            .next()
            .unwrap_or(file)
            .trim()
            .to_string();
        let bindings = cbindgen::Builder::new()
            .with_config(section_config.clone())
            .with_src(&path)
            .generate()
            .unwrap_or_else(|e| panic!("cbindgen could not generate the {file} section: {e}"));
        let mut body = Vec::new();
        bindings.write(&mut body);
        let body = String::from_utf8(body)
            .expect("cbindgen wrote UTF-8")
            .replace(CPP_OPEN, "")
            .replace(CPP_CLOSE, "");
        line(&mut header, "");
        line(
            &mut header,
            &format!("/* ===== {}. {title} ===== */", n + 1),
        );
        line(&mut header, "");
        line(&mut header, "/**");
        for w in wrap(&intro, 92) {
            line(&mut header, &format!(" * {w}"));
        }
        line(&mut header, " */");
        line(&mut header, "");
        line(&mut header, body.trim_matches('\n'));
    }
    line(&mut header, "");
    header.push_str(CPP_CLOSE);
    line(&mut header, "");
    line(&mut header, "#endif /* IMKIT_H */");
    header
}

/// Wraps text into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}
