//! `state_changes`: append-only audit of every status transition.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Which aggregate a row belongs to (in the audit trail and in errors).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityKind {
    /// A payment.
    #[sea_orm(string_value = "PAYMENT")]
    Payment,
    /// A refund.
    #[sea_orm(string_value = "REFUND")]
    Refund,
    /// A capture.
    #[sea_orm(string_value = "CAPTURE")]
    Capture,
    /// A wallet binding.
    #[sea_orm(string_value = "BINDING")]
    Binding,
    /// A reconciliation job.
    #[sea_orm(string_value = "JOB")]
    Job,
    /// A received notification.
    #[sea_orm(string_value = "NOTIFICATION")]
    Notification,
}

impl EntityKind {
    /// The kind's name in messages and error reasons (`payment`, `refund`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Refund => "refund",
            Self::Capture => "capture",
            Self::Binding => "binding",
            Self::Job => "job",
            Self::Notification => "notification",
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Stored row. `from_status` is empty for the row that records creation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "state_changes")]
pub struct Model {
    /// The gateway's id of the audit row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Which kind of record moved.
    pub entity_kind: EntityKind,
    /// The gateway id of the record that moved.
    pub entity_id: String,
    /// The status before; `None` for the row that records creation.
    pub from_status: Option<String>,
    /// The status after.
    pub to_status: String,
    /// Who caused it: "pay_response", "inquiry", "reconciler", "notification", ...
    pub source: String,
    /// Why, when the cause alone does not say.
    pub reason: Option<String>,
    /// When the move committed.
    pub created_at: DateTimeUtc,
}

/// sea-orm's relation list; this table has none.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
