//! One behaviour for every store: the same checks run over each store, through the
//! async methods (what zarr-smol awaits) and the blocking ones (what zarr-blocking's IO
//! threads call): keys, ranges (suffix, past the end), missing keys, listing, atomic
//! replace, and keys that try to escape.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use futures_lite::future::block_on;
use zarr_proto::ByteRange;
use zarr_proto::StoreKind;
use zarr_store::server::{Server, ServerConfig};
use zarr_store::{FsStore, HttpConfig, HttpVersion, ListDir, MemoryStore, Store, StoreError, StoreResult};

/// The two ways a driver calls a store.
#[derive(Debug, Clone, Copy)]
enum View {
    Async,
    Blocking,
}

impl View {
    fn get(self, s: &dyn Store, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
        match self {
            View::Async => block_on(s.get(key, range)),
            View::Blocking => s.get_blocking(key, range),
        }
    }
    fn set(self, s: &dyn Store, key: &str, value: &'static [u8]) -> StoreResult<()> {
        match self {
            View::Async => block_on(s.set(key, Bytes::from_static(value))),
            View::Blocking => s.set_blocking(key, Bytes::from_static(value)),
        }
    }
    fn delete(self, s: &dyn Store, key: &str) -> StoreResult<()> {
        match self {
            View::Async => block_on(s.delete(key)),
            View::Blocking => s.delete_blocking(key),
        }
    }
    fn list_dir(self, s: &dyn Store, prefix: &str) -> StoreResult<ListDir> {
        match self {
            View::Async => block_on(s.list_dir(prefix)),
            View::Blocking => s.list_dir_blocking(prefix),
        }
    }
    fn size(self, s: &dyn Store, key: &str) -> StoreResult<Option<u64>> {
        match self {
            View::Async => block_on(s.size(key)),
            View::Blocking => s.size_blocking(key),
        }
    }
}

