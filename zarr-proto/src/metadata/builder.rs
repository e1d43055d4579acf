//! Building the metadata of a new array from resolved fields.

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{json, Map, Value};

use crate::codec::CodecRegistry;
use crate::dtype::{DataType, Endian, FillValue};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::metadata::{v2, v3, ArrayMetadata, ChunkGrid, ChunkKeyEncoding, ZarrFormat, ZARRAY, ZARR_JSON};

/// A compressor for a new array, in zarr-python's default configuration for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    None,
    /// zstd at `level` (zarr-python's default compressor, level 0 meaning zstd's default 3).
    Zstd {
        /// Compression level.
        level: i32,
    },
    /// blosc with lz4 at level 5 and byte shuffle (bit shuffle for 1-byte types), as numcodecs' default.
    BloscLz4,
    /// gzip at `level`.
    Gzip {
        /// Compression level, 0 to 9.
        level: u32,
    },
}

impl Compression {
    /// The v3 `codecs` entry, for elements of `item_size` bytes.
    fn v3(self, item_size: usize) -> Option<Value> {
        match self {
            Compression::None => None,
            Compression::Zstd { level } => {
                Some(json!({"name": "zstd", "configuration": {"level": level, "checksum": false}}))
            }
            Compression::BloscLz4 => Some(json!({"name": "blosc", "configuration": {
                "cname": "lz4", "clevel": 5,
                "shuffle": if item_size == 1 { "bitshuffle" } else { "shuffle" },
                "typesize": item_size, "blocksize": 0,
            }})),
            Compression::Gzip { level } => Some(json!({"name": "gzip", "configuration": {"level": level}})),
        }
    }

    /// The v2 `compressor` object.
    fn v2(self, item_size: usize) -> Option<Value> {
        match self {
            Compression::None => None,
            Compression::Zstd { level } => Some(json!({"id": "zstd", "level": level, "checksum": false})),
            Compression::BloscLz4 => Some(json!({
                "id": "blosc", "cname": "lz4", "clevel": 5,
                "shuffle": if item_size == 1 { 2 } else { 1 }, "blocksize": 0,
            })),
            Compression::Gzip { level } => Some(json!({"id": "gzip", "level": level})),
        }
    }
}

/// The fields of a new array; [`build_v3`](ArrayBuilder::build_v3) and
/// [`build_v2`](ArrayBuilder::build_v2) turn them into a document and parse it back,
/// so the result is exactly what a reader of that document gets.
///
/// # Examples
/// ```
/// use zarr_proto::codec::CodecRegistry;
/// use zarr_proto::DataType;
/// use zarr_proto::ArrayBuilder;
/// use zarr_proto::Limits;
///
/// let meta = ArrayBuilder::new(vec![100, 100], DataType::Float32, vec![10, 10])
///     .build_v3(&CodecRegistry::default(), &Limits::default())
///     .unwrap();
/// assert_eq!(meta.chunk_key(&[1, 2]), "c/1/2");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayBuilder {
    /// Extent of each dimension.
    pub shape: Vec<u64>,
    /// Element type.
    pub data_type: DataType,
    /// The chunk grid (v2 only has regular grids).
    pub chunk_grid: ChunkGrid,
    /// The fill value; `None` is the type's default (zero, `false`, `NaT`, empty).
    pub fill_value: Option<FillValue>,
    /// Chunk key encoding; `None` is v3 `default` with `/`, or v2 with `.`.
    pub chunk_key_encoding: Option<ChunkKeyEncoding>,
    /// User attributes (v3 `attributes`, v2 `.zattrs`).
    pub attributes: Map<String, Value>,
    /// Dimension names (v3 only).
    pub dimension_names: Option<Vec<Option<String>>>,
    /// v3 `codecs` entries; empty means `bytes` (little endian), or `vlen-utf8` /
    /// `vlen-bytes` for variable-length types.
    pub codecs: Vec<Value>,
    /// v2 filters (numcodecs objects); the object codec of `|O` types is added when missing.
    pub v2_filters: Vec<Value>,
    /// v2 compressor (a numcodecs object), or none.
    pub v2_compressor: Option<Value>,
    /// v2 `order: "F"`.
    pub v2_order_f: bool,
    /// Byte order of the v2 dtype string.
    pub v2_endian: Endian,
    /// The compressor, used where `codecs` is empty (v3) or `v2_compressor` is `None` (v2).
    pub compression: Compression,
    /// v3 only: store chunks in shards of this shape (each a whole number of chunks),
    /// with a crc32c-checked index at the end, as zarr-python does.
    pub shard_shape: Option<Vec<u64>>,
}

