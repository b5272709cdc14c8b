//! `payment_events`: the outbox read by `StreamPaymentEvents`, one row per committed payment, refund or capture
//! change, numbered in commit order.

use crate::vocabulary::ProductCode;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Which kind of record an event is about (`PaymentEventType` on the wire).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum EventType {
    /// A payment was created, changed status or gained a next action.
    #[sea_orm(string_value = "PAYMENT")]
    Payment,
    /// A refund was created or changed status.
    #[sea_orm(string_value = "REFUND")]
    Refund,
    /// A capture was created or changed status.
    #[sea_orm(string_value = "CAPTURE")]
    Capture,
}

/// Stored row. The filter columns are copied out of the snapshot so a filtered stream is a plain indexed query.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_events")]
pub struct Model {
    /// Commit-ordered position: the cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// Unique id callers deduplicate on (UUIDv7).
    #[sea_orm(unique)]
    pub event_id: String,
    /// Which record changed: PAYMENT, REFUND or CAPTURE.
    pub event_type: EventType,
    /// The changed record's id.
    pub entity_id: String,
    /// The payment the change belongs to (a stream filter key).
    pub payment_request_id: String,
    /// The payment's customer (a stream filter key).
    pub customer_id: Option<String>,
    /// The payment's product code (a stream filter key).
    pub product_code: ProductCode,
    /// The record as it was right after the change (JSON of `crate::events::EventSubject`).
    pub snapshot: Json,
    /// When the change committed.
    pub created_at: DateTimeUtc,
}

/// sea-orm's relation list; this table has none.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
