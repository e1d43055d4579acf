//! The `gzip` codec: RFC 1952 members around a raw deflate stream (miniz_oxide).
//!
//! Decoding parses the member header (with `FEXTRA`, `FNAME`, `FCOMMENT` and
//! `FHCRC`), inflates into a buffer that never grows past the caller's limit,
//! verifies the CRC-32 and `ISIZE` trailer, and accepts concatenated members and
//! trailing zero padding, as Python's `gzip` module (which numcodecs uses) does.
//! Encoding writes one member with no name and `MTIME` 0.
//!
//! This file also holds the bounded inflate loop that [`zlib`](super::zlib) shares.

use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use serde_json::{json, Value};

use crate::codec::config::{int_key, only_keys, v2_object, v3_object};
use crate::error::{Error, Result};

const NAME: &str = "gzip";

/// CRC-32 (ISO-HDLC, the gzip/zlib polynomial), slice-by-16 tables computed at compile time.
const CRC32: crc::Crc<u32, crc::Table<16>> = crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISO_HDLC);

const FTEXT: u8 = 1 << 0;
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;

/// The `gzip` bytes-to-bytes codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Gzip {
    /// Compression level, 0 (store) to 9 (best).
    pub level: u8,
}

impl Default for Gzip {
    /// Level 5, zarr-python's default for new v3 arrays.
    fn default() -> Self {
        Gzip { level: 5 }
    }
}

impl Gzip {
    /// Decodes `input` (one or more gzip members), failing rather than producing more than
    /// `max_len` bytes.
    ///
    /// # Errors
    /// [`Error::Codec`] for a bad header, corrupt deflate data, a CRC-32 or length mismatch,
    /// truncated input or trailing garbage; [`Error::LimitExceeded`] above `max_len`.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = input;
        let mut inflater = Box::<DecompressorOxide>::default();
        loop {
            let body = parse_header(rest)?;
            rest = body;
            let start = out.len();
            let consumed = inflate_into(&mut inflater, rest, &mut out, max_len, false, NAME)?;
            rest = rest.get(consumed..).unwrap_or_default();
            let trailer =
                rest.get(..8).ok_or_else(|| Error::codec(NAME, "truncated member: missing crc32/isize trailer"))?;
            let (crc_bytes, size_bytes) = trailer.split_at(4);
            let expected_crc = u32::from_le_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
            let expected_size = u32::from_le_bytes([size_bytes[0], size_bytes[1], size_bytes[2], size_bytes[3]]);
            let member = out.get(start..).unwrap_or_default();
            let actual_crc = CRC32.checksum(member);
            if actual_crc != expected_crc {
                return Err(Error::codec(
                    NAME,
                    alloc::format!("crc32 mismatch: expected {expected_crc:#010x}, got {actual_crc:#010x}"),
                ));
            }
            // ISIZE is the length modulo 2^32.
            let actual_size = member.len() as u32;
            if actual_size != expected_size {
                return Err(Error::codec(
                    NAME,
                    alloc::format!("isize mismatch: trailer says {expected_size} bytes, decoded {actual_size}"),
                ));
            }
            rest = rest.get(8..).unwrap_or_default();
            // Another member, or zero padding (tolerated by gzip(1) and Python), or the end.
            if rest.iter().all(|&b| b == 0) {
                return Ok(out);
            }
        }
    }

    /// Encodes `input` as one gzip member.
    ///
    /// # Errors
    /// Never for this codec; the `Result` keeps the codec interface uniform.
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        let deflated = miniz_oxide::deflate::compress_to_vec(input, self.level.min(9));
        let xfl = match self.level {
            9 => 2,
            0 | 1 => 4,
            _ => 0,
        };
        let mut out = Vec::with_capacity(deflated.len() + 18);
        // ID1 ID2 CM FLG, MTIME = 0, XFL, OS = 255 (unknown).
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff]);
        out.extend_from_slice(&deflated);
        out.extend_from_slice(&CRC32.checksum(input).to_le_bytes());
        out.extend_from_slice(&(input.len() as u32).to_le_bytes());
        Ok(out)
    }
}

