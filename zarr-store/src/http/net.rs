//! What the hyper-based clients share: connecting (TCP, TLS with ALPN), the thread
//! that drives their connections, and hyper's IO traits over futures-io.

use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_executor::Executor;
use async_io::Async;
use async_openssl::SslStream;
use futures_lite::{AsyncRead, AsyncWrite};

use crate::rt::{HyperExecutor, HyperIo};
use openssl::ssl::{SslConnector, SslMethod, SslVersion};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509VerifyResult, X509};

/// The request type the hyper clients send.
pub(super) type HyperRequest = hyper::Request<http_body_util::Full<bytes::Bytes>>;
/// The response type they give back.
pub(super) type HyperResponse = hyper::Response<hyper::body::Incoming>;

/// Where to connect, and how.
#[derive(Clone)]
pub(super) struct Target {
    pub(super) host: String,
    pub(super) port: u16,
    /// `None` for h2c (prior knowledge over plain TCP).
    pub(super) tls: Option<SslConnector>,
    pub(super) connect_timeout: Duration,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// What went wrong on the hyper path.
#[derive(Debug)]
pub(super) enum ClientError {
    /// TLS ALPN chose HTTP/1.1 (or nothing): the store must use its HTTP/1.1 pool.
    /// The request that made the connection gets it, to use for HTTP/1.1 rather than
    /// pay for another handshake; the others get `None`.
    NotH2(Option<Box<Stream>>),
    /// TCP or TLS connect failed, or timed out.
    Connect(io::Error),
    /// The TLS setup itself is wrong (e.g. an unreadable CA file): retrying will not help.
    Setup(io::Error),
    /// The server's certificate did not verify: retrying will not help either.
    Certificate(String),
    /// The request failed on an established connection.
    Request(hyper::Error),
    /// No answer came within the stall timeout (reported by the caller, which knows it).
    Stalled,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::NotH2(_) => f.write_str("server does not speak HTTP/2"),
            ClientError::Stalled => f.write_str("no answer in time"),
            ClientError::Connect(e) => write!(f, "connect: {e}"),
            ClientError::Setup(e) => write!(f, "tls setup: {e}"),
            ClientError::Certificate(why) => write!(
                f,
                "TLS: the server's certificate is not trusted: {why}; to trust its CA, give it as \
                 `HttpConfig::ca_file` (`zarr --cacert FILE`) or in SSL_CERT_FILE / SSL_CERT_DIR"
            ),
            ClientError::Request(e) => describe(e, f),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::NotH2(_) | ClientError::Certificate(_) | ClientError::Stalled => None,
            ClientError::Connect(e) | ClientError::Setup(e) => Some(e),
            ClientError::Request(e) => Some(e),
        }
    }
}

/// A hyper error with its causes: hyper's own text ("error reading a body from
/// connection") names no cause, and an h2 GOAWAY reads as "connection error received:
/// not a result of an error" unless said in words.
fn describe(e: &hyper::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if let Some(h2) = h2_error(e) {
        if h2.is_go_away() {
            let reason = h2.reason().map_or_else(|| "no reason".to_owned(), |r| format!("{r:?}"));
            let side = if h2.is_remote() { "the server" } else { "the client" };
            return write!(f, "{side} closed the HTTP/2 connection (GOAWAY, {reason}) before answering this request");
        }
    }
    write!(f, "{e}")?;
    let mut last = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        // Wrappers often repeat their cause's text word for word.
        if !text.is_empty() && !last.contains(&text) {
            write!(f, ": {text}")?;
        }
        last = text;
        source = s.source();
    }
    Ok(())
}

/// The h2 error inside a hyper error, if any.
pub(super) fn h2_error(e: &hyper::Error) -> Option<&h2::Error> {
    cause(e)
}

/// The first cause of type `T` in a hyper error's chain of sources, if any (the h2
/// error, or the IO error of a connection reset under a request).
pub(super) fn cause<T: std::error::Error + 'static>(e: &hyper::Error) -> Option<&T> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(found) = s.downcast_ref::<T>() {
            return Some(found);
        }
        source = s.source();
    }
    None
}

