//! The read state machine: a selection in, chunk requests out, responses in, an array out.
//!
//! [`ReadOp`] performs no IO. A driver takes requests from [`ReadOp::poll_request`],
//! fetches each however it likes (concurrently, out of order), hands the answers to
//! [`ReadOp::handle_response`], runs the [`DecodeJob`]s that [`ReadOp::poll_decode`]
//! yields on any thread, and returns their results through [`ReadOp::handle_decoded`].
//!
//! Outputs stay queued in the op until the driver takes them: a driver that may not
//! start more work now (its [`Flow`](crate::flow::Flow) says so) looks at the next one
//! with [`ReadOp::peek_request`] / [`ReadOp::peek_decode`] and comes back later, so it
//! keeps no queue of its own. The queues grow only in `new` and the `handle_*` calls;
//! they shrink only in the `poll_*` calls.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::byte_range::ByteRange;
use crate::codec::{ChunkRepr, CodecChain};
use crate::dtype::{DataType, FillValue};
use crate::error::{Error, Result};
use crate::limits::{self, Limits};
use crate::metadata::chunk_grid::DimChunks;
use crate::metadata::{ArrayMetadata, ChunkKeyEncoding};
use crate::ndarray::{ArrayBytes, NdArray};
use crate::selection::project::{self, DimChunkPart, DimItems, Output};
use crate::selection::{ResolvedSelection, Selection};

pub(crate) mod shard;

use shard::ShardLayout;

/// Identifies a request; answer it with [`ReadOp::handle_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A store read the op needs: the whole object at `key`, or a byte range of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Answer with this id.
    pub id: RequestId,
    /// Store key relative to the array (e.g. `c/0/1`, `0.1`).
    pub key: String,
    /// The bytes wanted; `None` for the whole object.
    pub range: Option<ByteRange>,
}

/// A store's answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// The object's bytes (exactly the requested range, when one was asked for).
    ///
    /// `Bytes` rather than `Vec<u8>` so that a driver's buffer reaches the decoder
    /// without a copy, and the inner chunks of a shard share one response.
    Bytes(Bytes),
    /// The object does not exist: its elements take the fill value.
    Missing,
}

/// Decoding of one stored chunk: a pure function, runnable on any thread.
#[derive(Debug)]
#[must_use = "a decode job does nothing until run"]
pub struct DecodeJob {
    unit: usize,
    key: String,
    /// The chunk's encoded bytes: a whole response, or a slice of a shard that
    /// several jobs share.
    bytes: Bytes,
    chain: Arc<CodecChain>,
    repr: Arc<ChunkRepr>,
    limits: Limits,
    /// The chunk is missing: the job decodes nothing, and handing its result back
    /// writes the fill value into the chunk's part of the caller's buffer, which
    /// [`ReadOp::handle_response`] cannot reach.
    missing: bool,
}

impl DecodeJob {
    /// The store key of the chunk (for progress and error messages).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Number of encoded bytes this job decodes.
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    /// Bytes the decoded chunk occupies (elements times item size; a guess of 16 bytes
    /// per element for variable-length types). Drivers use it to decode small chunks
    /// in place, where a hop to another thread would cost more than the work.
    pub fn decoded_len(&self) -> u64 {
        if self.missing {
            return 0;
        }
        let item = self.repr.dtype.size().unwrap_or(16) as u64;
        self.repr.num_elements().saturating_mul(item)
    }

    /// Decodes the chunk.
    pub fn run(self) -> Decoded {
        let result = if self.missing {
            Ok(Chunk::Missing)
        } else {
            decode_chunk(&self.chain, self.bytes, &self.repr, &self.limits).map(Chunk::Data)
        };
        Decoded { unit: self.unit, key: self.key, result }
    }
}

/// The result of a [`DecodeJob`]; give it to [`ReadOp::handle_decoded`].
#[derive(Debug)]
#[must_use = "a decoded chunk reaches the output only through ReadOp::handle_decoded"]
pub struct Decoded {
    unit: usize,
    key: String,
    result: Result<Chunk>,
}

/// What a [`DecodeJob`] gives: a chunk's elements, or the word that it is missing.
#[derive(Debug)]
enum Chunk {
    Data(ArrayBytes),
    Missing,
}

