//! Zarr v2: `.zarray`, `.zgroup`, `.zattrs` and consolidated `.zmetadata` (stub: being implemented).
