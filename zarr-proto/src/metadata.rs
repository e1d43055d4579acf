//! Array and group metadata of Zarr v2 and v3, parsed into one resolved form.
//!
//! Each parsed node keeps the JSON document it came from, so serializing it gives
//! back exactly what was read (unknown optional fields included). The resolved
//! fields (data type, chunk grid, codec chain, fill value) are what the rest of the
//! crate works with, whatever the format version.

use alloc::string::String;
use alloc::vec::Vec;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::codec::CodecRegistry;
use crate::codec::{ChunkRepr, CodecChain};
use crate::dtype::{DataType, FillValue};
use crate::error::Result;
use crate::limits::Limits;

pub(crate) mod builder;
pub(crate) mod chunk_grid;
pub(crate) mod chunk_key;
mod chunks;
pub(crate) mod consolidated;
mod json;
pub(crate) mod update;
pub(crate) mod v2;
pub(crate) mod v3;

pub use builder::ArrayBuilder;
pub use chunk_grid::ChunkGrid;
pub use chunk_key::ChunkKeyEncoding;

/// Zarr format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZarrFormat {
    /// Zarr v2 (`.zarray`, `.zgroup`, `.zattrs`).
    V2,
    /// Zarr v3 (`zarr.json`).
    V3,
}

/// The metadata of one array, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayMetadata {
    /// Which format the array is stored in.
    pub zarr_format: ZarrFormat,
    /// Extent of each dimension.
    pub shape: Vec<u64>,
    /// Element type (in-memory elements are native byte order).
    pub data_type: DataType,
    /// How the array is split into chunks.
    pub chunk_grid: ChunkGrid,
    /// How chunk grid indices become store keys.
    pub chunk_key_encoding: ChunkKeyEncoding,
    /// Value of elements in chunks that were never written.
    pub fill_value: FillValue,
    /// The codecs of one chunk, v2 filters/compressor/order/endianness included.
    pub codecs: CodecChain,
    /// User attributes (v3 `attributes`, v2 `.zattrs`).
    pub attributes: Map<String, Value>,
    /// Optional names of the dimensions.
    pub dimension_names: Option<Vec<Option<String>>>,
    /// The metadata document as read (`zarr.json`, or `.zarray` for v2).
    pub document: Value,
}

impl ArrayMetadata {
    /// Parses a v3 array `zarr.json`.
    ///
    /// # Errors
    /// Malformed JSON, a group document, unknown required extensions, unsupported codecs.
    pub fn from_v3_json(bytes: &[u8], registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        let doc = json::parse_document(bytes, ZARR_JSON, limits)?;
        v3::array_from_value(doc, ZARR_JSON, registry, limits)
    }

    /// Parses a v2 `.zarray` and its optional `.zattrs`.
    ///
    /// # Errors
    /// Malformed JSON, unsupported data types or codecs, documents above `limits`.
    pub fn from_v2_json(
        zarray: &[u8],
        zattrs: Option<&[u8]>,
        registry: &CodecRegistry,
        limits: &Limits,
    ) -> Result<Self> {
        let doc = json::parse_document(zarray, ZARRAY, limits)?;
        let attrs = zattrs.map(|b| json::parse_document(b, ZATTRS, limits)).transpose()?;
        v2::array_from_value(doc, attrs, ZARRAY, registry, limits)
    }

    /// A new v3 array from resolved fields (see [`ArrayBuilder`]).
    ///
    /// # Errors
    /// When the fields do not make a valid document.
    pub fn new_v3(builder: &ArrayBuilder, registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        builder.build_v3(registry, limits)
    }

    /// A new v2 array from resolved fields (see [`ArrayBuilder`]).
    ///
    /// # Errors
    /// When the fields do not make a valid document, or v2 cannot express them.
    pub fn new_v2(builder: &ArrayBuilder, registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        builder.build_v2(registry, limits)
    }

    /// Serializes the document this metadata came from (`zarr.json` or `.zarray`).
    pub fn to_json(&self) -> Vec<u8> {
        json::to_vec(&self.document)
    }

    /// The v2 `.zattrs` document (the attributes); v3 keeps attributes inside `zarr.json`.
    pub fn zattrs_json(&self) -> Vec<u8> {
        json::to_vec(&Value::Object(self.attributes.clone()))
    }

