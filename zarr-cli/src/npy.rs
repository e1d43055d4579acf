//! Writes NumPy `.npy` files (format 1.0, or 2.0 for long headers).

use std::borrow::Cow;
use std::io::{self, Write};

use zarr_proto::{ArrayBytes, NdArray};
use zarr_proto::{DataType, Structured, TimeUnit};

/// The numpy `descr` of `dtype` as written (native byte order), and the element
/// bytes converted where numpy has no matching type.
pub(crate) fn encode(array: &NdArray) -> Result<(String, Cow<'_, [u8]>), String> {
    let e = if cfg!(target_endian = "little") { '<' } else { '>' };
    // Borrowed: a .npy of a 256 MiB read must not hold a second 256 MiB copy.
    let fixed = || array.fixed_bytes().map(Cow::Borrowed).map_err(|e| e.to_string());
    let descr = |s: &str| s.to_string();
    Ok(match &array.dtype {
        DataType::Bool => (descr("|b1"), fixed()?),
        DataType::Int8 => (descr("|i1"), fixed()?),
        DataType::UInt8 => (descr("|u1"), fixed()?),
        DataType::Int16 => (format!("{e}i2"), fixed()?),
        DataType::Int32 => (format!("{e}i4"), fixed()?),
        DataType::Int64 => (format!("{e}i8"), fixed()?),
        DataType::UInt16 => (format!("{e}u2"), fixed()?),
        DataType::UInt32 => (format!("{e}u4"), fixed()?),
        DataType::UInt64 => (format!("{e}u8"), fixed()?),
        DataType::Float16 => (format!("{e}f2"), fixed()?),
        DataType::Float32 => (format!("{e}f4"), fixed()?),
        DataType::Float64 => (format!("{e}f8"), fixed()?),
        DataType::Complex64 => (format!("{e}c8"), fixed()?),
        DataType::Complex128 => (format!("{e}c16"), fixed()?),
        // numpy has no bfloat16: widen to float32, exactly.
        DataType::BFloat16 => {
            let out: Vec<u8> = fixed()?
                .chunks_exact(2)
                .flat_map(|b| half::bf16::from_ne_bytes([b[0], b[1]]).to_f32().to_ne_bytes())
                .collect();
            (format!("{e}f4"), Cow::Owned(out))
        }
        DataType::RawBits(bits) => (format!("|V{}", bits / 8), fixed()?),
        DataType::FixedBytes(n) => (format!("|S{n}"), fixed()?),
        DataType::FixedUtf32(n) => (format!("{e}U{n}"), fixed()?),
        DataType::DateTime64 { unit, scale_factor } => {
            (format!("{e}M8[{}]", unit_str(*unit, *scale_factor)?), fixed()?)
        }
        DataType::TimeDelta64 { unit, scale_factor } => {
            (format!("{e}m8[{}]", unit_str(*unit, *scale_factor)?), fixed()?)
        }
        DataType::String => {
            let ArrayBytes::Variable(items) = &array.data else { return Err("string array without strings".into()) };
            let strings: Vec<Vec<char>> = items.iter().map(|b| String::from_utf8_lossy(b).chars().collect()).collect();
            let width = strings.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let mut out = Vec::with_capacity(strings.len() * width * 4);
            for s in &strings {
                for i in 0..width {
                    out.extend_from_slice(&(s.get(i).map_or(0, |&c| c as u32)).to_ne_bytes());
                }
            }
            (format!("{e}U{width}"), Cow::Owned(out))
        }
        DataType::Bytes => {
            let ArrayBytes::Variable(items) = &array.data else { return Err("bytes array without values".into()) };
            let width = items.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let mut out = Vec::with_capacity(items.len() * width);
            for b in items {
                out.extend_from_slice(b);
                out.resize(out.len() + width - b.len(), 0);
            }
            (format!("|S{width}"), Cow::Owned(out))
        }
        // int2/int4 are held sign-extended, so numpy reads them as the int8 values they are.
        DataType::Int2 | DataType::Int4 => (descr("|i1"), fixed()?),
        // numpy has no 8-bit floats: `ml_dtypes` arrays save as `V1` too, and
        // `numpy.load(...).view(ml_dtypes.float8_e4m3fn)` gives them back.
        DataType::MiniFloat(_) => (descr("|V1"), fixed()?),
        DataType::Structured(s) => (record_descr(s)?, fixed()?),
        other => return Err(format!("no .npy form for data type {other:?}")),
    })
}

/// The `descr` of a record as numpy writes it: a Python list of `(name, type[, shape])`
/// tuples, each field in its declared byte order (records are stored unswapped).
fn record_descr(s: &Structured) -> Result<String, String> {
    let mut fields = Vec::with_capacity(s.fields().len());
    for f in s.fields() {
        let dtype = match &f.dtype {
            DataType::Structured(inner) => record_descr(inner)?,
            other => format!("'{}'", other.to_v2_str(f.endian).map_err(|e| e.to_string())?),
        };
        let shape = match f.shape.as_slice() {
            [] => String::new(),
            [n] => format!(", ({n},)"),
            dims => format!(", ({})", dims.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
        };
        fields.push(format!("({}, {dtype}{shape})", py_str(&f.name)));
    }
    Ok(format!("[{}]", fields.join(", ")))
}

/// A Python string literal of `s` in ASCII (the `.npy` header is parsed by `ast.literal_eval`).
fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('\'');
    out
}

fn unit_str(unit: TimeUnit, scale: u32) -> Result<String, String> {
    let u = match unit {
        TimeUnit::Year => "Y",
        TimeUnit::Month => "M",
        TimeUnit::Week => "W",
        TimeUnit::Day => "D",
        TimeUnit::Hour => "h",
        TimeUnit::Minute => "m",
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
        TimeUnit::Picosecond => "ps",
        TimeUnit::Femtosecond => "fs",
        TimeUnit::Attosecond => "as",
        TimeUnit::Generic => return Ok(String::new()),
        other => return Err(format!("no .npy form for time unit {other:?}")),
    };
    Ok(if scale == 1 { u.into() } else { format!("{scale}{u}") })
}

/// Writes `array` as a `.npy` file to `out`.
pub(crate) fn write(array: &NdArray, mut out: impl Write) -> io::Result<()> {
    let (descr, data) = encode(array).map_err(io::Error::other)?;
    let shape = match array.shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", array.shape[0]),
        _ => format!("({})", array.shape.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
    };
    // A record's descr is a list literal; every other descr is a quoted string.
    let descr = if descr.starts_with('[') { descr } else { format!("'{descr}'") };
    let mut header = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2 or 4) + header + '\n' is a multiple of 64.
    let (version, len_bytes) = if header.len() + 11 <= 65535 { (1u8, 2) } else { (2u8, 4) };
    let unpadded = 6 + 2 + len_bytes + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    out.write_all(b"\x93NUMPY")?;
    out.write_all(&[version, 0])?;
    if version == 1 {
        out.write_all(&(header.len() as u16).to_le_bytes())?;
    } else {
        out.write_all(&(header.len() as u32).to_le_bytes())?;
    }
    out.write_all(header.as_bytes())?;
    out.write_all(&data)?;
    out.flush()
}
