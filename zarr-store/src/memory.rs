//! A store in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use zarr_proto::ByteRange;

use zarr_proto::StoreKind;

use super::{
    apply_range, dir_prefix, ready, split_dir, BoxFuture, Condition, ListDir, Store, StoreResult, Version, Versioned,
    WriteResult,
};

/// A store that keeps every value in memory, behind a shared lock.
///
/// Cloning gives another handle to the same map. Values are [`Bytes`], so reads
/// (ranged or not) never copy.
///
/// Every write stamps its key with the next number of a store-wide generation
/// counter; that number, in decimal, is the key's [`Version`]. The counter is
/// store-wide rather than per key so that a key deleted and written again never
/// gets a number it had before (a per-key counter restarting at 1 would let a
/// writer that read the old object overwrite the new one). Conditions are checked
/// under the same lock as the write.
///
/// # Examples
///
/// ```
/// use zarr_store::{MemoryStore, Store};
/// # futures_lite::future::block_on(async {
/// let store = MemoryStore::new();
/// store.set("a/zarr.json", "{}".into()).await?;
/// assert_eq!(store.get("a/zarr.json", None).await?.as_deref(), Some(&b"{}"[..]));
/// assert_eq!(store.get("a/c/0", None).await?, None);
/// # Ok::<(), zarr_store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    map: Arc<RwLock<Map>>,
}

/// The values and the generation counter, under one lock.
#[derive(Debug, Default)]
struct Map {
    values: BTreeMap<String, (Bytes, u64)>,
    /// The generation of the last write.
    generation: u64,
}

impl Map {
    fn version(&self, key: &str) -> Option<Version> {
        self.values.get(key).map(|(_, g)| generation_version(*g))
    }

    fn holds(&self, key: &str, condition: &Condition) -> bool {
        match condition {
            Condition::Always => true,
            Condition::Absent => !self.values.contains_key(key),
            Condition::Matches(v) => self.version(key).as_ref() == Some(v),
        }
    }

    fn insert(&mut self, key: String, value: Bytes) -> Version {
        self.generation += 1;
        self.values.insert(key, (value, self.generation));
        generation_version(self.generation)
    }
}

fn generation_version(generation: u64) -> Version {
    Version::new(generation.to_string())
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Inserts a value without going through a future (for test setup).
    pub fn insert(&self, key: impl Into<String>, value: impl Into<Bytes>) {
        self.write().insert(key.into(), value.into());
    }

    /// The value of `key` and its version, without going through a future.
    pub fn get_versioned_now(&self, key: &str) -> Option<Versioned> {
        self.read().values.get(key).map(|(v, g)| (v.clone(), Some(generation_version(*g))))
    }

    /// The value of `key`, without going through a future.
    pub fn get_now(&self, key: &str) -> Option<Bytes> {
        self.read().values.get(key).map(|(v, _)| v.clone())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.read().values.len()
    }

    /// True when the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.read().values.is_empty()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.read().values.keys().cloned().collect()
    }

    // A panic while holding the lock cannot leave the map half-updated (every
    // update is a counter increment and one BTreeMap call, which cannot panic between
    // them), so a poisoned lock is still consistent.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Map> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        ready(self.get_blocking(key, range))
    }

    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        ready(self.set_blocking(key, value))
    }

    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        ready(self.delete_blocking(key))
    }

    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        let keys: Vec<String> = self
            .read()
            .values
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        ready(Ok(keys))
    }

    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        ready(self.list_dir_blocking(prefix))
    }

    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }

    fn location(&self) -> String {
        String::from("memory")
    }

    fn get_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
        crate::validate_key(key)?;
        match self.get_now(key) {
            None => Ok(None),
            Some(v) => apply_range(key, v, range).map(Some),
        }
    }

    fn set_blocking(&self, key: &str, value: Bytes) -> StoreResult<()> {
        self.put_blocking(key, value, Condition::Always).map(|_| ())
    }

    fn delete_blocking(&self, key: &str) -> StoreResult<()> {
        self.delete_if_blocking(key, Condition::Always).map(|_| ())
    }

    fn get_versioned(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Versioned>>> {
        ready(self.get_versioned_blocking(key, range))
    }

    fn put(&self, key: &str, value: Bytes, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        ready(self.put_blocking(key, value, condition))
    }

    fn delete_if(&self, key: &str, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        ready(self.delete_if_blocking(key, condition))
    }

    fn supports_conditional_writes(&self) -> bool {
        true
    }

    fn get_versioned_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Versioned>> {
        crate::validate_key(key)?;
        match self.get_versioned_now(key) {
            None => Ok(None),
            Some((v, version)) => Ok(Some((apply_range(key, v, range)?, version))),
        }
    }

    fn put_blocking(&self, key: &str, value: Bytes, condition: Condition) -> StoreResult<WriteResult> {
        crate::validate_key(key)?;
        let mut map = self.write();
        if !map.holds(key, &condition) {
            return Ok(WriteResult::ConditionFailed);
        }
        Ok(WriteResult::Stored(Some(map.insert(key.to_owned(), value))))
    }

    fn delete_if_blocking(&self, key: &str, condition: Condition) -> StoreResult<WriteResult> {
        crate::validate_key(key)?;
        let mut map = self.write();
        if !map.holds(key, &condition) {
            return Ok(WriteResult::ConditionFailed);
        }
        map.values.remove(key);
        Ok(WriteResult::Stored(None))
    }

    fn list_dir_blocking(&self, prefix: &str) -> StoreResult<ListDir> {
        let prefix = dir_prefix(prefix);
        let map = self.read();
        let under = map.values.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix));
        Ok(split_dir(&prefix, under.map(|(k, _)| k.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    #[test]
    fn set_get_delete_list() {
        block_on(async {
            let s = MemoryStore::new();
            s.set("g/a/c/0", Bytes::from_static(b"abcdef")).await.unwrap();
            s.set("g/a/zarr.json", Bytes::from_static(b"{}")).await.unwrap();
            s.set("g/zarr.json", Bytes::from_static(b"{}")).await.unwrap();
            s.set("h", Bytes::from_static(b"x")).await.unwrap();
            assert_eq!(s.get("g/a/c/0", Some(ByteRange::new(1, 2))).await.unwrap().unwrap(), "bc");
            assert_eq!(s.get("g/a/c/0", Some(ByteRange::Suffix(1))).await.unwrap().unwrap(), "f");
            assert!(s.get("g/a/c/0", Some(ByteRange::new(6, 1))).await.is_err());
            assert_eq!(s.get("nope", None).await.unwrap(), None);
            assert_eq!(s.list("g/a/").await.unwrap(), vec!["g/a/c/0", "g/a/zarr.json"]);
            assert_eq!(s.list("").await.unwrap().len(), 4);
            let d = s.list_dir("g").await.unwrap();
            assert_eq!(d.keys, vec!["g/zarr.json"]);
            assert_eq!(d.prefixes, vec!["g/a/"]);
            s.delete("g/a/c/0").await.unwrap();
            s.delete("g/a/c/0").await.unwrap();
            assert_eq!(s.get("g/a/c/0", None).await.unwrap(), None);
            assert_eq!(s.len(), 3);
        });
    }
}
