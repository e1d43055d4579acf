//! Async driver for [`zarr_proto`]: stores that move the bytes the sans-IO core asks for.
//!
//! The library uses futures-lite and async-io only, so it runs under smol,
//! `futures_lite::future::block_on`, or any other executor; no runtime is
//! started behind your back. Two threads of its own move HTTP bytes whatever the
//! caller polls with: `zarr-http` (hyper's HTTP/2 and TLS HTTP/1.1 connections)
//! and isahc's agent (libcurl: plain HTTP/1.1, proxies, redirects).
//!
//! - [`store`]: the [`Store`] trait and the memory, filesystem and
//!   HTTP stores.
//! - `server` (feature `server`): an HTTP/1.1 + h2c server for a directory or a
//!   [`MemoryStore`], with Range support, latency and fault
//!   injection, for tests, benches and `zarr serve`.
#![warn(missing_docs)]

mod array;
mod error;
pub mod read;
mod rt;
pub mod store;

#[cfg(feature = "server")]
pub mod server;

pub use array::{open_node, store_for_url, Array, Group, Node};
pub use error::Error;
pub use read::ReadOptions;
pub use store::{BoxFuture, FsStore, HttpConfig, HttpStore, HttpVersion, ListDir, MemoryStore, Store, StoreError};
pub use zarr_proto::ndarray::NdArray;
pub use zarr_proto::selection::Selection;
