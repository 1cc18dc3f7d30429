//! Driver for benches/iid.sh (imkit's side of the iidfile comparison). Each command prints
//! one JSON line.
//!
//!   iid_bench write MASKS.bin OUT.iid      add every mask of MASKS.bin, save
//!   iid_bench write_many MASKS.bin OUT.iid the same through add_many (parallel split)
//!   iid_bench open_fetch FILE              open + fetch everything (labels and segments)
//!   iid_bench at FILE POINTS.bin           the points as the reference's at(x, y), and exact
//!   iid_bench overlap FILE                 overlap graph over every entry
//!   iid_bench scale N OUT.iid              N synthetic entries: write, open, at(), overlap

use std::time::Instant;

use imkit::iid::{IidFile, IidWriter, MaskData, NewEntry, Parts, Select};

fn u16_at(d: &[u8], p: usize) -> u16 {
    u16::from_le_bytes([d[p], d[p + 1]])
}

fn u32_at(d: &[u8], p: usize) -> u32 {
    u32::from_le_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]])
}

fn read_masks(path: &str) -> Vec<([u64; 4], Vec<u8>)> {
    let d = std::fs::read(path).expect("masks file");
    let n = u32_at(&d, 0) as usize;
    let mut pos = 4;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (r0, c0, h, w) = (
            u16_at(&d, pos),
            u16_at(&d, pos + 2),
            u16_at(&d, pos + 4),
            u16_at(&d, pos + 6),
        );
        pos += 8;
        let len = h as usize * w as usize;
        let bbox = [r0 as u64, c0 as u64, (r0 + h) as u64, (c0 + w) as u64];
        out.push((bbox, d[pos..pos + len].to_vec()));
        pos += len;
    }
    out
}

fn read_points(path: &str) -> Vec<(i64, i64)> {
    let d = std::fs::read(path).expect("points file");
    let n = u32_at(&d, 0) as usize;
    (0..n)
        .map(|i| {
            let p = 4 + 8 * i;
            (u32_at(&d, p) as i32 as i64, u32_at(&d, p + 4) as i32 as i64)
        })
        .collect()
}

/// Runs `f` `reps` times and returns the shortest wall time (noise only ever adds time).
fn best_of<T>(reps: usize, mut f: impl FnMut() -> imkit::Result<T>) -> imkit::Result<(f64, T)> {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        let v = f()?;
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(v);
    }
    Ok((best, last.expect("reps > 0")))
}

