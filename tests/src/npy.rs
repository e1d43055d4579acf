//! Reads and writes numpy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! Only what the fixtures need: fixed-size element types (`b`, `i`, `u`, `f`, `c`,
//! `M`, `m`, `S`, `U`, `V`) in either byte order and either memory order; a record
//! (structured) dtype reads as its raw records, `V<itemsize>`. Object
//! arrays cannot be stored in `.npy` without pickle, so the fixture generator stores
//! variable-length strings as fixed-width `U` (or `S`) arrays; [`Npy::strings`] and
//! [`Npy::byte_strings`] give them back.

use std::fmt;

/// Byte order of the elements in a `.npy` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// `<`
    Little,
    /// `>`
    Big,
    /// `|`: single bytes, no order.
    NotApplicable,
}

impl ByteOrder {
    /// The order of the machine running this code.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "little") { ByteOrder::Little } else { ByteOrder::Big };

    fn prefix(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        }
    }
}

/// A numpy dtype description such as `<i4`, `>U3`, `|S5` or `<M8[ns]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descr {
    /// Byte order of each element.
    pub order: ByteOrder,
    /// The numpy kind character: `b i u f c M m S U V`.
    pub kind: char,
    /// Bytes per element (`U<n>` is `4 * n`).
    pub itemsize: usize,
    /// The `[unit]` of datetime and timedelta types, without brackets.
    pub unit: Option<String>,
}

impl Descr {
    /// Parses a descr string.
    ///
    /// # Errors
    /// Structured or object dtypes, unknown kinds, malformed sizes.
    pub fn parse(s: &str) -> Result<Descr, String> {
        let mut chars = s.chars();
        let first = chars.next().ok_or("empty descr")?;
        let (order, rest) = match first {
            '<' => (ByteOrder::Little, chars.as_str()),
            '>' => (ByteOrder::Big, chars.as_str()),
            '|' => (ByteOrder::NotApplicable, chars.as_str()),
            '=' => (ByteOrder::NATIVE, chars.as_str()),
            _ => (ByteOrder::NotApplicable, s),
        };
        let mut rest_chars = rest.chars();
        let kind = rest_chars.next().ok_or_else(|| format!("descr {s:?} has no kind"))?;
        let tail = rest_chars.as_str();
        let (digits, unit) = match tail.find('[') {
            Some(i) => {
                let unit = tail[i + 1..].strip_suffix(']').ok_or_else(|| format!("descr {s:?}: unclosed unit"))?;
                (&tail[..i], Some(unit.to_string()))
            }
            None => (tail, None),
        };
        let n: usize = digits.parse().map_err(|_| format!("descr {s:?}: bad size {digits:?}"))?;
        let itemsize = match kind {
            'b' | 'i' | 'u' | 'f' | 'c' | 'M' | 'm' | 'S' | 'V' => n,
            'U' => n.checked_mul(4).ok_or_else(|| format!("descr {s:?}: size overflows"))?,
            other => return Err(format!("descr {s:?}: unsupported kind {other:?}")),
        };
        if matches!(kind, 'M' | 'm') && itemsize != 8 {
            return Err(format!("descr {s:?}: datetimes are 8 bytes"));
        }
        Ok(Descr { order, kind, itemsize, unit })
    }

    /// Size of the unit whose bytes a byte-order change reverses (1 = never swapped).
    pub fn swap_unit(&self) -> usize {
        match self.kind {
            'c' => self.itemsize / 2,
            'U' => 4,
            'S' | 'V' | 'b' => 1,
            _ => self.itemsize,
        }
    }

    /// This descr with native byte order (when the type has an order).
    pub fn to_native(&self) -> Descr {
        let mut d = self.clone();
        if d.order != ByteOrder::NotApplicable && d.swap_unit() > 1 {
            d.order = ByteOrder::NATIVE;
        }
        d
    }
}

impl fmt::Display for Descr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = if self.swap_unit() > 1 { self.order.prefix() } else { '|' };
        let n = if self.kind == 'U' { self.itemsize / 4 } else { self.itemsize };
        write!(f, "{order}{}{n}", self.kind)?;
        if let Some(unit) = &self.unit {
            write!(f, "[{unit}]")?;
        }
        Ok(())
    }
}

/// The contents of one `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Npy {
    /// Element type.
    pub descr: Descr,
    /// Whether `data` is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Extent of each dimension (empty for 0-d).
    pub shape: Vec<u64>,
    /// The raw element bytes, `itemsize * product(shape)` of them.
    pub data: Vec<u8>,
}

const MAGIC: &[u8] = b"\x93NUMPY";

