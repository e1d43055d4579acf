//! Every Zarr store once: where chunks and metadata live, for both drivers.
//!
//! A [`Store`] maps string keys (`zarr.json`, `a/c/0/1`, `.zarray`) to byte
//! values. Every method returns a boxed `'static + Send` future, so the async
//! driver can hold many in flight at once, spawn them on any executor, or poll them
//! from `futures_lite::future::block_on`; the blocking driver calls the `*_blocking`
//! methods on its IO threads, which stores that can do better than `block_on`
//! (the filesystem) override. The stores use futures-lite and async-io only: no
//! runtime is required.
//!
//! - [`MemoryStore`]: a map in memory, for tests and scratch arrays.
//! - [`FsStore`]: a directory; writes are atomic (temp file + rename), durable
//!   (fsync) when asked.
//! - [`HttpStore`] (feature `http`): a base URL: one multiplexed HTTP/2 connection
//!   (hyper) where the server speaks h2, a keep-alive HTTP/1.1 pool otherwise,
//!   retries per [`zarr_proto::http`].
//! - [`S3Store`] (feature `http`): `s3://bucket/prefix`, SigV4-signed over the HTTP
//!   store's transports, listing with ListObjectsV2; configured as the AWS CLI is
//!   ([`S3Config`]).
//! - [`store_for_url`]: the store a URL or path names.
//!
//! Every store here also reads with a [`Version`] ([`Store::get_versioned`]) and
//! writes with a [`Condition`] ([`Store::put`], [`Store::delete_if`]), so a
//! read-modify-write loses no concurrent update: a generation counter in memory, a
//! content hash under a directory `flock` on disk, `ETag` / `If-Match` /
//! `If-None-Match: *` over HTTP.
//! - `server` (feature `server`): an HTTP/1.1 + h2c server for a directory or a
//!   [`MemoryStore`], with Range support, latency and fault injection, for tests,
//!   benches and `zarr serve`.
#![warn(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_lite::future::block_on;
use zarr_proto::http::{BodyError, ByteRange};
pub use zarr_proto::{Condition, Version};
use zarr_proto::{FlowControl, StoreKind};

pub mod bulk;
pub(crate) mod fs;
#[cfg(feature = "http")]
mod http;
mod memory;
#[cfg(feature = "http")]
mod rt;
mod s3_config;
#[cfg(feature = "http")]
mod s3_xml;
#[cfg(feature = "server")]
pub mod server;

pub use self::fs::FsStore;
#[cfg(feature = "http")]
pub use self::http::{HttpConfig, HttpStore, HttpVersion, RequestSigner, S3Store, SignFn, SignInput};
pub use self::memory::MemoryStore;
pub use self::s3_config::{Addressing, S3Config, S3Options};

/// A ready future holding `result`.
pub(crate) fn ready<T: Send + 'static>(result: StoreResult<T>) -> BoxFuture<'static, StoreResult<T>> {
    Box::pin(async move { result })
}

/// Opens the store for a URL: `http(s)://` with `config`, `s3://bucket/prefix`
/// with `config` and the environment's AWS settings (feature `http`), otherwise a
/// local path or `file://` URL.
///
/// # Errors
/// An HTTP client that cannot be built (bad headers, CA file); an `s3://` URL or AWS
/// configuration that cannot work ([`S3Config::from_env`]).
#[cfg(feature = "http")]
pub fn store_for_url(url: &str, config: HttpConfig) -> StoreResult<Arc<dyn Store>> {
    store_for_url_with(url, config, &S3Options::default())
}

/// [`store_for_url`] with explicit S3 settings (endpoint, region, profile, anonymous
/// access), which win over the environment for `s3://` URLs.
///
/// # Errors
/// As for [`store_for_url`].
#[cfg(feature = "http")]
pub fn store_for_url_with(url: &str, config: HttpConfig, s3: &S3Options) -> StoreResult<Arc<dyn Store>> {
    if is_http_url(url) {
        Ok(Arc::new(HttpStore::with_config(url, config)?))
    } else if is_s3_url(url) {
        Ok(Arc::new(S3Store::from_url(url, s3, config)?))
    } else {
        Ok(Arc::new(FsStore::new(local_path(url))))
    }
}

