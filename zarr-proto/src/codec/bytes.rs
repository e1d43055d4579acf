//! The `bytes` codec: fixed-size elements packed back to back in a declared byte order.
//!
//! In memory elements are native byte order; this codec swaps each
//! [`DataType::swap_unit`] when the declared order differs, and otherwise is a
//! single copy (decode) or a move (encode).

use alloc::format;
use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::ChunkRepr;
use crate::dtype::{DataType, Endian};
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::ndarray::ArrayBytes;

const NAME: &str = "bytes";

/// The `bytes` array-to-bytes codec: fixed-size elements in a given byte order.
#[derive(Debug, Clone, PartialEq)]
pub struct BytesCodec {
    /// Byte order of the encoded elements; `None` only for single-byte types.
    pub endian: Option<Endian>,
}

/// Reverses the bytes of every `unit`-sized group of `buf` in place (`unit <= 1`: no-op).
///
/// A trailing partial group (which only malformed input can produce) is left as is.
pub fn swap_bytes(buf: &mut [u8], unit: usize) {
    match unit {
        0 | 1 => {}
        2 => buf.chunks_exact_mut(2).for_each(|c| c.swap(0, 1)),
        4 => buf.chunks_exact_mut(4).for_each(|c| {
            let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]).swap_bytes();
            c.copy_from_slice(&v.to_ne_bytes());
        }),
        8 => buf.chunks_exact_mut(8).for_each(|c| {
            let v = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]).swap_bytes();
            c.copy_from_slice(&v.to_ne_bytes());
        }),
        n => buf.chunks_exact_mut(n).for_each(<[u8]>::reverse),
    }
}

impl BytesCodec {
    /// Little-endian, the common choice of zarr-python.
    pub const LITTLE: BytesCodec = BytesCodec { endian: Some(Endian::Little) };

    /// The swap unit to apply for `dtype`, or an error for types this codec cannot handle.
    fn swap_unit(&self, dtype: &DataType) -> Result<(usize, usize)> {
        let size = dtype.size().ok_or_else(|| {
            Error::codec(NAME, format!("variable-length data type {} needs a vlen codec", dtype.name()))
        })?;
        let unit = dtype.swap_unit();
        let swap = match self.endian {
            None if unit > 1 => {
                return Err(Error::codec(NAME, format!("data type {} needs an endian configuration", dtype.name())))
            }
            None => 1,
            Some(e) if e == Endian::NATIVE => 1,
            Some(_) => unit,
        };
        Ok((size, swap))
    }

    /// Decodes `bytes` into an array of `repr`.
    ///
    /// # Errors
    /// Variable-length data types, a length other than `num_elements * item size`,
    /// or a chunk larger than `limits.max_chunk_bytes`.
    pub fn decode(&self, bytes: &[u8], repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        self.decode_owned(bytes.to_vec(), repr, limits)
    }

    /// Decodes owned `bytes` without copying when no byte swap is needed.
    ///
    /// # Errors
    /// As [`BytesCodec::decode`].
    pub fn decode_owned(&self, bytes: Vec<u8>, repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        let (size, swap) = self.swap_unit(&repr.dtype)?;
        let expected = limits::checked_size("decoded chunk", &repr.shape, size as u64, limits.max_chunk_bytes)?;
        if bytes.len() as u64 != expected {
            return Err(Error::codec(
                NAME,
                format!(
                    "chunk has {} bytes, expected {} ({} elements of {} bytes)",
                    bytes.len(),
                    expected,
                    repr.num_elements(),
                    size
                ),
            ));
        }
        let mut out = bytes;
        swap_bytes(&mut out, swap);
        repr.dtype.widen_sub_byte(&mut out);
        Ok(ArrayBytes::Fixed(out))
    }

    /// Encodes an array of `repr`.
    ///
    /// # Errors
    /// Variable-length data, or data whose length does not match `repr`.
    pub fn encode(&self, data: &ArrayBytes, repr: &ChunkRepr) -> Result<Vec<u8>> {
        let (size, swap) = self.swap_unit(&repr.dtype)?;
        let ArrayBytes::Fixed(bytes) = data else {
            return Err(Error::codec(NAME, "cannot encode variable-length elements"));
        };
        let expected = repr.num_elements().checked_mul(size as u64);
        if expected != Some(bytes.len() as u64) {
            return Err(Error::codec(
                NAME,
                format!("array has {} bytes, expected {} elements of {} bytes", bytes.len(), repr.num_elements(), size),
            ));
        }
        let mut out = bytes.clone();
        swap_bytes(&mut out, swap);
        repr.dtype.narrow_sub_byte(&mut out);
        Ok(out)
    }
}

fn parse_endian(value: Option<&Value>) -> Result<Option<Endian>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "little" => Ok(Some(Endian::Little)),
        Some(Value::String(s)) if s == "big" => Ok(Some(Endian::Big)),
        Some(other) => Err(Error::codec(NAME, format!("invalid endian {other}, expected \"little\" or \"big\""))),
    }
}

fn endian_name(e: Endian) -> &'static str {
    match e {
        Endian::Little => "little",
        Endian::Big => "big",
    }
}

