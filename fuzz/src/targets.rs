//! The bodies of the fuzz targets: hostile bytes in, no panic, hang or unbounded allocation out.
//!
//! One copy serves two harnesses: the cargo-fuzz binaries in `fuzz/fuzz_targets/` call
//! these functions, and `zarr-proto/tests/hostile_input.rs` compiles this file with
//! `#[path]` and replays `fuzz/regressions/` plus proptest inputs on stable in CI.
//! Every function takes the raw fuzzer input; structure comes from [`arbitrary`].
//! A failed assertion here is a bug in zarr-proto (or in the invariant stated next to it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{json, Map, Value};
use zarr_proto::codec::{AnyCodec, ArrayToBytesCodec, BytesToBytesCodec, ChunkRepr, CodecChain, CodecRegistry};
use zarr_proto::ArrayBytes;
use zarr_proto::ConsolidatedMetadata;
use zarr_proto::Limits;
use zarr_proto::SelectionKind;
use zarr_proto::{is_all_fill, DataType, Endian, FillValue};
use zarr_proto::{ArrayBuilder, ArrayMetadata, ChunkGrid, ChunkKeyEncoding, GroupMetadata, NodeMetadata};
use zarr_proto::{DecodeJob, ReadOp, Request, Response};
use zarr_proto::{DimIndexer, DimSelector, ResolvedSelection, Selection};

/// The largest single allocation since [`watch`], when the harness counts allocations.
///
/// The fuzz binaries install a counting global allocator (`fuzz/src/lib.rs`) that raises this;
/// the stable regression test cannot (zarr-rs forbids unsafe code), so there it stays 0.
pub static LARGEST_ALLOC: AtomicUsize = AtomicUsize::new(0);

/// Starts watching allocations.
fn watch() {
    LARGEST_ALLOC.store(0, Ordering::Relaxed);
}

/// Fails when one allocation since [`watch`] exceeded `bound` bytes: an allocation sized by
/// what hostile input declares rather than by the limits passed in.
fn check_watch(bound: usize, what: &str) {
    let got = LARGEST_ALLOC.load(Ordering::Relaxed);
    assert!(got <= bound, "{what}: one allocation of {got} bytes, more than the {bound} bytes the limits allow");
}

/// Allocation slack beyond the limits: decoder tables, zstd windows (8 MiB are always allowed).
const SLACK: usize = 24 << 20;

/// Small limits, so that a decompression bomb or a huge shape is an error within
/// milliseconds, not a gigabyte allocation (libFuzzer's `-rss_limit_mb` catches the rest).
pub fn limits() -> Limits {
    Limits {
        max_metadata_bytes: 1 << 20,
        max_chunk_bytes: 1 << 20,
        max_encoded_chunk_bytes: 1 << 20,
        max_output_bytes: 1 << 16,
        max_shard_index_bytes: 1 << 16,
        max_chunks_per_read: 1 << 12,
    }
}

/// Registries to try: the pure-Rust backends, plus libzstd when the feature is on.
fn registries() -> Vec<CodecRegistry> {
    #[allow(unused_mut)]
    let mut out = vec![CodecRegistry::pure_rust()];
    #[cfg(feature = "zstd-native")]
    out.push(CodecRegistry::default());
    out
}

/// Number of elements `data` holds, checked against `repr`.
fn check_elements(data: &ArrayBytes, repr: &ChunkRepr, what: &str) {
    let n = repr.shape.iter().product::<u64>() as usize;
    match (data, repr.dtype.size()) {
        (ArrayBytes::Fixed(b), Some(size)) => assert_eq!(b.len(), n * size, "{what}: wrong decoded length"),
        (ArrayBytes::Variable(v), None) => assert_eq!(v.len(), n, "{what}: wrong number of elements"),
        _ => panic!("{what}: decoded to the wrong kind of elements for {:?}", repr.dtype),
    }
}

/// Checks a parsed array: its own document parses back to the same thing, and planning a
/// full read stays within the limits (a huge shape is an error, not an allocation).
fn check_array(meta: &ArrayMetadata, registry: &CodecRegistry, again: impl Fn(&[u8]) -> Option<ArrayMetadata>) {
    let doc = meta.to_json();
    let reparsed = again(&doc);
    assert!(reparsed.is_some(), "an array's own document does not parse again");
    let _ = meta.chunk_grid.grid_shape(&meta.shape);
    let _ = meta.chunk_repr(&vec![0; meta.ndim()]);
    let _ = meta.chunk_key(&vec![1; meta.ndim()]);
    let _ = meta.zattrs_json();
    let _ = registry;
    // With the default (large) limits, reading one element of a hostile shape plans one chunk.
    let first = Selection::Orthogonal(vec![DimSelector::Index(0); meta.ndim()]);
    if let Ok(mut op) = ReadOp::new(meta, &first, Limits::default()) {
        let mut requests = 0;
        while let Some(req) = op.poll_request() {
            requests += 1;
            assert!(op.handle_response(req.id, Response::Missing).is_ok(), "missing chunk rejected");
        }
        assert!(requests <= 1, "one element needs {requests} requests");
        assert!(op.is_done() && op.finish().is_ok(), "one missing element did not finish");
    }
    if let Ok(mut op) = ReadOp::new(meta, &Selection::all(), limits()) {
        // Every chunk missing: the read completes with the fill value.
        let shape = op.output_shape().to_vec();
        let mut rounds = 0;
        while let Some(req) = op.poll_request() {
            rounds += 1;
            assert!(rounds <= 1 << 16, "more requests than output elements");
            assert!(op.handle_response(req.id, Response::Missing).is_ok(), "missing chunk rejected");
        }
        assert!(op.is_done(), "all chunks missing, yet the read is not done");
        match op.finish() {
            Ok(array) => assert_eq!(array.shape, shape),
            Err(e) => panic!("finish failed after all chunks were missing: {e}"),
        }
    }
}

/// `zarr.json` documents: arrays, groups (with consolidated metadata), any node.
pub fn metadata_v3(data: &[u8]) {
    watch();
    metadata_v3_body(data);
    check_watch(SLACK + 64 * data.len(), "metadata_v3");
}

fn metadata_v3_body(data: &[u8]) {
    let limits = limits();
    for registry in registries() {
        let array = ArrayMetadata::from_v3_json(data, &registry, &limits);
        if let Ok(meta) = &array {
            check_array(meta, &registry, |doc| ArrayMetadata::from_v3_json(doc, &registry, &limits).ok());
        }
        let group = GroupMetadata::from_v3_json(data, &registry, &limits);
        if let Ok(group) = &group {
            let _ = group.to_json();
            if let Some(consolidated) = &group.consolidated {
                for node in consolidated.nodes.values() {
                    let _ = node.to_json();
                }
                let _ = consolidated.subtree("a");
            }
        }
        let node = NodeMetadata::from_v3_json(data, &registry, &limits);
        assert_eq!(node.is_ok(), array.is_ok() || group.is_ok(), "node parse disagrees with array/group parse");
    }
}

