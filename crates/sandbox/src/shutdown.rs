//! The shutdown signal, shared by the server, the handlers and the notifier.

use tokio::sync::watch;

/// Resolves once shutdown is requested (or the sender is gone), without holding the channel's read guard.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
