//! The same metrics for Prometheus to scrape: `GET /metrics` on `metrics_listen` (conventionally port 9464), in the
//! text exposition format, for clusters that scrape (ServiceMonitor) rather than receive OTLP pushes. Metric names
//! follow the exporter's translation: dots become underscores, units and `_total` are appended (e.g.
//! `alipay_gateway_alipay_calls_total`, `rpc_server_call_duration_seconds`).

use std::net::SocketAddr;

use opentelemetry_prometheus::PrometheusExporter;
use prometheus::{Encoder as _, Registry, TextEncoder};

use super::TelemetryError;

/// A metric reader for the meter provider, and the task serving its registry on `addr`.
pub(super) fn start(
    addr: SocketAddr,
) -> Result<(PrometheusExporter, tokio::task::JoinHandle<()>), TelemetryError> {
    let registry = Registry::new();
    let reader = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .map_err(TelemetryError::Prometheus)?;
    let bind = |source| TelemetryError::Bind { addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(bind)?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move { scrape(&registry) }
        }),
    );
    let served = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics endpoint stopped");
        }
    });
    Ok((reader, served))
}

fn scrape(registry: &Registry) -> (http::StatusCode, [(http::HeaderName, String); 1], Vec<u8>) {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    let status = match encoder.encode(&registry.gather(), &mut body) {
        Ok(()) => http::StatusCode::OK,
        Err(error) => {
            tracing::warn!(%error, "encoding the metrics failed");
            http::StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    (
        status,
        [(http::header::CONTENT_TYPE, encoder.format_type().to_owned())],
        body,
    )
}
