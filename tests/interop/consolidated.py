"""Consolidated metadata written by `zarr consolidate` opens in zarr-python.

1. zarr-python writes v2 and v3 hierarchies (attributes, nested groups, a sharded
   array, an empty group) without consolidating; `zarr consolidate` writes `.zmetadata`
   (v2) or `consolidated_metadata` in the root `zarr.json` (v3).
2. `zarr.open_consolidated` and `zarr.open_group(use_consolidated=True)` open them;
   the consolidated metadata lists every node, and every member's metadata (shape,
   dtype, chunks, shards, fill value, attributes) and data equal what zarr-python sees
   without consolidated metadata.
3. Stale consolidated metadata (zarr-python consolidated, then `zarr create` added an
   array) is replaced: the new array is listed after `zarr consolidate`.
4. A hierarchy `zarr cp` wrote, consolidated, opens the same way.

Usage: python consolidated.py PATH/TO/zarr WORKDIR
"""
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import zarr

ZARR, WORK = sys.argv[1], Path(sys.argv[2])
# zarr-python warns that consolidated metadata is not part of the v3 spec yet.
warnings.filterwarnings("ignore", category=UserWarning)
rng = np.random.default_rng(14)


def zarr_cli(*args):
    run = subprocess.run([ZARR, *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"zarr {' '.join(args)} failed: {run.stderr}")
    return run


def build(path, fmt):
    """A hierarchy written by zarr-python, not consolidated."""
    root = zarr.open_group(path, mode="w", zarr_format=fmt, attributes={"title": f"v{fmt}"})
    temps = root.create_array("temps", shape=(40, 30), chunks=(7, 9), dtype="float32", fill_value=np.nan,
                              attributes={"units": "K"})
    temps[:25] = rng.standard_normal((25, 30)).astype(np.float32)
    sub = root.create_group("sub", attributes={"kind": "nested"})
    kwargs = {"shards": (256,)} if fmt == 3 else {}
    counts = sub.create_array("counts", shape=(1000,), chunks=(64,), dtype="int64", **kwargs)
    counts[100:900] = np.arange(800)
    deeper = sub.create_group("deeper")
    flags = deeper.create_array("flags", shape=(5, 5), chunks=(2, 2), dtype="bool")
    flags[...] = rng.random((5, 5)) < 0.5
    root.create_group("empty")
    return root


def members(group):
    return dict(group.members(max_depth=None))


def same_array(a, b, where):
    assert a.shape == b.shape and a.dtype == b.dtype and a.chunks == b.chunks, where
    assert getattr(a, "shards", None) == getattr(b, "shards", None), where
    assert dict(a.attrs) == dict(b.attrs), where
    fa, fb = a.fill_value, b.fill_value
    assert fa == fb or (np.isnan(fa) and np.isnan(fb)), f"{where}: fill {fa} vs {fb}"
    assert np.array_equal(a[...], b[...], equal_nan=a.dtype.kind == "f"), where


def check(path, fmt, expected):
    plain = zarr.open_group(path, mode="r", zarr_format=fmt, use_consolidated=False)
    for opened in (zarr.open_consolidated(path, mode="r", zarr_format=fmt),
                   zarr.open_group(path, mode="r", zarr_format=fmt, use_consolidated=True)):
        consolidated = opened.metadata.consolidated_metadata
        assert consolidated is not None, f"{path}: zarr-python finds no consolidated metadata"
        assert set(consolidated.flattened_metadata) == expected, \
            f"{path}: consolidated {sorted(consolidated.flattened_metadata)}, expected {sorted(expected)}"
        assert dict(opened.attrs) == dict(plain.attrs), path
        got, want = members(opened), members(plain)
        assert set(got) == set(want) == expected, f"{path}: members {sorted(got)} vs {sorted(want)}"
        for name, node in want.items():
            if isinstance(node, zarr.Array):
                same_array(got[name], node, f"{path}/{name}")
            else:
                assert dict(got[name].attrs) == dict(node.attrs), f"{path}/{name}"
    info = zarr_cli("info", str(path)).stdout
    assert "Consolidated yes" in info, info


ALL = {"temps", "sub", "sub/counts", "sub/deeper", "sub/deeper/flags", "empty"}
checked = 0
for fmt in (2, 3):
    path = WORK / f"consolidate_v{fmt}.zarr"
    build(path, fmt)
    out = zarr_cli("consolidate", str(path)).stdout
    assert f"consolidated {len(ALL)} nodes" in out, out
    check(path, fmt, ALL)
    checked += 1

    # Stale: zarr-python's own consolidated metadata, then a new array beside it.
    zarr.consolidate_metadata(path, zarr_format=fmt)
    zarr_cli("create", str(path / "added"), "--shape", "6", "--dtype", "uint16", "--zarr-format", str(fmt))
    zarr_cli("consolidate", str(path))
    check(path, fmt, ALL | {"added"})
    checked += 1

# A hierarchy the engine copied (`zarr cp`), then consolidated.
src = WORK / "consolidate_v3.zarr"
dst = WORK / "consolidate_cp.zarr"
zarr_cli("cp", str(src), str(dst), "--zarr-format", "2")
zarr_cli("consolidate", str(dst))
check(dst, 2, ALL | {"added"})
checked += 1

print(f"{checked} hierarchies consolidated by `zarr consolidate` open in zarr-python {zarr.__version__} "
      f"(open_consolidated and use_consolidated=True) with every node and its data")