/// Where one read unit's elements go in the output.
#[derive(Debug)]
enum Target {
    /// Index into each dimension's part list.
    Orthogonal(Vec<usize>),
    /// `(chunk element offset, output element offset)` pairs.
    Points(Vec<(u64, u64)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitState {
    Waiting,
    Decoding,
    Done,
}

/// A chunk of the read grid (an inner chunk for sharded arrays) that the selection touches.
#[derive(Debug)]
struct Unit {
    coords: Vec<u64>,
    target: Target,
    state: UnitState,
    /// The response buffer this unit's encoded bytes are a slice of, while its job is
    /// queued or decoding.
    held_in: Option<usize>,
}

/// A response whose bytes decode jobs still hold: a whole chunk, or a shard (or a
/// range of one) that its inner chunks' jobs share. The allocation lives until the
/// last of those jobs is done, so that is how long flow control must count it.
#[derive(Debug)]
struct Held {
    len: u64,
    jobs: usize,
}

/// What an outstanding request was for.
#[derive(Debug)]
enum Pending {
    /// A whole chunk of an unsharded array.
    Chunk { unit: usize },
    /// A shard's index.
    ShardIndex { shard: usize },
    /// A whole shard (the selection needs all of it).
    WholeShard { shard: usize },
    /// A coalesced range of a shard: `(unit, offset into the range, length)` per inner chunk.
    ShardRange { shard: usize, len: u64, parts: Vec<(usize, u64, u64)> },
}

/// Counters a driver may report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Requests emitted so far.
    pub requests: u64,
    /// Encoded bytes received so far.
    pub bytes_received: u64,
    /// Chunks (inner chunks for sharded arrays) decoded so far.
    pub chunks_decoded: u64,
    /// Chunks that were missing and took the fill value.
    pub chunks_missing: u64,
}

/// Reads a selection of an array without doing IO.
///
/// # Run loop
///
/// ```
/// use std::collections::HashMap;
/// use zarr_proto::{ReadOp, Response};
/// use zarr_proto::Selection;
/// use zarr_proto::Limits;
///
/// fn read(meta: &zarr_proto::ArrayMetadata, store: &HashMap<String, Vec<u8>>)
///     -> zarr_proto::Result<zarr_proto::NdArray> {
///     let mut op = ReadOp::new(meta, &Selection::all(), Limits::default())?;
///     loop {
///         while let Some(req) = op.poll_request() {
///             // A real driver starts the request here and answers later, in any order.
///             let response = match store.get(&req.key) {
///                 Some(bytes) => Response::Bytes(req.range.map_or(bytes.clone(), |r| r.slice(bytes).unwrap_or_default().to_vec()).into()),
///                 None => Response::Missing,
///             };
///             op.handle_response(req.id, response)?;
///         }
///         while let Some(job) = op.poll_decode() {
///             let decoded = job.run(); // on a thread pool, in a real driver
///             op.handle_decoded(decoded)?;
///         }
///         if op.is_done() {
///             return op.finish();
///         }
///     }
/// }
/// ```
#[derive(Debug)]
pub struct ReadOp {
    limits: Limits,
    dtype: DataType,
    item_size: usize,
    fill_value: FillValue,
    key_encoding: ChunkKeyEncoding,
    /// The array's path in its store: every request key starts with it.
    prefix: String,
    /// Codecs of one read unit (inner codecs for sharded arrays).
    chain: Arc<CodecChain>,
    /// Boundaries of the read grid (the inner-chunk grid for sharded arrays).
    grid: Vec<DimChunks>,
    /// For orthogonal selections: each dimension's parts, and the output stride per dimension.
    parts: Vec<Vec<DimChunkPart>>,
    out_strides: Vec<u64>,
    output_shape: Vec<u64>,
    output: ArrayBytes,
    /// Elements go to a buffer the caller passes to each `handle_decoded_into`
    /// instead of `output` (which then stays empty).
    caller_output: bool,
    /// The output holds no fill value yet: each missing chunk's part gets it when
    /// the chunk turns out missing. Nothing is filled up front, because every
    /// selected element lies in exactly one chunk the op reads; a read of present
    /// chunks then writes each output byte once (`new_into` used to write the fill
    /// value over the caller's whole buffer, faulting in every page before the first
    /// chunk arrived, and a non-zero fill value did the same to the op's own output).
    fill_missing: bool,
    units: Vec<Unit>,
    sharding: Option<ShardLayout>,
    /// Requests not yet polled, with what they are for.
    queued: VecDeque<(Request, Pending)>,
    /// Polled requests not yet answered, by id.
    pending: BTreeMap<u64, Pending>,
    next_id: u64,
    decodes: VecDeque<DecodeJob>,
    /// Responses that queued or running decode jobs hold, by the index in `Unit::held_in`.
    held: Vec<Held>,
    /// Bytes of the responses in `held` with jobs left.
    held_bytes: u64,
    remaining: usize,
    reprs: BTreeMap<Vec<u64>, Arc<ChunkRepr>>,
    stats: ReadStats,
}

impl ReadOp {
    /// Plans the read of `selection` from the array described by `meta`.
    ///
    /// # Errors
    /// An invalid selection, an output larger than `limits.max_output_bytes`, or a
    /// sharding configuration that does not fit the chunk grid.
    pub fn new(meta: &ArrayMetadata, selection: &Selection, limits: Limits) -> Result<ReadOp> {
        ReadOp::new_at(meta, "", selection, limits)
    }

