//! A store read over HTTP(S) with isahc (libcurl).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_io::Timer;
use bytes::Bytes;
use futures_lite::AsyncReadExt;
use isahc::config::{CaCertificate, Configurable, RedirectPolicy, VersionNegotiation};
use isahc::error::ErrorKind;
use isahc::http::{Method, Request, Response};
use isahc::{AsyncBody, HttpClient};
use zarr_proto::http::{
    check_body, classify_status, join_url, parse_retry_after, BodyError, ByteRange, ContentRange, Outcome,
};
use zarr_proto::http::{RetryPolicy, StatusPolicy};

use super::{BoxFuture, ListDir, Store, StoreError, StoreResult};

mod alpn;

/// Which HTTP versions the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/2 when TLS ALPN offers it, HTTP/1.1 otherwise (plain `http://` is HTTP/1.1).
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 with prior knowledge: h2c over plain TCP (no upgrade dance), h2 over TLS.
    /// Every request to one host shares one multiplexed connection.
    Http2PriorKnowledge,
}

/// Settings of an [`HttpStore`].
///
/// Build one with `HttpConfig::default()` and the chained setters.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// HTTP version negotiation.
    pub version: HttpVersion,
    /// Most connections open at once, to all hosts (0: no limit). HTTP/1.1 sends
    /// one request at a time per connection, so this bounds HTTP/1.1 parallelism.
    pub max_connections: usize,
    /// Most connections open at once to one host (0: no limit; with
    /// [`HttpVersion::Http2PriorKnowledge`], 0 means 1, so that requests started
    /// together wait for the one multiplexed connection instead of each opening
    /// their own).
    pub max_connections_per_host: usize,
    /// Idle connections kept alive for reuse (0: curl's default).
    pub connection_cache_size: usize,
    /// Time allowed to connect (TCP + TLS).
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt, body included (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Abort an attempt whose transfer rate stays below `.0` bytes/s for `.1`.
    pub low_speed_timeout: Option<(u32, Duration)>,
    /// Headers sent with every request (e.g. `Authorization`).
    pub headers: Vec<(String, String)>,
    /// A PEM file of CA certificates to trust instead of the system's. When
    /// unset, `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured, then the system store.
    pub ca_file: Option<PathBuf>,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// How status codes map to outcomes (e.g. 403 as missing).
    pub status: StatusPolicy,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
    /// Values larger than this are fetched as parallel range requests of this size
    /// (0: always one request).
    pub split_size: u64,
    /// Most requests this store has in flight at once, bodies included (0: no limit).
    /// Every read through the store and every part of a split value shares it, so
    /// request budgets never multiply when a read's requests fan out into ranges.
    pub max_requests_in_flight: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            version: HttpVersion::Auto,
            max_connections: 128,
            max_connections_per_host: 0,
            connection_cache_size: 128,
            connect_timeout: Duration::from_secs(10),
            timeout: None,
            low_speed_timeout: Some((1, Duration::from_secs(30))),
            headers: Vec::new(),
            ca_file: None,
            retry: RetryPolicy::default(),
            status: StatusPolicy::default(),
            max_response_bytes: 2 << 30,
            split_size: 8 << 20,
            max_requests_in_flight: 128,
        }
    }
}

