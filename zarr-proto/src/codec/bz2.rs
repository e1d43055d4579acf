//! The numcodecs `bz2` compressor: one or more bzip2 streams, via the `bzip2` crate on
//! its pure-Rust backend (`libbz2-rs-sys`, a port of libbzip2 1.0.8: no C to build).
//!
//! Behind the feature `bz2`, which needs `std` (the crate's API does): the drivers
//! enable it, a `no_std` build of this crate refuses the codec as unsupported.
//!
//! Decoding follows Python's `bz2.decompress`, which numcodecs calls: concatenated
//! streams are decoded one after another, bytes after the last stream that are not a
//! stream are ignored, and a stream cut short is an error.

use alloc::format;
use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::config::{int_key, only_keys, v2_object, v3_object};
use crate::error::{Error, Result};

const NAME: &str = "bz2";

/// The `bz2` bytes-to-bytes codec (v2 id `bz2`, v3 name `numcodecs.bz2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bz2 {
    /// Compression level 1 to 9: the block size in units of 100 kB.
    pub level: u8,
}

impl Default for Bz2 {
    /// Level 1, numcodecs' default.
    fn default() -> Self {
        Bz2 { level: 1 }
    }
}

impl Bz2 {
    /// Decodes `input`, failing rather than producing more than `max_len` bytes.
    ///
    /// # Errors
    /// [`Error::Codec`] for input that is not bzip2, corrupt or cut short;
    /// [`Error::LimitExceeded`] above `max_len`.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        if input.is_empty() {
            return Err(Error::codec(NAME, "no bzip2 stream in 0 bytes"));
        }
        let mut out = Vec::new();
        let mut rest = input;
        let mut streams = 0usize;
        while !rest.is_empty() {
            match decode_stream(rest, &mut out, max_len) {
                Ok(used) => rest = &rest[used..],
                // Python's bz2.decompress ignores what follows the streams when it is not one.
                Err(StreamError::Corrupt(_)) if streams > 0 => break,
                Err(StreamError::Corrupt(reason)) => return Err(Error::codec(NAME, reason)),
                Err(StreamError::Other(e)) => return Err(e),
            }
            streams += 1;
        }
        Ok(out)
    }

    /// Encodes `input` as one bzip2 stream.
    ///
    /// # Errors
    /// [`Error::Codec`] if the compressor fails (it does not on valid levels).
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        use std::io::Write;
        let level = bzip2::Compression::new(u32::from(self.level.clamp(1, 9)));
        let mut encoder = bzip2::write::BzEncoder::new(Vec::with_capacity(input.len() / 2 + 64), level);
        encoder.write_all(input).map_err(|e| Error::codec(NAME, format!("compressing: {e}")))?;
        encoder.finish().map_err(|e| Error::codec(NAME, format!("compressing: {e}")))
    }

    fn from_config(config: &serde_json::Map<alloc::string::String, Value>) -> Result<Self> {
        let level = int_key(config, "level", 1..=9, NAME)?.unwrap_or(1);
        Ok(Bz2 { level: level as u8 })
    }

    /// Builds the codec from its v3 (`numcodecs.bz2`) `configuration`, `{"level": L}`.
    ///
    /// # Errors
    /// [`Error::Codec`] when `level` is not an integer in 1..=9 or an unknown key is present.
    pub fn from_v3(configuration: Option<&Value>) -> Result<Self> {
        match v3_object(configuration, NAME)? {
            None => Ok(Bz2::default()),
            Some(config) => {
                only_keys(config, &["level"], NAME)?;
                Bz2::from_config(config)
            }
        }
    }

    /// The v3 metadata entry `{"name": "numcodecs.bz2", "configuration": {"level": L}}`.
    pub fn to_v3(&self) -> Value {
        json!({"name": "numcodecs.bz2", "configuration": {"level": self.level}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "bz2", "level": L}` (level defaults to 1).
    ///
    /// # Errors
    /// [`Error::Codec`] when `level` is not an integer in 1..=9.
    pub fn from_v2(config: &Value) -> Result<Self> {
        Bz2::from_config(v2_object(config, NAME)?)
    }

    /// The v2 (numcodecs) object `{"id": "bz2", "level": L}`.
    pub fn to_v2(&self) -> Value {
        json!({"id": NAME, "level": self.level})
    }
}

enum StreamError {
    /// Not bzip2 data, or corrupt: ignored after a first good stream.
    Corrupt(alloc::string::String),
    /// Cut short, or over the size limit: always an error.
    Other(Error),
}

/// Decodes the bzip2 stream at the start of `input`, appending to `out`, which may not
/// grow past `max_len`; the number of input bytes the stream took.
fn decode_stream(input: &[u8], out: &mut Vec<u8>, max_len: usize) -> core::result::Result<usize, StreamError> {
    use bzip2::{Decompress, Status};
    let over = |len: usize| {
        StreamError::Other(Error::LimitExceeded { what: "bz2 output", requested: len as u64, limit: max_len as u64 })
    };
    let mut d = Decompress::new(false);
    loop {
        if out.len() == out.capacity() {
            // Grow by doubling from 64 KiB, to one byte past the limit at most: writing
            // that byte proves the stream too long without allocating what it claims.
            let room = out.len().max(1 << 16).min(max_len.saturating_add(1) - out.len());
            if room == 0 {
                return Err(over(out.len()));
            }
            out.try_reserve_exact(room).map_err(|_| over(out.len().saturating_add(room)))?;
        }
        let (used, had) = (d.total_in() as usize, out.len());
        let status = d.decompress_vec(&input[used..], out).map_err(|e| StreamError::Corrupt(format!("{e}")))?;
        if out.len() > max_len {
            return Err(over(out.len()));
        }
        match status {
            Status::StreamEnd => return Ok(d.total_in() as usize),
            _ if d.total_in() as usize == used && out.len() == had && out.len() < out.capacity() => {
                return Err(StreamError::Other(Error::codec(
                    NAME,
                    format!("stream cut short after {} bytes", input.len()),
                )));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::unhex;
    use alloc::vec;

    /// `numcodecs.BZ2(level=1).encode(b"zarr chunk " * 20 + bytes(range(64)))` (numcodecs 0.16.6,
    /// Python's libbzip2 1.0.8).
    const NUMCODECS_L1: &str =
        "425a6831314159265359f17bddd500008df9807fffffffffffffffa849121020007412551a00000000340000190036a1129a\
        64304184c04d1931308611a64c464c437e41b28e466cfa0928b30dd3ab5ec38f411da926a2ab2ec6e66fe1880080610801a6\
        f8b8ebd8f265cd9f469d5af66dddbf871e5cfa7571deddfc796022d823e821e0430118010f021808849033f8bb9229c28487\
        8bdeeea8";

    fn data() -> Vec<u8> {
        let mut d = b"zarr chunk ".repeat(20);
        d.extend(0u8..64);
        d
    }

    #[test]
    fn decodes_numcodecs_blob_and_encodes_it_the_same() {
        let blob = unhex(NUMCODECS_L1);
        assert_eq!(Bz2::default().decode(&blob, 1 << 20).unwrap(), data());
        assert_eq!(Bz2::default().encode(&data()).unwrap(), blob, "libbz2-rs-sys writes what libbzip2 writes");
        // Two streams back to back, then bytes that are no stream: Python's bz2.decompress
        // reads both and ignores the rest.
        let mut two = blob.clone();
        two.extend(&blob);
        two.extend(b"trailing");
        assert_eq!(Bz2::default().decode(&two, 1 << 20).unwrap(), [data(), data()].concat());
    }

    #[test]
    fn round_trips_every_level() {
        let d: Vec<u8> = (0..300_000u32).map(|i| ((i / 7) ^ (i >> 5)) as u8).collect();
        for level in 1..=9 {
            let c = Bz2 { level };
            assert_eq!(c.decode(&c.encode(&d).unwrap(), d.len()).unwrap(), d, "level {level}");
        }
        let empty = Bz2::default().encode(&[]).unwrap();
        assert_eq!(Bz2::default().decode(&empty, 0).unwrap(), b"");
    }

    #[test]
    fn corrupt_truncated_and_oversized_input_is_an_error() {
        let c = Bz2::default();
        let blob = unhex(NUMCODECS_L1);
        for cut in 0..blob.len() {
            assert!(c.decode(&blob[..cut], 1 << 20).is_err(), "prefix of {cut} bytes decoded");
        }
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0xa5;
            // Flipped bytes fail the block CRC or the format; never a panic.
            let _ = c.decode(&bad, 1 << 20);
        }
        assert!(matches!(c.decode(b"not bzip2", 1 << 20), Err(Error::Codec { .. })));
        let big = c.encode(&vec![7u8; 1 << 20]).unwrap();
        assert!(matches!(c.decode(&big, 1000), Err(Error::LimitExceeded { .. })));
        assert_eq!(c.decode(&big, 1 << 20).unwrap().len(), 1 << 20);
        assert!(Bz2::from_v2(&json!({"id": "bz2", "level": 0})).is_err());
        assert!(Bz2::from_v3(Some(&json!({"level": 10}))).is_err());
        assert!(Bz2::from_v3(Some(&json!({"level": 5, "x": 1}))).is_err());
        let c = Bz2 { level: 7 };
        assert_eq!(Bz2::from_v2(&c.to_v2()).unwrap(), c);
        assert_eq!(Bz2::from_v3(c.to_v3().get("configuration")).unwrap(), c);
    }
}
