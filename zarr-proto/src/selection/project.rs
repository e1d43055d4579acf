//! Splits a resolved selection into per-chunk parts and copies decoded chunks into the output.
//!
//! An orthogonal selection is an outer product, so it is projected one dimension
//! at a time: for every chunk a dimension touches, which offsets inside the chunk
//! go to which output positions. A chunk's part is one entry per dimension. Copies
//! move contiguous runs along the last dimension, not single elements.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::metadata::chunk_grid::DimChunks;
use crate::ndarray::ArrayBytes;
use crate::selection::DimIndexer;

/// The elements one chunk contributes along one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum DimItems {
    /// `count` elements at chunk offsets `chunk_start + k * step`, going to output positions `out_start + k`.
    Strided {
        /// Offset of the first element inside the chunk.
        chunk_start: u64,
        /// Stride inside the chunk (negative for reversed slices).
        step: i64,
        /// Output position of the first element.
        out_start: u64,
        /// Number of elements.
        count: u64,
    },
    /// Explicit `(chunk offset, output position)` pairs.
    Pairs(Vec<(u64, u64)>),
}

impl DimItems {
    /// The `(chunk offset, output position)` pairs, expanded.
    pub(crate) fn pairs(&self) -> Vec<(u64, u64)> {
        match self {
            DimItems::Strided { chunk_start, step, out_start, count } => {
                (0..*count).map(|k| ((*chunk_start as i64 + step * k as i64) as u64, out_start + k)).collect()
            }
            DimItems::Pairs(p) => p.clone(),
        }
    }

    /// Whether every element of a chunk of length `extent` is taken, in order.
    pub(crate) fn covers(&self, extent: u64) -> bool {
        matches!(self, DimItems::Strided { chunk_start: 0, step: 1, count, .. } if *count == extent)
    }
}

/// The part of one dimension's selection that falls into one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DimChunkPart {
    /// The chunk's index along the dimension.
    pub chunk: u64,
    /// Which elements, going where.
    pub items: DimItems,
}

/// An upper bound on the number of chunks `indexer` touches, computed without
/// projecting (which allocates one part per chunk).
pub(crate) fn chunks_touched_bound(indexer: &DimIndexer, chunks: &DimChunks) -> u64 {
    match indexer {
        DimIndexer::Index(_) => 1,
        DimIndexer::List(list) => list.len() as u64,
        DimIndexer::Range { len: 0, .. } => 0,
        DimIndexer::Range { start, step, len } => {
            let last = (i128::from(*start) + i128::from(*step) * i128::from(len - 1)) as u64;
            let (a, b) = (chunks.locate(*start).0, chunks.locate(last).0);
            (a.abs_diff(b) + 1).min(*len)
        }
    }
}

/// Projects one dimension's indexer onto its chunk boundaries, chunks in ascending order
/// (descending for reversed slices, so output order is kept).
pub(crate) fn project_dim(indexer: &DimIndexer, chunks: &DimChunks) -> Vec<DimChunkPart> {
    match indexer {
        DimIndexer::Index(i) => {
            let (chunk, off) = chunks.locate(*i);
            alloc::vec![DimChunkPart {
                chunk,
                items: DimItems::Strided { chunk_start: off, step: 1, out_start: 0, count: 1 }
            }]
        }
        DimIndexer::Range { start, step, len } => project_range(*start, *step, *len, chunks),
        DimIndexer::List(list) => {
            let mut by_chunk: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
            for (out, &i) in list.iter().enumerate() {
                let (chunk, off) = chunks.locate(i);
                by_chunk.entry(chunk).or_default().push((off, out as u64));
            }
            by_chunk.into_iter().map(|(chunk, pairs)| DimChunkPart { chunk, items: list_items(pairs) }).collect()
        }
    }
}

