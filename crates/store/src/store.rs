//! Connecting, migrating and handing out repositories.

use crate::crypto::TokenCipher;
use crate::error::{Result, StoreError};
use crate::migration::Migrator;
use crate::{
    audit, bindings, calls, captures, events, idempotency, jobs, notifications, payments, refunds,
    statements,
};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::str::FromStr;
use std::time::Duration;

/// SQLite allows one writer at a time; writers wait this long for the lock instead of failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// WAL lets readers proceed alongside the single writer, so a few connections help; more only
/// queue on the write lock.
const SQLITE_POOL_SIZE: u32 = 8;
const POSTGRES_POOL_SIZE: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);
/// A pooled connection idle at least this long is pinged before it is handed out; one used more recently is not.
/// sqlx pings every connection both when it is handed out and when it is returned, so without this a statement
/// cost three round trips instead of one: on PostgreSQL three network exchanges (and three wake-ups of a server
/// process), on SQLite three hand-offs to the connection's thread and back (docs/performance.md). The ping on return
/// stays: it is what proves a connection alive when it enters the pool, so one handed out within this time was
/// verified less than this long ago. A connection that dies within it fails the one statement sent on it, as it
/// could between a ping and the statement anyway.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// Key of the PostgreSQL advisory lock that serialises migrations between instances (any fixed number
/// that no other application on the database uses; this one is the ASCII of "alipaygw").
const MIGRATION_LOCK_KEY: i64 = 0x616c_6970_6179_6777;

/// A handle on the database. Cheap to clone (it wraps a connection pool); share one per process.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// Opens a pool for `sqlite://path/file.db?mode=rwc` or `postgres://user:pass@host/db`.
    ///
    /// SQLite is set up for durability and concurrency: WAL journal, `synchronous=FULL` (a
    /// committed payment survives power loss), foreign keys enforced, a busy timeout, and the
    /// file's parent directory created if missing.
    pub async fn connect(url: &str) -> Result<Store> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
            .sqlx_logging(false);
        if url.starts_with("sqlite:") {
            prepare_sqlite_dir(url)?;
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            options
                // Each in-memory connection would otherwise be a separate empty database.
                .max_connections(if in_memory { 1 } else { SQLITE_POOL_SIZE })
                .map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Full)
                        .foreign_keys(true)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                });
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            options.max_connections(POSTGRES_POOL_SIZE);
        } else {
            return Err(StoreError::UnsupportedUrl);
        }
        let db = Database::connect(options)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Store { db })
    }

    /// Brings the schema up to date. Safe to call on every start: applied migrations are
    /// recorded and skipped.
    ///
    /// On PostgreSQL the whole run is one transaction holding an advisory lock, so replicas that start
    /// together (each migrating at start) take turns: the first applies the pending migrations, the others
    /// wait for its commit and then find nothing to do. DDL is transactional there, so a failed run leaves
    /// the schema as it was. SQLite serves one process and needs no lock.
    pub async fn migrate(&self) -> Result<()> {
        if self.backend() != DbBackend::Postgres {
            return Self::apply_pending(&self.db).await;
        }
        let txn = self.db.begin().await.map_err(StoreError::Migration)?;
        txn.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
        ))
        .await
        .map_err(StoreError::Migration)?;
        Self::apply_pending(&txn).await?;
        txn.commit().await.map_err(StoreError::Migration)
    }

    /// Applies what is pending on `db` and logs how many migrations that was (0 when another instance did).
    async fn apply_pending<C>(db: &C) -> Result<()>
    where
        C: ConnectionTrait,
        for<'c> &'c C: sea_orm_migration::IntoSchemaManagerConnection<'c>,
    {
        let pending = Migrator::get_pending_migrations(db)
            .await
            .map_err(StoreError::Migration)?
            .len();
        Migrator::up(db, None)
            .await
            .map_err(StoreError::Migration)?;
        tracing::info!(applied = pending, "database migrations applied");
        Ok(())
    }

    /// Round-trips a trivial query, for health checks.
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await.map_err(StoreError::Database)
    }

    /// Which database this is, for callers that must phrase raw SQL per backend.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Reports every statement to `observer` as a [`statements::StatementInfo`] (telemetry: kind and duration,
    /// never the SQL). Call it before cloning the store: earlier clones keep no observer.
    pub fn observe_statements(
        &mut self,
        observer: impl Fn(&statements::StatementInfo) + Send + Sync + 'static,
    ) {
        let system = statements::system_name(self.backend());
        let observer: statements::Observer = std::sync::Arc::new(observer);
        crate::db::observe_direct_calls(&self.db, observer.clone());
        self.db.set_metric_callback(move |info| {
            observer(&statements::StatementInfo::new(system, info));
        });
    }

    /// The underlying sea-orm connection, for read-only reporting queries the repositories do
    /// not cover. Writes should go through the repositories so the invariants hold.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(self) -> Result<()> {
        match self.backend() {
            DbBackend::Sqlite => crate::group_commit::release(&self.db),
            _ => crate::kept::release(&self.db),
        }
        self.db.close().await.map_err(StoreError::Database)
    }

    /// Payments: write-ahead intents, guarded status transitions, listing.
    pub fn payments(&self) -> payments::Payments<'_> {
        payments::Payments::new(&self.db)
    }

    /// Refunds of payments.
    pub fn refunds(&self) -> refunds::Refunds<'_> {
        refunds::Refunds::new(&self.db)
    }

    /// Captures of authorised payments.
    pub fn captures(&self) -> captures::Captures<'_> {
        captures::Captures::new(&self.db)
    }

    /// Wallet bindings; the cipher seals and opens their tokens.
    pub fn bindings<'a>(&'a self, cipher: &'a TokenCipher) -> bindings::Bindings<'a> {
        bindings::Bindings::new(&self.db, cipher)
    }

    /// The record of outbound Alipay calls.
    pub fn calls(&self) -> calls::Calls<'_> {
        calls::Calls::new(&self.db)
    }

    /// Reconciliation jobs with leases.
    pub fn jobs(&self) -> jobs::Jobs<'_> {
        jobs::Jobs::new(&self.db)
    }

    /// Idempotency records for replaying gRPC answers.
    pub fn idempotency(&self) -> idempotency::Idempotency<'_> {
        idempotency::Idempotency::new(&self.db)
    }

    /// Received Alipay notifications.
    pub fn notifications(&self) -> notifications::Notifications<'_> {
        notifications::Notifications::new(&self.db)
    }

    /// The payment event stream (read side; events are appended by the state changes themselves).
    pub fn events(&self) -> events::Events<'_> {
        events::Events::new(&self.db)
    }

    /// The audit trail of status changes.
    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit::new(&self.db)
    }
}

/// Creates the directory that will hold the SQLite file, so a fresh deployment can point at
/// `sqlite://data/gateway.db?mode=rwc` without a setup step.
fn prepare_sqlite_dir(url: &str) -> Result<()> {
    let Ok(options) = SqliteConnectOptions::from_str(url) else {
        // Let the driver report the malformed URL with its own message.
        return Ok(());
    };
    let file = options.get_filename();
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(())
}
