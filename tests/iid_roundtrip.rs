//! Property tests for the `.iid` writer and reader: random files written, read back and
//! compared with what was added; spatial queries and the overlap graph checked against a
//! brute-force evaluation of the masks; the writer's limits and atomic save.

mod common;

use common::Rng;

use std::collections::BTreeSet;

use imkit::iid::{AreaRange, Filter, IidFile, IidWriter, MaskData, Parts, Select};
use imkit::Error;

struct Added {
    address: Vec<u8>,
    domain: Vec<u8>,
    bbox: [u64; 4],
    mask: Vec<u8>,
}

impl Added {
    fn pixel(&self, r: i64, c: i64) -> bool {
        let [r0, c0, r1, c1] = self.bbox.map(|v| v as i64);
        r >= r0 && r < r1 && c >= c0 && c < c1 && {
            let w = c1 - c0;
            self.mask[((r - r0) * w + (c - c0)) as usize] != 0
        }
    }
    fn area(&self) -> u64 {
        self.mask.iter().filter(|&&v| v != 0).count() as u64
    }
}

/// Group names with their keys, in creation order.
type Groups = Vec<(String, BTreeSet<u32>)>;

fn random_file(rng: &mut Rng) -> (IidWriter, Vec<Added>, Groups) {
    let mut w = IidWriter::new();
    let mut added = Vec::new();
    let n = rng.below(40);
    let canvas = 10 + rng.below(80);
    for _ in 0..n {
        let (h, wd) = (rng.below(14), rng.below(14));
        let (r0, c0) = (rng.below(canvas), rng.below(canvas));
        let density = rng.below(101);
        let mask: Vec<u8> = (0..h * wd)
            .map(|_| (rng.below(100) < density) as u8 * (1 + rng.below(3) as u8))
            .collect();
        let a = Added {
            address: rng.bytes(12),
            domain: if rng.below(3) == 0 {
                Vec::new()
            } else {
                rng.bytes(4)
            },
            bbox: [r0, c0, r0 + h, c0 + wd],
            mask,
        };
        let packed: Vec<u8> = {
            let mut p = vec![0u8; a.mask.len().div_ceil(8)];
            for (i, &v) in a.mask.iter().enumerate() {
                if v != 0 {
                    p[i / 8] |= 0x80 >> (i % 8);
                }
            }
            p
        };
        let data = if rng.below(2) == 0 {
            MaskData::Bytes(&a.mask)
        } else {
            MaskData::Packed(&packed)
        };
        let key = w.add(&a.address, &a.domain, a.bbox, data).unwrap();
        assert_eq!(key as usize, added.len());
        added.push(a);
    }
    let mut groups: Groups = Vec::new();
    if n > 0 {
        for _ in 0..rng.below(5) {
            let name = ["", "a", "été", "x\"y", "🙂"][rng.below(5) as usize].to_string();
            let key = rng.below(n) as u32;
            w.add_to_group(&name, key).unwrap();
            match groups.iter_mut().find(|g| g.0 == name) {
                Some(g) => {
                    g.1.insert(key);
                }
                None => groups.push((name, BTreeSet::from([key]))),
            }
        }
    }
    (w, added, groups)
}

