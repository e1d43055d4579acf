#![allow(clippy::unwrap_used)]
//! `WriteOp` against a naive in-memory model array.
//!
//! Each case makes a small array (1-3 dims, random chunks, optional sharding, random
//! codecs, data type and fill value), applies a sequence of writes with random
//! selections both through `WriteOp` into a `HashMap` store (a synchronous driver that
//! answers in shuffled order) and to a dense model, then reads everything back with
//! `ReadOp` and compares, NaN-aware. No stored chunk may be all fill value unless
//! `write_empty_chunks`. `PROPTEST_CASES` overrides the 256 cases.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{json, Value};
use zarr_proto::codec::{ChunkRepr, CodecRegistry};
use zarr_proto::{
    ArrayBytes, Condition, DimSelector, Error, Limits, NdArray, ReadOp, Response, Selection, Version, WriteAction,
    WriteOp, WriteOptions, WriteOutcome,
};
use zarr_proto::{ArrayMetadata, ByteRange, ChunkGrid, ChunkKeyEncoding, ZarrFormat};
use zarr_proto::{DataType, FillValue};

/// xorshift64*: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A store whose objects carry a generation number as their version.
#[derive(Default)]
struct Store {
    objects: HashMap<String, (Vec<u8>, u64)>,
    clock: u64,
}

impl Store {
    fn read(&self, key: &str, range: Option<ByteRange>) -> (Response, Option<Version>) {
        match self.objects.get(key) {
            Some((b, g)) => {
                let bytes = range.map_or(b.as_slice(), |r| r.slice(b).unwrap_or(&[]));
                (Response::Bytes(bytes.to_vec().into()), Some(Version::new(g.to_string())))
            }
            None => (Response::Missing, None),
        }
    }

    /// Another writer replaced `key` with the same bytes: a new version, nothing else.
    fn touch(&mut self, key: &str) {
        if let Some((_, g)) = self.objects.get_mut(key) {
            self.clock += 1;
            *g = self.clock;
        }
    }

    fn write(&mut self, key: String, action: WriteAction, condition: &Condition) -> WriteOutcome {
        let current = self.objects.get(&key).map(|(_, g)| Version::new(g.to_string()));
        let holds = match condition {
            Condition::Always => true,
            Condition::Absent => current.is_none(),
            Condition::Matches(v) => current.as_ref() == Some(v),
        };
        if !holds {
            return WriteOutcome::ConditionFailed;
        }
        self.clock += 1;
        match action {
            WriteAction::Put(b) => {
                self.objects.insert(key, (b.to_vec(), self.clock));
            }
            WriteAction::Delete => {
                self.objects.remove(&key);
            }
        }
        WriteOutcome::Done
    }
}

/// Drives `op` to the end, answering its reads, jobs and writes one at a time in a
/// random interleaving (a write may be answered before another chunk's read).
fn drive(mut op: WriteOp, store: &mut Store, rng: &mut Rng) -> Result<(), Error> {
    let (mut reqs, mut jobs, mut writes) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        while let Some(r) = op.poll_request() {
            reqs.push(r);
        }
        while let Some(j) = op.poll_encode() {
            jobs.push(j);
        }
        while let Some(w) = op.poll_write() {
            writes.push(w);
        }
        if reqs.is_empty() && jobs.is_empty() && writes.is_empty() {
            assert!(op.is_done(), "op stalled with nothing to do");
            let (done, total) = op.progress();
            assert_eq!(done, total);
            op.finish()?;
            return Ok(());
        }
        match rng.below(3) {
            0 if !reqs.is_empty() => {
                let r = reqs.swap_remove(rng.below(reqs.len() as u64) as usize);
                // Now and then another writer replaces a shard between the op's read of
                // its index and of its inner chunks: the op must start that shard again.
                if r.range.is_some() && rng.chance(5) {
                    store.touch(&r.key);
                }
                let (response, version) = store.read(&r.key, r.range);
                op.handle_response_versioned(r.id, response, version)?;
            }
            1 if !jobs.is_empty() => {
                let j = jobs.swap_remove(rng.below(jobs.len() as u64) as usize);
                op.handle_encoded(j.run())?;
            }
            2 if !writes.is_empty() => {
                let w = writes.swap_remove(rng.below(writes.len() as u64) as usize);
                // Now and then a conditional write loses a race that left no trace (another
                // writer put the same bytes): the op must read, merge and write again.
                let outcome = if w.condition != Condition::Always && rng.chance(10) {
                    WriteOutcome::ConditionFailed
                } else {
                    store.write(w.key, w.action, &w.condition)
                };
                op.handle_write(w.id, outcome)?;
            }
            _ => {}
        }
    }
}