/// The store a URL or path names, with default settings: `http(s)://` and `s3://`
/// (feature `http`; S3 settings from the environment), otherwise a local path or `file://` URL. What `Array::open(url_or_path)` uses in
/// both drivers.
///
/// # Errors
/// An `http(s)://` URL in a build without the `http` feature; an HTTP client that
/// cannot be built.
pub fn store_for(url_or_path: &str) -> StoreResult<Arc<dyn Store>> {
    #[cfg(feature = "http")]
    {
        store_for_url(url_or_path, HttpConfig::default())
    }
    #[cfg(not(feature = "http"))]
    {
        if is_http_url(url_or_path) || is_s3_url(url_or_path) {
            return Err(StoreError::unsupported(url_or_path, "remote URLs", "a build without the `http` feature"));
        }
        Ok(Arc::new(FsStore::new(local_path(url_or_path))))
    }
}

/// Where the node at `path` in `store` is, for messages: the store's location (a
/// directory, a base URL) joined with the path.
pub fn node_location(store: &dyn Store, path: &str) -> String {
    let location = store.location();
    match path.trim_matches('/') {
        "" => location,
        path => format!("{}/{path}", location.trim_end_matches('/')),
    }
}

/// Whether `url` names an HTTP(S) resource rather than a local path.
pub fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Whether `url` names an S3 bucket or prefix (`s3://bucket/prefix`).
pub fn is_s3_url(url: &str) -> bool {
    url.starts_with("s3://")
}

/// The filesystem path of a local path or `file://` URL.
pub fn local_path(path_or_url: &str) -> std::path::PathBuf {
    path_or_url.strip_prefix("file://").unwrap_or(path_or_url).into()
}

/// Polls every future at once (no executor needed) and returns their outputs in order.
///
/// What a store uses to keep several of its own requests in flight, e.g. the parts
/// of a large value.
pub fn join_all<'a, T>(futs: Vec<BoxFuture<'a, T>>) -> impl Future<Output = Vec<T>> + 'a
where
    T: 'a,
{
    let mut futs: Vec<Option<BoxFuture<'a, T>>> = futs.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    futures_lite::future::poll_fn(move |cx| {
        let mut pending = false;
        for (slot, res) in futs.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *res = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(out.iter_mut().filter_map(Option::take).collect())
        }
    })
}

/// A boxed future that can be sent to another thread.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Shorthand for results whose error is [`StoreError`].
pub type StoreResult<T> = Result<T, StoreError>;

/// The keys and sub-prefixes directly under a prefix, as from [`Store::list_dir`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListDir {
    /// Full keys of the values directly under the prefix, sorted.
    pub keys: Vec<String>,
    /// Full prefixes (ending in `/`) of the "directories" directly under it, sorted.
    pub prefixes: Vec<String>,
}

/// A value with the version of the object it was read from, as from [`Store::get_versioned`].
pub type Versioned = (Bytes, Option<Version>);

/// What a [`Store::put`] or [`Store::delete_if`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum WriteResult {
    /// The write happened. The object's new version, when the store names one
    /// (`None` after a delete).
    Stored(Option<Version>),
    /// The condition did not hold: nothing changed. Read the object again, redo the
    /// change on what is there now, and write with the new version.
    ConditionFailed,
}

impl WriteResult {
    /// True when the write happened.
    pub fn is_stored(&self) -> bool {
        matches!(self, WriteResult::Stored(_))
    }
}

