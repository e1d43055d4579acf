//! The `sharding_indexed` codec: many inner chunks in one stored object plus an index.
//!
//! A shard is the inner chunks' encoded bytes back to back, plus an index: a
//! `[chunks_per_shard..., 2]` uint64 array of `(offset, nbytes)` per inner chunk in C
//! order, encoded with `index_codecs` and stored at the start or the end of the shard.
//! `(u64::MAX, u64::MAX)` marks an inner chunk that was never written (fill value).
//! Offsets are relative to the start of the shard, index included.
//!
//! The partial-read logic (fetch the index, then only the needed inner chunks)
//! lives in [`ReadOp`](crate::ReadOp); this module knows the layout.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::codec::{ArrayToArrayCodec, ArrayToBytesCodec, BytesToBytesCodec, ChunkRepr, CodecChain};
use crate::dtype::{is_all_fill, DataType, FillValue};
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::ndarray::ArrayBytes;

const NAME: &str = "sharding_indexed";

#[cfg(test)]
#[path = "interop_tests.rs"]
mod interop;

/// Where the shard index is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexLocation {
    /// At the start of the shard.
    Start,
    /// At the end of the shard (the default).
    End,
}

/// The `sharding_indexed` array-to-bytes codec.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardingCodec {
    /// Shape of each inner chunk.
    pub chunk_shape: Vec<u64>,
    /// Codecs of the inner chunks.
    pub codecs: CodecChain,
    /// Codecs of the index (a `[chunks..., 2]` uint64 array).
    pub index_codecs: CodecChain,
    /// Where the index is.
    pub index_location: IndexLocation,
}

/// The decoded index of one shard: `(offset, nbytes)` per inner chunk in C order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIndex {
    /// `(offset, nbytes)` pairs; `(u64::MAX, u64::MAX)` marks an empty inner chunk.
    pub entries: Vec<(u64, u64)>,
}

impl ShardIndex {
    /// The byte range of inner chunk `i` (C-order linear index), or `None` when empty.
    pub fn get(&self, i: usize) -> Option<(u64, u64)> {
        match self.entries.get(i) {
            Some(&(u64::MAX, u64::MAX)) | None => None,
            Some(&pair) => Some(pair),
        }
    }
}

fn err(reason: impl Into<alloc::string::String>) -> Error {
    Error::codec(NAME, reason)
}

fn to_usize(n: u64, what: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| err(format!("{what} of {n} does not fit in memory")))
}

impl ShardingCodec {
    /// Inner chunks per shard along each dimension.
    ///
    /// # Errors
    /// A rank mismatch, a zero inner chunk extent, or a shard shape that is not a multiple
    /// of the inner chunk shape.
    pub fn chunks_per_shard(&self, shard_shape: &[u64]) -> Result<Vec<u64>> {
        if shard_shape.len() != self.chunk_shape.len() {
            return Err(err(format!(
                "inner chunk shape {:?} has {} dimensions, shard shape {:?} has {}",
                self.chunk_shape,
                self.chunk_shape.len(),
                shard_shape,
                shard_shape.len()
            )));
        }
        shard_shape
            .iter()
            .zip(&self.chunk_shape)
            .map(|(&s, &c)| match s.checked_rem(c) {
                Some(0) => Ok(s / c),
                _ => Err(err(format!(
                    "shard shape {shard_shape:?} is not a multiple of the inner chunk shape {:?}",
                    self.chunk_shape
                ))),
            })
            .collect()
    }

    /// C-order linear index of the inner chunk at grid position `inner` within a shard.
    ///
    /// Coordinates outside `chunks_per_shard` give an index that [`ShardIndex::get`]
    /// answers with `None` only when it is past the end; callers pass in-range coordinates.
    pub fn inner_chunk_index(&self, chunks_per_shard: &[u64], inner: &[u64]) -> usize {
        let idx =
            inner.iter().zip(chunks_per_shard).fold(0u64, |acc, (&i, &n)| acc.saturating_mul(n).saturating_add(i));
        usize::try_from(idx).unwrap_or(usize::MAX)
    }

