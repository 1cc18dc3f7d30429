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

    /// Tells the filesystem the whole file will be `len` bytes long, so that it allocates them now in
    /// one extent rather than page by page as they are written: on ext4 this is what makes a
    /// big write as cheap as `numpy.save`'s (which preallocates the same way), and a commit
    /// over an existing file then has no delayed allocation to force out before its rename.
    /// Only a hint: the file keeps its size, and a filesystem without preallocation (or a
    /// full disk, which the writes then report) is ignored. The clean cached pages of the file
    /// being replaced are dropped first (its data stays on disk, whole until the rename), so
    /// the write reuses that memory as `numpy.save`'s truncation does.
    pub fn reserve(&self, len: u64) {
        if let Some(writer) = self.writer.as_ref() {
            preallocate::drop_cached(&self.target, len);
            preallocate::reserve(writer.get_ref(), len);
        }
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
                let replaced = replaced::hold(&self.target);
                let renamed = std::fs::rename(&self.temp, &self.target)
                    .map_err(|e| Error::io(&self.target, e));
                if let Some(old) = replaced {
                    replaced::release_later(old);
                }
                renamed
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

/// The file a commit replaces, held open across the rename so that the rename only unlinks
/// it: freeing a big file's pages and blocks (and first waiting for any of its writeback still
/// in flight) then happens at the last close, on a background thread, not inside the caller's
/// rename. The replacement itself stays one atomic rename; an unlinked, still-open file is on
/// the filesystem's orphan list, so a crash leaves no stray name behind.
#[cfg(target_os = "linux")]
mod replaced {
    use std::fs::File;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;
    use std::sync::mpsc::{sync_channel, SyncSender};
    use std::sync::OnceLock;

    /// Replaced files smaller than this are released inline (a close costs next to nothing).
    const DEFER_BYTES: u64 = 1 << 20;
    /// Replaced files waiting for the background thread; beyond that the caller closes.
    const QUEUE: usize = 16;

    /// A handle on the regular file at `target` when it is big enough to be worth releasing
    /// in the background. `O_PATH`: no read permission needed, no blocking on a FIFO, and a
    /// symbolic link is held as the link itself (which is what the rename replaces).
    pub(super) fn hold(target: &Path) -> Option<File> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
            .open(target)
            .ok()?;
        let meta = file.metadata().ok()?;
        (meta.is_file() && meta.len() >= DEFER_BYTES).then_some(file)
    }

    /// Closes `file` on the background thread (started on first use), or here when that
    /// thread cannot start or is behind.
    pub(super) fn release_later(file: File) {
        static CLOSER: OnceLock<Option<SyncSender<File>>> = OnceLock::new();
        let closer = CLOSER.get_or_init(|| {
            let (send, receive) = sync_channel::<File>(QUEUE);
            std::thread::Builder::new()
                .name("imkit-close".into())
                .spawn(move || receive.into_iter().for_each(drop))
                .ok()
                .map(|_| send)
        });
        if let Some(closer) = closer {
            // On a full queue the file comes back in the error and is closed here.
            let _ = closer.try_send(file);
        }
    }
}

/// Elsewhere the rename releases the replaced file itself.
#[cfg(not(target_os = "linux"))]
mod replaced {
    use std::fs::File;
    use std::path::Path;

    pub(super) fn hold(_target: &Path) -> Option<File> {
        None
    }

    pub(super) fn release_later(_file: File) {}
}

/// Preallocation of the bytes a writer announces ([`AtomicFile::reserve`]).
mod preallocate {
    use std::fs::File;

    /// Below this a preallocation is not worth its system call.
    const MIN_BYTES: u64 = 1 << 20;

    /// Allocates the first `len` bytes of `file` without changing its size.
    #[cfg(target_os = "linux")]
    pub(super) fn reserve(file: &File, len: u64) {
        use std::os::unix::io::AsRawFd;
        let Ok(len) = libc::off_t::try_from(len) else {
            return;
        };
        if len as u64 >= MIN_BYTES {
            // SAFETY: fallocate only reads its integer arguments; the descriptor is open for
            // writing and owned by `file` for the duration of the call.
            let _ = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, len) };
        }
    }

    /// Before a write of `len` bytes replaces the regular file at `target`, drops that file's
    /// clean pages from the page cache (`POSIX_FADV_DONTNEED`; dirty pages stay), so the
    /// write reuses memory that was just in use. Fresh memory costs more to fill: on the
    /// benchmark VM a 106 MB write into memory untouched for seconds took 163 ms, and 31 ms
    /// right after 106 MB were freed. A hint only: any failure is ignored.
    #[cfg(target_os = "linux")]
    pub(super) fn drop_cached(target: &std::path::Path, len: u64) {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        if len < MIN_BYTES {
            return;
        }
        let Ok(old) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(target)
        else {
            return;
        };
        if old.metadata().is_ok_and(|m| m.is_file()) {
            // SAFETY: posix_fadvise only reads its integer arguments; `old` owns the descriptor.
            let _ =
                unsafe { libc::posix_fadvise(old.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        }
    }

    /// Elsewhere files grow as they are written.
    #[cfg(not(target_os = "linux"))]
    pub(super) fn reserve(_file: &File, _len: u64) {}

    /// Elsewhere the page cache is left to the system.
    #[cfg(not(target_os = "linux"))]
    pub(super) fn drop_cached(_target: &std::path::Path, _len: u64) {}
}

/// Writes `bytes` to `target` atomically.
pub fn write_bytes(target: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(target)?;
    file.reserve(bytes.len() as u64);
    file.write_all(bytes)
        .map_err(|e| Error::io(file.target(), e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_a_big_file_leaves_only_the_new_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/atomic-replace");
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("big.bin");
        // Above the size whose release goes to the background thread, replaced twice.
        let old = vec![1u8; 3 << 20];
        write_bytes(&target, &old).unwrap();
        let reader = File::open(&target).unwrap();
        for fill in [2u8, 3] {
            write_bytes(&target, &vec![fill; 2 << 20]).unwrap();
            assert_eq!(std::fs::read(&target).unwrap(), vec![fill; 2 << 20]);
        }
        // A reader of the replaced file still sees the old bytes.
        let mut seen = Vec::new();
        std::io::Read::read_to_end(&mut &reader, &mut seen).unwrap();
        assert_eq!(seen, old);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("big.bin")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
