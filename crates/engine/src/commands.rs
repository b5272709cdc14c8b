//! Commands the gRPC layer hands to the engine, parsed from the requests once (`src/grpc/parse`). Every field that
//! Alipay limits is an [`alipay::checked`] value, so a command cannot hold a field Alipay would refuse; the engine
//! checks only the rules that span fields (`validate.rs`). Commands serialise (for request fingerprints, byte for
//! byte as the plain strings they replace) but never log their credentials: payment and auth codes redact.

use std::collections::BTreeMap;
use std::ops::Deref;

use alipay::checked::{
    AuthCode, CustomerId, HttpsUrl, Money, PaymentCode, RegionCode, RequestId, Scopes, Text, Wallet,
};
use alipay::limits::{
    MAX_AUTH_REDIRECT_URL_LEN, MAX_AUTH_STATE_LEN, MAX_OS_VERSION_LEN, MAX_REFUND_REASON_LEN,
};
use alipay::model::{CaptureMode, Env, Order, OsType, TerminalType};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::EngineError;
use crate::limits::{
    MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LEN, MAX_METADATA_VALUE_LEN, Violations,
};

/// Start wallet authorization: returns the URLs the user opens to authorize this merchant.
#[derive(Debug, Clone, Serialize)]
pub struct ConsultCommand {
    /// Our customer the binding will belong to, when the caller knows it: only logged (Alipay's consult has no
    /// customer, and the binding is created later by applyToken).
    pub customer_id: Option<CustomerId>,
    /// Wallet (`customerBelongsTo`), e.g. `GCASH`.
    pub wallet: Wallet,
    /// Where the wallet redirects the user with `authCode` and `authState`.
    pub auth_redirect_url: HttpsUrl<MAX_AUTH_REDIRECT_URL_LEN>,
    /// Opaque state echoed back on the redirect.
    pub auth_state: Text<MAX_AUTH_STATE_LEN>,
    /// Requested scopes, e.g. `AGREEMENT_PAY`, `USER_INFO` (Alipay requires at least one).
    pub scopes: Scopes,
    /// Terminal the user authorizes on.
    pub terminal_type: TerminalType,
    /// OS (required unless WEB).
    pub os_type: Option<OsType>,
    /// OS version.
    pub os_version: Option<Text<MAX_OS_VERSION_LEN>>,
    /// Merchant region, when the contract needs it.
    pub merchant_region: Option<RegionCode>,
}

/// The authorization URLs returned by consult: at least one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsultOutcome {
    /// H5 authorization page.
    pub auth_url: Option<String>,
    /// Web page URL.
    pub normal_url: Option<String>,
    /// App scheme URL.
    pub scheme_url: Option<String>,
    /// Universal / app link.
    pub applink_url: Option<String>,
    /// App identifier for the scheme URL.
    pub app_identifier: Option<String>,
}

/// Exchange an authCode for tokens and store the binding.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyTokenCommand {
    /// Our customer the binding belongs to.
    pub customer_id: CustomerId,
    /// Wallet the authCode came from.
    pub wallet: Wallet,
    /// The one-time authCode from the redirect; its fingerprint is the idempotency key of the exchange.
    pub auth_code: AuthCode,
    /// The scopes the consult asked for; recorded so `inquire_user_info` can refuse a binding without
    /// BASE_USER_INFO / USER_INFO before calling Alipay.
    pub scopes: Scopes,
    /// `merchantRegion` of the authorization (as given at consult); kept with the binding and repeated on every
    /// token refresh.
    pub merchant_region: Option<RegionCode>,
}

/// Where the money comes from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaySource {
    /// Auto debit (`AGREEMENT_PAYMENT`) with a stored wallet binding's access token.
    Agreement {
        /// The binding to charge.
        binding_id: CustomerId,
    },
    /// User-presented payment code (`IN_STORE_PAYMENT`).
    InStore {
        /// The scanned code.
        payment_code: PaymentCode,
    },
    /// One-time redirect payment (`CASHIER_PAYMENT`): the answer carries the cashier URL.
    Cashier {
        /// Wallet (`paymentMethodType`).
        wallet: Wallet,
        /// Where the buyer returns after paying.
        redirect_url: HttpsUrl,
    },
    /// A card authorization (`CASHIER_PAYMENT`, `paymentMethodType` CARD): new card data, a stored card or the
    /// hosted card page.
    Card(Box<crate::card::CardPay>),
}

/// Charge a customer. `payment_request_id` is the idempotency key end to end (ours and Alipay's).
#[derive(Debug, Clone, Serialize)]
pub struct PayCommand {
    /// Idempotency key, sent to Alipay as `paymentRequestId`.
    pub payment_request_id: RequestId,
    /// Amount to charge.
    pub amount: Money,
    /// Order shown to the user and used for risk control.
    pub order: Order,
    /// Payment environment.
    pub env: Option<Env>,
    /// Source of funds.
    pub source: PaySource,
    /// The caller's customer, stored for ListPayments. For an agreement payment it must be the binding's
    /// customer, which it defaults to.
    pub customer_id: Option<CustomerId>,
    /// Override of the notification URL.
    pub payment_notify_url: Option<HttpsUrl>,
    /// Merchant region, when the contract needs it; sent as `merchantRegion` and stored with the payment.
    pub merchant_region: Option<RegionCode>,
    /// Caller metadata stored with the payment and never sent to Alipay. Part of the request fingerprint.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: Metadata,
    /// Authorize only (`paymentFactor.isAuthorization`): the money is held and taken later with
    /// [`crate::Engine::capture`] when `capture_mode` is MANUAL. `false` is a sale.
    // Defaults are left out of the fingerprint so requests recorded before these fields existed still match.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_authorization: bool,
    /// Capture mode of an authorization (`paymentFactor.captureMode`); `None` lets Alipay capture automatically.
    /// Only allowed together with `is_authorization`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_mode: Option<CaptureMode>,
    /// Latest time the payment may succeed (`paymentExpiryTime`), cashier payments only: in the future and at most
    /// [`alipay::limits::MAX_PAYMENT_EXPIRY_AHEAD`] ahead. `None` keeps Alipay's default (about 14 minutes). The
    /// reconciler keeps inquiring a payment waiting for the buyer until then, and cancels it afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_expiry_time: Option<DateTime<Utc>>,
}

