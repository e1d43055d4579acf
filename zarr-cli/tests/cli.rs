//! The `zarr` binary against the zarr-python fixtures in `tests/fixtures`.
//!
//! - `zarr get PATH --select EXPR --kind K -o out.npy` for every fixture (v2 and v3, every
//!   codec and data type) and every manifest selection, compared byte for byte with numpy's
//!   answer after bringing both to native byte order. Variable-length strings are written as
//!   fixed `U`/`S` of the longest value, so they are compared as strings.
//! - `zarr info --json` against the manifest and the raw metadata documents.
//! - `zarr ls` on the group fixtures lists every child node found on disk.
//! - Failures exit non-zero with one line on stderr that names the path or chunk key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use zarr_tests::compare::Elements;
use zarr_tests::fixture::{chunk_files, METADATA_FILES};
use zarr_tests::manifest::{ArrayFixture, Manifest, SelectionKind};
use zarr_tests::npy::{ByteOrder, Npy};

/// The binary under test (built once by cargo for all tests here).
const ZARR: &str = env!("CARGO_BIN_EXE_zarr");

/// `zarr get` cases known to fail, as `(fixture, selection expression)`; [`FULL`] is the read
/// without `--select`. A listed case that fails does not fail the test.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

/// The expression shown for `zarr get` without `--select`.
const FULL: &str = "<all>";

