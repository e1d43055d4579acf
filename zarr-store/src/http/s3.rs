//! An S3 bucket prefix as a store: the [`HttpStore`] machinery (pools, retries,
//! request budget, TLS) with every attempt signed by SigV4 and S3's own listing.

use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use zarr_proto::http::{classify_status, join_url, ByteRange, Outcome};
use zarr_proto::sigv4::{self, Credentials, Payload, Scope};
use zarr_proto::StoreKind;

use super::{Failure, HttpConfig, HttpStore, Method, RequestSigner, SignInput};
use crate::s3_xml::{parse_error, parse_list, ListPage};
use crate::{
    dir_prefix, validate_key, BoxFuture, Condition, ListDir, S3Config, S3Options, Store, StoreError, StoreResult,
    Versioned, WriteResult,
};

/// Most keys S3 returns in one ListObjectsV2 page (its own maximum).
const MAX_KEYS: u32 = 1000;

/// A store over `s3://bucket/prefix`: keys are object keys under the prefix.
///
/// Requests go through an [`HttpStore`]'s transports (a keep-alive HTTP/1.1 pool,
/// plain or over TLS; libcurl through a proxy), retries and request budget; each
/// attempt is signed with AWS SigV4 at the time it is sent (GETs with
/// `UNSIGNED-PAYLOAD`, PUTs with the body's SHA-256), or sent unsigned when the
/// configuration has no credentials.
///
/// - GET with ranges, suffix ranges included (`bytes=-N`); HEAD for sizes; PUT; DELETE.
/// - `list` and `list_dir` are ListObjectsV2, page after page (with the `/` delimiter
///   for `list_dir`).
/// - 404 (`NoSuchKey`) is a missing key; 403 is [`StoreError::AccessDenied`], never a
///   missing key; 500 and 503 (`InternalError`, `SlowDown`) are retried with backoff.
/// - A request signed for the wrong region (301, or 400 `AuthorizationHeaderMalformed`)
///   is sent again signed for the region the server names (`x-amz-bucket-region` or the
///   error document's `<Region>`).
///
/// # Conditional writes
///
/// Off unless asked for with [`with_conditional_writes`](Self::with_conditional_writes):
/// `If-Match` / `If-None-Match` are trusted only where the server is known to check
/// them on both PUT and DELETE, because a server that ignores them cannot be told from
/// one that honours them, and an ignored condition is a silent lost update. AWS S3
/// checks both headers on PUT atomically with the write; other S3 servers differ by
/// product and version, hence the opt-in.
///
/// What s3s-fs 0.14.1 does, read from its `put_object`: it looks at the file
/// *before* it reads the body, then streams the body to a temporary file and renames
/// it over the key. `If-None-Match: *` is refused (412) when the file exists at that
/// moment; `If-Match: ETAG` is refused when the file is missing or its MD5 is another
/// ETag. Nothing is locked between that check and the rename, so two writers that
/// both pass the check both succeed and the last rename wins: the race window is the
/// whole upload of the body plus the rename, not a single instant. Conditions are
/// ignored on DELETE (it removes the file whatever the header says). So against
/// s3s-fs a refused condition is a real conflict (the tests check that a create over
/// an existing key and an update from a stale ETag are refused), but an accepted one
/// proves nothing when another writer is racing: use it for sequential
/// read-modify-write, not as a lock.
///
/// # Against s3s-fs
///
/// The tests run against s3s-fs 0.14.1, which checks SigV4 and answers ranges,
/// suffix ranges, ETags and paged ListObjectsV2 (1000 keys a page by default, fewer
/// when asked with `max-keys`) as S3 does, with two gaps: a suffix longer than the
/// object gets 500 `InternalError` (AWS sends the whole object), and write conditions
/// are checked on PUT only, and not atomically with the write (above).
///
/// Neither `Debug` nor any error shows the secret key or a signature.
#[derive(Debug, Clone)]
pub struct S3Store {
    inner: Arc<S3Inner>,
    conditional_writes: bool,
    page_size: u32,
}

