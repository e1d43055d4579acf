//! Async arrays and groups.

use std::ops::Range;
use std::sync::Arc;

use bytemuck::Pod;
use bytes::Bytes;
use serde_json::{Map, Value};
use zarr_proto::key;
use zarr_proto::{ArrayMetadata, ConsolidatedMetadata, GroupMetadata, NodeMetadata};
use zarr_proto::{DimSelector, Element, NdArray, OpenOp, OpenOptions, ReadOp, ReadOptions, Selection};
use zarr_store::Store;

use crate::read;
use crate::Error;

/// An array or a group.
#[derive(Debug, Clone)]
pub enum Node {
    /// An array.
    Array(Array),
    /// A group.
    Group(Group),
}

/// A Zarr v2 or v3 array: its metadata and the store it lives in.
#[derive(Debug, Clone)]
pub struct Array {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) path: String,
    pub(crate) meta: ArrayMetadata,
    pub(crate) options: Arc<OpenOptions>,
}

/// A Zarr v2 or v3 group.
#[derive(Debug, Clone)]
pub struct Group {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) path: String,
    pub(crate) meta: GroupMetadata,
    pub(crate) options: Arc<OpenOptions>,
}

impl Array {
    pub(crate) fn from_metadata(
        store: Arc<dyn Store>,
        path: &str,
        meta: ArrayMetadata,
        options: Arc<OpenOptions>,
    ) -> Array {
        Array { store, path: path.trim_matches('/').into(), meta, options }
    }
}

impl Group {
    pub(crate) fn from_metadata(
        store: Arc<dyn Store>,
        path: &str,
        meta: GroupMetadata,
        options: Arc<OpenOptions>,
    ) -> Group {
        Group { store, path: path.trim_matches('/').into(), meta, options }
    }
}

impl Node {
    /// Opens whatever node is at a local path, a `file://` URL or an `http(s)://` URL;
    /// all candidate metadata documents in one round trip.
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the place when there is nothing there, metadata and
    /// store errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # futures_lite::future::block_on(async {
    /// match zarr_smol::Node::open("https://example.org/data/survey.zarr").await? {
    ///     zarr_smol::Node::Array(array) => println!("array {:?}", array.shape()),
    ///     zarr_smol::Node::Group(group) => println!("group of {:?}", group.children().await?),
    /// }
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open(url_or_path: &str) -> Result<Node, Error> {
        Node::open_with(zarr_store::store_for(url_or_path)?, "", Arc::default()).await
    }

    /// Opens whatever node is at `path` in `store`.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// use zarr_smol::Node;
    ///
    /// let Node::Array(array) = Node::open_in(store, "temperature").await? else { unreachable!() };
    /// assert_eq!(array.path(), "temperature");
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open_in(store: impl Store + 'static, path: &str) -> Result<Node, Error> {
        Node::open_with(Arc::new(store), path, Arc::default()).await
    }

    /// Opens whatever node is at `path` in a shared `store` with the caller's codecs
    /// and limits; nodes opened below it inherit them.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// use std::sync::Arc;
    /// use zarr_smol::{Node, OpenOptions};
    ///
    /// let node = Node::open_with(Arc::new(store), "sub", Arc::new(OpenOptions::default())).await?;
    /// assert!(matches!(node, Node::Group(_)));
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open_with(store: Arc<dyn Store>, path: &str, options: Arc<OpenOptions>) -> Result<Node, Error> {
        let op = OpenOp::new(path, options.limits);
        let path = op.path().to_string();
        let meta = read::open(op, &store, &options.registry).await.map_err(|e| e.located(store.as_ref()))?;
        Ok(match meta {
            NodeMetadata::Array(meta) => Node::Array(Array { store, path, meta, options }),
            NodeMetadata::Group(meta) => Node::Group(Group { store, path, meta, options }),
        })
    }
}

