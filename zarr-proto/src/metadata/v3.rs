//! Zarr v3: `zarr.json` for arrays and groups.
//!
//! Extension points (`data_type`, `chunk_grid`, `chunk_key_encoding`, codecs,
//! storage transformers) are accepted as objects `{"name", "configuration",
//! "must_understand"}` or as v3.1 short-hand names. Unknown top-level fields and
//! unknown codecs fail unless marked `"must_understand": false`; such fields stay in
//! the kept document, so serializing gives back what was read.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::{json, Map, Value};

use crate::codec::{AnyCodec, CodecChain, CodecRegistry};
use crate::dtype::{DataType, FillValue};
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::metadata::builder::ArrayBuilder;
use crate::metadata::chunk_grid::DimChunks;
use crate::metadata::consolidated::ConsolidatedMetadata;
use crate::metadata::json;
use crate::metadata::{ArrayMetadata, ChunkGrid, ChunkKeyEncoding, GroupMetadata, NodeMetadata, ZarrFormat};

/// Top-level fields of an array `zarr.json` that this crate understands.
const ARRAY_FIELDS: [&str; 11] = [
    "zarr_format",
    "node_type",
    "shape",
    "data_type",
    "chunk_grid",
    "chunk_key_encoding",
    "fill_value",
    "codecs",
    "attributes",
    "storage_transformers",
    "dimension_names",
];

/// Top-level fields of a group `zarr.json` that this crate understands.
const GROUP_FIELDS: [&str; 4] = ["zarr_format", "node_type", "attributes", "consolidated_metadata"];

/// An extension point entry: its name, configuration and `must_understand` flag.
struct Extension<'a> {
    name: &'a str,
    configuration: Option<&'a Map<String, Value>>,
    must_understand: bool,
}

fn extension<'a>(v: &'a Value, what: &str, key: &str) -> Result<Extension<'a>> {
    match v {
        Value::String(name) => Ok(Extension { name, configuration: None, must_understand: true }),
        Value::Object(map) => {
            let name = map
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::metadata(key, format!("`{what}` needs a string `name`")))?;
            let configuration = match map.get("configuration") {
                None => None,
                Some(Value::Object(c)) => Some(c),
                Some(_) => return Err(Error::metadata(key, format!("`{what}` configuration must be an object"))),
            };
            let must_understand = map.get("must_understand").and_then(Value::as_bool).unwrap_or(true);
            Ok(Extension { name, configuration, must_understand })
        }
        _ => Err(Error::metadata(key, format!("`{what}` must be a name or an object"))),
    }
}

/// Fails on unknown top-level fields unless they are objects with `"must_understand": false`.
fn check_fields(map: &Map<String, Value>, known: &[&str]) -> Result<()> {
    for (name, value) in map {
        if known.contains(&name.as_str()) {
            continue;
        }
        if value.get("must_understand") != Some(&Value::Bool(false)) {
            return Err(Error::Unsupported { kind: "metadata field", name: name.clone() });
        }
    }
    Ok(())
}

fn check_format(map: &Map<String, Value>, node_type: Option<&str>, key: &str) -> Result<()> {
    match map.get("zarr_format") {
        Some(v) if v.as_u64() == Some(3) => {}
        Some(v) => return Err(Error::metadata(key, format!("`zarr_format` is {v}, expected 3"))),
        None => return Err(Error::metadata(key, "missing `zarr_format`")),
    }
    if let Some(expected) = node_type {
        match map.get("node_type").and_then(Value::as_str) {
            Some(t) if t == expected => {}
            Some(t) => return Err(Error::metadata(key, format!("`node_type` is `{t}`, expected `{expected}`"))),
            None => return Err(Error::metadata(key, "missing string `node_type`")),
        }
    }
    Ok(())
}

