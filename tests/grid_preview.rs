//! `imkit grid IMAGE --preview OUT.png`: the grid and the selected cells drawn over a
//! thumbnail, checked pixel by pixel on an image whose thumbnail is known exactly.

mod common;

use std::process::Command;

use imkit::codec::{self, WriteOptions};
use imkit::partition::preview::{GRID_RGB, SELECTED_RGB, TINT_RGB};
use imkit::{Image, PixelFormat, PixelType};

#[test]
fn preview_outlines_cells_and_tints_the_selection() {
    let dir = common::scratch_root().join("grid_preview");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A flat grey 400x300 image: every thumbnail pixel is grey 100 before drawing.
    let format = PixelFormat::new(PixelType::U8, 3).unwrap();
    let mut image = Image::new(400, 300, format).unwrap();
    image.data_mut().fill(100);
    let input = dir.join("grey.png");
    codec::write_image(&input, &image.view(), &WriteOptions::default()).unwrap();
    let out = dir.join("preview.png");
    let run = Command::new(env!("CARGO_BIN_EXE_imkit"))
        .args([
            "grid",
            input.to_str().unwrap(),
            "--cell",
            "100",
            "--key",
            "1, 2",
        ])
        .args(["--preview", out.to_str().unwrap(), "--preview-width", "200"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("(200x150)"));

    let picture = codec::read_image(&out).unwrap();
    assert_eq!((picture.width(), picture.height()), (200, 150));
    assert_eq!(picture.format(), format);
    let px = |x: usize, y: usize| -> [u8; 3] {
        let at = (y * 200 + x) * 3;
        picture.data()[at..at + 3].try_into().unwrap()
    };
    let tint = TINT_RGB.map(|t| ((100 + t as u16) / 2) as u8);
    // Cells are 50 thumbnail pixels square; (row 1, col 2) covers x 100..150, y 50..100.
    assert_eq!(px(25, 25), [100; 3], "inside an unselected cell");
    assert_eq!(px(0, 25), GRID_RGB, "left edge of cell (0, 0)");
    assert_eq!(px(49, 25), GRID_RGB, "right edge of cell (0, 0)");
    assert_eq!(px(25, 50), GRID_RGB, "top edge of cell (1, 0)");
    assert_eq!(px(125, 75), tint, "inside the selected cell");
    assert_eq!(px(100, 75), SELECTED_RGB, "left edge of the selected cell");
    assert_eq!(
        px(125, 99),
        SELECTED_RGB,
        "bottom edge of the selected cell"
    );
    assert_eq!(
        px(175, 75),
        [100; 3],
        "inside the cell right of the selection"
    );
    let tinted = (0..150)
        .flat_map(|y| (0..200).map(move |x| (x, y)))
        .filter(|&(x, y)| px(x, y) == tint)
        .count();
    assert_eq!(
        tinted,
        48 * 48,
        "only the selected cell's interior is tinted"
    );
}
