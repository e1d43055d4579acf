//! Runs a [`WriteOp`] with IO threads and encode threads.
//!
//! The calling thread owns the op, as for reads (see `driver.rs`): IO threads wait on
//! the store (reads for read-modify-writes, puts, deletes), encode threads run the
//! [`EncodeJob`]s. What may start when is the core's [`WriteFlow`] (the async driver
//! asks it the same questions): writes before encodes before reads, within the
//! store's request budget and buffer bytes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crossbeam_channel::{unbounded, Receiver, Sender};
use zarr_proto::{EncodeJob, Encoded, Request, RequestId, Response, StoreWrite, WriteAction, WriteOp};
use zarr_proto::{WriteFlow, WriteOutcome, WriteStats};
use zarr_store::{Store, StoreResult, Versioned, WriteResult};

use crate::driver::{next_event, PanicGuard};
use crate::{Array, Error, NdArray, Selection};
use bytemuck::Pod;
use zarr_proto::{Cancel, Element, ProgressReport, WriteOptions};

/// Work for an IO thread.
enum IoTask {
    Read(Request),
    Write(StoreWrite),
}

enum Event {
    Fetched(Request, StoreResult<Option<Versioned>>),
    Written(RequestId, StoreResult<WriteResult>),
    /// An encode result and the bytes its job held.
    Encoded(Encoded, u64),
    /// A worker thread panicked (a bug); the write cannot finish.
    Lost(&'static str),
}

impl Array {
    /// Writes `source` (the selection's shape, the array's data type) into the array.
    ///
    /// Chunks the selection covers whole are encoded and put without a read; partly
    /// covered ones are read, merged and put only if nobody changed them in between
    /// (re-read and merged again if someone did), on stores that can check that
    /// ([`Store::supports_conditional_writes`]: memory, files, HTTP servers with
    /// ETags). On other stores two writers updating the same chunk at once can lose
    /// one update. A chunk left all fill value is deleted (zarr-python's default).
    ///
    /// # Errors
    /// A source of another shape or data type, a selection outside the array, store
    /// failures (naming the key), a chunk that kept changing under us.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use zarr_blocking::{s, Array, ArrayBuilder, DataType, MemoryStore, ZarrFormat};
    ///
    /// let meta = ArrayBuilder::new(vec![4, 4], DataType::UInt16, vec![2, 2]).build(ZarrFormat::V3)?;
    /// let array = Array::create(Arc::new(MemoryStore::new()), "a", meta)?;
    /// array.write_elements(&s![1..3, 1], &[7u16, 8])?;
    /// assert_eq!(array.read_elements::<u16>(&s![.., 1])?, [0, 7, 8, 0]);
    /// # Ok::<(), zarr_blocking::Error>(())
    /// ```
    pub fn write(&self, selection: &Selection, source: NdArray) -> Result<(), Error> {
        self.write_with(selection, source, &WriteOptions::default())
    }

    /// [`write`](Self::write) with explicit options. `conditional` is switched off
    /// on stores that cannot check conditions.
    ///
    /// # Errors
    /// As for [`write`](Self::write).
    pub fn write_with(&self, selection: &Selection, source: NdArray, options: &WriteOptions) -> Result<(), Error> {
        let mut options = options.clone();
        options.conditional &= self.store.supports_conditional_writes();
        let op = WriteOp::new(&self.meta, &self.path, selection, source, options.clone())?;
        run(op, self.store.as_ref(), &options)?;
        Ok(())
    }

