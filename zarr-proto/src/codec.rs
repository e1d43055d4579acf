//! Codecs in the three kinds of the v3 specification, a chain of them, and the
//! registry that builds them from metadata by name.
//!
//! A chunk is decoded by running the bytes→bytes codecs in reverse, then the one
//! array→bytes codec, then the array→array codecs in reverse. v2 arrays map onto
//! the same chain: `order: "F"` becomes a transpose, filters become array→array
//! codecs, the dtype's byte order becomes a `bytes` codec, the compressor a
//! bytes→bytes codec. Every codec is a pure function of its configuration and
//! input, so decoding can run on whatever thread a driver chooses.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::dtype::{DataType, FillValue};
use crate::error::Result;
use crate::limits::Limits;
use crate::ndarray::ArrayBytes;

pub mod astype;
pub mod blosc;
pub mod bytes;
#[cfg(feature = "bz2")]
pub mod bz2;
mod config;
pub mod crc32c;
pub mod delta;
pub mod fixedscaleoffset;
pub mod gzip;
pub mod lz4;
pub mod registry;
pub mod sharding;
pub mod shuffle;
pub mod transpose;
pub mod vlen;
pub mod zlib;
pub mod zstd;

pub use registry::CodecRegistry;

/// The shape, data type and fill value of a chunk as one codec sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRepr {
    /// Chunk shape (after any preceding array→array codec, e.g. transposed).
    pub shape: Vec<u64>,
    /// Element type at this point of the chain.
    pub dtype: DataType,
    /// Fill value in this representation's data type.
    pub fill_value: FillValue,
}

impl ChunkRepr {
    /// Number of elements in the chunk.
    pub fn num_elements(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// Codecs that turn an array into another array (same number of elements).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum ArrayToArrayCodec {
    Transpose(transpose::Transpose),
    Delta(delta::Delta),
    FixedScaleOffset(fixedscaleoffset::FixedScaleOffset),
    AsType(astype::AsType),
}

/// Codecs that serialize an array into bytes.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum ArrayToBytesCodec {
    Bytes(bytes::BytesCodec),
    VlenUtf8(vlen::VlenUtf8),
    VlenBytes(vlen::VlenBytes),
    Sharding(Box<sharding::ShardingCodec>),
}

/// Codecs that turn bytes into bytes (compressors, checksums).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum BytesToBytesCodec {
    Gzip(gzip::Gzip),
    Zlib(zlib::Zlib),
    Zstd(zstd::Zstd),
    Blosc(blosc::Blosc),
    Crc32c(crc32c::Crc32c),
    Lz4(lz4::Lz4),
    Shuffle(shuffle::Shuffle),
    #[cfg(feature = "bz2")]
    Bz2(bz2::Bz2),
}

/// A codec of any kind, as the registry builds it from one metadata entry.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum AnyCodec {
    ArrayToArray(ArrayToArrayCodec),
    ArrayToBytes(ArrayToBytesCodec),
    BytesToBytes(BytesToBytesCodec),
}

impl ArrayToArrayCodec {
    /// The codec's name in metadata.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Transpose(_) => "transpose",
            Self::Delta(_) => "delta",
            Self::FixedScaleOffset(_) => "fixedscaleoffset",
            Self::AsType(_) => "astype",
        }
    }

    /// The representation this codec produces when encoding `decoded`.
    ///
    /// # Errors
    /// When the codec does not apply to this representation (wrong rank, dtype).
    pub fn encoded_repr(&self, decoded: &ChunkRepr) -> Result<ChunkRepr> {
        match self {
            Self::Transpose(c) => c.encoded_repr(decoded),
            Self::Delta(c) => c.encoded_repr(decoded),
            Self::FixedScaleOffset(c) => c.encoded_repr(decoded),
            Self::AsType(c) => c.encoded_repr(decoded),
        }
    }

    /// Decodes `data` (in the encoded representation) back into `decoded`'s representation.
    pub fn decode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        match self {
            Self::Transpose(c) => c.decode(data, decoded),
            Self::Delta(c) => c.decode(data, decoded),
            Self::FixedScaleOffset(c) => c.decode(data, decoded),
            Self::AsType(c) => c.decode(data, decoded),
        }
    }

    /// Encodes `data`, which is in `decoded`'s representation.
    pub fn encode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        match self {
            Self::Transpose(c) => c.encode(data, decoded),
            Self::Delta(c) => c.encode(data, decoded),
            Self::FixedScaleOffset(c) => c.encode(data, decoded),
            Self::AsType(c) => c.encode(data, decoded),
        }
    }
}