/// v2 documents. The input is split at `0xFF` bytes (never part of UTF-8 JSON):
/// `.zarray` (or `.zgroup`), then `.zattrs`, then `.zmetadata` (the first part when absent).
pub fn metadata_v2(data: &[u8]) {
    watch();
    metadata_v2_body(data);
    check_watch(SLACK + 64 * data.len(), "metadata_v2");
}

fn metadata_v2_body(data: &[u8]) {
    let limits = limits();
    let parts: Vec<&[u8]> = data.split(|&b| b == 0xFF).collect();
    let first = parts[0];
    let zattrs = parts.get(1).copied();
    let zmetadata = parts.get(2).copied().unwrap_or(first);
    for registry in registries() {
        if let Ok(meta) = ArrayMetadata::from_v2_json(first, zattrs, &registry, &limits) {
            let attrs = meta.zattrs_json();
            check_array(&meta, &registry, |doc| {
                ArrayMetadata::from_v2_json(doc, Some(&attrs), &registry, &limits).ok()
            });
        }
        if let Ok(group) = GroupMetadata::from_v2_json(first, zattrs, &limits) {
            let _ = group.to_json();
            let _ = group.zattrs_json();
        }
        if let Ok(consolidated) = ConsolidatedMetadata::from_v2_zmetadata(zmetadata, &registry, &limits) {
            for node in consolidated.nodes.values() {
                if let NodeMetadata::Array(meta) = node {
                    let _ = ReadOp::new(meta, &Selection::all(), limits);
                }
            }
            let _ = consolidated.subtree("a");
        }
    }
}

/// A small chunk representation for array->bytes codecs.
#[derive(Arbitrary, Debug, Clone)]
struct SmallRepr {
    dtype: DtypeSpec,
    dims: Vec<u8>,
    fill: u8,
}

impl SmallRepr {
    fn repr(&self) -> ChunkRepr {
        let dtype = self.dtype.dtype();
        let shape: Vec<u64> = self.dims.iter().take(3).map(|&d| u64::from(d % 9)).collect();
        let fill = match dtype.size() {
            Some(n) => FillValue(vec![self.fill & 1; n]),
            None => FillValue(vec![b'a'; usize::from(self.fill % 3)]),
        };
        ChunkRepr { shape, dtype, fill_value: fill }
    }
}

/// Data types the structured targets use.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum DtypeSpec {
    Bool,
    Int8,
    UInt8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Float16,
    Float32,
    Float64,
    Complex64,
    Complex128,
    FixedBytes(u8),
    FixedUtf32(u8),
    RawBits(u8),
    DateTime,
    String,
    Bytes,
}

impl DtypeSpec {
    fn dtype(self) -> DataType {
        match self {
            DtypeSpec::Bool => DataType::Bool,
            DtypeSpec::Int8 => DataType::Int8,
            DtypeSpec::UInt8 => DataType::UInt8,
            DtypeSpec::Int16 => DataType::Int16,
            DtypeSpec::UInt16 => DataType::UInt16,
            DtypeSpec::Int32 => DataType::Int32,
            DtypeSpec::UInt32 => DataType::UInt32,
            DtypeSpec::Int64 => DataType::Int64,
            DtypeSpec::UInt64 => DataType::UInt64,
            DtypeSpec::Float16 => DataType::Float16,
            DtypeSpec::Float32 => DataType::Float32,
            DtypeSpec::Float64 => DataType::Float64,
            DtypeSpec::Complex64 => DataType::Complex64,
            DtypeSpec::Complex128 => DataType::Complex128,
            DtypeSpec::FixedBytes(n) => DataType::FixedBytes(usize::from(n % 6) + 1),
            DtypeSpec::FixedUtf32(n) => DataType::FixedUtf32(usize::from(n % 4) + 1),
            DtypeSpec::RawBits(n) => DataType::RawBits(8 * (usize::from(n % 4) + 1)),
            DtypeSpec::DateTime => DataType::DateTime64 { unit: zarr_proto::TimeUnit::Millisecond, scale_factor: 1 },
            DtypeSpec::String => DataType::String,
            DtypeSpec::Bytes => DataType::Bytes,
        }
    }

    /// The numpy type string of a numeric type (for delta/fixedscaleoffset/astype).
    fn numpy(self) -> Option<&'static str> {
        Some(match self {
            DtypeSpec::Int8 => "|i1",
            DtypeSpec::UInt8 => "|u1",
            DtypeSpec::Int16 => "<i2",
            DtypeSpec::UInt16 => "<u2",
            DtypeSpec::Int32 => "<i4",
            DtypeSpec::UInt32 => "<u4",
            DtypeSpec::Int64 => "<i8",
            DtypeSpec::UInt64 => "<u8",
            DtypeSpec::Float32 => "<f4",
            DtypeSpec::Float64 => "<f8",
            _ => return None,
        })
    }
}

const CNAMES: [&str; 6] = ["lz4", "lz4hc", "blosclz", "zlib", "zstd", "snappy"];

const SHUFFLES: [&str; 3] = ["noshuffle", "shuffle", "bitshuffle"];

/// A bytes->bytes codec configuration.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum B2BSpec {
    Gzip(u8),
    Zlib(u8),
    Zstd { level: i8, checksum: bool },
    Blosc { cname: u8, clevel: u8, shuffle: u8, typesize: u8, blocksize: u16 },
    Crc32c,
    Lz4(i8),
}

impl B2BSpec {
    fn v3(self) -> Value {
        match self {
            B2BSpec::Gzip(l) => json!({"name": "gzip", "configuration": {"level": l % 10}}),
            B2BSpec::Zlib(l) => json!({"name": "numcodecs.zlib", "configuration": {"level": l % 10}}),
            B2BSpec::Zstd { level, checksum } => {
                json!({"name": "zstd", "configuration": {"level": level % 23, "checksum": checksum}})
            }
            B2BSpec::Blosc { cname, clevel, shuffle, typesize, blocksize } => {
                json!({"name": "blosc", "configuration": {
                    "cname": CNAMES[usize::from(cname % 6)],
                    "clevel": clevel % 10,
                    "shuffle": SHUFFLES[usize::from(shuffle % 3)],
                    "typesize": typesize.max(1),
                    "blocksize": blocksize,
                }})
            }
            B2BSpec::Crc32c => json!({"name": "crc32c"}),
            B2BSpec::Lz4(a) => json!({"name": "numcodecs.lz4", "configuration": {"acceleration": a}}),
        }
    }

