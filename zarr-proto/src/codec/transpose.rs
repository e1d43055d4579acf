//! The `transpose` codec: permutes the dimensions of a chunk.
//!
//! `order[i]` names the decoded dimension that becomes encoded dimension `i`
//! (numpy's `arr.transpose(order)`). v2 arrays with `order: "F"` map onto this codec
//! with the reversed dimension list.

use alloc::format;
use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::ChunkRepr;
use crate::error::{Error, Result};
use crate::ndarray::ArrayBytes;

const NAME: &str = "transpose";

/// The `transpose` array-to-array codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Transpose {
    /// `order[i]` is the decoded dimension that becomes encoded dimension `i`.
    pub order: alloc::vec::Vec<usize>,
}

impl Transpose {
    /// A transpose with `order`, checked to be a permutation of `0..order.len()`.
    ///
    /// # Errors
    /// When `order` is not a permutation.
    pub fn new(order: Vec<usize>) -> Result<Self> {
        let mut seen = alloc::vec![false; order.len()];
        for &d in &order {
            match seen.get_mut(d) {
                Some(s) if !*s => *s = true,
                _ => return Err(Error::codec(NAME, format!("order {order:?} is not a permutation"))),
            }
        }
        Ok(Transpose { order })
    }

    /// The inverse permutation: `inverse()[d]` is the encoded position of decoded dimension `d`.
    fn inverse(&self) -> Vec<usize> {
        let mut inv = alloc::vec![0; self.order.len()];
        for (i, &d) in self.order.iter().enumerate() {
            if let Some(slot) = inv.get_mut(d) {
                *slot = i;
            }
        }
        inv
    }

    fn check_rank(&self, shape: &[u64]) -> Result<()> {
        if shape.len() != self.order.len() {
            return Err(Error::codec(
                NAME,
                format!("order has {} dimensions, chunk has {}", self.order.len(), shape.len()),
            ));
        }
        Transpose::new(self.order.clone()).map(|_| ())
    }

    /// The representation this codec produces from `decoded`: the shape permuted by `order`.
    ///
    /// # Errors
    /// When the rank of `decoded` differs from the length of `order`.
    pub fn encoded_repr(&self, decoded: &ChunkRepr) -> Result<ChunkRepr> {
        self.check_rank(&decoded.shape)?;
        let shape = self.order.iter().filter_map(|&d| decoded.shape.get(d).copied()).collect();
        Ok(ChunkRepr { shape, dtype: decoded.dtype.clone(), fill_value: decoded.fill_value.clone() })
    }

    /// Decodes `data` into `decoded`'s representation.
    ///
    /// # Errors
    /// Wrong rank, or a number of elements that does not match the shape.
    pub fn decode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        let encoded = self.encoded_repr(decoded)?;
        // The encoded array has shape `encoded.shape`; permuting it by the inverse gives `decoded`.
        permute_array(data, &encoded, &self.inverse())
    }

    /// Encodes `data`, which is in `decoded`'s representation.
    ///
    /// # Errors
    /// Wrong rank, or a number of elements that does not match the shape.
    pub fn encode(&self, data: ArrayBytes, decoded: &ChunkRepr) -> Result<ArrayBytes> {
        self.check_rank(&decoded.shape)?;
        permute_array(data, decoded, &self.order)
    }
}

/// `numpy.transpose(data.reshape(repr.shape), perm)` in C order.
fn permute_array(data: ArrayBytes, repr: &ChunkRepr, perm: &[usize]) -> Result<ArrayBytes> {
    let n = usize::try_from(repr.num_elements()).map_err(|_| Error::codec(NAME, "chunk too large"))?;
    if n == 0 || perm.iter().enumerate().all(|(i, &p)| i == p) || repr.shape.iter().filter(|&&s| s > 1).count() <= 1 {
        // Identity, or at most one non-trivial dimension: element order does not change.
        return check_len(data, n, &repr.dtype).map(|(d, _)| d);
    }
    let (data, item) = check_len(data, n, &repr.dtype)?;
    let shape: Vec<usize> = repr
        .shape
        .iter()
        .map(|&s| usize::try_from(s))
        .collect::<core::result::Result<_, _>>()
        .map_err(|_| Error::codec(NAME, "chunk too large"))?;
    Ok(match data {
        ArrayBytes::Fixed(src) => {
            let mut dst = alloc::vec![0u8; src.len()];
            permute_fixed(&src, &mut dst, &shape, perm, item);
            ArrayBytes::Fixed(dst)
        }
        ArrayBytes::Variable(src) => {
            let mut src: Vec<Option<Vec<u8>>> = src.into_iter().map(Some).collect();
            let mut dst = Vec::with_capacity(n);
            for_each_source_index(&shape, perm, |i| {
                dst.push(src.get_mut(i).and_then(Option::take).unwrap_or_default())
            });
            ArrayBytes::Variable(dst)
        }
    })
}

