//! What a write asks of the store, chunk by chunk.
#![allow(clippy::unwrap_used)]

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use serde_json::json;

use super::*;
use crate::metadata::chunk_grid::DimChunks;
use crate::metadata::{ArrayBuilder, ChunkGrid};
use crate::ndarray::ArrayBytes;
use crate::read::ReadOp;
use crate::selection::DimSelector;
use crate::CodecRegistry;

fn meta_1d(shape: u64, chunk: u64, fill: u8) -> ArrayMetadata {
    let mut b = ArrayBuilder::new(vec![shape], DataType::UInt8, vec![chunk]);
    b.fill_value = Some(FillValue(vec![fill]));
    b.build_v3(&CodecRegistry::default(), &Limits::default()).unwrap()
}

fn u8s(v: &[u8]) -> NdArray {
    NdArray { dtype: DataType::UInt8, shape: vec![v.len() as u64], data: ArrayBytes::Fixed(v.to_vec()) }
}

fn slice(start: i64, stop: i64) -> Selection {
    Selection::Orthogonal(vec![DimSelector::Slice { start: Some(start), stop: Some(stop), step: 1 }])
}

/// A store of `(bytes, generation)`; answers everything at once.
#[derive(Default)]
struct Store {
    objects: BTreeMap<String, (Vec<u8>, u64)>,
    clock: u64,
    log: Vec<String>,
}

impl Store {
    fn drive(&mut self, mut op: WriteOp) -> WriteStats {
        loop {
            while let Some(r) = op.poll_request() {
                match r.range {
                    Some(range) => self.log.push(alloc::format!("get {} {range}", r.key)),
                    None => self.log.push(alloc::format!("get {}", r.key)),
                }
                let (resp, version) = match self.objects.get(&r.key) {
                    Some((b, g)) => {
                        let b = r.range.map_or(b.as_slice(), |range| range.slice(b).unwrap());
                        (Response::Bytes(b.to_vec().into()), Some(Version::new(g.to_string())))
                    }
                    None => (Response::Missing, None),
                };
                op.handle_response_versioned(r.id, resp, version).unwrap();
            }
            while let Some(job) = op.poll_encode() {
                op.handle_encoded(job.run()).unwrap();
            }
            while let Some(w) = op.poll_write() {
                let current = self.objects.get(&w.key).map(|(_, g)| Version::new(g.to_string()));
                let holds = match &w.condition {
                    Condition::Always => true,
                    Condition::Absent => current.is_none(),
                    Condition::Matches(v) => current.as_ref() == Some(v),
                };
                assert!(holds, "{w:?}");
                self.clock += 1;
                match w.action {
                    WriteAction::Put(b) => {
                        self.log.push(alloc::format!("put {} {:?}", w.key, w.condition));
                        self.objects.insert(w.key, (b.to_vec(), self.clock));
                    }
                    WriteAction::Delete => {
                        self.log.push(alloc::format!("delete {} {:?}", w.key, w.condition));
                        self.objects.remove(&w.key);
                    }
                }
                op.handle_write(w.id, WriteOutcome::Done).unwrap();
            }
            if op.is_done() {
                return op.finish().unwrap();
            }
        }
    }

    fn read(&self, meta: &ArrayMetadata) -> NdArray {
        let mut op = ReadOp::new(meta, &Selection::all(), Limits::default()).unwrap();
        while !op.is_done() {
            while let Some(r) = op.poll_request() {
                let resp = match self.objects.get(&r.key) {
                    Some((b, _)) => Response::Bytes(r.range.map_or(b.clone(), |g| g.slice(b).unwrap().to_vec()).into()),
                    None => Response::Missing,
                };
                op.handle_response(r.id, resp).unwrap();
            }
            while let Some(job) = op.poll_decode() {
                op.handle_decoded(job.run()).unwrap();
            }
        }
        op.finish().unwrap()
    }
}

