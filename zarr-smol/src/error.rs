//! The error type of the async driver.

use zarr_store::StoreError;

/// Anything that can go wrong opening or reading a node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad metadata, a bad chunk, a bad selection: the core's error, with the key.
    #[error(transparent)]
    Proto(#[from] zarr_proto::Error),
    /// The store failed for a key.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No array or group where the caller pointed: the store's location and the
    /// node's path in it.
    #[error("no zarr array or group at `{path}` (no zarr.json, .zarray or .zgroup)")]
    NotFound {
        /// Where it was looked for.
        path: String,
    },
    /// A node is already where one was to be created.
    #[error("a zarr array or group already exists at `{path}`")]
    AlreadyExists {
        /// The store's location and the node's path in it.
        path: String,
    },
    /// Elements that cannot form an array of the shape a read gives (a shape whose
    /// extents do not fit this machine's `usize`).
    #[error("{elements} elements cannot form an array of shape {shape:?}: {reason}")]
    Shape {
        /// The read's shape.
        shape: Vec<u64>,
        /// Number of elements read.
        elements: usize,
        /// Why they do not fit.
        reason: String,
    },
    /// The node exists but is not what was asked for.
    #[error("expected {expected}, found {found} at `{path}`")]
    WrongNodeType {
        /// The store's location and the node's path in it.
        path: String,
        /// What the caller wanted.
        expected: &'static str,
        /// What is there.
        found: &'static str,
    },
    /// The operation's [`Cancel`](zarr_proto::Cancel) flag was set before it finished
    /// (dropping the operation's future also stops it, without an error).
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Whether the operation stopped because its [`Cancel`](zarr_proto::Cancel) flag was set.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled)
    }

    /// Whether nothing was found where the caller pointed.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// The core's "nothing here", told with the store's location.
    pub(crate) fn located(self, store: &dyn zarr_store::Store) -> Error {
        match self {
            Error::Proto(zarr_proto::Error::NotFound { path }) => {
                Error::NotFound { path: zarr_store::node_location(store, &path) }
            }
            other => other,
        }
    }
}
