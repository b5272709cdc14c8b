//! `notifications`: webhooks received from Alipay, kept verbatim before they are acted on.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Whether a received notification has been applied.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationState {
    #[sea_orm(string_value = "RECEIVED")]
    Received,
    #[sea_orm(string_value = "PROCESSED")]
    Processed,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Stored row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub notify_type: String,
    /// Identifies the event (e.g. type + request id + status) so a redelivery is stored once.
    #[sea_orm(unique)]
    pub dedup_key: String,
    #[sea_orm(column_type = "Text")]
    pub raw_body: String,
    pub headers: Json,
    pub verified: bool,
    pub state: NotificationState,
    #[sea_orm(column_type = "Text", nullable)]
    pub processing_error: Option<String>,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    /// The object it is about (`PAY:<paymentRequestId>`, `REF:...`, `CAP:...`), for applying it later.
    pub subject: Option<String>,
    /// Why support should look at it: `CONTRADICTS_FINAL`, `SUBJECT_MISSING`, `OUT_OF_WINDOW`.
    pub flag: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
