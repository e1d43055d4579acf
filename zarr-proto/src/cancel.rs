//! Stopping an operation from another thread.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

/// A flag shared between an operation and whoever may stop it (a signal handler, a
/// UI, Python's `KeyboardInterrupt`).
///
/// Async drivers stop when their future is dropped; blocking code has no such
/// handle, so a blocking driver checks this flag between steps and ends the
/// operation with its "cancelled" error once it is set. Requests already sent are
/// not waited for. A cancelled write may leave some chunks written and others not,
/// each one whole (never a torn chunk).
///
/// ```
/// let cancel = zarr_proto::Cancel::new();
/// let for_handler = cancel.clone();
/// for_handler.cancel();
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not yet set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every operation holding a clone of this flag to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`Cancel::cancel`] was called on this flag or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
