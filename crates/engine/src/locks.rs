//! In-process per-key async locks. Concurrent duplicates of one request id inside this process queue here, so
//! exactly one of them runs the Alipay call and the others read its recorded result; across replicas the store's
//! unique request-id row plays the same role.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A map of named async mutexes whose entries disappear when nobody holds or waits on them.
#[derive(Debug, Default)]
pub(crate) struct KeyedLocks {
    map: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

impl KeyedLocks {
    /// Waits for exclusive use of `key` within this process.
    pub(crate) async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let mutex = {
            // A poisoned map only means another thread panicked while inserting; the map itself stays valid.
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(key).and_then(Weak::upgrade) {
                Some(existing) => existing,
                None => {
                    map.retain(|_, weak| weak.strong_count() > 0);
                    let fresh = Arc::new(AsyncMutex::new(()));
                    map.insert(key.to_owned(), Arc::downgrade(&fresh));
                    fresh
                }
            }
        };
        mutex.lock_owned().await
    }

    /// [`KeyedLocks::lock`], giving up after `within`: a duplicate must answer within its retry hint rather than
    /// queue behind an original whose Alipay call may take many seconds. `None` when the key is still held.
    pub(crate) async fn lock_within(
        &self,
        key: &str,
        within: std::time::Duration,
    ) -> Option<OwnedMutexGuard<()>> {
        tokio::time::timeout(within, self.lock(key)).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn same_key_is_exclusive_and_entries_are_dropped() {
        let locks = Arc::new(KeyedLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (locks, inside, max_seen) = (locks.clone(), inside.clone(), max_seen.clone());
            tasks.push(tokio::spawn(async move {
                let _guard = locks.lock("k").await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max_seen.load(Ordering::SeqCst), 1);
        let _other = locks.lock("other").await;
        assert_eq!(
            locks.map.lock().unwrap().len(),
            1,
            "the idle key was pruned"
        );
    }
}
