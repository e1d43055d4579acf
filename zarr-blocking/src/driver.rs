//! Runs a [`ReadOp`] with IO threads and decode threads.
//!
//! The calling thread owns the op: it hands requests to IO threads and decode jobs
//! to decode threads over channels, and feeds their results back. IO threads only
//! wait on the store, decode threads only burn CPU, so neither starves the other.

use std::sync::atomic::{AtomicBool, Ordering};

use std::thread;

use bytes::Bytes;
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use zarr_proto::{Cancel, Flow, ProgressReport, ReadOptions};
use zarr_proto::{DecodeJob, Decoded, NdArray, ReadOp, Request, Response};
use zarr_store::{Store, StoreResult};

use crate::Error;

enum Event {
    /// A store answer and the IO thread that fetched it.
    Fetched(usize, Request, StoreResult<Option<Bytes>>),
    /// A decode result and the encoded length of its job.
    Decoded(Decoded, u64),
    /// A worker thread panicked (a bug); the read cannot finish.
    Lost(&'static str),
}

/// Drives `op` to completion against `store`; the array, or `None` when `out` (the
/// buffer of an op made by [`ReadOp::new_into`]) holds it.
pub(crate) fn run(
    mut op: ReadOp,
    store: &dyn Store,
    options: &ReadOptions,
    mut out: Option<&mut [u8]>,
) -> Result<Option<NdArray>, Error> {
    if op.is_done() {
        ProgressReport::default().update(options, &op);
        return finish(op, out.is_some());
    }
    let control = store.flow_control().with_max_requests(options.concurrency);
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
        let mut io =
            IoPool { scope, store, events: event_tx, cancelled: &cancelled, queues: Vec::new(), idle: Vec::new() };
        let mut flow = Flow::for_op(control, decode_threads, &mut op);
        let result = drive(&mut op, &mut io, &mut flow, &job_tx, &event_rx, options, &mut out);
        // Stop the workers: closed channels end their loops, the flag skips queued work.
        cancelled.store(true, Ordering::Relaxed);
        drop(io);
        drop(job_tx);
        result
    })?;
    finish(op, out.is_some())
}

fn finish(op: ReadOp, into_caller_buffer: bool) -> Result<Option<NdArray>, Error> {
    if into_caller_buffer {
        return Ok(None);
    }
    Ok(Some(op.finish()?))
}

/// IO threads, started only when every running one is busy, and reused most recently
/// idle first. Few threads doing the large allocations keep the allocator's per-thread
/// arenas, which hold on to freed memory, few: with one thread per allowed request a
/// sharded read's peak memory grew by some 100 MiB over a few reads.
struct IoPool<'scope, 'env> {
    scope: &'scope thread::Scope<'scope, 'env>,
    store: &'env dyn Store,
    events: Sender<Event>,
    cancelled: &'scope AtomicBool,
    /// One request queue per thread.
    queues: Vec<Sender<Request>>,
    /// Idle threads, the most recently idle last.
    idle: Vec<usize>,
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
        let (store, events, cancelled) = (self.store, self.events.clone(), self.cancelled);
        thread::Builder::new()
            .name("zarr-io".into())
            .spawn_scoped(self.scope, move || io_worker(worker, store, &req_rx, &events, cancelled))
            .map_err(|e| Error::io("(spawning an IO thread)", e))?;
        self.queues.push(req_tx);
        Ok(worker)
    }
}

