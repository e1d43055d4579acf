//! The `blosc` codec: c-blosc 1.x frames, as numcodecs and zarr-python write them.
//!
//! Decoding reads everything from the frame's own header (compressor, shuffle,
//! typesize, block layout); the configuration only steers encoding. The frame
//! format, shuffles and the BloscLZ compressor live in the private modules `frame`, `shuffle` and
//! `blosclz`. Internal compressors: lz4 and lz4hc (`lz4_flex`), blosclz (our own),
//! zlib (`miniz_oxide`) and zstd (the [`ZstdBackend`] given by the registry).
//! Snappy is not implemented and yields [`Error::Unsupported`].
//!
//! Every header field is treated as hostile: a decoded size above `max_len` is an
//! [`Error::LimitExceeded`] before anything is allocated, and any offset or size
//! outside the frame is an [`Error::Codec`] naming the problem.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{json, Map, Value};

use crate::codec::zstd::{ZstdBackend, RUST_BACKEND};
use crate::error::{Error, Result};

mod blosclz;
mod frame;
mod lz4;
pub(crate) mod shuffle;

/// The compressor blosc runs on each block (`cname`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compressor {
    /// BloscLZ, c-blosc's built-in LZ77.
    BloscLz,
    /// LZ4.
    Lz4,
    /// LZ4 high compression (same stream format as LZ4; we encode it with the LZ4 encoder).
    Lz4Hc,
    /// Snappy (neither decoded nor encoded here).
    Snappy,
    /// zlib (RFC 1950 streams).
    Zlib,
    /// Zstandard.
    Zstd,
}

impl Compressor {
    /// The `cname` string.
    pub fn name(self) -> &'static str {
        match self {
            Compressor::BloscLz => "blosclz",
            Compressor::Lz4 => "lz4",
            Compressor::Lz4Hc => "lz4hc",
            Compressor::Snappy => "snappy",
            Compressor::Zlib => "zlib",
            Compressor::Zstd => "zstd",
        }
    }

    fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "blosclz" => Compressor::BloscLz,
            "lz4" => Compressor::Lz4,
            "lz4hc" => Compressor::Lz4Hc,
            "snappy" => Compressor::Snappy,
            "zlib" => Compressor::Zlib,
            "zstd" => Compressor::Zstd,
            other => return Err(config_error(format!("unknown cname `{other}`"))),
        })
    }
}

/// The shuffle filter applied before compressing each block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shuffle {
    /// No shuffle (`"noshuffle"`, v2 `0`).
    None,
    /// Byte shuffle (`"shuffle"`, v2 `1`).
    Byte,
    /// Bit shuffle (`"bitshuffle"`, v2 `2`).
    Bit,
    /// numcodecs' AUTOSHUFFLE (v2 `-1`): bit shuffle when the typesize is 1, else byte shuffle.
    Auto,
}

impl Shuffle {
    /// The v3 string; `Auto` resolves against `typesize`.
    fn v3_name(self, typesize: usize) -> &'static str {
        match self {
            Shuffle::None => "noshuffle",
            Shuffle::Byte => "shuffle",
            Shuffle::Bit => "bitshuffle",
            Shuffle::Auto if typesize == 1 => "bitshuffle",
            Shuffle::Auto => "shuffle",
        }
    }
}

/// The `blosc` bytes-to-bytes codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Blosc {
    /// Compressor used when encoding.
    pub cname: Compressor,
    /// Compression level, 0 (store) to 9.
    pub clevel: u8,
    /// Shuffle filter used when encoding.
    pub shuffle: Shuffle,
    /// Element size the shuffles work on (v2 configs take it from the dtype).
    pub typesize: usize,
    /// Requested block size in bytes; 0 lets blosc choose.
    pub blocksize: usize,
    /// The zstd implementation for zstd-compressed blocks.
    pub zstd: ZstdBackend,
}

impl Blosc {
    /// A codec with numcodecs' defaults: lz4, level 5, byte shuffle, typesize 1, automatic blocks.
    pub fn new() -> Self {
        Blosc {
            cname: Compressor::Lz4,
            clevel: 5,
            shuffle: Shuffle::Byte,
            typesize: 1,
            blocksize: 0,
            zstd: RUST_BACKEND,
        }
    }

    /// Decodes `input`, failing rather than producing more than `max_len` bytes.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] when the header's size exceeds `max_len`,
    /// [`Error::Unsupported`] for snappy blocks, [`Error::Codec`] for corrupt frames.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        frame::decode(input, max_len, &self.zstd)
    }

    /// Encodes `input` as one frame that c-blosc (numcodecs) decodes.
    ///
    /// # Errors
    /// Input above 2 GiB, snappy, or a failing zstd backend.
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        let params = frame::EncodeParams {
            compressor: self.cname,
            clevel: self.clevel,
            shuffle: self.shuffle,
            typesize: self.typesize,
            blocksize: self.blocksize,
            zstd: &self.zstd,
        };
        frame::encode(&params, input)
    }
}

impl Default for Blosc {
    fn default() -> Self {
        Self::new()
    }
}

