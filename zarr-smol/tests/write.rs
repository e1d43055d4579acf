#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Writes through the async driver, read back and compared with a model array.
//!
//! Every store the project has (memory, a temp directory, the HTTP test server in
//! writable mode on 127.0.0.1), v2 and v3, plain, compressed and sharded; whole,
//! strided and orthogonal-list selections; chunks left all fill value deleted;
//! concurrent writers of disjoint halves of the same chunks losing nothing.

use std::sync::{Arc, Mutex};

use futures_lite::future::block_on;
use zarr_smol::store::server::{Server, ServerConfig};
use zarr_smol::store::{ListDir, StoreResult, Versioned, WriteResult};
use zarr_smol::{Array, ArrayBuilder, Compression, DataType, DimSelector, MemoryStore, Selection};
use zarr_smol::{BoxFuture, Error};
use zarr_smol::{Bytes, FsStore, HttpStore, Store, WriteOptions, ZarrFormat};

const SHAPE: [u64; 2] = [10, 13];

/// One dimension of a test selection: a strided slice or a list of indices.
#[derive(Clone)]
enum D {
    Slice(u64, u64, u64),
    List(Vec<u64>),
}

impl D {
    fn indices(&self) -> Vec<u64> {
        match self {
            D::Slice(start, stop, step) => (*start..*stop).step_by(*step as usize).collect(),
            D::List(v) => v.clone(),
        }
    }

    fn selector(&self) -> DimSelector {
        match self {
            D::Slice(start, stop, step) => {
                DimSelector::Slice { start: Some(*start as i64), stop: Some(*stop as i64), step: *step as i64 }
            }
            D::List(v) => DimSelector::Array(v.iter().map(|&i| i as i64).collect()),
        }
    }
}

/// The dense model of a 2-D array, C order.
struct Model(Vec<u16>);

impl Model {
    fn new() -> Model {
        Model(vec![0; (SHAPE[0] * SHAPE[1]) as usize])
    }

    /// Writes `values` (C order over the selection) to the model, and returns the selection.
    fn write(&mut self, dims: &[D; 2], values: &[u16]) -> Selection {
        let (rows, cols) = (dims[0].indices(), dims[1].indices());
        assert_eq!(rows.len() * cols.len(), values.len());
        let mut k = 0;
        for &r in &rows {
            for &c in &cols {
                self.0[(r * SHAPE[1] + c) as usize] = values[k];
                k += 1;
            }
        }
        Selection::from([dims[0].selector(), dims[1].selector()])
    }
}

fn values(n: usize, seed: u16) -> Vec<u16> {
    (0..n).map(|k| (k as u16).wrapping_mul(7).wrapping_add(seed) % 1000 + 1).collect()
}

/// The arrays every store is tried with: (what, metadata builder, format).
fn layouts() -> Vec<(&'static str, ArrayBuilder, ZarrFormat)> {
    let base = || ArrayBuilder::new(SHAPE.to_vec(), DataType::UInt16, vec![3, 4]);
    vec![
        ("v3 plain", base(), ZarrFormat::V3),
        ("v3 zstd", base().compression(Compression::Zstd { level: 0 }), ZarrFormat::V3),
        ("v3 sharded gzip", base().shards(vec![6, 8]).compression(Compression::Gzip { level: 1 }), ZarrFormat::V3),
        ("v2 blosc", base().compression(Compression::BloscLz4), ZarrFormat::V2),
        ("v2 plain", base(), ZarrFormat::V2),
    ]
}