    /// Encoded size of the index in bytes.
    ///
    /// The index codecs must have a fixed encoded size: `bytes` (optionally after
    /// `transpose`) followed by checksums such as `crc32c`.
    ///
    /// # Errors
    /// Index codecs of unknown size (compressors, vlen, nested sharding), or an overflow.
    pub fn index_size(&self, chunks_per_shard: &[u64]) -> Result<u64> {
        let overflow = || err(format!("index of {chunks_per_shard:?} inner chunks is too large"));
        let entries = chunks_per_shard.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n)).ok_or_else(overflow)?;
        let mut size = entries.checked_mul(16).ok_or_else(overflow)?;
        if let Some(c) = self.index_codecs.array_to_array.iter().find(|c| !matches!(c, ArrayToArrayCodec::Transpose(_)))
        {
            return Err(err(format!("index codec `{}` does not have a fixed encoded size", c.name())));
        }
        if !matches!(self.index_codecs.array_to_bytes, ArrayToBytesCodec::Bytes(_)) {
            return Err(err(format!(
                "index codec `{}` does not have a fixed encoded size",
                self.index_codecs.array_to_bytes.name()
            )));
        }
        for c in &self.index_codecs.bytes_to_bytes {
            let extra = c
                .fixed_overhead()
                .ok_or_else(|| err(format!("index codec `{}` does not have a fixed encoded size", c.name())))?;
            size = size.checked_add(extra as u64).ok_or_else(overflow)?;
        }
        Ok(size)
    }

    fn index_repr(chunks_per_shard: &[u64]) -> ChunkRepr {
        let mut shape = chunks_per_shard.to_vec();
        shape.push(2);
        ChunkRepr { shape, dtype: DataType::UInt64, fill_value: FillValue(u64::MAX.to_ne_bytes().to_vec()) }
    }

    /// Decodes an encoded index, checking its size against `limits`.
    ///
    /// # Errors
    /// An index larger than `limits.max_shard_index_bytes`, bytes of the wrong length,
    /// a failed checksum, or an entry whose `offset + nbytes` overflows.
    pub fn decode_index(&self, bytes: &[u8], chunks_per_shard: &[u64], limits: &Limits) -> Result<ShardIndex> {
        let size = self.index_size(chunks_per_shard)?;
        limits::check("shard index", size, limits.max_shard_index_bytes)?;
        if bytes.len() as u64 != size {
            return Err(err(format!("shard index has {} bytes, expected {size}", bytes.len())));
        }
        let repr = Self::index_repr(chunks_per_shard);
        let decoded_size = limits::checked_size("shard index", &repr.shape, 8, limits.max_shard_index_bytes)?;
        let index_limits = Limits { max_chunk_bytes: decoded_size, ..*limits };
        let raw = match self.index_codecs.decode(bytes, &repr, &index_limits)? {
            ArrayBytes::Fixed(b) => b,
            ArrayBytes::Variable(_) => return Err(err("index codecs produced variable-length data")),
        };
        let mut entries = Vec::with_capacity(raw.len() / 16);
        for pair in raw.chunks_exact(16) {
            let (o, n) = pair.split_at(8);
            let offset = u64::from_ne_bytes(o.try_into().map_err(|_| err("short index entry"))?);
            let nbytes = u64::from_ne_bytes(n.try_into().map_err(|_| err("short index entry"))?);
            if (offset, nbytes) != (u64::MAX, u64::MAX) && offset.checked_add(nbytes).is_none() {
                return Err(err(format!(
                    "index entry {} has offset {offset} + nbytes {nbytes} past the largest byte offset",
                    entries.len()
                )));
            }
            entries.push((offset, nbytes));
        }
        if entries.len() as u64 * 16 != decoded_size {
            return Err(err(format!("decoded index has {} bytes, expected {decoded_size}", raw.len())));
        }
        Ok(ShardIndex { entries })
    }

    fn inner_repr(&self, shard: &ChunkRepr) -> ChunkRepr {
        ChunkRepr { shape: self.chunk_shape.clone(), dtype: shard.dtype.clone(), fill_value: shard.fill_value.clone() }
    }

    /// Decodes a whole shard; inner chunks that are not stored are the fill value.
    ///
    /// # Errors
    /// A shard shape that is not a multiple of the inner chunk shape, a shard shorter than
    /// its index, a corrupt index or inner chunk, an inner chunk outside the shard, or a
    /// decoded size above `limits.max_chunk_bytes`.
    pub fn decode(&self, bytes: &[u8], repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
        let cps = self.chunks_per_shard(&repr.shape)?;
        let index_size = self.index_size(&cps)?;
        let len = bytes.len() as u64;
        if len < index_size {
            return Err(err(format!("shard of {len} bytes is shorter than its {index_size} byte index")));
        }
        let split = to_usize(index_size, "index size")?;
        let index_bytes = match self.index_location {
            IndexLocation::Start => bytes.get(..split),
            IndexLocation::End => bytes.get(bytes.len() - split..),
        }
        .ok_or_else(|| err("shard shorter than its index"))?;
        let index = self.decode_index(index_bytes, &cps, limits)?;
        let inner = self.inner_repr(repr);
        let item = repr.dtype.size();
        // Variable-length elements cost at least a Vec header each.
        let item_cost = item.unwrap_or(core::mem::size_of::<Vec<u8>>()) as u64;
        limits::checked_size("decoded shard", &repr.shape, item_cost, limits.max_chunk_bytes)?;
        let n = to_usize(repr.num_elements(), "shard element count")?;
        let fill = fill_element(repr)?;
        let shard_shape = to_usizes(&repr.shape)?;
        let chunk_shape = to_usizes(&self.chunk_shape)?;
        let mut out = ArrayBytes::filled(&repr.dtype, &fill, n)?;
        let mut coords = alloc::vec![0u64; cps.len()];
        for (i, entry) in index.entries.iter().enumerate() {
            if i > 0 {
                increment(&mut coords, &cps);
            }
            let Some((offset, nbytes)) = ShardIndex::get_entry(*entry) else { continue };
            let end = offset.checked_add(nbytes).filter(|&e| e <= len).ok_or_else(|| {
                err(format!("inner chunk {coords:?} at {offset}+{nbytes} lies outside the {len} byte shard"))
            })?;
            let chunk_bytes = bytes
                .get(to_usize(offset, "offset")?..to_usize(end, "offset")?)
                .ok_or_else(|| err("inner chunk outside the shard"))?;
            let decoded = self.codecs.decode(chunk_bytes, &inner, limits)?;
            let origin: Vec<usize> = coords.iter().zip(&chunk_shape).map(|(&c, &s)| c as usize * s).collect();
            match (&mut out, decoded) {
                (ArrayBytes::Fixed(dst), ArrayBytes::Fixed(src)) => {
                    let item = item.unwrap_or(1);
                    check_chunk_len(src.len(), &chunk_shape, item)?;
                    copy_block(&src, dst, &shard_shape, &chunk_shape, &origin, item, true);
                }
                (ArrayBytes::Variable(dst), ArrayBytes::Variable(src)) => {
                    check_chunk_len(src.len(), &chunk_shape, 1)?;
                    copy_block(&src, dst, &shard_shape, &chunk_shape, &origin, 1, true);
                }
                _ => return Err(err(format!("inner chunk {coords:?} decoded to the wrong kind of elements"))),
            }
        }
        Ok(out)
    }

    /// Encodes a whole shard.
    ///
    /// Inner chunks whose every element equals the fill value are not stored (bytewise,
    /// except that any NaN equals a NaN fill value, as zarr-python compares).
    /// Inner chunks are written in Morton order, like zarr-python, so shards match its
    /// output byte for byte. A shard with no stored inner chunk is just an index of empty
    /// entries; callers that delete such shards check [`ShardIndex`] or the fill value first.
    ///
    /// # Errors
    /// A shape that is not a multiple of the inner chunk shape, data that does not match
    /// `repr`, or an inner codec failure.
    pub fn encode(&self, data: &ArrayBytes, repr: &ChunkRepr) -> Result<Vec<u8>> {
        self.encode_keeping(data, repr, &BTreeMap::new()).map(|(shard, _)| shard)
    }

    /// Encodes a whole shard, taking the inner chunks in `kept` (C-order linear index
    /// to encoded bytes, from the shard this one replaces) as they are instead of
    /// encoding their part of `data`: a partial shard update copies the inner chunks
    /// it does not touch without decoding and re-encoding them.
    ///
    /// Returns the shard and how many inner chunks it stores (0: just an index).
    ///
    /// # Errors
    /// As for [`encode`](Self::encode).
    pub(crate) fn encode_keeping(
        &self,
        data: &ArrayBytes,
        repr: &ChunkRepr,
        kept: &BTreeMap<usize, Bytes>,
    ) -> Result<(Vec<u8>, usize)> {
        let cps = self.chunks_per_shard(&repr.shape)?;
        let index_size = self.index_size(&cps)?;
        let n_chunks = to_usize(cps.iter().product(), "inner chunk count")?;
        let inner = self.inner_repr(repr);
        let shard_shape = to_usizes(&repr.shape)?;
        let chunk_shape = to_usizes(&self.chunk_shape)?;
        let n = to_usize(repr.num_elements(), "shard element count")?;
        let chunk_n = to_usize(inner.num_elements(), "inner chunk element count")?;
        let fill = fill_element(repr)?;
        let item = match (data, repr.dtype.size()) {
            (ArrayBytes::Fixed(b), Some(item)) if n.checked_mul(item) == Some(b.len()) => item,
            (ArrayBytes::Variable(v), None) if v.len() == n => 1,
            _ => return Err(err(format!("data does not hold the {n} elements of the shard"))),
        };
        let mut entries = alloc::vec![(u64::MAX, u64::MAX); n_chunks];
        // One buffer for the whole shard: the index goes in place at the start (room kept
        // here) or is appended at the end, never a second copy of the shard to join them.
        let index_at_start = self.index_location == IndexLocation::Start;
        let mut body: Vec<u8> = alloc::vec![0u8; if index_at_start { to_usize(index_size, "index size")? } else { 0 }];
        let mut stored = 0;
        for linear in morton_order(&cps) {
            if let Some(bytes) = kept.get(&linear) {
                if let Some(e) = entries.get_mut(linear) {
                    *e = (body.len() as u64, bytes.len() as u64);
                }
                body.extend_from_slice(bytes);
                stored += 1;
                continue;
            }
            let coords = unravel(linear, &cps);
            let origin: Vec<usize> = coords.iter().zip(&chunk_shape).map(|(&c, &s)| c as usize * s).collect();
            let chunk = match data {
                ArrayBytes::Fixed(src) => {
                    let mut dst = alloc::vec![0u8; chunk_n * item];
                    copy_block(src, &mut dst, &shard_shape, &chunk_shape, &origin, item, false);
                    let dst = ArrayBytes::Fixed(dst);
                    if is_all_fill(&dst, &repr.dtype, &fill) {
                        continue;
                    }
                    dst
                }
                ArrayBytes::Variable(src) => {
                    let mut dst = alloc::vec![Vec::new(); chunk_n];
                    copy_block(src, &mut dst, &shard_shape, &chunk_shape, &origin, 1, false);
                    if dst.iter().all(|e| e.as_slice() == fill.as_bytes()) {
                        continue;
                    }
                    ArrayBytes::Variable(dst)
                }
            };
            let encoded = self.codecs.encode(chunk, &inner)?;
            if encoded.is_empty() {
                continue;
            }
            let offset = body.len() as u64;
            if let Some(e) = entries.get_mut(linear) {
                *e = (offset, encoded.len() as u64);
            }
            body.extend_from_slice(&encoded);
            stored += 1;
        }
        let index_data: Vec<u8> =
            entries.iter().flat_map(|&(o, n)| [o.to_ne_bytes(), n.to_ne_bytes()]).flatten().collect();
        let index = self.index_codecs.encode(ArrayBytes::Fixed(index_data), &Self::index_repr(&cps))?;
        if index.len() as u64 != index_size {
            return Err(err(format!("encoded index has {} bytes, expected {index_size}", index.len())));
        }
        if index_at_start {
            if let Some(room) = body.get_mut(..index.len()) {
                room.copy_from_slice(&index);
            }
        } else {
            body.extend_from_slice(&index);
        }
        Ok((body, stored))
    }

    /// Decodes one stored inner chunk (C-order linear index `linear`) into its place in
    /// `shard`, the decoded shard of `repr`'s shape and type.
    ///
    /// # Errors
    /// A corrupt inner chunk, one that decodes to the wrong size or kind of elements,
    /// or a `shard` buffer that does not match `repr`.
    pub(crate) fn decode_inner_into(
        &self,
        shard: &mut ArrayBytes,
        repr: &ChunkRepr,
        linear: usize,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<()> {
        let cps = self.chunks_per_shard(&repr.shape)?;
        let coords = unravel(linear, &cps);
        let shard_shape = to_usizes(&repr.shape)?;
        let chunk_shape = to_usizes(&self.chunk_shape)?;
        let n = to_usize(repr.num_elements(), "shard element count")?;
        let origin: Vec<usize> = coords.iter().zip(&chunk_shape).map(|(&c, &s)| c as usize * s).collect();
        let decoded = self.codecs.decode(bytes, &self.inner_repr(repr), limits)?;
        match (shard, decoded) {
            (ArrayBytes::Fixed(dst), ArrayBytes::Fixed(src)) => {
                let item = repr.dtype.size().unwrap_or(1);
                check_chunk_len(src.len(), &chunk_shape, item)?;
                if dst.len() != n.saturating_mul(item) {
                    return Err(err(format!("shard buffer of {} bytes for {n} elements", dst.len())));
                }
                copy_block(&src, dst, &shard_shape, &chunk_shape, &origin, item, true);
            }
            (ArrayBytes::Variable(dst), ArrayBytes::Variable(src)) => {
                check_chunk_len(src.len(), &chunk_shape, 1)?;
                if dst.len() != n {
                    return Err(err(format!("shard buffer of {} elements for {n}", dst.len())));
                }
                copy_block(&src, dst, &shard_shape, &chunk_shape, &origin, 1, true);
            }
            _ => return Err(err(format!("inner chunk {coords:?} decoded to the wrong kind of elements"))),
        }
        Ok(())
    }

    /// The v3 metadata entry.
    pub fn to_v3(&self) -> serde_json::Value {
        json!({
            "name": NAME,
            "configuration": {
                "chunk_shape": self.chunk_shape,
                "codecs": chain_to_v3(&self.codecs),
                "index_codecs": chain_to_v3(&self.index_codecs),
                "index_location": match self.index_location {
                    IndexLocation::Start => "start",
                    IndexLocation::End => "end",
                },
            }
        })
    }
}

