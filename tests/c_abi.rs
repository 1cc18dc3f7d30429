//! C-ABI tests driven by `cargo test`: builds the library with the `test-hooks` feature into
//! `target/c-abi`, then compiles every C program in `examples-c/` and `tests/c/` with
//! `-std=c11 -Wall -Wextra -Werror -pedantic` and runs it twice: linked to the static
//! library under valgrind, and linked to the shared library with ASan + UBSan. Also: the
//! symbol audit, the README link line, struct layouts, and the header compiled as C++.

mod clib;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clib::{built, have, readme_link_libs, run, ROOT};

fn temp_dir(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-c-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const CFLAGS: [&str; 5] = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"];

/// Every C program to build and run.
fn c_programs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples-c", "tests/c"] {
        for entry in std::fs::read_dir(Path::new(ROOT).join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "c") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn compile_static(src: &Path, out: &Path) {
    let b = built();
    run(Command::new("gcc")
        .args(CFLAGS)
        .args(["-g", "-I"])
        .arg(Path::new(ROOT).join("include"))
        .arg(src)
        .arg(b.lib_dir.join("libimkit.a"))
        .args(&b.native_libs)
        .arg("-o")
        .arg(out));
}

fn compile_asan(src: &Path, out: &Path) {
    let b = built();
    run(Command::new("gcc")
        .args(CFLAGS)
        .args([
            "-g",
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-I",
        ])
        .arg(Path::new(ROOT).join("include"))
        .arg(src)
        .arg("-L")
        .arg(&b.lib_dir)
        .arg("-limkit")
        .arg(format!("-Wl,-rpath,{}", b.lib_dir.display()))
        .arg("-o")
        .arg(out));
}

fn fixtures() -> PathBuf {
    Path::new(ROOT).join("tests/fixtures")
}

#[test]
fn c_programs_pass_under_valgrind_with_the_static_library() {
    let dir = temp_dir("valgrind");
    let valgrind = have("valgrind");
    if !valgrind {
        common::skipped(
            "valgrind not installed; CI installs it",
            "running C programs under valgrind",
        );
    }
    for src in c_programs() {
        let name = src.file_stem().unwrap().to_string_lossy().into_owned();
        let exe = dir.join(format!("{name}-static"));
        compile_static(&src, &exe);
        let work = dir.join(&name);
        std::fs::create_dir_all(&work).unwrap();
        let mut cmd = if valgrind {
            let mut c = Command::new("valgrind");
            c.args([
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "-q",
            ])
            .arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = run(cmd.arg(&work).arg(fixtures()));
        eprintln!(
            "{name} (static, valgrind={valgrind}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn c_programs_pass_under_asan_and_ubsan_with_the_shared_library() {
    let dir = temp_dir("asan");
    for src in c_programs() {
        let name = src.file_stem().unwrap().to_string_lossy().into_owned();
        let exe = dir.join(format!("{name}-asan"));
        compile_asan(&src, &exe);
        let syms = run(Command::new("nm").arg(&exe));
        assert!(
            String::from_utf8_lossy(&syms.stdout).contains("__asan_init"),
            "{name} is not instrumented with ASan"
        );
        let work = dir.join(&name);
        std::fs::create_dir_all(&work).unwrap();
        let out = run(Command::new(&exe)
            .arg(&work)
            .arg(fixtures())
            .env(
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:exitcode=23",
            )
            .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"));
        eprintln!(
            "{name} (shared, ASan):\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Function names declared in the header (outside comments).
fn header_functions() -> Vec<String> {
    let header = std::fs::read_to_string(Path::new(ROOT).join("include/imkit.h")).unwrap();
    let mut names = Vec::new();
    let mut in_comment = false;
    for line in header.lines() {
        let t = line.trim_start();
        if t.starts_with("/*") {
            in_comment = !t.contains("*/");
            continue;
        }
        if in_comment {
            in_comment = !t.contains("*/");
            continue;
        }
        if t.starts_with('#') || t.starts_with("typedef") {
            continue;
        }
        if let Some(pos) = t.find('(') {
            let before = &t[..pos];
            if let Some(name) = before
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next_back()
            {
                if name.starts_with("imkit_") {
                    names.push(name.to_string());
                }
            }
        }
    }
    names
}

#[test]
fn shared_library_exports_only_imkit_symbols_and_every_header_function() {
    let b = built();
    let out = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(b.lib_dir.join("libimkit.so")));
    let text = String::from_utf8_lossy(&out.stdout);
    let exported: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let foreign: Vec<&&str> = exported
        .iter()
        .filter(|s| !s.starts_with("imkit_"))
        .collect();
    assert!(
        foreign.is_empty(),
        "non-imkit symbols exported: {foreign:?}"
    );
    let declared = header_functions();
    assert!(declared.len() > 20, "header parse found only {declared:?}");
    for name in &declared {
        assert!(
            exported.contains(&name.as_str()),
            "{name} is in the header but not exported"
        );
    }
    let out = run(Command::new("readelf")
        .arg("-d")
        .arg(b.lib_dir.join("libimkit.so")));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(concat!("libimkit.so.", env!("IMKIT_ABI_VERSION"))),
        "SONAME is not libimkit.so.<IMKIT_ABI_VERSION>"
    );
}

#[test]
fn readme_static_link_line_matches_rustc() {
    let b = built();
    assert_eq!(
        readme_link_libs(),
        b.native_libs,
        "README.md's static link line differs from rustc's --print native-static-libs"
    );
}

#[test]
fn header_compiles_as_cpp_from_two_translation_units() {
    let dir = temp_dir("cpp");
    let tu = |n: u32| {
        let p = dir.join(format!("tu{n}.cpp"));
        std::fs::write(
            &p,
            format!(
                "#include \"imkit.h\"\n#include \"imkit.h\"\nint tu{n}() {{ return (int)imkit_abi_version(); }}\n"
            ),
        )
        .unwrap();
        p
    };
    let main = dir.join("main.cpp");
    std::fs::write(
        &main,
        "#include \"imkit.h\"\nint tu1(); int tu2();\nint main() { return tu1() == tu2() && tu1() == IMKIT_ABI_VERSION ? 0 : 1; }\n",
    )
    .unwrap();
    let exe = dir.join("cpp");
    let b = built();
    run(Command::new("g++")
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-I",
        ])
        .arg(Path::new(ROOT).join("include"))
        .arg(&main)
        .arg(tu(1))
        .arg(tu(2))
        .arg(b.lib_dir.join("libimkit.a"))
        .args(&b.native_libs)
        .arg("-o")
        .arg(&exe));
    run(&mut Command::new(&exe));
}

#[test]
fn struct_layouts_agree_between_c_and_rust() {
    use imkit::ffi::{imkit_image_info, imkit_image_view};
    use imkit::ffi::{imkit_rect, imkit_tile_spec};
    use std::mem::{offset_of, size_of};
    let dir = temp_dir("layout");
    let src = dir.join("layout.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <stddef.h>
#include "imkit.h"
#define S(t) printf(#t " size %zu\n", sizeof(t));
#define O(t, f) printf(#t "." #f " %zu\n", offsetof(t, f));
int main(void) {
  S(imkit_image_view) O(imkit_image_view, data) O(imkit_image_view, width) O(imkit_image_view, height)
  O(imkit_image_view, row_stride_bytes) O(imkit_image_view, channels) O(imkit_image_view, dtype)
  S(imkit_image_info) O(imkit_image_info, width) O(imkit_image_info, height) O(imkit_image_info, channels)
  O(imkit_image_info, dtype) O(imkit_image_info, file_format)
  S(imkit_rect) O(imkit_rect, left) O(imkit_rect, top) O(imkit_rect, right) O(imkit_rect, bottom)
  S(imkit_tile_spec) O(imkit_tile_spec, x) O(imkit_tile_spec, y) O(imkit_tile_spec, width)
  O(imkit_tile_spec, height) O(imkit_tile_spec, fill) O(imkit_tile_spec, corner) O(imkit_tile_spec, edge)
  return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.join("layout");
    run(Command::new("gcc")
        .args(CFLAGS)
        .arg("-I")
        .arg(Path::new(ROOT).join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe));
    let out = String::from_utf8(run(&mut Command::new(&exe)).stdout).unwrap();
    let mut expected = String::new();
    macro_rules! s {
        ($t:ident) => {
            expected += &format!("{} size {}\n", stringify!($t), size_of::<$t>());
        };
    }
    macro_rules! o {
        ($t:ident, $f:ident) => {
            expected += &format!(
                "{}.{} {}\n",
                stringify!($t),
                stringify!($f),
                offset_of!($t, $f)
            );
        };
    }
    s!(imkit_image_view);
    o!(imkit_image_view, data);
    o!(imkit_image_view, width);
    o!(imkit_image_view, height);
    o!(imkit_image_view, row_stride_bytes);
    o!(imkit_image_view, channels);
    o!(imkit_image_view, dtype);
    s!(imkit_image_info);
    o!(imkit_image_info, width);
    o!(imkit_image_info, height);
    o!(imkit_image_info, channels);
    o!(imkit_image_info, dtype);
    o!(imkit_image_info, file_format);
    s!(imkit_rect);
    o!(imkit_rect, left);
    o!(imkit_rect, top);
    o!(imkit_rect, right);
    o!(imkit_rect, bottom);
    s!(imkit_tile_spec);
    o!(imkit_tile_spec, x);
    o!(imkit_tile_spec, y);
    o!(imkit_tile_spec, width);
    o!(imkit_tile_spec, height);
    o!(imkit_tile_spec, fill);
    o!(imkit_tile_spec, corner);
    o!(imkit_tile_spec, edge);
    assert_eq!(out, expected);
}
