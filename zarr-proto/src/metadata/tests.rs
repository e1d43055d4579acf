//! Tests of metadata parsing against documents written by zarr-python 3.1.6
//! (`zarr-proto/testdata/metadata/generate.py` writes them), and against hostile input.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde_json::{json, Value};

use super::chunk_grid::DimChunks;
use super::*;
use crate::codec::{self, ArrayToArrayCodec, ArrayToBytesCodec, BytesToBytesCodec};
use crate::dtype::{Endian, TimeUnit, NAT};
use crate::error::Error;

/// Every document zarr-python wrote for the fixtures, by file name.
const FIXTURES: &[(&str, &str)] = &[
    ("M8_10ms.zarr.json", include_str!("../../testdata/metadata/M8_10ms.zarr.json")),
    ("M8_10ms.zarray", include_str!("../../testdata/metadata/M8_10ms.zarray")),
    ("M8ns.zarr.json", include_str!("../../testdata/metadata/M8ns.zarr.json")),
    ("M8ns.zarray", include_str!("../../testdata/metadata/M8ns.zarray")),
    ("S4.zarr.json", include_str!("../../testdata/metadata/S4.zarr.json")),
    ("S4.zarray", include_str!("../../testdata/metadata/S4.zarray")),
    ("U5.zarr.json", include_str!("../../testdata/metadata/U5.zarr.json")),
    ("U5.zarray", include_str!("../../testdata/metadata/U5.zarray")),
    ("V3.zarr.json", include_str!("../../testdata/metadata/V3.zarr.json")),
    ("V3.zarray", include_str!("../../testdata/metadata/V3.zarray")),
    ("be_f8.zarray", include_str!("../../testdata/metadata/be_f8.zarray")),
    ("be_i4.zarray", include_str!("../../testdata/metadata/be_i4.zarray")),
    ("be_v3.zarr.json", include_str!("../../testdata/metadata/be_v3.zarr.json")),
    ("blosc.zarr.json", include_str!("../../testdata/metadata/blosc.zarr.json")),
    ("bool.zarr.json", include_str!("../../testdata/metadata/bool.zarr.json")),
    ("bool.zarray", include_str!("../../testdata/metadata/bool.zarray")),
    ("c16_val.zarray", include_str!("../../testdata/metadata/c16_val.zarray")),
    ("c8_val.zarr.json", include_str!("../../testdata/metadata/c8_val.zarr.json")),
    ("complex128.zarr.json", include_str!("../../testdata/metadata/complex128.zarr.json")),
    ("complex128.zarray", include_str!("../../testdata/metadata/complex128.zarray")),
    ("complex64.zarr.json", include_str!("../../testdata/metadata/complex64.zarr.json")),
    ("complex64.zarray", include_str!("../../testdata/metadata/complex64.zarray")),
    ("f4_inf.zarray", include_str!("../../testdata/metadata/f4_inf.zarray")),
    ("f4_nan.zarr.json", include_str!("../../testdata/metadata/f4_nan.zarr.json")),
    ("f8_inf.zarr.json", include_str!("../../testdata/metadata/f8_inf.zarr.json")),
    ("f8_nan.zarray", include_str!("../../testdata/metadata/f8_nan.zarray")),
    ("f8_nan.zattrs", include_str!("../../testdata/metadata/f8_nan.zattrs")),
    ("f8_val.zarr.json", include_str!("../../testdata/metadata/f8_val.zarr.json")),
    ("float16.zarr.json", include_str!("../../testdata/metadata/float16.zarr.json")),
    ("float16.zarray", include_str!("../../testdata/metadata/float16.zarray")),
    ("float32.zarr.json", include_str!("../../testdata/metadata/float32.zarr.json")),
    ("float32.zarray", include_str!("../../testdata/metadata/float32.zarray")),
    ("float64.zarr.json", include_str!("../../testdata/metadata/float64.zarr.json")),
    ("float64.zarray", include_str!("../../testdata/metadata/float64.zarray")),
    ("grp2.zattrs", include_str!("../../testdata/metadata/grp2.zattrs")),
    ("grp2.zgroup", include_str!("../../testdata/metadata/grp2.zgroup")),
    ("grp2.zmetadata", include_str!("../../testdata/metadata/grp2.zmetadata")),
    ("grp3.zarr.json", include_str!("../../testdata/metadata/grp3.zarr.json")),
    ("gzip.zarr.json", include_str!("../../testdata/metadata/gzip.zarr.json")),
    ("i8_neg.zarr.json", include_str!("../../testdata/metadata/i8_neg.zarr.json")),
    ("int16.zarr.json", include_str!("../../testdata/metadata/int16.zarr.json")),
    ("int16.zarray", include_str!("../../testdata/metadata/int16.zarray")),
    ("int32.zarr.json", include_str!("../../testdata/metadata/int32.zarr.json")),
    ("int32.zarray", include_str!("../../testdata/metadata/int32.zarray")),
    ("int64.zarr.json", include_str!("../../testdata/metadata/int64.zarr.json")),
    ("int64.zarray", include_str!("../../testdata/metadata/int64.zarray")),
    ("int8.zarr.json", include_str!("../../testdata/metadata/int8.zarr.json")),
    ("int8.zarray", include_str!("../../testdata/metadata/int8.zarray")),
    ("m8s.zarr.json", include_str!("../../testdata/metadata/m8s.zarr.json")),
    ("m8s.zarray", include_str!("../../testdata/metadata/m8s.zarray")),
    ("ncodecs.zarr.json", include_str!("../../testdata/metadata/ncodecs.zarr.json")),
    ("sep_dot.zarr.json", include_str!("../../testdata/metadata/sep_dot.zarr.json")),
    ("shard.zarr.json", include_str!("../../testdata/metadata/shard.zarr.json")),
    ("shard0d.zarr.json", include_str!("../../testdata/metadata/shard0d.zarr.json")),
    ("str.zarr.json", include_str!("../../testdata/metadata/str.zarr.json")),
    ("str.zarray", include_str!("../../testdata/metadata/str.zarray")),
    ("str_fill.zarr.json", include_str!("../../testdata/metadata/str_fill.zarr.json")),
    ("transpose.zarr.json", include_str!("../../testdata/metadata/transpose.zarr.json")),
    ("u8_max.zarray", include_str!("../../testdata/metadata/u8_max.zarray")),
    ("uint16.zarr.json", include_str!("../../testdata/metadata/uint16.zarr.json")),
    ("uint16.zarray", include_str!("../../testdata/metadata/uint16.zarray")),
    ("uint32.zarr.json", include_str!("../../testdata/metadata/uint32.zarr.json")),
    ("uint32.zarray", include_str!("../../testdata/metadata/uint32.zarray")),
    ("uint64.zarr.json", include_str!("../../testdata/metadata/uint64.zarr.json")),
    ("uint64.zarray", include_str!("../../testdata/metadata/uint64.zarray")),
    ("uint8.zarr.json", include_str!("../../testdata/metadata/uint8.zarr.json")),
    ("uint8.zarray", include_str!("../../testdata/metadata/uint8.zarray")),
    ("v2_0d.zarray", include_str!("../../testdata/metadata/v2_0d.zarray")),
    ("v2_F.zarray", include_str!("../../testdata/metadata/v2_F.zarray")),
    ("v2_astype.zarray", include_str!("../../testdata/metadata/v2_astype.zarray")),
    ("v2_blosc.zarray", include_str!("../../testdata/metadata/v2_blosc.zarray")),
    ("v2_filters.zarray", include_str!("../../testdata/metadata/v2_filters.zarray")),
    ("v2_none.zarray", include_str!("../../testdata/metadata/v2_none.zarray")),
    ("v2_slash.zarray", include_str!("../../testdata/metadata/v2_slash.zarray")),
    ("v2key.zarr.json", include_str!("../../testdata/metadata/v2key.zarr.json")),
    ("vbytes.zarr.json", include_str!("../../testdata/metadata/vbytes.zarr.json")),
    ("vbytes.zarray", include_str!("../../testdata/metadata/vbytes.zarray")),
    ("zstd_crc.zarr.json", include_str!("../../testdata/metadata/zstd_crc.zarr.json")),
];

