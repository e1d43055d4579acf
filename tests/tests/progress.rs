//! Progress reaches the total in both drivers, missing chunks included: over every
//! conformance fixture (sharded and sparse ones among them), an array whose chunks
//! are half missing, and a sharded array with absent inner chunks and an absent shard,
//! read whole and in parts. A read that fails (a corrupt chunk, a store error) ends
//! with progress short of the total and no call after it returns.

use std::sync::{Arc, Mutex};

use zarr_proto::{Progress, ReadOptions};
use zarr_tests::manifest::Manifest;

/// Every `(done, total)` a callback was told.
type Calls = Arc<Mutex<Vec<(usize, usize)>>>;

/// A progress callback that records every call.
fn recorder() -> (Progress, Calls) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&calls);
    let progress: Progress = Arc::new(move |done, total| sink.lock().expect("not poisoned").push((done, total)));
    (progress, calls)
}

/// The calls end at the total, never go backwards, never repeat.
fn check(calls: &[(usize, usize)], what: &str) {
    let &(done, total) = calls.last().unwrap_or_else(|| panic!("{what}: no progress reported"));
    assert_eq!(done, total, "{what}: progress ended at {done} of {total}: {calls:?}");
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 == w[1].1), "{what}: {calls:?}");
}

#[test]
fn progress_reaches_the_total_in_both_drivers() {
    let manifest = Manifest::load().expect("manifest loads");
    let mut checked = 0;
    for fx in &manifest.arrays {
        let dir = fx.dir().to_string_lossy().into_owned();
        let (progress, calls) = recorder();
        let options = ReadOptions { progress: Some(progress), ..Default::default() };
        let array = zarr_blocking::Array::open(&dir).expect("open");
        array.read_with(&zarr_blocking::Selection::all(), &options).expect("blocking read");
        check(&calls.lock().expect("not poisoned"), &format!("{} (blocking)", fx.name));

        let (progress, calls) = recorder();
        let options = ReadOptions { progress: Some(progress), ..Default::default() };
        futures_lite::future::block_on(async {
            let array = zarr_smol::Array::open(&dir).await.expect("open");
            array.read_with(&zarr_smol::Selection::all(), &options).await.expect("async read");
        });
        check(&calls.lock().expect("not poisoned"), &format!("{} (async)", fx.name));
        checked += 1;
    }
    assert!(checked > 20, "only {checked} fixtures");
}

#[test]
fn missing_chunks_count_as_done() {
    let store = zarr_store::MemoryStore::new();
    store.insert(
        "zarr.json",
        r#"{"zarr_format":3,"node_type":"array","shape":[20],"data_type":"uint8",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":9,
        "codecs":[{"name":"bytes"}]}"#,
    );
    for c in (0..10).step_by(2) {
        store.insert(format!("c/{c}"), vec![c as u8; 2]);
    }
    let (progress, calls) = recorder();
    let options = ReadOptions { progress: Some(progress), ..Default::default() };
    let array = zarr_blocking::Array::open_in(store.clone(), "").expect("open");
    array.read_with(&zarr_blocking::Selection::all(), &options).expect("read");
    let calls = calls.lock().expect("not poisoned").clone();
    check(&calls, "half missing (blocking)");
    assert_eq!(calls.last(), Some(&(10, 10)));

    let (progress, calls) = recorder();
    let options = ReadOptions { progress: Some(progress), ..Default::default() };
    futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open_in(store, "").await.expect("open");
        array.read_with(&zarr_smol::Selection::all(), &options).await.expect("read");
    });
    assert_eq!(calls.lock().expect("not poisoned").last(), Some(&(10, 10)));
}

/// The values a read gave, and the progress calls of each driver.
type Both = (Vec<u8>, Vec<(usize, usize)>, Vec<(usize, usize)>);

/// Reads `selection` with both drivers, recording progress.
fn read_both(store: &zarr_store::MemoryStore, selection: &zarr_blocking::Selection) -> Both {
    let (progress, blocking_calls) = recorder();
    let options = ReadOptions { progress: Some(progress), ..Default::default() };
    let array = zarr_blocking::Array::open_in(store.clone(), "").expect("open");
    let values = array.read_with(selection, &options).expect("blocking read").to_vec::<u8>().expect("u8");

    let (progress, async_calls) = recorder();
    let options = ReadOptions { progress: Some(progress), ..Default::default() };
    let async_values = futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open_in(store.clone(), "").await.expect("open");
        array.read_with(selection, &options).await.expect("async read").to_vec::<u8>().expect("u8")
    });
    assert_eq!(values, async_values);
    let blocking_calls = blocking_calls.lock().expect("not poisoned").clone();
    let async_calls = async_calls.lock().expect("not poisoned").clone();
    (values, blocking_calls, async_calls)
}

/// A uint8 array of 24 elements in 3 shards of 8, each of 4 inner chunks of 2, fill 9,
/// element i = i where stored. Shard 0 holds inner chunks 0 and 2 only; shard 1 is
/// absent; shard 2 is whole.
fn sparse_sharded() -> zarr_store::MemoryStore {
    let store = zarr_store::MemoryStore::new();
    store.insert(
        "zarr.json",
        r#"{"zarr_format":3,"node_type":"array","shape":[24],"data_type":"uint8",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[8]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":9,
        "codecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2],
          "codecs":[{"name":"bytes"}],
          "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}}],
          "index_location":"end"}}]}"#,
    );
    // Inner chunks back to back, then the index: (offset, length) per inner chunk, u64::MAX for absent ones.
    let shard = |first: u8, present: &[bool]| {
        let mut data = Vec::new();
        let mut index = Vec::new();
        for (k, &here) in present.iter().enumerate() {
            let (offset, len) = if here {
                let offset = data.len() as u64;
                let start = first + 2 * k as u8;
                data.extend([start, start + 1]);
                (offset, 2)
            } else {
                (u64::MAX, u64::MAX)
            };
            index.extend(offset.to_le_bytes());
            index.extend(len.to_le_bytes());
        }
        data.extend(index);
        data
    };
    store.insert("c/0", shard(0, &[true, false, true, false]));
    store.insert("c/2", shard(16, &[true; 4]));
    store
}

