//! `zarr_rs.create` and `zarr_rs.create_group`: new nodes from Python, through the
//! core's [`ArrayBuilder`] (the same documents `zarr create` writes).

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::{Map, Value};
use zarr_blocking::proto::FillValue;
use zarr_blocking::{
    Array, ArrayBuilder, Compression, DataType, Group, GroupMetadata, Node, OpenOptions, Store, ZarrFormat,
};

use crate::errors::to_py;
use crate::options::StoreOptions;

/// What `zarr_rs.create` passes down, already plain Python values (the JSON parts as
/// JSON text, so that numpy scalars and NaN were settled on the Python side).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct ArraySpec {
    shape: Vec<u64>,
    /// A v3 name (`"float32"`) or a numpy dtype string (`"<f4"`).
    dtype: String,
    chunks: Option<Vec<u64>>,
    shards: Option<Vec<u64>>,
    /// `"zstd"`, `"blosc"`, `"gzip"` or `"none"`.
    compressor: String,
    /// JSON text of the fill value, `None` for the type's default.
    fill_value: Option<String>,
    zarr_format: u8,
    /// JSON text of an object.
    attributes: String,
    dimension_names: Option<Vec<Option<String>>>,
}

/// Target size of a chunk when the caller gives none (as `zarr create`).
const DEFAULT_CHUNK_BYTES: u64 = 1 << 20;

fn value_error(what: &str, e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{what}: {e}"))
}

fn parse_dtype(name: &str) -> PyResult<DataType> {
    if let Ok(t) = DataType::from_v3_json(&Value::String(name.into())) {
        return Ok(t);
    }
    DataType::from_v2_str(name).map(|(t, _)| t).map_err(|e| value_error(&format!("dtype {name:?}"), e))
}

fn format(zarr_format: u8) -> PyResult<ZarrFormat> {
    match zarr_format {
        2 => Ok(ZarrFormat::V2),
        3 => Ok(ZarrFormat::V3),
        n => Err(PyValueError::new_err(format!("zarr_format must be 2 or 3, not {n}"))),
    }
}

fn attributes(text: &str) -> PyResult<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PyValueError::new_err("attributes must be a dict")),
        Err(e) => Err(value_error("attributes are not JSON", e)),
    }
}

impl ArraySpec {
    fn builder(&self) -> PyResult<ArrayBuilder> {
        let dtype = parse_dtype(&self.dtype)?;
        let chunks = match &self.chunks {
            Some(c) if c.len() != self.shape.len() => {
                return Err(PyValueError::new_err(format!(
                    "chunks has {} dimensions, the shape {}",
                    c.len(),
                    self.shape.len()
                )))
            }
            Some(c) => c.clone(),
            None => ArrayBuilder::guess_chunks(&self.shape, dtype.size().unwrap_or(16), DEFAULT_CHUNK_BYTES),
        };
        let compression = match self.compressor.as_str() {
            "zstd" => Compression::Zstd { level: 0 },
            "blosc" => Compression::BloscLz4,
            "gzip" => Compression::Gzip { level: 5 },
            "none" => Compression::None,
            other => {
                return Err(PyValueError::new_err(format!(
                    "compressor must be \"zstd\", \"blosc\", \"gzip\" or None, not {other:?}"
                )))
            }
        };
        let fill_value = match &self.fill_value {
            None => None,
            Some(text) => {
                let json: Value = serde_json::from_str(text).map_err(|e| value_error("fill_value", e))?;
                Some(FillValue::from_json(&dtype, &json, false).map_err(|e| value_error("fill_value", e))?)
            }
        };
        let mut builder = ArrayBuilder::new(self.shape.clone(), dtype, chunks).compression(compression);
        builder.fill_value = fill_value;
        builder.attributes = attributes(&self.attributes)?;
        builder.dimension_names.clone_from(&self.dimension_names);
        if let Some(shards) = &self.shards {
            builder = builder.shards(shards.clone());
        }
        Ok(builder)
    }
}

/// The store `url` names with `options`, and the read concurrency they ask for.
fn store(py: Python<'_>, url: &str, options: &Bound<'_, PyAny>) -> PyResult<(Arc<dyn Store>, Option<usize>)> {
    let options = StoreOptions::from_py(options)?;
    let store = zarr_blocking::store_for_url_with(url, options.http, &options.s3).map_err(|e| to_py(py, e.into()))?;
    Ok((store, options.concurrency))
}

/// Creates an array at `path` in the store `url` names; returns a `NativeArray`.
///
/// # Errors
/// `ValueError` for an invalid spec (unknown dtype, chunks of the wrong rank, a fill
/// value the dtype cannot hold, shards with v2); `ContainsNodeError` when a node is
/// already there; `StoreError` when the store refuses the documents.
#[pyfunction]
pub(crate) fn create_array(
    py: Python<'_>,
    url: &str,
    path: &str,
    options: &Bound<'_, PyAny>,
    spec: ArraySpec,
) -> PyResult<Py<PyAny>> {
    let meta = spec.builder()?.build(format(spec.zarr_format)?).map_err(|e| to_py(py, e.into()))?;
    let (store, concurrency) = store(py, url, options)?;
    let array = py
        .detach(|| Array::create_with(store, path, meta, Arc::new(OpenOptions::default())))
        .map_err(|e| to_py(py, e))?;
    crate::wrap_node(py, Node::Array(array), concurrency)
}

/// Creates a group at `path` in the store `url` names; returns a `NativeGroup`.
///
/// # Errors
/// As for [`create_array`].
#[pyfunction]
pub(crate) fn create_group(
    py: Python<'_>,
    url: &str,
    path: &str,
    options: &Bound<'_, PyAny>,
    zarr_format: u8,
    attributes_json: &str,
) -> PyResult<Py<PyAny>> {
    let meta = GroupMetadata::new(format(zarr_format)?, attributes(attributes_json)?);
    let (store, concurrency) = store(py, url, options)?;
    let group = py.detach(|| Group::create(store, path, meta)).map_err(|e| to_py(py, e))?;
    crate::wrap_node(py, Node::Group(group), concurrency)
}