    fn v2(self) -> Value {
        match self {
            B2BSpec::Gzip(l) => json!({"id": "gzip", "level": l % 10}),
            B2BSpec::Zlib(l) => json!({"id": "zlib", "level": l % 10}),
            B2BSpec::Zstd { level, checksum } => json!({"id": "zstd", "level": level % 23, "checksum": checksum}),
            B2BSpec::Blosc { cname, clevel, shuffle, blocksize, .. } => json!({"id": "blosc",
                "cname": CNAMES[usize::from(cname % 6)],
                "clevel": clevel % 10,
                "shuffle": i64::from(shuffle % 4) - 1,
                "blocksize": blocksize,
            }),
            B2BSpec::Crc32c => json!({"id": "crc32c"}),
            B2BSpec::Lz4(a) => json!({"id": "lz4", "acceleration": a}),
        }
    }
}

/// An array->array codec configuration.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum A2ASpec {
    Transpose(u8),
    Delta(DtypeSpec),
    FixedScaleOffset { offset: i16, scale: u8, astype: DtypeSpec },
    AsType(DtypeSpec),
}

impl A2ASpec {
    /// The v2 (numcodecs) object, or the v3 entry when `v3`; `None` when it cannot apply.
    fn json(self, dtype: DtypeSpec, ndim: usize, v3: bool) -> Option<Value> {
        let mut v = match self {
            A2ASpec::Transpose(rot) => {
                if !v3 {
                    return None;
                }
                let n = ndim.max(1);
                let order: Vec<usize> = (0..n).map(|i| (i + usize::from(rot)) % n).collect();
                return Some(json!({"name": "transpose", "configuration": {"order": order}}));
            }
            A2ASpec::Delta(astype) => {
                json!({"id": "delta", "dtype": dtype.numpy()?, "astype": astype.numpy().unwrap_or(dtype.numpy()?)})
            }
            A2ASpec::FixedScaleOffset { offset, scale, astype } => json!({"id": "fixedscaleoffset",
                "offset": offset, "scale": scale, "dtype": dtype.numpy()?, "astype": astype.numpy()?}),
            A2ASpec::AsType(encode) => {
                json!({"id": "astype", "encode_dtype": encode.numpy()?, "decode_dtype": dtype.numpy()?})
            }
        };
        if v3 {
            let map = v.as_object_mut()?;
            let id = map.remove("id")?;
            v = json!({"name": format!("numcodecs.{}", id.as_str()?), "configuration": Value::Object(map.clone())});
        }
        Some(v)
    }
}

/// What `codec_decode` decodes.
#[derive(Arbitrary, Debug)]
enum CodecCase {
    /// One bytes->bytes codec, decoded with a small `max_len`; also an encode/decode round trip.
    BytesToBytes { codec: B2BSpec, v2: bool, max_len: u16 },
    /// `bytes` with either byte order.
    Bytes { big: bool, repr: SmallRepr },
    /// `vlen-utf8` / `vlen-bytes`.
    Vlen { utf8: bool, repr: SmallRepr },
    /// `sharding_indexed` over small inner chunks.
    Sharding { inner: Vec<u8>, compressor: Option<B2BSpec>, index_crc: bool, start: bool, repr: SmallRepr },
    /// A whole chain with array->array codecs and compressors.
    Chain { a2a: Vec<A2ASpec>, b2b: Vec<B2BSpec>, repr: SmallRepr, dtype: DtypeSpec },
}

fn round_trip(codec: &BytesToBytesCodec, input: &[u8]) {
    if let Ok(encoded) = codec.encode(input) {
        match codec.decode(&encoded, input.len()) {
            Ok(decoded) => assert!(decoded == input, "{}: round trip changed the data", codec.name()),
            Err(e) => panic!("{}: cannot decode its own output with max_len = input length: {e}", codec.name()),
        }
    }
}

/// Decodes the input with a codec chosen by its first bytes.
pub fn codec_decode(data: &[u8]) {
    watch();
    codec_decode_body(data);
    check_watch(SLACK + 64 * data.len(), "codec_decode");
}

fn codec_decode_body(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(case) = CodecCase::arbitrary(&mut u) else { return };
    let input = u.take_rest();
    let limits = Limits { max_chunk_bytes: 1 << 16, ..limits() };
    match case {
        CodecCase::BytesToBytes { codec, v2, max_len } => {
            let max_len = usize::from(max_len);
            let mut results: Vec<(String, Vec<u8>)> = Vec::new();
            for registry in registries() {
                let built = if v2 { registry.v2(&codec.v2()) } else { registry.v3(&codec.v3()) };
                let Ok(AnyCodec::BytesToBytes(codec)) = built else { continue };
                if let Ok(out) = codec.decode(input, max_len) {
                    assert!(out.len() <= max_len, "{}: {} bytes decoded, max_len {max_len}", codec.name(), out.len());
                    results.push((format!("{registry:?}"), out));
                }
                // A roomier limit reaches the paths past the size checks (bombs up to 1 MiB).
                if let Ok(out) = codec.decode(input, 1 << 20) {
                    assert!(out.len() <= 1 << 20, "{}: {} bytes decoded, max_len 1 MiB", codec.name(), out.len());
                    if out.len() <= max_len {
                        let small = codec.decode(input, max_len);
                        assert!(small.as_ref() == Ok(&out), "{}: max_len {max_len} changed the output", codec.name());
                    }
                }
                round_trip(&codec, input);
            }
            // Both zstd backends must agree whenever both succeed.
            if let [(a, x), (b, y)] = results.as_slice() {
                assert!(x == y, "backends disagree: {a} vs {b}");
            }
        }
        CodecCase::Bytes { big, repr } => {
            let repr = repr.repr();
            let endian = if big { "big" } else { "little" };
            let entry = json!({"name": "bytes", "configuration": {"endian": endian}});
            decode_a2b(&entry, input, &repr, &limits);
        }
        CodecCase::Vlen { utf8, repr } => {
            let repr = repr.repr();
            let entry = json!({"name": if utf8 { "vlen-utf8" } else { "vlen-bytes" }});
            decode_a2b(&entry, input, &repr, &limits);
        }
        CodecCase::Sharding { inner, compressor, index_crc, start, repr } => {
            let repr = repr.repr();
            // Inner chunk extents that divide the shard shape.
            let chunk_shape: Vec<u64> = repr
                .shape
                .iter()
                .zip(inner.iter().chain(std::iter::repeat(&1)))
                .map(|(&s, &k)| (1..=s.max(1)).rev().find(|d| s % d == 0 && *d <= u64::from(k % 4) + 1).unwrap_or(1))
                .collect();
            let a2b = match repr.dtype {
                DataType::String => json!({"name": "vlen-utf8"}),
                DataType::Bytes => json!({"name": "vlen-bytes"}),
                _ => json!({"name": "bytes", "configuration": {"endian": "little"}}),
            };
            let mut codecs = vec![a2b];
            codecs.extend(compressor.map(B2BSpec::v3));
            let mut index_codecs = vec![json!({"name": "bytes", "configuration": {"endian": "little"}})];
            if index_crc {
                index_codecs.push(json!({"name": "crc32c"}));
            }
            let entry = json!({"name": "sharding_indexed", "configuration": {
                "chunk_shape": chunk_shape,
                "codecs": codecs,
                "index_codecs": index_codecs,
                "index_location": if start { "start" } else { "end" },
            }});
            decode_a2b(&entry, input, &repr, &limits);
        }
        CodecCase::Chain { a2a, b2b, repr, dtype } => {
            let mut repr = repr.repr();
            repr.dtype = dtype.dtype();
            repr.fill_value = FillValue::default_for(&repr.dtype);
            let mut entries: Vec<Value> =
                a2a.iter().take(3).filter_map(|c| c.json(dtype, repr.shape.len(), true)).collect();
            entries.push(match repr.dtype {
                DataType::String => json!({"name": "vlen-utf8"}),
                DataType::Bytes => json!({"name": "vlen-bytes"}),
                _ => json!({"name": "bytes", "configuration": {"endian": "little"}}),
            });
            entries.extend(b2b.iter().take(2).map(|c| c.v3()));
            for registry in registries() {
                if let Ok(chain) = registry.v3_chain(&entries) {
                    if let Ok(data) = chain.decode(input, &repr, &limits) {
                        check_elements(&data, &repr, "codec chain");
                    }
                }
            }
        }
    }
}

