//! `zarr_rs._native`: the Rust half of the `zarr_rs` Python package.
//!
//! This module is deliberately small. It opens nodes through `zarr-blocking`, turns
//! already-normalised selections into the core's [`Selection`], runs reads and writes
//! with the GIL released and hands the engine's output buffer to numpy without a
//! copy. Everything numpy-shaped that is easier to say in Python (parsing `arr[...]`
//! keys, broadcasting, the `oindex`/`vindex`/`blocks` helpers, pickling, asyncio)
//! lives in `zarr_rs/__init__.py`, which is the only caller of this module.

mod create;
mod errors;
mod options;
mod run;
mod selection;

use std::sync::Arc;

use numpy::{PyArray1, PyReadonlyArray1, PyReadwriteArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use zarr_blocking::proto::ArrayBytes;
use zarr_blocking::proto::Endian;
use zarr_blocking::{Array, DataType, Group, NdArray, Node, OpenOptions, ReadOptions, WriteOptions};

use crate::errors::to_py;
use crate::options::StoreOptions;
use crate::run::{CancelToken, Work};

/// The engine's allocations (decoded chunks, output buffers) go to mimalloc, as in
/// the `zarr` binary: it keeps freed memory for reuse, where the interpreter's glibc
/// malloc hands every large chunk buffer back to the kernel and faults in fresh zeroed
/// pages for the next one. Only this module's Rust code uses it; numpy arrays that own
/// an engine buffer free it through Rust, hence through mimalloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An open array: the engine's [`Array`] plus the read concurrency the caller asked for.
#[pyclass(module = "zarr_rs._native", frozen)]
struct NativeArray {
    array: Array,
    concurrency: Option<usize>,
}

/// An open group.
#[pyclass(module = "zarr_rs._native", frozen)]
struct NativeGroup {
    group: Group,
    concurrency: Option<usize>,
}

/// Opens the node at `path` in the store `url` names, with `options` (a dict of the
/// store options `zarr_rs.open` documents). Returns a `NativeArray` or `NativeGroup`.
#[pyfunction]
#[pyo3(signature = (url, path, options))]
fn open_node(py: Python<'_>, url: &str, path: &str, options: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let options = StoreOptions::from_py(options)?;
    let concurrency = options.concurrency;
    let node = py
        .detach(|| -> Result<Node, zarr_blocking::Error> {
            let store = zarr_blocking::store_for_url_with(url, options.http, &options.s3)?;
            Node::open_with(store, path, Arc::new(OpenOptions::default()))
        })
        .map_err(|e| to_py(py, e))?;
    wrap_node(py, node, concurrency)
}

pub(crate) fn wrap_node(py: Python<'_>, node: Node, concurrency: Option<usize>) -> PyResult<Py<PyAny>> {
    Ok(match node {
        Node::Array(array) => Py::new(py, NativeArray { array, concurrency })?.into_any(),
        Node::Group(group) => Py::new(py, NativeGroup { group, concurrency })?.into_any(),
    })
}

/// Python's value of a JSON document (attributes, fill values), through `json.loads`
/// so that every JSON shape maps the way Python users expect.
fn json_to_py(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// The numpy dtype string (native byte order, which is how the engine hands out
/// elements) of a data type: the core's v2 name, except `"T"` for variable-length
/// strings (the Python side makes them `StringDType`), a JSON field list for records and
/// the `ml_dtypes` name of bfloat16 and tensorstore's small types; bytes,
/// which numpy cannot hold inline, are objects (`"|O"`).
fn numpy_dtype(dtype: &DataType) -> String {
    const NATIVE: Endian = if cfg!(target_endian = "big") { Endian::Big } else { Endian::Little };
    match dtype {
        DataType::String => "T".into(),
        // Records: the v2 field list as JSON, which the Python side turns into a numpy
        // structured dtype (each field in its declared byte order: records are not swapped).
        DataType::Structured(s) => s.to_v2_json().map_or_else(|_| format!("V{}", s.size()), |v| v.to_string()),
        // Types numpy lacks (bfloat16, tensorstore's sub-byte and 8-bit types): their
        // ml_dtypes name.
        DataType::BFloat16 | DataType::Int2 | DataType::Int4 | DataType::MiniFloat(_) => dtype.name(),
        // The core's numpy (v2) name, in native order; raw bytes of the type's size,
        // or objects, for a type v2 cannot name.
        other => other
            .to_v2_str(Some(NATIVE))
            .unwrap_or_else(|_| other.size().map_or_else(|| "O".into(), |n| format!("V{n}"))),
    }
}

/// The output of a read as Python sees it: a flat `uint8` numpy array that owns the
/// engine's buffer (fixed-size types; the caller views and reshapes it, no copy) or a
/// list of `str`/`bytes` (variable-length types).
fn output_to_py(py: Python<'_>, out: NdArray) -> PyResult<(Py<PyAny>, Vec<u64>)> {
    let NdArray { dtype, shape, data } = out;
    let data = match data {
        ArrayBytes::Fixed(bytes) => PyArray1::<u8>::from_vec(py, bytes).into_any().unbind(),
        ArrayBytes::Variable(items) if dtype == DataType::String => {
            let mut strings = Vec::with_capacity(items.len());
            for item in items {
                let text = String::from_utf8(item).map_err(|e| {
                    to_py(
                        py,
                        zarr_blocking::ProtoError::DataType {
                            dtype: dtype.to_string(),
                            reason: format!("element is not valid UTF-8: {e}"),
                        }
                        .into(),
                    )
                })?;
                strings.push(PyString::new(py, &text));
            }
            PyList::new(py, strings)?.into_any().unbind()
        }
        ArrayBytes::Variable(items) => PyList::new(py, items.iter().map(|b| PyBytes::new(py, b)))?.into_any().unbind(),
    };
    Ok((data, shape))
}

#[pymethods]
impl NativeArray {
    /// Extent of each dimension.
    #[getter]
    fn shape(&self) -> Vec<u64> {
        self.array.shape().to_vec()
    }

    /// The numpy dtype string of the elements as reads return them.
    #[getter]
    fn dtype(&self) -> String {
        numpy_dtype(self.array.data_type())
    }

    /// The data type's Zarr name (`"float32"`, `"string"`, `"<M8[ns]"` for v2, ...).
    #[getter]
    fn zarr_dtype(&self) -> String {
        self.array.data_type().to_string()
    }

    /// Shape of the decoded unit (the inner chunk of a sharded array); `None` for an
    /// irregular grid.
    #[getter]
    fn chunks(&self) -> Option<Vec<u64>> {
        self.array.chunk_shape()
    }

    /// Shape of a shard, `None` when the array is not sharded.
    #[getter]
    fn shards(&self) -> Option<Vec<u64>> {
        self.array.shard_shape()
    }

    /// Number of stored chunks (shards when sharded) along each dimension.
    #[getter]
    fn chunk_grid_shape(&self) -> Vec<u64> {
        self.array.chunk_grid_shape()
    }

    /// The user attributes, as Python values.
    #[getter]
    fn attrs(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &serde_json::Value::Object(self.array.attributes().clone()))
    }

    /// The fill value as its metadata spells it (JSON: numbers, `"NaN"`, base64, ...).
    #[getter]
    fn fill_value_json(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &self.array.fill_value())
    }

    /// The fill value's element bytes (native byte order; the UTF-8 or raw bytes of a
    /// variable-length one), which Python views as the dtype.
    #[getter]
    fn fill_value_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.array.metadata().fill_value.0)
    }

    /// Names of the dimensions (`None` for an unnamed one), `None` when absent.
    #[getter]
    fn dimension_names(&self) -> Option<Vec<Option<String>>> {
        self.array.dimension_names().map(<[_]>::to_vec)
    }

    /// 2 or 3.
    #[getter]
    fn zarr_format(&self) -> u8 {
        match self.array.zarr_format() {
            zarr_blocking::ZarrFormat::V2 => 2,
            _ => 3,
        }
    }

    /// Path of the array inside its store.
    #[getter]
    fn path(&self) -> String {
        self.array.path().to_string()
    }

    /// Shape of what reading this selection gives.
    ///
    /// # Errors
    /// `SelectionError` for a selection that does not fit the array.
    fn selection_shape(&self, py: Python<'_>, mode: &str, key: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
        let selection = selection::parse(mode, key)?;
        let meta = self.array.metadata();
        selection
            .resolve(&meta.shape, &meta.chunk_grid.dims())
            .map(|r| r.output_shape())
            .map_err(|e| to_py(py, e.into()))
    }

    /// Reads a selection (see `selection::parse` for `mode` and `key`) with the GIL
    /// released, checking for Ctrl-C every 50 ms and stopping when `cancel` (a
    /// `CancelToken`) is set. Returns `(data, shape)`.
    ///
    /// # Errors
    /// The `zarr_rs` exception of the engine's error; `KeyboardInterrupt` (or whatever
    /// a signal handler raised) when interrupted, after the read has stopped; what the
    /// progress callback raised; `RuntimeError` when the token cancelled it.
    #[pyo3(signature = (mode, key, progress=None, cancel=None))]
    fn read(
        &self,
        py: Python<'_>,
        mode: &str,
        key: &Bound<'_, PyAny>,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
    ) -> PyResult<(Py<PyAny>, Vec<u64>)> {
        let selection = selection::parse(mode, key)?;
        let out = run::run(py, Work::Read, progress, cancel.as_deref(), |progress, cancel| {
            let options =
                ReadOptions { concurrency: self.concurrency, progress, cancel: Some(cancel), ..ReadOptions::default() };
            self.array.read_with(&selection, &options)
        })?;
        output_to_py(py, out)
    }

    /// Reads a selection of a fixed-size type straight into `out`, a C-contiguous
    /// `uint8` array of exactly the selection's bytes (native-order elements, C order),
    /// with the GIL released: no buffer of the engine's own and no copy afterwards (the
    /// zarr-python pipeline decodes into zarr-python's output this way).
    ///
    /// # Errors
    /// As for `read`; `TypeError` when `out` is not contiguous; the engine's buffer
    /// size error when `out` does not fit the selection.
    fn read_into(
        &self,
        py: Python<'_>,
        mode: &str,
        key: &Bound<'_, PyAny>,
        mut out: PyReadwriteArray1<'_, u8>,
    ) -> PyResult<()> {
        let selection = selection::parse(mode, key)?;
        let bytes = out.as_slice_mut().map_err(|_| PyTypeError::new_err("read_into needs a contiguous uint8 array"))?;
        run::run(py, Work::Read, None, None, |progress, cancel| {
            let options =
                ReadOptions { concurrency: self.concurrency, progress, cancel: Some(cancel), ..ReadOptions::default() };
            self.array.read_into_with(&selection, bytes, &options)
        })
    }

    /// Writes `data` (a flat `uint8` array of native-order elements, or a list of
    /// `str`/`bytes` for variable-length types) of `shape` into a selection, with the
    /// GIL released and the same Ctrl-C, cancel and progress handling as `read`.
    /// `write_empty_chunks` stores chunks that are all fill value instead of deleting
    /// them.
    ///
    /// # Errors
    /// The `zarr_rs` exception of the engine's error (`SelectionError` for a source of
    /// the wrong shape); `KeyboardInterrupt` when interrupted, after the write has
    /// stopped with every chunk whole (old or new content).
    #[allow(clippy::too_many_arguments)] // the Python signature, keyword arguments
    #[pyo3(signature = (mode, key, data, shape, progress=None, cancel=None, write_empty_chunks=false))]
    fn write(
        &self,
        py: Python<'_>,
        mode: &str,
        key: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        shape: Vec<u64>,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
        write_empty_chunks: bool,
    ) -> PyResult<()> {
        let selection = selection::parse(mode, key)?;
        let dtype = self.array.data_type().clone();
        let data = if dtype.is_variable() {
            let items: Vec<Vec<u8>> = if dtype == DataType::String {
                data.extract::<Vec<String>>()?.into_iter().map(String::into_bytes).collect()
            } else {
                data.extract::<Vec<Vec<u8>>>()?
            };
            ArrayBytes::Variable(items)
        } else {
            let bytes: PyReadonlyArray1<'_, u8> = data.extract()?;
            if !bytes.is_contiguous() {
                return Err(PyTypeError::new_err("write data must be a contiguous uint8 array"));
            }
            ArrayBytes::Fixed(bytes.as_array().to_vec())
        };
        let source = NdArray { dtype, shape, data };
        run::run(py, Work::Write, progress, cancel.as_deref(), |progress, cancel| {
            let options = WriteOptions {
                concurrency: self.concurrency,
                write_empty_chunks,
                progress,
                cancel: Some(cancel),
                ..WriteOptions::default()
            };
            self.array.write_with(&selection, source, &options)
        })
    }

    fn __repr__(&self) -> String {
        format!("<zarr_rs array {:?} {:?} {}>", self.array.path(), self.array.shape(), self.array.data_type())
    }
}

