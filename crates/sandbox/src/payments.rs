//! pay, inquiryPayment and cancel: payment creation with idempotency per (client, paymentRequestId), the
//! test-data scenarios, and the PROCESSING → SUCCESS / FAIL / CANCELLED life cycle.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use sha2::{Digest as _, Sha256};

use crate::app::App;
use crate::cards::{self, CardPay};
use crate::codes::{self, Code};
use crate::notices;
use crate::operations::operation_reply;
use crate::reply::{Effect, Reply};
use crate::scenario::Scenario;
use crate::state::{
    Authorization, Operation, OperationKind, OperationState, PayAttempts, Payment, PaymentStatus,
    Progress, State, iso, new_id,
};
use crate::validate::{Amount, Checked, Fields, absolute_url};
use crate::wallets::{self, WALLETS};

pub use crate::operations::{capture, inquiry_refund, refund};

const PRODUCT_CODES: &[&str] = &["CASHIER_PAYMENT", "AGREEMENT_PAYMENT", "IN_STORE_PAYMENT"];
/// `env.terminalType` values.
pub const TERMINAL_TYPES: &[&str] = &["WEB", "WAP", "APP", "MINI_APP"];
/// `env.osType` values.
pub const OS_TYPES: &[&str] = &["IOS", "ANDROID"];
/// How long an authorization (`isAuthorization`) can be captured.
const AUTHORIZATION_LIFETIME: chrono::Duration = chrono::Duration::days(7);

/// The validated parts of a pay request the sandbox acts on.
struct PayRequest<'a> {
    product_code: &'a str,
    payment_request_id: &'a str,
    amount: Amount,
    method_type: &'a str,
    method_id: Option<&'a str>,
    redirect_url: Option<&'a str>,
    notify_url: Option<&'a str>,
    /// `Some(manual)` when `isAuthorization` is true.
    authorization: Option<bool>,
    /// The card part of a `CARD` payment.
    card: Option<CardPay<'a>>,
}

fn parse_pay(body: &Value) -> Checked<PayRequest<'_>> {
    let f = Fields::root(body)?;
    let product_code = f.required_enum("productCode", PRODUCT_CODES)?;
    let payment_request_id = f.required_str("paymentRequestId", 64)?;
    let amount = f.required_amount("paymentAmount")?;
    let order = f.required_object("order", "order")?;
    order.required_str("referenceOrderId", 64)?;
    order.required_str("orderDescription", 256)?;
    order.amount("orderAmount")?;
    if let Some(env) = f.object("env", "env")? {
        env.enum_str("terminalType", TERMINAL_TYPES)?;
        env.enum_str("osType", OS_TYPES)?;
    }
    let method = f.required_object("paymentMethod", "paymentMethod")?;
    let method_type = method.required_str("paymentMethodType", 64)?;
    // A cardToken may be up to 2048 characters (reference §3.9); other method ids 128.
    let is_card = method_type == "CARD";
    let method_id = method.str("paymentMethodId", if is_card { 2048 } else { 128 })?;
    let card = if is_card {
        Some(cards::parse(method, method_id)?)
    } else {
        None
    };
    for name in ["paymentNotifyUrl", "paymentRedirectUrl"] {
        if let Some(url) = f.str(name, 2048)? {
            absolute_url(name, url)?;
        }
    }
    let redirect_url = f.str("paymentRedirectUrl", 2048)?;
    let notify_url = f.str("paymentNotifyUrl", 2048)?;
    let factor = f.object("paymentFactor", "paymentFactor")?;
    let is_authorization = match factor {
        Some(factor) => factor.bool("isAuthorization")?,
        None => None,
    }
    .or(f.bool("isAuthorization")?)
    .unwrap_or(false);
    let capture_mode = match factor {
        Some(factor) => factor.enum_str("captureMode", &["AUTOMATIC", "MANUAL"])?,
        None => None,
    };
    if matches!(product_code, "AGREEMENT_PAYMENT" | "IN_STORE_PAYMENT") && method_id.is_none() {
        return Err(Box::new(Reply::param_illegal(format!(
            "paymentMethod.paymentMethodId is required for {product_code}"
        ))));
    }
    if product_code == "AGREEMENT_PAYMENT" && !WALLETS.contains(&method_type) {
        return Err(Box::new(Reply::param_illegal(format!(
            "paymentMethod.paymentMethodType must be one of {} for AGREEMENT_PAYMENT",
            WALLETS.join(", ")
        ))));
    }
    Ok(PayRequest {
        product_code,
        payment_request_id,
        amount,
        method_type,
        method_id,
        redirect_url,
        notify_url,
        authorization: is_authorization.then_some(capture_mode == Some("MANUAL")),
        card,
    })
}

