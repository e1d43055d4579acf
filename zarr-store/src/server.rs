//! An HTTP/1.1 + h2c store server for tests, benches and `zarr serve`.
//!
//! [`Server::start`] binds a TCP port (`127.0.0.1:0` by default), serves a
//! directory or a [`MemoryStore`] on its own executor threads, and returns a
//! [`ServerHandle`] with the address, live counters and runtime knobs. Both
//! HTTP/1.1 and HTTP/2 with prior knowledge (h2c) are spoken on the same port:
//! the first bytes of each connection pick the protocol. The HTTP itself is
//! hyper's.
//!
//! - `GET`/`HEAD` with `Range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`): 206 with
//!   `Content-Range`, 416 outside the value, 404 for a missing key.
//! - `PUT`/`DELETE` when [`ServerConfig::writable`].
//! - Per-request latency and fault injection ([`Fault`]) by fraction of requests,
//!   both adjustable while running.
//!
//! # Examples
//!
//! ```
//! use zarr_store::server::{Server, ServerConfig};
//! use zarr_store::{HttpStore, MemoryStore, Store};
//!
//! let data = MemoryStore::new();
//! data.insert("a/zarr.json", "{}");
//! let server = Server::start(ServerConfig::memory(data))?;
//! let store = HttpStore::new(&server.url())?;
//! let got = futures_lite::future::block_on(store.get("a/zarr.json", None))?;
//! assert_eq!(got.as_deref(), Some(&b"{}"[..]));
//! assert_eq!(server.counters().requests, 1);
//! server.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_executor::Executor;
use async_io::{Async, Timer};
use futures_lite::{future, AsyncReadExt};

use crate::{FsStore, MemoryStore};

pub mod proxy;
pub mod s3s_fs;

mod handler;
mod limit;
mod rt;

use crate::rt::{HyperExecutor, HyperIo, SmolTimer};
use rt::Io;

/// The HTTP/2 connection preface a prior-knowledge client sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the server serves.
#[derive(Debug, Clone)]
pub enum Backend {
    /// Files under a directory (keys are checked as in [`FsStore`]).
    Dir(FsStore),
    /// A [`MemoryStore`], shared with the caller.
    Memory(MemoryStore),
}

/// A failure the server injects into a fraction of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 500 Internal Server Error.
    Status500,
    /// Answer 503 Service Unavailable.
    Status503,
    /// Answer 429 Too Many Requests with `Retry-After: {0}` (seconds).
    TooManyRequests(u64),
    /// Drop the connection (HTTP/1.1) or reset the stream (HTTP/2) without answering.
    Reset,
    /// Send the headers of the full answer, half the body, then abort.
    Truncate,
    /// Wait this long before answering (past a client's timeout).
    Stall(Duration),
}

/// Settings of a [`Server`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// What to serve.
    pub backend: Backend,
    /// Address to bind; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Executor threads.
    pub threads: usize,
    /// Delay added before every answer.
    pub latency: Duration,
    /// Most concurrent streams per HTTP/2 connection.
    pub max_concurrent_streams: u32,
    /// Faults and the fraction of requests (0.0..=1.0) each one hits; the
    /// fractions add up (at most 1.0 in total).
    pub faults: Vec<(Fault, f64)>,
    /// Seed of the fault dice, so a run can be repeated.
    pub seed: u64,
    /// Accept `PUT` and `DELETE`.
    pub writable: bool,
    /// Largest `PUT` body accepted, in bytes.
    pub max_put_bytes: u64,
    /// How long [`ServerHandle::stop`] waits for open connections to finish.
    pub shutdown_grace: Duration,
    /// A header (lowercase name, value) every request must carry, as an auth token;
    /// requests without it are answered 401.
    pub required_header: Option<(String, String)>,
    /// Answer 403 instead of 404 for a key that does not exist, as S3 does for
    /// clients without list permission.
    pub missing_is_forbidden: bool,
    /// Ignore `Range` and answer every GET with the whole value and 200, as simple
    /// servers do (Python's `http.server`, for one).
    pub ignore_range: bool,
    /// Answer every request with `307 Temporary Redirect` to this base URL plus the
    /// request's path, as a CDN or a bucket moved to another region does.
    pub redirect_to: Option<String>,
    /// Close each connection abruptly (TCP shutdown, no GOAWAY, no `Connection:
    /// close`) once it has given this many answers, leaving whatever other requests
    /// are in flight on it unanswered: a server crashing or a middlebox cutting
    /// connections. The cut falls between answers (answers already begun are finished,
    /// no other begins), so every request it leaves got no byte of an answer.
    pub close_after: Option<u64>,
    /// Shut each connection down gracefully once it has sent this many whole answers:
    /// HTTP/2 GOAWAY (requests already accepted are answered, later streams refused),
    /// HTTP/1.1 closing after the answer, as nginx's `keepalive_requests` does.
    pub goaway_after: Option<u64>,
}

