//! OpenTelemetry end to end: the real binary exports to an in-process OTLP/gRPC collector (the
//! opentelemetry-proto services over tonic). A span per RPC parented on the caller's `traceparent`, the Alipay call
//! as its child (and the same trace context sent to Alipay), store and reconciler spans, every metric, and no
//! secret of a wallet flow anywhere in what was exported. Without an endpoint nothing is exported or logged about
//! it; a dead collector does not slow RPCs down.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alipay_gateway::pb::v1 as pb;
use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use prost::Message as _;

/// The caller's trace: W3C `traceparent` of a span in another service.
const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

/// Everything the collector received, decoded and as the raw protobuf (for the secret scan).
#[derive(Debug, Default)]
struct Received {
    spans: Vec<Span>,
    metrics: Vec<Metric>,
    service_names: Vec<String>,
    raw: Vec<u8>,
}

/// An OTLP/gRPC collector on a loopback ephemeral port.
#[derive(Debug, Clone, Default)]
struct Collector {
    received: Arc<Mutex<Received>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        let mut received = self.received.lock().expect("collector lock");
        received.raw.extend(request.encode_to_vec());
        for resource in request.resource_spans {
            if let Some(resource) = &resource.resource {
                received
                    .service_names
                    .extend(string_attr(&resource.attributes, "service.name"));
            }
            for scope in resource.scope_spans {
                received.spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        let mut received = self.received.lock().expect("collector lock");
        received.raw.extend(request.encode_to_vec());
        for resource in request.resource_metrics {
            for scope in resource.scope_metrics {
                received.metrics.extend(scope.metrics);
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Collector {
    /// Starts serving; returns the collector and its `http://` endpoint.
    async fn start() -> (Collector, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind collector");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let collector = Collector::default();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
        tokio::spawn(server);
        (collector, endpoint)
    }

    fn with<T>(&self, read: impl FnOnce(&Received) -> T) -> T {
        read(&self.received.lock().expect("collector lock"))
    }
}

fn string_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(text) => Some(text.clone()),
            any_value::Value::IntValue(n) => Some(n.to_string()),
            _ => None,
        }
    })
}

fn attr(span: &Span, key: &str) -> Option<String> {
    string_attr(&span.attributes, key)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A gRPC request carrying the caller's trace context.
fn traced<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01")
            .parse()
            .expect("metadata value"),
    );
    request
}

/// The attribute sets of a metric's data points (every kind of metric the gateway exports).
fn data_points(metric: &Metric) -> Vec<&[KeyValue]> {
    match &metric.data {
        Some(metric::Data::Sum(sum)) => sum
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(metric::Data::Gauge(gauge)) => gauge
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(metric::Data::Histogram(histogram)) => histogram
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        _ => Vec::new(),
    }
}

/// Telemetry on, exporting fast: batches every 100 ms, metrics every 200 ms.
/// An id sent in an unverified notification: it must appear in no exported span, attribute or metric.
const SECRET_LOOKING_ID: &str = "NOTIFY-BODY-MUST-NOT-BE-EXPORTED";

fn telemetry_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        ("OTEL_SERVICE_NAME", "gateway-under-test".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200".to_owned()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000".to_owned()),
        ("ALIPAY_GATEWAY_LOG_FORMAT", "json".to_owned()),
    ]
}

