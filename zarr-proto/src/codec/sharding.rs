//! The `sharding_indexed` codec: many inner chunks in one stored object plus an index.
//!
//! The partial-read logic (fetch the index, then only the needed inner chunks)
//! lives in [`crate::read`]; this module knows the layout.

use alloc::vec::Vec;

use crate::codec::{ChunkRepr, CodecChain};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::ndarray::ArrayBytes;

/// Where the shard index is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexLocation {
    /// At the start of the shard.
    Start,
    /// At the end of the shard (the default).
    End,
}

/// The `sharding_indexed` array-to-bytes codec.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardingCodec {
    /// Shape of each inner chunk.
    pub chunk_shape: Vec<u64>,
    /// Codecs of the inner chunks.
    pub codecs: CodecChain,
    /// Codecs of the index (a `[chunks..., 2]` uint64 array).
    pub index_codecs: CodecChain,
    /// Where the index is.
    pub index_location: IndexLocation,
}

/// The decoded index of one shard: `(offset, nbytes)` per inner chunk in C order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIndex {
    /// `(offset, nbytes)` pairs; `(u64::MAX, u64::MAX)` marks an empty inner chunk.
    pub entries: Vec<(u64, u64)>,
}

impl ShardIndex {
    /// The byte range of inner chunk `i` (C-order linear index), or `None` when empty.
    pub fn get(&self, i: usize) -> Option<(u64, u64)> {
        match self.entries.get(i) {
            Some(&(u64::MAX, u64::MAX)) | None => None,
            Some(&pair) => Some(pair),
        }
    }
}

impl ShardingCodec {
    /// Inner chunks per shard along each dimension.
    pub fn chunks_per_shard(&self, shard_shape: &[u64]) -> Result<Vec<u64>> {
        let _ = shard_shape;
        Err(Error::Unsupported { kind: "codec", name: "sharding_indexed".into() })
    }

    /// Encoded size of the index in bytes.
    pub fn index_size(&self, chunks_per_shard: &[u64]) -> Result<u64> {
        let _ = chunks_per_shard;
        Err(Error::Unsupported { kind: "codec", name: "sharding_indexed".into() })
    }

    /// Decodes an encoded index, checking its size against `limits`.
    pub fn decode_index(&self, bytes: &[u8], chunks_per_shard: &[u64], limits: &Limits) -> Result<ShardIndex> {
        let _ = (bytes, chunks_per_shard, limits);
        Err(Error::Unsupported { kind: "codec", name: "sharding_indexed".into() })
    }

    /// Decodes a whole shard.
    pub fn decode(&self, _bytes: &[u8], _repr: &ChunkRepr, _limits: &Limits) -> Result<ArrayBytes> {
        Err(Error::Unsupported { kind: "codec", name: "sharding_indexed".into() })
    }

    /// Encodes a whole shard (empty inner chunks equal to the fill value are omitted).
    pub fn encode(&self, _data: &ArrayBytes, _repr: &ChunkRepr) -> Result<Vec<u8>> {
        Err(Error::Unsupported { kind: "codec", name: "sharding_indexed".into() })
    }

    /// The v3 metadata entry.
    pub fn to_v3(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
