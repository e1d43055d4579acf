//! Conformance with zarr-python: every fixture in `tests/fixtures/manifest.json`
//! (written by zarr-python 3.1.6 through `tests/fixtures/generate.py`) is parsed
//! with `zarr_proto` and every stored chunk is decoded and compared with numpy's
//! answer. Chunks that were never written must lie over fill-value regions, and no
//! stored file may fall outside the chunk grid.
//!
//! Every fixture runs, whatever fails before it; the test then lists each failure
//! by fixture name with its error and fails if there is any.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use zarr_proto::codec::CodecRegistry;
use zarr_proto::Limits;
use zarr_proto::{ArrayMetadata, NodeMetadata, ZarrFormat};
use zarr_tests::compare::{describe, elements_equal, Elements};
use zarr_tests::fixture::{chunk_files, read_chunk, MetadataFiles};
use zarr_tests::manifest::{ArrayFixture, GroupFixture, Manifest};
use zarr_tests::npy::{increment, Npy};

/// Fixtures known not to pass yet (an unsupported extension, a bug with an issue).
/// A listed fixture that fails is reported but does not fail the test; one that
/// passes is reported so it can be removed from the list.
const EXPECTED_TO_FAIL: &[&str] = &[];

/// At most this many mismatching elements are described per fixture.
const MAX_REPORTED: usize = 3;

#[derive(Default)]
struct Stats {
    chunks: usize,
    missing: usize,
    elements: u64,
}

#[test]
fn conformance() {
    let manifest = Manifest::load().expect("tests/fixtures/manifest.json loads");
    assert!(manifest.arrays.len() >= 100, "only {} fixtures in the manifest", manifest.arrays.len());
    let mut registries = vec![("default", CodecRegistry::default())];
    if CodecRegistry::pure_rust() != CodecRegistry::default() {
        registries.push(("pure_rust", CodecRegistry::pure_rust()));
    }

    let mut failures = Vec::new();
    let mut tolerated = Vec::new();
    let mut now_passing = BTreeSet::new();
    let mut passed = 0usize;
    let mut total = Stats::default();
    let mut record = |name: &str, label: String, result: Result<Stats, String>| match result {
        Ok(stats) => {
            passed += 1;
            total.chunks += stats.chunks;
            total.missing += stats.missing;
            total.elements += stats.elements;
            if EXPECTED_TO_FAIL.contains(&name) {
                now_passing.insert(name.to_string());
            }
        }
        Err(e) if EXPECTED_TO_FAIL.contains(&name) => tolerated.push(format!("{label}: {e}")),
        Err(e) => failures.push(format!("{label}: {e}")),
    };

    for fx in &manifest.arrays {
        for (rname, registry) in &registries {
            let result = catch_unwind(AssertUnwindSafe(|| check_array(fx, registry)))
                .unwrap_or_else(|panic| Err(format!("PANIC: {}", panic_text(&*panic))));
            record(&fx.name, format!("{} [{rname}]", fx.name), result);
        }
    }
    for group in &manifest.groups {
        for (rname, registry) in &registries {
            let result = catch_unwind(AssertUnwindSafe(|| check_group(group, &manifest, registry)))
                .unwrap_or_else(|panic| Err(format!("PANIC: {}", panic_text(&*panic))));
            record(&group.name, format!("{} [{rname}]", group.name), result);
        }
    }

    eprintln!(
        "conformance: {passed} checks passed ({} chunks decoded, {} missing chunks checked against the fill value, \
         {} elements compared), {} failed, {} expected failures",
        total.chunks,
        total.missing,
        total.elements,
        failures.len(),
        tolerated.len()
    );
    for t in &tolerated {
        eprintln!("  expected failure: {t}");
    }
    for name in &now_passing {
        eprintln!("  {name} passes now: remove it from EXPECTED_TO_FAIL");
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixture checks failed:\n  {}",
        failures.len(),
        failures.len() + passed + tolerated.len(),
        failures.join("\n  ")
    );
}

