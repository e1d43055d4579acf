//! Servers that end connections with requests in flight: after every N answers, abruptly
//! (TCP shutdown) or gracefully (HTTP/2 GOAWAY, HTTP/1.1 close as with nginx's
//! `keepalive_requests`). Requests the server never answered go again at once on a live
//! connection, without using up an attempt: every read here runs with retries off and a
//! 5 s no-data timeout, so a request left waiting on a dead connection fails the test
//! (with a timeout error) instead of slowing it down.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{chunks, client, join_all};
use futures_lite::future::block_on;
use zarr_proto::http::RetryPolicy;
use zarr_store::server::{Fault, Server, ServerConfig, ServerHandle};
use zarr_store::{HttpConfig, HttpStore, HttpVersion, MemoryStore, Store};

/// Keys read at once, in each of [`ROUNDS`] rounds.
const KEYS: usize = 120;
const ROUNDS: usize = 2;

#[derive(Clone, Copy, Debug)]
enum Ending {
    Abrupt,
    Graceful,
}

/// Reads every key `ROUNDS` times, all of a round at once, from a server that ends each
/// connection after `n` answers; checks every value and returns the connections the
/// server accepted.
fn read_through(version: HttpVersion, ending: Ending, n: u64, config: HttpConfig) -> u64 {
    let mem = chunks(KEYS);
    // One server thread: an answer is whole on the wire before the cut (see
    // `ServerConfig::close_after`).
    let server_config = ServerConfig::memory(mem.clone()).threads(1);
    let server_config = match ending {
        Ending::Abrupt => server_config.close_after(n),
        Ending::Graceful => server_config.goaway_after(n),
    };
    let server = Server::start(server_config).unwrap();
    let mut config = config.retry(RetryPolicy::none()).max_requests_in_flight(0);
    config.low_speed_timeout = Some((1, Duration::from_secs(5)));
    let store = client(&server, version, config);
    for round in 0..ROUNDS {
        let futs = (0..KEYS).map(|i| store.get(&format!("c/{i}"), None)).collect();
        for (i, got) in block_on(join_all(futs)).into_iter().enumerate() {
            let key = format!("c/{i}");
            match got {
                Ok(Some(v)) => assert_eq!(v, check(&mem, &key), "{version:?} {ending:?} n={n} round {round}: {key}"),
                other => panic!(
                    "{version:?} {ending:?} n={n} round {round}: {key}: {other:?}; server: {:?}",
                    server.counters()
                ),
            }
        }
    }
    server.counters().connections
}

fn check(mem: &MemoryStore, key: &str) -> bytes::Bytes {
    mem.get_now(key).unwrap()
}

#[test]
fn h2c_reads_through_abrupt_closes() {
    for n in [5, 37] {
        let conns = read_through(HttpVersion::Http2PriorKnowledge, Ending::Abrupt, n, HttpConfig::default());
        assert!(conns > 1, "n={n}: the server never closed a connection");
    }
}

/// A close after every answer: 120 requests in flight need 120 connections, each
/// request is sent again up to ~120 times (free: every connection answered one), and
/// many are handed to a connection just as it ends.
#[test]
fn h2c_reads_through_a_close_after_every_answer() {
    let conns = read_through(HttpVersion::Http2PriorKnowledge, Ending::Abrupt, 1, HttpConfig::default());
    assert!(conns >= KEYS as u64, "{conns} connections");
}

#[test]
fn h2c_reads_through_goaway() {
    for n in [1, 5, 37] {
        let conns = read_through(HttpVersion::Http2PriorKnowledge, Ending::Graceful, n, HttpConfig::default());
        assert!(conns > 1, "n={n}: the server never sent GOAWAY");
    }
}

/// Plain `http://` HTTP/1.1 goes through the hyper keep-alive pool, as over TLS; four
/// connections, so that each serves many requests in turn and meets the server's closes.
#[test]
fn http1_reads_through_abrupt_closes() {
    for n in [1, 5, 37] {
        let conns = read_through(HttpVersion::Http1, Ending::Abrupt, n, HttpConfig::default().max_connections(4));
        // One request at a time per connection: each answers at most n.
        assert!(conns >= (KEYS * ROUNDS) as u64 / n, "n={n}: {conns} connections");
    }
}

