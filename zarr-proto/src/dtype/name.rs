//! Names of data types: v3 `data_type` values and v2 (numpy) dtype strings.

use alloc::format;
use alloc::string::String;

use serde_json::{json, Value};

use super::{DataType, Endian, TimeUnit, MAX_ITEM_SIZE};
use crate::error::{Error, Result};

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

/// The v3 name of the type, with its parameter in brackets where it has one.
///
/// Simple types print their v3 `data_type` name (`int16`, `float32`, `bool`, `string`,
/// `variable_length_bytes`, `r48`). Parameterised types add the variant's parameter the
/// way numpy would: `numpy.datetime64[ms]`, `numpy.timedelta64[10s]` (scale factor
/// before the unit; no brackets for the generic unit), `null_terminated_bytes[4]`
/// (bytes) and `fixed_length_utf32[5]` (code points, not the metadata's `length_bytes`).
///
/// # Examples
/// ```
/// use zarr_proto::{DataType, TimeUnit};
/// assert_eq!(DataType::Int16.to_string(), "int16");
/// assert_eq!(DataType::DateTime64 { unit: TimeUnit::Millisecond, scale_factor: 1 }.to_string(), "numpy.datetime64[ms]");
/// ```
impl core::fmt::Display for DataType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use DataType::*;
        let v3 = self.to_v3_json();
        let name = v3.as_str().or_else(|| v3.get("name").and_then(Value::as_str)).unwrap_or_default();
        match self {
            FixedBytes(n) | FixedUtf32(n) => write!(f, "{name}[{n}]"),
            DateTime64 { unit: TimeUnit::Generic, .. } | TimeDelta64 { unit: TimeUnit::Generic, .. } => {
                f.write_str(name)
            }
            DateTime64 { unit, scale_factor: 1 } | TimeDelta64 { unit, scale_factor: 1 } => {
                write!(f, "{name}[{}]", unit.code())
            }
            DateTime64 { unit, scale_factor } | TimeDelta64 { unit, scale_factor } => {
                write!(f, "{name}[{scale_factor}{}]", unit.code())
            }
            Structured(s) => match s.to_v2_json() {
                Ok(fields) => write!(f, "structured{fields}"),
                Err(_) => f.write_str("structured"),
            },
            _ => f.write_str(name),
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
            "int2" => Int2,
            "int4" => Int4,
            "structured" => return Err(unsupported_dtype("structured (zarr v3)")),
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
                _ => match super::MiniFloat::from_name(other) {
                    Some(f) => MiniFloat(f),
                    None => return Err(unsupported_dtype(other)),
                },
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

    /// The v2 `dtype` value: the dtype string ([`DataType::to_v2_str`]), or the field
    /// list of a structured type.
    ///
    /// # Errors
    /// As [`DataType::to_v2_str`].
    pub fn to_v2_json(&self, endian: Option<Endian>) -> Result<Value> {
        match self {
            DataType::Structured(s) => s.to_v2_json(),
            other => other.to_v2_str(endian).map(Value::String),
        }
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
            Structured(_) => return Err(unsupported_dtype("structured data type as a string")),
            BFloat16 | Int2 | Int4 | MiniFloat(_) => {
                return Err(unsupported_dtype(format!("{} in zarr v2", self.name())))
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_v3_name() {
        use alloc::string::ToString;
        use DataType::*;
        let cases = [
            (Bool, "bool"),
            (Int16, "int16"),
            (UInt64, "uint64"),
            (Float32, "float32"),
            (Complex128, "complex128"),
            (RawBits(48), "r48"),
            (String, "string"),
            (Bytes, "variable_length_bytes"),
            (FixedBytes(4), "null_terminated_bytes[4]"),
            (FixedUtf32(5), "fixed_length_utf32[5]"),
            (DateTime64 { unit: TimeUnit::Millisecond, scale_factor: 1 }, "numpy.datetime64[ms]"),
            (TimeDelta64 { unit: TimeUnit::Second, scale_factor: 10 }, "numpy.timedelta64[10s]"),
            (DateTime64 { unit: TimeUnit::Generic, scale_factor: 1 }, "numpy.datetime64"),
        ];
        for (dtype, shown) in cases {
            assert_eq!(dtype.to_string(), shown);
        }
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
}
