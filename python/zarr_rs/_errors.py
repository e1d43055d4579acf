"""The exceptions of zarr_rs.

Each one is also a builtin exception, so code written for numpy, zarr-python or
plain files catches it without knowing zarr_rs: a missing node is a ``KeyError`` and
a ``FileNotFoundError``, a store failure an ``OSError``, a bad selection a
``ValueError`` and an ``IndexError``. Every instance has a ``key`` attribute: the
store key, path or URL the error is about, or ``None``; the message names it too.
"""

from __future__ import annotations


class ZarrError(Exception):
    """Base of every error zarr_rs raises for an array, a group or a store."""

    key: str | None = None

    def __str__(self) -> str:
        # KeyError would quote the message; every class here reads as plain text.
        return str(self.args[0]) if self.args else ""


class NodeNotFoundError(ZarrError, KeyError, FileNotFoundError):
    """No array or group at the path or URL (no zarr.json, .zarray or .zgroup)."""


class NodeTypeError(ZarrError, TypeError):
    """The node is a group where an array was needed, or the other way round."""


class ContainsNodeError(ZarrError, FileExistsError):
    """A node already exists where one was to be created."""


class StoreError(ZarrError, OSError):
    """The store failed: an I/O error, an HTTP status, a timeout, refused credentials."""


class SelectionError(ZarrError, IndexError, ValueError):
    """A selection that does not fit the array: out of bounds, a zero step, wrong
    number of dimensions, a mask of the wrong shape, a value of the wrong shape."""


class ChunkError(ZarrError, ValueError):
    """A chunk that cannot be decoded (corrupt or truncated data); ``key`` names it."""


class MetadataError(ZarrError, ValueError):
    """Metadata that is malformed or uses a data type or codec zarr_rs does not know."""


class LimitError(ZarrError, ValueError):
    """A size beyond the engine's limits (a decompression bomb, an output too large)."""


__all__ = [
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