/// Sorted consecutive pairs become a strided run (the common `[3,4,5]` case).
fn list_items(pairs: Vec<(u64, u64)>) -> DimItems {
    let consecutive = pairs.windows(2).all(|w| w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1 + 1);
    match (consecutive, pairs.first()) {
        (true, Some(&(chunk_start, out_start))) => {
            DimItems::Strided { chunk_start, step: 1, out_start, count: pairs.len() as u64 }
        }
        _ => DimItems::Pairs(pairs),
    }
}

fn project_range(start: u64, step: i64, len: u64, chunks: &DimChunks) -> Vec<DimChunkPart> {
    let mut parts = Vec::new();
    let mut j = 0u64;
    let s = i128::from(start);
    let k = i128::from(step);
    while j < len {
        let e = (s + i128::from(j) * k) as u64;
        let (chunk, off) = chunks.locate(e);
        let (cstart, clen) = chunks.span(chunk).unwrap_or((e - off, off + 1));
        let end_j = if step > 0 {
            // First j' with s + j'k >= cstart + clen.
            let cend = i128::from(cstart) + i128::from(clen);
            ((cend - s + k - 1) / k) as u64
        } else {
            // First j' with s + j'k < cstart.
            ((s - i128::from(cstart)) / (-k) + 1) as u64
        };
        let count = end_j.min(len) - j;
        parts.push(DimChunkPart { chunk, items: DimItems::Strided { chunk_start: off, step, out_start: j, count } });
        j += count.max(1);
    }
    parts
}

/// An orthogonal selection split into chunks: what a read or a write needs to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrthogonalPlan {
    /// Each dimension's parts, one per chunk it touches.
    pub parts: Vec<Vec<DimChunkPart>>,
    /// The selection array's stride per dimension, in elements (0 for a dimension an
    /// integer index removed).
    pub strides: Vec<u64>,
    /// Every chunk touched: its grid coordinates and the index of its part in each
    /// dimension's list, sorted by coordinates (C order of the grid).
    pub chunks: Vec<(Vec<u64>, Vec<usize>)>,
}

/// Projects an orthogonal selection onto a chunk grid, refusing (before any per-chunk
/// allocation) one that touches more than `max_chunks` chunks.
///
/// # Errors
/// [`Error::LimitExceeded`](crate::Error::LimitExceeded) for too many chunks;
/// [`Error::Selection`](crate::Error::Selection) when the grid's rank is not the selection's.
pub(crate) fn plan_orthogonal(
    dims: &[DimIndexer],
    grid: &[DimChunks],
    max_chunks: u64,
) -> crate::Result<OrthogonalPlan> {
    if dims.len() != grid.len() {
        return Err(crate::Error::Selection(alloc::format!(
            "a selection of {} dimensions on a chunk grid of {}",
            dims.len(),
            grid.len()
        )));
    }
    if dims.iter().any(DimIndexer::is_empty) {
        return Ok(OrthogonalPlan { parts: Vec::new(), strides: Vec::new(), chunks: Vec::new() });
    }
    let touched = dims
        .iter()
        .zip(grid)
        .try_fold(1u64, |n, (ix, g)| n.checked_mul(chunks_touched_bound(ix, g)))
        .unwrap_or(u64::MAX);
    if touched > max_chunks {
        return Err(crate::Error::LimitExceeded {
            what: "chunks touched by one operation",
            requested: touched,
            limit: max_chunks,
        });
    }
    let parts: Vec<Vec<DimChunkPart>> = dims.iter().zip(grid).map(|(ix, g)| project_dim(ix, g)).collect();
    let kept: Vec<u64> = dims.iter().filter(|d| d.keeps_dim()).map(DimIndexer::len).collect();
    let mut kept_strides = c_strides(&kept).into_iter();
    let strides = dims.iter().map(|d| if d.keeps_dim() { kept_strides.next().unwrap_or(0) } else { 0 }).collect();
    // Reversed slices list chunks descending, so sort by coordinates for a
    // deterministic, store-friendly order.
    let mut index = alloc::vec![0usize; dims.len()];
    let mut chunks = Vec::new();
    loop {
        let coords: Vec<u64> = index.iter().enumerate().map(|(d, &i)| parts[d][i].chunk).collect();
        chunks.push((coords, index.clone()));
        let mut d = dims.len();
        let mut advanced = false;
        while d > 0 {
            d -= 1;
            index[d] += 1;
            if index[d] < parts[d].len() {
                advanced = true;
                break;
            }
            index[d] = 0;
        }
        if !advanced {
            break;
        }
    }
    chunks.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(OrthogonalPlan { parts, strides, chunks })
}

