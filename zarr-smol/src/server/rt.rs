//! hyper's runtime traits over async-io and async-executor, in safe code.

use std::future::Future;
use std::io;
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use async_executor::Executor;
use async_io::Async;
use futures_lite::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

use super::Stats;

/// Spawns hyper's background tasks (HTTP/2 streams) on the server's executor.
///
/// Weak, so that tasks do not keep their own executor alive: dropping the
/// executor at shutdown cancels whatever still runs.
#[derive(Clone)]
pub(crate) struct SmolExecutor(pub(crate) Weak<Executor<'static>>);

impl<F> hyper::rt::Executor<F> for SmolExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        if let Some(ex) = self.0.upgrade() {
            ex.spawn(fut).detach();
        }
    }
}

/// A TCP connection as hyper IO: first replays the bytes already read to detect
/// the protocol, then reads the socket; counts bytes both ways.
pub(crate) struct Io {
    stream: Async<TcpStream>,
    prefix: Vec<u8>,
    pos: usize,
    scratch: Vec<u8>,
    stats: Arc<Stats>,
}

impl Io {
    pub(crate) fn new(stream: Async<TcpStream>, prefix: Vec<u8>, stats: Arc<Stats>) -> Io {
        Io { stream, prefix, pos: 0, scratch: vec![0; 16 * 1024], stats }
    }
}

impl hyper::rt::Read for Io {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, mut buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining();
        if this.pos < this.prefix.len() {
            let end = this.prefix.len().min(this.pos + want);
            buf.put_slice(&this.prefix[this.pos..end]);
            this.pos = end;
            return Poll::Ready(Ok(()));
        }
        let n = want.min(this.scratch.len());
        match Pin::new(&mut this.stream).poll_read(cx, &mut this.scratch[..n]) {
            Poll::Ready(Ok(k)) => {
                this.stats.bytes_read.fetch_add(k as u64, Ordering::Relaxed);
                buf.put_slice(&this.scratch[..k]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl hyper::rt::Write for Io {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.stats.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            this.stats.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}
