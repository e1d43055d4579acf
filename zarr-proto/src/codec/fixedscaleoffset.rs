//! The numcodecs `fixedscaleoffset` filter: `round((x - offset) * scale)` stored as `astype`.
//!
//! Matches numcodecs under numpy 2's promotion rules (NEP 50), where the configured
//! `offset` and `scale` are "weak" Python scalars:
//! - encode: for a float `dtype` the arithmetic runs in that float type; for an integer
//!   `dtype`, an integer `offset`/`scale` keeps the step in wrapping integer arithmetic
//!   and a float one promotes it to float64. The result is rounded half to even
//!   (`np.around`) and cast to `astype`.
//! - decode: `enc / scale + offset` runs in `astype` when that is a float type, otherwise
//!   in float64, then is cast to `dtype`.
//!
//! Byte orders: see [`crate::codec::astype`].

use alloc::format;
use alloc::vec::Vec;

use serde_json::{json, Number, Value};

use crate::codec::astype::{
    cast_repr, check_same_endian, expect_dtype, fixed_elements, round_ties_even, Num, NumType, V,
};
use crate::codec::ChunkRepr;
use crate::dtype::Endian;
use crate::error::{Error, Result};
use crate::ndarray::ArrayBytes;

const NAME: &str = "fixedscaleoffset";

/// A configured `offset` or `scale`: a Python int or float as written in JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PyNum {
    Int(i128),
    Float(f64),
}

impl PyNum {
    fn parse(config: &Value, key: &str) -> Result<PyNum> {
        match config.get(key) {
            Some(Value::Number(n)) => Ok(PyNum::from_number(n)),
            None => Err(Error::codec(NAME, format!("configuration needs `{key}`"))),
            Some(other) => Err(Error::codec(NAME, format!("`{key}` must be a number, got {other}"))),
        }
    }

    fn from_number(n: &Number) -> PyNum {
        if let Some(i) = n.as_i64() {
            PyNum::Int(i128::from(i))
        } else if let Some(u) = n.as_u64() {
            PyNum::Int(i128::from(u))
        } else {
            PyNum::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }

    fn to_f64(self) -> f64 {
        match self {
            PyNum::Int(i) => i as f64,
            PyNum::Float(f) => f,
        }
    }

    fn to_json(self) -> Value {
        match self {
            PyNum::Int(i) => {
                i64::try_from(i).map(Value::from).or_else(|_| u64::try_from(i).map(Value::from)).unwrap_or(Value::Null)
            }
            PyNum::Float(f) => Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null),
        }
    }
}

/// The `fixedscaleoffset` array-to-array codec (numcodecs `FixedScaleOffset`).
#[derive(Debug, Clone, PartialEq)]
pub struct FixedScaleOffset {
    offset: PyNum,
    scale: PyNum,
    dtype: NumType,
    astype: NumType,
}

/// The range of an integer kind, for numpy's "Python integer out of bounds" check.
fn int_range(kind: Num) -> (i128, i128) {
    match kind {
        Num::I8 => (i8::MIN.into(), i8::MAX.into()),
        Num::I16 => (i16::MIN.into(), i16::MAX.into()),
        Num::I32 => (i32::MIN.into(), i32::MAX.into()),
        Num::I64 => (i64::MIN.into(), i64::MAX.into()),
        Num::U8 => (0, u8::MAX.into()),
        Num::U16 => (0, u16::MAX.into()),
        Num::U32 => (0, u32::MAX.into()),
        _ => (0, u64::MAX.into()),
    }
}

impl FixedScaleOffset {
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

