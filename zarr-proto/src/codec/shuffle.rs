//! The numcodecs `shuffle` filter: a byte transpose of fixed-size elements.
//!
//! `n = len / elementsize` elements become `elementsize` streams of `n` bytes, stream
//! `j` holding byte `j` of every element: the layout of blosc's byte shuffle, here
//! applied to a whole chunk with no compression. numcodecs refuses a buffer that is
//! not a whole number of elements, on encode and decode alike; so do we, rather than
//! guess what the trailing bytes mean. An element size of 0 or 1 copies the bytes.
//!
//! v2 arrays list it among the filters (`{"id": "shuffle", "elementsize": N}`); it
//! acts on the array's bytes, so it is a bytes->bytes codec here, run before the
//! compressor. zarr-python 3 names it `numcodecs.shuffle` in v3 arrays and, when the
//! configuration has no `elementsize`, takes the data type's size.

use alloc::vec;
use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::blosc::shuffle::{shuffle, unshuffle};
use crate::codec::config::{int_key, only_keys, v2_object, v3_object};
use crate::error::{Error, Result};

const NAME: &str = "shuffle";

/// The largest element size accepted: numcodecs takes any; a bound keeps a hostile
/// configuration from asking for an absurd transpose. 2^20 bytes is far beyond any
/// data type (complex128 is 16).
const MAX_ELEMENTSIZE: i64 = 1 << 20;

/// The `shuffle` bytes-to-bytes codec (v2 filter id `shuffle`, v3 name `numcodecs.shuffle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shuffle {
    /// Bytes per element. `None` only for a v3 entry without one, until the array's
    /// metadata resolves it to the data type's size ([`Shuffle::resolved`]).
    pub elementsize: Option<usize>,
}

impl Default for Shuffle {
    /// Element size 4, numcodecs' default.
    fn default() -> Self {
        Shuffle { elementsize: Some(4) }
    }
}

impl Shuffle {
    /// This codec with an unset element size taken as `item_size` (zarr-python's rule
    /// for v3 arrays: the data type's size).
    pub fn resolved(self, item_size: usize) -> Self {
        Shuffle { elementsize: Some(self.elementsize.unwrap_or(item_size)) }
    }

    fn size(&self, len: usize) -> Result<usize> {
        let size = self.elementsize.ok_or_else(|| Error::codec(NAME, "element size not known"))?;
        if size > 1 && len % size != 0 {
            return Err(Error::codec(
                NAME,
                alloc::format!("{len} bytes is not a whole number of {size}-byte elements"),
            ));
        }
        Ok(size)
    }

