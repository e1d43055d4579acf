//! Builds codecs from metadata entries by name.

use alloc::boxed::Box;
use alloc::vec::Vec;

use serde_json::Value;

use crate::codec::{
    self, AnyCodec, ArrayToArrayCodec as A2A, ArrayToBytesCodec as A2B, BytesToBytesCodec as B2B, CodecChain,
};
use crate::error::{Error, Result};

/// Builds codecs from metadata, choosing implementations.
///
/// An explicit value, not a global: a std build may register a faster native
/// backend (feature `zstd-native`) and tests can compare both on the same input.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecRegistry {
    /// The zstd implementation new `zstd` codecs (and blosc-zstd) use.
    pub zstd: codec::zstd::ZstdBackend,
}

impl Default for CodecRegistry {
    /// The fastest backends this build has.
    fn default() -> Self {
        #[cfg(feature = "zstd-native")]
        let zstd = codec::zstd::NATIVE_BACKEND;
        #[cfg(not(feature = "zstd-native"))]
        let zstd = codec::zstd::RUST_BACKEND;
        CodecRegistry { zstd }
    }
}

impl CodecRegistry {
    /// The pure-Rust backends, whatever features are enabled.
    pub fn pure_rust() -> Self {
        CodecRegistry { zstd: codec::zstd::RUST_BACKEND }
    }

