//! `zarr get` of a 256 MiB uint16 array to `.npy` peaks at most 1.1x its output plus
//! the local read budget above what the process holds anyway, and writes every element
//! right. Two arrays: uncompressed chunks with missing ones (a fill value of 7, not
//! zero, so the fill is really written) and an edge chunk; and zstd-compressed shards,
//! whose inner chunks share the memory of the piece of shard they came in.
//!
//! Measured, not estimated: the `zarr` process reports its own peak resident set
//! (`VmHWM`) in its last line, after the `.npy` is written. The peak covers the
//! output, the chunks in flight and the write of the file. What the process holds
//! anyway (its code, the runtime) is measured the same way, by a `zarr get` of one
//! element of the same array, and not counted: it differs between debug and release
//! builds and is not the read's.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use zarr_blocking::proto::{ArrayBytes, Compression, FlowControl, StoreKind};
use zarr_blocking::{Array, ArrayBuilder, CodecRegistry, DataType, FsStore, Limits, NdArray, Selection};

/// Elements per chunk: 1 MiB of uint16.
const CHUNK: u64 = 1 << 19;
/// Elements in the unsharded array: 255.5 chunks, so the last chunk is partly outside it.
const LEN: u64 = 255 * CHUNK + CHUNK / 2;
/// The fill value; chunks whose index is a multiple of 8 are not written.
const FILL: u16 = 7;
/// Elements of the sharded array (256 MiB), of a shard (8 MiB) and of an inner chunk (64 KiB).
const SHARDED_LEN: u64 = 128 << 20;
const SHARD: u64 = 4 << 20;
const INNER: u64 = 32 << 10;

fn value(i: u64) -> u16 {
    (i.wrapping_mul(0x9E37_79B9) >> 7) as u16
}

/// Compressible, like measurements: a slow ramp with a little noise.
fn smooth(i: u64) -> u16 {
    ((i >> 9) as u16).wrapping_add((i.wrapping_mul(0x9E37_79B9) >> 29) as u16 & 7)
}

fn missing(chunk: u64) -> bool {
    chunk % 8 == 0
}

/// Writes the unsharded array as files: uncompressed chunks, so the read's own memory is
/// little beyond the output and the measurement shows what `zarr get` adds.
fn write_chunked(dir: &Path) {
    let meta = format!(
        r#"{{"zarr_format":3,"node_type":"array","shape":[{LEN}],"data_type":"uint16",
        "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[{CHUNK}]}}}},
        "chunk_key_encoding":{{"name":"default"}},"fill_value":{FILL},
        "codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}]}}"#
    );
    std::fs::write(dir.join("zarr.json"), meta).expect("metadata written");
    std::fs::create_dir(dir.join("c")).expect("chunk directory");
    for c in (0..LEN.div_ceil(CHUNK)).filter(|&c| !missing(c)) {
        // A stored edge chunk has the whole chunk's shape; elements past the array are ignored.
        let bytes: Vec<u8> = (c * CHUNK..(c + 1) * CHUNK).flat_map(|i| value(i).to_le_bytes()).collect();
        std::fs::write(dir.join(format!("c/{c}")), bytes).expect("chunk written");
    }
}

/// Writes the sharded array through the library: zstd shards of 64 KiB inner chunks.
fn write_sharded(dir: &Path) {
    let mut builder = ArrayBuilder::new(vec![SHARDED_LEN], DataType::UInt16, vec![INNER]);
    builder.shard_shape = Some(vec![SHARD]);
    builder.compression = Compression::Zstd { level: 1 };
    let meta = builder.build_v3(&CodecRegistry::default(), &Limits::default()).expect("metadata");
    let data: Vec<u8> = (0..SHARDED_LEN).flat_map(|i| smooth(i).to_ne_bytes()).collect();
    Array::create(Arc::new(FsStore::new(dir)), "", meta)
        .expect("create")
        .write(
            &Selection::all(),
            NdArray { dtype: DataType::UInt16, shape: vec![SHARDED_LEN], data: ArrayBytes::Fixed(data) },
        )
        .expect("write");
}

