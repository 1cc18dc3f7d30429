//! The partition C ABI called from Rust: options, open from buffer and path, queries, reads,
//! fragment/stitch with progress and cancellation, and the error paths.

use std::ffi::{c_void, CString};
use std::ptr;

use imkit::ffi::*;

fn pattern(w: usize, h: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for y in 0..h {
        for x in 0..w {
            for b in 0..3 {
                v.push((7 * x + 13 * y + 85 * b + x * y / 16) as u8);
            }
        }
    }
    v
}

unsafe extern "C" fn count(user: *mut c_void, _done: u64, _total: u64) -> i32 {
    *(user as *mut u64) += 1;
    0
}

unsafe extern "C" fn cancel(_user: *mut c_void, _done: u64, _total: u64) -> i32 {
    1
}

#[test]
fn partition_abi_round_trip() {
    unsafe {
        let mut data = pattern(100, 60);
        let view = imkit_image_view {
            data: data.as_mut_ptr() as *mut c_void,
            width: 100,
            height: 60,
            row_stride_bytes: 0,
            channels: 3,
            dtype: 1,
        };
        let mut opts = ptr::null_mut();
        assert_eq!(imkit_partition_options_new(&mut opts), imkit_status::Ok);
        assert_eq!(
            imkit_partition_options_set_cell(opts, 32, 40),
            imkit_status::Ok
        );
        assert_eq!(
            imkit_partition_options_set_stride(opts, 0.5, 0.5),
            imkit_status::Ok
        );
        assert_eq!(
            imkit_partition_options_set_stride(opts, f64::NAN, 0.5),
            imkit_status::InvalidArg
        );
        assert_eq!(
            imkit_partition_options_set_edge(opts, 9, 0.0),
            imkit_status::InvalidArg
        );
        let ch = [2i64, 0];
        assert_eq!(
            imkit_partition_options_set_channels(opts, ch.as_ptr(), 2),
            imkit_status::Ok
        );
        let mut p = ptr::null_mut();
        assert_eq!(
            imkit_partition_from_buffer(&view, opts, &mut p),
            imkit_status::Ok
        );
        data.fill(0); // the partition holds a copy
        let (mut rows, mut cols, mut depth) = (0, 0, 0);
        assert_eq!(
            imkit_partition_shape(p, &mut rows, &mut cols, &mut depth),
            imkit_status::Ok
        );
        assert_eq!((rows, cols, depth), (3, 4, 1));
        let (mut sy, mut sx) = (0.0, 0.0);
        assert_eq!(imkit_partition_step(p, &mut sy, &mut sx), imkit_status::Ok);
        assert_eq!((sy, sx), (16.0, 20.0));
        let mut rect = imkit_rect::default();
        assert_eq!(
            imkit_partition_cell_rect(p, -1, -1, &mut rect),
            imkit_status::Ok
        );
        assert_eq!(
            (rect.left, rect.top, rect.right, rect.bottom),
            (60, 32, 100, 60)
        );
        assert_eq!(
            imkit_partition_cell_rect(p, 3, 0, &mut rect),
            imkit_status::OutOfBounds
        );
        // Slice 1:-1 of rows (Python semantics), column 0.
        let keys = [
            imkit_axis_key {
                kind: imkit_key_kind::Slice as i32,
                has_start: true,
                has_stop: true,
                start: 1,
                stop: -1,
            },
            imkit_axis_key {
                kind: imkit_key_kind::Index as i32,
                has_start: true,
                has_stop: false,
                start: 0,
                stop: 0,
            },
        ];
        let mut len = 0usize;
        assert_eq!(
            imkit_partition_region(p, keys.as_ptr(), 2, &mut rect, &mut len),
            imkit_status::Ok
        );
        assert_eq!((rect.top, rect.bottom, len), (16, 48, 32 * 40 * 2));
        let mut buf = vec![0u8; len];
        assert_eq!(
            imkit_partition_read(p, keys.as_ptr(), 2, 0, buf.as_mut_ptr() as *mut c_void, len),
            imkit_status::Ok
        );
        let src = pattern(100, 60);
        assert_eq!(buf[0], src[(16 * 100) * 3 + 2]);
        assert_eq!(buf[1], src[(16 * 100) * 3]);
        assert_eq!(
            imkit_partition_read_cell(p, 0, 0, 0, buf.as_mut_ptr() as *mut c_void, 10),
            imkit_status::BufferTooSmall
        );
        assert_eq!(
            imkit_partition_read_cell(p, 0, 0, 7, buf.as_mut_ptr() as *mut c_void, len),
            imkit_status::InvalidArg
        );
        let empty = [imkit_axis_key {
            kind: 1,
            has_start: true,
            has_stop: true,
            start: 2,
            stop: 1,
        }];
        assert_eq!(
            imkit_partition_region(p, empty.as_ptr(), 1, ptr::null_mut(), &mut len),
            imkit_status::OutOfBounds
        );
        assert_eq!(
            imkit_partition_region(p, ptr::null(), 1, ptr::null_mut(), &mut len),
            imkit_status::NullArg
        );
        let (mut r0, mut r1, mut c0, mut c1) = (0, 0, 0, 0);
        assert_eq!(
            imkit_partition_cells_at(p, 45, 20, &mut r0, &mut r1, &mut c0, &mut c1),
            imkit_status::Ok
        );
        assert_eq!((r0, r1, c0, c1), (0, 2, 1, 3));
        // A wrong handle type is caught.
        assert_eq!(
            imkit_partition_shape(
                opts as *const imkit_partition,
                &mut rows,
                ptr::null_mut(),
                ptr::null_mut()
            ),
            imkit_status::InvalidHandle
        );

        // Fragment and stitch with progress.
        let dir = tempfile::tempdir().unwrap();
        let out = CString::new(dir.path().to_str().unwrap()).unwrap();
        let mut calls = 0u64;
        assert_eq!(
            imkit_fragment(
                p,
                out.as_ptr(),
                ptr::null(),
                ptr::null(),
                Some(count),
                &mut calls as *mut u64 as *mut c_void
            ),
            imkit_status::Ok
        );
        assert!(calls >= 3);
        let manifest = CString::new(dir.path().join("manifest.json").to_str().unwrap()).unwrap();
        let result = CString::new(dir.path().join("back.png").to_str().unwrap()).unwrap();
        assert_eq!(
            imkit_stitch(
                manifest.as_ptr(),
                result.as_ptr(),
                imkit_blend::Linear as i32,
                ptr::null(),
                Some(cancel),
                ptr::null_mut()
            ),
            imkit_status::Cancelled
        );
        assert!(!dir.path().join("back.png").exists());
        assert_eq!(
            imkit_stitch(
                manifest.as_ptr(),
                result.as_ptr(),
                imkit_blend::Linear as i32,
                ptr::null(),
                None,
                ptr::null_mut()
            ),
            imkit_status::Ok
        );
        let back = imkit::codec::read_image(dir.path().join("back.png")).unwrap();
        let want: Vec<u8> = src.chunks(3).flat_map(|px| [px[2], px[0]]).collect();
        assert_eq!(back.data(), &want[..]);
        assert_eq!(
            imkit_stitch(
                manifest.as_ptr(),
                result.as_ptr(),
                42,
                ptr::null(),
                None,
                ptr::null_mut()
            ),
            imkit_status::InvalidArg
        );

        imkit_partition_free(p);
        assert_eq!(
            imkit_partition_shape(p, &mut rows, ptr::null_mut(), ptr::null_mut()),
            imkit_status::InvalidHandle
        );
        imkit_partition_options_free(opts);
        imkit_partition_free(ptr::null_mut());
    }
}

