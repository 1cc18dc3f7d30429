//! Fuzzes paste: a fuzzed tile file pasted into a fuzzed base file (both any format) at a
//! fuzzed place. It must fail cleanly or leave every pixel outside the tile unchanged.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use imkit::codec;
use imkit::progress::Progress;
use imkit::tiling::{self, Corner, EdgePolicy, TileSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (x, y, edge) = (data[0] as i64 - 64, data[1] as i64 - 64, data[2] % 3);
    let (tile_bytes, base_bytes) = common::split(&data[3..]);
    let base = common::file("base.img", base_bytes);
    let tile = common::file("tile.img", tile_bytes);
    let Ok(info) = codec::probe(&tile) else {
        return;
    };
    let spec = TileSpec {
        x,
        y,
        corner: Corner::TopLeft,
        width: info.width,
        height: info.height,
        edge: [EdgePolicy::Error, EdgePolicy::Clip, EdgePolicy::Pad(1.0)][edge as usize],
    };
    let out = common::scratch().join("out.png");
    let _ = std::fs::remove_file(&out);
    let Ok(placement) = tiling::paste_file(&base, &tile, &out, &spec, &Default::default(), &mut Progress::none())
    else {
        assert!(!out.exists(), "a failed paste left its output");
        return;
    };
    let (before, after) = (codec::read_image(&base).unwrap(), codec::read_image(&out).unwrap());
    let rect = placement.image_rect;
    let bpp = before.format().bytes_per_pixel();
    for yy in 0..before.height() {
        let (a, b) = (before.view().row(yy), after.view().row(yy));
        if (rect.top as usize..rect.bottom as usize).contains(&yy) {
            let (l, r) = (rect.left as usize * bpp, rect.right as usize * bpp);
            assert_eq!(a[..l], b[..l]);
            assert_eq!(a[r..], b[r..]);
        } else {
            assert_eq!(a, b, "row {yy} outside the tile changed");
        }
    }
});
