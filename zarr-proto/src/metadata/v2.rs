//! Zarr v2: `.zarray`, `.zgroup`, `.zattrs`, and the mapping of a v2 array onto a codec chain.
//!
//! A v2 array becomes the same [`CodecChain`] a v3 array has: `order: "F"` is a
//! transpose (reversed dimensions) applied first, then the filters in order
//! (numcodecs ids, built by the registry), then the array->bytes codec (the
//! `vlen-utf8`/`vlen-bytes` filter of an object dtype, otherwise `bytes` with the
//! byte order of the dtype string), then the compressor.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{json, Map, Value};

use crate::codec::{
    self, AnyCodec, ArrayToArrayCodec, ArrayToBytesCodec, BytesToBytesCodec, ChunkRepr, CodecChain, CodecRegistry,
};
use crate::dtype::{DataType, Endian, FillValue, Structured};
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::metadata::{json, ArrayMetadata, ChunkGrid, ChunkKeyEncoding, GroupMetadata, ZarrFormat};

/// The numcodecs ids of object codecs, which serialize `|O` arrays.
const OBJECT_CODECS: [&str; 8] =
    ["vlen-utf8", "vlen-bytes", "vlen-array", "json", "json2", "msgpack", "msgpack2", "pickle"];

fn check_format(map: &Map<String, Value>, key: &str) -> Result<()> {
    match map.get("zarr_format") {
        Some(v) if v.as_u64() == Some(2) => Ok(()),
        Some(v) => Err(Error::metadata(key, format!("`zarr_format` is {v}, expected 2"))),
        None => Err(Error::metadata(key, "missing `zarr_format`")),
    }
}

/// The data type and declared byte order of a v2 `dtype` entry; `|O` is resolved by
/// its object codec among `filters`.
pub(crate) fn parse_dtype(dtype: &Value, filters: &[Value], key: &str) -> Result<(DataType, Option<Endian>)> {
    let s = match dtype {
        Value::String(s) => s.as_str(),
        Value::Array(fields) => return Ok((DataType::Structured(Structured::from_v2_json(fields)?), None)),
        _ => return Err(Error::metadata(key, "`dtype` must be a string")),
    };
    if s.trim_start_matches(['|', '<', '>', '=']) != "O" {
        return DataType::from_v2_str(s);
    }
    let object_codec = filters
        .iter()
        .filter_map(|f| f.get("id").and_then(Value::as_str))
        .find(|id| OBJECT_CODECS.contains(id))
        .ok_or_else(|| Error::Unsupported { kind: "data type", name: "|O without an object codec filter".into() })?;
    match object_codec {
        "vlen-utf8" => Ok((DataType::String, None)),
        "vlen-bytes" => Ok((DataType::Bytes, None)),
        other => Err(Error::Unsupported { kind: "object codec", name: other.into() }),
    }
}