impl ShardIndex {
    fn get_entry(entry: (u64, u64)) -> Option<(u64, u64)> {
        (entry != (u64::MAX, u64::MAX)).then_some(entry)
    }
}

/// The v3 `codecs` list of a chain, in encoding order.
pub fn chain_to_v3(chain: &CodecChain) -> Vec<Value> {
    let mut out = Vec::new();
    for c in &chain.array_to_array {
        out.push(match c {
            ArrayToArrayCodec::Transpose(c) => c.to_v3(),
            ArrayToArrayCodec::Delta(c) => c.to_v3(),
            ArrayToArrayCodec::FixedScaleOffset(c) => c.to_v3(),
            ArrayToArrayCodec::AsType(c) => c.to_v3(),
        });
    }
    out.push(match &chain.array_to_bytes {
        ArrayToBytesCodec::Bytes(c) => c.to_v3(),
        ArrayToBytesCodec::VlenUtf8(c) => c.to_v3(),
        ArrayToBytesCodec::VlenBytes(c) => c.to_v3(),
        ArrayToBytesCodec::Sharding(c) => c.to_v3(),
    });
    for c in &chain.bytes_to_bytes {
        out.push(match c {
            BytesToBytesCodec::Gzip(c) => c.to_v3(),
            BytesToBytesCodec::Zlib(c) => c.to_v3(),
            BytesToBytesCodec::Zstd(c) => c.to_v3(),
            BytesToBytesCodec::Blosc(c) => c.to_v3(),
            BytesToBytesCodec::Crc32c(c) => c.to_v3(),
            BytesToBytesCodec::Lz4(c) => c.to_v3(),
            BytesToBytesCodec::Shuffle(c) => c.to_v3(),
            #[cfg(feature = "bz2")]
            BytesToBytesCodec::Bz2(c) => c.to_v3(),
        });
    }
    out
}

