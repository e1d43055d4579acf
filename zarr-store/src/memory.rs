//! A store in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use zarr_proto::ByteRange;

use zarr_proto::StoreKind;

use super::{apply_range, dir_prefix, split_dir, BoxFuture, ListDir, Store, StoreResult};

/// A ready future holding `result`.
fn ready<T: Send + 'static>(result: StoreResult<T>) -> BoxFuture<'static, StoreResult<T>> {
    Box::pin(async move { result })
}

/// A store that keeps every value in memory, behind a shared lock.
///
/// Cloning gives another handle to the same map. Values are [`Bytes`], so reads
/// (ranged or not) never copy.
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
    map: Arc<RwLock<BTreeMap<String, Bytes>>>,
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

    /// The value of `key`, without going through a future.
    pub fn get_now(&self, key: &str) -> Option<Bytes> {
        self.read().get(key).cloned()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    // A panic while holding the lock cannot leave the map half-updated (every
    // update is one BTreeMap call), so a poisoned lock is still consistent.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Bytes>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Bytes>> {
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
        crate::validate_key(key)?;
        self.write().insert(key.to_owned(), value);
        Ok(())
    }

    fn delete_blocking(&self, key: &str) -> StoreResult<()> {
        crate::validate_key(key)?;
        self.write().remove(key);
        Ok(())
    }

    fn list_dir_blocking(&self, prefix: &str) -> StoreResult<ListDir> {
        let prefix = dir_prefix(prefix);
        let map = self.read();
        let under = map.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix));
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
