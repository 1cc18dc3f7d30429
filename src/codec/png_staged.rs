//! Serial PNG decoding in two stages, for files without imkit's segment index: one zlib
//! stream can only be inflated from its start, and each row unfiltered only after the one
//! above, but the two stages need not wait for each other.
//!
//! The inflate stage walks the IDAT chunks (lengths and CRCs checked) and inflates the zlib
//! stream with imkit's own streaming inflater ([`super::inflate`], measured against `fdeflate`
//! and libdeflate in docs/ARCHITECTURE.md) into blocks of whole filtered scanlines; the
//! stream's Adler-32 is checked before the last block leaves it. The unfilter stage reverses
//! the filters ([`super::png_unfilter`]) block by block.
//! With two or more library threads each stage runs on a thread of its own, a bounded number
//! of blocks ahead of the caller (memory: at most [`LOOKAHEAD_BLOCKS`] + 4 blocks of about
//! [`BLOCK_BYTES`]), so decoding takes the time of the slowest stage (inflate, unfilter, or the
//! caller's own work on the rows), not their sum, and goes on while the caller is busy
//! elsewhere; with one thread both stages run on the caller's. Either way the rows are the
//! same.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::inflate::Decompressor;
use super::png_unfilter::unfilter_lines;
use crate::error::{Error, Result};

/// The filtered bytes a block of scanlines aims at (at least one line).
const BLOCK_BYTES: usize = 512 << 10;

/// Unfiltered blocks that may wait for the caller (16 MiB): decoding goes on while the caller
/// waits on other work, as the tile pipeline does on its pool between rows of cells (with 1
/// block the stages stalled there; 32 took the 16384² identity pipeline from 2.05 to 1.94 s,
/// mean of 4 alternated runs).
const LOOKAHEAD_BLOCKS: usize = 32;

/// How much compressed data is read from the file at a time.
const READ_BYTES: usize = 256 << 10;

/// PNG's largest chunk length.
const MAX_CHUNK_LEN: u32 = (1 << 31) - 1;

/// The IDAT chunks of a file, read in order as one byte stream (CRCs checked).
struct IdatChunks {
    file: File,
    name: String,
    /// Offset of the next unread byte (chunk data, or the next chunk's header).
    at: u64,
    /// Data bytes left in the current chunk.
    left: u32,
    /// CRC of the current chunk so far (type and data).
    crc: libdeflater::Crc,
    /// A chunk other than IDAT came: the image data has ended.
    ended: bool,
}

impl IdatChunks {
    /// Reads exactly `buf.len()` bytes at the current offset.
    fn read(&mut self, buf: &mut [u8]) -> Result<()> {
        self.file.read_exact_at(buf, self.at).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::format(format!(
                    "{}: PNG data is truncated (unexpected end of file)",
                    self.name
                ))
            } else {
                Error::io(&self.name, e)
            }
        })?;
        self.at += buf.len() as u64;
        Ok(())
    }

    /// Starts the next chunk if the current one is used up; `false` once the IDAT chunks end.
    fn next_chunk(&mut self) -> Result<bool> {
        while self.left == 0 && !self.ended {
            let mut head = [0u8; 8];
            self.read(&mut head)?;
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            if &head[4..] != b"IDAT" {
                self.ended = true;
                break;
            }
            if len > MAX_CHUNK_LEN {
                return Err(Error::format(format!(
                    "{}: invalid PNG: IDAT chunk length {len} is over 2^31-1",
                    self.name
                )));
            }
            self.crc = libdeflater::Crc::new();
            self.crc.update(&head[4..]);
            self.left = len;
            if len == 0 {
                self.check_crc()?;
            }
        }
        Ok(!self.ended)
    }

    /// Reads the CRC that ends the current chunk and compares it with the data's.
    fn check_crc(&mut self) -> Result<()> {
        let mut stored = [0u8; 4];
        self.read(&mut stored)?;
        if u32::from_be_bytes(stored) != self.crc.sum() {
            return Err(Error::format(format!(
                "{}: invalid PNG: CRC error in an IDAT chunk",
                self.name
            )));
        }
        Ok(())
    }

    /// Appends the next compressed bytes (at most [`READ_BYTES`]) to `buf`; `false` (nothing
    /// appended) once the image data has ended.
    fn fill(&mut self, buf: &mut Vec<u8>) -> Result<bool> {
        if !self.next_chunk()? {
            return Ok(false);
        }
        let n = READ_BYTES.min(self.left as usize);
        let from = buf.len();
        buf.resize(from + n, 0);
        self.read(&mut buf[from..])?;
        self.crc.update(&buf[from..]);
        self.left -= n as u32;
        if self.left == 0 {
            self.check_crc()?;
        }
        Ok(true)
    }
}

