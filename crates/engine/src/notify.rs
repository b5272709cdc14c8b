//! Applying Alipay's notifications: the application side of the ingress. The HTTP listener hands over the headers
//! and raw bytes; [`NotifyIngress::receive`] runs the adapter's steps (verify the source, find the object, decide the
//! kind, build the update), stores the inbox row and applies the transition in ONE transaction, and only then says
//! "acknowledge". A store failure says "retry" (Alipay redelivers); a duplicate is acknowledged without being applied.
//!
//! Logs carry the kind, the ids, the outcome and the latency; never the body or a credential.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use alipay::model::InquiryPaymentRequest;
use alipay::notification::NotificationError;
use alipay::webhook::{
    Ack, AlipayWebhook, EventKind, Freshness, IncomingWebhook, ObjectReference, ResourceUpdate,
    Settlement, WebhookRequest,
};
use store::notifications::{Applied, Effect, Ingested, NewNotification};
use store::payments::PaymentUpdate;
use store::{OperationStatus, OperationUpdate, PaymentStatus};

use tracing::Instrument as _;

use crate::card;
use crate::pay::result_info;
use crate::{Engine, parse_alipay_time};

/// A notification whose object has not appeared after this long is flagged and inquired.
pub const UNMATCHED_AFTER: Duration = Duration::from_secs(3600);
/// At most one inquiry per referenced object in this window for notifications that failed verification: a forger
/// can make the gateway ask Alipay, but not flood it.
const REJECTED_INQUIRY_WINDOW: Duration = Duration::from_secs(60);
/// At most this many objects remembered by that limiter (older entries are dropped first when it is full).
const REJECTED_INQUIRY_MEMORY: usize = 10_000;
/// Pending notifications examined per sweep.
const SWEEP_BATCH: u64 = 100;
/// The flag of a verified notification signed outside the age window.
const FLAG_OUT_OF_WINDOW: &str = "OUT_OF_WINDOW";

/// What became of one notification, for the HTTP answer and the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// How to answer.
    pub ack: Ack,
    /// The event's kind (`Other` when it could not be verified or parsed).
    pub kind: EventKind,
    /// `applied`, `unchanged`, `duplicate`, `pending`, `contradiction`, `held`, `rejected`, `store_error`.
    pub outcome: &'static str,
}

/// The notification ingress of one gateway process: the adapter, the engine, and the limiter of inquiries made
/// for notifications that failed verification. Cheap to clone.
#[derive(Debug, Clone)]
pub struct NotifyIngress {
    engine: Engine,
    webhook: Arc<AlipayWebhook>,
    rejected_inquiries: Arc<Mutex<HashMap<String, Instant>>>,
}

impl NotifyIngress {
    /// The ingress for notifications verified by `webhook`.
    pub fn new(engine: Engine, webhook: AlipayWebhook) -> Self {
        Self {
            engine,
            webhook: Arc::new(webhook),
            rejected_inquiries: Arc::default(),
        }
    }

    /// The HTTP answer for an outcome (the adapter's acknowledgement).
    pub fn acknowledgement(&self, ack: Ack) -> alipay::webhook::Acknowledgement {
        self.webhook.ack(ack)
    }

    /// Verifies, stores and applies one notification; see the module documentation.
    pub async fn receive(&self, request: WebhookRequest<'_>) -> Receipt {
        let started = Instant::now();
        // The object's ids (never a credential) are recorded on the span once known.
        let span = tracing::info_span!("notification", subject = tracing::field::Empty);
        async {
            let receipt = self.receive_inner(request).await;
            tracing::info!(
                kind = receipt.kind.as_str(),
                outcome = receipt.outcome,
                latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "notification"
            );
            receipt
        }
        .instrument(span)
        .await
    }