impl ArrayToBytesCodec {
    /// The codec's name in metadata.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bytes(_) => "bytes",
            Self::VlenUtf8(_) => "vlen-utf8",
            Self::VlenBytes(_) => "vlen-bytes",
            Self::Sharding(_) => "sharding_indexed",
        }
    }

    /// Decodes `bytes` into an array of `repr`.
    ///
    /// # Errors
    /// Corrupt input, or a decoded size above `limits.max_chunk_bytes`.
    pub fn decode(&self, bytes: &[u8], repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        match self {
            Self::Bytes(c) => c.decode(bytes, repr, limits),
            Self::VlenUtf8(c) => c.decode(bytes, repr, limits),
            Self::VlenBytes(c) => c.decode(bytes, repr, limits),
            Self::Sharding(c) => c.decode(bytes, repr, limits),
        }
    }

    /// Encodes an array of `repr` into bytes.
    pub fn encode(&self, data: &ArrayBytes, repr: &ChunkRepr) -> Result<Vec<u8>> {
        match self {
            Self::Bytes(c) => c.encode(data, repr),
            Self::VlenUtf8(c) => c.encode(data, repr),
            Self::VlenBytes(c) => c.encode(data, repr),
            Self::Sharding(c) => c.encode(data, repr),
        }
    }
}

impl BytesToBytesCodec {
    /// The codec's name in metadata.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Gzip(_) => "gzip",
            Self::Zlib(_) => "zlib",
            Self::Zstd(_) => "zstd",
            Self::Blosc(_) => "blosc",
            Self::Crc32c(_) => "crc32c",
            Self::Lz4(_) => "lz4",
            Self::Shuffle(_) => "shuffle",
            #[cfg(feature = "bz2")]
            Self::Bz2(_) => "bz2",
        }
    }

    /// Decodes `input`; output longer than `max_len` bytes is an error, not an allocation.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        match self {
            Self::Gzip(c) => c.decode(input, max_len),
            Self::Zlib(c) => c.decode(input, max_len),
            Self::Zstd(c) => c.decode(input, max_len),
            Self::Blosc(c) => c.decode(input, max_len),
            Self::Crc32c(c) => c.decode(input, max_len),
            Self::Lz4(c) => c.decode(input, max_len),
            Self::Shuffle(c) => c.decode(input, max_len),
            #[cfg(feature = "bz2")]
            Self::Bz2(c) => c.decode(input, max_len),
        }
    }

    /// Encodes `input`.
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        match self {
            Self::Gzip(c) => c.encode(input),
            Self::Zlib(c) => c.encode(input),
            Self::Zstd(c) => c.encode(input),
            Self::Blosc(c) => c.encode(input),
            Self::Crc32c(c) => c.encode(input),
            Self::Lz4(c) => c.encode(input),
            Self::Shuffle(c) => c.encode(input),
            #[cfg(feature = "bz2")]
            Self::Bz2(c) => c.encode(input),
        }
    }

    /// Bytes this codec adds to or removes from its input at a fixed offset, when known
    /// (crc32c appends 4); `None` for compressors.
    pub fn fixed_overhead(&self) -> Option<usize> {
        match self {
            Self::Crc32c(_) => Some(4),
            Self::Shuffle(_) => Some(0),
            _ => None,
        }
    }
}

/// The codecs of one array (or one shard's inner chunks), in encoding order.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecChain {
    /// Applied first when encoding, last when decoding.
    pub array_to_array: Vec<ArrayToArrayCodec>,
    /// Serializes the array.
    pub array_to_bytes: ArrayToBytesCodec,
    /// Applied last when encoding, first when decoding.
    pub bytes_to_bytes: Vec<BytesToBytesCodec>,
}

