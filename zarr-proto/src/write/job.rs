//! Encoding of one stored chunk (or shard) for a write: a pure function, runnable on any thread.
//!
//! A job merges the caller's elements into the chunk (the chunk's current content,
//! decoded, for a read-modify-write; the fill value otherwise), decides whether the
//! result is worth storing, and encodes it.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::codec::{ChunkRepr, CodecChain};
use crate::dtype::is_all_fill;
use crate::error::Result;
use crate::limits::Limits;
use crate::ndarray::ArrayBytes;
use crate::read::{check_decoded, decode_chunk};
use crate::selection::project::{self, DimItems};

use super::shard::Gathered;

/// What every job of one write shares.
#[derive(Debug)]
pub(super) struct Shared {
    /// Codecs of a stored object (for sharded arrays: the sharding codec, which writes
    /// a fresh index and leaves inner chunks equal to the fill value out).
    pub(super) chain: CodecChain,
    /// The caller's elements, C order over the selection's shape (one element when broadcast).
    pub(super) source: ArrayBytes,
    /// Every element comes from the source's element 0.
    pub(super) broadcast: bool,
    /// The source's stride per array dimension (0 where an index removed it or when broadcast).
    pub(super) strides: Vec<u64>,
    pub(super) item_size: usize,
    pub(super) write_empty_chunks: bool,
    pub(super) limits: Limits,
}

/// Which positions of one chunk the selection writes, and from where in the source.
#[derive(Debug)]
pub(super) enum Patch {
    /// An outer product: per dimension, chunk offsets and source positions.
    Orthogonal(Vec<DimItems>),
    /// `(chunk element offset, source element offset)` pairs, applied in order (the last wins).
    Points(Vec<(u64, u64)>),
}

/// Encoding of one stored chunk (or a whole shard): merge, check for the fill value, encode.
///
/// Owns everything it needs (`Send + 'static`); the caller's array is shared, not copied.
#[derive(Debug)]
#[must_use = "an encode job does nothing until run"]
pub struct EncodeJob {
    pub(super) unit: usize,
    pub(super) attempt: u32,
    pub(super) key: String,
    /// The chunk's current encoded bytes, for a read-modify-write of a stored chunk.
    pub(super) existing: Option<Bytes>,
    /// For a partial shard update: the inner chunks of the current shard it needs
    /// (instead of `existing`, the whole shard).
    pub(super) gathered: Option<Gathered>,
    pub(super) repr: ChunkRepr,
    pub(super) patch: Arc<Patch>,
    pub(super) shared: Arc<Shared>,
}

/// What a write does to one stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteAction {
    /// Store these bytes.
    Put(Bytes),
    /// Remove the object (every element is the fill value). Deleting an object that
    /// does not exist is not an error: answer [`WriteOutcome::Done`](super::WriteOutcome::Done).
    Delete,
}

/// The result of an [`EncodeJob`]; give it to [`WriteOp::handle_encoded`](super::WriteOp::handle_encoded).
#[derive(Debug)]
#[must_use = "an encoded chunk reaches the store only through WriteOp::handle_encoded"]
pub struct Encoded {
    pub(super) unit: usize,
    pub(super) attempt: u32,
    pub(super) key: String,
    pub(super) result: Result<WriteAction>,
}

impl Encoded {
    /// The store key of the chunk.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl EncodeJob {
    /// The store key of the chunk (for progress and error messages).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Encoded bytes of the chunk's current content this job decodes (0 without a read).
    pub fn existing_len(&self) -> usize {
        self.existing.as_ref().map_or(0, Bytes::len) + self.gathered.as_ref().map_or(0, Gathered::len)
    }

    /// Bytes the decoded chunk occupies (elements times item size; a guess of 16 bytes
    /// per element for variable-length types): memory the job needs while it runs.
    pub fn decoded_len(&self) -> u64 {
        let item = self.repr.dtype.size().unwrap_or(16) as u64;
        self.repr.num_elements().saturating_mul(item)
    }

    /// Merges and encodes the chunk.
    pub fn run(mut self) -> Encoded {
        // Taken, so an uncompressed chunk's unique buffer becomes the decoded data uncopied.
        let existing = self.existing.take();
        let result = match self.gathered.take() {
            Some(gathered) => self.merge_shard(gathered),
            None => self.merge_and_encode(existing),
        };
        let result = result.map_err(|e| e.in_chunk(&self.key));
        Encoded { unit: self.unit, attempt: self.attempt, key: self.key, result }
    }

    fn merge_and_encode(&self, existing: Option<Bytes>) -> Result<WriteAction> {
        let shared = &*self.shared;
        let repr = &self.repr;
        let mut chunk = match existing {
            Some(bytes) => {
                let data = decode_chunk(&shared.chain, bytes, repr, &shared.limits)?;
                check_decoded(&data, &repr.dtype, &repr.shape, &self.key)?;
                data
            }
            None => {
                // The plan checked the chunk's size against the limits.
                let n = usize::try_from(repr.num_elements()).unwrap_or(usize::MAX);
                ArrayBytes::filled(&repr.dtype, &repr.fill_value, n)?
            }
        };
        self.apply_patch(&mut chunk);
        if !shared.write_empty_chunks && is_all_fill(&chunk, &repr.dtype, &repr.fill_value) {
            return Ok(WriteAction::Delete);
        }
        Ok(WriteAction::Put(Bytes::from(shared.chain.encode(chunk, repr)?)))
    }

    /// A partial shard update: the partly covered inner chunks decoded into a shard of
    /// fill value, the patch applied, and the shard encoded with the untouched inner
    /// chunks copied as they are.
    fn merge_shard(&self, gathered: Gathered) -> Result<WriteAction> {
        let shared = &*self.shared;
        let repr = &self.repr;
        let Some(codec) = shared.chain.sharding() else {
            return Err(crate::error::Error::Protocol("a shard update for an array without sharding".into()));
        };
        let n = usize::try_from(repr.num_elements()).unwrap_or(usize::MAX);
        let mut shard = ArrayBytes::filled(&repr.dtype, &repr.fill_value, n)?;
        for (linear, bytes) in &gathered.merge {
            codec.decode_inner_into(&mut shard, repr, *linear, bytes, &shared.limits)?;
        }
        self.apply_patch(&mut shard);
        let (bytes, stored) = codec.encode_keeping(&shard, repr, &gathered.kept)?;
        if stored == 0 && !shared.write_empty_chunks {
            return Ok(WriteAction::Delete);
        }
        Ok(WriteAction::Put(Bytes::from(bytes)))
    }

    /// Writes the caller's elements into `chunk`.
    fn apply_patch(&self, chunk: &mut ArrayBytes) {
        let shared = &*self.shared;
        let repr = &self.repr;
        let out = project::Output::from(chunk);
        match &*self.patch {
            Patch::Orthogonal(items) => {
                let items: Vec<&DimItems> = items.iter().collect();
                project::gather(&shared.source, &shared.strides, out, &repr.shape, &items, shared.item_size);
            }
            Patch::Points(pairs) => {
                project::gather_points(&shared.source, pairs, out, shared.item_size, shared.broadcast)
            }
        }
    }
}
