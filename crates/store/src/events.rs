//! The read side of the payment event stream: opaque cursors, the stream head, filtered reads in commit order and
//! retention pruning. Rows are written by [`crate::outbox`] inside each state change's transaction.
//!
//! A reader holds a position (the `seq` of the last event it has seen) and repeatedly reads `(position, head]`,
//! where `head` is the highest visible `seq`: the outbox numbers events in commit order, so everything at or below
//! the head has committed (or never will) and the reader can move to the head without ever skipping an event.

use crate::db::begin_write;
use crate::entity::payment_event::{self, Column};
use crate::error::{Result, StoreError};
use crate::vocabulary::ProductCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use crate::entity::payment_event::EventType;

/// The record an event is about, as it was right after the change (not as it is now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventSubject {
    /// A payment. Its refunded and captured totals were zero at that moment: refunds and captures only follow a
    /// SUCCESS payment, and SUCCESS is final, so no payment event comes after them.
    Payment {
        /// The payment as it was after the change.
        payment: crate::payments::Payment,
    },
    /// A refund and the payment it belongs to.
    Refund {
        /// The refund as it was after the change.
        refund: crate::refunds::Refund,
        /// The payment the refund belongs to, as it was then.
        payment: crate::payments::Payment,
    },
    /// A capture and the payment it belongs to.
    Capture {
        /// The capture as it was after the change.
        capture: crate::captures::Capture,
        /// The payment the capture belongs to, as it was then.
        payment: crate::payments::Payment,
    },
}

/// One committed change.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentEvent {
    /// Commit-ordered position.
    pub seq: i64,
    /// The opaque resume position handed to callers ([`cursor`] of `seq`).
    pub cursor: String,
    /// Unique id to deduplicate on.
    pub event_id: String,
    /// What kind of change this is (a filter key for streams).
    pub event_type: EventType,
    /// When the change committed.
    pub at: DateTime<Utc>,
    /// The payment the change belongs to, also for refund and capture events.
    pub payment_request_id: String,
    /// The record as it was right after the change.
    pub subject: EventSubject,
}

/// Which events a stream wants; every set field must match. `types` empty means every type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events of this customer's payments.
    pub customer_id: Option<String>,
    /// Only events of payments of this product code.
    pub product_code: Option<ProductCode>,
    /// Only these event types; empty means every type.
    pub types: Vec<EventType>,
}

/// Where the stream stands: the highest committed `seq`, and the highest `seq` retention has deleted (a position
/// below it has lost events).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Head {
    /// The highest committed `seq`.
    pub last_seq: i64,
    /// The highest `seq` retention has deleted: a position below it has lost events.
    pub pruned_through: i64,
}

/// Cursor text prefix: the format's version, so it can change without misreading old cursors.
const CURSOR_VERSION: &str = "e1:";

/// The opaque cursor of position `seq`.
pub fn cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{seq}"))
}

fn decode(text: &str) -> Result<i64> {
    let raw = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| StoreError::InvalidCursor)?;
    let text = String::from_utf8(raw).map_err(|_| StoreError::InvalidCursor)?;
    text.strip_prefix(CURSOR_VERSION)
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or(StoreError::InvalidCursor)
}