impl BytesCodec {
    /// Builds the codec from its v3 `configuration` object (`{"endian": "little" | "big"}`, optional).
    ///
    /// # Errors
    /// A configuration that is not an object, or an unknown `endian`.
    pub fn from_v3(configuration: Option<&serde_json::Value>) -> Result<Self> {
        match configuration {
            None | Some(Value::Null) => Ok(BytesCodec { endian: None }),
            Some(Value::Object(map)) => Ok(BytesCodec { endian: parse_endian(map.get("endian"))? }),
            Some(other) => Err(Error::codec(NAME, format!("configuration must be an object, got {other}"))),
        }
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        match self.endian {
            None => json!({"name": NAME}),
            Some(e) => json!({"name": NAME, "configuration": {"endian": endian_name(e)}}),
        }
    }

    /// Builds the codec from an object `{"id": "bytes", "endian": ...}` (v2 has no such codec;
    /// this form exists for symmetry).
    ///
    /// # Errors
    /// An unknown `endian`.
    pub fn from_v2(config: &serde_json::Value) -> Result<Self> {
        Ok(BytesCodec { endian: parse_endian(config.get("endian"))? })
    }

    /// The object `{"id": "bytes", "endian": ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        match self.endian {
            None => json!({"id": NAME}),
            Some(e) => json!({"id": NAME, "endian": endian_name(e)}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::FillValue;

    fn repr(shape: &[u64], dtype: DataType) -> ChunkRepr {
        ChunkRepr { shape: shape.to_vec(), dtype, fill_value: FillValue::default() }
    }

    #[test]
    fn sub_byte_types_widen_on_decode_and_narrow_on_encode() {
        use crate::dtype::MiniFloat;
        let l = Limits::default();
        let c = BytesCodec { endian: None };
        let cases = [
            (DataType::Int4, [0x0f, 0xf7, 0x08, 0x00], [0xff, 0x07, 0xf8, 0x00], [0x0f, 0x07, 0x08, 0x00]),
            (DataType::Int2, [0x03, 0x81, 0x02, 0x00], [0xff, 0x01, 0xfe, 0x00], [0x03, 0x01, 0x02, 0x00]),
            (DataType::MiniFloat(MiniFloat::F4E2M1FN), [0xfa, 0x07, 0, 1], [0x0a, 0x07, 0, 1], [0x0a, 0x07, 0, 1]),
            (DataType::MiniFloat(MiniFloat::F8E4M3FN), [0xfa, 0x07, 0, 1], [0xfa, 0x07, 0, 1], [0xfa, 0x07, 0, 1]),
        ];
        for (dtype, stored, memory, encoded) in cases {
            let r = repr(&[4], dtype);
            assert_eq!(c.decode(&stored, &r, &l).unwrap(), ArrayBytes::Fixed(memory.to_vec()));
            assert_eq!(c.encode(&ArrayBytes::Fixed(memory.to_vec()), &r).unwrap(), encoded);
        }
    }

    #[test]
    fn big_endian_u16_decodes_and_round_trips() {
        let c = BytesCodec::from_v3(Some(&json!({"endian": "big"}))).unwrap();
        let r = repr(&[3], DataType::UInt16);
        let got = c.decode(&[0x01, 0x02, 0x00, 0x05, 0xff, 0x00], &r, &Limits::default()).unwrap();
        let want: Vec<u8> = [0x0102u16, 5, 0xff00].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(got, ArrayBytes::Fixed(want));
        assert_eq!(c.encode(&got, &r).unwrap(), [0x01, 0x02, 0x00, 0x05, 0xff, 0x00]);
    }

    #[test]
    fn complex_swaps_each_half() {
        let c = BytesCodec { endian: Some(Endian::Big) };
        let r = repr(&[1], DataType::Complex64);
        let enc: Vec<u8> = [1.5f32.to_be_bytes(), (-2.0f32).to_be_bytes()].concat();
        let got = c.decode(&enc, &r, &Limits::default()).unwrap();
        let want: Vec<u8> = [1.5f32.to_ne_bytes(), (-2.0f32).to_ne_bytes()].concat();
        assert_eq!(got, ArrayBytes::Fixed(want));
    }

    #[test]
    fn wrong_length_names_both_numbers() {
        let c = BytesCodec::LITTLE;
        let err = c.decode(&[0; 7], &repr(&[2], DataType::Int32), &Limits::default()).unwrap_err();
        let msg = alloc::string::ToString::to_string(&err);
        assert!(msg.contains('7') && msg.contains('8'), "{msg}");
    }

    #[test]
    fn rejects_variable_and_missing_endian() {
        let l = Limits::default();
        assert!(BytesCodec::LITTLE.decode(&[], &repr(&[0], DataType::String), &l).is_err());
        assert!(BytesCodec { endian: None }.decode(&[0; 4], &repr(&[2], DataType::Int16), &l).is_err());
        assert!(BytesCodec { endian: None }.decode(&[0; 4], &repr(&[4], DataType::UInt8), &l).is_ok());
        assert!(BytesCodec::from_v3(Some(&json!({"endian": "middle"}))).is_err());
    }

    #[test]
    fn limit_is_enforced_before_allocating() {
        let l = Limits { max_chunk_bytes: 10, ..Limits::default() };
        let err = BytesCodec::LITTLE.decode(&[0; 16], &repr(&[2], DataType::Float64), &l).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { .. }));
        let huge = repr(&[u64::MAX, 4], DataType::Float64);
        assert!(BytesCodec::LITTLE.decode(&[], &huge, &Limits::default()).is_err());
    }

    #[test]
    fn metadata_round_trip() {
        for v in [json!({"name": "bytes"}), json!({"name": "bytes", "configuration": {"endian": "little"}})] {
            let c = BytesCodec::from_v3(v.get("configuration")).unwrap();
            assert_eq!(c.to_v3(), v);
        }
    }
}
