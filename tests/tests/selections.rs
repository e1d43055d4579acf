//! End-to-end reads of every fixture and every selection in `tests/fixtures/manifest.json`,
//! compared with numpy's answers (NaN-aware; variable-length strings as strings).
//!
//! - [`selections_through_read_op`]: the sans-IO `ReadOp` alone, driven like its "Run loop"
//!   example but answering requests and running decode jobs in a seeded shuffled order, with
//!   byte ranges for shard requests, under `CodecRegistry::default()` and `::pure_rust()`.
//! - [`selections_through_blocking`]: the same through `zarr_blocking::Array` over an `FsStore`.
//!
//! Every case runs whatever fails before it; each test then lists every failure by fixture
//! and selection and fails if there is one not in [`KNOWN_FAILURES`].

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use zarr_proto::codec::CodecRegistry;
use zarr_proto::Limits;
use zarr_proto::Selection;
use zarr_proto::SelectionKind as ProtoKind;
use zarr_tests::compare::compare_ndarray;
use zarr_tests::drive::{read_shuffled, MemStore, Rng};
use zarr_tests::fixture::MetadataFiles;
use zarr_tests::manifest::{ArrayFixture, Manifest, SelectionKind};
use zarr_tests::npy::Npy;

/// Cases known to fail, as `(fixture, selection expression)`; [`FULL`] names the whole-array read.
/// A listed case that fails is reported but does not fail the test; one that passes is
/// reported so it can be removed from the list.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

/// The expression shown for the whole-array read (`Selection::all()`).
const FULL: &str = "<all>";

/// One read to check: a selection of a fixture and numpy's answer.
struct Case<'a> {
    fx: &'a ArrayFixture,
    expr: &'a str,
    kind: SelectionKind,
    selection: Result<Selection, String>,
    expected: Result<Npy, String>,
}

impl Case<'_> {
    fn label(&self) -> String {
        format!("{} {:?} `{}`", self.fx.name, self.kind, self.expr)
    }
}

fn proto_kind(kind: SelectionKind) -> ProtoKind {
    match kind {
        SelectionKind::Basic | SelectionKind::Orthogonal => ProtoKind::Orthogonal,
        SelectionKind::Vectorized => ProtoKind::Points,
        SelectionKind::Block => ProtoKind::Blocks,
    }
}

/// The whole-array read and every manifest selection of `fx`, each with its expected answer.
fn cases(fx: &ArrayFixture) -> Vec<Case<'_>> {
    let mut out = vec![Case {
        fx,
        expr: FULL,
        kind: SelectionKind::Basic,
        selection: Ok(Selection::all()),
        expected: fx.expected(),
    }];
    for s in &fx.selections {
        out.push(Case {
            fx,
            expr: &s.expr,
            kind: s.kind,
            selection: Selection::parse(&s.expr, proto_kind(s.kind)).map_err(|e| format!("parse: {e}")),
            expected: s.expected(),
        });
    }
    out
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}

/// Collects results; fails at the end on any failure not in [`KNOWN_FAILURES`].
#[derive(Default)]
struct Report {
    passed: usize,
    failures: Vec<String>,
    tolerated: Vec<String>,
    now_passing: BTreeSet<String>,
}

impl Report {
    fn record(&mut self, case: &Case<'_>, context: &str, result: Result<(), String>) {
        let known = KNOWN_FAILURES.contains(&(case.fx.name.as_str(), case.expr));
        match result {
            Ok(()) => {
                self.passed += 1;
                if known {
                    self.now_passing.insert(format!("({:?}, {:?})", case.fx.name, case.expr));
                }
            }
            Err(e) if known => self.tolerated.push(format!("{} [{context}]: {e}", case.label())),
            Err(e) => self.failures.push(format!("{} [{context}]: {e}", case.label())),
        }
    }

    fn finish(self, what: &str) {
        eprintln!(
            "{what}: {} reads matched numpy, {} failed, {} known failures",
            self.passed,
            self.failures.len(),
            self.tolerated.len()
        );
        for t in &self.tolerated {
            eprintln!("  known failure: {t}");
        }
        for c in &self.now_passing {
            eprintln!("  {c} passes now: remove it from KNOWN_FAILURES");
        }
        assert!(
            self.failures.is_empty(),
            "{what}: {} of {} reads failed:\n  {}",
            self.failures.len(),
            self.failures.len() + self.passed + self.tolerated.len(),
            self.failures.join("\n  ")
        );
    }
}

fn check(case: &Case<'_>, read: impl FnOnce(&Selection) -> Result<zarr_proto::NdArray, String>) -> Result<(), String> {
    let selection = case.selection.as_ref().map_err(Clone::clone)?;
    let expected = case.expected.as_ref().map_err(|e| format!("expected answer: {e}"))?;
    let got = catch_unwind(AssertUnwindSafe(|| read(selection)))
        .unwrap_or_else(|panic| Err(format!("PANIC: {}", panic_text(&*panic))))?;
    compare_ndarray(&got, expected)
}

