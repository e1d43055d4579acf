//! A Zarr array opened from a store.

use std::sync::Arc;

use serde_json::{Map, Value};
use zarr_proto::codec::CodecRegistry;
use zarr_proto::metadata::{ArrayMetadata, NodeMetadata};
use zarr_proto::read::ReadOp;
use zarr_proto::{key, Limits};

use zarr_store::{local_path, FsStore, Store};

use crate::driver::{self, ReadOptions};
use crate::{Error, NdArray, Selection};

/// A Zarr v2 or v3 array: its metadata and the store it lives in.
#[derive(Clone)]
pub struct Array {
    store: Arc<dyn Store>,
    path: String,
    meta: ArrayMetadata,
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array").field("path", &self.path).field("shape", &self.meta.shape).finish_non_exhaustive()
    }
}

impl Array {
    /// Opens the array at `path` (`""` for the store's root) in `store`.
    ///
    /// # Errors
    /// A store error when there is no metadata at `path`,
    /// [`Error::WrongNodeType`] for a group, and metadata errors.
    pub fn open(store: impl Store + 'static, path: &str) -> Result<Array, Error> {
        Self::open_shared(Arc::new(store), path)
    }

    /// Opens a local array by filesystem path or `file://` URL.
    pub fn open_path(path_or_url: &str) -> Result<Array, Error> {
        Self::open(FsStore::new(local_path(path_or_url)), "")
    }

    /// Like [`open`](Self::open), for a store already shared with other nodes.
    pub fn open_shared(store: Arc<dyn Store>, path: &str) -> Result<Array, Error> {
        match crate::group::read_node(store.as_ref(), path)? {
            NodeMetadata::Array(meta) => Ok(Array::from_metadata(store, path, meta)),
            NodeMetadata::Group(_) => {
                Err(Error::WrongNodeType { path: path.into(), expected: "array", found: "group" })
            }
        }
    }

    pub(crate) fn from_metadata(store: Arc<dyn Store>, path: &str, meta: ArrayMetadata) -> Array {
        Array { store, path: path.trim_matches('/').into(), meta }
    }

    /// The resolved metadata.
    pub fn metadata(&self) -> &ArrayMetadata {
        &self.meta
    }

    /// The array's path in its store.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The shape.
    pub fn shape(&self) -> &[u64] {
        &self.meta.shape
    }

    /// User attributes.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.meta.attributes
    }

    /// The store the array lives in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Reads `selection` with default options.
    ///
    /// # Errors
    /// Invalid selections, store failures and corrupt chunks, each naming the key.
    pub fn read(&self, selection: &Selection) -> Result<NdArray, Error> {
        self.read_with(selection, &ReadOptions::default())
    }

    /// Reads `selection` with explicit concurrency, limits or a progress callback.
    pub fn read_with(&self, selection: &Selection, options: &ReadOptions) -> Result<NdArray, Error> {
        let op = ReadOp::new(&self.meta, selection, options.limits.unwrap_or_default())?;
        driver::run(op, self.store.as_ref(), &self.path, options)
    }

    /// Reads `selection` into `out`, which must hold exactly the selection's bytes
    /// (fixed-size data types only).
    pub fn read_into(&self, selection: &Selection, out: &mut [u8]) -> Result<(), Error> {
        let array = self.read(selection)?;
        let bytes = array.fixed_bytes()?;
        if bytes.len() != out.len() {
            return Err(Error::Proto(zarr_proto::Error::Selection(format!(
                "output buffer of {} bytes for a selection of {} bytes (shape {:?})",
                out.len(),
                bytes.len(),
                array.shape
            ))));
        }
        out.copy_from_slice(bytes);
        Ok(())
    }

    /// Key of a chunk (relative to the store root).
    pub fn chunk_key(&self, chunk: &[u64]) -> String {
        key::join(&self.path, &self.meta.chunk_key(chunk))
    }
}

/// Parses the metadata documents of a node with default codecs and limits.
pub(crate) fn registry_and_limits() -> (CodecRegistry, Limits) {
    (CodecRegistry::default(), Limits::default())
}
