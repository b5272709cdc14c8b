//! Validation of proto requests against every documented limit, before anything is converted or sent.
//!
//! All problems of a request are collected (not just the first) so a caller fixes them in one round trip; the
//! limits themselves come from `engine::limits`, the one source of truth the engine re-checks with. Field names
//! are proto paths in snake_case (`order.goods[2].goods_name`), as `google.rpc.BadRequest` expects.

use std::collections::{BTreeMap, HashSet};

use engine::limits::{self, ProductKind, Violations};
use prost_types::Timestamp;

use crate::pb::v1 as pb;

/// Most goods lines Alipay accepts in one order.
const MAX_GOODS: usize = 100;
/// Alipay lets a cashier payment expire at most this far ahead (the engine enforces the same limit).
const MAX_EXPIRY_AHEAD_SECS: i64 = engine::limits::MAX_PAYMENT_EXPIRY_AHEAD.as_secs() as i64;
/// List page size limit (the store enforces the same value).
const MAX_PAGE_SIZE: i32 = engine::MAX_PAGE_SIZE as i32;

/// Result of a validation: `Err` carries every violation found.
pub type Checked = Result<(), engine::EngineError>;

/// `Consult`.
pub fn consult(r: &pb::ConsultRequest) -> Checked {
    let mut v = Violations::new();
    wallet(&mut v, "wallet", r.wallet, false);
    if v.required("auth_redirect_url", &r.auth_redirect_url) {
        https_url(
            &mut v,
            "auth_redirect_url",
            &r.auth_redirect_url,
            limits::MAX_AUTH_REDIRECT_URL_LEN,
        );
    }
    if v.required("auth_state", &r.auth_state) {
        v.max_len("auth_state", &r.auth_state, limits::MAX_AUTH_STATE_LEN);
    }
    if r.scopes.is_empty() {
        v.push("scopes", "at least one scope is required");
    }
    scopes(&mut v, "scopes", &r.scopes);
    terminal(&mut v, "", r.terminal_type, r.os_type, true);
    v.max_len("os_version", &r.os_version, limits::MAX_OS_VERSION_LEN);
    region(&mut v, "merchant_region", &r.merchant_region, false);
    v.into_result()
}

/// `ApplyToken`.
pub fn apply_token(r: &pb::ApplyTokenRequest) -> Checked {
    let mut v = Violations::new();
    if v.required("auth_code", &r.auth_code) {
        v.max_len("auth_code", &r.auth_code, limits::MAX_REQUEST_ID_LEN);
    }
    wallet(&mut v, "wallet", r.wallet, false);
    if v.required("customer_id", &r.customer_id) {
        v.max_len("customer_id", &r.customer_id, limits::MAX_CUSTOMER_ID_LEN);
    }
    region(&mut v, "merchant_region", &r.merchant_region, false);
    // Optional here (empty = let Alipay decide), but when given, held to the rules Consult applies.
    scopes(&mut v, "scopes", &r.scopes);
    v.into_result()
}

/// Any request that only names a binding.
pub fn binding_id(binding_id: &str) -> Checked {
    let mut v = Violations::new();
    if v.required("binding_id", binding_id) {
        v.max_len("binding_id", binding_id, limits::MAX_CUSTOMER_ID_LEN);
    }
    v.into_result()
}

/// `ListBindings`.
pub fn list_bindings(r: &pb::ListBindingsRequest) -> Checked {
    let mut v = Violations::new();
    v.max_len("customer_id", &r.customer_id, limits::MAX_CUSTOMER_ID_LEN);
    if r.wallet != 0 && pb::Wallet::try_from(r.wallet).is_err() {
        v.push("wallet", "unknown wallet");
    }
    if r.status != 0 && pb::BindingStatus::try_from(r.status).is_err() {
        v.push("status", "unknown binding status");
    }
    page_size(&mut v, r.page_size);
    v.into_result()
}

/// Any request that only names a payment by its request id.
pub fn payment_request_id(id: &str) -> Checked {
    let mut v = Violations::new();
    v.request_id("payment_request_id", id);
    v.into_result()
}

/// `InquireRefund`.
pub fn refund_request_id(id: &str) -> Checked {
    let mut v = Violations::new();
    v.request_id("refund_request_id", id);
    v.into_result()
}