/// How far back deflate may refer: every block starts with this many bytes of room, where the
/// inflater puts the end of the output before the block's rows so that back-references read it
/// in place and the rows are inflated straight into the block.
const WINDOW: usize = 32 << 10;

/// The inflate stage: the zlib stream, inflated into blocks of filtered scanlines.
struct Inflater {
    chunks: IdatChunks,
    inflate: Decompressor,
    /// Compressed bytes read and not yet consumed: `input[input_at..]`.
    input: Vec<u8>,
    input_at: usize,
    /// The IDAT chunks have ended: `input` is all there is.
    input_ended: bool,
    /// The last [`WINDOW`] bytes of output (all of it, near the stream's start).
    window: Vec<u8>,
    /// Filtered scanline length (filter byte and row).
    stride: usize,
    lines_per_block: usize,
    lines_left: usize,
}

impl Inflater {
    fn name(&self) -> &str {
        &self.chunks.name
    }

    /// Reads more compressed bytes, keeping the unconsumed ones; sets `input_ended` at the end.
    fn refill(&mut self) -> Result<()> {
        self.input.drain(..self.input_at);
        self.input_at = 0;
        if !self.chunks.fill(&mut self.input)? {
            self.input_ended = true;
        }
        Ok(())
    }

    /// Inflates into `buf[WINDOW..]` until it is full or the stream ends (its Adler-32 checked
    /// then), `buf[..WINDOW]` taking the window first: (bytes inflated, stream ended).
    fn inflate_into(&mut self, buf: &mut [u8]) -> Result<(usize, bool)> {
        let before = self.window.len();
        buf[WINDOW - before..WINDOW].copy_from_slice(&self.window);
        let out = &mut buf[WINDOW - before..];
        let mut at = before;
        let ended = loop {
            let (used, produced) = self
                .inflate
                .read(&self.input[self.input_at..], out, at, self.input_ended)
                .map_err(|e| {
                    Error::format(format!(
                        "{}: invalid PNG: corrupt image data ({e})",
                        self.chunks.name
                    ))
                })?;
            self.input_at += used;
            at += produced;
            if self.inflate.is_done() {
                break true;
            }
            if at == out.len() {
                break false;
            }
            if used == 0 && produced == 0 {
                if self.input_ended {
                    return Err(Error::format(format!(
                        "{}: PNG data is truncated (the image data ends inside its zlib stream)",
                        self.name()
                    )));
                }
                self.refill()?;
            }
        };
        self.window.clear();
        self.window
            .extend_from_slice(&out[at.saturating_sub(WINDOW)..at]);
        Ok((at - before, ended))
    }