/// `POST /v1/payments/pay`.
pub fn pay(app: &App, client_id: &str, body: &Value) -> Reply {
    let request = match parse_pay(body) {
        Ok(request) => request,
        Err(reply) => return *reply,
    };
    let now = app.clock.now();
    let mut state = app.state();
    let key = (client_id.to_owned(), request.payment_request_id.to_owned());
    let digest = digest(app, body);
    let attempt = match state.pay_attempts.get_mut(&key) {
        Some(seen) if seen.request != digest => {
            return Reply::failed(codes::REPEAT_REQ_INCONSISTENT);
        }
        Some(seen) => {
            seen.count += 1;
            let (count, payment_id) = (seen.count, seen.payment_id.clone());
            if let Some(payment) = payment_id.and_then(|id| state.payments.get(&id)) {
                return pay_reply(app, payment, Effect::None);
            }
            count
        }
        None => {
            state.pay_attempts.insert(
                key.clone(),
                PayAttempts {
                    request: digest,
                    method_id: request.method_id.map(str::to_owned),
                    count: 1,
                    payment_id: None,
                },
            );
            1
        }
    };
    let scenario = Scenario::from_value(request.amount.value);
    match scenario {
        Scenario::UnknownOnFirstAttempt(code) if attempt == 1 => return Reply::unknown(code),
        Scenario::AlwaysUnknown => return Reply::unknown(codes::UNKNOWN_EXCEPTION),
        _ => {}
    }
    let mut payment = create_payment(&mut state, client_id, &request, scenario, now);
    payment.notify_url = app.notifier.url_for(request.notify_url);
    notices::payment_created(app, &payment, now);
    let effect = match scenario {
        Scenario::SlowFirstAnswer => Effect::Delay(app.limits.slow_response),
        Scenario::DroppedFirstAnswer => Effect::DropConnection,
        _ => Effect::None,
    };
    let reply = pay_reply(app, &payment, effect);
    state.stats.record_charge(request.payment_request_id);
    if let Some(seen) = state.pay_attempts.get_mut(&key) {
        seen.payment_id = Some(payment.payment_id.clone());
    }
    state.payments.insert(payment.payment_id.clone(), payment);
    reply
}

