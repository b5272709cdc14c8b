//! The browser-facing pages: the wallet's H5 authorization page and the cashier page, plus the health and
//! stats endpoints. Plain HTML forms, so a test can drive them with an HTTP client and a human with a browser.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::app::App;
use crate::auth;
use crate::notices;
use crate::payments;
use crate::state::{Payment, PaymentStatus};
use crate::stats::Stats;

/// Escapes text for HTML element and attribute content.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A complete HTML page: no scripts, nothing loaded from elsewhere.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}<p><small>Alipay sandbox: test data only.</small></p></body></html>",
        title = escape(title)
    );
    (status, Html(html)).into_response()
}

fn auth_form(wallet: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    format!(
        "<p>Log in to your <b>{wallet}</b> sandbox account to authorize the merchant.</p>{error}\
         <form method=\"post\"><label>4-digit code <input name=\"otp\" inputmode=\"numeric\" \
         pattern=\"[0-9]{{4}}\" maxlength=\"4\" autofocus></label> <button type=\"submit\">Authorize</button></form>\
         <p>Any 4 digits log in the fixed {wallet} test user.</p>",
        wallet = escape(wallet)
    )
}

/// `GET /sandbox/auth/{session}`.
pub(crate) async fn auth_page(
    State(app): State<Arc<App>>,
    Path(session): Path<String>,
) -> Response {
    let wallet = app
        .state()
        .auth_sessions
        .get(&session)
        .map(|s| s.wallet.clone());
    match wallet {
        Some(wallet) => page(
            StatusCode::OK,
            &format!("{wallet} authorization"),
            &auth_form(&wallet, None),
        ),
        None => page(
            StatusCode::NOT_FOUND,
            "Unknown authorization session",
            "<p>Start again from the merchant.</p>",
        ),
    }
}

/// `POST /sandbox/auth/{session}`: any 4 digits → 303 to `authRedirectUrl` with `authCode` and `authState`.
pub(crate) async fn auth_submit(
    State(app): State<Arc<App>>,
    Path(session): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(wallet) = app
        .state()
        .auth_sessions
        .get(&session)
        .map(|s| s.wallet.clone())
    else {
        return page(
            StatusCode::NOT_FOUND,
            "Unknown authorization session",
            "<p>Start again from the merchant.</p>",
        );
    };
    let otp = form.get("otp").map(|s| s.trim()).unwrap_or_default();
    if otp.len() != 4 || !otp.bytes().all(|b| b.is_ascii_digit()) {
        return page(
            StatusCode::BAD_REQUEST,
            &format!("{wallet} authorization"),
            &auth_form(&wallet, Some("Enter exactly 4 digits.")),
        );
    }
    let Some((code, session)) = auth::issue_auth_code(&app, &session) else {
        return page(StatusCode::NOT_FOUND, "Unknown authorization session", "");
    };
    notices::authcode_created(&app, &session, &code);
    // consult validated the URL, so this parse cannot fail; answer 500 rather than panic if it ever did.
    let Ok(mut target) = url::Url::parse(&session.redirect_url) else {
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Invalid redirect URL",
            "",
        );
    };
    target
        .query_pairs_mut()
        .append_pair("authCode", &code)
        .append_pair("authState", &session.auth_state);
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target.to_string())],
    )
        .into_response()
}

/// `GET /sandbox/cashier/{paymentId}`.
pub(crate) async fn cashier_page(
    State(app): State<Arc<App>>,
    Path(payment_id): Path<String>,
) -> Response {
    let payment = app.state().payments.get(&payment_id).cloned();
    let Some(payment) = payment else {
        return page(StatusCode::NOT_FOUND, "Unknown payment", "");
    };
    let summary = format!(
        "<p>Pay <b>{} {}</b> (minor units) with <b>{}</b>.</p>",
        escape(&payment.amount.currency),
        payment.amount.value,
        escape(&payment.method_type)
    );
    if payment.status != PaymentStatus::Processing {
        return page(
            StatusCode::CONFLICT,
            "Payment already completed",
            &format!("{summary}<p>Status: {}</p>", payment.status.wire()),
        );
    }
    let buttons = "<form method=\"post\"><button name=\"action\" value=\"pay\">Pay</button> \
                   <button name=\"action\" value=\"fail\">Fail</button></form>";
    page(
        StatusCode::OK,
        "Sandbox cashier",
        &format!("{summary}{buttons}"),
    )
}

/// `POST /sandbox/cashier/{paymentId}` with `action=pay|fail`: settles the payment, then 303 to
/// `paymentRedirectUrl` when the merchant gave one, else a result page.
pub(crate) async fn cashier_submit(
    State(app): State<Arc<App>>,
    Path(payment_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let pay = match form.get("action").map(String::as_str) {
        Some("pay") => true,
        Some("fail") => false,
        _ => return page(StatusCode::BAD_REQUEST, "Choose Pay or Fail", ""),
    };
    let now = app.clock.now();
    let (completed, payment) = {
        let mut state = app.state();
        let completed = payments::complete_on_cashier(&mut state, &payment_id, pay, now);
        (completed, state.payments.get(&payment_id).cloned())
    };
    let Some(payment) = payment else {
        return page(StatusCode::NOT_FOUND, "Unknown payment", "");
    };
    if !completed {
        return page(
            StatusCode::CONFLICT,
            "Payment already completed",
            &format!("<p>Status: {}</p>", payment.status.wire()),
        );
    }
    notices::payment_settled(&app, &payment, now);
    back_to_merchant(&payment)
}

/// Where the buyer goes once a page is done with a payment: a 303 to `paymentRedirectUrl` when the merchant gave
/// one, else a result page.
pub(crate) fn back_to_merchant(payment: &Payment) -> Response {
    match &payment.redirect_url {
        Some(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url.clone())]).into_response(),
        None => page(
            StatusCode::OK,
            "Payment result",
            &format!("<p>Status: {}</p>", payment.status.wire()),
        ),
    }
}

/// `GET /sandbox/stats`.
pub(crate) async fn stats(State(app): State<Arc<App>>) -> Json<Stats> {
    Json(app.state().stats.clone())
}

/// `GET /sandbox/health`.
pub(crate) async fn health() -> &'static str {
    "ok"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
