//! A store read over HTTP(S) with isahc (libcurl).

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_io::Timer;
use bytes::Bytes;
use futures_lite::future::or;
use futures_lite::AsyncReadExt;
use http_body_util::{BodyExt, Full};
use isahc::config::{CaCertificate, Configurable, RedirectPolicy, VersionNegotiation};
use isahc::error::ErrorKind;
use isahc::http::Request;
use isahc::{AsyncBody, HttpClient};
use zarr_proto::http::{
    check_body, classify_status, join_url, parse_retry_after, BodyError, ByteRange, ContentRange, Outcome,
};
use zarr_proto::http::{RetryPolicy, StatusPolicy};

use self::h1::H1Pool;
use self::h2::H2Client;
use self::net::ClientError;
use super::{BoxFuture, ListDir, Store, StoreError, StoreResult};

mod h1;
mod h2;
mod net;

/// Which HTTP versions the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/2 when TLS ALPN offers it, HTTP/1.1 otherwise (plain `http://` is HTTP/1.1).
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 with prior knowledge: h2c over plain TCP (no upgrade dance); over TLS
    /// the same as `Auto`. Every request shares one multiplexed connection.
    Http2PriorKnowledge,
}

/// Settings of an [`HttpStore`].
///
/// Build one with `HttpConfig::default()` and the chained setters.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// HTTP version negotiation.
    pub version: HttpVersion,
    /// Most HTTP/1.1 pool connections open at once, to all hosts (0: no limit).
    /// HTTP/1.1 sends one request at a time per connection, so this bounds its
    /// parallelism.
    pub max_connections: usize,
    /// Most libcurl connections open at once to one host (0: no limit). (HTTP/2
    /// always uses one connection; through a proxy, where libcurl speaks h2c, 0 means
    /// 1 so that requests started together wait for it instead of each opening one.)
    pub max_connections_per_host: usize,
    /// Idle libcurl connections kept alive for reuse (0: curl's default); the TLS
    /// pool keeps every connection until the server closes it.
    pub connection_cache_size: usize,
    /// Time allowed to connect (TCP + TLS).
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt, body included (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Abort an attempt whose transfer rate stays below `.0` bytes/s for `.1`
    /// (libcurl); over HTTP/2 and TLS HTTP/1.1, one that receives nothing for `.1`
    /// (an upload gets `.1` per MiB of its body before the answer is due).
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
/// Three transports share the work, chosen per store:
///
/// - HTTP/2 on one connection, for `https://` servers whose TLS ALPN picks h2 and
///   for `http://` with [`HttpVersion::Http2PriorKnowledge`] (h2c): hyper's h2
///   client over async-io, its connection driven by one background thread, so
///   requests started together share the connection from the first one on (see
///   `h2.rs` for why this is not libcurl).
/// - HTTP/1.1 over TLS (S3, [`HttpVersion::Http1`], servers whose ALPN picks
///   HTTP/1.1): a hyper keep-alive pool of [`HttpConfig::max_connections`] (see
///   `h1.rs` for why this is not libcurl either).
/// - Plain `http://` HTTP/1.1, a configured proxy, and redirects: one isahc
///   (libcurl) client with a keep-alive pool, whose agent thread drives the requests.
///
/// The futures need no particular executor. For all three:
///
/// - 200/206 give the value, checked against `Content-Length` and
///   `Content-Range` (a short body is an error, never silent data);
///   404 (and 403 when configured) give `None`.
/// - 5xx, 408, 429, connection failures, resets, timeouts and short bodies are
///   retried per [`RetryPolicy`], sleeping with [`async_io::Timer`] and honouring
///   `Retry-After`; requests an h2 server refused or dropped unprocessed (GOAWAY,
///   REFUSED_STREAM) go again at once on a new connection.
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
    config: HttpConfig,
    /// The libcurl client for plain `http://` (a keep-alive pool), proxies and
    /// redirects; made on first use (it starts isahc's agent thread), so an
    /// `https://` store that never needs it does not pay for it.
    curl: OnceLock<HttpClient>,
    /// The one-connection HTTP/2 client, when the store may speak h2 itself.
    h2: Option<H2Client>,
    /// The TLS HTTP/1.1 pool, for `https://` servers that do not speak h2.
    h1: Option<H1Pool>,
    /// Set when the h2 client learnt (by ALPN) that the server speaks only HTTP/1.1.
    not_h2: AtomicBool,
    /// Permits for [`HttpConfig::max_requests_in_flight`].
    in_flight: Option<async_lock::Semaphore>,
}

