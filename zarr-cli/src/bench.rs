//! `zarr bench`: measurements that are repeatable from the command line.
//!
//! `zarr bench read PATH` reads a whole array several times in this process and
//! reports the throughput of each run, the best run, and the process's peak
//! resident memory. Peak memory cannot be reset, so measure one array per process.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::json;
use zarr_blocking::{Array, ReadOptions};
use zarr_proto::Selection;

/// Arguments of `zarr bench`.
#[derive(Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Read a whole local array N times; print MiB/s per run, the best run and peak RSS.
    Read {
        /// Local path or file:// URL of the array.
        path: PathBuf,
        /// Number of full reads.
        #[arg(short, long, default_value_t = 5)]
        repeat: usize,
        /// Requests in flight (default: the store's own).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Decode threads (default: the number of cores).
        #[arg(long)]
        decode_threads: Option<usize>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The seed scenario (1289 tiny chunks) against a running server, async and blocking.
    Seed(crate::bench_seed::SeedArgs),
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Runs a `zarr bench` subcommand.
pub(crate) fn run(args: BenchArgs) -> Result<()> {
    match args.command {
        BenchCommand::Read { path, repeat, concurrency, decode_threads, json } => {
            read(&path, repeat.max(1), ReadOptions { concurrency, decode_threads, ..Default::default() }, json)
        }
        BenchCommand::Seed(args) => crate::bench_seed::run(args),
    }
}

fn read(path: &std::path::Path, repeat: usize, options: ReadOptions, as_json: bool) -> Result<()> {
    let url = path.to_string_lossy();
    let array = Array::open(&url).map_err(|e| format!("{url}: {e}"))?;
    let mut seconds = Vec::with_capacity(repeat);
    let mut cpu_seconds = Vec::with_capacity(repeat);
    let mut bytes = 0u64;
    let mut checksum = 0u64;
    for run in 1..=repeat {
        let (start, cpu_start) = (Instant::now(), cpu_time());
        let result = array.read_with(&Selection::all(), &options)?;
        let elapsed = start.elapsed().as_secs_f64();
        let cpu = cpu_time().zip(cpu_start).map(|(end, start)| end - start);
        let data = result.fixed_bytes()?;
        bytes = data.len() as u64;
        if run == 1 {
            checksum = word_sum(data);
        }
        drop(result);
        seconds.push(elapsed);
        cpu_seconds.extend(cpu);
        if !as_json {
            let cpu = cpu.map_or_else(String::new, |c| format!("  {c:.2} CPU s"));
            println!("run {run}: {:8.1} MiB/s  {elapsed:.3} s{cpu}", mib(bytes) / elapsed);
        }
    }
    let best = seconds.iter().copied().fold(f64::INFINITY, f64::min);
    let peak = peak_rss_bytes();
    if as_json {
        let out = json!({
            "impl": "zarr-rs",
            "path": url,
            "bytes": bytes,
            "runs_s": seconds,
            "cpu_s": cpu_seconds,
            "best_s": best,
            "best_mib_s": mib(bytes) / best,
            "peak_rss_bytes": peak,
            "checksum": format!("{checksum:016x}"),
        });
        println!("{out}");
    } else {
        println!(
            "best:  {:8.1} MiB/s  {best:.3} s  ({:.1} MiB, checksum {checksum:016x})",
            mib(bytes) / best,
            mib(bytes)
        );
        match peak {
            Some(p) => println!(
                "peak RSS: {:.1} MiB ({:.2}x the output)",
                mib(p),
                if bytes > 0 { p as f64 / bytes as f64 } else { 0.0 }
            ),
            None => println!("peak RSS: unknown (no /proc/self/status)"),
        }
    }
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Wrapping sum of the bytes read as little-endian u64 words, the last one zero-padded:
/// cheap, and the bench scripts compute the same with numpy to check every reader.
fn word_sum(data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(8);
    let mut sum = words
        .by_ref()
        .map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
        .fold(0u64, u64::wrapping_add);
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        sum = sum.wrapping_add(u64::from_le_bytes(last));
    }
    sum
}

/// CPU time (user + system) of the whole process so far, in seconds, from /proc/self/stat
/// (clock ticks of 1/100 s, Linux's USER_HZ).
fn cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// The process's peak resident set size (VmHWM), in bytes.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_sum_pads_the_last_word() {
        let data: Vec<u8> = (1..=10).collect();
        let first = u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]);
        let last = u64::from_le_bytes([9, 10, 0, 0, 0, 0, 0, 0]);
        assert_eq!(word_sum(&data), first.wrapping_add(last));
        assert_eq!(word_sum(&[0xff; 16]), u64::MAX.wrapping_add(u64::MAX));
    }

    #[test]
    fn peak_rss_is_known_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
            let start = cpu_time().unwrap();
            let t = Instant::now();
            let mut x = 0u64;
            while t.elapsed().as_millis() < 50 {
                x = x.wrapping_add(std::hint::black_box(1));
            }
            assert!(x > 0 && cpu_time().unwrap() >= start);
        }
    }
}
