//! HTTP/2 on one connection per store, more while the server's stream limit is what
//! holds requests back: hyper's client over async-io, OpenSSL for TLS.
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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_lite::future::or;
use http_body_util::Full;
use hyper::client::conn::http2::SendRequest;

use super::h2_settings::{Heard, Sniffer, ASSUMED_STREAMS};
use super::net::{self, h2_error, ClientError, Connections, HyperRequest, HyperResponse, Target};
use super::via_hyper::with_stall;

/// Times a request may be sent again at once because the server did not answer it
/// before its connection ended (GOAWAY, REFUSED_STREAM, a close or reset with the
/// request in flight) on a connection that answered nothing at all; after that it is
/// an ordinary failure, counted as an attempt. Bounded so that a server that accepts
/// and closes forever still ends in an error. (Sending again after a connection that
/// did answer others is not counted: see [`H2Client::send`].)
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

/// HTTP/2 connections to a target, made when first needed: one, and more (up to a
/// cap) while the requests in flight fill every open one to the server's
/// `SETTINGS_MAX_CONCURRENT_STREAMS`. Beyond that, requests wait for a stream to end.
///
/// Why more than one: a server's stream limit (100 or 128 for most) caps what one
/// connection has in flight, and a read of a thousand chunks 50 ms away then takes ten
/// round trips instead of three. Browsers and gRPC clients do the same.
pub(super) struct H2Client {
    target: Target,
    /// Most connections open at once (at least 1).
    max_connections: usize,
    connections: Arc<Connections>,
    conn: async_lock::Mutex<Conn>,
    /// Connection attempts so far, readable without the lock: a request that queued
    /// behind a failed attempt shares its failure instead of waiting out a connect
    /// timeout of its own.
    attempts: AtomicU64,
    /// ALPN said HTTP/1.1: final for this client, and readable without the lock.
    not_h2: AtomicBool,
    /// A stream ended somewhere: a request waiting for room looks again.
    freed: (async_channel::Sender<()>, async_channel::Receiver<()>),
}

impl fmt::Debug for H2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H2Client").field("target", &self.target).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Conn {
    /// The open connections.
    open: Vec<Open>,
    /// The last failed attempt: its number and error.
    failure: Option<(u64, io::ErrorKind, String)>,
}

/// One open connection: its number (the attempt that made it), its sender, and its load.
struct Open {
    id: u64,
    sender: SendRequest<Full<Bytes>>,
    streams: Arc<Streams>,
}

/// A connection's streams in flight, how many the server allows and how many it
/// answered, and whether it has ended.
struct Streams {
    active: AtomicUsize,
    heard: Arc<Heard>,
    /// Told when a stream ends, for requests waiting for room (see [`H2Client::sender`]).
    freed: async_channel::Sender<()>,
    /// Closed once the connection's task has ended (see [`H2Client::send`]).
    ended: async_channel::Receiver<()>,
}

impl Streams {
    fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    fn has_room(&self) -> bool {
        // A limit of 0 (no new streams for now) is taken as 1, so that waiting ends.
        self.active() < (self.heard.limit.load(Ordering::Acquire) as usize).max(1)
    }
}

/// A stream counted against its connection until dropped: hold it until the body is read.
pub(super) struct Stream(Arc<Streams>);

impl Stream {
    fn new(streams: &Arc<Streams>) -> Stream {
        streams.active.fetch_add(1, Ordering::AcqRel);
        Stream(Arc::clone(streams))
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        let _ = self.0.freed.try_send(());
    }
}

impl H2Client {
    /// Closes the connections and waits until they are gone, without blocking the thread.
    pub(super) async fn close(&self) {
        self.conn.lock().await.open.clear();
        self.connections.closed(net::CLOSE_WAIT).await;
    }

    /// A client of at most `max_connections` connections (0 is taken as 1).
    pub(super) fn new(target: Target, max_connections: usize) -> H2Client {
        H2Client {
            target,
            max_connections: max_connections.max(1),
            connections: Arc::default(),
            conn: async_lock::Mutex::new(Conn::default()),
            attempts: AtomicU64::new(0),
            not_h2: AtomicBool::new(false),
            freed: async_channel::bounded(1),
        }
    }

    /// Whether the server's ALPN chose HTTP/1.1: every request belongs in the pool.
    /// Requests the client can have in flight: its connection cap times the server's
    /// stream limit (as the newest open connection heard it; [`ASSUMED_STREAMS`] before
    /// one has, or while another request holds the lock).
    pub(super) fn capacity(&self) -> usize {
        let heard =
            self.conn.try_lock().and_then(|c| c.open.last().map(|o| o.streams.heard.limit.load(Ordering::Acquire)));
        let streams = heard.filter(|&n| n > 0).unwrap_or(ASSUMED_STREAMS);
        self.max_connections.saturating_mul(streams as usize)
    }

