//! Every public entry point of `zarr-blocking`, called with nothing but `zarr-blocking`
//! (and std) against the conformance fixtures, values compared with numpy's answers
//! in `tests/fixtures/expected`. The tests are this crate's unit tests.
#![cfg(test)]

mod npy;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use npy::{expected, fixture, fixtures_data, Expected};
use zarr_blocking::proto;
use zarr_blocking::{
    s, Array, ArrayMetadata, CodecRegistry, ConsolidatedMetadata, DataType, DimSelector, Element, Error, FsStore,
    Group, GroupMetadata, Limits, MemoryStore, Node, OpenOptions, Pod, Progress, ReadOptions, Selection, SelectionKind,
    Store, ZarrFormat,
};

type Result<T = (), E = Error> = std::result::Result<T, E>;

/// Generic code over element types names the bounds through the driver.
fn whole<T: Element + Pod>(array: &Array) -> Result<Vec<T>> {
    array.read_elements(&Selection::all())
}

const SHARDED: &str = "v3_shard_nested_compression"; // uint32 [17, 13], shards [8, 6] of chunks [4, 3]

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

#[test]
fn open_by_path_file_url_store_and_shared_store() -> Result {
    let dir = fixture(SHARDED);
    let want = expected(SHARDED, None);
    let by_path = Array::open(&dir)?;
    let by_url = Array::open(&format!("file://{dir}"))?;
    let in_store = Array::open_in(FsStore::new(fixtures_data()), &format!("{SHARDED}.zarr"))?;
    let options = Arc::new(OpenOptions { limits: Limits::default(), registry: CodecRegistry::pure_rust() });
    let shared = Array::open_with(zarr_blocking::store_for(&dir)?, "", options)?;
    for array in [&by_path, &by_url, &in_store, &shared] {
        assert_eq!(array.shape(), want.shape.as_slice());
        let all = array.read(&Selection::all())?;
        assert_eq!(all.shape, want.shape);
        assert_eq!(all.to_vec::<u32>()?, u32s(&want.data));
    }
    assert_eq!(in_store.path(), format!("{SHARDED}.zarr"));
    assert_eq!(by_path.path(), "");
    Ok(())
}

#[test]
fn every_accessor() -> Result {
    let array = Array::open(&fixture(SHARDED))?;
    assert_eq!(array.shape(), [17, 13]);
    assert_eq!(array.chunk_shape(), Some(vec![4, 3]));
    assert_eq!(array.shard_shape(), Some(vec![8, 6]));
    assert_eq!(array.chunk_grid_shape(), [3, 3]);
    assert_eq!(array.fill_value().as_u64(), Some(0));
    assert_eq!(array.data_type().to_string(), "uint32");
    let dtype: &DataType = array.data_type();
    assert_eq!(dtype.size(), Some(4));
    assert_eq!(array.zarr_format(), ZarrFormat::V3);
    assert_eq!(array.dimension_names(), None);
    let meta: &ArrayMetadata = array.metadata();
    assert_eq!(meta.shape, [17, 13]);
    assert!(array.attributes().is_empty());
    assert_eq!(array.chunk_key(&[1, 2]), "c/1/2");
    let store: &Arc<dyn Store> = array.store();
    assert!(store.location().contains(SHARDED), "{}", store.location());

    let attrs = Array::open(&fixture("v3_attributes"))?;
    assert_eq!(attrs.attributes()["units"], "m/s");
    assert_eq!(attrs.attributes()["scale"].as_f64(), Some(0.5));
    assert_eq!(attrs.dimension_names(), Some(&[Some("y".to_string()), None][..]));
    let v2 = Array::open(&fixture("v2_1d"))?;
    assert_eq!(v2.zarr_format(), ZarrFormat::V2);
    Ok(())
}

