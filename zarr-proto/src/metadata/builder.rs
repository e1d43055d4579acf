//! Building the metadata of a new array from resolved fields.

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{json, Map, Value};

use crate::codec::CodecRegistry;
use crate::dtype::{DataType, Endian, FillValue};
use crate::error::Result;
use crate::limits::Limits;
use crate::metadata::{v2, v3, ArrayMetadata, ChunkGrid, ChunkKeyEncoding, ZarrFormat};

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
        }
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
        let codecs = if self.codecs.is_empty() {
            alloc::vec![match self.data_type {
                DataType::String => json!({"name": "vlen-utf8", "configuration": {}}),
                DataType::Bytes => json!({"name": "vlen-bytes", "configuration": {}}),
                ref t if t.swap_unit() > 1 => json!({"name": "bytes", "configuration": {"endian": "little"}}),
                _ => json!({"name": "bytes"}),
            }]
        } else {
            self.codecs.clone()
        };
        let doc = v3::array_document(self, self.fill_json()?, codecs);
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
        let doc = v2::array_document(self, self.fill_json()?, &filters)?;
        v2::array_from_value(doc, Some(Value::Object(self.attributes.clone())), ".zarray", registry, limits)
    }
}
