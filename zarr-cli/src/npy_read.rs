//! Reads NumPy `.npy` files (formats 1.0 to 3.0) of fixed-size types into an [`NdArray`].

use zarr_proto::{ArrayBytes, DataType, Endian, NdArray};

/// A `.npy` file's array, elements in native byte order and C order.
///
/// # Errors
/// A file that is not `.npy`, a header that does not parse, an object or
/// structured dtype, Fortran order, data shorter or longer than the header says.
pub(crate) fn read(bytes: Vec<u8>) -> Result<NdArray, String> {
    let magic = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != magic {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10usize),
        2 | 3 if bytes.len() >= 12 => {
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (usize::try_from(n).map_err(|_| "header too long")?, 12)
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start.checked_add(header_len).filter(|&e| e <= bytes.len()).ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| "the .npy header is not text")?;
    let descr = dict_value(header, "descr").ok_or("the .npy header has no descr")?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let fortran = dict_value(header, "fortran_order").ok_or("the .npy header has no fortran_order")?;
    if fortran.trim() != "False" {
        return Err("Fortran-order .npy files are not supported (save with np.ascontiguousarray)".into());
    }
    let shape = parse_shape(dict_value(header, "shape").ok_or("the .npy header has no shape")?)?;
    let (dtype, endian) = DataType::from_v2_str(descr).map_err(|e| format!("unsupported .npy dtype {descr}: {e}"))?;
    let item = dtype.size().ok_or_else(|| format!("unsupported .npy dtype {descr}: variable length"))?;
    let count = shape.iter().try_fold(1u64, |a, &n| a.checked_mul(n)).ok_or("the .npy shape overflows")?;
    let expected = count.checked_mul(item as u64).ok_or("the .npy shape overflows")?;
    let mut data = bytes;
    data.drain(..end);
    if data.len() as u64 != expected {
        return Err(format!("the .npy data has {} bytes, its header says {expected}", data.len()));
    }
    let native = if cfg!(target_endian = "little") { Endian::Little } else { Endian::Big };
    let unit = dtype.swap_unit();
    if endian.is_some_and(|e| e != native) && unit > 1 {
        for element in data.chunks_exact_mut(unit) {
            element.reverse();
        }
    }
    Ok(NdArray { dtype, shape, data: ArrayBytes::Fixed(data) })
}

/// The text of `key`'s value in a Python dict literal (`{'descr': '<u2', ...}`).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}']).unwrap_or(rest.len()) };
    Some(&rest[..end])
}

fn parse_shape(text: &str) -> Result<Vec<u64>, String> {
    let inner = text.trim().trim_start_matches('(').trim_end_matches(')');
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<u64>().map_err(|_| format!("bad .npy shape {text}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_what_numpy_writes_and_what_we_write() {
        let a = read(npy("<u2", "False", "(2, 3)", &[1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0])).unwrap();
        assert_eq!((a.dtype.clone(), a.shape.clone()), (DataType::UInt16, vec![2, 3]));
        assert_eq!(
            a.fixed_bytes().unwrap(),
            [1u16, 2, 3, 4, 5, 6].iter().flat_map(|v| v.to_ne_bytes()).collect::<Vec<_>>()
        );
        let big = read(npy(">i4", "False", "(1,)", &[0, 0, 1, 2])).unwrap();
        assert_eq!(big.fixed_bytes().unwrap(), 258i32.to_ne_bytes());
        let scalar = read(npy("<f8", "False", "()", &1.5f64.to_le_bytes())).unwrap();
        assert!(scalar.shape.is_empty());

        let ours = NdArray {
            dtype: DataType::Float32,
            shape: vec![2],
            data: ArrayBytes::Fixed([1f32, 2.0].iter().flat_map(|v| v.to_ne_bytes()).collect()),
        };
        let mut file = Vec::new();
        crate::npy::write(&ours, &mut file).unwrap();
        assert_eq!(read(file).unwrap(), ours);
    }

    #[test]
    fn bad_files_are_clear_errors() {
        assert!(read(b"hello".to_vec()).unwrap_err().contains("not a .npy"));
        assert!(read(npy("<u2", "True", "(2,)", &[0; 4])).unwrap_err().contains("Fortran"));
        assert!(read(npy("<u2", "False", "(3,)", &[0; 4])).unwrap_err().contains("header says 6"));
        assert!(read(npy("|O", "False", "(1,)", &[0; 8])).is_err());
    }
}
