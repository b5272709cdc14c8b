//! The guarded write paths shared by payments, refunds, captures and bindings: write-ahead
//! inserts keyed by a request id, and version-checked status transitions that append to the
//! audit trail in the same transaction.

use crate::audit;
use crate::batch::{self, Batch};
use crate::calls::{self, NewCall};
use crate::db::now;
use crate::entity::state_change::EntityKind;
use crate::error::{Result, StoreError};
use crate::inserted::Inserted;
use crate::jobs::{self, NewJob};
use crate::outbox::{self, Evented};
use crate::status::Lifecycle;
use crate::vocabulary::{ResultStatus, Spelled};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter, QueryTrait, SqlErr, TryIntoModel,
    Value,
};

/// Alipay's last `result` envelope for an operation, kept so support can see why it stands where
/// it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultInfo {
    /// `S`, `F` or `U`.
    pub status: ResultStatus,
    /// Alipay's `resultCode`.
    pub code: String,
    /// Alipay's `resultMessage`.
    pub message: Option<String>,
}

/// Columns a refund or capture transition may write. `None` leaves a column unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationUpdate {
    /// Alipay's refundId / captureId.
    pub alipay_id: Option<String>,
    /// Alipay's last result envelope for the operation.
    pub result: Option<ResultInfo>,
}

/// A requested status change: the target, who caused it (recorded in the audit trail:
/// "pay_response", "inquiry", "reconciler", "notification", ...) and optionally a reason and a
/// follow-up job committed in the same transaction (so a PROCESSING payment can never be left
/// without its poller by a crash between two writes).
#[derive(Debug, Clone)]
pub struct Transition<S> {
    /// The target status.
    pub to: S,
    /// Who caused the move (`pay_response`, `inquiry`, `reconciler`, `notification`, ...), for the audit trail.
    pub source: String,
    /// Why, when the cause alone does not say (recorded in the audit trail).
    pub reason: Option<String>,
    /// A job committed in the same transaction, so a crash cannot separate the move from its follow-up.
    pub follow_up: Option<NewJob>,
    /// The records of the Alipay calls that brought this answer, written with the move (see
    /// [`Transition::with_call_records`]).
    pub calls: Vec<NewCall>,
    /// Set by [`Transition::releasing_authorization`]: the one move out of a final status.
    release: bool,
}

impl<S> Transition<S> {
    /// A move to `to` caused by `source`.
    pub fn new(to: S, source: impl Into<String>) -> Self {
        Self {
            to,
            source: source.into(),
            reason: None,
            follow_up: None,
            calls: Vec::new(),
            release: false,
        }
    }

    /// Marks the move as the release (void) of an authorization Alipay confirmed cancelled: it may leave a final
    /// status where [`Lifecycle::released_to`] says so (a payment's SUCCESS authorization to CANCELLED). The caller
    /// must have checked that no money moved (an uncaptured MANUAL authorization).
    pub fn releasing_authorization(mut self) -> Self {
        self.release = true;
        self
    }

    /// Adds a reason (typically the Alipay result code) to the audit row.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Writes the records of the Alipay calls that brought this answer in the move's own transaction, instead of
    /// a call-log commit of their own. Written only if the move is: a caller whose move was refused keeps them to
    /// record otherwise.
    pub fn with_call_records(mut self, calls: Vec<NewCall>) -> Self {
        self.calls = calls;
        self
    }

    /// Whether the move may leave `from`.
    fn allows(&self, from: S) -> bool
    where
        S: Lifecycle + Copy,
    {
        from.can_transition_to(self.to) || (self.release && from.released_to(self.to))
    }

    /// Enqueues `job` in the same transaction (skipped if an active job of that kind and
    /// subject already exists).
    pub fn with_follow_up(mut self, job: NewJob) -> Self {
        self.follow_up = Some(job);
        self
    }
}

/// Longest `source` the audit column holds.
const MAX_SOURCE_LEN: usize = 64;

