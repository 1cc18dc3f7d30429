//! Fault injection in child processes (no root needed): a file-size limit (RLIMIT_FSIZE, with
//! SIGXFSZ ignored so writes fail with EFBIG), a vanished output directory, a read-only
//! directory and `kill -9` mid-write. Every write must fail with a clear error, leave the old
//! file intact and no temporary file behind, and never leave a torn file at the target path.
//!
//! The child is this test binary run again with `IMKIT_FAULT_CASE` set: the `fault_child`
//! test then performs that one operation and prints its outcome.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use imkit::io::queue::{QueueOptions, SaveQueue};
use imkit::io::{self, Metadata};
use imkit::progress::Progress;
use imkit::tiling::{self, Corner, TileSpec};
use imkit::{Image, PixelFormat, PixelType};

mod common;

/// Bytes a child may write per file under the size limit.
const FSIZE: u64 = 64 * 1024;

fn temp_dir(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("imkit-faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Noise compresses badly, so a 256x256 RGB image is ~200 KB in any format: past `FSIZE`.
fn noise(w: usize, h: usize, seed: u32) -> Image {
    let mut img = Image::new(w, h, PixelFormat::new(PixelType::U8, 3).unwrap()).unwrap();
    let mut x = seed | 1;
    for b in img.data_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = (x >> 24) as u8;
    }
    img
}

fn write_png(path: &Path, img: &Image) {
    imkit::codec::write_image(path, &img.view(), &Default::default()).unwrap();
}

/// Runs `case` in a child process inside `dir`, with the file-size limit when `limit`.
fn run_child(case: &str, dir: &Path, limit: bool) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "fault_child",
        "--exact",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("IMKIT_FAULT_CASE", case)
    .env("IMKIT_FAULT_DIR", dir);
    if limit {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: FSIZE,
                    rlim_max: FSIZE,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    cmd.output().unwrap()
}

/// The child's report: the line `FAULT-RESULT: ...` it printed.
fn outcome(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.split_once("FAULT-RESULT: ").map(|(_, r)| r))
        .unwrap_or_else(|| {
            panic!(
                "child gave no result (status {:?}): {stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_string()
}

fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in walk(dir) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".imkit-tmp") {
            found.push(name);
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The operation of one case, run in the child; returns a one-line description.
fn perform(case: &str, dir: &Path) -> imkit::Result<String> {
    let big = noise(256, 256, 7);
    match case {
        "save" => io::save(
            dir.join("old.png"),
            &big,
            &Metadata::new(),
            &Default::default(),
        )
        .map(|p| p.display().to_string()),
        "save_vanished" => io::save(
            dir.join("gone/old.png"),
            &big,
            &Metadata::new(),
            &Default::default(),
        )
        .map(|p| p.display().to_string()),
        "queue" => {
            let queue = SaveQueue::new(QueueOptions {
                threads: 2,
                ..QueueOptions::default()
            })?;
            for i in 0..6 {
                queue.push(dir.join(format!("q{i}.png")), &big, &Metadata::new())?;
            }
            let errors = queue.close()?;
            let mut ids: Vec<u64> = errors.iter().map(|e| e.id).collect();
            ids.sort_unstable();
            Ok(format!(
                "{} failed jobs {ids:?}: {}",
                errors.len(),
                errors.first().map_or("", |e| e.message.as_str())
            ))
        }
        "paste" | "paste_tiff" => {
            let base = dir.join(if case == "paste" {
                "old.png"
            } else {
                "old.tif"
            });
            let spec = TileSpec::square(8, 8, Corner::TopLeft, 16);
            tiling::paste_file(
                &base,
                dir.join("tile.png"),
                &base,
                &spec,
                &Default::default(),
                &mut Progress::none(),
            )
            .map(|p| format!("{:?}", p.image_rect))
        }
        "fragment" => {
            let p = imkit::partition::Partition::open(
                dir.join("big.png"),
                &imkit::partition::GridSpec::square(256, imkit::partition::Stride::Pixels(256)),
                None,
                &Default::default(),
            )?;
            std::fs::create_dir_all(dir.join("tiles")).map_err(|e| imkit::Error::io(dir, e))?;
            tiling::fragment(
                &p,
                &dir.join("tiles"),
                &Default::default(),
                &mut Progress::none(),
            )
            .map(|m| format!("{} tiles", m.tiles.len()))
        }
        "stitch" => tiling::stitch(
            &dir.join("tiles/manifest.json"),
            &dir.join("old.png"),
            &Default::default(),
            &mut Progress::none(),
        )
        .map(|()| "stitched".into()),
        "iid" => {
            let mut w = imkit::iid::IidWriter::new();
            // Noise masks: many components, far more than the size limit in total.
            let mask: Vec<u8> = noise(300, 100, 3).data().iter().map(|b| b & 1).collect();
            for k in 0..16u64 {
                w.add(
                    format!("label{k}").as_bytes(),
                    b"",
                    [k, k, k + 300, k + 300],
                    imkit::iid::MaskData::Bytes(&mask),
                )?;
            }
            w.save(dir.join("old.iid")).map(|()| "saved".into())
        }
        other => panic!("unknown fault case {other}"),
    }
}

/// The child side (does nothing in a normal test run).
#[test]
fn fault_child() {
    let (Ok(case), Ok(dir)) = (
        std::env::var("IMKIT_FAULT_CASE"),
        std::env::var("IMKIT_FAULT_DIR"),
    ) else {
        return;
    };
    match perform(&case, Path::new(&dir)) {
        Ok(what) => println!("FAULT-RESULT: ok {what}"),
        Err(e) => println!("FAULT-RESULT: error {e}"),
    }
}

/// Runs `case` under the size limit and checks: a clear error, `old` unchanged, no temp file.
fn assert_fails_cleanly(case: &str, dir: &Path, old: &Path) -> String {
    let before = std::fs::read(old).unwrap();
    let result = outcome(&run_child(case, dir, true));
    assert!(result.starts_with("error "), "{case}: {result}");
    assert!(
        result.contains("too large"),
        "{case}: not a clear error: {result}"
    );
    assert_eq!(
        std::fs::read(old).unwrap(),
        before,
        "{case}: the old file changed"
    );
    assert_eq!(
        temp_files(dir),
        Vec::<String>::new(),
        "{case}: temp files left"
    );
    result
}

#[test]
fn save_under_a_file_size_limit_keeps_the_old_file() {
    let dir = temp_dir("save");
    write_png(&dir.join("old.png"), &noise(16, 16, 1));
    assert_fails_cleanly("save", &dir, &dir.join("old.png"));
}

#[test]
fn save_queue_reports_every_failed_job() {
    let dir = temp_dir("queue");
    let result = outcome(&run_child("queue", &dir, true));
    assert!(
        result.starts_with("ok 6 failed jobs [1, 2, 3, 4, 5, 6]"),
        "{result}"
    );
    assert!(result.contains("too large"), "{result}");
    assert_eq!(temp_files(&dir), Vec::<String>::new());
    assert_eq!(
        walk(&dir),
        Vec::<PathBuf>::new(),
        "a failed job left a file"
    );
}

#[test]
fn paste_in_place_under_a_file_size_limit_keeps_the_base() {
    let dir = temp_dir("paste");
    write_png(&dir.join("old.png"), &noise(256, 256, 2));
    write_png(&dir.join("tile.png"), &noise(16, 16, 3));
    assert_fails_cleanly("paste", &dir, &dir.join("old.png"));
}

#[test]
fn tiff_paste_in_place_under_a_file_size_limit_keeps_the_base() {
    let dir = temp_dir("paste-tiff");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiling/rgb8_deflate_pred2.tif"
    );
    std::fs::copy(fixture, dir.join("old.tif")).unwrap();
    write_png(&dir.join("tile.png"), &noise(16, 16, 3));
    assert_fails_cleanly("paste_tiff", &dir, &dir.join("old.tif"));
}

#[test]
fn fragment_under_a_file_size_limit_fails_cleanly() {
    let dir = temp_dir("fragment");
    write_png(&dir.join("big.png"), &noise(1024, 256, 4));
    // 256x256 noise tiles (~200 KB) do not fit under the limit.
    let result = outcome(&run_child("fragment", &dir, true));
    assert!(
        result.starts_with("error ") && result.contains("too large"),
        "{result}"
    );
    assert_eq!(temp_files(&dir), Vec::<String>::new());
    assert!(!dir.join("tiles/manifest.json").exists());
    for tile in walk(&dir.join("tiles")) {
        if tile.extension().is_some_and(|e| e == "png") {
            imkit::codec::read_image(&tile).expect("no torn tile");
        }
    }
}

#[test]
fn stitch_under_a_file_size_limit_keeps_the_old_file() {
    let dir = temp_dir("stitch");
    std::fs::create_dir_all(dir.join("tiles")).unwrap();
    let spec = imkit::partition::GridSpec::square(128, imkit::partition::Stride::Pixels(128));
    let p = imkit::partition::Partition::from_image(noise(1024, 256, 4), &spec, None).unwrap();
    tiling::fragment(
        &p,
        &dir.join("tiles"),
        &Default::default(),
        &mut Progress::none(),
    )
    .unwrap();
    // Each tile fits; the stitched 1024x256 image (~800 KB) does not.
    write_png(&dir.join("old.png"), &noise(8, 8, 5));
    assert_fails_cleanly("stitch", &dir, &dir.join("old.png"));
}

#[test]
fn iid_save_under_a_file_size_limit_keeps_the_old_file() {
    let dir = temp_dir("iid");
    let mut w = imkit::iid::IidWriter::new();
    w.add(
        b"old",
        b"",
        [0, 0, 2, 2],
        imkit::iid::MaskData::Bytes(&[1, 0, 0, 1]),
    )
    .unwrap();
    w.save(dir.join("old.iid")).unwrap();
    assert_fails_cleanly("iid", &dir, &dir.join("old.iid"));
}

#[test]
fn vanished_and_read_only_directories_give_clear_errors() {
    let dir = temp_dir("vanished");
    let result = outcome(&run_child("save_vanished", &dir, false));
    assert!(
        result.starts_with("error ") && result.contains("gone"),
        "{result}"
    );
    assert!(result.contains("does not exist"), "{result}");
    assert_eq!(walk(&dir), Vec::<PathBuf>::new());

    if unsafe { libc::geteuid() } == 0 {
        common::skipped(
            "running as root: permissions do not stop root",
            "vanished_and_read_only_directories_give_clear_errors (read-only part)",
        );
        return;
    }
    let ro = temp_dir("read-only");
    write_png(&ro.join("old.png"), &noise(16, 16, 6));
    let before = std::fs::read(ro.join("old.png")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let result = outcome(&run_child("save", &ro, false));
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(result.contains("ermission denied"), "{result}");
    assert_eq!(std::fs::read(ro.join("old.png")).unwrap(), before);
    assert_eq!(temp_files(&ro), Vec::<String>::new());
}

#[test]
fn kill_9_mid_write_never_tears_the_target() {
    let dir = temp_dir("kill");
    let old = noise(64, 64, 8);
    write_png(&dir.join("old.png"), &old);
    let new = noise(2048, 2048, 9);
    imkit::codec::write_image(dir.join("src.npy"), &new.view(), &Default::default()).unwrap();
    for delay_ms in [5, 40, 150] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_imkit"))
            .current_dir(&dir)
            .args(["convert", "src.npy", "old.png", "--png-compression", "9"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        // Either the old image or the complete new one, never a torn file.
        let got = imkit::codec::read_image(dir.join("old.png")).expect("target is never torn");
        assert!(got == old || got == new, "target changed to something else");
    }
}
