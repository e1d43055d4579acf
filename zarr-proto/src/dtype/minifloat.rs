//! The 8-bit and 4-bit floating-point types of tensorstore and `ml_dtypes`.
//!
//! One element per byte (4-bit types use the low nibble, as tensorstore stores them).
//! Only fill values need arithmetic on them, so conversion is by brute force over the
//! at most 256 codes of a type: exact, and simple enough to check by eye.

/// An 8-bit or 4-bit float format, named as tensorstore and `ml_dtypes` name it.
///
/// The suffixes follow the LLVM/`ml_dtypes` convention: `fn` = finite (no infinity,
/// NaN only where exponent and mantissa are all ones), `uz` = unsigned zero (no `-0`;
/// `0x80` is the only NaN), `b11` = exponent bias 11, `e8m0fnu` = unsigned powers of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum MiniFloat {
    F8E3M4,
    F8E4M3FN,
    F8E4M3FNUZ,
    F8E4M3B11FNUZ,
    F8E5M2,
    F8E5M2FNUZ,
    F8E8M0FNU,
    F4E2M1FN,
}

/// How a format spends its codes on special values.
#[derive(Clone, Copy, PartialEq)]
enum Special {
    /// IEEE 754: all-ones exponent is infinity (zero mantissa) or NaN.
    Ieee,
    /// Finite: all-ones exponent and mantissa is NaN, no infinity.
    Fn,
    /// Finite, unsigned zero: the negative-zero code is the only NaN.
    Fnuz,
    /// No NaN and no infinity (`float4_e2m1fn`): overflow saturates.
    None,
    /// `e8m0fnu`: no sign, no mantissa, `0xff` is NaN, no zero.
    E8M0,
}

struct Format {
    bits: u32,
    man: u32,
    exp: u32,
    bias: i32,
    special: Special,
}

/// 2^k for the small exponents these formats reach.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

impl MiniFloat {
    /// Every format, in the order of [`MiniFloat::name`].
    pub const ALL: [MiniFloat; 8] = [
        MiniFloat::F8E3M4,
        MiniFloat::F8E4M3FN,
        MiniFloat::F8E4M3FNUZ,
        MiniFloat::F8E4M3B11FNUZ,
        MiniFloat::F8E5M2,
        MiniFloat::F8E5M2FNUZ,
        MiniFloat::F8E8M0FNU,
        MiniFloat::F4E2M1FN,
    ];

