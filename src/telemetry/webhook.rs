//! Telemetry of the notification ingress (the webhook handler calls these): the span of one received
//! notification and the `alipay_gateway.webhook.received` {type, outcome} counter. The notification type is
//! reduced to the known Alipay types (`_OTHER` otherwise); nothing from the body is recorded.

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

/// What became of a received notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Verified and applied.
    Applied,
    /// Verified, already applied before (a redelivery).
    Duplicate,
    /// The signature did not verify.
    Unauthenticated,
    /// Verified but unreadable or about an unknown subject.
    Invalid,
    /// Applying it failed; Alipay will redeliver.
    Failed,
}

impl WebhookOutcome {
    /// The `outcome` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Applied => "applied",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Unauthenticated => "unauthenticated",
            WebhookOutcome::Invalid => "invalid",
            WebhookOutcome::Failed => "failed",
        }
    }
}

/// The `type` attribute: Alipay's `notifyType` / `authorizationNotifyType` if known, else `_OTHER`.
pub fn notify_type_label(notify_type: &str) -> &'static str {
    const KNOWN: [&str; 7] = [
        "PAYMENT_RESULT",
        "PAYMENT_PENDING",
        "OFFLINE_PAYMENT_CODE",
        "CAPTURE_RESULT",
        "REFUND_RESULT",
        "AUTHCODE_CREATED",
        "TOKEN_CANCELED",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == notify_type)
        .unwrap_or("_OTHER")
}

/// The server span of one notification delivery; instrument the handler with it and call [`record_outcome`] at
/// the end. Parent: none (Alipay does not propagate a trace context).
pub fn webhook_span(notify_type: &str) -> tracing::Span {
    let kind = notify_type_label(notify_type);
    tracing::info_span!(
        target: "otel",
        "webhook",
        otel.name = %format_args!("webhook {kind}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        "alipay_gateway.webhook.type" = kind,
        "alipay_gateway.webhook.outcome" = tracing::field::Empty,
    )
}

/// Records the outcome on the span from [`webhook_span`].
pub fn record_outcome(span: &tracing::Span, outcome: WebhookOutcome) {
    span.record("alipay_gateway.webhook.outcome", outcome.as_str());
    if outcome == WebhookOutcome::Failed {
        span.record("otel.status_code", "error");
    }
}

/// The `alipay_gateway.webhook.received` counter. Create one per ingress (from the global meter) and keep it.
#[derive(Debug, Clone)]
pub struct WebhookMetrics {
    received: Counter<u64>,
}

impl WebhookMetrics {
    /// Creates the counter from the global meter (a no-op while telemetry is off).
    pub fn new() -> Self {
        Self {
            received: super::meter()
                .u64_counter("alipay_gateway.webhook.received")
                .with_unit("{notification}")
                .with_description("Alipay notifications received, by type and outcome")
                .build(),
        }
    }

    /// Counts one received notification.
    pub fn received(&self, notify_type: &str, outcome: WebhookOutcome) {
        self.received.add(
            1,
            &[
                KeyValue::new("type", notify_type_label(notify_type)),
                KeyValue::new("outcome", outcome.as_str()),
            ],
        );
    }
}

impl Default for WebhookMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_notification_types_become_labels() {
        assert_eq!(notify_type_label("PAYMENT_RESULT"), "PAYMENT_RESULT");
        assert_eq!(notify_type_label("TOKEN_CANCELED"), "TOKEN_CANCELED");
        assert_eq!(notify_type_label("payment_result"), "_OTHER");
        assert_eq!(notify_type_label("{\"authCode\":\"x\"}"), "_OTHER");
        assert_eq!(WebhookOutcome::Unauthenticated.as_str(), "unauthenticated");
    }
}
