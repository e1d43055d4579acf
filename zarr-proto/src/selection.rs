//! Selections with numpy semantics, and their projection onto a chunk grid.
//!
//! A [`Selection`] says which elements to read: basic and orthogonal indexing
//! (integers, slices, integer arrays and boolean masks per dimension), coordinate
//! indexing (point lists, or a mask over the whole array) and block indexing
//! (chunk-grid indices). [`Selection::resolve`] checks it against an array's shape;
//! the [`project`] module splits the result into per-chunk parts.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::metadata::chunk_grid::DimChunks;

mod from;
pub(crate) mod parse;
pub(crate) mod project;

/// One entry of a numpy-style index expression.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DimSelector {
    /// A single index; negative counts from the end. Drops the dimension (except in block selections).
    Index(i64),
    /// `start:stop:step` with numpy defaults for omitted parts.
    Slice {
        /// First index (default 0, or the end for a negative step).
        start: Option<i64>,
        /// One past the last index (default the end, or before the start for a negative step).
        stop: Option<i64>,
        /// Stride; never zero.
        step: i64,
    },
    /// `...`: as many full slices as needed.
    Ellipsis,
    /// An integer array: any order, repeats allowed.
    Array(Vec<i64>),
    /// A boolean mask of the dimension's length.
    Mask(Vec<bool>),
}

impl DimSelector {
    /// The full slice `:`.
    pub const ALL: DimSelector = DimSelector::Slice { start: None, stop: None, step: 1 };
}

/// Which elements of an array to read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// Basic and orthogonal (`oindex`) indexing: one selector per dimension, combined
    /// as an outer product. Fewer selectors than dimensions select the rest fully.
    Orthogonal(Vec<DimSelector>),
    /// Coordinate (`vindex`) indexing: `coords[d][k]` is the index in dimension `d` of point `k`.
    Points(Vec<Vec<i64>>),
    /// Coordinate indexing by a boolean mask over the whole array, C order.
    Mask(Vec<bool>),
    /// Block indexing: selectors over chunk-grid indices (integers keep their dimension).
    Blocks(Vec<DimSelector>),
}

impl Selection {
    /// Everything.
    pub fn all() -> Selection {
        Selection::Orthogonal(Vec::new())
    }
}

/// The elements one dimension of an orthogonal selection reads, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DimIndexer {
    /// One element; the dimension does not appear in the output.
    Index(u64),
    /// `len` elements `start, start + step, ...` (step may be negative).
    Range {
        /// First element.
        start: u64,
        /// Stride.
        step: i64,
        /// Number of elements.
        len: u64,
    },
    /// Arbitrary elements, in output order.
    List(Vec<u64>),
}

impl DimIndexer {
    /// Number of output elements along this dimension (1 for an index).
    pub fn len(&self) -> u64 {
        match self {
            DimIndexer::Index(_) => 1,
            DimIndexer::Range { len, .. } => *len,
            DimIndexer::List(v) => v.len() as u64,
        }
    }

    /// Whether the dimension is kept in the output.
    pub fn keeps_dim(&self) -> bool {
        !matches!(self, DimIndexer::Index(_))
    }

    /// Whether no element is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A selection checked against an array's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolvedSelection {
    /// One indexer per array dimension.
    Orthogonal(Vec<DimIndexer>),
    /// Points: `points[k]` is the k-th point's index per dimension.
    Points(Vec<Vec<u64>>),
}

impl ResolvedSelection {
    /// Shape of the output array.
    pub fn output_shape(&self) -> Vec<u64> {
        match self {
            ResolvedSelection::Orthogonal(dims) => dims.iter().filter(|d| d.keeps_dim()).map(DimIndexer::len).collect(),
            ResolvedSelection::Points(points) => vec![points.len() as u64],
        }
    }
}

