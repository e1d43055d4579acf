//! The `crc32c` checksum codec: a 4-byte little-endian CRC-32C (Castagnoli) of the data.
//!
//! v3 (`crc32c`, no configuration) always appends the checksum. numcodecs' v2
//! `CRC32C` also appends it by default (`location: "end"`) but can be told to
//! prepend it (`location: "start"`); both layouts are read and written.

use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::config::{only_keys, v2_object, v3_object};
use crate::error::{Error, Result};

const NAME: &str = "crc32c";

/// CRC-32C (iSCSI polynomial), slice-by-16 tables computed at compile time.
const CRC32C: crc::Crc<u32, crc::Table<16>> = crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// The CRC-32C of `data`.
pub fn checksum(data: &[u8]) -> u32 {
    CRC32C.checksum(data)
}

/// Where the 4 checksum bytes sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumLocation {
    /// Before the data (numcodecs `location: "start"`).
    Start,
    /// After the data: v3, and numcodecs' default.
    #[default]
    End,
}

/// The `crc32c` bytes-to-bytes codec.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Crc32c {
    /// Where the checksum goes; always [`ChecksumLocation::End`] for v3.
    pub location: ChecksumLocation,
}

impl Crc32c {
    /// Verifies and strips the checksum, failing rather than producing more than `max_len` bytes.
    ///
    /// # Errors
    /// [`Error::Codec`] for input shorter than 4 bytes or a checksum mismatch (naming the
    /// stored and the computed value); [`Error::LimitExceeded`] when the data is longer than
    /// `max_len`.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        if input.len() < 4 {
            return Err(Error::codec(NAME, alloc::format!("{} bytes is too short for a 4-byte checksum", input.len())));
        }
        let (data, stored) = match self.location {
            ChecksumLocation::End => {
                let (data, stored) = input.split_at(input.len() - 4);
                (data, stored)
            }
            ChecksumLocation::Start => {
                let (stored, data) = input.split_at(4);
                (data, stored)
            }
        };
        crate::limits::check("crc32c payload", data.len() as u64, max_len as u64)?;
        let expected = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
        let actual = checksum(data);
        if expected != actual {
            return Err(Error::codec(
                NAME,
                alloc::format!("checksum mismatch: expected {expected:#010x}, computed {actual:#010x}"),
            ));
        }
        Ok(data.to_vec())
    }

    /// Adds the checksum of `input` (after it, or before it for [`ChecksumLocation::Start`]).
    ///
    /// # Errors
    /// Never for this codec; the `Result` keeps the codec interface uniform.
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        let sum = checksum(input).to_le_bytes();
        let mut out = Vec::with_capacity(input.len() + 4);
        match self.location {
            ChecksumLocation::End => {
                out.extend_from_slice(input);
                out.extend_from_slice(&sum);
            }
            ChecksumLocation::Start => {
                out.extend_from_slice(&sum);
                out.extend_from_slice(input);
            }
        }
        Ok(out)
    }
}

impl Crc32c {
    /// Builds the codec from its v3 `configuration` (none, or an empty object).
    ///
    /// # Errors
    /// [`Error::Codec`] when the configuration has any key.
    pub fn from_v3(configuration: Option<&Value>) -> Result<Self> {
        if let Some(config) = v3_object(configuration, NAME)? {
            only_keys(config, &[], NAME)?;
        }
        Ok(Crc32c::default())
    }

