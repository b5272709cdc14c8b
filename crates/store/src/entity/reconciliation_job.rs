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
    /// Ask Alipay for a PROCESSING payment's outcome.
    #[sea_orm(string_value = "INQUIRE_PAYMENT")]
    InquirePayment,
    /// Cancel a payment whose outcome never came.
    #[sea_orm(string_value = "CANCEL_PAYMENT")]
    CancelPayment,
    /// Refund a payment that succeeded after the gateway gave up on it.
    #[sea_orm(string_value = "REFUND_PAYMENT")]
    RefundPayment,
    /// Ask Alipay for a PROCESSING refund's outcome.
    #[sea_orm(string_value = "INQUIRE_REFUND")]
    InquireRefund,
    /// Ask Alipay for a PROCESSING capture's outcome.
    #[sea_orm(string_value = "INQUIRE_CAPTURE")]
    InquireCapture,
    /// Refresh a binding's access token before it expires.
    #[sea_orm(string_value = "REFRESH_TOKEN")]
    RefreshToken,
    /// Revoke at Alipay tokens that were issued but could not be stored (the payload holds the sealed access
    /// token; the subject is a fresh id, since no binding exists).
    #[sea_orm(string_value = "REVOKE_TOKENS")]
    RevokeTokens,
    /// Void a MANUAL card authorization the `card_void_on` policy rejects (the payload names the reason),
    /// committed with the approval that brought the AVS/CVV results, whichever source brought it.
    #[sea_orm(string_value = "VOID_CARD")]
    VoidCard,
}

/// PENDING and RUNNING are "active": at most one active job exists per (kind, subject).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Waiting for `next_run_at`.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Claimed by a worker holding the lease.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// Finished.
    #[sea_orm(string_value = "DONE")]
    Done,
    /// Gave up; see `last_error`.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Stored row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reconciliation_jobs")]
pub struct Model {
    /// The gateway's own id of the row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// What the job does.
    pub kind: JobKind,
    /// The gateway id of the payment, refund, capture or binding it acts on.
    pub subject_id: String,
    /// Where the job stands: at most one active (PENDING or RUNNING) job per kind and subject.
    pub status: JobStatus,
    /// How many times the job has been claimed (including the current run).
    pub attempts: i32,
    /// Not claimed before this time (backoff between attempts).
    pub next_run_at: DateTimeUtc,
    /// The worker running the job, while it runs.
    pub lease_owner: Option<String>,
    /// When the current lease lapses and another worker may take over.
    pub lease_expires_at: Option<DateTimeUtc>,
    /// Why the last attempt failed, for support.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// Kind-specific input (e.g. a sealed token to revoke).
    pub payload: Json,
    /// When the row was inserted.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// sea-orm's relation list; this table has none.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
