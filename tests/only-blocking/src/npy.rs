//! The fixtures and numpy's answers (`.npy` files of little-endian numbers), read with
//! std alone so that this crate depends on the driver only.

/// `tests/fixtures/data`.
pub(crate) fn fixtures_data() -> String {
    format!("{}/../fixtures/data", env!("CARGO_MANIFEST_DIR"))
}

/// The directory of fixture `name`.
pub(crate) fn fixture(name: &str) -> String {
    format!("{}/{name}.zarr", fixtures_data())
}

/// A `.npy` file's shape and raw little-endian C-order data.
pub(crate) struct Expected {
    pub(crate) shape: Vec<u64>,
    pub(crate) data: Vec<u8>,
}

impl Expected {
    pub(crate) fn i32s(&self) -> Vec<i32> {
        self.data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    }

    /// The bits of `f64` elements (NaN is among them: compared by bits).
    pub(crate) fn f64_bits(&self) -> Vec<u64> {
        self.data.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))).collect()
    }
}

/// numpy's answer for fixture `name`: the whole array, or selection `s` of the manifest.
pub(crate) fn expected(name: &str, selection: Option<usize>) -> Expected {
    let file = match selection {
        Some(i) => format!("{name}.s{i}.npy"),
        None => format!("{name}.npy"),
    };
    let path = format!("{}/../fixtures/expected/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{path}");
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[start..start + len]).expect("ASCII header");
    assert!(header.contains("'fortran_order': False") && header.contains("'<"), "{path}: {header}");
    let dims = header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).expect("shape");
    let shape = dims.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse().expect("dim")).collect();
    Expected { shape, data: bytes[start + len..].to_vec() }
}
