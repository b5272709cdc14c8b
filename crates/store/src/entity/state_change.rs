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
    #[sea_orm(string_value = "PAYMENT")]
    Payment,
    #[sea_orm(string_value = "REFUND")]
    Refund,
    #[sea_orm(string_value = "CAPTURE")]
    Capture,
    #[sea_orm(string_value = "BINDING")]
    Binding,
    #[sea_orm(string_value = "JOB")]
    Job,
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
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub entity_kind: EntityKind,
    pub entity_id: String,
    pub from_status: Option<String>,
    pub to_status: String,
    /// Who caused it: "pay_response", "inquiry", "reconciler", "notification", ...
    pub source: String,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
