//! A store read over HTTP(S): hyper for HTTP/2 and HTTP/1.1, isahc (libcurl) for
//! proxies, URLs with credentials and redirects.

use std::sync::{Arc, OnceLock};

use async_io::Timer;
use bytes::Bytes;
use futures_lite::future::or;
use isahc::HttpClient;
use zarr_proto::http::{
    check_body, classify_status, join_url, parse_retry_after, BodyError, ByteRange, ContentRange, Outcome,
};

use self::h1::H1Pool;
use self::h2::H2Client;
use zarr_proto::StoreKind;

use super::{BoxFuture, Condition, ListDir, Store, StoreError, StoreResult, Version, Versioned, WriteResult};

mod config;
mod h1;
mod h2;
mod h2_settings;
mod net;
mod openssl_init;
mod s3;
mod via_curl;
mod via_hyper;

pub use self::config::{HttpConfig, HttpVersion, RequestSigner, SignFn, SignInput};
pub use self::s3::S3Store;
use self::via_hyper::{build_hyper, timed_out, Fallback, Via};

/// A read-mostly store at a base URL: `get(key)` is `GET {base}/{key}`.
///
/// Three transports share the work, chosen per store:
///
/// - HTTP/2, for `https://` servers whose TLS ALPN picks h2 and for `http://` with
///   [`HttpVersion::Http2PriorKnowledge`] (h2c): hyper's h2 client over async-io,
///   its connections driven by one background thread, so requests started together
///   share the connection from the first one on; more connections (up to
///   [`HttpConfig::max_h2_connections`]) open only while the requests in flight fill
///   the server's stream limit on every open one (see `h2.rs` for why this is not
///   libcurl).
/// - HTTP/1.1, plain `http://` or over TLS (S3, [`HttpVersion::Http1`], servers whose
///   ALPN picks HTTP/1.1): a hyper keep-alive pool of [`HttpConfig::max_connections`]
///   (see `h1.rs` for why this is not libcurl either).
/// - A configured proxy (`http_proxy`, `https_proxy`, `all_proxy`), a base URL with
///   `user:password@`, and redirects (handed over by the hyper clients with the URL
///   they point to): one isahc (libcurl) client with a keep-alive pool, whose agent
///   thread drives the requests.
///
/// The futures need no particular executor. For all three:
///
/// - 200/206 give the value, checked against `Content-Length` and
///   `Content-Range` (a short body is an error, never silent data);
///   404 (and 403 when configured) give `None`.
/// - 5xx, 408, 429, connection failures, resets, timeouts and short bodies are
///   retried per [`RetryPolicy`](zarr_proto::http::RetryPolicy), sleeping with [`async_io::Timer`] and honouring
///   `Retry-After`. Requests whose connection ended before any byte of their answer
///   (an h2 GOAWAY or REFUSED_STREAM, a close or reset with requests in flight, a
///   kept-alive HTTP/1.1 connection the server had closed) go again at once on a live
///   connection without using up an attempt, at most 8 times per request (writes with
///   a condition only when the server surely did not process them).
/// - At most [`HttpConfig::max_requests_in_flight`] requests are out at once, the
///   ranges of split values included.
/// - `set`/`delete` send `PUT`/`DELETE`; listing is not supported.
///
/// # Versions and conditional writes
///
/// A value's [`Version`] is its strong `ETag`, quotes included, from the GET that read
/// it (a weak `W/` tag names no version: `If-Match` compares strongly, so it could never
/// match). [`Store::put`] and [`Store::delete_if`] send the condition as `If-Match:
/// {etag}` or `If-None-Match: *`; 412 is [`WriteResult::ConditionFailed`], and 403, 405
/// and 501 are [`StoreError::WriteRefused`]. Whether the condition is honoured is the
/// server's part: S3, GCS, Azure and this crate's test server check it; a server that
/// ignores the headers cannot be told from one that checks them.
///
/// Retries: a GET and an unconditional PUT or DELETE are idempotent and are retried
/// on every transient failure. A conditional write is retried only when it surely did
/// not take effect: the connection was never made, or the server answered 408, 429 or
/// 503. After a timeout, a reset or another 5xx its outcome is unknown; had it landed,
/// a resent copy would fail its condition on our own write (and a caller that re-read
/// and tried again would apply its change twice), so it fails with
/// [`StoreError::OutcomeUnknown`] and the caller reads the key again. (One case is out
/// of our hands: through a proxy or after a redirect, libcurl resends a request once
/// on a reused connection that died before any byte of the answer, which can repeat a
/// write the server applied just before it crashed.)
///
/// # Threads
///
/// Two background threads move the bytes, whatever polls the futures (an async
/// executor, or `block_on` on the blocking driver's IO threads): `zarr-http`, one per
/// process, runs every hyper connection (h2 and HTTP/1.1), so a connection keeps
/// answering pings, window updates and GOAWAY even while no request of its store is
/// being polled; isahc's agent thread runs libcurl, started only for a store that
/// goes through a proxy or meets a redirect.
///
/// # Dropping
///
/// Dropping the last handle closes the store's connections on the `zarr-http` thread
/// and returns at once: it never blocks the thread that drops it, an executor's
/// included. [`Store::close`] closes them and resolves once they are gone, for a
/// caller that wants to know. (Earlier versions waited on drop because OpenSSL's
/// exit handler crashed a process that exited while a TLS connection closed; OpenSSL
/// is now initialised without that handler, see `http/openssl_init.rs`.)
#[derive(Debug, Clone)]
pub struct HttpStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: String,
    config: HttpConfig,
    /// The libcurl client for proxies, URLs with credentials and redirects (a
    /// keep-alive pool); made on first use (it starts isahc's agent thread), so a
    /// store that never needs it does not pay for it.
    curl: OnceLock<HttpClient>,
    /// The HTTP/2 client, when the store may speak h2 itself.
    h2: Option<H2Client>,
    /// The HTTP/1.1 pool: plain `http://` (but h2c), and `https://` servers that do
    /// not speak h2.
    h1: Option<H1Pool>,
    /// Permits for [`HttpConfig::max_requests_in_flight`].
    in_flight: Option<async_lock::Semaphore>,
}

