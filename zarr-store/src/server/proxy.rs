//! A latency-adding HTTP/1.1 proxy for tests and benches: put it in front of any
//! HTTP/1.1 server (s3s-fs, nginx) to give every request a round trip of `latency`,
//! and count what goes through.
//!
//! Each client connection gets its own thread and its own upstream connection, kept
//! alive as long as the client keeps its own: a client's connection pool, keep-alive
//! and concurrency are what the server sees, and no request waits for another
//! connection's. Every request is held for `latency` before it is forwarded (the
//! whole round trip's delay on the way in); messages are framed by `Content-Length`
//! or chunked encoding and relayed byte for byte, so signatures (SigV4) still match.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest request or response head accepted (S3 heads are a few KiB): a bound on
/// what one connection buffers.
const MAX_HEAD: usize = 64 * 1024;

/// What went through a [`LatencyProxy`].
#[derive(Debug, Default)]
struct Stats {
    requests: AtomicU64,
    connections: AtomicU64,
    /// Each request's method and target (`GET /bucket/key?x=y`), in arrival order.
    log: Mutex<Vec<String>>,
}

/// A running proxy; stops accepting when dropped or [`stop`](Self::stop)ped
/// (connections already open run until their client closes them).
#[derive(Debug)]
pub struct LatencyProxy {
    addr: SocketAddr,
    stats: Arc<Stats>,
    stopping: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl LatencyProxy {
    /// Listens on `listen` (port 0: a free one) and forwards to `upstream`, holding
    /// each request for `latency` first.
    ///
    /// # Errors
    ///
    /// The address cannot be bound.
    pub fn start(listen: SocketAddr, upstream: SocketAddr, latency: Duration) -> io::Result<LatencyProxy> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let (st, stop) = (Arc::clone(&stats), Arc::clone(&stopping));
        let accept = std::thread::Builder::new().name("latency-proxy".into()).spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    return;
                }
                let Ok(client) = client else { continue };
                st.connections.fetch_add(1, Ordering::Relaxed);
                let st = Arc::clone(&st);
                // A connection that fails (either side closing, a malformed message)
                // ends; the client sees its connection close, as with a real proxy.
                let _ = std::thread::Builder::new()
                    .name("latency-proxy-conn".into())
                    .spawn(move || drop(relay(client, upstream, latency, &st)));
            }
        })?;
        Ok(LatencyProxy { addr, stats, stopping, accept: Some(accept) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests forwarded so far.
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::Relaxed)
    }

    /// Each request so far as `METHOD TARGET`, in arrival order.
    pub fn log(&self) -> Vec<String> {
        self.stats.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Stops accepting connections and waits for the accepting thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // Wake the blocking accept with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Length(u64),
    Chunked,
    /// Until the sender closes (a response without length).
    UntilClose,
}

/// A parsed message head: its raw bytes and what the relay needs to know.
struct Head {
    raw: Vec<u8>,
    first_line: String,
    body: Body,
    close: bool,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads one head (up to the blank line); `None` at a clean end of stream.
fn read_head(r: &mut impl BufRead, request: bool) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    let mut line = Vec::new();
    let (mut length, mut chunked, mut close) = (None, false, false);
    let mut first_line = String::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return if raw.is_empty() { Ok(None) } else { Err(bad("connection closed inside a head")) };
        }
        raw.extend_from_slice(&line);
        if raw.len() > MAX_HEAD {
            return Err(bad("head too long"));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if first_line.is_empty() {
            first_line = text.to_owned();
            continue;
        }
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => length = Some(value.parse::<u64>().map_err(|_| bad("bad content-length"))?),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let body = match (chunked, length) {
        (true, _) => Body::Chunked,
        (false, Some(n)) => Body::Length(n),
        (false, None) if request => Body::None,
        (false, None) => Body::UntilClose,
    };
    Ok(Some(Head { raw, first_line, body, close }))
}

