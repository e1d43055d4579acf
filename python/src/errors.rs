//! The engine's errors as the exceptions `zarr_rs/_errors.py` defines.
//!
//! The classes live in Python because several of them have two builtin bases
//! (`StoreError(ZarrError, OSError)`, `NodeNotFoundError(ZarrError, KeyError,
//! FileNotFoundError)`), which pyo3's `create_exception!` cannot express; Rust looks
//! them up by name when an error happens (rare, so no caching).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use zarr_blocking::{Error, ProtoError};

/// The `zarr_rs` exception for `err`, with the engine's message (which names the key)
/// and, where there is one, the key or path as the exception's `key` attribute.
pub(crate) fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    let (class, key): (&str, Option<String>) = match &err {
        Error::NotFound { path } => ("NodeNotFoundError", Some(path.clone())),
        Error::WrongNodeType { path, .. } => ("NodeTypeError", Some(path.clone())),
        Error::AlreadyExists { path } => ("ContainsNodeError", Some(path.clone())),
        Error::Store(e) => ("StoreError", Some(e.key().to_string())),
        Error::Io { .. } => ("StoreError", None),
        Error::Cancelled => ("ZarrError", None),
        Error::Proto(e) => match e {
            ProtoError::NotFound { path } => ("NodeNotFoundError", Some(path.clone())),
            ProtoError::Selection(_)
            | ProtoError::ChunkIndex { .. }
            | ProtoError::SourceShape { .. }
            | ProtoError::BufferSize { .. } => ("SelectionError", None),
            ProtoError::Chunk { key, .. } => ("ChunkError", Some(key.clone())),
            ProtoError::Codec { .. } => ("ChunkError", None),
            ProtoError::InvalidMetadata { key, .. } => ("MetadataError", Some(key.clone())),
            ProtoError::Unsupported { .. } | ProtoError::DataType { .. } => ("MetadataError", None),
            ProtoError::LimitExceeded { .. } => ("LimitError", None),
            ProtoError::Store { key, .. } | ProtoError::WriteConflict { key, .. } => ("StoreError", Some(key.clone())),
            _ => ("ZarrError", None),
        },
        _ => ("ZarrError", None),
    };
    build(py, class, &message, key).unwrap_or_else(|lookup| {
        // The package is broken (no _errors module): say so, with the original message.
        PyRuntimeError::new_err(format!("{message} (and zarr_rs._errors failed: {lookup})"))
    })
}

fn build(py: Python<'_>, class: &str, message: &str, key: Option<String>) -> PyResult<PyErr> {
    let class = py.import("zarr_rs._errors")?.getattr(class)?;
    let exc = class.call1((message,))?;
    exc.setattr("key", key)?;
    Ok(PyErr::from_value(exc))
}