impl CodecChain {
    /// Splits an ordered list of codecs into a chain, checking the v3 kind order.
    ///
    /// # Errors
    /// No array→bytes codec, more than one, or codecs out of order.
    pub fn from_codecs(codecs: Vec<AnyCodec>) -> Result<CodecChain> {
        let mut array_to_array = Vec::new();
        let mut array_to_bytes = None;
        let mut bytes_to_bytes = Vec::new();
        for codec in codecs {
            match codec {
                AnyCodec::ArrayToArray(c) => {
                    if array_to_bytes.is_some() {
                        return Err(chain_error("array->array codec after the array->bytes codec"));
                    }
                    array_to_array.push(c);
                }
                AnyCodec::ArrayToBytes(c) => {
                    if array_to_bytes.is_some() {
                        return Err(chain_error("more than one array->bytes codec"));
                    }
                    array_to_bytes = Some(c);
                }
                AnyCodec::BytesToBytes(c) => {
                    if array_to_bytes.is_none() {
                        return Err(chain_error("bytes->bytes codec before the array->bytes codec"));
                    }
                    bytes_to_bytes.push(c);
                }
            }
        }
        let array_to_bytes = array_to_bytes.ok_or_else(|| chain_error("no array->bytes codec"))?;
        Ok(CodecChain { array_to_array, array_to_bytes, bytes_to_bytes })
    }

    /// The representation seen by each array→array codec's output, then the array→bytes codec.
    ///
    /// Element `i` is the input representation of `array_to_array[i]`; the last element
    /// is what the array→bytes codec serializes.
    pub fn reprs(&self, decoded: &ChunkRepr) -> Result<Vec<ChunkRepr>> {
        let mut out = Vec::with_capacity(self.array_to_array.len() + 1);
        out.push(decoded.clone());
        for codec in &self.array_to_array {
            let next = codec.encoded_repr(out.last().expect("starts non-empty"))?;
            out.push(next);
        }
        Ok(out)
    }

    /// Decodes one stored chunk into the elements of `repr`, C order.
    ///
    /// # Errors
    /// Corrupt input, or sizes above `limits`.
    pub fn decode(&self, bytes: &[u8], repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        match self.bytes_to_bytes.last() {
            // A compressor reads the borrowed bytes directly; no copy first.
            Some(last) => {
                let bound = self.decompressed_bound(repr, limits)?;
                self.decode_after(last.decode(bytes, bound)?, 1, repr, limits)
            }
            None => self.decode_after(bytes.to_vec(), 0, repr, limits),
        }
    }

    /// The most bytes a bytes→bytes decoder of this chain may produce for `repr`.
    ///
    /// For fixed-size elements stored by `bytes`, the decoded stream is exactly the
    /// elements' size, so a decoder may stop soon after it: a 1 MB zlib stream that
    /// inflates to 1 GiB is refused after about the chunk's size, not after
    /// `limits.max_chunk_bytes` (measured: an 80-byte chunk's bomb peaked at 3 GiB RSS).
    /// Outer codecs of a stack see the inner ones' encoded stream, which is larger by
    /// headers and incompressible blocks: the slack (1/64 + 64 KiB) covers those.
    fn decompressed_bound(&self, repr: &ChunkRepr, limits: &Limits) -> Result<usize> {
        let reprs = self.reprs(repr)?;
        let inner = reprs.last().expect("reprs is never empty");
        let exact = match (&self.array_to_bytes, inner.dtype.size()) {
            (ArrayToBytesCodec::Bytes(_), Some(size)) => inner.num_elements().saturating_mul(size as u64),
            _ => return Ok(max_len(limits)),
        };
        let bound = exact.saturating_add(exact / 64).saturating_add(64 << 10);
        Ok(usize::try_from(bound).unwrap_or(usize::MAX).min(max_len(limits)))
    }

    /// Like [`decode`](Self::decode), taking ownership so an uncompressed chunk in
    /// native byte order becomes the output without a copy.
    pub fn decode_owned(&self, bytes: Vec<u8>, repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        self.decode_after(bytes, 0, repr, limits)
    }