fn fixture(name: &str) -> &'static str {
    FIXTURES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).unwrap_or_else(|| panic!("no fixture {name}"))
}

fn reg() -> CodecRegistry {
    CodecRegistry::default()
}

fn lim() -> Limits {
    Limits::default()
}

fn v3(doc: &str) -> Result<ArrayMetadata> {
    ArrayMetadata::from_v3_json(doc.as_bytes(), &reg(), &lim())
}

fn v2(name: &str) -> ArrayMetadata {
    let attrs = FIXTURES.iter().find(|(n, _)| *n == alloc::format!("{name}.zattrs")).map(|(_, t)| t.as_bytes());
    ArrayMetadata::from_v2_json(fixture(&alloc::format!("{name}.zarray")).as_bytes(), attrs, &reg(), &lim())
        .unwrap_or_else(|e| panic!("{name}.zarray: {e}"))
}

fn v3_fixture(name: &str) -> ArrayMetadata {
    v3(fixture(&alloc::format!("{name}.zarr.json"))).unwrap_or_else(|e| panic!("{name}.zarr.json: {e}"))
}

fn value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Parses every fixture, serializes it, and checks that the output parses back to the
/// same JSON value and the same resolved metadata.
#[test]
fn zarr_python_documents_round_trip() {
    let mut failures: Vec<String> = Vec::new();
    for (name, text) in FIXTURES {
        let original = value(text.as_bytes());
        let result: Result<()> = (|| {
            if name.ends_with(".zarr.json") {
                let node = NodeMetadata::from_v3_json(text.as_bytes(), &reg(), &lim())?;
                let out = node.to_json();
                assert_eq!(value(&out), original, "{name}");
                assert_eq!(NodeMetadata::from_v3_json(&out, &reg(), &lim())?, node, "{name}");
            } else if let Some(stem) = name.strip_suffix(".zarray") {
                let meta = v2(stem);
                let out = meta.to_json();
                assert_eq!(value(&out), original, "{name}");
                let attrs = meta.zattrs_json();
                let again = ArrayMetadata::from_v2_json(&out, Some(&attrs), &reg(), &lim())?;
                assert_eq!(again, meta, "{name}");
            } else if name.ends_with(".zgroup") {
                let g = GroupMetadata::from_v2_json(text.as_bytes(), None, &lim())?;
                assert_eq!(value(&g.to_json()), original, "{name}");
            } else if name.ends_with(".zmetadata") {
                let c = consolidated::ConsolidatedMetadata::from_v2_zmetadata(text.as_bytes(), &reg(), &lim())?;
                assert!(!c.nodes.is_empty());
            }
            Ok(())
        })();
        if let Err(e) = result {
            failures.push(alloc::format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{} fixtures failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_numeric_dtype_in_both_formats() {
    let cases = [
        ("bool", DataType::Bool),
        ("int8", DataType::Int8),
        ("int16", DataType::Int16),
        ("int32", DataType::Int32),
        ("int64", DataType::Int64),
        ("uint8", DataType::UInt8),
        ("uint16", DataType::UInt16),
        ("uint32", DataType::UInt32),
        ("uint64", DataType::UInt64),
        ("float16", DataType::Float16),
        ("float32", DataType::Float32),
        ("float64", DataType::Float64),
        ("complex64", DataType::Complex64),
        ("complex128", DataType::Complex128),
    ];
    for (name, dtype) in cases {
        let a3 = v3_fixture(name);
        let a2 = v2(name);
        for a in [&a3, &a2] {
            assert_eq!(a.data_type, dtype, "{name}");
            assert_eq!(a.shape, vec![10, 7]);
            assert_eq!(a.chunk_grid, ChunkGrid::Regular { chunk_shape: vec![5, 3] });
            assert_eq!(a.fill_value.0, vec![0u8; dtype.size().unwrap()], "{name}");
        }
        assert_eq!(a3.chunk_key(&[1, 2]), "c/1/2");
        assert_eq!(a2.chunk_key(&[1, 2]), "1.2");
        // Same chunk bytes in both formats: little endian (or none for one-byte types).
        assert_eq!(a3.codecs.array_to_bytes, a2.codecs.array_to_bytes, "{name}");
        assert_eq!(a3.codecs.bytes_to_bytes, a2.codecs.bytes_to_bytes, "{name}");
    }
}

#[test]
fn float_fill_values() {
    assert_eq!(v3_fixture("f4_nan").fill_value.0, 0x7fc0_0000u32.to_ne_bytes());
    let a = v3_fixture("f8_inf");
    assert_eq!(a.fill_value.0, f64::NEG_INFINITY.to_ne_bytes());
    assert_eq!(a.attributes["b"], json!([1, "x"]));
    assert_eq!(a.dimension_names, Some(vec![Some("x".into())]));
    assert_eq!(v2("f8_nan").fill_value.0, 0x7ff8_0000_0000_0000u64.to_ne_bytes());
    assert_eq!(v2("f8_nan").attributes["a"], json!(1));
    assert_eq!(v2("f4_inf").fill_value.0, f32::INFINITY.to_ne_bytes());
    assert_eq!(v3_fixture("f8_val").fill_value.0, 1.5f64.to_ne_bytes());
    let c8 = v3_fixture("c8_val").fill_value.0;
    assert_eq!(c8, [1f32.to_ne_bytes(), 2f32.to_ne_bytes()].concat());
    let c16 = v2("c16_val").fill_value.0;
    assert_eq!(c16, [0x7ff8_0000_0000_0000u64.to_ne_bytes(), (-1f64).to_ne_bytes()].concat());
    assert_eq!(v3_fixture("i8_neg").fill_value.0, i64::MIN.to_ne_bytes());
    assert_eq!(v2("u8_max").fill_value.0, u64::MAX.to_ne_bytes());
}

#[test]
fn v2_byte_order_becomes_the_bytes_codec() {
    let a = v2("be_i4");
    assert_eq!(a.data_type, DataType::Int32);
    assert_eq!(a.fill_value.0, 7i32.to_ne_bytes());
    assert_eq!(
        a.codecs.array_to_bytes,
        ArrayToBytesCodec::Bytes(codec::bytes::BytesCodec { endian: Some(Endian::Big) })
    );
    let a = v2("be_f8"); // order "F" on a 1-d array: nothing to transpose
    assert!(a.codecs.array_to_array.is_empty());
    assert_eq!(
        a.codecs.array_to_bytes,
        ArrayToBytesCodec::Bytes(codec::bytes::BytesCodec { endian: Some(Endian::Big) })
    );
    let a = v2("int8");
    assert_eq!(a.codecs.array_to_bytes, ArrayToBytesCodec::Bytes(codec::bytes::BytesCodec { endian: None }));
    // zarr-python 3 writes v3 arrays little endian whatever the numpy byte order asked.
    let a = v3_fixture("be_v3");
    assert_eq!(
        a.codecs.array_to_bytes,
        ArrayToBytesCodec::Bytes(codec::bytes::BytesCodec { endian: Some(Endian::Little) })
    );
}

#[test]
fn v2_order_f_filters_and_compressor() {
    let a = v2("v2_F");
    assert_eq!(
        a.codecs.array_to_array,
        vec![ArrayToArrayCodec::Transpose(codec::transpose::Transpose { order: vec![2, 1, 0] })]
    );
    assert!(matches!(a.codecs.bytes_to_bytes[..], [BytesToBytesCodec::Lz4(_)]));

    let a = v2("v2_filters");
    let names: Vec<&str> = a.codecs.array_to_array.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["delta", "fixedscaleoffset"]);
    assert!(matches!(a.codecs.bytes_to_bytes[..], [BytesToBytesCodec::Zstd(_)]));

    let a = v2("v2_astype");
    assert!(matches!(a.codecs.array_to_array[..], [ArrayToArrayCodec::AsType(_)]));
    assert!(matches!(a.codecs.bytes_to_bytes[..], [BytesToBytesCodec::Gzip(_)]));

    let a = v2("v2_none");
    assert!(a.codecs.bytes_to_bytes.is_empty());
    assert_eq!(v2("v2_slash").chunk_key(&[3, 4]), "3/4");
    let zero_d = v2("v2_0d");
    assert_eq!(zero_d.chunk_key(&[]), "0");
    assert_eq!(zero_d.fill_value.0, 1f32.to_ne_bytes());
}

#[test]
fn v2_blosc_gets_the_item_size() {
    let a = v2("v2_blosc");
    let blosc = reg().v2(&json!({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0})).unwrap();
    let crate::codec::AnyCodec::BytesToBytes(BytesToBytesCodec::Blosc(b)) = blosc else { panic!("not blosc") };
    assert_eq!(a.codecs.bytes_to_bytes, vec![BytesToBytesCodec::Blosc(b.clone().with_typesize(8))]);
    // fixedscaleoffset to <i4 hands the compressor 4-byte elements.
    let doc = json!({"shape": [10], "chunks": [5], "dtype": "<f8", "fill_value": 0.0, "order": "C",
        "filters": [{"id": "fixedscaleoffset", "scale": 10, "offset": 1, "dtype": "<f8", "astype": "<i4"}],
        "dimension_separator": ".", "zarr_format": 2,
        "compressor": {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0}});
    let a = ArrayMetadata::from_v2_json(&serde_json::to_vec(&doc).unwrap(), None, &reg(), &lim()).unwrap();
    assert_eq!(a.codecs.bytes_to_bytes, vec![BytesToBytesCodec::Blosc(b.with_typesize(4))]);
}

#[test]
fn strings_bytes_and_times() {
    for a in [v3_fixture("str"), v2("str")] {
        assert_eq!(a.data_type, DataType::String);
        assert!(matches!(a.codecs.array_to_bytes, ArrayToBytesCodec::VlenUtf8(_)));
        assert_eq!(a.fill_value.0, b"");
    }
    assert_eq!(v3_fixture("str_fill").fill_value.0, "hé".as_bytes());
    for a in [v3_fixture("vbytes"), v2("vbytes")] {
        assert_eq!(a.data_type, DataType::Bytes);
        assert!(matches!(a.codecs.array_to_bytes, ArrayToBytesCodec::VlenBytes(_)));
    }
    let utf32: Vec<u8> = [u32::from('a'), u32::from('b'), 0, 0, 0].iter().flat_map(|c| c.to_ne_bytes()).collect();
    for a in [v3_fixture("U5"), v2("U5")] {
        assert_eq!(a.data_type, DataType::FixedUtf32(5));
        assert_eq!(a.fill_value.0, utf32);
    }
    assert_eq!(
        v2("U5").codecs.array_to_bytes,
        ArrayToBytesCodec::Bytes(codec::bytes::BytesCodec { endian: Some(Endian::Little) })
    );
    for a in [v3_fixture("S4"), v2("S4")] {
        assert_eq!(a.data_type, DataType::FixedBytes(4));
        assert_eq!(a.fill_value.0, b"ab\0\0");
    }
    for a in [v3_fixture("V3"), v2("V3")] {
        assert_eq!(a.data_type, DataType::RawBits(24));
        assert_eq!(a.fill_value.0, [0, 0, 0]);
    }
    for a in [v3_fixture("M8ns"), v2("M8ns")] {
        assert_eq!(a.data_type, DataType::DateTime64 { unit: TimeUnit::Nanosecond, scale_factor: 1 });
    }
    for a in [v3_fixture("m8s"), v2("m8s")] {
        assert_eq!(a.data_type, DataType::TimeDelta64 { unit: TimeUnit::Second, scale_factor: 1 });
        assert_eq!(a.fill_value.0, 5i64.to_ne_bytes());
    }
    for a in [v3_fixture("M8_10ms"), v2("M8_10ms")] {
        assert_eq!(a.data_type, DataType::DateTime64 { unit: TimeUnit::Millisecond, scale_factor: 10 });
        assert_eq!(a.fill_value.0, NAT.to_ne_bytes());
    }
}

#[test]
fn v3_codecs_and_key_encodings() {
    let a = v3_fixture("transpose");
    assert_eq!(
        a.codecs.array_to_array,
        vec![ArrayToArrayCodec::Transpose(codec::transpose::Transpose { order: vec![1, 0] })]
    );
    assert_eq!(
        a.codecs.array_to_bytes,
        ArrayToBytesCodec::Bytes(codec::bytes::BytesCodec { endian: Some(Endian::Big) })
    );
    assert!(a.codecs.bytes_to_bytes.is_empty());
    assert!(matches!(v3_fixture("gzip").codecs.bytes_to_bytes[..], [BytesToBytesCodec::Gzip(_)]));
    assert!(matches!(
        v3_fixture("zstd_crc").codecs.bytes_to_bytes[..],
        [BytesToBytesCodec::Zstd(_), BytesToBytesCodec::Crc32c(_)]
    ));
    assert!(matches!(v3_fixture("blosc").codecs.bytes_to_bytes[..], [BytesToBytesCodec::Blosc(_)]));
    let nc = v3_fixture("ncodecs");
    assert!(matches!(nc.codecs.array_to_array[..], [ArrayToArrayCodec::Delta(_)]));
    assert!(matches!(nc.codecs.bytes_to_bytes[..], [BytesToBytesCodec::Zlib(_)]));
    let shard = v3_fixture("shard");
    let s = shard.codecs.sharding().expect("a sharded array");
    assert_eq!(s.chunk_shape, vec![4, 4]);
    assert_eq!(shard.chunk_grid, ChunkGrid::Regular { chunk_shape: vec![8, 8] });
    let zero_d = v3_fixture("shard0d");
    assert_eq!(zero_d.chunk_key(&[]), "c");
    assert_eq!(zero_d.fill_value.0, 3f32.to_ne_bytes());
    assert_eq!(v3_fixture("sep_dot").chunk_key(&[1, 0]), "c.1.0");
    assert_eq!(v3_fixture("v2key").chunk_key(&[1, 0]), "1/0");
}

#[test]
fn v3_group_with_consolidated_metadata() {
    let g = GroupMetadata::from_v3_json(fixture("grp3.zarr.json").as_bytes(), &reg(), &lim()).unwrap();
    assert_eq!(g.zarr_format, ZarrFormat::V3);
    assert_eq!(g.attributes["title"], "x");
    let c = g.consolidated.as_ref().unwrap();
    assert_eq!(c.nodes.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "sub", "sub/b"]);
    let NodeMetadata::Array(b) = &c.nodes["sub/b"] else { panic!("sub/b is an array") };
    assert_eq!(b.fill_value.0, 0x7fc0_0000u32.to_ne_bytes());
    let NodeMetadata::Group(sub) = &c.nodes["sub"] else { panic!("sub is a group") };
    assert_eq!(sub.consolidated, Some(consolidated::ConsolidatedMetadata::default()));
    assert!(ArrayMetadata::from_v3_json(fixture("grp3.zarr.json").as_bytes(), &reg(), &lim()).is_err());
}

#[test]
fn navigating_a_consolidated_hierarchy() {
    let g = GroupMetadata::from_v3_json(fixture("grp3.zarr.json").as_bytes(), &reg(), &lim()).unwrap();
    assert_eq!(g.consolidated_children().unwrap(), ["a", "sub"]);
    // A child group sees its own subtree, keyed relative to it.
    let Some(NodeMetadata::Group(sub)) = g.consolidated_child("/sub/") else { panic!("sub is a group") };
    assert_eq!(sub.consolidated_children().unwrap(), ["b"]);
    assert!(matches!(sub.consolidated_child("b"), Some(NodeMetadata::Array(_))));
    assert!(matches!(g.consolidated_child("sub/b"), Some(NodeMetadata::Array(_))));
    // Not listed, or no consolidated metadata at all: the driver reads the node itself.
    assert!(g.consolidated_child("nope").is_none());
    let plain = GroupMetadata { consolidated: None, ..g };
    assert!(plain.consolidated_child("a").is_none() && plain.consolidated_children().is_none());
}

#[test]
fn v2_consolidated_metadata() {
    let c = consolidated::ConsolidatedMetadata::from_v2_zmetadata(fixture("grp2.zmetadata").as_bytes(), &reg(), &lim())
        .unwrap();
    assert_eq!(c.nodes.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "sub", "sub/b"]);
    let NodeMetadata::Array(a) = &c.nodes["a"] else { panic!("a is an array") };
    assert_eq!(a.attributes["units"], "m");
    assert_eq!(a.data_type, DataType::Int8);
    assert!(matches!(a.codecs.bytes_to_bytes[..], [BytesToBytesCodec::Blosc(_)]));
    let NodeMetadata::Array(b) = &c.nodes["sub/b"] else { panic!("sub/b is an array") };
    assert_eq!(b.shape, vec![2, 2]);
    let g =
        GroupMetadata::from_v2_json(fixture("grp2.zgroup").as_bytes(), Some(fixture("grp2.zattrs").as_bytes()), &lim())
            .unwrap();
    assert_eq!(g.attributes["title"], "y");
    let bad = br#"{"metadata": {}, "zarr_consolidated_format": 2}"#;
    assert!(consolidated::ConsolidatedMetadata::from_v2_zmetadata(bad, &reg(), &lim()).is_err());
}

/// A minimal valid v3 array document to mutate in tests.
fn base_v3() -> Value {
    json!({
        "zarr_format": 3, "node_type": "array", "shape": [6, 6], "data_type": "uint8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0, "codecs": [{"name": "bytes"}]
    })
}

fn parse_v3(doc: &Value) -> Result<ArrayMetadata> {
    ArrayMetadata::from_v3_json(&serde_json::to_vec(doc).unwrap(), &reg(), &lim())
}

fn with(mut doc: Value, key: &str, v: Value) -> Value {
    doc[key] = v;
    doc
}

#[test]
fn short_hand_names_and_must_understand() {
    let doc = with(with(base_v3(), "chunk_key_encoding", json!("v2")), "codecs", json!(["bytes"]));
    let a = parse_v3(&doc).unwrap();
    assert_eq!(a.chunk_key(&[1, 2]), "1.2");

    // An unknown field must be understood unless it says otherwise.
    let err = parse_v3(&with(base_v3(), "spam", json!({"x": 1}))).unwrap_err();
    assert_eq!(err, Error::Unsupported { kind: "metadata field", name: "spam".into() });
    assert!(parse_v3(&with(base_v3(), "spam", json!(1))).is_err());
    let doc = with(base_v3(), "spam", json!({"must_understand": false, "x": [1.5, "y"]}));
    let a = parse_v3(&doc).unwrap();
    assert_eq!(value(&a.to_json()), doc);

    // Unknown codecs may be skipped only when marked so.
    let codecs = json!([{"name": "bytes"}, {"name": "shiny", "must_understand": false}]);
    assert!(parse_v3(&with(base_v3(), "codecs", codecs)).is_ok());
    let codecs = json!([{"name": "bytes"}, {"name": "shiny"}]);
    assert!(matches!(parse_v3(&with(base_v3(), "codecs", codecs)), Err(Error::Unsupported { .. })));

    // Storage transformers.
    let st = json!([{"name": "chunk-manifest-json", "configuration": {}}]);
    let err = parse_v3(&with(base_v3(), "storage_transformers", st)).unwrap_err();
    assert_eq!(err, Error::Unsupported { kind: "storage transformer", name: "chunk-manifest-json".into() });
    assert!(parse_v3(&with(base_v3(), "storage_transformers", json!([]))).is_ok());

    // Unknown data types, grids and key encodings name themselves.
    let err = parse_v3(&with(base_v3(), "data_type", json!("float8_e4m3"))).unwrap_err();
    assert_eq!(err, Error::Unsupported { kind: "data type", name: "float8_e4m3".into() });
    let err = parse_v3(&with(base_v3(), "chunk_grid", json!({"name": "hexagonal"}))).unwrap_err();
    assert_eq!(err, Error::Unsupported { kind: "chunk grid", name: "hexagonal".into() });
    let err = parse_v3(&with(base_v3(), "chunk_key_encoding", json!("fanout"))).unwrap_err();
    assert_eq!(err, Error::Unsupported { kind: "chunk key encoding", name: "fanout".into() });
}

#[test]
fn rectilinear_grids() {
    // The example of the zarr-extensions specification.
    let grid = json!({"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [
        [[2, 3]], [[1, 6]], [1, [2, 1], 3], [[1, 3], 3], [6]
    ]}});
    let doc = with(with(base_v3(), "shape", json!([6, 6, 6, 6, 6])), "chunk_grid", grid);
    let a = parse_v3(&doc).unwrap();
    let ChunkGrid::Rectilinear { dims } = &a.chunk_grid else { panic!("rectilinear") };
    assert_eq!(dims[0], DimChunks::Explicit(vec![0, 2, 4, 6]));
    assert_eq!(dims[1], DimChunks::Explicit(vec![0, 1, 2, 3, 4, 5, 6]));
    assert_eq!(dims[2], DimChunks::Explicit(vec![0, 1, 3, 6]));
    assert_eq!(dims[3], DimChunks::Explicit(vec![0, 1, 2, 3, 6]));
    assert_eq!(dims[4], DimChunks::Explicit(vec![0, 6]));
    assert_eq!(a.chunk_grid.grid_shape(&a.shape), vec![3, 6, 3, 4, 1]);
    assert_eq!(a.chunk_repr(&[2, 0, 2, 3, 0]).unwrap().shape, vec![2, 1, 3, 3, 6]);
    assert_eq!(value(&a.to_json()), doc);

    // Serializing a resolved grid run-length encodes it and parses back the same.
    let out = v3::chunk_grid_to_json(&a.chunk_grid);
    assert_eq!(out["configuration"]["chunk_shapes"][1], json!([[1, 6]]));
    assert_eq!(v3::parse_chunk_grid(&out, &a.shape, "k", &lim()).unwrap(), a.chunk_grid);

    // A plain integer is a regular length along that dimension.
    let grid = json!({"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [4, [5, 1]]}});
    let a = parse_v3(&with(base_v3(), "chunk_grid", grid)).unwrap();
    assert_eq!(a.chunk_grid.grid_shape(&a.shape), vec![2, 2]);

    // A run far past the end of the array expands only as far as the array.
    let grid = json!({"name": "rectilinear", "configuration": {"kind": "inline",
        "chunk_shapes": [[[1, 1_000_000_000_000_000u64]], [6]]}});
    let a = parse_v3(&with(base_v3(), "chunk_grid", grid)).unwrap();
    assert_eq!(a.chunk_grid.grid_shape(&a.shape), vec![6, 1]);

    // ...but a huge array with tiny chunks hits the limit instead of allocating.
    let grid = json!({"name": "rectilinear", "configuration": {"kind": "inline",
        "chunk_shapes": [[[1, 1_000_000_000_000u64]], [6]]}});
    let doc = with(with(base_v3(), "shape", json!([1_000_000_000_000u64, 6])), "chunk_grid", grid);
    assert!(matches!(parse_v3(&doc), Err(Error::LimitExceeded { .. })));

    for bad in [
        json!([[0, 6], [6]]),      // zero length
        json!([[-1, 7], [6]]),     // negative length
        json!([[2, 2], [6]]),      // does not cover 6
        json!([[[2, 3]]]),         // wrong rank
        json!([[[2, 3, 1]], [6]]), // malformed run
        json!([["2"], [6]]),       // not a number
    ] {
        let grid = json!({"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": bad}});
        let err = parse_v3(&with(base_v3(), "chunk_grid", grid)).unwrap_err();
        assert!(matches!(err, Error::InvalidMetadata { .. }), "{bad}: {err}");
    }
}

