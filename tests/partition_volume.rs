//! Volumes seen from outside: 3-D selections read through the C ABI into caller buffers
//! ((d, h, w[, c]) C order) compared with NumPy slicing, `imkit info` on multi-page TIFF and
//! volume NPY, `imkit grid` with a depth axis, and the README's volume example run as written.
//! Needs numpy (and tifffile for the TIFF case) in `$IMKIT_PYTHON`; skips loudly otherwise.

mod common;

use std::ffi::{c_void, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr;

use imkit::ffi::*;

fn python() -> String {
    std::env::var("IMKIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs `code` in Python in `dir`; None (after a SKIPPED line) when `modules` cannot be imported.
fn run_python(dir: &Path, modules: &str, code: &str, test: &str) -> Option<Vec<u8>> {
    let probe = Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .output();
    if !probe.map(|o| o.status.success()).unwrap_or(false) {
        common::skipped(&format!("python lacks {modules}"), test);
        return None;
    }
    let out = Command::new(python())
        .args(["-c", code])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

fn scratch(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn imkit(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_imkit"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "imkit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A NumPy-style key: `None` the whole axis, `Some((i, i64::MAX))` index `i`, `Some((a, b))`
/// the slice `a:b` (`i64::MIN` = an omitted bound).
type Key = Option<(i64, i64)>;

fn key(k: Key) -> imkit_axis_key {
    let (kind, start, stop) = match k {
        None => (imkit_key_kind::All, 0, 0),
        Some((i, i64::MAX)) => (imkit_key_kind::Index, i, 0),
        Some((a, b)) => (imkit_key_kind::Slice, a, b),
    };
    imkit_axis_key {
        kind: kind as i32,
        has_start: start != i64::MIN,
        has_stop: stop != i64::MIN,
        start: start.max(i64::MIN + 1),
        stop: stop.max(i64::MIN + 1),
    }
}

/// Reads a selection through the C ABI into a caller buffer sized by the region query.
fn c_read(path: &Path, cell: [u64; 3], step_depth: u64, keys: &[imkit_axis_key]) -> Vec<u8> {
    unsafe {
        let mut opts = ptr::null_mut();
        assert_eq!(imkit_partition_options_new(&mut opts), imkit_status::Ok);
        assert_eq!(
            imkit_partition_options_set_cell(opts, cell[1], cell[2]),
            imkit_status::Ok
        );
        assert_eq!(
            imkit_partition_options_set_depth(opts, cell[0], step_depth),
            imkit_status::Ok
        );
        let c_path = CString::new(path.to_str().unwrap()).unwrap();
        let mut p = ptr::null_mut();
        assert_eq!(
            imkit_partition_open(c_path.as_ptr(), opts, &mut p),
            imkit_status::Ok
        );
        imkit_partition_options_free(opts);
        let mut len = 0usize;
        assert_eq!(
            imkit_partition_region(p, keys.as_ptr(), keys.len(), ptr::null_mut(), &mut len),
            imkit_status::Ok
        );
        let mut buf = vec![0u8; len];
        let status = imkit_partition_read(
            p,
            keys.as_ptr(),
            keys.len(),
            imkit_layout::Interleaved as i32,
            buf.as_mut_ptr() as *mut c_void,
            buf.len(),
        );
        assert_eq!(status, imkit_status::Ok);
        imkit_partition_free(p);
        buf
    }
}

const ALL: Key = None;
const O: i64 = i64::MIN;
fn at(i: i64) -> Key {
    Some((i, i64::MAX))
}
fn sl(a: i64, b: i64) -> Key {
    Some((a, b))
}

#[test]
fn c_abi_volume_reads_match_numpy_slicing() {
    let dir = scratch("partition_volume_c");
    // A (7, 20, 30, 3) uint16 volume; cells 2x8x10 with depth step 2 (so cell k of the depth
    // axis is slices 2k..2k+2), and the pixel boxes NumPy slicing gives for each key.
    let cases: [([Key; 3], &str); 5] = [
        ([at(1), at(0), at(0)], "a[2:4, 0:8, 0:10]"),
        ([sl(1, -1), ALL, at(-1)], "a[2:6, :, 20:30]"),
        ([at(-1), sl(O, 2), sl(1, O)], "a[6:7, 0:16, 10:30]"),
        ([sl(O, O), at(-2), ALL], "a[:, 8:16, :]"),
        ([ALL, ALL, ALL], "a"),
    ];
    let slices: Vec<&str> = cases.iter().map(|c| c.1).collect();
    let code = format!(
        "import numpy as np, sys\n\
         a = (np.arange(7*20*30*3, dtype=np.uint32) * 2654435761 % 65521).astype(np.uint16)\
         .reshape(7, 20, 30, 3)\n\
         np.save('vol.npy', a)\n\
         for s in [{}]:\n    sys.stdout.buffer.write(np.ascontiguousarray(s).tobytes())\n",
        slices.join(", ")
    );
    let Some(expected) = run_python(
        &dir,
        "numpy",
        &code,
        "c_abi_volume_reads_match_numpy_slicing",
    ) else {
        return;
    };
    let mut rest = &expected[..];
    for (keys, numpy) in cases {
        let keys: Vec<imkit_axis_key> = keys.into_iter().map(key).collect();
        let got = c_read(&dir.join("vol.npy"), [2, 8, 10], 2, &keys);
        assert!(got.len() <= rest.len(), "{numpy}: read {} bytes", got.len());
        assert!(
            got == rest[..got.len()],
            "{numpy}: pixels differ from NumPy's"
        );
        rest = &rest[got.len()..];
    }
    assert!(
        rest.is_empty(),
        "a read returned fewer bytes than NumPy's slice"
    );
}

#[test]
fn info_lists_tiff_pages_and_npy_slices() {
    let dir = scratch("partition_volume_info");
    let code = "import numpy as np, tifffile\n\
                np.save('vol4.npy', np.zeros((6, 50, 70, 3), np.uint8))\n\
                np.save('vol3.npy', np.zeros((20, 64, 80), np.uint16))\n\
                tifffile.imwrite('vol.tif', np.zeros((6, 50, 70, 3), np.uint8), photometric='rgb')\n\
                with tifffile.TiffWriter('mixed.tif') as t:\n\
                \x20   t.write(np.zeros((50, 70, 3), np.uint8), photometric='rgb')\n\
                \x20   t.write(np.zeros((40, 30), np.uint16))\n";
    if run_python(
        &dir,
        "numpy, tifffile",
        code,
        "info_lists_tiff_pages_and_npy_slices",
    )
    .is_none()
    {
        return;
    }
    let out = imkit(&dir, &["info", "vol.tif"]);
    assert!(
        out.contains("pages:    6, all 70 x 50 uint8 x 3 channel(s)"),
        "{out}"
    );
    assert!(out.contains("  page 5: 70 x 50 uint8"), "{out}");
    let out = imkit(&dir, &["info", "mixed.tif"]);
    assert!(out.contains("pages:    2, which differ"), "{out}");
    assert!(
        out.contains("  page 1: 30 x 40 uint16 x 1 channel(s)"),
        "{out}"
    );
    let out = imkit(&dir, &["info", "vol4.npy"]);
    assert!(out.contains("volume:   6 slices of 70 x 50"), "{out}");
    let out = imkit(&dir, &["info", "vol3.npy"]);
    assert!(out.contains("with --volume, 20 slices of 80 x 64"), "{out}");
}

/// The first ```sh block after `heading` in the README.
fn readme_sh_block(heading: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find(heading).expect("README section")..];
    let start = section.find("```sh\n").expect("a sh block") + 6;
    section[start..start + section[start..].find("```").unwrap()].to_string()
}

#[test]
fn readme_volume_example_runs_and_grid_shows_depth() {
    let dir = scratch("partition_volume_readme");
    let block = readme_sh_block("## Partition, fragment and stitch");
    if run_python(
        &dir,
        "numpy",
        "",
        "readme_volume_example_runs_and_grid_shows_depth",
    )
    .is_none()
    {
        return;
    }
    // As written, with `imkit` and `python3` (the one with numpy) first on PATH.
    let bin = Path::new(env!("CARGO_BIN_EXE_imkit")).parent().unwrap();
    // The interpreter's own directory (a venv's bin holds its `python3`), as invoked.
    let py = PathBuf::from(python());
    let py_dir = match py.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("/usr/bin"),
    };
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        py_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euc", &block])
        .env("PATH", path)
        .current_dir(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("with --volume, 20 slices of 80 x 64"),
        "{text}"
    );
    assert!(
        text.contains("grid     9 deep x 2 rows x 3 cols = 54 cells; cell 4x32x32 (d x h x w)"),
        "{text}"
    );
    assert!(text.contains("depth     0:0..4  1:2..6"), "{text}");
    assert!(
        text.contains("-> depth 1..3, rows 1..2, cols 0..3: z 2..8 (6 slices), x 0..80, y 32..64"),
        "{text}"
    );
}
