//! One way to open anything, the same in both drivers: `open(url_or_path)` for a
//! path, `file://` or `http(s)://`; `open_in(store, path)`; `Error::NotFound` naming
//! the place the caller pointed at.

use std::path::PathBuf;

use zarr_store::server::{Server, ServerConfig};
use zarr_tests::manifest::fixtures_dir;

fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join("data").join(format!("{name}.zarr"))
}

#[test]
fn blocking_opens_paths_file_urls_and_http_urls_alike() {
    let dir = fixture("v3_zstd_gzip");
    let by_path = zarr_blocking::Array::open(&dir.to_string_lossy()).expect("path");
    let by_file_url = zarr_blocking::Array::open(&format!("file://{}", dir.display())).expect("file URL");
    assert_eq!(by_path.shape(), by_file_url.shape());
    assert_eq!(by_path.data_type().to_owned(), by_file_url.data_type().to_owned());

    let server = Server::start(ServerConfig::dir(fixtures_dir().join("data")).threads(1)).expect("server");
    let by_http = zarr_blocking::Array::open(&format!("{}/v3_zstd_gzip.zarr", server.url())).expect("http URL");
    let sel = zarr_blocking::Selection::all();
    assert_eq!(by_http.read(&sel).expect("read").data, by_path.read(&sel).expect("read").data);

    // Every entry point says the same about the same node.
    let store = zarr_blocking::FsStore::new(fixtures_dir().join("data"));
    let in_store = zarr_blocking::Array::open_in(store, "v3_zstd_gzip.zarr").expect("open_in");
    assert_eq!(in_store.shape(), by_path.shape());
    assert!(matches!(zarr_blocking::Node::open(&dir.to_string_lossy()), Ok(zarr_blocking::Node::Array(_))));
    let e = zarr_blocking::Group::open(&dir.to_string_lossy()).unwrap_err();
    assert!(matches!(e, zarr_blocking::Error::WrongNodeType { found: "array", .. }), "{e}");
    assert!(e.to_string().contains("v3_zstd_gzip.zarr`"), "the message names the place: {e}");
}

#[test]
fn nothing_there_is_not_found_naming_the_place() {
    let missing = fixtures_dir().join("no-such-array.zarr");
    let e = zarr_blocking::Array::open(&missing.to_string_lossy()).unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains(&*missing.to_string_lossy()), "{e}");

    let server = Server::start(ServerConfig::dir(fixtures_dir().join("data")).threads(1)).expect("server");
    let url = format!("{}/no-such-array.zarr", server.url());
    let e = futures_lite::future::block_on(zarr_smol::Array::open(&url)).unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains(&url), "{e}");

    // Inside a store: the store's place and the node's path.
    let store = zarr_blocking::FsStore::new(fixtures_dir().join("data"));
    let e = zarr_blocking::Node::open_in(store, "a/b").unwrap_err();
    assert!(e.to_string().contains("a/b") && e.is_not_found(), "{e}");
}

#[test]
fn async_opens_the_same_way() {
    let dir = fixture("v3_zstd_gzip");
    futures_lite::future::block_on(async {
        let by_path = zarr_smol::Array::open(&dir.to_string_lossy()).await.expect("path");
        let store = zarr_smol::MemoryStore::new();
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                store.insert(name, std::fs::read(entry.path()).expect("read"));
            }
        }
        let in_memory = zarr_smol::Array::open_in(store, "").await.expect("open_in");
        assert_eq!(in_memory.shape(), by_path.shape());
        let e = zarr_smol::Group::open(&dir.to_string_lossy()).await.unwrap_err();
        assert!(matches!(e, zarr_smol::Error::WrongNodeType { found: "array", .. }), "{e}");
    });
}

#[test]
fn accessors_and_selections_from_rust_values() {
    let dir = fixture("v3_shard_nested_compression");
    let array = zarr_blocking::Array::open(&dir.to_string_lossy()).expect("open");
    assert_eq!(array.shape(), [17, 13]);
    assert_eq!(array.chunk_shape(), Some(vec![4, 3]), "inner chunks of a sharded array");
    assert_eq!(array.shard_shape(), Some(vec![8, 6]));
    assert_eq!(array.chunk_grid_shape(), [3, 3]);
    assert_eq!(array.fill_value(), serde_json::json!(0));
    assert_eq!(array.zarr_format(), zarr_proto::ZarrFormat::V3);
    // `s!` and the parsed expression select the same elements, in both drivers.
    let by_macro = array.read(&zarr_blocking::s![2..9, ..]).expect("read");
    let by_text = array.read(&zarr_blocking::Selection::parse_basic("2:9, :").expect("parse")).expect("read");
    assert_eq!(by_macro.shape, [7, 13]);
    assert_eq!(by_macro.data, by_text.data);
    let smol = futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open(&dir.to_string_lossy()).await.expect("open");
        assert_eq!(array.chunk_shape(), Some(vec![4, 3]));
        array.read(&zarr_smol::s![2..9, ..]).await.expect("read")
    });
    assert_eq!(smol.data, by_macro.data);
}

#[test]
fn typed_reads_decode_into_the_callers_elements() {
    let dir = fixture("v3_shard_nested_compression"); // uint32
    let array = zarr_blocking::Array::open(&dir.to_string_lossy()).expect("open");
    let sel = zarr_blocking::s![3..15, 1..12];
    let want: Vec<u32> = array.read(&sel).expect("read").to_vec().expect("u32");
    assert_eq!(array.read_elements::<u32>(&sel).expect("typed"), want);
    let mut out = vec![u32::MAX; want.len()];
    array.read_into_elements(&sel, &mut out).expect("into");
    assert_eq!(out, want);
    let e = array.read_elements::<f32>(&sel).unwrap_err();
    assert!(e.to_string().contains("uint32") && e.to_string().contains("f32"), "{e}");
    let mut short = vec![0u32; want.len() - 1];
    let e = array.read_into_elements(&sel, &mut short).unwrap_err();
    assert!(matches!(e, zarr_blocking::Error::Proto(zarr_proto::Error::BufferSize { .. })), "{e}");
    let smol: Vec<u32> = futures_lite::future::block_on(async {
        zarr_smol::Array::open(&dir.to_string_lossy()).await.expect("open").read_elements(&sel).await.expect("typed")
    });
    assert_eq!(smol, want);
}
