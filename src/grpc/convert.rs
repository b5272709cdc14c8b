//! The request side of the edge: proto requests → engine commands and filters. Pure functions: the requests they
//! read were validated first (`validate.rs`), so unknown enum values cannot reach them. (Answers are rendered in
//! `render`.)

use alipay::model as wire;
use chrono::{DateTime, Utc};
use prost_types::Timestamp;

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

/// The current time as a proto timestamp (for validation of relative limits).
pub fn now() -> Timestamp {
    super::render::timestamp(Utc::now())
}

fn amount(a: &pb::Amount) -> wire::Amount {
    wire::Amount::new(a.currency.clone(), u64::try_from(a.value).unwrap_or(0))
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

/// `ListBindings` filters.
pub fn binding_filter(r: &pb::ListBindingsRequest) -> engine::BindingFilter {
    engine::BindingFilter {
        customer_id: opt(&r.customer_id),
        wallet: <engine::Wallet as engine::Spelled>::parse(wallet_name(
            pb::Wallet::try_from(r.wallet).unwrap_or_default(),
        )),
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
        customer_id: opt(&r.customer_id),
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

/// The engine's product code of a proto product code; UNSPECIFIED (no filter) is `None`.
fn product_code(code: i32) -> Option<engine::ProductCode> {
    match pb::ProductCode::try_from(code).unwrap_or_default() {
        pb::ProductCode::Unspecified => None,
        pb::ProductCode::AgreementPayment => Some(engine::ProductCode::AgreementPayment),
        pb::ProductCode::InStorePayment => Some(engine::ProductCode::InStorePayment),
        pb::ProductCode::CashierPayment => Some(engine::ProductCode::CashierPayment),
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
        product_code: product_code(r.product_code),
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
        product_code: product_code(r.product_code),
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
