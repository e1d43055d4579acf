//! `zarr get` of a 128 MiB uint16 array to `.npy` peaks below the output plus 64 MiB of
//! resident memory, and writes every element right: present chunks, missing chunks
//! (a fill value of 7, not zero, so the fill is really written) and an edge chunk.
//!
//! Measured, not estimated: the `zarr` process reports its own peak resident set
//! (`VmHWM`) in its last line, after the `.npy` is written. The peak covers the
//! output, the chunks in flight and the write of the file. A fill pass over the whole
//! output before the chunks overwrite it costs time, not peak memory, so this test
//! guards the memory only; the values guard the fill.

use std::process::Command;

/// Elements per chunk: 1 MiB of uint16.
const CHUNK: u64 = 1 << 19;
/// Elements in the array: 127.5 chunks, so the last chunk is partly outside the array.
const LEN: u64 = 127 * CHUNK + CHUNK / 2;
/// The fill value; chunks whose index is a multiple of 8 are not written.
const FILL: u16 = 7;
/// What the read may hold beyond its output.
const SLACK: u64 = 64 << 20;

fn value(i: u64) -> u16 {
    (i.wrapping_mul(0x9E37_79B9) >> 7) as u16
}

fn missing(chunk: u64) -> bool {
    chunk % 8 == 0
}

/// Writes the array as files: uncompressed chunks, so the read's own memory is little
/// beyond the output and the measurement shows what `zarr get` adds.
fn write_array(dir: &std::path::Path) {
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

#[test]
#[cfg(target_os = "linux")]
fn get_to_npy_peaks_below_output_plus_64_mib() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let array = tmp.path().join("a.zarr");
    std::fs::create_dir(&array).expect("array directory");
    write_array(&array);
    let npy = tmp.path().join("out.npy");
    let out = Command::new(env!("CARGO_BIN_EXE_zarr"))
        .arg("get")
        .arg(&array)
        .arg("-o")
        .arg(&npy)
        .output()
        .expect("zarr runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "zarr get failed:\n{stderr}");
    let at = stderr.find("peak memory ").unwrap_or_else(|| panic!("no peak memory in:\n{stderr}"));
    let peak_mib: f64 = stderr[at + "peak memory ".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after 'peak memory' in:\n{stderr}"));
    let peak = (peak_mib * 1048576.0) as u64;
    let output = LEN * 2;
    println!("output {} MiB, peak {peak_mib} MiB", output >> 20);
    assert!(peak < output + SLACK, "peak {peak_mib} MiB >= output {} MiB + 64 MiB", output >> 20);
    assert!(peak > output, "the peak must include the output: zarr get did not read");

    let file = std::fs::read(&npy).expect("the .npy file");
    assert_eq!(&file[..8], b"\x93NUMPY\x01\x00", "an .npy of format 1.0");
    let header_len = 10 + u16::from_le_bytes([file[8], file[9]]) as usize;
    let header = String::from_utf8_lossy(&file[10..header_len]);
    assert!(header.contains(&format!("'shape': ({LEN},)")), "header {header}");
    let data = &file[header_len..];
    assert_eq!(data.len() as u64, output, "the .npy holds the whole output");
    let wrong: Vec<u64> = (0..LEN)
        .filter(|&i| {
            let got = u16::from_ne_bytes([data[2 * i as usize], data[2 * i as usize + 1]]);
            got != if missing(i / CHUNK) { FILL } else { value(i) }
        })
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "elements differ from what was written, first at {wrong:?}");
}
