//! The `.iid` C ABI, called directly through the rlib: open (path and buffer), accessors,
//! the two-call key protocol, masks, meta, groups, overlap graph, writer, and the error
//! paths (NULL arguments, short buffers, damaged files, freed handles).

mod common;

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};

use imkit::ffi::*;

fn fixture(name: &str) -> CString {
    let p = format!("{}/tests/fixtures/iid/{name}", env!("CARGO_MANIFEST_DIR"));
    CString::new(p).unwrap()
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(imkit::ffi::imkit_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn open(name: &str) -> *mut imkit_iid_file {
    let mut f = null_mut();
    let st = unsafe { imkit_iid_file_open(fixture(name).as_ptr(), &mut f) };
    assert_eq!(st, imkit_status::Ok, "{}", last_error());
    f
}

/// Runs a key query with the two-call protocol.
fn keys_of(q: impl Fn(*mut u32, usize, *mut usize) -> imkit_status) -> Vec<u32> {
    let mut n = 0usize;
    let st = q(null_mut(), 0, &mut n);
    if n == 0 {
        assert_eq!(st, imkit_status::Ok);
        return Vec::new();
    }
    assert_eq!(st, imkit_status::BufferTooSmall);
    let mut keys = vec![0u32; n];
    assert_eq!(q(keys.as_mut_ptr(), n, &mut n), imkit_status::Ok);
    keys
}

#[test]
fn reader_functions() {
    let f = open("one_entry.iid");
    unsafe {
        let mut n = 0usize;
        assert_eq!(imkit_iid_file_count(f, &mut n), imkit_status::Ok);
        assert_eq!(n, 1);
        assert_eq!(imkit_iid_file_validate(f), imkit_status::Ok);
        let (mut p, mut len) = (null(), 0usize);
        assert_eq!(
            imkit_iid_file_address(f, 0, &mut p, &mut len),
            imkit_status::Ok
        );
        assert_eq!(std::slice::from_raw_parts(p, len), b"addr");
        assert_eq!(
            imkit_iid_file_domain(f, 0, &mut p, &mut len),
            imkit_status::Ok
        );
        assert_eq!(std::slice::from_raw_parts(p, len), b"dom");
        assert_eq!(
            imkit_iid_file_address(f, 1, &mut p, &mut len),
            imkit_status::OutOfBounds
        );

        let mut info = imkit_iid_segment_info::default();
        assert_eq!(
            imkit_iid_file_segment_info(f, 0, &mut info),
            imkit_status::Ok
        );
        assert_eq!(
            (
                info.bbox.minr,
                info.bbox.minc,
                info.bbox.maxr,
                info.bbox.maxc
            ),
            (10, 20, 13, 24)
        );
        assert_eq!(
            (
                info.area,
                info.region_count,
                info.mask_bytes,
                info.mask_packed_bytes
            ),
            (4, 3, 12, 2)
        );
        let (mut rb, mut ra) = (imkit_iid_bbox::default(), 0u64);
        assert_eq!(
            imkit_iid_file_region_info(f, 0, 0, &mut rb, &mut ra),
            imkit_status::Ok
        );
        assert_eq!(
            (rb.minr, rb.minc, rb.maxr, rb.maxc, ra),
            (10, 20, 12, 22, 2)
        );
        assert_eq!(
            imkit_iid_file_region_info(f, 0, 3, &mut rb, &mut ra),
            imkit_status::OutOfBounds
        );

        let mut needed = 0usize;
        assert_eq!(
            imkit_iid_file_mask(f, 0, false, null_mut(), 0, &mut needed),
            imkit_status::BufferTooSmall
        );
        assert_eq!(needed, 12);
        let mut m = vec![9u8; 12];
        assert_eq!(
            imkit_iid_file_mask(f, 0, false, m.as_mut_ptr(), 12, &mut needed),
            imkit_status::Ok
        );
        assert_eq!(m, [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
        let mut packed = [0u8; 2];
        assert_eq!(
            imkit_iid_file_mask(f, 0, true, packed.as_mut_ptr(), 2, null_mut()),
            imkit_status::Ok
        );
        assert_eq!(packed, [0b1001_0100, 0b0001_0000]);

        let mut buf = [0 as c_char; 8];
        assert_eq!(
            imkit_iid_file_meta_json(f, buf.as_mut_ptr(), 8, &mut needed),
            imkit_status::Ok
        );
        assert_eq!(needed, 3);
        assert_eq!(CStr::from_ptr(buf.as_ptr()).to_str().unwrap(), "{}");
        assert_eq!(
            imkit_iid_file_meta_json(f, buf.as_mut_ptr(), 2, &mut needed),
            imkit_status::BufferTooSmall
        );

        assert_eq!(imkit_iid_file_group_count(f, &mut n), imkit_status::Ok);
        assert_eq!(n, 1);
        assert_eq!(
            imkit_iid_file_group_name(f, 0, buf.as_mut_ptr(), 8, null_mut()),
            imkit_status::Ok
        );
        assert_eq!(CStr::from_ptr(buf.as_ptr()).to_str().unwrap(), "g1");

        assert_eq!(
            keys_of(|k, c, n| imkit_iid_file_at(f, 11, 21, k, c, n)),
            vec![0]
        );
        assert!(keys_of(|k, c, n| imkit_iid_file_at(f, 11, 20, k, c, n)).is_empty());
        assert_eq!(
            keys_of(|k, c, n| imkit_iid_file_at_compat(f, 21, 11, k, c, n)),
            vec![0]
        );
        let b = imkit_iid_bbox {
            minr: -5,
            minc: -5,
            maxr: 100,
            maxc: 100,
        };
        assert_eq!(
            keys_of(|k, c, n| imkit_iid_file_region(f, &b, k, c, n)),
            vec![0]
        );
        let g1 = CString::new("g1").unwrap();
        let groups = [g1.as_ptr()];
        assert_eq!(
            keys_of(|k, c, n| imkit_iid_file_fetch(
                f,
                imkit_iid_select::Groups as i32,
                null(),
                0,
                groups.as_ptr(),
                1,
                true,
                true,
                k,
                c,
                n
            )),
            vec![0]
        );
        let missing = [5u64];
        let mut cnt = 0usize;
        assert_eq!(
            imkit_iid_file_fetch(
                f,
                imkit_iid_select::Keys as i32,
                missing.as_ptr(),
                1,
                null(),
                0,
                true,
                false,
                null_mut(),
                0,
                &mut cnt
            ),
            imkit_status::OutOfBounds
        );
        let addr = imkit_iid_bytes {
            data: b"addr".as_ptr(),
            len: 4,
        };
        let dom = imkit_iid_bytes {
            data: b"dom".as_ptr(),
            len: 3,
        };
        assert_eq!(
            keys_of(|k, c, n| imkit_iid_file_look_for(f, &addr, 1, &dom, 1, null(), 0, k, c, n)),
            vec![0]
        );
        let area = imkit_iid_area_range {
            min: 4,
            max: 4,
            exclusive: false,
        };
        assert_eq!(
            keys_of(|k, c, n| imkit_iid_file_filter(f, null(), 0, null(), 0, &area, k, c, n)),
            vec![0]
        );
        let area = imkit_iid_area_range {
            min: 4,
            max: u64::MAX,
            exclusive: true,
        };
        assert!(
            keys_of(|k, c, n| imkit_iid_file_filter(f, null(), 0, null(), 0, &area, k, c, n))
                .is_empty()
        );

        // NULL arguments and wrong handles.
        assert_eq!(imkit_iid_file_count(null(), &mut n), imkit_status::NullArg);
        assert_eq!(imkit_iid_file_count(f, null_mut()), imkit_status::NullArg);
        assert!(last_error().contains("out"));
        let w = {
            let mut w = null_mut();
            assert_eq!(imkit_iid_writer_new(&mut w), imkit_status::Ok);
            w
        };
        assert_eq!(
            imkit_iid_file_count(w.cast(), &mut n),
            imkit_status::InvalidHandle
        );
        imkit_iid_writer_free(w);
        imkit_iid_file_free(f);
        assert_eq!(imkit_iid_file_count(f, &mut n), imkit_status::InvalidHandle);
    }
}

#[test]
fn overlap_graph_and_buffer_open() {
    let bytes = std::fs::read(fixture("overlapping.iid").to_str().unwrap()).unwrap();
    unsafe {
        let mut f = null_mut();
        assert_eq!(
            imkit_iid_file_open_buffer(bytes.as_ptr(), bytes.len(), &mut f),
            imkit_status::Ok
        );
        let mut g = null_mut();
        assert_eq!(
            imkit_iid_file_overlap_graph(f, true, null(), 0, &mut g),
            imkit_status::Ok
        );
        let nodes = keys_of(|k, c, n| imkit_iid_graph_nodes(g, k, c, n));
        assert_eq!(nodes, (0..16).collect::<Vec<u32>>());
        let mut n = 0usize;
        assert_eq!(
            imkit_iid_graph_edges(g, null_mut(), 0, &mut n),
            imkit_status::BufferTooSmall
        );
        let mut edges = vec![imkit_iid_overlap::default(); n];
        assert_eq!(
            imkit_iid_graph_edges(g, edges.as_mut_ptr(), n, &mut n),
            imkit_status::Ok
        );
        let rust = imkit::iid::IidFile::from_bytes(bytes.clone())
            .unwrap()
            .overlap_graph(None)
            .unwrap();
        let ours: Vec<(u32, u32, u64)> = edges.iter().map(|e| (e.a, e.b, e.pixels)).collect();
        assert_eq!(ours, rust.edges);
        assert!(!ours.is_empty());
        imkit_iid_graph_free(g);
        imkit_iid_file_free(f);
    }
}

#[test]
fn writer_functions_and_damaged_files() {
    let dir = common::scratch_root().join(format!("imkit-iid-ffi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = CString::new(dir.join("w.iid").to_str().unwrap()).unwrap();
    unsafe {
        let mut w = null_mut();
        assert_eq!(imkit_iid_writer_new(&mut w), imkit_status::Ok);
        let mask = [1u8, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1];
        let b = imkit_iid_bbox {
            minr: 10,
            minc: 20,
            maxr: 13,
            maxc: 24,
        };
        let mut key = 99u32;
        assert_eq!(
            imkit_iid_writer_add(
                w,
                b"addr".as_ptr(),
                4,
                b"dom".as_ptr(),
                3,
                &b,
                mask.as_ptr(),
                12,
                imkit_iid_mask_format::Bytes as i32,
                &mut key
            ),
            imkit_status::Ok
        );
        assert_eq!(key, 0);
        let g1 = CString::new("g1").unwrap();
        assert_eq!(
            imkit_iid_writer_add_to_group(w, g1.as_ptr(), 0),
            imkit_status::Ok
        );
        assert_eq!(
            imkit_iid_writer_add_to_group(w, g1.as_ptr(), 1),
            imkit_status::OutOfBounds
        );
        let big = imkit_iid_bbox {
            minr: 0,
            minc: 0,
            maxr: 70000,
            maxc: 1,
        };
        assert_eq!(
            imkit_iid_writer_add(
                w,
                null(),
                0,
                null(),
                0,
                &big,
                mask.as_ptr(),
                12,
                0,
                null_mut()
            ),
            imkit_status::Unsupported
        );
        assert_eq!(
            imkit_iid_writer_add(
                w,
                null(),
                0,
                null(),
                0,
                &b,
                mask.as_ptr(),
                12,
                7,
                null_mut()
            ),
            imkit_status::InvalidArg
        );
        let bad_json = CString::new("{nope").unwrap();
        assert_eq!(
            imkit_iid_writer_set_meta_json(w, bad_json.as_ptr()),
            imkit_status::InvalidArg
        );
        let mut n = 0usize;
        assert_eq!(imkit_iid_writer_count(w, &mut n), imkit_status::Ok);
        assert_eq!(n, 1);
        assert_eq!(imkit_iid_writer_save(w, path.as_ptr()), imkit_status::Ok);
        imkit_iid_writer_free(w);
        // The same bytes as the reference's one_entry vector.
        let ours = std::fs::read(dir.join("w.iid")).unwrap();
        let reference = std::fs::read(fixture("one_entry.iid").to_str().unwrap()).unwrap();
        assert_eq!(ours, reference);

        for bad in [
            "bad/zero_length.iid",
            "bad/lut_key_mismatch.iid",
            "bad/meta_bad_utf8.iid",
        ] {
            let mut f = null_mut();
            assert_eq!(
                imkit_iid_file_open(fixture(bad).as_ptr(), &mut f),
                imkit_status::Format
            );
            assert!(f.is_null());
            assert!(!last_error().is_empty());
        }
        // Damage found lazily, when the segment is first read.
        let mut f = null_mut();
        assert_eq!(
            imkit_iid_file_open(fixture("bad/region_len_zero.iid").as_ptr(), &mut f),
            imkit_status::Ok
        );
        assert_eq!(imkit_iid_file_validate(f), imkit_status::Format);
        let mut info = imkit_iid_segment_info::default();
        assert_eq!(
            imkit_iid_file_segment_info(f, 0, &mut info),
            imkit_status::Format
        );
        assert!(last_error().contains("segment 0"), "{}", last_error());
        imkit_iid_file_free(f);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