/// Parses one member header and returns the bytes after it (the deflate stream).
fn parse_header(input: &[u8]) -> Result<&[u8]> {
    let fixed = input.get(..10).ok_or_else(|| Error::codec(NAME, "truncated member header"))?;
    if fixed[0] != 0x1f || fixed[1] != 0x8b {
        return Err(Error::codec(
            NAME,
            alloc::format!("not a gzip member: magic {:02x}{:02x}, expected 1f8b", fixed[0], fixed[1]),
        ));
    }
    if fixed[2] != 8 {
        return Err(Error::codec(
            NAME,
            alloc::format!("unsupported compression method {} (only 8, deflate)", fixed[2]),
        ));
    }
    let flags = fixed[3];
    if flags & !(FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT) != 0 {
        return Err(Error::codec(NAME, alloc::format!("reserved header flag bits set: {flags:#04x}")));
    }
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let xlen = input.get(pos..pos + 2).ok_or_else(|| Error::codec(NAME, "truncated FEXTRA length"))?;
        let xlen = usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        pos += 2;
        if input.len() < pos + xlen {
            return Err(Error::codec(NAME, "truncated FEXTRA field"));
        }
        pos += xlen;
    }
    for (flag, what) in [(FNAME, "FNAME"), (FCOMMENT, "FCOMMENT")] {
        if flags & flag != 0 {
            let field = input.get(pos..).unwrap_or_default();
            let nul = field
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| Error::codec(NAME, alloc::format!("unterminated {what} field")))?;
            pos += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        let stored = input.get(pos..pos + 2).ok_or_else(|| Error::codec(NAME, "truncated FHCRC field"))?;
        let expected = u16::from_le_bytes([stored[0], stored[1]]);
        let actual = (CRC32.checksum(input.get(..pos).unwrap_or_default()) & 0xffff) as u16;
        if expected != actual {
            return Err(Error::codec(
                NAME,
                alloc::format!("header crc16 mismatch: expected {expected:#06x}, got {actual:#06x}"),
            ));
        }
        pos += 2;
    }
    Ok(input.get(pos..).unwrap_or_default())
}

/// Inflates one deflate (or, with `zlib`, one zlib) stream from the start of `input`,
/// appending to `out`, and returns how many input bytes the stream used.
///
/// `out` never holds more than `max_len + 1` bytes: output beyond `max_len` is
/// [`Error::LimitExceeded`]. A zlib stream's Adler-32 is verified.
pub(crate) fn inflate_into(
    inflater: &mut DecompressorOxide,
    input: &[u8],
    out: &mut Vec<u8>,
    max_len: usize,
    zlib: bool,
    codec: &'static str,
) -> Result<usize> {
    inflater.init();
    let mut flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    if zlib {
        flags |= inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER;
    }
    let start = out.len();
    // The buffer may hold one byte past the limit so that output of exactly `max_len`
    // bytes finishes with `Done` rather than asking for more room.
    let cap = max_len.saturating_add(1);
    if start >= cap {
        return Err(limit_error(codec, max_len));
    }
    let first = input.len().saturating_mul(4).clamp(4096, 1 << 26);
    let mut len = start.saturating_add(first).min(cap);
    out.resize(len, 0);
    let mut in_pos = 0;
    let mut out_pos = 0;
    loop {
        let window = out.get_mut(start..).unwrap_or_default();
        let (status, in_used, out_used) =
            decompress(inflater, input.get(in_pos..).unwrap_or_default(), window, out_pos, flags);
        in_pos += in_used;
        out_pos += out_used;
        match status {
            TINFLStatus::Done => {
                let end = start + out_pos;
                out.truncate(end);
                if end > max_len {
                    return Err(limit_error(codec, max_len));
                }
                return Ok(in_pos);
            }
            TINFLStatus::HasMoreOutput => {
                if len >= cap {
                    out.truncate(start);
                    return Err(limit_error(codec, max_len));
                }
                len = len.saturating_mul(2).min(cap);
                out.resize(len, 0);
            }
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                return Err(Error::codec(codec, "truncated deflate stream"));
            }
            TINFLStatus::Adler32Mismatch => return Err(Error::codec(codec, "adler32 checksum mismatch")),
            TINFLStatus::BadParam | TINFLStatus::Failed => {
                return Err(Error::codec(
                    codec,
                    if zlib { "corrupt zlib stream (bad header or deflate data)" } else { "corrupt deflate data" },
                ))
            }
            #[allow(unreachable_patterns)]
            _ => return Err(Error::codec(codec, "corrupt deflate data")),
        }
    }
}

