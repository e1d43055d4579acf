//! Changes to an existing node's metadata, and the documents that store a node.
//!
//! Creating, resizing and re-attributing are pure functions of the metadata: they
//! return the new metadata (re-parsed, so it is exactly what a reader will see) and
//! leave it to a driver to put the [`documents`](ArrayMetadata::documents) and
//! delete the chunks a shrink leaves outside the array. Both drivers then do the same
//! thing, and the rules (which files a v2 node has, what a resize deletes) live once.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value};

use super::{json, v2, v3, ArrayMetadata, ChunkGrid, GroupMetadata, ZarrFormat, ZARRAY, ZARR_JSON, ZATTRS, ZGROUP};
use crate::codec::CodecRegistry;
use crate::error::{Error, Result};
use crate::limits::Limits;

/// One metadata document of a node: its key relative to the node, and its bytes.
pub type Document = (&'static str, Vec<u8>);

impl ArrayMetadata {
    /// The documents that store this array, keys relative to the array, in the order
    /// to put them: `zarr.json` (v3), or `.zattrs` then `.zarray` (v2; `.zattrs` only
    /// when there are attributes, as zarr-python writes it). The document that makes
    /// the node exist comes last, so no reader sees it without its attributes.
    pub fn documents(&self) -> Vec<Document> {
        let mut docs = Vec::new();
        if self.zarr_format == ZarrFormat::V2 && !self.attributes.is_empty() {
            docs.push((ZATTRS, self.zattrs_json()));
        }
        docs.push((self.metadata_key(), self.to_json()));
        docs
    }

    /// The documents to put when only the attributes changed: `zarr.json` (v3), or
    /// `.zattrs` alone (v2, also when empty, so that old attributes do not linger).
    pub fn attribute_documents(&self) -> Vec<Document> {
        match self.zarr_format {
            ZarrFormat::V3 => alloc::vec![(ZARR_JSON, self.to_json())],
            ZarrFormat::V2 => alloc::vec![(ZATTRS, self.zattrs_json())],
        }
    }

    /// This array with `attributes` in place of its own.
    ///
    /// # Errors
    /// When the document no longer parses (it always does for metadata this crate parsed).
    pub fn with_attributes(
        &self,
        attributes: Map<String, Value>,
        registry: &CodecRegistry,
        limits: &Limits,
    ) -> Result<ArrayMetadata> {
        match self.zarr_format {
            ZarrFormat::V3 => {
                let mut doc = self.document.clone();
                set_field(&mut doc, "attributes", Value::Object(attributes), ZARR_JSON)?;
                v3::array_from_value(doc, ZARR_JSON, registry, limits)
            }
            ZarrFormat::V2 => {
                v2::array_from_value(self.document.clone(), Some(Value::Object(attributes)), ZARRAY, registry, limits)
            }
        }
    }

    /// This array with a new shape; chunks, codecs and everything else unchanged.
    ///
    /// Data in chunks that stay is kept as it is, including elements of an edge chunk
    /// that the new shape leaves outside (zarr-python does the same): growing the array
    /// again shows them. [`chunks_outside`](Self::chunks_outside) names the chunks to delete.
    ///
    /// # Errors
    /// A shape of another rank, a rectilinear grid (its boundaries are tied to the
    /// shape), or a shape the metadata rules refuse.
    pub fn resized(&self, shape: &[u64], registry: &CodecRegistry, limits: &Limits) -> Result<ArrayMetadata> {
        let key = self.metadata_key();
        if shape.len() != self.shape.len() {
            return Err(Error::metadata(
                key,
                format!("cannot resize an array of {} dimensions to {shape:?}", self.shape.len()),
            ));
        }
        if matches!(self.chunk_grid, ChunkGrid::Rectilinear { .. }) {
            return Err(Error::metadata(key, "cannot resize an array with a rectilinear chunk grid"));
        }
        json::check_array_shape(shape, key)?;
        let mut doc = self.document.clone();
        set_field(&mut doc, "shape", Value::from(shape.to_vec()), key)?;
        match self.zarr_format {
            ZarrFormat::V3 => v3::array_from_value(doc, key, registry, limits),
            ZarrFormat::V2 => {
                v2::array_from_value(doc, Some(Value::Object(self.attributes.clone())), key, registry, limits)
            }
        }
    }

    /// The stored chunks (shards, when sharded) of this array that lie wholly outside
    /// `new_shape`: what shrinking to `new_shape` deletes. In C order.
    ///
    /// Lazy, since shrinking a large array can leave millions of them.
    pub fn chunks_outside(&self, new_shape: &[u64]) -> ChunksOutside {
        let old = self.chunk_grid_shape();
        let kept: Vec<u64> = if new_shape.len() == old.len() {
            self.chunk_grid.grid_shape(new_shape).iter().zip(&old).map(|(&n, &o)| n.min(o)).collect()
        } else {
            alloc::vec![0; old.len()]
        };
        let empty = old.contains(&0);
        ChunksOutside { next: (!empty).then(|| alloc::vec![0; old.len()]), old, kept }
    }
}

/// The chunk indices of a grid outside a kept box at its origin; see
/// [`ArrayMetadata::chunks_outside`].
#[derive(Debug, Clone)]
pub struct ChunksOutside {
    old: Vec<u64>,
    kept: Vec<u64>,
    next: Option<Vec<u64>>,
}

impl ChunksOutside {
    /// Moves `next` one index on in C order (to `None` past the end).
    fn step(&mut self) {
        let Some(idx) = self.next.as_mut() else { return };
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < self.old[d] {
                return;
            }
            idx[d] = 0;
        }
        self.next = None;
    }
}

