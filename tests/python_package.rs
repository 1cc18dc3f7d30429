//! The Python package (`bindings/python`): builds its wheel with maturin into a venv under
//! `target/py-venv` (created once and reused, as are the build directory `target/py-build`
//! and the pip downloads), installs it, runs its pytest suite and the README's Python quick
//! start. Says SKIPPED loudly when python3 cannot make a venv or pip cannot install the
//! build tools (`.ci/run` makes sure both work).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `cmd`, returning whether it succeeded; prints its output when it did not.
fn run_ok(cmd: &mut Command) -> bool {
    match cmd.output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!(
                "{:?} failed:\n{}\n{}",
                cmd,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("{cmd:?} could not start: {e}");
            false
        }
    }
}

/// The venv's python with the wheel installed, or why it could not be made (a missing
/// tool: the tests skip). A failing wheel build is a test failure, not a skip.
fn installed() -> &'static Result<PathBuf, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let root = Path::new(ROOT);
        let venv = root.join("target/py-venv");
        let python = venv.join("bin/python");
        if !python.exists() && !run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
            return Err("python3 -m venv failed: install python3-venv".into());
        }
        let have_tools = Command::new(&python)
            .args(["-c", "import numpy, pytest, maturin"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_tools
            && !run_ok(
                Command::new(&python)
                    .args(["-m", "pip", "install", "-q", "maturin", "numpy", "pytest"]),
            )
        {
            return Err("pip could not install maturin, numpy and pytest".into());
        }
        // The originals the compat modules are compared with, and Dask for imkit.dask;
        // their tests skip loudly when these cannot be installed.
        let peers = [
            "impart==0.0.5",
            "pyvips",
            "pyvips-binary",
            "iidfile==0.2.0",
            "pillow",
            "dask[array,distributed]",
        ];
        let have_peers = Command::new(&python)
            .args(["-c", "import impart, iidfile, PIL, dask.distributed"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_peers {
            run_ok(
                Command::new(&python)
                    .args(["-m", "pip", "install", "-q"])
                    .args(peers),
            );
        }
        let wheels = root.join("target/py-wheels");
        let _ = std::fs::remove_dir_all(&wheels);
        let built = run_ok(
            Command::new(venv.join("bin/maturin"))
                .args(["build", "--release", "--quiet", "-m"])
                .arg(root.join("bindings/python/Cargo.toml"))
                .arg("-o")
                .arg(&wheels)
                .arg("--interpreter")
                .arg(&python)
                .env("CARGO_TARGET_DIR", root.join("target/py-build"))
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS"),
        );
        assert!(built, "maturin could not build the imkit wheel");
        let wheel = std::fs::read_dir(&wheels)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .expect("maturin wrote a wheel");
        assert!(
            run_ok(
                Command::new(&python)
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        "--force-reinstall",
                        "--no-deps"
                    ])
                    .arg(&wheel)
            ),
            "pip could not install {}",
            wheel.display()
        );
        Ok(python)
    })
}

/// The venv's python, or `None` after printing SKIPPED.
fn python_or_skip(test: &str) -> Option<&'static Path> {
    match installed() {
        Ok(p) => Some(p),
        Err(reason) => {
            common::skipped(reason, test);
            None
        }
    }
}

#[test]
fn pytest_suite_passes() {
    let Some(python) = python_or_skip("python_package::pytest_suite_passes") else {
        return;
    };
    let root = Path::new(ROOT);
    let out = Command::new(python)
        .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
        .arg(root.join("bindings/python/tests"))
        // Temporary files and decode caches stay under target/, never in /tmp or ~.
        .arg(format!(
            "--basetemp={}",
            root.join("target/py-tmp").display()
        ))
        .env("IMKIT_CACHE_DIR", root.join("target/py-cache"))
        .env("IMKIT_FIXTURES", root.join("tests/fixtures"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "pytest failed:\n{text}");
    assert!(text.contains(" passed"), "pytest ran no test:\n{text}");
    for line in text.lines().filter(|l| l.starts_with("SKIPPED")) {
        common::skipped(line, "python_package::pytest_suite_passes");
    }
    eprintln!("{}", text.lines().last().unwrap_or_default());
}

/// The first ```python block after `heading` in the README.
fn readme_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let section = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has a {heading:?} section"));
    let from = section
        + readme[section..]
            .find("```python\n")
            .expect("a python block")
        + 10;
    readme[from..from + readme[from..].find("```").unwrap()].to_string()
}

/// Runs `code` as a script in a fresh directory; returns its stdout.
fn run_script(python: &Path, code: &str, what: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("example.py");
    std::fs::write(&script, code).unwrap();
    let out = Command::new(python)
        .arg(&script)
        .current_dir(dir.path())
        .env("IMKIT_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn readme_python_quick_start_runs() {
    let Some(python) = python_or_skip("python_package::readme_python_quick_start_runs") else {
        return;
    };
    let stdout = run_script(
        python,
        &readme_block("\n## Python\n"),
        "README Python example",
    );
    assert!(
        stdout.contains("Rect(left="),
        "unexpected output:\n{stdout}"
    );
}

#[test]
fn readme_cluster_example_runs() {
    let test = "python_package::readme_cluster_example_runs";
    let Some(python) = python_or_skip(test) else {
        return;
    };
    let has_dask = Command::new(python)
        .args(["-c", "import dask.distributed"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_dask {
        common::skipped("dask[distributed] is not installed in the test venv", test);
        return;
    }
    let stdout = run_script(
        python,
        &readme_block("\n### Running on a cluster\n"),
        "README cluster example",
    );
    assert!(
        stdout.trim().parse::<f64>().is_ok(),
        "unexpected output:\n{stdout}"
    );
}
