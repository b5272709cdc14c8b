//! Received Alipay notifications, stored verbatim before they are applied.
//!
//! Alipay redelivers a notification until it is acknowledged, so the same event can arrive many
//! times (and on several replicas at once). The dedup key makes the first arrival the only row;
//! later ones get [`Inserted::Existing`] and can be acknowledged without being re-applied.

use crate::card_facts;
use crate::db::{begin_write, check_len, check_opt_len, new_id, now};
pub use crate::entity::notification::NotificationState;
use crate::entity::notification::{self, Column};
use crate::entity::state_change::EntityKind;
use crate::entity::{capture, payment, refund, wallet_binding};
use crate::error::{Result, StoreError};
use crate::inserted::Inserted;
use crate::outbox;
use crate::payments::PaymentUpdate;
use crate::status::{BindingStatus, Lifecycle, OperationStatus, PaymentStatus};
use crate::transition::{self, OperationUpdate, Transition, Versioned};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// A stored notification.
pub type Notification = notification::Model;

/// A notification as received.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// e.g. `PAYMENT_RESULT`, `REFUND_RESULT`.
    pub notify_type: String,
    /// Alipay's identity of the notification: a redelivery carries the same key and is not applied twice.
    pub dedup_key: String,
    /// The body exactly as received: the signature covers these bytes.
    pub raw_body: String,
    /// The signature and client headers as received, kept for forensics.
    pub headers: serde_json::Value,
    /// Whether the signature verified; unverified ones are kept for forensics, not applied.
    pub verified: bool,
}

/// What a verified notification asks of the store, decided by the engine from its body. Applied with the inbox row
/// in one transaction, through the same guarded transitions as every other state change (source `notification`).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Move the payment with this paymentRequestId.
    Payment {
        /// Which payment to move.
        payment_request_id: String,
        /// The status the notification reports.
        to: PaymentStatus,
        /// Boxed: the card columns make it by far the largest variant.
        update: Box<PaymentUpdate>,
    },
    /// Move the refund with this refundRequestId.
    Refund {
        /// Which refund to move.
        refund_request_id: String,
        /// The status the notification reports.
        to: OperationStatus,
        /// Alipay's ids and result to record with the move.
        update: OperationUpdate,
    },
    /// Move the capture with this captureRequestId; an AUTOMATIC capture (a request id the gateway never sent) is
    /// matched to its payment by Alipay's paymentId instead and changes nothing.
    Capture {
        /// Which capture to move.
        capture_request_id: String,
        /// Alipay's paymentId, which matches an AUTOMATIC capture to its payment.
        alipay_payment_id: Option<String>,
        /// The status the notification reports.
        to: OperationStatus,
        /// Alipay's ids and result to record with the move.
        update: OperationUpdate,
    },
    /// Revoke the binding whose access token has this lookup hash.
    RevokeBinding {
        /// Lookup hash of the revoked access token (the token itself is never stored in clear).
        access_token_hash: String,
    },
    /// Store and flag only; an inquiry decides (e.g. a notification outside the age window).
    Hold {
        /// Why it is held, recorded on the inbox row.
        flag: &'static str,
    },
    /// Store only (a kind the gateway does not act on).
    None,
}

impl Effect {
    /// The object this effect is about (`PAY:<paymentRequestId>`, ...), kept on the row.
    fn subject(&self) -> Option<String> {
        match self {
            Effect::Payment {
                payment_request_id, ..
            } => Some(format!("PAY:{payment_request_id}")),
            Effect::Refund {
                refund_request_id, ..
            } => Some(format!("REF:{refund_request_id}")),
            Effect::Capture {
                capture_request_id, ..
            } => Some(format!("CAP:{capture_request_id}")),
            Effect::RevokeBinding { .. } | Effect::Hold { .. } | Effect::None => None,
        }
    }
}

/// How applying a notification went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The object moved.
    Changed,
    /// Nothing to change (already there, a stale pending, a kind stored only, no binding with that token).
    Unchanged,
    /// The object is final in another status: flagged `CONTRADICTS_FINAL`; the caller inquires.
    Contradicts {
        /// The stored final status.
        current: &'static str,
    },
    /// The object is not recorded (yet): the row stays RECEIVED and is applied when it appears.
    Missing,
    /// Stored and flagged without being applied.
    Held {
        /// The flag written on the row.
        flag: &'static str,
    },
}

