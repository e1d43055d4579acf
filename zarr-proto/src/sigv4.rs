//! AWS Signature Version 4 as a pure function: a request, credentials and the time
//! in, the headers that authorize it out.
//!
//! No clock and no IO: the driver passes the current time, so a signature is
//! reproducible (and testable against AWS's published examples). Only the header
//! form is implemented (not presigned URLs), with the payload either hashed or
//! declared `UNSIGNED-PAYLOAD`, as S3 allows over TLS and as most S3 clients send GETs.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::fmt::Write as _;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The SHA-256 of an empty payload, the hash of every body-less request.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The payload hash S3 accepts instead of a hash of the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// An access key, its secret and, for temporary credentials, a session token.
///
/// `Debug` never shows the secret or the token, so credentials can sit in structs
/// that are logged or put in error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (not secret: it names the key).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials (`x-amz-security-token`).
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What the payload hash header says about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature (TLS protects it).
    Unsigned,
    /// The body itself, hashed here.
    Bytes(&'a [u8]),
    /// The body's SHA-256 in lower-case hex, computed by the caller.
    Sha256Hex(&'a str),
}

/// A request to sign. The path is the one sent (already percent-encoded, as on
/// the wire; S3 signs it as it is); query parameters are given decoded.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// The `Host` header value (with a port when not the scheme's default).
    pub host: &'a str,
    /// The percent-encoded path, starting with `/`.
    pub path: &'a str,
    /// Decoded query parameters, in any order.
    pub query: &'a [(&'a str, &'a str)],
    /// Further headers to sign and send (e.g. `range`, `if-match`), any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body, or how it is declared.
    pub payload: Payload<'a>,
}

/// Where the signature is valid: an AWS region and service (`s3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The service, e.g. `s3`.
    pub service: &'a str,
}

/// Signs `request` for S3-style services at `unix_time` (seconds since 1970 UTC):
/// the headers to add to it, `authorization` last. They are `x-amz-date`,
/// `x-amz-content-sha256` and, with a session token, `x-amz-security-token`; all are
/// signed along with `host` and the request's own headers.
pub fn sign(
    request: &Request<'_>,
    credentials: &Credentials,
    scope: Scope<'_>,
    unix_time: u64,
) -> Vec<(String, String)> {
    let amz_date = amz_date(unix_time);
    let payload_hash = match request.payload {
        Payload::Unsigned => String::from(UNSIGNED_PAYLOAD),
        Payload::Bytes(body) => hex(&Sha256::digest(body)),
        Payload::Sha256Hex(h) => String::from(h),
    };
    let mut added = alloc::vec![
        (String::from("x-amz-date"), amz_date.clone()),
        (String::from("x-amz-content-sha256"), payload_hash.clone()),
    ];
    if let Some(token) = &credentials.session_token {
        added.push((String::from("x-amz-security-token"), token.clone()));
    }
    let mut headers: Vec<(String, String)> =
        request.headers.iter().map(|(k, v)| (String::from(*k), String::from(*v))).collect();
    headers.push((String::from("host"), String::from(request.host)));
    headers.extend(added.iter().cloned());
    let (canonical, signed_headers) =
        canonical_request(request.method, request.path, request.query, &headers, &payload_hash);
    let authorization = authorization(&canonical, &signed_headers, credentials, scope, &amz_date);
    added.push((String::from("authorization"), authorization));
    added
}

/// The `Authorization` header value for a canonical request made at `amz_date`.
pub fn authorization(
    canonical_request: &str,
    signed_headers: &str,
    credentials: &Credentials,
    scope: Scope<'_>,
    amz_date: &str,
) -> String {
    let date = amz_date.get(..8).unwrap_or(amz_date);
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{credential_scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(&credentials.secret_access_key, date, scope);
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id
    )
}

