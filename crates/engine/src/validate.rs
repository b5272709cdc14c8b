//! Business rules that span fields of a command. Each field on its own is valid by construction (the command holds
//! [`alipay::checked`] values parsed once at the edge), so only the rules that relate fields to each other, or to
//! the clock, are checked here, before anything reaches Alipay. Every violation of a command is reported at once.

use alipay::checked::Money;
use alipay::limits::{MAX_PAYMENT_EXPIRY_AHEAD, ProductKind, minimum_amount};
use alipay::model::{Order, OsType, TerminalType};
use chrono::{DateTime, Utc};

use crate::commands::{ConsultCommand, PayCommand, PaySource};
use crate::error::EngineError;
use crate::limits::Violations;

pub(crate) fn pay(cmd: &PayCommand) -> Result<(), EngineError> {
    let mut v = Violations::new();
    // The contract carries the buyer's environment in the payment source.
    let env_field = match cmd.source {
        PaySource::Agreement { .. } => "agreement.env",
        PaySource::Cashier { .. } => "cashier.env",
        PaySource::InStore { .. } => "order.env",
        PaySource::Card(_) => "env",
    };
    if let Some(env) = &cmd.env {
        terminal(
            &mut v,
            &format!("{env_field}."),
            env.terminal_type,
            env.os_type,
        );
    }
    order(&mut v, &cmd.order, &cmd.amount);
    if cmd.capture_mode.is_some() && !cmd.is_authorization {
        v.push(
            "capture_mode",
            "is only allowed when is_authorization is true",
        );
    }
    if let Some(expiry) = cmd.payment_expiry_time {
        payment_expiry(&mut v, &cmd.source, expiry, Utc::now());
    }
    if let PaySource::Cashier { wallet, .. } = &cmd.source {
        if cmd.env.is_none() {
            // Alipay picks the cashier page (web, WAP, app) from it.
            v.push(
                env_field,
                "is required for a cashier payment (terminal type)",
            );
        }
        let currency = cmd.amount.currency();
        if let Some(min) = minimum_amount(wallet.as_str(), currency, ProductKind::Cashier)
            && cmd.amount.minor_units().unsigned_abs() < min
        {
            v.push(
                "payment_amount.value",
                format!("{wallet} requires at least {min} {currency} minor units"),
            );
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
    } else if (expiry - now)
        .to_std()
        .is_ok_and(|ahead| ahead > MAX_PAYMENT_EXPIRY_AHEAD)
    {
        v.push(FIELD, "must be at most 10 minutes ahead");
    }
}

pub(crate) fn consult(cmd: &ConsultCommand) -> Result<(), EngineError> {
    let mut v = Violations::new();
    terminal(&mut v, "", cmd.terminal_type, cmd.os_type);
    v.into_result()
}

/// Terminal and OS of consult and of an env (`prefix` is the env's path): the OS is required unless WEB.
fn terminal(v: &mut Violations, prefix: &str, terminal_type: TerminalType, os: Option<OsType>) {
    if terminal_type != TerminalType::Web && os.is_none() {
        v.push(
            format!("{prefix}os_type"),
            "is required for WAP, APP and MINI_APP terminals",
        );
    }
}

/// The order's own environment, and goods priced in the payment currency.
fn order(v: &mut Violations, order: &Order, amount: &Money) {
    if let Some(env) = &order.env {
        terminal(v, "order.env.", env.terminal_type, env.os_type);
    }
    for (i, goods) in order.goods.iter().flatten().enumerate() {
        if let Some(unit) = &goods.goods_unit_amount
            && *amount.currency() != unit.currency
        {
            v.push(
                format!("order.goods[{i}].goods_unit_amount.currency"),
                "must equal the payment currency",
            );
        }
    }
}
