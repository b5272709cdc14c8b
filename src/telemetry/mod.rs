//! OpenTelemetry traces and metrics, exported over OTLP/gRPC, and optionally the metrics for Prometheus to scrape.
//! Off unless `otlp_endpoint` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`) or `metrics_listen` is set: otherwise
//! nothing is built, nothing is exported and nothing about exporting is logged. When on, the SDK also reads the standard `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
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
//! [`webhook`] (span and counter for the notification ingress), [`logs`] (trace ids in JSON logs), and the
//! Prometheus scrape endpoint.

pub mod calls;
pub mod logs;
mod prometheus;
pub mod rpc;
pub mod store;
pub mod webhook;

use std::net::SocketAddr;

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
    /// The Prometheus reader could not be built.
    #[error("Prometheus exporter: {0}")]
    Prometheus(opentelemetry_sdk::error::OTelSdkError),
    /// `metrics_listen` could not be bound.
    #[error("cannot listen on {addr} for metrics: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The installed providers. Keep it for the life of the process and call [`Telemetry::shutdown`] on the way out,
/// so the last spans and metric points are flushed.
#[derive(Debug)]
pub struct Telemetry {
    /// Present with an OTLP endpoint (traces are only pushed).
    traces: Option<SdkTracerProvider>,
    metrics: SdkMeterProvider,
    /// The Prometheus scrape endpoint, with `metrics_listen`.
    scrape: Option<tokio::task::JoinHandle<()>>,
}

impl Telemetry {
    /// With an OTLP `endpoint`: the OTLP/gRPC span and metric exporters and the W3C trace-context propagator; with
    /// `metrics_listen`: the Prometheus endpoint. Installs them globally; `None` when neither is configured. Must
    /// run inside the Tokio runtime (the gRPC channel and the scrape endpoint live on it).
    pub fn start(
        endpoint: Option<&str>,
        metrics_listen: Option<SocketAddr>,
    ) -> Result<Option<Self>, TelemetryError> {
        use opentelemetry_otlp::{MetricExporter, SpanExporter, WithExportConfig as _};
        if endpoint.is_none() && metrics_listen.is_none() {
            return Ok(None);
        }
        let resource = resource();
        let mut metrics = SdkMeterProvider::builder().with_resource(resource.clone());
        let mut traces = None;
        if let Some(endpoint) = endpoint {
            let spans = SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            traces = Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(spans)
                    .with_resource(resource)
                    .build(),
            );
            let points = MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            metrics = metrics.with_periodic_exporter(points);
        }
        let mut scrape = None;
        if let Some(addr) = metrics_listen {
            let (reader, served) = prometheus::start(addr)?;
            metrics = metrics.with_reader(reader);
            scrape = Some(served);
        }
        let metrics = metrics.build();
        if let Some(traces) = &traces {
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
            opentelemetry::global::set_tracer_provider(traces.clone());
        }
        opentelemetry::global::set_meter_provider(metrics.clone());
        Ok(Some(Self {
            traces,
            metrics,
            scrape,
        }))
    }

    /// The tracing layer that turns [`TARGET`] spans into OpenTelemetry spans, when traces are exported. Its
    /// filter is the allow-list: the gateway's spans only, with the transport and the SDK turned off by name too.
    pub fn layer<S>(&self) -> Option<impl Layer<S> + Send + Sync + 'static>
    where
        S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        let traces = self.traces.as_ref()?;
        let filter = Targets::new()
            .with_default(LevelFilter::OFF)
            .with_target(TARGET, LevelFilter::INFO)
            .with_targets(
                ["tonic", "h2", "hyper", "tower", "opentelemetry"]
                    .map(|target| (target, LevelFilter::OFF)),
            );
        let layer = tracing_opentelemetry::layer()
            .with_tracer(traces.tracer(SCOPE))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(filter);
        Some(layer)
    }

    /// Flushes and stops both providers. A dead collector delays this by at most the exporter timeout
    /// (`OTEL_EXPORTER_OTLP_TIMEOUT`); the providers block, so they run on a blocking thread.
    pub async fn shutdown(self) {
        if let Some(scrape) = self.scrape {
            scrape.abort();
        }
        let stopped = tokio::task::spawn_blocking(move || {
            if let Some(Err(error)) = self.traces.map(|traces| traces.shutdown()) {
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
