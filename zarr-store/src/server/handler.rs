//! One request: fault dice, latency, then the store operation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_io::Timer;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH,
    LOCATION, RANGE, RETRY_AFTER,
};
use hyper::{Method, Request, Response, StatusCode};
use zarr_proto::http::{ByteRange, ContentRange};

use super::{Backend, Fault, Shared};
use crate::{fs, Condition, Store, StoreError, Version, WriteResult};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type Body = BoxBody<Bytes, BoxError>;

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

fn status(code: StatusCode, msg: &str) -> Response<Body> {
    let mut r = Response::new(full(format!("{msg}\n")));
    *r.status_mut() = code;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// The store key of a request path: without the leading `/`, percent-decoded.
fn key_of(path: &str) -> Option<String> {
    let raw = path.trim_start_matches('/').as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            let s = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(s, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Rolls the fault dice for one request.
fn pick_fault(shared: &Shared) -> (Option<Fault>, std::time::Duration) {
    let mut knobs = shared.knobs();
    let latency = knobs.latency;
    if knobs.faults.is_empty() {
        return (None, latency);
    }
    let x = knobs.rng.f64();
    let mut acc = 0.0;
    for &(fault, fraction) in &knobs.faults {
        acc += fraction;
        if x < acc {
            return (Some(fault), latency);
        }
    }
    (None, latency)
}

/// Counts a request as in flight until it is dropped.
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    let stats = &shared.stats;
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let now = stats.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    stats.peak_in_flight.fetch_max(now, Ordering::Relaxed);
    let _in_flight = InFlight(&stats.in_flight);
    let (fault, latency) = pick_fault(&shared);
    if !latency.is_zero() {
        Timer::after(latency).await;
    }
    if fault.is_some() {
        stats.faults.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Some(Fault::Status500) => return Ok(status(StatusCode::INTERNAL_SERVER_ERROR, "injected fault")),
        Some(Fault::Status503) => return Ok(status(StatusCode::SERVICE_UNAVAILABLE, "injected fault")),
        Some(Fault::TooManyRequests(secs)) => {
            let mut r = status(StatusCode::TOO_MANY_REQUESTS, "injected fault");
            r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
            return Ok(r);
        }
        // An error from the service makes hyper drop the HTTP/1.1 connection or
        // reset the HTTP/2 stream without an answer.
        Some(Fault::Reset) => return Err("injected connection reset".into()),
        Some(Fault::Stall(d)) => {
            Timer::after(d).await;
        }
        Some(Fault::Truncate) | None => {}
    }
    if let Some((name, value)) = &shared.required_header {
        if req.headers().get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str()) {
            return Ok(status(StatusCode::UNAUTHORIZED, "missing or wrong credentials"));
        }
    }
    if let Some(base) = &shared.redirect_to {
        let mut r = status(StatusCode::TEMPORARY_REDIRECT, "moved");
        if let Ok(v) = HeaderValue::from_str(&format!("{base}{}", req.uri().path())) {
            r.headers_mut().insert(LOCATION, v);
        }
        return Ok(r);
    }
    let Some(key) = key_of(req.uri().path()) else {
        return Ok(status(StatusCode::BAD_REQUEST, "path is not a valid key"));
    };
    let method = req.method().clone();
    let resp = match method {
        Method::GET | Method::HEAD => {
            let range = req.headers().get(RANGE).and_then(|v| v.to_str().ok()).and_then(ByteRange::parse_header);
            let range = range.filter(|_| !shared.ignore_range);
            get(&shared, &key, range, method == Method::HEAD, fault == Some(Fault::Truncate)).await
        }
        Method::PUT if shared.writable => put(&shared, &key, req).await,
        Method::DELETE if shared.writable => match condition(req.headers()) {
            Err(why) => status(StatusCode::BAD_REQUEST, why),
            Ok(cond) => match backend_store(&shared.backend).delete_if(&key, cond).await {
                Ok(WriteResult::Stored(_)) => with_status(empty(), StatusCode::NO_CONTENT),
                Ok(WriteResult::ConditionFailed) => status(StatusCode::PRECONDITION_FAILED, "precondition failed"),
                Err(e) => error_response(&e),
            },
        },
        _ => status(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    };
    if resp.status() == StatusCode::PRECONDITION_FAILED {
        shared.stats.conditions_failed.fetch_add(1, Ordering::Relaxed);
    }
    Ok(resp)
}

fn with_status(body: Body, code: StatusCode) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = code;
    r
}

/// The strong ETag of a backend version: the token in quotes (store versions are
/// hex or decimal, never a quote).
fn etag(version: &Version) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{version}\"")).ok()
}

