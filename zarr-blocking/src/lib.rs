//! Synchronous Zarr reads with many chunk requests in flight, and no async runtime.
//!
//! Reading an array of many small chunks one request at a time is dominated by
//! latency. [`Array::read`] drives [`zarr_proto`]'s sans-IO [`ReadOp`](zarr_proto::ReadOp)
//! from a pool of worker threads: IO threads keep the store's number of requests in
//! flight (the core's [`FlowControl`](zarr_proto::FlowControl)) while decode
//! threads use every core, so plain sync code gets the same throughput as async code.
//! The stores are [`zarr_store`]'s, re-exported as [`store`]; this crate calls their
//! blocking methods on its IO threads.
//!
//! ```
//! # fn main() -> Result<(), zarr_blocking::Error> {
//! use zarr_blocking::{Array, MemoryStore, Selection};
//!
//! let store = MemoryStore::new();
//! store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16",
//!     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
//!     "chunk_key_encoding":{"name":"default"},"fill_value":7,
//!     "codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
//! store.insert("c/1", vec![1u8, 0, 2, 0]);
//! let array = Array::open_in(store, "")?;
//! let values: Vec<u16> = array.read(&Selection::all())?.to_vec()?;
//! assert_eq!(values, [7, 7, 1, 2]);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod array;
mod create;
mod driver;
mod error;
mod group;
mod write;

pub use array::Array;
/// The other bound of typed reads ([`Array::read_elements`]): plain-old-data element types,
/// for generic code over them.
pub use bytemuck::Pod;
pub use bytes::Bytes;
pub use error::Error;
pub use group::{Group, Node};
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
pub use zarr_store::{FsStore, ListDir, MemoryStore, Store, StoreError};