    /// Builds a codec from a v3 `codecs` entry (a string or `{"name", "configuration"}`).
    ///
    /// # Errors
    /// Unknown names are [`Error::Unsupported`]; bad configurations are [`Error::Codec`].
    pub fn v3(&self, entry: &Value) -> Result<AnyCodec> {
        let (name, config) = match entry {
            Value::String(name) => (name.as_str(), None),
            Value::Object(map) => {
                let name = map
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::codec("codec chain", "codec entry without a name"))?;
                (name, map.get("configuration"))
            }
            _ => return Err(Error::codec("codec chain", "codec entry is neither a string nor an object")),
        };
        Ok(match name {
            "bytes" | "endian" => AnyCodec::ArrayToBytes(A2B::Bytes(codec::bytes::BytesCodec::from_v3(config)?)),
            "transpose" => AnyCodec::ArrayToArray(A2A::Transpose(codec::transpose::Transpose::from_v3(config)?)),
            "gzip" => AnyCodec::BytesToBytes(B2B::Gzip(codec::gzip::Gzip::from_v3(config)?)),
            "zstd" => {
                let mut c = codec::zstd::Zstd::from_v3(config)?;
                c.backend = self.zstd;
                AnyCodec::BytesToBytes(B2B::Zstd(c))
            }
            "blosc" => AnyCodec::BytesToBytes(B2B::Blosc(codec::blosc::Blosc::from_v3(config)?.with_zstd(self.zstd))),
            "crc32c" => AnyCodec::BytesToBytes(B2B::Crc32c(codec::crc32c::Crc32c::from_v3(config)?)),
            "vlen-utf8" => AnyCodec::ArrayToBytes(A2B::VlenUtf8(codec::vlen::VlenUtf8::from_v3(config)?)),
            "vlen-bytes" => AnyCodec::ArrayToBytes(A2B::VlenBytes(codec::vlen::VlenBytes::from_v3(config)?)),
            "sharding_indexed" => AnyCodec::ArrayToBytes(A2B::Sharding(Box::new(self.sharding_from_v3(config)?))),
            // numcodecs.* codecs that zarr-python 3 writes for v2-style filters/compressors in v3 arrays.
            "numcodecs.zlib" | "zlib" => AnyCodec::BytesToBytes(B2B::Zlib(codec::zlib::Zlib::from_v3(config)?)),
            "numcodecs.lz4" => AnyCodec::BytesToBytes(B2B::Lz4(codec::lz4::Lz4::from_v3(config)?)),
            "numcodecs.shuffle" => AnyCodec::BytesToBytes(B2B::Shuffle(codec::shuffle::Shuffle::from_v3(config)?)),
            #[cfg(feature = "bz2")]
            "numcodecs.bz2" => AnyCodec::BytesToBytes(B2B::Bz2(codec::bz2::Bz2::from_v3(config)?)),
            "numcodecs.delta" => AnyCodec::ArrayToArray(A2A::Delta(codec::delta::Delta::from_v3(config)?)),
            "numcodecs.fixedscaleoffset" => AnyCodec::ArrayToArray(A2A::FixedScaleOffset(
                codec::fixedscaleoffset::FixedScaleOffset::from_v3(config)?,
            )),
            "numcodecs.astype" => AnyCodec::ArrayToArray(A2A::AsType(codec::astype::AsType::from_v3(config)?)),
            other => return Err(Error::Unsupported { kind: "codec", name: other.into() }),
        })
    }

    /// Builds a chain from a v3 `codecs` list.
    pub fn v3_chain(&self, entries: &[Value]) -> Result<CodecChain> {
        let codecs = entries.iter().map(|e| self.v3(e)).collect::<Result<Vec<_>>>()?;
        CodecChain::from_codecs(codecs)
    }

    /// Builds a codec from a v2 (numcodecs) filter or compressor object `{"id": ...}`.
    pub fn v2(&self, config: &Value) -> Result<AnyCodec> {
        let id = config
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::codec("codec chain", "v2 codec without an id"))?;
        Ok(match id {
            "gzip" => AnyCodec::BytesToBytes(B2B::Gzip(codec::gzip::Gzip::from_v2(config)?)),
            "zlib" => AnyCodec::BytesToBytes(B2B::Zlib(codec::zlib::Zlib::from_v2(config)?)),
            "zstd" => {
                let mut c = codec::zstd::Zstd::from_v2(config)?;
                c.backend = self.zstd;
                AnyCodec::BytesToBytes(B2B::Zstd(c))
            }
            "blosc" => AnyCodec::BytesToBytes(B2B::Blosc(codec::blosc::Blosc::from_v2(config)?.with_zstd(self.zstd))),
            "lz4" => AnyCodec::BytesToBytes(B2B::Lz4(codec::lz4::Lz4::from_v2(config)?)),
            "shuffle" => AnyCodec::BytesToBytes(B2B::Shuffle(codec::shuffle::Shuffle::from_v2(config)?)),
            #[cfg(feature = "bz2")]
            "bz2" => AnyCodec::BytesToBytes(B2B::Bz2(codec::bz2::Bz2::from_v2(config)?)),
            "crc32c" => AnyCodec::BytesToBytes(B2B::Crc32c(codec::crc32c::Crc32c::from_v2(config)?)),
            "delta" => AnyCodec::ArrayToArray(A2A::Delta(codec::delta::Delta::from_v2(config)?)),
            "fixedscaleoffset" => AnyCodec::ArrayToArray(A2A::FixedScaleOffset(
                codec::fixedscaleoffset::FixedScaleOffset::from_v2(config)?,
            )),
            "astype" => AnyCodec::ArrayToArray(A2A::AsType(codec::astype::AsType::from_v2(config)?)),
            "vlen-utf8" => AnyCodec::ArrayToBytes(A2B::VlenUtf8(codec::vlen::VlenUtf8::from_v2(config)?)),
            "vlen-bytes" => AnyCodec::ArrayToBytes(A2B::VlenBytes(codec::vlen::VlenBytes::from_v2(config)?)),
            other => return Err(Error::Unsupported { kind: "codec", name: other.into() }),
        })
    }

    fn sharding_from_v3(&self, config: Option<&Value>) -> Result<codec::sharding::ShardingCodec> {
        use codec::sharding::{IndexLocation, ShardingCodec};
        let bad = |reason: &str| Error::codec("sharding_indexed", reason);
        let config = config.and_then(Value::as_object).ok_or_else(|| bad("configuration object missing"))?;
        let chunk_shape = config
            .get("chunk_shape")
            .and_then(Value::as_array)
            .and_then(|dims| dims.iter().map(|d| d.as_u64().filter(|&d| d > 0)).collect::<Option<Vec<u64>>>())
            .ok_or_else(|| bad("`chunk_shape` must be a list of positive integers"))?;
        let codecs =
            config.get("codecs").and_then(Value::as_array).ok_or_else(|| bad("`codecs` must be a list of codecs"))?;
        let codecs = self.v3_chain(codecs)?;
        let index_codecs = match config.get("index_codecs") {
            None => self.v3_chain(&[
                serde_json::json!({"name": "bytes", "configuration": {"endian": "little"}}),
                serde_json::json!({"name": "crc32c"}),
            ])?,
            Some(Value::Array(list)) => self.v3_chain(list)?,
            Some(_) => return Err(bad("`index_codecs` must be a list of codecs")),
        };
        let index_location = match config.get("index_location").map(|v| v.as_str()) {
            None | Some(Some("end")) => IndexLocation::End,
            Some(Some("start")) => IndexLocation::Start,
            Some(_) => return Err(bad("`index_location` must be \"start\" or \"end\"")),
        };
        let codec = ShardingCodec { chunk_shape, codecs, index_codecs, index_location };
        // Fails early when the index codecs have no fixed size (compressors are not allowed).
        codec.index_size(&[])?;
        Ok(codec)
    }
}
