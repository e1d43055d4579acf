"""zarr_rs: read and write Zarr v2 and v3 arrays with the zarr-rs engine.

    >>> import zarr_rs
    >>> arr = zarr_rs.open("data/temperature.zarr")          # or file://, http(s)://, s3://
    >>> arr.shape, arr.dtype, arr.chunks
    >>> block = arr[0, 100:200, ::2]                         # numpy basic indexing
    >>> arr.oindex[[1, 5], :, [0, 2]]; arr.vindex[[1, 5], [2, 3], [0, 0]]; arr.blocks[0]
    >>> arr[0, :10] = 1.5                                    # writes
    >>> new = zarr_rs.create("out.zarr", shape=(100, 100), dtype="f4", chunks=(10, 10))

Reads run in the Rust engine with many chunk requests in flight, with the GIL
released; their result is a numpy array that owns the engine's output buffer (no
copy). Ctrl-C stops a long read or write within about 50 ms (a write leaves every
chunk whole, with its old or its new content). Errors are the exceptions of
``zarr_rs._errors`` (re-exported here), each also a builtin exception.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import operator
import os
from typing import Any, Callable, Union

import numpy as np

from . import _native
from ._errors import (
    ChunkError,
    ContainsNodeError,
    LimitError,
    MetadataError,
    NodeNotFoundError,
    NodeTypeError,
    SelectionError,
    StoreError,
    ZarrError,
)

__all__ = [
    "open",
    "open_async",
    "create",
    "create_group",
    "Array",
    "Group",
    "ZarrError",
    "NodeNotFoundError",
    "NodeTypeError",
    "ContainsNodeError",
    "StoreError",
    "SelectionError",
    "ChunkError",
    "MetadataError",
    "LimitError",
]

Progress = Union[Callable[[int, int], Any], bool, None]


def open(url_or_path: str | os.PathLike[str], *, path: str = "", **store_options: Any) -> Array | Group:
    """Opens the array or group at a local path, a ``file://``, ``http(s)://`` or
    ``s3://`` URL (and ``path`` inside it).

    Store options (all optional): ``headers`` (dict, sent with every HTTP request),
    ``ca_file`` (a PEM file of the CA certificates to trust over TLS, as ``zarr
    --cacert``; by default the system's, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``),
    ``http_version`` (``"auto"``: HTTP/2 where TLS offers it; ``"1.1"``; ``"h2c"``:
    HTTP/2 over plain ``http://``), ``h2_connections`` (most HTTP/2 connections per
    server, default 4), ``timeout`` and ``connect_timeout`` (seconds), ``endpoint``,
    ``region``, ``profile``, ``anonymous`` and ``path_style`` (S3), ``concurrency``
    (requests in flight per read; default: as many as the store serves at once). An
    unknown option is a ``TypeError``.

    Raises ``NodeNotFoundError`` (a ``KeyError`` and ``FileNotFoundError``) when there
    is no node, ``StoreError`` (an ``OSError``) when the store fails.
    """
    url = os.fspath(url_or_path)
    options = dict(store_options)
    return _wrap(_native.open_node(url, path, options), url, options)


async def open_async(url_or_path: str | os.PathLike[str], *, path: str = "", **store_options: Any) -> Array | Group:
    """``open`` for asyncio code: runs on a worker thread (``asyncio.to_thread``); the
    engine releases the GIL while it waits on the store, so the event loop keeps running."""
    return await asyncio.to_thread(open, url_or_path, path=path, **store_options)


def _fill_json(fill_value: Any) -> str | None:
    """The fill value as Zarr metadata spells it (JSON; NaN and the infinities as
    strings), from a Python or numpy scalar."""
    if fill_value is None:
        return None
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    if isinstance(fill_value, float):
        fill_value = _json_float(fill_value)
    elif isinstance(fill_value, complex):
        fill_value = [_json_float(fill_value.real), _json_float(fill_value.imag)]
    elif isinstance(fill_value, bytes):
        fill_value = base64.b64encode(fill_value).decode()
    return json.dumps(fill_value)


def _json_float(x: float) -> Any:
    """A float as Zarr metadata spells it: NaN and the infinities as strings."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


# Zarr v3 type names that numpy does not have, or means something else by.
_ZARR_ONLY_TYPES = frozenset({"bfloat16", "string", "bytes"})


def _dtype_name(dtype: Any) -> str:
    """A dtype as the engine names it: numpy's type string (``"<f4"``), or a Zarr v3
    name numpy lacks (``"bfloat16"``, ``"string"``, ``"bytes"``)."""
    if isinstance(dtype, str) and dtype in _ZARR_ONLY_TYPES:
        return dtype
    dt = np.dtype(dtype)
    if dt.kind == "T":
        return "string"
    if dt.kind == "O":
        return "bytes"
    return dt.str


def create(
    url_or_path: str | os.PathLike[str],
    *,
    shape: int | tuple[int, ...],
    dtype: Any,
    chunks: int | tuple[int, ...] | None = None,
    shards: tuple[int, ...] | None = None,
    compressor: str | None = "zstd",
    fill_value: Any = None,
    zarr_format: int = 3,
    attributes: dict[str, Any] | None = None,
    dimension_names: tuple[str | None, ...] | None = None,
    path: str = "",
    **store_options: Any,
) -> Array:
    """Creates an empty array (every element ``fill_value`` until written) and returns
    it open for reads and writes.

    ``dtype`` is anything ``numpy.dtype`` takes, or a Zarr v3 name (``"bfloat16"``,
    ``"string"``, ``"bytes"``); ``chunks`` defaults to about 1 MiB per chunk;
    ``shards`` (v3 only, a multiple of ``chunks``) stores chunks in shards;
    ``compressor`` is ``"zstd"`` (default), ``"blosc"``, ``"gzip"`` or ``None``.
    Store options are ``open``'s.

    Raises ``ValueError`` for an invalid layout, ``ContainsNodeError`` when a node is
    already there, ``StoreError`` when the store refuses to write.
    """
    url = os.fspath(url_or_path)
    options = dict(store_options)
    shape_t = (shape,) if isinstance(shape, int) else tuple(shape)
    if isinstance(chunks, int):
        chunks = (chunks,) * len(shape_t)
    spec = {
        "shape": [operator.index(n) for n in shape_t],
        "dtype": _dtype_name(dtype),
        "chunks": None if chunks is None else [operator.index(n) for n in chunks],
        "shards": None if shards is None else [operator.index(n) for n in shards],
        "compressor": "none" if compressor is None else compressor,
        "fill_value": _fill_json(fill_value),
        "zarr_format": zarr_format,
        "attributes": json.dumps(attributes or {}),
        "dimension_names": None if dimension_names is None else list(dimension_names),
    }
    return Array(_native.create_array(url, path, options, spec), url, options)


def create_group(
    url_or_path: str | os.PathLike[str],
    *,
    zarr_format: int = 3,
    attributes: dict[str, Any] | None = None,
    path: str = "",
    **store_options: Any,
) -> Group:
    """Creates a group (its metadata document) and returns it open."""
    url = os.fspath(url_or_path)
    options = dict(store_options)
    native = _native.create_group(url, path, options, zarr_format, json.dumps(attributes or {}))
    return Group(native, url, options)


def _wrap(native: Any, url: str, options: dict[str, Any]) -> Array | Group:
    if isinstance(native, _native.NativeArray):
        return Array(native, url, options)
    return Group(native, url, options)


def _reopen(url: str, path: str, options: dict[str, Any]) -> Array | Group:
    """What unpickling calls: the node opened again from its URL and options."""
    return open(url, path=path, **options)


def _tqdm_progress(desc: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress callback drawing a tqdm bar, and the function that closes the bar."""
    try:
        from tqdm.auto import tqdm
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("progress=True needs tqdm (pip install tqdm); pass a callable instead") from e
    bar = tqdm(desc=desc, unit="chunk")

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def _progress_callback(
    progress: Progress, desc: str
) -> tuple[Callable[[int, int], Any] | None, Callable[[], None]]:
    """The engine's callback for a ``progress`` argument (a callable, ``True`` for a
    tqdm bar, ``False``/``None`` for none) and what to call when the work ends."""
    if progress is True:
        return _tqdm_progress(desc)
    if progress is False or progress is None:
        return None, lambda: None
    return progress, lambda: None


# --- selections -----------------------------------------------------------------------


def _is_array_like(item: Any) -> bool:
    if isinstance(item, np.ndarray) and item.ndim == 0:
        return False  # a 0-d array is a scalar index, as in numpy
    return isinstance(item, (list, np.ndarray)) or (
        hasattr(item, "__array__") and not isinstance(item, (str, bytes)) and not np.isscalar(item)
    )


def _norm_int(item: Any) -> int:
    if isinstance(item, (bool, np.bool_)):
        raise SelectionError(f"a boolean scalar is not a valid index: {item!r}")
    try:
        return operator.index(item)
    except TypeError:
        raise SelectionError(f"unsupported selection item {item!r}") from None


def _norm_slice(item: slice) -> slice:
    parts = [None if p is None else _norm_int(p) for p in (item.start, item.stop, item.step)]
    if parts[2] == 0:
        raise SelectionError("slice step cannot be zero")
    return slice(*parts)


def _norm_array(item: Any) -> np.ndarray:
    a = np.asarray(item)
    if a.dtype == np.bool_:
        return np.ascontiguousarray(a)
    if a.size == 0:
        return np.zeros(a.shape, dtype=np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise SelectionError(f"index arrays must be integers or booleans, not {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.int64)


def _as_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _orthogonal_key(key: Any, what: str, allow_arrays: bool) -> tuple[Any, ...]:
    out: list[Any] = []
    for item in _as_tuple(key):
        if item is Ellipsis:
            out.append(Ellipsis)
        elif isinstance(item, slice):
            out.append(_norm_slice(item))
        elif item is None:
            raise SelectionError(f"{what}: np.newaxis (None) is not supported")
        elif _is_array_like(item):
            if not allow_arrays:
                raise SelectionError(f"{what}: only integers, slices and ... are allowed, not {type(item).__name__}")
            a = _norm_array(item)
            if a.ndim != 1:
                raise SelectionError(f"{what}: index arrays must be 1-dimensional, got shape {a.shape}")
            out.append(a)
        else:
            out.append(_norm_int(item))
    return tuple(out)


class _Read:
    """A selection ready for the engine: its mode, key, and the shape of the result."""

    __slots__ = ("mode", "key", "shape", "scalar")

    def __init__(self, mode: str, key: Any, shape: tuple[int, ...] | None = None, scalar: bool = False):
        self.mode = mode
        self.key = key
        self.shape = shape  # the result's shape when it is not the engine's (points)
        self.scalar = scalar  # numpy gives a scalar, not a 0-d array


def _vindex_read(arr: Array, key: Any) -> _Read:
    items = _as_tuple(key)
    if len(items) == 1 and _is_array_like(items[0]):
        mask = np.asarray(items[0])
        if mask.dtype == np.bool_ and mask.ndim == arr.ndim and arr.ndim > 0:
            if mask.shape != arr.shape:
                raise SelectionError(f"mask of shape {mask.shape} for an array of shape {arr.shape}")
            return _Read("mask", np.ascontiguousarray(mask.reshape(-1)))
    if len(items) != arr.ndim:
        raise SelectionError(f"vindex needs one index array per dimension: got {len(items)} for {arr.ndim}")
    arrays = []
    for item in items:
        if isinstance(item, slice) or item is Ellipsis or item is None:
            raise SelectionError(f"vindex accepts integers and integer or boolean arrays, not {item!r}")
        a = _norm_array(item) if _is_array_like(item) else np.asarray(_norm_int(item), dtype=np.int64)
        if a.dtype == np.bool_:
            if a.ndim != 1:
                raise SelectionError("vindex: a boolean array in one dimension must be 1-dimensional")
            a = np.flatnonzero(a).astype(np.int64)
        arrays.append(a)
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError as e:
        raise SelectionError(f"vindex: index arrays cannot be broadcast together: {e}") from None
    shape = arrays[0].shape if arrays else ()
    points = tuple(np.ascontiguousarray(a.reshape(-1), dtype=np.int64) for a in arrays)
    return _Read("points", points, shape=shape)


def _auto_read(arr: Array, key: Any) -> _Read:
    """``arr[key]``: numpy basic indexing; with index arrays, zarr-python's rules (all
    arrays, one per dimension, or one mask of the array's shape: vindex; otherwise
    orthogonal)."""
    items = _as_tuple(key)
    arrays = [i for i in items if _is_array_like(i)]
    if arrays:
        if len(items) == 1 and np.asarray(items[0]).dtype == np.bool_ and np.ndim(items[0]) == arr.ndim > 1:
            return _vindex_read(arr, key)
        if len(arrays) == len(items) == arr.ndim and arr.ndim > 1:
            return _vindex_read(arr, key)
        return _Read("orthogonal", _orthogonal_key(key, "selection", True))
    norm = _orthogonal_key(key, "selection", False)
    ints = sum(1 for i in norm if isinstance(i, int))
    return _Read("basic", norm, scalar=ints == arr.ndim and not any(i is Ellipsis for i in norm))


# --- arrays ----------------------------------------------------------------------------


def _record(fields: list) -> list:
    """numpy's field list from a zarr v2 structured dtype (lists where numpy wants tuples)."""
    out = []
    for field in fields:
        name, dtype, *shape = field
        dtype = _record(dtype) if isinstance(dtype, list) else dtype
        out.append((name, dtype, tuple(shape[0]) if isinstance(shape[0], list) else shape[0]) if shape else (name, dtype))
    return out


