//! The card issuer's pages: the hosted card page (`/sandbox/card/{paymentId}`) where the buyer enters a card,
//! and the 3DS challenge page (`/sandbox/3ds/{paymentId}`). Plain HTML forms: no JavaScript, nothing loaded from
//! elsewhere, so a test can post them with an HTTP client and a browser test can fill them in.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};

use crate::app::App;
use crate::cards::{self, PageRefusal};
use crate::issuer::{self, CHALLENGE_OTP, ChallengeAnswer, PresentedCard};
use crate::notices;
use crate::pages::{back_to_merchant, escape, page};
use crate::state::{Payment, PaymentStatus};

fn refused(refusal: PageRefusal) -> Response {
    match refusal {
        PageRefusal::Unknown => page(StatusCode::NOT_FOUND, "Unknown card payment", ""),
        PageRefusal::WrongStep => page(
            StatusCode::CONFLICT,
            "This step is over",
            "<p>The payment is completed or waits at another step.</p>",
        ),
    }
}

fn summary(payment: &Payment) -> String {
    format!(
        "<p>Pay <b>{} {}</b> (minor units), payment <code>{}</code>.</p>",
        escape(&payment.amount.currency),
        payment.amount.value,
        escape(&payment.payment_id)
    )
}

/// The payment a page shows, if it is at that page's step.
fn at_step(app: &App, payment_id: &str, challenge: bool) -> Result<Payment, PageRefusal> {
    let mut state = app.state();
    cards::awaiting(&mut state, payment_id, challenge).map(|(payment, _)| payment.clone())
}

/// After a page acted: notify when the payment is final, then back to the merchant, or on to the 3DS page.
fn next(app: &App, payment: &Payment) -> Response {
    if let Some(url) = cards::page_url(app, payment) {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response();
    }
    if payment.status != PaymentStatus::Processing {
        notices::payment_settled(app, payment, app.clock.now());
    }
    back_to_merchant(payment)
}

fn card_form(payment: &Payment, error: Option<&str>) -> String {
    let save = if payment.card.as_ref().is_some_and(|c| c.request.tokenize) {
        "<p><label><input type=\"checkbox\" name=\"saveCard\" value=\"on\"> Save card for later payments</label></p>"
    } else {
        ""
    };
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    format!(
        "{summary}{error}<form method=\"post\" autocomplete=\"off\">\
         <p><label>Card number <input name=\"cardNo\" inputmode=\"numeric\" maxlength=\"23\" required autofocus></label></p>\
         <p><label>Expiry month (MM) <input name=\"expiryMonth\" inputmode=\"numeric\" maxlength=\"2\" required></label> \
         <label>Expiry year (YY) <input name=\"expiryYear\" inputmode=\"numeric\" maxlength=\"2\" required></label></p>\
         <p><label>CVV <input name=\"cvv\" inputmode=\"numeric\" maxlength=\"4\"></label></p>\
         <p><label>Cardholder name <input name=\"cardholderName\" maxlength=\"64\"></label></p>\
         <p><label>Billing postal code <input name=\"zipCode\" maxlength=\"32\"></label></p>\
         {save}<p><button type=\"submit\" name=\"action\" value=\"pay\">Pay</button></p></form>\
         <p>Test cards: 4111111111111111 approves; 4000000000003220 asks for 3D Secure (code 1234).</p>",
        summary = summary(payment)
    )
}

/// `GET /sandbox/card/{paymentId}`: the hosted card form.
pub(crate) async fn card_page(
    State(app): State<Arc<App>>,
    Path(payment_id): Path<String>,
) -> Response {
    match at_step(&app, &payment_id, false) {
        Ok(payment) => page(StatusCode::OK, "Card payment", &card_form(&payment, None)),
        Err(refusal) => refused(refusal),
    }
}

/// `POST /sandbox/card/{paymentId}`: the card goes to the issuer as if the merchant had sent it; the form's
/// card data is dropped when this handler returns.
pub(crate) async fn card_submit(
    State(app): State<Arc<App>>,
    Path(payment_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let card_no: String = field("cardNo")
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let cvv = field("cvv");
    if card_no.is_empty() || cvv.is_some_and(|c| !issuer::cvv_well_formed(c)) {
        return match at_step(&app, &payment_id, false) {
            Ok(payment) => page(
                StatusCode::BAD_REQUEST,
                "Card payment",
                &card_form(
                    &payment,
                    Some("Enter the card number, and a CVV of 3 or 4 digits."),
                ),
            ),
            Err(refusal) => refused(refusal),
        };
    }
    let presented = PresentedCard {
        card_no: &card_no,
        cvv,
        expiry_month: field("expiryMonth"),
        expiry_year: field("expiryYear"),
        billing_zip: field("zipCode").map(Some),
    };
    let save = field("saveCard").is_some();
    let now = app.clock.now();
    let result = cards::present_on_page(&mut app.state(), &payment_id, &presented, save, now);
    match result {
        Ok(payment) => next(&app, &payment),
        Err(refusal) => refused(refusal),
    }
}

/// `GET /sandbox/3ds/{paymentId}`: the issuer's challenge.
pub(crate) async fn challenge_page(
    State(app): State<Arc<App>>,
    Path(payment_id): Path<String>,
) -> Response {
    let payment = match at_step(&app, &payment_id, true) {
        Ok(payment) => payment,
        Err(refusal) => return refused(refusal),
    };
    let card = payment
        .card
        .as_ref()
        .and_then(|c| c.card.as_ref())
        .map_or_else(String::new, |card| {
            format!("{} ending in {}", card.brand, escape(&card.last_four))
        });
    let body = format!(
        "{summary}<p>Your bank sent a one-time code for the {card} card.</p>\
         <form method=\"post\"><p><label>One-time code <input name=\"otp\" inputmode=\"numeric\" maxlength=\"8\" autofocus></label></p>\
         <p><button type=\"submit\" name=\"action\" value=\"submit\">Submit</button> \
         <button type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button></p></form>\
         <p>Sandbox: code {CHALLENGE_OTP} passes, any other code fails, Cancel abandons the challenge.</p>",
        summary = summary(&payment)
    );
    page(StatusCode::OK, "3D Secure verification", &body)
}

/// `POST /sandbox/3ds/{paymentId}` with `otp` and `action=submit|cancel`.
pub(crate) async fn challenge_submit(
    State(app): State<Arc<App>>,
    Path(payment_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let answer = match (
        form.get("action").map(String::as_str),
        form.get("otp").map(|o| o.trim()),
    ) {
        (Some("cancel"), _) => ChallengeAnswer::Cancelled,
        (_, Some(CHALLENGE_OTP)) => ChallengeAnswer::Passed,
        _ => ChallengeAnswer::Failed,
    };
    let now = app.clock.now();
    let result = cards::finish_challenge(&mut app.state(), &payment_id, answer, now);
    match result {
        Ok(payment) => next(&app, &payment),
        Err(refusal) => refused(refusal),
    }
}
