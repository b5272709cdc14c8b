//! `idempotency_records`: one row per (scope, request id), holding the answer to replay.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Whether the request that owns the key has finished.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdempotencyState {
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    /// The attempt ended without a result and spent what the key stands for (e.g. an authCode
    /// Alipay exchanged for tokens that could not be stored): the recorded answer is the failure.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Stored row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_records")]
pub struct Model {
    /// `scope:request_id`, e.g. `pay:REQ-1`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub fingerprint: String,
    pub state: IdempotencyState,
    /// The encoded answer to replay (set when completed or failed).
    pub response: Option<Vec<u8>>,
    pub owner: String,
    pub lease_expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
