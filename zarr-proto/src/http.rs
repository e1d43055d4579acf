//! HTTP mapping shared by every driver: which status means what, and when to retry.
//!
//! Pure functions of status codes, headers and attempt counts; the drivers do the IO.
//! Nothing here reads a clock or a random source: delays are computed from the
//! attempt number and a random `u64` the caller supplies, so the policy is
//! deterministic under test.
//!
//! - [`ByteRange`]: the part of a stored value a request asks for, and its `Range` header
//!   (defined in its own module, re-exported here and at the crate root).
//! - [`classify_status`]: status code -> [`Outcome`].
//! - [`RetryPolicy`]: how many attempts, and how long to wait between them.
//! - [`check_body`]: does a response body match `Content-Length`, `Content-Range`
//!   and the range that was asked for? A short body is an error, never silent data.
//! - [`join_url`]: a store key appended to a base URL, percent-encoded.

use alloc::format;
use alloc::string::String;
use core::fmt;
use core::ops::Range;
use core::time::Duration;

use crate::byte_range::parse_u64;
pub use crate::byte_range::ByteRange;

/// What a driver does with a response, decided by its status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 200 or 206: the body is the value (check it with [`check_body`]).
    Bytes,
    /// The key does not exist: the chunk takes its fill value.
    Missing,
    /// A transient failure: try again after [`RetryPolicy::delay`].
    Retry,
    /// A permanent failure: report it with the key and the status.
    Fail,
}

/// How status codes map to [`Outcome`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusPolicy {
    /// Treat 403 as a missing key. Some object stores (S3 without `ListBucket`
    /// permission) answer 403 for a key that does not exist.
    pub forbidden_is_missing: bool,
}

/// Maps a status code to what the driver should do.
///
/// 200/206 are data, 404 (and 403 when configured) missing, 408, 429 and every
/// 5xx transient; everything else (other 4xx, 1xx, 3xx the client did not
/// follow, 416) fails.
pub fn classify_status(status: u16, policy: StatusPolicy) -> Outcome {
    match status {
        200 | 206 => Outcome::Bytes,
        404 => Outcome::Missing,
        403 if policy.forbidden_is_missing => Outcome::Missing,
        408 | 429 | 500..=599 => Outcome::Retry,
        _ => Outcome::Fail,
    }
}

/// Parses a `Retry-After` value given in seconds.
///
/// The HTTP-date form is not supported (it needs a clock) and gives `None`;
/// the caller then falls back to its own backoff.
pub fn parse_retry_after(value: &str) -> Option<u64> {
    parse_u64(value.trim())
}

/// How often and how patiently a driver retries a transient failure.
///
/// Delays grow exponentially from `base_delay` with "equal jitter": attempt `n`
/// (1-based, counting the attempt that just failed) waits a random duration in
/// `[d/2, d]` where `d = min(base_delay * 2^(n-1), max_delay)`. A server's
/// `Retry-After` raises the delay to at least that value, still capped by `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// Delay before the first retry, before jitter.
    pub base_delay: Duration,
    /// Upper bound of every delay, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// True when another attempt is allowed after `attempt` attempts failed (1-based).
    pub fn should_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// The jittered exponential backoff after the `attempt`-th failure (1-based),
    /// using `random` (any `u64`, e.g. from a seeded RNG) for the jitter.
    pub fn backoff(&self, attempt: u32, random: u64) -> Duration {
        let full = self.ceiling_ms(attempt);
        let half = full / 2;
        let jitter = match (full - half).checked_add(1) {
            Some(span) => random % span,
            None => random,
        };
        Duration::from_millis(half + jitter)
    }

    /// How long to wait before the next attempt, or `None` when the `attempt`-th
    /// failure (1-based) was the last one allowed.
    ///
    /// `retry_after_secs` is the server's `Retry-After` in seconds, if it sent one.
    pub fn delay(&self, attempt: u32, retry_after_secs: Option<u64>, random: u64) -> Option<Duration> {
        if !self.should_retry(attempt) {
            return None;
        }
        let mut d = self.backoff(attempt, random);
        if let Some(secs) = retry_after_secs {
            let ra = Duration::from_secs(secs).min(self.max_delay);
            d = d.max(ra);
        }
        Some(d)
    }

    /// The longest total time all delays of this policy can add up to.
    pub fn max_total_delay(&self) -> Duration {
        (1..self.max_attempts)
            .fold(Duration::ZERO, |acc, n| acc.saturating_add(Duration::from_millis(self.ceiling_ms(n))))
    }

    /// The delay after the `attempt`-th failure before jitter: `base * 2^(attempt-1)`, capped.
    fn ceiling_ms(&self, attempt: u32) -> u64 {
        let shift = attempt.saturating_sub(1).min(63);
        duration_ms(self.base_delay).saturating_mul(1u64 << shift).min(duration_ms(self.max_delay))
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A `Content-Range: bytes first-last/total` header (RFC 9110 14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// The first byte sent.
    pub first: u64,
    /// The last byte sent (inclusive).
    pub last: u64,
    /// The length of the whole value, when the server knows it.
    pub total: Option<u64>,
}

impl ContentRange {
    /// Parses `bytes first-last/total` or `bytes first-last/*`.
    ///
    /// The unsatisfied form `bytes */total` and malformed values give `None`.
    pub fn parse(value: &str) -> Option<ContentRange> {
        let rest = value.trim().strip_prefix("bytes")?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let (first, last) = range.trim().split_once('-')?;
        let (first, last) = (parse_u64(first.trim())?, parse_u64(last.trim())?);
        let total = match total.trim() {
            "*" => None,
            t => Some(parse_u64(t)?),
        };
        // A range of 2^64 bytes (`bytes 0-18446744073709551615/*`) has no u64 length.
        if last < first || total.is_some_and(|t| last >= t) || last - first == u64::MAX {
            return None;
        }
        Some(ContentRange { first, last, total })
    }

    /// Number of bytes this header says the body holds.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Always false: a content range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.total {
            Some(t) => write!(f, "bytes {}-{}/{t}", self.first, self.last),
            None => write!(f, "bytes {}-{}/*", self.first, self.last),
        }
    }
}

