//! Synchronous stores: where the bytes of a hierarchy live.

use zarr_proto::http::ByteRange;

use crate::Error;

mod fs;
#[cfg(feature = "http")]
mod http;
mod memory;

pub use fs::FsStore;
#[cfg(feature = "http")]
pub use http::HttpStore;
pub use memory::MemoryStore;

/// A key-value store of byte strings, shared by reader threads.
pub trait Store: Send + Sync {
    /// The value at `key` (or the part in `range`), `None` when there is none.
    ///
    /// # Errors
    /// Invalid keys and IO failures; a missing key is `Ok(None)`, never an error.
    fn get(&self, key: &str, range: Option<ByteRange>) -> Result<Option<Vec<u8>>, Error>;

    /// Stores `value` at `key`.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Error>;

    /// Removes `key`; removing a missing key is not an error.
    fn delete(&self, key: &str) -> Result<(), Error>;

    /// The keys and sub-prefixes directly below `prefix` (`""` or ending in `/`).
    fn list_dir(&self, prefix: &str) -> Result<(Vec<String>, Vec<String>), Error>;

    /// Size in bytes of the value at `key`, `None` when there is none.
    fn size(&self, key: &str) -> Result<Option<u64>, Error> {
        Ok(self.get(key, None)?.map(|v| v.len() as u64))
    }

    /// How many requests to keep in flight for one read.
    fn concurrency(&self) -> usize {
        8
    }
}

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn get(&self, key: &str, range: Option<ByteRange>) -> Result<Option<Vec<u8>>, Error> {
        (**self).get(key, range)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        (**self).set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), Error> {
        (**self).delete(key)
    }
    fn list_dir(&self, prefix: &str) -> Result<(Vec<String>, Vec<String>), Error> {
        (**self).list_dir(prefix)
    }
    fn size(&self, key: &str) -> Result<Option<u64>, Error> {
        (**self).size(key)
    }
    fn concurrency(&self) -> usize {
        (**self).concurrency()
    }
}

/// Applies `range` to a whole value, as a store that cannot read parts does.
pub(crate) fn slice_range(key: &str, value: &[u8], range: Option<ByteRange>) -> Result<Vec<u8>, Error> {
    match range {
        None => Ok(value.to_vec()),
        Some(r) => r.slice(value).map(<[u8]>::to_vec).ok_or_else(|| {
            Error::Proto(zarr_proto::Error::Store {
                key: key.into(),
                reason: format!("range {r} is outside the {} byte value", value.len()),
            })
        }),
    }
}
