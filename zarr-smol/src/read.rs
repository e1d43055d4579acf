//! Runs a [`ReadOp`] asynchronously: store futures for IO, a thread pool for decoding.
//!
//! All tasks run on a private [`async_executor::Executor`] that this future drives
//! itself, so a read works under smol, `futures_lite::future::block_on` or any other
//! executor, and dropping the read future cancels every request it started.

use std::collections::VecDeque;
use std::sync::Arc;

use zarr_proto::flow::{Flow, FlowControl};
use zarr_proto::key;
use zarr_proto::ndarray::NdArray;
use zarr_proto::read::{DecodeJob, Decoded, ReadOp, Request, Response};
use zarr_proto::Limits;

use crate::Error;
use zarr_store::{Store, StoreResult};

/// How a read runs.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Requests in flight for this read (metadata, shard indexes and chunks share it);
    /// default: the store kind's, from [`FlowControl::for_store`].
    pub concurrency: Option<usize>,
    /// Chunks decoded at once on the blocking thread pool; default: the number of cores.
    pub decode_threads: Option<usize>,
    /// Allocation bounds; default [`Limits::default`].
    pub limits: Option<Limits>,
}

enum Event {
    Fetched(Request, StoreResult<Option<bytes::Bytes>>),
    /// A decode result and the encoded length of its job.
    Decoded(Decoded, u64),
}

/// Drives `op` to completion against `store`, keys relative to the node at `prefix`.
///
/// Policy (requests in flight, bytes held, inline decoding) is the core's
/// [`Flow`]; this loop only moves bytes and jobs.
pub(crate) async fn run(
    mut op: ReadOp,
    store: Arc<dyn Store>,
    prefix: &str,
    options: &ReadOptions,
) -> Result<NdArray, Error> {
    let control = FlowControl::for_store(store.kind()).with_max_requests(options.concurrency);
    let decoders =
        options.decode_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let mut flow = Flow::for_op(control, decoders, &op);
    let executor = async_executor::Executor::new();
    let (tx, rx) = async_channel::unbounded::<Event>();
    let drive = async {
        let mut requests = VecDeque::new();
        let mut jobs = VecDeque::new();
        loop {
            while let Some(req) = op.poll_request() {
                requests.push_back(req);
            }
            while let Some(job) = op.poll_decode() {
                if flow.decode_inline(job.decoded_len()) {
                    op.handle_decoded(job.run())?;
                    continue;
                }
                flow.job_queued(job.encoded_len() as u64);
                jobs.push_back(job);
            }
            while let Some(len) = jobs.front().map(|j: &DecodeJob| j.encoded_len() as u64) {
                if !flow.may_decode(len) {
                    break;
                }
                let Some(job) = jobs.pop_front() else { break };
                let tx = tx.clone();
                executor
                    .spawn(async move {
                        let decoded = blocking::unblock(move || job.run()).await;
                        let _ = tx.send(Event::Decoded(decoded, len)).await;
                    })
                    .detach();
                flow.decode_started(len);
            }
            while requests.front().is_some_and(|req| flow.may_fetch(req)) {
                let Some(req) = requests.pop_front() else { break };
                flow.fetch_started(&req);
                let fetch = store.get(&key::join(prefix, &req.key), req.range);
                let tx = tx.clone();
                executor
                    .spawn(async move {
                        let result = fetch.await;
                        let _ = tx.send(Event::Fetched(req, result)).await;
                    })
                    .detach();
            }
            if op.is_done() {
                return Ok(());
            }
            let event = rx.recv().await.map_err(|_| zarr_proto::Error::Protocol("read tasks vanished".into()))?;
            match event {
                Event::Fetched(req, result) => {
                    let response = result?;
                    flow.fetch_done(&req, response.as_ref().map(|b| b.len() as u64));
                    let response = match response {
                        Some(bytes) => Response::Bytes(bytes),
                        None => Response::Missing,
                    };
                    op.handle_response(req.id, response)?;
                }
                Event::Decoded(decoded, len) => {
                    flow.decode_done(len);
                    op.handle_decoded(decoded)?;
                }
            }
        }
    };
    let result: Result<(), Error> = executor.run(drive).await;
    result?;
    Ok(op.finish()?)
}

/// Fetches `keys` concurrently (at most `concurrency` at a time), in order.
pub(crate) async fn get_all(
    store: &Arc<dyn Store>,
    keys: &[String],
    concurrency: usize,
) -> Vec<StoreResult<Option<bytes::Bytes>>> {
    let executor = async_executor::Executor::new();
    executor
        .run(async {
            let mut out = Vec::with_capacity(keys.len());
            for batch in keys.chunks(concurrency.max(1)) {
                let tasks: Vec<_> = batch.iter().map(|k| executor.spawn(store.get(k, None))).collect();
                for t in tasks {
                    out.push(t.await);
                }
            }
            out
        })
        .await
}
