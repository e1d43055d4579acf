//! Bounds on every allocation that input controls.

use crate::error::{Error, Result};

/// Bounds on every allocation that metadata, chunk bytes or a selection controls.
///
/// A corrupt or hostile array must produce an [`Error::LimitExceeded`], never an
/// unbounded allocation: decompression bombs, shapes whose product overflows,
/// shard indexes claiming billions of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest metadata document accepted, in bytes.
    pub max_metadata_bytes: u64,
    /// Largest decoded chunk (or shard), in bytes.
    pub max_chunk_bytes: u64,
    /// Largest encoded (stored) chunk accepted, in bytes.
    pub max_encoded_chunk_bytes: u64,
    /// Largest output of one read, in bytes.
    pub max_output_bytes: u64,
    /// Largest shard index, in bytes.
    pub max_shard_index_bytes: u64,
    /// Most chunks (inner chunks for sharded arrays) one read may touch: each costs a
    /// little bookkeeping, so a tiny chunk shape on a huge array must not plan billions.
    pub max_chunks_per_read: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_metadata_bytes: 64 << 20,
            max_chunk_bytes: 2 << 30,
            max_encoded_chunk_bytes: 2 << 30,
            max_output_bytes: 1 << 40,
            max_shard_index_bytes: 256 << 20,
            max_chunks_per_read: 1 << 24,
        }
    }
}

/// Fails with [`Error::LimitExceeded`] when `requested > limit`.
pub(crate) fn check(what: &'static str, requested: u64, limit: u64) -> Result<()> {
    if requested > limit {
        return Err(Error::LimitExceeded { what, requested, limit });
    }
    Ok(())
}

/// Product of `dims` times `item`, or [`Error::LimitExceeded`] on overflow or above `limit`.
pub(crate) fn checked_size(what: &'static str, dims: &[u64], item: u64, limit: u64) -> Result<u64> {
    let mut n: u64 = item;
    for &d in dims {
        n = n.checked_mul(d).ok_or(Error::LimitExceeded { what, requested: u64::MAX, limit })?;
    }
    check(what, n, limit)?;
    Ok(n)
}
