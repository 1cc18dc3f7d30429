//! The bounded save queue: bounds, many producers, error reporting, close and drop.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use imkit::io::queue::{QueueOptions, SaveQueue};
use imkit::io::{self, metadata, Metadata};
use imkit::{Error, Image, PixelFormat, PixelType};

fn dir(name: &str) -> PathBuf {
    let d = common::scratch_root().join(format!("imkit-io-queue-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn frame(w: usize, h: usize, seed: u32) -> Image {
    let mut img = Image::new(w, h, PixelFormat::new(PixelType::U8, 3).unwrap()).unwrap();
    for (i, b) in img.data_mut().iter_mut().enumerate() {
        *b = ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8;
    }
    img
}

#[test]
fn pending_bytes_and_jobs_stay_within_the_bound() {
    let d = dir("bound");
    let img = frame(512, 512, 1);
    let bytes = img.data().len();
    let options = QueueOptions {
        threads: 1,
        max_pending_bytes: 3 * bytes,
        max_pending_jobs: 100,
        ..QueueOptions::default()
    };
    let queue = SaveQueue::new(options).unwrap();
    let mut would_block = 0;
    for i in 0..24 {
        match queue.try_push(d.join(format!("t{i}")), &img, &Metadata::new()) {
            Ok(_) => {}
            Err(Error::WouldBlock(_)) => {
                would_block += 1;
                queue
                    .push(d.join(format!("t{i}")), &img, &Metadata::new())
                    .unwrap();
            }
            Err(e) => panic!("{e}"),
        }
        let (jobs, pending) = queue.pending().unwrap();
        assert!(
            pending <= 3 * bytes && jobs <= 3,
            "{jobs} jobs, {pending} bytes"
        );
    }
    assert!(would_block > 0, "the queue never filled up");
    queue.flush().unwrap();
    assert!(queue.peak_pending_bytes().unwrap() <= 3 * bytes);
    assert_eq!(queue.pending().unwrap(), (0, 0));
    assert!(queue.close().unwrap().is_empty());
    for i in 0..24 {
        let (data, _) = io::load(d.join(format!("t{i}.png"))).unwrap();
        assert_eq!(data.into_image().unwrap(), img);
    }
}

#[test]
fn job_bound_blocks_try_push() {
    let d = dir("jobs");
    let img = frame(256, 256, 2);
    let queue = SaveQueue::new(QueueOptions {
        threads: 1,
        max_pending_jobs: 2,
        ..QueueOptions::default()
    })
    .unwrap();
    let mut saw_block = false;
    for i in 0..40 {
        match queue.try_push(d.join(format!("j{i}.png")), &img, &Metadata::new()) {
            Err(Error::WouldBlock(_)) => saw_block = true,
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
        assert!(queue.pending().unwrap().0 <= 2);
    }
    assert!(saw_block);
    queue.flush().unwrap();
}

#[test]
fn eight_producers_lose_no_job() {
    let d = dir("producers");
    let queue = Arc::new(
        SaveQueue::new(QueueOptions {
            threads: 3,
            max_pending_jobs: 16,
            max_pending_bytes: 64 << 10,
            ..QueueOptions::default()
        })
        .unwrap(),
    );
    let mut handles = Vec::new();
    for p in 0..8u32 {
        let queue = queue.clone();
        let d = d.clone();
        handles.push(std::thread::spawn(move || {
            let mut ids = Vec::new();
            let mut img = frame(8, 8, p);
            for j in 0..200u32 {
                // Reusing the buffer at once is allowed: push copied it.
                img.data_mut()[0] = j as u8;
                let m = metadata::parse(&format!(r#"{{"p": {p}, "j": {j}}}"#)).unwrap();
                ids.push(queue.push(d.join(format!("{p}_{j}")), &img, &m).unwrap().id);
            }
            ids
        }));
    }
    let mut ids: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    queue.flush().unwrap();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1600, "ids are unique");
    for p in 0..8u32 {
        for j in 0..200u32 {
            let (data, m) = io::load(d.join(format!("{p}_{j}.png"))).unwrap();
            assert_eq!(data.into_image().unwrap().data()[0], j as u8);
            assert_eq!(
                (m["p"].as_u64(), m["j"].as_u64()),
                (Some(p as u64), Some(j as u64))
            );
        }
    }
    let queue = Arc::into_inner(queue).unwrap();
    assert!(queue.close().unwrap().is_empty());
}

#[test]
fn every_failed_job_is_reported() {
    let d = dir("errors");
    let queue = SaveQueue::new(QueueOptions::default()).unwrap();
    let img = frame(4, 4, 3);
    let mut expected = Vec::new();
    for i in 0..50 {
        let path = d.join("missing").join(format!("{i}.png"));
        expected.push((queue.push(&path, &img, &Metadata::new()).unwrap().id, path));
    }
    let ok = queue
        .push(d.join("fine.png"), &img, &Metadata::new())
        .unwrap();
    assert!(matches!(queue.flush(), Err(Error::Io { .. })));
    assert!(queue.flush().is_ok(), "flush reports an error once");
    assert_eq!(queue.error_count().unwrap(), 50);
    let mut got = Vec::new();
    while let Some(e) = queue.next_error().unwrap() {
        assert!(!e.message.is_empty());
        got.push((e.id, e.path));
    }
    got.sort();
    assert_eq!(got, expected);
    assert!(!got.iter().any(|(id, _)| *id == ok.id));
    assert!(d.join("fine.png").exists());
    // Unstorable data is refused at push time, not later.
    let f32img = Image::new(2, 2, PixelFormat::new(PixelType::F32, 1).unwrap()).unwrap();
    assert!(matches!(
        queue.try_push(d.join("x.png"), &f32img, &Metadata::new()),
        Err(Error::Unsupported(_))
    ));
}

#[test]
fn close_and_drop_without_flush_lose_nothing() {
    let d = dir("close");
    let img = frame(64, 64, 4);
    let queue = SaveQueue::new(QueueOptions {
        threads: 2,
        max_pending_jobs: 8,
        ..QueueOptions::default()
    })
    .unwrap();
    for i in 0..100 {
        queue
            .push(d.join(format!("c{i}")), &img, &Metadata::new())
            .unwrap();
    }
    let errors = queue.close().unwrap();
    assert!(errors.is_empty());
    for i in 0..100 {
        assert!(d.join(format!("c{i}.png")).exists(), "c{i} lost by close");
    }
    {
        let queue = SaveQueue::new(QueueOptions::default()).unwrap();
        for i in 0..50 {
            queue
                .push(d.join(format!("drop{i}")), &img, &Metadata::new())
                .unwrap();
        }
    }
    for i in 0..50 {
        assert!(
            d.join(format!("drop{i}.png")).exists(),
            "drop{i} lost by drop"
        );
    }
    // Errors not drained are returned by close.
    let queue = SaveQueue::new(QueueOptions::default()).unwrap();
    queue
        .push(d.join("nope/x.png"), &img, &Metadata::new())
        .unwrap();
    assert_eq!(queue.close().unwrap().len(), 1);
}
