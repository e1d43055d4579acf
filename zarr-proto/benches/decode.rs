//! Codec decode throughput on a 1 MiB uint16 chunk, ours vs numcodecs.
//!
//! ```text
//! cargo bench -p zarr-proto --features zstd-native --bench decode
//! ```
//!
//! 1. Builds a realistic chunk: a smooth 512 x 1024 uint16 field plus small noise.
//! 2. Runs `bench/decode_peers.py` (numcodecs, the C libraries zarr-python uses) on it,
//!    which writes numcodecs' encoding of the chunk for each codec and times its decode.
//! 3. Decodes those same blobs here, checks the output, and times it.
//!
//! Throughput is decoded bytes / median time of one `decode` call (which allocates its
//! output, as numcodecs' `decode` does), single-threaded. Without Python (or with
//! `ZARR_BENCH_NO_PEERS=1`) the blobs come from our own encoders and the peer columns
//! are empty. `ZARR_BENCH_PYTHON` picks the interpreter (default `/work/venv/bin/python`,
//! else `python3`); `ZARR_BENCH_MIN_TIME` the seconds per measurement (default 1).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zarr_proto::codec::{AnyCodec, BytesToBytesCodec, CodecRegistry};

const ROWS: usize = 512;
const COLS: usize = 1024;

fn chunk() -> Vec<u8> {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(ROWS * COLS * 2);
    for y in 0..ROWS {
        for x in 0..COLS {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let noise = (rng % 5) as f64 - 2.0;
            let (xf, yf) = (x as f64, y as f64);
            let v = 20000.0
                + 2000.0 * (xf * std::f64::consts::TAU / 1000.0).sin() * (yf * std::f64::consts::TAU / 700.0).cos()
                + 300.0 * ((xf + 2.0 * yf) / 90.0).sin()
                + noise;
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
    }
    out
}

/// The first 1 MiB of `value * 0.1` as `T` (f32 or f64), little-endian: the float cases,
/// made exactly as `bench/decode_peers.py` makes them (one correctly rounded multiply).
fn float_chunk(raw: &[u8], itemsize: usize) -> Vec<u8> {
    let values = raw.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).take(raw.len() / itemsize);
    match itemsize {
        4 => values.flat_map(|v| (f32::from(v) * 0.1f32).to_le_bytes()).collect(),
        _ => values.flat_map(|v| (f64::from(v) * 0.1f64).to_le_bytes()).collect(),
    }
}

/// Median seconds of one call of `f`, after a warm-up, over at least `min_time` and 10 calls.
fn measure(min_time: Duration, mut f: impl FnMut()) -> (f64, usize) {
    for _ in 0..3 {
        f();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 10 || start.elapsed() < min_time {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times.len())
}

struct Peer {
    mib_s: f64,
    blob: Vec<u8>,
}

/// Runs the numcodecs script; returns its per-codec results and a header line, or why not.
fn run_peers(raw_path: &Path, dir: &Path, min_time: f64) -> Result<(Vec<(String, Peer)>, String), String> {
    if std::env::var_os("ZARR_BENCH_NO_PEERS").is_some() {
        return Err("ZARR_BENCH_NO_PEERS is set".into());
    }
    let python = std::env::var("ZARR_BENCH_PYTHON").unwrap_or_else(|_| {
        if Path::new("/work/venv/bin/python").exists() {
            "/work/venv/bin/python".into()
        } else {
            "python3".into()
        }
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/decode_peers.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg("--raw")
        .arg(raw_path)
        .arg("--out")
        .arg(dir)
        .arg("--min-time")
        .arg(min_time.to_string())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{python} {}: {}", script.display(), String::from_utf8_lossy(&output.stderr).trim()));
    }
    let mut peers = Vec::new();
    let mut header = String::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("bad line from peers script: {e}: {line}"))?;
        if let Some(name) = v["name"].as_str() {
            let blob = std::fs::read(dir.join(format!("{name}.bin"))).map_err(|e| format!("{name}.bin: {e}"))?;
            peers.push((name.to_string(), Peer { mib_s: v["mib_per_s"].as_f64().unwrap_or(f64::NAN), blob }));
        } else {
            header = format!(
                "numcodecs {} (c-blosc {}), Python {}",
                v["numcodecs"].as_str().unwrap_or("?"),
                v["blosc_version"].as_str().unwrap_or("?"),
                v["python"].as_str().unwrap_or("?")
            );
        }
    }
    Ok((peers, header))
}

