//! A latency-adding HTTP/1.1 proxy in front of a server, for benchmarks
//! ([`LatencyProxy`]): every request is held for the latency, then forwarded on the
//! client connection's own upstream connection.
//!
//! ```text
//! latency_proxy UPSTREAM_HOST:PORT LATENCY_SECONDS [STATS_FILE]
//! ```
//!
//! Prints `http://127.0.0.1:PORT` (a free port) on its first line, then runs until
//! killed; with STATS_FILE, rewrites it every 50 ms with `REQUESTS CONNECTIONS` so far
//! (a bench script diffs it around each reader).

use std::net::SocketAddr;
use std::time::Duration;

use zarr_store::server::proxy::LatencyProxy;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(upstream), Some(latency)) = (args.first(), args.get(1)) else {
        return Err("usage: latency_proxy UPSTREAM_HOST:PORT LATENCY_SECONDS [STATS_FILE]".into());
    };
    let upstream: SocketAddr = upstream.parse().map_err(|e| format!("upstream {upstream}: {e}"))?;
    let latency: f64 = latency.parse().map_err(|e| format!("latency {latency}: {e}"))?;
    let latency = Duration::try_from_secs_f64(latency).map_err(|e| format!("latency: {e}"))?;
    let proxy = LatencyProxy::start(SocketAddr::from(([127, 0, 0, 1], 0)), upstream, latency)?;
    println!("{}", proxy.url());
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(path) = args.get(2) {
            let tmp = format!("{path}.tmp");
            std::fs::write(&tmp, format!("{} {}\n", proxy.requests(), proxy.connections()))?;
            std::fs::rename(&tmp, path)?;
        }
    }
}