/// An async key-value store.
///
/// Keys are `/`-separated, without a leading `/`. Every future is `'static`: the
/// store clones what it needs (stores are cheap handles around shared state).
///
/// # Versions and conditional writes
///
/// A read-modify-write of a chunk is safe against concurrent writers when the read
/// names the object's state ([`get_versioned`](Self::get_versioned)) and the write
/// says "only if it is still in that state" ([`put`](Self::put) with
/// [`Condition::after_read`]). A store either checks a condition atomically with
/// the write ([`supports_conditional_writes`](Self::supports_conditional_writes)), or
/// refuses every condition but [`Condition::Always`] with
/// [`StoreError::Unsupported`]: it never ignores one, since a silently ignored
/// condition is a lost update nobody hears about.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Reads the value of `key`, or the part of it that `range` selects.
    ///
    /// `Ok(None)` when the key does not exist.
    ///
    /// # Errors
    ///
    /// [`StoreError`] naming the key: an invalid key, a range outside the value,
    /// an IO or HTTP failure that retries did not fix, or a response whose body
    /// does not match its headers.
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>>;

    /// Writes `value` under `key`, replacing any previous value: [`put`](Self::put)
    /// with [`Condition::Always`], without the new version.
    ///
    /// # Errors
    ///
    /// [`StoreError`] naming the key; [`StoreError::Unsupported`] for read-only stores.
    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>>;

    /// Removes `key`. Removing a key that does not exist succeeds.
    ///
    /// # Errors
    ///
    /// [`StoreError`] naming the key; [`StoreError::Unsupported`] for read-only stores.
    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>>;

    /// Every key that starts with `prefix` (`""` for all keys), sorted.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] for stores that cannot list (plain HTTP).
    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>>;

    /// The keys and sub-prefixes directly under the directory `prefix`
    /// (`""` for the root; a missing trailing `/` is implied).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] for stores that cannot list (plain HTTP).
    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>>;

    /// Where the store is, for messages: a directory, a base URL, `memory`.
    fn location(&self) -> String {
        String::from("store")
    }

    /// The length of the value at `key`, `None` when there is none.
    ///
    /// The default reads the value; stores that know sizes without reading override it.
    ///
    /// # Errors
    ///
    /// As for [`get`](Self::get).
    fn size(&self, key: &str) -> BoxFuture<'static, StoreResult<Option<u64>>> {
        let get = self.get(key, None);
        Box::pin(async move { Ok(get.await?.map(|v| v.len() as u64)) })
    }

    /// What kind of store this is; the core's [`FlowControl::for_store`]
    /// turns it into the default number of requests in flight.
    fn kind(&self) -> StoreKind;

    /// How many requests the store serves at once, when it knows: its connection
    /// pool's size, or HTTP/2 connections times the server's stream limit. Reads
    /// default to that many in flight ([`FlowControl::serving`]);
    /// `None` leaves the default of the store's [`kind`](Self::kind).
    fn parallel_requests(&self) -> Option<usize> {
        None
    }

    /// The bounds a read or write of this store runs within by default: the core's
    /// policy for its [`kind`](Self::kind) and [`parallel_requests`](Self::parallel_requests).
    fn flow_control(&self) -> FlowControl {
        FlowControl::for_store(self.kind()).serving(self.parallel_requests())
    }

    /// Closes what the store holds open (connections) and resolves once it is
    /// closed; the store stays usable and opens anew when asked. Stores without
    /// connections resolve at once.
    fn close(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }

    /// Reads like [`get`](Self::get), with the version of the object the bytes came
    /// from.
    ///
    /// `Ok(None)` when the key does not exist; `Some((bytes, None))` when the store
    /// cannot name versions (then no condition can protect a write based on this read:
    /// [`Condition::after_read`] would wrongly say "absent"). A ranged read reports
    /// the version of the whole object. The default reads with `get` and names no version.
    ///
    /// # Errors
    ///
    /// As for [`get`](Self::get).
    fn get_versioned(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Versioned>>> {
        let get = self.get(key, range);
        Box::pin(async move { Ok(get.await?.map(|b| (b, None))) })
    }

    /// Writes `value` under `key` if `condition` holds, atomically with the check.
    ///
    /// [`WriteResult::ConditionFailed`] when it does not hold (nothing was written).
    /// The default supports [`Condition::Always`] only, through [`set`](Self::set).
    ///
    /// # Errors
    ///
    /// As for [`set`](Self::set); [`StoreError::Unsupported`] for a condition the store
    /// cannot check; [`StoreError::OutcomeUnknown`] when a conditional write failed in a
    /// way that leaves open whether it happened (HTTP: a timeout or reset after the
    /// request was sent), so the caller must read again rather than retry.
    fn put(&self, key: &str, value: Bytes, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        if condition != Condition::Always {
            let e = StoreError::unsupported(key, "conditional put", "this store");
            return Box::pin(async move { Err(e) });
        }
        let set = self.set(key, value);
        Box::pin(async move { set.await.map(|()| WriteResult::Stored(None)) })
    }

    /// Removes `key` if `condition` holds, atomically with the check.
    ///
    /// Removing a missing key with [`Condition::Always`] or [`Condition::Absent`]
    /// succeeds; with [`Condition::Matches`] it is [`WriteResult::ConditionFailed`].
    /// The default supports [`Condition::Always`] only, through [`delete`](Self::delete).
    ///
    /// # Errors
    ///
    /// As for [`put`](Self::put).
    fn delete_if(&self, key: &str, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        if condition != Condition::Always {
            let e = StoreError::unsupported(key, "conditional delete", "this store");
            return Box::pin(async move { Err(e) });
        }
        let delete = self.delete(key);
        Box::pin(async move { delete.await.map(|()| WriteResult::Stored(None)) })
    }

    /// Whether [`put`](Self::put) and [`delete_if`](Self::delete_if) check conditions
    /// other than [`Condition::Always`]. When false they refuse them with
    /// [`StoreError::Unsupported`]; they never ignore a condition.
    fn supports_conditional_writes(&self) -> bool {
        false
    }

    /// [`get_versioned`](Self::get_versioned) for a thread that may block.
    ///
    /// # Errors
    ///
    /// As for [`get_versioned`](Self::get_versioned).
    fn get_versioned_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Versioned>> {
        block_on(self.get_versioned(key, range))
    }

    /// [`put`](Self::put) for a thread that may block.
    ///
    /// # Errors
    ///
    /// As for [`put`](Self::put).
    fn put_blocking(&self, key: &str, value: Bytes, condition: Condition) -> StoreResult<WriteResult> {
        block_on(self.put(key, value, condition))
    }

    /// [`delete_if`](Self::delete_if) for a thread that may block.
    ///
    /// # Errors
    ///
    /// As for [`delete_if`](Self::delete_if).
    fn delete_if_blocking(&self, key: &str, condition: Condition) -> StoreResult<WriteResult> {
        block_on(self.delete_if(key, condition))
    }

    /// [`get`](Self::get) for a thread that may block (the blocking driver's IO threads).
    ///
    /// # Errors
    ///
    /// As for [`get`](Self::get).
    fn get_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
        block_on(self.get(key, range))
    }

    /// [`size`](Self::size) for a thread that may block.
    ///
    /// # Errors
    ///
    /// As for [`size`](Self::size).
    fn size_blocking(&self, key: &str) -> StoreResult<Option<u64>> {
        block_on(self.size(key))
    }

    /// [`set`](Self::set) for a thread that may block.
    ///
    /// # Errors
    ///
    /// As for [`set`](Self::set).
    fn set_blocking(&self, key: &str, value: Bytes) -> StoreResult<()> {
        block_on(self.set(key, value))
    }

    /// [`delete`](Self::delete) for a thread that may block.
    ///
    /// # Errors
    ///
    /// As for [`delete`](Self::delete).
    fn delete_blocking(&self, key: &str) -> StoreResult<()> {
        block_on(self.delete(key))
    }

    /// [`list_dir`](Self::list_dir) for a thread that may block.
    ///
    /// # Errors
    ///
    /// As for [`list_dir`](Self::list_dir).
    fn list_dir_blocking(&self, prefix: &str) -> StoreResult<ListDir> {
        block_on(self.list_dir(prefix))
    }
}

