//! The `transpose` codec (stub: being implemented).

use crate::codec::ChunkRepr;
use crate::error::{Error, Result};
use crate::ndarray::ArrayBytes;

/// The `transpose` array-to-array codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Transpose {
    /// `order[i]` is the decoded dimension that becomes encoded dimension `i`.
    pub order: alloc::vec::Vec<usize>,
}

impl Transpose {
    /// The representation this codec produces from `decoded`.
    pub fn encoded_repr(&self, decoded: &ChunkRepr) -> Result<ChunkRepr> {
        Ok(decoded.clone())
    }

    /// Decodes `data` into `decoded`'s representation.
    pub fn decode(&self, _data: ArrayBytes, _decoded: &ChunkRepr) -> Result<ArrayBytes> {
        Err(Error::Unsupported { kind: "codec", name: "transpose".into() })
    }

    /// Encodes `data`, which is in `decoded`'s representation.
    pub fn encode(&self, _data: ArrayBytes, _decoded: &ChunkRepr) -> Result<ArrayBytes> {
        Err(Error::Unsupported { kind: "codec", name: "transpose".into() })
    }
}

impl Transpose {
    /// Builds the codec from its v3 `configuration` object.
    pub fn from_v3(_configuration: Option<&serde_json::Value>) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "transpose".into() })
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn from_v2(_config: &serde_json::Value) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "transpose".into() })
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