fn decode_a2b(entry: &Value, input: &[u8], repr: &ChunkRepr, limits: &Limits) {
    for registry in registries() {
        let Ok(AnyCodec::ArrayToBytes(codec)) = registry.v3(entry) else { continue };
        if let Ok(data) = codec.decode(input, repr, limits) {
            check_elements(&data, repr, codec.name());
        }
        // The same through a chain (the path ReadOp takes, with the owned fast path for `bytes`).
        let chain = CodecChain { array_to_array: Vec::new(), array_to_bytes: codec, bytes_to_bytes: Vec::new() };
        if let Ok(data) = chain.decode(input, repr, limits) {
            check_elements(&data, repr, "chain");
        }
        if let ArrayToBytesCodec::Sharding(s) = &chain.array_to_bytes {
            if let Ok(cps) = s.chunks_per_shard(&repr.shape) {
                let _ = s.decode_index(input, &cps, limits);
            }
        }
    }
}

/// Parses the input as a selection expression of every kind and resolves it against a few arrays.
pub fn selection_parse(data: &[u8]) {
    watch();
    selection_parse_body(data);
    check_watch(SLACK + 64 * data.len(), "selection_parse");
}

fn selection_parse_body(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let shapes: [(&[u64], &[u64]); 5] =
        [(&[], &[]), (&[10], &[3]), (&[7, 5], &[2, 5]), (&[4, 3, 5], &[3, 1, 2]), (&[u64::MAX / 2, 3], &[1 << 20, 2])];
    for kind in [SelectionKind::Orthogonal, SelectionKind::Points, SelectionKind::Blocks] {
        let Ok(selection) = Selection::parse(text, kind) else { continue };
        for (shape, chunks) in shapes {
            let Ok(meta) = ArrayBuilder::new(shape.to_vec(), DataType::UInt8, chunks.to_vec())
                .build_v3(&CodecRegistry::pure_rust(), &limits())
            else {
                continue;
            };
            let grid = meta.chunk_grid.dims();
            let Ok(resolved) = selection.resolve(shape, &grid) else { continue };
            let expected = resolved.output_shape();
            let Ok(mut op) = ReadOp::new(&meta, &selection, limits()) else { continue };
            assert_eq!(op.output_shape(), expected.as_slice());
            while let Some(req) = op.poll_request() {
                assert!(op.handle_response(req.id, Response::Missing).is_ok(), "missing chunk rejected");
            }
            assert!(op.is_done(), "all chunks missing, yet the read is not done");
            match op.finish() {
                Ok(array) => assert_eq!(array.shape, expected),
                Err(e) => panic!("finish failed: {e}"),
            }
        }
    }
}

/// One dimension of a generated array: extent, chunk (inner chunk when sharded), shards per chunk.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct DimSpec {
    extent: u8,
    chunk: u8,
    per_shard: u8,
}

/// How a generated array is sharded.
#[derive(Arbitrary, Debug, Clone)]
struct ShardSpec {
    compressor: Option<B2BSpec>,
    index: u8,
    start: bool,
}

/// A small array with arbitrary layout and codecs.
#[derive(Arbitrary, Debug, Clone)]
struct ArraySpec {
    v2: bool,
    dims: Vec<DimSpec>,
    dtype: DtypeSpec,
    fill: Option<Vec<u8>>,
    key_encoding: u8,
    rectilinear: bool,
    order_f: bool,
    a2a: Vec<A2ASpec>,
    sharding: Option<ShardSpec>,
    compressors: Vec<B2BSpec>,
    big_endian: bool,
}

impl ArraySpec {
    /// Whether the codecs keep every value exactly (only transposes among the array->array codecs).
    fn exact(&self) -> bool {
        let ndim = self.dims.len().min(3);
        let mut used = self.a2a.iter().take(2).filter(|c| c.json(self.dtype, ndim, !self.v2).is_some());
        used.all(|c| matches!(c, A2ASpec::Transpose(_)))
    }