/// An entity with an id, a status under a [`Lifecycle`], a version and an update time, whose changes the event
/// stream may carry. Every write of its rows bumps the version: a row's version names its contents, which lets a
/// move build the row it writes (and its event) from the row its caller read.
pub(crate) trait Versioned:
    EntityTrait<
        Model: IntoActiveModel<Self::ActiveModel> + FromQueryResult,
        ActiveModel: ActiveModelTrait<Entity = Self> + TryIntoModel<Self::Model> + Send,
    > + Evented
{
    type Status: Lifecycle;
    const KIND: EntityKind;
    const ID: Self::Column;
    const STATUS: Self::Column;
    const VERSION: Self::Column;
    const UPDATED_AT: Self::Column;
    fn id_of(model: &Self::Model) -> &str;
    fn status_of(model: &Self::Model) -> Self::Status;
    fn version_of(model: &Self::Model) -> i64;
}

/// A versioned entity that records what Alipay answered about it: Alipay's own id for it (known
/// from the first answer that carries one) and the last `result` envelope.
pub(crate) trait Answered: Versioned {
    const ALIPAY_ID: Self::Column;
    const LAST_RESULT_STATUS: Self::Column;
    const LAST_RESULT_CODE: Self::Column;
    const LAST_RESULT_MESSAGE: Self::Column;
}

/// The changes every Alipay answer brings, whatever the entity: Alipay's id when the answer
/// carries one (`None` leaves the stored id alone) and the result envelope when there is one
/// (its message replaces the stored one even when absent, so an old message never sits next to
/// a new code).
pub(crate) fn answer_changes<E>(
    alipay_id: Option<String>,
    result: Option<ResultInfo>,
) -> Result<E::ActiveModel>
where
    E: Answered,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
{
    let mut changes = <E::ActiveModel as ActiveModelTrait>::default();
    if let Some(alipay_id) = alipay_id {
        changes.try_set(E::ALIPAY_ID, Value::from(Some(alipay_id)))?;
    }
    if let Some(result) = result {
        changes.try_set(
            E::LAST_RESULT_STATUS,
            Value::from(Some(result.status.spelling())),
        )?;
        changes.try_set(E::LAST_RESULT_CODE, Value::from(Some(result.code)))?;
        changes.try_set(E::LAST_RESULT_MESSAGE, Value::from(result.message))?;
    }
    Ok(changes)
}