    async fn receive_inner(&self, request: WebhookRequest<'_>) -> Receipt {
        let webhook = &*self.webhook;
        let freshness = match webhook.verify_source(&request) {
            Ok(freshness) => freshness,
            Err(error) => return self.reject(&request, &error),
        };
        let cipher = &self.engine.config().token_cipher;
        let keyed = |value: &str| cipher.lookup_hash(value);
        let (kind, dedup_key, effect, reference) = match webhook.parse_event(request.body) {
            Ok(event) => {
                let kind = webhook.event_kind(&event);
                let reference = webhook.object_reference(&event);
                let effect = match freshness {
                    Freshness::Fresh => self.effect_of(&event, &reference),
                    Freshness::OutOfWindow => Effect::Hold {
                        flag: FLAG_OUT_OF_WINDOW,
                    },
                };
                if let Some(subject) = reference_key(&reference) {
                    tracing::Span::current().record("subject", subject.as_str());
                }
                let key = webhook.dedup_key(&event, request.body, &keyed);
                (kind, key, effect, reference)
            }
            // Signed by Alipay but not JSON: kept for support, acknowledged, never retried forever.
            Err(_) => (
                EventKind::Other,
                format!("BODY:{}", keyed(&String::from_utf8_lossy(request.body))),
                Effect::None,
                ObjectReference::None,
            ),
        };
        let sealed = match cipher.encrypt(&String::from_utf8_lossy(request.body)) {
            Ok(sealed) => sealed,
            Err(error) => {
                tracing::error!(%error, "cannot seal a notification body");
                return receipt(Ack::Retry, kind, "store_error");
            }
        };
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let new = NewNotification {
            notify_type: kind.as_str().to_owned(),
            dedup_key,
            raw_body: sealed,
            headers: serde_json::json!({
                "client-id": header("client-id"),
                "request-time": header("request-time"),
                "signature": header("signature"),
            }),
            verified: true,
        };
        match self
            .engine
            .store()
            .notifications()
            .ingest(new, &effect)
            .await
        {
            Ok(Ingested::Duplicate(_)) => receipt(Ack::Accepted, kind, "duplicate"),
            Ok(Ingested::New { applied, .. }) => {
                let outcome = match applied {
                    Applied::Changed => "applied",
                    Applied::Unchanged => "unchanged",
                    Applied::Missing => "pending",
                    Applied::Contradicts { current } => {
                        tracing::warn!(
                            kind = kind.as_str(),
                            stored = current,
                            "notification contradicts a final status; inquiring"
                        );
                        self.spawn_inquiry(reference);
                        "contradiction"
                    }
                    Applied::Held { .. } => {
                        self.spawn_inquiry(reference);
                        "held"
                    }
                };
                receipt(Ack::Accepted, kind, outcome)
            }
            Err(error) => {
                tracing::error!(%error, kind = kind.as_str(), "cannot store a notification; Alipay will redeliver");
                receipt(Ack::Retry, kind, "store_error")
            }
        }
    }

    /// A notification that failed verification: nothing is stored or applied. If it names an object, Alipay is
    /// asked about it (rate-limited): a real notification that failed for a configuration reason is not lost.
    fn reject(&self, request: &WebhookRequest<'_>, error: &NotificationError) -> Receipt {
        let reference = self
            .webhook
            .parse_event(request.body)
            .map(|event| self.webhook.object_reference(&event))
            .unwrap_or(ObjectReference::None);
        tracing::warn!(%error, "notification rejected");
        if let Some(key) = reference_key(&reference)
            && self.admit_rejected_inquiry(key)
        {
            self.spawn_inquiry(reference);
        }
        receipt(Ack::Rejected, EventKind::Other, "rejected")
    }

    fn admit_rejected_inquiry(&self, key: String) -> bool {
        let now = Instant::now();
        let mut seen = self
            .rejected_inquiries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= REJECTED_INQUIRY_MEMORY {
            seen.retain(|_, at| now.duration_since(*at) < REJECTED_INQUIRY_WINDOW);
            if seen.len() >= REJECTED_INQUIRY_MEMORY {
                return false;
            }
        }
        match seen.get(&key) {
            Some(at) if now.duration_since(*at) < REJECTED_INQUIRY_WINDOW => false,
            _ => {
                seen.insert(key, now);
                true
            }
        }
    }