impl ArrayBuilder {
    /// An array of `shape` and `data_type` in regular chunks of `chunk_shape`, with defaults elsewhere.
    pub fn new(shape: Vec<u64>, data_type: DataType, chunk_shape: Vec<u64>) -> Self {
        ArrayBuilder {
            shape,
            data_type,
            chunk_grid: ChunkGrid::Regular { chunk_shape },
            fill_value: None,
            chunk_key_encoding: None,
            attributes: Map::new(),
            dimension_names: None,
            codecs: Vec::new(),
            v2_filters: Vec::new(),
            v2_compressor: None,
            v2_order_f: false,
            v2_endian: Endian::Little,
            compression: Compression::None,
            shard_shape: None,
        }
    }

    /// This builder with `compression`.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// This builder storing its chunks in shards of `shard_shape` (v3 only).
    pub fn shards(mut self, shard_shape: Vec<u64>) -> Self {
        self.shard_shape = Some(shard_shape);
        self
    }

    /// A chunk shape of about `target_bytes` for an array of `shape` and `item_size`
    /// bytes per element: the whole array when it fits, else the largest dimensions
    /// halved in turn (so chunks stay similar in every direction).
    pub fn guess_chunks(shape: &[u64], item_size: usize, target_bytes: u64) -> Vec<u64> {
        let mut chunks: Vec<u64> = shape.iter().map(|&n| n.max(1)).collect();
        let size = |c: &[u64]| c.iter().fold(item_size.max(1) as u64, |acc, &n| acc.saturating_mul(n));
        while size(&chunks) > target_bytes.max(1) {
            let Some((d, _)) = chunks.iter().enumerate().filter(|(_, &n)| n > 1).max_by_key(|(_, &n)| n) else {
                break;
            };
            chunks[d] = chunks[d].div_ceil(2);
        }
        chunks
    }

    fn fill_json(&self) -> Result<Value> {
        match &self.fill_value {
            Some(f) => f.to_json(&self.data_type),
            None => FillValue::default_for(&self.data_type).to_json(&self.data_type),
        }
    }

    /// The metadata in `format`, with the default codec registry and limits.
    ///
    /// # Errors
    /// As [`build_v3`](Self::build_v3) and [`build_v2`](Self::build_v2).
    pub fn build(&self, format: ZarrFormat) -> Result<ArrayMetadata> {
        let (registry, limits) = (CodecRegistry::default(), Limits::default());
        match format {
            ZarrFormat::V3 => self.build_v3(&registry, &limits),
            ZarrFormat::V2 => self.build_v2(&registry, &limits),
        }
    }

    /// The v3 array metadata (`zarr.json`).
    ///
    /// # Errors
    /// Whatever makes the resulting document invalid: a fill value of the wrong size,
    /// a grid of the wrong rank, unknown codecs.
    pub fn build_v3(&self, registry: &CodecRegistry, limits: &Limits) -> Result<ArrayMetadata> {
        let mut codecs = if self.codecs.is_empty() {
            let mut codecs = alloc::vec![match self.data_type {
                DataType::String => json!({"name": "vlen-utf8", "configuration": {}}),
                DataType::Bytes => json!({"name": "vlen-bytes", "configuration": {}}),
                ref t if t.swap_unit() > 1 => json!({"name": "bytes", "configuration": {"endian": "little"}}),
                _ => json!({"name": "bytes"}),
            }];
            codecs.extend(self.compression.v3(self.data_type.size().unwrap_or(1)));
            codecs
        } else {
            self.codecs.clone()
        };
        let mut builder = self.clone();
        if let Some(shard_shape) = &self.shard_shape {
            let ChunkGrid::Regular { chunk_shape } = &self.chunk_grid else {
                return Err(Error::metadata(ZARR_JSON, "shards need a regular chunk grid"));
            };
            codecs = alloc::vec![json!({"name": "sharding_indexed", "configuration": {
                "chunk_shape": chunk_shape,
                "codecs": codecs,
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
                "index_location": "end",
            }})];
            builder.chunk_grid = ChunkGrid::Regular { chunk_shape: shard_shape.clone() };
        }
        let doc = v3::array_document(&builder, self.fill_json()?, codecs);
        v3::array_from_value(doc, "zarr.json", registry, limits)
    }