fn read_all(meta: &ArrayMetadata, store: &Store) -> NdArray {
    let mut op = ReadOp::new(meta, &Selection::all(), Limits::default()).unwrap();
    loop {
        while let Some(req) = op.poll_request() {
            let response = match store.objects.get(&req.key) {
                Some((b, _)) => Response::Bytes(req.range.map_or(b.clone(), |r| r.slice(b).unwrap().to_vec()).into()),
                None => Response::Missing,
            };
            op.handle_response(req.id, response).unwrap();
        }
        while let Some(job) = op.poll_decode() {
            op.handle_decoded(job.run()).unwrap();
        }
        if op.is_done() {
            return op.finish().unwrap();
        }
    }
}

fn c_strides(shape: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Python's `range(*slice(start, stop, step).indices(n))`, written out plainly.
fn slice_indices(start: Option<i64>, stop: Option<i64>, step: i64, n: i64) -> Vec<i64> {
    let norm = |v: i64| if v < 0 { v + n } else { v };
    let (lo, hi) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let start = start.map(|v| norm(v).clamp(lo, hi)).unwrap_or(if step > 0 { 0 } else { n - 1 });
    let stop = stop.map(|v| norm(v).clamp(lo, hi)).unwrap_or(if step > 0 { n } else { -1 });
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i);
        i += step;
    }
    out
}

/// The selection's output shape and, per output element in C order, the array's flat index.
fn reference(shape: &[u64], sel: &Selection) -> (Vec<u64>, Vec<usize>) {
    let strides = c_strides(shape);
    let wrap = |i: i64, n: u64| (if i < 0 { i + n as i64 } else { i }) as u64;
    match sel {
        Selection::Points(coords) => {
            let npoints = coords.first().map_or(0, Vec::len);
            let flat = (0..npoints)
                .map(|k| coords.iter().zip(shape).zip(&strides).map(|((c, &n), s)| wrap(c[k], n) * s).sum::<u64>())
                .map(|f| f as usize)
                .collect::<Vec<_>>();
            (vec![npoints as u64], flat)
        }
        Selection::Mask(mask) => {
            let flat: Vec<usize> = mask.iter().enumerate().filter(|(_, m)| **m).map(|(i, _)| i).collect();
            (vec![flat.len() as u64], flat)
        }
        Selection::Orthogonal(sel) => {
            // Per dimension: the indices taken, and whether the dimension is kept.
            let mut dims: Vec<(Vec<u64>, bool)> = Vec::new();
            for (d, &n) in shape.iter().enumerate() {
                dims.push(match sel.get(d).unwrap_or(&DimSelector::ALL) {
                    DimSelector::Index(i) => (vec![wrap(*i, n)], false),
                    DimSelector::Slice { start, stop, step } => {
                        (slice_indices(*start, *stop, *step, n as i64).into_iter().map(|i| i as u64).collect(), true)
                    }
                    DimSelector::Array(a) => (a.iter().map(|&i| wrap(i, n)).collect(), true),
                    DimSelector::Mask(m) => {
                        (m.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| i as u64).collect(), true)
                    }
                    other => panic!("not generated: {other:?}"),
                });
            }
            let out_shape: Vec<u64> = dims.iter().filter(|d| d.1).map(|d| d.0.len() as u64).collect();
            let lens: Vec<u64> = dims.iter().map(|d| d.0.len() as u64).collect();
            let total: u64 = lens.iter().product();
            let lstrides = c_strides(&lens);
            let flat = (0..total)
                .map(|k| {
                    dims.iter()
                        .enumerate()
                        .map(|(d, (idx, _))| idx[((k / lstrides[d]) % lens[d]) as usize] * strides[d])
                        .sum::<u64>() as usize
                })
                .collect();
            (out_shape, flat)
        }
        other => panic!("not generated: {other:?}"),
    }
}