impl Selection {
    /// Checks the selection against `shape` (and, for blocks, the chunk grid).
    ///
    /// # Errors
    /// Out-of-range indices, zero steps, wrong number of dimensions, masks or
    /// point lists of the wrong length.
    pub fn resolve(&self, shape: &[u64], grid: &[DimChunks]) -> Result<ResolvedSelection> {
        match self {
            Selection::Orthogonal(sel) => {
                let sel = expand_ellipsis(sel, shape.len())?;
                let dims = sel
                    .iter()
                    .zip(shape)
                    .enumerate()
                    .map(|(d, (s, &n))| resolve_dim(s, n, d))
                    .collect::<Result<_>>()?;
                Ok(ResolvedSelection::Orthogonal(dims))
            }
            Selection::Blocks(sel) => {
                let sel = expand_ellipsis(sel, shape.len())?;
                let mut dims = Vec::with_capacity(shape.len());
                for (d, (s, &n)) in sel.iter().zip(shape).enumerate() {
                    let chunks = &grid[d];
                    let count = chunks.count(n);
                    let blocks = match resolve_dim(s, count, d)? {
                        DimIndexer::Index(i) => (i, i + 1),
                        DimIndexer::Range { start, step: 1, len } => (start, start + len),
                        _ => {
                            return Err(Error::Selection(format!(
                                "block selection in dimension {d} must be an index or a slice with step 1"
                            )))
                        }
                    };
                    let lo = if blocks.0 >= blocks.1 { 0 } else { chunks.span(blocks.0).map_or(0, |s| s.0).min(n) };
                    let hi = if blocks.0 >= blocks.1 {
                        0
                    } else {
                        chunks.span(blocks.1 - 1).map_or(n, |(s, l)| s.saturating_add(l)).min(n)
                    };
                    dims.push(DimIndexer::Range { start: lo, step: 1, len: hi.saturating_sub(lo) });
                }
                Ok(ResolvedSelection::Orthogonal(dims))
            }
            Selection::Points(coords) => {
                if coords.len() != shape.len() {
                    return Err(Error::Selection(format!(
                        "coordinate selection has {} index arrays, the array has {} dimensions",
                        coords.len(),
                        shape.len()
                    )));
                }
                let npoints = coords.first().map_or(1, Vec::len);
                if let Some(bad) = coords.iter().position(|c| c.len() != npoints) {
                    return Err(Error::Selection(format!(
                        "index arrays differ in length: {} in dimension 0, {} in dimension {bad}",
                        npoints,
                        coords[bad].len()
                    )));
                }
                let mut points = Vec::with_capacity(npoints);
                for k in 0..npoints {
                    let p = coords
                        .iter()
                        .zip(shape)
                        .enumerate()
                        .map(|(d, (c, &n))| wrap_index(c[k], n, d))
                        .collect::<Result<Vec<_>>>()?;
                    points.push(p);
                }
                Ok(ResolvedSelection::Points(points))
            }
            Selection::Mask(mask) => {
                let total = shape.iter().try_fold(1u64, |a, &n| a.checked_mul(n));
                if total != Some(mask.len() as u64) {
                    return Err(Error::Selection(format!(
                        "mask of {} elements for an array of shape {:?}",
                        mask.len(),
                        shape
                    )));
                }
                let mut points = Vec::new();
                for (flat, _) in mask.iter().enumerate().filter(|(_, &m)| m) {
                    let mut rem = flat as u64;
                    let mut p = vec![0u64; shape.len()];
                    for d in (0..shape.len()).rev() {
                        p[d] = rem % shape[d];
                        rem /= shape[d];
                    }
                    points.push(p);
                }
                Ok(ResolvedSelection::Points(points))
            }
        }
    }
}

/// Replaces `...` (or a short list) by full slices so there is one selector per dimension.
fn expand_ellipsis(sel: &[DimSelector], ndim: usize) -> Result<Vec<DimSelector>> {
    let ellipses = sel.iter().filter(|s| matches!(s, DimSelector::Ellipsis)).count();
    if ellipses > 1 {
        return Err(Error::Selection("more than one `...`".into()));
    }
    let explicit = sel.len() - ellipses;
    if explicit > ndim {
        return Err(Error::Selection(format!("{explicit} indices for an array of {ndim} dimensions")));
    }
    let mut out = Vec::with_capacity(ndim);
    for s in sel {
        if matches!(s, DimSelector::Ellipsis) {
            out.extend(core::iter::repeat_n(DimSelector::ALL, ndim - explicit));
        } else {
            out.push(s.clone());
        }
    }
    out.resize(ndim, DimSelector::ALL);
    Ok(out)
}

fn wrap_index(i: i64, n: u64, dim: usize) -> Result<u64> {
    let wrapped = if i < 0 { i128::from(n) + i128::from(i) } else { i128::from(i) };
    if wrapped < 0 || wrapped >= i128::from(n) {
        return Err(Error::Selection(format!("index {i} is out of bounds for dimension {dim} of length {n}")));
    }
    Ok(wrapped as u64)
}

/// numpy's `slice.indices(n)`: clamps start/stop and counts the elements.
fn slice_range(start: Option<i64>, stop: Option<i64>, step: i64, n: u64, dim: usize) -> Result<DimIndexer> {
    if step == 0 {
        return Err(Error::Selection(format!("slice step cannot be zero (dimension {dim})")));
    }
    let n = i128::from(n);
    let clamp = |v: Option<i64>, default: i128| -> i128 {
        match v {
            None => default,
            Some(v) => {
                let v = i128::from(v);
                let v = if v < 0 { v + n } else { v };
                if step > 0 {
                    v.clamp(0, n)
                } else {
                    v.clamp(-1, n - 1)
                }
            }
        }
    };
    let (start, stop) =
        if step > 0 { (clamp(start, 0), clamp(stop, n)) } else { (clamp(start, n - 1), clamp(stop, -1)) };
    let step_i = i128::from(step);
    let len = if step > 0 {
        if stop > start {
            (stop - start + step_i - 1) / step_i
        } else {
            0
        }
    } else if start > stop {
        (start - stop + (-step_i) - 1) / (-step_i)
    } else {
        0
    };
    Ok(DimIndexer::Range { start: if len == 0 { 0 } else { start as u64 }, step, len: len as u64 })
}