    fn build(&self) -> Option<ArrayMetadata> {
        let dims: Vec<DimSpec> = self.dims.iter().take(3).copied().collect();
        let shape: Vec<u64> = dims.iter().map(|d| u64::from(d.extent % 9)).collect();
        let inner: Vec<u64> = dims.iter().map(|d| u64::from(d.chunk % 5) + 1).collect();
        let sharded = self.sharding.is_some() && !self.v2;
        let chunk_shape: Vec<u64> = if sharded {
            inner.iter().zip(&dims).map(|(c, d)| c * (u64::from(d.per_shard % 3) + 1)).collect()
        } else {
            inner.clone()
        };
        let dtype = self.dtype.dtype();
        let mut b = ArrayBuilder::new(shape.clone(), dtype.clone(), chunk_shape.clone());
        if self.rectilinear && !self.v2 && !sharded {
            // Chunk lengths cycling through 1..=chunk, covering the extent.
            let dims = shape
                .iter()
                .zip(&inner)
                .map(|(&extent, &c)| {
                    let mut bounds = vec![0u64];
                    let mut k = 0;
                    while *bounds.last().unwrap_or(&0) < extent {
                        k += 1;
                        bounds.push(bounds.last().unwrap_or(&0) + (k % c) + 1);
                    }
                    if bounds.len() == 1 {
                        bounds.push(c);
                    }
                    zarr_proto::DimChunks::Explicit(bounds)
                })
                .collect();
            b.chunk_grid = ChunkGrid::Rectilinear { dims };
        }
        if let (Some(fill), Some(size)) = (&self.fill, dtype.size()) {
            if fill.len() >= size {
                b.fill_value = Some(FillValue(fill[..size].to_vec()));
            }
        } else if let Some(fill) = &self.fill {
            b.fill_value = Some(FillValue(fill.iter().map(|c| b'a' + c % 26).collect()));
        }
        b.chunk_key_encoding = match self.key_encoding % 5 {
            0 => None,
            1 => Some(ChunkKeyEncoding::Default { separator: '/' }),
            2 => Some(ChunkKeyEncoding::Default { separator: '.' }),
            3 => Some(ChunkKeyEncoding::V2 { separator: '/' }),
            _ => Some(ChunkKeyEncoding::V2 { separator: '.' }),
        };
        let a2b = match dtype {
            DataType::String => json!({"name": "vlen-utf8"}),
            DataType::Bytes => json!({"name": "vlen-bytes"}),
            _ => json!({"name": "bytes", "configuration": {"endian": if self.big_endian { "big" } else { "little" }}}),
        };
        let registry = CodecRegistry::default();
        let limits = limits();
        if self.v2 {
            b.v2_filters = self.a2a.iter().take(2).filter_map(|c| c.json(self.dtype, shape.len(), false)).collect();
            b.v2_compressor = self.compressors.first().map(|c| c.v2());
            b.v2_order_f = self.order_f;
            b.v2_endian = if self.big_endian { Endian::Big } else { Endian::Little };
            if b.chunk_key_encoding.is_none_or(|e| matches!(e, ChunkKeyEncoding::Default { .. })) {
                b.chunk_key_encoding = None;
            }
            b.build_v2(&registry, &limits).ok()
        } else {
            let mut codecs: Vec<Value> =
                self.a2a.iter().take(2).filter_map(|c| c.json(self.dtype, shape.len(), true)).collect();
            codecs.push(a2b);
            codecs.extend(self.compressors.iter().take(2).map(|c| c.v3()));
            if let Some(s) = self.sharding.as_ref().filter(|_| sharded) {
                let mut index_codecs = vec![json!({"name": "bytes", "configuration": {"endian": "little"}})];
                match s.index % 3 {
                    0 => index_codecs.push(json!({"name": "crc32c"})),
                    1 => {}
                    _ => index_codecs.extend(s.compressor.map(B2BSpec::v3)),
                }
                let mut sharding_config = Map::new();
                sharding_config.insert("chunk_shape".into(), json!(inner));
                sharding_config.insert("codecs".into(), Value::Array(codecs));
                sharding_config.insert("index_codecs".into(), Value::Array(index_codecs));
                sharding_config.insert("index_location".into(), json!(if s.start { "start" } else { "end" }));
                codecs = vec![json!({"name": "sharding_indexed", "configuration": Value::Object(sharding_config)})];
            }
            b.codecs = codecs;
            b.build_v3(&registry, &limits).ok()
        }
    }
}

/// One selector of a generated selection.
#[derive(Arbitrary, Debug, Clone)]
enum DimSel {
    Index(i8),
    Slice(Option<i8>, Option<i8>, i8),
    Ellipsis,
    Array(Vec<i8>),
    Mask(Vec<bool>),
}

impl DimSel {
    fn selector(&self) -> DimSelector {
        match self {
            DimSel::Index(i) => DimSelector::Index((*i).into()),
            DimSel::Slice(a, b, s) => {
                DimSelector::Slice { start: a.map(i64::from), stop: b.map(i64::from), step: (*s).into() }
            }
            DimSel::Ellipsis => DimSelector::Ellipsis,
            DimSel::Array(a) => DimSelector::Array(a.iter().map(|&i| i.into()).collect()),
            DimSel::Mask(m) => DimSelector::Mask(m.clone()),
        }
    }
}

/// A generated selection.
#[derive(Arbitrary, Debug, Clone)]
enum SelSpec {
    All,
    Orthogonal(Vec<DimSel>),
    Points(Vec<Vec<i8>>),
    Mask(Vec<bool>),
    Blocks(Vec<DimSel>),
}

impl SelSpec {
    fn selection(&self) -> Selection {
        let points = |v: &Vec<Vec<i8>>| v.iter().map(|p| p.iter().map(|&i| i.into()).collect()).collect();
        match self {
            SelSpec::All => Selection::all(),
            SelSpec::Orthogonal(d) => Selection::Orthogonal(d.iter().map(DimSel::selector).collect()),
            SelSpec::Points(p) => Selection::Points(points(p)),
            SelSpec::Mask(m) => Selection::Mask(m.clone()),
            SelSpec::Blocks(d) => Selection::Blocks(d.iter().map(DimSel::selector).collect()),
        }
    }
}

/// How the driver answers one request.
#[derive(Arbitrary, Debug, Clone)]
enum Answer {
    /// What the store holds (`Missing` when it holds nothing).
    Store,
    /// The object does not exist.
    Missing,
    /// Arbitrary bytes.
    Garbage(Vec<u8>),
    /// The store's bytes cut short.
    Truncated(u16),
    /// The store's bytes with more after them.
    Extended(Vec<u8>),
    /// The store's bytes with one bit flipped.
    Flip { at: u16, bit: u8 },
}

/// One step of the driver.
#[derive(Arbitrary, Debug, Clone)]
enum Action {
    /// Poll one request.
    Poll,
    /// Poll every queued request.
    PollAll,
    /// Answer an outstanding request.
    Answer { which: u8, answer: Answer },
    /// Answer an id that may not be outstanding.
    WrongId { id: u64, answer: Answer },
    /// Answer an outstanding request twice.
    Twice { which: u8, first: Answer, second: Answer },
    /// Move queued decode jobs to the pool.
    PollDecode,
    /// Run one of the pool's jobs and hand back its result.
    RunJob { which: u8 },
}

/// A generated read: an array, a selection, what the store holds, and the driver's steps.
#[derive(Arbitrary, Debug)]
pub struct ReadScenario {
    array: ArraySpec,
    selection: SelSpec,
    seed: u8,
    absent: u8,
    actions: Vec<Action>,
}

/// The simulated store: every chunk of the array, encoded on first use from a seeded pattern.
struct Store {
    meta: ArrayMetadata,
    keys: BTreeMap<String, Vec<u64>>,
    cache: BTreeMap<String, Option<Vec<u8>>>,
    seed: u8,
    absent: u8,
}

