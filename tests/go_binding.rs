//! The Go binding (`bindings/go`): when `go` is installed, runs `go vet` on the default
//! (static-link) build, then `go test ./...` linked through pkg-config (`-tags imkit_system`)
//! to the library `tests/clib` builds, using an `imkit.pc` made from the repository's
//! `imkit.pc.in` template; once normally and once with `imkit_debug` (a GC before every C
//! call, so a missing `runtime.KeepAlive` crashes) and `GODEBUG=cgocheck=2`; then runs the
//! README's Go example as a module of its own. Without `go` it says SKIPPED loudly (CI
//! installs golang-go; pkg-config likewise).

mod clib;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use clib::{built, have, readme_example, readme_link_libs, run, ROOT};

/// Whether the tools the Go tests need are installed; says SKIPPED for `test` otherwise.
fn go_tools_or_skip(test: &str) -> bool {
    let go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !go {
        common::skipped("go not installed; CI installs golang-go", test);
    } else if !have("pkg-config") {
        common::skipped("pkg-config not installed; CI installs it", test);
    }
    go && have("pkg-config")
}

/// A prefix whose `lib` is the test library and `include` the repository's headers, with
/// `pkgconfig/imkit.pc` made from `imkit.pc.in`; made once per test process.
fn pkg_config_prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(make_prefix)
}

fn make_prefix() -> PathBuf {
    let b = built();
    // A fixed path: Go's build cache keeps the `-L` directory pkg-config gave when it compiled
    // the binding and does not recompile when only that directory changes, so a per-process
    // path would leave later runs linking against a directory that no longer exists.
    let prefix = common::scratch_root().join("imkit-go-prefix");
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
    go_in(
        &Path::new(ROOT).join("bindings/go"),
        args,
        prefix,
        extra_env,
    )
}

fn go_in(dir: &Path, args: &[&str], prefix: &Path, extra_env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("go");
    cmd.args(args)
        .current_dir(dir)
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
    if !go_tools_or_skip("go test ./... in bindings/go") {
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
    go(&["vet", "./..."], prefix, &[]);
    let out = go(
        &["test", "-count=1", "-v", "-tags", "imkit_system", "./..."],
        prefix,
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
        prefix,
        &[("GODEBUG", "cgocheck=2")],
    );
    eprintln!("go test (imkit_debug, cgocheck=2):\n{out}");
}

#[test]
fn readme_go_example_runs() {
    if !go_tools_or_skip("README Go example") {
        return;
    }
    let prefix = pkg_config_prefix();
    let dir = prefix.join("readme-example");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.go"), readme_example("### Go", "go")).unwrap();
    let go_mod = readme_example("### Go", "go.mod").replace("/path/to/imkit", ROOT);
    assert!(
        go_mod.contains(&format!("=> {ROOT}/bindings/go")),
        "{go_mod}"
    );
    std::fs::write(dir.join("go.mod"), go_mod).unwrap();
    let fixtures = Path::new(ROOT).join("tests/fixtures");
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let image = fixtures.join("partition/images/px_rgb8_300x200.png");
    let labels = fixtures.join("iid/overlapping.iid");
    let out = go_in(
        &dir,
        &[
            "run",
            "-tags",
            "imkit_system",
            ".",
            image.to_str().unwrap(),
            labels.to_str().unwrap(),
            out_dir.to_str().unwrap(),
        ],
        prefix,
        &[],
    );
    eprintln!("{out}");
    assert!(out_dir.join("cell_0_0.png").exists() && out_dir.join("cell_0_0.json").exists());
}

#[test]
fn go_static_link_line_matches_the_readme() {
    let src = std::fs::read_to_string(Path::new(ROOT).join("bindings/go/link_static.go")).unwrap();
    let line = src
        .lines()
        .find(|l| l.contains("#cgo LDFLAGS:"))
        .expect("link_static.go has a #cgo LDFLAGS line");
    let libs: Vec<String> = line
        .split_whitespace()
        .filter(|w| w.starts_with("-l"))
        .map(String::from)
        .collect();
    assert!(
        line.contains("${SRCDIR}/../../target/release/libimkit.a"),
        "{line}"
    );
    assert_eq!(
        libs,
        readme_link_libs(),
        "bindings/go/link_static.go links other system libraries than the README's static link line"
    );
}
