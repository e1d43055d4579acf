//! Runs a [`ReadOp`] with IO threads and decode threads.
//!
//! The calling thread owns the op: it hands requests to IO threads and decode jobs
//! to decode threads over channels, and feeds their results back. IO threads only
//! wait on the store, decode threads only burn CPU, so neither starves the other.

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
    Decoded(Decoded),
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
    let (job_tx, job_rx) = unbounded::<DecodeJob>();
    let (event_tx, event_rx) = unbounded::<Event>();

    thread::scope(|scope| {
        for _ in 0..io_threads {
            let (req_rx, event_tx, cancelled) = (req_rx.clone(), event_tx.clone(), &cancelled);
            scope.spawn(move || io_worker(store, prefix, &req_rx, &event_tx, cancelled));
        }
        for _ in 0..decode_threads {
            let (job_rx, event_tx, cancelled) = (job_rx.clone(), event_tx.clone(), &cancelled);
            scope.spawn(move || decode_worker(&job_rx, &event_tx, cancelled));
        }
        drop(event_tx);
        let result = drive(&mut op, &req_tx, &job_tx, &event_rx, options);
        // Stop the workers: closed channels end their loops, the flag skips queued work.
        cancelled.store(true, Ordering::Relaxed);
        drop(req_tx);
        drop(job_tx);
        result
    })?;
    Ok(op.finish()?)
}

fn drive(
    op: &mut ReadOp,
    req_tx: &Sender<Request>,
    job_tx: &Sender<DecodeJob>,
    events: &Receiver<Event>,
    options: &ReadOptions,
) -> Result<(), Error> {
    loop {
        while let Some(req) = op.poll_request() {
            // The workers outlive this loop, so sending cannot fail.
            let _ = req_tx.send(req);
        }
        while let Some(job) = op.poll_decode() {
            let _ = job_tx.send(job);
        }
        if op.is_done() {
            return Ok(());
        }
        let event = events.recv().map_err(|_| zarr_proto::Error::Protocol("all worker threads exited".into()))?;
        match event {
            Event::Fetched(req, result) => {
                let response = match result? {
                    Some(bytes) => Response::Bytes(bytes),
                    None => Response::Missing,
                };
                op.handle_response(req.id, response)?;
            }
            Event::Decoded(decoded) => {
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

fn decode_worker(jobs: &Receiver<DecodeJob>, events: &Sender<Event>, cancelled: &AtomicBool) {
    for job in jobs {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        if events.send(Event::Decoded(job.run())).is_err() {
            return;
        }
    }
}
