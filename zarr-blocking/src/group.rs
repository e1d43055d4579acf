//! Zarr groups: open, list children, open children by path.

use std::sync::Arc;

use serde_json::{Map, Value};
use zarr_proto::key;
use zarr_proto::{ConsolidatedMetadata, GroupMetadata, NodeMetadata, Response};
use zarr_proto::{OpenOp, OpenOptions};
use zarr_store::Store;

use crate::{Array, Error};

/// An array or a group.
#[derive(Debug, Clone)]
pub enum Node {
    /// An array.
    Array(Array),
    /// A group.
    Group(Group),
}

/// A Zarr v2 or v3 group.
#[derive(Clone)]
pub struct Group {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) path: String,
    pub(crate) meta: GroupMetadata,
    pub(crate) options: Arc<OpenOptions>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Reads the metadata of the node at `path`, fetching its candidate documents in
/// parallel (one thread each: a slow link costs one round trip, not five).
pub(crate) fn read_node(store: &dyn Store, path: &str, options: &OpenOptions) -> Result<NodeMetadata, Error> {
    let mut op = OpenOp::new(path, options.limits);
    let mut requests = Vec::new();
    while let Some(req) = op.poll_request() {
        requests.push(req);
    }
    let answers: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            requests.iter().map(|req| scope.spawn(move || store.get_blocking(&req.key, req.range))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    for (req, answer) in requests.iter().zip(answers) {
        let response = match answer? {
            Some(bytes) => Response::Bytes(bytes),
            None => Response::Missing,
        };
        op.handle_response(req.id, response)?;
    }
    Ok(op.finish(&options.registry)?)
}

impl Node {
    /// Opens whatever node is at a local path, a `file://` URL or an `http(s)://` URL.
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the place when there is nothing there, metadata and
    /// store errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// match zarr_blocking::Node::open("https://example.org/data/survey.zarr")? {
    ///     zarr_blocking::Node::Array(array) => println!("array {:?}", array.shape()),
    ///     zarr_blocking::Node::Group(group) => println!("group of {:?}", group.children()?),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn open(url_or_path: &str) -> Result<Node, Error> {
        Node::open_with(zarr_store::store_for(url_or_path)?, "", Arc::default())
    }

    /// Opens whatever node is at `path` in `store`.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// use zarr_blocking::Node;
    ///
    /// let Node::Array(array) = Node::open_in(store, "temperature")? else { unreachable!() };
    /// assert_eq!(array.path(), "temperature");
    /// # Ok(()) }
    /// ```
    pub fn open_in(store: impl Store + 'static, path: &str) -> Result<Node, Error> {
        Node::open_with(Arc::new(store), path, Arc::default())
    }

    /// Opens whatever node is at `path` in a shared `store` with the caller's codecs and
    /// limits; nodes opened below it inherit them.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// use std::sync::Arc;
    /// use zarr_blocking::{Node, OpenOptions};
    ///
    /// let node = Node::open_with(Arc::new(store), "sub", Arc::new(OpenOptions::default()))?;
    /// assert!(matches!(node, Node::Group(_)));
    /// # Ok(()) }
    /// ```
    pub fn open_with(store: Arc<dyn Store>, path: &str, options: Arc<OpenOptions>) -> Result<Node, Error> {
        let path = path.trim_matches('/');
        let meta = read_node(store.as_ref(), path, &options).map_err(|e| e.located(store.as_ref()))?;
        Ok(match meta {
            NodeMetadata::Array(meta) => Node::Array(Array::from_metadata(store, path, meta, options)),
            NodeMetadata::Group(meta) => Node::Group(Group { store, path: path.into(), meta, options }),
        })
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

    /// Opens the group at a local path, a `file://` URL or an `http(s)://` URL.
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the place when there is nothing there,
    /// [`Error::WrongNodeType`] for an array, metadata and store errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// let group = zarr_blocking::Group::open("data/survey.zarr")?;
    /// for name in group.children()? {
    ///     println!("{name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn open(url_or_path: &str) -> Result<Group, Error> {
        Group::open_with(zarr_store::store_for(url_or_path)?, "", Arc::default())
    }

    /// Opens the group at `path` in `store`.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// let group = zarr_blocking::Group::open_in(store, "")?;
    /// assert!(group.attributes().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn open_in(store: impl Store + 'static, path: &str) -> Result<Group, Error> {
        Group::open_with(Arc::new(store), path, Arc::default())
    }

    /// Opens the group at `path` in a shared `store` with the caller's codecs and limits.
    ///
    /// # Errors
    /// As for [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// use std::sync::Arc;
    /// use zarr_blocking::{Group, OpenOptions, Store};
    ///
    /// // One store shared by the nodes opened from it; arrays below inherit the options.
    /// let store: Arc<dyn Store> = Arc::new(store);
    /// let group = Group::open_with(store.clone(), "", Arc::new(OpenOptions::default()))?;
    /// assert_eq!(group.array("temperature")?.shape(), [4]);
    /// # Ok(()) }
    /// ```
    pub fn open_with(store: Arc<dyn Store>, path: &str, options: Arc<OpenOptions>) -> Result<Group, Error> {
        match Node::open_with(store, path, options)? {
            Node::Group(g) => Ok(g),
            Node::Array(a) => Err(Error::WrongNodeType {
                path: zarr_store::node_location(a.store().as_ref(), a.path()),
                expected: "group",
                found: "array",
            }),
        }
    }

    /// Where the group is, for messages: the store's location and the group's path.
    pub(crate) fn location(&self) -> String {
        zarr_store::node_location(self.store.as_ref(), &self.path)
    }

    /// The group's metadata.
    pub fn metadata(&self) -> &GroupMetadata {
        &self.meta
    }

    /// User attributes.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.meta.attributes
    }

    /// The group's path in its store.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Consolidated metadata, when the group has it.
    pub fn consolidated(&self) -> Option<&ConsolidatedMetadata> {
        self.meta.consolidated.as_ref()
    }

    /// The names of the direct children, sorted; from consolidated metadata when present.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// # let group = zarr_blocking::Group::open_in(store, "")?;
    /// assert_eq!(group.children()?, ["sub", "temperature"]);
    /// # Ok(()) }
    /// ```
    pub fn children(&self) -> Result<Vec<String>, Error> {
        if let Some(names) = self.meta.consolidated_children() {
            return Ok(names);
        }
        let prefix = if self.path.is_empty() { String::new() } else { format!("{}/", self.path) };
        let listing = self.store.list_dir_blocking(&prefix)?;
        let mut names = Vec::new();
        for dir in listing.prefixes {
            let name = dir[prefix.len()..].trim_end_matches('/').to_string();
            let child = key::join(&self.path, &name);
            if read_node(self.store.as_ref(), &child, &self.options).is_ok() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Opens the node at `relative` below this group (`a/b`), using consolidated metadata when present.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// # let group = zarr_blocking::Group::open_in(store, "")?;
    /// use zarr_blocking::Node;
    ///
    /// match group.child("temperature")? {
    ///     Node::Array(array) => assert_eq!(array.shape(), [4]),
    ///     Node::Group(_) => unreachable!("an array"),
    /// }
    /// assert!(matches!(group.child("sub")?, Node::Group(_)));
    /// assert!(group.child("nothing").unwrap_err().is_not_found());
    /// # Ok(()) }
    /// ```
    pub fn child(&self, relative: &str) -> Result<Node, Error> {
        let path = key::join(&self.path, relative.trim_matches('/'));
        let (store, options) = (self.store.clone(), self.options.clone());
        Ok(match self.meta.consolidated_child(relative) {
            Some(NodeMetadata::Array(meta)) => Node::Array(Array::from_metadata(store, &path, meta, options)),
            Some(NodeMetadata::Group(meta)) => Node::Group(Group { store, path, meta, options }),
            None => return Node::open_with(store, &path, options),
        })
    }

    /// Opens the array at `relative` below this group.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), zarr_blocking::Error> {
    /// # let store = zarr_blocking::MemoryStore::new();
    /// # store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("sub/zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    /// # store.insert("temperature/zarr.json", r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":7,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#);
    /// # store.insert("temperature/c/1", vec![1u8, 0, 2, 0]);
    /// # let group = zarr_blocking::Group::open_in(store, "")?;
    /// let temperature = group.array("temperature")?;
    /// assert_eq!(temperature.read_elements::<u16>(&zarr_blocking::s![..])?, [7, 7, 1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn array(&self, relative: &str) -> Result<Array, Error> {
        match self.child(relative)? {
            Node::Array(a) => Ok(a),
            Node::Group(g) => Err(Error::WrongNodeType { path: g.location(), expected: "array", found: "group" }),
        }
    }
}
