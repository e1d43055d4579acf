//! The part of a stored value a request asks for.
//!
//! Every store reads ranges, not only HTTP ones: a file store seeks, a memory store
//! slices. The type lives here so that stores need not depend on the HTTP rules, while
//! [`header_value`](ByteRange::header_value) and [`parse_header`](ByteRange::parse_header)
//! keep the `Range` header syntax next to the semantics it encodes.

use alloc::format;
use alloc::string::String;
use core::fmt;
use core::ops::Range;

/// A byte range of a stored value, as a request asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteRange {
    /// `length` bytes from `offset` (to the end when `length` is `None`).
    FromStart {
        /// First byte, counted from the start.
        offset: u64,
        /// Number of bytes; `None` reads to the end.
        length: Option<u64>,
    },
    /// The last `n` bytes (e.g. a shard index at the end of a shard).
    Suffix(u64),
}

impl ByteRange {
    /// `length` bytes from `offset`.
    pub fn new(offset: u64, length: u64) -> ByteRange {
        ByteRange::FromStart { offset, length: Some(length) }
    }

    /// True when the range asks for no bytes at all (a zero length or `Suffix(0)`).
    ///
    /// Such a range has no `Range` header; the answer is the empty value.
    pub fn is_empty(&self) -> bool {
        matches!(self, ByteRange::FromStart { length: Some(0), .. } | ByteRange::Suffix(0))
    }

    /// The value of a `Range` request header, e.g. `bytes=0-99`, `bytes=100-`, `bytes=-16`.
    ///
    /// `None` for an [empty](Self::is_empty) range, which HTTP cannot express.
    pub fn header_value(&self) -> Option<String> {
        match *self {
            _ if self.is_empty() => None,
            ByteRange::FromStart { offset, length: None } => Some(format!("bytes={offset}-")),
            ByteRange::FromStart { offset, length: Some(len) } => {
                Some(format!("bytes={offset}-{}", offset.saturating_add(len - 1)))
            }
            ByteRange::Suffix(n) => Some(format!("bytes=-{n}")),
        }
    }

    /// Parses a single-range `Range` header value (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
    ///
    /// Returns `None` for anything else, including multiple ranges and `b < a`;
    /// a server then answers with the whole value, as RFC 9110 allows.
    pub fn parse_header(value: &str) -> Option<ByteRange> {
        let spec = value.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        let (first, last) = (first.trim(), last.trim());
        if first.is_empty() {
            return Some(ByteRange::Suffix(parse_u64(last)?));
        }
        let offset = parse_u64(first)?;
        if last.is_empty() {
            return Some(ByteRange::FromStart { offset, length: None });
        }
        let end = parse_u64(last)?;
        if end < offset {
            return None;
        }
        // `bytes=0-18446744073709551615` spans 2^64 bytes, more than a u64 length holds:
        // no value is that long, so it means "to the end".
        Some(ByteRange::FromStart { offset, length: (end - offset).checked_add(1) })
    }

    /// The bytes this range selects from a value of `total` bytes, clamped at the end
    /// as HTTP servers do.
    ///
    /// `None` when the range starts at or past the end of a non-empty value
    /// (HTTP 416), or asks for a non-empty part of an empty value. An empty range
    /// gives an empty result.
    pub fn resolve(&self, total: u64) -> Option<Range<u64>> {
        match *self {
            ByteRange::FromStart { offset, length: Some(0) } => Some(offset.min(total)..offset.min(total)),
            ByteRange::Suffix(0) => Some(total..total),
            ByteRange::FromStart { offset, length } => {
                if offset >= total {
                    return None;
                }
                let end = match length {
                    Some(len) => offset.saturating_add(len).min(total),
                    None => total,
                };
                Some(offset..end)
            }
            ByteRange::Suffix(n) => {
                if total == 0 {
                    return None;
                }
                Some(total - n.min(total)..total)
            }
        }
    }

