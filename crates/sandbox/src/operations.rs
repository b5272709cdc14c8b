//! Follow-up operations on a payment: refund (and inquiryRefund) and capture. Both are idempotent per
//! (client, request id): the same body replays the operation's current answer, a different body is
//! `REPEAT_REQ_INCONSISTENT`. Only accepted operations are recorded; an F of the checks is re-evaluated on retry.
//! Refunds act out the refund rows of the scenario table (92001, 930NN, 931NN), so a client's handling of
//! `REFUND_IN_PROCESS` and of an unknown outcome can be tested.

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::codes;
use crate::notices;
use crate::reply::Reply;
use crate::scenario::Scenario;
use crate::state::{
    Operation, OperationKind, OperationState, Payment, PaymentStatus, State, iso, new_id,
};
use crate::validate::{Amount, Checked, Fields, absolute_url};
use crate::wallets;

/// The validated common part of refund and capture requests.
struct OperationRequest<'a> {
    request_id: &'a str,
    payment_id: &'a str,
    amount: Amount,
    notify_url: Option<&'a str>,
}

fn parse<'a>(
    body: &'a Value,
    id_field: &str,
    amount_field: &str,
) -> Result<OperationRequest<'a>, Reply> {
    let parsed = (|| -> Checked<_> {
        let f = Fields::root(body)?;
        let request_id = f.required_str(id_field, 64)?;
        let payment_id = f.required_str("paymentId", 64)?;
        let amount = f.required_amount(amount_field)?;
        f.str("refundReason", 256)?;
        let notify_url = f.str("refundNotifyUrl", 2048)?;
        if let Some(url) = notify_url {
            absolute_url("refundNotifyUrl", url)?;
        }
        f.bool("isLastCapture")?;
        Ok(OperationRequest {
            request_id,
            payment_id,
            amount,
            notify_url,
        })
    })();
    parsed.map_err(|reply: Box<Reply>| *reply)
}

/// The recorded operation for a request id, or REPEAT_REQ_INCONSISTENT when the body differs.
fn replay(
    state: &State,
    kind: OperationKind,
    client_id: &str,
    request_id: &str,
    body: &Value,
) -> Option<Reply> {
    let id = state
        .operation_index
        .get(&(kind, client_id.to_owned(), request_id.to_owned()))?;
    let op = state.operations.get(id)?;
    if op.request != *body {
        return Some(Reply::failed(codes::REPEAT_REQ_INCONSISTENT));
    }
    Some(operation_reply(op))
}

/// The answer an operation's request gets as it stands, the first time and on every replay: S; U
/// REFUND_IN_PROCESS while it is PROCESSING (only refunds ever are); once FAILed, F with its code.
pub(crate) fn operation_reply(op: &Operation) -> Reply {
    let reply = match op.state {
        OperationState::Success => Reply::success(Map::new()),
        OperationState::Processing(_) => Reply::unknown(codes::REFUND_IN_PROCESS),
        OperationState::Fail(code) => Reply::failed(code),
    };
    reply.with_fields(operation_fields(op))
}

pub(crate) fn operation_fields(op: &Operation) -> Map<String, Value> {
    let (id, request_id, amount, time) = match op.kind {
        OperationKind::Capture => (
            "captureId",
            "captureRequestId",
            "captureAmount",
            "captureTime",
        ),
        OperationKind::Refund | OperationKind::Cancel => {
            ("refundId", "refundRequestId", "refundAmount", "refundTime")
        }
    };
    let mut fields = Map::new();
    fields.insert(id.into(), json!(op.id));
    fields.insert(request_id.into(), json!(op.request_id));
    fields.insert("paymentId".into(), json!(op.payment_id));
    fields.insert(amount.into(), op.amount.to_json());
    fields.insert(time.into(), json!(iso(op.time)));
    fields
}

/// The payment an operation targets; ORDER_NOT_EXIST when it is unknown or another client's.
fn target<'s>(state: &'s State, client_id: &str, payment_id: &str) -> Result<&'s Payment, Reply> {
    state
        .payments
        .get(payment_id)
        .filter(|p| p.client_id == client_id)
        .ok_or_else(|| Reply::failed(codes::ORDER_NOT_EXIST))
}

