//! `payments/pay`, `inquiryPayment`, `cancel`, `capture`, `refund`, `inquiryRefund`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::card::CardPaymentMethodMetaData;
use super::card_result::PaymentResultInfo;
use super::common::{Amount, Env, Order, PspCustomerInfo, ResultInfo, Secret};
use super::serde_helpers::opt_bool;
use crate::result_code::ResultCode;

/// The payment product; decides the flow (and, for in-store, the path prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProductCode {
    /// One-time payment through the wallet/cashier page.
    CashierPayment,
    /// Tokenized auto-debit with an access token.
    AgreementPayment,
    /// In-store (payment code / order code / entry code).
    InStorePayment,
}

/// `paymentMethod`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod {
    /// `CARD`, `GCASH`, `ALIPAY_CN`, `CONNECT_WALLET`, …
    pub payment_method_type: String,
    /// accessToken (AGREEMENT_PAYMENT), cardToken (stored card) or payment code (in-store): a credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<Secret>,
    /// Card data for `CARD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_meta_data: Option<CardPaymentMethodMetaData>,
    /// Customer id at the method provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// KR cards: require issuer authentication.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub require_issuer_authentication: Option<bool>,
    /// Extension data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl fmt::Debug for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentMethod")
            .field("payment_method_type", &self.payment_method_type)
            .field("payment_method_id", &self.payment_method_id)
            .field("payment_method_meta_data", &self.payment_method_meta_data)
            .finish_non_exhaustive()
    }
}

impl PaymentMethod {
    /// A method identified by its type only (cashier payments, hosted card page).
    pub fn of_type(payment_method_type: impl Into<String>) -> Self {
        Self {
            payment_method_type: payment_method_type.into(),
            payment_method_id: None,
            payment_method_meta_data: None,
            customer_id: None,
            require_issuer_authentication: None,
            extend_info: None,
        }
    }

    /// A card payment with the card data (`paymentMethodType=CARD`).
    pub fn card(meta: CardPaymentMethodMetaData) -> Self {
        Self {
            payment_method_meta_data: Some(meta),
            ..Self::of_type("CARD")
        }
    }

    /// A stored-card charge: `paymentMethodId=<cardToken>` with `isCardOnFile:true` set on `meta` (which holds
    /// `recurringType` and `networkTransactionId` for merchant-initiated charges).
    pub fn stored_card(card_token: impl Into<Secret>, meta: CardPaymentMethodMetaData) -> Self {
        Self {
            payment_method_id: Some(card_token.into()),
            payment_method_meta_data: Some(CardPaymentMethodMetaData {
                is_card_on_file: Some(true),
                ..meta
            }),
            ..Self::of_type("CARD")
        }
    }

    /// A tokenized wallet payment with the access token from applyToken.
    pub fn with_id(payment_method_type: impl Into<String>, id: impl Into<Secret>) -> Self {
        Self {
            payment_method_id: Some(id.into()),
            ..Self::of_type(payment_method_type)
        }
    }
}

/// Capture mode for card authorizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaptureMode {
    /// Captured automatically.
    Automatic,
    /// The merchant calls capture.
    Manual,
}

/// `paymentFactor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFactor {
    /// Card authorization (capture later).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub is_authorization: Option<bool>,
    /// Capture mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_mode: Option<CaptureMode>,
    /// Payment evaluation.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub is_payment_evaluation: Option<bool>,
    /// In-store scenario: `PaymentCode` / `OrderCode` / `EntryCode` (mixed case on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_store_payment_scenario: Option<String>,
    /// Presentment mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentment_mode: Option<String>,
}

/// `settlementStrategy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementStrategy {
    /// Settlement currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_currency: Option<String>,
}