/// Why a response body cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is shorter or longer than `Content-Length` said.
    LengthMismatch {
        /// `Content-Length`.
        expected: u64,
        /// Bytes received.
        got: u64,
    },
    /// The body is shorter or longer than `Content-Range` said.
    RangeLengthMismatch {
        /// Length from `Content-Range`.
        expected: u64,
        /// Bytes received.
        got: u64,
    },
    /// A 206 whose `Content-Range` is missing or malformed.
    BadContentRange(String),
    /// A 206 for a different range than the one requested.
    WrongRange {
        /// What was asked for.
        requested: ByteRange,
        /// What the server said it sent.
        got: ContentRange,
    },
    /// A 206 although no range was requested.
    UnexpectedPartial,
    /// A 200 whose full body does not contain the requested range.
    RangeNotSatisfiable {
        /// What was asked for.
        requested: ByteRange,
        /// Length of the full body.
        total: u64,
    },
    /// The status is not one that carries a value.
    NotAValue(u16),
    /// The parts of a value read as several ranges disagree on its length: it was
    /// replaced while it was being read.
    ValueChanged {
        /// The length the first part reported.
        total: u64,
        /// The length a later part reported.
        now: u64,
    },
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::LengthMismatch { expected, got } => {
                write!(f, "body of {got} bytes does not match content-length {expected}")
            }
            BodyError::RangeLengthMismatch { expected, got } => {
                write!(f, "body of {got} bytes does not match content-range length {expected}")
            }
            BodyError::BadContentRange(v) => write!(f, "partial response with bad content-range `{v}`"),
            BodyError::WrongRange { requested, got } => {
                write!(f, "asked for {requested}, server sent {got}")
            }
            BodyError::UnexpectedPartial => write!(f, "partial response to a request for the whole value"),
            BodyError::RangeNotSatisfiable { requested, total } => {
                write!(f, "{requested} is outside a value of {total} bytes")
            }
            BodyError::NotAValue(s) => write!(f, "status {s} does not carry a value"),
            BodyError::ValueChanged { total, now } => {
                write!(f, "the value changed while its parts were read ({total} bytes, then {now})")
            }
        }
    }
}

impl BodyError {
    /// This error as a core [`Error::Store`](crate::Error::Store) for `key`.
    pub fn into_error(self, key: &str) -> crate::Error {
        crate::Error::Store { key: key.into(), reason: format!("{self}") }
    }
}

