//! The notification listener: an HTTP/1.1 server with one route, `POST /alipay/notify`, beside the gRPC server.
//!
//! The cheap limits come before anything else, so an unauthenticated sender cannot make the gateway verify, parse
//! or store anything big or many: POST only (405), a JSON content type (415), at most 64 KiB (413), a read timeout
//! (408) and a bounded number of notifications in progress (503). Then [`engine::NotifyIngress`] verifies,
//! stores and applies; the answer is Alipay's acknowledgement only after the commit.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use alipay::webhook::{Ack, EventKind, WebhookRequest};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use engine::NotifyIngress;
use futures::StreamExt as _;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use crate::config::NOTIFY_PATH;
use crate::telemetry::webhook::{WebhookMetrics, webhook_span};

/// Largest body accepted; Alipay's notifications are a few KiB.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a sender may take to deliver the body.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Notifications in progress at once; more get 503 (Alipay redelivers) instead of queueing without bound.
pub const MAX_IN_PROGRESS: usize = 256;
/// How long a notification may take to be stored; past it the answer is 503 and the store work finishes (or
/// rolls back) on its own, so a later redelivery is either applied or recognised as a duplicate.
pub const STORE_DEADLINE: Duration = Duration::from_secs(5);

struct Listener {
    ingress: NotifyIngress,
    permits: Arc<Semaphore>,
    metrics: WebhookMetrics,
}

/// Serves notifications on `listener` until `shutdown` resolves, then finishes the requests in progress.
pub async fn serve(
    listener: TcpListener,
    ingress: NotifyIngress,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(Listener {
        ingress,
        permits: Arc::new(Semaphore::new(MAX_IN_PROGRESS)),
        metrics: WebhookMetrics::new(),
    });
    let router = axum::Router::new()
        .route(NOTIFY_PATH, post(receive))
        .with_state(state);
    // Small request, small answer: without TCP_NODELAY the acknowledgement waits for the sender's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a notification connection");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

fn answer(state: &Listener, ack: Ack) -> Response {
    let ack = state.ingress.acknowledgement(ack);
    (
        StatusCode::from_u16(ack.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        ack.body,
    )
        .into_response()
}

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn declared_length(request: &Request) -> Option<usize> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Why a body could not be read.
enum ReadError {
    TooLarge,
    Broken,
}

async fn read_body(body: Body) -> Result<Vec<u8>, ReadError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ReadError::Broken)?;
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(ReadError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

async fn receive(State(state): State<Arc<Listener>>, request: Request) -> Response {
    if !is_json(&request) {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    if declared_length(&request).is_some_and(|n| n > MAX_BODY) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let span = webhook_span();
    // The permit lives as long as the store work, which may outlast the answer (see STORE_DEADLINE).
    let Ok(permit) = Arc::clone(&state.permits).try_acquire_owned() else {
        state.metrics.record(&span, EventKind::Other, "busy", true);
        return answer(&state, Ack::Retry);
    };
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(READ_TIMEOUT, read_body(body)).await {
        Ok(Ok(body)) => body,
        Ok(Err(ReadError::TooLarge)) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        Ok(Err(ReadError::Broken)) => return StatusCode::BAD_REQUEST.into_response(),
        Err(_) => return StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    let ingress = state.ingress.clone();
    let work = tokio::spawn(
        async move {
            let _permit = permit;
            ingress
                .receive(WebhookRequest {
                    headers: &parts.headers,
                    body: &body,
                })
                .await
        }
        .instrument(span.clone()),
    );
    match tokio::time::timeout(STORE_DEADLINE, work).await {
        Ok(Ok(receipt)) => {
            let failed = receipt.ack != Ack::Accepted;
            state
                .metrics
                .record(&span, receipt.kind, receipt.outcome, failed);
            answer(&state, receipt.ack)
        }
        Ok(Err(join)) => {
            tracing::error!(%join, "notification task failed");
            state
                .metrics
                .record(&span, EventKind::Other, "task_failed", true);
            answer(&state, Ack::Retry)
        }
        Err(_) => {
            tracing::warn!("notification not stored within the deadline; asking for redelivery");
            state
                .metrics
                .record(&span, EventKind::Other, "timeout", true);
            answer(&state, Ack::Retry)
        }
    }
}
