//! `NdArray::to_strings` over every string fixture, through both drivers: variable-length
//! strings, fixed-length UTF-32 (v3 `fixed_length_utf32`, v2 `<U n` and `>U n`) and
//! byte strings (v3 `null_terminated_bytes`, v2 `|S n`), trailing NULs stripped as
//! numpy shows them, missing chunks as the fill value.

use zarr_tests::manifest::Manifest;

/// numpy's answer as strings: `U` arrays as they are, `S` arrays as lossy UTF-8.
fn expected(npy: &zarr_tests::npy::Npy) -> Vec<String> {
    match npy.descr.kind {
        'U' => npy.strings().expect("strings"),
        _ => npy.byte_strings().expect("bytes").iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect(),
    }
}

#[test]
fn fixed_and_variable_length_strings_read_as_numpy_shows_them() {
    let manifest = Manifest::load().expect("manifest");
    let mut checked = Vec::new();
    for fx in &manifest.arrays {
        let npy = fx.expected().expect("npy").to_native_c_order();
        if !matches!(npy.descr.kind, 'U' | 'S') {
            continue;
        }
        let dir = fx.dir().to_string_lossy().into_owned();
        let array = zarr_blocking::Array::open(&dir).expect("open");
        if matches!(array.data_type(), zarr_blocking::DataType::Bytes) {
            continue; // variable-length bytes are not strings
        }
        let want = expected(&npy);
        let got = array.read(&zarr_blocking::Selection::all()).expect("read").to_strings();
        assert_eq!(got.as_deref().map_err(|e| e.to_string()), Ok(&want[..]), "{} ({})", fx.name, array.data_type());
        futures_lite::future::block_on(async {
            let array = zarr_smol::Array::open(&dir).await.expect("open");
            let got = array.read(&zarr_smol::Selection::all()).await.expect("read").to_strings().expect("strings");
            assert_eq!(got, want, "{} (async)", fx.name);
        });
        checked.push(fx.name.clone());
    }
    for name in [
        "v3_dtype_fixed_length_utf32",
        "v3_dtype_null_terminated_bytes",
        "v3_bytes_be_U4",
        "v2_dtype_le_U3",
        "v2_dtype_be_U3",
        "v2_dtype_S5",
        "v2_missing_U_fill",
        "v2_missing_S_fill",
        "v3_vlen_utf8",
    ] {
        assert!(checked.iter().any(|c| c == name), "{name} not checked: {checked:?}");
    }
}
