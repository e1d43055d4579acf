//! Flow control: how much of one read may be in flight and held in memory at once.
//!
//! Both drivers (async tasks, blocking threads) answer the same questions while
//! they run a [`ReadOp`]: may this request start now, may this decode job go to a
//! decode thread now, is this chunk small enough to decode where it landed. The
//! answers are policy, so they live here, once, as pure functions of counters the
//! driver reports; a driver only moves bytes.
//!
//! ```
//! use zarr_proto::{Flow, FlowControl, StoreKind};
//! use zarr_proto::{Request, RequestId};
//!
//! let control = FlowControl::for_store(StoreKind::Remote);
//! let mut flow = Flow::new(control, 2, 1000);
//! let req = Request { id: RequestId(0), key: "c/0".into(), range: None };
//! assert!(flow.may_fetch(&req, 0));
//! flow.fetch_started(&req);
//! flow.fetch_done(&req, Some(400));
//! ```

use alloc::collections::BTreeMap;

use crate::http::ByteRange;
use crate::read::{ReadOp, Request};

/// What a store is, as far as flow control cares: how long an answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreKind {
    /// Values in memory: answers are immediate.
    Memory,
    /// Files on a local disk, mostly from the page cache: answers take microseconds.
    Local,
    /// Across a network (HTTP, object stores): answers take a round trip.
    Remote,
}

/// The bounds one read runs within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowControl {
    /// Requests in flight at once (metadata, shard indexes and chunks share it).
    pub max_requests: usize,
    /// Encoded bytes fetched and not yet decoded, plus an estimate for the requests in
    /// flight, before new requests wait. Without it a fast store delivers a whole
    /// array's encoded bytes before decoding catches up (peak memory = output + all of it).
    pub buffer_bytes: u64,
    /// Chunks that decode to at most this many bytes are decoded where they arrive:
    /// a hop to a decode thread costs more than the work (the seed scenario's chunks
    /// are 40 bytes).
    pub inline_decode_bytes: u64,
    /// Decode jobs handed to each decode thread ahead at least, so none idles while
    /// the driver is busy.
    pub jobs_per_decoder: usize,
    /// Encoded bytes handed to each decode thread ahead beyond the first few jobs, so
    /// small inner chunks queue deep enough too. Their decoded results wait for the
    /// driver's copy into the output, so this is memory as well: on the sharded 256 MiB
    /// volume (32 KiB inner chunks) 1 MiB ahead peaked ~5 MiB higher than 512 KiB at the
    /// same speed, and 256 KiB was 5-10% slower.
    pub decode_ahead_bytes: u64,
    /// Jobs handed to each decode thread ahead at most (bounds decoded chunks waiting).
    pub max_jobs_per_decoder: usize,
    /// `Some(n)`: shards are fetched as their index and then ranges of at most `n`
    /// bytes, also where the read needs them whole ([`ReadOp::fetch_shards_in_pieces`]);
    /// `None`: such a shard comes in one request.
    pub shard_piece_bytes: Option<u64>,
}

/// Requests in flight for a remote store that does not say how many it serves at once
/// (see [`FlowControl::serving`]): enough to hide a 50 ms round trip behind ~1300 small
/// chunks in about ten waves (the seed scenario: 0.6 s instead of 66 s).
pub const REMOTE_REQUESTS: usize = 128;

/// Requests in flight for local files: they come from the page cache in microseconds,
/// so a few keep the decoders fed and more only contend (measured: 4 beat 16 by 25%
/// and used less memory).
pub const LOCAL_REQUESTS: usize = 4;

/// Requests in flight for a memory store: answers are immediate, a few let a driver
/// batch them.
pub const MEMORY_REQUESTS: usize = 8;

/// Encoded bytes held or in flight for a remote store: a round trip's worth of
/// answers for the decoders while the next requests are out.
const REMOTE_BUFFER_BYTES: u64 = 32 << 20;

