//! Parse, don't validate: one `TryFrom<&pb::XRequest>` per RPC turns a request into the engine command (or query)
//! it stands for, or into INVALID_ARGUMENT naming every violation under its proto field path (snake_case, as
//! `google.rpc.BadRequest` expects: `order.goods[2].goods_name`). Each field is checked once, here, by the
//! constructors of [`alipay::checked`] values and the limits of [`alipay::limits`]; a command that exists holds
//! only valid fields, and the engine checks just the rules that span fields. No prost message reaches the engine.

mod authorization;
mod card;
mod order;
mod payment;

pub use authorization::BindingQuery;
pub use card::{CardTokenQuery, DeleteCardToken};
pub use payment::{EventQuery, PaymentQuery};

use std::str::FromStr;

use alipay::checked::{Currency, Money, Problem, Text, Wallet};
use alipay::model as wire;
use chrono::{DateTime, Utc};
use engine::EngineError;
use engine::limits::{MAX_PAGE_SIZE, Violations};
use prost_types::Timestamp;

use crate::pb::v1 as pb;

/// The error of a refused parse: every violation found.
fn rejected(v: Violations) -> EngineError {
    EngineError::InvalidArgument(v.into_vec())
}

/// A required field: the empty string is "is required".
fn required<T: FromStr<Err = Problem>>(v: &mut Violations, field: &str, value: &str) -> Option<T> {
    v.check(field, value.parse())
}

/// An optional field: the empty string (proto's "unset") is `None`, anything else must parse.
fn optional<T: FromStr<Err = Problem>>(v: &mut Violations, field: &str, value: &str) -> Option<T> {
    if value.is_empty() {
        None
    } else {
        v.check(field, value.parse())
    }
}

/// An optional free-text field of at most `MAX` characters, as the wire model holds it.
fn text<const MAX: usize>(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    optional::<Text<MAX>>(v, field, value).map(String::from)
}

/// A required amount: a known currency and a positive value (a whole step of the currency).
fn money(v: &mut Violations, field: &str, amount: Option<&pb::Amount>) -> Option<Money> {
    let Some(amount) = amount else {
        v.push(field, "is required");
        return None;
    };
    let value_field = format!("{field}.value");
    let currency = v.check(
        format!("{field}.currency"),
        Currency::new(amount.currency.as_str()),
    );
    let value = v.check(value_field.as_str(), Money::positive(amount.value))?;
    v.check(value_field, Money::new(currency?, value))
}

/// A wallet enum: known and set. CONNECT_WALLET names no wallet (Alipay resolves it from a scanned payment code),
/// so no RPC that names a wallet accepts it.
fn wallet(v: &mut Violations, field: &str, value: i32) -> Option<Wallet> {
    match pb::Wallet::try_from(value) {
        Err(_) => v.push(field, "unknown wallet"),
        Ok(pb::Wallet::Unspecified) => v.push(field, "is required"),
        Ok(pb::Wallet::ConnectWallet) => {
            v.push(field, "CONNECT_WALLET is only valid for in-store payments")
        }
        Ok(w) => return v.check(field, wallet_of(w)),
    }
    None
}

/// Alipay's wallet for a proto wallet (the proto names are `WALLET_` + Alipay's spelling).
fn wallet_of(wallet: pb::Wallet) -> Result<Wallet, Problem> {
    wallet
        .as_str_name()
        .trim_start_matches("WALLET_")
        .parse::<Wallet>()
}

/// A terminal type; `None` with a violation when unknown, or when unset and `required`. An unset optional terminal
/// is `Ok(None)`.
fn terminal(
    v: &mut Violations,
    field: &str,
    value: i32,
    required: bool,
) -> Result<Option<wire::TerminalType>, ()> {
    match pb::TerminalType::try_from(value) {
        Err(_) => v.push(field, "unknown terminal type"),
        Ok(pb::TerminalType::Unspecified) if required => v.push(field, "is required"),
        Ok(pb::TerminalType::Unspecified) => return Ok(None),
        Ok(pb::TerminalType::Web) => return Ok(Some(wire::TerminalType::Web)),
        Ok(pb::TerminalType::Wap) => return Ok(Some(wire::TerminalType::Wap)),
        Ok(pb::TerminalType::App) => return Ok(Some(wire::TerminalType::App)),
        Ok(pb::TerminalType::MiniApp) => return Ok(Some(wire::TerminalType::MiniApp)),
    }
    Err(())
}

