//! Reads the server's `SETTINGS_MAX_CONCURRENT_STREAMS` off an HTTP/2 connection as
//! its bytes pass to hyper, which does not tell it: the h2 client opens another
//! connection when the requests it has in flight fill every open one.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};

/// Streams assumed per connection until the server's SETTINGS arrive (RFC 9113 asks
/// servers for at least 100; nginx allows 128, h2o and Google 100).
pub(super) const ASSUMED_STREAMS: u32 = 100;

const FRAME_HEADER: usize = 9;
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
    fn feed(&mut self, mut bytes: &[u8], limit: &AtomicU32) {
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
                    apply(&s, limit);
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

/// A connection's byte stream that watches for the server's stream limit.
pub(super) struct Sniffer<T> {
    inner: T,
    frames: Frames,
    limit: Arc<AtomicU32>,
}

impl<T> Sniffer<T> {
    /// `inner`, storing the server's stream limit into `limit` whenever it says one.
    pub(super) fn new(inner: T, limit: Arc<AtomicU32>) -> Sniffer<T> {
        Sniffer { inner, frames: Frames::default(), limit }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Sniffer<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.frames.feed(&buf[..n], &this.limit);
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
    fn the_stream_limit_is_read_across_frames_and_reads() {
        let limit = AtomicU32::new(ASSUMED_STREAMS);
        let mut bytes = frame(0x0, 0x1, &[7; 40_000]);
        // Header table size 4096, then max concurrent streams 128.
        bytes.extend(frame(SETTINGS, 0, &[0, 1, 0, 0, 16, 0, 0, 3, 0, 0, 0, 128]));
        bytes.extend(frame(SETTINGS, ACK, &[]));
        let mut frames = Frames::default();
        // Fed a few bytes at a time, splitting headers and payloads.
        for piece in bytes.chunks(5) {
            frames.feed(piece, &limit);
        }
        assert_eq!(limit.load(Ordering::Acquire), 128);
        // A DATA payload that looks like SETTINGS is not read as one.
        let mut frames = Frames::default();
        frames.feed(&frame(0x0, 0, &frame(SETTINGS, 0, &[0, 3, 0, 0, 0, 1])), &limit);
        assert_eq!(limit.load(Ordering::Acquire), 128);
    }
}
