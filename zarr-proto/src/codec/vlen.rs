//! The `vlen-utf8` and `vlen-bytes` codecs (stub: being implemented).

use alloc::vec::Vec;

use crate::codec::ChunkRepr;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::ndarray::ArrayBytes;

/// Variable-length UTF-8 strings.
#[derive(Debug, Clone, PartialEq)]
pub struct VlenUtf8;

/// Variable-length byte strings.
#[derive(Debug, Clone, PartialEq)]
pub struct VlenBytes;

impl VlenUtf8 {
    /// Decodes `bytes` into an array of `repr`.
    pub fn decode(&self, _bytes: &[u8], _repr: &ChunkRepr, _limits: &Limits) -> Result<ArrayBytes> {
        Err(Error::Unsupported { kind: "codec", name: "vlen-utf8".into() })
    }

    /// Encodes an array of `repr`.
    pub fn encode(&self, _data: &ArrayBytes, _repr: &ChunkRepr) -> Result<Vec<u8>> {
        Err(Error::Unsupported { kind: "codec", name: "vlen-utf8".into() })
    }
}

impl VlenBytes {
    /// Decodes `bytes` into an array of `repr`.
    pub fn decode(&self, _bytes: &[u8], _repr: &ChunkRepr, _limits: &Limits) -> Result<ArrayBytes> {
        Err(Error::Unsupported { kind: "codec", name: "vlen-bytes".into() })
    }

    /// Encodes an array of `repr`.
    pub fn encode(&self, _data: &ArrayBytes, _repr: &ChunkRepr) -> Result<Vec<u8>> {
        Err(Error::Unsupported { kind: "codec", name: "vlen-bytes".into() })
    }
}

impl VlenUtf8 {
    /// Builds the codec from its v3 `configuration` object.
    pub fn from_v3(_configuration: Option<&serde_json::Value>) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "vlen".into() })
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn from_v2(_config: &serde_json::Value) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "vlen".into() })
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

impl VlenBytes {
    /// Builds the codec from its v3 `configuration` object.
    pub fn from_v3(_configuration: Option<&serde_json::Value>) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "vlen".into() })
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn from_v2(_config: &serde_json::Value) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "vlen".into() })
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
