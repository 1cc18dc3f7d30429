//! The impart 0.0.5 reference vectors (tests/fixtures/partition/cases.json): grid shape, step,
//! every per-axis cell, slice and key, and the constructor cases impart mishandles.
//!
//! imkit reproduces impart's arithmetic bit for bit wherever impart is right, and differs
//! on purpose where it is not (documented in the spec): cells with a zero or negative span
//! are not cells, negative indices are normalised once with a bounds check, and slices
//! follow Python (`a:-1` works, empty selections are errors).

use std::ops::Range;

use imkit::partition::{AxisKey, Grid, GridSpec, Stride};
use serde_json::Value;

fn cases() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/partition/cases.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn pair(v: &Value) -> (Value, Value) {
    match v {
        Value::Array(a) => (a[0].clone(), a[1].clone()),
        other => (other.clone(), other.clone()),
    }
}

/// The grid a case builds, or None when the arguments are not expressible / rejected.
pub fn case_grid(case: &Value) -> imkit::Result<Grid> {
    let img = &case["image"];
    let args = &case["args"];
    let (ch, cw) = pair(&args["cell_shape"]);
    let (sy, sx) = pair(args.get("stride").unwrap_or(&Value::from(1.0)));
    let cell = |v: &Value| {
        v.as_u64().ok_or_else(|| {
            imkit::Error::invalid(format!("cell size {v} is not a positive integer"))
        })
    };
    let stride = |v: &Value| match v {
        Value::String(s) if s == "nan" => Ok(Stride::Fraction(f64::NAN)),
        Value::String(s) if s == "inf" => Ok(Stride::Fraction(f64::INFINITY)),
        v => v
            .as_f64()
            .map(Stride::Fraction)
            .ok_or_else(|| imkit::Error::invalid("stride is not a number")),
    };
    let spec = GridSpec::new(cell(&ch)?, cell(&cw)?, stride(&sy)?, stride(&sx)?);
    Grid::new(
        img["height"].as_u64().unwrap(),
        img["width"].as_u64().unwrap(),
        &spec,
    )
}

/// Per-axis table from the vectors: cell index -> (start, span) for every non-negative index
/// impart answered.
fn table(entries: &Value) -> std::collections::HashMap<i64, (i64, i64)> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let e = e.as_array().unwrap();
            let i = e[0].as_i64().unwrap();
            match (&e[1], e.get(2)) {
                (Value::Number(s), Some(Value::Number(w))) if i >= 0 => {
                    Some((i, (s.as_i64().unwrap(), w.as_i64().unwrap())))
                }
                _ => None,
            }
        })
        .collect()
}

/// One axis of a key as the vectors encode it.
enum Key {
    Int(i64),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    All,
}

fn decode(v: &Value) -> Key {
    match v {
        Value::Null => Key::All,
        Value::String(s) if s == "..." => Key::All,
        Value::Bool(b) => Key::Int(*b as i64),
        Value::Number(n) => Key::Int(n.as_i64().unwrap()),
        Value::Object(o) => {
            let s = o["slice"].as_array().unwrap();
            Key::Slice(s[0].as_i64(), s[1].as_i64(), s[2].as_i64())
        }
        other => panic!("unexpected key {other}"),
    }
}

/// Python's answer: the cells `list(range(n))[key]` selects (empty = error expected).
fn python(n: i64, key: &Key) -> Option<Range<i64>> {
    match *key {
        Key::All => Some(0..n),
        Key::Int(i) => {
            let k = if i < 0 { i + n } else { i };
            (0..n).contains(&k).then(|| k..k + 1)
        }
        Key::Slice(a, b, _) => {
            let norm = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) };
            let (s, e) = (a.map_or(0, norm), b.map_or(n, norm));
            (s < e).then_some(s..e)
        }
    }
}

