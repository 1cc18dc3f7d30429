//! The tile pipeline: identity reproduces the input for every blend × stride × edge policy,
//! an editing function gives the bytes of fragment → edit files → stitch, upscaling and
//! output type changes, canvas growth on each side, failing functions and cancellation (the
//! cell is named, no output is left), thread-count independence, serialized functions.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use imkit::codec::{self, WriteOptions};
use imkit::partition::{EdgePolicy, GridSpec, Partition, Stride};
use imkit::pipeline::{self, Margins, PipelineOptions, TileIn, TileOut};
use imkit::pixel::{PixelFormat, PixelType};
use imkit::progress::Progress;
use imkit::source::{MemorySource, PngStream};
use imkit::tiling::{fragment, stitch, Blend, FragmentOptions, StitchOptions};
use imkit::{Error, Image, Rect};

/// Deterministic noise-like pixels (so a misplaced tile always shows).
fn pattern(w: usize, h: usize, c: usize, dtype: PixelType) -> Image {
    let f = PixelFormat::new(dtype, c).unwrap();
    let mut data = Vec::new();
    let mut seed = 0x1234_5678u32;
    for _ in 0..w * h * c {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let v = seed >> 8;
        match dtype {
            PixelType::U8 => data.push(v as u8),
            PixelType::U16 => data.extend_from_slice(&(v as u16).to_ne_bytes()),
            _ => data.extend_from_slice(&((v % 100_000) as f32 / 7.0 - 3000.0).to_ne_bytes()),
        }
    }
    Image::from_vec(w, h, f, data).unwrap()
}

fn identity(t: &TileIn<'_>, out: &mut TileOut<'_>) -> imkit::Result<()> {
    out.image.copy_from(&t.image)
}

fn options(grid: GridSpec, blend: Blend) -> PipelineOptions {
    PipelineOptions {
        grid,
        blend,
        thread_safe: true,
        band_rows: 7,
        ..PipelineOptions::default()
    }
}

fn run_image(img: &Image, o: &PipelineOptions, f: &(impl pipeline::TileFn + ?Sized)) -> Image {
    let src = MemorySource::new(img.clone());
    pipeline::map_to_image(&src, o, f, &mut Progress::none()).unwrap()
}

fn strides() -> Vec<(Stride, Stride)> {
    vec![
        (Stride::Pixels(32), Stride::Pixels(32)),
        (Stride::Pixels(24), Stride::Pixels(20)),
        (Stride::Fraction(0.5), Stride::Fraction(0.75)),
        (Stride::Fraction(0.3), Stride::Pixels(31)),
    ]
}

const EDGES: [EdgePolicy; 4] = [
    EdgePolicy::Clip,
    EdgePolicy::Pad,
    EdgePolicy::Shift,
    EdgePolicy::Drop,
];

#[test]
fn identity_reproduces_the_input_for_every_blend_stride_and_edge() {
    for (img, cell_h, cell_w) in [
        (pattern(157, 101, 3, PixelType::U8), 32, 32),
        (pattern(90, 70, 1, PixelType::U16), 32, 36),
        (pattern(77, 64, 2, PixelType::F32), 32, 40),
    ] {
        for (sy, sx) in strides() {
            for edge in EDGES {
                for blend in Blend::ALL {
                    let grid = GridSpec::new(cell_h, cell_w, sy, sx).with_edge(edge);
                    let out = run_image(&img, &options(grid, blend), &identity);
                    let what = format!("{} {sy:?} {sx:?} {edge:?} {blend:?}", img.format());
                    if edge != EdgePolicy::Drop {
                        assert!(out.data() == img.data(), "{what}");
                        continue;
                    }
                    // Dropped edges: the covered part is the input, the rest the fill (0).
                    let p = Partition::from_image(img.clone(), &grid, None).unwrap();
                    let (rows, cols) = p.shape();
                    let covered = Rect {
                        right: p.cell_rect(0, cols as i64 - 1).unwrap().right,
                        bottom: p.cell_rect(rows as i64 - 1, 0).unwrap().bottom,
                        ..Rect::default()
                    };
                    let mut want = Image::new(img.width(), img.height(), img.format()).unwrap();
                    want.view_mut()
                        .crop_mut(covered)
                        .unwrap()
                        .copy_from(&img.view().crop(covered).unwrap())
                        .unwrap();
                    assert!(out.data() == want.data(), "{what}");
                }
            }
        }
    }
}