impl Array {
    /// Opens the array at a local path, a `file://` URL or an `http(s)://` URL
    /// (default HTTP settings; [`open_in`](Self::open_in) with a configured
    /// [`HttpStore`](crate::HttpStore) for others).
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the place when there is no array or group there,
    /// [`Error::WrongNodeType`] for a group, metadata and store errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # futures_lite::future::block_on(async {
    /// let array = zarr_smol::Array::open("https://example.org/data/temperature.zarr").await?;
    /// println!("{:?} {}", array.shape(), array.data_type());
    /// # Ok::<(), zarr_smol::Error>(())
    /// # });
    /// ```
    pub async fn open(url_or_path: &str) -> Result<Array, Error> {
        Array::open_with(zarr_store::store_for(url_or_path)?, "", Arc::default()).await
    }

    /// Opens the array at `path` (`""` for the root) in `store`.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// // `store` holds a uint16 array of 4 elements at its root.
    /// let array = zarr_smol::Array::open_in(store, "").await?;
    /// assert_eq!(array.shape(), [4]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open_in(store: impl Store + 'static, path: &str) -> Result<Array, Error> {
        Array::open_with(Arc::new(store), path, Arc::default()).await
    }

    /// Opens the array at `path` in a shared `store` with the caller's codecs and
    /// limits (the limits also bound reads unless [`ReadOptions::limits`] says otherwise).
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// use std::sync::Arc;
    /// use zarr_smol::{Array, Limits, OpenOptions, Store};
    ///
    /// // Tighter bounds for data from strangers; any store, shared with `Arc`.
    /// let options = OpenOptions { limits: Limits::default(), ..OpenOptions::default() };
    /// let store: Arc<dyn Store> = Arc::new(store);
    /// let array = Array::open_with(store, "", Arc::new(options)).await?;
    /// assert_eq!(array.data_type().to_string(), "uint16");
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open_with(store: Arc<dyn Store>, path: &str, options: Arc<OpenOptions>) -> Result<Array, Error> {
        match Node::open_with(store, path, options).await? {
            Node::Array(a) => Ok(a),
            Node::Group(g) => Err(Error::WrongNodeType {
                path: zarr_store::node_location(g.store.as_ref(), &g.path),
                expected: "array",
                found: "group",
            }),
        }
    }

    /// The shape of one chunk: the inner chunk when the array is sharded (the unit
    /// that is decoded); `None` for an irregular grid.
    pub fn chunk_shape(&self) -> Option<Vec<u64>> {
        self.meta.chunk_shape()
    }

    /// The shape of one shard (the stored object), when the array is sharded.
    pub fn shard_shape(&self) -> Option<Vec<u64>> {
        self.meta.shard_shape()
    }

    /// The number of stored chunks (shards, when sharded) along each dimension.
    pub fn chunk_grid_shape(&self) -> Vec<u64> {
        self.meta.chunk_grid_shape()
    }

    /// The fill value as the metadata states it (a number, `"NaN"`, a string, ...).
    pub fn fill_value(&self) -> serde_json::Value {
        self.meta.fill_value_json()
    }

    /// The element type.
    pub fn data_type(&self) -> &zarr_proto::DataType {
        &self.meta.data_type
    }

    /// Zarr v2 or v3.
    pub fn zarr_format(&self) -> zarr_proto::ZarrFormat {
        self.meta.zarr_format
    }

    /// The names of the dimensions, where the metadata gives them.
    pub fn dimension_names(&self) -> Option<&[Option<String>]> {
        self.meta.dimension_names.as_deref()
    }

    /// The resolved metadata.
    pub fn metadata(&self) -> &ArrayMetadata {
        &self.meta
    }

    /// The shape.
    pub fn shape(&self) -> &[u64] {
        &self.meta.shape
    }

    /// User attributes.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.meta.attributes
    }

    /// The array's path in its store.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The store the array lives in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Key of a chunk of the stored grid (the shard when sharded), relative to the
    /// store root; [`read_encoded_chunk`](Self::read_encoded_chunk) checks the index, this does not.
    pub fn chunk_key(&self, chunk: &[u64]) -> String {
        key::join(&self.path, &self.meta.chunk_key(chunk))
    }

    /// Reads `selection` with default options.
    ///
    /// # Errors
    /// Invalid selections, store failures and corrupt chunks, each naming the key.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_smol::Array::open_in(store, "").await?;
    /// use zarr_smol::s;
    ///
    /// // `array` is a uint16 array [7, 7, 1, 2].
    /// let part = array.read(&s![1..3]).await?;
    /// assert_eq!(part.shape, [2]);
    /// assert_eq!(part.to_vec::<u16>()?, [7, 1]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read(&self, selection: &Selection) -> Result<NdArray, Error> {
        self.read_with(selection, &ReadOptions::default()).await
    }

    /// Reads `selection` with explicit concurrency or limits.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_smol::Array::open_in(store, "").await?;
    /// use std::sync::Arc;
    /// use zarr_smol::{ReadOptions, Selection};
    ///
    /// let options = ReadOptions {
    ///     progress: Some(Arc::new(|done, total| eprintln!("{done}/{total} chunks"))),
    ///     concurrency: Some(8), // requests in flight
    ///     ..ReadOptions::default()
    /// };
    /// let all = array.read_with(&Selection::all(), &options).await?;
    /// assert_eq!(all.to_vec::<u16>()?, [7, 7, 1, 2]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_with(&self, selection: &Selection, options: &ReadOptions) -> Result<NdArray, Error> {
        let limits = options.limits.unwrap_or(self.options.limits);
        let op = ReadOp::new_at(&self.meta, &self.path, selection, limits)?;
        let array = read::run(op, self.store.clone(), options, None).await?;
        Ok(array.ok_or_else(|| zarr_proto::Error::Protocol("a read without a buffer gave no array".into()))?)
    }

    /// Reads `selection` as elements of `T` (`f32` for `float32`, ...), decoding
    /// straight into the returned vector: the read's only buffer.
    ///
    /// # Errors
    /// As for [`read`](Self::read); `T` not the array's data type.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_smol::Array::open_in(store, "").await?;
    /// // `array` is a uint16 array [7, 7, 1, 2]: elements are `u16`.
    /// let values: Vec<u16> = array.read_elements(&zarr_smol::s![2..]).await?;
    /// assert_eq!(values, [1, 2]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_elements<T: Element + Pod>(&self, selection: &Selection) -> Result<Vec<T>, Error> {
        let shape = self.output_shape(selection)?;
        let n = shape.iter().try_fold(1u64, |a, &b| a.checked_mul(b)).and_then(|n| usize::try_from(n).ok());
        let n = n.ok_or(zarr_proto::Error::LimitExceeded {
            what: "output elements",
            requested: u64::MAX,
            limit: usize::MAX as u64,
        })?;
        let mut out = vec![T::zeroed(); n];
        self.read_into_elements(selection, &mut out).await?;
        Ok(out)
    }

    /// Reads `selection` into `out`, elements of `T`, exactly the selection's number.
    ///
    /// # Errors
    /// As for [`read_into`](Self::read_into); `T` not the array's data type.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_smol::Array::open_in(store, "").await?;
    /// // A buffer the caller owns and can reuse: the read allocates no output.
    /// let mut out = vec![0u16; 4];
    /// array.read_into_elements(&zarr_smol::Selection::all(), &mut out).await?;
    /// assert_eq!(out, [7, 7, 1, 2]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_into_elements<T: Element + Pod>(
        &self,
        selection: &Selection,
        out: &mut [T],
    ) -> Result<(), Error> {
        check_element::<T>(&self.meta.data_type)?;
        self.read_into(selection, bytemuck::cast_slice_mut(out)).await
    }

    /// The shape of the array a read of `selection` gives.
    pub(crate) fn output_shape(&self, selection: &Selection) -> Result<Vec<u64>, Error> {
        Ok(selection.resolve(&self.meta.shape, &self.meta.chunk_grid.dims())?.output_shape())
    }

    /// Reads `selection` into an [`ndarray::ArrayD`], built on the vector
    /// [`read_elements`](Self::read_elements) decodes into: no copy.
    ///
    /// # Errors
    /// As for [`read_elements`](Self::read_elements); [`Error::Shape`] when the
    /// selection's shape does not fit this machine's `usize`.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use zarr_smol::{s, Array, MemoryStore};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[2,3],"data_type":"int32",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[1,3]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":0,
    ///     "codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// store.insert("c/1/0", [4i32, 5, 6].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
    /// let array = Array::open_in(store, "").await?;
    /// let a = array.read_ndarray::<i32>(&s![.., 1..]).await?;
    /// assert_eq!(a, zarr_smol::ndarray::arr2(&[[0, 0], [5, 6]]).into_dyn());
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    #[cfg(feature = "ndarray")]
    pub async fn read_ndarray<T: Element + Pod>(&self, selection: &Selection) -> Result<ndarray::ArrayD<T>, Error> {
        let shape = self.output_shape(selection)?;
        let elements = self.read_elements::<T>(selection).await?;
        to_ndarray(shape, elements)
    }

    /// The element region of chunk `chunk` of the *read grid* (the inner chunk of a
    /// shard when the array is sharded, the chunk otherwise), one range per
    /// dimension, clipped to the array's shape.
    ///
    /// # Errors
    /// [`zarr_proto::Error::ChunkIndex`] naming the index and the grid's shape when
    /// `chunk` lies outside the read grid.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use zarr_smol::{Array, MemoryStore};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[5],"data_type":"uint8",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#);
    /// let array = Array::open_in(store, "").await?;
    /// assert_eq!(array.chunk_subset(&[2])?, [4..5]);
    /// assert!(array.chunk_subset(&[3]).is_err());
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn chunk_subset(&self, chunk: &[u64]) -> Result<Vec<Range<u64>>, Error> {
        Ok(self.meta.chunk_subset(chunk)?)
    }

    /// The chunks of the *read grid* (inner chunks of shards when the array is
    /// sharded) that `selection` touches, each once, in C order: the indices
    /// [`read_chunk`](Self::read_chunk) takes.
    ///
    /// # Errors
    /// An invalid selection; more chunks than the array's
    /// [`Limits::max_chunks_per_read`](crate::Limits::max_chunks_per_read).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use zarr_smol::{s, Array, MemoryStore, Selection};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4,4],"data_type":"uint8",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2,2]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#);
    /// let array = Array::open_in(store, "").await?;
    /// assert_eq!(array.chunk_indices(&s![1..3, 3])?, [[0, 1], [1, 1]]);
    /// assert_eq!(array.chunk_indices(&Selection::all())?.len(), 4);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn chunk_indices(&self, selection: &Selection) -> Result<Vec<Vec<u64>>, Error> {
        Ok(self.meta.chunk_indices(selection, &self.options.limits)?)
    }

    /// Reads and decodes chunk `chunk` of the *read grid*: the inner chunk of a shard
    /// when the array is sharded (fetching only the shard's index and that inner
    /// chunk's bytes, or the whole shard when it holds no other), the chunk otherwise. The array has the shape of
    /// [`chunk_subset`](Self::chunk_subset): an edge chunk is clipped to the array.
    /// A chunk that was never written reads as the fill value.
    ///
    /// # Errors
    /// As for [`chunk_subset`](Self::chunk_subset) and [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use zarr_smol::{Array, MemoryStore};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[3],"data_type":"uint8",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":9,"codecs":[{"name":"bytes"}]}"#);
    /// store.insert("c/1", vec![5u8, 6]);
    /// let array = Array::open_in(store, "").await?;
    /// assert_eq!(array.read_chunk(&[1]).await?.to_vec::<u8>()?, [5]);
    /// assert_eq!(array.read_chunk(&[0]).await?.to_vec::<u8>()?, [9, 9]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_chunk(&self, chunk: &[u64]) -> Result<NdArray, Error> {
        self.read(&chunk_selection(self.meta.chunk_subset(chunk)?)).await
    }

    /// The stored bytes of chunk `chunk` of the *stored grid* (the whole shard when the
    /// array is sharded, the chunk otherwise), still encoded: for tools that copy
    /// chunks without decoding them. `None` when the chunk was never written.
    ///
    /// # Errors
    /// [`zarr_proto::Error::ChunkIndex`] naming the index and the grid's shape when
    /// `chunk` lies outside the stored grid; store failures.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use zarr_smol::{Array, MemoryStore};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[3],"data_type":"uint8",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":9,"codecs":[{"name":"bytes"}]}"#);
    /// store.insert("c/1", vec![5u8, 6]);
    /// let array = Array::open_in(store, "").await?;
    /// assert_eq!(array.read_encoded_chunk(&[1]).await?.as_deref(), Some(&[5u8, 6][..]));
    /// assert_eq!(array.read_encoded_chunk(&[0]).await?, None);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_encoded_chunk(&self, chunk: &[u64]) -> Result<Option<Bytes>, Error> {
        let key = self.meta.stored_chunk_key(&self.path, chunk)?;
        Ok(self.store.get(&key, None).await?)
    }

    /// Reads `selection` into `out`, which must hold exactly the selection's bytes
    /// (fixed-size data types, C order, native byte order). Chunks are written straight
    /// into `out`: no output of the read's own, no copy.
    ///
    /// # Errors
    /// As for [`read`](Self::read); [`zarr_proto::Error::BufferSize`] when `out` does
    /// not fit the selection.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_smol::Array::open_in(store, "").await?;
    /// // Two uint16 elements: four bytes, native byte order.
    /// let mut bytes = [0u8; 4];
    /// array.read_into(&zarr_smol::s![2..], &mut bytes).await?;
    /// assert_eq!(bytes, [1u16.to_ne_bytes(), 2u16.to_ne_bytes()].concat()[..]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_into(&self, selection: &Selection, out: &mut [u8]) -> Result<(), Error> {
        self.read_into_with(selection, out, &ReadOptions::default()).await
    }

    /// [`read_into`](Self::read_into) with explicit concurrency, limits or a progress callback.
    ///
    /// # Errors
    /// As for [`read_into`](Self::read_into).
    pub async fn read_into_with(
        &self,
        selection: &Selection,
        out: &mut [u8],
        options: &ReadOptions,
    ) -> Result<(), Error> {
        let limits = options.limits.unwrap_or(self.options.limits);
        let op = ReadOp::new_into(&self.meta, &self.path, selection, limits, out)?;
        read::run(op, self.store.clone(), options, Some(out)).await?;
        Ok(())
    }
}

