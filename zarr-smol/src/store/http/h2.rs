//! HTTP/2 on one connection per store: hyper's client over async-io, OpenSSL for TLS.
//!
//! Why not libcurl here: on one multiplexed connection every request and every
//! response passes through isahc's single agent thread, and libcurl gives each
//! stream its own `sendto` (HEADERS, then WINDOW_UPDATE) and ~70 us of CPU; when a
//! hundred responses arrive together the last stream waits for the ninety-nine
//! before it, every round trip. hyper's h2 writes every frame ready in one poll with
//! one write, so a wave of a hundred requests costs a few syscalls. This module
//! also knows, from ALPN on its own handshake, whether a TLS server speaks h2 at
//! all, which libcurl could only tell after a response (isahc cannot set
//! `CURLOPT_PIPEWAIT`).

use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use async_executor::Executor;
use async_io::{Async, Timer};
use async_openssl::SslStream;
use bytes::Bytes;
use futures_lite::{AsyncRead, AsyncWrite};
use http_body_util::Full;
use hyper::client::conn::http2::SendRequest;
use hyper::rt::ReadBufCursor;
use openssl::ssl::{SslConnector, SslMethod, SslVersion};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;

/// The request type this client sends.
pub(super) type H2Request = hyper::Request<Full<Bytes>>;
/// The response type it gives back.
pub(super) type H2Response = hyper::Response<hyper::body::Incoming>;

/// Times a request may be sent again at once on a fresh connection because the
/// server said it did not process it (GOAWAY, REFUSED_STREAM) or the connection was
/// already closing; after that it is an ordinary transient failure.
const RESEND_LIMIT: u32 = 8;

/// Receive window of each stream, in bytes.
const STREAM_WINDOW: u32 = 16 << 20;
/// Receive window of the whole connection, in bytes.
const CONNECTION_WINDOW: u32 = 64 << 20;
/// Largest DATA frame the server may send us.
const MAX_FRAME: u32 = 64 << 10;

/// What went wrong on the h2 path.
#[derive(Debug)]
pub(super) enum H2Error {
    /// TLS ALPN chose HTTP/1.1 (or nothing): the store must use its HTTP/1.1 pool.
    NotH2,
    /// TCP or TLS connect failed, or timed out.
    Connect(io::Error),
    /// The TLS setup itself is wrong (e.g. an unreadable CA file): retrying will not help.
    Setup(io::Error),
    /// The request failed on an established connection.
    Request(hyper::Error),
}

impl fmt::Display for H2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            H2Error::NotH2 => f.write_str("server does not speak HTTP/2"),
            H2Error::Connect(e) => write!(f, "connect: {e}"),
            H2Error::Setup(e) => write!(f, "tls setup: {e}"),
            H2Error::Request(e) => match h2_error(e) {
                Some(h2) => write!(f, "{e}: {h2}"),
                None => write!(f, "{e}"),
            },
        }
    }
}

impl std::error::Error for H2Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            H2Error::NotH2 => None,
            H2Error::Connect(e) | H2Error::Setup(e) => Some(e),
            H2Error::Request(e) => Some(e),
        }
    }
}

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

/// The TLS settings of an h2 connection: offer h2 and HTTP/1.1 by ALPN, verify the
/// server against `ca_file` alone when given, else OpenSSL's defaults, which honour
/// `SSL_CERT_FILE` and `SSL_CERT_DIR`.
///
/// Built once per CA setting per process and shared: loading a CA bundle costs more
/// than a TLS handshake (the system bundle, ~150 certificates, takes milliseconds),
/// and a program may open many stores. The setting is the file and the two
/// environment variables, so a change of either is seen by the next store.
pub(super) fn tls_connector(ca_file: Option<&Path>) -> io::Result<SslConnector> {
    type Setting = (Option<PathBuf>, Option<OsString>, Option<OsString>);
    static BUILT: Mutex<Vec<(Setting, SslConnector)>> = Mutex::new(Vec::new());
    let setting =
        (ca_file.map(Path::to_path_buf), std::env::var_os("SSL_CERT_FILE"), std::env::var_os("SSL_CERT_DIR"));
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, c)) = built.iter().find(|(k, _)| *k == setting) {
        return Ok(c.clone());
    }
    let connector = build_tls_connector(ca_file)?;
    built.push((setting, connector.clone()));
    Ok(connector)
}