    /// Plans the read of `selection` from the array at `path` in its store (`""` for
    /// the root): request keys are then relative to the store's root, as
    /// [`OpenOp`](crate::open::OpenOp)'s are, so a driver passes them to the store as
    /// they are.
    ///
    /// # Errors
    /// As for [`new`](Self::new).
    pub fn new_at(meta: &ArrayMetadata, path: &str, selection: &Selection, limits: Limits) -> Result<ReadOp> {
        ReadOp::plan(meta, path, selection, limits, false)
    }

    fn plan(
        meta: &ArrayMetadata,
        path: &str,
        selection: &Selection,
        limits: Limits,
        caller_output: bool,
    ) -> Result<ReadOp> {
        let array_grid = meta.chunk_grid.dims();
        let resolved = selection.resolve(&meta.shape, &array_grid)?;
        let output_shape = resolved.output_shape();
        let item_size = meta.data_type.size().unwrap_or(core::mem::size_of::<usize>() * 3);
        let n_out = limits::checked_size("output", &output_shape, 1, u64::MAX)?;
        limits::checked_size("output", &output_shape, item_size as u64, limits.max_output_bytes)?;
        let n_out = usize::try_from(n_out).map_err(|_| Error::LimitExceeded {
            what: "output",
            requested: n_out,
            limit: usize::MAX as u64,
        })?;

        // Sharded arrays are read in units of inner chunks; the shard is only a container.
        let (chain, grid, sharding) = match meta.codecs.sharding() {
            Some(codec) => {
                let layout = ShardLayout::new(codec, &meta.chunk_grid, &limits)?;
                let grid = codec.chunk_shape.iter().map(|&c| DimChunks::Regular(c)).collect();
                (Arc::new(codec.codecs.clone()), grid, Some(layout))
            }
            None => (Arc::new(meta.codecs.clone()), array_grid, None),
        };
        let largest_unit: Vec<u64> = grid.iter().map(DimChunks::max_len).collect();
        limits::checked_size("decoded chunk", &largest_unit, item_size as u64, limits.max_chunk_bytes)?;

        let mut op = ReadOp {
            limits,
            dtype: meta.data_type.clone(),
            item_size,
            fill_value: meta.fill_value.clone(),
            key_encoding: meta.chunk_key_encoding,
            prefix: String::from(path.trim_matches('/')),
            chain,
            grid,
            parts: Vec::new(),
            out_strides: Vec::new(),
            output_shape,
            output: ArrayBytes::Fixed(Vec::new()),
            caller_output,
            fill_missing: false,
            units: Vec::new(),
            sharding,
            queued: VecDeque::new(),
            pending: BTreeMap::new(),
            next_id: 0,
            decodes: VecDeque::new(),
            held: Vec::new(),
            held_bytes: 0,
            remaining: 0,
            reprs: BTreeMap::new(),
            stats: ReadStats::default(),
        };
        op.plan_units(resolved)?;
        // Allocated after planning, so a read refused for its chunk count allocates nothing.
        let zero_fill = meta.fill_value.0.iter().all(|&b| b == 0);
        if caller_output {
            op.fill_missing = true;
        } else if meta.data_type.is_variable() || zero_fill {
            // Zeroed memory comes from the OS as lazily mapped zero pages: already the
            // fill value, at no cost for the parts chunks overwrite.
            op.output = ArrayBytes::filled(&meta.data_type, &meta.fill_value, n_out)?;
        } else {
            op.output = ArrayBytes::filled(&meta.data_type, &FillValue(alloc::vec![0; item_size]), n_out)?;
            op.fill_missing = true;
        }
        op.plan_requests(meta);
        Ok(op)
    }