/// The business checks a real wallet makes before charging; `Err` is the failure code and message.
fn check_payer(
    state: &State,
    client_id: &str,
    request: &PayRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Option<(String, wallets::TestUser)>, (Code, String)> {
    let customer = match request.product_code {
        "AGREEMENT_PAYMENT" => {
            let token_value = request.method_id.unwrap_or_default();
            let token = crate::auth::usable_token(state, client_id, token_value, now)
                .map_err(|message| (codes::INVALID_ACCESS_TOKEN, message.to_owned()))?;
            if token.wallet != request.method_type {
                return Err((
                    codes::INVALID_ACCESS_TOKEN,
                    format!(
                        "the access token was issued by {}, not {}",
                        token.wallet, request.method_type
                    ),
                ));
            }
            if !token.scopes.iter().any(|s| s == "AGREEMENT_PAY") {
                return Err((
                    codes::ACCESS_DENIED,
                    "the access token was not granted the AGREEMENT_PAY scope".to_owned(),
                ));
            }
            Some((token.wallet.clone(), token.user.clone()))
        }
        "IN_STORE_PAYMENT" => {
            if !is_alipay_payment_code(request.method_id.unwrap_or_default()) {
                return Err((
                    codes::INVALID_CODE,
                    "the payment code must be 16 to 24 digits starting with 25 to 30".to_owned(),
                ));
            }
            let wallet = if WALLETS.contains(&request.method_type) {
                request.method_type
            } else {
                "ALIPAY_CN"
            };
            Some((wallet.to_owned(), wallets::test_user(wallet)))
        }
        _ => None,
    };
    if let Some(min) = wallets::minimum(
        request.method_type,
        &request.amount.currency,
        request.product_code,
    ) && request.amount.value < min
    {
        return Err((
            codes::PAYMENT_AMOUNT_EXCEED_LIMIT,
            format!(
                "the amount is below the {} minimum of {min} (minor units of {})",
                request.method_type, request.amount.currency
            ),
        ));
    }
    Ok(customer)
}

/// An Alipay user-presented payment code (seed 002): 16–24 digits, starting with 25 to 30.
fn is_alipay_payment_code(code: &str) -> bool {
    (16..=24).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && code
            .get(..2)
            .and_then(|p| p.parse::<u8>().ok())
            .is_some_and(|p| (25..=30).contains(&p))
}

fn create_payment(
    state: &mut State,
    client_id: &str,
    request: &PayRequest<'_>,
    scenario: Scenario,
    now: DateTime<Utc>,
) -> Payment {
    let mut payment = Payment {
        payment_id: new_id(now),
        client_id: client_id.to_owned(),
        payment_request_id: request.payment_request_id.to_owned(),
        product_code: request.product_code.to_owned(),
        method_type: request.method_type.to_owned(),
        amount: request.amount.clone(),
        created_at: now,
        status: PaymentStatus::Processing,
        fail_code: None,
        fail_message: None,
        settled_at: None,
        cancelled_at: None,
        progress: Progress::Settled,
        redirect_url: request.redirect_url.map(str::to_owned),
        corrupt_pay_signature: scenario == Scenario::BadSignature,
        customer: None,
        authorization: request.authorization.map(|manual| Authorization {
            manual_capture: manual,
            expires_at: now + AUTHORIZATION_LIFETIME,
        }),
        notify_url: None,
        operations: Vec::new(),
        card: None,
    };
    match check_payer(state, client_id, request, now) {
        Err((code, message)) => {
            payment.settle(Err((code, Some(message))), now);
            return payment;
        }
        Ok(customer) => payment.customer = customer,
    }
    if let Some(card) = &request.card {
        // The issuer decides first; the amount scenarios apply once it approves.
        cards::start(&mut state.card_tokens, &mut payment, card, now);
        return payment;
    }
    match scenario {
        Scenario::Fail(code) => payment.settle(Err((code, None)), now),
        Scenario::SettleAfterInquiries(countdown) => {
            payment.progress = Progress::AfterInquiries(countdown);
        }
        Scenario::ProcessingForever => payment.progress = Progress::UntilCancelled,
        Scenario::SlowFirstAnswer | Scenario::DroppedFirstAnswer | Scenario::BadSignature => {
            payment.settle(Ok(()), now);
        }
        Scenario::Normal | Scenario::UnknownOnFirstAttempt(_) | Scenario::AlwaysUnknown => {
            if request.product_code == "CASHIER_PAYMENT" {
                payment.progress = Progress::AwaitingBuyer;
            } else {
                payment.settle(Ok(()), now);
            }
        }
    }
    payment
}

/// A keyed SHA-256 of a request body: enough to tell a replay from a changed request without keeping the body.
fn digest(app: &App, body: &Value) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(app.digest_key);
    hasher.update(body.to_string().as_bytes());
    hasher.finalize().into()
}

/// The cashier page URL of a payment.
pub(crate) fn cashier_url(app: &App, payment_id: &str) -> String {
    format!("{}/sandbox/cashier/{payment_id}", app.base_url)
}

pub(crate) fn psp_customer_info(payment: &Payment) -> Option<Value> {
    payment.customer.as_ref().map(|(wallet, user)| {
        json!({"pspName": wallet, "pspCustomerId": user.user_id, "displayCustomerId": user.user_login_id})
    })
}

/// The pay answer for a payment's current state (first answer and idempotent replays alike).
fn pay_reply(app: &App, payment: &Payment, effect: Effect) -> Reply {
    let mut fields = Map::new();
    fields.insert("paymentRequestId".into(), json!(payment.payment_request_id));
    fields.insert("paymentAmount".into(), payment.amount.to_json());
    let reply = match payment.status {
        PaymentStatus::Fail => failure_reply(payment),
        PaymentStatus::Cancelled => Reply::failed(codes::ORDER_IS_CANCELED),
        PaymentStatus::Processing => {
            fields.insert("paymentId".into(), json!(payment.payment_id));
            fields.insert("paymentCreateTime".into(), json!(iso(payment.created_at)));
            if let Some(url) = cards::page_url(app, payment) {
                fields.insert(
                    "redirectActionForm".into(),
                    json!({"method": "GET", "redirectUrl": url, "actionFormType": "RedirectActionForm"}),
                );
                fields.insert("normalUrl".into(), json!(url));
            } else if payment.product_code == "CASHIER_PAYMENT" && payment.card.is_none() {
                fields.insert(
                    "normalUrl".into(),
                    json!(cashier_url(app, &payment.payment_id)),
                );
            }
            Reply::unknown(codes::PAYMENT_IN_PROCESS)
        }
        PaymentStatus::Success => {
            fields.insert("paymentId".into(), json!(payment.payment_id));
            fields.insert("paymentCreateTime".into(), json!(iso(payment.created_at)));
            if let Some(time) = payment.settled_at {
                fields.insert("paymentTime".into(), json!(iso(time)));
            }
            if let Some(info) = psp_customer_info(payment) {
                fields.insert("pspCustomerInfo".into(), info);
            }
            Reply::success(Map::new())
        }
    };
    if let Some(auth) = &payment.authorization {
        fields.insert("authExpiryTime".into(), json!(iso(auth.expires_at)));
    }
    if payment.status != PaymentStatus::Processing {
        cards::add_facts(&mut fields, payment, false);
    }
    let effect = if payment.corrupt_pay_signature {
        Effect::CorruptSignature
    } else {
        effect
    };
    reply.with_fields(fields).with_effect(effect)
}