impl<S: Store + ?Sized> Store for Arc<S> {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        (**self).get(key, range)
    }
    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        (**self).set(key, value)
    }
    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        (**self).delete(key)
    }
    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        (**self).list(prefix)
    }
    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        (**self).list_dir(prefix)
    }
    fn size(&self, key: &str) -> BoxFuture<'static, StoreResult<Option<u64>>> {
        (**self).size(key)
    }
    fn location(&self) -> String {
        (**self).location()
    }
    fn kind(&self) -> StoreKind {
        (**self).kind()
    }
    fn parallel_requests(&self) -> Option<usize> {
        (**self).parallel_requests()
    }
    fn flow_control(&self) -> FlowControl {
        (**self).flow_control()
    }
    fn close(&self) -> BoxFuture<'static, ()> {
        (**self).close()
    }
    fn size_blocking(&self, key: &str) -> StoreResult<Option<u64>> {
        (**self).size_blocking(key)
    }
    fn get_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
        (**self).get_blocking(key, range)
    }
    fn set_blocking(&self, key: &str, value: Bytes) -> StoreResult<()> {
        (**self).set_blocking(key, value)
    }
    fn delete_blocking(&self, key: &str) -> StoreResult<()> {
        (**self).delete_blocking(key)
    }
    fn list_dir_blocking(&self, prefix: &str) -> StoreResult<ListDir> {
        (**self).list_dir_blocking(prefix)
    }
    fn get_versioned(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Versioned>>> {
        (**self).get_versioned(key, range)
    }
    fn put(&self, key: &str, value: Bytes, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        (**self).put(key, value, condition)
    }
    fn delete_if(&self, key: &str, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        (**self).delete_if(key, condition)
    }
    fn supports_conditional_writes(&self) -> bool {
        (**self).supports_conditional_writes()
    }
    fn get_versioned_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Versioned>> {
        (**self).get_versioned_blocking(key, range)
    }
    fn put_blocking(&self, key: &str, value: Bytes, condition: Condition) -> StoreResult<WriteResult> {
        (**self).put_blocking(key, value, condition)
    }
    fn delete_if_blocking(&self, key: &str, condition: Condition) -> StoreResult<WriteResult> {
        (**self).delete_if_blocking(key, condition)
    }
}

