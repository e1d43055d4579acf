//! Element-wise comparison of decoded data with numpy's answers.
//!
//! Both sides are brought to native byte order and C order first. Floating-point
//! elements compare equal when their bits are equal or both are NaN (of any payload);
//! complex numbers compare each half that way. Variable-length strings compare as
//! byte strings (the expected side comes from a fixed-width `U`/`S` `.npy`).

use zarr_proto::DataType;
use zarr_proto::{ArrayBytes, NdArray};

use crate::npy::{ByteOrder, Descr, Npy};

/// Elements in C order, native byte order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elements {
    /// Fixed-size elements back to back.
    Fixed {
        /// Bytes per element.
        item: usize,
        /// The element bytes.
        bytes: Vec<u8>,
    },
    /// One byte string per element (UTF-8 for strings).
    Variable(Vec<Vec<u8>>),
}

impl Elements {
    /// The elements of an `.npy`; `variable` turns `U`/`S` arrays into byte strings.
    ///
    /// # Errors
    /// When `variable` is asked of a dtype that is neither `U` nor `S`.
    pub fn from_npy(npy: &Npy, variable: bool) -> Result<Elements, String> {
        let npy = npy.to_native_c_order();
        if variable {
            return match npy.descr.kind {
                'U' => Ok(Elements::Variable(npy.strings()?.into_iter().map(String::into_bytes).collect())),
                'S' => Ok(Elements::Variable(npy.byte_strings()?)),
                _ => Err(format!("expected values of a variable-length array stored as {}", npy.descr)),
            };
        }
        Ok(Elements::Fixed { item: npy.descr.itemsize, bytes: npy.data })
    }