/// Checks a complete response body and says which part of it is the value asked for.
///
/// - `status`: 200 or 206 (anything else is [`BodyError::NotAValue`]).
/// - `requested`: the range the request asked for, if any.
/// - `content_length`, `content_range`: the response headers, if present.
/// - `body_len`: the bytes actually received.
///
/// Returns the byte range of the body to use: all of it for a 206 or a plain
/// 200, the requested part when a server ignored `Range` and sent the whole
/// value with 200.
///
/// # Errors
///
/// A body whose length disagrees with `Content-Length` or `Content-Range`, a 206
/// for another range than requested, or a 200 too short for the requested range.
pub fn check_body(
    status: u16,
    requested: Option<ByteRange>,
    content_length: Option<u64>,
    content_range: Option<&str>,
    body_len: u64,
) -> Result<Range<u64>, BodyError> {
    if let Some(expected) = content_length {
        if expected != body_len {
            return Err(BodyError::LengthMismatch { expected, got: body_len });
        }
    }
    match status {
        200 => match requested {
            None => Ok(0..body_len),
            Some(r) if r.is_empty() => Ok(0..0),
            Some(r) => r.resolve(body_len).ok_or(BodyError::RangeNotSatisfiable { requested: r, total: body_len }),
        },
        206 => {
            let requested = requested.ok_or(BodyError::UnexpectedPartial)?;
            let header = content_range.ok_or_else(|| BodyError::BadContentRange(String::new()))?;
            let cr = ContentRange::parse(header).ok_or_else(|| BodyError::BadContentRange(header.into()))?;
            if cr.len() != body_len {
                return Err(BodyError::RangeLengthMismatch { expected: cr.len(), got: body_len });
            }
            let wrong = BodyError::WrongRange { requested, got: cr };
            match (requested, cr.total) {
                (r, Some(total)) => {
                    let want = r.resolve(total).ok_or(wrong.clone())?;
                    if want.start != cr.first || want.end != cr.last + 1 {
                        return Err(wrong);
                    }
                }
                (ByteRange::FromStart { offset, length }, None) => {
                    // Without a total the server may still clamp at the end it knows.
                    let too_long = length.is_some_and(|len| cr.len() > len);
                    if cr.first != offset || too_long {
                        return Err(wrong);
                    }
                }
                (ByteRange::Suffix(n), None) => {
                    if cr.len() > n {
                        return Err(wrong);
                    }
                }
            }
            Ok(0..body_len)
        }
        s => Err(BodyError::NotAValue(s)),
    }
}

