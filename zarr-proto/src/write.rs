//! The write state machine: a selection and its data in, chunk reads and writes out.
//!
//! [`WriteOp`] is [`ReadOp`](crate::read::ReadOp)'s twin and speaks the same vocabulary:
//! [`Request`]s answered with [`Response`]s (plus the object's [`Version`]), jobs that run
//! on any thread, and one more output, the [`StoreWrite`]s (a put or a delete with a
//! [`Condition`]), answered with a [`WriteOutcome`]. Requests and writes share one
//! [`RequestId`] space.
//!
//! Per stored object (a chunk, or a whole shard of a sharded array) the selection touches:
//! - wholly covered (every element inside the array is written): encoded from the
//!   caller's data and put without a read, unconditionally (it replaces everything);
//! - partly covered: read, merged, encoded and put with [`Condition::after_read`] of the
//!   version the read saw (a read-modify-write). When the store answers
//!   [`WriteOutcome::ConditionFailed`], another writer got there first: the op reads the
//!   object again, merges again and retries, up to
//!   [`WriteOptions::max_conflict_retries`] times, then fails with
//!   [`Error::WriteConflict`] naming the key.
//!
//! A chunk whose every element equals the fill value is deleted rather than stored
//! (unless [`WriteOptions::write_empty_chunks`]). Shards are rewritten whole with a fresh
//! index; inner chunks equal to the fill value are left out, and a shard left empty is
//! deleted. A partial shard update reads the shard's index (a ranged read, whose version
//! makes the put conditional), then, by coalesced ranged reads, only the inner chunks
//! the new shard needs: not those the write covers wholly. The inner chunks it touches
//! partly are decoded, merged and encoded again; those it does not touch are copied
//! into the new shard as they are, never decoded. (A shard is one object, so those
//! must still be read: what a partial update saves is the wholly rewritten and the
//! empty inner chunks' bytes, and all decoding and encoding of the untouched ones.)
//! Outputs stay queued in the op until polled; the queues grow only in `new`
//! and the `handle_*` calls, and shrink only in the `poll_*` calls.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::cancel::Cancel;
use crate::codec::ChunkRepr;
use crate::dtype::{DataType, FillValue};
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::metadata::ArrayMetadata;
use crate::ndarray::NdArray;
use crate::read::{Request, RequestId, Response};
use crate::read_options::Progress;
use crate::selection::Selection;
use crate::version::{Condition, Version};

mod job;
mod plan;
mod shard;

use plan::check_source;

pub use job::{EncodeJob, Encoded, WriteAction};
use job::{Patch, Shared};
use shard::{Gathered, ShardGeom};

/// How a write treats concurrent writers, empty chunks and memory, and how the
/// caller follows or stops it.
///
/// Not `Copy` since it holds a progress callback and a cancel flag (both shared
/// handles, cheap to clone).
#[derive(Clone)]
pub struct WriteOptions {
    /// Protect read-modify-writes with [`Condition::after_read`] (default `true`). Off,
    /// every write is [`Condition::Always`]: a concurrent update of the same chunk
    /// between the op's read and its put is lost.
    pub conditional: bool,
    /// Store chunks whose every element is the fill value instead of deleting them
    /// (default `false`, as zarr-python). For sharded arrays this is about the shard:
    /// the sharding encoder leaves inner chunks equal to the fill value out either way.
    pub write_empty_chunks: bool,
    /// How often one chunk is read and merged again after a failed condition (default 8).
    pub max_conflict_retries: u32,
    /// Drivers wait a random time up to this before re-reading a chunk whose
    /// condition failed (default 5 ms): two writers contending for the same chunks
    /// otherwise keep colliding in lockstep until one runs out of retries.
    pub conflict_backoff: core::time::Duration,
    /// Allocation bounds: decoded chunk (whole shard) size, stored chunk size, chunks touched.
    pub limits: Limits,
    /// For drivers (the op ignores it): reads and writes in flight; default the store
    /// kind's, from [`FlowControl::for_store`](crate::FlowControl::for_store).
    pub concurrency: Option<usize>,
    /// For drivers (the op ignores it): encode threads; default the number of cores.
    pub encode_threads: Option<usize>,
    /// For drivers (the op ignores it): told as stored objects (chunks, or shards) are
    /// written or found unchanged, up to the total, as [`WriteOp::progress`] counts.
    pub progress: Option<Progress>,
    /// For drivers (the op ignores it): set from another thread, stops the write with
    /// the driver's "cancelled" error. Puts already sent finish; chunks are each
    /// either written whole or left as they were (see [`Cancel`]).
    pub cancel: Option<Cancel>,
}

