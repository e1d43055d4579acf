//! Partial updates of a shard: read its index, then only the inner chunks the new
//! shard needs, by ranged reads.
//!
//! Per stored inner chunk of the shard being updated:
//! - wholly covered by the write: not read (the write replaces it);
//! - partly covered: read, decoded, merged, encoded again;
//! - not touched: read and copied into the new shard as it is (no decode, no encode).
//!
//! The index read returns the shard's version; the put carries it. The inner chunk
//! reads must see the same version: a range answered with another version (or a shard
//! gone missing) means another writer replaced the shard between the reads, and the
//! update starts again from the index, as after a failed put.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use bytes::Bytes;

use super::{Pending, UnitState, WriteOp};
use crate::byte_range::ByteRange;
use crate::codec::sharding::{unravel, IndexLocation, ShardingCodec};
use crate::error::{Error, Result};
use crate::limits;
use crate::read::shard::{coalesce, COALESCE_MAX};
use crate::read::{Request, Response};
use crate::selection::project::DimItems;
use crate::version::Version;
use crate::write::job::Patch;

/// The sharding layout of a sharded array, for partial shard updates.
#[derive(Debug)]
pub(super) struct ShardGeom {
    pub(super) codec: ShardingCodec,
    /// Inner chunks per shard along each dimension.
    cps: Vec<u64>,
    /// Where the index is: the range of the first read of a partial update.
    pub(super) index_range: ByteRange,
}

impl ShardGeom {
    pub(super) fn new(codec: &ShardingCodec, shard_shape: &[u64]) -> Result<ShardGeom> {
        let cps = codec.chunks_per_shard(shard_shape)?;
        let index_size = codec.index_size(&cps)?;
        let index_range = match codec.index_location {
            IndexLocation::End => ByteRange::Suffix(index_size),
            IndexLocation::Start => ByteRange::FromStart { offset: 0, length: Some(index_size) },
        };
        Ok(ShardGeom { codec: codec.clone(), cps, index_range })
    }
}

/// Inner chunks gathered so far for one partial shard update.
#[derive(Debug, Default)]
pub(super) struct Gathered {
    /// Range reads not yet answered.
    pub(super) ranges_left: usize,
    /// Untouched inner chunks (C-order linear index), copied as they are.
    pub(super) kept: BTreeMap<usize, Bytes>,
    /// Partly covered inner chunks, to decode and merge.
    pub(super) merge: Vec<(usize, Bytes)>,
}

impl Gathered {
    /// Encoded bytes held.
    pub(super) fn len(&self) -> usize {
        self.kept.values().map(Bytes::len).sum::<usize>() + self.merge.iter().map(|(_, b)| b.len()).sum::<usize>()
    }
}

/// How a write covers one inner chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cover {
    Untouched,
    Partly,
    Whole,
}

/// How `patch` covers each inner chunk (C-order linear index) of a shard whose part
/// inside the array is `extent` (elements per dimension from the shard's origin).
fn coverage(patch: &Patch, shard_shape: &[u64], extent: &[u64], inner: &[u64], cps: &[u64]) -> Vec<Cover> {
    let n_inner: usize = cps.iter().map(|&n| n as usize).product();
    // Elements of inner chunk `i` along dimension `d` inside the array.
    let inside = |d: usize, i: u64| extent[d].saturating_sub(i * inner[d]).min(inner[d]);
    match patch {
        Patch::Orthogonal(items) => {
            // Per dimension, distinct offsets written in each inner chunk.
            let counts: Vec<Vec<u64>> = items
                .iter()
                .enumerate()
                .map(|(d, it)| {
                    let mut c = alloc::vec![0u64; cps[d] as usize];
                    for off in offsets(it) {
                        if let Some(x) = c.get_mut((off / inner[d].max(1)) as usize) {
                            *x += 1;
                        }
                    }
                    c
                })
                .collect();
            (0..n_inner)
                .map(|linear| {
                    let coords = unravel(linear, cps);
                    if coords.iter().enumerate().any(|(d, &i)| counts[d][i as usize] == 0) {
                        Cover::Untouched
                    } else if coords.iter().enumerate().all(|(d, &i)| counts[d][i as usize] == inside(d, i)) {
                        Cover::Whole
                    } else {
                        Cover::Partly
                    }
                })
                .collect()
        }
        Patch::Points(pairs) => {
            let mut offs: Vec<u64> = pairs.iter().map(|p| p.0).collect();
            offs.sort_unstable();
            offs.dedup();
            let mut counts = alloc::vec![0u64; n_inner];
            for off in offs {
                let coords = unravel(off as usize, shard_shape);
                let linear = coords.iter().zip(inner).zip(cps).fold(0u64, |a, ((&c, &s), &n)| a * n + c / s.max(1));
                if let Some(x) = counts.get_mut(linear as usize) {
                    *x += 1;
                }
            }
            counts
                .iter()
                .enumerate()
                .map(|(linear, &count)| {
                    let whole: u64 = unravel(linear, cps).iter().enumerate().map(|(d, &i)| inside(d, i)).product();
                    match count {
                        0 => Cover::Untouched,
                        c if c == whole => Cover::Whole,
                        _ => Cover::Partly,
                    }
                })
                .collect()
        }
    }
}

