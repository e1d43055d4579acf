//! Creating arrays and groups, replacing attributes and resizing, in both drivers,
//! on real files: what a reader then opens, and which chunk files a shrink deletes.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use zarr_blocking::{ArrayBuilder, DataType, FsStore, GroupMetadata, Selection, Store, ZarrFormat};

fn attrs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("attributes are an object"),
    }
}

fn store(dir: &Path) -> Arc<dyn Store> {
    Arc::new(FsStore::new(dir))
}

/// Puts raw little-endian u16 chunks (codec `bytes`) for every chunk of a 2-d grid.
fn put_chunks(dir: &Path, array: &zarr_blocking::Array) {
    // Keys relative to the array, which is at `r` for every test that calls this.
    let grid = array.chunk_grid_shape();
    let chunk: u64 = array.chunk_shape().expect("regular").iter().product();
    for i in 0..grid[0] {
        for j in 0..grid[1] {
            let key = array.metadata().chunk_key(&[i, j]);
            let bytes: Vec<u8> = (0..chunk).flat_map(|_| ((i * 10 + j) as u16).to_le_bytes()).collect();
            FsStore::new(dir.join("r")).set_blocking(&key, bytes.into()).expect("put chunk");
        }
    }
}

fn chunk_files(dir: &Path, array: &zarr_blocking::Array) -> Vec<Vec<u64>> {
    let grid = array.chunk_grid_shape();
    let mut found = Vec::new();
    for i in 0..grid[0] + 4 {
        for j in 0..grid[1] + 4 {
            let key = array.metadata().chunk_key(&[i, j]);
            if dir.join("r").join(&key).exists() {
                found.push(vec![i, j]);
            }
        }
    }
    found
}

#[test]
fn blocking_creates_what_it_then_opens_in_both_formats() {
    for format in [ZarrFormat::V2, ZarrFormat::V3] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut builder = ArrayBuilder::new(vec![6, 4], DataType::UInt16, vec![4, 3]);
        builder.fill_value = Some(zarr_proto::FillValue(7u16.to_ne_bytes().to_vec()));
        builder.attributes = attrs(json!({"units": "K"}));
        let meta = builder.build(format).expect("metadata");
        let created = zarr_blocking::Array::create(store(tmp.path()), "a/b", meta).expect("create");

        let opened = zarr_blocking::Array::open(&tmp.path().join("a/b").to_string_lossy()).expect("open");
        assert_eq!(opened.shape(), [6, 4]);
        assert_eq!(opened.zarr_format(), format);
        assert_eq!(opened.attributes(), created.attributes());
        assert_eq!(opened.read_elements::<u16>(&Selection::all()).expect("read"), vec![7u16; 24]);

        let again = zarr_blocking::Array::create(store(tmp.path()), "a/b", created.metadata().clone());
        let e = again.expect_err("a second create at the same place");
        assert!(matches!(e, zarr_blocking::Error::AlreadyExists { .. }), "{e}");
        assert!(e.to_string().contains("a/b"), "{e}");
    }
}

#[test]
fn blocking_set_attributes_replaces_them_for_readers() {
    for format in [ZarrFormat::V2, ZarrFormat::V3] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let meta = ArrayBuilder::new(vec![4], DataType::UInt8, vec![2]).build(format).expect("metadata");
        let mut array = zarr_blocking::Array::create(store(tmp.path()), "x", meta).expect("create");
        array.set_attributes(attrs(json!({"a": 1}))).expect("set");
        let opened = zarr_blocking::Array::open(&tmp.path().join("x").to_string_lossy()).expect("open");
        assert_eq!(opened.attributes(), &attrs(json!({"a": 1})));
        // Emptying them leaves no old attributes behind (v2 keeps an empty .zattrs).
        array.set_attributes(Map::new()).expect("set");
        let opened = zarr_blocking::Array::open(&tmp.path().join("x").to_string_lossy()).expect("open");
        assert!(opened.attributes().is_empty());

        let group_meta = GroupMetadata::new(format, attrs(json!({"title": "t"})));
        let mut group = zarr_blocking::Group::create(store(tmp.path()), "", group_meta).expect("group");
        group.set_attributes(attrs(json!({"title": "u"}))).expect("set");
        let opened = zarr_blocking::Group::open(&tmp.path().to_string_lossy()).expect("open group");
        assert_eq!(opened.attributes(), &attrs(json!({"title": "u"})));
        assert_eq!(opened.children().expect("children"), ["x"]);
    }
}

#[test]
fn blocking_resize_deletes_only_chunks_wholly_outside() {
    for format in [ZarrFormat::V2, ZarrFormat::V3] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let meta = ArrayBuilder::new(vec![8, 9], DataType::UInt16, vec![3, 4]).build(format).expect("metadata");
        let mut array = zarr_blocking::Array::create(store(tmp.path()), "r", meta).expect("create");
        put_chunks(tmp.path(), &array);
        assert_eq!(chunk_files(tmp.path(), &array).len(), 9);

        // 8x9 in 3x4 chunks is a 3x3 grid; 4x5 keeps the 2x2 at the origin, edge chunks whole.
        array.resize(&[4, 5]).expect("shrink");
        assert_eq!(chunk_files(tmp.path(), &array), [[0, 0], [0, 1], [1, 0], [1, 1]]);
        let opened = zarr_blocking::Array::open(&tmp.path().join("r").to_string_lossy()).expect("open");
        assert_eq!(opened.shape(), [4, 5]);
        let values = opened.read_elements::<u16>(&Selection::all()).expect("read");
        assert_eq!(&values[..5], [0, 0, 0, 0, 1]);

        // Growing writes only the metadata; new chunks read as the fill value.
        array.resize(&[10, 10]).expect("grow");
        assert_eq!(chunk_files(tmp.path(), &array).len(), 4);
        let values = array.read_elements::<u16>(&zarr_blocking::s![9, ..]).expect("read");
        assert_eq!(values, vec![0u16; 10]);
        assert!(array.resize(&[1]).is_err(), "a resize to another rank is refused");
    }
}

#[test]
fn smol_creates_resizes_and_sets_attributes_like_blocking() {
    smol::block_on(async {
        let tmp = tempfile::tempdir().expect("temp dir");
        let meta = ArrayBuilder::new(vec![8, 9], DataType::UInt16, vec![3, 4]).build(ZarrFormat::V3).expect("meta");
        let mut array = zarr_smol::Array::create(store(tmp.path()), "r", meta).await.expect("create");
        let blocking_view = zarr_blocking::Array::open(&tmp.path().join("r").to_string_lossy()).expect("open");
        put_chunks(tmp.path(), &blocking_view);
        array.resize(&[4, 5]).await.expect("shrink");
        assert_eq!(chunk_files(tmp.path(), &blocking_view), [[0, 0], [0, 1], [1, 0], [1, 1]]);
        array.set_attributes(attrs(json!({"k": [1, 2]}))).await.expect("set");
        let opened = zarr_smol::Array::open(&tmp.path().join("r").to_string_lossy()).await.expect("open");
        assert_eq!(opened.shape(), [4, 5]);
        assert_eq!(opened.attributes(), &attrs(json!({"k": [1, 2]})));

        let e = zarr_smol::Array::create(store(tmp.path()), "r", opened.metadata().clone()).await.unwrap_err();
        assert!(matches!(e, zarr_smol::Error::AlreadyExists { .. }), "{e}");
        let group = GroupMetadata::new(ZarrFormat::V2, Map::new());
        zarr_smol::Group::create(store(tmp.path()), "g", group).await.expect("group");
        assert!(tmp.path().join("g/.zgroup").exists());
    });
}