    pub(super) fn speaks_only_http1(&self) -> bool {
        self.not_h2.load(Ordering::Acquire)
    }

    /// Sends the request `make` builds (again, if the server did not answer it) and
    /// waits for the head of the response; the body streams after, and the [`Stream`]
    /// is to be held until it is read.
    ///
    /// A request the server surely did not process (GOAWAY before its stream,
    /// REFUSED_STREAM, or never sent) goes again at once on a live connection; so does
    /// an `idempotent` one whose connection ended before any byte of its answer (a close
    /// or reset with streams in flight): for a GET, sending again is what a retry would
    /// do, without the wait and without using up an attempt.
    ///
    /// `stall` bounds the wait for the head on each connection tried, not in all: a
    /// request sent again after its connection ended waits afresh.
    ///
    /// Once the connection's task has ended, the request lets go of its handle of the
    /// connection (and takes it off the open ones): hyper hands a request to the
    /// connection's task through a channel, and one sent just as the task ends and
    /// drops its end of it can be left in the channel, neither taken nor failed
    /// (tokio's unbounded channel drains on the receiver's drop only what it sees
    /// then), until every handle is gone and hyper fails it as not sent. Held, the
    /// handles kept such a request waiting for its no-data timeout on a connection
    /// closed long before, about once in ten reads of `http_conn_faults`'
    /// close-after-every-answer test (the request always the last one handed to the
    /// connection, sent as its task ended; gone at once when the handles were dropped).
    pub(super) async fn send<M>(
        &self,
        idempotent: bool,
        stall: Option<Duration>,
        make: M,
    ) -> Result<(HyperResponse, Stream), ClientError>
    where
        M: Fn() -> HyperRequest,
    {
        let mut resent = 0;
        loop {
            let (id, mut sender, stream) = self.sender().await?;
            let ended = stream.0.ended.clone();
            let response = sender.send_request(make());
            let mut sender = Some(sender);
            let got = with_stall(stall, async {
                let mut response = std::pin::pin!(response);
                let first = or(async { Some(response.as_mut().await) }, async {
                    let _ = ended.recv().await;
                    None
                });
                match first.await {
                    Some(got) => got,
                    None => {
                        // The connection's task is gone: let go of it (see above), and
                        // wait for what became of the request (which may be known
                        // before the lock to forget the connection is had).
                        sender = None;
                        or(response, async {
                            self.forget(id).await;
                            futures_lite::future::pending().await
                        })
                        .await
                    }
                }
            })
            .await;
            let err = match got {
                None => return Err(ClientError::Stalled),
                Some(Ok(resp)) => return Ok((resp, stream)),
                Some(Err(e)) => e,
            };
            let streams = Arc::clone(&stream.0);
            drop(stream);
            let closed = sender.as_ref().is_none_or(SendRequest::is_closed);
            drop(sender);
            // hyper's "dispatch task is gone" (a user error) means the connection ended
            // before the request got a stream.
            let gone = err.is_user() && closed;
            let died = gone || closed || connection_ended(&err);
            if died {
                self.forget(id).await;
            }
            // A connection that answered other requests before it ended shows a server
            // at work (closing after every N answers, as nginx's `keepalive_requests`
            // does): sending again there is free. One that answered nothing counts, so
            // that a server that accepts and closes forever ends in an error. Answers
            // are counted off the wire, where they come before the end: counted when
            // their callers took them, an answer not yet polled when this request
            // failed made a busy server look dead.
            let free = streams.heard.heads.load(Ordering::Acquire) > 0;
            let resend = gone || unprocessed(&err) || (idempotent && died);
            if !resend || (!free && resent >= RESEND_LIMIT) {
                return Err(ClientError::Request(err));
            }
            if !free {
                resent += 1;
            }
        }
    }

