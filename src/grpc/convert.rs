//! Conversions between the proto messages and the engine's commands and stored records. Pure functions: the
//! requests they read were validated first (`validate.rs`), so unknown enum values cannot reach them.

use alipay::model as wire;
use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use serde_json::Value;

use crate::pb::v1 as pb;

/// Alipay's spelling of a wallet (`customerBelongsTo` / `paymentMethodType`).
pub fn wallet_name(wallet: pb::Wallet) -> &'static str {
    match wallet {
        pb::Wallet::Unspecified => "",
        pb::Wallet::AlipayCn => "ALIPAY_CN",
        pb::Wallet::AlipayHk => "ALIPAY_HK",
        pb::Wallet::Gcash => "GCASH",
        pb::Wallet::Dana => "DANA",
        pb::Wallet::Truemoney => "TRUEMONEY",
        pb::Wallet::Tng => "TNG",
        pb::Wallet::Bkash => "BKASH",
        pb::Wallet::Easypaisa => "EASYPAISA",
        pb::Wallet::Kakaopay => "KAKAOPAY",
        pb::Wallet::ConnectWallet => "CONNECT_WALLET",
    }
}

/// The proto wallet for Alipay's spelling; unknown names (e.g. `CARD`) are WALLET_UNSPECIFIED.
pub fn wallet_from_name(name: &str) -> pb::Wallet {
    pb::Wallet::from_str_name(&format!("WALLET_{name}")).unwrap_or(pb::Wallet::Unspecified)
}

fn scope(scope: pb::AuthScope) -> Option<wire::Scope> {
    match scope {
        pb::AuthScope::Unspecified => None,
        pb::AuthScope::BaseUserInfo => Some(wire::Scope::BaseUserInfo),
        pb::AuthScope::UserInfo => Some(wire::Scope::UserInfo),
        pb::AuthScope::AgreementPay => Some(wire::Scope::AgreementPay),
        pb::AuthScope::UserLoginId => Some(wire::Scope::UserLoginId),
        pb::AuthScope::HashLoginId => Some(wire::Scope::HashLoginId),
        pb::AuthScope::SendOtp => Some(wire::Scope::SendOtp),
        pb::AuthScope::TaobaoRebind => Some(wire::Scope::TaobaoRebind),
    }
}

/// Validated proto scopes → Alipay's (UNSPECIFIED, rejected by validation, is skipped).
fn scopes(scopes: &[i32]) -> Vec<wire::Scope> {
    scopes
        .iter()
        .filter_map(|s| scope(pb::AuthScope::try_from(*s).ok()?))
        .collect()
}

fn terminal(value: i32) -> Option<wire::TerminalType> {
    match pb::TerminalType::try_from(value).ok()? {
        pb::TerminalType::Unspecified => None,
        pb::TerminalType::Web => Some(wire::TerminalType::Web),
        pb::TerminalType::Wap => Some(wire::TerminalType::Wap),
        pb::TerminalType::App => Some(wire::TerminalType::App),
        pb::TerminalType::MiniApp => Some(wire::TerminalType::MiniApp),
    }
}

fn os(value: i32) -> Option<wire::OsType> {
    match pb::OsType::try_from(value).ok()? {
        pb::OsType::Unspecified => None,
        pb::OsType::Ios => Some(wire::OsType::Ios),
        pb::OsType::Android => Some(wire::OsType::Android),
    }
}

