//! The `zarr` binary on `s3://` URLs against a real S3 server (s3s-fs, which checks
//! SigV4): `info`, `ls` and `get` with the endpoint from `--endpoint-url` or from
//! `AWS_ENDPOINT_URL`, credentials from the environment, `--no-sign-request` refused by
//! a private bucket with a clear error; `put`, `create` and `cp` writing to and reading
//! from `s3://` (whole hierarchies disk to bucket, bucket to bucket, bucket to disk).
//! Skipped, saying so, only when the s3s-fs binary
//! is absent and `ZARR_S3S_FS` is unset (`.ci/run` sets it).

use std::path::Path;
use std::process::{Command, Output};

use zarr_store::server::s3s_fs::S3sFs;
use zarr_tests::manifest::{fixtures_dir, Manifest};
use zarr_tests::npy::Npy;

const ZARR: &str = env!("CARGO_BIN_EXE_zarr");

/// `zarr ARGS` with the server's AWS environment, less the variables in `without`.
fn zarr(server: &S3sFs, args: &[&str], without: &[&str]) -> Output {
    let mut cmd = Command::new(ZARR);
    cmd.args(args);
    for (name, value) in server.env() {
        if !without.contains(&name) {
            cmd.env(name, value);
        }
    }
    for name in without {
        cmd.env_remove(name);
    }
    cmd.output().unwrap_or_else(|e| panic!("cannot run {ZARR}: {e}"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let dest = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).expect("copy");
        }
    }
}