#[test]
fn selections_by_macro_by_text_and_by_value() -> Result {
    let array = Array::open(&fixture(SHARDED))?;
    let all = u32s(&expected(SHARDED, None).data);
    let at = |r: usize, c: usize| all[r * 13 + c];
    // s! with ranges, negative indices and `..`.
    let rows: Vec<u32> = array.read_elements(&s![2..9, ..])?;
    assert_eq!(rows, (2..9).flat_map(|r| (0..13).map(move |c| (r, c))).map(|(r, c)| at(r, c)).collect::<Vec<_>>());
    let corner: Vec<u32> = array.read_elements(&s![-1, 10..])?;
    assert_eq!(corner, [at(16, 10), at(16, 11), at(16, 12)]);
    let picked: Vec<u32> = array.read_elements(&s![vec![0i64, 16], 3])?;
    assert_eq!(picked, [at(0, 3), at(16, 3)]);
    // Text in numpy's syntax, checked against numpy's answers.
    for (i, expr) in [(1, "12:15:2, 8:9:1"), (2, "-1, ::2"), (3, "1:, ..., 6")] {
        let want: Expected = expected(SHARDED, Some(i));
        let got = array.read(&Selection::parse_basic(expr)?)?;
        assert_eq!(got.shape, want.shape, "{expr}");
        assert_eq!(got.to_vec::<u32>()?, u32s(&want.data), "{expr}");
    }
    for (i, expr, kind) in [
        (5, "[13,12,10,13], [7,9,11]", SelectionKind::Orthogonal),
        (7, "[1,-1,13,1,7], [4,12,6,2,9]", SelectionKind::Points),
    ] {
        let want = expected(SHARDED, Some(i));
        let got = array.read(&Selection::parse(expr, kind)?)?;
        assert_eq!(got.to_vec::<u32>()?, u32s(&want.data), "{expr}");
    }
    // Built from values.
    let built = Selection::from(vec![DimSelector::from(12..15), DimSelector::Index(8)]);
    assert_eq!(array.read_elements::<u32>(&built)?, [at(12, 8), at(13, 8), at(14, 8)]);
    Ok(())
}

#[test]
fn every_read() -> Result {
    let array = Array::open(&fixture(SHARDED))?;
    let want = u32s(&expected(SHARDED, None).data);
    let all = Selection::all();
    // read, read_with (with progress), read_elements, read_into, read_into_elements, read_into_with.
    assert_eq!(array.read(&all)?.to_vec::<u32>()?, want);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sink = calls.clone();
    let progress: Progress = Arc::new(move |done, total| sink.lock().expect("lock").push((done, total)));
    let options = ReadOptions { progress: Some(progress), concurrency: Some(4), ..ReadOptions::default() };
    assert_eq!(array.read_with(&all, &options)?.to_vec::<u32>()?, want);
    let calls = calls.lock().expect("lock").clone();
    // 3x3 shards of at most 2x2 inner chunks: 5 x 5 inner chunks in all.
    assert_eq!(calls.last(), Some(&(25, 25)), "{calls:?}");
    assert_eq!(array.read_elements::<u32>(&all)?, want);
    assert_eq!(whole::<u32>(&array)?, want);
    let mut bytes = vec![0u8; want.len() * 4];
    array.read_into(&all, &mut bytes)?;
    assert_eq!(u32s(&bytes), want);
    let mut elements = vec![0u32; want.len()];
    array.read_into_elements(&all, &mut elements)?;
    assert_eq!(elements, want);
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let options = ReadOptions {
        progress: Some(Arc::new(move |_, _| {
            seen.fetch_add(1, Ordering::Relaxed);
        })),
        ..ReadOptions::default()
    };
    let mut bytes = vec![0u8; want.len() * 4];
    array.read_into_with(&all, &mut bytes, &options)?;
    assert_eq!(u32s(&bytes), want);
    assert!(count.load(Ordering::Relaxed) > 0);
    Ok(())
}

#[test]
fn groups_nodes_children() -> Result {
    let group = Group::open(&fixture("v3_group"))?;
    assert_eq!(group.children()?, ["a", "empty", "sub"]);
    assert_eq!(group.attributes()["title"], "v3 group");
    assert_eq!(group.path(), "");
    let consolidated: Option<&ConsolidatedMetadata> = group.consolidated();
    assert!(consolidated.is_some());
    let meta: &GroupMetadata = group.metadata();
    assert_eq!(meta.attributes["title"], "v3 group");
    let a = group.array("a")?;
    let want = expected("v3_group_a", None);
    assert_eq!(a.read_elements::<i32>(&Selection::all())?, want.i32s());
    assert_eq!(a.path(), "a");
    let Node::Group(sub) = group.child("sub")? else { panic!("sub is a group") };
    assert_eq!(sub.children()?, ["b"]);
    let b = sub.array("b")?;
    let nested = group.array("sub/b")?;
    assert_eq!(b.read(&Selection::all())?.data, nested.read(&Selection::all())?.data);
    let bits: Vec<u64> = b.read_elements::<f64>(&s![.., ..])?.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, expected("v3_group_b", None).f64_bits());
    assert!(matches!(group.child("empty")?, Node::Group(_)));

    // Node and Group, by path, in a store, in a shared store; v2 groups without a listing cache.
    assert!(matches!(Node::open(&fixture("v3_group"))?, Node::Group(_)));
    assert!(matches!(Node::open_in(FsStore::new(fixtures_data()), "v3_group.zarr/a")?, Node::Array(_)));
    let shared = zarr_blocking::store_for(&fixtures_data())?;
    let v2 = Group::open_with(shared.clone(), "v2_group.zarr", Arc::default())?;
    assert_eq!(v2.children()?, ["a", "sub"]);
    assert_eq!(v2.array("a")?.read_elements::<i32>(&s![..])?, expected("v2_group_a", None).i32s());
    assert!(matches!(Node::open_with(shared, "v2_group.zarr/sub", Arc::default())?, Node::Group(_)));
    let in_store = Group::open_in(FsStore::new(fixtures_data()), "v3_group.zarr/sub")?;
    assert_eq!(in_store.path(), "v3_group.zarr/sub");
    Ok(())
}

