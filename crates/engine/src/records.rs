//! The engine's records of payments, refunds and captures: what callers of the engine read, in domain types. They
//! are built from the store's rows at the engine boundary, so a column added for bookkeeping (versions,
//! fingerprints, internal ids) or a change of how the store keeps a value never reaches the gRPC edge.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use store::bindings::Binding;
use store::captures::Capture;
use store::card_facts::CardFacts;
use store::payments::Payment;
use store::refunds::Refund;
use store::{
    BindingStatus, CaptureMode, NextAction, OperationStatus, PaymentStatus, ProductCode,
    ResultStatus, Wallet,
};

/// Alipay's last `result` envelope for a payment, refund or capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayResult {
    /// S, F or U.
    pub status: ResultStatus,
    /// `resultCode` (or the gateway's `OUTCOME_UNKNOWN` / `NOT_DELIVERED` / `NOT_SENT` when no answer came).
    pub code: String,
    /// `resultMessage`, when there was one.
    pub message: Option<String>,
}

impl AlipayResult {
    fn from_columns(
        status: Option<ResultStatus>,
        code: Option<&String>,
        message: Option<&String>,
    ) -> Option<Self> {
        Some(Self {
            status: status?,
            code: code?.clone(),
            message: message.cloned(),
        })
    }
}

/// The card facts of a card payment as Alipay reported them (masked and derived data only: there is no PAN or CVV
/// anywhere in the gateway).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardSummary {
    /// Masked card number.
    pub masked_card_no: Option<String>,
    /// Card scheme.
    pub brand: Option<String>,
    /// Last four digits.
    pub last_four: Option<String>,
    /// Expiry month, `MM`.
    pub expiry_month: Option<String>,
    /// Expiry year as Alipay reports it.
    pub expiry_year: Option<String>,
    /// The gateway's id of the stored card the payment used or created (Alipay's cardToken stays sealed).
    pub card_token: Option<String>,
    /// The issuing bank's name.
    pub issuer_name: Option<String>,
    /// ISO 3166-1 alpha-2 issuing country.
    pub issuing_country: Option<String>,
    /// CREDIT, DEBIT, PREPAID...
    pub funding: Option<String>,
    /// The scheme's transaction id.
    pub network_transaction_id: Option<String>,
}

/// A payment as the engine answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    /// The caller's idempotency key.
    pub payment_request_id: String,
    /// Alipay's `paymentId`, once an answer carried it.
    pub alipay_payment_id: Option<String>,
    /// The Alipay product.
    pub product_code: ProductCode,
    /// Where the payment stands.
    pub status: PaymentStatus,
    /// Minor units of `currency`.
    pub amount_value: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// The merchant's order id.
    pub reference_order_id: Option<String>,
    /// The paying customer, when known.
    pub customer_id: Option<String>,
    /// The binding of an agreement payment.
    pub binding_id: Option<String>,
    /// The wallet paid with.
    pub wallet: Wallet,
    /// An authorization (captured later) rather than a sale.
    pub is_authorization: bool,
    /// How the authorization is captured.
    pub capture_mode: Option<CaptureMode>,
    /// Alipay's last answer.
    pub last_result: Option<AlipayResult>,
    /// What the buyer must do next; only a PROCESSING payment keeps one.
    pub next_action: Option<NextAction>,
    /// When the gateway recorded the intent.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// Alipay's `paymentTime`.
    pub payment_time: Option<DateTime<Utc>>,
    /// The caller's `paymentExpiryTime`.
    pub payment_expiry_time: Option<DateTime<Utc>>,
    /// Alipay's `authExpiryTime`: the capture deadline of an authorization.
    pub auth_expiry_time: Option<DateTime<Utc>>,
    /// Alipay's `paymentCreateTime`.
    pub payment_create_time: Option<DateTime<Utc>>,
    /// Alipay's `cancelTime`, when its cancel answer gave one.
    pub cancel_time: Option<DateTime<Utc>>,
    /// The card facts of a card payment.
    pub card: Option<CardSummary>,
    /// The caller's metadata.
    pub metadata: BTreeMap<String, String>,
    /// `merchantRegion` the payment was made for.
    pub merchant_region: Option<String>,
}

