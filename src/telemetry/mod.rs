//! OpenTelemetry traces and metrics, exported over OTLP/gRPC. Off unless `otlp_endpoint` (or the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) is set: then nothing is built, nothing is exported and nothing about exporting is
//! logged. When on, the SDK also reads the standard `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_BSP_*` and `OTEL_METRIC_EXPORT_INTERVAL` variables. Export runs on the SDK's
//! own threads, never on a request's path: a slow or dead collector costs dropped telemetry, not latency.
//!
//! The allow-list: the tracing layer exports only spans of the [`TARGET`] target (no events, no other spans), and
//! every such span is built by one constructor in this module or its siblings in `alipay` (HTTP client span) and
//! `engine` (reconciler job span) with a fixed set of vetted fields. Ids, amounts, tokens, codes, bodies, request
//! metadata and messages never become attributes. Everything the gateway's own tonic/h2/hyper/tower stack or the
//! SDK itself logs is filtered out of this layer explicitly, else the exporter's own calls would loop back into it.
//!
//! Parts: [`rpc`] (the tower layer that spans and times every gateway RPC), [`calls`] (the Alipay call metrics, fed
//! by the client's `CallObserver` hook), [`store`] (statement spans and the reconciler backlog gauges),
//! [`webhook`] (span and counter for the notification ingress), [`logs`] (trace ids in JSON logs).

pub mod calls;
pub mod logs;
pub mod rpc;
pub mod store;
pub mod webhook;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

/// The tracing target of every exported span (the allow-list). Anything logged under another target stays in the
/// logs. The `alipay` and `engine` crates use the same literal.
pub const TARGET: &str = "otel";

/// Instrumentation scope of the gateway's own spans and instruments.
const SCOPE: &str = "alipay-gateway";

/// Histogram boundaries for durations in seconds (the semantic conventions' advice for HTTP and RPC durations).
const SECONDS_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter rejected its configuration (e.g. the endpoint).
    #[error("OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The installed trace and meter providers. Keep it for the life of the process and call
/// [`Telemetry::shutdown`] on the way out, so the last spans and metric points are flushed.
#[derive(Debug)]
pub struct Telemetry {
    traces: SdkTracerProvider,
    metrics: SdkMeterProvider,
}

impl Telemetry {
    /// Builds the OTLP/gRPC exporters for `endpoint` and installs the global tracer provider, meter provider and
    /// W3C trace-context propagator. Must run inside the Tokio runtime (the gRPC channel lives on it).
    pub fn start(endpoint: &str) -> Result<Self, TelemetryError> {
        use opentelemetry_otlp::{MetricExporter, SpanExporter, WithExportConfig as _};
        let resource = resource();
        let spans = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?;
        let traces = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource.clone())
            .build();
        let points = MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?;
        let metrics = SdkMeterProvider::builder()
            .with_periodic_exporter(points)
            .with_resource(resource)
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(traces.clone());
        opentelemetry::global::set_meter_provider(metrics.clone());
        Ok(Self { traces, metrics })
    }

    /// The tracing layer that turns [`TARGET`] spans into OpenTelemetry spans. Its filter is the allow-list: the
    /// gateway's spans only, with the transport and the SDK turned off by name as well.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        let filter = Targets::new()
            .with_default(LevelFilter::OFF)
            .with_target(TARGET, LevelFilter::INFO)
            .with_targets(
                ["tonic", "h2", "hyper", "tower", "opentelemetry"]
                    .map(|target| (target, LevelFilter::OFF)),
            );
        tracing_opentelemetry::layer()
            .with_tracer(self.traces.tracer(SCOPE))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(filter)
    }

    /// Flushes and stops both providers. A dead collector delays this by at most the exporter timeout
    /// (`OTEL_EXPORTER_OTLP_TIMEOUT`); the providers block, so they run on a blocking thread.
    pub async fn shutdown(self) {
        let stopped = tokio::task::spawn_blocking(move || {
            if let Err(error) = self.traces.shutdown() {
                tracing::warn!(%error, "flushing the last spans failed");
            }
            if let Err(error) = self.metrics.shutdown() {
                tracing::warn!(%error, "flushing the last metric points failed");
            }
        })
        .await;
        if let Err(error) = stopped {
            tracing::warn!(%error, "telemetry shutdown task failed");
        }
    }
}

/// The resource from the SDK's detectors (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), named
/// `alipay-gateway` unless those name the service.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    if named {
        return detected;
    }
    Resource::builder()
        .with_service_name(SCOPE)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The gateway's meter (a no-op until [`Telemetry::start`] installed the SDK).
fn meter() -> opentelemetry::metrics::Meter {
    opentelemetry::global::meter(SCOPE)
}

/// A duration histogram in seconds with [`SECONDS_BUCKETS`].
fn seconds_histogram(
    name: &'static str,
    description: &'static str,
) -> opentelemetry::metrics::Histogram<f64> {
    meter()
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(SECONDS_BUCKETS.to_vec())
        .build()
}
