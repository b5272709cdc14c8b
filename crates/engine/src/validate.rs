//! Command validation with [`crate::limits`]: the engine re-checks what the gRPC layer checked, so no caller can
//! get bad input to Alipay. Every violation of a command is reported at once.

use alipay::model::{Amount, Order, OsType, TerminalType};
use chrono::{DateTime, Utc};

use crate::commands::{
    ApplyTokenCommand, CaptureCommand, ConsultCommand, PayCommand, PaySource, RefundCommand,
};
use crate::error::EngineError;
use crate::limits::{
    MAX_AUTH_REDIRECT_URL_LEN, MAX_AUTH_STATE_LEN, MAX_CUSTOMER_ID_LEN, MAX_ORDER_DESCRIPTION_LEN,
    MAX_OS_VERSION_LEN, MAX_PAYMENT_EXPIRY_AHEAD, MAX_REFERENCE_ORDER_ID_LEN,
    MAX_REFUND_REASON_LEN, MAX_SCOPES, MAX_URL_LEN, ProductKind, Violations,
};

pub(crate) fn pay(cmd: &PayCommand) -> Result<(), EngineError> {
    let mut v = Violations::new();
    v.request_id("payment_request_id", &cmd.payment_request_id);
    let value = amount(&mut v, "payment_amount", &cmd.amount);
    order(&mut v, &cmd.order);
    if let Some(url) = &cmd.payment_notify_url {
        v.url("payment_notify_url", url, MAX_URL_LEN);
    }
    // The contract carries the buyer's environment in the payment source.
    let env_field = match cmd.source {
        PaySource::Agreement { .. } => "agreement.env",
        PaySource::Cashier { .. } => "cashier.env",
        PaySource::InStore { .. } => "order.env",
    };
    if let Some(env) = &cmd.env {
        terminal(
            &mut v,
            &format!("{env_field}."),
            env.terminal_type,
            env.os_type,
            env.os_version.as_deref(),
        );
    }
    region(&mut v, cmd.merchant_region.as_deref());
    v.metadata("metadata", &cmd.metadata);
    if cmd.capture_mode.is_some() && !cmd.is_authorization {
        v.push("capture_mode", "is only allowed for an authorization");
    }
    if let Some(expiry) = cmd.payment_expiry_time {
        payment_expiry(&mut v, &cmd.source, expiry, chrono::Utc::now());
    }
    match &cmd.source {
        PaySource::Agreement { binding_id } => {
            v.required("agreement.binding_id", binding_id);
        }
        PaySource::InStore { payment_code } => {
            v.payment_code("in_store.payment_code", payment_code.expose())
        }
        PaySource::Cashier {
            wallet,
            redirect_url,
        } => {
            v.wallet("cashier.wallet", wallet);
            v.url("cashier.payment_redirect_url", redirect_url, MAX_URL_LEN);
            if cmd.env.is_none() {
                // Alipay picks the cashier page (web, WAP, app) from it.
                v.push(
                    env_field,
                    "is required for a cashier payment (terminal type)",
                );
            }
            if let Some(value) = value {
                v.wallet_minimum(
                    "payment_amount",
                    wallet,
                    ProductKind::Cashier,
                    &cmd.amount.currency,
                    value,
                );
            }
        }
    }
    v.into_result()
}

/// `paymentExpiryTime` (alipay-api §3.1): only a cashier payment waits for the buyer, and a wallet's custom expiry
/// must lie in the future and at most [`MAX_PAYMENT_EXPIRY_AHEAD`] ahead, or Alipay refuses it.
fn payment_expiry(
    v: &mut Violations,
    source: &PaySource,
    expiry: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    const FIELD: &str = "payment_expiry_time";
    if !matches!(source, PaySource::Cashier { .. }) {
        v.push(FIELD, "is only allowed for a cashier payment");
    } else if expiry <= now {
        v.push(FIELD, "must be in the future");
    } else if (expiry - now).to_std().unwrap_or_default() > MAX_PAYMENT_EXPIRY_AHEAD {
        v.push(FIELD, "must be at most 10 minutes ahead");
    }
}

pub(crate) fn refund(cmd: &RefundCommand) -> Result<(), EngineError> {
    let mut v = Violations::new();
    v.request_id("refund_request_id", &cmd.refund_request_id);
    v.request_id("payment_request_id", &cmd.payment_request_id);
    amount(&mut v, "refund_amount", &cmd.amount);
    if let Some(reason) = &cmd.reason {
        v.max_len("refund_reason", reason, MAX_REFUND_REASON_LEN);
    }
    v.into_result()
}