#[test]
fn hostile_documents_fail_cleanly() {
    let cases = [
        with(base_v3(), "shape", json!([u64::MAX, 2])),
        with(base_v3(), "shape", json!([-1, 2])),
        with(base_v3(), "shape", json!("6")),
        with(base_v3(), "chunk_grid", json!({"name": "regular", "configuration": {"chunk_shape": [0, 3]}})),
        with(base_v3(), "chunk_grid", json!({"name": "regular", "configuration": {"chunk_shape": [-2, 3]}})),
        with(base_v3(), "chunk_grid", json!({"name": "regular", "configuration": {"chunk_shape": [2]}})),
        with(
            base_v3(),
            "chunk_grid",
            json!({"name": "regular", "configuration": {"chunk_shape": [1u64 << 40, 1u64 << 40]}}),
        ),
        with(base_v3(), "chunk_grid", json!({"name": "regular"})),
        with(base_v3(), "zarr_format", json!(2)),
        with(base_v3(), "node_type", json!("group")),
        with(base_v3(), "fill_value", json!(256)),
        with(base_v3(), "fill_value", Value::Null),
        with(base_v3(), "codecs", json!([])),
        with(base_v3(), "codecs", json!({})),
        with(base_v3(), "attributes", json!([1])),
        with(base_v3(), "dimension_names", json!(["x"])),
        with(base_v3(), "chunk_key_encoding", json!({"name": "default", "configuration": {"separator": "-"}})),
        with(
            base_v3(),
            "data_type",
            json!({"name": "fixed_length_utf32", "configuration": {"length_bytes": 4_000_000_000u64}}),
        ),
        json!([1, 2, 3]),
    ];
    for doc in cases {
        let err = parse_v3(&doc).unwrap_err();
        assert!(!alloc::format!("{err}").is_empty());
    }
    let deep = alloc::format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(ArrayMetadata::from_v3_json(deep.as_bytes(), &reg(), &lim()).is_err());
    let small = Limits { max_metadata_bytes: 100, ..Limits::default() };
    let doc = serde_json::to_vec(&base_v3()).unwrap();
    assert!(matches!(ArrayMetadata::from_v3_json(&doc, &reg(), &small), Err(Error::LimitExceeded { .. })));
    assert!(ArrayMetadata::from_v3_json(b"\xff\xfe", &reg(), &lim()).is_err());
    assert!(ArrayMetadata::from_v3_json(b"", &reg(), &lim()).is_err());

    let v2_cases = [
        r#"{"zarr_format": 2, "shape": [4], "chunks": [0], "dtype": "<i4", "fill_value": 0, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2, 2], "dtype": "<i4", "fill_value": 0, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "|i4", "fill_value": 0, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<i4", "fill_value": 0, "order": "K", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "|O", "fill_value": 0, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [], "fill_value": null, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [["a", "<i4", [0]]], "fill_value": null, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [["a", "<i4"], ["a", "<i4"]], "fill_value": null, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [["a", "|O"]], "fill_value": null, "order": "C", "filters": [{"id": "vlen-utf8"}], "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [["a", "<f8", [4294967296, 4294967296]]], "fill_value": null, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [["a", "<i4"]], "fill_value": "AAAA", "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [["a", "<i4"]], "fill_value": 1.5, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [["a", "<i4"]], "fill_value": null, "order": "C", "filters": [{"id": "vlen-bytes"}], "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": [[["a"], "<i4"]], "fill_value": null, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<i4", "fill_value": "x", "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<i4", "fill_value": 0, "order": "C", "filters": [{"id": "vlen-utf8"}], "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "|S999999999999", "fill_value": null, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<i4", "fill_value": 0, "order": "C", "filters": null, "compressor": null, "dimension_separator": ":"}"#,
        r#"{"zarr_format": 3, "shape": [4], "chunks": [2], "dtype": "<i4", "fill_value": 0, "order": "C", "filters": null, "compressor": null}"#,
        r#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<i4", "fill_value": 0, "order": "C", "filters": null, "compressor": {"id": "lzma"}}"#,
    ];
    for doc in v2_cases {
        assert!(ArrayMetadata::from_v2_json(doc.as_bytes(), None, &reg(), &lim()).is_err(), "{doc}");
    }
    // Records nested past the depth limit, and a record of more bytes than a chunk may hold.
    let mut deep = String::from(r#"[["x", "<i4"]]"#);
    for _ in 0..100 {
        deep = alloc::format!(r#"[["n", {deep}]]"#);
    }
    let wide: Vec<String> = (0..60_000).map(|i| alloc::format!(r#"["f{i}", "|S40000"]"#)).collect();
    for dtype in [deep, alloc::format!("[{}]", wide.join(","))] {
        let doc = alloc::format!(
            r#"{{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": {dtype}, "fill_value": null, "order": "C", "filters": null, "compressor": null}}"#
        );
        assert!(ArrayMetadata::from_v2_json(doc.as_bytes(), None, &reg(), &lim()).is_err());
    }
    // v3 types that are refused by name.
    for name in ["uint4", "uint2", "float8_e4m3", "float6_e2m3fn", "structured"] {
        let err = parse_v3(&with(base_v3(), "data_type", json!(name))).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }) && alloc::format!("{err}").contains(name), "{err}");
    }
}

#[test]
fn v2_structured_dtype() {
    let doc = br#"{"zarr_format": 2, "shape": [3], "chunks": [2], "dtype": [["a", "<i4"], ["b", ">f8", [2]], ["c", "|S3"]],
        "fill_value": "AQAAAAAAAAAAAAAAAAAAAAAAAAB4eXo=", "order": "C", "filters": null, "compressor": {"id": "zlib", "level": 1}}"#;
    let a = ArrayMetadata::from_v2_json(doc, None, &reg(), &lim()).unwrap();
    let DataType::Structured(s) = &a.data_type else { panic!("{:?}", a.data_type) };
    assert_eq!(s.size(), 4 + 16 + 3);
    assert_eq!(a.fill_value.0.len(), 23);
    assert_eq!(&a.fill_value.0[20..], b"xyz");
    assert_eq!(a.data_type.to_v2_json(None).unwrap(), json!([["a", "<i4"], ["b", ">f8", [2]], ["c", "|S3"]]));
    assert!(alloc::format!("{}", a.data_type).starts_with("structured[[\"a\""));
}