#[test]
fn covered_chunks_are_put_without_a_read() {
    let meta = meta_1d(10, 4, 0);
    let mut op =
        WriteOp::new(&meta, "", &slice(2, 10), u8s(&[1, 2, 3, 4, 5, 6, 7, 8]), WriteOptions::default()).unwrap();
    // Chunk 0 is partly covered; chunks 1 and 2 (an edge chunk of two elements) wholly.
    assert_eq!(op.peek_request().map(|r| r.key.as_str()), Some("c/0"));
    assert_eq!(op.poll_request().map(|r| r.id), Some(RequestId(0)));
    assert!(op.poll_request().is_none());
    let keys: Vec<String> = core::iter::from_fn(|| op.poll_encode()).map(|j| j.key().to_string()).collect();
    assert_eq!(keys, ["c/1", "c/2"]);
    assert_eq!(op.progress(), (0, 3));

    let mut store = Store::default();
    let op = WriteOp::new(&meta, "", &slice(2, 10), u8s(&[1, 2, 3, 4, 5, 6, 7, 8]), WriteOptions::default()).unwrap();
    let stats = store.drive(op);
    assert_eq!(store.log, ["get c/0", "put c/1 Always", "put c/2 Always", "put c/0 Absent"]);
    assert_eq!((stats.reads, stats.puts, stats.deletes), (1, 3, 0));
    assert_eq!(store.read(&meta).to_vec::<u8>().unwrap(), [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // A second partial write is conditional on the version read.
    store.log.clear();
    let one = NdArray { dtype: DataType::UInt8, shape: vec![], data: ArrayBytes::Fixed(vec![9]) };
    store.drive(WriteOp::new_scalar(&meta, "", &slice(0, 1), one, WriteOptions::default()).unwrap());
    assert_eq!(store.log, ["get c/0", "put c/0 Matches(Version(\"3\"))"]);
}

#[test]
fn chunks_of_fill_value_are_deleted_or_never_written() {
    let meta = meta_1d(8, 4, 7);
    let mut store = Store::default();
    store.drive(WriteOp::new(&meta, "", &Selection::all(), u8s(&[1; 8]), WriteOptions::default()).unwrap());
    assert_eq!(store.objects.len(), 2);
    // Back to the fill value: chunk 0 wholly (deleted unconditionally), chunk 1 partly
    // (read, then deleted if unchanged since).
    store.log.clear();
    let stats = store.drive(WriteOp::new(&meta, "", &slice(0, 6), u8s(&[7; 6]), WriteOptions::default()).unwrap());
    assert_eq!(store.log, ["get c/1", "delete c/0 Always", "put c/1 Matches(Version(\"2\"))"]);
    assert_eq!(stats.deletes, 1);
    store.log.clear();
    store.drive(WriteOp::new(&meta, "", &slice(6, 8), u8s(&[7; 2]), WriteOptions::default()).unwrap());
    assert_eq!(store.log, ["get c/1", "delete c/1 Matches(Version(\"4\"))"]);
    assert!(store.objects.is_empty());
    // A partial write of the fill value into a missing chunk writes nothing.
    store.log.clear();
    let stats = store.drive(WriteOp::new(&meta, "", &slice(1, 2), u8s(&[7]), WriteOptions::default()).unwrap());
    assert_eq!(store.log, ["get c/0"]);
    assert_eq!(stats.unchanged, 1);
    // Unless empty chunks are wanted.
    let options = WriteOptions { write_empty_chunks: true, ..Default::default() };
    store.drive(WriteOp::new(&meta, "", &Selection::all(), u8s(&[7; 8]), options).unwrap());
    assert_eq!(store.objects.len(), 2);
}

fn sharded_meta() -> ArrayMetadata {
    let mut b = ArrayBuilder::new(vec![8, 8], DataType::Int16, vec![4, 4]);
    b.codecs = vec![json!({"name": "sharding_indexed", "configuration": {
        "chunk_shape": [2, 2],
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration": {"level": 1}}],
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
        "index_location": "start",
    }})];
    b.build_v3(&CodecRegistry::default(), &Limits::default()).unwrap()
}

fn i16s(shape: Vec<u64>, v: &[i16]) -> NdArray {
    NdArray { dtype: DataType::Int16, shape, data: ArrayBytes::Fixed(v.iter().flat_map(|x| x.to_ne_bytes()).collect()) }
}

#[test]
fn shards_are_rewritten_whole_and_deleted_when_empty() {
    let meta = sharded_meta();
    let sharding = meta.codecs.sharding().unwrap().clone();
    let mut store = Store::default();
    // One element of shard (0, 1): its index is read (missing), then it is put with one inner chunk.
    let point = Selection::Points(vec![vec![1], vec![5]]);
    store.drive(WriteOp::new(&meta, "", &point, i16s(vec![1], &[3]), WriteOptions::default()).unwrap());
    assert_eq!(store.log, ["get c/0/1 bytes 0..68", "put c/0/1 Absent"]);
    let index_of = |store: &Store| {
        let bytes = &store.objects["c/0/1"].0;
        let size = sharding.index_size(&[2, 2]).unwrap() as usize;
        sharding.decode_index(&bytes[..size], &[2, 2], &Limits::default()).unwrap()
    };
    let stored = |store: &Store| (0..4).filter(|&i| index_of(store).get(i).is_some()).count();
    assert_eq!(stored(&store), 1);
    // Another inner chunk of the same shard: the first one is kept.
    store.drive(
        WriteOp::new(
            &meta,
            "",
            &Selection::Points(vec![vec![3], vec![7]]),
            i16s(vec![1], &[4]),
            WriteOptions::default(),
        )
        .unwrap(),
    );
    assert_eq!(stored(&store), 2);
    let all = store.read(&meta).to_vec::<i16>().unwrap();
    assert_eq!((all[8 + 5], all[3 * 8 + 7], all.iter().filter(|&&x| x != 0).count()), (3, 4, 2));
    // Both back to the fill value: the shard is deleted.
    store.log.clear();
    let sel = Selection::Points(vec![vec![1, 3], vec![5, 7]]);
    store.drive(WriteOp::new(&meta, "", &sel, i16s(vec![2], &[0, 0]), WriteOptions::default()).unwrap());
    // The index, then one coalesced range of the two inner chunks to merge.
    assert_eq!(store.log.len(), 3, "{:?}", store.log);
    assert_eq!(store.log[0], "get c/0/1 bytes 0..68");
    assert!(store.log[1].starts_with("get c/0/1 bytes 68.."), "{:?}", store.log);
    assert_eq!(store.log[2], "delete c/0/1 Matches(Version(\"2\"))");
    // A whole shard is written without a read.
    store.log.clear();
    let block = Selection::Blocks(vec![DimSelector::Index(1), DimSelector::Index(1)]);
    store.drive(WriteOp::new(&meta, "", &block, i16s(vec![4, 4], &[5; 16]), WriteOptions::default()).unwrap());
    assert_eq!(store.log, ["put c/1/1 Always"]);
}

#[test]
fn strings_and_reversed_strided_slices() {
    let b = ArrayBuilder::new(vec![5, 3], DataType::String, vec![2, 2]);
    let meta = b.build_v3(&CodecRegistry::default(), &Limits::default()).unwrap();
    let mut store = Store::default();
    let sel =
        Selection::Orthogonal(vec![DimSelector::Slice { start: None, stop: None, step: -2 }, DimSelector::Index(1)]);
    let words: Vec<Vec<u8>> = ["x", "yy", "zzz"].iter().map(|s| s.as_bytes().to_vec()).collect();
    let src = NdArray { dtype: DataType::String, shape: vec![3], data: ArrayBytes::Variable(words) };
    store.drive(WriteOp::new(&meta, "g/s", &sel, src, WriteOptions::default()).unwrap());
    assert!(store.objects.keys().all(|k| k.starts_with("g/s/c/")));
    let mut flat = Vec::new();
    for (k, (bytes, _)) in &store.objects {
        let coords: Vec<u64> = k["g/s/c/".len()..].split('/').map(|c| c.parse().unwrap()).collect();
        let repr = meta.chunk_repr(&coords).unwrap();
        if let ArrayBytes::Variable(v) = meta.codecs.decode(bytes, &repr, &Limits::default()).unwrap() {
            flat.extend(v.into_iter().filter(|e| !e.is_empty()));
        }
    }
    flat.sort();
    assert_eq!(flat, [b"x".to_vec(), b"yy".to_vec(), b"zzz".to_vec()]);
}

#[test]
fn the_same_write_asks_the_same_things() {
    let meta = meta_1d(20, 3, 0);
    let plan = |_: ()| {
        let sel = Selection::Orthogonal(vec![DimSelector::Array(vec![19, 0, 7, 7, 8])]);
        let mut op = WriteOp::new(&meta, "", &sel, u8s(&[1, 2, 3, 4, 5]), WriteOptions::default()).unwrap();
        let reqs: Vec<Request> = core::iter::from_fn(|| op.poll_request()).collect();
        let jobs: Vec<String> = core::iter::from_fn(|| op.poll_encode()).map(|j| j.key().to_string()).collect();
        (reqs, jobs)
    };
    let first = plan(());
    assert_eq!(first, plan(()));
    let keys: Vec<&str> = first.0.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["c/0", "c/2", "c/6"]);
    // The last of repeated indices wins, as in numpy.
    let mut store = Store::default();
    let sel = Selection::Orthogonal(vec![DimSelector::Array(vec![19, 0, 7, 7, 8])]);
    store.drive(WriteOp::new(&meta, "", &sel, u8s(&[1, 2, 3, 4, 5]), WriteOptions::default()).unwrap());
    let all = store.read(&meta).to_vec::<u8>().unwrap();
    assert_eq!((all[19], all[0], all[7], all[8]), (1, 2, 4, 5));
}

#[test]
fn empty_selections_are_done_at_once() {
    let meta = meta_1d(10, 4, 0);
    let op = WriteOp::new(&meta, "", &slice(5, 5), u8s(&[]), WriteOptions::default()).unwrap();
    assert!(op.is_done());
    assert_eq!(op.progress(), (0, 0));
    assert_eq!(op.finish().unwrap(), WriteStats::default());
}

#[test]
fn jobs_and_results_move_between_threads() {
    fn send<T: Send + 'static>() {}
    send::<EncodeJob>();
    send::<Encoded>();
    send::<StoreWrite>();
    send::<WriteOp>();
}

#[test]
fn results_of_another_op_are_refused() {
    let meta = meta_1d(8, 4, 0);
    let mut a = WriteOp::new(&meta, "a", &Selection::all(), u8s(&[1; 8]), WriteOptions::default()).unwrap();
    let mut b = WriteOp::new(&meta, "b", &Selection::all(), u8s(&[1; 8]), WriteOptions::default()).unwrap();
    let from_b = b.poll_encode().unwrap().run();
    assert!(matches!(a.handle_encoded(from_b), Err(Error::Protocol(_))));
    // A hand-made metadata whose grid's rank is not the shape's is an error, not a panic.
    let mut bad = meta.clone();
    bad.chunk_grid = ChunkGrid::Regular { chunk_shape: vec![4, 4] };
    assert!(WriteOp::new(&bad, "", &Selection::all(), u8s(&[1; 8]), WriteOptions::default()).is_err());
    assert!(ReadOp::new(&bad, &Selection::all(), Limits::default()).is_err());
}

#[test]
fn rectilinear_grids_write_chunks_of_their_own_lengths() {
    let mut b = ArrayBuilder::new(vec![10], DataType::UInt8, vec![1]);
    b.chunk_grid = ChunkGrid::Rectilinear { dims: vec![DimChunks::Explicit(vec![0, 3, 5, 10])] };
    let meta = b.build_v3(&CodecRegistry::default(), &Limits::default()).unwrap();
    let mut store = Store::default();
    // 2..6: chunk 0 (0..3) and chunk 2 (5..10) partly, chunk 1 (3..5) wholly.
    store.drive(WriteOp::new(&meta, "", &slice(2, 6), u8s(&[1, 2, 3, 4]), WriteOptions::default()).unwrap());
    assert_eq!(store.log, ["get c/0", "get c/2", "put c/1 Always", "put c/0 Absent", "put c/2 Absent"]);
    assert_eq!(store.read(&meta).to_vec::<u8>().unwrap(), [0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
}

#[test]
fn zero_dimensional_arrays() {
    let meta = ArrayBuilder::new(vec![], DataType::UInt8, vec![])
        .build_v3(&CodecRegistry::default(), &Limits::default())
        .unwrap();
    let mut store = Store::default();
    let value = |v: u8| NdArray { dtype: DataType::UInt8, shape: vec![], data: ArrayBytes::Fixed(vec![v]) };
    store.drive(WriteOp::new(&meta, "", &Selection::all(), value(5), WriteOptions::default()).unwrap());
    assert_eq!(store.log, ["put c Always"]);
    assert_eq!(store.read(&meta).to_vec::<u8>().unwrap(), [5]);
    store.drive(WriteOp::new_scalar(&meta, "", &Selection::all(), value(0), WriteOptions::default()).unwrap());
    assert!(store.objects.is_empty());
}