fn opt(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn opt_number(n: i32) -> Option<String> {
    (n != 0).then(|| n.to_string())
}

/// Proto timestamp → UTC time (out-of-range values are dropped; validation bounds the ones that matter).
pub fn time_from(ts: &Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

/// UTC time → proto timestamp.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// The current time as a proto timestamp (for validation of relative limits).
pub fn now() -> Timestamp {
    timestamp(Utc::now())
}

fn amount(a: &pb::Amount) -> wire::Amount {
    wire::Amount::new(a.currency.clone(), u64::try_from(a.value).unwrap_or(0))
}

fn amount_of(currency: &str, value: i64) -> pb::Amount {
    pb::Amount {
        currency: currency.to_owned(),
        value,
    }
}

/// `Consult` → engine command.
pub fn consult(r: &pb::ConsultRequest) -> engine::ConsultCommand {
    engine::ConsultCommand {
        // The API names the customer at ApplyToken, when the binding is created, not at consult.
        customer_id: None,
        wallet: wallet_name(pb::Wallet::try_from(r.wallet).unwrap_or_default()).to_owned(),
        auth_redirect_url: r.auth_redirect_url.clone(),
        auth_state: r.auth_state.clone(),
        scopes: scopes(&r.scopes),
        terminal_type: terminal(r.terminal_type).unwrap_or(wire::TerminalType::Web),
        os_type: os(r.os_type),
        os_version: opt(&r.os_version),
        merchant_region: opt(&r.merchant_region),
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

/// `ApplyToken` → engine command.
pub fn apply_token(r: &pb::ApplyTokenRequest) -> engine::ApplyTokenCommand {
    engine::ApplyTokenCommand {
        customer_id: r.customer_id.clone(),
        wallet: wallet_name(pb::Wallet::try_from(r.wallet).unwrap_or_default()).to_owned(),
        auth_code: wire::Secret::new(r.auth_code.clone()),
        scopes: scopes(&r.scopes),
        merchant_region: opt(&r.merchant_region),
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

/// `ListBindings` filters.
pub fn binding_filter(r: &pb::ListBindingsRequest) -> engine::BindingFilter {
    engine::BindingFilter {
        customer_id: opt(&r.customer_id),
        wallet: match pb::Wallet::try_from(r.wallet).unwrap_or_default() {
            pb::Wallet::Unspecified => None,
            w => Some(wallet_name(w).to_owned()),
        },
        status: match pb::BindingStatus::try_from(r.status).unwrap_or_default() {
            pb::BindingStatus::Unspecified => None,
            pb::BindingStatus::Active => Some(engine::BindingStatus::Active),
            pb::BindingStatus::Revoked => Some(engine::BindingStatus::Revoked),
            pb::BindingStatus::Expired => Some(engine::BindingStatus::Expired),
        },
    }
}

/// A page request (validated: 0..=100).
pub fn page(page_size: i32, page_token: &str) -> engine::PageRequest {
    engine::PageRequest {
        page_size: u32::try_from(page_size).unwrap_or(0),
        page_token: opt(page_token),
    }
}

/// `Pay` → engine command.
pub fn pay(r: &pb::PayRequest) -> engine::PayCommand {
    use pb::pay_request::Source;
    let payment_amount = r
        .payment_amount
        .as_ref()
        .map(amount)
        .unwrap_or_else(|| wire::Amount::new("", 0));
    let order = r.order.clone().unwrap_or_default();
    let (source, env) = match &r.source {
        Some(Source::Agreement(a)) => (
            engine::PaySource::Agreement {
                binding_id: a.binding_id.clone(),
            },
            a.env.as_ref().map(env),
        ),
        Some(Source::InStore(s)) => (
            engine::PaySource::InStore {
                payment_code: wire::Secret::new(s.payment_code.clone()),
            },
            None,
        ),
        Some(Source::Cashier(c)) => (
            engine::PaySource::Cashier {
                wallet: wallet_name(pb::Wallet::try_from(c.wallet).unwrap_or_default()).to_owned(),
                redirect_url: c.payment_redirect_url.clone(),
            },
            c.env.as_ref().map(env),
        ),
        // Validation rejects a missing source; an empty agreement fails the engine's own check.
        None => (
            engine::PaySource::Agreement {
                binding_id: String::new(),
            },
            None,
        ),
    };
    engine::PayCommand {
        payment_request_id: r.payment_request_id.clone(),
        order: self::order(&order, &payment_amount),
        amount: payment_amount,
        env,
        source,
        payment_notify_url: None,
        merchant_region: opt(&r.merchant_region),
        metadata: r
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        is_authorization: r.is_authorization,
        capture_mode: match pb::CaptureMode::try_from(r.capture_mode).unwrap_or_default() {
            pb::CaptureMode::Unspecified => None,
            pb::CaptureMode::Automatic => Some(wire::CaptureMode::Automatic),
            pb::CaptureMode::Manual => Some(wire::CaptureMode::Manual),
        },
        // Validation rejects an out-of-range timestamp; one that slipped through is left to Alipay's default.
        payment_expiry_time: r.payment_expiry_time.as_ref().and_then(time_from),
    }
}

fn order(o: &pb::Order, payment_amount: &wire::Amount) -> wire::Order {
    let mut order = wire::Order::new(
        o.reference_order_id.clone(),
        o.order_description.clone(),
        o.order_amount
            .as_ref()
            .map(amount)
            .unwrap_or_else(|| payment_amount.clone()),
    );
    order.buyer = o.buyer.as_ref().map(|b| wire::Buyer {
        reference_buyer_id: opt(&b.reference_buyer_id),
        buyer_name: b.buyer_name.as_ref().map(name),
        buyer_phone_no: opt(&b.buyer_phone_no),
        buyer_email: opt(&b.buyer_email),
    });
    order.goods = (!o.goods.is_empty()).then(|| {
        o.goods
            .iter()
            .map(|g| wire::Goods {
                reference_goods_id: opt(&g.reference_goods_id),
                goods_name: opt(&g.goods_name),
                goods_category: opt(&g.goods_category),
                goods_unit_amount: g.goods_unit_amount.as_ref().map(amount),
                goods_quantity: opt_number(g.goods_quantity),
                goods_url: opt(&g.goods_url),
            })
            .collect()
    });
    order.shipping = o.shipping.as_ref().map(|s| wire::Shipping {
        shipping_name: s.shipping_name.as_ref().map(name),
        shipping_address: s.shipping_address.as_ref().map(address),
        shipping_carrier: opt(&s.shipping_carrier),
        shipping_phone_no: opt(&s.shipping_phone_no),
        ship_to_email: opt(&s.ship_to_email),
    });
    order.merchant = o.merchant.as_ref().map(|m| wire::Merchant {
        reference_merchant_id: opt(&m.reference_merchant_id),
        merchant_mcc: opt(&m.merchant_mcc),
        merchant_name: opt(&m.merchant_name),
        merchant_address: m.merchant_address.as_ref().map(address),
        store: m.store.as_ref().map(|s| wire::Store {
            reference_store_id: opt(&s.reference_store_id),
            store_name: opt(&s.store_name),
            store_mcc: opt(&s.store_mcc),
            store_address: s.store_address.as_ref().map(address),
        }),
    });
    order.env = o.env.as_ref().map(env);
    order
}

fn name(n: &pb::Name) -> wire::UserName {
    wire::UserName {
        first_name: opt(&n.first_name),
        middle_name: opt(&n.middle_name),
        last_name: opt(&n.last_name),
        full_name: opt(&n.full_name),
    }
}

fn address(a: &pb::Address) -> wire::Address {
    wire::Address {
        region: a.region.clone(),
        state: opt(&a.state),
        city: opt(&a.city),
        address1: opt(&a.address1),
        address2: opt(&a.address2),
        zip_code: opt(&a.zip_code),
    }
}

fn env(e: &pb::Env) -> wire::Env {
    let mut env = wire::Env::new(terminal(e.terminal_type).unwrap_or(wire::TerminalType::Web));
    env.os_type = os(e.os_type);
    env.os_version = opt(&e.os_version);
    env.client_ip = opt(&e.client_ip);
    env.user_agent = opt(&e.user_agent);
    env.device_id = opt(&e.device_id);
    env.device_token_id = opt(&e.device_token_id);
    env.device_language = opt(&e.device_language);
    env.browser_info = e.browser_info.as_ref().map(|b| wire::BrowserInfo {
        accept_header: opt(&b.accept_header),
        java_enabled: Some(b.java_enabled),
        java_script_enabled: Some(b.java_script_enabled),
        language: opt(&b.language),
        user_agent: opt(&b.user_agent),
    });
    env.color_depth = opt_number(e.color_depth);
    env.screen_height = opt_number(e.screen_height);
    env.screen_width = opt_number(e.screen_width);
    env.time_zone_offset = opt_number(e.time_zone_offset);
    env.store_terminal_id = opt(&e.store_terminal_id);
    env.store_terminal_request_time = e
        .store_terminal_request_time
        .as_ref()
        .and_then(time_from)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string());
    env
}

/// `Refund` → engine command.
pub fn refund(r: &pb::RefundRequest) -> engine::RefundCommand {
    engine::RefundCommand {
        refund_request_id: r.refund_request_id.clone(),
        payment_request_id: r.payment_request_id.clone(),
        amount: r
            .refund_amount
            .as_ref()
            .map(amount)
            .unwrap_or_else(|| wire::Amount::new("", 0)),
        reason: opt(&r.refund_reason),
    }
}

/// `Capture` → engine command.
pub fn capture(r: &pb::CaptureRequest) -> engine::CaptureCommand {
    engine::CaptureCommand {
        capture_request_id: r.capture_request_id.clone(),
        payment_request_id: r.payment_request_id.clone(),
        amount: r
            .capture_amount
            .as_ref()
            .map(amount)
            .unwrap_or_else(|| wire::Amount::new("", 0)),
        is_last_capture: r.is_last_capture,
    }
}

/// Alipay's spelling of a proto product code (`AGREEMENT_PAYMENT`, ...); UNSPECIFIED (no filter) is `None`.
fn product_code_name(code: i32) -> Option<String> {
    match pb::ProductCode::try_from(code).unwrap_or_default() {
        pb::ProductCode::Unspecified => None,
        p => Some(
            p.as_str_name()
                .trim_start_matches("PRODUCT_CODE_")
                .to_owned(),
        ),
    }
}

/// `ListPayments` filters; `None` when no stored payment can match. The gateway never stores PENDING (Alipay's
/// PENDING is kept as PROCESSING), so a status list naming only PENDING matches nothing, whereas the store reads
/// an empty list as "any status".
pub fn payment_filter(r: &pb::ListPaymentsRequest) -> Option<engine::PaymentFilter> {
    let statuses: Vec<_> = r
        .statuses
        .iter()
        .filter_map(|s| payment_status_to_store(pb::PaymentStatus::try_from(*s).ok()?))
        .collect();
    if statuses.is_empty() && !r.statuses.is_empty() {
        return None;
    }
    Some(engine::PaymentFilter {
        statuses,
        product_code: product_code_name(r.product_code),
        customer_id: opt(&r.customer_id),
        binding_id: opt(&r.binding_id),
        created_from: r.create_time_start.as_ref().and_then(time_from),
        created_to: r.create_time_end.as_ref().and_then(time_from),
    })
}

/// `StreamPaymentEvents` filters (validated: known product code and event types).
pub fn event_filter(r: &pb::StreamPaymentEventsRequest) -> engine::EventFilter {
    engine::EventFilter {
        customer_id: opt(&r.customer_id),
        product_code: product_code_name(r.product_code),
        types: r
            .event_types
            .iter()
            .filter_map(|t| match pb::PaymentEventType::try_from(*t).ok()? {
                pb::PaymentEventType::Unspecified => None,
                pb::PaymentEventType::PaymentUpdated => Some(engine::EventType::Payment),
                pb::PaymentEventType::RefundUpdated => Some(engine::EventType::Refund),
                pb::PaymentEventType::CaptureUpdated => Some(engine::EventType::Capture),
            })
            .collect(),
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

fn payment_status_to_store(s: pb::PaymentStatus) -> Option<engine::PaymentStatus> {
    match s {
        pb::PaymentStatus::Unspecified | pb::PaymentStatus::Pending => None,
        pb::PaymentStatus::Created => Some(engine::PaymentStatus::Created),
        pb::PaymentStatus::Processing => Some(engine::PaymentStatus::Processing),
        pb::PaymentStatus::Success => Some(engine::PaymentStatus::Success),
        pb::PaymentStatus::Fail => Some(engine::PaymentStatus::Fail),
        pb::PaymentStatus::Cancelled => Some(engine::PaymentStatus::Cancelled),
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
        // CANCELLED is final, so the last change of a cancelled payment is its cancellation.
        cancel_time: (p.status == engine::PaymentStatus::Cancelled)
            .then(|| timestamp(p.updated_at)),
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
            assert_eq!(wallet_from_name(wallet_name(w)), w);
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
