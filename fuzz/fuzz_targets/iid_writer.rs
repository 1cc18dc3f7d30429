//! Fuzzes the `.iid` writer: entries built from fuzzed bytes are written, read back and
//! must come out exactly as they went in (addresses, domains, boxes, masks).
#![no_main]

use imkit::iid::{IidFile, IidWriter, MaskData};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut writer = IidWriter::new();
    let mut expected = Vec::new();
    let mut rest = data;
    // Entry: minr, minc, h, w (1 byte each), address length, domain length, then the
    // address, domain and h*w mask bytes (as many as remain).
    while rest.len() >= 6 && expected.len() < 64 {
        let (minr, minc, h, w) = (rest[0] as u64, rest[1] as u64, (rest[2] % 24) as u64, (rest[3] % 24) as u64);
        let (alen, dlen) = (rest[4] as usize % 8, rest[5] as usize % 4);
        rest = &rest[6..];
        let take = |n: usize, rest: &mut &[u8]| {
            let n = n.min(rest.len());
            let (a, b) = rest.split_at(n);
            *rest = b;
            a.to_vec()
        };
        let address = take(alen, &mut rest);
        let domain = take(dlen, &mut rest);
        let mut mask = take((h * w) as usize, &mut rest);
        mask.resize((h * w) as usize, 0);
        let bbox = [minr, minc, minr + h, minc + w];
        match writer.add(&address, &domain, bbox, MaskData::Bytes(&mask)) {
            Ok(_) => expected.push((address, domain, bbox, mask)),
            Err(_) => continue,
        }
    }
    let bytes = writer.to_bytes().expect("a writer with valid entries encodes");
    let file = IidFile::from_bytes(bytes).expect("written bytes open");
    file.validate().expect("written bytes validate");
    assert_eq!(file.len(), expected.len());
    for (key, (address, domain, bbox, mask)) in expected.iter().enumerate() {
        let seg = file.segment(key as u32).unwrap();
        let b = seg.bbox;
        assert_eq!([b.minr as u64, b.minc as u64, b.maxr as u64, b.maxc as u64], *bbox);
        let mut got = vec![0u8; mask.len()];
        seg.mask_bytes(&mut got).unwrap();
        let want: Vec<u8> = mask.iter().map(|&m| (m != 0) as u8).collect();
        assert_eq!(got, want, "mask of entry {key} changed");
        let rec = file.iid(key as u32).unwrap();
        assert_eq!(rec.address, &address[..]);
        assert_eq!(rec.domain, &domain[..]);
    }
});
