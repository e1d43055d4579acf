//! Reads NumPy `.npy` files (formats 1.0 to 3.0) of fixed-size types into an [`NdArray`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use zarr_proto::{ArrayBytes, DataType, Endian, NdArray};

/// What a `.npy` header says.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub(crate) dtype: DataType,
    pub(crate) shape: Vec<u64>,
    /// Where the data starts in the file.
    data_start: u64,
    /// Bytes of data.
    data_len: u64,
    /// The byte-swap unit when the file's byte order is not native (1: none).
    swap: usize,
}

/// Parses the header at the start of `bytes` (which may hold more than the header).
///
/// # Errors
/// A file that is not `.npy`, a header that does not parse or is cut short, an object
/// or structured dtype, Fortran order.
fn parse_header(bytes: &[u8]) -> Result<Header, String> {
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
    let data_len = count.checked_mul(item as u64).ok_or("the .npy shape overflows")?;
    let native = if cfg!(target_endian = "little") { Endian::Little } else { Endian::Big };
    let swap = if endian.is_some_and(|e| e != native) { dtype.swap_unit() } else { 1 };
    Ok(Header { dtype, shape, data_start: end as u64, data_len, swap })
}

/// Puts elements in native byte order.
fn to_native(data: &mut [u8], swap: usize) {
    if swap > 1 {
        for element in data.chunks_exact_mut(swap) {
            element.reverse();
        }
    }
}

/// An open `.npy` file, read whole or a block of rows (along the first dimension) at
/// a time: `zarr put` holds one block of a large file, not all of it.
#[derive(Debug)]
pub(crate) struct NpyFile {
    file: File,
    pub(crate) header: Header,
}

impl NpyFile {
    /// Opens `path` and reads its header.
    ///
    /// # Errors
    /// The file cannot be read; as for the header; a file length that does not match it.
    pub(crate) fn open(path: &Path) -> Result<NpyFile, String> {
        let mut file = File::open(path).map_err(|e| e.to_string())?;
        let mut head = vec![0u8; 12];
        let n = read_up_to(&mut file, &mut head)?;
        head.truncate(n);
        // Enough for any header: its length is in the first 12 bytes.
        let header_len = match head.get(6) {
            Some(1) if n >= 10 => usize::from(u16::from_le_bytes([head[8], head[9]])) + 10,
            Some(2 | 3) if n >= 12 => {
                usize::try_from(u32::from_le_bytes([head[8], head[9], head[10], head[11]])).unwrap_or(usize::MAX) + 12
            }
            _ => n,
        };
        let file_len = file.metadata().map_err(|e| e.to_string())?.len();
        if header_len as u64 > file_len {
            return Err("truncated .npy header".into());
        }
        head.resize(header_len, 0);
        file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        file.read_exact(&mut head).map_err(|e| e.to_string())?;
        let header = parse_header(&head)?;
        let have = file_len - header.data_start;
        if have != header.data_len {
            return Err(format!("the .npy data has {have} bytes, its header says {}", header.data_len));
        }
        Ok(NpyFile { file, header })
    }

    /// Bytes of one row: one index of the first dimension (the whole array for a 0-d one).
    pub(crate) fn row_bytes(&self) -> u64 {
        let item = self.header.dtype.size().unwrap_or(1) as u64;
        self.header.shape.iter().skip(1).fold(item, |a, &n| a.saturating_mul(n))
    }

    /// Rows `start..start + count` (the whole array when it has no dimensions).
    ///
    /// # Errors
    /// A failed read.
    pub(crate) fn read_rows(&mut self, start: u64, count: u64) -> Result<NdArray, String> {
        let row = self.row_bytes();
        let mut shape = self.header.shape.clone();
        let len = match shape.first_mut() {
            Some(first) => {
                *first = count;
                count * row
            }
            None => row,
        };
        let len = usize::try_from(len).map_err(|_| "the .npy data does not fit in memory")?;
        let mut data = vec![0u8; len];
        self.file.seek(SeekFrom::Start(self.header.data_start + start * row)).map_err(|e| e.to_string())?;
        self.file.read_exact(&mut data).map_err(|e| e.to_string())?;
        to_native(&mut data, self.header.swap);
        Ok(NdArray { dtype: self.header.dtype.clone(), shape, data: ArrayBytes::Fixed(data) })
    }

    /// The whole array.
    ///
    /// # Errors
    /// A failed read.
    pub(crate) fn read_all(&mut self) -> Result<NdArray, String> {
        let rows = self.header.shape.first().copied().unwrap_or(1);
        self.read_rows(0, rows)
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> Result<usize, String> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(n)
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

    /// A `.npy` file's bytes read whole through [`NpyFile`], as `zarr put` reads files.
    fn read(bytes: Vec<u8>) -> Result<NdArray, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("a.npy");
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
        NpyFile::open(&path)?.read_all()
    }

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
