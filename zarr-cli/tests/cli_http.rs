//! The `zarr` binary over HTTP: the URL forms of `info` and `get`, and the flags every
//! command that takes a URL has (`--h2c`, `--header`, `--cacert`, `--http1`).
//!
//! Plain HTTP and h2c go to zarr-smol's test server on loopback (its counters tell which
//! protocol and how many connections the binary used); TLS goes to nginx through
//! `bench/nginx.sh` with its private CA (skipped with `ZARR_SKIP_NGINX=1`). Every `get`
//! is compared with numpy's answer from the fixture manifest.

use std::path::Path;
use std::process::{Command, Output};

use zarr_store::server::{Server, ServerConfig};
use zarr_tests::manifest::{fixtures_dir, Manifest};
use zarr_tests::nginx::Nginx;
use zarr_tests::npy::Npy;

const ZARR: &str = env!("CARGO_BIN_EXE_zarr");

/// Fixtures read over HTTP: v2 blosc, v3 sharded (ranges into shards), v3 zstd, the seed array.
const FIXTURES: &[&str] = &["v2_blosc_lz4_shuffle", "v3_shard_nested_compression", "v3_zstd", "v2_seed_6443"];

fn zarr(args: &[&str]) -> Output {
    Command::new(ZARR).args(args).output().unwrap_or_else(|e| panic!("cannot run {ZARR}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `zarr get URL -o out.npy [flags]`, compared with numpy's answer; `Err` says what differs.
fn get_matches(url: &str, fixture: &str, flags: &[&str], tmp: &Path) -> Result<(), String> {
    let manifest = Manifest::load()?;
    let fx = manifest.array(fixture).ok_or_else(|| format!("no fixture {fixture}"))?;
    let out_path = tmp.join(format!("{fixture}.npy"));
    let out_str = out_path.to_string_lossy().into_owned();
    let mut args = vec!["get", url, "-o", &out_str];
    args.extend_from_slice(flags);
    let out = zarr(&args);
    if !out.status.success() {
        return Err(format!("zarr {} failed: {}", args.join(" "), stderr(&out)));
    }
    let got = Npy::read(&out_path)?.to_native_c_order();
    let want = fx.expected()?.to_native_c_order();
    if got != want {
        return Err(format!("zarr {}: differs from numpy (shape {:?} vs {:?})", args.join(" "), got.shape, want.shape));
    }
    Ok(())
}

#[test]
fn get_and_info_over_http1_and_h2c() {
    let server = Server::start(ServerConfig::dir(fixtures_dir().join("data"))).expect("server on 127.0.0.1");
    let tmp = tempfile::tempdir().expect("temp dir");
    for (flags, h2) in [(&[][..], false), (&["--h2c"][..], true), (&["--http1"][..], false)] {
        for fixture in FIXTURES {
            server.reset_counters();
            let url = format!("{}/{fixture}.zarr", server.url());
            get_matches(&url, fixture, flags, tmp.path()).unwrap_or_else(|e| panic!("{e}"));
            let c = server.counters();
            if h2 {
                // Prior knowledge: one multiplexed connection for the whole read.
                assert_eq!((c.connections, c.h2_connections), (1, 1), "{fixture} {flags:?}: {c:?}");
            } else {
                assert_eq!(c.h2_connections, 0, "{fixture} {flags:?}: {c:?}");
            }
        }
        let url = format!("{}/v2_seed_6443.zarr", server.url());
        let mut args = vec!["info", url.as_str(), "--json"];
        args.extend_from_slice(flags);
        let out = zarr(&args);
        assert!(out.status.success(), "zarr {}: {}", args.join(" "), stderr(&out));
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info --json prints JSON");
        assert_eq!(info["shape"], serde_json::json!([6443]), "{info}");
    }
}

#[test]
fn ls_over_http_lists_what_it_lists_locally() {
    // Over HTTP there is no listing: groups are walked through consolidated metadata.
    let server = Server::start(ServerConfig::dir(fixtures_dir().join("data"))).expect("server on 127.0.0.1");
    let manifest = Manifest::load().expect("manifest loads");
    assert!(!manifest.groups.is_empty());
    for group in &manifest.groups {
        assert!(group.consolidated, "{}: the HTTP listing needs consolidated metadata", group.name);
        let local = zarr(&["ls", &group.dir().to_string_lossy()]);
        assert!(local.status.success(), "{}", stderr(&local));
        let url = format!("{}/{}.zarr", server.url(), group.name);
        for flags in [&[][..], &["--h2c"][..]] {
            let mut args = vec!["ls", url.as_str()];
            args.extend_from_slice(flags);
            let remote = zarr(&args);
            assert!(remote.status.success(), "zarr {}: {}", args.join(" "), stderr(&remote));
            // Same tree below the first line (which names the path or URL).
            let tree = |o: &Output| String::from_utf8_lossy(&o.stdout).lines().skip(1).collect::<Vec<_>>().join("\n");
            assert_eq!(tree(&remote), tree(&local), "zarr {}", args.join(" "));
            assert!(tree(&remote).lines().count() >= 3, "{}", tree(&remote));
        }
    }
}

#[test]
fn forbidden_is_missing_only_when_asked() {
    // Like S3 without list permission: every missing key (metadata probes, absent shards)
    // is answered 403.
    let config = ServerConfig::dir(fixtures_dir().join("data")).missing_is_forbidden(true);
    let server = Server::start(config).expect("server on 127.0.0.1");
    let tmp = tempfile::tempdir().expect("temp dir");
    let url = format!("{}/v3_shard_missing_fill.zarr", server.url());
    let out = zarr(&["get", &url, "-o", &tmp.path().join("x.npy").to_string_lossy()]);
    assert!(!out.status.success(), "403 was read as data or fill");
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
    get_matches(&url, "v3_shard_missing_fill", &["--forbidden-is-missing"], tmp.path())
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn header_flag_sends_credentials() {
    let config = ServerConfig::dir(fixtures_dir().join("data")).require_header("Authorization", "Bearer s3cret");
    let server = Server::start(config).expect("server on 127.0.0.1");
    let tmp = tempfile::tempdir().expect("temp dir");
    let url = format!("{}/v3_zstd.zarr", server.url());
    // Without the token every request is refused: a clear error naming the status, not fill values.
    let out = zarr(&["info", &url]);
    assert!(!out.status.success(), "info without the token succeeded");
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    let out = zarr(&["get", &url, "-o", &tmp.path().join("x.npy").to_string_lossy()]);
    assert!(!out.status.success() && stderr(&out).contains("401"), "{}", stderr(&out));
    for flags in
        [&["--header", "Authorization: Bearer s3cret"][..], &["--h2c", "--header", "authorization: Bearer s3cret"]]
    {
        get_matches(&url, "v3_zstd", flags, tmp.path()).unwrap_or_else(|e| panic!("{e}"));
        let mut args = vec!["info", url.as_str()];
        args.extend_from_slice(flags);
        let out = zarr(&args);
        assert!(out.status.success(), "zarr {}: {}", args.join(" "), stderr(&out));
    }
    // A malformed header is refused before any request.
    let out = zarr(&["info", &url, "--header", "no colon here"]);
    assert!(!out.status.success(), "a header without a colon was accepted");
}

#[test]
fn cacert_flag_trusts_a_private_ca() {
    if zarr_tests::nginx::skip_requested() {
        eprintln!("ZARR_SKIP_NGINX=1: not testing against nginx");
        return;
    }
    let nginx = Nginx::start(&fixtures_dir().join("data"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let ca = nginx.var("CA").to_string();
    for base in ["HTTPS_H2_URL", "HTTPS_H1_URL"] {
        let url = format!("{}/v2_seed_6443.zarr", nginx.var(base));
        get_matches(&url, "v2_seed_6443", &["--cacert", &ca], tmp.path()).unwrap_or_else(|e| panic!("{e}"));
        // The CA is not in the system store: without --cacert the certificate is refused.
        let out = Command::new(ZARR)
            .args(["info", &url])
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .output()
            .expect("zarr runs");
        assert!(!out.status.success(), "{base}: untrusted certificate accepted");
        assert!(stderr(&out).contains("certificate"), "{base}: {}", stderr(&out));
        // SSL_CERT_FILE works as for OpenSSL-based tools.
        let out = Command::new(ZARR).args(["info", &url]).env("SSL_CERT_FILE", &ca).output().expect("zarr runs");
        assert!(out.status.success(), "{base} with SSL_CERT_FILE: {:?} {}", out.status, stderr(&out));
    }
    // nginx saw h2 on the ALPN port and HTTP/1.1 on the S3-like one.
    let log = nginx.access_log();
    let h2_port = (nginx.port + 1).to_string();
    let h1_port = (nginx.port + 2).to_string();
    let protocols = |port: &str| -> std::collections::BTreeSet<String> {
        log.lines()
            .filter(|l| l.split(' ').next() == Some(port))
            .filter_map(|l| l.split(' ').nth(1).map(str::to_string))
            .collect()
    };
    assert_eq!(protocols(&h2_port), ["HTTP/2.0".to_string()].into(), "{log}");
    assert_eq!(protocols(&h1_port), ["HTTP/1.1".to_string()].into(), "{log}");
}

#[test]
fn tls_reads_exit_cleanly() {
    // A TLS connection still closing on the HTTP driver thread while OpenSSL's exit
    // handler ran crashed about one `zarr get` in twenty ("double free or corruption")
    // before clients waited for their connections on drop. Twenty reads over each TLS
    // endpoint, each a fresh process that exits right after its 128-connection pool
    // (or one h2 connection) is dropped.
    if zarr_tests::nginx::skip_requested() {
        eprintln!("ZARR_SKIP_NGINX=1: not testing against nginx");
        return;
    }
    let nginx = Nginx::start(&fixtures_dir().join("data"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let out_path = tmp.path().join("seed.npy").to_string_lossy().into_owned();
    let ca = nginx.var("CA").to_string();
    for base in ["HTTPS_H1_URL", "HTTPS_H2_URL"] {
        let url = format!("{}/v2_seed_6443.zarr", nginx.var(base));
        for run in 0..20 {
            let out = zarr(&["get", &url, "-o", &out_path, "--cacert", &ca]);
            assert!(out.status.success(), "{base} run {run}: {:?} {}", out.status, stderr(&out));
        }
    }
}