#[test]
fn python_non_finite_tokens_in_attributes() {
    let doc = br#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<f8", "fill_value": NaN,
        "order": "C", "filters": null, "compressor": null}"#;
    let a = ArrayMetadata::from_v2_json(doc, Some(br#"{"valid_min": -Infinity}"#), &reg(), &lim()).unwrap();
    assert_eq!(a.fill_value.0, 0x7ff8_0000_0000_0000u64.to_ne_bytes());
    assert_eq!(a.attributes["valid_min"], "-Infinity");
}

#[test]
fn zero_chunk_length_only_along_an_empty_dimension() {
    // zarr-python writes this for `shape=(0, 5), chunks=(0, 5)`.
    let doc = br#"{"zarr_format": 2, "shape": [0, 5], "chunks": [0, 5], "dtype": "<i4", "fill_value": 0,
        "order": "C", "filters": null, "compressor": null}"#;
    let a = ArrayMetadata::from_v2_json(doc, None, &reg(), &lim()).unwrap();
    assert_eq!(a.chunk_grid.grid_shape(&a.shape), vec![0, 1]);
    let doc = br#"{"zarr_format": 2, "shape": [1, 5], "chunks": [0, 5], "dtype": "<i4", "fill_value": 0,
        "order": "C", "filters": null, "compressor": null}"#;
    assert!(ArrayMetadata::from_v2_json(doc, None, &reg(), &lim()).is_err());
}

