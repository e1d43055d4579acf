//! Opening a node: which metadata documents to fetch, and what they say.
//!
//! Every driver opens arrays and groups the same way, so the decision lives here:
//! ask for the v3 and v2 documents at once (one round trip over a slow link),
//! then prefer `zarr.json`, then `.zarray`, then `.zgroup` with its consolidated
//! `.zmetadata`.

use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::CodecRegistry;
use crate::error::{Error, Result};
use crate::key;
use crate::limits::{self, Limits};
use crate::metadata::consolidated::ConsolidatedMetadata;
use crate::metadata::{ArrayMetadata, GroupMetadata, NodeMetadata};

/// The documents that may describe a node, in the order [`OpenOp::keys`] lists them.
const DOCUMENTS: [&str; 5] = ["zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"];

/// Opens the node at one path: the documents to fetch, then the parsed metadata.
///
/// ```
/// use zarr_proto::open::OpenOp;
/// let op = OpenOp::new("group/array");
/// assert_eq!(op.keys()[0], "group/array/zarr.json");
/// ```
#[derive(Debug)]
pub struct OpenOp {
    path: String,
    keys: Vec<String>,
    answers: Vec<Option<Option<Vec<u8>>>>,
}

impl OpenOp {
    /// Plans opening the node at `path` (`""` for the root).
    pub fn new(path: &str) -> OpenOp {
        let path: String = path.trim_matches('/').into();
        let keys = DOCUMENTS.iter().map(|d| key::join(&path, d)).collect();
        OpenOp { path, keys, answers: alloc::vec![None; DOCUMENTS.len()] }
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The store keys to fetch; answer each with [`handle_response`](Self::handle_response).
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Takes the value of `keys()[index]`, `None` when the key does not exist.
    ///
    /// # Errors
    /// An index out of range, or a document larger than `limits.max_metadata_bytes`.
    pub fn handle_response(&mut self, index: usize, value: Option<Vec<u8>>, limits: &Limits) -> Result<()> {
        let slot = self.answers.get_mut(index).ok_or_else(|| Error::Protocol(alloc::format!("no document {index}")))?;
        if let Some(v) = &value {
            limits::check("metadata document", v.len() as u64, limits.max_metadata_bytes)
                .map_err(|e| e.in_chunk(&self.keys[index]))?;
        }
        *slot = Some(value);
        Ok(())
    }

    /// The node's metadata.
    ///
    /// # Errors
    /// No document at all (`Error::Store` naming the path), unanswered keys, or
    /// invalid metadata naming the document's key.
    pub fn finish(self, registry: &CodecRegistry, limits: &Limits) -> Result<NodeMetadata> {
        let OpenOp { path, keys, answers } = self;
        let mut docs = Vec::with_capacity(answers.len());
        for (key, answer) in keys.iter().zip(answers) {
            docs.push(answer.ok_or_else(|| Error::Protocol(alloc::format!("{key} was never answered")))?);
        }
        let name = |i: usize, e: Error| match e {
            Error::InvalidMetadata { reason, .. } => Error::InvalidMetadata { key: keys[i].clone(), reason },
            other => other,
        };
        let [zarr_json, zarray, zattrs, zgroup, zmetadata]: [Option<Vec<u8>>; 5] =
            docs.try_into().map_err(|_| Error::Protocol("wrong number of documents".into()))?;
        if let Some(doc) = zarr_json {
            return NodeMetadata::from_v3_json(&doc, registry, limits).map_err(|e| name(0, e));
        }
        if let Some(doc) = zarray {
            return ArrayMetadata::from_v2_json(&doc, zattrs.as_deref(), registry, limits)
                .map(NodeMetadata::Array)
                .map_err(|e| name(1, e));
        }
        if let Some(doc) = zgroup {
            let mut group = GroupMetadata::from_v2_json(&doc, zattrs.as_deref(), limits).map_err(|e| name(3, e))?;
            if let Some(z) = zmetadata {
                group.consolidated =
                    Some(ConsolidatedMetadata::from_v2_zmetadata(&z, registry, limits).map_err(|e| name(4, e))?);
            }
            return Ok(NodeMetadata::Group(group));
        }
        Err(Error::Store {
            key: if path.is_empty() { "/".into() } else { path },
            reason: "no zarr array or group here (no zarr.json, .zarray or .zgroup)".into(),
        })
    }
}
