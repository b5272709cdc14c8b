//! The state every handler shares, apart from the server that hands it to them: handlers depend on this module,
//! the server on the handlers (through the router), and nothing here depends on either, so there is no cycle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rsa::{RsaPrivateKey, RsaPublicKey};
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::delivery::Notifier;
use crate::shutdown::stopped;
use crate::state::State;

/// TTLs and windows, copied out of the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub slow_response: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub auth_code_ttl: Duration,
    pub cancel_window: Duration,
    pub refund_window: Duration,
}

/// Everything the handlers share.
pub(crate) struct App {
    pub limits: Limits,
    pub signing_key: RsaPrivateKey,
    pub merchants: HashMap<String, RsaPublicKey>,
    pub clock: Clock,
    pub base_url: String,
    pub state: Mutex<State>,
    /// A per-run random key for the digests that stand in for request bodies holding card data.
    pub digest_key: [u8; 32],
    pub notifier: Arc<Notifier>,
    pub shutdown: watch::Receiver<bool>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("base_url", &self.base_url)
            .field("merchants", &self.merchants.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl App {
    /// The state, recovering from a poisoned lock: a panicked handler must not take the sandbox down.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the sandbox shuts down (used to cut scenario delays short).
    pub async fn shutting_down(&self) {
        stopped(&mut self.shutdown.clone()).await;
    }
}

/// Lets a handler close its own TCP connection without answering (scenario 94002).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    pub fn kill(&self) {
        self.0.notify_one();
    }

    /// Resolves once a handler asked to close the connection.
    pub async fn killed(&self) {
        self.0.notified().await;
    }
}
