//! Data types and fill values.
//!
//! In memory every element is stored in the machine's native byte order; the byte
//! order an array declares is a property of its encoding (the v3 `bytes` codec, or
//! the `<`/`>` of a v2 dtype string, which metadata turns into a `bytes` codec).

use alloc::string::String;
use alloc::vec::Vec;

// One file per question metadata asks of a type: its name in either format, and
// the JSON of its fill value. This file holds the model both answer from.
mod empty;
mod fill_value;
mod minifloat;
mod name;
mod structured;

pub use empty::is_all_fill;
pub use minifloat::MiniFloat;
pub use structured::{Field, Structured};

/// Unit of a `numpy.datetime64` / `numpy.timedelta64` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum TimeUnit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
    Nanosecond,
    Picosecond,
    Femtosecond,
    Attosecond,
    Generic,
}

/// Byte order of an encoded element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub const NATIVE: Endian = if cfg!(target_endian = "little") { Endian::Little } else { Endian::Big };
}

/// The type of one array element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum DataType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float16,
    BFloat16,
    Float32,
    Float64,
    Complex64,
    Complex128,
    /// tensorstore's `int2`: one element per byte, sign-extended in memory (an `int8`
    /// value in [-2, 1]), the low 2 bits when encoded.
    Int2,
    /// tensorstore's `int4`: as [`DataType::Int2`], values in [-8, 7], the low 4 bits encoded.
    Int4,
    /// An 8-bit or 4-bit float (`float8_e4m3fn`, `float4_e2m1fn`, ...): one byte per
    /// element, the `ml_dtypes` bit pattern (4-bit types in the low nibble).
    MiniFloat(MiniFloat),
    /// A v2 structured (record) type: raw records as stored (see [`Structured`]).
    Structured(Structured),
    /// `r<N>`: N bits of uninterpreted data (N a multiple of 8).
    RawBits(usize),
    /// Fixed-length byte strings of this many bytes (v2 `|S<n>`, v3 `fixed_length_bytes`/`null_terminated_bytes`).
    FixedBytes(usize),
    /// Fixed-length UTF-32 strings of this many code points (v2 `<U<n>`, v3 `fixed_length_utf32`).
    FixedUtf32(usize),
    /// `numpy.datetime64` (v2 `M8[unit]`): an i64 count of `scale_factor` units.
    DateTime64 {
        unit: TimeUnit,
        scale_factor: u32,
    },
    /// `numpy.timedelta64` (v2 `m8[unit]`).
    TimeDelta64 {
        unit: TimeUnit,
        scale_factor: u32,
    },
    /// Variable-length UTF-8 strings.
    String,
    /// Variable-length byte strings.
    Bytes,
}

impl DataType {
    /// Size of one element in bytes, or `None` for variable-length types.
    pub fn size(&self) -> Option<usize> {
        use DataType::*;
        Some(match self {
            Bool | Int8 | UInt8 | Int2 | Int4 | MiniFloat(_) => 1,
            Int16 | UInt16 | Float16 | BFloat16 => 2,
            Int32 | UInt32 | Float32 => 4,
            Int64 | UInt64 | Float64 | Complex64 | DateTime64 { .. } | TimeDelta64 { .. } => 8,
            Complex128 => 16,
            RawBits(bits) => bits / 8,
            FixedBytes(n) => *n,
            FixedUtf32(n) => n.checked_mul(4)?,
            Structured(s) => s.size(),
            String | Bytes => return None,
        })
    }

    /// Whether elements have variable length (stored as [`ArrayBytes::Variable`](crate::ndarray::ArrayBytes::Variable)).
    pub fn is_variable(&self) -> bool {
        self.size().is_none()
    }

    /// Puts an encoded sub-byte element into its in-memory form: `int2`/`int4`
    /// sign-extended from their low bits, 4-bit floats masked to the low nibble; other
    /// types unchanged. Bits above the element's width are ignored, as tensorstore does.
    pub(crate) fn widen_sub_byte(&self, bytes: &mut [u8]) {
        let (shift, mask) = match self {
            DataType::Int2 => (6, 0),
            DataType::Int4 => (4, 0),
            DataType::MiniFloat(f) if f.mask() != 0xff => (0, f.mask()),
            _ => return,
        };
        if shift > 0 {
            bytes.iter_mut().for_each(|b| *b = (((*b << shift) as i8) >> shift) as u8);
        } else {
            bytes.iter_mut().for_each(|b| *b &= mask);
        }
    }

    /// Keeps only the low bits of sub-byte elements, as tensorstore writes them.
    pub(crate) fn narrow_sub_byte(&self, bytes: &mut [u8]) {
        let mask = match self {
            DataType::Int2 => 0x03,
            DataType::Int4 => 0x0f,
            DataType::MiniFloat(f) => f.mask(),
            _ => return,
        };
        if mask != 0xff {
            bytes.iter_mut().for_each(|b| *b &= mask);
        }
    }

    /// Size of the unit whose bytes a byte-order swap reverses (1 = no swap).
    ///
    /// Complex numbers swap each half; UTF-32 swaps each code point; raw bits, byte
    /// strings and records (whose fields keep their declared order) never swap.
    pub fn swap_unit(&self) -> usize {
        use DataType::*;
        match self {
            Complex64 => 4,
            Complex128 => 8,
            FixedUtf32(_) => 4,
            RawBits(_) | FixedBytes(_) | Bool | Int8 | UInt8 | String | Bytes => 1,
            Int2 | Int4 | MiniFloat(_) | Structured(_) => 1,
            other => other.size().unwrap_or(1),
        }
    }

    /// A short human-readable name (the v3 name where there is one).
    pub fn name(&self) -> String {
        use alloc::format;
        use DataType::*;
        match self {
            Bool => "bool".into(),
            Int8 => "int8".into(),
            Int16 => "int16".into(),
            Int32 => "int32".into(),
            Int64 => "int64".into(),
            UInt8 => "uint8".into(),
            UInt16 => "uint16".into(),
            UInt32 => "uint32".into(),
            UInt64 => "uint64".into(),
            Float16 => "float16".into(),
            BFloat16 => "bfloat16".into(),
            Float32 => "float32".into(),
            Float64 => "float64".into(),
            Complex64 => "complex64".into(),
            Complex128 => "complex128".into(),
            Int2 => "int2".into(),
            Int4 => "int4".into(),
            MiniFloat(f) => f.name().into(),
            Structured(_) => "structured".into(),
            RawBits(b) => format!("r{b}"),
            FixedBytes(n) => format!("fixed_length_bytes[{n}]"),
            FixedUtf32(n) => format!("fixed_length_utf32[{n}]"),
            DateTime64 { .. } => "numpy.datetime64".into(),
            TimeDelta64 { .. } => "numpy.timedelta64".into(),
            String => "string".into(),
            Bytes => "bytes".into(),
        }
    }
}

/// The value of chunks that were never written, as one element.
///
/// For fixed-size types: exactly [`DataType::size`] bytes in native byte order.
/// For variable-length types: the bytes of the value (UTF-8 for strings).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FillValue(pub Vec<u8>);

impl FillValue {
    /// The element's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Largest fixed element size accepted from metadata (the `fixed_length_utf32` limit of the
/// specification, 2^31 - 4 bytes); larger element sizes are rejected before any allocation.
pub(crate) const MAX_ITEM_SIZE: usize = 2_147_483_644;

/// `NaT`: the smallest i64, numpy's "not a time".
pub(crate) const NAT: i64 = i64::MIN;
