//! PostgreSQL connections kept from one batch to the next, so that a batch ([`crate::batch::Batch::commit`], one
//! statement) costs one round trip to the server.
//!
//! Through the pool, every statement cost two: sqlx pings a connection when it comes back to the pool, from a task
//! spawned for it (a network exchange with the server and a wake-up of its process), and a Pay's two batches were
//! four exchanges instead of two (docs/performance.md). Here a connection whose batch succeeded is kept for the next
//! batch instead of going back:
//! - A kept connection not used again within [`LINGER`] goes back to the pool, pinged there as usual. So a connection
//!   handed to a batch completed a statement less than [`LINGER`] ago, which is a fresher proof that it is alive
//!   than the pool's own (a ping on return, and on hand-out only after a second idle, see `store.rs`).
//! - A batch that fails, or whose caller gives up while it runs, lets its connection go back to the pool, whose ping
//!   settles any half-read answer and closes a broken connection.
//! - At most [`MOST_KEPT`] are kept, half the pool, so everything else (transactions, reads) always finds
//!   connections in the pool; a kept connection waits there for at most [`LINGER`] while other work could use it.
//!   When the pool has none idle and may open no more, a connection goes back to it instead, to the callers queued
//!   there first come, first served.

use sea_orm::sqlx::{self, PgPool, Postgres, pool::PoolConnection, postgres::PgRow};
use sea_orm::{ConnAcquireErr, DatabaseConnection, DbErr, RuntimeErr, Values};
use sea_query_sqlx::SqlxValues;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// How long a connection is kept without use: far longer than the gap between batches under load, short enough
/// that a connection is not held from the pool's other users noticeably, nor `Store::close` kept waiting for it.
const LINGER: Duration = Duration::from_millis(50);

/// At most this many connections are kept per pool: half of the pool the store opens (`store.rs`).
const MOST_KEPT: usize = 8;

/// Runs `sql` with `values`, one statement outside any transaction block, on a kept connection of `db`'s pool or
/// else one from the pool, and answers its rows.
pub(crate) async fn query(
    db: &DatabaseConnection,
    sql: String,
    values: Values,
) -> Result<Vec<PgRow>, DbErr> {
    let pool = db.get_postgres_connection_pool();
    let kept = kept_of(pool);
    let mut conn = match kept.take() {
        Some(conn) => conn,
        None => pool.acquire().await.map_err(acquire_error)?,
    };
    // On an error the connection is dropped here: back to the pool, whose ping decides whether it is still sound.
    let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), SqlxValues(values))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(Arc::new(e))))?;
    kept.keep(conn, pool);
    Ok(rows)
}

/// Sends the kept connections of `db`'s pool back to it now rather than after [`LINGER`], because closing the pool
/// waits for every connection to come back.
pub(crate) fn release(db: &DatabaseConnection) {
    let key = key_of(db.get_postgres_connection_pool());
    let kept = KEPT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .and_then(Weak::upgrade);
    if let Some(kept) = kept {
        let idle = std::mem::take(&mut kept.state().idle);
        drop(idle);
    }
}

/// The connections kept for one pool, and whether a task is returning the stale ones.
#[derive(Default)]
struct Kept {
    state: Mutex<KeptState>,
}

#[derive(Default)]
struct KeptState {
    /// Each with the moment it was kept, oldest first (kept at the end, taken from the end).
    idle: Vec<(PoolConnection<Postgres>, Instant)>,
    /// A [`return_stale`] task runs; it ends once nothing is kept.
    returning: bool,
}

impl Kept {
    fn state(&self) -> MutexGuard<'_, KeptState> {
        // A poisoned lock only means a thread panicked while pushing or taking; the list itself stays valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection used last, which is the likeliest to have the batch's statement prepared already.
    fn take(&self) -> Option<PoolConnection<Postgres>> {
        self.state().idle.pop().map(|(conn, _)| conn)
    }

    /// Keeps `conn` unless enough are kept, or unless `pool` may have callers waiting for a connection (none idle,
    /// no room for more): those wait in the pool's queue, and a kept connection would pass them by.
    fn keep(self: &Arc<Self>, conn: PoolConnection<Postgres>, pool: &PgPool) {
        let exhausted = pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections();
        let mut state = self.state();
        if exhausted || state.idle.len() >= MOST_KEPT {
            drop(state);
            // Back to the pool.
            drop(conn);
            return;
        }
        state.idle.push((conn, Instant::now()));
        if !std::mem::replace(&mut state.returning, true) {
            tokio::spawn(return_stale(Arc::clone(self)));
        }
    }
}

/// Sends each kept connection back to the pool once it was not used for [`LINGER`]; ends when none is kept.
async fn return_stale(kept: Arc<Kept>) {
    let mut stopped = Stopped {
        kept: &kept,
        armed: true,
    };
    loop {
        let (stale, next) = {
            let mut state = kept.state();
            let now = Instant::now();
            let fresh = state
                .idle
                .partition_point(|(_, since)| now.duration_since(*since) >= LINGER);
            let stale: Vec<_> = state.idle.drain(..fresh).collect();
            let next = state.idle.first().map(|(_, since)| *since + LINGER);
            if next.is_none() {
                // Under the lock that `keep` pushes under: a connection kept next finds no task and starts one.
                state.returning = false;
                stopped.armed = false;
            }
            (stale, next)
        };
        drop(stale);
        match next {
            Some(at) => tokio::time::sleep_until(at).await,
            None => return,
        }
    }
}

/// Lets the kept connections go when [`return_stale`] ends other than by finding none (its runtime shut down), so
/// that none stays out of its pool.
struct Stopped<'a> {
    kept: &'a Kept,
    armed: bool,
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut state = self.kept.state();
            state.returning = false;
            let idle = std::mem::take(&mut state.idle);
            drop(state);
            drop(idle);
        }
    }
}

/// The kept connections of each pool, alive while a batch or the task returning them holds them.
static KEPT: LazyLock<Mutex<HashMap<usize, Weak<Kept>>>> = LazyLock::new(Mutex::default);

fn kept_of(pool: &PgPool) -> Arc<Kept> {
    let key = key_of(pool);
    let mut all = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(kept) = all.get(&key).and_then(Weak::upgrade) {
        return kept;
    }
    all.retain(|_, kept| kept.strong_count() > 0);
    let kept = Arc::new(Kept::default());
    all.insert(key, Arc::downgrade(&kept));
    kept
}

/// The pool's identity ([`crate::db::postgres_pool_id`]). A kept connection holds its pool, so the identity is not
/// reused while a pool's connections are kept.
fn key_of(pool: &PgPool) -> usize {
    crate::db::postgres_pool_id(&pool.connect_options())
}

/// The pool's errors as sea-orm reports them for its own statements.
fn acquire_error(error: sqlx::Error) -> DbErr {
    match error {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(other))),
    }
}