/// Request of `/v1/payments/pay`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayRequest {
    /// Product.
    pub product_code: ProductCode,
    /// Idempotency key, ≤64.
    pub payment_request_id: String,
    /// Amount to charge.
    pub payment_amount: Amount,
    /// Order.
    pub order: Order,
    /// Payment method.
    pub payment_method: PaymentMethod,
    /// Environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Env>,
    /// Payment factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_factor: Option<PaymentFactor>,
    /// Settlement strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_strategy: Option<SettlementStrategy>,
    /// notifyPayment URL, ≤2048.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_notify_url: Option<String>,
    /// Buyer return URL, ≤2048.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_redirect_url: Option<String>,
    /// Expiry (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_expiry_time: Option<String>,
    /// Merchant region (GAGW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_region: Option<String>,
    /// User region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_region: Option<String>,
    /// Mini-app id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Merchant account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_account_id: Option<String>,
    /// Top-level authorization flag (Java/Python SDKs).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub is_authorization: Option<bool>,
    /// Extension data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl PayRequest {
    /// A request with the required fields only.
    pub fn new(
        product_code: ProductCode,
        payment_request_id: impl Into<String>,
        payment_amount: Amount,
        order: Order,
        payment_method: PaymentMethod,
    ) -> Self {
        Self {
            product_code,
            payment_request_id: payment_request_id.into(),
            payment_amount,
            order,
            payment_method,
            env: None,
            payment_factor: None,
            settlement_strategy: None,
            payment_notify_url: None,
            payment_redirect_url: None,
            payment_expiry_time: None,
            merchant_region: None,
            user_region: None,
            app_id: None,
            merchant_account_id: None,
            is_authorization: None,
            extend_info: None,
        }
    }
}

/// `redirectActionForm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectActionForm {
    /// GET / POST / SCAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Form parameters (POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    /// Target URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

/// Response of pay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayResponse {
    /// Result envelope.
    pub result: ResultInfo,
    /// Alipay's payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Echoed request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    /// Amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_amount: Option<Amount>,
    /// Amount actually charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_payment_amount: Option<Amount>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_create_time: Option<String>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_time: Option<String>,
    /// No capture after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_expiry_time: Option<String>,
    /// Where to send the buyer (PAYMENT_IN_PROCESS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normal_url: Option<String>,
    /// App scheme URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_url: Option<String>,
    /// App link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applink_url: Option<String>,
    /// Android package name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_identifier: Option<String>,
    /// Redirect form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_action_form: Option<RedirectActionForm>,
    /// Challenge (OTP etc.).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_action_form: Option<serde_json::Value>,
    /// QR/order code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_code_form: Option<serde_json::Value>,
    /// Card details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_result_info: Option<PaymentResultInfo>,
    /// Wallet customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psp_customer_info: Option<PspCustomerInfo>,
    /// Settlement amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_settlement_amount: Option<Amount>,
}

/// Defines a request whose whole body names one existing payment, by the merchant's request id or Alipay's
/// payment id. inquiryPayment and cancel take exactly this body; they stay two types because each is bound to its
/// own endpoint and response type (see `ApiRequest`).
macro_rules! payment_target_request {
    ($(#[$doc:meta])* $name:ident, $by_request_id_doc:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Merchant request id.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub payment_request_id: Option<String>,
            /// Alipay payment id.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub payment_id: Option<String>,
            /// Merchant account id.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub merchant_account_id: Option<String>,
            /// Not sent: routes the call like an in-store payment (production path even in sandbox).
            #[serde(skip)]
            pub in_store: bool,
        }

        impl $name {
            #[doc = $by_request_id_doc]
            pub fn by_request_id(payment_request_id: impl Into<String>) -> Self {
                Self {
                    payment_request_id: Some(payment_request_id.into()),
                    payment_id: None,
                    merchant_account_id: None,
                    in_store: false,
                }
            }
        }
    };
}

payment_target_request!(
    /// Target of inquiry/cancel: `paymentId` wins when both are set.
    InquiryPaymentRequest,
    "Inquires by the merchant's request id (works even when pay timed out)."
);

/// The payment's state per inquiryPayment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// Paid.
    Success,
    /// Failed (see `paymentResultCode`).
    Fail,
    /// Still processing.
    Processing,
    /// Cancelled.
    Cancelled,
    /// Completed by the user, final result awaited.
    Pending,
    /// A status this crate does not know: treat as not final.
    #[serde(other)]
    Unrecognized,
}

/// Type of a `transactions[]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionType {
    /// Payment.
    Payment,
    /// Refund.
    Refund,
    /// Capture.
    Capture,
    /// Cancel.
    Cancel,
    /// Authorization.
    Authorization,
    /// Void.
    Void,
    /// Incremental authorization.
    Incremental,
    /// Unknown type.
    #[serde(other)]
    Unrecognized,
}

/// One subsequent operation on a payment (how capture results are inquired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// Type.
    pub transaction_type: TransactionType,
    /// SUCCESS / FAIL / PROCESSING …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_status: Option<PaymentStatus>,
    /// Result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_result: Option<ResultInfo>,
    /// captureId / refundId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// captureRequestId / refundRequestId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_request_id: Option<String>,
    /// Amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_amount: Option<Amount>,
    /// Time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_time: Option<String>,
}

