//! The numcodecs `astype` filter: converts elements between numeric types.
//!
//! This module also holds the numeric element machinery shared by `delta` and
//! `fixedscaleoffset`: parsing numpy dtype strings and numpy's cast rules.
//!
//! Byte order: in memory every element is native byte order, and the `bytes` codec
//! after the filters writes the whole chunk in one byte order. A filter whose input and
//! output dtype strings declare different byte orders (`<f8` → `>u2`) cannot be
//! expressed that way and is rejected as [`Error::Unsupported`]; the byte order the
//! filter's output declares is available from `encoded_endian()` so metadata can choose
//! the matching `bytes` codec.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::ChunkRepr;
use crate::dtype::{DataType, Endian};
use crate::error::{Error, Result};
use crate::ndarray::ArrayBytes;

const NAME: &str = "astype";

/// A numeric element type a numcodecs filter can compute with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Num {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    F32,
    F64,
}

/// One element value, widened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum V {
    I(i64),
    U(u64),
    F(f64),
}

/// A numpy dtype as written in a filter configuration: kind plus declared byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumType {
    pub(crate) kind: Num,
    /// `None` for single-byte types and for names without a byte order (`"float64"`).
    pub(crate) endian: Option<Endian>,
}

impl Num {
    pub(crate) fn size(self) -> usize {
        use Num::*;
        match self {
            Bool | I8 | U8 => 1,
            I16 | U16 | F16 => 2,
            I32 | U32 | F32 => 4,
            I64 | U64 | F64 => 8,
        }
    }

    pub(crate) fn is_float(self) -> bool {
        matches!(self, Num::F16 | Num::F32 | Num::F64)
    }

    pub(crate) fn dtype(self) -> DataType {
        use Num::*;
        match self {
            Bool => DataType::Bool,
            I8 => DataType::Int8,
            I16 => DataType::Int16,
            I32 => DataType::Int32,
            I64 => DataType::Int64,
            U8 => DataType::UInt8,
            U16 => DataType::UInt16,
            U32 => DataType::UInt32,
            U64 => DataType::UInt64,
            F16 => DataType::Float16,
            F32 => DataType::Float32,
            F64 => DataType::Float64,
        }
    }

    /// The numpy type string without byte order, e.g. `i4`.
    fn code(self) -> &'static str {
        use Num::*;
        match self {
            Bool => "b1",
            I8 => "i1",
            I16 => "i2",
            I32 => "i4",
            I64 => "i8",
            U8 => "u1",
            U16 => "u2",
            U32 => "u4",
            U64 => "u8",
            F16 => "f2",
            F32 => "f4",
            F64 => "f8",
        }
    }

    /// Reads one native-order element.
    pub(crate) fn read(self, b: &[u8]) -> V {
        fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
            let mut a = [0u8; N];
            for (d, s) in a.iter_mut().zip(b) {
                *d = *s;
            }
            a
        }
        use Num::*;
        match self {
            Bool => V::U(u64::from(b.first().copied().unwrap_or(0) != 0)),
            I8 => V::I(i64::from(i8::from_ne_bytes(arr(b)))),
            I16 => V::I(i64::from(i16::from_ne_bytes(arr(b)))),
            I32 => V::I(i64::from(i32::from_ne_bytes(arr(b)))),
            I64 => V::I(i64::from_ne_bytes(arr(b))),
            U8 => V::U(u64::from(b.first().copied().unwrap_or(0))),
            U16 => V::U(u64::from(u16::from_ne_bytes(arr(b)))),
            U32 => V::U(u64::from(u32::from_ne_bytes(arr(b)))),
            U64 => V::U(u64::from_ne_bytes(arr(b))),
            F16 => V::F(f64::from(half::f16::from_bits(u16::from_ne_bytes(arr(b))))),
            F32 => V::F(f64::from(f32::from_ne_bytes(arr(b)))),
            F64 => V::F(f64::from_ne_bytes(arr(b))),
        }
    }

    /// Casts `v` to this type with numpy's `astype` rules and appends it, native order.
    pub(crate) fn write(self, v: V, out: &mut Vec<u8>) {
        use Num::*;
        match self {
            Bool => out.push(u8::from(match v {
                V::I(i) => i != 0,
                V::U(u) => u != 0,
                V::F(f) => f != 0.0,
            })),
            F16 => out.extend_from_slice(&half::f16::from_f64(v.to_f64()).to_bits().to_ne_bytes()),
            F32 => {
                let f = match v {
                    V::I(i) => i as f32,
                    V::U(u) => u as f32,
                    V::F(f) => f as f32,
                };
                out.extend_from_slice(&f.to_ne_bytes())
            }
            F64 => out.extend_from_slice(&v.to_f64().to_ne_bytes()),
            int => {
                let bits: u64 = match v {
                    V::I(i) => i as u64,
                    V::U(u) => u,
                    V::F(f) => float_to_int_bits(f, int),
                };
                out.extend_from_slice(&bits.to_le_bytes()[..int.size()]);
                if cfg!(target_endian = "big") {
                    let n = out.len();
                    out[n - int.size()..].reverse();
                }
            }
        }
    }

    /// Wraps an integer result to this (integer) type's width, as numpy's wrapping arithmetic does.
    pub(crate) fn wrap(self, v: i128) -> V {
        use Num::*;
        match self {
            I8 => V::I(i64::from(v as i8)),
            I16 => V::I(i64::from(v as i16)),
            I32 => V::I(i64::from(v as i32)),
            I64 => V::I(v as i64),
            U8 => V::U(u64::from(v as u8)),
            U16 => V::U(u64::from(v as u16)),
            U32 => V::U(u64::from(v as u32)),
            U64 => V::U(v as u64),
            Bool => V::U(u64::from(v != 0)),
            F16 | F32 | F64 => V::F(v as f64),
        }
    }

    /// Rounds a float result to this (float) type, as numpy's arithmetic in that type does.
    pub(crate) fn round_float(self, f: f64) -> f64 {
        match self {
            Num::F16 => f64::from(half::f16::from_f64(f)),
            Num::F32 => f64::from(f as f32),
            _ => f,
        }
    }

    pub(crate) fn from_dtype(dtype: &DataType) -> Option<Num> {
        use Num::*;
        Some(match dtype {
            DataType::Bool => Bool,
            DataType::Int8 => I8,
            DataType::Int16 => I16,
            DataType::Int32 => I32,
            DataType::Int64 => I64,
            DataType::UInt8 => U8,
            DataType::UInt16 => U16,
            DataType::UInt32 => U32,
            DataType::UInt64 => U64,
            DataType::Float16 => F16,
            DataType::Float32 => F32,
            DataType::Float64 => F64,
            _ => return None,
        })
    }
}