    /// Plans the read of `selection` into `out`, the caller's buffer of exactly the
    /// selection's bytes (fixed-size data types, C order, native byte order): the op
    /// allocates no output, and each [`handle_decoded_into`](Self::handle_decoded_into)
    /// writes its chunk's elements there, so a read into a caller's array costs no copy
    /// of the result. `out` is not filled up front: a missing chunk comes back as a
    /// [`DecodeJob`] like any other, whose result writes the fill value into its part.
    /// Every byte of `out` is written once the op is done; after an error its contents
    /// are unspecified.
    ///
    /// # Errors
    /// As for [`new_at`](Self::new_at); a variable-length data type; `out` of another size.
    pub fn new_into(
        meta: &ArrayMetadata,
        path: &str,
        selection: &Selection,
        limits: Limits,
        out: &mut [u8],
    ) -> Result<ReadOp> {
        let Some(item_size) = meta.data_type.size() else {
            return Err(Error::Selection(format!(
                "reading into a caller's buffer needs a fixed-size data type, not {:?}",
                meta.data_type
            )));
        };
        let op = ReadOp::plan(meta, path, selection, limits, true)?;
        // The plan checked that this product fits the output limit.
        let want = op.output_shape.iter().product::<u64>().saturating_mul(item_size as u64);
        if out.len() as u64 != want {
            return Err(Error::BufferSize { expected: want, got: out.len() as u64 });
        }
        Ok(op)
    }

    fn plan_units(&mut self, resolved: ResolvedSelection) -> Result<()> {
        match resolved {
            ResolvedSelection::Orthogonal(dims) => {
                let plan = project::plan_orthogonal(&dims, &self.grid, self.limits.max_chunks_per_read)?;
                self.parts = plan.parts;
                self.out_strides = plan.strides;
                self.units = plan
                    .chunks
                    .into_iter()
                    .map(|(coords, idx)| Unit {
                        coords,
                        target: Target::Orthogonal(idx),
                        state: UnitState::Waiting,
                        held_in: None,
                    })
                    .collect();
            }
            ResolvedSelection::Points(points) => {
                self.units = project::group_points(&points, &self.grid)
                    .into_iter()
                    .map(|(coords, pairs)| Unit {
                        coords,
                        target: Target::Points(pairs),
                        state: UnitState::Waiting,
                        held_in: None,
                    })
                    .collect();
            }
        }
        self.remaining = self.units.len();
        Ok(())
    }

    fn plan_requests(&mut self, meta: &ArrayMetadata) {
        if self.sharding.is_some() {
            self.plan_shard_requests(meta);
            return;
        }
        for unit in 0..self.units.len() {
            let key = self.chunk_key(&self.units[unit].coords);
            let id = self.next_id;
            self.next_id += 1;
            self.queued.push_back((Request { id: RequestId(id), key, range: None }, Pending::Chunk { unit }));
        }
    }

    /// Shape of the array [`finish`](Self::finish) returns.
    pub fn output_shape(&self) -> &[u64] {
        &self.output_shape
    }

    /// Counters so far.
    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// Number of requests emitted and not yet answered.
    pub fn requests_outstanding(&self) -> usize {
        self.pending.len()
    }

    /// Number of requests not yet polled.
    pub fn requests_queued(&self) -> usize {
        self.queued.len()
    }

    /// The next request to make, if any; the driver now owns answering it.
    ///
    /// Its answer changes after `new`, [`handle_response`](Self::handle_response)
    /// (a shard index asks for inner chunks) and `poll_request` itself.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<Request> {
        let (req, pending) = self.queued.pop_front()?;
        self.pending.insert(req.id.0, pending);
        self.stats.requests += 1;
        Some(req)
    }

    /// The request [`poll_request`](Self::poll_request) would give, left in the op:
    /// for a driver deciding whether it may start it now.
    pub fn peek_request(&self) -> Option<&Request> {
        self.queued.front().map(|(req, _)| req)
    }

    /// The next chunk to decode, if any.
    ///
    /// Its answer changes after [`handle_response`](Self::handle_response) (a chunk
    /// arrived) and `poll_decode` itself.
    #[must_use]
    pub fn poll_decode(&mut self) -> Option<DecodeJob> {
        self.decodes.pop_front()
    }

