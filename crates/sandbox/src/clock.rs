//! The sandbox's notion of "now". Every TTL, window and notification redelivery reads it, so tests can jump past
//! an expiry (or to the next redelivery) instead of sleeping through it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// System time plus an adjustable offset. Clones share the offset, so a test keeps one clone and advances
/// the clock of a running sandbox.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<Mutex<chrono::Duration>>,
    /// Wakes [`Clock::sleep_until`] sleepers when the clock jumps.
    advanced: Arc<Notify>,
}

/// The longest a sleeper waits on the system timer before re-reading the clock (bounds drift between the
/// monotonic timer and wall-clock time).
const RECHECK: Duration = Duration::from_secs(1);

impl Clock {
    /// A clock that follows system time until advanced.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current sandbox time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock forward, e.g. past a token TTL or a refund window. Pending redeliveries that are now due
    /// go out at once.
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        {
            let mut offset = self.offset.lock().unwrap_or_else(PoisonError::into_inner);
            *offset = offset.checked_add(&by).unwrap_or(chrono::Duration::MAX);
        }
        self.advanced.notify_waiters();
    }

    /// Resolves once the sandbox time reaches `deadline`, whether by waiting or by [`Clock::advance`].
    pub(crate) async fn sleep_until(&self, deadline: DateTime<Utc>) {
        loop {
            // Register before reading the clock, so an advance between the two is not missed.
            let advanced = self.advanced.notified();
            tokio::pin!(advanced);
            advanced.as_mut().enable();
            let Ok(left) = (deadline - self.now()).to_std() else {
                return;
            };
            if left.is_zero() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(left.min(RECHECK)) => {}
                () = advanced => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_a_clone_moves_every_clone() {
        let clock = Clock::new();
        let other = clock.clone();
        let before = clock.now();
        other.advance(Duration::from_secs(3600));
        let after = clock.now();
        assert!(after - before >= chrono::Duration::seconds(3600));
        assert!(after - before < chrono::Duration::seconds(3700));
    }

    #[tokio::test]
    async fn an_advance_wakes_a_sleeper_whose_deadline_it_passes() {
        let clock = Clock::new();
        let deadline = clock.now() + chrono::Duration::hours(5);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(5 * 3600));
        sleeper.await.unwrap();
        assert!(clock.now() >= deadline);
    }
}
