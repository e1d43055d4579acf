"""A `zarr put` killed with SIGKILL at random points leaves every chunk old or new.

An array of 1024 zstd chunks (9 MiB) is written by `zarr put`; then, round after round,
`zarr put --select` writes new random content into most of it (the edge chunks are
covered in part: read-modify-writes) and is killed with SIGKILL after a random delay
drawn over the length of one uninterrupted put. After every kill:

- zarr-python opens the array and reads it whole (every chunk decodes: none truncated);
- every chunk equals exactly what it held before the round or what the put meant to
  write there (for an edge chunk: the old chunk merged with the update);
- the chunk files are exactly the grid's keys: a `.zarr-tmp-*` file a killed writer
  left is never taken for a chunk, and `zarr ls`, `zarr info` (which counts stored
  objects) and `zarr get` work and see the same thing zarr-python does.

FsStore writes each chunk to `.zarr-tmp-<pid>-<n>-<random>` in the chunk's directory
and renames it over the key: the rename is atomic, so a reader sees the whole old file
or the whole new one. A kill between creating the temp file and the rename leaves the
temp file behind. Such leftovers are garbage, not data: FsStore's listings skip them,
zarr-python never lists chunk directories, and a later write of that chunk uses a fresh
name. Nothing deletes them automatically (a writer cannot tell a dead writer's temp file
from a live one's without a lock per file); when no writer runs,
`find ARRAY -name '.zarr-tmp-*' -delete` removes them. The script prints how many the
kills left.

Kills must land while chunks are being written, not only before the first or after the
last: rounds go on (up to three times the asked number) until at least one kill left a
mix of old and new chunks, and the script fails if none did.

Usage: python crash.py PATH/TO/zarr WORKDIR [ROUNDS]
"""
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import zarr

ZARR, WORK = sys.argv[1], Path(sys.argv[2])
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 20
SHAPE, CHUNK = (1536, 1536), 48
GRID = SHAPE[0] // CHUNK
# Not aligned to chunks: the first row and column of chunks are read, merged and put.
SELECT = (slice(5, 1536), slice(7, 1536))
SELECT_EXPR = "5:1536, 7:1536"

rng = np.random.default_rng(20261204)
dice = random.Random(20261204)


def zarr_cli(*args):
    run = subprocess.run([ZARR, *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"zarr {' '.join(args)} failed: {run.stderr}")
    return run


def content():
    """Random values that zstd compresses somewhat (so encoding takes real work)."""
    return rng.integers(0, 5000, SHAPE, dtype=np.uint32)


def per_chunk_equal(a, b):
    """A GRID x GRID boolean array: whether each chunk of `a` equals that of `b`."""
    blocks = (GRID, CHUNK, GRID, CHUNK)
    return (a.reshape(blocks) == b.reshape(blocks)).all(axis=(1, 3))


path = WORK / "crash.zarr"
current = content()
np.save(WORK / "crash_old.npy", current)
zarr_cli("put", str(path), "--from", str(WORK / "crash_old.npy"), "--chunks", f"{CHUNK},{CHUNK}", "--codec", "zstd")
expected_keys = {f"c/{i}/{j}" for i in range(GRID) for j in range(GRID)}


def new_round():
    """The .npy of the next update and what the whole array holds once it is written."""
    update = content()[SELECT]
    np.save(WORK / "crash_new.npy", update)
    after = current.copy()
    after[SELECT] = update
    return after


def put_args():
    return [ZARR, "put", str(path), "--from", str(WORK / "crash_new.npy"), "--select", SELECT_EXPR]


# One uninterrupted put sets the range of kill delays (process start included).
current = new_round()
start = time.monotonic()
subprocess.run(put_args(), check=True, capture_output=True)
put_seconds = time.monotonic() - start
assert np.array_equal(zarr.open_array(path, mode="r")[...], current), "an uninterrupted put wrote something else"

rounds = mixed = finished = 0
while rounds < ROUNDS or (mixed == 0 and rounds < 3 * ROUNDS):
    rounds += 1
    after = new_round()
    proc = subprocess.Popen(put_args(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(dice.uniform(0.0, put_seconds))
    proc.kill()
    _, err = proc.communicate()
    if proc.returncode == 0:
        finished += 1
    elif proc.returncode != -9:
        raise SystemExit(f"round {rounds}: zarr put failed before the kill ({proc.returncode}): {err.decode()}")

    # zarr-python reads every chunk: a truncated one fails to decode here.
    got = zarr.open_array(path, mode="r")[...]
    is_old, is_new = per_chunk_equal(got, current), per_chunk_equal(got, after)
    torn = np.argwhere(~(is_old | is_new))
    assert torn.size == 0, f"round {rounds}: chunks {torn[:5].tolist()} are neither old nor new"
    n_new = int((is_new & ~is_old).sum())
    if 0 < n_new < GRID * GRID:
        mixed += 1

    chunk_files = {p.relative_to(path).as_posix() for p in path.rglob("*")
                   if p.is_file() and p.name != "zarr.json" and not p.name.startswith(".zarr-tmp-")}
    assert chunk_files == expected_keys, f"round {rounds}: chunk files {sorted(chunk_files ^ expected_keys)[:5]}"
    info = zarr_cli("info", str(path), "--json")
    stored = json.loads(info.stdout)["stored_objects"]
    assert stored == GRID * GRID, f"round {rounds}: `zarr info` counts {stored} stored objects"
    assert "uint32" in zarr_cli("ls", str(path)).stdout
    current = got

# `zarr get` reads what zarr-python reads, leftovers and all; a last put completes.
zarr_cli("get", str(path), "-o", str(WORK / "crash_got.npy"))
assert np.array_equal(np.load(WORK / "crash_got.npy"), current), "`zarr get` reads something else than zarr-python"
after = new_round()
subprocess.run(put_args(), check=True, capture_output=True)
assert np.array_equal(zarr.open_array(path, mode="r")[...], after), "a put after the kills wrote something else"

leftovers = list(path.rglob(".zarr-tmp-*"))
assert mixed > 0, f"no kill in {rounds} rounds landed while chunks were written (a put takes {put_seconds:.2f} s)"
print(f"{rounds} `zarr put` runs killed at random (a put takes {put_seconds:.2f} s): {mixed} left a mix of old "
      f"and new chunks, {finished} finished first; every chunk old or new, never torn; "
      f"{len(leftovers)} temp files left behind, invisible to readers")