impl PaymentRecord {
    /// Alipay's last `resultCode`, if any.
    pub fn result_code(&self) -> Option<&str> {
        self.last_result.as_ref().map(|r| r.code.as_str())
    }
}

impl CardSummary {
    /// The summary of a card payment's recorded facts; the masked number, which the store does not keep, from
    /// the payment's columns.
    fn of(p: &Payment, facts: &CardFacts) -> Self {
        Self {
            masked_card_no: p.card_masked_no.clone(),
            brand: facts.card.brand.clone(),
            last_four: facts.card.last_four.clone(),
            expiry_month: facts.card.expiry_month.clone(),
            expiry_year: facts.card.expiry_year.clone(),
            card_token: facts.card_token_id.clone(),
            issuer_name: facts.issuer_name.clone(),
            issuing_country: facts.card.issuing_country.clone(),
            funding: facts.card.funding.clone(),
            network_transaction_id: facts.network_transaction_id.clone(),
        }
    }
}

impl PaymentRecord {
    /// `p` with the summary of its card facts, which live beside the payment (`payment_card_facts`); callers
    /// read the facts of a whole page in one query.
    pub(crate) fn with_card_facts(p: &Payment, facts: Option<&CardFacts>) -> Self {
        let mut record = Self::from(p);
        if let Some(facts) = facts {
            record.card = Some(CardSummary::of(p, facts));
        }
        record
    }
}

impl From<&Payment> for PaymentRecord {
    fn from(p: &Payment) -> Self {
        let card = [&p.card_masked_no, &p.card_last_four, &p.card_token]
            .iter()
            .any(|c| c.is_some())
            .then(|| CardSummary {
                masked_card_no: p.card_masked_no.clone(),
                brand: p.card_brand.clone(),
                last_four: p.card_last_four.clone(),
                card_token: p.card_token.clone(),
                issuing_country: p.card_issuing_country.clone(),
                funding: p.card_funding.clone(),
                network_transaction_id: p.network_transaction_id.clone(),
                ..CardSummary::default()
            });
        Self {
            payment_request_id: p.payment_request_id.clone(),
            alipay_payment_id: p.alipay_payment_id.clone(),
            product_code: p.product_code,
            status: p.status,
            amount_value: p.amount_value,
            currency: p.currency.clone(),
            reference_order_id: p.order_reference_id.clone(),
            customer_id: p.customer_id.clone(),
            binding_id: p.binding_id.clone(),
            wallet: p.payment_method_type,
            is_authorization: p.is_authorization,
            capture_mode: p.capture_mode,
            last_result: AlipayResult::from_columns(
                p.last_result_status,
                p.last_result_code.as_ref(),
                p.last_result_message.as_ref(),
            ),
            next_action: p.next_action.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            payment_time: p.payment_time,
            payment_expiry_time: p.payment_expiry_time,
            auth_expiry_time: p.auth_expiry_time,
            payment_create_time: p.payment_create_time,
            cancel_time: p.cancel_time,
            card,
            metadata: p.metadata_map(),
            merchant_region: p.merchant_region.clone(),
        }
    }
}

/// A refund or a capture as the engine answers it (both follow Alipay's S/F/U envelope the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRecord {
    /// The caller's idempotency key (`refund_request_id` / `capture_request_id`).
    pub request_id: String,
    /// Alipay's `refundId` / `captureId`, once an answer carried it.
    pub alipay_id: Option<String>,
    /// Where it stands.
    pub status: OperationStatus,
    /// Minor units of `currency`.
    pub amount_value: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Alipay's last answer.
    pub last_result: Option<AlipayResult>,
    /// When the gateway recorded the intent.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
}

impl OperationRecord {
    /// Alipay's last `resultCode`, if any.
    pub fn result_code(&self) -> Option<&str> {
        self.last_result.as_ref().map(|r| r.code.as_str())
    }
}

