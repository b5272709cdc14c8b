//! Which notifications Alipay sends when, and their bodies (reference §2 "Notifications Antom sends", §3.5, §3.9):
//! notifyPayment, notifyCapture, notifyRefund and notifyAuthorization. Each goes to the URL recorded when its
//! request was accepted; with none recorded, nothing is sent.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::cards;
use crate::delivery::{Kind, Notice};
use crate::operations::{operation_fields, operation_reply};
use crate::payments::{payment_result, psp_customer_info};
use crate::reply::Reply;
use crate::state::{
    AuthSession, Operation, OperationKind, OperationState, Payment, PaymentStatus, Token, iso,
    new_id,
};
use crate::wallets;

fn send(app: &App, kind: Kind, client_id: &str, url: Option<&String>, body: Value) -> Option<u64> {
    app.notifier.enqueue(Notice {
        kind,
        client_id: client_id.to_owned(),
        url: url?.clone(),
        body,
    })
}

/// The `result` of a notification reporting a success (notifyAuthorization only ever reports successes).
fn success() -> Value {
    Reply::success(Map::new()).result()
}

/// Seed 000 says auto debit gets no notifyPayment, Antom's current list says it does: a switch decides.
fn notifies_payment(app: &App, payment: &Payment) -> bool {
    payment.product_code != "AGREEMENT_PAYMENT" || app.notifier.settings.agreement_payments
}

/// Sends a notifyPayment of `notify_type` with `result` = (`resultStatus`, `resultCode`, `resultMessage`).
fn send_payment(app: &App, payment: &Payment, notify_type: &str, result: (&str, &str, &str)) {
    let (status, code, message) = result;
    let mut body = Map::new();
    body.insert("notifyType".into(), json!(notify_type));
    body.insert(
        "result".into(),
        json!({"resultCode": code, "resultStatus": status, "resultMessage": message}),
    );
    body.insert("paymentRequestId".into(), json!(payment.payment_request_id));
    body.insert("paymentId".into(), json!(payment.payment_id));
    body.insert("paymentAmount".into(), payment.amount.to_json());
    body.insert("paymentCreateTime".into(), json!(iso(payment.created_at)));
    body.insert("paymentMethodType".into(), json!(payment.method_type));
    if payment.status == PaymentStatus::Success {
        if let Some(time) = payment.settled_at {
            body.insert("paymentTime".into(), json!(iso(time)));
        }
        if let Some(info) = psp_customer_info(payment) {
            body.insert("pspCustomerInfo".into(), info);
        }
    }
    if let Some(auth) = &payment.authorization {
        body.insert("authExpiryTime".into(), json!(iso(auth.expires_at)));
    }
    // Card facts in `paymentResultInfo` (the SDK parsers' source) and, with the token, `cardInfo` (seed 003's).
    cards::add_facts(&mut body, payment, true);
    send(
        app,
        Kind::Payment,
        &payment.client_id,
        payment.notify_url.as_ref(),
        Value::Object(body),
    );
}

fn send_payment_result(app: &App, payment: &Payment) {
    let (status, code, message) = payment_result(payment);
    send_payment(app, payment, "PAYMENT_RESULT", (status, &code, &message));
}

/// A payment was just created by pay. In-store (and, with the switch, agreement) payments still PROCESSING get
/// PAYMENT_PENDING (`S` here means "still processing"); agreement payments that are already final get their
/// PAYMENT_RESULT when the switch is on, and card payments decided at once get theirs. Other cashier payments
/// wait for the buyer. A successful AUTOMATIC authorization is captured at once.
pub(crate) fn payment_created(app: &App, payment: &Payment, now: DateTime<Utc>) {
    match payment.status {
        PaymentStatus::Processing
            if payment.product_code != "CASHIER_PAYMENT" && notifies_payment(app, payment) =>
        {
            let pending = crate::codes::PAYMENT_IN_PROCESS;
            send_payment(
                app,
                payment,
                "PAYMENT_PENDING",
                ("S", pending.name, pending.message),
            );
        }
        PaymentStatus::Success | PaymentStatus::Fail
            if payment.card.is_some()
                || (payment.product_code == "AGREEMENT_PAYMENT"
                    && notifies_payment(app, payment)) =>
        {
            send_payment_result(app, payment);
        }
        _ => {}
    }
    automatic_capture(app, payment, now);
}