/// impart's answer for one axis (spec section 4), or None for its IndexError.
fn impart(n: i64, key: &Key) -> Option<Range<i64>> {
    let (a, b) = match *key {
        Key::All => (0, n),
        Key::Int(i) => {
            if i >= n {
                return None;
            }
            let i = if i < 0 { i + n } else { i };
            (i, i + 1)
        }
        Key::Slice(a, b, _) => (a.unwrap_or(0), b.unwrap_or(n)),
    };
    if a >= n {
        return None;
    }
    let b = b.min(n);
    if a >= b {
        return None;
    }
    let a = if a < 0 { a + n } else { a };
    let b = if b < 0 { b + n } else { b };
    Some(a..b)
}

fn to_key(k: &Key) -> Option<AxisKey> {
    match *k {
        Key::All => Some(AxisKey::All),
        Key::Int(i) => Some(AxisKey::Index(i)),
        Key::Slice(a, b, None | Some(1)) => Some(AxisKey::Slice(a, b)),
        Key::Slice(..) => None,
    }
}

/// Union (start, span) of cells `r` from a vector table, if every needed entry is there.
fn table_union(
    t: &std::collections::HashMap<i64, (i64, i64)>,
    r: &Range<i64>,
) -> Option<(i64, i64)> {
    let first = t.get(&r.start)?;
    let last = t.get(&(r.end - 1))?;
    Some((first.0, last.0 + last.1 - first.0))
}

