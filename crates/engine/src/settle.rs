//! Guarded status moves for payments, refunds and captures. The store enforces the transition table and optimistic
//! versions; this module turns its "you lost a race" answers into the right engine behaviour: re-read and try
//! again while the move is still allowed, and otherwise return the current row (a final state that won the race is
//! never overwritten by a late answer).

use std::future::Future;
use std::time::Duration;

use store::captures::Capture;
use store::payments::Payment;
use store::refunds::Refund;
use store::{Lifecycle, OperationStatus, PaymentStatus, StoreError, Transition};

use crate::error::EngineError;
use crate::recorder::HeldCalls;

/// How many lost races a single move tolerates before giving up; each loss means someone else made progress.
const MAX_RACES: usize = 5;

/// A stored row with a guarded status.
pub(crate) trait Tracked: Clone {
    type Status: Lifecycle;
    const WHAT: &'static str;
    fn row_id(&self) -> &str;
    fn row_status(&self) -> Self::Status;
    /// Written ahead and not yet answered: the call that created it may still be in flight.
    fn in_flight(&self) -> bool;
}

/// Implements [`Tracked`] for store rows, which all name their columns `id` and `status`.
macro_rules! tracked {
    ($($row:ty: $status:ty = $what:literal),+ $(,)?) => {$(
        impl Tracked for $row {
            type Status = $status;
            const WHAT: &'static str = $what;
            fn row_id(&self) -> &str {
                &self.id
            }
            fn row_status(&self) -> $status {
                self.status
            }
            fn in_flight(&self) -> bool {
                self.status == <$status>::Created
            }
        }
    )+};
}

tracked!(
    Payment: PaymentStatus = "payment",
    Refund: OperationStatus = "refund",
    Capture: OperationStatus = "capture",
);

/// Where [`settle`] left a row.
pub(crate) struct Settled<T> {
    /// The row as it stands afterwards.
    pub(crate) row: T,
    /// Whether this move was written; `false` when the move was no longer allowed (another source got there
    /// first), so whatever the caller meant to write with it was not written either.
    pub(crate) applied: bool,
}

/// Moves `row` to `to` with `apply(row as read)`, re-reading with `reload(id)` after a lost race. Returns the row as
/// it stands afterwards: moved, or unchanged because the move is no longer allowed.
async fn settle<T, A, AF, R, RF>(
    mut row: T,
    to: T::Status,
    mut apply: A,
    mut reload: R,
) -> Result<Settled<T>, EngineError>
where
    T: Tracked,
    A: FnMut(T) -> AF,
    AF: Future<Output = Result<T, StoreError>>,
    R: FnMut(String) -> RF,
    RF: Future<Output = Result<Option<T>, StoreError>>,
{
    for _ in 0..MAX_RACES {
        if !row.row_status().can_transition_to(to) {
            return Ok(Settled {
                row,
                applied: false,
            });
        }
        let id = row.row_id().to_owned();
        match apply(row).await {
            Ok(moved) => {
                return Ok(Settled {
                    row: moved,
                    applied: true,
                });
            }
            Err(StoreError::VersionConflict { .. } | StoreError::IllegalTransition { .. }) => {
                row = reload(id.clone())
                    .await?
                    .ok_or(EngineError::NotFound { what: T::WHAT, id })?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(EngineError::illegal_state(
        crate::reasons::CONCURRENT_MODIFICATION,
        format!("{} {} keeps changing concurrently", T::WHAT, row.row_id()),
    ))
}

/// [`settle`] by `transition`, whose transaction also writes the records of the Alipay calls that brought its
/// answer (`held`); `apply(row as read, transition)` writes one attempt. Records the move did not write are queued
/// for the recorder when `held` drops: a refused move's, and a failed one's, which is then made again without them
/// from the row as `reload(id)` reads it (a call-log row that cannot be written never fails the answer).
pub(crate) async fn settle_recording<T, A, AF, R, RF>(
    row: T,
    transition: Transition<T::Status>,
    held: Option<HeldCalls>,
    apply: A,
    reload: R,
) -> Result<Settled<T>, EngineError>
where
    T: Tracked,
    A: Fn(T, Transition<T::Status>) -> AF,
    AF: Future<Output = Result<T, StoreError>>,
    R: Fn(String) -> RF,
    RF: Future<Output = Result<Option<T>, StoreError>>,
{
    let id = row.row_id().to_owned();
    let to = transition.to;
    let records = held.as_ref().map_or(&[][..], HeldCalls::records);
    let with_records = !records.is_empty();
    let moved = settle(
        row,
        to,
        |before| {
            apply(
                before,
                transition.clone().with_call_records(records.to_vec()),
            )
        },
        &reload,
    )
    .await;
    match (moved, held) {
        (Ok(settled), Some(held)) if settled.applied => {
            held.written();
            Ok(settled)
        }
        (Ok(settled), _) => Ok(settled),
        (Err(error), _) if with_records => {
            tracing::warn!(%error, what = T::WHAT, %id, "move with its call records failed; making it without them");
            let row = reload(id.clone())
                .await?
                .ok_or(EngineError::NotFound { what: T::WHAT, id })?;
            settle(row, to, |before| apply(before, transition.clone()), &reload).await
        }
        (Err(error), _) => Err(error),
    }
}

/// A duplicate request's view of its original: while the row is still CREATED the original call is in flight (in
/// this process or on another replica), so re-read it with `reload(id)` every `poll` until its answer is recorded
/// or `within` has passed. Returns the row as it then stands; the caller answers from it as the original did.
pub(crate) async fn await_original<T, R, RF>(
    mut row: T,
    within: Duration,
    poll: Duration,
    mut reload: R,
) -> Result<T, EngineError>
where
    T: Tracked,
    R: FnMut(String) -> RF,
    RF: Future<Output = Result<Option<T>, StoreError>>,
{
    let deadline = tokio::time::Instant::now() + within;
    while row.in_flight() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(poll).await;
        let id = row.row_id().to_owned();
        row = reload(id.clone())
            .await?
            .ok_or(EngineError::NotFound { what: T::WHAT, id })?;
    }
    Ok(row)
}
