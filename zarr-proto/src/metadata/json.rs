//! JSON helpers shared by the v2 and v3 parsers: bounded parsing and typed field access.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::limits::{self, Limits};

/// Parses one metadata document of at most `limits.max_metadata_bytes` bytes.
///
/// Python's `json.dumps` writes non-finite floats as the bare tokens `NaN`,
/// `Infinity` and `-Infinity` (zarr-python does so in attributes); those are not
/// JSON, so a document that fails to parse is retried with them quoted as strings.
/// Nesting is bounded by serde_json's recursion limit (128), so hostile documents
/// fail with an error instead of exhausting the stack.
pub(crate) fn parse_document(bytes: &[u8], key: &str, limits: &Limits) -> Result<Value> {
    limits::check("metadata document", bytes.len() as u64, limits.max_metadata_bytes)?;
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => Ok(v),
        Err(first) => match quote_non_finite(bytes) {
            Cow::Owned(fixed) => serde_json::from_slice::<Value>(&fixed)
                .map_err(|_| Error::metadata(key, format!("not valid JSON: {first}"))),
            Cow::Borrowed(_) => Err(Error::metadata(key, format!("not valid JSON: {first}"))),
        },
    }
}

/// Quotes the bare tokens `NaN`, `Infinity`, `-Infinity` outside strings.
fn quote_non_finite(bytes: &[u8]) -> Cow<'_, [u8]> {
    const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    let mut out: Option<Vec<u8>> = None;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if let Some(tok) = TOKENS.iter().find(|t| bytes[i..].starts_with(t)) {
            let buf = out.get_or_insert_with(|| bytes[..i].to_vec());
            buf.push(b'"');
            buf.extend_from_slice(tok);
            buf.push(b'"');
            i += tok.len();
            continue;
        }
        if let Some(buf) = out.as_mut() {
            buf.push(b);
        }
        i += 1;
    }
    match out {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(bytes),
    }
}

/// The document as an object.
pub(crate) fn object<'a>(v: &'a Value, key: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| Error::metadata(key, "the document must be a JSON object"))
}

/// A required field.
pub(crate) fn field<'a>(map: &'a Map<String, Value>, name: &str, key: &str) -> Result<&'a Value> {
    map.get(name).ok_or_else(|| Error::metadata(key, format!("missing `{name}`")))
}

/// A list of non-negative integers.
pub(crate) fn u64_list(v: &Value, name: &str, key: &str) -> Result<Vec<u64>> {
    let items = v.as_array().ok_or_else(|| Error::metadata(key, format!("`{name}` must be a list of integers")))?;
    items
        .iter()
        .map(|x| {
            x.as_u64().ok_or_else(|| Error::metadata(key, format!("`{name}` holds {x}, not a non-negative integer")))
        })
        .collect()
}

/// Checks that the element count of `shape` fits in a u64.
/// An array's extents: each must be a valid numpy index bound (at most `i64::MAX`,
/// as selections index with `i64`). Their product may overflow 64 bits: such an array
/// still reads where a selection is small, as zarr-python and tensorstore read it, and
/// everything a read or write touches is checked then.
pub(crate) fn check_array_shape(shape: &[u64], key: &str) -> Result<()> {
    match shape.iter().find(|&&n| n > i64::MAX as u64) {
        Some(n) => Err(Error::metadata(key, format!("`shape` extent {n} is larger than {}", i64::MAX))),
        None => Ok(()),
    }
}

pub(crate) fn check_shape(shape: &[u64], name: &str, key: &str) -> Result<()> {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .map(|_| ())
        .ok_or_else(|| Error::metadata(key, format!("`{name}` {shape:?} has more elements than fit in 64 bits")))
}

/// Chunk lengths: positive integers (zero only along an empty dimension), one per dimension of `shape`, whose element count fits in a u64.
pub(crate) fn chunk_shape(v: &Value, name: &str, shape: &[u64], key: &str) -> Result<Vec<u64>> {
    let chunks = u64_list(v, name, key)?;
    if chunks.len() != shape.len() {
        return Err(Error::metadata(
            key,
            format!("`{name}` has {} dimensions, `shape` has {}", chunks.len(), shape.len()),
        ));
    }
    // zarr-python writes a zero chunk length for a dimension of extent zero; allow only that.
    if let Some(d) = chunks.iter().zip(shape).position(|(&c, &n)| c == 0 && n > 0) {
        return Err(Error::metadata(key, format!("`{name}` has a zero length in dimension {d}")));
    }
    check_shape(&chunks, name, key)?;
    Ok(chunks)
}

/// Attributes: an object, or an empty map when absent.
pub(crate) fn attributes(v: Option<&Value>, key: &str) -> Result<Map<String, Value>> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(Error::metadata(key, "attributes must be a JSON object")),
    }
}

/// Dimension names: a list of strings or nulls, one per dimension.
pub(crate) fn dimension_names(v: Option<&Value>, ndim: usize, key: &str) -> Result<Option<Vec<Option<String>>>> {
    let items = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::metadata(key, "`dimension_names` must be a list")),
    };
    if items.len() != ndim {
        return Err(Error::metadata(
            key,
            format!("`dimension_names` has {} entries for {ndim} dimensions", items.len()),
        ));
    }
    items
        .iter()
        .map(|x| match x {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(Error::metadata(key, "`dimension_names` entries must be strings or null")),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Serializes a value as pretty JSON (the form zarr-python writes).
pub(crate) fn to_vec(v: &Value) -> Vec<u8> {
    // Serializing a `Value` to a Vec cannot fail: its keys are strings and it holds no
    // non-finite floats.
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_python_non_finite_tokens() {
        let doc = br#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN Infinity \" NaN"}"#;
        let v = parse_document(doc, "k", &Limits::default()).unwrap();
        assert_eq!(v["a"], "NaN");
        assert_eq!(v["b"][0], "Infinity");
        assert_eq!(v["b"][1], "-Infinity");
        assert_eq!(v["c"], "NaN Infinity \" NaN");
    }

    #[test]
    fn rejects_bad_json_and_big_documents() {
        assert!(matches!(parse_document(b"{", "k", &Limits::default()), Err(Error::InvalidMetadata { .. })));
        let small = Limits { max_metadata_bytes: 4, ..Limits::default() };
        assert!(matches!(parse_document(b"{ }   ", "k", &small), Err(Error::LimitExceeded { .. })));
        let deep = "[".repeat(100_000);
        assert!(parse_document(deep.as_bytes(), "k", &Limits::default()).is_err());
    }
}
