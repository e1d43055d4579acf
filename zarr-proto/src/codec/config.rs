//! Reading codec configurations: the checks every codec makes of its JSON the same way,
//! so that a bad key or value gives the same kind of message whichever codec it is for.

use alloc::string::String;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Reads an optional integer `key` of a codec configuration within `range`.
pub(crate) fn int_key(
    config: &Map<String, Value>,
    key: &str,
    range: core::ops::RangeInclusive<i64>,
    codec: &'static str,
) -> Result<Option<i64>> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(Error::codec(
                codec,
                alloc::format!("`{key}` must be an integer in {}..={}, got {v}", range.start(), range.end()),
            )),
        },
    }
}

/// Rejects keys of a configuration object that are not in `known`.
pub(crate) fn only_keys(config: &Map<String, Value>, known: &[&str], codec: &'static str) -> Result<()> {
    match config.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(Error::codec(codec, alloc::format!("unknown configuration key `{k}`"))),
        None => Ok(()),
    }
}

/// The configuration object of a v3 entry (absent means empty).
pub(crate) fn v3_object<'a>(
    configuration: Option<&'a Value>,
    codec: &'static str,
) -> Result<Option<&'a Map<String, Value>>> {
    match configuration {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(Error::codec(codec, alloc::format!("configuration must be an object, got {other}"))),
    }
}

/// The object of a v2 (numcodecs) codec entry.
pub(crate) fn v2_object<'a>(config: &'a Value, codec: &'static str) -> Result<&'a Map<String, Value>> {
    config.as_object().ok_or_else(|| Error::codec(codec, "v2 codec configuration must be an object"))
}
