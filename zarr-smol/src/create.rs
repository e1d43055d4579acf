//! Creating arrays and groups, resizing arrays and replacing attributes.
//!
//! The core decides what changes ([`ArrayMetadata::resized`], [`ArrayMetadata::documents`],
//! [`ArrayMetadata::chunks_outside`]); this module puts and deletes it.

use std::sync::Arc;

use serde_json::{Map, Value};
use zarr_proto::{key, ArrayMetadata, Document, FlowControl, GroupMetadata, OpenOptions};
use zarr_store::Store;

use crate::{read, Array, Error, Group};

/// Fails with [`Error::AlreadyExists`] when a node is at `path`.
async fn ensure_vacant(store: &Arc<dyn Store>, path: &str, options: &OpenOptions) -> Result<(), Error> {
    let op = zarr_proto::OpenOp::new(path, options.limits);
    match read::open(op, store, &options.registry).await {
        Ok(_) => Err(Error::AlreadyExists { path: zarr_store::node_location(store.as_ref(), path) }),
        Err(Error::Proto(zarr_proto::Error::NotFound { .. })) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn put_documents(store: &dyn Store, path: &str, docs: Vec<Document>) -> Result<(), Error> {
    for (name, bytes) in docs {
        store.set(&key::join(path, name), bytes.into()).await?;
    }
    Ok(())
}

impl Array {
    /// Creates an array with the metadata `meta` at `path` in `store` (no chunks are
    /// written: every element is the fill value until written).
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] when an array or group is at `path`; store errors.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use zarr_smol::{Array, ArrayBuilder, DataType, MemoryStore, ZarrFormat};
    ///
    /// # futures_lite::future::block_on(async {
    /// let meta = ArrayBuilder::new(vec![100, 100], DataType::Float32, vec![10, 10]).build(ZarrFormat::V3)?;
    /// let array = Array::create(Arc::new(MemoryStore::new()), "temperature", meta).await?;
    /// assert_eq!(array.shape(), [100, 100]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # });
    /// ```
    pub async fn create(store: Arc<dyn Store>, path: &str, meta: ArrayMetadata) -> Result<Array, Error> {
        Array::create_with(store, path, meta, Arc::default()).await
    }

    /// [`create`](Self::create) with the caller's codecs and limits for what follows.
    ///
    /// # Errors
    /// As for [`create`](Self::create).
    pub async fn create_with(
        store: Arc<dyn Store>,
        path: &str,
        meta: ArrayMetadata,
        options: Arc<OpenOptions>,
    ) -> Result<Array, Error> {
        let path = path.trim_matches('/');
        ensure_vacant(&store, path, &options).await?;
        put_documents(store.as_ref(), path, meta.documents()).await?;
        Ok(Array::from_metadata(store, path, meta, options))
    }

    /// Replaces the array's attributes.
    ///
    /// # Errors
    /// Store errors; the array's metadata in memory is unchanged then.
    pub async fn set_attributes(&mut self, attributes: Map<String, Value>) -> Result<(), Error> {
        let meta = self.meta.with_attributes(attributes, &self.options.registry, &self.options.limits)?;
        put_documents(self.store.as_ref(), &self.path, meta.attribute_documents()).await?;
        self.meta = meta;
        Ok(())
    }

    /// Changes the array's shape. Shrinking deletes the chunks (shards) wholly outside
    /// the new shape first, then writes the metadata, so a crash in between never
    /// leaves stale chunks that growing the array again would bring back.
    /// Elements of edge chunks outside the new shape stay stored, as in zarr-python.
    ///
    /// # Errors
    /// A shape of another rank, a rectilinear chunk grid, store errors.
    pub async fn resize(&mut self, shape: &[u64]) -> Result<(), Error> {
        let meta = self.meta.resized(shape, &self.options.registry, &self.options.limits)?;
        let (old, path) = (&self.meta, &self.path);
        let (old, path) = (old.clone(), path.clone());
        let keys = old.chunks_outside(shape).map(move |chunk| key::join(&path, &old.chunk_key(&chunk)));
        let in_flight = FlowControl::for_store(self.store.kind()).max_requests;
        zarr_store::bulk::delete_all(self.store.clone(), keys, in_flight).await?;
        put_documents(self.store.as_ref(), &self.path, meta.documents()).await?;
        self.meta = meta;
        Ok(())
    }
}

impl Group {
    /// Creates a group with the metadata `meta` at `path` in `store`.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] when an array or group is at `path`; store errors.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use zarr_smol::{Group, GroupMetadata, MemoryStore, ZarrFormat};
    ///
    /// # futures_lite::future::block_on(async {
    /// let store = Arc::new(MemoryStore::new());
    /// let group = Group::create(store, "", GroupMetadata::new(ZarrFormat::V3, Default::default())).await?;
    /// assert!(group.attributes().is_empty());
    /// # Ok::<(), zarr_smol::Error>(())
    /// # });
    /// ```
    pub async fn create(store: Arc<dyn Store>, path: &str, meta: GroupMetadata) -> Result<Group, Error> {
        Group::create_with(store, path, meta, Arc::default()).await
    }

    /// [`create`](Self::create) with the caller's codecs and limits for what follows.
    ///
    /// # Errors
    /// As for [`create`](Self::create).
    pub async fn create_with(
        store: Arc<dyn Store>,
        path: &str,
        meta: GroupMetadata,
        options: Arc<OpenOptions>,
    ) -> Result<Group, Error> {
        let path = path.trim_matches('/');
        ensure_vacant(&store, path, &options).await?;
        put_documents(store.as_ref(), path, meta.documents()).await?;
        Ok(Group::from_metadata(store, path, meta, options))
    }

    /// Replaces the group's attributes.
    ///
    /// # Errors
    /// Store errors; the group's metadata in memory is unchanged then.
    pub async fn set_attributes(&mut self, attributes: Map<String, Value>) -> Result<(), Error> {
        let meta = self.meta.with_attributes(attributes);
        put_documents(self.store.as_ref(), &self.path, meta.attribute_documents()).await?;
        self.meta = meta;
        Ok(())
    }
}
