//! The HTTP client: one signed POST per call, response verified against the raw bytes before deserialising.
//!
//! Exactly one HTTP attempt per call: retry/inquire/cancel policy belongs to the engine, which is the only place
//! that knows whether a retry is safe for the business operation.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::config::{ClientConfig, PathPrefix};
use crate::error::{CallError, ConfigError};
use crate::mask::mask_body;
use crate::model::*;
use crate::observer::{CallObserver, CallOutcome, CallRecord};
use crate::outcome::{Endpoint, Outcome};
use crate::signing::{SignatureError, Signer, Verifier};
use crate::validate::Validate;

/// Largest response body accepted; Alipay answers are a few KiB, anything huge is not Alipay.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A request type with its endpoint and response type.
pub trait ApiRequest: Serialize + Validate {
    /// The response body type.
    type Response: ApiResponse;
    /// The endpoint it is sent to.
    const ENDPOINT: Endpoint;
    /// The idempotency key or correlation id, for records and tracing.
    fn request_id(&self) -> Option<&str>;
    /// In-store calls stay on `/ams/api` even in the sandbox.
    fn in_store(&self) -> bool {
        false
    }
}

/// A response body with the common result envelope.
pub trait ApiResponse: DeserializeOwned {
    /// The `result` envelope.
    fn result(&self) -> &ResultInfo;
}

macro_rules! api {
    ($req:ty => $resp:ty, $endpoint:expr, |$r:ident| $id:expr $(, in_store: |$s:ident| $in_store:expr)?) => {
        impl ApiRequest for $req {
            type Response = $resp;
            const ENDPOINT: Endpoint = $endpoint;
            fn request_id(&self) -> Option<&str> {
                let $r = self;
                $id
            }
            $(fn in_store(&self) -> bool {
                let $s = self;
                $in_store
            })?
        }
        impl ApiResponse for $resp {
            fn result(&self) -> &ResultInfo {
                &self.result
            }
        }
    };
}

api!(ConsultRequest => ConsultResponse, Endpoint::Consult, |r| Some(&r.auth_state));
api!(ApplyTokenRequest => ApplyTokenResponse, Endpoint::ApplyToken, |_r| None);
api!(RevokeRequest => RevokeResponse, Endpoint::Revoke, |_r| None);
api!(InquiryUserInfoRequest => InquiryUserInfoResponse, Endpoint::InquiryUserInfo, |_r| None);
api!(PayRequest => PayResponse, Endpoint::Pay, |r| Some(&r.payment_request_id),
    in_store: |r| r.product_code == ProductCode::InStorePayment);
api!(InquiryPaymentRequest => InquiryPaymentResponse, Endpoint::InquiryPayment,
    |r| r.payment_request_id.as_deref().or(r.payment_id.as_deref()), in_store: |r| r.in_store);
api!(CancelRequest => CancelResponse, Endpoint::Cancel,
    |r| r.payment_request_id.as_deref().or(r.payment_id.as_deref()), in_store: |r| r.in_store);
api!(CaptureRequest => CaptureResponse, Endpoint::Capture, |r| Some(&r.capture_request_id));
api!(RefundRequest => RefundResponse, Endpoint::Refund, |r| Some(&r.refund_request_id), in_store: |r| r.in_store);
api!(InquiryRefundRequest => InquiryRefundResponse, Endpoint::InquiryRefund,
    |r| r.refund_request_id.as_deref().or(r.refund_id.as_deref()), in_store: |r| r.in_store);

/// Whether the answer carried a valid signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseSignature {
    /// Signed and verified with Alipay's public key.
    Verified,
    /// Unsigned `F`/`U` answer (Alipay does not sign some error answers); its outcome is never `Success` or
    /// `InProcess`.
    Unsigned,
}

/// An answer from Alipay: the typed body for S, F and U alike, and what it means for this endpoint.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    /// The response body.
    pub body: T,
    /// Per-endpoint classification of `body.result`.
    pub outcome: Outcome,
    /// HTTP status (always 200 for a reply).
    pub http_status: u16,
    /// Whether the answer was signed.
    pub signature: ResponseSignature,
    /// The `request-time` header that was sent.
    pub request_time: String,
}

