//! A Zarr array opened from a store.

use std::ops::Range;
use std::sync::Arc;

use bytemuck::Pod;
use bytes::Bytes;
use serde_json::{Map, Value};
use zarr_proto::key;
use zarr_proto::{ArrayMetadata, DimSelector, Element, OpenOptions, ReadOp, ReadOptions};

use zarr_store::Store;

use crate::driver;
use crate::{Error, NdArray, Selection};

/// A Zarr v2 or v3 array: its metadata and the store it lives in.
#[derive(Clone)]
pub struct Array {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) path: String,
    pub(crate) meta: ArrayMetadata,
    pub(crate) options: Arc<OpenOptions>,
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array").field("path", &self.path).field("shape", &self.meta.shape).finish_non_exhaustive()
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
    /// let array = zarr_blocking::Array::open("data/temperature.zarr")?;
    /// println!("{:?} {}", array.shape(), array.data_type());
    /// # Ok::<(), zarr_blocking::Error>(())
    /// ```
    pub fn open(url_or_path: &str) -> Result<Array, Error> {
        Self::open_with(zarr_store::store_for(url_or_path)?, "", Arc::default())
    }

    /// Opens the array at `path` (`""` for the store's root) in `store`.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// // `store` holds a uint16 array of 4 elements at its root.
    /// let array = zarr_blocking::Array::open_in(store, "")?;
    /// assert_eq!(array.shape(), [4]);
    /// # Ok(()) }
    /// ```
    pub fn open_in(store: impl Store + 'static, path: &str) -> Result<Array, Error> {
        Self::open_with(Arc::new(store), path, Arc::default())
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// use std::sync::Arc;
    /// use zarr_blocking::{Array, Limits, OpenOptions, Store};
    ///
    /// // Tighter bounds for data from strangers; any store, shared with `Arc`.
    /// let options = OpenOptions { limits: Limits::default(), ..OpenOptions::default() };
    /// let store: Arc<dyn Store> = Arc::new(store);
    /// let array = Array::open_with(store, "", Arc::new(options))?;
    /// assert_eq!(array.data_type().to_string(), "uint16");
    /// # Ok(()) }
    /// ```
    pub fn open_with(store: Arc<dyn Store>, path: &str, options: Arc<OpenOptions>) -> Result<Array, Error> {
        match crate::Node::open_with(store, path, options)? {
            crate::Node::Array(array) => Ok(array),
            crate::Node::Group(g) => {
                Err(Error::WrongNodeType { path: g.location(), expected: "array", found: "group" })
            }
        }
    }

    pub(crate) fn from_metadata(
        store: Arc<dyn Store>,
        path: &str,
        meta: ArrayMetadata,
        options: Arc<OpenOptions>,
    ) -> Array {
        Array { store, path: path.trim_matches('/').into(), meta, options }
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
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_blocking::Array::open_in(store, "")?;
    /// use zarr_blocking::s;
    ///
    /// // `array` is a uint16 array [7, 7, 1, 2].
    /// let part = array.read(&s![1..3])?;
    /// assert_eq!(part.shape, [2]);
    /// assert_eq!(part.to_vec::<u16>()?, [7, 1]);
    /// # Ok(()) }
    /// ```
    pub fn read(&self, selection: &Selection) -> Result<NdArray, Error> {
        self.read_with(selection, &ReadOptions::default())
    }

    /// Reads `selection` with explicit concurrency, limits or a progress callback.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_blocking::Array::open_in(store, "")?;
    /// use std::sync::Arc;
    /// use zarr_blocking::{ReadOptions, Selection};
    ///
    /// let options = ReadOptions {
    ///     progress: Some(Arc::new(|done, total| eprintln!("{done}/{total} chunks"))),
    ///     concurrency: Some(8), // requests in flight
    ///     ..ReadOptions::default()
    /// };
    /// let all = array.read_with(&Selection::all(), &options)?;
    /// assert_eq!(all.to_vec::<u16>()?, [7, 7, 1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn read_with(&self, selection: &Selection, options: &ReadOptions) -> Result<NdArray, Error> {
        let limits = options.limits.unwrap_or(self.options.limits);
        let op = ReadOp::new_at(&self.meta, &self.path, selection, limits)?;
        let array = driver::run(op, self.store.as_ref(), options, None)?;
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_blocking::Array::open_in(store, "")?;
    /// // `array` is a uint16 array [7, 7, 1, 2]: elements are `u16`.
    /// let values: Vec<u16> = array.read_elements(&zarr_blocking::s![2..])?;
    /// assert_eq!(values, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn read_elements<T: Element + Pod>(&self, selection: &Selection) -> Result<Vec<T>, Error> {
        let mut out = vec![T::zeroed(); self.selection_len(selection)?];
        self.read_into_elements(selection, &mut out)?;
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_blocking::Array::open_in(store, "")?;
    /// // A buffer the caller owns and can reuse: the read allocates no output.
    /// let mut out = vec![0u16; 4];
    /// array.read_into_elements(&zarr_blocking::Selection::all(), &mut out)?;
    /// assert_eq!(out, [7, 7, 1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn read_into_elements<T: Element + Pod>(&self, selection: &Selection, out: &mut [T]) -> Result<(), Error> {
        check_element::<T>(&self.meta.data_type)?;
        self.read_into(selection, bytemuck::cast_slice_mut(out))
    }

    /// The number of elements `selection` picks.
    fn selection_len(&self, selection: &Selection) -> Result<usize, Error> {
        let shape = self.output_shape(selection)?;
        let n = shape.iter().try_fold(1u64, |a, &b| a.checked_mul(b));
        Ok(n.and_then(|n| usize::try_from(n).ok()).ok_or(zarr_proto::Error::LimitExceeded {
            what: "output elements",
            requested: u64::MAX,
            limit: usize::MAX as u64,
        })?)
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// use zarr_blocking::{s, Array, MemoryStore};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[2,3],"data_type":"int32",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[1,3]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":0,
    ///     "codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// store.insert("c/1/0", [4i32, 5, 6].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
    /// let array = Array::open_in(store, "")?;
    /// let a = array.read_ndarray::<i32>(&s![.., 1..])?;
    /// assert_eq!(a, zarr_blocking::ndarray::arr2(&[[0, 0], [5, 6]]).into_dyn());
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "ndarray")]
    pub fn read_ndarray<T: Element + Pod>(&self, selection: &Selection) -> Result<ndarray::ArrayD<T>, Error> {
        let shape = self.output_shape(selection)?;
        let elements = self.read_elements::<T>(selection)?;
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// use zarr_blocking::{Array, MemoryStore};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[5],"data_type":"uint8",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#);
    /// let array = Array::open_in(store, "")?;
    /// assert_eq!(array.chunk_subset(&[2])?, [4..5]);
    /// assert!(array.chunk_subset(&[3]).is_err());
    /// # Ok(()) }
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// use zarr_blocking::{s, Array, MemoryStore, Selection};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4,4],"data_type":"uint8",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2,2]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#);
    /// let array = Array::open_in(store, "")?;
    /// assert_eq!(array.chunk_indices(&s![1..3, 3])?, [[0, 1], [1, 1]]);
    /// assert_eq!(array.chunk_indices(&Selection::all())?.len(), 4);
    /// # Ok(()) }
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// use zarr_blocking::{Array, MemoryStore};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[3],"data_type":"uint8",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":9,"codecs":[{"name":"bytes"}]}"#);
    /// store.insert("c/1", vec![5u8, 6]);
    /// let array = Array::open_in(store, "")?;
    /// assert_eq!(array.read_chunk(&[1])?.to_vec::<u8>()?, [5]);
    /// assert_eq!(array.read_chunk(&[0])?.to_vec::<u8>()?, [9, 9]);
    /// # Ok(()) }
    /// ```
    pub fn read_chunk(&self, chunk: &[u64]) -> Result<NdArray, Error> {
        self.read(&chunk_selection(self.meta.chunk_subset(chunk)?))
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// use zarr_blocking::{Array, MemoryStore};
    ///
    /// let store = MemoryStore::new();
    /// store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[3],"data_type":"uint8",
    ///     "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
    ///     "chunk_key_encoding":{"name":"default"},"fill_value":9,"codecs":[{"name":"bytes"}]}"#);
    /// store.insert("c/1", vec![5u8, 6]);
    /// let array = Array::open_in(store, "")?;
    /// assert_eq!(array.read_encoded_chunk(&[1])?.as_deref(), Some(&[5u8, 6][..]));
    /// assert_eq!(array.read_encoded_chunk(&[0])?, None);
    /// # Ok(()) }
    /// ```
    pub fn read_encoded_chunk(&self, chunk: &[u64]) -> Result<Option<Bytes>, Error> {
        let key = self.meta.stored_chunk_key(&self.path, chunk)?;
        Ok(self.store.get_blocking(&key, None)?)
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
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_blocking::Array::open_in(store, "")?;
    /// // Two uint16 elements: four bytes, native byte order.
    /// let mut bytes = [0u8; 4];
    /// array.read_into(&zarr_blocking::s![2..], &mut bytes)?;
    /// assert_eq!(bytes, [1u16.to_ne_bytes(), 2u16.to_ne_bytes()].concat()[..]);
    /// # Ok(()) }
    /// ```
    pub fn read_into(&self, selection: &Selection, out: &mut [u8]) -> Result<(), Error> {
        self.read_into_with(selection, out, &ReadOptions::default())
    }

    /// [`read_into`](Self::read_into) with explicit concurrency, limits or a progress callback.
    ///
    /// # Errors
    /// As for [`read_into`](Self::read_into).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("c/1", vec![1u8, 0, 2, 0]);
    /// # let array = zarr_blocking::Array::open_in(store, "")?;
    /// use zarr_blocking::{ReadOptions, Selection};
    ///
    /// let options = ReadOptions { decode_threads: Some(1), ..ReadOptions::default() };
    /// let mut bytes = vec![0u8; 8]; // four uint16
    /// array.read_into_with(&Selection::all(), &mut bytes, &options)?;
    /// assert_eq!(&bytes[4..], [1u16.to_ne_bytes(), 2u16.to_ne_bytes()].concat());
    /// # Ok(()) }
    /// ```
    pub fn read_into_with(&self, selection: &Selection, out: &mut [u8], options: &ReadOptions) -> Result<(), Error> {
        let limits = options.limits.unwrap_or(self.options.limits);
        let op = ReadOp::new_into(&self.meta, &self.path, selection, limits, out)?;
        driver::run(op, self.store.as_ref(), options, Some(out))?;
        Ok(())
    }

    /// Key of a chunk of the stored grid (the shard when sharded), relative to the
    /// store root; [`read_encoded_chunk`](Self::read_encoded_chunk) checks the index, this does not.
    pub fn chunk_key(&self, chunk: &[u64]) -> String {
        key::join(&self.path, &self.meta.chunk_key(chunk))
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