fn resolve_dim(sel: &DimSelector, n: u64, dim: usize) -> Result<DimIndexer> {
    match sel {
        DimSelector::Index(i) => Ok(DimIndexer::Index(wrap_index(*i, n, dim)?)),
        DimSelector::Slice { start, stop, step } => slice_range(*start, *stop, *step, n, dim),
        DimSelector::Ellipsis => Err(Error::Selection("unexpanded `...`".into())),
        DimSelector::Array(idx) => {
            Ok(DimIndexer::List(idx.iter().map(|&i| wrap_index(i, n, dim)).collect::<Result<_>>()?))
        }
        DimSelector::Mask(mask) => {
            if mask.len() as u64 != n {
                return Err(Error::Selection(format!(
                    "boolean mask of length {} for dimension {dim} of length {n}",
                    mask.len()
                )));
            }
            Ok(DimIndexer::List(mask.iter().enumerate().filter(|(_, &m)| m).map(|(i, _)| i as u64).collect()))
        }
    }
}

/// Shorthand used in messages: the selection as numpy would print it.
pub(crate) fn describe(sel: &[DimSelector]) -> String {
    let parts: Vec<String> = sel
        .iter()
        .map(|s| match s {
            DimSelector::Index(i) => format!("{i}"),
            DimSelector::Slice { start, stop, step } => {
                let f = |v: &Option<i64>| v.map(|v| format!("{v}")).unwrap_or_default();
                if *step == 1 {
                    format!("{}:{}", f(start), f(stop))
                } else {
                    format!("{}:{}:{step}", f(start), f(stop))
                }
            }
            DimSelector::Ellipsis => "...".into(),
            DimSelector::Array(a) => format!("{a:?}"),
            DimSelector::Mask(m) => format!("<mask of {}>", m.len()),
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: Option<i64>, stop: Option<i64>, step: i64, n: u64) -> Vec<u64> {
        match slice_range(start, stop, step, n, 0).unwrap() {
            DimIndexer::Range { start, step, len } => {
                (0..len).map(|k| (start as i64 + step * k as i64) as u64).collect()
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn slices_follow_numpy() {
        assert_eq!(range(Some(3), Some(17), 2, 20), vec![3, 5, 7, 9, 11, 13, 15]);
        assert_eq!(range(None, None, -1, 4), vec![3, 2, 1, 0]);
        assert_eq!(range(Some(-2), None, 1, 5), vec![3, 4]);
        assert_eq!(range(Some(10), Some(2), -3, 8), vec![7, 4]);
        assert_eq!(range(Some(5), Some(2), 1, 8), Vec::<u64>::new());
        assert_eq!(range(Some(-100), Some(100), 1, 3), vec![0, 1, 2]);
        assert!(slice_range(None, None, 0, 3, 0).is_err());
    }

    #[test]
    fn ellipsis_and_short_selections() {
        let sel = Selection::Orthogonal(vec![DimSelector::Ellipsis, DimSelector::Index(-1)]);
        let r = sel.resolve(&[4, 5, 6], &[]).unwrap();
        assert_eq!(r.output_shape(), vec![4, 5]);
        let sel = Selection::Orthogonal(vec![DimSelector::Index(1)]);
        assert_eq!(sel.resolve(&[4, 5], &[]).unwrap().output_shape(), vec![5]);
        assert!(Selection::Orthogonal(vec![DimSelector::Index(4)]).resolve(&[4], &[]).is_err());
        assert!(Selection::Orthogonal(vec![DimSelector::Ellipsis, DimSelector::Ellipsis]).resolve(&[4], &[]).is_err());
    }

    #[test]
    fn blocks_cover_chunks() {
        let grid = [DimChunks::Regular(5)];
        let r = Selection::Blocks(vec![DimSelector::Index(2)]).resolve(&[12], &grid).unwrap();
        assert_eq!(r, ResolvedSelection::Orthogonal(vec![DimIndexer::Range { start: 10, step: 1, len: 2 }]));
    }

    #[test]
    fn mask_to_points() {
        let r = Selection::Mask(vec![false, true, false, true]).resolve(&[2, 2], &[]).unwrap();
        assert_eq!(r, ResolvedSelection::Points(vec![vec![0, 1], vec![1, 1]]));
    }
}