/// Runs `zarr get ARRAY [--select SELECT] -o NPY`; its peak resident set in bytes.
fn zarr_get(array: &Path, select: Option<&str>, npy: &Path) -> u64 {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zarr"));
    cmd.arg("get").arg(array).arg("-o").arg(npy);
    if let Some(select) = select {
        cmd.args(["--select", select]);
    }
    let out = cmd.output().expect("zarr runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "zarr get failed:\n{stderr}");
    let at = stderr.find("peak memory ").unwrap_or_else(|| panic!("no peak memory in:\n{stderr}"));
    let peak_mib: f64 = stderr[at + "peak memory ".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after 'peak memory' in:\n{stderr}"));
    (peak_mib * 1048576.0) as u64
}

/// The `.npy` file's uint16 elements, after checking its header says `len` of them.
fn npy_elements(npy: &Path, len: u64) -> Vec<u16> {
    let file = std::fs::read(npy).expect("the .npy file");
    assert_eq!(&file[..8], b"\x93NUMPY\x01\x00", "an .npy of format 1.0");
    let header_len = 10 + u16::from_le_bytes([file[8], file[9]]) as usize;
    let header = String::from_utf8_lossy(&file[10..header_len]);
    assert!(header.contains(&format!("'shape': ({len},)")), "header {header}");
    let data = &file[header_len..];
    assert_eq!(data.len() as u64, len * 2, "the .npy holds the whole output");
    data.chunks_exact(2).map(|b| u16::from_ne_bytes([b[0], b[1]])).collect()
}

/// Reads `array` whole with `zarr get` and checks the peak against the bound; the elements.
fn get_within_bound(array: &Path, len: u64) -> Vec<u16> {
    let dir = array.parent().expect("a parent directory");
    let (npy, one) = (dir.join("out.npy"), dir.join("one.npy"));
    let baseline = zarr_get(array, Some("0:1"), &one);
    let peak = zarr_get(array, None, &npy);
    let output = len * 2;
    let budget = FlowControl::for_store(StoreKind::Local).buffer_bytes;
    let bound = baseline + output + output / 10 + budget;
    let mib = |b: u64| b as f64 / 1048576.0;
    println!(
        "output {:.1} MiB, peak {:.1} MiB, one element {:.1} MiB, bound {:.1} MiB",
        mib(output),
        mib(peak),
        mib(baseline),
        mib(bound)
    );
    assert!(
        peak <= bound,
        "peak {:.1} MiB > {:.1} MiB (one element) + 1.1 x output {:.1} MiB + budget {:.1} MiB",
        mib(peak),
        mib(baseline),
        mib(output),
        mib(budget)
    );
    assert!(peak > output, "the peak must include the output: zarr get did not read");
    npy_elements(&npy, len)
}

/// Writes an array of `len` elements with `write`, reads it whole with `zarr get`
/// within the bound, and checks every element against `expected`.
fn get_checks(write: fn(&Path), len: u64, expected: impl Fn(u64) -> u16) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let array = tmp.path().join("a.zarr");
    std::fs::create_dir(&array).expect("array directory");
    write(&array);
    let got = get_within_bound(&array, len);
    let wrong: Vec<u64> = (0..len).filter(|&i| got[i as usize] != expected(i)).take(5).collect();
    assert!(wrong.is_empty(), "elements differ from what was written, first at {wrong:?}");
}

#[test]
#[cfg(target_os = "linux")]
fn get_of_chunks_peaks_within_1_1x_output_plus_budget() {
    get_checks(write_chunked, LEN, |i| if missing(i / CHUNK) { FILL } else { value(i) });
}

#[test]
#[cfg(target_os = "linux")]
fn get_of_shards_peaks_within_1_1x_output_plus_budget() {
    get_checks(write_sharded, SHARDED_LEN, smooth);
}
