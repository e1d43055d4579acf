//! The numcodecs `delta` filter: stores the first element, then adjacent differences.
//!
//! Matches numcodecs exactly: encoding takes `np.diff` in `dtype` (wrapping integer
//! arithmetic, rounded float arithmetic) and casts to `astype`; decoding casts every
//! element to `dtype` and accumulates in `dtype` (`np.cumsum(enc, out=dec)` accumulates
//! in the output type). The chunk is flattened in C order. Byte orders: see
//! [`crate::codec::astype`].

use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::astype::{cast_repr, check_same_endian, expect_dtype, fixed_elements, Num, NumType, V};
use crate::codec::ChunkRepr;
use crate::dtype::Endian;
use crate::error::{Error, Result};
use crate::ndarray::ArrayBytes;

const NAME: &str = "delta";

/// The `delta` array-to-array codec (numcodecs `Delta`).
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    dtype: NumType,
    astype: NumType,
}

/// `a + b` or `a - b` in `kind`'s arithmetic (numpy semantics; bool `+` is `or`, bool `-` is `!=`).
fn arith(kind: Num, a: V, b: V, add: bool) -> V {
    if kind.is_float() {
        let (a, b) = (a.to_f64(), b.to_f64());
        V::F(kind.round_float(if add { a + b } else { a - b }))
    } else {
        let (a, b) = (a.to_i128(), b.to_i128());
        kind.wrap(if add { a.wrapping_add(b) } else { a.wrapping_sub(b) })
    }
}

/// Casts `v` to `kind` (numpy `astype`) and returns the value as `kind` holds it.
fn cast(v: V, kind: Num, scratch: &mut Vec<u8>) -> V {
    scratch.clear();
    kind.write(v, scratch);
    kind.read(scratch)
}

impl Delta {
    /// The representation this codec produces from `decoded`: the same shape in `astype`.
    ///
    /// # Errors
    /// When `decoded` is not of the configured `dtype`.
    pub fn encoded_repr(&self, decoded: &ChunkRepr) -> Result<ChunkRepr> {
        cast_repr(NAME, decoded, self.dtype.kind, self.astype.kind)
    }

    /// The byte order declared by `astype` (or `dtype`); `None` for single-byte types.
    pub fn encoded_endian(&self) -> Option<Endian> {
        self.astype.endian.or(self.dtype.endian)
    }

    /// Decodes `data` into `decoded`'s representation.
    ///
    /// # Errors
    /// Data of the wrong type or length.
    pub fn decode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        expect_dtype(NAME, decoded, self.dtype.kind)?;
        let (from, to) = (self.astype.kind, self.dtype.kind);
        let src = fixed_elements(NAME, &data, from, decoded.num_elements())?;
        let mut out = Vec::with_capacity(src.len() / from.size() * to.size());
        let mut scratch = Vec::with_capacity(8);
        let mut acc: Option<V> = None;
        for e in src.chunks_exact(from.size()) {
            let x = cast(from.read(e), to, &mut scratch);
            let next = match acc {
                None => x,
                Some(a) => arith(to, a, x, true),
            };
            to.write(next, &mut out);
            acc = Some(next);
        }
        Ok(ArrayBytes::Fixed(out))
    }

    /// Encodes `data`, which is in `decoded`'s representation.
    ///
    /// # Errors
    /// Data of the wrong type or length.
    pub fn encode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        expect_dtype(NAME, decoded, self.dtype.kind)?;
        let (from, to) = (self.dtype.kind, self.astype.kind);
        let src = fixed_elements(NAME, &data, from, decoded.num_elements())?;
        let mut out = Vec::with_capacity(src.len() / from.size() * to.size());
        let mut prev: Option<V> = None;
        for e in src.chunks_exact(from.size()) {
            let x = from.read(e);
            let d = match prev {
                None => x,
                Some(p) => arith(from, x, p, false),
            };
            to.write(d, &mut out);
            prev = Some(x);
        }
        Ok(ArrayBytes::Fixed(out))
    }

    fn from_config(config: &Value) -> Result<Self> {
        let dtype = NumType::from_config(NAME, config, "dtype")?
            .ok_or_else(|| Error::codec(NAME, "configuration needs `dtype`"))?;
        let astype = NumType::from_config(NAME, config, "astype")?.unwrap_or(dtype);
        check_same_endian(NAME, dtype, astype)?;
        Ok(Delta { dtype, astype })
    }
}