/// What an `INSERT ... ON CONFLICT DO NOTHING RETURNING *` wrote: the row, or `None` when it returned none
/// because the conflict target already held one.
pub(crate) fn returning_unless_conflict<M>(
    inserted: std::result::Result<M, DbErr>,
) -> Result<Option<M>> {
    match inserted {
        Ok(row) => Ok(Some(row)),
        // sea-orm reports an insert that returned no row as "not found".
        Err(DbErr::RecordNotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

pub(crate) async fn find<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    col: E::Column,
    value: &str,
) -> Result<Option<E::Model>> {
    Ok(E::find().filter(col.eq(value)).one(conn).await?)
}

/// Rows not yet final whose last update is older than `older_than`, oldest first: the
/// reconciler's safety net for a row whose follow-up job is gone (e.g. escalated, or written by
/// a version that committed the intent and its job separately).
pub(crate) async fn stale_unfinished<E: Versioned>(
    db: &DatabaseConnection,
    older_than: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<E::Model>> {
    use sea_orm::{QueryOrder, QuerySelect};
    let unfinished = E::Status::ALL
        .iter()
        .filter(|s| !s.is_final())
        .map(|s| s.as_str());
    Ok(E::find()
        .filter(E::STATUS.is_in(unfinished))
        .filter(E::UPDATED_AT.lt(older_than))
        .order_by_asc(E::UPDATED_AT)
        .limit(limit)
        .all(db)
        .await?)
}

pub(crate) async fn require<E: Versioned, C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<E::Model> {
    find::<E, C>(conn, E::ID, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            entity: E::KIND,
            id: id.to_owned(),
        })
}

/// A record an intent depends on, at the version its caller read (an auto debit's binding).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StillAt<'a> {
    entity: EntityKind,
    table: &'static str,
    id: &'a str,
    version: i64,
}

impl<'a> StillAt<'a> {
    /// The `D` row `id` at `version`.
    pub(crate) fn of<D: Versioned + Default>(id: &'a str, version: i64) -> Self {
        Self {
            entity: D::KIND,
            table: D::default().table_name(),
            id,
            version,
        }
    }
}

/// Inserts `row` unless a row with the same `request_col` value exists. Atomically: the insert (conflict-free
/// thanks to the unique index, never check-then-insert), the audit row recording creation, the `follow_up` job (the
/// reconciliation job that finishes the row if its caller dies: committed with the row, so no row can exist without
/// it) and the event. They are one [`Batch`]: one statement on PostgreSQL, one call inside the write transaction on
/// SQLite. The created row is `row` as written (its times at the stores' microsecond precision), neither returned
/// whole nor read back: the insert returns only its key, which tells that it wrote. A row already there makes
/// the insert, and with it the batch, fail on the unique index: the stored row is then answered. With `still_at`,
/// nothing is written unless that record still stands at the version the caller read
/// ([`StoreError::DependencyChanged`]).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_intent<E>(
    db: &DatabaseConnection,
    row: E::ActiveModel,
    id: &str,
    request_col: E::Column,
    request_id: &str,
    initial: E::Status,
    created_at: DateTime<Utc>,
    follow_up: Option<&NewJob>,
    still_at: Option<StillAt<'_>>,
) -> Result<Inserted<E::Model>>
where
    E: Versioned,
{
    let backend = db.get_database_backend();
    let row = at_stored_precision::<E>(row)?;
    let created = row.clone().try_into_model()?;
    let mut insert = E::insert(row).into_query();
    insert.returning_col(E::ID);
    let insert = backend.build(&insert);
    let mut batch = match &still_at {
        None => Batch::new(backend, insert),
        Some(at) => Batch::guarded(
            backend,
            batch::insert_while_at(insert, at.table, at.id, at.version)?,
        ),
    };
    batch.then(audit::insert(
        backend,
        E::KIND,
        id,
        None,
        initial.as_str(),
        "intent",
        None,
        created_at,
    ))?;
    let event = outbox::event_row::<E, _>(db, None, &created).await?;
    let evented = event.is_some();
    if let Some(event) = event {
        batch.then_event(event)?;
    }
    // Last, as in a move (see [`Batch::guarded`]); for a new row it always inserts.
    if let Some(job) = follow_up {
        batch.then(jobs::enqueue_new(backend, job)?)?;
    }
    match batch.commit(db).await {
        Ok(wrote) => {
            if !wrote {
                return Err(match still_at {
                    Some(at) => StoreError::DependencyChanged {
                        entity: at.entity,
                        id: at.id.to_owned(),
                        expected: at.version,
                    },
                    None => StoreError::NotFound {
                        entity: E::KIND,
                        id: id.to_owned(),
                    },
                });
            }
            outbox::appended(evented).committed();
            Ok(Inserted::Created(created))
        }
        Err(StoreError::Database(error))
            if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
        {
            match find::<E, _>(db, request_col, request_id).await? {
                Some(existing) => Ok(Inserted::Existing(existing)),
                None => Err(StoreError::Database(error)),
            }
        }
        Err(error) => Err(error),
    }
}

/// The row `id` as it stands, if the move `transition` may be applied to it by a caller that read it at
/// `expected_version`; for callers that know only the id and version (see [`apply`] for one that read the row).
/// The move must be allowed from the *current* status (checked first, so a late result that lost the race is told
/// "illegal" rather than "retry"), and the row must still be at `expected_version`.
pub(crate) async fn read_at<E, C>(
    conn: &C,
    id: &str,
    expected_version: i64,
    transition: &Transition<E::Status>,
) -> Result<E::Model>
where
    E: Versioned,
    C: ConnectionTrait,
{
    let current = require::<E, _>(conn, id).await?;
    let from = E::status_of(&current);
    if !transition.allows(from) {
        return Err(StoreError::IllegalTransition {
            entity: E::KIND,
            id: id.to_owned(),
            from: from.as_str(),
            to: transition.to.as_str(),
        });
    }
    if E::version_of(&current) != expected_version {
        return Err(version_conflict::<E>(id, expected_version, &current));
    }
    Ok(current)
}

