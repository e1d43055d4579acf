//! Fill values as JSON: what zarr-python and the specifications write, for every type.

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use super::{DataType, FillValue, NAT};
use crate::error::{Error, Result};

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
            Int2 | Int4 => json!(u(1)? as u8 as i8),
            MiniFloat(f) => {
                let code = u(1)? as u8;
                match f.canonical_nan() {
                    Some(nan) if code == nan => Value::String("NaN".into()),
                    _ if f.to_f64(code).is_nan() => Value::String(format!("0x{code:02x}")),
                    _ => float_json(f.to_f64(code), u64::from(code), 1, 0),
                }
            }
            RawBits(_) => Value::Array(b.iter().map(|&x| json!(x)).collect()),
            FixedBytes(_) | Bytes | Structured(_) => Value::String(B64.encode(b)),
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

/// An 8-bit (or 4-bit) float: a number, `"NaN"`, `"Infinity"`, `"-Infinity"`, or the
/// code in hex (`"0x7f"`), as tensorstore accepts them.
fn mini_float(dtype: &DataType, f: super::MiniFloat, v: &Value) -> Result<u8> {
    if let Some(hex) = v.as_str().and_then(|s| s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))) {
        let code = u8::from_str_radix(hex, 16).map_err(|_| fill_error(dtype, v, "expected two hex digits"))?;
        if code & !f.mask() != 0 {
            return Err(fill_error(dtype, v, "code wider than the type"));
        }
        return Ok(code);
    }
    let x = match v {
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        Value::Number(n) => n.as_f64().ok_or_else(|| fill_error(dtype, v, "not a number"))?,
        _ => return Err(fill_error(dtype, v, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"")),
    };
    if x.is_nan() && f.canonical_nan().is_none() {
        return Err(fill_error(dtype, v, "the type has no NaN"));
    }
    Ok(f.from_f64(x))
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
        Int2 => alloc::vec![int(-2, 1)? as i8 as u8],
        Int4 => alloc::vec![int(-8, 7)? as i8 as u8],
        MiniFloat(f) => alloc::vec![mini_float(dtype, *f, v)?],
        // zarr-python writes the record's bytes in base64; numpy's zero record as `0`.
        Structured(s) => {
            if v.as_u64() == Some(0) {
                return Ok(alloc::vec![0; s.size()]);
            }
            let bytes = json_bytes(dtype, v)?;
            if bytes.len() != s.size() {
                return Err(fill_error(dtype, v, format!("expected {} bytes, got {}", s.size(), bytes.len())));
            }
            bytes
        }
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
    use crate::dtype::TimeUnit;
    use alloc::vec;

    fn fill(dtype: &DataType, v: Value) -> Result<Vec<u8>> {
        FillValue::from_json(dtype, &v, false).map(|f| f.0)
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
        use crate::dtype::MiniFloat as F;
        let more: Vec<(DataType, Value)> = vec![
            (Int4, json!(-3)),
            (Int2, json!(1)),
            (MiniFloat(F::F8E4M3FN), json!("NaN")),
            (MiniFloat(F::F8E4M3FN), json!(1.5)),
            (MiniFloat(F::F8E5M2), json!("-Infinity")),
            (MiniFloat(F::F8E5M2), json!("0x7d")),
            (MiniFloat(F::F8E8M0FNU), json!(0.5)),
            (MiniFloat(F::F4E2M1FN), json!(-6.0)),
        ];
        for (dtype, v) in more {
            let f = FillValue::from_json(&dtype, &v, false).unwrap();
            assert_eq!(f.to_json(&dtype).unwrap(), v, "{dtype:?}");
        }
        assert_eq!(fill(&Int4, json!(-3)).unwrap(), [0xfd]);
        assert!(fill(&Int4, json!(8)).is_err());
        assert!(fill(&Int2, json!(-3)).is_err());
        assert_eq!(fill(&MiniFloat(F::F8E4M3FN), json!("0x3c")).unwrap(), [0x3c]);
        assert_eq!(fill(&MiniFloat(F::F8E4M3FN), json!(0.3)).unwrap(), [42]);
        assert!(fill(&MiniFloat(F::F4E2M1FN), json!("NaN")).is_err());
        assert!(fill(&MiniFloat(F::F4E2M1FN), json!("0x10")).is_err());
        let rec = Structured(
            crate::dtype::Structured::from_v2_json(json!([["a", "<i2"], ["b", "|u1"]]).as_array().unwrap()).unwrap(),
        );
        assert_eq!(fill(&rec, json!("AQID")).unwrap(), [1, 2, 3]);
        assert_eq!(FillValue(vec![1, 2, 3]).to_json(&rec).unwrap(), json!("AQID"));
        assert_eq!(fill(&rec, json!(0)).unwrap(), [0, 0, 0]);
        assert!(fill(&rec, json!("AQI=")).is_err());
        assert!(FillValue(vec![0xff]).to_json(&String).is_err());
    }
}