/// An optional OS type (whether the terminal needs one is the engine's cross-field rule).
fn os(v: &mut Violations, field: &str, value: i32) -> Option<wire::OsType> {
    match pb::OsType::try_from(value) {
        Err(_) => {
            v.push(field, "unknown OS type");
            None
        }
        Ok(pb::OsType::Unspecified) => None,
        Ok(pb::OsType::Ios) => Some(wire::OsType::Ios),
        Ok(pb::OsType::Android) => Some(wire::OsType::Android),
    }
}

/// A `google.protobuf.Timestamp` as its definition allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, `nanos`
/// in 0..=999,999,999. Anything else is not a time, and would otherwise be silently read as "no bound".
fn timestamp(v: &mut Violations, field: &str, t: &Timestamp) -> Option<DateTime<Utc>> {
    const MIN_SECONDS: i64 = -62_135_596_800;
    const MAX_SECONDS: i64 = 253_402_300_799;
    let time = (MIN_SECONDS..=MAX_SECONDS)
        .contains(&t.seconds)
        .then(|| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
        .flatten()
        .filter(|_| t.nanos < 1_000_000_000);
    if time.is_none() {
        v.push(
            field,
            "must be a valid timestamp (years 1 to 9999, nanos 0 to 999999999)",
        );
    }
    time
}

/// A page of a list: `page_size` 0 (the default) to [`MAX_PAGE_SIZE`]; the token is checked by the store, which
/// issued it.
fn page(v: &mut Violations, page_size: i32, page_token: &str) -> Option<engine::PageRequest> {
    let size = u32::try_from(page_size)
        .ok()
        .and_then(engine::PageSize::new);
    if size.is_none() {
        v.push(
            "page_size",
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        );
    }
    Some(engine::PageRequest {
        page_size: size?,
        page_token: (!page_token.is_empty()).then(|| page_token.to_owned()),
    })
}

/// The caller's `metadata` map, checked in key order so the violations come out the same on every call.
fn metadata(
    v: &mut Violations,
    entries: &std::collections::HashMap<String, String>,
) -> Option<engine::Metadata> {
    let sorted: std::collections::BTreeMap<_, _> = entries.iter().collect();
    engine::Metadata::check(v, "metadata", sorted)
}

/// A capture mode; UNSPECIFIED is `None` (the engine's default applies).
fn capture_mode(v: &mut Violations, value: i32) -> Option<wire::CaptureMode> {
    match pb::CaptureMode::try_from(value) {
        Err(_) => {
            v.push("capture_mode", "unknown capture mode");
            None
        }
        Ok(pb::CaptureMode::Unspecified) => None,
        Ok(pb::CaptureMode::Automatic) => Some(wire::CaptureMode::Automatic),
        Ok(pb::CaptureMode::Manual) => Some(wire::CaptureMode::Manual),
    }
}

/// Alipay's spelling of a proto product code filter (`AGREEMENT_PAYMENT`, ...): UNSPECIFIED (no filter) is
/// `Ok(None)`.
fn product_code_filter(v: &mut Violations, value: i32) -> Result<Option<engine::ProductCode>, ()> {
    match pb::ProductCode::try_from(value) {
        Err(_) => {
            v.push("product_code", "unknown product code");
            Err(())
        }
        Ok(pb::ProductCode::Unspecified) => Ok(None),
        Ok(pb::ProductCode::AgreementPayment) => Ok(Some(engine::ProductCode::AgreementPayment)),
        Ok(pb::ProductCode::InStorePayment) => Ok(Some(engine::ProductCode::InStorePayment)),
        Ok(pb::ProductCode::CashierPayment) => Ok(Some(engine::ProductCode::CashierPayment)),
    }
}

#[cfg(test)]
mod tests;