/// Groups points by the chunk holding them: per chunk (by grid coordinates, sorted),
/// `(element offset in the chunk, C order of its stored shape; point number)` pairs
/// in point order.
pub(crate) fn group_points(points: &[Vec<u64>], grid: &[DimChunks]) -> BTreeMap<Vec<u64>, Vec<(u64, u64)>> {
    let mut by_chunk: BTreeMap<Vec<u64>, Vec<(u64, u64)>> = BTreeMap::new();
    for (k, p) in points.iter().enumerate() {
        let mut coords = Vec::with_capacity(p.len());
        let mut offsets = Vec::with_capacity(p.len());
        for (g, &i) in grid.iter().zip(p) {
            let (c, o) = g.locate(i);
            coords.push(c);
            offsets.push(o);
        }
        let shape: Vec<u64> = coords.iter().zip(grid).map(|(&c, g)| g.span(c).map_or(1, |s| s.1)).collect();
        let strides = c_strides(&shape);
        let flat = offsets.iter().zip(&strides).map(|(o, s)| o * s).sum();
        by_chunk.entry(coords).or_default().push((flat, k as u64));
    }
    by_chunk
}

/// C-order strides, in elements, of an array of `shape`.
pub(crate) fn c_strides(shape: &[u64]) -> Vec<u64> {
    let mut strides = alloc::vec![1u64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// Copies the selected elements of one decoded chunk into the output.
///
/// `src_shape` is the chunk's stored shape, `items[d]` what dimension `d` takes from it,
/// `out_strides[d]` the output stride of dimension `d` in elements (0 for a dimension an
/// integer index removed). Callers guarantee that offsets are in bounds: they come from
/// projecting a resolved selection onto the same grid.
pub(crate) fn scatter(
    src: &ArrayBytes,
    src_shape: &[u64],
    items: &[&DimItems],
    out: Output<'_>,
    out_strides: &[u64],
    item_size: usize,
) {
    let src_strides = c_strides(src_shape);
    if src_shape.is_empty() {
        copy_run(src, 0, out, 0, 1, item_size);
        return;
    }
    let runs = Runs::new(src_shape, items, &src_strides, out_strides);
    // Match the buffer kinds once per chunk, not once per run.
    match (src, out) {
        (ArrayBytes::Fixed(s), Output::Fixed(o)) => runs.for_each(|src_el, dst_el, len| {
            let n = len * item_size;
            let (s0, d0) = (src_el * item_size, dst_el * item_size);
            o[d0..d0 + n].copy_from_slice(&s[s0..s0 + n]);
        }),
        (ArrayBytes::Variable(s), Output::Variable(o)) => {
            runs.for_each(|src_el, dst_el, len| o[dst_el..dst_el + len].clone_from_slice(&s[src_el..src_el + len]))
        }
        // The read op checks the decoded representation before scattering.
        _ => unreachable!("fixed and variable-length buffers never mix"),
    }
}

/// Writes `value` (one element's bytes) into the output elements [`scatter`] would
/// write for a chunk of `shape` taking `items`: the part of a missing chunk.
pub(crate) fn fill(shape: &[u64], items: &[&DimItems], out: Output<'_>, out_strides: &[u64], value: &[u8]) {
    let strides = c_strides(shape);
    let fill_run = |out: &mut Output<'_>, dst_el: usize, len: usize| match out {
        Output::Fixed(o) => {
            let n = value.len();
            fill_repeat(&mut o[dst_el * n..(dst_el + len) * n], value);
        }
        Output::Variable(o) => o[dst_el..dst_el + len].iter_mut().for_each(|e| {
            e.clear();
            e.extend_from_slice(value);
        }),
    };
    let mut out = out;
    if shape.is_empty() {
        fill_run(&mut out, 0, 1);
        return;
    }
    Runs::new(shape, items, &strides, out_strides).for_each(|_, dst_el, len| fill_run(&mut out, dst_el, len));
}

/// Writes `value` at each output offset of `pairs` (`(chunk offset, output offset)`):
/// the points of a missing chunk.
pub(crate) fn fill_points(pairs: &[(u64, u64)], out: Output<'_>, value: &[u8]) {
    match out {
        Output::Fixed(o) => {
            let n = value.len();
            for &(_, at) in pairs {
                let at = at as usize * n;
                o[at..at + n].copy_from_slice(value);
            }
        }
        Output::Variable(o) => pairs.iter().for_each(|&(_, at)| o[at as usize] = value.to_vec()),
    }
}

/// Fills `out` with repeats of `value`, by doubling copies: log2(n) memcpys instead of
/// n small ones (a zero value is one memset).
fn fill_repeat(out: &mut [u8], value: &[u8]) {
    if value.is_empty() || out.is_empty() {
        return;
    }
    if value.iter().all(|&b| b == 0) {
        out.fill(0);
        return;
    }
    let first = value.len().min(out.len());
    out[..first].copy_from_slice(&value[..first]);
    let mut done = first;
    while done < out.len() {
        let n = done.min(out.len() - done);
        out.copy_within(..n, done);
        done += n;
    }
}

/// Copies elements of a caller's array into the selected positions of one chunk: the
/// inverse of [`scatter`], for writes.
///
/// `chunk_shape` is the chunk's stored shape and `items[d]` the positions dimension `d`
/// writes; `src_strides[d]` is the source's stride of dimension `d` in elements (0 for a
/// dimension an integer index removed; all 0 broadcasts a one-element source). Callers
/// guarantee that offsets are in bounds and both buffers are of the same kind.
pub(crate) fn gather(
    src: &ArrayBytes,
    src_strides: &[u64],
    chunk: Output<'_>,
    chunk_shape: &[u64],
    items: &[&DimItems],
    item_size: usize,
) {
    let chunk_strides = c_strides(chunk_shape);
    if chunk_shape.is_empty() {
        copy_back(src, 0, chunk, 0, 1, item_size);
        return;
    }
    let runs = Runs::new(chunk_shape, items, &chunk_strides, src_strides);
    match (src, chunk) {
        (ArrayBytes::Fixed(s), Output::Fixed(c)) => runs.for_each(|chunk_el, src_el, len| {
            let n = len * item_size;
            let (c0, s0) = (chunk_el * item_size, src_el * item_size);
            c[c0..c0 + n].copy_from_slice(&s[s0..s0 + n]);
        }),
        (ArrayBytes::Variable(s), Output::Variable(c)) => runs
            .for_each(|chunk_el, src_el, len| c[chunk_el..chunk_el + len].clone_from_slice(&s[src_el..src_el + len])),
        // The write op checks the source's kind against the data type up front.
        _ => unreachable!("fixed and variable-length buffers never mix"),
    }
}

/// Copies single elements by `(chunk offset, source offset)` pairs, in elements: the
/// inverse of [`scatter_points`]. With `broadcast`, every element comes from source offset 0.
pub(crate) fn gather_points(
    src: &ArrayBytes,
    pairs: &[(u64, u64)],
    mut chunk: Output<'_>,
    item_size: usize,
    broadcast: bool,
) {
    for &(c, s) in pairs {
        let s = if broadcast { 0 } else { s as usize };
        copy_back(src, s, chunk.reborrow(), c as usize, 1, item_size);
    }
}

/// The runs [`scatter`] copies: an odometer over the outer dimensions, and per position
/// either one contiguous run or single elements along the innermost dimension.
struct Runs<'a> {
    /// `(chunk offset, output position)` pairs of the outer dimensions.
    outer: Vec<Vec<(u64, u64)>>,
    /// Pairs of the innermost dimension when it is not one run.
    inner_pairs: Vec<(u64, u64)>,
    inner_src: u64,
    inner_out: u64,
    /// Length of the contiguous run, when the innermost dimensions form one.
    run_len: Option<u64>,
    src_strides: &'a [u64],
    out_strides: &'a [u64],
}