#[test]
fn identity_from_a_streamed_png_file_to_png_and_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let img = pattern(300, 211, 3, PixelType::U8);
    let src = dir.path().join("in.png");
    codec::write_image(&src, &img.view(), &WriteOptions::default()).unwrap();
    let o = options(GridSpec::square(64, Stride::Pixels(48)), Blend::Linear);
    for name in ["out.png", "out.npy", "out.tif"] {
        let out = dir.path().join(name);
        pipeline::map_tiles(&src, &out, &o, &identity, &mut Progress::none()).unwrap();
        assert!(
            codec::read_image(&out).unwrap().data() == img.data(),
            "{name}"
        );
    }
}

#[test]
fn a_streamed_png_gives_the_bytes_of_the_same_image_in_memory() {
    // Cells inside the input are views into the streamed rows; cells reaching past it (pad
    // edges, margins) are filled and copied: both must see what a memory source gives.
    let dir = tempfile::tempdir().unwrap();
    let looks = |t: &TileIn<'_>, out: &mut TileOut<'_>| {
        out.image.copy_from(&t.image)?;
        edit(t.row, t.col, &mut out.image);
        Ok(())
    };
    for img in [
        pattern(150, 97, 3, PixelType::U8),
        pattern(61, 83, 1, PixelType::U16),
    ] {
        let src = dir.path().join("in.png");
        codec::write_image(&src, &img.view(), &WriteOptions::default()).unwrap();
        for edge in EDGES {
            for grow in [Margins::default(), Margins::parse("9,4,13,21").unwrap()] {
                let grid = GridSpec::new(32, 40, Stride::Pixels(24), Stride::Pixels(29));
                let o = PipelineOptions {
                    grow,
                    fill: 7.0,
                    ..options(grid.with_edge(edge), Blend::Gaussian)
                };
                let want = run_image(&img, &o, &looks);
                let stream = PngStream::open(&src).unwrap();
                let got = pipeline::map_to_image(&stream, &o, &looks, &mut Progress::none());
                let what = format!("{} {edge:?} {grow:?}", img.format());
                assert!(got.unwrap().data() == want.data(), "{what}");
            }
        }
    }
}

/// A visible edit that depends on the cell and on the pixel position inside it.
fn edit(row: u64, col: u64, view: &mut imkit::ImageViewMut<'_>) {
    for y in 0..view.height() {
        for (i, v) in view.row_mut(y).iter_mut().enumerate() {
            *v = v.wrapping_mul(3) ^ ((row * 7 + col * 13) as u8).wrapping_add((i + y) as u8);
        }
    }
}