/// The write condition of a request's `If-Match` / `If-None-Match: *`.
///
/// One strong entity tag in `If-Match` is understood; a weak one (`W/"..."`) never
/// matches strongly, so it names no version of ours and fails the condition. Lists,
/// `If-Match: *` and `If-None-Match` with tags are refused rather than ignored.
fn condition(headers: &HeaderMap) -> Result<Condition, &'static str> {
    fn text(v: &HeaderValue) -> Result<&str, &'static str> {
        v.to_str().map(str::trim).map_err(|_| "unreadable condition header")
    }
    let if_match = headers.get(IF_MATCH).map(text).transpose()?;
    let if_none_match = headers.get(IF_NONE_MATCH).map(text).transpose()?;
    match (if_match, if_none_match) {
        (None, None) => Ok(Condition::Always),
        (None, Some("*")) => Ok(Condition::Absent),
        (None, Some(_)) => Err("only `If-None-Match: *` is supported on writes"),
        (Some(_), Some(_)) => Err("both If-Match and If-None-Match"),
        (Some(tag), None) => {
            if tag.starts_with("W/") {
                // A version no backend issues: the condition fails, as RFC 9110 wants.
                return Ok(Condition::Matches(Version::new("W/")));
            }
            match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(t) if !t.contains('"') => Ok(Condition::Matches(Version::new(t))),
                _ => Err("If-Match must be one strong entity tag"),
            }
        }
    }
}

fn backend_store(b: &Backend) -> &dyn Store {
    match b {
        Backend::Dir(s) => s,
        Backend::Memory(s) => s,
    }
}

