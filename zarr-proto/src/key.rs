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
    problem(key).map_or(Ok(()), |reason| Err(Error::Store { key: key.into(), reason: reason.into() }))
}

/// What makes `key` unsafe to use as a path below a store's root, if anything.
pub fn problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        return Some("empty key");
    }
    if key.starts_with('/') {
        return Some("absolute path");
    }
    if key.contains('\\') {
        return Some("backslash in key");
    }
    if key.contains('\0') {
        return Some("NUL byte in key");
    }
    key.split('/').find_map(|seg| match seg {
        "" => Some("empty path segment"),
        "." | ".." => Some("`.` or `..` path segment"),
        _ => None,
    })
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
