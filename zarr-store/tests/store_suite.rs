//! One behaviour for every store: the same checks run over each store, through the
//! async methods (what zarr-smol awaits) and the blocking ones (what zarr-blocking's IO
//! threads call): keys, ranges (suffix, past the end), missing keys, listing, atomic
//! replace, and keys that try to escape; then versions and conditional writes, and a
//! counter incremented from many threads (and processes) that never loses an increment.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use futures_lite::future::block_on;
use zarr_proto::ByteRange;
use zarr_proto::StoreKind;
use zarr_store::server::{Server, ServerConfig};
use zarr_store::{
    BoxFuture, Condition, FsStore, HttpConfig, HttpVersion, ListDir, MemoryStore, S3Store, Store, StoreError,
    StoreResult, Version, Versioned, WriteResult,
};

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
    fn get_versioned(self, s: &dyn Store, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Versioned>> {
        match self {
            View::Async => block_on(s.get_versioned(key, range)),
            View::Blocking => s.get_versioned_blocking(key, range),
        }
    }
    fn put(self, s: &dyn Store, key: &str, value: &[u8], condition: Condition) -> StoreResult<WriteResult> {
        let value = Bytes::copy_from_slice(value);
        match self {
            View::Async => block_on(s.put(key, value, condition)),
            View::Blocking => s.put_blocking(key, value, condition),
        }
    }
    fn delete_if(self, s: &dyn Store, key: &str, condition: Condition) -> StoreResult<WriteResult> {
        match self {
            View::Async => block_on(s.delete_if(key, condition)),
            View::Blocking => s.delete_if_blocking(key, condition),
        }
    }
}

/// The version a successful write reports; every store under test names one.
fn stored(name: &str, r: StoreResult<WriteResult>) -> Version {
    match r {
        Ok(WriteResult::Stored(Some(v))) => v,
        other => panic!("{name}: expected a stored write with a version, got {other:?}"),
    }
}

