//! Decodes (and re-encodes) chunks written by zarr-python 3.1.6 / numcodecs 0.16.6.
//!
//! The fixtures and `manifest.json` live in `zarr-proto/testdata/codec/` and come from
//! `gen.py` there. For every stored chunk (or shard) the test checks that decoding gives
//! the values zarr-python read back (elements outside the array's edge are the fill value)
//! and that encoding those values gives back the stored bytes exactly.

use std::path::PathBuf;
use std::vec::Vec;

use serde_json::Value;

use crate::codec::{AnyCodec, ArrayToBytesCodec, ChunkRepr, CodecChain, CodecRegistry};
use crate::dtype::{DataType, Endian, FillValue};
use crate::limits::Limits;
use crate::ndarray::ArrayBytes;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/codec")
}

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(dir().join("manifest.json")).expect("manifest.json");
    serde_json::from_str::<Value>(&text).expect("manifest parses").as_array().expect("a list").clone()
}

fn dtype(name: &str) -> DataType {
    match name {
        "int16" => DataType::Int16,
        "int32" => DataType::Int32,
        "uint16" => DataType::UInt16,
        "float32" => DataType::Float32,
        "float64" => DataType::Float64,
        "string" => DataType::String,
        "bytes" => DataType::Bytes,
        other => panic!("fixture dtype {other}"),
    }
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array().expect("list").iter().map(|d| d.as_u64().expect("u64")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// The chain of one fixture: v3 `codecs`, or v2 filters plus a `bytes` codec for the dtype's order.
fn chain(entry: &Value) -> CodecChain {
    let registry = CodecRegistry::default();
    if let Some(codecs) = entry.get("codecs") {
        return registry.v3_chain(codecs.as_array().expect("codecs list")).expect("v3 chain builds");
    }
    let v2 = &entry["v2"];
    let mut codecs: Vec<AnyCodec> =
        v2["filters"].as_array().expect("filters").iter().map(|f| registry.v2(f).expect("v2 filter builds")).collect();
    if !codecs.iter().any(|c| matches!(c, AnyCodec::ArrayToBytes(_))) {
        let endian = match v2["dtype"].as_str().expect("dtype").as_bytes()[0] {
            b'<' => Some(Endian::Little),
            b'>' => Some(Endian::Big),
            _ => None,
        };
        codecs.push(AnyCodec::ArrayToBytes(ArrayToBytesCodec::Bytes(crate::codec::bytes::BytesCodec { endian })));
    }
    CodecChain::from_codecs(codecs).expect("v2 chain builds")
}

/// Every element of the array, C order, as one item each (native byte order).
fn expected_elements(entry: &Value, dt: &DataType) -> Vec<Vec<u8>> {
    if let Some(strings) = entry.get("expected_strings") {
        return strings
            .as_array()
            .expect("strings")
            .iter()
            .map(|s| {
                let s = s.as_str().expect("string");
                if *dt == DataType::Bytes {
                    unhex(s)
                } else {
                    s.as_bytes().to_vec()
                }
            })
            .collect();
    }
    let raw = std::fs::read(dir().join(entry["expected"].as_str().expect("expected"))).expect("expected.bin");
    let size = dt.size().expect("fixed");
    raw.chunks_exact(size)
        .map(|e| {
            let mut e = e.to_vec();
            if Endian::NATIVE == Endian::Big {
                crate::codec::bytes::swap_bytes(&mut e, dt.swap_unit());
            }
            e
        })
        .collect()
}

fn fill(entry: &Value, dt: &DataType) -> FillValue {
    match entry.get("fill_value_hex") {
        Some(h) => {
            let mut b = unhex(h.as_str().expect("hex"));
            if Endian::NATIVE == Endian::Big {
                crate::codec::bytes::swap_bytes(&mut b, dt.swap_unit());
            }
            FillValue(b)
        }
        None => FillValue(entry["fill_value"].as_str().unwrap_or("").as_bytes().to_vec()),
    }
}

/// The expected content of the chunk at `origin`: array values inside, fill value outside.
fn expected_chunk(all: &[Vec<u8>], shape: &[u64], chunk: &[u64], origin: &[u64], fill: &FillValue) -> Vec<Vec<u8>> {
    let n: u64 = chunk.iter().product();
    (0..n)
        .map(|lin| {
            let mut rem = lin;
            let mut local = std::vec![0u64; chunk.len()];
            for d in (0..chunk.len()).rev() {
                local[d] = rem % chunk[d];
                rem /= chunk[d];
            }
            let global: Vec<u64> = local.iter().zip(origin).map(|(l, o)| l + o).collect();
            if global.iter().zip(shape).all(|(g, s)| g < s) {
                let idx = global.iter().zip(shape).fold(0u64, |acc, (g, s)| acc * s + g);
                all[idx as usize].clone()
            } else {
                fill.0.clone()
            }
        })
        .collect()
}

#[test]
fn zarr_python_fixtures_decode_and_reencode_byte_for_byte() {
    let entries = manifest();
    assert!(entries.len() >= 12, "manifest lists every fixture");
    let mut checked = 0;
    for entry in &entries {
        let name = entry["name"].as_str().expect("name");
        let dt = dtype(entry["dtype"].as_str().expect("dtype"));
        let shape = u64s(&entry["shape"]);
        let chunk_shape = u64s(&entry["chunk_shape"]);
        let fill = fill(entry, &dt);
        let chain = chain(entry);
        let all = expected_elements(entry, &dt);
        let repr = ChunkRepr { shape: chunk_shape.clone(), dtype: dt.clone(), fill_value: fill.clone() };
        for c in entry["chunks"].as_array().expect("chunks") {
            let stored = std::fs::read(dir().join(c["file"].as_str().expect("file"))).expect("chunk file");
            let origin = u64s(&c["origin"]);
            let want = expected_chunk(&all, &shape, &chunk_shape, &origin, &fill);
            let got = chain.decode(&stored, &repr, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got_items: Vec<Vec<u8>> = match &got {
                ArrayBytes::Fixed(b) => b.chunks_exact(dt.size().expect("fixed")).map(<[u8]>::to_vec).collect(),
                ArrayBytes::Variable(v) => v.clone(),
            };
            assert_eq!(got_items, want, "{name} chunk {}", c["key"]);
            let again = chain.encode(got, &repr).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(again, stored, "{name} chunk {} re-encodes to zarr-python's bytes", c["key"]);
            checked += 1;
        }
    }
    assert!(checked >= 30, "checked {checked} chunks");
}

#[test]
fn zarr_python_shard_indexes_mark_empty_inner_chunks() {
    let entries = manifest();
    let entry = entries.iter().find(|e| e["name"] == "shard_end_crc").expect("fixture");
    let chain = chain(entry);
    let sharding = chain.sharding().expect("the chain is exactly sharding_indexed");
    let cps = sharding.chunks_per_shard(&[4, 4]).expect("divisible");
    assert_eq!(cps, [2, 2]);
    assert_eq!(sharding.index_size(&cps).expect("fixed size"), 4 * 16 + 4);
    let stored = std::fs::read(dir().join("shard_end_crc/c.0.0")).expect("shard");
    let index_bytes = &stored[stored.len() - 68..];
    let index = sharding.decode_index(index_bytes, &cps, &Limits::default()).expect("index decodes");
    // Inner chunk (0, 1) of shard (0, 0) is all fill value; zarr-python did not store it.
    assert_eq!(index.get(sharding.inner_chunk_index(&cps, &[0, 1])), None);
    assert_eq!(index.get(sharding.inner_chunk_index(&cps, &[0, 0])), Some((0, 16)));
    // Morton order: (0,0), (1,0), (0,1), (1,1) -> (1, 0) is stored second.
    assert_eq!(index.get(sharding.inner_chunk_index(&cps, &[1, 0])), Some((16, 16)));
    // A flipped bit fails the crc32c check.
    let mut bad = index_bytes.to_vec();
    bad[3] ^= 1;
    assert!(sharding.decode_index(&bad, &cps, &Limits::default()).is_err());
    // An index larger than the limit is refused before decoding.
    let tight = Limits { max_shard_index_bytes: 32, ..Limits::default() };
    assert!(matches!(sharding.decode_index(index_bytes, &cps, &tight), Err(crate::Error::LimitExceeded { .. })));
}