fn start_gateway(
    db: &TestDb,
    sandbox: &sandbox::RunningSandbox,
    env: &[(&'static str, String)],
) -> GatewayProcess {
    let options = GatewayOptions {
        extra_env: env.to_vec(),
        ..GatewayOptions::default()
    };
    GatewayProcess::start(db, sandbox, &options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpcs_alipay_calls_store_and_reconciler_are_traced_and_measured_without_secrets() {
    for_each_backend(|db| async move {
        let (collector, endpoint) = Collector::start().await;
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let metrics_listen = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port");
        let mut env = telemetry_env(&endpoint);
        env.push(("ALIPAY_GATEWAY_METRICS_LISTEN", metrics_listen.to_string()));
        let gateway = start_gateway(&db, &sandbox, &env);

        // The wallet flow: consult, authorise, applyToken, pay, refund, plus an in-store payment code.
        let mut auth = gateway.auth().await;
        let state = request_id("state");
        let consult = auth
            .consult(traced(consult_request(&state, DEFAULT_SCOPES)))
            .await
            .expect("consult")
            .into_inner();
        let auth_code = follow_auth_page(&consult.auth_url, &state).await;
        let binding = auth
            .apply_token(traced(pb::ApplyTokenRequest {
                auth_code: auth_code.clone(),
                wallet: pb::Wallet::Gcash as i32,
                customer_id: "customer-otel".into(),
                scopes: DEFAULT_SCOPES.iter().map(|s| *s as i32).collect(),
                merchant_region: BINDING_REGION.into(),
            }))
            .await
            .expect("apply token")
            .into_inner()
            .binding
            .expect("binding");
        let access_token = stored_access_token(&db, &binding.binding_id).await;

        let mut payments = gateway.payments().await;
        let pay_id = request_id("pay");
        payments
            .pay(traced(agreement_pay(&pay_id, &binding.binding_id, 1000)))
            .await
            .unwrap_or_else(|s| panic!("pay: {s:?}\n{}", gateway.log()));
        payments
            .refund(traced(pb::RefundRequest {
                refund_request_id: request_id("refund"),
                payment_request_id: pay_id.clone(),
                refund_amount: Some(pb::Amount {
                    currency: "PHP".into(),
                    value: 400,
                }),
                refund_reason: "partial".into(),
            }))
            .await
            .expect("refund");
        let payment_code = "281234567890123456";
        payments
            .pay(in_store_pay(&request_id("store"), payment_code, 1000))
            .await
            .expect("in-store pay");
        // PROCESSING, then settled by the reconciler after three inquiries.
        let pending_id = request_id("pending");
        payments
            .pay(agreement_pay(&pending_id, &binding.binding_id, 93003))
            .await
            .expect("pay in process");
        wait_for_status(
            &gateway,
            &pending_id,
            pb::PaymentStatus::Success,
            Duration::from_secs(30),
        )
        .await;
        let rejected = payments
            .pay(traced(agreement_pay("", &binding.binding_id, 1000)))
            .await
            .expect_err("no payment request id");
        assert_eq!(rejected.code(), tonic::Code::InvalidArgument);

        // An unsigned notification: refused (401) and counted, with nothing of its body recorded.
        let notify = gateway.notify_addr.expect("the notification listener");
        let refused = reqwest::Client::new()
            .post(format!("http://{notify}/alipay/notify"))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"notifyType":"PAYMENT_RESULT","paymentRequestId":"{SECRET_LOOKING_ID}"}}"#
            ))
            .send()
            .await
            .expect("post a notification");
        assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);

        // The same metrics for Prometheus to scrape.
        let scraped = reqwest::get(format!("http://{metrics_listen}/metrics"))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("scrape body");
        for name in [
            "alipay_gateway_alipay_calls",
            "rpc_server_call_duration",
            "alipay_gateway_reconciler_due_jobs",
        ] {
            assert!(scraped.contains(name), "{name} scraped:\n{scraped}");
        }

        // Graceful stop flushes the last spans and metric points.
        let log = gateway.log();
        assert!(gateway.terminate().success(), "graceful exit");
        let received = std::mem::take(&mut *collector.received.lock().expect("collector lock"));
        let spans = &received.spans;

        assert!(
            received
                .service_names
                .iter()
                .all(|name| name == "gateway-under-test"),
            "OTEL_SERVICE_NAME names the resource: {:?}",
            received.service_names
        );

        // The Pay RPC: a server span in the caller's trace, child of the caller's span.
        let pay_method = "alipay.gateway.v1.PaymentService/Pay";
        let in_caller_trace = |span: &&Span| hex(&span.trace_id) == CALLER_TRACE_ID;
        let pay_rpcs: Vec<&Span> = spans
            .iter()
            .filter(in_caller_trace)
            .filter(|s| s.name == pay_method)
            .collect();
        let pay_rpc = pay_rpcs
            .iter()
            .find(|s| attr(s, "rpc.response.status_code").as_deref() == Some("OK"))
            .unwrap_or_else(|| panic!("no OK Pay span in the caller's trace: {pay_rpcs:#?}"));
        assert_eq!(pay_rpc.kind, SpanKind::Server as i32);
        assert_eq!(hex(&pay_rpc.parent_span_id), CALLER_SPAN_ID);
        assert_eq!(attr(pay_rpc, "rpc.method").as_deref(), Some(pay_method));
        assert_eq!(attr(pay_rpc, "rpc.system.name").as_deref(), Some("grpc"));
        assert_eq!(attr(pay_rpc, "error.type"), None);

        // Its Alipay call: a client span, child of the RPC span, with the HTTP and Alipay attributes.
        let alipay = spans
            .iter()
            .find(|s| {
                s.parent_span_id == pay_rpc.span_id
                    && s.kind == SpanKind::Client as i32
                    && attr(s, "url.template").is_some()
            })
            .unwrap_or_else(|| panic!("no Alipay span under the Pay RPC: {spans:#?}"));
        assert_eq!(alipay.trace_id, pay_rpc.trace_id);
        assert_eq!(alipay.name, "POST /ams/api/v1/payments/pay");
        assert_eq!(attr(alipay, "http.request.method").as_deref(), Some("POST"));
        assert_eq!(attr(alipay, "server.address").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            attr(alipay, "url.template").as_deref(),
            Some("/ams/api/v1/payments/pay")
        );
        assert_eq!(
            attr(alipay, "http.response.status_code").as_deref(),
            Some("200")
        );
        assert_eq!(attr(alipay, "alipay.result_status").as_deref(), Some("S"));
        assert_eq!(
            attr(alipay, "alipay.result_code").as_deref(),
            Some("SUCCESS")
        );
        // ... and Alipay received that span as the parent of its own work.
        let sent = format!("00-{CALLER_TRACE_ID}-{}-01", hex(&alipay.span_id));
        assert!(
            sandbox
                .stats()
                .trace_parents("payments/pay")
                .contains(&sent),
            "traceparent {sent} sent to Alipay: {:?}",
            sandbox.stats().trace_parents("payments/pay")
        );

        // Store statements: spans in the RPC's trace, kind and system only.
        let system = if db.backend == "postgres" {
            "postgresql"
        } else {
            "sqlite"
        };
        let statement = spans
            .iter()
            .filter(in_caller_trace)
            .find(|s| attr(s, "db.system.name").as_deref() == Some(system))
            .unwrap_or_else(|| panic!("no {system} statement span in the caller's trace"));
        assert!(matches!(
            attr(statement, "db.operation.name").as_deref(),
            Some("SELECT" | "INSERT" | "UPDATE" | "DELETE" | "BEGIN" | "COMMIT")
        ));

        // A rejected RPC: the status as text and error.type.
        let invalid = spans
            .iter()
            .filter(in_caller_trace)
            .find(|s| attr(s, "rpc.response.status_code").as_deref() == Some("INVALID_ARGUMENT"))
            .expect("the rejected Pay is traced");
        assert_eq!(
            attr(invalid, "error.type").as_deref(),
            Some("INVALID_ARGUMENT")
        );
        for method in [
            "AuthorizationService/Consult",
            "AuthorizationService/ApplyToken",
            "PaymentService/Refund",
        ] {
            let name = format!("alipay.gateway.v1.{method}");
            assert!(
                spans.iter().filter(in_caller_trace).any(|s| s.name == name),
                "{name} traced in the caller's trace"
            );
        }

        // The reconciler's job runs.
        assert!(
            spans
                .iter()
                .any(
                    |s| attr(s, "alipay_gateway.job.kind").as_deref() == Some("INQUIRE_PAYMENT")
                        && attr(s, "alipay_gateway.job.outcome").is_some()
                ),
            "reconciler job spans"
        );

        // Every metric, with its bounded attributes.
        let metric = |name: &str| {
            received
                .metrics
                .iter()
                .filter(|m| m.name == name)
                .flat_map(data_points)
                .collect::<Vec<_>>()
        };
        for name in [
            "rpc.server.call.duration",
            "http.client.request.duration",
            "alipay_gateway.alipay.calls",
            "alipay_gateway.overhead",
            "alipay_gateway.reconciler.due_jobs",
            "alipay_gateway.reconciler.oldest_due_age",
            "alipay_gateway.reconciler.jobs",
            "alipay_gateway.reconciler.lease_takeovers",
            "alipay_gateway.webhook.received",
        ] {
            assert!(!metric(name).is_empty(), "metric {name} exported");
        }
        let webhooks = metric("alipay_gateway.webhook.received");
        assert!(
            webhooks
                .iter()
                .any(|a| string_attr(a, "type").as_deref() == Some("OTHER")
                    && string_attr(a, "outcome").as_deref() == Some("rejected")),
            "the refused notification is counted: {webhooks:?}"
        );
        let calls = metric("alipay_gateway.alipay.calls");
        let has = |points: &[&[KeyValue]], want: &[(&str, &str)]| {
            points.iter().any(|attributes| {
                want.iter()
                    .all(|(k, v)| string_attr(attributes, k).as_deref() == Some(*v))
            })
        };
        assert!(has(
            &calls,
            &[
                ("endpoint", "payments/pay"),
                ("result_status", "S"),
                ("result_code", "SUCCESS")
            ]
        ));
        assert!(has(
            &calls,
            &[
                ("endpoint", "payments/pay"),
                ("result_status", "U"),
                ("result_code", "PAYMENT_IN_PROCESS")
            ]
        ));
        assert!(has(
            &calls,
            &[
                ("endpoint", "authorizations/applyToken"),
                ("result_status", "S")
            ]
        ));
        assert!(has(
            &metric("rpc.server.call.duration"),
            &[
                ("rpc.method", pay_method),
                ("rpc.response.status_code", "INVALID_ARGUMENT"),
                ("error.type", "INVALID_ARGUMENT")
            ]
        ));
        assert!(has(
            &metric("alipay_gateway.overhead"),
            &[("rpc.method", pay_method)]
        ));
        assert!(has(
            &metric("alipay_gateway.reconciler.jobs"),
            &[("kind", "INQUIRE_PAYMENT"), ("outcome", "done")]
        ));

        // No secret of the flow in anything exported: spans, events, attributes, labels, resource.
        let raw = String::from_utf8_lossy(&received.raw) + scraped.as_str();
        for (what, secret) in [
            ("auth code", auth_code.as_str()),
            ("access token", access_token.as_str()),
            ("payment code", payment_code),
            ("notification body", SECRET_LOOKING_ID),
        ] {
            assert!(!secret.is_empty());
            assert!(!raw.contains(secret), "the {what} was exported");
        }
        assert!(
            spans.iter().all(|s| s.events.is_empty()),
            "no log events are exported"
        );

        // JSON log lines inside the traced RPCs carry the trace and span ids.
        assert!(
            log.lines().any(
                |line| line.contains(&format!("\"trace_id\":\"{CALLER_TRACE_ID}\""))
                    && line.contains("\"span_id\":\"")
            ),
            "no JSON log line with the caller's trace id:\n{log}"
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_nothing_is_exported_or_logged_about_it() {
    for_each_backend(|db| async move {
        let (collector, _endpoint) = Collector::start().await;
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let gateway = start_gateway(
            &db,
            &sandbox,
            &[
                ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
                ("OTEL_METRIC_EXPORT_INTERVAL", "200".to_owned()),
                ("ALIPAY_GATEWAY_LOG_FORMAT", "json".to_owned()),
                // The default level: what an operator sees (the suite's credential scan logs at trace).
                ("ALIPAY_GATEWAY_LOG", "info".to_owned()),
            ],
        );
        let binding = bind_wallet(&gateway, "customer-quiet").await;
        gateway
            .payments()
            .await
            .pay(traced(agreement_pay(
                &request_id("pay"),
                &binding.binding_id,
                1000,
            )))
            .await
            .expect("pay");
        let log = gateway.log();
        assert!(gateway.terminate().success());
        collector.with(|received| {
            assert!(received.raw.is_empty(), "exported: {received:?}");
        });
        let lower = log.to_lowercase();
        for word in ["opentelemetry", "otlp", "export", "trace_id"] {
            assert!(!lower.contains(word), "{word:?} in the log:\n{log}");
        }
        assert!(
            sandbox.stats().trace_parents("payments/pay").is_empty(),
            "no trace context is propagated without telemetry"
        );
        sandbox.shutdown().await;
    })
    .await;
}

/// Median wall time of `rounds` GetPayment + Pay pairs against `gateway`.
async fn median_round_trip(gateway: &GatewayProcess, binding_id: &str, rounds: usize) -> Duration {
    let mut payments = gateway.payments().await;
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let id = request_id("timed");
        let started = Instant::now();
        payments
            .pay(agreement_pay(&id, binding_id, 1000))
            .await
            .expect("pay");
        payments
            .get_payment(pb::GetPaymentRequest {
                payment_request_id: id,
            })
            .await
            .expect("get payment");
        times.push(started.elapsed());
    }
    times.sort();
    times[rounds / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_does_not_slow_rpcs_down() {
    for_each_backend(|db| async move {
        // A port nobody listens on any more.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr")
        };
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let plain = start_gateway(&db, &sandbox, &[]);
        let mut dead_env = telemetry_env(&format!("http://{closed}"));
        // Export attempts as often as possible, to make any interference visible.
        dead_env.push(("OTEL_BSP_SCHEDULE_DELAY", "10".to_owned()));
        dead_env.push(("OTEL_METRIC_EXPORT_INTERVAL", "50".to_owned()));
        let dead = start_gateway(&db, &sandbox, &dead_env);
        let binding = bind_wallet(&plain, "customer-timed").await;

        // Warm both up, then measure them alternately in the same run.
        median_round_trip(&plain, &binding.binding_id, 3).await;
        median_round_trip(&dead, &binding.binding_id, 3).await;
        let (mut plain_medians, mut dead_medians) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            plain_medians.push(median_round_trip(&plain, &binding.binding_id, 7).await);
            dead_medians.push(median_round_trip(&dead, &binding.binding_id, 7).await);
        }
        plain_medians.sort();
        dead_medians.sort();
        let ratio = dead_medians[1].as_secs_f64() / plain_medians[1].as_secs_f64();
        eprintln!(
            "median Pay+GetPayment: no telemetry {:?}, dead collector {:?} (ratio {ratio:.2})",
            plain_medians[1], dead_medians[1]
        );
        assert!(
            ratio < 3.0,
            "a dead collector slowed RPCs down {ratio:.2}x\n{}",
            dead.log()
        );
        assert!(
            dead.terminate().success(),
            "a dead collector does not block shutdown"
        );
        assert!(plain.terminate().success());
        sandbox.shutdown().await;
    })
    .await;
}
