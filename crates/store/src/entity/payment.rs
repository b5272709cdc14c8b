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
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub payment_request_id: String,
    pub product_code: ProductCode,
    /// Minor units (ISO 4217 exponent), as Alipay's `value`.
    pub amount_value: i64,
    pub currency: String,
    pub order_reference_id: Option<String>,
    pub order_description: Option<String>,
    /// The wallet paid with (`paymentMethodType`).
    pub payment_method_type: Wallet,
    pub binding_id: Option<String>,
    pub customer_id: Option<String>,
    pub alipay_payment_id: Option<String>,
    pub status: PaymentStatus,
    pub last_result_status: Option<ResultStatus>,
    pub last_result_code: Option<String>,
    pub last_result_message: Option<String>,
    /// What the buyer must do next (redirect URLs / challenge form); cleared on a final status.
    pub next_action: Option<NextAction>,
    pub payment_time: Option<DateTimeUtc>,
    /// Hash of the canonical request: a retry with the same request id must match it.
    pub request_fingerprint: String,
    pub is_authorization: bool,
    pub capture_mode: Option<CaptureMode>,
    pub card_token: Option<String>,
    pub card_brand: Option<String>,
    pub card_last_four: Option<String>,
    pub card_masked_no: Option<String>,
    pub card_issuing_country: Option<String>,
    pub card_funding: Option<String>,
    pub three_ds_result: Option<Json>,
    pub avs_result_raw: Option<String>,
    pub cvv_result_raw: Option<String>,
    pub network_transaction_id: Option<String>,
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
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::refund::Entity")]
    Refund,
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
