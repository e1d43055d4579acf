//! Hostile input on the stable toolchain: the fuzz targets' bodies, replayed in CI.
//!
//! The bodies live in `fuzz/src/targets.rs` (one copy, shared with the cargo-fuzz binaries).
//! Each test runs one target over its committed inputs in `fuzz/regressions/<target>/`
//! (every crash, timeout or OOM the fuzzers found, plus a sample of their corpus), then over
//! proptest inputs: those committed inputs with random edits, and plain random bytes
//! (20 000 per target, from a fixed seed; about 5 s in a debug build).
//! A target panics on a bug: an error is fine, a panic, a hang or a huge allocation is not.
//! See `fuzz/README.md` for running the fuzzers themselves.

#[allow(unreachable_pub, dead_code, clippy::unwrap_used)]
#[path = "../../fuzz/src/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRng, TestRunner};

/// The committed inputs of one target, sorted by name.
fn committed(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect(),
        Err(e) => panic!("cannot read {}: {e}", dir.display()),
    };
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

/// One random edit of an input: overwrite, insert, delete, or cut it short.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let n = bytes.len();
        match *edit {
            Edit::Set(i, b) if n > 0 => bytes[i % n] = b,
            Edit::Insert(i, b) => bytes.insert(i % (n + 1), b),
            Edit::Delete(i) if n > 0 => {
                bytes.remove(i % n);
            }
            Edit::Truncate(i) => bytes.truncate(i % (n + 1)),
            _ => {}
        }
    }
    bytes
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// Runs `body` over the committed inputs, then `cases` proptest inputs (a fixed sequence).
fn replay(target: &str, cases: u32, body: fn(&[u8])) {
    let inputs = committed(target);
    assert!(!inputs.is_empty(), "no committed inputs for {target}");
    for (path, bytes) in &inputs {
        let result = std::panic::catch_unwind(|| body(bytes));
        assert!(result.is_ok(), "{target} panics on {}", path.display());
    }
    let seeds: Vec<Vec<u8>> = inputs.into_iter().map(|(_, b)| b).collect();
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mutated = (0..seeds.len(), prop::collection::vec(edit(), 1..8))
        .prop_map(move |(i, edits)| apply(seeds[i].clone(), &edits));
    let random = prop::collection::vec(any::<u8>(), 0..600);
    let strategy = prop_oneof![3 => mutated, 1 => random];
    // A fixed seed: CI replays the same inputs every run (the fuzzers explore; this guards).
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&strategy, |input| {
        body(&input);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{target}: {e}");
    }
}

#[test]
fn metadata_v3_hostile() {
    replay("metadata_v3", 20_000, targets::metadata_v3);
}

#[test]
fn metadata_v2_hostile() {
    replay("metadata_v2", 20_000, targets::metadata_v2);
}

#[test]
fn codec_decode_hostile() {
    replay("codec_decode", 20_000, targets::codec_decode);
}

#[test]
fn selection_parse_hostile() {
    replay("selection_parse", 20_000, targets::selection_parse);
}

#[test]
fn http_response_hostile() {
    replay("http_response", 20_000, targets::http_response);
}

/// Only with the `bz2` feature (which `cargo test --workspace` turns on through the drivers):
/// without it the target has no codec to decode.
#[cfg(feature = "bz2")]
#[test]
fn bz2_decode_hostile() {
    replay("bz2_decode", 5_000, targets::bz2_decode);
}

#[test]
fn shuffle_decode_hostile() {
    replay("shuffle_decode", 20_000, targets::shuffle_decode);
}

#[test]
fn read_op_hostile() {
    replay("read_op", 20_000, targets::read_op);
}

/// The committed `read_op` inputs reach every stage: otherwise the replay above proves little.
#[test]
fn read_op_corpus_reaches_decoding() {
    use targets::ReadOutcome;
    let mut counts = std::collections::BTreeMap::new();
    for (_, bytes) in committed("read_op") {
        *counts.entry(targets::read_op_outcome(&bytes)).or_insert(0u32) += 1;
    }
    for stage in [ReadOutcome::Rejected, ReadOutcome::Failed, ReadOutcome::FinishedFill, ReadOutcome::Finished] {
        assert!(counts.contains_key(&stage), "no committed read_op input ends in {stage:?}: {counts:?}");
    }
}