/// The fill value as one element of `repr`'s type (an empty fill value means zeros).
fn fill_element(repr: &ChunkRepr) -> Result<FillValue> {
    match repr.dtype.size() {
        Some(size) if repr.fill_value.0.is_empty() => Ok(FillValue(alloc::vec![0; size])),
        Some(size) if repr.fill_value.0.len() != size => Err(err(format!(
            "fill value has {} bytes, data type {} has {size}",
            repr.fill_value.0.len(),
            repr.dtype.name()
        ))),
        _ => Ok(repr.fill_value.clone()),
    }
}

fn to_usizes(shape: &[u64]) -> Result<Vec<usize>> {
    shape.iter().map(|&s| to_usize(s, "extent")).collect()
}

fn check_chunk_len(len: usize, chunk_shape: &[usize], item: usize) -> Result<()> {
    let want = chunk_shape.iter().try_fold(item, |a, &s| a.checked_mul(s));
    if want != Some(len) {
        return Err(err(format!("inner chunk decoded to {len} units, expected {want:?}")));
    }
    Ok(())
}

/// Advances C-order grid coordinates by one.
fn increment(coords: &mut [u64], shape: &[u64]) {
    for (c, &s) in coords.iter_mut().zip(shape).rev() {
        *c += 1;
        if *c < s {
            return;
        }
        *c = 0;
    }
}

