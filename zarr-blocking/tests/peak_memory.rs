//! A 200 MiB typed read into the caller's buffer (`read_into_elements::<u64>`) peaks at
//! most 1.1x the output plus the local read budget above what the process held before.
//!
//! Measured, not estimated: the parent writes the array (uncompressed 1 MiB chunks)
//! into a temporary directory through the store, then runs this test binary again as a
//! child process that does nothing but open, read into its own buffer and check the
//! values, and report its peak resident set (`VmHWM` in `/proc/self/status`) at exit.
//! The child's peak includes the buffer, the test harness and everything the read held
//! at once (chunks in flight, waiting for decode, decoding).

use std::process::Command;

use zarr_blocking::proto::{FlowControl, StoreKind};
use zarr_blocking::{s, Array, FsStore, Store};

/// Elements per chunk: 1 MiB of `u64`.
const CHUNK: u64 = 1 << 17;
/// Elements in the array: 200 chunks, 200 MiB.
const LEN: u64 = 200 * CHUNK;
/// The child's environment variable: the array's directory.
const CHILD_ENV: &str = "ZARR_BLOCKING_PEAK_MEMORY_ARRAY";

fn value(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Writes the array: metadata and every chunk, through the filesystem store.
fn write_array(dir: &std::path::Path) {
    let store = FsStore::new(dir);
    let meta = format!(
        r#"{{"zarr_format":3,"node_type":"array","shape":[{LEN}],"data_type":"uint64",
        "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[{CHUNK}]}}}},
        "chunk_key_encoding":{{"name":"default"}},"fill_value":0,
        "codecs":[{{"name":"bytes","configuration":{{"endian":"little"}}}}]}}"#
    );
    store.set_blocking("zarr.json", meta.into_bytes().into()).expect("metadata written");
    for c in 0..LEN / CHUNK {
        let bytes: Vec<u8> = (c * CHUNK..(c + 1) * CHUNK).flat_map(|i| value(i).to_le_bytes()).collect();
        store.set_blocking(&format!("c/{c}"), bytes.into()).expect("chunk written");
    }
}

/// The peak resident set of this process so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM in kB");
    kib << 10
}

/// The child's part: runs only when the parent set the variable.
#[test]
fn child_reads_into_a_buffer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let before = peak_rss();
    let array = Array::open(&dir).expect("open");
    let mut out = vec![0u64; LEN as usize];
    array.read_into_elements(&s![..], &mut out).expect("read");
    let wrong = out.iter().zip(0..).filter(|&(&v, i)| v != value(i)).count();
    assert_eq!(wrong, 0, "elements differ from what was written");
    println!("peak_rss_before={before} peak_rss={}", peak_rss());
}

#[test]
#[cfg(target_os = "linux")]
fn typed_read_into_a_buffer_peaks_within_1_1x_output_plus_budget() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_array(tmp.path());
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args(["--exact", "child_reads_into_a_buffer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, tmp.path())
        .output()
        .expect("child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let field = |name: &str| -> u64 {
        let key = format!("{name}=");
        let at = stdout.find(&key).unwrap_or_else(|| panic!("no {name} in the child's output:\n{stdout}"));
        stdout[at + key.len()..].split_whitespace().next().and_then(|n| n.parse().ok()).expect("a number")
    };
    let (before, peak) = (field("peak_rss_before"), field("peak_rss"));
    let output = LEN * 8;
    println!("output {} MiB, peak {} MiB (before the read {} MiB)", output >> 20, peak >> 20, before >> 20);
    let budget = FlowControl::for_store(StoreKind::Local).buffer_bytes;
    let bound = before + output + output / 10 + budget;
    assert!(
        peak <= bound,
        "peak {} MiB > {} MiB before + 1.1 x output {} MiB + budget {} MiB",
        peak >> 20,
        before >> 20,
        output >> 20,
        budget >> 20
    );
    assert!(peak > output, "the peak must include the output: the child did not read");
}
