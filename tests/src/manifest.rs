//! The fixture manifest written by `tests/fixtures/generate.py`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::npy::Npy;

/// `tests/fixtures`, the root every manifest path is relative to.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// What kind of selection an expected answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionKind {
    /// numpy basic indexing: integers, slices, `...`.
    Basic,
    /// Orthogonal indexing: integer lists and boolean masks per dimension.
    Orthogonal,
    /// Vectorized (coordinate) indexing.
    Vectorized,
    /// Indexing by chunk (block) indices.
    Block,
}

/// One selection and the file holding numpy's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionCase {
    /// The kind of indexing.
    pub kind: SelectionKind,
    /// A numpy-style index expression, e.g. `3:17:2, -1, ...` or `[1,5,9], 0:10`.
    pub expr: String,
    /// The `.npy` with the answer, relative to [`fixtures_dir`].
    pub npy: String,
}

impl SelectionCase {
    /// Loads the expected answer.
    ///
    /// # Errors
    /// When the file is missing or not a valid `.npy`.
    pub fn expected(&self) -> Result<Npy, String> {
        Npy::read(&fixtures_dir().join(&self.npy))
    }
}

/// One array fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayFixture {
    /// Unique name, e.g. `v3_blosc_lz4_shuffle`.
    pub name: String,
    /// The array's directory, relative to [`fixtures_dir`].
    pub path: String,
    /// 2 or 3.
    pub zarr_format: u8,
    /// The whole array as zarr-python reads it, relative to [`fixtures_dir`].
    pub npy: String,
    /// numpy descr of the `.npy` (e.g. `<i4`, `<U11` for variable-length strings).
    pub dtype: String,
    /// The array's shape.
    pub shape: Vec<u64>,
    /// The user attributes zarr-python reports.
    pub attributes: Map<String, Value>,
    /// The group fixture this array belongs to, if any.
    pub group: Option<String>,
    /// Selections with numpy's answers.
    pub selections: Vec<SelectionCase>,
}

impl ArrayFixture {
    /// The array's directory on disk.
    pub fn dir(&self) -> PathBuf {
        fixtures_dir().join(&self.path)
    }

    /// Loads the whole expected array.
    ///
    /// # Errors
    /// When the file is missing or not a valid `.npy`.
    pub fn expected(&self) -> Result<Npy, String> {
        Npy::read(&fixtures_dir().join(&self.npy))
    }
}

/// One group fixture (with consolidated metadata).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFixture {
    /// Unique name.
    pub name: String,
    /// The group's directory, relative to [`fixtures_dir`].
    pub path: String,
    /// 2 or 3.
    pub zarr_format: u8,
    /// Whether the group carries consolidated metadata.
    pub consolidated: bool,
    /// The group's user attributes.
    pub attributes: Map<String, Value>,
    /// Names of the array fixtures inside the group.
    pub members: Vec<String>,
}

impl GroupFixture {
    /// The group's directory on disk.
    pub fn dir(&self) -> PathBuf {
        fixtures_dir().join(&self.path)
    }
}

/// Everything in `manifest.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Array fixtures, in generation order.
    pub arrays: Vec<ArrayFixture>,
    /// Group fixtures.
    pub groups: Vec<GroupFixture>,
}

impl Manifest {
    /// Loads `tests/fixtures/manifest.json`.
    ///
    /// # Errors
    /// When the file is missing or malformed.
    pub fn load() -> Result<Manifest, String> {
        let path = fixtures_dir().join("manifest.json");
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Manifest::parse(&bytes)
    }

    /// Parses a manifest document.
    ///
    /// # Errors
    /// When a required field is missing or has the wrong type.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("manifest.json: {e}"))?;
        let arrays = list(&doc, "arrays")?.iter().map(parse_array).collect::<Result<_, _>>()?;
        let groups = list(&doc, "groups")?.iter().map(parse_group).collect::<Result<_, _>>()?;
        Ok(Manifest { arrays, groups })
    }

    /// The array fixture called `name`.
    pub fn array(&self, name: &str) -> Option<&ArrayFixture> {
        self.arrays.iter().find(|a| a.name == name)
    }
}

fn list<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key).and_then(Value::as_array).ok_or_else(|| format!("manifest: `{key}` is not a list"))
}

fn string(v: &Value, key: &str) -> Result<String, String> {
    v.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| format!("manifest: `{key}` is not a string"))
}

fn format_version(v: &Value) -> Result<u8, String> {
    match v.get("zarr_format").and_then(Value::as_u64) {
        Some(2) => Ok(2),
        Some(3) => Ok(3),
        other => Err(format!("manifest: bad zarr_format {other:?}")),
    }
}

fn parse_array(v: &Value) -> Result<ArrayFixture, String> {
    let name = string(v, "name")?;
    let ctx = |e: String| format!("{name}: {e}");
    let shape = list(v, "shape")
        .map_err(ctx)?
        .iter()
        .map(|d| d.as_u64().ok_or_else(|| format!("{name}: bad shape entry {d}")))
        .collect::<Result<_, _>>()?;
    let selections = list(v, "selections")
        .map_err(ctx)?
        .iter()
        .map(|s| {
            let kind = match string(s, "kind")?.as_str() {
                "basic" => SelectionKind::Basic,
                "oindex" => SelectionKind::Orthogonal,
                "vindex" => SelectionKind::Vectorized,
                "block" => SelectionKind::Block,
                other => return Err(format!("unknown selection kind {other:?}")),
            };
            Ok(SelectionCase { kind, expr: string(s, "expr")?, npy: string(s, "npy")? })
        })
        .collect::<Result<_, String>>()
        .map_err(ctx)?;
    Ok(ArrayFixture {
        path: string(v, "path").map_err(ctx)?,
        zarr_format: format_version(v).map_err(ctx)?,
        npy: string(v, "npy").map_err(ctx)?,
        dtype: string(v, "dtype").map_err(ctx)?,
        shape,
        attributes: v.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default(),
        group: v.get("group").and_then(Value::as_str).map(str::to_string),
        selections,
        name,
    })
}

fn parse_group(v: &Value) -> Result<GroupFixture, String> {
    let name = string(v, "name")?;
    Ok(GroupFixture {
        path: string(v, "path")?,
        zarr_format: format_version(v)?,
        consolidated: v.get("consolidated").and_then(Value::as_bool).unwrap_or(false),
        attributes: v.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default(),
        members: list(v, "members")?.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        name,
    })
}
