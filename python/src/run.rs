//! Running a read or a write with the GIL released while staying responsive to
//! Ctrl-C and to asyncio cancellation.
//!
//! Python handles signals only on the main thread and only when it runs bytecode (or
//! when native code calls `PyErr_CheckSignals`). A read or write of many chunks over a
//! slow network can take minutes, so the work runs on a thread of its own while the
//! calling thread, without the GIL, wakes every [`POLL`] to take the GIL and ask
//! Python whether a signal arrived. If one did and its handler raised
//! (`KeyboardInterrupt` for SIGINT), the work's [`Cancel`] flag is set, the work is
//! waited for (the blocking driver notices the flag within about 20 ms and does not
//! wait for requests in flight) and the handler's exception is raised.
//!
//! Off the main thread (asyncio's `to_thread` workers, Dask threads) there are no
//! signals to check; there the caller may pass a [`CancelToken`] that another thread
//! sets, which is how `read_async` stops a read whose task was cancelled.

use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use zarr_blocking::proto::{Cancel, Progress};
use zarr_blocking::Error;

use crate::errors::to_py;

/// How often waiting work looks for signals: short enough that Ctrl-C feels
/// immediate, long enough that taking the GIL costs nothing measurable.
const POLL: Duration = Duration::from_millis(50);

/// A flag Python code sets to stop a read or write running on another thread (the
/// engine's [`Cancel`]); the work then ends with "the read was cancelled" as soon as
/// the driver notices, within about 20 ms, requests already sent finishing on their
/// own.
#[pyclass(module = "zarr_rs._native", frozen)]
#[derive(Default)]
pub(crate) struct CancelToken(Cancel);

#[pymethods]
impl CancelToken {
    #[new]
    fn new() -> Self {
        CancelToken::default()
    }

    /// Asks the work this token was given to stop; safe from any thread, repeatable.
    fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// What the work is (for the error message when it is cancelled).
#[derive(Clone, Copy)]
pub(crate) enum Work {
    Read,
    Write,
}

/// Runs `work` with the GIL released, giving it a cancel flag (the token's flag when
/// `token` is given) and, when `progress` is a Python callable `progress(done,
/// total)`, a progress callback calling it as chunks complete.
///
/// # Errors
/// The engine's error as a `zarr_rs` exception; a signal handler's exception; the
/// progress callback's exception (the work is cancelled when it raises); a
/// `RuntimeError` when the token cancelled it.
pub(crate) fn run<T: Send>(
    py: Python<'_>,
    what: Work,
    progress: Option<Py<PyAny>>,
    token: Option<&CancelToken>,
    work: impl FnOnce(Option<Progress>, Cancel) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let cancel = token.map_or_else(Cancel::new, |t| t.0.clone());
    // The first exception the progress callback raised, re-raised after the work.
    let callback_error: Arc<Mutex<Option<PyErr>>> = Arc::default();
    let progress: Option<Progress> = progress.map(|callback| {
        let (cancel, callback_error) = (cancel.clone(), Arc::clone(&callback_error));
        Arc::new(move |done, total| {
            Python::attach(|py| {
                if let Err(e) = callback.call1(py, (done, total)) {
                    if let Ok(mut slot) = callback_error.lock() {
                        slot.get_or_insert(e);
                    }
                    cancel.cancel();
                }
            });
        }) as Progress
    });

    let (result, interrupted) = py.detach(|| {
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = channel::<()>();
            let worker_cancel = cancel.clone();
            let worker = std::thread::Builder::new().name("zarr-rs-work".into()).spawn_scoped(scope, move || {
                let result = work(progress, worker_cancel);
                // The receiver is gone only if the waiting thread panicked.
                let _ = done_tx.send(());
                result
            });
            let worker = match worker {
                Ok(worker) => worker,
                Err(e) => return (Err(Error::Io { what: "(spawning the work thread)".into(), source: e }), None),
            };
            let mut interrupted = None;
            loop {
                match done_rx.recv_timeout(POLL) {
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) if interrupted.is_none() => {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            cancel.cancel();
                            interrupted = Some(e);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
            let result = worker.join().unwrap_or(Err(Error::Cancelled));
            (result, interrupted)
        })
    });
    if let Some(e) = interrupted {
        return Err(e);
    }
    let callback_error = callback_error.lock().ok().and_then(|mut slot| slot.take());
    if let Some(e) = callback_error {
        return Err(e);
    }
    match result {
        Ok(value) => Ok(value),
        Err(Error::Cancelled) => Err(PyRuntimeError::new_err(match what {
            Work::Read => "the read was cancelled",
            Work::Write => "the write was cancelled: each chunk holds either its old or its new content",
        })),
        Err(e) => Err(to_py(py, e)),
    }
}