/// The expected `.npy` files agree with the manifest (runs even before any decoder exists).
#[test]
fn fixtures_are_consistent() {
    let manifest = Manifest::load().expect("tests/fixtures/manifest.json loads");
    let mut names = BTreeSet::new();
    let mut problems = Vec::new();
    for fx in &manifest.arrays {
        if !names.insert(fx.name.clone()) {
            problems.push(format!("{}: duplicate name", fx.name));
        }
        if !fx.dir().is_dir() {
            problems.push(format!("{}: no directory {}", fx.name, fx.path));
        }
        match fx.expected() {
            Ok(npy) => {
                if npy.shape != fx.shape {
                    problems.push(format!("{}: .npy shape {:?}, manifest {:?}", fx.name, npy.shape, fx.shape));
                }
                if npy.descr.to_string() != fx.dtype {
                    problems.push(format!("{}: .npy dtype {}, manifest {}", fx.name, npy.descr, fx.dtype));
                }
            }
            Err(e) => problems.push(format!("{}: {e}", fx.name)),
        }
        for sel in &fx.selections {
            match sel.expected() {
                Ok(npy) if npy.descr.kind != fx.dtype.chars().nth(1).unwrap_or('?') => {
                    problems.push(format!("{} [{}]: answer dtype {}", fx.name, sel.expr, npy.descr))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("{} [{}]: {e}", fx.name, sel.expr)),
            }
        }
        if fx.selections.is_empty() {
            problems.push(format!("{}: no selections", fx.name));
        }
    }
    for g in &manifest.groups {
        for m in &g.members {
            match manifest.array(m) {
                Some(a) if a.group.as_deref() == Some(g.name.as_str()) => {}
                _ => problems.push(format!("group {}: member {m} is not an array of the group", g.name)),
            }
        }
    }
    assert!(problems.is_empty(), "fixture problems:\n  {}", problems.join("\n  "));
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic".into()
    }
}

fn parse_array(fx: &ArrayFixture, registry: &CodecRegistry) -> Result<ArrayMetadata, String> {
    let files = MetadataFiles::read(&fx.dir())?;
    files.array(registry, &Limits::default()).map_err(|e| format!("metadata: {e}"))
}

/// Parses one array's metadata and checks every chunk of its grid against the expected array.
fn check_array(fx: &ArrayFixture, registry: &CodecRegistry) -> Result<Stats, String> {
    let meta = parse_array(fx, registry)?;
    let want_format = if fx.zarr_format == 2 { ZarrFormat::V2 } else { ZarrFormat::V3 };
    if meta.zarr_format != want_format {
        return Err(format!("zarr_format {:?}, expected {want_format:?}", meta.zarr_format));
    }
    if meta.shape != fx.shape {
        return Err(format!("shape {:?}, expected {:?}", meta.shape, fx.shape));
    }
    if meta.attributes != fx.attributes {
        return Err(format!(
            "attributes {}, expected {}",
            serde_json::Value::Object(meta.attributes.clone()),
            serde_json::Value::Object(fx.attributes.clone())
        ));
    }
    let dtype = &meta.data_type;
    let npy: Npy = fx.expected()?;
    let item = match dtype.size() {
        Some(size) if size != npy.descr.itemsize => {
            return Err(format!(
                "data type {} has {size} bytes, expected {} ({})",
                dtype.name(),
                npy.descr.itemsize,
                npy.descr
            ))
        }
        Some(size) => size,
        None => 0,
    };
    let expected = Elements::from_npy(&npy, dtype.is_variable())?;

    let shape = &meta.shape;
    let grid = meta.chunk_grid.grid_shape(shape);
    let dims = meta.chunk_grid.dims();
    let limits = Limits::default();
    let mut stats = Stats::default();
    let mut visited = BTreeSet::new();
    let mut mismatches = Vec::new();
    let mut mismatch_count = 0u64;

    let n_chunks: u64 = grid.iter().product();
    let mut idx = vec![0u64; grid.len()];
    for _ in 0..n_chunks {
        let key = meta.chunk_key(&idx);
        let repr = meta.chunk_repr(&idx).map_err(|e| format!("chunk {key}: {e}"))?;
        // The part of the array this chunk covers: start and clipped extent per dimension.
        let mut start = Vec::with_capacity(idx.len());
        let mut extent = Vec::with_capacity(idx.len());
        for (d, &i) in idx.iter().enumerate() {
            let (s, len) = dims[d].span(i).ok_or_else(|| format!("chunk {key}: no span in dimension {d}"))?;
            start.push(s);
            extent.push(len.min(shape[d].saturating_sub(s)));
        }
        let stored = read_chunk(&fx.dir(), &key)?;
        let decoded = match &stored {
            Some(bytes) => {
                visited.insert(key.clone());
                stats.chunks += 1;
                let data = meta.codecs.decode(bytes, &repr, &limits).map_err(|e| format!("chunk {key}: {e}"))?;
                let data = Elements::from_array_bytes(data, item);
                let n = repr.num_elements() as usize;
                if data.len() != n {
                    return Err(format!(
                        "chunk {key}: decoded {} elements, chunk shape {:?} has {n}",
                        data.len(),
                        repr.shape
                    ));
                }
                Some(data)
            }
            None => {
                stats.missing += 1;
                None
            }
        };
        // Walk the clipped region; compare decoded (or fill) with the expected element.
        let count: u64 = extent.iter().product();
        let mut local = vec![0u64; extent.len()];
        for _ in 0..count {
            let chunk_linear = linear(&local, &repr.shape);
            let global: Vec<u64> = local.iter().zip(&start).map(|(l, s)| l + s).collect();
            let array_linear = linear(&global, shape);
            let want = expected.get(array_linear as usize).ok_or("expected array too short")?;
            let got = match &decoded {
                Some(data) => data.get(chunk_linear as usize).ok_or("decoded chunk too short")?,
                None => meta.fill_value.as_bytes(),
            };
            stats.elements += 1;
            if !elements_equal(dtype, got, want) {
                mismatch_count += 1;
                if mismatches.len() < MAX_REPORTED {
                    let source = if decoded.is_some() { "decoded" } else { "fill value" };
                    mismatches.push(format!(
                        "chunk {key} element {global:?} ({source}): got {}, expected {}",
                        describe(dtype, got),
                        describe(dtype, want)
                    ));
                }
            }
            increment(&mut local, &extent);
        }
        increment(&mut idx, &grid);
    }
    if mismatch_count > 0 {
        return Err(format!("{mismatch_count} elements differ: {}", mismatches.join("; ")));
    }
    let stray: Vec<String> = chunk_files(&fx.dir())?.difference(&visited).cloned().collect();
    if !stray.is_empty() {
        return Err(format!("stored files outside the chunk grid (wrong chunk keys?): {stray:?}"));
    }
    if stats.elements != fx.shape.iter().product::<u64>() {
        return Err(format!("compared {} elements of {}", stats.elements, fx.shape.iter().product::<u64>()));
    }
    Ok(stats)
}