/// Copies a body framed as `body` from `r` to `w`.
fn copy_body(r: &mut impl BufRead, w: &mut impl Write, body: Body) -> io::Result<()> {
    match body {
        Body::None => Ok(()),
        Body::Length(n) => {
            let copied = io::copy(&mut r.take(n), w)?;
            if copied == n {
                Ok(())
            } else {
                Err(bad("connection closed inside a body"))
            }
        }
        Body::UntilClose => io::copy(r, w).map(drop),
        Body::Chunked => {
            let mut line = Vec::new();
            loop {
                line.clear();
                r.read_until(b'\n', &mut line)?;
                w.write_all(&line)?;
                let text = String::from_utf8_lossy(&line);
                let size = text.split(';').next().unwrap_or_default().trim();
                let size = u64::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
                if size == 0 {
                    // Trailers, then the blank line.
                    loop {
                        line.clear();
                        if r.read_until(b'\n', &mut line)? == 0 {
                            return Err(bad("connection closed inside trailers"));
                        }
                        w.write_all(&line)?;
                        if line == b"\r\n" || line == b"\n" {
                            return Ok(());
                        }
                    }
                }
                // The chunk and its CRLF.
                copy_body(r, w, Body::Length(size + 2))?;
            }
        }
    }
}

/// Relays one client connection's requests and responses until either side closes.
fn relay(client: TcpStream, upstream: SocketAddr, latency: Duration, stats: &Stats) -> io::Result<()> {
    client.set_nodelay(true)?;
    let server = TcpStream::connect(upstream)?;
    server.set_nodelay(true)?;
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut to_client = BufWriter::new(client);
    let mut from_server = BufReader::new(server.try_clone()?);
    let mut to_server = BufWriter::new(server);
    while let Some(request) = read_head(&mut from_client, true)? {
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let target: String = request.first_line.split(' ').take(2).collect::<Vec<_>>().join(" ");
        stats.log.lock().unwrap_or_else(PoisonError::into_inner).push(target);
        let head_only = request.first_line.starts_with("HEAD ");
        std::thread::sleep(latency);
        to_server.write_all(&request.raw)?;
        copy_body(&mut from_client, &mut to_server, request.body)?;
        to_server.flush()?;
        let response = loop {
            let response = read_head(&mut from_server, false)?.ok_or_else(|| bad("server closed the connection"))?;
            // Interim answers (100 Continue) go through; the final one follows.
            if response.first_line.split(' ').nth(1).is_some_and(|s| s.starts_with('1')) {
                to_client.write_all(&response.raw)?;
                to_client.flush()?;
                continue;
            }
            break response;
        };
        let status = response.first_line.split(' ').nth(1).unwrap_or_default().to_owned();
        let body = if head_only || status == "204" || status == "304" { Body::None } else { response.body };
        to_client.write_all(&response.raw)?;
        copy_body(&mut from_server, &mut to_client, body)?;
        to_client.flush()?;
        if request.close || response.close || body == Body::UntilClose {
            break;
        }
    }
    let _ = to_client.get_ref().shutdown(Shutdown::Both);
    let _ = to_server.get_ref().shutdown(Shutdown::Both);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn heads_and_bodies_are_framed() {
        let mut r = io::Cursor::new(b"PUT /b/k HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".to_vec());
        let head = read_head(&mut r, true).unwrap().unwrap();
        assert_eq!((head.first_line.as_str(), head.body, head.close), ("PUT /b/k HTTP/1.1", Body::Length(3), false));
        let mut out = Vec::new();
        copy_body(&mut r, &mut out, head.body).unwrap();
        assert_eq!(out, b"abc");

        let chunked =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\nrest";
        let mut r = io::Cursor::new(chunked.to_vec());
        let head = read_head(&mut r, false).unwrap().unwrap();
        assert_eq!((head.body, head.close), (Body::Chunked, true));
        let mut out = Vec::new();
        copy_body(&mut r, &mut out, head.body).unwrap();
        assert_eq!(out, b"3\r\nabc\r\n0\r\n\r\n");
        assert!(read_head(&mut io::Cursor::new(Vec::new()), true).unwrap().is_none());
    }
}