impl HttpConfig {
    /// Sets [`version`](Self::version).
    pub fn version(mut self, version: HttpVersion) -> Self {
        self.version = version;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets [`max_connections_per_host`](Self::max_connections_per_host).
    pub fn max_connections_per_host(mut self, n: usize) -> Self {
        self.max_connections_per_host = n;
        self
    }

    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Adds a header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets [`ca_file`](Self::ca_file).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Sets [`retry`](Self::retry).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets [`max_requests_in_flight`](Self::max_requests_in_flight).
    pub fn max_requests_in_flight(mut self, n: usize) -> Self {
        self.max_requests_in_flight = n;
        self
    }

    /// Sets [`split_size`](Self::split_size).
    pub fn split_size(mut self, bytes: u64) -> Self {
        self.split_size = bytes;
        self
    }

    /// Sets [`status`](Self::status).
    pub fn status(mut self, status: StatusPolicy) -> Self {
        self.status = status;
        self
    }
}

/// A read-mostly store at a base URL: `get(key)` is `GET {base}/{key}`.
///
/// One [`HttpClient`] (one libcurl multi handle and its connection pool) is
/// shared by every clone of the store, so connections are kept alive and, with
/// HTTP/2, multiplexed. Requests are driven by isahc's own agent thread; the
/// futures need no particular executor.
///
/// - 200/206 give the value, checked against `Content-Length` and
///   `Content-Range` (a short body is an error, never silent data);
///   404 (and 403 when configured) give `None`.
/// - 5xx, 408, 429, connection failures, resets, timeouts and short bodies are
///   retried per [`RetryPolicy`], sleeping with [`async_io::Timer`] and honouring
///   `Retry-After`.
/// - Over `https://` with [`HttpVersion::Auto`], the first request goes out alone on
///   a one-connection client while a handshake-only probe learns the server's ALPN
///   choice; then every request shares that connection (h2) or uses the keep-alive
///   pool (HTTP/1.1), so a read over h2 uses one connection without waiting a round
///   trip first.
/// - At most [`HttpConfig::max_requests_in_flight`] requests are out at once, the
///   ranges of split values included.
/// - `set`/`delete` send `PUT`/`DELETE`; listing is not supported.
#[derive(Debug, Clone)]
pub struct HttpStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: String,
    client: HttpClient,
    config: HttpConfig,
    /// A client allowed one connection per host: the first request over TLS goes to
    /// it, and every request after it if ALPN chose h2.
    single: Option<HttpClient>,
    /// Which client requests use: [`UNKNOWN`] until the ALPN probe or the first TLS
    /// answer tells, then [`SINGLE`] or [`POOLED`].
    protocol: AtomicU8,
    /// Set while one request (the pioneer) is out on a TLS store of unknown protocol.
    pioneering: AtomicBool,
    /// Notified when the protocol is settled or the pioneer is done, so that the
    /// requests waiting in [`Inner::send`] go on.
    settled: event_listener::Event,
    /// Permits for [`HttpConfig::max_requests_in_flight`].
    in_flight: Option<async_lock::Semaphore>,
}

/// The protocol of a TLS store is not known yet.
const UNKNOWN: u8 = 0;
/// HTTP/2: every request on the single connection.
const SINGLE: u8 = 1;
/// HTTP/1.1 (or cleartext, or configured): the keep-alive pool.
const POOLED: u8 = 2;

/// The request out first on a TLS store of unknown protocol. When it is done (or
/// dropped) without settling the protocol, the waiting requests wake and one of them
/// goes out next.
struct Pioneer<'a>(&'a Inner);

impl Drop for Pioneer<'_> {
    fn drop(&mut self) {
        self.0.pioneering.store(false, Ordering::Release);
        self.0.settled.notify(usize::MAX);
    }
}

/// A response body, and the value's total length when a 206 told it.
struct Part {
    body: Bytes,
    total: Option<u64>,
}

/// One failed attempt: retry it or give up.
enum Failure {
    Transient(StoreError, Option<u64>),
    Fatal(StoreError),
}

impl HttpStore {
    /// A store at `base_url` with the default [`HttpConfig`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Transport`] when the HTTP client cannot be created.
    pub fn new(base_url: &str) -> StoreResult<HttpStore> {
        HttpStore::with_config(base_url, HttpConfig::default())
    }

