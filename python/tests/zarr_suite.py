"""zarr-python's own codec and array tests, run with the zarr_rs codec pipeline.

    python python/tests/zarr_suite.py [WORK_DIR]

Downloads the source distribution of the installed zarr from PyPI (pip, into WORK_DIR,
once), runs the test files in SUITE from it with ZARR_CODEC_PIPELINE__PATH set (zarr
reads it when imported and again on each `config.reset()`, which zarr's conftest calls
around every test) and compares the failures with EXPECTED: exit status 1 when a test
fails that is not listed, or a listed one passes (then the list is out of date).

The stores the tests get from their `store` fixtures (the conftest's "memory" parameter,
test_indexing's fixture) are LocalStores instead of MemoryStores, so that those tests go
through zarr-rs. Tests that make a MemoryStore or ZipStore themselves run through
zarr-python's own pipeline (the zarr_rs pipeline's fallback, whose warning is ignored
here). The plugin below prints how many tests went through zarr-rs. Needs
pytest-asyncio and hypothesis (tests/requirements.txt).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

PIPELINE = "zarr_rs.pipeline.ZarrRsCodecPipeline"

# The files of zarr-python's tests that exercise a codec pipeline: every codec, sharding,
# reads and writes in every selection mode, Zarr v2 arrays.
SUITE = [
    "tests/test_codecs",
    "tests/test_indexing.py",
    "tests/test_v2.py",
    "tests/test_array.py",
]

# Test id (without the parameters' brackets: every parametrisation) -> why it fails
# with the zarr_rs pipeline.
EXPECTED: dict[str, str] = {
    "tests/test_array.py::test_array_v3_nan_fill_value": (
        "not the pipeline: the test counts `store.list_prefix('/')`, nothing on the "
        "MemoryStore it was written for, zarr.json on the LocalStore it gets here (no "
        "chunk is stored, as the test wants)"
    ),
}

# Counts the reads and writes through the pipeline, and the tests in which at least one
# went through zarr-rs rather than the fallback: proof that the suite ran through the
# engine rather than beside it.
PLUGIN = '''
import os
import sys

import zarr_rs.pipeline as p

_calls = {"read": 0, "write": 0, "fallback": 0}
_tests = {"current": None, "through_zarr_rs": set()}
_read, _write, _fallback = p.ZarrRsCodecPipeline.read, p.ZarrRsCodecPipeline.write, p.ZarrRsCodecPipeline._use_fallback


async def read(self, batch_info, out, drop_axes=()):
    _calls["read"] += 1
    return await _read(self, batch_info, out, drop_axes)


async def write(self, batch_info, value, drop_axes=()):
    _calls["write"] += 1
    return await _write(self, batch_info, value, drop_axes)


def use_fallback(self):
    fallback = _fallback(self)
    _calls["fallback"] += fallback
    if not fallback:
        _tests["through_zarr_rs"].add(_tests["current"])
    return fallback


p.ZarrRsCodecPipeline.read, p.ZarrRsCodecPipeline.write, p.ZarrRsCodecPipeline._use_fallback = read, write, use_fallback


class _LocalStoreForMemory:
    """What test_indexing's `store` fixture opens instead of a MemoryStore: a LocalStore
    in a new directory, so that its selection tests read and write through zarr-rs. (The
    conftest's `store` fixture gets the same for its "memory" parameter below.)"""

    @staticmethod
    async def open(*args, **kwargs):
        import tempfile

        from zarr.storage import LocalStore

        return await LocalStore.open(tempfile.mkdtemp(prefix="store-", dir=os.environ["ZARR_SUITE_STORES"]))


def pytest_collection_modifyitems(items):
    module = sys.modules.get("tests.test_indexing")
    if module is not None:
        module.MemoryStore = _LocalStoreForMemory
    conftest = sys.modules.get("tests.conftest")
    if conftest is not None:
        parse_store = conftest.parse_store

        async def local_for_memory(store, path):
            return await parse_store("local" if store == "memory" else store, path)

        conftest.parse_store = local_for_memory


def pytest_runtest_setup(item):
    _tests["current"] = item.nodeid


def pytest_terminal_summary(terminalreporter):
    passed = {r.nodeid for r in terminalreporter.stats.get("passed", []) if r.when == "call"}
    terminalreporter.write_line(
        f"zarr_rs pipeline: {_calls['read']} reads, {_calls['write']} writes "
        f"({_calls['fallback']} of them through zarr-python's pipeline, on memory and zip stores); "
        f"{len(passed & _tests['through_zarr_rs'])} passing tests read or wrote through zarr-rs"
    )
'''


def sdist_tests(work: Path, version: str) -> Path:
    """zarr-python's source tree (tests and pyproject.toml) of `version`, from PyPI."""
    root = work / f"zarr-{version}"
    if (root / "tests" / "conftest.py").exists():
        return root
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         "-d", str(work), f"zarr=={version}"],
        check=True,
    )
    with tarfile.open(work / f"zarr-{version}.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.name.startswith((f"zarr-{version}/tests/", f"zarr-{version}/pyproject.toml"))]
        tar.extractall(work, members=members, filter="data")
    return root


def failures(junit: Path) -> dict[str, str]:
    """Failed or erroring test ids (file::name[params]) and the first line of why."""
    out = {}
    for case in ET.parse(junit).iter("testcase"):
        for tag in ("failure", "error"):
            bad = case.find(tag)
            if bad is not None:
                name = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
                out[name] = (bad.get("message") or "").splitlines()[0][:200] if bad.get("message") else tag
    return out


def main() -> int:
    import zarr

    work = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="zarr-suite-"))
    work.mkdir(parents=True, exist_ok=True)
    root = sdist_tests(work, zarr.__version__)
    (work / "zarr_rs_suite_plugin.py").write_text(PLUGIN)
    junit = work / "junit.xml"
    stores = Path(tempfile.mkdtemp(prefix="stores-", dir=work))
    env = dict(os.environ, ZARR_CODEC_PIPELINE__PATH=PIPELINE, PYTHONPATH=str(work), ZARR_SUITE_STORES=str(stores))
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "zarr_rs_suite_plugin",
        # zarr's own options name plugins it does not need here (pytest-benchmark).
        "-o", "addopts=", "-W", "ignore:zarr_rs pipeline:UserWarning",
        f"--junitxml={junit}", *SUITE,
    ]
    result = subprocess.run(cmd, cwd=root, env=env)
    shutil.rmtree(stores, ignore_errors=True)
    if result.returncode not in (0, 1):  # not "some tests failed": pytest itself did
        return result.returncode
    failed = failures(junit)
    unexpected = {k: v for k, v in failed.items() if k.split("[")[0] not in EXPECTED}
    fixed = sorted(set(EXPECTED) - {k.split("[")[0] for k in failed})
    for name in sorted(set(failed) - set(unexpected)):
        print(f"expected failure: {name}: {EXPECTED[name.split('[')[0]]}")
    for name, why in sorted(unexpected.items()):
        print(f"unexpected failure: {name}: {why}")
    for name in fixed:
        print(f"expected to fail but passed: {name} ({EXPECTED[name]})")
    return 1 if unexpected or fixed else 0


if __name__ == "__main__":
    sys.exit(main())
