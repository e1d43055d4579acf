//! FsStore: keys cannot escape the root, writes are atomic, listings skip temp files.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_lite::future::block_on;
use zarr_proto::ByteRange;
use zarr_store::{FsStore, Store, StoreError};

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("zarr-smol-{name}-{}-{}", std::process::id(), fastrand::u32(..)));
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

#[test]
fn path_traversal_is_rejected() {
    let base = tempdir("traversal");
    let root = base.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(base.join("secret"), b"secret").unwrap();
    let store = FsStore::new(&root);
    let bad = ["../secret", "a/../../secret", "/etc/passwd", "a\\..\\..\\secret", "a//b", "", ".", "a/./b", "a/"];
    block_on(async {
        for key in bad {
            for e in [
                store.get(key, None).await.unwrap_err(),
                store.set(key, Bytes::from_static(b"x")).await.unwrap_err(),
                store.delete(key).await.unwrap_err(),
            ] {
                assert!(matches!(e, StoreError::InvalidKey { .. }), "{key:?}: {e:?}");
                assert_eq!(e.key(), key);
                assert!(e.to_string().contains(&format!("`{key}`")), "{e}");
            }
        }
        assert!(store.list("../").await.is_err());
        assert!(store.list_dir("..").await.is_err());
    });
    // Nothing outside the root was touched.
    assert_eq!(std::fs::read(base.join("secret")).unwrap(), b"secret");
    let mut names: Vec<_> = std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["root", "secret"]);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn get_set_delete_list() {
    let root = tempdir("basic");
    let store = FsStore::new(&root);
    block_on(async {
        store.set("g/zarr.json", Bytes::from_static(b"{}")).await.unwrap();
        store.set("g/a/c/0/0", Bytes::from_static(b"0123456789")).await.unwrap();
        store.set("g/a/c/0/1", Bytes::from_static(b"abc")).await.unwrap();
        store.set("g/a/zarr.json", Bytes::from_static(b"{}")).await.unwrap();
        assert_eq!(std::fs::read(root.join("g/a/c/0/0")).unwrap(), b"0123456789");
        let get = |k: &'static str, r| store.get(k, r);
        assert_eq!(get("g/a/c/0/0", Some(ByteRange::new(2, 3))).await.unwrap().unwrap(), "234");
        assert_eq!(get("g/a/c/0/0", Some(ByteRange::Suffix(2))).await.unwrap().unwrap(), "89");
        assert_eq!(get("g/a/c/0/0", Some(ByteRange::new(8, 100))).await.unwrap().unwrap(), "89");
        let e = get("g/a/c/0/0", Some(ByteRange::new(10, 1))).await.unwrap_err();
        assert!(matches!(e, StoreError::RangeNotSatisfiable { len: 10, .. }), "{e:?}");
        assert_eq!(get("g/missing", None).await.unwrap(), None);
        // A directory, or a path through a file, is no value.
        assert_eq!(get("g/a", None).await.unwrap(), None);
        assert_eq!(get("g/zarr.json/x", None).await.unwrap(), None);
        assert_eq!(store.list("g/a/").await.unwrap(), ["g/a/c/0/0", "g/a/c/0/1", "g/a/zarr.json"]);
        assert_eq!(store.list("g/a/c/0/").await.unwrap(), ["g/a/c/0/0", "g/a/c/0/1"]);
        assert_eq!(store.list("").await.unwrap().len(), 4);
        assert_eq!(store.list("nope/").await.unwrap(), Vec::<String>::new());
        let d = store.list_dir("g").await.unwrap();
        assert_eq!(d.keys, ["g/zarr.json"]);
        assert_eq!(d.prefixes, ["g/a/"]);
        let d = store.list_dir("").await.unwrap();
        assert_eq!((d.keys.len(), d.prefixes.clone()), (0, vec!["g/".to_owned()]));
        store.delete("g/a/c/0/1").await.unwrap();
        store.delete("g/a/c/0/1").await.unwrap();
        assert_eq!(store.list("g/a/c/").await.unwrap(), ["g/a/c/0/0"]);
    });
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn writes_are_atomic() {
    let root = tempdir("atomic");
    let store = FsStore::new(&root);
    const LEN: usize = 1 << 20;
    let a = Bytes::from(vec![b'a'; LEN]);
    let b = Bytes::from(vec![b'b'; LEN]);
    block_on(store.set("k", a.clone())).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                block_on(store.set("k", if n % 2 == 0 { b.clone() } else { a.clone() })).unwrap();
                n += 1;
            }
            n
        })
    };
    let mut reads = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    while std::time::Instant::now() < deadline {
        let v = block_on(store.get("k", None)).unwrap().expect("the key always exists");
        assert_eq!(v.len(), LEN, "a reader saw a partial file");
        assert!(v.iter().all(|&c| c == v[0]), "a reader saw a mix of two writes");
        reads += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(reads > 10 && writes > 10, "{reads} reads, {writes} writes");
    // No temporary files are left behind or listed.
    assert_eq!(block_on(store.list("")).unwrap(), ["k"]);
    let names: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["k"]);
    std::fs::remove_dir_all(&root).unwrap();
}