/// The checks every store passes; `lists` is false for stores that cannot list (HTTP).
fn suite(name: &str, store: &dyn Store, view: View, lists: bool) {
    let at = |what: &str| format!("{name} ({view:?}): {what}");
    view.set(store, "g/a/c/0", b"0123456789").unwrap();
    view.set(store, "g/a/zarr.json", b"{}").unwrap();
    view.set(store, "g/zarr.json", b"{\"x\":1}").unwrap();

    // Whole values and ranges.
    let get = |key, range| view.get(store, key, range).unwrap_or_else(|e| panic!("{}: {e}", at(key)));
    assert_eq!(get("g/a/c/0", None).as_deref(), Some(&b"0123456789"[..]), "{}", at("whole"));
    assert_eq!(get("g/a/c/0", Some(ByteRange::new(2, 3))).as_deref(), Some(&b"234"[..]), "{}", at("range"));
    assert_eq!(get("g/a/c/0", Some(ByteRange::Suffix(4))).as_deref(), Some(&b"6789"[..]), "{}", at("suffix"));
    assert_eq!(
        get("g/a/c/0", Some(ByteRange::FromStart { offset: 7, length: None })).as_deref(),
        Some(&b"789"[..]),
        "{}",
        at("open range")
    );
    // A range that starts inside and runs past the end is cut at the end, as HTTP
    // servers answer; the read op checks lengths it needs exactly.
    assert_eq!(get("g/a/c/0", Some(ByteRange::new(8, 10))).as_deref(), Some(&b"89"[..]), "{}", at("past end"));
    // A range that starts past the end is an error naming the key, never empty data.
    let e = view.get(store, "g/a/c/0", Some(ByteRange::new(10, 1))).unwrap_err();
    assert_eq!(e.key(), "g/a/c/0", "{}", at("range outside"));

    // Missing keys are `None`, never an error; sizes agree.
    assert_eq!(get("g/a/c/1", None), None, "{}", at("missing"));
    assert_eq!(get("nothing/here/zarr.json", None), None, "{}", at("missing dir"));
    assert_eq!(view.size(store, "g/a/c/0").unwrap(), Some(10), "{}", at("size"));
    assert_eq!(view.size(store, "g/a/c/1").unwrap(), None, "{}", at("size of missing"));

    // Replacing a value replaces all of it (a shorter value leaves nothing of the old).
    view.set(store, "g/a/c/0", b"xyz").unwrap();
    assert_eq!(get("g/a/c/0", None).as_deref(), Some(&b"xyz"[..]), "{}", at("replace"));

    // Keys that could escape the root, or are malformed, are refused with the key named.
    for bad in ["../secret", "g/../../secret", "/etc/passwd", "a//b", "", ".", "a/./b", "a\\b"] {
        for e in [view.get(store, bad, None).unwrap_err(), view.set(store, bad, b"x").unwrap_err()] {
            assert!(matches!(e, StoreError::InvalidKey { .. }), "{}: {e:?}", at(bad));
            assert_eq!(e.key(), bad);
        }
    }

    // Listing.
    let listing = view.list_dir(store, "g");
    if lists {
        let listing = listing.unwrap();
        assert_eq!(listing.keys, ["g/zarr.json"], "{}", at("list keys"));
        assert_eq!(listing.prefixes, ["g/a/"], "{}", at("list prefixes"));
        let root = view.list_dir(store, "").unwrap();
        assert_eq!(root.prefixes, ["g/"], "{}", at("list root"));
        assert!(view.list_dir(store, "nothing").unwrap().keys.is_empty(), "{}", at("list missing"));
    } else {
        let e = listing.unwrap_err();
        assert!(matches!(e, StoreError::Unsupported { .. }), "{}: {e:?}", at("list"));
    }

    // Deleting, twice: the second is not an error.
    view.delete(store, "g/a/c/0").unwrap();
    view.delete(store, "g/a/c/0").unwrap();
    assert_eq!(get("g/a/c/0", None), None, "{}", at("deleted"));
    view.delete(store, "g/a/zarr.json").unwrap();
    view.delete(store, "g/zarr.json").unwrap();
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("zarr-store-{name}-{}-{}", std::process::id(), fastrand::u32(..)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn memory_store() {
    for view in [View::Async, View::Blocking] {
        let store = MemoryStore::new();
        suite("memory", &store, view, true);
        assert_eq!(store.kind(), StoreKind::Memory);
    }
}

#[test]
fn fs_store() {
    for (view, fsync) in [(View::Async, false), (View::Blocking, false), (View::Blocking, true)] {
        let dir = tempdir("suite");
        let store = FsStore::new(&dir).with_fsync(fsync);
        suite("fs", &store, view, true);
        assert_eq!(store.kind(), StoreKind::Local);
        // No temporary file is left behind by the atomic writes.
        let leftovers: Vec<_> = walk(&dir);
        assert!(leftovers.iter().all(|p| !p.contains(".zarr-tmp-")), "{leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn shared_store_handles() {
    // `Arc<dyn Store>` is what the drivers hold; it forwards every method.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    suite("Arc<memory>", &store, View::Blocking, true);
    suite("Arc<memory>", &store, View::Async, true);
}

#[test]
fn http_store_over_memory_and_directory() {
    let memory = Server::start(ServerConfig::memory(MemoryStore::new()).writable(true).threads(1)).unwrap();
    let dir = tempdir("http-suite");
    let files = Server::start(ServerConfig::dir(&dir).writable(true).threads(1)).unwrap();
    for server in [&memory, &files] {
        for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
            let store = common::client(server, version, HttpConfig::default().retry(common::fast_retry(2)));
            assert_eq!(store.kind(), StoreKind::Remote);
            for view in [View::Async, View::Blocking] {
                suite(&format!("http {version:?} {}", server.url()), &store, view, false);
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path().display().to_string());
        }
    }
    out
}
