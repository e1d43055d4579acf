//! Data types and fill values.
//!
//! In memory every element is stored in the machine's native byte order; the byte
//! order an array declares is a property of its encoding (the v3 `bytes` codec, or
//! the `<`/`>` of a v2 dtype string, which metadata turns into a `bytes` codec).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::error::{Error, Result};

/// Unit of a `numpy.datetime64` / `numpy.timedelta64` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum TimeUnit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
    Nanosecond,
    Picosecond,
    Femtosecond,
    Attosecond,
    Generic,
}

/// Byte order of an encoded element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub const NATIVE: Endian = if cfg!(target_endian = "little") { Endian::Little } else { Endian::Big };
}

/// The type of one array element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum DataType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float16,
    BFloat16,
    Float32,
    Float64,
    Complex64,
    Complex128,
    /// `r<N>`: N bits of uninterpreted data (N a multiple of 8).
    RawBits(usize),
    /// Fixed-length byte strings of this many bytes (v2 `|S<n>`, v3 `fixed_length_bytes`/`null_terminated_bytes`).
    FixedBytes(usize),
    /// Fixed-length UTF-32 strings of this many code points (v2 `<U<n>`, v3 `fixed_length_utf32`).
    FixedUtf32(usize),
    /// `numpy.datetime64` (v2 `M8[unit]`): an i64 count of `scale_factor` units.
    DateTime64 {
        unit: TimeUnit,
        scale_factor: u32,
    },
    /// `numpy.timedelta64` (v2 `m8[unit]`).
    TimeDelta64 {
        unit: TimeUnit,
        scale_factor: u32,
    },
    /// Variable-length UTF-8 strings.
    String,
    /// Variable-length byte strings.
    Bytes,
}

impl DataType {
    /// Size of one element in bytes, or `None` for variable-length types.
    pub fn size(&self) -> Option<usize> {
        use DataType::*;
        Some(match self {
            Bool | Int8 | UInt8 => 1,
            Int16 | UInt16 | Float16 | BFloat16 => 2,
            Int32 | UInt32 | Float32 => 4,
            Int64 | UInt64 | Float64 | Complex64 | DateTime64 { .. } | TimeDelta64 { .. } => 8,
            Complex128 => 16,
            RawBits(bits) => bits / 8,
            FixedBytes(n) => *n,
            FixedUtf32(n) => n.checked_mul(4)?,
            String | Bytes => return None,
        })
    }

    /// Whether elements have variable length (stored as [`ArrayBytes::Variable`](crate::ndarray::ArrayBytes::Variable)).
    pub fn is_variable(&self) -> bool {
        self.size().is_none()
    }

    /// Size of the unit whose bytes a byte-order swap reverses (1 = no swap).
    ///
    /// Complex numbers swap each half; UTF-32 swaps each code point; raw bits and
    /// byte strings never swap.
    pub fn swap_unit(&self) -> usize {
        use DataType::*;
        match self {
            Complex64 => 4,
            Complex128 => 8,
            FixedUtf32(_) => 4,
            RawBits(_) | FixedBytes(_) | Bool | Int8 | UInt8 | String | Bytes => 1,
            other => other.size().unwrap_or(1),
        }
    }

    /// A short human-readable name (the v3 name where there is one).
    pub fn name(&self) -> String {
        use alloc::format;
        use DataType::*;
        match self {
            Bool => "bool".into(),
            Int8 => "int8".into(),
            Int16 => "int16".into(),
            Int32 => "int32".into(),
            Int64 => "int64".into(),
            UInt8 => "uint8".into(),
            UInt16 => "uint16".into(),
            UInt32 => "uint32".into(),
            UInt64 => "uint64".into(),
            Float16 => "float16".into(),
            BFloat16 => "bfloat16".into(),
            Float32 => "float32".into(),
            Float64 => "float64".into(),
            Complex64 => "complex64".into(),
            Complex128 => "complex128".into(),
            RawBits(b) => format!("r{b}"),
            FixedBytes(n) => format!("fixed_length_bytes[{n}]"),
            FixedUtf32(n) => format!("fixed_length_utf32[{n}]"),
            DateTime64 { .. } => "numpy.datetime64".into(),
            TimeDelta64 { .. } => "numpy.timedelta64".into(),
            String => "string".into(),
            Bytes => "bytes".into(),
        }
    }
}

/// The value of chunks that were never written, as one element.
///
/// For fixed-size types: exactly [`DataType::size`] bytes in native byte order.
/// For variable-length types: the bytes of the value (UTF-8 for strings).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FillValue(pub Vec<u8>);

impl FillValue {
    /// The element's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

// ---------------------------------------------------------------------------
// Names: v3 `data_type` values and v2 (numpy) dtype strings.
// ---------------------------------------------------------------------------

/// Largest fixed element size accepted from metadata (the `fixed_length_utf32` limit of the
/// specification, 2^31 - 4 bytes); larger element sizes are rejected before any allocation.
pub const MAX_ITEM_SIZE: usize = 2_147_483_644;

impl TimeUnit {
    /// Parses a numpy unit code (`"ns"`, `"us"`, `"μs"`, `"generic"`, ...).
    pub fn from_code(code: &str) -> Option<TimeUnit> {
        use TimeUnit::*;
        Some(match code {
            "Y" => Year,
            "M" => Month,
            "W" => Week,
            "D" => Day,
            "h" => Hour,
            "m" => Minute,
            "s" => Second,
            "ms" => Millisecond,
            "us" | "μs" => Microsecond,
            "ns" => Nanosecond,
            "ps" => Picosecond,
            "fs" => Femtosecond,
            "as" => Attosecond,
            "generic" => Generic,
            _ => return None,
        })
    }