impl core::fmt::Debug for WriteOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WriteOptions")
            .field("conditional", &self.conditional)
            .field("write_empty_chunks", &self.write_empty_chunks)
            .field("max_conflict_retries", &self.max_conflict_retries)
            .field("conflict_backoff", &self.conflict_backoff)
            .field("limits", &self.limits)
            .field("concurrency", &self.concurrency)
            .field("encode_threads", &self.encode_threads)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .field("cancel", &self.cancel)
            .finish()
    }
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            conditional: true,
            write_empty_chunks: false,
            max_conflict_retries: 8,
            conflict_backoff: core::time::Duration::from_millis(5),
            limits: Limits::default(),
            concurrency: None,
            encode_threads: None,
            progress: None,
            cancel: None,
        }
    }
}

/// A store write the op needs: put or delete the object at `key`, if `condition` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreWrite {
    /// Answer with this id, through [`WriteOp::handle_write`].
    pub id: RequestId,
    /// Store key (relative to the store's root, like [`Request::key`]).
    pub key: String,
    /// Put these bytes, or delete.
    pub action: WriteAction,
    /// What the object's current state must be for the write to happen.
    pub condition: Condition,
}

/// A store's answer to a [`StoreWrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The write happened (a delete of a missing object counts as done).
    Done,
    /// The condition did not hold: the object changed since the op read it. Nothing was written.
    ConditionFailed,
}

/// Counters a driver may report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Read requests emitted (read-modify-writes, including re-reads after conflicts).
    pub reads: u64,
    /// Encoded bytes received by reads.
    pub bytes_read: u64,
    /// Puts emitted.
    pub puts: u64,
    /// Deletes emitted.
    pub deletes: u64,
    /// Encoded bytes of the puts emitted.
    pub bytes_written: u64,
    /// Writes answered with [`WriteOutcome::ConditionFailed`].
    pub conflicts: u64,
    /// Chunks that needed no write (read as missing, still all fill value after merging).
    pub unchanged: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitState {
    Reading,
    Encoding,
    Writing,
    Done,
}

/// A stored object (chunk or shard) the selection touches.
#[derive(Debug)]
struct Unit {
    key: String,
    shape: Vec<u64>,
    /// Partly covered: read before writing.
    rmw: bool,
    patch: Arc<Patch>,
    /// What the last read saw: the object's version, and whether it existed.
    version: Option<Version>,
    existed: bool,
    /// Conflicts so far; jobs of older attempts are refused.
    attempt: u32,
    state: UnitState,
    /// Elements per dimension inside the array, from the object's origin.
    extent: Vec<u64>,
    /// A partial shard update's inner chunks read so far.
    gathered: Option<Gathered>,
}

/// What an outstanding id was for.
#[derive(Debug, Clone)]
enum Pending {
    /// The whole object, or a shard's index when the array is sharded.
    Read(usize),
    /// Inner chunks of a shard (`(C-order linear index, partly covered)`, offset in
    /// the response, length), for attempt `attempt` of the unit's update.
    ShardRange {
        unit: usize,
        attempt: u32,
        len: u64,
        parts: Vec<((usize, bool), u64, u64)>,
    },
    Write(usize),
}

