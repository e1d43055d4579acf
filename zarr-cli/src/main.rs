//! `zarr`: inspect and read Zarr v2 and v3 arrays from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use zarr_blocking::{Array, Group, Node, ReadOptions};
use zarr_proto::Selection;
use zarr_proto::SelectionKind;
use zarr_proto::{ArrayMetadata, ChunkGrid, ZarrFormat};

mod bench;
mod bench_seed;
mod consolidate;
mod cp;
mod create;
/// mimalloc keeps freed memory for reuse; with glibc's allocator, every decoded chunk's
/// buffer came back from the kernel as fresh zeroed pages (a third of a read's CPU was
/// page faults and page clearing in `zarr bench read`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod demo;
mod format;
mod npy;
mod npy_read;
mod put;

#[derive(Parser)]
#[command(name = "zarr", version, about = "Inspect and read Zarr v2 and v3 arrays")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How to reach a remote store (ignored for local paths).
#[derive(clap::Args, Clone, Default)]
struct Remote {
    /// Speak HTTP/2 with prior knowledge over cleartext (h2c).
    #[arg(long)]
    h2c: bool,
    /// Most HTTP/2 connections to the server (default 4; 1: every request on one
    /// connection). More than one opens only while the server's stream limit holds
    /// requests back.
    #[arg(long, value_name = "N")]
    h2_connections: Option<usize>,
    /// Speak HTTP/1.1 only, even where TLS ALPN offers h2 (skips learning the protocol).
    #[arg(long, conflicts_with = "h2c")]
    http1: bool,
    /// Trust the CA certificates in this PEM file (also honoured: SSL_CERT_FILE, SSL_CERT_DIR).
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Extra request header, `Name: value` (repeatable), e.g. an auth token.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Read 403 Forbidden as a missing key (fill value), as S3 answers for missing keys
    /// to clients without list permission; otherwise 403 is an error.
    #[arg(long)]
    forbidden_is_missing: bool,
    /// S3 endpoint for s3:// URLs, e.g. http://127.0.0.1:9000 (also: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// AWS region for s3:// URLs (also: AWS_REGION, AWS_DEFAULT_REGION, the profile's).
    #[arg(long)]
    region: Option<String>,
    /// Profile in ~/.aws/credentials and ~/.aws/config for s3:// URLs (also: AWS_PROFILE).
    #[arg(long)]
    profile: Option<String>,
    /// Send s3:// requests unsigned, for public buckets (also: AWS_NO_SIGN_REQUEST=1).
    #[arg(long)]
    no_sign_request: bool,
}

impl Remote {
    fn config(&self) -> Result<zarr_blocking::HttpConfig> {
        let mut c = zarr_blocking::HttpConfig::default();
        if let Some(n) = self.h2_connections {
            c = c.max_h2_connections(n);
        }
        if self.h2c {
            c = c.version(zarr_blocking::HttpVersion::Http2PriorKnowledge);
        }
        if self.http1 {
            c = c.version(zarr_blocking::HttpVersion::Http1);
        }
        if let Some(ca) = &self.cacert {
            c = c.ca_file(ca);
        }
        if self.forbidden_is_missing {
            c = c.status(zarr_proto::http::StatusPolicy { forbidden_is_missing: true });
        }
        for h in &self.headers {
            let (name, value) = h.split_once(':').ok_or_else(|| format!("header `{h}` is not `Name: value`"))?;
            c = c.header(name.trim(), value.trim());
        }
        Ok(c)
    }

    /// The S3 settings the flags give.
    fn s3(&self) -> zarr_store::S3Options {
        zarr_store::S3Options {
            endpoint: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            no_sign_request: self.no_sign_request,
            ..zarr_store::S3Options::default()
        }
    }

