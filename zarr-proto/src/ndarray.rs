//! An n-dimensional array in memory: data type, shape and C-order elements.

use alloc::vec::Vec;

use crate::dtype::{DataType, FillValue};
use crate::error::{Error, Result};

/// The elements of an array or chunk in C order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrayBytes {
    /// Fixed-size elements packed back to back, native byte order.
    Fixed(Vec<u8>),
    /// Variable-length elements, one byte string each.
    Variable(Vec<Vec<u8>>),
}

impl ArrayBytes {
    /// `n` copies of `fill` for `dtype`.
    pub fn filled(dtype: &DataType, fill: &FillValue, n: usize) -> ArrayBytes {
        if dtype.is_variable() {
            ArrayBytes::Variable(alloc::vec![fill.0.clone(); n])
        } else if fill.0.iter().all(|&b| b == 0) {
            ArrayBytes::Fixed(alloc::vec![0u8; n * fill.0.len()])
        } else {
            ArrayBytes::Fixed(fill.0.repeat(n))
        }
    }

    /// Number of elements, given the element size for fixed-size data.
    pub fn len(&self, item_size: usize) -> usize {
        match self {
            ArrayBytes::Fixed(b) => b.len().checked_div(item_size).unwrap_or(0),
            ArrayBytes::Variable(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        match self {
            ArrayBytes::Fixed(b) => b.is_empty(),
            ArrayBytes::Variable(v) => v.is_empty(),
        }
    }
}

/// An n-dimensional array: data type, shape and C-order elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdArray {
    /// Element type.
    pub dtype: DataType,
    /// Extent of each dimension (empty for a 0-d array).
    pub shape: Vec<u64>,
    /// The elements, C order.
    pub data: ArrayBytes,
}

impl NdArray {
    /// Number of elements (product of the shape; 1 for 0-d).
    pub fn num_elements(&self) -> u64 {
        self.shape.iter().product()
    }

    /// The fixed-size element bytes, or an error for variable-length data.
    pub fn fixed_bytes(&self) -> Result<&[u8]> {
        match &self.data {
            ArrayBytes::Fixed(b) => Ok(b),
            ArrayBytes::Variable(_) => Err(Error::DataType {
                dtype: self.dtype.name(),
                reason: "variable-length data has no fixed-size byte view".into(),
            }),
        }
    }
}