/// The outcome of [`Notifications::ingest`].
#[derive(Debug, Clone, PartialEq)]
pub enum Ingested {
    /// A redelivery of a stored notification: acknowledged, not applied again.
    Duplicate(Notification),
    /// The first arrival, stored and applied (as far as it could be) in one transaction.
    New {
        /// The stored notification.
        notification: Notification,
        /// What applying it changed.
        applied: Applied,
    },
}

/// The `flag` of a notification that contradicts a final state.
pub const FLAG_CONTRADICTS_FINAL: &str = "CONTRADICTS_FINAL";
/// The `flag` of a notification whose object never appeared.
pub const FLAG_SUBJECT_MISSING: &str = "SUBJECT_MISSING";
/// The transition source recorded in the audit trail.
const SOURCE: &str = "notification";

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
        insert_once(self.db, new, None).await
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

    /// Stores a verified notification once per dedup key and applies `effect` in the same transaction: the inbox
    /// row and the state change commit together or not at all, so acknowledging after this returns never loses an
    /// event, and a redelivery ([`Ingested::Duplicate`]) is never applied twice, on any number of replicas.
    ///
    /// A concurrent change of the same object (an inquiry answer landing at the same moment) rolls the attempt
    /// back and it is retried, a few times, from the start.
    pub async fn ingest(&self, new: NewNotification, effect: &Effect) -> Result<Ingested> {
        retry_races(|| self.ingest_once(new.clone(), effect)).await
    }

    async fn ingest_once(&self, new: NewNotification, effect: &Effect) -> Result<Ingested> {
        let txn = begin_write(self.db).await?;
        let row = match insert_once(&txn, new, effect.subject()).await? {
            Inserted::Existing(row) => {
                txn.commit().await?;
                return Ok(Ingested::Duplicate(row));
            }
            Inserted::Created(row) => row,
        };
        let (applied, notification) = apply_and_commit(txn, &row.id, effect).await?;
        Ok(Ingested::New {
            notification,
            applied,
        })
    }

    /// Applies a stored notification that was waiting for its object (still RECEIVED), in one transaction with
    /// its row's new state. A row already handled (by another replica's sweep) is left alone.
    pub async fn apply_pending(&self, id: &str, effect: &Effect) -> Result<Applied> {
        retry_races(|| self.apply_pending_once(id, effect)).await
    }

    async fn apply_pending_once(&self, id: &str, effect: &Effect) -> Result<Applied> {
        let txn = begin_write(self.db).await?;
        let row = transition::find::<notification::Entity, _>(&txn, Column::Id, id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: EntityKind::Notification,
                id: id.to_owned(),
            })?;
        if row.state != NotificationState::Received {
            txn.commit().await?;
            return Ok(Applied::Unchanged);
        }
        Ok(apply_and_commit(txn, id, effect).await?.0)
    }

    /// Gives up on a notification whose object never appeared: FAILED and flagged for support.
    pub async fn flag_missing(&self, id: &str, note: &str) -> Result<Notification> {
        flag(self.db, id, FLAG_SUBJECT_MISSING).await?;
        self.mark(id, NotificationState::Failed, Some(note)).await
    }
}

/// Attempts at a notification transaction that lost a race with another change of its object.
const RACE_ATTEMPTS: usize = 5;

/// Runs `attempt` again while it fails with a version conflict (its transaction rolled back), up to
/// [`RACE_ATTEMPTS`] times.
async fn retry_races<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(StoreError::VersionConflict { .. }) if tries < RACE_ATTEMPTS => tries += 1,
            other => return other,
        }
    }
}