    /// The numpy unit code (`"us"` for microseconds, `"generic"` for no unit).
    pub fn code(&self) -> &'static str {
        use TimeUnit::*;
        match self {
            Year => "Y",
            Month => "M",
            Week => "W",
            Day => "D",
            Hour => "h",
            Minute => "m",
            Second => "s",
            Millisecond => "ms",
            Microsecond => "us",
            Nanosecond => "ns",
            Picosecond => "ps",
            Femtosecond => "fs",
            Attosecond => "as",
            Generic => "generic",
        }
    }
}

fn unsupported_dtype(name: impl Into<String>) -> Error {
    Error::Unsupported { kind: "data type", name: name.into() }
}

fn bad_dtype(name: &str, reason: impl Into<String>) -> Error {
    Error::DataType { dtype: name.into(), reason: reason.into() }
}

fn checked_len(name: &str, n: u64, unit: u64) -> Result<usize> {
    if n == 0 {
        return Err(bad_dtype(name, "length must be positive"));
    }
    match n.checked_mul(unit) {
        Some(bytes) if bytes <= MAX_ITEM_SIZE as u64 => usize::try_from(n).map_err(|_| bad_dtype(name, "too long")),
        _ => Err(bad_dtype(name, format!("element size above the limit of {MAX_ITEM_SIZE} bytes"))),
    }
}

