//! `.iid` segmentation files, byte-compatible with the Python package `iidfile` 0.2.0:
//! each entry pairs a label (address and domain byte strings) with a segment (a box, an area
//! and 8-connected regions of packed mask bits); entries can be grouped and the file carries
//! free-form JSON meta.
//!
//! - [`IidFile`] reads (read-only mmap or bytes): the header, LUT, meta and groups are
//!   checked at open, records when first used; nothing is read unchecked.
//! - Queries ([`IidFile::fetch`], [`IidFile::look_for`], [`IidFile::filter`],
//!   [`IidFile::region`], [`IidFile::at`], [`IidFile::overlap_graph`]) answer in ascending
//!   key order; spatial ones go through a packed R-tree over region boxes built on first use.
//! - [`render`] paints the segments in distinct colours over an image, band by band.
//! - [`IidWriter`] writes files the reference writes, byte for byte (group key lists
//!   ascending), atomically; [`StagedWriter`] feeds it entry by entry, splitting masks on
//!   the library pool in the background.
//!
//! Deviations from the reference, all deliberate: `at` tests one pixel ([`IidFile::at_compat`]
//! keeps the reference's 2×2 test); area bounds are inclusive unless
//! [`AreaRange::exclusive`]; an empty domain in a filter matches entries with an empty or
//! absent domain (the reference matches them only with `None`); damaged files are refused.

pub mod dump;
pub mod format;
pub mod index;
pub mod mask;
pub mod pyjson;
pub mod query;
pub mod reader;
pub mod render;
pub mod staged;
pub mod writer;

pub use dump::dump_json;
pub use format::{BBox, Header, IidRecord, Region};
pub use mask::MaskData;
pub use query::{AreaRange, Entry, Filter, OverlapGraph, Parts, Select};
pub use reader::{Group, IidFile, Segment};
pub use render::{render, segment_colour, Rendered};
pub use staged::StagedWriter;
pub use writer::{EntryBatch, IidWriter, NewEntry};