/// What the operations of one kind have taken of a payment. A PROCESSING refund counts (Alipay holds its amount, so
/// a pending refund cannot be refunded twice); a FAILed one moved nothing and does not.
fn total(state: &State, payment: &Payment, kind: OperationKind) -> u64 {
    state
        .operations_of(payment, kind)
        .filter(|op| !matches!(op.state, OperationState::Fail(_)))
        .map(|op| op.amount.value)
        .sum()
}

fn same_currency(field: &str, requested: &Amount, payment: &Payment) -> Result<(), Reply> {
    if requested.currency == payment.amount.currency {
        Ok(())
    } else {
        Err(Reply::param_illegal(format!(
            "{field}.currency must be the payment currency {}",
            payment.amount.currency
        )))
    }
}

fn record(state: &mut State, kind: OperationKind, client_id: &str, op: Operation) -> Reply {
    let reply = operation_reply(&op);
    if let Some(request_id) = &op.request_id {
        state.operation_index.insert(
            (kind, client_id.to_owned(), request_id.clone()),
            op.id.clone(),
        );
    }
    if let Some(payment) = state.payments.get_mut(&op.payment_id) {
        payment.operations.push(op.id.clone());
    }
    state.operations.insert(op.id.clone(), op);
    reply
}

/// `POST /v1/payments/refund`. The scenario of `refundAmount.value` applies once every check has passed.
pub fn refund(app: &App, client_id: &str, body: &Value) -> Reply {
    let request = match parse(body, "refundRequestId", "refundAmount") {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let now = app.clock.now();
    let window =
        chrono::Duration::from_std(app.limits.refund_window).unwrap_or(chrono::Duration::MAX);
    let mut state = app.state();
    if let Some(reply) = replay(
        &state,
        OperationKind::Refund,
        client_id,
        request.request_id,
        body,
    ) {
        return reply;
    }
    let attempt = (client_id.to_owned(), request.request_id.to_owned());
    let retried = match state.unrecorded_refunds.get(&attempt) {
        Some(first) if first != body => return Reply::failed(codes::REPEAT_REQ_INCONSISTENT),
        Some(_) => true,
        None => false,
    };
    let payment = match target(&state, client_id, request.payment_id) {
        Ok(payment) => payment,
        Err(reply) => return reply,
    };
    if payment.status != PaymentStatus::Success {
        return Reply::failed_with(
            codes::ORDER_STATUS_INVALID,
            format!(
                "only SUCCESS payments can be refunded; this one is {}",
                payment.status.wire()
            ),
        );
    }
    if let Err(reply) = same_currency("refundAmount", &request.amount, payment) {
        return reply;
    }
    let paid_at = payment.settled_at.unwrap_or(payment.created_at);
    if paid_at
        .checked_add_signed(window)
        .is_some_and(|end| now > end)
    {
        return Reply::failed(codes::REFUND_WINDOW_EXCEED);
    }
    if let Some(min) = wallets::minimum(
        &payment.method_type,
        &payment.amount.currency,
        &payment.product_code,
    ) && request.amount.value < min
    {
        return Reply::param_illegal(format!(
            "refundAmount.value is below the {} minimum refund of {min}",
            payment.method_type
        ));
    }
    // A manual-capture authorization can only give back what was captured.
    let refundable = match &payment.authorization {
        Some(auth) if auth.manual_capture => total(&state, payment, OperationKind::Capture),
        _ => payment.amount.value,
    };
    let refunded = total(&state, payment, OperationKind::Refund);
    if refunded.saturating_add(request.amount.value) > refundable {
        return Reply::failed_with(
            codes::REFUND_AMOUNT_EXCEED,
            format!("refunds would total more than the refundable {refundable}"),
        );
    }
    let payment_id = payment.payment_id.clone();
    let op_state = match Scenario::for_refund(request.amount.value) {
        Scenario::UnknownOnFirstAttempt(code) if !retried => {
            state.unrecorded_refunds.insert(attempt, body.clone());
            return Reply::unknown(code);
        }
        Scenario::SettleAfterInquiries(countdown) => OperationState::Processing(countdown),
        _ => OperationState::Success,
    };
    let op = Operation {
        kind: OperationKind::Refund,
        id: new_id(now),
        request_id: Some(request.request_id.to_owned()),
        client_id: client_id.to_owned(),
        payment_id,
        amount: request.amount,
        time: now,
        state: op_state,
        request: body.clone(),
        notify_url: app.notifier.url_for(request.notify_url),
    };
    notices::refund_result(app, &op);
    record(&mut state, OperationKind::Refund, client_id, op)
}

/// `POST /v1/payments/inquiryRefund`: `refundId` wins over `refundRequestId`. `result` is about the inquiry and
/// `refundStatus` about the refund; each inquiry of a PROCESSING refund counts down its scenario. AMS has no
/// failure-code field here: a FAILed refund's code shows in the refund's replay and in inquiryPayment's
/// `transactions`.
pub fn inquiry_refund(app: &App, client_id: &str, body: &Value) -> Reply {
    let ids = (|| -> Checked<_> {
        let f = Fields::root(body)?;
        Ok((f.str("refundId", 64)?, f.str("refundRequestId", 64)?))
    })();
    let (refund_id, refund_request_id) = match ids {
        Ok(ids) => ids,
        Err(reply) => return *reply,
    };
    let now = app.clock.now();
    let mut state = app.state();
    let id = match (refund_id, refund_request_id) {
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(request_id)) => state
            .operation_index
            .get(&(
                OperationKind::Refund,
                client_id.to_owned(),
                request_id.to_owned(),
            ))
            .cloned(),
        (None, None) => return Reply::param_illegal("refundId or refundRequestId is required"),
    };
    let Some(op) = id
        .and_then(|id| state.operations.get_mut(&id))
        .filter(|op| op.kind == OperationKind::Refund && op.client_id == client_id)
    else {
        return Reply::failed(codes::ORDER_NOT_EXIST);
    };
    if let OperationState::Processing(mut countdown) = op.state {
        op.state = match countdown.inquire() {
            None => OperationState::Processing(countdown),
            Some(succeed) => {
                op.time = now;
                if succeed {
                    OperationState::Success
                } else {
                    OperationState::Fail(codes::PROCESS_FAIL)
                }
            }
        };
        notices::refund_result(app, op);
    }
    let mut fields = operation_fields(op);
    // Alipay gives `refundTime` here only for a SUCCESS refund.
    if op.state != OperationState::Success {
        fields.remove("refundTime");
    }
    fields.insert("refundStatus".into(), json!(op.state.wire()));
    Reply::success(fields)
}