/// Response of inquiryPayment: `result` says whether the *inquiry* worked; `payment_status` is the payment's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryPaymentResponse {
    /// Inquiry result.
    pub result: ResultInfo,
    /// The payment's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<PaymentStatus>,
    /// The payment's result code (pay vocabulary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_result_code: Option<ResultCode>,
    /// The payment's result message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_result_message: Option<String>,
    /// Merchant request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    /// Alipay payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_amount: Option<Amount>,
    /// Amount actually charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_payment_amount: Option<Amount>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_create_time: Option<String>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_time: Option<String>,
    /// No capture after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_expiry_time: Option<String>,
    /// Payment method type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_type: Option<String>,
    /// Subsequent operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Vec<Transaction>>,
    /// Card details incl. cardToken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_info: Option<PaymentResultInfo>,
    /// Card result details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_result_info: Option<PaymentResultInfo>,
    /// Redirect form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_action_form: Option<RedirectActionForm>,
    /// Acquirer reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer_reference_no: Option<String>,
}

impl InquiryPaymentResponse {
    /// The card facts, wherever this answer carries them: `paymentResultInfo` wins, `cardInfo` (which holds
    /// the cardToken) fills the gaps.
    pub fn card_facts(&self) -> Option<PaymentResultInfo> {
        PaymentResultInfo::merged(self.payment_result_info.as_ref(), self.card_info.as_ref())
    }
}

payment_target_request!(
    /// Request of `/v1/payments/cancel` (full cancellation; `paymentId` wins).
    CancelRequest,
    "Cancels by the merchant's request id (works even when pay never answered)."
);

/// Response of cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelResponse {
    /// Result envelope.
    pub result: ResultInfo,
    /// Alipay payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Merchant request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    /// Cancel time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_time: Option<String>,
}

/// Request of `/v1/payments/capture`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// Idempotency key, ≤64.
    pub capture_request_id: String,
    /// Alipay payment id.
    pub payment_id: String,
    /// Amount to capture.
    pub capture_amount: Amount,
    /// Last capture of a multi-capture.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub is_last_capture: Option<bool>,
}

/// Response of capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureResponse {
    /// Result envelope.
    pub result: ResultInfo,
    /// Alipay capture id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_id: Option<String>,
    /// Echoed request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_request_id: Option<String>,
    /// Payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Captured amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_amount: Option<Amount>,
    /// Capture time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_time: Option<String>,
    /// Acquirer reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer_reference_no: Option<String>,
}

/// Request of `/v1/payments/refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// Idempotency key, ≤64.
    pub refund_request_id: String,
    /// Alipay payment id.
    pub payment_id: String,
    /// Amount to refund.
    pub refund_amount: Amount,
    /// Reason, ≤256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    /// notifyRefund URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_notify_url: Option<String>,
    /// Merchant's refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_refund_id: Option<String>,
    /// Asynchronous refund.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub is_async_refund: Option<bool>,
    /// Refund a specific capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_id: Option<String>,
    /// Extension data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
    /// Not sent: routes the call like an in-store payment.
    #[serde(skip)]
    pub in_store: bool,
}

impl RefundRequest {
    /// A refund with the required fields only.
    pub fn new(
        refund_request_id: impl Into<String>,
        payment_id: impl Into<String>,
        amount: Amount,
    ) -> Self {
        Self {
            refund_request_id: refund_request_id.into(),
            payment_id: payment_id.into(),
            refund_amount: amount,
            refund_reason: None,
            refund_notify_url: None,
            reference_refund_id: None,
            is_async_refund: None,
            capture_id: None,
            extend_info: None,
            in_store: false,
        }
    }
}

/// Response of refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    /// Result envelope.
    pub result: ResultInfo,
    /// Alipay refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Echoed request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    /// Payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Refunded amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Amount>,
    /// Refund time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_time: Option<String>,
    /// Amount actually refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_refund_amount: Option<Amount>,
    /// Settlement amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_settlement_amount: Option<Amount>,
    /// Acquirer reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer_reference_no: Option<String>,
}

/// Request of `/v1/payments/inquiryRefund` (`refundId` wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryRefundRequest {
    /// Merchant refund request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    /// Alipay refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Merchant account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_account_id: Option<String>,
    /// Not sent: routes the call like an in-store payment.
    #[serde(skip)]
    pub in_store: bool,
}