#[derive(Debug)]
struct S3Inner {
    config: S3Config,
    /// The settings the HTTP store was made with, its signer included.
    http_config: HttpConfig,
    /// The region requests are signed for, shared with the signer; corrected when the
    /// server names another.
    region: Arc<RwLock<String>>,
    /// The HTTP store at the bucket's URL, made anew when a region correction moves
    /// the bucket's URL (AWS endpoints name the region).
    http: RwLock<HttpStore>,
}

impl S3Store {
    /// A store for the resolved `config`, over HTTP with `http` (its `signer` is replaced).
    ///
    /// # Errors
    ///
    /// As for [`HttpStore::with_config`].
    pub fn new(config: S3Config, http: HttpConfig) -> StoreResult<S3Store> {
        let region = Arc::new(RwLock::new(config.region.clone()));
        let http_config = HttpConfig { signer: Some(signer(config.credentials.clone(), Arc::clone(&region))), ..http };
        let store = HttpStore::with_config(&config.bucket_url(), http_config.clone())?;
        let inner = S3Inner { config, http_config, region, http: RwLock::new(store) };
        Ok(S3Store { inner: Arc::new(inner), conditional_writes: false, page_size: MAX_KEYS })
    }

    /// A store for `url` (`s3://bucket/prefix`) with `options`, the environment and the
    /// shared AWS files ([`S3Config::from_env`]).
    ///
    /// # Errors
    ///
    /// As for [`S3Config::from_env`] and [`HttpStore::with_config`].
    pub fn from_url(url: &str, options: &S3Options, http: HttpConfig) -> StoreResult<S3Store> {
        S3Store::new(S3Config::from_env(url, options)?, http)
    }

    /// Sends write conditions as `If-Match` / `If-None-Match: *` and trusts the
    /// server's 412, for servers known to check them on PUT and DELETE (see the type's
    /// docs); without it conditions other than [`Condition::Always`] are refused.
    pub fn with_conditional_writes(mut self, on: bool) -> Self {
        self.conditional_writes = on;
        self
    }

    /// Asks for at most `n` keys per listing page (1..=1000; S3's default is 1000).
    pub fn with_list_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_KEYS);
        self
    }

    /// The resolved configuration (its `Debug` hides the secret).
    pub fn config(&self) -> &S3Config {
        &self.inner.config
    }

    /// The region requests are signed for now.
    pub fn region(&self) -> String {
        read_lock(&self.inner.region).clone()
    }
}

