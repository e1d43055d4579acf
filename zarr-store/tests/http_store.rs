//! HttpStore against the test server over loopback: ranges, missing keys, h1 and h2c.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{chunks, client, data, join_all, serve};
use futures_lite::future::block_on;
use zarr_proto::ByteRange;
use zarr_store::server::{Server, ServerConfig};
use zarr_store::{HttpConfig, HttpVersion, MemoryStore, Store, StoreError};

#[test]
fn range_gets_over_h1_and_h2c() {
    let value = data(7, 10_000);
    let mem = MemoryStore::new();
    mem.insert("a/c/0", value.clone());
    mem.insert("empty", "");
    let server = serve(mem);
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        let store = client(&server, version, HttpConfig::default());
        block_on(async {
            let whole = store.get("a/c/0", None).await.unwrap().unwrap();
            assert_eq!(whole, value);
            let cases = [
                (ByteRange::new(0, 1), &value[..1]),
                (ByteRange::new(100, 900), &value[100..1000]),
                (ByteRange::new(9_990, 100), &value[9_990..]),
                (ByteRange::FromStart { offset: 5_000, length: None }, &value[5_000..]),
                (ByteRange::Suffix(16), &value[10_000 - 16..]),
                (ByteRange::Suffix(20_000), &value[..]),
                (ByteRange::new(3, 0), &value[..0]),
            ];
            for (range, want) in cases {
                let got = store.get("a/c/0", Some(range)).await.unwrap().unwrap();
                assert_eq!(&got[..], want, "{version:?} {range}");
            }
            assert_eq!(store.get("empty", None).await.unwrap().unwrap().len(), 0);
            // 416: starts past the end.
            let e = store.get("a/c/0", Some(ByteRange::new(10_000, 1))).await.unwrap_err();
            assert_eq!(e.status(), Some(416), "{e}");
            assert_eq!(e.key(), "a/c/0");
        });
    }
    let c = server.counters();
    assert_eq!(c.h2_connections, 1);
    assert!(c.connections >= 2);
}

#[test]
fn missing_key_is_none() {
    let server = serve(MemoryStore::new());
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        let store = client(&server, version, HttpConfig::default());
        assert_eq!(block_on(store.get("nope/zarr.json", None)).unwrap(), None);
        assert_eq!(block_on(store.get("nope/c/0", Some(ByteRange::Suffix(8)))).unwrap(), None);
        assert_eq!(block_on(store.get("nope/c/1", Some(ByteRange::new(0, 0)))).unwrap(), None);
    }
    assert_eq!(server.counters().requests, 6);
}

#[test]
fn h2c_multiplexes_100_concurrent_gets_on_one_connection() {
    let mem = chunks(100);
    let server = serve(mem.clone());
    let store = client(&server, HttpVersion::Http2PriorKnowledge, HttpConfig::default());
    let futs = (0..100).map(|i| store.get(&format!("c/{i}"), None)).collect();
    let got = block_on(join_all(futs));
    for (i, g) in got.into_iter().enumerate() {
        assert_eq!(g.unwrap(), mem.get_now(&format!("c/{i}")), "c/{i}");
    }
    let c = server.counters();
    assert_eq!(c.requests, 100);
    assert_eq!(c.connections, 1, "{c:?}");
    assert_eq!(c.h2_connections, 1);
}

#[test]
fn h1_keep_alive_pool_is_bounded() {
    let mem = chunks(60);
    let server = serve(mem.clone());
    let store = client(&server, HttpVersion::Http1, HttpConfig::default().max_connections(4));
    for _ in 0..2 {
        let futs = (0..60).map(|i| store.get(&format!("c/{i}"), None)).collect();
        for (i, g) in block_on(join_all(futs)).into_iter().enumerate() {
            assert_eq!(g.unwrap(), mem.get_now(&format!("c/{i}")));
        }
    }
    let c = server.counters();
    assert_eq!(c.requests, 120);
    assert_eq!(c.h2_connections, 0);
    // Connections are reused across both rounds, never more than the pool size.
    assert!(c.connections <= 4, "{c:?}");
}

#[test]
fn put_and_delete_round_trip() {
    let mem = MemoryStore::new();
    let server = Server::start(ServerConfig::memory(mem.clone()).writable(true).threads(1)).unwrap();
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        let store = client(&server, version, HttpConfig::default());
        block_on(async {
            let v = data(3, 100_000);
            store.set("g/a b/c/0", v.clone()).await.unwrap();
            assert_eq!(mem.get_now("g/a b/c/0"), Some(v.clone()), "{version:?}");
            assert_eq!(store.get("g/a b/c/0", None).await.unwrap(), Some(v));
            store.delete("g/a b/c/0").await.unwrap();
            store.delete("g/a b/c/0").await.unwrap();
            assert_eq!(store.get("g/a b/c/0", None).await.unwrap(), None);
            assert!(matches!(store.list("g/").await, Err(StoreError::Unsupported { .. })));
        });
    }
    // A read-only server refuses writes with 405, which is not retried.
    let ro = serve(MemoryStore::new());
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        ro.reset_counters();
        let store = client(&ro, version, HttpConfig::default());
        let e = block_on(store.set("k", "v".into())).unwrap_err();
        assert_eq!(e.status(), Some(405), "{version:?}");
        assert_eq!(ro.counters().requests, 1, "{version:?}");
    }
}

