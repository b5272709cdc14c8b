//! The AMS request pipeline: route → method → content type → client → request-time → signature (over the
//! raw bytes as received) → JSON → endpoint handler → signed response. Every answer is HTTP 200 with the
//! outcome in `result`, as Alipay does.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::Value;

use crate::app::{App, ConnectionKill};
use crate::codes::{self, Code};
use crate::endpoint::Endpoint;
use crate::reply::{Effect, Reply};
use crate::signature;
use crate::state::iso;
use crate::{auth, payments};

/// The largest request body read (Alipay's own limit is not documented; real bodies are a few KB).
const MAX_BODY: usize = 1024 * 1024;

/// Serves every request that is not a sandbox page.
pub(crate) async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let kill = parts.extensions.get::<ConnectionKill>().cloned();
    // The signed path is the path as received (absolute-form targets contribute only their path).
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let client_id = header_str(&parts.headers, "client-id")
        .unwrap_or_default()
        .to_owned();
    let method = parts.method.clone();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let reply = Reply::param_illegal(format!(
                "the request body is unreadable or larger than {MAX_BODY} bytes"
            ));
            return respond(&app, &method, &path, &client_id, reply);
        }
    };
    let target = Target {
        route: parts.uri.path(),
        signed: &path,
    };
    let reply = process(
        &app,
        &parts.method,
        target,
        &parts.headers,
        &client_id,
        &bytes,
    );
    match reply.effect {
        Effect::Delay(delay) => {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = app.shutting_down() => {}
            }
        }
        Effect::DropConnection => {
            if let Some(kill) = kill {
                kill.kill();
                // The connection task drops this future together with the socket.
                return std::future::pending::<Response>().await;
            }
        }
        Effect::None | Effect::CorruptSignature => {}
    }
    respond(&app, &method, &path, &client_id, reply)
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_json(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_TYPE.as_str())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The request target: the path routed on, and the path-and-query the signature covers.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    route: &'a str,
    signed: &'a str,
}

fn process(
    app: &App,
    method: &Method,
    target: Target<'_>,
    headers: &HeaderMap,
    client_id: &str,
    bytes: &Bytes,
) -> Reply {
    let Some(endpoint) = Endpoint::from_path(target.route) else {
        return Reply::failed_with(
            codes::NO_INTERFACE_DEF,
            format!("API is not defined: {}", target.route),
        );
    };
    let parsed: Result<Value, _> = serde_json::from_slice(bytes);
    app.state().stats.record_call(
        endpoint.name(),
        parsed.as_ref().ok().and_then(|b| endpoint.stats_id(b)),
        header_str(headers, "traceparent"),
    );
    if method != Method::POST {
        return Reply::failed(codes::METHOD_NOT_SUPPORTED);
    }
    if !is_json(headers) {
        return Reply::failed_with(
            codes::MEDIA_TYPE_NOT_ACCEPTABLE,
            "Content-Type must be application/json",
        );
    }
    if let Err(reply) = authenticate(app, endpoint, target.signed, headers, client_id, bytes) {
        return reply;
    }
    let body = match parsed {
        Ok(body) => body,
        Err(e) => return Reply::param_illegal(format!("the request body is not valid JSON: {e}")),
    };
    match endpoint {
        Endpoint::Consult => auth::consult(app, client_id, &body),
        Endpoint::ApplyToken => auth::apply_token(app, client_id, &body),
        Endpoint::Revoke => auth::revoke(app, client_id, &body),
        Endpoint::InquiryUserInfo => auth::inquiry_user_info(app, client_id, &body),
        Endpoint::Pay => payments::pay(app, client_id, &body),
        Endpoint::InquiryPayment => payments::inquiry(app, client_id, &body),
        Endpoint::Cancel => payments::cancel(app, client_id, &body),
        Endpoint::Capture => payments::capture(app, client_id, &body),
        Endpoint::Refund => payments::refund(app, client_id, &body),
        Endpoint::InquiryRefund => payments::inquiry_refund(app, client_id, &body),
    }
}

/// Checks client-id, request-time and the signature over the raw bytes and the path as received (with its
/// query string, if a client sent one; never scheme or host).
fn authenticate(
    app: &App,
    endpoint: Endpoint,
    path: &str,
    headers: &HeaderMap,
    client_id: &str,
    bytes: &[u8],
) -> Result<(), Reply> {
    let failed = |code: Code, message: &str| Reply::failed_with(code, message.to_owned());
    if client_id.is_empty() {
        return Err(failed(
            endpoint.client_code(),
            "the client-id header is missing",
        ));
    }
    let Some(key) = app.merchants.get(client_id) else {
        return Err(failed(
            endpoint.client_code(),
            "the client-id is not registered",
        ));
    };
    let Some(request_time) = header_str(headers, "request-time") else {
        return Err(Reply::param_illegal("the request-time header is missing"));
    };
    if signature::parse_request_time(request_time).is_none() {
        return Err(Reply::param_illegal(
            "the request-time header must be epoch milliseconds or ISO-8601 with offset",
        ));
    }
    let Some(header_value) = header_str(headers, "signature") else {
        return Err(failed(
            endpoint.signature_code(),
            "the signature header is missing",
        ));
    };
    let parsed = signature::parse_header(header_value)
        .map_err(|e| failed(endpoint.signature_code(), &e.to_string()))?;
    let content = signature::content("POST", path, client_id, request_time, bytes);
    if signature::verify(key, &content, &parsed.signature) {
        Ok(())
    } else {
        Err(failed(
            endpoint.signature_code(),
            "the signature does not verify with the merchant's public key",
        ))
    }
}

/// Serialises, signs (lower-case header names, the request's client-id echoed) and answers HTTP 200.
fn respond(app: &App, method: &Method, path: &str, client_id: &str, reply: Reply) -> Response {
    let body = reply.body().to_string().into_bytes();
    let response_time = iso(app.clock.now());
    let mut content = signature::content(method.as_str(), path, client_id, &response_time, &body);
    if reply.effect == Effect::CorruptSignature {
        // A well-formed signature over different bytes: it parses, and never verifies.
        content.extend_from_slice(b"#corrupted");
    }
    let signature = signature::header_value(1, &signature::sign(&app.signing_key, &content));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    for (name, value) in [
        ("signature", signature),
        ("response-time", response_time),
        ("client-id", client_id.to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}