/// `Pay`: shape, limits, product/source agreement and per-wallet minimums where the wallet is known here.
pub fn pay(r: &pb::PayRequest, now: Timestamp) -> Checked {
    use pb::pay_request::Source;
    let mut v = Violations::new();
    v.request_id("payment_request_id", &r.payment_request_id);

    let product = match &r.source {
        None => {
            v.push(
                "source",
                "one of agreement, in_store or cashier is required",
            );
            None
        }
        Some(Source::Agreement(_)) => Some(pb::ProductCode::AgreementPayment),
        Some(Source::InStore(_)) => Some(pb::ProductCode::InStorePayment),
        Some(Source::Cashier(_)) => Some(pb::ProductCode::CashierPayment),
    };
    match pb::ProductCode::try_from(r.product_code) {
        Err(_) => v.push("product_code", "unknown product code"),
        Ok(pb::ProductCode::Unspecified) => {}
        Ok(code) if Some(code) != product && product.is_some() => {
            v.push("product_code", "does not match the payment source");
        }
        Ok(_) => {}
    }

    let amount_value = amount(&mut v, "payment_amount", r.payment_amount.as_ref());
    let currency = r
        .payment_amount
        .as_ref()
        .map(|a| a.currency.as_str())
        .unwrap_or_default();

    match &r.order {
        None => v.push("order", "is required"),
        Some(order) => self::order(
            &mut v,
            order,
            currency,
            product == Some(pb::ProductCode::InStorePayment),
        ),
    }

    match &r.source {
        None => {}
        Some(Source::Agreement(a)) => {
            if v.required("agreement.binding_id", &a.binding_id) {
                v.max_len(
                    "agreement.binding_id",
                    &a.binding_id,
                    limits::MAX_CUSTOMER_ID_LEN,
                );
            }
            if let Some(e) = &a.env {
                env(&mut v, "agreement.env", e, false);
            }
        }
        Some(Source::InStore(s)) => payment_code(&mut v, "in_store.payment_code", &s.payment_code),
        Some(Source::Cashier(c)) => {
            if let Some(name) = wallet(&mut v, "cashier.wallet", c.wallet, false)
                && let Some(value) = amount_value
            {
                v.wallet_minimum(
                    "payment_amount",
                    name,
                    ProductKind::Cashier,
                    currency,
                    value,
                );
            }
            if v.required("cashier.payment_redirect_url", &c.payment_redirect_url) {
                https_url(
                    &mut v,
                    "cashier.payment_redirect_url",
                    &c.payment_redirect_url,
                    limits::MAX_URL_LEN,
                );
            }
            match &c.env {
                None => v.push(
                    "cashier.env",
                    "is required (terminal_type) for a cashier payment",
                ),
                Some(e) => env(&mut v, "cashier.env", e, true),
            }
        }
    }

    v.max_len("customer_id", &r.customer_id, limits::MAX_CUSTOMER_ID_LEN);
    if let Some(expiry) = &r.payment_expiry_time
        && timestamp(&mut v, "payment_expiry_time", expiry)
    {
        if product != Some(pb::ProductCode::CashierPayment) {
            v.push("payment_expiry_time", "only allowed for cashier payments");
        } else if expiry.seconds <= now.seconds {
            v.push("payment_expiry_time", "must be in the future");
        } else if expiry.seconds - now.seconds > MAX_EXPIRY_AHEAD_SECS {
            v.push("payment_expiry_time", "must be at most 10 minutes ahead");
        }
    }
    if !r.settlement_currency.is_empty() && !limits::is_known_currency(&r.settlement_currency) {
        v.push("settlement_currency", "must be an ISO 4217 currency code");
    }
    match pb::CaptureMode::try_from(r.capture_mode) {
        Err(_) => v.push("capture_mode", "unknown capture mode"),
        Ok(pb::CaptureMode::Unspecified) => {}
        Ok(_) if !r.is_authorization => {
            v.push(
                "capture_mode",
                "is only allowed when is_authorization is true",
            );
        }
        Ok(_) => {}
    }
    region(&mut v, "merchant_region", &r.merchant_region, false);
    // Sorted, so the violations come out in the same order on every call.
    let metadata: BTreeMap<_, _> = r.metadata.iter().collect();
    v.metadata("metadata", metadata);
    v.into_result()
}

