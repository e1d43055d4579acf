//! Reads fixtures from nginx, a third-party server, over every protocol a store may speak:
//! HTTP/1.1, HTTP/2 over TLS (ALPN), HTTP/1.1 over TLS (like S3) and h2c, plus h2 over
//! TLS and h2c from servers that send GOAWAY every 50 requests, with the async driver
//! (zarr-smol) and the blocking one (zarr-blocking), and compares with numpy's answers.
//!
//! nginx is started through `bench/nginx.sh` on free loopback ports, trusting its
//! self-signed CA through [`HttpConfig::ca_file`], and stopped by a guard even when the
//! test panics. Without nginx the test fails (CI installs it); set `ZARR_SKIP_NGINX=1`
//! to skip it on a machine without nginx.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use zarr_proto::ByteRange;
use zarr_proto::NdArray;
use zarr_proto::Selection;
use zarr_proto::SelectionKind as ProtoKind;
use zarr_smol::{HttpConfig, HttpVersion};
use zarr_tests::compare::compare_ndarray;
use zarr_tests::manifest::{fixtures_dir, Manifest, SelectionKind};
use zarr_tests::nginx::Nginx;

/// Fixtures read through nginx: v2 blosc, v3 sharded with a crc32c index (at the end: suffix
/// ranges; at the start: prefix ranges), v3 sharded with missing shards, v3 zstd, and the
/// seed array (1289 chunks of 5 elements).
const FIXTURES: &[&str] = &[
    "v2_blosc_lz4_shuffle",
    "v3_shard_nested_compression",
    "v3_shard_start",
    "v3_shard_missing_fill",
    "v3_zstd",
    "v2_seed_6443",
];

/// One way to reach nginx.
struct Endpoint {
    name: &'static str,
    url: String,
    config: HttpConfig,
    port: u16,
    /// `$server_protocol` nginx must log for these requests.
    protocol: &'static str,
    /// Requests nginx answers on one connection before it sends GOAWAY, when limited.
    recycle: Option<usize>,
}

fn endpoints(nginx: &Nginx) -> Vec<Endpoint> {
    let ca = PathBuf::from(nginx.var("CA"));
    let tls = || HttpConfig::default().ca_file(&ca);
    vec![
        Endpoint {
            name: "HTTP/1.1",
            url: nginx.var("HTTP_URL").into(),
            config: HttpConfig::default(),
            port: nginx.port,
            protocol: "HTTP/1.1",
            recycle: None,
        },
        Endpoint {
            name: "h2 over TLS (ALPN)",
            url: nginx.var("HTTPS_H2_URL").into(),
            config: tls(),
            port: nginx.port + 1,
            protocol: "HTTP/2.0",
            recycle: None,
        },
        Endpoint {
            name: "HTTP/1.1 over TLS",
            url: nginx.var("HTTPS_H1_URL").into(),
            config: tls(),
            port: nginx.port + 2,
            protocol: "HTTP/1.1",
            recycle: None,
        },
        Endpoint {
            name: "h2c",
            url: nginx.var("H2C_URL").into(),
            config: HttpConfig::default().version(HttpVersion::Http2PriorKnowledge),
            port: nginx.port + 3,
            protocol: "HTTP/2.0",
            recycle: None,
        },
        Endpoint {
            name: "h2 over TLS, GOAWAY every 50 requests",
            url: nginx.var("HTTPS_H2_RECYCLE_URL").into(),
            config: tls(),
            port: nginx.port + 4,
            protocol: "HTTP/2.0",
            recycle: Some(50),
        },
        Endpoint {
            name: "h2c, GOAWAY every 50 requests",
            url: nginx.var("H2C_RECYCLE_URL").into(),
            config: HttpConfig::default().version(HttpVersion::Http2PriorKnowledge),
            port: nginx.port + 5,
            protocol: "HTTP/2.0",
            recycle: Some(50),
        },
    ]
}

fn read_async(url: &str, config: &HttpConfig, selection: &Selection) -> Result<NdArray, String> {
    smol::block_on(async {
        let store = zarr_smol::store_for_url(url, config.clone()).map_err(|e| format!("store: {e}"))?;
        let array =
            zarr_smol::Array::open_with(store, "", Default::default()).await.map_err(|e| format!("open: {e}"))?;
        array.read(selection).await.map_err(|e| format!("read: {e}"))
    })
}

fn read_blocking(url: &str, config: &HttpConfig, selection: &Selection) -> Result<NdArray, String> {
    let store = zarr_blocking::store_for_url(url, config.clone()).map_err(|e| format!("store: {e}"))?;
    let array = zarr_blocking::Array::open_with(store, "", Default::default()).map_err(|e| format!("open: {e}"))?;
    array.read(selection).map_err(|e| format!("read: {e}"))
}

