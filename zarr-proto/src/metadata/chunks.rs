//! Chunk access as pure functions of the metadata: which element region one chunk
//! covers, which chunks a selection touches, and the key of a stored chunk.
//!
//! Two grids matter. The *read grid* is the grid of the units a reader decodes: the
//! inner chunks of the shards when the array is sharded, the chunks otherwise (what
//! [`ArrayMetadata::chunk_shape`] describes). The *stored grid* is the grid of the
//! objects in the store: the shards when the array is sharded, the chunks otherwise
//! (what [`ArrayMetadata::chunk_grid_shape`] counts).

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::chunk_grid::DimChunks;
use super::{ArrayMetadata, ChunkGrid};
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::selection::project;
use crate::selection::{ResolvedSelection, Selection};

impl ArrayMetadata {
    /// The boundaries of the read grid along each dimension: inner chunks when sharded.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a sharded array on a rectilinear grid (which no read supports).
    pub(crate) fn read_grid(&self) -> Result<Vec<DimChunks>> {
        match (self.codecs.sharding(), &self.chunk_grid) {
            (None, grid) => Ok(grid.dims()),
            (Some(sharding), ChunkGrid::Regular { .. }) => {
                Ok(sharding.chunk_shape.iter().map(|&c| DimChunks::Regular(c)).collect())
            }
            (Some(_), ChunkGrid::Rectilinear { .. }) => {
                Err(Error::Unsupported { kind: "chunk grid", name: "rectilinear with sharding".into() })
            }
        }
    }

    /// Number of chunks of the read grid (inner chunks when sharded) along each dimension.
    ///
    /// # Errors
    /// As for [`chunk_subset`](Self::chunk_subset).
    pub fn read_grid_shape(&self) -> Result<Vec<u64>> {
        let grid = self.read_grid()?;
        Ok(grid.iter().zip(&self.shape).map(|(g, &n)| g.count(n)).collect())
    }

    /// The element region of chunk `chunk` of the read grid (the inner chunk when the
    /// array is sharded), one range per dimension, clipped to the array's shape.
    ///
    /// # Errors
    /// [`Error::ChunkIndex`] naming the index and the grid's shape when `chunk` lies
    /// outside the read grid or has the wrong number of dimensions;
    /// [`Error::Unsupported`] for a sharded array on a rectilinear grid.
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::{ArrayBuilder, ArrayMetadata, CodecRegistry, DataType, Limits};
    /// let b = ArrayBuilder::new(vec![10, 7], DataType::UInt8, vec![4, 5]);
    /// let meta = ArrayMetadata::new_v3(&b, &CodecRegistry::default(), &Limits::default()).unwrap();
    /// assert_eq!(meta.chunk_subset(&[2, 1]).unwrap(), [8..10, 5..7]);
    /// let e = meta.chunk_subset(&[3, 0]).unwrap_err();
    /// assert_eq!(e.to_string(), "chunk index [3, 0] is outside the chunk grid of shape [3, 2]");
    /// ```
    pub fn chunk_subset(&self, chunk: &[u64]) -> Result<Vec<Range<u64>>> {
        let grid = self.read_grid()?;
        let grid_shape: Vec<u64> = grid.iter().zip(&self.shape).map(|(g, &n)| g.count(n)).collect();
        check_index(chunk, &grid_shape, self.read_grid_name())?;
        chunk
            .iter()
            .zip(&grid)
            .zip(&self.shape)
            .map(|((&c, g), &n)| {
                let (start, len) = g.span(c).ok_or_else(|| outside(chunk, &grid_shape, self.read_grid_name()))?;
                Ok(start..start.saturating_add(len).min(n))
            })
            .collect()
    }