impl Store {
    fn new(meta: ArrayMetadata, seed: u8, absent: u8) -> Store {
        let grid = meta.chunk_grid.grid_shape(&meta.shape);
        let mut keys = BTreeMap::new();
        let total: u64 = grid.iter().product();
        if total <= 4096 {
            let mut coords = vec![0u64; grid.len()];
            for _ in 0..total {
                keys.insert(meta.chunk_key(&coords), coords.clone());
                for d in (0..coords.len()).rev() {
                    coords[d] += 1;
                    if coords[d] < grid[d] {
                        break;
                    }
                    coords[d] = 0;
                }
            }
        }
        Store { meta, keys, cache: BTreeMap::new(), seed, absent }
    }

    fn object(&mut self, key: &str) -> Option<Vec<u8>> {
        if let Some(hit) = self.cache.get(key) {
            return hit.clone();
        }
        let value = self.encode(key);
        self.cache.insert(key.to_string(), value.clone());
        value
    }

    /// The elements of the stored chunk at `coords` before encoding, unless the chunk is absent.
    fn plain(&self, coords: &[u64]) -> Option<ArrayBytes> {
        let index: u64 = coords.iter().fold(0, |a, &c| a * 31 + c);
        if self.absent != 0 && (index + u64::from(self.seed)) % u64::from(self.absent) == 0 {
            return None;
        }
        let repr = self.meta.chunk_repr(coords).ok()?;
        let n = repr.num_elements() as usize;
        let s = u64::from(self.seed).wrapping_add(index.wrapping_mul(7));
        Some(match repr.dtype.size() {
            Some(size) => {
                let mut bytes: Vec<u8> = (0..n * size).map(|i| (s.wrapping_add(i as u64 * 13) % 251) as u8).collect();
                if repr.dtype == DataType::Bool {
                    bytes.iter_mut().for_each(|b| *b &= 1);
                }
                ArrayBytes::Fixed(bytes)
            }
            None => ArrayBytes::Variable(
                (0..n).map(|i| (0..(s as usize + i) % 5).map(|j| b'a' + ((i + j) % 26) as u8).collect()).collect(),
            ),
        })
    }

    fn encode(&self, key: &str) -> Option<Vec<u8>> {
        let coords = self.keys.get(key)?;
        let data = self.plain(coords)?;
        let repr = self.meta.chunk_repr(coords).ok()?;
        self.meta.codecs.encode(data, &repr).ok()
    }

    /// What reading `resolved` must give, computed element by element from the store.
    fn expected(&mut self, resolved: &ResolvedSelection) -> ArrayBytes {
        let points: Vec<Vec<u64>> = match resolved {
            ResolvedSelection::Points(points) => points.clone(),
            ResolvedSelection::Orthogonal(dims) => {
                let lists: Vec<Vec<u64>> = dims
                    .iter()
                    .map(|d| match d {
                        DimIndexer::Index(i) => vec![*i],
                        DimIndexer::Range { start, step, len } => {
                            (0..*len).map(|k| (*start as i64 + k as i64 * step) as u64).collect()
                        }
                        DimIndexer::List(v) => v.clone(),
                        // The oracle must learn every new kind of indexer before it can judge one.
                        other => panic!("the oracle has no rule for {other:?}"),
                    })
                    .collect();
                let mut out = Vec::new();
                if lists.iter().all(|l| !l.is_empty()) {
                    let mut idx = vec![0usize; lists.len()];
                    'outer: loop {
                        out.push(idx.iter().zip(&lists).map(|(&i, l)| l[i]).collect());
                        for d in (0..idx.len()).rev() {
                            idx[d] += 1;
                            if idx[d] < lists[d].len() {
                                continue 'outer;
                            }
                            idx[d] = 0;
                        }
                        break;
                    }
                }
                out
            }
            other => panic!("the oracle has no rule for {other:?}"),
        };
        let grid = self.meta.chunk_grid.dims();
        let fill = self.meta.fill_value.0.clone();
        let mut fixed = Vec::new();
        let mut variable = Vec::new();
        let mut chunks: BTreeMap<Vec<u64>, Option<ArrayBytes>> = BTreeMap::new();
        for point in points {
            let (coords, offsets): (Vec<u64>, Vec<u64>) = point.iter().zip(&grid).map(|(&i, g)| g.locate(i)).unzip();
            let shape = self.meta.chunk_repr(&coords).map(|r| r.shape).unwrap_or_default();
            let flat = offsets.iter().zip(&shape).fold(0u64, |acc, (&o, &n)| acc * n + o) as usize;
            let key = self.meta.chunk_key(&coords);
            let stored = self.object(&key).is_some();
            let data = chunks.entry(coords.clone()).or_insert_with(|| if stored { self.plain(&coords) } else { None });
            match (data, self.meta.data_type.size()) {
                (Some(ArrayBytes::Fixed(b)), Some(size)) => fixed.extend_from_slice(&b[flat * size..(flat + 1) * size]),
                (Some(ArrayBytes::Variable(v)), None) => variable.push(v[flat].clone()),
                (_, Some(_)) => fixed.extend_from_slice(&fill),
                (_, None) => variable.push(fill.clone()),
            }
        }
        if self.meta.data_type.is_variable() {
            ArrayBytes::Variable(variable)
        } else {
            ArrayBytes::Fixed(fixed)
        }
    }

    fn answer(&mut self, req: &Request, answer: &Answer) -> Response {
        let full = self.object(&req.key);
        let bytes = full.map(|b| match req.range {
            None => b,
            Some(r) => r.slice(&b).map(<[u8]>::to_vec).unwrap_or_default(),
        });
        match (answer, bytes) {
            (Answer::Missing, _) | (Answer::Store, None) => Response::Missing,
            (Answer::Store, Some(b)) => Response::Bytes(b.into()),
            (Answer::Garbage(g), _) => Response::Bytes(g.clone().into()),
            (Answer::Truncated(n), b) => {
                let mut b = b.unwrap_or_default();
                b.truncate(usize::from(*n) % (b.len() + 1));
                Response::Bytes(b.into())
            }
            (Answer::Extended(extra), b) => {
                let mut b = b.unwrap_or_default();
                b.extend_from_slice(extra);
                Response::Bytes(b.into())
            }
            (Answer::Flip { at, bit }, b) => {
                let mut b = b.unwrap_or_default();
                if !b.is_empty() {
                    let i = usize::from(*at) % b.len();
                    b[i] ^= 1 << (bit % 8);
                }
                Response::Bytes(b.into())
            }
        }
    }
}

/// The state a driver keeps: polled requests and decode jobs not yet run.
struct Driver {
    op: ReadOp,
    store: Store,
    outstanding: Vec<Request>,
    jobs: Vec<DecodeJob>,
    /// Whether any call returned an error (a misused or corrupted op may never finish).
    errored: bool,
    /// Whether any answer differed from the store's (then the output is not checked against it).
    tampered: bool,
}

impl Driver {
    fn note<T>(&mut self, r: zarr_proto::Result<T>) {
        if r.is_err() {
            self.errored = true;
        }
    }

