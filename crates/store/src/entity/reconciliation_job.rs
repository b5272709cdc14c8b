//! `reconciliation_jobs`: durable follow-up work (inquire, cancel, refund, refresh) with leases.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What a job does to its subject.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobKind {
    #[sea_orm(string_value = "INQUIRE_PAYMENT")]
    InquirePayment,
    #[sea_orm(string_value = "CANCEL_PAYMENT")]
    CancelPayment,
    #[sea_orm(string_value = "REFUND_PAYMENT")]
    RefundPayment,
    #[sea_orm(string_value = "INQUIRE_REFUND")]
    InquireRefund,
    #[sea_orm(string_value = "INQUIRE_CAPTURE")]
    InquireCapture,
    #[sea_orm(string_value = "REFRESH_TOKEN")]
    RefreshToken,
    /// Revoke at Alipay tokens that were issued but could not be stored (the payload holds the sealed access
    /// token; the subject is a fresh id, since no binding exists).
    #[sea_orm(string_value = "REVOKE_TOKENS")]
    RevokeTokens,
}

/// PENDING and RUNNING are "active": at most one active job exists per (kind, subject).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "RUNNING")]
    Running,
    #[sea_orm(string_value = "DONE")]
    Done,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Stored row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reconciliation_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: JobKind,
    pub subject_id: String,
    pub status: JobStatus,
    /// How many times the job has been claimed (including the current run).
    pub attempts: i32,
    pub next_run_at: DateTimeUtc,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub payload: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
