//! Running a read with the GIL released while staying responsive to Ctrl-C.
//!
//! Python handles signals only on the main thread and only when it runs bytecode (or
//! when native code calls `PyErr_CheckSignals`). A read of many chunks over a slow
//! network can take minutes, so the read runs on a thread of its own while the calling
//! thread, without the GIL, wakes every [`POLL`] to take the GIL and ask Python whether
//! a signal arrived. If one did and its handler raised (`KeyboardInterrupt` for
//! SIGINT), the read's [`Cancel`] flag is set, the read is waited for (the blocking
//! driver notices the flag within about 20 ms and does not wait for requests in
//! flight) and the handler's exception is raised.

use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use zarr_blocking::proto::Cancel;
use zarr_blocking::{Error, ReadOptions};

use crate::errors::to_py;

/// How often a waiting read looks for signals: short enough that Ctrl-C feels
/// immediate, long enough that taking the GIL costs nothing measurable.
const POLL: Duration = Duration::from_millis(50);

/// Runs `read` with `options` plus a cancel flag (and `progress`, a Python callable
/// `progress(done, total)` called as chunks complete), the GIL released.
///
/// # Errors
/// The engine's error as a `zarr_rs` exception; a signal handler's exception; the
/// progress callback's exception (the read is cancelled when it raises).
pub(crate) fn read<T: Send>(
    py: Python<'_>,
    mut options: ReadOptions,
    progress: Option<Py<PyAny>>,
    read: impl FnOnce(&ReadOptions) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let cancel = Cancel::new();
    options.cancel = Some(cancel.clone());
    // The first exception the progress callback raised, re-raised after the read.
    let callback_error: Arc<Mutex<Option<PyErr>>> = Arc::default();
    if let Some(callback) = progress {
        let (cancel, callback_error) = (cancel.clone(), Arc::clone(&callback_error));
        options.progress = Some(Arc::new(move |done, total| {
            Python::attach(|py| {
                if let Err(e) = callback.call1(py, (done, total)) {
                    if let Ok(mut slot) = callback_error.lock() {
                        slot.get_or_insert(e);
                    }
                    cancel.cancel();
                }
            });
        }));
    }

    let (result, interrupted) = py.detach(|| {
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = channel::<()>();
            let options = &options;
            let reader = std::thread::Builder::new().name("zarr-rs-read".into()).spawn_scoped(scope, move || {
                let result = read(options);
                // The receiver is gone only if the waiting thread panicked.
                let _ = done_tx.send(());
                result
            });
            let reader = match reader {
                Ok(reader) => reader,
                Err(e) => return (Err(Error::Io { what: "(spawning the read thread)".into(), source: e }), None),
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
            let result = reader.join().unwrap_or(Err(Error::Cancelled));
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
        Err(Error::Cancelled) => Err(PyRuntimeError::new_err("the read was cancelled")),
        Err(e) => Err(to_py(py, e)),
    }
}
