//! Whether a chunk holds nothing but the fill value, so it need not be stored
//! (a write deletes such a chunk, a shard leaves such an inner chunk out).
//!
//! Bitwise, as zarr-python's `write_empty_chunks=False` check is in effect, except that
//! a NaN element equals a NaN fill value whatever its payload (numpy's
//! `array_equal(..., equal_nan=True)`); `-0.0` is not the fill value `0.0`, so it survives.

use super::{DataType, FillValue};
use crate::ndarray::ArrayBytes;

/// Whether every element of `data` equals `fill` (see the module docs): the rule by
/// which writes leave a chunk, and shards an inner chunk, unstored, so a read gives
/// the fill value's bytes there.
pub fn is_all_fill(data: &ArrayBytes, dtype: &DataType, fill: &FillValue) -> bool {
    let fill = fill.as_bytes();
    match data {
        ArrayBytes::Variable(v) => v.iter().all(|e| e.as_slice() == fill),
        ArrayBytes::Fixed(b) => {
            let Some(size) = dtype.size().filter(|&s| s > 0 && s == fill.len()) else {
                // A zero-size type holds nothing; a fill value of another size matches nothing.
                return dtype.size() == Some(0);
            };
            let (unit, nan): (usize, fn(&[u8]) -> bool) = match dtype {
                DataType::Float16 => (2, |b| half::f16::from_ne_bytes([b[0], b[1]]).is_nan()),
                DataType::BFloat16 => (2, |b| half::bf16::from_ne_bytes([b[0], b[1]]).is_nan()),
                DataType::Float32 | DataType::Complex64 => {
                    (4, |b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]).is_nan())
                }
                DataType::Float64 | DataType::Complex128 => {
                    (8, |b| f64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]).is_nan())
                }
                _ => return b.chunks_exact(size).all(|e| e == fill),
            };
            // Floats (and each half of a complex number) compare per component.
            b.chunks_exact(size).all(|e| {
                e == fill
                    || e.chunks_exact(unit).zip(fill.chunks_exact(unit)).all(|(x, f)| x == f || (nan(x) && nan(f)))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn f64s(v: &[f64]) -> ArrayBytes {
        ArrayBytes::Fixed(v.iter().flat_map(|x| x.to_ne_bytes()).collect())
    }

    #[test]
    fn nan_equals_a_nan_fill_and_zero_signs_differ() {
        let nan = FillValue(f64::NAN.to_ne_bytes().to_vec());
        let other_nan = f64::from_bits(0x7ff8_0000_0000_0001);
        assert!(is_all_fill(&f64s(&[f64::NAN, other_nan, -f64::NAN]), &DataType::Float64, &nan));
        assert!(!is_all_fill(&f64s(&[f64::NAN, 1.0]), &DataType::Float64, &nan));
        let zero = FillValue(0f64.to_ne_bytes().to_vec());
        assert!(is_all_fill(&f64s(&[0.0, 0.0]), &DataType::Float64, &zero));
        assert!(!is_all_fill(&f64s(&[0.0, -0.0]), &DataType::Float64, &zero));
        assert!(!is_all_fill(&f64s(&[f64::NAN]), &DataType::Float64, &zero));
    }

    #[test]
    fn integers_strings_and_complex() {
        let fill = FillValue(7i16.to_ne_bytes().to_vec());
        let data: Vec<u8> = [7i16, 7, 7].iter().flat_map(|x| x.to_ne_bytes()).collect();
        assert!(is_all_fill(&ArrayBytes::Fixed(data), &DataType::Int16, &fill));
        let data: Vec<u8> = [7i16, 8].iter().flat_map(|x| x.to_ne_bytes()).collect();
        assert!(!is_all_fill(&ArrayBytes::Fixed(data), &DataType::Int16, &fill));
        let s = ArrayBytes::Variable(alloc::vec![b"a".to_vec(), b"a".to_vec()]);
        assert!(is_all_fill(&s, &DataType::String, &FillValue(b"a".to_vec())));
        assert!(!is_all_fill(&s, &DataType::String, &FillValue(Vec::new())));
        let c = |re: f32, im: f32| [re.to_ne_bytes(), im.to_ne_bytes()].concat();
        let fill = FillValue(c(f32::NAN, 0.0));
        assert!(is_all_fill(&ArrayBytes::Fixed(c(f32::NAN, 0.0)), &DataType::Complex64, &fill));
        assert!(!is_all_fill(&ArrayBytes::Fixed(c(f32::NAN, 1.0)), &DataType::Complex64, &fill));
    }
}
