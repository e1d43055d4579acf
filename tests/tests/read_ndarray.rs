//! `read_ndarray` in both drivers: the fixture's values in an `ndarray::ArrayD` of
//! the selection's shape; a Rust type that is not the array's data type is an error.

use zarr_tests::manifest::Manifest;
use zarr_tests::npy::Npy;

fn expected_i32(npy: &Npy) -> Vec<i32> {
    npy.to_native_c_order().data.chunks_exact(4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect()
}

#[test]
fn reads_fixture_selections_as_ndarrays() {
    let manifest = Manifest::load().expect("manifest");
    let fx = manifest.array("v3_bytes_be_i4").expect("fixture");
    let dir = fx.dir().to_string_lossy().into_owned();
    let blocking = zarr_blocking::Array::open(&dir).expect("open");
    for case in &fx.selections {
        if case.kind != zarr_tests::manifest::SelectionKind::Basic {
            continue;
        }
        let selection =
            zarr_blocking::Selection::parse_basic(&case.expr).unwrap_or_else(|e| panic!("{}: {e}", case.expr));
        let npy = case.expected().expect("npy");
        let shape: Vec<usize> = npy.shape.iter().map(|&n| n as usize).collect();
        let a = blocking.read_ndarray::<i32>(&selection).expect("read");
        assert_eq!(a.shape(), &shape[..], "{}", case.expr);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), expected_i32(&npy), "{}", case.expr);
        futures_lite::future::block_on(async {
            let array = zarr_smol::Array::open(&dir).await.expect("open");
            let b = array.read_ndarray::<i32>(&selection).await.expect("read");
            assert_eq!(a, b, "{} (async)", case.expr);
        });
    }
}

#[test]
fn a_wrong_element_type_is_a_data_type_error() {
    let manifest = Manifest::load().expect("manifest");
    let dir = manifest.array("v3_bytes_be_i4").expect("fixture").dir().to_string_lossy().into_owned();
    let array = zarr_blocking::Array::open(&dir).expect("open");
    let e = array.read_ndarray::<f32>(&zarr_blocking::Selection::all()).unwrap_err();
    assert!(matches!(e, zarr_blocking::Error::Proto(zarr_blocking::ProtoError::DataType { .. })), "{e:?}");
    futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open(&dir).await.expect("open");
        let e = array.read_ndarray::<u32>(&zarr_smol::Selection::all()).await.unwrap_err();
        assert!(matches!(e, zarr_smol::Error::Proto(zarr_smol::ProtoError::DataType { .. })), "{e:?}");
    });
}
