//! SQLite group commit: the one-call transactions of concurrent writers ([`crate::batch::Batch::commit`]) committed
//! together, with one `fsync` for all of them.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`, so every commit syncs the WAL to disk before it returns. A Pay's
//! two transactions were two `fsync`s, and the pages they share (a table's last leaf, its indexes) were written to
//! the WAL once per transaction: together a fifth of the gateway's CPU per Pay on SQLite (docs/performance.md). The
//! store keeps that durability and shares the cost instead:
//! - Writers queue their batches per database file. One drain task per file, started by the first writer that
//!   finds none, takes the write turn ([`crate::db::write_turn`]) and every batch queued by then, and runs them as
//!   one transaction on one connection: one call per batch as before, `BEGIN IMMEDIATE` sent with the first batch's
//!   call and `COMMIT` with the last's. Under load the next group queues while one commits, so the more writers
//!   wait, the fewer `fsync`s each costs; a lone writer's batch runs exactly as before (`BEGIN IMMEDIATE`, its
//!   statements and `COMMIT` in one call).
//! - The drain task keeps one connection while it runs, and it runs while writes keep coming (it lingers
//!   [`LINGER`] after the last). SQLite drops a connection's whole page cache when another connection wrote since
//!   its last transaction, and the pool hands out its idle connections in turn, so a write on whichever connection
//!   was next began by reading every page it touched again, a system call each. On the kept connection the pages
//!   stay cached from one write to the next.
//! - Writers are answered only after the `COMMIT` returned: nothing is reported written that is not on disk.
//! - A batch that fails does not fail the others: the group is rolled back and each of its batches run again as a
//!   transaction of its own, so every writer gets its own batch's outcome (a duplicate insert its unique violation).
//!   Only a statement error is retried that way; any other failure (a lost connection) reaches every writer of the
//!   group, none of whose batches committed.
//! - A batch runs to its commit or rollback once queued, whatever its writer does meanwhile: a cancelled RPC cannot
//!   leave a transaction open on a pooled connection.

use crate::db::{sqlite_file, write_turn};
use sea_orm::sqlx::{self, Sqlite, SqlitePool, pool::PoolConnection, sqlite::SqliteRow};
use sea_orm::{DatabaseConnection, Values};
use sea_query_sqlx::SqlxValues;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

/// At most this many batches commit together, so that one group's wait stays short under any load.
const MOST_PER_GROUP: usize = 64;

/// How long the drain task waits for more writes before it ends and returns its connection to the pool: longer than
/// the gap between a Pay's two writes (the Alipay call) under load, short enough that closing the pool, which waits
/// for its connections, is not held up noticeably.
const LINGER: Duration = Duration::from_millis(50);

/// What a batch's call answers: its first statement's rows, or why it did not commit (shared by a group's writers
/// when the whole group failed).
pub(crate) type Outcome = Result<Vec<SqliteRow>, Arc<sqlx::Error>>;

/// Runs `sql` (statements joined with `;`, without `BEGIN` or `COMMIT`) with `values` as a transaction, committed
/// together with the batches other writers of the same file queued meanwhile. The caller must not hold the write
/// turn: the drain task takes it.
pub(crate) async fn commit(db: &DatabaseConnection, sql: String, values: Values) -> Outcome {
    let queue = queue_of(db);
    let (reply, answer) = oneshot::channel();
    let start = {
        let mut state = queue.state();
        state.pending.push_back(Submission { sql, values, reply });
        !std::mem::replace(&mut state.draining, true)
    };
    if start {
        // Boxed before it is spawned: sqlx's futures are large, and spawning moves the future by value.
        tokio::spawn(Box::pin(drain(queue, db.clone())));
    } else {
        // A lingering drain task waits for this; one that is busy finds the permit when it next looks.
        queue.more.notify_one();
    }
    answer
        .await
        .unwrap_or_else(|_| Err(Arc::new(sqlx::Error::WorkerCrashed)))
}

/// One writer's batch, waiting for its group.
struct Submission {
    sql: String,
    values: Values,
    reply: oneshot::Sender<Outcome>,
}

/// The batches queued for one database file, and whether a drain task is taking them.
struct Queue {
    state: Mutex<QueueState>,
    /// Told of every batch queued while a drain task runs.
    more: Notify,
}

#[derive(Default)]
struct QueueState {
    pending: VecDeque<Submission>,
    draining: bool,
    /// The pool is closing: the drain task ends as soon as nothing is queued (see [`release`]).
    closing: bool,
}

