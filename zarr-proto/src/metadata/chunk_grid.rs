//! Chunk grids: `regular` and `rectilinear`.

use alloc::format;
use alloc::vec::Vec;

use crate::error::{Error, Result};

/// The chunk boundaries along one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DimChunks {
    /// Every chunk has this length (the last one may extend past the array).
    Regular(u64),
    /// Explicit boundaries: chunk `i` covers `bounds[i]..bounds[i + 1]`; `bounds[0] == 0`.
    Explicit(Vec<u64>),
}

impl DimChunks {
    /// Number of chunks needed to cover `extent` elements.
    pub fn count(&self, extent: u64) -> u64 {
        match self {
            DimChunks::Regular(0) => 0,
            DimChunks::Regular(size) => extent.div_ceil(*size),
            DimChunks::Explicit(bounds) => bounds.len().saturating_sub(1) as u64,
        }
    }

    /// Start and (stored) length of chunk `index`.
    pub fn span(&self, index: u64) -> Option<(u64, u64)> {
        match self {
            DimChunks::Regular(size) => Some((index.checked_mul(*size)?, *size)),
            DimChunks::Explicit(bounds) => {
                let i = usize::try_from(index).ok()?;
                let start = *bounds.get(i)?;
                let end = *bounds.get(i + 1)?;
                Some((start, end - start))
            }
        }
    }

    /// Length of the longest chunk.
    pub fn max_len(&self) -> u64 {
        match self {
            DimChunks::Regular(size) => *size,
            DimChunks::Explicit(bounds) => bounds.windows(2).map(|w| w[1].saturating_sub(w[0])).max().unwrap_or(0),
        }
    }

    /// The chunk holding element `coord` and the offset of `coord` inside it.
    pub fn locate(&self, coord: u64) -> (u64, u64) {
        match self {
            DimChunks::Regular(0) => (0, coord),
            DimChunks::Regular(size) => (coord / size, coord % size),
            DimChunks::Explicit(bounds) => {
                // The last bound <= coord.
                let i = bounds.partition_point(|&b| b <= coord).saturating_sub(1);
                (i as u64, coord - bounds[i.min(bounds.len() - 1)])
            }
        }
    }
}

/// How an array is split into chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkGrid {
    /// Chunks of one shape.
    Regular {
        /// The chunk shape.
        chunk_shape: Vec<u64>,
    },
    /// Chunks whose lengths vary along each dimension.
    Rectilinear {
        /// Boundaries per dimension.
        dims: Vec<DimChunks>,
    },
}

impl ChunkGrid {
    /// The boundaries along dimension `d`.
    pub fn dim(&self, d: usize) -> DimChunks {
        match self {
            ChunkGrid::Regular { chunk_shape } => DimChunks::Regular(chunk_shape[d]),
            ChunkGrid::Rectilinear { dims } => dims[d].clone(),
        }
    }

    /// All dimensions' boundaries.
    pub fn dims(&self) -> Vec<DimChunks> {
        match self {
            ChunkGrid::Regular { chunk_shape } => chunk_shape.iter().map(|&c| DimChunks::Regular(c)).collect(),
            ChunkGrid::Rectilinear { dims } => dims.clone(),
        }
    }

    /// Number of dimensions of the grid.
    pub fn ndim(&self) -> usize {
        match self {
            ChunkGrid::Regular { chunk_shape } => chunk_shape.len(),
            ChunkGrid::Rectilinear { dims } => dims.len(),
        }
    }

    /// Number of chunks along each dimension for an array of `shape`.
    pub fn grid_shape(&self, shape: &[u64]) -> Vec<u64> {
        shape.iter().enumerate().map(|(d, &n)| self.dim(d).count(n)).collect()
    }

    /// Stored shape of the chunk at grid index `chunk` (edge chunks are not clipped).
    ///
    /// # Errors
    /// When `chunk` has the wrong rank or lies outside an explicit grid.
    pub fn chunk_shape(&self, chunk: &[u64]) -> Result<Vec<u64>> {
        if chunk.len() != self.ndim() {
            return Err(Error::Selection(format!(
                "chunk index of {} dimensions, expected {}",
                chunk.len(),
                self.ndim()
            )));
        }
        chunk
            .iter()
            .enumerate()
            .map(|(d, &i)| {
                self.dim(d)
                    .span(i)
                    .map(|(_, len)| len)
                    .ok_or_else(|| Error::Selection(format!("chunk index {i} outside the grid in dimension {d}")))
            })
            .collect()
    }

    /// Checks the grid against an array shape: right rank, no zero-length chunk
    /// along a non-empty dimension, explicit boundaries covering the array.
    pub fn validate(&self, shape: &[u64]) -> core::result::Result<(), alloc::string::String> {
        if self.ndim() != shape.len() {
            return Err(format!("chunk grid has {} dimensions, shape has {}", self.ndim(), shape.len()));
        }
        for (d, &n) in shape.iter().enumerate() {
            match self.dim(d) {
                DimChunks::Regular(0) if n > 0 => return Err(format!("zero chunk length in dimension {d}")),
                DimChunks::Regular(_) => {}
                DimChunks::Explicit(bounds) => {
                    if bounds.first() != Some(&0) || bounds.windows(2).any(|w| w[1] <= w[0]) {
                        return Err(format!("chunk lengths in dimension {d} must be positive"));
                    }
                    if bounds.last().copied().unwrap_or(0) < n {
                        return Err(format!("chunks in dimension {d} do not cover its {n} elements"));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn regular() {
        let g = ChunkGrid::Regular { chunk_shape: vec![5, 3] };
        assert_eq!(g.grid_shape(&[6443, 7]), vec![1289, 3]);
        assert_eq!(g.dim(0).locate(12), (2, 2));
        assert_eq!(g.chunk_shape(&[1288, 2]).unwrap(), vec![5, 3]);
    }

    #[test]
    fn explicit() {
        let d = DimChunks::Explicit(vec![0, 2, 7, 10]);
        assert_eq!(d.count(10), 3);
        assert_eq!(d.locate(0), (0, 0));
        assert_eq!(d.locate(2), (1, 0));
        assert_eq!(d.locate(9), (2, 2));
        assert_eq!(d.span(1), Some((2, 5)));
        assert_eq!(d.span(3), None);
    }
}