fn build_tls_connector(ca_file: Option<&Path>) -> io::Result<SslConnector> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(io::Error::other)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2)).map_err(io::Error::other)?;
    b.set_alpn_protos(b"\x02h2\x08http/1.1").map_err(io::Error::other)?;
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

/// One h2 connection to a target, made when first needed and again when it closes.
pub(super) struct H2Client {
    target: Target,
    conn: async_lock::Mutex<Conn>,
    /// Connection attempts so far, readable without the lock: a request that queued
    /// behind a failed attempt shares its failure instead of waiting out a connect
    /// timeout of its own.
    attempts: AtomicU64,
}

impl fmt::Debug for H2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H2Client").field("target", &self.target).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Conn {
    /// The open connection: its number (the attempt that made it) and its sender.
    open: Option<(u64, SendRequest<Full<Bytes>>)>,
    /// The last attempt's failure, cleared by a success.
    failure: Option<(io::ErrorKind, String)>,
    /// ALPN said HTTP/1.1: final for this store.
    not_h2: bool,
}

impl H2Client {
    pub(super) fn new(target: Target) -> H2Client {
        H2Client { target, conn: async_lock::Mutex::new(Conn::default()), attempts: AtomicU64::new(0) }
    }

    /// Sends the request `make` builds (again, if the server did not process it) and
    /// waits for the head of the response; the body streams after.
    pub(super) async fn send<M>(&self, make: M) -> Result<H2Response, H2Error>
    where
        M: Fn() -> H2Request,
    {
        let mut resent = 0;
        loop {
            let (id, mut sender) = self.sender().await?;
            let err = match sender.send_request(make()).await {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            // The server says it did not process the request (GOAWAY before this stream,
            // REFUSED_STREAM) or it was never sent (the connection was closing): send it
            // again at once, on a new connection.
            let again = resent < RESEND_LIMIT && unprocessed(&err);
            if again || sender.is_closed() {
                self.forget(id).await;
            }
            if !again {
                return Err(H2Error::Request(err));
            }
            resent += 1;
        }
    }

    /// The open connection's number and sender, connecting first if there is none.
    async fn sender(&self) -> Result<(u64, SendRequest<Full<Bytes>>), H2Error> {
        let seen = self.attempts.load(Ordering::Acquire);
        let mut conn = self.conn.lock().await;
        if conn.not_h2 {
            return Err(H2Error::NotH2);
        }
        if let Some((id, s)) = &conn.open {
            if !s.is_closed() {
                return Ok((*id, s.clone()));
            }
        }
        conn.open = None;
        if let Some((kind, msg)) = &conn.failure {
            if self.attempts.load(Ordering::Acquire) > seen {
                return Err(H2Error::Connect(io::Error::new(*kind, msg.clone())));
            }
        }
        let id = self.attempts.fetch_add(1, Ordering::AcqRel) + 1;
        let timeout = self.target.connect_timeout;
        let connected = futures_lite::future::or(connect(&self.target), async {
            Timer::after(timeout).await;
            let msg = format!("connect timed out after {timeout:?}");
            Err(H2Error::Connect(io::Error::new(io::ErrorKind::TimedOut, msg)))
        })
        .await;
        match connected {
            Ok(s) => {
                conn.failure = None;
                conn.open = Some((id, s.clone()));
                Ok((id, s))
            }
            Err(H2Error::NotH2) => {
                conn.not_h2 = true;
                Err(H2Error::NotH2)
            }
            Err(H2Error::Connect(e)) => {
                conn.failure = Some((e.kind(), e.to_string()));
                Err(H2Error::Connect(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Drops connection `id` if it is still the open one, so the next request makes a new one.
    async fn forget(&self, id: u64) {
        let mut conn = self.conn.lock().await;
        if conn.open.as_ref().is_some_and(|(open, _)| *open == id) {
            conn.open = None;
        }
    }
}

/// The h2 error inside a hyper error, if any.
fn h2_error(e: &hyper::Error) -> Option<&h2::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            return Some(h2);
        }
        source = s.source();
    }
    None
}

/// Whether the server cannot have processed the request: it refused the stream, or
/// went away (GOAWAY) without an error before reaching it, or hyper never sent it.
fn unprocessed(e: &hyper::Error) -> bool {
    if e.is_canceled() || e.is_closed() {
        return true;
    }
    match h2_error(e) {
        Some(h2) => {
            h2.reason() == Some(h2::Reason::REFUSED_STREAM)
                || (h2.is_go_away() && h2.reason() == Some(h2::Reason::NO_ERROR))
        }
        None => false,
    }
}

/// Opens a connection (TCP, TLS with ALPN if configured) and starts HTTP/2 on it.
async fn connect(target: &Target) -> Result<SendRequest<Full<Bytes>>, H2Error> {
    let tcp = tcp_connect(&target.host, target.port).await.map_err(H2Error::Connect)?;
    match &target.tls {
        None => handshake(HyperIo::new(tcp)).await,
        Some(connector) => {
            let ssl = connector
                .configure()
                .and_then(|c| c.into_ssl(&target.host))
                .map_err(|e| H2Error::Setup(io::Error::other(e)))?;
            let mut tls = SslStream::new(ssl, tcp).map_err(|e| H2Error::Setup(io::Error::other(e)))?;
            Pin::new(&mut tls).connect().await.map_err(|e| {
                let e = match e.io_error() {
                    Some(io) => io::Error::new(io.kind(), io.to_string()),
                    None => io::Error::new(io::ErrorKind::ConnectionAborted, format!("TLS handshake: {e}")),
                };
                H2Error::Connect(e)
            })?;
            if tls.ssl().selected_alpn_protocol() != Some(b"h2") {
                return Err(H2Error::NotH2);
            }
            handshake(HyperIo::new(tls)).await
        }
    }
}

/// TCP to every address of `host` in turn, without blocking the executor on DNS.
async fn tcp_connect(host: &str, port: u16) -> io::Result<Async<TcpStream>> {
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

async fn handshake<T>(io: HyperIo<T>) -> Result<SendRequest<Full<Bytes>>, H2Error>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let driver = driver().ok_or_else(|| H2Error::Setup(io::Error::other("cannot start the zarr-h2 thread")))?;
    // Flow-control windows wide enough that one connection is not what limits a
    // far server: the stream window holds a whole split part (8 MiB by default), the
    // connection's several (hyper's 2 and 5 MiB would cap 100 ms away at ~50 MB/s).
    let (sender, conn) = hyper::client::conn::http2::Builder::new(DriverExecutor)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME)
        .handshake(io)
        .await
        .map_err(|e| H2Error::Connect(io::Error::other(e)))?;
    // The connection's IO runs on the driver thread, whatever executor (if any) the
    // caller polls its requests with; it ends when every sender is gone.
    driver.spawn(conn).detach();
    Ok(sender)
}

/// The executor that runs every h2 connection, on its own thread (`None` if the
/// thread could not be started).
fn driver() -> Option<&'static Executor<'static>> {
    static DRIVER: OnceLock<Option<&'static Executor<'static>>> = OnceLock::new();
    *DRIVER.get_or_init(|| {
        let ex: &'static Executor<'static> = Box::leak(Box::new(Executor::new()));
        std::thread::Builder::new()
            .name("zarr-h2".into())
            .spawn(move || async_io::block_on(ex.run(futures_lite::future::pending::<()>())))
            .ok()
            .map(|_| ex)
    })
}

/// hyper's executor for the tasks of a connection (request bodies), on the driver.
#[derive(Clone, Copy)]
struct DriverExecutor;

impl<F> hyper::rt::Executor<F> for DriverExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        if let Some(ex) = driver() {
            ex.spawn(fut).detach();
        }
    }
}

