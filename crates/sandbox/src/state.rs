//! The sandbox's in-memory world: authorization sessions and codes, tokens, payments and their follow-up
//! operations. One mutex guards it all; handlers never hold it across an `.await`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::codes::Code;
use crate::issuer::{Authentication, CardProfile, Decline, ThreeDs};
use crate::scenario::Countdown;
use crate::stats::Stats;
use crate::validate::Amount;
use crate::wallets::TestUser;

/// A consult call waiting for the buyer on the H5 page.
#[derive(Debug, Clone)]
pub struct AuthSession {
    pub client_id: String,
    pub wallet: String,
    pub redirect_url: String,
    pub auth_state: String,
    pub scopes: Vec<String>,
    /// Where notifyAuthorization goes (`authNotifyUrl`, else the configured notify URL).
    pub notify_url: Option<String>,
}

/// An authCode issued by the H5 page.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub wallet: String,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    /// The session's notify URL, passed on to the token.
    pub notify_url: Option<String>,
}

/// An access/refresh token pair (looked up by access token; `refresh_index` maps the refresh token here).
#[derive(Clone)]
pub struct Token {
    pub refresh_token: String,
    pub client_id: String,
    pub wallet: String,
    pub scopes: Vec<String>,
    pub user: TestUser,
    pub access_expires: DateTime<Utc>,
    pub refresh_expires: DateTime<Utc>,
    pub revoked: bool,
    /// Where TOKEN_CANCELED goes.
    pub notify_url: Option<String>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("refresh_token", &"<redacted>")
            .field("client_id", &self.client_id)
            .field("wallet", &self.wallet)
            .field("scopes", &self.scopes)
            .field("access_expires", &self.access_expires)
            .field("refresh_expires", &self.refresh_expires)
            .field("revoked", &self.revoked)
            .field("notify_url", &self.notify_url)
            .finish()
    }
}

/// `paymentStatus` as inquiryPayment reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaymentStatus {
    Success,
    Fail,
    #[default]
    Processing,
    Cancelled,
}

impl PaymentStatus {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Fail => "FAIL",
            Self::Processing => "PROCESSING",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// How a PROCESSING payment will move on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Nothing pending (final payments).
    #[default]
    Settled,
    /// The buyer has to act on the cashier page.
    AwaitingBuyer,
    /// Scenario 930NN / 931NN: answer PROCESSING to the countdown's inquiries, then settle.
    AfterInquiries(Countdown),
    /// Scenario 93200: processing until cancelled.
    UntilCancelled,
}

/// A card-style authorization (`paymentFactor.isAuthorization`): kept separate so card flows can extend it.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// `captureMode` MANUAL: funds are captured by explicit capture calls.
    pub manual_capture: bool,
    pub expires_at: DateTime<Utc>,
}

/// The kind of a follow-up operation on a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    Refund,
    Capture,
    Cancel,
}

impl OperationKind {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Refund => "REFUND",
            Self::Capture => "CAPTURE",
            Self::Cancel => "CANCEL",
        }
    }
}

/// Where an operation stands. Captures and cancellations are final when recorded; a refund of scenario 930NN /
/// 931NN is accepted as PROCESSING first and settles through inquiries, as Alipay's asynchronous refunds do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationState {
    Success,
    Processing(Countdown),
    /// Failed with this code; it moved no money.
    Fail(Code),
}

impl OperationState {
    /// `refundStatus` / `transactionStatus`.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Processing(_) => "PROCESSING",
            Self::Fail(_) => "FAIL",
        }
    }
}

/// A refund, capture or cancellation of a payment (an entry of inquiryPayment's `transactions`).
#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: OperationKind,
    pub id: String,
    pub request_id: Option<String>,
    pub client_id: String,
    pub payment_id: String,
    pub amount: Amount,
    /// When the operation was recorded, and once a PROCESSING refund settles, when it settled (`refundTime`).
    pub time: DateTime<Utc>,
    pub state: OperationState,
    /// The canonical request body, for REPEAT_REQ_INCONSISTENT.
    pub request: Value,
    /// Where its notification goes: a refund's `refundNotifyUrl`, a capture's payment's notify URL (else the
    /// configured one).
    pub notify_url: Option<String>,
}

/// A payment record: created once per (client, paymentRequestId).
#[derive(Debug, Clone, Default)]
pub struct Payment {
    pub payment_id: String,
    pub client_id: String,
    pub payment_request_id: String,
    pub product_code: String,
    pub method_type: String,
    pub amount: Amount,
    pub created_at: DateTime<Utc>,
    pub status: PaymentStatus,
    /// The result code of a FAIL (and PROCESS_FAIL etc.); unused otherwise.
    pub fail_code: Option<Code>,
    /// A specific failure message (e.g. why a token was refused); the code's default otherwise.
    pub fail_message: Option<String>,
    /// When the payment reached SUCCESS or FAIL.
    pub settled_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub progress: Progress,
    pub redirect_url: Option<String>,
    /// Scenario 94003: every pay answer for this payment carries a broken signature.
    pub corrupt_pay_signature: bool,
    pub customer: Option<(String, TestUser)>,
    pub authorization: Option<Authorization>,
    /// Where notifyPayment and notifyCapture go (`paymentNotifyUrl`, else the configured notify URL).
    pub notify_url: Option<String>,
    /// Follow-up operation ids, in order.
    pub operations: Vec<String>,
    /// The card side of a `CARD` payment.
    pub card: Option<CardPayment>,
}

