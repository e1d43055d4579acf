"""Generates the codec interop fixtures in this directory with zarr-python / numcodecs.

Run with the project venv: /work/venv/bin/python gen.py  (zarr 3.1.6, numcodecs 0.16.6).
Writes, per fixture, the raw stored chunk objects (`<name>/<key with / as .>`), the
expected array (`<name>/expected.bin`, C order, little-endian; strings in the manifest)
and `manifest.json` describing the codecs, dtype, shapes, fill value and chunk origins.
"""
import json
import os
import shutil
import tempfile

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec, TransposeCodec, VLenUTF8Codec

HERE = os.path.dirname(os.path.abspath(__file__))
manifest = []


def fill_bytes(arr):
    fv = arr.metadata.fill_value
    if arr.metadata.zarr_format == 3:
        fv = arr.fill_value
    return np.array(fv, dtype=arr.dtype.newbyteorder("<") if arr.dtype.kind != "O" else "O")


def save(name, arr, values, dtype_name, codecs=None, v2=None, strings=False, sharded=False):
    """Copies `arr`'s stored chunks and metadata into HERE/name and records a manifest entry."""
    out = os.path.join(HERE, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    root = arr.store.root
    chunks = []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            if rel in ("zarr.json", ".zarray", ".zattrs", ".zgroup"):
                continue
            key = rel.replace(os.sep, "/")
            sep = "/" if arr.metadata.zarr_format == 3 else "."
            idx = [int(p) for p in key.split("/")[-len(arr.shape):]] if sep == "/" else [int(p) for p in key.split(".")]
            fname = key.replace("/", ".")
            shutil.copy(os.path.join(root, rel), os.path.join(out, fname))
            grid = arr.shards or arr.chunks
            chunks.append({"key": key, "file": f"{name}/{fname}", "origin": [i * c for i, c in zip(idx, grid)]})
    chunks.sort(key=lambda c: c["key"])
    entry = {
        "name": name,
        "dtype": dtype_name,
        "shape": list(arr.shape),
        "chunk_shape": list(arr.shards or arr.chunks),
        "chunks": chunks,
    }
    if strings:
        entry["expected_strings"] = [s if isinstance(s, str) else s.hex() for s in values.ravel().tolist()]
        entry["fill_value"] = ""
    else:
        le = values.astype(values.dtype.newbyteorder("<"))
        le.tofile(os.path.join(out, "expected.bin"))
        entry["expected"] = f"{name}/expected.bin"
        entry["fill_value_hex"] = np.array(arr.fill_value, dtype=le.dtype).tobytes().hex()
    if codecs is not None:
        entry["codecs"] = codecs
    if v2 is not None:
        entry["v2"] = v2
    manifest.append(entry)


def v3_array(tmp, name, shape, dtype, **kw):
    store = zarr.storage.LocalStore(os.path.join(tmp, name))
    return zarr.create_array(store, shape=shape, dtype=dtype, zarr_format=3, **kw)


def v2_array(tmp, name, shape, dtype, **kw):
    store = zarr.storage.LocalStore(os.path.join(tmp, name))
    return zarr.create_array(store, shape=shape, dtype=dtype, zarr_format=2, compressors=None, **kw)


def v3_codecs(arr):
    meta = json.loads(open(os.path.join(arr.store.root, "zarr.json")).read())
    return meta["codecs"]


with tempfile.TemporaryDirectory() as tmp:
    # 1. Sharding, index at the end with crc32c, ragged edges, empty inner chunks.
    a = v3_array(tmp, "shard_end_crc", (10, 7), "int32", chunks=(4, 4), fill_value=-1,
                 serializer=ShardingCodec(chunk_shape=(2, 2), codecs=[BytesCodec(endian="little")],
                                          index_codecs=[BytesCodec(endian="little"), Crc32cCodec()],
                                          index_location="end"), compressors=None)
    v = np.arange(70, dtype="int32").reshape(10, 7)
    v[0:2, 2:4] = -1  # one inner chunk entirely fill value
    v[4:8, 0:4] = -1  # one whole shard... all of its inner chunks empty -> shard not written
    a[:] = v
    save("shard_end_crc", a, v, "int32", codecs=v3_codecs(a), sharded=True)

    # 2. Sharding, index at the start without checksum, 3-d, big-endian inner chunks.
    a = v3_array(tmp, "shard_start_3d", (5, 6, 3), "uint16", chunks=(2, 4, 2), fill_value=7,
                 serializer=ShardingCodec(chunk_shape=(1, 2, 2), codecs=[BytesCodec(endian="big")],
                                          index_codecs=[BytesCodec(endian="little")],
                                          index_location="start"), compressors=None)
    v = (np.arange(90, dtype="uint16") * 257).reshape(5, 6, 3)
    v[0, 0:2, 0:2] = 7
    a[:] = v
    save("shard_start_3d", a, v, "uint16", codecs=v3_codecs(a), sharded=True)

    # 3. Sharding with transpose inside the inner chunks and float64 NaN fill.
    a = v3_array(tmp, "shard_transpose_f8", (6, 5), "float64", chunks=(6, 4), fill_value=float("nan"),
                 serializer=ShardingCodec(chunk_shape=(3, 2), codecs=[TransposeCodec(order=(1, 0)),
                                          BytesCodec(endian="little")]), compressors=None)
    v = np.linspace(-1, 1, 30).reshape(6, 5)
    v[3:6, 2:4] = np.nan
    a[:] = v
    save("shard_transpose_f8", a, v, "float64", codecs=v3_codecs(a), sharded=True)

    # 4. Sharded variable-length strings.
    a = v3_array(tmp, "shard_vlen_utf8", (5,), "str", chunks=(4,), fill_value="", compressors=None,
                 serializer=ShardingCodec(chunk_shape=(2,), codecs=[VLenUTF8Codec()]))
    v = np.array(["a", "héllo", "", "", "zz"], dtype=object)
    a[:] = v
    save("shard_vlen_utf8", a, v, "string", codecs=v3_codecs(a), strings=True, sharded=True)

    # 5. Plain codecs.
    a = v3_array(tmp, "bytes_big_f8", (5,), "float64", chunks=(3,), serializer=BytesCodec(endian="big"),
                 compressors=None)
    v = np.array([1.5, -2.25, 1e300, 0.0, np.pi])
    a[:] = v
    save("bytes_big_f8", a, v, "float64", codecs=v3_codecs(a))

    a = v3_array(tmp, "transpose_3d", (3, 4, 2), "int16", chunks=(3, 4, 2), filters=[TransposeCodec(order=(2, 0, 1))],
                 compressors=None)
    v = np.arange(24, dtype="int16").reshape(3, 4, 2) - 5
    a[:] = v
    save("transpose_3d", a, v, "int16", codecs=v3_codecs(a))

    a = v3_array(tmp, "vlen_utf8", (4,), "str", chunks=(3,), compressors=None)
    v = np.array(["x", "ünï", "", "last"], dtype=object)
    a[:] = v
    save("vlen_utf8", a, v, "string", codecs=v3_codecs(a), strings=True)

    a = v2_array(tmp, "v2_delta", (8,), "<i4", chunks=(5,), filters=[numcodecs.Delta(dtype="<i4", astype="<i2")])
    v = np.array([1000, 1003, 990, 990, -5, 7, 100000, 100001], dtype="<i4")
    a[:] = v
    save("v2_delta", a, a[:], "int32", v2={"dtype": "<i4", "filters": a.metadata.filters and
                                         [f.get_config() for f in a.metadata.filters]})

    a = v2_array(tmp, "v2_fixedscaleoffset", (10,), "<f8", chunks=(10,),
                 filters=[numcodecs.FixedScaleOffset(offset=1000, scale=10, dtype="<f8", astype="|u1")])
    a[:] = np.linspace(1000, 1001, 10)
    save("v2_fixedscaleoffset", a, a[:], "float64",
         v2={"dtype": "<f8", "filters": [f.get_config() for f in a.metadata.filters]})

    a = v2_array(tmp, "v2_fixedscaleoffset_f4", (6,), "<f4", chunks=(6,),
                 filters=[numcodecs.FixedScaleOffset(offset=0.5, scale=100.0, dtype="<f4", astype="<i2")])
    a[:] = np.array([0.5, 0.505, 1.2345, -3.14159, 0.515, 2.0], dtype="<f4")
    save("v2_fixedscaleoffset_f4", a, a[:], "float32",
         v2={"dtype": "<f4", "filters": [f.get_config() for f in a.metadata.filters]})

    a = v2_array(tmp, "v2_astype", (5,), "<f8", chunks=(5,),
                 filters=[numcodecs.AsType(encode_dtype="<f4", decode_dtype="<f8")])
    a[:] = np.array([0.1, 1e10, -2.5, 1 / 3, 65504.0])
    save("v2_astype", a, a[:], "float64", v2={"dtype": "<f8", "filters": [f.get_config() for f in a.metadata.filters]})

    a = v2_array(tmp, "v2_vlen_bytes", (3,), zarr.dtype.VariableLengthBytes(), chunks=(3,))
    a[:] = np.array([b"\x00\xff", b"", b"abc"], dtype=object)
    v = np.array([b"\x00\xff", b"", b"abc"], dtype=object)
    save("v2_vlen_bytes", a, v, "bytes", strings=True,
         v2={"dtype": "|O", "filters": [f.get_config() for f in (a.metadata.filters or [])]})

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
    f.write("\n")