/// Writes a sequence of selections to a fresh array at `path` and checks every
/// element after each one.
async fn write_sequence(store: Arc<dyn Store>, path: &str, builder: &ArrayBuilder, format: ZarrFormat, what: &str) {
    let meta = builder.build(format).unwrap();
    let array = Array::create(store, path, meta).await.unwrap();
    let mut model = Model::new();
    let steps: Vec<[D; 2]> = vec![
        [D::Slice(0, 10, 1), D::Slice(0, 13, 1)],                // everything: no reads
        [D::Slice(1, 9, 3), D::Slice(2, 13, 2)],                 // strided: partial chunks
        [D::List(vec![7, 0, 4]), D::List(vec![12, 5, 6, 1])],    // orthogonal lists, unsorted
        [D::Slice(3, 6, 1), D::Slice(4, 8, 1)],                  // exactly one chunk
        [D::List(vec![9]), D::Slice(0, 13, 5)],                  // the edge chunks
        [D::Slice(0, 10, 2), D::List(vec![0, 3, 4, 8, 11, 12])], // mixed
    ];
    for (i, dims) in steps.iter().enumerate() {
        let n = dims[0].indices().len() * dims[1].indices().len();
        let v = values(n, i as u16 * 13);
        let selection = model.write(dims, &v);
        array.write_elements(&selection, &v).await.unwrap_or_else(|e| panic!("{what}: step {i}: {e}"));
        let got = array.read_elements::<u16>(&Selection::all()).await.unwrap();
        assert!(got == model.0, "{what}: step {i}: read back differs from the model");
    }
    // The same through `write` and an NdArray, and a read of the part written.
    let dims = [D::List(vec![2, 8]), D::Slice(1, 12, 4)];
    let v = values(6, 99);
    let selection = model.write(&dims, &v);
    let source = array.read(&selection).await.unwrap();
    let source = zarr_smol::NdArray {
        data: zarr_smol::proto::ArrayBytes::Fixed(v.iter().flat_map(|x| x.to_ne_bytes()).collect()),
        ..source
    };
    array.write(&selection, source).await.unwrap();
    assert_eq!(array.read_elements::<u16>(&selection).await.unwrap(), v, "{what}");
    assert!(array.read_elements::<u16>(&Selection::all()).await.unwrap() == model.0, "{what}");
}

/// Every layout, each at its own path of `store`.
async fn every_layout(store: Arc<dyn Store>) {
    for (i, (what, builder, format)) in layouts().into_iter().enumerate() {
        write_sequence(store.clone(), &format!("a{i}"), &builder, format, what).await;
    }
}

#[test]
fn memory_store() {
    block_on(every_layout(Arc::new(MemoryStore::new())));
}

#[test]
fn fs_store() {
    let dir = tempfile::tempdir().unwrap();
    block_on(every_layout(Arc::new(FsStore::new(dir.path()))));
}

#[test]
fn http_store() {
    let server = Server::start(ServerConfig::memory(MemoryStore::new()).writable(true)).unwrap();
    block_on(every_layout(Arc::new(HttpStore::new(&server.url()).unwrap())));
    server.stop();
}

/// Chunk keys under `prefix` in a store that lists.
async fn keys(store: &dyn Store, prefix: &str) -> Vec<String> {
    let mut keys = store.list(prefix).await.unwrap();
    keys.retain(|k| !k.ends_with("zarr.json") && !k.ends_with(".zarray") && !k.ends_with(".zattrs"));
    keys
}

#[test]
fn chunks_left_all_fill_value_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(FsStore::new(dir.path()));
    block_on(async {
        for (i, (what, builder, format)) in layouts().into_iter().enumerate() {
            let path = format!("e{i}");
            let array = Array::create(store.clone(), &path, builder.build(format).unwrap()).await.unwrap();
            let n = (SHAPE[0] * SHAPE[1]) as usize;
            array.write_elements(&Selection::all(), &values(n, 1)).await.unwrap();
            let all = keys(store.as_ref(), &path).await;
            assert!(!all.is_empty(), "{what}");
            // Zero out rows 0..6 (a whole row of chunks, a whole row of shards): a partial
            // write that leaves those objects all fill value.
            let zeros = vec![0u16; 6 * SHAPE[1] as usize];
            let rows = Selection::from([DimSelector::from(0..6), DimSelector::ALL]);
            array.write_elements(&rows, &zeros).await.unwrap();
            let left = keys(store.as_ref(), &path).await;
            assert!(left.len() < all.len(), "{what}: {left:?}");
            let mut model = values(n, 1);
            model[..zeros.len()].fill(0);
            assert!(array.read_elements::<u16>(&Selection::all()).await.unwrap() == model, "{what}");
            // All fill value, by a strided write of the remaining elements: no chunk left.
            let rest = Selection::from([DimSelector::from(6..), DimSelector::ALL]);
            array.write_elements(&rest, &vec![0u16; n - zeros.len()]).await.unwrap();
            assert_eq!(keys(store.as_ref(), &path).await, Vec::<String>::new(), "{what}");
            // And the files are gone from the directory.
            for key in &all {
                assert!(!dir.path().join(key).exists(), "{what}: {key}");
            }
        }
    });
}