#[test]
fn errors_can_be_told_apart() -> Result {
    let missing = format!("{}/no-such.zarr", fixtures_data());
    let e = Array::open(&missing).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(matches!(&e, Error::NotFound { path } if path.contains("no-such.zarr")), "{e}");
    let e = Group::open(&fixture(SHARDED)).unwrap_err();
    assert!(matches!(e, Error::WrongNodeType { expected: "group", found: "array", .. }), "{e}");
    let e = Array::open(&fixture("v3_group")).unwrap_err();
    assert!(matches!(e, Error::WrongNodeType { expected: "array", found: "group", .. }), "{e}");
    let group = Group::open(&fixture("v3_group"))?;
    assert!(group.child("nothing").unwrap_err().is_not_found());
    assert!(matches!(group.array("sub"), Err(Error::WrongNodeType { .. })));

    let array = Array::open(&fixture(SHARDED))?;
    let e = array.read_elements::<f32>(&Selection::all()).unwrap_err();
    assert!(matches!(e, Error::Proto(proto::Error::DataType { .. })), "{e}");
    let mut short = vec![0u32; 3];
    let e = array.read_into_elements(&Selection::all(), &mut short).unwrap_err();
    assert!(matches!(e, Error::Proto(proto::Error::BufferSize { .. })), "{e}");
    assert!(matches!(array.read(&s![17, 0]), Err(Error::Proto(_))));
    assert!(Selection::parse_basic("1:x").is_err());

    // A corrupt chunk: the error names its key.
    let store = MemoryStore::new();
    store.insert("zarr.json", std::fs::read(format!("{}/zarr.json", fixture(SHARDED))).expect("metadata"));
    store.insert("c/0/0", b"not a shard".to_vec());
    let array = Array::open_in(store, "")?;
    let e = array.read(&s![0, 0]).unwrap_err();
    assert!(matches!(e, Error::Proto(_) | Error::Store(_)), "{e}");
    assert!(e.to_string().contains("c/0/0"), "{e}");
    Ok(())
}

#[test]
fn chunks_ndarrays_and_writes() -> Result {
    let array = Array::open(&fixture(SHARDED))?;
    let want = u32s(&expected(SHARDED, None).data);
    // The read grid is the inner chunks: 5 x 5 of [4, 3], edges clipped.
    let chunks = array.chunk_indices(&Selection::all())?;
    assert_eq!(chunks.len(), 25);
    assert_eq!(array.chunk_subset(&[4, 4])?, [16..17, 12..13]);
    let corner = array.read_chunk(&[4, 4])?;
    assert_eq!(corner.to_vec::<u32>()?, [want[16 * 13 + 12]]);
    let raw: Option<zarr_blocking::Bytes> = array.read_encoded_chunk(&[0, 0])?;
    assert!(raw.is_some_and(|b| !b.is_empty()));
    assert!(matches!(array.read_chunk(&[5, 0]), Err(Error::Proto(zarr_blocking::ProtoError::ChunkIndex { .. }))));
    let nd: zarr_blocking::ndarray::ArrayD<u32> = array.read_ndarray(&s![0..2, 0..3])?;
    assert_eq!(nd.shape(), [2, 3]);
    assert_eq!(nd[[1, 2]], want[13 + 2]);

    // Create, write, resize and re-attribute with this crate alone.
    let meta = zarr_blocking::ArrayBuilder::new(vec![6, 4], DataType::UInt16, vec![2, 2])
        .compression(zarr_blocking::Compression::Zstd { level: 0 })
        .build(ZarrFormat::V3)?;
    let mut created = Array::create(Arc::new(MemoryStore::new()), "w", meta)?;
    created.write_elements(&s![1..3, 1..3], &[1u16, 2, 3, 4])?;
    created.write_with(
        &s![5, ..],
        zarr_blocking::NdArray {
            dtype: DataType::UInt16,
            shape: vec![4],
            data: proto::ArrayBytes::Fixed([9u16; 4].iter().flat_map(|v| v.to_ne_bytes()).collect()),
        },
        &zarr_blocking::WriteOptions::default(),
    )?;
    assert_eq!(created.read_elements::<u16>(&s![.., 1])?, [0, 1, 3, 0, 0, 9]);
    created.resize(&[4, 4])?;
    created.set_attributes(Default::default())?;
    assert_eq!(created.shape(), [4, 4]);
    Ok(())
}
