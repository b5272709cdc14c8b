//! The reconciler's OpenTelemetry signals: a span per job run and the `alipay_gateway.reconciler.jobs` /
//! `.lease_takeovers` counters. Both go through the global tracer and meter, which are no-ops unless the gateway
//! installed the SDK. Only the job kind and outcome are attributes (subjects are payment ids: not exported).

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use store::jobs::{Job, JobKind};

/// The counters, created once per engine from the global meter.
#[derive(Debug, Clone)]
pub(crate) struct ReconcilerMetrics {
    jobs: Counter<u64>,
    lease_takeovers: Counter<u64>,
}

impl ReconcilerMetrics {
    pub(crate) fn new() -> Self {
        let meter = opentelemetry::global::meter("engine");
        let metrics = Self {
            jobs: meter
                .u64_counter("alipay_gateway.reconciler.jobs")
                .with_unit("{job}")
                .with_description("Reconciler job runs, by kind and outcome")
                .build(),
            lease_takeovers: meter
                .u64_counter("alipay_gateway.reconciler.lease_takeovers")
                .with_unit("{job}")
                .with_description(
                    "Job runs that found their lease taken over by another replica when recording the result",
                )
                .build(),
        };
        // Takeovers are rare: report an explicit zero per kind so the series exist (and alerts on an increase work)
        // before the first one.
        for kind in KINDS {
            metrics
                .lease_takeovers
                .add(0, &[KeyValue::new("kind", kind_name(kind))]);
        }
        metrics
    }

    /// Counts one finished run; `outcome` is `done`, `retry`, `escalated`, `lease_lost` or `not_recorded`.
    pub(crate) fn finished(&self, span: &tracing::Span, kind: JobKind, outcome: &'static str) {
        span.record("alipay_gateway.job.outcome", outcome);
        if outcome != "done" && outcome != "retry" {
            span.record("otel.status_code", "error");
        }
        let kind = KeyValue::new("kind", kind_name(kind));
        self.jobs
            .add(1, &[kind.clone(), KeyValue::new("outcome", outcome)]);
        if outcome == "lease_lost" {
            self.lease_takeovers.add(1, &[kind]);
        }
    }
}

/// The exported span of one job run (target `otel`: the exporter's allow-list; kind, attempt and outcome only).
pub(crate) fn job_span(job: &Job) -> tracing::Span {
    let kind = kind_name(job.kind);
    tracing::info_span!(
        target: "otel",
        "reconciler.job",
        otel.name = %format_args!("reconcile {kind}"),
        otel.status_code = tracing::field::Empty,
        "alipay_gateway.job.kind" = kind,
        "alipay_gateway.job.attempt" = job.attempts,
        "alipay_gateway.job.outcome" = tracing::field::Empty,
    )
}

const KINDS: [JobKind; 8] = [
    JobKind::InquirePayment,
    JobKind::CancelPayment,
    JobKind::RefundPayment,
    JobKind::InquireRefund,
    JobKind::InquireCapture,
    JobKind::RefreshToken,
    JobKind::RevokeTokens,
    JobKind::VoidCard,
];

fn kind_name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::InquirePayment => "INQUIRE_PAYMENT",
        JobKind::CancelPayment => "CANCEL_PAYMENT",
        JobKind::RefundPayment => "REFUND_PAYMENT",
        JobKind::InquireRefund => "INQUIRE_REFUND",
        JobKind::InquireCapture => "INQUIRE_CAPTURE",
        JobKind::RefreshToken => "REFRESH_TOKEN",
        JobKind::RevokeTokens => "REVOKE_TOKENS",
        JobKind::VoidCard => "VOID_CARD",
    }
}
