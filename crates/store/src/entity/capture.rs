//! `captures`: one row per captureRequestId of a manual-capture authorisation.

use crate::status::OperationStatus;
use crate::vocabulary::ResultStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Stored row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "captures")]
pub struct Model {
    /// The gateway's own id of the row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The capture's idempotency key (`captureRequestId`).
    #[sea_orm(unique)]
    pub capture_request_id: String,
    /// The gateway's id of the payment it belongs to (not Alipay's).
    pub payment_id: String,
    /// Amount in minor units (ISO 4217 exponent), as Alipay's `value`.
    pub amount_value: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
    /// Whether the capture released the rest of the authorization.
    pub is_last_capture: bool,
    /// Alipay's `captureId`, once Alipay answered.
    pub alipay_capture_id: Option<String>,
    /// Where the capture stands; final statuses never change.
    pub status: OperationStatus,
    /// `resultStatus` of Alipay's last answer (`S`, `F`, `U`): why the row stands where it does.
    pub last_result_status: Option<ResultStatus>,
    /// `resultCode` of Alipay's last answer.
    pub last_result_code: Option<String>,
    /// `resultMessage` of Alipay's last answer.
    pub last_result_message: Option<String>,
    /// Hash of the canonical request: a retry with the same request id must match it.
    pub request_fingerprint: String,
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
    /// The payment captured.
    #[sea_orm(
        belongs_to = "super::payment::Entity",
        from = "Column::PaymentId",
        to = "super::payment::Column::Id"
    )]
    Payment,
}

impl Related<super::payment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