fn drive(
    op: &mut ReadOp,
    io: &mut IoPool<'_, '_>,
    flow: &mut Flow,
    job_tx: &Sender<(DecodeJob, u64)>,
    events: &Receiver<Event>,
    options: &ReadOptions,
    out: &mut Option<&mut [u8]>,
) -> Result<(), Error> {
    let mut progress = ProgressReport::default();
    loop {
        if options.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
            return Err(Error::Cancelled);
        }
        progress.update(options, op);
        // Work stays queued in the op until the flow allows it: no queue here.
        while let Some(len) = op.peek_decode().map(|job| job.encoded_len() as u64) {
            if !flow.may_decode(len) {
                break;
            }
            let Some(job) = op.poll_decode() else { break };
            // The decode threads run until the job queue closes, so sending cannot fail.
            let _ = job_tx.send((job, len));
            flow.decode_started(len);
        }
        while op.peek_request().is_some_and(|req| flow.may_fetch(req, op.held_bytes())) {
            let Some(req) = op.poll_request() else { break };
            flow.fetch_started(&req);
            io.send(req)?;
        }
        if op.is_done() {
            progress.update(options, op);
            return Ok(());
        }
        // Nothing arrived: rather than wait, decode a queued job here. The calling
        // thread's own work (copying chunks into the output) comes first, so it helps
        // only when decoding is the bottleneck.
        let event = match events.try_recv() {
            Ok(event) => event,
            Err(_) => match op.poll_decode() {
                Some(job) => {
                    op.handle_decoded_to(job.run(), out.as_deref_mut())?;
                    continue;
                }
                None => next_event(events, options.cancel.as_ref())?,
            },
        };
        match event {
            Event::Fetched(worker, req, result) => {
                io.idle.push(worker);
                let value = result?;
                flow.fetch_done(&req, value.as_ref().map(|b| b.len() as u64));
                let response = match value {
                    Some(bytes) => Response::Bytes(bytes),
                    None => Response::Missing,
                };
                op.handle_response(req.id, response)?;
            }
            Event::Decoded(decoded, encoded_len) => {
                flow.decode_done(encoded_len);
                op.handle_decoded_to(decoded, out.as_deref_mut())?;
            }
            Event::Lost(what) => {
                return Err(zarr_proto::Error::Protocol(format!("a {what} thread panicked")).into());
            }
        }
    }
}

/// Waits for a worker's event; with a cancel flag, wakes up now and then to look at it.
pub(crate) fn next_event<E>(events: &Receiver<E>, cancel: Option<&Cancel>) -> Result<E, Error> {
    let exited = || Error::from(zarr_proto::Error::Protocol("all worker threads exited".into()));
    let Some(cancel) = cancel else { return events.recv().map_err(|_| exited()) };
    loop {
        match events.recv_timeout(CANCEL_POLL) {
            Ok(event) => return Ok(event),
            Err(RecvTimeoutError::Timeout) if cancel.is_cancelled() => return Err(Error::Cancelled),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(exited()),
        }
    }
}

/// How often a blocked driver looks at its cancel flag: prompt for a person pressing
/// Ctrl-C, rare enough to cost nothing.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Tells the driver when a worker thread unwinds, so it fails instead of waiting forever.
/// Read and write workers both use it, each with its own event type.
pub(crate) struct PanicGuard<'a, E> {
    pub(crate) events: &'a Sender<E>,
    /// The event that says a worker doing `what` was lost.
    pub(crate) lost: fn(&'static str) -> E,
    pub(crate) what: &'static str,
}

impl<E> Drop for PanicGuard<'_, E> {
    fn drop(&mut self) {
        if thread::panicking() {
            let _ = self.events.send((self.lost)(self.what));
        }
    }
}

fn io_worker(
    worker: usize,
    store: &dyn Store,
    requests: &Receiver<Request>,
    events: &Sender<Event>,
    cancelled: &AtomicBool,
) {
    let _guard = PanicGuard { events, lost: Event::Lost, what: "store IO" };
    for req in requests {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        let result = store.get_blocking(&req.key, req.range);
        if events.send(Event::Fetched(worker, req, result)).is_err() {
            return;
        }
    }
}

