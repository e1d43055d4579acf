//! Selections from Rust values: integers, ranges and the [`s!`](crate::s) macro.
//!
//! Integers become [`DimSelector::Index`], ranges become slices with step 1, `..`
//! becomes [`DimSelector::ALL`]. As in numpy, negative values count from the end:
//! `-3..` is the last three elements, `..-1` all but the last. Unsigned values above
//! `i64::MAX` saturate to it (numpy indices are `i64` too), which is out of bounds
//! for any array one could store.

use alloc::vec::Vec;
use core::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

use crate::selection::{DimSelector, Selection};

/// A numpy index from any Rust integer, saturating at `i64::MAX`.
trait ToIndex: Copy {
    fn to_index(self) -> i64;
}

macro_rules! to_index {
    ($($t:ty),*) => {$(
        impl ToIndex for $t {
            fn to_index(self) -> i64 {
                i64::try_from(self).unwrap_or(i64::MAX)
            }
        }

        impl From<$t> for DimSelector {
            fn from(i: $t) -> DimSelector {
                DimSelector::Index(i.to_index())
            }
        }

        impl From<Range<$t>> for DimSelector {
            fn from(r: Range<$t>) -> DimSelector {
                slice(Some(r.start.to_index()), Some(r.end.to_index()))
            }
        }

        impl From<RangeFrom<$t>> for DimSelector {
            fn from(r: RangeFrom<$t>) -> DimSelector {
                slice(Some(r.start.to_index()), None)
            }
        }

        impl From<RangeTo<$t>> for DimSelector {
            fn from(r: RangeTo<$t>) -> DimSelector {
                slice(None, Some(r.end.to_index()))
            }
        }

        impl From<RangeInclusive<$t>> for DimSelector {
            fn from(r: RangeInclusive<$t>) -> DimSelector {
                let (start, end) = r.into_inner();
                slice(Some(start.to_index()), inclusive_stop(end.to_index()))
            }
        }

        impl From<RangeToInclusive<$t>> for DimSelector {
            fn from(r: RangeToInclusive<$t>) -> DimSelector {
                slice(None, inclusive_stop(r.end.to_index()))
            }
        }
    )*};
}

// i32 included: an unsuffixed literal (`s![3, 1..4]`) falls back to it.
to_index!(i32, i64, isize, u32, u64, usize);

fn slice(start: Option<i64>, stop: Option<i64>) -> DimSelector {
    DimSelector::Slice { start, stop, step: 1 }
}

/// The exclusive stop after inclusive `end`: `..=-1` runs to the end, not to before index 0.
fn inclusive_stop(end: i64) -> Option<i64> {
    match end {
        -1 | i64::MAX => None,
        e => Some(e + 1),
    }
}

impl From<RangeFull> for DimSelector {
    /// `..` is the full slice [`DimSelector::ALL`].
    fn from(_: RangeFull) -> DimSelector {
        DimSelector::ALL
    }
}

impl From<Vec<i64>> for DimSelector {
    /// An integer array ([`DimSelector::Array`]).
    fn from(indices: Vec<i64>) -> DimSelector {
        DimSelector::Array(indices)
    }
}

impl From<Vec<bool>> for DimSelector {
    /// A boolean mask ([`DimSelector::Mask`]).
    fn from(mask: Vec<bool>) -> DimSelector {
        DimSelector::Mask(mask)
    }
}

impl<const N: usize> From<[DimSelector; N]> for Selection {
    /// A basic/orthogonal selection, one selector per dimension.
    fn from(selectors: [DimSelector; N]) -> Selection {
        Selection::Orthogonal(selectors.into())
    }
}

impl From<Vec<DimSelector>> for Selection {
    /// A basic/orthogonal selection, one selector per dimension.
    fn from(selectors: Vec<DimSelector>) -> Selection {
        Selection::Orthogonal(selectors)
    }
}

