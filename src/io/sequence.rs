//! Sequences of images: a list of explicit paths, or a directory of numbered files
//! `0.<ext>, 1.<ext>, …` (no zero padding; each file's format follows its own data, so a
//! directory may mix PNG, EXR and NPY). Images in a sequence may differ in shape and type;
//! nothing is stacked. Work runs on imkit's thread pool; results keep the input order and the
//! first error in input order is returned after every item was attempted.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{load, save, Data, DataRef, Metadata, SaveOptions};
use crate::codec::Format;
use crate::error::{Error, Result};

/// Picks the metadata of item `i`: none, one shared by all, or one per item.
fn metadata_for<'m>(all: &'m [Metadata], i: usize, empty: &'m Metadata) -> &'m Metadata {
    match all.len() {
        0 => empty,
        1 => &all[0],
        _ => &all[i],
    }
}

fn check_counts(items: usize, metadata: usize) -> Result<()> {
    if metadata > 1 && metadata != items {
        return Err(Error::invalid(format!(
            "{metadata} metadata objects for {items} images (give none, one shared, or one each)"
        )));
    }
    Ok(())
}

/// Saves `items[i]` to `paths[i]` with `metadata` (empty, one shared, or one per item);
/// returns the paths written.
pub fn save_list<P: AsRef<Path> + Sync>(
    paths: &[P],
    items: &[DataRef<'_>],
    metadata: &[Metadata],
    options: &SaveOptions,
) -> Result<Vec<PathBuf>> {
    if paths.len() != items.len() {
        return Err(Error::invalid(format!(
            "{} paths for {} images",
            paths.len(),
            items.len()
        )));
    }
    check_counts(items.len(), metadata.len())?;
    let empty = Metadata::new();
    let results: Vec<Result<PathBuf>> = crate::threads::install(|| {
        (0..items.len())
            .into_par_iter()
            .map(|i| {
                save(
                    paths[i].as_ref(),
                    items[i],
                    metadata_for(metadata, i, &empty),
                    options,
                )
            })
            .collect()
    })?;
    results.into_iter().collect()
}

/// Loads every path (extension optional, as in [`load`]) with its metadata.
pub fn load_list<P: AsRef<Path> + Sync>(paths: &[P]) -> Result<Vec<(Data, Metadata)>> {
    let results: Vec<Result<(Data, Metadata)>> =
        crate::threads::install(|| paths.par_iter().map(|p| load(p.as_ref())).collect())?;
    results.into_iter().collect()
}

/// The index of a numbered file imkit may have written into a directory (`12.png`, `3.json`).
fn numbered(path: &Path) -> Option<usize> {
    let stem = path.file_stem()?.to_str()?;
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json && Format::from_extension(path).is_none() {
        return None;
    }
    stem.parse().ok()
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry.file_type().map_err(|e| Error::io(dir, e))?.is_file() {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Saves `items` into `dir` as `0.<ext>`, `1.<ext>`, … (creating the directory). A directory
/// that already holds numbered image or sidecar files is an error unless `options.overwrite`
/// is set; then they are replaced, and numbered files not written by this call (beyond the new
/// count, or of another format) are removed after every image was saved.
pub fn save_dir(
    dir: impl AsRef<Path>,
    items: &[DataRef<'_>],
    metadata: &[Metadata],
    options: &SaveOptions,
) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    check_counts(items.len(), metadata.len())?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let existing: Vec<PathBuf> = list_dir(dir)?
        .into_iter()
        .filter(|p| numbered(p).is_some())
        .collect();
    if !existing.is_empty() && !options.overwrite {
        let mut names: Vec<String> = existing
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        names.sort_by(|a, b| natural_cmp(a, b));
        names.truncate(3);
        return Err(Error::invalid(format!(
            "{} already holds numbered files ({}, ...); set the overwrite option to replace them",
            dir.display(),
            names.join(", ")
        )));
    }
    let paths: Vec<PathBuf> = (0..items.len()).map(|i| dir.join(i.to_string())).collect();
    let written = save_list(&paths, items, metadata, options)?;
    for stale in existing {
        let keep = written
            .iter()
            .any(|w| *w == stale || super::metadata::sidecar_path(w) == stale);
        if !keep {
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&stale, e)),
            }
        }
    }
    Ok(written)
}

/// Compares names the way people do: runs of digits by value (`2` < `10`), other text as is.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn runs(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for ((da, ta), (db, tb)) in ra.iter().zip(&rb) {
        let ord = if *da && *db {
            let (na, nb) = (ta.trim_start_matches('0'), tb.trim_start_matches('0'));
            na.len().cmp(&nb.len()).then_with(|| na.cmp(nb))
        } else {
            ta.cmp(tb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ra.len().cmp(&rb.len()).then_with(|| a.cmp(b))
}

/// The image files of a directory (known extensions, any case; sidecars excluded), in natural
/// order of their names.
pub fn list_images(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = list_dir(dir.as_ref())?
        .into_iter()
        .filter(|p| Format::from_extension(p).is_some())
        .collect();
    files.sort_by(|a, b| {
        natural_cmp(
            &a.file_name().unwrap_or_default().to_string_lossy(),
            &b.file_name().unwrap_or_default().to_string_lossy(),
        )
    });
    Ok(files)
}

/// Loads every image file of a directory in natural order (`2` before `10`), each with its
/// metadata; returns the paths too.
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<(PathBuf, Data, Metadata)>> {
    let files = list_images(dir)?;
    let loaded = load_list(&files)?;
    Ok(files
        .into_iter()
        .zip(loaded)
        .map(|(p, (d, m))| (p, d, m))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut names = vec!["10.png", "2.png", "1.png", "a10", "a2", "b", "02.png"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            vec!["1.png", "02.png", "2.png", "10.png", "a2", "a10", "b"]
        );
    }

    #[test]
    fn numbered_names() {
        assert_eq!(numbered(Path::new("d/12.png")), Some(12));
        assert_eq!(numbered(Path::new("d/3.json")), Some(3));
        assert_eq!(numbered(Path::new("d/3.txt")), None);
        assert_eq!(numbered(Path::new("d/x3.png")), None);
    }
}