    /// Fills `block` with the next block of filtered scanlines (from `block[WINDOW..]`); after
    /// the last one the rest of the stream is inflated (and dropped) so its Adler-32 is checked
    /// before the block is used.
    fn next_block(&mut self, block: &mut Vec<u8>) -> Result<()> {
        let lines = self.lines_per_block.min(self.lines_left);
        if lines == 0 {
            return Err(Error::Internal(format!(
                "{}: read past the last row",
                self.name()
            )));
        }
        block.resize(WINDOW + lines * self.stride, 0);
        let (written, ended) = self.inflate_into(block)?;
        if written < lines * self.stride {
            return Err(Error::format(format!(
                "{}: PNG ends before its last row (its image data is too short)",
                self.name()
            )));
        }
        self.lines_left -= lines;
        if self.lines_left == 0 && !ended {
            let mut rest = vec![0u8; WINDOW + 4096];
            while !self.inflate_into(&mut rest)?.1 {}
        }
        Ok(())
    }
}

/// The unfilter stage: reverses the filters of block after block, top to bottom.
struct Unfilter {
    name: String,
    bpp: usize,
    /// The last unfiltered row (zeros above the first).
    above: Vec<u8>,
    /// Rows unfiltered so far.
    rows_done: usize,
}

impl Unfilter {
    /// Unfilters the scanlines of `block` (from `block[WINDOW..]`) in place.
    fn apply(&mut self, block: &mut [u8]) -> Result<()> {
        let block = &mut block[WINDOW..];
        let stride = self.above.len() + 1;
        unfilter_lines(block, &mut self.above, self.bpp).map_err(|line| {
            Error::format(format!(
                "{}: invalid PNG: unknown filter type {} on row {}",
                self.name,
                block[line * stride],
                self.rows_done + line
            ))
        })?;
        self.rows_done += block.len() / stride;
        Ok(())
    }
}

/// Where unfiltered blocks come from: both stages on the caller's thread, or each on a thread
/// of its own.
enum Stage {
    Inline(Box<(Inflater, Unfilter)>),
    Threads {
        blocks: Option<Receiver<Result<Vec<u8>>>>,
        spent: SyncSender<Vec<u8>>,
        workers: Vec<JoinHandle<()>>,
    },
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Stage::Threads {
            blocks, workers, ..
        } = self
        {
            // Closing the channel makes the workers stop at their next block.
            drop(blocks.take());
            for worker in workers.drain(..) {
                let _ = worker.join();
            }
        }
    }
}

/// Runs the inflate stage: blocks go out through `blocks` (an error ends the stage), spent
/// blocks come back through `spent` to be refilled.
fn run_inflater(
    mut inflater: Inflater,
    blocks: SyncSender<Result<Vec<u8>>>,
    spent: Receiver<Vec<u8>>,
) {
    while inflater.lines_left > 0 {
        let mut block = spent.try_recv().unwrap_or_default();
        let result = inflater.next_block(&mut block).map(|()| block);
        let failed = result.is_err();
        if blocks.send(result).is_err() || failed {
            return;
        }
    }
}

/// Runs the unfilter stage between the inflate stage (`filtered`) and the caller (`blocks`).
fn run_unfilter(
    mut unfilter: Unfilter,
    filtered: Receiver<Result<Vec<u8>>>,
    blocks: SyncSender<Result<Vec<u8>>>,
) {
    for received in filtered {
        let result = received.and_then(|mut block| unfilter.apply(&mut block).map(|()| block));
        let failed = result.is_err();
        if blocks.send(result).is_err() || failed {
            return;
        }
    }
}

