//! Flow control of a write: how many reads and writes may be in flight, how many
//! chunks may be encoding and how many bytes held, while a driver runs a [`WriteOp`].
//!
//! [`Flow`](crate::Flow)'s twin for writes, from the same [`FlowControl`] bounds: the
//! answers are policy, so they live here once, as pure functions of counters the driver
//! reports and of the op's own backlogs. A driver only moves bytes.
//!
//! Bytes held by a write: read responses in flight (estimated), read responses waiting
//! for an encode job ([`WriteOp::encode_backlog_bytes`]), encode jobs running (their
//! response plus the decoded chunk), encoded chunks waiting for a request slot
//! ([`WriteOp::write_backlog_bytes`]) and puts in flight. The caller's source array is
//! not counted: it is held for the whole write whatever the driver does.
//!
//! ```
//! use zarr_proto::{FlowControl, StoreKind, WriteFlow};
//! use zarr_proto::{Request, RequestId};
//!
//! let mut flow = WriteFlow::new(FlowControl::for_store(StoreKind::Remote), 2);
//! let req = Request { id: RequestId(0), key: "c/0".into(), range: None };
//! assert!(flow.may_start_request());
//! flow.read_started(&req);
//! flow.read_done(req.id, Some(400));
//! assert_eq!(flow.requests(), 0);
//! ```

use alloc::collections::BTreeMap;

use crate::flow::FlowControl;
use crate::read::{Request, RequestId};
use crate::write::{EncodeJob, StoreWrite, WriteAction, WriteOp};

/// The accounting of one running write: what is in flight and what is held.
///
/// The driver reports each event (`*_started`, `*_done`) and asks `may_*` before it
/// starts work. Writes go first (they free memory and need no budget, only a request
/// slot), then encode jobs, then reads. Each `may_*` is true when nothing at all is in
/// flight or held, so a write makes progress however large one chunk is.
#[derive(Debug, Clone)]
pub struct WriteFlow {
    control: FlowControl,
    encoders: usize,
    /// Reads and writes started, not yet answered.
    requests: usize,
    /// Estimated bytes of the reads in flight, by request id.
    reading: BTreeMap<u64, u64>,
    reading_bytes: u64,
    /// Bytes of the puts in flight, by request id.
    writing: BTreeMap<u64, u64>,
    writing_bytes: u64,
    /// Encode jobs handed to encode threads, not yet done, and the bytes they hold.
    encoding: usize,
    encoding_bytes: u64,
    /// The largest read response so far (`None` before the first answer).
    largest: Option<u64>,
}

impl WriteFlow {
    /// Accounting for a write with `encoders` encode threads (at least one).
    pub fn new(control: FlowControl, encoders: usize) -> WriteFlow {
        WriteFlow {
            control,
            encoders: encoders.max(1),
            requests: 0,
            reading: BTreeMap::new(),
            reading_bytes: 0,
            writing: BTreeMap::new(),
            writing_bytes: 0,
            encoding: 0,
            encoding_bytes: 0,
            largest: None,
        }
    }

    /// The bounds this flow runs within.
    pub fn control(&self) -> &FlowControl {
        &self.control
    }

    /// Reads and writes started and not yet answered.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Encode jobs started and not yet done.
    pub fn encoding(&self) -> usize {
        self.encoding
    }

    /// Bytes held now: the driver's (reads and puts in flight, jobs encoding) and the
    /// op's backlogs.
    pub fn held(&self, op: &WriteOp) -> u64 {
        self.reading_bytes
            + self.writing_bytes
            + self.encoding_bytes
            + op.encode_backlog_bytes()
            + op.write_backlog_bytes()
    }

    /// Whether anything at all is in flight or held.
    fn idle(&self, op: &WriteOp) -> bool {
        self.requests == 0 && self.encoding == 0 && self.held(op) == 0
    }

    /// Whether another read or write fits the concurrency now.
    pub fn may_start_request(&self) -> bool {
        self.requests < self.control.max_requests
    }

    /// Whether `req`, the op's next read, fits the concurrency and the memory budget.
    ///
    /// Before the first answer the size of a chunk is unknown, so the first read goes
    /// alone (one round trip, beside encodes and writes that need no read); afterwards
    /// each read is estimated at the largest answer so far.
    pub fn may_read(&self, op: &WriteOp) -> bool {
        if !self.may_start_request() {
            return false;
        }
        if self.idle(op) {
            return true;
        }
        match self.largest {
            None => self.reading.is_empty() && self.held(op) <= self.control.buffer_bytes,
            Some(estimate) => self.held(op) + estimate.max(1) <= self.control.buffer_bytes,
        }
    }

    /// The driver started read `req`.
    pub fn read_started(&mut self, req: &Request) {
        let estimate = self.largest.unwrap_or(0);
        self.reading.insert(req.id.0, estimate);
        self.reading_bytes += estimate;
        self.requests += 1;
    }

    /// Read `id` was answered, with `len` bytes when the object existed.
    pub fn read_done(&mut self, id: RequestId, len: Option<u64>) {
        self.requests = self.requests.saturating_sub(1);
        self.reading_bytes -= self.reading.remove(&id.0).unwrap_or(0);
        self.largest = Some(self.largest.unwrap_or(0).max(len.unwrap_or(0)));
    }

    /// Whether `job` should run where it is rather than on an encode thread: a hop to
    /// a thread costs more than a small chunk's work (the same bound as decoding's).
    pub fn encode_inline(&self, job: &EncodeJob) -> bool {
        job.decoded_len() <= self.control.inline_decode_bytes
    }

