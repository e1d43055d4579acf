//! Read part of an array with the `s!` macro, as Rust values of the array's type.
//! Uses nothing but `zarr_blocking`.
//!
//! ```text
//! cargo run -p zarr-blocking --example read_slice -- tests/fixtures/data/v3_zstd.zarr
//! ```

use zarr_blocking::{s, Array, Error, Selection};

fn main() -> Result<(), Error> {
    // An int64 array of two dimensions (the default is one of the test fixtures).
    let url = std::env::args().nth(1).unwrap_or_else(|| "tests/fixtures/data/v3_zstd.zarr".into());
    let array = Array::open(&url)?;
    println!("{:?} {}", array.shape(), array.data_type());

    // Rows 0, 1 and 2, every column: numpy's `a[0:3, :]`. The element type must be the
    // array's (`i64` for int64, `f32` for float32, ...); another is an error, not a cast.
    let rows: Vec<i64> = array.read_elements(&s![0..3, ..])?;
    let width = array.shape()[1] as usize;
    for row in rows.chunks(width) {
        println!("{row:?}");
    }

    // The last row (`a[-1, :]`; negative indices count from the end), decoded into a
    // buffer the caller owns and can reuse: the read allocates no output of its own.
    let mut last = vec![0i64; width];
    array.read_into_elements(&s![-1, ..], &mut last)?;
    println!("last row: {last:?}");

    // Selections as text in numpy's syntax, for those made at run time or with a step:
    // every other column of the last row.
    let every_other: Vec<i64> = array.read_elements(&Selection::parse_basic("-1, ::2")?)?;
    println!("last row, every other column: {every_other:?}");
    assert!(every_other.iter().zip(last.iter().step_by(2)).all(|(a, b)| a == b));
    Ok(())
}
