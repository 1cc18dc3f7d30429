//! [`StagedWriter`]: an [`IidWriter`] fed one entry at a time (a binding's `add` per entry)
//! whose masks are split on the library pool in the background while later entries are still
//! being staged, so that a `save` after many adds only waits for the last batch.
//!
//! Each entry is checked and copied when it is staged (its mask packed to bits in the same
//! pass, so a batch holds an eighth of the bytes) and gets its key then; every
//! [`SEND_BYTES`] mask pixels (or [`SEND_ENTRIES`] entries) the batch becomes one pool job that
//! encodes its segment records for the keys it was given. [`StagedWriter::flush`] waits for
//! the jobs and appends their records in key order, so the file is the one `add` per entry
//! writes, whatever the thread count or the timing.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;

use super::mask::Labeler;
use super::writer::{Encoded, EntryBatch, IidWriter};
use crate::error::{Error, Result};

/// Mask pixels that make a staged batch a background job (a batch grows past them only by
/// a single bigger mask).
pub const SEND_BYTES: usize = 256 << 10;

/// Entries that make a staged batch a background job, whatever their masks' size.
pub const SEND_ENTRIES: usize = 4096;

/// A batch after its job: its records, or why the encode failed (a panic).
type Outcome = std::result::Result<Encoded, String>;

/// An empty batch with room for what makes it a job (entries of 64 pixels or more).
fn new_batch() -> EntryBatch {
    EntryBatch::with_capacity(SEND_BYTES, SEND_ENTRIES.min(SEND_BYTES / 64))
}

/// A batch handed to the pool, in key order. (The receiver is only used through `&mut`;
/// the mutex makes the writer `Sync`, as bindings need.)
#[derive(Debug)]
enum Sent {
    Running(Mutex<Receiver<Outcome>>),
    Done(Outcome),
}

/// An [`IidWriter`] whose entries are staged one by one and encoded on the library pool in
/// the background (see the module documentation). Not shared between threads while mutated.
#[derive(Debug)]
pub struct StagedWriter {
    writer: IidWriter,
    /// The batch being filled.
    filling: EntryBatch,
    /// Batches handed to the pool, oldest first.
    sent: VecDeque<Sent>,
    /// Entries in `sent`.
    sent_entries: usize,
}

impl Default for StagedWriter {
    fn default() -> Self {
        StagedWriter::new(IidWriter::new())
    }
}

impl StagedWriter {
    /// Stages entries after those `writer` already holds.
    pub fn new(writer: IidWriter) -> StagedWriter {
        StagedWriter {
            writer,
            filling: EntryBatch::new(),
            sent: VecDeque::new(),
            sent_entries: 0,
        }
    }

    /// Number of entries, staged ones included (the next entry's key).
    pub fn len(&self) -> usize {
        self.writer.len() + self.staged()
    }

    /// True when the writer holds no entry and none is staged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries staged and not yet in the writer.
    fn staged(&self) -> usize {
        self.sent_entries + self.filling.len()
    }

    /// Stages an entry as [`IidWriter::add`] takes it (the mask one byte per pixel,
    /// non-zero = true) and returns its key. The entry is checked now (nothing is staged on
    /// error) and copied, its mask packed in the same pass; it is encoded in the background.
    pub fn stage(
        &mut self,
        address: &[u8],
        domain: &[u8],
        bbox: [u64; 4],
        mask: &[u8],
    ) -> Result<u32> {
        self.writer.check_capacity(self.staged() + 1)?;
        let key = self.len() as u32;
        // A batch is sent before a mask would take it past its size, so that its buffers
        // never grow (a copy), and as soon as it is full.
        if !self.filling.is_empty() && self.filling.mask_bytes() + mask.len() > SEND_BYTES {
            self.send();
        }
        self.filling.push(address, domain, bbox, mask)?;
        if self.filling.mask_bytes() >= SEND_BYTES || self.filling.len() >= SEND_ENTRIES {
            self.send();
        }
        Ok(key)
    }

    /// Hands the batch being filled to the pool. Without a pool (it cannot start) the batch
    /// stays staged and [`flush`](Self::flush) reports the error.
    fn send(&mut self) {
        let Ok(pool) = crate::threads::pool() else {
            return;
        };
        let batch = std::mem::replace(&mut self.filling, new_batch());
        let first = (self.writer.len() + self.sent_entries) as u32;
        self.sent_entries += batch.len();
        let (tx, rx) = channel();
        pool.spawn(move || {
            let encoded = catch_unwind(AssertUnwindSafe(|| {
                batch.encode(&mut Labeler::default(), first)
            }))
            .map_err(|_| format!("the background encode of the masks of keys {first}.. failed"));
            // The writer may be gone (dropped unsaved): nobody waits for the answer then.
            let _ = tx.send(encoded);
        });
        self.sent.push_back(Sent::Running(Mutex::new(rx)));
    }

    /// Waits for the background jobs and adds every staged entry to the writer, in key
    /// order, and returns the writer. On error (a record too large for the format, a failed
    /// job) the writer is left as before and the entries stay staged: the next flush reports
    /// the same error.
    pub fn flush(&mut self) -> Result<&mut IidWriter> {
        for sent in &mut self.sent {
            if let Sent::Running(rx) = sent {
                let rx = rx.get_mut().unwrap_or_else(|e| e.into_inner());
                let outcome = rx.recv().map_err(|_| {
                    Error::Internal("a background mask encode ended without an answer".into())
                })?;
                *sent = Sent::Done(outcome);
            }
        }
        let mark = self.writer.mark();
        let (writer, sent, filling) = (&mut self.writer, &self.sent, &self.filling);
        let added = (|| {
            for sent in sent {
                let Sent::Done(encoded) = sent else {
                    unreachable!("every job was waited for above");
                };
                let encoded = encoded.as_ref().map_err(|m| Error::Internal(m.clone()))?;
                writer.commit_encoded(encoded)?;
            }
            writer.add_batch(filling).map(drop)
        })();
        if let Err(e) = added {
            self.writer.rollback(mark);
            return Err(e);
        }
        self.sent.clear();
        self.sent_entries = 0;
        self.filling.clear();
        Ok(&mut self.writer)
    }

    /// The writer without the staged entries (for what does not depend on them).
    pub fn writer(&self) -> &IidWriter {
        &self.writer
    }

    /// Sets the meta (see [`IidWriter::set_meta_json`]); staged entries stay staged.
    pub fn set_meta_json(&mut self, text: &str) -> Result<()> {
        self.writer.set_meta_json(text)
    }
}