#[pymethods]
impl NativeGroup {
    /// The user attributes, as Python values.
    #[getter]
    fn attrs(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &serde_json::Value::Object(self.group.attributes().clone()))
    }

    /// Path of the group inside its store.
    #[getter]
    fn path(&self) -> String {
        self.group.path().to_string()
    }

    /// Names of the children (from consolidated metadata when there is some, else by
    /// listing the store), sorted.
    ///
    /// # Errors
    /// `StoreError` when the store cannot list (plain HTTP without consolidated metadata).
    fn children(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| self.group.children()).map_err(|e| to_py(py, e))
    }

    /// Opens the child (or deeper descendant, `a/b`) at `relative`.
    ///
    /// # Errors
    /// `NodeNotFoundError` when there is none.
    fn child(&self, py: Python<'_>, relative: &str) -> PyResult<Py<PyAny>> {
        let node = py.detach(|| self.group.child(relative)).map_err(|e| to_py(py, e))?;
        wrap_node(py, node, self.concurrency)
    }

    fn __repr__(&self) -> String {
        format!("<zarr_rs group {:?}>", self.group.path())
    }
}

/// The extension module; `zarr_rs/__init__.py` is its public face.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeArray>()?;
    m.add_class::<NativeGroup>()?;
    m.add_class::<CancelToken>()?;
    m.add_function(wrap_pyfunction!(open_node, m)?)?;
    m.add_function(wrap_pyfunction!(create::create_array, m)?)?;
    m.add_function(wrap_pyfunction!(create::create_group, m)?)?;
    Ok(())
}
