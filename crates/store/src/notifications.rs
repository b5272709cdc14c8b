//! Received Alipay notifications, stored verbatim before they are applied.
//!
//! Alipay redelivers a notification until it is acknowledged, so the same event can arrive many
//! times (and on several replicas at once). The dedup key makes the first arrival the only row;
//! later ones get [`Inserted::Existing`] and can be acknowledged without being re-applied.

use crate::db::{check_len, new_id, now};
pub use crate::entity::notification::NotificationState;
use crate::entity::notification::{self, Column};
use crate::entity::state_change::EntityKind;
use crate::error::{Result, StoreError};
use crate::transition::{self, Inserted};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// A stored notification.
pub type Notification = notification::Model;

/// A notification as received.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// e.g. `PAYMENT_RESULT`, `REFUND_RESULT`.
    pub notify_type: String,
    pub dedup_key: String,
    pub raw_body: String,
    pub headers: serde_json::Value,
    /// Whether the signature verified; unverified ones are kept for forensics, not applied.
    pub verified: bool,
}

/// Notification repository; get one from [`crate::Store::notifications`].
#[derive(Debug, Clone, Copy)]
pub struct Notifications<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Notifications<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Stores a notification once per dedup key.
    pub async fn receive(&self, new: NewNotification) -> Result<Inserted<Notification>> {
        check_len("notify_type", &new.notify_type, 64)?;
        check_len("dedup_key", &new.dedup_key, 256)?;
        let id = new_id();
        let at = now();
        let row = notification::ActiveModel {
            id: Set(id.clone()),
            notify_type: Set(new.notify_type),
            dedup_key: Set(new.dedup_key.clone()),
            raw_body: Set(new.raw_body),
            headers: Set(new.headers),
            verified: Set(new.verified),
            state: Set(NotificationState::Received),
            processing_error: Set(None),
            received_at: Set(at),
            processed_at: Set(None),
            updated_at: Set(at),
        };
        let inserted = notification::Entity::insert(row)
            .on_conflict(OnConflict::column(Column::DedupKey).do_nothing().to_owned())
            .exec_without_returning(self.db)
            .await?;
        let (col, value) = if inserted == 1 {
            (Column::Id, id.as_str())
        } else {
            (Column::DedupKey, new.dedup_key.as_str())
        };
        let row = transition::find::<notification::Entity, _>(self.db, col, value)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("notification {value}")))?;
        Ok(if inserted == 1 {
            Inserted::Created(row)
        } else {
            Inserted::Existing(row)
        })
    }

    /// Records that the notification was applied (or could not be: pass the error).
    pub async fn mark(
        &self,
        id: &str,
        state: NotificationState,
        error: Option<&str>,
    ) -> Result<Notification> {
        let at = now();
        let processed_at = (state != NotificationState::Received).then_some(at);
        let result = notification::Entity::update_many()
            .col_expr(Column::State, Expr::value(state))
            .col_expr(
                Column::ProcessingError,
                Expr::value(error.map(str::to_owned)),
            )
            .col_expr(Column::ProcessedAt, Expr::value(processed_at))
            .col_expr(Column::UpdatedAt, Expr::value(at))
            .filter(Column::Id.eq(id))
            .exec(self.db)
            .await?;
        if result.rows_affected != 1 {
            return Err(StoreError::NotFound {
                entity: EntityKind::Notification,
                id: id.to_owned(),
            });
        }
        self.get(id).await?.ok_or_else(|| StoreError::NotFound {
            entity: EntityKind::Notification,
            id: id.to_owned(),
        })
    }

    /// The notification with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Notification>> {
        transition::find::<notification::Entity, _>(self.db, Column::Id, id).await
    }

    /// Verified notifications not yet applied, oldest first (for a retry sweep).
    pub async fn list_unprocessed(&self, limit: u64) -> Result<Vec<Notification>> {
        Ok(notification::Entity::find()
            .filter(Column::State.eq(NotificationState::Received))
            .filter(Column::Verified.eq(true))
            .order_by_asc(Column::ReceivedAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(self.db)
            .await?)
    }
}