/// Two writers on their own threads, each with its own store handle, add 1 to their
/// own half (even or odd columns) of every chunk, `ROUNDS` times: each round is a
/// read-modify-write of chunks the other writer changes too. A lost update would roll
/// a counter back for good.
fn concurrent_writers(open: impl Fn() -> Arc<dyn Store> + Send + Sync + 'static, builder: ArrayBuilder) {
    const ROUNDS: u16 = 25;
    let meta = builder.build(ZarrFormat::V3).unwrap();
    block_on(Array::create(open(), "counters", meta)).unwrap();
    let open = Arc::new(open);
    let writers: Vec<_> = (0..2i64)
        .map(|parity| {
            let open = open.clone();
            std::thread::spawn(move || {
                block_on(async move {
                    let array = Array::open_with(open(), "counters", Default::default()).await?;
                    let cols = DimSelector::Slice { start: Some(parity), stop: None, step: 2 };
                    let half = Selection::from([DimSelector::ALL, cols]);
                    let patient = WriteOptions { max_conflict_retries: 1000, ..WriteOptions::default() };
                    for _ in 0..ROUNDS {
                        let mut mine = array.read_elements::<u16>(&half).await?;
                        mine.iter_mut().for_each(|v| *v += 1);
                        // Two writers: a chunk rarely conflicts twice in a row, but the
                        // test must not depend on the default's 8 retries being enough.
                        let data =
                            zarr_smol::proto::ArrayBytes::Fixed(mine.iter().flat_map(|x| x.to_ne_bytes()).collect());
                        let source = zarr_smol::NdArray { dtype: DataType::UInt16, shape: vec![6, 4], data };
                        array.write_with(&half, source, &patient).await?;
                    }
                    Ok::<(), Error>(())
                })
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer thread").expect("writer");
    }
    let array = block_on(Array::open_with(open(), "counters", Default::default())).unwrap();
    let all = block_on(array.read_elements::<u16>(&Selection::all())).unwrap();
    assert!(all.iter().all(|&v| v == ROUNDS), "lost updates: {all:?}");
}

#[test]
fn concurrent_writers_on_files_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let open = move || -> Arc<dyn Store> { Arc::new(FsStore::new(&root)) };
    concurrent_writers(open.clone(), ArrayBuilder::new(vec![6, 8], DataType::UInt16, vec![3, 4]));
    let _ = std::fs::remove_dir_all(dir.path().join("counters"));
    let sharded = ArrayBuilder::new(vec![6, 8], DataType::UInt16, vec![3, 4]).shards(vec![6, 8]);
    concurrent_writers(open, sharded.compression(Compression::Zstd { level: 0 }));
}

#[test]
fn concurrent_writers_over_http_lose_nothing() {
    let server = Server::start(ServerConfig::memory(MemoryStore::new()).writable(true)).unwrap();
    let url = server.url();
    let open = move || -> Arc<dyn Store> { Arc::new(HttpStore::new(&url).unwrap()) };
    concurrent_writers(open, ArrayBuilder::new(vec![6, 8], DataType::UInt16, vec![3, 4]));
    server.stop();
}

/// A memory store in which another writer changes one chunk right after the driver
/// read it (once): the interleaving a lost update needs, made deterministic.
#[derive(Debug, Clone)]
struct Interloper {
    inner: MemoryStore,
    /// The key, and the bytes the other writer puts there after the next read of it.
    pending: Arc<Mutex<Option<(String, Bytes)>>>,
}

impl Store for Interloper {
    fn get(
        &self,
        key: &str,
        range: Option<zarr_smol::proto::ByteRange>,
    ) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        self.inner.get(key, range)
    }
    fn get_versioned(
        &self,
        key: &str,
        range: Option<zarr_smol::proto::ByteRange>,
    ) -> BoxFuture<'static, StoreResult<Option<Versioned>>> {
        let read = self.inner.get_versioned(key, range);
        let (inner, pending, key) = (self.inner.clone(), self.pending.clone(), key.to_string());
        Box::pin(async move {
            let got = read.await?;
            let sneak = {
                let mut pending = pending.lock().unwrap();
                if pending.as_ref().is_some_and(|(k, _)| *k == key) {
                    pending.take()
                } else {
                    None
                }
            };
            if let Some((key, bytes)) = sneak {
                inner.set(&key, bytes).await?;
            }
            Ok(got)
        })
    }
    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        self.inner.delete(key)
    }
    fn put(
        &self,
        key: &str,
        value: Bytes,
        condition: zarr_smol::store::Condition,
    ) -> BoxFuture<'static, StoreResult<WriteResult>> {
        self.inner.put(key, value, condition)
    }
    fn delete_if(
        &self,
        key: &str,
        condition: zarr_smol::store::Condition,
    ) -> BoxFuture<'static, StoreResult<WriteResult>> {
        self.inner.delete_if(key, condition)
    }
    fn supports_conditional_writes(&self) -> bool {
        true
    }
    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        self.inner.list(prefix)
    }
    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        self.inner.list_dir(prefix)
    }
    fn kind(&self) -> zarr_smol::proto::StoreKind {
        self.inner.kind()
    }
}