    fn answer(&mut self, req: &Request, answer: &Answer) {
        self.tampered |= !matches!(answer, Answer::Store);
        let response = self.store.answer(req, answer);
        let r = self.op.handle_response(req.id, response);
        self.note(r);
    }

    fn step(&mut self, action: &Action) {
        let pick = |n: usize, which: u8| if n == 0 { None } else { Some(usize::from(which) % n) };
        match action {
            Action::Poll => self.outstanding.extend(self.op.poll_request()),
            Action::PollAll => {
                while let Some(req) = self.op.poll_request() {
                    self.outstanding.push(req);
                }
            }
            Action::Answer { which, answer } => {
                if let Some(i) = pick(self.outstanding.len(), *which) {
                    let req = self.outstanding.swap_remove(i);
                    self.answer(&req, answer);
                }
            }
            Action::WrongId { id, answer } => {
                let req = Request {
                    id: zarr_proto::RequestId(*id),
                    key: self.outstanding.first().map_or_else(String::new, |r| r.key.clone()),
                    range: None,
                };
                // An id that is outstanding here is answered for real: drop it from our list.
                self.tampered = true;
                self.outstanding.retain(|r| r.id.0 != *id);
                self.answer(&req, answer);
            }
            Action::Twice { which, first, second } => {
                if let Some(i) = pick(self.outstanding.len(), *which) {
                    let req = self.outstanding.swap_remove(i);
                    self.answer(&req, first);
                    let response = self.store.answer(&req, second);
                    self.tampered = true;
                    let again = self.op.handle_response(req.id, response);
                    assert!(again.is_err(), "a request answered twice was accepted twice");
                    self.errored = true;
                }
            }
            Action::PollDecode => {
                while let Some(job) = self.op.poll_decode() {
                    self.jobs.push(job);
                }
            }
            Action::RunJob { which } => {
                if let Some(i) = pick(self.jobs.len(), *which) {
                    let job = self.jobs.swap_remove(i);
                    let r = self.op.handle_decoded(job.run());
                    self.note(r);
                }
            }
        }
    }

    /// Answers everything correctly until nothing is left to do.
    fn drain(&mut self) {
        for _round in 0..64 {
            self.step(&Action::PollAll);
            self.step(&Action::PollDecode);
            if self.outstanding.is_empty() && self.jobs.is_empty() {
                return;
            }
            for req in std::mem::take(&mut self.outstanding) {
                self.answer(&req, &Answer::Store);
            }
            self.step(&Action::PollDecode);
            for job in std::mem::take(&mut self.jobs) {
                let r = self.op.handle_decoded(job.run());
                self.note(r);
            }
        }
        panic!("the read still asks for more after 64 rounds of answers");
    }
}

/// Number of `read_op` runs whose output was compared with the store's contents.
pub static ORACLE_CHECKS: AtomicUsize = AtomicUsize::new(0);

/// How far one `read_op` input got (the regression test checks its corpus reaches every stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReadOutcome {
    /// The input did not make a scenario, or its metadata did not build.
    NoArray,
    /// `ReadOp::new` rejected the selection or the limits.
    Rejected,
    /// The read ended in an error (corrupt or misdelivered responses).
    Failed,
    /// The read finished without decoding a chunk (empty selection, every chunk missing).
    FinishedFill,
    /// The read finished, decoding at least one chunk.
    Finished,
}

/// Drives a [`ReadOp`] over a generated array with an arbitrary sequence of driver actions.
pub fn read_op(data: &[u8]) {
    let _ = read_op_outcome(data);
}

/// [`read_op`], saying how far the input got.
pub fn read_op_outcome(data: &[u8]) -> ReadOutcome {
    watch();
    let outcome = read_op_body(data);
    check_watch(SLACK + 64 * data.len(), "read_op");
    outcome
}

fn read_op_body(data: &[u8]) -> ReadOutcome {
    let u = Unstructured::new(data);
    let Ok(scenario) = ReadScenario::arbitrary_take_rest(u) else { return ReadOutcome::NoArray };
    let Some(meta) = scenario.array.build() else { return ReadOutcome::NoArray };
    let selection = scenario.selection.selection();
    let Ok(mut op) = ReadOp::new(&meta, &selection, limits()) else { return ReadOutcome::Rejected };
    // Half the scenarios fetch shards in pieces of 1 to 4081 bytes, as reads of local
    // files do (index first, then ranges, also where the read needs a whole shard).
    if scenario.seed >= 128 {
        op.fetch_shards_in_pieces(1 + u64::from(scenario.absent) * 16);
    }
    let shape = op.output_shape().to_vec();
    let mut driver = Driver {
        op,
        store: Store::new(meta.clone(), scenario.seed, scenario.absent),
        outstanding: Vec::new(),
        jobs: Vec::new(),
        errored: false,
        tampered: false,
    };
    for action in scenario.actions.iter().take(256) {
        driver.step(action);
    }
    driver.drain();
    let Driver { op, mut store, errored, tampered, .. } = driver;
    let done = op.is_done();
    if done {
        // Every decode job was handed back: no response can still be counted as held.
        assert_eq!(op.held_bytes(), 0, "a finished read still counts responses as held");
    }
    let decoded = op.stats().chunks_decoded > 0;
    match op.finish() {
        Ok(array) => {
            assert!(done, "finish succeeded before the op was done");
            assert_eq!(array.shape, shape, "finished array has the wrong shape");
            let n = shape.iter().product::<u64>() as usize;
            match (&array.data, meta.data_type.size()) {
                (ArrayBytes::Fixed(b), Some(size)) => assert_eq!(b.len(), n * size, "output has the wrong length"),
                (ArrayBytes::Variable(v), None) => assert_eq!(v.len(), n, "output has the wrong element count"),
                _ => panic!("output has the wrong kind of elements"),
            }
            // Every answer was the store's: the output is exactly what the store holds.
            if !tampered && !errored && scenario.array.exact() {
                let resolved = selection.resolve(&meta.shape, &meta.chunk_grid.dims());
                let Ok(resolved) = resolved else { panic!("ReadOp accepted a selection that does not resolve") };
                let expected = store.expected(&resolved);
                ORACLE_CHECKS.fetch_add(1, Ordering::Relaxed);
                let same = array.data == expected
                    || (meta.codecs.sharding().is_some() && fill_where_nan(&array.data, &expected, &meta));
                assert!(same, "read gave {:?}, the store holds {expected:?}", array.data);
            }
            if decoded {
                ReadOutcome::Finished
            } else {
                ReadOutcome::FinishedFill
            }
        }
        Err(e) => {
            assert!(!done, "finish failed although the op was done: {e}");
            assert!(errored, "every request and job was answered without error, yet the read is not done");
            ReadOutcome::Failed
        }
    }
}

