//! The sandbox's own control routes for notifications: list deliveries and their attempts, resend one (optionally
//! tampered, to test a receiver's signature check), and cancel a token from the wallet's side (which Alipay
//! reports with TOKEN_CANCELED).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::delivery::Tamper;
use crate::notices;

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// `GET /sandbox/notifications`: every delivery, oldest first, with its attempts.
pub(crate) async fn list(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({"notifications": app.notifier.list()}))
}

/// The query of a resend.
#[derive(Debug, Deserialize)]
pub(crate) struct ResendQuery {
    tamper: Option<Tamper>,
}

/// `POST /sandbox/notifications/{id}/resend[?tamper=body|signature]`: sends now and answers with the attempt.
pub(crate) async fn resend(
    State(app): State<Arc<App>>,
    Path(id): Path<u64>,
    Query(query): Query<ResendQuery>,
) -> Response {
    match app.notifier.resend(id, query.tamper).await {
        Some(attempt) => Json(json!({"id": id, "attempt": attempt})).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such notification"),
    }
}

/// The body of a token cancellation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelToken {
    access_token: String,
}

/// `POST /sandbox/tokens/cancel` with `{"accessToken": "..."}`: the buyer cancels the authorization in the
/// wallet. The token stops working and TOKEN_CANCELED is sent; answers with the notification's id (null when
/// no notify URL is known). 404 for an unknown token, 409 for one already revoked.
pub(crate) async fn cancel_token(
    State(app): State<Arc<App>>,
    Json(request): Json<CancelToken>,
) -> Response {
    let token = {
        let mut state = app.state();
        let Some(token) = state.tokens.get_mut(&request.access_token) else {
            return error(StatusCode::NOT_FOUND, "no such access token");
        };
        if token.revoked {
            return error(StatusCode::CONFLICT, "the access token is already revoked");
        }
        token.revoked = true;
        token.clone()
    };
    let id = notices::token_canceled(&app, &request.access_token, &token);
    Json(json!({"notificationId": id})).into_response()
}
