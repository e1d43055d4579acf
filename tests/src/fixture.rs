//! Reads a fixture's metadata and chunk files from disk.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use zarr_proto::codec::CodecRegistry;
use zarr_proto::Limits;
use zarr_proto::{ArrayMetadata, GroupMetadata};

/// Names of metadata documents (never chunk files).
pub const METADATA_FILES: &[&str] = &["zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"];

/// The metadata documents of one array or group directory, as bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetadataFiles {
    /// `zarr.json` (v3).
    pub zarr_json: Option<Vec<u8>>,
    /// `.zarray` (v2 array).
    pub zarray: Option<Vec<u8>>,
    /// `.zgroup` (v2 group).
    pub zgroup: Option<Vec<u8>>,
    /// `.zattrs` (v2).
    pub zattrs: Option<Vec<u8>>,
    /// `.zmetadata` (v2 consolidated).
    pub zmetadata: Option<Vec<u8>>,
}

impl MetadataFiles {
    /// Reads whichever metadata documents exist in `dir`.
    ///
    /// # Errors
    /// IO errors other than "not found".
    pub fn read(dir: &Path) -> Result<MetadataFiles, String> {
        Ok(MetadataFiles {
            zarr_json: read_optional(&dir.join("zarr.json"))?,
            zarray: read_optional(&dir.join(".zarray"))?,
            zgroup: read_optional(&dir.join(".zgroup"))?,
            zattrs: read_optional(&dir.join(".zattrs"))?,
            zmetadata: read_optional(&dir.join(".zmetadata"))?,
        })
    }

    /// Parses the array metadata (v3 `zarr.json`, or v2 `.zarray` with `.zattrs`).
    ///
    /// # Errors
    /// No array document, or the parser's error as text.
    pub fn array(&self, registry: &CodecRegistry, limits: &Limits) -> Result<ArrayMetadata, String> {
        if let Some(json) = &self.zarr_json {
            ArrayMetadata::from_v3_json(json, registry, limits).map_err(|e| e.to_string())
        } else if let Some(zarray) = &self.zarray {
            ArrayMetadata::from_v2_json(zarray, self.zattrs.as_deref(), registry, limits).map_err(|e| e.to_string())
        } else {
            Err("no zarr.json or .zarray".into())
        }
    }

    /// Parses the group metadata (v3 `zarr.json`, or v2 `.zgroup` with `.zattrs`).
    ///
    /// # Errors
    /// No group document, or the parser's error as text.
    pub fn group(&self, registry: &CodecRegistry, limits: &Limits) -> Result<GroupMetadata, String> {
        if let Some(json) = &self.zarr_json {
            GroupMetadata::from_v3_json(json, registry, limits).map_err(|e| e.to_string())
        } else if let Some(zgroup) = &self.zgroup {
            GroupMetadata::from_v2_json(zgroup, self.zattrs.as_deref(), limits).map_err(|e| e.to_string())
        } else {
            Err("no zarr.json or .zgroup".into())
        }
    }
}

/// Reads `path`, or `None` when it does not exist.
///
/// # Errors
/// IO errors other than "not found", with the path.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The chunk at `key` (relative to the array directory, `/`-separated), or `None` when never written.
///
/// # Errors
/// IO errors other than "not found".
pub fn read_chunk(array_dir: &Path, key: &str) -> Result<Option<Vec<u8>>, String> {
    let mut path = array_dir.to_path_buf();
    for part in key.split('/') {
        path.push(part);
    }
    if path.is_dir() {
        return Ok(None);
    }
    read_optional(&path)
}

/// Every non-metadata file below `dir`, as `/`-separated keys relative to `dir`.
///
/// Directories holding their own metadata document (child arrays and groups) are skipped.
///
/// # Errors
/// IO errors.
pub fn chunk_files(dir: &Path) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path: PathBuf = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if dir != root || !METADATA_FILES.iter().any(|m| path.join(m).exists()) {
                walk(root, &path, out)?;
            }
        } else if !(dir == root && METADATA_FILES.contains(&name.as_str())) {
            let rel = path.strip_prefix(root).map_err(|e| e.to_string())?;
            let key: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.insert(key.join("/"));
        }
    }
    Ok(())
}
