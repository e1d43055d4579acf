"""Writes the zarr-python metadata documents the metadata tests embed.

Run: /work/venv/bin/python generate.py [output dir]   (zarr 3.1.6, numcodecs 0.16.6)
The output dir defaults to this script's directory (zarr-proto/testdata/metadata).
"""
import json, os, shutil, warnings, sys
import numpy as np
import zarr, numcodecs, numcodecs.zarr3
from zarr.codecs import BytesCodec, GzipCodec, ZstdCodec, BloscCodec, TransposeCodec, Crc32cCodec, ShardingCodec
warnings.filterwarnings("ignore")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
root = "/tmp/zarr-metadata-fixtures"
shutil.rmtree(root, ignore_errors=True)
docs = {}
def grab(name, path, files):
    for f in files:
        p = os.path.join(path, f)
        if os.path.exists(p):
            text = open(p).read()
            if f == ".zattrs" and json.loads(text) == {}:
                continue
            docs[name + (f if f.startswith(".") else "." + f)] = text
def mk(name, fmt, **kw):
    p = os.path.join(root, name)
    a = zarr.create_array(store=p, zarr_format=fmt, **kw)
    if fmt == 3: grab(name, p, ["zarr.json"])
    else: grab(name, p, [".zarray", ".zattrs"])
    return a
# v3 numeric
for dt in ["bool","int8","int16","int32","int64","uint8","uint16","uint32","uint64","float16","float32","float64","complex64","complex128"]:
    mk(f"{dt}", 3, shape=(10, 7), chunks=(5, 3), dtype=dt)
    mk(f"{dt}", 2, shape=(10, 7), chunks=(5, 3), dtype=dt)