    /// Writes `values` (C order, the selection's shape) into the array.
    ///
    /// # Errors
    /// As for [`write`](Self::write); `T` must match the array's data type.
    pub fn write_elements<T: Element + Pod>(&self, selection: &Selection, values: &[T]) -> Result<(), Error> {
        let shape = self.output_shape(selection)?;
        // Type and count checked before the values are copied (the core's rules, as in zarr-smol).
        let source = NdArray::from_elements(&self.meta.data_type, shape, values)?;
        self.write(selection, source)
    }
}

/// Drives `op` to completion against `store` with the requests in flight, encode
/// threads, progress callback and cancel flag of `options`.
///
/// A cancel stops the loop at once ([`Error::Cancelled`]); the IO threads finish the
/// put they are in (a put replaces a chunk whole) and skip the queued ones.
pub(crate) fn run(mut op: WriteOp, store: &dyn Store, options: &WriteOptions) -> Result<WriteStats, Error> {
    let control = store.flow_control().with_max_requests(options.concurrency);
    let encode_threads =
        options.encode_threads.unwrap_or_else(|| thread::available_parallelism().map_or(2, |n| n.get()));
    let conflict_backoff = options.conflict_backoff;
    let max_requests = control.max_requests.max(1);
    let encode_threads = encode_threads.max(1);
    let mut progress = ProgressReport::default();
    let mut flow = WriteFlow::new(control, encode_threads);
    let cancelled = AtomicBool::new(false);
    let (job_tx, job_rx) = unbounded::<(EncodeJob, u64)>();
    let (task_tx, task_rx) = unbounded::<IoTask>();
    let (event_tx, event_rx) = unbounded::<Event>();

    thread::scope(|scope| {
        for _ in 0..encode_threads {
            let (job_rx, event_tx, cancelled) = (job_rx.clone(), event_tx.clone(), &cancelled);
            thread::Builder::new()
                .name("zarr-encode".into())
                .spawn_scoped(scope, move || encode_worker(&job_rx, &event_tx, cancelled))
                .map_err(|e| Error::io("(spawning an encode thread)", e))?;
        }
        let mut io_threads = 0;
        let mut spawn_io = |busy: usize| -> Result<(), Error> {
            // A new IO thread only when every running one is busy.
            if busy > io_threads && io_threads < max_requests {
                let (task_rx, event_tx, cancelled) = (task_rx.clone(), event_tx.clone(), &cancelled);
                thread::Builder::new()
                    .name("zarr-io".into())
                    .spawn_scoped(scope, move || io_worker(store, &task_rx, &event_tx, cancelled, conflict_backoff))
                    .map_err(|e| Error::io("(spawning an IO thread)", e))?;
                io_threads += 1;
            }
            Ok(())
        };
        let result = (|| {
            loop {
                if options.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
                    return Err(Error::Cancelled);
                }
                // Writes first: they free memory. Then encodes, then reads; policy is the
                // core's WriteFlow, as in the async driver.
                let mut started = true;
                while started {
                    started = false;
                    while flow.may_start_request() {
                        let Some(write) = op.poll_write() else { break };
                        flow.write_started(&write);
                        spawn_io(flow.requests())?;
                        // IO threads run until the task channel closes, so sending cannot fail.
                        let _ = task_tx.send(IoTask::Write(write));
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
                        let _ = job_tx.send((job, cost));
                    }
                }
                while flow.may_read(&op) {
                    let Some(req) = op.poll_request() else { break };
                    flow.read_started(&req);
                    spawn_io(flow.requests())?;
                    let _ = task_tx.send(IoTask::Read(req));
                }
                progress.tell(options.progress.as_ref(), op.progress());
                if op.is_done() {
                    return Ok(());
                }
                if flow.requests() == 0 && flow.encoding() == 0 {
                    let (done, total) = op.progress();
                    return Err(Error::Proto(zarr_proto::Error::Protocol(format!(
                        "write stalled with {done} of {total} chunks written"
                    ))));
                }
                match next_event(&event_rx, options.cancel.as_ref()) {
                    Ok(Event::Fetched(req, result)) => {
                        let response = result?;
                        flow.read_done(req.id, response.as_ref().map(|(b, _)| b.len() as u64));
                        let (response, version) = match response {
                            Some((bytes, version)) => (Response::Bytes(bytes), version),
                            None => (Response::Missing, None),
                        };
                        op.handle_response_versioned(req.id, response, version)?;
                    }
                    Ok(Event::Written(id, result)) => {
                        flow.write_done(id);
                        let outcome = match result? {
                            WriteResult::Stored(_) => WriteOutcome::Done,
                            WriteResult::ConditionFailed => WriteOutcome::ConditionFailed,
                        };
                        op.handle_write(id, outcome)?;
                    }
                    Ok(Event::Encoded(encoded, cost)) => {
                        flow.encode_done(cost);
                        op.handle_encoded(encoded)?;
                    }
                    Ok(Event::Lost(what)) => {
                        return Err(Error::io(what, std::io::Error::other("a worker thread panicked")));
                    }
                    Err(e) => return Err(e),
                }
            }
        })();
        // Stop the workers: closed channels end their loops, the flag skips queued work.
        cancelled.store(true, Ordering::Relaxed);
        drop(task_tx);
        drop(job_tx);
        result
    })?;
    Ok(op.finish()?)
}

fn io_worker(
    store: &dyn Store,
    tasks: &Receiver<IoTask>,
    events: &Sender<Event>,
    cancelled: &AtomicBool,
    conflict_backoff: std::time::Duration,
) {
    let _guard = PanicGuard { events, lost: Event::Lost, what: "store IO" };
    for task in tasks {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        let event = match task {
            IoTask::Read(req) => {
                let result = store.get_versioned_blocking(&req.key, req.range);
                Event::Fetched(req, result)
            }
            IoTask::Write(write) => {
                let result = match &write.action {
                    WriteAction::Put(bytes) => store.put_blocking(&write.key, bytes.clone(), write.condition.clone()),
                    WriteAction::Delete => store.delete_if_blocking(&write.key, write.condition.clone()),
                };
                if matches!(result, Ok(WriteResult::ConditionFailed)) {
                    // Here, not on the driving thread: the op goes on with other chunks meanwhile.
                    let max = u64::try_from(conflict_backoff.as_micros()).unwrap_or(u64::MAX);
                    thread::sleep(std::time::Duration::from_micros(fastrand::u64(0..=max)));
                }
                Event::Written(write.id, result)
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

fn encode_worker(jobs: &Receiver<(EncodeJob, u64)>, events: &Sender<Event>, cancelled: &AtomicBool) {
    let _guard = PanicGuard { events, lost: Event::Lost, what: "encode" };
    for (job, cost) in jobs {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        if events.send(Event::Encoded(job.run(), cost)).is_err() {
            return;
        }
    }
}
