//! Injected server faults: survived by retries, or reported with the key in bounded time.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{chunks, client, fast_retry, join_all};
use futures_lite::future::block_on;
use zarr_proto::http::{ByteRange, RetryPolicy};
use zarr_store::server::{Fault, Server, ServerConfig, ServerHandle};
use zarr_store::{Condition, HttpConfig, HttpVersion, MemoryStore, Store, StoreError, Version, WriteResult};

const N: usize = 60;

fn faulty(mem: &MemoryStore, fault: Fault, fraction: f64, seed: u64) -> ServerHandle {
    Server::start(ServerConfig::memory(mem.clone()).fault(fault, fraction).seed(seed).threads(1)).unwrap()
}

/// Reads every chunk (half of them ranged) concurrently and checks the bytes.
fn read_all_ok(server: &ServerHandle, mem: &MemoryStore, version: HttpVersion, config: HttpConfig) {
    let store = client(server, version, config);
    let range = |i: usize| if i % 2 == 0 { None } else { Some(ByteRange::Suffix(1000)) };
    let futs = (0..N).map(|i| store.get(&format!("c/{i}"), range(i))).collect();
    for (i, got) in block_on(join_all(futs)).into_iter().enumerate() {
        let key = format!("c/{i}");
        let want = mem.get_now(&key).unwrap();
        let want = match range(i) {
            None => want,
            Some(r) => want.slice(r.resolve(want.len() as u64).unwrap().start as usize..),
        };
        match got {
            Ok(Some(v)) => assert_eq!(v, want, "{version:?} {key}"),
            other => panic!("{version:?} {key}: {other:?}"),
        }
    }
}

fn survive(fault: Fault, config: HttpConfig) {
    let mem = chunks(N);
    for (seed, version) in [(1, HttpVersion::Http1), (2, HttpVersion::Http2PriorKnowledge)] {
        let server = faulty(&mem, fault, 0.2, seed);
        read_all_ok(&server, &mem, version, config.clone());
        let c = server.counters();
        assert!(c.faults >= 3, "{fault:?} {version:?}: too few faults injected: {c:?}");
        if let Fault::Stall(_) = fault {
            // A slow machine may time out an unstalled request too.
            assert!(c.requests >= N as u64 + c.faults, "{fault:?} {version:?}: {c:?}");
        } else {
            assert_eq!(c.requests, N as u64 + c.faults, "{fault:?} {version:?}: one retry per fault: {c:?}");
        }
    }
}

#[test]
fn survives_500() {
    survive(Fault::Status500, HttpConfig::default().retry(fast_retry(10)));
}

#[test]
fn survives_503() {
    survive(Fault::Status503, HttpConfig::default().retry(fast_retry(10)));
}

#[test]
fn survives_connection_reset() {
    survive(Fault::Reset, HttpConfig::default().retry(fast_retry(10)));
}

#[test]
fn survives_truncated_body() {
    survive(Fault::Truncate, HttpConfig::default().retry(fast_retry(10)));
}

#[test]
fn survives_stall_via_timeout() {
    let config = HttpConfig::default().retry(fast_retry(10)).timeout(Duration::from_secs(1));
    let t = Instant::now();
    survive(Fault::Stall(Duration::from_secs(30)), config);
    // Stalled requests are abandoned at the timeout, not after the 30 s stall.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn survives_429_and_honours_retry_after() {
    let retry =
        RetryPolicy { max_attempts: 10, base_delay: Duration::from_millis(5), max_delay: Duration::from_secs(3) };
    let t = Instant::now();
    survive(Fault::TooManyRequests(1), HttpConfig::default().retry(retry));
    // Backoff alone would be ~5 ms; Retry-After: 1 makes each run wait at least 1 s.
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
}

/// Every attempt fails: the error names the key, comes within bounded time,
/// and the server saw exactly `attempts` requests.
fn exhaust(fault: Fault, version: HttpVersion, config: HttpConfig, attempts: u32, bound: Duration) -> StoreError {
    let mem = chunks(1);
    let server = faulty(&mem, fault, 1.0, 3);
    let store = client(&server, version, config.retry(fast_retry(attempts)));
    let t = Instant::now();
    let e = block_on(store.get("c/0", None)).unwrap_err();
    assert!(t.elapsed() < bound, "{fault:?}: {:?}", t.elapsed());
    assert_eq!(e.key(), "c/0");
    let msg = e.to_string();
    assert!(msg.contains("`c/0`") && msg.contains(&format!("after {attempts} attempts")), "{msg}");
    assert!(matches!(e, StoreError::RetriesExhausted { attempts: a, .. } if a == attempts), "{e:?}");
    assert_eq!(server.counters().requests, u64::from(attempts), "{fault:?}");
    e
}