/// Appends a store key to a base URL with exactly one `/` between them,
/// percent-encoding every byte of the key outside `A-Z a-z 0-9 - . _ ~ /`.
pub fn join_url(base: &str, key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let base = base.trim_end_matches('/');
    let key = key.trim_start_matches('/');
    let mut out = String::with_capacity(base.len() + 1 + key.len());
    out.push_str(base);
    out.push('/');
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn status_outcomes() {
        let p = StatusPolicy::default();
        let s3 = StatusPolicy { forbidden_is_missing: true };
        assert_eq!(classify_status(200, p), Outcome::Bytes);
        assert_eq!(classify_status(206, p), Outcome::Bytes);
        assert_eq!(classify_status(404, p), Outcome::Missing);
        assert_eq!(classify_status(403, p), Outcome::Fail);
        assert_eq!(classify_status(403, s3), Outcome::Missing);
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert_eq!(classify_status(s, p), Outcome::Retry, "{s}");
        }
        for s in [100, 204, 301, 304, 400, 401, 405, 416] {
            assert_eq!(classify_status(s, p), Outcome::Fail, "{s}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        // attempt 1: [50, 100]; attempt 2: [100, 200]; attempt 3: [200, 400]; 5+: capped [500, 1000].
        assert_eq!(p.backoff(1, 0), Duration::from_millis(50));
        assert_eq!(p.backoff(1, 50), Duration::from_millis(100));
        assert_eq!(p.backoff(1, 51), Duration::from_millis(50));
        assert_eq!(p.backoff(2, 0), Duration::from_millis(100));
        assert_eq!(p.backoff(3, u64::MAX), Duration::from_millis(200 + u64::MAX % 201));
        for r in [0u64, 1, 77, 12345, u64::MAX] {
            for a in 1..100 {
                let d = p.backoff(a, r);
                assert!(d <= p.max_delay, "{a} {r} {d:?}");
                assert!(d >= Duration::from_millis(50));
            }
            assert!(p.backoff(6, r) >= Duration::from_millis(500));
        }
    }

    #[test]
    fn retry_limits_and_retry_after() {
        let p =
            RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(10), max_delay: Duration::from_secs(2) };
        assert!(p.delay(1, None, 0).is_some());
        assert!(p.delay(2, None, 0).is_some());
        assert_eq!(p.delay(3, None, 0), None);
        assert_eq!(p.delay(1, Some(1), 0), Some(Duration::from_secs(1)));
        // Retry-After is capped by max_delay.
        assert_eq!(p.delay(1, Some(3600), 0), Some(Duration::from_secs(2)));
        assert_eq!(RetryPolicy::none().delay(1, None, 0), None);
        assert_eq!(p.max_total_delay(), Duration::from_millis(30));
        assert_eq!(parse_retry_after(" 7 "), Some(7));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    /// Found by the `http_response` fuzz target: `len` of a 2^64 byte range overflowed.
    #[test]
    fn content_range_of_2_pow_64_bytes_is_rejected() {
        assert_eq!(ContentRange::parse("bytes 0-18446744073709551615/*"), None);
        let cr = ContentRange::parse("bytes 1-18446744073709551615/*").unwrap();
        assert_eq!(cr.len(), u64::MAX);
        let e = check_body(206, Some(ByteRange::new(0, 10)), None, Some("bytes 0-18446744073709551615/*"), 0);
        assert!(matches!(e, Err(BodyError::BadContentRange(_))), "{e:?}");
    }

    #[test]
    fn content_range_parse() {
        assert_eq!(
            ContentRange::parse("bytes 0-99/1000"),
            Some(ContentRange { first: 0, last: 99, total: Some(1000) })
        );
        assert_eq!(ContentRange::parse("bytes 5-5/*"), Some(ContentRange { first: 5, last: 5, total: None }));
        assert_eq!(ContentRange::parse("bytes */1000"), None);
        assert_eq!(ContentRange::parse("bytes 9-3/1000"), None);
        assert_eq!(ContentRange::parse("bytes 0-1000/1000"), None);
        assert_eq!(ContentRange::parse("bytes 0-x/1000"), None);
        assert_eq!(ContentRange::parse("bytes 0-9/100").unwrap().to_string(), "bytes 0-9/100");
    }

    #[test]
    fn body_checks() {
        let r = ByteRange::new(10, 5);
        // A correct 206.
        assert_eq!(check_body(206, Some(r), Some(5), Some("bytes 10-14/100"), 5), Ok(0..5));
        // Clamped at the end of the value.
        assert_eq!(check_body(206, Some(ByteRange::new(98, 5)), None, Some("bytes 98-99/100"), 2), Ok(0..2));
        // Suffix.
        assert_eq!(check_body(206, Some(ByteRange::Suffix(4)), None, Some("bytes 96-99/100"), 4), Ok(0..4));
        assert!(matches!(
            check_body(206, Some(ByteRange::Suffix(4)), None, Some("bytes 95-98/100"), 4),
            Err(BodyError::WrongRange { .. })
        ));
        // Truncated body.
        assert_eq!(
            check_body(206, Some(r), Some(5), Some("bytes 10-14/100"), 3),
            Err(BodyError::LengthMismatch { expected: 5, got: 3 })
        );
        assert_eq!(
            check_body(206, Some(r), None, Some("bytes 10-14/100"), 3),
            Err(BodyError::RangeLengthMismatch { expected: 5, got: 3 })
        );
        // Wrong range, missing header, unexpected partial.
        assert!(matches!(check_body(206, Some(r), None, Some("bytes 0-4/100"), 5), Err(BodyError::WrongRange { .. })));
        assert!(matches!(check_body(206, Some(r), None, None, 5), Err(BodyError::BadContentRange(_))));
        assert_eq!(check_body(206, None, None, Some("bytes 0-4/100"), 5), Err(BodyError::UnexpectedPartial));
        // A server that ignores Range sends 200 with the whole value.
        assert_eq!(check_body(200, Some(r), Some(100), None, 100), Ok(10..15));
        assert_eq!(check_body(200, Some(ByteRange::Suffix(4)), None, None, 100), Ok(96..100));
        assert!(matches!(check_body(200, Some(r), None, None, 8), Err(BodyError::RangeNotSatisfiable { .. })));
        assert_eq!(check_body(200, None, Some(7), None, 7), Ok(0..7));
        assert_eq!(check_body(200, None, Some(7), None, 6), Err(BodyError::LengthMismatch { expected: 7, got: 6 }));
        assert_eq!(check_body(404, None, None, None, 0), Err(BodyError::NotAValue(404)));
        let e = check_body(200, None, Some(7), None, 6).unwrap_err().into_error("a/c/0");
        assert!(e.to_string().contains("a/c/0") && e.to_string().contains("content-length 7"), "{e}");
    }

    #[test]
    fn urls() {
        assert_eq!(join_url("http://h:1/data/", "/a/c/0.0"), "http://h:1/data/a/c/0.0");
        assert_eq!(join_url("http://h:1/data", "zarr.json"), "http://h:1/data/zarr.json");
        assert_eq!(join_url("http://h", "a b/%?#é"), "http://h/a%20b/%25%3F%23%C3%A9");
    }
}
