//! `captures`: one row per captureRequestId of a manual-capture authorisation.

use crate::status::OperationStatus;
use crate::vocabulary::ResultStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Stored row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "captures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub capture_request_id: String,
    pub payment_id: String,
    pub amount_value: i64,
    pub currency: String,
    pub is_last_capture: bool,
    pub alipay_capture_id: Option<String>,
    pub status: OperationStatus,
    pub last_result_status: Option<ResultStatus>,
    pub last_result_code: Option<String>,
    pub last_result_message: Option<String>,
    pub request_fingerprint: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
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