#[test]
fn retries_exhausted_is_an_error_naming_the_key() {
    let cfg = HttpConfig::default;
    let bound = Duration::from_secs(5);
    let e = exhaust(Fault::Status503, HttpVersion::Http1, cfg(), 4, bound);
    assert_eq!(e.status(), Some(503));
    exhaust(Fault::Status500, HttpVersion::Http2PriorKnowledge, cfg(), 3, bound);
    exhaust(Fault::Reset, HttpVersion::Http1, cfg(), 3, bound);
    exhaust(Fault::Reset, HttpVersion::Http2PriorKnowledge, cfg(), 3, bound);
    let stall = cfg().timeout(Duration::from_millis(300));
    exhaust(Fault::Stall(Duration::from_secs(60)), HttpVersion::Http1, stall, 2, bound);
}

#[test]
fn truncated_body_is_an_error() {
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        let e = exhaust(Fault::Truncate, version, HttpConfig::default(), 2, Duration::from_secs(5));
        let StoreError::RetriesExhausted { last, .. } = e else { unreachable!() };
        // Reported as a failed transfer or a body that does not match its headers.
        assert!(
            matches!(*last, StoreError::Io { .. } | StoreError::Transport { .. } | StoreError::Body { .. }),
            "{last:?}"
        );
    }
    // With retries off, the first truncated body is the error.
    let mem = chunks(1);
    let server = faulty(&mem, Fault::Truncate, 1.0, 4);
    let store = client(&server, HttpVersion::Http1, HttpConfig::default().retry(RetryPolicy::none()));
    let e = block_on(store.get("c/0", None)).unwrap_err();
    assert_eq!(e.key(), "c/0");
    assert!(!matches!(e, StoreError::RetriesExhausted { .. }));
}

#[test]
fn permanent_failures_are_not_retried() {
    let mem = chunks(1);
    let server = Server::start(ServerConfig::memory(mem).threads(1)).unwrap();
    let store = client(&server, HttpVersion::Http1, HttpConfig::default().retry(fast_retry(5)));
    // 416 fails at once.
    let e = block_on(store.get("c/0", Some(ByteRange::new(1 << 20, 1)))).unwrap_err();
    assert_eq!(e.status(), Some(416));
    assert_eq!(server.counters().requests, 1);
}

/// A writable server that injects `fault` into every request.
fn writable_faulty(fault: Fault) -> ServerHandle {
    Server::start(ServerConfig::memory(MemoryStore::new()).writable(true).fault(fault, 1.0).threads(1)).unwrap()
}

#[test]
fn conditional_writes_with_unknown_outcome_are_not_resent() {
    let value = || Bytes::from_static(b"v");
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        for fault in [Fault::Reset, Fault::Status500] {
            for cond in [Condition::Absent, Condition::Matches(Version::new("\"1\""))] {
                // A new server and store each time: no kept-alive connection to resend on.
                let server = writable_faulty(fault);
                let store = client(&server, version, HttpConfig::default().retry(fast_retry(5)));
                let e = block_on(store.put("a/c/0", value(), cond.clone())).unwrap_err();
                assert!(matches!(e, StoreError::OutcomeUnknown { .. }), "{version:?} {fault:?}: {e:?}");
                assert_eq!(e.key(), "a/c/0");
                assert!(e.to_string().contains("read it again"), "{e}");
                assert_eq!(server.counters().requests, 1, "{version:?} {fault:?}: sent once");
                let e = block_on(store.delete_if("a/c/0", cond)).unwrap_err();
                assert!(matches!(e, StoreError::OutcomeUnknown { .. }), "{version:?} {fault:?}: {e:?}");
                assert_eq!(server.counters().requests, 2, "{version:?} {fault:?}: sent once");
            }
            // The same failure of an unconditional write is retried: it is idempotent.
            let server = writable_faulty(fault);
            let store = client(&server, version, HttpConfig::default().retry(fast_retry(3)));
            let e = block_on(store.put("a/c/0", value(), Condition::Always)).unwrap_err();
            assert!(matches!(e, StoreError::RetriesExhausted { attempts: 3, .. }), "{version:?} {fault:?}: {e:?}");
            assert_eq!(server.counters().requests, 3);
        }
        // A server that says it did not do the work (503) gets the conditional write again.
        let server = writable_faulty(Fault::Status503);
        let store = client(&server, version, HttpConfig::default().retry(fast_retry(3)));
        let e = block_on(store.put("a/c/0", value(), Condition::Absent)).unwrap_err();
        assert!(matches!(e, StoreError::RetriesExhausted { attempts: 3, .. }), "{version:?}: {e:?}");
        assert_eq!(server.counters().requests, 3);
        server.set_faults(Vec::new());
        let put = block_on(store.put("a/c/0", value(), Condition::Absent)).unwrap();
        assert!(matches!(put, WriteResult::Stored(Some(_))), "{put:?}");
    }
}