fn codec(registry: &CodecRegistry, v2: Value) -> Result<BytesToBytesCodec, String> {
    match registry.v2(&v2) {
        Ok(AnyCodec::BytesToBytes(c)) => Ok(c),
        Ok(_) => Err(format!("{v2} is not a bytes->bytes codec")),
        Err(e) => Err(e.to_string()),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and should be quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let min_time = std::env::var("ZARR_BENCH_MIN_TIME").ok().and_then(|s| s.parse().ok()).unwrap_or(if quick {
        0.05
    } else {
        1.0
    });
    let raw = chunk();
    let dir: PathBuf = std::env::temp_dir().join(format!("zarr-bench-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the bench scratch directory");
    let raw_path = dir.join("chunk_u16.bin");
    std::fs::write(&raw_path, &raw).expect("write the raw chunk");

    let (peers, peer_header) = match run_peers(&raw_path, &dir, min_time) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("numcodecs peers skipped: {why}");
            (Vec::new(), String::from("numcodecs: not run"))
        }
    };

    let native = CodecRegistry::default();
    let pure = CodecRegistry::pure_rust();
    let blosc_cfg = json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0});
    let blosc = |shuffle: u8| json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": shuffle, "blocksize": 0});
    let (f32s, f64s) = (float_chunk(&raw, 4), float_chunk(&raw, 8));
    // (row label, numcodecs name, registry, v2 config, raw chunk)
    let mut rows: Vec<(String, &str, &CodecRegistry, Value, &[u8])> = vec![
        ("zstd (ruzstd)".into(), "zstd", &pure, json!({"id": "zstd", "level": 3}), &raw[..]),
        ("gzip (miniz_oxide)".into(), "gzip", &pure, json!({"id": "gzip", "level": 5}), &raw[..]),
        ("blosc lz4 + byte shuffle".into(), "blosc-lz4-shuffle", &pure, blosc_cfg, &raw[..]),
        ("blosc lz4 + bit shuffle".into(), "blosc-lz4-bitshuffle", &pure, blosc(2), &raw[..]),
        ("blosc lz4 + byte shuffle, f32".into(), "blosc-lz4-shuffle-f4", &pure, blosc(1), &f32s[..]),
        ("blosc lz4 + bit shuffle, f32".into(), "blosc-lz4-bitshuffle-f4", &pure, blosc(2), &f32s[..]),
        ("blosc lz4 + byte shuffle, f64".into(), "blosc-lz4-shuffle-f8", &pure, blosc(1), &f64s[..]),
        ("blosc lz4 + bit shuffle, f64".into(), "blosc-lz4-bitshuffle-f8", &pure, blosc(2), &f64s[..]),
    ];
    if cfg!(feature = "zstd-native") {
        rows.insert(
            1,
            ("zstd (libzstd, zstd-native)".into(), "zstd", &native, json!({"id": "zstd", "level": 3}), &raw[..]),
        );
    } else {
        eprintln!("zstd-native is off: libzstd row skipped (add --features zstd-native)");
    }

    println!("Codec decode throughput, 1 MiB uint16 chunk ({ROWS}x{COLS}, smooth field + noise), one thread");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?");
    println!("peers: {peer_header}; median of >= {min_time} s per row; load average before: {load}");
    println!();
    println!("| codec | encoded bytes | zarr-proto MiB/s | numcodecs MiB/s | zarr-proto / numcodecs |");
    println!("|---|---:|---:|---:|---:|");
    for (label, peer_name, registry, cfg, raw) in rows {
        let peer = peers.iter().find(|(n, _)| n == peer_name).map(|(_, p)| p);
        let codec = match codec(registry, cfg.clone()) {
            Ok(c) => c,
            Err(e) => {
                println!("| {label} | | not available: {e} | | |");
                continue;
            }
        };
        let blob = match peer {
            Some(p) => p.blob.clone(),
            None => match codec.encode(raw) {
                Ok(b) => b,
                Err(e) => {
                    println!("| {label} | | encode failed: {e} | | |");
                    continue;
                }
            },
        };
        match codec.decode(&blob, raw.len()) {
            Ok(out) if out == raw => {}
            Ok(_) => {
                println!("| {label} | {} | WRONG OUTPUT | | |", blob.len());
                continue;
            }
            Err(e) => {
                println!("| {label} | {} | decode failed: {e} | | |", blob.len());
                continue;
            }
        }
        let (median, _) = measure(Duration::from_secs_f64(min_time), || {
            let out = codec.decode(std::hint::black_box(&blob), raw.len()).expect("decoded once already");
            std::hint::black_box(out);
        });
        let ours = raw.len() as f64 / median / (1 << 20) as f64;
        let (theirs, ratio) = match peer {
            Some(p) => (format!("{:.0}", p.mib_s), format!("{:.2}", ours / p.mib_s)),
            None => (String::from("-"), String::from("-")),
        };
        println!("| {label} | {} | {ours:.0} | {theirs} | {ratio} |", blob.len());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
