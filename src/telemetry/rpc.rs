//! The server side of every gateway RPC: a tower layer on the tonic server that opens the RPC span (parented on
//! the caller's W3C `traceparent`/`tracestate`), records its gRPC status once the response ends, and records
//! `rpc.server.call.duration` and `alipay_gateway.overhead` (the RPC's time minus the time its Alipay calls took).
//!
//! Health checks and reflection pass through untraced (probes would drown the traces). Method names come from the
//! gateway's own descriptors; anything else is `_OTHER`, so a client cannot mint attribute values.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body::Frame;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use opentelemetry_http::HeaderExtractor;
use prost::Message as _;
use tonic::Code;
use tonic::body::Body;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

tokio::task_local! {
    /// Nanoseconds the current RPC spent waiting for Alipay.
    static ALIPAY_NANOS: Arc<AtomicU64>;
}

/// Adds one Alipay call's latency to the RPC this task serves (nothing outside an RPC, e.g. in the reconciler).
pub(crate) fn add_alipay_time(latency: Duration) {
    let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
    let _ = ALIPAY_NANOS.try_with(|total| total.fetch_add(nanos, Ordering::Relaxed));
}

/// The gateway's RPC names (`alipay.gateway.v1.PaymentService/Pay`, ...), read from its descriptors.
static METHODS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let set =
        prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap_or_default();
    set.file
        .iter()
        .flat_map(|file| {
            file.service.iter().flat_map(move |service| {
                service.method.iter().map(move |method| {
                    format!("{}.{}/{}", file.package(), service.name(), method.name())
                })
            })
        })
        .collect()
});

/// The `rpc.method` of a request path, or `None` for the services that are not traced (health, reflection).
fn traced_method(path: &str) -> Option<&'static str> {
    let name = path.strip_prefix('/')?;
    if !name.starts_with("alipay.gateway.") {
        return None;
    }
    Some(METHODS.get(name).map_or("_OTHER", String::as_str))
}

/// gRPC status names as the semantic conventions spell them (`OK`, `INVALID_ARGUMENT`, ...).
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Server-side faults (the conventions mark only these spans as errors; a rejected input is the caller's).
fn is_server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

fn grpc_status(headers: &http::HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
    Some(Code::from_i32(value))
}

#[derive(Debug)]
struct Instruments {
    duration: Histogram<f64>,
    overhead: Histogram<f64>,
}

/// The tower layer; add it with `tonic::transport::Server::builder().layer(RpcLayer::new())`.
#[derive(Debug, Clone)]
pub struct RpcLayer {
    instruments: Arc<Instruments>,
}

impl RpcLayer {
    /// Creates the instruments from the global meter (no-ops while telemetry is off).
    pub fn new() -> Self {
        Self {
            instruments: Arc::new(Instruments {
                duration: super::seconds_histogram(
                    "rpc.server.call.duration",
                    "Duration of the gateway's gRPC calls, until the response ended",
                ),
                overhead: super::seconds_histogram(
                    "alipay_gateway.overhead",
                    "Time of a gRPC call that called Alipay, minus the time its Alipay calls took",
                ),
            }),
        }
    }
}

impl Default for RpcLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tower::Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcService {
            inner,
            instruments: self.instruments.clone(),
        }
    }
}

/// The service [`RpcLayer`] wraps around the gateway's routes.
#[derive(Debug, Clone)]
pub struct RpcService<S> {
    inner: S,
    instruments: Arc<Instruments>,
}

impl<S, B> tower::Service<http::Request<B>> for RpcService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let Some(method) = traced_method(request.uri().path()) else {
            return Box::pin(self.inner.call(request));
        };
        let span = tracing::info_span!(
            target: "otel",
            "rpc",
            otel.name = method,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            "rpc.system.name" = "grpc",
            "rpc.method" = method,
            "rpc.response.status_code" = tracing::field::Empty,
            "error.type" = tracing::field::Empty,
        );
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(request.headers()))
        });
        // Fails only when telemetry is off (no OpenTelemetry layer): then there is nothing to parent.
        let _ = span.set_parent(parent);
        let call = Call {
            method,
            span: span.clone(),
            started: Instant::now(),
            alipay_nanos: Arc::default(),
            instruments: self.instruments.clone(),
        };
        let handled = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let handled = ALIPAY_NANOS
            .scope(call.alipay_nanos.clone(), handled)
            .instrument(span);
        Box::pin(async move {
            let response = handled.await?;
            Ok(call.observe(response))
        })
    }
}

/// One RPC in flight: finished once its gRPC status is known (or its response is dropped unfinished).
#[derive(Debug)]
struct Call {
    method: &'static str,
    span: tracing::Span,
    started: Instant,
    alipay_nanos: Arc<AtomicU64>,
    instruments: Arc<Instruments>,
}

impl Call {
    /// Errors come trailers-only (status in the headers); successes end with trailers after the body.
    fn observe(self, response: http::Response<Body>) -> http::Response<Body> {
        if let Some(code) = grpc_status(response.headers()) {
            self.finish(code);
            return response;
        }
        let (parts, body) = response.into_parts();
        http::Response::from_parts(
            parts,
            Body::new(ObservedBody {
                inner: body,
                call: Some(self),
            }),
        )
    }

    fn finish(self, code: Code) {
        let elapsed = self.started.elapsed();
        let name = code_name(code);
        self.span.record("rpc.response.status_code", name);
        let mut attributes = vec![
            KeyValue::new("rpc.system.name", "grpc"),
            KeyValue::new("rpc.method", self.method),
            KeyValue::new("rpc.response.status_code", name),
        ];
        if code != Code::Ok {
            self.span.record("error.type", name);
            attributes.push(KeyValue::new("error.type", name));
            if is_server_fault(code) {
                self.span.record("otel.status_code", "error");
            }
        }
        self.instruments
            .duration
            .record(elapsed.as_secs_f64(), &attributes);
        let alipay = Duration::from_nanos(self.alipay_nanos.load(Ordering::Relaxed));
        if !alipay.is_zero() {
            self.instruments.overhead.record(
                elapsed.saturating_sub(alipay).as_secs_f64(),
                &[KeyValue::new("rpc.method", self.method)],
            );
        }
    }
}

/// A response body that reports the status from its trailers. The span stays open until the body ends.
struct ObservedBody {
    inner: Body,
    call: Option<Call>,
}

impl ObservedBody {
    fn finish(&mut self, code: Code) {
        if let Some(call) = self.call.take() {
            call.finish(code);
        }
    }
}

impl http_body::Body for ObservedBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(status))) => self.finish(status.code()),
            // A gRPC response always ends with trailers; one that did not is not a success.
            Poll::Ready(None) => self.finish(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    /// The client went away before the response ended.
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_gateway_methods_are_named() {
        assert_eq!(
            traced_method("/alipay.gateway.v1.PaymentService/Pay"),
            Some("alipay.gateway.v1.PaymentService/Pay")
        );
        assert_eq!(
            traced_method("/alipay.gateway.v1.PaymentService/4111111111111111"),
            Some("_OTHER")
        );
        assert_eq!(traced_method("/grpc.health.v1.Health/Check"), None);
    }
}