/// `Refund`.
pub fn refund(r: &pb::RefundRequest) -> Checked {
    let mut v = Violations::new();
    v.request_id("refund_request_id", &r.refund_request_id);
    v.request_id("payment_request_id", &r.payment_request_id);
    amount(&mut v, "refund_amount", r.refund_amount.as_ref());
    v.max_len(
        "refund_reason",
        &r.refund_reason,
        limits::MAX_REFUND_REASON_LEN,
    );
    v.into_result()
}

/// `Capture`.
pub fn capture(r: &pb::CaptureRequest) -> Checked {
    let mut v = Violations::new();
    v.request_id("capture_request_id", &r.capture_request_id);
    v.request_id("payment_request_id", &r.payment_request_id);
    amount(&mut v, "capture_amount", r.capture_amount.as_ref());
    v.into_result()
}

/// `ListPayments`.
pub fn list_payments(r: &pb::ListPaymentsRequest) -> Checked {
    let mut v = Violations::new();
    for (i, status) in r.statuses.iter().enumerate() {
        match pb::PaymentStatus::try_from(*status) {
            Ok(pb::PaymentStatus::Unspecified) | Err(_) => {
                v.push(format!("statuses[{i}]"), "unknown payment status")
            }
            Ok(_) => {}
        }
    }
    if pb::ProductCode::try_from(r.product_code).is_err() {
        v.push("product_code", "unknown product code");
    }
    v.max_len("customer_id", &r.customer_id, limits::MAX_CUSTOMER_ID_LEN);
    v.max_len("binding_id", &r.binding_id, limits::MAX_CUSTOMER_ID_LEN);
    let start = r.create_time_start.as_ref();
    let end = r.create_time_end.as_ref();
    let start_ok = start.is_none_or(|t| timestamp(&mut v, "create_time_start", t));
    let end_ok = end.is_none_or(|t| timestamp(&mut v, "create_time_end", t));
    if let (Some(start), Some(end), true, true) = (start, end, start_ok, end_ok)
        && (start.seconds, start.nanos) >= (end.seconds, end.nanos)
    {
        v.push("create_time_end", "must be after create_time_start");
    }
    page_size(&mut v, r.page_size);
    v.into_result()
}

/// A `google.protobuf.Timestamp` as its definition allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, `nanos`
/// in 0..=999,999,999. Anything else is not a time, and would otherwise be silently read as "no bound".
fn timestamp(v: &mut Violations, field: &str, t: &Timestamp) -> bool {
    const MIN_SECONDS: i64 = -62_135_596_800;
    const MAX_SECONDS: i64 = 253_402_300_799;
    let ok =
        (MIN_SECONDS..=MAX_SECONDS).contains(&t.seconds) && (0..1_000_000_000).contains(&t.nanos);
    if !ok {
        v.push(
            field,
            "must be a valid timestamp (years 1 to 9999, nanos 0 to 999999999)",
        );
    }
    ok
}

/// Longest `StreamPaymentEvents.cursor` worth decoding (the gateway's own are about 30 characters).
const MAX_EVENT_CURSOR_LEN: usize = 128;

/// `StreamPaymentEvents` (the cursor's content is checked by the store, which issued it).
pub fn stream_payment_events(r: &pb::StreamPaymentEventsRequest) -> Checked {
    let mut v = Violations::new();
    v.max_len("cursor", &r.cursor, MAX_EVENT_CURSOR_LEN);
    v.max_len("customer_id", &r.customer_id, limits::MAX_CUSTOMER_ID_LEN);
    if pb::ProductCode::try_from(r.product_code).is_err() {
        v.push("product_code", "unknown product code");
    }
    for (i, event_type) in r.event_types.iter().enumerate() {
        match pb::PaymentEventType::try_from(*event_type) {
            Ok(pb::PaymentEventType::Unspecified) | Err(_) => {
                v.push(format!("event_types[{i}]"), "unknown event type")
            }
            Ok(_) => {}
        }
    }
    v.into_result()
}