#[test]
fn sparse_shards_count_absent_inner_chunks_and_shards_as_done() {
    let store = sparse_sharded();
    let fill = 9u8;
    let expected: Vec<u8> = (0..24u8).map(|i| if matches!(i, 0..=1 | 4..=5 | 16..=23) { i } else { fill }).collect();
    // Whole shards (one request each), shard indexes then ranges, and only absent inner chunks.
    let cases: [(zarr_blocking::Selection, std::ops::Range<usize>, usize); 4] = [
        (zarr_blocking::Selection::all(), 0..24, 12),
        (zarr_blocking::s![1..23], 1..23, 12),
        (zarr_blocking::s![2..4], 2..4, 1),
        (zarr_blocking::s![8..12], 8..12, 2),
    ];
    for (selection, range, units) in cases {
        let (values, blocking, smol) = read_both(&store, &selection);
        assert_eq!(values, expected[range], "{selection:?}");
        check(&blocking, &format!("{selection:?} (blocking)"));
        check(&smol, &format!("{selection:?} (async)"));
        assert_eq!(blocking.last(), Some(&(units, units)), "{selection:?}");
        assert_eq!(smol.last(), Some(&(units, units)), "{selection:?}");
    }
}

/// 20 chunks of 2 uint8 elements; chunk 10 holds 3 bytes, which the `bytes` codec refuses.
fn with_a_corrupt_chunk() -> zarr_store::MemoryStore {
    let store = zarr_store::MemoryStore::new();
    store.insert(
        "zarr.json",
        r#"{"zarr_format":3,"node_type":"array","shape":[40],"data_type":"uint8",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#,
    );
    for c in 0..20u8 {
        store.insert(format!("c/{c}"), if c == 10 { vec![c; 3] } else { vec![c; 2] });
    }
    store
}

/// The calls of a failed read: increasing, all for the same total, never reaching it.
fn check_failed(calls: &[(usize, usize)], total: usize, what: &str) {
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 == w[1].1), "{what}: {calls:?}");
    assert!(calls.iter().all(|&(done, t)| t == total && done < total), "{what}: {calls:?}");
}

#[test]
fn a_failing_read_ends_its_progress_without_reaching_the_total() {
    let store = with_a_corrupt_chunk();
    let (progress, calls) = recorder();
    let options = ReadOptions { progress: Some(progress), ..Default::default() };
    let array = zarr_blocking::Array::open_in(store.clone(), "").expect("open");
    let e = array.read_with(&zarr_blocking::Selection::all(), &options).unwrap_err();
    assert!(e.to_string().contains("c/10"), "{e}");
    // The read's threads have ended with it: what the callback was told is final.
    let seen = calls.lock().expect("not poisoned").clone();
    check_failed(&seen, 20, "corrupt chunk (blocking)");
    drop(array);
    assert_eq!(*calls.lock().expect("not poisoned"), seen);

    let (progress, calls) = recorder();
    let options = ReadOptions { progress: Some(progress), ..Default::default() };
    futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open_in(store.clone(), "").await.expect("open");
        let e = array.read_with(&zarr_smol::Selection::all(), &options).await.unwrap_err();
        assert!(e.to_string().contains("c/10"), "{e}");
    });
    let seen = calls.lock().expect("not poisoned").clone();
    check_failed(&seen, 20, "corrupt chunk (async)");
    // A later read on the same executor thread does not revive the failed one's callback.
    futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open_in(store.clone(), "").await.expect("open");
        array.read(&zarr_smol::s![0..20]).await.expect("the good half reads");
    });
    assert_eq!(*calls.lock().expect("not poisoned"), seen);
}

#[test]
#[cfg(unix)]
fn a_store_failure_ends_the_read_in_both_drivers() {
    // A chunk file that is a symbolic link to itself: opening it fails (too many links).
    let root = std::env::temp_dir().join(format!("zarr-progress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("c")).expect("mkdir");
    std::os::unix::fs::symlink(root.join("c/3"), root.join("c/3")).expect("symlink");
    std::fs::write(
        root.join("zarr.json"),
        r#"{"zarr_format":3,"node_type":"array","shape":[12],"data_type":"uint8",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#,
    )
    .expect("metadata");
    for c in [0, 1, 2, 4, 5] {
        std::fs::write(root.join(format!("c/{c}")), [c as u8; 2]).expect("chunk");
    }
    let path = root.to_string_lossy().into_owned();

    let (progress, calls) = recorder();
    let options = ReadOptions { progress: Some(progress), ..Default::default() };
    let array = zarr_blocking::Array::open(&path).expect("open");
    let e = array.read_with(&zarr_blocking::Selection::all(), &options).unwrap_err();
    assert!(matches!(e, zarr_blocking::Error::Store(_)), "{e:?}");
    check_failed(&calls.lock().expect("not poisoned"), 6, "store failure (blocking)");

    let (progress, calls) = recorder();
    let options = ReadOptions { progress: Some(progress), ..Default::default() };
    futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open(&path).await.expect("open");
        let e = array.read_with(&zarr_smol::Selection::all(), &options).await.unwrap_err();
        assert!(matches!(e, zarr_smol::Error::Store(_)), "{e:?}");
    });
    check_failed(&calls.lock().expect("not poisoned"), 6, "store failure (async)");
    let _ = std::fs::remove_dir_all(&root);
}