/// Encoded bytes held or in flight for local files and memory: the requests in
/// flight and a decode thread's worth ahead each. Measured on a 256 MiB volume: 4, 6
/// and 8 MiB read as fast as 16 and 32, and each MiB less is a MiB less at the peak.
const LOCAL_BUFFER_BYTES: u64 = 8 << 20;

/// The size of the pieces local shards are read in: small enough that a shard's
/// memory goes as it is decoded, large enough that the extra reads cost nothing.
/// Smaller pieces also leave less freed memory with the allocator: `zarr get` of a
/// 256 MiB sharded volume peaked at a median 294, 291, 287 and 284 MiB with pieces
/// of 1 MiB, 512, 256 and 128 KiB, all at the same speed (64 KiB spread wider and
/// read slower).
const LOCAL_SHARD_PIECE_BYTES: u64 = 128 << 10;

impl FlowControl {
    /// The defaults for a kind of store; the one place a driver's defaults come from.
    pub const fn for_store(kind: StoreKind) -> FlowControl {
        let max_requests = match kind {
            StoreKind::Memory => MEMORY_REQUESTS,
            StoreKind::Local => LOCAL_REQUESTS,
            StoreKind::Remote => REMOTE_REQUESTS,
        };
        // Local and memory answers take microseconds: a small backlog keeps the
        // decoders fed.
        let buffer_bytes = match kind {
            StoreKind::Memory | StoreKind::Local => LOCAL_BUFFER_BYTES,
            StoreKind::Remote => REMOTE_BUFFER_BYTES,
        };
        // A whole shard in one response is held until its last inner chunk is decoded;
        // pieces cost a request each, which only local files answer for free. (Memory
        // stores answer ranges with slices of the value they hold anyway.)
        let shard_piece_bytes = match kind {
            StoreKind::Local => Some(LOCAL_SHARD_PIECE_BYTES),
            StoreKind::Memory | StoreKind::Remote => None,
        };
        FlowControl {
            max_requests,
            buffer_bytes,
            inline_decode_bytes: 16 << 10,
            jobs_per_decoder: 2,
            decode_ahead_bytes: 512 << 10,
            max_jobs_per_decoder: 64,
            shard_piece_bytes,
        }
    }

    /// The same bounds with as many requests in flight as the store serves at once,
    /// when it says (a connection pool's size; HTTP/2 connections times the server's
    /// stream limit): fewer leave its connections idle, more only queue in the store.
    ///
    /// Measured on the seed scenario (1289 chunks, 50 ms per request, nginx allowing
    /// 100 streams per h2 connection, four connections): 128 in flight took 0.68 s
    /// over h2c, 400 took 0.36 s; over HTTP/1.1 with a pool of 128 connections, 400 in
    /// flight were 12-17% slower than 128.
    #[must_use]
    pub fn serving(mut self, parallel: Option<usize>) -> FlowControl {
        if let Some(n) = parallel {
            self.max_requests = n.max(1);
        }
        self
    }

    /// The same bounds with `n` requests in flight (at least one) when `n` is given.
    #[must_use]
    pub fn with_max_requests(mut self, n: Option<usize>) -> FlowControl {
        if let Some(n) = n {
            self.max_requests = n.max(1);
        }
        self
    }
}

/// The accounting of one running read: what is in flight and what is held.
///
/// The driver reports each event (`*_started`, `*_done`) and asks `may_*` before it
/// starts work; the answers change only when it reports (and, for `may_fetch`, with
/// the op's decode backlog).
#[derive(Debug, Clone)]
pub struct Flow {
    control: FlowControl,
    decoders: usize,
    /// Requests started, not yet answered.
    fetching: usize,
    /// Decode jobs handed to decode threads, not yet done.
    decoding: usize,
    /// Encoded bytes of those jobs (for how far ahead decode threads get; the memory
    /// they hold is in the op's [`ReadOp::held_bytes`]).
    decoding_bytes: u64,
    /// The largest whole-object response so far; 0 before the first.
    largest: u64,
    /// Before any response: the guessed size of a whole-object response.
    first_guess: u64,
    /// Estimated bytes of the requests in flight, by request id.
    in_flight: BTreeMap<u64, u64>,
    in_flight_bytes: u64,
}