#[test]
fn v2_null_fill_and_xarray_dimension_names() {
    let doc = br#"{"zarr_format": 2, "shape": [4, 2], "chunks": [2, 2], "dtype": "<M8[s]", "fill_value": null,
        "order": "C", "filters": null, "compressor": null}"#;
    let a = ArrayMetadata::from_v2_json(doc, Some(br#"{"_ARRAY_DIMENSIONS": ["time", "x"]}"#), &reg(), &lim()).unwrap();
    assert_eq!(a.fill_value.0, NAT.to_ne_bytes());
    assert_eq!(a.dimension_names, Some(vec![Some("time".into()), Some("x".into())]));
    let doc = br#"{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<f4", "fill_value": null,
        "order": "C", "filters": null, "compressor": null}"#;
    assert_eq!(ArrayMetadata::from_v2_json(doc, None, &reg(), &lim()).unwrap().fill_value.0, [0; 4]);
}

#[test]
fn builder_writes_what_zarr_python_writes() {
    let zstd = json!({"name": "zstd", "configuration": {"level": 0, "checksum": false}});
    for (name, dtype) in [("int8", DataType::Int8), ("float64", DataType::Float64), ("bool", DataType::Bool)] {
        let mut b = ArrayBuilder::new(vec![10, 7], dtype.clone(), vec![5, 3]);
        let bytes = if dtype.swap_unit() > 1 {
            json!({"name": "bytes", "configuration": {"endian": "little"}})
        } else {
            json!({"name": "bytes"})
        };
        b.codecs = vec![bytes, zstd.clone()];
        let a = ArrayMetadata::new_v3(&b, &reg(), &lim()).unwrap();
        assert_eq!(a.document, value(fixture(&alloc::format!("{name}.zarr.json")).as_bytes()), "{name}");

        b.v2_compressor = Some(json!({"id": "zstd", "level": 0}));
        let a = ArrayMetadata::new_v2(&b, &reg(), &lim()).unwrap();
        assert_eq!(a.document, value(fixture(&alloc::format!("{name}.zarray")).as_bytes()), "{name}");
    }
    let mut b = ArrayBuilder::new(vec![4], DataType::String, vec![2]);
    b.v2_compressor = Some(json!({"id": "zstd", "level": 0}));
    assert_eq!(ArrayMetadata::new_v2(&b, &reg(), &lim()).unwrap().document, value(fixture("str.zarray").as_bytes()));
    let mut b = ArrayBuilder::new(vec![4], DataType::FixedUtf32(5), vec![2]);
    b.fill_value = Some(FillValue::from_json(&DataType::FixedUtf32(5), &json!("ab"), false).unwrap());
    b.v2_compressor = Some(json!({"id": "zstd", "level": 0}));
    assert_eq!(ArrayMetadata::new_v2(&b, &reg(), &lim()).unwrap().document, value(fixture("U5.zarray").as_bytes()));
}