    /// The store key of this array's metadata document, relative to the array.
    pub fn metadata_key(&self) -> &'static str {
        match self.zarr_format {
            ZarrFormat::V2 => ZARRAY,
            ZarrFormat::V3 => ZARR_JSON,
        }
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The shape of a chunk: the inner chunk when sharded, the chunk otherwise.
    ///
    /// This is the unit a reader decodes (zarr-python's `Array.chunks`). `None` when the
    /// chunks have no single shape (a rectilinear grid without sharding).
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::{ArrayBuilder, ZarrFormat};
    /// use zarr_proto::{ArrayMetadata, CodecRegistry, DataType, Limits};
    /// let b = ArrayBuilder::new(vec![100, 60], DataType::Float32, vec![10, 20]);
    /// let meta = ArrayMetadata::new_v3(&b, &CodecRegistry::default(), &Limits::default()).unwrap();
    /// assert_eq!(meta.chunk_shape(), Some(vec![10, 20]));
    /// assert_eq!(meta.shard_shape(), None);
    /// assert_eq!(meta.chunk_grid_shape(), vec![10, 3]);
    /// ```
    pub fn chunk_shape(&self) -> Option<Vec<u64>> {
        match (self.codecs.sharding(), &self.chunk_grid) {
            (Some(sharding), _) => Some(sharding.chunk_shape.clone()),
            (None, ChunkGrid::Regular { chunk_shape }) => Some(chunk_shape.clone()),
            (None, ChunkGrid::Rectilinear { .. }) => None,
        }
    }

    /// The shape of a shard (the chunk grid's chunk) when the array is sharded.
    ///
    /// This is the unit stored under one key (zarr-python's `Array.shards`). `None` when
    /// the array is not sharded, or its shards have no single shape (a rectilinear grid).
    pub fn shard_shape(&self) -> Option<Vec<u64>> {
        match (self.codecs.sharding(), &self.chunk_grid) {
            (Some(_), ChunkGrid::Regular { chunk_shape }) => Some(chunk_shape.clone()),
            _ => None,
        }
    }

    /// Number of chunks of the chunk grid along each dimension: stored objects, so
    /// shards when the array is sharded.
    pub fn chunk_grid_shape(&self) -> Vec<u64> {
        self.chunk_grid.grid_shape(&self.shape)
    }

    /// Chunk key (relative to the array) of the chunk at grid index `chunk`.
    pub fn chunk_key(&self, chunk: &[u64]) -> String {
        self.chunk_key_encoding.key(chunk)
    }

    /// The fill value as JSON, in the form zarr-python writes in v3 metadata.
    ///
    /// Numbers are numbers; non-finite floats are `"NaN"`, `"Infinity"`, `"-Infinity"`;
    /// booleans are booleans; complex numbers are `[re, im]`; strings are strings;
    /// byte strings are base64. A v3 array gives back its document's `fill_value`
    /// exactly as read; a v2 array's value (whose `null` means a default) is written as
    /// zarr-python writes it when it converts the array to v3 (`NaT` as the integer,
    /// byte strings without NUL padding, raw bits as base64).
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::{ArrayMetadata, CodecRegistry, Limits};
    /// let zarray = br#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<f4", "fill_value": "NaN",
    ///     "order": "C", "filters": null, "compressor": null}"#;
    /// let meta = ArrayMetadata::from_v2_json(zarray, None, &CodecRegistry::default(), &Limits::default()).unwrap();
    /// assert_eq!(meta.fill_value_json(), serde_json::json!("NaN"));
    /// ```
    pub fn fill_value_json(&self) -> Value {
        if self.zarr_format == ZarrFormat::V3 {
            if let Some(v) = self.document.get("fill_value") {
                return v.clone();
            }
        }
        // Where zarr-python 3.1.6 differs from `FillValue::to_json` (which the builder
        // writes, and which zarr-python reads back): NaT as the integer, byte strings
        // without their NUL padding, raw bits as base64 (testdata/metadata V3, S4, M8ns).
        let b = self.fill_value.as_bytes();
        match &self.data_type {
            DataType::DateTime64 { .. } | DataType::TimeDelta64 { .. } if b.len() == 8 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::from(i64::from_ne_bytes(a))
            }
            DataType::FixedBytes(_) => {
                let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
                Value::String(B64.encode(&b[..end]))
            }
            DataType::RawBits(_) => Value::String(B64.encode(b)),
            // Parsing checked the value against the type, so this only fails for a value
            // assembled by hand with the wrong size; `null` is what v2 writes for "none".
            dtype => self.fill_value.to_json(dtype).unwrap_or(Value::Null),
        }
    }

    /// The representation of the stored chunk at grid index `chunk` (its full shape, never clipped).
    ///
    /// # Errors
    /// When `chunk` is outside the grid.
    pub fn chunk_repr(&self, chunk: &[u64]) -> Result<ChunkRepr> {
        Ok(ChunkRepr {
            shape: self.chunk_grid.chunk_shape(chunk)?,
            dtype: self.data_type.clone(),
            fill_value: self.fill_value.clone(),
        })
    }
}

