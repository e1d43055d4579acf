//! Zarr v3: `zarr.json` for arrays and groups (stub: being implemented).