    /// Undoes the shuffle, failing rather than producing more than `max_len` bytes.
    ///
    /// # Errors
    /// [`Error::Codec`] for input that is not a whole number of elements;
    /// [`Error::LimitExceeded`] above `max_len`.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        crate::limits::check("shuffle output", input.len() as u64, max_len as u64)?;
        let size = self.size(input.len())?;
        let mut out = vec![0u8; input.len()];
        unshuffle(size, input, &mut out);
        Ok(out)
    }

    /// Shuffles `input`.
    ///
    /// # Errors
    /// [`Error::Codec`] for input that is not a whole number of elements.
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        let size = self.size(input.len())?;
        let mut out = vec![0u8; input.len()];
        shuffle(size, input, &mut out);
        Ok(out)
    }

    fn from_config(config: &serde_json::Map<alloc::string::String, Value>, default: Option<usize>) -> Result<Self> {
        let size = int_key(config, "elementsize", 0..=MAX_ELEMENTSIZE, NAME)?;
        Ok(Shuffle { elementsize: size.map(|s| s as usize).or(default) })
    }

    /// Builds the codec from its v3 (`numcodecs.shuffle`) `configuration`, `{"elementsize": N}`;
    /// without `elementsize` the array's metadata sets the data type's size.
    ///
    /// # Errors
    /// [`Error::Codec`] when `elementsize` is not an integer in 0..=2^20 or an unknown key is present.
    pub fn from_v3(configuration: Option<&Value>) -> Result<Self> {
        match v3_object(configuration, NAME)? {
            None => Ok(Shuffle { elementsize: None }),
            Some(config) => {
                only_keys(config, &["elementsize"], NAME)?;
                Shuffle::from_config(config, None)
            }
        }
    }

    /// The v3 metadata entry `{"name": "numcodecs.shuffle", "configuration": {"elementsize": N}}`.
    pub fn to_v3(&self) -> Value {
        match self.elementsize {
            Some(n) => json!({"name": "numcodecs.shuffle", "configuration": {"elementsize": n}}),
            None => json!({"name": "numcodecs.shuffle", "configuration": {}}),
        }
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "shuffle", "elementsize": N}`
    /// (numcodecs' default: 4).
    ///
    /// # Errors
    /// [`Error::Codec`] when `elementsize` is not an integer in 0..=2^20.
    pub fn from_v2(config: &Value) -> Result<Self> {
        Shuffle::from_config(v2_object(config, NAME)?, Some(4))
    }

    /// The v2 (numcodecs) object `{"id": "shuffle", "elementsize": N}`.
    pub fn to_v2(&self) -> Value {
        json!({"id": NAME, "elementsize": self.elementsize.unwrap_or(4)})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `numcodecs.Shuffle(elementsize=4).encode(np.arange(6, dtype="<u4"))` (numcodecs 0.16.6):
    /// byte 0 of every element first, then byte 1, ...
    #[test]
    fn matches_numcodecs_layout() {
        let input: Vec<u8> = (0u32..6).flat_map(|v| v.to_le_bytes()).collect();
        let mut expected = vec![0u8, 1, 2, 3, 4, 5];
        expected.extend([0u8; 18]);
        let c = Shuffle { elementsize: Some(4) };
        assert_eq!(c.encode(&input).unwrap(), expected);
        assert_eq!(c.decode(&expected, 24).unwrap(), input);
    }

    #[test]
    fn round_trips_every_element_size() {
        let d: Vec<u8> = (0..1680u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for size in [0usize, 1, 2, 3, 4, 5, 7, 8, 12, 16] {
            let c = Shuffle { elementsize: Some(size) };
            let e = c.encode(&d).unwrap();
            assert_eq!(c.decode(&e, d.len()).unwrap(), d, "element size {size}");
            if size > 1 {
                assert_ne!(e, d, "element size {size} shuffled nothing");
            }
        }
    }

    #[test]
    fn partial_elements_limits_and_configs_are_errors() {
        let c = Shuffle { elementsize: Some(4) };
        assert!(matches!(c.decode(&[1, 2, 3, 4, 5], 100), Err(Error::Codec { .. })));
        assert!(matches!(c.encode(&[1, 2, 3]), Err(Error::Codec { .. })));
        assert!(matches!(c.decode(&[0; 8], 4), Err(Error::LimitExceeded { .. })));
        assert!(matches!(Shuffle { elementsize: None }.decode(&[0; 8], 8), Err(Error::Codec { .. })));
        assert!(Shuffle::from_v2(&json!({"id": "shuffle", "elementsize": -1})).is_err());
        assert!(Shuffle::from_v2(&json!({"id": "shuffle", "elementsize": "4"})).is_err());
        assert!(Shuffle::from_v3(Some(&json!({"elementsize": 4, "x": 1}))).is_err());
        assert_eq!(Shuffle::from_v2(&json!({"id": "shuffle"})).unwrap(), Shuffle::default());
        assert_eq!(Shuffle::from_v3(None).unwrap().resolved(8), Shuffle { elementsize: Some(8) });
        let c = Shuffle { elementsize: Some(2) };
        assert_eq!(Shuffle::from_v2(&c.to_v2()).unwrap(), c);
        assert_eq!(
            Shuffle::from_v2(&json!({"id": "shuffle", "elementsize": 0})).unwrap().decode(&[1, 2, 3], 3).unwrap(),
            [1, 2, 3]
        );
        assert_eq!(Shuffle::from_v3(c.to_v3().get("configuration")).unwrap(), c);
    }

    /// A v3 entry without `elementsize` takes the array's data type size, in a shard too,
    /// as zarr-python does when it opens the array.
    #[test]
    fn a_v3_array_without_elementsize_uses_the_data_type_size() {
        use crate::codec::{ArrayToBytesCodec, BytesToBytesCodec, CodecRegistry};
        use crate::{ArrayMetadata, Limits};
        let doc = br#"{"zarr_format":3,"node_type":"array","shape":[8],"data_type":"int32",
            "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[8]}},
            "chunk_key_encoding":{"name":"default"},"fill_value":0,
            "codecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[4],
                "codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"numcodecs.shuffle"}]}}]}"#;
        let meta = ArrayMetadata::from_v3_json(doc, &CodecRegistry::default(), &Limits::default()).unwrap();
        let ArrayToBytesCodec::Sharding(s) = &meta.codecs.array_to_bytes else { panic!("a sharded array") };
        assert_eq!(s.codecs.bytes_to_bytes, [BytesToBytesCodec::Shuffle(Shuffle { elementsize: Some(4) })]);
    }
}