    /// Decodes `bytes`, which the last `done` bytes→bytes codecs have already decoded.
    fn decode_after(&self, bytes: Vec<u8>, done: usize, repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        let reprs = self.reprs(repr)?;
        let mut bytes = bytes;
        if self.bytes_to_bytes.len() > done {
            let bound = self.decompressed_bound(repr, limits)?;
            for codec in self.bytes_to_bytes.iter().rev().skip(done) {
                bytes = codec.decode(&bytes, bound)?;
            }
        }
        let inner = reprs.last().expect("reprs is never empty");
        let mut data = match &self.array_to_bytes {
            ArrayToBytesCodec::Bytes(c) => c.decode_owned(bytes, inner, limits)?,
            other => other.decode(&bytes, inner, limits)?,
        };
        for (codec, decoded) in self.array_to_array.iter().zip(&reprs).rev() {
            data = codec.decode(data, decoded)?;
        }
        Ok(data)
    }

    /// Encodes the elements of `repr` (C order) into stored bytes.
    pub fn encode(&self, data: ArrayBytes, repr: &ChunkRepr) -> Result<Vec<u8>> {
        let reprs = self.reprs(repr)?;
        let mut data = data;
        for (codec, decoded) in self.array_to_array.iter().zip(&reprs) {
            data = codec.encode(data, decoded)?;
        }
        let inner = reprs.last().expect("reprs is never empty");
        let mut bytes = self.array_to_bytes.encode(&data, inner)?;
        for codec in &self.bytes_to_bytes {
            bytes = codec.encode(&bytes)?;
        }
        Ok(bytes)
    }

    /// Sets the element size of `numcodecs.shuffle` codecs whose v3 configuration has
    /// none to `item_size`, the array's data type size, as zarr-python does when it opens
    /// the array; inside a shard too (its index holds 8-byte integers).
    pub(crate) fn resolve_element_sizes(&mut self, item_size: usize) {
        for c in &mut self.bytes_to_bytes {
            if let BytesToBytesCodec::Shuffle(s) = c {
                *s = s.clone().resolved(item_size);
            }
        }
        if let ArrayToBytesCodec::Sharding(s) = &mut self.array_to_bytes {
            s.codecs.resolve_element_sizes(item_size);
            s.index_codecs.resolve_element_sizes(8);
        }
    }

    /// The sharding codec, when the chain is exactly `sharding_indexed` (what partial shard reads need).
    pub fn sharding(&self) -> Option<&sharding::ShardingCodec> {
        match (&self.array_to_array[..], &self.array_to_bytes, &self.bytes_to_bytes[..]) {
            ([], ArrayToBytesCodec::Sharding(s), []) => Some(s),
            _ => None,
        }
    }
}

/// The largest decoded size `limits` allow, as a `usize`.
fn max_len(limits: &Limits) -> usize {
    usize::try_from(limits.max_chunk_bytes).unwrap_or(usize::MAX)
}

fn chain_error(reason: &str) -> crate::Error {
    crate::Error::codec("codec chain", reason)
}

/// Bytes from a hex string, whitespace ignored: the codecs' tests write reference
/// blobs (from numcodecs, GNU gzip, ...) this way, wrapped to fit the line width.
#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2).map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}

#[cfg(test)]
mod bound_tests {
    use crate::limits::Limits;
    use crate::metadata::ArrayMetadata;
    use crate::CodecRegistry;

    /// An 80-byte chunk (10 x f8) whose zlib stream inflates to 64 MiB: refused once the
    /// output passes the chunk's size plus slack, not at `max_chunk_bytes` (2 GiB).
    #[test]
    fn a_decompression_bomb_stops_near_the_chunk_size() {
        let zarray =
            br#"{"zarr_format":2,"shape":[10],"chunks":[10],"dtype":"<f8","compressor":{"id":"zlib","level":1},
            "fill_value":0.0,"order":"C","filters":null}"#;
        let meta = ArrayMetadata::from_v2_json(zarray, None, &CodecRegistry::default(), &Limits::default()).unwrap();
        let repr = meta.chunk_repr(&[0]).unwrap();
        let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&alloc::vec![0u8; 64 << 20], 6);
        assert!(bomb.len() < 1 << 20);
        let e = meta.codecs.decode(&bomb, &repr, &Limits::default()).unwrap_err();
        let text = alloc::format!("{e}");
        assert!(text.contains(&alloc::format!("{}", 80 + 80 / 64 + (64 << 10))), "{text}");
        // The honest chunk still decodes.
        let honest = miniz_oxide::deflate::compress_to_vec_zlib(&[0u8; 80], 6);
        assert!(meta.codecs.decode(&honest, &repr, &Limits::default()).is_ok());
    }
}
