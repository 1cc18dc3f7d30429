//! save/load with sidecars, metadata-only I/O, sequences and directories.

mod common;

use std::path::PathBuf;

use imkit::io::{self, metadata, sequence, DataRef, Metadata, SaveOptions};
use imkit::{Error, Image, NdArray, PixelFormat, PixelType};

fn dir(name: &str) -> PathBuf {
    let d = common::scratch_root().join(format!("imkit-io-save-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn img(dtype: PixelType, channels: usize, seed: u8) -> Image {
    let format = PixelFormat::new(dtype, channels).unwrap();
    let mut image = Image::new(5, 4, format).unwrap();
    for (i, b) in image.data_mut().iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(seed);
    }
    if dtype == PixelType::F32 || dtype == PixelType::F16 {
        // Keep floats finite and exact: small integers.
        let size = dtype.size();
        for (i, s) in image.data_mut().chunks_exact_mut(size).enumerate() {
            let v = (i % 50) as f32 + seed as f32;
            if size == 4 {
                s.copy_from_slice(&v.to_ne_bytes());
            } else {
                s.copy_from_slice(&half::f16::from_f32(v).to_ne_bytes());
            }
        }
    }
    image
}

fn meta(text: &str) -> Metadata {
    metadata::parse(text).unwrap()
}

#[test]
fn sidecar_round_trip_and_stale_removal() {
    let d = dir("sidecar");
    let image = img(PixelType::U8, 3, 1);
    let m = meta(
        r#"{"exposure": 0.01, "K": [[1000, 0, 320], [0, 1000, 240], [0, 0, 1]], "name": "é"}"#,
    );
    let path = io::save(d.join("frame"), &image, &m, &SaveOptions::default()).unwrap();
    assert_eq!(path, d.join("frame.png"));
    assert!(d.join("frame.json").exists());
    let (data, back) = io::load(&path).unwrap();
    assert_eq!(data.into_image().unwrap(), image);
    assert_eq!(back, m);
    assert_eq!(
        back.keys().collect::<Vec<_>>(),
        vec!["exposure", "K", "name"],
        "key order kept"
    );
    // Saving again without metadata removes the now stale sidecar.
    io::save(&path, &image, &Metadata::new(), &SaveOptions::default()).unwrap();
    assert!(!d.join("frame.json").exists());
    assert!(io::load(&path).unwrap().1.is_empty());
}

#[test]
fn non_finite_metadata_is_refused_unless_allowed() {
    let d = dir("nonfinite");
    let image = img(PixelType::U8, 1, 2);
    let m = meta(r#"{"bad": NaN}"#);
    let err = io::save(d.join("a"), &image, &m, &SaveOptions::default()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(
        !d.join("a.png").exists(),
        "nothing written when metadata is invalid"
    );
    assert!(!d.join("a.json").exists());
    let options = SaveOptions {
        python_tokens: true,
        ..SaveOptions::default()
    };
    let path = io::save(d.join("a"), &image, &m, &options).unwrap();
    let text = std::fs::read_to_string(d.join("a.json")).unwrap();
    assert!(text.contains("\"bad\": NaN"), "{text}");
    let back = io::load(&path).unwrap().1;
    assert!(metadata::as_f64(&back["bad"]).unwrap().is_nan());
}

#[test]
fn immetaio_sidecars_load() {
    let d = dir("compat");
    let image = img(PixelType::U16, 1, 3);
    let path = io::save(
        d.join("x"),
        &image,
        &Metadata::new(),
        &SaveOptions::default(),
    )
    .unwrap();
    std::fs::write(
        d.join("x.json"),
        "{\n    \"m\": {\n        \"type\": \"ndarray\",\n        \"values\": [\n            [0, 1],\n            [2, 3]\n        ],\n        \"dtype\": \"<u2\"\n    },\n    \"bad\": NaN,\n    \"inf\": -Infinity\n}\n",
    )
    .unwrap();
    let m = io::load(&path).unwrap().1;
    assert_eq!(m["m"]["dtype"], "<u2");
    assert_eq!(metadata::as_f64(&m["inf"]), Some(f64::NEG_INFINITY));
}

#[test]
fn metadata_only_save_and_load() {
    let d = dir("metaonly");
    let m = meta(r#"{"a": 1, "b": [true, null]}"#);
    let sidecar = io::save_metadata(d.join("img.exr"), &m, false).unwrap();
    assert_eq!(sidecar, d.join("img.json"));
    assert_eq!(io::load_metadata(d.join("img.exr")).unwrap(), m);
    assert!(io::load_metadata(d.join("none.png")).unwrap().is_empty());
    std::fs::write(d.join("broken.json"), "{\"a\": ").unwrap();
    assert!(matches!(
        io::load_metadata(d.join("broken.png")),
        Err(Error::Format(_))
    ));
}

#[test]
fn list_save_with_mixed_shapes_and_shared_metadata() {
    let d = dir("list");
    let a = img(PixelType::U8, 3, 1);
    let b = img(PixelType::F32, 1, 2);
    let c = NdArray::from_vec(PixelType::I16, &[3], vec![1, 0, 2, 0, 3, 0]).unwrap();
    let items: Vec<DataRef> = vec![(&a).into(), (&b).into(), (&c).into()];
    let paths = vec![d.join("a"), d.join("b"), d.join("c")];
    let shared = vec![meta(r#"{"run": 7}"#)];
    let written = sequence::save_list(&paths, &items, &shared, &SaveOptions::default()).unwrap();
    assert_eq!(
        written,
        vec![d.join("a.png"), d.join("b.exr"), d.join("c.npy")]
    );
    let loaded = sequence::load_list(&written).unwrap();
    for ((data, m), item) in loaded.iter().zip(&items) {
        assert_eq!(data.as_ref().shape(), item.shape());
        assert_eq!(m["run"], 7);
    }
    let err = sequence::save_list(
        &paths,
        &items,
        &[Metadata::new(), Metadata::new()],
        &SaveOptions::default(),
    );
    assert!(err.is_err(), "two metadata objects for three images");
}

#[test]
fn directory_save_load_overwrite() {
    let d = dir("dir");
    let frames: Vec<Image> = (0..12).map(|i| img(PixelType::U8, 1, i)).collect();
    let items: Vec<DataRef> = frames.iter().map(|f| f.into()).collect();
    let metas: Vec<Metadata> = (0..12).map(|i| meta(&format!(r#"{{"i": {i}}}"#))).collect();
    sequence::save_dir(&d, &items, &metas, &SaveOptions::default()).unwrap();
    let loaded = sequence::load_dir(&d).unwrap();
    assert_eq!(loaded.len(), 12);
    for (i, (path, data, m)) in loaded.iter().enumerate() {
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("{i}.png")
        );
        assert_eq!(m["i"], i, "natural order: 2 before 10");
        assert_eq!(data.clone().into_image().unwrap(), frames[i]);
    }
    // Saving again without overwrite is an error and changes nothing.
    let err = sequence::save_dir(&d, &items[..3], &[], &SaveOptions::default()).unwrap_err();
    assert!(err.to_string().contains("overwrite"), "{err}");
    assert_eq!(sequence::list_images(&d).unwrap().len(), 12);
    // With overwrite, stale numbered files (and their sidecars) go away.
    let floats: Vec<Image> = (0..3).map(|i| img(PixelType::F32, 3, i)).collect();
    let items: Vec<DataRef> = floats.iter().map(|f| f.into()).collect();
    let options = SaveOptions {
        overwrite: true,
        ..SaveOptions::default()
    };
    sequence::save_dir(&d, &items, &[], &options).unwrap();
    let loaded = sequence::load_dir(&d).unwrap();
    assert_eq!(loaded.len(), 3);
    for (i, (path, data, m)) in loaded.iter().enumerate() {
        assert_eq!(path.extension().unwrap(), "exr");
        assert!(m.is_empty(), "old sidecar {i} removed");
        assert_eq!(data.clone().into_image().unwrap(), floats[i]);
    }
    let leftovers = std::fs::read_dir(&d).unwrap().count();
    assert_eq!(leftovers, 3, "only the three new files remain");
    // Merged metadata keeps image i at index i.
    let merged = metadata::merge(&[
        meta(r#"{"x": 1}"#),
        Metadata::new(),
        meta(r#"{"x": 3, "y": 4}"#),
    ]);
    assert_eq!(merged["x"], serde_json::json!([1, null, 3]));
    assert_eq!(merged["y"], serde_json::json!([null, null, 4]));
}

#[test]
fn failed_write_leaves_nothing_behind() {
    let d = dir("atomic");
    let image = img(PixelType::U8, 3, 1);
    let missing = d.join("no/such/dir/x");
    assert!(matches!(
        io::save(
            &missing,
            &image,
            &meta(r#"{"a": 1}"#),
            &SaveOptions::default()
        ),
        Err(Error::Io { .. })
    ));
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
}