/// Inserts the row unless one with its dedup key exists (the unique index decides, never check-then-insert) and
/// reads back whichever row holds the key.
async fn insert_once<C: sea_orm::ConnectionTrait>(
    conn: &C,
    new: NewNotification,
    subject: Option<String>,
) -> Result<Inserted<Notification>> {
    check_len("notify_type", &new.notify_type, 64)?;
    check_len("dedup_key", &new.dedup_key, 256)?;
    check_opt_len("subject", subject.as_deref(), 160)?;
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
        subject: Set(subject),
        flag: Set(None),
    };
    let inserted = notification::Entity::insert(row)
        .on_conflict(OnConflict::column(Column::DedupKey).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    let (col, value) = if inserted == 1 {
        (Column::Id, id.as_str())
    } else {
        (Column::DedupKey, new.dedup_key.as_str())
    };
    let row = transition::find::<notification::Entity, _>(conn, col, value)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("notification {value}")))?;
    Ok(if inserted == 1 {
        Inserted::Created(row)
    } else {
        Inserted::Existing(row)
    })
}

/// Sets a row's flag.
async fn flag<C: sea_orm::ConnectionTrait>(conn: &C, id: &str, flag: &str) -> Result<()> {
    notification::Entity::update_many()
        .col_expr(Column::Flag, Expr::value(flag))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Writes how applying went onto the notification's row and reads it back.
async fn record(txn: &DatabaseTransaction, id: &str, applied: Applied) -> Result<Notification> {
    let at = now();
    let (state, flag_value, note) = match applied {
        Applied::Changed | Applied::Unchanged => (NotificationState::Processed, None, None),
        Applied::Held { flag } => (NotificationState::Processed, Some(flag), None),
        Applied::Contradicts { current } => (
            NotificationState::Processed,
            Some(FLAG_CONTRADICTS_FINAL),
            Some(format!("contradicts the stored final status {current}")),
        ),
        Applied::Missing => (NotificationState::Received, None, None),
    };
    let mut update = notification::Entity::update_many()
        .col_expr(Column::State, Expr::value(state))
        .col_expr(Column::ProcessingError, Expr::value(note))
        .col_expr(
            Column::ProcessedAt,
            Expr::value((state != NotificationState::Received).then_some(at)),
        )
        .col_expr(Column::UpdatedAt, Expr::value(at));
    if let Some(flag_value) = flag_value {
        update = update.col_expr(Column::Flag, Expr::value(flag_value));
    }
    update.filter(Column::Id.eq(id)).exec(txn).await?;
    transition::find::<notification::Entity, _>(txn, Column::Id, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            entity: EntityKind::Notification,
            id: id.to_owned(),
        })
}

/// Where applying one notification stands inside its transaction.
struct Applying<'t> {
    txn: &'t DatabaseTransaction,
    notification_id: &'t str,
    /// The notification's row, once its outcome is written (before a transition, whose outbox append must be the
    /// transaction's last statement).
    recorded: Option<Notification>,
    /// The transition's outbox event, to announce after the commit.
    event: Option<outbox::Appended>,
}

/// Applies `effect`, writes the outcome on the notification's row and commits; returns both.
async fn apply_and_commit(
    txn: DatabaseTransaction,
    notification_id: &str,
    effect: &Effect,
) -> Result<(Applied, Notification)> {
    let mut applying = Applying {
        txn: &txn,
        notification_id,
        recorded: None,
        event: None,
    };
    let applied = apply_effect(&mut applying, effect).await?;
    let (recorded, event) = (applying.recorded, applying.event);
    let notification = match recorded {
        Some(row) => row,
        None => record(&txn, notification_id, applied).await?,
    };
    txn.commit().await?;
    if let Some(event) = event {
        event.committed();
    }
    Ok((applied, notification))
}