fn zarr(args: &[&str]) -> Output {
    Command::new(ZARR).args(args).output().unwrap_or_else(|e| panic!("cannot run {ZARR}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn manifest() -> Manifest {
    Manifest::load().expect("tests/fixtures/manifest.json loads")
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The array's raw metadata document: `zarr.json`, or `.zarray` for v2.
fn raw_metadata(dir: &Path) -> Value {
    let file = if dir.join("zarr.json").exists() { "zarr.json" } else { ".zarray" };
    let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
}

/// Whether the stored data type has variable-length elements (v3 `string`/`bytes`, v2 `|O`).
fn is_variable(meta: &Value) -> bool {
    match (meta.get("data_type"), meta.get("dtype")) {
        (Some(t), _) => {
            matches!(t.as_str(), Some("string" | "bytes" | "variable_length_utf8" | "variable_length_bytes"))
        }
        (None, Some(t)) => t.as_str() == Some("|O"),
        _ => false,
    }
}

fn cli_kind(kind: SelectionKind) -> &'static str {
    match kind {
        SelectionKind::Basic | SelectionKind::Orthogonal => "oindex",
        SelectionKind::Vectorized => "vindex",
        SelectionKind::Block => "blocks",
    }
}

/// Compares the `.npy` the CLI wrote with numpy's answer.
fn compare_npy(got: &Npy, want: &Npy, variable: bool) -> Result<(), String> {
    if got.shape != want.shape {
        return Err(format!("shape {:?}, expected {:?}", got.shape, want.shape));
    }
    if got.fortran_order {
        return Err("written in Fortran order".into());
    }
    if got.descr.order != ByteOrder::NotApplicable && got.descr.order != ByteOrder::NATIVE {
        return Err(format!("written as {}, not in native byte order", got.descr));
    }
    let strings = matches!(want.descr.kind, 'U' | 'S') && got.descr.kind == want.descr.kind;
    // Variable-length strings are written as wide as the longest one; numpy saves a selected
    // string scalar as wide as its value. Both compare as strings.
    if strings && (variable || want.shape.is_empty()) {
        let (g, w) = (Elements::from_npy(got, true)?, Elements::from_npy(want, true)?);
        return match (0..w.len()).find(|&i| g.get(i) != w.get(i)) {
            None => Ok(()),
            Some(i) => Err(format!("element {i}: got {:?}, expected {:?}", g.get(i), w.get(i))),
        };
    }
    let (got, want) = (got.to_native_c_order(), want.to_native_c_order());
    if got.descr != want.descr {
        return Err(format!("dtype {}, expected {}", got.descr, want.descr));
    }
    if got.data != want.data {
        let item = want.descr.itemsize.max(1);
        let i = got.data.iter().zip(&want.data).position(|(a, b)| a != b).unwrap_or(0) / item;
        let hex = |d: &[u8]| d.get(i * item..(i + 1) * item).map(|b| format!("{b:02x?}")).unwrap_or_default();
        return Err(format!("element {i} differs: got {}, expected {}", hex(&got.data), hex(&want.data)));
    }
    Ok(())
}

/// A failed case: fixture, selection expression, what went wrong.
type Failure = (String, String, String);

/// Runs `zarr get` on every case of `fixtures`, writing into `tmp`; returns the failures.
fn get_cases(fixtures: &[&ArrayFixture], tmp: &Path) -> (usize, Vec<Failure>) {
    let mut passed = 0;
    let mut failures = Vec::new();
    for fx in fixtures {
        let dir = path_str(&fx.dir());
        let variable = is_variable(&raw_metadata(&fx.dir()));
        let out_path = tmp.join(format!("{}.npy", fx.name));
        let out = path_str(&out_path);
        let mut cases = vec![(FULL.to_string(), None, fx.expected())];
        cases.extend(fx.selections.iter().map(|s| (s.expr.clone(), Some(s.kind), s.expected())));
        for (expr, kind, expected) in cases {
            let _ = std::fs::remove_file(&out_path);
            let select = format!("--select={expr}");
            let mut args = vec!["get", dir.as_str(), "-o", out.as_str()];
            if let Some(kind) = kind {
                args.extend([select.as_str(), "--kind", cli_kind(kind)]);
            }
            let result = (|| {
                let expected = expected?;
                let output = zarr(&args);
                if !output.status.success() {
                    return Err(format!("exit {:?}: {}", output.status.code(), stderr(&output).trim()));
                }
                let got = Npy::read(&out_path)?;
                compare_npy(&got, &expected, variable)
            })();
            match result {
                Ok(()) => passed += 1,
                Err(e) => failures.push((fx.name.clone(), expr, e)),
            }
        }
    }
    (passed, failures)
}

#[test]
fn get_every_fixture_and_selection() {
    let manifest = manifest();
    let tmp = tempfile::tempdir().expect("temp dir");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    let fixtures: Vec<&ArrayFixture> = manifest.arrays.iter().collect();
    let results: Vec<(usize, Vec<Failure>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<&ArrayFixture> = fixtures.iter().copied().skip(t).step_by(threads).collect();
                let tmp = tmp.path();
                s.spawn(move || get_cases(&mine, tmp))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker thread")).collect()
    });
    let passed: usize = results.iter().map(|r| r.0).sum();
    let mut failures = Vec::new();
    let mut tolerated = Vec::new();
    let mut failed_known = BTreeSet::new();
    for (name, expr, e) in results.into_iter().flat_map(|r| r.1) {
        let line = format!("{name} `{expr}`: {e}");
        if KNOWN_FAILURES.contains(&(name.as_str(), expr.as_str())) {
            failed_known.insert((name, expr));
            tolerated.push(line);
        } else {
            failures.push(line);
        }
    }
    eprintln!("zarr get: {passed} reads matched numpy, {} failed, {} known failures", failures.len(), tolerated.len());
    for t in &tolerated {
        eprintln!("  known failure: {t}");
    }
    for (name, expr) in KNOWN_FAILURES {
        if !failed_known.contains(&(name.to_string(), expr.to_string())) {
            eprintln!("  ({name:?}, {expr:?}) passes now: remove it from KNOWN_FAILURES");
        }
    }
    assert!(passed >= 1500, "only {passed} zarr get cases passed");
    assert!(failures.is_empty(), "{} zarr get cases failed:\n  {}", failures.len(), failures.join("\n  "));
}

/// The data type name `zarr info` reports for a fixture whose `.npy` has numpy `descr`.
fn dtype_name(descr: &str, variable: bool) -> String {
    let body = descr.trim_start_matches(['<', '>', '|', '=']);
    let (kind, rest) = body.split_at(1);
    let n: usize = rest.split('[').next().and_then(|d| d.parse().ok()).unwrap_or(0);
    match (kind, variable) {
        ("U", true) => "string".into(),
        ("S", true) => "bytes".into(),
        ("U", false) => format!("fixed_length_utf32[{n}]"),
        ("S", false) => format!("fixed_length_bytes[{n}]"),
        ("V", _) => format!("r{}", n * 8),
        ("b", _) => "bool".into(),
        ("i", _) => format!("int{}", n * 8),
        ("u", _) => format!("uint{}", n * 8),
        ("f", _) => format!("float{}", n * 8),
        ("c", _) => format!("complex{}", n * 8),
        ("M", _) => "numpy.datetime64".into(),
        ("m", _) => "numpy.timedelta64".into(),
        _ => format!("unknown {descr}"),
    }
}

/// The data type `zarr info` shows: records as `structured` and their v2 field list,
/// tensorstore's small types by their v3 name, others from the `.npy` descr.
fn shown_dtype(fx: &ArrayFixture, meta: &Value) -> String {
    if meta["dtype"].is_array() {
        return format!("structured{}", meta["dtype"]);
    }
    match meta["data_type"].as_str() {
        Some(name)
            if name.starts_with("float8_") || name.starts_with("float4_") || name == "int4" || name == "int2" =>
        {
            name.into()
        }
        _ => dtype_name(&fx.dtype, is_variable(meta)),
    }
}

/// `(chunks, shards)` as zarr-python names them: the inner chunk shape and the shard shape
/// for sharded arrays, `(chunk shape, null)` otherwise.
fn chunks_and_shards(meta: &Value) -> (Value, Value) {
    if let Some(chunks) = meta.get("chunks") {
        return (chunks.clone(), Value::Null);
    }
    let grid = meta["chunk_grid"]["configuration"]["chunk_shape"].clone();
    let first = &meta["codecs"][0];
    if first["name"] == "sharding_indexed" {
        (first["configuration"]["chunk_shape"].clone(), grid)
    } else {
        (grid, Value::Null)
    }
}

#[test]
fn info_json_matches_the_manifest() {
    let manifest = manifest();
    let mut failures = Vec::new();
    let mut sharded = 0;
    for fx in &manifest.arrays {
        let meta = raw_metadata(&fx.dir());
        let output = zarr(&["info", "--json", &path_str(&fx.dir())]);
        if !output.status.success() {
            failures.push(format!("{}: exit {:?}: {}", fx.name, output.status.code(), stderr(&output).trim()));
            continue;
        }
        let info: Value = match serde_json::from_slice(&output.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: stdout is not JSON: {e}", fx.name));
                continue;
            }
        };
        let (chunks, shards) = chunks_and_shards(&meta);
        sharded += usize::from(!shards.is_null());
        let want = [
            ("node_type", Value::from("array")),
            ("zarr_format", Value::from(fx.zarr_format)),
            ("shape", Value::from(fx.shape.clone())),
            ("dtype", Value::from(shown_dtype(fx, &meta))),
            ("chunks", chunks),
            ("shards", shards),
            ("attributes", Value::Object(fx.attributes.clone())),
        ];
        for (field, want) in want {
            if info.get(field) != Some(&want) {
                failures.push(format!("{}: {field} is {:?}, expected {want}", fx.name, info.get(field)));
            }
        }
        // The fill value is a JSON value, as a v3 document writes it.
        if fx.zarr_format == 3 && info.get("fill_value") != meta.get("fill_value") {
            failures.push(format!(
                "{}: fill_value is {:?}, expected {:?}",
                fx.name, info["fill_value"], meta["fill_value"]
            ));
        }
    }
    for group in &manifest.groups {
        let output = zarr(&["info", "--json", &path_str(&group.dir())]);
        let info: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        let want = [
            ("node_type", Value::from("group")),
            ("zarr_format", Value::from(group.zarr_format)),
            ("attributes", Value::Object(group.attributes.clone())),
            ("consolidated", Value::from(group.consolidated)),
        ];
        for (field, want) in want {
            if info.get(field) != Some(&want) {
                failures.push(format!("{}: {field} is {:?}, expected {want}", group.name, info.get(field)));
            }
        }
    }
    assert!(sharded >= 5, "only {sharded} sharded fixtures had `shards` checked");
    assert!(failures.is_empty(), "zarr info --json: {} mismatches:\n  {}", failures.len(), failures.join("\n  "));
}

