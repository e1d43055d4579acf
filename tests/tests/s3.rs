//! `s3://` end to end against a real S3 server (s3s-fs, which checks SigV4): every
//! conformance fixture uploaded through `S3Store`, then opened by URL with
//! `Array::open("s3://...")` in both drivers (settings from the environment, as a user
//! would give them) and read whole, compared with the local read.
//!
//! Skipped, saying so, only when the s3s-fs binary is absent and `ZARR_S3S_FS` is unset;
//! `.ci/run` installs it and sets `ZARR_S3S_FS`.

use std::path::Path;

use zarr_store::server::s3s_fs::{S3sFs, SECRET_KEY};
use zarr_store::{HttpConfig, S3Store, Store};
use zarr_tests::manifest::fixtures_dir;

fn files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read fixture dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files(&path, base, out);
        } else {
            out.push(path.strip_prefix(base).expect("under base").to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_fixture_reads_the_same_through_s3_in_both_drivers() {
    let root = tempfile::tempdir().expect("tempdir");
    let Some(server) = S3sFs::start(root.path()).expect("start s3s-fs") else { return };
    server.bucket("zarr").expect("bucket");
    // Set before any store reads the environment; the only test in this binary.
    for (name, value) in server.env() {
        std::env::set_var(name, value);
    }

    let data = fixtures_dir().join("data");
    let upload =
        S3Store::new(server.config("s3://zarr/fixtures", Some(SECRET_KEY)).expect("config"), HttpConfig::default())
            .expect("store");
    let mut keys = Vec::new();
    files(&data, &data, &mut keys);
    assert!(keys.len() > 100, "fixtures missing: {} files", keys.len());
    let puts =
        keys.iter().map(|key| upload.set(key, std::fs::read(data.join(key)).expect("fixture file").into())).collect();
    for (key, put) in keys.iter().zip(futures_lite::future::block_on(zarr_store::join_all(puts))) {
        put.unwrap_or_else(|e| panic!("upload {key}: {e}"));
    }

    let mut names: Vec<String> = std::fs::read_dir(&data)
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zarr"))
        .collect();
    names.sort();
    let mut arrays = 0;
    let all = zarr_blocking::Selection::all();
    for name in &names {
        let local = data.join(name);
        let url = format!("s3://zarr/fixtures/{name}");
        match zarr_blocking::Node::open(&local.to_string_lossy()).expect("local open") {
            zarr_blocking::Node::Group(_) => {
                let node = zarr_blocking::Node::open(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
                assert!(matches!(node, zarr_blocking::Node::Group(_)), "{url}");
            }
            zarr_blocking::Node::Array(local) => {
                let want = local.read(&all).unwrap_or_else(|e| panic!("{name} local: {e}"));
                let got = zarr_blocking::Array::open(&url).and_then(|a| a.read(&all));
                assert_eq!(got.unwrap_or_else(|e| panic!("{url} (blocking): {e}")), want, "{url} (blocking)");
                let got = futures_lite::future::block_on(async {
                    zarr_smol::Array::open(&url).await?.read(&zarr_smol::Selection::all()).await
                });
                assert_eq!(got.unwrap_or_else(|e| panic!("{url} (smol): {e}")), want, "{url} (smol)");
                arrays += 1;
            }
        }
    }
    assert!(arrays >= 100, "only {arrays} arrays read");
}