impl ServerConfig {
    /// Serves the files under `dir`.
    pub fn dir(dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig::new(Backend::Dir(FsStore::new(dir)))
    }

    /// Serves `store` (shared: later inserts are visible).
    pub fn memory(store: MemoryStore) -> ServerConfig {
        ServerConfig::new(Backend::Memory(store))
    }

    fn new(backend: Backend) -> ServerConfig {
        ServerConfig {
            backend,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            threads: 2,
            latency: Duration::ZERO,
            max_concurrent_streams: 100,
            faults: Vec::new(),
            seed: 0x5eed,
            writable: false,
            max_put_bytes: 1 << 30,
            shutdown_grace: Duration::from_secs(1),
            required_header: None,
            missing_is_forbidden: false,
            ignore_range: false,
            redirect_to: None,
            close_after: None,
            goaway_after: None,
        }
    }

    /// Sets [`addr`](Self::addr).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Sets [`latency`](Self::latency).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Adds a fault hitting `fraction` of requests.
    pub fn fault(mut self, fault: Fault, fraction: f64) -> Self {
        self.faults.push((fault, fraction));
        self
    }

    /// Sets [`writable`](Self::writable).
    pub fn writable(mut self, writable: bool) -> Self {
        self.writable = writable;
        self
    }

    /// Sets [`threads`](Self::threads).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets [`max_concurrent_streams`](Self::max_concurrent_streams).
    pub fn max_concurrent_streams(mut self, n: u32) -> Self {
        self.max_concurrent_streams = n;
        self
    }

    /// Sets [`required_header`](Self::required_header).
    pub fn require_header(mut self, name: &str, value: &str) -> Self {
        self.required_header = Some((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// Sets [`missing_is_forbidden`](Self::missing_is_forbidden).
    pub fn missing_is_forbidden(mut self, yes: bool) -> Self {
        self.missing_is_forbidden = yes;
        self
    }

    /// Sets [`ignore_range`](Self::ignore_range).
    pub fn ignore_range(mut self, yes: bool) -> Self {
        self.ignore_range = yes;
        self
    }

    /// Sets [`redirect_to`](Self::redirect_to) (`base` without a trailing `/`).
    pub fn redirect_to(mut self, base: &str) -> Self {
        self.redirect_to = Some(base.trim_end_matches('/').to_owned());
        self
    }

    /// Sets [`close_after`](Self::close_after) (0 is taken as 1).
    pub fn close_after(mut self, answers: u64) -> Self {
        self.close_after = Some(answers.max(1));
        self
    }

    /// Sets [`goaway_after`](Self::goaway_after) (0 is taken as 1).
    pub fn goaway_after(mut self, answers: u64) -> Self {
        self.goaway_after = Some(answers.max(1));
        self
    }

    /// Sets [`seed`](Self::seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// A snapshot of the server's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests received.
    pub requests: u64,
    /// Connections accepted.
    pub connections: u64,
    /// Of those, HTTP/2 (h2c) connections.
    pub h2_connections: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Faults injected.
    pub faults: u64,
    /// Response body bytes sent (truncated bodies count what was sent).
    pub body_bytes: u64,
    /// Bytes written to sockets (headers and framing included).
    pub bytes_written: u64,
    /// Bytes read from sockets.
    pub bytes_read: u64,
    /// Most requests being answered at once (from arrival to the response head,
    /// latency included): what a client had in flight, as the server saw it.
    pub peak_in_flight: u64,
    /// `PUT`s and `DELETE`s refused with 412 because their `If-Match` /
    /// `If-None-Match` condition failed: how often writers collided.
    pub conditions_failed: u64,
}

/// Live counters, shared by every connection.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) requests: AtomicU64,
    pub(crate) connections: AtomicU64,
    pub(crate) h2_connections: AtomicU64,
    pub(crate) open_connections: AtomicU64,
    pub(crate) faults: AtomicU64,
    pub(crate) body_bytes: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) peak_in_flight: AtomicU64,
    pub(crate) conditions_failed: AtomicU64,
}

impl Stats {
    fn snapshot(&self) -> Counters {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counters {
            requests: l(&self.requests),
            connections: l(&self.connections),
            h2_connections: l(&self.h2_connections),
            open_connections: l(&self.open_connections),
            faults: l(&self.faults),
            body_bytes: l(&self.body_bytes),
            bytes_written: l(&self.bytes_written),
            bytes_read: l(&self.bytes_read),
            peak_in_flight: l(&self.peak_in_flight),
            conditions_failed: l(&self.conditions_failed),
        }
    }