impl V {
    pub(crate) fn to_f64(self) -> f64 {
        match self {
            V::I(i) => i as f64,
            V::U(u) => u as f64,
            V::F(f) => f,
        }
    }

    pub(crate) fn to_i128(self) -> i128 {
        match self {
            V::I(i) => i128::from(i),
            V::U(u) => i128::from(u),
            V::F(f) => f as i128,
        }
    }
}

/// numpy's float → integer cast on x86-64: truncation toward zero when in range.
///
/// Out-of-range values and NaN are undefined behaviour in C and platform-specific in numpy;
/// this follows what the SSE conversion instructions numpy uses produce for the common
/// cases (`i32::MIN` for narrow targets, `i64::MIN` for wide ones, then truncation).
fn float_to_int_bits(f: f64, to: Num) -> u64 {
    let t = trunc(f);
    let via_i32 = || if (-2147483648.0..2147483648.0).contains(&t) { t as i32 } else { i32::MIN };
    let via_i64 = || if (-9.223372036854776e18..9.223372036854776e18).contains(&t) { t as i64 } else { i64::MIN };
    match to {
        Num::I8 | Num::I16 | Num::I32 | Num::U8 | Num::U16 => via_i32() as i64 as u64,
        Num::U64 if (9.223372036854776e18..1.8446744073709552e19).contains(&t) => t as u64,
        _ => via_i64() as u64,
    }
}

const SIGN: u64 = 1 << 63;

/// `|f|`, in `core` (no libm in `no_std`).
fn abs(f: f64) -> f64 {
    f64::from_bits(f.to_bits() & !SIGN)
}

/// `0.0` with the sign of `f`.
fn signed_zero(f: f64) -> f64 {
    f64::from_bits(f.to_bits() & SIGN)
}

/// `f64::trunc` for `no_std`: rounds toward zero, keeping the sign of zero.
pub(crate) fn trunc(f: f64) -> f64 {
    // 2^52: from here on every finite f64 is an integer.
    if f.is_nan() || abs(f) >= 4503599627370496.0 {
        return f;
    }
    let t = f as i64 as f64;
    if t == 0.0 {
        signed_zero(f)
    } else {
        t
    }
}