/// Moves `before`, the row as the caller read it, to `transition.to` writing `changes`, with optimistic
/// concurrency: the move is written only if the row still stands at `before`'s version and status (see
/// [`Move`]). It is a transaction of its own sent as one call ([`Batch::commit`]). Errors as [`read_at`]'s, decided
/// from the row as it stands when the guard did not match.
pub(crate) async fn apply<E: Versioned>(
    db: &DatabaseConnection,
    before: &E::Model,
    transition: &Transition<E::Status>,
    changes: E::ActiveModel,
) -> Result<E::Model> {
    // Boxed: the move's future stays off its callers', which the engine nests deeply.
    Box::pin(async move {
        let (batch, planned) = Move::<E>::plan(db, before, transition, changes).await?;
        let wrote = batch.commit(db).await?;
        let (row, event) = planned.finish(db, wrote).await?;
        event.committed();
        Ok(row)
    })
    .await
}

/// [`apply_in`] as the last writes of `txn`, then the commit and the event's announcement: for a caller whose
/// transaction wrote something of its own first (a card payment's card facts) and holds the write turn.
pub(crate) async fn apply_and_commit<E: Versioned>(
    txn: DatabaseTransaction,
    before: &E::Model,
    transition: &Transition<E::Status>,
    changes: E::ActiveModel,
) -> Result<E::Model> {
    // Boxed: the move's future stays off its callers', which the engine nests deeply.
    let (row, event) = Box::pin(apply_in::<E, _>(&txn, before, transition, changes)).await?;
    txn.commit().await?;
    event.committed();
    Ok(row)
}

/// The move of [`apply`] inside the caller's transaction `txn`, so it commits (or not) together with the caller's
/// other writes (a received notification's inbox row). Its event append is its last write but the job's (see
/// [`outbox`]), so it must be the caller's last statement too; call [`outbox::Appended::committed`] after the
/// commit.
pub(crate) async fn apply_in<E: Versioned, C: ConnectionTrait>(
    txn: &C,
    before: &E::Model,
    transition: &Transition<E::Status>,
    changes: E::ActiveModel,
) -> Result<(E::Model, outbox::Appended)> {
    let (batch, planned) = Move::<E>::plan(txn, before, transition, changes).await?;
    let wrote = batch.run(txn).await?;
    planned.finish(txn, wrote).await
}

/// A status move as one guarded [`Batch`]:
/// 1. `UPDATE ... SET changes, status, version + 1, updated_at WHERE id = ? AND version = ? AND status = ?
///    RETURNING id`: whether it wrote. The row it wrote is `before` with the changes applied (every write of a
///    versioned row bumps its version, so the row the guard matches is `before`): neither returned whole nor read
///    back;
/// 2. the audit row when the status changes;
/// 3. the event, if the change is one. It is built before the write, from `before` with the changes applied: every
///    write of a versioned row bumps its version, so the row the guard matches is `before`;
/// 4. the call-log rows of the calls that brought the answer;
/// 5. the follow-up job.
///
/// When the guard matches nothing the others write nothing either, and the row as it stands decides the error.
struct Move<'a, E: Versioned> {
    before: &'a E::Model,
    /// The row the batch writes when its guard matches.
    after: E::Model,
    transition: &'a Transition<E::Status>,
    evented: bool,
}