/// A payment left PROCESSING after its pay answer: the buyer acted on the cashier page, an inquiry revealed
/// the outcome, or it was cancelled (Alipay then reports it closed: F `ORDER_IS_CANCELED`).
pub(crate) fn payment_settled(app: &App, payment: &Payment, now: DateTime<Utc>) {
    if notifies_payment(app, payment) {
        send_payment_result(app, payment);
    }
    automatic_capture(app, payment, now);
}

/// An authorization with `captureMode` AUTOMATIC that succeeded is captured by Alipay, which reports it with a
/// notifyCapture whose `captureRequestId` the merchant never sent.
fn automatic_capture(app: &App, payment: &Payment, now: DateTime<Utc>) {
    let automatic = payment
        .authorization
        .as_ref()
        .is_some_and(|auth| !auth.manual_capture);
    if payment.status != PaymentStatus::Success || !automatic {
        return;
    }
    let op = Operation {
        kind: OperationKind::Capture,
        id: new_id(now),
        request_id: Some(format!("AUTO_CAPTURE_{}", new_id(now))),
        client_id: payment.client_id.clone(),
        payment_id: payment.payment_id.clone(),
        amount: payment.amount.clone(),
        time: now,
        state: OperationState::Success,
        request: Value::Null,
        notify_url: payment.notify_url.clone(),
    };
    capture_result(app, &op);
}

/// notifyCapture (`CAPTURE_RESULT`) for a capture that reached its outcome.
pub(crate) fn capture_result(app: &App, op: &Operation) {
    let mut body = operation_reply(op).body();
    body["notifyType"] = json!("CAPTURE_RESULT");
    send(
        app,
        Kind::Capture,
        &op.client_id,
        op.notify_url.as_ref(),
        body,
    );
}

/// notifyRefund (`REFUND_RESULT`, `refundStatus` SUCCESS or FAIL) for a refund that reached its outcome, at once
/// or after REFUND_IN_PROCESS; `refundTime` only on SUCCESS.
pub(crate) fn refund_result(app: &App, op: &Operation) {
    if matches!(op.state, OperationState::Processing(_)) {
        return;
    }
    let mut fields = operation_fields(op);
    if op.state != OperationState::Success {
        fields.remove("refundTime");
    }
    fields.insert("notifyType".into(), json!("REFUND_RESULT"));
    fields.insert("refundStatus".into(), json!(op.state.wire()));
    fields.insert("result".into(), operation_reply(op).result());
    send(
        app,
        Kind::Refund,
        &op.client_id,
        op.notify_url.as_ref(),
        Value::Object(fields),
    );
}

/// notifyAuthorization `AUTHCODE_CREATED`: the buyer authorized on the H5 page.
pub(crate) fn authcode_created(app: &App, session: &AuthSession, auth_code: &str) {
    let user = wallets::test_user(&session.wallet);
    let body = json!({
        "authorizationNotifyType": "AUTHCODE_CREATED",
        "authState": session.auth_state,
        "authCode": auth_code,
        "userLoginId": user.user_login_id,
        "userId": user.user_id,
        "result": success(),
    });
    send(
        app,
        Kind::Authorization,
        &session.client_id,
        session.notify_url.as_ref(),
        body,
    );
}

/// notifyAuthorization `TOKEN_CANCELED`: the buyer cancelled the authorization in the wallet. Returns the
/// delivery id, if a notify URL was known.
pub(crate) fn token_canceled(app: &App, access_token: &str, token: &Token) -> Option<u64> {
    let body = json!({
        "authorizationNotifyType": "TOKEN_CANCELED",
        "accessToken": access_token,
        "reason": "The user cancelled the authorization in the wallet.",
        "userLoginId": token.user.user_login_id,
        "userId": token.user.user_id,
        "result": success(),
    });
    send(
        app,
        Kind::Authorization,
        &token.client_id,
        token.notify_url.as_ref(),
        body,
    )
}
