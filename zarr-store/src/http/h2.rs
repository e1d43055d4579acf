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

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http2::SendRequest;

use super::net::{self, h2_error, ClientError, Connections, HyperRequest, HyperResponse, Target};

/// Times a request may be sent again at once on a fresh connection because the
/// server said it did not process it (GOAWAY, REFUSED_STREAM) or the connection was
/// already closing; after that it is an ordinary transient failure.
const RESEND_LIMIT: u32 = 8;

/// How often a connection with requests in flight is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// How long a ping may go unanswered before the connection is closed.
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Receive window of each stream, in bytes.
const STREAM_WINDOW: u32 = 16 << 20;
/// Receive window of the whole connection, in bytes.
const CONNECTION_WINDOW: u32 = 64 << 20;
/// Largest DATA frame the server may send us.
const MAX_FRAME: u32 = 64 << 10;

/// One h2 connection to a target, made when first needed and again when it closes.
pub(super) struct H2Client {
    target: Target,
    connections: Arc<Connections>,
    conn: async_lock::Mutex<Conn>,
    /// Connection attempts so far, readable without the lock: a request that queued
    /// behind a failed attempt shares its failure instead of waiting out a connect
    /// timeout of its own.
    attempts: AtomicU64,
    /// ALPN said HTTP/1.1: final for this client, and readable without the lock.
    not_h2: AtomicBool,
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
    /// The last failed attempt: its number and error.
    failure: Option<(u64, io::ErrorKind, String)>,
}

impl Drop for H2Client {
    fn drop(&mut self) {
        // The last sender gone, the connection says GOAWAY and ends. A TLS connection
        // must be gone before this returns (see `H1Pool`'s drop); h2c never waits.
        self.conn.get_mut().open = None;
        if self.target.tls.is_some() {
            self.connections.wait_closed(net::CLOSE_WAIT);
        }
    }
}

impl H2Client {
    /// Closes the connection and waits until it is gone, without blocking the thread.
    pub(super) async fn close(&self) {
        self.conn.lock().await.open = None;
        self.connections.closed(net::CLOSE_WAIT).await;
    }

    pub(super) fn new(target: Target) -> H2Client {
        H2Client {
            target,
            connections: Arc::default(),
            conn: async_lock::Mutex::new(Conn::default()),
            attempts: AtomicU64::new(0),
            not_h2: AtomicBool::new(false),
        }
    }

    /// Whether the server's ALPN chose HTTP/1.1: every request belongs in the pool.
    pub(super) fn speaks_only_http1(&self) -> bool {
        self.not_h2.load(Ordering::Acquire)
    }

    /// Sends the request `make` builds (again, if the server did not process it) and
    /// waits for the head of the response; the body streams after.
    pub(super) async fn send<M>(&self, make: M) -> Result<HyperResponse, ClientError>
    where
        M: Fn() -> HyperRequest,
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
            // hyper's "dispatch task is gone" (a user error) means the same: the
            // connection ended before the request got a stream.
            let gone = err.is_user() && sender.is_closed();
            let again = resent < RESEND_LIMIT && (gone || unprocessed(&err));
            if again || sender.is_closed() {
                self.forget(id).await;
            }
            if !again {
                return Err(ClientError::Request(err));
            }
            resent += 1;
        }
    }

    /// The open connection's number and sender, connecting first if there is none.
    async fn sender(&self) -> Result<(u64, SendRequest<Full<Bytes>>), ClientError> {
        let seen = self.attempts.load(Ordering::Acquire);
        let mut conn = self.conn.lock().await;
        if self.speaks_only_http1() {
            return Err(ClientError::NotH2(None));
        }
        if let Some((id, s)) = &conn.open {
            if !s.is_closed() {
                return Ok((*id, s.clone()));
            }
        }
        conn.open = None;
        // An attempt made while this request waited for the lock failed: share its error.
        if let Some((attempt, kind, msg)) = &conn.failure {
            if *attempt > seen {
                return Err(ClientError::Connect(io::Error::new(*kind, msg.clone())));
            }
        }
        let id = self.attempts.fetch_add(1, Ordering::AcqRel) + 1;
        let connected = net::within_connect_timeout(&self.target, connect(&self.target, &self.connections)).await;
        match connected {
            Ok(s) => {
                conn.failure = None;
                conn.open = Some((id, s.clone()));
                Ok((id, s))
            }
            Err(ClientError::NotH2(stream)) => {
                self.not_h2.store(true, Ordering::Release);
                Err(ClientError::NotH2(stream))
            }
            Err(ClientError::Connect(e)) => {
                conn.failure = Some((id, e.kind(), e.to_string()));
                Err(ClientError::Connect(e))
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

/// Opens a connection (TCP, TLS offering h2 and HTTP/1.1) and starts HTTP/2 on it.
async fn connect(target: &Target, connections: &Arc<Connections>) -> Result<SendRequest<Full<Bytes>>, ClientError> {
    let stream = net::open(target, b"\x02h2\x08http/1.1").await?;
    if target.tls.is_some() && !stream.alpn_h2() {
        return Err(ClientError::NotH2(Some(Box::new(stream))));
    }
    // Flow-control windows wide enough that one connection is not what limits a
    // far server: the stream window holds a whole split part (8 MiB by default), the
    // connection's several (hyper's 2 and 5 MiB would cap 100 ms away at ~50 MB/s).
    let (sender, conn) = hyper::client::conn::http2::Builder::new(net::driver_executor())
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME)
        // A connection that went silent (NAT timeout, a host gone without a FIN) is
        // found by a ping and closed, so the next request makes a new one instead of
        // waiting on the dead one until the kernel gives up (~15 min).
        .timer(crate::rt::SmolTimer)
        .keep_alive_interval(PING_INTERVAL)
        .keep_alive_timeout(PING_TIMEOUT)
        .handshake(net::hyper_io(stream))
        .await
        .map_err(|e| ClientError::Connect(io::Error::other(e)))?;
    // The connection's IO runs on the driver thread, whatever executor (if any) the
    // caller polls its requests with; it ends when every sender is gone.
    connections.spawn(conn)?;
    Ok(sender)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use openssl::ssl::SslMethod;
    use openssl::x509::X509;

    use super::super::net::build_tls_connector;
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
            let got = async_io::block_on(connect(&target(port, &pem), &Arc::default()));
            match got {
                Ok(_) => assert!(h2, "{choice:?}: h2 although the server did not pick it"),
                Err(ClientError::NotH2(stream)) => {
                    assert!(!h2, "{choice:?}: the server picked h2");
                    assert!(stream.is_some(), "{choice:?}: the connection is handed on for HTTP/1.1");
                }
                Err(e) => panic!("{choice:?}: {e}"),
            }
        }
    }

    #[test]
    fn an_untrusted_certificate_is_refused() {
        let (port, _) = tls_server(Some(b"\x02h2"));
        let (_, other) = tls_server(Some(b"\x02h2"));
        match async_io::block_on(connect(&target(port, &other), &Arc::default())) {
            Err(ClientError::Certificate(why)) => assert!(why.contains("certificate"), "{why}"),
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
        let futs: Vec<crate::BoxFuture<'_, _>> = (0..8).map(|_| Box::pin(client.send(make)) as _).collect();
        for got in async_io::block_on(crate::join_all(futs)) {
            assert!(matches!(got, Err(ClientError::Connect(ref e)) if e.kind() == io::ErrorKind::TimedOut), "{got:?}");
        }
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(1500), "8 waiting requests took {elapsed:?}");
        drop(listener);
    }
}