fn decode_worker(jobs: &Receiver<(DecodeJob, u64)>, events: &Sender<Event>, cancelled: &AtomicBool) {
    let _guard = PanicGuard { events, lost: Event::Lost, what: "decode" };
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
    use std::sync::atomic::{AtomicU64, AtomicUsize};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use zarr_proto::{ArrayBuilder, ArrayBytes, CodecRegistry, Compression, DataType, Limits};
    use zarr_proto::{ByteRange, Selection};
    use zarr_proto::{FlowControl, StoreKind};
    use zarr_store::{BoxFuture, ListDir, MemoryStore};

    use super::*;
    use crate::Array;

    /// A memory store for the driver's tests. It says it is of `kind`; its blocking
    /// reads take `delay` and count how many overlap; every answer is a copy whose
    /// owner counts its bytes alive until the last slice of it is dropped (what a read
    /// really keeps, wherever the slices went); the ranges asked of chunks are logged.
    #[derive(Debug)]
    struct TestStore {
        inner: MemoryStore,
        kind: StoreKind,
        delay: Duration,
        now: AtomicUsize,
        most: AtomicUsize,
        alive: Arc<Alive>,
        ranges: Mutex<Vec<Option<ByteRange>>>,
    }

    /// Response bytes alive now and at most.
    #[derive(Debug, Default)]
    struct Alive {
        now: AtomicU64,
        most: AtomicU64,
    }

    /// The owner of one answer's bytes: counted alive from creation to drop.
    struct Counted {
        bytes: Vec<u8>,
        alive: Arc<Alive>,
    }

    impl AsRef<[u8]> for Counted {
        fn as_ref(&self) -> &[u8] {
            &self.bytes
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.alive.now.fetch_sub(self.bytes.len() as u64, Ordering::SeqCst);
        }
    }

    impl TestStore {
        fn new(inner: MemoryStore, kind: StoreKind, delay: Duration) -> TestStore {
            let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
            TestStore { inner, kind, delay, now, most, alive: Arc::default(), ranges: Mutex::default() }
        }

        fn counted(&self, value: Option<Bytes>) -> Option<Bytes> {
            let bytes = value?.to_vec();
            let now = self.alive.now.fetch_add(bytes.len() as u64, Ordering::SeqCst) + bytes.len() as u64;
            self.alive.most.fetch_max(now, Ordering::SeqCst);
            Some(Bytes::from_owner(Counted { bytes, alive: self.alive.clone() }))
        }
    }

    impl Store for TestStore {
        fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
            let value = self.get_blocking(key, range);
            Box::pin(async move { value })
        }
        fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
            self.inner.set(key, value)
        }
        fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
            self.inner.delete(key)
        }
        fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
            self.inner.list(prefix)
        }
        fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
            self.inner.list_dir(prefix)
        }
        fn kind(&self) -> StoreKind {
            self.kind
        }
        fn get_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            if key.starts_with("c/") {
                self.ranges.lock().unwrap().push(range);
            }
            thread::sleep(self.delay);
            let result = self.inner.get_blocking(key, range).map(|v| self.counted(v));
            self.now.fetch_sub(1, Ordering::SeqCst);
            result
        }
    }

    /// An uncompressed uint16 array of `chunks` chunks of `chunk_len` elements, element i = i.
    fn array(chunks: u64, chunk_len: u64) -> (Arc<TestStore>, Vec<u16>) {
        let store = MemoryStore::new();
        let meta = format!(
            r#"{{"zarr_format":3,"node_type":"array","shape":[{}],"data_type":"uint16",
            "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[{chunk_len}]}}}},
            "chunk_key_encoding":{{"name":"default"}},"fill_value":0,
            "codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}]}}"#,
            chunks * chunk_len
        );
        store.insert("zarr.json", meta);
        let values: Vec<u16> = (0..chunks * chunk_len).map(|i| i as u16).collect();
        for c in 0..chunks {
            let part = &values[(c * chunk_len) as usize..((c + 1) * chunk_len) as usize];
            store.insert(format!("c/{c}"), part.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
        }
        (Arc::new(TestStore::new(store, StoreKind::Remote, Duration::from_millis(3))), values)
    }

    #[test]
    fn large_chunks_stay_within_the_buffer_budget() {
        // 4 MiB chunks: the budget allows 8 of them fetched or waiting, not the store's 128.
        let (store, values) = array(40, 2 << 20);
        let read = Array::open_with(store.clone(), "", Default::default()).unwrap().read(&Selection::all()).unwrap();
        assert_eq!(read.to_vec::<u16>().unwrap(), values);
        let most = store.most.load(Ordering::SeqCst) as u64;
        let budget = FlowControl::for_store(StoreKind::Remote).buffer_bytes;
        assert!(most >= 2, "requests should overlap, at most {most} did");
        assert!(most * (4 << 20) <= budget, "{most} requests of 4 MiB in flight");
    }

    #[test]
    fn small_chunks_use_the_whole_concurrency() {
        // 2 KiB chunks: the budget is no limit, the store's concurrency is.
        let (store, values) = array(400, 1024);
        let options = ReadOptions { concurrency: Some(16), ..Default::default() };
        let read = Array::open_with(store.clone(), "", Default::default())
            .unwrap()
            .read_with(&Selection::all(), &options)
            .unwrap();
        assert_eq!(read.to_vec::<u16>().unwrap(), values);
        let most = store.most.load(Ordering::SeqCst);
        assert!((9..=16).contains(&most), "{most} requests in flight, expected up to 16");
    }

    #[test]
    fn a_cancelled_read_stops_with_cancelled() {
        // 2000 requests of 3 ms, two at a time: some 3 s unless cancelled.
        let (store, _) = array(2000, 16);
        let cancel = zarr_proto::Cancel::new();
        let options = ReadOptions { concurrency: Some(2), cancel: Some(cancel.clone()), ..Default::default() };
        let array = Array::open_with(store, "", Default::default()).unwrap();
        let canceller = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            cancel.cancel();
        });
        let err = array.read_with(&Selection::all(), &options).unwrap_err();
        canceller.join().unwrap();
        assert!(err.is_cancelled(), "{err}");
        // Already cancelled: fails before any request.
        let err = array.read_with(&Selection::all(), &options).unwrap_err();
        assert!(err.is_cancelled(), "{err}");
    }

    #[test]
    fn first_guess_is_elements_per_request() {
        let (store, _) = array(10, 1000);
        let array = Array::open_with(store, "", Default::default()).unwrap();
        let op = ReadOp::new(array.metadata(), &Selection::all(), Default::default()).unwrap();
        assert_eq!(Flow::first_guess(&op), 2000);
    }

    /// A sharded read from local files holds at most the flow's budget of response
    /// bytes at any moment: shards come in pieces, and a piece counts as held until the
    /// last inner chunk cut from it is decoded.
    #[test]
    fn a_sharded_local_read_holds_at_most_the_budget() {
        // 4 shards of 6 MiB (uint8), three times the local budget, in 64 KiB inner chunks.
        const LEN: u64 = 24 << 20;
        let inner = MemoryStore::new();
        let mut builder = ArrayBuilder::new(vec![LEN], DataType::UInt8, vec![64 << 10]);
        builder.shard_shape = Some(vec![6 << 20]);
        builder.compression = Compression::None;
        let meta = builder.build_v3(&CodecRegistry::default(), &Limits::default()).unwrap();
        let data: Vec<u8> = (0..LEN).map(|i| (i.wrapping_mul(0x9E37_79B9) >> 11) as u8).collect();
        let source = NdArray { dtype: DataType::UInt8, shape: vec![LEN], data: ArrayBytes::Fixed(data.clone()) };
        Array::create(Arc::new(inner.clone()), "", meta).unwrap().write(&Selection::all(), source).unwrap();

        let store = Arc::new(TestStore::new(inner, StoreKind::Local, Duration::ZERO));
        let read = Array::open_with(store.clone(), "", Default::default()).unwrap().read(&Selection::all()).unwrap();
        assert!(read.data == ArrayBytes::Fixed(data), "the read differs from what was written");

        let control = FlowControl::for_store(StoreKind::Local);
        let piece = control.shard_piece_bytes.expect("local shards come in pieces");
        let most = store.alive.most.load(Ordering::SeqCst);
        assert!(most <= control.buffer_bytes, "held {most} bytes at once, budget {}", control.buffer_bytes);
        assert!(most >= piece, "a piece is held until decoded, yet at most {most} bytes were");
        let ranges = store.ranges.lock().unwrap();
        assert!(ranges.iter().all(Option::is_some), "no shard is fetched whole: {ranges:?}");
        let longest = ranges
            .iter()
            .flatten()
            .map(|r| match *r {
                ByteRange::FromStart { length: Some(n), .. } | ByteRange::Suffix(n) => n,
                other => panic!("an open range {other:?}"),
            })
            .max()
            .unwrap();
        assert!(longest <= piece, "a piece of {longest} bytes, more than {piece}");
    }
}
