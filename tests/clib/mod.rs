//! Builds the C library for the tests that link programs against it (`tests/c_abi.rs`, the
//! C++ and Go binding tests): `cargo rustc --lib --features test-hooks` into `target/c-abi`,
//! once per test process, plus helpers to run tools. Use with `mod clib;`.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Where the library was built and what a static link needs.
pub struct Built {
    /// Holds `libimkit.a`, `libimkit.so` and the `libimkit.so.<ABI>` symlink.
    pub lib_dir: PathBuf,
    /// rustc's `--print native-static-libs` list (`-lgcc_s -lutil ...`).
    pub native_libs: Vec<String>,
}

/// Runs `cmd` and returns its output; panics with both streams when it fails.
pub fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Builds libimkit.{a,so} with test hooks once per test process.
pub fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = Path::new(ROOT).join("target/c-abi");
        let out = run(Command::new(env!("CARGO"))
            .current_dir(ROOT)
            .args(["rustc", "--lib", "--features", "test-hooks", "--target-dir"])
            .arg(&target)
            .args(["--", "--print", "native-static-libs"])
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let native_libs = stderr
            .lines()
            .find_map(|l| l.split("native-static-libs:").nth(1))
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_else(|| {
                // Cargo did not rebuild, so rustc printed nothing: use the known list.
                readme_link_libs()
            });
        let lib_dir = target.join("debug");
        let soname = lib_dir.join(concat!("libimkit.so.", env!("IMKIT_ABI_VERSION")));
        let _ = std::fs::remove_file(&soname);
        std::os::unix::fs::symlink("libimkit.so", &soname).unwrap();
        Built {
            lib_dir,
            native_libs,
        }
    })
}

/// The libraries the README tells static linkers to add (line starting `LIBS_PRIVATE:`).
pub fn readme_link_libs() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.contains("libimkit.a") && l.contains("-lpthread"))
        .expect("README needs the static link line (cc ... libimkit.a -l...)");
    line.split_whitespace()
        .map(|w| w.trim_matches('`'))
        .filter(|w| w.starts_with("-l"))
        .map(String::from)
        .collect()
}

/// Whether `tool --version` runs.
#[allow(dead_code)] // each test binary compiles this module; not all of them probe tools
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The first ```` ```lang ```` code block after the README heading `heading`.
#[allow(dead_code)] // used by the binding tests only
pub fn readme_example(heading: &str, lang: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let fence = format!("```{lang}\n");
    let from = start
        + readme[start..]
            .find(&fence)
            .unwrap_or_else(|| panic!("no ```{lang} block under {heading:?}"))
        + fence.len();
    let len = readme[from..].find("```").unwrap();
    readme[from..from + len].to_string()
}