/// Builds a basic/orthogonal [`Selection`](crate::Selection) from Rust values, like numpy's `a[...]`.
///
/// Each comma-separated item goes through [`DimSelector::from`](crate::DimSelector):
/// integers are indices, ranges (`10..20`, `5..`, `..-1`, `0..=4`) are slices with
/// step 1, `..` is a full slice. Anything else that converts works too: a
/// [`DimSelector`](crate::DimSelector) itself (for `DimSelector::Ellipsis`, or a slice with a
/// step), a `Vec<i64>` of indices, a `Vec<bool>` mask. `s![]` selects everything.
///
/// # Examples
/// ```
/// use zarr_proto::{s, DimSelector, Selection};
/// let sel = s![10..20, .., -1];
/// assert_eq!(sel, Selection::parse_basic("10:20, :, -1").unwrap());
///
/// let stepped = DimSelector::Slice { start: None, stop: None, step: 2 };
/// assert_eq!(s![DimSelector::Ellipsis, stepped], Selection::parse_basic("..., ::2").unwrap());
/// ```
#[macro_export]
macro_rules! s {
    ($($item:expr),* $(,)?) => {
        $crate::Selection::from([$($crate::DimSelector::from($item)),*])
    };
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::selection::parse::SelectionKind;

    fn basic(expr: &str) -> Selection {
        Selection::parse(expr, SelectionKind::Orthogonal).unwrap()
    }

    #[test]
    fn integers_are_indices() {
        assert_eq!(DimSelector::from(3), DimSelector::Index(3));
        assert_eq!(DimSelector::from(-2i64), DimSelector::Index(-2));
        assert_eq!(DimSelector::from(7u64), DimSelector::Index(7));
        assert_eq!(DimSelector::from(7usize), DimSelector::Index(7));
        assert_eq!(DimSelector::from(u64::MAX), DimSelector::Index(i64::MAX));
    }

    #[test]
    fn ranges_are_slices() {
        let sl = |start, stop| DimSelector::Slice { start, stop, step: 1 };
        assert_eq!(DimSelector::from(2..5), sl(Some(2), Some(5)));
        assert_eq!(DimSelector::from(2u64..5), sl(Some(2), Some(5)));
        assert_eq!(DimSelector::from(2usize..), sl(Some(2), None));
        assert_eq!(DimSelector::from(..-1i64), sl(None, Some(-1)));
        assert_eq!(DimSelector::from(1..=3), sl(Some(1), Some(4)));
        assert_eq!(DimSelector::from(-3..=-1), sl(Some(-3), None));
        assert_eq!(DimSelector::from(..=2u32), sl(None, Some(3)));
        assert_eq!(DimSelector::from(..), DimSelector::ALL);
        assert_eq!(DimSelector::from(vec![1i64, 3]), DimSelector::Array(vec![1, 3]));
        assert_eq!(DimSelector::from(vec![true, false]), DimSelector::Mask(vec![true, false]));
    }

    #[test]
    fn inclusive_ranges_resolve_like_numpy() {
        let len = |sel: Selection| sel.resolve(&[10], &[]).unwrap().output_shape();
        assert_eq!(len(s![-3..=-1]), vec![3]);
        assert_eq!(len(s![0..=9]), vec![10]);
        assert_eq!(len(s![..=i64::MAX]), vec![10]);
    }

    #[test]
    fn macro_builds_orthogonal_selections() {
        assert_eq!(s![10..20, .., 3], basic("10:20, :, 3"));
        assert_eq!(s![5.., ..-1,], basic("5:, :-1"));
        assert_eq!(s![DimSelector::Ellipsis, 0], basic("..., 0"));
        assert_eq!(s![], Selection::all());
        let (i, r) = (4u64, 1usize..3);
        assert_eq!(s![i, r, vec![0i64, 2]], basic("4, 1:3, [0, 2]"));
        assert_eq!(Selection::from(vec![DimSelector::ALL]), basic(":"));
    }
}
