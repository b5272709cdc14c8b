//! `payments`: one row per paymentRequestId, written before Alipay is called.

use crate::next_action::NextAction;
use crate::status::PaymentStatus;
use crate::vocabulary::{CaptureMode, ProductCode, ResultStatus, Wallet};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Stored row. There is deliberately no column that could hold a PAN or CVV: card data is kept
/// only as the token reference and the masked/derived details Alipay returns.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    /// The gateway's own id of the row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Alipay's idempotency key of the payment (`paymentRequestId`), unique.
    #[sea_orm(unique)]
    pub payment_request_id: String,
    /// `AGREEMENT_PAYMENT`, `IN_STORE_PAYMENT` or `CASHIER_PAYMENT`.
    pub product_code: ProductCode,
    /// Minor units (ISO 4217 exponent), as Alipay's `value`.
    pub amount_value: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
    /// The merchant's order id (`order.referenceOrderId`).
    pub order_reference_id: Option<String>,
    /// Shown to the buyer (`order.orderDescription`).
    pub order_description: Option<String>,
    /// The wallet or method charged (`paymentMethod.paymentMethodType`), e.g. `GCASH`.
    pub payment_method_type: Wallet,
    /// The binding charged by an agreement payment.
    pub binding_id: Option<String>,
    /// The caller's id of the end customer, for listing (an agreement payment's is the binding's).
    pub customer_id: Option<String>,
    /// Alipay's `paymentId`, once Alipay answered: needed to cancel, refund and capture.
    pub alipay_payment_id: Option<String>,
    /// Where the payment stands; final statuses never change.
    pub status: PaymentStatus,
    /// `resultStatus` of Alipay's last answer (`S`, `F`, `U`): why the row stands where it does.
    pub last_result_status: Option<ResultStatus>,
    /// `resultCode` of Alipay's last answer.
    pub last_result_code: Option<String>,
    /// `resultMessage` of Alipay's last answer.
    pub last_result_message: Option<String>,
    /// What the buyer must do next (redirect URLs / challenge form); cleared on a final status.
    pub next_action: Option<NextAction>,
    /// Alipay's `paymentTime`: when the payment succeeded.
    pub payment_time: Option<DateTimeUtc>,
    /// Hash of the canonical request: a retry with the same request id must match it.
    pub request_fingerprint: String,
    /// An authorization (capture later) rather than a sale.
    pub is_authorization: bool,
    /// `AUTOMATIC` or `MANUAL`, for authorizations.
    pub capture_mode: Option<CaptureMode>,
    /// Alipay's token of the card, for later payments without the card number.
    pub card_token: Option<String>,
    /// Card brand, e.g. `VISA`.
    pub card_brand: Option<String>,
    /// Last four digits, for the buyer to recognise the card.
    pub card_last_four: Option<String>,
    /// The masked card number as Alipay shows it.
    pub card_masked_no: Option<String>,
    /// ISO 3166 country of the issuing bank.
    pub card_issuing_country: Option<String>,
    /// `CREDIT`, `DEBIT`, ... as Alipay reports it.
    pub card_funding: Option<String>,
    /// The 3-D Secure outcome as Alipay returned it.
    pub three_ds_result: Option<Json>,
    /// The address check's raw result code, for risk review.
    pub avs_result_raw: Option<String>,
    /// The CVV check's raw result code (never the CVV itself).
    pub cvv_result_raw: Option<String>,
    /// The scheme's transaction id, for later merchant-initiated charges and disputes.
    pub network_transaction_id: Option<String>,
    /// Alipay's `authExpiryTime`: the last moment a MANUAL authorization can be captured.
    pub auth_expiry_time: Option<DateTimeUtc>,
    /// Caller metadata: a JSON object of string → string, stored for the caller and never sent to Alipay. Read it
    /// with [`Model::metadata_map`]; `None` when the payment was made without metadata.
    pub metadata: Option<Json>,
    /// Merchant region (`merchantRegion`) the payment was made for, when the contract needs one.
    pub merchant_region: Option<String>,
    /// The caller's `paymentExpiryTime` (latest time the payment may succeed); `None` means Alipay's default.
    pub payment_expiry_time: Option<DateTimeUtc>,
    /// Alipay's `paymentCreateTime`.
    pub payment_create_time: Option<DateTimeUtc>,
    /// Alipay's `cancelTime` (the cancel answer).
    pub cancel_time: Option<DateTimeUtc>,
    /// When the row was inserted.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
    /// Optimistic-concurrency version, bumped by every write: a write against an older one is refused.
    pub version: i64,
}

/// sea-orm's relations of the table.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// A payment's refunds.
    #[sea_orm(has_many = "super::refund::Entity")]
    Refund,
    /// A payment's captures.
    #[sea_orm(has_many = "super::capture::Entity")]
    Capture,
}

impl Related<super::refund::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Refund.def()
    }
}

impl Related<super::capture::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Capture.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The caller metadata as a map (empty when none was given). Entries that are not strings cannot be written by
    /// [`crate::payments::Payments::insert_intent`]; should one appear anyway (edited by hand) it is left out rather
    /// than failing the read.
    pub fn metadata_map(&self) -> std::collections::BTreeMap<String, String> {
        match &self.metadata {
            Some(serde_json::Value::Object(map)) => map
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect(),
            _ => std::collections::BTreeMap::new(),
        }
    }
}