/// Refund (part of) a successful payment. `refund_request_id` is the idempotency key.
#[derive(Debug, Clone, Serialize)]
pub struct RefundCommand {
    /// Idempotency key, sent to Alipay as `refundRequestId`.
    pub refund_request_id: RequestId,
    /// The payment to refund.
    pub payment_request_id: RequestId,
    /// Amount to refund (same currency as the payment).
    pub amount: Money,
    /// Reason shown to the user.
    pub reason: Option<Text<MAX_REFUND_REASON_LEN>>,
}

/// Capture an authorized payment. `capture_request_id` is the idempotency key.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureCommand {
    /// Idempotency key, sent to Alipay as `captureRequestId`.
    pub capture_request_id: RequestId,
    /// The authorized payment.
    pub payment_request_id: RequestId,
    /// Amount to capture.
    pub amount: Money,
    /// Whether this is the final capture of the authorization.
    pub is_last_capture: bool,
}

/// What `inquiryUserInfo` tells about the wallet user of a binding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// Wallet user id.
    pub user_id: Option<String>,
    /// Login id (often masked).
    pub user_login_id: Option<String>,
    /// Hashed login id.
    pub hash_user_login_id: Option<String>,
}

/// Caller metadata of a payment (the gateway's own limits, never sent to Alipay): at most
/// [`MAX_METADATA_ENTRIES`] entries with non-blank keys of at most [`MAX_METADATA_KEY_LEN`] and values of at most
/// [`MAX_METADATA_VALUE_LEN`] characters, none holding control characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    /// Checks `entries` as the `metadata` field of a request.
    pub fn new<K: AsRef<str>, V: AsRef<str>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let metadata = Self::collect(&mut v, "metadata", entries);
        v.finish(metadata)
    }

    /// Checks `entries` as the map `field`, recording every violation in `v`; `None` when any was found.
    pub fn check<K: AsRef<str>, V: AsRef<str>>(
        v: &mut Violations,
        field: &str,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Option<Self> {
        let before = v.len();
        let metadata = Self::collect(v, field, entries);
        (v.len() == before).then_some(metadata)
    }

    /// The map of `entries`, with every violation recorded in `v`. A too-long key is quoted shortened so the error
    /// stays small.
    fn collect<K: AsRef<str>, V: AsRef<str>>(
        v: &mut Violations,
        field: &str,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut map = BTreeMap::new();
        let problem = |v: &mut Violations, field: String, description: String| {
            v.push(field, description);
        };
        for (key, value) in entries {
            let (key, value) = (key.as_ref(), value.as_ref());
            let shown: String = key.chars().take(MAX_METADATA_KEY_LEN).collect();
            let key_len = key.chars().count();
            if key.trim().is_empty() {
                problem(v, field.to_owned(), "keys must not be blank".into());
            } else if key.chars().chain(value.chars()).any(char::is_control) {
                problem(
                    v,
                    format!("{field}[{}]", shown.escape_debug()),
                    "keys and values must not contain control characters".into(),
                );
            } else if key_len > MAX_METADATA_KEY_LEN {
                problem(
                    v,
                    field.to_owned(),
                    format!(
                        "key {shown:?}... must be at most {MAX_METADATA_KEY_LEN} characters (got {key_len})"
                    ),
                );
            }
            let value_len = value.chars().count();
            if value_len > MAX_METADATA_VALUE_LEN {
                problem(
                    v,
                    format!("{field}[{shown}]"),
                    format!(
                        "must be at most {MAX_METADATA_VALUE_LEN} characters (got {value_len})"
                    ),
                );
            }
            map.insert(key.to_owned(), value.to_owned());
        }
        if map.len() > MAX_METADATA_ENTRIES {
            problem(
                v,
                field.to_owned(),
                format!("at most {MAX_METADATA_ENTRIES} entries (got {})", map.len()),
            );
        }
        Self(map)
    }
}

impl Deref for Metadata {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_limits() {
        let ok: BTreeMap<String, String> = (0..MAX_METADATA_ENTRIES)
            .map(|i| (format!("{i:0>40}"), "v".repeat(MAX_METADATA_VALUE_LEN)))
            .collect();
        assert!(Metadata::new(&ok).is_ok());

        let mut too_many = ok.clone();
        too_many.insert("one-more".into(), String::new());
        let mut v = Violations::new();
        assert!(Metadata::check(&mut v, "metadata", &too_many).is_none());
        assert_eq!(v.into_vec().len(), 1);

        let bad: std::collections::HashMap<String, String> = [
            ("k".repeat(MAX_METADATA_KEY_LEN + 1), "v".into()),
            (" ".into(), "v".into()),
            ("long".into(), "v".repeat(MAX_METADATA_VALUE_LEN + 1)),
            ("nul".into(), "a\0b".into()),
        ]
        .into_iter()
        .collect();
        let mut v = Violations::new();
        assert!(Metadata::check(&mut v, "metadata", &bad).is_none());
        let got = v.into_vec();
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got.iter().any(|g| g.field == "metadata[long]"));
        assert!(got.iter().any(|g| g.field == "metadata[nul]"));
    }
}
