//! Reading over HTTP(S) from plain threads.

use zarr_proto::http::ByteRange;
use zarr_smol::{HttpConfig, Store as _};

use crate::store::Store;
use crate::Error;

/// A store read over HTTP(S): zarr-smol's clients (one multiplexed HTTP/2
/// connection where the server speaks h2, a keep-alive pool otherwise; retries
/// with backoff, body length checks).
///
/// The client is zarr-smol's; each call blocks its calling thread until the
/// response is complete, so the read driver's IO threads each hold one request in
/// flight and the pool gives the same concurrency as the async driver.
#[derive(Debug, Clone)]
pub struct HttpStore {
    inner: zarr_smol::HttpStore,
    concurrency: usize,
}

impl HttpStore {
    /// A store for `base_url` with default settings.
    pub fn new(base_url: &str) -> Result<HttpStore, Error> {
        Self::with_config(base_url, HttpConfig::default())
    }

    /// A store for `base_url` with explicit HTTP settings.
    pub fn with_config(base_url: &str, config: HttpConfig) -> Result<HttpStore, Error> {
        let concurrency = crate::driver::DEFAULT_HTTP_CONCURRENCY;
        let inner = zarr_smol::HttpStore::with_config(base_url, config).map_err(zarr_proto::Error::from)?;
        Ok(HttpStore { inner, concurrency })
    }

    /// Requests in flight per read.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
}

fn wait<T>(f: zarr_smol::BoxFuture<'static, zarr_smol::store::StoreResult<T>>) -> Result<T, Error> {
    futures_lite::future::block_on(f).map_err(|e| Error::Proto(e.into()))
}

impl Store for HttpStore {
    fn get(&self, key: &str, range: Option<ByteRange>) -> Result<Option<Vec<u8>>, Error> {
        Ok(wait(self.inner.get(key, range))?.map(Vec::from))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        wait(self.inner.set(key, value.to_vec().into()))
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        wait(self.inner.delete(key))
    }

    fn list_dir(&self, prefix: &str) -> Result<(Vec<String>, Vec<String>), Error> {
        let l = wait(self.inner.list_dir(prefix))?;
        Ok((l.keys, l.prefixes))
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
