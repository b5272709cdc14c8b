//! Conversions of the engine's records and answers into proto messages (requests are parsed in `parse`).

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use serde_json::Value;

use crate::pb::v1 as pb;

/// The proto wallet for Alipay's spelling; unknown names (e.g. `CARD`) are WALLET_UNSPECIFIED.
pub fn wallet_from_name(name: &str) -> pb::Wallet {
    pb::Wallet::from_str_name(&format!("WALLET_{name}")).unwrap_or(pb::Wallet::Unspecified)
}

/// UTC time → proto timestamp.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn amount_of(currency: &str, value: i64) -> pb::Amount {
    pb::Amount {
        currency: currency.to_owned(),
        value,
    }
}

/// The consult answer.
pub fn consult_response(o: engine::ConsultOutcome) -> pb::ConsultResponse {
    pb::ConsultResponse {
        auth_url: o.auth_url.unwrap_or_default(),
        normal_url: o.normal_url.unwrap_or_default(),
        scheme_url: o.scheme_url.unwrap_or_default(),
        applink_url: o.applink_url.unwrap_or_default(),
        app_identifier: o.app_identifier.unwrap_or_default(),
    }
}

/// A stored binding → proto (tokens deliberately not copied).
pub fn binding(b: &engine::BindingRecord) -> pb::Binding {
    let status = match b.status {
        engine::BindingStatus::Active => pb::BindingStatus::Active,
        engine::BindingStatus::Expired => pb::BindingStatus::Expired,
        engine::BindingStatus::Revoked => pb::BindingStatus::Revoked,
    };
    pb::Binding {
        binding_id: b.id.clone(),
        customer_id: b.customer_id.clone(),
        wallet: wallet_from_name(&b.wallet) as i32,
        scopes: b
            .scopes
            .iter()
            .filter_map(|s| pb::AuthScope::from_str_name(&format!("AUTH_SCOPE_{s}")))
            .map(|s| s as i32)
            .collect(),
        status: status as i32,
        access_token_expiry_time: Some(timestamp(b.tokens.access_token_expires_at)),
        refresh_token_expiry_time: b.tokens.refresh_token_expires_at.map(timestamp),
        user_login_id: b.user_login_id.clone().unwrap_or_default(),
        merchant_region: b.merchant_region.clone().unwrap_or_default(),
        create_time: Some(timestamp(b.created_at)),
        update_time: Some(timestamp(b.updated_at)),
        // REVOKED is final, so the last change of a revoked binding is its revocation.
        revoke_time: (b.status == engine::BindingStatus::Revoked).then(|| timestamp(b.updated_at)),
    }
}

/// A committed event → proto, the subject rendered as it was at that event. A payment event's refunded and
/// captured totals are zero: refunds and captures only follow a SUCCESS payment, after which no payment event
/// comes.
pub fn payment_event(e: &engine::PaymentEvent) -> pb::PaymentEvent {
    use pb::payment_event::Subject;
    let (event_type, subject) = match &e.subject {
        engine::EventSubject::Payment { payment: p } => (
            pb::PaymentEventType::PaymentUpdated,
            Subject::Payment(payment(p, engine::PaymentTotals::default())),
        ),
        engine::EventSubject::Refund { refund, payment } => (
            pb::PaymentEventType::RefundUpdated,
            Subject::Refund(refund_record(refund, payment)),
        ),
        engine::EventSubject::Capture { capture, payment } => (
            pb::PaymentEventType::CaptureUpdated,
            Subject::Capture(capture_record(capture, payment)),
        ),
    };
    pb::PaymentEvent {
        event_id: e.event_id.clone(),
        cursor: e.cursor.clone(),
        event_type: event_type as i32,
        event_time: Some(timestamp(e.at)),
        payment_request_id: e.payment_request_id.clone(),
        subject: Some(subject),
    }
}