    /// The chunks of the read grid (inner chunks when the array is sharded) that
    /// `selection` touches, each once, in C order.
    ///
    /// # Errors
    /// An invalid selection; more chunks than `limits.max_chunks_per_read` (checked
    /// before any list is built); [`Error::Unsupported`] for a sharded array on a
    /// rectilinear grid.
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::{s, ArrayBuilder, ArrayMetadata, CodecRegistry, DataType, Limits};
    /// let b = ArrayBuilder::new(vec![10, 7], DataType::UInt8, vec![4, 5]);
    /// let meta = ArrayMetadata::new_v3(&b, &CodecRegistry::default(), &Limits::default()).unwrap();
    /// let chunks = meta.chunk_indices(&s![3..5, 6], &Limits::default()).unwrap();
    /// assert_eq!(chunks, [[0, 1], [1, 1]]);
    /// ```
    pub fn chunk_indices(&self, selection: &Selection, limits: &Limits) -> Result<Vec<Vec<u64>>> {
        let grid = self.read_grid()?;
        // Blocks are blocks of the stored grid, as in every read.
        match selection.resolve(&self.shape, &self.chunk_grid.dims())? {
            ResolvedSelection::Orthogonal(dims) => {
                let touched = dims
                    .iter()
                    .zip(&grid)
                    .try_fold(1u64, |n, (ix, g)| n.checked_mul(project::chunks_touched_bound(ix, g)))
                    .unwrap_or(u64::MAX);
                limits::check("chunks touched by one read", touched, limits.max_chunks_per_read)?;
                let per_dim: Vec<Vec<u64>> = dims
                    .iter()
                    .zip(&grid)
                    .map(|(ix, g)| {
                        let mut chunks: Vec<u64> = project::project_dim(ix, g).iter().map(|p| p.chunk).collect();
                        chunks.sort_unstable();
                        chunks.dedup();
                        chunks
                    })
                    .collect();
                Ok(c_order_product(&per_dim))
            }
            ResolvedSelection::Points(points) => {
                let set: BTreeSet<Vec<u64>> =
                    points.iter().map(|p| p.iter().zip(&grid).map(|(&i, g)| g.locate(i).0).collect()).collect();
                Ok(set.into_iter().collect())
            }
        }
    }

    /// The store key of chunk `chunk` of the stored grid (the shard when the array is
    /// sharded), for the array at `path` in its store (`""` for the root): relative to
    /// the store's root, as a read's request keys are.
    ///
    /// # Errors
    /// [`Error::ChunkIndex`] naming the index and the grid's shape when `chunk` lies
    /// outside the stored grid or has the wrong number of dimensions.
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::{ArrayBuilder, ArrayMetadata, CodecRegistry, DataType, Limits};
    /// let b = ArrayBuilder::new(vec![10, 7], DataType::UInt8, vec![4, 5]);
    /// let meta = ArrayMetadata::new_v3(&b, &CodecRegistry::default(), &Limits::default()).unwrap();
    /// assert_eq!(meta.stored_chunk_key("a/b", &[2, 1]).unwrap(), "a/b/c/2/1");
    /// assert!(meta.stored_chunk_key("", &[2, 2]).is_err());
    /// ```
    pub fn stored_chunk_key(&self, path: &str, chunk: &[u64]) -> Result<String> {
        let grid_shape = self.chunk_grid_shape();
        let name = if self.codecs.sharding().is_some() { "shard" } else { "chunk" };
        check_index(chunk, &grid_shape, name)?;
        Ok(crate::key::join(path.trim_matches('/'), &self.chunk_key(chunk)))
    }

    fn read_grid_name(&self) -> &'static str {
        if self.codecs.sharding().is_some() {
            "inner chunk"
        } else {
            "chunk"
        }
    }
}

fn outside(index: &[u64], grid_shape: &[u64], grid: &'static str) -> Error {
    Error::ChunkIndex { index: index.to_vec(), grid, grid_shape: grid_shape.to_vec() }
}

/// Checks that `index` names a chunk of a grid of `grid_shape` chunks.
fn check_index(index: &[u64], grid_shape: &[u64], grid: &'static str) -> Result<()> {
    if index.len() != grid_shape.len() || index.iter().zip(grid_shape).any(|(i, n)| i >= n) {
        return Err(outside(index, grid_shape, grid));
    }
    Ok(())
}

