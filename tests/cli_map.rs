//! `imkit map` with small scripts as the per-tile command: a copying shell script gives the
//! input back under feathered blending, a Python script editing NPY tiles gives its edit, a
//! failing script stops the run with the cell named and no output left.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn imkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imkit"))
        .args(args)
        .output()
        .unwrap()
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

fn sample(dir: &Path) -> (PathBuf, imkit::Image) {
    let format = imkit::PixelFormat::new(imkit::PixelType::U8, 3).unwrap();
    let mut img = imkit::Image::new(150, 110, format).unwrap();
    for (i, b) in img.data_mut().iter_mut().enumerate() {
        *b = (i * 31 % 251) as u8;
    }
    let path = dir.join("input.png");
    imkit::codec::write_image(&path, &img.view(), &Default::default()).unwrap();
    (path, img)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_copying_script_gives_the_input_back() {
    let dir = tempfile::tempdir().unwrap();
    let (input, img) = sample(dir.path());
    let cp = script(dir.path(), "copy.sh", "#!/bin/sh\ncp \"$1\" \"$2\"\n");
    let output = dir.path().join("out.png");
    let out = imkit(&[
        "map",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--cell",
        "48",
        "--overlap",
        "16",
        "--blend",
        "linear",
        "--jobs",
        "3",
        "--",
        &cp,
        "{in}",
        "{out}",
    ]);
    ok(&out);
    assert!(imkit::codec::read_image(&output).unwrap().data() == img.data());
}

#[test]
fn a_python_script_editing_npy_tiles() {
    let python = std::env::var("IMKIT_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().unwrap();
    let (input, img) = sample(dir.path());
    // Inverts every sample: the NPY header ends with the first newline.
    let invert = script(
        dir.path(),
        "invert.py",
        "import sys\nb = open(sys.argv[1], 'rb').read()\ni = b.index(b'\\n') + 1\n\
         open(sys.argv[2], 'wb').write(b[:i] + bytes(255 - v for v in b[i:]))\n",
    );
    let output = dir.path().join("out.png");
    let out = imkit(&[
        "map",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--cell",
        "64",
        "--overlap",
        "8",
        "--blend",
        "gaussian",
        "--tile-format",
        "npy",
        "--grow",
        "0,10,5,0",
        "--fill",
        "255",
        "--",
        &python,
        &invert,
        "{in}",
        "{out}",
    ]);
    ok(&out);
    let got = imkit::codec::read_image(&output).unwrap();
    assert_eq!((got.width(), got.height()), (160, 115));
    for y in 0..115 {
        for x in 0..160 {
            let px = &got.view().row(y)[x * 3..x * 3 + 3];
            if x < 150 && y < 110 {
                let src = &img.view().row(y)[x * 3..x * 3 + 3];
                assert_eq!(px, &[255 - src[0], 255 - src[1], 255 - src[2]]);
            } else {
                assert_eq!(px, &[0, 0, 0], "margin ({x}, {y}) is the inverted fill");
            }
        }
    }
}

#[test]
fn a_failing_script_names_the_cell_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = sample(dir.path());
    let bad = script(
        dir.path(),
        "bad.sh",
        "#!/bin/sh\ncase \"$1\" in *in_1_2.png) echo 'model crashed' >&2; exit 3;; esac\ncp \"$1\" \"$2\"\n",
    );
    let output = dir.path().join("out.png");
    let out = imkit(&[
        "map",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--cell",
        "40",
        "--",
        &bad,
        "{in}",
        "{out}",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cell (row 1, col 2)") && stderr.contains("model crashed"),
        "{stderr}"
    );
    assert!(!output.exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "only the input and the script: {names:?}");
    // A command that writes nothing is a clear error too.
    let out = imkit(&[
        "map",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--",
        "true",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not write"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