#[test]
fn builder_defaults_and_errors() {
    for dtype in [
        DataType::Float16,
        DataType::BFloat16,
        DataType::Complex128,
        DataType::RawBits(16),
        DataType::FixedBytes(3),
        DataType::String,
        DataType::Bytes,
        DataType::DateTime64 { unit: TimeUnit::Microsecond, scale_factor: 5 },
    ] {
        let mut b = ArrayBuilder::new(vec![7, 3], dtype.clone(), vec![2, 3]);
        b.dimension_names = Some(vec![Some("y".into()), None]);
        b.attributes.insert("k".into(), json!([1, 2]));
        let a = ArrayMetadata::new_v3(&b, &reg(), &lim()).unwrap();
        assert_eq!(a.data_type, dtype);
        assert_eq!(a.fill_value, FillValue::default_for(&dtype));
        assert_eq!(ArrayMetadata::from_v3_json(&a.to_json(), &reg(), &lim()).unwrap(), a);
        if dtype != DataType::BFloat16 {
            let a2 = ArrayMetadata::new_v2(&b, &reg(), &lim()).unwrap();
            assert_eq!(a2.data_type, dtype);
            let again = ArrayMetadata::from_v2_json(&a2.to_json(), Some(&a2.zattrs_json()), &reg(), &lim()).unwrap();
            assert_eq!(again, a2);
        } else {
            assert!(ArrayMetadata::new_v2(&b, &reg(), &lim()).is_err());
        }
    }
    let mut b = ArrayBuilder::new(vec![7], DataType::Int16, vec![2]);
    b.fill_value = Some(FillValue(vec![1]));
    assert!(ArrayMetadata::new_v3(&b, &reg(), &lim()).is_err());
    let mut b = ArrayBuilder::new(vec![7], DataType::Int16, vec![2]);
    b.chunk_grid = ChunkGrid::Rectilinear { dims: vec![DimChunks::Explicit(vec![0, 3, 7])] };
    let a = ArrayMetadata::new_v3(&b, &reg(), &lim()).unwrap();
    assert_eq!(a.chunk_grid, b.chunk_grid);
    assert!(ArrayMetadata::new_v2(&b, &reg(), &lim()).is_err());
}