/// Every combination of one entry per list, the last list varying fastest.
fn c_order_product(lists: &[Vec<u64>]) -> Vec<Vec<u64>> {
    if lists.iter().any(Vec::is_empty) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut index = alloc::vec![0usize; lists.len()];
    loop {
        out.push(index.iter().zip(lists).map(|(&i, l)| l[i]).collect());
        let mut d = lists.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            index[d] += 1;
            if index[d] < lists[d].len() {
                break;
            }
            index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use super::*;
    use crate::codec::CodecRegistry;
    use crate::s;

    /// A v3 uint8 array of `shape` in shards of `shard` split into inner chunks of `inner`.
    fn sharded(shape: &[u64], shard: &[u64], inner: &[u64]) -> ArrayMetadata {
        let doc = alloc::format!(
            r#"{{"zarr_format":3,"node_type":"array","shape":{shape:?},"data_type":"uint8",
            "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":{shard:?}}}}},
            "chunk_key_encoding":{{"name":"default"}},"fill_value":0,
            "codecs":[{{"name":"sharding_indexed","configuration":{{"chunk_shape":{inner:?},
              "codecs":[{{"name":"bytes"}}],"index_codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}],
              "index_location":"end"}}}}]}}"#
        );
        ArrayMetadata::from_v3_json(doc.as_bytes(), &CodecRegistry::default(), &Limits::default()).unwrap()
    }

    #[test]
    fn sharded_arrays_use_inner_chunks_to_read_and_shards_to_store() {
        let meta = sharded(&[17, 13], &[8, 6], &[4, 3]);
        assert_eq!(meta.read_grid_shape().unwrap(), [5, 5]);
        assert_eq!(meta.chunk_subset(&[4, 4]).unwrap(), [16..17, 12..13]);
        assert_eq!(meta.chunk_subset(&[1, 2]).unwrap(), [4..8, 6..9]);
        let e = meta.chunk_subset(&[5, 0]).unwrap_err();
        assert_eq!(e.to_string(), "chunk index [5, 0] is outside the inner chunk grid of shape [5, 5]");
        assert!(matches!(meta.chunk_subset(&[0]), Err(Error::ChunkIndex { .. })));
        assert_eq!(meta.stored_chunk_key("", &[2, 2]).unwrap(), "c/2/2");
        let e = meta.stored_chunk_key("", &[3, 0]).unwrap_err();
        assert_eq!(e.to_string(), "chunk index [3, 0] is outside the shard grid of shape [3, 3]");
        assert_eq!(meta.chunk_indices(&s![3..5, 12], &Limits::default()).unwrap(), [[0, 4], [1, 4]]);
    }

    #[test]
    fn chunk_indices_are_c_order_and_unique() {
        let meta = sharded(&[17, 13], &[8, 6], &[4, 3]);
        let all = meta.chunk_indices(&Selection::all(), &Limits::default()).unwrap();
        assert_eq!(all.len(), 25);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        // A reversed slice and a repeating list touch each chunk once, ascending.
        let sel = Selection::Orthogonal(vec![
            crate::DimSelector::Slice { start: None, stop: None, step: -5 },
            crate::DimSelector::Array(vec![12, 0, 1, 12]),
        ]);
        let got = meta.chunk_indices(&sel, &Limits::default()).unwrap();
        // Rows 16, 11, 6, 1: inner rows 4, 2, 1, 0.
        let want: Vec<Vec<u64>> = [0, 1, 2, 4].iter().flat_map(|&r| [vec![r, 0], vec![r, 4]]).collect();
        assert_eq!(got, want);
        let points = Selection::Points(vec![vec![16, 0, 16], vec![0, 12, 0]]);
        assert_eq!(meta.chunk_indices(&points, &Limits::default()).unwrap(), [[0, 4], [4, 0]]);
        assert!(meta.chunk_indices(&s![3..3], &Limits::default()).unwrap().is_empty());
        let few = Limits { max_chunks_per_read: 24, ..Limits::default() };
        assert!(matches!(meta.chunk_indices(&Selection::all(), &few), Err(Error::LimitExceeded { .. })));
        // Blocks are blocks of the stored grid (shards).
        let blocks = Selection::Blocks(vec![crate::DimSelector::Index(2), crate::DimSelector::Index(0)]);
        assert_eq!(meta.chunk_indices(&blocks, &Limits::default()).unwrap(), [[4, 0], [4, 1]]);
    }

    #[test]
    fn zero_dimensional_arrays_have_one_chunk() {
        let doc = br#"{"zarr_format":3,"node_type":"array","shape":[],"data_type":"uint8",
            "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[]}},
            "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#;
        let meta = ArrayMetadata::from_v3_json(doc, &CodecRegistry::default(), &Limits::default()).unwrap();
        assert_eq!(meta.chunk_subset(&[]).unwrap(), Vec::<Range<u64>>::new());
        assert_eq!(meta.chunk_indices(&Selection::all(), &Limits::default()).unwrap(), [Vec::<u64>::new()]);
    }
}