impl DataType {
    /// Parses a v3 `data_type`: a name (`"float32"`, `"r16"`, `"string"`) or an extension
    /// object `{"name": ..., "configuration": {...}}` (datetime64, fixed-length strings, ...).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for unknown names, [`Error::DataType`] for bad configurations.
    pub fn from_v3_json(value: &Value) -> Result<DataType> {
        let (name, config) = match value {
            Value::String(s) => (s.as_str(), None),
            Value::Object(map) => {
                let name = map
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad_dtype("data_type", "extension object without a string `name`"))?;
                let config = match map.get("configuration") {
                    None => None,
                    Some(Value::Object(c)) => Some(c),
                    Some(_) => return Err(bad_dtype(name, "`configuration` must be an object")),
                };
                (name, config)
            }
            _ => return Err(bad_dtype("data_type", "must be a string or an object")),
        };
        let field = |key: &str| -> Result<&Value> {
            config.and_then(|c| c.get(key)).ok_or_else(|| bad_dtype(name, format!("configuration needs `{key}`")))
        };
        let length_bytes = || -> Result<u64> {
            field("length_bytes")?
                .as_u64()
                .ok_or_else(|| bad_dtype(name, "`length_bytes` must be a non-negative integer"))
        };
        use DataType::*;
        Ok(match name {
            "bool" => Bool,
            "int8" => Int8,
            "int16" => Int16,
            "int32" => Int32,
            "int64" => Int64,
            "uint8" => UInt8,
            "uint16" => UInt16,
            "uint32" => UInt32,
            "uint64" => UInt64,
            "float16" => Float16,
            "bfloat16" => BFloat16,
            "float32" => Float32,
            "float64" => Float64,
            "complex64" | "complex_float32" => Complex64,
            "complex128" | "complex_float64" => Complex128,
            "string" | "variable_length_utf8" => String,
            "bytes" | "variable_length_bytes" => Bytes,
            "numpy.datetime64" | "datetime64" | "numpy.timedelta64" | "timedelta64" => {
                let unit = field("unit")?
                    .as_str()
                    .and_then(TimeUnit::from_code)
                    .ok_or_else(|| bad_dtype(name, "`unit` must be a numpy time unit code"))?;
                let scale_factor = field("scale_factor")?
                    .as_u64()
                    .filter(|s| (1..=i32::MAX as u64).contains(s))
                    .ok_or_else(|| bad_dtype(name, "`scale_factor` must be an integer in [1, 2^31 - 1]"))?
                    as u32;
                if name.ends_with("datetime64") {
                    DateTime64 { unit, scale_factor }
                } else {
                    TimeDelta64 { unit, scale_factor }
                }
            }
            "fixed_length_utf32" => {
                let n = length_bytes()?;
                if n % 4 != 0 {
                    return Err(bad_dtype(name, "`length_bytes` must be a multiple of 4"));
                }
                FixedUtf32(checked_len(name, n / 4, 4)?)
            }
            "null_terminated_bytes" | "fixed_length_bytes" | "fixed-length-bytes" => {
                let n = match config.and_then(|c| c.get("length_bits")) {
                    Some(bits) => {
                        let bits = bits
                            .as_u64()
                            .filter(|b| b % 8 == 0)
                            .ok_or_else(|| bad_dtype(name, "`length_bits` must be a non-negative multiple of 8"))?;
                        bits / 8
                    }
                    None => length_bytes()?,
                };
                FixedBytes(checked_len(name, n, 1)?)
            }
            "raw_bytes" => RawBits(checked_len(name, length_bytes()?, 8)? * 8),
            other => match other.strip_prefix('r').map(str::parse::<u64>) {
                Some(Ok(bits)) if bits % 8 == 0 => RawBits(checked_len(other, bits / 8, 8)? * 8),
                Some(Ok(_)) => return Err(bad_dtype(other, "raw bits must be a multiple of 8")),
                _ => return Err(unsupported_dtype(other)),
            },
        })
    }

    /// The v3 `data_type` value, in the form zarr-python writes.
    pub fn to_v3_json(&self) -> Value {
        use DataType::*;
        let named = |name: &str, config: Value| json!({ "name": name, "configuration": config });
        match self {
            FixedUtf32(n) => named("fixed_length_utf32", json!({ "length_bytes": n.saturating_mul(4) })),
            FixedBytes(n) => named("null_terminated_bytes", json!({ "length_bytes": n })),
            DateTime64 { unit, scale_factor } => {
                named("numpy.datetime64", json!({ "unit": unit.code(), "scale_factor": scale_factor }))
            }
            TimeDelta64 { unit, scale_factor } => {
                named("numpy.timedelta64", json!({ "unit": unit.code(), "scale_factor": scale_factor }))
            }
            String => Value::String("string".into()),
            Bytes => Value::String("variable_length_bytes".into()),
            other => Value::String(other.name()),
        }
    }

    /// Parses a v2 (numpy) dtype string such as `"<f8"`, `"|S4"`, `">U3"`, `"<M8[10ms]"`.
    ///
    /// Returns the data type and the byte order the string declares (`None` when the
    /// type has no byte order). Object dtypes (`"|O"`) depend on the array's object
    /// codec and are resolved by the metadata parser, not here.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for types this crate lacks (`"|O"`, `"<f16"`, structured),
    /// [`Error::DataType`] for malformed strings or a missing byte order.
    pub fn from_v2_str(s: &str) -> Result<(DataType, Option<Endian>)> {
        let (order, body) = match s.as_bytes().first() {
            Some(b'<') => (Some(Endian::Little), &s[1..]),
            Some(b'>') => (Some(Endian::Big), &s[1..]),
            Some(b'=') => (Some(Endian::NATIVE), &s[1..]),
            Some(b'|') => (None, &s[1..]),
            _ => (None, s),
        };
        let mut chars = body.chars();
        let kind = chars.next().ok_or_else(|| bad_dtype(s, "empty dtype"))?;
        let rest = chars.as_str();
        let number = |what: &str| -> Result<u64> {
            rest.parse::<u64>().map_err(|_| bad_dtype(s, format!("expected a {what} after `{kind}`")))
        };
        use DataType::*;
        let dtype = match (kind, rest) {
            ('b', "1") | ('?', "") => Bool,
            ('i', "1") => Int8,
            ('i', "2") => Int16,
            ('i', "4") => Int32,
            ('i', "8") => Int64,
            ('u', "1") => UInt8,
            ('u', "2") => UInt16,
            ('u', "4") => UInt32,
            ('u', "8") => UInt64,
            ('f', "2") => Float16,
            ('f', "4") => Float32,
            ('f', "8") => Float64,
            ('c', "8") => Complex64,
            ('c', "16") => Complex128,
            ('S', _) => FixedBytes(checked_len(s, number("length")?, 1)?),
            ('U', _) => FixedUtf32(checked_len(s, number("length")?, 4)?),
            ('V', _) => RawBits(checked_len(s, number("length")?, 8)? * 8),
            ('M', _) | ('m', _) => {
                let (unit, scale_factor) = parse_v2_time(s, rest)?;
                if kind == 'M' {
                    DateTime64 { unit, scale_factor }
                } else {
                    TimeDelta64 { unit, scale_factor }
                }
            }
            _ => return Err(unsupported_dtype(s)),
        };
        let endian = if dtype.swap_unit() > 1 {
            Some(order.ok_or_else(|| bad_dtype(s, "multi-byte type without a byte order (`<` or `>`)"))?)
        } else {
            None
        };
        Ok((dtype, endian))
    }

    /// The v2 (numpy) dtype string for this type in byte order `endian` (little when `None`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for types v2 cannot express (`bfloat16`).
    pub fn to_v2_str(&self, endian: Option<Endian>) -> Result<String> {
        use DataType::*;
        let e = match endian.unwrap_or(Endian::Little) {
            Endian::Little => '<',
            Endian::Big => '>',
        };
        let time = |kind: char, unit: &TimeUnit, sf: u32| match (unit, sf) {
            (TimeUnit::Generic, _) => format!("{e}{kind}8"),
            (u, 1) => format!("{e}{kind}8[{}]", u.code()),
            (u, n) => format!("{e}{kind}8[{n}{}]", u.code()),
        };
        Ok(match self {
            Bool => "|b1".into(),
            Int8 => "|i1".into(),
            UInt8 => "|u1".into(),
            Int16 => format!("{e}i2"),
            Int32 => format!("{e}i4"),
            Int64 => format!("{e}i8"),
            UInt16 => format!("{e}u2"),
            UInt32 => format!("{e}u4"),
            UInt64 => format!("{e}u8"),
            Float16 => format!("{e}f2"),
            Float32 => format!("{e}f4"),
            Float64 => format!("{e}f8"),
            Complex64 => format!("{e}c8"),
            Complex128 => format!("{e}c16"),
            RawBits(bits) => format!("|V{}", bits / 8),
            FixedBytes(n) => format!("|S{n}"),
            FixedUtf32(n) => format!("{e}U{n}"),
            DateTime64 { unit, scale_factor } => time('M', unit, *scale_factor),
            TimeDelta64 { unit, scale_factor } => time('m', unit, *scale_factor),
            String | Bytes => "|O".into(),
            BFloat16 => return Err(unsupported_dtype("bfloat16 in zarr v2")),
        })
    }
}