fn config_error(reason: impl Into<String>) -> Error {
    Error::codec("blosc", reason)
}

fn get_int(map: &Map<String, Value>, key: &str, default: Option<i64>) -> Result<i64> {
    match map.get(key) {
        Some(v) => v.as_i64().ok_or_else(|| config_error(format!("`{key}` must be an integer, got {v}"))),
        None => default.ok_or_else(|| config_error(format!("missing `{key}`"))),
    }
}

fn parse_clevel(v: i64) -> Result<u8> {
    u8::try_from(v).ok().filter(|l| *l <= 9).ok_or_else(|| config_error(format!("clevel {v} is not in 0..=9")))
}

fn parse_blocksize(v: i64) -> Result<usize> {
    usize::try_from(v).map_err(|_| config_error(format!("blocksize {v} is negative")))
}

fn parse_typesize(v: i64) -> Result<usize> {
    usize::try_from(v).ok().filter(|t| *t > 0).ok_or_else(|| config_error(format!("typesize {v} is not positive")))
}

impl Blosc {
    /// Builds the codec from its v3 `configuration` object.
    ///
    /// # Errors
    /// [`Error::Codec`] for a missing configuration, unknown `cname`/`shuffle` or out-of-range numbers.
    pub fn from_v3(configuration: Option<&Value>) -> Result<Self> {
        let map =
            configuration.and_then(Value::as_object).ok_or_else(|| config_error("missing configuration object"))?;
        let cname = map
            .get("cname")
            .and_then(Value::as_str)
            .ok_or_else(|| config_error("`cname` must be a string"))
            .and_then(Compressor::parse)?;
        let clevel = parse_clevel(get_int(map, "clevel", None)?)?;
        let shuffle = match map.get("shuffle").and_then(Value::as_str) {
            Some("noshuffle") => Shuffle::None,
            Some("shuffle") => Shuffle::Byte,
            Some("bitshuffle") => Shuffle::Bit,
            _ => {
                return Err(config_error(format!(
                    "`shuffle` must be \"noshuffle\", \"shuffle\" or \"bitshuffle\", got {}",
                    map.get("shuffle").unwrap_or(&Value::Null)
                )))
            }
        };
        let typesize = parse_typesize(get_int(map, "typesize", Some(1))?)?;
        let blocksize = parse_blocksize(get_int(map, "blocksize", Some(0))?)?;
        Ok(Blosc { cname, clevel, shuffle, typesize, blocksize, zstd: RUST_BACKEND })
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> Value {
        json!({
            "name": "blosc",
            "configuration": {
                "cname": self.cname.name(),
                "clevel": self.clevel,
                "shuffle": self.shuffle.v3_name(self.typesize),
                "typesize": self.typesize,
                "blocksize": self.blocksize,
            }
        })
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": ..., ...}`.
    ///
    /// v2 objects carry no typesize: call [`Blosc::with_typesize`] with the dtype's item size.
    ///
    /// # Errors
    /// [`Error::Codec`] for unknown `cname`, a `shuffle` outside -1..=2 or out-of-range numbers.
    pub fn from_v2(config: &Value) -> Result<Self> {
        let map = config.as_object().ok_or_else(|| config_error("v2 config is not an object"))?;
        let cname = match map.get("cname") {
            None => Compressor::Lz4,
            Some(v) => Compressor::parse(v.as_str().ok_or_else(|| config_error("`cname` must be a string"))?)?,
        };
        let clevel = parse_clevel(get_int(map, "clevel", Some(5))?)?;
        let shuffle = match get_int(map, "shuffle", Some(1))? {
            -1 => Shuffle::Auto,
            0 => Shuffle::None,
            1 => Shuffle::Byte,
            2 => Shuffle::Bit,
            other => return Err(config_error(format!("shuffle {other} is not one of -1, 0, 1, 2"))),
        };
        let typesize = parse_typesize(get_int(map, "typesize", Some(1))?)?;
        let blocksize = parse_blocksize(get_int(map, "blocksize", Some(0))?)?;
        Ok(Blosc { cname, clevel, shuffle, typesize, blocksize, zstd: RUST_BACKEND })
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> Value {
        let shuffle: i64 = match self.shuffle {
            Shuffle::Auto => -1,
            Shuffle::None => 0,
            Shuffle::Byte => 1,
            Shuffle::Bit => 2,
        };
        json!({
            "id": "blosc",
            "cname": self.cname.name(),
            "clevel": self.clevel,
            "shuffle": shuffle,
            "blocksize": self.blocksize,
        })
    }
}

impl Blosc {
    /// Uses `backend` for zstd-compressed blosc blocks.
    pub fn with_zstd(self, backend: ZstdBackend) -> Self {
        Blosc { zstd: backend, ..self }
    }

    /// Sets the element size the shuffles work on (v2 metadata passes the dtype's item size).
    ///
    /// Sizes above 255 behave as 1, as in c-blosc.
    pub fn with_typesize(self, typesize: usize) -> Self {
        Blosc { typesize: typesize.max(1), ..self }
    }
}

#[cfg(test)]
pub(crate) mod tests;
