//! A read of a sharded array from local files holds at most the flow's budget of
//! encoded bytes at any moment: shards come in pieces, and a piece counts as held
//! until the last inner chunk cut from it is decoded.
//!
//! Counted, not estimated: the store hands out every response as a [`Bytes`] whose
//! owner counts itself alive until the last slice of it is dropped, so the count is
//! what the read really keeps, wherever the slices went (queued, on a decode thread).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use zarr_blocking::proto::{ArrayBytes, ByteRange, Compression, FlowControl, StoreKind};
use zarr_blocking::store::{BoxFuture, StoreResult};
use zarr_blocking::{Array, ArrayBuilder, Bytes, CodecRegistry, DataType, Limits, ListDir, MemoryStore, NdArray};
use zarr_blocking::{Selection, Store};

/// Elements (bytes) of the array: 4 shards of 6 MiB, three times the local budget.
const LEN: u64 = 24 << 20;
const SHARD: u64 = 6 << 20;
const INNER: u64 = 64 << 10;

/// Response bytes alive now and at most, shared by a store and its responses.
#[derive(Debug, Default)]
struct Alive {
    now: AtomicU64,
    most: AtomicU64,
}

/// The owner of one response's bytes: counted alive from creation to drop.
struct Counted {
    bytes: Vec<u8>,
    alive: Arc<Alive>,
}

impl AsRef<[u8]> for Counted {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.alive.now.fetch_sub(self.bytes.len() as u64, Ordering::SeqCst);
    }
}

/// A memory store that says it is local files, copies every answer into a counted
/// allocation and logs the ranges asked for.
#[derive(Debug)]
struct CountingLocal {
    inner: MemoryStore,
    alive: Arc<Alive>,
    ranges: Mutex<Vec<Option<ByteRange>>>,
}

impl CountingLocal {
    fn counted(&self, value: Option<Bytes>) -> Option<Bytes> {
        let bytes = value?.to_vec();
        let now = self.alive.now.fetch_add(bytes.len() as u64, Ordering::SeqCst) + bytes.len() as u64;
        self.alive.most.fetch_max(now, Ordering::SeqCst);
        Some(Bytes::from_owner(Counted { bytes, alive: self.alive.clone() }))
    }
}

impl Store for CountingLocal {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        let value = self.get_blocking(key, range);
        Box::pin(async move { value })
    }
    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        self.inner.delete(key)
    }
    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        self.inner.list(prefix)
    }
    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        self.inner.list_dir(prefix)
    }
    fn kind(&self) -> StoreKind {
        StoreKind::Local
    }
    fn get_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
        if key.starts_with("c/") {
            self.ranges.lock().expect("log").push(range);
        }
        Ok(self.counted(self.inner.get_blocking(key, range)?))
    }
}

fn value(i: u64) -> u8 {
    (i.wrapping_mul(0x9E37_79B9) >> 11) as u8
}

#[test]
fn a_sharded_local_read_holds_at_most_the_budget() {
    let inner = MemoryStore::new();
    let mut builder = ArrayBuilder::new(vec![LEN], DataType::UInt8, vec![INNER]);
    builder.shard_shape = Some(vec![SHARD]);
    builder.compression = Compression::None;
    let meta = builder.build_v3(&CodecRegistry::default(), &Limits::default()).expect("metadata");
    let data: Vec<u8> = (0..LEN).map(value).collect();
    Array::create(Arc::new(inner.clone()), "", meta)
        .expect("create")
        .write(
            &Selection::all(),
            NdArray { dtype: DataType::UInt8, shape: vec![LEN], data: ArrayBytes::Fixed(data.clone()) },
        )
        .expect("write");

    let store = Arc::new(CountingLocal { inner, alive: Arc::default(), ranges: Mutex::default() });
    let read =
        Array::open_with(store.clone(), "", Default::default()).expect("open").read(&Selection::all()).expect("read");
    assert!(read.data == ArrayBytes::Fixed(data), "the read differs from what was written");

    let budget = FlowControl::for_store(StoreKind::Local).buffer_bytes;
    let piece = FlowControl::for_store(StoreKind::Local).shard_piece_bytes.expect("local shards come in pieces");
    let most = store.alive.most.load(Ordering::SeqCst);
    println!("held at most {most} bytes, budget {budget}");
    assert!(most <= budget, "the read held {most} bytes at once, more than the budget of {budget}");
    assert!(most >= piece, "a piece is held until decoded, yet at most {most} bytes were");
    let ranges = store.ranges.lock().expect("log");
    let whole = ranges.iter().filter(|r| r.is_none()).count();
    assert_eq!(whole, 0, "no shard is fetched whole: {ranges:?}");
    let longest = ranges
        .iter()
        .flatten()
        .map(|r| match *r {
            ByteRange::FromStart { length: Some(n), .. } | ByteRange::Suffix(n) => n,
            other => panic!("an open range {other:?}"),
        })
        .max()
        .expect("ranges");
    assert!(longest <= piece, "a piece of {longest} bytes, more than {piece}");
}