impl Group {
    /// Opens the group at a local path, a `file://` URL or an `http(s)://` URL.
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the place when there is nothing there,
    /// [`Error::WrongNodeType`] for an array, metadata and store errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # futures_lite::future::block_on(async {
    /// let group = zarr_smol::Group::open("data/survey.zarr").await?;
    /// for name in group.children().await? {
    ///     println!("{name}");
    /// }
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open(url_or_path: &str) -> Result<Group, Error> {
        Group::open_with(zarr_store::store_for(url_or_path)?, "", Arc::default()).await
    }

    /// Opens the group at `path` in `store`.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// let group = zarr_smol::Group::open_in(store, "").await?;
    /// assert!(group.attributes().is_empty());
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open_in(store: impl Store + 'static, path: &str) -> Result<Group, Error> {
        Group::open_with(Arc::new(store), path, Arc::default()).await
    }

    /// Opens the group at `path` in a shared `store` with the caller's codecs and limits.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// use std::sync::Arc;
    /// use zarr_smol::{Group, OpenOptions, Store};
    ///
    /// // One store shared by the nodes opened from it; arrays below inherit the options.
    /// let store: Arc<dyn Store> = Arc::new(store);
    /// let group = Group::open_with(store.clone(), "", Arc::new(OpenOptions::default())).await?;
    /// assert_eq!(group.array("temperature").await?.shape(), [4]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open_with(store: Arc<dyn Store>, path: &str, options: Arc<OpenOptions>) -> Result<Group, Error> {
        match Node::open_with(store, path, options).await? {
            Node::Group(g) => Ok(g),
            Node::Array(a) => Err(Error::WrongNodeType {
                path: zarr_store::node_location(a.store.as_ref(), &a.path),
                expected: "group",
                found: "array",
            }),
        }
    }

    /// The group's metadata.
    pub fn metadata(&self) -> &GroupMetadata {
        &self.meta
    }

    /// User attributes.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.meta.attributes
    }

    /// Consolidated metadata, when the group has it.
    pub fn consolidated(&self) -> Option<&ConsolidatedMetadata> {
        self.meta.consolidated.as_ref()
    }

    /// The group's path in its store.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Names of the direct children, sorted; from consolidated metadata when present
    /// (HTTP stores cannot list).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// # let group = zarr_smol::Group::open_in(store, "").await?;
    /// assert_eq!(group.children().await?, ["sub", "temperature"]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn children(&self) -> Result<Vec<String>, Error> {
        if let Some(names) = self.meta.consolidated_children() {
            return Ok(names);
        }
        let prefix = if self.path.is_empty() { String::new() } else { format!("{}/", self.path) };
        let listing = self.store.list_dir(&prefix).await?;
        let mut names = Vec::new();
        for dir in listing.prefixes {
            let name = dir[prefix.len()..].trim_end_matches('/').to_string();
            let child = key::join(&self.path, &name);
            if Node::open_with(self.store.clone(), &child, self.options.clone()).await.is_ok() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Opens the node at `relative` below this group, from consolidated metadata when present.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// # let group = zarr_smol::Group::open_in(store, "").await?;
    /// use zarr_smol::Node;
    ///
    /// match group.child("temperature").await? {
    ///     Node::Array(array) => assert_eq!(array.shape(), [4]),
    ///     Node::Group(_) => unreachable!("an array"),
    /// }
    /// assert!(matches!(group.child("sub").await?, Node::Group(_)));
    /// assert!(group.child("nothing").await.unwrap_err().is_not_found());
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn child(&self, relative: &str) -> Result<Node, Error> {
        let path = key::join(&self.path, relative.trim_matches('/'));
        let (store, options) = (self.store.clone(), self.options.clone());
        Ok(match self.meta.consolidated_child(relative) {
            Some(NodeMetadata::Array(meta)) => Node::Array(Array { store, path, meta, options }),
            Some(NodeMetadata::Group(meta)) => Node::Group(Group { store, path, meta, options }),
            None => return Node::open_with(store, &path, options).await,
        })
    }

    /// Opens the array at `relative` below this group.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # let store = zarr_smol::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// # let group = zarr_smol::Group::open_in(store, "").await?;
    /// let temperature = group.array("temperature").await?;
    /// assert_eq!(temperature.read_elements::<u16>(&zarr_smol::s![..]).await?, [7, 7, 1, 2]);
    /// # Ok::<(), zarr_smol::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn array(&self, relative: &str) -> Result<Array, Error> {
        match self.child(relative).await? {
            Node::Array(a) => Ok(a),
            Node::Group(g) => Err(Error::WrongNodeType {
                path: zarr_store::node_location(g.store.as_ref(), &g.path),
                expected: "array",
                found: "group",
            }),
        }
    }
}