fn error_response(e: &StoreError) -> Response<Body> {
    match e {
        StoreError::InvalidKey { .. } => status(StatusCode::BAD_REQUEST, &e.to_string()),
        StoreError::RangeNotSatisfiable { len, .. } => {
            let mut r = status(StatusCode::RANGE_NOT_SATISFIABLE, &e.to_string());
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(CONTENT_RANGE, v);
            }
            r
        }
        _ => status(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Largest file whose ranged reads carry an ETag (hashing reads all of it): the
/// default [`HttpConfig::split_size`](crate::HttpConfig::split_size), so that an
/// `HttpStore`'s whole-value read, which starts with a range of that size, gets one.
const ETAG_RANGE_LIMIT: u64 = 8 << 20;

/// Reads `range` of `key` with the full length of the value and its version.
async fn read(
    backend: &Backend,
    key: &str,
    range: Option<ByteRange>,
) -> Result<Option<(u64, Bytes, Option<Version>)>, StoreError> {
    match backend {
        Backend::Memory(m) => {
            crate::validate_key(key)?;
            let Some((v, version)) = m.get_versioned_now(key) else { return Ok(None) };
            let len = v.len() as u64;
            Ok(Some((len, crate::apply_range(key, v, range)?, version)))
        }
        Backend::Dir(d) => {
            let path = d.path_of(key)?;
            let key = key.to_owned();
            // A value is hashed as it is read, for its ETag. A range of a large file is
            // not: that would read a whole shard to answer for a few bytes of it.
            blocking::unblock(move || {
                // A file missing here may be there when it is opened (another client's
                // put): read it versioned, or a writer's conditional read-modify-write
                // of a new chunk gets bytes without an ETag.
                let small = std::fs::metadata(&path).map_or(true, |m| m.len() <= ETAG_RANGE_LIMIT);
                if range.is_none() || small {
                    Ok(fs::read_versioned(&path, &key, range)?.map(|(len, b, v)| (len, b, Some(v))))
                } else {
                    Ok(fs::read_with_len(&path, &key, range)?.map(|(len, b)| (len, b, None)))
                }
            })
            .await
        }
    }
}

/// How long a truncated body waits between its half and the cut.
const TRUNCATE_DELAY: std::time::Duration = std::time::Duration::from_millis(5);

async fn get(shared: &Shared, key: &str, range: Option<ByteRange>, head: bool, truncate: bool) -> Response<Body> {
    // An empty range cannot come from a Range header; treat it as the whole value.
    let range = range.filter(|r| !r.is_empty());
    let (len, data, version) = match read(&shared.backend, key, range).await {
        Ok(Some(v)) => v,
        Ok(None) if shared.missing_is_forbidden => return status(StatusCode::FORBIDDEN, "access denied"),
        Ok(None) => return status(StatusCode::NOT_FOUND, "no such key"),
        Err(e) => return error_response(&e),
    };
    let n = data.len() as u64;
    let mut builder = Response::builder().header(ACCEPT_RANGES, "bytes").header(CONTENT_LENGTH, n);
    if let Some(tag) = version.as_ref().and_then(etag) {
        builder = builder.header(ETAG, tag);
    }
    if let Some(r) = range {
        // read() resolved the range against len, so it is satisfiable here.
        let span = r.resolve(len).unwrap_or(0..0);
        let cr = ContentRange { first: span.start, last: span.end.saturating_sub(1), total: Some(len) };
        builder = builder.status(StatusCode::PARTIAL_CONTENT).header(CONTENT_RANGE, cr.to_string());
    } else {
        builder = builder.status(StatusCode::OK);
    }
    let body = if head {
        empty()
    } else if truncate && n > 0 {
        let half = data.slice(..data.len() / 2);
        shared.stats.body_bytes.fetch_add(half.len() as u64, Ordering::Relaxed);
        // The cut waits a moment, so that the head and the half are on the wire first:
        // an error hyper reads at once drops the connection with them unsent.
        let cut = futures_lite::stream::once_future(async {
            Timer::after(TRUNCATE_DELAY).await;
            Err::<Frame<Bytes>, BoxError>("injected truncated body".into())
        });
        let frames = futures_lite::StreamExt::chain(futures_lite::stream::once(Ok(Frame::data(half))), cut);
        BodyExt::boxed(StreamBody::new(frames))
    } else {
        shared.stats.body_bytes.fetch_add(n, Ordering::Relaxed);
        full(data)
    };
    builder.body(body).unwrap_or_else(|e| status(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

async fn put(shared: &Shared, key: &str, req: Request<Incoming>) -> Response<Body> {
    let cond = match condition(req.headers()) {
        Ok(c) => c,
        Err(why) => return status(StatusCode::BAD_REQUEST, why),
    };
    let limit = usize::try_from(shared.max_put_bytes).unwrap_or(usize::MAX);
    let value = match Limited::new(req.into_body(), limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => return status(StatusCode::PAYLOAD_TOO_LARGE, &e.to_string()),
    };
    match backend_store(&shared.backend).put(key, value, cond).await {
        Ok(WriteResult::Stored(version)) => {
            let mut r = with_status(empty(), StatusCode::CREATED);
            if let Some(tag) = version.as_ref().and_then(etag) {
                r.headers_mut().insert(ETAG, tag);
            }
            r
        }
        Ok(WriteResult::ConditionFailed) => status(StatusCode::PRECONDITION_FAILED, "precondition failed"),
        Err(e) => error_response(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_from_paths() {
        assert_eq!(key_of("/a/c/0.0").as_deref(), Some("a/c/0.0"));
        assert_eq!(key_of("/a%20b/%C3%A9").as_deref(), Some("a b/é"));
        assert_eq!(key_of("/bad%2"), None);
        assert_eq!(key_of("/bad%zz"), None);
        assert_eq!(key_of("/%FF"), None);
    }

    #[test]
    fn write_conditions_from_headers() {
        let h = |pairs: &[(hyper::header::HeaderName, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(k.clone(), HeaderValue::from_str(v).unwrap());
            }
            condition(&m)
        };
        assert_eq!(h(&[]), Ok(Condition::Always));
        assert_eq!(h(&[(IF_NONE_MATCH, "*")]), Ok(Condition::Absent));
        assert_eq!(h(&[(IF_MATCH, "\"7\"")]), Ok(Condition::Matches(Version::new("7"))));
        assert_eq!(h(&[(IF_MATCH, "W/\"7\"")]), Ok(Condition::Matches(Version::new("W/"))));
        assert!(h(&[(IF_MATCH, "\"a\", \"b\"")]).is_err());
        assert!(h(&[(IF_MATCH, "*")]).is_err());
        assert!(h(&[(IF_NONE_MATCH, "\"7\"")]).is_err());
    }
}