impl Npy {
    /// Parses a `.npy` file.
    ///
    /// # Errors
    /// A bad magic, an unparsable header, an unsupported dtype or a data size that
    /// does not match the shape.
    pub fn parse(bytes: &[u8]) -> Result<Npy, String> {
        if bytes.len() < 10 || &bytes[..6] != MAGIC {
            return Err("not an .npy file (bad magic)".into());
        }
        let major = bytes[6];
        let (header_len, start) = match major {
            1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
            2 | 3 => {
                let b = bytes.get(8..12).ok_or("truncated .npy header length")?;
                (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
            }
            v => return Err(format!("unsupported .npy version {v}")),
        };
        let header = bytes.get(start..start + header_len).ok_or("truncated .npy header")?;
        let header = std::str::from_utf8(header).map_err(|e| format!(".npy header is not text: {e}"))?;
        // A record dtype (a list of fields) reads as raw records, `V<itemsize>`.
        let record = dict_raw(header, "descr")?.trim().starts_with('[');
        let mut descr = if record {
            Descr { order: ByteOrder::NotApplicable, kind: 'V', itemsize: 0, unit: None }
        } else {
            Descr::parse(&dict_str(header, "descr")?)?
        };
        let fortran_order = match dict_raw(header, "fortran_order")?.trim() {
            "True" => true,
            "False" => false,
            other => return Err(format!("bad fortran_order {other:?}")),
        };
        let shape = parse_shape(dict_raw(header, "shape")?)?;
        let data = bytes[start + header_len..].to_vec();
        let n: u64 = shape.iter().product();
        if record && n > 0 {
            descr.itemsize = (data.len() as u64 / n) as usize;
        }
        let want = n.checked_mul(descr.itemsize as u64).ok_or("shape overflows")?;
        if data.len() as u64 != want {
            return Err(format!("data has {} bytes, shape {:?} of {} needs {want}", data.len(), shape, descr));
        }
        Ok(Npy { descr, fortran_order, shape, data })
    }

    /// Reads and parses a `.npy` file from disk.
    ///
    /// # Errors
    /// IO errors and everything [`Npy::parse`] rejects, with the path in the text.
    pub fn read(path: &std::path::Path) -> Result<Npy, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Npy::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Serializes to the `.npy` format (version 1.0, header padded to 64 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let shape = match self.shape.len() {
            0 => "()".to_string(),
            1 => format!("({},)", self.shape[0]),
            _ => format!("({})", self.shape.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
        };
        let fortran = if self.fortran_order { "True" } else { "False" };
        let mut header = format!("{{'descr': '{}', 'fortran_order': {fortran}, 'shape': {shape}, }}", self.descr);
        let unpadded = MAGIC.len() + 4 + header.len() + 1;
        header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
        header.push('\n');
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + self.data.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product::<u64>() as usize
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same array with native byte order and C memory order.
    pub fn to_native_c_order(&self) -> Npy {
        let item = self.descr.itemsize;
        let mut data = if self.fortran_order && self.shape.len() > 1 {
            let n = self.len();
            let mut out = vec![0u8; self.data.len()];
            // Fortran strides (in elements).
            let mut fstrides = vec![1usize; self.shape.len()];
            for d in 1..self.shape.len() {
                fstrides[d] = fstrides[d - 1] * self.shape[d - 1] as usize;
            }
            let mut idx = vec![0u64; self.shape.len()];
            for c in 0..n {
                let f: usize = idx.iter().zip(&fstrides).map(|(&i, &s)| i as usize * s).sum();
                out[c * item..(c + 1) * item].copy_from_slice(&self.data[f * item..(f + 1) * item]);
                increment(&mut idx, &self.shape);
            }
            out
        } else {
            self.data.clone()
        };
        let unit = self.descr.swap_unit();
        let native = self.descr.to_native();
        if unit > 1 && native.order != self.descr.order {
            for chunk in data.chunks_exact_mut(unit) {
                chunk.reverse();
            }
        }
        Npy { descr: native, fortran_order: false, shape: self.shape.clone(), data }
    }

    /// The elements of a `U` array as strings (trailing NULs removed), in memory order.
    ///
    /// # Errors
    /// When the dtype is not `U` or a code point is invalid.
    pub fn strings(&self) -> Result<Vec<String>, String> {
        if self.descr.kind != 'U' {
            return Err(format!("{} is not a unicode dtype", self.descr));
        }
        let big = self.descr.order == ByteOrder::Big;
        self.data
            .chunks_exact(self.descr.itemsize.max(1))
            .map(|elem| {
                let mut s = String::new();
                for cp in elem.chunks_exact(4) {
                    let b = [cp[0], cp[1], cp[2], cp[3]];
                    let v = if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) };
                    s.push(char::from_u32(v).ok_or_else(|| format!("invalid code point {v:#x}"))?);
                }
                Ok(s.trim_end_matches('\0').to_string())
            })
            .take(self.len())
            .collect()
    }

    /// The elements of an `S` array as byte strings (trailing NULs removed), in memory order.
    ///
    /// # Errors
    /// When the dtype is not `S`.
    pub fn byte_strings(&self) -> Result<Vec<Vec<u8>>, String> {
        if self.descr.kind != 'S' {
            return Err(format!("{} is not a bytes dtype", self.descr));
        }
        let n = self.len();
        if self.descr.itemsize == 0 {
            return Ok(vec![Vec::new(); n]);
        }
        Ok(self
            .data
            .chunks_exact(self.descr.itemsize)
            .map(|e| {
                let end = e.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                e[..end].to_vec()
            })
            .collect())
    }
}

/// Advances a C-order multi-index over `shape`.
pub fn increment(idx: &mut [u64], shape: &[u64]) {
    for d in (0..idx.len()).rev() {
        idx[d] += 1;
        if idx[d] < shape[d] {
            return;
        }
        idx[d] = 0;
    }
}

fn dict_raw<'a>(header: &'a str, key: &str) -> Result<&'a str, String> {
    let pat = format!("'{key}':");
    let i = header.find(&pat).ok_or_else(|| format!("header has no {key}: {header}"))?;
    let rest = header[i + pat.len()..].trim_start();
    // The value ends at the first top-level comma (tuples contain commas inside parentheses).
    let mut depth = 0i32;
    for (j, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Ok(&rest[..j]),
            _ => {}
        }
    }
    Err(format!("unterminated {key} in header"))
}

