//! `zarrs-peer`: the zarrs crate (<https://zarrs.dev>) reading the zarr-rs benchmark arrays,
//! so the benchmark scripts can report zarr-rs next to another Rust Zarr library.
//!
//! ```text
//! zarrs-peer seed --url URL [--repeat N] [--variant NAME ...] [--cacert PEM]
//! zarrs-peer read --path DIR [--repeat N]
//! zarrs-peer version
//! ```
//!
//! `seed` reads the seed array (6443 int64 in 1289 chunks of 5, Zarr v2 blosc-lz4) over
//! HTTP --repeat times, cold (a new store, client and array per run), checks every value
//! and prints one JSON line per variant with the fields bench/seed_peers.py prints:
//!
//! * `objstore`       zarrs async API (`async_retrieve_array_subset`) over
//!   zarrs_object_store + object_store's HTTP store on tokio, zarrs' default codec options
//!   (concurrent target = rayon's thread count, chunk concurrent minimum 4)
//! * `objstore-c128`  the same with `CodecOptions::with_concurrent_target(128)`
//! * `objstore-c128-h2` and `ClientOptions::with_allow_http2()` (object_store speaks
//!   HTTP/1.1 only by default, even where TLS ALPN offers h2)
//! * `http-sync`      zarrs sync API (`retrieve_array_subset`) over zarrs_http (reqwest
//!   blocking), default options and the global rayon pool
//! * `http-sync-c128` the same inside a 128-thread rayon pool (concurrent target follows)
//!
//! `read` reads a local array whole with zarrs' FilesystemStore and default (rayon)
//! parallelism, --repeat times after one open, and prints one JSON line like
//! bench/peers_read.py (MiB/s, CPU seconds, peak RSS, checksum = wrapping sum of the
//! C-order bytes as little-endian u64 words, last word zero-padded).

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use zarrs::array::{Array, ArrayBytes, CodecOptions};
use zarrs::filesystem::FilesystemStore;
use zarrs_object_store::object_store;
use zarrs_object_store::AsyncObjectStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SEED_LEN: usize = 6443;
const VARIANTS: [&str; 5] = ["objstore", "objstore-c128", "objstore-c128-h2", "http-sync", "http-sync-c128"];

fn usage() -> ! {
    eprintln!(
        "usage: zarrs-peer seed --url URL [--repeat N] [--variant {}]... [--cacert PEM]\n       \
         zarrs-peer read --path DIR [--repeat N]",
        VARIANTS.join("|")
    );
    std::process::exit(2)
}

struct Args {
    url: Option<String>,
    path: Option<String>,
    repeat: usize,
    variants: Vec<String>,
    cacert: Option<String>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Args {
    let mut a = Args { url: None, path: None, repeat: 5, variants: Vec::new(), cacert: None };
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--url" => a.url = Some(value().trim_end_matches('/').to_string()),
            "--path" => a.path = Some(value()),
            "--repeat" | "-r" => a.repeat = value().parse::<usize>().unwrap_or_else(|_| usage()).max(1),
            "--variant" => {
                let v = value();
                if !VARIANTS.contains(&v.as_str()) {
                    usage()
                }
                a.variants.push(v)
            }
            "--cacert" => a.cacert = Some(value()),
            _ => usage(),
        }
    }
    a
}

fn main() {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| usage());
    let args = parse_args(it);
    let failed = match cmd.as_str() {
        "seed" => seed(&args),
        "read" => read(&args),
        "version" => {
            println!("zarrs {}", zarrs::version::version_str());
            false
        }
        _ => usage(),
    };
    std::process::exit(i32::from(failed))
}