/// `f64::round_ties_even` (numpy's `np.around`) for `no_std`, keeping the sign of zero.
pub(crate) fn round_ties_even(f: f64) -> f64 {
    if f.is_nan() || abs(f) >= 4503599627370496.0 {
        return f;
    }
    let t = trunc(f);
    let frac = abs(f - t);
    let away = if f < 0.0 { t - 1.0 } else { t + 1.0 };
    let r = if frac > 0.5 || (frac == 0.5 && (t as i64) % 2 != 0) { away } else { t };
    if r == 0.0 {
        signed_zero(f)
    } else {
        r
    }
}

impl NumType {
    /// Parses a numpy dtype string (`"<i4"`, `"|u1"`, `"f8"`) or name (`"float64"`, `"uint8"`).
    pub(crate) fn parse(codec: &'static str, s: &str) -> Result<NumType> {
        let bad = || Error::Unsupported { kind: "data type", name: format!("{s} (in {codec})") };
        let (endian, rest) = match s.as_bytes().first() {
            Some(b'<') => (Some(Endian::Little), &s[1..]),
            Some(b'>') => (Some(Endian::Big), &s[1..]),
            Some(b'|' | b'=') => (None, &s[1..]),
            _ => (None, s),
        };
        use Num::*;
        let kind = match rest {
            "b1" | "?" | "bool" => Bool,
            "i1" | "int8" => I8,
            "i2" | "int16" => I16,
            "i4" | "int32" => I32,
            "i8" | "int64" => I64,
            "u1" | "uint8" => U8,
            "u2" | "uint16" => U16,
            "u4" | "uint32" => U32,
            "u8" | "uint64" => U64,
            "f2" | "float16" => F16,
            "f4" | "float32" => F32,
            "f8" | "float64" => F64,
            _ => return Err(bad()),
        };
        let endian = if kind.size() == 1 { None } else { endian };
        Ok(NumType { kind, endian })
    }

    /// Parses the dtype string at `key` of a configuration object.
    pub(crate) fn from_config(codec: &'static str, config: &Value, key: &str) -> Result<Option<NumType>> {
        match config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => NumType::parse(codec, s).map(Some),
            Some(other) => Err(Error::codec(codec, format!("`{key}` must be a dtype string, got {other}"))),
        }
    }

    /// The numpy type string (`.str`), e.g. `<i4` or `|u1`.
    pub(crate) fn numpy_str(self) -> String {
        let order = match (self.kind.size(), self.endian) {
            (1, _) => '|',
            (_, Some(Endian::Big)) => '>',
            (_, Some(Endian::Little)) => '<',
            (_, None) if Endian::NATIVE == Endian::Little => '<',
            (_, None) => '>',
        };
        format!("{order}{}", self.kind.code())
    }
}

/// Rejects an input/output pair whose declared byte orders differ (see the module docs).
pub(crate) fn check_same_endian(codec: &'static str, a: NumType, b: NumType) -> Result<()> {
    match (a.endian, b.endian) {
        (Some(x), Some(y)) if x != y => Err(Error::Unsupported {
            kind: "codec",
            name: format!("{codec} converting between byte orders ({} to {})", a.numpy_str(), b.numpy_str()),
        }),
        _ => Ok(()),
    }
}

/// Checks that a chunk's data type is the filter's declared input type.
/// The representation a numeric cast from `from` to `to` produces: same shape, the
/// fill value cast (zeros when it does not fit `from`). Shared by astype, delta and
/// fixedscaleoffset, whose encoded representations all are such a cast.
pub(crate) fn cast_repr(codec: &'static str, decoded: &ChunkRepr, from: Num, to: Num) -> Result<ChunkRepr> {
    expect_dtype(codec, decoded, from)?;
    let mut fill = Vec::with_capacity(to.size());
    if decoded.fill_value.0.len() == from.size() {
        to.write(from.read(&decoded.fill_value.0), &mut fill);
    } else {
        fill.resize(to.size(), 0);
    }
    Ok(ChunkRepr { shape: decoded.shape.clone(), dtype: to.dtype(), fill_value: crate::dtype::FillValue(fill) })
}

pub(crate) fn expect_dtype(codec: &'static str, repr: &ChunkRepr, want: Num) -> Result<()> {
    if Num::from_dtype(&repr.dtype) != Some(want) {
        return Err(Error::codec(
            codec,
            format!("configured for {} but the chunk's data type is {}", want.dtype().name(), repr.dtype.name()),
        ));
    }
    Ok(())
}