/// Versions and conditions, for stores that check them.
fn conditional_suite(name: &str, store: &dyn Store, view: View) {
    let at = |what: &str| format!("{name} ({view:?}): {what}");
    assert!(store.supports_conditional_writes(), "{}", at("supports"));
    let key = "v/c/0";
    let value = |k| view.get(store, k, None).unwrap().map(|b| b.to_vec());
    assert_eq!(view.get_versioned(store, key, None).unwrap(), None, "{}", at("missing"));

    // Absent: only the first creator wins.
    let v1 = stored(&at("create"), view.put(store, key, b"first", Condition::Absent));
    assert_eq!(view.put(store, key, b"second", Condition::Absent).unwrap(), WriteResult::ConditionFailed);
    assert_eq!(value(key).as_deref(), Some(&b"first"[..]), "{}", at("absent kept"));
    let (bytes, version) = view.get_versioned(store, key, None).unwrap().unwrap();
    assert_eq!(&bytes[..], b"first");
    assert_eq!(version.as_ref(), Some(&v1), "{}", at("read version = written version"));

    // Matches: a write based on the current version wins, a stale one fails.
    let v2 = stored(&at("update"), view.put(store, key, b"second", Condition::Matches(v1.clone())));
    assert_ne!(v1, v2, "{}", at("new version"));
    let stale = view.put(store, key, b"lost", Condition::Matches(v1.clone())).unwrap();
    assert_eq!(stale, WriteResult::ConditionFailed, "{}", at("stale version"));
    assert_eq!(value(key).as_deref(), Some(&b"second"[..]), "{}", at("stale write changed nothing"));
    // A ranged read names the whole object's version, where the store names one.
    let (part, version) = view.get_versioned(store, key, Some(ByteRange::new(1, 3))).unwrap().unwrap();
    assert_eq!(&part[..], b"eco", "{}", at("ranged versioned read"));
    assert!(version.is_none() || version == Some(v2.clone()), "{}: {version:?}", at("ranged version"));

    // Conditional deletes.
    assert_eq!(view.delete_if(store, key, Condition::Matches(v1.clone())).unwrap(), WriteResult::ConditionFailed);
    assert_eq!(view.delete_if(store, key, Condition::Absent).unwrap(), WriteResult::ConditionFailed);
    assert_eq!(value(key).as_deref(), Some(&b"second"[..]), "{}", at("failed deletes kept it"));
    assert!(view.delete_if(store, key, Condition::Matches(v2.clone())).unwrap().is_stored(), "{}", at("delete"));
    assert_eq!(value(key), None, "{}", at("deleted"));
    assert!(view.delete_if(store, key, Condition::Always).unwrap().is_stored(), "{}", at("delete missing"));
    assert!(view.delete_if(store, key, Condition::Absent).unwrap().is_stored(), "{}", at("delete absent"));
    let gone = view.delete_if(store, key, Condition::Matches(v2.clone())).unwrap();
    assert_eq!(gone, WriteResult::ConditionFailed, "{}", at("delete a version that is gone"));
    // A write based on the deleted object fails; recreated, the key has a new version.
    assert_eq!(view.put(store, key, b"x", Condition::Matches(v2.clone())).unwrap(), WriteResult::ConditionFailed);
    let v3 = stored(&at("recreate"), view.put(store, key, b"third", Condition::Absent));
    assert!(v3 != v1 && v3 != v2, "{}", at("recreated version"));
    assert!(view.put(store, key, b"fourth", Condition::Always).unwrap().is_stored(), "{}", at("always"));
    assert_eq!(view.put(store, key, b"x", Condition::Matches(v3)).unwrap(), WriteResult::ConditionFailed);

    // The lost update, deterministically: two writers read the same state.
    let (_, seen) = view.get_versioned(store, key, None).unwrap().unwrap();
    stored(&at("first writer"), view.put(store, key, b"A", Condition::after_read(seen.clone())));
    let second = view.put(store, key, b"B", Condition::after_read(seen)).unwrap();
    assert_eq!(second, WriteResult::ConditionFailed, "{}", at("second writer is told"));
    assert_eq!(value(key).as_deref(), Some(&b"A"[..]));
    // Without conditions the second writer silently replaces the first one's value.
    assert!(view.put(store, key, b"A", Condition::Always).unwrap().is_stored());
    assert!(view.put(store, key, b"B", Condition::Always).unwrap().is_stored());
    assert_eq!(value(key).as_deref(), Some(&b"B"[..]), "{}", at("unconditional: last one wins"));
    view.delete(store, key).unwrap();

    // Keys that could escape the root are refused by writes of every kind.
    for bad in ["../secret", "g/../../secret", "/etc/passwd", "a\\b", "a\0b", "..", "a//b"] {
        for e in [
            view.put(store, bad, b"x", Condition::Absent).unwrap_err(),
            view.put(store, bad, b"x", Condition::Always).unwrap_err(),
            view.delete_if(store, bad, Condition::Matches(Version::new("1"))).unwrap_err(),
        ] {
            assert!(matches!(e, StoreError::InvalidKey { .. }), "{}: {e:?}", at(bad));
            assert_eq!(e.key(), bad);
        }
    }
}

/// Increments the decimal counter at `key` `n` times, each a read-modify-write with a
/// condition, trying again after every failed condition.
fn increment(store: &dyn Store, key: &str, n: usize) {
    for _ in 0..n {
        loop {
            let (count, version) = match store.get_versioned_blocking(key, None).unwrap() {
                None => (0u64, None),
                Some((b, v)) => (std::str::from_utf8(&b).unwrap().parse::<u64>().unwrap(), v),
            };
            assert!(count == 0 || version.is_some(), "a counter that exists has a version");
            let next = Bytes::from((count + 1).to_string());
            match store.put_blocking(key, next, Condition::after_read(version)).unwrap() {
                WriteResult::Stored(_) => break,
                WriteResult::ConditionFailed => continue,
            }
        }
    }
}

fn counter(store: &dyn Store, key: &str) -> u64 {
    let b = store.get_blocking(key, None).unwrap().unwrap();
    std::str::from_utf8(&b).unwrap().parse().unwrap()
}

