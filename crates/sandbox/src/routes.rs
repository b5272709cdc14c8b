//! URL layout: the sandbox pages under `/sandbox/`, everything else through the AMS pipeline (which answers
//! unknown paths with `NO_INTERFACE_DEF`).

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::app::App;
use crate::{api, card_pages, control, pages};

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/sandbox/health", get(pages::health))
        .route("/sandbox/stats", get(pages::stats))
        .route(
            "/sandbox/auth/{session}",
            get(pages::auth_page).post(pages::auth_submit),
        )
        .route(
            "/sandbox/cashier/{payment_id}",
            get(pages::cashier_page).post(pages::cashier_submit),
        )
        .route(
            "/sandbox/card/{payment_id}",
            get(card_pages::card_page).post(card_pages::card_submit),
        )
        .route(
            "/sandbox/3ds/{payment_id}",
            get(card_pages::challenge_page).post(card_pages::challenge_submit),
        )
        .route("/sandbox/notifications", get(control::list))
        .route("/sandbox/notifications/{id}/resend", post(control::resend))
        .route("/sandbox/tokens/cancel", post(control::cancel_token))
        .fallback(api::handle)
        .with_state(app)
}