const REPS: usize = 5;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() -> imkit::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args[1].as_str() {
        "write" => {
            let masks = read_masks(&args[2]);
            let (seconds, ()) = best_of(REPS, || {
                let mut w = IidWriter::new();
                for (i, (bbox, m)) in masks.iter().enumerate() {
                    let key = w.add(
                        format!("mask{i}").as_bytes(),
                        b"bench",
                        *bbox,
                        MaskData::Bytes(m),
                    )?;
                    if i % 2 == 0 {
                        w.add_to_group("all", key)?;
                    }
                }
                w.save(&args[3])
            })?;
            println!(
                r#"{{"op": "write", "entries": {}, "seconds": {seconds}}}"#,
                masks.len()
            );
        }
        "write_many" => {
            let masks = read_masks(&args[2]);
            let addresses: Vec<Vec<u8>> = (0..masks.len())
                .map(|i| format!("mask{i}").into_bytes())
                .collect();
            let (seconds, ()) = best_of(REPS, || {
                let entries: Vec<NewEntry> = masks
                    .iter()
                    .zip(&addresses)
                    .map(|((bbox, m), a)| NewEntry {
                        address: a,
                        domain: b"bench",
                        bbox: *bbox,
                        mask: MaskData::Bytes(m),
                    })
                    .collect();
                let mut w = IidWriter::new();
                let keys = w.add_many(&entries)?;
                for key in keys.step_by(2) {
                    w.add_to_group("all", key)?;
                }
                w.save(&args[3])
            })?;
            println!(
                r#"{{"op": "write_many", "entries": {}, "seconds": {seconds}}}"#,
                masks.len()
            );
        }
        "open_fetch" => {
            let (seconds, n) = best_of(REPS, || {
                let f = IidFile::open(&args[2])?;
                Ok(f.fetch(Select::All, Parts::ALL)?.len())
            })?;
            println!(r#"{{"op": "open_fetch", "entries": {n}, "seconds": {seconds}}}"#);
        }
        "at" => {
            let f = IidFile::open(&args[2])?;
            let points = read_points(&args[3]);
            let t = Instant::now();
            f.at(0, 0)?; // builds the index
            let index_seconds = t.elapsed().as_secs_f64();
            let run = |exact: bool| {
                best_of(20, || {
                    points
                        .iter()
                        .map(|&(x, y)| {
                            let keys = if exact {
                                f.at(y, x)?
                            } else {
                                f.at_compat(x, y)?
                            };
                            Ok(keys.len())
                        })
                        .sum::<imkit::Result<usize>>()
                })
            };
            let (compat, hits) = run(false)?;
            let (exact, exact_hits) = run(true)?;
            let (compat, exact) = (compat / points.len() as f64, exact / points.len() as f64);
            println!(
                r#"{{"op": "at", "queries": {}, "hits": {hits}, "exact_hits": {exact_hits}, "index_seconds": {index_seconds}, "seconds_per_query": {compat}, "exact_seconds_per_query": {exact}}}"#,
                points.len()
            );
        }
        "overlap" => {
            let f = IidFile::open(&args[2])?;
            let (seconds, g) = best_of(REPS, || f.overlap_graph(None))?;
            let weight: u64 = g.edges.iter().map(|e| e.2).sum();
            println!(
                r#"{{"op": "overlap", "nodes": {}, "edges": {}, "weight": {weight}, "seconds": {seconds}}}"#,
                g.nodes.len(),
                g.edges.len()
            );
        }
        "scale" => {
            let n: u64 = args[2].parse().expect("N");
            let path = &args[3];
            let canvas = 20_000u64;
            let mut rng = Rng(0x0123_4567_89ab_cdef);
            let t = Instant::now();
            let mut w = IidWriter::new();
            let mut mask = Vec::new();
            for i in 0..n {
                let (h, wd) = (6 + rng.below(20), 6 + rng.below(20));
                let (r0, c0) = (rng.below(canvas - h), rng.below(canvas - wd));
                mask.clear();
                let (cy, cx) = (h as f64 / 2.0, wd as f64 / 2.0);
                for y in 0..h {
                    for x in 0..wd {
                        let dy = (y as f64 + 0.5 - cy) / cy;
                        let dx = (x as f64 + 0.5 - cx) / cx;
                        mask.push((dy * dy + dx * dx <= 1.0) as u8);
                    }
                }
                w.add(
                    format!("e{i}").as_bytes(),
                    b"scale",
                    [r0, c0, r0 + h, c0 + wd],
                    MaskData::Bytes(&mask),
                )?;
            }
            w.save(path)?;
            let write_seconds = t.elapsed().as_secs_f64();
            drop(w);
            let mut opens = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                let f = IidFile::open(path)?;
                opens.push(t.elapsed().as_secs_f64());
                drop(f);
            }
            let f = IidFile::open(path)?;
            let t = Instant::now();
            f.at(0, 0)?;
            let index_seconds = t.elapsed().as_secs_f64();
            let q = 200_000;
            let pts: Vec<(i64, i64)> = (0..q)
                .map(|_| {
                    let k = rng.below(n) as u32;
                    let b = f.segment_head(k).map(|h| h.bbox).unwrap_or_default();
                    (
                        b.minr as i64 + rng.below(b.height().max(1) as u64) as i64,
                        b.minc as i64 + rng.below(b.width().max(1) as u64) as i64,
                    )
                })
                .collect();
            let (at_seconds, hits) = best_of(3, || {
                pts.iter()
                    .map(|&(r, c)| f.at(r, c).map(|k| k.len()))
                    .sum::<imkit::Result<usize>>()
            })?;
            let at_seconds = at_seconds / q as f64;
            let t = Instant::now();
            let g = f.overlap_graph(None)?;
            let overlap_seconds = t.elapsed().as_secs_f64();
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            let first_open = opens[0];
            opens.sort_by(f64::total_cmp);
            println!(
                r#"{{"op": "scale", "entries": {n}, "file_bytes": {size}, "write_seconds": {write_seconds}, "open_seconds_first": {}, "open_seconds_median": {}, "index_seconds": {index_seconds}, "at_queries": {q}, "at_hits": {hits}, "at_seconds_per_query": {at_seconds}, "overlap_seconds": {overlap_seconds}, "overlap_edges": {}}}"#,
                first_open,
                opens[2],
                g.edges.len()
            );
        }
        other => panic!("unknown command {other}"),
    }
    Ok(())
}
