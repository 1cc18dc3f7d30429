//! The C++ binding (`bindings/cpp/imkit.hpp`): compiles the tests in `bindings/cpp/test/`
//! (several translation units, each including the header) with `-std=c++17 -Wall -Wextra
//! -Werror -pedantic`, links them to the shared library with ASan + UBSan and runs them; also
//! links them to the static library and runs them under valgrind when it is installed. The
//! README's C++ example is compiled the same way and run on the fixtures.

mod clib;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clib::{built, have, readme_example, run, ROOT};

const CXXFLAGS: [&str; 6] = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-g",
];

fn work_dir(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-cpp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The test sources: every `.cpp` in `bindings/cpp/test` (at least two translation units).
fn sources() -> Vec<PathBuf> {
    let dir = Path::new(ROOT).join("bindings/cpp/test");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cpp"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "expected several translation units in {dir:?}"
    );
    files
}

fn compile(extra: &[&str], libs: &mut dyn FnMut(&mut Command), exe: &Path) {
    let mut cmd = Command::new("g++");
    cmd.args(CXXFLAGS)
        .args(extra)
        .arg("-I")
        .arg(Path::new(ROOT).join("include"))
        .arg("-I")
        .arg(Path::new(ROOT).join("bindings/cpp"))
        .args(sources());
    libs(&mut cmd);
    run(cmd.arg("-o").arg(exe));
}

fn fixtures() -> PathBuf {
    Path::new(ROOT).join("tests/fixtures")
}

#[test]
fn cpp_binding_tests_pass_under_asan_and_ubsan() {
    let b = built();
    let dir = work_dir("asan");
    let exe = dir.join("cpp-asan");
    compile(
        &["-fsanitize=address,undefined", "-fno-omit-frame-pointer"],
        &mut |c| {
            c.arg("-L")
                .arg(&b.lib_dir)
                .arg("-limkit")
                .arg(format!("-Wl,-rpath,{}", b.lib_dir.display()));
        },
        &exe,
    );
    let syms = run(Command::new("nm").arg(&exe));
    assert!(
        String::from_utf8_lossy(&syms.stdout).contains("__asan_init"),
        "the C++ tests are not instrumented with ASan"
    );
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let out = run(Command::new(&exe)
        .arg(&work)
        .arg(fixtures())
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=23",
        )
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("C++ binding (shared, ASan):\n{stdout}");
    assert!(stdout.contains("all C++ binding tests passed"));
}

#[test]
fn cpp_binding_tests_pass_with_the_static_library() {
    let b = built();
    let dir = work_dir("static");
    let exe = dir.join("cpp-static");
    compile(
        &[],
        &mut |c| {
            c.arg(b.lib_dir.join("libimkit.a")).args(&b.native_libs);
        },
        &exe,
    );
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let valgrind = have("valgrind");
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
        common::skipped(
            "valgrind not installed; CI installs it",
            "C++ binding tests under valgrind (ran without it)",
        );
        Command::new(&exe)
    };
    let out = run(cmd.arg(&work).arg(fixtures()));
    assert!(String::from_utf8_lossy(&out.stdout).contains("all C++ binding tests passed"));
}

#[test]
fn readme_cpp_example_compiles_and_runs() {
    let b = built();
    let dir = work_dir("readme");
    let src = dir.join("app.cpp");
    std::fs::write(&src, readme_example("### C++", "cpp")).unwrap();
    let exe = dir.join("app");
    run(Command::new("g++")
        .args(CXXFLAGS)
        .arg("-I")
        .arg(Path::new(ROOT).join("include"))
        .arg("-I")
        .arg(Path::new(ROOT).join("bindings/cpp"))
        .arg(&src)
        .arg(b.lib_dir.join("libimkit.a"))
        .args(&b.native_libs)
        .arg("-o")
        .arg(&exe));
    let out = run(Command::new(&exe)
        .arg(fixtures().join("partition/images/px_rgb8_300x200.png"))
        .arg(fixtures().join("iid/overlapping.iid"))
        .arg(&dir));
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(dir.join("cell_0_0.png").exists() && dir.join("cell_0_0.json").exists());
    let meta = std::fs::read_to_string(dir.join("cell_0_0.json")).unwrap();
    assert!(meta.contains("\"row\""), "{meta}");
}