impl<'a, E: Versioned> Move<'a, E> {
    /// The batch moving `before`, and what [`Self::finish`] needs of it; reads on `conn` only what the event names
    /// (a refund's or capture's payment), or, when the move is not allowed from `before`'s status, the row as it
    /// stands to say why.
    async fn plan<C: ConnectionTrait>(
        conn: &C,
        before: &'a E::Model,
        transition: &'a Transition<E::Status>,
        mut changes: E::ActiveModel,
    ) -> Result<(Batch, Self)> {
        if transition.source.is_empty() || transition.source.len() > MAX_SOURCE_LEN {
            return Err(StoreError::Invalid {
                field: "transition.source",
                reason: format!("must be 1..={MAX_SOURCE_LEN} bytes"),
            });
        }
        let id = E::id_of(before);
        let from = E::status_of(before);
        let version = E::version_of(before);
        if !transition.allows(from) {
            return Err(refusal::<E, _>(conn, id, version, transition).await);
        }
        let backend = conn.get_database_backend();
        let at = now();
        changes.set(E::STATUS, Value::from(transition.to.as_str()));
        changes.set(E::VERSION, Value::from(version + 1));
        changes.set(E::UPDATED_AT, Value::from(at));
        let changes = at_stored_precision::<E>(changes)?;
        let after = with_changes::<E>(before, &changes)?;
        let mut update = E::update_many()
            .set(changes)
            .filter(E::ID.eq(id))
            .filter(E::VERSION.eq(version))
            .filter(E::STATUS.eq(from.as_str()))
            .into_query();
        update.returning_col(E::ID);
        let mut batch = Batch::guarded(backend, backend.build(&update));
        if from != transition.to {
            batch.then(audit::insert(
                backend,
                E::KIND,
                id,
                Some(from.as_str()),
                transition.to.as_str(),
                &transition.source,
                transition.reason.as_deref(),
                at,
            ))?;
        }
        let event = outbox::event_row::<E, _>(conn, Some(before), &after).await?;
        let evented = event.is_some();
        if let Some(event) = event {
            batch.then_event(event)?;
        }
        for call in &transition.calls {
            batch.then(calls::insert(backend, call)?)?;
        }
        // Last: it may insert nothing (an active job of its kind is already there), see [`Batch::guarded`].
        if let Some(job) = &transition.follow_up {
            batch.then(jobs::enqueue_new(backend, job)?)?;
        }
        Ok((
            batch,
            Self {
                before,
                after,
                transition,
                evented,
            },
        ))
    }

    /// The row the batch wrote if it `wrote`, or why it wrote none, read on `conn`.
    async fn finish<C: ConnectionTrait>(
        self,
        conn: &C,
        wrote: bool,
    ) -> Result<(E::Model, outbox::Appended)> {
        if wrote {
            return Ok((self.after, outbox::appended(self.evented)));
        }
        Err(refusal::<E, _>(
            conn,
            E::id_of(self.before),
            E::version_of(self.before),
            self.transition,
        )
        .await)
    }
}

/// `row` with its times cut to microseconds, the precision both stores keep (PostgreSQL rounds finer ones, SQLite
/// keeps them as written): so that the row a write answers, and its event, are the row a later read finds, on
/// either store. The gateway's own clock is read at that precision ([`now`]); this covers times a caller or Alipay
/// gave.
fn at_stored_precision<E: Versioned>(mut row: E::ActiveModel) -> Result<E::ActiveModel> {
    use chrono::{SubsecRound, Timelike};
    use sea_orm::{ActiveValue, Iterable};
    for column in E::Column::iter() {
        if let ActiveValue::Set(Value::ChronoDateTimeUtc(Some(time))) = row.get(column)
            && time.nanosecond() % 1_000 != 0
        {
            row.try_set(column, Value::from(time.trunc_subsecs(6)))?;
        }
    }
    Ok(row)
}

/// `before` with the `Set` values of `changes` written over it: the row a guarded update of `before` writes.
fn with_changes<E>(before: &E::Model, changes: &E::ActiveModel) -> Result<E::Model>
where
    E: Versioned,
{
    use sea_orm::{ActiveValue, Iterable};
    let mut after = before.clone().into_active_model();
    for column in E::Column::iter() {
        if let ActiveValue::Set(value) = changes.get(column) {
            after.try_set(column, value)?;
        }
    }
    Ok(after.try_into_model()?)
}

/// Why a guarded move of `id` from `expected_version` was not written: [`read_at`]'s answer for the row as it now
/// stands (a version conflict if it would now allow the move after all: the caller's read was stale).
async fn refusal<E, C>(
    conn: &C,
    id: &str,
    expected_version: i64,
    transition: &Transition<E::Status>,
) -> StoreError
where
    E: Versioned,
    C: ConnectionTrait,
{
    match read_at::<E, _>(conn, id, expected_version, transition).await {
        Err(error) => error,
        Ok(current) => version_conflict::<E>(id, expected_version, &current),
    }
}

fn version_conflict<E: Versioned>(id: &str, expected: i64, current: &E::Model) -> StoreError {
    StoreError::VersionConflict {
        entity: E::KIND,
        id: id.to_owned(),
        expected,
        actual: E::version_of(current),
    }
}