/// A scanned payment code: required, and Alipay's rule (the description never echoes the code).
fn payment_code(v: &mut Violations, field: &str, code: &str) {
    if v.required(field, code) {
        v.payment_code(field, code);
    }
}

/// An amount: present, known currency, value > 0 (IDR a multiple of 100). Returns the value when usable.
fn amount(v: &mut Violations, field: &str, amount: Option<&pb::Amount>) -> Option<u64> {
    let Some(a) = amount else {
        v.push(field, "is required");
        return None;
    };
    let value = v.amount(field, &a.currency, &a.value.to_string())?;
    if a.currency == "IDR" && value % 100 != 0 {
        v.push(
            format!("{field}.value"),
            "IDR amounts must be a multiple of 100",
        );
    }
    Some(value)
}

/// A wallet enum: known, set, and CONNECT_WALLET only where allowed. Returns Alipay's name for it.
fn wallet(
    v: &mut Violations,
    field: &str,
    value: i32,
    allow_connect: bool,
) -> Option<&'static str> {
    match pb::Wallet::try_from(value) {
        Err(_) => {
            v.push(field, "unknown wallet");
            None
        }
        Ok(pb::Wallet::Unspecified) => {
            v.push(field, "is required");
            None
        }
        Ok(pb::Wallet::ConnectWallet) if !allow_connect => {
            v.push(field, "CONNECT_WALLET is only valid for in-store payments");
            None
        }
        Ok(w) => {
            let name = super::convert::wallet_name(w);
            v.wallet(field, name);
            Some(name)
        }
    }
}

/// At most `MAX_SCOPES` known, distinct scopes (whether any is required is the caller's rule).
fn scopes(v: &mut Violations, field: &str, scopes: &[i32]) {
    if scopes.len() > limits::MAX_SCOPES {
        v.push(field, format!("at most {} scopes", limits::MAX_SCOPES));
    }
    let mut seen = HashSet::new();
    for (i, scope) in scopes.iter().enumerate() {
        match pb::AuthScope::try_from(*scope) {
            Ok(pb::AuthScope::Unspecified) | Err(_) => {
                v.push(format!("{field}[{i}]"), "unknown scope")
            }
            Ok(_) if !seen.insert(*scope) => v.push(format!("{field}[{i}]"), "duplicate scope"),
            Ok(_) => {}
        }
    }
}

/// Terminal and OS: the terminal type is required when `required`; the OS is required for WAP, APP, MINI_APP.
fn terminal(v: &mut Violations, prefix: &str, terminal: i32, os: i32, required: bool) {
    let field = |name: &str| format!("{prefix}{name}");
    match pb::TerminalType::try_from(terminal) {
        Err(_) => v.push(field("terminal_type"), "unknown terminal type"),
        Ok(pb::TerminalType::Unspecified) if required => {
            v.push(field("terminal_type"), "is required")
        }
        Ok(t) => {
            let os = pb::OsType::try_from(os);
            match os {
                Err(_) => v.push(field("os_type"), "unknown OS type"),
                Ok(pb::OsType::Unspecified)
                    if matches!(
                        t,
                        pb::TerminalType::Wap | pb::TerminalType::App | pb::TerminalType::MiniApp
                    ) =>
                {
                    v.push(
                        field("os_type"),
                        "is required for WAP, APP and MINI_APP terminals",
                    );
                }
                Ok(_) => {}
            }
        }
    }
}

fn env(v: &mut Violations, prefix: &str, e: &pb::Env, terminal_required: bool) {
    let f = |name: &str| format!("{prefix}.{name}");
    terminal(
        v,
        &format!("{prefix}."),
        e.terminal_type,
        e.os_type,
        terminal_required,
    );
    v.max_len(&f("os_version"), &e.os_version, limits::MAX_OS_VERSION_LEN);
    if !e.client_ip.is_empty() && e.client_ip.parse::<std::net::IpAddr>().is_err() {
        v.push(f("client_ip"), "must be an IPv4 or IPv6 address");
    }
    v.max_len(&f("user_agent"), &e.user_agent, limits::MAX_URL_LEN);
    v.max_len(&f("device_id"), &e.device_id, 64);
    v.max_len(&f("device_token_id"), &e.device_token_id, 64);
    v.max_len(&f("device_language"), &e.device_language, 32);
    v.max_len(&f("store_terminal_id"), &e.store_terminal_id, 64);
    if let Some(b) = &e.browser_info {
        v.max_len(
            &f("browser_info.accept_header"),
            &b.accept_header,
            limits::MAX_URL_LEN,
        );
        v.max_len(&f("browser_info.language"), &b.language, 32);
        v.max_len(
            &f("browser_info.user_agent"),
            &b.user_agent,
            limits::MAX_URL_LEN,
        );
    }
    for (name, value) in [
        ("color_depth", e.color_depth),
        ("screen_height", e.screen_height),
        ("screen_width", e.screen_width),
    ] {
        if value < 0 {
            v.push(f(name), "must not be negative");
        }
    }
}