def _numpy_dtype(name: str) -> Any:
    """The numpy dtype of what reads return, from the native side's name for it: a
    numpy dtype string, ``"T"`` (variable-length strings), a JSON field list (records),
    or the name of a type numpy lacks (``"bfloat16"``, tensorstore's ``"int4"``,
    ``"float8_e4m3fn"``, ...), which is the ``ml_dtypes`` type when ml_dtypes is
    installed and else ``int8`` (2/4-bit integers, held sign-extended) or raw bytes
    (``V2``, ``V1``: the float's bit pattern)."""
    if name == "T":
        return np.dtypes.StringDType()
    if name.startswith("["):
        return np.dtype(_record(json.loads(name)))
    if name.startswith(("int2", "int4", "float8_", "float4_", "bfloat16")):
        try:
            import ml_dtypes

            return np.dtype(getattr(ml_dtypes, name))
        except (ImportError, AttributeError):
            return np.dtype("i1" if name.startswith("int") else ("V2" if name == "bfloat16" else "V1"))
    return np.dtype(name)


class Array:
    """A Zarr array. Index it like a numpy array; ``oindex``, ``vindex`` and ``blocks``
    are zarr-python's orthogonal, vectorised (coordinate/mask) and block selections."""

    def __init__(self, native: Any, url: str, options: dict[str, Any]):
        self._native = native
        self._url = url
        self._options = options
        self._dtype = _numpy_dtype(native.dtype)

    # Properties ------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """Extent of each dimension."""
        return tuple(self._native.shape)

    @property
    def ndim(self) -> int:
        return len(self._native.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of what reads return (native byte order; ``StringDType`` for
        variable-length strings, ``object`` for variable-length bytes)."""
        return self._dtype

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """Shape of a chunk (the inner chunk when sharded); ``None`` for irregular grids."""
        c = self._native.chunks
        return None if c is None else tuple(c)

    @property
    def shards(self) -> tuple[int, ...] | None:
        """Shape of a shard, or ``None`` when the array is not sharded."""
        s = self._native.shards
        return None if s is None else tuple(s)

    @property
    def cdata_shape(self) -> tuple[int, ...]:
        """Number of stored chunks (shards when sharded) along each dimension."""
        return tuple(self._native.chunk_grid_shape)

    @property
    def attrs(self) -> dict[str, Any]:
        """The user attributes (a fresh dict; changing it changes nothing stored)."""
        return self._native.attrs

    @property
    def fill_value(self) -> Any:
        """The fill value as a numpy scalar of ``dtype`` (``None`` when the metadata
        has none, as zarr v2 allows)."""
        if self._native.fill_value_json is None:
            return None
        raw = self._native.fill_value_bytes
        if self._dtype.kind == "T":
            return raw.decode("utf-8", errors="replace")
        if self._dtype == np.dtype(object):
            return raw
        return np.frombuffer(raw, dtype=self._dtype)[0]

    @property
    def dimension_names(self) -> tuple[str | None, ...] | None:
        names = self._native.dimension_names
        return None if names is None else tuple(names)

    @property
    def zarr_format(self) -> int:
        return self._native.zarr_format

    @property
    def path(self) -> str:
        """Path of the array inside its store."""
        return self._native.path

    @property
    def url(self) -> str:
        """The store's URL or path, as given to ``open``."""
        return self._url

    @property
    def oindex(self) -> _OIndex:
        """Orthogonal selection: each dimension's integers, slices, integer or boolean
        arrays, combined as an outer product."""
        return _OIndex(self)

    @property
    def vindex(self) -> _VIndex:
        """Vectorised selection: integer arrays (broadcast together) picking points, or
        one boolean mask of the array's shape."""
        return _VIndex(self)

    @property
    def blocks(self) -> _Blocks:
        """Block selection: integers and step-1 slices over chunk (shard when sharded)
        indices; integers keep their dimension."""
        return _Blocks(self)

    # Reads -----------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        return self._read(_auto_read(self, key), None)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self[...])
        return out if dtype is None else out.astype(dtype, copy=False)

    def read(self, selection: Any = Ellipsis, *, progress: Progress = None) -> Any:
        """``self[selection]``, telling ``progress(done, total)`` (chunks) as chunks
        complete, or drawing a tqdm bar when ``progress=True``. An exception the
        callback raises stops the read and is raised here."""
        return self._read(_auto_read(self, selection), progress)

    async def read_async(self, selection: Any = Ellipsis, *, progress: Progress = None) -> Any:
        """``read`` for asyncio code: runs on a worker thread (``asyncio.to_thread``);
        the engine releases the GIL, so the event loop and other reads keep running.
        Cancelling the awaiting task stops the read (within about 20 ms; requests
        already sent finish on their own)."""
        token = _native.CancelToken()
        sel = _auto_read(self, selection)
        try:
            return await asyncio.to_thread(self._read, sel, progress, token)
        except asyncio.CancelledError:
            token.cancel()
            raise

    def _read(self, sel: _Read, progress: Progress, cancel: Any = None) -> Any:
        callback, close = _progress_callback(progress, self.path or self.url)
        try:
            data, shape = self._native.read(sel.mode, sel.key, callback, cancel)
        finally:
            close()
        out = self._to_numpy(data, tuple(shape))
        if sel.shape is not None:
            out = out.reshape(sel.shape)
        if sel.scalar:
            return out[()]
        return out

    def _to_numpy(self, data: Any, shape: tuple[int, ...]) -> np.ndarray:
        if isinstance(data, list):
            if self._dtype.kind == "T":
                return np.array(data, dtype=self._dtype).reshape(shape)
            out = np.empty(len(data), dtype=object)
            out[:] = data
            return out.reshape(shape)
        # `data` is a uint8 array owning the engine's buffer: these are views of it.
        return data.view(self._dtype).reshape(shape)

    # Writes ----------------------------------------------------------------------

    def __setitem__(self, key: Any, value: Any) -> None:
        self._write(_auto_read(self, key), value)

    def write(
        self, selection: Any, value: Any, *, progress: Progress = None, write_empty_chunks: bool = False
    ) -> None:
        """``self[selection] = value``, telling ``progress(done, total)`` (stored chunks
        or shards) as they are written, or drawing a tqdm bar when ``progress=True``.
        Chunks left all fill value are deleted unless ``write_empty_chunks``."""
        self._write(_auto_read(self, selection), value, progress, write_empty_chunks)

    async def write_async(
        self, selection: Any, value: Any, *, progress: Progress = None, write_empty_chunks: bool = False
    ) -> None:
        """``write`` for asyncio code, on a worker thread; cancelling the awaiting task
        stops the write with every chunk whole (old or new content)."""
        token = _native.CancelToken()
        sel = _auto_read(self, selection)
        try:
            await asyncio.to_thread(self._write, sel, value, progress, write_empty_chunks, token)
        except asyncio.CancelledError:
            token.cancel()
            raise

    def _write(
        self,
        sel: _Read,
        value: Any,
        progress: Progress = None,
        write_empty_chunks: bool = False,
        cancel: Any = None,
    ) -> None:
        # The engine's shape of the selection; points keep the index arrays' broadcast shape
        # for the value, which the engine sees flat.
        engine_shape = tuple(self._native.selection_shape(sel.mode, sel.key))
        target = sel.shape if sel.shape is not None else engine_shape
        value = np.asarray(value)
        try:
            if self._dtype.kind in "TO":
                value = np.broadcast_to(value, target).reshape(-1)
                if self._dtype.kind == "T":
                    data: Any = [str(v) for v in value]
                else:
                    data = [bytes(v) for v in value]
            else:
                value = np.ascontiguousarray(np.broadcast_to(value.astype(self._dtype, copy=False), target))
                data = value.reshape(-1).view(np.uint8)
        except ValueError as e:
            raise SelectionError(f"cannot write a value of shape {value.shape} to a selection of shape {target}: {e}") from None
        callback, close = _progress_callback(progress, self.path or self.url)
        try:
            self._native.write(sel.mode, sel.key, data, list(engine_shape), callback, cancel, write_empty_chunks)
        finally:
            close()

    # Pickling --------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        # Opened again from its URL and options where it is unpickled (a Dask worker):
        # nothing of the engine's state crosses the process boundary.
        return (_reopen, (self._url, self.path, self._options))

    def __repr__(self) -> str:
        return f"<zarr_rs.Array {self._url!r} path={self.path!r} shape={self.shape} dtype={self._dtype}>"


class _OIndex:
    __slots__ = ("_array",)

    def __init__(self, array: Array):
        self._array = array

    def __getitem__(self, key: Any) -> Any:
        return self._array._read(_Read("orthogonal", _orthogonal_key(key, "oindex", True)), None)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._array._write(_Read("orthogonal", _orthogonal_key(key, "oindex", True)), value)


class _VIndex:
    __slots__ = ("_array",)

    def __init__(self, array: Array):
        self._array = array

    def __getitem__(self, key: Any) -> Any:
        return self._array._read(_vindex_read(self._array, key), None)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._array._write(_vindex_read(self._array, key), value)


class _Blocks:
    __slots__ = ("_array",)

    def __init__(self, array: Array):
        self._array = array

    def __getitem__(self, key: Any) -> Any:
        return self._array._read(_Read("blocks", _orthogonal_key(key, "blocks", False)), None)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._array._write(_Read("blocks", _orthogonal_key(key, "blocks", False)), value)


# --- groups ----------------------------------------------------------------------------


class Group:
    """A Zarr group: attributes and children (``group["name"]``, ``members()``)."""

    def __init__(self, native: Any, url: str, options: dict[str, Any]):
        self._native = native
        self._url = url
        self._options = options

    @property
    def attrs(self) -> dict[str, Any]:
        return self._native.attrs

    @property
    def path(self) -> str:
        return self._native.path

    @property
    def url(self) -> str:
        return self._url

    def keys(self) -> list[str]:
        """Names of the children, sorted (consolidated metadata when present, else a
        store listing, which plain HTTP cannot do: ``StoreError``)."""
        return list(self._native.children())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.keys())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except NodeNotFoundError:
            return False
        return True

    def __getitem__(self, name: str) -> Array | Group:
        """The child (or deeper descendant, ``"a/b"``) called ``name``."""
        return _wrap(self._native.child(name), self._url, self._options)

    def members(self) -> tuple[tuple[str, Array | Group], ...]:
        """``(name, node)`` for each child, as zarr-python's ``Group.members``."""
        return tuple((name, self[name]) for name in self.keys())

    def arrays(self) -> tuple[tuple[str, Array], ...]:
        return tuple((n, m) for n, m in self.members() if isinstance(m, Array))

    def groups(self) -> tuple[tuple[str, Group], ...]:
        return tuple((n, m) for n, m in self.members() if isinstance(m, Group))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self._url, self.path, self._options))

    def __repr__(self) -> str:
        return f"<zarr_rs.Group {self._url!r} path={self.path!r}>"