/// Parses a v3 chunk grid (`regular` or `rectilinear`) for an array of `shape`.
///
/// Run-length encoded rectilinear lengths (`[size, count]`) are expanded into
/// explicit boundaries; the expansion is bounded by `limits.max_metadata_bytes`
/// (8 bytes per boundary). Chunks that start at or past the end of a dimension are
/// dropped, so the grid has the same number of chunks as a regular one would.
///
/// # Errors
/// Unknown grids, zero or negative lengths, a rank other than `shape`'s, lengths that do
/// not cover the array.
pub(crate) fn parse_chunk_grid(v: &Value, shape: &[u64], key: &str, limits: &Limits) -> Result<ChunkGrid> {
    let ext = extension(v, "chunk_grid", key)?;
    let config = |field: &str| -> Result<&Value> {
        ext.configuration
            .and_then(|c| c.get(field))
            .ok_or_else(|| Error::metadata(key, format!("chunk grid `{}` needs `{field}`", ext.name)))
    };
    let grid = match ext.name {
        "regular" => {
            ChunkGrid::Regular { chunk_shape: json::chunk_shape(config("chunk_shape")?, "chunk_shape", shape, key)? }
        }
        "rectilinear" => {
            if let Some(kind) = ext.configuration.and_then(|c| c.get("kind")) {
                if kind != "inline" {
                    return Err(Error::Unsupported { kind: "rectilinear chunk grid kind", name: kind.to_string() });
                }
            }
            let per_dim = config("chunk_shapes")?
                .as_array()
                .ok_or_else(|| Error::metadata(key, "`chunk_shapes` must be a list"))?;
            if per_dim.len() != shape.len() {
                return Err(Error::metadata(
                    key,
                    format!("`chunk_shapes` has {} dimensions, `shape` has {}", per_dim.len(), shape.len()),
                ));
            }
            let mut budget = limits.max_metadata_bytes / 8;
            let dims = per_dim
                .iter()
                .zip(shape)
                .enumerate()
                .map(|(d, (lengths, &extent))| rectilinear_dim(lengths, d, extent, &mut budget, key, limits))
                .collect::<Result<Vec<_>>>()?;
            ChunkGrid::Rectilinear { dims }
        }
        other => return Err(Error::Unsupported { kind: "chunk grid", name: other.into() }),
    };
    grid.validate(shape).map_err(|reason| Error::metadata(key, reason))?;
    Ok(grid)
}

fn rectilinear_dim(
    lengths: &Value,
    d: usize,
    extent: u64,
    budget: &mut u64,
    key: &str,
    limits: &Limits,
) -> Result<DimChunks> {
    let positive = |v: &Value| -> Result<u64> {
        v.as_u64()
            .filter(|&n| n > 0)
            .ok_or_else(|| Error::metadata(key, format!("chunk length {v} in dimension {d} is not a positive integer")))
    };
    let items = match lengths {
        Value::Number(_) => return Ok(DimChunks::Regular(positive(lengths)?)),
        Value::Array(items) => items,
        _ => return Err(Error::metadata(key, format!("`chunk_shapes[{d}]` must be an integer or a list"))),
    };
    let mut bounds = alloc::vec![0u64];
    let mut end = 0u64;
    let overflow = || Error::metadata(key, format!("chunk lengths in dimension {d} overflow"));
    for item in items {
        let (size, count) = match item {
            Value::Array(pair) if pair.len() == 2 => (
                positive(&pair[0])?,
                pair[1].as_u64().ok_or_else(|| {
                    Error::metadata(
                        key,
                        format!("run length {} in dimension {d} is not a non-negative integer", pair[1]),
                    )
                })?,
            ),
            Value::Array(_) => {
                return Err(Error::metadata(key, format!("run-length entry in dimension {d} must be [length, count]")))
            }
            other => (positive(other)?, 1),
        };
        // Chunks past the end of the array hold nothing: expand only up to the extent.
        let needed = count.min(extent.saturating_sub(end).div_ceil(size));
        if needed > *budget {
            return Err(Error::LimitExceeded {
                what: "rectilinear chunk boundaries",
                requested: needed.saturating_add(bounds.len() as u64).saturating_mul(8),
                limit: limits.max_metadata_bytes,
            });
        }
        *budget -= needed;
        for _ in 0..needed {
            end = end.checked_add(size).ok_or_else(overflow)?;
            bounds.push(end);
        }
    }
    Ok(DimChunks::Explicit(bounds))
}