/// `rest` is what follows `M`/`m`: `"8"`, `"8[ns]"`, `"8[10ms]"`.
fn parse_v2_time(s: &str, rest: &str) -> Result<(TimeUnit, u32)> {
    let rest = rest.strip_prefix('8').ok_or_else(|| bad_dtype(s, "datetime types are 8 bytes"))?;
    if rest.is_empty() {
        return Ok((TimeUnit::Generic, 1));
    }
    let inner = rest
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| bad_dtype(s, "expected `[unit]` after `8`"))?;
    let digits = inner.find(|c: char| !c.is_ascii_digit()).unwrap_or(inner.len());
    let (num, code) = inner.split_at(digits);
    let scale = if num.is_empty() { 1 } else { num.parse::<u32>().map_err(|_| bad_dtype(s, "bad scale factor"))? };
    if scale == 0 || scale > i32::MAX as u32 {
        return Err(bad_dtype(s, "scale factor must be in [1, 2^31 - 1]"));
    }
    let unit = TimeUnit::from_code(code).ok_or_else(|| bad_dtype(s, format!("unknown time unit `{code}`")))?;
    Ok((unit, scale))
}

// ---------------------------------------------------------------------------
// Fill values.
// ---------------------------------------------------------------------------

/// `NaT`: the smallest i64, numpy's "not a time".
pub const NAT: i64 = i64::MIN;

impl FillValue {
    /// The fill value zarr uses when metadata gives none (v2 `null`): zero for numbers,
    /// `false`, `NaT` for times, empty strings, zero bytes.
    pub fn default_for(dtype: &DataType) -> FillValue {
        match dtype {
            DataType::DateTime64 { .. } | DataType::TimeDelta64 { .. } => FillValue(NAT.to_ne_bytes().to_vec()),
            DataType::String | DataType::Bytes => FillValue(Vec::new()),
            other => FillValue(alloc::vec![0; other.size().unwrap_or(0)]),
        }
    }

    /// Parses a JSON `fill_value` for `dtype`.
    ///
    /// Accepts what zarr-python and the specifications write: numbers, booleans,
    /// `"NaN"`, `"Infinity"`, `"-Infinity"`, hex floats (`"0x7fc00000"`), `[re, im]`
    /// for complex, `"NaT"` or integers for times, strings for text types, base64
    /// strings (or arrays of byte values) for byte types, and, in v2 only, `null`.
    ///
    /// # Errors
    /// [`Error::DataType`] naming the type and the value when it does not fit.
    pub fn from_json(dtype: &DataType, value: &Value, v2: bool) -> Result<FillValue> {
        if value.is_null() {
            return if v2 {
                Ok(FillValue::default_for(dtype))
            } else {
                Err(fill_error(dtype, value, "a fill value is required"))
            };
        }
        parse_fill(dtype, value).map(FillValue)
    }

    /// The JSON `fill_value` for `dtype`, in the form zarr-python writes.
    ///
    /// # Errors
    /// When the bytes do not have the size of `dtype` (or are not UTF-8 for strings).
    pub fn to_json(&self, dtype: &DataType) -> Result<Value> {
        use DataType::*;
        let b = &self.0;
        let wrong = || Error::DataType {
            dtype: dtype.name(),
            reason: format!("fill value of {} bytes does not fit the type", b.len()),
        };
        if let Some(size) = dtype.size() {
            if b.len() != size {
                return Err(wrong());
            }
        }
        let arr = |n: usize| -> Result<[u8; 8]> {
            let mut out = [0u8; 8];
            out.get_mut(..n).ok_or_else(wrong)?.copy_from_slice(b.get(..n).ok_or_else(wrong)?);
            Ok(out)
        };
        let u = |n: usize| -> Result<u64> {
            let a = arr(n)?;
            Ok(match n {
                1 => a[0] as u64,
                2 => u16::from_ne_bytes([a[0], a[1]]) as u64,
                4 => u32::from_ne_bytes([a[0], a[1], a[2], a[3]]) as u64,
                _ => u64::from_ne_bytes(a),
            })
        };
        Ok(match dtype {
            Bool => Value::Bool(b.first().copied().unwrap_or(0) != 0),
            Int8 => json!(u(1)? as u8 as i8),
            Int16 => json!(u(2)? as u16 as i16),
            Int32 => json!(u(4)? as u32 as i32),
            Int64 => json!(u(8)? as i64),
            UInt8 | UInt16 | UInt32 | UInt64 => json!(u(b.len())?),
            Float16 => float_json(half::f16::from_bits(u(2)? as u16).to_f64(), u(2)?, 2, 0x7e00),
            BFloat16 => float_json(half::bf16::from_bits(u(2)? as u16).to_f64(), u(2)?, 2, 0x7fc0),
            Float32 => float_json(f32::from_bits(u(4)? as u32) as f64, u(4)?, 4, 0x7fc0_0000),
            Float64 => float_json(f64::from_bits(u(8)?), u(8)?, 8, 0x7ff8_0000_0000_0000),
            Complex64 | Complex128 => {
                let half = b.len() / 2;
                let (re, im) = b.split_at(half);
                let part = |bytes: &[u8]| -> Result<Value> {
                    let sub = FillValue(bytes.to_vec());
                    sub.to_json(if half == 4 { &Float32 } else { &Float64 })
                };
                Value::Array(alloc::vec![part(re)?, part(im)?])
            }
            DateTime64 { .. } | TimeDelta64 { .. } => match u(8)? as i64 {
                NAT => Value::String("NaT".into()),
                n => json!(n),
            },
            RawBits(_) => Value::Array(b.iter().map(|&x| json!(x)).collect()),
            FixedBytes(_) | Bytes => Value::String(B64.encode(b)),
            FixedUtf32(_) => {
                let mut s = alloc::string::String::new();
                for c in b.chunks_exact(4) {
                    let cp = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
                    if cp == 0 {
                        break;
                    }
                    s.push(char::from_u32(cp).ok_or_else(wrong)?);
                }
                Value::String(s)
            }
            String => Value::String(core::str::from_utf8(b).map_err(|_| wrong())?.into()),
        })
    }
}

