//! Metrics of every Alipay call, fed by the client's [`alipay::CallObserver`] hook (which sees every call, from
//! RPCs and the reconciler alike): `alipay_gateway.alipay.calls` {endpoint, result_status, result_code} and
//! `http.client.request.duration`. It also adds each call's latency to the RPC being served, for
//! `alipay_gateway.overhead`.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};

use alipay::{CallObserver, CallOutcome, CallRecord};

/// The observer to install with `AlipayClient::with_observer`.
#[derive(Debug)]
pub struct CallMetrics {
    calls: Counter<u64>,
    duration: Histogram<f64>,
    /// `server.address` and `server.port` of the upstream.
    server: [KeyValue; 2],
}

impl CallMetrics {
    /// Instruments for calls to `base_url` (the upstream origin), from the global meter.
    pub fn new(base_url: &str) -> Self {
        let (address, port) = url::Url::parse(base_url)
            .ok()
            .and_then(|url| Some((url.host_str()?.to_owned(), url.port_or_known_default()?)))
            .unwrap_or_default();
        Self {
            calls: super::meter()
                .u64_counter("alipay_gateway.alipay.calls")
                .with_unit("{call}")
                .with_description(
                    "Alipay API calls by endpoint, resultStatus (S/F/U, `none` without an answer) and resultCode \
                     (`_OTHER` for codes the gateway does not know)",
                )
                .build(),
            duration: super::seconds_histogram(
                "http.client.request.duration",
                "Duration of the HTTP requests to Alipay",
            ),
            server: [
                KeyValue::new("server.address", address),
                KeyValue::new("server.port", i64::from(port)),
            ],
        }
    }
}

impl CallObserver for CallMetrics {
    fn on_call(&self, record: &CallRecord) {
        super::rpc::add_alipay_time(record.latency);
        let endpoint = KeyValue::new("endpoint", record.endpoint.name());
        let mut http = vec![KeyValue::new("http.request.method", "POST")];
        http.extend(self.server.iter().cloned());
        if let Some(status) = record.http_status {
            http.push(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        match &record.outcome {
            CallOutcome::Answered(outcome) => {
                self.calls.add(
                    1,
                    &[
                        endpoint,
                        KeyValue::new("result_status", outcome.result_status()),
                        KeyValue::new("result_code", outcome.code_label(record.endpoint)),
                    ],
                );
            }
            CallOutcome::Error { kind, .. } => {
                self.calls.add(
                    1,
                    &[
                        endpoint,
                        KeyValue::new("result_status", "none"),
                        KeyValue::new("result_code", "_NONE"),
                        KeyValue::new("error.type", *kind),
                    ],
                );
                http.push(KeyValue::new("error.type", *kind));
            }
        }
        self.duration.record(record.latency.as_secs_f64(), &http);
    }
}