impl Flow {
    /// Accounting for a read with `decoders` decode threads whose first whole-object
    /// response is guessed to be `first_guess` bytes (see [`Flow::first_guess`]).
    pub fn new(control: FlowControl, decoders: usize, first_guess: u64) -> Flow {
        Flow {
            control,
            decoders: decoders.max(1),
            fetching: 0,
            decoding: 0,
            decoding_bytes: 0,
            largest: 0,
            first_guess: first_guess.max(1),
            in_flight: BTreeMap::new(),
            in_flight_bytes: 0,
        }
    }

    /// Accounting for `op` before any response, with `op`'s requests fitted to the
    /// store (shards in pieces where `control` says so). The first guess is two bytes per
    /// output element per queued request (the decoded size of 2-byte data, or 4-byte
    /// data compressed 2x). It lets a read of many small chunks start all its requests
    /// at once, and a read of a few large shards only as many as the budget holds.
    pub fn for_op(control: FlowControl, decoders: usize, op: &mut ReadOp) -> Flow {
        if let Some(piece) = control.shard_piece_bytes {
            op.fetch_shards_in_pieces(piece);
        }
        Flow::new(control, decoders, Flow::first_guess(op))
    }

    /// The guess [`for_op`](Self::for_op) makes.
    pub fn first_guess(op: &ReadOp) -> u64 {
        let elements = op.output_shape().iter().fold(1u64, |a, &b| a.saturating_mul(b));
        (elements / op.requests_queued().max(1) as u64).saturating_mul(2).max(1)
    }

    /// The bounds this flow runs within.
    pub fn control(&self) -> &FlowControl {
        &self.control
    }

    /// Requests started and not yet answered.
    pub fn fetching(&self) -> usize {
        self.fetching
    }

    /// The expected response size of `req`: exact for a byte range, otherwise the
    /// largest whole object so far (or the first guess).
    pub fn estimate(&self, req: &Request) -> u64 {
        match req.range {
            Some(ByteRange::FromStart { length: Some(n), .. } | ByteRange::Suffix(n)) => n,
            _ if self.largest > 0 => self.largest,
            _ => self.first_guess,
        }
    }

    /// Whether `req` fits the concurrency and the memory budget now, with `held`
    /// bytes of responses that decode jobs still need ([`ReadOp::held_bytes`]: queued
    /// or decoding, a shard counted whole until its last inner chunk is done). Always
    /// true when nothing is in flight or held, so a read makes progress however large
    /// one response is.
    pub fn may_fetch(&self, req: &Request, held: u64) -> bool {
        if self.fetching >= self.control.max_requests {
            return false;
        }
        if self.fetching == 0 && held == 0 {
            return true;
        }
        held + self.in_flight_bytes + self.estimate(req) <= self.control.buffer_bytes
    }

    /// The driver started `req`.
    pub fn fetch_started(&mut self, req: &Request) {
        let estimate = self.estimate(req);
        self.in_flight.insert(req.id.0, estimate);
        self.in_flight_bytes += estimate;
        self.fetching += 1;
    }

    /// `req` was answered, with `len` bytes when it had a value.
    pub fn fetch_done(&mut self, req: &Request, len: Option<u64>) {
        self.fetching = self.fetching.saturating_sub(1);
        self.in_flight_bytes -= self.in_flight.remove(&req.id.0).unwrap_or(0);
        if let (None, Some(len)) = (req.range, len) {
            self.largest = self.largest.max(len);
        }
    }

    /// Whether a job that decodes to `decoded_len` bytes should run where it is.
    pub fn decode_inline(&self, decoded_len: u64) -> bool {
        decoded_len <= self.control.inline_decode_bytes
    }