    /// A store at `base_url` with `config`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Transport`] when the HTTP client cannot be created, or
    /// [`StoreError::InvalidKey`] for a header that is not valid HTTP.
    pub fn with_config(base_url: &str, config: HttpConfig) -> StoreResult<HttpStore> {
        let per_host = match (config.version, config.max_connections_per_host) {
            (HttpVersion::Http2PriorKnowledge, 0) => 1,
            (_, n) => n,
        };
        let client = build_client(base_url, &config, per_host)?;
        // Over TLS the protocol is only known once ALPN has run: until then one request
        // goes out on a one-connection client (which stays in use if the server speaks
        // h2) and the others wait (see `Inner::send`).
        let tls = base_url.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        let negotiated = config.version == HttpVersion::Auto && tls;
        let single = if negotiated { Some(build_client(base_url, &config, 1)?) } else { None };
        let inner = Inner {
            base: base_url.to_owned(),
            client,
            single,
            protocol: AtomicU8::new(if negotiated { UNKNOWN } else { POOLED }),
            pioneering: AtomicBool::new(false),
            settled: event_listener::Event::new(),
            in_flight: (config.max_requests_in_flight > 0)
                .then(|| async_lock::Semaphore::new(config.max_requests_in_flight)),
            config,
        };
        let inner = Arc::new(inner);
        if negotiated {
            start_alpn_probe(&inner);
        }
        Ok(HttpStore { inner })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The URL of `key`.
    pub fn url_of(&self, key: &str) -> String {
        join_url(&self.inner.base, key)
    }
}

impl Inner {
    /// Waits for a place among the requests in flight; held until the body is read.
    async fn permit(&self) -> Option<async_lock::SemaphoreGuard<'_>> {
        match &self.in_flight {
            Some(s) => Some(s.acquire().await),
            None => None,
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry policy gives up.
    async fn with_retries<T, F, Fut>(&self, key: &str, mut attempt: F) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let mut n = 0u32;
        loop {
            n += 1;
            let (err, retry_after) = match attempt().await {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(e, ra)) => (e, ra),
            };
            match self.config.retry.delay(n, retry_after, fastrand::u64(..)) {
                Some(d) => {
                    Timer::after(d).await;
                }
                None if n == 1 => return Err(err),
                None => return Err(StoreError::RetriesExhausted { key: key.into(), attempts: n, last: Box::new(err) }),
            }
        }
    }

    /// Sends the request `make` builds, on the client the protocol calls for.
    ///
    /// libcurl multiplexes only onto a connection it knows speaks HTTP/2, and isahc
    /// cannot ask it to wait for a handshake in progress (`CURLOPT_PIPEWAIT`), so
    /// requests started together on a fresh TLS store would each open a connection.
    /// Instead, while the protocol is unknown, one request (the pioneer) goes out on
    /// the client allowed one connection per host and the others wait until the ALPN
    /// probe (see [`alpn`]) or the pioneer's answer tells the protocol: then they
    /// share the pioneer's connection (h2) or use the keep-alive pool (HTTP/1.1, as
    /// S3 speaks). Without a probe answer that costs one round trip, once per store.
    async fn send<M>(&self, key: &str, url: &str, make: M) -> Result<Response<AsyncBody>, Failure>
    where
        M: Fn() -> Result<Request<AsyncBody>, Failure>,
    {
        let resp = loop {
            let mut protocol = self.protocol.load(Ordering::Acquire);
            let mut waiting = None;
            if protocol == UNKNOWN {
                // Listen before looking again, so a notification cannot be missed.
                waiting = Some(self.settled.listen());
                protocol = self.protocol.load(Ordering::Acquire);
            }
            match (protocol, &self.single) {
                (UNKNOWN, Some(single)) => {
                    if self.pioneering.swap(true, Ordering::AcqRel) {
                        if let Some(listener) = waiting {
                            listener.await;
                        }
                        continue;
                    }
                    let _pioneer = Pioneer(self);
                    let resp = single.send_async(make()?).await;
                    match &resp {
                        Ok(r) => self.learn(r),
                        // No answer at all (refused, silent, reset): waiting for one more
                        // would make the others fail one connect timeout after another,
                        // so they all go to the pool, where each fails or succeeds alone.
                        Err(_) => self.settle(POOLED),
                    }
                    break resp;
                }
                (SINGLE, Some(single)) => {
                    let resp = single.send_async(make()?).await;
                    if let Ok(r) = &resp {
                        self.learn(r);
                    }
                    break resp;
                }
                _ => break self.client.send_async(make()?).await,
            }
        };
        resp.map_err(|source| {
            let transient = matches!(
                source.kind(),
                ErrorKind::ConnectionFailed
                    | ErrorKind::Io
                    | ErrorKind::NameResolution
                    | ErrorKind::ProtocolViolation
                    | ErrorKind::Timeout
                    | ErrorKind::Unknown
            );
            let e = StoreError::Transport { key: key.into(), url: url.into(), source };
            if transient {
                Failure::Transient(e, None)
            } else {
                Failure::Fatal(e)
            }
        })
    }

