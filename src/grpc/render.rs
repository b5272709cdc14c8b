//! The response side of the edge: the engine's views and records rendered as proto messages. Pure functions over
//! domain types; every enum is matched exhaustively, so a new engine value must be given its proto spelling here
//! before the gateway compiles. (The request side is `convert`.)

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

use crate::pb::v1 as pb;

/// UTC time → proto timestamp.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn amount(currency: &str, value: i64) -> pb::Amount {
    pb::Amount {
        currency: currency.to_owned(),
        value,
    }
}

/// The proto wallet of an engine wallet.
pub fn wallet(w: engine::Wallet) -> pb::Wallet {
    use engine::Wallet as W;
    match w {
        W::AlipayCn => pb::Wallet::AlipayCn,
        W::AlipayHk => pb::Wallet::AlipayHk,
        W::Gcash => pb::Wallet::Gcash,
        W::Dana => pb::Wallet::Dana,
        W::Truemoney => pb::Wallet::Truemoney,
        W::Tng => pb::Wallet::Tng,
        W::Bkash => pb::Wallet::Bkash,
        W::Easypaisa => pb::Wallet::Easypaisa,
        W::Kakaopay => pb::Wallet::Kakaopay,
        W::ConnectWallet => pb::Wallet::ConnectWallet,
        // A card payment names no wallet; `payment_method_type` says CARD.
        W::Card => pb::Wallet::Unspecified,
    }
}

fn product_code(p: engine::ProductCode) -> pb::ProductCode {
    match p {
        engine::ProductCode::AgreementPayment => pb::ProductCode::AgreementPayment,
        engine::ProductCode::InStorePayment => pb::ProductCode::InStorePayment,
        engine::ProductCode::CashierPayment => pb::ProductCode::CashierPayment,
    }
}