impl<'a> Runs<'a> {
    /// The runs of one chunk: `shape` and `strides` are the chunk's, `items[d]` the
    /// positions dimension `d` takes, `out_strides` the other array's strides.
    fn new(shape: &[u64], items: &[&DimItems], strides: &'a [u64], out_strides: &'a [u64]) -> Runs<'a> {
        let ndim = shape.len();
        // Merge trailing dimensions that are taken whole and land contiguously in the output:
        // a chunk fully inside a C-order output becomes a few long runs, not many short ones.
        let mut inner = ndim - 1;
        let mut run_len = match items[inner] {
            DimItems::Strided { step: 1, count, .. } if out_strides[inner] == 1 => Some(*count),
            _ => None,
        };
        if let Some(mut len) = run_len {
            while inner > 0 && items[inner].covers(shape[inner]) && out_strides[inner - 1] == len {
                match items[inner - 1] {
                    DimItems::Strided { step: 1, count, .. } => {
                        len *= count;
                        inner -= 1;
                    }
                    _ => break,
                }
            }
            run_len = Some(len);
        }
        let outer: Vec<Vec<(u64, u64)>> = items[..inner].iter().map(|it| it.pairs()).collect();
        let inner_pairs = if run_len.is_none() { items[inner].pairs() } else { Vec::new() };
        let (inner_src, inner_out) = match items[inner] {
            DimItems::Strided { chunk_start, out_start, .. } => (*chunk_start, *out_start),
            DimItems::Pairs(_) => (0, 0),
        };
        Runs { outer, inner_pairs, inner_src, inner_out, run_len, src_strides: strides, out_strides }
    }

    /// Calls `copy(source element, output element, length)` for every run.
    fn for_each(&self, mut copy: impl FnMut(usize, usize, usize)) {
        let inner = self.outer.len();
        let (src_inner_stride, out_inner_stride) = (self.src_strides[inner], self.out_strides[inner]);
        let mut index = alloc::vec![0usize; inner];
        'outer: loop {
            let mut src_off = 0u64;
            let mut dst_off = 0u64;
            for (d, &i) in index.iter().enumerate() {
                let (c, o) = self.outer[d][i];
                src_off += c * self.src_strides[d];
                dst_off += o * self.out_strides[d];
            }
            match self.run_len {
                Some(len) => copy(
                    (src_off + self.inner_src * src_inner_stride) as usize,
                    (dst_off + self.inner_out * out_inner_stride) as usize,
                    len as usize,
                ),
                None => {
                    for &(c, o) in &self.inner_pairs {
                        copy((src_off + c * src_inner_stride) as usize, (dst_off + o * out_inner_stride) as usize, 1);
                    }
                }
            }
            // Advance the odometer over the outer dimensions.
            let mut d = inner;
            loop {
                if d == 0 {
                    break 'outer;
                }
                d -= 1;
                index[d] += 1;
                if index[d] < self.outer[d].len() {
                    break;
                }
                index[d] = 0;
            }
        }
    }
}