fn order(v: &mut Violations, o: &pb::Order, currency: &str, in_store: bool) {
    if v.required("order.reference_order_id", &o.reference_order_id) {
        v.max_len(
            "order.reference_order_id",
            &o.reference_order_id,
            limits::MAX_REFERENCE_ORDER_ID_LEN,
        );
    }
    if v.required("order.order_description", &o.order_description) {
        v.max_len(
            "order.order_description",
            &o.order_description,
            limits::MAX_ORDER_DESCRIPTION_LEN,
        );
    }
    if o.order_amount.is_some() {
        amount(v, "order.order_amount", o.order_amount.as_ref());
    }
    if o.goods.len() > MAX_GOODS {
        v.push("order.goods", format!("at most {MAX_GOODS} entries"));
    }
    for (i, g) in o.goods.iter().enumerate() {
        let f = |name: &str| format!("order.goods[{i}].{name}");
        v.max_len(&f("reference_goods_id"), &g.reference_goods_id, 64);
        v.max_len(&f("goods_name"), &g.goods_name, 256);
        v.max_len(&f("goods_category"), &g.goods_category, 64);
        v.max_len(&f("goods_brand"), &g.goods_brand, 128);
        v.max_len(&f("goods_url"), &g.goods_url, limits::MAX_URL_LEN);
        v.max_len(&f("goods_sku_name"), &g.goods_sku_name, 64);
        if g.goods_quantity < 0 {
            v.push(f("goods_quantity"), "must be at least 1 when set");
        }
        if let Some(unit) = &g.goods_unit_amount {
            amount(v, &f("goods_unit_amount"), Some(unit));
            if !currency.is_empty() && unit.currency != currency {
                v.push(
                    f("goods_unit_amount.currency"),
                    "must equal the payment currency",
                );
            }
        }
    }
    if let Some(b) = &o.buyer {
        v.max_len("order.buyer.reference_buyer_id", &b.reference_buyer_id, 64);
        if let Some(n) = &b.buyer_name {
            name(v, "order.buyer.buyer_name", n);
        }
        v.max_len("order.buyer.buyer_phone_no", &b.buyer_phone_no, 24);
        v.max_len("order.buyer.buyer_email", &b.buyer_email, 64);
    }
    if let Some(s) = &o.shipping {
        if let Some(n) = &s.shipping_name {
            name(v, "order.shipping.shipping_name", n);
        }
        if let Some(a) = &s.shipping_address {
            address(v, "order.shipping.shipping_address", a);
        }
        v.max_len("order.shipping.shipping_carrier", &s.shipping_carrier, 128);
        v.max_len("order.shipping.shipping_phone_no", &s.shipping_phone_no, 16);
        v.max_len("order.shipping.ship_to_email", &s.ship_to_email, 64);
    }
    match &o.merchant {
        None if in_store => v.push("order.merchant", "is required for in-store payments"),
        None => {}
        Some(m) => merchant(v, m, in_store),
    }
    if let Some(e) = &o.env {
        env(v, "order.env", e, false);
    }
}