    /// A connection with room for one more stream, connecting first if every open one
    /// is full and the cap allows; at the cap, waits until a stream ends.
    ///
    /// Why wait here rather than hand the request to hyper, which would queue it on the
    /// connection: a request queued in h2 beyond the server's stream limit is not failed
    /// when that connection ends (seen as a request that waits for its no-data timeout
    /// after the server closed the connection), while one waiting here goes to a live one.
    async fn sender(&self) -> Result<(u64, SendRequest<Full<Bytes>>, Stream), ClientError> {
        loop {
            let seen = self.attempts.load(Ordering::Acquire);
            let mut conn = self.conn.lock().await;
            if self.speaks_only_http1() {
                return Err(ClientError::NotH2(None));
            }
            conn.open.retain(|o| !o.sender.is_closed());
            let roomy = conn.open.iter().filter(|o| o.streams.has_room()).min_by_key(|o| o.streams.active());
            if let Some(o) = roomy {
                let stream = Stream::new(&o.streams);
                if o.streams.has_room() {
                    // Room left: the next waiter may look too.
                    let _ = self.freed.0.try_send(());
                }
                return Ok((o.id, o.sender.clone(), stream));
            }
            if conn.open.len() < self.max_connections {
                return self.open_another(conn, seen).await;
            }
            drop(conn);
            let _ = self.freed.1.recv().await;
        }
    }

    /// Connects one more connection (the lock held, so requests started together wait
    /// for it rather than each opening one) and takes a stream on it.
    async fn open_another(
        &self,
        mut conn: async_lock::MutexGuard<'_, Conn>,
        seen: u64,
    ) -> Result<(u64, SendRequest<Full<Bytes>>, Stream), ClientError> {
        // An attempt made while this request waited for the lock failed: share its error.
        if let Some((attempt, kind, msg)) = &conn.failure {
            if *attempt > seen {
                return Err(ClientError::Connect(io::Error::new(*kind, msg.clone())));
            }
        }
        let id = self.attempts.fetch_add(1, Ordering::AcqRel) + 1;
        // Until its own SETTINGS arrive, a new connection to the same server is taken to
        // allow what the last one did.
        let known = conn.open.last().map_or(ASSUMED_STREAMS, |o| o.streams.heard.limit.load(Ordering::Acquire));
        let heard = Arc::new(Heard::new(known));
        let connected =
            net::within_connect_timeout(&self.target, connect(&self.target, &self.connections, &heard)).await;
        match connected {
            Ok((sender, ended)) => {
                conn.failure = None;
                let streams =
                    Arc::new(Streams { active: AtomicUsize::new(0), heard, freed: self.freed.0.clone(), ended });
                let stream = Stream::new(&streams);
                conn.open.push(Open { id, sender: sender.clone(), streams });
                Ok((id, sender, stream))
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

    /// Drops connection `id` from the open ones, so that no request picks it again.
    async fn forget(&self, id: u64) {
        self.conn.lock().await.open.retain(|o| o.id != id);
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

/// Whether the whole connection ended (closed, reset, GOAWAY with an error), rather
/// than the server resetting this one stream.
fn connection_ended(e: &hyper::Error) -> bool {
    if e.is_closed() || e.is_canceled() {
        return true;
    }
    match h2_error(e) {
        Some(h2) => h2.is_io() || h2.is_go_away(),
        // hyper's own IO errors (a broken pipe, a reset) carry no h2 error.
        None => net::cause::<io::Error>(e).is_some(),
    }
}

/// Opens a connection (TCP, TLS offering h2 and HTTP/1.1) and starts HTTP/2 on it;
/// returns its sender and a channel closed once its task has ended.
async fn connect(
    target: &Target,
    connections: &Arc<Connections>,
    heard: &Arc<Heard>,
) -> Result<(SendRequest<Full<Bytes>>, async_channel::Receiver<()>), ClientError> {
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
        .handshake(crate::rt::HyperIo::new(Sniffer::new(net::boxed(stream), Arc::clone(heard))))
        .await
        .map_err(|e| ClientError::Connect(io::Error::other(e)))?;
    // The connection's IO runs on the driver thread, whatever executor (if any) the
    // caller polls its requests with; it ends when every sender is gone.
    let (alive, ended) = async_channel::bounded::<()>(1);
    connections.spawn(async move {
        let _ = conn.await;
        drop(alive);
    })?;
    Ok((sender, ended))
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
            let got = async_io::block_on(connect(&target(port, &pem), &Arc::default(), &Arc::default()));
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
        match async_io::block_on(connect(&target(port, &other), &Arc::default(), &Arc::default())) {
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
        let client = H2Client::new(t, 1);
        let started = std::time::Instant::now();
        let make = || hyper::Request::new(Full::new(Bytes::new()));
        let futs: Vec<crate::BoxFuture<'_, _>> =
            (0..8).map(|_| Box::pin(async { client.send(true, None, make).await.map(|(r, _)| r) }) as _).collect();
        for got in async_io::block_on(crate::join_all(futs)) {
            assert!(matches!(got, Err(ClientError::Connect(ref e)) if e.kind() == io::ErrorKind::TimedOut), "{got:?}");
        }
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(1500), "8 waiting requests took {elapsed:?}");
        drop(listener);
    }
}
