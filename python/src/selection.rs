//! The selections `zarr_rs/__init__.py` hands over, as the core's [`Selection`].
//!
//! Python has already normalised numpy's many spellings: a key here is a tuple whose
//! items are `int`, `slice`, `Ellipsis`, 1-d C-contiguous `int64` arrays or 1-d
//! `bool` arrays, so this stays a plain translation.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PySlice, PyTuple};
use zarr_blocking::{DimSelector, Selection};

/// Builds the selection of `mode`: `"basic"`/`"orthogonal"` (a tuple of per-dimension
/// selectors), `"blocks"` (the same over chunk indices), `"points"` (a tuple of equally
/// long `int64` arrays, one per dimension) or `"mask"` (a flat `bool` array over the
/// whole array in C order).
///
/// # Errors
/// `ValueError` for an unknown mode, `TypeError` for an item of another type.
pub(crate) fn parse(mode: &str, key: &Bound<'_, PyAny>) -> PyResult<Selection> {
    match mode {
        "basic" | "orthogonal" => Ok(Selection::Orthogonal(dims(key)?)),
        "blocks" => Ok(Selection::Blocks(dims(key)?)),
        "points" => {
            let tuple = key.cast::<PyTuple>().map_err(|_| PyTypeError::new_err("points: expected a tuple"))?;
            let coords = tuple.iter().map(|c| int_array(&c)).collect::<PyResult<Vec<_>>>()?;
            Ok(Selection::Points(coords))
        }
        "mask" => {
            let mask: PyReadonlyArray1<'_, bool> = key.extract()?;
            Ok(Selection::Mask(mask.as_array().to_vec()))
        }
        other => Err(PyValueError::new_err(format!("unknown selection mode {other:?}"))),
    }
}

fn dims(key: &Bound<'_, PyAny>) -> PyResult<Vec<DimSelector>> {
    let tuple = key.cast::<PyTuple>().map_err(|_| PyTypeError::new_err("expected a tuple of selectors"))?;
    tuple.iter().map(|item| dim(&item)).collect()
}

fn dim(item: &Bound<'_, PyAny>) -> PyResult<DimSelector> {
    let py = item.py();
    if item.is(py.Ellipsis()) {
        return Ok(DimSelector::Ellipsis);
    }
    if let Ok(slice) = item.cast::<PySlice>() {
        let part = |name: &str| -> PyResult<Option<i64>> { slice.getattr(name)?.extract() };
        return Ok(DimSelector::Slice { start: part("start")?, stop: part("stop")?, step: part("step")?.unwrap_or(1) });
    }
    if let Ok(index) = item.extract::<i64>() {
        return Ok(DimSelector::Index(index));
    }
    if let Ok(mask) = item.extract::<PyReadonlyArray1<'_, bool>>() {
        return Ok(DimSelector::Mask(mask.as_array().to_vec()));
    }
    Ok(DimSelector::Array(int_array(item)?))
}

fn int_array(item: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    let array: PyReadonlyArray1<'_, i64> = item.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "selector {} is not an int, slice, int64 or bool array",
            item.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        ))
    })?;
    Ok(array.as_array().to_vec())
}
