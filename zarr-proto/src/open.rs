//! Opening a node: which metadata documents to fetch, and what they say.
//!
//! Every driver opens arrays and groups the same way, so the decision lives here:
//! ask for the v3 and v2 documents at once (one round trip over a slow link),
//! then prefer `zarr.json`, then `.zarray`, then `.zgroup` with its consolidated
//! `.zmetadata`.

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::codec::CodecRegistry;
use crate::error::{Error, Result};
use crate::key;
use crate::limits::{self, Limits};
use crate::metadata::consolidated::ConsolidatedMetadata;
use crate::metadata::{ArrayMetadata, GroupMetadata, NodeMetadata};
use crate::read::{Request, RequestId, Response};

/// What a driver opens nodes with: the codecs it knows and the bounds it keeps.
///
/// A value the caller chooses (a pure-Rust registry, tighter limits for untrusted
/// data) rather than defaults hard-coded in each driver; nodes opened below a group
/// inherit it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenOptions {
    /// Codecs to resolve metadata with.
    pub registry: CodecRegistry,
    /// Bounds for metadata and, by default, for reads of the opened arrays.
    pub limits: Limits,
}

/// The documents that may describe a node, in the order [`OpenOp`] asks for them.
const DOCUMENTS: [&str; 5] = ["zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"];

/// Opens the node at one path: the documents to fetch, then the parsed metadata.
///
/// It speaks [`ReadOp`](crate::read::ReadOp)'s vocabulary: [`Request`]s with ids and
/// keys relative to the store's root, answered with [`Response`]s in any order.
///
/// ```
/// use zarr_proto::OpenOp;
/// use zarr_proto::Response;
/// use zarr_proto::codec::CodecRegistry;
///
/// let mut op = OpenOp::new("group/array", Default::default());
/// while let Some(req) = op.poll_request() {
///     let answer = match req.key.as_str() {
///         "group/array/.zarray" => Response::Bytes(br#"{"zarr_format":2,"shape":[4],"chunks":[2],
///             "dtype":"<u2","compressor":null,"fill_value":0,"order":"C","filters":null}"#.to_vec().into()),
///         _ => Response::Missing,
///     };
///     op.handle_response(req.id, answer)?;
/// }
/// assert!(op.is_done());
/// let node = op.finish(&CodecRegistry::default())?;
/// assert!(matches!(node, zarr_proto::NodeMetadata::Array(_)));
/// # Ok::<(), zarr_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct OpenOp {
    path: String,
    limits: Limits,
    /// Documents not yet polled, by index into [`DOCUMENTS`].
    next: usize,
    answers: [Option<Option<Bytes>>; DOCUMENTS.len()],
}

impl OpenOp {
    /// Plans opening the node at `path` (`""` for the root), with documents bounded by
    /// `limits.max_metadata_bytes`.
    pub fn new(path: &str, limits: Limits) -> OpenOp {
        OpenOp { path: path.trim_matches('/').into(), limits, next: 0, answers: Default::default() }
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The next document to fetch. All five go out at once (one round trip over a slow
    /// link); the answer changes only when `poll_request` is called.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<Request> {
        let req = self.peek()?;
        self.next += 1;
        Some(req)
    }

    /// The request [`poll_request`](Self::poll_request) would give, left in the op.
    pub fn peek_request(&self) -> Option<Request> {
        self.peek()
    }

    fn peek(&self) -> Option<Request> {
        let doc = DOCUMENTS.get(self.next)?;
        Some(Request { id: RequestId(self.next as u64), key: key::join(&self.path, doc), range: None })
    }

    /// Whether every document has been answered.
    pub fn is_done(&self) -> bool {
        self.answers.iter().all(Option::is_some)
    }

    /// Takes the store's answer to request `id`.
    ///
    /// # Errors
    /// An unknown or already answered id, or a document larger than
    /// `limits.max_metadata_bytes` (naming its key).
    pub fn handle_response(&mut self, id: RequestId, response: Response) -> Result<()> {
        let i = usize::try_from(id.0)
            .ok()
            .filter(|&i| i < self.next && self.answers.get(i).is_some_and(Option::is_none))
            .ok_or_else(|| Error::Protocol(alloc::format!("unknown or already answered request {}", id.0)))?;
        let value = match response {
            Response::Missing => None,
            Response::Bytes(b) => {
                limits::check("metadata document", b.len() as u64, self.limits.max_metadata_bytes)
                    .map_err(|e| e.in_chunk(&key::join(&self.path, DOCUMENTS[i])))?;
                Some(b)
            }
        };
        self.answers[i] = Some(value);
        Ok(())
    }

    /// The node's metadata, with codecs from `registry`.
    ///
    /// # Errors
    /// No document at all ([`Error::NotFound`] naming the path),
    /// unanswered requests, or invalid metadata naming the document's key.
    pub fn finish(self, registry: &CodecRegistry) -> Result<NodeMetadata> {
        let OpenOp { path, limits, answers, .. } = self;
        let limits = &limits;
        let mut docs = Vec::with_capacity(answers.len());
        for (doc, answer) in DOCUMENTS.iter().zip(answers) {
            let key = key::join(&path, doc);
            docs.push(answer.ok_or_else(|| Error::Protocol(alloc::format!("{key} was never answered")))?);
        }
        let name = |i: usize, e: Error| match e {
            Error::InvalidMetadata { reason, .. } => {
                Error::InvalidMetadata { key: key::join(&path, DOCUMENTS[i]), reason }
            }
            other => other,
        };
        let [zarr_json, zarray, zattrs, zgroup, zmetadata]: [Option<Bytes>; 5] =
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
        Err(Error::NotFound { path })
    }
}