fn payment_status(s: engine::PaymentStatus) -> pb::PaymentStatus {
    match s {
        engine::PaymentStatus::Created => pb::PaymentStatus::Created,
        engine::PaymentStatus::Processing => pb::PaymentStatus::Processing,
        engine::PaymentStatus::Success => pb::PaymentStatus::Success,
        engine::PaymentStatus::Fail => pb::PaymentStatus::Fail,
        engine::PaymentStatus::Cancelled => pb::PaymentStatus::Cancelled,
    }
}

fn alipay_result(
    status: Option<&str>,
    code: Option<&str>,
    message: Option<&str>,
) -> Option<pb::AlipayResult> {
    let code = code?;
    let result_status = match status {
        Some("S") => pb::AlipayResultStatus::Success,
        Some("F") => pb::AlipayResultStatus::Fail,
        Some("U") => pb::AlipayResultStatus::Unknown,
        _ => pb::AlipayResultStatus::Unspecified,
    };
    Some(pb::AlipayResult {
        result_code: code.to_owned(),
        result_status: result_status as i32,
        result_message: message.unwrap_or_default().to_owned(),
    })
}

/// The stored `next_action` JSON (Alipay's redirect fields, camelCase) → proto.
fn next_action(value: &Value) -> Option<pb::NextAction> {
    let text = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if let Some(challenge) = value.get("challengeActionForm").filter(|c| c.is_object()) {
        let challenge_type = pb::ChallengeType::from_str_name(&format!(
            "CHALLENGE_TYPE_{}",
            text(challenge, "challengeType")
        ))
        .unwrap_or_default();
        let trigger = pb::ChallengeTriggerSource::from_str_name(&format!(
            "CHALLENGE_TRIGGER_SOURCE_{}",
            text(challenge, "triggerSource")
        ))
        .unwrap_or_default();
        return Some(pb::NextAction {
            action: Some(pb::next_action::Action::Challenge(pb::ChallengeAction {
                challenge_type: challenge_type as i32,
                challenge_render_value: text(challenge, "challengeRenderValue"),
                trigger_source: trigger as i32,
            })),
        });
    }
    let form = value.get("redirectActionForm").filter(|f| f.is_object());
    let normal_url = text(value, "normalUrl");
    let (url, method, form_parameters) = match form {
        Some(form) => {
            let method = match text(form, "method").to_ascii_uppercase().as_str() {
                "POST" => pb::RedirectMethod::Post,
                _ => pb::RedirectMethod::Get,
            };
            // `parameters` is a JSON object encoded as a string on the wire; tolerate an object too.
            let params = match form.get("parameters") {
                Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
                Some(v @ Value::Object(_)) => Some(v.clone()),
                _ => None,
            };
            let form_parameters = params
                .and_then(|p| p.as_object().cloned())
                .map(|m| {
                    m.into_iter()
                        .map(|(k, v)| {
                            (
                                k,
                                v.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (text(form, "redirectUrl"), method, form_parameters)
        }
        None => (
            normal_url.clone(),
            pb::RedirectMethod::Get,
            Default::default(),
        ),
    };
    let redirect = pb::RedirectAction {
        url,
        method: method as i32,
        form_parameters,
        normal_url,
        scheme_url: text(value, "schemeUrl"),
        applink_url: text(value, "applinkUrl"),
        app_identifier: text(value, "appIdentifier"),
    };
    if redirect.url.is_empty() && redirect.scheme_url.is_empty() && redirect.applink_url.is_empty()
    {
        return None;
    }
    Some(pb::NextAction {
        action: Some(pb::next_action::Action::Redirect(redirect)),
    })
}

/// A stored payment → proto, with the money `totals` moved after it (SUCCESS refunds and captures).
pub fn payment(p: &engine::PaymentRecord, totals: engine::PaymentTotals) -> pb::Payment {
    let product_code = pb::ProductCode::from_str_name(&format!("PRODUCT_CODE_{}", p.product_code))
        .unwrap_or_default();
    let card = p.card_last_four.is_some() || p.card_token.is_some() || p.card_masked_no.is_some();
    pb::Payment {
        payment_request_id: p.payment_request_id.clone(),
        payment_id: p.alipay_payment_id.clone().unwrap_or_default(),
        product_code: product_code as i32,
        status: payment_status(p.status) as i32,
        payment_amount: Some(amount_of(&p.currency, p.amount_value)),
        // Only an authorization is captured; a sale has nothing to report.
        captured_amount: p
            .is_authorization
            .then(|| amount_of(&p.currency, totals.captured)),
        refunded_amount: Some(amount_of(&p.currency, totals.refunded)),
        reference_order_id: p.order_reference_id.clone().unwrap_or_default(),
        customer_id: p.customer_id.clone().unwrap_or_default(),
        binding_id: p.binding_id.clone().unwrap_or_default(),
        wallet: wallet_from_name(&p.payment_method_type) as i32,
        payment_method_type: p.payment_method_type.clone(),
        is_authorization: p.is_authorization,
        capture_mode: p
            .capture_mode
            .as_deref()
            .and_then(|m| pb::CaptureMode::from_str_name(&format!("CAPTURE_MODE_{m}")))
            .unwrap_or_default() as i32,
        last_alipay_result: alipay_result(
            p.last_result_status.as_deref(),
            p.last_result_code.as_deref(),
            p.last_result_message.as_deref(),
        ),
        next_action: (p.status == engine::PaymentStatus::Processing)
            .then(|| p.next_action.as_ref().and_then(next_action))
            .flatten(),
        create_time: Some(timestamp(p.created_at)),
        update_time: Some(timestamp(p.updated_at)),
        payment_time: p.payment_time.map(timestamp),
        payment_expiry_time: p.payment_expiry_time.map(timestamp),
        auth_expiry_time: p.auth_expiry_time.map(timestamp),
        payment_create_time: p.payment_create_time.map(timestamp),
        // Alipay's cancelTime when its cancel answer gave one; otherwise (cancelled as seen by an inquiry) the
        // gateway's time of the change: CANCELLED is final, so the last change is the cancellation.
        cancel_time: (p.status == engine::PaymentStatus::Cancelled)
            .then(|| timestamp(p.cancel_time.unwrap_or(p.updated_at))),
        card: card.then(|| pb::CardSummary {
            masked_card_no: p.card_masked_no.clone().unwrap_or_default(),
            card_brand: p.card_brand.clone().unwrap_or_default(),
            last_four: p.card_last_four.clone().unwrap_or_default(),
            card_token: p.card_token.clone().unwrap_or_default(),
            issuing_country: p.card_issuing_country.clone().unwrap_or_default(),
            funding: p.card_funding.clone().unwrap_or_default(),
            network_transaction_id: p.network_transaction_id.clone().unwrap_or_default(),
            ..Default::default()
        }),
        metadata: p.metadata_map().into_iter().collect(),
        merchant_region: p.merchant_region.clone().unwrap_or_default(),
        ..Default::default()
    }
}

fn operation_status<T: From<OperationKind>>(s: engine::OperationStatus) -> T {
    T::from(match s {
        engine::OperationStatus::Created | engine::OperationStatus::Processing => {
            OperationKind::Processing
        }
        engine::OperationStatus::Success => OperationKind::Success,
        engine::OperationStatus::Fail => OperationKind::Fail,
    })
}

/// The three caller-visible states refunds and captures share (a CREATED row is PROCESSING to the caller: its
/// request may already be at Alipay).
enum OperationKind {
    Processing,
    Success,
    Fail,
}

impl From<OperationKind> for pb::RefundStatus {
    fn from(k: OperationKind) -> Self {
        match k {
            OperationKind::Processing => pb::RefundStatus::Processing,
            OperationKind::Success => pb::RefundStatus::Success,
            OperationKind::Fail => pb::RefundStatus::Fail,
        }
    }
}

impl From<OperationKind> for pb::CaptureStatus {
    fn from(k: OperationKind) -> Self {
        match k {
            OperationKind::Processing => pb::CaptureStatus::Processing,
            OperationKind::Success => pb::CaptureStatus::Success,
            OperationKind::Fail => pb::CaptureStatus::Fail,
        }
    }
}

/// A stored refund → proto. `payment` is the refunded payment (the record names it by internal id).
pub fn refund_record(r: &engine::RefundRecord, payment: &engine::PaymentRecord) -> pb::Refund {
    let status: pb::RefundStatus = operation_status(r.status);
    pb::Refund {
        refund_request_id: r.refund_request_id.clone(),
        refund_id: r.alipay_refund_id.clone().unwrap_or_default(),
        payment_request_id: payment.payment_request_id.clone(),
        payment_id: payment.alipay_payment_id.clone().unwrap_or_default(),
        status: status as i32,
        refund_amount: Some(amount_of(&r.currency, r.amount_value)),
        actual_refund_amount: None,
        refund_reason: r.reason.clone().unwrap_or_default(),
        last_alipay_result: alipay_result(
            r.last_result_status.as_deref(),
            r.last_result_code.as_deref(),
            r.last_result_message.as_deref(),
        ),
        create_time: Some(timestamp(r.created_at)),
        update_time: Some(timestamp(r.updated_at)),
        refund_time: (status != pb::RefundStatus::Processing).then(|| timestamp(r.updated_at)),
    }
}

/// A stored capture → proto. `payment` is the captured payment.
pub fn capture_record(c: &engine::CaptureRecord, payment: &engine::PaymentRecord) -> pb::Capture {
    let status: pb::CaptureStatus = operation_status(c.status);
    pb::Capture {
        capture_request_id: c.capture_request_id.clone(),
        capture_id: c.alipay_capture_id.clone().unwrap_or_default(),
        payment_request_id: payment.payment_request_id.clone(),
        payment_id: payment.alipay_payment_id.clone().unwrap_or_default(),
        status: status as i32,
        capture_amount: Some(amount_of(&c.currency, c.amount_value)),
        is_last_capture: c.is_last_capture,
        last_alipay_result: alipay_result(
            c.last_result_status.as_deref(),
            c.last_result_code.as_deref(),
            c.last_result_message.as_deref(),
        ),
        create_time: Some(timestamp(c.created_at)),
        update_time: Some(timestamp(c.updated_at)),
        capture_time: (status == pb::CaptureStatus::Success).then(|| timestamp(c.updated_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wallet_names_round_trip() {
        for w in [
            pb::Wallet::Gcash,
            pb::Wallet::AlipayHk,
            pb::Wallet::ConnectWallet,
            pb::Wallet::Kakaopay,
        ] {
            let name = w.as_str_name().trim_start_matches("WALLET_");
            assert_eq!(wallet_from_name(name), w);
        }
        assert_eq!(wallet_from_name("CARD"), pb::Wallet::Unspecified);
    }

    #[test]
    fn next_action_from_stored_json() {
        let action =
            next_action(&json!({"normalUrl": "https://s/cashier/1", "appIdentifier": "com.gcash"}))
                .unwrap();
        let Some(pb::next_action::Action::Redirect(r)) = action.action else {
            panic!("redirect expected")
        };
        assert_eq!(r.url, "https://s/cashier/1");
        assert_eq!(r.method, pb::RedirectMethod::Get as i32);
        assert_eq!(r.app_identifier, "com.gcash");

        let action = next_action(&json!({"redirectActionForm": {
            "method": "POST", "redirectUrl": "https://3ds", "parameters": "{\"PaReq\":\"x\"}"
        }}))
        .unwrap();
        let Some(pb::next_action::Action::Redirect(r)) = action.action else {
            panic!("redirect expected")
        };
        assert_eq!(
            (r.url.as_str(), r.method),
            ("https://3ds", pb::RedirectMethod::Post as i32)
        );
        assert_eq!(r.form_parameters["PaReq"], "x");
        assert!(next_action(&json!({})).is_none());
    }
}