/// `threads` threads increment one counter `per_thread` times each: none is lost.
fn no_lost_increments(store: Arc<dyn Store>, threads: usize, per_thread: usize) {
    let key = "counter/c/0";
    std::thread::scope(|s| {
        for _ in 0..threads {
            let store = &store;
            s.spawn(move || increment(&**store, key, per_thread));
        }
    });
    assert_eq!(counter(&*store, key), (threads * per_thread) as u64, "{}", store.location());
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

#[test]
fn memory_store_conditions() {
    for view in [View::Async, View::Blocking] {
        conditional_suite("memory", &MemoryStore::new(), view);
    }
    no_lost_increments(Arc::new(MemoryStore::new()), 8, 50);
}

#[test]
fn fs_store_conditions() {
    for (view, fsync) in [(View::Async, false), (View::Blocking, false), (View::Blocking, true)] {
        let dir = tempdir("cond");
        let store = FsStore::new(&dir).with_fsync(fsync);
        conditional_suite("fs", &store, view);
        // Failed conditions leave no temporary file behind either.
        let leftovers = walk(&dir);
        assert!(leftovers.iter().all(|p| !p.contains(".zarr-tmp-")), "{leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let dir = tempdir("counter");
    // Each thread its own handle: the lock works between descriptors, not handles.
    no_lost_increments(Arc::new(FsStore::new(&dir)), 6, 30);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Set by [`fs_store_counter_across_processes`] for the children it starts.
const CHILD_DIR: &str = "ZARR_STORE_COUNTER_DIR";

#[test]
fn fs_store_counter_across_processes() {
    let dir = tempdir("procs");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "fs_store_counter_child", "--nocapture", "--test-threads=1"])
                .env(CHILD_DIR, &dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {text}{}", String::from_utf8_lossy(&out.stderr));
        // The child really ran (a filter that matched nothing would pass too).
        assert!(text.contains("1 passed"), "{text}");
    }
    // Two processes of 2 threads, 25 increments each.
    assert_eq!(counter(&FsStore::new(&dir), "counter/c/0"), 100);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One of the processes of [`fs_store_counter_across_processes`]; does nothing when run
/// by itself.
#[test]
fn fs_store_counter_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let store = FsStore::new(dir);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| increment(&store, "counter/c/0", 25));
        }
    });
}

#[test]
fn http_store_conditions() {
    let memory = Server::start(ServerConfig::memory(MemoryStore::new()).writable(true).threads(2)).unwrap();
    let dir = tempdir("http-cond");
    let files = Server::start(ServerConfig::dir(&dir).writable(true).threads(2)).unwrap();
    for server in [&memory, &files] {
        for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
            let store = common::client(server, version, HttpConfig::default().retry(common::fast_retry(2)));
            for view in [View::Async, View::Blocking] {
                conditional_suite(&format!("http {version:?} {}", server.url()), &store, view);
            }
            no_lost_increments(Arc::new(store), 4, 20);
            block_on(common::client(server, version, HttpConfig::default()).delete("counter/c/0")).unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn read_only_server_refuses_writes_by_name() {
    let data = MemoryStore::new();
    data.insert("a/c/0", "x");
    let server = Server::start(ServerConfig::memory(data.clone()).threads(1)).unwrap();
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        let store = common::client(&server, version, HttpConfig::default().retry(common::fast_retry(3)));
        let e = block_on(store.put("a/c/0", Bytes::from_static(b"y"), Condition::Always)).unwrap_err();
        assert!(matches!(e, StoreError::WriteRefused { status: 405, .. }), "{e:?}");
        assert!(e.to_string().contains("server refuses PUT for `a/c/0`"), "{e}");
        let e = store.set_blocking("a/c/0", Bytes::from_static(b"y")).unwrap_err();
        assert_eq!(e.key(), "a/c/0");
        let e = store.delete_if_blocking("a/c/0", Condition::Absent).unwrap_err();
        assert!(e.to_string().contains("server refuses DELETE for `a/c/0`"), "{e}");
        // Reads still work, with the ETag as the version.
        let (b, v) = store.get_versioned_blocking("a/c/0", None).unwrap().unwrap();
        assert_eq!(&b[..], b"x");
        assert!(v.is_some_and(|v| v.as_str().starts_with('"')));
    }
    assert_eq!(data.get_now("a/c/0").as_deref(), Some(&b"x"[..]));
}

/// Sends one raw HTTP/1.1 request and returns the status line and headers.
fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn writable_server_keeps_keys_in_its_root_and_tags_what_it_serves() {
    let parent = tempdir("root");
    let dir = parent.join("served");
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start(ServerConfig::dir(&dir).writable(true).threads(1)).unwrap();
    for path in ["/a/%2E%2E/%2E%2E/escaped", "/..%2Fescaped", "/%2Fetc%2Fescaped", "/a%5Cb", "/a%00b", "/a//b"] {
        for method in ["PUT", "DELETE"] {
            let req = format!("{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx");
            let answer = raw(server.addr(), &req);
            assert!(answer.starts_with("HTTP/1.1 400"), "{method} {path}: {answer}");
        }
    }
    assert!(!parent.join("escaped").exists());
    assert_eq!(walk(&parent), Vec::<String>::new());
    // PUT, GET and HEAD carry the same strong ETag; a stale If-Match is 412.
    let put = raw(
        server.addr(),
        "PUT /k HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nif-none-match: *\r\nconnection: close\r\n\r\nhi",
    );
    let etag = |answer: &str| {
        let line = answer.lines().find(|l| l.to_ascii_lowercase().starts_with("etag:")).unwrap_or_default();
        line.split_once(':').map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
    };
    assert!(put.starts_with("HTTP/1.1 201"), "{put}");
    let tag = etag(&put);
    assert!(tag.starts_with('"') && tag.len() > 2, "{put}");
    for method in ["GET", "HEAD"] {
        let got = raw(server.addr(), &format!("{method} /k HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
        assert_eq!(etag(&got), tag, "{got}");
    }
    let again = raw(
        server.addr(),
        "PUT /k HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nif-none-match: *\r\nconnection: close\r\n\r\nho",
    );
    assert!(again.starts_with("HTTP/1.1 412"), "{again}");
    let stale = "PUT /k HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nif-match: \"0-0\"\r\nconnection: close\r\n\r\nho";
    assert!(raw(server.addr(), stale).starts_with("HTTP/1.1 412"));
    let fresh = format!("DELETE /k HTTP/1.1\r\nhost: x\r\nif-match: {tag}\r\nconnection: close\r\n\r\n");
    assert!(raw(server.addr(), &fresh).starts_with("HTTP/1.1 204"));
    server.stop();
    std::fs::remove_dir_all(&parent).unwrap();
}

/// A store that implements only the required methods.
#[derive(Debug)]
struct Plain(MemoryStore);

impl Store for Plain {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        self.0.get(key, range)
    }
    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        self.0.set(key, value)
    }
    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        self.0.delete(key)
    }
    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        self.0.list(prefix)
    }
    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        self.0.list_dir(prefix)
    }
    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }
}