impl Payment {
    /// Moves the payment to SUCCESS or FAIL.
    pub fn settle(&mut self, outcome: Result<(), (Code, Option<String>)>, now: DateTime<Utc>) {
        self.progress = Progress::Settled;
        self.settled_at = Some(now);
        match outcome {
            Ok(()) => self.status = PaymentStatus::Success,
            Err((code, message)) => {
                self.status = PaymentStatus::Fail;
                self.fail_code = Some(code);
                self.fail_message = message;
            }
        }
    }
}

/// What a card pay request asked for, kept on the payment (no card data).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CardRequest {
    /// The 3DS flags.
    pub auth: Authentication,
    /// `tokenize`: issue a cardToken on success.
    pub tokenize: bool,
}

/// The card side of a payment: what the issuer decided, and what pay, inquiry and notifications report. It
/// holds a [`CardProfile`], never the card number or CVV.
#[derive(Debug, Clone, Default)]
pub struct CardPayment {
    pub request: CardRequest,
    /// The card, once presented (a hosted payment has none until the card page is submitted).
    pub card: Option<CardProfile>,
    pub avs: Option<&'static str>,
    pub cvv: Option<&'static str>,
    pub three_ds: Option<ThreeDs>,
    pub refusal: Option<Decline>,
    /// Issue a token on success (`tokenize`, and on the hosted page the "save card" box).
    pub save: bool,
    /// The cardToken issued by, or charged in, this payment.
    pub token: Option<String>,
    pub network_transaction_id: Option<String>,
    pub authorization_code: Option<String>,
    pub rrn: Option<String>,
    pub ds_transaction_id: String,
}

/// A card saved by tokenization, charged later by `paymentMethodId=<cardToken>`.
#[derive(Debug, Clone)]
pub struct StoredCard {
    /// Only this client may charge it.
    pub client_id: String,
    pub card: CardProfile,
}

/// What the sandbox remembers about a paymentRequestId, even when no payment was created (92001/92003).
#[derive(Debug, Clone)]
pub struct PayAttempts {
    /// A keyed digest of the request body, for REPEAT_REQ_INCONSISTENT: the body may hold a card number and CVV,
    /// which the sandbox must not keep.
    pub request: [u8; 32],
    /// `paymentMethod.paymentMethodId` as presented (an access token, payment code or cardToken): a credential
    /// the leak scans look for ([`State::credentials`]).
    pub method_id: Option<String>,
    pub count: u32,
    pub payment_id: Option<String>,
}

/// The whole simulated world.
#[derive(Debug, Default)]
pub struct State {
    pub auth_sessions: HashMap<String, AuthSession>,
    pub auth_codes: HashMap<String, AuthCode>,
    pub tokens: HashMap<String, Token>,
    pub refresh_index: HashMap<String, String>,
    pub payments: HashMap<String, Payment>,
    pub pay_attempts: HashMap<(String, String), PayAttempts>,
    pub operations: HashMap<String, Operation>,
    pub operation_index: HashMap<(OperationKind, String, String), String>,
    /// Refund requests answered U with nothing recorded (scenario 92001), by (client, refundRequestId), with the
    /// body: their retry goes through, and a retry with other content is REPEAT_REQ_INCONSISTENT.
    pub unrecorded_refunds: HashMap<(String, String), Value>,
    /// Stored cards by cardToken.
    pub card_tokens: HashMap<String, StoredCard>,
    pub stats: Stats,
}

impl State {
    /// Every credential the sandbox issued or received: authCodes, access and refresh tokens, cardTokens, and the
    /// paymentMethodId of pay requests (an in-store payment code, a wallet access token, a cardToken). What a leak
    /// scan of the merchant side's logs looks for. (Card numbers are never kept: the scans know the test cards.)
    pub fn credentials(&self) -> Vec<String> {
        let issued = self
            .auth_codes
            .keys()
            .chain(self.card_tokens.keys())
            .cloned();
        let tokens = self
            .tokens
            .iter()
            .flat_map(|(access, token)| [access.clone(), token.refresh_token.clone()]);
        let presented = self
            .pay_attempts
            .values()
            .filter_map(|attempt| attempt.method_id.clone());
        issued.chain(tokens).chain(presented).collect()
    }

    /// A client's payment by paymentId (wins) or paymentRequestId.
    pub fn find_payment_id(
        &self,
        client_id: &str,
        payment_id: Option<&str>,
        payment_request_id: Option<&str>,
    ) -> Option<String> {
        if let Some(id) = payment_id {
            return self
                .payments
                .get(id)
                .filter(|p| p.client_id == client_id)
                .map(|p| p.payment_id.clone());
        }
        let key = (client_id.to_owned(), payment_request_id?.to_owned());
        self.pay_attempts.get(&key)?.payment_id.clone()
    }

    /// The operations of a payment of one kind.
    pub fn operations_of(
        &self,
        payment: &Payment,
        kind: OperationKind,
    ) -> impl Iterator<Item = &Operation> {
        payment
            .operations
            .iter()
            .filter_map(|id| self.operations.get(id))
            .filter(move |op| op.kind == kind)
    }
}

/// A new opaque id: a timestamp prefix (like Alipay's ids) and 128 random bits.
pub fn new_id(now: DateTime<Utc>) -> String {
    format!(
        "{}{}",
        now.format("%Y%m%d%H%M%S"),
        uuid::Uuid::new_v4().simple()
    )
}

/// ISO-8601 with offset, to the second, as Alipay formats times.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}
