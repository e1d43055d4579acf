//! How a driver runs one read: the caller's knobs, the same for every driver.

use alloc::sync::Arc;

use crate::cancel::Cancel;
use crate::limits::Limits;
use crate::read::ReadOp;

/// A progress callback: units (chunks, or inner chunks of shards) done, units in all.
/// Called on the thread that drives the read.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How a read runs; every field has a default chosen by the store kind or the machine.
#[derive(Clone, Default)]
pub struct ReadOptions {
    /// Requests in flight (metadata, shard indexes and chunks share it); default: the
    /// store kind's, from [`FlowControl::for_store`](crate::FlowControl::for_store).
    pub concurrency: Option<usize>,
    /// Decode threads; default: the number of cores.
    pub decode_threads: Option<usize>,
    /// Allocation bounds; default: those the array was opened with.
    pub limits: Option<Limits>,
    /// Told as chunks complete, missing ones included, up to the total.
    pub progress: Option<Progress>,
    /// Set from another thread, stops the read (blocking drivers check it between
    /// steps; async ones also stop when their future is dropped).
    pub cancel: Option<Cancel>,
}

impl core::fmt::Debug for ReadOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadOptions")
            .field("concurrency", &self.concurrency)
            .field("decode_threads", &self.decode_threads)
            .field("limits", &self.limits)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// Tells a read's [`Progress`] callback, once per change.
///
/// A driver calls [`ProgressReport::update`] after every `handle_*`: missing chunks
/// count when their answer arrives, decoded ones when they are handled, so the last
/// report is always the total.
#[derive(Debug, Default)]
pub struct ProgressReport {
    last: Option<usize>,
}

impl ProgressReport {
    /// Calls `options.progress` when `op`'s count of finished units changed.
    pub fn update(&mut self, options: &ReadOptions, op: &ReadOp) {
        self.tell(options.progress.as_ref(), op.progress());
    }

    /// Calls `progress` with `(done, total)` when `done` changed since the last call:
    /// what [`update`](Self::update) does for a read, for any op (writes report
    /// [`WriteOp::progress`](crate::WriteOp::progress)).
    pub fn tell(&mut self, progress: Option<&Progress>, (done, total): (usize, usize)) {
        let Some(progress) = progress else { return };
        if self.last != Some(done) {
            self.last = Some(done);
            progress(done, total);
        }
    }
}
