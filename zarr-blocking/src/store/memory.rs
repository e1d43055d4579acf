//! A store in memory, for tests and for arrays built on the fly.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use zarr_proto::http::ByteRange;

use crate::store::{slice_range, Store};
use crate::Error;

/// A store in memory; clones share the same contents.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    map: Arc<RwLock<BTreeMap<String, Vec<u8>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Stores `value` at `key` (infallible, unlike [`Store::set`]).
    pub fn set(&self, key: &str, value: Vec<u8>) {
        self.map.write().unwrap_or_else(|e| e.into_inner()).insert(key.into(), value);
    }

    /// Number of stored values.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str, range: Option<ByteRange>) -> Result<Option<Vec<u8>>, Error> {
        zarr_proto::key::validate(key)?;
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(key).map(|v| slice_range(key, v, range)).transpose()
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        zarr_proto::key::validate(key)?;
        MemoryStore::set(self, key, value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        self.map.write().unwrap_or_else(|e| e.into_inner()).remove(key);
        Ok(())
    }

    fn list_dir(&self, prefix: &str) -> Result<(Vec<String>, Vec<String>), Error> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let mut keys = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        for k in map.keys().filter(|k| k.starts_with(prefix)) {
            match k[prefix.len()..].split_once('/') {
                None => keys.push(k.clone()),
                Some((dir, _)) => {
                    let p = format!("{prefix}{dir}/");
                    if prefixes.last() != Some(&p) {
                        prefixes.push(p);
                    }
                }
            }
        }
        prefixes.dedup();
        Ok((keys, prefixes))
    }

    fn concurrency(&self) -> usize {
        1
    }
}