/// Signed client for the Alipay Global API. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct AlipayClient {
    inner: Arc<Inner>,
    observers: Vec<Arc<dyn CallObserver>>,
    request_timeout: Duration,
}

struct Inner {
    http: reqwest::Client,
    signer: Signer,
    verifier: Verifier,
    client_id: String,
    key_version: u32,
    base_url: String,
    /// Host and port of `base_url`, for the `server.address` / `server.port` telemetry attributes.
    server: (String, u16),
    prefix: PathPrefix,
}

impl fmt::Debug for AlipayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlipayClient")
            .field("client_id", &self.inner.client_id)
            .field("base_url", &self.inner.base_url)
            .field("prefix", &self.inner.prefix)
            .field("key_version", &self.inner.key_version)
            .field("request_timeout", &self.request_timeout)
            .field("observers", &self.observers.len())
            .finish_non_exhaustive()
    }
}

fn normalise_base_url(raw: &str) -> Result<String, ConfigError> {
    let url =
        url::Url::parse(raw.trim()).map_err(|e| ConfigError::InvalidBaseUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::InvalidBaseUrl(format!(
            "scheme `{}` is not http(s)",
            url.scheme()
        )));
    }
    if url.host_str().is_none() {
        return Err(ConfigError::InvalidBaseUrl("no host".into()));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::InvalidBaseUrl(
            "must be an origin only (scheme, host, port): the signed path starts at /ams".into(),
        ));
    }
    if url.scheme() == "http" {
        tracing::warn!(base_url = %url, "Alipay base URL is plain http: only acceptable for a local sandbox");
    }
    Ok(url.origin().ascii_serialization())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