    /// What the store should do for `event` (verified and fresh): its status effect, with the card facts and token
    /// a card payment's notification brings recorded in the same transaction.
    fn effect_of(
        &self,
        event: &alipay::model::Notification,
        reference: &ObjectReference,
    ) -> Effect {
        let cipher = &self.engine.config().token_cipher;
        let keyed = |value: &str| cipher.lookup_hash(value);
        let mut effect = effect_of(reference, self.webhook.resource_update(event), &keyed);
        if let (Effect::Payment { update, .. }, alipay::model::Notification::Payment(n)) =
            (&mut effect, event)
        {
            update.card = card::card_report(
                self.engine.config(),
                n.card_facts(),
                None,
                card::ReportedBy::Later,
            );
        }
        effect
    }

    /// Asks Alipay about the referenced object in the background (the acknowledgement does not wait for it).
    fn spawn_inquiry(&self, reference: ObjectReference) {
        let engine = self.engine.clone();
        tokio::spawn(async move {
            if let Err(error) = engine.inquire_reference(&reference).await {
                tracing::warn!(%error, "inquiry after a notification failed");
            }
        });
    }

    /// Runs until `shutdown` resolves: applies notifications that arrived before their object (every reconciler
    /// poll interval), and flags and inquires the ones still unmatched after [`UNMATCHED_AFTER`].
    pub async fn run_pending_sweep(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(error) = self.sweep_pending().await {
                tracing::error!(%error, "pending notification sweep failed");
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.engine.config().poll_interval) => {}
            }
        }
    }

    /// One pass over the stored notifications still waiting for their object. Returns how many were applied.
    pub async fn sweep_pending(&self) -> Result<usize, store::StoreError> {
        let notifications = self.engine.store().notifications();
        let cipher = &self.engine.config().token_cipher;
        let mut applied = 0;
        for row in notifications.list_unprocessed(SWEEP_BATCH).await? {
            let event = cipher
                .decrypt(&row.raw_body)
                .ok()
                .and_then(|body| self.webhook.parse_event(body.expose().as_bytes()).ok());
            let Some(event) = event else {
                notifications
                    .flag_missing(&row.id, "stored body cannot be opened or parsed")
                    .await?;
                continue;
            };
            let reference = self.webhook.object_reference(&event);
            let effect = self.effect_of(&event, &reference);
            match notifications.apply_pending(&row.id, &effect).await? {
                Applied::Missing => {
                    let age = chrono::Utc::now().signed_duration_since(row.received_at);
                    if age.to_std().is_ok_and(|age| age >= UNMATCHED_AFTER) {
                        tracing::warn!(notification = %row.id, "notification never matched a payment; inquiring");
                        notifications
                            .flag_missing(&row.id, "no matching object after an hour; inquired")
                            .await?;
                        self.spawn_inquiry(reference);
                    }
                }
                Applied::Contradicts { .. } => self.spawn_inquiry(reference),
                Applied::Changed => applied += 1,
                Applied::Unchanged | Applied::Held { .. } => {}
            }
        }
        Ok(applied)
    }
}

fn receipt(ack: Ack, kind: EventKind, outcome: &'static str) -> Receipt {
    Receipt { ack, kind, outcome }
}

/// A limiter key for a reference (no credential in it).
fn reference_key(reference: &ObjectReference) -> Option<String> {
    match reference {
        ObjectReference::Payment { payment_request_id } => {
            Some(format!("PAY:{payment_request_id}"))
        }
        ObjectReference::Refund { refund_request_id } => Some(format!("REF:{refund_request_id}")),
        ObjectReference::Capture {
            capture_request_id, ..
        } => Some(format!("CAP:{capture_request_id}")),
        ObjectReference::AccessToken(_) | ObjectReference::None => None,
    }
}

