//! Runs a [`WriteOp`] asynchronously: store futures for reads and writes, a thread
//! pool for encoding.
//!
//! As for reads, all tasks run on a private [`async_executor::Executor`] that this
//! future drives itself: a write works under any executor, and dropping the write
//! future cancels every request it started (chunks already put stay put).

use std::sync::Arc;

use zarr_proto::{Cancel, Element, NdArray, ProgressReport, Selection, WriteOptions};
use zarr_proto::{Encoded, Request, RequestId, Response, StoreWrite, WriteAction};
use zarr_proto::{WriteFlow, WriteOp, WriteOutcome, WriteStats};
use zarr_store::{Store, StoreResult, Versioned, WriteResult};

use crate::{Array, Error, Pod};

enum Event {
    Read(Request, StoreResult<Option<Versioned>>),
    /// An encode result and the bytes its job held.
    Encoded(Encoded, u64),
    Written(RequestId, StoreResult<WriteResult>),
}

/// Drives `op` to completion against `store`, with at most `options.concurrency` reads
/// and writes in flight (default: the store kind's) and `options.encode_threads` encode
/// threads (default: the number of cores), telling `options.progress` and stopping
/// when `options.cancel` is set (looked at between events, as for reads).
///
/// Policy (what may start now) is the core's [`WriteFlow`]; this loop only moves
/// bytes and jobs.
pub(crate) async fn run(mut op: WriteOp, store: Arc<dyn Store>, options: &WriteOptions) -> Result<WriteStats, Error> {
    let conflict_backoff = options.conflict_backoff;
    let control = store.flow_control().with_max_requests(options.concurrency);
    let encoders =
        options.encode_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let mut progress = ProgressReport::default();
    let mut flow = WriteFlow::new(control, encoders);
    let executor = async_executor::Executor::new();
    let (tx, rx) = async_channel::unbounded::<Event>();
    let drive = async {
        loop {
            if options.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
                return Err(Error::Cancelled);
            }
            // Writes first: they free memory. Then encodes, then reads; whatever an
            // inline encode queued is started before the next one runs.
            let mut started = true;
            while started {
                started = false;
                while flow.may_start_request() {
                    let Some(write) = op.poll_write() else { break };
                    flow.write_started(&write);
                    start_write(&executor, store.as_ref(), write, tx.clone(), conflict_backoff);
                }
                while op.peek_encode().is_some_and(|job| flow.may_encode(job, &op)) {
                    let Some(job) = op.poll_encode() else { break };
                    if flow.encode_inline(&job) {
                        op.handle_encoded(job.run())?;
                        started = true;
                        break;
                    }
                    let cost = WriteFlow::encode_cost(&job);
                    flow.encode_started(cost);
                    let tx = tx.clone();
                    executor
                        .spawn(async move {
                            let encoded = blocking::unblock(move || job.run()).await;
                            let _ = tx.send(Event::Encoded(encoded, cost)).await;
                        })
                        .detach();
                }
            }
            while flow.may_read(&op) {
                let Some(req) = op.poll_request() else { break };
                flow.read_started(&req);
                let read = store.get_versioned(&req.key, req.range);
                let tx = tx.clone();
                executor
                    .spawn(async move {
                        let result = read.await;
                        let _ = tx.send(Event::Read(req, result)).await;
                    })
                    .detach();
            }
            progress.tell(options.progress.as_ref(), op.progress());
            if op.is_done() {
                return Ok(());
            }
            if flow.requests() == 0 && flow.encoding() == 0 {
                // Nothing in flight will answer: the op or the flow broke its promise to progress.
                return Err(zarr_proto::Error::Protocol(format!(
                    "write stalled with {} of {} chunks written",
                    op.progress().0,
                    op.progress().1
                ))
                .into());
            }
            let event = rx.recv().await.map_err(|_| zarr_proto::Error::Protocol("write tasks vanished".into()))?;
            match event {
                Event::Read(req, result) => {
                    let response = result?;
                    flow.read_done(req.id, response.as_ref().map(|(b, _)| b.len() as u64));
                    let (response, version) = match response {
                        Some((bytes, version)) => (Response::Bytes(bytes), version),
                        None => (Response::Missing, None),
                    };
                    op.handle_response_versioned(req.id, response, version)?;
                }
                Event::Encoded(encoded, cost) => {
                    flow.encode_done(cost);
                    op.handle_encoded(encoded)?;
                }
                Event::Written(id, result) => {
                    flow.write_done(id);
                    let outcome = match result? {
                        WriteResult::Stored(_) => WriteOutcome::Done,
                        WriteResult::ConditionFailed => WriteOutcome::ConditionFailed,
                    };
                    op.handle_write(id, outcome)?;
                }
            }
        }
    };
    let result: Result<(), Error> = executor.run(drive).await;
    result?;
    Ok(op.finish()?)
}

/// Starts a put or a delete; its answer arrives on `tx`.
fn start_write(
    executor: &async_executor::Executor<'_>,
    store: &dyn Store,
    write: StoreWrite,
    tx: async_channel::Sender<Event>,
    conflict_backoff: std::time::Duration,
) {
    let StoreWrite { id, key, action, condition } = write;
    let fut = match action {
        WriteAction::Put(bytes) => store.put(&key, bytes, condition),
        WriteAction::Delete => store.delete_if(&key, condition),
    };
    executor
        .spawn(async move {
            let result = fut.await;
            if matches!(result, Ok(WriteResult::ConditionFailed)) {
                // A jittered wait before the op re-reads: lockstep writers collide less.
                let max = u64::try_from(conflict_backoff.as_micros()).unwrap_or(u64::MAX);
                async_io::Timer::after(std::time::Duration::from_micros(fastrand::u64(0..=max))).await;
            }
            let _ = tx.send(Event::Written(id, result)).await;
        })
        .detach();
}