/// Whether `got` differs from `want` only where a stored element equals the fill value
/// as the empty-chunk rule has it (a NaN equals a NaN fill whatever its payload) and the
/// read gave the fill value's bytes: a shard leaves an inner chunk of such elements out,
/// as zarr-python does, so their NaN payloads come back as the fill value's.
fn fill_where_nan(got: &ArrayBytes, want: &ArrayBytes, meta: &ArrayMetadata) -> bool {
    let (ArrayBytes::Fixed(got), ArrayBytes::Fixed(want), Some(size)) = (got, want, meta.data_type.size()) else {
        return false;
    };
    let fill = &meta.fill_value;
    size > 0
        && got.len() == want.len()
        && got.chunks_exact(size).zip(want.chunks_exact(size)).all(|(g, w)| {
            g == w || (g == fill.0.as_slice() && is_all_fill(&ArrayBytes::Fixed(w.to_vec()), &meta.data_type, fill))
        })
}

/// What `http_response` checks: a response's status and headers, and the parsers behind them.
#[derive(Arbitrary, Debug)]
struct HttpCase {
    status: u16,
    requested: Option<RangeSpec>,
    content_length: Option<u64>,
    content_range: Option<String>,
    body_len: u64,
    header: String,
    attempt: u32,
    retry_after: Option<u64>,
    random: u64,
    policy: (u32, u64, u64),
    key: String,
}

/// A requested byte range.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum RangeSpec {
    FromStart(u64, Option<u64>),
    Suffix(u64),
}

/// Decodes one bytes->bytes codec: output never past `max_len`, the same output under a
/// roomier limit, and an encode->decode round trip of the input.
fn check_bytes_codec(codec: &BytesToBytesCodec, input: &[u8], max_len: usize) {
    if let Ok(out) = codec.decode(input, max_len) {
        assert!(out.len() <= max_len, "{}: {} bytes decoded, max_len {max_len}", codec.name(), out.len());
    }
    if let Ok(out) = codec.decode(input, 1 << 20) {
        assert!(out.len() <= 1 << 20, "{}: {} bytes decoded, max_len 1 MiB", codec.name(), out.len());
        if out.len() <= max_len {
            let small = codec.decode(input, max_len);
            assert!(small.as_ref() == Ok(&out), "{}: max_len {max_len} changed the output", codec.name());
        }
    }
    round_trip(codec, input);
}

/// The numcodecs `bz2` decoder. Byte 0 picks the level, bytes 1-2 `max_len` (little
/// endian), the rest is the stream. Without the `bz2` feature there is no codec to test.
pub fn bz2_decode(data: &[u8]) {
    watch();
    if let [level, a, b, ref input @ ..] = *data {
        let config = json!({"id": "bz2", "level": level % 9 + 1});
        if let Ok(AnyCodec::BytesToBytes(codec)) = CodecRegistry::pure_rust().v2(&config) {
            check_bytes_codec(&codec, input, usize::from(u16::from_le_bytes([a, b])));
        }
    }
    // A level-9 decoder holds about 3.6 MB of tables, within the slack.
    check_watch(SLACK + 64 * data.len(), "bz2_decode");
}

/// The numcodecs `shuffle` filter. Byte 0 picks the element size (0 to 32), bytes 1-2
/// `max_len` (little endian), the rest is the shuffled data; v2 and v3 configurations.
pub fn shuffle_decode(data: &[u8]) {
    watch();
    if let [size, a, b, ref input @ ..] = *data {
        let size = size % 33;
        let registry = CodecRegistry::pure_rust();
        let v2 = registry.v2(&json!({"id": "shuffle", "elementsize": size}));
        let v3 = registry.v3(&json!({"name": "numcodecs.shuffle", "configuration": {"elementsize": size}}));
        for built in [v2, v3] {
            let Ok(AnyCodec::BytesToBytes(codec)) = built else { panic!("shuffle with element size {size} not built") };
            check_bytes_codec(&codec, input, usize::from(u16::from_le_bytes([a, b])));
            // A whole number of elements always decodes, to as many bytes, and encodes back.
            if size <= 1 || input.len() % usize::from(size) == 0 {
                let out = codec.decode(input, input.len()).expect("whole elements decode");
                assert_eq!(out.len(), input.len(), "shuffle changed the length");
                assert!(codec.encode(&out).as_deref() == Ok(input), "shuffle: encode does not invert decode");
            }
        }
    }
    check_watch(SLACK + 64 * data.len(), "shuffle_decode");
}

/// HTTP response checks and header parsers (`zarr_proto::http`, `zarr_proto::key`).
pub fn http_response(data: &[u8]) {
    use zarr_proto::http::{self, ByteRange, ContentRange, RetryPolicy};
    let u = Unstructured::new(data);
    let Ok(case) = HttpCase::arbitrary_take_rest(u) else { return };
    let requested = case.requested.map(|r| match r {
        RangeSpec::FromStart(offset, length) => ByteRange::FromStart { offset, length },
        RangeSpec::Suffix(n) => ByteRange::Suffix(n),
    });
    let content_range = case.content_range.as_deref();
    if let Ok(range) = http::check_body(case.status, requested, case.content_length, content_range, case.body_len) {
        assert!(range.start <= range.end && range.end <= case.body_len, "check_body gave {range:?}");
    }
    for text in [case.header.as_str(), content_range.unwrap_or_default()] {
        if let Some(cr) = ContentRange::parse(text) {
            assert!(cr.len() > cr.last - cr.first && !cr.is_empty(), "{cr:?}");
        }
        if let Some(r) = ByteRange::parse_header(text) {
            // A parsed header prints back to itself (empty ranges have no header).
            if let Some(v) = r.header_value() {
                assert_eq!(ByteRange::parse_header(&v), Some(r), "{text:?} -> {v:?}");
            }
            let _ = r.resolve(case.body_len);
            let _ = r.to_string();
        }
        let _ = http::parse_retry_after(text);
    }
    if let Some(r) = requested {
        let _ = r.header_value();
        let _ = r.to_string();
        if let Some(range) = r.resolve(case.body_len) {
            assert!(range.start <= range.end && range.end <= case.body_len, "resolve gave {range:?}");
        }
    }
    let (max_attempts, base, max) = case.policy;
    let policy = RetryPolicy {
        max_attempts: max_attempts % 64,
        base_delay: std::time::Duration::from_millis(base),
        max_delay: std::time::Duration::from_millis(max),
    };
    if let Some(d) = policy.delay(case.attempt, case.retry_after, case.random) {
        assert!(d <= policy.max_delay.max(policy.base_delay), "delay {d:?} above the maximum");
    }
    let _ = policy.max_total_delay();
    let _ = http::classify_status(case.status, http::StatusPolicy::default());
    let _ = http::join_url(&case.header, &case.key);
    let _ = zarr_proto::key::validate(&case.key);
    let _ = zarr_proto::key::join(&case.header, &case.key);
}