mk("f4_nan", 3, shape=(4,), chunks=(2,), dtype="float32", fill_value=np.nan)
mk("f8_inf", 3, shape=(4,), chunks=(2,), dtype="float64", fill_value=-np.inf, attributes={"a": 1, "b": [1, "x"]}, dimension_names=["x"])
mk("f8_nan", 2, shape=(4,), chunks=(2,), dtype="float64", fill_value=np.nan, attributes={"a": 1})
mk("f4_inf", 2, shape=(4,), chunks=(2,), dtype="float32", fill_value=np.inf)
mk("f8_val", 3, shape=(4,), chunks=(2,), dtype="float64", fill_value=1.5)
mk("c8_val", 3, shape=(4,), chunks=(2,), dtype="complex64", fill_value=1+2j)
mk("c16_val", 2, shape=(4,), chunks=(2,), dtype="complex128", fill_value=complex(np.nan, -1))
mk("i8_neg", 3, shape=(4,), chunks=(2,), dtype="int64", fill_value=-9223372036854775808)
mk("u8_max", 2, shape=(4,), chunks=(2,), dtype="uint64", fill_value=18446744073709551615)
mk("be_i4", 2, shape=(4,), chunks=(2,), dtype=">i4", fill_value=7)
mk("be_f8", 2, shape=(4,), chunks=(2,), dtype=">f8", fill_value=2.5, order="F")
mk("be_v3", 3, shape=(4,), chunks=(2,), dtype=">u2", fill_value=3)
# strings/bytes
mk("str", 3, shape=(4,), chunks=(2,), dtype=str)
mk("str", 2, shape=(4,), chunks=(2,), dtype=str)
mk("str_fill", 3, shape=(4,), chunks=(2,), dtype=str, fill_value="hé")
mk("U5", 3, shape=(4,), chunks=(2,), dtype="<U5", fill_value="ab")
mk("U5", 2, shape=(4,), chunks=(2,), dtype="<U5", fill_value="ab")
mk("S4", 3, shape=(4,), chunks=(2,), dtype="S4", fill_value=b"ab")
mk("S4", 2, shape=(4,), chunks=(2,), dtype="S4", fill_value=b"ab")
mk("V3", 3, shape=(4,), chunks=(2,), dtype="V3")
mk("V3", 2, shape=(4,), chunks=(2,), dtype="V3")
mk("vbytes", 3, shape=(4,), chunks=(2,), dtype=zarr.core.dtype.VariableLengthBytes())
mk("vbytes", 2, shape=(4,), chunks=(2,), dtype=zarr.core.dtype.VariableLengthBytes())
# time
mk("M8ns", 3, shape=(4,), chunks=(2,), dtype="datetime64[ns]")
mk("M8ns", 2, shape=(4,), chunks=(2,), dtype="datetime64[ns]")
mk("m8s", 3, shape=(4,), chunks=(2,), dtype="timedelta64[s]", fill_value=np.timedelta64(5, "s"))
mk("m8s", 2, shape=(4,), chunks=(2,), dtype="timedelta64[s]", fill_value=np.timedelta64(5, "s"))
mk("M8_10ms", 3, shape=(4,), chunks=(2,), dtype="datetime64[10ms]", fill_value=np.datetime64("NaT", "10ms"))
mk("M8_10ms", 2, shape=(4,), chunks=(2,), dtype="datetime64[10ms]", fill_value=np.datetime64("NaT", "10ms"))
# codecs v3
mk("gzip", 3, shape=(10,10), chunks=(5,5), dtype="int32", compressors=[GzipCodec(level=5)])
mk("zstd_crc", 3, shape=(10,10), chunks=(5,5), dtype="int32", compressors=[ZstdCodec(level=3, checksum=True), Crc32cCodec()])
mk("blosc", 3, shape=(10,10), chunks=(5,5), dtype="float64", compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle")])
mk("transpose", 3, shape=(10,10), chunks=(5,5), dtype="int16", filters=[TransposeCodec(order=(1,0))], serializer=BytesCodec(endian="big"), compressors=None)
mk("shard", 3, shape=(16,16), chunks=(4,4), shards=(8,8), dtype="uint8")
mk("shard0d", 3, shape=(), chunks=(), dtype="float32", fill_value=3.0)
mk("sep_dot", 3, shape=(4,4), chunks=(2,2), dtype="int8", chunk_key_encoding={"name": "default", "separator": "."})
mk("v2key", 3, shape=(4,4), chunks=(2,2), dtype="int8", chunk_key_encoding={"name": "v2", "separator": "/"})
mk("ncodecs", 3, shape=(10,), chunks=(5,), dtype="int32", filters=[numcodecs.zarr3.Delta(dtype="<i4")], compressors=[numcodecs.zarr3.Zlib(level=1)])
# codecs v2
mk("v2_blosc", 2, shape=(10,10), chunks=(5,5), dtype="float64", compressors=numcodecs.Blosc(cname="zstd", clevel=3, shuffle=2))
mk("v2_none", 2, shape=(10,10), chunks=(5,5), dtype="<i2", compressors=None)
mk("v2_slash", 2, shape=(10,10), chunks=(5,5), dtype="<i2", chunk_key_encoding={"name": "v2", "separator": "/"})
mk("v2_filters", 2, shape=(10,), chunks=(5,), dtype="<f8", filters=[numcodecs.Delta(dtype="<f8"), numcodecs.FixedScaleOffset(offset=1, scale=10, dtype="<f8", astype="<i4")], compressors=numcodecs.Zstd(level=1))
mk("v2_astype", 2, shape=(10,), chunks=(5,), dtype="<f8", filters=[numcodecs.AsType(encode_dtype="<f4", decode_dtype="<f8")], compressors=numcodecs.GZip(level=1))
mk("v2_F", 2, shape=(4,6,3), chunks=(2,3,3), dtype="<u4", order="F", compressors=numcodecs.LZ4())
mk("v2_0d", 2, shape=(), chunks=(), dtype="<f4", fill_value=1.0)
# groups
g = zarr.open_group(os.path.join(root, "grp3"), mode="w", zarr_format=3, attributes={"title": "x"})
g.create_array("a", shape=(3,), dtype="int8")
g.create_group("sub").create_array("b", shape=(2,2), dtype="float32", fill_value=np.nan)
zarr.consolidate_metadata(os.path.join(root, "grp3"))
grab("grp3", os.path.join(root, "grp3"), ["zarr.json"])
g = zarr.open_group(os.path.join(root, "grp2"), mode="w", zarr_format=2, attributes={"title": "y"})
g.create_array("a", shape=(3,), dtype="int8", attributes={"units": "m"})
g.create_group("sub").create_array("b", shape=(2,2), dtype="<f4", fill_value=np.nan)
zarr.consolidate_metadata(os.path.join(root, "grp2"))
grab("grp2", os.path.join(root, "grp2"), [".zgroup", ".zattrs", ".zmetadata"])
os.makedirs(out, exist_ok=True)
for k, v in docs.items():
    open(os.path.join(out, k), "w").write(v)
print(len(docs))
