//! Human-readable element values and codec chains, for `info` and `get` previews.

use zarr_proto::codec::{ArrayToBytesCodec, CodecChain};
use zarr_proto::{ArrayBytes, NdArray};
use zarr_proto::{DataType, Endian};

/// One element of a record field, whose bytes are in the field's declared order.
fn element_declared(dtype: &DataType, endian: Option<Endian>, b: &[u8]) -> String {
    let unit = dtype.swap_unit();
    if endian.is_none_or(|e| e == Endian::NATIVE) || unit <= 1 {
        return element(dtype, b);
    }
    let mut native = b.to_vec();
    native.chunks_mut(unit).for_each(<[u8]>::reverse);
    element(dtype, &native)
}

/// One element, given its native-order bytes (or the raw bytes of a variable-length one).
pub(crate) fn element(dtype: &DataType, b: &[u8]) -> String {
    fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        let n = b.len().min(N);
        a[..n].copy_from_slice(&b[..n]);
        a
    }
    match dtype {
        DataType::Bool => (b.first().copied().unwrap_or(0) != 0).to_string(),
        DataType::Int8 => (arr::<1>(b)[0] as i8).to_string(),
        DataType::UInt8 => arr::<1>(b)[0].to_string(),
        DataType::Int16 => i16::from_ne_bytes(arr(b)).to_string(),
        DataType::Int32 => i32::from_ne_bytes(arr(b)).to_string(),
        DataType::Int64 | DataType::DateTime64 { .. } | DataType::TimeDelta64 { .. } => {
            i64::from_ne_bytes(arr(b)).to_string()
        }
        DataType::UInt16 => u16::from_ne_bytes(arr(b)).to_string(),
        DataType::UInt32 => u32::from_ne_bytes(arr(b)).to_string(),
        DataType::UInt64 => u64::from_ne_bytes(arr(b)).to_string(),
        DataType::Float16 => half::f16::from_ne_bytes(arr(b)).to_string(),
        DataType::BFloat16 => half::bf16::from_ne_bytes(arr(b)).to_string(),
        DataType::Float32 => f32::from_ne_bytes(arr(b)).to_string(),
        DataType::Float64 => f64::from_ne_bytes(arr(b)).to_string(),
        DataType::Complex64 => {
            format!("{}+{}j", f32::from_ne_bytes(arr(b)), f32::from_ne_bytes(arr(b.get(4..).unwrap_or(&[]))))
        }
        DataType::Complex128 => {
            format!("{}+{}j", f64::from_ne_bytes(arr(b)), f64::from_ne_bytes(arr(b.get(8..).unwrap_or(&[]))))
        }
        DataType::FixedUtf32(_) => {
            let s: String = b
                .chunks_exact(4)
                .map(|c| u32::from_ne_bytes(arr(c)))
                .take_while(|&c| c != 0)
                .map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect();
            format!("{s:?}")
        }
        DataType::String => format!("{:?}", String::from_utf8_lossy(b)),
        DataType::Int2 | DataType::Int4 => (arr::<1>(b)[0] as i8).to_string(),
        DataType::MiniFloat(f) => f.to_f64(arr::<1>(b)[0]).to_string(),
        // A record: one value per field, as numpy prints a structured scalar.
        DataType::Structured(s) => {
            let mut parts = Vec::with_capacity(s.fields().len());
            let mut rest = b;
            for f in s.fields() {
                let size = f.dtype.size().unwrap_or(0);
                let count = f.shape.iter().product::<u64>() as usize;
                let (head, tail) = rest.split_at(rest.len().min(size.saturating_mul(count)));
                rest = tail;
                parts.push(if f.shape.is_empty() {
                    element_declared(&f.dtype, f.endian, head)
                } else {
                    let items: Vec<String> =
                        head.chunks(size.max(1)).map(|e| element_declared(&f.dtype, f.endian, e)).collect();
                    format!("[{}]", items.join(", "))
                });
            }
            format!("({})", parts.join(", "))
        }
        DataType::FixedBytes(_) | DataType::Bytes | DataType::RawBits(_) => {
            format!("b{:?}", String::from_utf8_lossy(b))
        }
        // A data type this printer does not know yet: its raw bytes.
        _ => format!("0x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

/// The first `max` elements of `array`, comma-separated.
pub(crate) fn preview(array: &NdArray, max: usize) -> String {
    let n = array.num_elements() as usize;
    let mut items: Vec<String> = match &array.data {
        ArrayBytes::Fixed(bytes) => {
            let size = array.dtype.size().unwrap_or(1).max(1);
            bytes.chunks_exact(size).take(max).map(|b| element(&array.dtype, b)).collect()
        }
        ArrayBytes::Variable(v) => v.iter().take(max).map(|b| element(&array.dtype, b)).collect(),
    };
    if n > max {
        items.push(format!("... ({} more)", n - max));
    }
    format!("[{}]", items.join(", "))
}

/// The codec chain as names: `transpose -> bytes -> zstd`, shards with their inner chain.
pub(crate) fn codecs(chain: &CodecChain) -> String {
    let mut parts: Vec<String> = chain.array_to_array.iter().map(|c| c.name().to_string()).collect();
    match &chain.array_to_bytes {
        ArrayToBytesCodec::Sharding(s) => parts.push(format!("sharding_indexed({})", codecs(&s.codecs))),
        other => parts.push(other.name().to_string()),
    }
    parts.extend(chain.bytes_to_bytes.iter().map(|c| c.name().to_string()));
    parts.join(" -> ")
}
