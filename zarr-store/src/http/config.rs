//! The settings of an [`HttpStore`](super::HttpStore).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use zarr_proto::http::{RetryPolicy, StatusPolicy};

/// Which HTTP versions the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/2 when TLS ALPN offers it, HTTP/1.1 otherwise (plain `http://` is HTTP/1.1).
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 with prior knowledge: h2c over plain TCP (no upgrade dance); over TLS
    /// the same as `Auto`. Requests share multiplexed connections (see
    /// [`HttpConfig::max_h2_connections`]).
    Http2PriorKnowledge,
}

/// Settings of an [`HttpStore`](crate::HttpStore).
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
    /// Most libcurl connections open at once to one host (0: no limit); libcurl
    /// serves proxies, URLs with credentials and redirects. (Through a proxy, where
    /// libcurl speaks h2c, 0 means 1 so that requests started together wait for it
    /// instead of each opening one.)
    pub max_connections_per_host: usize,
    /// Most HTTP/2 connections open at once (0 is taken as 1: one-connection mode).
    /// A second one opens only when the requests in flight fill the first to the
    /// server's `SETTINGS_MAX_CONCURRENT_STREAMS`, and so on: a read with more requests
    /// in flight than one connection may carry (nginx: 128) is not held to it.
    pub max_h2_connections: usize,
    /// Idle libcurl connections kept alive for reuse (0: curl's default); the hyper
    /// HTTP/1.1 pool keeps every connection until the server closes it.
    pub connection_cache_size: usize,
    /// Time allowed to connect (TCP + TLS).
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt, body included (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Abort an attempt whose transfer rate stays below `.0` bytes/s for `.1`
    /// (libcurl); over hyper's HTTP/2 and HTTP/1.1, one that receives nothing for `.1`
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
    /// The default, 512, lets a read that asks for it fill four HTTP/2 connections of
    /// 128 streams (a read's own default is 128 requests).
    pub max_requests_in_flight: usize,
    /// Headers computed for each attempt of each request (e.g. an AWS SigV4
    /// `Authorization`), after the others are known; a retried request is signed anew.
    pub signer: Option<RequestSigner>,
}

/// What a [`RequestSigner`] sees of one attempt of a request.
#[derive(Debug, Clone, Copy)]
pub struct SignInput<'a> {
    /// `GET`, `HEAD`, `PUT` or `DELETE`.
    pub method: &'a str,
    /// The full URL, percent-encoded as sent, query included.
    pub url: &'a str,
    /// The request's own headers (`range`, `if-match`, ...), lower-case names;
    /// the configured [`HttpConfig::headers`] are not among them.
    pub headers: &'a [(&'a str, String)],
    /// The body of a `PUT`.
    pub body: Option<&'a [u8]>,
}

/// A function from one attempt of a request to headers to add to it, called on every
/// attempt (so a retried request gets a fresh signature time).
#[derive(Clone)]
pub struct RequestSigner(pub Arc<SignFn>);

/// The function inside a [`RequestSigner`]: the headers to add to one attempt.
pub type SignFn = dyn Fn(&SignInput<'_>) -> Vec<(String, String)> + Send + Sync;

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What it signs with is nobody's business in a log.
        f.write_str("RequestSigner(..)")
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            version: HttpVersion::Auto,
            max_connections: 128,
            max_connections_per_host: 0,
            max_h2_connections: 4,
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
            max_requests_in_flight: 512,
            signer: None,
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

    /// Sets [`max_h2_connections`](Self::max_h2_connections).
    pub fn max_h2_connections(mut self, n: usize) -> Self {
        self.max_h2_connections = n;
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