    /// Wraps decoded chunk or array bytes.
    pub fn from_array_bytes(data: ArrayBytes, item: usize) -> Elements {
        match data {
            ArrayBytes::Fixed(bytes) => Elements::Fixed { item, bytes },
            ArrayBytes::Variable(v) => Elements::Variable(v),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Elements::Fixed { item: 0, .. } => 0,
            Elements::Fixed { item, bytes } => bytes.len() / item,
            Elements::Variable(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`, if it exists.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            Elements::Fixed { item, bytes } => bytes.get(i * item..(i + 1) * item),
            Elements::Variable(v) => v.get(i).map(Vec::as_slice),
        }
    }
}

/// Whether two elements of `dtype` (native byte order) are equal, NaN equal to NaN.
pub fn elements_equal(dtype: &DataType, a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    if a.len() != b.len() {
        return false;
    }
    match dtype {
        DataType::Complex64 | DataType::Complex128 => {
            let half = a.len() / 2;
            let part = if half == 4 { DataType::Float32 } else { DataType::Float64 };
            elements_equal(&part, &a[..half], &b[..half]) && elements_equal(&part, &a[half..], &b[half..])
        }
        _ => is_nan(dtype, a) && is_nan(dtype, b),
    }
}

/// Whether `bytes` (native byte order) is a NaN of the floating-point type `dtype`.
pub fn is_nan(dtype: &DataType, bytes: &[u8]) -> bool {
    match dtype {
        DataType::Float16 => is_nan_bits(bytes, 0x7c00, 0x03ff),
        DataType::BFloat16 => is_nan_bits(bytes, 0x7f80, 0x007f),
        DataType::Float32 => is_nan_bits(bytes, 0x7f80_0000, 0x007f_ffff),
        DataType::Float64 => is_nan_bits(bytes, 0x7ff0_0000_0000_0000, 0x000f_ffff_ffff_ffff),
        _ => false,
    }
}

fn is_nan_bits(bytes: &[u8], exp: u64, mantissa: u64) -> bool {
    let v = match bytes.len() {
        2 => u64::from(u16::from_ne_bytes([bytes[0], bytes[1]])),
        4 => u64::from(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        8 => u64::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]]),
        _ => return false,
    };
    v & exp == exp && v & mantissa != 0
}

/// A readable rendering of one element for failure messages.
pub fn describe(dtype: &DataType, bytes: &[u8]) -> String {
    fn arr<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
        b.try_into().ok()
    }
    let shown = match dtype {
        DataType::Int8 => arr::<1>(bytes).map(|b| i8::from_ne_bytes(b).to_string()),
        DataType::Int16 => arr::<2>(bytes).map(|b| i16::from_ne_bytes(b).to_string()),
        DataType::Int32 => arr::<4>(bytes).map(|b| i32::from_ne_bytes(b).to_string()),
        DataType::Int64 | DataType::DateTime64 { .. } | DataType::TimeDelta64 { .. } => {
            arr::<8>(bytes).map(|b| i64::from_ne_bytes(b).to_string())
        }
        DataType::UInt8 | DataType::Bool => arr::<1>(bytes).map(|b| b[0].to_string()),
        DataType::UInt16 => arr::<2>(bytes).map(|b| u16::from_ne_bytes(b).to_string()),
        DataType::UInt32 => arr::<4>(bytes).map(|b| u32::from_ne_bytes(b).to_string()),
        DataType::UInt64 => arr::<8>(bytes).map(|b| u64::from_ne_bytes(b).to_string()),
        DataType::Float32 => arr::<4>(bytes).map(|b| f32::from_ne_bytes(b).to_string()),
        DataType::Float64 => arr::<8>(bytes).map(|b| f64::from_ne_bytes(b).to_string()),
        DataType::String => std::str::from_utf8(bytes).ok().map(|s| format!("{s:?}")),
        _ => None,
    };
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match shown {
        Some(s) => format!("{s} (0x{hex})"),
        None => format!("0x{hex}"),
    }
}

/// Compares a whole decoded array with an expected `.npy`: shape, then every element.
///
/// # Errors
/// A description of the shape mismatch or of the first differing elements.
pub fn compare_ndarray(got: &NdArray, expected: &Npy) -> Result<(), String> {
    if got.shape != expected.shape {
        return Err(format!("shape {:?}, expected {:?}", got.shape, expected.shape));
    }
    let item = got.dtype.size().unwrap_or(0);
    if let Some(got_strings) = scalar_string_of_other_width(got, expected) {
        let want = Elements::from_npy(expected, true)?;
        let have = Elements::from_npy(&got_strings, true)?;
        return if have == want {
            Ok(())
        } else {
            Err(format!("got {:?}, expected {:?}", have.get(0).unwrap_or_default(), want.get(0).unwrap_or_default()))
        };
    }
    let want = Elements::from_npy(expected, got.dtype.is_variable())?;
    if !got.dtype.is_variable() && item != expected.descr.itemsize {
        return Err(format!("element size {item}, expected {} ({})", expected.descr.itemsize, expected.descr));
    }
    let have = Elements::from_array_bytes(got.data.clone(), item);
    if have.len() != want.len() {
        return Err(format!("{} elements, expected {}", have.len(), want.len()));
    }
    let mut bad = Vec::new();
    let mut count = 0usize;
    for i in 0..want.len() {
        let (h, w) = (have.get(i).unwrap_or_default(), want.get(i).unwrap_or_default());
        if !elements_equal(&got.dtype, h, w) {
            count += 1;
            if bad.len() < 3 {
                bad.push(format!("element {i}: got {}, expected {}", describe(&got.dtype, h), describe(&got.dtype, w)));
            }
        }
    }
    if count > 0 {
        return Err(format!("{count} elements differ: {}", bad.join("; ")));
    }
    Ok(())
}

/// numpy saves a selected 0-d `U`/`S` element as a scalar whose width is that of its value
/// (`np.str_('ab')` is `<U2` even when taken from a `<U4` array). For such an expected answer
/// and a fixed-length string result of another width, the result as an `.npy` to compare as strings.
fn scalar_string_of_other_width(got: &NdArray, expected: &Npy) -> Option<Npy> {
    let (kind, itemsize) = match got.dtype {
        DataType::FixedUtf32(n) => ('U', n.checked_mul(4)?),
        DataType::FixedBytes(n) => ('S', n),
        _ => return None,
    };
    if !expected.shape.is_empty() || expected.descr.kind != kind || expected.descr.itemsize == itemsize {
        return None;
    }
    let ArrayBytes::Fixed(data) = &got.data else { return None };
    let order = if kind == 'U' { ByteOrder::NATIVE } else { ByteOrder::NotApplicable };
    Some(Npy {
        descr: Descr { order, kind, itemsize, unit: None },
        fortran_order: false,
        shape: got.shape.clone(),
        data: data.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_equals_nan() {
        let nan = f64::NAN.to_ne_bytes();
        let other_nan = f64::from_bits(0x7ff0_0000_0000_0001).to_ne_bytes();
        assert!(elements_equal(&DataType::Float64, &nan, &other_nan));
        assert!(!elements_equal(&DataType::Float64, &nan, &1.0f64.to_ne_bytes()));
        assert!(!elements_equal(&DataType::Float64, &f64::INFINITY.to_ne_bytes(), &nan));
        assert!(!elements_equal(&DataType::Int64, &nan, &other_nan));
        let f16_nan = 0x7e00u16.to_ne_bytes();
        let f16_inf = 0x7c00u16.to_ne_bytes();
        assert!(elements_equal(&DataType::Float16, &f16_nan, &0x7c01u16.to_ne_bytes()));
        assert!(!elements_equal(&DataType::Float16, &f16_nan, &f16_inf));
        let c = |re: f32, im: f32| [re.to_ne_bytes(), im.to_ne_bytes()].concat();
        assert!(elements_equal(&DataType::Complex64, &c(f32::NAN, 1.0), &c(f32::NAN, 1.0)));
        assert!(!elements_equal(&DataType::Complex64, &c(f32::NAN, 1.0), &c(f32::NAN, 2.0)));
    }

    #[test]
    fn describes() {
        assert_eq!(
            describe(&DataType::Int16, &(-2i16).to_ne_bytes()),
            format!("-2 (0x{})", hex(&(-2i16).to_ne_bytes()))
        );
        assert_eq!(describe(&DataType::FixedBytes(2), b"ab"), "0x6162");
    }

    /// numpy saves `a[-1]` of a `<U4` array holding `"ab"` as a `<U2` scalar.
    #[test]
    fn scalar_strings_of_another_width() {
        let utf32 = |s: &str, n: usize| -> Vec<u8> {
            let mut cps: Vec<u32> = s.chars().map(u32::from).collect();
            cps.resize(n, 0);
            cps.iter().flat_map(|c| c.to_ne_bytes()).collect()
        };
        let got =
            |s: &str| NdArray { dtype: DataType::FixedUtf32(4), shape: vec![], data: ArrayBytes::Fixed(utf32(s, 4)) };
        let descr = Descr { order: ByteOrder::NATIVE, kind: 'U', itemsize: 8, unit: None };
        let expected = Npy { descr, fortran_order: false, shape: vec![], data: utf32("ab", 2) };
        assert_eq!(compare_ndarray(&got("ab"), &expected), Ok(()));
        assert!(compare_ndarray(&got("ax"), &expected).is_err());
        // Arrays (not scalars) keep their width: a width difference is an error.
        let arr = NdArray { dtype: DataType::FixedUtf32(4), shape: vec![1], data: ArrayBytes::Fixed(utf32("ab", 4)) };
        let want = Npy { shape: vec![1], ..expected };
        assert!(compare_ndarray(&arr, &want).unwrap_err().contains("element size"));
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }
}
