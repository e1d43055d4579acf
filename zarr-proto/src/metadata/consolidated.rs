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

impl ConsolidatedMetadata {
    /// Parses a v2 `.zmetadata` document.
    pub fn from_v2_zmetadata(
        bytes: &[u8],
        registry: &crate::codec::CodecRegistry,
        limits: &crate::Limits,
    ) -> crate::Result<Self> {
        let _ = (bytes, registry, limits);
        Err(crate::Error::metadata(".zmetadata", "not implemented yet"))
    }
}
