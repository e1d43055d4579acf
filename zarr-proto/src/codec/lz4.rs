//! The `lz4` codec in numcodecs framing: a 4-byte little-endian decoded length,
//! then one LZ4 block (lz4_flex).

use alloc::vec;
use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::config::{int_key, only_keys, v2_object, v3_object};
use crate::error::{Error, Result};

const NAME: &str = "lz4";

/// The `lz4` bytes-to-bytes codec (v2 id `lz4`, v3 name `numcodecs.lz4`).
#[derive(Debug, Clone, PartialEq)]
pub struct Lz4 {
    /// numcodecs' `acceleration`; kept for metadata round trips (lz4_flex has one speed).
    pub acceleration: i32,
}

impl Default for Lz4 {
    /// Acceleration 1, numcodecs' default.
    fn default() -> Self {
        Lz4 { acceleration: 1 }
    }
}

impl Lz4 {
    /// Decodes `input`, failing rather than producing more than `max_len` bytes.
    ///
    /// The declared length is checked against `max_len` before anything is allocated.
    ///
    /// # Errors
    /// [`Error::Codec`] for input shorter than the header, a corrupt block or one that decodes
    /// to a length other than declared; [`Error::LimitExceeded`] when the declared length is
    /// above `max_len`.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let (header, block) = input.split_first_chunk::<4>().ok_or_else(|| {
            Error::codec(NAME, alloc::format!("{} bytes is too short for the length header", input.len()))
        })?;
        let declared = u32::from_le_bytes(*header);
        crate::limits::check("decoded lz4 chunk", u64::from(declared), max_len as u64)?;
        let declared = declared as usize;
        let mut out = vec![0u8; declared];
        let written = lz4_flex::block::decompress_into(block, &mut out)
            .map_err(|e| Error::codec(NAME, alloc::format!("corrupt block: {e}")))?;
        if written != declared {
            return Err(Error::codec(
                NAME,
                alloc::format!("header declares {declared} bytes, block decoded to {written}"),
            ));
        }
        Ok(out)
    }

    /// Encodes `input` as a length header and one LZ4 block.
    ///
    /// # Errors
    /// [`Error::Codec`] for input of 4 GiB or more, which the header cannot describe.
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        let len = u32::try_from(input.len()).map_err(|_| {
            Error::codec(NAME, alloc::format!("input of {} bytes exceeds the 4 GiB frame", input.len()))
        })?;
        let block = lz4_flex::block::compress(input);
        let mut out = Vec::with_capacity(block.len() + 4);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&block);
        Ok(out)
    }

    fn from_config(config: &serde_json::Map<alloc::string::String, Value>) -> Result<Self> {
        let acceleration =
            int_key(config, "acceleration", i64::from(i32::MIN)..=i64::from(i32::MAX), NAME)?.unwrap_or(1);
        Ok(Lz4 { acceleration: acceleration as i32 })
    }
}

impl Lz4 {
    /// Builds the codec from its v3 (`numcodecs.lz4`) `configuration` object, `{"acceleration": A}`.
    ///
    /// # Errors
    /// [`Error::Codec`] when `acceleration` is not an integer or an unknown key is present.
    pub fn from_v3(configuration: Option<&Value>) -> Result<Self> {
        match v3_object(configuration, NAME)? {
            None => Ok(Lz4::default()),
            Some(config) => {
                only_keys(config, &["acceleration"], NAME)?;
                Lz4::from_config(config)
            }
        }
    }

    /// The v3 metadata entry `{"name": "numcodecs.lz4", "configuration": {"acceleration": A}}`.
    pub fn to_v3(&self) -> Value {
        json!({"name": "numcodecs.lz4", "configuration": {"acceleration": self.acceleration}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "lz4", "acceleration": A}`.
    ///
    /// # Errors
    /// [`Error::Codec`] when `acceleration` is not an integer.
    pub fn from_v2(config: &Value) -> Result<Self> {
        Lz4::from_config(v2_object(config, NAME)?)
    }

    /// The v2 (numcodecs) object `{"id": "lz4", "acceleration": A}`.
    pub fn to_v2(&self) -> Value {
        json!({"id": NAME, "acceleration": self.acceleration})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::unhex;

    /// `numcodecs.LZ4().encode(data)` (numcodecs 0.16.6, C liblz4).
    const NUMCODECS: &str =
        "1c010000bf7a617272206368756e6b200b00bef031000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c\
        1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

    fn data() -> Vec<u8> {
        let mut d = b"zarr chunk ".repeat(20);
        d.extend(0u8..64);
        d
    }

    #[test]
    fn decodes_numcodecs_blob() {
        assert_eq!(Lz4::default().decode(&unhex(NUMCODECS), 1 << 20).unwrap(), data());
    }

    #[test]
    fn round_trips() {
        let c = Lz4::default();
        let d: Vec<u8> = (0..100_000u32).map(|i| ((i / 3) % 251) as u8 ^ (i >> 12) as u8).collect();
        let enc = c.encode(&d).unwrap();
        assert_eq!(&enc[..4], &(d.len() as u32).to_le_bytes());
        assert_eq!(c.decode(&enc, d.len()).unwrap(), d);
        assert_eq!(c.decode(&c.encode(&[]).unwrap(), 0).unwrap(), b"");
    }

    #[test]
    fn corrupt_and_truncated_input_is_an_error() {
        let c = Lz4::default();
        let blob = unhex(NUMCODECS);
        for cut in 0..blob.len() {
            assert!(c.decode(&blob[..cut], 1 << 20).is_err(), "prefix of {cut} bytes decoded");
        }
        // A header that disagrees with the block.
        let mut short = blob.clone();
        short[0] -= 1;
        assert!(matches!(c.decode(&short, 1 << 20), Err(Error::Codec { .. })));
        let mut long = blob.clone();
        long[0] += 1;
        assert!(matches!(c.decode(&long, 1 << 20), Err(Error::Codec { .. })));
        for i in 4..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0xff;
            let _ = c.decode(&bad, 1 << 20);
        }
    }

    #[test]
    fn declared_length_is_checked_before_allocating() {
        // A 9-byte input claiming 4 GiB - 1 of output.
        let bomb = [0xff, 0xff, 0xff, 0xff, 0x10, b'a', 0, 0, 0];
        assert_eq!(
            Lz4::default().decode(&bomb, 1 << 20).unwrap_err(),
            Error::LimitExceeded { what: "decoded lz4 chunk", requested: u64::from(u32::MAX), limit: 1 << 20 }
        );
        let real = Lz4::default().encode(&[0u8; 5000]).unwrap();
        assert!(matches!(Lz4::default().decode(&real, 4999), Err(Error::LimitExceeded { .. })));
    }

    #[test]
    fn metadata_round_trips() {
        let c = Lz4::from_v2(&json!({"id": "lz4", "acceleration": 1})).unwrap();
        assert_eq!(c, Lz4 { acceleration: 1 });
        assert_eq!(c.to_v2(), json!({"id": "lz4", "acceleration": 1}));
        assert_eq!(c.to_v3(), json!({"name": "numcodecs.lz4", "configuration": {"acceleration": 1}}));
        assert_eq!(Lz4::from_v3(Some(&json!({"acceleration": 3}))).unwrap(), Lz4 { acceleration: 3 });
        assert!(Lz4::from_v3(Some(&json!({"acceleration": "fast"}))).is_err());
    }
}
