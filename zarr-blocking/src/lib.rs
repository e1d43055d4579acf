//! Synchronous Zarr reads with many chunk requests in flight, and no async runtime.
//!
//! Reading an array of many small chunks one request at a time is dominated by
//! latency. [`Array::read`] drives [`zarr_proto`]'s sans-IO [`ReadOp`](zarr_proto::read::ReadOp)
//! from a pool of worker threads: IO threads keep up to the store's concurrency of
//! requests in flight while decode threads use every core, so plain sync code gets
//! the same throughput as async code.
//!
//! ```
//! # fn main() -> Result<(), zarr_blocking::Error> {
//! use zarr_blocking::{Array, MemoryStore};
//! use zarr_proto::selection::Selection;
//!
//! let store = MemoryStore::new();
//! store.set("zarr.json", br#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16",
//!     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
//!     "chunk_key_encoding":{"name":"default"},"fill_value":7,
//!     "codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#.to_vec());
//! store.set("c/1", vec![1, 0, 2, 0]);
//! let array = Array::open(store, "")?;
//! let values: Vec<u16> = array.read(&Selection::all())?.to_vec()?;
//! assert_eq!(values, [7, 7, 1, 2]);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod array;
mod driver;
mod error;
mod group;
pub mod store;

pub use array::Array;
pub use driver::{Progress, ReadOptions, DEFAULT_HTTP_CONCURRENCY};
pub use error::Error;
pub use group::{Group, Node};
#[cfg(feature = "http")]
pub use store::HttpStore;
pub use store::{FsStore, MemoryStore, Store};
#[cfg(feature = "http")]
pub use zarr_smol::{HttpConfig, HttpVersion};

/// Opens the store for a URL: `http(s)://` (with `http`), otherwise a local path or `file://` URL.
///
/// # Errors
/// An HTTP client that cannot be built (bad headers, CA file).
#[cfg(feature = "http")]
pub fn store_for_url(url: &str, config: HttpConfig) -> Result<std::sync::Arc<dyn Store>, Error> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(std::sync::Arc::new(HttpStore::with_config(url, config)?))
    } else {
        Ok(std::sync::Arc::new(FsStore::new(url.strip_prefix("file://").unwrap_or(url))))
    }
}
pub use zarr_proto::ndarray::NdArray;
pub use zarr_proto::selection::Selection;