/// Writes a selection of an array without doing IO.
///
/// Inputs are `handle_*`, outputs `poll_*` (each with a `peek_*` that leaves the output
/// in the op, for a driver whose flow control says "not now"), getters take `&self`.
/// The calling rule: after `new` and after every `handle_*`, drain
/// [`poll_request`](Self::poll_request), [`poll_encode`](Self::poll_encode) and
/// [`poll_write`](Self::poll_write) until `None` (or until the driver may start no
/// more). After an error the op is broken: drop it.
///
/// # Versions
/// A read-modify-write needs the version of the object it read. It arrives with the
/// answer, through [`handle_response_versioned`](Self::handle_response_versioned), a
/// method rather than a new [`Response`] variant: a `Response` stays a description of
/// bytes that [`ReadOp`](crate::read::ReadOp) and [`OpenOp`](crate::open::OpenOp)
/// take unchanged, no existing `match` on it gains a case meaning "bytes, again", and a
/// driver serving both ops calls one method on either (`ReadOp` has it too and ignores
/// the version). A store without versions answers with `None`; a conditional write of
/// an existing object then fails with [`Error::Store`] instead of losing updates
/// silently: turn [`WriteOptions::conditional`] off for such stores.
///
/// # Run loop
///
/// ```
/// use std::collections::HashMap;
/// use zarr_proto::ArrayBuilder;
/// use zarr_proto::{
///     ArrayBytes, ArrayMetadata, CodecRegistry, Condition, DataType, DimSelector, Limits, NdArray, ReadOp,
///     Response, Selection, Version, WriteAction, WriteOp, WriteOptions, WriteOutcome,
/// };
///
/// /// A store whose objects carry a generation number as their version.
/// #[derive(Default)]
/// struct Store {
///     objects: HashMap<String, (Vec<u8>, u64)>,
///     clock: u64,
/// }
///
/// fn write(meta: &ArrayMetadata, store: &mut Store, selection: &Selection, data: NdArray) -> zarr_proto::Result<()> {
///     let mut op = WriteOp::new(meta, "", selection, data, WriteOptions::default())?;
///     loop {
///         while let Some(req) = op.poll_request() {
///             // A real driver starts the request here and answers later, in any order.
///             let (response, version) = match store.objects.get(&req.key) {
///                 Some((bytes, g)) => (Response::Bytes(bytes.clone().into()), Some(Version::new(g.to_string()))),
///                 None => (Response::Missing, None),
///             };
///             op.handle_response_versioned(req.id, response, version)?;
///         }
///         while let Some(job) = op.poll_encode() {
///             let encoded = job.run(); // on a thread pool, in a real driver
///             op.handle_encoded(encoded)?;
///         }
///         while let Some(w) = op.poll_write() {
///             let current = store.objects.get(&w.key).map(|(_, g)| Version::new(g.to_string()));
///             let holds = match &w.condition {
///                 Condition::Always => true,
///                 Condition::Absent => current.is_none(),
///                 Condition::Matches(v) => current.as_ref() == Some(v),
///             };
///             let outcome = if holds {
///                 store.clock += 1;
///                 match w.action {
///                     WriteAction::Put(bytes) => drop(store.objects.insert(w.key, (bytes.to_vec(), store.clock))),
///                     WriteAction::Delete => drop(store.objects.remove(&w.key)),
///                 }
///                 WriteOutcome::Done
///             } else {
///                 WriteOutcome::ConditionFailed
///             };
///             op.handle_write(w.id, outcome)?;
///         }
///         if op.is_done() {
///             return op.finish().map(drop);
///         }
///     }
/// }
///
/// let meta = ArrayBuilder::new(vec![6], DataType::UInt8, vec![4]).build_v3(&CodecRegistry::default(), &Limits::default())?;
/// let mut store = Store::default();
/// // Elements 3..6: chunk 0 partly (read, merged), chunk 1 wholly (no read).
/// let data = NdArray { dtype: DataType::UInt8, shape: vec![3], data: ArrayBytes::Fixed(vec![7, 8, 9]) };
/// let sel = Selection::Orthogonal(vec![DimSelector::Slice { start: Some(3), stop: None, step: 1 }]);
/// write(&meta, &mut store, &sel, data)?;
/// assert_eq!(store.objects.len(), 2);
/// # Ok::<(), zarr_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteOp {
    options: WriteOptions,
    shared: Arc<Shared>,
    dtype: DataType,
    fill_value: FillValue,
    units: Vec<Unit>,
    /// Set for sharded arrays: partial shard updates read the index first.
    shard: Option<ShardGeom>,
    reads: VecDeque<(Request, Pending)>,
    encodes: VecDeque<EncodeJob>,
    /// Encoded bytes (read responses) the jobs in `encodes` hold.
    encodes_bytes: u64,
    writes: VecDeque<(StoreWrite, usize)>,
    /// Bytes of the puts in `writes`.
    writes_bytes: u64,
    /// Polled ids not yet answered.
    pending: BTreeMap<u64, Pending>,
    next_id: u64,
    remaining: usize,
    stats: WriteStats,
}

