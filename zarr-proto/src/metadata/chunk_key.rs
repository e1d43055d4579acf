//! Chunk key encodings: how a chunk's grid index becomes a store key.

use alloc::string::String;

/// A chunk key encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKeyEncoding {
    /// v3 `default`: `c/1/2/3` (or `c.1.2.3`); a 0-d array's chunk is `c`.
    Default {
        /// `/` or `.`.
        separator: char,
    },
    /// v2 style: `1.2.3` (or `1/2/3`); a 0-d array's chunk is `0`.
    V2 {
        /// `.` or `/`.
        separator: char,
    },
}

impl ChunkKeyEncoding {
    /// The key of the chunk at grid index `chunk`, relative to the array.
    pub fn key(&self, chunk: &[u64]) -> String {
        use core::fmt::Write;
        let mut key = String::new();
        match *self {
            ChunkKeyEncoding::Default { separator } => {
                key.push('c');
                for i in chunk {
                    key.push(separator);
                    let _ = write!(key, "{i}");
                }
            }
            ChunkKeyEncoding::V2 { separator } => {
                if chunk.is_empty() {
                    key.push('0');
                }
                for (n, i) in chunk.iter().enumerate() {
                    if n > 0 {
                        key.push(separator);
                    }
                    let _ = write!(key, "{i}");
                }
            }
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(ChunkKeyEncoding::Default { separator: '/' }.key(&[1, 2]), "c/1/2");
        assert_eq!(ChunkKeyEncoding::Default { separator: '.' }.key(&[]), "c");
        assert_eq!(ChunkKeyEncoding::V2 { separator: '.' }.key(&[1, 2]), "1.2");
        assert_eq!(ChunkKeyEncoding::V2 { separator: '/' }.key(&[]), "0");
    }
}