#[test]
fn an_interleaved_writer_is_lost_only_without_conditions() {
    for conditional in [true, false] {
        block_on(async {
            let store = Interloper { inner: MemoryStore::new(), pending: Arc::default() };
            let meta = ArrayBuilder::new(vec![4], DataType::UInt8, vec![4]).build(ZarrFormat::V3).unwrap();
            let array = Array::create(Arc::new(store.clone()), "", meta).await.unwrap();
            array.write_elements(&Selection::all(), &[1u8, 1, 1, 1]).await.unwrap();
            // Between our read of c/0 and our put, another writer sets element 0 to 9.
            *store.pending.lock().unwrap() = Some(("c/0".into(), Bytes::from_static(&[9, 1, 1, 1])));
            let options = WriteOptions { conditional, ..WriteOptions::default() };
            let last = Selection::from([DimSelector::from(3..4)]);
            let source = array.read(&last).await.unwrap();
            let source = zarr_smol::NdArray { data: zarr_smol::proto::ArrayBytes::Fixed(vec![5]), ..source };
            array.write_with(&last, source, &options).await.unwrap();
            assert!(store.pending.lock().unwrap().is_none(), "the other writer wrote");
            let got = array.read_elements::<u8>(&Selection::all()).await.unwrap();
            if conditional {
                assert_eq!(got, [9, 1, 1, 5], "the conflict was detected, the chunk read and merged again");
            } else {
                assert_eq!(got, [1, 1, 1, 5], "without conditions the other writer's update is lost");
            }
        });
    }
}

#[test]
fn errors_name_the_key_and_stop_the_write() {
    block_on(async {
        let store = MemoryStore::new();
        let meta = ArrayBuilder::new(vec![8], DataType::UInt8, vec![4]).build(ZarrFormat::V3).unwrap();
        let array = Array::create(Arc::new(store.clone()), "a", meta).await.unwrap();
        // A corrupt chunk (3 bytes, not 4): a partial write must read and decode it.
        store.insert("a/c/1", vec![1u8, 2, 3]);
        let err = array.write_elements(&Selection::from([DimSelector::from(4..6)]), &[7u8, 7]).await.unwrap_err();
        assert!(err.to_string().contains("a/c/1"), "{err}");
        // A source of the wrong size.
        let err = array.write_elements(&Selection::all(), &[1u8; 3]).await.unwrap_err();
        assert!(matches!(err, Error::Proto(_)), "{err}");
        // A wrong element type.
        assert!(array.write_elements(&Selection::all(), &[1u16; 8]).await.is_err());
    });
}