/// Everything a store operation can fail with; each variant names the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A key that the store refuses (path traversal, empty segments, ...).
    #[error("invalid key `{key}`: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A byte range that starts past the end of the value (HTTP 416).
    #[error("{range} is outside `{key}` ({len} bytes)")]
    RangeNotSatisfiable {
        /// The key.
        key: String,
        /// The range asked for.
        range: ByteRange,
        /// The length of the value, when known.
        len: u64,
    },
    /// A filesystem error.
    #[error("io error on `{key}`: {source}")]
    Io {
        /// The key.
        key: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An HTTP status that means failure.
    #[error("http status {status} for `{key}` ({url}){}", status_hint(*.status))]
    Status {
        /// The key.
        key: String,
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The HTTP client failed before a complete response arrived
    /// (connect, reset, timeout, TLS, protocol error).
    #[error("http request for `{key}` ({url}) failed: {source}")]
    Transport {
        /// The key.
        key: String,
        /// The URL requested.
        url: String,
        /// The client's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A response body that does not match its headers or the requested range.
    #[error("bad response for `{key}` ({url}): {reason}")]
    Body {
        /// The key.
        key: String,
        /// The URL requested.
        url: String,
        /// What does not match.
        reason: BodyError,
    },
    /// A value larger than the store's configured bound.
    #[error("value of `{key}` exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The key.
        key: String,
        /// The configured limit.
        limit: u64,
    },
    /// A transient failure that persisted through every allowed attempt.
    #[error("giving up on `{key}` after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// The key.
        key: String,
        /// Attempts made.
        attempts: u32,
        /// The error of the last attempt.
        last: Box<StoreError>,
    },
    /// A store configuration that cannot work (a malformed URL, a missing profile).
    #[error("cannot configure a store for {location}: {reason}")]
    Config {
        /// The URL or path the store was for.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// An operation this store cannot do (e.g. listing over plain HTTP, a conditional
    /// write on a store that cannot check conditions).
    #[error("{store} does not support {op} (key `{key}`)")]
    Unsupported {
        /// The key or prefix.
        key: String,
        /// The operation.
        op: &'static str,
        /// The store type.
        store: &'static str,
    },
    /// A server that does not accept writes (HTTP 403, 405, 501 to a PUT or DELETE).
    #[error("server refuses {method} for `{key}` ({url}): http status {status}")]
    WriteRefused {
        /// The key.
        key: String,
        /// The URL requested.
        url: String,
        /// `PUT` or `DELETE`.
        method: &'static str,
        /// The status code.
        status: u16,
    },
    /// S3 refused a request (403): the credentials, their permissions or the region
    /// are wrong. Never read as a missing key.
    #[error("access denied for `{key}` ({location}): check credentials / region (signing for {region})")]
    AccessDenied {
        /// The key.
        key: String,
        /// The `s3://` URL of the key.
        location: String,
        /// The region the request was signed for.
        region: String,
    },
    /// A conditional write failed in a way that leaves open whether it happened (a
    /// timeout or a reset after the request went out). Sending it again is not safe:
    /// had the first one landed, the second would fail its condition (or, after a
    /// re-read, apply the change twice). Read the key again and decide from what is there.
    #[error("conditional write of `{key}` may or may not have happened (read it again before retrying): {source}")]
    OutcomeUnknown {
        /// The key.
        key: String,
        /// What failed.
        source: Box<StoreError>,
    },
}

impl StoreError {
    /// The key (or prefix) the failed operation was about.
    pub fn key(&self) -> &str {
        match self {
            StoreError::InvalidKey { key, .. }
            | StoreError::RangeNotSatisfiable { key, .. }
            | StoreError::Io { key, .. }
            | StoreError::Status { key, .. }
            | StoreError::Transport { key, .. }
            | StoreError::Body { key, .. }
            | StoreError::TooLarge { key, .. }
            | StoreError::RetriesExhausted { key, .. }
            | StoreError::Unsupported { key, .. }
            | StoreError::WriteRefused { key, .. }
            | StoreError::AccessDenied { key, .. }
            | StoreError::OutcomeUnknown { key, .. } => key,
            StoreError::Config { location, .. } => location,
        }
    }

    /// The HTTP status of the (last) failed response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            StoreError::Status { status, .. } | StoreError::WriteRefused { status, .. } => Some(*status),
            StoreError::AccessDenied { .. } => Some(403),
            StoreError::RetriesExhausted { last, .. } => last.status(),
            StoreError::OutcomeUnknown { source, .. } => source.status(),
            _ => None,
        }
    }

    pub(crate) fn io(key: &str, source: std::io::Error) -> StoreError {
        StoreError::Io { key: key.into(), source }
    }

    pub(crate) fn unsupported(key: &str, op: &'static str, store: &'static str) -> StoreError {
        StoreError::Unsupported { key: key.into(), op, store }
    }
}