/// The v3 JSON form of a chunk grid (rectilinear lengths run-length encoded).
pub(crate) fn chunk_grid_to_json(grid: &ChunkGrid) -> Value {
    match grid {
        ChunkGrid::Regular { chunk_shape } => json!({"name": "regular", "configuration": {"chunk_shape": chunk_shape}}),
        ChunkGrid::Rectilinear { dims } => {
            let shapes: Vec<Value> = dims
                .iter()
                .map(|dim| match dim {
                    DimChunks::Regular(n) => json!(n),
                    DimChunks::Explicit(bounds) => {
                        let mut runs: Vec<(u64, u64)> = Vec::new();
                        for w in bounds.windows(2) {
                            let len = w[1].saturating_sub(w[0]);
                            match runs.last_mut() {
                                Some((l, n)) if *l == len => *n += 1,
                                _ => runs.push((len, 1)),
                            }
                        }
                        Value::Array(
                            runs.into_iter().map(|(l, n)| if n == 1 { json!(l) } else { json!([l, n]) }).collect(),
                        )
                    }
                })
                .collect();
            json!({"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": shapes}})
        }
    }
}

/// Parses a v3 `chunk_key_encoding` (`default` or `v2`, with an optional separator).
pub(crate) fn parse_chunk_key_encoding(v: &Value, key: &str) -> Result<ChunkKeyEncoding> {
    let ext = extension(v, "chunk_key_encoding", key)?;
    let separator = |default: char| -> Result<char> {
        match ext.configuration.and_then(|c| c.get("separator")) {
            None => Ok(default),
            Some(Value::String(s)) if s == "/" => Ok('/'),
            Some(Value::String(s)) if s == "." => Ok('.'),
            Some(other) => Err(Error::metadata(key, format!("chunk key separator {other} is not \"/\" or \".\""))),
        }
    };
    match ext.name {
        "default" => Ok(ChunkKeyEncoding::Default { separator: separator('/')? }),
        "v2" => Ok(ChunkKeyEncoding::V2 { separator: separator('.')? }),
        other => Err(Error::Unsupported { kind: "chunk key encoding", name: other.into() }),
    }
}

/// The v3 JSON form of a chunk key encoding.
pub(crate) fn chunk_key_encoding_to_json(encoding: &ChunkKeyEncoding) -> Value {
    let (name, sep) = match encoding {
        ChunkKeyEncoding::Default { separator } => ("default", separator),
        ChunkKeyEncoding::V2 { separator } => ("v2", separator),
    };
    json!({"name": name, "configuration": {"separator": String::from(*sep)}})
}

/// Builds the codec chain of a v3 `codecs` list; unknown codecs marked
/// `"must_understand": false` are left out.
pub(crate) fn parse_codecs(v: &Value, registry: &CodecRegistry, key: &str) -> Result<CodecChain> {
    let entries = v.as_array().ok_or_else(|| Error::metadata(key, "`codecs` must be a list"))?;
    if entries.is_empty() {
        return Err(Error::metadata(key, "`codecs` is empty (an array->bytes codec is required)"));
    }
    let mut codecs: Vec<AnyCodec> = Vec::with_capacity(entries.len());
    for entry in entries {
        match registry.v3(entry) {
            Ok(c) => codecs.push(c),
            Err(Error::Unsupported { .. }) if !extension(entry, "codec", key)?.must_understand => {}
            Err(e) => return Err(e),
        }
    }
    CodecChain::from_codecs(codecs)
}

fn check_storage_transformers(v: Option<&Value>, key: &str) -> Result<()> {
    let entries = match v {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(Error::metadata(key, "`storage_transformers` must be a list")),
    };
    for entry in entries {
        let ext = extension(entry, "storage transformer", key)?;
        if ext.must_understand {
            return Err(Error::Unsupported { kind: "storage transformer", name: ext.name.into() });
        }
    }
    Ok(())
}

