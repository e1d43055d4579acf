//! The shard half of a read: one request for a shard's index (or the whole shard),
//! then coalesced range requests for the inner chunks the selection needs.
//!
//! Inner chunks are the read units; a shard is only the container they arrive in.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::{Pending, ReadOp, Request, RequestId, Response};
use crate::byte_range::ByteRange;
use crate::codec::sharding::{IndexLocation, ShardIndex, ShardingCodec};
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::metadata::{ArrayMetadata, ChunkGrid};

/// Inner chunks of one shard whose byte ranges are at most this far apart are fetched in one request.
pub(super) const COALESCE_GAP: u64 = 64 << 10;
/// A coalesced shard range request never grows beyond this many bytes (unless
/// [`ReadOp::fetch_shards_in_pieces`] asks for less).
pub(crate) const COALESCE_MAX: u64 = 16 << 20;

/// One shard the selection touches.
#[derive(Debug)]
pub(super) struct Shard {
    pub(super) key: String,
    units: Vec<usize>,
}

/// The sharding layout of a sharded array.
#[derive(Debug)]
pub(super) struct ShardLayout {
    codec: ShardingCodec,
    chunks_per_shard: Vec<u64>,
    index_size: u64,
    shards: Vec<Shard>,
    /// The largest coalesced range request.
    coalesce_max: u64,
}

impl ShardLayout {
    /// Checks the index size against `limits.max_shard_index_bytes` here, before any
    /// request: the index is sized by metadata alone, not by what a store returns.
    pub(super) fn new(codec: &ShardingCodec, grid: &ChunkGrid, limits: &Limits) -> Result<ShardLayout> {
        let shard_shape = match grid {
            ChunkGrid::Regular { chunk_shape } => chunk_shape.clone(),
            ChunkGrid::Rectilinear { .. } => {
                return Err(Error::Unsupported { kind: "chunk grid", name: "rectilinear with sharding".into() })
            }
        };
        let chunks_per_shard = codec.chunks_per_shard(&shard_shape)?;
        let index_size = codec.index_size(&chunks_per_shard)?;
        limits::check("shard index", index_size, limits.max_shard_index_bytes)?;
        Ok(ShardLayout {
            codec: codec.clone(),
            chunks_per_shard,
            index_size,
            shards: Vec::new(),
            coalesce_max: COALESCE_MAX,
        })
    }

    /// The byte range of a shard's index.
    fn index_range(&self) -> ByteRange {
        match self.codec.index_location {
            IndexLocation::End => ByteRange::Suffix(self.index_size),
            IndexLocation::Start => ByteRange::FromStart { offset: 0, length: Some(self.index_size) },
        }
    }
}

impl ReadOp {
    /// Groups the units by shard and asks for each shard's index, or for the whole
    /// shard when the selection needs all of it.
    pub(super) fn plan_shard_requests(&mut self, meta: &ArrayMetadata) {
        let layout = self.sharding.as_mut().expect("only sharded arrays plan shard requests");
        // Group units by shard, shards in C order.
        let mut by_shard: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
        for (i, unit) in self.units.iter().enumerate() {
            let shard: Vec<u64> = unit.coords.iter().zip(&layout.chunks_per_shard).map(|(c, n)| c / n).collect();
            by_shard.entry(shard).or_default().push(i);
        }
        for (coords, units) in by_shard {
            // Inner chunks of this shard that lie inside the array.
            let present: u64 = coords
                .iter()
                .zip(&layout.chunks_per_shard)
                .zip(&layout.codec.chunk_shape)
                .zip(&meta.shape)
                .map(|(((&s, &n), &c), &extent)| {
                    let first = s * n;
                    let total = extent.div_ceil(c.max(1));
                    total.saturating_sub(first).min(n)
                })
                .product();
            let shard = layout.shards.len();
            let key = super::store_key(&self.prefix, self.key_encoding, &coords);
            let id = self.next_id;
            self.next_id += 1;
            // When the selection needs every inner chunk, one request for the whole shard
            // saves the round trip for the index.
            let (range, pending) = if units.len() as u64 == present {
                (None, Pending::WholeShard { shard })
            } else {
                (Some(layout.index_range()), Pending::ShardIndex { shard })
            };
            self.queued.push_back((Request { id: RequestId(id), key: key.clone(), range }, pending));
            layout.shards.push(Shard { key, units });
        }
    }

