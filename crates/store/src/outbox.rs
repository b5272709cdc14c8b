//! The write side of the payment event stream: every payment, refund and capture change appends one row to
//! `payment_events` inside the transaction that makes the change, so the stream can never disagree with the data
//! (an event exists if and only if its change committed), whatever caused the change (an RPC, the reconciler, a
//! notification).
//!
//! Commit order. Readers page through the outbox by `seq`, so `seq` order must be commit order: a reader that has
//! seen `seq` N must never later find a newly committed N-1. A plain sequence does not give that on PostgreSQL
//! (transaction A takes 7, B takes 8 and commits first; a reader at 8 then skips 7 forever). The append therefore
//! takes a transaction-level advisory lock right before it draws its number and holds it until commit: numbers
//! are drawn in commit order and the highest visible `seq` proves every lower one committed or rolled back. The
//! lock is taken last so it is held only for the insert and the commit itself; nothing may wait on another lock
//! after the append in the same transaction. The lock and the insert are one statement (a materialised CTE takes the
//! lock before the row, and so its `seq`, is produced): one round trip, not two. SQLite needs no lock: `BEGIN
//! IMMEDIATE` already serialises writers.
//! The cost (commits of state changes are serialised) is measured in `benches/` and discussed in
//! docs/architecture.md.

use crate::db::{new_id, now};
use crate::entity::payment_event::{self, EventType};
use crate::entity::{capture, payment, refund, wallet_binding};
use crate::error::{Result, StoreError};
use crate::events::EventSubject;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, EntityTrait};
use std::sync::LazyLock;
use tokio::sync::watch;

/// Bumped after every commit that appended an event in this process, so local streams wake at once instead of
/// at their next poll.
static LOCAL_COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// A receiver of [`LOCAL_COMMITS`].
pub(crate) fn local_commits() -> watch::Receiver<u64> {
    LOCAL_COMMITS.subscribe()
}

/// A record kind the stream carries, or not: bindings are versioned too but are no payment events.
pub(crate) trait Evented: EntityTrait {
    /// The record as a stream subject, `None` for kinds without events.
    fn subject(model: &Self::Model) -> Option<Subject<'_>>;
}

/// A changed record the stream carries, borrowed from the transaction's read-back.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    Payment(&'a payment::Model),
    Refund(&'a refund::Model),
    Capture(&'a capture::Model),
}

impl Evented for payment::Entity {
    fn subject(model: &payment::Model) -> Option<Subject<'_>> {
        Some(Subject::Payment(model))
    }
}

impl Evented for refund::Entity {
    fn subject(model: &refund::Model) -> Option<Subject<'_>> {
        Some(Subject::Refund(model))
    }
}

impl Evented for capture::Entity {
    fn subject(model: &capture::Model) -> Option<Subject<'_>> {
        Some(Subject::Capture(model))
    }
}

impl Evented for wallet_binding::Entity {
    fn subject(_: &wallet_binding::Model) -> Option<Subject<'_>> {
        None
    }
}

/// Whether an event was appended; call [`Appended::committed`] after the commit to wake local streams.
#[must_use = "call committed() after the transaction commits"]
#[derive(Debug)]
pub(crate) struct Appended(bool);

impl Appended {
    /// Wakes this process's streams (other replicas see the event at their next poll).
    pub(crate) fn committed(self) {
        if self.0 {
            LOCAL_COMMITS.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// The event row for a change from `before` (`None`: just created) to `after`, if it is one: a creation, a status
/// change, or a payment gaining a new next action (the buyer has something new to do). Re-recording the same status
/// (an inquiry that learned nothing) is no event. A refund's or capture's event names its payment, which is read on
/// `conn`. [`crate::batch::Batch::then_event`] appends it, as the last write of its transaction but a job's (see
/// the module documentation).
pub(crate) async fn event_row<E: Evented, C: ConnectionTrait>(
    conn: &C,
    before: Option<&E::Model>,
    after: &E::Model,
) -> Result<Option<payment_event::ActiveModel>> {
    let Some(subject) = E::subject(after) else {
        return Ok(None);
    };
    let previous = before.and_then(E::subject);
    if !is_event(previous, subject) {
        return Ok(None);
    }
    let snapshot = snapshot(conn, subject).await?;
    let (event_type, entity_id, payment) = match &snapshot {
        EventSubject::Payment { payment, .. } => (EventType::Payment, &payment.id, payment),
        EventSubject::Refund { refund, payment } => (EventType::Refund, &refund.id, payment),
        EventSubject::Capture { capture, payment } => (EventType::Capture, &capture.id, payment),
    };
    Ok(Some(payment_event::ActiveModel {
        seq: NotSet,
        event_id: Set(new_id()),
        event_type: Set(event_type),
        entity_id: Set(entity_id.clone()),
        payment_request_id: Set(payment.payment_request_id.clone()),
        customer_id: Set(payment.customer_id.clone()),
        product_code: Set(payment.product_code),
        snapshot: Set(
            serde_json::to_value(&snapshot).map_err(|e| StoreError::Corrupt {
                field: "payment_events.snapshot",
                id: entity_id.clone(),
                reason: e.to_string(),
            })?,
        ),
        created_at: Set(now()),
    }))
}

/// Whether a committed batch appended an event row, to announce with [`Appended::committed`].
pub(crate) fn appended(event: bool) -> Appended {
    Appended(event)
}

fn is_event(before: Option<Subject<'_>>, after: Subject<'_>) -> bool {
    match (before, after) {
        (None, _) => true,
        (Some(Subject::Payment(b)), Subject::Payment(a)) => {
            b.status != a.status || (a.next_action.is_some() && a.next_action != b.next_action)
        }
        (Some(Subject::Refund(b)), Subject::Refund(a)) => b.status != a.status,
        (Some(Subject::Capture(b)), Subject::Capture(a)) => b.status != a.status,
        // Kinds never change; treat a mismatch as a change rather than lose an event.
        (Some(_), _) => true,
    }
}

/// The record after the change, with the payment a refund or capture belongs to (the stream names it).
async fn snapshot<C: ConnectionTrait>(conn: &C, subject: Subject<'_>) -> Result<EventSubject> {
    Ok(match subject {
        Subject::Payment(p) => EventSubject::Payment { payment: p.clone() },
        Subject::Refund(r) => EventSubject::Refund {
            refund: r.clone(),
            payment: payment_of(conn, &r.payment_id).await?,
        },
        Subject::Capture(c) => EventSubject::Capture {
            capture: c.clone(),
            payment: payment_of(conn, &c.payment_id).await?,
        },
    })
}

async fn payment_of<C: ConnectionTrait>(conn: &C, id: &str) -> Result<payment::Model> {
    payment::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::UnknownPayment(id.to_owned()))
}
