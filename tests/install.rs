//! `scripts/install.sh PREFIX` installs what C and C++ users expect, a C program builds
//! against it through pkg-config and a C++ program through CMake `find_package(imkit)`, both
//! run, and `scripts/uninstall.sh PREFIX` removes every file again.

mod clib;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clib::{built, have, readme_example, run, ROOT};

const ABI: &str = env!("IMKIT_ABI_VERSION");

/// Installs the test build of the library and the CLI into a fresh prefix.
fn install(prefix: &Path) {
    run(Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/install.sh"))
        .arg(prefix)
        .env("IMKIT_LIB_DIR", &built().lib_dir)
        .env("IMKIT_CLI", env!("CARGO_BIN_EXE_imkit")));
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn c_program_via_pkg_config(prefix: &Path, work: &Path) {
    if !have("pkg-config") {
        common::skipped(
            "pkg-config not installed; CI installs it",
            "install: pkg-config build",
        );
        return;
    }
    let lib = prefix.join("lib");
    let flags = run(Command::new("pkg-config")
        .args(["--cflags", "--libs", "imkit"])
        .env("PKG_CONFIG_PATH", lib.join("pkgconfig")));
    let flags = String::from_utf8(flags.stdout).unwrap();
    assert!(
        flags.contains(&format!("-I{}", prefix.join("include").display())),
        "{flags}"
    );
    // The README's C quick start, as written: built against the prefix, run on the sample
    // `imkit demo --dir demo` writes.
    let app = work.join("app.c");
    std::fs::write(&app, readme_example("## C quick start", "c")).unwrap();
    let exe = work.join("app");
    run(Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg(&app)
        .args(flags.split_whitespace())
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-o")
        .arg(&exe));
    run(Command::new(prefix.join("bin/imkit"))
        .args(["demo", "--dir", "demo"])
        .current_dir(work));
    let usage = Command::new(&exe).output().unwrap();
    assert_eq!(
        usage.status.code(),
        Some(2),
        "the example prints usage without arguments"
    );
    let out = run(Command::new(&exe)
        .args(["demo/sample.png", "tile.png"])
        .current_dir(work));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("columns [1976, 3000), rows [976, 2000)"),
        "{text}"
    );
    let tile = imkit::codec::probe(work.join("tile.png")).unwrap();
    assert_eq!((tile.width, tile.height), (1024, 1024));
}

fn cpp_program_via_cmake(prefix: &Path, work: &Path) {
    if !have("cmake") {
        common::skipped(
            "cmake not installed; CI installs it",
            "install: CMake find_package build",
        );
        return;
    }
    let src = work.join("cmake-src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.16)\nproject(imkit_consumer CXX)\n\
         set(CMAKE_CXX_STANDARD 17)\nfind_package(imkit 0.1 REQUIRED)\n\
         add_executable(consumer main.cpp)\ntarget_link_libraries(consumer PRIVATE imkit::imkit)\n",
    )
    .unwrap();
    std::fs::write(
        src.join("main.cpp"),
        "#include <imkit.hpp>\n#include <cstdio>\n\
         int main() {\n  std::printf(\"imkit %s abi %u\\n\", imkit::version_string().c_str(),\n\
         \x20             imkit::abi_version());\n  return imkit::abi_version() == IMKIT_ABI_VERSION ? 0 : 1;\n}\n",
    )
    .unwrap();
    let build = work.join("cmake-build");
    run(Command::new("cmake")
        .arg("-S")
        .arg(&src)
        .arg("-B")
        .arg(&build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display())));
    run(Command::new("cmake").arg("--build").arg(&build));
    let out = run(&mut Command::new(build.join("consumer")));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim(),
        format!("imkit {} abi {ABI}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn install_builds_for_c_and_cpp_and_uninstall_removes_everything() {
    let dir = tempfile::Builder::new()
        .prefix("install-")
        .tempdir_in(common::scratch_root())
        .unwrap();
    let prefix = dir.path().join("prefix");
    install(&prefix);
    let lib = prefix.join("lib");
    for file in [
        format!("lib/libimkit.so.{ABI}"),
        "lib/libimkit.a".into(),
        "include/imkit.h".into(),
        "include/imkit.hpp".into(),
        "lib/pkgconfig/imkit.pc".into(),
        "lib/cmake/imkit/imkitConfig.cmake".into(),
        "lib/cmake/imkit/imkitConfigVersion.cmake".into(),
        "bin/imkit".into(),
        "share/man/man1/imkit.1".into(),
    ] {
        assert!(prefix.join(&file).is_file(), "{file} was not installed");
    }
    assert_eq!(
        std::fs::read_link(lib.join("libimkit.so")).unwrap(),
        PathBuf::from(format!("libimkit.so.{ABI}"))
    );
    let man = std::fs::read_to_string(prefix.join("share/man/man1/imkit.1")).unwrap();
    assert!(
        man.starts_with(".TH IMKIT 1") && man.contains(".SS imkit fragment"),
        "{man}"
    );
    let version = run(Command::new(prefix.join("bin/imkit")).arg("--version"));
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));

    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    c_program_via_pkg_config(&prefix, &work);
    cpp_program_via_cmake(&prefix, &work);

    run(Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/uninstall.sh"))
        .arg(&prefix));
    let left = files_under(&prefix);
    assert!(left.is_empty(), "uninstall left {left:?}");
}
