//! The `zlib` codec (stub: being implemented).

use alloc::vec::Vec;

use crate::error::{Error, Result};

/// The `zlib` bytes-to-bytes codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Zlib;

impl Zlib {
    /// Decodes `input`, failing rather than producing more than `max_len` bytes.
    pub fn decode(&self, _input: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported { kind: "codec", name: "zlib".into() })
    }

    /// Encodes `input`.
    pub fn encode(&self, _input: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported { kind: "codec", name: "zlib".into() })
    }
}

impl Zlib {
    /// Builds the codec from its v3 `configuration` object.
    pub fn from_v3(_configuration: Option<&serde_json::Value>) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "zlib".into() })
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn from_v2(_config: &serde_json::Value) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "zlib".into() })
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
