//! Reconciliation jobs: durable follow-up work with leases.
//!
//! A job is claimed by one replica at a time: claiming sets a lease (owner + expiry) in a single
//! atomic statement, and every later write by the worker is conditioned on still holding that
//! lease. A replica that crashes simply stops renewing; once the lease expires the job is
//! claimable again. At most one *active* (PENDING/RUNNING) job exists per (kind, subject),
//! enforced by a partial unique index, so a payment never has two pollers.

use crate::db::{begin_write, check_len, lease_end, new_id, now, placeholders};
use crate::entity::reconciliation_job::{self, Column};
pub use crate::entity::reconciliation_job::{JobKind, JobStatus};
use crate::error::{Result, StoreError};
use crate::inserted::Inserted;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, Statement, Value,
};
use std::time::Duration;

/// A stored job.
pub type Job = reconciliation_job::Model;

/// Work to schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What the job does when it runs (and so which kind of record `subject_id` names).
    pub kind: JobKind,
    /// The gateway id of the payment, refund, capture or binding the job acts on.
    pub subject_id: String,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
    /// Anything the handler needs beyond the subject (e.g. back-off step, cancel reason).
    pub payload: serde_json::Value,
}

impl NewJob {
    /// A job with an empty payload.
    pub fn new(kind: JobKind, subject_id: impl Into<String>, run_at: DateTime<Utc>) -> Self {
        Self {
            kind,
            subject_id: subject_id.into(),
            run_at,
            payload: serde_json::Value::Object(Default::default()),
        }
    }

    /// The same job carrying `payload`.
    pub fn with_payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = payload;
        self
    }
}

/// How many times `enqueue` re-reads when the active job it collided with finishes in between.
const ENQUEUE_ATTEMPTS: usize = 4;
const MAX_CLAIM: u32 = 1000;