/// Every node below `dir` (directories holding a metadata document), as `/`-separated paths.
fn nodes_on_disk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
        let path = entry.path();
        if path.is_dir() && METADATA_FILES.iter().any(|m| path.join(m).exists()) {
            let rel = path.strip_prefix(root).expect("below root");
            out.insert(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            nodes_on_disk(root, &path, out);
        }
    }
}

/// The nodes of a `zarr ls` tree, as full paths with the rest of each line.
fn parse_tree(stdout: &str) -> Vec<(String, String)> {
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in stdout.lines().skip(1) {
        let chars: Vec<char> = line.chars().collect();
        let mut depth = 0;
        while chars.len() >= 4 * (depth + 1) {
            let unit: String = chars[4 * depth..4 * (depth + 1)].iter().collect();
            if matches!(unit.as_str(), "│   " | "    ") {
                depth += 1;
            } else {
                break;
            }
        }
        let rest: String = chars.get(4 * depth + 4..).unwrap_or_default().iter().collect();
        let name = rest.split(' ').next().unwrap_or_default().trim_end_matches('/').to_string();
        stack.truncate(depth);
        stack.push(name);
        out.push((stack.join("/"), rest));
    }
    out
}

#[test]
fn ls_lists_every_child_of_the_groups() {
    let manifest = manifest();
    assert_eq!(manifest.groups.len(), 2);
    for group in &manifest.groups {
        let dir = group.dir();
        let output = zarr(&["ls", &path_str(&dir)]);
        assert!(output.status.success(), "zarr ls {}: {}", group.name, stderr(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let listed = parse_tree(&stdout);
        let listed_paths: BTreeSet<String> = listed.iter().map(|(p, _)| p.clone()).collect();
        let mut on_disk = BTreeSet::new();
        nodes_on_disk(&dir, &dir, &mut on_disk);
        assert!(on_disk.len() >= 3, "{}: only {on_disk:?} on disk", group.name);
        assert_eq!(listed_paths, on_disk, "zarr ls {}:\n{stdout}", group.name);
        // Member arrays show their shape and data type.
        for member in &group.members {
            let fx = manifest.array(member).expect("member is an array fixture");
            let rel = fx.dir().strip_prefix(&dir).expect("member below its group").to_string_lossy().replace('\\', "/");
            let line = &listed.iter().find(|(p, _)| *p == rel).expect("member listed").1;
            let shape = format!("{:?}", fx.shape);
            let dtype = dtype_name(&fx.dtype, false);
            assert!(line.contains(&shape) && line.contains(&dtype), "{member}: `{line}` lacks {shape} {dtype}");
        }
    }
}

/// Copies a fixture directory to a fresh temporary directory.
fn copy_fixture(fx: &ArrayFixture) -> (tempfile::TempDir, PathBuf) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy");
            }
        }
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join(format!("{}.zarr", fx.name));
    copy(&fx.dir(), &dir);
    (tmp, dir)
}

