//! Interop with the original Python package: files written by imkit are read by
//! `iidfile` 0.2.0 (through `$IMKIT_PYTHON`, default `python3`) and must decode to the
//! content imkit wrote, with the same `at` answers and overlap graph. Skips loudly when the
//! reference cannot be imported.

mod common;

use common::{b64, Rng};

use std::path::PathBuf;
use std::process::Command;

use imkit::iid::{IidFile, IidWriter, MaskData};
use serde_json::{json, Value};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Writes one random file and returns its manifest item (expected content read back
/// through imkit, which the other tests tie to what was added).
fn write_file(path: &PathBuf, rng: &mut Rng, round: usize) -> Value {
    let mut w = IidWriter::new();
    let n = 1 + rng.below(60);
    for i in 0..n {
        let (h, wd) = (1 + rng.below(20), 1 + rng.below(20));
        let (r0, c0) = (rng.below(100), rng.below(100));
        let density = rng.below(100);
        let mask: Vec<u8> = (0..h * wd)
            .map(|_| (rng.below(100) < density) as u8)
            .collect();
        let address = format!("e{round}-{i}").into_bytes();
        let domain: &[u8] = [&b""[..], b"cat", b"dog\x00\xff"][rng.below(3) as usize];
        let key = w
            .add(
                &address,
                domain,
                [r0, c0, r0 + h, c0 + wd],
                MaskData::Bytes(&mask),
            )
            .unwrap();
        if rng.below(2) == 0 {
            w.add_to_group(["even", "odd", "", "grüße"][rng.below(4) as usize], key)
                .unwrap();
        }
    }
    w.set_meta_json(&format!(
        r#"{{"round": {round}, "name": "é\n", "v": [1.5, 2e-7, null]}}"#
    ))
    .unwrap();
    w.save(path).unwrap();
    let f = IidFile::open(path).unwrap();
    let entries: Vec<Value> = (0..f.len() as u32)
        .map(|k| {
            let iid = f.iid(k).unwrap();
            let seg = f.segment(k).unwrap();
            let mut packed = vec![0u8; seg.packed_len() as usize];
            seg.mask_packed(&mut packed).unwrap();
            json!({
                "address_hex": hex(iid.address),
                "domain_hex": hex(iid.domain),
                "bbox": seg.bbox.to_array(),
                "area": seg.area,
                "mask_b64": b64(&packed),
            })
        })
        .collect();
    let groups: serde_json::Map<String, Value> = f
        .groups()
        .iter()
        .map(|g| (g.name.clone(), json!(g.keys)))
        .collect();
    let at: Vec<Value> = (0..30)
        .map(|_| {
            let (x, y) = (rng.below(125) as i64, rng.below(125) as i64);
            json!([x, y, f.at_compat(x, y).unwrap()])
        })
        .collect();
    let edges: Vec<Value> = f
        .overlap_graph(None)
        .unwrap()
        .edges
        .iter()
        .map(|&(a, b, w)| json!([a, b, w]))
        .collect();
    json!({
        "path": path.to_str().unwrap(),
        "entries": entries,
        "groups": groups,
        "meta_raw": f.meta_json(),
        "at_compat": at,
        "edges": edges,
    })
}

#[test]
fn reference_reads_files_written_by_imkit() {
    let python = std::env::var("IMKIT_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let dir = common::scratch_root().join(format!("imkit-iid-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(0x05ee_d1dd);
    let mut files: Vec<Value> = (0..12)
        .map(|i| write_file(&dir.join(format!("r{i}.iid")), &mut rng, i))
        .collect();
    // An empty file too.
    let empty = dir.join("empty.iid");
    IidWriter::new().save(&empty).unwrap();
    files.push(
        json!({"path": empty.to_str().unwrap(), "entries": [], "groups": {}, "meta_raw": "{}"}),
    );
    let manifest = dir.join("manifest.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec(&json!({ "files": files })).unwrap(),
    )
    .unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/iid_interop.py");
    let out = match Command::new(&python).arg(&script).arg(&manifest).output() {
        Ok(out) => out,
        Err(e) => {
            common::skipped(
                &format!("cannot run {python}: {e}"),
                "reference_reads_files_written_by_imkit",
            );
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        common::skipped(
            &format!(
                "iidfile 0.2.0 not importable with {python}: {}",
                stderr.trim()
            ),
            "reference_reads_files_written_by_imkit",
        );
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    assert!(
        out.status.success(),
        "reference reader disagrees:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" 0 mismatches"), "{stdout}");
    eprintln!("{}", stdout.trim());
    std::fs::remove_dir_all(&dir).unwrap();
}