    /// The store `url` names, reached with these settings.
    fn store(&self, url: &str) -> Result<Arc<dyn zarr_store::Store>> {
        Ok(zarr_store::store_for_url_with(url, self.config()?, &self.s3())?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Show an array's or group's metadata: shape, chunks, dtype, codecs, attributes.
    Info {
        /// Local path, file://, http(s):// or s3:// URL of the array or group.
        url: String,
        /// Machine-readable JSON output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Show the hierarchy under a group, with shape and dtype per array.
    Ls {
        /// Local path, file://, http(s):// or s3:// URL of the group (HTTP needs consolidated metadata).
        url: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Read a selection of an array; write it as .npy or print a preview.
    Get {
        /// Local path, file://, http(s):// or s3:// URL of the array.
        url: String,
        /// numpy-style selection, e.g. `3:17:2, -1, ...` or `[1,5,9], 0:10`; default everything.
        #[arg(short, long)]
        select: Option<String>,
        /// How the selection's indices combine.
        #[arg(long, value_enum, default_value_t = Kind::Oindex)]
        kind: Kind,
        /// Write a NumPy .npy file here.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Requests in flight (default: the store's own).
        #[arg(long)]
        concurrency: Option<usize>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Copy an array or a hierarchy between stores, optionally re-chunked, re-compressed or converted.
    Cp(cp::CpArgs),
    /// Write a .npy file into an array (creating it when there is none).
    Put(put::PutArgs),
    /// Create an empty array: every element is the fill value until written.
    Create(create::CreateArgs),
    /// Write consolidated metadata for a group's hierarchy (v2 .zmetadata, v3 in zarr.json).
    Consolidate(consolidate::ConsolidateArgs),
    /// Serve a directory over HTTP/1.1 and h2c (one port), with Range support.
    Serve {
        /// The directory to serve.
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Delay added to every response, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Fraction of requests answered with 503 (0.0 to 1.0), to test retries.
        #[arg(long, default_value_t = 0.0)]
        fail_rate: f64,
        /// Accept PUT and DELETE (with If-Match / If-None-Match: * conditions), so
        /// `zarr put`, `create` and `cp` can write over HTTP. Anyone who can reach the
        /// address can then change the files: keep it on loopback.
        #[arg(long)]
        writable: bool,
    },
    /// Reproduce the seed scenario: 1289 tiny chunks over a 50 ms link, read slowly and fast.
    Demo {
        /// Latency per request, in milliseconds.
        #[arg(long, default_value_t = 50)]
        latency_ms: u64,
        /// Chunks read one at a time before extrapolating the slow ways.
        #[arg(long, default_value_t = 20)]
        sample: u64,
    },
    /// Measure: full-array read throughput and peak memory.
    Bench(bench::BenchArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// Basic and orthogonal indexing (numpy basic indexing, zarr `oindex`).
    Oindex,
    /// Coordinate indexing (zarr `vindex`): one integer list per dimension, or a mask.
    Vindex,
    /// Block indexing over chunk-grid indices (zarr `blocks`).
    Blocks,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Ends the process quietly, with status 141 (128 + SIGPIPE), when stdout's reader is
/// gone (`zarr info URL | head`), where `println!` would panic with "failed printing
/// to stdout: Broken pipe". Restoring the default SIGPIPE action instead would also
/// kill the process when a network peer closes a socket under OpenSSL's writes.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { url, json, remote } => info(&url, json, &remote),
        Command::Ls { url, remote } => ls(&url, &remote),
        Command::Get { url, select, kind, output, concurrency, remote } => {
            get(&url, select.as_deref(), kind, output.as_deref(), concurrency, &remote)
        }
        Command::Create(args) => create::run(args),
        Command::Consolidate(args) => consolidate::run(args),
        Command::Put(args) => put::run(args),
        Command::Cp(args) => cp::run(args),
        Command::Serve { dir, addr, latency_ms, fail_rate, writable } => {
            serve(dir, addr, latency_ms, fail_rate, writable)
        }
        Command::Demo { latency_ms, sample } => demo::run(std::time::Duration::from_millis(latency_ms), sample),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zarr: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn open_node(url: &str, remote: &Remote) -> Result<Node> {
    let store = remote.store(url)?;
    Node::open_with(store, "", Default::default()).map_err(|e| format!("{url}: {e}").into())
}

fn open_array(url: &str, remote: &Remote) -> Result<Array> {
    match open_node(url, remote)? {
        Node::Array(a) => Ok(a),
        Node::Group(_) => Err(format!("{url} is a group, not an array (try `zarr ls {url}`)").into()),
    }
}

fn format_name(f: ZarrFormat) -> u8 {
    match f {
        ZarrFormat::V2 => 2,
        ZarrFormat::V3 => 3,
    }
}

fn chunk_shape(meta: &ArrayMetadata) -> Vec<u64> {
    match &meta.chunk_grid {
        ChunkGrid::Regular { chunk_shape } => chunk_shape.clone(),
        ChunkGrid::Rectilinear { dims } => dims.iter().map(|d| d.max_len()).collect(),
    }
}

/// Bytes of stored chunks under the array, and how many exist (local stores only).
fn stored(array: &Array) -> Result<(u64, u64)> {
    let store = array.store();
    let mut total = 0;
    let mut count = 0;
    let mut stack = vec![if array.path().is_empty() { String::new() } else { format!("{}/", array.path()) }];
    while let Some(prefix) = stack.pop() {
        let listing = store.list_dir_blocking(&prefix)?;
        let (keys, dirs) = (listing.keys, listing.prefixes);
        for key in keys {
            let name = key.rsplit('/').next().unwrap_or(&key);
            if matches!(name, "zarr.json" | ".zarray" | ".zattrs" | ".zgroup" | ".zmetadata") {
                continue;
            }
            total += store.size_blocking(&key)?.unwrap_or(0);
            count += 1;
        }
        stack.extend(dirs);
    }
    Ok((total, count))
}

fn info(url: &str, as_json: bool, remote: &Remote) -> Result<()> {
    match open_node(url, remote)? {
        Node::Group(g) => {
            let children = g.children()?;
            if as_json {
                let out = json!({
                    "node_type": "group",
                    "zarr_format": format_name(g.metadata().zarr_format),
                    "attributes": g.attributes(),
                    "consolidated": g.consolidated().is_some(),
                    "children": children,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("Group        {url}");
                println!("Format       Zarr v{}", format_name(g.metadata().zarr_format));
                println!("Consolidated {}", if g.consolidated().is_some() { "yes" } else { "no" });
                println!("Children     {}", children.join(", "));
                if !g.attributes().is_empty() {
                    println!("Attributes   {}", serde_json::to_string(g.attributes())?);
                }
            }
        }
        Node::Array(a) => {
            let meta = a.metadata();
            let grid = meta.chunk_grid.grid_shape(&meta.shape);
            // `None` beyond 64 bits: arrays that large open, and read where a selection is small.
            let n_chunks: Option<u64> = grid.iter().try_fold(1u64, |a, &n| a.checked_mul(n));
            let shards = meta.codecs.sharding().map(|s| s.chunk_shape.clone());
            // Stores that cannot list (plain HTTP) do not know what is stored.
            let (stored_bytes, stored_chunks) = match stored(&a) {
                Ok((bytes, count)) => (Some(bytes), Some(count)),
                Err(_) if a.store().list_dir_blocking("").is_err() => (None, None),
                Err(e) => return Err(e),
            };
            let fill = format::element(&meta.data_type, meta.fill_value.as_bytes());
            if as_json {
                let out = json!({
                    "node_type": "array",
                    "zarr_format": format_name(meta.zarr_format),
                    "shape": meta.shape,
                    "chunks": shards.clone().unwrap_or_else(|| chunk_shape(meta)),
                    "shards": shards.as_ref().map(|_| chunk_shape(meta)),
                    "dtype": dtype_shown(&meta.data_type),
                    "fill_value": meta.fill_value_json(),
                    "codecs": format::codecs(&meta.codecs),
                    "chunk_grid_shape": grid,
                    "num_chunks": n_chunks,
                    "stored_objects": stored_chunks,
                    "stored_bytes": stored_bytes,
                    "dimension_names": meta.dimension_names,
                    "attributes": meta.attributes,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("Array        {url}");
                println!("Format       Zarr v{}", format_name(meta.zarr_format));
                println!("Shape        {:?}", meta.shape);
                match &shards {
                    Some(inner) => {
                        println!("Chunks       {inner:?} (inner chunks)");
                        println!("Shards       {:?}", chunk_shape(meta));
                    }
                    None => println!("Chunks       {:?}", chunk_shape(meta)),
                }
                println!("Data type    {}", dtype_shown(&meta.data_type));
                println!("Fill value   {fill}");
                println!("Codecs       {}", format::codecs(&meta.codecs));
                let count = n_chunks.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
                println!("Grid         {grid:?} = {count} {}", if shards.is_some() { "shards" } else { "chunks" });
                match (stored_chunks, stored_bytes) {
                    (Some(n), Some(b)) => println!("Stored       {n} objects, {b} bytes"),
                    _ => println!("Stored       unknown (the store cannot list)"),
                }
                if let Some(names) = &meta.dimension_names {
                    // `t, y, x`; an unnamed dimension shows as `-`.
                    let names: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap_or("-")).collect();
                    println!("Dimensions   {}", names.join(", "));
                }
                if !meta.attributes.is_empty() {
                    println!("Attributes   {}", serde_json::to_string(&meta.attributes)?);
                }
            }
        }
    }
    Ok(())
}

fn ls(url: &str, remote: &Remote) -> Result<()> {
    match open_node(url, remote)? {
        Node::Array(a) => {
            println!("{url} {:?} {}", a.shape(), a.metadata().data_type.name());
        }
        Node::Group(g) => {
            println!("{url}");
            print_tree(&g, "")?;
        }
    }
    Ok(())
}

fn print_tree(group: &Group, indent: &str) -> Result<()> {
    let children = group.children()?;
    for (i, name) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let (branch, next) = if last { ("└── ", "    ") } else { ("├── ", "│   ") };
        match group.child(name)? {
            Node::Array(a) => {
                println!("{indent}{branch}{name} {:?} {}", a.shape(), a.metadata().data_type.name());
            }
            Node::Group(g) => {
                println!("{indent}{branch}{name}/");
                print_tree(&g, &format!("{indent}{next}"))?;
            }
        }
    }
    Ok(())
}

fn get(
    url: &str,
    select: Option<&str>,
    kind: Kind,
    output: Option<&std::path::Path>,
    concurrency: Option<usize>,
    remote: &Remote,
) -> Result<()> {
    let array = open_array(url, remote)?;
    let kind = match kind {
        Kind::Oindex => SelectionKind::Orthogonal,
        Kind::Vindex => SelectionKind::Points,
        Kind::Blocks => SelectionKind::Blocks,
    };
    let selection = match select {
        Some(expr) => Selection::parse(expr, kind)?,
        None => Selection::all(),
    };
    let mut options = ReadOptions { concurrency, ..Default::default() };
    let bar = progress_bar();
    if let Some(bar) = bar.clone() {
        options.progress = Some(bar);
    }
    let start = Instant::now();
    let result = array.read_with(&selection, &options)?;
    let elapsed = start.elapsed();
    match output {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            npy::write(&result, std::io::BufWriter::new(file)).map_err(|e| format!("{}: {e}", path.display()))?;
            // The peak memory, so a user (and tests/get_peak_memory.rs) can see what the
            // read held beyond its output.
            let peak = bench::peak_rss_bytes()
                .map(|b| format!(", peak memory {:.1} MiB", b as f64 / 1048576.0))
                .unwrap_or_default();
            eprintln!(
                "wrote {} {:?} {} to {} in {:.3} s{peak}",
                result.num_elements(),
                result.shape,
                result.dtype.name(),
                path.display(),
                elapsed.as_secs_f64()
            );
        }
        None => {
            println!("shape {:?}, dtype {}", result.shape, result.dtype.name());
            println!("{}", format::preview(&result, 20));
        }
    }
    Ok(())
}

fn serve(dir: PathBuf, addr: std::net::SocketAddr, latency_ms: u64, fail_rate: f64, writable: bool) -> Result<()> {
    use zarr_store::server::{Fault, Server, ServerConfig};
    if !dir.is_dir() {
        return Err(format!("{}: not a directory", dir.display()).into());
    }
    let mut config =
        ServerConfig::dir(&dir).addr(addr).latency(std::time::Duration::from_millis(latency_ms)).writable(writable);
    if fail_rate > 0.0 {
        config = config.fault(Fault::Status503, fail_rate.min(1.0));
    }
    let server = Server::start(config)?;
    let mode = if writable { ", writable" } else { "" };
    eprintln!("serving {} at {} (HTTP/1.1 and h2c{mode}); Ctrl-C to stop", dir.display(), server.url());
    loop {
        std::thread::park();
    }
}

/// A progress callback drawing a bar on stderr, when stderr is a terminal and the read
/// or write runs longer than half a second.
fn progress_bar() -> Option<zarr_blocking::Progress> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let start = Instant::now();
    let bar = indicatif::ProgressBar::hidden();
    Some(Arc::new(move |done: usize, total: usize| {
        if bar.is_hidden() && start.elapsed().as_millis() > 500 && done < total {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} chunks {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
        }
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if done == total {
            bar.finish_and_clear();
        }
    }))
}

/// The data type as `info` shows it: its name, and a record's fields as v2 writes them.
fn dtype_shown(dtype: &zarr_proto::DataType) -> String {
    match dtype {
        zarr_proto::DataType::Structured(_) => dtype.to_string(),
        other => other.name(),
    }
}
