//! Creating arrays and groups, resizing arrays and replacing attributes.
//!
//! The core decides what changes ([`ArrayMetadata::resized`], [`ArrayMetadata::documents`],
//! [`ArrayMetadata::chunks_outside`]); this module puts and deletes it.

use std::sync::Arc;

use serde_json::{Map, Value};
use zarr_proto::{key, ArrayMetadata, ConsolidatedMetadata, Document, GroupMetadata, NodeMetadata, OpenOptions};
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
        let in_flight = self.store.flow_control().max_requests;
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

    /// Writes consolidated metadata for the hierarchy below this group: v3
    /// `consolidated_metadata` inside its `zarr.json`, v2 `.zmetadata` next to its
    /// `.zgroup`. Readers (this crate, zarr-python's `open_consolidated`) then open every
    /// node below from that one document: one request instead of one or more per node,
    /// and the only way to walk a hierarchy over plain HTTP, which cannot list.
    ///
    /// The hierarchy is found by listing the store, not from consolidated metadata
    /// already there (that may be stale): every directory below that holds a node's
    /// metadata is a node; groups are descended, arrays are not (chunks are no nodes).
    /// Nodes stored in the other Zarr format are left out, as readers of this group's
    /// format do not see them. Consolidated metadata is a snapshot: run this again
    /// after creating, resizing or re-attributing nodes below.
    ///
    /// # Errors
    /// Stores that cannot list (HTTP: [`Error::Store`] saying so), metadata that does
    /// not parse (naming the node), store errors; the group is unchanged then.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use zarr_smol::{Array, ArrayBuilder, DataType, Group, GroupMetadata, MemoryStore, Store, ZarrFormat};
    ///
    /// # futures_lite::future::block_on(async {
    /// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    /// let mut root = Group::create(store.clone(), "", GroupMetadata::new(ZarrFormat::V2, Default::default())).await?;
    /// let meta = ArrayBuilder::new(vec![4], DataType::UInt8, vec![2]).build(ZarrFormat::V2)?;
    /// Array::create(store.clone(), "a", meta).await?;
    /// root.consolidate().await?;
    /// assert!(store.get(".zmetadata", None).await?.is_some());
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn consolidate(&mut self) -> Result<(), Error> {
        let store = &self.store;
        let mut nodes = ConsolidatedMetadata::default();
        // Groups still to list, by path relative to this one.
        let mut groups = vec![String::new()];
        while let Some(group) = groups.pop() {
            let dir = key::join(&self.path, &group);
            let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
            for child in store.list_dir(&prefix).await?.prefixes {
                let relative = key::join(&group, child[prefix.len()..].trim_end_matches('/'));
                let op = zarr_proto::OpenOp::new(&key::join(&self.path, &relative), self.options.limits);
                match read::open(op, store, &self.options.registry).await {
                    Ok(node) => {
                        if matches!(node, NodeMetadata::Group(_)) {
                            groups.push(relative.clone());
                        }
                        nodes.insert(&relative, node);
                    }
                    // A directory without metadata (say, a leftover): no node.
                    Err(Error::Proto(zarr_proto::Error::NotFound { .. })) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let meta = self.meta.with_consolidated(nodes);
        put_documents(store.as_ref(), &self.path, meta.consolidated_documents()).await?;
        self.meta = meta;
        Ok(())
    }
}