#[test]
fn redirects_are_followed_over_h1_and_h2c() {
    let value = data(5, 3000);
    let mem = MemoryStore::new();
    mem.insert("a/c/0", value.clone());
    let target = serve(mem);
    let moved = Server::start(ServerConfig::memory(MemoryStore::new()).threads(1).redirect_to(&target.url())).unwrap();
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        target.reset_counters();
        moved.reset_counters();
        let store = client(&moved, version, HttpConfig::default());
        block_on(async {
            assert_eq!(store.get("a/c/0", None).await.unwrap(), Some(value.clone()), "{version:?}");
            let got = store.get("a/c/0", Some(ByteRange::Suffix(10))).await.unwrap().unwrap();
            assert_eq!(&got[..], &value[2990..], "{version:?}");
            assert_eq!(store.get("a/c/1", None).await.unwrap(), None, "{version:?}");
        });
        assert_eq!(moved.counters().requests, 3, "{version:?}");
        assert_eq!(target.counters().requests, 3, "{version:?}");
    }
}

#[test]
fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let mem = MemoryStore::new();
    mem.insert("a/c/0", "v");
    let auth = "Bearer s3cret";
    let target = Server::start(ServerConfig::memory(mem).threads(1).require_header("authorization", auth)).unwrap();
    let moved = Server::start(ServerConfig::memory(MemoryStore::new()).threads(1).redirect_to(&target.url())).unwrap();
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        // Straight to the target, the header opens the door.
        let store = client(&target, version, HttpConfig::default().header("Authorization", auth));
        assert_eq!(&block_on(store.get("a/c/0", None)).unwrap().unwrap()[..], b"v", "{version:?}");
        // Through a redirect to another origin it stays behind: 401, not a leak.
        let store = client(&moved, version, HttpConfig::default().header("Authorization", auth));
        let e = block_on(store.get("a/c/0", None)).unwrap_err();
        assert_eq!(e.status(), Some(401), "{version:?}: {e}");
    }
}

#[test]
fn custom_headers_reach_the_server_over_h1_and_h2c() {
    let mem = MemoryStore::new();
    mem.insert("k", "v");
    let server = Server::start(ServerConfig::memory(mem).threads(1).require_header("x-token", "s3cret")).unwrap();
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        let store = client(&server, version, HttpConfig::default());
        let e = block_on(store.get("k", None)).unwrap_err();
        assert_eq!(e.status(), Some(401), "{version:?}: {e}");
        let store = client(&server, version, HttpConfig::default().header("X-Token", "s3cret"));
        assert_eq!(&block_on(store.get("k", None)).unwrap().unwrap()[..], b"v", "{version:?}");
    }
}

#[test]
fn serves_a_directory_with_latency() {
    let dir = tempdir("dir-serve");
    std::fs::create_dir_all(dir.join("a/c")).unwrap();
    let value = data(11, 3000);
    std::fs::write(dir.join("a/c/0"), &value).unwrap();
    let server = Server::start(ServerConfig::dir(&dir).latency(Duration::from_millis(50)).threads(1)).unwrap();
    let store = client(&server, HttpVersion::Http2PriorKnowledge, HttpConfig::default());
    let t = std::time::Instant::now();
    let futs = (0..20).map(|_| store.get("a/c/0", Some(ByteRange::Suffix(100)))).collect();
    for g in block_on(join_all(futs)) {
        assert_eq!(&g.unwrap().unwrap()[..], &value[2900..]);
    }
    let elapsed = t.elapsed();
    // Latency is per request, and the 20 requests overlap.
    assert!(elapsed >= Duration::from_millis(50) && elapsed < Duration::from_millis(1000), "{elapsed:?}");
    assert_eq!(block_on(store.get("a/../../etc/passwd", None)).ok().flatten(), None);
    server.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("zarr-smol-{name}-{}-{}", std::process::id(), fastrand::u32(..)));
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

#[test]
fn invalid_custom_header_is_rejected() {
    let e = zarr_store::HttpStore::with_config("http://127.0.0.1:1", HttpConfig::default().header("bad name", "v"));
    assert!(matches!(e, Err(StoreError::InvalidKey { ref key, .. }) if key == "bad name"), "{e:?}");
    assert!(
        zarr_store::HttpStore::with_config("http://127.0.0.1:1", HttpConfig::default().header("x-token", "t")).is_ok()
    );
}