    /// Sets the protocol of a TLS store, unless it is already known.
    fn settle(&self, protocol: u8) {
        if self.protocol.compare_exchange(UNKNOWN, protocol, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.settled.notify(usize::MAX);
        }
    }

    /// Learns from an answer on the single connection. HTTP/1.1 there overrides even a
    /// probe that said h2 (a redirect to another host, or another address of the same
    /// name): one HTTP/1.1 connection would serialise every request.
    fn learn(&self, resp: &Response<AsyncBody>) {
        if resp.version() == isahc::http::Version::HTTP_2 {
            self.settle(SINGLE);
        } else if self.protocol.swap(POOLED, Ordering::AcqRel) != POOLED {
            self.settled.notify(usize::MAX);
        }
    }

    fn status_failure(&self, key: &str, url: &str, resp: &Response<AsyncBody>) -> Failure {
        let status = resp.status().as_u16();
        let e = StoreError::Status { key: key.into(), url: url.into(), status };
        if classify_status(status, self.config.status) == Outcome::Retry {
            let ra = header_str(resp, "retry-after").and_then(parse_retry_after);
            Failure::Transient(e, ra)
        } else {
            Failure::Fatal(e)
        }
    }

    async fn get_once(&self, key: &str, url: &str, range: Option<ByteRange>) -> Result<Option<Bytes>, Failure> {
        Ok(self.get_part(key, url, range, false).await?.map(|p| p.body))
    }

