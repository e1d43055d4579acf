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
use zarr_store::server::{Server, ServerConfig};
use zarr_store::{HttpConfig, HttpVersion, MemoryStore, Store};

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
                other => panic!("{version:?} {ending:?} n={n} round {round}: {key}: {other:?}"),
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
    for n in [1, 5, 37] {
        let conns = read_through(HttpVersion::Http2PriorKnowledge, Ending::Abrupt, n, HttpConfig::default());
        assert!(conns > 1, "n={n}: the server never closed a connection");
    }
}

#[test]
fn h2c_reads_through_goaway() {
    for n in [1, 5, 37] {
        let conns = read_through(HttpVersion::Http2PriorKnowledge, Ending::Graceful, n, HttpConfig::default());
        assert!(conns > 1, "n={n}: the server never sent GOAWAY");
    }
}

/// Plain `http://` HTTP/1.1 is libcurl's; four connections, so that each serves many
/// requests in turn and meets the server's closes.
#[test]
fn http1_reads_through_abrupt_closes() {
    for n in [1, 5, 37] {
        let conns = read_through(HttpVersion::Http1, Ending::Abrupt, n, HttpConfig::default().max_connections(4));
        // One request at a time per connection: each answers at most n.
        assert!(conns >= (KEYS * ROUNDS) as u64 / n, "n={n}: {conns} connections");
    }
}

#[test]
fn http1_reads_through_keepalive_limits() {
    for n in [1, 5, 37] {
        let conns = read_through(HttpVersion::Http1, Ending::Graceful, n, HttpConfig::default().max_connections(4));
        assert!(conns > 4, "n={n}: {conns} connections");
    }
}