/// A connection before HTTP starts on it.
pub(super) enum Stream {
    Tcp(Async<TcpStream>),
    Tls(SslStream<Async<TcpStream>>),
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Tcp(_) => "Stream::Tcp",
            Stream::Tls(_) => "Stream::Tls",
        })
    }
}

impl Stream {
    /// Whether TLS ALPN chose h2 (never for plain TCP).
    pub(super) fn alpn_h2(&self) -> bool {
        match self {
            Stream::Tcp(_) => false,
            Stream::Tls(s) => s.ssl().selected_alpn_protocol() == Some(b"h2"),
        }
    }
}

/// `connect`, or a `TimedOut` error once `target`'s connect timeout has passed.
pub(super) async fn within_connect_timeout<T>(
    target: &Target,
    connect: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    let timeout = target.connect_timeout;
    futures_lite::future::or(connect, async {
        async_io::Timer::after(timeout).await;
        let msg = format!("connect timed out after {timeout:?}");
        Err(ClientError::Connect(io::Error::new(io::ErrorKind::TimedOut, msg)))
    })
    .await
}

/// TCP to `target`, then TLS offering `alpn` (ALPN wire format) if it has TLS settings.
pub(super) async fn open(target: &Target, alpn: &[u8]) -> Result<Stream, ClientError> {
    let tcp = tcp_connect(&target.host, target.port).await.map_err(ClientError::Connect)?;
    let Some(connector) = &target.tls else { return Ok(Stream::Tcp(tcp)) };
    let setup = |e: openssl::error::ErrorStack| ClientError::Setup(io::Error::other(e));
    let mut config = connector.configure().map_err(setup)?;
    config.set_alpn_protos(alpn).map_err(setup)?;
    let ssl = config.into_ssl(&target.host).map_err(setup)?;
    let mut tls = SslStream::new(ssl, tcp).map_err(setup)?;
    if let Err(e) = Pin::new(&mut tls).connect().await {
        let verified = tls.ssl().verify_result();
        if verified != X509VerifyResult::OK {
            return Err(ClientError::Certificate(format!(
                "{} ({}:{})",
                verified.error_string(),
                target.host,
                target.port
            )));
        }
        return Err(ClientError::Connect(match e.io_error() {
            Some(io) => io::Error::new(io.kind(), io.to_string()),
            None => io::Error::new(io::ErrorKind::ConnectionAborted, format!("TLS handshake: {e}")),
        }));
    }
    Ok(Stream::Tls(tls))
}

/// The TLS settings of a connection: verify the server against `ca_file` alone when
/// given, else OpenSSL's defaults, which honour `SSL_CERT_FILE` and `SSL_CERT_DIR`
/// (ALPN is chosen per connection, in [`open`]).
///
/// Built once per CA setting per process and shared: loading a CA bundle costs more
/// than a TLS handshake (the system bundle, ~150 certificates, takes milliseconds),
/// and a program may open many stores. The setting is the file and the two
/// environment variables, so a change of either is seen by the next store.
pub(super) fn tls_connector(ca_file: Option<&Path>) -> io::Result<SslConnector> {
    type Setting = (Option<PathBuf>, Option<OsString>, Option<OsString>);
    static BUILT: Mutex<Vec<(Setting, SslConnector)>> = Mutex::new(Vec::new());
    let setting = (ca_file.map(Path::to_path_buf), std::env::var_os("SSL_CERT_FILE"), std::env::var_os("SSL_CERT_DIR"));
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, c)) = built.iter().find(|(k, _)| *k == setting) {
        return Ok(c.clone());
    }
    let connector = build_tls_connector(ca_file)?;
    built.push((setting, connector.clone()));
    Ok(connector)
}