    /// Whether `job` (the op's next, still queued there) may start now: a free encode
    /// thread slot (`jobs_per_decoder` per thread) unless it runs inline, and its decoded
    /// chunk within the budget.
    pub fn may_encode(&self, job: &EncodeJob, op: &WriteOp) -> bool {
        let inline = self.encode_inline(job);
        if !inline && self.encoding >= self.encoders * self.control.jobs_per_decoder {
            return false;
        }
        // Progress: nothing running beside the op's queues means nothing will free memory.
        if self.requests == 0 && self.encoding == 0 && op.write_backlog_bytes() == 0 {
            return true;
        }
        self.held(op) + job.decoded_len() <= self.control.buffer_bytes
    }

    /// The bytes a job holds while it runs: its response and its decoded chunk. Give
    /// the same number to [`encode_started`](Self::encode_started) and
    /// [`encode_done`](Self::encode_done).
    pub fn encode_cost(job: &EncodeJob) -> u64 {
        job.existing_len() as u64 + job.decoded_len()
    }

    /// A job holding `cost` bytes went to an encode thread.
    pub fn encode_started(&mut self, cost: u64) {
        self.encoding += 1;
        self.encoding_bytes += cost;
    }

    /// A job holding `cost` bytes is done.
    pub fn encode_done(&mut self, cost: u64) {
        self.encoding = self.encoding.saturating_sub(1);
        self.encoding_bytes = self.encoding_bytes.saturating_sub(cost);
    }

    /// The driver started `write`.
    pub fn write_started(&mut self, write: &StoreWrite) {
        let len = match &write.action {
            WriteAction::Put(b) => b.len() as u64,
            WriteAction::Delete => 0,
        };
        self.writing.insert(write.id.0, len);
        self.writing_bytes += len;
        self.requests += 1;
    }

    /// Write `id` was answered.
    pub fn write_done(&mut self, id: RequestId) {
        self.requests = self.requests.saturating_sub(1);
        self.writing_bytes -= self.writing.remove(&id.0).unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::{ArrayBuilder, ArrayBytes, CodecRegistry, DataType, Limits, NdArray, Selection, StoreKind};
    use crate::{Response, Version, WriteOptions, WriteOutcome};

    fn op(len: u64, chunk: u64, selection: Selection, n: usize) -> WriteOp {
        let meta = ArrayBuilder::new(vec![len], DataType::UInt8, vec![chunk])
            .build_v3(&CodecRegistry::default(), &Limits::default())
            .expect("valid metadata");
        let data = NdArray { dtype: DataType::UInt8, shape: vec![n as u64], data: ArrayBytes::Fixed(vec![1; n]) };
        WriteOp::new(&meta, "", &selection, data, WriteOptions::default()).expect("valid write")
    }

    #[test]
    fn the_first_read_goes_alone_then_reads_fill_the_budget() {
        let sel = Selection::Orthogonal(vec![crate::DimSelector::Slice { start: Some(0), stop: None, step: 4 }]);
        let mut op = op(64, 8, sel, 16);
        let control = FlowControl { max_requests: 4, buffer_bytes: 100, ..FlowControl::for_store(StoreKind::Memory) };
        let mut flow = WriteFlow::new(control, 1);
        assert!(flow.may_read(&op));
        let first = op.poll_request().expect("a partial chunk is read");
        flow.read_started(&first);
        assert!(!flow.may_read(&op), "size unknown: one read at a time");
        flow.read_done(first.id, Some(30));
        op.handle_response_versioned(first.id, Response::Bytes(vec![0u8; 8].into()), Some(Version::new("1")))
            .expect("answer");
        // 8 bytes wait in the op for their encode job; each read is now estimated at 30.
        let mut started = 0;
        while flow.may_read(&op) {
            let req = op.poll_request().expect("more partial chunks");
            flow.read_started(&req);
            started += 1;
        }
        assert_eq!(started, 3, "8 + 3 x 30 fits in 100, a fourth does not");
        assert!(!flow.may_start_request() || flow.held(&op) + 30 > 100);
    }

    #[test]
    fn encodes_and_writes_are_bounded_and_always_progress() {
        // Eight wholly covered chunks of 8 bytes: encode jobs at once, no reads.
        let mut op = op(64, 8, Selection::all(), 64);
        let control = FlowControl {
            max_requests: 2,
            buffer_bytes: 20,
            inline_decode_bytes: 0,
            ..FlowControl::for_store(StoreKind::Memory)
        };
        let mut flow = WriteFlow::new(control, 1);
        let job = op.poll_encode().expect("a job");
        assert!(flow.may_encode(op.peek_encode().expect("another"), &op));
        let cost = WriteFlow::encode_cost(&job);
        flow.encode_started(cost);
        flow.encode_started(cost);
        assert!(!flow.may_encode(op.peek_encode().expect("another"), &op), "two jobs per thread");
        flow.encode_done(cost);
        flow.encode_done(cost);
        op.handle_encoded(job.run()).expect("encoded");
        // An 8-byte put waits: a 9th byte of decoded chunk would still fit, 8 more + 8 not.
        assert!(flow.may_start_request());
        let w = op.poll_write().expect("a put");
        flow.write_started(&w);
        assert_eq!(flow.held(&op), 8);
        assert!(flow.may_encode(op.peek_encode().expect("another"), &op));
        flow.encode_started(8);
        assert!(!flow.may_encode(op.peek_encode().expect("another"), &op), "8 + 8 + 8 > 20");
        flow.write_done(w.id);
        op.handle_write(w.id, WriteOutcome::Done).expect("done");
        assert_eq!(flow.requests(), 0);
    }
}