    /// The v2 array metadata (`.zarray`, with the attributes as `.zattrs`).
    ///
    /// # Errors
    /// As [`build_v3`](Self::build_v3), plus types and grids v2 cannot express
    /// (`bfloat16`, rectilinear grids, the v3 `default` key encoding).
    pub fn build_v2(&self, registry: &CodecRegistry, limits: &Limits) -> Result<ArrayMetadata> {
        let mut filters = self.v2_filters.clone();
        let object_codec = match self.data_type {
            DataType::String => Some("vlen-utf8"),
            DataType::Bytes => Some("vlen-bytes"),
            _ => None,
        };
        if let Some(id) = object_codec {
            if !filters.iter().any(|f| f.get("id").and_then(Value::as_str) == Some(id)) {
                filters.insert(0, json!({ "id": id }));
            }
        }
        if self.shard_shape.is_some() {
            return Err(Error::metadata(ZARRAY, "Zarr v2 has no shards"));
        }
        let mut builder = self.clone();
        if builder.v2_compressor.is_none() {
            builder.v2_compressor = self.compression.v2(self.data_type.size().unwrap_or(1));
        }
        let doc = v2::array_document(&builder, self.fill_json()?, &filters)?;
        v2::array_from_value(doc, Some(Value::Object(self.attributes.clone())), ".zarray", registry, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn shards_hold_the_chunks_with_the_compressor_inside() {
        let meta = ArrayBuilder::new(vec![100, 100], DataType::UInt16, vec![10, 10])
            .compression(Compression::Zstd { level: 0 })
            .shards(vec![50, 50])
            .build(ZarrFormat::V3)
            .unwrap();
        assert_eq!(meta.shard_shape(), Some(vec![50, 50]));
        assert_eq!(meta.chunk_shape(), Some(vec![10, 10]));
        let inner = meta.codecs.sharding().unwrap();
        assert_eq!(inner.codecs.bytes_to_bytes.len(), 1, "zstd inside the shard");
        assert!(ArrayBuilder::new(vec![4], DataType::UInt8, vec![2]).shards(vec![4]).build(ZarrFormat::V2).is_err());
    }

    #[test]
    fn v2_compressors_are_numcodecs_objects() {
        for (c, id) in [(Compression::BloscLz4, "blosc"), (Compression::Gzip { level: 5 }, "gzip")] {
            let meta =
                ArrayBuilder::new(vec![4], DataType::Float64, vec![2]).compression(c).build(ZarrFormat::V2).unwrap();
            assert_eq!(meta.document["compressor"]["id"], id);
        }
    }

    #[test]
    fn guessed_chunks_stay_under_the_target() {
        assert_eq!(ArrayBuilder::guess_chunks(&[10, 10], 8, 1 << 20), [10, 10]);
        let c = ArrayBuilder::guess_chunks(&[1024, 1024, 128], 2, 1 << 20);
        assert!(c.iter().product::<u64>() * 2 <= 1 << 20, "{c:?}");
        assert!(c.iter().product::<u64>() * 2 > 1 << 18, "{c:?}");
        assert_eq!(ArrayBuilder::guess_chunks(&[0, 5], 4, 16), [1, 3]);
    }
}
