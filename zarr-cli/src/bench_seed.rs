//! `zarr bench seed`: the seed scenario against a server that is already running.
//!
//! The seed array (6443 int64 elements in 1289 chunks of 5, v2 blosc-lz4; see
//! [`crate::demo`]) is written with `--write DIR` and served by any static server
//! (nginx in `bench/run_seed_bench.sh`). Each run is a cold read, as in the original
//! report: a new HTTP client (no warm connections), open (metadata), read all. Every
//! run's values are checked against [`crate::demo::seed_values`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::json;
use zarr_proto::ByteRange;
use zarr_proto::Selection;
use zarr_proto::StoreKind;
use zarr_store::{BoxFuture, HttpConfig, ListDir, Store, StoreResult};

use crate::demo;

/// Arguments of `zarr bench seed`.
#[derive(Args)]
pub(crate) struct SeedArgs {
    /// Base URL of the seed array, e.g. http://127.0.0.1:8080 (required unless --write).
    #[arg(long, required_unless_present = "write")]
    url: Option<String>,
    #[command(flatten)]
    remote: crate::Remote,
    /// Cold reads per driver.
    #[arg(short, long, default_value_t = 5)]
    repeat: usize,
    /// Requests in flight (default: each driver's own).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Which driver to measure.
    #[arg(long, value_enum, default_value_t = Driver::Both)]
    driver: Driver,
    /// Print one JSON object per driver instead of text.
    #[arg(long)]
    json: bool,
    /// Write the seed array into DIR (for a third-party server) and exit.
    #[arg(long, value_name = "DIR", conflicts_with = "url")]
    write: Option<PathBuf>,
}

/// Which read driver `zarr bench seed` measures.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Driver {
    /// zarr-smol's async driver under `smol::block_on`.
    Async,
    /// zarr-blocking's IO thread pool.
    Blocking,
    /// Both, async first.
    Both,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Counts requests in flight through a store wrapper.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
}

impl InFlight {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A store that counts the `get`s it has in flight, whichever driver asks.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Store>,
    counts: Arc<InFlight>,
}

impl Store for Counting {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<bytes::Bytes>>> {
        let fetch = self.inner.get(key, range);
        let counts = Arc::clone(&self.counts);
        Box::pin(async move {
            counts.enter();
            let result = fetch.await;
            counts.leave();
            result
        })
    }

    fn get_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<bytes::Bytes>> {
        self.counts.enter();
        let result = self.inner.get_blocking(key, range);
        self.counts.leave();
        result
    }

    fn set(&self, key: &str, value: bytes::Bytes) -> BoxFuture<'static, StoreResult<()>> {
        self.inner.set(key, value)
    }

    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        self.inner.delete(key)
    }

    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        self.inner.list(prefix)
    }

    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        self.inner.list_dir(prefix)
    }

    fn kind(&self) -> StoreKind {
        self.inner.kind()
    }

    fn parallel_requests(&self) -> Option<usize> {
        self.inner.parallel_requests()
    }
}

/// One driver's runs.
struct Measured {
    driver: &'static str,
    seconds: Vec<f64>,
    requests: usize,
    peak_in_flight: usize,
}