/// A float fill value as JSON; `canonical_nan` is the bit pattern written as `"NaN"`.
fn float_json(x: f64, bits: u64, size: usize, canonical_nan: u64) -> Value {
    if x.is_nan() {
        if bits == canonical_nan {
            Value::String("NaN".into())
        } else {
            Value::String(format!("0x{bits:0width$x}", width = size * 2))
        }
    } else if x.is_infinite() {
        Value::String(if x > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        json!(x)
    }
}

fn fill_error(dtype: &DataType, value: &Value, reason: impl core::fmt::Display) -> Error {
    let mut shown = value.to_string();
    if shown.len() > 80 {
        let mut cut = 77;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push_str("...");
    }
    Error::DataType { dtype: dtype.name(), reason: format!("invalid fill value {shown}: {reason}") }
}

/// An integer from a JSON number (integral floats such as `0.0` accepted) in `[min, max]`.
fn json_int(dtype: &DataType, v: &Value, min: i128, max: i128) -> Result<i128> {
    let n: i128 = match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i as i128
            } else if let Some(u) = n.as_u64() {
                u as i128
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if !(-1.9e19..=1.9e19).contains(&f) || (f as i128) as f64 != f {
                    return Err(fill_error(dtype, v, "not an integer"));
                }
                f as i128
            }
        }
        Value::Bool(b) => *b as i128,
        _ => return Err(fill_error(dtype, v, "expected an integer")),
    };
    if n < min || n > max {
        return Err(fill_error(dtype, v, format!("out of range [{min}, {max}]")));
    }
    Ok(n)
}

/// One IEEE float of `size` bytes (2 = f16, or bf16 when `brain`), native byte order.
fn json_float(dtype: &DataType, v: &Value, size: usize, brain: bool) -> Result<Vec<u8>> {
    let from_f64 = |x: f64| -> Vec<u8> {
        match (size, brain) {
            (2, false) => half::f16::from_f64(x).to_ne_bytes().to_vec(),
            (2, true) => half::bf16::from_f64(x).to_ne_bytes().to_vec(),
            (4, _) => (x as f32).to_ne_bytes().to_vec(),
            _ => x.to_ne_bytes().to_vec(),
        }
    };
    match v {
        Value::Number(n) => Ok(from_f64(n.as_f64().ok_or_else(|| fill_error(dtype, v, "not a number"))?)),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(match (size, brain) {
                (2, false) => 0x7e00u16.to_ne_bytes().to_vec(),
                (2, true) => 0x7fc0u16.to_ne_bytes().to_vec(),
                (4, _) => 0x7fc0_0000u32.to_ne_bytes().to_vec(),
                _ => 0x7ff8_0000_0000_0000u64.to_ne_bytes().to_vec(),
            }),
            "Infinity" => Ok(from_f64(f64::INFINITY)),
            "-Infinity" => Ok(from_f64(f64::NEG_INFINITY)),
            hex if hex.starts_with("0x") || hex.starts_with("0X") => {
                let digits = &hex[2..];
                if digits.len() != size * 2 {
                    return Err(fill_error(dtype, v, format!("hex float must have {} digits", size * 2)));
                }
                let bits = u64::from_str_radix(digits, 16).map_err(|_| fill_error(dtype, v, "bad hex digits"))?;
                Ok(match size {
                    2 => (bits as u16).to_ne_bytes().to_vec(),
                    4 => (bits as u32).to_ne_bytes().to_vec(),
                    _ => bits.to_ne_bytes().to_vec(),
                })
            }
            // zarr-python also accepts decimal strings such as "3.5".
            other => {
                let lower = other.to_ascii_lowercase();
                if lower.contains("inf") || lower.contains("nan") {
                    return Err(fill_error(dtype, v, "use \"NaN\", \"Infinity\" or \"-Infinity\""));
                }
                let x = other.parse::<f64>().map_err(|_| fill_error(dtype, v, "not a float"))?;
                Ok(from_f64(x))
            }
        },
        _ => Err(fill_error(dtype, v, "expected a number or a string")),
    }
}

