//! The I/O part of the C ABI, called directly from Rust.

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

use imkit::ffi::*;

fn dir(name: &str) -> std::path::PathBuf {
    let d = common::scratch_root().join(format!("imkit-io-ffi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(imkit::ffi::imkit_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn view(data: &[u8], w: u64, h: u64, channels: u32, dtype: imkit_dtype) -> imkit_image_view {
    imkit_image_view {
        data: data.as_ptr() as *mut c_void,
        width: w,
        height: h,
        row_stride_bytes: 0,
        channels,
        dtype: dtype as i32,
    }
}

#[test]
fn save_load_with_metadata() {
    let d = dir("save");
    let pixels: Vec<u8> = (0..4 * 3 * 3).map(|i| i as u8).collect();
    let v = view(&pixels, 4, 3, 3, imkit_dtype::U8);
    let path = c(d.join("frame").to_str().unwrap());
    let meta = c(r#"{"exposure": 0.5, "tags": ["a", "b"]}"#);
    let mut out_path: *mut c_char = ptr::null_mut();
    unsafe {
        assert_eq!(
            imkit_save(path.as_ptr(), &v, meta.as_ptr(), ptr::null(), &mut out_path),
            imkit_status::Ok,
            "{}",
            last_error()
        );
        let written = CStr::from_ptr(out_path).to_str().unwrap().to_string();
        assert!(written.ends_with("frame.png"));
        imkit_string_free(out_path);

        let mut image = ptr::null_mut();
        let mut json: *mut c_char = ptr::null_mut();
        assert_eq!(
            imkit_load(path.as_ptr(), &mut image, &mut json),
            imkit_status::Ok
        );
        let text = CStr::from_ptr(json).to_str().unwrap().to_string();
        assert!(text.contains("\"exposure\": 0.5"), "{text}");
        imkit_string_free(json);
        let mut got = view(&[], 0, 0, 1, imkit_dtype::U8);
        assert_eq!(imkit_image_get_view(image, &mut got), imkit_status::Ok);
        assert_eq!((got.width, got.height, got.channels), (4, 3, 3));
        let bytes = std::slice::from_raw_parts(got.data as *const u8, pixels.len());
        assert_eq!(bytes, &pixels[..]);
        imkit_image_free(image);

        // f32 into .png is refused; NULL and bad JSON are named.
        let f = vec![0u8; 16];
        let fv = view(&f, 2, 2, 1, imkit_dtype::F32);
        let png = c(d.join("f.png").to_str().unwrap());
        assert_eq!(
            imkit_save(png.as_ptr(), &fv, ptr::null(), ptr::null(), ptr::null_mut()),
            imkit_status::Unsupported
        );
        assert!(
            last_error().contains("PNG cannot store"),
            "{}",
            last_error()
        );
        assert_eq!(
            imkit_save(ptr::null(), &fv, ptr::null(), ptr::null(), ptr::null_mut()),
            imkit_status::NullArg
        );
        let bad = c("{\"a\":");
        assert_eq!(
            imkit_save(
                path.as_ptr(),
                &v,
                bad.as_ptr(),
                ptr::null(),
                ptr::null_mut()
            ),
            imkit_status::InvalidArg
        );
        let nan = c(r#"{"a": NaN}"#);
        assert_eq!(
            imkit_save(
                path.as_ptr(),
                &v,
                nan.as_ptr(),
                ptr::null(),
                ptr::null_mut()
            ),
            imkit_status::InvalidArg
        );
        let mut opts = ptr::null_mut();
        assert_eq!(imkit_save_options_new(&mut opts), imkit_status::Ok);
        assert_eq!(
            imkit_save_options_set_python_tokens(opts, true),
            imkit_status::Ok
        );
        assert_eq!(
            imkit_save(path.as_ptr(), &v, nan.as_ptr(), opts, ptr::null_mut()),
            imkit_status::Ok
        );
        imkit_save_options_free(opts);
        let mut json: *mut c_char = ptr::null_mut();
        let png_path = c(d.join("frame.png").to_str().unwrap());
        assert_eq!(
            imkit_metadata_load(png_path.as_ptr(), &mut json),
            imkit_status::Ok
        );
        assert!(CStr::from_ptr(json).to_str().unwrap().contains("NaN"));
        imkit_string_free(json);
    }
}

#[test]
fn arrays_of_any_rank() {
    let d = dir("array");
    let values: Vec<u8> = (0..24u16).flat_map(|v| v.to_ne_bytes()).collect();
    let shape = [2usize, 3, 2, 2];
    let path = c(d.join("cube").to_str().unwrap());
    unsafe {
        let mut out_path: *mut c_char = ptr::null_mut();
        assert_eq!(
            imkit_save_array(
                path.as_ptr(),
                values.as_ptr() as *const c_void,
                values.len(),
                imkit_dtype::U16 as i32,
                shape.as_ptr(),
                4,
                ptr::null(),
                ptr::null(),
                &mut out_path
            ),
            imkit_status::Ok,
            "{}",
            last_error()
        );
        assert!(CStr::from_ptr(out_path)
            .to_str()
            .unwrap()
            .ends_with("cube.npy"));
        imkit_string_free(out_path);
        let mut image = ptr::null_mut();
        assert_eq!(
            imkit_load(path.as_ptr(), &mut image, ptr::null_mut()),
            imkit_status::Ok
        );
        let mut ndim = 0usize;
        assert_eq!(
            imkit_image_get_shape(image, ptr::null_mut(), 0, &mut ndim),
            imkit_status::BufferTooSmall
        );
        assert_eq!(ndim, 4);
        let mut dims = [0usize; 4];
        assert_eq!(
            imkit_image_get_shape(image, dims.as_mut_ptr(), 4, &mut ndim),
            imkit_status::Ok
        );
        assert_eq!(dims, shape);
        let (mut data, mut len, mut dtype) = (ptr::null(), 0usize, 0i32);
        assert_eq!(
            imkit_image_get_data(image, &mut data, &mut len, &mut dtype),
            imkit_status::Ok
        );
        assert_eq!(
            std::slice::from_raw_parts(data as *const u8, len),
            &values[..]
        );
        assert_eq!(dtype, imkit_dtype::U16 as i32);
        let mut v = view(&[], 0, 0, 1, imkit_dtype::U8);
        assert_eq!(
            imkit_image_get_view(image, &mut v),
            imkit_status::Unsupported
        );
        imkit_image_free(image);
        // Length mismatch is caught.
        assert_eq!(
            imkit_save_array(
                path.as_ptr(),
                values.as_ptr() as *const c_void,
                values.len() - 1,
                imkit_dtype::U16 as i32,
                shape.as_ptr(),
                4,
                ptr::null(),
                ptr::null(),
                ptr::null_mut()
            ),
            imkit_status::Mismatch
        );
    }
}

#[test]
fn directory_round_trip() {
    let d = dir("dir");
    let frames: Vec<Vec<u8>> = (0..11).map(|i| vec![i as u8; 6]).collect();
    let views: Vec<imkit_image_view> = frames
        .iter()
        .map(|f| view(f, 3, 2, 1, imkit_dtype::U8))
        .collect();
    let metas: Vec<CString> = (0..11).map(|i| c(&format!(r#"{{"i": {i}}}"#))).collect();
    let meta_ptrs: Vec<*const c_char> = metas.iter().map(|m| m.as_ptr()).collect();
    let dpath = c(d.to_str().unwrap());
    unsafe {
        assert_eq!(
            imkit_save_dir(
                dpath.as_ptr(),
                views.as_ptr(),
                11,
                meta_ptrs.as_ptr(),
                11,
                ptr::null()
            ),
            imkit_status::Ok,
            "{}",
            last_error()
        );
        assert_eq!(
            imkit_save_dir(
                dpath.as_ptr(),
                views.as_ptr(),
                2,
                ptr::null(),
                0,
                ptr::null()
            ),
            imkit_status::InvalidArg
        );
        let mut list = ptr::null_mut();
        assert_eq!(imkit_load_dir(dpath.as_ptr(), &mut list), imkit_status::Ok);
        let mut n = 0;
        assert_eq!(imkit_image_list_len(list, &mut n), imkit_status::Ok);
        assert_eq!(n, 11);
        for i in 0..11 {
            let (mut img, mut meta, mut path) = (ptr::null(), ptr::null(), ptr::null());
            assert_eq!(
                imkit_image_list_get(list, i, &mut img, &mut meta, &mut path),
                imkit_status::Ok
            );
            assert!(CStr::from_ptr(path)
                .to_str()
                .unwrap()
                .ends_with(&format!("/{i}.png")));
            assert!(CStr::from_ptr(meta)
                .to_str()
                .unwrap()
                .contains(&format!("\"i\": {i}")));
            let mut v = view(&[], 0, 0, 1, imkit_dtype::U8);
            assert_eq!(imkit_image_get_view(img, &mut v), imkit_status::Ok);
            assert_eq!(*(v.data as *const u8), i as u8);
        }
        let (mut img, mut meta, mut path) = (ptr::null(), ptr::null(), ptr::null());
        assert_eq!(
            imkit_image_list_get(list, 11, &mut img, &mut meta, &mut path),
            imkit_status::OutOfBounds
        );
        imkit_image_list_free(list);
    }
}

#[test]
fn queue_through_the_abi() {
    let d = dir("queue");
    let pixels = vec![7u8; 32 * 32 * 3];
    let v = view(&pixels, 32, 32, 3, imkit_dtype::U8);
    unsafe {
        let mut qopts = ptr::null_mut();
        assert_eq!(imkit_save_queue_options_new(&mut qopts), imkit_status::Ok);
        assert_eq!(
            imkit_save_queue_options_set_threads(qopts, 2),
            imkit_status::Ok
        );
        assert_eq!(
            imkit_save_queue_options_set_max_pending_jobs(qopts, 4),
            imkit_status::Ok
        );
        assert_eq!(
            imkit_save_queue_options_set_max_pending_bytes(qopts, 1 << 20),
            imkit_status::Ok
        );
        assert_eq!(
            imkit_save_queue_options_set_threads(qopts, 0),
            imkit_status::InvalidArg
        );
        let mut q = ptr::null_mut();
        assert_eq!(imkit_save_queue_new(qopts, &mut q), imkit_status::Ok);
        imkit_save_queue_options_free(qopts);
        let mut ids = Vec::new();
        for i in 0..20 {
            let p = c(d.join(format!("q{i}")).to_str().unwrap());
            let m = c(&format!(r#"{{"i": {i}}}"#));
            let mut id = 0u64;
            assert_eq!(
                imkit_save_queue_push(q, p.as_ptr(), &v, m.as_ptr(), &mut id),
                imkit_status::Ok
            );
            ids.push(id);
        }
        let bad = c(d.join("missing/x.png").to_str().unwrap());
        let mut bad_id = 0u64;
        let status = imkit_save_queue_try_push(q, bad.as_ptr(), &v, ptr::null(), &mut bad_id);
        if status == imkit_status::WouldBlock {
            assert_eq!(
                imkit_save_queue_push(q, bad.as_ptr(), &v, ptr::null(), &mut bad_id),
                imkit_status::Ok
            );
        } else {
            assert_eq!(status, imkit_status::Ok);
        }
        assert_eq!(imkit_save_queue_flush(q), imkit_status::Io);
        let (mut id, mut needed) = (0u64, 0usize);
        assert_eq!(
            imkit_save_queue_next_error(q, &mut id, ptr::null_mut(), 0, &mut needed),
            imkit_status::BufferTooSmall
        );
        let mut buf = vec![0 as c_char; needed];
        assert_eq!(
            imkit_save_queue_next_error(q, &mut id, buf.as_mut_ptr(), needed, &mut needed),
            imkit_status::Ok
        );
        assert_eq!(id, bad_id);
        assert!(CStr::from_ptr(buf.as_ptr())
            .to_str()
            .unwrap()
            .contains("missing"));
        assert_eq!(
            imkit_save_queue_next_error(q, &mut id, buf.as_mut_ptr(), needed, &mut needed),
            imkit_status::Ok
        );
        assert_eq!((id, needed), (0, 0), "no more errors");
        assert_eq!(imkit_save_queue_close(q), imkit_status::Ok);
        assert_eq!(imkit_save_queue_flush(q), imkit_status::InvalidHandle);
        for i in 0..20 {
            assert!(d.join(format!("q{i}.png")).exists());
            assert!(d.join(format!("q{i}.json")).exists());
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 20);
    }
}

#[test]
fn load_into_the_callers_buffer_after_a_size_query() {
    let d = dir("load-into");
    let (w, h) = (37u64, 23u64);
    let pixels: Vec<u8> = (0..w * h * 3 * 2).map(|i| (i * 7 % 256) as u8).collect();
    for ext in ["png", "tif", "npy"] {
        let path = c(d.join(format!("img.{ext}")).to_str().unwrap());
        let src = view(&pixels, w, h, 3, imkit_dtype::U16);
        assert_eq!(
            unsafe { imkit_image_write(path.as_ptr(), &src, ptr::null()) },
            imkit_status::Ok,
            "{}",
            last_error()
        );
        let mut info: imkit_image_info = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { imkit_image_info_read(path.as_ptr(), &mut info) },
            imkit_status::Ok
        );
        assert_eq!((info.width, info.height, info.channels), (w, h, 3));
        // A strided caller buffer: 10 spare bytes after each row stay untouched.
        let stride = (w * 6 + 10) as usize;
        let mut buf = vec![0xabu8; stride * h as usize];
        let mut out = view(&buf, w, h, 3, imkit_dtype::U16);
        out.data = buf.as_mut_ptr() as *mut c_void;
        out.row_stride_bytes = stride;
        assert_eq!(
            unsafe { imkit_load_into(path.as_ptr(), &out) },
            imkit_status::Ok,
            "{ext}: {}",
            last_error()
        );
        for y in 0..h as usize {
            let row = &buf[y * stride..(y + 1) * stride];
            let want = &pixels[y * w as usize * 6..(y + 1) * w as usize * 6];
            assert!(&row[..want.len()] == want, "{ext} row {y}");
            assert!(
                row[want.len()..].iter().all(|&b| b == 0xab),
                "{ext} padding"
            );
        }
        let small = view(&buf, w - 1, h, 3, imkit_dtype::U16);
        assert_eq!(
            unsafe { imkit_load_into(path.as_ptr(), &small) },
            imkit_status::Mismatch
        );
    }
}