/// A store of `retry` with four kept-alive HTTP/1.1 connections to a server of four
/// chunks, each connection having answered one request (latency keeps the four first
/// requests in flight together); the server's counters start from zero.
fn four_kept_alive(retry: RetryPolicy) -> (MemoryStore, ServerHandle, HttpStore) {
    let mem = chunks(4);
    let server =
        Server::start(ServerConfig::memory(mem.clone()).threads(1).latency(Duration::from_millis(30))).unwrap();
    let config = HttpConfig::default().max_connections(4).max_requests_in_flight(0).retry(retry);
    let store = client(&server, HttpVersion::Http1, config);
    let futs = (0..4).map(|i| store.get(&format!("c/{i}"), None)).collect();
    for (i, got) in block_on(join_all(futs)).into_iter().enumerate() {
        assert_eq!(got.unwrap().unwrap(), check(&mem, &format!("c/{i}")));
    }
    assert_eq!(server.counters().connections, 4, "{:?}", server.counters());
    server.reset_counters();
    (mem, server, store)
}

/// A request whose kept-alive connection fails under it goes again on a new
/// connection, not on another idle one that may be as dead (libcurl, which cannot be
/// asked for a fresh connection, took the next pooled one).
#[test]
fn http1_goes_again_on_a_fresh_connection_after_a_failure_on_a_reused_one() {
    let (mem, server, store) = four_kept_alive(RetryPolicy::none());
    // Every connection the server has now fails the next request on it (it is dropped
    // without an answer); a new connection answers.
    server.set_faults(vec![(Fault::Reset, 1.0)]);
    let e = block_on(store.get("c/0", None)).unwrap_err();
    let c = server.counters();
    // The reused connection failed, the request went again (without using up an
    // attempt: there is one) on one new connection, and failed there too.
    assert_eq!((c.requests, c.connections), (2, 1), "{c:?}: {e}");
    let msg = e.to_string();
    assert!(msg.contains("`c/0`") && msg.contains("closed before message completed"), "{msg}");
    server.set_faults(Vec::new());
    assert_eq!(block_on(store.get("c/1", None)).unwrap().unwrap(), check(&mem, "c/1"));
}

/// A retry after an answer failed on a kept-alive connection (cut mid-body: an attempt
/// used) connects anew instead of taking another connection that sat idle as long.
#[test]
fn http1_retries_on_a_fresh_connection_after_an_answer_failed_on_a_reused_one() {
    let (mem, server, store) = four_kept_alive(common::fast_retry(2));
    // Every answer is cut after half its body: the first attempt fails on a kept-alive
    // connection, the retry goes to a new one (and is cut too), none of the three
    // other idle connections is tried.
    server.set_faults(vec![(Fault::Truncate, 1.0)]);
    let e = block_on(store.get("c/0", None)).unwrap_err();
    let c = server.counters();
    assert_eq!((c.requests, c.connections), (2, 1), "{c:?}: {e}");
    server.set_faults(Vec::new());
    assert_eq!(block_on(store.get("c/1", None)).unwrap().unwrap(), check(&mem, "c/1"));
}

#[test]
fn http1_reads_through_keepalive_limits() {
    for n in [1, 5, 37] {
        let conns = read_through(HttpVersion::Http1, Ending::Graceful, n, HttpConfig::default().max_connections(4));
        assert!(conns > 4, "n={n}: {conns} connections");
    }
}

/// More HTTP/2 connections open while the server's stream limit holds requests back,
/// up to the cap; with a cap of 1 every request shares one connection.
#[test]
fn h2_opens_more_connections_up_to_the_cap_when_streams_run_out() {
    let mem = chunks(KEYS);
    for (cap, want) in [(1, 1), (4, 4)] {
        // Latency keeps the requests in flight together; 10 streams per connection.
        let config = ServerConfig::memory(mem.clone()).threads(1).max_concurrent_streams(10);
        let server = Server::start(config.latency(Duration::from_millis(20))).unwrap();
        let http = HttpConfig::default().max_requests_in_flight(0).max_h2_connections(cap);
        let store = client(&server, HttpVersion::Http2PriorKnowledge, http);
        // A first request learns the server's limit, as a read's metadata request does.
        assert_eq!(block_on(store.get("c/0", None)).unwrap().unwrap(), check(&mem, "c/0"));
        let futs = (0..KEYS).map(|i| store.get(&format!("c/{i}"), None)).collect();
        for (i, got) in block_on(join_all(futs)).into_iter().enumerate() {
            let key = format!("c/{i}");
            assert_eq!(got.unwrap().unwrap(), check(&mem, &key), "cap {cap}: {key}");
        }
        let c = server.counters();
        assert_eq!(c.h2_connections, want, "cap {cap}: {c:?}");
        assert!(c.peak_in_flight <= 10 * want, "cap {cap}: more streams than the server allows: {c:?}");
        if cap > 1 {
            assert!(c.peak_in_flight > 10, "cap {cap}: the connections were not used at once: {c:?}");
        }
    }
}

