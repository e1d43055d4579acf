//! Which state of a stored object a read saw, and what a write requires of it.
//!
//! A read-modify-write of a chunk loses a concurrent writer's update unless the put
//! says "only if the chunk is still what I read". Every store that can check that
//! names object states with a [`Version`] (an HTTP ETag, a memory store's generation
//! counter, a file's identity and modification time) and honours a [`Condition`] on
//! puts and deletes. The core compares nothing itself: a version is opaque, only the
//! store that issued it knows what it means.

use alloc::string::String;
use core::fmt;

/// One state of a stored object, as the store that holds it names it.
///
/// Opaque: two versions are equal when the store issued the same token, and a
/// version is meaningful only to the store that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(String);

impl Version {
    /// Wraps a store's token (an ETag with its quotes, a decimal counter, ...).
    pub fn new(token: impl Into<String>) -> Version {
        Version(token.into())
    }

    /// The token as the store issued it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a put or delete requires of the object's current state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Condition {
    /// No requirement: the write replaces whatever is there.
    #[default]
    Always,
    /// The object must not exist (HTTP `If-None-Match: *`): the writer read it as missing.
    Absent,
    /// The object must still be in this state (HTTP `If-Match`): the writer read this version.
    Matches(Version),
}

impl Condition {
    /// The condition that protects a write based on a read that saw `version`
    /// (`None`: the object was missing).
    pub fn after_read(version: Option<Version>) -> Condition {
        match version {
            Some(v) => Condition::Matches(v),
            None => Condition::Absent,
        }
    }
}
