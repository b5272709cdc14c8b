//! URL layout: the sandbox pages under `/sandbox/`, everything else through the AMS pipeline (which answers
//! unknown paths with `NO_INTERFACE_DEF`).

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::server::App;
use crate::{api, pages};

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
        .fallback(api::handle)
        .with_state(app)
}