/// Builds the codec chain of a v2 array (see the module documentation).
///
/// `chunk_shape` and `fill_value` let the chain work out the element size the
/// compressor sees (blosc shuffles by it), which filters such as `astype` change.
///
/// # Errors
/// Unknown codecs, a vlen filter on a fixed-size dtype, an object dtype without one,
/// filters the v3 kind order cannot express (an array filter after a bytes filter).
#[allow(clippy::too_many_arguments)]
pub(crate) fn codec_chain(
    dtype: &DataType,
    endian: Option<Endian>,
    order_f: bool,
    chunk_shape: &[u64],
    fill_value: &FillValue,
    filters: &[Value],
    compressor: Option<&Value>,
    registry: &CodecRegistry,
) -> Result<CodecChain> {
    let chain_error = |reason: String| Error::codec("codec chain", reason);
    let mut array_to_array: Vec<ArrayToArrayCodec> = Vec::new();
    if order_f && chunk_shape.len() > 1 {
        let order = (0..chunk_shape.len()).rev().collect();
        array_to_array.push(ArrayToArrayCodec::Transpose(codec::transpose::Transpose { order }));
    }
    let mut array_to_bytes: Option<ArrayToBytesCodec> = None;
    let mut bytes_to_bytes: Vec<BytesToBytesCodec> = Vec::new();
    for filter in filters {
        match registry.v2(filter)? {
            AnyCodec::ArrayToArray(c) => {
                if array_to_bytes.is_some() || !bytes_to_bytes.is_empty() {
                    return Err(chain_error(format!("array filter `{}` after a bytes filter", c.name())));
                }
                array_to_array.push(c);
            }
            AnyCodec::ArrayToBytes(c) => {
                if !dtype.is_variable() {
                    return Err(chain_error(format!("`{}` filter on fixed-size dtype {}", c.name(), dtype.name())));
                }
                if array_to_bytes.is_some() {
                    return Err(chain_error("more than one object codec filter".into()));
                }
                array_to_bytes = Some(c);
            }
            AnyCodec::BytesToBytes(c) => bytes_to_bytes.push(c),
        }
    }
    let array_to_bytes = match array_to_bytes {
        Some(c) => c,
        None if dtype.is_variable() => {
            return Err(chain_error(format!("{} data without an object codec", dtype.name())))
        }
        None => ArrayToBytesCodec::Bytes(codec::bytes::BytesCodec { endian }),
    };
    if let Some(compressor) = compressor {
        match registry.v2(compressor)? {
            AnyCodec::BytesToBytes(BytesToBytesCodec::Blosc(b)) => {
                // After a bytes filter (shuffle, crc32c) numcodecs hands blosc a uint8 buffer.
                let typesize = if bytes_to_bytes.is_empty() {
                    compressed_item_size(dtype, &array_to_array, chunk_shape, fill_value)
                } else {
                    1
                };
                bytes_to_bytes.push(BytesToBytesCodec::Blosc(b.with_typesize(typesize)));
            }
            AnyCodec::BytesToBytes(c) => bytes_to_bytes.push(c),
            _ => return Err(chain_error("the compressor is not a bytes-to-bytes codec".into())),
        }
    }
    Ok(CodecChain { array_to_array, array_to_bytes, bytes_to_bytes })
}

/// The element size of the array the compressor receives: the dtype after the array
/// filters (numcodecs passes the filtered array, so blosc shuffles by its item size);
/// 1 for variable-length data, which reaches the compressor as plain bytes.
fn compressed_item_size(
    dtype: &DataType,
    filters: &[ArrayToArrayCodec],
    chunk_shape: &[u64],
    fill_value: &FillValue,
) -> usize {
    let mut repr = ChunkRepr { shape: chunk_shape.to_vec(), dtype: dtype.clone(), fill_value: fill_value.clone() };
    for f in filters {
        match f.encoded_repr(&repr) {
            Ok(next) => repr = next,
            Err(_) => break,
        }
    }
    repr.dtype.size().unwrap_or(1)
}

/// The dimension names of the xarray convention (`_ARRAY_DIMENSIONS` in `.zattrs`), when well formed.
fn xarray_dimension_names(attributes: &Map<String, Value>, ndim: usize) -> Option<Vec<Option<String>>> {
    let names = attributes.get("_ARRAY_DIMENSIONS")?.as_array()?;
    if names.len() != ndim {
        return None;
    }
    names.iter().map(|n| n.as_str().map(|s| Some(String::from(s)))).collect()
}

fn list_or_null<'a>(map: &'a Map<String, Value>, name: &str, key: &str) -> Result<&'a [Value]> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Error::metadata(key, format!("`{name}` must be a list or null"))),
    }
}