/// A server of raw bytes: answers every connection with `reply` once it has read a
/// request head, then closes it (with `linger`, once the client has). Runs until the
/// test process ends.
fn raw_server(reply: &'static [u8], linger: bool) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !request_seen(&head) {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = conn.write_all(reply);
            while linger && matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
        }
    });
    format!("http://{addr}")
}

/// Whether `bytes` hold a request: an HTTP/1.1 head, or after the HTTP/2 preface a
/// HEADERS frame.
fn request_seen(bytes: &[u8]) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if !bytes.starts_with(PREFACE) {
        return bytes.windows(4).any(|w| w == b"\r\n\r\n");
    }
    let mut frames = &bytes[PREFACE.len()..];
    while frames.len() >= 9 {
        if frames[3] == 0x1 {
            return true;
        }
        let len = usize::from(frames[0]) << 16 | usize::from(frames[1]) << 8 | usize::from(frames[2]);
        frames = frames.get(9 + len..).unwrap_or_default();
    }
    false
}

/// The error of reading `c/0` from `url` with `attempts` attempts.
fn error_text(url: &str, version: HttpVersion, attempts: u32) -> String {
    let config = HttpConfig::default().version(version).retry(common::fast_retry(attempts));
    let store = zarr_store::HttpStore::with_config(url, config).unwrap();
    let e = block_on(store.get("c/0", None)).unwrap_err();
    assert_eq!(e.key(), "c/0");
    let msg = e.to_string();
    assert!(msg.contains("`c/0`"), "{msg}");
    assert!(!msg.contains("unknown error") || msg.contains("unknown error: "), "the cause is lost: {msg}");
    msg
}

#[test]
fn a_server_that_accepts_and_closes_forever_ends_in_an_error_with_the_cause() {
    let url = raw_server(b"", false);
    let msg = error_text(&url, HttpVersion::Http2PriorKnowledge, 2);
    assert!(msg.contains("after 2 attempts"), "{msg}");
    assert!(msg.contains("clos") || msg.contains("reset") || msg.contains("pipe"), "h2c: {msg}");
    let msg = error_text(&url, HttpVersion::Http1, 2);
    assert!(msg.contains("after 2 attempts"), "{msg}");
    assert!(msg.contains("reset") || msg.contains("closed"), "HTTP/1.1: {msg}");
}

#[test]
fn a_goaway_error_reads_like_one() {
    // An h2c server that answers the client's first request with SETTINGS and a GOAWAY
    // that refuses every stream (last stream 0, NO_ERROR), on every connection.
    let url = raw_server(b"\0\0\0\x04\0\0\0\0\0\0\0\x08\x07\0\0\0\0\0\0\0\0\0\0\0\0\0", true);
    let msg = error_text(&url, HttpVersion::Http2PriorKnowledge, 2);
    assert!(msg.contains("GOAWAY"), "{msg}");
}

#[test]
fn short_and_over_long_bodies_name_the_cause() {
    // Content-Length promises more than comes before the close.
    let url = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", false);
    let msg = error_text(&url, HttpVersion::Http1, 1);
    assert!(msg.contains("end of file before message length reached"), "HTTP/1.1: {msg}");
    let mem = chunks(1);
    for version in [HttpVersion::Http1, HttpVersion::Http2PriorKnowledge] {
        let server = Server::start(ServerConfig::memory(mem.clone()).threads(1).fault(Fault::Truncate, 1.0)).unwrap();
        let msg = error_text(&server.url(), version, 1);
        eprintln!("{version:?} truncated: {msg}");
        if version == HttpVersion::Http1 {
            // The cause, not libcurl's "[52] Server returned nothing".
            assert!(msg.contains("end of file before message length reached"), "HTTP/1.1 truncated: {msg}");
        }
        let server = Server::start(ServerConfig::memory(mem.clone()).threads(1).fault(Fault::Reset, 1.0)).unwrap();
        let msg = error_text(&server.url(), version, 1);
        eprintln!("{version:?} reset: {msg}");
        if version == HttpVersion::Http1 {
            assert!(msg.contains("closed before message completed"), "HTTP/1.1 reset: {msg}");
        }
    }
}