#[test]
fn partition_open_from_path() {
    unsafe {
        let path = CString::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/partition/images/px_rgb8_tiled_tiff.tif"
        ))
        .unwrap();
        let mut p = ptr::null_mut();
        assert_eq!(
            imkit_partition_open(path.as_ptr(), ptr::null(), &mut p),
            imkit_status::Ok
        );
        let (mut w, mut h, mut s, mut c, mut d) = (0, 0, 0, 0, 0);
        assert_eq!(
            imkit_partition_source(p, &mut w, &mut h, &mut s, &mut c, &mut d),
            imkit_status::Ok
        );
        assert_eq!((w, h, s, c, d), (200, 150, 1, 3, 1));
        imkit_partition_free(p);
        let missing = CString::new("/nonexistent/x.png").unwrap();
        assert_eq!(
            imkit_partition_open(missing.as_ptr(), ptr::null(), &mut p),
            imkit_status::Io
        );
        assert_eq!(
            imkit_partition_open(ptr::null(), ptr::null(), &mut p),
            imkit_status::NullArg
        );
    }
}

#[test]
fn npy_opens_as_image_or_volume() {
    unsafe {
        let path = CString::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/io/npy/uint16_2x3x5.npy"
        ))
        .unwrap();
        let mut opts = ptr::null_mut();
        assert_eq!(imkit_partition_options_new(&mut opts), imkit_status::Ok);
        for (volume, want) in [(0, (3, 2, 1, 5)), (1, (5, 3, 2, 1))] {
            assert_eq!(
                imkit_partition_options_set_volume(opts, volume),
                imkit_status::Ok
            );
            let mut p = ptr::null_mut();
            assert_eq!(
                imkit_partition_open(path.as_ptr(), opts, &mut p),
                imkit_status::Ok
            );
            let (mut w, mut h, mut s, mut c, mut d) = (0, 0, 0, 0, 0);
            assert_eq!(
                imkit_partition_source(p, &mut w, &mut h, &mut s, &mut c, &mut d),
                imkit_status::Ok
            );
            assert_eq!((w, h, s, c), want);
            imkit_partition_free(p);
        }
        assert_eq!(
            imkit_partition_options_set_volume(ptr::null_mut(), 1),
            imkit_status::NullArg
        );
        imkit_partition_options_free(opts);
    }
}