#[test]
fn groups() {
    let mut attrs = serde_json::Map::new();
    attrs.insert("a".into(), json!(1));
    for format in [ZarrFormat::V2, ZarrFormat::V3] {
        let g = GroupMetadata::new(format, attrs.clone());
        let back = match format {
            ZarrFormat::V3 => GroupMetadata::from_v3_json(&g.to_json(), &reg(), &lim()).unwrap(),
            ZarrFormat::V2 => GroupMetadata::from_v2_json(&g.to_json(), Some(&g.zattrs_json()), &lim()).unwrap(),
        };
        assert_eq!(back, g);
    }
    let bad = br#"{"zarr_format": 3, "node_type": "group", "extra": true}"#;
    assert!(GroupMetadata::from_v3_json(bad, &reg(), &lim()).is_err());
    let ok = br#"{"zarr_format": 3, "node_type": "group", "extra": {"must_understand": false}, "consolidated_metadata": null}"#;
    assert!(GroupMetadata::from_v3_json(ok, &reg(), &lim()).unwrap().consolidated.is_none());
    let unsupported_child = br#"{"zarr_format": 3, "node_type": "group", "consolidated_metadata": {"kind": "inline",
        "must_understand": false, "metadata": {"x": {"zarr_format": 3, "node_type": "array", "shape": [1],
        "data_type": "float8", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": ["bytes"]}, "y": {"zarr_format": 3,
        "node_type": "group"}}}}"#;
    let g = GroupMetadata::from_v3_json(unsupported_child, &reg(), &lim()).unwrap();
    assert_eq!(g.consolidated.unwrap().nodes.keys().collect::<Vec<_>>(), ["y"]);
}

