#![allow(clippy::unwrap_used)]
//! `ReadOp` against a naive reference indexer, over random arrays, codecs and selections.
//!
//! Each case writes a random array into an in-memory map through the codecs (some
//! chunks left missing), answers the op's requests in a shuffled order, runs decode
//! jobs in a shuffled order, and compares the output with a plain element-by-element
//! implementation of numpy's indexing. `PROPTEST_CASES` raises the number of cases.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{json, Value};
use zarr_proto::codec::CodecRegistry;
use zarr_proto::ArrayBytes;
use zarr_proto::ByteRange;
use zarr_proto::Limits;
use zarr_proto::{ArrayMetadata, ChunkGrid, ChunkKeyEncoding, ZarrFormat};
use zarr_proto::{DataType, FillValue};
use zarr_proto::{DimSelector, Selection};
use zarr_proto::{ReadOp, Response};

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
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

struct Case {
    meta: ArrayMetadata,
    /// The array as stored: source elements, fill value where chunks are missing.
    dense: Vec<Vec<u8>>,
    store: HashMap<String, Vec<u8>>,
    selection: Selection,
}

fn dtype_for(rng: &mut Rng) -> (DataType, &'static str) {
    match rng.below(7) {
        6 => (DataType::String, "string"),
        0 => (DataType::UInt8, "uint8"),
        1 => (DataType::Int16, "int16"),
        2 => (DataType::Float32, "float32"),
        3 => (DataType::Float64, "float64"),
        4 => (DataType::UInt64, "uint64"),
        _ => (DataType::Complex64, "complex64"),
    }
}