/// Bytes from a base64 string or an array of byte values.
fn json_bytes(dtype: &DataType, v: &Value) -> Result<Vec<u8>> {
    match v {
        Value::String(s) => B64.decode(s.as_bytes()).map_err(|e| fill_error(dtype, v, format!("bad base64: {e}"))),
        Value::Array(items) => items
            .iter()
            .map(|x| x.as_u64().filter(|&b| b <= 255).map(|b| b as u8))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| fill_error(dtype, v, "expected byte values in [0, 255]")),
        _ => Err(fill_error(dtype, v, "expected a base64 string or an array of bytes")),
    }
}

fn parse_fill(dtype: &DataType, v: &Value) -> Result<Vec<u8>> {
    use DataType::*;
    let int = |min: i128, max: i128| json_int(dtype, v, min, max);
    Ok(match dtype {
        Bool => match v {
            Value::Bool(b) => alloc::vec![*b as u8],
            _ => alloc::vec![int(0, 1)? as u8],
        },
        Int8 => (int(i8::MIN as i128, i8::MAX as i128)? as i8).to_ne_bytes().to_vec(),
        Int16 => (int(i16::MIN as i128, i16::MAX as i128)? as i16).to_ne_bytes().to_vec(),
        Int32 => (int(i32::MIN as i128, i32::MAX as i128)? as i32).to_ne_bytes().to_vec(),
        Int64 => (int(i64::MIN as i128, i64::MAX as i128)? as i64).to_ne_bytes().to_vec(),
        UInt8 => (int(0, u8::MAX as i128)? as u8).to_ne_bytes().to_vec(),
        UInt16 => (int(0, u16::MAX as i128)? as u16).to_ne_bytes().to_vec(),
        UInt32 => (int(0, u32::MAX as i128)? as u32).to_ne_bytes().to_vec(),
        UInt64 => (int(0, u64::MAX as i128)? as u64).to_ne_bytes().to_vec(),
        Float16 => json_float(dtype, v, 2, false)?,
        BFloat16 => json_float(dtype, v, 2, true)?,
        Float32 => json_float(dtype, v, 4, false)?,
        Float64 => json_float(dtype, v, 8, false)?,
        Complex64 | Complex128 => {
            let part = if matches!(dtype, Complex64) { 4 } else { 8 };
            match v {
                Value::Array(parts) if parts.len() == 2 => {
                    let mut out = json_float(dtype, &parts[0], part, false)?;
                    out.extend(json_float(dtype, &parts[1], part, false)?);
                    out
                }
                // A real number is a complex number with no imaginary part.
                Value::Number(_) => {
                    let mut out = json_float(dtype, v, part, false)?;
                    out.extend(alloc::vec![0u8; part]);
                    out
                }
                _ => return Err(fill_error(dtype, v, "expected [real, imaginary]")),
            }
        }
        DateTime64 { .. } | TimeDelta64 { .. } => match v {
            Value::String(s) if s == "NaT" => NAT.to_ne_bytes().to_vec(),
            _ => (int(i64::MIN as i128, i64::MAX as i128)? as i64).to_ne_bytes().to_vec(),
        },
        RawBits(bits) => {
            let bytes = json_bytes(dtype, v)?;
            if bytes.len() != bits / 8 {
                return Err(fill_error(dtype, v, format!("expected {} bytes, got {}", bits / 8, bytes.len())));
            }
            bytes
        }
        FixedBytes(n) => {
            // numpy pads with zeros and truncates to the type's length.
            let mut bytes = json_bytes(dtype, v)?;
            bytes.resize(*n, 0);
            bytes
        }
        FixedUtf32(n) => {
            let s = v.as_str().ok_or_else(|| fill_error(dtype, v, "expected a string"))?;
            if s.chars().count() > *n {
                return Err(fill_error(dtype, v, format!("longer than {n} code points")));
            }
            let mut out = alloc::vec![0u8; n * 4];
            for (slot, c) in out.chunks_exact_mut(4).zip(s.chars()) {
                slot.copy_from_slice(&(c as u32).to_ne_bytes());
            }
            out
        }
        String => match v {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Number(n) => n.to_string().into_bytes(),
            _ => return Err(fill_error(dtype, v, "expected a string")),
        },
        Bytes => json_bytes(dtype, v)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn fill(dtype: &DataType, v: Value) -> Result<Vec<u8>> {
        FillValue::from_json(dtype, &v, false).map(|f| f.0)
    }

    #[test]
    fn v2_dtype_strings() {
        use DataType::*;
        let cases: &[(&str, DataType, Option<Endian>)] = &[
            ("|b1", Bool, None),
            ("|i1", Int8, None),
            ("|u1", UInt8, None),
            ("<i2", Int16, Some(Endian::Little)),
            (">u4", UInt32, Some(Endian::Big)),
            ("<i8", Int64, Some(Endian::Little)),
            ("<f2", Float16, Some(Endian::Little)),
            (">f4", Float32, Some(Endian::Big)),
            ("<c8", Complex64, Some(Endian::Little)),
            (">c16", Complex128, Some(Endian::Big)),
            ("|S7", FixedBytes(7), None),
            ("<U3", FixedUtf32(3), Some(Endian::Little)),
            (">U1", FixedUtf32(1), Some(Endian::Big)),
            ("|V5", RawBits(40), None),
            ("<M8[ns]", DateTime64 { unit: TimeUnit::Nanosecond, scale_factor: 1 }, Some(Endian::Little)),
            (">m8[10s]", TimeDelta64 { unit: TimeUnit::Second, scale_factor: 10 }, Some(Endian::Big)),
            ("<M8", DateTime64 { unit: TimeUnit::Generic, scale_factor: 1 }, Some(Endian::Little)),
        ];
        for (s, dtype, endian) in cases {
            assert_eq!(DataType::from_v2_str(s).unwrap(), (dtype.clone(), *endian), "{s}");
            assert_eq!(dtype.to_v2_str(*endian).unwrap(), *s);
        }
        assert_eq!(
            DataType::from_v2_str("<M8[μs]").unwrap().0,
            DateTime64 { unit: TimeUnit::Microsecond, scale_factor: 1 }
        );
        for bad in ["", "<", "|i4", "<f16", "<S", "|S0", "<M8[xs]", "<M8[0s]", "<M8[s", "<q8", "|O", "<U999999999999"] {
            assert!(DataType::from_v2_str(bad).is_err(), "{bad}");
        }
        assert!(matches!(DataType::from_v2_str("<f16"), Err(Error::Unsupported { .. })));
        assert!(BFloat16.to_v2_str(None).is_err());
    }

    #[test]
    fn v3_names_and_extension_objects() {
        use DataType::*;
        for dtype in [
            Bool,
            Int8,
            Int16,
            Int32,
            Int64,
            UInt8,
            UInt16,
            UInt32,
            UInt64,
            Float16,
            BFloat16,
            Float32,
            Float64,
            Complex64,
            Complex128,
            RawBits(8),
            RawBits(48),
            FixedBytes(3),
            FixedUtf32(4),
            String,
            Bytes,
            DateTime64 { unit: TimeUnit::Day, scale_factor: 2 },
            TimeDelta64 { unit: TimeUnit::Generic, scale_factor: 1 },
        ] {
            assert_eq!(DataType::from_v3_json(&dtype.to_v3_json()).unwrap(), dtype, "{dtype:?}");
        }
        let parse = |v: Value| DataType::from_v3_json(&v);
        assert_eq!(parse(json!("variable_length_utf8")).unwrap(), String);
        assert_eq!(parse(json!("bytes")).unwrap(), Bytes);
        assert_eq!(parse(json!({"name": "int32"})).unwrap(), Int32);
        assert_eq!(parse(json!("r16")).unwrap(), RawBits(16));
        assert_eq!(parse(json!({"name": "raw_bytes", "configuration": {"length_bytes": 3}})).unwrap(), RawBits(24));
        assert_eq!(
            parse(json!({"name": "datetime64", "configuration": {"unit": "μs", "scale_factor": 1}})).unwrap(),
            DateTime64 { unit: TimeUnit::Microsecond, scale_factor: 1 }
        );
        assert_eq!(
            parse(json!({"name": "fixed_length_bytes", "configuration": {"length_bytes": 5}})).unwrap(),
            FixedBytes(5)
        );
        assert_eq!(
            parse(json!({"name": "fixed-length-bytes", "configuration": {"length_bits": 24}})).unwrap(),
            FixedBytes(3)
        );
        assert_eq!(
            parse(json!({"name": "fixed_length_utf32", "configuration": {"length_bytes": 20}})).unwrap(),
            FixedUtf32(5)
        );
        for bad in [
            json!("r12"),
            json!("r0"),
            json!(3),
            json!({"name": "fixed_length_utf32", "configuration": {"length_bytes": 6}}),
            json!({"name": "fixed_length_utf32"}),
            json!({"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 0}}),
            json!({"name": "numpy.datetime64", "configuration": {"unit": "lightyear", "scale_factor": 1}}),
            json!({"name": "null_terminated_bytes", "configuration": {"length_bytes": -1}}),
            json!({"configuration": {}}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(
            parse(json!("complex32")).unwrap_err(),
            Error::Unsupported { kind: "data type", name: "complex32".into() }
        );
    }

    #[test]
    fn float_fill_values() {
        use DataType::*;
        assert_eq!(fill(&Float32, json!("NaN")).unwrap(), 0x7fc0_0000u32.to_ne_bytes());
        assert_eq!(fill(&Float32, json!("0x7fc00001")).unwrap(), 0x7fc0_0001u32.to_ne_bytes());
        assert_eq!(fill(&Float64, json!("0x3ff0000000000000")).unwrap(), 1f64.to_ne_bytes());
        assert_eq!(fill(&Float16, json!("NaN")).unwrap(), 0x7e00u16.to_ne_bytes());
        assert_eq!(fill(&Float16, json!(1.5)).unwrap(), 0x3e00u16.to_ne_bytes());
        assert_eq!(fill(&BFloat16, json!("NaN")).unwrap(), 0x7fc0u16.to_ne_bytes());
        assert_eq!(fill(&BFloat16, json!(1)).unwrap(), 0x3f80u16.to_ne_bytes());
        assert_eq!(fill(&Float64, json!("Infinity")).unwrap(), f64::INFINITY.to_ne_bytes());
        assert_eq!(fill(&Float32, json!("-Infinity")).unwrap(), f32::NEG_INFINITY.to_ne_bytes());
        assert_eq!(fill(&Float32, json!("2.5")).unwrap(), 2.5f32.to_ne_bytes());
        assert_eq!(fill(&Float32, json!(0.1)).unwrap(), 0.1f32.to_ne_bytes());
        assert_eq!(
            fill(&Complex64, json!(["-Infinity", "NaN"])).unwrap(),
            [f32::NEG_INFINITY.to_ne_bytes(), 0x7fc0_0000u32.to_ne_bytes()].concat()
        );
        for bad in [json!("0x7fc0"), json!("nan"), json!("inf"), json!("x"), json!(true), json!([1.0])] {
            assert!(fill(&Float32, bad.clone()).is_err(), "{bad}");
        }
        assert!(fill(&Complex128, json!([1.0])).is_err());
        let err = fill(&Float64, json!("bogus")).unwrap_err();
        let text = alloc::format!("{err}");
        assert!(text.contains("float64") && text.contains("bogus"), "{text}");
    }

    #[test]
    fn integer_bool_time_and_text_fill_values() {
        use DataType::*;
        assert_eq!(fill(&Int8, json!(-128)).unwrap(), [0x80]);
        assert!(fill(&Int8, json!(128)).is_err());
        assert!(fill(&UInt8, json!(-1)).is_err());
        assert!(fill(&Int32, json!(1.5)).is_err());
        assert_eq!(fill(&Int32, json!(3.0)).unwrap(), 3i32.to_ne_bytes());
        assert_eq!(fill(&UInt64, json!(u64::MAX)).unwrap(), u64::MAX.to_ne_bytes());
        assert!(fill(&Int64, json!(u64::MAX)).is_err());
        assert!(fill(&Int16, json!("1")).is_err());
        assert_eq!(fill(&Bool, json!(true)).unwrap(), [1]);
        assert!(fill(&Bool, json!(2)).is_err());
        let dt = DateTime64 { unit: TimeUnit::Second, scale_factor: 1 };
        assert_eq!(fill(&dt, json!("NaT")).unwrap(), NAT.to_ne_bytes());
        assert_eq!(fill(&dt, json!(-5)).unwrap(), (-5i64).to_ne_bytes());
        assert!(fill(&dt, json!("2020-01-01")).is_err());
        assert_eq!(fill(&RawBits(16), json!([1, 255])).unwrap(), [1, 255]);
        assert!(fill(&RawBits(16), json!([1])).is_err());
        assert!(fill(&RawBits(8), json!([256])).is_err());
        assert_eq!(fill(&FixedBytes(3), json!("YQ==")).unwrap(), b"a\0\0");
        assert_eq!(fill(&FixedBytes(1), json!("YWJj")).unwrap(), b"a");
        assert!(fill(&FixedBytes(3), json!("not base64!")).is_err());
        assert_eq!(fill(&FixedUtf32(2), json!("é")).unwrap(), [0xe9u32.to_ne_bytes(), [0; 4]].concat());
        assert!(fill(&FixedUtf32(1), json!("ab")).is_err());
        assert_eq!(fill(&String, json!("hé")).unwrap(), "hé".as_bytes());
        assert_eq!(fill(&String, json!(0)).unwrap(), b"0");
        assert_eq!(fill(&Bytes, json!("AAE=")).unwrap(), [0, 1]);
        assert!(fill(&Int8, Value::Null).is_err());
        assert_eq!(FillValue::from_json(&Int8, &Value::Null, true).unwrap().0, [0]);
        assert_eq!(FillValue::from_json(&dt, &Value::Null, true).unwrap().0, NAT.to_ne_bytes());
        assert_eq!(FillValue::from_json(&String, &Value::Null, true).unwrap().0, b"");
    }

    #[test]
    fn fill_values_serialize_back() {
        use DataType::*;
        let cases: Vec<(DataType, Value)> = vec![
            (Bool, json!(true)),
            (Int8, json!(-3)),
            (Int64, json!(i64::MIN)),
            (UInt64, json!(u64::MAX)),
            (UInt16, json!(65535)),
            (Float16, json!(0.5)),
            (BFloat16, json!("NaN")),
            (Float32, json!("0x7fc00001")),
            (Float32, json!(1.5)),
            (Float64, json!("-Infinity")),
            (Float64, json!(0.1)),
            (Complex64, json!([1.0, "NaN"])),
            (Complex128, json!(["Infinity", -2.5])),
            (DateTime64 { unit: TimeUnit::Second, scale_factor: 1 }, json!("NaT")),
            (TimeDelta64 { unit: TimeUnit::Second, scale_factor: 1 }, json!(12)),
            (RawBits(24), json!([1, 2, 3])),
            (FixedBytes(2), json!("YWI=")),
            (FixedUtf32(3), json!("ab")),
            (String, json!("x y")),
            (Bytes, json!("AAE=")),
        ];
        for (dtype, v) in cases {
            let f = FillValue::from_json(&dtype, &v, false).unwrap();
            assert_eq!(f.to_json(&dtype).unwrap(), v, "{dtype:?}");
            assert_eq!(FillValue::from_json(&dtype, &f.to_json(&dtype).unwrap(), false).unwrap(), f);
            assert_eq!(f.0.len(), dtype.size().unwrap_or(f.0.len()));
        }
        assert!(FillValue(vec![1, 2, 3]).to_json(&Int32).is_err());
        assert!(FillValue(vec![0xff]).to_json(&String).is_err());
    }
}