impl AlipayClient {
    /// Builds a client, parsing both keys and validating the URL up front so a bad config fails at start-up.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let client_id = config.client_id.trim().to_owned();
        if client_id.is_empty() {
            return Err(ConfigError::InvalidClientId("empty"));
        }
        if !client_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::InvalidClientId("must be visible ASCII"));
        }
        let signer =
            Signer::from_text(&config.merchant_private_key).map_err(ConfigError::PrivateKey)?;
        let verifier =
            Verifier::from_text(&config.alipay_public_key).map_err(ConfigError::PublicKey)?;
        let base_url = normalise_base_url(&config.base_url)?;
        let server = url::Url::parse(&base_url)
            .ok()
            .and_then(|url| Some((url.host_str()?.to_owned(), url.port_or_known_default()?)))
            .ok_or_else(|| ConfigError::InvalidBaseUrl("no host".into()))?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // A signed request is small; never hold its last segment back for Alipay's delayed ACK.
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Http(error_chain(&e)))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                signer,
                verifier,
                client_id,
                key_version: config.key_version,
                base_url,
                server,
                prefix: config.path_prefix,
            }),
            observers: Vec::new(),
            request_timeout: config.request_timeout,
        })
    }

    /// Also reports every call to `observer` (the call log, metrics: each observer sees every call).
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// A clone with a different whole-call timeout, sharing the connection pool.
    pub fn with_request_timeout(&self, timeout: Duration) -> Self {
        Self {
            request_timeout: timeout,
            ..self.clone()
        }
    }

    /// The merchant client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The verifier for Alipay's signatures (also used for notifications).
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The exact path a request is sent to (and signed with).
    pub fn path_for<R: ApiRequest>(&self, request: &R) -> String {
        format!(
            "{}{}",
            self.inner.prefix.for_call(request.in_store()).as_str(),
            R::ENDPOINT.path_suffix()
        )
    }

    /// `authorizations/consult`: get the wallet authorization URL.
    pub async fn consult(&self, req: &ConsultRequest) -> Result<Reply<ConsultResponse>, CallError> {
        self.execute(req).await
    }

    /// `authorizations/applyToken`: exchange an authCode or refresh token for an access token.
    pub async fn apply_token(
        &self,
        req: &ApplyTokenRequest,
    ) -> Result<Reply<ApplyTokenResponse>, CallError> {
        self.execute(req).await
    }

    /// `authorizations/revoke`: revoke an access token.
    pub async fn revoke(&self, req: &RevokeRequest) -> Result<Reply<RevokeResponse>, CallError> {
        self.execute(req).await
    }

    /// `users/inquiryUserInfo`: who an access token belongs to.
    pub async fn inquiry_user_info(
        &self,
        req: &InquiryUserInfoRequest,
    ) -> Result<Reply<InquiryUserInfoResponse>, CallError> {
        self.execute(req).await
    }

    /// `payments/pay`.
    pub async fn pay(&self, req: &PayRequest) -> Result<Reply<PayResponse>, CallError> {
        self.execute(req).await
    }

    /// `payments/inquiryPayment`.
    pub async fn inquiry_payment(
        &self,
        req: &InquiryPaymentRequest,
    ) -> Result<Reply<InquiryPaymentResponse>, CallError> {
        self.execute(req).await
    }

    /// `payments/cancel`.
    pub async fn cancel(&self, req: &CancelRequest) -> Result<Reply<CancelResponse>, CallError> {
        self.execute(req).await
    }

    /// `payments/capture`.
    pub async fn capture(&self, req: &CaptureRequest) -> Result<Reply<CaptureResponse>, CallError> {
        self.execute(req).await
    }

    /// `payments/refund`.
    pub async fn refund(&self, req: &RefundRequest) -> Result<Reply<RefundResponse>, CallError> {
        self.execute(req).await
    }

    /// `payments/inquiryRefund`.
    pub async fn inquiry_refund(
        &self,
        req: &InquiryRefundRequest,
    ) -> Result<Reply<InquiryRefundResponse>, CallError> {
        self.execute(req).await
    }

    /// Sends any [`ApiRequest`] once: validate, serialise, sign, POST, verify, decode, classify, report.
    pub async fn execute<R: ApiRequest>(&self, req: &R) -> Result<Reply<R::Response>, CallError> {
        let endpoint = R::ENDPOINT;
        let telemetry = http_client_span(&self.inner, &self.path_for(req));
        let span = tracing::info_span!(
            "alipay.call",
            endpoint = endpoint.name(),
            request_id = req.request_id().unwrap_or(""),
            outcome = tracing::field::Empty,
            http_status = tracing::field::Empty,
        );
        async {
            let started_at = Utc::now();
            let start = Instant::now();
            let request_time = started_at.timestamp_millis().to_string();
            let mut exchange = Exchange::default();
            let result = self.exchange(req, &request_time, &mut exchange).await;
            let latency = start.elapsed();
            let current = tracing::Span::current();
            let outcome = match &result {
                Ok(reply) => {
                    current.record("outcome", reply.outcome.label());
                    telemetry.record("alipay.result_status", reply.outcome.result_status());
                    telemetry.record("alipay.result_code", reply.outcome.code_label(endpoint));
                    tracing::info!(latency_ms = latency.as_millis() as u64, "answered");
                    CallOutcome::Answered(reply.outcome.clone())
                }
                Err(e) => {
                    current.record("outcome", e.kind());
                    telemetry.record("error.type", e.kind());
                    telemetry.record("otel.status_code", "error");
                    tracing::warn!(
                        latency_ms = latency.as_millis() as u64,
                        outcome_unknown = e.outcome_unknown(),
                        error = %e,
                        "call failed"
                    );
                    CallOutcome::Error {
                        kind: e.kind(),
                        message: e.to_string(),
                        outcome_unknown: e.outcome_unknown(),
                    }
                }
            };
            if let Some(status) = exchange.http_status {
                current.record("http_status", status);
                telemetry.record("http.response.status_code", status);
            }
            if !self.observers.is_empty() {
                let record = CallRecord {
                    endpoint,
                    request_id: req.request_id().map(str::to_owned),
                    started_at,
                    request_time,
                    outcome,
                    http_status: exchange.http_status,
                    latency,
                    request: exchange
                        .request_body
                        .as_deref()
                        .map(mask_body)
                        .unwrap_or_default(),
                    response: exchange.response_body.as_deref().map(mask_body),
                };
                for observer in &self.observers {
                    observer.on_call(&record);
                }
            }
            result
        }
        .instrument(span)
        .instrument(telemetry.clone())
        .await
    }

    async fn exchange<R: ApiRequest>(
        &self,
        req: &R,
        request_time: &str,
        exchange: &mut Exchange,
    ) -> Result<Reply<R::Response>, CallError> {
        let inner = &*self.inner;
        req.validate()?;
        let body = serde_json::to_vec(req).map_err(|e| CallError::Build(e.to_string()))?;
        exchange.request_body = Some(body.clone());
        let path = self.path_for(req);
        let signature = inner
            .signer
            .header_value(
                inner.key_version,
                "POST",
                &path,
                &inner.client_id,
                request_time,
                &body,
            )
            .map_err(|e| CallError::Build(e.to_string()))?;
        // W3C `traceparent`/`tracestate` of the current span (the HTTP client span above), so Alipay-side traces
        // join ours. Without an installed propagator (telemetry off) nothing is added.
        let mut trace_headers = HeaderMap::new();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject(&mut opentelemetry_http::HeaderInjector(&mut trace_headers))
        });
        let response = inner
            .http
            .post(format!("{}{path}", inner.base_url))
            .headers(trace_headers)
            .header(CONTENT_TYPE, "application/json; charset=UTF-8")
            .header("client-id", &inner.client_id)
            .header("request-time", request_time)
            .header("signature", signature)
            .timeout(self.request_timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status().as_u16();
        exchange.http_status = Some(status);
        let headers = response.headers().clone();
        let raw = read_limited(response).await.map_err(|e| match e {
            ReadError::Http(e) => self.transport_error(&e),
            ReadError::TooLarge => {
                CallError::Decode(format!("response larger than {MAX_RESPONSE_BYTES} bytes"))
            }
        })?;
        exchange.response_body = Some(raw.clone());
        if status != 200 {
            return Err(CallError::Http { status });
        }
        let signed = self.check_signature(&path, &headers, &raw)?;
        let body: R::Response =
            serde_json::from_slice(&raw).map_err(|e| CallError::Decode(e.to_string()))?;
        let mut outcome = Outcome::classify(R::ENDPOINT, body.result());
        if signed == ResponseSignature::Unsigned {
            outcome = match outcome {
                Outcome::Success => return Err(CallError::Signature(SignatureError::Missing)),
                Outcome::InProcess => Outcome::Unknown {
                    code: body.result().result_code.clone(),
                    message: body.result().result_message.clone().unwrap_or_default(),
                },
                other => other,
            };
        }
        Ok(Reply {
            body,
            outcome,
            http_status: status,
            signature: signed,
            request_time: request_time.to_owned(),
        })
    }

    /// Verifies the response signature over the raw bytes. Unsigned is allowed here only provisionally: the caller
    /// rejects an unsigned `S` once the status is known.
    fn check_signature(
        &self,
        path: &str,
        headers: &HeaderMap,
        raw: &[u8],
    ) -> Result<ResponseSignature, CallError> {
        let inner = &*self.inner;
        match (
            header_str(headers, "signature"),
            header_str(headers, "response-time"),
        ) {
            (Some(sig), Some(time)) => inner
                .verifier
                .verify_header(sig, "POST", path, &inner.client_id, time, raw)
                .map(|()| ResponseSignature::Verified)
                .map_err(CallError::Signature),
            (Some(_), None) => Err(CallError::Signature(SignatureError::Partial {
                present: "signature",
                missing: "response-time",
            })),
            (None, Some(_)) => Err(CallError::Signature(SignatureError::Partial {
                present: "response-time",
                missing: "signature",
            })),
            (None, None) => Ok(ResponseSignature::Unsigned),
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> CallError {
        if e.is_builder() {
            CallError::Build(error_chain(e))
        } else if e.is_connect() {
            CallError::Connect(error_chain(e))
        } else if e.is_timeout() {
            CallError::Timeout(self.request_timeout)
        } else {
            CallError::Transport(error_chain(e))
        }
    }
}

/// The OpenTelemetry HTTP client span of one call (target `otel`, the exporter's allow-list: every field here is
/// exported, so only these vetted ones exist; no ids, bodies, headers or messages). Recorded as the call ends.
fn http_client_span(inner: &Inner, path: &str) -> tracing::Span {
    let (address, port) = &inner.server;
    tracing::info_span!(
        target: "otel",
        "alipay.http",
        otel.name = %format_args!("POST {path}"),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        "http.request.method" = "POST",
        "server.address" = %address,
        "server.port" = port,
        "url.template" = %path,
        "http.response.status_code" = tracing::field::Empty,
        "alipay.result_status" = tracing::field::Empty,
        "alipay.result_code" = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
    )
}

/// What was exchanged, kept for the call record even when the call fails half-way.
#[derive(Default)]
struct Exchange {
    request_body: Option<Vec<u8>>,
    response_body: Option<Vec<u8>>,
    http_status: Option<u16>,
}

enum ReadError {
    Http(reqwest::Error),
    TooLarge,
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ReadError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_store_payments_stay_on_the_production_prefix() {
        let config = ClientConfig::new(
            "C",
            include_str!("../tests/vectors/vector-private.TEST-ONLY.pem"),
            include_str!("../tests/vectors/vector-public.TEST-ONLY.pem"),
            "http://127.0.0.1:1",
        )
        .with_path_prefix(PathPrefix::Sandbox);
        let client = AlipayClient::new(config).unwrap();
        let amount = Amount::new("PHP", 100);
        let mut pay = PayRequest::new(
            ProductCode::InStorePayment,
            "p",
            amount.clone(),
            Order::new("o", "d", amount),
            PaymentMethod::with_id("CONNECT_WALLET", "281234567890123456"),
        );
        assert_eq!(client.path_for(&pay), "/ams/api/v1/payments/pay");
        pay.product_code = ProductCode::CashierPayment;
        assert_eq!(client.path_for(&pay), "/ams/sandbox/api/v1/payments/pay");
        let mut inquiry = InquiryPaymentRequest::by_request_id("p");
        assert_eq!(
            client.path_for(&inquiry),
            "/ams/sandbox/api/v1/payments/inquiryPayment"
        );
        inquiry.in_store = true;
        assert_eq!(
            client.path_for(&inquiry),
            "/ams/api/v1/payments/inquiryPayment"
        );
        assert!(!format!("{client:?}").contains("PRIVATE"));
    }

    #[test]
    fn bad_configs_fail_at_construction_with_the_culprit_named() {
        let private = include_str!("../tests/vectors/vector-private.TEST-ONLY.pem");
        let public = include_str!("../tests/vectors/vector-public.TEST-ONLY.pem");
        let err =
            AlipayClient::new(ClientConfig::new("C", public, public, "https://x")).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::PrivateKey(crate::KeyError::PublicKeyGivenForPrivate)
        ));
        let err =
            AlipayClient::new(ClientConfig::new("C", private, private, "https://x")).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::PublicKey(crate::KeyError::PrivateKeyGivenForPublic)
        ));
        assert!(!err.to_string().contains("MII"));
        let err =
            AlipayClient::new(ClientConfig::new(" ", private, public, "https://x")).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidClientId(_)));
    }

    #[test]
    fn base_url_must_be_an_origin() {
        assert_eq!(
            normalise_base_url("https://open-na-global.alipay.com/").unwrap(),
            "https://open-na-global.alipay.com"
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(normalise_base_url("ftp://x").is_err());
        assert!(normalise_base_url("https://x/ams/api").is_err());
        assert!(normalise_base_url("not a url").is_err());
    }
}
