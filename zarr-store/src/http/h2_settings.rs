//! Reads the server's `SETTINGS_MAX_CONCURRENT_STREAMS` off an HTTP/2 connection as
//! its bytes pass to hyper, which does not tell it: the h2 client opens another
//! connection when the requests it has in flight fill every open one. Counts the
//! server's answers there too (see [`Heard::heads`]).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};

/// Streams assumed per connection until the server's SETTINGS arrive (RFC 9113 asks
/// servers for at least 100; nginx allows 128, h2o and Google 100).
pub(super) const ASSUMED_STREAMS: u32 = 100;

/// What the server has said on one connection so far.
#[derive(Debug)]
pub(super) struct Heard {
    /// Its stream limit (what was assumed until its SETTINGS say one).
    pub(super) limit: AtomicU32,
    /// Its HEADERS frames: answers begun. Counted as the bytes arrive, before hyper
    /// reads them, so that a request the connection's end fails (an end that comes
    /// after them on the wire) sees every answer the connection gave, however late
    /// the caller of each answered request gets to poll it.
    pub(super) heads: AtomicUsize,
}

impl Heard {
    /// Nothing heard yet: `limit` streams assumed.
    pub(super) fn new(limit: u32) -> Heard {
        Heard { limit: AtomicU32::new(limit), heads: AtomicUsize::new(0) }
    }
}

impl Default for Heard {
    fn default() -> Heard {
        Heard::new(ASSUMED_STREAMS)
    }
}

const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const ACK: u8 = 0x1;
const MAX_CONCURRENT_STREAMS: u16 = 0x3;

/// The frame boundaries of the bytes read so far; only SETTINGS payloads are kept.
#[derive(Default)]
struct Frames {
    header: [u8; FRAME_HEADER],
    header_len: usize,
    /// Payload bytes of the current frame still to come.
    remaining: usize,
    settings: Option<Vec<u8>>,
}

impl Frames {
    fn feed(&mut self, mut bytes: &[u8], heard: &Heard) {
        while !bytes.is_empty() {
            if self.remaining == 0 && self.header_len < FRAME_HEADER {
                let k = (FRAME_HEADER - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + k].copy_from_slice(&bytes[..k]);
                self.header_len += k;
                bytes = &bytes[k..];
                if self.header_len < FRAME_HEADER {
                    return;
                }
                let h = self.header;
                self.remaining = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
                self.settings = (h[3] == SETTINGS && h[4] & ACK == 0).then(Vec::new);
                if h[3] == HEADERS {
                    heard.heads.fetch_add(1, Ordering::AcqRel);
                }
            } else {
                let k = self.remaining.min(bytes.len());
                if let Some(s) = &mut self.settings {
                    s.extend_from_slice(&bytes[..k]);
                }
                self.remaining -= k;
                bytes = &bytes[k..];
            }
            if self.header_len == FRAME_HEADER && self.remaining == 0 {
                self.header_len = 0;
                if let Some(s) = self.settings.take() {
                    apply(&s, &heard.limit);
                }
            }
        }
    }
}

/// Each setting is a 16-bit id and a 32-bit value.
fn apply(payload: &[u8], limit: &AtomicU32) {
    for entry in payload.chunks_exact(6) {
        if u16::from_be_bytes([entry[0], entry[1]]) == MAX_CONCURRENT_STREAMS {
            limit.store(u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]), Ordering::Release);
        }
    }
}

/// A connection's byte stream that watches for the server's stream limit and answers.
pub(super) struct Sniffer<T> {
    inner: T,
    frames: Frames,
    heard: Arc<Heard>,
}

impl<T> Sniffer<T> {
    /// `inner`, telling `heard` what the server says.
    pub(super) fn new(inner: T, heard: Arc<Heard>) -> Sniffer<T> {
        Sniffer { inner, frames: Frames::default(), heard }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Sniffer<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.frames.feed(&buf[..n], &this.heard);
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Sniffer<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(typ: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let n = payload.len();
        let mut f = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, typ, flags, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn the_stream_limit_and_answers_are_read_across_frames_and_reads() {
        let heard = Heard::default();
        let mut bytes = frame(HEADERS, 0x4, &[0x88]);
        bytes.extend(frame(0x0, 0x1, &[7; 40_000]));
        // Header table size 4096, then max concurrent streams 128.
        bytes.extend(frame(SETTINGS, 0, &[0, 1, 0, 0, 16, 0, 0, 3, 0, 0, 0, 128]));
        bytes.extend(frame(SETTINGS, ACK, &[]));
        bytes.extend(frame(HEADERS, 0x5, &[0x88]));
        let mut frames = Frames::default();
        // Fed a few bytes at a time, splitting headers and payloads.
        for piece in bytes.chunks(5) {
            frames.feed(piece, &heard);
        }
        assert_eq!(heard.limit.load(Ordering::Acquire), 128);
        assert_eq!(heard.heads.load(Ordering::Acquire), 2);
        // A DATA payload that looks like SETTINGS or HEADERS is not read as one.
        let mut frames = Frames::default();
        let mut inner = frame(SETTINGS, 0, &[0, 3, 0, 0, 0, 1]);
        inner.extend(frame(HEADERS, 0x4, &[0x88]));
        frames.feed(&frame(0x0, 0, &inner), &heard);
        assert_eq!(heard.limit.load(Ordering::Acquire), 128);
        assert_eq!(heard.heads.load(Ordering::Acquire), 2);
    }
}