impl InquiryRefundRequest {
    /// Inquires by the merchant's refund request id.
    pub fn by_request_id(refund_request_id: impl Into<String>) -> Self {
        Self {
            refund_request_id: Some(refund_request_id.into()),
            refund_id: None,
            merchant_account_id: None,
            in_store: false,
        }
    }
}

/// A refund's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    /// Refunded.
    Success,
    /// Failed.
    Fail,
    /// Still processing.
    Processing,
    /// Unknown value: not final.
    #[serde(other)]
    Unrecognized,
}

/// Response of inquiryRefund: `result` is the inquiry; `refund_status` is the refund's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryRefundResponse {
    /// Inquiry result.
    pub result: ResultInfo,
    /// The refund's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<RefundStatus>,
    /// Alipay refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// Merchant refund request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    /// Amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Amount>,
    /// Time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_time: Option<String>,
    /// Amount actually refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_refund_amount: Option<Amount>,
    /// Acquirer reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Retrieval reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrn: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inquiry_response_tolerates_unknown_fields_and_statuses() {
        let r: InquiryPaymentResponse = serde_json::from_str(
            r#"{"result":{"resultStatus":"S","resultCode":"SUCCESS","resultMessage":"success."},
                "paymentStatus":"PROCESSING","paymentResultCode":"PAYMENT_IN_PROCESS",
                "paymentAmount":{"currency":"HKD","value":50000},"brandNew":{"x":1},
                "transactions":[{"transactionType":"CAPTURE","transactionStatus":"SUCCESS",
                  "transactionRequestId":"cap-1"}]}"#,
        )
        .unwrap();
        assert_eq!(r.payment_status, Some(PaymentStatus::Processing));
        assert_eq!(r.payment_result_code, Some(ResultCode::PaymentInProcess));
        assert_eq!(r.payment_amount.unwrap().value, "50000");
        assert_eq!(
            r.transactions.unwrap()[0].transaction_type,
            TransactionType::Capture
        );
        let odd: InquiryPaymentResponse = serde_json::from_str(
            r#"{"result":{"resultStatus":"S","resultCode":"SUCCESS"},"paymentStatus":"NEW_STATE"}"#,
        )
        .unwrap();
        assert_eq!(odd.payment_status, Some(PaymentStatus::Unrecognized));
    }

    #[test]
    fn in_store_routing_flag_is_not_sent() {
        let mut r = CancelRequest::by_request_id("p1");
        r.in_store = true;
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"paymentRequestId":"p1"}"#
        );
    }

    #[test]
    fn inquiry_and_cancel_share_one_wire_shape() {
        let full = r#"{"paymentRequestId":"p1","paymentId":"a1","merchantAccountId":"m1"}"#;
        let inquiry = InquiryPaymentRequest {
            payment_request_id: Some("p1".into()),
            payment_id: Some("a1".into()),
            merchant_account_id: Some("m1".into()),
            in_store: true,
        };
        let cancel = CancelRequest {
            payment_request_id: Some("p1".into()),
            payment_id: Some("a1".into()),
            merchant_account_id: Some("m1".into()),
            in_store: true,
        };
        assert_eq!(serde_json::to_string(&inquiry).unwrap(), full);
        assert_eq!(serde_json::to_string(&cancel).unwrap(), full);
        let back: InquiryPaymentRequest = serde_json::from_str(full).unwrap();
        assert_eq!(
            back,
            InquiryPaymentRequest {
                in_store: false,
                ..inquiry
            }
        );
        let back: CancelRequest = serde_json::from_str(full).unwrap();
        assert_eq!(
            back,
            CancelRequest {
                in_store: false,
                ..cancel
            }
        );
        assert_eq!(
            serde_json::to_string(&InquiryPaymentRequest::by_request_id("p2")).unwrap(),
            r#"{"paymentRequestId":"p2"}"#
        );
        assert_eq!(
            CancelRequest::by_request_id("p2"),
            CancelRequest {
                payment_request_id: Some("p2".into()),
                payment_id: None,
                merchant_account_id: None,
                in_store: false,
            }
        );
    }

    #[test]
    fn payment_method_id_is_redacted_in_debug() {
        let m = PaymentMethod::with_id("GCASH", "access-token-value");
        assert!(!format!("{m:?}").contains("access-token-value"));
        assert_eq!(
            serde_json::to_value(&m).unwrap()["paymentMethodId"],
            "access-token-value"
        );
    }
}