/// Runs `args`, asserts a non-zero exit with one `zarr: error:` line containing every `needle`.
fn assert_fails(args: &[&str], needles: &[&str]) {
    let output = zarr(args);
    let err = stderr(&output);
    assert!(!output.status.success(), "zarr {args:?} succeeded; stdout {}", String::from_utf8_lossy(&output.stdout));
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "zarr {args:?}: stderr is not one line:\n{err}");
    assert!(lines[0].starts_with("zarr: error: "), "zarr {args:?}: {err}");
    for needle in needles {
        assert!(lines[0].contains(needle), "zarr {args:?}: `{}` does not name {needle:?}", lines[0]);
    }
}

#[test]
fn nonexistent_path_fails_naming_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let missing = path_str(&tmp.path().join("no-such-array.zarr"));
    let out = path_str(&tmp.path().join("out.npy"));
    assert_fails(&["get", &missing, "-o", &out], &[&missing]);
    assert_fails(&["info", &missing], &[&missing]);
    assert_fails(&["ls", &missing], &[&missing]);
    assert!(!tmp.path().join("out.npy").exists(), "an output file was written for a failed read");
}

#[test]
fn corrupt_chunk_fails_naming_its_key() {
    let manifest = manifest();
    for name in ["v3_gzip", "v3_blosc_lz4_shuffle", "v3_bytes_le_i4", "v3_shard_end", "v2_zlib", "v2_slash", "v2_none"]
    {
        let fx = manifest.array(name).unwrap_or_else(|| panic!("fixture {name}"));
        let (tmp, dir) = copy_fixture(fx);
        let key = chunk_files(&dir).expect("chunk files").into_iter().nth(1).expect("a second chunk");
        std::fs::write(dir.join(&key), b"this is not a chunk, just garbage bytes").expect("overwrite chunk");
        let out = path_str(&tmp.path().join("out.npy"));
        assert_fails(&["get", &path_str(&dir), "-o", &out], &[&key]);
    }
}

