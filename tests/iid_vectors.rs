//! The reference vectors (tests/fixtures/iid, written by iidfile 0.2.0): every file decodes
//! to exactly its expected JSON, every recorded query gets the reference's answer, and the
//! writer fed each `build` recipe reproduces the file byte for byte (group key lists
//! ascending). Also the corrupt files of `bad/` and truncation / bit-flip sweeps.

mod common;

use std::path::PathBuf;

use imkit::iid::{AreaRange, Filter, IidFile, IidWriter, MaskData, Parts, Select};
use imkit::Error;
use serde_json::Value;

use common::b64;

const VECTORS: [&str; 9] = [
    "empty",
    "one_entry",
    "overlapping",
    "components_holes",
    "groups",
    "meta_unicode",
    "addresses",
    "edge_coords",
    "large",
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/iid")
}

fn load(name: &str) -> (IidFile, Value, Vec<u8>) {
    let dir = fixtures();
    let file = IidFile::open(dir.join(format!("{name}.iid"))).expect(name);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let bytes = std::fs::read(dir.join(format!("{name}.iid"))).unwrap();
    (file, json, bytes)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn unb64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let vals: Vec<u32> = s
        .bytes()
        .filter(|&c| c != b'=')
        .map(|c| A.iter().position(|&a| a == c).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in vals.chunks(4) {
        let mut v = 0u32;
        for (i, x) in chunk.iter().enumerate() {
            v |= x << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((v >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn vectors_decode_to_their_json() {
    for name in VECTORS {
        let (f, j, bytes) = load(name);
        let h = f.header();
        assert_eq!(j["file_size"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(h.version as u64, j["header"]["version"].as_u64().unwrap());
        assert_eq!(h.rformat as u64, j["header"]["rformat"].as_u64().unwrap());
        for (key, loc) in [
            ("lut", h.lut),
            ("iids", h.iids),
            ("meta", h.meta),
            ("groups", h.groups),
            ("segs", h.segs),
        ] {
            assert_eq!(
                u64s(&j["header"][key]),
                vec![loc.offset as u64, loc.len as u64],
                "{name} {key}"
            );
        }
        assert_eq!(
            f.meta_json(),
            j["meta_raw"].as_str().unwrap(),
            "{name} meta"
        );
        let groups = j["groups"].as_array().unwrap();
        assert_eq!(f.groups().len(), groups.len());
        for (g, e) in f.groups().iter().zip(groups) {
            assert_eq!(g.name, e["name"].as_str().unwrap());
            assert_eq!(
                g.keys.iter().map(|&k| k as u64).collect::<Vec<_>>(),
                u64s(&e["keys"])
            );
            assert_eq!(
                g.stored_keys.iter().map(|&k| k as u64).collect::<Vec<_>>(),
                u64s(&e["stored_keys"])
            );
        }
        let entries = j["entries"].as_array().unwrap();
        assert_eq!(f.len(), entries.len(), "{name}");
        f.validate().unwrap();
        for e in entries {
            let key = e["key"].as_u64().unwrap() as u32;
            let iid = f.iid(key).unwrap();
            assert_eq!(hex(iid.address), e["address_hex"].as_str().unwrap());
            match e["domain_hex"].as_str() {
                Some(d) => assert_eq!(hex(iid.domain), d),
                None => assert!(iid.domain.is_empty()),
            }
            let seg = f.segment(key).unwrap();
            assert_eq!(
                seg.bbox.to_array().map(u64::from).to_vec(),
                u64s(&e["bbox"]),
                "{name} {key}"
            );
            assert_eq!(seg.area as u64, e["area"].as_u64().unwrap());
            assert_eq!(f.groups_of(key), strs(&e["groups"]), "{name} {key} groups");
            let regions = e["regions"].as_array().unwrap();
            let ours: Vec<_> = seg.regions().collect();
            assert_eq!(ours.len(), regions.len(), "{name} {key} regions");
            for (r, er) in ours.iter().zip(regions) {
                assert_eq!(r.bbox.to_array().map(u64::from).to_vec(), u64s(&er["bbox"]));
                assert_eq!(b64(r.bits), er["mask_b64"].as_str().unwrap());
            }
            let mut packed = vec![0u8; seg.packed_len() as usize];
            seg.mask_packed(&mut packed).unwrap();
            assert_eq!(
                b64(&packed),
                e["mask_b64"].as_str().unwrap(),
                "{name} {key}"
            );
            if let Some(rows) = e.get("mask_rows") {
                let m = seg.mask_vec().unwrap();
                let w = seg.bbox.width();
                let text: Vec<String> = m
                    .chunks(w.max(1))
                    .map(|r| r.iter().map(|&b| if b == 1 { '1' } else { '0' }).collect())
                    .collect();
                if w > 0 {
                    assert_eq!(text, strs(rows), "{name} {key} rows");
                }
                // The exact single-pixel query agrees with the mask.
                if m.len() <= 64 {
                    for (i, &px) in m.iter().enumerate() {
                        let (r, c) = (
                            seg.bbox.minr as i64 + (i / w) as i64,
                            seg.bbox.minc as i64 + (i % w) as i64,
                        );
                        assert_eq!(f.at(r, c).unwrap().contains(&key), px == 1);
                    }
                }
            }
        }
    }
}

fn prefetch_keys(f: &IidFile, q: &Value) -> Option<Vec<u32>> {
    let p = q.get("prefetch")?;
    if let Some(g) = p.get("groups") {
        let names = strs(g);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Some(f.select(Select::Groups(&names)).unwrap())
    } else {
        Some(f.select(Select::Keys(&u64s(&p["keys"]))).unwrap())
    }
}

fn restrict(mut keys: Vec<u32>, f: &IidFile, q: &Value) -> Vec<u32> {
    if q.get("only_loaded").and_then(Value::as_bool) == Some(true) {
        let loaded = prefetch_keys(f, q).unwrap_or_default();
        keys.retain(|k| loaded.contains(k));
    }
    keys
}

/// The reference's domain list: `null` = None (matches empty domains, our `b""`), `""`
/// matches nothing (dropped here); an emptied list would then mean "no filter", so it is
/// replaced by a value no entry has.
fn domains(q: &Value) -> Option<Vec<Vec<u8>>> {
    let list = q.get("domains_hex")?.as_array()?;
    let mut out: Vec<Vec<u8>> = list
        .iter()
        .filter_map(|d| match d.as_str() {
            None => Some(Vec::new()),
            Some("") => None,
            Some(h) => Some(unhex(h)),
        })
        .collect();
    if out.is_empty() && !list.is_empty() {
        out.push(b"\xff no such domain \xff".to_vec());
    }
    Some(out)
}

#[test]
fn vector_queries_match_the_reference() {
    let mut count = 0;
    for name in VECTORS {
        let (f, j, _) = load(name);
        for q in j["queries"].as_array().unwrap() {
            let op = q["op"].as_str().unwrap();
            let groups = q.get("groups").filter(|g| !g.is_null()).map(strs);
            let groups_ref: Option<Vec<&str>> = groups
                .as_ref()
                .map(|g| g.iter().map(String::as_str).collect());
            let result: Vec<u32> = match op {
                "at" => {
                    let (x, y) = (q["x"].as_i64().unwrap(), q["y"].as_i64().unwrap());
                    restrict(f.at_compat(x, y).unwrap(), &f, q)
                }
                "region" => {
                    let b: Vec<i64> = q["bbox"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_i64().unwrap())
                        .collect();
                    restrict(f.region([b[0], b[1], b[2], b[3]]).unwrap(), &f, q)
                }
                "filter" => {
                    let doms = domains(q);
                    let dom_refs: Option<Vec<&[u8]>> =
                        doms.as_ref().map(|d| d.iter().map(Vec::as_slice).collect());
                    let area = q.get("area").map(|a| AreaRange {
                        min: a[0].as_u64(),
                        max: a[1].as_u64(),
                        exclusive: true,
                    });
                    f.filter(&Filter {
                        groups: groups_ref.as_deref(),
                        domains: dom_refs.as_deref(),
                        area,
                    })
                    .unwrap()
                }
                "look_for" => {
                    let addrs: Vec<Vec<u8>> = q["addresses_hex"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| unhex(a.as_str().unwrap()))
                        .collect();
                    let addr_refs: Vec<&[u8]> = addrs.iter().map(Vec::as_slice).collect();
                    let doms = domains(q);
                    let dom_refs: Option<Vec<&[u8]>> =
                        doms.as_ref().map(|d| d.iter().map(Vec::as_slice).collect());
                    f.look_for(&addr_refs, dom_refs.as_deref(), groups_ref.as_deref())
                        .unwrap()
                }
                "fetch" => {
                    let everything = q.get("everything").and_then(Value::as_bool) == Some(true);
                    let all = q.get("all_keys").and_then(Value::as_bool) == Some(true);
                    let keys = q.get("keys").map(u64s).unwrap_or_default();
                    let sel = if everything || (groups_ref.is_none() && all) {
                        Select::All
                    } else if let Some(g) = groups_ref.as_deref() {
                        Select::Groups(g)
                    } else {
                        Select::Keys(&keys)
                    };
                    let got = f.fetch(sel, Parts::ALL).unwrap();
                    got.iter().map(|e| e.key).collect()
                }
                "overlap_graph" => {
                    let everything = q["everything"].as_bool().unwrap();
                    let keys: Option<Vec<u64>> = (!everything).then(|| {
                        prefetch_keys(&f, q)
                            .unwrap_or_default()
                            .into_iter()
                            .map(u64::from)
                            .collect()
                    });
                    let g = f.overlap_graph(keys.as_deref()).unwrap();
                    let mut nodes = u64s(&q["nodes"]);
                    nodes.sort_unstable();
                    assert_eq!(
                        g.nodes.iter().map(|&k| k as u64).collect::<Vec<_>>(),
                        nodes,
                        "{name} overlap nodes"
                    );
                    let mut edges: Vec<(u64, u64, u64)> = q["edges"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| {
                            let v = u64s(e);
                            (v[0].min(v[1]), v[0].max(v[1]), v[2])
                        })
                        .collect();
                    edges.sort_unstable();
                    let ours: Vec<(u64, u64, u64)> = g
                        .edges
                        .iter()
                        .map(|&(a, b, w)| (a as u64, b as u64, w))
                        .collect();
                    assert_eq!(ours, edges, "{name} overlap edges");
                    count += 1;
                    continue;
                }
                other => panic!("unknown op {other}"),
            };
            let expected = u64s(&q["result"]);
            assert_eq!(
                result.iter().map(|&k| k as u64).collect::<Vec<_>>(),
                expected,
                "{name}: {q}"
            );
            count += 1;
        }
    }
    assert!(count > 300, "only {count} queries checked");
}

/// Replays a vector's `build` recipe; masks come packed or as one byte per pixel.
fn replay(j: &Value, packed: bool) -> Vec<u8> {
    let entries = j["entries"].as_array().unwrap();
    let mut w = IidWriter::new();
    for op in j["build"].as_array().unwrap() {
        match op["op"].as_str().unwrap() {
            "add" => {
                let e = &entries[op["key"].as_u64().unwrap() as usize];
                let b = u64s(&op["bbox"]);
                let bits = unb64(e["mask_b64"].as_str().unwrap());
                let pixels = ((b[2] - b[0]) * (b[3] - b[1])) as usize;
                let bytes: Vec<u8> = (0..pixels)
                    .map(|i| (bits[i / 8] >> (7 - i % 8)) & 1)
                    .collect();
                let mask = if packed {
                    MaskData::Packed(&bits)
                } else {
                    MaskData::Bytes(&bytes)
                };
                let domain = op["domain_hex"].as_str().map(unhex).unwrap_or_default();
                let address = unhex(op["address_hex"].as_str().unwrap());
                let key = w
                    .add(&address, &domain, [b[0], b[1], b[2], b[3]], mask)
                    .unwrap();
                assert_eq!(key as u64, op["key"].as_u64().unwrap());
                if let Some(g) = op["group"].as_str().filter(|g| !g.is_empty()) {
                    w.add_to_group(g, key).unwrap();
                }
            }
            "groups_add" => {
                for k in u64s(&op["keys"]) {
                    w.add_to_group(op["name"].as_str().unwrap(), k as u32)
                        .unwrap();
                }
            }
            "set_meta" => w.set_meta_json(j["meta_raw"].as_str().unwrap()).unwrap(),
            other => panic!("unknown build op {other}"),
        }
    }
    w.to_bytes().unwrap()
}

/// The reference file with every group key list sorted (the one permitted difference).
fn with_sorted_groups(f: &IidFile, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let sec = f.header().groups.offset as usize;
    let jl = u32::from_le_bytes(bytes[sec..sec + 4].try_into().unwrap()) as usize;
    let json: Value = serde_json::from_slice(&bytes[sec + 4..sec + 4 + jl]).unwrap();
    for (g, info) in f.groups().iter().zip(json.as_array().unwrap()) {
        let start = sec + 4 + jl + info["offset"].as_u64().unwrap() as usize;
        for (i, k) in g.keys.iter().enumerate() {
            out[start + 4 * i..start + 4 * i + 4].copy_from_slice(&k.to_le_bytes());
        }
    }
    out
}

#[test]
fn writer_reproduces_every_vector() {
    for name in VECTORS {
        let (f, j, bytes) = load(name);
        let expected = with_sorted_groups(&f, &bytes);
        for packed in [true, false] {
            let ours = replay(&j, packed);
            assert_eq!(ours.len(), expected.len(), "{name} size");
            if let Some(i) = ours.iter().zip(&expected).position(|(a, b)| a != b) {
                panic!("{name}: first difference at byte {i}");
            }
        }
        if f.groups().iter().all(|g| g.keys == g.stored_keys) {
            assert!(
                expected == bytes,
                "{name}: ascending groups must give identical bytes"
            );
        }
        // Copying an open file through the writer gives the same bytes.
        assert_eq!(
            IidWriter::from_file(&f).unwrap().to_bytes().unwrap(),
            expected
        );
    }
}

#[test]
fn bad_files_are_rejected_with_clear_errors() {
    let dir = fixtures().join("bad");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let cases = index["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 18);
    for case in cases {
        let path = dir.join(case["file"].as_str().unwrap());
        let outcome = IidFile::open(&path).and_then(|f| {
            f.validate()?;
            f.overlap_graph(None)?;
            Ok(())
        });
        match outcome {
            Err(Error::Format(msg)) => {
                assert!(msg.len() > 20, "{}: terse message {msg:?}", case["name"]);
                eprintln!("{}: {msg}", case["name"]);
            }
            other => panic!("{}: expected a format error, got {other:?}", case["name"]),
        }
    }
}

/// Exercises every read path of a possibly damaged file; must never panic.
fn poke(bytes: Vec<u8>) {
    let Ok(f) = IidFile::from_bytes(bytes) else {
        return;
    };
    let _ = f.validate();
    let _ = f.fetch(Select::All, Parts::ALL);
    let _ = f.region([0, 0, 70000, 70000]);
    let _ = f.at(10, 20);
    let _ = f.overlap_graph(None);
    let _ = f.filter(&Filter {
        area: Some(AreaRange::default()),
        ..Filter::default()
    });
    for k in 0..f.len().min(64) as u32 {
        if let Ok(s) = f.segment(k) {
            if s.bbox.pixels() < 1 << 20 {
                let _ = s.mask_vec();
            }
        }
    }
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    for name in ["one_entry", "groups", "components_holes", "edge_coords"] {
        let bytes = std::fs::read(fixtures().join(format!("{name}.iid"))).unwrap();
        for cut in 0..bytes.len() {
            poke(bytes[..cut].to_vec());
        }
        let step = if cfg!(debug_assertions) { 3 } else { 1 };
        for bit in (0..bytes.len() * 8).step_by(step) {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            poke(b);
        }
    }
}
