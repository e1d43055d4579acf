//! The `zstd` codec (stub: being implemented).

use alloc::vec::Vec;

use crate::error::{Error, Result};

/// A zstd implementation: the pure-Rust one, or a native one a std build registers.
#[derive(Clone, Copy)]
pub struct ZstdBackend {
    /// Name for diagnostics, e.g. "ruzstd" or "libzstd".
    pub name: &'static str,
    /// Decodes a zstd stream (all frames), failing above `max_len` bytes of output.
    pub decode: fn(input: &[u8], max_len: usize) -> Result<Vec<u8>>,
    /// Encodes at a level, with or without a content checksum.
    pub encode: fn(input: &[u8], level: i32, checksum: bool) -> Result<Vec<u8>>,
}

impl core::fmt::Debug for ZstdBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for ZstdBackend {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// The `zstd` bytes-to-bytes codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Zstd {
    /// Compression level.
    pub level: i32,
    /// Whether encoded frames carry a content checksum.
    pub checksum: bool,
    /// The implementation in use.
    pub backend: ZstdBackend,
}

impl Zstd {
    /// Decodes `input`, failing rather than producing more than `max_len` bytes.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        (self.backend.decode)(input, max_len)
    }

    /// Encodes `input`.
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        (self.backend.encode)(input, self.level, self.checksum)
    }
}

/// The pure-Rust backend (ruzstd).
pub const RUST_BACKEND: ZstdBackend = ZstdBackend {
    name: "ruzstd",
    decode: |_, _| Err(Error::Unsupported { kind: "codec", name: "zstd".into() }),
    encode: |_, _, _| Err(Error::Unsupported { kind: "codec", name: "zstd".into() }),
};

impl Zstd {
    /// Builds the codec from its v3 `configuration` object.
    pub fn from_v3(_configuration: Option<&serde_json::Value>) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "zstd".into() })
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn from_v2(_config: &serde_json::Value) -> Result<Self> {
        Err(Error::Unsupported { kind: "codec", name: "zstd".into() })
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