fn failure_reply(payment: &Payment) -> Reply {
    let code = payment.fail_code.unwrap_or(codes::PROCESS_FAIL);
    match &payment.fail_message {
        Some(message) => Reply::failed_with(code, message.clone()),
        None => Reply::failed(code),
    }
}

/// Finds the payment named by `paymentId` (wins) or `paymentRequestId`, validating both.
fn lookup(state: &State, client_id: &str, body: &Value) -> Result<String, Reply> {
    let f = Fields::root(body).map_err(|r| *r)?;
    let payment_id = f.str("paymentId", 64).map_err(|r| *r)?;
    let payment_request_id = f.str("paymentRequestId", 64).map_err(|r| *r)?;
    if payment_id.is_none() && payment_request_id.is_none() {
        return Err(Reply::param_illegal(
            "paymentId or paymentRequestId is required",
        ));
    }
    state
        .find_payment_id(client_id, payment_id, payment_request_id)
        .ok_or_else(|| Reply::failed(codes::ORDER_NOT_EXIST))
}

/// `POST /v1/payments/inquiryPayment`: `result` is about the inquiry, `paymentStatus` about the payment.
pub fn inquiry(app: &App, client_id: &str, body: &Value) -> Reply {
    let now = app.clock.now();
    let mut state = app.state();
    let payment_id = match lookup(&state, client_id, body) {
        Ok(id) => id,
        Err(reply) => return reply,
    };
    let Some(payment) = state.payments.get_mut(&payment_id) else {
        return Reply::failed(codes::ORDER_NOT_EXIST);
    };
    if let Progress::AfterInquiries(mut countdown) = payment.progress
        && payment.status == PaymentStatus::Processing
    {
        match countdown.inquire() {
            Some(true) => payment.settle(Ok(()), now),
            Some(false) => payment.settle(Err((codes::USER_BALANCE_NOT_ENOUGH, None)), now),
            None => payment.progress = Progress::AfterInquiries(countdown),
        }
        if payment.status != PaymentStatus::Processing {
            notices::payment_settled(app, payment, now);
        }
    }
    let payment = payment.clone();
    Reply::success(inquiry_fields(&state, &payment))
}

/// The outcome of a payment as `resultStatus`, code and message: inquiryPayment's `paymentResultCode` /
/// `paymentResultMessage` and notifyPayment's `result` (PROCESSING is U `PAYMENT_IN_PROCESS`, CANCELLED is F
/// `ORDER_IS_CANCELED`).
pub(crate) fn payment_result(payment: &Payment) -> (&'static str, String, String) {
    let reply = match payment.status {
        PaymentStatus::Success => Reply::success(Map::new()),
        PaymentStatus::Processing => Reply::unknown(codes::PAYMENT_IN_PROCESS),
        PaymentStatus::Cancelled => Reply::failed(codes::ORDER_IS_CANCELED),
        PaymentStatus::Fail => failure_reply(payment),
    };
    (reply.status.wire(), reply.code.to_owned(), reply.message)
}

fn inquiry_fields(state: &State, payment: &Payment) -> Map<String, Value> {
    let (_, code, message) = payment_result(payment);
    let mut fields = Map::new();
    fields.insert("paymentId".into(), json!(payment.payment_id));
    fields.insert("paymentRequestId".into(), json!(payment.payment_request_id));
    fields.insert("paymentStatus".into(), json!(payment.status.wire()));
    fields.insert("paymentResultCode".into(), json!(code));
    fields.insert("paymentResultMessage".into(), json!(message));
    fields.insert("paymentAmount".into(), payment.amount.to_json());
    fields.insert("paymentMethodType".into(), json!(payment.method_type));
    fields.insert("paymentCreateTime".into(), json!(iso(payment.created_at)));
    if let Some(time) = payment.settled_at {
        fields.insert("paymentTime".into(), json!(iso(time)));
    }
    if let Some(auth) = &payment.authorization {
        fields.insert("authExpiryTime".into(), json!(iso(auth.expires_at)));
    }
    if let Some(info) = psp_customer_info(payment) {
        fields.insert("pspCustomerInfo".into(), info);
    }
    cards::add_facts(&mut fields, payment, true);
    let transactions: Vec<Value> = payment
        .operations
        .iter()
        .filter_map(|id| state.operations.get(id))
        .map(|op| {
            json!({
                "transactionType": op.kind.wire(),
                "transactionStatus": op.state.wire(),
                "transactionResult": operation_reply(op).result(),
                "transactionId": op.id,
                "transactionRequestId": op.request_id,
                "transactionAmount": op.amount.to_json(),
                "transactionTime": iso(op.time),
            })
        })
        .collect();
    fields.insert("transactions".into(), Value::Array(transactions));
    fields
}