/// Parses an array `zarr.json` document.
pub(crate) fn array_from_value(
    doc: Value,
    key: &str,
    registry: &CodecRegistry,
    limits: &Limits,
) -> Result<ArrayMetadata> {
    let map = json::object(&doc, key)?;
    check_format(map, Some("array"), key)?;
    check_fields(map, &ARRAY_FIELDS)?;
    let shape = json::u64_list(json::field(map, "shape", key)?, "shape", key)?;
    json::check_array_shape(&shape, key)?;
    let data_type = DataType::from_v3_json(json::field(map, "data_type", key)?)?;
    if let Some(size) = data_type.size() {
        limits::check("data type element", size as u64, limits.max_chunk_bytes)?;
    }
    let chunk_grid = parse_chunk_grid(json::field(map, "chunk_grid", key)?, &shape, key, limits)?;
    let chunk_key_encoding = parse_chunk_key_encoding(json::field(map, "chunk_key_encoding", key)?, key)?;
    let fill_value = FillValue::from_json(&data_type, json::field(map, "fill_value", key)?, false)?;
    let mut codecs = parse_codecs(json::field(map, "codecs", key)?, registry, key)?;
    codecs.resolve_element_sizes(data_type.size().unwrap_or(1));
    check_storage_transformers(map.get("storage_transformers"), key)?;
    let attributes = json::attributes(map.get("attributes"), key)?;
    let dimension_names = json::dimension_names(map.get("dimension_names"), shape.len(), key)?;
    Ok(ArrayMetadata {
        zarr_format: ZarrFormat::V3,
        shape,
        data_type,
        chunk_grid,
        chunk_key_encoding,
        fill_value,
        codecs,
        attributes,
        dimension_names,
        document: doc,
    })
}

/// Parses a group `zarr.json` document, with its consolidated metadata.
pub(crate) fn group_from_value(
    doc: Value,
    key: &str,
    registry: &CodecRegistry,
    limits: &Limits,
) -> Result<GroupMetadata> {
    let map = json::object(&doc, key)?;
    check_format(map, Some("group"), key)?;
    check_fields(map, &GROUP_FIELDS)?;
    let attributes = json::attributes(map.get("attributes"), key)?;
    let consolidated = match map.get("consolidated_metadata") {
        None | Some(Value::Null) => None,
        Some(cm) => Some(ConsolidatedMetadata::from_v3_value(cm, key, registry, limits)?),
    };
    Ok(GroupMetadata { zarr_format: ZarrFormat::V3, attributes, consolidated, document: doc })
}

/// Parses a `zarr.json` document of either node type.
pub(crate) fn node_from_value(
    doc: Value,
    key: &str,
    registry: &CodecRegistry,
    limits: &Limits,
) -> Result<NodeMetadata> {
    let node_type = json::object(&doc, key)?.get("node_type").and_then(Value::as_str);
    match node_type {
        Some("array") => array_from_value(doc, key, registry, limits).map(NodeMetadata::Array),
        Some("group") => group_from_value(doc, key, registry, limits).map(NodeMetadata::Group),
        Some(other) => Err(Error::metadata(key, format!("unknown `node_type` `{other}`"))),
        None => Err(Error::metadata(key, "missing string `node_type`")),
    }
}

/// The `zarr.json` of a new array, in the field order zarr-python writes.
pub(crate) fn array_document(b: &ArrayBuilder, fill_value: Value, codecs: Vec<Value>) -> Value {
    let encoding = b.chunk_key_encoding.unwrap_or(ChunkKeyEncoding::Default { separator: '/' });
    let mut doc = Map::new();
    doc.insert("shape".into(), json!(b.shape));
    doc.insert("data_type".into(), b.data_type.to_v3_json());
    doc.insert("chunk_grid".into(), chunk_grid_to_json(&b.chunk_grid));
    doc.insert("chunk_key_encoding".into(), chunk_key_encoding_to_json(&encoding));
    doc.insert("fill_value".into(), fill_value);
    doc.insert("codecs".into(), Value::Array(codecs));
    doc.insert("attributes".into(), Value::Object(b.attributes.clone()));
    doc.insert("zarr_format".into(), json!(3));
    doc.insert("node_type".into(), json!("array"));
    doc.insert("storage_transformers".into(), json!([]));
    if let Some(names) = &b.dimension_names {
        doc.insert("dimension_names".into(), json!(names));
    }
    Value::Object(doc)
}
