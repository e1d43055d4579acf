//! Structured (record) data types: numpy's `[["a", "<i4"], ["b", "<f8", [2]]]` in zarr v2.
//!
//! A record is read and written as the raw bytes of its fields, packed in order
//! without padding (numpy's layout for a field list without offsets). Each field keeps
//! the byte order its type string declares, so records are never byte-swapped: the
//! bytes in memory are the bytes in the store, and the numpy dtype of a read is the
//! dtype in the metadata, as zarr-python returns it.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

use super::{DataType, Endian, MAX_ITEM_SIZE};
use crate::error::{Error, Result};

/// Deepest nesting of records within records accepted from metadata.
const MAX_DEPTH: usize = 16;

/// One field of a [`Structured`] type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field's name (unique within its record).
    pub name: String,
    /// The type of one element of the field.
    pub dtype: DataType,
    /// The byte order the field's type string declares (`None` for types without one).
    pub endian: Option<Endian>,
    /// The sub-array shape (`[]` for one element).
    pub shape: Vec<u64>,
}

/// A record type: named fields packed back to back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Structured {
    fields: Vec<Field>,
    size: usize,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::DataType { dtype: "structured".into(), reason: reason.into() }
}

impl Structured {
    /// A record of `fields`.
    ///
    /// # Errors
    /// No fields, duplicate names, variable-length field types, or a record of zero
    /// bytes or above the element size limit.
    pub fn new(fields: Vec<Field>) -> Result<Structured> {
        if fields.is_empty() {
            return Err(bad("a record needs at least one field"));
        }
        let mut names = BTreeSet::new();
        let mut size = 0usize;
        for f in &fields {
            if !names.insert(f.name.as_str()) {
                return Err(bad(format!("duplicate field name {:?}", f.name)));
            }
            let item = f.dtype.size().ok_or_else(|| bad(format!("field {:?} has variable length", f.name)))?;
            let count = f.shape.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n));
            size = count
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| n.checked_mul(item))
                .and_then(|n| n.checked_add(size))
                .filter(|&n| n <= MAX_ITEM_SIZE)
                .ok_or_else(|| bad(format!("record above the limit of {MAX_ITEM_SIZE} bytes")))?;
        }
        if size == 0 {
            return Err(bad("a record of zero bytes"));
        }
        Ok(Structured { fields, size })
    }

    /// The fields, in storage order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Bytes per record.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Parses a v2 field list: `[name, type]` or `[name, type, shape]` per field, where
    /// the type is a numpy type string or, nested, another field list.
    ///
    /// # Errors
    /// [`Error::DataType`] for malformed lists, [`Error::Unsupported`] for field types
    /// this crate lacks (objects), records nested deeper than 16.
    pub fn from_v2_json(items: &[Value]) -> Result<Structured> {
        Self::parse(items, 0)
    }

    fn parse(items: &[Value], depth: usize) -> Result<Structured> {
        if depth >= MAX_DEPTH {
            return Err(Error::Unsupported {
                kind: "data type",
                name: format!("records nested deeper than {MAX_DEPTH}"),
            });
        }
        let mut fields = Vec::with_capacity(items.len().min(1024));
        for item in items {
            let parts = item
                .as_array()
                .filter(|p| (2..=3).contains(&p.len()))
                .ok_or_else(|| bad("each field must be [name, type] or [name, type, shape]"))?;
            let name = parts[0].as_str().ok_or_else(|| bad("a field name must be a string"))?;
            let (dtype, endian) = match &parts[1] {
                Value::String(s) => {
                    if s.trim_start_matches(['|', '<', '>', '=']) == "O" {
                        return Err(Error::Unsupported { kind: "data type", name: format!("object field {name:?}") });
                    }
                    DataType::from_v2_str(s)?
                }
                Value::Array(inner) => (DataType::Structured(Structured::parse(inner, depth + 1)?), None),
                _ => return Err(bad(format!("the type of field {name:?} must be a string or a field list"))),
            };
            let shape = match parts.get(2) {
                None => Vec::new(),
                Some(Value::Array(dims)) => dims
                    .iter()
                    .map(Value::as_u64)
                    .collect::<Option<Vec<u64>>>()
                    .ok_or_else(|| bad(format!("the shape of field {name:?} must be non-negative integers")))?,
                // numpy also writes a bare integer for a one-dimensional sub-array.
                Some(n) => {
                    alloc::vec![n.as_u64().ok_or_else(|| bad(format!("the shape of field {name:?} must be a list")))?]
                }
            };
            fields.push(Field { name: name.into(), dtype, endian, shape });
        }
        Structured::new(fields)
    }

    /// The v2 field list, in the form zarr-python writes (shapes only where present).
    ///
    /// # Errors
    /// A field type v2 cannot name (`bfloat16`).
    pub fn to_v2_json(&self) -> Result<Value> {
        let mut out = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let dtype = match &f.dtype {
                DataType::Structured(inner) => inner.to_v2_json()?,
                other => Value::String(other.to_v2_str(f.endian)?),
            };
            let mut item = alloc::vec![Value::String(f.name.clone()), dtype];
            if !f.shape.is_empty() {
                item.push(Value::Array(f.shape.iter().map(|&n| Value::from(n)).collect()));
            }
            out.push(Value::Array(item));
        }
        Ok(Value::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Structured> {
        Structured::from_v2_json(v.as_array().unwrap())
    }

    #[test]
    fn fields_sizes_and_round_trip() {
        let doc = json!([["a", "<i4"], ["b", ">f8", [2]], ["c", "|S3"], ["n", [["x", "<u2"], ["y", "|b1"]]]]);
        let s = parse(doc.clone()).unwrap();
        assert_eq!(s.size(), 4 + 16 + 3 + 3);
        assert_eq!(s.fields()[1].endian, Some(Endian::Big));
        assert_eq!(s.fields()[1].shape, [2]);
        assert_eq!(s.to_v2_json().unwrap(), doc);
        assert_eq!(parse(json!([["a", "<i4", 3]])).unwrap().size(), 12);
        assert_eq!(parse(json!([["a", "<i4", []]])).unwrap().to_v2_json().unwrap(), json!([["a", "<i4"]]));
    }

    #[test]
    fn hostile_field_lists_are_errors() {
        let mut deep = json!([["x", "<i4"]]);
        for _ in 0..40 {
            deep = json!([["n", deep]]);
        }
        let many: Vec<Value> = (0..20000).map(|i| json!([format!("f{i}"), "<f8"])).collect();
        assert_eq!(Structured::from_v2_json(&many).unwrap().size(), 160_000);
        for bad in [
            json!([]),
            json!([["a"]]),
            json!([["a", "<i4", [1], 4]]),
            json!([[1, "<i4"]]),
            json!([["a", "<i4"], ["a", "<f8"]]),
            json!([["a", "|O"]]),
            json!([["a", 4]]),
            json!([["a", "<i4", [0]]]),
            json!([["a", []]]),
            json!([["a", "<i4", [-1]]]),
            json!([["a", "<f8", [1u64 << 40, 1u64 << 40]]]),
            json!([["a", "<f8", [u64::MAX, 2]]]),
            json!([["a", "|S1000000000"], ["b", "|S1000000000"], ["c", "|S1000000000"]]),
            json!(["a", "<i4"]),
            deep,
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