#[test]
fn random_files_round_trip_and_queries_match_brute_force() {
    let mut rng = Rng(0x1d_2024_f00d);
    for round in 0..150 {
        let (mut w, added, groups) = random_file(&mut rng);
        let meta = format!(
            r#"{{"round": {round}, "x": [1.5, null, "é"], "big": 123456789012345678901234567890}}"#
        );
        w.set_meta_json(&meta).unwrap();
        let f = IidFile::from_bytes(w.to_bytes().unwrap()).unwrap();
        f.validate().unwrap();
        assert_eq!(f.len(), added.len());
        assert_eq!(
            f.meta_json(),
            r#"{"round": ROUND, "x": [1.5, null, "\u00e9"], "big": 123456789012345678901234567890}"#
                .replace("ROUND", &round.to_string())
        );
        assert_eq!(f.groups().len(), groups.len());
        for (g, (name, keys)) in f.groups().iter().zip(&groups) {
            assert_eq!(&g.name, name);
            assert_eq!(g.keys, keys.iter().copied().collect::<Vec<_>>());
        }
        for (k, a) in added.iter().enumerate() {
            let iid = f.iid(k as u32).unwrap();
            assert_eq!(iid.address, a.address.as_slice());
            assert_eq!(iid.domain, a.domain.as_slice());
            let seg = f.segment(k as u32).unwrap();
            assert_eq!(seg.bbox.to_array().map(u64::from), a.bbox);
            assert_eq!(seg.area as u64, a.area());
            let m = seg.mask_vec().unwrap();
            let want: Vec<u8> = a.mask.iter().map(|&v| (v != 0) as u8).collect();
            assert_eq!(m, want, "round {round} key {k}");
        }
        // Spatial queries against brute force.
        for _ in 0..20 {
            let (r, c) = (rng.below(110) as i64 - 5, rng.below(110) as i64 - 5);
            let want: Vec<u32> = (0..added.len() as u32)
                .filter(|&k| added[k as usize].pixel(r, c))
                .collect();
            assert_eq!(f.at(r, c).unwrap(), want, "at({r}, {c})");
            let (h, wd) = (rng.below(30) as i64, rng.below(30) as i64);
            let want: Vec<u32> = (0..added.len() as u32)
                .filter(|&k| (r..r + h).any(|y| (c..c + wd).any(|x| added[k as usize].pixel(y, x))))
                .collect();
            assert_eq!(f.region([r, c, r + h, c + wd]).unwrap(), want);
        }
        let g = f.overlap_graph(None).unwrap();
        let mut want = Vec::new();
        for a in 0..added.len() {
            for b in a + 1..added.len() {
                let [r0, c0, r1, c1] = added[a].bbox.map(|v| v as i64);
                let shared = (r0..r1)
                    .flat_map(|y| (c0..c1).map(move |x| (y, x)))
                    .filter(|&(y, x)| added[a].pixel(y, x) && added[b].pixel(y, x))
                    .count() as u64;
                if shared > 0 {
                    want.push((a as u32, b as u32, shared));
                }
            }
        }
        assert_eq!(g.edges, want, "round {round}");
        // Area filters, both semantics.
        let (lo, hi) = (rng.below(30), rng.below(60));
        for exclusive in [false, true] {
            let range = AreaRange {
                min: Some(lo),
                max: Some(hi),
                exclusive,
            };
            let want: Vec<u32> = (0..added.len() as u32)
                .filter(|&k| {
                    let a = added[k as usize].area();
                    if exclusive {
                        lo < a && a < hi
                    } else {
                        lo <= a && a <= hi
                    }
                })
                .collect();
            let got = f
                .filter(&Filter {
                    area: Some(range),
                    ..Filter::default()
                })
                .unwrap();
            assert_eq!(got, want);
        }
        // Copying through the writer is lossless.
        assert_eq!(
            IidWriter::from_file(&f).unwrap().to_bytes().unwrap(),
            f.bytes()
        );
        assert_eq!(f.fetch(Select::All, Parts::ALL).unwrap().len(), added.len());
    }
}

#[test]
fn writer_rejects_what_the_format_cannot_hold() {
    let mut w = IidWriter::new();
    let mask = [1u8; 4];
    let err = w
        .add(b"a", b"", [65534, 0, 65536, 2], MaskData::Bytes(&mask))
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("65535"), "{err}");
    assert!(matches!(
        w.add(b"a", b"", [2, 0, 0, 2], MaskData::Bytes(&mask)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        w.add(b"a", b"", [0, 0, 2, 3], MaskData::Bytes(&mask)),
        Err(Error::Mismatch(_))
    ));
    assert!(matches!(w.add_to_group("g", 0), Err(Error::OutOfBounds(_))));
    assert!(w.set_meta_json("{bad").is_err());
    assert!(w.is_empty(), "failed calls changed nothing");
    // The largest coordinates the format holds are fine.
    w.add(
        b"edge",
        b"",
        [65534, 65533, 65535, 65535],
        MaskData::Bytes(&[1, 0]),
    )
    .unwrap();
    let f = IidFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(f.at(65534, 65533).unwrap(), vec![0]);
    assert!(f.at(65534, 65534).unwrap().is_empty());
}