/// One flipped byte in the last byte of a chunk (a checksum or a length trailer) is caught.
#[test]
fn checksum_mismatch_fails_naming_the_chunk() {
    let manifest = manifest();
    for name in [
        "v3_gzip",
        "v3_crc32c",
        "v3_shard_end",
        "v3_zstd_checksum",
        "v3_gzip_crc32c",
        "v2_zlib",
        "v2_gzip",
        "v2_zstd_checksum",
    ] {
        let fx = manifest.array(name).unwrap_or_else(|| panic!("fixture {name}"));
        let (tmp, dir) = copy_fixture(fx);
        let key = chunk_files(&dir).expect("chunk files").into_iter().nth(1).expect("a second chunk");
        let mut bytes = std::fs::read(dir.join(&key)).expect("chunk");
        if let Some(last) = bytes.last_mut() {
            *last ^= 0xff;
        }
        std::fs::write(dir.join(&key), bytes).expect("overwrite chunk");
        let out = path_str(&tmp.path().join("out.npy"));
        assert_fails(&["get", &path_str(&dir), "-o", &out], &[&key]);
    }
}

#[test]
fn truncated_metadata_fails_naming_the_document() {
    let manifest = manifest();
    for (name, doc) in [("v3_gzip", "zarr.json"), ("v2_zlib", ".zarray")] {
        let fx = manifest.array(name).unwrap_or_else(|| panic!("fixture {name}"));
        let (tmp, dir) = copy_fixture(fx);
        let bytes = std::fs::read(dir.join(doc)).expect("metadata");
        std::fs::write(dir.join(doc), &bytes[..bytes.len() / 2]).expect("truncate");
        let out = path_str(&tmp.path().join("out.npy"));
        assert_fails(&["get", &path_str(&dir), "-o", &out], &[doc]);
        assert_fails(&["info", "--json", &path_str(&dir)], &[doc]);
    }
}

#[test]
fn bad_selections_fail_in_one_line() {
    let manifest = manifest();
    let fx = manifest.array("v3_bytes_le_i4").expect("fixture");
    let dir = path_str(&fx.dir());
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = path_str(&tmp.path().join("out.npy"));
    // Out of range (shape is [13, 9]; the chunk grid is smaller still).
    for (select, kind, needle) in [
        ("13, 0", "oindex", "13"),
        ("-14", "oindex", "-14"),
        ("0, [0, 9]", "oindex", "9"),
        ("[0, 13], [0, 1]", "vindex", "13"),
        ("100, 0", "blocks", "100"),
    ] {
        assert_fails(&["get", &dir, &format!("--select={select}"), "--kind", kind, "-o", &out], &[needle]);
    }
    // Malformed.
    for (select, kind) in
        [("[1,2", "oindex"), ("1:2:0", "oindex"), ("abc", "oindex"), ("1, 2, 3", "oindex"), ("0:3, 1", "vindex")]
    {
        assert_fails(&["get", &dir, &format!("--select={select}"), "--kind", kind, "-o", &out], &[]);
    }
}