/// Copies single elements by `(source offset, output offset)` pairs, in elements.
pub(crate) fn scatter_points(src: &ArrayBytes, pairs: &[(u64, u64)], mut out: Output<'_>, item_size: usize) {
    for &(s, o) in pairs {
        copy_run(src, s as usize, out.reborrow(), o as usize, 1, item_size);
    }
}

/// Where scattered elements go: the op's own output or a caller's buffer.
#[derive(Debug)]
pub(crate) enum Output<'a> {
    /// Fixed-size elements, C order.
    Fixed(&'a mut [u8]),
    /// Variable-length elements.
    Variable(&'a mut [Vec<u8>]),
}

impl Output<'_> {
    fn reborrow(&mut self) -> Output<'_> {
        match self {
            Output::Fixed(b) => Output::Fixed(b),
            Output::Variable(v) => Output::Variable(v),
        }
    }
}

impl<'a> From<&'a mut ArrayBytes> for Output<'a> {
    fn from(bytes: &'a mut ArrayBytes) -> Output<'a> {
        match bytes {
            ArrayBytes::Fixed(b) => Output::Fixed(b),
            ArrayBytes::Variable(v) => Output::Variable(v),
        }
    }
}

/// [`copy_run`] the other way: `len` elements of `src` at `src_el` to `chunk` at `chunk_el`.
fn copy_back(src: &ArrayBytes, src_el: usize, chunk: Output<'_>, chunk_el: usize, len: usize, item_size: usize) {
    match (src, chunk) {
        (ArrayBytes::Fixed(s), Output::Fixed(c)) => {
            let n = len * item_size;
            let (s0, c0) = (src_el * item_size, chunk_el * item_size);
            c[c0..c0 + n].copy_from_slice(&s[s0..s0 + n]);
        }
        (ArrayBytes::Variable(s), Output::Variable(c)) => {
            c[chunk_el..chunk_el + len].clone_from_slice(&s[src_el..src_el + len]);
        }
        // The write op checks the source's kind against the data type up front.
        _ => unreachable!("fixed and variable-length buffers never mix"),
    }
}