fn c_strides(shape: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Every multi-index of `shape` in C order.
fn indices(shape: &[u64]) -> Vec<Vec<u64>> {
    let n: u64 = shape.iter().product();
    let strides = c_strides(shape);
    (0..n).map(|flat| shape.iter().enumerate().map(|(d, &e)| (flat / strides[d]) % e.max(1)).collect()).collect()
}

fn random_codecs(rng: &mut Rng, inner_shape: Option<&[u64]>, dtype: &DataType) -> Vec<Value> {
    let ndim = inner_shape.map_or(0, <[u64]>::len);
    let mut codecs = Vec::new();
    if ndim > 1 && rng.chance(30) {
        let mut order: Vec<usize> = (0..ndim).collect();
        rng.shuffle(&mut order);
        codecs.push(json!({"name": "transpose", "configuration": {"order": order}}));
    }
    if dtype.is_variable() {
        codecs.push(json!({"name": "vlen-utf8"}));
    } else {
        let endian = if rng.chance(50) { "little" } else { "big" };
        codecs.push(json!({"name": "bytes", "configuration": {"endian": endian}}));
    }
    match rng.below(5) {
        0 => codecs.push(json!({"name": "gzip", "configuration": {"level": 1}})),
        1 => codecs.push(json!({"name": "zstd", "configuration": {"level": 1, "checksum": false}})),
        2 => codecs.push(json!({"name": "crc32c"})),
        _ => {}
    }
    codecs
}

fn build_case(seed: u64) -> Case {
    let mut rng = Rng(seed | 1);
    let ndim = rng.below(5) as usize;
    let shape: Vec<u64> = (0..ndim).map(|_| if rng.chance(5) { 0 } else { rng.range(1, 11) as u64 }).collect();
    let (dtype, _) = dtype_for(&mut rng);
    // Element bytes: fixed-size random bytes, or short ASCII strings for variable-length types.
    let element = |rng: &mut Rng| -> Vec<u8> {
        match dtype.size() {
            Some(size) => (0..size).map(|_| rng.below(256) as u8).collect(),
            None => (0..rng.below(6)).map(|_| b'a' + rng.below(26) as u8).collect(),
        }
    };
    let sharded = ndim > 0 && rng.chance(35);
    let (chunk_shape, codecs) = if sharded {
        let inner: Vec<u64> = (0..ndim).map(|_| rng.range(1, 3) as u64).collect();
        let shard: Vec<u64> = inner.iter().map(|&c| c * rng.range(1, 3) as u64).collect();
        let location = if rng.chance(50) { "end" } else { "start" };
        let index_codecs = if rng.chance(50) {
            json!([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}])
        } else {
            json!([{"name": "bytes", "configuration": {"endian": "little"}}])
        };
        let codecs = vec![json!({"name": "sharding_indexed", "configuration": {
            "chunk_shape": inner,
            "codecs": random_codecs(&mut rng, Some(&inner), &dtype),
            "index_codecs": index_codecs,
            "index_location": location,
        }})];
        (shard, codecs)
    } else {
        let chunk: Vec<u64> = (0..ndim).map(|_| rng.range(1, 6) as u64).collect();
        let codecs = random_codecs(&mut rng, Some(&chunk), &dtype);
        (chunk, codecs)
    };
    let registry = CodecRegistry::default();
    let chain = registry.v3_chain(&codecs).unwrap_or_else(|e| panic!("codecs {codecs:?}: {e}"));
    let fill: Vec<u8> = if rng.chance(50) { element(&mut rng).iter().map(|_| 0).collect() } else { element(&mut rng) };
    let meta = ArrayMetadata {
        zarr_format: ZarrFormat::V3,
        shape: shape.clone(),
        data_type: dtype.clone(),
        chunk_grid: ChunkGrid::Regular { chunk_shape: chunk_shape.clone() },
        chunk_key_encoding: if rng.chance(50) {
            ChunkKeyEncoding::Default { separator: '/' }
        } else {
            ChunkKeyEncoding::V2 { separator: '.' }
        },
        fill_value: FillValue(fill.clone()),
        codecs: chain,
        attributes: Default::default(),
        dimension_names: None,
        document: Value::Null,
    };

    // Source data; each element its own random bytes.
    let all = indices(&shape);
    let mut dense: Vec<Vec<u8>> = all.iter().map(|_| element(&mut rng)).collect();
    let strides = c_strides(&shape);
    let grid = meta.chunk_grid.grid_shape(&shape);
    let missing_percent = rng.below(40);
    let mut store = HashMap::new();
    for chunk in indices(&grid) {
        if grid.contains(&0) {
            break;
        }
        let in_chunk: Vec<Vec<u64>> = indices(&chunk_shape);
        if rng.chance(missing_percent) {
            for local in &in_chunk {
                let global: Vec<u64> =
                    local.iter().zip(&chunk).zip(&chunk_shape).map(|((l, c), s)| c * s + l).collect();
                if global.iter().zip(&shape).all(|(g, e)| g < e) {
                    let flat: u64 = global.iter().zip(&strides).map(|(g, s)| g * s).sum();
                    dense[flat as usize] = fill.clone();
                }
            }
            continue;
        }
        let mut elements: Vec<Vec<u8>> = Vec::new();
        for local in &in_chunk {
            let global: Vec<u64> = local.iter().zip(&chunk).zip(&chunk_shape).map(|((l, c), s)| c * s + l).collect();
            if global.iter().zip(&shape).all(|(g, e)| g < e) {
                let flat: u64 = global.iter().zip(&strides).map(|(g, s)| g * s).sum();
                elements.push(dense[flat as usize].clone());
            } else {
                elements.push(fill.clone());
            }
        }
        let repr = meta.chunk_repr(&chunk).unwrap();
        let data =
            if dtype.is_variable() { ArrayBytes::Variable(elements) } else { ArrayBytes::Fixed(elements.concat()) };
        let encoded = meta.codecs.encode(data, &repr).unwrap_or_else(|e| panic!("encode: {e}"));
        store.insert(meta.chunk_key(&chunk), encoded);
    }
    let selection = random_selection(&mut rng, &shape);
    Case { meta, dense, store, selection }
}