fn proto_kind(kind: SelectionKind) -> ProtoKind {
    match kind {
        SelectionKind::Basic | SelectionKind::Orthogonal => ProtoKind::Orthogonal,
        SelectionKind::Vectorized => ProtoKind::Points,
        SelectionKind::Block => ProtoKind::Blocks,
    }
}

/// Reads the seed fixture over h2 TLS trusting nginx's CA through `SSL_CERT_DIR` (a
/// hashed certificate directory, as `openssl rehash` makes) and then `SSL_CERT_FILE`,
/// async and blocking; returns the failures. Must run before any other TLS client in
/// the process is created, and leaves both variables unset.
fn trusted_through_environment(nginx: &Nginx) -> Vec<String> {
    let mut failures = Vec::new();
    let ca = nginx.var("CA");
    let hash = Command::new("openssl").args(["x509", "-hash", "-noout", "-in", ca]).output().expect("openssl runs");
    let hash = String::from_utf8_lossy(&hash.stdout).trim().to_string();
    let dir = Path::new(nginx.var("PREFIX")).join("certdir");
    std::fs::create_dir_all(&dir).expect("cert dir");
    std::fs::copy(ca, dir.join(format!("{hash}.0"))).expect("hashed CA copy");
    for (var, value) in [("SSL_CERT_DIR", dir.to_string_lossy().into_owned()), ("SSL_CERT_FILE", ca.to_string())] {
        std::env::set_var(var, &value);
        let config = HttpConfig::default();
        // h2 and TLS HTTP/1.1 (both hyper over OpenSSL) open their connections apart.
        for endpoint in ["HTTPS_H2_URL", "HTTPS_H1_URL"] {
            let url = format!("{}/v2_seed_6443.zarr", nginx.var(endpoint));
            for (driver, result) in [
                ("async", read_async(&url, &config, &Selection::all())),
                ("blocking", read_blocking(&url, &config, &Selection::all())),
            ] {
                if let Err(e) = result {
                    failures.push(format!("CA from {var}={value} not trusted over {endpoint} ({driver}): {e}"));
                }
            }
        }
        std::env::remove_var(var);
    }
    failures
}

