//! Runs a [`ReadOp`] asynchronously: store futures for IO, a thread pool for decoding.
//!
//! All tasks run on a private [`async_executor::Executor`] that this future drives
//! itself, so a read works under smol, `futures_lite::future::block_on` or any other
//! executor, and dropping the read future cancels every request it started.

use std::collections::VecDeque;
use std::sync::Arc;

use zarr_proto::key;
use zarr_proto::ndarray::NdArray;
use zarr_proto::read::{Decoded, ReadOp, Request, Response};
use zarr_proto::Limits;

use crate::store::{Store, StoreResult};
use crate::Error;

/// Requests in flight per read unless configured otherwise: enough to hide a
/// 50 ms round trip behind ~1300 small chunks in about ten waves.
pub const DEFAULT_CONCURRENCY: usize = 128;

/// How a read runs.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Requests in flight for this read (metadata, shard indexes and chunks share it);
    /// default [`DEFAULT_CONCURRENCY`].
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

/// Chunks that decode to at most this many bytes are decoded on the driving task.
pub const INLINE_DECODE_BYTES: u64 = 16 << 10;

/// Encoded bytes a read may hold waiting for decode threads before it pauses fetching.
pub const BACKLOG_BUDGET: u64 = 64 << 20;

/// Drives `op` to completion against `store`, keys relative to the node at `prefix`.
pub(crate) async fn run(
    mut op: ReadOp,
    store: Arc<dyn Store>,
    prefix: &str,
    options: &ReadOptions,
) -> Result<NdArray, Error> {
    let concurrency = options.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1);
    let decoders =
        options.decode_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let executor = async_executor::Executor::new();
    let (tx, rx) = async_channel::unbounded::<Event>();
    let drive = async {
        let mut requests = VecDeque::new();
        let mut jobs = VecDeque::new();
        let (mut fetching, mut decoding) = (0usize, 0usize);
        // Encoded bytes fetched but not yet decoded: when decoding falls behind IO, stop
        // fetching instead of holding the whole array's compressed bytes in memory.
        let mut backlog = 0u64;
        loop {
            while let Some(req) = op.poll_request() {
                requests.push_back(req);
            }
            while let Some(job) = op.poll_decode() {
                if job.decoded_len() <= INLINE_DECODE_BYTES {
                    // Tiny chunks (the seed scenario's are 40 bytes): a thread hop costs more.
                    op.handle_decoded(job.run())?;
                    continue;
                }
                backlog += job.encoded_len() as u64;
                jobs.push_back(job);
            }
            while fetching < concurrency && (backlog < BACKLOG_BUDGET || fetching == 0) {
                let Some(req) = requests.pop_front() else { break };
                let fetch = store.get(&key::join(prefix, &req.key), req.range);
                let tx = tx.clone();
                executor
                    .spawn(async move {
                        let result = fetch.await;
                        let _ = tx.send(Event::Fetched(req, result)).await;
                    })
                    .detach();
                fetching += 1;
            }
            while decoding < decoders {
                let Some(job) = jobs.pop_front() else { break };
                let tx = tx.clone();
                let len = job.encoded_len() as u64;
                executor
                    .spawn(async move {
                        let decoded = blocking::unblock(move || job.run()).await;
                        let _ = tx.send(Event::Decoded(decoded, len)).await;
                    })
                    .detach();
                decoding += 1;
            }
            if op.is_done() {
                return Ok(());
            }
            let event = rx.recv().await.map_err(|_| zarr_proto::Error::Protocol("read tasks vanished".into()))?;
            match event {
                Event::Fetched(req, result) => {
                    fetching -= 1;
                    let response = match result? {
                        Some(bytes) => Response::Bytes(bytes.into()),
                        None => Response::Missing,
                    };
                    op.handle_response(req.id, response)?;
                }
                Event::Decoded(decoded, len) => {
                    decoding -= 1;
                    backlog -= len;
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
