//! The gateway's payment rules in one place: Alipay's S/F/U handling with bounded same-id retries, write-ahead
//! intents (the CREATED row and its inquiry job are committed before Alipay is called), idempotency at the engine
//! boundary, the durable reconciler (inquire, cancel, auto-refund), wallet bindings with self-refreshing tokens, and
//! an audit record of every outbound call.
//!
//! Public API (all methods on the cheap-to-clone [`Engine`]):
//! - auth: [`Engine::consult`], [`Engine::apply_token`], [`Engine::refresh_binding`], [`Engine::revoke_binding`],
//!   [`Engine::inquire_user_info`], [`Engine::get_binding`], [`Engine::list_bindings`];
//! - payments: [`Engine::pay`], [`Engine::get_payment`], [`Engine::inquire_payment`], [`Engine::cancel_payment`],
//!   [`Engine::list_payments`], [`Engine::capture`], [`Engine::refund`], [`Engine::inquire_refund`]; they answer
//!   views ([`PaymentView`], [`RefundView`], [`CaptureView`]) of domain records, never the store's rows, and an
//!   outcome that is merely not final is a view with a retry hint, not an error;
//! - errors: [`EngineError`]; the machine-readable codes of [`EngineError::IllegalState`] are in [`reasons`], the
//!   engine's own input limits (caller metadata) in [`limits`] (Alipay's documented limits are `alipay::limits`);
//! - events: [`Engine::stream_payment_events`] (commit-ordered, resumable), [`Engine::close_event_streams`];
//! - background: [`Engine::run_reconciler`] (also prunes events past retention), [`Engine::flush_call_records`].
//!
//! Payment request ids are the idempotency keys end to end. Within a process, duplicates queue on a per-key lock;
//! across replicas the store's unique request-id row decides, and a CREATED row means "the first call is in flight".

mod binding;
mod binding_cache;
mod capture;
mod card;
mod card_void;
mod commands;
mod config;
mod error;
mod events;
mod fingerprint;
mod inquiry;
pub mod limits;
mod locks;
mod notify;
mod operation;
mod pay;
pub mod reasons;
mod reconciler;
mod recorder;
mod records;
mod refund;
mod retry;
mod settle;
mod telemetry;
mod validate;
mod views;

pub use card::{CardDetails, CardPay, CardPaymentView, CardSource};
pub use card_void::{CardVoidPolicy, VoidReason};
pub use commands::{
    ApplyTokenCommand, CaptureCommand, ConsultCommand, ConsultOutcome, Metadata, PayCommand,
    PaySource, RefundCommand, UserInfo,
};
pub use config::EngineConfig;
pub use error::{EngineError, FieldViolation};
pub use events::{EventFilter, EventStream, EventSubject, EventType, PaymentEvent};
pub use fingerprint::fingerprint;
pub use notify::{NotifyIngress, Receipt, UNMATCHED_AFTER};
pub use records::{
    AlipayResult, BindingRecord, CaptureRecord, CardSummary, OperationRecord, PaymentRecord,
    RefundRecord, stored_wallet,
};
pub use refund::auto_refund_request_id;
/// Filters of [`Engine::list_bindings`].
pub use store::bindings::BindingFilter;
/// What the store keeps about a payment's card.
pub use store::card_facts::CardFacts;
/// A stored card (its token opened into a redacting secret; it never leaves the gateway).
pub use store::card_tokens::CardToken as CardTokenRecord;
/// What the buyer must do next for a PROCESSING payment.
pub use store::next_action::{
    ChallengeAction, NextAction, OrderCodeAction, RedirectAction, RedirectMethod,
};
/// Filters of [`Engine::list_payments`].
pub use store::payments::PaymentFilter;
pub use store::{
    BindingStatus, CaptureMode, MAX_PAGE_SIZE, OperationStatus, Page, PageRequest, PageSize,
    PaymentStatus, ProductCode, ResultStatus, Spelled, Wallet,
};
pub use views::{CaptureView, PaymentIds, PaymentTotals, PaymentView, RefundView};

use std::fmt;
use std::sync::Arc;

use locks::KeyedLocks;
use recorder::Recorder;

/// The payment engine. Clone it freely: clones share the store, the Alipay client, the in-process locks and the
/// call recorder.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: store::Store,
    client: alipay::AlipayClient,
    config: EngineConfig,
    locks: KeyedLocks,
    /// Bindings ready to charge, so a Pay need not read its binding first.
    bindings: binding_cache::BindingCache,
    recorder: Recorder,
    reconciler_metrics: telemetry::ReconcilerMetrics,
    /// Identifies this engine instance as a job-lease owner (unique per process start).
    owner: String,
    /// The event stream head, watched once the first subscription opens.
    heads: std::sync::OnceLock<tokio::sync::watch::Receiver<store::events::Head>>,
    /// Set when event subscriptions must end (graceful shutdown).
    closing: tokio::sync::watch::Sender<bool>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("owner", &self.owner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine and installs the call recorder on `client`, so every outbound call lands in the store's
    /// call log. Must be called inside a Tokio runtime (the recorder's writer is a background task).
    pub fn new(store: store::Store, client: alipay::AlipayClient, config: EngineConfig) -> Self {
        let recorder = Recorder::start(store.clone(), config.call_record_buffer);
        let client = client.with_observer(recorder.observer());
        let owner = format!("engine-{}", uuid::Uuid::now_v7());
        Self {
            inner: Arc::new(Inner {
                store,
                client,
                config,
                locks: KeyedLocks::default(),
                bindings: binding_cache::BindingCache::default(),
                recorder,
                reconciler_metrics: telemetry::ReconcilerMetrics::new(),
                owner,
                heads: std::sync::OnceLock::new(),
                closing: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Waits until every outbound call made so far is written to the call log. Call it on graceful shutdown (after
    /// the last request finished) so no record is lost.
    pub async fn flush_call_records(&self) {
        self.inner.recorder.flush().await;
    }

    fn store(&self) -> &store::Store {
        &self.inner.store
    }

    fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }

    fn client(&self) -> &alipay::AlipayClient {
        &self.inner.client
    }

    fn config(&self) -> &EngineConfig {
        &self.inner.config
    }
}

/// `now + d`, saturating.
fn after(d: std::time::Duration) -> chrono::DateTime<chrono::Utc> {
    plus(chrono::Utc::now(), d)
}

/// `at + d`, saturating.
fn plus(
    at: chrono::DateTime<chrono::Utc>,
    d: std::time::Duration,
) -> chrono::DateTime<chrono::Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// Parses an Alipay timestamp (ISO 8601 with offset); the docs also show `yyyy-MM-dd HH:mm:ss` (taken as UTC+8,
/// Alipay's home zone) and `+0800` offsets without a colon.
fn parse_alipay_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z") {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    let cst = FixedOffset::east_opt(8 * 3600)?;
    cst.from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alipay_times() {
        let a = parse_alipay_time("2019-09-04T13:41:39+08:00").unwrap();
        let b = parse_alipay_time("2019-09-04T13:41:39+0800").unwrap();
        let c = parse_alipay_time("2019-09-04 13:41:39").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(parse_alipay_time("yesterday").is_none());
    }
}
