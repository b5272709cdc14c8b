//! Small database helpers shared by the repositories.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use crate::statements::Observer;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The current time at microsecond precision. PostgreSQL keeps microseconds, so truncating
/// here makes what we return equal to what we read back later on both backends (cursors and
/// lease comparisons rely on that). On SQLite timestamps are stored as RFC 3339 text with 0, 3
/// or 6 fractional digits and a `+00:00` offset; that text sorts chronologically, so the raw
/// `next_run_at <= ?` comparisons in the job claim are correct there too.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Converts a lease length to a chrono duration, saturating absurd values instead of failing.
pub(crate) fn lease_end(from: DateTime<Utc>, lease_for: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(lease_for)
        .ok()
        .and_then(|d| from.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .trunc_subsecs(6)
}

/// Starts a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes can fail with
/// SQLITE_BUSY without waiting when another writer got in between. PostgreSQL ignores the mode.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// The in-process turn of a SQLite database file's writers (see [`write_turn`]), one queue per file.
static SQLITE_WRITE_TURNS: LazyLock<Mutex<HashMap<PathBuf, Weak<AsyncMutex<()>>>>> =
    LazyLock::new(Mutex::default);

/// On SQLite, waits for this process's turn to write `db`'s file and holds it until dropped: take it right before
/// [`begin_write`] and keep it past the commit. SQLite has one writer at a time; without a queue, concurrent writers
/// of the pool's connections meet in `BEGIN IMMEDIATE` and wait in SQLite's busy handler, which sleeps in growing
/// steps (up to 100 ms each) instead of waking when the writer commits: that was the p99 of Pays at 8 callers. Here
/// they queue first come, first served and the next starts as soon as the previous one commits. Durability is
/// unchanged (each transaction still commits on its own, WAL + `synchronous=FULL`). `None` on PostgreSQL, whose
/// writers need no turn. Writers that do not take a turn stay correct: they meet the queued ones in SQLite's lock.
pub(crate) async fn write_turn(db: &DatabaseConnection) -> Option<OwnedMutexGuard<()>> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let file = sqlite_file(db);
    let turn = {
        // A poisoned map only means another thread panicked while inserting; the map itself stays valid.
        let mut turns = SQLITE_WRITE_TURNS.lock().unwrap_or_else(|e| e.into_inner());
        match turns.get(&file).and_then(Weak::upgrade) {
            Some(turn) => turn,
            None => {
                turns.retain(|_, turn| turn.strong_count() > 0);
                let turn = Arc::new(AsyncMutex::new(()));
                turns.insert(file, Arc::downgrade(&turn));
                turn
            }
        }
    };
    Some(turn.lock_owned().await)
}

/// The file of a SQLite connection pool.
pub(crate) fn sqlite_file(db: &DatabaseConnection) -> PathBuf {
    db.get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf()
}

/// The statement observer of each pool, for the calls the store sends past sea-orm (a batch in one call, see
/// [`crate::batch::Batch::commit`]), which sea-orm's statement callback does not see.
static DIRECT_OBSERVERS: LazyLock<Mutex<HashMap<PoolKey, Observed>>> =
    LazyLock::new(Mutex::default);

/// What names a pool across the clones of its `DatabaseConnection`: a SQLite pool's file, or the address of a
/// PostgreSQL pool's connect options, which its clones share.
#[derive(PartialEq, Eq, Hash)]
enum PoolKey {
    File(PathBuf),
    Postgres(usize),
}

/// An observer, with the PostgreSQL pool's connect options it is keyed by, held so that no later pool takes their
/// address.
struct Observed {
    observer: Observer,
    _options: Option<Arc<PgConnectOptions>>,
}

fn pool_key(db: &DatabaseConnection) -> (PoolKey, Option<Arc<PgConnectOptions>>) {
    if db.get_database_backend() == DbBackend::Sqlite {
        return (PoolKey::File(sqlite_file(db)), None);
    }
    let options = db.get_postgres_connection_pool().connect_options();
    (PoolKey::Postgres(postgres_pool_id(&options)), Some(options))
}

/// A PostgreSQL pool's identity across the clones of its handle: the address of its connect options, which the pool
/// and its clones share. Valid while something holds the options (the pool itself, or a caller as
/// [`observe_direct_calls`] does), since only then can no later pool take the address.
pub(crate) fn postgres_pool_id(options: &Arc<PgConnectOptions>) -> usize {
    Arc::as_ptr(options) as usize
}

/// Tells `observer` of the calls sent past sea-orm to `db`'s pool (see [`crate::Store::observe_statements`]).
pub(crate) fn observe_direct_calls(db: &DatabaseConnection, observer: Observer) {
    let (key, options) = pool_key(db);
    let mut observers = DIRECT_OBSERVERS.lock().unwrap_or_else(|e| e.into_inner());
    observers.insert(
        key,
        Observed {
            observer,
            _options: options,
        },
    );
}

/// The observer of `db`'s pool, if one was set.
pub(crate) fn direct_observer(db: &DatabaseConnection) -> Option<Observer> {
    let (key, _) = pool_key(db);
    let observers = DIRECT_OBSERVERS.lock().unwrap_or_else(|e| e.into_inner());
    observers
        .get(&key)
        .map(|observed| observed.observer.clone())
}

/// A new time-ordered id (UUIDv7), so ids sort roughly by creation like the rows they name.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Rejects empty or over-long text before it reaches the database, so both backends fail the
/// same typed way (SQLite would store an over-long value; PostgreSQL would reject it).
pub(crate) fn check_len(field: &'static str, value: &str, max: usize) -> crate::Result<()> {
    if value.is_empty() || value.len() > max {
        return Err(crate::StoreError::Invalid {
            field,
            reason: format!("must be 1..={max} bytes"),
        });
    }
    Ok(())
}

/// [`check_len`] for optional fields.
pub(crate) fn check_opt_len(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> crate::Result<()> {
    value.map_or(Ok(()), |v| check_len(field, v, max))
}

/// Validates a money amount: positive minor units and a 3-letter upper-case ISO 4217 code.
pub(crate) fn check_money(value: i64, currency: &str) -> crate::Result<()> {
    if value <= 0 {
        return Err(crate::StoreError::Invalid {
            field: "amount_value",
            reason: "must be positive minor units".into(),
        });
    }
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(crate::StoreError::Invalid {
            field: "currency",
            reason: "must be a 3-letter ISO 4217 code".into(),
        });
    }
    Ok(())
}

/// The raw SQL is written with PostgreSQL's `$n`; SQLite spells numbered parameters `?n`.
pub(crate) fn placeholders(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    }
}