pub(crate) fn capture(cmd: &CaptureCommand) -> Result<(), EngineError> {
    let mut v = Violations::new();
    v.request_id("capture_request_id", &cmd.capture_request_id);
    v.request_id("payment_request_id", &cmd.payment_request_id);
    amount(&mut v, "capture_amount", &cmd.amount);
    v.into_result()
}

pub(crate) fn consult(cmd: &ConsultCommand) -> Result<(), EngineError> {
    let mut v = Violations::new();
    if let Some(customer_id) = &cmd.customer_id {
        v.max_len("customer_id", customer_id, MAX_CUSTOMER_ID_LEN);
    }
    v.wallet("wallet", &cmd.wallet);
    v.url(
        "auth_redirect_url",
        &cmd.auth_redirect_url,
        MAX_AUTH_REDIRECT_URL_LEN,
    );
    if v.required("auth_state", &cmd.auth_state) {
        v.max_len("auth_state", &cmd.auth_state, MAX_AUTH_STATE_LEN);
    }
    if cmd.scopes.is_empty() {
        v.push("scopes", "at least one scope is required");
    }
    if cmd.scopes.len() > MAX_SCOPES {
        v.push("scopes", format!("at most {MAX_SCOPES} scopes"));
    }
    terminal(
        &mut v,
        "",
        cmd.terminal_type,
        cmd.os_type,
        cmd.os_version.as_deref(),
    );
    region(&mut v, cmd.merchant_region.as_deref());
    v.into_result()
}

pub(crate) fn apply_token(cmd: &ApplyTokenCommand) -> Result<(), EngineError> {
    let mut v = Violations::new();
    customer(&mut v, &cmd.customer_id);
    v.wallet("wallet", &cmd.wallet);
    v.required("auth_code", cmd.auth_code.expose());
    if cmd.scopes.len() > MAX_SCOPES {
        v.push("scopes", format!("at most {MAX_SCOPES} scopes"));
    }
    region(&mut v, cmd.merchant_region.as_deref());
    v.into_result()
}

/// `merchantRegion`, when given (required only by some contracts, which Alipay itself enforces).
fn region(v: &mut Violations, merchant_region: Option<&str>) {
    if let Some(region) = merchant_region {
        v.merchant_region("merchant_region", region);
    }
}

fn customer(v: &mut Violations, customer_id: &str) {
    if v.required("customer_id", customer_id) {
        v.max_len("customer_id", customer_id, MAX_CUSTOMER_ID_LEN);
        // PostgreSQL cannot store a NUL byte in text: refused here, before Alipay spends anything on it.
        if customer_id.chars().any(char::is_control) {
            v.push("customer_id", "must not contain control characters");
        }
    }
}

/// Terminal facts of consult and pay env (`prefix` is `env.` inside a pay command): the OS is required unless WEB.
fn terminal(
    v: &mut Violations,
    prefix: &str,
    terminal_type: TerminalType,
    os_type: Option<OsType>,
    os_version: Option<&str>,
) {
    if terminal_type != TerminalType::Web && os_type.is_none() {
        v.push(
            format!("{prefix}os_type"),
            "is required unless terminal_type is WEB",
        );
    }
    if let Some(os_version) = os_version {
        v.max_len(
            &format!("{prefix}os_version"),
            os_version,
            MAX_OS_VERSION_LEN,
        );
    }
}

fn amount(v: &mut Violations, field: &str, amount: &Amount) -> Option<u64> {
    let value = v.amount(field, &amount.currency, &amount.value)?;
    if i64::try_from(value).is_err() {
        v.push(format!("{field}.value"), "is too large");
        return None;
    }
    Some(value)
}

fn order(v: &mut Violations, order: &Order) {
    if v.required("order.reference_order_id", &order.reference_order_id) {
        v.max_len(
            "order.reference_order_id",
            &order.reference_order_id,
            MAX_REFERENCE_ORDER_ID_LEN,
        );
    }
    if v.required("order.order_description", &order.order_description) {
        v.max_len(
            "order.order_description",
            &order.order_description,
            MAX_ORDER_DESCRIPTION_LEN,
        );
    }
    amount(v, "order.order_amount", &order.order_amount);
}