    /// The v3 metadata entry `{"name": "crc32c"}`.
    ///
    /// v3 has no prepended form: a [`ChecksumLocation::Start`] codec is written as
    /// `numcodecs.crc32c` with its location, which only numcodecs-aware readers accept.
    pub fn to_v3(&self) -> Value {
        match self.location {
            ChecksumLocation::End => json!({"name": NAME}),
            ChecksumLocation::Start => json!({"name": "numcodecs.crc32c", "configuration": {"location": "start"}}),
        }
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "crc32c", "location"?: "start" | "end"}`.
    ///
    /// # Errors
    /// [`Error::Codec`] for any other `location`.
    pub fn from_v2(config: &Value) -> Result<Self> {
        let location = match v2_object(config, NAME)?.get("location") {
            None | Some(Value::Null) => ChecksumLocation::End,
            Some(Value::String(s)) if s == "end" => ChecksumLocation::End,
            Some(Value::String(s)) if s == "start" => ChecksumLocation::Start,
            Some(other) => {
                return Err(Error::codec(NAME, alloc::format!("`location` must be \"start\" or \"end\", got {other}")))
            }
        };
        Ok(Crc32c { location })
    }

    /// The v2 (numcodecs) object `{"id": "crc32c"}` (with `"location": "start"` when prepending).
    pub fn to_v2(&self) -> Value {
        match self.location {
            ChecksumLocation::End => json!({"id": NAME}),
            ChecksumLocation::Start => json!({"id": NAME, "location": "start"}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::unhex;

    /// `numcodecs.checksum32.CRC32C().encode(data[:40])` (numcodecs 0.16.6, google-crc32c).
    const NUMCODECS_END: &str =
        "7a617272206368756e6b207a617272206368756e6b207a617272206368756e6b207a617272206368f2af7e40";
    /// The same with `CRC32C(location="start")`.
    const NUMCODECS_START: &str =
        "f2af7e407a617272206368756e6b207a617272206368756e6b207a617272206368756e6b207a617272206368";

    fn data() -> Vec<u8> {
        b"zarr chunk ".repeat(4)[..40].to_vec()
    }

    #[test]
    fn check_value() {
        // The CRC-32C catalogue check value.
        assert_eq!(checksum(b"123456789"), 0xe306_9283);
        assert_eq!(Crc32c::default().encode(b"123456789").unwrap()[9..], [0x83, 0x92, 0x06, 0xe3]);
    }

    #[test]
    fn decodes_and_encodes_numcodecs_layouts() {
        let end = Crc32c::default();
        let start = Crc32c { location: ChecksumLocation::Start };
        assert_eq!(end.decode(&unhex(NUMCODECS_END), 100).unwrap(), data());
        assert_eq!(start.decode(&unhex(NUMCODECS_START), 100).unwrap(), data());
        assert_eq!(end.encode(&data()).unwrap(), unhex(NUMCODECS_END));
        assert_eq!(start.encode(&data()).unwrap(), unhex(NUMCODECS_START));
        assert_eq!(end.decode(&end.encode(b"").unwrap(), 0).unwrap(), b"");
    }

    #[test]
    fn mismatch_names_both_values() {
        let mut blob = unhex(NUMCODECS_END);
        blob[0] ^= 1;
        assert_eq!(
            Crc32c::default().decode(&blob, 100).unwrap_err(),
            Error::codec(
                "crc32c",
                alloc::format!("checksum mismatch: expected 0x407eaff2, computed {:#010x}", checksum(&blob[..40]))
            )
        );
        for n in 0..4 {
            assert!(matches!(Crc32c::default().decode(&blob[..n], 100), Err(Error::Codec { .. })));
        }
        // The wrong location is a mismatch too, never a panic.
        assert!(Crc32c::default().decode(&unhex(NUMCODECS_START), 100).is_err());
    }

    #[test]
    fn limit_applies_to_the_payload() {
        let blob = unhex(NUMCODECS_END);
        assert!(matches!(Crc32c::default().decode(&blob, 39), Err(Error::LimitExceeded { requested: 40, .. })));
        assert_eq!(Crc32c::default().decode(&blob, 40).unwrap().len(), 40);
    }

    #[test]
    fn metadata_round_trips() {
        assert_eq!(Crc32c::from_v3(None).unwrap(), Crc32c::default());
        assert_eq!(Crc32c::from_v3(Some(&json!({}))).unwrap(), Crc32c::default());
        assert!(Crc32c::from_v3(Some(&json!({"location": "start"}))).is_err());
        assert_eq!(Crc32c::default().to_v3(), json!({"name": "crc32c"}));
        assert_eq!(Crc32c::from_v2(&json!({"id": "crc32c"})).unwrap(), Crc32c::default());
        let start = Crc32c::from_v2(&json!({"id": "crc32c", "location": "start"})).unwrap();
        assert_eq!(start.location, ChecksumLocation::Start);
        assert_eq!(start.to_v2(), json!({"id": "crc32c", "location": "start"}));
        assert_eq!(Crc32c::default().to_v2(), json!({"id": "crc32c"}));
        assert!(Crc32c::from_v2(&json!({"id": "crc32c", "location": "middle"})).is_err());
    }
}
