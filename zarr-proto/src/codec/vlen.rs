//! The `vlen-utf8` and `vlen-bytes` codecs (numcodecs `VLenUTF8` / `VLenBytes` layout).
//!
//! Encoded form: a little-endian `u32` element count, then for every element in C order a
//! little-endian `u32` byte length followed by that many bytes. zarr-python 3 uses the same
//! layout for the v3 codecs of the same names.

use alloc::format;
use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::ChunkRepr;
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::ndarray::ArrayBytes;

/// Variable-length UTF-8 strings.
#[derive(Debug, Clone, PartialEq)]
pub struct VlenUtf8;

/// Variable-length byte strings.
#[derive(Debug, Clone, PartialEq)]
pub struct VlenBytes;

fn read_u32(bytes: &[u8], pos: usize) -> Option<u32> {
    let b = bytes.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses the numcodecs vlen layout into its elements, checking every count and length.
fn decode_vlen(codec: &'static str, bytes: &[u8], repr: &ChunkRepr, limits: &Limits, utf8: bool) -> Result<ArrayBytes> {
    if !repr.dtype.is_variable() {
        return Err(Error::codec(codec, format!("data type {} is not variable-length", repr.dtype.name())));
    }
    let expected = repr.num_elements();
    limits::check("decoded chunk", bytes.len() as u64, limits.max_chunk_bytes)?;
    let count = read_u32(bytes, 0).ok_or_else(|| {
        Error::codec(codec, format!("chunk of {} bytes is shorter than the 4 byte header", bytes.len()))
    })?;
    if u64::from(count) != expected {
        return Err(Error::codec(codec, format!("chunk holds {count} elements, expected {expected}")));
    }
    // Every element takes at least 4 bytes, so the count is bounded by the input length.
    let max_count = (bytes.len() - 4) / 4;
    if count as usize > max_count {
        return Err(Error::codec(
            codec,
            format!("chunk of {} bytes cannot hold {count} elements (at most {max_count})", bytes.len()),
        ));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut pos = 4usize;
    for i in 0..count {
        let len = read_u32(bytes, pos)
            .ok_or_else(|| Error::codec(codec, format!("chunk truncated in the length of element {i}")))?;
        pos += 4;
        let end = pos.checked_add(len as usize).filter(|&e| e <= bytes.len()).ok_or_else(|| {
            Error::codec(
                codec,
                format!("element {i} of {len} bytes runs past the end of the {} byte chunk", bytes.len()),
            )
        })?;
        let item = &bytes[pos..end];
        if utf8 {
            core::str::from_utf8(item)
                .map_err(|e| Error::codec(codec, format!("element {i} is not valid UTF-8: {e}")))?;
        }
        out.push(item.to_vec());
        pos = end;
    }
    if pos != bytes.len() {
        return Err(Error::codec(codec, format!("{} trailing bytes after {count} elements", bytes.len() - pos)));
    }
    Ok(ArrayBytes::Variable(out))
}

fn encode_vlen(codec: &'static str, data: &ArrayBytes, repr: &ChunkRepr, utf8: bool) -> Result<Vec<u8>> {
    let ArrayBytes::Variable(items) = data else {
        return Err(Error::codec(codec, "cannot encode fixed-size elements"));
    };
    if items.len() as u64 != repr.num_elements() {
        return Err(Error::codec(
            codec,
            format!("array has {} elements, the chunk shape needs {}", items.len(), repr.num_elements()),
        ));
    }
    let too_long = || Error::codec(codec, "more than 4 GiB in one element or chunk");
    let count = u32::try_from(items.len()).map_err(|_| too_long())?;
    let total =
        items.iter().try_fold(4usize, |acc, it| acc.checked_add(4)?.checked_add(it.len())).ok_or_else(too_long)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&count.to_le_bytes());
    for (i, item) in items.iter().enumerate() {
        if utf8 {
            core::str::from_utf8(item)
                .map_err(|e| Error::codec(codec, format!("element {i} is not valid UTF-8: {e}")))?;
        }
        let len = u32::try_from(item.len()).map_err(|_| too_long())?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(item);
    }
    Ok(out)
}

fn check_config(codec: &'static str, configuration: Option<&Value>) -> Result<()> {
    match configuration {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(map)) if map.is_empty() => Ok(()),
        Some(other) => Err(Error::codec(codec, format!("unexpected configuration {other}"))),
    }
}

impl VlenUtf8 {
    /// Decodes `bytes` into an array of `repr`, checking every element is UTF-8.
    ///
    /// # Errors
    /// A truncated or overlong chunk, an element count other than `repr`'s, invalid UTF-8,
    /// a fixed-size `repr`, or a chunk larger than `limits.max_chunk_bytes`.
    pub fn decode(&self, bytes: &[u8], repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        decode_vlen("vlen-utf8", bytes, repr, limits, true)
    }

    /// Encodes an array of `repr`.
    ///
    /// # Errors
    /// Fixed-size data, an element count other than `repr`'s, invalid UTF-8, or more than 4 GiB.
    pub fn encode(&self, data: &ArrayBytes, repr: &ChunkRepr) -> Result<Vec<u8>> {
        encode_vlen("vlen-utf8", data, repr, true)
    }
}

impl VlenBytes {
    /// Decodes `bytes` into an array of `repr`.
    ///
    /// # Errors
    /// A truncated or overlong chunk, an element count other than `repr`'s, a fixed-size
    /// `repr`, or a chunk larger than `limits.max_chunk_bytes`.
    pub fn decode(&self, bytes: &[u8], repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        decode_vlen("vlen-bytes", bytes, repr, limits, false)
    }