/// A refund as the engine answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    /// Request id, Alipay id, status, amount, result and times.
    pub operation: OperationRecord,
    /// The caller's refund reason.
    pub reason: Option<String>,
}

/// A capture as the engine answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRecord {
    /// Request id, Alipay id, status, amount, result and times.
    pub operation: OperationRecord,
    /// Whether the caller said no capture follows.
    pub is_last_capture: bool,
}

/// Builds the shared part of a refund or capture record from a store row whose columns follow the shared layout.
macro_rules! operation_record {
    ($row:expr, $request_id:ident, $alipay_id:ident) => {
        OperationRecord {
            request_id: $row.$request_id.clone(),
            alipay_id: $row.$alipay_id.clone(),
            status: $row.status,
            amount_value: $row.amount_value,
            currency: $row.currency.clone(),
            last_result: AlipayResult::from_columns(
                $row.last_result_status,
                $row.last_result_code.as_ref(),
                $row.last_result_message.as_ref(),
            ),
            created_at: $row.created_at,
            updated_at: $row.updated_at,
        }
    };
}

impl From<&Refund> for RefundRecord {
    fn from(r: &Refund) -> Self {
        Self {
            operation: operation_record!(r, refund_request_id, alipay_refund_id),
            reason: r.reason.clone(),
        }
    }
}

impl From<&Capture> for CaptureRecord {
    fn from(c: &Capture) -> Self {
        Self {
            operation: operation_record!(c, capture_request_id, alipay_capture_id),
            is_last_capture: c.is_last_capture,
        }
    }
}

/// A wallet binding as the engine answers it: never its tokens (they stay inside the gateway), only when they
/// expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRecord {
    /// The gateway's binding id, which agreement payments name.
    pub id: String,
    /// The customer who bound the wallet.
    pub customer_id: String,
    /// The wallet bound.
    pub wallet: Wallet,
    /// The scopes granted, in Alipay's spelling.
    pub scopes: Vec<String>,
    /// ACTIVE, EXPIRED or REVOKED.
    pub status: BindingStatus,
    /// When the access token expires (the gateway refreshes it before).
    pub access_token_expires_at: DateTime<Utc>,
    /// When the refresh token expires, if there is one.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// The wallet user's login id, when the scopes allow it.
    pub user_login_id: Option<String>,
    /// `merchantRegion` the authorization was made for.
    pub merchant_region: Option<String>,
    /// When the binding was stored.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Binding> for BindingRecord {
    fn from(b: &Binding) -> Self {
        Self {
            id: b.id.clone(),
            customer_id: b.customer_id.clone(),
            wallet: b.wallet,
            scopes: b.scopes.clone(),
            status: b.status,
            access_token_expires_at: b.credentials.access_token_expires_at,
            refresh_token_expires_at: b.credentials.refresh_token_expires_at,
            user_login_id: b.user_login_id.clone(),
            merchant_region: b.merchant_region.clone(),
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// The stored wallet of a checked one: the same list, spelled the same way (exhaustive, so a wallet added to one
/// list and not the other does not compile).
pub fn stored_wallet(wallet: alipay::checked::Wallet) -> store::Wallet {
    match wallet {
        alipay::checked::Wallet::AlipayCn => store::Wallet::AlipayCn,
        alipay::checked::Wallet::AlipayHk => store::Wallet::AlipayHk,
        alipay::checked::Wallet::Gcash => store::Wallet::Gcash,
        alipay::checked::Wallet::Dana => store::Wallet::Dana,
        alipay::checked::Wallet::Truemoney => store::Wallet::Truemoney,
        alipay::checked::Wallet::Tng => store::Wallet::Tng,
        alipay::checked::Wallet::Kakaopay => store::Wallet::Kakaopay,
        alipay::checked::Wallet::Bkash => store::Wallet::Bkash,
        alipay::checked::Wallet::Easypaisa => store::Wallet::Easypaisa,
        alipay::checked::Wallet::ConnectWallet => store::Wallet::ConnectWallet,
    }
}