fn check_len(data: ArrayBytes, n: usize, dtype: &crate::dtype::DataType) -> Result<(ArrayBytes, usize)> {
    match (&data, dtype.size()) {
        (ArrayBytes::Fixed(b), Some(item)) if n.checked_mul(item) == Some(b.len()) => Ok((data, item)),
        (ArrayBytes::Variable(v), None) if v.len() == n => Ok((data, 0)),
        _ => {
            Err(Error::codec(NAME, format!("data does not hold {n} elements of {} for the chunk shape", dtype.name())))
        }
    }
}

/// Calls `f(source linear index)` for every destination element in C order, where the
/// destination has dimension `i` = source dimension `perm[i]`.
fn for_each_source_index(shape: &[usize], perm: &[usize], mut f: impl FnMut(usize)) {
    let ndim = shape.len();
    // C-order strides of the source.
    let mut src_strides = alloc::vec![0usize; ndim];
    let mut acc = 1usize;
    for d in (0..ndim).rev() {
        src_strides[d] = acc;
        acc = acc.saturating_mul(shape[d]);
    }
    let dst_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let dst_strides: Vec<usize> = perm.iter().map(|&p| src_strides[p]).collect();
    if dst_shape.contains(&0) {
        return;
    }
    let mut idx = alloc::vec![0usize; ndim];
    let mut offset = 0usize;
    loop {
        f(offset);
        let mut d = ndim;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            offset += dst_strides[d];
            if idx[d] < dst_shape[d] {
                break;
            }
            offset -= dst_strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}

/// Permutes fixed-size elements: the innermost destination dimension is copied in a tight
/// strided loop; a contiguous innermost source dimension is copied as a block.
fn permute_fixed(src: &[u8], dst: &mut [u8], shape: &[usize], perm: &[usize], item: usize) {
    let ndim = shape.len();
    let mut src_strides = alloc::vec![0usize; ndim];
    let mut acc = 1usize;
    for d in (0..ndim).rev() {
        src_strides[d] = acc;
        acc *= shape[d];
    }
    // Collapse the outer dims; run the last destination dimension as the inner loop.
    let last = ndim - 1;
    let inner_len = shape[perm[last]];
    let inner_stride = src_strides[perm[last]] * item;
    let outer_shape: Vec<usize> = perm[..last].iter().map(|&p| shape[p]).collect();
    let outer_perm_strides: Vec<usize> = perm[..last].iter().map(|&p| src_strides[p]).collect();
    let mut out = 0usize;
    let mut visit = |base: usize| {
        let base = base * item;
        if inner_stride == item {
            let len = inner_len * item;
            dst[out..out + len].copy_from_slice(&src[base..base + len]);
            out += len;
        } else {
            let mut s = base;
            for _ in 0..inner_len {
                dst[out..out + item].copy_from_slice(&src[s..s + item]);
                out += item;
                s += inner_stride;
            }
        }
    };
    if outer_shape.is_empty() {
        visit(0);
        return;
    }
    // Iterate the outer destination dims in C order.
    let mut idx = alloc::vec![0usize; last];
    let mut offset = 0usize;
    loop {
        visit(offset);
        let mut d = last;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            offset += outer_perm_strides[d];
            if idx[d] < outer_shape[d] {
                break;
            }
            offset -= outer_perm_strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}

fn parse_order(value: Option<&Value>) -> Result<Vec<usize>> {
    let list = value
        .and_then(Value::as_array)
        .ok_or_else(|| Error::codec(NAME, "configuration needs an `order` list of dimension indices"))?;
    let order = list
        .iter()
        .map(|v| v.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
        Error::codec(NAME, format!("order {} is not a list of dimension indices", Value::Array(list.clone())))
    })?;
    Ok(order)
}

impl Transpose {
    /// Builds the codec from its v3 `configuration` object `{"order": [...]}`.
    ///
    /// # Errors
    /// A missing `order`, or one that is not a permutation.
    pub fn from_v3(configuration: Option<&serde_json::Value>) -> Result<Self> {
        Transpose::new(parse_order(configuration.and_then(|c| c.get("order")))?)
    }

    /// The v3 metadata entry `{"name": ..., "configuration": ...}`.
    pub fn to_v3(&self) -> serde_json::Value {
        json!({"name": NAME, "configuration": {"order": self.order}})
    }

    /// Builds the codec from an object `{"id": "transpose", "order": [...]}` (v2 has no such
    /// filter; it expresses `order: "F"` in `.zarray`).
    ///
    /// # Errors
    /// As [`Transpose::from_v3`].
    pub fn from_v2(config: &serde_json::Value) -> Result<Self> {
        Transpose::new(parse_order(config.get("order"))?)
    }

    /// The object `{"id": "transpose", "order": [...]}`.
    pub fn to_v2(&self) -> serde_json::Value {
        json!({"id": NAME, "order": self.order})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{DataType, FillValue};

    fn repr(shape: &[u64], dtype: DataType) -> ChunkRepr {
        ChunkRepr { shape: shape.to_vec(), dtype, fill_value: FillValue::default() }
    }

    /// Naive oracle: element at decoded index `i` goes to encoded index `j` with `j[k] = i[order[k]]`.
    fn naive(src: &[u32], shape: &[usize], order: &[usize]) -> Vec<u32> {
        let n: usize = shape.iter().product();
        let eshape: Vec<usize> = order.iter().map(|&o| shape[o]).collect();
        let mut out = alloc::vec![0u32; n];
        for (lin, &v) in src.iter().enumerate() {
            let mut rem = lin;
            let mut idx = alloc::vec![0; shape.len()];
            for d in (0..shape.len()).rev() {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            let mut e = 0;
            for k in 0..order.len() {
                e = e * eshape[k] + idx[order[k]];
            }
            out[e] = v;
        }
        out
    }

    fn to_bytes(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    #[test]
    fn matches_numpy_transpose_in_3d() {
        let shape = [2usize, 3, 4];
        let src: Vec<u32> = (0..24).collect();
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [0, 2, 1], [2, 0, 1], [1, 2, 0]] {
            let t = Transpose::new(order.to_vec()).unwrap();
            let r = repr(&[2, 3, 4], DataType::UInt32);
            let enc = t.encode(ArrayBytes::Fixed(to_bytes(&src)), &r).unwrap();
            assert_eq!(enc, ArrayBytes::Fixed(to_bytes(&naive(&src, &shape, &order))), "{order:?}");
            assert_eq!(t.encoded_repr(&r).unwrap().shape, order.iter().map(|&o| shape[o] as u64).collect::<Vec<_>>());
            assert_eq!(t.decode(enc, &r).unwrap(), ArrayBytes::Fixed(to_bytes(&src)));
        }
    }

    #[test]
    fn numpy_reference_2x3_transposed() {
        // numpy: np.arange(6).reshape(2, 3).T.ravel() == [0, 3, 1, 4, 2, 5]
        let t = Transpose::from_v3(Some(&json!({"order": [1, 0]}))).unwrap();
        let r = repr(&[2, 3], DataType::UInt8);
        let enc = t.encode(ArrayBytes::Fixed((0..6).collect()), &r).unwrap();
        assert_eq!(enc, ArrayBytes::Fixed(alloc::vec![0, 3, 1, 4, 2, 5]));
    }

    #[test]
    fn variable_elements_are_permuted() {
        let t = Transpose::new(alloc::vec![1, 0]).unwrap();
        let r = repr(&[2, 2], DataType::String);
        let src = ArrayBytes::Variable(alloc::vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"dd".to_vec()]);
        let enc = t.encode(src.clone(), &r).unwrap();
        assert_eq!(enc, ArrayBytes::Variable(alloc::vec![b"a".to_vec(), b"c".to_vec(), b"b".to_vec(), b"dd".to_vec()]));
        assert_eq!(t.decode(enc, &r).unwrap(), src);
    }

    #[test]
    fn rejects_bad_orders_and_ranks() {
        assert!(Transpose::from_v3(Some(&json!({"order": [0, 0]}))).is_err());
        assert!(Transpose::from_v3(Some(&json!({"order": [0, 2]}))).is_err());
        assert!(Transpose::from_v3(Some(&json!({"order": [-1]}))).is_err());
        assert!(Transpose::from_v3(None).is_err());
        let t = Transpose::new(alloc::vec![1, 0]).unwrap();
        assert!(t.encoded_repr(&repr(&[2, 2, 2], DataType::UInt8)).is_err());
        assert!(t.decode(ArrayBytes::Fixed(alloc::vec![0; 3]), &repr(&[2, 2], DataType::UInt8)).is_err());
        // A hand-built non-permutation does not panic.
        let bad = Transpose { order: alloc::vec![5, 5] };
        assert!(bad.decode(ArrayBytes::Fixed(alloc::vec![0; 4]), &repr(&[2, 2], DataType::UInt8)).is_err());
    }

    #[test]
    fn metadata_round_trip() {
        let t = Transpose::new(alloc::vec![2, 0, 1]).unwrap();
        assert_eq!(t.to_v3(), json!({"name": "transpose", "configuration": {"order": [2, 0, 1]}}));
        assert_eq!(Transpose::from_v3(t.to_v3().get("configuration")).unwrap(), t);
    }

    proptest::proptest! {
        #[test]
        fn round_trips_any_permutation(dims in proptest::collection::vec(1usize..5, 1..5), seed in 0u64..1000) {
            let n: usize = dims.iter().product();
            let mut order: Vec<usize> = (0..dims.len()).collect();
            // Deterministic shuffle from the seed.
            let mut s = seed;
            for i in (1..order.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let src: Vec<u32> = (0..n as u32).collect();
            let shape: Vec<u64> = dims.iter().map(|&d| d as u64).collect();
            let r = repr(&shape, DataType::UInt32);
            let t = Transpose::new(order.clone()).unwrap();
            let enc = t.encode(ArrayBytes::Fixed(to_bytes(&src)), &r).unwrap();
            proptest::prop_assert_eq!(&enc, &ArrayBytes::Fixed(to_bytes(&naive(&src, &dims, &order))));
            proptest::prop_assert_eq!(t.decode(enc, &r).unwrap(), ArrayBytes::Fixed(to_bytes(&src)));
        }
    }
}