impl Queue {
    fn state(&self) -> MutexGuard<'_, QueueState> {
        // A poisoned lock only means a thread panicked while pushing or taking; the queue itself stays valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends the drain task of `db`'s file as soon as nothing is queued rather than after [`LINGER`], because closing the
/// pool waits for the connection the task keeps.
pub(crate) fn release(db: &DatabaseConnection) {
    let queues = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(queue) = queues.get(&sqlite_file(db)).and_then(Weak::upgrade) {
        queue.state().closing = true;
        queue.more.notify_one();
    }
}

/// The queue of each SQLite file, alive while a writer or its drain task holds it.
static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Weak<Queue>>>> = LazyLock::new(Mutex::default);

fn queue_of(db: &DatabaseConnection) -> Arc<Queue> {
    let file = sqlite_file(db);
    let mut queues = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(queue) = queues.get(&file).and_then(Weak::upgrade) {
        return queue;
    }
    queues.retain(|_, queue| queue.strong_count() > 0);
    let queue = Arc::new(Queue {
        state: Mutex::new(QueueState::default()),
        more: Notify::new(),
    });
    queues.insert(file, Arc::downgrade(&queue));
    queue
}

/// Commits what `queue` holds, a group per write turn, on one connection kept while it runs; once nothing more came
/// for [`LINGER`] it ends, and the next writer starts another. Between groups the turn is released, so writers
/// outside the queue (a caller's own transaction) keep their place in line.
async fn drain(queue: Arc<Queue>, db: DatabaseConnection) {
    let mut stopped = Stopped {
        queue: &queue,
        armed: true,
    };
    let pool = db.get_sqlite_connection_pool().clone();
    // Kept between groups only when the pool has another connection for a writer that holds the turn (an in-memory
    // database has one): the task waits for the turn with the connection in hand.
    let keep = pool.options().get_max_connections() > 1;
    let mut conn = None;
    loop {
        let until = Instant::now() + LINGER;
        // A notification may be left over from a batch already taken: look again after each.
        while {
            let state = queue.state();
            state.pending.is_empty() && !state.closing
        } {
            if tokio::time::timeout_at(until, queue.more.notified())
                .await
                .is_err()
            {
                break;
            }
        }
        let _turn = write_turn(&db).await;
        let group: Vec<Submission> = {
            let mut state = queue.state();
            if state.pending.is_empty() {
                // Under the lock that writers push under: a writer that comes next sees no drain and starts one.
                state.draining = false;
                stopped.armed = false;
                return;
            }
            let take = state.pending.len().min(MOST_PER_GROUP);
            state.pending.drain(..take).collect()
        };
        run(&pool, &mut conn, group).await;
        if !keep {
            conn = None;
        }
    }
}

/// Resets its queue when the drain task ends other than by finding it empty (it panicked, or its runtime shut down):
/// the writers still queued are told their batch did not run, and the next writer starts a new drain.
struct Stopped<'a> {
    queue: &'a Queue,
    armed: bool,
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut state = self.queue.state();
            state.pending.clear();
            state.draining = false;
        }
    }
}

/// The connection groups run on: the one kept in `conn`, or a new one from the pool.
async fn connection<'c>(
    pool: &SqlitePool,
    conn: &'c mut Option<PoolConnection<Sqlite>>,
) -> Result<&'c mut PoolConnection<Sqlite>, sqlx::Error> {
    match conn {
        Some(kept) => Ok(kept),
        None => Ok(conn.insert(pool.acquire().await?)),
    }
}

/// Commits `group` on `conn` and answers each of its writers.
async fn run(pool: &SqlitePool, conn: &mut Option<PoolConnection<Sqlite>>, group: Vec<Submission>) {
    if group.len() > 1 {
        match together(pool, conn, &group).await {
            Ok(answers) => {
                for (submission, rows) in group.into_iter().zip(answers) {
                    // A writer that gave up no longer listens; its batch committed all the same.
                    let _ = submission.reply.send(Ok(rows));
                }
                return;
            }
            // A statement failed (and the group rolled back): each batch runs again on its own, below.
            Err(sqlx::Error::Database(_)) => {}
            Err(error) => {
                let error = Arc::new(error);
                for submission in group {
                    let _ = submission.reply.send(Err(Arc::clone(&error)));
                }
                return;
            }
        }
    }
    for submission in group {
        let outcome = alone(pool, conn, submission.sql, submission.values).await;
        let _ = submission.reply.send(outcome.map_err(Arc::new));
    }
}

/// `group` as one transaction, a call per batch: each batch's rows, or the first error after the transaction was
/// rolled back.
async fn together(
    pool: &SqlitePool,
    conn: &mut Option<PoolConnection<Sqlite>>,
    group: &[Submission],
) -> Result<Vec<Vec<SqliteRow>>, sqlx::Error> {
    let last = group.len() - 1;
    let mut answers = Vec::with_capacity(group.len());
    for (n, submission) in group.iter().enumerate() {
        let sql = format!(
            "{}{}{}",
            if n == 0 { BEGIN } else { "" },
            submission.sql,
            if n == last { COMMIT } else { "" }
        );
        // Cloned: if the group fails, the batch runs again on its own with the same values.
        let values = SqlxValues(submission.values.clone());
        let call = execute(pool, conn, sql, values).await;
        match call {
            Ok(rows) => answers.push(rows),
            Err(error) => return Err(error),
        }
    }
    Ok(answers)
}

/// One batch as a transaction of its own, in one call.
async fn alone(
    pool: &SqlitePool,
    conn: &mut Option<PoolConnection<Sqlite>>,
    sql: String,
    values: Values,
) -> Result<Vec<SqliteRow>, sqlx::Error> {
    execute(
        pool,
        conn,
        format!("{BEGIN}{sql}{COMMIT}"),
        SqlxValues(values),
    )
    .await
}

/// One call on `conn`. If it fails, the transaction it is part of is rolled back; a connection that cannot say so
/// (the call failed before the transaction began, or the connection broke) is not known to be out of a transaction,
/// so it is closed rather than kept or returned to the pool.
async fn execute(
    pool: &SqlitePool,
    conn: &mut Option<PoolConnection<Sqlite>>,
    sql: String,
    values: SqlxValues,
) -> Result<Vec<SqliteRow>, sqlx::Error> {
    let kept = connection(pool, conn).await?;
    let call = sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
        .fetch_all(&mut **kept)
        .await;
    if call.is_err()
        && sqlx::raw_sql("ROLLBACK")
            .execute(&mut **kept)
            .await
            .is_err()
    {
        kept.close_on_drop();
        *conn = None;
    }
    call
}

const BEGIN: &str = "BEGIN IMMEDIATE;\n";
const COMMIT: &str = "COMMIT;";
