//! Planning a write: which stored objects the selection touches, which of them it
//! covers wholly (encoded straight from the caller's data) and which partly (read first).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::job::{Patch, Shared};
use super::shard::ShardGeom;
use super::{Unit, UnitState, WriteOp, WriteOptions, WriteStats};
use crate::error::{Error, Result};
use crate::limits;
use crate::metadata::chunk_grid::DimChunks;
use crate::metadata::{ArrayMetadata, ChunkGrid};
use crate::ndarray::{ArrayBytes, NdArray};
use crate::read::store_key;
use crate::selection::project::{self, DimItems};
use crate::selection::ResolvedSelection;

impl WriteOp {
    pub(super) fn plan(
        meta: &ArrayMetadata,
        path: &str,
        resolved: ResolvedSelection,
        source: ArrayBytes,
        broadcast: bool,
        options: WriteOptions,
    ) -> Result<WriteOp> {
        let limits = options.limits;
        let grid = meta.chunk_grid.dims();
        let shard = match meta.codecs.sharding() {
            Some(sharding) => {
                let ChunkGrid::Regular { chunk_shape } = &meta.chunk_grid else {
                    return Err(Error::Unsupported { kind: "chunk grid", name: "rectilinear with sharding".into() });
                };
                Some(ShardGeom::new(sharding, chunk_shape)?)
            }
            None => None,
        };
        // A stored object is decoded whole (a whole shard, for an update of a sharded array).
        let item_cost = meta.data_type.size().unwrap_or(core::mem::size_of::<Vec<u8>>()) as u64;
        let largest: Vec<u64> = grid.iter().map(DimChunks::max_len).collect();
        limits::checked_size("decoded chunk", &largest, item_cost, limits.max_chunk_bytes)?;
        let prefix = path.trim_matches('/');
        let in_array = |coords: &[u64]| -> Vec<u64> {
            coords
                .iter()
                .zip(&grid)
                .zip(&meta.shape)
                .map(|((&c, g), &n)| g.span(c).map_or(0, |(start, len)| len.min(n.saturating_sub(start))))
                .collect()
        };
        let mut planned: Vec<(Vec<u64>, bool, Patch)> = Vec::new();
        let strides = match resolved {
            ResolvedSelection::Orthogonal(dims) => {
                let plan = project::plan_orthogonal(&dims, &grid, limits.max_chunks_per_read)?;
                for (coords, idx) in plan.chunks {
                    let items: Vec<DimItems> =
                        idx.iter().enumerate().map(|(d, &i)| plan.parts[d][i].items.clone()).collect();
                    let covered = items.iter().zip(in_array(&coords)).all(|(it, n)| distinct(it) == n);
                    planned.push((coords, !covered, Patch::Orthogonal(items)));
                }
                plan.strides
            }
            ResolvedSelection::Points(points) => {
                limits::check("chunks touched by one operation", points.len() as u64, limits.max_chunks_per_read)?;
                for (coords, pairs) in project::group_points(&points, &grid) {
                    let mut offsets: Vec<u64> = pairs.iter().map(|p| p.0).collect();
                    offsets.sort_unstable();
                    offsets.dedup();
                    let covered = offsets.len() as u64 == in_array(&coords).iter().product::<u64>();
                    planned.push((coords, !covered, Patch::Points(pairs)));
                }
                Vec::new()
            }
        };
        let strides = if broadcast { alloc::vec![0; grid.len()] } else { strides };
        let shared = Arc::new(Shared {
            chain: meta.codecs.clone(),
            source,
            broadcast,
            strides,
            item_size: meta.data_type.size().unwrap_or(1),
            write_empty_chunks: options.write_empty_chunks,
            limits,
        });
        let mut op = WriteOp {
            options,
            shared,
            dtype: meta.data_type.clone(),
            fill_value: meta.fill_value.clone(),
            units: Vec::with_capacity(planned.len()),
            shard,
            reads: VecDeque::new(),
            encodes: VecDeque::new(),
            encodes_bytes: 0,
            writes: VecDeque::new(),
            writes_bytes: 0,
            pending: BTreeMap::new(),
            next_id: 0,
            remaining: planned.len(),
            stats: WriteStats::default(),
        };
        for (coords, rmw, patch) in planned {
            let shape = coords.iter().zip(&grid).map(|(&c, g)| g.span(c).map_or(0, |s| s.1)).collect();
            let unit = op.units.len();
            op.units.push(Unit {
                key: store_key(prefix, meta.chunk_key_encoding, &coords),
                shape,
                rmw,
                patch: Arc::new(patch),
                version: None,
                existed: false,
                attempt: 0,
                state: UnitState::Reading,
                extent: in_array(&coords),
                gathered: None,
            });
            if rmw {
                op.queue_read(unit);
            } else {
                op.queue_encode(unit, None);
            }
        }
        Ok(op)
    }
}

/// Checks the caller's data against the array's data type and the selection's `shape`.
pub(super) fn check_source(meta: &ArrayMetadata, source: &NdArray, shape: &[u64]) -> Result<()> {
    if source.dtype != meta.data_type {
        return Err(Error::DataType {
            dtype: meta.data_type.name(),
            reason: format!("the data to write is {}", source.dtype.name()),
        });
    }
    if source.shape != shape {
        return Err(Error::SourceShape { expected: shape.to_vec(), got: source.shape.clone() });
    }
    let n = shape.iter().try_fold(1u64, |a, &n| a.checked_mul(n)).unwrap_or(u64::MAX);
    let (expected, got) = match (&source.data, meta.data_type.size()) {
        (ArrayBytes::Fixed(b), Some(item)) => (n.saturating_mul(item as u64), b.len() as u64),
        (ArrayBytes::Variable(v), None) => (n, v.len() as u64),
        _ => {
            return Err(Error::DataType {
                dtype: meta.data_type.name(),
                reason: "the data to write has the other kind of elements (fixed-size or variable-length)".into(),
            })
        }
    };
    if expected != got {
        return Err(Error::BufferSize { expected, got });
    }
    Ok(())
}

/// Number of distinct chunk offsets `items` writes.
fn distinct(items: &DimItems) -> u64 {
    match items {
        // Strided positions never repeat (the step is never zero).
        DimItems::Strided { count, .. } => *count,
        DimItems::Pairs(pairs) => {
            let mut offsets: Vec<u64> = pairs.iter().map(|p| p.0).collect();
            offsets.sort_unstable();
            offsets.dedup();
            offsets.len() as u64
        }
    }
}