impl WriteOp {
    /// Plans writing `source` to `selection` of the array at `path` in its store (`""`
    /// for the root; keys are relative to the store's root, as
    /// [`ReadOp::new_at`](crate::read::ReadOp::new_at)'s are).
    ///
    /// `source` holds the selection's elements in C order: its shape is the selection's
    /// (as a read of it would return) and its data type the array's.
    ///
    /// # Errors
    /// An invalid selection (out of bounds, wrong rank); a source of another data type
    /// ([`Error::DataType`]), shape ([`Error::SourceShape`]) or byte length
    /// ([`Error::BufferSize`]); chunks above `options.limits`; a sharding configuration
    /// that does not fit the chunk grid.
    pub fn new(
        meta: &ArrayMetadata,
        path: &str,
        selection: &Selection,
        source: NdArray,
        options: WriteOptions,
    ) -> Result<WriteOp> {
        let resolved = selection.resolve(&meta.shape, &meta.chunk_grid.dims())?;
        let shape = resolved.output_shape();
        check_source(meta, &source, &shape)?;
        WriteOp::plan(meta, path, resolved, source.data, false, options)
    }

    /// Plans writing one value to every element of `selection`: `value` holds one
    /// element (any shape of one element, e.g. `[]`) of the array's data type.
    ///
    /// # Errors
    /// As for [`new`](Self::new), with a source of exactly one element.
    pub fn new_scalar(
        meta: &ArrayMetadata,
        path: &str,
        selection: &Selection,
        value: NdArray,
        options: WriteOptions,
    ) -> Result<WriteOp> {
        let resolved = selection.resolve(&meta.shape, &meta.chunk_grid.dims())?;
        if value.shape.iter().try_fold(1u64, |a, &n| a.checked_mul(n)) != Some(1) {
            return Err(Error::SourceShape { expected: Vec::new(), got: value.shape });
        }
        check_source(meta, &value, &value.shape)?;
        WriteOp::plan(meta, path, resolved, value.data, true, options)
    }

    /// Counters so far.
    pub fn stats(&self) -> WriteStats {
        self.stats
    }

