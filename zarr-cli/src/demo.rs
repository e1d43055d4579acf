//! `zarr demo`: the seed scenario, reproduced locally with no setup.
//!
//! A 6443-element int64 array in 1289 chunks of 5 (v2, blosc-lz4, like the
//! dataset of the original report) is served over loopback with 50 ms latency per
//! request, then read the way the report did (one request at a time) and the way
//! this engine does (every request in flight), async and blocking.

use std::time::{Duration, Instant};

use serde_json::json;
use zarr_proto::codec::CodecRegistry;
use zarr_proto::ArrayBuilder;
use zarr_proto::ArrayBytes;
use zarr_proto::DataType;
use zarr_proto::Limits;
use zarr_proto::Selection;
use zarr_smol::{HttpConfig, HttpVersion, MemoryStore};
use zarr_store::server::{Server, ServerConfig, ServerHandle};

/// Elements in the seed array.
pub(crate) const SEED_LEN: u64 = 6443;
/// Elements per chunk in the seed array.
pub(crate) const SEED_CHUNK: u64 = 5;

/// The seed array's values: daily timestamps in seconds, like the report's `time` array.
pub(crate) fn seed_values() -> Vec<i64> {
    (0..SEED_LEN as i64).map(|i| 1_306_886_400 + i * 86_400).collect()
}

/// A store key and its value.
pub(crate) type Object = (String, Vec<u8>);

/// The seed array's store contents: `(key, value)` pairs for `.zarray`, `.zattrs` and 1289 chunks.
pub(crate) fn seed_objects() -> Result<Vec<Object>, Box<dyn std::error::Error>> {
    let mut b = ArrayBuilder::new(vec![SEED_LEN], DataType::Int64, vec![SEED_CHUNK]);
    b.v2_compressor = Some(json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}));
    b.attributes.insert("units".into(), json!("seconds since 1970-01-01"));
    let meta = b.build_v2(&CodecRegistry::default(), &Limits::default())?;
    let values = seed_values();
    let mut objects = vec![(".zarray".to_string(), meta.to_json()), (".zattrs".to_string(), meta.zattrs_json())];
    let grid = meta.chunk_grid.grid_shape(&meta.shape)[0];
    for c in 0..grid {
        let mut chunk: Vec<u8> = Vec::with_capacity((SEED_CHUNK * 8) as usize);
        for i in c * SEED_CHUNK..(c + 1) * SEED_CHUNK {
            let v = values.get(i as usize).copied().unwrap_or(0);
            chunk.extend_from_slice(&v.to_ne_bytes());
        }
        let encoded = meta.codecs.encode(ArrayBytes::Fixed(chunk), &meta.chunk_repr(&[c])?)?;
        objects.push((meta.chunk_key(&[c]), encoded));
    }
    Ok(objects)
}

/// Writes the seed array into `dir` (for third-party servers such as nginx).
pub(crate) fn write_seed(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    for (key, value) in seed_objects()? {
        let path = dir.join(&key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, value)?;
    }
    Ok(())
}

fn check(values: &[i64], what: &str) -> Result<(), String> {
    if values == seed_values().as_slice() {
        Ok(())
    } else {
        Err(format!("{what}: data differs from what was written"))
    }
}

struct Row {
    how: String,
    seconds: f64,
    requests: u64,
    connections: u64,
    note: &'static str,
}

fn measure(
    server: &ServerHandle,
    how: &str,
    f: impl FnOnce() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<Row, Box<dyn std::error::Error>> {
    server.reset_counters();
    let start = Instant::now();
    f()?;
    let seconds = start.elapsed().as_secs_f64();
    let c = server.counters();
    Ok(Row { how: how.into(), seconds, requests: c.requests, connections: c.connections, note: "" })
}

/// Runs the demo with `latency` per request; prints a table and checks every read's data.
pub(crate) fn run(latency: Duration, sample: u64) -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    for (k, v) in seed_objects()? {
        store.insert(k, v);
    }
    let server = Server::start(ServerConfig::memory(store).latency(latency))?;
    let url = server.url();
    println!(
        "Seed scenario: {SEED_LEN} int64 elements in {} chunks of {SEED_CHUNK} (v2, blosc-lz4)",
        SEED_LEN.div_ceil(SEED_CHUNK)
    );
    println!("served at {url} with {} ms latency per request\n", latency.as_millis());
    let mut rows = Vec::new();
    let n_chunks = SEED_LEN.div_ceil(SEED_CHUNK);
    let sample = sample.clamp(1, n_chunks);
    let part = Selection::parse(&format!("0:{}", sample * SEED_CHUNK), Default::default())?;

    // (a) The original behaviour: a new connection per chunk, one at a time. Sampled, then extrapolated.
    let mut row = measure(&server, "one at a time, new connection each", || {
        for c in 0..sample {
            let store = zarr_blocking::HttpStore::with_config(&url, HttpConfig::default().version(HttpVersion::Http1))?;
            zarr_store::Store::get_blocking(&store, &c.to_string(), None)?;
        }
        Ok(())
    })?;
    row.seconds *= n_chunks as f64 / sample as f64;
    row.requests = n_chunks;
    row.connections = n_chunks;
    row.note = "extrapolated";
    rows.push(row);

    // (b) One reused connection, one request at a time (what a plain sync loop gets).
    let mut row = measure(&server, "one at a time, reused connection", || {
        let store = zarr_blocking::store_for_url(&url, HttpConfig::default().version(HttpVersion::Http1))?;
        let array = zarr_blocking::Array::open_with(store, "", Default::default())?;
        let options = zarr_blocking::ReadOptions { concurrency: Some(1), ..Default::default() };
        array.read_with(&part, &options)?;
        Ok(())
    })?;
    row.seconds *= n_chunks as f64 / sample as f64;
    row.requests = n_chunks;
    row.note = "extrapolated";
    rows.push(row);

    for (version, name) in
        [(HttpVersion::Http1, "HTTP/1.1 pool"), (HttpVersion::Http2PriorKnowledge, "h2c, one connection")]
    {
        rows.push(measure(&server, &format!("zarr-rs async, {name}"), || {
            smol::block_on(async {
                let store =
                    zarr_store::store_for_url(&url, HttpConfig::default().version(version).max_h2_connections(1))?;
                let array = zarr_smol::Array::open_with(store, "", Default::default()).await?;
                let values = array.read(&Selection::all()).await?.to_vec::<i64>()?;
                check(&values, name)?;
                Ok::<_, Box<dyn std::error::Error>>(())
            })
        })?);
        rows.push(measure(&server, &format!("zarr-rs blocking, {name}"), || {
            let store =
                zarr_blocking::store_for_url(&url, HttpConfig::default().version(version).max_h2_connections(1))?;
            let array = zarr_blocking::Array::open_with(store, "", Default::default())?;
            let values = array.read(&Selection::all())?.to_vec::<i64>()?;
            check(&values, name)?;
            Ok(())
        })?);
    }

    println!("{:<42} {:>10} {:>9} {:>12}", "how", "seconds", "requests", "connections");
    for r in &rows {
        println!("{:<42} {:>10.3} {:>9} {:>12}  {}", r.how, r.seconds, r.requests, r.connections, r.note);
    }
    let naive = rows[0].seconds;
    let best = rows.iter().skip(2).map(|r| r.seconds).fold(f64::INFINITY, f64::min);
    println!(
        "\nall reads returned the {SEED_LEN} values that were written; best is {:.0}x faster than one at a time",
        naive / best
    );
    server.stop();
    Ok(())
}
