//! Requests over hyper: the h2 connections and the HTTP/1.1 keep-alive pool.

use std::io;
use std::time::Duration;

use async_io::Timer;
use bytes::Bytes;
use futures_lite::future::or;
use http_body_util::{BodyExt, Full};

use super::h1::H1Pool;
use super::h2::H2Client;
use super::net::{self, ClientError};
use super::{authority, invalid_url, Answer, Failure, HttpConfig, HttpVersion, Inner, Method, StoreError, StoreResult};

impl Inner {
    /// One request on the h2 connections or the HTTP/1.1 pool.
    pub(super) async fn exchange_hyper(
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
            Via::H1 => {
                let host = uri.authority().filter(|_| !host_configured).map(|a| a.as_str().to_owned());
                let path = uri.path_and_query().map_or("/", |p| p.as_str()).parse::<hyper::Uri>();
                (path.map_err(|_| Fallback::Failed(invalid_url(key)))?, host)
            }
        };
        // Signed once per attempt: every send of it below carries the same signature.
        let signature = self.signature(url, method);
        let make = || {
            let (m, body) = match method {
                Method::Get(_) => (hyper::Method::GET, Bytes::new()),
                Method::Head => (hyper::Method::HEAD, Bytes::new()),
                Method::Put(b, _) => (hyper::Method::PUT, b.clone()),
                Method::Delete(_) => (hyper::Method::DELETE, Bytes::new()),
            };
            let mut req = hyper::Request::builder().method(m).uri(target.clone());
            if let Some(h) = &host {
                req = req.header("host", h.as_str());
            }
            if let Some(h) = method.range_header() {
                req = req.header("range", h);
            }
            if let Some((name, value)) = method.condition_header() {
                req = req.header(name, value);
            }
            for (name, value) in self.config.headers.iter().chain(&signature) {
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
            Method::Put(b, _) => u32::try_from(b.len() >> 20).unwrap_or(u32::MAX),
            _ => 0,
        };
        let head_stall = stall.map(|t| t.saturating_mul(1 + upload));
        let failed = |e| Fallback::Failed(hyper_failure(key, url, e));
        // The h2 stream stays counted against its connection until its body is read.
        let (resp, lease, _stream) = match (via, &self.h2, &self.h1) {
            (Via::H2, Some(h2), _) => match h2.send(method.idempotent(), head_stall, make).await {
                Ok((resp, stream)) => (resp, None, Some(stream)),
                Err(ClientError::NotH2(stream)) => return Err(Fallback::NotH2(stream)),
                Err(ClientError::Stalled) => return Err(Fallback::Failed(stalled(key, url, head_stall))),
                Err(e) => return Err(failed(e)),
            },
            (Via::H1, _, Some(h1)) => {
                match with_stall(head_stall, h1.send(h1.slot().await, method.idempotent(), make)).await {
                    Some(Ok((resp, lease))) => (resp, Some(lease), None),
                    Some(Err(e)) => return Err(failed(e)),
                    None => {
                        // Stalled before the head: the retry must not wait on another
                        // idle connection as quiet as this one may have been.
                        h1.forget_idle();
                        return Err(Fallback::Failed(stalled(key, url, head_stall)));
                    }
                }
            }
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
                None => {
                    if let Some(lease) = lease {
                        lease.failed();
                    }
                    return Err(Fallback::Failed(stalled(key, url, stall)));
                }
                Some(None) => break,
                Some(Some(Ok(frame))) => frame,
                // A reset, a GOAWAY or a closed connection mid-body.
                Some(Some(Err(e))) => {
                    if let Some(lease) = lease {
                        lease.failed();
                    }
                    return Err(failed(ClientError::Request(e)));
                }
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
}

/// Which hyper client a request goes to.
#[derive(Clone, Copy)]
pub(super) enum Via {
    H2,
    H1,
}

/// Why a request did not get its answer from a hyper client.
pub(super) enum Fallback {
    /// ALPN chose HTTP/1.1: this and every later request go to the HTTP/1.1 pool.
    NotH2(Option<Box<net::Stream>>),
    /// A redirect to this URL: the pool's libcurl goes on from there.
    Redirect(String),
    Failed(Failure),
}

/// The absolute URL a `Location` header points to from `url`: absolute already, or
/// a path on the same origin. Other relative forms are left to the status (an error).
pub(super) fn resolve_location(url: &str, location: &str) -> Option<String> {
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

/// Largest unwanted HTTP/1.1 body read only to keep its connection open.
const DRAIN_LIMIT: u64 = 64 << 10;

/// `fut`, or `None` once `stall` has passed without it finishing.
pub(super) async fn with_stall<T>(stall: Option<Duration>, fut: impl std::future::Future<Output = T>) -> Option<T> {
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
    timeout_failure(key, url, format!("no data for {:?}", stall.unwrap_or_default()))
}

pub(super) fn timed_out(key: &str, url: &str, t: Duration) -> Failure {
    timeout_failure(key, url, format!("request timed out after {t:?}"))
}

/// A timeout, retried like a reset.
fn timeout_failure(key: &str, url: &str, what: String) -> Failure {
    let source = io::Error::new(io::ErrorKind::TimedOut, what);
    Failure::Transient(StoreError::Transport { key: key.into(), url: url.into(), source: Box::new(source) }, None)
}

pub(super) fn hyper_failure(key: &str, url: &str, e: ClientError) -> Failure {
    let fatal = matches!(e, ClientError::Setup(_) | ClientError::Certificate(_));
    let e = StoreError::Transport { key: key.into(), url: url.into(), source: Box::new(e) };
    if fatal {
        Failure::Fatal(e)
    } else {
        Failure::Transient(e, None)
    }
}

/// The hyper clients of a store: HTTP/2 over `https://` unless told HTTP/1.1 and
/// over `http://` with prior knowledge (h2c); the HTTP/1.1 pool for every
/// `https://` store (for servers whose ALPN picks HTTP/1.1) and every `http://` one
/// but h2c. None when a proxy is configured or the URL carries credentials: libcurl
/// knows how to go through the one and turns the other into Basic auth.
pub(super) fn build_hyper(base_url: &str, config: &HttpConfig) -> StoreResult<(Option<H2Client>, Option<H1Pool>)> {
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
    let h1 = (tls || !h2).then(|| H1Pool::new(target.clone(), config.max_connections));
    Ok((h2.then(|| H2Client::new(target, config.max_h2_connections)), h1))
}

/// Whether a proxy may stand between us and a server of this scheme.
pub(super) fn proxy_configured(tls: bool) -> bool {
    let vars: &[&str] = if tls {
        &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        &["http_proxy", "all_proxy", "ALL_PROXY"]
    };
    vars.iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
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
}