    /// Decodes `data` into `decoded`'s representation: `enc / scale + offset`, cast to `dtype`.
    ///
    /// # Errors
    /// Data of the wrong type or length.
    pub fn decode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        expect_dtype(NAME, decoded, self.dtype.kind)?;
        let (from, to) = (self.astype.kind, self.dtype.kind);
        let src = fixed_elements(NAME, &data, from, decoded.num_elements())?;
        // Float `astype` computes in its own precision; integers (and bool) promote to float64.
        let k = if from.is_float() { from } else { Num::F64 };
        let scale = k.round_float(self.scale.to_f64());
        let offset = k.round_float(self.offset.to_f64());
        let mut out = Vec::with_capacity(src.len() / from.size() * to.size());
        for e in src.chunks_exact(from.size()) {
            let x = from.read(e).to_f64();
            let y = k.round_float(k.round_float(x / scale) + offset);
            to.write(V::F(y), &mut out);
        }
        Ok(ArrayBytes::Fixed(out))
    }

    /// Encodes `data`, which is in `decoded`'s representation: `around((x - offset) * scale)`.
    ///
    /// # Errors
    /// Data of the wrong type or length, a bool `dtype`, or an integer `offset`/`scale`
    /// outside an integer `dtype`'s range (numpy raises `OverflowError`).
    pub fn encode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        expect_dtype(NAME, decoded, self.dtype.kind)?;
        let (from, to) = (self.dtype.kind, self.astype.kind);
        if from == Num::Bool {
            return Err(Error::Unsupported { kind: "codec", name: "fixedscaleoffset on bool data".into() });
        }
        let src = fixed_elements(NAME, &data, from, decoded.num_elements())?;
        if !from.is_float() {
            let (lo, hi) = int_range(from);
            for (key, v) in [("offset", self.offset), ("scale", self.scale)] {
                if let PyNum::Int(i) = v {
                    if i < lo || i > hi {
                        return Err(Error::codec(
                            NAME,
                            format!("{key} {i} is out of bounds for {}", from.dtype().name()),
                        ));
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(src.len() / from.size() * to.size());
        for e in src.chunks_exact(from.size()) {
            let x = from.read(e);
            let v = if from.is_float() {
                let off = from.round_float(self.offset.to_f64());
                let sc = from.round_float(self.scale.to_f64());
                V::F(round_ties_even(from.round_float(from.round_float(x.to_f64() - off) * sc)))
            } else {
                // Integer data: each step stays integer while its scalar is an int.
                let step1 = match self.offset {
                    PyNum::Int(o) => from.wrap(x.to_i128().wrapping_sub(o)),
                    PyNum::Float(o) => V::F(x.to_f64() - o),
                };
                match (step1, self.scale) {
                    (V::F(f), s) => V::F(round_ties_even(f * s.to_f64())),
                    (i, PyNum::Int(s)) => from.wrap(i.to_i128().wrapping_mul(s)),
                    (i, PyNum::Float(s)) => V::F(round_ties_even(i.to_f64() * s)),
                }
            };
            to.write(v, &mut out);
        }
        Ok(ArrayBytes::Fixed(out))
    }

    fn from_config(config: &Value) -> Result<Self> {
        let offset = PyNum::parse(config, "offset")?;
        let scale = PyNum::parse(config, "scale")?;
        let dtype = NumType::from_config(NAME, config, "dtype")?
            .ok_or_else(|| Error::codec(NAME, "configuration needs `dtype`"))?;
        let astype = NumType::from_config(NAME, config, "astype")?.unwrap_or(dtype);
        check_same_endian(NAME, dtype, astype)?;
        Ok(FixedScaleOffset { offset, scale, dtype, astype })
    }

    fn config(&self) -> serde_json::Map<alloc::string::String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("scale".into(), self.scale.to_json());
        m.insert("offset".into(), self.offset.to_json());
        m.insert("dtype".into(), self.dtype.numpy_str().into());
        m.insert("astype".into(), self.astype.numpy_str().into());
        m
    }
}

impl FixedScaleOffset {
    /// Builds the codec from its v3 `configuration` object (`numcodecs.fixedscaleoffset`).
    ///
    /// # Errors
    /// Missing `offset`/`scale`/`dtype`, non-numeric dtypes, or mixed byte orders.
    pub fn from_v3(configuration: Option<&serde_json::Value>) -> Result<Self> {
        FixedScaleOffset::from_config(configuration.unwrap_or(&Value::Null))
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        json!({"name": "numcodecs.fixedscaleoffset", "configuration": self.config()})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "fixedscaleoffset", ...}`.
    ///
    /// # Errors
    /// As [`FixedScaleOffset::from_v3`].
    pub fn from_v2(config: &serde_json::Value) -> Result<Self> {
        FixedScaleOffset::from_config(config)
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        let mut m = self.config();
        m.insert("id".into(), NAME.into());
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{DataType, FillValue};

    fn repr(n: u64, dtype: DataType) -> ChunkRepr {
        ChunkRepr { shape: alloc::vec![n], dtype, fill_value: FillValue::default() }
    }

    fn f64s(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    #[test]
    fn numcodecs_docstring_example() {
        // x = np.linspace(1000, 1001, 10); FixedScaleOffset(offset=1000, scale=10, dtype='f8', astype='u1')
        let c = FixedScaleOffset::from_v2(
            &json!({"id": "fixedscaleoffset", "offset": 1000, "scale": 10, "dtype": "<f8", "astype": "|u1"}),
        )
        .unwrap();
        let x: Vec<f64> = (0..10).map(|i| 1000.0 + f64::from(i) / 9.0).collect();
        let r = repr(10, DataType::Float64);
        let enc = c.encode(ArrayBytes::Fixed(f64s(&x)), &r).unwrap();
        assert_eq!(enc, ArrayBytes::Fixed(alloc::vec![0, 1, 2, 3, 4, 6, 7, 8, 9, 10]));
        let dec = c.decode(enc, &r).unwrap();
        let want = f64s(&[1000.0, 1000.1, 1000.2, 1000.3, 1000.4, 1000.6, 1000.7, 1000.8, 1000.9, 1001.0]);
        assert_eq!(dec, ArrayBytes::Fixed(want));
    }

    #[test]
    fn rounds_half_to_even() {
        let c = FixedScaleOffset::from_v2(
            &json!({"id": "fixedscaleoffset", "offset": 0, "scale": 1, "dtype": "<f8", "astype": "<i4"}),
        )
        .unwrap();
        let enc = c.encode(ArrayBytes::Fixed(f64s(&[0.5, 1.5, 2.5, -0.5, -1.5])), &repr(5, DataType::Float64)).unwrap();
        let want: Vec<u8> = [0i32, 2, 2, 0, -2].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(enc, ArrayBytes::Fixed(want));
    }

    #[test]
    fn integer_data_with_integer_parameters_wraps() {
        // FixedScaleOffset(offset=5, scale=3, dtype='i2', astype='i1'):
        // encode([1, 100, 200]) == [-12, 29, 73]; decode(i1 [1, 100, -100]) == i2 [5, 38, -28]
        let c = FixedScaleOffset::from_v2(
            &json!({"id": "fixedscaleoffset", "offset": 5, "scale": 3, "dtype": "<i2", "astype": "|i1"}),
        )
        .unwrap();
        let r = repr(3, DataType::Int16);
        let src: Vec<u8> = [1i16, 100, 200].iter().flat_map(|v| v.to_ne_bytes()).collect();
        let enc = c.encode(ArrayBytes::Fixed(src), &r).unwrap();
        assert_eq!(enc, ArrayBytes::Fixed([-12i8, 29, 73].iter().map(|&v| v as u8).collect()));
        let dec = c.decode(ArrayBytes::Fixed([1i8, 100, -100].iter().map(|&v| v as u8).collect()), &r).unwrap();
        let want: Vec<u8> = [5i16, 38, -28].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(dec, ArrayBytes::Fixed(want));
    }

    #[test]
    fn config_round_trip_and_errors() {
        let v = json!({"id": "fixedscaleoffset", "scale": 10.5, "offset": -3, "dtype": "<f4", "astype": "<u2"});
        let c = FixedScaleOffset::from_v2(&v).unwrap();
        assert_eq!(c.to_v2(), v);
        assert!(FixedScaleOffset::from_v2(&json!({"id": "fixedscaleoffset", "scale": 1, "dtype": "<f8"})).is_err());
        let u1 = FixedScaleOffset::from_v2(
            &json!({"id": "fixedscaleoffset", "offset": 1000, "scale": 1, "dtype": "|u1", "astype": "|u1"}),
        )
        .unwrap();
        assert!(u1.encode(ArrayBytes::Fixed(alloc::vec![1]), &repr(1, DataType::UInt8)).is_err());
    }
}
