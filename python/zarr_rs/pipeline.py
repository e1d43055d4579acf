"""A zarr-python 3 ``CodecPipeline`` that reads and writes chunks through zarr-rs.

One configuration line sends zarr-python's own reads and writes (``zarr.open_array``,
``zarr.open_group``, xarray's ``open_zarr``, Dask's ``from_zarr``) through the engine::

    zarr.config.set({"codec_pipeline.path": "zarr_rs.pipeline.ZarrRsCodecPipeline"})

The package registers the class through the ``zarr.codec_pipeline`` entry point, so no
import is needed. How it works: zarr-python hands the pipeline, per selection, the
list of chunks (shards when sharded) it touches, each with the part of the chunk and
the part of the output. The pipeline opens the same array with zarr-rs (from the
zarr-python store's location), reads the bounding box of those chunks as one
``blocks`` selection (every chunk request in flight at once, decoded off the GIL) and
copies each chunk's part into zarr-python's output; when the chunks of a basic
selection tile that output (``z[...]``, ``z[a:b]``) the engine decodes straight into
it instead, with no buffer of its own. Writes read the box when some
chunk is only partly written, merge, and write the box back as one selection, storing
or deleting chunks left all fill value as zarr-python's ``array.write_empty_chunks``
(global or per array) says.

Stores: ``LocalStore``, ``FsspecStore`` over local files or HTTP(S), obstore's
``LocalStore`` and ``HTTPStore``/``S3Store`` (through zarr-python's ``ObjectStore``).
Others (memory, zip, ...) fall back to zarr-python's own ``BatchedCodecPipeline`` with a
warning, or raise ``NotImplementedError`` when ``codec_pipeline.strict`` is set.

Dask workers in other processes (``distributed``): ``zarr.config.set`` changes the
calling process only. An array pickled to a worker (``dask.array.from_zarr``,
``xarray.open_zarr(..., chunks=...)``) takes its pipeline along, but what a worker
opens itself, and its ``codec_pipeline.strict``, follow the worker's own configuration.
zarr reads it from the environment when imported, so set the variable where the workers
start; a ``LocalCluster`` inherits it from the process that starts it::

    os.environ["ZARR_CODEC_PIPELINE__PATH"] = "zarr_rs.pipeline.ZarrRsCodecPipeline"
    cluster = distributed.LocalCluster(n_workers=2)

(on a deployed cluster, in the workers' environment, or through Dask's
``distributed.nanny.pre-spawn-environ`` setting for workers started by a nanny).
"""

from __future__ import annotations

import asyncio
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from zarr.abc.codec import CodecPipeline
from zarr.core.codec_pipeline import BatchedCodecPipeline
from zarr.core.config import config
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata

import zarr_rs

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from zarr.abc.codec import Codec
    from zarr.abc.store import Store
    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer, NDBuffer


# Chunk reads in flight at once for a scattered (orthogonal or vectorised) selection,
# each a read of its own: enough to hide a store's latency without a thread per chunk.
_SCATTERED_READS = 16


def store_location(store: Any) -> tuple[str, dict[str, Any]]:
    """The URL (or path) and ``zarr_rs.open`` options of a zarr-python store.

    Raises ``NotImplementedError`` naming the store type when zarr-rs cannot reach it.
    """
    name = type(store).__name__
    if name == "LocalStore":
        return str(store.root), {}
    if name == "FsspecStore":
        protocols = store.fs.protocol if isinstance(store.fs.protocol, tuple) else (store.fs.protocol,)
        if {"file", "local"} & set(protocols):
            # Local paths as fsspec sees them: what Dask's `from_zarr(path)` opens.
            return str(store.path), {}
        if {"http", "https"} & set(protocols):
            path = str(store.path)
            if not path.startswith(("http://", "https://")):
                path = f"{protocols[0]}://{path}"
            return path, {}
        raise NotImplementedError(f"zarr_rs pipeline: fsspec filesystem {protocols} is not supported (only local and HTTP)")
    if name == "ObjectStore":
        inner = store.store
        inner_name = type(inner).__name__
        if inner_name == "LocalStore":
            return str(inner.prefix), {}
        if inner_name == "HTTPStore":
            return str(inner.url), {}
        if inner_name == "S3Store":
            cfg = dict(inner.config or {})
            prefix = str(inner.prefix or "").strip("/")
            url = f"s3://{cfg.get('bucket') or cfg.get('aws_bucket')}" + (f"/{prefix}" if prefix else "")
            options: dict[str, Any] = {}
            for ours, theirs in (("endpoint", "endpoint"), ("region", "region")):
                value = cfg.get(theirs) or cfg.get(f"aws_{theirs}")
                if value:
                    options[ours] = value
            if cfg.get("skip_signature") in (True, "true"):
                options["anonymous"] = True
            return url, options
        raise NotImplementedError(f"zarr_rs pipeline: obstore {inner_name} is not supported")
    raise NotImplementedError(
        f"zarr_rs pipeline: {name} is not supported (supported: LocalStore, FsspecStore over local files or HTTP, "
        "ObjectStore with obstore's LocalStore, HTTPStore or S3Store)"
    )


