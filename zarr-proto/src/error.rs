//! The one error type of the core.
//!
//! Errors come from bad input (metadata, chunk bytes, selections, responses).
//! A panic means a bug in this crate.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in the core, with the key and the cause in its text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Metadata that does not parse or breaks the specification.
    #[error("invalid metadata in {key}: {reason}")]
    InvalidMetadata {
        /// The metadata document, e.g. `zarr.json` or `.zarray`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A codec, data type, chunk grid or extension this crate does not implement.
    #[error("unsupported {kind} `{name}`")]
    Unsupported {
        /// What kind of thing: "codec", "data type", "extension", ...
        kind: &'static str,
        /// Its name as written in the metadata.
        name: String,
    },
    /// A codec failed to decode or encode its input.
    #[error("{codec}: {reason}")]
    Codec {
        /// The codec's name.
        codec: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// An error while processing one stored chunk (or shard).
    #[error("chunk {key}: {source}")]
    Chunk {
        /// The store key of the chunk.
        key: String,
        /// The underlying error.
        source: Box<Error>,
    },
    /// Input asked for more memory than [`Limits`](crate::Limits) allows.
    #[error("{what} of {} exceeds the limit of {limit} bytes", size_text(*requested))]
    LimitExceeded {
        /// What would have been allocated.
        what: &'static str,
        /// The size the input asked for.
        requested: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A selection that is malformed or out of bounds for the array.
    #[error("invalid selection: {0}")]
    Selection(String),
    /// A chunk index outside an array's chunk grid, or of the wrong number of dimensions.
    #[error("chunk index {index:?} is outside the {grid} grid of shape {grid_shape:?}")]
    ChunkIndex {
        /// The index asked for.
        index: Vec<u64>,
        /// Which grid: `chunk`, `inner chunk` (of shards) or `shard`.
        grid: &'static str,
        /// Number of chunks of that grid along each dimension.
        grid_shape: Vec<u64>,
    },
    /// A caller's output buffer whose size is not the selection's.
    #[error("output buffer of {got} bytes for a selection of {expected} bytes")]
    BufferSize {
        /// Bytes the selection needs.
        expected: u64,
        /// Bytes the buffer has.
        got: u64,
    },
    /// A data value (fill value, element) that does not fit its data type.
    #[error("data type {dtype}: {reason}")]
    DataType {
        /// The data type's name.
        dtype: String,
        /// What is wrong.
        reason: String,
    },
    /// The driver broke the state machine's contract (unknown request id,
    /// a response given twice, a response of the wrong length).
    #[error("protocol misuse: {0}")]
    Protocol(String),
    /// No array or group at a path: none of `zarr.json`, `.zarray`, `.zgroup` exists.
    #[error("no zarr array or group at `{path}` (no zarr.json, .zarray or .zgroup)")]
    NotFound {
        /// The node's path in its store (`""` for the root).
        path: String,
    },
    /// The caller's data for a write does not have the selection's shape.
    #[error("source of shape {got:?} for a selection of shape {expected:?}")]
    SourceShape {
        /// The selection's shape.
        expected: alloc::vec::Vec<u64>,
        /// The source's shape.
        got: alloc::vec::Vec<u64>,
    },
    /// A read-modify-write kept losing the race for one chunk: another writer changed it
    /// between every read and put, more often than `WriteOptions::max_conflict_retries` allows.
    #[error("chunk {key}: changed by another writer on each of {attempts} conditional writes")]
    WriteConflict {
        /// The store key of the chunk (or shard).
        key: String,
        /// Conditional writes tried.
        attempts: u32,
    },
    /// A remote store answered with a failure (see [`crate::http`]).
    #[error("store error for {key}: {reason}")]
    Store {
        /// The store key.
        key: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// Wraps `self` with the key of the chunk being processed, once.
    pub fn in_chunk(self, key: &str) -> Error {
        match self {
            Error::Chunk { .. } => self,
            other => Error::Chunk { key: key.into(), source: Box::new(other) },
        }
    }

    /// Builds an [`Error::Codec`].
    pub fn codec(codec: &'static str, reason: impl Into<String>) -> Error {
        Error::Codec { codec, reason: reason.into() }
    }

    /// Builds an [`Error::InvalidMetadata`].
    pub fn metadata(key: &str, reason: impl Into<String>) -> Error {
        Error::InvalidMetadata { key: key.into(), reason: reason.into() }
    }
}

/// A size for messages; `u64::MAX` stands for a size whose computation overflowed.
fn size_text(bytes: u64) -> alloc::string::String {
    if bytes == u64::MAX {
        "more than 2^64 bytes".into()
    } else {
        alloc::format!("{bytes} bytes")
    }
}
