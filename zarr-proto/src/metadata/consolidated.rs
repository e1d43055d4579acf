//! Consolidated metadata: v2 `.zmetadata` and v3 `consolidated_metadata` in a group's `zarr.json`.
//!
//! Read when a group is opened; written by a driver that walked the hierarchy
//! ([`ConsolidatedMetadata::insert`] per node, then [`GroupMetadata::with_consolidated`]
//! and [`GroupMetadata::consolidated_documents`]), so the document format lives here once.
//!
//! Nodes whose metadata this crate cannot handle ([`Error::Unsupported`]: an unknown
//! codec or data type) are left out of [`ConsolidatedMetadata::nodes`] rather than
//! failing the whole group: opening such a node directly reports the reason.
//! Malformed metadata fails the group.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value};

use crate::codec::CodecRegistry;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::metadata::update::Document;
use crate::metadata::{json, v2, v3, GroupMetadata, NodeMetadata, ZarrFormat};
use crate::metadata::{ZARRAY, ZARR_JSON, ZATTRS, ZGROUP, ZMETADATA};

/// Metadata of every node below a group, keyed by path relative to the group (`a/b`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsolidatedMetadata {
    /// Nodes by relative path, without leading or trailing `/`.
    pub nodes: BTreeMap<String, NodeMetadata>,
}