    /// The zarr v3 `data_type` name tensorstore writes (`"float8_e4m3fn"`, ...), which
    /// is also the `ml_dtypes` attribute name.
    pub fn name(self) -> &'static str {
        match self {
            MiniFloat::F8E3M4 => "float8_e3m4",
            MiniFloat::F8E4M3FN => "float8_e4m3fn",
            MiniFloat::F8E4M3FNUZ => "float8_e4m3fnuz",
            MiniFloat::F8E4M3B11FNUZ => "float8_e4m3b11fnuz",
            MiniFloat::F8E5M2 => "float8_e5m2",
            MiniFloat::F8E5M2FNUZ => "float8_e5m2fnuz",
            MiniFloat::F8E8M0FNU => "float8_e8m0fnu",
            MiniFloat::F4E2M1FN => "float4_e2m1fn",
        }
    }

    /// The format of a v3 name.
    pub fn from_name(name: &str) -> Option<MiniFloat> {
        MiniFloat::ALL.into_iter().find(|f| f.name() == name)
    }

    fn format(self) -> Format {
        let f = |bits, exp, man, bias, special| Format { bits, exp, man, bias, special };
        match self {
            MiniFloat::F8E3M4 => f(8, 3, 4, 3, Special::Ieee),
            MiniFloat::F8E4M3FN => f(8, 4, 3, 7, Special::Fn),
            MiniFloat::F8E4M3FNUZ => f(8, 4, 3, 8, Special::Fnuz),
            MiniFloat::F8E4M3B11FNUZ => f(8, 4, 3, 11, Special::Fnuz),
            MiniFloat::F8E5M2 => f(8, 5, 2, 15, Special::Ieee),
            MiniFloat::F8E5M2FNUZ => f(8, 5, 2, 16, Special::Fnuz),
            MiniFloat::F8E8M0FNU => f(8, 8, 0, 127, Special::E8M0),
            MiniFloat::F4E2M1FN => f(4, 2, 1, 1, Special::None),
        }
    }

    /// The bits of a byte that hold the element (`0x0f` for 4-bit types).
    pub fn mask(self) -> u8 {
        (((1u16 << self.format().bits) - 1) & 0xff) as u8
    }

    /// The value of `code` (bits above [`MiniFloat::mask`] ignored).
    pub fn to_f64(self, code: u8) -> f64 {
        let f = self.format();
        let c = code & self.mask();
        if f.special == Special::E8M0 {
            return if c == 0xff { f64::NAN } else { pow2(i32::from(c) - 127) };
        }
        let sign_bit = 1u8 << (f.bits - 1);
        let e_max = (1u8 << f.exp) - 1;
        let m_max = (1u8 << f.man) - 1;
        let e = (c >> f.man) & e_max;
        let m = c & m_max;
        match f.special {
            Special::Fnuz if c == sign_bit => return f64::NAN,
            Special::Fn if e == e_max && m == m_max => return f64::NAN,
            Special::Ieee if e == e_max && m != 0 => return f64::NAN,
            Special::Ieee if e == e_max => {
                return if c & sign_bit != 0 { f64::NEG_INFINITY } else { f64::INFINITY };
            }
            _ => {}
        }
        let magnitude = if e == 0 {
            f64::from(m) * pow2(1 - f.bias - f.man as i32)
        } else {
            f64::from((1u16 << f.man) as u8 | m) * pow2(i32::from(e) - f.bias - f.man as i32)
        };
        if c & sign_bit != 0 {
            -magnitude
        } else {
            magnitude
        }
    }

    /// The code of NaN this crate writes (and `ml_dtypes` produces), if the type has one.
    pub fn canonical_nan(self) -> Option<u8> {
        let f = self.format();
        match f.special {
            Special::None => None,
            Special::E8M0 => Some(0xff),
            Special::Fnuz => Some(0x80),
            Special::Fn => Some(0x7f),
            // Quiet NaN: all-ones exponent, top mantissa bit.
            Special::Ieee => Some((((1u8 << f.exp) - 1) << f.man) | (1 << (f.man - 1))),
        }
    }

    /// `x` rounded to the nearest code, ties to even; out of range to infinity, NaN
    /// or the largest value (whichever the type has, in that order), as `ml_dtypes` does.
    pub fn from_f64(self, x: f64) -> u8 {
        let f = self.format();
        let nan = self.canonical_nan();
        if x.is_nan() {
            return nan.unwrap_or(0);
        }
        if f.special == Special::E8M0 && x <= 0.0 {
            return 0xff;
        }
        let sign_bit = if f.special == Special::E8M0 { 0 } else { 1u8 << (f.bits - 1) };
        let neg = x.is_sign_negative();
        if x == 0.0 {
            return if neg && f.special != Special::Fnuz { sign_bit } else { 0 };
        }
        // The finite, non-negative codes in increasing order of value.
        let finite = |c: &u8| {
            let v = self.to_f64(*c);
            v.is_finite() && !(v == 0.0 && *c != 0)
        };
        let top = self.mask() & !sign_bit;
        let (mut best, mut best_d) = (0u8, f64::INFINITY);
        let mut max = 0u8;
        for c in (0..=top).filter(finite) {
            let d = (self.to_f64(c) - x.abs()).abs();
            if d < best_d || (d == best_d && c & 1 == 0) {
                (best, best_d) = (c, d);
            }
            max = c;
        }
        let max_v = self.to_f64(max);
        if x.abs() > max_v {
            // Beyond the largest value by half a step (ties to even) overflows.
            let step = max_v - self.to_f64(max - 1);
            let over = x.abs() - max_v;
            if over > step / 2.0 || (over == step / 2.0 && max & 1 == 1) {
                let inf = (f.special == Special::Ieee).then(|| ((1u8 << f.exp) - 1) << f.man);
                best = match (inf, nan) {
                    (Some(i), _) => i,
                    (None, Some(n)) => return n,
                    (None, None) => max,
                };
            }
        }
        if neg {
            best | sign_bit
        } else {
            best
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes of `ml_dtypes` (0.7) for 0, 1, -1, 2, 0.5, -2, as tensorstore wrote them.
    #[test]
    fn codes_match_ml_dtypes() {
        let cases: [(MiniFloat, [u8; 6]); 7] = [
            (MiniFloat::F8E3M4, [0x00, 0x30, 0xb0, 0x40, 0x20, 0xc0]),
            (MiniFloat::F8E4M3FN, [0x00, 0x38, 0xb8, 0x40, 0x30, 0xc0]),
            (MiniFloat::F8E4M3FNUZ, [0x00, 0x40, 0xc0, 0x48, 0x38, 0xc8]),
            (MiniFloat::F8E4M3B11FNUZ, [0x00, 0x58, 0xd8, 0x60, 0x50, 0xe0]),
            (MiniFloat::F8E5M2, [0x00, 0x3c, 0xbc, 0x40, 0x38, 0xc0]),
            (MiniFloat::F8E5M2FNUZ, [0x00, 0x40, 0xc0, 0x44, 0x3c, 0xc4]),
            (MiniFloat::F4E2M1FN, [0x00, 0x02, 0x0a, 0x04, 0x01, 0x0c]),
        ];
        for (f, codes) in cases {
            for (x, c) in [0.0, 1.0, -1.0, 2.0, 0.5, -2.0].into_iter().zip(codes) {
                assert_eq!(f.from_f64(x), c, "{} {x}", f.name());
                assert_eq!(f.to_f64(c), x, "{} {c:#x}", f.name());
            }
        }
        let e8 = MiniFloat::F8E8M0FNU;
        assert_eq!((e8.from_f64(1.0), e8.from_f64(0.5), e8.from_f64(0.0), e8.from_f64(-1.0)), (0x7f, 0x7e, 0xff, 0xff));
        assert!(e8.to_f64(0xff).is_nan());
    }

    #[test]
    fn rounding_overflow_and_specials() {
        let f = MiniFloat::F8E4M3FN;
        assert_eq!(f.to_f64(f.from_f64(0.3)), 0.3125);
        assert_eq!(f.to_f64(0x7e), 448.0);
        assert_eq!(f.from_f64(1000.0), 0x7f);
        assert_eq!(f.from_f64(f64::NAN), 0x7f);
        assert_eq!(f.from_f64(-0.0), 0x80);
        assert_eq!(MiniFloat::F8E5M2.from_f64(1e9), 0x7c);
        assert_eq!(MiniFloat::F8E5M2.from_f64(-1e9), 0xfc);
        assert!(MiniFloat::F8E5M2.to_f64(0x7e).is_nan());
        assert_eq!(MiniFloat::F8E5M2.to_f64(0xfc), f64::NEG_INFINITY);
        assert_eq!(MiniFloat::F8E4M3FNUZ.from_f64(-0.0), 0);
        assert!(MiniFloat::F8E4M3FNUZ.to_f64(0x80).is_nan());
        assert_eq!(MiniFloat::F4E2M1FN.from_f64(100.0), 0x07);
        assert_eq!(MiniFloat::F4E2M1FN.to_f64(0xf7), 6.0);
        // Every non-NaN code converts back to itself.
        for f in MiniFloat::ALL {
            for c in 0..=f.mask() {
                let x = f.to_f64(c);
                if !x.is_nan() {
                    assert_eq!(f.from_f64(x), c, "{} {c:#x}", f.name());
                }
            }
            assert_eq!(MiniFloat::from_name(f.name()), Some(f));
        }
    }
}