/// The fixed-size bytes of `data`, checked to hold `n` elements of `kind`.
pub(crate) fn fixed_elements<'a>(codec: &'static str, data: &'a ArrayBytes, kind: Num, n: u64) -> Result<&'a [u8]> {
    match data {
        ArrayBytes::Fixed(b) if (b.len() as u64) == n.saturating_mul(kind.size() as u64) => Ok(b),
        ArrayBytes::Fixed(b) => Err(Error::codec(
            codec,
            format!("chunk has {} bytes, expected {n} elements of {} bytes", b.len(), kind.size()),
        )),
        ArrayBytes::Variable(_) => Err(Error::codec(codec, "variable-length data is not numeric")),
    }
}

/// Casts every element of `src` from `from` to `to` (numpy `astype`).
pub(crate) fn cast_all(src: &[u8], from: Num, to: Num) -> Vec<u8> {
    if from == to {
        return src.to_vec();
    }
    let mut out = Vec::with_capacity(src.len() / from.size() * to.size());
    for e in src.chunks_exact(from.size()) {
        to.write(from.read(e), &mut out);
    }
    out
}

/// The `astype` array-to-array codec (numcodecs `AsType`).
#[derive(Debug, Clone, PartialEq)]
pub struct AsType {
    encode: NumType,
    decode: NumType,
}

impl AsType {
    /// The representation this codec produces from `decoded`: the same shape in `encode_dtype`.
    ///
    /// # Errors
    /// When `decoded` is not of the configured `decode_dtype`.
    pub fn encoded_repr(&self, decoded: &ChunkRepr) -> Result<ChunkRepr> {
        cast_repr(NAME, decoded, self.decode.kind, self.encode.kind)
    }

    /// The byte order declared by `encode_dtype` (`None` for single-byte or order-less types).
    pub fn encoded_endian(&self) -> Option<Endian> {
        self.encode.endian.or(self.decode.endian)
    }

    /// Decodes `data` into `decoded`'s representation.
    ///
    /// # Errors
    /// Data of the wrong type or length.
    pub fn decode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        expect_dtype(NAME, decoded, self.decode.kind)?;
        if self.encode.kind == self.decode.kind {
            fixed_elements(NAME, &data, self.encode.kind, decoded.num_elements())?;
            return Ok(data);
        }
        let src = fixed_elements(NAME, &data, self.encode.kind, decoded.num_elements())?;
        Ok(ArrayBytes::Fixed(cast_all(src, self.encode.kind, self.decode.kind)))
    }

    /// Encodes `data`, which is in `decoded`'s representation.
    ///
    /// # Errors
    /// Data of the wrong type or length.
    pub fn encode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        expect_dtype(NAME, decoded, self.decode.kind)?;
        if self.encode.kind == self.decode.kind {
            fixed_elements(NAME, &data, self.decode.kind, decoded.num_elements())?;
            return Ok(data);
        }
        let src = fixed_elements(NAME, &data, self.decode.kind, decoded.num_elements())?;
        Ok(ArrayBytes::Fixed(cast_all(src, self.decode.kind, self.encode.kind)))
    }

    fn from_config(config: &Value) -> Result<Self> {
        let encode = NumType::from_config(NAME, config, "encode_dtype")?
            .ok_or_else(|| Error::codec(NAME, "configuration needs `encode_dtype`"))?;
        let decode = NumType::from_config(NAME, config, "decode_dtype")?
            .ok_or_else(|| Error::codec(NAME, "configuration needs `decode_dtype`"))?;
        check_same_endian(NAME, decode, encode)?;
        Ok(AsType { encode, decode })
    }
}