impl From<StoreError> for zarr_proto::Error {
    fn from(e: StoreError) -> Self {
        zarr_proto::Error::Store { key: e.key().to_owned(), reason: e.to_string() }
    }
}

/// Checks that `key` is a relative, `/`-separated path with no way out of the store's
/// root ([`zarr_proto::key::problem`]); every store refuses the same keys, so a
/// hierarchy that works in one works in all.
pub(crate) fn validate_key(key: &str) -> StoreResult<()> {
    match zarr_proto::key::problem(key) {
        Some(reason) => Err(StoreError::InvalidKey { key: key.to_owned(), reason }),
        None => Ok(()),
    }
}

/// Applies `range` to a whole value, as [`Store::get`] does for local stores.
pub(crate) fn apply_range(key: &str, value: Bytes, range: Option<ByteRange>) -> StoreResult<Bytes> {
    let Some(range) = range else { return Ok(value) };
    let len = value.len() as u64;
    let r = range.resolve(len).ok_or_else(|| StoreError::RangeNotSatisfiable { key: key.into(), range, len })?;
    // Both ends are <= len, which came from a usize.
    Ok(value.slice(r.start as usize..r.end as usize))
}

/// Normalizes a `list_dir` prefix: `""` stays empty, anything else ends in `/`.
pub(crate) fn dir_prefix(prefix: &str) -> String {
    let p = prefix.trim_start_matches('/');
    if p.is_empty() || p.ends_with('/') {
        p.to_owned()
    } else {
        format!("{p}/")
    }
}