/// The C-order coordinates of the `linear`-th cell of a grid of `shape`.
pub(crate) fn unravel(mut linear: usize, shape: &[u64]) -> Vec<u64> {
    let mut out = alloc::vec![0u64; shape.len()];
    for (o, &s) in out.iter_mut().zip(shape).rev() {
        let s = s.max(1) as usize;
        *o = (linear % s) as u64;
        linear /= s;
    }
    out
}

/// C-order linear indices of a grid, sorted by zarr-python's Morton (Z-order) code.
///
/// Bit `b` of every dimension that needs more than `b` bits is interleaved in dimension
/// order, so dimension 0 varies fastest (`zarr.core.indexing.decode_morton`).
pub fn morton_order(shape: &[u64]) -> Vec<usize> {
    let n = usize::try_from(shape.iter().product::<u64>()).unwrap_or(0);
    let bits: Vec<u32> = shape.iter().map(|&c| u64::BITS - c.saturating_sub(1).leading_zeros()).collect();
    let total: u32 = bits.iter().sum();
    let mut order: Vec<usize> = (0..n).collect();
    if total > 128 {
        return order;
    }
    let max_bits = bits.iter().copied().max().unwrap_or(0);
    let code = |linear: usize| -> u128 {
        let coords = unravel(linear, shape);
        let mut z = 0u128;
        let mut out_bit = 0;
        for b in 0..max_bits {
            for (d, &c) in coords.iter().enumerate() {
                if b < bits[d] {
                    z |= u128::from((c >> b) & 1) << out_bit;
                    out_bit += 1;
                }
            }
        }
        z
    };
    order.sort_by_cached_key(|&i| code(i));
    order
}