impl AsType {
    /// Builds the codec from its v3 `configuration` object (`numcodecs.astype`).
    ///
    /// # Errors
    /// Missing or non-numeric dtypes, or mixed byte orders.
    pub fn from_v3(configuration: Option<&serde_json::Value>) -> Result<Self> {
        AsType::from_config(configuration.unwrap_or(&Value::Null))
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        json!({"name": "numcodecs.astype", "configuration": {
            "encode_dtype": self.encode.numpy_str(), "decode_dtype": self.decode.numpy_str()}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "astype", "encode_dtype", "decode_dtype"}`.
    ///
    /// # Errors
    /// As [`AsType::from_v3`].
    pub fn from_v2(config: &serde_json::Value) -> Result<Self> {
        AsType::from_config(config)
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        json!({"id": NAME, "encode_dtype": self.encode.numpy_str(), "decode_dtype": self.decode.numpy_str()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::FillValue;

    fn repr(n: u64, dtype: DataType) -> ChunkRepr {
        ChunkRepr { shape: alloc::vec![n], dtype, fill_value: FillValue::default() }
    }

    fn f64s(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    #[test]
    fn float_to_int_casts_match_numpy() {
        // np.array([300.0, -1.0, 1e10, nan, inf, -3.7, 3e9]).astype(...) with numpy 2.4 on x86-64.
        let src = f64s(&[300.0, -1.0, 1e10, f64::NAN, f64::INFINITY, -3.7, 3e9]);
        assert_eq!(cast_all(&src, Num::F64, Num::U8), [44, 255, 0, 0, 0, 253, 0]);
        let i4: Vec<i32> =
            cast_all(&src, Num::F64, Num::I32).chunks(4).map(|c| i32::from_ne_bytes(c.try_into().unwrap())).collect();
        assert_eq!(i4, [300, -1, i32::MIN, i32::MIN, i32::MIN, -3, i32::MIN]);
        let i8s: Vec<i64> =
            cast_all(&src, Num::F64, Num::I64).chunks(8).map(|c| i64::from_ne_bytes(c.try_into().unwrap())).collect();
        assert_eq!(i8s, [300, -1, 10_000_000_000, i64::MIN, i64::MIN, -3, 3_000_000_000]);
    }

    #[test]
    fn no_std_rounding_matches_std() {
        for f in
            [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, -0.3, 3.7, -3.7, 1e300, -0.0, 4503599627370497.0]
        {
            assert_eq!(round_ties_even(f).to_bits(), f.round_ties_even().to_bits(), "{f}");
            assert_eq!(trunc(f).to_bits(), f.trunc().to_bits(), "{f}");
        }
        assert!(round_ties_even(f64::NAN).is_nan());
        assert_eq!(round_ties_even(f64::NEG_INFINITY), f64::NEG_INFINITY);
    }

    #[test]
    fn numpy_reference_i8_to_i16_and_back() {
        // numcodecs.AsType(encode_dtype='i1', decode_dtype='<i2'): encode([100, 300, -2]) -> i1 [100, 44, -2]
        let c = AsType::from_v2(&json!({"id": "astype", "encode_dtype": "|i1", "decode_dtype": "<i2"})).unwrap();
        let r = repr(3, DataType::Int16);
        let src: Vec<u8> = [100i16, 300, -2].iter().flat_map(|v| v.to_ne_bytes()).collect();
        let enc = c.encode(ArrayBytes::Fixed(src), &r).unwrap();
        assert_eq!(enc, ArrayBytes::Fixed(alloc::vec![100, 44, 0xfe]));
        assert_eq!(c.encoded_repr(&r).unwrap().dtype, DataType::Int8);
        let dec = c.decode(enc, &r).unwrap();
        let want: Vec<u8> = [100i16, 44, -2].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(dec, ArrayBytes::Fixed(want));
        assert_eq!(c.to_v2(), json!({"id": "astype", "encode_dtype": "|i1", "decode_dtype": "<i2"}));
    }

    #[test]
    fn f64_to_f16_rounds_to_nearest() {
        let c = AsType::from_v3(Some(&json!({"encode_dtype": "float16", "decode_dtype": "float64"}))).unwrap();
        let r = repr(2, DataType::Float64);
        let enc = c.encode(ArrayBytes::Fixed(f64s(&[1.0 / 3.0, 70000.0])), &r).unwrap();
        // np.float16(1/3) == 0.33325195 (0x3555); 70000 overflows to inf (0x7c00).
        let want: Vec<u8> = [0x3555u16, 0x7c00].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(enc, ArrayBytes::Fixed(want));
    }

    #[test]
    fn rejects_mixed_byte_order_and_wrong_dtype() {
        let mixed = json!({"id": "astype", "encode_dtype": ">i4", "decode_dtype": "<f8"});
        assert!(matches!(AsType::from_v2(&mixed), Err(Error::Unsupported { .. })));
        assert!(AsType::from_v2(&json!({"id": "astype", "encode_dtype": "<c8", "decode_dtype": "<f8"})).is_err());
        let c = AsType::from_v2(&json!({"id": "astype", "encode_dtype": "<i4", "decode_dtype": "<f8"})).unwrap();
        assert!(c.encoded_repr(&repr(1, DataType::Int32)).is_err());
        assert!(c.decode(ArrayBytes::Fixed(alloc::vec![0; 3]), &repr(1, DataType::Float64)).is_err());
        assert_eq!(c.encoded_endian(), Some(Endian::Little));
    }
}
