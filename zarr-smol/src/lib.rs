//! Async Zarr reads and writes: the [`zarr_proto`] state machines driven by store futures.
//!
//! [`Array::write`] runs a [`WriteOp`](zarr_proto::WriteOp): chunks a selection covers
//! wholly are encoded and put, chunks it covers in part are read, merged and put with a
//! condition (on stores that check them), chunks left all fill value are deleted.
//!
//! The library uses futures-lite and async-io only, so it runs under smol, tokio,
//! `futures_lite::future::block_on`, or any other executor; no runtime is
//! started behind your back. Every future it returns is `Send`, so multi-threaded
//! executors can move it between threads (`tokio::spawn` takes a read: see
//! `examples/tokio.rs`; `tests/send.rs` checks each entry point at compile time). The stores are [`zarr_store`]'s (re-exported here as
//! [`store`]); the HTTP client runs its connections on threads of its own, see
//! [`HttpStore`].
//!
//! ```
//! # futures_lite::future::block_on(async {
//! use zarr_smol::{Array, MemoryStore, Selection};
//!
//! let store = MemoryStore::new();
//! store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16",
//!     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
//!     "chunk_key_encoding":{"name":"default"},"fill_value":7,
//!     "codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
//! store.insert("c/1", vec![1u8, 0, 2, 0]);
//! let array = Array::open_in(store, "").await?;
//! let values: Vec<u16> = array.read(&Selection::all()).await?.to_vec()?;
//! assert_eq!(values, [7, 7, 1, 2]);
//! # Ok::<(), zarr_smol::Error>(())
//! # }).unwrap();
//! ```
#![warn(missing_docs)]

mod array;
mod create;
mod error;
pub mod read;
mod write;

pub use array::{Array, Group, Node};
/// The other bound of typed reads ([`Array::read_elements`]): plain-old-data element types,
/// for generic code over them.
pub use bytemuck::Pod;
pub use bytes::Bytes;
pub use error::Error;
#[cfg(feature = "ndarray")]
pub use ndarray;
/// The sans-IO core, for what the driver's types name: metadata types, codecs, [`Element`].
pub use zarr_proto as proto;
/// The core's error (bad metadata, chunk, selection or chunk index), which [`Error::Proto`] carries.
pub use zarr_proto::Error as ProtoError;
pub use zarr_proto::{s, DataType, DimSelector, Element, Limits, NdArray, Selection, SelectionKind};
pub use zarr_proto::{ArrayBuilder, ArrayMetadata, ConsolidatedMetadata, GroupMetadata, ZarrFormat};
pub use zarr_proto::{CodecRegistry, Compression, OpenOptions, Progress, ReadOptions, WriteOptions};
pub use zarr_store as store;
pub use zarr_store::store_for;
#[cfg(feature = "http")]
pub use zarr_store::{store_for_url, store_for_url_with, HttpConfig, HttpStore, HttpVersion, S3Options, S3Store};
pub use zarr_store::{BoxFuture, FsStore, ListDir, MemoryStore, Store, StoreError};
