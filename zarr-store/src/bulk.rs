//! Many deletes at once, a bounded number in flight.
//!
//! Shrinking an array deletes every chunk
//! outside its new shape, possibly millions. Both drivers need the same loop, so it
//! lives here once, in an async and a blocking form.

use std::sync::{Arc, Mutex, PoisonError};

use crate::{Store, StoreError, StoreResult};

/// Deletes every key of `keys` with at most `in_flight` deletes at once; the first
/// failure stops the rest (already started ones finish) and is returned.
pub async fn delete_all(
    store: Arc<dyn Store>,
    keys: impl Iterator<Item = String> + Send + 'static,
    in_flight: usize,
) -> StoreResult<()> {
    let keys = Arc::new(Mutex::new(keys));
    let failed: Arc<Mutex<Option<StoreError>>> = Arc::default();
    let workers = (0..in_flight.max(1))
        .map(|_| {
            let (store, keys, failed) = (store.clone(), keys.clone(), failed.clone());
            Box::pin(async move {
                loop {
                    if failed.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
                        return;
                    }
                    let Some(key) = keys.lock().unwrap_or_else(PoisonError::into_inner).next() else { return };
                    if let Err(e) = store.delete(&key).await {
                        failed.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(e);
                        return;
                    }
                }
            }) as crate::BoxFuture<'static, ()>
        })
        .collect();
    crate::join_all(workers).await;
    let failure = failed.lock().unwrap_or_else(PoisonError::into_inner).take();
    failure.map_or(Ok(()), Err)
}

/// [`delete_all`] for sync code: `in_flight` threads call the store's blocking view.
pub fn delete_all_blocking(
    store: &dyn Store,
    keys: impl Iterator<Item = String> + Send,
    in_flight: usize,
) -> StoreResult<()> {
    let keys = Mutex::new(keys);
    let failed: Mutex<Option<StoreError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..in_flight.max(1) {
            scope.spawn(|| loop {
                if failed.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
                    return;
                }
                let Some(key) = keys.lock().unwrap_or_else(PoisonError::into_inner).next() else { return };
                if let Err(e) = store.delete_blocking(&key) {
                    failed.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(e);
                    return;
                }
            });
        }
    });
    failed.into_inner().unwrap_or_else(PoisonError::into_inner).map_or(Ok(()), Err)
}