impl Delta {
    /// Builds the codec from its v3 `configuration` object (`numcodecs.delta`: `dtype`, optional `astype`).
    ///
    /// # Errors
    /// Missing or non-numeric dtypes, or mixed byte orders.
    pub fn from_v3(configuration: Option<&serde_json::Value>) -> Result<Self> {
        Delta::from_config(configuration.unwrap_or(&Value::Null))
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        json!({"name": "numcodecs.delta", "configuration": {
            "dtype": self.dtype.numpy_str(), "astype": self.astype.numpy_str()}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "delta", "dtype", "astype"}`.
    ///
    /// # Errors
    /// As [`Delta::from_v3`].
    pub fn from_v2(config: &serde_json::Value) -> Result<Self> {
        Delta::from_config(config)
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        json!({"id": NAME, "dtype": self.dtype.numpy_str(), "astype": self.astype.numpy_str()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DataType;

    fn repr(n: u64, dtype: DataType) -> ChunkRepr {
        ChunkRepr { shape: alloc::vec![n], dtype, fill_value: crate::dtype::FillValue::default() }
    }

    #[test]
    fn numpy_reference_wrapping_and_widening() {
        // numcodecs.Delta(dtype='u1', astype='i2').encode([5, 3, 250]) == [5, -2, 247]
        // (the u1 difference 250-3 is computed in u1, then cast to i2).
        let c = Delta::from_v2(&json!({"id": "delta", "dtype": "|u1", "astype": "<i2"})).unwrap();
        let r = repr(3, DataType::UInt8);
        let enc = c.encode(ArrayBytes::Fixed(alloc::vec![5, 3, 250]), &r).unwrap();
        let want: Vec<u8> = [5i16, 254, 247].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(enc, ArrayBytes::Fixed(want));
        assert_eq!(c.decode(enc, &r).unwrap(), ArrayBytes::Fixed(alloc::vec![5, 3, 250]));
        // numcodecs.Delta(dtype='<i8', astype='|i1').decode(int8 [100, 100, 100]) == [100, 200, 300]
        let c = Delta::from_v2(&json!({"id": "delta", "dtype": "<i8", "astype": "|i1"})).unwrap();
        let dec = c.decode(ArrayBytes::Fixed(alloc::vec![100, 100, 100]), &repr(3, DataType::Int64)).unwrap();
        let want: Vec<u8> = [100i64, 200, 300].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(dec, ArrayBytes::Fixed(want));
    }

    #[test]
    fn metadata_and_errors() {
        let c = Delta::from_v3(Some(&json!({"dtype": "int32"}))).unwrap();
        assert_eq!(c.to_v2(), json!({"id": "delta", "dtype": "<i4", "astype": "<i4"}));
        assert!(Delta::from_v3(None).is_err());
        assert!(Delta::from_v2(&json!({"id": "delta", "dtype": "<i4", "astype": ">i4"})).is_err());
        assert!(c.decode(ArrayBytes::Fixed(alloc::vec![0; 4]), &repr(1, DataType::Int16)).is_err());
        assert!(c.decode(ArrayBytes::Fixed(alloc::vec![0; 5]), &repr(1, DataType::Int32)).is_err());
        assert_eq!(
            c.decode(ArrayBytes::Fixed(alloc::vec![]), &repr(0, DataType::Int32)).unwrap(),
            ArrayBytes::Fixed(alloc::vec![])
        );
    }
}