pub(super) fn build_tls_connector(ca_file: Option<&Path>) -> io::Result<SslConnector> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(io::Error::other)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2)).map_err(io::Error::other)?;
    if let Some(path) = ca_file {
        let pem =
            std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("CA file {}: {e}", path.display())))?;
        let certs = X509::stack_from_pem(&pem)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("CA file {}: {e}", path.display())))?;
        if certs.is_empty() {
            let msg = format!("CA file {}: no certificates", path.display());
            return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
        }
        let mut store = X509StoreBuilder::new().map_err(io::Error::other)?;
        for cert in certs {
            store.add_cert(cert).map_err(io::Error::other)?;
        }
        b.set_cert_store(store.build());
    }
    Ok(b.build())
}

/// TCP to every address of `host` in turn, without blocking the executor on DNS.
pub(super) async fn tcp_connect(host: &str, port: u16) -> io::Result<Async<TcpStream>> {
    let name = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addrs: Vec<_> =
        blocking::unblock(move || (name.as_str(), port).to_socket_addrs().map(Iterator::collect)).await?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"));
    for addr in addrs {
        match Async::<TcpStream>::connect(addr).await {
            Ok(s) => {
                s.get_ref().set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = io::Error::new(e.kind(), format!("{addr}: {e}")),
        }
    }
    Err(last)
}

/// The executor that runs every hyper connection (h2 and TLS HTTP/1.1), on its own
/// thread (`None` if the thread could not be started).
fn driver() -> Option<&'static Arc<Executor<'static>>> {
    static DRIVER: OnceLock<Option<Arc<Executor<'static>>>> = OnceLock::new();
    DRIVER
        .get_or_init(|| {
            let ex = Arc::new(Executor::new());
            let run = Arc::clone(&ex);
            std::thread::Builder::new()
                .name("zarr-http".into())
                .spawn(move || async_io::block_on(run.run(futures_lite::future::pending::<()>())))
                .ok()
                .map(|_| ex)
        })
        .as_ref()
}

/// The connection tasks of one client, counted while they run.
#[derive(Default)]
pub(super) struct Connections {
    live: AtomicUsize,
}

impl Connections {
    /// Runs `conn` on the driver thread, counted until it ends (its IO dropped).
    pub(super) fn spawn<F>(self: &Arc<Self>, conn: F) -> Result<(), ClientError>
    where
        F: Future + Send + 'static,
    {
        let driver =
            driver().ok_or_else(|| ClientError::Setup(io::Error::other("cannot start the zarr-http thread")))?;
        self.live.fetch_add(1, Ordering::AcqRel);
        let this = Arc::clone(self);
        driver
            .spawn(async move {
                let _ = conn.await;
                this.live.fetch_sub(1, Ordering::AcqRel);
            })
            .detach();
        Ok(())
    }

    /// Connections still running.
    pub(super) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Waits, without blocking the thread, until every connection has ended or
    /// `limit` has passed.
    pub(super) async fn closed(&self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        while self.live() > 0 && std::time::Instant::now() < deadline {
            async_io::Timer::after(Duration::from_millis(1)).await;
        }
    }
}

/// How long [`Store::close`](crate::Store::close) waits for a client's connections to
/// close (microseconds normally; a server that does not let go costs this once).
pub(super) const CLOSE_WAIT: Duration = Duration::from_millis(500);

/// hyper's executor for the tasks of a connection (request bodies), on the driver.
pub(super) fn driver_executor() -> HyperExecutor {
    HyperExecutor(driver().map(Arc::downgrade).unwrap_or_default())
}

/// A [`Stream`] as hyper IO.
pub(super) fn hyper_io(stream: Stream) -> HyperIo<Box<dyn Io>> {
    HyperIo::new(boxed(stream))
}

/// A [`Stream`] as one type, TLS or not.
pub(super) fn boxed(stream: Stream) -> Box<dyn Io> {
    match stream {
        Stream::Tcp(s) => Box::new(s),
        Stream::Tls(s) => Box::new(s),
    }
}

/// A byte stream hyper can run HTTP on.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}