/// Splits sorted `keys` into those directly under `prefix` and the sub-prefixes.
pub(crate) fn split_dir<'a>(prefix: &str, keys: impl IntoIterator<Item = &'a str>) -> ListDir {
    let mut out = ListDir::default();
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix) else { continue };
        match rest.split_once('/') {
            None if !rest.is_empty() => out.keys.push(key.to_owned()),
            Some((dir, _)) if !dir.is_empty() => {
                let p = format!("{prefix}{dir}/");
                if out.prefixes.last() != Some(&p) {
                    out.prefixes.push(p);
                }
            }
            _ => {}
        }
    }
    out.keys.sort();
    out.keys.dedup();
    out.prefixes.sort();
    out.prefixes.dedup();
    out
}

/// What to try when a status has a usual cause a user can act on.
fn status_hint(status: u16) -> &'static str {
    match status {
        403 => {
            "; if the server answers 403 for keys that do not exist (S3 without list permission), \
             read 403 as missing (`StatusPolicy::forbidden_is_missing`, `zarr --forbidden-is-missing`)"
        }
        401 => "; the server wants credentials (an `Authorization` header, `zarr --header`)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn forbidden_and_unauthorized_say_what_to_try() {
        let e = |status| StoreError::Status { key: "c/0".into(), url: "http://h/a/c/0".into(), status }.to_string();
        assert!(e(403).starts_with("http status 403 for `c/0` (http://h/a/c/0); "), "{}", e(403));
        assert!(e(403).contains("--forbidden-is-missing"), "{}", e(403));
        assert!(e(401).contains("--header"), "{}", e(401));
        assert_eq!(e(500), "http status 500 for `c/0` (http://h/a/c/0)");
    }

    use super::*;

    #[test]
    fn split_dir_groups_prefixes() {
        let keys = ["a/b", "a/c/0", "a/c/1", "a/d/x/y", "b", "ab/z"];
        let d = split_dir("a/", keys);
        assert_eq!(d.keys, vec!["a/b"]);
        assert_eq!(d.prefixes, vec!["a/c/", "a/d/"]);
        let root = split_dir("", keys);
        assert_eq!(root.keys, vec!["b"]);
        assert_eq!(root.prefixes, vec!["a/", "ab/"]);
        assert_eq!(dir_prefix("a"), "a/");
        assert_eq!(dir_prefix("a/"), "a/");
        assert_eq!(dir_prefix(""), "");
    }

    #[test]
    fn ranges_on_values() {
        let v = Bytes::from_static(b"0123456789");
        assert_eq!(apply_range("k", v.clone(), None).unwrap(), v);
        assert_eq!(&apply_range("k", v.clone(), Some(ByteRange::Suffix(2))).unwrap()[..], b"89");
        let e = apply_range("k/0", v, Some(ByteRange::new(10, 1))).unwrap_err();
        assert_eq!(e.key(), "k/0");
        assert!(e.to_string().contains("outside `k/0` (10 bytes)"), "{e}");
    }
}
