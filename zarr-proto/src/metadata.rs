//! Array and group metadata of Zarr v2 and v3, parsed into one resolved form.
//!
//! Each parsed node keeps the JSON document it came from, so serializing it gives
//! back exactly what was read (unknown optional fields included). The resolved
//! fields (data type, chunk grid, codec chain, fill value) are what the rest of the
//! crate works with, whatever the format version.

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value};

use crate::codec::CodecRegistry;
use crate::codec::{ChunkRepr, CodecChain};
use crate::dtype::{DataType, FillValue};
use crate::error::{Error, Result};
use crate::limits::Limits;

pub mod chunk_grid;
pub mod chunk_key;
pub mod consolidated;
pub mod v2;
pub mod v3;

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
        let _ = (bytes, registry, limits);
        Err(Error::metadata("zarr.json", "not implemented yet"))
    }

    /// Parses a v2 `.zarray` and its optional `.zattrs`.
    pub fn from_v2_json(
        zarray: &[u8],
        zattrs: Option<&[u8]>,
        registry: &CodecRegistry,
        limits: &Limits,
    ) -> Result<Self> {
        let _ = (zarray, zattrs, registry, limits);
        Err(Error::metadata(".zarray", "not implemented yet"))
    }

    /// Serializes the document this metadata came from (`zarr.json` or `.zarray`).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.document).unwrap_or_default()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Chunk key (relative to the array) of the chunk at grid index `chunk`.
    pub fn chunk_key(&self, chunk: &[u64]) -> String {
        self.chunk_key_encoding.key(chunk)
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
    pub fn from_v3_json(bytes: &[u8], registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        let _ = (bytes, registry, limits);
        Err(Error::metadata("zarr.json", "not implemented yet"))
    }

    /// Parses a v2 `.zgroup` and its optional `.zattrs`.
    pub fn from_v2_json(zgroup: &[u8], zattrs: Option<&[u8]>, limits: &Limits) -> Result<Self> {
        let _ = (zgroup, zattrs, limits);
        Err(Error::metadata(".zgroup", "not implemented yet"))
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
    pub fn from_v3_json(bytes: &[u8], registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        let _ = (bytes, registry, limits);
        Err(Error::metadata("zarr.json", "not implemented yet"))
    }
}