#[test]
fn save_is_atomic_and_open_is_read_only() {
    let dir = common::scratch_root().join(format!("imkit-iid-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("out.iid");
    std::fs::write(&target, b"old contents").unwrap();
    let mut w = IidWriter::new();
    w.add(b"x", b"d", [1, 1, 3, 3], MaskData::Bytes(&[1, 0, 0, 1]))
        .unwrap();
    // A failing save into a missing directory leaves nothing behind.
    assert!(w.save(dir.join("missing/out.iid")).is_err());
    w.save(&target).unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file is left");
    let mut perms = std::fs::metadata(&target).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&target, perms).unwrap();
    let f = IidFile::open(&target).unwrap();
    assert_eq!(f.at(2, 2).unwrap(), vec![0]);
    assert_eq!(f.bytes(), w.to_bytes().unwrap().as_slice());
    // A zero-byte file is a clear format error, not an mmap failure.
    std::fs::write(dir.join("empty.iid"), b"").unwrap();
    assert!(matches!(
        IidFile::open(dir.join("empty.iid")),
        Err(Error::Format(_))
    ));
    drop(f);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_handle_serves_many_threads() {
    let mut rng = Rng(99);
    let mut w = IidWriter::new();
    for i in 0..3000u64 {
        let (r0, c0) = (rng.below(500), rng.below(500));
        let mask: Vec<u8> = (0..100).map(|_| (rng.below(3) != 0) as u8).collect();
        w.add(
            &i.to_le_bytes(),
            b"",
            [r0, c0, r0 + 10, c0 + 10],
            MaskData::Bytes(&mask),
        )
        .unwrap();
    }
    // Fresh handle: the threads race to build the index.
    let f = IidFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    let points: Vec<(i64, i64)> = (0..200)
        .map(|_| (rng.below(510) as i64, rng.below(510) as i64))
        .collect();
    let answers: Vec<Vec<Vec<u32>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| points.iter().map(|&(r, c)| f.at(r, c).unwrap()).collect()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for a in &answers[1..] {
        assert_eq!(a, &answers[0]);
    }
    let expected: Vec<Vec<u32>> = points
        .iter()
        .map(|&(r, c)| {
            (0..f.len() as u32)
                .filter(|&k| f.segment(k).unwrap().contains_pixel(r, c))
                .collect()
        })
        .collect();
    assert_eq!(answers[0], expected);
    assert!(expected.iter().any(|v| !v.is_empty()));
}

#[test]
fn add_many_equals_one_add_per_entry() {
    let mut rng = Rng(2024);
    let mut masks = Vec::new();
    for _ in 0..1500 {
        let (h, w) = (1 + rng.below(30), 1 + rng.below(30));
        let (r0, c0) = (rng.below(1000), rng.below(1000));
        let mask: Vec<u8> = (0..h * w).map(|_| (rng.below(4) != 0) as u8).collect();
        let address = rng.below(1_000_000).to_string().into_bytes();
        masks.push(([r0, c0, r0 + h, c0 + w], mask, address));
    }
    let entries: Vec<imkit::iid::NewEntry> = masks
        .iter()
        .map(|(bbox, mask, address)| imkit::iid::NewEntry {
            address,
            domain: b"d",
            bbox: *bbox,
            mask: MaskData::Bytes(mask),
        })
        .collect();
    let mut one = IidWriter::new();
    for e in &entries {
        one.add(e.address, e.domain, e.bbox, e.mask).unwrap();
    }
    let mut many = IidWriter::new();
    many.add(b"first", b"", [0, 0, 1, 1], MaskData::Bytes(&[1]))
        .unwrap();
    assert_eq!(many.add_many(&entries[..0]).unwrap(), 1..1);
    let mut bad = entries.clone();
    bad[1200].bbox[2] += 1; // the mask no longer covers the box
    assert!(matches!(many.add_many(&bad), Err(Error::Mismatch(_))));
    assert_eq!(many.len(), 1, "a failed add_many adds nothing");
    let mut reference = IidWriter::new();
    reference
        .add(b"first", b"", [0, 0, 1, 1], MaskData::Bytes(&[1]))
        .unwrap();
    for e in &entries {
        reference.add(e.address, e.domain, e.bbox, e.mask).unwrap();
    }
    assert_eq!(many.add_many(&entries).unwrap(), 1..1501);
    assert_eq!(many.to_bytes().unwrap(), reference.to_bytes().unwrap());
    let mut fresh = IidWriter::new();
    fresh.add_many(&entries).unwrap();
    assert_eq!(fresh.to_bytes().unwrap(), one.to_bytes().unwrap());
    // A batch holds copies: the same file again.
    let mut batch = imkit::iid::EntryBatch::new();
    for e in &entries {
        let MaskData::Bytes(m) = e.mask else {
            unreachable!()
        };
        batch.push(e.address, e.domain, e.bbox, m).unwrap();
    }
    assert_eq!(batch.len(), entries.len());
    let mut batched = IidWriter::new();
    assert_eq!(batched.add_batch(&batch).unwrap(), 0..1500);
    assert_eq!(batched.to_bytes().unwrap(), one.to_bytes().unwrap());
    batch.clear();
    assert!(batch.is_empty());
}

#[test]
fn staged_writer_equals_one_add_per_entry_at_any_thread_count() {
    let mut rng = Rng(77);
    // Enough mask bytes for several background jobs, plus a partial last batch.
    let entries: Vec<([u64; 4], Vec<u8>, Vec<u8>)> = (0..3000)
        .map(|i| {
            let (h, w) = (1 + rng.below(40), 1 + rng.below(40));
            let (r0, c0) = (rng.below(2000), rng.below(2000));
            let mask: Vec<u8> = (0..h * w).map(|_| (rng.below(3) != 0) as u8).collect();
            ([r0, c0, r0 + h, c0 + w], mask, format!("e{i}").into_bytes())
        })
        .collect();
    let mut one = IidWriter::new();
    for (bbox, mask, address) in &entries {
        one.add(address, b"dom", *bbox, MaskData::Bytes(mask))
            .unwrap();
    }
    let want = one.to_bytes().unwrap();
    for threads in [1, 2, 3] {
        imkit::threads::set_num_threads(threads).unwrap();
        let mut staged = imkit::iid::StagedWriter::default();
        // A bad entry is refused at once and leaves nothing staged.
        assert!(matches!(
            staged.stage(b"x", b"", [0, 0, 2, 2], &[1, 1, 1]),
            Err(Error::Mismatch(_))
        ));
        assert!(staged.stage(b"x", b"", [0, 0, 70000, 1], &[1]).is_err());
        for (i, (bbox, mask, address)) in entries.iter().enumerate() {
            assert_eq!(
                staged.stage(address, b"dom", *bbox, mask).unwrap(),
                i as u32
            );
        }
        assert_eq!(staged.len(), entries.len());
        assert_eq!(
            staged.flush().unwrap().to_bytes().unwrap(),
            want,
            "{threads} threads"
        );
        // Flushing again (nothing staged) changes nothing; staging goes on after it.
        assert_eq!(staged.flush().unwrap().len(), entries.len());
        assert_eq!(
            staged.stage(b"more", b"", [0, 0, 1, 1], &[1]).unwrap(),
            3000
        );
        assert_eq!(staged.flush().unwrap().len(), 3001);
    }
    imkit::threads::set_num_threads(0).unwrap();
}

#[test]
fn set_group_writes_the_given_order_and_add_to_group_stays_ascending() {
    let mut w = IidWriter::new();
    for i in 0..10u64 {
        w.add(b"a", b"", [i, 0, i + 1, 1], MaskData::Bytes(&[1]))
            .unwrap();
    }
    for k in [7, 2, 9, 2] {
        w.add_to_group("asc", k).unwrap();
    }
    w.set_group("sparse", &[8, 5]).unwrap();
    assert!(matches!(
        w.set_group("bad", &[1, 1]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        w.set_group("bad", &[10]),
        Err(Error::OutOfBounds(_))
    ));
    let f = IidFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    let groups = f.groups();
    assert_eq!(groups.len(), 2, "failed set_group calls created nothing");
    assert_eq!(groups[0].stored_keys, vec![2, 7, 9]);
    assert_eq!(groups[1].stored_keys, vec![8, 5]);
    assert_eq!(groups[1].keys, vec![5, 8]);
}