/// Starts the inflate and unfilter stages on threads of their own.
fn spawn(inflater: Inflater, unfilter: Unfilter) -> Result<Stage> {
    let (filtered_tx, filtered_rx) = sync_channel(1);
    let (block_tx, block_rx) = sync_channel(LOOKAHEAD_BLOCKS);
    // Room for every block in flight (one being inflated, one queued for the unfilter, one
    // being unfiltered, the lookahead, the caller's), so spent blocks are always reused.
    let (spent_tx, spent_rx) = sync_channel(LOOKAHEAD_BLOCKS + 4);
    let start = |name: &str, work: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(work)
            .map_err(|e| Error::Internal(format!("cannot start the PNG {name} thread: {e}")))
    };
    // Started last to first, so a failure leaves no thread waiting on a stage never started.
    let unfiltering = start(
        "imkit-unfilter",
        Box::new(move || run_unfilter(unfilter, filtered_rx, block_tx)),
    )?;
    let mut stage = Stage::Threads {
        blocks: Some(block_rx),
        spent: spent_tx,
        workers: vec![unfiltering],
    };
    let inflating = start(
        "imkit-inflate",
        Box::new(move || run_inflater(inflater, filtered_tx, spent_rx)),
    )?;
    if let Stage::Threads { workers, .. } = &mut stage {
        workers.push(inflating);
    }
    Ok(stage)
}

/// Decodes a non-interlaced PNG with 8- or 16-bit samples row by row through the two stages.
pub(crate) struct StagedDecoder {
    name: String,
    stage: Stage,
    /// The current block of unfiltered scanlines (from `block[WINDOW..]`).
    block: Vec<u8>,
    /// The next line of the block to hand out.
    block_at: usize,
    /// Filtered scanline length (filter byte and row).
    stride: usize,
}

impl StagedDecoder {
    /// A decoder for the image data of the PNG in `file` (`height` rows of `row_len` bytes,
    /// `bpp` bytes a pixel), whose first IDAT chunk is at `first_idat`.
    pub(crate) fn new(
        file: File,
        name: &str,
        first_idat: u64,
        height: usize,
        row_len: usize,
        bpp: usize,
    ) -> Result<Self> {
        let stride = row_len + 1;
        let inflater = Inflater {
            chunks: IdatChunks {
                file,
                name: name.to_string(),
                at: first_idat,
                left: 0,
                crc: libdeflater::Crc::new(),
                ended: false,
            },
            inflate: Decompressor::new(),
            input: Vec::new(),
            input_at: 0,
            input_ended: false,
            window: Vec::with_capacity(WINDOW),
            stride,
            lines_per_block: (BLOCK_BYTES / stride).clamp(1, height.max(1)),
            lines_left: height,
        };
        let unfilter = Unfilter {
            name: name.to_string(),
            bpp,
            above: crate::limits::zeroed(row_len, &format!("{name}: a row of the PNG"))?,
            rows_done: 0,
        };
        let stage = if crate::threads::num_threads() >= 2 {
            spawn(inflater, unfilter)?
        } else {
            Stage::Inline(Box::new((inflater, unfilter)))
        };
        Ok(StagedDecoder {
            name: name.to_string(),
            stage,
            block: Vec::new(),
            block_at: 0,
            stride,
        })
    }

    /// Copies the next row (big-endian samples) into `out`.
    pub(crate) fn next_row(&mut self, out: &mut [u8]) -> Result<()> {
        if WINDOW + self.block_at * self.stride >= self.block.len() {
            self.next_block()?;
        }
        let start = WINDOW + self.block_at * self.stride + 1;
        out.copy_from_slice(&self.block[start..start + self.stride - 1]);
        self.block_at += 1;
        Ok(())
    }

    /// Takes the next unfiltered block.
    fn next_block(&mut self) -> Result<()> {
        match &mut self.stage {
            Stage::Inline(stages) => {
                let (inflater, unfilter) = &mut **stages;
                inflater.next_block(&mut self.block)?;
                unfilter.apply(&mut self.block)?;
            }
            Stage::Threads { blocks, spent, .. } => {
                // The workers may have stopped already; the block is then simply dropped.
                let _ = spent.try_send(std::mem::take(&mut self.block));
                let received = blocks.as_ref().and_then(|b| b.recv().ok());
                self.block = received.ok_or_else(|| {
                    Error::BadState(format!(
                        "{}: the PNG decoder stopped after an earlier error",
                        self.name
                    ))
                })??;
            }
        }
        self.block_at = 0;
        Ok(())
    }
}