/// What the store should do for a verified, fresh notification.
fn effect_of(
    reference: &ObjectReference,
    update: ResourceUpdate,
    keyed_hash: &dyn Fn(&str) -> String,
) -> Effect {
    let operation = |settlement| match settlement {
        Settlement::Succeeded => Some(OperationStatus::Success),
        Settlement::Failed => Some(OperationStatus::Fail),
        Settlement::Pending => Some(OperationStatus::Processing),
        Settlement::Revoked | Settlement::None => None,
    };
    let operation_update = |update: &ResourceUpdate| OperationUpdate {
        alipay_id: update.alipay_id.clone(),
        result: update.result.as_ref().map(result_info),
    };
    match reference {
        ObjectReference::Payment { payment_request_id } => {
            let to = match update.settlement {
                Settlement::Succeeded => PaymentStatus::Success,
                Settlement::Failed => PaymentStatus::Fail,
                Settlement::Pending => PaymentStatus::Processing,
                Settlement::Revoked | Settlement::None => return Effect::None,
            };
            Effect::Payment {
                payment_request_id: payment_request_id.clone(),
                to,
                update: Box::new(PaymentUpdate {
                    alipay_payment_id: update.alipay_id.clone(),
                    result: update.result.as_ref().map(result_info),
                    payment_time: update.time.as_deref().and_then(parse_alipay_time),
                    ..PaymentUpdate::default()
                }),
            }
        }
        ObjectReference::Refund { refund_request_id } => match operation(update.settlement) {
            Some(to) => Effect::Refund {
                refund_request_id: refund_request_id.clone(),
                to,
                update: operation_update(&update),
            },
            None => Effect::None,
        },
        ObjectReference::Capture {
            capture_request_id,
            payment_id,
        } => match operation(update.settlement) {
            Some(to) => Effect::Capture {
                capture_request_id: capture_request_id.clone(),
                alipay_payment_id: payment_id.clone(),
                to,
                update: operation_update(&update),
            },
            None => Effect::None,
        },
        ObjectReference::AccessToken(token) if update.settlement == Settlement::Revoked => {
            Effect::RevokeBinding {
                access_token_hash: keyed_hash(token.expose()),
            }
        }
        ObjectReference::AccessToken(_) | ObjectReference::None => Effect::None,
    }
}

impl Engine {
    /// One inquiry of the object a notification named: a stored payment or refund through the normal inquiry
    /// (which applies a final answer and logs a disagreement with a final state); a payment the gateway never
    /// recorded by a bare inquiryPayment (its answer is in the call log).
    async fn inquire_reference(
        &self,
        reference: &ObjectReference,
    ) -> Result<(), crate::EngineError> {
        match reference {
            ObjectReference::Payment { payment_request_id } => {
                match self
                    .store()
                    .payments()
                    .get_by_request_id(payment_request_id)
                    .await?
                {
                    Some(payment) => {
                        self.inquire_and_apply(payment).await?;
                    }
                    None => {
                        let request = InquiryPaymentRequest::by_request_id(payment_request_id);
                        let reply = self.client().inquiry_payment(&request).await?;
                        tracing::info!(outcome = ?reply.outcome, "inquired a payment the gateway never recorded");
                    }
                }
            }
            ObjectReference::Refund { refund_request_id } => {
                if let Some(refund) = self
                    .store()
                    .refunds()
                    .get_by_request_id(refund_request_id)
                    .await?
                {
                    self.inquire_refund_and_apply(refund, false).await?;
                }
            }
            ObjectReference::Capture {
                capture_request_id, ..
            } => {
                let store = self.store();
                if let Some(capture) = store
                    .captures()
                    .get_by_request_id(capture_request_id)
                    .await?
                    && let Some(payment) = store.payments().get(&capture.payment_id).await?
                {
                    self.inquire_and_apply(payment).await?;
                }
            }
            ObjectReference::AccessToken(_) | ObjectReference::None => {}
        }
        Ok(())
    }
}
