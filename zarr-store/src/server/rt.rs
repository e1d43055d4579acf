//! The server's side of a TCP connection, as a futures-io stream for [`HyperIo`](crate::rt::HyperIo).

use std::io;
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_io::Async;
use futures_lite::{AsyncRead, AsyncWrite};

use super::limit::{AnswerLimit, WireStreams};
use super::Stats;

/// A TCP connection that first replays the bytes already read to detect the
/// protocol, then reads the socket; counts bytes both ways.
pub(crate) struct Io {
    stream: Async<TcpStream>,
    prefix: Vec<u8>,
    pos: usize,
    stats: Arc<Stats>,
    limit: Arc<AnswerLimit>,
    /// HTTP/2 answers on the wire, followed when the connection may be cut between them.
    wire: Option<WireStreams>,
    /// Cut by `close_after`: our side is shut; what the client still sends is read
    /// and dropped until it closes too, and nothing more is written.
    cut: bool,
}

impl Io {
    pub(crate) fn new(
        stream: Async<TcpStream>,
        prefix: Vec<u8>,
        stats: Arc<Stats>,
        limit: Arc<AnswerLimit>,
        h2: bool,
    ) -> Io {
        let wire = (h2 && limit.cuts()).then(WireStreams::default);
        Io { stream, prefix, pos: 0, stats, limit, wire, cut: false }
    }

    fn wrote(&mut self, n: usize, bufs: &[&[u8]]) {
        self.stats.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(wire) = &mut self.wire {
            let mut left = n;
            for b in bufs {
                let k = left.min(b.len());
                wire.wrote(&b[..k]);
                left -= k;
            }
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = buf.len().min(this.prefix.len() - this.pos);
            buf[..n].copy_from_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            return Poll::Ready(Ok(n));
        }
        if this.cut {
            // Read to the client's own close before ours: closing a socket with unread
            // bytes sends a reset, which may throw away answers still in its buffers
            // on the way to the client.
            loop {
                match Pin::new(&mut this.stream).poll_read(cx, buf) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Ok(0)),
                    Poll::Ready(Ok(_)) => {}
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        let r = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(k)) = r {
            this.stats.bytes_read.fetch_add(k as u64, Ordering::Relaxed);
        }
        r
    }
}

impl AsyncWrite for Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.cut {
            return Poll::Ready(Ok(buf.len()));
        }
        let r = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.wrote(n, &[buf]);
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.cut {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        let r = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            let slices: Vec<&[u8]> = bufs.iter().map(|b| &b[..]).collect();
            this.wrote(n, &slices);
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_flush(cx);
        // The answer that reached `close_after` is on the wire now: cut the connection,
        // whatever else is in flight on it.
        let on_wire = this.wire.as_ref().map(WireStreams::open);
        if !this.cut && matches!(r, Poll::Ready(Ok(()))) && this.limit.must_close(on_wire) {
            // A FIN with requests in flight and no word of why; nothing more is written.
            let _ = this.stream.get_ref().shutdown(std::net::Shutdown::Write);
            this.cut = true;
        }
        r
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}