fn random_dim(rng: &mut Rng, n: u64) -> DimSelector {
    let n = n as i64;
    let opt = |rng: &mut Rng| if rng.chance(30) { None } else { Some(rng.range(-n - 2, n + 2)) };
    match rng.below(6) {
        0 => DimSelector::Index(rng.range(-n, n - 1)),
        1 => DimSelector::Array((0..rng.below(5)).map(|_| rng.range(-n, n - 1)).collect()),
        2 => DimSelector::Mask((0..n).map(|_| rng.chance(50)).collect()),
        3 => DimSelector::ALL,
        _ => {
            let mut step = rng.range(-3, 3);
            if step == 0 {
                step = 1;
            }
            DimSelector::Slice { start: opt(rng), stop: opt(rng), step }
        }
    }
}

fn random_selection(rng: &mut Rng, shape: &[u64]) -> Selection {
    match rng.below(8) {
        0 => {
            let npoints = rng.below(6) as usize;
            Selection::Points(
                shape.iter().map(|&n| (0..npoints).map(|_| rng.range(-(n as i64), n as i64 - 1)).collect()).collect(),
            )
        }
        1 => Selection::Mask((0..shape.iter().product::<u64>()).map(|_| rng.chance(40)).collect()),
        _ => Selection::Orthogonal(shape.iter().map(|&n| random_dim(rng, n)).collect()),
    }
}

const DTYPES: [DataType; 6] =
    [DataType::UInt8, DataType::Int16, DataType::Float32, DataType::Float64, DataType::Bool, DataType::String];

/// A palette that makes chunks equal to the fill value likely: zero, one, NaN, -0.0, random.
fn element(rng: &mut Rng, dtype: &DataType, fill: &[u8]) -> Vec<u8> {
    let size = dtype.size().unwrap_or(0);
    match (rng.below(6), dtype) {
        (0 | 1, _) => fill.to_vec(),
        (_, DataType::String) => (0..rng.below(4)).map(|_| b'a' + rng.below(3) as u8).collect(),
        (_, DataType::Bool) => vec![rng.below(2) as u8],
        (2, _) => vec![0; size],
        (3, DataType::Float32) => f32::NAN.to_ne_bytes().to_vec(),
        (3, DataType::Float64) => f64::from_bits(0x7ff8_0000_0000_0000 | rng.below(4)).to_ne_bytes().to_vec(),
        (4, DataType::Float32) => (-0.0f32).to_ne_bytes().to_vec(),
        (4, DataType::Float64) => (-0.0f64).to_ne_bytes().to_vec(),
        _ => (0..size).map(|_| rng.below(256) as u8).collect(),
    }
}

fn fill_for(kind: u8, dtype: &DataType) -> Vec<u8> {
    match (kind, dtype) {
        (0, DataType::String) => Vec::new(),
        (_, DataType::String) => b"ab".to_vec(),
        (0, _) => vec![0; dtype.size().unwrap()],
        (_, DataType::Bool) => vec![1],
        (1, DataType::UInt8) => vec![7],
        (1, DataType::Int16) => (-3i16).to_ne_bytes().to_vec(),
        (1, DataType::Float32) => 1.5f32.to_ne_bytes().to_vec(),
        (1, DataType::Float64) => (-2.25f64).to_ne_bytes().to_vec(),
        (_, DataType::Float32) => f32::NAN.to_ne_bytes().to_vec(),
        (_, DataType::Float64) => f64::NAN.to_ne_bytes().to_vec(),
        (_, _) => vec![1; dtype.size().unwrap()],
    }
}

fn same(a: &[u8], b: &[u8], dtype: &DataType) -> bool {
    a == b
        || match dtype {
            DataType::Float32 => {
                f32::from_ne_bytes(a.try_into().unwrap()).is_nan() && f32::from_ne_bytes(b.try_into().unwrap()).is_nan()
            }
            DataType::Float64 => {
                f64::from_ne_bytes(a.try_into().unwrap()).is_nan() && f64::from_ne_bytes(b.try_into().unwrap()).is_nan()
            }
            _ => false,
        }
}

