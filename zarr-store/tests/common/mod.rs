//! Shared helpers of the zarr-smol integration tests.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::time::Duration;

use bytes::Bytes;
use zarr_proto::http::RetryPolicy;
use zarr_store::server::{Server, ServerConfig, ServerHandle};
use zarr_store::{HttpConfig, HttpStore, HttpVersion, MemoryStore};

pub use zarr_store::join_all;

/// Deterministic pseudo-random bytes.
pub fn data(seed: u64, len: usize) -> Bytes {
    let mut rng = fastrand::Rng::with_seed(seed);
    Bytes::from((0..len).map(|_| rng.u8(..)).collect::<Vec<u8>>())
}

/// A memory store with `n` chunks `c/{i}` of varied sizes (1 byte to ~40 KiB).
pub fn chunks(n: usize) -> MemoryStore {
    let store = MemoryStore::new();
    for i in 0..n {
        store.insert(format!("c/{i}"), data(i as u64, 1 + (i * 7919) % 40_000));
    }
    store
}

/// A server over `store` on 127.0.0.1 with one executor thread.
pub fn serve(store: MemoryStore) -> ServerHandle {
    Server::start(ServerConfig::memory(store).threads(1)).expect("bind 127.0.0.1:0")
}

/// Quick retries for tests: up to `attempts`, 5..=50 ms apart.
pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy { max_attempts: attempts, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(50) }
}

/// An HTTP store for `server` speaking `version`.
pub fn client(server: &ServerHandle, version: HttpVersion, config: HttpConfig) -> HttpStore {
    HttpStore::with_config(&server.url(), config.version(version)).expect("http client")
}
