//! Store keys: validation and joining, shared by every driver.
//!
//! A key is a relative, `/`-separated path. Keys come from metadata and user input,
//! so a filesystem or URL store must never let one escape its root.

use alloc::string::String;

use crate::error::{Error, Result};

/// Checks that `key` is a relative `/`-separated path with no way out of the store's root.
///
/// # Errors
/// [`Error::Store`] naming the key for empty keys or segments, absolute paths,
/// `.`/`..` segments, backslashes and NUL bytes.
pub fn validate(key: &str) -> Result<()> {
    let bad = |reason: &str| Err(Error::Store { key: key.into(), reason: reason.into() });
    if key.is_empty() {
        return bad("empty key");
    }
    if key.starts_with('/') {
        return bad("absolute path");
    }
    if key.contains('\\') {
        return bad("backslash in key");
    }
    if key.contains('\0') {
        return bad("NUL byte in key");
    }
    for seg in key.split('/') {
        match seg {
            "" => return bad("empty path segment"),
            "." | ".." => return bad("`.` or `..` path segment"),
            _ => {}
        }
    }
    Ok(())
}

/// Joins a node path (may be empty) and a key below it.
pub fn join(prefix: &str, key: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        key.into()
    } else {
        let mut s = String::with_capacity(prefix.len() + 1 + key.len());
        s.push_str(prefix);
        s.push('/');
        s.push_str(key);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escapes() {
        for ok in ["zarr.json", "a/c/0/1", ".zarray", "c/0.0.0", "x..y"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "a/../b", "..", "a/./b", "a//b", "a/", "a\\b", "a\0b"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn joins() {
        assert_eq!(join("", "zarr.json"), "zarr.json");
        assert_eq!(join("a/b/", "c/0"), "a/b/c/0");
    }
}