fn codecs_for(choice: u8, inner: &[u64], dtype: &DataType) -> Vec<Value> {
    let item = dtype.size().unwrap_or(1);
    let mut codecs = Vec::new();
    if choice == 1 && inner.len() > 1 {
        let order: Vec<usize> = (0..inner.len()).rev().collect();
        codecs.push(json!({"name": "transpose", "configuration": {"order": order}}));
    }
    let endian = if choice % 2 == 0 { "little" } else { "big" };
    if dtype.is_variable() {
        codecs.push(json!({"name": "vlen-utf8"}));
    } else {
        codecs.push(json!({"name": "bytes", "configuration": {"endian": endian}}));
    }
    match choice {
        2 => codecs.push(json!({"name": "zstd", "configuration": {"level": 1, "checksum": false}})),
        3 => codecs.push(json!({"name": "gzip", "configuration": {"level": 1}})),
        4 => codecs.push(json!({"name": "blosc", "configuration":
            {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": item, "blocksize": 0}})),
        5 => codecs.push(json!({"name": "crc32c"})),
        _ => {}
    }
    codecs
}

#[derive(Debug, Clone)]
struct Params {
    shape: Vec<u64>,
    chunks: Vec<u64>,
    /// Shard shape = chunks * this, when sharded.
    shard_mult: Option<Vec<u64>>,
    codec: u8,
    dtype: usize,
    fill: u8,
    write_empty: bool,
    conditional: bool,
    writes: usize,
    seed: u64,
}

fn params() -> impl Strategy<Value = Params> {
    (1usize..=3)
        .prop_flat_map(|ndim| {
            (
                proptest::collection::vec(1u64..=7, ndim),
                proptest::collection::vec(1u64..=4, ndim),
                proptest::option::weighted(0.35, proptest::collection::vec(1u64..=3, ndim)),
                0u8..6,
                0usize..DTYPES.len(),
                0u8..3,
                proptest::bool::weighted(0.2),
                proptest::bool::weighted(0.8),
                1usize..=4,
                any::<u64>(),
            )
        })
        .prop_map(|(shape, chunks, shard_mult, codec, dtype, fill, write_empty, conditional, writes, seed)| Params {
            shape,
            chunks,
            shard_mult,
            codec,
            dtype,
            fill,
            write_empty,
            conditional,
            writes,
            seed,
        })
}

fn metadata(p: &Params) -> ArrayMetadata {
    let dtype = DTYPES[p.dtype].clone();
    let (grid_shape, codecs) = match &p.shard_mult {
        Some(mult) => {
            let shard: Vec<u64> = p.chunks.iter().zip(mult).map(|(c, m)| c * m).collect();
            let location = if p.seed % 2 == 0 { "end" } else { "start" };
            let codecs = vec![json!({"name": "sharding_indexed", "configuration": {
                "chunk_shape": p.chunks,
                "codecs": codecs_for(p.codec, &p.chunks, &dtype),
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
                "index_location": location,
            }})];
            (shard, codecs)
        }
        None => (p.chunks.clone(), codecs_for(p.codec, &p.chunks, &dtype)),
    };
    ArrayMetadata {
        zarr_format: ZarrFormat::V3,
        shape: p.shape.clone(),
        data_type: dtype.clone(),
        chunk_grid: ChunkGrid::Regular { chunk_shape: grid_shape },
        chunk_key_encoding: if p.seed % 3 == 0 {
            ChunkKeyEncoding::V2 { separator: '.' }
        } else {
            ChunkKeyEncoding::Default { separator: '/' }
        },
        fill_value: FillValue(fill_for(p.fill, &dtype)),
        codecs: CodecRegistry::default().v3_chain(&codecs).unwrap(),
        attributes: Default::default(),
        dimension_names: None,
        document: Value::Null,
    }
}

/// Elements as an array's data.
fn pack(dtype: &DataType, elements: Vec<Vec<u8>>) -> ArrayBytes {
    if dtype.is_variable() {
        ArrayBytes::Variable(elements)
    } else {
        ArrayBytes::Fixed(elements.concat())
    }
}

/// An array's data as elements.
fn unpack(dtype: &DataType, data: ArrayBytes) -> Vec<Vec<u8>> {
    match data {
        ArrayBytes::Variable(v) => v,
        ArrayBytes::Fixed(b) => b.chunks_exact(dtype.size().unwrap()).map(<[u8]>::to_vec).collect(),
    }
}

fn run_case(p: &Params) -> Result<(), TestCaseError> {
    let meta = metadata(p);
    let dtype = meta.data_type.clone();
    let fill = meta.fill_value.0.clone();
    let mut rng = Rng(p.seed | 1);
    let n: u64 = p.shape.iter().product();
    let mut model: Vec<Vec<u8>> = vec![fill.clone(); n as usize];
    let mut store = Store::default();
    let options = WriteOptions { conditional: p.conditional, write_empty_chunks: p.write_empty, ..Default::default() };
    for _ in 0..p.writes {
        let sel = random_selection(&mut rng, &p.shape);
        let (out_shape, flat) = reference(&p.shape, &sel);
        let op = if rng.chance(20) {
            let value = element(&mut rng, &dtype, &fill);
            for &f in &flat {
                model[f] = value.clone();
            }
            let scalar = NdArray { dtype: dtype.clone(), shape: vec![], data: pack(&dtype, vec![value]) };
            WriteOp::new_scalar(&meta, "", &sel, scalar, options.clone())
        } else {
            let values: Vec<Vec<u8>> = flat.iter().map(|_| element(&mut rng, &dtype, &fill)).collect();
            for (&f, v) in flat.iter().zip(&values) {
                model[f] = v.clone();
            }
            let source = NdArray { dtype: dtype.clone(), shape: out_shape, data: pack(&dtype, values) };
            WriteOp::new(&meta, "", &sel, source, options.clone())
        };
        let op = op.map_err(|e| TestCaseError::fail(format!("plan {sel:?}: {e}")))?;
        drive(op, &mut store, &mut rng).map_err(|e| TestCaseError::fail(format!("write {sel:?}: {e}")))?;
    }
    let got = read_all(&meta, &store);
    let got = unpack(&dtype, got.data);
    prop_assert_eq!(got.len(), model.len());
    for (i, (g, m)) in got.iter().zip(&model).enumerate() {
        prop_assert!(same(g, m, &dtype), "element {i}: read {g:?}, model {m:?}");
    }
    if !p.write_empty {
        for (key, (b, _)) in &store.objects {
            let coords: Vec<u64> = match key.strip_prefix("c/") {
                Some(rest) => rest.split('/').map(|c| c.parse().unwrap()).collect(),
                None => key.split('.').map(|c| c.parse().unwrap()).collect(),
            };
            let repr = meta.chunk_repr(&coords).unwrap();
            let d = unpack(&dtype, meta.codecs.decode(b, &repr, &Limits::default()).unwrap());
            prop_assert!(!d.iter().all(|e| same(e, &fill, &dtype)), "{key} is all fill value");
            // Nor any inner chunk a shard stores.
            if let Some(sharding) = meta.codecs.sharding() {
                let per_shard = sharding.chunks_per_shard(&repr.shape).unwrap();
                let size = sharding.index_size(&per_shard).unwrap() as usize;
                let index_bytes = if p.seed % 2 == 0 { &b[b.len() - size..] } else { &b[..size] };
                let index = sharding.decode_index(index_bytes, &per_shard, &Limits::default()).unwrap();
                let inner = ChunkRepr { shape: sharding.chunk_shape.clone(), ..repr.clone() };
                for (offset, len) in (0..index.entries.len()).filter_map(|i| index.get(i)) {
                    let bytes = &b[offset as usize..(offset + len) as usize];
                    let d = unpack(&dtype, sharding.codecs.decode(bytes, &inner, &Limits::default()).unwrap());
                    prop_assert!(!d.iter().all(|e| same(e, &fill, &dtype)), "an inner chunk of {key} is fill");
                }
            }
        }
    }
    Ok(())
}

// proptest's default: 256 cases, or `PROPTEST_CASES`.
proptest! {
    #[test]
    fn writes_match_the_model(p in params()) {
        run_case(&p)?;
    }

    /// A store answering a read-modify-write's reads with garbage gets errors, never a panic.
    #[test]
    fn garbage_chunks_are_errors_not_panics(p in params(), garbage in proptest::collection::vec(any::<u8>(), 0..96)) {
        let meta = metadata(&p);
        let dtype = meta.data_type.clone();
        let fill = meta.fill_value.0.clone();
        let first = Selection::Orthogonal(p.shape.iter().map(|_| DimSelector::Index(0)).collect());
        let mut rng = Rng(p.seed | 1);
        let value = NdArray { dtype: dtype.clone(), shape: vec![], data: pack(&dtype, vec![element(&mut rng, &dtype, &fill)]) };
        let mut op = WriteOp::new(&meta, "", &first, value, WriteOptions::default()).unwrap();
        let Some(req) = op.poll_request() else {
            // A one-element chunk is wholly covered: nothing is read.
            return Ok(());
        };
        // A shard's index is read first: garbage there fails at once.
        if let Err(e) = op.handle_response_versioned(req.id, Response::Bytes(garbage.into()), Some(Version::new("g"))) {
            prop_assert!(matches!(e, Error::Chunk { ref key, .. } if *key == req.key), "{e}");
            return Ok(());
        }
        let Some(job) = op.poll_encode() else {
            // The index decoded (a checksum that happened to match) and asked for inner chunks.
            return Ok(());
        };
        if let Err(e) = op.handle_encoded(job.run()) {
            prop_assert!(matches!(e, Error::Chunk { ref key, .. } if *key == req.key), "{e}");
        }
    }
}

fn u8_meta(shape: u64, chunk: u64) -> ArrayMetadata {
    zarr_proto::ArrayBuilder::new(vec![shape], DataType::UInt8, vec![chunk])
        .build_v3(&CodecRegistry::default(), &Limits::default())
        .unwrap()
}

fn u8s(v: &[u8]) -> NdArray {
    NdArray { dtype: DataType::UInt8, shape: vec![v.len() as u64], data: ArrayBytes::Fixed(v.to_vec()) }
}

fn index(i: i64) -> Selection {
    Selection::Orthogonal(vec![DimSelector::Index(i)])
}

/// Writes element 0 while another writer changes element 3 between the op's read and
/// its put: returns the final content.
fn race(conditional: bool) -> Vec<u8> {
    let meta = u8_meta(4, 4);
    let mut store = Store::default();
    drive(
        WriteOp::new(&meta, "", &Selection::all(), u8s(&[0, 0, 0, 5]), WriteOptions::default()).unwrap(),
        &mut store,
        &mut Rng(1),
    )
    .unwrap();
    let options = WriteOptions { conditional, ..Default::default() };
    let one = NdArray { dtype: DataType::UInt8, shape: vec![], data: ArrayBytes::Fixed(vec![1]) };
    let mut op = WriteOp::new(&meta, "", &index(0), one, options).unwrap();
    let req = op.poll_request().unwrap();
    let (response, version) = store.read(&req.key, req.range);
    op.handle_response_versioned(req.id, response, version).unwrap();
    // The other writer: element 3 becomes 9.
    drive(
        WriteOp::new(&meta, "", &index(3), u8s(&[9]).reshape0(), WriteOptions::default()).unwrap(),
        &mut store,
        &mut Rng(2),
    )
    .unwrap();
    let job = op.poll_encode().unwrap();
    op.handle_encoded(job.run()).unwrap();
    let w = op.poll_write().unwrap();
    let outcome = store.write(w.key.clone(), w.action, &w.condition);
    assert_eq!(outcome == WriteOutcome::ConditionFailed, conditional);
    op.handle_write(w.id, outcome).unwrap();
    drive(op, &mut store, &mut Rng(3)).unwrap();
    read_all(&meta, &store).to_vec::<u8>().unwrap()
}

trait Reshape0 {
    fn reshape0(self) -> NdArray;
}

impl Reshape0 for NdArray {
    /// A one-element array as a 0-d one (what an integer index selects).
    fn reshape0(mut self) -> NdArray {
        self.shape.clear();
        self
    }
}

#[test]
fn a_conflict_is_read_again_and_keeps_both_updates() {
    assert_eq!(race(true), [1, 0, 0, 9]);
}

#[test]
fn without_conditions_the_concurrent_update_is_lost() {
    assert_eq!(race(false), [1, 0, 0, 5]);
}

#[test]
fn endless_conflicts_end_in_a_typed_error_naming_the_key() {
    let meta = u8_meta(4, 4);
    let options = WriteOptions { max_conflict_retries: 2, ..Default::default() };
    let mut op = WriteOp::new(&meta, "arr", &index(1), u8s(&[3]).reshape0(), options).unwrap();
    let mut err = None;
    for _ in 0..10 {
        let req = op.poll_request().unwrap();
        assert_eq!(req.key, "arr/c/0");
        op.handle_response_versioned(req.id, Response::Missing, None).unwrap();
        let encoded = op.poll_encode().unwrap().run();
        op.handle_encoded(encoded).unwrap();
        let w = op.poll_write().unwrap();
        assert_eq!(w.condition, Condition::Absent);
        if let Err(e) = op.handle_write(w.id, WriteOutcome::ConditionFailed) {
            err = Some(e);
            break;
        }
    }
    assert_eq!(err, Some(Error::WriteConflict { key: "arr/c/0".into(), attempts: 3 }));
}

#[test]
fn hostile_sources_and_selections_are_typed_errors() {
    let meta = u8_meta(6, 4);
    let opts = WriteOptions::default();
    let all = Selection::all();
    // Wrong shape, wrong byte length, wrong data type, wrong kind of elements.
    assert!(matches!(WriteOp::new(&meta, "", &all, u8s(&[1, 2]), opts.clone()), Err(Error::SourceShape { .. })));
    let short = NdArray { dtype: DataType::UInt8, shape: vec![6], data: ArrayBytes::Fixed(vec![1; 5]) };
    assert_eq!(
        WriteOp::new(&meta, "", &all, short, opts.clone()).unwrap_err(),
        Error::BufferSize { expected: 6, got: 5 }
    );
    let wide = NdArray { dtype: DataType::UInt16, shape: vec![6], data: ArrayBytes::Fixed(vec![1; 12]) };
    assert!(matches!(WriteOp::new(&meta, "", &all, wide, opts.clone()), Err(Error::DataType { .. })));
    let vlen = NdArray { dtype: DataType::UInt8, shape: vec![6], data: ArrayBytes::Variable(vec![vec![1]; 6]) };
    assert!(matches!(WriteOp::new(&meta, "", &all, vlen, opts.clone()), Err(Error::DataType { .. })));
    // Out of bounds, too many dimensions.
    assert!(matches!(WriteOp::new(&meta, "", &index(6), u8s(&[1]).reshape0(), opts.clone()), Err(Error::Selection(_))));
    let two_d = Selection::Orthogonal(vec![DimSelector::Index(0), DimSelector::Index(0)]);
    assert!(matches!(WriteOp::new(&meta, "", &two_d, u8s(&[1]).reshape0(), opts.clone()), Err(Error::Selection(_))));
    // A scalar of two elements.
    assert!(matches!(WriteOp::new_scalar(&meta, "", &all, u8s(&[1, 2]), opts.clone()), Err(Error::SourceShape { .. })));
    // Huge selections of tiny chunks are refused before planning.
    let big = zarr_proto::ArrayBuilder::new(vec![1 << 40], DataType::UInt8, vec![1])
        .build_v3(&CodecRegistry::default(), &Limits::default())
        .unwrap();
    let scalar = u8s(&[1]).reshape0();
    assert!(matches!(WriteOp::new_scalar(&big, "", &all, scalar, opts.clone()), Err(Error::LimitExceeded { .. })));
}

#[test]
fn driver_misuse_is_a_protocol_error() {
    let meta = u8_meta(6, 4);
    let mut op = WriteOp::new(&meta, "", &index(1), u8s(&[1]).reshape0(), WriteOptions::default()).unwrap();
    let req = op.poll_request().unwrap();
    assert!(matches!(op.handle_write(req.id, WriteOutcome::Done), Err(Error::Protocol(_))));
    assert!(matches!(op.handle_response(zarr_proto::RequestId(99), Response::Missing), Err(Error::Protocol(_))));
    // An existing chunk without a version cannot be written conditionally.
    let e = op.handle_response(req.id, Response::Bytes(vec![0u8; 4].into())).unwrap_err();
    assert!(matches!(&e, Error::Store { key, .. } if key == "c/0"), "{e}");
}

#[test]
fn corrupt_chunks_read_for_a_merge_name_their_key() {
    let meta = u8_meta(6, 4);
    let mut op = WriteOp::new(&meta, "a/b", &index(1), u8s(&[1]).reshape0(), WriteOptions::default()).unwrap();
    let req = op.poll_request().unwrap();
    op.handle_response_versioned(req.id, Response::Bytes(vec![0u8; 3].into()), Some(Version::new("1"))).unwrap();
    let job = op.poll_encode().unwrap();
    let e = op.handle_encoded(job.run()).unwrap_err();
    assert!(matches!(&e, Error::Chunk { key, .. } if key == "a/b/c/0"), "{e}");
}

/// A partial shard update copies the inner chunks it does not touch as they are: one
/// that would not even decode (a failed checksum) survives the update byte for byte,
/// and the one it touches is merged.
#[test]
fn untouched_inner_chunks_are_copied_without_decoding() {
    let meta = zarr_proto::ArrayBuilder::new(vec![12], DataType::UInt8, vec![4])
        .shards(vec![12])
        .compression(zarr_proto::Compression::Zstd { level: 1 })
        .build_v3(&CodecRegistry::default(), &Limits::default())
        .unwrap();
    let mut store = Store::default();
    let all: Vec<u8> = (1..=12).collect();
    drive(
        WriteOp::new(&meta, "", &Selection::all(), u8s(&all), WriteOptions::default()).unwrap(),
        &mut store,
        &mut Rng(3),
    )
    .unwrap();
    let sharding = meta.codecs.sharding().unwrap();
    let entries = |shard: &[u8]| {
        let size = sharding.index_size(&[3]).unwrap() as usize;
        sharding.decode_index(&shard[shard.len() - size..], &[3], &Limits::default()).unwrap().entries
    };
    // Corrupt inner chunk 2 (a zstd frame whose content no longer decodes).
    let (shard, _) = store.objects.get_mut("c/0").unwrap();
    let (o2, n2) = entries(shard)[2];
    for b in &mut shard[o2 as usize + 4..(o2 + n2) as usize] {
        *b ^= 0x5a;
    }
    let corrupt = shard[o2 as usize..(o2 + n2) as usize].to_vec();
    // Element 1 (inner chunk 0) changes; inner chunk 1 is wholly rewritten.
    let op = WriteOp::new(
        &meta,
        "",
        &Selection::Orthogonal(vec![DimSelector::Slice { start: Some(1), stop: Some(8), step: 1 }]),
        u8s(&[20, 30, 40, 50, 60, 70, 80]),
        WriteOptions::default(),
    )
    .unwrap();
    drive(op, &mut store, &mut Rng(4)).unwrap();
    let (shard, _) = &store.objects["c/0"];
    let (o2, n2) = entries(shard)[2];
    assert_eq!(&shard[o2 as usize..(o2 + n2) as usize], corrupt.as_slice(), "inner chunk 2 copied as it was");
    let inner = ChunkRepr { shape: vec![4], dtype: DataType::UInt8, fill_value: FillValue(vec![0]) };
    let decoded: Vec<u8> = (0..2)
        .flat_map(|i| {
            let (o, n) = entries(shard)[i];
            match sharding.codecs.decode(&shard[o as usize..(o + n) as usize], &inner, &Limits::default()).unwrap() {
                ArrayBytes::Fixed(b) => b,
                ArrayBytes::Variable(_) => unreachable!("uint8 is fixed-size"),
            }
        })
        .collect();
    assert_eq!(decoded, [1, 20, 30, 40, 50, 60, 70, 80]);
}