/// A memory store without versions or conditions (the trait's defaults) that counts
/// the requests in flight.
#[derive(Debug, Clone, Default)]
struct Plain {
    inner: MemoryStore,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    peak: Arc<std::sync::atomic::AtomicUsize>,
}

impl Plain {
    fn counted<T: Send + 'static>(&self, fut: BoxFuture<'static, T>) -> BoxFuture<'static, T> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        let in_flight = self.in_flight.clone();
        Box::pin(async move {
            let out = fut.await;
            in_flight.fetch_sub(1, SeqCst);
            out
        })
    }
}

impl Store for Plain {
    fn get(
        &self,
        key: &str,
        range: Option<zarr_smol::proto::ByteRange>,
    ) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        self.counted(self.inner.get(key, range))
    }
    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        self.counted(self.inner.set(key, value))
    }
    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        self.counted(self.inner.delete(key))
    }
    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        self.inner.list(prefix)
    }
    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        self.inner.list_dir(prefix)
    }
    fn kind(&self) -> zarr_smol::proto::StoreKind {
        self.inner.kind()
    }
}

#[test]
fn a_store_without_conditions_writes_unconditionally_within_the_request_budget() {
    block_on(async {
        let store = Plain::default();
        assert!(!store.supports_conditional_writes());
        let meta = ArrayBuilder::new(vec![64], DataType::UInt8, vec![2]).build(ZarrFormat::V3).unwrap();
        let array = Array::create(Arc::new(store.clone()), "", meta).await.unwrap();
        let all: Vec<u8> = (1..=64).collect();
        array.write_elements(&Selection::all(), &all).await.unwrap();
        // Every other element: 32 read-modify-writes, which would need conditions by default.
        let odd = Selection::from([DimSelector::Slice { start: Some(1), stop: None, step: 2 }]);
        array.write_elements(&odd, &[0u8; 32]).await.unwrap();
        let expected: Vec<u8> = all.iter().enumerate().map(|(i, &v)| if i % 2 == 1 { 0 } else { v }).collect();
        assert_eq!(array.read_elements::<u8>(&Selection::all()).await.unwrap(), expected);
        let peak = store.peak.load(std::sync::atomic::Ordering::SeqCst);
        assert!((2..=zarr_smol::proto::MEMORY_REQUESTS).contains(&peak), "{peak} requests in flight");
        // The caller's concurrency: one request at a time, one encode thread.
        let options = WriteOptions { concurrency: Some(1), encode_threads: Some(1), ..WriteOptions::default() };
        let source = array.read(&odd).await.unwrap();
        let source = zarr_smol::NdArray { data: zarr_smol::proto::ArrayBytes::Fixed(vec![3; 32]), ..source };
        store.peak.store(0, std::sync::atomic::Ordering::SeqCst);
        array.write_with(&odd, source, &options).await.unwrap();
        assert_eq!(store.peak.load(std::sync::atomic::Ordering::SeqCst), 1);
        let expected: Vec<u8> = all.iter().enumerate().map(|(i, &v)| if i % 2 == 1 { 3 } else { v }).collect();
        assert_eq!(array.read_elements::<u8>(&Selection::all()).await.unwrap(), expected);
    });
}

