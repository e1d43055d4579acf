//! Requests over libcurl (isahc): proxies, URLs with credentials and redirects.

use std::path::PathBuf;

use futures_lite::AsyncReadExt;
use isahc::config::{CaCertificate, Configurable, RedirectPolicy, VersionNegotiation};
use isahc::error::ErrorKind;
use isahc::http::Request;
use isahc::{AsyncBody, HttpClient};

use super::{
    invalid_url, same_origin, Answer, Failure, HttpConfig, HttpVersion, Inner, Method, StoreError, StoreResult,
};

impl Inner {
    /// One request on the libcurl client.
    pub(super) async fn exchange_curl(
        &self,
        key: &str,
        url: &str,
        method: Method<'_>,
        want_body: &impl Fn(u16) -> bool,
    ) -> Result<Answer, Failure> {
        let (m, body) = match method {
            Method::Get(_) => (isahc::http::Method::GET, AsyncBody::empty()),
            Method::Head => (isahc::http::Method::HEAD, AsyncBody::empty()),
            Method::Put(b, _) => (isahc::http::Method::PUT, AsyncBody::from(b.to_vec())),
            Method::Delete(_) => (isahc::http::Method::DELETE, AsyncBody::empty()),
        };
        let mut req = Request::builder().method(m).uri(url);
        if let Some(h) = method.range_header() {
            req = req.header("range", h);
        }
        if let Some((name, value)) = method.condition_header() {
            req = req.header(name, value);
        }
        // Configured headers (credentials, often) go to the store's own origin only: a
        // redirect handed over from the hyper path may point anywhere (libcurl drops
        // `Authorization` itself on the redirects it follows to another host).
        if same_origin(url, &self.base) {
            for (name, value) in &self.config.headers {
                req = req.header(name.as_str(), value.as_str());
            }
        }
        for (name, value) in self.signature(url, method) {
            req = req.header(name.as_str(), value.as_str());
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
            let e = StoreError::Transport { key: key.into(), url: url.into(), source: Box::new(CurlError(source)) };
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
            // A reset or timeout mid-body (curl reports a short transfer here too). isahc
            // wraps curl's error in an io::Error whose text is "unknown error": the
            // cause is further down the chain.
            let source = std::io::Error::new(e.kind(), chain_text(&e));
            return Err(Failure::Transient(
                StoreError::Transport { key: key.into(), url: url.into(), source: Box::new(source) },
                None,
            ));
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
}

/// An isahc error that shows its cause: isahc's own text is often only its kind
/// ("unknown error", "connection failed") while curl's says what happened.
#[derive(Debug)]
pub(super) struct CurlError(pub(super) isahc::Error);

impl std::fmt::Display for CurlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&chain_text(&self.0))
    }
}

impl std::error::Error for CurlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// `e` and its causes, each said once: "unknown error: [18] Transferred a partial file".
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    // io::Error hides a custom error's own causes behind `get_ref`.
    if next.is_none() {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            next = io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)).and_then(|inner| {
                // The io::Error's text is the inner error's: start from the inner's causes.
                inner.source()
            });
        }
    }
    while let Some(s) = next {
        let t = s.to_string();
        if !t.is_empty() && !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        next = s.source();
    }
    text
}

/// The isahc client: a keep-alive pool for proxies, URLs with credentials and redirects
/// (h2 with prior knowledge through a proxy).
pub(super) fn build_curl(base_url: &str, config: &HttpConfig) -> StoreResult<HttpClient> {
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
