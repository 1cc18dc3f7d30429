//! The Go binding (`bindings/go`): when `go` is installed, runs `go vet` on the default
//! (static-link) build, then `go test ./...` linked through pkg-config (`-tags imkit_system`)
//! to the library `tests/clib` builds, using an `imkit.pc` made from the repository's
//! `imkit.pc.in` template; once normally and once with `imkit_debug` (a GC before every C
//! call, so a missing `runtime.KeepAlive` crashes) and `GODEBUG=cgocheck=2`. Without `go` it
//! says SKIPPED loudly (CI installs golang-go).

mod clib;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clib::{built, run, ROOT};

fn have_go() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A prefix whose `lib` is the test library and `include` the repository's headers, with
/// `lib/pkgconfig/imkit.pc` made from `imkit.pc.in`.
fn pkg_config_prefix() -> PathBuf {
    let b = built();
    let prefix = std::env::temp_dir().join(format!("imkit-go-prefix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(&prefix).unwrap();
    std::os::unix::fs::symlink(&b.lib_dir, prefix.join("lib")).unwrap();
    std::os::unix::fs::symlink(Path::new(ROOT).join("include"), prefix.join("include")).unwrap();
    let pc_dir = prefix.join("pkgconfig");
    std::fs::create_dir_all(&pc_dir).unwrap();
    let template = std::fs::read_to_string(Path::new(ROOT).join("imkit.pc.in")).unwrap();
    let pc = template
        .replace("@PREFIX@", &prefix.display().to_string())
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"))
        .replace("@LIBS_PRIVATE@", &b.native_libs.join(" "));
    std::fs::write(pc_dir.join("imkit.pc"), pc).unwrap();
    prefix
}

fn go(args: &[&str], prefix: &Path, extra_env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("go");
    cmd.args(args)
        .current_dir(Path::new(ROOT).join("bindings/go"))
        .env("PKG_CONFIG_PATH", prefix.join("pkgconfig"))
        .env("LD_LIBRARY_PATH", &built().lib_dir)
        .env("CGO_ENABLED", "1");
    if std::env::var_os("HOME").is_none() && std::env::var_os("GOCACHE").is_none() {
        let cache = Path::new(ROOT).join("target/go");
        cmd.env("GOCACHE", cache.join("cache"))
            .env("GOPATH", cache.join("path"));
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn go_binding_tests_pass() {
    if !have_go() {
        common::skipped(
            "go not installed; CI installs golang-go",
            "go test ./... in bindings/go",
        );
        return;
    }
    let prefix = pkg_config_prefix();
    let gofmt = run(Command::new("gofmt")
        .arg("-l")
        .arg(Path::new(ROOT).join("bindings/go")));
    assert!(
        gofmt.stdout.is_empty(),
        "gofmt would change: {}",
        String::from_utf8_lossy(&gofmt.stdout)
    );
    go(&["vet", "./..."], &prefix, &[]);
    let out = go(
        &["test", "-count=1", "-v", "-tags", "imkit_system", "./..."],
        &prefix,
        &[],
    );
    eprintln!("go test:\n{out}");
    let out = go(
        &[
            "test",
            "-count=1",
            "-tags",
            "imkit_system,imkit_debug",
            "./...",
        ],
        &prefix,
        &[("GODEBUG", "cgocheck=2")],
    );
    eprintln!("go test (imkit_debug, cgocheck=2):\n{out}");
}