    /// The part of `data` this range selects, or `None` as for [`resolve`](Self::resolve).
    pub fn slice<'a>(&self, data: &'a [u8]) -> Option<&'a [u8]> {
        let r = self.resolve(data.len() as u64)?;
        data.get(usize::try_from(r.start).ok()?..usize::try_from(r.end).ok()?)
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ByteRange::FromStart { offset, length: None } => write!(f, "bytes {offset}.."),
            ByteRange::FromStart { offset, length: Some(len) } => {
                write!(f, "bytes {offset}..{}", offset.saturating_add(len))
            }
            ByteRange::Suffix(n) => write!(f, "last {n} bytes"),
        }
    }
}

/// A decimal `u64` with no sign or spaces, as the `Range` and `Content-Range` grammars allow.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_values() {
        assert_eq!(ByteRange::new(0, 100).header_value().as_deref(), Some("bytes=0-99"));
        assert_eq!(ByteRange::new(10, 1).header_value().as_deref(), Some("bytes=10-10"));
        assert_eq!(ByteRange::FromStart { offset: 100, length: None }.header_value().as_deref(), Some("bytes=100-"));
        assert_eq!(ByteRange::Suffix(16).header_value().as_deref(), Some("bytes=-16"));
        assert_eq!(ByteRange::new(5, 0).header_value(), None);
        assert_eq!(ByteRange::Suffix(0).header_value(), None);
        assert_eq!(
            ByteRange::new(u64::MAX - 1, 10).header_value().as_deref(),
            Some("bytes=18446744073709551614-18446744073709551615")
        );
    }

    #[test]
    fn range_header_round_trip() {
        for r in [ByteRange::new(3, 7), ByteRange::FromStart { offset: 9, length: None }, ByteRange::Suffix(4)] {
            let h = r.header_value().unwrap();
            assert_eq!(ByteRange::parse_header(&h), Some(r), "{h}");
        }
        assert_eq!(ByteRange::parse_header("bytes=5-2"), None);
        assert_eq!(ByteRange::parse_header("bytes=0-1,3-4"), None);
        assert_eq!(ByteRange::parse_header("items=0-1"), None);
        assert_eq!(ByteRange::parse_header("bytes=-"), None);
        assert_eq!(ByteRange::parse_header("bytes=+1-2"), None);
        assert_eq!(ByteRange::parse_header("bytes=99999999999999999999-"), None);
    }

    #[test]
    fn resolve_and_slice() {
        let data = b"0123456789";
        assert_eq!(ByteRange::new(2, 3).slice(data), Some(&b"234"[..]));
        assert_eq!(ByteRange::new(8, 5).slice(data), Some(&b"89"[..]));
        assert_eq!(ByteRange::new(10, 1).slice(data), None);
        assert_eq!(ByteRange::Suffix(3).slice(data), Some(&b"789"[..]));
        assert_eq!(ByteRange::Suffix(30).slice(data), Some(&data[..]));
        assert_eq!(ByteRange::Suffix(3).slice(b""), None);
        assert_eq!(ByteRange::new(20, 0).slice(data), Some(&b""[..]));
        assert_eq!(ByteRange::FromStart { offset: 4, length: None }.slice(data), Some(&b"456789"[..]));
        assert_eq!(ByteRange::new(u64::MAX, u64::MAX).resolve(10), None);
    }

    /// Found by the `http_response` fuzz target: `end - offset + 1` overflowed.
    #[test]
    fn range_header_of_every_byte_has_no_length() {
        let r = ByteRange::parse_header("bytes=0-18446744073709551615");
        assert_eq!(r, Some(ByteRange::FromStart { offset: 0, length: None }));
        assert_eq!(
            ByteRange::parse_header("bytes=1-18446744073709551615"),
            Some(ByteRange::FromStart { offset: 1, length: Some(u64::MAX) })
        );
    }
}