/// A request, independent of the transport that sends it.
#[derive(Clone, Copy)]
enum Method<'a> {
    Get(Option<ByteRange>),
    Head,
    Put(&'a Bytes),
    Delete,
}

/// A response: the status, the headers we act on, and the body when it was wanted.
struct Answer {
    status: u16,
    content_length: Option<u64>,
    content_range: Option<String>,
    retry_after: Option<u64>,
    body: Vec<u8>,
}

impl Answer {
    /// An answer without its body yet, from the status and a header lookup (libcurl's
    /// and hyper's header maps are of two versions of the `http` crate).
    fn head(status: u16, header: impl Fn(&str) -> Option<String>) -> Answer {
        Answer {
            status,
            content_length: header("content-length").and_then(|v| v.trim().parse().ok()),
            content_range: header("content-range"),
            retry_after: header("retry-after").as_deref().and_then(parse_retry_after),
            body: Vec::new(),
        }
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
    /// [`StoreError::Transport`] when the HTTP client cannot be created (e.g. an
    /// unreadable CA file), or [`StoreError::InvalidKey`] for a header that is not
    /// valid HTTP.
    pub fn with_config(base_url: &str, config: HttpConfig) -> StoreResult<HttpStore> {
        check_headers(&config)?;
        let (h2, h1) = build_hyper(base_url, &config)?;
        let inner = Inner {
            base: base_url.to_owned(),
            curl: OnceLock::new(),
            h2,
            h1,
            not_h2: AtomicBool::new(false),
            in_flight: (config.max_requests_in_flight > 0)
                .then(|| async_lock::Semaphore::new(config.max_requests_in_flight)),
            config,
        };
        Ok(HttpStore { inner: Arc::new(inner) })
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

    /// Sends one request and reads its answer; the body only when `want_body(status)`.
    async fn exchange(
        &self,
        key: &str,
        url: &str,
        method: Method<'_>,
        want_body: impl Fn(u16) -> bool,
    ) -> Result<Answer, Failure> {
        let hyper = if self.h2.is_some() && !self.not_h2.load(Ordering::Acquire) {
            Some(Via::H2)
        } else if self.h1.is_some() {
            Some(Via::H1)
        } else {
            None
        };
        let Some(mut via) = hyper else { return self.exchange_curl(key, url, method, &want_body).await };
        loop {
            let sent = self.exchange_hyper(via, key, url, method, &want_body);
            let sent = match self.config.timeout {
                Some(t) => {
                    or(sent, async move {
                        Timer::after(t).await;
                        Err(Fallback::Failed(timed_out(key, url, t)))
                    })
                    .await
                }
                None => sent.await,
            };
            match sent {
                Ok(answer) => return Ok(answer),
                Err(Fallback::Failed(f)) => return Err(f),
                Err(Fallback::NotH2) => {
                    self.not_h2.store(true, Ordering::Release);
                    if self.h1.is_none() {
                        return self.exchange_curl(key, url, method, &want_body).await;
                    }
                    via = Via::H1;
                }
                // libcurl follows the redirect from there, wherever it leads.
                Err(Fallback::Redirect(location)) => {
                    return self.exchange_curl(key, &location, method, &want_body).await;
                }
            }
        }
    }

    /// One request on the h2 connection or the TLS HTTP/1.1 pool.
    async fn exchange_hyper(
        &self,
        via: Via,
        key: &str,
        url: &str,
        method: Method<'_>,
        want_body: &impl Fn(u16) -> bool,
    ) -> Result<Answer, Fallback> {
        let Ok(uri) = url.parse::<hyper::Uri>() else { return Err(Fallback::Failed(invalid_url(key))) };
        // HTTP/1.1 names the host in a header and sends the path alone (origin form);
        // h2 takes both from the URI (`:authority`, `:path`).
        let host_configured = self.config.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host"));
        let (target, host) = match via {
            Via::H2 => (uri, None),
            Via::H1 if host_configured => {
                let path = uri.path_and_query().map_or("/", |p| p.as_str()).parse::<hyper::Uri>();
                (path.map_err(|_| Fallback::Failed(invalid_url(key)))?, None)
            }
            Via::H1 => {
                let host = uri.authority().map(|a| a.as_str().to_owned());
                let path = uri.path_and_query().map_or("/", |p| p.as_str()).parse::<hyper::Uri>();
                (path.map_err(|_| Fallback::Failed(invalid_url(key)))?, host)
            }
        };
        let make = || {
            let (m, body) = match method {
                Method::Get(_) => (hyper::Method::GET, Bytes::new()),
                Method::Head => (hyper::Method::HEAD, Bytes::new()),
                Method::Put(b) => (hyper::Method::PUT, b.clone()),
                Method::Delete => (hyper::Method::DELETE, Bytes::new()),
            };
            let mut req = hyper::Request::builder().method(m).uri(target.clone());
            if let Some(h) = &host {
                req = req.header("host", h.as_str());
            }
            if let Some(h) = method.range_header() {
                req = req.header("range", h);
            }
            for (name, value) in &self.config.headers {
                req = req.header(name.as_str(), value.as_str());
            }
            req.body(Full::new(body))
        };
        // Checked once here, so that `make` cannot fail later.
        if make().is_err() {
            return Err(Fallback::Failed(invalid_url(key)));
        }
        let make = || make().unwrap_or_default();
        let stall = self.config.low_speed_timeout.map(|(_, t)| t);
        // Until the response head arrives the request body is still going out: an
        // upload gets one stall period per MiB (a floor of ~35 KB/s by default), as
        // hyper does not report upload progress.
        let upload = match method {
            Method::Put(b) => b.len() as u32 >> 20,
            _ => 0,
        };
        let head_stall = stall.map(|t| t.saturating_mul(1 + upload));
        let failed = |e| Fallback::Failed(hyper_failure(key, url, e));
        let (resp, lease) = match (via, &self.h2, &self.h1) {
            (Via::H2, Some(h2), _) => match with_stall(head_stall, h2.send(make)).await {
                Some(Ok(resp)) => (resp, None),
                Some(Err(ClientError::NotH2)) => return Err(Fallback::NotH2),
                Some(Err(e)) => return Err(failed(e)),
                None => return Err(Fallback::Failed(stalled(key, url, head_stall))),
            },
            (Via::H1, _, Some(h1)) => match with_stall(head_stall, h1.send(h1.slot().await, make)).await {
                Some(Ok((resp, lease))) => (resp, Some(lease)),
                Some(Err(e)) => return Err(failed(e)),
                None => return Err(Fallback::Failed(stalled(key, url, head_stall))),
            },
            _ => return Err(Fallback::Failed(invalid_url(key))),
        };
        let status = resp.status().as_u16();
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok());
            if let Some(to) = location.and_then(|l| resolve_location(url, l)) {
                return Err(Fallback::Redirect(to));
            }
        }
        let mut answer =
            Answer::head(status, |name| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned));
        if matches!(method, Method::Head) {
            // No body follows a HEAD: the connection is free again.
            if let Some(lease) = lease {
                lease.release();
            }
            return Ok(answer);
        }
        // An HTTP/1.1 connection is reusable only once its body is read: a short body
        // nobody wants (an error page) is read to keep the connection; a long or
        // unsized one is not worth it, and dropping the lease closes the connection.
        let drain = lease.is_some() && answer.content_length.is_some_and(|n| n <= DRAIN_LIMIT);
        if !want_body(status) && !drain {
            return Ok(answer);
        }
        let max = self.check_length(key, answer.content_length).map_err(Fallback::Failed)?;
        answer.body.reserve(answer.content_length.unwrap_or(0) as usize);
        let mut body = resp.into_body();
        loop {
            let frame = match with_stall(stall, body.frame()).await {
                None => return Err(Fallback::Failed(stalled(key, url, stall))),
                Some(None) => break,
                Some(Some(Ok(frame))) => frame,
                // A reset, a GOAWAY or a closed connection mid-body.
                Some(Some(Err(e))) => return Err(failed(ClientError::Request(e))),
            };
            if let Ok(data) = frame.into_data() {
                if (answer.body.len() + data.len()) as u64 > max {
                    return Err(Fallback::Failed(Failure::Fatal(StoreError::TooLarge { key: key.into(), limit: max })));
                }
                answer.body.extend_from_slice(&data);
            }
        }
        if let Some(lease) = lease {
            lease.release();
        }
        if !want_body(status) {
            answer.body = Vec::new();
        }
        Ok(answer)
    }

    /// One request on the libcurl client.
    async fn exchange_curl(
        &self,
        key: &str,
        url: &str,
        method: Method<'_>,
        want_body: &impl Fn(u16) -> bool,
    ) -> Result<Answer, Failure> {
        let (m, body) = match method {
            Method::Get(_) => (isahc::http::Method::GET, AsyncBody::empty()),
            Method::Head => (isahc::http::Method::HEAD, AsyncBody::empty()),
            Method::Put(b) => (isahc::http::Method::PUT, AsyncBody::from(b.to_vec())),
            Method::Delete => (isahc::http::Method::DELETE, AsyncBody::empty()),
        };
        let mut req = Request::builder().method(m).uri(url);
        if let Some(h) = method.range_header() {
            req = req.header("range", h);
        }
        // Configured headers (credentials, often) go to the store's own origin only: a
        // redirect handed over from the hyper path may point anywhere (libcurl drops
        // `Authorization` itself on the redirects it follows to another host).
        if same_origin(url, &self.base) {
            for (name, value) in &self.config.headers {
                req = req.header(name.as_str(), value.as_str());
            }
        }
        let req = req.body(body).map_err(|_| invalid_url(key))?;
        let mut resp = self.curl(key, url)?.send_async(req).await.map_err(|source| {
            let transient = matches!(
                source.kind(),
                ErrorKind::ConnectionFailed
                    | ErrorKind::Io
                    | ErrorKind::NameResolution
                    | ErrorKind::ProtocolViolation
                    | ErrorKind::Timeout
                    | ErrorKind::Unknown
            );
            let e = StoreError::Transport { key: key.into(), url: url.into(), source: Box::new(source) };
            if transient {
                Failure::Transient(e, None)
            } else {
                Failure::Fatal(e)
            }
        })?;
        let status = resp.status().as_u16();
        let mut answer =
            Answer::head(status, |name| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned));
        if !want_body(status) {
            return Ok(answer);
        }
        let max = self.check_length(key, answer.content_length)?;
        // Bounded by max (checked above) or grown as the body arrives.
        answer.body.reserve(answer.content_length.unwrap_or(0) as usize);
        let read = resp.body_mut().take(max.saturating_add(1)).read_to_end(&mut answer.body).await;
        if let Err(e) = read {
            // A reset or timeout mid-body (curl reports a short transfer here too).
            return Err(Failure::Transient(StoreError::io(key, e), None));
        }
        if answer.body.len() as u64 > max {
            return Err(Failure::Fatal(StoreError::TooLarge { key: key.into(), limit: max }));
        }
        Ok(answer)
    }

    /// The libcurl client, made now if this is its first use.
    fn curl(&self, key: &str, url: &str) -> Result<&HttpClient, Failure> {
        if let Some(c) = self.curl.get() {
            return Ok(c);
        }
        let built = build_curl(&self.base, &self.config).map_err(|e| match e {
            StoreError::Transport { source, .. } => {
                Failure::Fatal(StoreError::Transport { key: key.into(), url: url.into(), source })
            }
            e => Failure::Fatal(e),
        })?;
        // Another request may have made one meanwhile: either will do.
        Ok(self.curl.get_or_init(|| built))
    }

    /// The most body bytes to accept; an error when `Content-Length` already exceeds it.
    fn check_length(&self, key: &str, content_length: Option<u64>) -> Result<u64, Failure> {
        let max = self.config.max_response_bytes;
        if content_length.is_some_and(|n| n > max) {
            return Err(Failure::Fatal(StoreError::TooLarge { key: key.into(), limit: max }));
        }
        Ok(max)
    }

    fn status_failure(&self, key: &str, url: &str, answer: &Answer) -> Failure {
        let e = StoreError::Status { key: key.into(), url: url.into(), status: answer.status };
        if classify_status(answer.status, self.config.status) == Outcome::Retry {
            Failure::Transient(e, answer.retry_after)
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
        let method = if empty { Method::Head } else { Method::Get(range) };
        let policy = self.config.status;
        let answer = self
            .exchange(key, url, method, |status| !empty && classify_status(status, policy) == Outcome::Bytes)
            .await?;
        let status = answer.status;
        match classify_status(status, policy) {
            Outcome::Bytes => {}
            Outcome::Missing => return Ok(None),
            Outcome::Retry | Outcome::Fail => return Err(self.status_failure(key, url, &answer)),
        }
        if empty {
            return Ok(Some(Part { body: Bytes::new(), total: None }));
        }
        let content_range = answer.content_range.as_deref();
        let total = content_range.and_then(ContentRange::parse).and_then(|cr| cr.total);
        let checked = if probe && status == 200 { None } else { range };
        let got = answer.body.len() as u64;
        match check_body(status, checked, answer.content_length, content_range, got) {
            // The span lies within the body (check_body resolved it against its length).
            Ok(span) => Ok(Some(Part {
                body: Bytes::from(answer.body).slice(span.start as usize..span.end as usize),
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
                    let got = self.with_retries(key, || self.get_part(key, url, Some(range), false)).await?;
                    let body_error = |reason| StoreError::Body { key: key.into(), url: url.into(), reason };
                    match got {
                        None => Err(body_error(BodyError::RangeNotSatisfiable { requested: range, total })),
                        // Replaced since the first part: the parts would not make one value.
                        Some(Part { total: Some(now), .. }) if now != total => {
                            Err(body_error(BodyError::ValueChanged { total, now }))
                        }
                        Some(p) => Ok(p.body),
                    }
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

    async fn write_once(&self, key: &str, url: &str, value: Option<&Bytes>) -> Result<(), Failure> {
        let _permit = self.permit().await;
        let method = match value {
            Some(v) => Method::Put(v),
            None => Method::Delete,
        };
        let answer = self.exchange(key, url, method, |_| false).await?;
        match answer.status {
            200..=299 => Ok(()),
            404 if value.is_none() => Ok(()),
            _ => Err(self.status_failure(key, url, &answer)),
        }
    }
}

impl Method<'_> {
    /// The `Range` header of a ranged GET.
    fn range_header(self) -> Option<String> {
        match self {
            Method::Get(Some(r)) => r.header_value(),
            _ => None,
        }
    }
}

/// Which hyper client a request goes to.
#[derive(Clone, Copy)]
enum Via {
    H2,
    H1,
}

/// Why a request did not get its answer from a hyper client.
enum Fallback {
    /// ALPN chose HTTP/1.1: this and every later request go to the TLS HTTP/1.1 pool.
    NotH2,
    /// A redirect to this URL: the pool's libcurl goes on from there.
    Redirect(String),
    Failed(Failure),
}

/// The absolute URL a `Location` header points to from `url`: absolute already, or
/// a path on the same origin. Other relative forms are left to the status (an error).
fn resolve_location(url: &str, location: &str) -> Option<String> {
    let l = location.trim();
    if l.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("http://"))
        || l.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    {
        return Some(l.to_owned());
    }
    if l.starts_with('/') && !l.starts_with("//") {
        let uri: hyper::Uri = url.parse().ok()?;
        return Some(format!("{}://{}{l}", uri.scheme_str()?, uri.authority()?));
    }
    None
}

/// Whether two URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    match (authority(a), authority(b)) {
        (Some((tls_a, host_a, port_a)), Some((tls_b, host_b, port_b))) => {
            tls_a == tls_b && port_a == port_b && host_a.eq_ignore_ascii_case(&host_b)
        }
        _ => false,
    }
}

/// Largest unwanted HTTP/1.1 body read only to keep its connection open.
const DRAIN_LIMIT: u64 = 64 << 10;

/// `fut`, or `None` once `stall` has passed without it finishing.
async fn with_stall<T>(stall: Option<Duration>, fut: impl std::future::Future<Output = T>) -> Option<T> {
    match stall {
        Some(t) => {
            or(async { Some(fut.await) }, async {
                Timer::after(t).await;
                None
            })
            .await
        }
        None => Some(fut.await),
    }
}

fn stalled(key: &str, url: &str, stall: Option<Duration>) -> Failure {
    let t = stall.unwrap_or_default();
    let source = io::Error::new(io::ErrorKind::TimedOut, format!("no data for {t:?}"));
    Failure::Transient(StoreError::Transport { key: key.into(), url: url.into(), source: Box::new(source) }, None)
}

fn timed_out(key: &str, url: &str, t: Duration) -> Failure {
    let source = io::Error::new(io::ErrorKind::TimedOut, format!("request timed out after {t:?}"));
    Failure::Transient(StoreError::Transport { key: key.into(), url: url.into(), source: Box::new(source) }, None)
}

fn hyper_failure(key: &str, url: &str, e: ClientError) -> Failure {
    let fatal = matches!(e, ClientError::Setup(_) | ClientError::Certificate(_));
    let e = StoreError::Transport { key: key.into(), url: url.into(), source: Box::new(e) };
    if fatal {
        Failure::Fatal(e)
    } else {
        Failure::Transient(e, None)
    }
}

/// The hyper clients of a store: HTTP/2 over `https://` unless told HTTP/1.1 and
/// over `http://` with prior knowledge (h2c); the TLS HTTP/1.1 pool for every
/// `https://` store. None when a proxy is configured: libcurl knows how to go
/// through it.
fn build_hyper(base_url: &str, config: &HttpConfig) -> StoreResult<(Option<H2Client>, Option<H1Pool>)> {
    let Some((tls, host, port)) = authority(base_url) else { return Ok((None, None)) };
    // libcurl turns `user:password@` into Basic auth; a proxy it knows how to use.
    let userinfo = base_url.parse::<hyper::Uri>().ok().and_then(|u| u.authority().map(|a| a.as_str().contains('@')));
    if proxy_configured(tls) || userinfo == Some(true) {
        return Ok((None, None));
    }
    let h2 = match config.version {
        HttpVersion::Http1 => false,
        HttpVersion::Auto => tls,
        HttpVersion::Http2PriorKnowledge => true,
    };
    let connector = if tls {
        // OpenSSL's defaults honour SSL_CERT_FILE and SSL_CERT_DIR themselves.
        let connector = net::tls_connector(config.ca_file.as_deref()).map_err(|e| StoreError::Transport {
            key: String::new(),
            url: base_url.into(),
            source: Box::new(e),
        })?;
        Some(connector)
    } else {
        None
    };
    let target = net::Target { host, port, tls: connector, connect_timeout: config.connect_timeout };
    let h1 = tls.then(|| H1Pool::new(target.clone(), config.max_connections));
    Ok((h2.then(|| H2Client::new(target)), h1))
}

/// Whether the URL's scheme is `https`, and its host and port; `None` if it is not an
/// http(s) URL.
fn authority(url: &str) -> Option<(bool, String, u16)> {
    let uri: hyper::Uri = url.parse().ok()?;
    let tls = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => true,
        Some(s) if s.eq_ignore_ascii_case("http") => false,
        _ => return None,
    };
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']').to_owned();
    Some((tls, host, uri.port_u16().unwrap_or(if tls { 443 } else { 80 })))
}

