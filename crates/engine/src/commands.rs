//! Commands the gRPC layer hands to the engine. They serialise (for request fingerprints) but are never logged with
//! their credentials: payment codes and auth codes are `alipay::Secret`, whose `Debug` redacts.

use std::collections::BTreeMap;

use alipay::model::{Amount, CaptureMode, Env, Order, OsType, Scope, Secret, TerminalType};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Start wallet authorization: returns the URLs the user opens to authorize this merchant.
#[derive(Debug, Clone, Serialize)]
pub struct ConsultCommand {
    /// Our customer the binding will belong to, when the caller knows it: only logged (Alipay's consult has no
    /// customer, and the binding is created later by applyToken).
    pub customer_id: Option<String>,
    /// Wallet (`customerBelongsTo`), e.g. `GCASH`.
    pub wallet: String,
    /// Where the wallet redirects the user with `authCode` and `authState` (≤1024).
    pub auth_redirect_url: String,
    /// Opaque state echoed back on the redirect (≤256).
    pub auth_state: String,
    /// Requested scopes (1..=4), e.g. `AGREEMENT_PAY`, `USER_INFO`.
    pub scopes: Vec<Scope>,
    /// Terminal the user authorizes on.
    pub terminal_type: TerminalType,
    /// OS (required unless WEB).
    pub os_type: Option<OsType>,
    /// OS version (≤16).
    pub os_version: Option<String>,
    /// Merchant region, when the contract needs it.
    pub merchant_region: Option<String>,
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
    pub customer_id: String,
    /// Wallet the authCode came from.
    pub wallet: String,
    /// The one-time authCode from the redirect; its fingerprint is the idempotency key of the exchange.
    pub auth_code: Secret,
    /// The scopes the consult asked for; recorded so `inquire_user_info` can refuse a binding without
    /// BASE_USER_INFO / USER_INFO before calling Alipay.
    pub scopes: Vec<Scope>,
    /// `merchantRegion` of the authorization (as given at consult); kept with the binding and repeated on every
    /// token refresh.
    pub merchant_region: Option<String>,
}

/// Where the money comes from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaySource {
    /// Auto debit (`AGREEMENT_PAYMENT`) with a stored wallet binding's access token.
    Agreement {
        /// The binding to charge.
        binding_id: String,
    },
    /// User-presented payment code (`IN_STORE_PAYMENT`).
    InStore {
        /// The scanned code (16-24 digits starting 25-30).
        payment_code: Secret,
    },
    /// One-time redirect payment (`CASHIER_PAYMENT`): the answer carries the cashier URL.
    Cashier {
        /// Wallet (`paymentMethodType`).
        wallet: String,
        /// Where the buyer returns after paying (≤2048).
        redirect_url: String,
    },
}

/// Charge a customer. `payment_request_id` is the idempotency key end to end (ours and Alipay's).
#[derive(Debug, Clone, Serialize)]
pub struct PayCommand {
    /// Idempotency key (≤64), sent to Alipay as `paymentRequestId`.
    pub payment_request_id: String,
    /// Amount to charge.
    pub amount: Amount,
    /// Order shown to the user and used for risk control.
    pub order: Order,
    /// Payment environment.
    pub env: Option<Env>,
    /// Source of funds.
    pub source: PaySource,
    /// The caller's customer (≤64), stored for ListPayments. For an agreement payment it must be the binding's
    /// customer, which it defaults to.
    pub customer_id: Option<String>,
    /// Override of the notification URL (≤2048).
    pub payment_notify_url: Option<String>,
    /// Merchant region, when the contract needs it; sent as `merchantRegion` and stored with the payment.
    pub merchant_region: Option<String>,
    /// Caller metadata stored with the payment and never sent to Alipay (limits in [`crate::limits`]: at most
    /// [`crate::limits::MAX_METADATA_ENTRIES`] entries, keys ≤ [`crate::limits::MAX_METADATA_KEY_LEN`], values ≤
    /// [`crate::limits::MAX_METADATA_VALUE_LEN`] characters). Part of the request fingerprint.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
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
    /// [`crate::limits::MAX_PAYMENT_EXPIRY_AHEAD`] ahead. `None` keeps Alipay's default (about 14 minutes). The
    /// reconciler keeps inquiring a payment waiting for the buyer until then, and cancels it afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_expiry_time: Option<DateTime<Utc>>,
}

/// Refund (part of) a successful payment. `refund_request_id` is the idempotency key.
#[derive(Debug, Clone, Serialize)]
pub struct RefundCommand {
    /// Idempotency key (≤64), sent to Alipay as `refundRequestId`.
    pub refund_request_id: String,
    /// The payment to refund.
    pub payment_request_id: String,
    /// Amount to refund (same currency as the payment).
    pub amount: Amount,
    /// Reason shown to the user (≤256).
    pub reason: Option<String>,
}

/// Capture an authorized payment. `capture_request_id` is the idempotency key.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureCommand {
    /// Idempotency key (≤64), sent to Alipay as `captureRequestId`.
    pub capture_request_id: String,
    /// The authorized payment.
    pub payment_request_id: String,
    /// Amount to capture.
    pub amount: Amount,
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
