//! Reads over real HTTP: every conformance fixture through the test server over
//! HTTP/1.1 and h2c, with the async and the blocking driver; the seed array on one
//! h2c connection; a server that ignores `Range`; faults survived by retries; retries
//! running out.

use std::time::{Duration, Instant};

use zarr_proto::http::RetryPolicy;
use zarr_smol::{HttpConfig, HttpVersion, Selection};
use zarr_store::server::{Fault, Server, ServerConfig, ServerHandle};
use zarr_tests::compare::compare_ndarray;
use zarr_tests::manifest::{fixtures_dir, ArrayFixture, Manifest};

const SEED: &str = "v2_seed_6443";

fn server(config: ServerConfig) -> ServerHandle {
    Server::start(config.addr("127.0.0.1:0".parse().expect("loopback address"))).expect("test server starts")
}

fn config(version: HttpVersion) -> HttpConfig {
    // Many attempts with short delays: at a 20% fault rate a read of ~1300 requests
    // must not run out (0.2^10 per request), and the test stays fast.
    HttpConfig::default().version(version).timeout(Duration::from_secs(2)).retry(RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(100),
    })
}

fn url(server: &ServerHandle, fx: &ArrayFixture) -> String {
    format!("{}/{}", server.url(), fx.path)
}

fn read_async(url: &str, config: HttpConfig) -> Result<zarr_proto::NdArray, String> {
    smol::block_on(async {
        let store = zarr_smol::store_for_url(url, config).map_err(|e| e.to_string())?;
        let array = zarr_smol::Array::open_with(store, "", Default::default()).await.map_err(|e| e.to_string())?;
        array.read(&Selection::all()).await.map_err(|e| e.to_string())
    })
}

fn read_blocking(url: &str, config: HttpConfig) -> Result<zarr_proto::NdArray, String> {
    let store = zarr_blocking::store_for_url(url, config).map_err(|e| e.to_string())?;
    let array = zarr_blocking::Array::open_with(store, "", Default::default()).map_err(|e| e.to_string())?;
    array.read(&Selection::all()).map_err(|e| e.to_string())
}

type Reader = fn(&str, HttpConfig) -> Result<zarr_proto::NdArray, String>;

const READERS: [(&str, Reader); 2] = [("async", read_async), ("blocking", read_blocking)];

fn check(fx: &ArrayFixture, got: Result<zarr_proto::NdArray, String>) -> Result<(), String> {
    let expected = fx.expected()?;
    compare_ndarray(&got?, &expected)
}

