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
    /// Stored, not yet applied.
    #[sea_orm(string_value = "RECEIVED")]
    Received,
    /// Applied (or deliberately not acted on).
    #[sea_orm(string_value = "PROCESSED")]
    Processed,
    /// Applying it failed; see `processing_error`.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Stored row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// The gateway's id of the stored notification.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Alipay's `notifyType`, e.g. `PAYMENT_RESULT`.
    pub notify_type: String,
    /// Identifies the event (e.g. type + request id + status) so a redelivery is stored once.
    #[sea_orm(unique)]
    pub dedup_key: String,
    /// The body exactly as received: the signature covers these bytes.
    #[sea_orm(column_type = "Text")]
    pub raw_body: String,
    /// The signature and client headers as received, for forensics.
    pub headers: Json,
    /// Whether the signature verified; unverified notifications are kept, never applied.
    pub verified: bool,
    /// Whether it has been applied.
    pub state: NotificationState,
    /// Why applying it failed, for support.
    #[sea_orm(column_type = "Text", nullable)]
    pub processing_error: Option<String>,
    /// When it arrived.
    pub received_at: DateTimeUtc,
    /// When it was applied.
    pub processed_at: Option<DateTimeUtc>,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
    /// The object it is about (`PAY:<paymentRequestId>`, `REF:...`, `CAP:...`), for applying it later.
    pub subject: Option<String>,
    /// Why support should look at it: `CONTRADICTS_FINAL`, `SUBJECT_MISSING`, `OUT_OF_WINDOW`.
    pub flag: Option<String>,
}

/// sea-orm's relation list; this table has none.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