fn copy_run(src: &ArrayBytes, src_el: usize, out: Output<'_>, dst_el: usize, len: usize, item_size: usize) {
    match (src, out) {
        (ArrayBytes::Fixed(s), Output::Fixed(o)) => {
            let n = len * item_size;
            let (s0, d0) = (src_el * item_size, dst_el * item_size);
            o[d0..d0 + n].copy_from_slice(&s[s0..s0 + n]);
        }
        (ArrayBytes::Variable(s), Output::Variable(o)) => {
            o[dst_el..dst_el + len].clone_from_slice(&s[src_el..src_el + len]);
        }
        // The read op checks the decoded representation before scattering.
        _ => unreachable!("fixed and variable-length buffers never mix"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn ranges_split_at_chunk_edges() {
        let parts = project_range(3, 2, 7, &DimChunks::Regular(5));
        // elements 3,5,7,9,11,13,15 -> chunks 0:[3] 1:[0,2,4] 2:[1,3] 3:[0]
        let chunks: Vec<u64> = parts.iter().map(|p| p.chunk).collect();
        assert_eq!(chunks, vec![0, 1, 2, 3]);
        assert_eq!(parts[1].items, DimItems::Strided { chunk_start: 0, step: 2, out_start: 1, count: 3 });
        let rev = project_range(9, -4, 3, &DimChunks::Regular(5));
        // elements 9,5,1
        assert_eq!(rev.iter().map(|p| p.chunk).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(rev[0].items, DimItems::Strided { chunk_start: 4, step: -4, out_start: 0, count: 2 });
    }

    #[test]
    fn scatter_merges_contiguous_dims() {
        // A 2x3 chunk placed whole at row 1 of a 3x3 output.
        let src = ArrayBytes::Fixed((0u8..6).collect());
        let mut out = ArrayBytes::Fixed(vec![9u8; 9]);
        let rows = DimItems::Strided { chunk_start: 0, step: 1, out_start: 1, count: 2 };
        let cols = DimItems::Strided { chunk_start: 0, step: 1, out_start: 0, count: 3 };
        scatter(&src, &[2, 3], &[&rows, &cols], (&mut out).into(), &[3, 1], 1);
        assert_eq!(out, ArrayBytes::Fixed(vec![9, 9, 9, 0, 1, 2, 3, 4, 5]));
    }
}