    /// Stored objects (chunks, or shards) written or found unchanged, and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.units.len() - self.remaining, self.units.len())
    }

    /// Whether every stored object the selection touches has been written.
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }

    /// Number of reads and writes emitted and not yet answered.
    pub fn requests_outstanding(&self) -> usize {
        self.pending.len()
    }

    /// The next read to make, if any (a chunk to merge into; for a sharded array a
    /// shard's index, then ranges of its inner chunks); the driver now owns answering
    /// it with [`handle_response_versioned`](Self::handle_response_versioned), with the
    /// version of the object the store read (ranged reads too).
    ///
    /// Its answer changes after `new` (the partly covered chunks), after
    /// [`handle_write`](Self::handle_write) (a failed condition reads the chunk again),
    /// after `handle_response_versioned` (a shard's index asks for inner chunks) and
    /// after `poll_request` itself.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<Request> {
        let (req, pending) = self.reads.pop_front()?;
        self.pending.insert(req.id.0, pending);
        self.stats.reads += 1;
        Some(req)
    }

    /// The request [`poll_request`](Self::poll_request) would give, left in the op.
    pub fn peek_request(&self) -> Option<&Request> {
        self.reads.front().map(|(req, _)| req)
    }

    /// The next chunk to merge and encode, if any.
    ///
    /// Its answer changes after `new` (wholly covered chunks need no read), after
    /// [`handle_response_versioned`](Self::handle_response_versioned) (a chunk to
    /// merge into arrived) and after `poll_encode` itself.
    #[must_use]
    pub fn poll_encode(&mut self) -> Option<EncodeJob> {
        let job = self.encodes.pop_front()?;
        self.encodes_bytes -= job.existing_len() as u64;
        Some(job)
    }

    /// The job [`poll_encode`](Self::poll_encode) would give, left in the op.
    pub fn peek_encode(&self) -> Option<&EncodeJob> {
        self.encodes.front()
    }

    /// Encoded bytes (read responses) the encode jobs waiting in the op hold: memory a
    /// driver's flow control counts as held. Each job also needs its
    /// [`decoded_len`](EncodeJob::decoded_len) while it runs.
    pub fn encode_backlog_bytes(&self) -> u64 {
        self.encodes_bytes
    }

    /// The next put or delete, if any; the driver now owns answering it with
    /// [`handle_write`](Self::handle_write).
    ///
    /// Its answer changes after [`handle_encoded`](Self::handle_encoded) (a chunk was
    /// encoded) and after `poll_write` itself.
    #[must_use]
    pub fn poll_write(&mut self) -> Option<StoreWrite> {
        let (write, unit) = self.writes.pop_front()?;
        self.pending.insert(write.id.0, Pending::Write(unit));
        match &write.action {
            WriteAction::Put(b) => {
                self.writes_bytes -= b.len() as u64;
                self.stats.puts += 1;
                self.stats.bytes_written += b.len() as u64;
            }
            WriteAction::Delete => self.stats.deletes += 1,
        }
        Some(write)
    }

    /// The write [`poll_write`](Self::poll_write) would give, left in the op.
    pub fn peek_write(&self) -> Option<&StoreWrite> {
        self.writes.front().map(|(w, _)| w)
    }

    /// Bytes of the puts waiting in the op.
    pub fn write_backlog_bytes(&self) -> u64 {
        self.writes_bytes
    }

    /// Takes the store's answer to read `id` from a store without versions: as
    /// [`handle_response_versioned`](Self::handle_response_versioned) with `None`.
    ///
    /// # Errors
    /// As for that method.
    pub fn handle_response(&mut self, id: RequestId, response: Response) -> Result<()> {
        self.handle_response_versioned(id, response, None)
    }

    /// Takes the store's answer to read `id`, with the version of the object the store
    /// read (`None` for a missing object, or a store that has no versions).
    ///
    /// # Errors
    /// An unknown or already answered id (or a write's id); a response above
    /// `limits.max_encoded_chunk_bytes`; with [`WriteOptions::conditional`], an existing
    /// object answered without a version. Errors name the key.
    pub fn handle_response_versioned(
        &mut self,
        id: RequestId,
        response: Response,
        version: Option<Version>,
    ) -> Result<()> {
        let unit = match self.pending.remove(&id.0) {
            Some(Pending::Read(unit)) => unit,
            Some(Pending::ShardRange { unit, attempt, len, parts }) => {
                return self.shard_range_arrived(unit, attempt, len, parts, response, version)
            }
            Some(Pending::Write(unit)) => {
                self.pending.insert(id.0, Pending::Write(unit));
                return Err(Error::Protocol(format!("request {} is a write: answer it with handle_write", id.0)));
            }
            None => return Err(Error::Protocol(format!("unknown or already answered request {}", id.0))),
        };
        let key = &self.units[unit].key;
        match response {
            Response::Bytes(bytes) => {
                self.stats.bytes_read += bytes.len() as u64;
                limits::check("encoded chunk", bytes.len() as u64, self.options.limits.max_encoded_chunk_bytes)
                    .map_err(|e| e.in_chunk(key))?;
                if self.options.conditional && version.is_none() {
                    return Err(Error::Store {
                        key: key.clone(),
                        reason: "a conditional read-modify-write needs the object's version, and the store gave \
                                 none (turn WriteOptions::conditional off for stores without versions)"
                            .into(),
                    });
                }
                let u = &mut self.units[unit];
                u.version = version;
                u.existed = true;
                if self.shard.is_some() {
                    return self.shard_index_arrived(unit, &bytes);
                }
                self.queue_encode(unit, Some(bytes));
            }
            // A missing object has no version: the write then requires it to stay missing.
            Response::Missing => {
                let u = &mut self.units[unit];
                u.version = None;
                u.existed = false;
                self.queue_encode(unit, None);
            }
        }
        Ok(())
    }

    /// Takes the result of an [`EncodeJob`] and queues the chunk's put or delete.
    ///
    /// # Errors
    /// The merge or encode error, with the chunk's key; a result not expected (given
    /// twice, or from an attempt a conflict superseded).
    pub fn handle_encoded(&mut self, encoded: Encoded) -> Result<()> {
        let Encoded { unit, attempt, key, result } = encoded;
        let expected = self
            .units
            .get(unit)
            .is_some_and(|u| u.state == UnitState::Encoding && u.attempt == attempt && u.key == key);
        if !expected {
            return Err(Error::Protocol(format!("encode result for {key} that was not expected")));
        }
        let action = result.map_err(|e| e.in_chunk(&key))?;
        let u = &mut self.units[unit];
        if action == WriteAction::Delete && u.rmw && !u.existed {
            // Read as missing and still nothing but the fill value: nothing to store.
            u.state = UnitState::Done;
            self.remaining -= 1;
            self.stats.unchanged += 1;
            return Ok(());
        }
        let condition = if u.rmw && self.options.conditional {
            Condition::after_read(u.version.clone())
        } else {
            Condition::Always
        };
        u.state = UnitState::Writing;
        if let WriteAction::Put(b) = &action {
            self.writes_bytes += b.len() as u64;
        }
        let key = u.key.clone();
        let id = self.take_id();
        self.writes.push_back((StoreWrite { id, key, action, condition }, unit));
        Ok(())
    }

    /// Takes the store's answer to write `id`.
    ///
    /// On [`WriteOutcome::ConditionFailed`] the chunk is read again (a new request from
    /// [`poll_request`](Self::poll_request)), merged again and written again.
    ///
    /// # Errors
    /// An unknown or already answered id (or a read's id); a failed condition on an
    /// unconditional write; [`Error::WriteConflict`] naming the key once a chunk has
    /// conflicted more than [`WriteOptions::max_conflict_retries`] times.
    pub fn handle_write(&mut self, id: RequestId, outcome: WriteOutcome) -> Result<()> {
        let unit = match self.pending.remove(&id.0) {
            Some(Pending::Write(unit)) => unit,
            Some(read) => {
                self.pending.insert(id.0, read);
                return Err(Error::Protocol(format!(
                    "request {} is a read: answer it with handle_response_versioned",
                    id.0
                )));
            }
            None => return Err(Error::Protocol(format!("unknown or already answered write {}", id.0))),
        };
        let u = &mut self.units[unit];
        match outcome {
            WriteOutcome::Done => {
                u.state = UnitState::Done;
                self.remaining -= 1;
            }
            WriteOutcome::ConditionFailed => {
                self.stats.conflicts += 1;
                if !(u.rmw && self.options.conditional) {
                    return Err(Error::Store {
                        key: u.key.clone(),
                        reason: "the store reported a failed condition for an unconditional write".into(),
                    });
                }
                u.attempt += 1;
                if u.attempt > self.options.max_conflict_retries {
                    return Err(Error::WriteConflict { key: u.key.clone(), attempts: u.attempt });
                }
                self.queue_read(unit);
            }
        }
        Ok(())
    }

    /// The write's counters, once every stored object is written.
    ///
    /// # Errors
    /// When called before [`is_done`](Self::is_done).
    pub fn finish(self) -> Result<WriteStats> {
        if !self.is_done() {
            return Err(Error::Protocol(format!("finish called with {} chunks outstanding", self.remaining)));
        }
        Ok(self.stats)
    }

    fn take_id(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Asks for the whole object, or for a shard's index.
    fn queue_read(&mut self, unit: usize) {
        let id = self.take_id();
        let u = &mut self.units[unit];
        u.state = UnitState::Reading;
        let range = self.shard.as_ref().map(|g| g.index_range);
        self.reads.push_back((Request { id, key: u.key.clone(), range }, Pending::Read(unit)));
    }

    fn queue_encode(&mut self, unit: usize, existing: Option<Bytes>) {
        let u = &mut self.units[unit];
        u.state = UnitState::Encoding;
        self.encodes_bytes += existing.as_ref().map_or(0, |b| b.len() as u64);
        let repr = ChunkRepr { shape: u.shape.clone(), dtype: self.dtype.clone(), fill_value: self.fill_value.clone() };
        self.encodes.push_back(EncodeJob {
            unit,
            attempt: u.attempt,
            key: u.key.clone(),
            existing,
            gathered: None,
            repr,
            patch: u.patch.clone(),
            shared: self.shared.clone(),
        });
    }

    /// Queues a partial shard update's encode job.
    fn queue_encode_shard(&mut self, unit: usize, gathered: Gathered) {
        self.queue_encode(unit, None);
        if let Some(job) = self.encodes.back_mut() {
            self.encodes_bytes += gathered.len() as u64;
            job.gathered = Some(gathered);
        }
    }
}

#[cfg(test)]
mod tests;