    /// The job [`poll_decode`](Self::poll_decode) would give, left in the op.
    pub fn peek_decode(&self) -> Option<&DecodeJob> {
        self.decodes.front()
    }

    /// Bytes of the responses that decode jobs still need, queued in the op or handed
    /// out and not yet given back: the memory a driver's flow control counts as held.
    ///
    /// A response counts whole until its last job is done, because its jobs share its
    /// allocation: a shard's inner chunks are slices of it. (Counting each job's slice
    /// instead let a sharded read hold a shard or two beyond the budget.)
    pub fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    /// Chunks finished and chunks in all (inner chunks for sharded arrays), for progress reports.
    pub fn progress(&self) -> (usize, usize) {
        (self.units.len() - self.remaining, self.units.len())
    }

    /// Whether every selected element has been filled in.
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }

    /// Takes the store's answer to request `id`.
    ///
    /// # Errors
    /// An unknown or already answered id, a response of the wrong length, or a
    /// corrupt shard index; the error names the key.
    pub fn handle_response(&mut self, id: RequestId, response: Response) -> Result<()> {
        let pending = self
            .pending
            .remove(&id.0)
            .ok_or_else(|| Error::Protocol(format!("unknown or already answered request {}", id.0)))?;
        if let Response::Bytes(b) = &response {
            self.stats.bytes_received += b.len() as u64;
            limits::check("encoded chunk", b.len() as u64, self.limits.max_encoded_chunk_bytes)
                .map_err(|e| e.in_chunk(&self.request_key(&pending)))?;
        }
        match pending {
            Pending::Chunk { unit } => match response {
                Response::Missing => self.fill_unit(unit),
                Response::Bytes(bytes) => {
                    let key = self.chunk_key(&self.units[unit].coords);
                    let held = self.hold(bytes.len());
                    self.queue_decode(unit, key, bytes, held);
                    self.settle(held);
                }
            },
            Pending::WholeShard { shard } => match response {
                Response::Missing => self.fill_shard(shard),
                Response::Bytes(bytes) => self.split_whole_shard(shard, bytes)?,
            },
            Pending::ShardIndex { shard } => match response {
                Response::Missing => self.fill_shard(shard),
                Response::Bytes(bytes) => self.read_shard_index(shard, &bytes)?,
            },
            Pending::ShardRange { shard, len, parts } => self.read_shard_range(shard, len, parts, response)?,
        }
        Ok(())
    }

    /// Takes the store's answer to request `id` with the version of the object read,
    /// which a read does not need: the one call a driver makes for a
    /// [`WriteOp`](crate::WriteOp)'s reads, accepted here too so a driver need not
    /// know which kind of op asked.
    ///
    /// # Errors
    /// As for [`handle_response`](Self::handle_response).
    pub fn handle_response_versioned(
        &mut self,
        id: RequestId,
        response: Response,
        _version: Option<crate::Version>,
    ) -> Result<()> {
        self.handle_response(id, response)
    }

    /// Takes the result of a [`DecodeJob`] and copies its elements into the output.
    ///
    /// # Errors
    /// The decoding error, with the chunk's key; a result given twice.
    pub fn handle_decoded(&mut self, decoded: Decoded) -> Result<()> {
        if self.caller_output {
            return Err(Error::Protocol("this op writes into the caller's buffer: use handle_decoded_into".into()));
        }
        self.scatter_decoded(decoded, None)
    }

    /// Takes the result of a [`DecodeJob`] of an op made by [`new_into`](Self::new_into)
    /// and copies its elements into `out`, the buffer given there.
    ///
    /// # Errors
    /// As for [`handle_decoded`](Self::handle_decoded); an op that owns its output, or
    /// `out` of another size.
    pub fn handle_decoded_into(&mut self, decoded: Decoded, out: &mut [u8]) -> Result<()> {
        let want = self.output_shape.iter().product::<u64>().saturating_mul(self.item_size as u64);
        if !self.caller_output || out.len() as u64 != want {
            return Err(Error::Protocol("handle_decoded_into needs the op and buffer of new_into".into()));
        }
        self.scatter_decoded(decoded, Some(out))
    }

    /// [`handle_decoded_into`](Self::handle_decoded_into) with `Some(out)`,
    /// [`handle_decoded`](Self::handle_decoded) with `None`: one call for a driver that
    /// runs both kinds of op.
    ///
    /// # Errors
    /// As for those two.
    pub fn handle_decoded_to(&mut self, decoded: Decoded, out: Option<&mut [u8]>) -> Result<()> {
        match out {
            Some(out) => self.handle_decoded_into(decoded, out),
            None => self.handle_decoded(decoded),
        }
    }

    fn scatter_decoded(&mut self, decoded: Decoded, out: Option<&mut [u8]>) -> Result<()> {
        let Decoded { unit, key, result } = decoded;
        let state = self.units.get(unit).map(|u| u.state);
        if state != Some(UnitState::Decoding) {
            return Err(Error::Protocol(format!("decode result for {key} that was not expected")));
        }
        self.release(unit);
        let data = match result.map_err(|e| e.in_chunk(&key))? {
            Chunk::Data(data) => data,
            Chunk::Missing => {
                match out {
                    Some(buf) => self.fill_target(unit, Output::Fixed(buf)),
                    None => {
                        let mut output = core::mem::replace(&mut self.output, ArrayBytes::Fixed(Vec::new()));
                        self.fill_target(unit, Output::from(&mut output));
                        self.output = output;
                    }
                }
                self.units[unit].state = UnitState::Done;
                self.remaining -= 1;
                return Ok(());
            }
        };
        let shape = self.unit_shape(unit);
        check_decoded(&data, &self.dtype, &shape, &key)?;
        let out = match out {
            Some(buf) => Output::Fixed(buf),
            None => Output::from(&mut self.output),
        };
        match &self.units[unit].target {
            Target::Orthogonal(idx) => {
                let items: Vec<&DimItems> = idx.iter().enumerate().map(|(d, &i)| &self.parts[d][i].items).collect();
                project::scatter(&data, &shape, &items, out, &self.out_strides, self.item_size);
            }
            Target::Points(pairs) => project::scatter_points(&data, pairs, out, self.item_size),
        }
        self.stats.chunks_decoded += 1;
        self.units[unit].state = UnitState::Done;
        self.remaining -= 1;
        Ok(())
    }

    /// The assembled array.
    ///
    /// # Errors
    /// When called before [`is_done`](Self::is_done).
    pub fn finish(self) -> Result<NdArray> {
        if !self.is_done() {
            return Err(Error::Protocol(format!("finish called with {} chunks outstanding", self.remaining)));
        }
        if self.caller_output {
            return Err(Error::Protocol("the array is in the caller's buffer (new_into)".into()));
        }
        Ok(NdArray { dtype: self.dtype, shape: self.output_shape, data: self.output })
    }

    fn request_key(&self, pending: &Pending) -> String {
        match pending {
            Pending::Chunk { unit } => self.chunk_key(&self.units[*unit].coords),
            Pending::ShardIndex { shard } | Pending::WholeShard { shard } | Pending::ShardRange { shard, .. } => {
                self.shard(*shard).key.clone()
            }
        }
    }

    /// The store key of a chunk (or shard) at grid `coords`.
    fn chunk_key(&self, coords: &[u64]) -> String {
        store_key(&self.prefix, self.key_encoding, coords)
    }

    fn unit_shape(&self, unit: usize) -> Vec<u64> {
        self.units[unit].coords.iter().enumerate().map(|(d, &c)| self.grid[d].span(c).map_or(0, |s| s.1)).collect()
    }

    /// A chunk turned out missing: its elements take the fill value. They already hold
    /// it unless `fill_missing`; the op's own output is filled here, a caller's buffer
    /// (which only `handle_decoded_into` reaches) through a decode job that decodes nothing.
    fn fill_unit(&mut self, unit: usize) {
        if self.units[unit].state != UnitState::Waiting {
            return;
        }
        self.stats.chunks_missing += 1;
        if self.fill_missing && self.caller_output {
            let key = self.chunk_key(&self.units[unit].coords);
            self.queue_job(unit, key, Bytes::new(), true);
            return;
        }
        if self.fill_missing {
            let mut output = core::mem::replace(&mut self.output, ArrayBytes::Fixed(Vec::new()));
            self.fill_target(unit, Output::from(&mut output));
            self.output = output;
        }
        self.units[unit].state = UnitState::Done;
        self.remaining -= 1;
    }

    /// Writes the fill value into the output elements of `unit`.
    fn fill_target(&self, unit: usize, out: Output<'_>) {
        match &self.units[unit].target {
            Target::Orthogonal(idx) => {
                let items: Vec<&DimItems> = idx.iter().enumerate().map(|(d, &i)| &self.parts[d][i].items).collect();
                project::fill(&self.unit_shape(unit), &items, out, &self.out_strides, &self.fill_value.0);
            }
            Target::Points(pairs) => project::fill_points(pairs, out, &self.fill_value.0),
        }
    }

    /// Starts counting a response of `len` bytes as held; its jobs then name the
    /// returned index in [`queue_decode`](Self::queue_decode), and
    /// [`settle`](Self::settle) ends the count if none did.
    fn hold(&mut self, len: usize) -> usize {
        self.held.push(Held { len: len as u64, jobs: 0 });
        self.held_bytes += len as u64;
        self.held.len() - 1
    }

    /// Stops counting response `held` if no job took a slice of it.
    fn settle(&mut self, held: usize) {
        if self.held[held].jobs == 0 {
            self.held_bytes -= core::mem::take(&mut self.held[held].len);
        }
    }

    /// `unit`'s job is done: its response is no longer held once no other job needs it.
    fn release(&mut self, unit: usize) {
        let Some(held) = self.units[unit].held_in.take() else { return };
        let h = &mut self.held[held];
        h.jobs -= 1;
        if h.jobs == 0 {
            self.held_bytes -= core::mem::take(&mut h.len);
        }
    }

    /// Queues the decoding of `bytes`, a slice of held response `held`.
    fn queue_decode(&mut self, unit: usize, key: String, bytes: Bytes, held: usize) {
        self.held[held].jobs += 1;
        self.units[unit].held_in = Some(held);
        self.queue_job(unit, key, bytes, false);
    }

    fn queue_job(&mut self, unit: usize, key: String, bytes: Bytes, missing: bool) {
        let shape = self.unit_shape(unit);
        let repr = match self.reprs.get(&shape) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(ChunkRepr {
                    shape: shape.clone(),
                    dtype: self.dtype.clone(),
                    fill_value: self.fill_value.clone(),
                });
                self.reprs.insert(shape, r.clone());
                r
            }
        };
        self.units[unit].state = UnitState::Decoding;
        self.decodes.push_back(DecodeJob {
            unit,
            key,
            bytes,
            chain: self.chain.clone(),
            repr,
            limits: self.limits,
            missing,
        });
    }
}