/// Parses a `.zarray` document and its optional `.zattrs`.
pub(crate) fn array_from_value(
    doc: Value,
    zattrs: Option<Value>,
    key: &str,
    registry: &CodecRegistry,
    limits: &Limits,
) -> Result<ArrayMetadata> {
    let map = json::object(&doc, key)?;
    check_format(map, key)?;
    let shape = json::u64_list(json::field(map, "shape", key)?, "shape", key)?;
    json::check_array_shape(&shape, key)?;
    let chunks = json::chunk_shape(json::field(map, "chunks", key)?, "chunks", &shape, key)?;
    let filters = list_or_null(map, "filters", key)?;
    let (data_type, endian) = parse_dtype(json::field(map, "dtype", key)?, filters, key)?;
    if let Some(size) = data_type.size() {
        limits::check("data type element", size as u64, limits.max_chunk_bytes)?;
    }
    let fill_value = FillValue::from_json(&data_type, map.get("fill_value").unwrap_or(&Value::Null), true)?;
    let order_f = match map.get("order") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "C" => false,
        Some(Value::String(s)) if s == "F" => true,
        Some(other) => return Err(Error::metadata(key, format!("`order` is {other}, expected \"C\" or \"F\""))),
    };
    let separator = match map.get("dimension_separator") {
        None | Some(Value::Null) => '.',
        Some(Value::String(s)) if s == "." => '.',
        Some(Value::String(s)) if s == "/" => '/',
        Some(other) => {
            return Err(Error::metadata(key, format!("`dimension_separator` is {other}, expected \".\" or \"/\"")))
        }
    };
    let compressor = match map.get("compressor") {
        None | Some(Value::Null) => None,
        Some(c @ Value::Object(_)) => Some(c),
        Some(_) => return Err(Error::metadata(key, "`compressor` must be an object or null")),
    };
    let codecs = codec_chain(&data_type, endian, order_f, &chunks, &fill_value, filters, compressor, registry)?;
    let attributes = match zattrs {
        None => Map::new(),
        Some(v) => json::attributes(Some(&v), ".zattrs")?,
    };
    let dimension_names = xarray_dimension_names(&attributes, shape.len());
    Ok(ArrayMetadata {
        zarr_format: ZarrFormat::V2,
        shape,
        data_type,
        chunk_grid: ChunkGrid::Regular { chunk_shape: chunks },
        chunk_key_encoding: ChunkKeyEncoding::V2 { separator },
        fill_value,
        codecs,
        attributes,
        dimension_names,
        document: doc,
    })
}

/// Parses a `.zgroup` document and its optional `.zattrs`.
pub(crate) fn group_from_value(doc: Value, zattrs: Option<Value>, key: &str) -> Result<GroupMetadata> {
    check_format(json::object(&doc, key)?, key)?;
    let attributes = match zattrs {
        None => Map::new(),
        Some(v) => json::attributes(Some(&v), ".zattrs")?,
    };
    Ok(GroupMetadata { zarr_format: ZarrFormat::V2, attributes, consolidated: None, document: doc })
}

/// The `.zarray` of a new array, in the field order zarr-python writes.
pub(crate) fn array_document(
    b: &crate::metadata::builder::ArrayBuilder,
    fill_value: Value,
    filters: &[Value],
) -> Result<Value> {
    let ChunkGrid::Regular { chunk_shape } = &b.chunk_grid else {
        return Err(Error::Unsupported { kind: "chunk grid", name: "rectilinear in zarr v2".into() });
    };
    let separator = match b.chunk_key_encoding {
        None => '.',
        Some(ChunkKeyEncoding::V2 { separator }) => separator,
        Some(ChunkKeyEncoding::Default { .. }) => {
            return Err(Error::Unsupported { kind: "chunk key encoding", name: "default in zarr v2".into() })
        }
    };
    let mut doc = Map::new();
    doc.insert("shape".into(), json!(b.shape));
    doc.insert("chunks".into(), json!(chunk_shape));
    doc.insert("dtype".into(), b.data_type.to_v2_json(Some(b.v2_endian))?);
    doc.insert("fill_value".into(), fill_value);
    doc.insert("order".into(), json!(if b.v2_order_f { "F" } else { "C" }));
    doc.insert("filters".into(), if filters.is_empty() { Value::Null } else { Value::Array(filters.to_vec()) });
    doc.insert("dimension_separator".into(), Value::String(String::from(separator)));
    doc.insert("compressor".into(), b.v2_compressor.clone().unwrap_or(Value::Null));
    doc.insert("zarr_format".into(), json!(2));
    Ok(Value::Object(doc))
}