/// `POST /v1/payments/capture`: only for authorizations with `captureMode` MANUAL, up to the authorized
/// amount, before the authorization expires.
pub fn capture(app: &App, client_id: &str, body: &Value) -> Reply {
    let request = match parse(body, "captureRequestId", "captureAmount") {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let now = app.clock.now();
    let mut state = app.state();
    if let Some(reply) = replay(
        &state,
        OperationKind::Capture,
        client_id,
        request.request_id,
        body,
    ) {
        return reply;
    }
    let payment = match target(&state, client_id, request.payment_id) {
        Ok(payment) => payment,
        Err(reply) => return reply,
    };
    let Some(auth) = payment.authorization.as_ref().filter(|a| a.manual_capture) else {
        return Reply::failed_with(
            codes::ORDER_STATUS_INVALID,
            "only authorizations with captureMode MANUAL can be captured",
        );
    };
    if payment.status != PaymentStatus::Success || now > auth.expires_at {
        return Reply::failed_with(
            codes::ORDER_STATUS_INVALID,
            "the authorization is not in a capturable state (not authorized, cancelled or expired)",
        );
    }
    if let Err(reply) = same_currency("captureAmount", &request.amount, payment) {
        return reply;
    }
    let captured = total(&state, payment, OperationKind::Capture);
    if captured.saturating_add(request.amount.value) > payment.amount.value {
        return Reply::failed(codes::CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT);
    }
    let op = Operation {
        kind: OperationKind::Capture,
        id: new_id(now),
        request_id: Some(request.request_id.to_owned()),
        client_id: client_id.to_owned(),
        payment_id: payment.payment_id.clone(),
        amount: request.amount,
        time: now,
        state: OperationState::Success,
        request: body.clone(),
        notify_url: payment.notify_url.clone(),
    };
    notices::capture_result(app, &op);
    record(&mut state, OperationKind::Capture, client_id, op)
}