fn random_selection(rng: &mut Rng, shape: &[u64]) -> Selection {
    let ndim = shape.len();
    match rng.below(8) {
        0 if ndim > 0 && shape.iter().all(|&n| n > 0) => {
            let npoints = rng.below(6) as usize;
            Selection::Points(
                shape.iter().map(|&n| (0..npoints).map(|_| rng.range(-(n as i64), n as i64 - 1)).collect()).collect(),
            )
        }
        1 => {
            let n: u64 = shape.iter().product();
            Selection::Mask((0..n).map(|_| rng.chance(30)).collect())
        }
        2 => Selection::Blocks(vec![]),
        _ => {
            let take = if rng.chance(20) { rng.below(ndim as u64 + 1) as usize } else { ndim };
            let mut sel: Vec<DimSelector> = shape[..take].iter().map(|&n| random_dim(rng, n)).collect();
            if take < ndim && rng.chance(50) {
                let at = rng.below(take as u64 + 1) as usize;
                sel.insert(at, DimSelector::Ellipsis);
            }
            Selection::Orthogonal(sel)
        }
    }
}

fn random_dim(rng: &mut Rng, n: u64) -> DimSelector {
    let n = n as i64;
    let opt = |rng: &mut Rng| if rng.chance(30) { None } else { Some(rng.range(-n - 2, n + 2)) };
    match rng.below(5) {
        0 if n > 0 => DimSelector::Index(rng.range(-n, n - 1)),
        1 if n > 0 => DimSelector::Array((0..rng.below(5)).map(|_| rng.range(-n, n - 1)).collect()),
        2 => DimSelector::Mask((0..n).map(|_| rng.chance(50)).collect()),
        _ => {
            let mut step = rng.range(-3, 3);
            if step == 0 {
                step = 1;
            }
            DimSelector::Slice { start: opt(rng), stop: opt(rng), step }
        }
    }
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

/// The expected output elements, or None when the selection is invalid.
fn reference(case: &Case) -> Option<(Vec<u64>, Vec<Vec<u8>>)> {
    let shape = &case.meta.shape;
    let strides = c_strides(shape);
    let at = |idx: &[u64]| case.dense[idx.iter().zip(&strides).map(|(i, s)| i * s).sum::<u64>() as usize].clone();
    let wrap = |i: i64, n: u64| -> Option<u64> {
        let w = if i < 0 { i + n as i64 } else { i };
        (w >= 0 && (w as u64) < n).then_some(w as u64)
    };
    match &case.selection {
        Selection::Points(coords) => {
            let npoints = coords.first().map_or(0, Vec::len);
            let mut out = Vec::new();
            for k in 0..npoints {
                let idx: Option<Vec<u64>> = coords.iter().zip(shape).map(|(c, &n)| wrap(c[k], n)).collect();
                out.push(at(&idx?));
            }
            Some((vec![npoints as u64], out))
        }
        Selection::Mask(mask) => {
            let out: Vec<Vec<u8>> = mask.iter().zip(&case.dense).filter(|(m, _)| **m).map(|(_, v)| v.clone()).collect();
            Some((vec![out.len() as u64], out))
        }
        Selection::Blocks(_) => Some((shape.clone(), case.dense.clone())),
        Selection::Orthogonal(sel) => {
            let ellipsis = sel.iter().position(|s| *s == DimSelector::Ellipsis);
            let mut full: Vec<DimSelector> = sel.iter().filter(|s| **s != DimSelector::Ellipsis).cloned().collect();
            let missing = shape.len() - full.len();
            let fill = vec![DimSelector::ALL; missing];
            match ellipsis {
                Some(at) => {
                    full.splice(at..at, fill);
                }
                None => full.extend(fill),
            }
            let mut per_dim: Vec<Vec<u64>> = Vec::new();
            let mut out_shape = Vec::new();
            for (s, &n) in full.iter().zip(shape) {
                match s {
                    DimSelector::Index(i) => per_dim.push(vec![wrap(*i, n)?]),
                    DimSelector::Array(a) => {
                        let v: Option<Vec<u64>> = a.iter().map(|&i| wrap(i, n)).collect();
                        let v = v?;
                        out_shape.push(v.len() as u64);
                        per_dim.push(v);
                    }
                    DimSelector::Mask(m) => {
                        if m.len() as u64 != n {
                            return None;
                        }
                        let v: Vec<u64> = (0..n).filter(|&i| m[i as usize]).collect();
                        out_shape.push(v.len() as u64);
                        per_dim.push(v);
                    }
                    DimSelector::Slice { start, stop, step } => {
                        let v: Vec<u64> =
                            slice_indices(*start, *stop, *step, n as i64).into_iter().map(|i| i as u64).collect();
                        out_shape.push(v.len() as u64);
                        per_dim.push(v);
                    }
                    DimSelector::Ellipsis => unreachable!(),
                    // The reference must learn every new selector before it can judge one.
                    other => panic!("the reference has no rule for {other:?}"),
                }
            }
            let counts: Vec<u64> = per_dim.iter().map(|v| v.len() as u64).collect();
            let out = indices(&counts)
                .into_iter()
                .filter(|_| counts.iter().all(|&c| c > 0))
                .map(|pos| {
                    let idx: Vec<u64> = pos.iter().enumerate().map(|(d, &p)| per_dim[d][p as usize]).collect();
                    at(&idx)
                })
                .collect();
            Some((out_shape, out))
        }
        other => panic!("the reference has no rule for {other:?}"),
    }
}

fn answer(store: &HashMap<String, Vec<u8>>, key: &str, range: Option<ByteRange>) -> Response {
    let Some(bytes) = store.get(key) else { return Response::Missing };
    let n = bytes.len() as u64;
    let slice = match range {
        None => bytes.clone(),
        Some(ByteRange::FromStart { offset, length }) => {
            let end = length.map_or(n, |l| (offset + l).min(n));
            bytes[offset as usize..end as usize].to_vec()
        }
        Some(ByteRange::Suffix(s)) => bytes[(n - s.min(n)) as usize..].to_vec(),
    };
    Response::Bytes(slice.into())
}

/// Drives the op like a concurrent driver: requests and decodes complete out of order.
/// With `into`, the op writes into a caller's buffer ([`ReadOp::new_into`]), which
/// starts as garbage: every element must be written, by a chunk or the fill value.
fn drive(case: &Case, rng: &mut Rng, into: bool) -> zarr_proto::Result<zarr_proto::NdArray> {
    let mut buf = Vec::new();
    let mut op = if into {
        // The size comes from a plain plan of the same read.
        let plain = ReadOp::new(&case.meta, &case.selection, Limits::default())?;
        let n: u64 = plain.output_shape().iter().product();
        buf = vec![0xA5u8; n as usize * case.meta.data_type.size().unwrap()];
        ReadOp::new_into(&case.meta, "", &case.selection, Limits::default(), &mut buf)?
    } else {
        ReadOp::new(&case.meta, &case.selection, Limits::default())?
    };
    let mut in_flight = Vec::new();
    let mut jobs = Vec::new();
    loop {
        while let Some(req) = op.poll_request() {
            in_flight.push(req);
        }
        while let Some(job) = op.poll_decode() {
            jobs.push(job);
        }
        if op.is_done() {
            assert!(in_flight.is_empty() && jobs.is_empty(), "done with work outstanding");
            if into {
                assert!(op.finish().is_err(), "an op writing into a caller's buffer has no array to give");
                let shape = ReadOp::new(&case.meta, &case.selection, Limits::default())?.output_shape().to_vec();
                return Ok(zarr_proto::NdArray {
                    dtype: case.meta.data_type.clone(),
                    shape,
                    data: ArrayBytes::Fixed(buf),
                });
            }
            return op.finish();
        }
        rng.shuffle(&mut in_flight);
        rng.shuffle(&mut jobs);
        if !jobs.is_empty() && (in_flight.is_empty() || rng.chance(50)) {
            let job = jobs.pop().unwrap();
            if into {
                op.handle_decoded_into(job.run(), &mut buf)?;
            } else {
                op.handle_decoded(job.run())?;
            }
        } else if let Some(req) = in_flight.pop() {
            op.handle_response(req.id, answer(&case.store, &req.key, req.range))?;
        } else {
            panic!("not done, but nothing to do");
        }
    }
}

fn check(seed: u64) {
    let case = build_case(seed);
    let mut rng = Rng(seed.rotate_left(17) | 1);
    let expected = reference(&case);
    let into = case.meta.data_type.size().is_some() && seed % 2 == 0;
    let result = drive(&case, &mut rng, into);
    match (expected, result) {
        (None, Err(zarr_proto::Error::Selection(_))) => {}
        (None, other) => panic!("seed {seed}: invalid selection {:?} gave {other:?}", case.selection),
        (Some(_), Err(e)) => panic!("seed {seed}: {:?} on shape {:?}: {e}", case.selection, case.meta.shape),
        (Some((shape, elements)), Ok(array)) => {
            assert_eq!(array.shape, shape, "seed {seed}: shape of {:?}", case.selection);
            let same = match &array.data {
                ArrayBytes::Fixed(got) => *got == elements.concat(),
                ArrayBytes::Variable(got) => *got == elements,
            };
            assert!(same, "seed {seed}: data differs for {:?} on {:?}", case.selection, case.meta);
        }
    }
}

proptest! {
    #[test]
    fn read_matches_reference(seed in any::<u64>()) {
        check(seed);
    }
}

#[test]
fn one_inner_chunk_of_ten_thousand_takes_two_requests() {
    let registry = CodecRegistry::default();
    let codecs = registry
        .v3_chain(&[json!({"name": "sharding_indexed", "configuration": {
            "chunk_shape": [1, 1],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
            "index_location": "end",
        }})])
        .unwrap();
    let meta = ArrayMetadata {
        zarr_format: ZarrFormat::V3,
        shape: vec![100, 100],
        data_type: DataType::UInt16,
        chunk_grid: ChunkGrid::Regular { chunk_shape: vec![100, 100] },
        chunk_key_encoding: ChunkKeyEncoding::Default { separator: '/' },
        fill_value: FillValue(vec![0, 0]),
        codecs,
        attributes: Default::default(),
        dimension_names: None,
        document: Value::Null,
    };
    // No element equals the fill value, so every inner chunk is stored, in order.
    let data: Vec<u8> = (1..=10_000u16).flat_map(|v| v.to_ne_bytes()).collect();
    let shard = meta.codecs.encode(ArrayBytes::Fixed(data), &meta.chunk_repr(&[0, 0]).unwrap()).unwrap();
    let store = HashMap::from([("c/0/0".to_string(), shard)]);
    let case = Case { meta, dense: vec![], store, selection: Selection::parse("42, 17", Default::default()).unwrap() };
    let mut op = ReadOp::new(&case.meta, &case.selection, Limits::default()).unwrap();
    let mut requests = Vec::new();
    while !op.is_done() {
        while let Some(req) = op.poll_request() {
            requests.push(req.range);
            op.handle_response(req.id, answer(&case.store, &req.key, req.range)).unwrap();
        }
        while let Some(job) = op.poll_decode() {
            op.handle_decoded(job.run()).unwrap();
        }
    }
    // The index, then one 2-byte range (where depends on the encoder's inner-chunk order).
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0], Some(ByteRange::Suffix(10_000 * 16 + 4)));
    assert!(matches!(requests[1], Some(ByteRange::FromStart { length: Some(2), .. })), "{requests:?}");
    assert_eq!(op.finish().unwrap().fixed_bytes().unwrap(), &4218u16.to_ne_bytes());
}