/// `POST /v1/payments/cancel`: full cancellation within the cancel window. A successful payment that is
/// cancelled is refunded in full (recorded as a CANCEL transaction); cancelling a FAIL payment is an S no-op.
pub fn cancel(app: &App, client_id: &str, body: &Value) -> Reply {
    let now = app.clock.now();
    let window =
        chrono::Duration::from_std(app.limits.cancel_window).unwrap_or(chrono::Duration::MAX);
    let mut state = app.state();
    let payment_id = match lookup(&state, client_id, body) {
        Ok(id) => id,
        Err(reply) => return reply,
    };
    let Some(payment) = state.payments.get(&payment_id).cloned() else {
        return Reply::failed(codes::ORDER_NOT_EXIST);
    };
    let cancelled = |time: DateTime<Utc>| {
        let mut fields = Map::new();
        fields.insert("paymentId".into(), json!(payment.payment_id));
        fields.insert("paymentRequestId".into(), json!(payment.payment_request_id));
        fields.insert("cancelTime".into(), json!(iso(time)));
        Reply::success(fields)
    };
    if let Some(time) = payment.cancelled_at {
        return cancelled(time);
    }
    if payment
        .created_at
        .checked_add_signed(window)
        .is_some_and(|end| now > end)
    {
        return Reply::failed(codes::CANCEL_WINDOW_EXCEED);
    }
    match payment.status {
        PaymentStatus::Fail => return cancelled(now),
        PaymentStatus::Success if !payment.operations.is_empty() => {
            return Reply::failed_with(
                codes::ORDER_STATUS_INVALID,
                "a payment with refunds or captures cannot be cancelled; refund it instead",
            );
        }
        PaymentStatus::Success => {
            let op = Operation {
                kind: OperationKind::Cancel,
                id: new_id(now),
                request_id: None,
                client_id: client_id.to_owned(),
                payment_id: payment.payment_id.clone(),
                amount: payment.amount.clone(),
                time: now,
                state: OperationState::Success,
                request: body.clone(),
                notify_url: None,
            };
            state.operations.insert(op.id.clone(), op.clone());
            if let Some(p) = state.payments.get_mut(&payment_id) {
                p.operations.push(op.id);
            }
        }
        PaymentStatus::Processing | PaymentStatus::Cancelled => {}
    }
    if let Some(p) = state.payments.get_mut(&payment_id) {
        p.status = PaymentStatus::Cancelled;
        p.progress = Progress::Settled;
        p.cancelled_at = Some(now);
        if payment.status == PaymentStatus::Processing {
            notices::payment_settled(app, p, now);
        }
    }
    cancelled(now)
}

/// Completes a cashier payment from the cashier page; `false` when it is no longer PROCESSING.
pub(crate) fn complete_on_cashier(
    state: &mut State,
    payment_id: &str,
    pay: bool,
    now: DateTime<Utc>,
) -> bool {
    let Some(payment) = state.payments.get_mut(payment_id) else {
        return false;
    };
    // Card payments complete on the card and 3DS pages only.
    if payment.status != PaymentStatus::Processing || payment.card.is_some() {
        return false;
    }
    if pay {
        payment.customer = Some((
            payment.method_type.clone(),
            wallets::test_user(&payment.method_type),
        ));
        payment.settle(Ok(()), now);
    } else {
        payment.settle(
            Err((
                codes::PROCESS_FAIL,
                Some("The buyer chose to fail the payment.".to_owned()),
            )),
            now,
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_code_rule() {
        assert!(is_alipay_payment_code("2812345678901234"));
        assert!(is_alipay_payment_code("300000000000000000000000"));
        assert!(!is_alipay_payment_code("2412345678901234"));
        assert!(!is_alipay_payment_code("3112345678901234"));
        assert!(!is_alipay_payment_code("281234567890123"));
        assert!(!is_alipay_payment_code("2812345678901234567890123"));
        assert!(!is_alipay_payment_code("28123456789012a4"));
    }
}
