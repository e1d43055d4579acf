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
    /// The node exists but is not what was asked for.
    #[error("`{path}` is a {found}, not a {expected}")]
    WrongNodeType {
        /// The node's path.
        path: String,
        /// What the caller wanted.
        expected: &'static str,
        /// What is there.
        found: &'static str,
    },
}