def _selection_stop(sel: Any, size: int) -> int:
    """One past the last index a chunk selection (slice, integer, integer or boolean
    array) reaches in a dimension of `size` elements."""
    if isinstance(sel, slice):
        indices = range(*sel.indices(size))
        return max(indices[0], indices[-1]) + 1 if indices else 0
    if isinstance(sel, (int, np.integer)):
        return int(sel) + 1
    a = np.asarray(sel)
    if a.dtype == bool:
        a = np.flatnonzero(a)
    return int(a.max()) + 1 if a.size else 0


def _codecs(metadata: Any) -> list[Codec]:
    if isinstance(metadata, ArrayV3Metadata):
        return list(metadata.codecs)
    from zarr.codecs._v2 import V2Codec

    return [V2Codec(filters=metadata.filters, compressor=metadata.compressor)]


@dataclass
class ZarrRsCodecPipeline(CodecPipeline):
    """Reads and writes through zarr-rs; see the module's documentation."""

    metadata: ArrayV2Metadata | ArrayV3Metadata
    store: Any
    location: tuple[str, dict[str, Any]] | None
    unsupported: str | None
    fallback: BatchedCodecPipeline
    # Opened on first use, not pickled: no part of the pipeline's identity (an unpickled
    # array equals its original, as zarr-python's tests check).
    _arrays: dict[str, zarr_rs.Array] = field(default_factory=dict, repr=False, compare=False)

    # Construction -----------------------------------------------------------------

    @classmethod
    def from_array_metadata_and_store(cls, array_metadata: Any, store: Store) -> ZarrRsCodecPipeline:
        try:
            location, unsupported = store_location(store), None
        except NotImplementedError as e:
            location, unsupported = None, str(e)
        return cls(
            metadata=array_metadata,
            store=store,
            location=location,
            unsupported=unsupported,
            fallback=BatchedCodecPipeline.from_codecs(_codecs(array_metadata)),
        )

    @classmethod
    def from_codecs(cls, codecs: Iterable[Codec]) -> BatchedCodecPipeline:  # type: ignore[override]
        # Without a store (the sharding codec's inner pipeline, arrays made from codecs
        # alone) there is nothing for zarr-rs to read: zarr-python's own pipeline.
        return BatchedCodecPipeline.from_codecs(codecs)

    def evolve_from_array_spec(self, array_spec: ArraySpec) -> ZarrRsCodecPipeline:
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_arrays"] = {}  # reopened where unpickled
        return state

    # What zarr-python asks of every pipeline: its own pipeline's answers ------------

    @property
    def supports_partial_decode(self) -> bool:
        return False

    @property
    def supports_partial_encode(self) -> bool:
        return False

    def __iter__(self) -> Iterator[Codec]:
        return iter(self.fallback)

    def validate(self, *, shape: Any, dtype: Any, chunk_grid: Any) -> None:
        self.fallback.validate(shape=shape, dtype=dtype, chunk_grid=chunk_grid)

    def compute_encoded_size(self, byte_length: int, array_spec: ArraySpec) -> int:
        return self.fallback.compute_encoded_size(byte_length, array_spec)

    async def decode(self, chunk_bytes_and_specs: Iterable[tuple[Buffer | None, ArraySpec]]) -> Iterable[NDBuffer | None]:
        return await self.fallback.decode(chunk_bytes_and_specs)

    async def encode(self, chunk_arrays_and_specs: Iterable[tuple[NDBuffer | None, ArraySpec]]) -> Iterable[Buffer | None]:
        return await self.fallback.encode(chunk_arrays_and_specs)

    # Reads and writes -------------------------------------------------------------

    def _use_fallback(self) -> bool:
        if self.unsupported is None:
            return False
        if config.get("codec_pipeline.strict", False):
            raise NotImplementedError(self.unsupported)
        warnings.warn(f"{self.unsupported}; using zarr-python's BatchedCodecPipeline", UserWarning, stacklevel=3)
        return True

    def _chunk_coords(self, key: str) -> tuple[str, tuple[int, ...]]:
        """The array's path in the store and the chunk's grid coordinates, from a chunk key."""
        ndim = len(self.metadata.shape)
        candidates = [0] + [i + 1 for i, ch in enumerate(key) if ch == "/"]
        for start in reversed(candidates):
            prefix, rel = key[:start].rstrip("/"), key[start:]
            try:
                coords = self._decode_chunk_key(rel, ndim)
            except ValueError:
                continue
            if len(coords) == ndim and self.metadata.encode_chunk_key(coords) == rel:
                return prefix, coords
        raise ValueError(f"zarr_rs pipeline: cannot tell the chunk coordinates of key {key!r}")

    def _decode_chunk_key(self, rel: str, ndim: int) -> tuple[int, ...]:
        """Grid coordinates of a chunk key relative to the array (zarr-python 3.1's own
        `DefaultChunkKeyEncoding.decode_chunk_key` keeps the separator after "c")."""
        if isinstance(self.metadata, ArrayV3Metadata):
            encoding = self.metadata.chunk_key_encoding
            sep = getattr(encoding, "separator", "/")
            if getattr(encoding, "name", "default") == "default":
                if rel == "c":
                    return ()
                if not rel.startswith("c" + sep):
                    raise ValueError(rel)
                rel = rel[2:]
        else:
            sep = self.metadata.dimension_separator
        if ndim == 0:
            if rel != "0":
                raise ValueError(rel)
            return ()
        return tuple(int(p) for p in rel.split(sep))

    def _array(self, path: str) -> zarr_rs.Array:
        arr = self._arrays.get(path)
        if arr is None:
            assert self.location is not None
            url, options = self.location
            node = zarr_rs.open(url, path=path, **options)
            if not isinstance(node, zarr_rs.Array):
                raise zarr_rs.NodeTypeError(f"expected an array at {path!r} in {url}")
            arr = self._arrays[path] = node
        return arr

    def _plan(self, batch: list[Any]) -> tuple[zarr_rs.Array, list[tuple[int, ...]], tuple[int, ...], tuple[int, ...]]:
        """The zarr-rs array, each item's chunk coordinates and their bounding box."""
        parsed = [self._chunk_coords(item[0].path) for item in batch]
        arr = self._array(parsed[0][0])
        coords = [c for _, c in parsed]
        if self._stale(arr, coords, batch):
            # zarr-python's resize and append write new metadata and update the array's,
            # not its pipeline's: open the array again, with the metadata now stored.
            del self._arrays[parsed[0][0]]
            arr = self._array(parsed[0][0])
        lo = tuple(min(c[d] for c in coords) for d in range(arr.ndim))
        hi = tuple(max(c[d] for c in coords) + 1 for d in range(arr.ndim))
        return arr, coords, lo, hi

    @staticmethod
    def _stale(arr: zarr_rs.Array, coords: list[tuple[int, ...]], batch: list[Any]) -> bool:
        """Whether the engine's shape is not the array's any more: an item reaches past
        its end (the array grew), or zarr-python calls a chunk complete that the
        selection covers only in part as the engine sees it (the array shrank, and a chunk
        inside it became an edge chunk). Only edge and complete chunks are looked at."""
        chunk_shape = tuple(batch[0][1].shape)
        for c, item in zip(coords, batch):
            sels = item[2] if isinstance(item[2], tuple) else (item[2],)
            for ci, s, n, sel in zip(c, chunk_shape, arr.shape, sels):
                end = min(s, n - ci * s)  # the chunk's extent as the engine sees it
                if end < s or item[4]:
                    stop = _selection_stop(sel, s)
                    if stop > end or (item[4] and stop < end):
                        return True
        return False

    @staticmethod
    def _basic_boxes(
        batch: list[Any], coords: list[tuple[int, ...]], chunk_shape: tuple[int, ...], shape: tuple[int, ...]
    ) -> list[list[tuple[int, int, int]]] | None:
        """For selections of integers and slices only (what basic indexing gives), each
        item's part as (first, stop, step) per dimension in array coordinates; `None`
        when an item has index arrays (orthogonal or vectorised selections)."""
        out = []
        for c, item in zip(coords, batch):
            sel = item[2] if isinstance(item[2], tuple) else (item[2],)
            if len(sel) != len(c):
                return None
            parts = []
            for s, ci, size, n in zip(sel, c, chunk_shape, shape):
                origin = ci * size
                if isinstance(s, slice):
                    start, stop, step = s.indices(min(size, n - origin))
                    if step <= 0:
                        return None
                    count = max(0, (stop - start + step - 1) // step)
                    last = start + (count - 1) * step + 1 if count else start
                    parts.append((origin + start, origin + last, step))
                elif isinstance(s, (int, np.integer)):
                    parts.append((origin + int(s), origin + int(s) + 1, 0))
                else:
                    return None
            out.append(parts)
        return out

    @staticmethod
    def _fills_out(
        boxes: list[list[tuple[int, int, int]]], batch: list[Any], first: list[int], stop: list[int], out: Any, dtype: np.dtype
    ) -> bool:
        """Whether the bounding box `first..stop` is exactly `out` (a C-contiguous numpy
        array of the array's fixed-size dtype) and each item's part lands at its own
        offset in it: then reading the box into `out` is the whole read."""
        if not (isinstance(out, np.ndarray) and out.flags.c_contiguous and out.flags.writeable and out.size):
            return False
        if out.dtype != dtype or not out.dtype.isnative or out.dtype.kind not in "biufcmM":
            return False
        if out.shape != tuple(t - f for f, t in zip(first, stop)):
            return False
        for parts, item in zip(boxes, batch):
            out_sel = item[3] if isinstance(item[3], tuple) else (item[3],)
            if len(out_sel) != len(parts):
                return False
            for (f, t, step), s, lo, n in zip(parts, out_sel, first, out.shape):
                if step != 1 or not isinstance(s, slice) or s.indices(n) != (f - lo, t - lo, 1):
                    return False
        return True

    @staticmethod
    def _shifted(parts: list[tuple[int, int, int]], lo: list[int]) -> tuple[Any, ...]:
        """An item's selection in a region that starts at `lo` (0 step: an integer)."""
        return tuple(
            first - l if step == 0 else slice(first - l, stop - l, step) for (first, stop, step), l in zip(parts, lo)
        )

    @staticmethod
    def _dense(coords: list[tuple[int, ...]], lo: tuple[int, ...], hi: tuple[int, ...]) -> bool:
        return len(set(coords)) == int(np.prod([h - l for l, h in zip(lo, hi)], dtype=np.int64))

    @staticmethod
    def _chunk_view(region: np.ndarray, c: tuple[int, ...], lo: tuple[int, ...], chunk_shape: tuple[int, ...]) -> np.ndarray:
        """The part of `region` (the blocks lo.. of the array) that is chunk `c`: a view,
        also of a 0-d region (the Ellipsis keeps numpy from returning a scalar)."""
        return region[tuple(slice((ci - l) * s, (ci - l + 1) * s) for ci, l, s in zip(c, lo, chunk_shape)) + (Ellipsis,)]

    def _read_chunks(self, arr: zarr_rs.Array, coords: list[tuple[int, ...]], lo: tuple[int, ...], hi: tuple[int, ...], chunk_shape: tuple[int, ...]) -> list[np.ndarray]:
        if self._dense(coords, lo, hi):
            region = arr.blocks[tuple(slice(l, h) for l, h in zip(lo, hi))]
            return [self._chunk_view(region, c, lo, chunk_shape) for c in coords]
        # Scattered chunks (a fancy selection): one read each, no reading of the gaps,
        # several at once (each releases the GIL while it waits on the store).
        if len(coords) == 1:
            return [arr.blocks[coords[0]]]
        with ThreadPoolExecutor(max_workers=min(_SCATTERED_READS, len(coords))) as pool:
            return list(pool.map(lambda c: arr.blocks[c], coords))

    async def read(self, batch_info: Iterable[Any], out: NDBuffer, drop_axes: tuple[int, ...] = ()) -> None:
        batch = list(batch_info)
        if not batch:
            return
        if self._use_fallback():
            await self.fallback.read(batch, out, drop_axes)
            return
        arr, coords, lo, hi = self._plan(batch)
        chunk_shape = tuple(batch[0][1].shape)
        out_np = out.as_ndarray_like()
        boxes = self._basic_boxes(batch, coords, chunk_shape, arr.shape) if arr.ndim else None
        if boxes is not None:
            # Basic selections read just the elements' bounding box (never whole shards
            # for a part of one): one engine read, then each item's part of it.
            first = [min(b[d][0] for b in boxes) for d in range(arr.ndim)]
            stop = [max(b[d][1] for b in boxes) for d in range(arr.ndim)]
            box = tuple(slice(f, max(f, t)) for f, t in zip(first, stop))
            if not drop_axes and self._fills_out(boxes, batch, first, stop, out_np, arr.dtype):
                # The items tile zarr-python's whole output (`arr[...]`, `arr[a:b]`): the
                # engine decodes straight into it, no buffer of its own and no copy.
                await asyncio.to_thread(arr._native.read_into, "basic", box, out_np.reshape(-1).view(np.uint8))
                return
            region = await asyncio.to_thread(arr.__getitem__, box)
            for parts, (_, _, _, out_selection, _) in zip(boxes, batch):
                part = region[self._shifted(parts, first)]
                if drop_axes:
                    part = part.squeeze(axis=drop_axes)
                out_np[out_selection] = part
            return
        chunks = await asyncio.to_thread(self._read_chunks, arr, coords, lo, hi, chunk_shape)
        for chunk, (_, _, chunk_selection, out_selection, _) in zip(chunks, batch):
            part = chunk[chunk_selection]
            if drop_axes:
                part = part.squeeze(axis=drop_axes)
            out_np[out_selection] = part

    async def write(self, batch_info: Iterable[Any], value: NDBuffer, drop_axes: tuple[int, ...] = ()) -> None:
        batch = list(batch_info)
        if not batch:
            return
        if self._use_fallback():
            await self.fallback.write(batch, value, drop_axes)
            return
        arr, coords, lo, hi = self._plan(batch)
        chunk_shape = tuple(batch[0][1].shape)
        # zarr-python's per-array config (`array.write_empty_chunks`), the same in every
        # item of a batch: whether chunks left all fill value are stored or deleted.
        write_empty = bool(batch[0][1].config.write_empty_chunks)
        value_np = np.asarray(value.as_ndarray_like())
        boxes = self._basic_boxes(batch, coords, chunk_shape, arr.shape) if arr.ndim else None
        if boxes is not None and all(step in (0, 1) for b in boxes for _, _, step in b):
            # Contiguous basic selections: the items tile their bounding box, which is
            # written as one selection; the engine reads and merges only the chunks it
            # covers in part.
            first = [min(b[d][0] for b in boxes) for d in range(arr.ndim)]
            stop = [max(b[d][1] for b in boxes) for d in range(arr.ndim)]
            box = tuple(slice(f, max(f, t)) for f, t in zip(first, stop))
            region = np.empty(tuple(max(0, t - f) for f, t in zip(first, stop)), dtype=arr.dtype)
            for parts, (_, spec, _, out_selection, _) in zip(boxes, batch):
                part = value_np if value_np.shape == () else value_np[out_selection]
                if drop_axes and part.ndim:  # a scalar broadcasts as it is
                    part = part[tuple(None if d in drop_axes else slice(None) for d in range(len(spec.shape)))]
                shifted = tuple(slice(f - l, f - l + 1) if step == 0 else slice(f - l, t - l) for (f, t, step), l in zip(parts, first))
                region[shifted] = np.reshape(part, region[shifted].shape) if np.ndim(part) else part
            await asyncio.to_thread(arr.write, box, region, write_empty_chunks=write_empty)
            return
        if not self._dense(coords, lo, hi):
            # One box per chunk.
            for c, item in zip(coords, batch):
                one = tuple(x + 1 for x in c)
                await self._write_box(arr, [c], c, one, chunk_shape, [item], value_np, drop_axes, write_empty)
            return
        await self._write_box(arr, coords, lo, hi, chunk_shape, batch, value_np, drop_axes, write_empty)

    async def _write_box(self, arr, coords, lo, hi, chunk_shape, batch, value_np, drop_axes, write_empty) -> None:  # type: ignore[no-untyped-def]
        box = tuple(slice(l, h) for l, h in zip(lo, hi))
        # The same blocks in array coordinates: `Array.write` takes `write_empty_chunks`,
        # the `blocks[...] = ` setter cannot.
        elements = tuple(slice(l * s, min(h * s, n)) for l, h, s, n in zip(lo, hi, chunk_shape, arr.shape))

        def run() -> None:
            complete = all(item[4] for item in batch)
            if complete:
                shape = tuple(min(h * s, n) - l * s for l, h, s, n in zip(lo, hi, chunk_shape, arr.shape))
                region = np.empty(shape, dtype=arr.dtype)
            else:
                region = arr.blocks[box]  # a writable view of the engine's buffer
            for c, (_, spec, chunk_selection, out_selection, _) in zip(coords, batch):
                part = value_np if value_np.shape == () else value_np[out_selection]
                if drop_axes and part.ndim:  # a scalar broadcasts as it is
                    part = part[tuple(None if d in drop_axes else slice(None) for d in range(len(spec.shape)))]
                self._chunk_view(region, c, lo, chunk_shape)[chunk_selection] = part
            arr.write(elements, region, write_empty_chunks=write_empty)

        await asyncio.to_thread(run)


__all__ = ["ZarrRsCodecPipeline", "store_location"]