/// Applies `effect` inside the transaction.
async fn apply_effect(applying: &mut Applying<'_>, effect: &Effect) -> Result<Applied> {
    let txn = applying.txn;
    match effect {
        Effect::Payment {
            payment_request_id,
            to,
            update,
        } => {
            let Some(row) = transition::find::<payment::Entity, _>(
                txn,
                payment::Column::PaymentRequestId,
                payment_request_id,
            )
            .await?
            else {
                return Ok(Applied::Missing);
            };
            let reason = update.result.as_ref().map(|r| r.code.clone());
            let mut update = PaymentUpdate::clone(update);
            // The card facts a notification brings join the move, or (on a payment already there) add to what is
            // known; a notification contradicting the final status brings nothing.
            if let Some(report) = update.card.take()
                && !contradicts(row.status, *to)
            {
                card_facts::record_report_on(txn, &row, *to, *report).await?;
            }
            let changes = crate::payments::changes(*to, update)?;
            settle::<payment::Entity>(applying, &row, *to, reason, changes).await
        }
        Effect::Refund {
            refund_request_id,
            to,
            update,
        } => Ok(
            apply_operation::<refund::Entity>(applying, refund_request_id, *to, update)
                .await?
                .unwrap_or(Applied::Missing),
        ),
        Effect::Capture {
            capture_request_id,
            alipay_payment_id,
            to,
            update,
        } => {
            if let Some(applied) =
                apply_operation::<capture::Entity>(applying, capture_request_id, *to, update)
                    .await?
            {
                return Ok(applied);
            }
            // AUTOMATIC capture: Alipay chose the captureRequestId; its payment is what the gateway knows.
            let payment = match alipay_payment_id {
                Some(id) => {
                    transition::find::<payment::Entity, _>(
                        txn,
                        payment::Column::AlipayPaymentId,
                        id,
                    )
                    .await?
                }
                None => None,
            };
            Ok(if payment.is_some() {
                Applied::Unchanged
            } else {
                Applied::Missing
            })
        }
        Effect::RevokeBinding { access_token_hash } => {
            let Some(row) = transition::find::<wallet_binding::Entity, _>(
                txn,
                wallet_binding::Column::AccessTokenHash,
                access_token_hash,
            )
            .await?
            else {
                // No binding holds this token (any more): nothing to revoke, nothing to wait for.
                return Ok(Applied::Unchanged);
            };
            settle::<wallet_binding::Entity>(
                applying,
                &row,
                BindingStatus::Revoked,
                Some("TOKEN_CANCELED".into()),
                Default::default(),
            )
            .await
        }
        Effect::Hold { flag } => Ok(Applied::Held { flag }),
        Effect::None => Ok(Applied::Unchanged),
    }
}

/// Moves the refund or capture with this request id; `None` when it is not recorded.
async fn apply_operation<E>(
    applying: &mut Applying<'_>,
    request_id: &str,
    to: OperationStatus,
    update: &OperationUpdate,
) -> Result<Option<Applied>>
where
    E: crate::operations::Operation,
{
    let Some(row) = transition::find::<E, _>(applying.txn, E::REQUEST_ID, request_id).await? else {
        return Ok(None);
    };
    check_opt_len("alipay_id", update.alipay_id.as_deref(), 64)?;
    let changes = transition::answer_changes::<E>(update.alipay_id.clone(), update.result.clone())?;
    let reason = update.result.as_ref().map(|r| r.code.clone());
    settle::<E>(applying, &row, to, reason, changes)
        .await
        .map(Some)
}

/// Whether a notification reporting `to` contradicts an object that is final in `from`.
fn contradicts<S: Lifecycle>(from: S, to: S) -> bool {
    from != to && from.is_final() && to.is_final()
}

/// Moves `current` to `to` if that is a forward move; a final object in another final status is a contradiction.
async fn settle<E>(
    applying: &mut Applying<'_>,
    current: &E::Model,
    to: E::Status,
    reason: Option<String>,
    changes: E::ActiveModel,
) -> Result<Applied>
where
    E: Versioned,
{
    let from = E::status_of(current);
    if contradicts(from, to) {
        return Ok(Applied::Contradicts {
            current: from.as_str(),
        });
    }
    if from == to || from.is_final() {
        return Ok(Applied::Unchanged);
    }
    if !from.can_transition_to(to) {
        return Ok(Applied::Unchanged);
    }
    let mut transition = Transition::new(to, SOURCE);
    if let Some(reason) = reason {
        transition = transition.with_reason(reason);
    }
    let txn = applying.txn;
    applying.recorded = Some(record(txn, applying.notification_id, Applied::Changed).await?);
    let (_, event) = transition::apply_in::<E, _>(txn, current, &transition, changes).await?;
    applying.event = Some(event);
    Ok(Applied::Changed)
}