    fn reset(&self) {
        for a in [
            &self.requests,
            &self.connections,
            &self.h2_connections,
            &self.faults,
            &self.body_bytes,
            &self.bytes_written,
            &self.bytes_read,
            &self.peak_in_flight,
            &self.conditions_failed,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

/// Knobs that can change while the server runs.
#[derive(Debug)]
pub(crate) struct Knobs {
    pub(crate) latency: Duration,
    pub(crate) faults: Vec<(Fault, f64)>,
    pub(crate) rng: fastrand::Rng,
}

/// State shared by every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) backend: Backend,
    pub(crate) writable: bool,
    pub(crate) max_put_bytes: u64,
    pub(crate) required_header: Option<(String, String)>,
    pub(crate) missing_is_forbidden: bool,
    pub(crate) ignore_range: bool,
    pub(crate) redirect_to: Option<String>,
    pub(crate) close_after: Option<u64>,
    pub(crate) goaway_after: Option<u64>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) knobs: Mutex<Knobs>,
}

impl Shared {
    pub(crate) fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        // Knobs are plain values replaced whole; a poisoned lock still holds valid ones.
        self.knobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts servers.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds `config.addr` and starts serving on `config.threads` new threads.
    ///
    /// # Errors
    ///
    /// The bind error (address in use, permission denied).
    pub fn start(config: ServerConfig) -> std::io::Result<ServerHandle> {
        let listener = Async::<TcpListener>::bind(config.addr)?;
        let addr = listener.get_ref().local_addr()?;
        let stats = Arc::new(Stats::default());
        let shared = Arc::new(Shared {
            backend: config.backend.clone(),
            writable: config.writable,
            max_put_bytes: config.max_put_bytes,
            required_header: config.required_header.clone(),
            missing_is_forbidden: config.missing_is_forbidden,
            ignore_range: config.ignore_range,
            redirect_to: config.redirect_to.clone(),
            close_after: config.close_after,
            goaway_after: config.goaway_after,
            stats: Arc::clone(&stats),
            knobs: Mutex::new(Knobs {
                latency: config.latency,
                faults: config.faults.clone(),
                rng: fastrand::Rng::with_seed(config.seed),
            }),
        });
        let ex = Arc::new(Executor::new());
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (done_tx, done_rx) = async_channel::bounded::<()>(1);

        let accept = {
            let ex2 = Arc::clone(&ex);
            let shared = Arc::clone(&shared);
            let streams = config.max_concurrent_streams;
            let grace = config.shutdown_grace;
            async move {
                accept_loop(listener, ex2, shared, streams, stop_rx).await;
                // Let open connections finish their graceful shutdown, bounded by `grace`.
                let deadline = Instant::now() + grace;
                while stats.open_connections.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
                    Timer::after(Duration::from_millis(5)).await;
                }
                drop(done_tx);
            }
        };
        let main_task = ex.spawn(accept);
        let mut threads = Vec::new();
        {
            let ex = Arc::clone(&ex);
            threads.push(
                std::thread::Builder::new()
                    .name("zarr-server-0".into())
                    .spawn(move || future::block_on(ex.run(main_task)))?,
            );
        }
        for i in 1..config.threads.max(1) {
            let ex = Arc::clone(&ex);
            let done = done_rx.clone();
            threads.push(std::thread::Builder::new().name(format!("zarr-server-{i}")).spawn(move || {
                future::block_on(ex.run(async move {
                    let _ = done.recv().await;
                }))
            })?);
        }
        Ok(ServerHandle { addr, shared, stop_tx: Some(stop_tx), threads, executor: Some(ex) })
    }
}

async fn accept_loop(
    listener: Async<TcpListener>,
    ex: Arc<Executor<'static>>,
    shared: Arc<Shared>,
    max_streams: u32,
    stop: async_channel::Receiver<()>,
) {
    loop {
        let next = future::or(async { Some(listener.accept().await) }, async {
            let _ = stop.recv().await;
            None
        })
        .await;
        let (stream, _peer) = match next {
            None => return,
            Some(Ok(s)) => s,
            // Out of file descriptors and similar: back off a little and go on.
            Some(Err(_)) => {
                Timer::after(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        let exec = HyperExecutor(Arc::downgrade(&ex));
        ex.spawn(async move {
            shared.stats.connections.fetch_add(1, Ordering::Relaxed);
            shared.stats.open_connections.fetch_add(1, Ordering::Relaxed);
            serve_connection(stream, Arc::clone(&shared), exec, max_streams, stop).await;
            shared.stats.open_connections.fetch_sub(1, Ordering::Relaxed);
        })
        .detach();
    }
}

/// Reads up to the length of the HTTP/2 preface, stopping at the first byte
/// that rules it out, and returns what was read.
async fn sniff(stream: &mut Async<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; H2_PREFACE.len()];
    let mut n = 0;
    while n < buf.len() {
        let k = stream.read(&mut buf[n..]).await?;
        if k == 0 {
            break;
        }
        n += k;
        if buf[..n] != H2_PREFACE[..n] {
            break;
        }
    }
    buf.truncate(n);
    Ok(buf)
}

async fn serve_connection(
    mut stream: Async<TcpStream>,
    shared: Arc<Shared>,
    exec: HyperExecutor,
    max_streams: u32,
    stop: async_channel::Receiver<()>,
) {
    let _ = stream.get_ref().set_nodelay(true);
    let Ok(prefix) = sniff(&mut stream).await else { return };
    let is_h2 = prefix == H2_PREFACE;
    let (limit, goaway) = limit::AnswerLimit::new(shared.close_after, shared.goaway_after);
    let io = HyperIo::new(Io::new(stream, prefix, Arc::clone(&shared.stats), Arc::clone(&limit), is_h2));
    let svc = {
        let shared = Arc::clone(&shared);
        hyper::service::service_fn(move |req| answer(Arc::clone(&shared), Arc::clone(&limit), req))
    };
    // Serve until the connection ends; on stop (or after `goaway_after` answers),
    // shut down gracefully and finish.
    macro_rules! drive {
        ($conn:expr) => {{
            let mut conn = std::pin::pin!($conn);
            let stopped = future::or(
                async {
                    let _ = conn.as_mut().await;
                    false
                },
                future::or(
                    async {
                        let _ = stop.recv().await;
                        true
                    },
                    async {
                        goaway.wait().await;
                        true
                    },
                ),
            )
            .await;
            if stopped {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }};
    }
    if is_h2 {
        shared.stats.h2_connections.fetch_add(1, Ordering::Relaxed);
        let mut b = hyper::server::conn::http2::Builder::new(exec);
        b.timer(SmolTimer).max_concurrent_streams(max_streams);
        drive!(b.serve_connection(io, svc));
    } else {
        let mut b = hyper::server::conn::http1::Builder::new();
        b.timer(SmolTimer).keep_alive(true);
        drive!(b.serve_connection(io, svc));
    }
}

/// One request's answer, counted against the connection's [`limit::AnswerLimit`].
async fn answer(
    shared: Arc<Shared>,
    limit: Arc<limit::AnswerLimit>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<handler::Body>, handler::BoxError> {
    let resp = handler::handle(shared, req).await?;
    if limit.closing() {
        // Past `close_after`: no more answers begin; the connection is cut once those
        // begun are out, and this request is left unanswered.
        future::pending::<()>().await;
    }
    Ok(resp.map(|body| limit.count(body)))
}

/// A running server: its address, counters and knobs.
///
/// Dropping the handle stops the server, as [`stop`](Self::stop) does.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop_tx: Option<async_channel::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    executor: Option<Arc<Executor<'static>>>,
}

impl ServerHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`: the base URL of the served store.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.shared.stats.snapshot()
    }

    /// Sets every counter but `open_connections` to zero.
    pub fn reset_counters(&self) {
        self.shared.stats.reset();
    }

    /// Replaces the latency added to every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.knobs().latency = latency;
    }

    /// Replaces the injected faults (see [`ServerConfig::faults`]).
    pub fn set_faults(&self, faults: Vec<(Fault, f64)>) {
        self.shared.knobs().faults = faults;
    }

    /// Stops accepting, lets open connections finish for up to the configured
    /// grace period, cancels what is left, and joins the server threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Closing the channel wakes the accept loop and every connection.
        if let Some(tx) = self.stop_tx.take() {
            tx.close();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Dropping the executor cancels tasks still running (stalled requests).
        self.executor.take();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
