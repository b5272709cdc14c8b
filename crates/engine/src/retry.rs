//! Bounded same-request-id retries, the one place that decides which Alipay answers are worth repeating.
//!
//! Alipay's documented rule (reference §4.2): `U` other than the endpoint's in-process code, and transport failures,
//! are retried with the SAME request id (it is idempotent), a few times; what is still unknown afterwards goes to the
//! reconciler. A connect failure is retried too (nothing was sent), but it does not make the outcome "maybe acted".

use std::future::Future;
use std::time::Duration;

use alipay::{CallError, Outcome, Reply};

/// How a bounded series of attempts ended.
#[derive(Debug)]
pub(crate) enum Attempted<T> {
    /// A definitive answer: S, F, or the endpoint's in-process `U`.
    Answer(Reply<T>),
    /// Still unknown after the last attempt.
    Unknown {
        /// The last U code or transport error, for the record.
        reason: String,
        /// Whether any attempt may have reached Alipay (U answer, timeout, dropped connection, bad signature).
        maybe_acted: bool,
    },
    /// The request cannot be sent (invalid, unbuildable, client-side HTTP error): repeating cannot help.
    Rejected(CallError),
}

/// Runs `call` up to `attempts` times with doubling `backoff` between attempts.
pub(crate) async fn with_retries<T, F, Fut>(
    attempts: u32,
    backoff: Duration,
    mut call: F,
) -> Attempted<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Reply<T>, CallError>>,
{
    let mut pause = backoff;
    let mut maybe_acted = false;
    let mut reason = String::from("not attempted");
    for attempt in 1..=attempts.max(1) {
        match call().await {
            Ok(reply) => match &reply.outcome {
                Outcome::Unknown { code, message } => {
                    maybe_acted = true;
                    reason = format!("U {code}: {message}");
                }
                Outcome::Success | Outcome::Failed { .. } | Outcome::InProcess => {
                    return Attempted::Answer(reply);
                }
            },
            Err(error) if error.outcome_unknown() => {
                maybe_acted = true;
                reason = error.to_string();
            }
            Err(error @ CallError::Connect(_)) => reason = error.to_string(),
            Err(error) => return Attempted::Rejected(error),
        }
        tracing::debug!(attempt, %reason, "Alipay outcome unknown");
        if attempt < attempts {
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2);
        }
    }
    Attempted::Unknown {
        reason,
        maybe_acted,
    }
}