    /// Whether the decode threads should get a job of `encoded_len` bytes now.
    pub fn may_decode(&self, encoded_len: u64) -> bool {
        let c = &self.control;
        self.decoding < self.decoders * c.jobs_per_decoder
            || (self.decoding < self.decoders * c.max_jobs_per_decoder
                && self.decoding_bytes + encoded_len <= self.decoders as u64 * c.decode_ahead_bytes)
    }

    /// A queued job of `encoded_len` bytes went to a decode thread.
    pub fn decode_started(&mut self, encoded_len: u64) {
        self.decoding += 1;
        self.decoding_bytes += encoded_len;
    }

    /// A job a decode thread ran is done.
    pub fn decode_done(&mut self, encoded_len: u64) {
        self.decoding = self.decoding.saturating_sub(1);
        self.decoding_bytes = self.decoding_bytes.saturating_sub(encoded_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::RequestId;

    #[test]
    fn a_flow_always_makes_progress() {
        let control = FlowControl { max_requests: 4, ..FlowControl::for_store(StoreKind::Memory) };
        let budget = control.buffer_bytes;
        let mut flow = Flow::new(control, 1, 1);
        let whole = Request { id: RequestId(1), key: "c/0".into(), range: None };
        let range = Request { id: RequestId(2), range: Some(ByteRange::new(0, 1 << 20)), ..whole.clone() };
        // One response larger than the whole budget: one request at a time, never none.
        assert!(flow.may_fetch(&whole, 0));
        flow.fetch_started(&whole);
        flow.fetch_done(&whole, Some(budget * 4));
        assert!(flow.may_fetch(&whole, 0), "nothing in flight or held: always one");
        assert!(!flow.may_fetch(&whole, 1), "a budget-sized response beside a held chunk does not fit");
        flow.fetch_started(&whole);
        assert!(!flow.may_fetch(&whole, 0), "a second budget-sized response does not fit");
        flow.fetch_done(&whole, Some(1));
        // Ranges say their size: small ones fit beside a large response in flight.
        assert_eq!(flow.estimate(&range), 1 << 20);
        flow.fetch_started(&range);
        assert!(flow.may_fetch(&range, 0));
        assert!(!flow.may_fetch(&range, budget), "what the op holds counts");
        assert!(!flow.may_fetch(&whole, 0));
        // Never more than the concurrency.
        for i in 0..3 {
            flow.fetch_started(&Request { id: RequestId(10 + i), ..range.clone() });
        }
        assert!(!flow.may_fetch(&range, 0));
    }

    #[test]
    fn decode_threads_get_a_few_jobs_ahead() {
        let control = FlowControl::for_store(StoreKind::Local);
        let mut flow = Flow::new(control, 2, 1);
        for _ in 0..4 {
            assert!(flow.may_decode(u64::MAX / 4));
            flow.decode_started(10);
        }
        assert!(!flow.may_decode(u64::MAX / 4), "beyond the first jobs, only while bytes allow");
        assert!(flow.may_decode(100));
        flow.decode_done(10);
        assert!(flow.may_decode(u64::MAX / 4));
        assert!(flow.decode_inline(16 << 10));
        assert!(!flow.decode_inline((16 << 10) + 1));
    }

    #[test]
    fn defaults_per_store() {
        assert_eq!(FlowControl::for_store(StoreKind::Remote).max_requests, REMOTE_REQUESTS);
        // What the store serves at once replaces the kind's default; a caller's choice wins.
        let remote = FlowControl::for_store(StoreKind::Remote);
        assert_eq!(remote.serving(Some(400)).max_requests, 400);
        assert_eq!(remote.serving(None).max_requests, REMOTE_REQUESTS);
        assert_eq!(remote.serving(Some(0)).max_requests, 1);
        assert_eq!(remote.serving(Some(400)).with_max_requests(Some(16)).max_requests, 16);
        assert_eq!(FlowControl::for_store(StoreKind::Local).max_requests, LOCAL_REQUESTS);
        let c = FlowControl::for_store(StoreKind::Remote).with_max_requests(Some(0));
        assert_eq!(c.max_requests, 1);
    }
}