fn dict_str(header: &str, key: &str) -> Result<String, String> {
    let raw = dict_raw(header, key)?.trim();
    raw.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .map(str::to_string)
        .ok_or_else(|| format!("{key} is not a plain string: {raw} (structured dtypes are not supported)"))
}

fn parse_shape(raw: &str) -> Result<Vec<u64>, String> {
    let inner = raw.trim().strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or("shape is not a tuple")?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<u64>().map_err(|e| format!("bad shape entry {s:?}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descr_roundtrip() {
        for s in ["<i4", ">f8", "|b1", "|u1", ">U3", "<U10", "|S5", "|V4", "<M8[ns]", ">m8[10s]", "<c16"] {
            let d = Descr::parse(s).unwrap();
            assert_eq!(d.to_string(), s);
        }
        assert_eq!(Descr::parse(">U3").unwrap().itemsize, 12);
        assert_eq!(Descr::parse("<c8").unwrap().swap_unit(), 4);
        assert!(Descr::parse("|O").is_err());
        assert!(Descr::parse("<M8[ns").is_err());
    }

    #[test]
    fn write_then_read() {
        let npy = Npy {
            descr: Descr::parse(">i2").unwrap(),
            fortran_order: true,
            shape: vec![2, 3],
            // Fortran order of [[1, 2, 3], [4, 5, 6]]: 1 4 2 5 3 6.
            data: [1i16, 4, 2, 5, 3, 6].iter().flat_map(|v| v.to_be_bytes()).collect(),
        };
        let bytes = npy.to_bytes();
        assert_eq!((MAGIC.len() + 4 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))) % 64, 0);
        let back = Npy::parse(&bytes).unwrap();
        assert_eq!(back, npy);
        let c = back.to_native_c_order();
        let vals: Vec<i16> = c.data.chunks_exact(2).map(|b| i16::from_ne_bytes([b[0], b[1]])).collect();
        assert_eq!(vals, [1, 2, 3, 4, 5, 6]);
        assert!(!c.fortran_order);
    }

    #[test]
    fn zero_d_and_empty() {
        for shape in [vec![], vec![0, 4]] {
            let n: u64 = shape.iter().product();
            let npy = Npy {
                descr: Descr::parse("<f8").unwrap(),
                fortran_order: false,
                shape: shape.clone(),
                data: vec![0; 8 * n as usize],
            };
            assert_eq!(Npy::parse(&npy.to_bytes()).unwrap(), npy);
        }
    }

    #[test]
    fn unicode_and_bytes() {
        let mut data = Vec::new();
        for s in ["ab", "漢"] {
            let mut cps: Vec<u32> = s.chars().map(u32::from).collect();
            cps.resize(3, 0);
            data.extend(cps.iter().flat_map(|c| c.to_be_bytes()));
        }
        let npy = Npy { descr: Descr::parse(">U3").unwrap(), fortran_order: false, shape: vec![2], data };
        assert_eq!(npy.strings().unwrap(), ["ab", "漢"]);
        assert_eq!(npy.to_native_c_order().strings().unwrap(), ["ab", "漢"]);
        let s = Npy {
            descr: Descr::parse("|S3").unwrap(),
            fortran_order: false,
            shape: vec![2],
            data: b"a\0\0xyz".to_vec(),
        };
        assert_eq!(s.byte_strings().unwrap(), [b"a".to_vec(), b"xyz".to_vec()]);
    }

    /// Bytes written by `numpy.save(np.arange(6, dtype='>i4').reshape(2, 3))`.
    #[test]
    fn reads_numpy_output() {
        let mut bytes = b"\x93NUMPY\x01\x00v\x00".to_vec();
        let header = "{'descr': '>i4', 'fortran_order': False, 'shape': (2, 3), }";
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend(std::iter::repeat_n(b' ', 118 - header.len() - 1));
        bytes.push(b'\n');
        bytes.extend((0i32..6).flat_map(|v| v.to_be_bytes()));
        let npy = Npy::parse(&bytes).unwrap();
        assert_eq!(npy.shape, [2, 3]);
        assert_eq!(npy.to_native_c_order().data, (0i32..6).flat_map(|v| v.to_ne_bytes()).collect::<Vec<_>>());
        assert_eq!(npy.to_bytes(), bytes);
    }
}