fn capture_mode(m: engine::CaptureMode) -> pb::CaptureMode {
    match m {
        engine::CaptureMode::Automatic => pb::CaptureMode::Automatic,
        engine::CaptureMode::Manual => pb::CaptureMode::Manual,
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

fn alipay_result(r: &engine::AlipayResult) -> pb::AlipayResult {
    let result_status = match r.status {
        engine::ResultStatus::Success => pb::AlipayResultStatus::Success,
        engine::ResultStatus::Fail => pb::AlipayResultStatus::Fail,
        engine::ResultStatus::Unknown => pb::AlipayResultStatus::Unknown,
    };
    pb::AlipayResult {
        result_code: r.code.clone(),
        result_status: result_status as i32,
        result_message: r.message.clone().unwrap_or_default(),
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

/// A binding → proto (the engine's record has no tokens to copy).
pub fn binding(b: &engine::BindingRecord) -> pb::Binding {
    let status = match b.status {
        engine::BindingStatus::Active => pb::BindingStatus::Active,
        engine::BindingStatus::Expired => pb::BindingStatus::Expired,
        engine::BindingStatus::Revoked => pb::BindingStatus::Revoked,
    };
    pb::Binding {
        binding_id: b.id.clone(),
        customer_id: b.customer_id.clone(),
        wallet: wallet(b.wallet) as i32,
        scopes: b
            .scopes
            .iter()
            .filter_map(|s| pb::AuthScope::from_str_name(&format!("AUTH_SCOPE_{s}")))
            .map(|s| s as i32)
            .collect(),
        status: status as i32,
        access_token_expiry_time: Some(timestamp(b.access_token_expires_at)),
        refresh_token_expiry_time: b.refresh_token_expires_at.map(timestamp),
        user_login_id: b.user_login_id.clone().unwrap_or_default(),
        merchant_region: b.merchant_region.clone().unwrap_or_default(),
        create_time: Some(timestamp(b.created_at)),
        update_time: Some(timestamp(b.updated_at)),
        // REVOKED is final, so the last change of a revoked binding is its revocation.
        revoke_time: (b.status == engine::BindingStatus::Revoked).then(|| timestamp(b.updated_at)),
    }
}

/// The engine's next action → proto. The contract has no order-code action (the gateway keeps it for the record
/// and the event stream), and a redirect that names nowhere to go (possible only in rows written before the
/// gateway stored its own type) is not shown.
fn next_action(action: &engine::NextAction) -> Option<pb::NextAction> {
    let action = match action {
        engine::NextAction::Challenge(c) => {
            pb::next_action::Action::Challenge(pb::ChallengeAction {
                challenge_type: pb::ChallengeType::from_str_name(&format!(
                    "CHALLENGE_TYPE_{}",
                    c.challenge_type
                ))
                .unwrap_or_default() as i32,
                challenge_render_value: c.render_value.clone(),
                trigger_source: pb::ChallengeTriggerSource::from_str_name(&format!(
                    "CHALLENGE_TRIGGER_SOURCE_{}",
                    c.trigger_source
                ))
                .unwrap_or_default() as i32,
            })
        }
        engine::NextAction::Redirect(r) if r.has_target() => {
            let method = match r.method {
                engine::RedirectMethod::Get => pb::RedirectMethod::Get,
                engine::RedirectMethod::Post => pb::RedirectMethod::Post,
            };
            pb::next_action::Action::Redirect(pb::RedirectAction {
                url: r.url.clone(),
                method: method as i32,
                form_parameters: r.form_parameters.clone().into_iter().collect(),
                normal_url: r.normal_url.clone(),
                scheme_url: r.scheme_url.clone(),
                applink_url: r.applink_url.clone(),
                app_identifier: r.app_identifier.clone(),
            })
        }
        engine::NextAction::Redirect(_) | engine::NextAction::OrderCode(_) => return None,
    };
    Some(pb::NextAction {
        action: Some(action),
    })
}

/// A payment view → proto.
pub fn payment(view: &engine::PaymentView) -> pb::Payment {
    let p = &view.payment;
    pb::Payment {
        payment_request_id: p.payment_request_id.clone(),
        payment_id: p.alipay_payment_id.clone().unwrap_or_default(),
        product_code: product_code(p.product_code) as i32,
        status: payment_status(p.status) as i32,
        payment_amount: Some(amount(&p.currency, p.amount_value)),
        // Only an authorization is captured; a sale has nothing to report.
        captured_amount: p
            .is_authorization
            .then(|| amount(&p.currency, view.totals.captured)),
        refunded_amount: Some(amount(&p.currency, view.totals.refunded)),
        reference_order_id: p.reference_order_id.clone().unwrap_or_default(),
        customer_id: p.customer_id.clone().unwrap_or_default(),
        binding_id: p.binding_id.clone().unwrap_or_default(),
        wallet: wallet(p.wallet) as i32,
        payment_method_type: engine::Spelled::spelling(p.wallet),
        is_authorization: p.is_authorization,
        capture_mode: p.capture_mode.map(capture_mode).unwrap_or_default() as i32,
        last_alipay_result: p.last_result.as_ref().map(alipay_result),
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
        card: p.card.as_ref().map(|c| pb::CardSummary {
            masked_card_no: c.masked_card_no.clone().unwrap_or_default(),
            card_brand: c.brand.clone().unwrap_or_default(),
            last_four: c.last_four.clone().unwrap_or_default(),
            expiry_month: c.expiry_month.clone().unwrap_or_default(),
            expiry_year: c.expiry_year.clone().unwrap_or_default(),
            card_token: c.card_token.clone().unwrap_or_default(),
            issuing_country: c.issuing_country.clone().unwrap_or_default(),
            funding: c.funding.clone().unwrap_or_default(),
            issuer_name: c.issuer_name.clone().unwrap_or_default(),
            network_transaction_id: c.network_transaction_id.clone().unwrap_or_default(),
            ..Default::default()
        }),
        metadata: p.metadata.clone().into_iter().collect(),
        merchant_region: p.merchant_region.clone().unwrap_or_default(),
        ..Default::default()
    }
}

/// The three caller-visible states refunds and captures share (a CREATED row is PROCESSING to the caller: its
/// request may already be at Alipay).
enum OperationKind {
    Processing,
    Success,
    Fail,
}

impl From<engine::OperationStatus> for OperationKind {
    fn from(s: engine::OperationStatus) -> Self {
        match s {
            engine::OperationStatus::Created | engine::OperationStatus::Processing => {
                Self::Processing
            }
            engine::OperationStatus::Success => Self::Success,
            engine::OperationStatus::Fail => Self::Fail,
        }
    }
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

/// A refund view → proto.
pub fn refund(view: &engine::RefundView) -> pb::Refund {
    let r = &view.refund.operation;
    let status = pb::RefundStatus::from(OperationKind::from(r.status));
    pb::Refund {
        refund_request_id: r.request_id.clone(),
        refund_id: r.alipay_id.clone().unwrap_or_default(),
        payment_request_id: view.payment.payment_request_id.clone(),
        payment_id: view.payment.alipay_payment_id.clone().unwrap_or_default(),
        status: status as i32,
        refund_amount: Some(amount(&r.currency, r.amount_value)),
        actual_refund_amount: None,
        refund_reason: view.refund.reason.clone().unwrap_or_default(),
        last_alipay_result: r.last_result.as_ref().map(alipay_result),
        create_time: Some(timestamp(r.created_at)),
        update_time: Some(timestamp(r.updated_at)),
        refund_time: (status != pb::RefundStatus::Processing).then(|| timestamp(r.updated_at)),
    }
}

/// A capture view → proto.
pub fn capture(view: &engine::CaptureView) -> pb::Capture {
    let c = &view.capture.operation;
    let status = pb::CaptureStatus::from(OperationKind::from(c.status));
    pb::Capture {
        capture_request_id: c.request_id.clone(),
        capture_id: c.alipay_id.clone().unwrap_or_default(),
        payment_request_id: view.payment.payment_request_id.clone(),
        payment_id: view.payment.alipay_payment_id.clone().unwrap_or_default(),
        status: status as i32,
        capture_amount: Some(amount(&c.currency, c.amount_value)),
        is_last_capture: view.capture.is_last_capture,
        last_alipay_result: c.last_result.as_ref().map(alipay_result),
        create_time: Some(timestamp(c.created_at)),
        update_time: Some(timestamp(c.updated_at)),
        capture_time: (status == pb::CaptureStatus::Success).then(|| timestamp(c.updated_at)),
    }
}

/// A committed event → proto, the subject rendered as it was at that event.
pub fn payment_event(e: &engine::PaymentEvent) -> pb::PaymentEvent {
    use pb::payment_event::Subject;
    let (event_type, subject) = match &e.subject {
        engine::EventSubject::Payment(view) => (
            pb::PaymentEventType::PaymentUpdated,
            Subject::Payment(payment(view)),
        ),
        engine::EventSubject::Refund(view) => (
            pb::PaymentEventType::RefundUpdated,
            Subject::Refund(refund(view)),
        ),
        engine::EventSubject::Capture(view) => (
            pb::PaymentEventType::CaptureUpdated,
            Subject::Capture(capture(view)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wallet_renders_as_the_proto_wallet_of_its_spelling() {
        use engine::Spelled;
        for w in [
            engine::Wallet::Gcash,
            engine::Wallet::AlipayHk,
            engine::Wallet::ConnectWallet,
            engine::Wallet::Kakaopay,
        ] {
            assert_eq!(wallet(w).as_str_name(), format!("WALLET_{}", w.spelling()));
        }
    }

    #[test]
    fn next_actions_render_as_before() {
        let redirect = engine::NextAction::Redirect(engine::RedirectAction {
            url: "https://3ds".into(),
            method: engine::RedirectMethod::Post,
            form_parameters: [("PaReq".to_owned(), "x".to_owned())].into(),
            ..Default::default()
        });
        let Some(pb::next_action::Action::Redirect(r)) =
            next_action(&redirect).and_then(|a| a.action)
        else {
            panic!("redirect expected")
        };
        assert_eq!(
            (r.url.as_str(), r.method),
            ("https://3ds", pb::RedirectMethod::Post as i32)
        );
        assert_eq!(r.form_parameters["PaReq"], "x");

        let challenge = engine::NextAction::Challenge(engine::ChallengeAction {
            challenge_type: "SMS_OTP".into(),
            render_value: "123".into(),
            trigger_source: "ISSUER".into(),
        });
        let Some(pb::next_action::Action::Challenge(c)) =
            next_action(&challenge).and_then(|a| a.action)
        else {
            panic!("challenge expected")
        };
        assert_eq!(c.challenge_render_value, "123");

        let nowhere = engine::NextAction::Redirect(engine::RedirectAction {
            app_identifier: "com.gcash".into(),
            ..Default::default()
        });
        assert_eq!(next_action(&nowhere), None);
        assert_eq!(
            next_action(&engine::NextAction::OrderCode(Default::default())),
            None
        );
    }
}
