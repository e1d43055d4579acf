//! Progress reaches the total in both drivers, missing chunks included: over every
//! conformance fixture (sharded and sparse ones among them) and an array whose chunks
//! are half missing.

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