/// A lock's value even if a thread panicked holding it (a `String` or a store
/// handle cannot be left half-changed).
fn read_lock<T: Clone>(lock: &RwLock<T>) -> T {
    match lock.read() {
        Ok(v) => v.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn write_lock<T>(lock: &RwLock<T>, value: T) {
    match lock.write() {
        Ok(mut v) => *v = value,
        Err(poisoned) => *poisoned.into_inner() = value,
    }
}

/// The SigV4 signer of every attempt: the current time, the current region.
fn signer(credentials: Option<Credentials>, region: Arc<RwLock<String>>) -> RequestSigner {
    RequestSigner(Arc::new(move |req: &SignInput<'_>| {
        let Some(credentials) = &credentials else { return Vec::new() };
        let Ok(uri) = req.url.parse::<hyper::Uri>() else { return Vec::new() };
        let Some(host) = uri.authority().map(|a| a.as_str().rsplit('@').next().unwrap_or_default().to_owned()) else {
            return Vec::new();
        };
        let query: Vec<(String, String)> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let headers: Vec<(&str, &str)> = req.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let payload = match req.body {
            Some(body) => Payload::Bytes(body),
            None => Payload::Unsigned,
        };
        let request = sigv4::Request {
            method: req.method,
            host: &host,
            path: uri.path(),
            query: &query,
            headers: &headers,
            payload,
        };
        let region = read_lock(&region);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        sigv4::sign(&request, credentials, Scope { region: &region, service: "s3" }, now)
    }))
}

/// `%XX` sequences to bytes (a query value as S3 and SigV4 see it).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits: at most 255.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an error may be a request signed for the wrong region.
fn maybe_wrong_region(e: &StoreError) -> bool {
    matches!(e, StoreError::Status { status: 301 | 400, .. })
}

impl S3Inner {
    fn http(&self) -> HttpStore {
        read_lock(&self.http)
    }

    /// The object key of a store key.
    fn object_key(&self, key: &str) -> String {
        match self.config.prefix.as_str() {
            "" => key.to_owned(),
            prefix => format!("{prefix}/{key}"),
        }
    }

    fn url_of(&self, http: &HttpStore, key: &str) -> String {
        join_url(http.base_url(), &self.object_key(key))
    }

    fn location_of(&self, key: &str) -> String {
        let location = self.config.location();
        match key.trim_matches('/') {
            "" => location,
            key => format!("{location}/{key}"),
        }
    }

    /// What a failure is to the caller: 403 becomes [`StoreError::AccessDenied`].
    fn map_error(&self, key: &str, e: StoreError) -> StoreError {
        if e.status() == Some(403) && !matches!(e, StoreError::OutcomeUnknown { .. }) {
            return StoreError::AccessDenied {
                key: key.to_owned(),
                location: self.location_of(key),
                region: read_lock(&self.region),
            };
        }
        e
    }

    /// Asks the bucket where it is; true when that is another region than the one we
    /// sign for (which is then corrected, and the bucket's URL with it).
    async fn fix_region(&self, key: &str) -> bool {
        let http = self.http();
        let url = format!("{}?list-type=2&max-keys=0", http.base_url());
        let answer = {
            let _permit = http.inner.permit().await;
            http.inner.exchange(key, &url, Method::Get(None), |_| true).await
        };
        let Ok(answer) = answer else { return false };
        let named = answer.bucket_region.clone().or_else(|| parse_error(&answer.body).and_then(|e| e.region));
        let Some(region) = named.filter(|r| !r.is_empty()) else { return false };
        if region == read_lock(&self.region) {
            return false;
        }
        write_lock(&self.region, region.clone());
        if self.config.endpoint.is_none() {
            let moved = S3Config { region, ..self.config.clone() };
            match HttpStore::with_config(&moved.bucket_url(), self.http_config.clone()) {
                Ok(store) => write_lock(&self.http, store),
                Err(_) => return false,
            }
        }
        true
    }

    /// Runs `op` on the current HTTP store; once more after a region correction.
    async fn run<T, F, Fut>(&self, key: &str, op: F) -> StoreResult<T>
    where
        F: Fn(HttpStore) -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        match op(self.http()).await {
            Err(e) if maybe_wrong_region(&e) && self.fix_region(key).await => {
                op(self.http()).await.map_err(|e| self.map_error(key, e))
            }
            other => other.map_err(|e| self.map_error(key, e)),
        }
    }

    async fn get(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Versioned>> {
        self.run(key, |http| async move {
            let url = self.url_of(&http, key);
            match range {
                None => http.inner.get_whole(key, &url).await,
                Some(_) => http.inner.with_retries(key, || http.inner.get_once(key, &url, range)).await,
            }
        })
        .await
    }

    async fn size(&self, key: &str) -> StoreResult<Option<u64>> {
        let head = self
            .run(key, |http| async move {
                let url = self.url_of(&http, key);
                let inner = &http.inner;
                inner
                    .with_retries(key, || async {
                        let _permit = inner.permit().await;
                        let answer = inner.exchange(key, &url, Method::Head, |_| false).await?;
                        match classify_status(answer.status, inner.config.status) {
                            Outcome::Missing => Ok(None),
                            Outcome::Bytes => Ok(Some(answer.content_length)),
                            _ => Err(inner.status_failure(key, &url, &answer)),
                        }
                    })
                    .await
            })
            .await?;
        match head {
            None => Ok(None),
            Some(Some(n)) => Ok(Some(n)),
            // A HEAD answer without a length: read the value.
            Some(None) => Ok(self.get(key, None).await?.map(|(b, _)| b.len() as u64)),
        }
    }

    async fn write(&self, key: &str, value: Option<Bytes>, condition: Condition) -> StoreResult<WriteResult> {
        let matches = matches!(condition, Condition::Matches(_));
        let result = self
            .run(key, |http| {
                let (value, condition) = (value.clone(), condition.clone());
                async move {
                    let url = self.url_of(&http, key);
                    let inner = &http.inner;
                    inner.with_retries(key, || inner.write_once(key, &url, value.as_ref(), &condition)).await
                }
            })
            .await;
        match result {
            // `If-Match` on an object that is not there: S3 answers 404 NoSuchKey.
            Err(StoreError::Status { status: 404, .. }) if matches => Ok(WriteResult::ConditionFailed),
            other => other,
        }
    }

    /// Every page of a ListObjectsV2 of `prefix` (an object-key prefix), with the
    /// delimiter `/` when `delimited`; keys and common prefixes with the store's prefix
    /// taken off.
    async fn list_objects(&self, key: &str, prefix: &str, delimited: bool, page_size: u32) -> StoreResult<ListPage> {
        let mut all = ListPage::default();
        let mut token: Option<String> = None;
        loop {
            let token_now = token.clone();
            let page = self
                .run(key, |http| {
                    let token = token_now.clone();
                    async move {
                        let mut url = format!(
                            "{}?list-type=2&max-keys={page_size}&prefix={}",
                            http.base_url(),
                            sigv4::uri_encode(prefix)
                        );
                        if delimited {
                            url.push_str("&delimiter=%2F");
                        }
                        if let Some(t) = &token {
                            url.push_str("&continuation-token=");
                            url.push_str(&sigv4::uri_encode(t));
                        }
                        self.list_page(&http, key, &url).await
                    }
                })
                .await?;
            all.keys.extend(page.keys);
            all.prefixes.extend(page.prefixes);
            match page.next_token {
                Some(t) if Some(&t) != token.as_ref() => token = Some(t),
                Some(_) => {
                    return Err(StoreError::Config {
                        location: self.location_of(key),
                        reason: "the server repeated a listing continuation token".into(),
                    })
                }
                None => break,
            }
        }
        let strip = match self.config.prefix.as_str() {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let relative = |v: Vec<String>| -> Vec<String> {
            let mut v: Vec<String> = v.into_iter().filter_map(|k| k.strip_prefix(&strip).map(str::to_owned)).collect();
            v.sort();
            v.dedup();
            v
        };
        Ok(ListPage { keys: relative(all.keys), prefixes: relative(all.prefixes), next_token: None })
    }

    async fn list_page(&self, http: &HttpStore, key: &str, url: &str) -> StoreResult<ListPage> {
        let inner = &http.inner;
        inner
            .with_retries(key, || async {
                let _permit = inner.permit().await;
                let answer = inner.exchange(key, url, Method::Get(None), |_| true).await?;
                if answer.status != 200 {
                    let failure = inner.status_failure(key, url, &answer);
                    // A missing bucket is an error here, not an empty listing.
                    if answer.status == 404 {
                        let reason = parse_error(&answer.body)
                            .map_or_else(|| "http status 404".to_owned(), |e| format!("{}: {}", e.code, e.message));
                        return Err(Failure::Fatal(StoreError::Config { location: self.location_of(key), reason }));
                    }
                    return Err(failure);
                }
                parse_list(&answer.body).map_err(|reason| {
                    Failure::Fatal(StoreError::Config {
                        location: self.location_of(key),
                        reason: format!("bad ListObjectsV2 answer: {reason}"),
                    })
                })
            })
            .await
    }
}

impl S3Store {
    fn with_key<T, F, Fut>(&self, key: &str, op: F) -> BoxFuture<'static, StoreResult<T>>
    where
        F: FnOnce(Arc<S3Inner>, String) -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>> + Send + 'static,
    {
        if let Err(e) = validate_key(key) {
            return Box::pin(async move { Err(e) });
        }
        Box::pin(op(Arc::clone(&self.inner), key.to_owned()))
    }

    fn refuse(&self, key: &str, condition: &Condition, op: &'static str) -> Option<StoreError> {
        (!self.conditional_writes && *condition != Condition::Always)
            .then(|| StoreError::unsupported(key, op, "S3Store without conditional writes"))
    }
}

impl Store for S3Store {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        self.with_key(key, move |inner, key| async move { Ok(inner.get(&key, range).await?.map(|(b, _)| b)) })
    }

    fn get_versioned(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Versioned>>> {
        self.with_key(key, move |inner, key| async move { inner.get(&key, range).await })
    }

    fn size(&self, key: &str) -> BoxFuture<'static, StoreResult<Option<u64>>> {
        self.with_key(key, move |inner, key| async move { inner.size(&key).await })
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
        if let Some(e) = self.refuse(key, &condition, "conditional put") {
            return crate::ready(Err(e));
        }
        self.with_key(key, move |inner, key| async move { inner.write(&key, Some(value), condition).await })
    }

    fn delete_if(&self, key: &str, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        if let Some(e) = self.refuse(key, &condition, "conditional delete") {
            return crate::ready(Err(e));
        }
        self.with_key(key, move |inner, key| async move { inner.write(&key, None, condition).await })
    }

    fn supports_conditional_writes(&self) -> bool {
        self.conditional_writes
    }

    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        let (inner, prefix, page_size) =
            (Arc::clone(&self.inner), prefix.trim_start_matches('/').to_owned(), self.page_size);
        Box::pin(async move {
            let object_prefix = inner.object_key(&prefix);
            Ok(inner.list_objects(&prefix, &object_prefix, false, page_size).await?.keys)
        })
    }

    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        let (inner, prefix, page_size) = (Arc::clone(&self.inner), dir_prefix(prefix), self.page_size);
        Box::pin(async move {
            let object_prefix = inner.object_key(&prefix);
            let page = inner.list_objects(&prefix, &object_prefix, true, page_size).await?;
            Ok(ListDir { keys: page.keys, prefixes: page.prefixes })
        })
    }

    fn location(&self) -> String {
        self.inner.config.location()
    }

    fn kind(&self) -> StoreKind {
        StoreKind::Remote
    }

    fn parallel_requests(&self) -> Option<usize> {
        self.inner.http().parallel_requests()
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let http = self.inner.http();
        Box::pin(async move { http.close().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_decode() {
        assert_eq!(percent_decode("a%2Fb%3D"), "a/b=");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn signer_signs_host_and_decoded_query_and_hides_the_secret() {
        let creds = Credentials { access_key_id: "AK".into(), secret_access_key: "SECRET".into(), session_token: None };
        let s = signer(Some(creds), Arc::new(RwLock::new("eu-west-1".into())));
        let headers = [("range", "bytes=-4".to_owned())];
        let input = SignInput {
            method: "GET",
            url: "http://127.0.0.1:9000/b/k?list-type=2&prefix=a%2F",
            headers: &headers,
            body: None,
        };
        let added = (s.0)(&input);
        let auth = &added.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert!(auth.contains("/eu-west-1/s3/aws4_request"), "{auth}");
        assert!(auth.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"), "{auth}");
        assert!(!auth.contains("SECRET"));
        assert!(added.iter().any(|(k, v)| k == "x-amz-content-sha256" && v == sigv4::UNSIGNED_PAYLOAD));
        assert_eq!(format!("{s:?}"), "RequestSigner(..)");
        assert!((signer(None, Arc::new(RwLock::new(String::new()))).0)(&input).is_empty());
    }
}