fn merchant(v: &mut Violations, m: &pb::Merchant, in_store: bool) {
    let id_present = !in_store
        || v.required(
            "order.merchant.reference_merchant_id",
            &m.reference_merchant_id,
        );
    if id_present {
        v.max_len(
            "order.merchant.reference_merchant_id",
            &m.reference_merchant_id,
            32,
        );
    }
    mcc(v, "order.merchant.merchant_mcc", &m.merchant_mcc, in_store);
    v.max_len("order.merchant.merchant_name", &m.merchant_name, 256);
    v.max_len(
        "order.merchant.merchant_display_name",
        &m.merchant_display_name,
        64,
    );
    if let Some(a) = &m.merchant_address {
        address(v, "order.merchant.merchant_address", a);
    }
    match &m.store {
        None if in_store => v.push("order.merchant.store", "is required for in-store payments"),
        None => {}
        Some(s) => {
            if !in_store
                || v.required(
                    "order.merchant.store.reference_store_id",
                    &s.reference_store_id,
                )
            {
                v.max_len(
                    "order.merchant.store.reference_store_id",
                    &s.reference_store_id,
                    64,
                );
            }
            v.max_len("order.merchant.store.store_name", &s.store_name, 256);
            mcc(v, "order.merchant.store.store_mcc", &s.store_mcc, in_store);
            if let Some(a) = &s.store_address {
                address(v, "order.merchant.store.store_address", a);
            }
        }
    }
}

fn mcc(v: &mut Violations, field: &str, value: &str, required: bool) {
    if value.is_empty() {
        if required {
            v.push(field, "is required for in-store payments");
        }
    } else if value.len() != 4 || !value.bytes().all(|b| b.is_ascii_digit()) {
        v.push(field, "must be 4 digits (ISO 18245)");
    }
}

fn name(v: &mut Violations, prefix: &str, n: &pb::Name) {
    v.max_len(&format!("{prefix}.first_name"), &n.first_name, 32);
    v.max_len(&format!("{prefix}.middle_name"), &n.middle_name, 32);
    v.max_len(&format!("{prefix}.last_name"), &n.last_name, 32);
    v.max_len(&format!("{prefix}.full_name"), &n.full_name, 128);
}

fn address(v: &mut Violations, prefix: &str, a: &pb::Address) {
    region(v, &format!("{prefix}.region"), &a.region, true);
    v.max_len(&format!("{prefix}.state"), &a.state, 8);
    v.max_len(&format!("{prefix}.city"), &a.city, 32);
    v.max_len(&format!("{prefix}.address1"), &a.address1, 256);
    v.max_len(&format!("{prefix}.address2"), &a.address2, 256);
    v.max_len(&format!("{prefix}.zip_code"), &a.zip_code, 32);
}

/// ISO 3166-1 alpha-2: two upper-case letters.
fn region(v: &mut Violations, field: &str, value: &str, required: bool) {
    if value.is_empty() {
        if required {
            v.push(field, "is required");
        }
    } else if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
        v.push(
            field,
            "must be an ISO 3166-1 alpha-2 code (2 upper-case letters)",
        );
    }
}

fn https_url(v: &mut Violations, field: &str, value: &str, max: usize) {
    v.max_len(field, value, max);
    if !value.starts_with("https://") || value.len() <= "https://".len() {
        v.push(field, "must be an absolute https URL");
    }
}