/// Decodes one stored chunk with `chain`: the decoding a read and a read-modify-write share.
pub(crate) fn decode_chunk(chain: &CodecChain, bytes: Bytes, repr: &ChunkRepr, limits: &Limits) -> Result<ArrayBytes> {
    // A compressor reads borrowed bytes. Without one the bytes become the output,
    // and `Vec::from` takes over a unique buffer instead of copying it.
    if chain.bytes_to_bytes.is_empty() {
        chain.decode_owned(Vec::from(bytes), repr, limits)
    } else {
        chain.decode(&bytes, repr, limits)
    }
}

/// Checks that a decoded chunk holds the elements of a chunk of `shape` and `dtype`,
/// so copying from it stays in bounds; the error names `key`.
pub(crate) fn check_decoded(data: &ArrayBytes, dtype: &DataType, shape: &[u64], key: &str) -> Result<()> {
    let expected = shape.iter().try_fold(1u64, |a, &n| a.checked_mul(n));
    let ok = match (data, dtype.size(), expected) {
        (ArrayBytes::Fixed(b), Some(item), Some(n)) => (item as u64).checked_mul(n) == Some(b.len() as u64),
        (ArrayBytes::Variable(v), None, Some(n)) => v.len() as u64 == n,
        _ => false,
    };
    if !ok {
        return Err(Error::Chunk {
            key: key.into(),
            source: alloc::boxed::Box::new(Error::codec(
                "codec chain",
                format!("decoded to the wrong size for a chunk of shape {shape:?}"),
            )),
        });
    }
    Ok(())
}

/// The store key of the chunk (or shard) at grid `coords` of the array at `prefix`;
/// a free function so code holding part of the op mutably can call it too.
pub(crate) fn store_key(prefix: &str, encoding: ChunkKeyEncoding, coords: &[u64]) -> String {
    crate::key::join(prefix, &encoding.key(coords))
}