/// The canonical request and the `SignedHeaders` list for these parts: every header
/// given is signed (names lower-cased, values trimmed with inner runs of spaces
/// collapsed, sorted by name, repeated names joined with commas).
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(String, String)],
    payload_hash: &str,
) -> (String, String) {
    let mut query: Vec<(String, String)> = query.iter().map(|(k, v)| (uri_encode(k), uri_encode(v))).collect();
    query.sort();
    let query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");

    let mut canon: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.trim().to_ascii_lowercase(), collapse_spaces(v))).collect();
    canon.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(String, String)> = Vec::with_capacity(canon.len());
    for (name, value) in canon {
        match merged.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    let mut canonical_headers = String::new();
    for (name, value) in &merged {
        let _ = writeln!(canonical_headers, "{name}:{value}");
    }
    let signed = merged.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let path = if path.is_empty() { "/" } else { path };
    (format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{payload_hash}"), signed)
}

/// The key for one day, region and service: a chain of HMACs from the secret.
pub fn signing_key(secret: &str, date: &str, scope: Scope<'_>) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// `YYYYMMDDTHHMMSSZ` for a time in seconds since 1970 UTC.
pub fn amz_date(unix_time: u64) -> String {
    let (days, secs) = (unix_time / 86_400, unix_time % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Percent-encodes everything but the unreserved characters (RFC 3986), as SigV4
/// wants for query keys and values, and S3 for path segments.
pub fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// [`uri_encode`] leaving `/` as it is: an object key as a URL path.
pub fn uri_encode_path(s: &str) -> String {
    s.split('/').map(uri_encode).collect::<Vec<_>>().join("/")
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

fn collapse_spaces(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return [0; 32] };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    //! AWS's published examples: the SigV4 test suite (service `service`) and the
    //! S3 "Signature Calculations for the Authorization Header" examples.
    use super::*;

    fn suite_credentials() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    fn s3_credentials() -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    const SUITE: Scope<'static> = Scope { region: "us-east-1", service: "service" };
    const S3: Scope<'static> = Scope { region: "us-east-1", service: "s3" };
    /// 2013-05-24T00:00:00Z, the time of the S3 examples.
    const S3_TIME: u64 = 1_369_353_600;

    fn suite(method: &str, path: &str, query: &[(&str, &str)]) -> String {
        let headers =
            [("Host".into(), "example.amazonaws.com".into()), ("X-Amz-Date".into(), "20150830T123600Z".into())];
        let (canonical, signed) = canonical_request(method, path, query, &headers, EMPTY_SHA256);
        authorization(&canonical, &signed, &suite_credentials(), SUITE, "20150830T123600Z")
    }

    fn signature(authorization: &str) -> &str {
        authorization.rsplit("Signature=").next().unwrap_or_default()
    }

    #[test]
    fn the_signing_key_is_the_published_one() {
        let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", SUITE);
        assert_eq!(hex(&key), "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
    }

    #[test]
    fn sigv4_test_suite() {
        assert_eq!(
            suite("GET", "/", &[]),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // get-vanilla-query-order-key-case: parameters are sorted before signing.
        let sig = suite("GET", "/", &[("Param2", "value2"), ("Param1", "value1")]);
        assert_eq!(signature(&sig), "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
        // post-vanilla.
        assert_eq!(
            signature(&suite("POST", "/", &[])),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
        // get-utf8: the path is signed as sent, percent-encoded.
        assert_eq!(
            signature(&suite("GET", &uri_encode_path("/\u{1234}"), &[])),
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"
        );
    }

    #[test]
    fn s3_get_object_with_a_range() {
        let request = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: &[],
            headers: &[("Range", "bytes=0-9")],
            payload: Payload::Bytes(b""),
        };
        let headers = sign(&request, &s3_credentials(), S3, S3_TIME);
        assert_eq!(headers[0], ("x-amz-date".into(), "20130524T000000Z".into()));
        assert_eq!(headers[1], ("x-amz-content-sha256".into(), EMPTY_SHA256.into()));
        let auth = &headers[2].1;
        assert!(auth.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"), "{auth}");
        assert_eq!(signature(auth), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    }

    #[test]
    fn s3_put_object_hashes_the_body() {
        let request = Request {
            method: "PUT",
            host: "examplebucket.s3.amazonaws.com",
            path: &uri_encode_path("/test$file.text"),
            query: &[],
            headers: &[("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            payload: Payload::Bytes(b"Welcome to Amazon S3."),
        };
        let headers = sign(&request, &s3_credentials(), S3, S3_TIME);
        assert_eq!(headers[1].1, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
        let auth = &headers[2].1;
        assert!(auth.contains("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"));
        assert_eq!(signature(auth), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    }

    #[test]
    fn s3_list_objects_signs_the_query() {
        let request = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/",
            query: &[("prefix", "J"), ("max-keys", "2")],
            headers: &[],
            payload: Payload::Sha256Hex(EMPTY_SHA256),
        };
        let headers = sign(&request, &s3_credentials(), S3, S3_TIME);
        assert_eq!(signature(&headers[2].1), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    }

    #[test]
    fn a_session_token_is_sent_and_signed_and_never_shown() {
        let mut credentials = s3_credentials();
        credentials.session_token = Some("TOKEN".into());
        let request =
            Request { method: "GET", host: "h", path: "/k", query: &[], headers: &[], payload: Payload::Unsigned };
        let headers = sign(&request, &credentials, S3, S3_TIME);
        assert_eq!(headers[1].1, UNSIGNED_PAYLOAD);
        assert_eq!(headers[2], ("x-amz-security-token".into(), "TOKEN".into()));
        assert!(headers[3].1.contains("x-amz-date;x-amz-security-token,"));
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("TOKEN") && !shown.contains("EXAMPLEKEY"), "{shown}");
    }

    #[test]
    fn dates_and_encodings() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(uri_encode("a b+c/~"), "a%20b%2Bc%2F~");
        assert_eq!(uri_encode_path("/bucket/c/0 1"), "/bucket/c/0%201");
    }
}
