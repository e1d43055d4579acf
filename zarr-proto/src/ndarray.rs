//! An n-dimensional array in memory: data type, shape and C-order elements.

use alloc::string::String;
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
    /// `n` copies of `fill` for `dtype`; a size the allocator refuses is an error, not an abort.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] when the memory cannot be reserved.
    pub fn filled(dtype: &DataType, fill: &FillValue, n: usize) -> Result<ArrayBytes> {
        let refused =
            |bytes: usize| Error::LimitExceeded { what: "output allocation", requested: bytes as u64, limit: 0 };
        if dtype.is_variable() {
            let mut v: Vec<Vec<u8>> = Vec::new();
            v.try_reserve_exact(n).map_err(|_| refused(n.saturating_mul(core::mem::size_of::<Vec<u8>>())))?;
            v.resize(n, fill.0.clone());
            return Ok(ArrayBytes::Variable(v));
        }
        let bytes = n.checked_mul(fill.0.len()).ok_or_else(|| refused(usize::MAX))?;
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve_exact(bytes).map_err(|_| refused(bytes))?;
        if fill.0.iter().all(|&b| b == 0) {
            // The reservation proved the size is possible; a zeroed allocation maps zero
            // pages lazily instead of writing every byte on this thread.
            drop(v);
            return Ok(ArrayBytes::Fixed(alloc::vec![0u8; bytes]));
        } else if bytes > 0 {
            // Doubling copies: log2(n) memcpys instead of n small ones.
            v.extend_from_slice(&fill.0);
            while v.len() < bytes {
                let more = v.len().min(bytes - v.len());
                v.extend_from_within(..more);
            }
        }
        Ok(ArrayBytes::Fixed(v))
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

    /// An array of `values` (C order) of data type `dtype` and shape `shape`: the
    /// source of a write from a slice of elements. Both drivers' `write_elements` build
    /// their source here, so the checks and their errors are the same.
    ///
    /// # Errors
    /// [`Error::DataType`] when `T` is not `dtype`'s element type;
    /// [`Error::SourceShape`] when there are not exactly as many values as `shape` has
    /// elements (the shape's product computed with overflow checks).
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::{DataType, Error, NdArray};
    /// let a = NdArray::from_elements(&DataType::UInt16, vec![2, 2], &[1u16, 2, 3, 4])?;
    /// assert_eq!(a.to_vec::<u16>()?, [1, 2, 3, 4]);
    /// let short = NdArray::from_elements(&DataType::UInt16, vec![2, 2], &[1u16, 2, 3]);
    /// assert!(matches!(short, Err(Error::SourceShape { .. })));
    /// assert!(NdArray::from_elements(&DataType::Int16, vec![1], &[1u16]).is_err());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_elements<T: Element + bytemuck::Pod>(
        dtype: &DataType,
        shape: Vec<u64>,
        values: &[T],
    ) -> Result<NdArray> {
        if !T::matches(dtype) {
            return Err(Error::DataType {
                dtype: dtype.name(),
                reason: alloc::format!("elements to write are not {}", core::any::type_name::<T>()),
            });
        }
        if shape.iter().try_fold(1u64, |a, &n| a.checked_mul(n)) != Some(values.len() as u64) {
            return Err(Error::SourceShape { expected: shape, got: alloc::vec![values.len() as u64] });
        }
        let data = ArrayBytes::Fixed(bytemuck::cast_slice::<T, u8>(values).to_vec());
        Ok(NdArray { dtype: dtype.clone(), shape, data })
    }

    /// The elements as a vector of `T`.
    ///
    /// # Errors
    /// [`Error::DataType`] when `T` is not the array's data type.
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::DataType;
    /// use zarr_proto::{ArrayBytes, NdArray};
    /// let a = NdArray { dtype: DataType::UInt16, shape: vec![2], data: ArrayBytes::Fixed([1u16, 2].iter().flat_map(|v| v.to_ne_bytes()).collect()) };
    /// assert_eq!(a.to_vec::<u16>().unwrap(), vec![1, 2]);
    /// assert!(a.to_vec::<i16>().is_err());
    /// ```
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if !T::matches(&self.dtype) {
            return Err(Error::DataType {
                dtype: self.dtype.name(),
                reason: alloc::format!("elements cannot be read as {}", core::any::type_name::<T>()),
            });
        }
        Ok(self.fixed_bytes()?.chunks_exact(core::mem::size_of::<T>()).map(T::from_ne_slice).collect())
    }

    /// The elements as strings, for string and byte-string data types.
    ///
    /// Variable-length strings ([`DataType::String`]) must be UTF-8. Fixed-length
    /// UTF-32 ([`DataType::FixedUtf32`]) and byte strings ([`DataType::FixedBytes`], read
    /// as lossy UTF-8) lose their trailing NULs, as numpy shows them.
    ///
    /// # Errors
    /// When the data type is not one of these, an element is not valid UTF-8 or
    /// UTF-32, or the data does not fit the data type.
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::DataType;
    /// use zarr_proto::{ArrayBytes, NdArray};
    /// let a = NdArray { dtype: DataType::FixedBytes(3), shape: vec![2], data: ArrayBytes::Fixed(b"ab\0xyz".to_vec()) };
    /// assert_eq!(a.to_strings().unwrap(), ["ab", "xyz"]);
    /// let utf32: Vec<u8> = "hé\0".chars().flat_map(|c| (c as u32).to_ne_bytes()).collect();
    /// let a = NdArray { dtype: DataType::FixedUtf32(3), shape: vec![1], data: ArrayBytes::Fixed(utf32) };
    /// assert_eq!(a.to_strings().unwrap(), ["hé"]);
    /// ```
    pub fn to_strings(&self) -> Result<Vec<String>> {
        let err = |reason: &str| Error::DataType { dtype: self.dtype.name(), reason: reason.into() };
        let trim = |b: &[u8], unit: usize| -> usize {
            let mut end = b.len();
            while end >= unit && b[end - unit..end].iter().all(|&x| x == 0) {
                end -= unit;
            }
            end
        };
        let (unit, size) = match (&self.dtype, &self.data) {
            (DataType::String, ArrayBytes::Variable(v)) => {
                return v
                    .iter()
                    .map(|b| String::from_utf8(b.clone()).map_err(|_| err("element is not valid UTF-8")))
                    .collect();
            }
            (DataType::FixedBytes(n), ArrayBytes::Fixed(_)) => (1, *n),
            (DataType::FixedUtf32(n), ArrayBytes::Fixed(_)) => (4, n.checked_mul(4).ok_or_else(|| err("too long"))?),
            _ => return Err(err("not a string or fixed-length byte string array")),
        };
        let bytes = self.fixed_bytes()?;
        if size == 0 {
            // Zero-length strings: as many empty strings as there are elements.
            let n = usize::try_from(self.num_elements()).map_err(|_| err("too many elements"))?;
            let mut out = Vec::new();
            out.try_reserve_exact(n).map_err(|_| err("too many elements"))?;
            out.resize(n, String::new());
            return Ok(out);
        }
        if bytes.len() % size != 0 {
            return Err(err("data is not a whole number of elements"));
        }
        bytes
            .chunks_exact(size)
            .map(|element| {
                let element = &element[..trim(element, unit)];
                if unit == 1 {
                    return Ok(String::from_utf8_lossy(element).into_owned());
                }
                element
                    .chunks_exact(4)
                    .map(|c| {
                        char::from_u32(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                            .ok_or_else(|| err("element is not valid UTF-32"))
                    })
                    .collect()
            })
            .collect()
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

/// A Rust type that elements of a fixed-size data type can be read as.
pub trait Element: Copy {
    /// Whether `dtype`'s elements have this type's layout and meaning.
    fn matches(dtype: &DataType) -> bool;
    /// Reads one element from native-order bytes of exactly `size_of::<Self>()`.
    fn from_ne_slice(bytes: &[u8]) -> Self;
}

macro_rules! element {
    ($($t:ty => $($dt:pat_param)|+ ,)*) => {$(
        impl Element for $t {
            fn matches(dtype: &DataType) -> bool {
                matches!(dtype, $($dt)|+)
            }
            fn from_ne_slice(bytes: &[u8]) -> Self {
                let mut a = [0u8; core::mem::size_of::<$t>()];
                a.copy_from_slice(bytes);
                <$t>::from_ne_bytes(a)
            }
        }
    )*};
}

element! {
    u8 => DataType::UInt8,
    u16 => DataType::UInt16,
    u32 => DataType::UInt32,
    u64 => DataType::UInt64,
    i8 => DataType::Int8,
    i16 => DataType::Int16,
    i32 => DataType::Int32,
    i64 => DataType::Int64 | DataType::DateTime64 { .. } | DataType::TimeDelta64 { .. },
    f32 => DataType::Float32,
    f64 => DataType::Float64,
}

impl Element for bool {
    fn matches(dtype: &DataType) -> bool {
        matches!(dtype, DataType::Bool)
    }
    fn from_ne_slice(bytes: &[u8]) -> Self {
        bytes.first().is_some_and(|&b| b != 0)
    }
}

impl Element for half::f16 {
    fn matches(dtype: &DataType) -> bool {
        matches!(dtype, DataType::Float16)
    }
    fn from_ne_slice(bytes: &[u8]) -> Self {
        half::f16::from_ne_bytes([bytes[0], bytes[1]])
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    fn utf32(strings: &[&str], n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for s in strings {
            let mut cps: Vec<u32> = s.chars().map(u32::from).collect();
            cps.resize(n, 0);
            out.extend(cps.iter().flat_map(|c| c.to_ne_bytes()));
        }
        out
    }

    #[test]
    fn fixed_utf32_strings_lose_trailing_nuls() {
        let a = NdArray {
            dtype: DataType::FixedUtf32(4),
            shape: vec![2, 2],
            data: ArrayBytes::Fixed(utf32(&["a", "héé", "", "\u{1F600}bcd"], 4)),
        };
        assert_eq!(a.to_strings().unwrap(), ["a", "héé", "", "\u{1F600}bcd"]);
        // An embedded NUL stays, as in numpy; only trailing ones go.
        let a =
            NdArray { dtype: DataType::FixedUtf32(3), shape: vec![1], data: ArrayBytes::Fixed(utf32(&["a\0b"], 3)) };
        assert_eq!(a.to_strings().unwrap(), ["a\0b"]);
        let bad = NdArray { dtype: DataType::FixedUtf32(1), shape: vec![1], data: ArrayBytes::Fixed(vec![0xff; 4]) };
        assert!(bad.to_strings().is_err());
    }

    #[test]
    fn fixed_bytes_are_lossy_utf8() {
        let a = NdArray {
            dtype: DataType::FixedBytes(3),
            shape: vec![4],
            data: ArrayBytes::Fixed(b"ab\0\0\0\0a\0b\xff\0\0".to_vec()),
        };
        assert_eq!(a.to_strings().unwrap(), ["ab", "", "a\0b", "\u{FFFD}"]);
        let torn = NdArray { dtype: DataType::FixedBytes(3), shape: vec![1], data: ArrayBytes::Fixed(vec![1; 4]) };
        assert!(torn.to_strings().is_err());
    }

    #[test]
    fn zero_length_and_other_types() {
        let a = NdArray { dtype: DataType::FixedBytes(0), shape: vec![2], data: ArrayBytes::Fixed(vec![]) };
        assert_eq!(a.to_strings().unwrap(), ["", ""]);
        let a = NdArray { dtype: DataType::String, shape: vec![1], data: ArrayBytes::Variable(vec![b"x".to_vec()]) };
        assert_eq!(a.to_strings().unwrap(), ["x"]);
        let a = NdArray { dtype: DataType::UInt8, shape: vec![1], data: ArrayBytes::Fixed(vec![1]) };
        assert!(a.to_strings().is_err());
    }
}
