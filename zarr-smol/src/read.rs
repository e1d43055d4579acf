//! Runs a [`ReadOp`] asynchronously: store futures for IO, a thread pool for decoding.
//!
//! All tasks run on a private [`async_executor::Executor`] that this future drives
//! itself, so a read works under smol, `futures_lite::future::block_on` or any other
//! executor, and dropping the read future cancels every request it started.

use std::sync::Arc;

use zarr_proto::{Cancel, Decoded, NdArray, ReadOp, Request, Response};
use zarr_proto::{Flow, ProgressReport, ReadOptions};

use crate::Error;
use zarr_proto::OpenOp;
use zarr_proto::{CodecRegistry, NodeMetadata};
use zarr_store::{Store, StoreResult};

enum Event {
    Fetched(Request, StoreResult<Option<bytes::Bytes>>),
    /// A decode result and the encoded length of its job.
    Decoded(Decoded, u64),
}

/// Drives `op` to completion against `store`.
///
/// Policy (requests in flight, bytes held, inline decoding) is the core's
/// [`Flow`]; this loop only moves bytes and jobs.
///
/// Returns the array, or `None` when `out` (the buffer of an op made by
/// [`ReadOp::new_into`]) holds it.
pub(crate) async fn run(
    mut op: ReadOp,
    store: Arc<dyn Store>,
    options: &ReadOptions,
    mut out: Option<&mut [u8]>,
) -> Result<Option<NdArray>, Error> {
    let control = store.flow_control().with_max_requests(options.concurrency);
    let decoders =
        options.decode_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let mut flow = Flow::for_op(control, decoders, &mut op);
    let executor = async_executor::Executor::new();
    let (tx, rx) = async_channel::unbounded::<Event>();
    let mut progress = ProgressReport::default();
    let drive = async {
        loop {
            if options.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
                return Err(Error::Cancelled);
            }
            progress.update(options, &op);
            // Work stays queued in the op until the flow allows it: no queue here.
            while let Some(job) = op.peek_decode() {
                let len = job.encoded_len() as u64;
                let inline = flow.decode_inline(job.decoded_len());
                if !inline && !flow.may_decode(len) {
                    break;
                }
                let Some(job) = op.poll_decode() else { break };
                if inline {
                    op.handle_decoded_to(job.run(), out.as_deref_mut())?;
                    continue;
                }
                let tx = tx.clone();
                executor
                    .spawn(async move {
                        let decoded = blocking::unblock(move || job.run()).await;
                        let _ = tx.send(Event::Decoded(decoded, len)).await;
                    })
                    .detach();
                flow.decode_started(len);
            }
            while op.peek_request().is_some_and(|req| flow.may_fetch(req, op.held_bytes())) {
                let Some(req) = op.poll_request() else { break };
                flow.fetch_started(&req);
                let fetch = store.get(&req.key, req.range);
                let tx = tx.clone();
                executor
                    .spawn(async move {
                        let result = fetch.await;
                        let _ = tx.send(Event::Fetched(req, result)).await;
                    })
                    .detach();
            }
            if op.is_done() {
                progress.update(options, &op);
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
                    op.handle_decoded_to(decoded, out.as_deref_mut())?;
                }
            }
        }
    };
    let result: Result<(), Error> = executor.run(drive).await;
    result?;
    if out.is_some() {
        return Ok(None);
    }
    Ok(Some(op.finish()?))
}

/// Fetches the documents `op` asks for, all at once, and parses the node.
pub(crate) async fn open(
    mut op: OpenOp,
    store: &Arc<dyn Store>,
    registry: &CodecRegistry,
) -> Result<NodeMetadata, Error> {
    let executor = async_executor::Executor::new();
    executor
        .run(async {
            let mut tasks = Vec::new();
            while let Some(req) = op.poll_request() {
                tasks.push((req.id, executor.spawn(store.get(&req.key, req.range))));
            }
            for (id, task) in tasks {
                let response = match task.await? {
                    Some(bytes) => Response::Bytes(bytes),
                    None => Response::Missing,
                };
                op.handle_response(id, response)?;
            }
            Ok(op.finish(registry)?)
        })
        .await
}
