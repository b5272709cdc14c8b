//! Bindings ready to charge, kept in memory so that an auto-debit Pay need not read its binding from the store
//! first (the Pay's only read, see docs/performance.md). It stays correct with several replicas because the cache
//! is only a guess of what the store holds: the Pay's write-ahead insert is written only while the binding still
//! stands at the cached version (`NewPayment::binding_version`), and every write of a binding bumps its version. A
//! binding refreshed, revoked or expired since (here or on another replica) makes the insert write nothing; the
//! entry is then forgotten and the Pay reads the binding again. Only bindings ready to charge as they are (ACTIVE,
//! their access token valid and no refresh due) are answered from it: anything that would write to the binding
//! reads it from the store under the binding's lock.
//!
//! The entries hold the decrypted tokens, as the binding read for one Pay does: process memory only, never logged
//! (their `Debug` is redacted) and never written anywhere.

use std::collections::HashMap;
use std::sync::Mutex;

use store::bindings::Binding;

/// Most bindings kept. One is a few hundred bytes; past it an arbitrary entry makes room (a miss costs one read).
const CAPACITY: usize = 4096;

/// The bindings last read for a charge, by id.
#[derive(Debug, Default)]
pub(crate) struct BindingCache {
    entries: Mutex<HashMap<String, Binding>>,
}

impl BindingCache {
    /// The binding as last kept, if it is.
    pub(crate) fn get(&self, id: &str) -> Option<Binding> {
        self.lock().get(id).cloned()
    }

    /// Keeps `binding` (read from the store just now), unless a newer version of it is already kept.
    pub(crate) fn keep(&self, binding: &Binding) {
        let mut entries = self.lock();
        if entries
            .get(&binding.id)
            .is_some_and(|kept| kept.version >= binding.version)
        {
            return;
        }
        if entries.len() >= CAPACITY
            && !entries.contains_key(&binding.id)
            && let Some(evicted) = entries.keys().next().cloned()
        {
            entries.remove(&evicted);
        }
        entries.insert(binding.id.clone(), binding.clone());
    }

    /// Forgets the binding `id` at `version` (the store holds another one now); a newer one kept meanwhile stays.
    pub(crate) fn forget(&self, id: &str, version: i64) {
        let mut entries = self.lock();
        if entries.get(id).is_some_and(|kept| kept.version <= version) {
            entries.remove(id);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Binding>> {
        // A poisoned map only means a thread panicked mid-insert; every entry is still a whole binding.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
