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
    /// The owner is still working (or crashed: see the lease).
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    /// Finished: the recorded answer is replayed.
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
    /// Hash of the request's content: the same key with other content is a mismatch.
    pub fingerprint: String,
    /// Whether the owner finished, and how.
    pub state: IdempotencyState,
    /// The encoded answer to replay (set when completed or failed).
    pub response: Option<Vec<u8>>,
    /// The worker that holds (or last held) the key.
    pub owner: String,
    /// When the current lease lapses and another worker may take over.
    pub lease_expires_at: DateTimeUtc,
    /// When the row was inserted.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// sea-orm's relation list; this table has none.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
