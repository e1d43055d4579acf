//! Shared helpers for the cross-crate integration tests.
//!
//! - [`npy`]: read and write numpy `.npy` files (the fixtures' expected values).
//! - [`manifest`]: the fixture list written by `tests/fixtures/generate.py`.
//! - [`fixture`]: a fixture's metadata documents and chunk files on disk.
//! - [`compare`]: NaN-aware element comparison in native byte order.
//! - [`drive`]: runs a `ReadOp` over in-memory files in a shuffled order.
//!
//! The fixtures are committed, so nothing here needs Python.

pub mod compare;
pub mod drive;
pub mod fixture;
pub mod manifest;
pub mod nginx;
pub mod npy;

/// The README's code examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