fn median(runs: &[f64]) -> f64 {
    let mut v = runs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn best(runs: &[f64]) -> f64 {
    runs.iter().copied().fold(f64::INFINITY, f64::min)
}

// ---------------------------------------------------------------------------------------
// seed

fn check_seed(values: &[i64]) -> Result<(), BoxError> {
    if values.len() != SEED_LEN {
        return Err(format!("read {} values, expected {SEED_LEN}", values.len()).into());
    }
    for (i, &v) in values.iter().enumerate() {
        let want = 1_306_886_400 + i as i64 * 86_400;
        if v != want {
            return Err(format!("value {i} is {v}, expected {want}").into());
        }
    }
    Ok(())
}

fn object_store_array(
    url: &str,
    cacert: Option<&[u8]>,
    http2: bool,
) -> Result<Arc<AsyncObjectStore<object_store::http::HttpStore>>, BoxError> {
    let mut options = object_store::ClientOptions::new().with_allow_http(true);
    if http2 {
        options = options.with_allow_http2();
    }
    if let Some(pem) = cacert {
        options = options.with_root_certificate(object_store::Certificate::from_pem(pem)?);
    }
    let store = object_store::http::HttpBuilder::new().with_url(url).with_client_options(options).build()?;
    Ok(Arc::new(AsyncObjectStore::new(store)))
}

fn read_objstore(
    rt: &tokio::runtime::Runtime,
    url: &str,
    cacert: Option<&[u8]>,
    target: Option<usize>,
    http2: bool,
) -> Result<Vec<i64>, BoxError> {
    rt.block_on(async {
        let store = object_store_array(url, cacert, http2)?;
        let array = Array::async_open(store, "/").await?;
        let subset = array.subset_all();
        let values: Vec<i64> = match target {
            None => array.async_retrieve_array_subset(&subset).await?,
            Some(t) => {
                let options = CodecOptions::default().with_concurrent_target(t);
                array.async_retrieve_array_subset_opt(&subset, &options).await?
            }
        };
        Ok(values)
    })
}

fn read_http_sync(url: &str) -> Result<Vec<i64>, BoxError> {
    let store = Arc::new(zarrs_http::HTTPStore::new(url)?);
    let array = Array::open(store, "/")?;
    Ok(array.retrieve_array_subset(&array.subset_all())?)
}

fn seed_variant(
    variant: &str,
    url: &str,
    repeat: usize,
    cacert: Option<&[u8]>,
    rt: &tokio::runtime::Runtime,
) -> Result<(String, Vec<f64>), BoxError> {
    let threads = rayon::current_num_threads();
    let defaults = CodecOptions::default();
    let (label, pool) = match variant {
        "objstore" => (
            format!(
                "zarrs async object_store (defaults: target {}, chunk min {})",
                defaults.concurrent_target(),
                defaults.chunk_concurrent_minimum()
            ),
            None,
        ),
        "objstore-c128" => ("zarrs async object_store (concurrent target 128)".to_string(), None),
        "objstore-c128-h2" => ("zarrs async object_store (concurrent target 128, allow_http2)".to_string(), None),
        "http-sync" => (format!("zarrs sync zarrs_http (defaults: {threads} rayon threads)"), None),
        "http-sync-c128" => (
            "zarrs sync zarrs_http (128-thread rayon pool)".to_string(),
            Some(rayon::ThreadPoolBuilder::new().num_threads(128).build()?),
        ),
        _ => unreachable!("variant checked when parsing"),
    };
    let mut runs = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let start = Instant::now();
        let values = match variant {
            "objstore" => read_objstore(rt, url, cacert, None, false)?,
            "objstore-c128" => read_objstore(rt, url, cacert, Some(128), false)?,
            "objstore-c128-h2" => read_objstore(rt, url, cacert, Some(128), true)?,
            _ => match &pool {
                Some(pool) => pool.install(|| read_http_sync(url))?,
                None => read_http_sync(url)?,
            },
        };
        runs.push(start.elapsed().as_secs_f64());
        check_seed(&values)?;
    }
    Ok((label, runs))
}

fn seed(args: &Args) -> bool {
    let url = args.url.clone().unwrap_or_else(|| usage());
    let variants: Vec<String> =
        if args.variants.is_empty() { VARIANTS.iter().map(|s| s.to_string()).collect() } else { args.variants.clone() };
    // A private CA for https URLs: --cacert, else SSL_CERT_FILE (which zarrs_http's
    // native-tls honours by itself, but object_store's rustls verifier does not).
    let cacert_path =
        args.cacert.clone().or_else(|| std::env::var("SSL_CERT_FILE").ok().filter(|_| url.starts_with("https")));
    let cacert = cacert_path.as_ref().map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("reading {p}: {e}")));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let mut failed = false;
    for variant in &variants {
        let line = match seed_variant(variant, &url, args.repeat, cacert.as_deref(), &rt) {
            Ok((label, runs)) => json!({
                "impl": label, "variant": variant, "url": url, "runs_s": runs, "best_s": best(&runs),
                "median_s": median(&runs), "values_ok": true, "zarrs": zarrs::version::version_str(),
            }),
            Err(e) => {
                failed = true;
                json!({"impl": format!("zarrs {variant}"), "variant": variant, "url": url, "error": e.to_string()})
            }
        };
        println!("{line}");
    }
    failed
}

// ---------------------------------------------------------------------------------------
// read

fn word_sum(bytes: &[u8]) -> u64 {
    let mut sum = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        sum = sum.wrapping_add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        sum = sum.wrapping_add(u64::from_le_bytes(last));
    }
    sum
}

fn rusage() -> (f64, u64) {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    (secs(ru.ru_utime) + secs(ru.ru_stime), ru.ru_maxrss as u64 * 1024)
}

fn vm_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

fn read(args: &Args) -> bool {
    let path = args.path.clone().unwrap_or_else(|| usage());
    let result = (|| -> Result<serde_json::Value, BoxError> {
        let store = Arc::new(FilesystemStore::new(&path)?);
        let array = Array::open(store, "/")?;
        let subset = array.subset_all();
        let baseline = vm_rss();
        let (mut runs, mut cpu, mut checksum, mut nbytes) = (Vec::new(), Vec::new(), None, 0usize);
        for _ in 0..args.repeat {
            let (c0, _) = rusage();
            let t = Instant::now();
            let out: ArrayBytes<'static> = array.retrieve_array_subset(&subset)?;
            runs.push(t.elapsed().as_secs_f64());
            cpu.push(rusage().0 - c0);
            let raw = out.into_fixed()?;
            nbytes = raw.len();
            if checksum.is_none() {
                checksum = Some(word_sum(&raw));
            }
        }
        let b = best(&runs);
        Ok(json!({
            "impl": "zarrs", "path": path, "bytes": nbytes, "runs_s": runs, "cpu_s": cpu, "best_s": b,
            "best_mib_s": nbytes as f64 / (1u64 << 20) as f64 / b, "peak_rss_bytes": rusage().1,
            "baseline_rss_bytes": baseline, "checksum": format!("{:016x}", checksum.unwrap_or(0)),
            "zarrs": zarrs::version::version_str(), "rayon_threads": rayon::current_num_threads(),
        }))
    })();
    match result {
        Ok(line) => {
            println!("{line}");
            eprintln!("zarrs        {path}: best {:.1} MiB/s", line["best_mib_s"].as_f64().unwrap_or(0.0));
            false
        }
        Err(e) => {
            eprintln!("zarrs {path}: {e}");
            true
        }
    }
}