#[test]
fn every_fixture_over_http1_and_h2c() {
    let manifest = Manifest::load().expect("manifest");
    let server = server(ServerConfig::dir(fixtures_dir()));
    let mut failures = Vec::new();
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        for (name, read) in READERS {
            for fx in &manifest.arrays {
                if let Err(e) = check(fx, read(&url(&server, fx), config(version))) {
                    failures.push(format!("{} {name} {version:?}: {e}", fx.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(manifest.arrays.len() > 100, "the manifest lists every fixture");
}

#[test]
fn servers_that_ignore_range_still_give_the_right_values() {
    // Every Range request (shard indexes at either end, suffix ranges, inner chunks,
    // the first part of a split value) is answered 200 with the whole value: each
    // must be cut to the part asked for.
    let manifest = Manifest::load().expect("manifest");
    let server = server(ServerConfig::dir(fixtures_dir()).ignore_range(true));
    let sharded: Vec<&ArrayFixture> = manifest.arrays.iter().filter(|fx| fx.name.contains("shard")).collect();
    assert!(sharded.len() >= 5, "sharded fixtures: {}", sharded.len());
    let mut failures = Vec::new();
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        for (name, read) in READERS {
            for fx in sharded.iter().copied().chain(manifest.array(SEED)) {
                if let Err(e) = check(fx, read(&url(&server, fx), config(version))) {
                    failures.push(format!("{} {name} {version:?}: {e}", fx.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    // The server did send whole values where ranges were asked for, and they were cut.
    let doc = std::fs::read(sharded[0].dir().join("zarr.json")).expect("zarr.json");
    for ignore in [false, true] {
        let plain = Server::start(ServerConfig::dir(fixtures_dir()).ignore_range(ignore)).expect("server");
        let store = zarr_smol::store_for_url(&url(&plain, sharded[0]), config(HttpVersion::Http1)).expect("store");
        let got = smol::block_on(store.get("zarr.json", Some(zarr_proto::ByteRange::new(5, 10))));
        assert_eq!(got.expect("get").as_deref(), Some(&doc[5..15]), "ignore_range {ignore}");
        let sent = plain.counters().body_bytes;
        assert_eq!(sent, if ignore { doc.len() as u64 } else { 10 }, "ignore_range {ignore}");
    }
}

#[test]
fn seed_array_on_one_h2c_connection() {
    let manifest = Manifest::load().expect("manifest");
    let fx = manifest.array(SEED).expect("seed fixture");
    let server = server(ServerConfig::dir(fixtures_dir()));
    for (name, read) in READERS {
        server.reset_counters();
        // One-connection mode: more connections open only while a server's stream limit
        // holds requests back (the default allows 4), never in this mode.
        let one = config(HttpVersion::Http2PriorKnowledge).max_h2_connections(1);
        check(fx, read(&url(&server, fx), one)).expect(name);
        let c = server.counters();
        assert_eq!(c.connections, 1, "{name}: {c:?}");
        assert_eq!(c.requests, 1289 + 5, "{name}: 1289 chunks and 5 metadata documents: {c:?}");
    }
}

#[test]
fn faults_at_20_percent_are_survived_with_correct_data() {
    let manifest = Manifest::load().expect("manifest");
    let fx = manifest.array(SEED).expect("seed fixture");
    let faults = [Fault::Status500, Fault::Status503, Fault::TooManyRequests(0), Fault::Reset, Fault::Truncate];
    for fault in faults {
        let server = server(ServerConfig::dir(fixtures_dir()).fault(fault, 0.2).seed(7));
        for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
            for (name, read) in READERS {
                let got = read(&url(&server, fx), config(version));
                check(fx, got).unwrap_or_else(|e| panic!("{fault:?} {version:?} {name}: {e}"));
            }
        }
        assert!(server.counters().faults > 100, "{fault:?} was injected: {:?}", server.counters());
    }
}

#[test]
fn stalled_responses_time_out_and_are_retried() {
    let manifest = Manifest::load().expect("manifest");
    let fx = manifest.array("v3_blosc_lz4_shuffle").expect("fixture");
    let server = server(ServerConfig::dir(fixtures_dir()).fault(Fault::Stall(Duration::from_secs(30)), 0.2).seed(3));
    for (name, read) in READERS {
        let cfg = config(HttpVersion::Http1).timeout(Duration::from_millis(500));
        check(fx, read(&url(&server, fx), cfg)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn retries_running_out_fail_in_bounded_time_naming_the_key() {
    let manifest = Manifest::load().expect("manifest");
    let fx = manifest.array(SEED).expect("seed fixture");
    let bad = server(ServerConfig::dir(fixtures_dir()).fault(Fault::Status503, 1.0));
    let server = server(ServerConfig::dir(fixtures_dir()));
    for (name, read) in READERS {
        let start = Instant::now();
        let err = read(&url(&bad, fx), config(HttpVersion::Http1)).expect_err("every request fails");
        assert!(start.elapsed() < Duration::from_secs(20), "{name} took {:?}", start.elapsed());
        assert!(err.contains("503"), "{name}: {err}");
        assert!(
            err.contains(".zarray") || err.contains(".zattrs") || err.contains(".zgroup") || err.contains("zarr.json"),
            "{name}: {err}"
        );
    }
    // A chunk failing after the metadata was read names the chunk.
    let healthy = url(&server, fx);
    let array = smol::block_on(zarr_smol::Array::open_with(
        zarr_smol::store_for_url(&healthy, config(HttpVersion::Http1)).expect("store"),
        "",
        Default::default(),
    ))
    .expect("open");
    server.set_faults(vec![(Fault::Status500, 1.0)]);
    let err = smol::block_on(array.read(&Selection::parse("17", Default::default()).expect("selection")))
        .expect_err("chunk requests fail")
        .to_string();
    assert!(err.contains("`3`"), "names chunk 3: {err}");
    assert!(err.contains("500"), "{err}");
}

#[test]
fn async_reads_run_under_any_executor() {
    let manifest = Manifest::load().expect("manifest");
    let fx = manifest.array("v3_shard_nested_compression").expect("fixture");
    let dir = fixtures_dir().join(&fx.path);
    let read = move || {
        let dir = dir.clone();
        async move {
            let store: std::sync::Arc<dyn zarr_smol::Store> = std::sync::Arc::new(zarr_smol::FsStore::new(dir));
            let array = zarr_smol::Array::open_with(store, "", Default::default()).await.map_err(|e| e.to_string())?;
            array.read(&Selection::all()).await.map_err(|e| e.to_string())
        }
    };
    check(fx, futures_lite::future::block_on(read())).expect("futures_lite::future::block_on");
    check(fx, smol::block_on(smol::spawn(read()))).expect("a task on smol's global executor");
    let local = async_executor::LocalExecutor::new();
    check(fx, futures_lite::future::block_on(local.run(read()))).expect("a LocalExecutor");
}
