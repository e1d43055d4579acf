//! The `zlib` codec (numcodecs `Zlib`): one RFC 1950 stream, via miniz_oxide.
//!
//! Decoding verifies the Adler-32 and, like Python's `zlib.decompress` that
//! numcodecs calls, ignores bytes after the end of the stream.

use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::inflate::core::DecompressorOxide;
use serde_json::{json, Value};

use crate::codec::config::{int_key, only_keys, v2_object, v3_object};
use crate::codec::gzip::inflate_into;
use crate::error::Result;

const NAME: &str = "zlib";

/// The `zlib` bytes-to-bytes codec (v2 id `zlib`, v3 name `numcodecs.zlib`).
#[derive(Debug, Clone, PartialEq)]
pub struct Zlib {
    /// Compression level, 0 (store) to 9 (best); -1 (zlib's default) encodes as 6.
    pub level: i8,
}

impl Default for Zlib {
    /// Level 1, numcodecs' default.
    fn default() -> Self {
        Zlib { level: 1 }
    }
}

impl Zlib {
    /// Decodes `input`, failing rather than producing more than `max_len` bytes.
    ///
    /// # Errors
    /// [`Error::Codec`](crate::Error::Codec) for a bad header, corrupt or truncated data or an
    /// Adler-32 mismatch; [`Error::LimitExceeded`](crate::Error::LimitExceeded) above `max_len`.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut inflater = Box::<DecompressorOxide>::default();
        inflate_into(&mut inflater, input, &mut out, max_len, true, NAME)?;
        Ok(out)
    }

    /// Encodes `input` as one zlib stream.
    ///
    /// # Errors
    /// Never for this codec; the `Result` keeps the codec interface uniform.
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        let level = if self.level < 0 { 6 } else { self.level.min(9) as u8 };
        Ok(miniz_oxide::deflate::compress_to_vec_zlib(input, level))
    }

    fn from_config(config: &serde_json::Map<alloc::string::String, Value>) -> Result<Self> {
        let level = int_key(config, "level", -1..=9, NAME)?.unwrap_or(1);
        Ok(Zlib { level: level as i8 })
    }
}

impl Zlib {
    /// Builds the codec from its v3 (`numcodecs.zlib`) `configuration` object, `{"level": L}`.
    ///
    /// # Errors
    /// [`Error::Codec`](crate::Error::Codec) when `level` is not an integer in -1..=9 or an
    /// unknown key is present.
    pub fn from_v3(configuration: Option<&Value>) -> Result<Self> {
        match v3_object(configuration, NAME)? {
            None => Ok(Zlib::default()),
            Some(config) => {
                only_keys(config, &["level"], NAME)?;
                Zlib::from_config(config)
            }
        }
    }

    /// The v3 metadata entry `{"name": "numcodecs.zlib", "configuration": {"level": L}}`.
    pub fn to_v3(&self) -> Value {
        json!({"name": "numcodecs.zlib", "configuration": {"level": self.level}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "zlib", "level": L}` (level defaults to 1).
    ///
    /// # Errors
    /// [`Error::Codec`](crate::Error::Codec) when `level` is not an integer in -1..=9.
    pub fn from_v2(config: &Value) -> Result<Self> {
        Zlib::from_config(v2_object(config, NAME)?)
    }

    /// The v2 (numcodecs) object `{"id": "zlib", "level": L}`.
    pub fn to_v2(&self) -> Value {
        json!({"id": NAME, "level": self.level})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::unhex;
    use crate::Error;
    use alloc::vec;

    /// `numcodecs.Zlib(level=6).encode(data)` (numcodecs 0.16.6).
    const NUMCODECS_L6: &str =
        "789cab4a2c2a5248ce28cdcb56a81a6e4c06462666165636760e4e2e6e1e5e3e7e0141216111513171094929691959397905\
        452565155535750d4d2d6d1d5d3d7d03432363135333730b4b2b6b1b5b3b7b00991459c1";

    fn data() -> Vec<u8> {
        let mut d = b"zarr chunk ".repeat(20);
        d.extend(0u8..64);
        d
    }

    #[test]
    fn decodes_numcodecs_blob() {
        let blob = unhex(NUMCODECS_L6);
        assert_eq!(Zlib::default().decode(&blob, 1 << 20).unwrap(), data());
        // Python's zlib.decompress ignores trailing bytes; so do we.
        let mut trailing = blob.clone();
        trailing.extend(b"xyz");
        assert_eq!(Zlib::default().decode(&trailing, 1 << 20).unwrap(), data());
    }

    #[test]
    fn round_trips() {
        let d: Vec<u8> = (0..20_000u32).map(|i| ((i / 7) ^ (i >> 5)) as u8).collect();
        for level in -1..=9 {
            let c = Zlib { level };
            assert_eq!(c.decode(&c.encode(&d).unwrap(), d.len()).unwrap(), d, "level {level}");
        }
        assert_eq!(Zlib::default().decode(&Zlib::default().encode(&[]).unwrap(), 0).unwrap(), b"");
    }

    #[test]
    fn corrupt_and_truncated_input_is_an_error() {
        let c = Zlib::default();
        let blob = unhex(NUMCODECS_L6);
        for cut in 0..blob.len() {
            assert!(c.decode(&blob[..cut], 1 << 20).is_err(), "prefix of {cut} bytes decoded");
        }
        let mut bad = blob.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert_eq!(c.decode(&bad, 1 << 20).unwrap_err(), Error::codec("zlib", "adler32 checksum mismatch"));
        let mut bad_header = blob.clone();
        bad_header[1] ^= 1; // FCHECK no longer a multiple of 31
        assert!(matches!(c.decode(&bad_header, 1 << 20), Err(Error::Codec { .. })));
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0xa5;
            let _ = c.decode(&bad, 1 << 20);
        }
    }

    #[test]
    fn bomb_is_limit_exceeded() {
        let c = Zlib { level: 9 };
        let blob = c.encode(&vec![7u8; 8 << 20]).unwrap();
        assert!(matches!(c.decode(&blob, 1 << 20), Err(Error::LimitExceeded { limit: 1048576, .. })));
        assert_eq!(c.decode(&blob, 8 << 20).unwrap().len(), 8 << 20);
    }

    #[test]
    fn metadata_round_trips() {
        let c = Zlib::from_v2(&json!({"id": "zlib", "level": 4})).unwrap();
        assert_eq!(c, Zlib { level: 4 });
        assert_eq!(c.to_v2(), json!({"id": "zlib", "level": 4}));
        assert_eq!(c.to_v3(), json!({"name": "numcodecs.zlib", "configuration": {"level": 4}}));
        assert_eq!(Zlib::from_v3(Some(&json!({"level": 9}))).unwrap(), Zlib { level: 9 });
        assert_eq!(Zlib::from_v3(None).unwrap(), Zlib { level: 1 });
        assert!(Zlib::from_v2(&json!({"id": "zlib", "level": 12})).is_err());
        assert!(Zlib::from_v3(Some(&json!({"level": 1, "wbits": 15}))).is_err());
    }
}
