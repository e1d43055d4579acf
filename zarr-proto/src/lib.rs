//! A deterministic, sans-IO implementation of Zarr v2 and v3.
//!
//! This crate parses metadata, knows every common data type and codec, turns a
//! selection into chunk requests and assembles the answers into an array. It does
//! no networking, no file access, no threading and reads no clock: a driver asks a
//! [`ReadOp`] (or a [`WriteOp`]) what to fetch and store, fetches it however it likes (async, a
//! thread pool, a test simulator) and hands the bytes back. Because the same inputs
//! always give the same requests, the whole protocol is testable without a network.
//!
//! The crate is `#![no_std]` with `alloc`. The `std` feature only adds
//! `std::error::Error` impls and allows native codec backends such as `zstd-native`.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
// Only tests and opt-in native backends may use std; everything else must build
// without it, or developers who never build for no_std would depend on it by accident.
#[cfg(any(feature = "std", test))]
extern crate std;

// Modules are private and their types re-exported flat below, so a user learns
// `zarr_proto::ArrayMetadata`, not where it is defined. Three stay public as
// namespaces of families that read better qualified: `codec::Blosc`-style codec
// configurations (a catalogue, not a vocabulary), and the `key` and `http` rules
// (free functions such as `key::join` and `http::classify_status`), and `sigv4`,
// the request signing of S3 (`sigv4::sign`).
mod byte_range;
mod cancel;
pub mod codec;
mod dtype;
mod error;
mod flow;
pub mod http;
pub mod key;
mod limits;
mod metadata;
mod ndarray;
mod open;
mod read;
mod read_options;
mod selection;
pub mod sigv4;
mod version;
mod write;
mod write_flow;

// What a driver or a user needs, flat: `zarr_proto::ReadOp`, not a module path to learn.
pub use byte_range::ByteRange;
pub use cancel::Cancel;
pub use codec::CodecRegistry;
pub use dtype::{is_all_fill, DataType, Endian, Field, FillValue, MiniFloat, Structured, TimeUnit};
pub use error::{Error, Result};
pub use flow::{Flow, FlowControl, StoreKind, LOCAL_REQUESTS, MEMORY_REQUESTS, REMOTE_REQUESTS};
pub use limits::Limits;
pub use metadata::builder::Compression;
pub use metadata::chunk_grid::DimChunks;
pub use metadata::consolidated::ConsolidatedMetadata;
pub use metadata::update::{ChunksOutside, Document};
pub use metadata::{
    ArrayBuilder, ArrayMetadata, ChunkGrid, ChunkKeyEncoding, GroupMetadata, NodeMetadata, ZarrFormat, ZARRAY,
    ZARR_JSON, ZATTRS, ZGROUP, ZMETADATA,
};
pub use ndarray::{ArrayBytes, Element, NdArray};
pub use open::{OpenOp, OpenOptions};
pub use read::{DecodeJob, Decoded, ReadOp, ReadStats, Request, RequestId, Response};
pub use read_options::{Progress, ProgressReport, ReadOptions};
pub use selection::parse::SelectionKind;
pub use selection::{DimIndexer, DimSelector, ResolvedSelection, Selection};
pub use version::{Condition, Version};
pub use write::{EncodeJob, Encoded, StoreWrite, WriteAction, WriteOp, WriteOptions, WriteOutcome, WriteStats};
pub use write_flow::WriteFlow;
