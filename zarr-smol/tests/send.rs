//! The futures of zarr-smol are `Send`, so multi-threaded executors (tokio's
//! `spawn`, async-executor's `Executor::spawn`) can run them: checked at compile time
//! for every public async entry point, and once at run time on another thread.

use zarr_smol::{s, Array, Group, MemoryStore, NdArray, Node, ReadOptions, Selection, WriteOptions};

fn send<T: Send>(_: &T) {}

/// Never called: compiling it is the check.
#[allow(dead_code)]
fn every_future_is_send(
    array: &Array,
    group: &Group,
    sel: &Selection,
    options: &ReadOptions,
    source: NdArray,
    write_options: &WriteOptions,
) {
    send(&Array::open("x"));
    send(&Array::open_in(MemoryStore::new(), ""));
    send(&Array::open_with(std::sync::Arc::new(MemoryStore::new()), "", Default::default()));
    send(&Node::open("x"));
    send(&Node::open_in(MemoryStore::new(), ""));
    send(&Group::open("x"));
    send(&Group::open_in(MemoryStore::new(), ""));
    send(&group.children());
    send(&group.child("a"));
    send(&group.array("a"));
    send(&array.read(sel));
    send(&array.read_with(sel, options));
    send(&array.read_elements::<f32>(sel));
    let mut bytes = [0u8; 4];
    send(&array.read_into(sel, &mut bytes));
    send(&array.read_into_with(sel, &mut bytes, options));
    let mut elements = [0f32; 1];
    send(&array.read_into_elements(sel, &mut elements));
    send(&array.write(sel, source.clone()));
    send(&array.write_with(sel, source, write_options));
    send(&array.write_elements(sel, &[1f32, 2.0]));
}

#[test]
fn a_read_runs_on_another_thread() {
    let store = MemoryStore::new();
    store.insert(
        "zarr.json",
        r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint8",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":9,"codecs":[{"name":"bytes"}]}"#,
    );
    store.insert("c/0", vec![1u8, 2]);
    let array = futures_lite::future::block_on(Array::open_in(store, "")).expect("open");
    // The future is made here and polled on another thread.
    let read = async move { array.read_elements::<u8>(&s![..]).await };
    let got = std::thread::spawn(move || futures_lite::future::block_on(read)).join().expect("thread");
    assert_eq!(got.expect("read"), [1, 2, 9, 9]);
}