/// The metadata of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMetadata {
    /// Which format the group is stored in.
    pub zarr_format: ZarrFormat,
    /// User attributes.
    pub attributes: Map<String, Value>,
    /// Metadata of every node below, when the group carries consolidated metadata.
    pub consolidated: Option<consolidated::ConsolidatedMetadata>,
    /// The metadata document as read (`zarr.json`, or `.zgroup` for v2).
    pub document: Value,
}

impl GroupMetadata {
    /// Parses a v3 group `zarr.json` (with `consolidated_metadata` when present).
    ///
    /// Nodes of the consolidated metadata that use unsupported codecs or data types are
    /// left out of [`GroupMetadata::consolidated`] (opening them directly says why).
    ///
    /// # Errors
    /// Malformed JSON, an array document, unknown required fields, malformed nodes.
    pub fn from_v3_json(bytes: &[u8], registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        let doc = json::parse_document(bytes, ZARR_JSON, limits)?;
        v3::group_from_value(doc, ZARR_JSON, registry, limits)
    }

    /// Parses a v2 `.zgroup` and its optional `.zattrs`.
    ///
    /// # Errors
    /// Malformed JSON, a `zarr_format` other than 2, documents above `limits`.
    pub fn from_v2_json(zgroup: &[u8], zattrs: Option<&[u8]>, limits: &Limits) -> Result<Self> {
        let doc = json::parse_document(zgroup, ZGROUP, limits)?;
        let attrs = zattrs.map(|b| json::parse_document(b, ZATTRS, limits)).transpose()?;
        v2::group_from_value(doc, attrs, ZGROUP)
    }

    /// A new group with `attributes` (v3 `zarr.json`, or v2 `.zgroup` plus `.zattrs`).
    pub fn new(zarr_format: ZarrFormat, attributes: Map<String, Value>) -> Self {
        let document = match zarr_format {
            ZarrFormat::V3 => serde_json::json!({
                "attributes": Value::Object(attributes.clone()),
                "zarr_format": 3,
                "node_type": "group",
            }),
            ZarrFormat::V2 => serde_json::json!({ "zarr_format": 2 }),
        };
        GroupMetadata { zarr_format, attributes, consolidated: None, document }
    }

    /// Serializes the document this metadata came from (`zarr.json` or `.zgroup`).
    pub fn to_json(&self) -> Vec<u8> {
        json::to_vec(&self.document)
    }

    /// The v2 `.zattrs` document (the attributes).
    pub fn zattrs_json(&self) -> Vec<u8> {
        json::to_vec(&Value::Object(self.attributes.clone()))
    }
}

/// An array or a group.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeMetadata {
    /// An array.
    Array(ArrayMetadata),
    /// A group.
    Group(GroupMetadata),
}

impl NodeMetadata {
    /// Parses a v3 `zarr.json`, array or group.
    ///
    /// # Errors
    /// As [`ArrayMetadata::from_v3_json`] and [`GroupMetadata::from_v3_json`].
    pub fn from_v3_json(bytes: &[u8], registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        let doc = json::parse_document(bytes, ZARR_JSON, limits)?;
        v3::node_from_value(doc, ZARR_JSON, registry, limits)
    }

    /// Serializes the node's metadata document.
    pub fn to_json(&self) -> Vec<u8> {
        match self {
            NodeMetadata::Array(a) => a.to_json(),
            NodeMetadata::Group(g) => g.to_json(),
        }
    }
}

/// Key of a v3 metadata document.
pub const ZARR_JSON: &str = "zarr.json";
/// Key of a v2 array metadata document.
pub const ZARRAY: &str = ".zarray";
/// Key of a v2 group metadata document.
pub const ZGROUP: &str = ".zgroup";
/// Key of v2 attributes.
pub const ZATTRS: &str = ".zattrs";
/// Key of v2 consolidated metadata.
pub const ZMETADATA: &str = ".zmetadata";

#[cfg(test)]
mod tests;
