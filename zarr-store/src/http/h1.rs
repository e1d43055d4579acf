//! HTTP/1.1, plain or over TLS, on a keep-alive pool of hyper connections.
//!
//! Why not libcurl here:
//!
//! - Over TLS, curl-rust sets `CURLOPT_CAPATH` on every handle (from openssl-probe),
//!   which turns off libcurl's cached CA store, so every new TLS connection parses
//!   the whole CA bundle again on isahc's one agent thread: ~20 ms for the system's
//!   145 certificates, 2.9 s for a read that opens 128 connections to an S3-like
//!   server. Here the CA store is loaded once per process ([`net::tls_connector`])
//!   and handshakes run on the caller's executor.
//! - Over both, after a failure: isahc cannot ask for a fresh connection
//!   (`CURLOPT_FRESH_CONNECT`), so a retry after a kept-alive connection died lands
//!   on the next pooled one, often as dead (a server restart cuts them all), and each
//!   costs an attempt; and libcurl's error for a cut answer is its own
//!   ("[52] Server returned nothing") rather than the cause. Here a request whose
//!   kept-alive connection was closed or reset before any byte of its answer goes
//!   again at once on a new connection, without using an attempt, and the error
//!   carries the IO cause.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;

use super::net::{self, ClientError, Connections, HyperRequest, HyperResponse, Target};

/// Times a request goes again at once after a kept-alive connection turned out to
/// be closed by the server (the keep-alive race): it never reached the server.
const RESEND_LIMIT: u32 = 4;

/// Keep-alive HTTP/1.1 connections to one target, at most `max` open at once.
pub(super) struct H1Pool {
    target: Target,
    connections: Arc<Connections>,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    /// One permit per connection in use; `None`: no limit.
    slots: Option<async_lock::Semaphore>,
}

impl fmt::Debug for H1Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H1Pool").field("target", &self.target).finish_non_exhaustive()
    }
}

/// A connection lent to one request: [`Lease::release`] it once the body is read
/// so the next request reuses it; dropped unreleased, it is closed.
pub(super) struct Lease<'a> {
    pool: &'a H1Pool,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// The connection had served an earlier request.
    reused: bool,
    _slot: Option<async_lock::SemaphoreGuard<'a>>,
}

impl Lease<'_> {
    /// Puts the connection back among the idle ones, unless it is closing.
    pub(super) fn release(mut self) {
        if let Some(s) = self.sender.take().filter(|s| !s.is_closed()) {
            self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(s);
        }
    }

    /// The answer failed on this connection (cut, reset, stalled): it is closed, and
    /// if it was a kept-alive one, so are the connections idle as long (see
    /// [`H1Pool::forget_idle`]).
    pub(super) fn failed(self) {
        if self.reused {
            self.pool.forget_idle();
        }
    }
}

impl H1Pool {
    /// Closes the idle connections and waits until every connection is gone (those in
    /// use close when their requests end), without blocking the thread.
    pub(super) async fn close(&self) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.connections.closed(net::CLOSE_WAIT).await;
    }

    /// A pool of at most `max` connections (0: no limit).
    pub(super) fn new(target: Target, max: usize) -> H1Pool {
        H1Pool {
            target,
            connections: Arc::default(),
            idle: Mutex::new(Vec::new()),
            slots: (max > 0).then(|| async_lock::Semaphore::new(max)),
        }
    }

    /// Waits for a place among the pool's connections; held until the lease ends.
    /// Apart from [`H1Pool::send`] so that waiting in line is not counted as a stall.
    pub(super) async fn slot(&self) -> Option<async_lock::SemaphoreGuard<'_>> {
        match &self.slots {
            Some(s) => Some(s.acquire().await),
            None => None,
        }
    }

    /// Sends the request `make` builds on an idle connection or a new one, and waits
    /// for the head of the response.
    pub(super) async fn send<'a, M>(
        &'a self,
        slot: Option<async_lock::SemaphoreGuard<'a>>,
        idempotent: bool,
        make: M,
    ) -> Result<(HyperResponse, Lease<'a>), ClientError>
    where
        M: Fn() -> HyperRequest,
    {
        let mut resent = 0;
        // After a kept-alive connection failed, the next try takes a new one: the
        // other idle connections may be as dead (a server restarted, a middlebox that
        // cut them all), and each would cost a try.
        let mut fresh = false;
        loop {
            let idle = if fresh { None } else { self.take_idle() };
            let (mut sender, reused) = match idle {
                Some(s) => (s, true),
                None => (self.connect().await?, false),
            };
            if let Err(e) = sender.ready().await {
                // Closed while idle: nothing was sent on it.
                if reused {
                    fresh = true;
                    continue;
                }
                return Err(ClientError::Request(e));
            }
            match sender.send_request(make()).await {
                Ok(resp) => return Ok((resp, Lease { pool: self, sender: Some(sender), reused, _slot: slot })),
                // The server closed a kept-alive connection as we reused it. GETs and
                // unconditional PUTs and DELETEs are idempotent, so sending again is safe
                // either way; a conditional write goes again only if it was surely not
                // sent (canceled), since a server that processed it and closed before
                // answering would fail the resent copy's condition on our own write.
                Err(e)
                    if reused
                        && resent < RESEND_LIMIT
                        && (e.is_canceled()
                            || (idempotent && (e.is_incomplete_message() || e.is_closed() || lost_connection(&e)))) =>
                {
                    resent += 1;
                    fresh = true;
                }
                Err(e) => {
                    if reused {
                        self.forget_idle();
                    }
                    return Err(ClientError::Request(e));
                }
            }
        }
    }

    /// Closes the connections idle now, after a request failed on a kept-alive one:
    /// whatever cut it (a server restart, a middlebox dropping quiet connections) may
    /// have cut those too, and a retry that took one would fail the same way, or wait
    /// out a stall, and use up another attempt. The retry connects anew instead.
    /// Connections in use stay: they prove themselves when their answers arrive.
    pub(super) fn forget_idle(&self) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Starts HTTP/1.1 on a connection made elsewhere (by the h2 client, whose ALPN
    /// got HTTP/1.1) and keeps it among the idle ones. If HTTP cannot start on it,
    /// it is dropped: the next request connects as usual.
    pub(super) async fn adopt(&self, stream: net::Stream) {
        if let Ok(sender) = start(stream, &self.connections).await {
            self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(sender);
        }
    }

    /// An idle connection that is still open.
    fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(s) = idle.pop() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    /// A new connection (TCP, TLS offering HTTP/1.1), within the connect timeout.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        net::within_connect_timeout(&self.target, open(&self.target, &self.connections)).await
    }
}

