//! The store's telemetry: a client span per SQL statement run inside a traced operation (`db.system.name`,
//! `db.operation.name`; never the SQL or its values), and the reconciler backlog gauges
//! `alipay_gateway.reconciler.due_jobs` and `.oldest_due_age`, read from the shared jobs table. The gauges are
//! global: every replica reports the same backlog, so aggregate them across replicas with `max`, not `sum`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

/// Reports each statement `store` runs as a span under the current one. Statements outside any traced operation
/// (the reconciler's idle polling) make no span, so an idle gateway exports nothing. Call it before cloning the
/// store.
pub fn trace_statements(store: &mut store::Store) {
    let tracer = opentelemetry::global::tracer(super::SCOPE);
    store.observe_statements(move |statement| {
        let parent = Context::current();
        if !parent.has_active_span() {
            return;
        }
        let end = SystemTime::now();
        let mut span = tracer
            .span_builder(statement.operation)
            .with_kind(SpanKind::Client)
            .with_start_time(end.checked_sub(statement.elapsed).unwrap_or(end))
            .with_attributes([
                KeyValue::new("db.system.name", statement.system),
                KeyValue::new("db.operation.name", statement.operation),
            ])
            .start_with_context(&tracer, &parent);
        if statement.failed {
            span.set_attribute(KeyValue::new("error.type", "db_error"));
            span.set_status(Status::error("statement failed"));
        }
        span.end_with_timestamp(end);
    });
}

/// How often the backlog is read: the metric export interval (`OTEL_METRIC_EXPORT_INTERVAL`, default 60 s), so
/// each export carries a fresh value, but no less often than every 15 s.
fn backlog_interval() -> Duration {
    let millis = std::env::var("OTEL_METRIC_EXPORT_INTERVAL")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or(60_000);
    Duration::from_millis(millis).clamp(Duration::from_millis(100), Duration::from_secs(15))
}

/// Registers the backlog gauges and keeps them fed from `store` until the returned task is aborted.
pub fn watch_backlog(store: store::Store) -> tokio::task::JoinHandle<()> {
    let due = Arc::new(AtomicU64::new(0));
    let oldest_age = Arc::new(AtomicU64::new(0f64.to_bits()));
    let meter = super::meter();
    let due_gauge = {
        let due = due.clone();
        meter
            .u64_observable_gauge("alipay_gateway.reconciler.due_jobs")
            .with_unit("{job}")
            .with_description(
                "Reconciler jobs due now, across all replicas (same value on each: aggregate with max)",
            )
            .with_callback(move |observer| observer.observe(due.load(Ordering::Relaxed), &[]))
            .build()
    };
    let age_gauge = {
        let oldest_age = oldest_age.clone();
        meter
            .f64_observable_gauge("alipay_gateway.reconciler.oldest_due_age")
            .with_unit("s")
            .with_description(
                "How long the oldest due reconciler job has been due, across all replicas (aggregate with max)",
            )
            .with_callback(move |observer| {
                observer.observe(f64::from_bits(oldest_age.load(Ordering::Relaxed)), &[])
            })
            .build()
    };
    let every = backlog_interval();
    tokio::spawn(async move {
        // The gauges report as long as they are registered; holding them here ties that to this task.
        let _gauges = (due_gauge, age_gauge);
        loop {
            match store.jobs().due_summary().await {
                Ok((count, oldest)) => {
                    let age = oldest
                        .and_then(|at| (chrono::Utc::now() - at).to_std().ok())
                        .unwrap_or_default();
                    due.store(count, Ordering::Relaxed);
                    oldest_age.store(age.as_secs_f64().to_bits(), Ordering::Relaxed);
                }
                Err(error) => tracing::warn!(%error, "reading the reconciler backlog failed"),
            }
            tokio::time::sleep(every).await;
        }
    })
}
