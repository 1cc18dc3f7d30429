//! Atomic file writes: data goes to a temporary file in the destination's directory and is
//! renamed over the target only when complete, so a failure never leaves a half-written file
//! and never harms an existing one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file being written; it appears at its final path only after [`AtomicFile::commit`].
/// Dropping it without committing removes the temporary file.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `target`; its parent directory must exist.
    pub fn create(target: impl AsRef<Path>) -> Result<AtomicFile> {
        let target = target.as_ref().to_path_buf();
        let name = target
            .file_name()
            .ok_or_else(|| Error::invalid(format!("{} is not a file path", target.display())))?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::io(
                &target,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("directory {} does not exist", dir.display()),
                ),
            ));
        }
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(
            ".{}.{}.imkit-tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let temp = dir.join(temp_name);
        let file = File::create(&temp).map_err(|e| Error::io(&target, e))?;
        Ok(AtomicFile {
            target,
            temp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// A second, unbuffered handle on the temporary file, for encoders that must own their
    /// output. Do not mix writes through it with buffered writes through `self`.
    pub fn unbuffered(&self) -> Result<File> {
        self.writer
            .as_ref()
            .ok_or_else(|| Error::Internal("atomic file already committed".into()))?
            .get_ref()
            .try_clone()
            .map_err(|e| Error::io(&self.target, e))
    }

    /// Flushes and renames the temporary file over the target. On failure (the last buffered
    /// bytes may only fail here, e.g. on a full disk) the temporary file is removed.
    pub fn commit(mut self) -> Result<()> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| Error::Internal("atomic file committed twice".into()))?;
        let result = writer
            .into_inner()
            .map_err(|e| Error::io(&self.target, e.into_error()))
            .and_then(|file| {
                drop(file);
                std::fs::rename(&self.temp, &self.target).map_err(|e| Error::io(&self.target, e))
            });
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.writer.as_mut() {
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("atomic file already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write_bytes(target: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(target)?;
    file.write_all(bytes)
        .map_err(|e| Error::io(file.target(), e))?;
    file.commit()
}