#[test]
fn info_ls_and_get_on_s3_urls() {
    let root = tempfile::tempdir().expect("tempdir");
    let Some(server) = S3sFs::start(root.path()).expect("start s3s-fs") else { return };
    // s3s-fs keeps objects as files: a fixture copied into the bucket's directory is uploaded.
    let bucket = server.bucket("zarr").expect("bucket");
    let data = fixtures_dir().join("data");
    for fixture in ["v3_shard_nested_compression", "v2_blosc_lz4_shuffle", "v3_group"] {
        copy_dir(&data.join(format!("{fixture}.zarr")), &bucket.join(format!("f/{fixture}.zarr")));
    }
    let endpoint = server.endpoint();

    // The endpoint from the flag (and not from the environment), or from the environment.
    let info_url = "s3://zarr/f/v3_shard_nested_compression.zarr";
    for (args, without) in [
        (vec!["info", info_url, "--endpoint-url", &endpoint, "--region", "us-east-1"], &["AWS_ENDPOINT_URL"][..]),
        (vec!["info", info_url], &[][..]),
    ] {
        let out = zarr(&server, &args, without);
        assert!(out.status.success(), "zarr {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("sharding_indexed") || text.contains("shard"), "{text}");
    }

    // `ls` walks a group without consolidated metadata: S3 lists.
    let out = zarr(&server, &["ls", "s3://zarr/f/v3_group.zarr"], &[]);
    assert!(out.status.success(), "zarr ls: {}", String::from_utf8_lossy(&out.stderr));

    // `get` matches numpy's answer.
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifest = Manifest::load().expect("manifest");
    for fixture in ["v3_shard_nested_compression", "v2_blosc_lz4_shuffle"] {
        let npy = tmp.path().join(format!("{fixture}.npy"));
        let url = format!("s3://zarr/f/{fixture}.zarr");
        let out = zarr(&server, &["get", &url, "-o", &npy.to_string_lossy()], &[]);
        assert!(out.status.success(), "zarr get {url}: {}", String::from_utf8_lossy(&out.stderr));
        let got = Npy::read(&npy).expect("npy").to_native_c_order();
        let want = manifest.array(fixture).expect("fixture").expected().expect("expected").to_native_c_order();
        assert!(got == want, "{url} differs from numpy");
    }

    // Anonymous requests to the private bucket: a clear access-denied error, not a fill.
    let out = zarr(&server, &["get", info_url, "--no-sign-request"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("access denied") && err.contains("check credentials / region"), "{err}");
    // A wrong secret: the same, and the secret is not in the message.
    let mut cmd = Command::new(ZARR);
    cmd.args(["info", info_url]);
    for (name, value) in server.env() {
        cmd.env(name, value);
    }
    let out = cmd.env("AWS_SECRET_ACCESS_KEY", "wrong-secret-value").output().expect("run zarr");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("access denied") && !err.contains("wrong-secret-value"), "{err}");
}

/// Asserts `zarr ARGS` succeeds; its stdout.
fn ok(server: &S3sFs, args: &[&str]) -> String {
    let out = zarr(server, args, &[]);
    assert!(out.status.success(), "zarr {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The array at `url` as native C-order .npy values, read by `zarr get`.
fn get(server: &S3sFs, url: &str, tmp: &Path) -> Npy {
    let npy = tmp.join("get.npy");
    ok(server, &["get", url, "-o", &npy.to_string_lossy()]);
    Npy::read(&npy).expect("npy").to_native_c_order()
}

#[test]
fn put_create_and_cp_to_and_from_s3_urls() {
    let root = tempfile::tempdir().expect("tempdir");
    let Some(server) = S3sFs::start(root.path()).expect("start s3s-fs") else { return };
    let bucket = server.bucket("zarr").expect("bucket");
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifest = Manifest::load().expect("manifest");

    // `put` a new sharded v3 and a v2 array, then `put --select` over part of one.
    let source = manifest.array("v3_zstd").expect("fixture");
    let npy = fixtures_dir().join(&source.npy);
    let want = source.expected().expect("expected").to_native_c_order();
    let chunks = vec!["2"; source.shape.len()].join(",");
    let shards = vec!["4"; source.shape.len()].join(",");
    for (url, layout) in [
        ("s3://zarr/w/sharded.zarr", vec!["--chunks", &chunks, "--shards", &shards]),
        ("s3://zarr/w/v2.zarr", vec!["--zarr-format", "2", "--codec", "blosc"]),
    ] {
        let mut args = vec!["put", url, "--from", npy.to_str().expect("utf-8 path")];
        args.extend(layout);
        ok(&server, &args);
        assert!(get(&server, url, tmp.path()) == want, "{url} differs from its source");
    }
    assert!(bucket.join("w/sharded.zarr/zarr.json").is_file() && bucket.join("w/v2.zarr/.zarray").is_file());
    ok(&server, &["put", "s3://zarr/w/v2.zarr", "--from", npy.to_str().expect("utf-8 path"), "--select", "..."]);
    assert!(get(&server, "s3://zarr/w/v2.zarr", tmp.path()) == want, "rewritten in place");

    // `create` an empty array: its metadata is there, and it reads as its fill value.
    ok(&server, &["create", "s3://zarr/w/empty.zarr", "--shape", "6,4", "--dtype", "int16", "--fill-value", "7"]);
    let info = ok(&server, &["info", "s3://zarr/w/empty.zarr"]);
    assert!(info.contains("int16"), "{info}");
    let empty = get(&server, "s3://zarr/w/empty.zarr", tmp.path());
    assert_eq!(empty.len(), 24);

    // `cp` of whole hierarchies (v2 and v3, nested groups, an empty group): disk to
    // bucket, bucket to bucket, bucket to disk; every array equals the source at each step.
    for group in ["v3_group", "v2_group"] {
        let src = fixtures_dir().join("data").join(format!("{group}.zarr"));
        let src = src.to_str().expect("utf-8 path");
        let back = tmp.path().join(format!("{group}_back.zarr"));
        let back = back.to_str().expect("utf-8 path");
        let (up, across) = (format!("s3://zarr/cp/{group}.zarr"), format!("s3://zarr/cp/{group}_2.zarr"));
        for (from, to) in [(src, up.as_str()), (&up, &across), (&across, back)] {
            let text = ok(&server, &["cp", from, to]);
            assert!(text.contains("copied 2 array(s)"), "cp {from} {to}: {text}");
        }
        for array in ["a", "sub/b"] {
            let want = get(&server, &format!("{src}/{array}"), tmp.path());
            for copy in [&up, &across, back] {
                assert!(get(&server, &format!("{copy}/{array}"), tmp.path()) == want, "{copy}/{array}");
            }
        }
        let listing = ok(&server, &["ls", &across]);
        for name in ["a", "sub", "b"] {
            assert!(listing.contains(name), "ls {across}: {listing}");
        }
    }
    assert!(tmp.path().join("v3_group_back.zarr/empty/zarr.json").is_file());
    assert!(bucket.join("cp/v3_group_2.zarr/sub/b/zarr.json").is_file());
}
