//! Fuzzes the `.iid` reader with arbitrary bytes: open must either fail cleanly or give a
//! file on which every query and accessor works without panicking; a file that validates
//! must survive a copy through the writer unchanged in content.
#![no_main]

use imkit::iid::{dump_json, AreaRange, Filter, IidFile, IidWriter, Parts, Select};
use libfuzzer_sys::fuzz_target;

/// Masks larger than this are not materialised (a crafted box can be 65535 x 65535).
const MAX_MASK_PIXELS: u64 = 1 << 22;

fuzz_target!(|data: &[u8]| {
    let Ok(f) = IidFile::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = f.meta_json();
    let _ = f.fetch(Select::All, Parts::ALL);
    let _ = f.region([0, 0, 70_000, 70_000]);
    let _ = f.at(3, 4);
    let _ = f.at_compat(-1, 65_536);
    let _ = f.look_for(&[b"a"], Some(&[b""]), None);
    let _ = f.filter(&Filter {
        area: Some(AreaRange { min: Some(1), max: Some(50), exclusive: true }),
        ..Filter::default()
    });
    let _ = f.overlap_graph(None);
    for g in f.groups() {
        let _ = f.select(Select::Groups(&[g.name.as_str()]));
    }
    let mut masks_ok = true;
    for key in 0..f.len().min(256) as u32 {
        let _ = f.iid(key);
        if let Ok(seg) = f.segment(key) {
            if seg.bbox.pixels() <= MAX_MASK_PIXELS {
                let mut bytes = vec![0u8; seg.bbox.pixels() as usize];
                seg.mask_bytes(&mut bytes).unwrap();
                let mut packed = vec![0u8; seg.packed_len() as usize];
                seg.mask_packed(&mut packed).unwrap();
                let ones = bytes.iter().filter(|&&b| b == 1).count() as u64;
                let packed_ones: u64 = packed.iter().map(|b| b.count_ones() as u64).sum();
                assert_eq!(ones, packed_ones, "byte and packed masks disagree");
            } else {
                masks_ok = false;
            }
        }
    }
    if f.validate().is_ok() && masks_ok && f.len() <= 256 {
        let _ = dump_json(&f).unwrap();
        // A valid file copies through the writer with the same content.
        let copy = IidWriter::from_file(&f).unwrap().to_bytes().unwrap();
        let g = IidFile::from_bytes(copy).expect("a copy of a valid file must open");
        g.validate().expect("a copy of a valid file must validate");
        assert_eq!(f.len(), g.len());
        assert_eq!(f.meta_json(), g.meta_json());
        for key in 0..f.len() as u32 {
            assert_eq!(f.iid(key).unwrap(), g.iid(key).unwrap());
            let (a, b) = (f.segment(key).unwrap(), g.segment(key).unwrap());
            assert_eq!((a.bbox, a.area), (b.bbox, b.area));
            assert_eq!(a.mask_vec().unwrap(), b.mask_vec().unwrap());
        }
        let names: Vec<_> = f.groups().iter().map(|g| (&g.name, &g.keys)).collect();
        let names2: Vec<_> = g.groups().iter().map(|g| (&g.name, &g.keys)).collect();
        assert_eq!(names, names2);
    }
});