impl Iterator for ChunksOutside {
    type Item = Vec<u64>;

    fn next(&mut self) -> Option<Vec<u64>> {
        loop {
            let idx = self.next.as_mut()?;
            if idx.iter().zip(&self.kept).all(|(i, k)| i < k) {
                // The rest of this run along the last dimension is kept too: skip it.
                if let (Some(i), Some(&k)) = (idx.last_mut(), self.kept.last()) {
                    *i = k - 1;
                }
                self.step();
                continue;
            }
            let out = idx.clone();
            self.step();
            return Some(out);
        }
    }
}

impl GroupMetadata {
    /// The documents that store this group, keys relative to the group, in the order
    /// to put them (see [`ArrayMetadata::documents`]): `zarr.json` (v3), or `.zattrs`
    /// then `.zgroup` (v2; `.zattrs` only when there are attributes).
    pub fn documents(&self) -> Vec<Document> {
        match self.zarr_format {
            ZarrFormat::V3 => alloc::vec![(ZARR_JSON, self.to_json())],
            ZarrFormat::V2 if self.attributes.is_empty() => alloc::vec![(ZGROUP, self.to_json())],
            ZarrFormat::V2 => alloc::vec![(ZATTRS, self.zattrs_json()), (ZGROUP, self.to_json())],
        }
    }

    /// The documents to put when only the attributes changed (see
    /// [`ArrayMetadata::attribute_documents`]).
    pub fn attribute_documents(&self) -> Vec<Document> {
        match self.zarr_format {
            ZarrFormat::V3 => alloc::vec![(ZARR_JSON, self.to_json())],
            ZarrFormat::V2 => alloc::vec![(ZATTRS, self.zattrs_json())],
        }
    }

    /// This group with `attributes` in place of its own (consolidated metadata kept).
    pub fn with_attributes(&self, attributes: Map<String, Value>) -> GroupMetadata {
        let mut group = self.clone();
        if let (ZarrFormat::V3, Value::Object(doc)) = (self.zarr_format, &mut group.document) {
            doc.insert("attributes".into(), Value::Object(attributes.clone()));
        }
        group.attributes = attributes;
        group
    }
}