    /// Fetches each shard as its index and then range requests of at most `piece`
    /// bytes, also where the read needs the whole shard (which otherwise comes in one
    /// request); call it before the first [`poll_request`](Self::poll_request).
    ///
    /// Inner chunks share the allocation of the response they came in, which lives
    /// until the last of them is decoded: pieces free a shard's memory as it is
    /// decoded, and let decoding start before the whole shard is read. That is worth
    /// an index request per shard where answers take microseconds (local files), not
    /// where each costs a round trip. No effect on unsharded arrays.
    pub fn fetch_shards_in_pieces(&mut self, piece: u64) {
        let Some(layout) = self.sharding.as_mut() else { return };
        layout.coalesce_max = piece.max(1);
        let index_range = layout.index_range();
        for (req, pending) in &mut self.queued {
            if let Pending::WholeShard { shard } = *pending {
                req.range = Some(index_range);
                *pending = Pending::ShardIndex { shard };
            }
        }
    }

    /// Hands the inner chunks of one coalesced range response to decode jobs.
    pub(super) fn read_shard_range(
        &mut self,
        shard: usize,
        len: u64,
        parts: Vec<(usize, u64, u64)>,
        response: Response,
    ) -> Result<()> {
        let key = self.shard(shard).key.clone();
        let Response::Bytes(bytes) = response else {
            return Err(Error::Store { key, reason: "shard disappeared after its index was read".into() });
        };
        if bytes.len() as u64 != len {
            return Err(Error::Chunk {
                key,
                source: alloc::boxed::Box::new(Error::Protocol(format!(
                    "range response of {} bytes, requested {len}",
                    bytes.len()
                ))),
            });
        }
        // The inner chunks share the response. Every part lies inside it: the
        // range was built as the union of the parts, and its length checked above.
        let held = self.hold(bytes.len());
        for (unit, off, n) in parts {
            let key = format!("{key}[inner {:?}]", self.units[unit].coords);
            self.queue_decode(unit, key, bytes.slice(off as usize..(off + n) as usize), held);
        }
        self.settle(held);
        Ok(())
    }

    pub(super) fn shard(&self, shard: usize) -> &Shard {
        &self.sharding.as_ref().expect("shard requests exist only for sharded arrays").shards[shard]
    }

    pub(super) fn fill_shard(&mut self, shard: usize) {
        let units = self.shard(shard).units.clone();
        for unit in units {
            self.fill_unit(unit);
        }
    }

    fn inner_index(&self, shard: usize, unit: usize) -> usize {
        let layout = self.sharding.as_ref().expect("sharded");
        let _ = shard;
        // C-order linear index of the inner chunk within its shard.
        self.units[unit].coords.iter().zip(&layout.chunks_per_shard).fold(0u64, |acc, (c, n)| acc * n + c % n) as usize
    }

    fn decode_index(&self, shard: usize, bytes: &[u8]) -> Result<ShardIndex> {
        let layout = self.sharding.as_ref().expect("sharded");
        let key = &layout.shards[shard].key;
        if bytes.len() as u64 != layout.index_size {
            return Err(Error::Chunk {
                key: key.clone(),
                source: alloc::boxed::Box::new(Error::codec(
                    "sharding_indexed",
                    format!("shard index of {} bytes, expected {}", bytes.len(), layout.index_size),
                )),
            });
        }
        layout.codec.decode_index(bytes, &layout.chunks_per_shard, &self.limits).map_err(|e| e.in_chunk(key))
    }

