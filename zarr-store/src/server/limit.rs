//! Per-connection answer counting for [`ServerConfig::close_after`](super::ServerConfig::close_after)
//! and [`ServerConfig::goaway_after`](super::ServerConfig::goaway_after): the faults a
//! client meets when a server or a middlebox ends kept-alive connections.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};

use super::handler::{Body, BoxError};

/// How many answers one connection has sent, against its limits.
#[derive(Debug)]
pub(crate) struct AnswerLimit {
    answered: AtomicU64,
    /// Answers whose head is out but whose body is not yet done: the connection is
    /// cut only between answers, so that every request it leaves behind got no byte
    /// of its answer (a cut inside an answer is [`Fault::Truncate`](super::Fault::Truncate)'s job).
    open: AtomicU64,
    close_after: Option<u64>,
    goaway_after: Option<u64>,
    reached: async_channel::Sender<()>,
}

/// Resolves once the connection's `goaway_after` answers are sent; never without one.
pub(crate) struct GoawaySignal {
    reached: Option<async_channel::Receiver<()>>,
}

impl GoawaySignal {
    pub(crate) async fn wait(&self) {
        match &self.reached {
            Some(rx) => {
                let _ = rx.recv().await;
            }
            None => futures_lite::future::pending::<()>().await,
        }
    }
}

impl AnswerLimit {
    pub(crate) fn new(close_after: Option<u64>, goaway_after: Option<u64>) -> (Arc<AnswerLimit>, GoawaySignal) {
        let (tx, rx) = async_channel::bounded(1);
        let limit = AnswerLimit {
            answered: AtomicU64::new(0),
            open: AtomicU64::new(0),
            close_after,
            goaway_after,
            reached: tx,
        };
        (Arc::new(limit), GoawaySignal { reached: goaway_after.map(|_| rx) })
    }

    /// Whether connections are cut after some answers.
    pub(crate) fn cuts(&self) -> bool {
        self.close_after.is_some()
    }

    /// Whether the connection has given its `close_after` answers: it starts no other.
    pub(crate) fn closing(&self) -> bool {
        self.close_after.is_some_and(|n| self.answered.load(Ordering::Acquire) >= n)
    }

    /// Whether the connection is to be cut now: it has given its `close_after` answers
    /// and is between answers (`answers_on_wire`: for HTTP/2, those whose HEADERS went
    /// out without their end; HTTP/1.1 writes each answer whole before it flushes).
    pub(crate) fn must_close(&self, answers_on_wire: Option<usize>) -> bool {
        self.closing()
            && match answers_on_wire {
                Some(n) => n == 0,
                None => self.open.load(Ordering::Acquire) == 0,
            }
    }

    /// `body`, counted as one answer when it is done with (sent whole, or dropped).
    pub(crate) fn count(self: &Arc<Self>, body: Body) -> Body {
        if self.close_after.is_none() && self.goaway_after.is_none() {
            return body;
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        Counted { inner: body, limit: Arc::clone(self) }.boxed()
    }

    fn answered(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        let n = self.answered.fetch_add(1, Ordering::AcqRel) + 1;
        if self.goaway_after == Some(n) {
            let _ = self.reached.try_send(());
        }
    }
}

/// The HTTP/2 answers a connection has begun on the wire and not ended, from the
/// frame headers of what it writes (the server's Io sees bytes, not streams).
#[derive(Default)]
pub(crate) struct WireStreams {
    header: [u8; 9],
    header_len: usize,
    /// Payload bytes of the current frame still to pass.
    remaining: usize,
    open: std::collections::HashSet<u32>,
}

impl WireStreams {
    /// Answers begun and not ended.
    pub(crate) fn open(&self) -> usize {
        self.open.len()
    }

    /// Follows `bytes`, which went out on the connection.
    pub(crate) fn wrote(&mut self, mut bytes: &[u8]) {
        const DATA: u8 = 0x0;
        const HEADERS: u8 = 0x1;
        const RST_STREAM: u8 = 0x3;
        const END_STREAM: u8 = 0x1;
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let k = self.remaining.min(bytes.len());
                self.remaining -= k;
                bytes = &bytes[k..];
                continue;
            }
            let k = (9 - self.header_len).min(bytes.len());
            self.header[self.header_len..self.header_len + k].copy_from_slice(&bytes[..k]);
            self.header_len += k;
            bytes = &bytes[k..];
            if self.header_len < 9 {
                return;
            }
            self.header_len = 0;
            let h = self.header;
            self.remaining = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
            let id = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
            match (h[3], h[4] & END_STREAM != 0) {
                (HEADERS, false) => {
                    self.open.insert(id);
                }
                (HEADERS | DATA, true) | (RST_STREAM, _) => {
                    self.open.remove(&id);
                }
                _ => {}
            }
        }
    }
}

/// A response body that counts its answer when dropped: hyper drops a body once its
/// last frame is taken, before the connection flushes it (see `rt::Io::poll_flush`).
struct Counted {
    inner: Body,
    limit: Arc<AnswerLimit>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.limit.answered();
    }
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