fn set_field(doc: &mut Value, field: &str, value: Value, key: &str) -> Result<()> {
    match doc {
        Value::Object(map) => {
            map.insert(field.into(), value);
            Ok(())
        }
        _ => Err(Error::metadata(key, "the document is not a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArrayBuilder, DataType};
    use alloc::vec;

    fn array(shape: Vec<u64>, chunks: Vec<u64>) -> ArrayMetadata {
        ArrayBuilder::new(shape, DataType::UInt8, chunks)
            .build_v3(&CodecRegistry::default(), &Limits::default())
            .unwrap()
    }

    fn naive_outside(old: &[u64], kept: &[u64]) -> Vec<Vec<u64>> {
        let mut out = Vec::new();
        let n: u64 = old.iter().product();
        for flat in 0..n {
            let mut idx = vec![0; old.len()];
            let mut r = flat;
            for d in (0..old.len()).rev() {
                idx[d] = r % old[d];
                r /= old[d];
            }
            if !idx.iter().zip(kept).all(|(i, k)| i < k) {
                out.push(idx);
            }
        }
        out
    }

    #[test]
    fn chunks_outside_matches_a_naive_enumeration() {
        for (shape, chunks, new) in [
            (vec![10, 10], vec![3, 3], vec![4, 7]),
            (vec![10, 10], vec![3, 3], vec![10, 10]),
            (vec![10, 10], vec![3, 3], vec![0, 10]),
            (vec![10], vec![4], vec![5]),
            (vec![7, 5, 6], vec![2, 2, 2], vec![3, 1, 6]),
            (vec![7, 5, 6], vec![2, 2, 2], vec![20, 20, 1]),
        ] {
            let meta = array(shape.clone(), chunks);
            let old = meta.chunk_grid_shape();
            let kept: Vec<u64> = meta.chunk_grid.grid_shape(&new).iter().zip(&old).map(|(&n, &o)| n.min(o)).collect();
            assert_eq!(
                meta.chunks_outside(&new).collect::<Vec<_>>(),
                naive_outside(&old, &kept),
                "{shape:?} -> {new:?}"
            );
        }
    }

    #[test]
    fn resized_keeps_everything_but_the_shape() {
        let meta = array(vec![10, 10], vec![3, 3]);
        let grown = meta.resized(&[20, 5], &CodecRegistry::default(), &Limits::default()).unwrap();
        assert_eq!(grown.shape, [20, 5]);
        assert_eq!(grown.chunk_grid, meta.chunk_grid);
        assert_eq!(grown.codecs, meta.codecs);
        assert!(meta.resized(&[1], &CodecRegistry::default(), &Limits::default()).is_err());
    }

    #[test]
    fn attributes_reach_the_documents_of_both_formats() {
        let mut attrs = Map::new();
        attrs.insert("units".into(), "K".into());
        let v3 = array(vec![4], vec![2]).with_attributes(attrs.clone(), &CodecRegistry::default(), &Limits::default());
        let v3 = v3.unwrap();
        assert_eq!(v3.attributes, attrs);
        let docs = v3.documents();
        assert_eq!(docs.len(), 1);
        assert!(core::str::from_utf8(&docs[0].1).unwrap().contains("\"units\""));

        let v2 = ArrayBuilder::new(vec![4], DataType::UInt8, vec![2])
            .build_v2(&CodecRegistry::default(), &Limits::default())
            .unwrap();
        assert_eq!(v2.documents().len(), 1, "no .zattrs without attributes");
        let v2 = v2.with_attributes(attrs.clone(), &CodecRegistry::default(), &Limits::default()).unwrap();
        let keys: Vec<&str> = v2.documents().iter().map(|d| d.0).collect();
        assert_eq!(keys, [ZATTRS, ZARRAY]);

        let group = GroupMetadata::new(ZarrFormat::V3, Map::new()).with_attributes(attrs.clone());
        assert!(core::str::from_utf8(&group.documents()[0].1).unwrap().contains("\"units\""));
        let group = GroupMetadata::new(ZarrFormat::V2, Map::new()).with_attributes(attrs);
        assert_eq!(group.documents().iter().map(|d| d.0).collect::<Vec<_>>(), [ZATTRS, ZGROUP]);
    }
}