    pub(super) fn split_whole_shard(&mut self, shard: usize, bytes: Bytes) -> Result<()> {
        let layout = self.sharding.as_ref().expect("sharded");
        let key = layout.shards[shard].key.clone();
        let n = bytes.len() as u64;
        if n < layout.index_size {
            return Err(Error::Chunk {
                key,
                source: alloc::boxed::Box::new(Error::codec(
                    "sharding_indexed",
                    format!("shard of {n} bytes is shorter than its {} byte index", layout.index_size),
                )),
            });
        }
        let index_bytes = match layout.codec.index_location {
            IndexLocation::End => &bytes[(n - layout.index_size) as usize..],
            IndexLocation::Start => &bytes[..layout.index_size as usize],
        };
        let index = self.decode_index(shard, index_bytes)?;
        let held = self.hold(bytes.len());
        for unit in self.shard(shard).units.clone() {
            match index.get(self.inner_index(shard, unit)) {
                None => self.fill_unit(unit),
                Some((offset, len)) => {
                    let end = offset.checked_add(len).filter(|&e| e <= n).ok_or_else(|| Error::Chunk {
                        key: key.clone(),
                        source: alloc::boxed::Box::new(Error::codec(
                            "sharding_indexed",
                            format!("inner chunk at {offset}+{len} lies outside the {n} byte shard"),
                        )),
                    })?;
                    let inner = bytes.slice(offset as usize..end as usize);
                    let inner_key = format!("{key}[inner {:?}]", self.units[unit].coords);
                    self.queue_decode(unit, inner_key, inner, held);
                }
            }
        }
        self.settle(held);
        Ok(())
    }

    pub(super) fn read_shard_index(&mut self, shard: usize, bytes: &[u8]) -> Result<()> {
        let index = self.decode_index(shard, bytes)?;
        let key = self.shard(shard).key.clone();
        let mut wanted: Vec<(u64, u64, usize)> = Vec::new();
        for unit in self.shard(shard).units.clone() {
            match index.get(self.inner_index(shard, unit)) {
                None => self.fill_unit(unit),
                Some((offset, len)) => {
                    offset.checked_add(len).ok_or_else(|| Error::Chunk {
                        key: key.clone(),
                        source: alloc::boxed::Box::new(Error::codec("sharding_indexed", "inner chunk range overflows")),
                    })?;
                    limits::check("encoded chunk", len, self.limits.max_encoded_chunk_bytes)
                        .map_err(|e| e.in_chunk(&key))?;
                    wanted.push((offset, len, unit));
                }
            }
        }
        let max = self.sharding.as_ref().map_or(COALESCE_MAX, |layout| layout.coalesce_max);
        for (start, len, parts) in coalesce(wanted, max) {
            let id = self.next_id;
            self.next_id += 1;
            let request = Request {
                id: RequestId(id),
                key: key.clone(),
                range: Some(ByteRange::FromStart { offset: start, length: Some(len) }),
            };
            self.queued.push_back((request, Pending::ShardRange { shard, len, parts }));
        }
        Ok(())
    }
}

/// One range request of [`coalesce`]: `(start, length, parts)`.
pub(crate) type Coalesced<T> = (u64, u64, Vec<(T, u64, u64)>);