/// Whether a request failed because the connection was reset or cut under it (the
/// server closed a kept-alive connection as we wrote to it), as opposed to an answer
/// that went wrong.
fn lost_connection(e: &hyper::Error) -> bool {
    net::cause::<io::Error>(e).is_some_and(|io| {
        matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        )
    })
}

async fn open(target: &Target, connections: &Arc<Connections>) -> Result<SendRequest<Full<Bytes>>, ClientError> {
    start(net::open(target, b"\x08http/1.1").await?, connections).await
}

/// HTTP/1.1 on `stream`, its connection task on the driver thread.
async fn start(stream: net::Stream, connections: &Arc<Connections>) -> Result<SendRequest<Full<Bytes>>, ClientError> {
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(net::hyper_io(stream))
        .await
        .map_err(|e| ClientError::Connect(io::Error::other(e)))?;
    // Driven on the driver thread like the h2 connections; ends when the sender is gone.
    connections.spawn(conn)?;
    Ok(sender)
}

#[cfg(all(test, feature = "server"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use http_body_util::BodyExt;

    use super::*;
    use crate::server::{Fault, Server, ServerConfig};
    use crate::MemoryStore;

    /// A plain-TCP pool on the test server (as for an `http://` store).
    fn pool_for(server: &crate::server::ServerHandle, max: usize) -> H1Pool {
        let port = server.addr().port();
        let target = Target { host: "127.0.0.1".into(), port, tls: None, connect_timeout: Duration::from_secs(5) };
        H1Pool::new(target, max)
    }

    fn get(pool: &H1Pool, port: u16, key: &str) -> Result<Vec<u8>, ClientError> {
        async_io::block_on(get_async(pool, port, key))
    }

    async fn get_async(pool: &H1Pool, port: u16, key: &str) -> Result<Vec<u8>, ClientError> {
        let make = || {
            hyper::Request::builder()
                .uri(format!("/{key}"))
                .header("host", format!("127.0.0.1:{port}"))
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        let (resp, lease) = pool.send(pool.slot().await, true, make).await?;
        let body = resp.into_body().collect().await.map_err(ClientError::Request)?.to_bytes();
        lease.release();
        Ok(body.to_vec())
    }

    #[test]
    fn connections_are_kept_alive_and_bounded() {
        let mem = MemoryStore::new();
        mem.insert("k", "value");
        let server = Server::start(ServerConfig::memory(mem).threads(1).latency(Duration::from_millis(20))).unwrap();
        let port = server.addr().port();
        let pool = pool_for(&server, 3);
        for _ in 0..5 {
            assert_eq!(get(&pool, port, "k").unwrap(), b"value");
        }
        assert_eq!(server.counters().connections, 1, "one after another: one connection");
        // Twelve at once through a pool of three: never more than three connections.
        server.reset_counters();
        let futs: Vec<crate::BoxFuture<'_, Vec<u8>>> =
            (0..12).map(|_| Box::pin(async { get_async(&pool, port, "k").await.unwrap() }) as _).collect();
        for body in async_io::block_on(crate::join_all(futs)) {
            assert_eq!(body, b"value");
        }
        let c = server.counters();
        assert_eq!(c.requests, 12, "{c:?}");
        assert!(c.connections <= 2, "{c:?}");
        assert!(c.peak_in_flight <= 3, "{c:?}");
    }

    #[test]
    fn dropping_the_pool_returns_at_once_and_its_connections_end() {
        // Drop does not wait for the connections (it may run on an executor thread);
        // they end on the driver thread soon after, none is leaked.
        let mem = MemoryStore::new();
        mem.insert("k", "value");
        let server = Server::start(ServerConfig::memory(mem).threads(1)).unwrap();
        let port = server.addr().port();
        let pool = pool_for(&server, 4);
        let futs: Vec<crate::BoxFuture<'_, Vec<u8>>> =
            (0..4).map(|_| Box::pin(async { get_async(&pool, port, "k").await.unwrap() }) as _).collect();
        for body in async_io::block_on(crate::join_all(futs)) {
            assert_eq!(body, b"value");
        }
        let connections = Arc::clone(&pool.connections);
        assert!(connections.live() >= 1);
        drop(pool);
        async_io::block_on(connections.closed(Duration::from_secs(10)));
        assert_eq!(connections.live(), 0);
    }

    #[test]
    fn closing_the_pool_ends_its_connections_and_leaves_it_usable() {
        let mem = MemoryStore::new();
        mem.insert("k", "value");
        let server = Server::start(ServerConfig::memory(mem).threads(1)).unwrap();
        let port = server.addr().port();
        let pool = pool_for(&server, 4);
        assert_eq!(async_io::block_on(get_async(&pool, port, "k")).unwrap(), b"value");
        assert!(pool.connections.live() >= 1);
        async_io::block_on(pool.close());
        assert_eq!(pool.connections.live(), 0);
        // The pool opens a new connection when asked again.
        assert_eq!(async_io::block_on(get_async(&pool, port, "k")).unwrap(), b"value");
    }

    #[test]
    fn an_adopted_connection_serves_the_next_request() {
        // The h2 client hands over the TLS connection whose ALPN said HTTP/1.1; here a
        // plain one stands in for it. The request reuses it: no second connection.
        let mem = MemoryStore::new();
        mem.insert("k", "value");
        let server = Server::start(ServerConfig::memory(mem).threads(1)).unwrap();
        let port = server.addr().port();
        let pool = pool_for(&server, 2);
        let stream = async_io::block_on(net::open(&pool.target, b"")).unwrap();
        async_io::block_on(pool.adopt(stream));
        assert_eq!(get(&pool, port, "k").unwrap(), b"value");
        assert_eq!(server.counters().connections, 1);
    }

    #[test]
    fn requests_go_again_when_the_server_closes_kept_alive_connections() {
        // The server cuts each connection after n answers (abruptly, or as nginx's
        // `keepalive_requests` does): requests on a connection it closed go again at once.
        let mem = MemoryStore::new();
        for i in 0..120 {
            mem.insert(format!("k{i}"), format!("value {i}"));
        }
        for n in [1, 5, 37] {
            for graceful in [false, true] {
                let config = ServerConfig::memory(mem.clone()).threads(1);
                let config = if graceful { config.goaway_after(n) } else { config.close_after(n) };
                let server = Server::start(config).unwrap();
                let port = server.addr().port();
                let pool = pool_for(&server, 4);
                for _round in 0..2 {
                    let keys: Vec<String> = (0..120).map(|i| format!("k{i}")).collect();
                    let futs: Vec<crate::BoxFuture<'_, Result<Vec<u8>, ClientError>>> =
                        keys.iter().map(|k| Box::pin(get_async(&pool, port, k)) as _).collect();
                    for (i, got) in async_io::block_on(crate::join_all(futs)).into_iter().enumerate() {
                        let got = got.unwrap_or_else(|e| panic!("n={n} graceful={graceful} k{i}: {e}"));
                        assert_eq!(got, format!("value {i}").as_bytes());
                    }
                }
                assert!(server.counters().connections > 4, "n={n}: {:?}", server.counters());
            }
        }
    }

    #[test]
    fn a_connection_dropped_mid_request_is_an_error_not_a_hang() {
        let mem = MemoryStore::new();
        mem.insert("k", "value");
        let config = ServerConfig::memory(mem).threads(1).fault(Fault::Reset, 1.0);
        let server = Server::start(config).unwrap();
        let pool = pool_for(&server, 2);
        assert!(matches!(get(&pool, server.addr().port(), "k"), Err(ClientError::Request(_))));
    }
}