    /// Encodes an array of `repr`.
    ///
    /// # Errors
    /// Fixed-size data, an element count other than `repr`'s, or more than 4 GiB.
    pub fn encode(&self, data: &ArrayBytes, repr: &ChunkRepr) -> Result<Vec<u8>> {
        encode_vlen("vlen-bytes", data, repr, false)
    }
}

impl VlenUtf8 {
    /// Builds the codec from its v3 `configuration` object (absent or `{}`).
    ///
    /// # Errors
    /// A non-empty configuration.
    pub fn from_v3(configuration: Option<&serde_json::Value>) -> Result<Self> {
        check_config("vlen-utf8", configuration).map(|()| VlenUtf8)
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        json!({"name": "vlen-utf8", "configuration": {}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "vlen-utf8"}`.
    ///
    /// # Errors
    /// Never for now; the signature leaves room for validation.
    pub fn from_v2(_config: &serde_json::Value) -> Result<Self> {
        Ok(VlenUtf8)
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        json!({"id": "vlen-utf8"})
    }
}

impl VlenBytes {
    /// Builds the codec from its v3 `configuration` object (absent or `{}`).
    ///
    /// # Errors
    /// A non-empty configuration.
    pub fn from_v3(configuration: Option<&serde_json::Value>) -> Result<Self> {
        check_config("vlen-bytes", configuration).map(|()| VlenBytes)
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        json!({"name": "vlen-bytes", "configuration": {}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "vlen-bytes"}`.
    ///
    /// # Errors
    /// Never for now; the signature leaves room for validation.
    pub fn from_v2(_config: &serde_json::Value) -> Result<Self> {
        Ok(VlenBytes)
    }

    /// The v2 (numcodecs) object `{"id": ..., ...}`.
    pub fn to_v2(&self) -> serde_json::Value {
        json!({"id": "vlen-bytes"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{DataType, FillValue};

    fn repr(n: u64, dtype: DataType) -> ChunkRepr {
        ChunkRepr { shape: alloc::vec![n], dtype, fill_value: FillValue::default() }
    }

    // numcodecs.VLenUTF8().encode(np.array(["a", "", "héllo"], dtype=object)).hex()
    const UTF8_REF: &str = "030000000100000061000000000600000068c3a96c6c6f";
    // numcodecs.VLenBytes().encode(np.array([b"\x00\xff", b"xyz"], dtype=object)).hex()
    const BYTES_REF: &str = "020000000200000000ff0300000078797a";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn utf8_matches_numcodecs() {
        let want = ArrayBytes::Variable(alloc::vec![b"a".to_vec(), b"".to_vec(), "h\u{e9}llo".as_bytes().to_vec()]);
        let r = repr(3, DataType::String);
        assert_eq!(VlenUtf8.decode(&unhex(UTF8_REF), &r, &Limits::default()).unwrap(), want);
        assert_eq!(VlenUtf8.encode(&want, &r).unwrap(), unhex(UTF8_REF));
    }

    #[test]
    fn bytes_matches_numcodecs() {
        let want = ArrayBytes::Variable(alloc::vec![alloc::vec![0, 0xff], b"xyz".to_vec()]);
        let r = repr(2, DataType::Bytes);
        assert_eq!(VlenBytes.decode(&unhex(BYTES_REF), &r, &Limits::default()).unwrap(), want);
        assert_eq!(VlenBytes.encode(&want, &r).unwrap(), unhex(BYTES_REF));
    }

    #[test]
    fn rejects_corrupt_input() {
        let l = Limits::default();
        let r = repr(1, DataType::Bytes);
        assert!(VlenBytes.decode(&[], &r, &l).is_err());
        assert!(VlenBytes.decode(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &r, &l).is_err(), "count mismatch");
        assert!(VlenBytes.decode(&[1, 0, 0, 0, 5, 0, 0, 0, 1], &r, &l).is_err(), "length past end");
        assert!(VlenBytes.decode(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], &r, &l).is_err(), "huge length");
        assert!(VlenBytes.decode(&[1, 0, 0, 0, 0, 0, 0, 0, 9], &r, &l).is_err(), "trailing bytes");
        assert!(VlenBytes.decode(&[1, 0, 0, 0, 1, 0, 0], &r, &l).is_err(), "truncated length");
        let big = repr(u64::from(u32::MAX), DataType::Bytes);
        assert!(VlenBytes.decode(&[0xff, 0xff, 0xff, 0xff], &big, &l).is_err(), "count beyond input");
        let s = repr(1, DataType::String);
        assert!(VlenUtf8.decode(&[1, 0, 0, 0, 1, 0, 0, 0, 0xff], &s, &l).is_err(), "invalid utf-8");
        assert!(VlenBytes.decode(&[1, 0, 0, 0, 1, 0, 0, 0, 0xff], &r, &l).is_ok());
        assert!(VlenBytes.decode(&[1, 0, 0, 0, 1, 0, 0, 0, 0xff], &repr(1, DataType::UInt8), &l).is_err());
    }

    #[test]
    fn metadata_round_trip() {
        assert_eq!(VlenUtf8::from_v3(VlenUtf8.to_v3().get("configuration")).unwrap(), VlenUtf8);
        assert_eq!(VlenBytes::from_v3(None).unwrap(), VlenBytes);
        assert!(VlenBytes::from_v3(Some(&json!({"x": 1}))).is_err());
        assert_eq!(VlenUtf8.to_v2(), json!({"id": "vlen-utf8"}));
    }
}