/// Event repository; get one from [`crate::Store::events`].
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Events<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// The current head (one round trip).
    pub async fn head(&self) -> Result<Head> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM payment_events) AS last_seq, \
                 (SELECT pruned_through FROM payment_event_horizon WHERE id = 1) AS pruned_through",
            ))
            .await?
            .ok_or_else(|| corrupt("no head row"))?;
        let last_seq: i64 = row.try_get("", "last_seq")?;
        let pruned_through: Option<i64> = row.try_get("", "pruned_through")?;
        let pruned_through = pruned_through.ok_or_else(|| corrupt("no horizon row"))?;
        Ok(Head {
            // Pruning may have emptied the table; positions never go back.
            last_seq: last_seq.max(pruned_through),
            pruned_through,
        })
    }

    /// The position to resume after `cursor`. Errors: [`StoreError::InvalidCursor`] when it is not a cursor this
    /// store issued (malformed, or beyond the head), [`StoreError::CursorExpired`] when events after it are older
    /// than `retained_since` or already pruned (the caller must resynchronise).
    pub async fn resume_position(
        &self,
        cursor: &str,
        retained_since: DateTime<Utc>,
    ) -> Result<i64> {
        let seq = decode(cursor)?;
        let head = self.head().await?;
        if seq > head.last_seq {
            return Err(StoreError::InvalidCursor);
        }
        if seq < head.pruned_through {
            return Err(StoreError::CursorExpired);
        }
        // Past the retention window even if pruning has not run yet: the answer must not depend on its timing.
        let next = payment_event::Entity::find()
            .filter(Column::Seq.gt(seq))
            .order_by_asc(Column::Seq)
            .one(self.db)
            .await?;
        match next {
            Some(event) if event.created_at < retained_since => Err(StoreError::CursorExpired),
            _ => Ok(seq),
        }
    }

    /// Up to `limit` events after `after` and at most `through`, matching `filter`, in commit order.
    pub async fn read(
        &self,
        after: i64,
        through: i64,
        filter: &EventFilter,
        limit: u64,
    ) -> Result<Vec<PaymentEvent>> {
        let mut select = payment_event::Entity::find()
            .filter(Column::Seq.gt(after))
            .filter(Column::Seq.lte(through));
        if let Some(customer) = &filter.customer_id {
            select = select.filter(Column::CustomerId.eq(customer.as_str()));
        }
        if let Some(product) = &filter.product_code {
            select = select.filter(Column::ProductCode.eq(*product));
        }
        if !filter.types.is_empty() {
            select = select.filter(Column::EventType.is_in(filter.types.iter().copied()));
        }
        let rows = select
            .order_by_asc(Column::Seq)
            .limit(limit)
            .all(self.db)
            .await?;
        rows.into_iter().map(event).collect()
    }

    /// Deletes the events committed before `before` and raises the pruning horizon, so cursors into the deleted
    /// range get [`StoreError::CursorExpired`]. Deletes a prefix of the sequence (everything up to the newest old
    /// event), never a hole. Returns how many rows went.
    pub async fn prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let txn = begin_write(self.db).await?;
        let newest_old: Option<i64> = payment_event::Entity::find()
            .select_only()
            .column_as(Column::Seq.max(), "newest")
            .filter(Column::CreatedAt.lt(before))
            .into_tuple()
            .one(&txn)
            .await?
            .flatten();
        let Some(through) = newest_old else {
            txn.commit().await?;
            return Ok(0);
        };
        let deleted = payment_event::Entity::delete_many()
            .filter(Column::Seq.lte(through))
            .exec(&txn)
            .await?
            .rows_affected;
        let backend = txn.get_database_backend();
        let sql = match backend {
            DbBackend::Sqlite => {
                "UPDATE payment_event_horizon SET pruned_through = ?1 WHERE id = 1 AND pruned_through < ?1"
            }
            _ => {
                "UPDATE payment_event_horizon SET pruned_through = $1 WHERE id = 1 AND pruned_through < $1"
            }
        };
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [through.into()],
        ))
        .await?;
        txn.commit().await?;
        Ok(deleted)
    }

    /// Changes whenever this process commits an event, so a local reader can look at once rather than at its next
    /// poll (other processes' events are only found by polling).
    pub fn local_commits(&self) -> watch::Receiver<u64> {
        crate::outbox::local_commits()
    }
}

fn event(row: payment_event::Model) -> Result<PaymentEvent> {
    let subject: EventSubject =
        serde_json::from_value(row.snapshot).map_err(|e| StoreError::Corrupt {
            field: "payment_events.snapshot",
            id: row.event_id.clone(),
            reason: e.to_string(),
        })?;
    Ok(PaymentEvent {
        seq: row.seq,
        cursor: cursor(row.seq),
        event_id: row.event_id,
        event_type: row.event_type,
        at: row.created_at,
        payment_request_id: row.payment_request_id,
        subject,
    })
}

fn corrupt(reason: &str) -> StoreError {
    StoreError::Corrupt {
        field: "payment_event_horizon",
        id: "1".into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for seq in [0, 1, 42, i64::MAX] {
            assert_eq!(decode(&cursor(seq)).unwrap(), seq);
        }
        for bad in ["", "!!", "ZTE6", "djE6MQ", &URL_SAFE_NO_PAD.encode("e1:-1")] {
            assert!(
                matches!(decode(bad), Err(StoreError::InvalidCursor)),
                "{bad:?} must be rejected"
            );
        }
    }

    /// Random text and random bytes behind a valid prefix either decode to the number they spell or are rejected
    /// with the typed error; nothing panics.
    #[test]
    fn arbitrary_input_is_a_cursor_or_invalid() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for _ in 0..5_000 {
            let len = rng.gen_range(0..40);
            let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            let raw = if rng.gen_bool(0.5) {
                let mut prefixed = CURSOR_VERSION.as_bytes().to_vec();
                prefixed.extend(bytes.iter().map(|b| b"0123456789-+x"[usize::from(*b) % 13]));
                prefixed
            } else {
                bytes
            };
            let text = URL_SAFE_NO_PAD.encode(&raw);
            let spelled = std::str::from_utf8(&raw)
                .ok()
                .and_then(|t| t.strip_prefix(CURSOR_VERSION))
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n >= 0);
            match (decode(&text), spelled) {
                (Ok(seq), Some(expected)) => assert_eq!(seq, expected),
                (Err(StoreError::InvalidCursor), None) => {}
                (outcome, expected) => panic!("{raw:?}: {outcome:?} vs {expected:?}"),
            }
        }
    }
}