/// A partial update of a 1000-inner-chunk shard over HTTP: the server sees a ranged
/// read of the index, then ranged reads of only the inner chunks the new shard needs
/// (none of those the write covers wholly), then one conditional put.
#[test]
fn a_partial_shard_update_reads_the_index_and_only_the_inner_chunks_it_needs() {
    const INNER: u64 = 64;
    const N: u64 = 1000 * INNER;
    // 1000 (offset, nbytes) u64 pairs and a crc32c.
    const INDEX: u64 = 1000 * 16 + 4;
    let server = Server::start(ServerConfig::memory(MemoryStore::new()).writable(true)).unwrap();
    block_on(async {
        let store: Arc<dyn Store> = Arc::new(HttpStore::new(&server.url()).unwrap());
        let builder = ArrayBuilder::new(vec![N], DataType::UInt16, vec![INNER]).shards(vec![N]);
        let array = Array::create(store.clone(), "a", builder.build(ZarrFormat::V3).unwrap()).await.unwrap();
        let mut model: Vec<u16> = values(N as usize, 1);
        array.write_elements(&Selection::all(), &model).await.unwrap();
        let shard_len = store.get("a/c/0", None).await.unwrap().unwrap().len() as u64;
        assert_eq!(shard_len, N * 2 + INDEX);
        let slice = |a: u64, b: u64| {
            Selection::from([DimSelector::Slice { start: Some(a as i64), stop: Some(b as i64), step: 1 }])
        };

        // All but the last element: 999 inner chunks wholly, the last one partly.
        server.reset_counters();
        let v = values(N as usize - 1, 7);
        array.write_elements(&slice(0, N - 1), &v).await.unwrap();
        model[..v.len()].copy_from_slice(&v);
        let c = server.counters();
        assert_eq!(c.requests, 3, "index, one inner chunk, the put: {c:?}");
        assert_eq!(c.body_bytes, INDEX + INNER * 2, "the index and one inner chunk, not the {shard_len} byte shard");

        // One element: the other 999 inner chunks are copied, so they are read (coalesced).
        server.reset_counters();
        array.write_elements(&slice(5, 6), &[4242u16]).await.unwrap();
        model[5] = 4242;
        let c = server.counters();
        assert_eq!(c.body_bytes, shard_len, "a shard whose every inner chunk is kept is read whole");
        assert!(c.requests <= 4, "index, coalesced ranges, put: {c:?}");
        assert_eq!(array.read_elements::<u16>(&Selection::all()).await.unwrap(), model);

        // A sparse shard: only inner chunk 7 is stored.
        let sparse = Array::create(store.clone(), "b", builder.build(ZarrFormat::V3).unwrap()).await.unwrap();
        let chunk7 = slice(7 * INNER, 8 * INNER);
        sparse.write_elements(&chunk7, &values(INNER as usize, 3)).await.unwrap();
        // Rewriting inner chunk 7 wholly reads the index and no inner chunk.
        server.reset_counters();
        let v = values(INNER as usize, 5);
        sparse.write_elements(&chunk7, &v).await.unwrap();
        let c = server.counters();
        assert_eq!((c.requests, c.body_bytes), (2, INDEX), "index and put only: {c:?}");
        // One element of inner chunk 500: the index and inner chunk 7 (kept), nothing else.
        server.reset_counters();
        sparse.write_elements(&slice(500 * INNER, 500 * INNER + 1), &[9u16]).await.unwrap();
        let c = server.counters();
        assert_eq!((c.requests, c.body_bytes), (3, INDEX + INNER * 2), "index, inner chunk 7, put: {c:?}");
        let got = sparse.read_elements::<u16>(&Selection::all()).await.unwrap();
        let mut want = vec![0u16; N as usize];
        want[(7 * INNER) as usize..(8 * INNER) as usize].copy_from_slice(&v);
        want[(500 * INNER) as usize] = 9;
        assert!(got == want);
        // Back to the fill value: inner chunk 500 is left out, then the shard is deleted.
        sparse.write_elements(&slice(500 * INNER, 500 * INNER + 1), &[0u16]).await.unwrap();
        sparse.write_elements(&chunk7, &vec![0u16; INNER as usize]).await.unwrap();
        assert!(store.get("b/c/0", None).await.unwrap().is_none(), "an empty shard is deleted");
    });
    server.stop();
}
