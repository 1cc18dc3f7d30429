//! Volumes end to end through fragment and stitch: 3-D and 4-D NPY and multi-page TIFF
//! volumes come back bit for bit for every blend, stride (depth stride included) and edge,
//! with cells of one slice or 3-D cells; per-slice outputs, one-image formats refused,
//! unequal TIFF pages refused, old manifests still read; the CLI cases of issue 16.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use imkit::array::NdArray;
use imkit::codec::{self, npy, tiff::TiffPages, Format, WriteOptions};
use imkit::partition::{EdgePolicy, GridSpec, Partition, Stride};
use imkit::pixel::{PixelFormat, PixelType};
use imkit::progress::Progress;
use imkit::source::{self, Channels, OpenOptions};
use imkit::tiling::{fragment, stitch, Blend, FragmentOptions, Manifest, StitchOptions};
use imkit::{Image, Rect};

fn scratch(name: &str) -> PathBuf {
    let dir = common::scratch_root().join(format!("volumes-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A volume of `d` slices of `w` x `h` pixels with distinct, slice-dependent samples.
fn volume(d: usize, h: usize, w: usize, format: PixelFormat) -> Vec<Image> {
    (0..d)
        .map(|z| {
            let mut img = Image::new(w, h, format).unwrap();
            let size = format.dtype.size();
            for (i, s) in img.data_mut().chunks_exact_mut(size).enumerate() {
                let v = (i * 7 + z * 131 + i / 17) % 997;
                match format.dtype {
                    PixelType::U8 => s[0] = v as u8,
                    PixelType::U16 => s.copy_from_slice(&((v * 61) as u16).to_ne_bytes()),
                    _ => s.copy_from_slice(&(v as f32 * 0.25 - 7.0).to_ne_bytes()),
                }
            }
            img
        })
        .collect()
}

/// The slices as one array: `(d, h, w)` for one channel, `(d, h, w, c)` otherwise.
fn as_array(slices: &[Image]) -> NdArray {
    let f = slices[0].format();
    let mut shape = vec![slices.len(), slices[0].height(), slices[0].width()];
    if f.channels > 1 {
        shape.push(f.channels);
    }
    let data = slices.iter().flat_map(|s| s.data().to_vec()).collect();
    NdArray::from_vec(f.dtype, &shape, data).unwrap()
}

fn write_tiff(path: &Path, pages: &[Image]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = TiffPages::new(std::io::BufWriter::new(file), "test").unwrap();
    for page in pages {
        writer.write_page(&page.view()).unwrap();
    }
}

/// Every slice of a volume file (NPY read as a volume, TIFF pages).
fn read_slices(path: &Path) -> Vec<Image> {
    let options = OpenOptions {
        volume: true,
        ..Default::default()
    };
    let src = source::open(path, &options).unwrap();
    let (w, h) = (src.width(), src.height());
    (0..src.depth())
        .map(|z| {
            let mut img = Image::new(w as usize, h as usize, src.format()).unwrap();
            let all = Channels::all(src.format().channels);
            source::read_region(
                &*src,
                z,
                Rect::from_xywh(0, 0, w, h),
                &all,
                &mut img.view_mut(),
            )
            .unwrap();
            img
        })
        .collect()
}

/// Writes `slices` as an NPY array into `dir`.
fn write_npy(dir: &Path, name: &str, slices: &[Image]) -> PathBuf {
    let path = dir.join(name);
    npy::write_file(&path, &as_array(slices)).unwrap();
    path
}

/// A partition over a volume file (3-D NPY read as `(d, h, w)`).
fn open_volume(path: &Path, spec: &GridSpec) -> Partition {
    let options = OpenOptions {
        volume: true,
        ..Default::default()
    };
    Partition::open(path, spec, None, &options).unwrap()
}

/// Fragments `p` into `dir/name` with `options`; returns the manifest and its path.
fn fragment_into(
    p: &Partition,
    dir: &Path,
    name: &str,
    options: &FragmentOptions,
) -> (Manifest, PathBuf) {
    let tiles = dir.join(name);
    std::fs::create_dir_all(&tiles).unwrap();
    let m = fragment(p, &tiles, options, &mut Progress::none()).unwrap();
    (m, tiles.join("manifest.json"))
}

/// Stitches `manifest` into `out` with `blend`, every slice or `slice`.
fn stitch_to(manifest: &Path, out: &Path, blend: Blend, slice: Option<u64>) -> imkit::Result<()> {
    let options = StitchOptions {
        blend,
        slice,
        band_rows: 11,
        ..Default::default()
    };
    stitch(manifest, out, &options, &mut Progress::none())
}

fn cases() -> Vec<(&'static str, GridSpec)> {
    let px = Stride::Pixels;
    let fr = Stride::Fraction;
    vec![
        ("2-D cells", GridSpec::new(16, 20, fr(0.5), px(12))),
        (
            "3-D cells, depth step 2",
            GridSpec::new(16, 16, px(12), fr(0.75)).with_depth(4, px(2)),
        ),
        (
            "3-D cells, depth stride 0.75, pad",
            GridSpec::new(20, 16, px(16), px(10))
                .with_depth(4, fr(0.75))
                .with_edge(EdgePolicy::Pad),
        ),
        (
            "3-D cells, shift",
            GridSpec::new(16, 16, px(12), px(12))
                .with_depth(3, px(2))
                .with_edge(EdgePolicy::Shift),
        ),
        (
            "3-D cells without overlap, clip",
            GridSpec::new(32, 32, fr(1.0), fr(1.0)).with_depth(5, fr(1.0)),
        ),
    ]
}

#[test]
fn volumes_round_trip_for_every_blend_stride_and_edge() {
    let dir = scratch("round-trip");
    let sources = [
        ("npy3", PixelFormat::new(PixelType::U16, 1).unwrap()),
        ("npy4", PixelFormat::new(PixelType::U8, 3).unwrap()),
        ("tif", PixelFormat::new(PixelType::F32, 1).unwrap()),
    ];
    for (kind, format) in sources {
        let slices = volume(9, 37, 45, format);
        let src = if kind == "tif" {
            let path = dir.join("vol.tif");
            write_tiff(&path, &slices);
            path
        } else {
            write_npy(&dir, &format!("{kind}.npy"), &slices)
        };
        for (name, spec) in cases() {
            let p = open_volume(&src, &spec);
            // 3-D cells as NPY volumes or multi-page TIFF tiles; 2-D cells as images.
            let tile_ext = match (spec.cell[0] > 1, kind) {
                (true, "tif") => "tif",
                (true, _) => "npy",
                (false, "tif") => "exr",
                (false, _) => "png",
            };
            let options = FragmentOptions {
                template: Some(format!("t_{{z:02}}_{{row}}_{{col}}.{tile_ext}")),
                ..Default::default()
            };
            let (m, manifest) = fragment_into(&p, &dir, "tiles", &options);
            assert_eq!(m.depth, 9);
            assert_eq!(m.depth_axis.cell, spec.cell[0], "{kind} {name}");
            assert_eq!(m.depth_axis.cells, p.grid().depth().count());
            assert_eq!(m.tiles.len() as u64, p.grid().len(), "{kind} {name}");
            assert_eq!(Manifest::read(&manifest).unwrap(), m);
            for blend in Blend::ALL {
                for out_ext in ["npy", "tif"] {
                    let out = dir.join(format!("back.{out_ext}"));
                    stitch_to(&manifest, &out, blend, None).unwrap();
                    if out_ext == "npy" {
                        let arr = npy::read_file(&out).unwrap();
                        let want = as_array(&slices);
                        assert_eq!(arr.shape(), want.shape(), "{kind} {name} {blend:?}");
                        assert!(arr.data() == want.data(), "{kind} {name} {blend:?}");
                    }
                    let got = read_slices(&out);
                    assert!(got == slices, "{kind} {name} {blend:?} .{out_ext}");
                }
            }
            std::fs::remove_dir_all(dir.join("tiles")).unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn drop_edge_with_cells_that_fit_round_trips() {
    let dir = scratch("drop");
    let slices = volume(8, 32, 40, PixelFormat::new(PixelType::U16, 1).unwrap());
    let src = write_npy(&dir, "vol.npy", &slices);
    let spec = GridSpec::new(16, 20, Stride::Pixels(8), Stride::Pixels(10))
        .with_depth(4, Stride::Pixels(2))
        .with_edge(EdgePolicy::Drop);
    let p = open_volume(&src, &spec);
    assert_eq!(p.grid().len(), 27);
    let (_, manifest) = fragment_into(&p, &dir, "tiles", &FragmentOptions::default());
    for blend in Blend::ALL {
        let out = dir.join("back.npy");
        stitch_to(&manifest, &out, blend, None).unwrap();
        assert!(npy::read_file(&out).unwrap().data() == as_array(&slices).data());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tiles_are_hashed_from_the_bytes_written_and_encoders_match_the_file_writers() {
    let dir = scratch("encode");
    let cases = [
        (Format::Png, PixelFormat::new(PixelType::U16, 3).unwrap()),
        (Format::Tiff, PixelFormat::new(PixelType::U8, 4).unwrap()),
        (Format::Npy, PixelFormat::new(PixelType::F32, 2).unwrap()),
        (Format::Exr, PixelFormat::new(PixelType::F32, 3).unwrap()),
    ];
    for (format, pixels) in cases {
        let img = &volume(1, 33, 47, pixels)[0];
        let view = img.view().crop(Rect::from_xywh(3, 2, 40, 30)).unwrap();
        let path = dir.join(format!("x.{}", format.extension()));
        codec::write_image(&path, &view, &WriteOptions::default()).unwrap();
        let bytes = codec::encode_image(format, &view, &WriteOptions::default()).unwrap();
        assert!(std::fs::read(&path).unwrap() == bytes, "{format:?}");
    }
    // A fragment's manifest holds the hash of each file's bytes.
    let slices = volume(5, 20, 30, PixelFormat::new(PixelType::U8, 1).unwrap());
    let src = dir.join("vol.tif");
    write_tiff(&src, &slices);
    let spec = GridSpec::square(16, Stride::Pixels(8)).with_depth(2, Stride::Pixels(2));
    let p = open_volume(&src, &spec);
    let (m, manifest) = fragment_into(&p, &dir, "tiles", &FragmentOptions::default());
    let tiles = manifest.parent().unwrap();
    for t in &m.tiles {
        let bytes = std::fs::read(tiles.join(&t.file)).unwrap();
        assert_eq!(imkit::digest::sha256_hex(&bytes), t.sha256);
        assert!(
            t.file.starts_with("tile_") && t.file.ends_with(".npy"),
            "{}",
            t.file
        );
    }
    // The last depth cell is clipped to one slice, still a volume file.
    let last = m.tiles.last().unwrap();
    assert_eq!((last.z, last.slices), (4, 1));
    let shape = npy::probe(&tiles.join(&last.file)).unwrap().shape;
    assert_eq!(shape, [1, 12, 14]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn per_slice_outputs_one_image_formats_and_slice_choice() {
    let dir = scratch("outputs");
    let slices = volume(4, 30, 26, PixelFormat::new(PixelType::U8, 3).unwrap());
    let src = write_npy(&dir, "vol.npy", &slices);
    let p = open_volume(&src, &GridSpec::square(16, Stride::Fraction(0.5)));
    let (m, manifest) = fragment_into(&p, &dir, "tiles", &FragmentOptions::default());
    assert_eq!(m.tiles[0].file, "tile_0000_0000_0000.png");
    let run = |out: &Path, slice| stitch_to(&manifest, out, Blend::Linear, slice);
    // A one-image format without {z} is an error that says so, and writes nothing.
    for ext in ["png", "exr"] {
        let out = dir.join(format!("all.{ext}"));
        let err = run(&out, None).unwrap_err().to_string();
        assert!(
            err.contains("holds one image") && err.contains("4 slices") && err.contains("{z}"),
            "{err}"
        );
        assert!(!out.exists());
    }
    // {z} in the name: one file per slice.
    run(&dir.join("slice_{z:02}.png"), None).unwrap();
    for (z, want) in slices.iter().enumerate() {
        let got = codec::read_image(dir.join(format!("slice_{z:02}.png"))).unwrap();
        assert!(&got == want, "slice {z}");
    }
    // One chosen slice as an image; a slice past the end is refused.
    run(&dir.join("two.png"), Some(2)).unwrap();
    assert!(codec::read_image(dir.join("two.png")).unwrap() == slices[2]);
    assert!(matches!(
        run(&dir.join("x.png"), Some(4)),
        Err(imkit::Error::OutOfBounds(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn old_volume_manifests_without_a_depth_axis_still_stitch() {
    let dir = scratch("old-manifest");
    let slices = volume(3, 20, 24, PixelFormat::new(PixelType::U16, 1).unwrap());
    let src = write_npy(&dir, "vol.npy", &slices);
    let p = open_volume(&src, &GridSpec::square(16, Stride::Pixels(8)));
    let (_, path) = fragment_into(&p, &dir, "tiles", &FragmentOptions::default());
    // Remove what older versions did not write: grid.depth and each tile's slices.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["grid"].as_object_mut().unwrap().remove("depth").unwrap();
    for t in v["tiles"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("slices").unwrap();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let out = dir.join("back.npy");
    stitch_to(&path, &out, Blend::Average, None).unwrap();
    assert!(npy::read_file(&out).unwrap().data() == as_array(&slices).data());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn volume_tiles_and_stitches_do_not_depend_on_the_thread_count() {
    let dir = scratch("threads");
    let slices = volume(7, 40, 52, PixelFormat::new(PixelType::U8, 4).unwrap());
    let src = dir.join("vol.tif");
    write_tiff(&src, &slices);
    let spec = GridSpec::square(24, Stride::Fraction(0.6)).with_depth(3, Stride::Pixels(2));
    let mut runs = Vec::new();
    for threads in [1, 3] {
        imkit::threads::set_num_threads(threads).unwrap();
        let options = FragmentOptions {
            template: Some("t_{z}_{row}_{col}.tif".into()),
            ..Default::default()
        };
        let name = format!("t{threads}");
        let (m, manifest) = fragment_into(&open_volume(&src, &spec), &dir, &name, &options);
        let out = dir.join(format!("s{threads}.tif"));
        stitch_to(&manifest, &out, Blend::Gaussian, None).unwrap();
        let files: Vec<Vec<u8>> = m
            .tiles
            .iter()
            .map(|t| std::fs::read(dir.join(&name).join(&t.file)).unwrap())
            .collect();
        runs.push((m.to_json(), files, std::fs::read(&out).unwrap()));
    }
    imkit::threads::set_num_threads(0).unwrap();
    assert!(runs[0] == runs[1], "bytes depend on the thread count");
    assert!(read_slices(&dir.join("s1.tif")) == slices);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn imkit(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imkit"))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn cli_cases_of_issue_16() {
    let dir = scratch("cli");
    // (20, 64, 80) uint16 with --volume, 32-pixel cells, NPY tiles, a {z} template: 120
    // tiles, and stitch gives back all twenty slices.
    let u16_vol = volume(20, 64, 80, PixelFormat::new(PixelType::U16, 1).unwrap());
    write_npy(&dir, "vol.npy", &u16_vol);
    let args = [
        "fragment",
        "vol.npy",
        "--volume",
        "--cell",
        "32",
        "--format",
        "npy",
        "--template",
        "tile_{z:03}_{row}_{col}",
        "--out",
        "vf",
    ];
    let text = ok(&imkit(&dir, &args));
    assert!(text.starts_with("120 tiles"), "{text}");
    ok(&imkit(&dir, &["stitch", "vf/manifest.json", "back.npy"]));
    let back = npy::read_file(&dir.join("back.npy")).unwrap();
    assert_eq!(back.shape(), [20, 64, 80]);
    assert!(back.data() == as_array(&u16_vol).data());
    // Without --template: a default with {z}.
    ok(&imkit(
        &dir,
        &[
            "fragment", "vol.npy", "--volume", "--cell", "32", "--out", "vd",
        ],
    ));
    assert!(dir.join("vd/tile_0019_0001_0002.png").is_file());
    // A 6-page RGB TIFF: stitch to .tif and .npy gives (6, 50, 70, 3).
    let rgb = volume(6, 50, 70, PixelFormat::new(PixelType::U8, 3).unwrap());
    write_tiff(&dir.join("vol.tif"), &rgb);
    ok(&imkit(
        &dir,
        &[
            "fragment", "vol.tif", "--cell", "32", "--stride", "0.5", "--out", "tf",
        ],
    ));
    ok(&imkit(
        &dir,
        &[
            "stitch",
            "tf/manifest.json",
            "back.tif",
            "--blend",
            "gaussian",
        ],
    ));
    ok(&imkit(&dir, &["stitch", "tf/manifest.json", "back4.npy"]));
    assert!(read_slices(&dir.join("back.tif")) == rgb);
    let back = npy::read_file(&dir.join("back4.npy")).unwrap();
    assert_eq!(back.shape(), [6, 50, 70, 3]);
    assert!(back.data() == as_array(&rgb).data());
    // To PNG: an error that says why; {z} in the name: one PNG per slice; --slice: one.
    let out = imkit(&dir, &["stitch", "tf/manifest.json", "back.png"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("holds one image"),
        "{err}"
    );
    ok(&imkit(&dir, &["stitch", "tf/manifest.json", "s_{z}.png"]));
    assert!(codec::read_image(dir.join("s_5.png")).unwrap() == rgb[5]);
    ok(&imkit(
        &dir,
        &["stitch", "tf/manifest.json", "one.png", "--slice", "3"],
    ));
    assert!(codec::read_image(dir.join("one.png")).unwrap() == rgb[3]);
    // 3-D cells: --cell DxHxW with a depth step (overlap in z), NPY tiles by default; the
    // manifest records the depth axis; a linear blend across depth is still exact.
    let args = [
        "fragment",
        "vol.npy",
        "--volume",
        "--cell",
        "8x32x32",
        "--step",
        "24",
        "--depth-step",
        "5",
        "--out",
        "v3",
    ];
    ok(&imkit(&dir, &args));
    let m = Manifest::read(dir.join("v3/manifest.json")).unwrap();
    assert_eq!(
        (m.depth_axis.cells, m.depth_axis.cell, m.depth_axis.stride),
        (4, 8, Stride::Pixels(5))
    );
    assert!(m.tiles.iter().all(|t| t.file.ends_with(".npy")));
    ok(&imkit(
        &dir,
        &["stitch", "v3/manifest.json", "b3.tif", "--blend", "linear"],
    ));
    assert!(read_slices(&dir.join("b3.tif")) == u16_vol);
    // --depth is the same as the D of --cell; 3-D cells do not fit PNG tiles.
    let args = [
        "fragment", "vol.npy", "--volume", "--cell", "32", "--depth", "8", "--format",
    ];
    let out = imkit(&dir, &[&args[..], &["png", "--out", "vp"]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("holds one image"),
        "{err}"
    );
    // A TIFF whose pages differ in size or type is refused with a message.
    let odd = dir.join("odd.tif");
    let file = std::fs::File::create(&odd).unwrap();
    let mut pages = TiffPages::new(std::io::BufWriter::new(file), "odd").unwrap();
    pages.write_page(&rgb[0].view()).unwrap();
    let small = rgb[1].view().crop(Rect::from_xywh(0, 0, 20, 20)).unwrap();
    pages.write_page(&small).unwrap();
    drop(pages);
    let grey = dir.join("grey.tif");
    let file = std::fs::File::create(&grey).unwrap();
    let mut pages = TiffPages::new(std::io::BufWriter::new(file), "grey").unwrap();
    pages.write_page(&u16_vol[0].view()).unwrap();
    pages.write_page(&rgb[0].view()).unwrap();
    drop(pages);
    for name in ["odd.tif", "grey.tif"] {
        let out = imkit(&dir, &["fragment", name, "--out", "never"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("page 1") && err.contains("equal pages"),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