/// Whether a proxy may stand between us and a server of this scheme.
fn proxy_configured(tls: bool) -> bool {
    let vars: &[&str] = if tls {
        &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        &["http_proxy", "all_proxy", "ALL_PROXY"]
    };
    vars.iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Refuses headers that are not valid HTTP, before any request.
fn check_headers(config: &HttpConfig) -> StoreResult<()> {
    for (name, value) in &config.headers {
        let valid = isahc::http::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && isahc::http::HeaderValue::from_str(value).is_ok();
        if !valid {
            return Err(StoreError::InvalidKey { key: name.clone(), reason: "invalid http header" });
        }
    }
    Ok(())
}

/// The isahc client: the HTTP/1.1 keep-alive pool (h2 with prior knowledge through a proxy).
fn build_curl(base_url: &str, config: &HttpConfig) -> StoreResult<HttpClient> {
    let per_host = match (config.version, config.max_connections_per_host) {
        (HttpVersion::Http2PriorKnowledge, 0) => 1,
        (_, n) => n,
    };
    let client_err = |source: isahc::Error| StoreError::Transport {
        key: String::new(),
        url: base_url.into(),
        source: Box::new(source),
    };
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
    b.build().map_err(client_err)
}

fn invalid_url(key: &str) -> Failure {
    Failure::Fatal(StoreError::InvalidKey { key: key.into(), reason: "not valid in a URL" })
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
            inner.with_retries(&key, || inner.write_once(&key, &url, Some(&value))).await
        })
    }

    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        let inner = Arc::clone(&self.inner);
        let key = key.to_owned();
        Box::pin(async move {
            let url = join_url(&inner.base, &key);
            inner.with_retries(&key, || inner.write_once(&key, &url, None)).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_request_url() {
        let url = "https://h.example:8443/data/a.zarr/c/0";
        assert_eq!(resolve_location(url, "https://other/x/c/0").as_deref(), Some("https://other/x/c/0"));
        assert_eq!(resolve_location(url, "HTTP://other/x").as_deref(), Some("HTTP://other/x"));
        assert_eq!(resolve_location(url, "/moved/c/0").as_deref(), Some("https://h.example:8443/moved/c/0"));
        // Scheme-relative and document-relative forms are not followed.
        assert_eq!(resolve_location(url, "//evil/x"), None);
        assert_eq!(resolve_location(url, "c/1"), None);
    }

    #[test]
    fn authority_of_http_urls() {
        assert_eq!(authority("https://example.org/a/b"), Some((true, "example.org".into(), 443)));
        assert_eq!(authority("HTTPS://127.0.0.1:8443/x"), Some((true, "127.0.0.1".into(), 8443)));
        assert_eq!(authority("http://[::1]:9000/"), Some((false, "::1".into(), 9000)));
        assert_eq!(authority("http://example.org/"), Some((false, "example.org".into(), 80)));
        assert_eq!(authority("ftp://example.org/"), None);
        assert_eq!(authority("not a url"), None);
    }
}
