//! Runs a [`ReadOp`] with IO threads and decode threads.
//!
//! The calling thread owns the op: it hands requests to IO threads and decode jobs
//! to decode threads over channels, and feeds their results back. IO threads only
//! wait on the store, decode threads only burn CPU, so neither starves the other.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{unbounded, Receiver, Sender};
use zarr_proto::key;
use zarr_proto::ndarray::NdArray;
use zarr_proto::read::{DecodeJob, Decoded, ReadOp, Request, Response};
use zarr_proto::Limits;

use crate::store::Store;
use crate::Error;

/// Requests in flight per read from an HTTP store unless configured otherwise
/// (the same budget as the async driver's default).
pub const DEFAULT_HTTP_CONCURRENCY: usize = 128;

/// Progress callback: chunks done, chunks in all.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How a read runs.
#[derive(Clone, Default)]
pub struct ReadOptions {
    /// Requests in flight; default: the store's [`Store::concurrency`].
    pub concurrency: Option<usize>,
    /// Decode threads; default: the number of cores.
    pub decode_threads: Option<usize>,
    /// Allocation bounds; default [`Limits::default`].
    pub limits: Option<Limits>,
    /// Called on the reading thread as chunks complete.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for ReadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOptions")
            .field("concurrency", &self.concurrency)
            .field("decode_threads", &self.decode_threads)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

enum Event {
    Fetched(Request, Result<Option<Vec<u8>>, Error>),
    /// A decode result and the encoded length of its job.
    Decoded(Decoded, u64),
}

/// Drives `op` to completion against `store`, keys relative to the node at `prefix`.
pub(crate) fn run(mut op: ReadOp, store: &dyn Store, prefix: &str, options: &ReadOptions) -> Result<NdArray, Error> {
    if op.is_done() {
        return Ok(op.finish()?);
    }
    let io_threads = options.concurrency.unwrap_or_else(|| store.concurrency()).max(1);
    let io_threads = io_threads.min(op.requests_queued().max(1));
    let decode_threads =
        options.decode_threads.unwrap_or_else(|| thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let cancelled = AtomicBool::new(false);
    let (req_tx, req_rx) = unbounded::<Request>();
    let (job_tx, job_rx) = unbounded::<(DecodeJob, u64)>();
    let (event_tx, event_rx) = unbounded::<Event>();

    thread::scope(|scope| {
        // Named threads, so profiles and debuggers tell IO from decoding.
        for _ in 0..io_threads {
            let (req_rx, event_tx, cancelled) = (req_rx.clone(), event_tx.clone(), &cancelled);
            thread::Builder::new()
                .name("zarr-io".into())
                .spawn_scoped(scope, move || io_worker(store, prefix, &req_rx, &event_tx, cancelled))
                .map_err(|e| Error::io("(spawning an IO thread)", e))?;
        }
        for _ in 0..decode_threads {
            let (job_rx, event_tx, cancelled) = (job_rx.clone(), event_tx.clone(), &cancelled);
            thread::Builder::new()
                .name("zarr-decode".into())
                .spawn_scoped(scope, move || decode_worker(&job_rx, &event_tx, cancelled))
                .map_err(|e| Error::io("(spawning a decode thread)", e))?;
        }
        drop(event_tx);
        let result = drive(&mut op, &req_tx, &job_tx, &event_rx, options, io_threads, decode_threads);
        // Stop the workers: closed channels end their loops, the flag skips queued work.
        cancelled.store(true, Ordering::Relaxed);
        drop(req_tx);
        drop(job_tx);
        result
    })?;
    Ok(op.finish()?)
}

/// Encoded bytes one read holds in memory at once: fetched and not yet decoded, plus
/// an estimate for the requests in flight. Without it a fast store delivers the whole
/// array's encoded bytes before decoding catches up (peak memory = output + all of it).
pub(crate) const BUFFER_BUDGET: u64 = 32 << 20;

/// Requests started before any response tells how large responses are.
const FIRST_WAVE: usize = 8;

/// Decode jobs handed to the decode threads per thread (the rest wait in the driver):
/// enough that no thread idles, few enough that decoded chunks never pile up.
const JOBS_PER_DECODE_THREAD: usize = 2;

/// What the driving thread has started and holds.
struct Flow {
    max_requests: usize,
    max_jobs: usize,
    /// Requests sent to the IO threads, not yet answered.
    fetching: usize,
    /// Decode jobs sent to the decode threads, not yet handled.
    decoding: usize,
    /// Encoded bytes of the jobs in `jobs` and of those being decoded.
    held: u64,
    /// The largest response so far; 0 before the first.
    largest: u64,
    requests: VecDeque<Request>,
    jobs: VecDeque<DecodeJob>,
}

impl Flow {
    /// Whether one more request fits the concurrency and the memory budget.
    fn may_fetch(&self) -> bool {
        if self.fetching >= self.max_requests {
            return false;
        }
        if self.fetching == 0 && self.held == 0 {
            return true; // always make progress, however large one response is
        }
        if self.largest == 0 {
            return self.fetching < FIRST_WAVE;
        }
        self.held + (self.fetching as u64 + 1) * self.largest <= BUFFER_BUDGET
    }
}

fn drive(
    op: &mut ReadOp,
    req_tx: &Sender<Request>,
    job_tx: &Sender<(DecodeJob, u64)>,
    events: &Receiver<Event>,
    options: &ReadOptions,
    max_requests: usize,
    decode_threads: usize,
) -> Result<(), Error> {
    let mut flow = Flow {
        max_requests,
        max_jobs: decode_threads * JOBS_PER_DECODE_THREAD,
        fetching: 0,
        decoding: 0,
        held: 0,
        largest: 0,
        requests: VecDeque::new(),
        jobs: VecDeque::new(),
    };
    loop {
        while let Some(req) = op.poll_request() {
            flow.requests.push_back(req);
        }
        while let Some(job) = op.poll_decode() {
            flow.held += job.encoded_len() as u64;
            flow.jobs.push_back(job);
        }
        while flow.decoding < flow.max_jobs {
            let Some(job) = flow.jobs.pop_front() else { break };
            let len = job.encoded_len() as u64;
            // The workers outlive this loop, so sending cannot fail.
            let _ = job_tx.send((job, len));
            flow.decoding += 1;
        }
        while flow.may_fetch() {
            let Some(req) = flow.requests.pop_front() else { break };
            let _ = req_tx.send(req);
            flow.fetching += 1;
        }
        if op.is_done() {
            return Ok(());
        }
        let event = events.recv().map_err(|_| zarr_proto::Error::Protocol("all worker threads exited".into()))?;
        match event {
            Event::Fetched(req, result) => {
                flow.fetching -= 1;
                let response = match result? {
                    Some(bytes) => {
                        flow.largest = flow.largest.max(bytes.len() as u64);
                        Response::Bytes(bytes)
                    }
                    None => Response::Missing,
                };
                op.handle_response(req.id, response)?;
            }
            Event::Decoded(decoded, encoded_len) => {
                flow.decoding -= 1;
                flow.held -= encoded_len;
                op.handle_decoded(decoded)?;
                if let Some(progress) = &options.progress {
                    let (done, total) = op.progress();
                    progress(done, total);
                }
            }
        }
    }
}

fn io_worker(
    store: &dyn Store,
    prefix: &str,
    requests: &Receiver<Request>,
    events: &Sender<Event>,
    cancelled: &AtomicBool,
) {
    for req in requests {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        let result = store.get(&key::join(prefix, &req.key), req.range);
        if events.send(Event::Fetched(req, result)).is_err() {
            return;
        }
    }
}

fn decode_worker(jobs: &Receiver<(DecodeJob, u64)>, events: &Sender<Event>, cancelled: &AtomicBool) {
    for (job, encoded_len) in jobs {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        if events.send(Event::Decoded(job.run(), encoded_len)).is_err() {
            return;
        }
    }
}
