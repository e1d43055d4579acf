//! `Group::consolidate` in both drivers, on real files: the hierarchy found by listing
//! is what a reader then opens from the one document, also over HTTP, which cannot list.

use std::path::Path;
use std::sync::Arc;

use zarr_blocking::{ArrayBuilder, DataType, FsStore, GroupMetadata, Store, ZarrFormat};
use zarr_store::server::{Server, ServerConfig};

/// Root group, `a` (array), `g` (group), `g/b` (array), `g/h` (empty group), and a
/// directory without metadata (`stray`), in `format`, written with zarr-blocking.
fn hierarchy(dir: &Path, format: ZarrFormat) {
    let store: Arc<dyn Store> = Arc::new(FsStore::new(dir));
    let group = || GroupMetadata::new(format, Default::default());
    let array = |shape: Vec<u64>| ArrayBuilder::new(shape, DataType::UInt16, vec![2]).build(format).expect("metadata");
    zarr_blocking::Group::create(store.clone(), "", group()).expect("root");
    zarr_blocking::Array::create(store.clone(), "a", array(vec![5])).expect("a");
    zarr_blocking::Group::create(store.clone(), "g", group()).expect("g");
    zarr_blocking::Array::create(store.clone(), "g/b", array(vec![7])).expect("g/b");
    zarr_blocking::Group::create(store.clone(), "g/h", group()).expect("g/h");
    std::fs::create_dir_all(dir.join("stray/x")).expect("stray dir");
}

const NODES: [&str; 4] = ["a", "g", "g/b", "g/h"];

fn keys(c: Option<&zarr_blocking::ConsolidatedMetadata>) -> Vec<&str> {
    c.map(|c| c.nodes.keys().map(String::as_str).collect()).unwrap_or_default()
}

#[test]
fn both_drivers_consolidate_what_readers_then_open() {
    for format in [ZarrFormat::V2, ZarrFormat::V3] {
        for driver in ["blocking", "smol"] {
            let tmp = tempfile::tempdir().expect("temp dir");
            hierarchy(tmp.path(), format);
            let store: Arc<dyn Store> = Arc::new(FsStore::new(tmp.path()));
            match driver {
                "blocking" => {
                    let mut root = zarr_blocking::Group::open_with(store.clone(), "", Arc::default()).expect("open");
                    root.consolidate().expect("consolidate");
                    assert_eq!(keys(root.consolidated()), NODES, "{format:?} {driver}");
                }
                _ => futures_lite::future::block_on(async {
                    let mut root = zarr_smol::Group::open_with(store.clone(), "", Arc::default()).await.expect("open");
                    root.consolidate().await.expect("consolidate");
                    assert_eq!(keys(root.consolidated()), NODES, "{format:?} {driver}");
                }),
            }
            let document = if format == ZarrFormat::V2 { ".zmetadata" } else { "zarr.json" };
            assert!(tmp.path().join(document).is_file(), "{format:?} {driver}: no {document}");

            // A fresh reader opens every node from the document, equal to the node's own.
            let root = zarr_blocking::Group::open_with(store.clone(), "", Arc::default()).expect("reopen");
            assert_eq!(keys(root.consolidated()), NODES, "{format:?} {driver}: reopened");
            assert_eq!(root.children().expect("children"), ["a", "g"]);
            let from_document = root.array("g/b").expect("g/b");
            let own = zarr_blocking::Array::open_with(store.clone(), "g/b", Arc::default()).expect("g/b itself");
            assert_eq!(from_document.metadata(), own.metadata(), "{format:?} {driver}");

            // Over HTTP nothing lists; the consolidated document is how the tree is walked.
            let server = Server::start(ServerConfig::dir(tmp.path())).expect("server on 127.0.0.1");
            let mut remote = zarr_blocking::Group::open(&server.url()).expect("open over HTTP");
            assert_eq!(remote.children().expect("children over HTTP"), ["a", "g"]);
            let g = match remote.child("g").expect("g over HTTP") {
                zarr_blocking::Node::Group(g) => g,
                zarr_blocking::Node::Array(_) => panic!("g is a group"),
            };
            assert_eq!(g.children().expect("g's children over HTTP"), ["b", "h"]);
            // Consolidating needs a listing: over HTTP it fails, and says so.
            let err = remote.consolidate().expect_err("consolidate over HTTP");
            assert!(err.to_string().contains("list"), "{err}");
        }
    }
}
