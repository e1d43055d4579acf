//! Runs a [`ReadOp`] with IO threads and decode threads.
//!
//! The calling thread owns the op: it hands requests to IO threads and decode jobs
//! to decode threads over channels, and feeds their results back. IO threads only
//! wait on the store, decode threads only burn CPU, so neither starves the other.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{unbounded, Receiver, Sender};
use zarr_proto::http::ByteRange;
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
    /// Decode threads; default: the number of cores. The calling thread decodes too
    /// whenever it has nothing else to do.
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
    /// A store answer and the IO thread that fetched it.
    Fetched(usize, Request, Result<Option<Vec<u8>>, Error>),
    /// A decode result and the encoded length of its job.
    Decoded(Decoded, u64),
    /// A worker thread panicked (a bug); the read cannot finish.
    Lost(&'static str),
}

/// Drives `op` to completion against `store`, keys relative to the node at `prefix`.
pub(crate) fn run(mut op: ReadOp, store: &dyn Store, prefix: &str, options: &ReadOptions) -> Result<NdArray, Error> {
    if op.is_done() {
        return Ok(op.finish()?);
    }
    let io_threads = options.concurrency.unwrap_or_else(|| store.concurrency()).max(1);
    let decode_threads =
        options.decode_threads.unwrap_or_else(|| thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let cancelled = AtomicBool::new(false);
    let (job_tx, job_rx) = unbounded::<(DecodeJob, u64)>();
    let (event_tx, event_rx) = unbounded::<Event>();

    thread::scope(|scope| {
        // Named threads, so profiles and debuggers tell IO from decoding.
        for _ in 0..decode_threads {
            let (job_rx, event_tx, cancelled) = (job_rx.clone(), event_tx.clone(), &cancelled);
            thread::Builder::new()
                .name("zarr-decode".into())
                .spawn_scoped(scope, move || decode_worker(&job_rx, &event_tx, cancelled))
                .map_err(|e| Error::io("(spawning a decode thread)", e))?;
        }
        let mut io = IoPool {
            scope,
            store,
            prefix,
            events: event_tx,
            cancelled: &cancelled,
            queues: Vec::new(),
            idle: Vec::new(),
            max: io_threads,
        };
        let result = drive(&mut op, &mut io, &job_tx, &event_rx, options, decode_threads);
        // Stop the workers: closed channels end their loops, the flag skips queued work.
        cancelled.store(true, Ordering::Relaxed);
        drop(io);
        drop(job_tx);
        result
    })?;
    Ok(op.finish()?)
}

/// Encoded bytes one read holds in memory at once: fetched and not yet decoded, plus
/// an estimate for the requests in flight. Without it a fast store delivers the whole
/// array's encoded bytes before decoding catches up (peak memory = output + all of it).
pub(crate) const BUFFER_BUDGET: u64 = 32 << 20;

/// A guess of the encoded size of one whole chunk or shard before any has arrived:
/// two bytes per output element per queued request (the decoded size of 2-byte data,
/// or 4-byte data compressed 2x). It lets a read of many small chunks start all its
/// requests at once, and a read of a few large shards only as many as the budget holds.
fn first_guess(op: &ReadOp) -> u64 {
    let elements: u64 = op.output_shape().iter().product();
    (elements / op.requests_queued().max(1) as u64).saturating_mul(2).max(1)
}

/// Decode jobs handed to each decode thread ahead (the rest wait in the driver): at
/// least this many, so no thread idles while the driver is busy; more while they add
/// up to less than [`DECODE_AHEAD_BYTES`], so small inner chunks queue deep enough too.
const JOBS_PER_DECODE_THREAD: usize = 2;

/// Encoded bytes handed to each decode thread ahead, for jobs beyond the first few.
const DECODE_AHEAD_BYTES: u64 = 1 << 20;

/// Jobs handed to each decode thread ahead, at most (bounds decoded chunks waiting).
const MAX_JOBS_PER_DECODE_THREAD: usize = 64;

/// IO threads, started only when every running one is busy, and reused most recently
/// idle first. Few threads doing the large allocations keep the allocator's per-thread
/// arenas, which hold on to freed memory, few: with one thread per allowed request a
/// sharded read's peak memory grew by some 100 MiB over a few reads.
struct IoPool<'scope, 'env> {
    scope: &'scope thread::Scope<'scope, 'env>,
    store: &'env dyn Store,
    prefix: &'env str,
    events: Sender<Event>,
    cancelled: &'scope AtomicBool,
    /// One request queue per thread.
    queues: Vec<Sender<Request>>,
    /// Idle threads, the most recently idle last.
    idle: Vec<usize>,
    max: usize,
}

impl IoPool<'_, '_> {
    fn send(&mut self, req: Request) -> Result<(), Error> {
        let worker = match self.idle.pop() {
            Some(w) => w,
            None => self.spawn()?,
        };
        // The worker runs until its queue closes, so sending cannot fail.
        let _ = self.queues[worker].send(req);
        Ok(())
    }

    fn spawn(&mut self) -> Result<usize, Error> {
        let worker = self.queues.len();
        let (req_tx, req_rx) = unbounded::<Request>();
        let (store, prefix, events, cancelled) = (self.store, self.prefix, self.events.clone(), self.cancelled);
        thread::Builder::new()
            .name("zarr-io".into())
            .spawn_scoped(self.scope, move || io_worker(worker, store, prefix, &req_rx, &events, cancelled))
            .map_err(|e| Error::io("(spawning an IO thread)", e))?;
        self.queues.push(req_tx);
        Ok(worker)
    }
}

/// What the driving thread has started and holds.
struct Flow {
    max_requests: usize,
    max_jobs: usize,
    /// Requests sent to the IO threads, not yet answered.
    fetching: usize,
    /// Decode jobs sent to the decode threads, not yet handled.
    decoding: usize,
    /// Encoded bytes of those jobs.
    decoding_bytes: u64,
    decode_threads: usize,
    /// Encoded bytes of the jobs in `jobs` and of those being decoded.
    held: u64,
    /// The largest whole-object response so far; 0 before the first.
    largest: u64,
    /// Before any response: the guessed size of a whole-object response.
    first_guess: u64,
    /// Estimated bytes of the requests in flight, by request id.
    in_flight: HashMap<u64, u64>,
    in_flight_bytes: u64,
    requests: VecDeque<Request>,
    jobs: VecDeque<DecodeJob>,
}

impl Flow {
    /// Whether the decode threads should get a job of `len` encoded bytes now.
    fn may_decode(&self, len: u64) -> bool {
        let threads = self.decode_threads as u64;
        self.decoding < self.max_jobs
            || (self.decoding < self.decode_threads * MAX_JOBS_PER_DECODE_THREAD
                && self.decoding_bytes + len <= threads * DECODE_AHEAD_BYTES)
    }

    /// The expected response size of `req`: exact for a byte range, otherwise the
    /// largest whole object so far (or the first guess).
    fn estimate(&self, req: &Request) -> u64 {
        match req.range {
            Some(ByteRange::FromStart { length: Some(n), .. } | ByteRange::Suffix(n)) => n,
            _ if self.largest > 0 => self.largest,
            _ => self.first_guess,
        }
    }

    /// Whether `req` fits the concurrency and the memory budget now.
    fn may_fetch(&self, req: &Request) -> bool {
        if self.fetching >= self.max_requests {
            return false;
        }
        if self.fetching == 0 && self.held == 0 {
            return true; // always make progress, however large one response is
        }
        self.held + self.in_flight_bytes + self.estimate(req) <= BUFFER_BUDGET
    }
}

fn drive(
    op: &mut ReadOp,
    io: &mut IoPool<'_, '_>,
    job_tx: &Sender<(DecodeJob, u64)>,
    events: &Receiver<Event>,
    options: &ReadOptions,
    decode_threads: usize,
) -> Result<(), Error> {
    let mut flow = Flow {
        max_requests: io.max,
        max_jobs: decode_threads * JOBS_PER_DECODE_THREAD,
        fetching: 0,
        decoding: 0,
        decoding_bytes: 0,
        decode_threads,
        held: 0,
        largest: 0,
        first_guess: first_guess(op),
        in_flight: HashMap::new(),
        in_flight_bytes: 0,
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
        while let Some(len) = flow.jobs.front().map(|j| j.encoded_len() as u64) {
            if !flow.may_decode(len) {
                break;
            }
            let Some(job) = flow.jobs.pop_front() else { break };
            // The decode threads run until the job queue closes, so sending cannot fail.
            let _ = job_tx.send((job, len));
            flow.decoding += 1;
            flow.decoding_bytes += len;
        }
        while flow.requests.front().is_some_and(|req| flow.may_fetch(req)) {
            let Some(req) = flow.requests.pop_front() else { break };
            let estimate = flow.estimate(&req);
            flow.in_flight.insert(req.id.0, estimate);
            flow.in_flight_bytes += estimate;
            io.send(req)?;
            flow.fetching += 1;
        }
        if op.is_done() {
            return Ok(());
        }
        // Nothing arrived: rather than wait, decode a queued job here. The calling
        // thread's own work (copying chunks into the output) comes first, so it helps
        // only when decoding is the bottleneck.
        let event = match events.try_recv() {
            Ok(event) => event,
            Err(_) => match flow.jobs.pop_front() {
                Some(job) => {
                    flow.held -= job.encoded_len() as u64;
                    op.handle_decoded(job.run())?;
                    report_progress(op, options);
                    continue;
                }
                None => events.recv().map_err(|_| zarr_proto::Error::Protocol("all worker threads exited".into()))?,
            },
        };
        match event {
            Event::Fetched(worker, req, result) => {
                flow.fetching -= 1;
                flow.in_flight_bytes -= flow.in_flight.remove(&req.id.0).unwrap_or(0);
                io.idle.push(worker);
                let response = match result? {
                    Some(bytes) => {
                        if req.range.is_none() {
                            flow.largest = flow.largest.max(bytes.len() as u64);
                        }
                        Response::Bytes(bytes)
                    }
                    None => Response::Missing,
                };
                op.handle_response(req.id, response)?;
            }
            Event::Decoded(decoded, encoded_len) => {
                flow.decoding -= 1;
                flow.decoding_bytes -= encoded_len;
                flow.held -= encoded_len;
                op.handle_decoded(decoded)?;
                report_progress(op, options);
            }
            Event::Lost(what) => {
                return Err(zarr_proto::Error::Protocol(format!("a {what} thread panicked")).into());
            }
        }
    }
}

fn report_progress(op: &ReadOp, options: &ReadOptions) {
    if let Some(progress) = &options.progress {
        let (done, total) = op.progress();
        progress(done, total);
    }
}

/// Tells the driver when a worker thread unwinds, so it fails instead of waiting forever.
struct PanicGuard<'a> {
    events: &'a Sender<Event>,
    what: &'static str,
}

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            let _ = self.events.send(Event::Lost(self.what));
        }
    }
}

