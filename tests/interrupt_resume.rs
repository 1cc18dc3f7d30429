//! Interrupts and resume, in child processes: SIGINT / SIGTERM stop `imkit fragment` with exit
//! 130 and no temporary file; `kill -9` leaves complete tiles only; `fragment --resume` then
//! ends with exactly the files and manifest an uninterrupted run writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A noisy RGB image, slow enough to fragment that a signal lands mid-run.
fn noise(dir: &Path) -> PathBuf {
    let (w, h) = (2048, 1536);
    let format = imkit::PixelFormat::new(imkit::PixelType::U8, 3).unwrap();
    let mut img = imkit::Image::new(w, h, format).unwrap();
    let mut x = 0x2545_f491_u32;
    for b in img.data_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = (x >> 24) as u8;
    }
    let path = dir.join("noise.png");
    imkit::codec::write_image(&path, &img.view(), &Default::default()).unwrap();
    path
}

fn fragment(dir: &Path, out: &str, resume: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imkit"));
    cmd.current_dir(dir)
        .args(["fragment", "noise.png", "--cell", "128", "--stride", "0.75"])
        .args(["--compression", "9", "--out", out])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if resume {
        cmd.arg("--resume");
    }
    cmd
}

/// Every file under `dir` (relative names) with its bytes, sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn tiles_written(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("tile_"))
                .count()
        })
        .unwrap_or(0)
}

/// Starts a fragment run and sends `signal` once `at_least` tiles exist; returns the child.
fn interrupt(dir: &Path, out: &str, resume: bool, at_least: usize, signal: i32) -> Child {
    let child = fragment(dir, out, resume).spawn().unwrap();
    let start = Instant::now();
    while tiles_written(&dir.join(out)) < at_least {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "fragment never got going"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    unsafe { libc::kill(child.id() as i32, signal) };
    child
}

fn check_interrupted(child: Child, signal: i32, out: &Path) {
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    if signal == libc::SIGKILL {
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&result.status),
            Some(9)
        );
    } else {
        assert_eq!(
            result.status.code(),
            Some(130),
            "run finished before the signal? {stderr}"
        );
        assert!(stderr.contains("interrupted"), "{stderr}");
        let names: Vec<_> = files(out).into_iter().map(|(n, _)| n).collect();
        assert!(
            names.iter().all(|n| !n.ends_with(".imkit-tmp")),
            "temp files left: {names:?}"
        );
    }
    assert!(
        !out.join("manifest.json").exists(),
        "an interrupted run wrote its manifest"
    );
    assert!(out.join(".manifest.json.partial").exists());
}

#[test]
fn interrupted_fragment_resumes_to_the_same_bytes() {
    let dir = temp_dir("fragment");
    noise(&dir);
    let whole = fragment(&dir, "whole", false).output().unwrap();
    assert!(
        whole.status.success(),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    let expected = files(&dir.join("whole"));
    assert!(expected.len() > 100, "{} files", expected.len());

    let out = dir.join("cut");
    check_interrupted(
        interrupt(&dir, "cut", false, 3, libc::SIGINT),
        libc::SIGINT,
        &out,
    );
    let first = tiles_written(&out);
    check_interrupted(
        interrupt(&dir, "cut", true, first + 3, libc::SIGTERM),
        libc::SIGTERM,
        &out,
    );
    check_interrupted(
        interrupt(&dir, "cut", true, tiles_written(&out) + 3, libc::SIGKILL),
        libc::SIGKILL,
        &out,
    );
    let done = fragment(&dir, "cut", true).output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let got = files(&out);
    assert_eq!(got.len(), expected.len(), "file sets differ");
    for ((a, x), (b, y)) in got.iter().zip(&expected) {
        assert_eq!(a, b);
        assert!(x == y, "{a} differs from the uninterrupted run");
    }

    // Nothing to resume once complete, or in a fresh directory.
    let again = fragment(&dir, "cut", true).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to resume"));
}