/// A request, independent of the transport that sends it.
#[derive(Clone, Copy)]
enum Method<'a> {
    Get(Option<ByteRange>),
    Head,
    Put(&'a Bytes, &'a Condition),
    Delete(&'a Condition),
}

/// A response: the status, the headers we act on, and the body when it was wanted.
struct Answer {
    status: u16,
    content_length: Option<u64>,
    content_range: Option<String>,
    retry_after: Option<u64>,
    /// The strong `ETag`, quotes included.
    etag: Option<Version>,
    /// S3's `x-amz-bucket-region`: where the bucket is, sent with wrong-region errors.
    bucket_region: Option<String>,
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
            etag: header("etag").map(|t| t.trim().to_owned()).filter(|t| t.starts_with('"')).map(Version::new),
            bucket_region: header("x-amz-bucket-region").map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()),
            body: Vec::new(),
        }
    }
}

/// A response body, and the value's total length when a 206 told it.
struct Part {
    body: Bytes,
    total: Option<u64>,
    version: Option<Version>,
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

    /// The headers the configured [`RequestSigner`] adds to this attempt of `method`.
    fn signature(&self, url: &str, method: Method<'_>) -> Vec<(String, String)> {
        let Some(signer) = &self.config.signer else { return Vec::new() };
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(range) = method.range_header() {
            headers.push(("range", range));
        }
        if let Some((name, value)) = method.condition_header() {
            headers.push((name, value));
        }
        let (name, body) = match method {
            Method::Get(_) => ("GET", None),
            Method::Head => ("HEAD", None),
            Method::Put(b, _) => ("PUT", Some(&b[..])),
            Method::Delete(_) => ("DELETE", None),
        };
        (signer.0)(&SignInput { method: name, url, headers: &headers, body })
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
        let hyper = if self.h2.as_ref().is_some_and(|h2| !h2.speaks_only_http1()) {
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
                Err(Fallback::NotH2(stream)) => {
                    let Some(h1) = &self.h1 else { return self.exchange_curl(key, url, method, &want_body).await };
                    // The TLS connection that learnt it serves HTTP/1.1 instead: no
                    // second handshake (two more round trips) before the first answer.
                    if let Some(stream) = stream {
                        h1.adopt(*stream).await;
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

    async fn get_once(&self, key: &str, url: &str, range: Option<ByteRange>) -> Result<Option<Versioned>, Failure> {
        Ok(self.get_part(key, url, range, false).await?.map(|p| (p.body, p.version)))
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
            return Ok(Some(Part { body: Bytes::new(), total: None, version: answer.etag }));
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
                version: answer.etag,
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
    async fn get_whole(&self, key: &str, url: &str) -> StoreResult<Option<Versioned>> {
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
            _ => return Ok(Some((first.body, first.version))),
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
        Ok(Some((Bytes::from(whole), first.version)))
    }

    /// One PUT (`value`) or DELETE (`None`) with `condition`.
    async fn write_once(
        &self,
        key: &str,
        url: &str,
        value: Option<&Bytes>,
        condition: &Condition,
    ) -> Result<WriteResult, Failure> {
        let _permit = self.permit().await;
        let method = match value {
            Some(v) => Method::Put(v, condition),
            None => Method::Delete(condition),
        };
        let answer = match self.exchange(key, url, method, |_| false).await {
            Ok(a) => a,
            Err(f) => return Err(unless_idempotent(key, method, f)),
        };
        match answer.status {
            200..=299 => Ok(WriteResult::Stored(answer.etag.filter(|_| value.is_some()))),
            404 if value.is_none() => match condition {
                Condition::Matches(_) => Ok(WriteResult::ConditionFailed),
                _ => Ok(WriteResult::Stored(None)),
            },
            412 => Ok(WriteResult::ConditionFailed),
            403 | 405 | 501 => Err(Failure::Fatal(StoreError::WriteRefused {
                key: key.into(),
                url: url.into(),
                method: if value.is_some() { "PUT" } else { "DELETE" },
                status: answer.status,
            })),
            _ => Err(unless_idempotent(key, method, self.status_failure(key, url, &answer))),
        }
    }
}

/// A failed attempt of `method` as the retry loop must see it: a conditional write
/// whose failure leaves its outcome open is not retried but reported as
/// [`StoreError::OutcomeUnknown`] (see [`HttpStore`] for why).
fn unless_idempotent(key: &str, method: Method<'_>, failure: Failure) -> Failure {
    match failure {
        Failure::Transient(e, _) if !method.idempotent() && !surely_not_applied(&e) => {
            Failure::Fatal(StoreError::OutcomeUnknown { key: key.into(), source: Box::new(e) })
        }
        f => f,
    }
}

/// Whether a failed request surely had no effect: the connection was never made, or
/// the server said it did not act (408: it gave up waiting for the request; 429 and 503:
/// it refused the work).
fn surely_not_applied(e: &StoreError) -> bool {
    match e {
        StoreError::Status { status, .. } => matches!(status, 408 | 429 | 503),
        StoreError::Transport { source, .. } => {
            if let Some(e) = source.downcast_ref::<net::ClientError>() {
                matches!(e, net::ClientError::Connect(_))
            } else if let Some(via_curl::CurlError(e)) = source.downcast_ref::<via_curl::CurlError>() {
                matches!(e.kind(), isahc::error::ErrorKind::ConnectionFailed | isahc::error::ErrorKind::NameResolution)
            } else {
                false
            }
        }
        _ => false,
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

    /// The header that carries a write's condition.
    fn condition_header(self) -> Option<(&'static str, String)> {
        match self {
            Method::Put(_, c) | Method::Delete(c) => match c {
                Condition::Always => None,
                Condition::Absent => Some(("if-none-match", "*".to_owned())),
                Condition::Matches(v) => Some(("if-match", v.as_str().to_owned())),
            },
            _ => None,
        }
    }

    /// Whether sending the request twice does what sending it once does.
    fn idempotent(self) -> bool {
        self.condition_header().is_none()
    }
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

fn invalid_url(key: &str) -> Failure {
    Failure::Fatal(StoreError::InvalidKey { key: key.into(), reason: "not valid in a URL" })
}

impl HttpStore {
    /// Runs `op` with the client, the key and its URL, once the key is checked.
    fn with_key<T, F, Fut>(&self, key: &str, op: F) -> BoxFuture<'static, StoreResult<T>>
    where
        F: FnOnce(Arc<Inner>, String, String) -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>> + Send + 'static,
    {
        if let Err(e) = crate::validate_key(key) {
            return Box::pin(async move { Err(e) });
        }
        let url = join_url(&self.inner.base, key);
        Box::pin(op(Arc::clone(&self.inner), key.to_owned(), url))
    }
}

impl Store for HttpStore {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        self.with_key(key, move |inner, key, url| async move {
            let got = match range {
                None => inner.get_whole(&key, &url).await,
                Some(_) => inner.with_retries(&key, || inner.get_once(&key, &url, range)).await,
            };
            Ok(got?.map(|(b, _)| b))
        })
    }

    fn get_versioned(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Versioned>>> {
        self.with_key(key, move |inner, key, url| async move {
            match range {
                None => inner.get_whole(&key, &url).await,
                Some(_) => inner.with_retries(&key, || inner.get_once(&key, &url, range)).await,
            }
        })
    }

    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        let put = self.put(key, value, Condition::Always);
        Box::pin(async move { put.await.map(|_| ()) })
    }

    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        let delete = self.delete_if(key, Condition::Always);
        Box::pin(async move { delete.await.map(|_| ()) })
    }

    fn put(&self, key: &str, value: Bytes, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        self.with_key(key, move |inner, key, url| async move {
            inner.with_retries(&key, || inner.write_once(&key, &url, Some(&value), &condition)).await
        })
    }

    fn delete_if(&self, key: &str, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        self.with_key(key, move |inner, key, url| async move {
            inner.with_retries(&key, || inner.write_once(&key, &url, None, &condition)).await
        })
    }

    fn supports_conditional_writes(&self) -> bool {
        true
    }

    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        let e = StoreError::unsupported(prefix, "list", "HttpStore");
        Box::pin(async move { Err(e) })
    }

    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        let e = StoreError::unsupported(prefix, "list_dir", "HttpStore");
        Box::pin(async move { Err(e) })
    }

    fn kind(&self) -> StoreKind {
        StoreKind::Remote
    }

    fn parallel_requests(&self) -> Option<usize> {
        let config = &self.inner.config;
        let transport = match &self.inner.h2 {
            Some(h2) if !h2.speaks_only_http1() => h2.capacity(),
            _ => config.max_connections,
        };
        let cap = |n: usize| if n == 0 { usize::MAX } else { n };
        let n = cap(transport).min(cap(config.max_requests_in_flight));
        (n != usize::MAX).then_some(n)
    }

    fn location(&self) -> String {
        self.inner.base.clone()
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            if let Some(h2) = &inner.h2 {
                h2.close().await;
            }
            if let Some(h1) = &inner.h1 {
                h1.close().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_of_http_urls() {
        assert_eq!(authority("https://example.org/a/b"), Some((true, "example.org".into(), 443)));
        assert_eq!(authority("HTTPS://127.0.0.1:8443/x"), Some((true, "127.0.0.1".into(), 8443)));
        assert_eq!(authority("http://[::1]:9000/"), Some((false, "::1".into(), 9000)));
        assert_eq!(authority("http://example.org/"), Some((false, "example.org".into(), 80)));
        assert_eq!(authority("ftp://example.org/"), None);
        assert_eq!(authority("not a url"), None);
    }

    #[test]
    fn a_store_serves_as_many_requests_at_once_as_its_transport_carries() {
        let parallel = |url: &str, config: HttpConfig| HttpStore::with_config(url, config).unwrap().parallel_requests();
        // HTTP/1.1: one request per pooled connection.
        assert_eq!(parallel("http://127.0.0.1:9/", HttpConfig::default()), Some(128));
        assert_eq!(parallel("http://127.0.0.1:9/", HttpConfig::default().max_connections(16)), Some(16));
        // HTTP/2: connections times the streams a server allows (100 until it says).
        let h2c = HttpConfig::default().version(HttpVersion::Http2PriorKnowledge);
        assert_eq!(parallel("http://127.0.0.1:9/", h2c.clone()), Some(400));
        assert_eq!(parallel("http://127.0.0.1:9/", h2c.clone().max_h2_connections(1)), Some(100));
        assert_eq!(parallel("https://127.0.0.1:9/", HttpConfig::default()), Some(400));
        // The store's own cap on requests in flight bounds it; no bound at all says nothing.
        assert_eq!(parallel("http://127.0.0.1:9/", h2c.max_h2_connections(8)), Some(512));
        let unbounded = HttpConfig::default().max_connections(0).max_requests_in_flight(0);
        assert_eq!(parallel("http://127.0.0.1:9/", unbounded), None);
    }
}