#[test]
fn stores_without_conditions_refuse_them() {
    let store = Plain(MemoryStore::new());
    assert!(!store.supports_conditional_writes());
    for view in [View::Async, View::Blocking] {
        assert!(view.put(&store, "k", b"1", Condition::Always).unwrap().is_stored());
        let (b, v) = view.get_versioned(&store, "k", None).unwrap().unwrap();
        assert_eq!((&b[..], v), (&b"1"[..], None));
        for cond in [Condition::Absent, Condition::Matches(Version::new("1"))] {
            let e = view.put(&store, "k", b"2", cond.clone()).unwrap_err();
            assert!(matches!(e, StoreError::Unsupported { .. }), "{e:?}");
            assert_eq!(e.key(), "k");
            let e = view.delete_if(&store, "k", cond).unwrap_err();
            assert!(matches!(e, StoreError::Unsupported { .. }), "{e:?}");
        }
        assert_eq!(view.get(&store, "k", None).unwrap().as_deref(), Some(&b"1"[..]));
        assert!(view.delete_if(&store, "k", Condition::Always).unwrap().is_stored());
    }
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

/// An s3s-fs server over a temporary directory with the bucket `zarr`, or `None`
/// (skipped, with the reason printed) when the binary is absent and ZARR_S3S_FS unset.
fn s3s_fs(name: &str) -> Option<(zarr_store::server::s3s_fs::S3sFs, std::path::PathBuf)> {
    let dir = tempdir(name);
    let server = zarr_store::server::s3s_fs::S3sFs::start(&dir).unwrap()?;
    server.bucket("zarr").unwrap();
    Some((server, dir))
}

fn s3_store(server: &zarr_store::server::s3s_fs::S3sFs, url: &str, secret: Option<&str>) -> S3Store {
    S3Store::new(server.config(url, secret).unwrap(), HttpConfig::default()).unwrap()
}

#[test]
fn s3_store_against_s3s_fs() {
    let Some((server, dir)) = s3s_fs("s3") else { return };
    let secret = Some(zarr_store::server::s3s_fs::SECRET_KEY);
    for (view, url) in [(View::Async, "s3://zarr"), (View::Blocking, "s3://zarr/some/prefix")] {
        let store = s3_store(&server, url, secret);
        suite("s3", &store, view, true);
        assert_eq!(store.location(), url);
        assert_eq!(store.kind(), StoreKind::Remote);
        // A suffix as long as the value is all of it. (Longer ones, which AWS answers with
        // the whole value, get 500 InternalError from s3s-fs 0.14.1: not checked here.)
        view.set(&store, "k", b"abc").unwrap();
        assert_eq!(view.get(&store, "k", Some(ByteRange::Suffix(3))).unwrap().as_deref(), Some(&b"abc"[..]));
        let (_, version) = view.get_versioned(&store, "k", None).unwrap().unwrap();
        assert!(version.is_some(), "S3 names versions (ETags)");
        view.delete(&store, "k").unwrap();
    }
    // Keys under a prefix are objects under it.
    let store = s3_store(&server, "s3://zarr/p", secret);
    View::Blocking.set(&store, "a/zarr.json", b"{}").unwrap();
    assert!(dir.join("zarr/p/a/zarr.json").is_file());
    View::Blocking.delete(&store, "a/zarr.json").unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn s3_listing_goes_page_by_page() {
    let Some((server, dir)) = s3s_fs("s3-list") else { return };
    let secret = Some(zarr_store::server::s3s_fs::SECRET_KEY);
    let store = s3_store(&server, "s3://zarr/data", secret).with_list_page_size(3);
    let mut keys: Vec<String> = (0..11).map(|i| format!("a/c/{i}")).collect();
    keys.extend((0..5).map(|i| format!("a/d{i}/zarr.json")));
    keys.push("a/zarr.json".into());
    for k in &keys {
        store.set_blocking(k, Bytes::from_static(b"x")).unwrap();
    }
    keys.sort();
    assert_eq!(block_on(store.list("")).unwrap(), keys);
    assert_eq!(block_on(store.list("a/c/")).unwrap().len(), 11);
    let dir_listing = store.list_dir_blocking("a").unwrap();
    assert_eq!(dir_listing.keys, ["a/zarr.json"]);
    let mut prefixes = vec!["a/c/".to_owned()];
    prefixes.extend((0..5).map(|i| format!("a/d{i}/")));
    assert_eq!(dir_listing.prefixes, prefixes);
    assert_eq!(store.list_dir_blocking("").unwrap().prefixes, ["a/"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn s3_wrong_or_missing_credentials_are_access_denied() {
    let Some((server, dir)) = s3s_fs("s3-denied") else { return };
    let good = s3_store(&server, "s3://zarr", Some(zarr_store::server::s3s_fs::SECRET_KEY));
    good.set_blocking("a/zarr.json", Bytes::from_static(b"{}")).unwrap();
    for (who, store) in [
        ("wrong secret", s3_store(&server, "s3://zarr", Some("not-the-secret"))),
        ("anonymous", s3_store(&server, "s3://zarr", None)),
    ] {
        let errors = [
            store.get_blocking("a/zarr.json", None).unwrap_err(),
            store.get_blocking("a/missing", None).unwrap_err(),
            store.size_blocking("a/zarr.json").unwrap_err(),
            store.set_blocking("a/x", Bytes::from_static(b"1")).unwrap_err(),
            store.delete_blocking("a/zarr.json").unwrap_err(),
            store.list_dir_blocking("a").unwrap_err(),
        ];
        for e in errors {
            assert!(matches!(e, StoreError::AccessDenied { .. }), "{who}: {e:?}");
            let text = e.to_string();
            assert!(text.starts_with("access denied for `a"), "{who}: {text}");
            assert!(text.contains("check credentials / region") && text.contains("s3://zarr/a"), "{text}");
            assert!(!text.contains("not-the-secret") && !text.contains(zarr_store::server::s3s_fs::SECRET_KEY));
        }
    }
    assert_eq!(good.get_blocking("a/zarr.json", None).unwrap().as_deref(), Some(&b"{}"[..]));
    let shown = format!("{good:?}");
    assert!(!shown.contains(zarr_store::server::s3s_fs::SECRET_KEY), "{shown}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn s3_conditions_are_refused_unless_asked_for() {
    let Some((server, dir)) = s3s_fs("s3-cond") else { return };
    let secret = Some(zarr_store::server::s3s_fs::SECRET_KEY);
    let store = s3_store(&server, "s3://zarr", secret);
    assert!(!store.supports_conditional_writes());
    for cond in [Condition::Absent, Condition::Matches(Version::new("\"x\""))] {
        let e = store.put_blocking("k", Bytes::from_static(b"1"), cond.clone()).unwrap_err();
        assert!(matches!(e, StoreError::Unsupported { .. }), "{e:?}");
        let e = store.delete_if_blocking("k", cond).unwrap_err();
        assert!(matches!(e, StoreError::Unsupported { .. }), "{e:?}");
    }
    // s3s-fs checks conditions on PUT (not on DELETE): asked for, conflicts are refused
    // there. Sequential ones only: it checks before reading the body and renames the
    // file after, unlocked, so two racing writers can both pass (see S3Store's docs).
    let store = store.with_conditional_writes(true);
    let view = View::Blocking;
    let v1 = stored("s3 create", view.put(&store, "k", b"first", Condition::Absent));
    assert_eq!(view.put(&store, "k", b"second", Condition::Absent).unwrap(), WriteResult::ConditionFailed);
    let v2 = stored("s3 update", view.put(&store, "k", b"second", Condition::Matches(v1.clone())));
    assert_eq!(view.put(&store, "k", b"lost", Condition::Matches(v1)).unwrap(), WriteResult::ConditionFailed);
    let (b, seen) = view.get_versioned(&store, "k", None).unwrap().unwrap();
    assert_eq!((&b[..], seen), (&b"second"[..], Some(v2.clone())));
    assert_eq!(view.put(&store, "gone", b"x", Condition::Matches(v2.clone())).unwrap(), WriteResult::ConditionFailed);
    // Why conditions are opt-in: s3s-fs ignores `If-Match` on DELETE, so a delete from
    // a stale ETag goes through. (If a newer s3s-fs refuses it, update S3Store's docs.)
    let v3 = stored("s3 update", view.put(&store, "k", b"third", Condition::Matches(v2.clone())));
    assert_ne!(v3, v2);
    assert_eq!(store.delete_if_blocking("k", Condition::Matches(v2)).unwrap(), WriteResult::Stored(None));
    assert!(view.get(&store, "k", None).unwrap().is_none(), "s3s-fs now checks If-Match on DELETE");
    std::fs::remove_dir_all(&dir).ok();
}

/// Past 1000 keys at S3's own page size (the store's default, which s3s-fs honours):
/// every key comes back, and the requests a proxy counted show the listing took
/// several ListObjectsV2 pages, with and without the delimiter.
#[test]
fn s3_listing_past_a_thousand_keys_fetches_several_pages() {
    let Some((server, dir)) = s3s_fs("s3-list-1000") else { return };
    // s3s-fs keeps objects as files: written directly, they are objects.
    let bucket = dir.join("zarr");
    let mut keys: Vec<String> = (0..2100).map(|i| format!("big/c/{i}")).collect();
    keys.extend((0..1100).map(|i| format!("big/g{i:04}/zarr.json")));
    for k in &keys {
        let path = bucket.join(k);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }
    let proxy = zarr_store::server::proxy::LatencyProxy::start(
        "127.0.0.1:0".parse().unwrap(),
        server.endpoint().trim_start_matches("http://").parse().unwrap(),
        std::time::Duration::ZERO,
    )
    .unwrap();
    let config = server.config_via(&proxy.url(), "s3://zarr", Some(zarr_store::server::s3s_fs::SECRET_KEY)).unwrap();
    let store = S3Store::new(config, HttpConfig::default()).unwrap();
    let lists = |log: &[String]| log.iter().filter(|r| r.contains("list-type=2")).count();

    let mut got = block_on(store.list("big/")).unwrap();
    keys.sort();
    got.sort();
    assert_eq!(got.len(), 3200);
    assert!(got == keys, "the listing differs from the keys written");
    let log = proxy.log();
    // 3200 keys, 1000 a page: four pages, each asking for S3's maximum.
    assert_eq!(lists(&log), 4, "{log:?}");
    assert!(log.iter().filter(|r| r.contains("list-type=2")).all(|r| r.contains("max-keys=1000")), "{log:?}");
    assert_eq!(log.iter().filter(|r| r.contains("continuation-token=")).count(), 3, "{log:?}");

    // The delimited listing of `big/`: one key-less level of 1101 prefixes, two pages.
    let listing = store.list_dir_blocking("big").unwrap();
    assert!(listing.keys.is_empty(), "{:?}", listing.keys);
    assert_eq!(listing.prefixes.len(), 1101);
    assert_eq!(listing.prefixes[0], "big/c/");
    assert_eq!(listing.prefixes[1100], "big/g1099/");
    assert_eq!(lists(&proxy.log()) - lists(&log), 2, "{:?}", proxy.log());
    std::fs::remove_dir_all(&dir).ok();
}