#[test]
fn fill_value_json_is_what_zarr_python_writes() {
    // A v3 document gives its own value back.
    assert_eq!(v3_fixture("f4_nan").fill_value_json(), json!("NaN"));
    assert_eq!(v3_fixture("f8_inf").fill_value_json(), json!("-Infinity"));
    assert_eq!(v3_fixture("bool").fill_value_json(), json!(false));
    assert_eq!(v3_fixture("str_fill").fill_value_json(), json!("h\u{e9}"));
    // A v2 array's fill value, written as zarr-python writes the same array in v3.
    let mut differ = Vec::new();
    for (name, _) in FIXTURES {
        let Some(stem) = name.strip_suffix(".zarray") else { continue };
        let Some(v3_doc) = FIXTURES.iter().find(|(n, _)| *n == alloc::format!("{stem}.zarr.json")) else { continue };
        let from_v2 = v2(stem).fill_value_json();
        let from_v3 = v3(v3_doc.1).unwrap().fill_value_json();
        if from_v2 != from_v3 {
            differ.push(alloc::format!("{stem}: {from_v2} vs {from_v3}"));
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn chunk_and_shard_shapes() {
    let shard = v3_fixture("shard");
    assert_eq!(shard.chunk_shape(), Some(vec![4, 4]));
    assert_eq!(shard.shard_shape(), Some(vec![8, 8]));
    assert_eq!(shard.chunk_grid_shape(), vec![2, 2]);
    let plain = v2("int16");
    assert_eq!(plain.shard_shape(), None);
    assert_eq!(plain.chunk_shape(), Some(plain.chunk_grid.dims().iter().map(DimChunks::max_len).collect()));
    let grid = json!({"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [[2, 3]]}});
    let doc = with(with(base_v3(), "shape", json!([5])), "chunk_grid", grid);
    let irregular = parse_v3(&doc).unwrap();
    assert_eq!((irregular.chunk_shape(), irregular.shard_shape()), (None, None));
    assert_eq!(irregular.chunk_grid_shape(), vec![2]);
}

#[test]
fn consolidated_metadata_written_reads_back_in_both_formats() {
    // v3: the nodes of zarr-python's document, written again and parsed back.
    let read = GroupMetadata::from_v3_json(fixture("grp3.zarr.json").as_bytes(), &reg(), &lim()).unwrap();
    let mut nodes = consolidated::ConsolidatedMetadata::default();
    for (path, node) in &read.consolidated.as_ref().unwrap().nodes {
        nodes.insert(path, node.clone());
    }
    let plain = GroupMetadata::new(ZarrFormat::V3, read.attributes.clone());
    let written = plain.with_consolidated(nodes);
    let docs = written.consolidated_documents();
    assert_eq!(docs.iter().map(|d| d.0).collect::<Vec<_>>(), [ZARR_JSON]);
    let again = GroupMetadata::from_v3_json(&docs[0].1, &reg(), &lim()).unwrap();
    assert_eq!(again.attributes, read.attributes);
    let (a, b) = (again.consolidated.unwrap(), read.consolidated.unwrap());
    assert_eq!(a.nodes.keys().collect::<Vec<_>>(), b.nodes.keys().collect::<Vec<_>>());
    assert_eq!(a.nodes["sub/b"], b.nodes["sub/b"]);
    assert_eq!(a.nodes["a"], b.nodes["a"]);

    // v2: `.zmetadata` with the root's own documents, every node's `.zattrs`.
    let read =
        consolidated::ConsolidatedMetadata::from_v2_zmetadata(fixture("grp2.zmetadata").as_bytes(), &reg(), &lim())
            .unwrap();
    let mut nodes = consolidated::ConsolidatedMetadata::default();
    for (path, node) in &read.nodes {
        nodes.insert(path, node.clone());
    }
    let mut attrs = Map::new();
    attrs.insert("title".into(), "y".into());
    let group = GroupMetadata::new(ZarrFormat::V2, attrs).with_consolidated(nodes);
    let docs = group.consolidated_documents();
    assert_eq!(docs.iter().map(|d| d.0).collect::<Vec<_>>(), [ZMETADATA]);
    let text: Value = serde_json::from_slice(&docs[0].1).unwrap();
    assert_eq!(text["metadata"][".zattrs"]["title"], "y");
    assert_eq!(text["metadata"]["sub/b/.zattrs"], serde_json::json!({}));
    let again = consolidated::ConsolidatedMetadata::from_v2_zmetadata(&docs[0].1, &reg(), &lim()).unwrap();
    assert_eq!(again.nodes.keys().collect::<Vec<_>>(), read.nodes.keys().collect::<Vec<_>>());
    assert_eq!(again.nodes["a"], read.nodes["a"]);
    assert_eq!(again.nodes["sub/b"], read.nodes["sub/b"]);

    // A node of the other format is not part of either document.
    let mut mixed = consolidated::ConsolidatedMetadata::default();
    mixed.insert("v2", NodeMetadata::Group(GroupMetadata::new(ZarrFormat::V2, Map::new())));
    mixed.insert("v3", NodeMetadata::Group(GroupMetadata::new(ZarrFormat::V3, Map::new())));
    let g = GroupMetadata::new(ZarrFormat::V3, Map::new()).with_consolidated(mixed);
    assert_eq!(g.consolidated.unwrap().nodes.keys().collect::<Vec<_>>(), ["v3"]);
}