/// Groups `(offset, nbytes, what)` byte ranges of one object into range requests:
/// ranges at most [`COALESCE_GAP`] apart share a request of at most `max` bytes (one
/// round trip instead of many; the gaps cost little); a range longer than `max` is a
/// request of its own. Each request is
/// `(start, length, parts)`, a part being `(what, offset in the response, nbytes)`.
///
/// Callers checked that no `offset + nbytes` overflows.
pub(crate) fn coalesce<T: Ord + Copy>(mut wanted: Vec<(u64, u64, T)>, max: u64) -> Vec<Coalesced<T>> {
    wanted.sort_unstable();
    let mut out = Vec::new();
    let mut i = 0;
    while i < wanted.len() {
        let start = wanted[i].0;
        let mut end = start + wanted[i].1;
        let mut parts = alloc::vec![(wanted[i].2, 0, wanted[i].1)];
        i += 1;
        while i < wanted.len() {
            let (o, l, u) = wanted[i];
            let new_end = end.max(o + l);
            if o > end.saturating_add(COALESCE_GAP) || new_end - start > max {
                break;
            }
            parts.push((u, o - start, l));
            end = new_end;
            i += 1;
        }
        out.push((start, end - start, parts));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use alloc::vec;

    use serde_json::json;

    use crate::codec::ChunkRepr;
    use crate::dtype::{DataType, FillValue};
    use crate::metadata::ArrayBuilder;
    use crate::ndarray::ArrayBytes;
    use crate::read::{ReadOp, Response};
    use crate::selection::Selection;
    use crate::{CodecRegistry, Limits};

    /// A shard's inner chunks are slices of one response, which lives until the last
    /// of them is decoded: flow control must see it held whole until then.
    #[test]
    fn a_shard_is_held_whole_until_its_last_inner_chunk_is_decoded() {
        let mut b = ArrayBuilder::new(vec![8], DataType::UInt8, vec![8]);
        b.codecs = vec![json!({"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2],
            "codecs": [{"name": "bytes"}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        }})];
        let meta = b.build_v3(&CodecRegistry::default(), &Limits::default()).unwrap();
        let repr = ChunkRepr { shape: vec![8], dtype: DataType::UInt8, fill_value: FillValue(vec![0]) };
        let shard = meta.codecs.encode(ArrayBytes::Fixed((1..=8).collect()), &repr).unwrap();
        let shard_len = shard.len() as u64;

        let mut op = ReadOp::new(&meta, &Selection::all(), Limits::default()).unwrap();
        let req = op.poll_request().unwrap();
        assert_eq!((req.key.as_str(), req.range), ("c/0", None), "the whole shard in one request");
        assert_eq!(op.held_bytes(), 0);
        op.handle_response(req.id, Response::Bytes(shard.into())).unwrap();
        assert_eq!(op.held_bytes(), shard_len);
        let jobs: vec::Vec<_> = core::iter::from_fn(|| op.poll_decode()).collect();
        assert_eq!(jobs.len(), 4);
        assert_eq!(op.held_bytes(), shard_len, "handed out, not yet decoded");
        for (i, job) in jobs.into_iter().enumerate() {
            op.handle_decoded(job.run()).unwrap();
            let expect = if i < 3 { shard_len } else { 0 };
            assert_eq!(op.held_bytes(), expect, "after {} of 4 inner chunks", i + 1);
        }
        assert_eq!(op.finish().unwrap().data, ArrayBytes::Fixed((1..=8).collect()));
    }

    /// A chunk response that a decode job needs is held until the job is done; one
    /// that turned out missing is not held at all.
    #[test]
    fn a_chunk_is_held_until_decoded() {
        let meta = ArrayBuilder::new(vec![4], DataType::UInt8, vec![2])
            .build_v3(&CodecRegistry::default(), &Limits::default())
            .unwrap();
        let mut op = ReadOp::new(&meta, &Selection::all(), Limits::default()).unwrap();
        let (a, b) = (op.poll_request().unwrap(), op.poll_request().unwrap());
        op.handle_response(a.id, Response::Bytes(vec![1u8, 2].into())).unwrap();
        op.handle_response(b.id, Response::Missing).unwrap();
        assert_eq!(op.held_bytes(), 2);
        let job = op.poll_decode().unwrap();
        assert_eq!(op.held_bytes(), 2);
        op.handle_decoded(job.run()).unwrap();
        assert_eq!(op.held_bytes(), 0);
        assert_eq!(op.finish().unwrap().data, ArrayBytes::Fixed(vec![1, 2, 0, 0]));
    }
}