fn io_worker(
    worker: usize,
    store: &dyn Store,
    prefix: &str,
    requests: &Receiver<Request>,
    events: &Sender<Event>,
    cancelled: &AtomicBool,
) {
    let _guard = PanicGuard { events, what: "store IO" };
    for req in requests {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        let result = store.get(&key::join(prefix, &req.key), req.range);
        if events.send(Event::Fetched(worker, req, result)).is_err() {
            return;
        }
    }
}

fn decode_worker(jobs: &Receiver<(DecodeJob, u64)>, events: &Sender<Event>, cancelled: &AtomicBool) {
    let _guard = PanicGuard { events, what: "decode" };
    for (job, encoded_len) in jobs {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        if events.send(Event::Decoded(job.run(), encoded_len)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use zarr_proto::http::ByteRange;
    use zarr_proto::selection::Selection;

    use super::*;
    use crate::{Array, MemoryStore};

    /// A memory store whose reads take a while and count how many overlap.
    struct SlowStore {
        inner: MemoryStore,
        now: AtomicUsize,
        most: AtomicUsize,
    }

    impl Store for SlowStore {
        fn get(&self, key: &str, range: Option<ByteRange>) -> Result<Option<Vec<u8>>, Error> {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(3));
            let result = self.inner.get(key, range);
            self.now.fetch_sub(1, Ordering::SeqCst);
            result
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<(), Error> {
            self.inner.set(key, value.to_vec());
            Ok(())
        }
        fn delete(&self, key: &str) -> Result<(), Error> {
            self.inner.delete(key)
        }
        fn list_dir(&self, prefix: &str) -> Result<(Vec<String>, Vec<String>), Error> {
            self.inner.list_dir(prefix)
        }
        fn concurrency(&self) -> usize {
            64
        }
    }

    /// An uncompressed uint16 array of `chunks` chunks of `chunk_len` elements, element i = i.
    fn array(chunks: u64, chunk_len: u64) -> (Arc<SlowStore>, Vec<u16>) {
        let store = MemoryStore::new();
        let meta = format!(
            r#"{{"zarr_format":3,"node_type":"array","shape":[{}],"data_type":"uint16",
            "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[{chunk_len}]}}}},
            "chunk_key_encoding":{{"name":"default"}},"fill_value":0,
            "codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}]}}"#,
            chunks * chunk_len
        );
        store.set("zarr.json", meta.into_bytes());
        let values: Vec<u16> = (0..chunks * chunk_len).map(|i| i as u16).collect();
        for c in 0..chunks {
            let part = &values[(c * chunk_len) as usize..((c + 1) * chunk_len) as usize];
            store.set(&format!("c/{c}"), part.iter().flat_map(|v| v.to_le_bytes()).collect());
        }
        (Arc::new(SlowStore { inner: store, now: AtomicUsize::new(0), most: AtomicUsize::new(0) }), values)
    }

    #[test]
    fn large_chunks_stay_within_the_buffer_budget() {
        // 4 MiB chunks: the budget allows 8 of them fetched or waiting, not the store's 64.
        let (store, values) = array(40, 2 << 20);
        let read = Array::open_shared(store.clone(), "").unwrap().read(&Selection::all()).unwrap();
        assert_eq!(read.to_vec::<u16>().unwrap(), values);
        let most = store.most.load(Ordering::SeqCst) as u64;
        assert!(most >= 2, "requests should overlap, at most {most} did");
        assert!(most * (4 << 20) <= BUFFER_BUDGET, "{most} requests of 4 MiB in flight");
    }

    #[test]
    fn small_chunks_use_the_whole_concurrency() {
        // 2 KiB chunks: the budget is no limit, the store's concurrency is.
        let (store, values) = array(400, 1024);
        let options = ReadOptions { concurrency: Some(16), ..Default::default() };
        let read = Array::open_shared(store.clone(), "").unwrap().read_with(&Selection::all(), &options).unwrap();
        assert_eq!(read.to_vec::<u16>().unwrap(), values);
        let most = store.most.load(Ordering::SeqCst);
        assert!((9..=16).contains(&most), "{most} requests in flight, expected up to 16");
    }

    #[test]
    fn a_flow_always_makes_progress() {
        let mut flow = Flow {
            max_requests: 4,
            max_jobs: 2,
            fetching: 0,
            decoding: 0,
            decoding_bytes: 0,
            decode_threads: 1,
            held: 0,
            largest: BUFFER_BUDGET * 4,
            first_guess: 1,
            in_flight: HashMap::new(),
            in_flight_bytes: 0,
            requests: VecDeque::new(),
            jobs: VecDeque::new(),
        };
        let whole = Request { id: zarr_proto::read::RequestId(1), key: "c/0".into(), range: None };
        let range = Request { range: Some(ByteRange::new(0, 1 << 20)), ..whole.clone() };
        // One response larger than the whole budget: one request at a time, never none.
        assert!(flow.may_fetch(&whole));
        flow.fetching = 1;
        flow.in_flight_bytes = BUFFER_BUDGET * 4;
        assert!(!flow.may_fetch(&whole));
        // Ranges say their size: small ones fit beside one large response in flight.
        flow.in_flight_bytes = BUFFER_BUDGET / 2;
        assert_eq!(flow.estimate(&range), 1 << 20);
        assert!(flow.may_fetch(&range));
        assert!(!flow.may_fetch(&whole));
        // Never more than the concurrency.
        flow.fetching = 4;
        assert!(!flow.may_fetch(&range));
    }

    #[test]
    fn first_guess_is_elements_per_request() {
        let (store, _) = array(10, 1000);
        let array = Array::open_shared(store, "").unwrap();
        let op = ReadOp::new(array.metadata(), &Selection::all(), Default::default()).unwrap();
        assert_eq!(first_guess(&op), 2000);
    }
}