fn limit_error(codec: &'static str, max_len: usize) -> Error {
    let limit = max_len as u64;
    Error::LimitExceeded {
        what: match codec {
            "zlib" => "decoded zlib chunk",
            _ => "decoded gzip chunk",
        },
        requested: limit.saturating_add(1),
        limit,
    }
}

impl Gzip {
    /// Builds the codec from its v3 `configuration` object, `{"level": 0..=9}`.
    ///
    /// # Errors
    /// [`Error::Codec`] when `level` is missing, out of range or another key is present.
    pub fn from_v3(configuration: Option<&Value>) -> Result<Self> {
        let config = v3_object(configuration, NAME)?.ok_or_else(|| Error::codec(NAME, "missing configuration"))?;
        only_keys(config, &["level"], NAME)?;
        let level = int_key(config, "level", 0..=9, NAME)?.ok_or_else(|| Error::codec(NAME, "missing `level`"))?;
        Ok(Gzip { level: level as u8 })
    }

    /// The v3 metadata entry `{"name": "gzip", "configuration": {"level": L}}`.
    pub fn to_v3(&self) -> Value {
        json!({"name": NAME, "configuration": {"level": self.level}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "gzip", "level": L}` (level defaults to 1).
    ///
    /// # Errors
    /// [`Error::Codec`] when `level` is not an integer in 0..=9.
    pub fn from_v2(config: &Value) -> Result<Self> {
        let config = v2_object(config, NAME)?;
        let level = int_key(config, "level", 0..=9, NAME)?.unwrap_or(1);
        Ok(Gzip { level: level as u8 })
    }

    /// The v2 (numcodecs) object `{"id": "gzip", "level": L}`.
    pub fn to_v2(&self) -> Value {
        json!({"id": NAME, "level": self.level})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::unhex;
    use alloc::vec;

    /// `numcodecs.GZip(level=5).encode(data())` (numcodecs 0.16.6, Python 3.11 `gzip`).
    const NUMCODECS_L5: &str =
        "1f8b0800adc4086b00ffab4a2c2a5248ce28cdcb56a81a6e4c06462666165636760e4e2e6e1e5e3e7e014121611151317109\
        4929691959397905452565155535750d4d2d6d1d5d3d7d03432363135333730b4b2b6b1b5b3b7b008344c6141c010000";

    /// `gzip -9 --name` (GNU gzip) of `data()` stored as `d.bin`: sets FNAME.
    const GNU_GZIP_FNAME: &str = "1f8b0808b2c4086b0203642e62696e00ab4a2c2a5248ce28cdcb56a81a6e4c06462666165636760e4e2e6e1e5e3e7e01\
        41216111513171094929691959397905452565155535750d4d2d6d1d5d3d7d03432363135333730b4b2b6b1b5b3b7b008344c6141c010000";

    fn data() -> Vec<u8> {
        let mut d = b"zarr chunk ".repeat(20);
        d.extend(0u8..64);
        d
    }

    /// Hex (whitespace ignored) to bytes, for embedded reference blobs.
    #[test]
    fn decodes_numcodecs_blob() {
        let blob = unhex(NUMCODECS_L5);
        assert_eq!(Gzip::default().decode(&blob, 1 << 20).unwrap(), data());
        let named = unhex(GNU_GZIP_FNAME);
        assert_eq!(Gzip::default().decode(&named, 1 << 20).unwrap(), data());
    }

    #[test]
    fn round_trips_every_level() {
        let mut d = data().repeat(50);
        d.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        for level in 0..=9 {
            let c = Gzip { level };
            let enc = c.encode(&d).unwrap();
            assert_eq!(c.decode(&enc, d.len()).unwrap(), d, "level {level}");
        }
        let empty = Gzip::default().encode(&[]).unwrap();
        assert_eq!(Gzip::default().decode(&empty, 0).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn accepts_concatenated_members_and_zero_padding() {
        let c = Gzip::default();
        let mut blob = c.encode(b"hello ").unwrap();
        blob.extend(c.encode(b"world").unwrap());
        blob.extend([0, 0, 0]);
        assert_eq!(c.decode(&blob, 100).unwrap(), b"hello world");
        // Trailing garbage that is not a member is an error.
        let mut bad = c.encode(b"hello").unwrap();
        bad.push(7);
        assert!(matches!(c.decode(&bad, 100), Err(Error::Codec { .. })));
    }

    #[test]
    fn parses_optional_header_fields() {
        let c = Gzip::default();
        let plain = c.encode(b"payload").unwrap();
        let mut header = vec![0x1f, 0x8b, 8, FEXTRA | FNAME | FCOMMENT | FHCRC, 0, 0, 0, 0, 0, 3];
        header.extend([3, 0, b'a', b'b', b'c']); // FEXTRA, XLEN = 3
        header.extend(b"name.bin\0");
        header.extend(b"a comment\0");
        let crc16 = (CRC32.checksum(&header) & 0xffff) as u16;
        header.extend(crc16.to_le_bytes());
        let mut blob = header.clone();
        blob.extend(&plain[10..]);
        assert_eq!(c.decode(&blob, 100).unwrap(), b"payload");
        // A wrong header crc is caught.
        let n = header.len();
        blob[n - 1] ^= 0xff;
        let err = c.decode(&blob, 100).unwrap_err();
        assert!(alloc::format!("{err}").contains("header crc16 mismatch"), "{err}");
    }

    #[test]
    fn corrupt_and_truncated_input_is_an_error() {
        let c = Gzip::default();
        let d = data();
        let blob = c.encode(&d).unwrap();
        for cut in 0..blob.len() {
            assert!(c.decode(&blob[..cut], 1 << 20).is_err(), "prefix of {cut} bytes decoded");
        }
        // A flipped crc byte names both values.
        let mut bad = blob.clone();
        let n = bad.len();
        bad[n - 8] ^= 1;
        let err = alloc::format!("{}", c.decode(&bad, 1 << 20).unwrap_err());
        assert!(err.contains("crc32 mismatch: expected"), "{err}");
        // A wrong ISIZE.
        let mut bad = blob.clone();
        bad[n - 1] ^= 1;
        assert!(alloc::format!("{}", c.decode(&bad, 1 << 20).unwrap_err()).contains("isize mismatch"));
        // Every single-byte corruption is either detected or (never) a panic.
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x55;
            let _ = c.decode(&bad, 1 << 20);
        }
        assert!(c.decode(b"", 10).is_err());
        assert!(c.decode(b"PK\x03\x04 not gzip", 10).is_err());
    }

    #[test]
    fn bomb_is_limit_exceeded() {
        let c = Gzip { level: 9 };
        let zeros = vec![0u8; 4 << 20];
        let blob = c.encode(&zeros).unwrap();
        assert!(blob.len() < 8 << 10);
        assert!(matches!(c.decode(&blob, 1 << 20), Err(Error::LimitExceeded { limit: 1048576, .. })));
        // Exactly at the limit is fine, one byte below is not.
        assert_eq!(c.decode(&blob, 4 << 20).unwrap().len(), 4 << 20);
        assert!(matches!(c.decode(&blob, (4 << 20) - 1), Err(Error::LimitExceeded { .. })));
        // The limit covers all members together.
        let mut two = c.encode(&[1u8; 600]).unwrap();
        two.extend(c.encode(&[2u8; 600]).unwrap());
        assert!(matches!(c.decode(&two, 1000), Err(Error::LimitExceeded { .. })));
        assert_eq!(c.decode(&two, 1200).unwrap().len(), 1200);
    }

    #[test]
    fn metadata_round_trips() {
        let c = Gzip::from_v3(Some(&json!({"level": 7}))).unwrap();
        assert_eq!(c, Gzip { level: 7 });
        assert_eq!(c.to_v3(), json!({"name": "gzip", "configuration": {"level": 7}}));
        assert_eq!(Gzip::from_v2(&json!({"id": "gzip", "level": 3})).unwrap(), Gzip { level: 3 });
        assert_eq!(Gzip::from_v2(&json!({"id": "gzip"})).unwrap(), Gzip { level: 1 });
        assert_eq!(Gzip { level: 3 }.to_v2(), json!({"id": "gzip", "level": 3}));
        assert!(Gzip::from_v3(Some(&json!({"level": 10}))).is_err());
        assert!(Gzip::from_v3(Some(&json!({"level": "5"}))).is_err());
        assert!(Gzip::from_v3(Some(&json!({"level": 5, "mtime": 0}))).is_err());
        assert!(Gzip::from_v3(None).is_err());
    }
}