/// Keeps `node` unless it is unsupported (see the module documentation).
fn keep(nodes: &mut BTreeMap<String, NodeMetadata>, path: String, node: Result<NodeMetadata>) -> Result<()> {
    match node {
        Ok(node) => {
            nodes.insert(path, node);
            Ok(())
        }
        Err(Error::Unsupported { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

fn clean_path(path: &str) -> String {
    String::from(path.trim_matches('/'))
}

impl ConsolidatedMetadata {
    /// Parses a v2 `.zmetadata` document:
    /// `{"metadata": {"a/.zarray": {...}, "a/.zattrs": {...}, ...}, "zarr_consolidated_format": 1}`.
    ///
    /// The root group's own `.zgroup`/`.zattrs` are not nodes below it and are skipped.
    ///
    /// # Errors
    /// Malformed JSON, a document above `limits.max_metadata_bytes`, an unknown
    /// consolidated format, malformed node metadata.
    pub fn from_v2_zmetadata(bytes: &[u8], registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        const KEY: &str = ".zmetadata";
        let doc = json::parse_document(bytes, KEY, limits)?;
        let map = json::object(&doc, KEY)?;
        match map.get("zarr_consolidated_format") {
            Some(v) if v.as_u64() == Some(1) => {}
            Some(v) => return Err(Error::metadata(KEY, format!("`zarr_consolidated_format` is {v}, expected 1"))),
            None => return Err(Error::metadata(KEY, "missing `zarr_consolidated_format`")),
        }
        let entries = json::field(map, "metadata", KEY)?
            .as_object()
            .ok_or_else(|| Error::metadata(KEY, "`metadata` must be an object"))?;
        let split = |k: &str| -> Option<(String, &'static str)> {
            for name in [".zarray", ".zgroup"] {
                if k == name {
                    return Some((String::new(), name));
                }
                if let Some(prefix) = k.strip_suffix(name).and_then(|p| p.strip_suffix('/')) {
                    return Some((clean_path(prefix), name));
                }
            }
            None
        };
        let attrs_of = |path: &str| -> Option<&Value> {
            if path.is_empty() {
                entries.get(".zattrs")
            } else {
                entries.get(&format!("{path}/.zattrs"))
            }
        };
        let mut nodes = BTreeMap::new();
        for (k, v) in entries {
            let Some((path, kind)) = split(k) else { continue };
            if path.is_empty() {
                continue;
            }
            let attrs = attrs_of(&path).cloned();
            let node = if kind == ".zarray" {
                v2::array_from_value(v.clone(), attrs, k, registry, limits).map(NodeMetadata::Array)
            } else {
                v2::group_from_value(v.clone(), attrs, k).map(NodeMetadata::Group)
            };
            keep(&mut nodes, path, node)?;
        }
        Ok(ConsolidatedMetadata { nodes })
    }

    /// Parses the `consolidated_metadata` value of a v3 group:
    /// `{"kind": "inline", "must_understand": false, "metadata": {"a": {...}, "a/b": {...}}}`.
    pub(crate) fn from_v3_value(v: &Value, key: &str, registry: &CodecRegistry, limits: &Limits) -> Result<Self> {
        let map: &Map<String, Value> =
            v.as_object().ok_or_else(|| Error::metadata(key, "`consolidated_metadata` must be an object"))?;
        match map.get("kind").and_then(Value::as_str) {
            Some("inline") | None => {}
            Some(other) => return Err(Error::Unsupported { kind: "consolidated metadata kind", name: other.into() }),
        }
        let entries = match map.get("metadata") {
            None | Some(Value::Null) => return Ok(ConsolidatedMetadata::default()),
            Some(Value::Object(entries)) => entries,
            Some(_) => return Err(Error::metadata(key, "`consolidated_metadata.metadata` must be an object")),
        };
        let mut nodes = BTreeMap::new();
        for (path, doc) in entries {
            let path = clean_path(path);
            if path.is_empty() {
                return Err(Error::metadata(key, "consolidated metadata holds a node with an empty path"));
            }
            let node_key = format!("{path}/zarr.json");
            let node = v3::node_from_value(doc.clone(), &node_key, registry, limits);
            keep(&mut nodes, path, node)?;
        }
        Ok(ConsolidatedMetadata { nodes })
    }
}

impl ConsolidatedMetadata {
    /// The nodes below `path`, keyed relative to it: what a child group's consolidated metadata is.
    pub fn subtree(&self, path: &str) -> ConsolidatedMetadata {
        let below = alloc::format!("{}/", path.trim_matches('/'));
        let nodes = self
            .nodes
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(below.as_str()).map(|k| (String::from(k), v.clone())))
            .collect();
        ConsolidatedMetadata { nodes }
    }
}

impl GroupMetadata {
    /// The metadata of the node at `relative` below this group (`a/b`), as its
    /// consolidated metadata records it; a child group gets its own subtree.
    ///
    /// `None` when the group has no consolidated metadata or it does not list the
    /// node: the driver then reads the node's own documents.
    pub fn consolidated_child(&self, relative: &str) -> Option<NodeMetadata> {
        let relative = relative.trim_matches('/');
        let consolidated = self.consolidated.as_ref()?;
        Some(match consolidated.nodes.get(relative)?.clone() {
            NodeMetadata::Group(mut group) => {
                // Consolidated metadata lists every descendant flat; the child sees its own subtree.
                group.consolidated = Some(consolidated.subtree(relative));
                NodeMetadata::Group(group)
            }
            array => array,
        })
    }

    /// The names of the direct children, sorted, from consolidated metadata; `None`
    /// without it (the driver then lists the store).
    pub fn consolidated_children(&self) -> Option<alloc::vec::Vec<String>> {
        let c = self.consolidated.as_ref()?;
        Some(c.nodes.keys().filter(|k| !k.contains('/')).cloned().collect())
    }
}

/// The `consolidated_metadata` value zarr-python writes into a group's `zarr.json`.
fn v3_inline(metadata: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), Value::from("inline"));
    m.insert("must_understand".into(), Value::Bool(false));
    m.insert("metadata".into(), Value::Object(metadata));
    Value::Object(m)
}

impl ConsolidatedMetadata {
    /// Records `node` at `relative` (`a/b`, below the group being consolidated).
    ///
    /// A group's own consolidated metadata is dropped: consolidated metadata lists
    /// every descendant flat, and readers derive a child group's subtree from it
    /// ([`subtree`](Self::subtree)), so a stale nested copy would only contradict it.
    pub fn insert(&mut self, relative: &str, node: NodeMetadata) {
        let node = match node {
            NodeMetadata::Group(mut g) => {
                g.consolidated = None;
                if let Value::Object(doc) = &mut g.document {
                    doc.remove("consolidated_metadata");
                }
                NodeMetadata::Group(g)
            }
            array => array,
        };
        self.nodes.insert(clean_path(relative), node);
    }

    /// The v2 `.zmetadata` document of a group with `group`'s own metadata and these
    /// nodes below it, as zarr-python writes it: every node's `.zarray` or `.zgroup`
    /// and its `.zattrs` (also when empty), keyed by path, the root group's own
    /// `.zgroup` and `.zattrs` included. Nodes stored in v3 are left out: a v2 reader
    /// does not see them below a v2 group either.
    pub fn to_v2_zmetadata(&self, group: &GroupMetadata) -> Vec<u8> {
        let mut entries = Map::new();
        entries.insert(String::from(ZGROUP), group.document.clone());
        entries.insert(String::from(ZATTRS), Value::Object(group.attributes.clone()));
        for (path, node) in &self.nodes {
            let (doc, attributes, name) = match node {
                NodeMetadata::Array(a) if a.zarr_format == ZarrFormat::V2 => (&a.document, &a.attributes, ZARRAY),
                NodeMetadata::Group(g) if g.zarr_format == ZarrFormat::V2 => (&g.document, &g.attributes, ZGROUP),
                _ => continue,
            };
            entries.insert(format!("{path}/{name}"), doc.clone());
            entries.insert(format!("{path}/{ZATTRS}"), Value::Object(attributes.clone()));
        }
        let mut doc = Map::new();
        doc.insert("metadata".into(), Value::Object(entries));
        doc.insert("zarr_consolidated_format".into(), Value::from(1));
        json::to_vec(&Value::Object(doc))
    }

    /// The `consolidated_metadata` value of a v3 group with these nodes below it:
    /// every node's `zarr.json` by path, a child group's with empty consolidated
    /// metadata of its own (as zarr-python writes it). Nodes stored in v2 are left
    /// out, as for [`to_v2_zmetadata`](Self::to_v2_zmetadata).
    pub fn to_v3_value(&self) -> Value {
        let mut metadata = Map::new();
        for (path, node) in &self.nodes {
            let doc = match node {
                NodeMetadata::Array(a) if a.zarr_format == ZarrFormat::V3 => a.document.clone(),
                NodeMetadata::Group(g) if g.zarr_format == ZarrFormat::V3 => {
                    let mut doc = g.document.clone();
                    if let Value::Object(map) = &mut doc {
                        map.insert("consolidated_metadata".into(), v3_inline(Map::new()));
                    }
                    doc
                }
                _ => continue,
            };
            metadata.insert(path.clone(), doc);
        }
        v3_inline(metadata)
    }
}

impl GroupMetadata {
    /// This group with `consolidated` as its consolidated metadata (for v3 also in
    /// its `zarr.json` document). Nodes of the other format are dropped, as the
    /// documents leave them out (see [`ConsolidatedMetadata::to_v2_zmetadata`]), so
    /// the result is what a reader of the written documents sees.
    pub fn with_consolidated(&self, mut consolidated: ConsolidatedMetadata) -> GroupMetadata {
        let format = self.zarr_format;
        consolidated.nodes.retain(|_, node| match node {
            NodeMetadata::Array(a) => a.zarr_format == format,
            NodeMetadata::Group(g) => g.zarr_format == format,
        });
        let mut group = self.clone();
        if let (ZarrFormat::V3, Value::Object(doc)) = (format, &mut group.document) {
            doc.insert("consolidated_metadata".into(), consolidated.to_v3_value());
        }
        group.consolidated = Some(consolidated);
        group
    }

    /// The documents that store this group's consolidated metadata, keys relative to
    /// the group: `zarr.json` with `consolidated_metadata` inline (v3), `.zmetadata`
    /// (v2). Empty when the group has none.
    pub fn consolidated_documents(&self) -> Vec<Document> {
        let Some(consolidated) = &self.consolidated else { return Vec::new() };
        match self.zarr_format {
            ZarrFormat::V3 => alloc::vec![(ZARR_JSON, self.to_json())],
            ZarrFormat::V2 => alloc::vec![(ZMETADATA, consolidated.to_v2_zmetadata(self))],
        }
    }
}