#[test]
fn a_caller_buffer_of_the_wrong_size_is_refused_with_both_sizes() {
    let seed = (0..).find(|&s| build_case(s).meta.data_type.size().is_some_and(|n| n > 0)).unwrap();
    let case = build_case(seed);
    let want =
        ReadOp::new(&case.meta, &Selection::all(), Limits::default()).unwrap().output_shape().iter().product::<u64>()
            * case.meta.data_type.size().unwrap() as u64;
    let mut buf = vec![0u8; want as usize + 1];
    let e = ReadOp::new_into(&case.meta, "", &Selection::all(), Limits::default(), &mut buf).unwrap_err();
    assert!(matches!(e, zarr_proto::Error::BufferSize { expected, got } if expected == want && got == want + 1), "{e}");
    // The keys of an op at a path start with it, as the store sees them.
    let mut op = ReadOp::new_at(&case.meta, "g/a", &Selection::all(), Limits::default()).unwrap();
    if let Some(req) = op.poll_request() {
        assert!(req.key.starts_with("g/a/"), "{req:?}");
    }
}

/// A caller's buffer is not filled up front: `new_into` leaves it as it is, and a missing
/// chunk comes back as a decode job that decodes nothing (`decoded_len` 0, so a driver runs
/// it in place) and writes the fill value into that chunk's part when handed back.
#[test]
fn missing_chunks_fill_their_part_of_a_callers_buffer_through_decode_jobs() {
    let doc = br#"{"zarr_format":3,"node_type":"array","shape":[6],"data_type":"uint16",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":7,
        "codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#;
    let meta = ArrayMetadata::from_v3_json(doc, &CodecRegistry::default(), &Limits::default()).unwrap();
    let mut buf = vec![0xA5u8; 12];
    let mut op = ReadOp::new_into(&meta, "", &Selection::all(), Limits::default(), &mut buf).unwrap();
    assert_eq!(buf, [0xA5; 12], "new_into wrote into the buffer");
    let (c0, c1) = (op.poll_request().unwrap(), op.poll_request().unwrap());
    assert_eq!((c0.key.as_str(), c1.key.as_str()), ("c/0", "c/1"));
    op.handle_response(c1.id, Response::Missing).unwrap();
    let stored: Vec<u8> = [1u16, 2, 3, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
    op.handle_response(c0.id, Response::Bytes(stored.into())).unwrap();
    let (missing, present) = (op.poll_decode().unwrap(), op.poll_decode().unwrap());
    assert_eq!((missing.key(), missing.decoded_len()), ("c/1", 0));
    assert_eq!((present.key(), present.decoded_len()), ("c/0", 8));
    assert!(!op.is_done(), "done before the missing chunk's part was filled");
    op.handle_decoded_into(missing.run(), &mut buf).unwrap();
    op.handle_decoded_into(present.run(), &mut buf).unwrap();
    assert!(op.is_done());
    let values: Vec<u16> = buf.chunks_exact(2).map(|b| u16::from_ne_bytes([b[0], b[1]])).collect();
    assert_eq!(values, [1, 2, 3, 4, 7, 7]);
    assert_eq!((op.stats().chunks_missing, op.stats().chunks_decoded), (1, 1));
}

#[test]
fn protocol_misuse_is_an_error() {
    let case = build_case(7);
    let mut op = ReadOp::new(&case.meta, &Selection::all(), Limits::default()).unwrap();
    assert!(op.handle_response(zarr_proto::RequestId(999_999), Response::Missing).is_err());
    if let Some(req) = op.poll_request() {
        op.handle_response(req.id, Response::Missing).unwrap();
        assert!(op.handle_response(req.id, Response::Missing).is_err(), "answered twice");
    }
}

#[test]
fn huge_reads_are_refused_before_allocating() {
    let meta = |shape: Vec<u64>, chunks: Vec<u64>| ArrayMetadata {
        zarr_format: ZarrFormat::V3,
        shape,
        data_type: DataType::UInt8,
        chunk_grid: ChunkGrid::Regular { chunk_shape: chunks },
        chunk_key_encoding: ChunkKeyEncoding::Default { separator: '/' },
        fill_value: FillValue(vec![0]),
        codecs: CodecRegistry::default().v3_chain(&[json!({"name": "bytes"})]).unwrap(),
        attributes: Default::default(),
        dimension_names: None,
        document: Value::Null,
    };
    let cases = [
        (meta(vec![1 << 40], vec![1]), "chunks touched"),
        (meta(vec![u64::MAX / 2, 4], vec![1 << 20, 4]), "output"),
        (meta(vec![1 << 20], vec![1 << 40]), "decoded chunk"),
    ];
    for (m, what) in cases {
        match ReadOp::new(&m, &Selection::all(), Limits::default()) {
            Err(zarr_proto::Error::LimitExceeded { what: w, .. }) => assert!(w.contains(what), "{w} vs {what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}
