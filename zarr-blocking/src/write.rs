//! Runs a [`WriteOp`] with IO threads and encode threads.
//!
//! The calling thread owns the op, as for reads (see `driver.rs`): IO threads wait on
//! the store (reads for read-modify-writes, puts, deletes), encode threads run the
//! [`EncodeJob`]s. Writes go out before new reads, so encoded chunks leave memory
//! as soon as a request slot frees; encoding stops while the encoded bytes waiting
//! for a slot exceed the store's buffer budget.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crossbeam_channel::{unbounded, Receiver, Sender};
use zarr_proto::{EncodeJob, Encoded, FlowControl, Request, RequestId, Response, StoreWrite, WriteAction, WriteOp};
use zarr_proto::{WriteOutcome, WriteStats};
use zarr_store::{Store, StoreResult, Versioned, WriteResult};

use crate::{Array, Error, NdArray, Selection};
use bytemuck::Pod;
use zarr_proto::{ArrayBytes, Element, WriteOptions};

/// Work for an IO thread.
enum IoTask {
    Read(Request),
    Write(StoreWrite),
}

enum Event {
    Fetched(Request, StoreResult<Option<Versioned>>),
    Written(RequestId, StoreResult<WriteResult>),
    Encoded(Encoded),
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
        let mut options = *options;
        options.conditional &= self.store.supports_conditional_writes();
        let op = WriteOp::new(&self.meta, &self.path, selection, source, options)?;
        let control = FlowControl::for_store(self.store.kind()).with_max_requests(options.concurrency);
        let threads = options.encode_threads.unwrap_or_else(|| thread::available_parallelism().map_or(2, |n| n.get()));
        run(op, self.store.as_ref(), control.max_requests, threads, options.conflict_backoff)?;
        Ok(())
    }

    /// Writes `values` (C order, the selection's shape) into the array.
    ///
    /// # Errors
    /// As for [`write`](Self::write); `T` must match the array's data type.
    pub fn write_elements<T: Element + Pod>(&self, selection: &Selection, values: &[T]) -> Result<(), Error> {
        let resolved = selection.resolve(&self.meta.shape, &self.meta.chunk_grid.dims())?;
        let shape = resolved.output_shape();
        if shape.iter().product::<u64>() != values.len() as u64 {
            return Err(Error::Proto(zarr_proto::Error::SourceShape {
                expected: shape,
                got: vec![values.len() as u64],
            }));
        }
        let source = NdArray {
            dtype: self.meta.data_type.clone(),
            shape,
            data: ArrayBytes::Fixed(bytemuck::cast_slice(values).to_vec()),
        };
        if !T::matches(&self.meta.data_type) {
            return Err(Error::Proto(zarr_proto::Error::DataType {
                dtype: self.meta.data_type.to_string(),
                reason: format!("cannot write elements of type {}", std::any::type_name::<T>()),
            }));
        }
        self.write(selection, source)
    }
}

/// Drives `op` to completion against `store` with at most `max_requests` store
/// operations at once and `encode_threads` threads encoding.
pub(crate) fn run(
    mut op: WriteOp,
    store: &dyn Store,
    max_requests: usize,
    encode_threads: usize,
    conflict_backoff: std::time::Duration,
) -> Result<WriteStats, Error> {
    let max_requests = max_requests.max(1);
    let encode_threads = encode_threads.max(1);
    let budget = FlowControl::for_store(store.kind()).buffer_bytes;
    let cancelled = AtomicBool::new(false);
    let (job_tx, job_rx) = unbounded::<EncodeJob>();
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
            let (mut io_busy, mut jobs_busy) = (0usize, 0usize);
            loop {
                while io_busy < max_requests {
                    let task = match op.poll_write() {
                        Some(w) => IoTask::Write(w),
                        None => match op.poll_request() {
                            Some(r) => IoTask::Read(r),
                            None => break,
                        },
                    };
                    io_busy += 1;
                    spawn_io(io_busy)?;
                    // IO threads run until the task channel closes, so sending cannot fail.
                    let _ = task_tx.send(task);
                }
                while jobs_busy < 2 * encode_threads && op.write_backlog_bytes() < budget {
                    let Some(job) = op.poll_encode() else { break };
                    jobs_busy += 1;
                    let _ = job_tx.send(job);
                }
                if op.is_done() {
                    return Ok(());
                }
                if io_busy == 0 && jobs_busy == 0 {
                    return Err(Error::Proto(zarr_proto::Error::Protocol(
                        "write op is neither done nor waiting for anything".into(),
                    )));
                }
                match event_rx.recv() {
                    Ok(Event::Fetched(req, result)) => {
                        io_busy -= 1;
                        let (response, version) = match result? {
                            Some((bytes, version)) => (Response::Bytes(bytes), version),
                            None => (Response::Missing, None),
                        };
                        op.handle_response_versioned(req.id, response, version)?;
                    }
                    Ok(Event::Written(id, result)) => {
                        io_busy -= 1;
                        let outcome = match result? {
                            WriteResult::Stored(_) => WriteOutcome::Done,
                            WriteResult::ConditionFailed => WriteOutcome::ConditionFailed,
                        };
                        op.handle_write(id, outcome)?;
                    }
                    Ok(Event::Encoded(encoded)) => {
                        jobs_busy -= 1;
                        op.handle_encoded(encoded)?;
                    }
                    Ok(Event::Lost(what)) => {
                        return Err(Error::io(what, std::io::Error::other("a worker thread panicked")));
                    }
                    Err(_) => return Err(Error::io("write", std::io::Error::other("every worker thread ended"))),
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
    store: &dyn Store,
    tasks: &Receiver<IoTask>,
    events: &Sender<Event>,
    cancelled: &AtomicBool,
    conflict_backoff: std::time::Duration,
) {
    let _guard = PanicGuard { events, what: "store IO" };
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

fn encode_worker(jobs: &Receiver<EncodeJob>, events: &Sender<Event>, cancelled: &AtomicBool) {
    let _guard = PanicGuard { events, what: "encode" };
    for job in jobs {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        if events.send(Event::Encoded(job.run())).is_err() {
            return;
        }
    }
}