/// A futures-io stream as hyper IO.
struct HyperIo<T> {
    inner: T,
    scratch: Box<[u8]>,
}

impl<T> HyperIo<T> {
    fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner, scratch: vec![0; 32 * 1024].into_boxed_slice() }
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, mut buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = buf.remaining().min(this.scratch.len());
        match Pin::new(&mut this.inner).poll_read(cx, &mut this.scratch[..n]) {
            Poll::Ready(Ok(k)) => {
                buf.put_slice(&this.scratch[..k]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
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

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A one-connection TLS server (self-signed, openssl) whose ALPN callback picks
    /// `choice` (ALPN wire format: length-prefixed) when the client offers it, or
    /// nothing for `None`; returns its port and the PEM of its certificate.
    fn tls_server(choice: Option<&'static [u8]>) -> (u16, Vec<u8>) {
        use openssl::asn1::Asn1Time;
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::rsa::Rsa;
        use openssl::ssl::{select_next_proto, AlpnError, SslAcceptor};
        use openssl::x509::extension::SubjectAlternativeName;
        use openssl::x509::X509NameBuilder;

        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "127.0.0.1").unwrap();
        let name = name.build();
        let mut cert = X509::builder().unwrap();
        cert.set_version(2).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        let san = SubjectAlternativeName::new().ip("127.0.0.1").build(&cert.x509v3_context(None, None)).unwrap();
        cert.append_extension(san).unwrap();
        cert.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = cert.build();
        let pem = cert.to_pem().unwrap();
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        acceptor.set_private_key(&key).unwrap();
        acceptor.set_certificate(&cert).unwrap();
        acceptor.set_alpn_select_callback(move |_, offered| match choice {
            Some(wire) => select_next_proto(wire, offered).ok_or(AlpnError::NOACK),
            None => Err(AlpnError::NOACK),
        });
        let acceptor = acceptor.build();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                // Holds the connection open a moment after the handshake, then goes.
                if let Ok(mut tls) = acceptor.accept(stream) {
                    std::thread::sleep(Duration::from_millis(200));
                    let _ = tls.shutdown();
                }
            }
        });
        (port, pem)
    }

    fn target(port: u16, ca_pem: &[u8]) -> Target {
        let path = std::env::temp_dir().join(format!("zarr-h2-ca-{}-{port}.pem", std::process::id()));
        std::fs::write(&path, ca_pem).unwrap();
        let tls = build_tls_connector(Some(&path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        Target { host: "127.0.0.1".into(), port, tls: Some(tls), connect_timeout: Duration::from_secs(5) }
    }

    #[test]
    fn alpn_decides_between_h2_and_the_pool() {
        for (choice, h2) in [(Some(&b"\x02h2"[..]), true), (Some(b"\x08http/1.1"), false), (None, false)] {
            let (port, pem) = tls_server(choice);
            let got = async_io::block_on(connect(&target(port, &pem)));
            match got {
                Ok(_) => assert!(h2, "{choice:?}: h2 although the server did not pick it"),
                Err(H2Error::NotH2) => assert!(!h2, "{choice:?}: the server picked h2"),
                Err(e) => panic!("{choice:?}: {e}"),
            }
        }
    }

    #[test]
    fn an_untrusted_certificate_is_refused() {
        let (port, _) = tls_server(Some(b"\x02h2"));
        let (_, other) = tls_server(Some(b"\x02h2"));
        match async_io::block_on(connect(&target(port, &other))) {
            Err(H2Error::Connect(e)) => assert!(e.to_string().contains("certificate"), "{e}"),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("connected to a server whose certificate is not trusted"),
        }
    }

    #[test]
    fn a_bad_ca_file_is_a_setup_error() {
        let missing = std::env::temp_dir().join("zarr-h2-no-such-ca.pem");
        let e = build_tls_connector(Some(&missing)).unwrap_err();
        assert!(e.to_string().contains("zarr-h2-no-such-ca.pem"), "{e}");
        let junk = std::env::temp_dir().join(format!("zarr-h2-junk-{}.pem", std::process::id()));
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = build_tls_connector(Some(&junk)).unwrap_err();
        std::fs::remove_file(&junk).unwrap();
        assert!(e.to_string().contains("no certificates") || e.to_string().contains("CA file"), "{e}");
    }

    #[test]
    fn requests_queued_behind_a_failed_connect_share_its_failure() {
        // Accepts TCP, never speaks TLS: the first connect times out, and the requests
        // that waited for it fail with it instead of each timing out in turn.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_, pem) = tls_server(None);
        let mut t = target(port, &pem);
        t.connect_timeout = Duration::from_millis(300);
        let client = H2Client::new(t);
        let started = std::time::Instant::now();
        let make = || hyper::Request::new(Full::new(Bytes::new()));
        let futs: Vec<crate::store::BoxFuture<'_, _>> = (0..8).map(|_| Box::pin(client.send(make)) as _).collect();
        for got in async_io::block_on(crate::store::join_all(futs)) {
            assert!(matches!(got, Err(H2Error::Connect(ref e)) if e.kind() == io::ErrorKind::TimedOut), "{got:?}");
        }
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(1500), "8 waiting requests took {elapsed:?}");
        drop(listener);
    }
}