impl Array {
    /// Writes `source` to `selection` with default [`WriteOptions`]: conditional
    /// read-modify-writes when the store checks conditions, chunks left all fill value
    /// deleted.
    ///
    /// `source` holds the selection's elements in C order, native byte order: its data
    /// type is the array's and its shape the one a [`read`](Self::read) of `selection`
    /// returns. Chunks the selection covers wholly are encoded and put without a read;
    /// chunks it covers in part (and whole shards of a sharded array) are read, merged
    /// and put only if nobody changed them since the read, else read and merged again.
    ///
    /// # Concurrent writers
    /// On a store that checks conditions ([`Store::supports_conditional_writes`]: memory,
    /// files on unix, HTTP with `ETag`s) concurrent writers to the same chunk lose no
    /// update. On any other store the write runs with `conditional: false`: two writers
    /// updating different elements of the same chunk at the same time may lose one
    /// writer's elements (last put wins). Writers of disjoint chunks are safe either way.
    ///
    /// # Errors
    /// An invalid selection; a source of another data type or shape
    /// ([`ProtoError::SourceShape`](crate::ProtoError::SourceShape)); a corrupt stored
    /// chunk; a store failure; [`ProtoError::WriteConflict`](crate::ProtoError::WriteConflict)
    /// when other writers kept changing a chunk. Each names the key. The write stops at
    /// the first error; chunks already put stay put.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use std::sync::Arc;
    /// use zarr_smol::proto::ArrayBytes;
    /// use zarr_smol::{s, Array, ArrayBuilder, DataType, DimSelector, MemoryStore, NdArray, ZarrFormat};
    ///
    /// let meta = ArrayBuilder::new(vec![6], DataType::UInt16, vec![4]).build(ZarrFormat::V3)?;
    /// let array = Array::create(Arc::new(MemoryStore::new()), "", meta).await?;
    /// // Elements 1, 3 and 5: a strided slice, three elements in C order.
    /// let values: Vec<u8> = [10u16, 30, 50].iter().flat_map(|v| v.to_ne_bytes()).collect();
    /// let source = NdArray { dtype: DataType::UInt16, shape: vec![3], data: ArrayBytes::Fixed(values) };
    /// array.write(&s![DimSelector::Slice { start: Some(1), stop: None, step: 2 }], source).await?;
    /// assert_eq!(array.read_elements::<u16>(&s![..]).await?, [0, 10, 0, 30, 0, 50]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn write(&self, selection: &Selection, source: NdArray) -> Result<(), Error> {
        self.write_with(selection, source, &WriteOptions::default()).await
    }

    /// [`write`](Self::write) with explicit options: conditional writes, empty chunks,
    /// conflict retries, limits, requests in flight, encode threads.
    ///
    /// `options.conditional` is turned off for a store that cannot check conditions
    /// (see [`write`](Self::write) for what that risks); turning it off on any store
    /// saves nothing but the risk.
    ///
    /// # Errors
    /// As for [`write`](Self::write).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use std::sync::Arc;
    /// use zarr_smol::{s, Array, ArrayBuilder, DataType, MemoryStore, Store, WriteOptions, ZarrFormat};
    ///
    /// let store = Arc::new(MemoryStore::new());
    /// let meta = ArrayBuilder::new(vec![4], DataType::UInt8, vec![2]).build(ZarrFormat::V3)?;
    /// let array = Array::create(store.clone(), "", meta).await?;
    /// // Zeros are the fill value: stored anyway when asked. Two requests in flight at most.
    /// let options = WriteOptions { write_empty_chunks: true, concurrency: Some(2), ..WriteOptions::default() };
    /// let zeros = array.read(&s![..2]).await?;
    /// array.write_with(&s![..2], zeros, &options).await?;
    /// assert!(store.get("c/0", None).await?.is_some());
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn write_with(
        &self,
        selection: &Selection,
        source: NdArray,
        options: &WriteOptions,
    ) -> Result<(), Error> {
        let mut options = options.clone();
        if !self.store.supports_conditional_writes() {
            options.conditional = false;
        }
        let op = WriteOp::new(&self.meta, &self.path, selection, source, options.clone())?;
        run(op, self.store.clone(), &options).await?;
        Ok(())
    }

    /// Writes `values`, elements of `T` (`f32` for `float32`, ...) in C order, to
    /// `selection`: exactly as many as a read of it returns.
    ///
    /// # Errors
    /// As for [`write`](Self::write); `T` not the array's data type; a number of
    /// values that is not the selection's ([`ProtoError::SourceShape`](crate::ProtoError::SourceShape)).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use std::sync::Arc;
    /// use zarr_smol::{s, Array, ArrayBuilder, DataType, MemoryStore, ZarrFormat};
    ///
    /// let meta = ArrayBuilder::new(vec![3, 4], DataType::Float32, vec![2, 2]).build(ZarrFormat::V2)?;
    /// let array = Array::create(Arc::new(MemoryStore::new()), "grid", meta).await?;
    /// array.write_elements(&s![1.., 1..3], &[1.5f32, 2.5, 3.5, 4.5]).await?;
    /// assert_eq!(array.read_elements::<f32>(&s![1, ..]).await?, [0.0, 1.5, 2.5, 0.0]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn write_elements<T: Element + Pod>(&self, selection: &Selection, values: &[T]) -> Result<(), Error> {
        let shape = self.output_shape(selection)?;
        // Type and count checked before the values are copied (the core's rules, as in zarr-blocking).
        let source = NdArray::from_elements(&self.meta.data_type, shape, values)?;
        self.write(selection, source).await
    }
}