/// Copies the block of `chunk_shape` at `origin` between a shard (`shard_shape`) and a
/// chunk buffer, `item` units per element. `into_shard`: chunk → shard, else shard → chunk.
///
/// Callers guarantee the block lies inside the shard and both buffers have the right length.
fn copy_block<T: Clone>(
    src: &[T],
    dst: &mut [T],
    shard_shape: &[usize],
    chunk_shape: &[usize],
    origin: &[usize],
    item: usize,
    into_shard: bool,
) {
    let ndim = shard_shape.len();
    if ndim == 0 {
        dst[..item].clone_from_slice(&src[..item]);
        return;
    }
    if chunk_shape.contains(&0) {
        return;
    }
    // Shard strides (in units).
    let mut strides = alloc::vec![0usize; ndim];
    let mut acc = item;
    for d in (0..ndim).rev() {
        strides[d] = acc;
        acc *= shard_shape[d];
    }
    let row = chunk_shape[ndim - 1] * item;
    let mut shard_off: usize = origin.iter().zip(&strides).map(|(o, s)| o * s).sum();
    let mut chunk_off = 0usize;
    let mut idx = alloc::vec![0usize; ndim - 1];
    loop {
        if into_shard {
            dst[shard_off..shard_off + row].clone_from_slice(&src[chunk_off..chunk_off + row]);
        } else {
            dst[chunk_off..chunk_off + row].clone_from_slice(&src[shard_off..shard_off + row]);
        }
        chunk_off += row;
        let mut d = ndim - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            shard_off += strides[d];
            if idx[d] < chunk_shape[d] {
                break;
            }
            shard_off -= strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::bytes::BytesCodec;
    use crate::codec::CodecRegistry;

    fn codec(location: &str, index_codecs: Value) -> ShardingCodec {
        let v = json!({"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 3],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_codecs": index_codecs,
            "index_location": location}});
        match CodecRegistry::default().v3(&v).unwrap() {
            crate::codec::AnyCodec::ArrayToBytes(ArrayToBytesCodec::Sharding(s)) => *s,
            other => panic!("{other:?}"),
        }
    }

    fn repr(shape: &[u64], fill: i16) -> ChunkRepr {
        ChunkRepr { shape: shape.to_vec(), dtype: DataType::Int16, fill_value: FillValue(fill.to_ne_bytes().to_vec()) }
    }

    fn data(v: &[i16]) -> ArrayBytes {
        ArrayBytes::Fixed(v.iter().flat_map(|x| x.to_ne_bytes()).collect())
    }

    #[test]
    fn round_trips_with_empty_inner_chunks_both_locations() {
        let crc = json!([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]);
        let plain = json!([{"name": "bytes", "configuration": {"endian": "little"}}]);
        for (loc, ic, overhead) in [("end", &crc, 4), ("start", &crc, 4), ("end", &plain, 0), ("start", &plain, 0)] {
            let c = codec(loc, ic.clone());
            let r = repr(&[4, 6], -1);
            // Inner chunk (1, 1) (rows 2..4, cols 3..6) is entirely the fill value.
            let mut v: Vec<i16> = (0..24).collect();
            for row in 2..4 {
                for col in 3..6 {
                    v[row * 6 + col] = -1;
                }
            }
            let enc = c.encode(&data(&v), &r).unwrap();
            assert_eq!(enc.len(), 3 * 12 + 4 * 16 + overhead, "{loc}");
            assert_eq!(c.decode(&enc, &r, &Limits::default()).unwrap(), data(&v));
            let cps = c.chunks_per_shard(&r.shape).unwrap();
            let idx_bytes = if loc == "end" { &enc[enc.len() - 64 - overhead..] } else { &enc[..64 + overhead] };
            let index = c.decode_index(idx_bytes, &cps, &Limits::default()).unwrap();
            assert_eq!(index.get(c.inner_chunk_index(&cps, &[1, 1])), None);
            let first = index.get(0).unwrap();
            assert_eq!(first.0, if loc == "start" { 64 + overhead as u64 } else { 0 });
        }
    }

    #[test]
    fn all_fill_shard_is_an_index_of_empty_entries() {
        let c = codec("end", json!([{"name": "bytes", "configuration": {"endian": "little"}}]));
        let r = repr(&[2, 3], 5);
        let enc = c.encode(&data(&[5; 6]), &r).unwrap();
        assert_eq!(enc, [0xff; 16]);
        assert_eq!(c.decode(&enc, &r, &Limits::default()).unwrap(), data(&[5; 6]));
    }

    #[test]
    fn corrupt_shards_are_errors() {
        let c = codec("end", json!([{"name": "bytes", "configuration": {"endian": "little"}}]));
        let r = repr(&[2, 3], 0);
        let l = Limits::default();
        assert!(c.decode(&[0; 15], &r, &l).is_err(), "shorter than the index");
        let mut idx = Vec::new();
        idx.extend_from_slice(&u64::MAX.to_le_bytes());
        idx.extend_from_slice(&1u64.to_le_bytes());
        assert!(c.decode(&idx, &r, &l).is_err(), "offset + nbytes overflows");
        let mut idx = Vec::new();
        idx.extend_from_slice(&0u64.to_le_bytes());
        idx.extend_from_slice(&100u64.to_le_bytes());
        assert!(c.decode(&idx, &r, &l).is_err(), "inner chunk past the end");
        let mut idx = Vec::new();
        idx.extend_from_slice(&0u64.to_le_bytes());
        idx.extend_from_slice(&0u64.to_le_bytes());
        assert!(c.decode(&idx, &r, &l).is_err(), "inner chunk of the wrong length");
        assert!(c.chunks_per_shard(&[3, 3]).is_err(), "not divisible");
        assert!(c.chunks_per_shard(&[2]).is_err(), "rank mismatch");
        let tight = Limits { max_chunk_bytes: 4, ..l };
        assert!(c.decode(&[0xff; 16], &r, &tight).is_err(), "decoded shard above the limit");
    }

    #[test]
    fn index_codecs_must_have_a_fixed_size() {
        let v = json!({"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "gzip", "configuration": {"level": 1}}]}});
        assert!(CodecRegistry::default().v3(&v).is_err());
        let bad_shape = json!({"name": "sharding_indexed", "configuration": {"chunk_shape": [0], "codecs": ["bytes"]}});
        assert!(CodecRegistry::default().v3(&bad_shape).is_err());
        let c = codec("end", json!([{"name": "bytes", "configuration": {"endian": "little"}}]));
        assert!(c.index_size(&[u64::MAX, 2]).is_err());
        let huge = Limits { max_shard_index_bytes: 1 << 20, ..Limits::default() };
        assert!(matches!(c.decode_index(&[], &[1 << 20, 1], &huge), Err(Error::LimitExceeded { .. })));
    }

    #[test]
    fn default_index_codecs_and_v3_round_trip() {
        let v = json!({"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 3], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}});
        let AnyCodecSharding(c) = AnyCodecSharding::from(&v);
        assert_eq!(c.index_location, IndexLocation::End);
        assert_eq!(c.index_codecs.array_to_bytes, ArrayToBytesCodec::Bytes(BytesCodec::LITTLE));
        assert_eq!(c.index_size(&[2, 2]).unwrap(), 68);
        let back = c.to_v3();
        assert_eq!(back["configuration"]["index_location"], "end");
        assert_eq!(back["configuration"]["chunk_shape"], json!([2, 3]));
        assert_eq!(AnyCodecSharding::from(&back).0, c);
    }

    struct AnyCodecSharding(ShardingCodec);

    impl AnyCodecSharding {
        fn from(v: &Value) -> Self {
            match CodecRegistry::default().v3(v).unwrap() {
                crate::codec::AnyCodec::ArrayToBytes(ArrayToBytesCodec::Sharding(s)) => AnyCodecSharding(*s),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn morton_order_matches_zarr_python() {
        // zarr.core.indexing._morton_order((2, 3)) -> (0,0) (1,0) (0,1) (1,1) (0,2) (1,2)
        let got: Vec<Vec<u64>> = morton_order(&[2, 3]).into_iter().map(|i| unravel(i, &[2, 3])).collect();
        let want: Vec<Vec<u64>> = [[0, 0], [1, 0], [0, 1], [1, 1], [0, 2], [1, 2]].iter().map(|c| c.to_vec()).collect();
        assert_eq!(got, want);
        assert_eq!(morton_order(&[1, 1, 4]), [0, 1, 2, 3]);
        assert!(morton_order(&[]).len() == 1);
    }

    #[test]
    fn inner_chunk_index_is_c_order() {
        let c = codec("end", json!([{"name": "bytes", "configuration": {"endian": "little"}}]));
        assert_eq!(c.inner_chunk_index(&[3, 4, 5], &[1, 2, 3]), 20 + 10 + 3);
        assert_eq!(c.inner_chunk_index(&[], &[]), 0);
    }
}