    /// One GET. With `probe`, a 200 answer (a server that ignores `Range`) is the whole
    /// value and is returned unsliced, and a 206 answer reports the value's total length.
    async fn get_part(
        &self,
        key: &str,
        url: &str,
        range: Option<ByteRange>,
        probe: bool,
    ) -> Result<Option<Part>, Failure> {
        let _permit = self.permit().await;
        let empty = range.is_some_and(|r| r.is_empty());
        let make = || {
            let mut req = Request::builder().method(if empty { Method::HEAD } else { Method::GET }).uri(url);
            if let Some(h) = range.and_then(|r| r.header_value()) {
                req = req.header("range", h);
            }
            req.body(AsyncBody::empty()).map_err(|_| invalid_url(key))
        };
        let mut resp = self.send(key, url, make).await?;
        let status = resp.status().as_u16();
        match classify_status(status, self.config.status) {
            Outcome::Bytes => {}
            Outcome::Missing => return Ok(None),
            Outcome::Retry | Outcome::Fail => return Err(self.status_failure(key, url, &resp)),
        }
        if empty {
            return Ok(Some(Part { body: Bytes::new(), total: None }));
        }
        let content_length = header_str(&resp, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let max = self.config.max_response_bytes;
        if content_length.is_some_and(|n| n > max) {
            return Err(Failure::Fatal(StoreError::TooLarge { key: key.into(), limit: max }));
        }
        // Bounded by max (checked above) or grown as the body arrives.
        let mut buf = Vec::with_capacity(content_length.map_or(0, |n| n as usize));
        let read = resp.body_mut().take(max.saturating_add(1)).read_to_end(&mut buf).await;
        if let Err(e) = read {
            // A reset or timeout mid-body (curl reports a short transfer here too).
            return Err(Failure::Transient(StoreError::io(key, e), None));
        }
        if buf.len() as u64 > max {
            return Err(Failure::Fatal(StoreError::TooLarge { key: key.into(), limit: max }));
        }
        let content_range = header_str(&resp, "content-range");
        let total = content_range.and_then(ContentRange::parse).and_then(|cr| cr.total);
        let checked = if probe && status == 200 { None } else { range };
        match check_body(status, checked, content_length, content_range, buf.len() as u64) {
            // The span lies within buf (check_body resolved it against buf.len()).
            Ok(span) => Ok(Some(Part {
                body: Bytes::from(buf).slice(span.start as usize..span.end as usize),
                total: if status == 206 { total } else { None },
            })),
            Err(reason) => Err(Failure::Transient(StoreError::Body { key: key.into(), url: url.into(), reason }, None)),
        }
    }

    /// A whole value; one larger than `split_size` arrives as parallel range requests.
    ///
    /// The first request asks for the first `split_size` bytes; its `Content-Range`
    /// tells the total, and the rest is fetched in parts of `split_size`, all at once.
    /// Small values cost one request, as before; a server that ignores `Range`
    /// answers the first request with the whole value.
    async fn get_whole(&self, key: &str, url: &str) -> StoreResult<Option<Bytes>> {
        let part = self.config.split_size;
        if part == 0 {
            return self.with_retries(key, || self.get_once(key, url, None)).await;
        }
        let first = self.with_retries(key, || self.get_part(key, url, Some(ByteRange::new(0, part)), true)).await;
        let first = match first {
            Ok(None) => return Ok(None),
            Ok(Some(p)) => p,
            // An empty value cannot satisfy a range: ask for it whole.
            Err(StoreError::Status { status: 416, .. }) => {
                return self.with_retries(key, || self.get_once(key, url, None)).await;
            }
            Err(e) => return Err(e),
        };
        let total = match first.total {
            Some(total) if total > first.body.len() as u64 => total,
            _ => return Ok(Some(first.body)),
        };
        if total > self.config.max_response_bytes {
            return Err(StoreError::TooLarge { key: key.into(), limit: self.config.max_response_bytes });
        }
        let rest: Vec<_> = (1..total.div_ceil(part))
            .map(|i| {
                let range = ByteRange::new(i * part, part.min(total - i * part));
                Box::pin(async move {
                    let got = self.with_retries(key, || self.get_once(key, url, Some(range))).await?;
                    got.ok_or_else(|| StoreError::Body {
                        key: key.into(),
                        url: url.into(),
                        reason: BodyError::RangeNotSatisfiable { requested: range, total },
                    })
                }) as BoxFuture<'_, StoreResult<Bytes>>
            })
            .collect();
        let mut whole = Vec::with_capacity(total as usize);
        whole.extend_from_slice(&first.body);
        for body in super::join_all(rest).await {
            whole.extend_from_slice(&body?);
        }
        if whole.len() as u64 != total {
            let reason = BodyError::LengthMismatch { expected: total, got: whole.len() as u64 };
            return Err(StoreError::Body { key: key.into(), url: url.into(), reason });
        }
        Ok(Some(Bytes::from(whole)))
    }

    async fn write_once(&self, key: &str, url: &str, method: Method, body: Option<Bytes>) -> Result<(), Failure> {
        let _permit = self.permit().await;
        let make = || {
            let body = match &body {
                Some(b) => AsyncBody::from(b.to_vec()),
                None => AsyncBody::empty(),
            };
            Request::builder().method(method.clone()).uri(url).body(body).map_err(|_| invalid_url(key))
        };
        let resp = self.send(key, url, make).await?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            404 if method == Method::DELETE => Ok(()),
            _ => Err(self.status_failure(key, url, &resp)),
        }
    }
}