#[test]
fn an_editing_function_gives_the_bytes_of_fragment_edit_stitch() {
    let dir = tempfile::tempdir().unwrap();
    let img = pattern(230, 170, 3, PixelType::U8);
    let src = dir.path().join("in.png");
    codec::write_image(&src, &img.view(), &WriteOptions::default()).unwrap();
    for (i, (grid, blend)) in [
        (GridSpec::square(64, Stride::Pixels(48)), Blend::Linear),
        (GridSpec::square(64, Stride::Fraction(0.5)), Blend::Gaussian),
        (
            GridSpec::new(50, 60, Stride::Pixels(40), Stride::Pixels(45))
                .with_edge(EdgePolicy::Pad),
            Blend::Average,
        ),
        (
            GridSpec::square(64, Stride::Pixels(56)).with_edge(EdgePolicy::Shift),
            Blend::Overwrite,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        // The file route: fragment, edit every tile file, stitch.
        let tiles = dir.path().join(format!("tiles{i}"));
        std::fs::create_dir(&tiles).unwrap();
        let p = Partition::new(
            std::sync::Arc::new(PngStream::open(&src).unwrap()),
            &grid,
            None,
        )
        .unwrap();
        let m = fragment(
            &p,
            &tiles,
            &FragmentOptions::default(),
            &mut Progress::none(),
        )
        .unwrap();
        for t in &m.tiles {
            let path = tiles.join(&t.file);
            let mut tile = codec::read_image(&path).unwrap();
            edit(t.row, t.col, &mut tile.view_mut());
            codec::write_image(&path, &tile.view(), &WriteOptions::default()).unwrap();
        }
        let stitched = dir.path().join(format!("stitched{i}.png"));
        let so = StitchOptions {
            blend,
            ..StitchOptions::default()
        };
        stitch(
            &tiles.join("manifest.json"),
            &stitched,
            &so,
            &mut Progress::none(),
        )
        .unwrap();
        // The pipeline.
        let piped = dir.path().join(format!("piped{i}.png"));
        let f = |t: &TileIn<'_>, out: &mut TileOut<'_>| {
            edit(t.row, t.col, &mut out.image);
            Ok(())
        };
        pipeline::map_tiles(
            &src,
            &piped,
            &options(grid, blend),
            &f,
            &mut Progress::none(),
        )
        .unwrap();
        let (a, b) = (
            std::fs::read(&stitched).unwrap(),
            std::fs::read(&piped).unwrap(),
        );
        assert!(a == b, "case {i}: pipeline and fragment+stitch differ");
        assert!(
            codec::read_image(&piped).unwrap().data() != img.data(),
            "the edit shows"
        );
    }
}

/// Nearest-neighbour upscaling by `k`, converting to `out.image`'s type (u8 → u8 or f32/255).
fn upscale(k: usize) -> impl Fn(&TileIn<'_>, &mut TileOut<'_>) -> imkit::Result<()> + Sync {
    move |t, out| {
        let c = t.image.channels();
        let float = out.image.format().dtype == PixelType::F32;
        for y in 0..out.image.height() {
            let src = t.image.row(y / k);
            let row = out.image.row_mut(y);
            for x in 0..row.len() / if float { 4 * c } else { c } {
                for ch in 0..c {
                    let v = src[(x / k) * c + ch];
                    if float {
                        let at = (x * c + ch) * 4;
                        row[at..at + 4].copy_from_slice(&(v as f32 / 255.0).to_ne_bytes());
                    } else {
                        row[x * c + ch] = v;
                    }
                }
            }
        }
        Ok(())
    }
}

#[test]
fn upscaler_2x_and_output_type_change() {
    let img = pattern(101, 67, 3, PixelType::U8);
    let k = 2;
    for blend in Blend::ALL {
        for float in [false, true] {
            let mut o = options(GridSpec::square(32, Stride::Pixels(24)), blend);
            o.scale = k as u64;
            if float {
                o.output_format = Some(PixelFormat::new(PixelType::F32, 3).unwrap());
            }
            let out = run_image(&img, &o, &upscale(k));
            assert_eq!((out.width(), out.height()), (202, 134));
            let bpp = out.format().bytes_per_pixel();
            for y in 0..out.height() {
                for x in 0..out.width() {
                    let px = &out.view().row(y)[x * bpp..(x + 1) * bpp];
                    let src = &img.view().row(y / k)[(x / k) * 3..(x / k) * 3 + 3];
                    if float {
                        for ch in 0..3 {
                            let v = f32::from_ne_bytes(px[ch * 4..ch * 4 + 4].try_into().unwrap());
                            assert_eq!(v, src[ch] as f32 / 255.0, "{blend:?} ({x}, {y})");
                        }
                    } else {
                        assert_eq!(px, src, "{blend:?} ({x}, {y})");
                    }
                }
            }
        }
    }
}

/// A function that writes every byte may ask for output tiles without the copy of the input
/// (`output_overwritten`, as the Python binding does): recycled buffers of every size (edge
/// cells clipped smaller, strips, upscaled tiles) give the same bytes as tiles that start as
/// the input.
#[test]
fn output_tiles_the_function_overwrites_start_unfilled() {
    let img = pattern(157, 101, 3, PixelType::U8);
    for blend in Blend::ALL {
        for (grid, k) in [
            (GridSpec::square(32, Stride::Pixels(24)), 1),
            (
                GridSpec::new(40, 28, Stride::Pixels(30), Stride::Pixels(20)),
                1,
            ),
            (GridSpec::square(32, Stride::Pixels(24)), 2),
        ] {
            let mut o = options(grid, blend);
            o.scale = k as u64;
            let prefilled = run_image(&img, &o, &upscale(k));
            o.output_overwritten = true;
            let overwritten = run_image(&img, &o, &upscale(k));
            assert!(overwritten.data() == prefilled.data(), "{blend:?} {k}");
        }
    }
}

#[test]
fn canvas_growth_on_each_side() {
    let img = pattern(80, 60, 3, PixelType::U8);
    let fill = 40.0;
    for grow in [
        Margins {
            top: 20,
            ..Margins::default()
        },
        Margins {
            right: 33,
            ..Margins::default()
        },
        Margins {
            bottom: 50,
            ..Margins::default()
        },
        Margins {
            left: 17,
            ..Margins::default()
        },
        Margins {
            top: 5,
            right: 6,
            bottom: 7,
            left: 8,
        },
    ] {
        let mut o = options(GridSpec::square(32, Stride::Pixels(24)), Blend::Linear);
        o.grow = grow;
        o.fill = fill;
        let input_on_canvas = Rect::from_xywh(grow.left, grow.top, 80, 60);
        let seen_input = AtomicUsize::new(0);
        // The function checks what it receives (fill outside the input, input inside) and
        // paints the margin pixels with a colour of its own.
        let f = |t: &TileIn<'_>, out: &mut TileOut<'_>| {
            for y in 0..t.rect.height() {
                for x in 0..t.rect.width() {
                    let (cx, cy) = (t.rect.left + x, t.rect.top + y);
                    let inside = input_on_canvas.left <= cx
                        && cx < input_on_canvas.right
                        && input_on_canvas.top <= cy
                        && cy < input_on_canvas.bottom;
                    let got = &t.image.row(y as usize)[x as usize * 3..x as usize * 3 + 3];
                    let px = &mut out.image.row_mut(y as usize)[x as usize * 3..x as usize * 3 + 3];
                    if inside {
                        let (ix, iy) = ((cx - grow.left) as usize, (cy - grow.top) as usize);
                        assert_eq!(got, &img.view().row(iy)[ix * 3..ix * 3 + 3]);
                        seen_input.fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert_eq!(got, &[40, 40, 40]);
                        px.copy_from_slice(&[200, 10, (cx + cy) as u8]);
                    }
                }
            }
            if let Some(r) = t.input_rect {
                assert_eq!(r.left + grow.left, t.rect.left.max(grow.left));
            }
            Ok(())
        };
        let out = run_image(&img, &o, &f);
        assert!(seen_input.load(Ordering::Relaxed) >= 80 * 60);
        let (w, h) = (80 + grow.left + grow.right, 60 + grow.top + grow.bottom);
        assert_eq!(
            (out.width() as u64, out.height() as u64),
            (w, h),
            "{grow:?}"
        );
        for y in 0..h {
            for x in 0..w {
                let px = &out.view().row(y as usize)[x as usize * 3..x as usize * 3 + 3];
                if input_on_canvas.left <= x
                    && x < input_on_canvas.right
                    && input_on_canvas.top <= y
                    && y < input_on_canvas.bottom
                {
                    let (ix, iy) = ((x - grow.left) as usize, (y - grow.top) as usize);
                    assert_eq!(px, &img.view().row(iy)[ix * 3..ix * 3 + 3], "{grow:?}");
                } else {
                    assert_eq!(px, &[200, 10, (x + y) as u8], "{grow:?} ({x}, {y})");
                }
            }
        }
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "in.png")
        .collect()
}

#[test]
fn a_failing_function_names_the_cell_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let img = pattern(200, 150, 3, PixelType::U8);
    let src = dir.path().join("in.png");
    codec::write_image(&src, &img.view(), &WriteOptions::default()).unwrap();
    let out = dir.path().join("out.png");
    for thread_safe in [true, false] {
        let mut o = options(GridSpec::square(40, Stride::Pixels(32)), Blend::Linear);
        o.thread_safe = thread_safe;
        let f = |t: &TileIn<'_>, out: &mut TileOut<'_>| {
            if (t.row, t.col) == (2, 3) || (t.row, t.col) == (2, 5) {
                return Err(Error::invalid("the model refused this tile"));
            }
            out.image.copy_from(&t.image)
        };
        let err = pipeline::map_tiles(&src, &out, &o, &f, &mut Progress::none()).unwrap_err();
        assert_eq!(
            err.cell,
            Some((2, 3)),
            "the first failing cell in grid order"
        );
        assert!(matches!(err.error, Error::InvalidArgument(_)));
        let plain: Error = err.into();
        assert!(
            matches!(&plain, Error::InvalidArgument(m) if m.starts_with("cell (row 2, col 3): the model refused")),
            "{plain}"
        );
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }
    // Cancellation through the progress callback: no output either.
    let mut calls = 0;
    let mut cb = |done: u64, total: u64| {
        calls += 1;
        assert!(done <= total);
        done < total / 2
    };
    let o = options(GridSpec::square(40, Stride::Pixels(32)), Blend::Linear);
    let err =
        pipeline::map_tiles(&src, &out, &o, &identity, &mut Progress::new(&mut cb)).unwrap_err();
    assert!(matches!(err.error, Error::Cancelled) && err.cell.is_none());
    assert!(calls >= 2);
    assert!(leftovers(dir.path()).is_empty());
    // A bad option is reported before any file is created.
    let mut o = options(GridSpec::square(40, Stride::Pixels(32)), Blend::Linear);
    o.scale = 0;
    assert!(pipeline::map_tiles(&src, &out, &o, &identity, &mut Progress::none()).is_err());
    o.scale = 1;
    o.output_format = Some(PixelFormat::new(PixelType::F32, 3).unwrap());
    let err = pipeline::map_tiles(&src, &out, &o, &identity, &mut Progress::none()).unwrap_err();
    assert!(matches!(err.error, Error::Unsupported(_)), "{err}");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn bytes_do_not_depend_on_threads_or_completion_order() {
    let img = pattern(260, 190, 3, PixelType::U8);
    let mut o = options(GridSpec::square(48, Stride::Pixels(36)), Blend::Gaussian);
    o.scale = 2;
    // Cells finish in a scrambled order: each sleeps a cell-dependent time.
    let f = |t: &TileIn<'_>, out: &mut TileOut<'_>| {
        std::thread::sleep(std::time::Duration::from_micros(
            (t.col * 7 + t.row * 3) % 11 * 300,
        ));
        upscale(2)(t, out)?;
        edit(t.row, t.col, &mut out.image);
        Ok(())
    };
    let mut results = Vec::new();
    for threads in [1, 2, 3] {
        imkit::threads::set_num_threads(threads).unwrap();
        results.push(run_image(&img, &o, &f).into_vec());
    }
    imkit::threads::set_num_threads(0).unwrap();
    assert!(results[0] == results[1] && results[1] == results[2]);
}

#[test]
fn functions_not_declared_thread_safe_run_one_at_a_time() {
    let img = pattern(200, 120, 1, PixelType::U8);
    imkit::threads::set_num_threads(2).unwrap();
    for thread_safe in [false, true] {
        let mut o = options(GridSpec::square(20, Stride::Pixels(20)), Blend::Overwrite);
        o.thread_safe = thread_safe;
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let order = Mutex::new(Vec::new());
        let f = |t: &TileIn<'_>, out: &mut TileOut<'_>| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(1));
            order.lock().unwrap().push((t.row, t.col));
            now.fetch_sub(1, Ordering::SeqCst);
            out.image.copy_from(&t.image)
        };
        let out = run_image(&img, &o, &f);
        assert!(out.data() == img.data());
        assert_eq!(order.lock().unwrap().len(), 60);
        if !thread_safe {
            assert_eq!(most.load(Ordering::SeqCst), 1);
        }
    }
}

#[test]
fn calling_thread_mode_runs_every_call_on_the_caller() {
    let img = pattern(150, 100, 3, PixelType::U8);
    imkit::threads::set_num_threads(2).unwrap();
    let mut o = options(GridSpec::square(32, Stride::Pixels(24)), Blend::Linear);
    o.calling_thread = true;
    let me = std::thread::current().id();
    let calls = AtomicUsize::new(0);
    let f = |t: &TileIn<'_>, out: &mut TileOut<'_>| {
        assert_eq!(std::thread::current().id(), me);
        calls.fetch_add(1, Ordering::Relaxed);
        upscale(1)(t, out)
    };
    let out = run_image(&img, &o, &f);
    assert!(out.data() == img.data());
    assert_eq!(calls.load(Ordering::Relaxed), 6 * 4);
    // A failure names the cell in this mode too.
    let bad = |t: &TileIn<'_>, _: &mut TileOut<'_>| match (t.row, t.col) {
        (1, 1) => Err(Error::Format("bad".into())),
        _ => Ok(()),
    };
    let src = MemorySource::new(img.clone());
    let err = pipeline::map_to_image(&src, &o, &bad, &mut Progress::none()).unwrap_err();
    assert_eq!(err.cell, Some((1, 1)));
}