fn page_size(v: &mut Violations, size: i32) {
    if !(0..=MAX_PAGE_SIZE).contains(&size) {
        v.push(
            "page_size",
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::pay_request::Source;

    fn fields(result: Checked) -> Vec<String> {
        match result {
            Err(engine::EngineError::InvalidArgument(v)) => {
                v.into_iter().map(|f| f.field).collect()
            }
            Err(other) => panic!("unexpected {other}"),
            Ok(()) => Vec::new(),
        }
    }

    fn now() -> Timestamp {
        Timestamp {
            seconds: 1_800_000_000,
            nanos: 0,
        }
    }

    fn good_pay() -> pb::PayRequest {
        pb::PayRequest {
            payment_request_id: "pay-1".into(),
            payment_amount: Some(pb::Amount {
                currency: "PHP".into(),
                value: 1000,
            }),
            order: Some(pb::Order {
                reference_order_id: "o-1".into(),
                order_description: "Coffee".into(),
                ..Default::default()
            }),
            source: Some(Source::Agreement(pb::AgreementPaymentSource {
                binding_id: "b-1".into(),
                env: None,
            })),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_pay_passes() {
        assert_eq!(fields(pay(&good_pay(), now())), Vec::<String>::new());
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let mut r = good_pay();
        r.payment_request_id = "has space".into();
        r.payment_amount = Some(pb::Amount {
            currency: "XXX".into(),
            value: 0,
        });
        r.order = Some(pb::Order {
            order_description: "é".repeat(257),
            ..Default::default()
        });
        r.product_code = pb::ProductCode::CashierPayment as i32;
        let got = fields(pay(&r, now()));
        for expected in [
            "payment_request_id",
            "payment_amount.currency",
            "payment_amount.value",
            "order.reference_order_id",
            "order.order_description",
            "product_code",
        ] {
            assert!(
                got.iter().any(|f| f == expected),
                "{expected} missing from {got:?}"
            );
        }
    }

    #[test]
    fn in_store_code_merchant_and_cashier_rules() {
        let mut r = good_pay();
        r.source = Some(Source::InStore(pb::InStorePaymentSource {
            payment_code: "2412345678901234".into(),
        }));
        let got = fields(pay(&r, now()));
        assert!(got.contains(&"in_store.payment_code".to_owned()), "{got:?}");
        assert!(got.contains(&"order.merchant".to_owned()), "{got:?}");

        let mut r = good_pay();
        r.payment_amount = Some(pb::Amount {
            currency: "PHP".into(),
            value: 99,
        });
        r.source = Some(Source::Cashier(pb::CashierPaymentSource {
            wallet: pb::Wallet::Gcash as i32,
            payment_redirect_url: "http://insecure.example".into(),
            env: Some(pb::Env {
                terminal_type: pb::TerminalType::App as i32,
                ..Default::default()
            }),
        }));
        r.payment_expiry_time = Some(Timestamp {
            seconds: now().seconds + 3600,
            nanos: 0,
        });
        let got = fields(pay(&r, now()));
        for expected in [
            "payment_amount.value",
            "cashier.payment_redirect_url",
            "cashier.env.os_type",
            "payment_expiry_time",
        ] {
            assert!(
                got.iter().any(|f| f == expected),
                "{expected} missing from {got:?}"
            );
        }
    }

    #[test]
    fn consult_scopes() {
        let r = pb::ConsultRequest {
            wallet: pb::Wallet::ConnectWallet as i32,
            auth_redirect_url: "https://m.example/back".into(),
            auth_state: "s".into(),
            scopes: vec![1, 2, 3, 4, 5],
            terminal_type: pb::TerminalType::Web as i32,
            ..Default::default()
        };
        let got = fields(consult(&r));
        assert_eq!(got, vec!["wallet".to_owned(), "scopes".to_owned()]);
        let r = pb::ConsultRequest {
            wallet: 3,
            scopes: vec![3, 3, 99],
            ..r
        };
        let got = fields(consult(&r));
        assert_eq!(got, vec!["scopes[1]".to_owned(), "scopes[2]".to_owned()]);
    }

    #[test]
    fn apply_token_scopes_are_optional_but_checked() {
        let r = pb::ApplyTokenRequest {
            auth_code: "code".into(),
            wallet: pb::Wallet::Gcash as i32,
            customer_id: "c-1".into(),
            ..Default::default()
        };
        assert_eq!(fields(apply_token(&r)), Vec::<String>::new());
        let r = pb::ApplyTokenRequest {
            scopes: vec![pb::AuthScope::UserInfo as i32; 2],
            ..r
        };
        assert_eq!(fields(apply_token(&r)), vec!["scopes[1]".to_owned()]);
        let r = pb::ApplyTokenRequest {
            scopes: vec![1, 2, 3, 4, 5],
            ..r
        };
        assert_eq!(fields(apply_token(&r)), vec!["scopes".to_owned()]);
    }

    #[test]
    fn list_limits() {
        let got = fields(list_payments(&pb::ListPaymentsRequest {
            page_size: 101,
            statuses: vec![0],
            create_time_start: Some(now()),
            create_time_end: Some(now()),
            ..Default::default()
        }));
        assert_eq!(
            got,
            vec![
                "statuses[0]".to_owned(),
                "create_time_end".to_owned(),
                "page_size".to_owned()
            ]
        );
    }
}