#[test]
fn geometry_matches_impart() {
    let all = cases();
    let mut checks = 0usize;
    for case in all["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let grid = case_grid(case).unwrap_or_else(|e| panic!("{id}: {e}"));
        let result = &case["result"];
        // Step: one binary64 multiplication, bit for bit.
        let steps = result["step_size"].as_array().unwrap();
        assert_eq!(
            grid.rows().step().to_bits(),
            steps[0].as_f64().unwrap().to_bits(),
            "{id}"
        );
        assert_eq!(
            grid.cols().step().to_bits(),
            steps[1].as_f64().unwrap().to_bits(),
            "{id}"
        );
        let shape = result["shape"].as_array().unwrap();
        let tables = [table(&case["rows"]), table(&case["cols"])];
        let axes = [grid.rows(), grid.cols()];
        let mut counts = [0i64; 2];
        for a in 0..2 {
            let n_imp = shape[a].as_i64().unwrap();
            let axis = axes[a];
            let n = axis.count() as i64;
            counts[a] = n;
            // Our count = impart's, less the trailing cells with a zero or negative span.
            assert!(n <= n_imp, "{id}");
            for k in n..n_imp {
                if let Some(&(_, span)) = tables[a].get(&k) {
                    assert!(
                        span <= 0,
                        "{id}: axis {a} cell {k} dropped but has span {span}"
                    );
                }
            }
            for (&k, &(start, span)) in &tables[a] {
                if k < n {
                    let r = axis.range(k as u64);
                    assert_eq!(
                        (r.start as i64, (r.end - r.start) as i64),
                        (start, span),
                        "{id} axis {a} cell {k}"
                    );
                    checks += 1;
                }
            }
            // Single indices with Python semantics.
            for e in case[["rows", "cols"][a]].as_array().unwrap() {
                let i = e[0].as_i64().unwrap();
                let got = AxisKey::Index(i).resolve(n as u64, "axis");
                match python(n, &Key::Int(i)) {
                    Some(r) => assert_eq!(got.unwrap(), r.start as u64..r.end as u64, "{id} {i}"),
                    None => assert!(got.is_err(), "{id} {i}"),
                }
                checks += 1;
            }
            // Every slice a:b the vectors list.
            if let Some(slices) = case.get(["row_slices", "col_slices"][a]) {
                for e in slices.as_array().unwrap() {
                    let e = e.as_array().unwrap();
                    let key = Key::Slice(e[0].as_i64(), e[1].as_i64(), None);
                    let got = to_key(&key).unwrap().resolve(n as u64, "axis");
                    let want = python(n, &key);
                    match &want {
                        None => assert!(got.is_err(), "{id} {e:?}"),
                        Some(r) => {
                            let got = got.unwrap();
                            assert_eq!(got, r.start as u64..r.end as u64);
                            let u = axis.union(got);
                            let ours = (u.start as i64, (u.end - u.start) as i64);
                            assert_eq!(Some(ours), table_union(&tables[a], r), "{id} {e:?}");
                            if impart(n_imp, &key).as_ref() == Some(r) {
                                assert_eq!(ours, (e[2].as_i64().unwrap(), e[3].as_i64().unwrap()));
                            }
                        }
                    }
                    checks += 1;
                }
            }
        }
        // 2-D keys: cells and slices.
        for list in ["cells", "slices", "pixels"] {
            let Some(entries) = case.get(list) else {
                continue;
            };
            for e in entries.as_array().unwrap() {
                let y = decode(&e["y"]);
                let x = if e.get("form").and_then(Value::as_str) == Some("single") {
                    Key::All
                } else {
                    decode(&e["x"])
                };
                let (Some(ky), Some(kx)) = (to_key(&y), to_key(&x)) else {
                    // Strided slices: impart ignores the step; imkit refuses them (parse).
                    continue;
                };
                let got = grid.select(&[ky, kx]);
                let want = (python(counts[0], &y), python(counts[1], &x));
                let (Some(wy), Some(wx)) = want else {
                    assert!(got.is_err(), "{id} {}: expected an error", e["expr"]);
                    checks += 1;
                    continue;
                };
                let sel = got.unwrap_or_else(|err| panic!("{id} {}: {err}", e["expr"]));
                let rect = grid.selection_rect(&sel);
                let ours = [
                    rect.left as i64,
                    rect.top as i64,
                    rect.width() as i64,
                    rect.height() as i64,
                ];
                if let (Some(uy), Some(ux)) =
                    (table_union(&tables[0], &wy), table_union(&tables[1], &wx))
                {
                    assert_eq!(ours, [ux.0, uy.0, ux.1, uy.1], "{id} {}", e["expr"]);
                }
                let n_imp = |a: usize| shape[a].as_i64().unwrap();
                let agree = impart(n_imp(0), &y) == Some(wy) && impart(n_imp(1), &x) == Some(wx);
                if let (true, Some(Value::Array(r))) = (agree, e.get("rect")) {
                    let r: Vec<i64> = r.iter().map(|v| v.as_i64().unwrap()).collect();
                    assert_eq!(ours.to_vec(), r, "{id} {}", e["expr"]);
                }
                checks += 1;
            }
        }
        if let Some(it) = case.get("iteration") {
            let sizes = it["sizes"].as_array().unwrap();
            assert_eq!(sizes.len() as u64, grid.rows().count());
            for (k, s) in sizes.iter().enumerate() {
                let r = grid.selection_rect(&grid.select(&[AxisKey::Index(k as i64)]).unwrap());
                assert_eq!(
                    [r.width(), r.height()],
                    [s[0].as_u64().unwrap(), s[1].as_u64().unwrap()]
                );
            }
        }
    }
    assert!(checks > 5000, "only {checks} checks ran");
}

#[test]
fn constructor_cases_are_rejected() {
    let all = cases();
    for case in all["constructor_cases"].as_array().unwrap() {
        let args = &case["args"];
        let types = &case["arg_types"];
        // A list where impart wants a tuple, or a 3-tuple, is a type error in any binding.
        let malformed = ["cell_shape", "stride"].iter().any(|k| {
            types.get(*k).and_then(Value::as_str) == Some("list")
                || args
                    .get(*k)
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.len() != 2)
        });
        if malformed {
            continue;
        }
        // Channel errors are the source's business (tests/partition_pixels.rs).
        if args.get("channels").is_some() || case["image"]["bands"].as_u64() != Some(3) {
            continue;
        }
        let mut c = case.clone();
        c["image"]["height"] = case["image"]["height"].clone();
        let got = case_grid(&c);
        assert!(
            got.is_err(),
            "{args}: imkit accepted what impart mishandles"
        );
    }
}