/// Job repository; get one from [`crate::Store::jobs`].
#[derive(Debug, Clone, Copy)]
pub struct Jobs<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Jobs<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Schedules a job unless one of the same kind and subject is already active, in which case
    /// that one is returned as [`Inserted::Existing`] (its schedule is left alone).
    pub async fn enqueue(&self, job: NewJob) -> Result<Inserted<Job>> {
        enqueue_on(self.db, &job).await
    }

    /// Claims up to `limit` due jobs for `owner` for `lease_for`: PENDING jobs whose run time has
    /// come, and RUNNING jobs whose lease expired (their worker died). Each claim increments
    /// `attempts`. Safe with any number of concurrent claimers: a job is handed to exactly one.
    ///
    /// PostgreSQL: the candidate rows are locked with `FOR UPDATE SKIP LOCKED`, so concurrent
    /// claimers skip each other's rows instead of waiting or double-claiming. SQLite: the same
    /// `UPDATE ... WHERE id IN (SELECT ...) RETURNING *` runs under SQLite's single write lock
    /// (taken up front with `BEGIN IMMEDIATE`), so claims are serialised.
    pub async fn claim_due(
        &self,
        owner: &str,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<Job>> {
        check_len("owner", owner, 128)?;
        if limit == 0 || limit > MAX_CLAIM {
            return Err(StoreError::Invalid {
                field: "limit",
                reason: format!("must be 1..={MAX_CLAIM}"),
            });
        }
        let at = now();
        let backend = self.db.get_database_backend();
        let lock = if backend == DbBackend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        // The due condition is repeated on the outer UPDATE so that, even if the subquery saw a
        // stale snapshot, a row claimed meanwhile by someone else no longer matches.
        let due = "((status = 'PENDING' AND next_run_at <= $3) \
                   OR (status = 'RUNNING' AND lease_expires_at <= $3))";
        let sql = format!(
            "UPDATE reconciliation_jobs \
             SET status = 'RUNNING', lease_owner = $1, lease_expires_at = $2, \
                 attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM reconciliation_jobs WHERE {due} \
                          ORDER BY next_run_at, id LIMIT $4 {lock}) \
               AND {due} \
             RETURNING *"
        );
        let values: Vec<Value> = vec![
            owner.into(),
            lease_end(at, lease_for).into(),
            at.into(),
            i64::from(limit).into(),
        ];
        let stmt = Statement::from_sql_and_values(backend, placeholders(backend, &sql), values);
        let txn = begin_write(self.db).await?;
        let mut jobs = reconciliation_job::Entity::find()
            .from_raw_sql(stmt)
            .all(&txn)
            .await?;
        txn.commit().await?;
        jobs.sort_by(|a, b| (a.next_run_at, &a.id).cmp(&(b.next_run_at, &b.id)));
        Ok(jobs)
    }

    /// Gives the job back to run again at `next_run_at` (back-off), noting why.
    pub async fn reschedule(
        &self,
        id: &str,
        owner: &str,
        next_run_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<Job> {
        self.release(id, owner, JobStatus::Pending, Some(next_run_at), error)
            .await
    }

    /// Moves the PENDING job of this kind and subject to run at `run_at`, without a lease: for the
    /// code that created a job and learns it should run at another time (e.g. a write-ahead inquiry
    /// whose call has now answered "in process", so the first inquiry need not wait out the
    /// write-ahead grace). A RUNNING job is left alone, since a replica holds it and its run decides
    /// what comes next. Returns whether a job was moved: `false` when no job of this kind and
    /// subject is PENDING (none scheduled, running, or already finished).
    pub async fn reschedule_pending(
        &self,
        kind: JobKind,
        subject_id: &str,
        run_at: DateTime<Utc>,
    ) -> Result<bool> {
        // One conditional UPDATE: a claim racing it either happens first (the row is RUNNING and
        // does not match) or after (it claims the row with its new run time).
        let result = reconciliation_job::Entity::update_many()
            .col_expr(Column::NextRunAt, Expr::value(run_at))
            .col_expr(Column::UpdatedAt, Expr::value(now()))
            .filter(Column::Kind.eq(kind))
            .filter(Column::SubjectId.eq(subject_id))
            .filter(Column::Status.eq(JobStatus::Pending))
            .exec(self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Marks the job done.
    pub async fn complete(&self, id: &str, owner: &str) -> Result<Job> {
        self.release(id, owner, JobStatus::Done, None, None).await
    }

    /// Marks the job failed for good (e.g. escalate to support); a new job of the same kind and
    /// subject may then be enqueued.
    pub async fn fail(&self, id: &str, owner: &str, error: &str) -> Result<Job> {
        self.release(id, owner, JobStatus::Failed, None, Some(error))
            .await
    }

    /// Extends a held lease for long-running work.
    pub async fn extend_lease(&self, id: &str, owner: &str, lease_for: Duration) -> Result<Job> {
        let at = now();
        let update = reconciliation_job::Entity::update_many()
            .col_expr(
                Column::LeaseExpiresAt,
                Expr::value(lease_end(at, lease_for)),
            )
            .col_expr(Column::UpdatedAt, Expr::value(at));
        self.update_held(id, owner, update).await
    }

    /// The job with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Job>> {
        Ok(reconciliation_job::Entity::find_by_id(id.to_owned())
            .one(self.db)
            .await?)
    }

    /// The active (PENDING or RUNNING) job of this kind for this subject, if any.
    pub async fn find_active(&self, kind: JobKind, subject_id: &str) -> Result<Option<Job>> {
        find_active_on(self.db, kind, subject_id).await
    }

    /// The reconciler backlog: how many jobs are due now (PENDING past their run time, or RUNNING with an expired
    /// lease) and the earliest run time among them. Global across replicas (it reads the shared table).
    pub async fn due_summary(&self) -> Result<(u64, Option<DateTime<Utc>>)> {
        let at = now();
        use sea_orm::Condition;
        let due = Condition::any()
            .add(
                Condition::all()
                    .add(Column::Status.eq(JobStatus::Pending))
                    .add(Column::NextRunAt.lte(at)),
            )
            .add(
                Condition::all()
                    .add(Column::Status.eq(JobStatus::Running))
                    .add(Column::LeaseExpiresAt.lte(at)),
            );
        let count = sea_orm::PaginatorTrait::count(
            reconciliation_job::Entity::find().filter(due.clone()),
            self.db,
        )
        .await?;
        let oldest = reconciliation_job::Entity::find()
            .filter(due)
            .order_by_asc(Column::NextRunAt)
            .one(self.db)
            .await?
            .map(|job| job.next_run_at);
        Ok((count, oldest))
    }

    /// Every job ever scheduled for a subject, oldest first.
    pub async fn list_for_subject(&self, subject_id: &str) -> Result<Vec<Job>> {
        Ok(reconciliation_job::Entity::find()
            .filter(Column::SubjectId.eq(subject_id))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(self.db)
            .await?)
    }

    async fn release(
        &self,
        id: &str,
        owner: &str,
        status: JobStatus,
        next_run_at: Option<DateTime<Utc>>,
        error: Option<&str>,
    ) -> Result<Job> {
        let mut update = reconciliation_job::Entity::update_many()
            .col_expr(Column::Status, Expr::value(status))
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(
                Column::LeaseExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Column::UpdatedAt, Expr::value(now()));
        if let Some(at) = next_run_at {
            update = update.col_expr(Column::NextRunAt, Expr::value(at));
        }
        if let Some(error) = error {
            update = update.col_expr(Column::LastError, Expr::value(error.to_owned()));
        }
        self.update_held(id, owner, update).await
    }

    /// Applies `update` only while `owner` holds the RUNNING job's lease.
    async fn update_held(
        &self,
        id: &str,
        owner: &str,
        update: sea_orm::UpdateMany<reconciliation_job::Entity>,
    ) -> Result<Job> {
        let result = update
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(JobStatus::Running))
            .filter(Column::LeaseOwner.eq(owner))
            .exec(self.db)
            .await?;
        if result.rows_affected != 1 {
            return Err(StoreError::LeaseNotHeld {
                resource: format!("job {id}"),
                owner: owner.to_owned(),
            });
        }
        self.get(id).await?.ok_or_else(|| StoreError::LeaseNotHeld {
            resource: format!("job {id}"),
            owner: owner.to_owned(),
        })
    }
}

/// A new PENDING row for `job`.
fn pending_row(job: &NewJob) -> reconciliation_job::ActiveModel {
    let at = now();
    reconciliation_job::ActiveModel {
        id: Set(new_id()),
        kind: Set(job.kind),
        subject_id: Set(job.subject_id.clone()),
        status: Set(JobStatus::Pending),
        attempts: Set(0),
        next_run_at: Set(job.run_at),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_error: Set(None),
        payload: Set(job.payload.clone()),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// The insert of `job` for a new subject, which has no active job yet, for a caller that sends it with others
/// ([`crate::batch`]); an active job of the same kind and subject would make it insert nothing.
pub(crate) fn enqueue_new(backend: DbBackend, job: &NewJob) -> Result<Statement> {
    check_len("subject_id", &job.subject_id, 36)?;
    Ok(backend.build(
        &reconciliation_job::Entity::insert(pending_row(job))
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .into_query(),
    ))
}

/// Enqueue on any connection, so a status transition can schedule its follow-up in the same
/// transaction. Insert-or-nothing against the partial unique index, never check-then-insert.
pub(crate) async fn enqueue_on<C: ConnectionTrait>(
    conn: &C,
    job: &NewJob,
) -> Result<Inserted<Job>> {
    check_len("subject_id", &job.subject_id, 36)?;
    for _ in 0..ENQUEUE_ATTEMPTS {
        // The created job is the row the insert returned, not read back.
        let inserted = crate::transition::returning_unless_conflict(
            reconciliation_job::Entity::insert(pending_row(job))
                .on_conflict(OnConflict::new().do_nothing().to_owned())
                .exec_with_returning(conn)
                .await,
        )?;
        if let Some(created) = inserted {
            return Ok(Inserted::Created(created));
        }
        if let Some(active) = find_active_on(conn, job.kind, &job.subject_id).await? {
            return Ok(Inserted::Existing(active));
        }
        // The active job finished between our insert and our read: try again.
    }
    Err(StoreError::Invalid {
        field: "job",
        reason: "could not enqueue: the active job kept changing".into(),
    })
}

async fn find_active_on<C: ConnectionTrait>(
    conn: &C,
    kind: JobKind,
    subject_id: &str,
) -> Result<Option<Job>> {
    Ok(reconciliation_job::Entity::find()
        .filter(Column::Kind.eq(kind))
        .filter(Column::SubjectId.eq(subject_id))
        .filter(Column::Status.is_in([JobStatus::Pending, JobStatus::Running]))
        .one(conn)
        .await?)
}
