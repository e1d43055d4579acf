//! Writes through the numcodecs `shuffle` filter and `bz2` compressor: the engine encodes
//! what zarr-python encodes.
//!
//! For each fixture that zarr-python wrote with them, the test copies the fixture's
//! metadata into an empty directory, writes the fixture's elements (as this engine
//! reads them) through the blocking driver, and compares the two stores:
//! - chains of bz2, shuffle and delta only: every chunk file is byte for byte the one
//!   zarr-python wrote (libbz2-rs-sys writes what libbzip2 writes), so zarr-python
//!   reads ours as it reads its own;
//! - chains that also hold zlib, zstd or blosc, whose pure-Rust encoders compress
//!   differently: the same chunk keys, and the array reads back equal to the fixture.

use zarr_blocking::{Array, FsStore, Selection};
use zarr_tests::fixture::{chunk_files, METADATA_FILES};
use zarr_tests::manifest::fixtures_dir;

/// `(fixture, whether zarr-python's chunk files must be reproduced exactly)`.
const FIXTURES: &[(&str, bool)] = &[
    ("v2_bz2", true),
    ("v2_filter_delta_shuffle_bz2", true),
    ("v3_numcodecs_shuffle_bz2", true),
    ("v2_filter_shuffle", false),
    ("v2_filter_shuffle_blosc_be", false),
    ("v3_numcodecs_shuffle_default_zstd", false),
];

#[test]
fn shuffle_and_bz2_write_what_zarr_python_wrote() {
    for &(name, exact) in FIXTURES {
        let src = fixtures_dir().join("data").join(format!("{name}.zarr"));
        let tmp = tempfile::tempdir().expect("temp dir");
        for file in METADATA_FILES {
            if src.join(file).exists() {
                std::fs::copy(src.join(file), tmp.path().join(file)).expect("metadata copied");
            }
        }
        let source = Array::open(&src.to_string_lossy()).unwrap_or_else(|e| panic!("{name}: open: {e}"));
        let data = source.read(&Selection::all()).unwrap_or_else(|e| panic!("{name}: read: {e}"));
        let copy = Array::open_in(FsStore::new(tmp.path()), "").unwrap_or_else(|e| panic!("{name}: open copy: {e}"));
        copy.write(&Selection::all(), data.clone()).unwrap_or_else(|e| panic!("{name}: write: {e}"));

        let theirs = chunk_files(&src).expect("fixture chunks");
        let ours = chunk_files(tmp.path()).expect("written chunks");
        assert_eq!(ours, theirs, "{name}: the written chunk keys differ from zarr-python's");
        assert!(!theirs.is_empty(), "{name}: a fixture without chunks tests nothing");
        if exact {
            for key in &theirs {
                let a = std::fs::read(src.join(key)).expect("fixture chunk");
                let b = std::fs::read(tmp.path().join(key)).expect("written chunk");
                assert!(a == b, "{name}/{key}: {} bytes written, zarr-python wrote {} other bytes", b.len(), a.len());
            }
        }
        let back = Array::open_in(FsStore::new(tmp.path()), "")
            .and_then(|a| a.read(&Selection::all()))
            .unwrap_or_else(|e| panic!("{name}: read back: {e}"));
        assert_eq!(back, data, "{name}: the written array reads back different");
    }
}