impl Measured {
    fn best(&self) -> f64 {
        self.seconds.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn median(&self) -> f64 {
        median(&self.seconds)
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn check(values: &[i64], driver: &str, run: usize) -> Result<()> {
    if values == demo::seed_values().as_slice() {
        Ok(())
    } else {
        Err(format!("{driver} run {run}: the values read are not the seed array's").into())
    }
}

/// Runs `zarr bench seed`.
pub(crate) fn run(args: SeedArgs) -> Result<()> {
    if let Some(dir) = &args.write {
        demo::write_seed(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let chunks = demo::SEED_LEN.div_ceil(demo::SEED_CHUNK);
        println!("wrote the seed array ({} int64 in {chunks} chunks) to {}", demo::SEED_LEN, dir.display());
        return Ok(());
    }
    let url = args.url.clone().ok_or("--url is required")?;
    let config = args.remote.config()?;
    let repeat = args.repeat.max(1);
    let mut results = Vec::new();
    if matches!(args.driver, Driver::Async | Driver::Both) {
        results.push(measure_async(&url, &config, repeat, args.concurrency)?);
    }
    if matches!(args.driver, Driver::Blocking | Driver::Both) {
        results.push(measure_blocking(&url, &config, repeat, args.concurrency)?);
    }
    if args.json {
        for m in &results {
            let out = json!({
                "impl": "zarr-rs",
                "driver": m.driver,
                "url": url,
                "runs_s": m.seconds,
                "best_s": m.best(),
                "median_s": m.median(),
                "requests": m.requests,
                "peak_in_flight": m.peak_in_flight,
                "values_ok": true,
            });
            println!("{out}");
        }
    } else {
        println!(
            "seed array at {url}: {} int64 in {} chunks; {repeat} cold reads per driver (new client, open, read)",
            demo::SEED_LEN,
            demo::SEED_LEN.div_ceil(demo::SEED_CHUNK)
        );
        println!("{:<10} {:>8} {:>9} {:>9} {:>15}", "driver", "best s", "median s", "requests", "peak in flight");
        for m in &results {
            println!(
                "{:<10} {:>8.3} {:>9.3} {:>9} {:>15}",
                m.driver,
                m.best(),
                m.median(),
                m.requests,
                m.peak_in_flight
            );
        }
        println!("every read returned the seed array's {} values", demo::SEED_LEN);
    }
    Ok(())
}

/// Times `repeat` cold reads of the seed array by `driver`, each one done by `read`
/// through a store that counts into the given counters, and checks every value.
fn measure(
    driver: &'static str,
    url: &str,
    repeat: usize,
    mut read: impl FnMut(&Arc<InFlight>) -> Result<Vec<i64>>,
) -> Result<Measured> {
    let counts = Arc::new(InFlight::default());
    let mut seconds = Vec::with_capacity(repeat);
    for run in 1..=repeat {
        counts.total.store(0, Ordering::SeqCst);
        let start = Instant::now();
        let values = read(&counts).map_err(|e| format!("{driver} read of {url}: {e}"))?;
        seconds.push(start.elapsed().as_secs_f64());
        check(&values, driver, run)?;
    }
    Ok(Measured {
        driver,
        seconds,
        requests: counts.total.load(Ordering::SeqCst),
        peak_in_flight: counts.peak.load(Ordering::SeqCst),
    })
}

fn measure_async(url: &str, config: &HttpConfig, repeat: usize, concurrency: Option<usize>) -> Result<Measured> {
    let options = zarr_smol::ReadOptions { concurrency, ..Default::default() };
    measure("async", url, repeat, |counts| {
        smol::block_on(async {
            let inner = zarr_store::store_for_url(url, config.clone())?;
            let store: Arc<dyn Store> = Arc::new(Counting { inner, counts: Arc::clone(counts) });
            let array = zarr_smol::Array::open_with(store, "", Default::default()).await?;
            Ok(array.read_with(&Selection::all(), &options).await?.to_vec::<i64>()?)
        })
    })
}

fn measure_blocking(url: &str, config: &HttpConfig, repeat: usize, concurrency: Option<usize>) -> Result<Measured> {
    let options = zarr_blocking::ReadOptions { concurrency, ..Default::default() };
    measure("blocking", url, repeat, |counts| {
        let inner = zarr_store::store_for_url(url, config.clone())?;
        let store: Arc<dyn Store> = Arc::new(Counting { inner, counts: Arc::clone(counts) });
        let array = zarr_blocking::Array::open_with(store, "", Default::default())?;
        Ok(array.read_with(&Selection::all(), &options)?.to_vec::<i64>()?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn in_flight_tracks_the_peak() {
        let c = InFlight::default();
        c.enter();
        c.enter();
        c.leave();
        c.enter();
        c.leave();
        c.leave();
        assert_eq!(c.peak.load(Ordering::SeqCst), 2);
        assert_eq!(c.total.load(Ordering::SeqCst), 3);
        assert_eq!(c.now.load(Ordering::SeqCst), 0);
    }
}