#[test]
fn fixtures_read_from_nginx_over_every_protocol() {
    if zarr_tests::nginx::skip_requested() {
        eprintln!("ZARR_SKIP_NGINX=1: not testing against nginx");
        return;
    }
    let manifest = Manifest::load().expect("tests/fixtures/manifest.json loads");
    let nginx = Nginx::start(&fixtures_dir().join("data"));
    let endpoints = endpoints(&nginx);
    // First, before any TLS client exists in this process (libcurl's default CA paths
    // are probed once per process): the CA found through the environment, as
    // OpenSSL-based tools do, with no `ca_file` configured.
    let mut failures = trusted_through_environment(&nginx);

    let mut passed = 0usize;
    for name in FIXTURES {
        let fx = manifest.array(name).unwrap_or_else(|| panic!("fixture {name} is not in the manifest"));
        // The whole array, and the first manifest selection that is not the whole array.
        let mut cases = vec![("<all>".to_string(), Selection::all(), fx.expected())];
        if let Some(s) = fx.selections.iter().find(|s| s.expr != "...") {
            let selection = Selection::parse(&s.expr, proto_kind(s.kind)).expect("manifest selection parses");
            cases.push((s.expr.clone(), selection, s.expected()));
        }
        for ep in &endpoints {
            let url = format!("{}/{}.zarr", ep.url, name);
            for (expr, selection, expected) in &cases {
                let expected = expected.as_ref().expect("expected .npy loads");
                for (driver, result) in [
                    ("async", read_async(&url, &ep.config, selection)),
                    ("blocking", read_blocking(&url, &ep.config, selection)),
                ] {
                    match result.and_then(|got| compare_ndarray(&got, expected)) {
                        Ok(()) => passed += 1,
                        Err(e) => failures.push(format!("{name} `{expr}` over {} ({driver}): {e}", ep.name)),
                    }
                }
            }
        }
    }

    // nginx saw each endpoint's requests in the protocol it was meant to speak,
    // and answered shard index and inner-chunk reads with partial content.
    let log = nginx.access_log();
    for ep in &endpoints {
        let port = ep.port.to_string();
        let lines: Vec<&str> = log.lines().filter(|l| l.split(' ').next() == Some(port.as_str())).collect();
        if lines.is_empty() {
            failures.push(format!("nginx logged no request on {} (port {port})", ep.name));
        }
        if let Some(l) = lines.iter().find(|l| l.split(' ').nth(1) != Some(ep.protocol)) {
            failures.push(format!("{} should be {}, nginx logged: {l}", ep.name, ep.protocol));
        }
        let ranged = lines.iter().filter(|l| l.split(' ').nth(2) == Some("206")).count();
        if ranged == 0 {
            failures.push(format!("no 206 (Range) answers on {}", ep.name));
        }
    }

    // Over HTTP/2 (ALPN on TLS, or prior knowledge) one store uses one connection for the
    // whole seed read: 5 metadata requests and 1289 chunks. Over HTTP/1.1 the requests
    // spread over the keep-alive pool; over TLS that means the ones queued behind the
    // first answer moved off the one-connection client once it told HTTP/1.1.
    // nginx writes a request's log line after its last byte went out, so a client can
    // finish before the line is there: count once the log has stopped growing.
    let settled_log = || {
        let mut log = nginx.access_log();
        for _ in 0..40 {
            std::thread::sleep(std::time::Duration::from_millis(25));
            let again = nginx.access_log();
            if again.len() == log.len() {
                break;
            }
            log = again;
        }
        log
    };
    for ep in &endpoints {
        let before = settled_log().lines().count();
        let url = format!("{}/v2_seed_6443.zarr", ep.url);
        if let Err(e) = read_async(&url, &ep.config, &Selection::all()) {
            failures.push(format!("seed over {}: {e}", ep.name));
        }
        let log = settled_log();
        let port = ep.port.to_string();
        let mut per_connection: BTreeMap<&str, usize> = BTreeMap::new();
        for l in log.lines().skip(before).filter(|l| l.split(' ').next() == Some(port.as_str())) {
            *per_connection.entry(l.split(' ').nth(6).unwrap_or("?")).or_default() += 1;
        }
        let connections = per_connection.len();
        // Every request is one the read needed: none sent twice while the protocol was
        // being learned (5 metadata keys, 1289 chunks).
        let requests = log.lines().skip(before).filter(|l| l.split(' ').next() == Some(port.as_str())).count();
        if requests != 1294 {
            failures.push(format!("seed over {} took {requests} requests, expected 1294", ep.name));
        }
        let h2 = ep.protocol == "HTTP/2.0";
        match ep.recycle {
            // A new connection after each GOAWAY, and never more than the limit on one.
            Some(limit) => {
                let busiest = per_connection.values().max().copied().unwrap_or(0);
                if connections < requests.div_ceil(limit) || busiest > limit {
                    failures
                        .push(format!("seed over {}: {connections} connections, busiest served {busiest}", ep.name));
                }
            }
            // One connection, and more (up to `HttpConfig::max_h2_connections`, 4) only
            // because the read's 128 requests exceed nginx's 100 streams per connection.
            None if h2 && !(1..=4).contains(&connections) => {
                failures.push(format!("seed over {} used {connections} connections, expected 1 to 4", ep.name));
            }
            None if !h2 && connections < 2 => {
                failures.push(format!("seed over {} used {connections} connection, expected the pool", ep.name));
            }
            None => {}
        }
    }

    // A tiny request budget over TLS, where the protocol is learned first, with every
    // value split into 64-byte ranges: the ranges share the budget, nothing deadlocks.
    let manifest_fx = |name: &str| manifest.array(name).and_then(|fx| fx.expected().ok());
    for ep in endpoints.iter().filter(|ep| ep.url.starts_with("https://") && ep.recycle.is_none()) {
        for budget in [1, 3] {
            let config = ep.config.clone().split_size(64).max_requests_in_flight(budget);
            for name in ["v3_shard_nested_compression", "v2_blosc_lz4_shuffle"] {
                let url = format!("{}/{name}.zarr", ep.url);
                let expected = manifest_fx(name).expect("expected .npy loads");
                for (driver, result) in [
                    ("async", read_async(&url, &config, &Selection::all())),
                    ("blocking", read_blocking(&url, &config, &Selection::all())),
                ] {
                    match result.and_then(|got| compare_ndarray(&got, &expected)) {
                        Ok(()) => passed += 1,
                        Err(e) => failures.push(format!("{name} over {}, budget {budget} ({driver}): {e}", ep.name)),
                    }
                }
            }
        }
    }

    // An empty range is a HEAD: over every endpoint it gives zero bytes, whatever the
    // value's Content-Length says, even above max_response_bytes (no body follows).
    for ep in &endpoints {
        let config = HttpConfig { max_response_bytes: 16, ..ep.config.clone() };
        let url = format!("{}/v2_seed_6443.zarr", ep.url);
        let got = smol::block_on(async {
            let store = zarr_smol::store_for_url(&url, config).map_err(|e| e.to_string())?;
            store.get(".zarray", Some(ByteRange::new(0, 0))).await.map_err(|e| e.to_string())
        });
        match got {
            Ok(Some(b)) if b.is_empty() => passed += 1,
            other => failures.push(format!("empty range of .zarray over {}: {other:?}", ep.name)),
        }
    }

    eprintln!(
        "nginx: {passed} reads matched numpy, {} failures, {} requests served",
        failures.len(),
        log.lines().count()
    );
    assert!(failures.is_empty(), "{} failures:\n  {}", failures.len(), failures.join("\n  "));
}