/// Starts learning the protocol of a TLS store from a handshake-only connection
/// (see [`alpn`]), so the requests waiting behind the pioneer go on as soon as a
/// handshake has told the protocol instead of after the pioneer's answer.
fn start_alpn_probe(inner: &Arc<Inner>) {
    let Some((host, port)) = alpn::https_authority(&inner.base) else { return };
    if alpn::proxy_configured() {
        return;
    }
    let store = Arc::downgrade(inner);
    let timeout = inner.config.connect_timeout;
    blocking::unblock(move || {
        let found = alpn::probe(&host, port, timeout);
        if let (Ok(alpn), Some(inner)) = (found, store.upgrade()) {
            inner.settle(if alpn == alpn::Alpn::H2 { SINGLE } else { POOLED });
        }
    })
    .detach();
}

/// The isahc client for `config`, with at most `per_host` connections to one host (0: no limit).
fn build_client(base_url: &str, config: &HttpConfig, per_host: usize) -> StoreResult<HttpClient> {
    let client_err = |source| StoreError::Transport { key: String::new(), url: base_url.into(), source };
    let mut b = HttpClient::builder()
        .max_connections(config.max_connections)
        .max_connections_per_host(per_host)
        .connection_cache_size(config.connection_cache_size)
        .connect_timeout(config.connect_timeout)
        .automatic_decompression(false)
        .redirect_policy(RedirectPolicy::Limit(5))
        .version_negotiation(match config.version {
            HttpVersion::Auto => VersionNegotiation::latest_compatible(),
            HttpVersion::Http1 => VersionNegotiation::http11(),
            HttpVersion::Http2PriorKnowledge => VersionNegotiation::http2(),
        });
    if let Some(t) = config.timeout {
        b = b.timeout(t);
    }
    if let Some((speed, t)) = config.low_speed_timeout {
        b = b.low_speed_timeout(speed, t);
    }
    let ca = config.ca_file.clone().or_else(|| std::env::var_os("SSL_CERT_FILE").map(PathBuf::from));
    if let Some(ca) = ca {
        b = b.ssl_ca_certificate(CaCertificate::file(ca));
    }
    for (name, value) in &config.headers {
        let valid = isahc::http::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && isahc::http::HeaderValue::from_str(value).is_ok();
        if !valid {
            return Err(StoreError::InvalidKey { key: name.clone(), reason: "invalid http header" });
        }
        b = b.default_header(name.as_str(), value.as_str());
    }
    b.build().map_err(client_err)
}

fn invalid_url(key: &str) -> Failure {
    Failure::Fatal(StoreError::InvalidKey { key: key.into(), reason: "not valid in a URL" })
}

fn header_str<'a>(resp: &'a Response<AsyncBody>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

impl Store for HttpStore {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        let inner = Arc::clone(&self.inner);
        let key = key.to_owned();
        Box::pin(async move {
            let url = join_url(&inner.base, &key);
            match range {
                None => inner.get_whole(&key, &url).await,
                Some(_) => inner.with_retries(&key, || inner.get_once(&key, &url, range)).await,
            }
        })
    }

    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        let inner = Arc::clone(&self.inner);
        let key = key.to_owned();
        Box::pin(async move {
            let url = join_url(&inner.base, &key);
            inner.with_retries(&key, || inner.write_once(&key, &url, Method::PUT, Some(value.clone()))).await
        })
    }

    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        let inner = Arc::clone(&self.inner);
        let key = key.to_owned();
        Box::pin(async move {
            let url = join_url(&inner.base, &key);
            inner.with_retries(&key, || inner.write_once(&key, &url, Method::DELETE, None)).await
        })
    }

    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        let e = StoreError::unsupported(prefix, "list", "HttpStore");
        Box::pin(async move { Err(e) })
    }

    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        let e = StoreError::unsupported(prefix, "list_dir", "HttpStore");
        Box::pin(async move { Err(e) })
    }
}