#[test]
fn large_values_arrive_as_parallel_ranges() {
    let big = data(11, (20 << 20) + 123);
    let mem = MemoryStore::new();
    mem.insert("big", big.clone());
    mem.insert("small", data(12, 1000));
    mem.insert("empty", "");
    let server = serve(mem);
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        let store = client(&server, version, HttpConfig::default());
        server.reset_counters();
        let got = block_on(store.get("big", None)).unwrap().unwrap();
        assert!(got == big, "{version:?}: reassembled value differs");
        // 8 MiB + 8 MiB + the rest.
        assert_eq!(server.counters().requests, 3, "{version:?}");
        server.reset_counters();
        assert_eq!(block_on(store.get("small", None)).unwrap().unwrap().len(), 1000);
        assert_eq!(block_on(store.get("empty", None)).unwrap().unwrap().len(), 0);
        assert_eq!(block_on(store.get("absent", None)).unwrap(), None);
        // Small values take one request; an empty one two (its first range is unsatisfiable).
        assert_eq!(server.counters().requests, 1 + 2 + 1, "{version:?}");
    }
    // Splitting off: one request.
    let store = client(&server, HttpVersion::Http1, HttpConfig { split_size: 0, ..HttpConfig::default() });
    server.reset_counters();
    assert!(block_on(store.get("big", None)).unwrap().unwrap() == big);
    assert_eq!(server.counters().requests, 1);
}

#[test]
fn unreachable_tls_store_fails_every_waiting_request() {
    // Over TLS every request waits for the one connection the first one makes; when it
    // cannot be made they must each get their own error naming their key, never hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let retry = zarr_proto::http::RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    let config = HttpConfig::default().retry(retry).connect_timeout(Duration::from_secs(2));
    let store = zarr_store::HttpStore::with_config(&format!("https://127.0.0.1:{port}/a"), config).unwrap();
    let started = std::time::Instant::now();
    let futs = (0..20).map(|i| store.get(&format!("c/{i}"), None)).collect();
    for (i, got) in block_on(join_all(futs)).into_iter().enumerate() {
        let err = got.unwrap_err();
        assert!(err.to_string().contains(&format!("c/{i}")), "{err}");
    }
    // 20 requests x 2 attempts of a refused connection: seconds at most, not a hang.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn split_values_share_the_request_budget() {
    // Six values of three parts each, all requested at once: 6 first parts, then 12
    // more. The store's budget bounds them all together, parts included.
    let mem = MemoryStore::new();
    for i in 0..6 {
        mem.insert(format!("v/{i}"), data(i, (3 << 20) - 7));
    }
    let server =
        Server::start(ServerConfig::memory(mem.clone()).threads(2).latency(Duration::from_millis(30))).unwrap();
    for (limit, expect_at_most) in [(4usize, 4u64), (0, 18)] {
        let config = HttpConfig::default().split_size(1 << 20).max_requests_in_flight(limit);
        let store = client(&server, HttpVersion::Http1, config);
        server.reset_counters();
        let futs = (0..6).map(|i| store.get(&format!("v/{i}"), None)).collect();
        for (i, got) in block_on(join_all(futs)).into_iter().enumerate() {
            assert!(got.unwrap() == mem.get_now(&format!("v/{i}")), "v/{i}");
        }
        let c = server.counters();
        assert_eq!(c.requests, 18, "{c:?}");
        assert!(c.peak_in_flight <= expect_at_most, "limit {limit}: {c:?}");
        if limit == 0 {
            // Without a budget the parts do fan out (so the bound above is not vacuous).
            assert!(c.peak_in_flight > 4, "{c:?}");
        }
    }
}

#[test]
fn silent_tls_server_fails_requests_together_not_one_by_one() {
    // TCP connects (the kernel accepts into the backlog) but TLS never answers: the first
    // request times out, and the ones waiting for it must then fail in parallel, not one
    // connect timeout after another.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let retry = zarr_proto::http::RetryPolicy::none();
    let timeout = Duration::from_millis(500);
    let config = HttpConfig::default().retry(retry).connect_timeout(timeout).timeout(Duration::from_secs(2));
    let store = zarr_store::HttpStore::with_config(&format!("https://127.0.0.1:{port}/a"), config).unwrap();
    let started = std::time::Instant::now();
    let n = 16;
    let futs = (0..n).map(|i| store.get(&format!("c/{i}"), None)).collect();
    for (i, got) in block_on(join_all(futs)).into_iter().enumerate() {
        let err = got.unwrap_err();
        assert!(err.to_string().contains(&format!("c/{i}")), "{err}");
    }
    // One after another would take n x 0.5 s = 8 s; together, about two timeouts.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "{n} requests took {elapsed:?}");
    drop(listener);
}