/// The distinct chunk offsets `items` writes (strided positions never repeat).
fn offsets(items: &DimItems) -> Vec<u64> {
    match items {
        DimItems::Strided { chunk_start, step, count, .. } => {
            (0..*count).map(|k| chunk_start.wrapping_add_signed(step.wrapping_mul(k as i64))).collect()
        }
        DimItems::Pairs(pairs) => {
            let mut offs: Vec<u64> = pairs.iter().map(|p| p.0).collect();
            offs.sort_unstable();
            offs.dedup();
            offs
        }
    }
}

impl WriteOp {
    /// The index of a shard to update arrived: asks for the inner chunks the new shard
    /// needs (or encodes it at once when it needs none).
    pub(super) fn shard_index_arrived(&mut self, unit: usize, bytes: &[u8]) -> Result<()> {
        let geom = self.shard.as_ref().expect("only sharded arrays read shard indexes");
        let u = &self.units[unit];
        let key = u.key.clone();
        let index = geom.codec.decode_index(bytes, &geom.cps, &self.options.limits).map_err(|e| e.in_chunk(&key))?;
        let cover = coverage(&u.patch, &u.shape, &u.extent, &geom.codec.chunk_shape, &geom.cps);
        let mut wanted = Vec::new();
        for (linear, c) in cover.iter().enumerate() {
            let Some((offset, len)) = index.get(linear) else { continue };
            if *c == Cover::Whole {
                continue;
            }
            limits::check("encoded chunk", len, self.options.limits.max_encoded_chunk_bytes)
                .map_err(|e| e.in_chunk(&key))?;
            wanted.push((offset, len, (linear, *c == Cover::Partly)));
        }
        let requests = coalesce(wanted, COALESCE_MAX);
        let attempt = u.attempt;
        self.units[unit].gathered = Some(Gathered { ranges_left: requests.len(), ..Gathered::default() });
        if requests.is_empty() {
            return self.shard_gathered(unit);
        }
        for (start, len, parts) in requests {
            let id = self.take_id();
            let range = Some(ByteRange::FromStart { offset: start, length: Some(len) });
            let req = Request { id, key: key.clone(), range };
            self.reads.push_back((req, Pending::ShardRange { unit, attempt, len, parts }));
        }
        Ok(())
    }

    /// A range of inner chunks arrived; the last one queues the shard's encode job.
    pub(super) fn shard_range_arrived(
        &mut self,
        unit: usize,
        attempt: u32,
        len: u64,
        parts: Vec<((usize, bool), u64, u64)>,
        response: Response,
        version: Option<Version>,
    ) -> Result<()> {
        let u = &self.units[unit];
        if attempt != u.attempt || u.state != UnitState::Reading {
            // An answer for an attempt that a conflict restarted: nothing to do.
            return Ok(());
        }
        let bytes = match response {
            Response::Bytes(_) if self.options.conditional && version != u.version => return self.shard_changed(unit),
            Response::Bytes(b) if b.len() as u64 == len => b,
            Response::Bytes(b) => {
                return Err(Error::Chunk {
                    key: u.key.clone(),
                    source: alloc::boxed::Box::new(Error::codec(
                        "sharding_indexed",
                        format!(
                            "range response of {} bytes, requested {len}: the index points past the shard",
                            b.len()
                        ),
                    )),
                })
            }
            // The shard was deleted since its index was read.
            Response::Missing => return self.shard_changed(unit),
        };
        self.stats.bytes_read += bytes.len() as u64;
        let gathered = self.units[unit].gathered.get_or_insert_with(Gathered::default);
        // Every part lies inside the response: the range is the union of the parts.
        for ((linear, partly), off, n) in parts {
            let inner = bytes.slice(off as usize..(off + n) as usize);
            if partly {
                gathered.merge.push((linear, inner));
            } else {
                gathered.kept.insert(linear, inner);
            }
        }
        gathered.ranges_left = gathered.ranges_left.saturating_sub(1);
        if gathered.ranges_left == 0 {
            self.shard_gathered(unit)?;
        }
        Ok(())
    }

    /// Everything the new shard needs from the old one is here: queue its encode job.
    fn shard_gathered(&mut self, unit: usize) -> Result<()> {
        let gathered = self.units[unit].gathered.take().unwrap_or_default();
        self.queue_encode_shard(unit, gathered);
        Ok(())
    }

    /// Another writer replaced or deleted the shard between its index read and an inner
    /// chunk's read: start this update again from the index, as after a failed put.
    fn shard_changed(&mut self, unit: usize) -> Result<()> {
        self.stats.conflicts += 1;
        let u = &mut self.units[unit];
        u.gathered = None;
        u.attempt += 1;
        if u.attempt > self.options.max_conflict_retries {
            return Err(Error::WriteConflict { key: u.key.clone(), attempts: u.attempt });
        }
        self.queue_read(unit);
        Ok(())
    }
}