/// numpy has no bfloat16: `zarr get` widens it to float32 exactly.
#[test]
fn bfloat16_is_written_as_float32() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("bf16.zarr");
    std::fs::create_dir_all(dir.join("c")).expect("mkdir");
    let meta = r#"{"zarr_format":3,"node_type":"array","shape":[5],"data_type":"bfloat16",
        "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[5]}},
        "chunk_key_encoding":{"name":"default"},"fill_value":0.0,
        "codecs":[{"name":"bytes","configuration":{"endian":"big"}}]}"#;
    std::fs::write(dir.join("zarr.json"), meta).expect("write zarr.json");
    // 1.0, -2.0, 3.140625, +inf, NaN
    let bits: [u16; 5] = [0x3f80, 0xc000, 0x4049, 0x7f80, 0x7fc0];
    std::fs::write(dir.join("c").join("0"), bits.iter().flat_map(|b| b.to_be_bytes()).collect::<Vec<u8>>())
        .expect("write chunk");
    let out = tmp.path().join("out.npy");
    let output = zarr(&["get", &path_str(&dir), "-o", &path_str(&out)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let npy = Npy::read(&out).expect("npy");
    assert_eq!(npy.descr.kind, 'f');
    assert_eq!(npy.descr.itemsize, 4);
    assert_eq!(npy.shape, [5]);
    let got: Vec<u32> =
        npy.to_native_c_order().data.chunks_exact(4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(got, bits.map(|b| u32::from(b) << 16));
}

/// A record array's `.npy` carries numpy's structured descr: `numpy.load` gives the
/// array zarr-python reads (its bytes are checked against numpy's by
/// `get_every_fixture_and_selection`).
#[test]
fn records_get_a_structured_npy_descr() {
    let manifest = manifest();
    let tmp = tempfile::tempdir().expect("temp dir");
    let cases = [
        ("v2_struct", "[('a', '<i4'), ('b', '<f8'), ('c', '|S3')]"),
        ("v2_struct_datetime", "[('t', '<M8[s]'), ('d', '>m8[ms]'), ('n', '|u1')]"),
    ];
    for (name, descr) in cases {
        let fx = manifest.array(name).expect("fixture in the manifest");
        let out = tmp.path().join(format!("{name}.npy"));
        let output = zarr(&["get", &path_str(&fx.dir()), "-o", &path_str(&out)]);
        assert!(output.status.success(), "{}", stderr(&output));
        let bytes = std::fs::read(&out).expect("npy written");
        let header = String::from_utf8_lossy(&bytes[10..bytes.len().min(300)]).into_owned();
        assert!(header.starts_with(&format!("{{'descr': {descr}, 'fortran_order': False")), "{header}");
    }
    let fx = manifest.array("v2_struct").expect("fixture in the manifest");
    let output = zarr(&["info", &path_str(&fx.dir())]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains(r#"Data type    structured[["a","<i4"],["b","<f8"],["c","|S3"]]"#), "{text}");
    assert!(text.contains("Fill value   ("), "{text}");
}

#[test]
fn info_prints_dimension_names_plainly() {
    let dir = manifest().arrays.iter().find(|a| a.name == "v3_attributes").expect("v3_attributes fixture").dir();
    let names: Vec<Option<String>> =
        serde_json::from_value(raw_metadata(&dir)["dimension_names"].clone()).expect("the fixture has dimension names");
    let out = zarr(&["info", &path_str(&dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line =
        text.lines().find(|l| l.starts_with("Dimensions")).unwrap_or_else(|| panic!("no Dimensions line: {text}"));
    let want: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap_or("-")).collect();
    assert_eq!(line.trim_start_matches("Dimensions").trim(), want.join(", "), "{text}");
    assert!(!line.contains("Some("), "{line}");
}

#[test]
fn a_reader_that_leaves_early_ends_zarr_quietly() {
    // `zarr info URL | head`: the pipe's reader is gone before zarr prints.
    let fixture = manifest().array("v2_seed_6443").expect("fixture").dir();
    let mut child = Command::new(ZARR)
        .args(["info", &path_str(&fixture)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("zarr runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("zarr ends");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{err}");
}
