//! `--threads N` (and `IMKIT_THREADS`) on the CLI: every command accepts it, and the bytes it
//! writes are the same whatever the thread count.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use imkit::{Image, PixelFormat, PixelType};

fn temp_dir(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-threads-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs imkit in `dir` with `args`, plus `IMKIT_THREADS` when given; panics on failure.
fn imkit(dir: &Path, env_threads: Option<&str>, args: &[&str]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imkit"));
    cmd.current_dir(dir).args(args).env_remove("IMKIT_THREADS");
    if let Some(n) = env_threads {
        cmd.env("IMKIT_THREADS", n);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "imkit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A noisy gradient, so that compressed blocks differ in size and order would matter.
fn frame(dtype: PixelType, w: usize, h: usize) -> Image {
    let format = PixelFormat::new(dtype, 3).unwrap();
    let mut img = Image::new(w, h, format).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let size = dtype.size();
    for (i, sample) in img.data_mut().chunks_exact_mut(size).enumerate() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = (i / 3) % w;
        let v = ((x * 255 / w) as u64 + (state >> 61)) as u8;
        match dtype {
            PixelType::F32 => sample.copy_from_slice(&(v as f32 / 255.0).to_ne_bytes()),
            PixelType::U16 => sample.copy_from_slice(&(v as u16 * 257).to_ne_bytes()),
            _ => sample[0] = v,
        }
    }
    img
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn outputs_are_identical_for_any_thread_count() {
    let dir = temp_dir("bytes");
    let opts = Default::default();
    let (w, h) = (1200, 700);
    imkit::codec::write_image(
        dir.join("u8.npy"),
        &frame(PixelType::U8, w, h).view(),
        &opts,
    )
    .unwrap();
    imkit::codec::write_image(
        dir.join("u16.npy"),
        &frame(PixelType::U16, w, h).view(),
        &opts,
    )
    .unwrap();
    imkit::codec::write_image(
        dir.join("f32.npy"),
        &frame(PixelType::F32, w, h).view(),
        &opts,
    )
    .unwrap();
    let mut outputs: Vec<Vec<Vec<u8>>> = Vec::new();
    for (flag, env) in [("1", None), ("2", None), ("3", None), ("0", Some("2"))] {
        let t = |name: &str| format!("{name}_{flag}_{}", env.unwrap_or("-"));
        let (u8png, u16png, exr) = (t("u8") + ".png", t("u16") + ".png", t("f32") + ".exr");
        let tile = t("tile") + ".png";
        let tiles = t("tiles");
        let threads: &[&str] = if env.is_some() {
            &[]
        } else {
            &["--threads", flag]
        };
        let run = |args: &[&str]| {
            let mut all = args.to_vec();
            all.extend_from_slice(threads);
            imkit(&dir, env, &all);
        };
        run(&["convert", "u8.npy", &u8png]);
        run(&["convert", "u16.npy", &u16png]);
        run(&["convert", "f32.npy", &exr]);
        run(&[
            "extract-tile",
            &u8png,
            &tile,
            "--x",
            "100",
            "--y",
            "50",
            "--tile",
            "300",
        ]);
        run(&["fragment", "u16.npy", "--out", &tiles, "--cell", "512"]);
        outputs.push(vec![
            read(dir.join(&u8png)),
            read(dir.join(&u16png)),
            read(dir.join(&exr)),
            read(dir.join(&tile)),
            read(dir.join(&tiles).join("tile_0001_0002.png")),
            read(dir.join(&tiles).join("manifest.json")),
        ]);
    }
    for (i, other) in outputs.iter().enumerate().skip(1) {
        for (k, (a, b)) in outputs[0].iter().zip(other).enumerate() {
            assert!(a == b, "output {k} differs between run 0 and run {i}");
        }
    }
}

#[test]
fn a_bad_thread_count_is_a_clear_error() {
    let dir = temp_dir("bad");
    let out = Command::new(env!("CARGO_BIN_EXE_imkit"))
        .current_dir(&dir)
        .args(["grid", "missing.png", "--threads", "100000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("thread count"), "{err}");
}