/// C-order linear index of `idx` in an array of `shape`.
fn linear(idx: &[u64], shape: &[u64]) -> u64 {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// Parses a group and its consolidated metadata; every member array must appear in it
/// with the same resolved metadata as its own document.
fn check_group(group: &GroupFixture, manifest: &Manifest, registry: &CodecRegistry) -> Result<Stats, String> {
    let limits = Limits::default();
    let files = MetadataFiles::read(&group.dir())?;
    let meta = files.group(registry, &limits).map_err(|e| format!("group metadata: {e}"))?;
    let want_format = if group.zarr_format == 2 { ZarrFormat::V2 } else { ZarrFormat::V3 };
    if meta.zarr_format != want_format {
        return Err(format!("zarr_format {:?}, expected {want_format:?}", meta.zarr_format));
    }
    if meta.attributes != group.attributes {
        return Err(format!(
            "attributes {}, expected {}",
            serde_json::Value::Object(meta.attributes.clone()),
            serde_json::Value::Object(group.attributes.clone())
        ));
    }
    if !group.consolidated {
        return Ok(Stats::default());
    }
    let consolidated = match (&meta.consolidated, &files.zmetadata) {
        (Some(c), _) => c.clone(),
        (None, Some(zmetadata)) => zarr_proto::ConsolidatedMetadata::from_v2_zmetadata(zmetadata, registry, &limits)
            .map_err(|e| format!(".zmetadata: {e}"))?,
        (None, None) => return Err("no consolidated metadata".into()),
    };
    match consolidated.nodes.get("sub") {
        Some(NodeMetadata::Group(_)) => {}
        other => return Err(format!("consolidated `sub` is not a group: {other:?}")),
    }
    for name in &group.members {
        let fx = manifest.array(name).ok_or_else(|| format!("member {name} not in the manifest"))?;
        let rel = fx
            .path
            .strip_prefix(&group.path)
            .map(|p| p.trim_start_matches('/'))
            .ok_or_else(|| format!("member {name} is not below {}", group.path))?;
        let from_file = parse_array(fx, registry).map_err(|e| format!("member {name}: {e}"))?;
        let node = consolidated.nodes.get(rel).ok_or_else(|| format!("consolidated metadata lacks {rel}"))?;
        let NodeMetadata::Array(c) = node else {
            return Err(format!("consolidated {rel} is not an array"));
        };
        let same = c.zarr_format == from_file.zarr_format
            && c.shape == from_file.shape
            && c.data_type == from_file.data_type
            && c.chunk_grid == from_file.chunk_grid
            && c.chunk_key_encoding == from_file.chunk_key_encoding
            && c.fill_value == from_file.fill_value
            && c.codecs == from_file.codecs
            && c.attributes == from_file.attributes;
        if !same {
            return Err(format!("consolidated {rel} differs from its own metadata:\n{c:?}\nvs\n{from_file:?}"));
        }
    }
    Ok(Stats::default())
}