#[test]
fn selections_through_read_op() {
    let manifest = Manifest::load().expect("tests/fixtures/manifest.json loads");
    let mut registries = vec![("default", CodecRegistry::default())];
    if CodecRegistry::pure_rust() != CodecRegistry::default() {
        registries.push(("pure_rust", CodecRegistry::pure_rust()));
    }
    let mut report = Report::default();
    let mut selections = 0usize;
    let (mut requests, mut ranged, mut missing) = (0u64, 0u64, 0u64);
    for fx in &manifest.arrays {
        let cases = cases(fx);
        selections += fx.selections.len();
        let files = MetadataFiles::read(&fx.dir()).and_then(|m| MemStore::load(&fx.dir()).map(|s| (m, s)));
        for (rname, registry) in &registries {
            let mut rng = Rng::from_name(&format!("{}/{rname}", fx.name));
            let meta = files.as_ref().map_err(Clone::clone).and_then(|(m, _)| m.array(registry, &Limits::default()));
            for case in &cases {
                let result = match (&meta, &files) {
                    (Ok(meta), Ok((_, store))) => check(case, |sel| {
                        let read = read_shuffled(meta, sel, Limits::default(), store, &mut rng)?;
                        requests += read.stats.requests;
                        ranged += read.ranged_requests;
                        missing += read.stats.chunks_missing;
                        Ok(read.array)
                    }),
                    (Err(e), _) => Err(format!("metadata: {e}")),
                    (_, Err(e)) => Err(format!("files: {e}")),
                };
                report.record(case, rname, result);
            }
        }
    }
    assert!(selections >= 1000, "only {selections} selections in the manifest");
    eprintln!("ReadOp: {requests} requests answered in shuffled order, {ranged} of them byte ranges, {missing} missing chunks");
    assert!(ranged > 0, "no byte-range requests: the sharded fixtures were not read by range");
    assert!(missing > 0, "no missing chunks: the fill-value fixtures were not exercised");
    report.finish("ReadOp");
}

#[test]
fn selections_through_blocking() {
    let manifest = Manifest::load().expect("tests/fixtures/manifest.json loads");
    let mut report = Report::default();
    for fx in &manifest.arrays {
        let cases = cases(fx);
        let dir = fx.dir();
        let array = zarr_blocking::Array::open(&dir.to_string_lossy()).map_err(|e| format!("open: {e}"));
        for case in &cases {
            let result = match &array {
                Ok(array) => check(case, |sel| array.read(sel).map_err(|e| e.to_string())),
                Err(e) => Err(e.clone()),
            };
            report.record(case, "zarr-blocking", result);
        }
    }
    report.finish("zarr-blocking");
}

#[test]
fn selections_into_caller_buffers() {
    // `read_into` writes chunks straight into the caller's buffer, which starts as
    // garbage here: every element must come from a chunk or the fill value. Both
    // drivers, alternating by fixture.
    let manifest = Manifest::load().expect("tests/fixtures/manifest.json loads");
    let mut report = Report::default();
    for (i, fx) in manifest.arrays.iter().enumerate() {
        let cases = cases(fx);
        let dir = fx.dir().to_string_lossy().into_owned();
        let blocking = zarr_blocking::Array::open(&dir).map_err(|e| format!("open: {e}"));
        let store: std::sync::Arc<dyn zarr_smol::Store> = std::sync::Arc::new(zarr_smol::FsStore::new(&dir));
        let smol = futures_lite::future::block_on(zarr_smol::Array::open_with(store, "", Default::default()))
            .map_err(|e| format!("open: {e}"));
        let Some(dtype) = blocking.as_ref().ok().map(|a| a.metadata().data_type.clone()) else { continue };
        let Some(item) = dtype.size() else { continue };
        for case in &cases {
            let Ok(expected) = &case.expected else { continue };
            let result = check(case, |sel| {
                let n: u64 = expected.shape.iter().product();
                let mut buf = vec![0xA5u8; n as usize * item];
                if i % 2 == 0 {
                    let array = blocking.as_ref().map_err(Clone::clone)?;
                    array.read_into(sel, &mut buf).map_err(|e| e.to_string())?;
                } else {
                    let array = smol.as_ref().map_err(Clone::clone)?;
                    let options = zarr_smol::ReadOptions::default();
                    futures_lite::future::block_on(array.read_into_with(sel, &mut buf, &options))
                        .map_err(|e| e.to_string())?;
                }
                Ok(zarr_proto::NdArray {
                    dtype: dtype.clone(),
                    shape: expected.shape.clone(),
                    data: zarr_proto::ArrayBytes::Fixed(buf),
                })
            });
            report.record(case, if i % 2 == 0 { "zarr-blocking read_into" } else { "zarr-smol read_into" }, result);
        }
    }
    report.finish("read_into");
}
