//! Parses numpy-style index expressions such as `"3:17:2, -1, ..."` or `"[1,5,9], 0:10"`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::selection::{DimSelector, Selection};

/// How the selectors of an expression combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SelectionKind {
    /// Basic/orthogonal indexing (`a[...]`, `a.oindex[...]`).
    #[default]
    Orthogonal,
    /// Coordinate indexing (`a.vindex[...]`): one integer array per dimension.
    Points,
    /// Block indexing (`a.blocks[...]`) over chunk-grid indices.
    Blocks,
}

impl Selection {
    /// Parses a basic/orthogonal expression, as numpy's `a[...]` reads it.
    ///
    /// The same as [`Selection::parse`] with [`SelectionKind::Orthogonal`], the default kind.
    ///
    /// # Errors
    /// Malformed text or zero steps.
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::{DimSelector, Selection};
    /// let sel = Selection::parse_basic("1:4, -1").unwrap();
    /// assert_eq!(
    ///     sel,
    ///     Selection::Orthogonal(vec![DimSelector::Slice { start: Some(1), stop: Some(4), step: 1 }, DimSelector::Index(-1)])
    /// );
    /// assert_eq!(sel.resolve(&[10, 5], &[]).unwrap().output_shape(), vec![3]);
    /// ```
    pub fn parse_basic(expr: &str) -> Result<Selection> {
        Selection::parse(expr, SelectionKind::Orthogonal)
    }

    /// Parses an expression as a selection of `kind`.
    ///
    /// # Errors
    /// Malformed text, zero steps, or selectors `kind` does not allow.
    ///
    /// # Examples
    /// ```
    /// use zarr_proto::{DimSelector, Selection, SelectionKind};
    /// let sel = Selection::parse("3:17:2, -1, ...", SelectionKind::Orthogonal).unwrap();
    /// assert_eq!(
    ///     sel,
    ///     Selection::Orthogonal(vec![
    ///         DimSelector::Slice { start: Some(3), stop: Some(17), step: 2 },
    ///         DimSelector::Index(-1),
    ///         DimSelector::Ellipsis,
    ///     ])
    /// );
    /// ```
    pub fn parse(expr: &str, kind: SelectionKind) -> Result<Selection> {
        let selectors = parse_selectors(expr)?;
        match kind {
            SelectionKind::Orthogonal => Ok(Selection::Orthogonal(selectors)),
            SelectionKind::Blocks => Ok(Selection::Blocks(selectors)),
            SelectionKind::Points => points(selectors),
        }
    }
}

/// Coordinate selections: integer arrays per dimension (scalars broadcast), or one mask.
fn points(selectors: Vec<DimSelector>) -> Result<Selection> {
    if let [DimSelector::Mask(mask)] = selectors.as_slice() {
        return Ok(Selection::Mask(mask.clone()));
    }
    let len = selectors
        .iter()
        .filter_map(|s| match s {
            DimSelector::Array(a) => Some(a.len()),
            _ => None,
        })
        .max()
        .unwrap_or(1);
    selectors
        .into_iter()
        .map(|s| match s {
            DimSelector::Array(a) => Ok(a),
            DimSelector::Index(i) => Ok(alloc::vec![i; len]),
            other => Err(Error::Selection(format!(
                "coordinate selections take integer arrays or integers, not {}",
                super::describe(&[other])
            ))),
        })
        .collect::<Result<Vec<_>>>()
        .map(Selection::Points)
}

/// Splits `expr` at top-level commas and parses each part.
///
/// # Errors
/// Malformed numbers, unbalanced brackets, more than three slice parts, zero steps.
pub(crate) fn parse_selectors(expr: &str) -> Result<Vec<DimSelector>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in expr.chars() {
        match c {
            '[' => {
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth = depth.checked_sub(1).ok_or_else(|| bad(expr, "unbalanced `]`"))?;
                current.push(c);
            }
            ',' if depth == 0 => parts.push(core::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if depth != 0 {
        return Err(bad(expr, "unbalanced `[`"));
    }
    parts.push(current);
    // A trailing comma (`"1,"`) and an empty expression are allowed, as in Python.
    if parts.last().is_some_and(|p| p.trim().is_empty()) {
        parts.pop();
    }
    parts.iter().map(|p| parse_one(p.trim(), expr)).collect()
}

fn parse_one(part: &str, expr: &str) -> Result<DimSelector> {
    if part.is_empty() {
        return Err(bad(expr, "empty index"));
    }
    if part == "..." || part == "Ellipsis" {
        return Ok(DimSelector::Ellipsis);
    }
    if let Some(inner) = part.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(|| bad(expr, "list must end with `]`"))?;
        return parse_list(inner, expr);
    }
    if part.contains(':') {
        let fields: Vec<&str> = part.split(':').map(str::trim).collect();
        if fields.len() > 3 {
            return Err(bad(expr, "a slice has at most three parts"));
        }
        let num = |s: &str| -> Result<Option<i64>> {
            if s.is_empty() || s == "None" {
                Ok(None)
            } else {
                int(s, expr).map(Some)
            }
        };
        let start = num(fields[0])?;
        let stop = num(fields.get(1).copied().unwrap_or(""))?;
        let step = num(fields.get(2).copied().unwrap_or(""))?.unwrap_or(1);
        if step == 0 {
            return Err(bad(expr, "slice step cannot be zero"));
        }
        return Ok(DimSelector::Slice { start, stop, step });
    }
    Ok(DimSelector::Index(int(part, expr)?))
}

fn parse_list(inner: &str, expr: &str) -> Result<DimSelector> {
    let items: Vec<&str> = inner.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let is_bool = |s: &str| matches!(s, "True" | "False" | "true" | "false");
    if !items.is_empty() && items.iter().all(|s| is_bool(s)) {
        return Ok(DimSelector::Mask(items.iter().map(|s| matches!(*s, "True" | "true")).collect()));
    }
    items.iter().map(|s| int(s, expr)).collect::<Result<Vec<_>>>().map(DimSelector::Array)
}

fn int(s: &str, expr: &str) -> Result<i64> {
    s.parse::<i64>().map_err(|_| bad(expr, &format!("`{s}` is not an integer")))
}

fn bad(expr: &str, reason: &str) -> Error {
    Error::Selection(format!("cannot parse `{expr}`: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn parses_lists_and_masks() {
        assert_eq!(
            parse_selectors("[1,5,9], 0:10").unwrap(),
            vec![DimSelector::Array(vec![1, 5, 9]), DimSelector::Slice { start: Some(0), stop: Some(10), step: 1 }]
        );
        assert_eq!(parse_selectors("[True, false]").unwrap(), vec![DimSelector::Mask(vec![true, false])]);
        assert_eq!(parse_selectors("").unwrap(), vec![]);
        assert_eq!(parse_selectors(":").unwrap(), vec![DimSelector::ALL]);
        assert_eq!(parse_selectors("::-1,").unwrap(), vec![DimSelector::Slice { start: None, stop: None, step: -1 }]);
    }

    #[test]
    fn rejects_malformed() {
        for e in ["1:2:3:4", "[1,2", "1]", "a", "1::0", "1,,2", "[1, x]"] {
            assert!(parse_selectors(e).is_err(), "{e}");
        }
    }

    #[test]
    fn points_broadcast_scalars() {
        assert_eq!(
            Selection::parse("[1,2], 3", SelectionKind::Points).unwrap(),
            Selection::Points(vec![vec![1, 2], vec![3, 3]])
        );
        assert!(Selection::parse("1:3, [1]", SelectionKind::Points).is_err());
    }
}
