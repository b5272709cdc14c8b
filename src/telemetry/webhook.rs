//! Telemetry of the notification ingress (the listener in `crate::notify` calls these): the span of one received
//! notification and the `alipay_gateway.webhook.received` {type, outcome} counter. The type is the engine's event
//! kind (a fixed set); nothing from the body is recorded.

use alipay::webhook::EventKind;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

/// The server span of one notification delivery; the listener instruments its work with it and [`record`]s the
/// result. The kind is known only once the body verified, so both attributes are filled at the end. Parent: none
/// (Alipay does not propagate a trace context).
pub fn webhook_span() -> tracing::Span {
    tracing::info_span!(
        target: "otel",
        "webhook",
        otel.name = "webhook",
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        "alipay_gateway.webhook.type" = tracing::field::Empty,
        "alipay_gateway.webhook.outcome" = tracing::field::Empty,
    )
}

/// The `alipay_gateway.webhook.received` counter. Create one per listener (from the global meter) and keep it.
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
                .with_description("Alipay notifications received, by kind and outcome")
                .build(),
        }
    }

    /// Records one notification on its span and counts it. `kind` is the engine's classification (a fixed set,
    /// `OTHER` for anything unverified or unknown) and `outcome` one of the engine's receipt outcomes or the
    /// listener's own (`busy`, `timeout`): both are bounded sets, and nothing from the body is recorded.
    pub fn record(
        &self,
        span: &tracing::Span,
        kind: EventKind,
        outcome: &'static str,
        failed: bool,
    ) {
        span.record("alipay_gateway.webhook.type", kind.as_str());
        span.record("alipay_gateway.webhook.outcome", outcome);
        if failed {
            span.record("otel.status_code", "error");
        }
        self.received.add(
            1,
            &[
                KeyValue::new("type", kind.as_str()),
                KeyValue::new("outcome", outcome),
            ],
        );
    }
}

impl Default for WebhookMetrics {
    fn default() -> Self {
        Self::new()
    }
}
