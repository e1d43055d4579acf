//! Consolidated metadata: v2 `.zmetadata` and v3 `consolidated_metadata` in a group's `zarr.json`.

use alloc::collections::BTreeMap;
use alloc::string::String;

use crate::metadata::NodeMetadata;

/// Metadata of every node below a group, keyed by path relative to the group (`a/b`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsolidatedMetadata {
    /// Nodes by relative path, without leading or trailing `/`.
    pub nodes: BTreeMap<String, NodeMetadata>,
}