/// An `ndarray` over `elements`, which a read of `shape` gave: no copy.
#[cfg(feature = "ndarray")]
fn to_ndarray<T>(shape: Vec<u64>, elements: Vec<T>) -> Result<ndarray::ArrayD<T>, Error> {
    let fail = |shape: Vec<u64>, elements: usize, reason: String| Error::Shape { shape, elements, reason };
    let dims: Result<Vec<usize>, _> = shape.iter().map(|&n| usize::try_from(n)).collect();
    let dims = match dims {
        Ok(dims) => dims,
        Err(_) => return Err(fail(shape, elements.len(), "an extent does not fit usize".into())),
    };
    let n = elements.len();
    ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&dims), elements).map_err(|e| fail(shape, n, e.to_string()))
}

/// The selection of exactly `subset`.
fn chunk_selection(subset: Vec<Range<u64>>) -> Selection {
    Selection::Orthogonal(subset.into_iter().map(DimSelector::from).collect())
}

/// Refuses a Rust element type that is not the array's data type.
pub(crate) fn check_element<T: Element>(dtype: &zarr_proto::DataType) -> Result<(), Error> {
    if T::matches(dtype) {
        return Ok(());
    }
    Err(zarr_proto::Error::DataType {
        dtype: dtype.to_string(),
        reason: format!("elements are not {}", std::any::type_name::<T>()),
    }
    .into())
}
